/*  =========================================================================
    hilbert.h - what the Hilbert-transform indicators share (mama,
    ht_dcperiod, ht_trendline): Ehlers' MESA recursion as TA-Lib runs it

    From its start row (12 for mama and ht_dcperiod, 37 for ht_trendline)
    with every state 0 (and every input before that row counting as 0),
    each candle t:

    - s = (4 C + 3 C[-1] + 2 C[-2] + C[-3]) × 0.1, the smoothed close;
    - with P the period of the candle before, HT(u) = (0.0962 (u - u[-6])
      + 0.5769 (u[-2] - u[-4])) × (0.075 P + 0.54): detrender = HT(s), Q1
      = HT(detrender), I1 = detrender[-3], jI = HT(I1), jQ = HT(Q1);
    - Q2 = 0.2 (Q1 + jI) + 0.8 Q2[-1], I2 = 0.2 (I1 - jQ) + 0.8 I2[-1];
    - Re = 0.2 (I2 I2[-1] + Q2 Q2[-1]) + 0.8 Re[-1], Im = 0.2 (I2 Q2[-1] -
      Q2 I2[-1]) + 0.8 Im[-1];
    - P' = 360 / atan_deg (Im / Re) when Im and Re are not 0, else P;
      clamped to at most 1.5 P, then at least 0.67 P, then to [6, 50]; the
      new P = 0.2 P' + 0.8 P.

    The differences in HT keep TA-Lib's zeros: a constant input gives
    exactly 0 (TA-Lib's own order of terms does too). The recursion is one
    inline function over an array of doubles, which a kernel keeps in
    locals and a step form in its state, so the two run the very same
    operations.
    ========================================================================= */

#ifndef SF_HILBERT_H_INCLUDED
#define SF_HILBERT_H_INCLUDED

#include <math.h>
#include <stdbool.h>
#include "indicators.h"

//  The recursion's slots (zeros before its start row, but the adjustment:
//  sf_hilbert_start).
enum {
    SF_HILBERT_PERIOD,          //  P, the smoothed period
    SF_HILBERT_SMOOTH,          //  s[-1] .. s[-6], 6 slots
    SF_HILBERT_DETRENDER = SF_HILBERT_SMOOTH + 6,      //  detrender[-1] .. [-9], 9 slots
    SF_HILBERT_Q1 = SF_HILBERT_DETRENDER + 9,          //  Q1[-1] .. Q1[-6], 6 slots
    SF_HILBERT_I2 = SF_HILBERT_Q1 + 6,                 //  I2[-1]
    SF_HILBERT_Q2,              //  Q2[-1]
    SF_HILBERT_RE,              //  Re[-1]
    SF_HILBERT_IM,              //  Im[-1]
    SF_HILBERT_ADJUST,          //  0.075 P + 0.54 (0.54 before the start)
    SF_HILBERT_SLOTS            //  Slots of the recursion
};

//  Degrees per radian, as TA-Lib computes it.
#define SF_HILBERT_DEGREES (45.0 / atan (1.0))

//  The smoothed close of candle t (t >= 3).
static inline double
sf_hilbert_smooth (const double *close, size_t t)
{
    return (4.0 * close [t] + 3.0 * close [t - 1] + 2.0 * close [t - 2] + close [t - 3]) * 0.1;
}

//  The transform of u (u[0] this candle's, then the values 2, 4 and 6
//  candles before), scaled by adjust.
static inline double
sf_hilbert_transform (double u, double u2, double u4, double u6, double adjust)
{
    return (0.0962 * (u - u6) + 0.5769 * (u2 - u4)) * adjust;
}

//  atan (y / x) in radians for x not 0, within about an ulp of libm's,
//  without a branch on the data: the quotient is folded into [0, 1]
//  (π/2 - atan of its inverse above 1) and then into |u| <= tan (π/8) (π/4
//  + atan ((n - d) / (n + d)) above it) as one division, and atan (u) = u +
//  u z P (z), z = u², P a degree-10 Chebyshev fit (to 3e-17) evaluated by
//  Estrin's scheme (a short chain: the period's atan is on the recursion's
//  critical path). TA-Lib takes libm's atan of the quotient; they differ
//  in the last bits only.
static inline double
sf_hilbert_atan (double y, double x)
{
    double ay = __builtin_fabs (y), ax = __builtin_fabs (x);
    bool inverse = ay > ax;
    double numerator = ay < ax? ay: ax, denominator = ay < ax? ax: ay;
    bool shifted = numerator > 0.41421356237309503 * denominator;
    double top = shifted? numerator - denominator: numerator;
    double bottom = shifted? numerator + denominator: denominator;
    double u = top / bottom, z = u * u;
    double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    double a0 = -0.3333333333333333 + 0.1999999999999552 * z;
    double a1 = -0.14285714284666542 + 0.11111111015256361 * z;
    double a2 = -0.09090904578123903 + 0.07692183190826087 * z;
    double a3 = -0.06664511447381948 + 0.0585814891280221 * z;
    double a4 = -0.0508544973794026 + 0.03923165829558719 * z;
    double b0 = a0 + a1 * z2, b1 = a2 + a3 * z2, b2 = a4 - 0.01917688711906226 * z2;
    double polynomial = (b0 + b1 * z4) + b2 * z8;
    //  The angle: its base (0, π/4 or π/2, in two parts) ± (u + u z P),
    //  the base and u first, so that the polynomial's path ends with two
    //  additions
    double base = shifted? 0.7853981633974483: inverse? 1.5707963267948966: 0.0;
    double low = shifted? 3.061616997868383e-17: inverse? 6.123233995736766e-17: 0.0;
    double v = inverse? -u: u;
    double angle = (base + v) + ((v * z) * polynomial + low);
    return (y < 0) != (x < 0)? -angle: angle;
}

