/*
 * Helpers shared by the C and C++ examples (header-only, C99 and C++17):
 *
 *  - call_text() / call_int64(): one field of a calls_call record (no JSON
 *    parser: calls_call_get and the typed getters);
 *  - dec_sum: exact sums of decimal money strings ("0.00280") in integers;
 *  - apply_filter_flag(): the command-line filter flags shared by every
 *    example, mapped to calls_query_set;
 *  - report(): prints calls_result_str(rc) and calls_last_error_message();
 *  - pager_from_env(): a client from the environment and a pager on it;
 *  - progress_to_stderr(): a pager's progress on one stderr line, when stderr
 *    is a terminal (calls_pager_set_progress).
 *
 * Include it before any system header (it selects POSIX for gmtime_r).
 */
#ifndef CALLS_EXAMPLES_COMMON_H
#define CALLS_EXAMPLES_COMMON_H

#if !defined(__cplusplus) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calls.h"

/* ---------------------------------------------------------------- report */

/* Prints "what: CALLS_RESULT_...: description: last error message". */
static inline void report(const char *what, calls_result rc)
{
    const char *msg = calls_last_error_message();
    fprintf(stderr, "error: %s: %s%s%s\n", what, calls_result_str(rc), *msg ? ": " : "", msg);
}

/*
 * A client from the environment (PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN and
 * PLIVO_API_URL) in *client, and a pager of q on it in *pager: resumed from
 * `checkpoint` when it is not NULL, else new, stopping after `max_items`
 * calls (0: no cap). Returns 0, or -1 after report(); the caller frees
 * *client and *pager either way.
 */
