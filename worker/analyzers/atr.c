/*  =========================================================================
    atr - average true range with Wilder smoothing (TA-Lib ATR)

    tr[i] = max (high - low, |high - close[i-1]|, |low - close[i-1]|) from
    index 1. The first atr, at index period, is the mean of tr[1 ..
    period]; then atr = atr × (period - 1) / period + tr / period
    (Wilder's (atr × (period - 1) + tr) / period, with the division out of
    the chain of dependent operations). Params: period (1-100000, default
    14); lookback period.

    The kernel computes a block's true ranges in a loop of independent
    iterations that the compiler vectorises, then runs the recurrence.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close
    and the atr (the sum of true ranges while the first is being built).
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return 2;
}

//  The true ranges of candles first .. first + count - 1 into range.
static inline void
s_ranges (size_t count, const double *restrict high, const double *restrict low,
          const double *restrict close, size_t first, double *restrict range)
{
    for (size_t b = 0; b < count; b++)
        range [b] = sf_kernel_true_range (high, low, close, first + b);
}

static SF_KERNEL_CLONES void
s_ranges_block (const double *high, const double *low, const double *close, size_t first,
                double *range)
{
    s_ranges (SF_KERNEL_BLOCK, high, low, close, first, range);
}

//  State: [previous close, atr].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict high = in [0], *restrict low = in [1], *restrict close = in [2];
    double *restrict atr = out [0];
    size_t n = (size_t) args [0];
    double inv = 1.0 / (double) n, keep = (double) (n - 1) / (double) n;
    double sum = 0;
    for (size_t i = 1; i <= n; i++)
        sum += sf_kernel_true_range (high, low, close, i);
    double value = sum / (double) n;
    atr [n] = value;
    //  Two candles a turn: the atr two candles on is keep^2 × atr + (keep ×
    //  r0 + r1) / n, so the chain of dependent operations is one multiply
    //  and one add for two candles
    double keep2 = keep * keep;
    double range [SF_KERNEL_BLOCK];
    for (size_t i = n + 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        if (count == SF_KERNEL_BLOCK)
            s_ranges_block (high, low, close, i, range);
        else
            s_ranges (count, high, low, close, i, range);
        size_t b = 0;
        for (; b + 2 <= count; b += 2) {
            double first = range [b] * inv, second = range [b + 1] * inv;
            atr [i + b] = value * keep + first;
            atr [i + b + 1] = value = value * keep2 + (first * keep + second);
        }
        for (; b < count; b++)
            atr [i + b] = value = value * keep + range [b] * inv;
        i += count;
    }
    if (state) {
        state [0] = close [size - 1];
        state [1] = value;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double previous = state [0];
    state [0] = in [2][i];
    if (seen == 0)
        return;
    //  The true range from this candle and the previous close
    const double high [2] = { 0, in [0][i] }, low [2] = { 0, in [1][i] };
    const double close [2] = { previous, 0 };
    double range = sf_kernel_true_range (high, low, close, 1);
    if (seen < n)
        state [1] += range;
    else
    if (seen == n)
        state [1] = (state [1] + range) / (double) n;
    else
        state [1] = state [1] * ((double) (n - 1) / (double) n) + range * (1.0 / (double) n);
    out [0] = state [1];
}

const sf_indicator_t sf_indicator_atr = {
    .inputs = "hlc", .outputs = { "atr" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_atr);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 14, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_atr = {
    .name = "atr", .version = "2", .summary = "average true range, Wilder (period 14)",
    .analyze = s_analyze, .params = s_params
};
