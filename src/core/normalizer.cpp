// The payload driver (parse, detect the format, collect spans and failures) and
// the helpers shared by the format readers.
#include "core/normalizer.hpp"

#include "core/cost.hpp"

#include <algorithm>
#include <unordered_map>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace llmtrace::core {

const char* to_string(SourceFormat f) {
    switch (f) {
    case SourceFormat::Otlp: return "otlp";
    case SourceFormat::Braintrust: return "braintrust";
    case SourceFormat::Vercel: return "vercel";
    case SourceFormat::Native: return "native";
    }
    return "native";
}

const char* to_string(SpanStatus s) {
    switch (s) {
    case SpanStatus::Ok: return "ok";
    case SpanStatus::Error: return "error";
    case SpanStatus::Unset: return "unset";
    }
    return "unset";
}

const char* to_string(CostStatus s) {
    switch (s) {
    case CostStatus::Priced: return "priced";
    case CostStatus::Reported: return "reported";
    case CostStatus::Unpriced: return "unpriced";
    case CostStatus::NoUsage: return "no_usage";
    case CostStatus::InvalidPrice: return "invalid_price";
    case CostStatus::Aggregate: return "aggregate";
    case CostStatus::Unreconciled: return "unreconciled";
    }
    return "no_usage";
}

// ---------------------------------------------------------------------------
// Arena
// ---------------------------------------------------------------------------
namespace {
constexpr size_t kArenaBlock = 64 * 1024;
}

char* Arena::alloc(size_t n) {
    if (n > kArenaBlock / 4) {
        big_.emplace_back(new char[n]);
        return big_.back().get();
    }
    if (blocks_.empty() || used_ + n > cap_) {
        blocks_.emplace_back(new char[kArenaBlock]);
        used_ = 0;
        cap_ = kArenaBlock;
    }
    char* p = blocks_.back().get() + used_;
    used_ += n;
    return p;
}

std::string_view Arena::copy(std::string_view s) {
    if (s.empty()) return std::string_view("", 0);
    char* p = alloc(s.size());
    std::memcpy(p, s.data(), s.size());
    return std::string_view(p, s.size());
}

std::string_view Arena::lower_copy(std::string_view s) {
    if (s.empty()) return std::string_view("", 0);
    char* p = alloc(s.size());
    for (size_t i = 0; i < s.size(); ++i) p[i] = char(std::tolower(static_cast<unsigned char>(s[i])));
    return std::string_view(p, s.size());
}

void Arena::reset() {
    if (blocks_.size() > 1) blocks_.erase(blocks_.begin() + 1, blocks_.end());
    used_ = 0;
    cap_ = blocks_.empty() ? 0 : kArenaBlock;
    big_.clear();
}

// ---------------------------------------------------------------------------
// Normalizer
// ---------------------------------------------------------------------------
namespace {

constexpr size_t kKeepCapacity = 16 * 1024 * 1024;

bool contains_nul_escape(std::string_view s) {
    return s.find("\\u0000") != std::string_view::npos;
}

// Error text for a payload simdjson rejected. nlohmann's SAX parser re-reads it
// (without building a tree, so any depth is safe) to name the byte offset.
// `check` runs every few thousand values, so a cancel is honoured.
std::string describe_parse_error(std::string_view payload, simdjson::error_code code,
                                 void (*check)()) {
    struct NullSax : nlohmann::json_sax<nlohmann::json> {
        std::string error;
        void (*check)() = nullptr;
        unsigned count = 0;
        bool tick() {
            if (++count >= 4096) {
                count = 0;
                if (check) check();
            }
            return true;
        }
        bool null() override { return tick(); }
        bool boolean(bool) override { return tick(); }
        bool number_integer(number_integer_t) override { return tick(); }
        bool number_unsigned(number_unsigned_t) override { return tick(); }
        bool number_float(number_float_t, const string_t&) override { return tick(); }
        bool string(string_t&) override { return tick(); }
        bool binary(binary_t&) override { return tick(); }
        bool start_object(std::size_t) override { return tick(); }
        bool key(string_t&) override { return tick(); }
        bool end_object() override { return true; }
        bool start_array(std::size_t) override { return tick(); }
        bool end_array() override { return true; }
        bool parse_error(std::size_t position, const std::string&,
                         const nlohmann::detail::exception& ex) override {
            // "[json.exception.parse_error.101] parse error at line 1, column 7: <what>"
            std::string m = ex.what();
            size_t p = m.find(": ");
            if (p != std::string::npos) m = m.substr(p + 2);
            error = "at byte " + std::to_string(position) + ": " + m;
            return false;
        }
    };
    switch (code) {
    case simdjson::DEPTH_ERROR:
        return "JSON nesting is deeper than " + std::to_string(kMaxDepth) + " levels";
    case simdjson::NUMBER_ERROR:
        return "a JSON number is out of range (numbers must fit a 64-bit integer or a finite "
               "double)";
    case simdjson::UTF8_ERROR:
        return "the payload is not valid UTF-8";
    case simdjson::EMPTY:
        return "the payload is empty";
    default:
        break;
    }
    NullSax sax;
    sax.check = check;
    bool ok = false;
    try {
        ok = nlohmann::json::sax_parse(payload.begin(), payload.end(), &sax);
    } catch (const nlohmann::json::exception& e) {
        // Only the parser's own errors: anything the check throws (a cancel) goes on up.
        sax.error = e.what();
    }
    if (!ok && !sax.error.empty()) return "invalid JSON " + sax.error;
    if (code == simdjson::STRING_ERROR)
        return "invalid JSON string: a bad escape or a lone UTF-16 surrogate (\\ud800-\\udfff)";
    return std::string("invalid JSON: ") + simdjson::error_message(code);
}

const char* sqlstate_for(simdjson::error_code code) {
    switch (code) {
    case simdjson::NUMBER_ERROR:
        return sqlstate::kOutOfRange;
    case simdjson::UTF8_ERROR:
        return "22021";  // character_not_in_repertoire
    default:
        return sqlstate::kInvalidText;
    }
}

}  // namespace

