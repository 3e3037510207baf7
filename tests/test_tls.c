/*
 * C-level tests of the TLS trust settings and of the builder setters added
 * with them (issue 16).
 *
 *   test_tls SCENARIO
 *
 * Scenarios (tests/run_c_tests.sh starts the calls-sim each needs through
 * scripts/with-sim.sh):
 *   offline      the setters' argument checks, and what build refuses
 *   https        calls-sim --https: its CA file (CALLS_CA_FILE) is trusted;
 *                a wrong CA file and the built-in roots are refused at once
 *                (one attempt, TRANSPORT, a message saying how to trust one)
 *   retry        calls-sim answering 503: the backoff's base and cap, and
 *                max_retries kept by calls_client_builder_set_retry_policy
 *   retry_after  calls-sim answering 429 with Retry-After 3600: the cap
 *   settings     calls-sim with data: body cap, user agent, connect timeout
 * The last line printed is "RESULT <passed> <failed>".
 */
#include "check.h"

static const char *const BAD_UTF8 = "\xff\xfe bad";
static const char *const OTHER_CA = "tests/fixtures/other-ca.pem";

/* Counts the log records (one per attempt of each request). */
static void count_attempt(const calls_log_record *r, void *user)
{
    (void)r;
    (*(int *)user)++;
}

/* A builder for the simulator of the environment, counting attempts. */
static calls_client_builder *sim_builder(int *attempts)
{
    calls_client_builder *b = NULL;
    CHECK_RC(calls_client_builder_new(env_or_die("PLIVO_AUTH_ID"), env_or_die("PLIVO_AUTH_TOKEN"), &b),
             CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, env_or_die("PLIVO_API_URL")), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_rate_limit(b, 0, 0), CALLS_RESULT_OK);
    if (attempts)
        CHECK_RC(calls_client_builder_set_log(b, count_attempt, attempts, CALLS_LOG_DEBUG), CALLS_RESULT_OK);
    return b;
}

static calls_client *build_or_die(calls_client_builder *b)
{
    calls_client *c = NULL;
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    if (c == NULL) {
        fprintf(stderr, "cannot build a client: %s\n", calls_last_error_message());
        exit(2);
    }
    return c;
}

/* Builds `b` (consumed) and expects INVALID_ARGUMENT with `needle` in the message. */
static void expect_build_refused(calls_client_builder *b, const char *needle)
{
    calls_client *c = SENTINEL;
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(c == NULL);
    CHECK(strstr(calls_last_error_message(), needle) != NULL);
    if (strstr(calls_last_error_message(), needle) == NULL)
        fprintf(stderr, "  wanted `%s` in the message\n", needle);
}

static calls_client_builder *offline_builder(void)
{
    calls_client_builder *b = NULL;
    CHECK_RC(calls_client_builder_new("MA1", "tok", &b), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_base_url(b, "http://127.0.0.1:1"), CALLS_RESULT_OK);
    return b;
}

/* ------------------------------------------------------------------ offline */

