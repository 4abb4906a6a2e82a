/*  =========================================================================
    vwap - cumulative volume-weighted average price

    vwap = Σ (typical × volume) / Σ volume over every candle since the
    first, typical = (high + low + close) / 3, no session reset. While no
    volume has traded yet it is the typical price. No params; lookback 0.

    The kernel runs the two sums over a block of candles, then the block's
    divisions in a loop the compiler vectorises.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the two sums.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    (void) args;
    return 0;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return 2;
}

//  Typical prices of count candles, and their products with volume.
static inline void
s_typical (size_t count, const double *restrict high, const double *restrict low,
           const double *restrict close, const double *restrict volume,
           double *restrict typical, double *restrict traded)
{
    for (size_t b = 0; b < count; b++) {
        typical [b] = (high [b] + low [b] + close [b]) / 3.0;
        traded [b] = typical [b] * volume [b];
    }
}

//  vwap of count candles from the running sums (where no volume has
//  traded yet, the typical price over 1).
static inline void
s_vwap (size_t count, const double *traded, const double *volume, double *restrict vwap)
{
    for (size_t b = 0; b < count; b++)
        vwap [b] = traded [b] / volume [b];
}

static SF_KERNEL_CLONES void
s_vwap_block (const double *traded, const double *volume, double *vwap)
{
    s_vwap (SF_KERNEL_BLOCK, traded, volume, vwap);
}

//  State: [Σ typical × volume, Σ volume].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args;
    const double *high = in [0], *low = in [1], *close = in [2], *volume = in [3];
    double *vwap = out [0];
    double typical [SF_KERNEL_BLOCK], traded [SF_KERNEL_BLOCK], volumes [SF_KERNEL_BLOCK];
    double traded_sum = 0, volume_sum = 0;
    for (size_t i = 0; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        if (count == SF_KERNEL_BLOCK)
            s_typical (SF_KERNEL_BLOCK, high + i, low + i, close + i, volume + i, typical,
                       traded);
        else
            s_typical (count, high + i, low + i, close + i, volume + i, typical, traded);
        for (size_t b = 0; b < count; b++) {
            traded_sum += traded [b];
            volume_sum += volume [i + b];
            bool none = !(volume_sum > 0);
            traded [b] = none? typical [b]: traded_sum;
            volumes [b] = none? 1.0: volume_sum;
        }
        if (count == SF_KERNEL_BLOCK)
            s_vwap_block (traded, volumes, vwap + i);
        else
            s_vwap (count, traded, volumes, vwap + i);
        i += count;
    }
    if (state) {
        state [0] = traded_sum;
        state [1] = volume_sum;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) args, (void) seen;
    double typical = (in [0][i] + in [1][i] + in [2][i]) / 3.0;
    state [0] += typical * in [3][i];
    state [1] += in [3][i];
    out [0] = state [1] > 0? state [0] / state [1]: typical;
}

const sf_indicator_t sf_indicator_vwap = {
    .inputs = "hlcv", .outputs = { "vwap" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_vwap);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_vwap = {
    .name = "vwap", .version = "1", .summary = "cumulative volume-weighted average price",
    .analyze = s_analyze, .params = s_params
};
