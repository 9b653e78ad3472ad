// Provider usage objects -> normalized token counts. The rules (README, "Token
// rules"): input_tokens counts ALL input tokens, cached reads and cache writes
// included; output_tokens counts all output tokens, reasoning included.
#include "core/normalizer.hpp"

namespace llmtrace::core::detail {

namespace {

bool has(object o, std::string_view key) {
    element v;
    return lookup(o, key, v) && !v.is_null();
}

std::optional<int64_t> nested_tokens(object o, std::string_view obj_key, std::string_view key,
                                     std::string_view prefix) {
    element v;
    object inner;
    if (!lookup(o, obj_key, v) || v.is_null()) return std::nullopt;
    if (v.get_object().get(inner))
        fail(sqlstate::kInvalidParameter,
             std::string(prefix) + std::string(obj_key) + " must be an object");
    return token_field(inner, key, std::string(prefix) + std::string(obj_key) + ".");
}

}  // namespace

void read_usage_object(object u, Str provider, Tokens& t) {
    const std::string_view p = "usage.";
    if (has(u, "prompt_tokens") || has(u, "completion_tokens")) {
        // OpenAI Chat Completions (and every OpenAI-compatible API): prompt_tokens
        // already includes prompt_tokens_details.cached_tokens; completion_tokens
        // includes completion_tokens_details.reasoning_tokens.
        t.input = token_field(u, "prompt_tokens", p);
        t.output = token_field(u, "completion_tokens", p);
        t.cached_input = nested_tokens(u, "prompt_tokens_details", "cached_tokens", p);
        t.reasoning = nested_tokens(u, "completion_tokens_details", "reasoning_tokens", p);
        t.total = token_field(u, "total_tokens", p);
        // Some OpenAI-compatible gateways for Anthropic models add these.
        if (auto cr = token_field(u, "cache_read_input_tokens", p); cr && !t.cached_input)
            t.cached_input = cr;
        t.cache_write = token_field(u, "cache_creation_input_tokens", p);
        return;
    }
    if (has(u, "promptTokenCount") || has(u, "candidatesTokenCount")) {
        // Gemini usageMetadata: promptTokenCount includes cachedContentTokenCount;
        // candidatesTokenCount excludes thoughtsTokenCount, which is output too.
        t.input = token_field(u, "promptTokenCount", p);
        auto cand = token_field(u, "candidatesTokenCount", p);
        t.reasoning = token_field(u, "thoughtsTokenCount", p);
        if (cand || t.reasoning) t.output = cand.value_or(0) + t.reasoning.value_or(0);
        t.cached_input = token_field(u, "cachedContentTokenCount", p);
        t.total = token_field(u, "totalTokenCount", p);
        return;
    }
    const bool anthropic = has(u, "cache_read_input_tokens") ||
                           has(u, "cache_creation_input_tokens") ||
                           (present(provider) && (provider == "anthropic"));
    if (anthropic) {
        // Anthropic Messages: input_tokens EXCLUDES cache_read_input_tokens and
        // cache_creation_input_tokens; all three are input.
        auto in = token_field(u, "input_tokens", p);
        auto cr = token_field(u, "cache_read_input_tokens", p);
        auto cw = token_field(u, "cache_creation_input_tokens", p);
        if (in || cr || cw) t.input = in.value_or(0) + cr.value_or(0) + cw.value_or(0);
        t.cached_input = cr;
        t.cache_write = cw;
        t.output = token_field(u, "output_tokens", p);
        t.total = token_field(u, "total_tokens", p);
        return;
    }
    // OpenAI Responses API: input_tokens includes input_tokens_details.cached_tokens;
    // output_tokens includes output_tokens_details.reasoning_tokens.
    t.input = token_field(u, "input_tokens", p);
    t.output = token_field(u, "output_tokens", p);
    t.cached_input = nested_tokens(u, "input_tokens_details", "cached_tokens", p);
    t.reasoning = nested_tokens(u, "output_tokens_details", "reasoning_tokens", p);
    t.total = token_field(u, "total_tokens", p);
}

}  // namespace llmtrace::core::detail
