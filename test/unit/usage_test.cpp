// Token rules: every source's usage counts normalized so that input_tokens
// counts ALL input tokens (cached reads and cache writes included) and
// output_tokens counts all output tokens (reasoning included).
#include "test_util.hpp"

#include <string>

namespace llmtrace::test {
namespace {

class UsageTest : public NormalizerTest {
protected:
    // A native span with the given provider (may be empty) and usage object.
    const core::Tokens& usage(const std::string& provider, const std::string& u) {
        std::string p = R"({"trace_id":"t","span_id":"s","start_time":1714564800,)";
        if (!provider.empty()) p += R"("provider":")" + provider + R"(",)";
        p += R"("usage":)" + u + "}";
        return one(p).tokens;
    }
    // The failure of a native span with this usage object.
    const core::Failure& bad_usage(const std::string& provider, const std::string& u) {
        std::string p = R"({"trace_id":"t","span_id":"s","start_time":1714564800,)";
        if (!provider.empty()) p += R"("provider":")" + provider + R"(",)";
        p += R"("usage":)" + u + "}";
        return fails(p);
    }
    // A native span whose usage no rule reconciles: stored, without token
    // counts, with the counts as sent and the reason in attributes.
    const core::Span& unreconciled(const std::string& provider, const std::string& u) {
        std::string p = R"({"trace_id":"t","span_id":"s","start_time":1714564800,)";
        if (!provider.empty()) p += R"("provider":")" + provider + R"(",)";
        p += R"("usage":)" + u + "}";
        const core::Span& s = one(p);
        EXPECT_TRUE(s.usage_unreconciled) << u;
        EXPECT_FALSE(s.tokens.any()) << u;
        EXPECT_NE(json(s.attributes).find("\"llmtrace.token_rule\":\"unreconciled"), std::string::npos)
            << json(s.attributes);
        return s;
    }
};

// ---------------------------------------------------------------------------
// OpenAI Chat Completions: prompt_tokens already includes
// prompt_tokens_details.cached_tokens; completion_tokens includes
// completion_tokens_details.reasoning_tokens. Nothing is added.
// ---------------------------------------------------------------------------
TEST_F(UsageTest, OpenAiChatCompletions) {
    const core::Tokens& t = usage("openai", R"({
        "prompt_tokens": 1000, "completion_tokens": 300, "total_tokens": 1300,
        "prompt_tokens_details": {"cached_tokens": 400, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 100}})");
    EXPECT_EQ(t.input, 1000);
    EXPECT_EQ(t.output, 300);
    EXPECT_EQ(t.cached_input, 400);
    EXPECT_EQ(t.reasoning, 100);
    EXPECT_EQ(t.total, 1300);
    EXPECT_FALSE(t.cache_write);
}

TEST_F(UsageTest, OpenAiTotalIsInputPlusOutputWhenNotSent) {
    const core::Tokens& t = usage("", R"({"prompt_tokens": 10, "completion_tokens": 5})");
    EXPECT_EQ(t.total, 15);  // 10 + 5
}

TEST_F(UsageTest, OpenAiCompatibleGatewayForAnthropicModels) {
    // The OpenAI shape wins: prompt_tokens (1200) already counts the 1000 cache
    // reads and the 100 cache writes the gateway adds.
    const core::Tokens& t = usage("openrouter", R"({
        "prompt_tokens": 1200, "completion_tokens": 50,
        "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 100})");
    EXPECT_EQ(t.input, 1200);
    EXPECT_EQ(t.cached_input, 1000);
    EXPECT_EQ(t.cache_write, 100);
    EXPECT_EQ(t.output, 50);
    EXPECT_EQ(t.total, 1250);
}

TEST_F(UsageTest, OpenAiCountsAsStringsAndIntegralDoublesAndNulls) {
    const core::Tokens& t =
        usage("openai", R"({"prompt_tokens": "1000", "completion_tokens": 5.0, "total_tokens": null})");
    EXPECT_EQ(t.input, 1000);
    EXPECT_EQ(t.output, 5);
    EXPECT_EQ(t.total, 1005);  // null is "not sent": computed
}

// ---------------------------------------------------------------------------
// OpenAI Responses API: input_tokens includes input_tokens_details.cached_tokens;
// output_tokens includes output_tokens_details.reasoning_tokens.
// ---------------------------------------------------------------------------
TEST_F(UsageTest, OpenAiResponses) {
    const core::Tokens& t = usage("openai", R"({
        "input_tokens": 1000, "input_tokens_details": {"cached_tokens": 400},
        "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 120},
        "total_tokens": 1300})");
    EXPECT_EQ(t.input, 1000);
    EXPECT_EQ(t.cached_input, 400);
    EXPECT_EQ(t.output, 300);
    EXPECT_EQ(t.reasoning, 120);
    EXPECT_EQ(t.total, 1300);
}

