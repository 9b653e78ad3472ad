// DDSketch: adds, exact merges, quantiles, histogram counts, binary and text forms.
#include "core/sketch.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace llmtrace::core {

static_assert(std::numeric_limits<double>::is_iec559, "the binary form stores IEEE-754 doubles");

namespace {

using SumUnits = Sketch::SumUnits;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

bool fail(std::string* error, const char* reason) {
    if (error) *error = std::string("invalid sketch: ") + reason;
    return false;
}

std::string u128_to_decimal(SumUnits v) {
    std::string s;
    do {
        s.push_back(char('0' + int(v % 10)));
        v /= 10;
    } while (v != 0);
    std::reverse(s.begin(), s.end());
    return s;
}

// Digits only, no sign, no leading zero (except "0"), at most 2^128 - 1.
bool decimal_to_u128(std::string_view s, SumUnits& out) {
    if (s.empty() || s.size() > 39 || (s.size() > 1 && s[0] == '0')) return false;
    SumUnits v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        SumUnits d = SumUnits(c - '0');
        if (__builtin_mul_overflow(v, SumUnits(10), &v) || __builtin_add_overflow(v, d, &v))
            return false;
    }
    out = v;
    return true;
}

// ---- binary encoding ----

void put_f64(std::string& out, double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    for (int i = 0; i < 8; ++i) out.push_back(char(uint8_t(bits >> (8 * i))));
}

template <typename T>
void put_varint(std::string& out, T v) {
    while (v >= 0x80) {
        out.push_back(char(uint8_t(v) | 0x80));
        v >>= 7;
    }
    out.push_back(char(uint8_t(v)));
}

uint64_t zigzag(int64_t v) { return v < 0 ? (uint64_t(-(v + 1)) << 1) | 1 : uint64_t(v) << 1; }

int64_t unzigzag(uint64_t v) { return (v & 1) ? -int64_t(v >> 1) - 1 : int64_t(v >> 1); }

struct Reader {
    std::string_view in;
    size_t pos = 0;

    size_t remaining() const { return in.size() - pos; }

    bool u8(uint8_t& out) {
        if (pos >= in.size()) return false;
        out = uint8_t(in[pos++]);
        return true;
    }

    bool f64(double& out) {
        if (remaining() < 8) return false;
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits |= uint64_t(uint8_t(in[pos + size_t(i)])) << (8 * i);
        pos += 8;
        std::memcpy(&out, &bits, sizeof out);
        return true;
    }

    // Minimal-length unsigned LEB128 that fits T (uint64_t or SumUnits).
    template <typename T>
    bool varint(T& out) {
        constexpr int kBits = int(sizeof(T) * 8);
        T v = 0;
        for (int shift = 0; shift < kBits; shift += 7) {
            if (pos >= in.size()) return false;
            uint8_t b = uint8_t(in[pos++]);
            T part = T(b & 0x7f);
            if (kBits - shift < 7 && (part >> (kBits - shift)) != 0) return false;  // overflow
            v |= part << shift;
            if ((b & 0x80) == 0) {
                if (b == 0 && shift > 0) return false;  // not minimal
                out = v;
                return true;
            }
        }
        return false;  // too long
    }
};

}  // namespace

// ---- construction, add, merge ----

Sketch::Sketch(double alpha, uint32_t max_buckets) {
    if (!(alpha >= kMinAlpha && alpha <= kMaxAlpha))
        throw InputError(sqlstate::kInvalidParameter,
                         "sketch relative accuracy must be between 0.0001 and 0.5");
    if (max_buckets < kMinMaxBuckets || max_buckets > kMaxMaxBuckets)
        throw InputError(sqlstate::kInvalidParameter,
                         "sketch bucket limit must be between 16 and 65536");
    alpha_ = alpha;
    gamma_ = (1 + alpha) / (1 - alpha);
    // The default accuracy's logarithm is computed once (rollups make a
    // sketch per group).
    static const double default_log_gamma = std::log((1 + kDefaultAlpha) / (1 - kDefaultAlpha));
    log_gamma_ = alpha == kDefaultAlpha ? default_log_gamma : std::log(gamma_);
    max_buckets_ = max_buckets;
}

