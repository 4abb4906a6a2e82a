/*  =========================================================================
    directional - Wilder's directional movements, true ranges and their
    Wilder sums, for the directional movement indicators (directional.h)

    A kernel's block takes the movements and true ranges of its candles in
    a loop of independent iterations, which the compiler vectorises (with
    an AVX2 clone for whole blocks), then runs the sums, a recurrence of
    one multiply and one add a candle. The step form folds one candle with
    the same operations in the same order, so the two agree to the last
    bit.
    ========================================================================= */

#include <stdlib.h>
#include "directional.h"

//  +DM and -DM of candle i > 0.
static inline void
s_move (const double *high, const double *low, size_t i, double *plus, double *minus)
{
    double up = high [i] - high [i - 1], down = low [i - 1] - low [i];
    //  Each a select on a comparison of the moves themselves, which the
    //  compiler vectorises
    double rise = up > 0? up: 0, fall = down > 0? down: 0;
    *plus = up > down? rise: 0;
    *minus = down > up? fall: 0;
}

//  The movements (and, with closes, true ranges) of candles first ..
//  first + count - 1.
static inline void
s_moves (size_t count, const double *restrict high, const double *restrict low,
         const double *restrict close, size_t first, double *restrict plus,
         double *restrict minus, double *restrict range)
{
    for (size_t b = 0; b < count; b++)
        s_move (high, low, first + b, plus + b, minus + b);
    if (close)
        for (size_t b = 0; b < count; b++)
            range [b] = sf_kernel_true_range (high, low, close, first + b);
}

static SF_KERNEL_CLONES void
s_moves_block (const double *high, const double *low, const double *close, size_t first,
               double *plus, double *minus, double *range)
{
    s_moves (SF_KERNEL_BLOCK, high, low, close, first, plus, minus, range);
}

//  --------------------------------------------------------------------------

sf_directional_t
sf_directional_seed (const double *high, const double *low, const double *close, size_t n)
{
    sf_directional_t sums = { 0, 0, 0 };
    for (size_t i = 1; i < n; i++) {
        double plus, minus;
        s_move (high, low, i, &plus, &minus);
        sums.plus += plus;
        sums.minus += minus;
        if (close)
            sums.range += sf_kernel_true_range (high, low, close, i);
    }
    return sums;
}

void
sf_directional_block (sf_directional_t *sums, const double *high, const double *low,
                      const double *close, size_t first, size_t count, size_t n,
                      double *plus, double *minus, double *range)
{
    if (count == SF_KERNEL_BLOCK)
        s_moves_block (high, low, close, first, plus, minus, range);
    else
        s_moves (count, high, low, close, first, plus, minus, range);
    double keep = 1.0 - 1.0 / (double) n;
    double plus_sum = sums->plus, minus_sum = sums->minus, range_sum = sums->range;
    if (close)
        for (size_t b = 0; b < count; b++) {
            plus [b] = plus_sum = plus_sum * keep + plus [b];
            minus [b] = minus_sum = minus_sum * keep + minus [b];
            range [b] = range_sum = range_sum * keep + range [b];
        }
    else
        for (size_t b = 0; b < count; b++) {
            plus [b] = plus_sum = plus_sum * keep + plus [b];
            minus [b] = minus_sum = minus_sum * keep + minus [b];
        }
    sums->plus = plus_sum;
    sums->minus = minus_sum;
    sums->range = range_sum;
}

