/*  =========================================================================
    obv - on-balance volume (TA-Lib OBV)

    obv[0] = volume[0]; then + volume when the close rose, - volume when it
    fell, unchanged when equal. No params; lookback 0.
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
    double *obv = sf_series_alloc (candles->size);
    const double *close = candles->close;
    obv [0] = candles->volume [0];
    for (size_t i = 1; i < candles->size; i++)
        obv [i] = obv [i - 1] + (close [i] > close [i - 1]? candles->volume [i]:
                                 close [i] < close [i - 1]? -candles->volume [i]: 0.0);
    const char *names [] = { "obv" };
    const double *outputs [] = { obv };
    sf_series_pack (ctx, candles, 0, last, names, outputs, 1);
    free (obv);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_obv = {
    .name = "obv", .version = "1", .summary = "on-balance volume",
    .analyze = s_analyze, .params = s_params
};
