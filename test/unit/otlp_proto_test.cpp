// OTLP protobuf -> OTLP/JSON: the wire format by hand (a minimal encoder
// below), the JSON mapping, malformed bodies, and the bounds.
#include "core/otlp_proto.hpp"
#include "core/span.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

namespace {

using llmtrace::core::InputError;
using llmtrace::core::otlp_proto_to_json;

// A protobuf message under construction.
struct Pb {
    std::string b;
    Pb& varint(uint64_t v) {
        while (v >= 0x80) {
            b += char((v & 0x7f) | 0x80);
            v >>= 7;
        }
        b += char(v);
        return *this;
    }
    Pb& tag(uint32_t no, uint32_t wt) { return varint((uint64_t(no) << 3) | wt); }
    Pb& u(uint32_t no, uint64_t v) { return tag(no, 0).varint(v); }
    Pb& fixed64(uint32_t no, uint64_t v) {
        tag(no, 1);
        for (int i = 0; i < 8; ++i) b += char((v >> (8 * i)) & 0xff);
        return *this;
    }
    Pb& fixed32(uint32_t no, uint32_t v) {
        tag(no, 5);
        for (int i = 0; i < 4; ++i) b += char((v >> (8 * i)) & 0xff);
        return *this;
    }
    Pb& dbl(uint32_t no, double d) {
        uint64_t v;
        std::memcpy(&v, &d, sizeof v);
        return fixed64(no, v);
    }
    Pb& bytes(uint32_t no, std::string_view s) {
        tag(no, 2).varint(s.size());
        b += s;
        return *this;
    }
    Pb& msg(uint32_t no, const Pb& m) { return bytes(no, m.b); }
};

Pb kv(std::string_view key, const Pb& value) { return Pb().bytes(1, key).msg(2, value); }
Pb sval(std::string_view s) { return Pb().bytes(1, s); }

std::string transcode(const std::string& body, size_t* spans = nullptr) {
    std::string out;
    size_t n = otlp_proto_to_json(body, out);
    if (spans) *spans = n;
    return out;
}

std::string error_of(const std::string& body) {
    try {
        transcode(body);
    } catch (const InputError& e) {
        EXPECT_STREQ(e.sqlstate(), "22P02");
        return e.what();
    }
    return "";
}

std::string hexbytes(std::initializer_list<int> v) {
    std::string s;
    for (int c : v) s += char(c);
    return s;
}

Pb sample_span() {
    Pb span;
    span.bytes(1, hexbytes({0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}))
        .bytes(2, hexbytes({0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}))
        .bytes(4, "")
        .bytes(5, "chat gpt-4o")
        .u(6, 3)
        .fixed64(7, 1746093600000000000ULL)
        .fixed64(8, 1746093601500000000ULL)
        .msg(9, kv("gen_ai.request.model", sval("gpt-4o")))
        .msg(9, kv("gen_ai.usage.input_tokens", Pb().u(3, 1200)))
        .msg(9, kv("neg", Pb().u(3, uint64_t(int64_t(-5)))))
        .msg(9, kv("ok", Pb().u(2, 1)))
        .msg(9, kv("ratio", Pb().dbl(4, 0.25)))
        .msg(9, kv("list", Pb().msg(5, Pb().msg(1, sval("a")).msg(1, Pb().u(3, 2)))))
        .msg(9, kv("map", Pb().msg(6, Pb().msg(1, kv("k", sval("v"))))))
        .msg(9, kv("raw", Pb().bytes(7, "hi!")))
        .msg(9, kv("empty", Pb()))
        .msg(11, Pb().fixed64(1, 1746093600100000000ULL).bytes(2, "ev").msg(3, kv("a", sval("b"))))
        .msg(13, Pb().bytes(1, std::string(16, '\x01')).bytes(2, std::string(8, '\x02')).fixed32(6, 1))
        .msg(15, Pb().bytes(2, "boom").u(3, 2))
        .fixed32(16, 257);
    return span;
}

Pb sample_request() {
    Pb resource;
    resource.msg(1, kv("service.name", sval("chat-api")));
    Pb scope;
    scope.bytes(1, "my.lib").bytes(2, "1.2.3");
    Pb scope_spans;
    scope_spans.msg(1, scope).msg(2, sample_span()).bytes(3, "https://opentelemetry.io/schemas/1.30.0");
    Pb rs;
    rs.msg(1, resource).msg(2, scope_spans);
    return Pb().msg(1, rs);
}

}  // namespace

