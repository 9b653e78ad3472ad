// The latency sketch (DDSketch): accuracy against exact percentile_disc on
// several distributions, exact merges, the collapse rule, histogram counts,
// edge values, the binary and text forms and their validation of untrusted input.
#include "core/sketch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace llmtrace::test {
namespace {

using core::InputError;
using core::Sketch;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

const std::vector<double> kQuantiles = {0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999};

std::string bytes(const Sketch& s) {
    std::string out;
    s.serialize(out);
    return out;
}

Sketch sketch_of(const std::vector<double>& values, uint32_t max_buckets = 4096) {
    Sketch s(Sketch::kDefaultAlpha, max_buckets);
    for (double v : values) s.add(v);
    return s;
}

// PostgreSQL's percentile_disc: the first value whose cumulative fraction is >= q.
double percentile_disc(const std::vector<double>& sorted, double q) {
    double r = std::ceil(q * double(sorted.size()));
    size_t rank = r < 1 ? 1 : size_t(r);
    return sorted[std::min(rank, sorted.size()) - 1];
}

double relative_error(double estimate, double exact) {
    if (exact == 0) return estimate == 0 ? 0 : kInf;
    return std::fabs(estimate - exact) / exact;
}

// Checks the listed quantiles and a grid of 999 more; returns the worst
// relative error over all of them.
double check_accuracy(const char* name, std::vector<double> values) {
    Sketch s = sketch_of(values);
    std::sort(values.begin(), values.end());
    EXPECT_EQ(s.count(), values.size());
    EXPECT_EQ(s.min(), values.front());
    EXPECT_EQ(s.max(), values.back());
    EXPECT_EQ(s.quantile(0), values.front());
    EXPECT_EQ(s.quantile(1), values.back());
    std::vector<double> qs = kQuantiles;
    for (int i = 1; i < 1000; ++i) qs.push_back(i / 1000.0);
    double worst = 0, worst_listed = 0;
    for (size_t k = 0; k < qs.size(); ++k) {
        double q = qs[k];
        double exact = percentile_disc(values, q);
        std::optional<double> est = s.quantile(q);
        EXPECT_TRUE(est.has_value());
        double err = relative_error(est.value_or(kNaN), exact);
        EXPECT_LE(err, 0.01) << name << " q=" << q << " exact " << exact << " estimate "
                             << est.value_or(kNaN);
        // The guarantee itself: alpha, up to the rounding of log() at bucket edges.
        EXPECT_LE(err, Sketch::kDefaultAlpha * (1 + 1e-9)) << name << " q=" << q;
        worst = std::max(worst, err);
        if (k < kQuantiles.size()) worst_listed = std::max(worst_listed, err);
    }
    std::printf(
        "[ sketch   ] %-10s n=%zu buckets=%zu worst relative error: listed quantiles %.5f%%, "
        "all %zu quantiles %.5f%%\n",
        name, values.size(), s.buckets().size(), 100 * worst_listed, qs.size(), 100 * worst);
    return worst;
}

constexpr size_t kN = 200000;

std::vector<double> uniform_values(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> d(0.1, 1000.0);
    std::vector<double> v(kN);
    for (double& x : v) x = d(rng);
    return v;
}

std::vector<double> lognormal_values(uint64_t seed, size_t n = kN) {
    std::mt19937_64 rng(seed);
    std::lognormal_distribution<double> d(std::log(150.0), 1.0);
    std::vector<double> v(n);
    for (double& x : v) x = d(rng);
    return v;
}

std::vector<double> bimodal_values(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution slow(0.3);
    std::normal_distribution<double> fast_d(40.0, 8.0), slow_d(1500.0, 250.0);
    std::vector<double> v(kN);
    for (double& x : v) {
        do {
            x = slow(rng) ? slow_d(rng) : fast_d(rng);
        } while (x < 0);
    }
    return v;
}

std::vector<double> pareto_values(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const double xm = 5.0, shape = 1.1;
    std::vector<double> v(kN);
    for (double& x : v) x = xm / std::pow(1.0 - u(rng), 1.0 / shape);  // 1 - u in (0, 1]
    return v;
}

// ---- accuracy ----

TEST(SketchAccuracy, Uniform) { check_accuracy("uniform", uniform_values(1)); }
TEST(SketchAccuracy, LogNormal) { check_accuracy("lognormal", lognormal_values(2)); }
TEST(SketchAccuracy, Bimodal) { check_accuracy("bimodal", bimodal_values(3)); }
TEST(SketchAccuracy, Pareto) {
    std::vector<double> v = pareto_values(4);
    EXPECT_GT(*std::max_element(v.begin(), v.end()), 1e5);  // the tail is heavy indeed
    check_accuracy("pareto", v);
}

TEST(SketchAccuracy, Hours) {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> d(3.6e6, 3.6e7);  // 1 to 10 hours
    std::vector<double> v(kN);
    for (double& x : v) x = d(rng);
    v[0] = 1e7;
    check_accuracy("hours", v);
}

TEST(SketchAccuracy, ZerosMixedWithOthers) {
    std::vector<double> v = lognormal_values(6);
    for (size_t i = 0; i < v.size(); i += 3) v[i] = 0;  // a third are 0 ms
    check_accuracy("zeros+ln", v);
    Sketch s = sketch_of(v);
    EXPECT_EQ(s.zero_count(), (v.size() + 2) / 3);
    EXPECT_EQ(s.quantile(0.2), 0.0);
    EXPECT_EQ(s.quantile(0.33), 0.0);
    EXPECT_GT(s.quantile(0.34).value(), 0.0);
}

// ---- bucket limit and collapse ----

// Adds one value in every bucket of [lo, hi]; returns the sketch.
Sketch every_bucket(double lo, double hi, uint32_t max_buckets = Sketch::kDefaultMaxBuckets) {
    Sketch s(Sketch::kDefaultAlpha, max_buckets);
    for (double x = lo; x < hi; x *= 1.004) s.add(x);  // step < gamma: no bucket skipped
    s.add(hi);
    return s;
}

TEST(SketchCollapse, NormalLatencyRangesNeverCollapse) {
    struct Range {
        double lo, hi;
    };
    for (Range r : {Range{0.01, 3.6e6}, Range{1e-3, 1e9}}) {
        Sketch s = every_bucket(r.lo, r.hi);
        int32_t first = s.index_of(r.lo), last = s.index_of(r.hi);
        ASSERT_EQ(s.buckets().size(), size_t(last - first + 1)) << r.lo << " .. " << r.hi;
        EXPECT_EQ(s.buckets().front().index, first);
        EXPECT_EQ(s.buckets().back().index, last);
        EXPECT_LT(s.buckets().size(), size_t(Sketch::kDefaultMaxBuckets));
        std::printf("[ sketch   ] %g .. %g ms: %zu buckets, no collapse\n", r.lo, r.hi,
                    s.buckets().size());
        // The lowest quantile is still accurate.
        double q = 0.5 / double(s.count());  // rank 1
        EXPECT_LE(relative_error(s.quantile(q).value(), r.lo), 0.005);
    }
}

TEST(SketchCollapse, LowestBucketsFoldIntoTheWindowFloor) {
    Sketch s = every_bucket(0.01, 3.6e6, 64);
    ASSERT_EQ(s.buckets().size(), 64u);
    int32_t top = s.index_of(3.6e6);
    EXPECT_EQ(s.buckets().back().index, top);
    EXPECT_EQ(s.buckets().front().index, top - 63);
    uint64_t total = 0;
    for (const auto& b : s.buckets()) total += b.count;
    EXPECT_EQ(total, s.count());
    EXPECT_EQ(s.min(), 0.01);                                        // exact min kept
    EXPECT_GT(s.buckets().front().count, s.buckets().back().count);  // holds the folded values
    EXPECT_EQ(s.quantile(0), 0.01);
    // Above the collapsed range the guarantee holds.
    std::vector<double> values;
    for (double x = 0.01; x < 3.6e6; x *= 1.004) values.push_back(x);
    values.push_back(3.6e6);
    std::sort(values.begin(), values.end());
    double floor_edge = std::pow(s.gamma(), s.buckets().front().index);
    for (double q = 0.5; q < 1; q += 0.001) {
        double exact = percentile_disc(values, q);
        if (exact <= floor_edge) continue;
        EXPECT_LE(relative_error(s.quantile(q).value(), exact), 0.005) << q;
    }
}

TEST(SketchCollapse, DependsOnlyOnTheValues) {
    // Collapsing while adding in any order, or in parts then merging, gives the
    // sketch of the whole.
    std::vector<double> v = pareto_values(7);
    v.resize(20000);
    for (size_t i = 0; i < v.size(); i += 5) v[i] = v[i] * 1e-6;  // widen the range
    Sketch whole = sketch_of(v, 32);
    ASSERT_EQ(int64_t(whole.buckets().back().index) - whole.buckets().front().index, 31);
    std::mt19937_64 rng(8);
    std::vector<double> shuffled = v;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    EXPECT_EQ(bytes(sketch_of(shuffled, 32)), bytes(whole));
    std::vector<Sketch> parts;
    for (size_t i = 0; i < shuffled.size(); i += 100)
        parts.push_back(sketch_of(
            std::vector<double>(shuffled.begin() + long(i), shuffled.begin() + long(i + 100)), 32));
    Sketch merged(Sketch::kDefaultAlpha, 32);
    for (const Sketch& p : parts) merged.merge(p);
    EXPECT_EQ(bytes(merged), bytes(whole));
    // A part with a larger limit merges into the smaller limit.
    Sketch wide = sketch_of(v);  // 4096 buckets
    Sketch narrow(Sketch::kDefaultAlpha, 32);
    narrow.merge(wide);
    EXPECT_EQ(narrow.max_buckets(), 32u);
    EXPECT_EQ(bytes(narrow), bytes(whole));
    wide.merge(Sketch(Sketch::kDefaultAlpha, 32));  // even with an empty one
    EXPECT_EQ(bytes(wide), bytes(whole));
}

// ---- merges ----

TEST(SketchMerge, ManyPartsInRandomOrderAndAsATreeEqualTheWhole) {
    std::vector<double> v = lognormal_values(9, 100000);
    for (size_t i = 0; i < v.size(); i += 97) v[i] = 0;
    Sketch whole = sketch_of(v);
    std::vector<Sketch> parts;
    for (size_t i = 0; i < v.size(); i += 100)
        parts.push_back(
            sketch_of(std::vector<double>(v.begin() + long(i), v.begin() + long(i + 100))));
    ASSERT_EQ(parts.size(), 1000u);

    std::mt19937_64 rng(10);
    std::vector<size_t> order(parts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    Sketch sequential;
    for (size_t i : order) sequential.merge(parts[i]);
    EXPECT_TRUE(sequential == whole);
    EXPECT_EQ(bytes(sequential), bytes(whole));

    std::vector<Sketch> level = parts;
    std::shuffle(level.begin(), level.end(), rng);
    while (level.size() > 1) {
        std::vector<Sketch> next;
        for (size_t i = 0; i + 1 < level.size(); i += 2) {
            next.push_back(level[i]);
            next.back().merge(level[i + 1]);
        }
        if (level.size() % 2) next.push_back(level.back());
        level.swap(next);
    }
    EXPECT_EQ(bytes(level[0]), bytes(whole));
    EXPECT_EQ(level[0].sum(), whole.sum());
}

TEST(SketchMerge, CommutativeAndAssociative) {
    Sketch a = sketch_of(uniform_values(11)), b = sketch_of(pareto_values(12)),
           c = sketch_of(bimodal_values(13));
    Sketch ab = a, ba = b;
    ab.merge(b);
    ba.merge(a);
    EXPECT_EQ(bytes(ab), bytes(ba));
    Sketch ab_c = ab, bc = b;
    ab_c.merge(c);
    bc.merge(c);
    Sketch a_bc = a;
    a_bc.merge(bc);
    EXPECT_EQ(bytes(ab_c), bytes(a_bc));
}

TEST(SketchMerge, EmptyAndSelf) {
    Sketch a = sketch_of({1, 2, 3, 0});
    Sketch copy = a;
    a.merge(Sketch());
    EXPECT_TRUE(a == copy);
    Sketch e;
    e.merge(a);
    EXPECT_TRUE(e == a);
    a.merge(a);  // doubles
    EXPECT_EQ(a.count(), 8u);
    EXPECT_EQ(a.zero_count(), 2u);
    EXPECT_EQ(a.sum(), 12.0);
    EXPECT_EQ(bytes(a), bytes(sketch_of({1, 2, 3, 0, 1, 2, 3, 0})));
}

TEST(SketchMerge, DifferentAlphaIsRefused) {
    Sketch a = sketch_of({1, 2, 3});
    Sketch b(0.01);
    b.add(5);
    Sketch before = a;
    try {
        a.merge(b);
        FAIL() << "merge of different alphas succeeded";
    } catch (const InputError& e) {
        EXPECT_STREQ(e.sqlstate(), "22023");
    }
    EXPECT_TRUE(a == before);
}

TEST(SketchMerge, CountOverflowIsRefused) {
    Sketch a, b;
    a.add(1, kU64Max - 1);
    b.add(2, 2);
    Sketch before = a;
    EXPECT_THROW(a.merge(b), InputError);
    EXPECT_TRUE(a == before);
}

// ---- edge values ----

TEST(SketchEdge, Empty) {
    Sketch s;
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.count(), 0u);
    EXPECT_EQ(s.sum(), 0.0);
    EXPECT_FALSE(s.min());
    EXPECT_FALSE(s.max());
    for (double q : {0.0, 0.5, 1.0}) EXPECT_FALSE(s.quantile(q)) << q;
    EXPECT_EQ(s.cumulative_counts({-1, 0, 1, kInf}), (std::vector<uint64_t>{0, 0, 0, 0}));
}

TEST(SketchEdge, OneValue) {
    Sketch s;
    s.add(123.456);
    for (double q : {0.0, 0.01, 0.5, 0.999, 1.0}) EXPECT_EQ(s.quantile(q), 123.456) << q;
    EXPECT_EQ(s.sum(), std::ldexp(std::round(std::ldexp(123.456, 32)), -32));
    EXPECT_NEAR(s.sum(), 123.456, 1e-9);
    EXPECT_EQ(s.cumulative_counts({123.4, 123.456, kInf}), (std::vector<uint64_t>{0, 1, 1}));
}

TEST(SketchEdge, IdenticalValues) {
    Sketch s;
    for (int i = 0; i < 100000; ++i) s.add(42.0);
    Sketch t;
    t.add(42.0, 100000);
    EXPECT_TRUE(s == t);
    ASSERT_EQ(s.buckets().size(), 1u);
    for (double q : kQuantiles) EXPECT_EQ(s.quantile(q), 42.0) << q;
    EXPECT_EQ(s.sum(), 4200000.0);
}

TEST(SketchEdge, AllZeros) {
    Sketch s;
    s.add(0.0, 1000);
    s.add(-0.0);  // taken as 0
    EXPECT_EQ(s.count(), 1001u);
    EXPECT_EQ(s.zero_count(), 1001u);
    EXPECT_TRUE(s.buckets().empty());
    EXPECT_FALSE(std::signbit(s.min().value()));
    for (double q : kQuantiles) EXPECT_EQ(s.quantile(q), 0.0);
    EXPECT_EQ(s.sum(), 0.0);
    EXPECT_EQ(s.cumulative_counts({-1e-300, 0, 1}), (std::vector<uint64_t>{0, 1001, 1001}));
    Sketch z;
    z.add(0.0, 1001);
    EXPECT_EQ(bytes(s), bytes(z));
}

TEST(SketchEdge, TinyValuesGoToTheZeroBucket) {
    Sketch s;
    s.add(5e-10);
    s.add(1e-300);
    s.add(std::numeric_limits<double>::denorm_min());
    s.add(Sketch::kMinIndexable);  // the first indexable value
    EXPECT_EQ(s.zero_count(), 3u);
    EXPECT_EQ(s.buckets().size(), 1u);
    EXPECT_EQ(s.min(), std::numeric_limits<double>::denorm_min());
    EXPECT_EQ(s.quantile(0.5), std::numeric_limits<double>::denorm_min());  // 0 clamped to min
    EXPECT_LE(relative_error(s.quantile(0.9).value(), 1e-9), 0.005);
}

TEST(SketchEdge, LargestValues) {
    Sketch s;
    s.add(Sketch::kMaxValue);
    s.add(1e9);
    s.add(1e7, 3);
    EXPECT_EQ(s.quantile(1), 1e15);
    EXPECT_LE(relative_error(s.quantile(0.6).value(), 1e7), 0.005);
    EXPECT_LE(relative_error(s.quantile(0.8).value(), 1e9), 0.005);
    EXPECT_EQ(s.sum(), 1e15 + 1e9 + 3e7);
}

TEST(SketchEdge, RejectedValuesLeaveTheSketchUnchanged) {
    Sketch s = sketch_of({1, 2, 3});
    Sketch before = s;
    for (double v : {-1.0, -1e-300, kNaN, kInf, -kInf, std::nextafter(Sketch::kMaxValue, kInf)}) {
        try {
            s.add(v);
            ADD_FAILURE() << "accepted " << v;
        } catch (const InputError& e) {
            EXPECT_STREQ(e.sqlstate(), "22003");
        }
        EXPECT_THROW(s.add(v, 0), InputError);  // checked even when count is 0
    }
    s.add(7, 0);  // a no-op
    EXPECT_TRUE(s == before);
}

TEST(SketchEdge, CountAndSumOverflowAreRefused) {
    Sketch s;
    s.add(1, kU64Max);
    Sketch before = s;
    EXPECT_THROW(s.add(1), InputError);
    EXPECT_TRUE(s == before);
    Sketch t;
    EXPECT_THROW(t.add(1e15, kU64Max), InputError);  // 2^82 x 2^64 units
    EXPECT_TRUE(t.empty());
    t.add(1e15, uint64_t(1) << 40);
    EXPECT_THROW(t.add(1e15, uint64_t(1) << 47), InputError);
    EXPECT_EQ(t.count(), uint64_t(1) << 40);
}

TEST(SketchEdge, QuantileOutsideZeroOneIsRefused) {
    Sketch s = sketch_of({1});
    for (double q : {-0.1, 1.1, kNaN, kInf}) {
        try {
            (void)s.quantile(q);
            ADD_FAILURE() << "accepted q=" << q;
        } catch (const InputError& e) {
            EXPECT_STREQ(e.sqlstate(), "22003");
        }
    }
    Sketch empty;
    EXPECT_THROW((void)empty.quantile(2), InputError);
}

TEST(SketchEdge, Parameters) {
    EXPECT_THROW(Sketch(0), InputError);
    EXPECT_THROW(Sketch(0.9), InputError);
    EXPECT_THROW(Sketch(kNaN, 4096), InputError);
    EXPECT_THROW(Sketch(0.005, 8), InputError);
    EXPECT_THROW(Sketch(0.005, 65537), InputError);
    Sketch s(0.01, 128);
    EXPECT_EQ(s.alpha(), 0.01);
    EXPECT_EQ(s.max_buckets(), 128u);
    EXPECT_DOUBLE_EQ(s.gamma(), 1.01 / 0.99);
}

TEST(SketchEdge, BucketEstimate) {
    Sketch s;
    for (int32_t i : {-2000, -1, 0, 1, 700, 3000}) {
        double upper = std::pow(s.gamma(), i), lower = upper / s.gamma();
        double est = s.bucket_value(i);
        EXPECT_NEAR(est, 2 * upper / (s.gamma() + 1), 1e-12 * est);
        EXPECT_LE((est - lower) / lower, s.alpha() * (1 + 1e-9));
        EXPECT_LE((upper - est) / upper, s.alpha() * (1 + 1e-9));
        EXPECT_EQ(s.index_of(upper * (1 - 1e-9)), i);
        EXPECT_EQ(s.index_of(lower * (1 + 1e-9)), i);
    }
}

// ---- histogram counts ----

TEST(SketchCumulative, PrometheusLeSemantics) {
    std::vector<double> v = lognormal_values(14);
    for (size_t i = 0; i < v.size(); i += 50) v[i] = 0;
    Sketch s = sketch_of(v);
    std::sort(v.begin(), v.end());
    auto exact_le = [&](double b) {
        return uint64_t(std::upper_bound(v.begin(), v.end(), b) - v.begin());
    };
    std::vector<double> bounds = {-1, 0, 1e-12};
    for (double b = 0.5; b < 1e5; b *= 1.37) bounds.push_back(b);
    bounds.push_back(v.back());
    bounds.push_back(kInf);
    std::vector<uint64_t> c = s.cumulative_counts(bounds);
    ASSERT_EQ(c.size(), bounds.size());
    for (size_t i = 1; i < c.size(); ++i) EXPECT_LE(c[i - 1], c[i]) << "at " << bounds[i];
    EXPECT_EQ(c[0], 0u);                    // below min
    EXPECT_EQ(c[1], exact_le(0));           // the zeros, exactly
    EXPECT_EQ(c[c.size() - 2], s.count());  // at max
    EXPECT_EQ(c.back(), s.count());         // +inf
    const double a = s.alpha();
    for (size_t i = 0; i < bounds.size(); ++i) {
        double b = bounds[i];
        if (b <= 0) continue;
        EXPECT_GE(c[i], exact_le(b / (1 + a))) << b;  // values <= b/(1+alpha) are counted
        EXPECT_LE(c[i], exact_le(b / (1 - a))) << b;  // values > b/(1-alpha) are not
    }
    // Unsorted bounds give the same counts bound by bound.
    std::vector<double> rev(bounds.rbegin(), bounds.rend());
    std::vector<uint64_t> rc = s.cumulative_counts(rev);
    EXPECT_EQ(std::vector<uint64_t>(rc.rbegin(), rc.rend()), c);
    EXPECT_THROW(s.cumulative_counts({1, kNaN}), InputError);
}

TEST(SketchCumulative, AgreesWithQuantile) {
    // quantile(q) <= b exactly when at least ceil(q n) values are counted under b.
    Sketch s = sketch_of(bimodal_values(15));
    for (double q : kQuantiles) {
        double est = s.quantile(q).value();
        uint64_t rank = uint64_t(std::ceil(q * double(s.count())));
        EXPECT_GE(s.cumulative_counts({est})[0], rank) << q;
        EXPECT_LT(s.cumulative_counts({std::nextafter(est, 0.0)})[0], rank) << q;
    }
}

// ---- binary and text forms ----

std::vector<Sketch> sample_sketches() {
    std::vector<Sketch> out;
    out.push_back(Sketch());
    out.push_back(Sketch(0.01, 100));
    out.push_back(sketch_of({0}));
    out.push_back(sketch_of({1e-12, 0, 3}));
    out.push_back(sketch_of({123.456}));
    out.push_back(sketch_of({1e15, 0.5, 1e-9}));
    out.push_back(sketch_of(uniform_values(16)));
    out.push_back(sketch_of(pareto_values(17)));
    std::vector<double> wide = pareto_values(18);
    for (size_t i = 0; i < wide.size(); i += 3) wide[i] *= 1e-7;
    out.push_back(sketch_of(wide, 40));  // collapsed
    Sketch big;
    big.add(1e15, uint64_t(1) << 44);
    big.add(0.25, kU64Max - (uint64_t(1) << 44));
    out.push_back(big);
    return out;
}

TEST(SketchSerialize, BinaryRoundTrip) {
    for (const Sketch& s : sample_sketches()) {
        std::string b = bytes(s);
        std::string error;
        std::optional<Sketch> p = Sketch::parse(b, &error);
        ASSERT_TRUE(p) << error;
        EXPECT_TRUE(*p == s);
        EXPECT_EQ(bytes(*p), b);
        EXPECT_EQ(p->quantile(0.5), s.quantile(0.5));
    }
    std::string out = "prefix";
    Sketch().serialize(out);  // appends
    EXPECT_EQ(out.substr(0, 6), "prefix");
}

TEST(SketchSerialize, TextRoundTrip) {
    for (const Sketch& s : sample_sketches()) {
        std::string t = s.to_text();
        std::string error;
        std::optional<Sketch> p = Sketch::from_text(t, &error);
        ASSERT_TRUE(p) << error << "\n" << t.substr(0, 300);
        EXPECT_TRUE(*p == s) << t.substr(0, 300);
        EXPECT_EQ(p->to_text(), t);
    }
}

TEST(SketchSerialize, DocumentedForms) {
    // The examples of sketch.hpp.
    Sketch s = sketch_of({0, 2, 10.5});
    EXPECT_EQ(s.to_text(), R"({"alpha":0.005,"max_buckets":4096,"count":3,"sum":12.5,)"
                           R"("sum_units":"53687091200","min":0.0,"max":10.5,"zero":1,)"
                           R"("buckets":[[70,1],[236,1]]})");
    EXPECT_EQ(Sketch().to_text(),
              R"({"alpha":0.005,"max_buckets":4096,"count":0,"sum":0.0,"sum_units":"0",)"
              R"("min":null,"max":null,"zero":0,"buckets":[]})");
    // Binary: version, alpha LE, varint 4096, count 0.
    const unsigned char empty[] = {0x01, 0x7b, 0x14, 0xae, 0x47, 0xe1,
                                   0x7a, 0x74, 0x3f, 0x80, 0x20, 0x00};
    EXPECT_EQ(bytes(Sketch()), std::string(reinterpret_cast<const char*>(empty), sizeof empty));
    std::string b = bytes(s);
    const unsigned char expect_tail[] = {
        0x03,                                            // count
        0,    0,    0,    0,    0,    0,    0,    0,     // min 0.0
        0,    0,    0,    0,    0,    0,    0x25, 0x40,  // max 10.5
        0x80, 0x80, 0x80, 0x80, 0xc8, 0x01,              // sum 12.5 x 2^32
        0x01,                                            // zero bucket
        0x02,                                            // two buckets
        0x8c, 0x01, 0x01,                                // zigzag(70) = 140, count 1
        0xa5, 0x01, 0x01,                                // gap 236 - 70 - 1 = 165, count 1
    };
    EXPECT_EQ(b.substr(9),
              std::string("\x80\x20", 2) +
                  std::string(reinterpret_cast<const char*>(expect_tail), sizeof expect_tail));
    std::optional<Sketch> from_hand = Sketch::from_text(
        R"({"buckets":[[236,1],[70,1]],"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1})");
    EXPECT_FALSE(from_hand);  // buckets must be in increasing order
    from_hand = Sketch::from_text(
        R"({"buckets":[[70,1],[236,1]],"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1})");
    ASSERT_TRUE(from_hand);  // sum alone, max_buckets defaulted, any key order
    EXPECT_TRUE(*from_hand == s);
}

