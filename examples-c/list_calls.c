/*
 * list_calls: prints a table of the calls matching the filters and a summary
 * (count, billed minutes, total amount summed exactly, requests made, time
 * windows walked).
 *
 *   PLIVO_AUTH_ID=... PLIVO_AUTH_TOKEN=... list_calls --days 60 --direction outbound
 *
 * libgit2 style: every result is checked, failures `goto cleanup`, print
 * calls_result_str() and calls_last_error_message(), and exit non-zero.
 */
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: list_calls [filters] [--max N] [--rows N]\n"
            "  --max N    stop after N calls (default: every matching call)\n"
            "  --rows N   print at most N rows (the summary still counts every call)\n" FILTER_FLAGS_HELP);
}

int main(int argc, char **argv)
{
    int ret = 1, i;
    calls_result rc;
    calls_client *client = NULL;
    calls_query *query = NULL;
    calls_pager *pager = NULL;
    calls_call *call = NULL;
    char *stats = NULL;
    unsigned long long max_items = 0, rows = ULLONG_MAX, count = 0, billed_secs = 0, requests = 0,
                       retries = 0, windows = 0;
    dec_sum amount = {0, 0, 0};
    char total[64];

    if ((rc = calls_query_new(&query)) != CALLS_RESULT_OK) {
        report("calls_query_new", rc);
        goto cleanup;
    }
    for (i = 1; i < argc; i++) {
        int missing = 0, r;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            ret = 0;
            goto cleanup;
        }
        if ((v = flag_value(argc, argv, &i, "--max", &missing)) != NULL) {
            if (parse_count("--max", v, &max_items))
                goto cleanup;
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--rows", &missing)) != NULL) {
            if (parse_count("--rows", v, &rows))
                goto cleanup;
            continue;
        }
        if (missing) {
            fprintf(stderr, "error: %s needs a value\n", argv[i]);
            goto cleanup;
        }
        r = apply_filter_flag(query, argc, argv, &i, &rc);
        if (r < 0)
            goto cleanup;
        if (r == 0) {
            fprintf(stderr, "error: unknown argument `%s`\n", argv[i]);
            usage(stderr);
            goto cleanup;
        }
    }

    if (pager_from_env(query, NULL, max_items, &client, &pager) != 0)
        goto cleanup;

    printf("%-36s  %-19s  %-16s  %-16s  %-8s  %8s  %10s\n", "CALL UUID", "END TIME (UTC)", "FROM", "TO",
           "DIR", "BILL (s)", "AMOUNT");
    /* Each call is a calls_call record: fields read through calls_call_get
     * and the typed getters, no JSON parser. */
    while ((rc = calls_pager_next_call(pager, &call)) == CALLS_RESULT_OK) {
        const char *uuid, *from, *to, *dir, *amt = NULL;
        char end[32] = "-";
        int64_t bill = 0, billed = 0, end_us = 0;
        size_t amt_len = 0;
        if (call_text(call, "call_uuid", &uuid, NULL) || call_text(call, "from_number", &from, NULL) ||
            call_text(call, "to_number", &to, NULL) || call_text(call, "call_direction", &dir, NULL) ||
            call_int64(call, "bill_duration", &bill) || call_int64(call, "billed_duration", &billed))
            goto cleanup;
        /* end_time as Unix microseconds, formatted here. */
        rc = calls_call_get_time_us(call, "end_time", &end_us);
        if (rc == CALLS_RESULT_OK) {
            time_t secs = (time_t)(end_us / 1000000);
            struct tm tm;
            gmtime_r(&secs, &tm);
            strftime(end, sizeof end, "%Y-%m-%d %H:%M:%S", &tm);
        } else if (rc != CALLS_RESULT_NO_FIELD) {
            report("end_time", rc);
            goto cleanup;
        }
        /* total_amount as its exact decimal text, summed exactly. */
        rc = calls_call_get_money(call, "total_amount", &amt, &amt_len);
        if (rc == CALLS_RESULT_OK) {
            if (dec_add(&amount, amt) != 0) {
                fprintf(stderr, "error: call %s: total_amount `%s` cannot be summed\n", uuid, amt);
                goto cleanup;
            }
        } else if (rc != CALLS_RESULT_NO_FIELD) {
            report("total_amount", rc);
            goto cleanup;
        }
        if (count < rows)
            printf("%-36s  %-19s  %-16s  %-16s  %-8s  %8lld  %10s\n", uuid, end, from, to, dir, (long long)bill,
                   amt ? amt : "-");
        count++;
        billed_secs += (unsigned long long)(billed > 0 ? billed : 0);
        calls_call_free(call);
        call = NULL;
    }
    if (rc != CALLS_RESULT_DONE) {
        report("calls_pager_next_call", rc);
        goto cleanup;
    }
    if ((rc = calls_pager_stats(pager, &stats, NULL)) != CALLS_RESULT_OK) {
        report("calls_pager_stats", rc);
        goto cleanup;
    }
    requests = stat_u64(stats, "requests");
    retries = stat_u64(stats, "retries");
    windows = stat_u64(stats, "windows");
    if (count > rows)
        printf("... %llu more (see --rows)\n", count - rows);
    dec_format(&amount, total, sizeof total);
    printf("\n%llu calls, %llu billed minutes%s, total amount %s, %llu requests (%llu retries) in %llu time "
           "window%s\n",
           count, billed_secs / 60, billed_secs % 60 ? " (and some seconds)" : "", total, requests, retries, windows,
           windows == 1 ? "" : "s");
    ret = 0;

cleanup:
    calls_call_free(call);
    calls_string_free(stats);
    calls_pager_free(pager);
    calls_query_free(query);
    calls_client_free(client);
    return ret;
}
