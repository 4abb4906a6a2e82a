/*  =========================================================================
    adxr - average directional movement index rating (TA-Lib ADXR)

    adxr = (ADX + ADX period-1 candles before) / 2, with ADX as TA-Lib has
    it: DX as dx has it from index period; ADX the mean of the first
    `period` DX (at index 2 × period - 1), then ADX × (period - 1) / period
    + DX / period. A DX that is not defined (the true range sum or DI+ +
    DI- below 1e-14) adds nothing to the first mean and leaves ADX where it
    is. Params: period (2-100000, default 14); lookback 3 × period - 2.

    The kernel writes ADX into the output, then turns it into adxr from
    the last candle back, so that each ADX it still needs is unchanged.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the candle before,
    the three sums, the ADX (the sum of DX while the first is being built)
    and the last period - 1 ADX values, in a ring indexed by candle number.
    ========================================================================= */

#include <stdlib.h>
#include "directional.h"

//  The state's slots after the sums'.
enum { S_ADX = SF_DIRECTIONAL_STATE, S_RING };

static size_t
s_lookback (const double *args)
{
    return 3 * (size_t) args [0] - 2;
}

static size_t
s_state_size (const double *args)
{
    return S_RING + (size_t) args [0] - 1;
}

static SF_KERNEL_CLONES void
s_dx_block (const double *plus, const double *minus, const double *range, double *dx,
            double *defined)
{
    sf_directional_dx (SF_KERNEL_BLOCK, plus, minus, range, dx, defined);
}

//  Fold a DX (used only when defined) into the ADX of candle seen:
//  summed while seeding, the mean at 2n - 1, Wilder's average after.
static inline double
s_adx (double adx, uint64_t seen, size_t n, double dx, double defined)
{
    if (seen + 1 < 2 * n)
        return adx + (defined != 0? dx: 0);
    if (seen + 1 == 2 * n)
        return (adx + (defined != 0? dx: 0)) / (double) n;
    double keep = (double) (n - 1) / (double) n, inv = 1.0 / (double) n;
    return defined != 0? adx * keep + dx * inv: adx;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *high = in [0], *low = in [1], *close = in [2];
    double *restrict adxr = out [0];
    size_t n = (size_t) args [0], back = n - 1;
    sf_directional_t sums = sf_directional_seed (high, low, close, n);
    double plus [SF_KERNEL_BLOCK], minus [SF_KERNEL_BLOCK], range [SF_KERNEL_BLOCK];
    double dx [SF_KERNEL_BLOCK], defined [SF_KERNEL_BLOCK];
    double keep = (double) (n - 1) / (double) n, inv = 1.0 / (double) n;
    double adx = 0;
    for (size_t i = n; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        sf_directional_block (&sums, high, low, close, i, count, n, plus, minus, range);
        if (count == SF_KERNEL_BLOCK)
            s_dx_block (plus, minus, range, dx, defined);
        else
            sf_directional_dx (count, plus, minus, range, dx, defined);
        size_t b = 0;
        //  Seeding, then Wilder's average without a call a candle
        for (; b < count && i + b < 2 * n; b++)
            adx = s_adx (adx, i + b, n, dx [b], defined [b]);
        if (i + b == 2 * n)
            adxr [2 * n - 1] = adx;
        for (; b < count; b++)
            adxr [i + b] = adx = defined [b] != 0? adx * keep + dx [b] * inv: adx;
        i += count;
    }
    if (state) {
        sf_directional_state (&sums, high, low, close, size, state);
        state [S_ADX] = adx;
        for (size_t t = size - back; t < size; t++)
            state [S_RING + t % back] = adxr [t];
    }
    for (size_t t = size - 1; t >= 3 * n - 2; t--)
        adxr [t] = (adxr [t] + adxr [t - back]) / 2.0;
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0], back = n - 1;
    sf_directional_step (state, seen, in, i, n, true);
    if (seen < n)
        return;
    double dx, defined;
    sf_directional_dx (1, state + SF_DIRECTIONAL_PLUS, state + SF_DIRECTIONAL_MINUS,
                       state + SF_DIRECTIONAL_RANGE, &dx, &defined);
    double adx = state [S_ADX] = s_adx (state [S_ADX], seen, n, dx, defined);
    if (seen + 1 < 2 * n)
        return;
    //  The ring's slot holds the ADX of period - 1 candles before
    double *slot = state + S_RING + seen % back;
    out [0] = (adx + *slot) / 2.0;
    *slot = adx;
}

const sf_indicator_t sf_indicator_adxr = {
    .inputs = "hlc", .outputs = { "adxr" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_adxr);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_adxr = {
    .name = "adxr", .version = "1",
    .summary = "average directional movement index rating (period 14)",
    .analyze = s_analyze, .params = s_params
};
