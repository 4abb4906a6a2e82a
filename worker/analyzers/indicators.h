/*  =========================================================================
    indicators.h - the computations of the indicators that other analyzers
    reuse (report), each defined in its analyzer's file

    Each fills out[lookback .. size-1] from the candles; out[0 .. lookback-1]
    is left untouched. size must be more than the lookback.
    ========================================================================= */

#ifndef SF_INDICATORS_H_INCLUDED
#define SF_INDICATORS_H_INCLUDED

#include <stddef.h>
#include "sf_candles.h"

//  SMA of close over n; lookback n - 1.
void sf_indicator_sma (const double *close, size_t size, size_t n, double *out);

//  Wilder RSI of close over n; lookback n.
void sf_indicator_rsi (const double *close, size_t size, size_t n, double *out);

//  Wilder ATR over n; lookback n.
void sf_indicator_atr (const sf_candles_t *candles, size_t n, double *out);

//  Sample stdev of log returns over n; lookback n. Closes must be positive.
void sf_indicator_volatility (const double *close, size_t size, size_t n, double *out);

#endif
