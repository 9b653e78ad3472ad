// Payload -> spans: the four formats, OTLP details, array payloads, and the
// failure (SQLSTATE, location) reported for every kind of bad input.
//
// Epoch values used below, counted by hand:
//   2024-01-01T00:00:00Z: 54 years after 1970 with 13 leap days (1972..2020)
//                         = (54*365 + 13) days = 19723 days = 1704067200 s
//   2024-05-01T00:00:00Z: + Jan 31 + Feb 29 + Mar 31 + Apr 30 = +121 days
//                         = 19844 days = 1714521600 s; 12:00 -> 1714564800 s
//   1544712660 s = 2018-12-13T14:51:00Z (the OpenTelemetry proto example)
#include "test_util.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace llmtrace::test {
namespace {

using core::CostStatus;
using core::SourceFormat;
using core::SpanStatus;

constexpr int64_t k20240501Noon = 1714564800;  // 2024-05-01T12:00:00Z in seconds
constexpr int64_t kOtlpExample = 1544712660;    // 2018-12-13T14:51:00Z in seconds

// ===========================================================================
// native
// ===========================================================================

TEST_F(NormalizerTest, NativeMapsEveryColumnAndKeepsTheRest) {
    const core::Span& s = one(R"J({
      "trace_id": "tr-1", "span_id": "sp-1", "parent_span_id": "sp-0",
      "name": "chat gpt-4o", "kind": "client", "operation": "chat",
      "start_time": "2024-05-01T12:00:00Z", "end_time": "2024-05-01T12:00:01.5Z",
      "status": "ok", "service": "api", "project": "proj", "environment": "prod",
      "endpoint": "/v1/chat", "feature": "summarize", "user_id": "u1", "session_id": "sess1",
      "provider": "OpenAI", "model": "gpt-4o",
      "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                "prompt_tokens_details": {"cached_tokens": 40}},
      "input": [{"role": "user", "content": "hi"}],
      "output": {"role": "assistant", "content": "hello"},
      "metadata": {"k": "v"}, "custom": 42})J");
    EXPECT_EQ(s.format, SourceFormat::Native);
    EXPECT_EQ(str(s.trace_id), "tr-1");
    EXPECT_EQ(str(s.span_id), "sp-1");
    EXPECT_EQ(str(s.parent_span_id), "sp-0");
    EXPECT_EQ(str(s.name), "chat gpt-4o");
    EXPECT_EQ(str(s.kind), "client");
    EXPECT_EQ(str(s.operation), "chat");
    EXPECT_EQ(s.start_us, us(k20240501Noon));
    ASSERT_TRUE(s.end_us);
    EXPECT_EQ(*s.end_us, us(k20240501Noon) + 1500000);  // +1.5 s
    ASSERT_TRUE(s.duration_ms);
    EXPECT_DOUBLE_EQ(*s.duration_ms, 1500.0);
    EXPECT_EQ(s.status, SpanStatus::Ok);
    EXPECT_EQ(str(s.error_message), "<null>");
    EXPECT_EQ(str(s.service), "api");
    EXPECT_EQ(str(s.project), "proj");
    EXPECT_EQ(str(s.environment), "prod");
    EXPECT_EQ(str(s.endpoint), "/v1/chat");
    EXPECT_EQ(str(s.feature), "summarize");
    EXPECT_EQ(str(s.user_id), "u1");
    EXPECT_EQ(str(s.session_id), "sess1");
    EXPECT_EQ(str(s.provider), "openai");  // lower-cased
    EXPECT_EQ(str(s.model), "gpt-4o");     // as sent
    // OpenAI: prompt_tokens already includes the 40 cached tokens.
    EXPECT_EQ(s.tokens.input, 100);
    EXPECT_EQ(s.tokens.output, 20);
    EXPECT_EQ(s.tokens.cached_input, 40);
    EXPECT_EQ(s.tokens.total, 120);
    EXPECT_FALSE(s.tokens.cache_write);
    EXPECT_FALSE(s.tokens.reasoning);
    EXPECT_FALSE(s.reported_cost);
    EXPECT_EQ(json(s.input), R"([{"role":"user","content":"hi"}])");
    EXPECT_EQ(json(s.output), R"({"role":"assistant","content":"hello"})");
    // usage is kept whole (not every key of it maps to a column); unmapped
    // fields keep their names and payload order.
    EXPECT_EQ(json(s.attributes),
              R"({"usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,)"
              R"("prompt_tokens_details":{"cached_tokens":40}},"metadata":{"k":"v"},"custom":42})");
}

TEST_F(NormalizerTest, NativeMinimalSpanHasNullColumnsAndEmptyAttributes) {
    const core::Span& s = one(R"({"trace_id":"t","span_id":"s","start_time":"2024-01-01T00:00:00Z"})");
    EXPECT_EQ(s.start_us, us(1704067200));
    EXPECT_FALSE(s.end_us);
    EXPECT_FALSE(s.duration_ms);
    EXPECT_EQ(s.status, SpanStatus::Unset);
    EXPECT_EQ(str(s.parent_span_id), "<null>");
    EXPECT_EQ(str(s.model), "<null>");
    EXPECT_FALSE(s.tokens.any());
    EXPECT_EQ(json(s.input), "<null>");
    EXPECT_EQ(json(s.output), "<null>");
    EXPECT_EQ(json(s.attributes), "{}");
}

TEST_F(NormalizerTest, NativeEpochMillisecondsAndDuration) {
    // 1714564800000 is >= 1e11, so it is read as milliseconds.
    const core::Span& s =
        one(R"({"trace_id":"t","span_id":"s","start_time":1714564800000,"duration_ms":250})");
    EXPECT_EQ(s.start_us, us(k20240501Noon));
    EXPECT_EQ(s.end_us, us(k20240501Noon) + 250000);
    EXPECT_DOUBLE_EQ(*s.duration_ms, 250.0);
}

TEST_F(NormalizerTest, NativeStartDerivedFromEndAndDuration) {
    // start = end - 1000 ms = 12:00:00.
    const core::Span& s = one(
        R"({"trace_id":"t","span_id":"s","end_time":"2024-05-01T12:00:01Z","duration_ms":1000})");
    EXPECT_EQ(s.start_us, us(k20240501Noon));
    EXPECT_EQ(s.end_us, us(k20240501Noon + 1));
    EXPECT_DOUBLE_EQ(*s.duration_ms, 1000.0);
}

TEST_F(NormalizerTest, NativeErrorForms) {
    const std::string base = R"("trace_id":"t","span_id":"s","start_time":1714564800,)";
    {
        const core::Span& s = one("{" + base + R"("error":"boom"})");
        EXPECT_EQ(s.status, SpanStatus::Error);
        EXPECT_EQ(str(s.error_message), "boom");
        EXPECT_EQ(json(s.attributes), "{}");
    }
    {
        // An object gives its message and is kept whole in attributes.
        const core::Span& s = one("{" + base + R"("error":{"message":"rate limited","code":429}})");
        EXPECT_EQ(s.status, SpanStatus::Error);
        EXPECT_EQ(str(s.error_message), "rate limited");
        EXPECT_EQ(json(s.attributes), R"({"error":{"message":"rate limited","code":429}})");
    }
    {
        const core::Span& s = one("{" + base + R"("error":true})");
        EXPECT_EQ(s.status, SpanStatus::Error);
        EXPECT_EQ(str(s.error_message), "<null>");
    }
    {
        const core::Span& s = one("{" + base + R"("status":"ok","error":false})");
        EXPECT_EQ(s.status, SpanStatus::Ok);
    }
    {
        const core::Span& s = one("{" + base + R"("status":"ERROR"})");
        EXPECT_EQ(s.status, SpanStatus::Error);
    }
    {
        // "error": null or false says the call succeeded (when no status is sent).
        EXPECT_EQ(one("{" + base + R"("error":null})").status, SpanStatus::Ok);
        EXPECT_EQ(one("{" + base + R"("error":false})").status, SpanStatus::Ok);
        EXPECT_EQ(one("{" + base + R"("status":"unset","error":false})").status, SpanStatus::Unset);
    }
}

TEST_F(NormalizerTest, NativeReportedCostWinsOverPrices) {
    const core::Span& s0 = one(
        R"({"trace_id":"t","span_id":"s","start_time":1714564800,"model":"gpt-4o",
            "usage":{"prompt_tokens":10,"completion_tokens":1},"cost_usd":"0.0123"})");
    core::Span s = s0;
    ASSERT_TRUE(s.reported_cost);
    EXPECT_DOUBLE_EQ(*s.reported_cost, 0.0123);
    core::PriceTable prices;
    core::PriceRow row;
    row.model = "gpt-4o";
    row.input = *core::parse_price("2.5");
    prices.add(row);
    core::price_span(s, prices);
    EXPECT_EQ(s.cost_status, CostStatus::Reported);
    EXPECT_EQ(s.cost_text, "0.0123");
}

TEST_F(NormalizerTest, NativeIdsMayBeNumbersAndEmptyParentIsNull) {
    const core::Span& s =
        one(R"({"trace_id":123,"span_id":"s","parent_span_id":"","start_time":1714564800})");
    EXPECT_EQ(str(s.trace_id), "123");
    EXPECT_EQ(str(s.parent_span_id), "<null>");
}

TEST_F(NormalizerTest, ContentCarriedAsJsonTextIsStoredAsJson) {
    const core::Span& s = one(
        R"({"trace_id":"t","span_id":"s","start_time":1714564800,
            "input":"[{\"role\":\"user\",\"content\":\"hi\"}]","output":"plain text"})");
    EXPECT_EQ(json(s.input), R"([{"role":"user","content":"hi"}])");
    EXPECT_EQ(json(s.output), R"("plain text")");
}

