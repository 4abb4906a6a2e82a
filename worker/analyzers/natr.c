/*  =========================================================================
    natr - normalized average true range, in percent (TA-Lib NATR)

    natr = 100 × atr / close, 0 when |close| < 1e-14 (TA-Lib's rule), with
    atr as atr computes it: true ranges from index 1, the first atr the
    mean of tr[1 .. period] at index period, then atr × (period - 1) /
    period + tr / period. Params: period (1-100000, default 14); lookback
    period.

    The kernel computes a block's true ranges in a loop of independent
    iterations that the compiler vectorises, runs the recurrence two
    candles a turn, then the block's divisions, vectorised.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close
    and the atr (the sum of true ranges while the first is being built).
    ========================================================================= */

#include <math.h>
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

//  natr of count candles from their atr and close; atr becomes natr.
static inline void
s_natr (size_t count, double *restrict atr, const double *restrict close)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        atr [b] = atr [b] / close [b] * 100.0;
    for (size_t b = 0; b < count; b++)
        atr [b] = fabs (close [b]) < 1e-14? 0.0: atr [b];
}

static SF_KERNEL_CLONES void
s_ranges_block (const double *high, const double *low, const double *previous, double *range)
{
    s_ranges (SF_KERNEL_BLOCK, high, low, previous, range);
}

static SF_KERNEL_CLONES void
s_natr_block (double *atr, const double *close)
{
    s_natr (SF_KERNEL_BLOCK, atr, close);
}

//  State: [previous close, atr].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict high = in [0], *restrict low = in [1], *restrict close = in [2];
    double *restrict natr = out [0];
    size_t n = (size_t) args [0];
    double inv = 1.0 / (double) n, keep = (double) (n - 1) / (double) n;
    double sum = 0, range [SF_KERNEL_BLOCK];
    for (size_t i = 1; i <= n; ) {
        size_t count = n + 1 - i < SF_KERNEL_BLOCK? n + 1 - i: SF_KERNEL_BLOCK;
        s_ranges (count, high + i, low + i, close + i - 1, range);
        for (size_t b = 0; b < count; b++)
            sum += range [b];
        i += count;
    }
    double value = sum / (double) n;
    natr [n] = value;
    s_natr (1, natr + n, close + n);
    //  Two candles a turn: the atr two candles on is keep^2 × atr + (keep ×
    //  r0 + r1) / n, so the chain of dependent operations is one multiply
    //  and one add for two candles
    double keep2 = keep * keep;
    for (size_t i = n + 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        if (count == SF_KERNEL_BLOCK)
            s_ranges_block (high + i, low + i, close + i - 1, range);
        else
            s_ranges (count, high + i, low + i, close + i - 1, range);
        size_t b = 0;
        for (; b + 2 <= count; b += 2) {
            double first = range [b] * inv, second = range [b + 1] * inv;
            natr [i + b] = value * keep + first;
            natr [i + b + 1] = value = value * keep2 + (first * keep + second);
        }
        for (; b < count; b++)
            natr [i + b] = value = value * keep + range [b] * inv;
        if (count == SF_KERNEL_BLOCK)
            s_natr_block (natr + i, close + i);
        else
            s_natr (count, natr + i, close + i);
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
    double previous = state [0], range;
    state [0] = in [2][i];
    if (seen == 0)
        return;
    s_ranges (1, in [0] + i, in [1] + i, &previous, &range);
    if (seen < n)
        state [1] += range;
    else
    if (seen == n)
        state [1] = (state [1] + range) / (double) n;
    else
        state [1] = state [1] * ((double) (n - 1) / (double) n) + range * (1.0 / (double) n);
    out [0] = state [1];
    s_natr (1, out, in [2] + i);
}

const sf_indicator_t sf_indicator_natr = {
    .inputs = "hlc", .outputs = { "natr" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_natr);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 14, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_natr = {
    .name = "natr", .version = "1", .summary = "normalized average true range, % (period 14)",
    .analyze = s_analyze, .params = s_params
};
