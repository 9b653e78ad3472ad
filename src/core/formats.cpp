// The single-span formats: native, Braintrust span events, Vercel drain records.
#include "core/normalizer.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace llmtrace::core::detail {

namespace {

using Keys = std::initializer_list<std::string_view>;

bool in(Keys keys, std::string_view k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
}

std::optional<element> first_of(object o, Keys keys) {
    for (auto k : keys)
        if (auto v = get(o, k)) return v;
    return std::nullopt;
}

Str first_text(Normalizer& n, object o, Keys keys) {
    for (auto k : keys)
        if (auto v = get(o, k)) return text_of(n, *v, k);
    return Str();
}

std::optional<int64_t> first_tokens(object o, Keys keys, std::string_view prefix) {
    for (auto k : keys)
        if (auto v = get(o, k)) return token_count(*v, std::string(prefix) + std::string(k));
    return std::nullopt;
}

object object_of(element v, std::string_view field) {
    object o;
    if (v.get_object().get(o)) fail(sqlstate::kInvalidParameter, std::string(field) + " must be an object");
    return o;
}

Str required_id(Normalizer& n, object o, std::string_view key) {
    Str id = text_field(n, o, key);
    if (!present(id) || id.empty())
        fail(sqlstate::kNullNotAllowed, std::string(key) + " is missing");
    return checked_id(id, key);
}

Str nonempty(Str s) { return present(s) && s.empty() ? Str() : s; }

// Copies every member of `o` whose key is not in `mapped` into the attributes.
void copy_unmapped(Normalizer& n, Span& s, object o, Keys mapped) {
    for (auto kv : o) {
        n.tick();
        if (in(mapped, kv.key)) continue;
        s.attributes.key(kv.key);
        tape_element(n, s.attributes, kv.value, kv.key);
    }
}

// Copies the unmapped members of a nested object as attributes[name] = {...}.
void copy_unmapped_nested(Normalizer& n, Span& s, std::string_view name, object o, Keys mapped) {
    bool open = false;
    for (auto kv : o) {
        n.tick();
        if (in(mapped, kv.key)) continue;
        if (!open) {
            s.attributes.key(name);
            s.attributes.begin_object();
            open = true;
        }
        s.attributes.key(kv.key);
        tape_element(n, s.attributes, kv.value, kv.key);
    }
    if (open) s.attributes.end_object();
}

SpanStatus status_from_text(Str st) {
    std::string v(st);
    for (char& c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (v == "ok" || v == "success" || v == "succeeded" || v == "status_code_ok") return SpanStatus::Ok;
    if (v == "error" || v == "failed" || v == "failure" || v == "status_code_error")
        return SpanStatus::Error;
    if (v == "unset" || v.empty() || v == "status_code_unset") return SpanStatus::Unset;
    fail(sqlstate::kInvalidParameter,
         "status must be 'ok', 'error' or 'unset', got \"" + std::string(st.substr(0, 40)) + "\"");
}

// `error` as sent: a message string, an object with a message, or a boolean.
// Returns true when it marks the span as failed; an object is kept in attributes.
bool read_error(Normalizer& n, Span& s, element e) {
    switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
        return false;
    case simdjson::dom::element_type::BOOL:
        return bool(e);
    case simdjson::dom::element_type::STRING:
        s.error_message = text_of(n, e, "error");
        return true;
    case simdjson::dom::element_type::OBJECT: {
        object eo(e);
        s.error_message = first_text(n, eo, {"message", "error", "type", "name", "code"});
        s.attributes.key("error");
        tape_element(n, s.attributes, e, "error");
        return true;
    }
    default:
        s.error_message = n.arena().copy(element_to_json(e));
        if (n.may_contain_nul()) check_tree(e, "error");
        return true;
    }
}

// Token counts of a flat object with one of several key spellings.
void read_flat_tokens(object t, Tokens& tok, std::string_view prefix) {
    tok.input = first_tokens(t, {"input", "prompt", "inputTokens", "promptTokens", "input_tokens",
                                 "prompt_tokens"}, prefix);
    tok.output = first_tokens(t, {"output", "completion", "outputTokens", "completionTokens",
                                  "output_tokens", "completion_tokens"}, prefix);
    tok.cached_input = first_tokens(t, {"cached", "cachedInput", "cachedInputTokens",
                                        "cached_input_tokens", "cacheRead", "cache_read"}, prefix);
    tok.cache_write = first_tokens(t, {"cacheWrite", "cache_write", "cacheWriteTokens",
                                       "cache_write_tokens", "cacheCreation"}, prefix);
    tok.reasoning = first_tokens(t, {"reasoning", "reasoningTokens", "reasoning_tokens"}, prefix);
    tok.total = first_tokens(t, {"total", "totalTokens", "total_tokens"}, prefix);
}

}  // namespace

