/*  =========================================================================
    macd - moving average convergence/divergence (TA-Lib MACD)

    macd = EMA(fast) - EMA(slow) of closes, signal = EMA(signal) of macd,
    hist = macd - signal. As TA-Lib does, both EMAs start at the slow one's
    first index (slow - 1): the slow seeded with the SMA of closes 0 ..
    slow-1, the fast with the SMA of closes slow-fast .. slow-1; the signal
    is seeded with the SMA of the first `signal` macd values. All three
    outputs start together once the signal exists. Params: fast (2-100000,
    default 12), slow (default 26, more than fast), signal (1-100000,
    default 9); lookback slow + signal - 2.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int fast = sf_actx_int (ctx, "fast");
    int slow = sf_actx_int (ctx, "slow");
    int signal_period = sf_actx_int (ctx, "signal");
    bool last = sf_actx_choice (ctx, "output") == 1;
    if (slow <= fast) {
        sf_actx_context_str (ctx, "param", "slow");
        return sf_actx_fail (ctx, "BAD_INPUT", "param \"slow\" (%d) must be more than "
                             "\"fast\" (%d)", slow, fast);
    }
    size_t s = (size_t) slow, f = (size_t) fast, g = (size_t) signal_period;
    size_t lookback = s + g - 2;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, lookback, &candles))
        return -1;
    size_t size = candles->size;
    const double *close = candles->close;
    double *macd = sf_series_alloc (size);
    double *signal = sf_series_alloc (size);
    double *hist = sf_series_alloc (size);

    double slow_ema = 0, fast_ema = 0;
    for (size_t i = 0; i < s; i++)
        slow_ema += close [i];
    slow_ema /= (double) s;
    for (size_t i = s - f; i < s; i++)
        fast_ema += close [i];
    fast_ema /= (double) f;
    double slow_k = 2.0 / ((double) s + 1), fast_k = 2.0 / ((double) f + 1);
    macd [s - 1] = fast_ema - slow_ema;
    for (size_t i = s; i < size; i++) {
        slow_ema = slow_k * close [i] + (1 - slow_k) * slow_ema;
        fast_ema = fast_k * close [i] + (1 - fast_k) * fast_ema;
        macd [i] = fast_ema - slow_ema;
    }
    double signal_ema = 0;
    for (size_t i = s - 1; i <= lookback; i++)
        signal_ema += macd [i];
    signal_ema /= (double) g;
    double signal_k = 2.0 / ((double) g + 1);
    for (size_t i = lookback; i < size; i++) {
        if (i > lookback)
            signal_ema = signal_k * macd [i] + (1 - signal_k) * signal_ema;
        signal [i] = signal_ema;
        hist [i] = macd [i] - signal [i];
    }
    const char *names [] = { "macd", "signal", "hist" };
    const double *outputs [] = { macd, signal, hist };
    sf_series_pack (ctx, candles, lookback, last, names, outputs, 3);
    free (macd);
    free (signal);
    free (hist);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    { "fast", SF_PARAM_INT, 12, 2, 100000, NULL, "fast window" },
    { "slow", SF_PARAM_INT, 26, 3, 100000, NULL, "slow window" },
    { "signal", SF_PARAM_INT, 9, 1, 100000, NULL, "signal EMA window" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_macd = {
    .name = "macd", .version = "1", .summary = "MACD, signal and histogram (12, 26, 9)",
    .analyze = s_analyze, .params = s_params
};