static inline int pager_from_env(const calls_query *q, const char *checkpoint, uint64_t max_items,
                                 calls_client **client, calls_pager **pager)
{
    calls_client_builder *builder = NULL;
    calls_result rc;
    if ((rc = calls_client_builder_from_env(&builder)) != CALLS_RESULT_OK) {
        report("calls_client_builder_from_env", rc);
        return -1;
    }
    rc = calls_client_builder_build(builder, client); /* always consumes builder */
    if (rc != CALLS_RESULT_OK) {
        report("calls_client_builder_build", rc);
        return -1;
    }
    if (checkpoint != NULL) {
        if ((rc = calls_pager_resume(*client, q, checkpoint, pager)) != CALLS_RESULT_OK) {
            report("calls_pager_resume", rc);
            return -1;
        }
    } else if ((rc = calls_pager_new(*client, q, max_items, pager)) != CALLS_RESULT_OK) {
        report("calls_pager_new", rc);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- records */

/* The text of field `name` of `call`, borrowed from it ("" when the record
 * has no such field or it is null); *len (if not NULL) its length. Returns
 * 0, or -1 after report() on an error other than NO_FIELD. */
static inline int call_text(const calls_call *call, const char *name, const char **text, size_t *len)
{
    size_t n = 0;
    calls_result rc = calls_call_get(call, name, text, &n);
    if (rc == CALLS_RESULT_NO_FIELD || (rc == CALLS_RESULT_OK && *text == NULL)) {
        *text = "";
        n = 0;
    } else if (rc != CALLS_RESULT_OK) {
        report(name, rc);
        return -1;
    }
    if (len)
        *len = n;
    return 0;
}

/* An integer field (0 when absent or null). Returns 0, or -1 after report(). */
static inline int call_int64(const calls_call *call, const char *name, int64_t *out)
{
    calls_result rc = calls_call_get_int64(call, name, out);
    if (rc == CALLS_RESULT_OK || rc == CALLS_RESULT_NO_FIELD)
        return 0;
    report(name, rc);
    return -1;
}

/* A top-level unsigned counter of the library's flat stats JSON
 * (calls_pager_stats: "requests", "retries", "windows"...), the first
 * `"name":` of the text; 0 when absent. */
static inline unsigned long long stat_u64(const char *stats, const char *name)
{
    char key[64];
    const char *p;
    snprintf(key, sizeof key, "\"%s\":", name);
    p = stats ? strstr(stats, key) : NULL;
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* ---------------------------------------------------------------- progress */

static inline int progress_line(const calls_progress *p, void *user)
{
    (void)user;
    if (p->total_estimate >= 0)
        fprintf(stderr, "\r%llu of about %lld calls, %llu requests ", (unsigned long long)p->calls,
                (long long)p->total_estimate, (unsigned long long)p->requests);
    else
        fprintf(stderr, "\r%llu calls, %llu requests ", (unsigned long long)p->calls,
                (unsigned long long)p->requests);
    return 0;
}

/* Shows the pager's progress on stderr after every page when stderr is a
 * terminal (call progress_done() after the loop). Returns whether it does. */
static inline int progress_to_stderr(calls_pager *p)
{
    if (!isatty(STDERR_FILENO))
        return 0;
    return calls_pager_set_progress(p, progress_line, NULL) == CALLS_RESULT_OK;
}

/* Ends the progress line, if one was shown. */
static inline void progress_done(int shown)
{
    if (shown)
        fputs("\r\033[K", stderr);
}

/* ---------------------------------------------------------------- money */

/* Fraction digits kept exactly by dec_sum. */
#define DEC_FRAC_DIGITS 15
#define DEC_FRAC_ONE 1000000000000000ULL /* 10^DEC_FRAC_DIGITS */

/* An exact sum of non-negative decimal strings: whole + frac / 10^15. */
typedef struct dec_sum {
    unsigned long long whole;
    unsigned long long frac;
    int digits; /* the most fraction digits seen, for printing */
} dec_sum;

/* Adds "123.4500" to s. Returns 0, or -1 for text that is not a plain
 * non-negative decimal with at most 15 fraction digits, or on overflow. */
static inline int dec_add(dec_sum *s, const char *text)
{
    unsigned long long whole = 0, frac = 0, scale = DEC_FRAC_ONE;
    const char *p = text;
    int digits = 0;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (ULLONG_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (unsigned long long)(*p - '0');
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++digits > DEC_FRAC_DIGITS)
                return -1;
            scale /= 10;
            frac += (unsigned long long)(*p - '0') * scale;
        }
    }
    if (*p != '\0')
        return -1;
    s->frac += frac;
    if (s->frac >= DEC_FRAC_ONE) {
        s->frac -= DEC_FRAC_ONE;
        whole++;
    }
    if (s->whole > ULLONG_MAX - whole)
        return -1;
    s->whole += whole;
    if (digits > s->digits)
        s->digits = digits;
    return 0;
}

/* Writes the sum with as many fraction digits as its inputs had (at least 2). */
static inline void dec_format(const dec_sum *s, char *buf, size_t cap)
{
    char frac[DEC_FRAC_DIGITS + 1];
    int digits = s->digits < 2 ? 2 : s->digits;
    snprintf(frac, sizeof frac, "%015llu", s->frac);
    frac[digits] = '\0';
    snprintf(buf, cap, "%llu.%s", s->whole, frac);
}

/* ---------------------------------------------------------------- flags */

/* The filter flags every example accepts, and the API name each sets. */
static const struct filter_flag {
    const char *flag;
    const char *name;
} FILTER_FLAGS[] = {
    {"--from-number", "from_number"},
    {"--to-number", "to_number"},
    {"--direction", "call_direction"},
    {"--bill-duration", "bill_duration"},
    {"--bill-duration-gt", "bill_duration__gt"},
    {"--bill-duration-gte", "bill_duration__gte"},
    {"--bill-duration-lt", "bill_duration__lt"},
    {"--bill-duration-lte", "bill_duration__lte"},
    {"--end-time", "end_time"},
    {"--end-time-gt", "end_time__gt"},
    {"--end-time-gte", "end_time__gte"},
    {"--end-time-lt", "end_time__lt"},
    {"--end-time-lte", "end_time__lte"},
    {"--hangup-cause-code", "hangup_cause_code"},
    {"--hangup-source", "hangup_source"},
    {"--stir-verification", "stir_verification"},
};

#define FILTER_FLAGS_HELP                                                                   \
    "filters (each may be given once; times are UTC, \"YYYY-MM-DD HH:MM[:SS]\"):\n"          \
    "  --from-number N  --to-number N           digits, a prefix matches\n"                  \
    "  --direction inbound|outbound\n"                                                       \
    "  --bill-duration[-gt|-gte|-lt|-lte] SECS\n"                                            \
    "  --end-time[-gt|-gte|-lt|-lte] TIME\n"                                                 \
    "  --days N                                 end time in [now - N days, now)\n"            \
    "  --hangup-cause-code CODE\n"                                                           \
    "  --hangup-source customer|carrier|zentrunk\n"                                          \
    "  --stir-verification 'Verified'|'Not Verified'|'Not Applicable'\n"                     \
    "environment: PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN, PLIVO_API_URL (optional)\n"

/*
 * Takes the value of flag argv[*i] ("--flag VALUE" or "--flag=VALUE").
 * Returns the value, or NULL when `flag` is not argv[*i] (or its value is
 * missing, which sets *missing).
 */
static inline const char *flag_value(int argc, char **argv, int *i, const char *flag, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(a, flag, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/*
 * Sets the bound `name` of q to time t, "YYYY-MM-DD HH:MM:SS" (UTC), for
 * --days; `which` ("start" or "end") names it when t cannot be written.
 * Returns 0, or -1 after a message (*rc is the result of calls_query_set).
 */
static inline int set_days_bound(calls_query *q, const char *name, time_t t, const char *which, calls_result *rc)
{
    char when[32];
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        fprintf(stderr, "error: --days: cannot compute the %s time\n", which);
        return -1;
    }
    *rc = calls_query_set(q, name, when);
    if (*rc != CALLS_RESULT_OK) {
        report("--days", *rc);
        return -1;
    }
    return 0;
}

/*
 * If argv[*i] is a filter flag, applies it to q and returns 1 (with *rc the
 * result of calls_query_set); returns 0 when it is not one, -1 when its value
 * is missing or bad (a message is printed). `--days N` counts back from `now`
 * (export_csv --resume passes the time the interrupted export started, so
 * that the query, and with it the checkpoint, stays the same).
 */
static inline int apply_filter_flag_at(calls_query *q, int argc, char **argv, int *i, calls_result *rc, time_t now)
{
    size_t k;
    int missing = 0;
    const char *v = NULL;
    for (k = 0; k < sizeof FILTER_FLAGS / sizeof FILTER_FLAGS[0]; k++) {
        v = flag_value(argc, argv, i, FILTER_FLAGS[k].flag, &missing);
        if (missing)
            break;
        if (v != NULL) {
            *rc = calls_query_set(q, FILTER_FLAGS[k].name, v);
            if (*rc != CALLS_RESULT_OK) {
                report(FILTER_FLAGS[k].flag, *rc);
                return -1;
            }
            return 1;
        }
    }
    if (!missing && (v = flag_value(argc, argv, i, "--days", &missing)) != NULL) {
        char *end;
        unsigned long days;
        errno = 0;
        days = strtoul(v, &end, 10);
        if (errno || *end || *v < '0' || *v > '9' || days > 36500) {
            fprintf(stderr, "error: --days: `%s` is not a number of days\n", v);
            return -1;
        }
        /* Both bounds from one instant: [now - N days, now), exactly N days,
         * so 60 days is two 30-day windows (a lower bound alone would end at
         * the pager's own, slightly later "now": a sliver of a third). */
        if (set_days_bound(q, "end_time__gte", now - (time_t)(days * 86400UL), "start", rc) != 0 ||
            set_days_bound(q, "end_time__lt", now, "end", rc) != 0)
            return -1;
        return 1;
    }
    if (missing) {
        fprintf(stderr, "error: %s needs a value\n", argv[*i]);
        return -1;
    }
    return 0;
}

/* apply_filter_flag_at() with `--days` counting back from the current time. */
static inline int apply_filter_flag(calls_query *q, int argc, char **argv, int *i, calls_result *rc)
{
    return apply_filter_flag_at(q, argc, argv, i, rc, time(NULL));
}

/* Parses an unsigned count for --max and similar flags. Returns 0 or -1. */
static inline int parse_count(const char *flag, const char *v, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (errno || *end || *v < '0' || *v > '9') {
        fprintf(stderr, "error: %s: `%s` is not a whole number\n", flag, v);
        return -1;
    }
    return 0;
}

#endif /* CALLS_EXAMPLES_COMMON_H */
