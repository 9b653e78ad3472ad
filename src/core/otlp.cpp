// OTLP/JSON ExportTraceServiceRequest: resourceSpans[].scopeSpans[].spans[],
// with the GenAI attribute vocabularies (OTel GenAI current and older names,
// OpenInference, Vercel AI SDK, OpenLLMetry) mapped to span columns.
#include "core/normalizer.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <array>
#include <cctype>
#include <cstring>
#include <unordered_map>

namespace llmtrace::core::detail {

namespace {

enum Target : uint8_t {
    kModel, kProvider, kOperation, kInTok, kOutTok, kCachedTok, kCacheWriteTok, kReasoningTok,
    kTotalTok, kCost, kUser, kSession, kProject, kEnvironment, kEndpoint, kFeature, kService,
    kInput, kOutput, kTargetCount
};

struct Mapping {
    Target target;
    uint8_t priority;  // higher wins when several vocabularies send the same fact
};

// Token rule for every vocabulary below: the input count already includes
// cached reads and cache writes (OTel GenAI, OpenInference, AI SDK, OpenLLMetry).
const std::unordered_map<std::string_view, Mapping>& mappings() {
    static const std::unordered_map<std::string_view, Mapping> m = {
        // model: the response model names the exact (often dated) version priced.
        {"gen_ai.response.model", {kModel, 5}},
        {"ai.response.model", {kModel, 4}},
        {"llm.response.model", {kModel, 4}},
        {"gen_ai.request.model", {kModel, 3}},
        {"llm.model_name", {kModel, 3}},
        {"ai.model.id", {kModel, 2}},
        {"llm.request.model", {kModel, 1}},
        // provider
        {"gen_ai.provider.name", {kProvider, 5}},
        {"gen_ai.system", {kProvider, 4}},
        {"llm.provider", {kProvider, 3}},
        {"ai.model.provider", {kProvider, 2}},
        {"llm.system", {kProvider, 1}},
        // operation
        {"gen_ai.operation.name", {kOperation, 5}},
        {"openinference.span.kind", {kOperation, 3}},
        {"ai.operationId", {kOperation, 2}},
        {"llm.request.type", {kOperation, 1}},
        // tokens
        {"gen_ai.usage.input_tokens", {kInTok, 5}},
        {"gen_ai.usage.prompt_tokens", {kInTok, 4}},
        {"llm.token_count.prompt", {kInTok, 3}},
        {"ai.usage.inputTokens", {kInTok, 2}},
        {"ai.usage.promptTokens", {kInTok, 2}},
        {"llm.usage.prompt_tokens", {kInTok, 1}},
        {"ai.usage.tokens", {kInTok, 1}},  // AI SDK embeddings
        {"gen_ai.usage.output_tokens", {kOutTok, 5}},
        {"gen_ai.usage.completion_tokens", {kOutTok, 4}},
        {"llm.token_count.completion", {kOutTok, 3}},
        {"ai.usage.outputTokens", {kOutTok, 2}},
        {"ai.usage.completionTokens", {kOutTok, 2}},
        {"llm.usage.completion_tokens", {kOutTok, 1}},
        {"gen_ai.usage.cache_read.input_tokens", {kCachedTok, 5}},
        {"gen_ai.usage.cache_read_input_tokens", {kCachedTok, 4}},
        {"llm.token_count.prompt_details.cache_read", {kCachedTok, 3}},
        {"ai.usage.cachedInputTokens", {kCachedTok, 2}},
        {"ai.usage.inputTokenDetails.cacheReadTokens", {kCachedTok, 2}},
        {"gen_ai.usage.cache_creation.input_tokens", {kCacheWriteTok, 5}},
        {"gen_ai.usage.cache_creation_input_tokens", {kCacheWriteTok, 4}},
        {"gen_ai.usage.cache_write_input_tokens", {kCacheWriteTok, 4}},
        {"ai.usage.inputTokenDetails.cacheWriteTokens", {kCacheWriteTok, 2}},
        {"llm.token_count.prompt_details.cache_write", {kCacheWriteTok, 3}},
        {"gen_ai.usage.reasoning.output_tokens", {kReasoningTok, 5}},
        {"gen_ai.usage.reasoning_tokens", {kReasoningTok, 4}},
        {"llm.token_count.completion_details.reasoning", {kReasoningTok, 3}},
        {"ai.usage.reasoningTokens", {kReasoningTok, 2}},
        {"ai.usage.outputTokenDetails.reasoningTokens", {kReasoningTok, 2}},
        {"gen_ai.usage.total_tokens", {kTotalTok, 5}},
        {"llm.token_count.total", {kTotalTok, 3}},
        {"ai.usage.totalTokens", {kTotalTok, 2}},
        {"llm.usage.total_tokens", {kTotalTok, 1}},
        // cost reported by the instrumentation
        {"llmtrace.cost_usd", {kCost, 5}},
        {"gen_ai.usage.cost", {kCost, 4}},
        {"llm.cost.total", {kCost, 3}},
        // dimensions
        {"user.id", {kUser, 5}},
        {"enduser.id", {kUser, 4}},
        {"ai.telemetry.metadata.userId", {kUser, 2}},
        {"ai.settings.context.userId", {kUser, 1}},  // AI SDK 7 runtimeContext
        {"session.id", {kSession, 5}},
        {"gen_ai.conversation.id", {kSession, 4}},
        {"ai.telemetry.metadata.sessionId", {kSession, 2}},
        {"ai.settings.context.sessionId", {kSession, 1}},
        {"llmtrace.project", {kProject, 5}},
        {"project.name", {kProject, 3}},
        {"llmtrace.environment", {kEnvironment, 5}},
        {"deployment.environment.name", {kEnvironment, 4}},
        {"deployment.environment", {kEnvironment, 3}},
        {"llmtrace.endpoint", {kEndpoint, 5}},
        {"http.route", {kEndpoint, 2}},
        {"llmtrace.feature", {kFeature, 5}},
        {"ai.telemetry.functionId", {kFeature, 2}},
        {"service.name", {kService, 5}},
        // content
        {"gen_ai.input.messages", {kInput, 5}},
        {"ai.prompt.messages", {kInput, 4}},
        {"gen_ai.prompt", {kInput, 3}},
        {"input.value", {kInput, 3}},
        {"ai.prompt", {kInput, 2}},
        {"gen_ai.output.messages", {kOutput, 5}},
        {"gen_ai.completion", {kOutput, 3}},
        {"output.value", {kOutput, 3}},
        {"ai.response.text", {kOutput, 2}},
        {"ai.response.object", {kOutput, 2}},
    };
    return m;
}

// Indexed message attributes: gen_ai.prompt.0.role (OpenLLMetry),
// llm.input_messages.0.message.content (OpenInference).
struct IndexedPrefix {
    std::string_view prefix;
    Target target;
    std::string_view strip;  // removed from the field path
};
constexpr std::array<IndexedPrefix, 4> kIndexed = {{
    {"gen_ai.prompt.", kInput, ""},
    {"gen_ai.completion.", kOutput, ""},
    {"llm.input_messages.", kInput, "message."},
    {"llm.output_messages.", kOutput, "message."},
}};

struct IndexedField {
    uint32_t index;
    std::string_view field;
    element value;  // AnyValue
};

bool parse_indexed(std::string_view key, const IndexedPrefix& p, IndexedField& out) {
    if (key.size() <= p.prefix.size() || key.compare(0, p.prefix.size(), p.prefix) != 0) return false;
    std::string_view rest = key.substr(p.prefix.size());
    size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string_view::npos || dot > 6) return false;
    uint32_t idx = 0;
    for (size_t i = 0; i < dot; ++i) {
        if (rest[i] < '0' || rest[i] > '9') return false;
        idx = idx * 10 + uint32_t(rest[i] - '0');
    }
    std::string_view field = rest.substr(dot + 1);
    if (!p.strip.empty() && field.compare(0, p.strip.size(), p.strip) == 0)
        field = field.substr(p.strip.size());
    if (field.empty()) return false;
    out.index = idx;
    out.field = field;
    return true;
}

// An OTLP KeyValue entry {"key": "...", "value": {AnyValue}}: false when it is
// not an object with a string key. `value` is null when absent.
bool kv_entry(element kv, std::string_view& key, element& value, bool& has_value) {
    object o;
    element k;
    if (kv.get_object().get(o) || !lookup(o, "key", k) || k.get_string().get(key)) return false;
    has_value = lookup(o, "value", value);
    return true;
}
element kv_key_element(element kv) {
    element k;
    lookup(object(kv), "key", k);
    return k;
}

// An empty array that outlives every payload: what a missing or null list reads as.
simdjson::dom::array empty_array() {
    static simdjson::dom::parser parser;
    static simdjson::dom::array empty = [] {
        simdjson::dom::array a;
        if (parser.parse(std::string_view("[]")).get_array().get(a)) std::abort();
        return a;
    }();
    return empty;
}

simdjson::dom::array array_field(object o, std::string_view key, const std::string& where) {
    simdjson::dom::array a;
    element v;
    if (!lookup(o, key, v) || v.is_null()) return empty_array();
    if (v.get_array().get(a)) fail(sqlstate::kInvalidParameter, where + std::string(key) + " must be an array");
    return a;
}

// The scalar or structure inside an OTLP AnyValue ({"stringValue": "x"} -> "x").
// Returns the member key in `which`; an empty AnyValue is null.
std::optional<element> any_inner(element av, std::string_view& which, std::string_view field) {
    object o;
    if (av.get_object().get(o))
        fail(sqlstate::kInvalidParameter,
             "attribute " + std::string(field) + " must hold an OTLP AnyValue object");
    for (auto kv : o) {
        which = kv.key;
        return kv.value;
    }
    which = std::string_view();
    return std::nullopt;
}

void emit_anyvalue(Normalizer& n, JsonTape& t, element av, std::string_view field);

void emit_kvlist(Normalizer& n, JsonTape& t, simdjson::dom::array kvs, std::string_view field) {
    t.begin_object();
    for (auto kv : kvs) {
        n.tick();
        std::string_view key;
        element v;
        bool has_value = false;
        if (!kv_entry(kv, key, v, has_value))
            fail(sqlstate::kInvalidParameter,
                 "attribute list " + std::string(field) + " holds an entry without a string key");
        if (n.may_contain_nul()) check_tree(kv_key_element(kv), field);
        t.key(key);
        if (!has_value)
            t.null();
        else
            emit_anyvalue(n, t, v, key);
    }
    t.end_object();
}

void emit_anyvalue(Normalizer& n, JsonTape& t, element av, std::string_view field) {
    std::string_view which;
    auto inner = any_inner(av, which, field);
    if (!inner) {
        t.null();
        return;
    }
    if (which == "intValue" && inner->type() == simdjson::dom::element_type::STRING) {
        // OTLP/JSON writes int64 as a string; one that is not an int64 stays a string.
        std::string_view s(*inner);
        int64_t v = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size()) {
            t.int64(v);
            return;
        }
    }
    if (which == "arrayValue" || which == "kvlistValue") {
        object o;
        if (inner->get_object().get(o))
            fail(sqlstate::kInvalidParameter, "attribute " + std::string(field) + ": " +
                                                  std::string(which) + " must be an object");
        simdjson::dom::array values = array_field(o, "values", std::string(field) + ".");
        if (which == "kvlistValue") {
            emit_kvlist(n, t, values, field);
            return;
        }
        t.begin_array();
        for (auto v : values) emit_anyvalue(n, t, v, field);
        t.end_array();
        return;
    }
    tape_element(n, t, *inner, field);
}

