/*  =========================================================================
    stddev - population standard deviation of closes (TA-Lib STDDEV, nbDev 1)

    Over the last `period` closes, divided by n, from a sliding window
    (sf_window_series and sf_window_push: sums of deviations from a shift
    reset to the window's mean every `period` candles, so O(1) a candle
    without the cancellation of plain running sums at high prices); 0 when
    the variance is below 1e-14. Params: period (2-100000, default 20);
    lookback period - 1.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the window.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

static size_t
s_state_size (const double *args)
{
    return SF_WINDOW_SIZE ((size_t) args [0]);
}

//  State: the window.
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    sf_window_series (in [0], size, (size_t) args [0], 0, 1.0, out [0], NULL, NULL, state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    sf_window_push (state, n, seen, in [0][i]);
    out [0] = seen + 1 >= n? sqrt (sf_window_variance (state, n, 0)): 0;
}

const sf_indicator_t sf_indicator_stddev = {
    .inputs = "c", .outputs = { "stddev" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_stddev);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_stddev = {
    .name = "stddev", .version = "3", .summary = "population standard deviation (period 20)",
    .analyze = s_analyze, .params = s_params
};
