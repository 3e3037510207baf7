/*
 * export_csv: every call matching the filters as CSV on stdout (RFC 4180:
 * a header row, CRLF line ends, fields with , " CR or LF quoted, quotes
 * doubled), streamed one call at a time through calls_pager_next.
 *
 *   export_csv --days 60 > calls.csv
 *
 * The number of rows written goes to stderr.
 */
#include "common.h"

static const char *const COLUMNS[] = {
    "call_uuid",         "end_time",           "initiation_time",    "answer_time",
    "from_number",       "to_number",          "call_direction",     "call_duration",
    "bill_duration",     "billed_duration",    "hangup_cause_code",  "hangup_cause_name",
    "hangup_source",     "total_rate",         "total_amount",       "trunk_domain",
    "from_country",      "to_country",         "transport_protocol", "srtp",
    "secure_trunking",   "secure_trunking_rate", "stir_verification", "attestation_indicator",
};
#define NCOLUMNS (sizeof COLUMNS / sizeof COLUMNS[0])

static void csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: export_csv [filters] [--max N] > calls.csv\n  --max N   stop after N calls\n" FILTER_FLAGS_HELP);
}

int main(int argc, char **argv)
{
    int ret = 1, i;
    size_t k;
    calls_result rc;
    calls_client_builder *builder = NULL;
    calls_client *client = NULL;
    calls_query *query = NULL;
    calls_pager *pager = NULL;
    char *json = NULL;
    char value[4096];
    unsigned long long max_items = 0, rows = 0;

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

    if ((rc = calls_client_builder_from_env(&builder)) != CALLS_RESULT_OK) {
        report("calls_client_builder_from_env", rc);
        goto cleanup;
    }
    rc = calls_client_builder_build(builder, &client);
    builder = NULL; /* always consumed */
    if (rc != CALLS_RESULT_OK) {
        report("calls_client_builder_build", rc);
        goto cleanup;
    }
    if ((rc = calls_pager_new(client, query, max_items, &pager)) != CALLS_RESULT_OK) {
        report("calls_pager_new", rc);
        goto cleanup;
    }

    for (k = 0; k < NCOLUMNS; k++) {
        if (k)
            fputc(',', stdout);
        csv_field(stdout, COLUMNS[k]);
    }
    fputs("\r\n", stdout);
    while ((rc = calls_pager_next(pager, &json, NULL)) == CALLS_RESULT_OK) {
        for (k = 0; k < NCOLUMNS; k++) {
            if (fj_get(json, COLUMNS[k], value, sizeof value) < 0) {
                fprintf(stderr, "error: field %s of a call could not be read: %.200s\n", COLUMNS[k], json);
                goto cleanup;
            }
            if (k)
                fputc(',', stdout);
            csv_field(stdout, value);
        }
        fputs("\r\n", stdout);
        rows++;
        calls_string_free(json);
        json = NULL;
    }
    if (rc != CALLS_RESULT_DONE) {
        report("calls_pager_next", rc);
        goto cleanup;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "error: writing the CSV failed\n");
        goto cleanup;
    }
    fprintf(stderr, "export_csv: %llu rows\n", rows);
    ret = 0;

cleanup:
    calls_string_free(json);
    calls_pager_free(pager);
    calls_query_free(query);
    calls_client_free(client);
    calls_client_builder_free(builder);
    return ret;
}