int32_t Sketch::index_of(double value) const {
    return int32_t(std::ceil(std::log(value) / log_gamma_));
}

double Sketch::bucket_value(int32_t index) const {
    return 2 * std::exp(double(index) * log_gamma_) / (gamma_ + 1);
}

Sketch::SumUnits Sketch::units_of(double value) {
    // value <= 1e15 < 2^50: the rounded product is an integer below 2^82.
    return SumUnits(std::round(std::ldexp(value, kSumFractionBits)));
}

double Sketch::sum() const { return std::ldexp(double(sum_units_), -kSumFractionBits); }

std::optional<double> Sketch::min() const {
    return count_ ? std::optional<double>(min_) : std::nullopt;
}

std::optional<double> Sketch::max() const {
    return count_ ? std::optional<double>(max_) : std::nullopt;
}

void Sketch::add(double value, uint64_t count) {
    if (!(value >= 0 && value <= kMaxValue))  // NaN fails both
        throw InputError(sqlstate::kOutOfRange,
                         "sketch value must be a number of milliseconds between 0 and 1e15");
    if (count == 0) return;
    if (value == 0) value = 0;  // -0.0 -> +0.0
    if (count_ > kU64Max - count)
        throw InputError(sqlstate::kOutOfRange, "sketch count overflows 64 bits");
    SumUnits term, total;
    if (__builtin_mul_overflow(units_of(value), SumUnits(count), &term) ||
        __builtin_add_overflow(sum_units_, term, &total))
        throw InputError(sqlstate::kOutOfRange, "sketch sum overflows");
    if (value < kMinIndexable)
        zero_ += count;
    else
        insert(index_of(value), count);  // may throw bad_alloc before any change
    if (count_ == 0) {
        min_ = max_ = value;
    } else {
        min_ = std::min(min_, value);
        max_ = std::max(max_, value);
    }
    count_ += count;
    sum_units_ = total;
}

void Sketch::insert(int32_t index, uint64_t count) {
    if (!buckets_.empty()) {
        int64_t high = std::max<int64_t>(index, buckets_.back().index);
        int64_t floor = high - int64_t(max_buckets_) + 1;
        if (index < floor) index = int32_t(floor);
    }
    auto it = std::lower_bound(buckets_.begin(), buckets_.end(), index,
                               [](const Bucket& b, int32_t i) { return b.index < i; });
    if (it != buckets_.end() && it->index == index)
        it->count += count;
    else
        buckets_.insert(it, Bucket{index, count});
    collapse();
}

// Folds the buckets below F = highest index - max_buckets + 1 into bucket F.
// Allocates nothing.
void Sketch::collapse() {
    if (buckets_.empty()) return;
    int64_t floor = int64_t(buckets_.back().index) - int64_t(max_buckets_) + 1;
    if (buckets_.front().index >= floor) return;
    auto kept = std::lower_bound(buckets_.begin(), buckets_.end(), floor,
                                 [](const Bucket& b, int64_t i) { return b.index < i; });
    uint64_t folded = 0;
    for (auto it = buckets_.begin(); it != kept; ++it) folded += it->count;
    if (kept != buckets_.end() && kept->index == floor) {
        kept->count += folded;
        buckets_.erase(buckets_.begin(), kept);
    } else {
        auto last = kept - 1;  // the highest folded bucket becomes bucket F
        last->index = int32_t(floor);
        last->count = folded;
        buckets_.erase(buckets_.begin(), last);
    }
}

