/* unit.h: what every unit suite's main() shares. */
#pragma once

#include <check.h>
#include <stdlib.h>

/* Runs suite s (fork mode unless CK_FORK=no) and returns the exit code:
 * EXIT_FAILURE when any test failed. */
static inline int unit_run(Suite *s)
{
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
