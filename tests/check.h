/*
 * The small test framework of the C-level tests (test_calls.c, test_resume.c):
 * CHECK / CHECK_RC and their counters, SETUP_RC (a set-up step: counted only
 * when it fails), SENTINEL, check_result(), and the
 * helpers both programs use (a client of calls-sim, a query of the last N
 * days, a closed loopback port, allocation that exits on failure).
 *
 * Each test program is one .c file that includes this header once, first
 * (it selects POSIX for gmtime_r): the counters `passed` and `failed` are
 * that program's own.
 */
#ifndef CALLS_TESTS_CHECK_H
#define CALLS_TESTS_CHECK_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "calls.h"

static int passed, failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, \
                    calls_last_error_message());                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        calls_result rc_ = (expr);                                                                 \
        if (rc_ == (calls_result)(want)) {                                                         \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "%s:%d: %s\n  = %u (%s), want %s; last error: %s\n", __FILE__,         \
                    __LINE__, #expr, (unsigned)rc_, calls_result_str(rc_), #want,                  \
                    calls_last_error_message());                                                   \
        }                                                                                          \
    } while (0)

/* A set-up step (building the client or the query a test needs): a failure
 * counts as a failed check, a success is not a check (it tests nothing the
 * dedicated tests of those functions do not). */
#define SETUP_RC(expr, want)                                                                       \
    do {                                                                                           \
        calls_result rc_ = (expr);                                                                 \
        if (rc_ != (calls_result)(want)) {                                                         \
            failed++;                                                                              \
            fprintf(stderr, "%s:%d: set-up step %s\n  = %u (%s), want %s; last error: %s\n",        \
                    __FILE__, __LINE__, #expr, (unsigned)rc_, calls_result_str(rc_), #want,        \
                    calls_last_error_message());                                                   \
        }                                                                                          \
    } while (0)

/* A non-NULL pointer value that is never dereferenced: out-parameters must be
 * overwritten with NULL on failure. */
#define SENTINEL ((void *)&passed)

#define ONE_MIB ((size_t)1024 * 1024)

/* Prints the last line, "RESULT <passed> <failed>", and returns the exit
 * status: 0 only when nothing failed. */
static inline int check_result(void)
{
    printf("RESULT %d %d\n", passed, failed);
    return failed ? 1 : 0;
}

/* malloc / realloc that exit with status 2 when out of memory. */
static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        perror("malloc");
        exit(2);
    }
    return p;
}

static inline void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        perror("realloc");
        exit(2);
    }
    return p;
}

static inline const char *env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "%s is not set: run this scenario through scripts/with-sim.sh\n", name);
        exit(2);
    }
    return v;
}

/* A client of `url` for account `auth_id` with `token` (each, when NULL, the
 * simulator's from the environment), with `max_retries`, a timeout when
 * `timeout_ms` is not 0, and the 30/90/90 window policy when `wide_policy`. */
static inline calls_client *test_client(const char *auth_id, const char *token, const char *url,
                                        uint32_t max_retries, uint32_t timeout_ms, int wide_policy)
{
    calls_client_builder *b = NULL;
    calls_client *c = NULL;
    SETUP_RC(calls_client_builder_new(auth_id ? auth_id : env_or_die("PLIVO_AUTH_ID"),
                                      token ? token : env_or_die("PLIVO_AUTH_TOKEN"), &b),
             CALLS_RESULT_OK);
    SETUP_RC(calls_client_builder_set_base_url(b, url ? url : env_or_die("PLIVO_API_URL")), CALLS_RESULT_OK);
    SETUP_RC(calls_client_builder_set_max_retries(b, max_retries), CALLS_RESULT_OK);
    if (timeout_ms)
        SETUP_RC(calls_client_builder_set_timeout_ms(b, timeout_ms), CALLS_RESULT_OK);
    if (wide_policy)
        SETUP_RC(calls_client_builder_set_window_policy(b, 30, 90, 90), CALLS_RESULT_OK);
    SETUP_RC(calls_client_builder_build(b, &c), CALLS_RESULT_OK);
    if (c == NULL) {
        fprintf(stderr, "cannot build a client: %s\n", calls_last_error_message());
        exit(2);
    }
    return c;
}

/* "YYYY-MM-DD HH:MM:SS" (UTC) for `days` days before `now`. */
static inline void days_before(time_t now, int days, char *buf, size_t cap)
{
    time_t t = now - (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

/* A query of the last `days` days before `now`, optionally one direction. */
static inline calls_query *query_since(time_t now, int days, const char *direction)
{
    calls_query *q = NULL;
    char when[32];
    days_before(now, days, when, sizeof when);
    SETUP_RC(calls_query_new(&q), CALLS_RESULT_OK);
    SETUP_RC(calls_query_set(q, "end_time__gte", when), CALLS_RESULT_OK);
    if (direction)
        SETUP_RC(calls_query_set(q, "call_direction", direction), CALLS_RESULT_OK);
    return q;
}

/* A loopback port nothing listens on: bind port 0, read it, close. */
static inline unsigned closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("closed_port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* GET `path` from the simulator of PLIVO_API_URL (`http://127.0.0.1:PORT`)
 * with `header` ("Name: value", or NULL) among the request's headers;
 * returns the whole response (status line, headers, body) to free, or NULL. */
static inline char *sim_request(const char *path, const char *header)
{
    const char *url = env_or_die("PLIVO_API_URL");
    const char *colon = strrchr(url, ':');
    struct sockaddr_in a;
    char req[1024];
    char *out = NULL;
    size_t len = 0, cap = 0;
    int fd, n;
    if (colon == NULL || strncmp(url, "http://127.0.0.1:", 17) != 0)
        return NULL;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)atoi(colon + 1));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%sConnection: close\r\n\r\n",
                 path, header ? header : "", header ? "\r\n" : "");
    if (n <= 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t got;
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            out = xrealloc(out, cap + 1);
        }
        got = read(fd, out + len, cap - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (out)
        out[len] = '\0';
    return out;
}

/* GET `path` from the simulator (its control endpoints need no auth);
 * returns the whole response to free, or NULL. */
static inline char *sim_get(const char *path)
{
    return sim_request(path, NULL);
}

#endif /* CALLS_TESTS_CHECK_H */
