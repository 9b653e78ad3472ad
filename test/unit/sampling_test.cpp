#include "core/sampling.hpp"

#include <gtest/gtest.h>

#include <string>

using llmtrace::core::sample_keep;
using llmtrace::core::trace_hash;

TEST(Sampling, SameDecisionForTheSameTrace) {
    for (int i = 0; i < 1000; ++i) {
        std::string id = "trace-" + std::to_string(i);
        EXPECT_EQ(sample_keep(id, 0.1), sample_keep(std::string(id), 0.1));
        EXPECT_EQ(trace_hash(id), trace_hash(id));
    }
}

TEST(Sampling, RateBounds) {
    EXPECT_TRUE(sample_keep("x", 1.0));
    EXPECT_TRUE(sample_keep("x", 2.0));
    EXPECT_FALSE(sample_keep("x", 0.0));
    EXPECT_FALSE(sample_keep("x", -1.0));
}

TEST(Sampling, KeptAtARateIsKeptAtEveryHigherRate) {
    for (int i = 0; i < 2000; ++i) {
        std::string id = std::to_string(i * 7919);
        bool kept = false;
        for (double r = 0.01; r < 1.0; r += 0.01) {
            bool k = sample_keep(id, r);
            EXPECT_TRUE(!kept || k) << id << " at " << r;
            kept = kept || k;
        }
    }
}

TEST(Sampling, FractionIsClose) {
    // 100,000 OTLP-like hex ids and short sequential ids: the kept fraction is
    // within 1 percentage point of the rate.
    for (double rate : {0.01, 0.1, 0.5, 0.9}) {
        int hex_kept = 0, seq_kept = 0;
        const int n = 100000;
        for (int i = 0; i < n; ++i) {
            char hex[33];
            snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)(i * 2654435761ULL),
                     (unsigned long long)(i ^ 0x5bd1e995));
            hex_kept += sample_keep(hex, rate);
            seq_kept += sample_keep("t" + std::to_string(i), rate);
        }
        EXPECT_NEAR(double(hex_kept) / n, rate, 0.01) << rate;
        EXPECT_NEAR(double(seq_kept) / n, rate, 0.01) << rate;
    }
}
