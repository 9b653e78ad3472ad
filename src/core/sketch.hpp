// A mergeable quantile sketch of latencies in milliseconds: DDSketch (Masson,
// Rim, Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
// relative-error guarantees", VLDB 2019), with a compact binary form (for a
// PostgreSQL type's send/recv and on-disk storage) and a JSON text form.
// Pure C++: no PostgreSQL header.
//
// Mapping. gamma = (1 + alpha) / (1 - alpha). A value x >= kMinIndexable goes
// to the bucket of index i = ceil(log(x) / log(gamma)), which covers
// (gamma^(i-1), gamma^i]; the bucket's estimate is 2 gamma^i / (gamma + 1),
// within relative error alpha of every value in the bucket. Values in
// [0, kMinIndexable) are counted in a separate zero bucket, estimated as 0.
//
// Accuracy guarantee. quantile(q) is within relative error alpha (0.5 % by
// default) of the exact percentile_disc(q) of the values added (the first value
// whose cumulative fraction is >= q), unless that value lies in the zero bucket
// (then the absolute error is below kMinIndexable) or in the collapsed range
// (below). quantile(0) and quantile(1) are the exact minimum and maximum.
//
// Bucket store. A sorted vector of (index, count) pairs, indexes strictly
// increasing, counts > 0 (sparse: memory follows the occupied buckets).
//
// Collapse rule. The occupied indexes span at most max_buckets consecutive
// indexes: with H the highest index, every value of index below
// F = H - max_buckets + 1 is counted in bucket F instead. The result depends
// only on the multiset of values (not on the order of adds and merges), so
// merges stay exact. The accuracy guarantee holds for quantiles whose value is
// above gamma^F; a quantile in the collapsed range gets bucket F's estimate (an
// overestimate), clamped to [min, max]. The default 4096 buckets span a ratio
// of about 6e17 at alpha 0.005: 0.01 ms .. 1 hour needs 1,971 buckets and
// 1e-3 ms .. 1e9 ms 2,764, so latencies never collapse in practice.
//
// Sum. Each value is rounded to a multiple of 2^-32 ms (about 2.3e-10 ms) and
// summed exactly in a 128-bit integer, so sum() does not depend on the order of
// adds and merges either: the sketch of a set of values is unique, and merging
// the sketches of its parts in any order or grouping gives an identical
// serialization.
//
// Errors. add(), merge(), quantile(), cumulative_counts() and the constructor
// throw InputError (SQLSTATE 22003 for values out of range and counter
// overflow, 22023 for incompatible sketches and bad parameters) and leave the
// sketch unchanged (std::bad_alloc aside, which also leaves it unchanged).
// parse() and from_text() never throw for bad input: they return nullopt (and
// a reason in *error).
//
// Binary format, version 1 (all multi-byte fixed-width fields little-endian,
// varint = unsigned LEB128 of minimal length, at most 10 bytes for 64 bits and
// 19 bytes for 128 bits; nothing may follow the last field):
//   u8      version = 1
//   f64     alpha (IEEE-754 binary64)
//   varint  max_buckets
//   varint  count                          -- 0: the sketch is empty, end
//   f64     min
//   f64     max
//   varint  sum in units of 2^-32 ms       (128-bit)
//   varint  zero-bucket count
//   varint  number of buckets B
//   B times: varint index (first bucket: zigzag-encoded; later ones: the gap
//            to the previous index minus 1), varint count
// An accepted input is canonical: serialize(parse(bytes)) == bytes.
//
// Text format: one JSON object, keys in this order when written (here the
// sketch of 0, 2 and 10.5 ms):
//   {"alpha":0.005,"max_buckets":4096,"count":3,"sum":12.5,
//    "sum_units":"53687091200","min":0.0,"max":10.5,"zero":1,
//    "buckets":[[70,1],[236,1]]}
// "sum" is informative (a double); "sum_units" is the exact sum in 2^-32 ms as
// a decimal string. from_text() accepts "sum" alone (then rounded to units),
// requires "sum" to equal the exact sum when both are given, takes
// "max_buckets" as 4096 when absent, and wants "min"/"max" null or absent
// for an empty sketch. Unknown or repeated keys are rejected.
#pragma once

#include "core/span.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmtrace::core {

class Sketch {
public:
    // The exact sum, in units of 2^-32 ms.
    using SumUnits = unsigned __int128;

