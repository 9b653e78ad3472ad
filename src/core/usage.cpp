// Provider usage objects -> normalized token counts. The rules (README, "Token
// rules"): input_tokens counts ALL input tokens, cached reads and cache writes
// included; output_tokens counts all output tokens, reasoning included.
#include "core/normalizer.hpp"

namespace llmtrace::core::detail {

namespace {

bool has(object o, std::string_view key) { return get(o, key).has_value(); }

std::optional<int64_t> nested_tokens(object o, std::string_view obj_key, std::string_view key,
                                     std::string_view prefix) {
    object inner;
    auto v = get(o, obj_key);
    if (!v) return std::nullopt;
    if (v->get_object().get(inner))
        fail(sqlstate::kInvalidParameter,
             std::string(prefix) + std::string(obj_key) + " must be an object");
    return token_field(inner, key, std::string(prefix) + std::string(obj_key) + ".");
}

// Usage objects whose input count EXCLUDES cache reads and writes (Anthropic
// Messages, Amazon Bedrock Converse): all three are input. Returns `rule`
// when the cache made a difference, nullptr otherwise.
struct ExclusiveKeys {
    std::string_view input, cache_read, cache_write, output, total;
};
const char* read_exclusive_cache(object u, const ExclusiveKeys& k, const char* rule, Tokens& t) {
    const std::string_view p = "usage.";
    auto in = token_field(u, k.input, p);
    auto cr = token_field(u, k.cache_read, p);
    auto cw = token_field(u, k.cache_write, p);
    if (in || cr || cw) t.input = in.value_or(0) + cr.value_or(0) + cw.value_or(0);
    t.cached_input = cr;
    t.cache_write = cw;
    t.output = token_field(u, k.output, p);
    t.total = token_field(u, k.total, p);
    return cr.value_or(0) + cw.value_or(0) > 0 ? rule : nullptr;
}

// A member that looks like a token count: an integer under a key that says "token".
bool has_token_like_member(object u) {
    for (auto kv : u) {
        std::string_view k = kv.key;
        bool tokenish = k.find("token") != std::string_view::npos || k.find("Token") != std::string_view::npos;
        if (tokenish && (kv.value.type() == simdjson::dom::element_type::INT64 ||
                         kv.value.type() == simdjson::dom::element_type::UINT64))
            return true;
    }
    return false;
}

}  // namespace

const char* read_usage_object(object u, Span& s) {
    Tokens& t = s.tokens;
    const Str provider = s.provider;
    const std::string_view p = "usage.";
    if (has(u, "prompt_tokens") || has(u, "completion_tokens")) {
        // OpenAI Chat Completions (and every OpenAI-compatible API): prompt_tokens
        // already includes prompt_tokens_details.cached_tokens; completion_tokens
        // includes completion_tokens_details.reasoning_tokens (an API that leaves
        // the reasoning out, Gemini's, is recognized by the total: finish_tokens).
        t.input = token_field(u, "prompt_tokens", p);
        t.output = token_field(u, "completion_tokens", p);
        t.cached_input = nested_tokens(u, "prompt_tokens_details", "cached_tokens", p);
        t.reasoning = nested_tokens(u, "completion_tokens_details", "reasoning_tokens", p);
        t.total = token_field(u, "total_tokens", p);
        // Some OpenAI-compatible gateways for Anthropic models add these.
        if (auto cr = token_field(u, "cache_read_input_tokens", p); cr && !t.cached_input)
            t.cached_input = cr;
        t.cache_write = token_field(u, "cache_creation_input_tokens", p);
        return nullptr;
    }
    if (has(u, "promptTokenCount") || has(u, "candidatesTokenCount")) {
        // Gemini usageMetadata: promptTokenCount includes cachedContentTokenCount;
        // candidatesTokenCount excludes thoughtsTokenCount, which is output too.
        // toolUsePromptTokenCount (tool results fed back) is input too.
        auto prompt = token_field(u, "promptTokenCount", p);
        auto tool_use = token_field(u, "toolUsePromptTokenCount", p);
        if (prompt || tool_use) t.input = prompt.value_or(0) + tool_use.value_or(0);
        auto cand = token_field(u, "candidatesTokenCount", p);
        t.reasoning = token_field(u, "thoughtsTokenCount", p);
        if (cand || t.reasoning) t.output = cand.value_or(0) + t.reasoning.value_or(0);
        t.cached_input = token_field(u, "cachedContentTokenCount", p);
        t.total = token_field(u, "totalTokenCount", p);
        return t.reasoning.value_or(0) > 0 ? "gemini: output = candidatesTokenCount + thoughtsTokenCount"
                                           : nullptr;
    }
    if (has(u, "inputTokens") || has(u, "outputTokens") || has(u, "cacheReadInputTokens") ||
        has(u, "cacheWriteInputTokens")) {
        // Amazon Bedrock Converse: inputTokens EXCLUDES cacheReadInputTokens and
        // cacheWriteInputTokens; totalTokens counts all of them.
        return read_exclusive_cache(
            u, {"inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens", "outputTokens", "totalTokens"},
            "bedrock converse: input = inputTokens + cacheReadInputTokens + cacheWriteInputTokens", t);
    }
    const bool anthropic = has(u, "cache_read_input_tokens") ||
                           has(u, "cache_creation_input_tokens") ||
                           (present(provider) && (provider == "anthropic"));
    if (anthropic) {
        // Anthropic Messages: input_tokens EXCLUDES cache_read_input_tokens and
        // cache_creation_input_tokens; all three are input.
        return read_exclusive_cache(
            u, {"input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens", "total_tokens"},
            "anthropic: input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens", t);
    }
    // OpenAI Responses API: input_tokens includes input_tokens_details.cached_tokens;
    // output_tokens includes output_tokens_details.reasoning_tokens.
    t.input = token_field(u, "input_tokens", p);
    t.output = token_field(u, "output_tokens", p);
    t.cached_input = nested_tokens(u, "input_tokens_details", "cached_tokens", p);
    t.reasoning = nested_tokens(u, "output_tokens_details", "reasoning_tokens", p);
    t.total = token_field(u, "total_tokens", p);
    if (!t.any() && has_token_like_member(u)) {
        // Token counts under names no rule knows: visible as unreconciled, not no_usage.
        s.usage_unreconciled = true;
        return "unreconciled: the usage object matches no known shape";
    }
    return nullptr;
}

}  // namespace llmtrace::core::detail