namespace {
void allocate(simdjson::dom::parser& p, size_t capacity) {
    if (p.allocate(capacity, kMaxDepth) != simdjson::SUCCESS) throw std::bad_alloc();
}
}  // namespace

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_sequence(std::string_view s, size_t i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) return c == 0 ? 0 : 1;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        const unsigned char d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (d & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// Valid UTF-8 without raw control characters: invalid bytes become '?',
// control characters (and DEL) their JSON escape, e.g. \u001b.
std::string valid_utf8(std::string s) {
    std::string out;
    size_t i = 0;
    bool changed = false;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
            changed = true;
            ++i;
            continue;
        }
        size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out += '?';
            changed = true;
            ++i;
        } else {
            out.append(s, i, n);
            i += n;
        }
    }
    return changed ? out : s;
}

}  // namespace

std::string printable_message(std::string message) { return valid_utf8(std::move(message)); }

Failure make_failure(const char* state, std::string message, std::string location,
                     std::string json, const char* format) {
    Failure f;
    f.sqlstate = state;
    f.message = valid_utf8(std::move(message));
    f.location = valid_utf8(std::move(location));
    f.json = std::move(json);
    f.format = format;
    return f;
}

Normalizer::Normalizer() {
    allocate(parser_, 64 * 1024);
    allocate(nested_parser_, 16 * 1024);
}

std::optional<simdjson::dom::element> Normalizer::parse_nested(std::string_view text) {
    size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i == text.size() || (text[i] != '{' && text[i] != '[')) return std::nullopt;
    if (nested_used_ == nested_docs_.size()) nested_docs_.emplace_back();
    simdjson::dom::document& doc = nested_docs_[nested_used_];
    simdjson::dom::element e;
    if (nested_parser_.parse_into_document(doc, text.data(), text.size(), true).get(e))
        return std::nullopt;
    ++nested_used_;
    if (contains_nul_escape(text)) may_contain_nul_ = true;
    return e;
}

JsonTape& Normalizer::shared_tape() {
    if (shared_used_ == shared_tapes_.size()) shared_tapes_.emplace_back();
    JsonTape& t = shared_tapes_[shared_used_++];
    t.clear();
    return t;
}

namespace {

// Writes JSON text until a size limit, then stops the emission.
class LimitedWriter final : public JsonSink {
public:
    struct Full {};
    LimitedWriter(Normalizer& n, size_t limit) : n_(n), limit_(limit) {}
    void begin_object() override { w_.begin_object(); check(); }
    void end_object() override { w_.end_object(); check(); }
    void begin_array() override { w_.begin_array(); check(); }
    void end_array() override { w_.end_array(); check(); }
    void key(std::string_view k) override { w_.key(k); check(); }
    void string(std::string_view s) override { w_.string(s); check(); }
    void int64(int64_t v) override { w_.int64(v); check(); }
    void uint64(uint64_t v) override { w_.uint64(v); check(); }
    void dbl(double v) override { w_.dbl(v); check(); }
    void boolean(bool v) override { w_.boolean(v); check(); }
    void null() override { w_.null(); check(); }
    const std::string& str() const { return w_.str(); }

private:
    void check() {
        n_.tick();
        if (w_.str().size() > limit_) throw Full{};
    }
    Normalizer& n_;
    size_t limit_;
    JsonTextWriter w_;
};

}  // namespace

std::string Normalizer::failure_json(simdjson::dom::element e, bool& truncated) {
    truncated = false;
    LimitedWriter w(*this, opts_.failure_json_limit);
    try {
        emit_element(e, w);
        return w.str();
    } catch (const LimitedWriter::Full&) {
        truncated = true;
    }
    // Cut at the limit, on a UTF-8 character boundary.
    std::string s = w.str();
    size_t cut = std::min(s.size(), opts_.failure_json_limit);
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    return s;
}