// A writer of the binary form for hand-made inputs.
struct Enc {
    std::string s;
    Enc& u8(uint8_t v) {
        s.push_back(char(v));
        return *this;
    }
    Enc& f64(double d) {
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        for (int i = 0; i < 8; ++i) s.push_back(char(uint8_t(bits >> (8 * i))));
        return *this;
    }
    Enc& var(Sketch::SumUnits v) {
        while (v >= 0x80) {
            s.push_back(char(uint8_t(v) | 0x80));
            v >>= 7;
        }
        s.push_back(char(uint8_t(v)));
        return *this;
    }
    Enc& raw(std::string_view r) {
        s.append(r);
        return *this;
    }
};

// The binary form of {0, 2, 10.5} with parts replaced.
struct Fields {
    uint8_t version = 1;
    double alpha = 0.005;
    uint64_t max_buckets = 4096, count = 3;
    double min = 0, max = 10.5;
    Sketch::SumUnits sum = Sketch::SumUnits(12.5 * 4294967296.0);
    uint64_t zero = 1, nbuckets = 2;
    std::vector<std::pair<uint64_t, uint64_t>> buckets = {{140, 1}, {165, 1}};
    std::string encode() const {
        Enc e;
        e.u8(version)
            .f64(alpha)
            .var(max_buckets)
            .var(count)
            .f64(min)
            .f64(max)
            .var(sum)
            .var(zero)
            .var(nbuckets);
        for (auto [code, c] : buckets) e.var(code).var(c);
        return e.s;
    }
};