TEST_F(NormalizerTest, ContentModeNoneDropsInputAndOutput) {
    n.options().content = core::ContentMode::None;
    const core::Span& s = one(
        R"({"trace_id":"t","span_id":"s","start_time":1714564800,"input":"q","output":{"a":1}})");
    EXPECT_EQ(json(s.input), "<null>");
    EXPECT_EQ(json(s.output), "<null>");
    EXPECT_EQ(json(s.attributes), "{}");  // content is not moved into attributes either
}

// ===========================================================================
// Braintrust
// ===========================================================================

TEST_F(NormalizerTest, BraintrustSpanEvent) {
    const core::Span& s = one(R"J({
      "id": "row-1", "span_id": "bt-span", "root_span_id": "bt-root", "span_parents": ["bt-parent"],
      "span_attributes": {"name": "Chat Completion", "type": "llm", "purpose": "scorer"},
      "metrics": {"start": 1714564800.25, "end": 1714564801.75, "prompt_tokens": 500,
                  "completion_tokens": 80, "tokens": 580, "prompt_cached_tokens": 100,
                  "time_to_first_token": 0.3},
      "metadata": {"model": "claude-sonnet-4-5", "provider": "Anthropic", "user_id": "u9",
                   "temperature": 0.2},
      "input": [{"role": "user", "content": "q"}], "output": "answer",
      "project_id": "p-123", "_xact_id": "100"})J");
    EXPECT_EQ(s.format, SourceFormat::Braintrust);
    EXPECT_EQ(str(s.span_id), "bt-span");
    EXPECT_EQ(str(s.trace_id), "bt-root");
    EXPECT_EQ(str(s.parent_span_id), "bt-parent");
    EXPECT_EQ(str(s.name), "Chat Completion");
    EXPECT_EQ(str(s.kind), "llm");
    EXPECT_EQ(str(s.operation), "chat");  // type llm -> chat
    // Epoch seconds with a fraction: 1714564800.25 s -> ...800250000 us.
    EXPECT_EQ(s.start_us, us(k20240501Noon) + 250000);
    EXPECT_EQ(s.end_us, us(k20240501Noon) + 1750000);
    EXPECT_DOUBLE_EQ(*s.duration_ms, 1500.0);
    EXPECT_EQ(s.status, SpanStatus::Ok);  // no error: ok
    EXPECT_EQ(str(s.model), "claude-sonnet-4-5");
    EXPECT_EQ(str(s.provider), "anthropic");
    EXPECT_EQ(str(s.user_id), "u9");
    EXPECT_EQ(str(s.project), "p-123");  // project_id when metadata has no project
    // prompt_tokens includes the cached tokens already.
    EXPECT_EQ(s.tokens.input, 500);
    EXPECT_EQ(s.tokens.output, 80);
    EXPECT_EQ(s.tokens.total, 580);
    EXPECT_EQ(s.tokens.cached_input, 100);
    EXPECT_EQ(json(s.input), R"([{"role":"user","content":"q"}])");
    EXPECT_EQ(json(s.output), R"("answer")");
    EXPECT_EQ(json(s.attributes),
              R"({"span_attributes":{"purpose":"scorer"},"metrics":{"time_to_first_token":0.3},)"
              R"("metadata":{"temperature":0.2},"id":"row-1","project_id":"p-123","_xact_id":"100"})");
}

TEST_F(NormalizerTest, BraintrustRootSpanIsItsOwnTraceAndCreatedIsTheStart) {
    const core::Span& s = one(
        R"({"span_id":"root","span_attributes":{"name":"task"},"created":"2024-05-01T12:00:00.000Z",
            "error":"Timeout"})");
    EXPECT_EQ(str(s.trace_id), "root");
    EXPECT_EQ(str(s.parent_span_id), "<null>");
    EXPECT_EQ(s.start_us, us(k20240501Noon));
    EXPECT_EQ(s.status, SpanStatus::Error);
    EXPECT_EQ(str(s.error_message), "Timeout");
}

TEST_F(NormalizerTest, BraintrustCreatedIsKeptWhenMetricsGiveTheStart) {
    const core::Span& s = one(
        R"({"span_id":"s","root_span_id":"r","metrics":{"start":1714564800},"created":"2024-05-01T12:00:05Z","expected":"x"})");
    EXPECT_EQ(s.start_us, us(k20240501Noon));
    EXPECT_EQ(json(s.attributes), R"({"created":"2024-05-01T12:00:05Z","expected":"x"})");
    // store_content = 'none': expected output is content too.
    n.options().content = core::ContentMode::None;
    const core::Span& t = one(
        R"({"span_id":"s","root_span_id":"r","metrics":{"start":1714564800},"expected":"x","input":"q"})");
    EXPECT_EQ(json(t.attributes), "{}");
    EXPECT_EQ(json(t.input), "<null>");
}

TEST_F(NormalizerTest, BraintrustKeepsEveryParentWhenThereAreSeveral) {
    const core::Span& s =
        one(R"({"span_id":"c","root_span_id":"r","span_parents":["p1","p2"],"created":1714564800})");
    EXPECT_EQ(str(s.parent_span_id), "p1");
    EXPECT_EQ(json(s.attributes), R"({"span_parents":["p1","p2"]})");
}

// ===========================================================================
// Vercel
// ===========================================================================

TEST_F(NormalizerTest, VercelDrainRecord) {
    const core::Span& s = one(R"J({
      "id": "req_123", "timestamp": 1714564800000, "duration": 850, "status": 200,
      "url": "https://app.example.com/api/chat?x=1", "method": "POST",
      "projectId": "prj_1", "environment": "production", "region": "iad1",
      "metadata": {"model": "gpt-4o-mini", "provider": "openai",
                   "tokens": {"input": 1200, "output": 300, "cachedInput": 200},
                   "userId": "user-7", "feature": "chat-ui", "foo": "bar"}})J");
    EXPECT_EQ(s.format, SourceFormat::Vercel);
    EXPECT_EQ(str(s.span_id), "req_123");
    EXPECT_EQ(str(s.trace_id), "req_123");  // no trace id sent: the record is its own trace
    EXPECT_EQ(s.start_us, us(k20240501Noon));
    EXPECT_EQ(s.end_us, us(k20240501Noon) + 850000);
    EXPECT_DOUBLE_EQ(*s.duration_ms, 850.0);
    EXPECT_EQ(s.status, SpanStatus::Ok);
    EXPECT_EQ(str(s.endpoint), "/api/chat");  // path of the URL, query dropped
    EXPECT_EQ(str(s.name), "POST /api/chat");
    EXPECT_EQ(str(s.project), "prj_1");
    EXPECT_EQ(str(s.environment), "production");
    EXPECT_EQ(str(s.model), "gpt-4o-mini");
    EXPECT_EQ(str(s.provider), "openai");
    EXPECT_EQ(str(s.operation), "chat");
    EXPECT_EQ(str(s.user_id), "user-7");
    EXPECT_EQ(str(s.feature), "chat-ui");
    // AI Gateway: input includes the 200 cached tokens; total = 1200 + 300.
    EXPECT_EQ(s.tokens.input, 1200);
    EXPECT_EQ(s.tokens.output, 300);
    EXPECT_EQ(s.tokens.cached_input, 200);
    EXPECT_EQ(s.tokens.total, 1500);
    // The full URL is kept because the endpoint column has only its path.
    EXPECT_EQ(json(s.attributes),
              R"({"metadata":{"tokens":{"input":1200,"output":300,"cachedInput":200},"foo":"bar"},)"
              R"("url":"https://app.example.com/api/chat?x=1","method":"POST","region":"iad1"})");
}

TEST_F(NormalizerTest, VercelStatusCodes) {
    {
        const core::Span& s = one(R"({"id":"a","timestamp":1714564800000,"status":500})");
        EXPECT_EQ(s.status, SpanStatus::Error);
        EXPECT_EQ(str(s.error_message), "HTTP 500");
    }
    {
        const core::Span& s = one(R"({"id":"a","timestamp":1714564800000,"status":"404"})");
        EXPECT_EQ(s.status, SpanStatus::Error);
        EXPECT_EQ(str(s.error_message), "HTTP 404");
    }
    {
        const core::Span& s = one(R"({"id":"a","timestamp":1714564800000,"status":"success"})");
        EXPECT_EQ(s.status, SpanStatus::Ok);
    }
    {
        const core::Span& s = one(R"({"id":"a","timestamp":1714564800000,"status":399})");
        EXPECT_EQ(s.status, SpanStatus::Ok);
    }
}

TEST_F(NormalizerTest, VercelTraceIdAndBareHostUrl) {
    const core::Span& s = one(
        R"({"id":"a","traceId":"trace-9","parentId":"p","timestamp":1714564800000,
            "url":"https://example.com"})");
    EXPECT_EQ(str(s.trace_id), "trace-9");
    EXPECT_EQ(str(s.parent_span_id), "p");
    EXPECT_EQ(str(s.endpoint), "/");
    EXPECT_EQ(str(s.name), "/");
    EXPECT_EQ(json(s.attributes), R"({"url":"https://example.com"})");
}

// ===========================================================================
// OTLP
// ===========================================================================

TEST_F(NormalizerTest, OtlpProtoExampleFile) {
    // The opentelemetry-proto example: upper-case hex ids, int64 times as
    // strings, kind as an integer (2 = server).
    const core::Span& s = one(read_test_file("otlp-trace-example.json"));
    EXPECT_EQ(s.format, SourceFormat::Otlp);
    EXPECT_EQ(str(s.trace_id), "5b8efff798038103d269b633813fc60c");
    EXPECT_EQ(str(s.span_id), "eee19b7ec3c1b174");
    EXPECT_EQ(str(s.parent_span_id), "eee19b7ec3c1b173");
    EXPECT_EQ(str(s.name), "I'm a server span");
    EXPECT_EQ(str(s.kind), "server");
    // 1544712660000000000 ns >= 1e17: nanoseconds.
    EXPECT_EQ(s.start_us, us(kOtlpExample));
    EXPECT_EQ(s.end_us, us(kOtlpExample + 1));
    EXPECT_DOUBLE_EQ(*s.duration_ms, 1000.0);
    EXPECT_EQ(s.status, SpanStatus::Unset);
    EXPECT_EQ(str(s.service), "my.service");
    // service.name maps to a column, so no "resource" object; the scope is kept
    // with its attribute list as an object.
    EXPECT_EQ(json(s.attributes),
              R"({"my.span.attr":"some value","otel.scope":{"name":"my.library","version":"1.0.0",)"
              R"("attributes":{"my.scope.attribute":"some scope attribute"}}})");
}

