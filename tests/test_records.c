/*
 * C-level tests of the call records (issue 14): calls_pager_next_call,
 * calls_call_get / field_count / field_at / json, the typed getters and
 * calls_client_get_call.
 *
 *   test_records offline   no simulator: NULLs, bad uuids (nothing sent)
 *   test_records data      against calls-sim (--calls 400 --seed 11): every
 *                          value is checked against the raw JSON the
 *                          simulator serves for that call, fetched here
 *                          with its own HTTP request, and the list of calls
 *                          against its /_sim/expected
 *   test_records odd       against calls-sim --odd-fields: a 199-byte field
 *                          name, escapes, a NUL inside a value, nesting, null
 *
 * Run by tests/run_c_tests.sh plain, under ASan+UBSan and under valgrind.
 */
#include "check.h"

#define SIM_BASIC "TUFTSU1VTEFUT1IwMDAwMDAwMDE6c2ltdWxhdG9yLXRva2Vu"

/* GET `path` from the simulator with its credentials (Basic); the body of a
 * 200 answer to free, or NULL. */
static char *sim_get_authed(const char *path, int *status)
{
    char *out, *body;
    *status = 0;
    out = sim_request(path, "Authorization: Basic " SIM_BASIC);
    if (out == NULL)
        return NULL;
    if (strncmp(out, "HTTP/1.1 ", 9) == 0)
        *status = atoi(out + 9);
    body = strstr(out, "\r\n\r\n");
    if (body == NULL) {
        free(out);
        return NULL;
    }
    memmove(out, body + 4, strlen(body + 4) + 1);
    return out;
}

/* The raw text of top-level field `name` in the simulator's compact JSON
 * `raw` (its strings hold no escapes): a string without its quotes, other
 * values as written. 0 when absent. */
static int raw_field(const char *raw, const char *name, char *buf, size_t cap, int *is_string)
{
    char key[160];
    const char *p, *e;
    snprintf(key, sizeof key, "\"%s\":", name);
    p = strstr(raw, key);
    if (p == NULL)
        return 0;
    p += strlen(key);
    *is_string = *p == '"';
    if (*is_string) {
        p++;
        e = strchr(p, '"');
    } else {
        e = p + strcspn(p, ",}");
    }
    if (e == NULL || (size_t)(e - p) >= cap)
        return 0;
    memcpy(buf, p, (size_t)(e - p));
    buf[e - p] = '\0';
    return 1;
}

/* A model of micro-units: "I.FFFFF" (the simulator's 5 decimals). */
static long long model_micros(const char *dec)
{
    long long whole = 0, frac = 0;
    int digits = 0;
    const char *p = dec;
    while (*p >= '0' && *p <= '9')
        whole = whole * 10 + (*p++ - '0');
    if (*p == '.')
        p++;
    while (*p >= '0' && *p <= '9' && digits < 6) {
        frac = frac * 10 + (*p++ - '0');
        digits++;
    }
    while (digits++ < 6)
        frac *= 10;
    return whole * 1000000 + frac;
}

/* A model of Unix microseconds: "YYYY-MM-DD HH:MM:SS" in UTC (days from
 * the civil date, Howard Hinnant's algorithm). */
static long long model_us(const char *ts)
{
    int y, m, d, hh, mm, ss;
    long long era, yoe, doy, doe, days;
    if (sscanf(ts, "%d-%d-%d %d:%d:%d", &y, &m, &d, &hh, &mm, &ss) != 6)
        return -1;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;
    return ((days * 86400) + hh * 3600 + mm * 60 + ss) * 1000000LL;
}

static calls_client *records_client(void)
{
    return test_client(NULL, NULL, NULL, 1, 0, 1);
}