TEST(SketchParse, HandMadeBaselineIsValid) {
    std::string error;
    std::optional<Sketch> p = Sketch::parse(Fields().encode(), &error);
    ASSERT_TRUE(p) << error;
    EXPECT_TRUE(*p == sketch_of({0, 2, 10.5}));
}

TEST(SketchParse, RejectsInvalidInput) {
    struct Case {
        const char* name;
        std::string data;
    };
    std::vector<Case> cases;
    auto with = [&](const char* name, auto change) {
        Fields f;
        change(f);
        cases.push_back({name, f.encode()});
    };
    cases.push_back({"empty input", ""});
    with("version 0", [](Fields& f) { f.version = 0; });
    with("version 2", [](Fields& f) { f.version = 2; });
    with("alpha NaN", [](Fields& f) { f.alpha = kNaN; });
    with("alpha 0", [](Fields& f) { f.alpha = 0; });
    with("alpha 1", [](Fields& f) { f.alpha = 1; });
    with("max_buckets 0", [](Fields& f) { f.max_buckets = 0; });
    with("max_buckets huge", [](Fields& f) { f.max_buckets = kU64Max; });
    with("count too big", [](Fields& f) { f.count = 4; });
    with("count too small", [](Fields& f) { f.count = 2; });
    with("absurd bucket count", [](Fields& f) { f.nbuckets = uint64_t(1) << 60; });
    with("bucket count beyond data", [](Fields& f) { f.nbuckets = 3; });
    with("fewer buckets than written", [](Fields& f) { f.nbuckets = 1; });
    with("empty bucket", [](Fields& f) {
        f.buckets[1].second = 0;
        f.zero = 2;
    });
    with("counts overflow", [](Fields& f) {
        f.buckets[0].second = kU64Max;
        f.buckets[1].second = 4;
    });
    with("index out of range high", [](Fields& f) { f.buckets[1].first = 100000; });
    with("index out of range low", [](Fields& f) { f.buckets[0].first = 2 * 100000 + 1; });
    with("gap beyond 32 bits", [](Fields& f) { f.buckets[1].first = kU64Max; });
    with("min NaN", [](Fields& f) { f.min = kNaN; });
    with("min -0", [](Fields& f) { f.min = -0.0; });
    with("min negative", [](Fields& f) { f.min = -1; });
    with("max infinite", [](Fields& f) { f.max = kInf; });
    with("max not in the top bucket", [](Fields& f) { f.max = 20; });
    with("max below min", [](Fields& f) {
        f.min = 11;
        f.zero = 0;
    });
    with("min not in the zero bucket", [](Fields& f) { f.min = 1; });
    with("sum too small", [](Fields& f) { f.sum = Sketch::SumUnits(10) << 32; });
    with("sum too large", [](Fields& f) { f.sum = Sketch::SumUnits(22) << 32; });
    with("one value, min != max", [](Fields& f) {
        f.count = 1;
        f.zero = 0;
        f.min = 10.4;
        f.sum = Sketch::SumUnits(10.5 * 4294967296.0);
        f.nbuckets = 1;
        f.buckets = {{472, 1}};
    });
    with("span beyond the limit", [](Fields& f) {
        f.max_buckets = 16;
        f.max = 10.5;
    });
    {
        Fields f;
        std::string d = f.encode();
        cases.push_back({"trailing byte", d + '\0'});
        cases.push_back({"truncated", d.substr(0, d.size() - 1)});
    }
    {
        // Empty sketch with extra data; overlong varints.
        Enc e;
        e.u8(1).f64(0.005).var(4096).var(0).u8(0);
        cases.push_back({"empty with trailing data", e.s});
        Enc o;
        o.u8(1).f64(0.005).raw(std::string("\x80\x20\x80\x00", 4));
        cases.push_back({"overlong count varint", o.s});
        Enc t;
        t.u8(1).f64(0.005).raw(std::string(11, '\xff'));
        cases.push_back({"varint too long", t.s});
        Enc w;
        w.u8(1).f64(0.005).var(4096).raw(std::string(9, '\xff')).u8(0x02);  // 2^64
        cases.push_back({"varint beyond 64 bits", w.s});
    }
    for (const Case& c : cases) {
        std::string error;
        EXPECT_FALSE(Sketch::parse(c.data, &error)) << c.name;
        EXPECT_EQ(error.rfind("invalid sketch: ", 0), 0u) << c.name << ": " << error;
    }
}