// Hex ids; base64 (what a proto-JSON encoder without OTLP's hex rule writes) is
// converted to hex.
Str otlp_id(Normalizer& n, object o, std::string_view key, size_t hex_len, bool required,
            const std::string& where) {
    element v;
    std::string_view s;
    if (!lookup(o, key, v) || v.is_null() || (v.get_string().get(s) == simdjson::SUCCESS && s.empty())) {
        if (required) fail(sqlstate::kNullNotAllowed, where + std::string(key) + " is missing");
        return Str();
    }
    if (v.get_string().get(s)) fail(sqlstate::kInvalidParameter, where + std::string(key) + " must be a hex string");
    auto is_hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    if (s.size() == hex_len && std::all_of(s.begin(), s.end(), is_hex)) {
        Str id = n.arena().lower_copy(s);
        if (std::all_of(id.begin(), id.end(), [](char c) { return c == '0'; }))
            fail(sqlstate::kInvalidParameter, where + std::string(key) + " is all zeros (invalid)");
        return id;
    }
    // base64 of hex_len/2 bytes
    size_t bytes = hex_len / 2;
    size_t b64len = (bytes + 2) / 3 * 4;
    if (s.size() == b64len) {
        static const std::string_view alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string raw;
        uint32_t buf = 0;
        int bits = 0;
        bool ok = true;
        for (char c : s) {
            if (c == '=') break;
            size_t p = alphabet.find(c);
            if (p == std::string_view::npos) {
                ok = false;
                break;
            }
            buf = (buf << 6) | uint32_t(p);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                raw += char((buf >> bits) & 0xff);
            }
        }
        if (ok && raw.size() == bytes) {
            static const char hex[] = "0123456789abcdef";
            std::string h;
            for (unsigned char c : raw) {
                h += hex[c >> 4];
                h += hex[c & 15];
            }
            if (h != std::string(hex_len, '0')) return n.arena().copy(h);
        }
    }
    fail(sqlstate::kInvalidParameter, where + std::string(key) + " must be " +
                                          std::to_string(hex_len) + " hex digits, got \"" +
                                          std::string(s.substr(0, 64)) + "\"");
}

