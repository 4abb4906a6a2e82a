/*  =========================================================================
    plugin_wrong_abi - a plugin built for another analyzer ABI, which the
    worker must refuse at start-up
    ========================================================================= */

#include "sheaf_analyzer.h"

static int
s_analyze (sf_actx_t *ctx)
{
    (void) ctx;
    return -1;
}

static const sf_analyzer_t s_stale = {
    .name = "stale", .version = "1", .summary = "never served", .analyze = s_analyze
};

const int sheaf_analyzer_abi = SHEAF_ANALYZER_ABI + 1;
const sf_analyzer_t *const sheaf_analyzers [] = { &s_stale, NULL };
