#include "core/normalizer.hpp"
#include <gtest/gtest.h>
TEST(Smoke, Parses) {
  llmtrace::core::Normalizer n; llmtrace::core::Result r;
  n.normalize(R"({"trace_id":"t","span_id":"s","start_time":"2024-01-01T00:00:00Z"})", r);
  ASSERT_EQ(r.spans.size(), 1u);
}
