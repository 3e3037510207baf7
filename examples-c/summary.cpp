// summary: totals (calls, billed minutes, amount) per call_direction and per
// hangup_source for every call matching the filters, through a small C++17
// RAII wrapper of calls.h: unique_ptr with the library's free functions as
// deleters, and exceptions carrying the calls_result and the message.
//
//   summary --days 30 --stir-verification Verified
#include "common.h"

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace calls {

// A failed call: the result code and the library's message.
class Error : public std::runtime_error {
public:
    Error(const std::string &what, calls_result code)
        : std::runtime_error(what + ": " + calls_result_str(code) +
                             (*calls_last_error_message() ? std::string(": ") + calls_last_error_message()
                                                          : std::string())),
          code_(code), http_status_(calls_last_http_status()) {}
    calls_result code() const noexcept { return code_; }
    std::uint16_t http_status() const noexcept { return http_status_; }

private:
    calls_result code_;
    std::uint16_t http_status_;
};

inline void check(calls_result rc, const char *what) {
    if (rc != CALLS_RESULT_OK) throw Error(what, rc);
}

template <auto Free> struct Deleter {
    template <class T> void operator()(T *p) const noexcept { Free(p); }
};
using String = std::unique_ptr<char, Deleter<calls_string_free>>;
using BuilderPtr = std::unique_ptr<calls_client_builder, Deleter<calls_client_builder_free>>;
using ClientPtr = std::unique_ptr<calls_client, Deleter<calls_client_free>>;
using QueryPtr = std::unique_ptr<calls_query, Deleter<calls_query_free>>;
using PagerPtr = std::unique_ptr<calls_pager, Deleter<calls_pager_free>>;

class Query {
public:
    Query() {
        calls_query *q = nullptr;
        check(calls_query_new(&q), "calls_query_new");
        q_.reset(q);
    }
    calls_query *get() const noexcept { return q_.get(); }

private:
    QueryPtr q_;
};

class Pager {
public:
    explicit Pager(PagerPtr p) : p_(std::move(p)) {}
    // The next call's JSON, or nothing when every call was returned.
    std::optional<std::string> next() {
        char *raw = nullptr;
        std::size_t len = 0;
        calls_result rc = calls_pager_next(p_.get(), &raw, &len);
        String s(raw);
        if (rc == CALLS_RESULT_DONE) return std::nullopt;
        check(rc, "calls_pager_next");
        return std::string(s.get(), len);
    }
    std::string stats() const {
        char *raw = nullptr;
        check(calls_pager_stats(p_.get(), &raw, nullptr), "calls_pager_stats");
        return String(raw).get();
    }

private:
    PagerPtr p_;
};

class Client {
public:
    // From PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN and PLIVO_API_URL.
    static Client from_env() {
        calls_client_builder *b = nullptr;
        check(calls_client_builder_from_env(&b), "calls_client_builder_from_env");
        calls_client *c = nullptr;
        check(calls_client_builder_build(b, &c), "calls_client_builder_build"); // consumes b
        return Client(ClientPtr(c));
    }
    Pager pager(const Query &q, std::uint64_t max_items = 0) const {
        calls_pager *p = nullptr;
        check(calls_pager_new(c_.get(), q.get(), max_items, &p), "calls_pager_new");
        return Pager(PagerPtr(p));
    }

private:
    explicit Client(ClientPtr c) : c_(std::move(c)) {}
    ClientPtr c_;
};

} // namespace calls

namespace {

struct Totals {
    unsigned long long calls = 0;
    unsigned long long billed_secs = 0;
    dec_sum amount{0, 0, 0};
};

std::string field(const std::string &json, const char *key) {
    char buf[256];
    if (fj_get(json.c_str(), key, buf, sizeof buf) < 0)
        throw std::runtime_error(std::string("a call record has an unreadable ") + key);
    return buf;
}

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
        calls::Pager pager = client.pager(query, max_items);
        std::map<std::string, Totals> by_direction, by_source;
        Totals all;
        while (auto call = pager.next()) {
            unsigned long long billed = 0;
            if (fj_get_u64(call->c_str(), "billed_duration", &billed) < 0)
                throw std::runtime_error("a call record has an unreadable billed_duration");
            std::string amount = field(*call, "total_amount");
            for (Totals *t : {&by_direction[field(*call, "call_direction")],
                              &by_source[field(*call, "hangup_source")], &all}) {
                t->calls++;
                t->billed_secs += billed;
                if (!amount.empty() && dec_add(&t->amount, amount.c_str()) != 0)
                    throw std::runtime_error("total_amount `" + amount + "` is not a decimal amount");
            }
        }
        print("DIRECTION", by_direction);
        print("HANGUP SOURCE", by_source);
        char total[64];
        dec_format(&all.amount, total, sizeof total);
        unsigned long long requests = 0;
        std::string stats = pager.stats();
        if (fj_get_u64(stats.c_str(), "requests", &requests) < 0) requests = 0;
        std::printf("%llu calls, %llu billed minutes, total amount %s, %llu requests\n", all.calls,
                    all.billed_secs / 60, total, requests);
        return 0;
    } catch (const calls::Error &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
