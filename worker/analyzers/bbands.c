/*  =========================================================================
    bbands - Bollinger bands (TA-Lib BBANDS with SMA)

    middle = SMA(period) of closes; upper/lower = middle ± multiplier ×
    population standard deviation of the same closes. Both from one
    sliding window (sf_window_series), O(1) a candle. Params: period
    (2-100000, default 20), multiplier (0-100, default 2.0); lookback
    period - 1. Outputs upper, middle, lower.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) state;
    size_t n = (size_t) args [0];
    double *upper = out [0], *middle = out [1], *lower = out [2];
    sf_window_series (in [0], size, n, 0, args [1], upper, middle, lower, NULL);
}

const sf_indicator_t sf_indicator_bbands = {
    .inputs = "c", .outputs = { "upper", "middle", "lower" }, .lookback = s_lookback,
    .kernel = s_kernel
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_bbands);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    { "multiplier", SF_PARAM_REAL, 2.0, 0, 100, NULL, "band width in standard deviations" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_bbands = {
    .name = "bbands", .version = "3", .summary = "Bollinger bands (period 20, multiplier 2)",
    .analyze = s_analyze, .params = s_params
};
