// Tests of include/calls.hpp, the C++17 wrapper (issue 14), compiled with
// -std=c++17 -Wall -Wextra -Wpedantic -Werror and run plain, under
// ASan+UBSan and under valgrind by tests/run_c_tests.sh.
//
//   test_cpp offline   no simulator: errors, moves, bad uuids (nothing sent)
//   test_cpp data      against calls-sim (--calls 400 --seed 11): range-for
//                      over a pager against /_sim/expected, views against the
//                      raw JSON the simulator serves for a call, 404
#include "calls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace {

int passed = 0, failed = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);          \
        }                                                                                          \
    } while (0)

// Runs f, which must throw calls::Error with `code`; returns the error's
// HTTP status (or -1 when nothing or something else was thrown).
template <class F> int expect_error(F f, calls_result code, const char *needle = nullptr) {
    try {
        f();
    } catch (const calls::Error &e) {
        bool ok = e.code() == code && (needle == nullptr || std::strstr(e.what(), needle) != nullptr);
        if (!ok)
            std::fprintf(stderr, "  got %u (%s): %s\n", unsigned(e.code()), e.code_str(), e.what());
        CHECK(ok);
        return ok ? int(e.http_status()) : -1;
    } catch (...) {
        CHECK(!"an Error was thrown");
        return -1;
    }
    std::fprintf(stderr, "  nothing thrown, want %s\n", calls_result_str(code));
    CHECK(!"an Error was thrown");
    return -1;
}

std::string env(const char *name) {
    const char *v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        std::fprintf(stderr, "%s is not set: run through scripts/with-sim.sh\n", name);
        std::exit(2);
    }
    return v;
}

// GET `path` from the simulator (`auth`: with its Basic credentials);
// returns the status and sets `body`.
int sim_get(const std::string &path, bool auth, std::string &body) {
    std::string url = env("PLIVO_API_URL");
    auto colon = url.rfind(':');
    if (url.rfind("http://127.0.0.1:", 0) != 0 || colon == std::string::npos) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<unsigned short>(std::atoi(url.c_str() + colon + 1)));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        close(fd);
        return 0;
    }
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (auth) req += "Authorization: Basic TUFTSU1VTEFUT1IwMDAwMDAwMDE6c2ltdWxhdG9yLXRva2Vu\r\n";
    req += "Connection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        close(fd);
        return 0;
    }
    std::string all;
    char buf[8192];
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got <= 0) break;
        all.append(buf, static_cast<std::size_t>(got));
    }
    close(fd);
    auto sep = all.find("\r\n\r\n");
    if (all.rfind("HTTP/1.1 ", 0) != 0 || sep == std::string::npos) return 0;
    body = all.substr(sep + 4);
    return std::atoi(all.c_str() + 9);
}

// The raw text of a top-level field of the simulator's compact JSON (no
// escapes in its strings): strings without quotes (a JSON null is the
// unquoted text null, the string "null" comes back quoted); nullopt when
// absent.
std::optional<std::string> raw_field(const std::string &raw, const std::string &name) {
    std::string key = "\"" + name + "\":";
    auto p = raw.find(key);
    if (p == std::string::npos) return std::nullopt;
    p += key.size();
    if (raw[p] == '"') {
        auto e = raw.find('"', p + 1);
        std::string v = raw.substr(p + 1, e - p - 1);
        return v == "null" ? "\"null\"" : v;
    }
    auto e = raw.find_first_of(",}", p);
    return raw.substr(p, e - p);
}

