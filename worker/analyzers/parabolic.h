/*  =========================================================================
    parabolic.h - the parabolic stop and reverse that sar and sarext share

    TA-Lib's path (SAR and SAREXT alike). The first candle is consumed: the
    trade starts short when -DM of candle 1 (low[0] - low[1] when that is
    positive and more than high[1] - high[0]) is positive, else long; or,
    when sarext's start_value is not 0, long at start_value (> 0) or short
    at |start_value| (< 0). A long start has SAR = low[0] (or start_value)
    and EP = high[1]; a short one SAR = high[0] and EP = low[1]. At candle
    1 the candle before counts as candle 1 itself. Each candle t >= 1,
    while long (short is the mirror image):

    - low <= SAR reverses: the value is max (EP, high[t-1], high), moved
      away by itself × offset_on_reverse; af = the short's initial factor,
      EP = low, and the next SAR is value + af × (EP - value), at least
      max (high[t-1], high);
    - else the value is SAR; a new high makes EP = high and adds the
      acceleration to af (at most the maximum); the next SAR is SAR + af ×
      (EP - SAR), at most min (low[t-1], low).

    An initial factor or acceleration above its maximum is the maximum.
    sarext gives a short's values negative (the candle that reverses to
    short already is); sar gives them as they are.
    ========================================================================= */

#ifndef SF_PARABOLIC_H_INCLUDED
#define SF_PARABOLIC_H_INCLUDED

#include <stdbool.h>
#include "indicators.h"

//  What the path takes: sarext's params, in their order.
typedef struct {
    double start;               //  start_value: 0 from the first candles, > 0 long, < 0 short
    double offset;              //  offset_on_reverse: a fraction of the value
    double init_long;           //  af of a new long
    double step_long;           //  af added on a long's new high
    double max_long;            //  af of a long at most
    double init_short;          //  af of a new short
    double step_short;          //  af added on a short's new low
    double max_short;           //  af of a short at most
} sf_parabolic_t;

//  The step state's slots (zeros before the first candle).
enum {
    SF_PARABOLIC_LONG,          //  1 while long, 0 while short
    SF_PARABOLIC_SAR,           //  The SAR of the next candle
    SF_PARABOLIC_EP,            //  The extreme point
    SF_PARABOLIC_AF_LONG,       //  The long's acceleration factor
    SF_PARABOLIC_AF_SHORT,      //  The short's
    SF_PARABOLIC_HIGH,          //  The high of the candle before
    SF_PARABOLIC_LOW,           //  Its low
    SF_PARABOLIC_STATE          //  Slots
};

//  The path's params from sarext's args (8, in order), with TA-Lib's
//  corrections (a factor above its maximum is the maximum).
sf_parabolic_t
    sf_parabolic_params (const double *args);

//  The path over candles 0 .. size - 1 (size > 1; in[] high, low) into
//  out from index 1, short values negative when negative is true; the
//  step state after them into state when it is not NULL.
void
    sf_parabolic_kernel (size_t size, const double *const *in, const sf_parabolic_t *path,
                         bool negative, double *out, double *state);

//  Fold candle i of in[], the seen-th of the series, into state; its value
//  into out (from seen 1).
void
    sf_parabolic_step (double *state, uint64_t seen, const double *const *in, size_t i,
                       const sf_parabolic_t *path, bool negative, double *out);

#endif
