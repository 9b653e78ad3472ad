// JsonSink over pushJsonbValue. Trivially destructible (fixed arrays only), as
// it lives in frames a PostgreSQL error (a cancel, out of memory) may unwind.
#include "pg/jsonb_builder.hpp"

#include "core/redact.hpp"

#include <charconv>

namespace llmtrace::pg {

namespace {

// Scratch for redacted strings; copied into palloc'd memory at once.
std::string& redact_scratch() {
    static std::string s;
    return s;
}

class JsonbBuilder final : public core::JsonSink {
public:
    explicit JsonbBuilder(bool redact) : redact_(redact) {}
    void begin_object() override { open(WJB_BEGIN_OBJECT, true); }
    void end_object() override { close(WJB_END_OBJECT); }
    void begin_array() override { open(WJB_BEGIN_ARRAY, false); }
    void end_array() override { close(WJB_END_ARRAY); }
    void key(std::string_view k) override {
        tick();
        JsonbValue v;
        v.type = jbvString;
        v.val.string.val = const_cast<char*>(k.data());
        v.val.string.len = int(k.size());
        pushJsonbValue(&state_, WJB_KEY, &v);
    }
    void string(std::string_view s) override {
        if (redact_ && core::redact(s, redact_scratch())) {
            const std::string& m = redact_scratch();
            s = std::string_view(pnstrdup(m.data(), m.size()), m.size());
        }
        JsonbValue v;
        v.type = jbvString;
        v.val.string.val = const_cast<char*>(s.data());
        v.val.string.len = int(s.size());
        scalar(v);
    }
    void int64(int64_t x) override { numeric(int64_to_numeric(x)); }
    void uint64(uint64_t x) override {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf - 1, x);
        *r.ptr = '\0';
        numeric(DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
                                                    ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))));
    }
    void dbl(double x) override {
        char buf[64];
        size_t n = core::format_double(buf, sizeof buf - 1, x);
        buf[n] = '\0';
        numeric(DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
                                                    ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))));
    }
    void boolean(bool b) override {
        JsonbValue v;
        v.type = jbvBool;
        v.val.boolean = b;
        scalar(v);
    }
    void null() override {
        JsonbValue v;
        v.type = jbvNull;
        scalar(v);
    }

    Datum finish() {
        if (top_scalar_set_) return JsonbPGetDatum(JsonbValueToJsonb(&top_scalar_));
        if (!result_) elog(ERROR, "llmtrace: empty JSON value");
        return JsonbPGetDatum(JsonbValueToJsonb(result_));
    }

private:
    // A large value takes a while to build: a cancel is honoured meanwhile.
    void tick() {
        if ((++events_ & 4095) == 0) CHECK_FOR_INTERRUPTS();
    }
    void open(JsonbIteratorToken tok, bool object) {
        tick();
        if (depth_ >= int(core::kMaxDepth) + 8) elog(ERROR, "llmtrace: JSON nesting too deep");
        in_object_[depth_++] = object;
        result_ = pushJsonbValue(&state_, tok, nullptr);
    }
    void close(JsonbIteratorToken tok) {
        --depth_;
        result_ = pushJsonbValue(&state_, tok, nullptr);
    }
    void numeric(Numeric n) {
        JsonbValue v;
        v.type = jbvNumeric;
        v.val.numeric = n;
        scalar(v);
    }
    void scalar(JsonbValue& v) {
        tick();
        if (depth_ == 0) {
            top_scalar_ = v;
            top_scalar_set_ = true;
            return;
        }
        pushJsonbValue(&state_, in_object_[depth_ - 1] ? WJB_VALUE : WJB_ELEM, &v);
    }

    bool redact_;
    JsonbParseState* state_ = nullptr;
    JsonbValue* result_ = nullptr;
    JsonbValue top_scalar_{};
    bool top_scalar_set_ = false;
    int depth_ = 0;
    unsigned events_ = 0;
    bool in_object_[core::kMaxDepth + 8] = {};
};

}  // namespace

Datum tape_to_jsonb(const core::JsonTape& tape, bool redact) {
    JsonbBuilder b(redact);
    tape.replay(b);
    return b.finish();
}

}  // namespace llmtrace::pg
