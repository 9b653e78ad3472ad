// Measures the JSON parsers the ingest path could use, on the benchmark
// workload: nlohmann/json DOM, nlohmann/json SAX (no tree), simdjson DOM, and
// llmtrace's whole core (parse + normalize + price). Prints documents/s and
// MB/s, medians of 5 runs. Built by CMake (target json_parsers); run by
// bench/run.sh or by hand: json_parsers workload.copy
#include "core/cost.hpp"
#include "core/normalizer.hpp"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace {

// COPY text format -> the documents (undo the backslash escaping).
std::vector<std::string> read_copy_file(const char* path) {
    std::ifstream in(path);
    std::vector<std::string> docs;
    std::string line;
    while (std::getline(in, line)) {
        std::string d;
        d.reserve(line.size());
        for (size_t i = 0; i < line.size(); ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) {
                char c = line[++i];
                d += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
            } else {
                d += line[i];
            }
        }
        docs.push_back(std::move(d));
    }
    return docs;
}

struct CountingSax : nlohmann::json_sax<nlohmann::json> {
    size_t n = 0;
    bool null() override { return ++n; }
    bool boolean(bool) override { return ++n; }
    bool number_integer(number_integer_t) override { return ++n; }
    bool number_unsigned(number_unsigned_t) override { return ++n; }
    bool number_float(number_float_t, const string_t&) override { return ++n; }
    bool string(string_t&) override { return ++n; }
    bool binary(binary_t&) override { return ++n; }
    bool start_object(std::size_t) override { return ++n; }
    bool key(string_t&) override { return ++n; }
    bool end_object() override { return ++n; }
    bool start_array(std::size_t) override { return ++n; }
    bool end_array() override { return ++n; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }
};

double median_seconds(const std::function<void()>& fn) {
    std::vector<double> t;
    for (int r = 0; r < 5; ++r) {
        auto a = std::chrono::steady_clock::now();
        fn();
        auto b = std::chrono::steady_clock::now();
        t.push_back(std::chrono::duration<double>(b - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: json_parsers WORKLOAD.copy\n");
        return 2;
    }
    std::vector<std::string> docs = read_copy_file(argv[1]);
    size_t bytes = 0;
    for (auto& d : docs) bytes += d.size();
    std::printf("%zu documents, %.1f MB\n", docs.size(), bytes / 1e6);
    std::printf("%-34s %12s %10s\n", "parser", "docs/s", "MB/s");
    auto report = [&](const char* name, double s) {
        std::printf("%-34s %12.0f %10.1f\n", name, docs.size() / s, bytes / 1e6 / s);
    };
    size_t sink = 0;
    report("nlohmann/json DOM", median_seconds([&] {
               for (auto& d : docs) sink += nlohmann::json::parse(d, nullptr, false).size();
           }));
    report("nlohmann/json SAX (no tree)", median_seconds([&] {
               for (auto& d : docs) {
                   CountingSax sax;
                   nlohmann::json::sax_parse(d, &sax);
                   sink += sax.n;
               }
           }));
    simdjson::dom::parser parser;
    report("simdjson DOM", median_seconds([&] {
               for (auto& d : docs) {
                   simdjson::dom::element e;
                   if (!parser.parse(d).get(e)) sink += 1;
               }
           }));
    llmtrace::core::Normalizer normalizer;
    llmtrace::core::Result result;
    llmtrace::core::PriceTable prices;
    llmtrace::core::PriceRow row;
    row.model = "gpt-4o";
    row.input = *llmtrace::core::parse_price("2.5");
    row.output = *llmtrace::core::parse_price("10");
    prices.add(row);
    report("llmtrace core (parse+normalize+price)", median_seconds([&] {
               for (auto& d : docs) {
                   normalizer.normalize(d, result);
                   for (auto& s : result.spans) llmtrace::core::price_span(s, prices);
                   sink += result.spans.size();
               }
           }));
    std::fprintf(stderr, "(checksum %zu)\n", sink);
    return 0;
}
