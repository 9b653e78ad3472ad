// OTLP protobuf -> OTLP/JSON (see otlp_proto.hpp).
#include "core/otlp_proto.hpp"

#include "core/json_tape.hpp"
#include "core/normalizer.hpp"
#include "core/span.hpp"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace llmtrace::core {

namespace {

// Nesting of AnyValue arrays and key-value lists: each level is three JSON
// levels (arrayValue, values, the value), so the JSON stays well within the
// parser's kMaxDepth.
constexpr int kMaxValueDepth = 128;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

[[noreturn]] void bad(const char* what, size_t at) {
    throw InputError(sqlstate::kInvalidText,
                     std::string("invalid OTLP protobuf body: ") + what + " at byte " + std::to_string(at));
}

// One field of a message: its number, wire type and value.
struct Field {
    uint32_t no = 0;
    uint32_t wt = 0;
    uint64_t num = 0;        // varint, fixed64, fixed32
    std::string_view bytes;  // length-delimited
    size_t at = 0;           // offset in the body, for messages
};

class Reader {
public:
    Reader(std::string_view msg, size_t base) : p_(msg.data()), end_(msg.data() + msg.size()), base_(base), begin_(msg.data()) {}

    bool next(Field& f) {
        if (p_ >= end_) return false;
        const size_t at = offset();
        uint64_t tag = varint();
        if (tag >> 32) bad("a field tag out of range", at);
        f.no = uint32_t(tag >> 3);
        f.wt = uint32_t(tag & 7);
        if (f.no == 0) bad("field number 0", at);
        switch (f.wt) {
        case kVarint:
            f.num = varint();
            break;
        case kFixed64:
            f.num = fixed(8);
            break;
        case kFixed32:
            f.num = fixed(4);
            break;
        case kLen: {
            const size_t lat = offset();
            uint64_t len = varint();
            if (len > uint64_t(end_ - p_)) bad("a length past the end of its message", lat);
            f.at = offset();
            f.bytes = std::string_view(p_, size_t(len));
            p_ += len;
            break;
        }
        case kStartGroup:
            skip_group(f.no, at, 0);
            f.num = 0;
            break;
        default:
            bad("an unknown wire type", at);
        }
        return true;
    }

    size_t offset() const { return base_ + size_t(p_ - begin_); }

private:
    uint64_t varint() {
        const size_t at = offset();
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= end_) bad("a truncated varint", at);
            const uint8_t b = uint8_t(*p_++);
            if (shift == 63 && b > 1) bad("a varint over 64 bits", at);
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        bad("a varint over 10 bytes", at);
    }
    uint64_t fixed(int n) {
        const size_t at = offset();
        if (end_ - p_ < n) bad("a truncated fixed-width value", at);
        uint64_t v = 0;
        for (int i = 0; i < n; ++i) v |= uint64_t(uint8_t(p_[i])) << (8 * i);
        p_ += n;
        return v;
    }
    // Groups (deprecated, never in OTLP) are skipped whole, nesting bounded.
    void skip_group(uint32_t no, size_t at, int depth) {
        if (depth > kMaxValueDepth) bad("groups nested too deeply", at);
        Field f;
        for (;;) {
            if (p_ >= end_) bad("an unterminated group", at);
            const size_t fat = offset();
            uint64_t tag = varint();
            const uint32_t fno = uint32_t(tag >> 3), wt = uint32_t(tag & 7);
            if (wt == kEndGroup) {
                if (fno != no) bad("a group ended by another field number", fat);
                return;
            }
            if (wt == kStartGroup) {
                skip_group(fno, fat, depth + 1);
                continue;
            }
            if (wt == kVarint) {
                varint();
            } else if (wt == kFixed64) {
                fixed(8);
            } else if (wt == kFixed32) {
                fixed(4);
            } else if (wt == kLen) {
                const size_t lat = offset();
                uint64_t len = varint();
                if (len > uint64_t(end_ - p_)) bad("a length past the end of its message", lat);
                p_ += len;
            } else {
                bad("an unknown wire type", fat);
            }
        }
    }

    const char* p_;
    const char* end_;
    size_t base_;
    const char* begin_;
};

class Transcoder {
public:
    explicit Transcoder(std::string& out) : out_(out) {}

    size_t request(std::string_view body) {
        out_ += "{\"resourceSpans\":[";
        bool first = true;
        Reader r(body, 0);
        Field f;
        while (r.next(f)) {
            if (f.no != 1) continue;
            expect(f, kLen);
            if (!first) out_ += ',';
            first = false;
            resource_spans(f.bytes, f.at);
        }
        out_ += "]}";
        return spans_;
    }

private:
    void expect(const Field& f, uint32_t wt) {
        if (f.wt != wt) bad("a field with the wrong wire type", f.at);
    }

    void key(const char* k) {
        if (!first_key_) out_ += ',';
        first_key_ = false;
        out_ += '"';
        out_ += k;
        out_ += "\":";
    }
    void open() {
        out_ += '{';
        first_key_ = true;
    }
    void close() {
        out_ += '}';
        first_key_ = false;
    }