void Normalizer::report_failure(SpanSink& out, const InputError& e, const std::string& loc,
                                simdjson::dom::element v, const char* format) {
    Failure f;
    if (loc.empty()) {
        // The payload itself is the bad input: it is kept whole, not re-written.
        f = make_failure(e.sqlstate(), e.what(), std::string(), std::string(), format);
        f.whole_payload = true;
    } else {
        bool truncated = false;
        std::string json = failure_json(v, truncated);
        f = make_failure(e.sqlstate(), e.what(), loc, std::move(json), format);
        f.json_truncated = truncated;
    }
    out.failure(f);
}

void Normalizer::fail_payload(const char* state, std::string msg, SpanSink& out) {
    Failure f = make_failure(state, std::move(msg), std::string(), std::string(), nullptr);
    f.whole_payload = true;
    out.failure(f);
}

void Normalizer::release_memory() {
    constexpr size_t kSmall = 1024 * 1024;
    if (parser_.capacity() > kSmall) {
        parser_ = simdjson::dom::parser();
        allocate(parser_, 64 * 1024);
    }
    if (nested_parser_.capacity() > kSmall) {
        nested_parser_ = simdjson::dom::parser();
        allocate(nested_parser_, 16 * 1024);
    }
    nested_docs_.clear();
    nested_docs_.shrink_to_fit();
    nested_used_ = 0;
    shared_tapes_.clear();
    shared_tapes_.shrink_to_fit();
    shared_used_ = 0;
    arena_.reset();
}

void Normalizer::normalize(std::string_view payload, SpanSink& out) {
    arena_.reset();
    nested_used_ = 0;
    shared_used_ = 0;
    if (nested_docs_.size() > 64) nested_docs_.resize(64);
    if (shared_tapes_.size() > 1024) shared_tapes_.resize(1024);
    if (parser_.capacity() > kKeepCapacity && payload.size() < kKeepCapacity) {
        parser_ = simdjson::dom::parser();
        allocate(parser_, 64 * 1024);
    }
    may_contain_nul_ = contains_nul_escape(payload);

    // simdjson parses a document in one go (about 10 ms per MB at worst, most
    // of it first touching fresh memory); llmtrace.max_payload_bytes bounds
    // it. A cancel that arrived meanwhile is honoured right after.
    if (payload.size() > 1024 * 1024) check_interrupts();
    simdjson::dom::element root;
    auto code = parser_.parse(payload.data(), payload.size(), true).get(root);
    if (payload.size() > 1024 * 1024) check_interrupts();
    if (code) {
        fail_payload(sqlstate_for(code), describe_parse_error(payload, code, opts_.interrupt_check), out);
        return;
    }
    // A Braintrust batch: {"events": [...]} (the REST API's insert body) or
    // {"rows": [...], "api_version": N} (what the SDK posts to /logs3): an
    // object with nothing but the list (and the version) is the list.
    std::string prefix;
    if (root.type() == simdjson::dom::element_type::OBJECT) {
        simdjson::dom::object o(root);
        simdjson::dom::element list;
        const char* name = nullptr;
        bool only_batch_keys = true;
        for (auto kv : o) {
            if ((kv.key == "events" || kv.key == "rows") && kv.value.type() == simdjson::dom::element_type::ARRAY) {
                if (name) only_batch_keys = false;  // both: not a batch
                name = kv.key == "events" ? "events" : "rows";
                list = kv.value;
            } else if (kv.key != "api_version") {
                only_batch_keys = false;
            }
        }
        if (name && only_batch_keys) {
            root = list;
            prefix = name;
        }
    }
    if (root.type() == simdjson::dom::element_type::ARRAY) {
        using simdjson::dom::element;
        using simdjson::dom::object;
        simdjson::dom::array items(root);
        // Braintrust sends one span as a first row and later rows with
        // "_is_merge": true (tokens, output, end time) under the same id.
        // Rows of one span in this payload are merged into one before
        // normalizing; see merge_braintrust_rows.
        std::unordered_map<std::string_view, std::vector<simdjson::dom::element>> groups;
        std::unordered_map<std::string_view, size_t> first_index;
        bool any_merge = false;
        for (auto item : items) {
            tick();
            object o;
            element m;
            if (!item.get_object().get(o) && detail::lookup(o, "_is_merge", m) && m.is_bool() && bool(m)) {
                any_merge = true;
                break;
            }
        }
        // The row id a Braintrust row merges under, or empty.
        auto merge_key = [](element item) {
            object o;
            element id;
            std::string_view key;
            if (item.get_object().get(o) || !detail::has_key(o, "span_id") ||
                !(detail::lookup(o, "id", id) || detail::lookup(o, "span_id", id)) || id.get_string().get(key))
                return std::string_view();
            return key;
        };
        if (any_merge) {
            size_t idx = 0;
            for (auto item : items) {
                tick();
                std::string_view key = merge_key(item);
                if (!key.empty()) {
                    groups[key].push_back(item);
                    first_index.emplace(key, idx);
                }
                ++idx;
            }
        }
        size_t i = 0;
        for (auto item : items) {
            tick(16);
            std::string loc = prefix + "[" + std::to_string(i++) + "]";
            if (item.type() == simdjson::dom::element_type::ARRAY) {
                report_failure(out, InputError(sqlstate::kInvalidParameter,
                                               "a nested array is not a span payload"),
                               loc, item, nullptr);
                continue;
            }
            if (any_merge) {
                std::string_view key = merge_key(item);
                auto g = key.empty() ? groups.end() : groups.find(key);
                if (g != groups.end() && g->second.size() > 1) {
                    if (first_index[key] != i - 1) continue;  // merged into the first row
                    if (auto merged = merge_braintrust_rows(g->second)) {
                        normalize_value(*merged, loc, out);
                        continue;
                    }
                }
            }
            normalize_value(item, loc, out);
        }
        return;
    }
    normalize_value(root, std::string(), out);
}

