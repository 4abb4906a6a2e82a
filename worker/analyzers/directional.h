/*  =========================================================================
    directional.h - what the directional movement indicators share
    (plus_dm, minus_dm, plus_di, minus_di, dx, adxr): Wilder's directional
    movements and true ranges, their Wilder sums, and the directional
    indicators and index taken from those sums, as TA-Lib has them

    up = high - high[-1] and down = low[-1] - low; +DM = up when up > 0 and
    up > down, -DM = down when down > 0 and down > up, else 0 (both 0 on a
    tie). A Wilder sum starts as the plain sum over candles 1 .. period-1
    (at index period - 1), then S = S × (1 - 1 / period) + x. From those
    sums DI± = 100 × S±DM / S_TR (0 when S_TR < 1e-14), and DX = 100 ×
    |DI+ - DI-| / (DI+ + DI-), which is not defined when S_TR or DI+ + DI-
    is below 1e-14 (TA_IS_ZERO): DX then repeats its value before (0 at
    the first), and an ADX built on it does not move.

    The code is in directional.c; the indicators compose it.
    ========================================================================= */

#ifndef SF_DIRECTIONAL_H_INCLUDED
#define SF_DIRECTIONAL_H_INCLUDED

#include <stdbool.h>
#include "indicators.h"

//  The step state of the sums: the candle before and the sums. Without
//  true ranges (plus_dm, minus_dm) only the first SF_DIRECTIONAL_MOVES.
enum {
    SF_DIRECTIONAL_HIGH,        //  The high of the candle before
    SF_DIRECTIONAL_LOW,         //  Its low
    SF_DIRECTIONAL_PLUS,        //  Wilder sum of +DM (plain sum while seeding)
    SF_DIRECTIONAL_MINUS,       //  Wilder sum of -DM
    SF_DIRECTIONAL_MOVES,       //  Slots without true ranges
    SF_DIRECTIONAL_CLOSE = SF_DIRECTIONAL_MOVES,       //  The close of the candle before
    SF_DIRECTIONAL_RANGE,       //  Wilder sum of the true range
    SF_DIRECTIONAL_STATE        //  Slots with true ranges
};

//  The Wilder sums of the kernels: +DM, -DM and (with closes) the true
//  range.
typedef struct {
    double plus;                //  Sum of +DM
    double minus;               //  Sum of -DM
    double range;               //  Sum of true ranges (0 without closes)
} sf_directional_t;

//  The seed sums over candles 1 .. n - 1 (the true ranges only when close
//  is not NULL).
sf_directional_t
    sf_directional_seed (const double *high, const double *low, const double *close,
                         size_t n);

//  Continue sums over candles first .. first + count - 1 (first >= n,
//  count <= SF_KERNEL_BLOCK), writing the sums at each into plus[b],
//  minus[b] and, when close is not NULL, range[b]. A block starting at
//  the same candle gives the same values whatever its count.
void
    sf_directional_block (sf_directional_t *sums, const double *high, const double *low,
                          const double *close, size_t first, size_t count, size_t n,
                          double *plus, double *minus, double *range);

//  Fold candle i of in[] (high, low and, when ranges, close), the seen-th
//  of the series, into state (SF_DIRECTIONAL_STATE slots when ranges, else
//  SF_DIRECTIONAL_MOVES; zeros before the first): the sums as the kernels
//  have them after the same candles.
void
    sf_directional_step (double *state, uint64_t seen, const double *const *in, size_t i,
                         size_t n, bool ranges);

//  The state the step form has after candles 0 .. size - 1, from the
//  kernel's sums after them.
void
    sf_directional_state (const sf_directional_t *sums, const double *high, const double *low,
                          const double *close, size_t size, double *state);

//  The kernel and step form of plus_dm (minus false) and minus_dm (minus
//  true): in[] high, low; dm from index n - 1; state as
//  sf_directional_step has it without true ranges.
void
    sf_directional_dm_kernel (size_t size, const double *const *in, size_t n, bool minus,
                              double *dm, double *state);
void
    sf_directional_dm_step (double *state, uint64_t seen, const double *const *in, size_t i,
                            size_t n, bool minus, double *out);

//  The kernel and step form of plus_di and minus_di: in[] high, low,
//  close; di from index n; state as sf_directional_step has it with true
//  ranges.
void
    sf_directional_di_kernel (size_t size, const double *const *in, size_t n, bool minus,
                              double *di, double *state);
void
    sf_directional_di_step (double *state, uint64_t seen, const double *const *in, size_t i,
                            size_t n, bool minus, double *out);

//  100 × sum / range of count candles into di, 0 where range < 1e-14.
static inline void
sf_directional_di (size_t count, const double *restrict sum, const double *restrict range,
                   double *restrict di)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        di [b] = 100.0 * (sum [b] / range [b]);
    for (size_t b = 0; b < count; b++)
        di [b] = range [b] >= 1e-14? di [b]: 0.0;
}

//  DX of count candles from their sums into dx, and into defined 1 where
//  it is defined, else 0 (with dx then not a number to use).
static inline void
sf_directional_dx (size_t count, const double *restrict plus, const double *restrict minus,
                   const double *restrict range, double *restrict dx,
                   double *restrict defined)
{
    for (size_t b = 0; b < count; b++) {
        double plus_di = 100.0 * (plus [b] / range [b]);
        double minus_di = 100.0 * (minus [b] / range [b]);
        double total = plus_di + minus_di;
        dx [b] = 100.0 * (__builtin_fabs (minus_di - plus_di) / total);
        //  A 0/1 factor: range >= 1e-14 first, so that 0 / 0 never counts
        defined [b] = (double) ((range [b] >= 1e-14) & (total >= 1e-14));
    }
}

#endif
