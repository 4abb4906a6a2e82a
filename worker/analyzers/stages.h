/*  =========================================================================
    stages.h - EMAs chained in stages, as TA-Lib chains them in DEMA, TEMA,
    T3 and TRIX

    Stage 0 is the EMA of the input, stage s the EMA of stage s - 1, each
    with alpha = 2 / (n + 1). Each is seeded with the mean of the first n
    values it is given, placed at the n-th: stage 0 with the mean of inputs
    0 .. n-1 (its first value at candle n - 1), stage s with the mean of
    the first n values of stage s - 1, so its first value is at candle
    (s + 1)(n - 1).

    A kernel runs the warm-up (candles up to the last stage's first value)
    through sf_stages_step, then the stages in registers with the same
    expression, k × x + keep × e, so that kernel and step form round alike.
    ========================================================================= */

#ifndef SF_STAGES_H_INCLUDED
#define SF_STAGES_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Fold x, the seen-th input (from 0), into the stages EMAs of n chained:
//  e[s] is stage s's EMA, sum[s] the sum that seeds it (all zero before
//  the first input). Returns how many stages hold a value after it.
static inline size_t
sf_stages_step (double *e, double *sum, size_t stages, size_t n, uint64_t seen, double x)
{
    double k = 2.0 / ((double) n + 1.0), keep = 1.0 - k;
    size_t s = 0;
    for (; s < stages; s++) {
        uint64_t start = (uint64_t) s * (n - 1);
        if (seen < start)
            break;              //  Nothing has reached this stage yet
        if (seen < start + n - 1) {
            sum [s] += x;       //  Still gathering its seed
            break;
        }
        if (seen == start + n - 1) {
            sum [s] += x;
            e [s] = sum [s] / (double) n;
        }
        else
            e [s] = k * x + keep * e [s];
        x = e [s];
    }
    return s;
}

#endif
