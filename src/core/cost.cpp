// Price rows, model-name resolution and exact fixed-point cost computation.
#include "core/cost.hpp"

#include <algorithm>
#include <cctype>

namespace llmtrace::core {

namespace {

constexpr int kPriceScale = 12;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void push_unique(std::vector<std::string>& v, std::string s) {
    if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

}  // namespace

std::optional<PriceUnits> parse_price(std::string_view text) {
    if (text.empty()) return std::nullopt;
    size_t dot = text.find('.');
    std::string_view ip = text.substr(0, dot);
    std::string_view fp = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (ip.empty() && fp.empty()) return std::nullopt;
    if (!ip.empty() && !all_digits(ip)) return std::nullopt;
    if (!fp.empty() && !all_digits(fp)) return std::nullopt;
    while (!fp.empty() && fp.back() == '0') fp.remove_suffix(1);
    if (fp.size() > size_t(kPriceScale)) return std::nullopt;
    while (ip.size() > 1 && ip.front() == '0') ip.remove_prefix(1);
    if (ip.size() > 6) return std::nullopt;  // < 1,000,000 USD per million tokens
    PriceUnits v = 0;
    for (char c : ip) v = v * 10 + (c - '0');
    for (int i = 0; i < kPriceScale; ++i) v = v * 10 + (i < int(fp.size()) ? fp[i] - '0' : 0);
    return v;
}

std::string attousd_to_text(__int128 v) {
    bool neg = v < 0;
    if (neg) v = -v;
    const __int128 scale = __int128(1000000000000000000LL);  // 1e18
    __int128 ip = v / scale, fp = v % scale;
    std::string is;
    do {
        is.insert(is.begin(), char('0' + int(ip % 10)));
        ip /= 10;
    } while (ip > 0);
    std::string fs(18, '0');
    for (int i = 17; i >= 0; --i) {
        fs[size_t(i)] = char('0' + int(fp % 10));
        fp /= 10;
    }
    while (!fs.empty() && fs.back() == '0') fs.pop_back();
    std::string out = neg ? "-" + is : is;
    if (!fs.empty()) out += "." + fs;
    return out;
}

__int128 compute_cost(const PriceRow& p, int64_t input, int64_t output, int64_t cached,
                      int64_t cache_write) {
    if (input < 0 || output < 0 || cached < 0 || cache_write < 0)
        throw InputError(sqlstate::kInvalidParameter, "token counts must not be negative");
    if (input > kMaxTokens || output > kMaxTokens || cached > kMaxTokens || cache_write > kMaxTokens)
        throw InputError(sqlstate::kOutOfRange,
                         "token counts must not exceed " + std::to_string(kMaxTokens));
    // Cached reads and cache writes are parts of the input (see the token rules).
    const int64_t uncached = input - cached - cache_write;
    if (uncached < 0)
        throw InputError(sqlstate::kInvalidParameter,
                         "cached_input_tokens + cache_write_tokens (" +
                             std::to_string(cached + cache_write) + ") exceed input_tokens (" +
                             std::to_string(input) + "): input_tokens must count all input tokens");
    const bool tier = p.tier_threshold && input > *p.tier_threshold;
    PriceUnits in = tier ? p.tier_input : p.input;
    PriceUnits out = tier ? p.tier_output.value_or(in) : p.output.value_or(in);
    PriceUnits cr = tier ? p.tier_cached_input.value_or(in) : p.cached_input.value_or(in);
    PriceUnits cw = tier ? p.tier_cache_write.value_or(in) : p.cache_write.value_or(in);
    return __int128(uncached) * in + __int128(cached) * cr + __int128(cache_write) * cw +
           __int128(output) * out;
}

std::string normalize_provider(std::string_view raw) {
    std::string p = lower(raw);
    // Vercel AI SDK reports "openai.chat", "anthropic.messages", "google.generative-ai".
    static const char* const kDotted[] = {"openai.", "anthropic.", "google.", "mistral.",
                                          "xai.", "deepseek.", "groq.", "cohere.",
                                          "amazon-bedrock.", "azure-openai.", "azure."};
    for (const char* d : kDotted)
        if (starts_with(p, d)) {
            p.resize(std::char_traits<char>::length(d) - 1);
            break;
        }
    static const std::pair<const char*, const char*> kAliases[] = {
        {"gcp.gemini", "google"},        {"gcp.vertex_ai", "google"},
        {"gcp.gen_ai", "google"},        {"gemini", "google"},
        {"vertex_ai", "google"},         {"vertexai", "google"},
        {"google_genai", "google"},      {"google-vertex", "google"},
        {"aws.bedrock", "bedrock"},      {"amazon-bedrock", "bedrock"},
        {"aws_bedrock", "bedrock"},      {"azure.ai.openai", "azure"},
        {"az.ai.openai", "azure"},       {"az.ai.inference", "azure"},
        {"azure.ai.inference", "azure"}, {"azure_openai", "azure"},
        {"azure-openai", "azure"},       {"mistral_ai", "mistral"},
        {"mistralai", "mistral"},        {"x_ai", "xai"},
        {"x.ai", "xai"},                 {"ibm.watsonx.ai", "watsonx"},
        {"anthropic.messages", "anthropic"}};
    for (const auto& a : kAliases)
        if (p == a.first) return a.second;
    return p;
}

std::vector<std::string> model_name_candidates(std::string_view model) {
    std::vector<std::string> out;
    std::string m = lower(model);
    push_unique(out, m);
    // Gateway and cloud paths: "openai/gpt-4o", "models/gemini-2.5-pro", "accounts/x/models/y".
    size_t slash = m.rfind('/');
    if (slash != std::string::npos) m = m.substr(slash + 1);
    push_unique(out, m);
    // Vertex AI version separator: "claude-3-5-sonnet@20240620".
    size_t at = m.find('@');
    if (at != std::string::npos) {
        m[at] = '-';
        push_unique(out, m);
    }
    // Bedrock ids: "us.anthropic.claude-sonnet-4-5-20250929-v1:0".
    static const char* const kRegions[] = {"us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au."};
    for (const char* r : kRegions)
        if (starts_with(m, r)) {
            m = m.substr(std::char_traits<char>::length(r));
            break;
        }
    static const char* const kVendors[] = {"anthropic.", "meta.", "amazon.", "mistral.",
                                           "cohere.", "ai21.", "deepseek.", "openai.",
                                           "qwen.", "writer."};
    for (const char* v : kVendors)
        if (starts_with(m, v)) {
            m = m.substr(std::char_traits<char>::length(v));
            push_unique(out, m);
            break;
        }
    // Bedrock version suffixes "-v1:0", "-v2", ":0".
    size_t colon = m.rfind(':');
    if (colon != std::string::npos && all_digits(std::string_view(m).substr(colon + 1))) {
        m.resize(colon);
        push_unique(out, m);
    }
    size_t vpos = m.rfind("-v");
    if (vpos != std::string::npos && all_digits(std::string_view(m).substr(vpos + 2))) {
        m.resize(vpos);
        push_unique(out, m);
    }
    // Last resort: a dated snapshot without a price of its own is priced as its
    // base model ("gpt-4o-2099-01-01" -> "gpt-4o", "claude-x-20991231" -> "claude-x").
    std::string_view mv(m);
    if (mv.size() > 11 && mv[mv.size() - 11] == '-' && all_digits(mv.substr(mv.size() - 10, 4)) &&
        mv[mv.size() - 6] == '-' && all_digits(mv.substr(mv.size() - 5, 2)) &&
        mv[mv.size() - 3] == '-' && all_digits(mv.substr(mv.size() - 2)))
        push_unique(out, std::string(mv.substr(0, mv.size() - 11)));
    else if (mv.size() > 9 && mv[mv.size() - 9] == '-' && all_digits(mv.substr(mv.size() - 8)))
        push_unique(out, std::string(mv.substr(0, mv.size() - 9)));
    return out;
}

void PriceTable::clear() {
    rows_.clear();
    groups_.clear();
    groups_by_model_.clear();
    prefix_groups_.clear();
    memo_.clear();
    memo_bytes_ = 0;
    built_ = false;
}

void PriceTable::add(PriceRow row) {
    row.model = lower(row.model);
    rows_.push_back(std::move(row));
    built_ = false;
}

void PriceTable::build() {
    groups_.clear();
    groups_by_model_.clear();
    prefix_groups_.clear();
    memo_.clear();
    memo_bytes_ = 0;
    std::unordered_map<std::string, size_t> key_to_group;
    for (size_t i = 0; i < rows_.size(); ++i) {
        const PriceRow& r = rows_[i];
        std::string key = r.provider + '\0' + r.model + '\0' + (r.prefix ? 'p' : 'e');
        auto it = key_to_group.find(key);
        size_t g;
        if (it == key_to_group.end()) {
            g = groups_.size();
            groups_.emplace_back();
            key_to_group.emplace(std::move(key), g);
            if (r.prefix)
                prefix_groups_.push_back(g);
            else
                groups_by_model_[r.model].push_back(g);
        } else {
            g = it->second;
        }
        groups_[g].rows.push_back(i);
    }
    for (Group& g : groups_)
        std::sort(g.rows.begin(), g.rows.end(), [this](size_t a, size_t b) {
            return rows_[a].valid_from_us > rows_[b].valid_from_us;
        });
    std::stable_sort(prefix_groups_.begin(), prefix_groups_.end(), [this](size_t a, size_t b) {
        return rows_[groups_[a].rows[0]].model.size() > rows_[groups_[b].rows[0]].model.size();
    });
    built_ = true;
}

// The groups that may price (provider, model), most preferred first:
// exact before prefix; within each, the span's provider, then rows for any
// provider, then rows of other providers; exact names in candidate order,
// prefixes longest first.
const std::vector<size_t>& PriceTable::resolve(std::string_view provider, std::string_view model) {
    std::string key = std::string(provider) + '\0' + std::string(model);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    // The memo is bounded in bytes, not only in entries: model names are the
    // writer's, and a few thousand 200 kB names must not stay in memory.
    if (memo_.size() >= kMemoEntries || memo_bytes_ + key.size() > kMemoBytes) {
        memo_.clear();
        memo_bytes_ = 0;
    }
    if (key.size() > kMemoKeyBytes) {
        scratch_ = compute_groups(provider, model);
        return scratch_;
    }
    memo_bytes_ += key.size();
    return memo_.emplace(std::move(key), compute_groups(provider, model)).first->second;
}

std::vector<size_t> PriceTable::compute_groups(std::string_view provider, std::string_view model) {
    auto tier_of = [&](size_t g) {
        const std::string& p = rows_[groups_[g].rows[0]].provider;
        if (!provider.empty() && p == provider) return 0;
        if (p.empty()) return 1;
        return 2;
    };
    std::vector<size_t> out;
    std::vector<std::string> names = model_name_candidates(model);
    for (int tier = 0; tier < 3; ++tier)
        for (const std::string& n : names) {
            auto git = groups_by_model_.find(n);
            if (git == groups_by_model_.end()) continue;
            for (size_t g : git->second)
                if (tier_of(g) == tier) out.push_back(g);
        }
    for (int tier = 0; tier < 3; ++tier)
        for (size_t g : prefix_groups_) {
            if (tier_of(g) != tier) continue;
            const std::string& prefix = rows_[groups_[g].rows[0]].model;
            for (const std::string& n : names)
                if (starts_with(n, prefix)) {
                    out.push_back(g);
                    break;
                }
        }
    return out;
}

const PriceRow* PriceTable::lookup(std::string_view provider, std::string_view model,
                                   int64_t at_us) {
    if (!built_) build();
    for (size_t g : resolve(provider, model))
        for (size_t r : groups_[g].rows)
            if (rows_[r].valid_from_us <= at_us) return &rows_[r];
    return nullptr;
}

void price_span(Span& span, PriceTable& prices) {
    span.cost_text.clear();
    if (span.aggregate_usage) {
        span.cost_status = CostStatus::Aggregate;
        return;
    }
    if (span.reported_cost) {
        span.cost_status = CostStatus::Reported;
        span.cost_text = double_to_text(*span.reported_cost);
        return;
    }
    const Tokens& t = span.tokens;
    if (span.usage_unreconciled) {
        span.cost_status = CostStatus::Unreconciled;
        return;
    }
    if (!t.any()) {
        span.cost_status = CostStatus::NoUsage;
        return;
    }
    // Only a total (or reasoning) count cannot be split into priced parts.
    const bool priceable = t.input || t.output || t.cached_input || t.cache_write;
    const PriceRow* row = nullptr;
    if (priceable && present(span.model)) row = prices.lookup(span.provider, span.model, span.start_us);
    if (!row) {
        span.cost_status = CostStatus::Unpriced;
        return;
    }
    if (!row->usable) {
        span.cost_status = CostStatus::InvalidPrice;
        return;
    }
    span.cost_status = CostStatus::Priced;
    span.cost_text = attousd_to_text(compute_cost(*row, t.input.value_or(0), t.output.value_or(0),
                                                  t.cached_input.value_or(0),
                                                  t.cache_write.value_or(0)));
}

}  // namespace llmtrace::core
