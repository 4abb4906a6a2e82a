/*  =========================================================================
    willr - Williams %R (TA-Lib WILLR)

    -100 × (highest high - close) / (highest high - lowest low) over the
    last `period` candles; 0 when the range is empty. Params: period
    (2-100000, default 14); lookback period - 1. The highest high and
    lowest low of every window come from sf_window_extremes, O(1) a candle.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

//  willr of count candles (at most SF_KERNEL_BLOCK) from their extremes;
//  top becomes willr.
static inline void
s_willr (size_t count, double *restrict top, const double *restrict bottom,
         const double *restrict close)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    double range [SF_KERNEL_BLOCK];
    for (size_t b = 0; b < count; b++) {
        range [b] = top [b] - bottom [b];
        top [b] = -100.0 * (top [b] - close [b]) / range [b];
    }
    for (size_t b = 0; b < count; b++)
        top [b] = range [b] == 0? 0.0: top [b];
}

static SF_KERNEL_CLONES void
s_willr_block (double *top, const double *bottom, const double *close)
{
    s_willr (SF_KERNEL_BLOCK, top, bottom, close);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) state;
    const double *high = in [0], *low = in [1], *close = in [2];
    size_t n = (size_t) args [0];
    //  The highest highs go to the output, which then becomes willr
    double *top = out [0], *bottom = sf_kernel_scratch (size);
    sf_window_extremes (high, low, size, n, top, bottom);
    size_t i = n - 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_willr_block (top + i, bottom + i, close + i);
    s_willr (size - i, top + i, bottom + i, close + i);
    free (bottom);
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