void test_offline() {
    static_assert(!std::is_copy_constructible_v<calls::Call>);
    static_assert(!std::is_copy_constructible_v<calls::Pager>);
    static_assert(!std::is_copy_constructible_v<calls::Client>);
    static_assert(!std::is_copy_constructible_v<calls::Query>);
    static_assert(std::is_nothrow_move_constructible_v<calls::Call>);
    static_assert(std::is_nothrow_move_constructible_v<calls::Pager>);
    static_assert(std::is_nothrow_destructible_v<calls::Client>);

    // Chained setters; a bad filter name throws INVALID_ARGUMENT.
    calls::Query q;
    q.set("call_direction", "outbound").set("bill_duration__gte", "60");
    std::string qs = q.to_string();
    CHECK(qs.find("call_direction=outbound") != std::string::npos);
    CHECK(qs.find("bill_duration__gte=60") != std::string::npos);
    expect_error([&] { q.set("no_such_filter", "1"); }, CALLS_RESULT_INVALID_ARGUMENT);
    expect_error([&] { q.set("call_direction", "sideways"); }, CALLS_RESULT_VALIDATION);

    // Builder errors carry the code; the token is never in the message.
    expect_error([] { calls::ClientBuilder("", "tok").build(); }, CALLS_RESULT_INVALID_ARGUMENT);
    expect_error([] { calls::ClientBuilder("MA0000000000000000AA", "s3cr3t-never-shown").base_url("ftp://x").build(); },
                 CALLS_RESULT_INVALID_ARGUMENT);
    try {
        calls::ClientBuilder("MA0000000000000000AA", "s3cr3t-never-shown").base_url("ftp://x").build();
    } catch (const calls::Error &e) {
        CHECK(std::strstr(e.what(), "s3cr3t") == nullptr);
    }
    {
        calls::ClientBuilder b("MA0000000000000000AA", "tok");
        b.base_url("http://127.0.0.1:9");
        calls::Client c = b.build();
        // A builder is consumed: using it again throws, never crashes.
        expect_error([&] { b.max_retries(1); }, CALLS_RESULT_NULL_PARAMETER);
        // Not uuids: VALIDATION, nothing sent (status 0).
        CHECK(expect_error([&] { c.get_call("not-a-uuid"); }, CALLS_RESULT_VALIDATION, "uuid") == 0);
        CHECK(expect_error([&] { c.get_call(std::string("0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856")); },
                           CALLS_RESULT_VALIDATION) == 0);
        // Moves leave an empty owner whose destructor does nothing.
        calls::Client moved = std::move(c);
        CHECK(moved.get() != nullptr && c.get() == nullptr);
    }
    // The TLS and retry settings (issue 16): each reaches the builder.
    {
        auto ok = [] {
            calls::ClientBuilder b("MA0000000000000000AA", "tok");
            b.base_url("http://127.0.0.1:9");
            return b;
        };
        calls::Client c(ok().ca_file("tests/fixtures/other-ca.pem")
                            .tls_roots(CALLS_TLS_ROOTS_WEBPKI)
                            .connect_timeout_ms(2000)
                            .retry_policy(10, 100, 1000)
                            .user_agent("cpp-test/1.0")
                            .max_body_bytes(65536));
        CHECK(c.get() != nullptr);
        expect_error([&] { ok().ca_file("tests/fixtures/no-such.pem").build(); }, CALLS_RESULT_INVALID_ARGUMENT,
                     "no-such.pem");
        expect_error([&] { ok().tls_roots(7); }, CALLS_RESULT_INVALID_ARGUMENT);
        expect_error([&] { ok().connect_timeout_ms(0).build(); }, CALLS_RESULT_INVALID_ARGUMENT, "timeouts");
        expect_error([&] { ok().retry_policy(1, 2, 86400001).build(); }, CALLS_RESULT_INVALID_ARGUMENT,
                     "max_retry_after");
        expect_error([&] { ok().user_agent("a\r\nb").build(); }, CALLS_RESULT_INVALID_ARGUMENT, "user agent");
        expect_error([&] { ok().max_body_bytes(10).build(); }, CALLS_RESULT_INVALID_ARGUMENT, "max_body_bytes");
    }
    // A pager that cannot connect throws from the range-for, TRANSPORT.
    {
        calls::Client c(calls::ClientBuilder("MA0000000000000000AA", "tok").base_url("http://127.0.0.1:9").max_retries(0));
        calls::Pager p = c.calls(q);
        expect_error(
            [&] {
                for (const calls::Call &call : p) (void)call;
            },
            CALLS_RESULT_TRANSPORT);
    }
}