// ---------------------------------------------------------------------------
// Anthropic Messages: input_tokens EXCLUDES cache_read_input_tokens and
// cache_creation_input_tokens; all three are input, so they are added.
// ---------------------------------------------------------------------------
TEST_F(UsageTest, AnthropicCacheTokensAreAddedToInput) {
    const core::Tokens& t = usage("anthropic", R"({
        "input_tokens": 50, "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200, "output_tokens": 80})");
    EXPECT_EQ(t.input, 1250);  // 50 + 1000 + 200
    EXPECT_EQ(t.cached_input, 1000);
    EXPECT_EQ(t.cache_write, 200);
    EXPECT_EQ(t.output, 80);
    EXPECT_EQ(t.total, 1330);  // 1250 + 80
}

TEST_F(UsageTest, AnthropicRecognizedByItsCacheFieldsWithoutProvider) {
    const core::Tokens& t = usage("", R"({
        "input_tokens": 3, "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 2048, "output_tokens": 10})");
    EXPECT_EQ(t.input, 2051);  // 3 + 0 + 2048
    EXPECT_EQ(t.cached_input, 0);
    EXPECT_EQ(t.cache_write, 2048);
}

TEST_F(UsageTest, AnthropicOnlyCacheReads) {
    const core::Tokens& t = usage("Anthropic", R"({"cache_read_input_tokens": 100, "output_tokens": 1})");
    EXPECT_EQ(t.input, 100);  // 0 + 100
    EXPECT_EQ(t.cached_input, 100);
}

TEST_F(UsageTest, AnthropicWithoutCacheFields) {
    const core::Tokens& t = usage("anthropic.messages", R"({"input_tokens": 50, "output_tokens": 80})");
    EXPECT_EQ(t.input, 50);
    EXPECT_EQ(t.output, 80);
    EXPECT_FALSE(t.cached_input);
    EXPECT_FALSE(t.cache_write);
}

// ---------------------------------------------------------------------------
// Gemini usageMetadata: promptTokenCount includes cachedContentTokenCount;
// candidatesTokenCount EXCLUDES thoughtsTokenCount, which is output too.
// ---------------------------------------------------------------------------
TEST_F(UsageTest, GeminiThoughtsAreAddedToOutput) {
    const core::Tokens& t = usage("google", R"({
        "promptTokenCount": 2000, "cachedContentTokenCount": 500,
        "candidatesTokenCount": 300, "thoughtsTokenCount": 700, "totalTokenCount": 3000})");
    EXPECT_EQ(t.input, 2000);
    EXPECT_EQ(t.cached_input, 500);
    EXPECT_EQ(t.output, 1000);  // 300 + 700
    EXPECT_EQ(t.reasoning, 700);
    EXPECT_EQ(t.total, 3000);
}

TEST_F(UsageTest, GeminiWithoutThoughts) {
    const core::Tokens& t = usage("", R"({"promptTokenCount": 10, "candidatesTokenCount": 5})");
    EXPECT_EQ(t.input, 10);
    EXPECT_EQ(t.output, 5);
    EXPECT_FALSE(t.reasoning);
    EXPECT_EQ(t.total, 15);
}

TEST_F(UsageTest, GeminiOnlyThoughts) {
    const core::Tokens& t = usage("", R"({"promptTokenCount": 10, "thoughtsTokenCount": 7})");
    EXPECT_EQ(t.output, 7);  // 0 candidates + 7 thoughts
    EXPECT_EQ(t.reasoning, 7);
}

// ---------------------------------------------------------------------------
// Counts no rule reconciles (cached + cache writes above the input, reasoning
// above the output, and no total that explains them) never cost the span: it
// is stored with its timing and status, the counts as sent in
// attributes["llmtrace.raw_usage"], no token columns and no cost.
// ---------------------------------------------------------------------------
TEST_F(UsageTest, CachedPlusWriteAboveInputIsUnreconciled) {
    {
        // 80 + 30 = 110 > 100
        const core::Span& s = unreconciled("", R"({
            "prompt_tokens": 100, "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 80}, "cache_creation_input_tokens": 30})");
        const std::string a = json(s.attributes);
        EXPECT_NE(a.find(R"("llmtrace.raw_usage":{"input":100,"output":1,"cached_input":80,"cache_write":30})"),
                  std::string::npos) << a;
        EXPECT_NE(a.find("cached and cache-write input tokens exceed the input tokens"), std::string::npos) << a;
    }
    unreconciled("openai", R"({"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 150}})");
    unreconciled("google", R"({"promptTokenCount": 500, "cachedContentTokenCount": 600})");
    unreconciled("openai", R"({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 11}, "output_tokens": 1})");
    // Exactly equal is fine: all input was cached.
    const core::Tokens& t =
        usage("openai", R"({"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 100}})");
    EXPECT_EQ(t.cached_input, 100);
}