TEST(SketchParse, RejectsInvalidText) {
    const char* ok =
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})";
    ASSERT_TRUE(Sketch::from_text(ok));
    std::vector<std::string> bad = {
        "",
        "null",
        "[]",
        "{}",
        "{",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]],"x":1})",
        R"({"alpha":0.005,"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":"0.005","count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3.0,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":-3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":1e400,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"sum_units":"53687091201","min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum_units":"053687091200","min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum_units":"999999999999999999999999999999999999999999","min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":null,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70.5,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[4294967366,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":{"70":1}})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,[1]],[236,1]]})",
        R"({"alpha":0.005,"count":0,"sum":0,"min":0,"max":null,"zero":0,"buckets":[]})",
        R"({"alpha":0.005,"count":0,"sum":1,"zero":0,"buckets":[]})",
        R"({"alpha":0.005,"count":3,"sum":-12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]})",
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1]]} x)",
        std::string(100000, '[') + std::string(100000, ']'),
        R"({"alpha":0.005,"count":3,"sum":12.5,"min":0,"max":10.5,"zero":1,"buckets":[[70,1],[236,1)" +
            std::string(50000, '[') + "]",
        std::string(Sketch::kMaxTextBytes + 1, ' '),
    };
    for (const std::string& t : bad) {
        std::string error;
        EXPECT_FALSE(Sketch::from_text(t, &error)) << t.substr(0, 200);
        EXPECT_EQ(error.rfind("invalid sketch: ", 0), 0u) << t.substr(0, 200) << ": " << error;
    }
}

