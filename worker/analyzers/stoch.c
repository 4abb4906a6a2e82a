/*  =========================================================================
    stoch - slow stochastic oscillator (TA-Lib STOCH, SMA smoothing)

    fast %K = 100 × (close - lowest low) / (highest high - lowest low)
    over `k` candles (0 when the range is empty); slow %K = SMA of fast %K
    over `slowk`; slow %D = SMA of slow %K over `d`. Both outputs start
    together. Params: k (1-100000, default 14), slowk (1-100000, default
    3), d (1-100000, default 3); lookback k + slowk + d - 3.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int k_period = sf_actx_int (ctx, "k");
    int slowk_period = sf_actx_int (ctx, "slowk");
    int d_period = sf_actx_int (ctx, "d");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t kn = (size_t) k_period, sn = (size_t) slowk_period, dn = (size_t) d_period;
    size_t lookback = kn + sn + dn - 3;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, lookback, &candles))
        return -1;
    size_t size = candles->size;
    double *fast = sf_series_alloc (size);
    double *slow_k = sf_series_alloc (size);
    double *slow_d = sf_series_alloc (size);
    for (size_t i = kn - 1; i < size; i++) {
        double highest = candles->high [i], lowest = candles->low [i];
        for (size_t j = i + 1 - kn; j < i; j++) {
            highest = candles->high [j] > highest? candles->high [j]: highest;
            lowest = candles->low [j] < lowest? candles->low [j]: lowest;
        }
        fast [i] = highest == lowest? 0.0
                 : 100.0 * (candles->close [i] - lowest) / (highest - lowest);
    }
    for (size_t i = kn + sn - 2; i < size; i++) {
        double sum = 0;
        for (size_t j = i + 1 - sn; j <= i; j++)
            sum += fast [j];
        slow_k [i] = sum / (double) sn;
    }
    for (size_t i = lookback; i < size; i++) {
        double sum = 0;
        for (size_t j = i + 1 - dn; j <= i; j++)
            sum += slow_k [j];
        slow_d [i] = sum / (double) dn;
    }
    const char *names [] = { "k", "d" };
    const double *outputs [] = { slow_k, slow_d };
    sf_series_pack (ctx, candles, lookback, last, names, outputs, 2);
    free (fast);
    free (slow_k);
    free (slow_d);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    { "k", SF_PARAM_INT, 14, 1, 100000, NULL, "%K window" },
    { "slowk", SF_PARAM_INT, 3, 1, 100000, NULL, "slow %K smoothing" },
    { "d", SF_PARAM_INT, 3, 1, 100000, NULL, "%D smoothing" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_stoch = {
    .name = "stoch", .version = "1", .summary = "slow stochastic %K and %D (14, 3, 3)",
    .analyze = s_analyze, .params = s_params
};
