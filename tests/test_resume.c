/*
 * C-level tests of resumable exports: calls_pager_checkpoint and
 * calls_pager_resume.
 *
 *   test_resume SCENARIO
 *
 * `data` needs calls-sim (--calls 400 --seed 11; tests/run_c_tests.sh starts
 * it through scripts/with-sim.sh, which exports PLIVO_AUTH_ID,
 * PLIVO_AUTH_TOKEN and PLIVO_API_URL); `offline` needs none. The last line
 * printed is "RESULT <passed> <failed>"; the exit status is 0 only when
 * nothing failed.
 */
#include "check.h"

static const char *const BAD_UTF8 = "calls-ckpt2.\xff\xfe";

/* ------------------------------------------------------------------ helpers */

/* A client of `url` for account `auth_id` (the simulator's when NULL). */
static calls_client *make_client(const char *auth_id, const char *token, const char *url, int wide_policy)
{
    return test_client(auth_id, token, url, 0, 0, wide_policy);
}

/* The pager's checkpoint (to free with calls_string_free), or NULL. */
static char *checkpoint_of(const calls_pager *p)
{
    char *s = SENTINEL;
    size_t len = 12345;
    CHECK_RC(calls_pager_checkpoint(p, &s, &len), CALLS_RESULT_OK);
    CHECK(s != NULL && len == strlen(s) && strncmp(s, "calls-ckpt2.", 12) == 0);
    return s;
}

/* A copy of s with the byte at `at` changed to another valid hex digit. */
static char *flipped(const char *s, size_t at)
{
    size_t n = strlen(s) + 1;
    char *t = xmalloc(n);
    memcpy(t, s, n);
    t[at] = t[at] == '0' ? '1' : '0';
    return t;
}

/* The uuids of an export, in order. */
typedef struct {
    char (*v)[64];
    size_t len, cap;
} uuids_t;

static void uuids_add(uuids_t *u, const char *json)
{
    const char *p = strstr(json, "\"call_uuid\":\"");
    size_t n;
    if (u->len == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 256;
        u->v = xrealloc(u->v, cap * sizeof *u->v);
        u->cap = cap;
    }
    p = p ? p + 13 : "";
    n = strcspn(p, "\"");
    if (n >= sizeof u->v[0])
        n = sizeof u->v[0] - 1;
    memcpy(u->v[u->len], p, n);
    u->v[u->len][n] = '\0';
    u->len++;
}

/* Takes up to `n` calls (all when n is SIZE_MAX) with calls_pager_next into
 * u; returns the result that stopped it (OK when n were taken). */
static calls_result take(calls_pager *p, size_t n, uuids_t *u)
{
    calls_result rc = CALLS_RESULT_OK;
    char *json = NULL;
    size_t i;
    for (i = 0; i < n; i++) {
        if ((rc = calls_pager_next(p, &json, NULL)) != CALLS_RESULT_OK)
            break;
        uuids_add(u, json);
        calls_string_free(json);
        json = NULL;
    }
    return rc;
}