void Sketch::merge(const Sketch& other) {
    if (alpha_ != other.alpha_)
        throw InputError(sqlstate::kInvalidParameter,
                         "cannot merge sketches of different relative accuracy");
    if (count_ > kU64Max - other.count_)
        throw InputError(sqlstate::kOutOfRange, "sketch count overflows 64 bits");
    SumUnits total;
    if (__builtin_add_overflow(sum_units_, other.sum_units_, &total))
        throw InputError(sqlstate::kOutOfRange, "sketch sum overflows");

    std::vector<Bucket> merged;
    merged.reserve(buckets_.size() + other.buckets_.size());
    auto a = buckets_.begin(), ae = buckets_.end();
    auto b = other.buckets_.begin(), be = other.buckets_.end();
    while (a != ae || b != be) {
        if (b == be || (a != ae && a->index < b->index)) {
            merged.push_back(*a++);
        } else if (a == ae || b->index < a->index) {
            merged.push_back(*b++);
        } else {
            merged.push_back(Bucket{a->index, a->count + b->count});
            ++a;
            ++b;
        }
    }
    // No throw from here on (other may be *this).
    if (other.count_ > 0) {
        if (count_ == 0) {
            min_ = other.min_;
            max_ = other.max_;
        } else {
            min_ = std::min(min_, other.min_);
            max_ = std::max(max_, other.max_);
        }
    }
    zero_ += other.zero_;
    count_ += other.count_;
    sum_units_ = total;
    max_buckets_ = std::min(max_buckets_, other.max_buckets_);
    buckets_.swap(merged);
    collapse();
}

// ---- queries ----

std::optional<double> Sketch::quantile(double q) const {
    if (!(q >= 0 && q <= 1))
        throw InputError(sqlstate::kOutOfRange, "quantile must be between 0 and 1");
    if (count_ == 0) return std::nullopt;
    if (q == 0) return min_;
    if (q == 1) return max_;
    // percentile_disc: the value of rank ceil(q * count), at least 1.
    double r = std::ceil(q * double(count_));
    uint64_t rank = r < 1 ? 1 : r >= double(count_) ? count_ : uint64_t(r);
    double estimate = max_;
    if (rank <= zero_) {
        estimate = 0;
    } else {
        uint64_t seen = zero_;
        for (const Bucket& b : buckets_) {
            seen += b.count;
            if (seen >= rank) {
                estimate = bucket_value(b.index);
                break;
            }
        }
    }
    return std::clamp(estimate, min_, max_);
}

std::vector<uint64_t> Sketch::cumulative_counts(const std::vector<double>& upper_bounds) const {
    for (double b : upper_bounds)
        if (std::isnan(b)) throw InputError(sqlstate::kOutOfRange, "histogram bound is NaN");
    std::vector<uint64_t> out(upper_bounds.size(), 0);
    if (count_ == 0) return out;
    std::vector<uint64_t> prefix(buckets_.size() + 1);  // prefix[k]: zero + first k buckets
    prefix[0] = zero_;
    for (size_t k = 0; k < buckets_.size(); ++k) prefix[k + 1] = prefix[k] + buckets_[k].count;
    for (size_t j = 0; j < upper_bounds.size(); ++j) {
        double b = upper_bounds[j];
        if (b < min_) {
            out[j] = 0;
        } else if (b >= max_) {
            out[j] = count_;
        } else {  // 0 <= min <= b: the zero bucket (estimate 0) is counted
            auto it = std::partition_point(buckets_.begin(), buckets_.end(), [&](const Bucket& x) {
                return bucket_value(x.index) <= b;
            });
            out[j] = prefix[size_t(it - buckets_.begin())];
        }
    }
    return out;
}

bool Sketch::operator==(const Sketch& o) const {
    return alpha_ == o.alpha_ && max_buckets_ == o.max_buckets_ && count_ == o.count_ &&
           zero_ == o.zero_ && sum_units_ == o.sum_units_ && min_ == o.min_ && max_ == o.max_ &&
           buckets_ == o.buckets_;
}

// ---- validation shared by parse() and from_text() ----

struct Sketch::Parts {
    double alpha = 0;
    uint64_t max_buckets = 0;
    uint64_t count = 0;
    double min = 0, max = 0;
    SumUnits sum_units = 0;
    uint64_t zero = 0;
    struct Raw {
        int64_t index;
        uint64_t count;
    };
    std::vector<Raw> buckets;
};

