/*  =========================================================================
    plus_di - plus directional indicator (TA-Lib PLUS_DI)

    100 × S(+DM) / S(TR): the Wilder sums of +DM (as plus_dm) and of the
    true range, each the plain sum over candles 1 .. period-1, then one
    Wilder step a candle from index period; 0 when S(TR) < 1e-14. Params:
    period (2-100000, default 14); lookback period. The computation is
    shared with minus_di, plus_dm, minus_dm, dx and adxr (directional.c).

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the candle before
    (high, low, close) and the three sums.
    ========================================================================= */

#include <stdlib.h>
#include "directional.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return SF_DIRECTIONAL_STATE;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    sf_directional_di_kernel (size, in, (size_t) args [0], false, out [0], state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    sf_directional_di_step (state, seen, in, i, (size_t) args [0], false, out);
}

const sf_indicator_t sf_indicator_plus_di = {
    .inputs = "hlc", .outputs = { "plus_di" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_plus_di);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_plus_di = {
    .name = "plus_di", .version = "1", .summary = "plus directional indicator (period 14)",
    .analyze = s_analyze, .params = s_params
};
