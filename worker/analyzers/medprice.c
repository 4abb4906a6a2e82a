/*  =========================================================================
    medprice - median price (TA-Lib MEDPRICE)

    medprice = (high + low) / 2. No params; lookback 0. Every candle is
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

//  medprice of count candles.
static inline void
s_median (size_t count, const double *restrict high, const double *restrict low,
          double *restrict median)
{
    for (size_t b = 0; b < count; b++)
        median [b] = (high [b] + low [b]) * 0.5;
}

static SF_KERNEL_CLONES void
s_median_block (const double *high, const double *low, double *median)
{
    s_median (SF_KERNEL_BLOCK, high, low, median);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args, (void) state;
    size_t i = 0;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_median_block (in [0] + i, in [1] + i, out [0] + i);
    s_median (size - i, in [0] + i, in [1] + i, out [0] + i);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) state, (void) seen, (void) args;
    s_median (1, in [0] + i, in [1] + i, out);
}

const sf_indicator_t sf_indicator_medprice = {
    .inputs = "hl", .outputs = { "medprice" }, .lookback = s_none, .kernel = s_kernel,
    .state_size = s_none, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_medprice);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_medprice = {
    .name = "medprice", .version = "1", .summary = "median price (H + L) / 2",
    .analyze = s_analyze, .params = s_params
};