TEST_F(UsageTest, CachedWithoutInputIsUnreconciled) {
    unreconciled("openai", R"({"input_tokens_details": {"cached_tokens": 5}, "output_tokens": 1})");
}

TEST_F(UsageTest, ReasoningAboveOutputIsUnreconciled) {
    const core::Span& s = unreconciled("openai", R"({
        "prompt_tokens": 1, "completion_tokens": 10,
        "completion_tokens_details": {"reasoning_tokens": 20}})");
    EXPECT_NE(json(s.attributes).find("reasoning tokens exceed the output tokens"), std::string::npos);
}

// Exclusive counts under inclusive names: the total tells.
TEST_F(UsageTest, TotalRevealsExclusiveCounts) {
    // Gemini behind an OpenAI-compatible endpoint: completion_tokens leaves the
    // reasoning out; 10 + 50 + 20 = 80.
    {
        const core::Span& s = one(R"({"trace_id":"t","span_id":"s","start_time":1714564800,"provider":"google",
            "usage":{"prompt_tokens":10,"completion_tokens":50,"total_tokens":80,
                     "completion_tokens_details":{"reasoning_tokens":20}}})");
        EXPECT_EQ(s.tokens.input, 10);
        EXPECT_EQ(s.tokens.output, 70);
        EXPECT_EQ(s.tokens.reasoning, 20);
        EXPECT_EQ(s.tokens.total, 80);
        EXPECT_NE(json(s.attributes).find(R"("llmtrace.token_rule":"total: output excluded reasoning")"),
                  std::string::npos) << json(s.attributes);
    }
    // Reasoning above the output is reconciled by the total too.
    {
        const core::Tokens& t = usage("google", R"({"prompt_tokens":10,"completion_tokens":5,"total_tokens":115,
            "completion_tokens_details":{"reasoning_tokens":100}})");
        EXPECT_EQ(t.output, 105);
    }
    // A total that matches input + output is the inclusive reading: nothing changes.
    {
        const core::Tokens& t = usage("openai", R"({"prompt_tokens":10,"completion_tokens":50,"total_tokens":60,
            "completion_tokens_details":{"reasoning_tokens":20}})");
        EXPECT_EQ(t.output, 50);
    }
}

// Amazon Bedrock Converse usage: inputTokens excludes the cache.
TEST_F(UsageTest, BedrockConverse) {
    const core::Span& s = one(R"({"trace_id":"t","span_id":"s","start_time":1714564800,"provider":"bedrock",
        "usage":{"inputTokens":4299,"outputTokens":631,"totalTokens":58291,
                 "cacheReadInputTokens":35574,"cacheWriteInputTokens":17787}})");
    EXPECT_EQ(s.tokens.input, 4299 + 35574 + 17787);
    EXPECT_EQ(s.tokens.cached_input, 35574);
    EXPECT_EQ(s.tokens.cache_write, 17787);
    EXPECT_EQ(s.tokens.output, 631);
    EXPECT_EQ(s.tokens.total, 58291);
    EXPECT_NE(json(s.attributes).find("bedrock converse"), std::string::npos);
}

// A usage object of token counts no rule knows is visible, not no_usage.
TEST_F(UsageTest, UnknownUsageShapeIsVisible) {
    const core::Span& s = unreconciled("", R"({"tokens_in": 10, "tokens_out": 5})");
    EXPECT_NE(json(s.attributes).find("matches no known shape"), std::string::npos);
    // Without anything that looks like a token count it is simply no usage.
    const core::Span& n2 = one(R"({"trace_id":"t","span_id":"s","start_time":1714564800,"usage":{"requests":1}})");
    EXPECT_FALSE(n2.usage_unreconciled);
    EXPECT_FALSE(n2.tokens.any());
}

TEST_F(UsageTest, DetailsMustBeObjects) {
    const core::Failure& f = bad_usage("", R"({"prompt_tokens": 1, "prompt_tokens_details": 5})");
    EXPECT_STREQ(f.sqlstate, "22023");
    EXPECT_EQ(f.message, "usage.prompt_tokens_details must be an object");
}

TEST_F(UsageTest, UsageIsKeptWholeInAttributes) {
    const core::Span& s = one(
        R"({"trace_id":"t","span_id":"s","start_time":1,
            "usage":{"prompt_tokens":1,"completion_tokens":2,"server_tool_use":{"web_search_requests":1}}})");
    EXPECT_EQ(json(s.attributes),
              R"({"usage":{"prompt_tokens":1,"completion_tokens":2,"server_tool_use":{"web_search_requests":1}}})");
}