// Two resources, the first with two scopes. Resource attributes apply to every
// span below their resource and to no other.
constexpr const char* kOtlpBatch = R"J({"resourceSpans":[
 {"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"checkout"}},
    {"key":"deployment.environment.name","value":{"stringValue":"prod"}},
    {"key":"host.name","value":{"stringValue":"web-1"}}]},
  "scopeSpans":[
   {"scope":{"name":"openai-instr","version":"1.2.0"},"spans":[
     {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
      "name":"chat gpt-4o","kind":3,
      "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
      "status":{"code":1},
      "attributes":[
        {"key":"gen_ai.system","value":{"stringValue":"OpenAI"}},
        {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
        {"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o-2024-08-06"}},
        {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},
        {"key":"gen_ai.usage.output_tokens","value":{"intValue":200}},
        {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"300"}},
        {"key":"http.method","value":{"stringValue":"POST"}}]},
     {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0102030405060708",
      "parentSpanId":"EEE19B7EC3C1B174","name":"tool","kind":"SPAN_KIND_INTERNAL",
      "startTimeUnixNano":1544712660500000000,"endTimeUnixNano":1544712660600000000,
      "status":{"code":"STATUS_CODE_ERROR","message":"tool failed"},
      "events":[{"name":"exception","timeUnixNano":"1544712660550000000"}],
      "traceState":"k=v","flags":1,"attributes":[]}]},
   {"scope":{"name":"langchain"},"spans":[
     {"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"AQIDBAUGBwg=","parentSpanId":"",
      "name":"chain","kind":"server","startTimeUnixNano":"1544712660000000000",
      "attributes":[{"key":"deployment.environment","value":{"stringValue":"span-env"}}]}]}]},
 {"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"search"}},
    {"key":"deployment.environment","value":{"stringValue":"staging"}}]},
  "scopeSpans":[{"spans":[
     {"traceId":"0123456789abcdef0123456789abcdef","spanId":"0123456789abcdef",
      "name":"embed","startTimeUnixNano":"1544712660000000000","status":{"code":2},"attributes":[]}]}]}]})J";

TEST_F(NormalizerTest, OtlpBatchWithSeveralResourcesAndScopes) {
    const core::Result& res = run(kOtlpBatch);
    ASSERT_TRUE(res.failures.empty()) << res.failures[0].message;
    ASSERT_EQ(res.spans.size(), 4u);

    const core::Span& a = res.spans[0];
    EXPECT_EQ(str(a.trace_id), "5b8efff798038103d269b633813fc60c");  // hex lower-cased
    EXPECT_EQ(str(a.span_id), "eee19b7ec3c1b174");
    EXPECT_EQ(str(a.parent_span_id), "<null>");
    EXPECT_EQ(str(a.kind), "client");  // 3
    EXPECT_EQ(a.status, SpanStatus::Ok);  // code 1
    EXPECT_EQ(str(a.service), "checkout");
    EXPECT_EQ(str(a.environment), "prod");
    EXPECT_EQ(str(a.provider), "openai");
    // The response model beats the request model; the loser is kept.
    EXPECT_EQ(str(a.model), "gpt-4o-2024-08-06");
    // intValue as a string ("1000") and as a number (200) read the same way.
    EXPECT_EQ(a.tokens.input, 1000);
    EXPECT_EQ(a.tokens.output, 200);
    EXPECT_EQ(a.tokens.cached_input, 300);
    EXPECT_EQ(a.tokens.total, 1200);
    EXPECT_EQ(json(a.attributes),
              R"({"gen_ai.request.model":"gpt-4o","http.method":"POST",)"
              R"("otel.resource":{"host.name":"web-1"},"otel.scope":{"name":"openai-instr","version":"1.2.0"}})");

    const core::Span& b = res.spans[1];
    EXPECT_EQ(str(b.span_id), "0102030405060708");
    EXPECT_EQ(str(b.parent_span_id), "eee19b7ec3c1b174");
    EXPECT_EQ(str(b.kind), "internal");  // SPAN_KIND_INTERNAL
    // Integer nanoseconds: 1544712660500000000 / 1000 us.
    EXPECT_EQ(b.start_us, us(kOtlpExample) + 500000);
    EXPECT_EQ(b.end_us, us(kOtlpExample) + 600000);
    EXPECT_DOUBLE_EQ(*b.duration_ms, 100.0);
    EXPECT_EQ(b.status, SpanStatus::Error);
    EXPECT_EQ(str(b.error_message), "tool failed");
    EXPECT_EQ(str(b.service), "checkout");  // same resource
    EXPECT_EQ(str(b.environment), "prod");
    // Span fields without a column (events, traceState, flags) are kept as sent.
    EXPECT_EQ(json(b.attributes),
              R"({"otel.events":[{"name":"exception","timeUnixNano":"1544712660550000000"}],)"
              R"("otel.traceState":"k=v","otel.flags":1,"otel.resource":{"host.name":"web-1"},)"
              R"("otel.scope":{"name":"openai-instr","version":"1.2.0"}})");

    const core::Span& c = res.spans[2];
    // base64 ids (proto-JSON without OTLP's hex rule) are converted to hex.
    EXPECT_EQ(str(c.trace_id), "5b8efff798038103d269b633813fc60c");
    EXPECT_EQ(str(c.span_id), "0102030405060708");
    EXPECT_EQ(str(c.parent_span_id), "<null>");  // "" is no parent
    EXPECT_EQ(str(c.kind), "server");
    EXPECT_EQ(str(c.service), "checkout");
    EXPECT_EQ(str(c.environment), "span-env");  // span attributes override the resource
    EXPECT_EQ(json(c.attributes), R"({"otel.resource":{"host.name":"web-1"},"otel.scope":{"name":"langchain"}})");

    const core::Span& d = res.spans[3];
    EXPECT_EQ(str(d.service), "search");
    EXPECT_EQ(str(d.environment), "staging");  // older attribute name
    EXPECT_EQ(d.status, SpanStatus::Error);     // code 2
    EXPECT_EQ(str(d.kind), "<null>");
    EXPECT_EQ(json(d.attributes), "{}");  // nothing of the first resource leaks here
}

// One OTLP span with the given extra fields.
std::string otlp_span(const std::string& fields) {
    return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",)"
           R"("spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1544712660000000000")" +
           (fields.empty() ? "" : "," + fields) + "}]}]}]}";
}

std::string otlp_attrs(const std::string& attrs) { return otlp_span(R"("attributes":[)" + attrs + "]"); }