//  The recursion before its start row: all 0, with the period 0's
//  adjustment.
static inline void
sf_hilbert_start (double *h)
{
    for (size_t k = 0; k < SF_HILBERT_SLOTS; k++)
        h [k] = 0;
    h [SF_HILBERT_ADJUST] = 0.54;
}

//  Always inlined: the kernel then keeps h in registers, and a step form
//  runs the very same operations on its state.
#if defined (__GNUC__) || defined (__clang__)
#   define SF_HILBERT_INLINE static inline __attribute__ ((always_inline))
#else
#   define SF_HILBERT_INLINE static inline
#endif

//  Fold one candle's smoothed close into h (SF_HILBERT_SLOTS doubles);
//  its Q1 and I1 (for a phase) into *q1 and *i1. Returns the new period.
//
//  The recursion's critical path runs from the period to the next: its
//  adjustment, the nested transforms, I2, Re and Im, atan, the period.
//  What the histories give is taken apart from it, and the nested
//  transforms as polynomials in the adjustment (Q1 = 0.0962 b a² + r a,
//  jQ = 0.0962² b a³ + 0.0962 r a² + r' a with b = HT(s) / a), so that
//  the path is as short as the arithmetic allows; the detrender keeps the
//  transform's own form (I1 is tested for exactly 0). The rounding then
//  differs from TA-Lib's in the last bits only.
SF_HILBERT_INLINE double
sf_hilbert_candle (double *h, double smooth, double *q1, double *i1)
{
    double *s = h + SF_HILBERT_SMOOTH, *d = h + SF_HILBERT_DETRENDER, *q = h + SF_HILBERT_Q1;
    double period = h [SF_HILBERT_PERIOD], adjust = h [SF_HILBERT_ADJUST];
    double i2_before = h [SF_HILBERT_I2], q2_before = h [SF_HILBERT_Q2];
    //  From the histories: the transforms' parts that do not wait for the
    //  adjustment
    double base = 0.0962 * (smooth - s [5]) + 0.5769 * (s [1] - s [3]);
    double in_phase = d [2];
    double j_in_base = 0.0962 * (in_phase - d [8]) + 0.5769 * (d [4] - d [6]);
    double q1_rest = 0.5769 * (d [1] - d [3]) - 0.0962 * d [5];
    double jq_rest = 0.5769 * (q [1] - q [3]) - 0.0962 * q [5];
    double i2_rest = 0.2 * in_phase + 0.8 * i2_before;
    double re_rest = 0.8 * h [SF_HILBERT_RE], im_rest = 0.8 * h [SF_HILBERT_IM];
    double i2_weight = 0.2 * i2_before, q2_weight = 0.2 * q2_before;
    //  The path: the period's adjustment and its powers
    double adjust2 = adjust * adjust;
    double detrender = base * adjust;
    double quadrature = (0.0962 * base) * adjust2 + q1_rest * adjust;
    double j_in = j_in_base * adjust;
    //  0.2 jQ, the products paired so that the path is two multiplies
    //  and two additions long
    double j_quadrature = ((0.2 * 0.0962 * 0.0962 * base) * adjust) * adjust2
                        + ((0.2 * 0.0962 * q1_rest) * adjust2 + (0.2 * jq_rest) * adjust);
    double q2 = 0.2 * quadrature + (0.2 * j_in + 0.8 * q2_before);
    double i2 = i2_rest - j_quadrature;
    double re = i2_weight * i2 + (q2_weight * q2 + re_rest);
    double im = q2_weight * i2 - (i2_weight * q2 - im_rest);
    //  The period: 360 / atan in degrees is 2π / atan in radians; clamped
    //  as TA-Lib does (to at most 1.5 P, at least 0.67 P, then to [6, 50]:
    //  as 0.67 P < 50, to at most min (1.5 P, 50) and at least max (0.67
    //  P, 6), the same selections in two steps); the next adjustment from
    //  it directly, 0.075 (0.2 P' + 0.8 P) + 0.54
    double next = period;
    if (im != 0.0 && re != 0.0)
        next = 6.283185307179586 / sf_hilbert_atan (im, re);
    double upper = 1.5 * period, lower = 0.67 * period;
    upper = upper > 50? 50: upper;
    lower = lower < 6? 6: lower;
    next = next > upper? upper: next;
    next = next < lower? lower: next;
    adjust = 0.015 * next + (0.06 * period + 0.54);
    period = 0.2 * next + 0.8 * period;
    //  The histories, one candle on (element by element: a loop would
    //  become a memmove, and the kernel's locals memory)
    s [5] = s [4], s [4] = s [3], s [3] = s [2], s [2] = s [1], s [1] = s [0], s [0] = smooth;
    q [5] = q [4], q [4] = q [3], q [3] = q [2], q [2] = q [1], q [1] = q [0];
    q [0] = quadrature;
    d [8] = d [7], d [7] = d [6], d [6] = d [5], d [5] = d [4], d [4] = d [3];
    d [3] = d [2], d [2] = d [1], d [1] = d [0], d [0] = detrender;
    h [SF_HILBERT_I2] = i2;
    h [SF_HILBERT_Q2] = q2;
    h [SF_HILBERT_RE] = re;
    h [SF_HILBERT_IM] = im;
    h [SF_HILBERT_PERIOD] = period;
    h [SF_HILBERT_ADJUST] = adjust;
    *q1 = quadrature;
    *i1 = in_phase;
    return period;
}

#endif
