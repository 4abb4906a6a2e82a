/*  =========================================================================
    rocr - rate of change as a ratio (TA-Lib ROCR)

    rocr = close / close[-period]; 0 when close[-period] is 0. Params:
    period (1-100000, default 10); lookback period. Every candle is
    independent of the others: the compiler vectorises the kernel.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last `period`
    closes, in a ring indexed by candle number.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_period (const double *args)
{
    return (size_t) args [0];
}

//  rocr of count candles (at most SF_KERNEL_BLOCK) from now and before,
//  period candles apart.
static inline void
s_rocr (size_t count, const double *restrict now, const double *restrict before,
        double *restrict rocr)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        rocr [b] = now [b] / before [b];
    for (size_t b = 0; b < count; b++)
        rocr [b] = before [b] == 0? 0.0: rocr [b];
}

static SF_KERNEL_CLONES void
s_rocr_block (const double *now, const double *before, double *rocr)
{
    s_rocr (SF_KERNEL_BLOCK, now, before, rocr);
}

//  State: the ring of the last n closes.
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *close = in [0];
    double *rocr = out [0];
    size_t n = (size_t) args [0], i = n;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_rocr_block (close + i, close + i - n, rocr + i);
    s_rocr (size - i, close + i, close + i - n, rocr + i);
    if (state)
        for (size_t j = size - n; j < size; j++)
            state [j % n] = close [j];
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t slot = (size_t) (seen % (uint64_t) args [0]);
    double before = state [slot];
    state [slot] = in [0][i];
    s_rocr (1, in [0] + i, &before, out);
}

const sf_indicator_t sf_indicator_rocr = {
    .inputs = "c", .outputs = { "rocr" }, .lookback = s_period, .kernel = s_kernel,
    .state_size = s_period, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_rocr);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 10, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_rocr = {
    .name = "rocr", .version = "1",
    .summary = "rate of change ratio C / C[-period] (period 10)",
    .analyze = s_analyze, .params = s_params
};
