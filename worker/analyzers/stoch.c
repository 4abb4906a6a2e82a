/*  =========================================================================
    stoch - slow stochastic oscillator (TA-Lib STOCH, SMA smoothing)

    fast %K = 100 × (close - lowest low) / (highest high - lowest low)
    over `k` candles (0 when the range is empty); slow %K = SMA of fast %K
    over `slowk`; slow %D = SMA of slow %K over `d`. Both outputs start
    together. Params: k (1-100000, default 14), slowk (1-100000, default
    3), d (1-100000, default 3); lookback k + slowk + d - 3.

    The highest high and lowest low of every window come from
    sf_window_extremes, O(1) a candle; the SMAs are running sums, summed
    afresh every window length.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  args: k, slowk, d (as declared).
static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] + (size_t) args [1] + (size_t) args [2] - 3;
}

//  Fast %K of count candles (at most SF_KERNEL_BLOCK) from their
//  extremes; bottom becomes fast %K.
static inline void
s_fast (size_t count, const double *restrict top, double *restrict bottom,
        const double *restrict close)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    double range [SF_KERNEL_BLOCK];
    for (size_t b = 0; b < count; b++) {
        range [b] = top [b] - bottom [b];
        bottom [b] = 100.0 * (close [b] - bottom [b]) / range [b];
    }
    for (size_t b = 0; b < count; b++)
        bottom [b] = range [b] == 0? 0.0: bottom [b];
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
    (void) state;
    const double *high = in [0], *low = in [1], *close = in [2];
    double *slow_k = out [0], *slow_d = out [1];
    size_t kn = (size_t) args [0], sn = (size_t) args [1], dn = (size_t) args [2];
    //  The outputs hold the extremes first, then fast %K in slow_d, which
    //  the last pass overwrites
    double *top = slow_k, *fast = slow_d;
    sf_window_extremes (high, low, size, kn, top, fast);
    size_t i = kn - 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_fast_block (top + i, fast + i, close + i);
    s_fast (size - i, top + i, fast + i, close + i);
    sf_kernel_mean (fast + kn - 1, size - (kn - 1), sn, sn - 1, slow_k + kn - 1);
    size_t first = kn + sn - 2;
    sf_kernel_mean (slow_k + first, size - first, dn, dn - 1, slow_d + first);
}

const sf_indicator_t sf_indicator_stoch = {
    .inputs = "hlc", .outputs = { "k", "d" }, .lookback = s_lookback, .kernel = s_kernel
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_stoch);
}

static const sf_param_t s_params [] = {
    { "k", SF_PARAM_INT, 14, 1, 100000, NULL, "%K window" },
    { "slowk", SF_PARAM_INT, 3, 1, 100000, NULL, "slow %K smoothing" },
    { "d", SF_PARAM_INT, 3, 1, 100000, NULL, "%D smoothing" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_stoch = {
    .name = "stoch", .version = "2", .summary = "slow stochastic %K and %D (14, 3, 3)",
    .analyze = s_analyze, .params = s_params
};
