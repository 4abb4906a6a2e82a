/*  =========================================================================
    typprice - typical price (TA-Lib TYPPRICE)

    typprice = (high + low + close) / 3, divided as TA-Lib does (not
    multiplied by a rounded third). No params; lookback 0. Every candle is
    independent of the others: the compiler vectorises the kernel, and the
    step form keeps no state.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_none (const double *args)
{
    (void) args;
    return 0;
}

//  typprice of count candles.
static inline void
s_typical (size_t count, const double *restrict high, const double *restrict low,
           const double *restrict close, double *restrict typical)
{
    for (size_t b = 0; b < count; b++)
        typical [b] = (high [b] + low [b] + close [b]) / 3.0;
}

static SF_KERNEL_CLONES void
s_typical_block (const double *high, const double *low, const double *close, double *typical)
{
    s_typical (SF_KERNEL_BLOCK, high, low, close, typical);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args, (void) state;
    size_t i = 0;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_typical_block (in [0] + i, in [1] + i, in [2] + i, out [0] + i);
    s_typical (size - i, in [0] + i, in [1] + i, in [2] + i, out [0] + i);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) state, (void) seen, (void) args;
    s_typical (1, in [0] + i, in [1] + i, in [2] + i, out);
}

const sf_indicator_t sf_indicator_typprice = {
    .inputs = "hlc", .outputs = { "typprice" }, .lookback = s_none, .kernel = s_kernel,
    .state_size = s_none, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_typprice);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_typprice = {
    .name = "typprice", .version = "1", .summary = "typical price (H + L + C) / 3",
    .analyze = s_analyze, .params = s_params
};
