/*  =========================================================================
    sf_regression - the least-squares line over every window of n values,
    as TA-Lib's LINEARREG, LINEARREG_SLOPE, LINEARREG_ANGLE,
    LINEARREG_INTERCEPT and TSF fit it

    The line y = b + m t is fitted to the last n values with t = 0 for the
    oldest and n - 1 for the newest: m is the slope per candle, b the
    line's value at the oldest candle. TA-Lib sums each window afresh;
    here the sums slide in O(1) a value: Sy = Σ (y - K) and Sty = Σ t (y -
    K), about a shift K reset to the window's mean whenever the sums are
    summed afresh (every multiple of n from 128 values on), so that they
    neither cancel at high prices nor gather rounding. Then m = (n Sty -
    St Sy) / (n St2 - St²) with St = Σ t and St2 = Σ t², and b = K + (Sy -
    m St) / n.

    A state is SF_REGRESSION_STATE (n) doubles: K, Sy, Sty, then the last n
    values in a ring indexed by value number. At an afresh sum the ring
    holds the window in order, so sf_regression_push sums the same values
    in the same order as sf_regression_series, and the two agree to the
    bit.
    ========================================================================= */

#ifndef SF_REGRESSION_H_INCLUDED
#define SF_REGRESSION_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  What to write of each window's line.
typedef enum {
    SF_REGRESSION_SLOPE,        //  m
    SF_REGRESSION_ANGLE,        //  atan (m) in degrees
    SF_REGRESSION_AT            //  b + at × m: the line at candle at of the window
} sf_regression_output_t;

#define SF_REGRESSION_STATE(n) ((n) + 3)

//  For every window of n values of y (n >= 2) ending at n - 1 .. size - 1
//  (size >= n), what of its line into out[i]; at is the candle for
//  SF_REGRESSION_AT (0 the intercept, n - 1 the newest, n one ahead).
//  When state is not NULL, the state after the last value into it.
void sf_regression_series (const double *y, size_t size, size_t n, sf_regression_output_t what,
                           double at, double *out, double *state);

//  Push y, the seen-th value (from 0), into state (zeros before the
//  first). Returns what of the line of the last n values, as
//  sf_regression_series gives it (of use from seen n - 1 on).
double sf_regression_push (double *state, size_t n, uint64_t seen, double y,
                           sf_regression_output_t what, double at);

#endif