void test_data() {
    calls::Client client(calls::ClientBuilder::from_env().max_retries(1).window_policy(30, 90, 90));
    std::time_t since_t = std::time(nullptr) - 20 * 86400;
    std::tm tm{};
    gmtime_r(&since_t, &tm);
    char since[32], enc[64];
    std::strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", &tm);
    std::strftime(enc, sizeof enc, "%Y-%m-%d%%20%H%%3A%M%%3A%S", &tm);

    std::string expected;
    CHECK(sim_get(std::string("/_sim/expected?end_time__gte=") + enc, false, expected) == 200);
    auto total = raw_field(expected, "total_count");
    long want = total ? std::strtol(total->c_str(), nullptr, 10) : -1;
    CHECK(want > 50);

    calls::Query q;
    q.set("end_time__gte", since);
    calls::Pager pager = client.calls(q);
    std::set<std::string> seen;
    std::vector<std::string> some;
    std::string unanswered;
    long n = 0;
    for (const calls::Call &call : pager) {
        n++;
        std::string uuid(call.uuid());
        if (uuid.size() != 36) CHECK(!"a uuid");
        if (expected.find("\"" + uuid + "\"") == std::string::npos) CHECK(!"an expected call");
        if (!seen.insert(uuid).second) CHECK(!"each call once");
        // answer_time: a present-but-null field is nullopt for both accessors.
        if (call.has("answer_time") && !call.get("answer_time")) {
            if (call.time_us("answer_time")) CHECK(!"a null time is nullopt");
            if (unanswered.empty()) unanswered = uuid;
        } else if (some.size() < 2) {
            some.push_back(uuid);
        }
    }
    CHECK(n == want);
    CHECK(some.size() == 2 && !unanswered.empty());
    some.push_back(unanswered);

    for (const std::string &uuid : some) {
        std::string raw;
        CHECK(sim_get("/v1/Account/MASIMULATOR000000001/Zentrunk/Call/" + uuid + "/", true, raw) == 200);
        calls::Call call = client.get_call(uuid);
        CHECK(call.uuid() == uuid);
        CHECK(call.size() >= 20);
        for (std::size_t i = 0; i < call.size(); i++) {
            calls::Call::Field f = call.field(i);
            auto want_v = raw_field(raw, std::string(f.name));
            if (!want_v) {
                CHECK(!"every field is in the raw record");
                continue;
            }
            if (*want_v == "null") {
                CHECK(!f.value);
            } else if (*want_v == "\"null\"") {
                CHECK(f.value && *f.value == "null");
            } else {
                CHECK(f.value && *f.value == *want_v);
            }
        }
        auto billed = raw_field(raw, "billed_duration");
        CHECK(billed && call.int64("billed_duration") == std::strtoll(billed->c_str(), nullptr, 10));
        auto amount = raw_field(raw, "total_amount");
        CHECK(amount && call.money("total_amount") == std::string_view(*amount));
        // micro-units: the simulator writes 5 decimals, so the text without
        // its point, times 10.
        if (amount) {
            std::string digits;
            for (char ch : *amount)
                if (ch != '.') digits += ch;
            CHECK(call.money_micros("total_amount") == std::strtoll(digits.c_str(), nullptr, 10) * 10);
            if (call.money_micros("total_amount") != std::strtoll(digits.c_str(), nullptr, 10) * 10)
                std::fprintf(stderr, "  %s: %lld\n", amount->c_str(), (long long)call.money_micros("total_amount").value_or(-1));
        }
        auto srtp = raw_field(raw, "srtp");
        CHECK(srtp && call.boolean("srtp") == (*srtp == "true"));
        auto end = raw_field(raw, "end_time");
        std::tm t{};
        CHECK(end && strptime(end->c_str(), "%Y-%m-%d %H:%M:%S", &t) != nullptr);
        CHECK(call.time_us("end_time") == static_cast<std::int64_t>(timegm(&t)) * 1000000);
        auto call_id = raw_field(raw, "call_id"); // a field calls-core does not model
        CHECK(call_id && call.get("call_id") == std::string_view(*call_id));
        CHECK(call.json().size() > 100 && call.json().front() == '{');
        // Absent and wrong-typed fields.
        CHECK(!call.get("no_such_field") && !call.has("no_such_field"));
        CHECK(!call.int64("no_such_field") && !call.money("no_such_field"));
        expect_error([&] { (void)call.int64("from_number"); }, CALLS_RESULT_INVALID_ARGUMENT);
        expect_error([&] { (void)call.boolean("call_uuid"); }, CALLS_RESULT_INVALID_ARGUMENT);
        expect_error([&] { (void)call.field(call.size()); }, CALLS_RESULT_INVALID_ARGUMENT);
        // A view stays valid when its Call is moved.
        std::string_view view = call.uuid();
        calls::Call moved = std::move(call);
        CHECK(view == uuid && moved.uuid().data() == view.data());
    }

    // 404: NOT_FOUND with the status.
    CHECK(expect_error([&] { client.get_call("00000000-0000-4000-8000-000000000000"); }, CALLS_RESULT_NOT_FOUND) ==
          404);
    CHECK(pager.stats().find("\"requests\":") != std::string::npos);
}

} // namespace

int main(int argc, char **argv) {
    std::string s = argc > 1 ? argv[1] : "";
    try {
        if (s == "offline") {
            test_offline();
        } else if (s == "data") {
            test_data();
        } else {
            std::fprintf(stderr, "usage: test_cpp offline|data\n");
            return 2;
        }
    } catch (const calls::Error &e) {
        std::fprintf(stderr, "uncaught calls::Error %u: %s\n", unsigned(e.code()), e.what());
        failed++;
    }
    std::printf("RESULT %d %d\n", passed, failed);
    return failed ? 1 : 0;
}
