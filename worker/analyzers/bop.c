/*  =========================================================================
    bop - balance of power (TA-Lib BOP)

    bop = (close - open) / (high - low); 0 when high - low < 1e-14 (TA-Lib's
    rule, which also covers a high below the low). No params; lookback 0.
    Every candle is independent of the others: the compiler vectorises the
    kernel, and the step form keeps no state.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_none (const double *args)
{
    (void) args;
    return 0;
}

//  bop of count candles.
static inline void
s_bop (size_t count, const double *restrict open, const double *restrict high,
       const double *restrict low, const double *restrict close, double *restrict bop)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        bop [b] = (close [b] - open [b]) / (high [b] - low [b]);
    for (size_t b = 0; b < count; b++)
        bop [b] = high [b] - low [b] < 1e-14? 0.0: bop [b];
}

static SF_KERNEL_CLONES void
s_bop_block (const double *open, const double *high, const double *low, const double *close,
             double *bop)
{
    s_bop (SF_KERNEL_BLOCK, open, high, low, close, bop);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args, (void) state;
    size_t i = 0;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_bop_block (in [0] + i, in [1] + i, in [2] + i, in [3] + i, out [0] + i);
    s_bop (size - i, in [0] + i, in [1] + i, in [2] + i, in [3] + i, out [0] + i);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) state, (void) seen, (void) args;
    s_bop (1, in [0] + i, in [1] + i, in [2] + i, in [3] + i, out);
}

const sf_indicator_t sf_indicator_bop = {
    .inputs = "ohlc", .outputs = { "bop" }, .lookback = s_none, .kernel = s_kernel,
    .state_size = s_none, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_bop);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_bop = {
    .name = "bop", .version = "1", .summary = "balance of power (C - O) / (H - L)",
    .analyze = s_analyze, .params = s_params
};