TEST_F(NormalizerTest, OtlpAnyValueKindsInAttributes) {
    const core::Span& s = one(otlp_attrs(
        R"({"key":"i_str","value":{"intValue":"42"}},
           {"key":"i_num","value":{"intValue":7}},
           {"key":"i_neg","value":{"intValue":"-5"}},
           {"key":"d","value":{"doubleValue":0.5}},
           {"key":"b","value":{"boolValue":true}},
           {"key":"bytes","value":{"bytesValue":"AQI="}},
           {"key":"arr","value":{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":"1"}]}}},
           {"key":"kv","value":{"kvlistValue":{"values":[{"key":"k","value":{"boolValue":false}}]}}},
           {"key":"empty","value":{}},
           {"key":"novalue"})"));
    // intValue strings become numbers; an empty AnyValue and a missing value are null.
    EXPECT_EQ(json(s.attributes),
              R"({"i_str":42,"i_num":7,"i_neg":-5,"d":0.5,"b":true,"bytes":"AQI=","arr":["x",1],)"
              R"("kv":{"k":false},"empty":null,"novalue":null})");
}

TEST_F(NormalizerTest, OtlpKindAsIntegerOrName) {
    const char* names[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
    for (int k = 0; k <= 5; ++k) {
        const core::Span& s = one(otlp_span(R"("kind":)" + std::to_string(k)));
        EXPECT_EQ(str(s.kind), names[k]) << k;
    }
    EXPECT_EQ(str(one(otlp_span(R"("kind":"SPAN_KIND_PRODUCER")")).kind), "producer");
    EXPECT_EQ(str(one(otlp_span(R"("kind":"Consumer")")).kind), "consumer");
    for (const char* bad : {R"("kind":6)", R"("kind":-1)", R"("kind":"SPAN_KIND_BOGUS")", R"("kind":1.5)"}) {
        const core::Result& res = run(otlp_span(bad));
        ASSERT_EQ(res.failures.size(), 1u) << bad;
        EXPECT_STREQ(res.failures[0].sqlstate, "22023") << bad;
        EXPECT_EQ(res.failures[0].location, "resourceSpans[0].scopeSpans[0].spans[0]");
    }
}

TEST_F(NormalizerTest, OtlpStatusCodes) {
    EXPECT_EQ(one(otlp_span(R"("status":{"code":0})")).status, SpanStatus::Unset);
    EXPECT_EQ(one(otlp_span(R"("status":{"code":1})")).status, SpanStatus::Ok);
    EXPECT_EQ(one(otlp_span(R"("status":{"code":2})")).status, SpanStatus::Error);
    EXPECT_EQ(one(otlp_span(R"("status":{"code":"STATUS_CODE_UNSET"})")).status, SpanStatus::Unset);
    EXPECT_EQ(one(otlp_span(R"("status":{"code":"STATUS_CODE_OK"})")).status, SpanStatus::Ok);
    EXPECT_EQ(one(otlp_span(R"("status":{})")).status, SpanStatus::Unset);
    {
        const core::Span& s = one(otlp_span(R"("status":{"code":"STATUS_CODE_ERROR","message":"oops"})"));
        EXPECT_EQ(s.status, SpanStatus::Error);
        EXPECT_EQ(str(s.error_message), "oops");
    }
    {
        // error.type marks an unset span as failed (GenAI conventions).
        const core::Span& s =
            one(otlp_span(R"("attributes":[{"key":"error.type","value":{"stringValue":"timeout"}}])"));
        EXPECT_EQ(s.status, SpanStatus::Error);
        EXPECT_EQ(str(s.error_message), "timeout");
        EXPECT_EQ(json(s.attributes), R"({"error.type":"timeout"})");
    }
    for (const char* bad : {R"("status":{"code":3})", R"("status":{"code":"OK"})", R"("status":"ok")"}) {
        const core::Result& res = run(otlp_span(bad));
        ASSERT_EQ(res.failures.size(), 1u) << bad;
        EXPECT_STREQ(res.failures[0].sqlstate, "22023") << bad;
    }
}

TEST_F(NormalizerTest, OtlpIds) {
    // Hex of the wrong length, non-hex, all zeros and non-strings are rejected;
    // a missing traceId/spanId is 22004.
    struct Case {
        const char* trace;
        const char* state;
    } cases[] = {
        {R"("traceId":"5b8e")", "22023"},
        {R"("traceId":"zz8efff798038103d269b633813fc60c")", "22023"},
        {R"("traceId":"00000000000000000000000000000000")", "22023"},
        {R"("traceId":"AAAAAAAAAAAAAAAAAAAAAA==")", "22023"},  // base64 of 16 zero bytes
        {R"("traceId":12)", "22023"},
        {R"("traceId":"")", "22004"},
        {R"("traceId":null)", "22004"},
    };
    for (const Case& c : cases) {
        std::string p = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{)" + std::string(c.trace) +
                        R"(,"spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1544712660000000000"}]}]}]})";
        const core::Result& res = run(p);
        ASSERT_EQ(res.failures.size(), 1u) << c.trace;
        EXPECT_STREQ(res.failures[0].sqlstate, c.state) << c.trace;
        EXPECT_NE(res.failures[0].message.find("traceId"), std::string::npos) << res.failures[0].message;
    }
    const core::Result& res = run(
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","startTimeUnixNano":"1"}]}]}]})");
    ASSERT_EQ(res.failures.size(), 1u);
    EXPECT_STREQ(res.failures[0].sqlstate, "22004");
    EXPECT_EQ(res.failures[0].message, "spanId is missing");
    // base64 of 00..01 (not all zeros) is accepted.
    const core::Span& s = one(
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AAAAAAAAAAAAAAAAAAAAAQ==","spanId":"7uGbfsPBsXQ=","startTimeUnixNano":"1544712660000000000","attributes":[]}]}]}]})");
    EXPECT_EQ(str(s.trace_id), "00000000000000000000000000000001");
    EXPECT_EQ(str(s.span_id), "eee19b7ec3c1b174");
}

TEST_F(NormalizerTest, OtlpMissingOrZeroStartTime) {
    for (const char* p :
         {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]})",
          R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"0"}]}]}]})"}) {
        const core::Result& res = run(p);
        ASSERT_EQ(res.failures.size(), 1u);
        EXPECT_STREQ(res.failures[0].sqlstate, "22004");
        EXPECT_EQ(res.failures[0].message, "startTimeUnixNano is missing or zero");
    }
}

TEST_F(NormalizerTest, OtlpVocabularies) {
    // OpenInference
    {
        const core::Span& s = one(otlp_attrs(
            R"({"key":"openinference.span.kind","value":{"stringValue":"LLM"}},
               {"key":"llm.model_name","value":{"stringValue":"claude-3-haiku-20240307"}},
               {"key":"llm.provider","value":{"stringValue":"anthropic"}},
               {"key":"llm.token_count.prompt","value":{"intValue":120}},
               {"key":"llm.token_count.completion","value":{"intValue":30}},
               {"key":"llm.token_count.prompt_details.cache_read","value":{"intValue":20}},
               {"key":"llm.token_count.total","value":{"intValue":150}},
               {"key":"input.value","value":{"stringValue":"{\"q\":1}"}},
               {"key":"output.value","value":{"stringValue":"done"}},
               {"key":"session.id","value":{"stringValue":"sess"}})"));
        EXPECT_EQ(str(s.operation), "chat");
        EXPECT_EQ(str(s.model), "claude-3-haiku-20240307");
        EXPECT_EQ(str(s.provider), "anthropic");
        EXPECT_EQ(s.tokens.input, 120);
        EXPECT_EQ(s.tokens.output, 30);
        EXPECT_EQ(s.tokens.cached_input, 20);
        EXPECT_EQ(s.tokens.total, 150);
        EXPECT_EQ(json(s.input), R"({"q":1})");
        EXPECT_EQ(json(s.output), R"("done")");
        EXPECT_EQ(str(s.session_id), "sess");
        EXPECT_EQ(json(s.attributes), "{}");
    }
    // Vercel AI SDK
    {
        const core::Span& s = one(otlp_attrs(
            R"({"key":"ai.operationId","value":{"stringValue":"ai.generateText.doGenerate"}},
               {"key":"ai.model.id","value":{"stringValue":"gpt-4o-mini"}},
               {"key":"ai.model.provider","value":{"stringValue":"openai.chat"}},
               {"key":"ai.usage.promptTokens","value":{"intValue":"10"}},
               {"key":"ai.usage.completionTokens","value":{"intValue":"5"}},
               {"key":"ai.telemetry.functionId","value":{"stringValue":"summarize"}},
               {"key":"ai.telemetry.metadata.userId","value":{"stringValue":"u-1"}})"));
        EXPECT_EQ(str(s.operation), "chat");
        EXPECT_EQ(str(s.model), "gpt-4o-mini");
        EXPECT_EQ(str(s.provider), "openai");  // "openai.chat" -> openai
        EXPECT_EQ(s.tokens.input, 10);
        EXPECT_EQ(s.tokens.output, 5);
        EXPECT_EQ(s.tokens.total, 15);
        EXPECT_EQ(str(s.feature), "summarize");
        EXPECT_EQ(str(s.user_id), "u-1");
    }
    // OpenLLMetry, with the older GenAI names
    {
        const core::Span& s = one(otlp_attrs(
            R"({"key":"gen_ai.system","value":{"stringValue":"Anthropic"}},
               {"key":"gen_ai.request.model","value":{"stringValue":"claude-opus-4-1"}},
               {"key":"gen_ai.usage.prompt_tokens","value":{"intValue":"400"}},
               {"key":"gen_ai.usage.completion_tokens","value":{"intValue":"100"}},
               {"key":"llm.usage.total_tokens","value":{"intValue":"500"}},
               {"key":"llm.request.type","value":{"stringValue":"chat"}},
               {"key":"gen_ai.prompt.1.content","value":{"stringValue":"hi"}},
               {"key":"gen_ai.prompt.0.role","value":{"stringValue":"system"}},
               {"key":"gen_ai.prompt.0.content","value":{"stringValue":"be brief"}},
               {"key":"gen_ai.prompt.1.role","value":{"stringValue":"user"}},
               {"key":"gen_ai.completion.0.content","value":{"stringValue":"ok"}})"));
        EXPECT_EQ(str(s.provider), "anthropic");
        EXPECT_EQ(str(s.model), "claude-opus-4-1");
        EXPECT_EQ(str(s.operation), "chat");
        EXPECT_EQ(s.tokens.input, 400);
        EXPECT_EQ(s.tokens.output, 100);
        EXPECT_EQ(s.tokens.total, 500);
        // Indexed messages are gathered by index, fields in payload order.
        EXPECT_EQ(json(s.input),
                  R"([{"role":"system","content":"be brief"},{"content":"hi","role":"user"}])");
        EXPECT_EQ(json(s.output), R"([{"content":"ok"}])");
        EXPECT_EQ(json(s.attributes), "{}");
    }
    // Current GenAI names beat the older ones; the losers stay in attributes.
    {
        const core::Span& s = one(otlp_attrs(
            R"({"key":"gen_ai.usage.prompt_tokens","value":{"intValue":"1"}},
               {"key":"gen_ai.usage.input_tokens","value":{"intValue":"2"}},
               {"key":"gen_ai.system","value":{"stringValue":"aws.bedrock"}},
               {"key":"gen_ai.provider.name","value":{"stringValue":"gcp.gemini"}},
               {"key":"gen_ai.operation.name","value":{"stringValue":"embeddings"}})"));
        EXPECT_EQ(s.tokens.input, 2);
        EXPECT_EQ(str(s.provider), "google");
        EXPECT_EQ(str(s.operation), "embeddings");
        EXPECT_EQ(json(s.attributes), R"({"gen_ai.usage.prompt_tokens":1,"gen_ai.system":"aws.bedrock"})");
    }
}

TEST_F(NormalizerTest, OtlpResourcePrecedenceAndExtraFields) {
    // The higher-priority resource attribute wins whatever the order; the
    // loser, droppedAttributesCount and the schema URLs are kept.
    const core::Span& s = one(R"J({"resourceSpans":[{
      "resource":{"attributes":[
        {"key":"deployment.environment","value":{"stringValue":"old"}},
        {"key":"deployment.environment.name","value":{"stringValue":"new"}}],
        "droppedAttributesCount":2},
      "schemaUrl":"https://opentelemetry.io/schemas/1.24.0",
      "scopeSpans":[{"scope":{"name":"lib"},"schemaUrl":"https://example.com/s",
        "spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
                  "startTimeUnixNano":"1544712660000000000"}]}]}]})J");
    EXPECT_EQ(str(s.environment), "new");
    EXPECT_EQ(json(s.attributes),
              R"({"otel.resource":{"deployment.environment":"old","droppedAttributesCount":2,)"
              R"("schemaUrl":"https://opentelemetry.io/schemas/1.24.0"},)"
              R"("otel.scope":{"name":"lib","schemaUrl":"https://example.com/s"}})");
}

