/*  =========================================================================
    parabolic - the parabolic stop and reverse of sar and sarext
    (parabolic.h)

    One recurrence, candle after candle: the kernel keeps the position,
    SAR, EP and factors in locals and the step form in its state, and both
    fold a candle through s_candle, so they give the same bits. The
    comparisons and the clamps keep TA-Lib's order of operations, so that
    a low that touches the SAR reverses here exactly when it does there.
    ========================================================================= */

#include <stdlib.h>
#include "parabolic.h"

//  Where the path is between candles.
typedef struct {
    bool is_long;               //  The position
    double sar;                 //  The SAR of the next candle
    double ep;                  //  The extreme point
    double af_long;             //  The long's factor
    double af_short;            //  The short's factor
} s_position_t;

sf_parabolic_t
sf_parabolic_params (const double *args)
{
    sf_parabolic_t path = {
        .start = args [0], .offset = args [1],
        .init_long = args [2], .step_long = args [3], .max_long = args [4],
        .init_short = args [5], .step_short = args [6], .max_short = args [7]
    };
    if (path.init_long > path.max_long)
        path.init_long = path.max_long;
    if (path.step_long > path.max_long)
        path.step_long = path.max_long;
    if (path.init_short > path.max_short)
        path.init_short = path.max_short;
    if (path.step_short > path.max_short)
        path.step_short = path.max_short;
    return path;
}

//  The position at candle 1, from candles 0 and 1.
static s_position_t
s_start (double high0, double low0, double high1, double low1, const sf_parabolic_t *path)
{
    s_position_t at = { .af_long = path->init_long, .af_short = path->init_short };
    if (path->start == 0) {
        //  -DM of candle 1 (0 on a tie) says short
        double up = high1 - high0, down = low0 - low1;
        at.is_long = !(down > 0 && up < down);
        at.sar = at.is_long? low0: high0;
    }
    else {
        at.is_long = path->start > 0;
        at.sar = path->start > 0? path->start: -path->start;
    }
    at.ep = at.is_long? high1: low1;
    return at;
}

//  Fold candle (high, low), the one before (prev_high, prev_low): returns
//  its value. Always inlined, so that the kernel keeps the position in
//  registers.
#if defined (__GNUC__) || defined (__clang__)
__attribute__ ((always_inline))
#endif
static inline double
s_candle (s_position_t *at, double prev_high, double prev_low, double high, double low,
          const sf_parabolic_t *path, bool negative)
{
    double sar = at->sar, value;
    if (at->is_long) {
        if (low <= sar) {
            //  Reverse to short, from the extreme point
            at->is_long = false;
            sar = at->ep;
            sar = sar < prev_high? prev_high: sar;
            sar = sar < high? high: sar;
            sar += sar * path->offset;
            value = negative? -sar: sar;
            at->af_short = path->init_short;
            at->ep = low;
            sar = sar + at->af_short * (at->ep - sar);
            sar = sar < prev_high? prev_high: sar;
            sar = sar < high? high: sar;
        }
        else {
            value = sar;
            //  A new high moves the extreme point (a max) and the factor
            double af = at->af_long + path->step_long;
            af = af > path->max_long? path->max_long: af;
            at->af_long = high > at->ep? af: at->af_long;
            at->ep = high > at->ep? high: at->ep;
            sar = sar + at->af_long * (at->ep - sar);
            sar = sar > prev_low? prev_low: sar;
            sar = sar > low? low: sar;
        }
    }
    else {
        if (high >= sar) {
            //  Reverse to long, from the extreme point
            at->is_long = true;
            sar = at->ep;
            sar = sar > prev_low? prev_low: sar;
            sar = sar > low? low: sar;
            sar -= sar * path->offset;
            value = sar;
            at->af_long = path->init_long;
            at->ep = high;
            sar = sar + at->af_long * (at->ep - sar);
            sar = sar > prev_low? prev_low: sar;
            sar = sar > low? low: sar;
        }
        else {
            value = negative? -sar: sar;
            double af = at->af_short + path->step_short;
            af = af > path->max_short? path->max_short: af;
            at->af_short = low < at->ep? af: at->af_short;
            at->ep = low < at->ep? low: at->ep;
            sar = sar + at->af_short * (at->ep - sar);
            sar = sar < prev_high? prev_high: sar;
            sar = sar < high? high: sar;
        }
    }
    at->sar = sar;
    return value;
}

void
sf_parabolic_kernel (size_t size, const double *const *in, const sf_parabolic_t *path,
                     bool negative, double *out, double *state)
{
    const double *restrict high = in [0], *restrict low = in [1];
    s_position_t at = s_start (high [0], low [0], high [1], low [1], path);
    //  At candle 1 the candle before is candle 1 itself (TA-Lib)
    out [1] = s_candle (&at, high [1], low [1], high [1], low [1], path, negative);
    for (size_t i = 2; i < size; i++)
        out [i] = s_candle (&at, high [i - 1], low [i - 1], high [i], low [i], path, negative);
    if (state) {
        state [SF_PARABOLIC_LONG] = at.is_long;
        state [SF_PARABOLIC_SAR] = at.sar;
        state [SF_PARABOLIC_EP] = at.ep;
        state [SF_PARABOLIC_AF_LONG] = at.af_long;
        state [SF_PARABOLIC_AF_SHORT] = at.af_short;
        state [SF_PARABOLIC_HIGH] = high [size - 1];
        state [SF_PARABOLIC_LOW] = low [size - 1];
    }
}

void
sf_parabolic_step (double *state, uint64_t seen, const double *const *in, size_t i,
                   const sf_parabolic_t *path, bool negative, double *out)
{
    double high = in [0][i], low = in [1][i];
    double prev_high = state [SF_PARABOLIC_HIGH], prev_low = state [SF_PARABOLIC_LOW];
    state [SF_PARABOLIC_HIGH] = high;
    state [SF_PARABOLIC_LOW] = low;
    if (seen == 0)
        return;
    s_position_t at;
    if (seen == 1) {
        at = s_start (prev_high, prev_low, high, low, path);
        prev_high = high;
        prev_low = low;
    }
    else
        at = (s_position_t) {
            .is_long = state [SF_PARABOLIC_LONG] != 0, .sar = state [SF_PARABOLIC_SAR],
            .ep = state [SF_PARABOLIC_EP], .af_long = state [SF_PARABOLIC_AF_LONG],
            .af_short = state [SF_PARABOLIC_AF_SHORT]
        };
    out [0] = s_candle (&at, prev_high, prev_low, high, low, path, negative);
    state [SF_PARABOLIC_LONG] = at.is_long;
    state [SF_PARABOLIC_SAR] = at.sar;
    state [SF_PARABOLIC_EP] = at.ep;
    state [SF_PARABOLIC_AF_LONG] = at.af_long;
    state [SF_PARABOLIC_AF_SHORT] = at.af_short;
}