    static constexpr double kDefaultAlpha = 0.005;
    static constexpr double kMinAlpha = 1e-4;
    static constexpr double kMaxAlpha = 0.5;
    static constexpr uint32_t kDefaultMaxBuckets = 4096;
    static constexpr uint32_t kMinMaxBuckets = 16;
    static constexpr uint32_t kMaxMaxBuckets = 65536;
    // Values in [0, kMinIndexable) go to the zero bucket (ms).
    static constexpr double kMinIndexable = 1e-9;
    // Largest value accepted (ms; about 31,700 years).
    static constexpr double kMaxValue = 1e15;
    // The sum is kept in units of 2^-kSumFractionBits ms.
    static constexpr int kSumFractionBits = 32;
    static constexpr uint8_t kFormatVersion = 1;
    // Longest text from_text() reads (the text of 65,536 buckets is about 2 MB).
    static constexpr size_t kMaxTextBytes = size_t(8) << 20;

    struct Bucket {
        int32_t index;
        uint64_t count;
        bool operator==(const Bucket& o) const { return index == o.index && count == o.count; }
    };

    // An empty sketch. Throws InputError (22023) unless alpha is in
    // [kMinAlpha, kMaxAlpha] and max_buckets in [kMinMaxBuckets, kMaxMaxBuckets].
    explicit Sketch(double alpha = kDefaultAlpha, uint32_t max_buckets = kDefaultMaxBuckets);

    // Adds `count` occurrences of `value` (ms). Throws InputError (22003) when
    // value is negative, NaN, infinite or above kMaxValue, or when the total
    // count or the sum would overflow; the sketch is then unchanged. -0.0 is
    // taken as 0. count 0 is a no-op (the value is still checked).
    void add(double value, uint64_t count = 1);

    // Adds all values of `other`: the result is the sketch of the union,
    // identical whatever the order and grouping of merges. The result keeps
    // the smaller max_buckets of the two. Throws InputError (22023) when the
    // alphas differ, (22003) when the count or sum would overflow; the sketch
    // is then unchanged. Merging a sketch into itself doubles it.
    void merge(const Sketch& other);

    // The estimate of percentile_disc(q): nullopt for an empty sketch; the
    // exact min for q = 0 and max for q = 1; otherwise the estimate of the
    // bucket holding the value of rank max(1, ceil(q * count())), clamped to
    // [min, max]. Throws InputError (22003) unless 0 <= q <= 1.
    std::optional<double> quantile(double q) const;

    // For each upper bound b (any order), the number of values <= b in the
    // sense of a Prometheus/OpenTelemetry histogram "le" bucket. Exact when
    // b < min (0), when b >= max (count()), and for values exactly 0. Otherwise
    // a value is counted when its bucket's estimate (the value quantile()
    // reports for it) is <= b: values <= b / (1 + alpha) are always counted,
    // values > b / (1 - alpha) never. Non-decreasing in b; +infinity gives
    // count(). Throws InputError (22003) for a NaN bound.
    std::vector<uint64_t> cumulative_counts(const std::vector<double>& upper_bounds) const;

    uint64_t count() const { return count_; }
    bool empty() const { return count_ == 0; }
    // The sum of the values (each rounded to 2^-32 ms); 0 for an empty sketch.
    double sum() const;
    SumUnits sum_units() const { return sum_units_; }
    // The exact minimum and maximum; nullopt for an empty sketch.
    std::optional<double> min() const;
    std::optional<double> max() const;

    double alpha() const { return alpha_; }
    double gamma() const { return gamma_; }
    uint32_t max_buckets() const { return max_buckets_; }
    uint64_t zero_count() const { return zero_; }
    const std::vector<Bucket>& buckets() const { return buckets_; }

    // The bucket index of a value in [kMinIndexable, kMaxValue].
    int32_t index_of(double value) const;
    // The estimate of bucket i: 2 gamma^i / (gamma + 1).
    double bucket_value(int32_t index) const;

    // Appends the binary form (see above) to out.
    void serialize(std::string& out) const;
    // Reads the binary form of untrusted input: nullopt (with a reason in
    // *error when error is not null) for anything but a canonical, consistent
    // sketch. Allocation is bounded by a small multiple of bytes.size().
    static std::optional<Sketch> parse(std::string_view bytes, std::string* error = nullptr);

    // The JSON text form (see above).
    std::string to_text() const;
    // Reads the text form of untrusted input with the same checks as parse().
    static std::optional<Sketch> from_text(std::string_view text, std::string* error = nullptr);

    // Same alpha, max_buckets, counts, buckets, min, max and sum.
    bool operator==(const Sketch& o) const;
    bool operator!=(const Sketch& o) const { return !(*this == o); }

private:
    struct Parts;
    static std::optional<Sketch> from_parts(Parts& p, std::string* error);

    void insert(int32_t index, uint64_t count);
    void collapse();
    static SumUnits units_of(double value);

    double alpha_;
    double gamma_;
    double log_gamma_;
    uint32_t max_buckets_;
    uint64_t count_ = 0;
    uint64_t zero_ = 0;
    SumUnits sum_units_ = 0;
    double min_ = 0;  // meaningful when count_ > 0
    double max_ = 0;
    std::vector<Bucket> buckets_;
};

}  // namespace llmtrace::core
