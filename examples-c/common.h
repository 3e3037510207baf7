/*
 * Helpers shared by the C and C++ examples (header-only, C99 and C++17):
 *
 *  - fj_get(): a tiny extractor for the flat string/number fields of one JSON
 *    object (the call objects calls_pager_next returns), no JSON library;
 *  - dec_sum: exact sums of decimal money strings ("0.00280") in integers;
 *  - apply_filter_flag(): the command-line filter flags shared by every
 *    example, mapped to calls_query_set;
 *  - report(): prints calls_result_str(rc) and calls_last_error_message();
 *  - pager_from_env(): a client from the environment and a pager on it.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---------------------------------------------------------------- JSON */

static inline const char *fj_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static inline int fj_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Appends byte c to out (capacity cap, length *n); -1 when it does not fit. */
static inline int fj_put(char *out, size_t cap, size_t *n, char c)
{
    if (out == NULL)
        return 0; /* skipping */
    if (*n + 1 >= cap)
        return -1;
    out[(*n)++] = c;
    return 0;
}

/*
 * Reads the JSON string starting at *pp (on its opening quote), unescaped into
 * out (NUL-terminated; out may be NULL to skip). Advances *pp past the closing
 * quote. Returns 0, or -1 when malformed or too long for cap.
 */
static inline int fj_string(const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;
    if (*p != '"')
        return -1;
    p++;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c == '\0')
            return -1;
        if (c != '\\') {
            if (fj_put(out, cap, &n, (char)c))
                return -1;
            p++;
            continue;
        }
        p++;
        switch (*p) {
        case '"': case '\\': case '/':
            if (fj_put(out, cap, &n, *p)) return -1;
            break;
        case 'b': if (fj_put(out, cap, &n, '\b')) return -1; break;
        case 'f': if (fj_put(out, cap, &n, '\f')) return -1; break;
        case 'n': if (fj_put(out, cap, &n, '\n')) return -1; break;
        case 'r': if (fj_put(out, cap, &n, '\r')) return -1; break;
        case 't': if (fj_put(out, cap, &n, '\t')) return -1; break;
        case 'u': {
            unsigned cp, lo;
            if (fj_hex4(p + 1, &cp))
                return -1;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
                if (p[1] != '\\' || p[2] != 'u' || fj_hex4(p + 3, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (cp < 0x80) {
                if (fj_put(out, cap, &n, (char)cp)) return -1;
            } else if (cp < 0x800) {
                if (fj_put(out, cap, &n, (char)(0xC0 | (cp >> 6))) ||
                    fj_put(out, cap, &n, (char)(0x80 | (cp & 0x3F))))
                    return -1;
            } else if (cp < 0x10000) {
                if (fj_put(out, cap, &n, (char)(0xE0 | (cp >> 12))) ||
                    fj_put(out, cap, &n, (char)(0x80 | ((cp >> 6) & 0x3F))) ||
                    fj_put(out, cap, &n, (char)(0x80 | (cp & 0x3F))))
                    return -1;
            } else {
                if (fj_put(out, cap, &n, (char)(0xF0 | (cp >> 18))) ||
                    fj_put(out, cap, &n, (char)(0x80 | ((cp >> 12) & 0x3F))) ||
                    fj_put(out, cap, &n, (char)(0x80 | ((cp >> 6) & 0x3F))) ||
                    fj_put(out, cap, &n, (char)(0x80 | (cp & 0x3F))))
                    return -1;
            }
            break;
        }
        default:
            return -1;
        }
        p++;
    }
    if (out != NULL)
        out[n] = '\0';
    *pp = p + 1;
    return 0;
}

/* Skips one JSON value of any kind at *pp. Returns 0 or -1. */
static inline int fj_skip(const char **pp)
{
    const char *p = fj_ws(*pp);
    int depth = 0;
    do {
        p = fj_ws(p);
        if (*p == '"') {
            if (fj_string(&p, NULL, 0))
                return -1;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0)
                return -1;
            depth--;
            p++;
        } else if (*p == ',' || *p == ':') {
            if (depth == 0)
                return -1;
            p++;
        } else if (*p == '\0') {
            return -1;
        } else { /* a number or literal */
            while (*p && strchr(",}] \t\r\n", *p) == NULL)
                p++;
        }
    } while (depth > 0);
    *pp = p;
    return 0;
}

/*
 * Finds the top-level field `key` of the JSON object `obj` and copies its
 * value into out (capacity cap): strings unescaped, numbers and true/false as
 * written. Returns 1 when found, 0 when absent or null (out = ""), -1 when
 * the JSON is malformed or the value does not fit.
 */
static inline int fj_get(const char *obj, const char *key, char *out, size_t cap)
{
    const char *p = fj_ws(obj);
    char name[128];
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (*p != '{')
        return -1;
    p = fj_ws(p + 1);
    if (*p == '}')
        return 0;
    for (;;) {
        int wanted;
        if (fj_string(&p, name, sizeof name))
            return -1;
        wanted = strcmp(name, key) == 0;
        p = fj_ws(p);
        if (*p != ':')
            return -1;
        p = fj_ws(p + 1);
        if (wanted) {
            if (*p == '"')
                return fj_string(&p, out, cap) ? -1 : 1;
            if (*p == '{' || *p == '[')
                return -1; /* not a flat field */
            if (strncmp(p, "null", 4) == 0)
                return 0;
            {
                size_t n = 0;
                while (*p && strchr(",} \t\r\n", *p) == NULL) {
                    if (fj_put(out, cap, &n, *p++))
                        return -1;
                }
                out[n] = '\0';
                return n > 0 ? 1 : -1;
            }
        }
        if (fj_skip(&p))
            return -1;
        p = fj_ws(p);
        if (*p == ',') {
            p = fj_ws(p + 1);
            continue;
        }
        return *p == '}' ? 0 : -1;
    }
}

/* An unsigned integer field (0 when absent). Returns 0, or -1 when malformed. */
static inline int fj_get_u64(const char *obj, const char *key, unsigned long long *out)
{
    char buf[32];
    char *end;
    int r = fj_get(obj, key, buf, sizeof buf);
    *out = 0;
    if (r == 0)
        return 0;
    if (r < 0 || buf[0] < '0' || buf[0] > '9')
        return -1;
    errno = 0;
    *out = strtoull(buf, &end, 10);
    return (errno || *end) ? -1 : 0;
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
