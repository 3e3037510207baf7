/*
 * C-level tests of libcalls.
 *
 *   test_calls SCENARIO
 *
 * Each scenario needs a particular calls-sim (started by tests/run_c_tests.sh
 * through scripts/with-sim.sh, which exports PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN
 * and PLIVO_API_URL); `offline` needs none. The last line printed is
 * "RESULT <passed> <failed>"; the exit status is 0 only when nothing failed.
 */
#include "check.h"

#include <pthread.h>
#include <sched.h>

static const char *const BAD_UTF8 = "\xff\xfe bad";
static const char *const SECRET = "s3cr3t-t0ken-never-shown";

/* ------------------------------------------------------------------ helpers */

/* A client of the simulator in the environment, with the given settings. */
static calls_client *sim_client(const char *token, uint32_t max_retries, uint32_t timeout_ms)
{
    return test_client(NULL, token, NULL, max_retries, timeout_ms, 0);
}

static size_t count_of(const char *haystack, const char *needle)
{
    size_t n = 0;
    const char *p = haystack;
    while (p && (p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

/* A growable string for concatenating JSON. */
typedef struct {
    char *s;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Checks that a failure's message does not show the token. */
static void check_no_secret(void)
{
    CHECK(strstr(calls_last_error_message(), SECRET) == NULL);
}

/* ------------------------------------------------------------------ offline */

static void test_static_functions(void)
{
    static const calls_result codes[] = {
        CALLS_RESULT_OK,           CALLS_RESULT_DONE,         CALLS_RESULT_NULL_PARAMETER, CALLS_RESULT_INVALID_ARGUMENT,
        CALLS_RESULT_VALIDATION,   CALLS_RESULT_TRANSPORT,    CALLS_RESULT_TIMEOUT,        CALLS_RESULT_UNAUTHORIZED,
        CALLS_RESULT_NOT_FOUND,    CALLS_RESULT_RATE_LIMITED, CALLS_RESULT_SERVER,         CALLS_RESULT_HTTP,
        CALLS_RESULT_BAD_RESPONSE, CALLS_RESULT_PANIC,
    };
    size_t i;
    char version[32];
    /* The numbering is part of the ABI. */
    CHECK(CALLS_RESULT_OK == 0 && CALLS_RESULT_DONE == 1 && CALLS_RESULT_NULL_PARAMETER == 100 &&
          CALLS_RESULT_INVALID_ARGUMENT == 101 && CALLS_RESULT_VALIDATION == 102 && CALLS_RESULT_TRANSPORT == 200 &&
          CALLS_RESULT_TIMEOUT == 201 && CALLS_RESULT_UNAUTHORIZED == 300 && CALLS_RESULT_NOT_FOUND == 301 &&
          CALLS_RESULT_RATE_LIMITED == 302 && CALLS_RESULT_SERVER == 303 && CALLS_RESULT_HTTP == 304 &&
          CALLS_RESULT_BAD_RESPONSE == 400 && CALLS_RESULT_PANIC == 900);
    CHECK(sizeof(calls_result) == 4);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = calls_result_str(codes[i]);
        CHECK(s != NULL && strncmp(s, "CALLS_RESULT_", 13) == 0);
    }
    CHECK(strstr(calls_result_str(CALLS_RESULT_TIMEOUT), "TIMEOUT") != NULL);
    CHECK(calls_result_str(12345) != NULL && strcmp(calls_result_str(12345), "unknown calls_result") == 0);
    CHECK(strcmp(calls_version(), CALLS_VERSION) == 0);
    snprintf(version, sizeof version, "%d.%d.%d", CALLS_VERSION_MAJOR, CALLS_VERSION_MINOR, CALLS_VERSION_PATCH);
    CHECK(strcmp(calls_version(), version) == 0);
    CHECK(calls_last_error_message() != NULL && strcmp(calls_last_error_message(), "") == 0);
    CHECK(calls_last_http_status() == 0);
}

static void test_free_null(void)
{
    char before[256];
    /* A failure first: `*_free(NULL)` does nothing, and like free() and
     * errno it leaves this thread's last error as it was. */
    CHECK_RC(calls_query_new(NULL), CALLS_RESULT_NULL_PARAMETER);
    snprintf(before, sizeof before, "%s", calls_last_error_message());
    calls_string_free(NULL);
    calls_query_free(NULL);
    calls_pager_free(NULL);
    calls_client_free(NULL);
    calls_client_builder_free(NULL);
    CHECK(before[0] != '\0' && strcmp(calls_last_error_message(), before) == 0);
}

static void test_builder(void)
{
    calls_client_builder *b = SENTINEL;
    calls_client *c = SENTINEL;
    char url[64];

    /* NULL parameters, and out-parameters cleared on failure. */
    CHECK_RC(calls_client_builder_new(NULL, "t", &b), CALLS_RESULT_NULL_PARAMETER);
    CHECK(b == NULL);
    CHECK(strstr(calls_last_error_message(), "auth_id") != NULL);
    CHECK(calls_last_http_status() == 0);
    b = SENTINEL;
    CHECK_RC(calls_client_builder_new("MA1", NULL, &b), CALLS_RESULT_NULL_PARAMETER);
    CHECK(b == NULL);
    CHECK_RC(calls_client_builder_new("MA1", "t", NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_from_env(NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_base_url(NULL, "https://x"), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_timeout_ms(NULL, 1), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_max_retries(NULL, 1), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_concurrency(NULL, 1), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_window_policy(NULL, 7, 30, 90), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_rate_limit(NULL, 300, 5000), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_build(NULL, &c), CALLS_RESULT_NULL_PARAMETER);
    CHECK(c == NULL);

    /* Bad UTF-8. */
    b = SENTINEL;
    CHECK_RC(calls_client_builder_new(BAD_UTF8, "t", &b), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(b == NULL);
    CHECK_RC(calls_client_builder_new("MA1", BAD_UTF8, &b), CALLS_RESULT_INVALID_ARGUMENT);

    /* A success clears the last error. */
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK(b != NULL && strcmp(calls_last_error_message(), "") == 0);
    CHECK_RC(calls_client_builder_set_base_url(b, NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_base_url(b, BAD_UTF8), CALLS_RESULT_INVALID_ARGUMENT);
    /* build(b, NULL) still consumes b (valgrind/ASan would see a leak otherwise). */
    CHECK_RC(calls_client_builder_build(b, NULL), CALLS_RESULT_NULL_PARAMETER);

    /* Settings refused by build: http:// to a non-loopback host. */
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, "http://api.example.com"), CALLS_RESULT_OK);
    c = SENTINEL;
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(c == NULL);
    CHECK(strstr(calls_last_error_message(), "loopback") != NULL);
    check_no_secret();
    /* concurrency 0 */
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_concurrency(b, 0), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(calls_last_error_message(), "concurrency") != NULL);
    check_no_secret();
    /* a rate limit over no time, or over more than a day; 0 requests = no limit */
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_rate_limit(b, 300, 0), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(calls_last_error_message(), "per_ms") != NULL);
    CHECK_RC(calls_client_builder_set_rate_limit(b, 1, 86400001), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_builder_set_rate_limit(b, 0, 0), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, "http://127.0.0.1:9"), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    calls_client_free(c);
    /* timeout 0 */
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_timeout_ms(b, 0), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    /* a bad window policy */
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_window_policy(b, 0, 30, 90), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    /* a bad auth id, an empty token, a token with CR/LF */
    CHECK_RC(calls_client_builder_new("MA1/../x", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_builder_new("MA1", "", &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_builder_new("MA1", "s3cr3t-t0ken-never-shown\r\nX: 1", &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    check_no_secret();

    /* Every setter, then a good build; and a builder freed without building. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u", closed_port());
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, url), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_timeout_ms(b, 5000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_retries(b, 0), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_concurrency(b, 8), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_window_policy(b, 30, 90, 90), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_rate_limit(b, 300, 5000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    CHECK(c != NULL);
    calls_client_free(c);
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    calls_client_builder_free(b);

    /* From the environment. */
    setenv("PLIVO_AUTH_ID", "MAENV", 1);
    setenv("PLIVO_AUTH_TOKEN", SECRET, 1);
    setenv("PLIVO_API_URL", url, 1);
    CHECK_RC(calls_client_builder_from_env(&b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    calls_client_free(c);
    unsetenv("PLIVO_AUTH_TOKEN");
    b = SENTINEL;
    CHECK_RC(calls_client_builder_from_env(&b), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(b == NULL);
    CHECK(strstr(calls_last_error_message(), "PLIVO_AUTH_TOKEN") != NULL);
    unsetenv("PLIVO_AUTH_ID");
    unsetenv("PLIVO_API_URL");
}

static void expect_query_string(calls_query *q, const char *want)
{
    char *s = SENTINEL;
    size_t len = 12345;
    CHECK_RC(calls_query_to_string(q, &s, &len), CALLS_RESULT_OK);
    CHECK(s != NULL && strcmp(s, want) == 0 && len == strlen(want));
    if (s && strcmp(s, want) != 0)
        fprintf(stderr, "  query string: got `%s`, want `%s`\n", s, want);
    calls_string_free(s);
}

static void test_query(void)
{
    calls_query *q = SENTINEL;
    char *s = SENTINEL;
    size_t len = 7;

    CHECK_RC(calls_query_new(NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_query_new(&q), CALLS_RESULT_OK);
    CHECK(q != NULL);
    expect_query_string(q, "");

    CHECK_RC(calls_query_set(NULL, "call_direction", "inbound"), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_query_set(q, NULL, "inbound"), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_query_set(q, "call_direction", NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_query_to_string(NULL, &s, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK(s == NULL && len == 0);
    CHECK_RC(calls_query_to_string(q, NULL, &len), CALLS_RESULT_NULL_PARAMETER);

    /* INVALID_ARGUMENT: unknown names, paging arguments, bad UTF-8. */
    CHECK_RC(calls_query_set(q, "call_directoin", "inbound"), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(calls_last_error_message(), "call_direction") != NULL); /* did you mean */
    CHECK_RC(calls_query_set(q, "limit", "20"), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(calls_last_error_message(), "paging") != NULL);
    CHECK_RC(calls_query_set(q, "offset", "0"), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_query_set(q, BAD_UTF8, "x"), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_query_set(q, "from_number", BAD_UTF8), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(calls_last_http_status() == 0);

    /* VALIDATION: bad values. */
    CHECK_RC(calls_query_set(q, "call_direction", "sideways"), CALLS_RESULT_VALIDATION);
    CHECK(strstr(calls_last_error_message(), "call_direction") != NULL);
    CHECK_RC(calls_query_set(q, "call_direction", "Inbound"), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, "hangup_source", "nobody"), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, "stir_verification", "verified"), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, "bill_duration__gt", "-1"), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, "end_time__gte", "2026-13-01 00:00"), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, "from_number", "12ab"), CALLS_RESULT_VALIDATION);
    /* ...and the query is unchanged by failures. */
    expect_query_string(q, "");

    /* Exact query strings. */
    CHECK_RC(calls_query_set(q, "from_number", "+14155"), CALLS_RESULT_OK);
    CHECK(strcmp(calls_last_error_message(), "") == 0);
    CHECK_RC(calls_query_set(q, "call_direction", "outbound"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "end_time__gte", "2026-11-01 00:00"), CALLS_RESULT_OK);
    expect_query_string(q, "from_number=14155&call_direction=outbound&end_time__gte=2026-11-01%2000%3A00%3A00");
    calls_query_free(q);

    CHECK_RC(calls_query_new(&q), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "stir_verification", "Not Verified"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "hangup_source", "customer"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "hangup_cause_code", "4000"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "bill_duration__lte", "600"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "bill_duration__gt", "60"), CALLS_RESULT_OK);
    expect_query_string(
        q, "bill_duration__gt=60&bill_duration__lte=600&hangup_cause_code=4000&hangup_source=customer&stir_verification=Not%20Verified");
    /* Setting again replaces; len_out may be NULL. */
    CHECK_RC(calls_query_set(q, "bill_duration__gt", "90"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_to_string(q, &s, NULL), CALLS_RESULT_OK);
    CHECK(s != NULL && strncmp(s, "bill_duration__gt=90&", 21) == 0);
    calls_string_free(s);
    calls_query_free(q);

    CHECK_RC(calls_query_new(&q), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "to_number", "44"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "end_time__lt", "2026-11-20 12:30:15"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "end_time__gt", "2026-11-10 00:00:00"), CALLS_RESULT_OK);
    expect_query_string(q, "to_number=44&end_time__gt=2026-11-10%2000%3A00%3A00&end_time__lt=2026-11-20%2012%3A30%3A15");
    calls_query_free(q);
}

/* A NUL-terminated string of `n` copies of `c` after `prefix` (to free). */
static char *long_string(const char *prefix, char c, size_t n)
{
    size_t k = strlen(prefix);
    char *s = xmalloc(k + n + 1);
    memcpy(s, prefix, k);
    memset(s + k, c, n);
    s[k + n] = '\0';
    return s;
}

/* 1 MiB strings everywhere a string goes in: refused cleanly (or, for a base
 * URL, failing at the request), with short messages that never echo them. */
static void test_long_strings(void)
{
    calls_query *q = NULL;
    calls_client_builder *b = NULL;
    calls_client *c = SENTINEL;
    char *digits = long_string("", '7', ONE_MIB), *letters = long_string("", 'a', ONE_MIB);
    char *host_url = long_string("https://", 'a', ONE_MIB), *path_url, *json = SENTINEL, prefix[64];
    size_t len = 3;

    CHECK_RC(calls_query_new(&q), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(q, "from_number", digits), CALLS_RESULT_VALIDATION);
    CHECK(strlen(calls_last_error_message()) < 1024);
    CHECK_RC(calls_query_set(q, "call_direction", letters), CALLS_RESULT_VALIDATION);
    CHECK(strlen(calls_last_error_message()) < 1024);
    CHECK_RC(calls_query_set(q, "hangup_cause_code", digits), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, "end_time__gte", letters), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, "bill_duration__gt", digits), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_query_set(q, letters, "inbound"), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(strlen(calls_last_error_message()) < 1024);
    expect_query_string(q, "");

    /* Auth id and token: refused by build, never echoed. */
    CHECK_RC(calls_client_builder_new(letters, "t", &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(c == NULL && strlen(calls_last_error_message()) < 1024);
    CHECK_RC(calls_client_builder_new("MA1", letters, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(c == NULL && strstr(calls_last_error_message(), "aaaaaaaa") == NULL);

    /* A 1 MiB base URL: a 1 MiB host, then a 1 MiB path on a closed loopback
     * port; the request fails as a transport error (nothing is resolved). */
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, host_url), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_retries(b, 0), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    calls_client_free(c);
    snprintf(prefix, sizeof prefix, "http://127.0.0.1:%u/", closed_port());
    path_url = long_string(prefix, 'a', ONE_MIB);
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, path_url), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_retries(b, 0), CALLS_RESULT_OK);
    c = NULL;
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, &len), CALLS_RESULT_TRANSPORT);
    CHECK(json == NULL && len == 0 && strlen(calls_last_error_message()) < 1024);
    check_no_secret();
    calls_client_free(c);

    free(digits);
    free(letters);
    free(host_url);
    free(path_url);
    calls_query_free(q);
}

/* Requests that fail before or without an HTTP answer. */
static void test_offline_requests(void)
{
    calls_client_builder *b = NULL;
    calls_client *c = NULL;
    calls_query *q = NULL, *lt_only = NULL, *empty_range = NULL, *too_old = NULL;
    calls_pager *p = SENTINEL;
    char *json = SENTINEL, url[64], when[32];
    size_t len = 99;

    snprintf(url, sizeof url, "http://127.0.0.1:%u", closed_port());
    CHECK_RC(calls_client_builder_new("MA1", SECRET, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, url), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_retries(b, 0), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    CHECK_RC(calls_query_new(&q), CALLS_RESULT_OK);

    /* NULL parameters of every request function. */
    CHECK_RC(calls_client_list_page(NULL, q, 20, 0, &json, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK(json == NULL && len == 0);
    CHECK_RC(calls_client_list_page(c, NULL, 20, 0, &json, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, NULL, &len), CALLS_RESULT_NULL_PARAMETER);
    json = SENTINEL;
    CHECK_RC(calls_client_fetch_all(NULL, q, 0, &json, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK(json == NULL);
    CHECK_RC(calls_client_fetch_all(c, NULL, 0, &json, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_fetch_all(c, q, 0, NULL, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_new(NULL, q, 0, &p), CALLS_RESULT_NULL_PARAMETER);
    CHECK(p == NULL);
    CHECK_RC(calls_pager_new(c, NULL, 0, &p), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_new(c, q, 0, NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_next(NULL, &json, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_next_page(NULL, &json, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_stats(NULL, &json, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_next(p, NULL, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_next_page(p, NULL, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_stats(p, NULL, &len), CALLS_RESULT_NULL_PARAMETER);

    /* INVALID_ARGUMENT: a page size outside 1..=20. */
    CHECK_RC(calls_client_list_page(c, q, 0, 0, &json, &len), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_list_page(c, q, 21, 0, &json, &len), CALLS_RESULT_INVALID_ARGUMENT);

    /* VALIDATION at list_page: an upper end_time bound without a lower one.
     * The port is closed, so VALIDATION (not TRANSPORT) proves nothing was sent. */
    CHECK_RC(calls_query_new(&lt_only), CALLS_RESULT_OK);
    days_before(time(NULL), 1, when, sizeof when);
    CHECK_RC(calls_query_set(lt_only, "end_time__lt", when), CALLS_RESULT_OK);
    json = SENTINEL;
    CHECK_RC(calls_client_list_page(c, lt_only, 20, 0, &json, &len), CALLS_RESULT_VALIDATION);
    CHECK(json == NULL && calls_last_http_status() == 0);
    CHECK(strstr(calls_last_error_message(), "end_time__lt") != NULL);
    /* Older than the retention. */
    CHECK_RC(calls_query_new(&too_old), CALLS_RESULT_OK);
    days_before(time(NULL), 200, when, sizeof when);
    CHECK_RC(calls_query_set(too_old, "end_time__gte", when), CALLS_RESULT_OK);
    CHECK_RC(calls_client_list_page(c, too_old, 20, 0, &json, &len), CALLS_RESULT_VALIDATION);
    CHECK_RC(calls_client_fetch_all(c, too_old, 0, &json, &len), CALLS_RESULT_VALIDATION);
    /* An empty range: refused by calls_pager_new itself. */
    CHECK_RC(calls_query_new(&empty_range), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(empty_range, "end_time__gte", "2026-11-20 00:00"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(empty_range, "end_time__lt", "2026-11-10 00:00"), CALLS_RESULT_OK);
    {
        calls_pager *p2 = SENTINEL;
        CHECK_RC(calls_pager_new(c, empty_range, 0, &p2), CALLS_RESULT_VALIDATION);
        CHECK(p2 == NULL);
    }

    /* TRANSPORT: nothing listens on the port. */
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, &len), CALLS_RESULT_TRANSPORT);
    CHECK(json == NULL && calls_last_http_status() == 0);
    check_no_secret();
    CHECK_RC(calls_client_fetch_all(c, q, 5, &json, &len), CALLS_RESULT_TRANSPORT);
    CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_TRANSPORT);
    /* Errors are sticky. */
    CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_TRANSPORT);
    CHECK_RC(calls_pager_next_page(p, &json, &len), CALLS_RESULT_TRANSPORT);
    CHECK(json == NULL);
    /* Stats still work. */
    CHECK_RC(calls_pager_stats(p, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && strstr(json, "\"items\":0") != NULL && len == strlen(json));
    calls_string_free(json);

    calls_pager_free(p);
    calls_query_free(q);
    calls_query_free(lt_only);
    calls_query_free(too_old);
    calls_query_free(empty_range);
    calls_client_free(c);
}

/* ------------------------------------------------------------------ data */

struct thread_job {
    const calls_client *client;
    const calls_query *query;       /* for list_page (within one window) */
    const calls_query *fetch_query; /* for fetch_all */
    int ok;
    size_t items;
};

static void *thread_main(void *arg)
{
    struct thread_job *job = arg;
    int i;
    char *json = NULL;
    size_t len = 0;
    job->ok = 1;
    for (i = 0; i < 3; i++) {
        if (calls_client_list_page(job->client, job->query, 10, (uint64_t)i * 10, &json, &len) != CALLS_RESULT_OK ||
            strstr(json, "\"objects\"") == NULL || calls_last_http_status() != 200 ||
            strcmp(calls_last_error_message(), "") != 0) {
            fprintf(stderr, "thread: list_page failed: %u %s\n", calls_last_http_status(), calls_last_error_message());
            job->ok = 0;
        }
        calls_string_free(json);
        json = NULL;
    }
    if (calls_client_fetch_all(job->client, job->fetch_query, 30, &json, &len) != CALLS_RESULT_OK) {
        fprintf(stderr, "thread: fetch_all failed: %s\n", calls_last_error_message());
        job->ok = 0;
    }
    else
        job->items = count_of(json, "\"call_uuid\"");
    calls_string_free(json);
    return NULL;
}

/* Compares `json` (calls as JSON) with the simulator's own set of the
 * calls that ended from `from` to a second from now (and of `direction`, if
 * not NULL), asked on /_sim/expected in chunks of at most 25 days (its
 * range limit is the API's 30): returns how many calls the simulator
 * expects (-1 if it did not answer) and sets `*wrong` to the number of its
 * calls not found exactly once in `json` (missing or duplicated). */
static long sim_expected_compare(time_t from, const char *direction, const char *json, long *wrong)
{
    char path[320], lo[48], hi[48], needle[160], *r, *t, *end;
    time_t until = time(NULL) + 1, a, b;
    struct tm tm;
    long n = 0, bad = 0;
    for (a = from; a < until; a = b) {
        b = a + 25 * 86400 < until ? a + 25 * 86400 : until;
        gmtime_r(&a, &tm);
        strftime(lo, sizeof lo, "%Y-%m-%d%%20%H%%3A%M%%3A%S", &tm);
        gmtime_r(&b, &tm);
        strftime(hi, sizeof hi, "%Y-%m-%d%%20%H%%3A%M%%3A%S", &tm);
        snprintf(path, sizeof path, "/_sim/expected?end_time__gte=%s&end_time__lt=%s%s%s", lo, hi,
                 direction ? "&call_direction=" : "", direction ? direction : "");
        r = sim_get(path);
        t = r ? strstr(r, "\"total_count\":") : NULL;
        if (t == NULL) {
            free(r);
            *wrong = -1;
            return -1;
        }
        n += strtol(t + 14, NULL, 10);
        t = strstr(r, "\"call_uuids\":[");
        if (t)
            t += strlen("\"call_uuids\":[");
        while (t && *t != ']' && (t = strchr(t, '"')) != NULL && (end = strchr(t + 1, '"')) != NULL) {
            snprintf(needle, sizeof needle, "\"call_uuid\":\"%.*s\"", (int)(end - t - 1), t + 1);
            if (count_of(json, needle) != 1)
                bad++;
            t = end + 1;
            if (*t == ',')
                t++;
        }
        free(r);
    }
    *wrong = bad;
    return n;
}

static void test_data(void)
{
    calls_client *c = sim_client(NULL, 2, 0);
    time_t started = time(NULL);
    calls_query *all = NULL, *window = query_since(started, 59, "outbound");
    calls_query *recent = query_since(time(NULL), 10, NULL);
    calls_pager *p = NULL;
    char *json = NULL, *fetched = NULL, *stats = NULL;
    size_t len = 0, n;
    buf_t joined = {NULL, 0, 0}, paged = {NULL, 0, 0};
    calls_result rc;

    CHECK_RC(calls_query_new(&all), CALLS_RESULT_OK);

    /* list_page: the whole API page, every field. */
    CHECK_RC(calls_client_list_page(c, all, 5, 0, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && len == strlen(json));
    CHECK(strstr(json, "\"objects\"") != NULL && strstr(json, "\"meta\"") != NULL && strstr(json, "\"api_id\"") != NULL);
    CHECK(strstr(json, "\"total_count\"") != NULL && count_of(json, "\"call_uuid\"") == 5);
    CHECK(strstr(json, "\"cnam_lookup\"") != NULL); /* a field calls-core does not model is kept */
    CHECK(calls_last_http_status() == 200 && strcmp(calls_last_error_message(), "") == 0);
    calls_string_free(json);
    CHECK_RC(calls_client_list_page(c, recent, 20, 3, &json, NULL), CALLS_RESULT_OK);
    CHECK(json != NULL && strstr(json, "\"offset\":3") != NULL);
    calls_string_free(json);
    json = NULL;

    /* fetch_all with max_items. */
    CHECK_RC(calls_client_fetch_all(c, window, 7, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && json[0] == '[' && count_of(json, "\"call_uuid\"") == 7);
    calls_string_free(json);
    json = NULL;

    /* The pager yields exactly what fetch_all returns (59 days: two 30-day windows). */
    CHECK_RC(calls_client_fetch_all(c, window, 0, &fetched, &len), CALLS_RESULT_OK);
    CHECK(fetched != NULL && len == strlen(fetched));
    n = fetched ? count_of(fetched, "\"call_uuid\"") : 0;
    CHECK(n > 40);
    /* Independently of the library: exactly the simulator's own set, each
     * call once (its uuids, asked on /_sim/expected, each found once). */
    {
        long expected, wrong = -1;
        /* query_since's lower bound, to the second. */
        expected = sim_expected_compare(started - 59 * 86400, "outbound", fetched ? fetched : "", &wrong);
        CHECK(expected > 40 && (size_t)expected == n && wrong == 0);
        if (expected < 0 || (size_t)expected != n || wrong != 0)
            fprintf(stderr, "  fetch_all: %zu calls, the simulator expects %ld, %ld not found exactly once\n", n,
                    expected, wrong);
    }
    CHECK_RC(calls_pager_new(c, window, 0, &p), CALLS_RESULT_OK);
    buf_add(&joined, "[", 1);
    while ((rc = calls_pager_next(p, &json, &len)) == CALLS_RESULT_OK) {
        if (joined.len > 1)
            buf_add(&joined, ",", 1);
        buf_add(&joined, json, len);
        if (json[0] != '{' || len != strlen(json))
            CHECK(!"a call is one JSON object");
        calls_string_free(json);
        json = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_DONE);
    CHECK(json == NULL);
    buf_add(&joined, "]", 1);
    CHECK(fetched != NULL && joined.s != NULL && strcmp(fetched, joined.s) == 0);
    /* DONE again and again. */
    json = SENTINEL;
    CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_DONE);
    CHECK(json == NULL && len == 0);
    CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_DONE);
    CHECK_RC(calls_pager_next_page(p, &json, &len), CALLS_RESULT_DONE);
    CHECK(json == NULL);
    CHECK_RC(calls_pager_stats(p, &stats, &len), CALLS_RESULT_OK);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "stats: %s\n", stats ? stats : "(null)");
    CHECK(stats != NULL && strstr(stats, "\"windows\":2") != NULL && strstr(stats, "\"requests\":") != NULL &&
          strstr(stats, "\"retries\":0") != NULL && strstr(stats, "\"pages\":") != NULL &&
          strstr(stats, "\"duplicates_skipped\":0") != NULL && strstr(stats, "\"rewalks\":0") != NULL &&
          strstr(stats, "\"slices\":") != NULL && strstr(stats, "\"splits\":") != NULL);
    {
        char want[64];
        snprintf(want, sizeof want, "\"items\":%zu", n);
        CHECK(stats != NULL && strstr(stats, want) != NULL);
    }
    calls_string_free(stats);
    stats = NULL;
    calls_pager_free(p);
    p = NULL;

    /* next_page gives the same calls page by page. */
    CHECK_RC(calls_pager_new(c, window, 0, &p), CALLS_RESULT_OK);
    buf_add(&paged, "[", 1);
    while ((rc = calls_pager_next_page(p, &json, &len)) == CALLS_RESULT_OK) {
        CHECK(len > 2 && json[0] == '[' && json[len - 1] == ']');
        if (paged.len > 1)
            buf_add(&paged, ",", 1);
        buf_add(&paged, json + 1, len - 2);
        calls_string_free(json);
        json = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_DONE);
    buf_add(&paged, "]", 1);
    CHECK(fetched != NULL && paged.s != NULL && strcmp(fetched, paged.s) == 0);
    calls_pager_free(p);
    p = NULL;

    /* Mixing next and next_page, with max_items: 1 + 19 buffered + 10 + DONE. */
    CHECK_RC(calls_pager_new(c, window, 30, &p), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && fetched != NULL && strncmp(fetched + 1, json, len) == 0);
    calls_string_free(json);
    CHECK_RC(calls_pager_next_page(p, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && count_of(json, "\"call_uuid\"") == 19);
    calls_string_free(json);
    CHECK_RC(calls_pager_next_page(p, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && count_of(json, "\"call_uuid\"") == 10);
    calls_string_free(json);
    CHECK_RC(calls_pager_next_page(p, &json, &len), CALLS_RESULT_DONE);
    CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_DONE);
    calls_pager_free(p);
    p = NULL;

    /* Two threads sharing one client. */
    {
        pthread_t t[2];
        struct thread_job jobs[2];
        int i;
        for (i = 0; i < 2; i++) {
            jobs[i].client = c;
            jobs[i].query = recent;
            jobs[i].fetch_query = i ? window : recent;
            jobs[i].ok = 0;
            jobs[i].items = 0;
            CHECK(pthread_create(&t[i], NULL, thread_main, &jobs[i]) == 0);
        }
        for (i = 0; i < 2; i++) {
            CHECK(pthread_join(t[i], NULL) == 0);
            CHECK(jobs[i].ok == 1);
            CHECK(jobs[i].items > 0 && jobs[i].items <= 30);
        }
    }

    /* A pager keeps working after its client was freed. */
    {
        calls_client *c2 = sim_client(NULL, 2, 0);
        size_t got = 0;
        CHECK_RC(calls_pager_new(c2, window, 25, &p), CALLS_RESULT_OK);
        calls_client_free(c2);
        while ((rc = calls_pager_next(p, &json, NULL)) == CALLS_RESULT_OK) {
            got++;
            calls_string_free(json);
        }
        CHECK_RC(rc, CALLS_RESULT_DONE);
        CHECK(got == 25);
        calls_pager_free(p);
        p = NULL;
    }

    /* UNAUTHORIZED: a wrong token; the message never shows it. */
    {
        calls_client *bad = sim_client(SECRET, 0, 0);
        json = SENTINEL;
        CHECK_RC(calls_client_list_page(bad, all, 20, 0, &json, &len), CALLS_RESULT_UNAUTHORIZED);
        CHECK(json == NULL && calls_last_http_status() == 401);
        check_no_secret();
        CHECK_RC(calls_client_fetch_all(bad, all, 0, &json, &len), CALLS_RESULT_UNAUTHORIZED);
        CHECK_RC(calls_pager_new(bad, window, 0, &p), CALLS_RESULT_OK);
        CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_UNAUTHORIZED);
        CHECK(calls_last_http_status() == 401);
        check_no_secret();
        calls_pager_free(p);
        p = NULL;
        calls_client_free(bad);
    }
    /* A success afterwards clears the last error and sets the status to 200. */
    CHECK_RC(calls_client_list_page(c, all, 1, 0, &json, &len), CALLS_RESULT_OK);
    CHECK(strcmp(calls_last_error_message(), "") == 0 && calls_last_http_status() == 200);
    calls_string_free(json);

    calls_string_free(fetched);
    free(joined.s);
    free(paged.s);
    calls_query_free(all);
    calls_query_free(window);
    calls_query_free(recent);
    calls_client_free(c);
}

/* ------------------------------------------------------------------ faults */

/* Every request function fails with `want` (and HTTP status `status`). */
static void expect_failure(uint32_t max_retries, uint32_t timeout_ms, calls_result want, uint16_t status)
{
    calls_client *c = sim_client(NULL, max_retries, timeout_ms);
    calls_query *q = query_since(time(NULL), 5, NULL);
    calls_pager *p = NULL;
    char *json = SENTINEL;
    size_t len = 5;

    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, &len), want);
    CHECK(json == NULL && len == 0);
    CHECK(calls_last_http_status() == status);
    CHECK(strlen(calls_last_error_message()) > 0);
    check_no_secret();
    CHECK_RC(calls_client_fetch_all(c, q, 0, &json, &len), want);
    CHECK(calls_last_http_status() == status);
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_next_page(p, &json, &len), want);
    CHECK(json == NULL && calls_last_http_status() == status);
    CHECK_RC(calls_pager_next(p, &json, &len), want); /* sticky */
    calls_pager_free(p);
    calls_query_free(q);
    calls_client_free(c);
}

/* No 6-character piece of `secret` in this thread's last error message. */
static void check_no_fragment(const char *secret)
{
    const char *msg = calls_last_error_message();
    size_t n = strlen(secret), i;
    char piece[7];
    for (i = 0; i + 6 <= n; i++) {
        memcpy(piece, secret + i, 6);
        piece[6] = '\0';
        if (strstr(msg, piece) != NULL) {
            fprintf(stderr, "piece `%s` of a secret in: %s\n", piece, msg);
        }
        CHECK(strstr(msg, piece) == NULL);
    }
}

/* The simulator's credentials (scripts/with-sim.sh) and their base64 form. */
static const char *const SIM_TOKEN = "simulator-token";
static const char *const SIM_BASIC = "TUFTSU1VTEFUT1IwMDAwMDAwMDE6c2ltdWxhdG9yLXRva2Vu";

/* --over-limit-every 1: a 200 page of far more objects than limit=20 is
 * BAD_RESPONSE saying so, with HTTP status 200, from every request function. */
static void test_over_limit(void)
{
    expect_failure(2, 0, CALLS_RESULT_BAD_RESPONSE, 200);
    CHECK(strstr(calls_last_error_message(), "more than 20 objects, but limit=20 was asked for") != NULL);
}

/* --echo-credentials-every 1 [--echo-basic]: the server puts the request's
 * token (or its base64 Basic credentials) after 32 characters of end_time;
 * the message quotes the value without any 6-character piece of either. */
static void test_echo(void)
{
    calls_client *c = sim_client(NULL, 0, 0);
    calls_query *q = query_since(time(NULL), 5, NULL);
    calls_pager *p = NULL;
    char *json = SENTINEL;
    size_t len = 5;

    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, &len), CALLS_RESULT_BAD_RESPONSE);
    CHECK(json == NULL && calls_last_http_status() == 200);
    CHECK(strstr(calls_last_error_message(), "objects[0].end_time: `2026-11-30 08:52:26 pad pad pad <redacte") != NULL);
    check_no_fragment(SIM_TOKEN);
    check_no_fragment(SIM_BASIC);
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_next(p, &json, &len), CALLS_RESULT_BAD_RESPONSE);
    CHECK(json == NULL && calls_last_http_status() == 200);
    check_no_fragment(SIM_TOKEN);
    check_no_fragment(SIM_BASIC);
    calls_pager_free(p);
    calls_query_free(q);
    calls_client_free(c);
}

/* ------------------------------------------------------------------ main */

/* The number after `"key":` in a JSON text, or -1. */
static long long json_number(const char *json, const char *key)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = json ? strstr(json, pat) : NULL;
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* Against calls-sim --rate-limit 20/0.25: a client whose budget is the
 * service's limit, set from C, exports everything with no more than 1% of
 * its requests answered 429, and reports its counters. */
static void test_budget(void)
{
    calls_client_builder *b = NULL;
    calls_client *c = NULL;
    calls_query *q = query_since(time(NULL), 89, NULL);
    calls_pager *p = NULL;
    char *json = NULL, *all = NULL;
    size_t n = 0;
    long long requests, answered_429;
    calls_result rc;

    CHECK_RC(calls_client_builder_from_env(&b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_rate_limit(b, 20, 250), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_concurrency(b, 8), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_retries(b, 10), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    if (c == NULL)
        return;
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    while ((rc = calls_pager_next(p, &json, NULL)) == CALLS_RESULT_OK) {
        n++;
        calls_string_free(json);
        json = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_DONE);
    CHECK_RC(calls_pager_stats(p, &json, NULL), CALLS_RESULT_OK);
    CHECK(json != NULL && strstr(json, "\"client\":{") != NULL);
    CHECK(json_number(json, "ceiling") == 20);
    calls_string_free(json);
    json = NULL;
    /* The same calls again, in one piece. */
    CHECK_RC(calls_client_fetch_all(c, q, 0, &all, NULL), CALLS_RESULT_OK);
    CHECK(n > 1000 && all != NULL && count_of(all, "\"call_uuid\"") == n);
    CHECK_RC(calls_client_stats(c, &json, NULL), CALLS_RESULT_OK);
    requests = json_number(json, "requests");
    answered_429 = json_number(json, "answered_429");
    CHECK(requests >= 100 && answered_429 >= 0 && answered_429 * 100 <= requests);
    if (!(answered_429 * 100 <= requests))
        fprintf(stderr, "  client stats: %s\n", json ? json : "(none)");
    CHECK(json_number(json, "waited_budget_ms") >= 0 && strstr(json, "\"requests_per_second\":") != NULL);
    calls_string_free(json);
    json = SENTINEL;
    CHECK_RC(calls_client_stats(NULL, &json, NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK(json == NULL);
    calls_string_free(all);
    calls_pager_free(p);
    calls_query_free(q);
    calls_client_free(c);
}

/* ------------------------------------------------------------- cancel */

/* The simulator's count of API requests being handled now, or -1. */
static long sim_in_flight(void)
{
    char *r = sim_get("/_sim/stats");
    const char *t = r ? strstr(r, "\"in_flight\":") : NULL;
    long n = t ? strtol(t + 12, NULL, 10) : -1;
    free(r);
    return n;
}

typedef struct {
    calls_pager *pager;
    calls_result rc;
    int done;
    pthread_mutex_t mu;
} next_job;

static void *next_in_thread(void *arg)
{
    next_job *j = arg;
    char *json = NULL;
    calls_result rc = calls_pager_next(j->pager, &json, NULL);
    calls_string_free(json);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->done = 1;
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static int job_done(next_job *j)
{
    int d;
    pthread_mutex_lock(&j->mu);
    d = j->done;
    pthread_mutex_unlock(&j->mu);
    return d;
}

/* Against a simulator holding every answer (--hold): a second thread's
 * calls_pager_next is refused while the first is inside it; calls_pager_cancel
 * from the second thread makes the first return CANCELLED while its answer is
 * still held (counted by the simulator); a deadline ends list_page. */
static void test_cancel(void)
{
    time_t now = time(NULL);
    calls_client *c = test_client(NULL, NULL, NULL, 0, 0, 0);
    calls_client_builder *b = NULL;
    calls_client *bounded = NULL;
    calls_query *q = query_since(now, 5, NULL);
    next_job j;
    pthread_t t;
    char *json = SENTINEL, *r;
    long spins = 0;
    struct timespec t0, t1;

    memset(&j, 0, sizeof j);
    pthread_mutex_init(&j.mu, NULL);
    CHECK_RC(calls_pager_cancel(NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_new(c, q, 0, &j.pager), CALLS_RESULT_OK);
    CHECK(pthread_create(&t, NULL, next_in_thread, &j) == 0);
    while (sim_in_flight() < 1 && spins++ < 100000)
        sched_yield();
    CHECK(sim_in_flight() == 1);
    /* In use by the other thread: refused, nothing changed. */
    CHECK_RC(calls_pager_next(j.pager, &json, NULL), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(json == NULL && strstr(calls_last_error_message(), "another thread") != NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_RC(calls_pager_cancel(j.pager), CALLS_RESULT_OK);
    spins = 0;
    while (!job_done(&j) && spins++ < 2000000)
        sched_yield();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Returned while its answer is still held. */
    CHECK(job_done(&j) && sim_in_flight() == 1);
    if (!job_done(&j)) {
        r = sim_get("/_sim/release");
        free(r);
    }
    pthread_join(t, NULL);
    CHECK_RC(j.rc, CALLS_RESULT_CANCELLED);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "cancel returned after %.3f ms\n",
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    CHECK_RC(calls_pager_next(j.pager, &json, NULL), CALLS_RESULT_CANCELLED);
    CHECK_RC(calls_pager_cancel(j.pager), CALLS_RESULT_OK);
    calls_pager_free(j.pager);
    pthread_mutex_destroy(&j.mu);

    /* A deadline: list_page ends with TIMEOUT while the answer is held. */
    CHECK_RC(calls_client_builder_new(env_or_die("PLIVO_AUTH_ID"), env_or_die("PLIVO_AUTH_TOKEN"), &b),
             CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, env_or_die("PLIVO_API_URL")), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_deadline_ms(NULL, 300), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_deadline_ms(b, 300), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &bounded), CALLS_RESULT_OK);
    json = SENTINEL;
    CHECK_RC(calls_client_list_page(bounded, q, 20, 0, &json, NULL), CALLS_RESULT_TIMEOUT);
    CHECK(json == NULL);
    r = sim_get("/_sim/release");
    CHECK(r != NULL && strncmp(r, "HTTP/1.1 200", 12) == 0);
    free(r);
    CHECK_RC(calls_client_list_page(bounded, q, 20, 0, &json, NULL), CALLS_RESULT_OK);
    calls_string_free(json);
    calls_client_free(bounded);
    calls_query_free(q);
    calls_client_free(c);
}

/* A counter of the simulator's (`/_sim/stats`): -1 when unreadable. */
static long sim_stat(const char *name)
{
    char key[64];
    char *r = sim_get("/_sim/stats");
    const char *t;
    long n = -1;
    snprintf(key, sizeof key, "\"%s\":", name);
    t = r ? strstr(r, key) : NULL;
    if (t)
        n = strtol(t + strlen(key), NULL, 10);
    free(r);
    return n;
}

/* What the log callback saw; it may run on several threads at once. */
typedef struct {
    pthread_mutex_t mu;
    long lines, debug, warn, error, retried_503, later_attempts, bad, leaked;
    const char *token;
} log_sink;

/* Whether `text` holds any 6-character piece of `secret`. */
static int has_piece(const char *text, const char *secret)
{
    size_t n = strlen(secret), i;
    char piece[7];
    for (i = 0; text && i + 6 <= n; i++) {
        memcpy(piece, secret + i, 6);
        piece[6] = '\0';
        if (strstr(text, piece) != NULL)
            return 1;
    }
    return 0;
}

static void on_log(const calls_log_record *r, void *user)
{
    log_sink *s = user;
    int bad = r == NULL || r->message == NULL || r->path == NULL || r->method == NULL ||
              strcmp(r->method, "GET") != 0 ||
              strncmp(r->path, "/v1/Account/{auth_id}/Zentrunk/Call/", 36) != 0 ||
              strstr(r->message, r->path) == NULL || r->attempt < 1;
    pthread_mutex_lock(&s->mu);
    s->lines++;
    if (bad) {
        s->bad++;
    } else {
        s->debug += r->level == CALLS_LOG_DEBUG;
        s->warn += r->level == CALLS_LOG_WARN;
        s->error += r->level == CALLS_LOG_ERROR;
        s->retried_503 += r->level == CALLS_LOG_WARN && r->status == 503 && r->retry_reason != NULL;
        s->later_attempts += r->attempt > 1;
        s->leaked += has_piece(r->message, s->token) || has_piece(r->path, s->token) ||
                     has_piece(r->retry_reason, s->token) ||
                     strstr(r->message, env_or_die("PLIVO_AUTH_ID")) != NULL;
    }
    pthread_mutex_unlock(&s->mu);
}

/* What the progress callback saw. */
typedef struct {
    long reports, out_of_order;
    uint64_t last_pages, last_calls;
    int64_t last_estimate;
    uint64_t stop_at; /* cancel when this many pages were received; 0: never */
} progress_sink;

static int on_progress(const calls_progress *p, void *user)
{
    progress_sink *s = user;
    s->reports++;
    if (p->pages != s->last_pages + 1 || p->calls < s->last_calls || p->requests < p->pages)
        s->out_of_order++;
    s->last_pages = p->pages;
    s->last_calls = p->calls;
    s->last_estimate = p->total_estimate;
    return s->stop_at != 0 && p->pages >= s->stop_at;
}

/* --calls 4000 --error-every 5 --error-status 503: a progress report after
 * every page and one log line per request, both counted against the
 * simulator; a non-zero return from the progress callback cancels. */
static void test_observe(void)
{
    calls_client_builder *b = NULL;
    calls_client *c = NULL;
    calls_query *q = query_since(time(NULL), 5, NULL);
    calls_pager *p = NULL;
    char *json = NULL;
    long requests, faults, requests0, faults0, n = 0;
    calls_result rc;
    log_sink ls;
    progress_sink ps;

    memset(&ls, 0, sizeof ls);
    memset(&ps, 0, sizeof ps);
    pthread_mutex_init(&ls.mu, NULL);
    ls.token = env_or_die("PLIVO_AUTH_TOKEN");
    CHECK_RC(calls_client_builder_new(env_or_die("PLIVO_AUTH_ID"), ls.token, &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, env_or_die("PLIVO_API_URL")), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_concurrency(b, 3), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_log(NULL, on_log, &ls, CALLS_LOG_DEBUG), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_log(b, NULL, &ls, CALLS_LOG_DEBUG), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_log(b, on_log, &ls, 0), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_builder_set_log(b, on_log, &ls, 5), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_builder_set_log(b, on_log, &ls, CALLS_LOG_DEBUG), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);

    /* What the simulator holds for the same bounds, asked without the library. */
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_set_progress(NULL, on_progress, &ps), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_set_progress(p, on_progress, &ps), CALLS_RESULT_OK);
    requests0 = sim_stat("requests");
    faults0 = sim_stat("faults");
    while ((rc = calls_pager_next(p, &json, NULL)) == CALLS_RESULT_OK) {
        n++;
        calls_string_free(json);
        json = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_DONE);
    requests = sim_stat("requests") - requests0;
    faults = sim_stat("faults") - faults0;
    CHECK(requests > 10 && faults > 0);
    /* One report per page (a 503 is no page), in order. */
    CHECK(ps.reports == requests - faults && ps.out_of_order == 0);
    CHECK(ps.last_estimate == (int64_t)n && ps.last_calls <= (uint64_t)n);
    /* One line per request: every 503 a warning with its reason, then retried. */
    CHECK(ls.bad == 0 && ls.leaked == 0);
    CHECK(ls.lines == requests && ls.warn == faults && ls.retried_503 == faults);
    CHECK(ls.debug == requests - faults && ls.error == 0 && ls.later_attempts == faults);
    calls_pager_free(p);
    p = NULL;

    /* A non-zero return cancels after that page; nothing is sent after it. */
    memset(&ps, 0, sizeof ps);
    ps.stop_at = 3;
    CHECK_RC(calls_pager_new(c, q, 50, &p), CALLS_RESULT_OK); /* max_items: one request at a time */
    CHECK_RC(calls_pager_set_progress(p, on_progress, &ps), CALLS_RESULT_OK);
    requests0 = sim_stat("requests");
    while ((rc = calls_pager_next(p, &json, NULL)) == CALLS_RESULT_OK) {
        calls_string_free(json);
        json = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_CANCELLED);
    CHECK(json == NULL && ps.reports == 3);
    requests = sim_stat("requests");
    /* Three pages, and a retry for each 503 among them. */
    CHECK(requests - requests0 >= 3 && requests - requests0 <= 4);
    CHECK_RC(calls_pager_next(p, &json, NULL), CALLS_RESULT_CANCELLED);
    CHECK(sim_stat("requests") == requests);
    /* Removing the callback is allowed; the pager stays cancelled. */
    CHECK_RC(calls_pager_set_progress(p, NULL, NULL), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_next(p, &json, NULL), CALLS_RESULT_CANCELLED);
    calls_pager_free(p);

    calls_client_free(c);
    calls_query_free(q);
    pthread_mutex_destroy(&ls.mu);
}

/* --rate-limit-every 1 --retry-after 3600: under a deadline, a Retry-After
 * reaching beyond it fails at once with RATE_LIMITED after one request (the
 * default would wait up to 60 s per retry). */
static void test_deadline_429(void)
{
    calls_client_builder *b = NULL;
    calls_client *c = NULL;
    calls_query *q = query_since(time(NULL), 5, NULL);
    calls_pager *p = NULL;
    char *json = SENTINEL;
    long before;
    CHECK_RC(calls_client_builder_new(env_or_die("PLIVO_AUTH_ID"), env_or_die("PLIVO_AUTH_TOKEN"), &b),
             CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, env_or_die("PLIVO_API_URL")), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_deadline_ms(b, 2000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    before = sim_stat("requests");
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_RATE_LIMITED);
    CHECK(json == NULL && calls_last_http_status() == 429);
    CHECK(sim_stat("requests") - before == 1);
    /* The client is now paused past the deadline: a pager of it fails at
     * once too, without sending. */
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    before = sim_stat("requests");
    CHECK_RC(calls_pager_next(p, &json, NULL), CALLS_RESULT_RATE_LIMITED);
    CHECK(sim_stat("requests") == before && strstr(calls_last_error_message(), "earlier 429") != NULL);
    calls_pager_free(p);
    calls_client_free(c);
    /* A fresh client's pager: one request, its 429, RATE_LIMITED at once. */
    CHECK_RC(calls_client_builder_new(env_or_die("PLIVO_AUTH_ID"), env_or_die("PLIVO_AUTH_TOKEN"), &b),
             CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, env_or_die("PLIVO_API_URL")), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_deadline_ms(b, 2000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    before = sim_stat("requests");
    CHECK_RC(calls_pager_next(p, &json, NULL), CALLS_RESULT_RATE_LIMITED);
    CHECK(sim_stat("requests") - before == 1 && calls_last_http_status() == 429);
    calls_pager_free(p);
    calls_client_free(c);
    calls_query_free(q);
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    if (strcmp(s, "offline") == 0) {
        test_static_functions();
        test_free_null();
        test_builder();
        test_query();
        test_long_strings();
        test_offline_requests();
    } else if (strcmp(s, "data") == 0) {
        test_data();
    } else if (strcmp(s, "budget") == 0) { /* --rate-limit 20/0.25 */
        test_budget();
    } else if (strcmp(s, "not_found") == 0) { /* --error-every 1 --error-status 404 */
        expect_failure(0, 0, CALLS_RESULT_NOT_FOUND, 404);
    } else if (strcmp(s, "server") == 0) { /* --error-every 1 --error-status 503 */
        expect_failure(1, 0, CALLS_RESULT_SERVER, 503);
    } else if (strcmp(s, "rate_limited") == 0) { /* --rate-limit-every 1 --retry-after 0 */
        expect_failure(1, 0, CALLS_RESULT_RATE_LIMITED, 429);
    } else if (strcmp(s, "http") == 0) { /* --error-every 1 --error-status 400 */
        expect_failure(0, 0, CALLS_RESULT_HTTP, 400);
    } else if (strcmp(s, "timeout") == 0) { /* --latency-ms 2000 */
        expect_failure(0, 200, CALLS_RESULT_TIMEOUT, 0);
    } else if (strcmp(s, "bad_response") == 0) { /* --malformed-every 1 */
        /* The answer was a 200 whose body is not JSON: its status is reported. */
        expect_failure(0, 0, CALLS_RESULT_BAD_RESPONSE, 200);
    } else if (strcmp(s, "over_limit") == 0) { /* --over-limit-every 1 */
        test_over_limit();
    } else if (strcmp(s, "echo") == 0) { /* --echo-credentials-every 1 [--echo-basic] */
        test_echo();
    } else if (strcmp(s, "cancel") == 0) { /* --hold */
        test_cancel();
    } else if (strcmp(s, "deadline_429") == 0) { /* --rate-limit-every 1 --retry-after 3600 */
        test_deadline_429();
    } else if (strcmp(s, "observe") == 0) { /* --calls 4000 --error-every 5 --error-status 503 */
        test_observe();
    } else {
        fprintf(stderr,
                "usage: test_calls offline|data|budget|cancel|observe|deadline_429|not_found|server|rate_limited|http|timeout|bad_response|over_limit|echo\n");
        return 2;
    }
    return check_result();
}
