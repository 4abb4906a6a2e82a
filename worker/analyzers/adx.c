/*  =========================================================================
    adx - average directional index (TA-Lib ADX)

    +DM = high - high[-1] when that is positive and more than low[-1] -
    low, else 0; -DM likewise the other way; ties give 0 to both. Wilder
    sums of +DM, -DM and the true range start as plain sums over candles
    1 .. period-1, then S = S - S / period + x. From index period, DI± =
    100 × S±DM / STR and DX = 100 × |DI+ - DI-| / (DI+ + DI-). ADX is the
    mean of the first `period` DX values (at index 2 × period - 1), then
    (ADX × (period - 1) + DX) / period. When the true range sum or DI+ +
    DI- is about 0, DX (and so ADX) keeps its previous value. Params:
    period (2-100000, default 14); lookback 2 × period - 1.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t n = (size_t) period;
    size_t lookback = 2 * n - 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, lookback, &candles))
        return -1;
    size_t size = candles->size;
    const double *high = candles->high, *low = candles->low, *close = candles->close;
    double *adx = sf_series_alloc (size);
    double plus_sum = 0, minus_sum = 0, tr_sum = 0, dx = 0, adx_value = 0;
    for (size_t i = 1; i < size; i++) {
        double up = high [i] - high [i - 1], down = low [i - 1] - low [i];
        double plus_dm = up > 0 && up > down? up: 0;
        double minus_dm = down > 0 && down > up? down: 0;
        double tr = fmax (high [i] - low [i],
                          fmax (fabs (high [i] - close [i - 1]), fabs (low [i] - close [i - 1])));
        if (i < n) {
            plus_sum += plus_dm;
            minus_sum += minus_dm;
            tr_sum += tr;
            continue;
        }
        plus_sum = plus_sum - plus_sum / (double) n + plus_dm;
        minus_sum = minus_sum - minus_sum / (double) n + minus_dm;
        tr_sum = tr_sum - tr_sum / (double) n + tr;
        if (tr_sum > 1e-14) {
            double plus_di = 100.0 * plus_sum / tr_sum, minus_di = 100.0 * minus_sum / tr_sum;
            if (plus_di + minus_di > 1e-14)
                dx = 100.0 * fabs (plus_di - minus_di) / (plus_di + minus_di);
        }
        if (i < lookback)
            adx_value += dx;
        else
        if (i == lookback)
            adx_value = (adx_value + dx) / (double) n;
        else
            adx_value = (adx_value * (double) (n - 1) + dx) / (double) n;
        if (i >= lookback)
            adx [i] = adx_value;
    }
    const char *names [] = { "adx" };
    const double *outputs [] = { adx };
    sf_series_pack (ctx, candles, lookback, last, names, outputs, 1);
    free (adx);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_adx = {
    .name = "adx", .version = "1", .summary = "average directional index (period 14)",
    .analyze = s_analyze, .params = s_params
};