TEST_F(NormalizerTest, OtlpContentNoneDropsContentAttributesAndGenAiEvents) {
    n.options().content = core::ContentMode::None;
    const core::Span& s = one(otlp_span(
        R"("attributes":[
             {"key":"gen_ai.input.messages","value":{"stringValue":"[{\"role\":\"user\"}]"}},
             {"key":"gen_ai.system_instructions","value":{"stringValue":"be brief"}},
             {"key":"gen_ai.prompt.0.content","value":{"stringValue":"secret"}},
             {"key":"x","value":{"intValue":"1"}}],
           "events":[{"name":"gen_ai.user.message"},{"name":"exception"}])"));
    EXPECT_EQ(json(s.input), "<null>");
    EXPECT_EQ(json(s.output), "<null>");
    EXPECT_EQ(json(s.attributes), R"({"x":1,"otel.events":[{"name":"exception"}]})");
}

TEST_F(NormalizerTest, OtlpBadSpanIsReportedWithItsLocationAndTheOthersGoOn) {
    const core::Result& res = run(R"J({"resourceSpans":[
      {"scopeSpans":[{"spans":[
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1544712660000000000","attributes":[]}]}]},
      {"scopeSpans":[{"spans":[]},{"spans":[
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","startTimeUnixNano":"1544712660000000000","attributes":[]},
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b176","startTimeUnixNano":"1544712660000000000",
         "attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"-3"}}]}]}]}]})J");
    ASSERT_EQ(res.spans.size(), 2u);
    ASSERT_EQ(res.failures.size(), 1u);
    EXPECT_FALSE(res.payload_failed);
    const core::Failure& f = res.failures[0];
    EXPECT_STREQ(f.sqlstate, "22023");
    EXPECT_EQ(f.location, "resourceSpans[1].scopeSpans[1].spans[1]");
    EXPECT_STREQ(f.format, "otlp");
    EXPECT_NE(f.message.find("gen_ai.usage.input_tokens"), std::string::npos) << f.message;
    EXPECT_EQ(f.json.rfind(R"({"traceId":"5b8efff798038103d269b633813fc60c",)", 0), 0u) << f.json;
}

TEST_F(NormalizerTest, OtlpOldInstrumentationLibraryNames) {
    const core::Span& s = one(
        R"({"resourceSpans":[{"instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"old"},
            "spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
                      "startTimeUnixNano":"1544712660000000000","attributes":[]}]}]}]})");
    EXPECT_EQ(json(s.attributes), R"({"otel.scope":{"name":"old"}})");
}

TEST_F(NormalizerTest, OtlpStructuralErrors) {
    struct Case {
        const char* payload;
        const char* location;
    } cases[] = {
        {R"({"resourceSpans":{}})", ""},
        {R"({"resourceSpans":[5]})", "resourceSpans[0]"},
        {R"({"resourceSpans":[{"scopeSpans":7}]})", "resourceSpans[0]"},
        {R"({"resourceSpans":[{"scopeSpans":[[]]}]})", "resourceSpans[0].scopeSpans[0]"},
        {R"({"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]})",
         "resourceSpans[0].scopeSpans[0].spans[0]"},
        {R"({"resourceSpans":[{"resource":{"attributes":[{"value":{}}]}}]})", "resourceSpans[0]"},
    };
    for (const Case& c : cases) {
        const core::Result& res = run(c.payload);
        ASSERT_EQ(res.failures.size(), 1u) << c.payload;
        EXPECT_STREQ(res.failures[0].sqlstate, "22023") << c.payload;
        EXPECT_EQ(res.failures[0].location, c.location) << c.payload;
    }
}

// ===========================================================================
// Array payloads
// ===========================================================================

TEST_F(NormalizerTest, ArrayOfMixedFormats) {
    const core::Result& res = run(std::string("[") +
        R"({"trace_id":"t","span_id":"n1","start_time":1714564800},)" +
        R"({"span_id":"b1","root_span_id":"r","created":1714564800},)" +
        R"({"id":"v1","timestamp":1714564800000},)" + read_test_file("otlp-trace-example.json") + "]");
    ASSERT_TRUE(res.failures.empty());
    ASSERT_EQ(res.spans.size(), 4u);
    EXPECT_EQ(res.spans[0].format, SourceFormat::Native);
    EXPECT_EQ(res.spans[1].format, SourceFormat::Braintrust);
    EXPECT_EQ(res.spans[2].format, SourceFormat::Vercel);
    EXPECT_EQ(res.spans[3].format, SourceFormat::Otlp);
    EXPECT_STREQ(core::to_string(res.spans[3].format), "otlp");
}

TEST_F(NormalizerTest, ArrayItemsFailOneByOne) {
    const core::Result& res = run(
        R"([{"trace_id":"t","span_id":"ok","start_time":1714564800},
            {"foo":1},
            [{"trace_id":"t","span_id":"nested","start_time":1714564800}],
            5,
            {"trace_id":"t","start_time":1714564800},
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"eee19b7ec3c1b174"}]}]}]}])");
    ASSERT_EQ(res.spans.size(), 1u);
    EXPECT_EQ(str(res.spans[0].span_id), "ok");
    EXPECT_FALSE(res.payload_failed);
    ASSERT_EQ(res.failures.size(), 5u);
    EXPECT_EQ(res.failures[0].location, "[1]");  // unknown format
    EXPECT_STREQ(res.failures[0].sqlstate, "22023");
    EXPECT_EQ(res.failures[0].json, R"({"foo":1})");
    EXPECT_EQ(res.failures[1].location, "[2]");  // nested array
    EXPECT_STREQ(res.failures[1].sqlstate, "22023");
    EXPECT_EQ(res.failures[1].message, "a nested array is not a span payload");
    EXPECT_EQ(res.failures[2].location, "[3]");  // not an object
    EXPECT_STREQ(res.failures[2].sqlstate, "22023");
    EXPECT_EQ(res.failures[3].location, "[4]");  // missing span_id
    EXPECT_STREQ(res.failures[3].sqlstate, "22004");
    EXPECT_STREQ(res.failures[3].format, "native");
    EXPECT_EQ(res.failures[4].location, "[5].resourceSpans[0].scopeSpans[0].spans[0]");
    EXPECT_STREQ(res.failures[4].sqlstate, "22004");
}

TEST_F(NormalizerTest, EmptyArrayGivesNothing) {
    const core::Result& res = run("[]");
    EXPECT_TRUE(res.spans.empty());
    EXPECT_TRUE(res.failures.empty());
    EXPECT_FALSE(res.payload_failed);
}

TEST_F(NormalizerTest, NormalizerIsReusedAcrossPayloads) {
    // The server keeps one Normalizer; state of a bad payload must not leak
    // into the next one.
    fails(R"({"trace_id":"t","span_id":"s","start_time":1,"name":"a\u0000"})");
    const core::Span& s = one(R"({"trace_id":"t2","span_id":"s2","start_time":1714564800,"name":"ok"})");
    EXPECT_EQ(str(s.trace_id), "t2");
    EXPECT_EQ(str(s.name), "ok");
    fails("{");
    EXPECT_EQ(str(one(read_test_file("otlp-trace-example.json")).name), "I'm a server span");
}

// ===========================================================================
// Bad input: SQLSTATE, message and location for each kind
// ===========================================================================

TEST_F(NormalizerTest, MalformedJson) {
    const core::Failure& f = fails(R"({"trace_id": "t", })");
    EXPECT_STREQ(f.sqlstate, "22P02");
    EXPECT_EQ(f.location, "");
    EXPECT_EQ(f.json, "");
    EXPECT_EQ(f.format, nullptr);
    // The message names where: the count of bytes read when the parser stopped
    // (the stray '}' is the 19th byte) and what it expected.
    EXPECT_EQ(f.message,
              "invalid JSON at byte 19: syntax error while parsing object key - unexpected '}'; "
              "expected string literal");
}

TEST_F(NormalizerTest, TruncatedJson) {
    const core::Failure& f = fails(R"({"trace_id":"t","span_id":"s")");
    EXPECT_STREQ(f.sqlstate, "22P02");
    EXPECT_NE(f.message.find("unexpected end of input"), std::string::npos) << f.message;
    const core::Failure& g = fails(R"({"trace_id":"t","span_id":"s)");
    EXPECT_STREQ(g.sqlstate, "22P02");
    const core::Failure& h = fails(R"([{"trace_id":"t","span_id":"s","start_time":1},)");
    EXPECT_STREQ(h.sqlstate, "22P02");
}

TEST_F(NormalizerTest, EmptyPayload) {
    for (const char* p : {"", "   ", "\n\t"}) {
        const core::Failure& f = fails(p);
        EXPECT_STREQ(f.sqlstate, "22P02");
        EXPECT_EQ(f.message, "the payload is empty") << "'" << p << "'";
    }
}

TEST_F(NormalizerTest, NotAnObject) {
    for (const char* p : {"5", R"("text")", "null", "true"}) {
        const core::Failure& f = fails(p);
        EXPECT_STREQ(f.sqlstate, "22023") << p;
        EXPECT_EQ(f.message, "a payload must be a JSON object or an array of objects");
    }
}

TEST_F(NormalizerTest, UnknownFormat) {
    const core::Failure& f = fails(R"({"hello":"world"})");
    EXPECT_STREQ(f.sqlstate, "22023");
    EXPECT_EQ(f.message.rfind("unrecognized payload format", 0), 0u) << f.message;
    EXPECT_EQ(f.format, nullptr);
}

