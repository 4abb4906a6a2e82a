/*  =========================================================================
    adx - average directional index (TA-Lib ADX)

    +DM = high - high[-1] when that is positive and more than low[-1] -
    low, else 0; -DM likewise the other way; ties give 0 to both. Wilder
    sums of +DM, -DM and the true range start as plain sums over candles
    1 .. period-1, then S = S × (1 - 1 / period) + x. From index period,
    DI± = 100 × S±DM / STR and DX = 100 × |DI+ - DI-| / (DI+ + DI-). ADX is
    the mean of the first `period` DX values (at index 2 × period - 1),
    then ADX × (period - 1) / period + DX / period. When the true range sum
    or DI+ + DI- is about 0, DX (and so ADX) keeps its previous value.
    Params: period (2-100000, default 14); lookback 2 × period - 1.

    The kernel takes a block of candles in four passes: the directional
    movements and true ranges (independent iterations, vectorised), the
    three Wilder sums (a recurrence), the DX values with their divisions
    (vectorised), and the ADX recurrence.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return 2 * (size_t) args [0] - 1;
}

//  +DM, -DM and the true range of candles first .. first + count - 1.
static inline void
s_moves (size_t count, const double *restrict high, const double *restrict low,
         const double *restrict close, size_t first, double *restrict plus,
         double *restrict minus, double *restrict range)
{
    for (size_t b = 0; b < count; b++) {
        size_t i = first + b;
        double up = high [i] - high [i - 1], down = low [i - 1] - low [i];
        //  Each select on a comparison of the moves themselves, which the
        //  compiler vectorises
        double rise = up > 0? up: 0, fall = down > 0? down: 0;
        plus [b] = up > down? rise: 0;
        minus [b] = down > up? fall: 0;
        range [b] = sf_kernel_true_range (high, low, close, i);
    }
}

//  DX from the Wilder sums, and the DI+ + DI- it divides by (DX is not
//  defined where that or the true range sum is about 0). No comparison
//  here, so that the loop vectorises.
static inline void
s_dx (size_t count, const double *restrict plus, const double *restrict minus,
      const double *restrict range, double *restrict dx, double *restrict total)
{
    for (size_t b = 0; b < count; b++) {
        double plus_di = 100.0 * plus [b] / range [b];
        double minus_di = 100.0 * minus [b] / range [b];
        total [b] = plus_di + minus_di;
        dx [b] = 100.0 * fabs (plus_di - minus_di) / total [b];
    }
}

static SF_KERNEL_CLONES void
s_moves_block (const double *high, const double *low, const double *close, size_t first,
               double *plus, double *minus, double *range)
{
    s_moves (SF_KERNEL_BLOCK, high, low, close, first, plus, minus, range);
}

static SF_KERNEL_CLONES void
s_dx_block (const double *plus, const double *minus, const double *range, double *dx,
            double *total)
{
    s_dx (SF_KERNEL_BLOCK, plus, minus, range, dx, total);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) state;
    const double *restrict high = in [0], *restrict low = in [1], *restrict close = in [2];
    double *restrict adx = out [0];
    size_t n = (size_t) args [0], lookback = 2 * n - 1;
    double keep = 1.0 - 1.0 / (double) n;
    double adx_keep = (double) (n - 1) / (double) n, inv = 1.0 / (double) n;
    double plus [SF_KERNEL_BLOCK], minus [SF_KERNEL_BLOCK], range [SF_KERNEL_BLOCK];
    double dx [SF_KERNEL_BLOCK], total [SF_KERNEL_BLOCK];
    double plus_sum = 0, minus_sum = 0, range_sum = 0, value = 0, average = 0;
    for (size_t i = 1; i < n; ) {
        size_t count = n - i < SF_KERNEL_BLOCK? n - i: SF_KERNEL_BLOCK;
        s_moves (count, high, low, close, i, plus, minus, range);
        for (size_t b = 0; b < count; b++) {
            plus_sum += plus [b];
            minus_sum += minus [b];
            range_sum += range [b];
        }
        i += count;
    }
    for (size_t i = n; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        if (count == SF_KERNEL_BLOCK)
            s_moves_block (high, low, close, i, plus, minus, range);
        else
            s_moves (count, high, low, close, i, plus, minus, range);
        for (size_t b = 0; b < count; b++) {
            plus [b] = plus_sum = plus_sum * keep + plus [b];
            minus [b] = minus_sum = minus_sum * keep + minus [b];
            range [b] = range_sum = range_sum * keep + range [b];
        }
        if (count == SF_KERNEL_BLOCK)
            s_dx_block (plus, minus, range, dx, total);
        else
            s_dx (count, plus, minus, range, dx, total);
        for (size_t b = 0; b < count; b++, i++) {
            //  Where DX is not defined it keeps its value
            if (range [b] > 1e-14 && total [b] > 1e-14)
                value = dx [b];
            if (i > lookback)
                adx [i] = average = average * adx_keep + value * inv;
            else
            if (i < lookback)
                average += value;
            else
                adx [i] = average = (average + value) / (double) n;
        }
    }
}

const sf_indicator_t sf_indicator_adx = {
    .inputs = "hlc", .outputs = { "adx" }, .lookback = s_lookback, .kernel = s_kernel
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_adx);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_adx = {
    .name = "adx", .version = "2", .summary = "average directional index (period 14)",
    .analyze = s_analyze, .params = s_params
};