namespace {

// Writes the deep merge of objects (later ones win; objects under the same key
// are merged in turn) into a JSON writer. "_is_merge" and "_merge_paths" are
// Braintrust's control fields, not data.
void write_merged(const std::vector<simdjson::dom::object>& layers, JsonTextWriter& w, bool top) {
    std::vector<std::string_view> keys;
    for (auto o : layers)
        for (auto kv : o)
            if (std::find(keys.begin(), keys.end(), kv.key) == keys.end()) keys.push_back(kv.key);
    w.begin_object();
    for (std::string_view k : keys) {
        if (top && (k == "_is_merge" || k == "_merge_paths")) continue;
        std::vector<simdjson::dom::object> sub;
        simdjson::dom::element last;
        bool all_objects = true;
        for (auto o : layers) {
            simdjson::dom::element v;
            if (!detail::lookup(o, k, v)) continue;
            last = v;
            simdjson::dom::object so;
            if (v.get_object().get(so))
                all_objects = false;
            else
                sub.push_back(so);
        }
        w.key(k);
        if (all_objects && sub.size() > 1)
            write_merged(sub, w, false);
        else
            emit_element(last, w);
    }
    w.end_object();
}

}  // namespace

std::optional<simdjson::dom::element> Normalizer::merge_braintrust_rows(
    const std::vector<simdjson::dom::element>& rows) {
    std::vector<simdjson::dom::object> layers;
    for (auto r : rows) {
        simdjson::dom::object o;
        if (r.get_object().get(o)) return std::nullopt;
        layers.push_back(o);
    }
    JsonTextWriter w;
    write_merged(layers, w, true);
    return parse_nested(arena_.copy(w.str()));
}

void Normalizer::normalize_value(simdjson::dom::element v, const std::string& loc, SpanSink& out) {
    try {
        normalize_one(v, loc, out);
    } catch (const InputError& e) {
        report_failure(out, e, loc, v, nullptr);
    }
}

void Normalizer::normalize_one(simdjson::dom::element v, const std::string& loc, SpanSink& out) {
    using namespace detail;
    object o;
    if (v.get_object().get(o))
        fail(sqlstate::kInvalidParameter,
             "a payload must be a JSON object or an array of objects");
    if (has_key(o, "resourceSpans") || has_key(o, "instrumentationLibrarySpans")) {
        read_otlp(*this, o, loc, out);
        return;
    }
    const bool has_span_id = has_key(o, "span_id");
    const bool has_trace_id = has_key(o, "trace_id");
    SourceFormat f;
    if (has_span_id && (has_key(o, "root_span_id") || has_key(o, "span_parents") ||
                        has_key(o, "span_attributes")))
        f = SourceFormat::Braintrust;
    else if (has_trace_id || has_span_id)
        f = SourceFormat::Native;
    else if (has_key(o, "id") && has_key(o, "timestamp"))
        f = SourceFormat::Vercel;
    else
        fail(sqlstate::kInvalidParameter,
             "unrecognized payload format: expected OTLP (resourceSpans), Braintrust "
             "(span_id, root_span_id), Vercel (id, timestamp) or native (trace_id, span_id)");

    Span s;
    s.format = f;
    s.attributes.begin_object();
    try {
        switch (f) {
        case SourceFormat::Braintrust: read_braintrust(*this, o, s); break;
        case SourceFormat::Vercel: read_vercel(*this, o, s); break;
        default: read_native(*this, o, s); break;
        }
        if (may_contain_nul_) check_span_nul(s);
    } catch (const InputError& e) {
        report_failure(out, e, loc, v, to_string(f));
        return;
    }
    s.attributes.end_object();
    out.span(s);
}

