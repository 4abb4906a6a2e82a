/*  =========================================================================
    sma - simple moving average of closes (TA-Lib SMA)

    sma[i] = mean (close[i-period+1 .. i]); params: period (2-100000,
    default 20); lookback period - 1. A running sum, summed afresh every
    `period` candles (at candles period - 1, 2 period - 1, …), so rounding
    never builds up over long series.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the running sum and
    the last `period` closes, in a ring indexed by candle number; at an
    afresh sum the ring holds the window in order, so the step form sums
    the same values in the same order as the kernel.
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
    return 1 + (size_t) args [0];
}

//  State: [sum, ring of n closes].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict sma = out [0];
    size_t n = (size_t) args [0];
    sf_kernel_mean (close, size, n, n - 1, sma);
    if (state) {
        //  The running sum as the step form has it: afresh at the last
        //  multiple of n, then slid
        size_t afresh = size - size % n - 1;
        double sum = sf_kernel_sum (close + afresh + 1 - n, n);
        for (size_t j = afresh + 1; j < size; j++)
            sum += close [j] - close [j - n];
        state [0] = sum;
        for (size_t j = size - n; j < size; j++)
            state [1 + j % n] = close [j];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double *ring = state + 1, close = in [0][i];
    size_t slot = (size_t) (seen % n);
    double old = ring [slot];
    ring [slot] = close;
    if ((seen + 1) % n == 0)
        state [0] = sf_kernel_sum (ring, n);
    else
    if (seen >= n)
        state [0] += close - old;
    out [0] = state [0] * (1.0 / (double) n);
}

const sf_indicator_t sf_indicator_sma = {
    .inputs = "c", .outputs = { "sma" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_sma);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_sma = {
    .name = "sma", .version = "2", .summary = "simple moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