// ---------------------------------------------------------------------------
// native: llmtrace's own flat record
// ---------------------------------------------------------------------------
void read_native(Normalizer& n, object o, Span& s) {
    s.trace_id = required_id(n, o, "trace_id");
    s.span_id = required_id(n, o, "span_id");
    s.parent_span_id = checked_id(nonempty(text_field(n, o, "parent_span_id")), "parent_span_id");
    s.name = text_field(n, o, "name");
    s.kind = text_field(n, o, "kind");
    s.operation = text_field(n, o, "operation");
    std::optional<int64_t> start, end;
    std::optional<double> dur;
    if (auto v = get(o, "start_time")) start = timestamp_of(*v, "start_time");
    if (auto v = get(o, "end_time")) end = timestamp_of(*v, "end_time");
    if (auto v = get(o, "duration_ms")) dur = amount_of(*v, "duration_ms");
    finish_times(s, start, end, dur);

    Str st = text_field(n, o, "status");
    if (present(st)) s.status = status_from_text(st);
    element err;
    if (lookup(o, "error", err)) {
        if (read_error(n, s, err))
            s.status = SpanStatus::Error;
        else if (!present(st))
            s.status = SpanStatus::Ok;  // "error": null or false says the call succeeded
    }

    s.service = text_field(n, o, "service");
    s.project = text_field(n, o, "project");
    s.environment = text_field(n, o, "environment");
    s.endpoint = text_field(n, o, "endpoint");
    s.feature = text_field(n, o, "feature");
    s.user_id = text_field(n, o, "user_id");
    s.session_id = text_field(n, o, "session_id");
    s.provider = normalized_provider(n, text_field(n, o, "provider"));
    s.model = text_field(n, o, "model");
    const char* rule = nullptr;
    if (auto u = get(o, "usage")) rule = read_usage_object(object_of(*u, "usage"), s);
    if (auto c = get(o, "cost_usd")) s.reported_cost = amount_of(*c, "cost_usd");
    if (auto v = get(o, "input")) set_content(n, s.input, *v, "input");
    if (auto v = get(o, "output")) set_content(n, s.output, *v, "output");
    finish_tokens(s, rule);
    // `usage` is kept whole in attributes: only some of its fields map to columns.
    copy_unmapped(n, s, o,
                  {"trace_id", "span_id", "parent_span_id", "name", "kind", "operation",
                   "start_time", "end_time", "duration_ms", "status", "error", "service",
                   "project", "environment", "endpoint", "feature", "user_id", "session_id",
                   "provider", "model", "cost_usd", "input", "output"});
}

