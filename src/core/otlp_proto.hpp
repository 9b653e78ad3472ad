// OTLP protobuf: an ExportTraceServiceRequest (opentelemetry-proto,
// collector/trace/v1) in the protobuf wire format, transcoded into the OTLP/JSON
// text the normalizer reads, so that both encodings go through one path and
// normalize identically (hex ids, 64-bit integers as decimal strings, enums as
// numbers: the OTLP/JSON mapping).
//
// A small hand-written wire-format reader rather than libprotobuf: the trace
// subset is 17 messages' worth of fields, it reads the body in place (strings
// and bytes are views into it), every length is checked against what is left,
// nesting (AnyValue arrays and lists) is bounded, and unknown fields are
// skipped as the protobuf rules say. Pure C++: no PostgreSQL header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmtrace::core {

// Appends the OTLP/JSON form of `body` to `out`. Throws InputError (22P02) for
// a body that is not a well-formed ExportTraceServiceRequest: a truncated or
// overlong varint, a length past the end, a wire type the message does not
// allow, a string that is not UTF-8, nesting deeper than kMaxDepth. Returns the
// number of spans in it.
size_t otlp_proto_to_json(std::string_view body, std::string& out);

// Standard base64 (RFC 4648, with padding) of `bytes`, appended to `out`.
void append_base64(std::string& out, std::string_view bytes);

}  // namespace llmtrace::core
