/*  =========================================================================
    trange - true range (TA-Lib TRANGE)

    trange = max (high - low, |high - close[-1]|, |low - close[-1]|) from
    index 1 (index 0 has no previous close). No params; lookback 1. Every
    candle is independent of the others: the compiler vectorises the
    kernel.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    (void) args;
    return 1;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return 1;
}

//  The true ranges of count candles from their highs, lows and previous
//  closes (the comparisons as sf_kernel_true_range makes them; written out
//  here, on restrict pointers, so that the loop vectorises).
static inline void
s_ranges (size_t count, const double *restrict high, const double *restrict low,
          const double *restrict previous, double *restrict range)
{
    for (size_t b = 0; b < count; b++) {
        double width = high [b] - low [b];
        double up = fabs (high [b] - previous [b]), down = fabs (low [b] - previous [b]);
        width = up > width? up: width;
        range [b] = down > width? down: width;
    }
}

static SF_KERNEL_CLONES void
s_ranges_block (const double *high, const double *low, const double *previous, double *range)
{
    s_ranges (SF_KERNEL_BLOCK, high, low, previous, range);
}

//  State: [previous close].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args;
    const double *high = in [0], *low = in [1], *close = in [2];
    size_t i = 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_ranges_block (high + i, low + i, close + i - 1, out [0] + i);
    s_ranges (size - i, high + i, low + i, close + i - 1, out [0] + i);
    if (state)
        state [0] = close [size - 1];
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) args;
    double previous = state [0];
    state [0] = in [2][i];
    if (seen > 0)
        s_ranges (1, in [0] + i, in [1] + i, &previous, out);
}

const sf_indicator_t sf_indicator_trange = {
    .inputs = "hlc", .outputs = { "trange" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_trange);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_trange = {
    .name = "trange", .version = "1", .summary = "true range",
    .analyze = s_analyze, .params = s_params
};
