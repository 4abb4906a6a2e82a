/*  =========================================================================
    vwap - cumulative volume-weighted average price

    vwap = Σ (typical × volume) / Σ volume over every candle since the
    first, typical = (high + low + close) / 3, no session reset. While no
    volume has traded yet it is the typical price. No params; lookback 0.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, 0, &candles))
        return -1;
    double *vwap = sf_series_alloc (candles->size);
    double value = 0, volume = 0;
    for (size_t i = 0; i < candles->size; i++) {
        double typical = (candles->high [i] + candles->low [i] + candles->close [i]) / 3.0;
        value += typical * candles->volume [i];
        volume += candles->volume [i];
        vwap [i] = volume > 0? value / volume: typical;
    }
    const char *names [] = { "vwap" };
    const double *outputs [] = { vwap };
    sf_series_pack (ctx, candles, 0, last, names, outputs, 1);
    free (vwap);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_vwap = {
    .name = "vwap", .version = "1", .summary = "cumulative volume-weighted average price",
    .analyze = s_analyze, .params = s_params
};