// ---------------------------------------------------------------------------
// Helpers shared by the readers
// ---------------------------------------------------------------------------
namespace detail {

void fail(const char* state, const std::string& msg) { throw InputError(state, msg); }

bool lookup(object o, std::string_view key, element& out) {
    bool found = false;
    for (auto kv : o)
        if (kv.key == key) {
            out = kv.value;
            found = true;
        }
    return found;
}

Str checked_id(Str id, std::string_view field) {
    if (present(id) && id.size() > kMaxIdBytes)
        fail(sqlstate::kInvalidParameter, std::string(field) + " is longer than " +
                                              std::to_string(kMaxIdBytes) + " bytes (" +
                                              std::to_string(id.size()) + ")");
    return id;
}

namespace {

void check_nul(std::string_view s, std::string_view field) {
    if (std::memchr(s.data(), '\0', s.size()))
        fail(sqlstate::kUntranslatable,
             std::string(field) + " contains \\u0000, which PostgreSQL text cannot store");
}

std::string type_name(element v) {
    switch (v.type()) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: return "a number";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    }
    return "a value";
}

}  // namespace

Str text_of(Normalizer& n, element v, std::string_view field) {
    switch (v.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
        return Str();
    case simdjson::dom::element_type::STRING: {
        std::string_view s(v);
        if (n.may_contain_nul()) check_nul(s, field);
        return s;
    }
    case simdjson::dom::element_type::INT64:
        return n.arena().copy(std::to_string(int64_t(v)));
    case simdjson::dom::element_type::UINT64:
        return n.arena().copy(std::to_string(uint64_t(v)));
    case simdjson::dom::element_type::DOUBLE:
        return n.arena().copy(double_to_text(double(v)));
    case simdjson::dom::element_type::BOOL:
        return bool(v) ? Str("true") : Str("false");
    default:
        fail(sqlstate::kInvalidParameter,
             std::string(field) + " must be a string, got " + type_name(v));
    }
}

Str text_field(Normalizer& n, object o, std::string_view key) {
    element v;
    if (!lookup(o, key, v)) return Str();
    return text_of(n, v, key);
}

int64_t token_count(element v, std::string_view field) {
    auto bad = [&](const char* state, const std::string& what) {
        fail(state, std::string(field) + " must be a non-negative integer token count, got " + what);
    };
    switch (v.type()) {
    case simdjson::dom::element_type::INT64: {
        int64_t x = int64_t(v);
        if (x < 0) bad(sqlstate::kInvalidParameter, std::to_string(x));
        if (x > kMaxTokens) bad(sqlstate::kOutOfRange, std::to_string(x));
        return x;
    }
    case simdjson::dom::element_type::UINT64:
        bad(sqlstate::kOutOfRange, std::to_string(uint64_t(v)));
        break;
    case simdjson::dom::element_type::DOUBLE: {
        double d = double(v);
        if (d < 0) bad(sqlstate::kInvalidParameter, double_to_text(d));
        if (d > double(kMaxTokens)) bad(sqlstate::kOutOfRange, double_to_text(d));
        if (d != std::floor(d)) bad(sqlstate::kInvalidParameter, double_to_text(d));
        return int64_t(d);
    }
    case simdjson::dom::element_type::STRING: {
        std::string_view s(v);
        if (s.empty() || s.size() > 19 ||
            !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            std::string shown(s.substr(0, 40));
            if (!s.empty() && s[0] == '-')
                bad(sqlstate::kInvalidParameter, "\"" + shown + "\"");
            bad(s.size() > 19 && std::all_of(s.begin(), s.end(),
                                              [](char c) { return c >= '0' && c <= '9'; })
                    ? sqlstate::kOutOfRange
                    : sqlstate::kInvalidParameter,
                "\"" + shown + "\"");
        }
        int64_t x = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), x);
        if (r.ec != std::errc() || x > kMaxTokens) bad(sqlstate::kOutOfRange, "\"" + std::string(s) + "\"");
        return x;
    }
    default:
        bad(sqlstate::kInvalidParameter, type_name(v));
    }
    return 0;
}

std::optional<int64_t> token_field(object o, std::string_view key, std::string_view prefix) {
    element v;
    if (!lookup(o, key, v) || v.is_null()) return std::nullopt;
    return token_count(v, std::string(prefix) + std::string(key));
}

double amount_of(element v, std::string_view field) {
    double d = 0;
    switch (v.type()) {
    case simdjson::dom::element_type::INT64: d = double(int64_t(v)); break;
    case simdjson::dom::element_type::UINT64: d = double(uint64_t(v)); break;
    case simdjson::dom::element_type::DOUBLE: d = double(v); break;
    case simdjson::dom::element_type::STRING: {
        // A decimal number as text; no hexadecimal, infinity or trailing junk.
        std::string_view s(v);
        auto r = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d))
            fail(sqlstate::kInvalidParameter,
                 std::string(field) + " must be a number, got \"" + std::string(s.substr(0, 40)) + "\"");
        break;
    }
    default:
        fail(sqlstate::kInvalidParameter, std::string(field) + " must be a number, got " + type_name(v));
    }
    if (d < 0)
        fail(sqlstate::kInvalidParameter,
             std::string(field) + " must not be negative, got " + double_to_text(d));
    if (d > 1e12) fail(sqlstate::kOutOfRange, std::string(field) + " is out of range");
    return d;
}

