/*  =========================================================================
    report - one symbol's summary for periodic reports

    Over the job's candles: the last close and time, the change over the
    window (last close / first close - 1), the trend from a fast and a slow
    SMA of closes ("up" when fast > slow, "down" when fast < slow, else
    "flat"), RSI and its state ("overbought" at or above `overbought`,
    "oversold" at or below `oversold`, else "neutral"), the volatility of
    log returns (annualised when periods_per_year is given) and the ATR,
    each from its indicator's kernel.
    Params: fast (2-100000, default 20), slow (default 50, more than fast),
    rsi_period (14), overbought (70), oversold (30), volatility_period (20),
    atr_period (14), periods_per_year (1). Needs more candles than the
    longest of the lookbacks.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"
#include "sf_mp.h"

//  The last value of indicator's (first) output over candles, which are
//  more than its lookback; work is room for candles->size doubles.
static double
s_last (const sf_indicator_t *indicator, const sf_candles_t *candles, const double *args,
        double *work)
{
    const double *in [SF_INDICATOR_INPUTS];
    sf_series_inputs (indicator, candles, in);
    indicator->kernel (candles->size, in, args, &work, NULL);
    return work [candles->size - 1];
}

static int
s_analyze (sf_actx_t *ctx)
{
    int fast = sf_actx_int (ctx, "fast");
    int slow = sf_actx_int (ctx, "slow");
    int rsi_period = sf_actx_int (ctx, "rsi_period");
    int vol_period = sf_actx_int (ctx, "volatility_period");
    int atr_period = sf_actx_int (ctx, "atr_period");
    double overbought = sf_actx_real (ctx, "overbought");
    double oversold = sf_actx_real (ctx, "oversold");
    double per_year = sf_actx_real (ctx, "periods_per_year");
    if (slow <= fast) {
        sf_actx_context_str (ctx, "param", "slow");
        return sf_actx_fail (ctx, "BAD_INPUT", "param \"slow\" (%d) must be more than "
                             "\"fast\" (%d)", slow, fast);
    }
    size_t lookback = (size_t) slow - 1;
    if ((size_t) rsi_period > lookback)
        lookback = (size_t) rsi_period;
    if ((size_t) vol_period > lookback)
        lookback = (size_t) vol_period;
    if ((size_t) atr_period > lookback)
        lookback = (size_t) atr_period;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, lookback, &candles))
        return -1;
    size_t size = candles->size, end = size - 1;
    const double *close = candles->close;
    for (size_t i = 0; i < size; i++)
        if (close [i] <= 0) {
            sf_actx_context_int (ctx, "row", (int64_t) i);
            sf_candles_destroy (&candles);
            return sf_actx_fail (ctx, "BAD_INPUT", "close at row %zu is not positive", i);
        }
    double *work = sf_kernel_scratch (size);
    double sma_fast = s_last (&sf_indicator_sma, candles, (double []) { fast }, work);
    double sma_slow = s_last (&sf_indicator_sma, candles, (double []) { slow }, work);
    double rsi = s_last (&sf_indicator_rsi, candles, (double []) { rsi_period }, work);
    double volatility = s_last (&sf_indicator_volatility, candles,
                                (double []) { vol_period, per_year }, work);
    double atr = s_last (&sf_indicator_atr, candles, (double []) { atr_period }, work);
    free (work);

    msgpack_packer *pk = sf_actx_output (ctx);
    msgpack_pack_map (pk, 11);
    sf_mp_pack_kv_uint (pk, "ts", (uint64_t) candles->ts [end]);
    sf_mp_pack_kv_double (pk, "close", close [end]);
    sf_mp_pack_kv_double (pk, "change", close [end] / close [0] - 1);
    sf_mp_pack_kv_str (pk, "trend", sma_fast > sma_slow? "up": sma_fast < sma_slow? "down": "flat");
    sf_mp_pack_kv_double (pk, "sma_fast", sma_fast);
    sf_mp_pack_kv_double (pk, "sma_slow", sma_slow);
    sf_mp_pack_kv_double (pk, "rsi", rsi);
    sf_mp_pack_kv_str (pk, "rsi_state", rsi >= overbought? "overbought":
                                        rsi <= oversold? "oversold": "neutral");
    sf_mp_pack_kv_double (pk, "volatility", volatility);
    sf_mp_pack_kv_double (pk, "atr", atr);
    sf_mp_pack_kv_uint (pk, "candles", size);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    { "fast", SF_PARAM_INT, 20, 2, 100000, NULL, "fast window" },
    { "slow", SF_PARAM_INT, 50, 3, 100000, NULL, "slow window" },
    { "rsi_period", SF_PARAM_INT, 14, 2, 100000, NULL, "RSI window" },
    { "volatility_period", SF_PARAM_INT, 20, 2, 100000, NULL, "volatility window" },
    { "atr_period", SF_PARAM_INT, 14, 1, 100000, NULL, "ATR window" },
    { "overbought", SF_PARAM_REAL, 70, 0, 100, NULL, "RSI at or above which the state is overbought" },
    { "oversold", SF_PARAM_REAL, 30, 0, 100, NULL, "RSI at or below which the state is oversold" },
    { "periods_per_year", SF_PARAM_REAL, 1, 1, 1000000, NULL, "candles per year, to annualise" },
    { NULL }
};

const sf_analyzer_t sf_analyzer_report = {
    .name = "report", .version = "1",
    .summary = "one symbol's summary: close, change, trend, RSI state, volatility, ATR",
    .analyze = s_analyze, .params = s_params
};