std::optional<Sketch> Sketch::from_parts(Parts& p, std::string* error) {
    auto bad = [&](const char* reason) {
        fail(error, reason);
        return std::nullopt;
    };
    if (!(p.alpha >= kMinAlpha && p.alpha <= kMaxAlpha)) return bad("alpha out of range");
    if (p.max_buckets < kMinMaxBuckets || p.max_buckets > kMaxMaxBuckets)
        return bad("bucket limit out of range");
    Sketch s(p.alpha, uint32_t(p.max_buckets));
    if (p.count == 0) {
        if (p.sum_units != 0 || p.zero != 0 || !p.buckets.empty())
            return bad("an empty sketch has a sum or buckets");
        return s;
    }
    if (!std::isfinite(p.min) || !std::isfinite(p.max)) return bad("min or max is not finite");
    if (std::signbit(p.min) || p.min > p.max || p.max > kMaxValue)
        return bad("min or max out of range");
    if (p.count == 1 && p.min != p.max) return bad("one value but min differs from max");
    if (p.buckets.size() > p.max_buckets) return bad("more buckets than the limit");

    // Indexes: in the range of [kMinIndexable, kMaxValue] (one bucket of slack
    // for a platform's log() rounding), strictly increasing, within the
    // collapse window; counts positive and adding up.
    const int64_t lo = int64_t(s.index_of(kMinIndexable)) - 1;
    const int64_t hi = int64_t(s.index_of(kMaxValue)) + 1;
    uint64_t total = p.zero;
    s.buckets_.reserve(p.buckets.size());
    for (const Parts::Raw& b : p.buckets) {
        if (b.index < lo || b.index > hi) return bad("bucket index out of range");
        if (!s.buckets_.empty() && b.index <= s.buckets_.back().index)
            return bad("bucket indexes not increasing");
        if (b.count == 0) return bad("empty bucket");
        if (total > kU64Max - b.count) return bad("bucket counts overflow");
        total += b.count;
        s.buckets_.push_back(Bucket{int32_t(b.index), b.count});
    }
    if (total != p.count) return bad("bucket counts do not add up to the count");
    if (!s.buckets_.empty() &&
        int64_t(s.buckets_.back().index) - s.buckets_.front().index >= int64_t(p.max_buckets))
        return bad("buckets span more than the limit");

    // min and max agree with the zero bucket and with the lowest and highest buckets.
    if ((p.zero > 0) != (p.min < kMinIndexable)) return bad("min disagrees with the zero bucket");
    if (s.buckets_.empty() != (p.max < kMinIndexable)) return bad("max disagrees with the buckets");
    if (!s.buckets_.empty()) {
        int64_t front = s.buckets_.front().index, back = s.buckets_.back().index;
        int64_t imax = s.index_of(p.max);
        if (imax < back - 1 || imax > back + 1) return bad("max is not in the highest bucket");
        if (p.zero == 0) {
            int64_t imin = s.index_of(p.min);
            bool at_floor =
                front == back - int64_t(p.max_buckets) + 1;  // may hold collapsed values
            if (imin > front + 1 || (!at_floor && imin < front - 1))
                return bad("min is not in the lowest bucket");
        }
    }

    // The sum lies between (count - 1) x min + max and (count - 1) x max + min.
    SumUnits umin = units_of(p.min), umax = units_of(p.max), low, high;
    if (__builtin_mul_overflow(umin, SumUnits(p.count - 1), &low) ||
        __builtin_add_overflow(low, umax, &low))
        return bad("sum out of range");
    if (p.sum_units < low) return bad("sum below count x min");
    if (!__builtin_mul_overflow(umax, SumUnits(p.count - 1), &high) &&
        !__builtin_add_overflow(high, umin, &high) && p.sum_units > high)
        return bad("sum above count x max");

    s.count_ = p.count;
    s.zero_ = p.zero;
    s.min_ = p.min;
    s.max_ = p.max;
    s.sum_units_ = p.sum_units;
    return s;
}

// ---- binary form ----