void check_tree(element v, std::string_view field) {
    switch (v.type()) {
    case simdjson::dom::element_type::STRING:
        check_nul(std::string_view(v), field);
        break;
    case simdjson::dom::element_type::ARRAY:
        for (auto c : simdjson::dom::array(v)) check_tree(c, field);
        break;
    case simdjson::dom::element_type::OBJECT:
        for (auto kv : simdjson::dom::object(v)) {
            check_nul(kv.key, field);
            check_tree(kv.value, field);
        }
        break;
    default:
        break;
    }
}

namespace {

// Throws 22P05 on the first key or string holding a NUL.
class NulCheck final : public JsonSink {
public:
    explicit NulCheck(const char* field) : field_(field) {}
    void begin_object() override {}
    void end_object() override {}
    void begin_array() override {}
    void end_array() override {}
    void key(std::string_view k) override { check_nul(k, field_); }
    void string(std::string_view s) override { check_nul(s, field_); }
    void int64(int64_t) override {}
    void uint64(uint64_t) override {}
    void dbl(double) override {}
    void boolean(bool) override {}
    void null() override {}

private:
    const char* field_;
};

}  // namespace

void check_span_nul(const Span& s) {
    const std::pair<Str, const char*> texts[] = {
        {s.trace_id, "trace id"}, {s.span_id, "span id"}, {s.parent_span_id, "parent span id"},
        {s.name, "name"}, {s.kind, "kind"}, {s.operation, "operation"},
        {s.error_message, "error message"}, {s.service, "service"}, {s.project, "project"},
        {s.environment, "environment"}, {s.endpoint, "endpoint"}, {s.feature, "feature"},
        {s.provider, "provider"}, {s.model, "model"}, {s.user_id, "user id"},
        {s.session_id, "session id"}};
    for (const auto& t : texts)
        if (present(t.first)) check_nul(t.first, t.second);
    NulCheck in("input"), out("output"), attrs("an attribute");
    s.input.replay(in);
    s.output.replay(out);
    s.attributes.replay(attrs);
}

void tape_element(Normalizer& n, JsonTape& t, element v, std::string_view field) {
    if (n.may_contain_nul()) check_tree(v, field);
    t.element(v);
}

void set_content(Normalizer& n, JsonTape& t, element v, std::string_view field) {
    if (n.content_mode() == ContentMode::None || v.is_null()) return;
    t.clear();
    if (v.type() == simdjson::dom::element_type::STRING) {
        // JSON carried in a string (OTLP attributes, AI SDK prompts) is stored as JSON.
        std::string_view s(v);
        if (auto nested = n.parse_nested(s)) {
            tape_element(n, t, *nested, field);
            return;
        }
    }
    tape_element(n, t, v, field);
}

namespace {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = unsigned(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + int64_t(doe) - 719468;
}

// Latest accepted instant: 9999-12-31T23:59:59Z; earliest 0001-01-01.
constexpr int64_t kMaxUs = 253402300799LL * 1000000LL;
constexpr int64_t kMinUs = -62135596800LL * 1000000LL;

}  // namespace

int64_t parse_iso8601(std::string_view s, std::string_view field) {
    auto bad = [&]() {
        fail(sqlstate::kInvalidDatetime,
             std::string(field) + " is not an ISO 8601 timestamp: \"" +
                 std::string(s.substr(0, 40)) + "\"");
    };
    size_t i = 0;
    auto num = [&](size_t digits) -> int64_t {
        if (i + digits > s.size()) bad();
        int64_t v = 0;
        for (size_t k = 0; k < digits; ++k) {
            char c = s[i + k];
            if (c < '0' || c > '9') bad();
            v = v * 10 + (c - '0');
        }
        i += digits;
        return v;
    };
    auto expect = [&](char c) {
        if (i >= s.size() || s[i] != c) bad();
        ++i;
    };
    int64_t year = num(4);
    expect('-');
    int64_t mon = num(2);
    expect('-');
    int64_t day = num(2);
    int64_t hh = 0, mi = 0, ss = 0, frac_us = 0, offset_s = 0;
    if (i < s.size()) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') bad();
        ++i;
        hh = num(2);
        expect(':');
        mi = num(2);
        if (i < s.size() && s[i] == ':') {
            ++i;
            ss = num(2);
        }
        if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
            ++i;
            size_t start = i;
            int64_t scale = 100000;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                frac_us += (s[i] - '0') * scale;
                scale /= 10;
                ++i;
            }
            if (i == start) bad();
        }
        if (i < s.size()) {
            if (s[i] == 'Z' || s[i] == 'z') {
                ++i;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1;
                ++i;
                int64_t oh = num(2), om = 0;
                if (i < s.size() && s[i] == ':') ++i;
                if (i < s.size()) om = num(2);
                if (oh > 23 || om > 59) bad();
                offset_s = sign * (oh * 3600 + om * 60);
            } else {
                bad();
            }
        }
    }
    if (i != s.size()) bad();
    static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || mon < 1 || mon > 12 || day < 1 || day > kDays[mon - 1] || hh > 23 || mi > 59 ||
        ss > 60)
        bad();
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (mon == 2 && day == 29 && !leap) bad();
    if (ss == 60) ss = 59;  // leap second: PostgreSQL has none either
    int64_t secs = days_from_civil(year, unsigned(mon), unsigned(day)) * 86400 + hh * 3600 +
                   mi * 60 + ss - offset_s;
    return secs * 1000000 + frac_us;
}

