// A set of ids for exact distinct counts that merge: the users and sessions of
// a day of a model group. Pure C++: no PostgreSQL header.
//
// An id is kept as the first 16 bytes of its SHA-256 (collisions need about
// 2^64 ids, even chosen by an adversary), so a set costs 16 bytes an id and
// merging two sets is a merge of two sorted arrays. Up to kMaxKeys ids the
// count is exact. A set that would grow past kMaxKeys keeps its kMaxKeys
// smallest keys and is marked estimated: its count is then the K-minimum-values
// estimate (kMaxKeys - 1) / (largest kept key as a fraction of 2^64), within
// about 0.1 %; this bounds what a writer sending endless distinct ids can make
// one value weigh.
//
// Binary form: one flags byte (bit 0: estimated; other bits 0), then the keys
// in strictly increasing byte order, 16 bytes each.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmtrace::core {

using IdKey = std::array<uint8_t, 16>;

class IdSet {
public:
    static constexpr size_t kMaxKeys = 1u << 20;  // 16 MB of keys

    // The key of an id (the first 16 bytes of SHA-256 of its bytes).
    static IdKey key_of(std::string_view id);
    // The same without the SHA extensions of the CPU (key_of uses them where
    // the CPU has them): for tests.
    static IdKey key_of_portable(std::string_view id);

    IdSet() = default;
    // Adds keys in any order, duplicates allowed.
    void add_keys(std::vector<IdKey> keys);
    void merge(const IdSet& other);

    bool estimated() const { return estimated_; }
    size_t size() const { return keys_.size(); }
    // The number of distinct ids: exact unless estimated().
    uint64_t count() const;

    void serialize(std::string& out) const;
    // nullopt (with a reason in *error) unless bytes is a valid binary form.
    static std::optional<IdSet> parse(std::string_view bytes, std::string* error = nullptr);

private:
    void cap();
    std::vector<IdKey> keys_;  // sorted, unique
    bool estimated_ = false;
};

}  // namespace llmtrace::core