TEST(OtlpProto, TranscodesEveryFieldToTheOtlpJsonMapping) {
    size_t spans = 0;
    std::string json = transcode(sample_request().b, &spans);
    EXPECT_EQ(spans, 1u);
    EXPECT_EQ(json,
              R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"chat-api"}}]},)"
              R"("scopeSpans":[{"scope":{"name":"my.lib","version":"1.2.3"},"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",)"
              R"("spanId":"b7ad6b7169203331","flags":257,"name":"chat gpt-4o","kind":3,"startTimeUnixNano":"1746093600000000000",)"
              R"("endTimeUnixNano":"1746093601500000000","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},)"
              R"({"key":"gen_ai.usage.input_tokens","value":{"intValue":"1200"}},{"key":"neg","value":{"intValue":"-5"}},)"
              R"({"key":"ok","value":{"boolValue":true}},{"key":"ratio","value":{"doubleValue":0.25}},)"
              R"({"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"2"}]}}},)"
              R"({"key":"map","value":{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}},)"
              R"({"key":"raw","value":{"bytesValue":"aGkh"}},{"key":"empty","value":{}}],)"
              R"("events":[{"timeUnixNano":"1746093600100000000","name":"ev","attributes":[{"key":"a","value":{"stringValue":"b"}}]}],)"
              R"("links":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","flags":1}],)"
              R"("status":{"message":"boom","code":2}}],"schemaUrl":"https://opentelemetry.io/schemas/1.30.0"}]}]})");
    simdjson::dom::parser p;
    EXPECT_FALSE(p.parse(json).error());
}

TEST(OtlpProto, EmptyBodyIsAnEmptyRequest) {
    EXPECT_EQ(transcode(""), R"({"resourceSpans":[]})");
}

TEST(OtlpProto, UnknownFieldsAreSkipped) {
    Pb span = sample_span();
    span.u(99, 7).bytes(100, "x").fixed64(101, 1).fixed32(102, 1);
    // a group (wire types 3 and 4) around a varint
    span.tag(103, 3).u(1, 5).tag(103, 4);
    Pb ss;
    ss.msg(2, span);
    Pb rs;
    rs.msg(2, ss).u(50, 1);
    std::string json = transcode(Pb().msg(1, rs).u(7, 1).b);
    EXPECT_NE(json.find("\"name\":\"chat gpt-4o\""), std::string::npos);
    EXPECT_EQ(json.find("99"), std::string::npos);
}

TEST(OtlpProto, LastOccurrenceOfASingularFieldCounts) {
    Pb span;
    span.bytes(5, "first").bytes(5, "second");
    Pb ss;
    ss.msg(2, span);
    std::string json = transcode(Pb().msg(1, Pb().msg(2, ss)).b);
    EXPECT_NE(json.find("\"name\":\"second\""), std::string::npos);
    EXPECT_EQ(json.find("first"), std::string::npos);
}