namespace {

// An integer Unix epoch in s, ms, us or ns (by magnitude) -> microseconds, truncated.
int64_t epoch_integer_us(int64_t x, std::string_view field) {
    if (x < 0) fail(sqlstate::kDatetimeOverflow, std::string(field) + " must not be negative");
    int64_t us = x >= 100000000000000000LL ? x / 1000
                 : x >= 100000000000000LL  ? x
                 : x >= 100000000000LL     ? x * 1000
                                           : x * 1000000;
    if (us > kMaxUs) fail(sqlstate::kDatetimeOverflow, std::string(field) + " is out of range");
    return us;
}

}  // namespace

int64_t timestamp_of(element v, std::string_view field) {
    double d;
    switch (v.type()) {
    case simdjson::dom::element_type::STRING: {
        std::string_view s(v);
        bool numeric = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
            return (c >= '0' && c <= '9') || c == '.';
        });
        if (!numeric) return parse_iso8601(s, field);
        if (s.find('.') == std::string_view::npos) {
            // "1544712660000000000" (OTLP int64 as a string): exact, no double.
            int64_t x = 0;
            auto r = std::from_chars(s.data(), s.data() + s.size(), x);
            if (r.ec != std::errc())
                fail(sqlstate::kDatetimeOverflow, std::string(field) + " is out of range");
            return epoch_integer_us(x, field);
        }
        auto r = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::fixed);
        if (r.ec != std::errc() || r.ptr != s.data() + s.size())
            fail(sqlstate::kInvalidDatetime,
                 std::string(field) + " is not a Unix epoch number: \"" + std::string(s.substr(0, 40)) + "\"");
        break;
    }
    case simdjson::dom::element_type::INT64:
        // Integers keep full precision (nanosecond epochs exceed a double's 53 bits).
        return epoch_integer_us(int64_t(v), field);
    case simdjson::dom::element_type::UINT64:
        fail(sqlstate::kDatetimeOverflow, std::string(field) + " is out of range");
    case simdjson::dom::element_type::DOUBLE:
        d = double(v);
        break;
    default:
        fail(sqlstate::kInvalidDatetime,
             std::string(field) + " must be an ISO 8601 string or a Unix epoch number, got " +
                 type_name(v));
    }
    if (!(d >= 0)) fail(sqlstate::kDatetimeOverflow, std::string(field) + " must not be negative");
    double us = d >= 1e17 ? d / 1000 : d >= 1e14 ? d : d >= 1e11 ? d * 1000 : d * 1e6;
    if (us > double(kMaxUs)) fail(sqlstate::kDatetimeOverflow, std::string(field) + " is out of range");
    return int64_t(std::llround(us));
}

void finish_times(Span& s, std::optional<int64_t> start, std::optional<int64_t> end,
                  std::optional<double> duration_ms) {
    if (duration_ms && (!std::isfinite(*duration_ms) || *duration_ms < 0))
        fail(sqlstate::kInvalidParameter, "duration must not be negative");
    if (duration_ms && *duration_ms > 1e12) fail(sqlstate::kOutOfRange, "duration is out of range");
    if (!start && end && duration_ms) start = *end - int64_t(std::llround(*duration_ms * 1000));
    if (!start) fail(sqlstate::kNullNotAllowed, "the span has no start time");
    if (*start < kMinUs || *start > kMaxUs)
        fail(sqlstate::kDatetimeOverflow, "the start time is out of range");
    s.start_us = *start;
    if (end) {
        if (*end < *start) fail(sqlstate::kInvalidParameter, "the end time is before the start time");
        s.end_us = end;
        s.duration_ms = double(*end - *start) / 1000.0;
    } else if (duration_ms) {
        s.duration_ms = duration_ms;
        s.end_us = *start + int64_t(std::llround(*duration_ms * 1000));
    }
    if (s.end_us && *s.end_us > kMaxUs) fail(sqlstate::kDatetimeOverflow, "the end time is out of range");
}

