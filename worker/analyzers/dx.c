/*  =========================================================================
    dx - directional movement index (TA-Lib DX)

    DX = 100 × |DI+ - DI-| / (DI+ + DI-) from index period, with DI± as
    plus_di and minus_di have them (Wilder sums of ±DM and of the true
    range, seeded over candles 1 .. period-1). Where DX is not defined
    (the true range sum or DI+ + DI- below 1e-14) it repeats its value
    before, 0 at the first. Params: period (2-100000, default 14); lookback
    period.

    A block of candles goes through the shared movements and sums
    (directional.c), then its divisions in a loop of independent
    iterations (vectorised), then the choice of the value kept.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the candle before,
    the three sums and the last DX.
    ========================================================================= */

#include <stdlib.h>
#include "directional.h"

//  The state's slot after the sums'.
enum { S_DX = SF_DIRECTIONAL_STATE, S_STATE };

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return S_STATE;
}

static SF_KERNEL_CLONES void
s_dx_block (const double *plus, const double *minus, const double *range, double *dx,
            double *defined)
{
    sf_directional_dx (SF_KERNEL_BLOCK, plus, minus, range, dx, defined);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *high = in [0], *low = in [1], *close = in [2];
    double *restrict result = out [0];
    size_t n = (size_t) args [0];
    sf_directional_t sums = sf_directional_seed (high, low, close, n);
    double plus [SF_KERNEL_BLOCK], minus [SF_KERNEL_BLOCK], range [SF_KERNEL_BLOCK];
    double dx [SF_KERNEL_BLOCK], defined [SF_KERNEL_BLOCK];
    double value = 0;
    for (size_t i = n; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        sf_directional_block (&sums, high, low, close, i, count, n, plus, minus, range);
        if (count == SF_KERNEL_BLOCK)
            s_dx_block (plus, minus, range, dx, defined);
        else
            sf_directional_dx (count, plus, minus, range, dx, defined);
        for (size_t b = 0; b < count; b++)
            result [i + b] = value = defined [b] != 0? dx [b]: value;
        i += count;
    }
    if (state) {
        sf_directional_state (&sums, high, low, close, size, state);
        state [S_DX] = value;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    sf_directional_step (state, seen, in, i, n, true);
    if (seen < n)
        return;
    double dx, defined;
    sf_directional_dx (1, state + SF_DIRECTIONAL_PLUS, state + SF_DIRECTIONAL_MINUS,
                       state + SF_DIRECTIONAL_RANGE, &dx, &defined);
    if (defined != 0)
        state [S_DX] = dx;
    out [0] = state [S_DX];
}

const sf_indicator_t sf_indicator_dx = {
    .inputs = "hlc", .outputs = { "dx" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_dx);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_dx = {
    .name = "dx", .version = "1", .summary = "directional movement index (period 14)",
    .analyze = s_analyze, .params = s_params
};
