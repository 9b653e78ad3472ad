// A JSON value to be written into a jsonb column, recorded as a flat list of
// events. Events either carry scalars, keys and structure, or point at a whole
// parsed simdjson element that is replayed as is. The tape refers to memory
// (parsed documents, the arena) owned by the Normalizer until its next call.
// Pure C++: no PostgreSQL header.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmtrace::core {

enum class JsonEventType : uint8_t {
    BeginObject,
    EndObject,
    BeginArray,
    EndArray,
    Key,
    String,
    Int64,
    UInt64,
    Double,
    Bool,
    Null,
    Element,  // a whole parsed subtree
    Tape,     // every event of another tape, replayed in place (shared, not copied)
};

class JsonTape;

struct JsonEvent {
    JsonEventType type;
    bool b = false;
    std::string_view str;  // Key, String
    union {
        int64_t i;
        uint64_t u;
        double d;
        const JsonTape* tape;  // Tape
    };
    simdjson::dom::element elem;  // Element

    JsonEvent() : type(JsonEventType::Null), i(0) {}
};

// Receives a JSON value as events; implemented by the jsonb builder in the
// PostgreSQL facade and by JsonTextWriter below.
// The destructor is protected and non-virtual so that sinks stay trivially
// destructible: the jsonb sink lives in frames a PostgreSQL error may unwind.
class JsonSink {
protected:
    ~JsonSink() = default;

public:
    virtual void begin_object() = 0;
    virtual void end_object() = 0;
    virtual void begin_array() = 0;
    virtual void end_array() = 0;
    virtual void key(std::string_view k) = 0;
    virtual void string(std::string_view s) = 0;
    virtual void int64(int64_t v) = 0;
    virtual void uint64(uint64_t v) = 0;
    virtual void dbl(double v) = 0;
    virtual void boolean(bool v) = 0;
    virtual void null() = 0;
};

class JsonTape {
public:
    bool empty() const { return events_.empty(); }
    void clear() { events_.clear(); }
    const std::vector<JsonEvent>& events() const { return events_; }

    void begin_object() { push(JsonEventType::BeginObject); }
    void end_object() { push(JsonEventType::EndObject); }
    void begin_array() { push(JsonEventType::BeginArray); }
    void end_array() { push(JsonEventType::EndArray); }
    void key(std::string_view k) { push(JsonEventType::Key).str = k; }
    void string(std::string_view s) { push(JsonEventType::String).str = s; }
    void int64(int64_t v) { push(JsonEventType::Int64).i = v; }
    void uint64(uint64_t v) { push(JsonEventType::UInt64).u = v; }
    void dbl(double v) { push(JsonEventType::Double).d = v; }
    void boolean(bool v) { push(JsonEventType::Bool).b = v; }
    void null() { push(JsonEventType::Null); }
    void element(simdjson::dom::element e) { push(JsonEventType::Element).elem = e; }
    // Refers to every event of another tape, which must outlive this one's use.
    // The events are not copied: a resource's attributes shared by thousands of
    // spans are held once.
    void append(const JsonTape& other) {
        if (!other.empty()) push(JsonEventType::Tape).tape = &other;
    }

    // Replays the tape into a sink.
    void replay(JsonSink& sink) const;

private:
    JsonEvent& push(JsonEventType t) {
        events_.emplace_back();
        events_.back().type = t;
        return events_.back();
    }
    std::vector<JsonEvent> events_;
};

// Writes one simdjson element into a sink. Recursive; the depth is bounded by
// the parser's max depth (kMaxDepth).
void emit_element(simdjson::dom::element e, JsonSink& sink);

// Compact JSON text writer, used for quarantined spans, tests and the fuzzer.
class JsonTextWriter final : public JsonSink {
public:
    void begin_object() override { sep(); out_ += '{'; first_ = true; }
    void end_object() override { out_ += '}'; first_ = false; }
    void begin_array() override { sep(); out_ += '['; first_ = true; }
    void end_array() override { out_ += ']'; first_ = false; }
    void key(std::string_view k) override;
    void string(std::string_view s) override;
    void int64(int64_t v) override;
    void uint64(uint64_t v) override;
    void dbl(double v) override;
    void boolean(bool v) override { sep(); out_ += v ? "true" : "false"; }
    void null() override { sep(); out_ += "null"; }

    const std::string& str() const { return out_; }
    void clear() { out_.clear(); first_ = true; after_key_ = false; }

private:
    void sep();
    std::string out_;
    bool first_ = true;
    bool after_key_ = false;
};

// Appends s to out as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

// Shortest decimal text that reads back as exactly v (for numeric columns).
std::string double_to_text(double v);
// The same into a caller's buffer (at least 32 bytes); returns the length.
size_t format_double(char* buf, size_t size, double v);

std::string element_to_json(simdjson::dom::element e);

}  // namespace llmtrace::core
