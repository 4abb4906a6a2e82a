/*  =========================================================================
    crash - aborts the worker process; served only with
    --enable-test-analyzers, for reliability tests
    ========================================================================= */

#include <stdlib.h>
#include "sheaf_analyzer.h"

static int
s_analyze (sf_actx_t *ctx)
{
    (void) ctx;
    abort ();
}

const sf_analyzer_t sf_analyzer_crash = {
    .name = "crash", .version = "1", .summary = "aborts the worker process (tests only)",
    .test_only = true, .analyze = s_analyze
};