Str normalized_provider(Normalizer& n, Str raw) {
    if (!present(raw)) return raw;
    return n.arena().copy(normalize_provider(raw));
}

Str operation_from_kind(std::string_view kind) {
    std::string k(kind);
    for (char& c : k) c = char(std::tolower(static_cast<unsigned char>(c)));
    static const std::pair<const char*, const char*> kMap[] = {
        {"llm", "chat"},          {"chat", "chat"},
        {"completion", "text_completion"}, {"embedding", "embeddings"},
        {"embeddings", "embeddings"},      {"tool", "execute_tool"},
        {"agent", "invoke_agent"},         {"retriever", "retrieval"},
        {"reranker", "rerank"},            {"chain", "chain"},
        {"function", "function"},          {"task", "task"},
        {"eval", "eval"},                  {"score", "score"},
        {"guardrail", "guardrail"},        {"evaluator", "eval"}};
    for (const auto& m : kMap)
        if (k == m.first) return m.second;
    return Str();
}

namespace {

int64_t sum(std::initializer_list<std::optional<int64_t>> xs) {
    int64_t v = 0;
    for (const auto& x : xs) v += x.value_or(0);
    return v;
}

}  // namespace

void record_raw_usage(Span& s, const Tokens& t) {
    JsonTape& a = s.attributes;
    a.key("llmtrace.raw_usage");
    a.begin_object();
    const std::pair<const char*, std::optional<int64_t>> parts[] = {
        {"input", t.input}, {"output", t.output}, {"cached_input", t.cached_input},
        {"cache_write", t.cache_write}, {"reasoning", t.reasoning}, {"total", t.total}};
    for (const auto& p : parts)
        if (p.second) {
            a.key(p.first);
            a.int64(*p.second);
        }
    a.end_object();
}

void finish_tokens(Span& s, const char* rule) {
    Tokens& t = s.tokens;
    if (s.aggregate_usage) {
        // The numbers are the descendants' (kept in attributes by the reader).
        t = Tokens();
        return;
    }
    if (s.usage_unreconciled) {  // a usage object no rule recognizes
        t = Tokens();
        if (rule) {
            s.attributes.key("llmtrace.token_rule");
            s.attributes.string(rule);
        }
        return;
    }
    if (!t.any()) return;
    const Tokens sent = t;
    // Counts sent under inclusive names can be exclusive (Bedrock's inputTokens
    // under gen_ai.usage.input_tokens, Gemini's completion_tokens without the
    // reasoning behind an OpenAI-compatible API). A total that does not equal
    // input + output tells which parts were left out.
    const bool have_parts = t.input || t.output;
    const int64_t in = t.input.value_or(0), out = t.output.value_or(0);
    const int64_t cache = sum({t.cached_input, t.cache_write});
    const int64_t reasoning = t.reasoning.value_or(0);
    const char* applied = rule;
    if (have_parts && t.total && *t.total != in + out) {
        if (cache > 0 && *t.total == in + out + cache) {
            t.input = in + cache;
            applied = "total: input excluded cache reads and writes";
        } else if (reasoning > 0 && *t.total == in + out + reasoning) {
            t.output = out + reasoning;
            applied = "total: output excluded reasoning";
        } else if (cache > 0 && reasoning > 0 && *t.total == in + out + cache + reasoning) {
            t.input = in + cache;
            t.output = out + reasoning;
            applied = "total: input excluded cache, output excluded reasoning";
        }
    }
    const bool input_ok = t.input ? *t.input >= cache : cache == 0;
    const bool output_ok = !t.reasoning || !t.output || *t.reasoning <= *t.output;
    // A total no reading explains means tokens were left out of the parts
    // (Strands without streaming drops the cache counts: 34 + 250 but 1607).
    const bool total_ok = !have_parts || !t.total || applied != rule ||
                          *t.total == t.input.value_or(0) + t.output.value_or(0);
    if (!input_ok || !output_ok || !total_ok) {
        // No documented rule reconciles these counts: the span is kept, with
        // the counts as sent, and is not priced.
        s.usage_unreconciled = true;
        t = Tokens();
        record_raw_usage(s, sent);
        s.attributes.key("llmtrace.token_rule");
        s.attributes.string(!input_ok    ? "unreconciled: cached and cache-write input tokens exceed the input tokens"
                            : !output_ok ? "unreconciled: reasoning tokens exceed the output tokens"
                                         : "unreconciled: the total is not input + output, and no rule explains it");
        return;
    }
    if (!t.total && (t.input || t.output)) t.total = t.input.value_or(0) + t.output.value_or(0);
    if (applied) {
        if (applied != rule) record_raw_usage(s, sent);
        s.attributes.key("llmtrace.token_rule");
        s.attributes.string(applied);
    }
}

}  // namespace detail
}  // namespace llmtrace::core