TEST(OtlpProto, SpecialDoublesAndEscapes) {
    Pb span;
    span.bytes(5, "q\"b\\n\n\x01 na\xc3\xafve")
        .msg(9, kv("nan", Pb().dbl(4, std::nan(""))))
        .msg(9, kv("inf", Pb().dbl(4, -1.0 / 0.0)));
    Pb ss;
    ss.msg(2, span);
    std::string json = transcode(Pb().msg(1, Pb().msg(2, ss)).b);
    EXPECT_NE(json.find(R"("name":"q\"b\\n\n\u0001 na)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"({"doubleValue":"NaN"})"), std::string::npos);
    EXPECT_NE(json.find(R"({"doubleValue":"-Infinity"})"), std::string::npos);
    simdjson::dom::parser p;
    EXPECT_FALSE(p.parse(json).error());
}

TEST(OtlpProto, MalformedBodiesAreRefusedWithWhereAndWhat) {
    const std::string good = sample_request().b;
    EXPECT_NE(error_of(good.substr(0, good.size() - 3)).find("past the end"), std::string::npos);
    EXPECT_NE(error_of("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").find("varint"), std::string::npos);
    EXPECT_NE(error_of("\x0a").find("truncated varint"), std::string::npos);
    EXPECT_NE(error_of("\x0f").find("unknown wire type"), std::string::npos);
    EXPECT_NE(error_of(std::string("\x08\x01", 2)).find("wrong wire type"), std::string::npos);  // field 1 as a varint
    EXPECT_NE(error_of(std::string("\x00\x01", 2)).find("field number 0"), std::string::npos);
    // A string that is not UTF-8.
    Pb span;
    span.bytes(5, "\xff\xfe");
    Pb ss;
    ss.msg(2, span);
    EXPECT_NE(error_of(Pb().msg(1, Pb().msg(2, ss)).b).find("not UTF-8"), std::string::npos);
    // A fixed64 cut short.
    EXPECT_NE(error_of(Pb().msg(1, Pb().msg(2, Pb().msg(2, Pb().tag(7, 1).varint(1)))).b).find("truncated fixed"),
              std::string::npos);
    // An unterminated group.
    EXPECT_NE(error_of(Pb().tag(5, 3).u(1, 1).b).find("unterminated group"), std::string::npos);
}

TEST(OtlpProto, DeepAttributeValuesAreRefusedNotRecursedForever) {
    Pb v = sval("leaf");
    for (int i = 0; i < 200; ++i) v = Pb().msg(5, Pb().msg(1, v));
    Pb span;
    span.msg(9, kv("deep", v));
    Pb ss;
    ss.msg(2, span);
    EXPECT_NE(error_of(Pb().msg(1, Pb().msg(2, ss)).b).find("nested too deeply"), std::string::npos);
    // 100 levels are fine, and parse as JSON.
    Pb w = sval("leaf");
    for (int i = 0; i < 100; ++i) w = Pb().msg(5, Pb().msg(1, w));
    Pb span2;
    span2.msg(9, kv("deep", w));
    Pb ss2;
    ss2.msg(2, span2);
    std::string json = transcode(Pb().msg(1, Pb().msg(2, ss2)).b);
    simdjson::dom::parser p;
    EXPECT_FALSE(p.parse(json).error());
}

TEST(OtlpProto, ManySpansAreLinear) {
    Pb ss;
    const Pb one = sample_span();
    for (int i = 0; i < 20000; ++i) ss.msg(2, one);
    std::string body = Pb().msg(1, Pb().msg(2, ss)).b;
    auto t0 = std::chrono::steady_clock::now();
    size_t spans = 0;
    std::string json = transcode(body, &spans);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(spans, 20000u);
    EXPECT_LT(secs, 5.0);
    simdjson::dom::parser p;
    EXPECT_FALSE(p.parse(json).error());
}

TEST(OtlpProto, Base64) {
    std::string out;
    llmtrace::core::append_base64(out, "");
    llmtrace::core::append_base64(out, "f");
    out += ' ';
    llmtrace::core::append_base64(out, "fo");
    out += ' ';
    llmtrace::core::append_base64(out, "foo");
    out += ' ';
    llmtrace::core::append_base64(out, "foobar");
    EXPECT_EQ(out, "Zg== Zm8= Zm9v Zm9vYmFy");
}