void Sketch::serialize(std::string& out) const {
    out.push_back(char(kFormatVersion));
    put_f64(out, alpha_);
    put_varint(out, uint64_t(max_buckets_));
    put_varint(out, count_);
    if (count_ == 0) return;
    put_f64(out, min_);
    put_f64(out, max_);
    put_varint(out, sum_units_);
    put_varint(out, zero_);
    put_varint(out, uint64_t(buckets_.size()));
    for (size_t k = 0; k < buckets_.size(); ++k) {
        if (k == 0)
            put_varint(out, zigzag(buckets_[k].index));
        else
            put_varint(out, uint64_t(int64_t(buckets_[k].index) - buckets_[k - 1].index - 1));
        put_varint(out, buckets_[k].count);
    }
}

std::optional<Sketch> Sketch::parse(std::string_view bytes, std::string* error) {
    auto bad = [&](const char* reason) {
        fail(error, reason);
        return std::nullopt;
    };
    Reader r{bytes};
    Parts p;
    uint8_t version = 0;
    if (!r.u8(version)) return bad("no data");
    if (version != kFormatVersion) return bad("unknown format version");
    if (!r.f64(p.alpha) || !r.varint(p.max_buckets) || !r.varint(p.count))
        return bad("truncated or malformed header");
    if (p.count > 0) {
        uint64_t n = 0;
        if (!r.f64(p.min) || !r.f64(p.max) || !r.varint(p.sum_units) || !r.varint(p.zero) ||
            !r.varint(n))
            return bad("truncated or malformed header");
        // Every bucket takes at least 2 bytes: this bounds the allocation.
        if (n > kMaxMaxBuckets || n > r.remaining() / 2)
            return bad("bucket count exceeds the data");
        p.buckets.reserve(size_t(n));
        int64_t index = 0;
        for (uint64_t k = 0; k < n; ++k) {
            uint64_t code = 0, count = 0;
            if (!r.varint(code) || !r.varint(count)) return bad("truncated or malformed bucket");
            if (k == 0) {
                index = unzigzag(code);
            } else {
                // Indexes stay within 32 bits; a larger gap is out of range anyway.
                if (code > uint64_t(std::numeric_limits<uint32_t>::max()))
                    return bad("bucket index out of range");
                index += int64_t(code) + 1;
            }
            if (index < std::numeric_limits<int32_t>::min() ||
                index > std::numeric_limits<int32_t>::max())
                return bad("bucket index out of range");
            p.buckets.push_back(Parts::Raw{index, count});
        }
    }
    if (r.remaining() != 0) return bad("trailing bytes");
    return from_parts(p, error);
}

// ---- text form ----

std::string Sketch::to_text() const {
    nlohmann::ordered_json j;
    j["alpha"] = alpha_;
    j["max_buckets"] = max_buckets_;
    j["count"] = count_;
    j["sum"] = sum();
    j["sum_units"] = u128_to_decimal(sum_units_);
    if (count_ > 0) {
        j["min"] = min_;
        j["max"] = max_;
    } else {
        j["min"] = nullptr;
        j["max"] = nullptr;
    }
    j["zero"] = zero_;
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const Bucket& b : buckets_) arr.push_back({b.index, b.count});
    j["buckets"] = std::move(arr);
    return j.dump();
}

namespace {

bool get_u64(const nlohmann::json& v, uint64_t& out) {
    if (!v.is_number_unsigned()) return false;  // non-negative integers parse as unsigned
    out = v.get<uint64_t>();
    return true;
}

bool get_double(const nlohmann::json& v, double& out) {
    if (!v.is_number()) return false;
    out = v.get<double>();
    return std::isfinite(out);
}

}  // namespace

