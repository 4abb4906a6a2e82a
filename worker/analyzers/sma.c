/*  =========================================================================
    sma - simple moving average of closes (TA-Lib SMA)

    sma[i] = mean (close[i-period+1 .. i]); params: period (2-100000,
    default 20); lookback period - 1. A running sum, corrected every
    `period` steps by summing afresh, keeps long series from drifting.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "sf_series.h"

void
sf_indicator_sma (const double *close, size_t size, size_t n, double *out)
{
    double sum = 0;
    for (size_t i = 0; i < size; i++) {
        sum += close [i];
        if (i >= n)
            sum -= close [i - n];
        if ((i + 1) % n == 0) {
            sum = 0;            //  Afresh, so rounding never accumulates
            for (size_t j = i + 1 - n; j <= i; j++)
                sum += close [j];
        }
        if (i + 1 >= n)
            out [i] = sum / (double) n;
    }
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period - 1, &candles))
        return -1;
    size_t n = (size_t) period;
    double *sma = sf_series_alloc (candles->size);
    sf_indicator_sma (candles->close, candles->size, n, sma);
    const char *names [] = { "sma" };
    const double *outputs [] = { sma };
    sf_series_pack (ctx, candles, n - 1, last, names, outputs, 1);
    free (sma);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_sma = {
    .name = "sma", .version = "1", .summary = "simple moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
