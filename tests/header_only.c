/* include/calls.h on its own: compiled as C99 and (as header_only.cpp) C++17
 * with -Wall -Wextra -Wpedantic -Werror by tests/run_c_tests.sh. */
#include "calls.h"

#if !defined(CALLS_VERSION_MAJOR) || !defined(CALLS_VERSION_MINOR) || !defined(CALLS_VERSION_PATCH)
#error "the CALLS_VERSION_* macros are missing"
#endif

typedef char calls_result_is_32_bits[sizeof(calls_result) == 4 ? 1 : -1];

int calls_header_only_check(void);
int calls_header_only_check(void)
{
    calls_result (*fn)(calls_query **) = calls_query_new;
    calls_result_is_32_bits ok = {0};
    return (fn != 0) + ok[0] + CALLS_RESULT_PANIC;
}
