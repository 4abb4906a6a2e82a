/*  =========================================================================
    willr - Williams %R (TA-Lib WILLR)

    -100 × (highest high - close) / (highest high - lowest low) over the
    last `period` candles; 0 when the range is empty. Params: period
    (2-100000, default 14); lookback period - 1. The highest high and
    lowest low slide as in TA-Lib: a window is scanned afresh only when its
    extreme has left it.
    ========================================================================= */

#include <stdint.h>
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
    const double *high = in [0], *low = in [1], *close = in [2];
    double *willr = out [0];
    size_t n = (size_t) args [0];
    size_t highest = SIZE_MAX, lowest = SIZE_MAX;
    for (size_t i = n - 1; i < size; i++) {
        sf_kernel_extremes (high, low, n, i, &highest, &lowest);
        double top = high [highest], bottom = low [lowest];
        double value = -100.0 * (top - close [i]) / (top - bottom);
        willr [i] = top == bottom? 0.0: value;
    }
}

const sf_indicator_t sf_indicator_willr = {
    .inputs = "hlc", .outputs = { "willr" }, .lookback = s_lookback, .kernel = s_kernel
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_willr);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_willr = {
    .name = "willr", .version = "1", .summary = "Williams %R (period 14)",
    .analyze = s_analyze, .params = s_params
};
