/*  =========================================================================
    volatility - standard deviation of one-period log returns

    The sample standard deviation (divided by n - 1) of the last `period`
    values of ln (close / close[-1]); 0 when the variance is below 1e-14;
    multiplied by sqrt (periods_per_year) when that is given (e.g. 252
    for daily candles). The window slides (sf_window_push), O(1) a candle.
    Params: period (2-100000, default 20), periods_per_year (optional,
    1-1000000); lookback period.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"
#include "sf_series.h"

void
sf_indicator_volatility (const double *close, size_t size, size_t n, double *out)
{
    double *window = sf_series_alloc (SF_WINDOW_SIZE (n));
    for (size_t i = 1; i < size; i++) {
        //  The return at i is the (i - 1)-th value of the window
        sf_window_push (window, n, i - 1, log (close [i] / close [i - 1]));
        if (i >= n)
            out [i] = sqrt (sf_window_variance (window, n, 1));
    }
    free (window);
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    double per_year = sf_actx_real (ctx, "periods_per_year");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period, &candles))
        return -1;
    size_t n = (size_t) period, size = candles->size;
    for (size_t i = 0; i < size; i++)
        if (candles->close [i] <= 0) {
            sf_actx_context_int (ctx, "row", (int64_t) i);
            sf_candles_destroy (&candles);
            return sf_actx_fail (ctx, "BAD_INPUT", "close at row %zu is not positive", i);
        }
    double *volatility = sf_series_alloc (size);
    sf_indicator_volatility (candles->close, size, n, volatility);
    double scale = sqrt (per_year);
    for (size_t i = n; i < size; i++)
        volatility [i] *= scale;
    const char *names [] = { "volatility" };
    const double *outputs [] = { volatility };
    sf_series_pack (ctx, candles, n, last, names, outputs, 1);
    free (volatility);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    { "periods_per_year", SF_PARAM_REAL, 1, 1, 1000000, NULL, "candles per year, to annualise" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_volatility = {
    .name = "volatility", .version = "2",
    .summary = "sample stdev of log returns (period 20, optionally annualised)",
    .analyze = s_analyze, .params = s_params
};
