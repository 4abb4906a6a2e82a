/*  =========================================================================
    obv - on-balance volume (TA-Lib OBV)

    obv[0] = volume[0]; then + volume when the close rose, - volume when it
    fell, unchanged when equal. No params; lookback 0.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close
    and the obv.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    (void) args;
    return 0;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return 2;
}

//  The volume signed by the move from close before to close now: the
//  sign as a number, so that a random walk's ups and downs cost no
//  mispredicted branch (sign × volume is exact).
static inline double
s_signed (double before, double now, double volume)
{
    return (double) ((now > before) - (now < before)) * volume;
}

//  State: [previous close, obv].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args;
    const double *restrict close = in [0], *restrict volume = in [1];
    double *restrict obv = out [0];
    double value = volume [0];
    obv [0] = value;
    for (size_t i = 1; i < size; i++)
        obv [i] = value = value + s_signed (close [i - 1], close [i], volume [i]);
    if (state) {
        state [0] = close [size - 1];
        state [1] = value;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) args;
    double close = in [0][i], volume = in [1][i];
    if (seen == 0)
        state [1] = volume;
    else
        state [1] = state [1] + s_signed (state [0], close, volume);
    state [0] = close;
    out [0] = state [1];
}

const sf_indicator_t sf_indicator_obv = {
    .inputs = "cv", .outputs = { "obv" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_obv);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_obv = {
    .name = "obv", .version = "1", .summary = "on-balance volume",
    .analyze = s_analyze, .params = s_params
};
