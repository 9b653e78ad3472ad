// libFuzzer target: arbitrary bytes -> otlp_proto_to_json -> Normalizer.
// Invariants (a violation traps, so libFuzzer keeps the input):
//   - a body is either refused with an InputError (22P02) or transcoded;
//   - what is transcoded is JSON simdjson accepts, and the same bytes always
//     give the same text;
//   - the normalizer takes the text without crashing (bad spans are failures,
//     not crashes), and reports no more spans than the body held.
#include "core/normalizer.hpp"
#include "core/otlp_proto.hpp"

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace core = llmtrace::core;

namespace {

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "\n*** llmtrace invariant violated: %s\n", what);
    __builtin_trap();
}

struct CountingSink final : core::SpanSink {
    size_t spans = 0, failures = 0;
    void span(core::Span&) override { ++spans; }
    void failure(core::Failure&) override { ++failures; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static core::Normalizer normalizer;
    static simdjson::dom::parser parser;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    std::string json;
    size_t spans = 0;
    try {
        spans = core::otlp_proto_to_json(body, json);
    } catch (const core::InputError& e) {
        if (std::strcmp(e.sqlstate(), "22P02") != 0) violated("a refusal with another SQLSTATE than 22P02");
        return 0;
    } catch (...) {
        violated("an exception other than InputError");
    }
    std::string again;
    core::otlp_proto_to_json(body, again);
    if (again != json) violated("the same body transcoded twice differently");
    if (parser.parse(json).error()) violated("transcoded text that is not JSON");
    CountingSink sink;
    try {
        normalizer.normalize(json, sink);
    } catch (const core::InputError&) {
        // refused as a whole: fine
    }
    if (sink.spans > spans) violated("more spans normalized than the body held");
    return 0;
}
