/*  =========================================================================
    trix - rate of change of a triple EMA, in percent (TA-Lib TRIX)

    E3 = EMA(EMA(EMA(close))), each EMA(period) seeded with the mean of its
    first `period` values (stages.h), so E3 starts at index 3 (period - 1);
    trix = 100 × (E3 / E3[-1] - 1), 0 when E3[-1] is 0. Params: period
    (1-100000, default 30); lookback 3 (period - 1) + 1.

    The kernel runs the EMAs over a block of candles, then the block's
    divisions in a loop of independent iterations that the compiler
    vectorises.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the three EMAs, the
    sums that seed them and the E3 before.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "stages.h"

#define S_STAGES 3

//  The state's slots: the EMAs, their seed sums, the E3 before.
enum { S_EMAS, S_SUMS = S_STAGES, S_BEFORE = 2 * S_STAGES, S_STATE };

static size_t
s_lookback (const double *args)
{
    return S_STAGES * ((size_t) args [0] - 1) + 1;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return S_STATE;
}

//  trix of count candles from E3 (e3[0] the value before the first).
static inline void
s_trix (size_t count, const double *restrict e3, double *restrict trix)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        trix [b] = (e3 [b + 1] / e3 [b] - 1.0) * 100.0;
    for (size_t b = 0; b < count; b++)
        trix [b] = e3 [b] == 0? 0.0: trix [b];
}

static SF_KERNEL_CLONES void
s_trix_block (const double *e3, double *trix)
{
    s_trix (SF_KERNEL_BLOCK, e3, trix);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict trix = out [0];
    size_t n = (size_t) args [0], lookback = s_lookback (args);
    double warm [S_STATE] = { 0 };
    for (size_t i = 0; i < lookback; i++)
        sf_stages_step (warm + S_EMAS, warm + S_SUMS, S_STAGES, n, i, close [i]);
    double k = 2.0 / ((double) n + 1.0), keep = 1.0 - k;
    double e1 = warm [S_EMAS], e2 = warm [S_EMAS + 1], e3 [SF_KERNEL_BLOCK + 1];
    e3 [0] = warm [S_EMAS + 2];
    for (size_t i = lookback; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        for (size_t b = 0; b < count; b++) {
            e1 = k * close [i + b] + keep * e1;
            e2 = k * e1 + keep * e2;
            e3 [b + 1] = k * e2 + keep * e3 [b];
        }
        if (count == SF_KERNEL_BLOCK)
            s_trix_block (e3, trix + i);
        else
            s_trix (count, e3, trix + i);
        i += count;
        if (i < size)
            e3 [0] = e3 [count];
        else {
            warm [S_BEFORE] = e3 [count];
            warm [S_EMAS + 2] = e3 [count];
        }
    }
    if (state) {
        warm [S_EMAS] = e1;
        warm [S_EMAS + 1] = e2;
        for (size_t j = 0; j < S_STATE; j++)
            state [j] = warm [j];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    double e3 [2] = { state [S_BEFORE], 0 };
    size_t stages = sf_stages_step (state + S_EMAS, state + S_SUMS, S_STAGES,
                                    (size_t) args [0], seen, in [0][i]);
    if (stages < S_STAGES)
        return;
    e3 [1] = state [S_BEFORE] = state [S_EMAS + 2];
    s_trix (1, e3, out);
}

const sf_indicator_t sf_indicator_trix = {
    .inputs = "c", .outputs = { "trix" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_trix);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 30, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_trix = {
    .name = "trix", .version = "1", .summary = "rate of change of a triple EMA, % (period 30)",
    .analyze = s_analyze, .params = s_params
};