// ---------------------------------------------------------------------------
// Braintrust span log event. metrics.prompt_tokens includes cached tokens
// (prompt_cached_tokens) and cache writes (prompt_cache_creation_tokens).
// ---------------------------------------------------------------------------
void read_braintrust(Normalizer& n, object o, Span& s) {
    s.span_id = required_id(n, o, "span_id");
    s.trace_id = checked_id(nonempty(text_field(n, o, "root_span_id")), "root_span_id");
    if (!present(s.trace_id)) s.trace_id = s.span_id;
    bool keep_parents = false;
    if (auto p = get(o, "span_parents")) {
        simdjson::dom::array arr;
        if (p->get_array().get(arr)) fail(sqlstate::kInvalidParameter, "span_parents must be an array");
        if (arr.size() > 0)
            s.parent_span_id = checked_id(nonempty(text_of(n, arr.at(0).value(), "span_parents[0]")),
                                          "span_parents[0]");
        keep_parents = arr.size() > 1;
    }
    if (auto sa = get(o, "span_attributes")) {
        object a = object_of(*sa, "span_attributes");
        s.name = text_field(n, a, "name");
        s.kind = text_field(n, a, "type");
        if (present(s.kind)) s.operation = operation_from_kind(s.kind);
        copy_unmapped_nested(n, s, "span_attributes", a, {"name", "type"});
    }
    std::optional<int64_t> start, end;
    if (auto m = get(o, "metrics")) {
        object mo = object_of(*m, "metrics");
        if (auto v = get(mo, "start")) start = timestamp_of(*v, "metrics.start");
        if (auto v = get(mo, "end")) end = timestamp_of(*v, "metrics.end");
        Tokens& t = s.tokens;
        t.input = token_field(mo, "prompt_tokens", "metrics.");
        t.output = token_field(mo, "completion_tokens", "metrics.");
        t.total = token_field(mo, "tokens", "metrics.");
        t.cached_input = token_field(mo, "prompt_cached_tokens", "metrics.");
        t.cache_write = token_field(mo, "prompt_cache_creation_tokens", "metrics.");
        if (!t.cache_write) {
            // wrapAnthropic splits cache writes by lifetime (5 minutes, 1 hour).
            auto w5 = token_field(mo, "prompt_cache_creation_5m_tokens", "metrics.");
            auto w1h = token_field(mo, "prompt_cache_creation_1h_tokens", "metrics.");
            if (w5 || w1h) t.cache_write = w5.value_or(0) + w1h.value_or(0);
        }
        t.reasoning = token_field(mo, "completion_reasoning_tokens", "metrics.");
        if (auto c = first_of(mo, {"cost", "estimated_cost"})) s.reported_cost = amount_of(*c, "metrics.cost");
        copy_unmapped_nested(n, s, "metrics", mo,
                             {"start", "end", "prompt_tokens", "completion_tokens", "tokens",
                              "prompt_cached_tokens", "prompt_cache_creation_tokens",
                              "prompt_cache_creation_5m_tokens", "prompt_cache_creation_1h_tokens",
                              "completion_reasoning_tokens", "cost", "estimated_cost"});
    }
    bool created_is_start = false;
    element merge_flag;
    if (!start && lookup(o, "_is_merge", merge_flag) && merge_flag.is_bool() && bool(merge_flag)) {
        // Its first row came earlier: the stored span is completed with it.
        s.merge_only = true;
        if (end) {
            finish_times(s, end, end, std::nullopt);  // checks the range
            s.start_us = 0;
            s.duration_ms.reset();
        }
    } else {
        if (!start)
            if (auto c = get(o, "created")) {
                start = timestamp_of(*c, "created");
                created_is_start = true;
            }
        finish_times(s, start, end, std::nullopt);
    }

    if (auto md = get(o, "metadata")) {
        object mo = object_of(*md, "metadata");
        s.model = text_field(n, mo, "model");
        s.provider = normalized_provider(n, text_field(n, mo, "provider"));
        s.user_id = first_text(n, mo, {"user_id", "userId", "user"});
        s.session_id = first_text(n, mo, {"session_id", "sessionId"});
        s.environment = text_field(n, mo, "environment");
        s.project = text_field(n, mo, "project");
        s.feature = text_field(n, mo, "feature");
        s.endpoint = text_field(n, mo, "endpoint");
        s.service = text_field(n, mo, "service");
        copy_unmapped_nested(n, s, "metadata", mo,
                             {"model", "provider", "user_id", "userId", "user", "session_id",
                              "sessionId", "environment", "project", "feature", "endpoint",
                              "service"});
    }
    if (!present(s.project)) s.project = text_field(n, o, "project_id");
    s.status = SpanStatus::Ok;
    if (auto e = get(o, "error"); e && read_error(n, s, *e)) s.status = SpanStatus::Error;
    if (auto v = get(o, "input")) set_content(n, s.input, *v, "input");
    if (auto v = get(o, "output")) set_content(n, s.output, *v, "output");
    finish_tokens(s);
    if (keep_parents) {
        s.attributes.key("span_parents");
        tape_element(n, s.attributes, *get(o, "span_parents"), "span_parents");
    }
    // `created` is kept unless it gave the start time; `expected` is content.
    const bool no_content = n.content_mode() == ContentMode::None;
    for (auto kv : o) {
        std::string_view k = kv.key;
        if (in({"span_id", "root_span_id", "span_parents", "span_attributes", "metrics",
                "metadata", "error", "input", "output", "_is_merge", "_merge_paths"}, k) ||
            (k == "created" && created_is_start) || (k == "expected" && no_content))
            continue;
        s.attributes.key(k);
        tape_element(n, s.attributes, kv.value, k);
    }
}