TEST_F(NormalizerTest, WrongTypes) {
    struct Case {
        const char* fields;
        const char* state;
        const char* message;
    } cases[] = {
        {R"("trace_id":{"a":1},"span_id":"s","start_time":1)", "22023",
         "trace_id must be a string, got an object"},
        {R"("trace_id":"t","span_id":["s"],"start_time":1)", "22023",
         "span_id must be a string, got an array"},
        {R"("trace_id":"t","span_id":"s","start_time":true)", "22007",
         "start_time must be an ISO 8601 string or a Unix epoch number, got a boolean"},
        {R"("trace_id":"t","span_id":"s","start_time":1,"usage":[1])", "22023", "usage must be an object"},
        {R"("trace_id":"t","span_id":"s","start_time":1,"usage":{"prompt_tokens":true})", "22023",
         "usage.prompt_tokens must be a non-negative integer token count, got a boolean"},
        {R"("trace_id":"t","span_id":"s","start_time":1,"usage":{"prompt_tokens":"12a"})", "22023",
         "usage.prompt_tokens must be a non-negative integer token count, got \"12a\""},
        {R"("trace_id":"t","span_id":"s","start_time":1,"usage":{"prompt_tokens":1.5})", "22023",
         "usage.prompt_tokens must be a non-negative integer token count, got 1.5"},
        {R"("trace_id":"t","span_id":"s","start_time":1,"cost_usd":"cheap")", "22023",
         "cost_usd must be a number, got \"cheap\""},
        {R"("trace_id":"t","span_id":"s","start_time":1,"status":"maybe")", "22023",
         "status must be 'ok', 'error' or 'unset', got \"maybe\""},
        {R"("trace_id":"t","span_id":"s","start_time":"yesterday")", "22007",
         "start_time is not an ISO 8601 timestamp: \"yesterday\""},
        {R"("trace_id":"t","span_id":"s","start_time":1,"name":{"x":1})", "22023",
         "name must be a string, got an object"},
    };
    for (const Case& c : cases) {
        const core::Failure& f = fails(std::string("{") + c.fields + "}");
        EXPECT_STREQ(f.sqlstate, c.state) << c.fields;
        EXPECT_EQ(f.message, c.message) << c.fields;
        EXPECT_EQ(f.location, "");
        EXPECT_STREQ(f.format, "native");
    }
}

TEST_F(NormalizerTest, NulEscapes) {
    // PostgreSQL text cannot hold U+0000: 22P05 wherever it is stored.
    for (const char* fields : {
             R"("trace_id":"t","span_id":"s","start_time":1,"name":"a\u0000b")",
             R"("trace_id":"t\u0000","span_id":"s","start_time":1)",
             R"("trace_id":"t","span_id":"s","start_time":1,"input":{"m":["x\u0000"]})",
             R"("trace_id":"t","span_id":"s","start_time":1,"metadata":{"k\u0000":1})",
             R"("trace_id":"t","span_id":"s","start_time":1,"error":"\u0000")",
             R"("trace_id":"t","span_id":"s","start_time":1,"input":"{\"a\":\"\\u0000\"}")",
         }) {
        const core::Failure& f = fails(std::string("{") + fields + "}");
        EXPECT_STREQ(f.sqlstate, "22P05") << fields;
        EXPECT_NE(f.message.find("\\u0000"), std::string::npos) << f.message;
    }
    // An escaped backslash followed by u0000 is plain text, not NUL.
    const core::Span& s = one(R"({"trace_id":"t","span_id":"s","start_time":1,"name":"\\u0000"})");
    EXPECT_EQ(str(s.name), "\\u0000");
    // OTLP attribute values and keys.
    const core::Result& res = run(otlp_attrs(R"({"key":"k","value":{"stringValue":"\u0000"}})"));
    ASSERT_EQ(res.failures.size(), 1u);
    EXPECT_STREQ(res.failures[0].sqlstate, "22P05");
    const core::Result& res2 = run(otlp_attrs(R"({"key":"k\u0000","value":{"stringValue":"v"}})"));
    ASSERT_EQ(res2.failures.size(), 1u);
    EXPECT_STREQ(res2.failures[0].sqlstate, "22P05");
}

TEST_F(NormalizerTest, LoneSurrogates) {
    for (const char* p : {R"({"trace_id":"t","span_id":"s","start_time":1,"name":"\ud800"})",
                          R"({"trace_id":"t","span_id":"s","start_time":1,"name":"\udc00x"})",
                          R"({"trace_id":"t","span_id":"s","start_time":1,"name":"\ud800\u0041"})"}) {
        const core::Failure& f = fails(p);
        EXPECT_STREQ(f.sqlstate, "22P02") << p;
        EXPECT_EQ(f.message.rfind("invalid JSON", 0), 0u) << f.message;
    }
    // A proper pair is fine: U+1F600 is F0 9F 98 80 in UTF-8.
    const core::Span& s = one(R"({"trace_id":"t","span_id":"s","start_time":1,"name":"\ud83d\ude00"})");
    EXPECT_EQ(str(s.name), "\xF0\x9F\x98\x80");
}

TEST_F(NormalizerTest, InvalidUtf8) {
    const core::Failure& f = fails("{\"trace_id\":\"t\xff\",\"span_id\":\"s\",\"start_time\":1}");
    EXPECT_STREQ(f.sqlstate, "22021");
    EXPECT_EQ(f.message, "the payload is not valid UTF-8");
}

TEST_F(NormalizerTest, NumbersOutOfRange) {
    // Not a finite double, not a 64-bit integer: rejected by the parser.
    for (const char* p : {R"({"trace_id":"t","span_id":"s","start_time":1,"x":1e400})",
                          R"({"trace_id":"t","span_id":"s","start_time":1,"x":-1e400})",
                          R"({"trace_id":"t","span_id":"s","start_time":1,"x":123456789012345678901234567890})",
                          R"({"trace_id":"t","span_id":"s","start_time":1,"x":-9223372036854775809})"}) {
        const core::Failure& f = fails(p);
        EXPECT_STREQ(f.sqlstate, "22003") << p;
        EXPECT_EQ(f.message.rfind("a JSON number is out of range", 0), 0u) << f.message;
    }
    // Within JSON's range but not a token count: 22003.
    for (const char* usage : {R"({"prompt_tokens":18446744073709551615})",
                              R"({"prompt_tokens":1000000000000001})",
                              R"({"prompt_tokens":1e16})",
                              R"({"prompt_tokens":"99999999999999999999"})"}) {
        const core::Failure& f =
            fails(std::string(R"({"trace_id":"t","span_id":"s","start_time":1,"usage":)") + usage + "}");
        EXPECT_STREQ(f.sqlstate, "22003") << usage;
    }
    // The largest accepted count (10^15) and the largest unsigned integer kept
    // in attributes as a number.
    const core::Span& s = one(
        R"({"trace_id":"t","span_id":"s","start_time":1,"usage":{"prompt_tokens":1000000000000000},"x":18446744073709551615})");
    EXPECT_EQ(s.tokens.input, 1000000000000000);
    EXPECT_NE(json(s.attributes).find(R"("x":18446744073709551615)"), std::string::npos);
    // A cost or a timestamp out of range.
    EXPECT_STREQ(fails(R"({"trace_id":"t","span_id":"s","start_time":1,"cost_usd":1e13})").sqlstate, "22003");
    EXPECT_STREQ(fails(R"({"trace_id":"t","span_id":"s","start_time":1e30})").sqlstate, "22008");
}

TEST_F(NormalizerTest, NegativeNumbers) {
    for (const char* usage : {R"({"prompt_tokens":-5})", R"({"prompt_tokens":"-5"})",
                              R"({"completion_tokens":-0.5})", R"({"input_tokens":-1})"}) {
        const core::Failure& f =
            fails(std::string(R"({"trace_id":"t","span_id":"s","start_time":1,"usage":)") + usage + "}");
        EXPECT_STREQ(f.sqlstate, "22023") << usage;
        EXPECT_NE(f.message.find("must be a non-negative integer token count"), std::string::npos);
    }
    EXPECT_STREQ(fails(R"({"trace_id":"t","span_id":"s","start_time":1,"cost_usd":-0.01})").sqlstate,
                 "22023");
    EXPECT_STREQ(fails(R"({"trace_id":"t","span_id":"s","start_time":1,"duration_ms":-3})").sqlstate,
                 "22023");
    EXPECT_STREQ(fails(R"({"trace_id":"t","span_id":"s","start_time":-1})").sqlstate, "22008");
    EXPECT_STREQ(fails(R"({"id":"v","timestamp":1714564800000,"status":-200})").sqlstate, "22023");
}

TEST_F(NormalizerTest, DeepNesting) {
    // 200,000 levels: the parser stops at kMaxDepth (512) without recursing.
    const size_t depth = 200000;
    std::string arrays = std::string(depth, '[') + std::string(depth, ']');
    const core::Failure& f = fails(arrays);
    EXPECT_STREQ(f.sqlstate, "22P02");
    EXPECT_EQ(f.message, "JSON nesting is deeper than 512 levels");

    std::string objects = R"({"trace_id":"t","span_id":"s","start_time":1,"m":)";
    for (size_t i = 0; i < depth; ++i) objects += R"({"a":)";
    objects += "1";
    objects += std::string(depth, '}');
    objects += "}";
    const core::Failure& g = fails(objects);
    EXPECT_STREQ(g.sqlstate, "22P02");
    EXPECT_EQ(g.message, "JSON nesting is deeper than 512 levels");

    // Deep and truncated as well.
    const core::Failure& h = fails(std::string(depth, '['));
    EXPECT_STREQ(h.sqlstate, "22P02");

    // Just within the limit: 512 levels in all, kept whole in attributes.
    std::string ok = R"({"trace_id":"t","span_id":"s","start_time":1,"m":)";
    ok += std::string(510, '[') + std::string(510, ']') + "}";
    const core::Span& s = one(ok);
    EXPECT_EQ(json(s.attributes), R"({"m":)" + std::string(510, '[') + std::string(510, ']') + "}");
}