Str kind_name(element v, const std::string& where) {
    static const char* const kNames[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
    if (v.type() == simdjson::dom::element_type::INT64 || v.type() == simdjson::dom::element_type::UINT64) {
        int64_t k = v.type() == simdjson::dom::element_type::INT64 ? int64_t(v) : -1;
        if (k < 0 || k > 5) fail(sqlstate::kInvalidParameter, where + "kind must be 0..5");
        return kNames[k];
    }
    std::string_view s;
    if (v.get_string().get(s)) fail(sqlstate::kInvalidParameter, where + "kind must be an integer or a name");
    std::string u(s);
    for (char& c : u) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (u.rfind("span_kind_", 0) == 0) u = u.substr(10);
    for (const char* k : kNames)
        if (u == k) return k;
    fail(sqlstate::kInvalidParameter, where + "kind \"" + std::string(s.substr(0, 40)) + "\" is unknown");
}

SpanStatus status_code(element v, const std::string& where) {
    if (v.type() == simdjson::dom::element_type::INT64) {
        int64_t c = int64_t(v);
        if (c == 0) return SpanStatus::Unset;
        if (c == 1) return SpanStatus::Ok;
        if (c == 2) return SpanStatus::Error;
    } else if (v.type() == simdjson::dom::element_type::STRING) {
        std::string_view s(v);
        if (s == "STATUS_CODE_UNSET") return SpanStatus::Unset;
        if (s == "STATUS_CODE_OK") return SpanStatus::Ok;
        if (s == "STATUS_CODE_ERROR") return SpanStatus::Error;
    }
    fail(sqlstate::kInvalidParameter, where + "status.code must be 0, 1, 2 or a STATUS_CODE_* name");
}

Str operation_name(Str raw, std::string_view key) {
    if (!present(raw)) return raw;
    if (key == "openinference.span.kind" || key == "llm.request.type") {
        Str op = operation_from_kind(raw);
        return present(op) ? op : raw;
    }
    if (key == "ai.operationId") {
        std::string_view s = raw;
        if (s.find("embed") != std::string_view::npos) return "embeddings";
        if (s.find("toolCall") != std::string_view::npos) return "execute_tool";
        if (s.find("generate") != std::string_view::npos || s.find("stream") != std::string_view::npos)
            return "chat";
    }
    return raw;
}

// Attributes that carry message content: dropped when llmtrace.store_content = 'none'.
bool is_content_key(std::string_view key,
                    std::unordered_map<std::string_view, Mapping>::const_iterator it) {
    if (it != mappings().end()) return it->second.target == kInput || it->second.target == kOutput;
    static const std::string_view kContent[] = {
        "gen_ai.system_instructions", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
        "gen_ai.tool.definitions", "ai.response.toolCalls", "ai.toolCall.args",
        "ai.toolCall.result", "ai.prompt.tools", "llm.prompts", "llm.tools",
        "tool.parameters", "llm.prompt_template.variables"};
    for (std::string_view c : kContent)
        if (key == c) return true;
    for (const IndexedPrefix& p : kIndexed)
        if (key.compare(0, p.prefix.size(), p.prefix) == 0) return true;
    return false;
}

// What a resource or a scope contributes to each span below it.
struct Context {
    std::array<Str, kTargetCount> text{};
    // attributes["otel.resource"] and ["otel.scope"] events, or empty tapes. They
    // live in the Normalizer until the next payload and every span below refers
    // to them: they are never copied per span.
    JsonTape* resource = nullptr;
    JsonTape* scope = nullptr;
};

bool is_text_target(Target t) {
    return t == kModel || t == kProvider || t == kOperation || t == kUser || t == kSession ||
           t == kProject || t == kEnvironment || t == kEndpoint || t == kFeature || t == kService;
}

Str anyvalue_text(Normalizer& n, element av, std::string_view key) {
    std::string_view which;
    auto inner = any_inner(av, which, key);
    if (!inner) return Str();
    if (which == "arrayValue" || which == "kvlistValue")
        fail(sqlstate::kInvalidParameter, "attribute " + std::string(key) + " must be a scalar");
    return text_of(n, *inner, key);
}

// Resource attributes: mapped ones become defaults for every span, the rest are
// kept as attributes["otel.resource"].
void read_resource(Normalizer& n, object rs, Context& ctx, const std::string& where) {
    ctx.resource = &n.shared_tape();
    auto r = get(rs, "resource");
    std::optional<element> schema = get(rs, "schemaUrl");
    if (!r && !schema) return;
    object ro;
    if (r && r->get_object().get(ro)) fail(sqlstate::kInvalidParameter, where + "resource must be an object");
    simdjson::dom::array attrs = r ? array_field(ro, "attributes", where + "resource.") : empty_array();
    // Pass 1: the highest-priority attribute for each column (as for spans).
    std::array<int, kTargetCount> best{};
    best.fill(-1);
    std::array<std::string_view, kTargetCount> winner{};
    for (auto kv : attrs) {
        n.tick();
        std::string_view key;
        element v;
        bool has_value = false;
        if (!kv_entry(kv, key, v, has_value))
            fail(sqlstate::kInvalidParameter, where + "resource.attributes holds an entry without a key");
        if (!has_value) continue;
        auto it = mappings().find(key);
        if (it == mappings().end() || !is_text_target(it->second.target)) continue;
        // A higher priority wins; of the same key sent twice, the last (as in jsonb).
        const Target t = it->second.target;
        if (int(it->second.priority) > best[t] ||
            (int(it->second.priority) == best[t] && winner[t] == key)) {
            best[t] = it->second.priority;
            winner[t] = key;
            ctx.text[t] = anyvalue_text(n, v, key);
        }
    }
    if (best[kProvider] >= 0) ctx.text[kProvider] = normalized_provider(n, ctx.text[kProvider]);
    // Pass 2: the rest is kept as attributes["otel.resource"].
    bool open = false;
    auto open_object = [&] {
        if (!open) {
            ctx.resource->key("otel.resource");
            ctx.resource->begin_object();
            open = true;
        }
    };
    for (auto kv : attrs) {
        n.tick();
        std::string_view key;
        element v;
        bool has_value = false;
        kv_entry(kv, key, v, has_value);
        auto it = mappings().find(key);
        if (it != mappings().end() && is_text_target(it->second.target) &&
            best[it->second.target] >= 0 && winner[it->second.target] == key)
            continue;  // in a column (every copy of the winning key: the last one counts)
        open_object();
        if (n.may_contain_nul()) check_tree(kv_key_element(kv), "resource attribute key");
        ctx.resource->key(key);
        if (has_value)
            emit_anyvalue(n, *ctx.resource, v, key);
        else
            ctx.resource->null();
    }
    if (r)
        for (auto kv : ro) {  // droppedAttributesCount and any other field
            if (kv.key == "attributes") continue;
            open_object();
            ctx.resource->key(kv.key);
            tape_element(n, *ctx.resource, kv.value, kv.key);
        }
    if (schema) {
        open_object();
        ctx.resource->key("schemaUrl");
        tape_element(n, *ctx.resource, *schema, "schemaUrl");
    }
    if (open) ctx.resource->end_object();
}

void read_scope(Normalizer& n, object ss, const char* scope_key, Context& ctx, const std::string& where) {
    ctx.scope = &n.shared_tape();
    auto sc = get(ss, scope_key);
    std::optional<element> schema = get(ss, "schemaUrl");
    object so;
    if (sc && sc->get_object().get(so)) fail(sqlstate::kInvalidParameter, where + "scope must be an object");
    if ((!sc || so.size() == 0) && !schema) return;
    ctx.scope->key("otel.scope");
    ctx.scope->begin_object();
    if (sc)
        for (auto kv : so) {
            ctx.scope->key(kv.key);
            if (kv.key == "attributes" && kv.value.type() == simdjson::dom::element_type::ARRAY)
                emit_kvlist(n, *ctx.scope, simdjson::dom::array(kv.value), "scope.attributes");
            else
                tape_element(n, *ctx.scope, kv.value, "scope");
        }
    if (schema) {
        ctx.scope->key("schemaUrl");
        tape_element(n, *ctx.scope, *schema, "schemaUrl");
    }
    ctx.scope->end_object();
}

void set_content_anyvalue(Normalizer& n, JsonTape& t, element av, std::string_view key) {
    if (n.content_mode() == ContentMode::None) return;
    std::string_view which;
    auto inner = any_inner(av, which, key);
    if (!inner) return;
    if (which == "stringValue") {
        set_content(n, t, *inner, key);
        return;
    }
    t.clear();
    emit_anyvalue(n, t, av, key);
}

void emit_indexed(Normalizer& n, JsonTape& t, std::vector<IndexedField>& fields) {
    t.clear();
    std::stable_sort(fields.begin(), fields.end(),
                     [](const IndexedField& a, const IndexedField& b) { return a.index < b.index; });
    t.begin_array();
    for (size_t i = 0; i < fields.size(); ++i) {
        if (i == 0 || fields[i].index != fields[i - 1].index) {
            if (i) t.end_object();
            t.begin_object();
        }
        t.key(fields[i].field);
        emit_anyvalue(n, t, fields[i].value, fields[i].field);
    }
    if (!fields.empty()) t.end_object();
    t.end_array();
}

void read_span(Normalizer& n, object so, const Context& ctx, const std::string& where, Span& s) {
    s.format = SourceFormat::Otlp;
    s.trace_id = otlp_id(n, so, "traceId", 32, true, where);
    s.span_id = otlp_id(n, so, "spanId", 16, true, where);
    s.parent_span_id = otlp_id(n, so, "parentSpanId", 16, false, where);
    s.name = text_field(n, so, "name");
    if (auto k = get(so, "kind")) s.kind = kind_name(*k, where);

    std::optional<int64_t> start, end;
    if (auto v = get(so, "startTimeUnixNano")) {
        int64_t us = timestamp_of(*v, "startTimeUnixNano");
        if (us != 0) start = us;
    }
    if (auto v = get(so, "endTimeUnixNano")) {
        int64_t us = timestamp_of(*v, "endTimeUnixNano");
        if (us != 0) end = us;
    }
    if (!start) fail(sqlstate::kNullNotAllowed, where + "startTimeUnixNano is missing or zero");
    finish_times(s, start, end, std::nullopt);

    if (auto st = get(so, "status")) {
        object sto;
        if (st->get_object().get(sto)) fail(sqlstate::kInvalidParameter, where + "status must be an object");
        if (auto c = get(sto, "code")) s.status = status_code(*c, where);
        if (Str m = text_field(n, sto, "message"); present(m) && !m.empty()) s.error_message = m;
    }

    // Pass 1: pick, for each column, the attribute of the highest-priority vocabulary.
    struct Slot {
        int priority = -1;
        element value;
        std::string_view key;
    };
    std::array<Slot, kTargetCount> slots{};
    std::vector<IndexedField> indexed[2];  // input, output
    simdjson::dom::array attrs = array_field(so, "attributes", where);
    Str error_type;
    // What decides whether the usage is the span's own (see below).
    std::string_view ai_operation_id, genai_operation;
    std::optional<element> provider_metadata;
    for (auto kv : attrs) {
        n.tick();
        std::string_view key;
        element v;
        bool has_value = false;
        if (!kv_entry(kv, key, v, has_value))
            fail(sqlstate::kInvalidParameter, where + "attributes holds an entry without a string key");
        if (!has_value) continue;
        if (key.size() > 3 && key[0] == 'a' && key[1] == 'i' && key[2] == '.') {
            std::string_view which;
            if (key == "ai.operationId") {
                if (auto in = any_inner(v, which, key); in && in->is_string()) ai_operation_id = std::string_view(*in);
            } else if (key == "ai.response.providerMetadata") {
                provider_metadata = v;
            }
        } else if (key == "gen_ai.operation.name") {
            std::string_view which;
            if (auto in = any_inner(v, which, key); in && in->is_string()) genai_operation = std::string_view(*in);
        }
        auto it = mappings().find(key);
        if (it != mappings().end()) {
            // A higher priority wins; of the same key sent twice, the last (as in jsonb).
            Slot& sl = slots[it->second.target];
            if (int(it->second.priority) > sl.priority ||
                (int(it->second.priority) == sl.priority && sl.key == key))
                sl = Slot{it->second.priority, v, key};
            continue;
        }
        if (key == "error.type") error_type = anyvalue_text(n, v, key);
        for (const IndexedPrefix& p : kIndexed) {
            IndexedField f;
            if (parse_indexed(key, p, f)) {
                f.value = v;
                indexed[p.target == kInput ? 0 : 1].push_back(f);
                break;
            }
        }
    }
    const bool use_indexed[2] = {slots[kInput].priority < 0 && !indexed[0].empty(),
                                 slots[kOutput].priority < 0 && !indexed[1].empty()};

    // Spans that repeat their descendants' usage: the AI SDK's outer spans
    // (ai.generateText, ai.streamText, ... around their doGenerate/doStream
    // children) and in-process agent invocations and their steps
    // (gen_ai.operation.name invoke_agent or agent_step with span kind
    // internal; a remote agent, kind client, is a call of its own). Their numbers stay in attributes, never in the columns,
    // so summing the columns counts every model call once.
    static const std::string_view kAggregateOps[] = {
        "ai.generateText", "ai.streamText", "ai.generateObject", "ai.streamObject",
        "ai.workflowAgent.stream"};
    for (std::string_view op : kAggregateOps)
        if (ai_operation_id == op) s.aggregate_usage = true;
    // AI SDK 7 also puts each step's usage on its agent_step span, above the
    // chat span of that step.
    if ((genai_operation == "invoke_agent" || genai_operation == "agent_step") &&
        !(present(s.kind) && s.kind == "client"))
        s.aggregate_usage = true;
    auto is_usage_target = [](Target t) {
        return t == kInTok || t == kOutTok || t == kCachedTok || t == kCacheWriteTok ||
               t == kReasoningTok || t == kTotalTok || t == kCost;
    };

    // Pass 2: everything not taken into a column is kept in attributes.
    for (auto kv : attrs) {
        n.tick();
        std::string_view key;
        element v;
        bool has_value = false;
        kv_entry(kv, key, v, has_value);
        if (!has_value) {
            s.attributes.key(key);
            s.attributes.null();
            continue;
        }
        auto it = mappings().find(key);
        if (it != mappings().end() && slots[it->second.target].priority >= 0 &&
            slots[it->second.target].key == key &&
            !(s.aggregate_usage && is_usage_target(it->second.target)))
            continue;  // in a column (every copy of the winning key: the last one counts)
        if (n.content_mode() == ContentMode::None && is_content_key(key, it)) continue;
        if (use_indexed[0] || use_indexed[1]) {
            bool taken = false;
            for (const IndexedPrefix& p : kIndexed) {
                IndexedField f;
                if (parse_indexed(key, p, f) && use_indexed[p.target == kInput ? 0 : 1]) {
                    taken = true;
                    break;
                }
            }
            if (taken) continue;
        }
        if (n.may_contain_nul()) check_tree(kv_key_element(kv), "attribute key");
        s.attributes.key(key);
        emit_anyvalue(n, s.attributes, v, key);
    }

    // Apply the winners; span attributes override resource and scope defaults.
    std::array<Str, kTargetCount> text = ctx.text;
    for (int t = 0; t < kTargetCount; ++t) {
        const Slot& sl = slots[t];
        if (sl.priority < 0 || !is_text_target(Target(t))) continue;
        Str v = anyvalue_text(n, sl.value, sl.key);
        if (t == kProvider) v = normalized_provider(n, v);
        if (t == kOperation) v = operation_name(v, sl.key);
        text[t] = v;
    }
    s.model = text[kModel];
    s.provider = text[kProvider];
    s.operation = text[kOperation];
    s.user_id = text[kUser];
    s.session_id = text[kSession];
    s.project = text[kProject];
    s.environment = text[kEnvironment];
    s.endpoint = text[kEndpoint];
    s.feature = text[kFeature];
    s.service = text[kService];

    auto tokens = [&](Target t) -> std::optional<int64_t> {
        const Slot& sl = slots[t];
        if (sl.priority < 0) return std::nullopt;
        std::string_view which;
        auto inner = any_inner(sl.value, which, sl.key);
        if (!inner || inner->is_null()) return std::nullopt;
        return token_count(*inner, "attribute " + std::string(sl.key));
    };
    s.tokens.input = tokens(kInTok);
    s.tokens.output = tokens(kOutTok);
    s.tokens.cached_input = tokens(kCachedTok);
    s.tokens.cache_write = tokens(kCacheWriteTok);
    s.tokens.reasoning = tokens(kReasoningTok);
    s.tokens.total = tokens(kTotalTok);
    const char* rule = nullptr;
    // The AI SDK's provider metadata (a JSON string). From Anthropic it holds
    // the raw usage object as the API returned it (AI SDK 5, whose
    // ai.usage.inputTokens is Anthropic's input_tokens, which EXCLUDES cache
    // reads and writes), and the cache writes the usage attributes of AI SDK
    // 5 leave out (anthropic.cacheCreationInputTokens).
    if (provider_metadata && !s.aggregate_usage) {
        std::string_view which;
        auto in = any_inner(*provider_metadata, which, "ai.response.providerMetadata");
        std::optional<element> meta;
        if (in && in->is_string()) meta = n.parse_nested(std::string_view(*in));
        object mo, ao, uo;
        element a, u, cw;
        if (meta && !meta->get_object().get(mo) && lookup(mo, "anthropic", a) && !a.get_object().get(ao)) {
            if (lookup(ao, "usage", u) && !u.get_object().get(uo) && has_key(uo, "input_tokens")) {
                // The raw usage is authoritative: Anthropic's own rule applies.
                if (s.tokens.any()) record_raw_usage(s, s.tokens);
                s.tokens = Tokens();
                const Str provider = s.provider;
                s.provider = "anthropic";
                rule = read_usage_object(uo, s);
                s.provider = provider;
                if (rule) rule = "ai sdk: Anthropic usage of ai.response.providerMetadata (input_tokens excludes the cache)";
            } else if (!s.tokens.cache_write && lookup(ao, "cacheCreationInputTokens", cw) && !cw.is_null()) {
                s.tokens.cache_write =
                    token_count(cw, "ai.response.providerMetadata.anthropic.cacheCreationInputTokens");
            }
        }
    }
    finish_tokens(s, rule);
    if (slots[kCost].priority >= 0 && !s.aggregate_usage) {
        std::string_view which;
        if (auto inner = any_inner(slots[kCost].value, which, slots[kCost].key))
            s.reported_cost = amount_of(*inner, "attribute " + std::string(slots[kCost].key));
    }
    if (slots[kInput].priority >= 0) set_content_anyvalue(n, s.input, slots[kInput].value, slots[kInput].key);
    else if (use_indexed[0] && n.content_mode() != ContentMode::None) emit_indexed(n, s.input, indexed[0]);
    if (slots[kOutput].priority >= 0) set_content_anyvalue(n, s.output, slots[kOutput].value, slots[kOutput].key);
    else if (use_indexed[1] && n.content_mode() != ContentMode::None) emit_indexed(n, s.output, indexed[1]);

    // Content in span events (OpenLIT, the older GenAI convention):
    // gen_ai.content.prompt / gen_ai.content.completion events carrying
    // gen_ai.prompt / gen_ai.completion. The events stay in otel.events too.
    if ((s.input.empty() || s.output.empty()) && n.content_mode() != ContentMode::None)
        if (auto ev = get(so, "events"); ev && ev->type() == simdjson::dom::element_type::ARRAY)
            for (auto e : simdjson::dom::array(*ev)) {
                object eo;
                element nm;
                std::string_view name;
                if (e.get_object().get(eo) || !lookup(eo, "name", nm) || nm.get_string().get(name)) continue;
                const bool prompt = name == "gen_ai.content.prompt";
                if (!prompt && name != "gen_ai.content.completion") continue;
                JsonTape& target = prompt ? s.input : s.output;
                if (!target.empty()) continue;
                const std::string_view want = prompt ? "gen_ai.prompt" : "gen_ai.completion";
                for (auto kv : array_field(eo, "attributes", where + "events[].")) {
                    std::string_view key;
                    element v;
                    bool has_value = false;
                    if (kv_entry(kv, key, v, has_value) && has_value && key == want)
                        set_content_anyvalue(n, target, v, key);
                }
            }

    if (s.status == SpanStatus::Unset && present(error_type)) {
        s.status = SpanStatus::Error;
        if (!present(s.error_message)) s.error_message = error_type;
    }

    // Remaining span fields (events, links, traceState, flags, ...) are kept as
    // sent, under "otel.<field>" so that they never collide with an attribute
    // (OpenTelemetry reserves the otel.* attribute namespace).
    for (auto kv : so) {
        std::string_view k = kv.key;
        if (k == "traceId" || k == "spanId" || k == "parentSpanId" || k == "name" || k == "kind" ||
            k == "startTimeUnixNano" || k == "endTimeUnixNano" || k == "attributes" || k == "status")
            continue;
        // An empty list says nothing, and protobuf cannot tell it from no list:
        // both encodings of the same span store the same row.
        if (kv.value.type() == simdjson::dom::element_type::ARRAY && simdjson::dom::array(kv.value).size() == 0)
            continue;
        s.attributes.key(n.arena().copy("otel." + std::string(k)));
        if (k == "events" && n.content_mode() == ContentMode::None &&
            kv.value.type() == simdjson::dom::element_type::ARRAY) {
            // GenAI events (gen_ai.user.message, gen_ai.choice, ...) carry message content.
            s.attributes.begin_array();
            for (auto ev : simdjson::dom::array(kv.value)) {
                std::string_view name;
                object eo;
                element nm;
                if (!ev.get_object().get(eo) && lookup(eo, "name", nm) && !nm.get_string().get(name) &&
                    name.compare(0, 7, "gen_ai.") == 0)
                    continue;
                tape_element(n, s.attributes, ev, k);
            }
            s.attributes.end_array();
            continue;
        }
        tape_element(n, s.attributes, kv.value, k);
    }
    s.attributes.append(*ctx.resource);
    s.attributes.append(*ctx.scope);
}

}  // namespace

