/*  =========================================================================
    midpoint - midpoint of the closes over a window (TA-Lib MIDPOINT)

    midpoint = (highest close + lowest close) / 2 over the last `period`
    closes. Params: period (2-100000, default 14); lookback period - 1. The
    extremes of every window come from sf_window_extremes, O(1) a candle
    whatever the period.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last `period`
    closes in a ring; the step form scans it (the extremes are exact, so
    the two agree to the bit).
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
    return (size_t) args [0];
}

//  The midpoint of count windows from their extremes; top becomes it.
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

//  State: the ring of the last n closes.
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *close = in [0];
    size_t n = (size_t) args [0];
    //  The highest closes go to the output, which then becomes the midpoint
    double *top = out [0], *bottom = sf_kernel_scratch (size);
    sf_window_extremes (close, close, size, n, top, bottom);
    size_t i = n - 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_middle_block (top + i, bottom + i);
    s_middle (size - i, top + i, bottom + i);
    free (bottom);
    if (state)
        for (size_t j = size - n; j < size; j++)
            state [j % n] = close [j];
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    state [seen % n] = in [0][i];
    double top = state [0], bottom = state [0];
    for (size_t j = 1; j < n; j++) {
        top = state [j] > top? state [j]: top;
        bottom = state [j] < bottom? state [j]: bottom;
    }
    s_middle (1, &top, &bottom);
    out [0] = top;
}

const sf_indicator_t sf_indicator_midpoint = {
    .inputs = "c", .outputs = { "midpoint" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_midpoint);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_midpoint = {
    .name = "midpoint", .version = "1",
    .summary = "(highest + lowest close) / 2 over a window (period 14)",
    .analyze = s_analyze, .params = s_params
};
