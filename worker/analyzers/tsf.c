/*  =========================================================================
    tsf - time series forecast (TA-Lib TSF)

    The least-squares line y = b + m t through the last `period` closes,
    with t = 0 for the oldest and period - 1 for the newest (sf_regression:
    sums that slide in O(1) a candle); tsf = b + m × period, the line one
    candle after the newest. Params: period (2-100000, default 14);
    lookback period - 1.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the regression's: a
    shift, two sums and the last `period` closes in a ring.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "sf_regression.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

static size_t
s_state_size (const double *args)
{
    return SF_REGRESSION_STATE ((size_t) args [0]);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    size_t n = (size_t) args [0];
    sf_regression_series (in [0], size, n, SF_REGRESSION_AT, (double) n, out [0], state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    out [0] = sf_regression_push (state, n, seen, in [0][i], SF_REGRESSION_AT, (double) n);
}

const sf_indicator_t sf_indicator_tsf = {
    .inputs = "c", .outputs = { "tsf" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_tsf);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_tsf = {
    .name = "tsf", .version = "1",
    .summary = "least-squares line one candle ahead (period 14)",
    .analyze = s_analyze, .params = s_params
};