std::optional<Sketch> Sketch::from_text(std::string_view text, std::string* error) {
    auto bad = [&](const char* reason) {
        fail(error, reason);
        return std::nullopt;
    };
    if (text.size() > kMaxTextBytes) return bad("text too long");
    try {
        // The deepest legitimate value is a bucket's number (depth 3); deeper
        // values are discarded as they are read, so nesting costs nothing.
        bool too_deep = false, repeated = false;
        std::set<std::string> keys;
        auto cb = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
            if (depth > 3) {
                too_deep = true;
                return false;
            }
            if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string() &&
                !keys.insert(parsed.get<std::string>()).second)
                repeated = true;
            return true;
        };
        nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), cb, false);
        if (j.is_discarded()) return bad("malformed JSON");
        if (too_deep) return bad("nesting too deep");
        if (repeated) return bad("repeated key");
        if (!j.is_object()) return bad("not a JSON object");

        Parts p;
        p.max_buckets = kDefaultMaxBuckets;
        bool has_alpha = false, has_count = false, has_zero = false, has_buckets = false;
        const nlohmann::json *sum = nullptr, *sum_units = nullptr, *min = nullptr, *max = nullptr;
        const nlohmann::json* buckets = nullptr;
        for (const auto& [key, v] : j.items()) {
            if (key == "alpha") {
                if (!get_double(v, p.alpha)) return bad("alpha is not a number");
                has_alpha = true;
            } else if (key == "max_buckets") {
                if (!get_u64(v, p.max_buckets)) return bad("max_buckets is not an integer");
            } else if (key == "count") {
                if (!get_u64(v, p.count)) return bad("count is not a non-negative integer");
                has_count = true;
            } else if (key == "zero") {
                if (!get_u64(v, p.zero)) return bad("zero is not a non-negative integer");
                has_zero = true;
            } else if (key == "sum") {
                sum = &v;
            } else if (key == "sum_units") {
                sum_units = &v;
            } else if (key == "min") {
                min = &v;
            } else if (key == "max") {
                max = &v;
            } else if (key == "buckets") {
                buckets = &v;
                has_buckets = true;
            } else {
                return bad("unknown key");
            }
        }
        if (!has_alpha || !has_count || !has_zero || !has_buckets)
            return bad("alpha, count, zero or buckets missing");

        if (p.count == 0) {
            if ((min && !min->is_null()) || (max && !max->is_null()))
                return bad("an empty sketch has a min or max");
        } else {
            if (!min || !max) return bad("min or max missing");
            if (!get_double(*min, p.min) || !get_double(*max, p.max))
                return bad("min or max is not a finite number");
        }

        double sum_value = 0;
        if (sum && !get_double(*sum, sum_value)) return bad("sum is not a finite number");
        if (sum_units) {
            if (!sum_units->is_string() ||
                !decimal_to_u128(sum_units->get_ref<const std::string&>(), p.sum_units))
                return bad("sum_units is not a decimal integer string");
            if (sum && sum_value != std::ldexp(double(p.sum_units), -kSumFractionBits))
                return bad("sum disagrees with sum_units");
        } else if (sum) {
            // At most 2^95 ms keeps the units below 2^127.
            if (sum_value < 0 || sum_value > std::ldexp(1.0, 95)) return bad("sum out of range");
            p.sum_units = units_of(sum_value);
        } else if (p.count > 0) {
            return bad("sum missing");
        }

        if (!buckets->is_array()) return bad("buckets is not an array");
        if (buckets->size() > kMaxMaxBuckets) return bad("more buckets than the limit");
        p.buckets.reserve(buckets->size());
        for (const nlohmann::json& b : *buckets) {
            if (!b.is_array() || b.size() != 2) return bad("a bucket is not [index, count]");
            const nlohmann::json &i = b[0], &c = b[1];
            int64_t index;
            if (i.is_number_unsigned()) {
                uint64_t u = i.get<uint64_t>();
                if (u > uint64_t(std::numeric_limits<int32_t>::max()))
                    return bad("bucket index out of range");
                index = int64_t(u);
            } else if (i.is_number_integer()) {
                index = i.get<int64_t>();
            } else {
                return bad("bucket index is not an integer");
            }
            uint64_t count;
            if (!get_u64(c, count)) return bad("bucket count is not a non-negative integer");
            p.buckets.push_back(Parts::Raw{index, count});
        }
        return from_parts(p, error);
    } catch (const nlohmann::json::exception&) {
        return bad("malformed JSON");
    }
}

}  // namespace llmtrace::core