static void test_offline(void)
{
    calls_client_builder *b;
    calls_client *c = NULL;
    char path[64], long_ua[1100];
    FILE *f;

    /* NULL and bad arguments of each setter. */
    CHECK_RC(calls_client_builder_set_ca_file(NULL, OTHER_CA), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_tls_roots(NULL, CALLS_TLS_ROOTS_WEBPKI), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_connect_timeout_ms(NULL, 1000), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_retry_policy(NULL, 1, 2, 3), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_user_agent(NULL, "ua"), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_max_body_bytes(NULL, 4096), CALLS_RESULT_NULL_PARAMETER);
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_ca_file(b, NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK(strstr(calls_last_error_message(), "path") != NULL);
    CHECK_RC(calls_client_builder_set_ca_file(b, BAD_UTF8), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_builder_set_user_agent(b, NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_builder_set_user_agent(b, BAD_UTF8), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_client_builder_set_tls_roots(b, 2), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(calls_last_error_message(), "CALLS_TLS_ROOTS_WEBPKI") != NULL);
    /* Every setter with a good value, and the builder still builds. */
    CHECK_RC(calls_client_builder_set_tls_roots(b, CALLS_TLS_ROOTS_WEBPKI), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_connect_timeout_ms(b, 5000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_retry_policy(b, 50, 2000, 30000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_user_agent(b, "my-app/1.0 (calls tests)"), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_body_bytes(b, 1024), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_ca_file(b, OTHER_CA), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    calls_client_free(c);
    c = NULL;

    /* What build refuses: each setter's value reaches the builder. */
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_ca_file(b, "tests/fixtures/no-such-ca.pem"), CALLS_RESULT_OK);
    expect_build_refused(b, "no-such-ca.pem");
    snprintf(path, sizeof path, "/tmp/calls-test-tls-%ld.pem", (long)getpid());
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not a certificate\n", f);
        fclose(f);
    }
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_ca_file(b, path), CALLS_RESULT_OK);
    expect_build_refused(b, "holds no PEM certificate");
    remove(path);
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_ca_file(b, OTHER_CA), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_tls_roots(b, CALLS_TLS_ROOTS_PLATFORM), CALLS_RESULT_OK);
    expect_build_refused(b, "cannot be combined");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_tls_roots(b, CALLS_TLS_ROOTS_PLATFORM), CALLS_RESULT_OK);
    expect_build_refused(b, "platform-verifier");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_connect_timeout_ms(b, 0), CALLS_RESULT_OK);
    expect_build_refused(b, "timeouts must be longer than zero");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_connect_timeout_ms(b, 86400001), CALLS_RESULT_OK);
    expect_build_refused(b, "connect_timeout must be at most 24 hours");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_retry_policy(b, 86400001, 86400001, 1000), CALLS_RESULT_OK);
    expect_build_refused(b, "retry base must be at most 24 hours");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_retry_policy(b, 1, 86400001, 1000), CALLS_RESULT_OK);
    expect_build_refused(b, "retry max_backoff must be at most 24 hours");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_retry_policy(b, 1, 2, 86400001), CALLS_RESULT_OK);
    expect_build_refused(b, "retry max_retry_after must be at most 24 hours");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_user_agent(b, "app\r\nX-Injected: 1"), CALLS_RESULT_OK);
    expect_build_refused(b, "user agent must be printable ASCII");
    memset(long_ua, 'u', sizeof long_ua - 1);
    long_ua[sizeof long_ua - 1] = '\0';
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_user_agent(b, long_ua), CALLS_RESULT_OK);
    expect_build_refused(b, "user agent is longer than 1024 bytes");
    b = offline_builder();
    CHECK_RC(calls_client_builder_set_max_body_bytes(b, 1023), CALLS_RESULT_OK);
    expect_build_refused(b, "max_body_bytes must be at least 1024");
}

/* A loopback port that accepts TCP connections (the kernel's backlog) but
 * never answers: *fd_out is its socket, to close. */
static unsigned silent_port(int *fd_out)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("silent_port");
        exit(2);
    }
    *fd_out = fd;
    return ntohs(a.sin_port);
}

/* The connect timeout covers the TLS handshake: against a server that never
 * answers the hello it ends the attempt before the 1 s request timeout. */
static void test_connect_timeout(void)
{
    int fd, i;
    char url[64];
    calls_query *q = NULL;
    CHECK_RC(calls_query_new(&q), CALLS_RESULT_OK);
    snprintf(url, sizeof url, "https://127.0.0.1:%u", silent_port(&fd));
    for (i = 0; i < 2; i++) {
        calls_client_builder *b = NULL;
        calls_client *c;
        char *json = SENTINEL;
        CHECK_RC(calls_client_builder_new("MA1", "tok", &b), CALLS_RESULT_OK);
        CHECK_RC(calls_client_builder_set_base_url(b, url), CALLS_RESULT_OK);
        CHECK_RC(calls_client_builder_set_max_retries(b, 0), CALLS_RESULT_OK);
        CHECK_RC(calls_client_builder_set_timeout_ms(b, 1000), CALLS_RESULT_OK);
        if (i == 0)
            CHECK_RC(calls_client_builder_set_connect_timeout_ms(b, 100), CALLS_RESULT_OK);
        c = build_or_die(b);
        CHECK_RC(calls_client_list_page(c, q, 1, 0, &json, NULL), CALLS_RESULT_TIMEOUT);
        CHECK(json == NULL);
        /* 100 ms: the connect timeout; the default 10 s: the request's 1 s. */
        CHECK(strstr(calls_last_error_message(), i == 0 ? "Connect" : "Global") != NULL);
        calls_client_free(c);
    }
    close(fd);
    calls_query_free(q);
}

