// Braintrust batches: the SDK's /logs3 body {"rows": [...], "api_version": 2}
// and the REST API's {"events": [...]} give the same spans as the bare list,
// for every captured Braintrust fixture (test/data/emitters/braintrust.*.json,
// the rows the Braintrust SDK posted).
#include "test_util.hpp"

#include <dirent.h>

#include <algorithm>

using namespace llmtrace::test;

namespace {

std::vector<std::string> braintrust_fixtures() {
    std::vector<std::string> names;
    DIR* d = opendir((std::string(LLMTRACE_TEST_DATA) + "/emitters").c_str());
    if (!d) return names;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.rfind("braintrust.", 0) == 0 && n.size() > 5 && n.substr(n.size() - 5) == ".json") names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

// The spans of a payload as comparable text: ids, times, tokens, content.
std::vector<std::string> summary(core::Normalizer& n, const std::string& payload, size_t& failures) {
    core::Result r;
    n.normalize(payload, r);
    failures = r.failures.size();
    std::vector<std::string> out;
    for (const auto& s : r.spans)
        out.push_back(str(s.trace_id) + "/" + str(s.span_id) + " " + std::to_string(s.start_us) + " " +
                      std::to_string(s.end_us.value_or(-1)) + " " + str(s.model) + " " +
                      std::to_string(s.tokens.input.value_or(-1)) + " " + std::to_string(s.tokens.output.value_or(-1)) +
                      " " + json(s.input) + " " + json(s.output) + " " + json(s.attributes));
    return out;
}

}  // namespace

TEST(BraintrustBatch, WireBodiesGiveTheSpansOfTheList) {
    auto names = braintrust_fixtures();
    ASSERT_GE(names.size(), 3u);
    core::Normalizer n;
    for (const auto& name : names) {
        const std::string list = read_test_file("emitters/" + name);
        size_t f0 = 0, f1 = 0, f2 = 0;
        auto bare = summary(n, list, f0);
        auto rows = summary(n, "{\"rows\": " + list + ", \"api_version\": 2}", f1);
        auto events = summary(n, "{\"events\": " + list + "}", f2);
        EXPECT_FALSE(bare.empty()) << name;
        EXPECT_EQ(bare, rows) << name;
        EXPECT_EQ(bare, events) << name;
        EXPECT_EQ(f0, f1) << name;
        EXPECT_EQ(f0, f2) << name;
    }
}

TEST(BraintrustBatch, AnObjectWithMoreThanTheListIsNotABatch) {
    core::Normalizer n;
    core::Result r;
    n.normalize(R"({"events": [{"id": "x", "span_id": "x", "root_span_id": "x"}], "project_id": "p"})", r);
    EXPECT_TRUE(r.spans.empty());
    EXPECT_TRUE(r.payload_failed);
    r.clear();
    n.normalize(R"({"events": [], "rows": []})", r);
    EXPECT_TRUE(r.payload_failed);
}

TEST(BraintrustBatch, AMergeRowWithoutItsFirstRowCompletesAStoredSpan) {
    core::Normalizer n;
    core::Result r;
    n.normalize(R"({"id": "a", "span_id": "a", "root_span_id": "t", "_is_merge": true,
                   "metadata": {"model": "gpt-4o"}, "metrics": {"end": 1764590002.5, "prompt_tokens": 10},
                   "output": "ok"})",
                r);
    ASSERT_EQ(r.spans.size(), 1u);
    EXPECT_TRUE(r.failures.empty());
    const core::Span& s = r.spans[0];
    EXPECT_TRUE(s.merge_only);
    EXPECT_EQ(str(s.trace_id), "t");
    EXPECT_EQ(str(s.span_id), "a");
    EXPECT_EQ(s.end_us.value_or(0), 1764590002500000LL);
    EXPECT_FALSE(s.duration_ms.has_value());
    EXPECT_EQ(s.tokens.input.value_or(-1), 10);
    EXPECT_EQ(str(s.model), "gpt-4o");
    // With its first row in the same payload it is merged there, not a merge of its own.
    r.clear();
    n.normalize(R"([{"id": "a", "span_id": "a", "root_span_id": "t", "metrics": {"start": 1764590000}},
                    {"id": "a", "span_id": "a", "root_span_id": "t", "_is_merge": true,
                     "metrics": {"end": 1764590002.5}}])",
                r);
    ASSERT_EQ(r.spans.size(), 1u);
    EXPECT_FALSE(r.spans[0].merge_only);
    EXPECT_EQ(r.spans[0].duration_ms.value_or(0), 2500.0);
}