TEST_F(NormalizerTest, MissingIds) {
    struct Case {
        const char* payload;
        const char* message;
    } cases[] = {
        {R"({"trace_id":"t","start_time":1})", "span_id is missing"},
        {R"({"span_id":"s","start_time":1})", "trace_id is missing"},
        {R"({"trace_id":"","span_id":"s","start_time":1})", "trace_id is missing"},
        {R"({"trace_id":null,"span_id":"s","start_time":1})", "trace_id is missing"},
        {R"({"span_id":"","root_span_id":"r","created":1})", "span_id is missing"},
        {R"({"id":"","timestamp":1})", "id is missing"},
        {R"({"id":null,"timestamp":1})", "id is missing"},
    };
    for (const Case& c : cases) {
        const core::Failure& f = fails(c.payload);
        EXPECT_STREQ(f.sqlstate, "22004") << c.payload;
        EXPECT_EQ(f.message, c.message) << c.payload;
    }
    const core::Failure& f = fails(std::string(R"({"trace_id":")") + std::string(257, 'a') +
                                   R"(","span_id":"s","start_time":1})");
    EXPECT_STREQ(f.sqlstate, "22023");
    EXPECT_EQ(f.message, "trace_id is longer than 256 bytes (257)");
}

// Every id that reaches the primary key (or parent_span_id) is bounded, in
// every format: a 5,000-character id is a bad span, not a failed COPY.
TEST_F(NormalizerTest, LongIdsAreBadSpansInEveryFormat) {
    const std::string big(5000, 'a');
    const std::string cases[] = {
        R"({"span_id":"s","root_span_id":")" + big + R"(","created":1})",
        R"({"span_id":"s","span_parents":[")" + big + R"("],"created":1})",
        R"({"id":"v","timestamp":1,"traceId":")" + big + R"("})",
        R"({"id":"v","timestamp":1,"requestId":")" + big + R"("})",
        R"({"id":"v","timestamp":1,"parentId":")" + big + R"("})",
        R"({"trace_id":"t","span_id":"s","start_time":1,"parent_span_id":")" + big + R"("})",
        R"({"trace_id":"t","span_id":")" + big + R"(","start_time":1})",
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")" + big +
            R"(","spanId":"0102030405060708","startTimeUnixNano":"1"}]}]}]})",
    };
    for (const std::string& c : cases) {
        const core::Result& res = run("[" + c + "," +
                                      R"({"trace_id":"t","span_id":"ok","start_time":1}])");
        ASSERT_EQ(res.failures.size(), 1u) << c.substr(0, 80);
        EXPECT_STREQ(res.failures[0].sqlstate, "22023") << c.substr(0, 80);
        ASSERT_EQ(res.spans.size(), 1u) << c.substr(0, 80);
        EXPECT_EQ(str(res.spans[0].span_id), "ok");
    }
}

// A key sent twice: the last one counts, for columns and attributes alike (jsonb's rule).
TEST_F(NormalizerTest, DuplicateKeysTheLastOneCounts) {
    const core::Span& s = one(
        R"({"trace_id":"t1","trace_id":"t2","span_id":"s","start_time":1,"model":"a","model":"b",)"
        R"("usage":{"prompt_tokens":1,"completion_tokens":1},)"
        R"("usage":{"prompt_tokens":10,"completion_tokens":20}})");
    EXPECT_EQ(str(s.trace_id), "t2");
    EXPECT_EQ(str(s.model), "b");
    EXPECT_EQ(*s.tokens.input, 10);
    EXPECT_EQ(*s.tokens.output, 20);
    // attributes keep both usage copies as events; jsonb keeps the last, as the columns do.
    const std::string a = json(s.attributes);
    EXPECT_NE(a.rfind(R"("usage":{"prompt_tokens":10,"completion_tokens":20})"), std::string::npos) << a;

    const core::Span& o = one(
        R"({"resourceSpans":[{"resource":{"attributes":[)"
        R"({"key":"service.name","value":{"stringValue":"first"}},)"
        R"({"key":"service.name","value":{"stringValue":"last"}}]},)"
        R"("scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",)"
        R"("spanId":"0102030405060708","startTimeUnixNano":"1000","attributes":[)"
        R"({"key":"gen_ai.usage.input_tokens","value":{"intValue":"5"}},)"
        R"({"key":"gen_ai.usage.input_tokens","value":{"intValue":"7"}},)"
        R"({"key":"gen_ai.request.model","value":{"stringValue":"m1"}},)"
        R"({"key":"gen_ai.request.model","value":{"stringValue":"m2"}}]}]}]}]})");
    EXPECT_EQ(str(o.service), "last");
    EXPECT_EQ(*o.tokens.input, 7);
    EXPECT_EQ(str(o.model), "m2");
    const std::string oa = json(o.attributes);
    EXPECT_EQ(oa.find("gen_ai.usage.input_tokens"), std::string::npos) << oa;
    EXPECT_EQ(oa.find("gen_ai.request.model"), std::string::npos) << oa;
    EXPECT_EQ(oa.find("service.name"), std::string::npos) << oa;
}

// Control characters from a writer's escapes never reach an error message raw.
TEST_F(NormalizerTest, ControlCharactersInMessagesAreEscaped) {
    const core::Failure& f = fails(R"({"trace_id":"t","span_id":"s","start_time":"\u001b[31mred\n"})");
    EXPECT_EQ(f.message.find('\x1b'), std::string::npos);
    EXPECT_EQ(f.message.find('\n'), std::string::npos);
    EXPECT_NE(f.message.find("\\u001b[31mred\\u000a"), std::string::npos) << f.message;
}

// The JSON kept of a bad span is cut at the limit, on a character boundary.
TEST_F(NormalizerTest, FailureJsonIsCutAtTheLimit) {
    n.options().failure_json_limit = 100;
    std::string big = "[{\"span_id\":\"x\",\"input\":\"";
    for (int i = 0; i < 1000; ++i) big += "\u00e9";  // é, two bytes each
    big += "\"}]";
    const core::Result& res = run(big);
    ASSERT_EQ(res.failures.size(), 1u);
    EXPECT_TRUE(res.failures[0].json_truncated);
    EXPECT_LE(res.failures[0].json.size(), 100u);
    EXPECT_GE(res.failures[0].json.size(), 90u);
    // No character is split: the last lead byte starts a complete sequence.
    const std::string& j = res.failures[0].json;
    size_t lead = j.size() - 1;
    while (lead > 0 && (static_cast<unsigned char>(j[lead]) & 0xC0) == 0x80) --lead;
    const unsigned char c = static_cast<unsigned char>(j[lead]);
    const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    EXPECT_EQ(j.size() - lead, len);
    n.options().failure_json_limit = SIZE_MAX;
}

// Resource attributes are held once, whatever the number of spans below them.
TEST_F(NormalizerTest, ResourceAttributesAreSharedNotCopied) {
    std::string p = R"({"resourceSpans":[{"resource":{"attributes":[)";
    for (int i = 0; i < 500; ++i) {
        if (i) p += ',';
        p += R"({"key":"r)" + std::to_string(i) + R"(","value":{"stringValue":"v"}})";
    }
    p += R"(]},"scopeSpans":[{"spans":[)";
    for (int i = 0; i < 500; ++i) {
        if (i) p += ',';
        char id[17];
        std::snprintf(id, sizeof id, "%016x", i + 1);
        p += R"({"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":")" + std::string(id) +
             R"(","startTimeUnixNano":"1000"})";
    }
    p += "]}]}]}";
    const core::Result& res = run(p);
    ASSERT_EQ(res.spans.size(), 500u);
    for (const core::Span& s : res.spans) EXPECT_LT(s.attributes.events().size(), 10u);
    EXPECT_NE(json(res.spans[499].attributes).find(R"("r499":"v")"), std::string::npos);
}

// The interrupt hook runs during long work, and what it throws ends the payload.
namespace {
int interrupt_calls = 0;
struct Cancelled {};
void count_and_cancel() {
    if (++interrupt_calls == 3) throw Cancelled{};
}
}  // namespace

TEST_F(NormalizerTest, InterruptCheckRunsAndCanAbandonThePayload) {
    std::string p = "[";
    for (int i = 0; i < 20000; ++i) {
        if (i) p += ',';
        p += R"({"trace_id":"t","span_id":"s)" + std::to_string(i) + R"(","start_time":1})";
    }
    p += "]";
    interrupt_calls = 0;
    n.options().interrupt_check = count_and_cancel;
    EXPECT_THROW(run(p), Cancelled);
    EXPECT_EQ(interrupt_calls, 3);
    // Invalid JSON re-read for the error offset is interruptible too.
    interrupt_calls = 0;
    p.pop_back();
    p += ",{";
    EXPECT_THROW(run(p), Cancelled);
    n.options().interrupt_check = nullptr;
}

TEST_F(NormalizerTest, MissingStartTime) {
    const core::Failure& f = fails(R"({"trace_id":"t","span_id":"s","name":"x"})");
    EXPECT_STREQ(f.sqlstate, "22004");
    EXPECT_EQ(f.message, "the span has no start time");
    const core::Failure& g = fails(R"({"id":"v","timestamp":null})");
    EXPECT_STREQ(g.sqlstate, "22004");
}

TEST_F(NormalizerTest, EndBeforeStart) {
    const core::Failure& f = fails(
        R"({"trace_id":"t","span_id":"s","start_time":"2024-05-01T12:00:01Z","end_time":"2024-05-01T12:00:00Z"})");
    EXPECT_STREQ(f.sqlstate, "22023");
    EXPECT_EQ(f.message, "the end time is before the start time");
}

