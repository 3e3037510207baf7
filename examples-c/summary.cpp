// summary: totals (calls, billed minutes, amount) per call_direction and per
// hangup_source for every call matching the filters, on the C++17 wrapper
// include/calls.hpp: RAII owners, range-for over the pager, typed accessors
// (std::optional for absent or null fields) and calls::Error.
//
//   summary --days 30 --stir-verification Verified
#include "common.h"

#include "calls.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

struct Totals {
    unsigned long long calls = 0;
    unsigned long long billed_secs = 0;
    dec_sum amount{0, 0, 0};
};

void print(const char *title, const std::map<std::string, Totals> &m) {
    std::printf("%-18s %8s %14s %16s\n", title, "CALLS", "BILLED (min)", "AMOUNT");
    for (const auto &[key, t] : m) {
        char total[64];
        dec_format(&t.amount, total, sizeof total);
        std::printf("%-18s %8llu %14llu %16s\n", key.empty() ? "(none)" : key.c_str(), t.calls,
                    t.billed_secs / 60, total);
    }
    std::printf("\n");
}

} // namespace

int main(int argc, char **argv) {
    try {
        calls::Query query;
        unsigned long long max_items = 0;
        for (int i = 1; i < argc; i++) {
            int missing = 0;
            calls_result rc = CALLS_RESULT_OK;
            if (std::string(argv[i]) == "-h" || std::string(argv[i]) == "--help") {
                std::printf("usage: summary [filters] [--max N]\n%s", FILTER_FLAGS_HELP);
                return 0;
            }
            if (const char *v = flag_value(argc, argv, &i, "--max", &missing)) {
                if (parse_count("--max", v, &max_items)) return 1;
                continue;
            }
            if (missing) {
                std::fprintf(stderr, "error: %s needs a value\n", argv[i]);
                return 1;
            }
            int r = apply_filter_flag(query.get(), argc, argv, &i, &rc);
            if (r < 0) return 1;
            if (r == 0) {
                std::fprintf(stderr, "error: unknown argument `%s`\n", argv[i]);
                return 1;
            }
        }
        calls::Client client = calls::Client::from_env();
        calls::Pager pager = client.calls(query, max_items);
        std::map<std::string, Totals> by_direction, by_source;
        Totals all;
        for (const calls::Call &call : pager) {
            std::int64_t billed = call.int64("billed_duration").value_or(0);
            std::optional<std::string_view> amount = call.money("total_amount");
            std::string direction(call.get("call_direction").value_or(""));
            std::string source(call.get("hangup_source").value_or(""));
            for (Totals *t : {&by_direction[direction], &by_source[source], &all}) {
                t->calls++;
                t->billed_secs += billed > 0 ? static_cast<unsigned long long>(billed) : 0;
                if (amount && dec_add(&t->amount, std::string(*amount).c_str()) != 0)
                    throw std::runtime_error("total_amount `" + std::string(*amount) + "` cannot be summed");
            }
        }
        print("DIRECTION", by_direction);
        print("HANGUP SOURCE", by_source);
        char total[64];
        dec_format(&all.amount, total, sizeof total);
        unsigned long long requests = stat_u64(pager.stats().c_str(), "requests");
        std::printf("%llu calls, %llu billed minutes, total amount %s, %llu requests\n", all.calls,
                    all.billed_secs / 60, total, requests);
        return 0;
    } catch (const calls::Error &e) {
        std::fprintf(stderr, "error: %s (HTTP status %u)\n", e.what(), unsigned(e.http_status()));
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
