/*  =========================================================================
    stochf - fast stochastic oscillator (TA-Lib STOCHF, SMA %D)

    fast %K = (close - lowest low) / ((highest high - lowest low) / 100)
    over the last `fastk` candles, TA-Lib's order of operations; 0 when
    the highest high equals the lowest low (an exact test). fast %D = SMA
    of fast %K over `fastd`. Both start together. Outputs k, d. Params:
    fastk (1-100000, default 5), fastd (1-100000, default 3); lookback
    fastk + fastd - 2. stochrsi runs this kernel and step form over RSI.

    The extremes of every window come from sf_window_extremes, O(1) a
    candle; %D is a running sum, summed afresh every fastd values.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last fastk
    highs and lows and the last fastd %K values, in rings indexed by their
    number, and the running sum of %K; the step form scans its ring for
    the extremes.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  args: fastk, fastd.
static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] + (size_t) args [1] - 2;
}

//  State: [sum of %K, highs ring (k), lows ring (k), %K ring (d)].
static size_t
s_state_size (const double *args)
{
    return 1 + 2 * (size_t) args [0] + (size_t) args [1];
}

//  Fast %K of count candles from their extremes; bottom becomes fast %K.
static inline void
s_fast (size_t count, const double *restrict top, double *restrict bottom,
        const double *restrict close)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    double range [SF_KERNEL_BLOCK];
    for (size_t b = 0; b < count; b++) {
        range [b] = (top [b] - bottom [b]) / 100.0;
        bottom [b] = (close [b] - bottom [b]) / range [b];
    }
    for (size_t b = 0; b < count; b++)
        bottom [b] = range [b] != 0? bottom [b]: 0.0;
}

static SF_KERNEL_CLONES void
s_fast_block (const double *top, double *bottom, const double *close)
{
    s_fast (SF_KERNEL_BLOCK, top, bottom, close);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *high = in [0], *low = in [1], *close = in [2];
    double *fast_k = out [0], *fast_d = out [1];
    size_t kn = (size_t) args [0], dn = (size_t) args [1];
    //  The highest highs go to %D's output, the lowest lows to %K's, which
    //  becomes fast %K; then %D
    double *top = fast_d, *fast = fast_k;
    sf_window_extremes (high, low, size, kn, top, fast);
    size_t i = kn - 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_fast_block (top + i, fast + i, close + i);
    s_fast (size - i, top + i, fast + i, close + i);
    size_t values = size - (kn - 1);
    sf_kernel_mean (fast + kn - 1, values, dn, dn - 1, fast_d + kn - 1);
    if (state) {
        //  The running sum as the step form has it: afresh at the last
        //  multiple of dn (counting %K values), then slid
        const double *k = fast + kn - 1;
        size_t afresh = values - values % dn - 1;
        double sum = sf_kernel_sum (k + afresh + 1 - dn, dn);
        for (size_t j = afresh + 1; j < values; j++)
            sum += k [j] - k [j - dn];
        state [0] = sum;
        double *highs = state + 1, *lows = highs + kn, *ring = lows + kn;
        for (size_t j = size - kn; j < size; j++) {
            highs [j % kn] = high [j];
            lows [j % kn] = low [j];
        }
        for (size_t j = values - dn; j < values; j++)
            ring [j % dn] = k [j];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t kn = (size_t) args [0], dn = (size_t) args [1];
    double *highs = state + 1, *lows = highs + kn, *ring = lows + kn;
    highs [seen % kn] = in [0][i];
    lows [seen % kn] = in [1][i];
    if (seen + 1 < kn)
        return;
    double top = highs [0], bottom = lows [0];
    for (size_t j = 1; j < kn; j++) {
        top = highs [j] > top? highs [j]: top;
        bottom = lows [j] < bottom? lows [j]: bottom;
    }
    double close = in [2][i];
    s_fast (1, &top, &bottom, &close);
    //  The %K values from 0, as the kernel's SMA counts them
    uint64_t j = seen + 1 - kn;
    size_t slot = (size_t) (j % dn);
    double old = ring [slot];
    ring [slot] = bottom;
    if ((j + 1) % dn == 0)
        state [0] = sf_kernel_sum (ring, dn);
    else
    if (j >= dn)
        state [0] += bottom - old;
    out [0] = bottom;
    out [1] = state [0] * (1.0 / (double) dn);
}

const sf_indicator_t sf_indicator_stochf = {
    .inputs = "hlc", .outputs = { "k", "d" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_stochf);
}

static const sf_param_t s_params [] = {
    { "fastk", SF_PARAM_INT, 5, 1, 100000, NULL, "%K window" },
    { "fastd", SF_PARAM_INT, 3, 1, 100000, NULL, "%D smoothing (SMA)" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_stochf = {
    .name = "stochf", .version = "1", .summary = "fast stochastic %K and %D (5, 3)",
    .analyze = s_analyze, .params = s_params
};