/* ------------------------------------------------------------------- https */

/* A request to the HTTPS simulator with `ca_file` (NULL: the built-in roots)
 * that must be refused: TRANSPORT, one attempt of the default 5, and the
 * message. */
static void expect_untrusted(const char *ca_file)
{
    int attempts = 0;
    calls_client_builder *b = sim_builder(&attempts);
    calls_client *c;
    calls_query *q = query_since(time(NULL), 5, NULL);
    char *json = SENTINEL;
    const char *m;
    if (ca_file)
        CHECK_RC(calls_client_builder_set_ca_file(b, ca_file), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_TRANSPORT);
    CHECK(json == NULL);
    CHECK(calls_last_http_status() == 0);
    CHECK(attempts == 1);
    m = calls_last_error_message();
    CHECK(strstr(m, "certificate is not trusted") != NULL);
    CHECK(strstr(m, "not retried") != NULL);
    CHECK(strstr(m, "calls_client_builder_set_ca_file") != NULL);
    CHECK(strstr(m, env_or_die("PLIVO_AUTH_TOKEN")) == NULL);
    calls_query_free(q);
    calls_client_free(c);
}

static void test_https(void)
{
    const char *url = env_or_die("PLIVO_API_URL");
    int attempts = 0;
    calls_client_builder *b;
    calls_client *c;
    calls_query *q = query_since(time(NULL), 20, NULL);
    calls_pager *p = NULL;
    calls_call *call = NULL;
    char *json = NULL;
    size_t len = 0;
    long n = 0;
    calls_result rc;

    CHECK(strncmp(url, "https://127.0.0.1:", 18) == 0);
    /* The simulator's CA: a page, then a whole export through a pager. */
    b = sim_builder(&attempts);
    CHECK_RC(calls_client_builder_set_ca_file(b, env_or_die("CALLS_CA_FILE")), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_concurrency(b, 4), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && len > 100 && strstr(json, "\"objects\"") != NULL);
    CHECK(calls_last_http_status() == 200);
    CHECK(attempts == 1);
    calls_string_free(json);
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    while ((rc = calls_pager_next_call(p, &call)) == CALLS_RESULT_OK) {
        n++;
        calls_call_free(call);
        call = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_DONE);
    /* 400 calls over 100 days: a fifth or so in 20 days. */
    CHECK(n > 20 && n < 400);
    calls_pager_free(p);
    calls_client_free(c);
    calls_query_free(q);

    /* Another CA, and none (the built-in roots): refused at once. */
    expect_untrusted(OTHER_CA);
    expect_untrusted(NULL);
}

/* ------------------------------------------------------------------- retry */