void
sf_directional_step (double *state, uint64_t seen, const double *const *in, size_t i,
                     size_t n, bool ranges)
{
    //  The candle before and this one, as the kernel reads them
    const double high [2] = { state [SF_DIRECTIONAL_HIGH], in [0][i] };
    const double low [2] = { state [SF_DIRECTIONAL_LOW], in [1][i] };
    const double close [2] = { ranges? state [SF_DIRECTIONAL_CLOSE]: 0, ranges? in [2][i]: 0 };
    state [SF_DIRECTIONAL_HIGH] = high [1];
    state [SF_DIRECTIONAL_LOW] = low [1];
    if (ranges)
        state [SF_DIRECTIONAL_CLOSE] = close [1];
    if (seen == 0)
        return;
    double plus, minus;
    s_move (high, low, 1, &plus, &minus);
    double range = ranges? sf_kernel_true_range (high, low, close, 1): 0;
    if (seen < n) {
        //  Seeding: plain sums, in the kernel's order
        state [SF_DIRECTIONAL_PLUS] += plus;
        state [SF_DIRECTIONAL_MINUS] += minus;
        if (ranges)
            state [SF_DIRECTIONAL_RANGE] += range;
        return;
    }
    double keep = 1.0 - 1.0 / (double) n;
    state [SF_DIRECTIONAL_PLUS] = state [SF_DIRECTIONAL_PLUS] * keep + plus;
    state [SF_DIRECTIONAL_MINUS] = state [SF_DIRECTIONAL_MINUS] * keep + minus;
    if (ranges)
        state [SF_DIRECTIONAL_RANGE] = state [SF_DIRECTIONAL_RANGE] * keep + range;
}

void
sf_directional_state (const sf_directional_t *sums, const double *high, const double *low,
                      const double *close, size_t size, double *state)
{
    state [SF_DIRECTIONAL_HIGH] = high [size - 1];
    state [SF_DIRECTIONAL_LOW] = low [size - 1];
    state [SF_DIRECTIONAL_PLUS] = sums->plus;
    state [SF_DIRECTIONAL_MINUS] = sums->minus;
    if (close) {
        state [SF_DIRECTIONAL_CLOSE] = close [size - 1];
        state [SF_DIRECTIONAL_RANGE] = sums->range;
    }
}

//  --------------------------------------------------------------------------
//  plus_dm and minus_dm: the Wilder sum itself, from index n - 1.

void
sf_directional_dm_kernel (size_t size, const double *const *in, size_t n, bool minus,
                          double *dm, double *state)
{
    const double *high = in [0], *low = in [1];
    sf_directional_t sums = sf_directional_seed (high, low, NULL, n);
    dm [n - 1] = minus? sums.minus: sums.plus;
    //  The sums of the other kind go here
    double other [SF_KERNEL_BLOCK];
    for (size_t i = n; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        sf_directional_block (&sums, high, low, NULL, i, count, n, minus? other: dm + i,
                              minus? dm + i: other, NULL);
        i += count;
    }
    if (state)
        sf_directional_state (&sums, high, low, NULL, size, state);
}

void
sf_directional_dm_step (double *state, uint64_t seen, const double *const *in, size_t i,
                        size_t n, bool minus, double *out)
{
    sf_directional_step (state, seen, in, i, n, false);
    out [0] = state [minus? SF_DIRECTIONAL_MINUS: SF_DIRECTIONAL_PLUS];
}

//  --------------------------------------------------------------------------
//  plus_di and minus_di: 100 × sum / true range sum, from index n.

static SF_KERNEL_CLONES void
s_di_block (const double *sum, const double *range, double *di)
{
    sf_directional_di (SF_KERNEL_BLOCK, sum, range, di);
}

void
sf_directional_di_kernel (size_t size, const double *const *in, size_t n, bool minus,
                          double *di, double *state)
{
    const double *high = in [0], *low = in [1], *close = in [2];
    sf_directional_t sums = sf_directional_seed (high, low, close, n);
    double plus [SF_KERNEL_BLOCK], other [SF_KERNEL_BLOCK], range [SF_KERNEL_BLOCK];
    for (size_t i = n; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        sf_directional_block (&sums, high, low, close, i, count, n, plus, other, range);
        const double *sum = minus? other: plus;
        if (count == SF_KERNEL_BLOCK)
            s_di_block (sum, range, di + i);
        else
            sf_directional_di (count, sum, range, di + i);
        i += count;
    }
    if (state)
        sf_directional_state (&sums, high, low, close, size, state);
}

void
sf_directional_di_step (double *state, uint64_t seen, const double *const *in, size_t i,
                        size_t n, bool minus, double *out)
{
    sf_directional_step (state, seen, in, i, n, true);
    if (seen >= n)
        sf_directional_di (1, state + (minus? SF_DIRECTIONAL_MINUS: SF_DIRECTIONAL_PLUS),
                           state + SF_DIRECTIONAL_RANGE, out);
}
