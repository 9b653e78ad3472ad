// JSON tape replay, element emission and compact JSON text output.
#include "core/json_tape.hpp"

#include <algorithm>

#include <charconv>
#include <cmath>
#include <cstdio>

namespace llmtrace::core {

void emit_element(simdjson::dom::element e, JsonSink& sink) {
    using simdjson::dom::element_type;
    switch (e.type()) {
    case element_type::OBJECT: {
        sink.begin_object();
        for (auto field : simdjson::dom::object(e)) {
            sink.key(field.key);
            emit_element(field.value, sink);
        }
        sink.end_object();
        break;
    }
    case element_type::ARRAY: {
        sink.begin_array();
        for (auto child : simdjson::dom::array(e)) emit_element(child, sink);
        sink.end_array();
        break;
    }
    case element_type::STRING:
        sink.string(std::string_view(e));
        break;
    case element_type::INT64:
        sink.int64(int64_t(e));
        break;
    case element_type::UINT64:
        sink.uint64(uint64_t(e));
        break;
    case element_type::DOUBLE:
        sink.dbl(double(e));
        break;
    case element_type::BOOL:
        sink.boolean(bool(e));
        break;
    case element_type::NULL_VALUE:
        sink.null();
        break;
    }
}

void JsonTape::replay(JsonSink& sink) const {
    for (const JsonEvent& ev : events_) {
        switch (ev.type) {
        case JsonEventType::BeginObject: sink.begin_object(); break;
        case JsonEventType::EndObject: sink.end_object(); break;
        case JsonEventType::BeginArray: sink.begin_array(); break;
        case JsonEventType::EndArray: sink.end_array(); break;
        case JsonEventType::Key: sink.key(ev.str); break;
        case JsonEventType::String: sink.string(ev.str); break;
        case JsonEventType::Int64: sink.int64(ev.i); break;
        case JsonEventType::UInt64: sink.uint64(ev.u); break;
        case JsonEventType::Double: sink.dbl(ev.d); break;
        case JsonEventType::Bool: sink.boolean(ev.b); break;
        case JsonEventType::Null: sink.null(); break;
        case JsonEventType::Element: emit_element(ev.elem, sink); break;
        case JsonEventType::Tape: ev.tape->replay(sink); break;
        }
    }
}

void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += char(c);
            }
        }
    }
    out += '"';
}

size_t format_double(char* buf, size_t size, double v) {
    if (!std::isfinite(v)) v = 0;  // JSON input never holds NaN or infinity
    auto res = std::to_chars(buf, buf + size, v);
    // The shortest form of a whole number from 2^63 up to 10^21 is its digits
    // ("179619999999999901696"): JSON parsers that read such a literal as an
    // integer refuse it as too large (ours included), so it is written in
    // exponent form instead, which reads back as the same double.
    if (std::fabs(v) >= 9223372036854775808.0 &&
        std::find_if(buf, res.ptr, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == res.ptr)
        res = std::to_chars(buf, buf + size, v, std::chars_format::scientific);
    return size_t(res.ptr - buf);
}

std::string double_to_text(double v) {
    char buf[64];
    return std::string(buf, format_double(buf, sizeof buf, v));
}

void JsonTextWriter::sep() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_) out_ += ',';
    first_ = false;
}

void JsonTextWriter::key(std::string_view k) {
    sep();
    append_json_string(out_, k);
    out_ += ':';
    after_key_ = true;
}

void JsonTextWriter::string(std::string_view s) {
    sep();
    append_json_string(out_, s);
}

void JsonTextWriter::int64(int64_t v) {
    sep();
    out_ += std::to_string(v);
}

void JsonTextWriter::uint64(uint64_t v) {
    sep();
    out_ += std::to_string(v);
}

void JsonTextWriter::dbl(double v) {
    sep();
    out_ += double_to_text(v);
}

std::string element_to_json(simdjson::dom::element e) {
    JsonTextWriter w;
    emit_element(e, w);
    return w.str();
}

}  // namespace llmtrace::core
