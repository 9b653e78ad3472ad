// The price engine: price rows, model-name resolution and exact fixed-point cost.
// Pure C++: no PostgreSQL header.
//
// Prices are held as integers in units of 1e-12 USD per million tokens (the
// price table allows at most 12 decimal places), so tokens x price is an exact
// integer count of 1e-18 USD. Costs are rendered as decimal text for numeric.
#pragma once

#include "core/span.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmtrace::core {

using PriceUnits = int64_t;  // 1e-12 USD per million tokens

struct PriceRow {
    std::string provider;  // normalized; empty: any provider
    std::string model;     // lower-cased
    bool prefix = false;
    PriceUnits input = 0;
    std::optional<PriceUnits> output, cached_input, cache_write;
    std::optional<int64_t> tier_threshold;  // tier applies when input tokens exceed it
    PriceUnits tier_input = 0;
    std::optional<PriceUnits> tier_output, tier_cached_input, tier_cache_write;
    int64_t valid_from_us = std::numeric_limits<int64_t>::min();  // -infinity
    // False when a price of the row could not be read (not a plain decimal with
    // at most 12 decimals below 1,000,000): spans it would price get
    // cost_status 'invalid_price' and no cost; other models are unaffected.
    bool usable = true;
};

// Parses a non-negative decimal ("2.5", "0.000125", "3e-1" is rejected) into
// price units; nullopt when malformed, negative or more than 12 decimals.
std::optional<PriceUnits> parse_price(std::string_view text);

// Renders an amount of 1e-18 USD as decimal text, trailing zeros trimmed.
std::string attousd_to_text(__int128 attousd);

// Cost of one call in 1e-18 USD. Input tokens count ALL input tokens (cached
// and cache writes included). Throws InputError if the parts are inconsistent
// or a count is negative or above kMaxTokens.
__int128 compute_cost(const PriceRow& p, int64_t input, int64_t output, int64_t cached_input,
                      int64_t cache_write);

// Lower-cased, alias-mapped provider name: "gcp.gemini" -> "google",
// "aws.bedrock" -> "bedrock", "openai.chat" (AI SDK) -> "openai", ...
std::string normalize_provider(std::string_view raw);

// The names a model is looked up under, in order (see README "Price resolution").
std::vector<std::string> model_name_candidates(std::string_view model);

class PriceTable {
public:
    void clear();
    void add(PriceRow row);
    size_t size() const { return rows_.size(); }

    // The price in force at `at_us` for (provider, model), or nullptr.
    // provider must be normalized (normalize_provider) or empty.
    const PriceRow* lookup(std::string_view provider, std::string_view model, int64_t at_us);

private:
    struct Group {  // rows sharing provider, model and match, newest valid_from first
        std::vector<size_t> rows;
    };
    void build();
    const std::vector<size_t>& resolve(std::string_view provider, std::string_view model);
    std::vector<size_t> compute_groups(std::string_view provider, std::string_view model);

    static constexpr size_t kMemoEntries = 20000;
    static constexpr size_t kMemoBytes = 4 * 1024 * 1024;
    static constexpr size_t kMemoKeyBytes = 1024;

    std::vector<PriceRow> rows_;
    bool built_ = false;
    std::unordered_map<std::string, std::vector<size_t>> groups_by_model_;  // exact: model -> groups
    std::vector<size_t> prefix_groups_;                                      // longest prefix first
    std::vector<Group> groups_;
    std::unordered_map<std::string, std::vector<size_t>> memo_;  // provider\0model -> groups
    size_t memo_bytes_ = 0;
    std::vector<size_t> scratch_;  // groups of a name too long to memoize
};

// Sets span.cost_status and span.cost_text from the reported cost, the tokens
// and the price table (cost rules of SPEC §3).
void price_span(Span& span, PriceTable& prices);

}  // namespace llmtrace::core
