/*  =========================================================================
    volatility - standard deviation of one-period log returns

    The sample standard deviation (divided by n - 1) of the last `period`
    values of ln (close / close[-1]); 0 when the variance is below 1e-14;
    multiplied by sqrt (periods_per_year) when that is given (e.g. 252
    for daily candles). The window slides (sf_window_series), O(1) a
    candle. Params: period (2-100000, default 20), periods_per_year
    (optional, 1-1000000); lookback period. Closes must be positive.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

//  args: period, periods_per_year.
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) state;
    const double *close = in [0];
    double *returns = sf_kernel_scratch (size);
    for (size_t i = 1; i < size; i++)
        returns [i] = log (close [i] / close [i - 1]);
    //  The return at candle i is the (i - 1)-th value of the window
    sf_window_series (returns + 1, size - 1, (size_t) args [0], 1, sqrt (args [1]),
                      out [0] + 1, NULL, NULL, NULL);
    free (returns);
}

static int
s_check (sf_actx_t *ctx, const double *args, const sf_candles_t *candles)
{
    (void) args;
    for (size_t i = 0; candles && i < candles->size; i++)
        if (candles->close [i] <= 0) {
            sf_actx_context_int (ctx, "row", (int64_t) i);
            return sf_actx_fail (ctx, "BAD_INPUT", "close at row %zu is not positive", i);
        }
    return 0;
}

const sf_indicator_t sf_indicator_volatility = {
    .inputs = "c", .outputs = { "volatility" }, .lookback = s_lookback, .kernel = s_kernel,
    .check = s_check
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_volatility);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    { "periods_per_year", SF_PARAM_REAL, 1, 1, 1000000, NULL, "candles per year, to annualise" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_volatility = {
    .name = "volatility", .version = "3",
    .summary = "sample stdev of log returns (period 20, optionally annualised)",
    .analyze = s_analyze, .params = s_params
};