static void test_retry(void)
{
    calls_query *q = query_since(time(NULL), 5, NULL);
    calls_client_builder *b;
    calls_client *c;
    char *json = NULL;
    int attempts = 0;

    /* Backoff base and cap of a day: no retry fits in the 20 s deadline, so
     * the request ends after one attempt (the wait is not slept). */
    b = sim_builder(&attempts);
    CHECK_RC(calls_client_builder_set_retry_policy(b, 86400000, 86400000, 1000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_deadline_ms(b, 20000), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_TIMEOUT);
    CHECK(strstr(calls_last_error_message(), "before a retry") != NULL);
    CHECK(attempts == 1);
    calls_client_free(c);

    /* The same base with a cap of 1 ms: every retry is sent, then SERVER. */
    attempts = 0;
    b = sim_builder(&attempts);
    CHECK_RC(calls_client_builder_set_retry_policy(b, 86400000, 1, 1000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_deadline_ms(b, 20000), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_SERVER);
    CHECK(calls_last_http_status() == 503);
    CHECK(attempts == 5);
    calls_client_free(c);

    /* max_retries is kept by set_retry_policy, before or after it. */
    attempts = 0;
    b = sim_builder(&attempts);
    CHECK_RC(calls_client_builder_set_max_retries(b, 1), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_retry_policy(b, 1, 1, 1000), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_SERVER);
    CHECK(attempts == 2);
    calls_client_free(c);
    attempts = 0;
    b = sim_builder(&attempts);
    CHECK_RC(calls_client_builder_set_retry_policy(b, 1, 1, 1000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_retries(b, 2), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_SERVER);
    CHECK(attempts == 3);
    calls_client_free(c);
    calls_query_free(q);
}

/* The integer after `"key":` in a JSON text, or -1. */
static long long json_number(const char *json, const char *key)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = json ? strstr(json, pat) : NULL;
    return p ? atoll(p + strlen(pat)) : -1;
}

static void test_retry_after(void)
{
    calls_query *q = query_since(time(NULL), 5, NULL);
    int attempts = 0;
    calls_client_builder *b = sim_builder(&attempts);
    calls_client *c;
    char *json = NULL, *stats = NULL;
    long long waited;

    /* Retry-After: 3600, cut to 20 ms: two retries, then RATE_LIMITED. */
    CHECK_RC(calls_client_builder_set_max_retries(b, 2), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_retry_policy(b, 1, 5, 20), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_RATE_LIMITED);
    CHECK(calls_last_http_status() == 429);
    CHECK(attempts == 3);
    CHECK_RC(calls_client_stats(c, &stats, NULL), CALLS_RESULT_OK);
    waited = json_number(stats, "waited_retry_after_ms");
    /* Two pauses of 20 ms (not of 3600 s, nor of the default cap of 60 s). */
    CHECK(waited >= 0 && waited < 3000);
    CHECK(json_number(stats, "answered_429") == 3);
    calls_string_free(stats);
    calls_client_free(c);
    calls_query_free(q);
}

/* ---------------------------------------------------------------- settings */

static void test_settings(void)
{
    calls_query *q = query_since(time(NULL), 20, NULL);
    int attempts = 0;
    calls_client_builder *b;
    calls_client *c;
    char *json = SENTINEL, *stats;
    char want[64];

    /* A body cap below one page's size: BAD_RESPONSE of the 200, not retried. */
    b = sim_builder(&attempts);
    CHECK_RC(calls_client_builder_set_max_body_bytes(b, 1024), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_BAD_RESPONSE);
    CHECK(json == NULL);
    CHECK(calls_last_http_status() == 200);
    CHECK(strstr(calls_last_error_message(), "1024") != NULL);
    CHECK(attempts == 1);
    calls_client_free(c);

    /* A user agent and a connect timeout of one's own: requests work. */
    b = sim_builder(NULL);
    CHECK_RC(calls_client_builder_set_user_agent(b, "my-app/1.0 (calls tests)"), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_connect_timeout_ms(b, 5000), CALLS_RESULT_OK);
    CHECK_RC(calls_client_builder_set_max_body_bytes(b, 4 * ONE_MIB), CALLS_RESULT_OK);
    c = build_or_die(b);
    CHECK_RC(calls_client_list_page(c, q, 20, 0, &json, NULL), CALLS_RESULT_OK);
    CHECK(json != NULL && strstr(json, "\"objects\"") != NULL);
    calls_string_free(json);
    calls_client_free(c);
    /* The simulator saw it (its stats keep the last request's User-Agent). */
    stats = sim_get("/_sim/stats");
    CHECK(stats != NULL && strstr(stats, "\"user_agent\":\"my-app/1.0 (calls tests)\"") != NULL);
    free(stats);
    /* And the default, calls/<version>. */
    c = build_or_die(sim_builder(NULL));
    CHECK_RC(calls_client_list_page(c, q, 1, 0, &json, NULL), CALLS_RESULT_OK);
    calls_string_free(json);
    calls_client_free(c);
    snprintf(want, sizeof want, "\"user_agent\":\"calls/%s\"", calls_version());
    stats = sim_get("/_sim/stats");
    CHECK(stats != NULL && strstr(stats, want) != NULL);
    free(stats);
    calls_query_free(q);
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    if (strcmp(s, "offline") == 0) {
        test_offline();
        test_connect_timeout();
    }
    else if (strcmp(s, "https") == 0)
        test_https();
    else if (strcmp(s, "retry") == 0)
        test_retry();
    else if (strcmp(s, "retry_after") == 0)
        test_retry_after();
    else if (strcmp(s, "settings") == 0)
        test_settings();
    else {
        fprintf(stderr, "usage: test_tls offline|https|retry|retry_after|settings\n");
        return 2;
    }
    return check_result();
}
