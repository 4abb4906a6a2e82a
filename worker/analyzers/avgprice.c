/*  =========================================================================
    avgprice - average price (TA-Lib AVGPRICE)

    avgprice = (high + low + close + open) / 4, summed in that order as
    TA-Lib does. No params; lookback 0. Every candle is independent of the
    others: the compiler vectorises the kernel, and the step form keeps no
    state.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_none (const double *args)
{
    (void) args;
    return 0;
}

//  avgprice of count candles.
static inline void
s_average (size_t count, const double *restrict open, const double *restrict high,
           const double *restrict low, const double *restrict close, double *restrict average)
{
    for (size_t b = 0; b < count; b++)
        average [b] = (high [b] + low [b] + close [b] + open [b]) * 0.25;
}

static SF_KERNEL_CLONES void
s_average_block (const double *open, const double *high, const double *low, const double *close,
                 double *average)
{
    s_average (SF_KERNEL_BLOCK, open, high, low, close, average);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args, (void) state;
    size_t i = 0;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_average_block (in [0] + i, in [1] + i, in [2] + i, in [3] + i, out [0] + i);
    s_average (size - i, in [0] + i, in [1] + i, in [2] + i, in [3] + i, out [0] + i);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) state, (void) seen, (void) args;
    s_average (1, in [0] + i, in [1] + i, in [2] + i, in [3] + i, out);
}

const sf_indicator_t sf_indicator_avgprice = {
    .inputs = "ohlc", .outputs = { "avgprice" }, .lookback = s_none, .kernel = s_kernel,
    .state_size = s_none, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_avgprice);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_avgprice = {
    .name = "avgprice", .version = "1", .summary = "average price (O + H + L + C) / 4",
    .analyze = s_analyze, .params = s_params
};