    void str(const Field& f) {
        if (!simdjson::validate_utf8(f.bytes.data(), f.bytes.size())) bad("a string that is not UTF-8", f.at);
        append_json_string(out_, f.bytes);
    }
    void hex(std::string_view b) {
        static const char digits[] = "0123456789abcdef";
        out_ += '"';
        for (unsigned char c : b) {
            out_ += digits[c >> 4];
            out_ += digits[c & 15];
        }
        out_ += '"';
    }
    void unsigned_number(uint64_t v) { out_ += std::to_string(v); }
    void quoted_number(uint64_t v) {
        out_ += '"';
        out_ += std::to_string(v);
        out_ += '"';
    }

    // The fields of a message, grouped: `each(msg, base, no, fn)` calls fn for
    // every occurrence of field `no` (messages are read once per group; they
    // are small).
    template <typename Fn>
    void each(std::string_view msg, size_t base, uint32_t no, Fn&& fn) {
        Reader r(msg, base);
        Field f;
        while (r.next(f))
            if (f.no == no) fn(f);
    }
    template <typename Fn>
    void repeated(const char* name, std::string_view msg, size_t base, uint32_t no, Fn&& fn) {
        bool any = false;
        each(msg, base, no, [&](const Field& f) {
            expect(f, kLen);
            if (!any) {
                key(name);
                out_ += '[';
            } else {
                out_ += ',';
            }
            any = true;
            fn(f);
        });
        if (any) {
            out_ += ']';
            first_key_ = false;
        }
    }

    void resource_spans(std::string_view msg, size_t base) {
        open();
        Field resource, schema;
        bool has_resource = false, has_schema = false;
        each(msg, base, 1, [&](const Field& f) { expect(f, kLen); resource = f; has_resource = true; });
        each(msg, base, 3, [&](const Field& f) { expect(f, kLen); schema = f; has_schema = true; });
        if (has_resource) {
            key("resource");
            resource_msg(resource.bytes, resource.at);
        }
        repeated("scopeSpans", msg, base, 2, [&](const Field& f) { scope_spans(f.bytes, f.at); });
        if (has_schema) {
            key("schemaUrl");
            str(schema);
        }
        close();
    }

    void resource_msg(std::string_view msg, size_t base) {
        open();
        repeated("attributes", msg, base, 1, [&](const Field& f) { key_value(f.bytes, f.at, 0); });
        scalar_uint("droppedAttributesCount", msg, base, 2);
        close();
    }

    void scope_spans(std::string_view msg, size_t base) {
        open();
        Field scope, schema;
        bool has_scope = false, has_schema = false;
        each(msg, base, 1, [&](const Field& f) { expect(f, kLen); scope = f; has_scope = true; });
        each(msg, base, 3, [&](const Field& f) { expect(f, kLen); schema = f; has_schema = true; });
        if (has_scope) {
            key("scope");
            scope_msg(scope.bytes, scope.at);
        }
        repeated("spans", msg, base, 2, [&](const Field& f) { span(f.bytes, f.at); });
        if (has_schema) {
            key("schemaUrl");
            str(schema);
        }
        close();
    }

    void scope_msg(std::string_view msg, size_t base) {
        open();
        scalar_string("name", msg, base, 1);
        scalar_string("version", msg, base, 2);
        repeated("attributes", msg, base, 3, [&](const Field& f) { key_value(f.bytes, f.at, 0); });
        scalar_uint("droppedAttributesCount", msg, base, 4);
        close();
    }

    // The last occurrence of a singular field counts (protobuf's rule).
    bool last(std::string_view msg, size_t base, uint32_t no, uint32_t wt, Field& out) {
        bool found = false;
        each(msg, base, no, [&](const Field& f) {
            expect(f, wt);
            out = f;
            found = true;
        });
        return found;
    }
    void scalar_string(const char* name, std::string_view msg, size_t base, uint32_t no) {
        Field f;
        if (last(msg, base, no, kLen, f)) {
            key(name);
            str(f);
        }
    }
    void scalar_hex(const char* name, std::string_view msg, size_t base, uint32_t no) {
        Field f;
        if (last(msg, base, no, kLen, f) && !f.bytes.empty()) {
            key(name);
            hex(f.bytes);
        }
    }
    void scalar_uint(const char* name, std::string_view msg, size_t base, uint32_t no) {
        Field f;
        if (last(msg, base, no, kVarint, f)) {
            key(name);
            unsigned_number(uint32_t(f.num));
        }
    }
    void scalar_fixed64(const char* name, std::string_view msg, size_t base, uint32_t no) {
        Field f;
        if (last(msg, base, no, kFixed64, f)) {
            key(name);
            quoted_number(f.num);
        }
    }
    void scalar_fixed32(const char* name, std::string_view msg, size_t base, uint32_t no) {
        Field f;
        if (last(msg, base, no, kFixed32, f)) {
            key(name);
            unsigned_number(f.num);
        }
    }