// ---------------------------------------------------------------------------
// The other sources: Braintrust metrics and Vercel metadata.tokens count
// cached tokens inside the input; so do all OTLP vocabularies.
// ---------------------------------------------------------------------------
TEST_F(UsageTest, BraintrustMetrics) {
    const core::Tokens& t = one(R"({"span_id":"s","root_span_id":"r","metrics":{
        "start":1714564800,"prompt_tokens":1000,"completion_tokens":50,
        "prompt_cached_tokens":300,"prompt_cache_creation_tokens":200,
        "completion_reasoning_tokens":10}})").tokens;
    EXPECT_EQ(t.input, 1000);
    EXPECT_EQ(t.cached_input, 300);
    EXPECT_EQ(t.cache_write, 200);
    EXPECT_EQ(t.output, 50);
    EXPECT_EQ(t.reasoning, 10);
    EXPECT_EQ(t.total, 1050);
}

TEST_F(UsageTest, VercelTokenSpellings) {
    {
        const core::Tokens& t = one(R"({"id":"v","timestamp":1714564800000,"metadata":{"tokens":{
            "inputTokens":100,"outputTokens":20,"cachedInputTokens":30,"reasoningTokens":5,
            "totalTokens":120}}})").tokens;
        EXPECT_EQ(t.input, 100);
        EXPECT_EQ(t.output, 20);
        EXPECT_EQ(t.cached_input, 30);
        EXPECT_EQ(t.reasoning, 5);
        EXPECT_EQ(t.total, 120);
    }
    {
        const core::Tokens& t = one(R"({"id":"v","timestamp":1714564800000,"metadata":{"tokens":{
            "prompt":7,"completion":3,"cacheWrite":2}}})").tokens;
        EXPECT_EQ(t.input, 7);
        EXPECT_EQ(t.output, 3);
        EXPECT_EQ(t.cache_write, 2);
        EXPECT_EQ(t.total, 10);
    }
}

TEST_F(UsageTest, OtlpInputIncludesCacheReadsAndWrites) {
    const core::Tokens& t = one(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
        "startTimeUnixNano":"1544712660000000000","attributes":[
          {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},
          {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"300"}},
          {"key":"gen_ai.usage.cache_creation.input_tokens","value":{"intValue":"100"}},
          {"key":"gen_ai.usage.output_tokens","value":{"intValue":"40"}},
          {"key":"gen_ai.usage.reasoning.output_tokens","value":{"intValue":"15"}}]}]}]}]})").tokens;
    EXPECT_EQ(t.input, 1000);
    EXPECT_EQ(t.cached_input, 300);
    EXPECT_EQ(t.cache_write, 100);
    EXPECT_EQ(t.output, 40);
    EXPECT_EQ(t.reasoning, 15);
    EXPECT_EQ(t.total, 1040);

    // Cache reads above the input and no total: kept, unreconciled.
    const core::Span& u = one(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
        "startTimeUnixNano":"1544712660000000000","attributes":[
          {"key":"gen_ai.usage.input_tokens","value":{"intValue":"100"}},
          {"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"200"}}]}]}]}]})");
    EXPECT_TRUE(u.usage_unreconciled);
    EXPECT_FALSE(u.tokens.any());
}

// Strands Agents puts Bedrock's inputTokens (cache excluded) under
// gen_ai.usage.input_tokens; its total proves it: 58291 = 4299 + 631 + 35574 + 17787.
TEST_F(UsageTest, OtlpExclusiveInputRevealedByTheTotal) {
    const core::Span& s = one(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat",
        "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
        "status":{"code":1},"attributes":[
          {"key":"gen_ai.request.model","value":{"stringValue":"us.anthropic.claude-sonnet-4-5-20250929-v1:0"}},
          {"key":"gen_ai.usage.input_tokens","value":{"intValue":"4299"}},
          {"key":"gen_ai.usage.output_tokens","value":{"intValue":"631"}},
          {"key":"gen_ai.usage.total_tokens","value":{"intValue":"58291"}},
          {"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"35574"}},
          {"key":"gen_ai.usage.cache_write_input_tokens","value":{"intValue":"17787"}}]}]}]}]})");
    EXPECT_EQ(s.tokens.input, 57660);
    EXPECT_EQ(s.tokens.cached_input, 35574);
    EXPECT_EQ(s.tokens.cache_write, 17787);
    EXPECT_EQ(s.tokens.output, 631);
    EXPECT_EQ(s.tokens.total, 58291);
    EXPECT_EQ(s.status, core::SpanStatus::Ok);
    const std::string a = json(s.attributes);
    EXPECT_NE(a.find(R"("llmtrace.token_rule":"total: input excluded cache reads and writes")"), std::string::npos) << a;
    EXPECT_NE(a.find(R"("llmtrace.raw_usage":{"input":4299,"output":631,"cached_input":35574,"cache_write":17787,"total":58291})"),
              std::string::npos) << a;
}

}  // namespace
}  // namespace llmtrace::test