static void test_offline(void)
{
    calls_client *c = test_client("MA0000000000000000AA", "token", "http://127.0.0.1:9", 0, 0, 0);
    calls_call *call = SENTINEL;
    calls_pager *p = NULL;
    calls_query *q = NULL;
    const char *v = SENTINEL, *name = SENTINEL;
    size_t len = 99;
    int64_t i = 99;
    int b = 99;
    char url[64], *s = NULL;

    CHECK(strncmp(calls_result_str(CALLS_RESULT_NO_FIELD), "CALLS_RESULT_NO_FIELD", 21) == 0);
    CHECK(CALLS_RESULT_NO_FIELD == 103);

    /* NULL handles and out-parameters: NULL_PARAMETER, outs cleared. */
    calls_call_free(NULL);
    CHECK(calls_call_field_count(NULL) == 0);
    CHECK_RC(calls_call_get(NULL, "call_uuid", &v, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK(v == NULL && len == 0);
    CHECK_RC(calls_call_get(NULL, "call_uuid", NULL, NULL), CALLS_RESULT_NULL_PARAMETER);
    name = SENTINEL, v = SENTINEL, len = 99;
    CHECK_RC(calls_call_field_at(NULL, 0, &name, &v, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK(name == NULL && v == NULL && len == 0);
    v = SENTINEL, len = 99;
    CHECK_RC(calls_call_json(NULL, &v, &len), CALLS_RESULT_NULL_PARAMETER);
    CHECK(v == NULL && len == 0);
    CHECK_RC(calls_call_get_int64(NULL, "bill_duration", &i), CALLS_RESULT_NULL_PARAMETER);
    CHECK(i == 0);
    i = 99;
    CHECK_RC(calls_call_get_time_us(NULL, "end_time", &i), CALLS_RESULT_NULL_PARAMETER);
    CHECK(i == 0);
    CHECK_RC(calls_call_get_bool(NULL, "srtp", &b), CALLS_RESULT_NULL_PARAMETER);
    CHECK(b == 0);
    v = SENTINEL;
    CHECK_RC(calls_call_get_money(NULL, "total_amount", &v, NULL), CALLS_RESULT_NULL_PARAMETER);
    CHECK(v == NULL);
    i = 99;
    CHECK_RC(calls_call_get_money_micros(NULL, "total_amount", &i), CALLS_RESULT_NULL_PARAMETER);
    CHECK(i == 0);
    CHECK_RC(calls_pager_next_call(NULL, &call), CALLS_RESULT_NULL_PARAMETER);
    CHECK(call == NULL);
    CHECK_RC(calls_pager_next_call(NULL, NULL), CALLS_RESULT_NULL_PARAMETER);

    /* get_call: NULLs, then uuids that are not uuids: VALIDATION, nothing
     * sent (the client points at a closed port: a request would be
     * TRANSPORT), status 0. */
    call = SENTINEL;
    CHECK_RC(calls_client_get_call(NULL, "0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856f", &call),
             CALLS_RESULT_NULL_PARAMETER);
    CHECK(call == NULL);
    CHECK_RC(calls_client_get_call(c, NULL, &call), CALLS_RESULT_NULL_PARAMETER);
    CHECK_RC(calls_client_get_call(c, "0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856f", NULL),
             CALLS_RESULT_NULL_PARAMETER);
    calls_client_free(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", closed_port());
    c = test_client("MA0000000000000000AA", "token", url, 0, 500, 0);
    {
        static const char *const bad[] = {
            "", "0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856", "0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856f0",
            "0d8aa0f3x4cb6-4f86-ab24-3d1ed24f856f", "0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856g",
            "../../../../Account/x/", "0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856f?x=1",
            "0d8aa0f34cb64f86ab243d1ed24f856f",
        };
        size_t k;
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            call = SENTINEL;
            CHECK_RC(calls_client_get_call(c, bad[k], &call), CALLS_RESULT_VALIDATION);
            CHECK(call == NULL && calls_last_http_status() == 0);
            CHECK(strstr(calls_last_error_message(), "uuid") != NULL);
        }
    }
    CHECK_RC(calls_client_get_call(c, "\xff\xfe", &call), CALLS_RESULT_INVALID_ARGUMENT);
    /* A real uuid is sent: the closed port answers TRANSPORT. */
    CHECK_RC(calls_client_get_call(c, "0D8AA0F3-4CB6-4F86-AB24-3D1ED24F856F", &call), CALLS_RESULT_TRANSPORT);
    CHECK(call == NULL);
    /* A pager that fails: next_call gives the error and NULL, sticky. */
    CHECK_RC(calls_query_new(&q), CALLS_RESULT_OK);
    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    call = SENTINEL;
    CHECK_RC(calls_pager_next_call(p, &call), CALLS_RESULT_TRANSPORT);
    CHECK(call == NULL);
    CHECK_RC(calls_pager_next_call(p, &call), CALLS_RESULT_TRANSPORT);
    calls_pager_free(p);

    /* A string the caller modified (NUL bytes written inside) frees safely:
     * ASan and valgrind check the free. */
    CHECK_RC(calls_query_set(q, "call_direction", "outbound"), CALLS_RESULT_OK);
    CHECK_RC(calls_query_to_string(q, &s, &len), CALLS_RESULT_OK);
    CHECK(s != NULL && len > 4);
    if (s != NULL && len > 4) {
        s[1] = '\0';
        s[len / 2] = '\0';
        s[0] = 'x';
    }
    calls_string_free(s);
    calls_query_free(q);
    calls_client_free(c);
}

/* Every field of `call` against the simulator's raw JSON for it. */
static void check_against_raw(const calls_call *call, const char *raw)
{
    size_t n = calls_call_field_count(call), k, len;
    const char *name, *v, *last = raw;
    char want[512];
    int is_string;
    int64_t i;
    int b;

    CHECK(n >= 20);
    for (k = 0; k < n; k++) {
        char key[160];
        const char *at;
        CHECK_RC(calls_call_field_at(call, k, &name, &v, &len), CALLS_RESULT_OK);
        if (name == NULL)
            continue;
        /* In the order the simulator sent them. */
        snprintf(key, sizeof key, "\"%s\":", name);
        at = strstr(raw, key);
        if (at == NULL || at < last) {
            fprintf(stderr, "field %s is out of the order received\n", name);
            CHECK(!"fields in the order received");
        }
        last = at ? at : last;
        if (!raw_field(raw, name, want, sizeof want, &is_string)) {
            fprintf(stderr, "field %s is not in the raw record\n", name);
            CHECK(!"every field comes from the raw record");
            continue;
        }
        if (strcmp(want, "null") == 0 && !is_string) {
            CHECK(v == NULL && len == 0);
        } else {
            CHECK(v != NULL && len == strlen(want) && strcmp(v, want) == 0);
            if (v == NULL || strcmp(v, want) != 0)
                fprintf(stderr, "  %s = %s, raw %s\n", name, v ? v : "(null)", want);
        }
        /* The same through calls_call_get. */
        {
            const char *g = SENTINEL;
            size_t glen = 99;
            CHECK_RC(calls_call_get(call, name, &g, &glen), CALLS_RESULT_OK);
            CHECK(g == v && glen == len);
        }
    }
    /* A field the library does not model reads like any other. */
    CHECK(raw_field(raw, "call_id", want, sizeof want, &is_string) && is_string);
    CHECK_RC(calls_call_get(call, "call_id", &v, &len), CALLS_RESULT_OK);
    CHECK(v != NULL && strcmp(v, want) == 0);
    CHECK(raw_field(raw, "cnam_lookup_rate", want, sizeof want, &is_string));
    CHECK_RC(calls_call_get_money(call, "cnam_lookup_rate", &v, &len), CALLS_RESULT_OK);
    CHECK(v != NULL && strcmp(v, want) == 0);

    /* Typed getters against models of the raw text. */
    CHECK(raw_field(raw, "bill_duration", want, sizeof want, &is_string) && !is_string);
    CHECK_RC(calls_call_get_int64(call, "bill_duration", &i), CALLS_RESULT_OK);
    CHECK(i == strtoll(want, NULL, 10));
    CHECK(raw_field(raw, "hangup_cause_code", want, sizeof want, &is_string));
    CHECK_RC(calls_call_get_int64(call, "hangup_cause_code", &i), CALLS_RESULT_OK);
    CHECK(i == strtoll(want, NULL, 10));
    CHECK(raw_field(raw, "end_time", want, sizeof want, &is_string) && is_string);
    CHECK_RC(calls_call_get_time_us(call, "end_time", &i), CALLS_RESULT_OK);
    CHECK(i == model_us(want) && i > 1600000000LL * 1000000);
    CHECK(raw_field(raw, "initiation_time", want, sizeof want, &is_string));
    CHECK_RC(calls_call_get_time_us(call, "initiation_time", &i), CALLS_RESULT_OK);
    CHECK(i == model_us(want));
    CHECK(raw_field(raw, "total_amount", want, sizeof want, &is_string) && is_string);
    CHECK_RC(calls_call_get_money(call, "total_amount", &v, &len), CALLS_RESULT_OK);
    CHECK(v != NULL && strcmp(v, want) == 0 && len == strlen(want));
    CHECK_RC(calls_call_get_money_micros(call, "total_amount", &i), CALLS_RESULT_OK);
    CHECK(i == model_micros(want));
    CHECK(raw_field(raw, "total_rate", want, sizeof want, &is_string));
    CHECK_RC(calls_call_get_money_micros(call, "total_rate", &i), CALLS_RESULT_OK);
    CHECK(i == model_micros(want));
    CHECK(raw_field(raw, "srtp", want, sizeof want, &is_string) && !is_string);
    CHECK_RC(calls_call_get_bool(call, "srtp", &b), CALLS_RESULT_OK);
    CHECK(b == (strcmp(want, "true") == 0));
    CHECK(raw_field(raw, "cnam_lookup", want, sizeof want, &is_string));
    CHECK_RC(calls_call_get_bool(call, "cnam_lookup", &b), CALLS_RESULT_OK);
    CHECK(b == (strcmp(want, "true") == 0));
}

/* The uuid of a record (borrowed). */
static const char *uuid_of(const calls_call *call)
{
    const char *v = NULL;
    if (calls_call_get(call, "call_uuid", &v, NULL) != CALLS_RESULT_OK)
        return "";
    return v ? v : "";
}

static void test_records_data(void)
{
    calls_client *c = records_client();
    time_t now = time(NULL);
    calls_query *q = query_since(now, 20, NULL);
    calls_pager *p = NULL;
    calls_call *call = NULL, *one = NULL, *first = NULL, *unanswered = NULL;
    calls_result rc;
    const char *v, *name, *json = NULL, *json2 = NULL;
    char path[256], since[32], *expected, *raw;
    size_t len = 0, n = 0, checked = 0, len2;
    int64_t i;
    int b, status;
    long want_count = -1;

    /* The calls the simulator will serve for this query. */
    days_before(now, 20, since, sizeof since); /* "YYYY-MM-DD HH:MM:SS" */
    snprintf(path, sizeof path, "/_sim/expected?end_time__gte=%.10s%%20%.2s%%3A%.2s%%3A%.2s", since,
             since + 11, since + 14, since + 17);
    expected = sim_get(path);
    CHECK(expected != NULL && strstr(expected, "\"total_count\":") != NULL);
    if (expected && strstr(expected, "\"total_count\":"))
        want_count = strtol(strstr(expected, "\"total_count\":") + 14, NULL, 10);
    CHECK(want_count > 50);

    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    while ((rc = calls_pager_next_call(p, &call)) == CALLS_RESULT_OK) {
        char quoted[64];
        n++;
        CHECK(call != NULL);
        snprintf(quoted, sizeof quoted, "\"%s\"", uuid_of(call));
        if (expected == NULL || strstr(expected, quoted) == NULL)
            CHECK(!"every call is one the simulator expects");
        /* answer_time: null exactly when the getter says there is none. */
        v = SENTINEL;
        CHECK_RC(calls_call_get(call, "answer_time", &v, &len), CALLS_RESULT_OK);
        rc = calls_call_get_time_us(call, "answer_time", &i);
        if (v == NULL) {
            if (rc != CALLS_RESULT_NO_FIELD || i != 0)
                CHECK(!"a null answer_time is NO_FIELD for the typed getter");
            if (unanswered == NULL) {
                unanswered = call;
                call = NULL;
            }
        } else if (rc != CALLS_RESULT_OK || i <= 0) {
            CHECK(!"an answer_time reads as microseconds");
        }
        if (call != NULL && first == NULL) {
            first = call;
            call = NULL;
        }
        if (call != NULL && checked < 3) {
            /* Three more against their raw JSON. */
            snprintf(path, sizeof path, "/v1/Account/MASIMULATOR000000001/Zentrunk/Call/%s/", uuid_of(call));
            raw = sim_get_authed(path, &status);
            CHECK(raw != NULL && status == 200);
            if (raw)
                check_against_raw(call, raw);
            free(raw);
            checked++;
        }
        calls_call_free(call);
        call = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_DONE);
    CHECK(call == NULL);
    CHECK((long)n == want_count);
    CHECK(checked == 3 && first != NULL && unanswered != NULL);
    /* DONE stays DONE; the records outlive their pager. */
    call = SENTINEL;
    CHECK_RC(calls_pager_next_call(p, &call), CALLS_RESULT_DONE);
    CHECK(call == NULL);
    calls_pager_free(p);
    free(expected);

    if (first != NULL) {
        snprintf(path, sizeof path, "/v1/Account/MASIMULATOR000000001/Zentrunk/Call/%s/", uuid_of(first));
        raw = sim_get_authed(path, &status);
        CHECK(raw != NULL && status == 200);
        if (raw)
            check_against_raw(first, raw);
        free(raw);

        /* get_call: the same record as the pager's. */
        CHECK_RC(calls_client_get_call(c, uuid_of(first), &one), CALLS_RESULT_OK);
        CHECK(one != NULL && calls_last_http_status() == 200);
        CHECK(strcmp(uuid_of(one), uuid_of(first)) == 0);
        CHECK_RC(calls_call_json(first, &json, &len), CALLS_RESULT_OK);
        CHECK_RC(calls_call_json(one, &json2, &len2), CALLS_RESULT_OK);
        CHECK(json != NULL && json2 != NULL && len == len2 && len == strlen(json) && strcmp(json, json2) == 0);
        CHECK(json != NULL && json[0] == '{' && strstr(json, "\"cnam_lookup\":") != NULL);
        /* Borrowed: the same pointer each time. */
        CHECK_RC(calls_call_json(one, &json, NULL), CALLS_RESULT_OK);
        CHECK(json == json2);
        CHECK(calls_call_field_count(one) == calls_call_field_count(first));

        /* Bad input on a live record. */
        v = SENTINEL, len = 99;
        CHECK_RC(calls_call_get(one, "no_such_field", &v, &len), CALLS_RESULT_NO_FIELD);
        CHECK(v == NULL && len == 0 && strstr(calls_last_error_message(), "no_such_field") != NULL);
        CHECK_RC(calls_call_get(one, "\xff\xfe", &v, &len), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK_RC(calls_call_get(one, NULL, &v, &len), CALLS_RESULT_NULL_PARAMETER);
        CHECK_RC(calls_call_get(one, "call_uuid", NULL, &len), CALLS_RESULT_NULL_PARAMETER);
        CHECK_RC(calls_call_get(one, "call_uuid", &v, NULL), CALLS_RESULT_OK);
        CHECK(v != NULL && strlen(v) == 36);
        name = SENTINEL, v = SENTINEL, len = 99;
        CHECK_RC(calls_call_field_at(one, calls_call_field_count(one), &name, &v, &len),
                 CALLS_RESULT_INVALID_ARGUMENT);
        CHECK(name == NULL && v == NULL && len == 0);
        CHECK_RC(calls_call_field_at(one, (size_t)-1, &name, &v, &len), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK_RC(calls_call_field_at(one, 0, NULL, &v, &len), CALLS_RESULT_NULL_PARAMETER);
        CHECK_RC(calls_call_field_at(one, 0, &name, &v, &len), CALLS_RESULT_OK);
        CHECK(name != NULL && strcmp(name, "call_uuid") == 0 && v != NULL && strcmp(v, uuid_of(one)) == 0);
        i = 99;
        CHECK_RC(calls_call_get_int64(one, "from_number", &i), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK(i == 0);
        CHECK_RC(calls_call_get_int64(one, "nope", &i), CALLS_RESULT_NO_FIELD);
        CHECK_RC(calls_call_get_int64(one, "bill_duration", NULL), CALLS_RESULT_NULL_PARAMETER);
        CHECK_RC(calls_call_get_time_us(one, "from_number", &i), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK_RC(calls_call_get_time_us(one, "bill_duration", &i), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK_RC(calls_call_get_bool(one, "call_uuid", &b), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK_RC(calls_call_get_bool(one, "nope", &b), CALLS_RESULT_NO_FIELD);
        CHECK_RC(calls_call_get_money(one, "call_uuid", &v, &len), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK(v == NULL && len == 0);
        CHECK_RC(calls_call_get_money_micros(one, "to_number", &i), CALLS_RESULT_INVALID_ARGUMENT);
        CHECK_RC(calls_call_get_money_micros(one, "nope", &i), CALLS_RESULT_NO_FIELD);
        calls_call_free(one);
        one = NULL;

        /* get_call of a uuid the simulator does not have: 404, NOT_FOUND. */
        one = SENTINEL;
        CHECK_RC(calls_client_get_call(c, "00000000-0000-4000-8000-000000000000", &one), CALLS_RESULT_NOT_FOUND);
        CHECK(one == NULL && calls_last_http_status() == 404);
        /* Upper case is a uuid too (the simulator compares without case). */
        {
            char upper[40];
            size_t k;
            snprintf(upper, sizeof upper, "%s", uuid_of(first));
            for (k = 0; upper[k]; k++)
                if (upper[k] >= 'a' && upper[k] <= 'f')
                    upper[k] = (char)(upper[k] - 'a' + 'A');
            CHECK_RC(calls_client_get_call(c, upper, &one), CALLS_RESULT_OK);
            CHECK(one != NULL && strcmp(uuid_of(one), uuid_of(first)) == 0);
            calls_call_free(one);
        }
    }

    if (unanswered != NULL) {
        snprintf(path, sizeof path, "/v1/Account/MASIMULATOR000000001/Zentrunk/Call/%s/", uuid_of(unanswered));
        raw = sim_get_authed(path, &status);
        CHECK(raw != NULL && strstr(raw, "\"answer_time\":null") != NULL);
        if (raw)
            check_against_raw(unanswered, raw);
        free(raw);
    }

    /* A JSON string the caller wrote NUL bytes into frees safely. */
    CHECK_RC(calls_pager_new(c, q, 1, &p), CALLS_RESULT_OK);
    {
        char *s = NULL;
        CHECK_RC(calls_pager_next(p, &s, &len), CALLS_RESULT_OK);
        CHECK(s != NULL && len > 100);
        if (s != NULL && len > 100) {
            memset(s + 10, 0, 20);
            s[len - 1] = '\0';
        }
        calls_string_free(s);
    }
    calls_pager_free(p);

    calls_call_free(first);
    calls_call_free(unanswered);
    calls_query_free(q);
    calls_client_free(c);
}

/* The odd values calls-sim --odd-fields adds to every record
 * (calls_sim::ODD_FIELDS, ODD_STIR). */
static const char ODD_NOTE[] = "a, \"quoted\"\r\nline\ttab \xc3\xa9 \0nul";
static const char ODD_STIR[] = "Verified, \"A\"\r\nsecond line";

static void check_odd(const calls_call *call)
{
    char longname[256];
    const char *v = SENTINEL, *json = NULL;
    size_t len = 99;
    int64_t i = 0;
    int b;
    memcpy(longname, "x_", 2);
    memset(longname + 2, 'n', 197);
    longname[199] = '\0';
    /* A field name longer than 127 bytes reads like any other. */
    CHECK_RC(calls_call_get(call, longname, &v, &len), CALLS_RESULT_OK);
    CHECK(v != NULL && len == 9 && strcmp(v, "long name") == 0);
    longname[198] = '\0'; /* one byte shorter: another name */
    CHECK_RC(calls_call_get(call, longname, &v, &len), CALLS_RESULT_NO_FIELD);
    /* Unescaped, with the NUL inside: the length tells. */
    CHECK_RC(calls_call_get(call, "x_note", &v, &len), CALLS_RESULT_OK);
    CHECK(v != NULL && len == sizeof ODD_NOTE - 1 && memcmp(v, ODD_NOTE, sizeof ODD_NOTE) == 0);
    CHECK_RC(calls_call_get(call, "x_nested", &v, &len), CALLS_RESULT_OK);
    CHECK(v != NULL && strcmp(v, "{\"a\":[1,2.5,true,null],\"b\":{}}") == 0 && len == strlen(v));
    v = SENTINEL, len = 99;
    CHECK_RC(calls_call_get(call, "x_null", &v, &len), CALLS_RESULT_OK);
    CHECK(v == NULL && len == 0);
    CHECK_RC(calls_call_get_int64(call, "x_null", &i), CALLS_RESULT_NO_FIELD);
    CHECK_RC(calls_call_get_int64(call, "x_count", &i), CALLS_RESULT_OK);
    CHECK(i == 42);
    CHECK_RC(calls_call_get_bool(call, "x_count", &b), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_call_get_int64(call, "x_nested", &i), CALLS_RESULT_INVALID_ARGUMENT);
    CHECK_RC(calls_call_get(call, "stir_verification", &v, &len), CALLS_RESULT_OK);
    CHECK(v != NULL && strcmp(v, ODD_STIR) == 0 && len == sizeof ODD_STIR - 1);
    /* The JSON escapes them again. */
    CHECK_RC(calls_call_json(call, &json, &len), CALLS_RESULT_OK);
    CHECK(json != NULL && len == strlen(json));
    CHECK(json != NULL && strstr(json, "\"x_note\":\"a, \\\"quoted\\\"\\r\\nline\\ttab \xc3\xa9 \\u0000nul\"") != NULL);
}

/* calls-sim --odd-fields: odd names and values through the pager and get_call. */
static void test_odd(void)
{
    calls_client *c = records_client();
    calls_query *q = query_since(time(NULL), 20, NULL);
    calls_pager *p = NULL;
    calls_call *call = NULL, *one = NULL;
    char uuid[64] = "";
    calls_result rc;
    size_t n = 0;

    CHECK_RC(calls_pager_new(c, q, 0, &p), CALLS_RESULT_OK);
    while ((rc = calls_pager_next_call(p, &call)) == CALLS_RESULT_OK) {
        if (n++ == 0) {
            check_odd(call);
            snprintf(uuid, sizeof uuid, "%s", uuid_of(call));
        }
        calls_call_free(call);
        call = NULL;
    }
    CHECK_RC(rc, CALLS_RESULT_DONE);
    CHECK(n > 10);
    CHECK_RC(calls_client_get_call(c, uuid, &one), CALLS_RESULT_OK);
    if (one != NULL)
        check_odd(one);
    calls_call_free(one);
    calls_pager_free(p);
    calls_query_free(q);
    calls_client_free(c);
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    if (strcmp(s, "offline") == 0) {
        test_offline();
    } else if (strcmp(s, "data") == 0) {
        test_records_data();
    } else if (strcmp(s, "odd") == 0) { /* --odd-fields */
        test_odd();
    } else {
        fprintf(stderr, "usage: test_records offline|data|odd\n");
        return 2;
    }
    return check_result();
}
