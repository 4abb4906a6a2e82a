/*  =========================================================================
    aroon.h - what aroon and aroonosc share: for every window of the last
    period + 1 candles, how many candles ago its highest high and its
    lowest low were, the latest of equal ones counting (TA-Lib)
    ========================================================================= */

#ifndef SF_AROON_H_INCLUDED
#define SF_AROON_H_INCLUDED

#include "indicators.h"

//  For the windows of n + 1 candles ending at i = n .. size - 1 (size >
//  n): candles since the highest high into up[i] and since the lowest low
//  into down[i], as doubles; O(1) a candle whatever n and the data.
void
    sf_aroon_ages (const double *high, const double *low, size_t size, size_t n, double *up,
                   double *down);

//  Doubles of step state for period n: the last n + 1 highs and lows.
size_t
    sf_aroon_state_size (size_t n);

//  Fold candle i of in[] (high, low), the seen-th, into state; from seen
//  n on, the ages of its window into *up and *down.
void
    sf_aroon_step (double *state, uint64_t seen, const double *const *in, size_t i, size_t n,
                   double *up, double *down);

//  The step state after candles 0 .. size - 1.
void
    sf_aroon_state (const double *high, const double *low, size_t size, size_t n,
                    double *state);

#endif
