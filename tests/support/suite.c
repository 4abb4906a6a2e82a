/*  =========================================================================
    suite - what every check_* program's main does
    ========================================================================= */

#include "suite.h"

int
suite_run (Suite *suite)
{
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_ENV);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed? 1: 0;
}
