/*  =========================================================================
    roc - rate of change in percent (TA-Lib ROC)

    roc = 100 × (close / close[-period] - 1); 0 when close[-period] is 0.
    Params: period (1-100000, default 10); lookback period. Every candle is
    independent of the others: the compiler vectorises the kernel.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

//  roc of count candles from now and before, period candles apart.
static inline void
s_roc (size_t count, const double *restrict now, const double *restrict before,
       double *restrict roc)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        roc [b] = 100.0 * (now [b] / before [b] - 1.0);
    for (size_t b = 0; b < count; b++)
        roc [b] = before [b] == 0? 0.0: roc [b];
}

static SF_KERNEL_CLONES void
s_roc_block (const double *now, const double *before, double *roc)
{
    s_roc (SF_KERNEL_BLOCK, now, before, roc);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) state;
    const double *close = in [0];
    double *roc = out [0];
    size_t n = (size_t) args [0], i = n;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_roc_block (close + i, close + i - n, roc + i);
    s_roc (size - i, close + i, close + i - n, roc + i);
}

const sf_indicator_t sf_indicator_roc = {
    .inputs = "c", .outputs = { "roc" }, .lookback = s_lookback, .kernel = s_kernel
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_roc);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 10, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_roc = {
    .name = "roc", .version = "1", .summary = "rate of change in percent (period 10)",
    .analyze = s_analyze, .params = s_params
};