// ---- robustness against arbitrary input ----

// Parses untrusted bytes; an accepted input must be canonical and usable.
void check_parse(std::string_view data, size_t& accepted) {
    std::optional<Sketch> p = Sketch::parse(data);
    if (!p) return;
    ++accepted;
    EXPECT_EQ(bytes(*p), std::string(data));
    (void)p->quantile(0.5);
    (void)p->cumulative_counts({0, 1, kInf});
    Sketch copy = *p;
    try {
        copy.merge(*p);
        EXPECT_EQ(copy.count(), 2 * p->count());
    } catch (const InputError&) {  // count or sum overflow
        EXPECT_TRUE(copy == *p);
    }
    std::optional<Sketch> t = Sketch::from_text(p->to_text());
    ASSERT_TRUE(t);
    EXPECT_TRUE(*t == *p);
}

void check_from_text(std::string_view text, size_t& accepted) {
    std::optional<Sketch> p = Sketch::from_text(text);
    if (!p) return;
    ++accepted;
    std::optional<Sketch> b = Sketch::parse(bytes(*p));
    ASSERT_TRUE(b);
    EXPECT_TRUE(*b == *p);
    (void)p->quantile(0.99);
}

TEST(SketchFuzz, EveryTruncationFails) {
    for (const Sketch& s : sample_sketches()) {
        std::string b = bytes(s);
        for (size_t n = 0; n < b.size(); ++n)
            EXPECT_FALSE(Sketch::parse(std::string_view(b).substr(0, n))) << n;
        std::string t = s.to_text();
        if (t.size() > 5000) t = sketch_of({0, 2, 10.5, 1e6}).to_text();
        for (size_t n = 0; n < t.size(); ++n)
            EXPECT_FALSE(Sketch::from_text(std::string_view(t).substr(0, n))) << t.substr(0, n);
    }
}

