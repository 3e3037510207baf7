/* Built by tests/check_cmake.sh against an installed calls: prints the
 * library's version and checks a builder (nothing is sent). */
#include <stdio.h>
#include <string.h>

#include <calls.h>

int main(void)
{
    calls_client_builder *b = NULL;
    calls_client *c = NULL;
    calls_result rc = calls_client_builder_new("MA1", "tok", &b);
    if (rc == CALLS_RESULT_OK)
        rc = calls_client_builder_set_base_url(b, "http://127.0.0.1:1");
    if (rc == CALLS_RESULT_OK)
        rc = calls_client_builder_build(b, &c);
    else
        calls_client_builder_free(b);
    calls_client_free(c);
    if (rc != CALLS_RESULT_OK || strcmp(calls_version(), CALLS_VERSION) != 0) {
        fprintf(stderr, "%s: %s\n", calls_result_str(rc), calls_last_error_message());
        return 1;
    }
    printf("calls %s\n", calls_version());
    return 0;
}
