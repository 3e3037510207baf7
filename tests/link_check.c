/* Linked against an installed libcalls by tests/check_install.sh (statically
 * and dynamically, flags from pkg-config). Prints the library version. */
#include <stdio.h>
#include <string.h>

#include <calls.h>

int main(void)
{
    calls_query *q = NULL;
    char *s = NULL;
    int ret = 1;
    calls_result rc = calls_query_new(&q);
    if (rc != CALLS_RESULT_OK)
        goto cleanup;
    if ((rc = calls_query_set(q, "call_direction", "inbound")) != CALLS_RESULT_OK)
        goto cleanup;
    if ((rc = calls_query_to_string(q, &s, NULL)) != CALLS_RESULT_OK)
        goto cleanup;
    if (strcmp(s, "call_direction=inbound") != 0 || strcmp(calls_version(), CALLS_VERSION) != 0)
        goto cleanup;
    printf("libcalls %s\n", calls_version());
    ret = 0;
cleanup:
    if (ret)
        fprintf(stderr, "link_check: %s: %s\n", calls_result_str(rc), calls_last_error_message());
    calls_string_free(s);
    calls_query_free(q);
    return ret;
}
