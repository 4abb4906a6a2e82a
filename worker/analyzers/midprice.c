/*  =========================================================================
    midprice - midpoint of the highs and lows over a window (TA-Lib
    MIDPRICE)

    midprice = (highest high + lowest low) / 2 over the last `period`
    candles. Params: period (2-100000, default 14); lookback period - 1.
    The extremes of every window come from sf_window_extremes, O(1) a
    candle whatever the period.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last `period`
    highs and lows in two rings; the step form scans them (the extremes are
    exact, so the two agree to the bit).
    ========================================================================= */

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
    return 2 * (size_t) args [0];
}

//  The midprice of count windows from their extremes; top becomes it.
static inline void
s_middle (size_t count, double *restrict top, const double *restrict bottom)
{
    for (size_t b = 0; b < count; b++)
        top [b] = (top [b] + bottom [b]) * 0.5;
}

static SF_KERNEL_CLONES void
s_middle_block (double *top, const double *bottom)
{
    s_middle (SF_KERNEL_BLOCK, top, bottom);
}

//  State: the ring of the last n highs, then that of the last n lows.
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *high = in [0], *low = in [1];
    size_t n = (size_t) args [0];
    //  The highest highs go to the output, which then becomes the midprice
    double *top = out [0], *bottom = sf_kernel_scratch (size);
    sf_window_extremes (high, low, size, n, top, bottom);
    size_t i = n - 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_middle_block (top + i, bottom + i);
    s_middle (size - i, top + i, bottom + i);
    free (bottom);
    if (state)
        for (size_t j = size - n; j < size; j++) {
            state [j % n] = high [j];
            state [n + j % n] = low [j];
        }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    const double *highs = state, *lows = state + n;
    state [seen % n] = in [0][i];
    state [n + seen % n] = in [1][i];
    double top = highs [0], bottom = lows [0];
    for (size_t j = 1; j < n; j++) {
        top = highs [j] > top? highs [j]: top;
        bottom = lows [j] < bottom? lows [j]: bottom;
    }
    s_middle (1, &top, &bottom);
    out [0] = top;
}

const sf_indicator_t sf_indicator_midprice = {
    .inputs = "hl", .outputs = { "midprice" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_midprice);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_midprice = {
    .name = "midprice", .version = "1",
    .summary = "(highest high + lowest low) / 2 over a window (period 14)",
    .analyze = s_analyze, .params = s_params
};
