/*  =========================================================================
    ema - exponential moving average of closes (TA-Lib EMA)

    alpha = 2 / (period + 1); the first value, at index period - 1, is the
    SMA of the first `period` closes; then ema = alpha * close + (1 - alpha)
    * ema. Params: period (2-100000, default 20); lookback period - 1.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period - 1, &candles))
        return -1;
    size_t n = (size_t) period;
    double *ema = (double *) malloc (candles->size * sizeof (double));
    if (!ema)
        abort ();
    const double *close = candles->close;
    double alpha = 2.0 / ((double) n + 1.0);
    double seed = 0;
    for (size_t i = 0; i < n; i++)
        seed += close [i];
    ema [n - 1] = seed / (double) n;
    for (size_t i = n; i < candles->size; i++)
        ema [i] = alpha * close [i] + (1.0 - alpha) * ema [i - 1];
    const char *names [] = { "ema" };
    const double *outputs [] = { ema };
    sf_series_pack (ctx, candles, n - 1, last, names, outputs, 1);
    free (ema);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ema = {
    .name = "ema", .version = "1", .summary = "exponential moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