void read_otlp(Normalizer& n, object root, const std::string& loc, SpanSink& out) {
    // OTLP before 0.9 named the scope level instrumentationLibrarySpans.
    const std::string top = loc.empty() ? "" : loc + ".";
    simdjson::dom::array resources = array_field(root, "resourceSpans", top);
    size_t ri = 0;
    for (auto r : resources) {
        std::string rloc = top + "resourceSpans[" + std::to_string(ri++) + "]";
        object ro;
        Context ctx;
        try {
            if (r.get_object().get(ro)) fail(sqlstate::kInvalidParameter, "resourceSpans entries must be objects");
            read_resource(n, ro, ctx, "");
        } catch (const InputError& e) {
            n.report_failure(out, e, rloc, r, "otlp");
            continue;
        }
        const char* scope_list = "scopeSpans";
        const char* scope_key = "scope";
        if (!has_key(ro, "scopeSpans") && has_key(ro, "instrumentationLibrarySpans")) {
            scope_list = "instrumentationLibrarySpans";
            scope_key = "instrumentationLibrary";
        }
        simdjson::dom::array scopes;
        try {
            scopes = array_field(ro, scope_list, "");
        } catch (const InputError& e) {
            n.report_failure(out, e, rloc, r, "otlp");
            continue;
        }
        size_t si = 0;
        for (auto sc : scopes) {
            std::string sloc = rloc + "." + scope_list + "[" + std::to_string(si++) + "]";
            object sco;
            simdjson::dom::array spans;
            try {
                if (sc.get_object().get(sco)) fail(sqlstate::kInvalidParameter, "scopeSpans entries must be objects");
                read_scope(n, sco, scope_key, ctx, "");
                spans = array_field(sco, "spans", "");
            } catch (const InputError& e) {
                n.report_failure(out, e, sloc, sc, "otlp");
                continue;
            }
            size_t pi = 0;
            for (auto sp : spans) {
                n.tick(16);
                std::string ploc = sloc + ".spans[" + std::to_string(pi++) + "]";
                Span s;
                s.attributes.begin_object();
                try {
                    object spo;
                    if (sp.get_object().get(spo)) fail(sqlstate::kInvalidParameter, "a span must be an object");
                    read_span(n, spo, ctx, "", s);
                    if (n.may_contain_nul()) check_span_nul(s);
                } catch (const InputError& e) {
                    n.report_failure(out, e, ploc, sp, "otlp");
                    continue;
                }
                s.attributes.end_object();
                out.span(s);
            }
        }
    }
}

}  // namespace llmtrace::core::detail