TEST_F(NormalizerTest, SingleSpanFailureIsThePayloadFailure) {
    // A single-span payload that fails: payload_failed, no location, and the
    // payload itself (not a copy in json) is the bad input.
    const core::Failure& f = fails(R"({"trace_id":"t","span_id":"s"})");
    EXPECT_EQ(f.location, "");
    EXPECT_EQ(f.json, "");
    EXPECT_STREQ(f.format, "native");
}

TEST_F(NormalizerTest, FailuresAreAlwaysClass22) {
    for (const char* p : {"{", "", "[1,", "{\"a\":1e999}", R"({"resourceSpans":[1]})",
                          R"({"trace_id":"t","span_id":"s","start_time":"2024-02-30"})",
                          R"({"id":"x","timestamp":"10000-01-01"})"}) {
        const core::Result& res = run(p);
        ASSERT_FALSE(res.failures.empty()) << p;
        for (const core::Failure& f : res.failures)
            EXPECT_EQ(std::string(f.sqlstate).substr(0, 2), "22") << p << ": " << f.sqlstate;
    }
}

// ===========================================================================
// Regression tests named after the bugs they caught (found by these tests and
// by the fuzzer).
// ===========================================================================

// Was a crash: read_otlp/read_span/read_resource/emit_anyvalue iterated the
// value of array_field(), which returns a default-constructed
// simdjson::dom::array when the key is missing or null ("default: empty").
// A default dom::array is not an empty array: it has no document, and
// begin()/end() read through a null pointer (SIGSEGV at -O2, assertion
// `tape.usable()` at -O0). An OTLP span without "attributes" - common in real
// exports - took the backend down. Each payload below runs in a child process.
TEST(NormalizerCrash, OtlpWithoutOptionalArraysDoesNotCrash) {
    const char* payloads[] = {
        // span without attributes
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1544712660000000000"}]}]}]})",
        // span with "attributes": null
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1544712660000000000","attributes":null}]}]}]})",
        // resource object without attributes
        R"({"resourceSpans":[{"resource":{},"scopeSpans":[]}]})",
        // resourceSpans entry without scopeSpans
        R"({"resourceSpans":[{}]})",
        // scopeSpans entry without spans
        R"({"resourceSpans":[{"scopeSpans":[{}]}]})",
        // only the old top-level name
        R"({"instrumentationLibrarySpans":[]})",
        // arrayValue / kvlistValue without values
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1544712660000000000","attributes":[{"key":"a","value":{"arrayValue":{}}}]}]}]}]})",
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1544712660000000000","attributes":[{"key":"a","value":{"kvlistValue":{}}}]}]}]}]})",
    };
    for (const char* p : payloads) {
        EXPECT_EXIT(
            {
                core::Normalizer n;
                core::Result r;
                n.normalize(p, r);
                std::exit(0);
            },
            ::testing::ExitedWithCode(0), "")
            << p;
    }
}

// Was: a token count sent as a digit string of 19 digits above INT64_MAX passed
// the "at most 19 digits" check and reached std::stoll, which threw
// std::out_of_range. That is not an InputError: it escaped normalize(), so the
// payload was neither quarantined nor rejected with a class-22 SQLSTATE.
TEST_F(NormalizerTest, TokenStringAboveInt64MaxIsOutOfRange) {
    EXPECT_NO_THROW(run(
        R"({"trace_id":"t","span_id":"s","start_time":1,"usage":{"prompt_tokens":"9999999999999999999"}})"));
    ASSERT_EQ(r.failures.size(), 1u);
    EXPECT_STREQ(r.failures[0].sqlstate, "22003");
}

// Was: the same std::stoll overflow for an OTLP intValue string of 19 digits
// above INT64_MAX, in any attribute (not only token counts).
TEST_F(NormalizerTest, OtlpIntValueStringAboveInt64MaxDoesNotThrow) {
    EXPECT_NO_THROW(run(otlp_attrs(R"({"key":"big","value":{"intValue":"9999999999999999999"}})")));
    // Not an int64: kept as the string it was sent as.
    ASSERT_EQ(r.spans.size(), 1u);
    EXPECT_EQ(json(r.spans[0].attributes), R"({"big":"9999999999999999999"})");
}

// Was: an OTLP int64 time sent as a string went through a double (rounded to
// 256 ns, then llround to us) while the same value sent as a number was divided
// exactly (truncated to us). 1544712660123456789 ns gave ...123457 us as a
// string and ...123456 us as a number, so a span whose start is a string and
// whose end is the same instant as a number was rejected as "end before start".
// SPEC §2: 64-bit integers may come as strings or numbers.
TEST_F(NormalizerTest, OtlpNanosAsStringOrNumberGiveTheSameMicroseconds) {
    const std::string ids =
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[],)";
    const core::Span& s1 = one(ids + R"("startTimeUnixNano":"1544712660123456789"}]}]}]})");
    const int64_t from_string = s1.start_us;
    const core::Span& s2 = one(ids + R"("startTimeUnixNano":1544712660123456789}]}]}]})");
    const int64_t from_number = s2.start_us;
    EXPECT_EQ(from_string, from_number);
    EXPECT_EQ(from_number, us(kOtlpExample) + 123456);
    one(ids + R"("startTimeUnixNano":"1544712660123456789","endTimeUnixNano":1544712660123456789}]}]}]})");
}

// BUG: U+0000 in the KEY of a top-level field copied to attributes is not
// checked (copy_unmapped / copy_unmapped_nested / OTLP span fields / scope
// fields check the value subtree only), so the key reaches jsonb with a NUL.
TEST_F(NormalizerTest, NulInAttributeKeyIsRejected) {
    for (const std::string& p : {
             std::string(R"({"trace_id":"t","span_id":"s","start_time":1,"x\u0000y":1})"),
             std::string(R"({"span_id":"s","root_span_id":"r","created":1,"metadata":{"k\u0000":1}})"),
             std::string(R"({"id":"v","timestamp":1714564800000,"a\u0000":1})"),
             otlp_span(R"("x\u0000":1)"),
             otlp_attrs(R"({"key":"gen_ai.prompt.0.ro\u0000le","value":{"stringValue":"user"}})"),
         }) {
        run(p);
        EXPECT_TRUE(r.spans.empty()) << p << "\n -> attributes " << (r.spans.empty() ? "" : json(r.spans[0].attributes))
                                     << " input " << (r.spans.empty() ? "" : json(r.spans[0].input));
        if (r.failures.size() == 1) EXPECT_STREQ(r.failures[0].sqlstate, "22P05") << p;
    }
}

// BUG: error messages quote the bad value cut at a byte count (substr(0, 40),
// substr(0, 64)), which can split a UTF-8 sequence: the message, stored in
// ingest_errors.error or raised, is then not valid UTF-8. nlohmann's parse
// error text does the same ("last read: '"a":\xe8'" for a payload whose
// 3-byte character stands where a value belongs). Also a payload key with
// U+0000 is copied into a message ("attribute ro\0le: ..."). Found by the
// fuzzer (the nlohmann case) and by reading (the others).
TEST_F(NormalizerTest, FailureMessagesAreValidUtf8WithoutNul) {
    // "a" + 30 x "é" (2 bytes each): byte 40 falls inside the 20th "é".
    std::string accents = "a";
    for (int i = 0; i < 30; ++i) accents += "\xC3\xA9";
    for (const std::string& p : {
             R"({"trace_id":"t","span_id":"s","start_time":1,"status":")" + accents + R"("})",
             R"({"trace_id":"t","span_id":"s","start_time":")" + accents + R"("})",
             R"({"trace_id":"t","span_id":"s","start_time":1,"usage":{"prompt_tokens":")" + accents + R"("}})",
             otlp_span(R"("kind":")" + accents + R"(")"),
             otlp_attrs(R"({"key":"gen_ai.prompt.0.ro\u0000le","value":{"arrayValue":5}})"),
             std::string("{\"a\":\xE8\xA8\x92}"),  // U+8A12 where a value belongs
         }) {
        run(p);
        ASSERT_EQ(r.failures.size(), 1u) << p;
        const std::string& m = r.failures[0].message;
        EXPECT_TRUE(valid_utf8(m)) << "not UTF-8: " << m;
        EXPECT_EQ(m.find('\0'), std::string::npos) << "holds U+0000: " << m;
    }
}

// BUG: attributes can hold the same key twice, and jsonb keeps only the last:
// an OTLP span attribute named "scope", "resource" or like a span field
// ("events", "flags"...) collides with what the normalizer adds, and a Vercel
// top-level "tokens" collides with metadata.tokens. SPEC §2: nothing sent is lost.
TEST_F(NormalizerTest, AttributeKeysAreUnique) {
    for (const std::string& p : {
             std::string(R"({"resourceSpans":[{"scopeSpans":[{"scope":{"name":"lib"},"spans":[{)"
                         R"("traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",)"
                         R"("startTimeUnixNano":"1544712660000000000",)"
                         R"("attributes":[{"key":"scope","value":{"stringValue":"mine"}}]}]}]}]})"),
             otlp_span(R"("flags":1,"attributes":[{"key":"flags","value":{"intValue":2}}])"),
             std::string(R"({"id":"v","timestamp":1714564800000,"tokens":5,"metadata":{"tokens":{"input":1}}})"),
         }) {
        run(p);
        ASSERT_EQ(r.spans.size(), 1u) << p;
        const std::string a = json(r.spans[0].attributes);
        simdjson::dom::parser parser;
        simdjson::dom::object o;
        ASSERT_EQ(parser.parse(a).get(o), simdjson::SUCCESS) << a;
        std::vector<std::string_view> keys;
        for (auto kv : o) keys.push_back(kv.key);
        std::sort(keys.begin(), keys.end());
        auto dup = std::adjacent_find(keys.begin(), keys.end());
        EXPECT_TRUE(dup == keys.end()) << "key \"" << (dup == keys.end() ? "" : std::string(*dup))
                                       << "\" twice in " << a;
    }
}

}  // namespace
}  // namespace llmtrace::test
