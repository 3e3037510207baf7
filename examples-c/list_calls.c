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
    char *json = NULL, *stats = NULL;
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
    while ((rc = calls_pager_next(pager, &json, NULL)) == CALLS_RESULT_OK) {
        char uuid[80], end[40], from[40], to[40], dir[16], amt[40];
        unsigned long long bill = 0, billed = 0;
        if (fj_get(json, "call_uuid", uuid, sizeof uuid) < 0 || fj_get(json, "end_time", end, sizeof end) < 0 ||
            fj_get(json, "from_number", from, sizeof from) < 0 || fj_get(json, "to_number", to, sizeof to) < 0 ||
            fj_get(json, "call_direction", dir, sizeof dir) < 0 ||
            fj_get(json, "total_amount", amt, sizeof amt) < 0 || fj_get_u64(json, "bill_duration", &bill) < 0 ||
            fj_get_u64(json, "billed_duration", &billed) < 0) {
            fprintf(stderr, "error: a call record could not be read: %.200s\n", json);
            goto cleanup;
        }
        if (amt[0] != '\0' && dec_add(&amount, amt) != 0) {
            fprintf(stderr, "error: call %s: total_amount `%s` is not a decimal amount\n", uuid, amt);
            goto cleanup;
        }
        if (count < rows)
            printf("%-36s  %-19s  %-16s  %-16s  %-8s  %8llu  %10s\n", uuid, end, from, to, dir, bill,
                   amt[0] ? amt : "-");
        count++;
        billed_secs += billed;
        calls_string_free(json);
        json = NULL;
    }
    if (rc != CALLS_RESULT_DONE) {
        report("calls_pager_next", rc);
        goto cleanup;
    }
    if ((rc = calls_pager_stats(pager, &stats, NULL)) != CALLS_RESULT_OK) {
        report("calls_pager_stats", rc);
        goto cleanup;
    }
    if (fj_get_u64(stats, "requests", &requests) < 0 || fj_get_u64(stats, "retries", &retries) < 0 ||
        fj_get_u64(stats, "windows", &windows) < 0) {
        fprintf(stderr, "error: unreadable pager stats: %s\n", stats);
        goto cleanup;
    }
    if (count > rows)
        printf("... %llu more (see --rows)\n", count - rows);
    dec_format(&amount, total, sizeof total);
    printf("\n%llu calls, %llu billed minutes%s, total amount %s, %llu requests (%llu retries) in %llu time "
           "window%s\n",
           count, billed_secs / 60, billed_secs % 60 ? " (and some seconds)" : "", total, requests, retries, windows,
           windows == 1 ? "" : "s");
    ret = 0;

cleanup:
    calls_string_free(json);
    calls_string_free(stats);
    calls_pager_free(pager);
    calls_query_free(query);
    calls_client_free(client);
    return ret;
}
