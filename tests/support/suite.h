/*  =========================================================================
    suite - what every check_* program's main does
    ========================================================================= */

#ifndef SUITE_H_INCLUDED
#define SUITE_H_INCLUDED

#include <check.h>

//  Run suite (output as CK_VERBOSITY says, normal by default) and return
//  the exit code for main: 0 when every test passed, 1 otherwise.
int suite_run (Suite *suite);

#endif
