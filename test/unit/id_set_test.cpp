// IdSet: exact distinct counts that merge (core/id_set.hpp).
#include "core/id_set.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

using llmtrace::core::IdKey;
using llmtrace::core::IdSet;

namespace {

std::string hex(const IdKey& k) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (uint8_t b : k) {
        s += d[b >> 4];
        s += d[b & 15];
    }
    return s;
}

IdSet of(const std::vector<std::string>& ids) {
    std::vector<IdKey> keys;
    for (const auto& id : ids) keys.push_back(IdSet::key_of(id));
    IdSet s;
    s.add_keys(keys);
    return s;
}

}  // namespace

TEST(IdSet, KeyIsTheSha256Prefix) {
    // FIPS 180-2 test vectors: "abc", "" and a two-block message.
    EXPECT_EQ(hex(IdSet::key_of("abc")), "ba7816bf8f01cfea414140de5dae2223");
    EXPECT_EQ(hex(IdSet::key_of("")), "e3b0c44298fc1c149afbf4c8996fb924");
    EXPECT_EQ(hex(IdSet::key_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039");
    EXPECT_EQ(hex(IdSet::key_of(std::string(1000000, 'a'))), "cdc76e5c9914fb9281a1c7e284d73e67");
}

TEST(IdSet, PortableKeyIsTheSha256PrefixToo) {
    EXPECT_EQ(hex(IdSet::key_of_portable("abc")), "ba7816bf8f01cfea414140de5dae2223");
    EXPECT_EQ(hex(IdSet::key_of_portable("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039");
}

TEST(IdSet, AcceleratedAndPortableKeysAgree) {
    // Every length around the one- and two-block paddings, and random bytes.
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t len = 0; len < 300; ++len) {
        std::string id(len, '\0');
        for (char& c : id) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = char(x);
        }
        ASSERT_EQ(hex(IdSet::key_of(id)), hex(IdSet::key_of_portable(id))) << "length " << len;
    }
}

TEST(IdSet, CountsDistinctIds) {
    IdSet s = of({"ann", "bob", "ann", "carl", "bob"});
    EXPECT_EQ(s.count(), 3u);
    EXPECT_FALSE(s.estimated());
    EXPECT_EQ(IdSet().count(), 0u);
}

TEST(IdSet, MergeIsTheUnionInAnyOrder) {
    std::mt19937_64 rng(7);
    std::vector<std::string> ids;
    for (int i = 0; i < 5000; ++i) ids.push_back("user-" + std::to_string(rng() % 3000));
    std::set<std::string> distinct(ids.begin(), ids.end());
    // Parts of different sizes merged left to right and as a tree.
    std::vector<IdSet> parts;
    for (size_t i = 0; i < ids.size(); i += 137)
        parts.push_back(of(std::vector<std::string>(ids.begin() + long(i), ids.begin() + long(std::min(i + 137, ids.size())))));
    IdSet left;
    for (const auto& p : parts) left.merge(p);
    while (parts.size() > 1) {
        std::vector<IdSet> next;
        for (size_t i = 0; i + 1 < parts.size(); i += 2) {
            IdSet m = parts[i];
            m.merge(parts[i + 1]);
            next.push_back(m);
        }
        if (parts.size() % 2) next.push_back(parts.back());
        parts = next;
    }
    EXPECT_EQ(left.count(), distinct.size());
    std::string a, b;
    left.serialize(a);
    parts[0].serialize(b);
    EXPECT_EQ(a, b);
}

TEST(IdSet, SerializeRoundTripAndInvalidInput) {
    IdSet s = of({"x", "y", "z"});
    std::string bytes;
    s.serialize(bytes);
    ASSERT_EQ(bytes.size(), 1u + 3 * 16);
    auto back = IdSet::parse(bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->count(), 3u);
    std::string err;
    EXPECT_FALSE(IdSet::parse("", &err));
    EXPECT_FALSE(IdSet::parse(std::string(1, '\x02'), &err));
    EXPECT_FALSE(IdSet::parse(bytes.substr(0, bytes.size() - 1), &err));
    std::string swapped = bytes.substr(0, 1) + bytes.substr(17, 16) + bytes.substr(1, 16) + bytes.substr(33);
    EXPECT_FALSE(IdSet::parse(swapped, &err));
    EXPECT_EQ(err, "keys are not strictly increasing");
    std::string dup = bytes.substr(0, 17) + bytes.substr(1, 16);
    EXPECT_FALSE(IdSet::parse(dup, &err));
}

TEST(IdSet, BeyondTheCapTheCountIsAnEstimate) {
    // kMaxKeys + 200,000 distinct ids: the set keeps kMaxKeys keys and
    // estimates the count within 1 %; merging keeps the smallest keys.
    const size_t n = IdSet::kMaxKeys + 200000;
    std::vector<IdKey> keys;
    keys.reserve(n);
    for (size_t i = 0; i < n; ++i) keys.push_back(IdSet::key_of("session-" + std::to_string(i)));
    IdSet all;
    all.add_keys(std::vector<IdKey>(keys.begin(), keys.begin() + long(n / 2)));
    IdSet rest;
    rest.add_keys(std::vector<IdKey>(keys.begin() + long(n / 2), keys.end()));
    all.merge(rest);
    EXPECT_TRUE(all.estimated());
    EXPECT_EQ(all.size(), IdSet::kMaxKeys);
    EXPECT_NEAR(double(all.count()), double(n), 0.01 * double(n));
    IdSet direct;
    direct.add_keys(keys);
    std::string a, b;
    all.serialize(a);
    direct.serialize(b);
    EXPECT_EQ(a, b);
}