TEST(SketchFuzz, RandomBytesAndMutations) {
    std::mt19937_64 rng(19);
    std::uniform_int_distribution<int> byte(0, 255);
    size_t accepted = 0;
    // Random strings, half of them behind a valid header so that they reach the body.
    std::string header = bytes(Sketch()).substr(0, 11);
    for (int i = 0; i < 10000; ++i) {
        std::string d = i % 2 ? header : std::string();
        size_t len = std::uniform_int_distribution<size_t>(0, 64)(rng);
        for (size_t k = 0; k < len; ++k) d.push_back(char(byte(rng)));
        check_parse(d, accepted);
    }
    // Mutations of valid serializations: flipped bits, replaced, inserted, erased bytes.
    std::vector<std::string> seeds;
    for (const Sketch& s : sample_sketches()) seeds.push_back(bytes(s));
    seeds.push_back(bytes(sketch_of({0, 2, 10.5})));
    seeds.push_back(bytes(sketch_of({1, 1, 1, 2, 2, 3})));
    size_t mutated_accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string d = seeds[size_t(i) % seeds.size()];
        int edits = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int e = 0; e < edits && !d.empty(); ++e) {
            size_t at = std::uniform_int_distribution<size_t>(0, d.size() - 1)(rng);
            switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
                case 0:
                    d[at] = char(d[at] ^ (1 << (byte(rng) % 8)));
                    break;
                case 1:
                    d[at] = char(byte(rng));
                    break;
                case 2:
                    d.insert(d.begin() + long(at), char(byte(rng)));
                    break;
                default:
                    d.erase(d.begin() + long(at));
                    break;
            }
        }
        check_parse(d, mutated_accepted);
    }
    std::printf(
        "[ sketch   ] random inputs accepted: %zu of 10000; mutations accepted: %zu of 20000\n",
        accepted, mutated_accepted);
}

