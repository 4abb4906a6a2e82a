/*  =========================================================================
    minus_dm - Wilder's sum of the minus directional movement (TA-Lib
    MINUS_DM)

    -DM = low[-1] - low when that is positive and more than high - high[-1],
    else 0 (0 on a tie). The output is the Wilder *sum*, not an average:
    the plain sum of -DM over candles 1 .. period-1 at index period - 1,
    then S = S × (1 - 1 / period) + -DM (TA-Lib's S - S / period + DM).
    Params: period (2-100000, default 14); lookback period - 1. The
    computation is shared with plus_dm, plus_di, minus_di, dx and adxr
    (directional.c).

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the high and low of
    the candle before and the sums.
    ========================================================================= */

#include <stdlib.h>
#include "directional.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return SF_DIRECTIONAL_MOVES;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    sf_directional_dm_kernel (size, in, (size_t) args [0], true, out [0], state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    sf_directional_dm_step (state, seen, in, i, (size_t) args [0], true, out);
}

const sf_indicator_t sf_indicator_minus_dm = {
    .inputs = "hl", .outputs = { "minus_dm" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_minus_dm);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_minus_dm = {
    .name = "minus_dm", .version = "1",
    .summary = "Wilder sum of the minus directional movement (period 14)",
    .analyze = s_analyze, .params = s_params
};