// ---------------------------------------------------------------------------
// Vercel records, two shapes (README "Formats"):
//  - the Log Drain record: id, message, timestamp, type/source, projectId,
//    deploymentId, requestId, traceId, statusCode, level, path, host,
//    proxy {method, path, statusCode, region, userAgent, ...};
//  - the webhook record of trace-processor integrations: id, timestamp,
//    duration (ms), status (a word or an HTTP code), url, method,
//    metadata {model, provider, tokens (a number: the total, or an object)}.
// metadata.tokens.input includes cached input tokens (AI Gateway semantics);
// timestamp is when the request started.
// ---------------------------------------------------------------------------
namespace {

// An HTTP status code as a number or a digit string; nullopt otherwise.
std::optional<int64_t> http_code(element v) {
    if (v.type() == simdjson::dom::element_type::INT64) return int64_t(v);
    if (v.type() == simdjson::dom::element_type::UINT64) return std::nullopt;
    if (v.type() == simdjson::dom::element_type::STRING) {
        std::string_view sv(v);
        if (sv.empty() || sv.size() > 3 ||
            !std::all_of(sv.begin(), sv.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        return std::stoi(std::string(sv));
    }
    return std::nullopt;
}

// The path of a URL or path, without scheme, host, query and fragment.
std::string_view url_path(std::string_view url) {
    std::string_view path = url;
    size_t scheme = path.find("://");
    if (scheme != std::string_view::npos) {
        size_t slash = path.find('/', scheme + 3);
        path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    size_t q = path.find_first_of("?#");
    if (q != std::string_view::npos) path = path.substr(0, q);
    return path;
}

}  // namespace

void read_vercel(Normalizer& n, object o, Span& s) {
    s.span_id = required_id(n, o, "id");
    s.trace_id = nonempty(first_text(n, o, {"traceId", "trace_id", "requestId", "request_id"}));
    std::optional<object> md;
    if (auto m = get(o, "metadata")) md = object_of(*m, "metadata");
    std::optional<object> proxy;
    if (auto p = get(o, "proxy")) proxy = object_of(*p, "proxy");
    if (!present(s.trace_id) && md)
        s.trace_id = nonempty(first_text(n, *md, {"traceId", "trace_id", "requestId"}));
    if (!present(s.trace_id)) s.trace_id = s.span_id;
    s.trace_id = checked_id(s.trace_id, "traceId");
    // A log line of a traced request names its span (spanId): the log is its child.
    s.parent_span_id = checked_id(
        nonempty(first_text(n, o, {"parentId", "parent_span_id", "parentSpanId", "spanId"})), "parentId");

    std::optional<int64_t> start;
    std::optional<double> dur;
    if (auto v = get(o, "timestamp")) start = timestamp_of(*v, "timestamp");
    if (auto v = get(o, "duration")) dur = amount_of(*v, "duration");
    finish_times(s, start, std::nullopt, dur);

    // Status: an HTTP code (statusCode, proxy.statusCode, or status as a code)
    // of 400 or more, a level of error or fatal, or a status word.
    std::optional<int64_t> code;
    if (auto v = get(o, "statusCode")) code = http_code(*v);
    if (!code && proxy)
        if (auto v = get(*proxy, "statusCode")) {
            // proxy.statusCode -1 is a background revalidation: no status.
            std::optional<int64_t> pc = http_code(*v);
            if (pc && *pc != -1) code = pc;
        }
    if (auto st = get(o, "status")) {
        if (auto c = http_code(*st))
            code = c;
        else if (st->type() == simdjson::dom::element_type::STRING)
            s.status = status_from_text(text_of(n, *st, "status"));
        else
            fail(sqlstate::kInvalidParameter, "status must be a word or an HTTP status code");
    }
    if (code) {
        if (*code == -1) {  // Log Drains: the function crashed
            s.status = SpanStatus::Error;
            s.error_message = "the function crashed (statusCode -1)";
        } else if (*code < 100 || *code > 599) {
            fail(sqlstate::kInvalidParameter, "status code " + std::to_string(*code) + " is not an HTTP status");
        } else {
            s.status = *code >= 400 ? SpanStatus::Error : SpanStatus::Ok;
            if (*code >= 400) s.error_message = n.arena().copy("HTTP " + std::to_string(*code));
        }
    }
    if (Str level = text_field(n, o, "level"); present(level)) {
        std::string lv(level);
        for (char& c : lv) c = char(std::tolower(static_cast<unsigned char>(c)));
        if (lv == "error" || lv == "fatal") {
            s.status = SpanStatus::Error;
            if (Str msg = text_field(n, o, "message"); present(msg) && !msg.empty())
                s.error_message = msg.substr(0, 1000);
        }
    }
    if (auto e = get(o, "error"); e && read_error(n, s, *e)) s.status = SpanStatus::Error;

    // Endpoint: url's path, else path, else proxy.path (without the query string).
    bool keep_url = false, keep_path = false;
    if (Str url = text_field(n, o, "url"); present(url)) {
        s.endpoint = url_path(url);
        keep_url = s.endpoint.size() != url.size();
    } else if (Str path = text_field(n, o, "path"); present(path)) {
        s.endpoint = url_path(path);
        keep_path = s.endpoint.size() != path.size();
    } else if (proxy) {
        if (Str pp = text_field(n, *proxy, "path"); present(pp)) s.endpoint = url_path(pp);
    }
    Str method = text_field(n, o, "method");
    if (!present(method) && proxy) method = text_field(n, *proxy, "method");
    s.project = first_text(n, o, {"projectId", "project"});
    s.environment = first_text(n, o, {"environment", "target"});
    s.service = first_text(n, o, {"service", "projectName"});

    if (md) {
        object mo = *md;
        s.model = text_field(n, mo, "model");
        s.provider = normalized_provider(n, text_field(n, mo, "provider"));
        if (auto t = get(mo, "tokens")) {
            if (t->type() == simdjson::dom::element_type::OBJECT)
                read_flat_tokens(object(*t), s.tokens, "metadata.tokens.");
            else  // a number: the total (webhook records)
                s.tokens.total = token_count(*t, "metadata.tokens");
        }
        if (auto c = first_of(mo, {"cost_usd", "cost"})) s.reported_cost = amount_of(*c, "metadata.cost");
        s.user_id = first_text(n, mo, {"user_id", "userId"});
        s.session_id = first_text(n, mo, {"session_id", "sessionId"});
        if (Str v = text_field(n, mo, "environment"); present(v)) s.environment = v;
        if (Str v = text_field(n, mo, "project"); present(v)) s.project = v;
        if (Str v = text_field(n, mo, "endpoint"); present(v)) s.endpoint = v;
        s.feature = text_field(n, mo, "feature");
        s.name = text_field(n, mo, "name");
        s.operation = text_field(n, mo, "operation");
        if (auto v = first_of(mo, {"input", "prompt", "messages"})) set_content(n, s.input, *v, "metadata.input");
        if (auto v = first_of(mo, {"output", "response", "completion", "text"}))
            set_content(n, s.output, *v, "metadata.output");
        // metadata.tokens stays in metadata whole, like native usage: not every
        // spelling of a token count maps to a column.
        copy_unmapped_nested(n, s, "metadata", mo,
                             {"model", "provider", "cost_usd", "cost", "user_id", "userId",
                              "session_id", "sessionId", "environment", "project", "endpoint",
                              "feature", "name", "operation", "input", "prompt", "messages",
                              "output", "response", "completion", "text", "traceId", "trace_id",
                              "requestId"});
    }
    if (!present(s.name) && present(s.endpoint)) {
        std::string nm = present(method) ? std::string(method) + " " + std::string(s.endpoint)
                                         : std::string(s.endpoint);
        s.name = n.arena().copy(nm);
    }
    if (!present(s.operation) && present(s.model)) s.operation = "chat";
    finish_tokens(s);
    if (keep_url) {
        s.attributes.key("url");
        tape_element(n, s.attributes, *get(o, "url"), "url");
    }
    if (keep_path) {
        s.attributes.key("path");
        tape_element(n, s.attributes, *get(o, "path"), "path");
    }
    // Everything else (message, type, source, deploymentId, host, proxy, level,
    // statusCode, method, ...) is kept as sent.
    copy_unmapped(n, s, o,
                  {"id", "traceId", "trace_id", "requestId", "request_id", "parentId",
                   "parent_span_id", "parentSpanId", "spanId", "timestamp", "duration", "status", "error",
                   "url", "path", "projectId", "project", "environment", "target", "service",
                   "projectName", "metadata"});
}

}  // namespace llmtrace::core::detail