static int cmp_uuid(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* No uuid twice in u. */
static int all_distinct(const uuids_t *u)
{
    size_t i;
    int ok = 1;
    char(*s)[64] = xmalloc((u->len ? u->len : 1) * sizeof *s);
    memcpy(s, u->v, u->len * sizeof *s);
    qsort(s, u->len, sizeof *s, cmp_uuid);
    for (i = 1; i < u->len; i++) {
        if (strcmp(s[i - 1], s[i]) == 0)
            ok = 0;
    }
    free(s);
    return ok;
}

/* u is exactly `full`, in the same order (and so the same set, no duplicates). */
static int same_export(const uuids_t *u, const uuids_t *full)
{
    size_t i;
    if (u->len != full->len) {
        fprintf(stderr, "  export of %zu calls, want %zu\n", u->len, full->len);
        return 0;
    }
    for (i = 0; i < u->len; i++) {
        if (strcmp(u->v[i], full->v[i]) != 0) {
            fprintf(stderr, "  call %zu is %s, want %s\n", i, u->v[i], full->v[i]);
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ offline */

static void test_offline(void)
{
    char url[64];
    time_t now = time(NULL);
    calls_client *c, *other_account, *other_policy;
    calls_query *q = query_since(now, 20, "inbound"), *other = query_since(now, 20, "outbound");
    calls_query *empty_range = NULL;
    calls_pager *p = NULL, *r = SENTINEL;
    char *cp, *cp2, *s = SENTINEL, *bad, *big;
    size_t len = 99, n;
    static const char *const not_checkpoints[] = {"",
                                                  "   ",
                                                  "calls-ckpt2.",
                                                  "calls-ckpt2.zz.00",
                                                  "hello",
                                                  "calls-ckpt2.7b7d.0000000000000000",
                                                  /* version 1: offsets, refused by name */
                                                  "calls-ckpt1.7b7d.0000000000000000"};

    snprintf(url, sizeof url, "http://127.0.0.1:%u", closed_port());
    c = make_client("MA1", "token", url, 0);
    other_account = make_client("MA2", "token", url, 0);
    other_policy = make_client("MA1", "token", url, 1);

    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);

    /* NULL for every pointer argument; out-parameters cleared on failure. */
    CHECK_RC(calls_pager_checkpoint(NULL, &s, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK(s == NULL && len == 0);
    CHECK(strstr(calls_last_error_message(), "`p`") != NULL && calls_last_http_status() == 0);
    CHECK_RC(calls_pager_checkpoint(p, NULL, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_checkpoint(NULL, NULL, NULL), CALLS_RESULT_NULL_PARAMETER);
    /* len_out may be NULL. */
    CHECK_RC(calls_pager_checkpoint(p, &s, NULL), CALLS_RESULT_OK);
    CHECK(s != NULL && strcmp(calls_last_error_message(), "") == 0);
    calls_string_free(s);

    /* A checkpoint before the first call. */
    cp = checkpoint_of(p);
    CHECK_RC(calls_pager_resume(NULL, q, cp, &r), CALLS_RESULT_NULL_PARAMETER);
    CHECK(r == NULL);
    CHECK(strstr(calls_last_error_message(), "`c`") != NULL);
    r = SENTINEL;
    CHECK_RC(calls_pager_resume(c, NULL, cp, &r), CALLS_RESULT_NULL_PARAMETER);
    CHECK(r == NULL);
    r = SENTINEL;
    CHECK_RC(calls_pager_resume(c, q, NULL, &r), CALLS_RESULT_NULL_PARAMETER);
    CHECK(r == NULL);
    CHECK(strstr(calls_last_error_message(), "checkpoint") != NULL);
    CHECK_RC(calls_pager_resume(c, q, cp, NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_resume(NULL, NULL, NULL, NULL), CALLS_RESULT_NULL_PARAMETER);

    /* Invalid UTF-8. */
    r = SENTINEL;
    CHECK_RC(calls_pager_resume(c, q, BAD_UTF8, &r), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(r == NULL && strstr(calls_last_error_message(), "UTF-8") != NULL);

    /* The right query: a pager whose checkpoint is the same. */
    CHECK_RC(calls_pager_resume(c, q, cp, &r), CALLS_RESULT_OK);
    CHECK(r != NULL && strcmp(calls_last_error_message(), "") == 0);
    cp2 = checkpoint_of(r);
    CHECK(cp != NULL && cp2 != NULL && strcmp(cp, cp2) == 0);
    calls_string_free(cp2);
    calls_pager_free(r);

    /* Another query, account or window policy: VALIDATION. */
    r = SENTINEL;
    CHECK_RC(calls_pager_resume(c, other, cp, &r), CALLS_RESULT_VALIDATION);
    CHECK(r == NULL && strstr(calls_last_error_message(), "another query") != NULL);
    CHECK(calls_last_http_status() == 0);
    CHECK_RC(calls_pager_resume(other_account, q, cp, &r), CALLS_RESULT_VALIDATION);
    CHECK(r == NULL);
    CHECK_RC(calls_pager_resume(other_policy, q, cp, &r), CALLS_RESULT_VALIDATION);
    CHECK(r == NULL && strstr(calls_last_error_message(), "policy") != NULL);
    /* An invalid query is refused as by calls_pager_new. */
    CHECK_RC(calls_query_new(&empty_range), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(empty_range, "end_time__gte", "2026-11-20 00:00"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_set(empty_range, "end_time__lt", "2026-11-10 00:00"), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_resume(c, empty_range, cp, &r), CALLS_RESULT_VALIDATION);
    CHECK(r == NULL);

    /* Tampered: one character flipped, anywhere (payload, integrity check). */
    n = cp ? strlen(cp) : 0;
    if (n > 20) {
        size_t at[4];
        size_t k;
        at[0] = 12;          /* the first payload digit */
        at[1] = n / 2;       /* the middle */
        at[2] = n - 17 - 1;  /* the last payload digit */
        at[3] = n - 1;       /* the integrity check */
        for (k = 0; k < sizeof at / sizeof at[0]; k++) {
            bad = flipped(cp, at[k]);
            r = SENTINEL;
            CHECK_RC(calls_pager_resume(c, q, bad, &r), CALLS_RESULT_VALIDATION);
            CHECK(r == NULL && strstr(calls_last_error_message(), "checkpoint") != NULL);
            free(bad);
        }
        /* Truncated. */
        bad = flipped(cp, 12);
        bad[12] = cp[12];
        bad[n - 3] = '\0';
        CHECK_RC(calls_pager_resume(c, q, bad, &r), CALLS_RESULT_VALIDATION);
        free(bad);
    }
    for (n = 0; n < sizeof not_checkpoints / sizeof not_checkpoints[0]; n++)
        CHECK_RC(calls_pager_resume(c, q, not_checkpoints[n], &r), CALLS_RESULT_VALIDATION);

    /* A very long checkpoint: 1 MiB of hex digits after the prefix. */
    big = xmalloc(ONE_MIB + 32);
    strcpy(big, "calls-ckpt2.");
    memset(big + 12, 'a', ONE_MIB);
    strcpy(big + 12 + ONE_MIB, ".0000000000000000");
    r = SENTINEL;
    CHECK_RC(calls_pager_resume(c, q, big, &r), CALLS_RESULT_VALIDATION);
    CHECK(r == NULL && strlen(calls_last_error_message()) < 1024);
    free(big);

    /* After an error (nothing listens): the checkpoint still works, and a
     * pager resumed from it retries from there (and fails the same way). */
    CHECK_RC(calls_pager_next(p, &s, &len), CALLS_RESULT_TRANSPORT);
    cp2 = checkpoint_of(p);
    CHECK(cp != NULL && cp2 != NULL && strlen(cp2) > 0);
    CHECK_RC(calls_pager_resume(c, q, cp2, &r), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_next(r, &s, &len), CALLS_RESULT_TRANSPORT);
    calls_pager_free(r);
    calls_string_free(cp2);

    /* The pager outlives its client: checkpoint still works, and so does a
     * resume with another client of the account. */
    calls_client_free(c);
    cp2 = checkpoint_of(p);
    CHECK(cp2 != NULL);
    c = make_client("MA1", "token", url, 0);
    r = NULL;
    CHECK_RC(calls_pager_resume(c, q, cp2, &r), CALLS_RESULT_OK);
    calls_client_free(c);
    CHECK_RC(calls_pager_next(r, &s, &len), CALLS_RESULT_TRANSPORT);
    calls_pager_free(r);
    calls_string_free(cp2);

    calls_string_free(cp);
    calls_pager_free(p);
    calls_query_free(q);
    calls_query_free(other);
    calls_query_free(empty_range);
    calls_client_free(other_account);
    calls_client_free(other_policy);
}

/* ------------------------------------------------------------------ data */

/* Takes `first` calls from a new pager (cap `max_items`), checkpoints, frees
 * it, resumes with a pager of another client, takes the rest: the whole is
 * the full export in order. */
static void check_split(const calls_query *q, size_t first, uint64_t max_items, const uuids_t *full)
{
    calls_client *c1 = make_client(NULL, NULL, NULL, 0), *c2 = make_client(NULL, NULL, NULL, 0);
    calls_pager *p = NULL;
    uuids_t got = {NULL, 0, 0};
    char *cp = NULL;
    calls_result rc;
    int failed_before = failed;

    CHECK_RC(calls_pager_new(c1, q, max_items, &p), CALLS_RESULT_OK);
    rc = take(p, first, &got);
    CHECK(rc == CALLS_RESULT_OK || (rc == CALLS_RESULT_DONE && (first >= full->len || max_items > 0)));
    cp = checkpoint_of(p);
    calls_pager_free(p);
    p = NULL;
    /* The first client is gone: the checkpoint is all that is needed. */
    calls_client_free(c1);
    CHECK_RC(calls_pager_resume(c2, q, cp, &p), CALLS_RESULT_OK);
    CHECK_RC(take(p, SIZE_MAX, &got), CALLS_RESULT_DONE);
    CHECK(same_export(&got, full));
    if (failed > failed_before)
        fprintf(stderr, "  (split after %zu calls, max_items %llu)\n", first, (unsigned long long)max_items);
    calls_string_free(cp);
    calls_pager_free(p);
    calls_client_free(c2);
    free(got.v);
}

/* How many calls the simulator holds from `from` to a second from now,
 * asked in chunks of at most 25 days (its range limit is the API's 30);
 * -1 if it did not answer. */
static long sim_count_from(time_t from)
{
    char path[200], lo[48], hi[48], *r, *t;
    time_t until = time(NULL) + 1, a, b;
    struct tm tm;
    long n = 0;
    for (a = from; a < until; a = b) {
        b = a + 25 * 86400 < until ? a + 25 * 86400 : until;
        gmtime_r(&a, &tm);
        strftime(lo, sizeof lo, "%Y-%m-%d%%20%H%%3A%M%%3A%S", &tm);
        gmtime_r(&b, &tm);
        strftime(hi, sizeof hi, "%Y-%m-%d%%20%H%%3A%M%%3A%S", &tm);
        snprintf(path, sizeof path, "/_sim/expected?end_time__gte=%s&end_time__lt=%s", lo, hi);
        r = sim_get(path);
        t = r ? strstr(r, "\"total_count\":") : NULL;
        if (t == NULL) {
            free(r);
            return -1;
        }
        n += strtol(t + 14, NULL, 10);
        free(r);
    }
    return n;
}

static void test_data(void)
{
    time_t now = time(NULL);
    calls_client *c = make_client(NULL, NULL, NULL, 0);
    calls_query *q = query_since(now, 59, NULL); /* two 30-day windows */
    calls_pager *p = NULL, *r = NULL;
    uuids_t full = {NULL, 0, 0}, got = {NULL, 0, 0};
    char *cp = NULL, *cp2 = NULL, *json = NULL;
    size_t splits[] = {0, 1, 19, 20, 21, 57, 0 /* half */, 0 /* n - 1 */, 0 /* n */};
    size_t k, n, len;

    /* The full export, straight. */
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    CHECK_RC(take(p, SIZE_MAX, &full), CALLS_RESULT_DONE);
    n = full.len;
    CHECK(n > 100 && all_distinct(&full));
    /* The straight export is checked against the simulator, not only used
     * as the reference of the resumed ones: as many calls as it holds since
     * the same lower bound (each once: all_distinct above). */
    CHECK(sim_count_from(now - 59 * 86400) == (long)n);
    /* After DONE: a checkpoint that resumes to DONE at once, sending nothing. */
    cp = checkpoint_of(p);
    CHECK_RC(calls_pager_resume(c, q, cp, &r), CALLS_RESULT_OK);
    json = SENTINEL;
    len = 7;
    CHECK_RC(calls_pager_next(r, &json, &len), CALLS_RESULT_DONE);
    CHECK(json == NULL && len == 0);
    CHECK_RC(calls_pager_next_page(r, &json, &len), CALLS_RESULT_DONE);
    CHECK_RC(calls_pager_stats(r, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && strstr(json, "\"requests\":0") != NULL && strstr(json, "\"items\":0") != NULL);
    calls_string_free(json);
    json = NULL;
    /* ...and its own checkpoint is DONE too. */
    cp2 = checkpoint_of(r);
    CHECK(cp != NULL && cp2 != NULL && strcmp(cp, cp2) == 0);
    calls_string_free(cp2);
    calls_string_free(cp);
    calls_pager_free(r);
    calls_pager_free(p);
    r = p = NULL;

    /* Split anywhere: at the start, inside and at the ends of pages, in the
     * second window, one before the end, at the end. */
    splits[6] = n / 2 + 3;
    splits[7] = n - 1;
    splits[8] = n;
    for (k = 0; k < sizeof splits / sizeof splits[0]; k++)
        check_split(q, splits[k], 0, &full);
    /* A pager stopped by max_items resumes without the cap. */
    check_split(q, SIZE_MAX, 30, &full);
    check_split(q, SIZE_MAX, (uint64_t)n / 2 + 1, &full);

    /* next_page mid-page (1 + 19), then a checkpoint. */
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    CHECK_RC(take(p, 1, &got), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_next_page(p, &json, &len), CALLS_RESULT_OK);
    if (json != NULL) {
        const char *at = json;
        while ((at = strstr(at, "\"call_uuid\"")) != NULL) {
            uuids_add(&got, at);
            at += 11;
        }
    }
    calls_string_free(json);
    json = NULL;
    CHECK(got.len == 20);
    cp = checkpoint_of(p);
    calls_pager_free(p);
    p = NULL;
    /* A chain: resume, take 15, checkpoint, resume again, take the rest. */
    CHECK_RC(calls_pager_resume(c, q, cp, &p), CALLS_RESULT_OK);
    calls_string_free(cp);
    CHECK_RC(take(p, 15, &got), CALLS_RESULT_OK);
    cp = checkpoint_of(p);
    calls_pager_free(p);
    p = NULL;
    {
        /* The resumed pager outlives its client. */
        calls_client *c2 = make_client(NULL, NULL, NULL, 0);
        CHECK_RC(calls_pager_resume(c2, q, cp, &p), CALLS_RESULT_OK);
        calls_client_free(c2);
    }
    CHECK_RC(take(p, SIZE_MAX, &got), CALLS_RESULT_DONE);
    CHECK(same_export(&got, &full));
    calls_string_free(cp);
    calls_pager_free(p);
    p = NULL;
    got.len = 0;

    /* After an error: a wrong token (same account id) fails with 401; the
     * checkpoint then resumes with a good client from where it failed. */
    {
        calls_client *bad = make_client(NULL, "wrong-token", NULL, 0);
        CHECK_RC(calls_pager_new(bad, q, 0, &p), CALLS_RESULT_OK);
        CHECK_RC(take(p, 5, &got), CALLS_RESULT_UNAUTHORIZED);
        CHECK(got.len == 0);
        cp = checkpoint_of(p);
        CHECK_RC(calls_pager_resume(c, q, cp, &r), CALLS_RESULT_OK);
        CHECK_RC(take(r, SIZE_MAX, &got), CALLS_RESULT_DONE);
        CHECK(same_export(&got, &full));
        calls_string_free(cp);
        calls_pager_free(r);
        calls_pager_free(p);
        calls_client_free(bad);
        r = p = NULL;
        got.len = 0;
    }

    /* A checkpoint of another query of the same account: VALIDATION. */
    {
        calls_query *outbound = query_since(now, 59, "outbound");
        CHECK_RC(calls_pager_new(c, outbound, 0, &p), CALLS_RESULT_OK);
        CHECK_RC(take(p, 3, &got), CALLS_RESULT_OK);
        cp = checkpoint_of(p);
        r = SENTINEL;
        CHECK_RC(calls_pager_resume(c, q, cp, &r), CALLS_RESULT_VALIDATION);
        CHECK(r == NULL && calls_last_http_status() == 0);
        /* Tampered after the export started: VALIDATION too. */
        if (cp != NULL) {
            char *bad = flipped(cp, strlen(cp) / 3);
            CHECK_RC(calls_pager_resume(c, outbound, bad, &r), CALLS_RESULT_VALIDATION);
            free(bad);
        }
        calls_string_free(cp);
        calls_pager_free(p);
        calls_query_free(outbound);
        p = NULL;
    }

    free(full.v);
    free(got.v);
    calls_query_free(q);
    calls_client_free(c);
}

/* ------------------------------------------------------------------ main */

/* Adds `count` calls that ended within the last `max_age` seconds. */
static void sim_arrive(unsigned count, unsigned max_age)
{
    char path[96];
    char *r;
    snprintf(path, sizeof path, "/_sim/arrive?count=%u&max_age=%u", count, max_age);
    r = sim_get(path);
    CHECK(r != NULL && strncmp(r, "HTTP/1.1 200", 12) == 0);
    free(r);
}

/* How many calls the simulator holds from `since` to a second from now. */
static long sim_count_since(const char *since)
{
    char path[256], until[32], *r, *t;
    long n = -1;
    time_t later = time(NULL) + 1;
    struct tm tm;
    size_t i, k = 0;
    gmtime_r(&later, &tm);
    strftime(until, sizeof until, "%Y-%m-%d%%20%H%%3A%M%%3A%S", &tm);
    snprintf(path, sizeof path, "/_sim/expected?end_time__gte=");
    k = strlen(path);
    for (i = 0; since[i] && k + 4 < sizeof path; i++) {
        if (since[i] == ' ') {
            memcpy(path + k, "%20", 3);
            k += 3;
        } else if (since[i] == ':') {
            memcpy(path + k, "%3A", 3);
            k += 3;
        } else {
            path[k++] = since[i];
        }
    }
    path[k] = '\0';
    snprintf(path + k, sizeof path - k, "&end_time__lt=%s", until);
    r = sim_get(path);
    t = r ? strstr(r, "\"total_count\":") : NULL;
    if (t)
        n = strtol(t + 14, NULL, 10);
    free(r);
    return n;
}

/* A series of sync runs with calls arriving between them: every call once. */
static void test_sync(void)
{
    time_t now = time(NULL);
    calls_client *c = make_client(NULL, NULL, NULL, 0);
    char since[32];
    calls_query *q, *other = query_since(now, 20, "outbound");
    calls_pager *p = NULL, *plain = NULL, *r = SENTINEL;
    uuids_t all = {NULL, 0, 0};
    char *state = NULL, *s = SENTINEL, *stats = NULL;
    size_t len = 99;
    int run;

    days_before(now, 20, since, sizeof since);
    q = query_since(now, 20, NULL);
    /* Before DONE, and for an ordinary pager: no state. */
    CHECK_RC(calls_pager_new(c, q, 0, &plain), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_sync_state(plain, &s, &len), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK(s == NULL);
    calls_pager_free(plain);
    CHECK_RC(calls_pager_sync_state(NULL, &s, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_pager_sync_new(NULL, q, NULL, 0, &r), CALLS_RESULT_NULL_PARAMETER);
    CHECK(r == NULL);
    for (run = 0; run < 5; run++) {
        calls_result rc;
        size_t before = all.len;
        if (run > 0)
            sim_arrive(7, 900);
        CHECK_RC(calls_pager_sync_new(c, q, state, 0, &p), CALLS_RESULT_OK);
        s = SENTINEL;
        CHECK_RC(calls_pager_sync_state(p, &s, &len), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK(s == NULL);
        rc = take(p, SIZE_MAX, &all);
        CHECK_RC(rc, CALLS_RESULT_DONE);
        calls_string_free(state);
        state = NULL;
        CHECK_RC(calls_pager_sync_state(p, &state, &len), CALLS_RESULT_OK);
        CHECK(state != NULL && len == strlen(state) && strncmp(state, "calls-sync1.", 12) == 0);
        CHECK_RC(calls_pager_stats(p, &stats, NULL), CALLS_RESULT_OK);
        if (getenv("TEST_VERBOSE"))
            fprintf(stderr, "sync run %d: %zu calls, stats %s\n", run, all.len - before, stats);
        CHECK(stats != NULL && strstr(stats, "\"already_delivered\":") != NULL);
        calls_string_free(stats);
        stats = NULL;
        if (run > 0)
            CHECK(all.len - before == 7);
        calls_pager_free(p);
        p = NULL;
    }
    CHECK(all.len > 50 && all_distinct(&all));
    CHECK((long)all.len == sim_count_since(since));
    /* Another query's filters, an edited state: VALIDATION; not UTF-8: INVALID_ARGUMENT. */
    r = SENTINEL;
    CHECK_RC(calls_pager_sync_new(c, other, state, 0, &r), CALLS_RESULT_VALIDATION);
    CHECK(r == NULL && strstr(calls_last_error_message(), "other filters") != NULL);
    if (state) {
        char *bad = flipped(state, strlen(state) / 2);
        CHECK_RC(calls_pager_sync_new(c, q, bad, 0, &r), CALLS_RESULT_VALIDATION);
        free(bad);
    }
    CHECK_RC(calls_pager_sync_new(c, q, BAD_UTF8, 0, &r), CALLS_RESULT_INVALID_ARGUMENT);
    calls_string_free(state);
    free(all.v);
    calls_query_free(q);
    calls_query_free(other);
    calls_client_free(c);
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    if (strcmp(s, "offline") == 0) {
        test_offline();
    } else if (strcmp(s, "data") == 0) { /* --calls 400 --seed 11 */
        test_data();
    } else if (strcmp(s, "sync") == 0) { /* --calls 400 --seed 11 */
        test_sync();
    } else {
        fprintf(stderr, "usage: test_resume offline|data|sync\n");
        return 2;
    }
    return check_result();
}