    void span(std::string_view msg, size_t base) {
        ++spans_;
        open();
        scalar_hex("traceId", msg, base, 1);
        scalar_hex("spanId", msg, base, 2);
        scalar_string("traceState", msg, base, 3);
        scalar_hex("parentSpanId", msg, base, 4);
        scalar_fixed32("flags", msg, base, 16);
        scalar_string("name", msg, base, 5);
        scalar_uint("kind", msg, base, 6);
        scalar_fixed64("startTimeUnixNano", msg, base, 7);
        scalar_fixed64("endTimeUnixNano", msg, base, 8);
        repeated("attributes", msg, base, 9, [&](const Field& f) { key_value(f.bytes, f.at, 0); });
        scalar_uint("droppedAttributesCount", msg, base, 10);
        repeated("events", msg, base, 11, [&](const Field& f) { event(f.bytes, f.at); });
        scalar_uint("droppedEventsCount", msg, base, 12);
        repeated("links", msg, base, 13, [&](const Field& f) { link(f.bytes, f.at); });
        scalar_uint("droppedLinksCount", msg, base, 14);
        Field st;
        if (last(msg, base, 15, kLen, st)) {
            key("status");
            open();
            scalar_string("message", st.bytes, st.at, 2);
            scalar_uint("code", st.bytes, st.at, 3);
            close();
        }
        close();
    }

    void event(std::string_view msg, size_t base) {
        open();
        scalar_fixed64("timeUnixNano", msg, base, 1);
        scalar_string("name", msg, base, 2);
        repeated("attributes", msg, base, 3, [&](const Field& f) { key_value(f.bytes, f.at, 0); });
        scalar_uint("droppedAttributesCount", msg, base, 4);
        close();
    }

    void link(std::string_view msg, size_t base) {
        open();
        scalar_hex("traceId", msg, base, 1);
        scalar_hex("spanId", msg, base, 2);
        scalar_string("traceState", msg, base, 3);
        repeated("attributes", msg, base, 4, [&](const Field& f) { key_value(f.bytes, f.at, 0); });
        scalar_uint("droppedAttributesCount", msg, base, 5);
        scalar_fixed32("flags", msg, base, 6);
        close();
    }

    void key_value(std::string_view msg, size_t base, int depth) {
        open();
        Field k;
        key("key");
        if (last(msg, base, 1, kLen, k))
            str(k);
        else
            out_ += "\"\"";
        Field v;
        key("value");
        if (last(msg, base, 2, kLen, v))
            any_value(v.bytes, v.at, depth);
        else
            out_ += "{}";
        close();
    }

    void any_value(std::string_view msg, size_t base, int depth) {
        if (depth > kMaxValueDepth) bad("attribute values nested too deeply", base);
        // oneof: the last member present counts.
        Field f;
        bool found = false;
        Reader r(msg, base);
        Field cur;
        while (r.next(cur)) {
            if (cur.no >= 1 && cur.no <= 7) {
                f = cur;
                found = true;
            }
        }
        open();
        if (found) {
            switch (f.no) {
            case 1:
                expect(f, kLen);
                key("stringValue");
                str(f);
                break;
            case 2:
                expect(f, kVarint);
                key("boolValue");
                out_ += f.num ? "true" : "false";
                break;
            case 3:
                expect(f, kVarint);
                key("intValue");
                out_ += '"';
                out_ += std::to_string(int64_t(f.num));
                out_ += '"';
                break;
            case 4: {
                expect(f, kFixed64);
                double d;
                std::memcpy(&d, &f.num, sizeof d);
                key("doubleValue");
                if (std::isnan(d)) {
                    out_ += "\"NaN\"";
                } else if (std::isinf(d)) {
                    out_ += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
                } else {
                    char buf[64];
                    out_.append(buf, format_double(buf, sizeof buf, d));
                }
                break;
            }
            case 5:
                expect(f, kLen);
                key("arrayValue");
                open();
                repeated("values", f.bytes, f.at, 1, [&](const Field& e) { any_value(e.bytes, e.at, depth + 1); });
                close();
                break;
            case 6:
                expect(f, kLen);
                key("kvlistValue");
                open();
                repeated("values", f.bytes, f.at, 1, [&](const Field& e) { key_value(e.bytes, e.at, depth + 1); });
                close();
                break;
            case 7:
                expect(f, kLen);
                key("bytesValue");
                out_ += '"';
                append_base64(out_, f.bytes);
                out_ += '"';
                break;
            }
        }
        close();
    }

    std::string& out_;
    bool first_key_ = true;
    size_t spans_ = 0;
};

}  // namespace

size_t otlp_proto_to_json(std::string_view body, std::string& out) {
    out.reserve(out.size() + body.size() * 2 + 64);
    Transcoder t(out);
    return t.request(body);
}

void append_base64(std::string& out, std::string_view bytes) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = (uint32_t(b[i]) << 16) | (uint32_t(b[i + 1]) << 8) | b[i + 2];
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += table[v & 63];
    }
    if (i < bytes.size()) {
        uint32_t v = uint32_t(b[i]) << 16;
        if (i + 1 < bytes.size()) v |= uint32_t(b[i + 1]) << 8;
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
        out += '=';
    }
}

}  // namespace llmtrace::core