TEST(SketchFuzz, RandomTextMutations) {
    std::mt19937_64 rng(20);
    std::uniform_int_distribution<int> byte(0, 255);
    const std::string alphabet = "{}[],:\"0123456789.-+eE abcdflmnorstuxz_";
    std::vector<std::string> seeds = {sketch_of({0, 2, 10.5}).to_text(),
                                      sketch_of({1, 1, 1, 2, 2, 3, 1e9}).to_text(),
                                      Sketch().to_text()};
    size_t accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string d = seeds[size_t(i) % seeds.size()];
        int edits = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int e = 0; e < edits && !d.empty(); ++e) {
            size_t at = std::uniform_int_distribution<size_t>(0, d.size() - 1)(rng);
            char c =
                i % 4 == 0
                    ? char(byte(rng))
                    : alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
            switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
                case 0:
                    d[at] = c;
                    break;
                case 1:
                    d.insert(d.begin() + long(at), c);
                    break;
                default:
                    d.erase(d.begin() + long(at));
                    break;
            }
        }
        check_from_text(d, accepted);
    }
    for (int i = 0; i < 10000; ++i) {
        std::string d;
        size_t len = std::uniform_int_distribution<size_t>(0, 64)(rng);
        for (size_t k = 0; k < len; ++k)
            d.push_back(
                alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)]);
        check_from_text(d, accepted);
    }
    std::printf("[ sketch   ] text mutations and random texts accepted: %zu of 30000\n", accepted);
}

}  // namespace
}  // namespace llmtrace::test
