/*  =========================================================================
    kama - Kaufman adaptive moving average of closes (TA-Lib KAMA)

    The efficiency ratio ER = |C - C[-period]| / S, where S is the sum of
    |C - C[-1]| over the last `period` changes; ER is 1 when S is at most
    the signed change C - C[-period], or within 1e-14 of 0 (TA-Lib's
    rule). sc = (ER × (2/3 - 2/31) + 2/31)²: the fast and slow ends, 2 and
    30, are fixed, as in TA-Lib. KAMA starts as the close at index
    period - 1, then kama = kama + sc × (C - kama), computed as (1 - sc) ×
    kama + sc × C. Params: period (2-100000, default 10); lookback period.

    S slides in O(1) a candle and is summed afresh every multiple of
    period + 1 from 1024 candles on. A window whose closes are all equal
    has S = 0 exactly (not the residue the slides leave), found from the
    count of the window's changes that are not 0 (a running count, exact),
    so ER is 1 there as a fresh sum gives it. The kernel takes a block of
    candles in passes: what enters and leaves the window (vectorised), the
    running sum and count, the smoothing constants with their divisions
    (vectorised), then the recurrence, two candles a turn.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the kama, S, the
    count and the last period + 1 closes in a ring indexed by candle
    number; at an afresh sum the ring holds them in order, so the step form
    sums the same values in the same order as the kernel.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"

//  The state's slots: the kama, S, the count of changes, then the ring.
enum { S_KAMA, S_SUM, S_MOVES, S_RING };

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    return S_RING + (size_t) args [0] + 1;
}

//  Candles between two afresh sums: a multiple of n + 1 from 1024 on.
static size_t
s_every (size_t n)
{
    return (n + 1) * ((1024 + n) / (n + 1));
}

//  The sum of |x[j] - x[j-1]| for j = 1 .. n, in that order.
static double
s_changes (const double *x, size_t n)
{
    double sum = 0;
    for (size_t j = 1; j <= n; j++)
        sum += fabs (x [j] - x [j - 1]);
    return sum;
}

//  What count candles bring to the window and take from it, from their
//  closes (now), the closes before (before), and the two closes n candles
//  earlier (far, far_before): the change of S (slide), of the count of
//  changes (moved), and the signed change over the window (change).
static inline void
s_moves (size_t count, const double *restrict now, const double *restrict before,
         const double *restrict far, const double *restrict far_before, double *restrict slide,
         int64_t *restrict moved, double *restrict change)
{
    //  The count in integers: comparisons turned into doubles would be
    //  branches, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++) {
        slide [b] = fabs (now [b] - before [b]) - fabs (far [b] - far_before [b]);
        moved [b] = (int64_t) (now [b] != before [b]) - (int64_t) (far [b] != far_before [b]);
        change [b] = now [b] - far [b];
    }
}

//  S as the smoothing takes it, in place: 0 where the window has no change
//  (its closes are all equal) or S is within 1e-14 of 0 (TA-Lib's rule).
static inline void
s_zeros (size_t count, double *restrict sum, const int64_t *restrict moves)
{
    for (size_t b = 0; b < count; b++)
        sum [b] = moves [b] == 0? 0.0: sum [b];
    for (size_t b = 0; b < count; b++)
        sum [b] = fabs (sum [b]) < 1e-14? 0.0: sum [b];
}

//  From S (as s_zeros leaves it), the signed change over the window
//  (change) and the close of count candles: keep = 1 - sc and add = sc ×
//  close. ER = min (|change / S|, 1), and 1 where that is not a number
//  (0 / 0): TA-Lib's rule, since S is at least |change| but for rounding.
static inline void
s_smoothing (size_t count, const double *restrict sum, const double *restrict change,
             const double *restrict close, double *restrict keep, double *restrict add)
{
    const double slow = 2.0 / (30.0 + 1.0), span = 2.0 / (2.0 + 1.0) - slow;
    const double whole = (span + slow) * (span + slow);     //  sc for ER 1
    //  Three loops, so that each vectorises: the compiler would move
    //  arithmetic that only one arm of a choice uses into a branch, and
    //  copy arithmetic after a choice with a constant arm into both arms
    for (size_t b = 0; b < count; b++) {
        double ratio = fabs (change [b] / sum [b]), sc = ratio * span + slow;
        add [b] = ratio;
        keep [b] = sc * sc;
    }
    for (size_t b = 0; b < count; b++)
        keep [b] = add [b] < 1.0? keep [b]: whole;
    for (size_t b = 0; b < count; b++) {
        add [b] = keep [b] * close [b];
        keep [b] = 1.0 - keep [b];
    }
}

static SF_KERNEL_CLONES void
s_moves_block (const double *now, const double *before, const double *far,
               const double *far_before, double *slide, int64_t *moved, double *change)
{
    s_moves (SF_KERNEL_BLOCK, now, before, far, far_before, slide, moved, change);
}

static SF_KERNEL_CLONES void
s_smoothing_block (double *sum, const int64_t *moves, const double *change,
                   const double *close, double *keep, double *add)
{
    s_zeros (SF_KERNEL_BLOCK, sum, moves);
    s_smoothing (SF_KERNEL_BLOCK, sum, change, close, keep, add);
}

//  State: [kama, S, count of changes, ring of n + 1 closes].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict kama = out [0];
    size_t n = (size_t) args [0], every = s_every (n);
    //  The first window, at candle n: summed afresh
    double sum = s_changes (close, n);
    int64_t moves = 0;
    for (size_t j = 1; j <= n; j++)
        moves += close [j] != close [j - 1];
    double value = close [n - 1], keep [SF_KERNEL_BLOCK], add [SF_KERNEL_BLOCK];
    double sums [SF_KERNEL_BLOCK] = { sum };
    int64_t counts [SF_KERNEL_BLOCK] = { moves };
    double change [SF_KERNEL_BLOCK] = { close [n] - close [0] };
    s_zeros (1, sums, counts);
    s_smoothing (1, sums, change, close + n, keep, add);
    kama [n] = value = keep [0] * value + add [0];
    size_t afresh = n + every;          //  The next candle whose S is summed afresh
    for (size_t i = n + 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        const double *now = close + i, *far = close + i - n;
        if (count == SF_KERNEL_BLOCK)
            s_moves_block (now, now - 1, far, far - 1, sums, counts, change);
        else
            s_moves (count, now, now - 1, far, far - 1, sums, counts, change);
        for (size_t b = 0; b < count; b++) {
            if (i + b == afresh) {
                sum = s_changes (far + b, n);
                afresh += every;
            }
            else
                sum += sums [b];
            sums [b] = sum;
            counts [b] = moves += counts [b];
        }
        if (count == SF_KERNEL_BLOCK)
            s_smoothing_block (sums, counts, change, now, keep, add);
        else {
            s_zeros (count, sums, counts);
            s_smoothing (count, sums, change, now, keep, add);
        }
        //  Two candles a turn: the kama two candles on is keep1 × keep0 ×
        //  kama + (keep1 × add0 + add1), so the chain of dependent
        //  operations is one multiply and one add for two candles
        size_t b = 0;
        for (; b + 2 <= count; b += 2) {
            kama [i + b] = keep [b] * value + add [b];
            value = (keep [b + 1] * keep [b]) * value + (keep [b + 1] * add [b] + add [b + 1]);
            kama [i + b + 1] = value;
        }
        for (; b < count; b++)
            kama [i + b] = value = keep [b] * value + add [b];
        i += count;
    }
    if (state) {
        state [S_KAMA] = value;
        state [S_SUM] = sum;
        state [S_MOVES] = (double) moves;
        for (size_t j = size - n - 1; j < size; j++)
            state [S_RING + j % (n + 1)] = close [j];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0], m = n + 1;
    double *ring = state + S_RING, close = in [0][i];
    size_t slot = (size_t) (seen % m);
    double gone = ring [slot];          //  The close n + 1 candles back
    ring [slot] = close;
    if (seen == 0)
        return;
    double before = ring [(seen - 1) % m];
    if (seen <= n)
        state [S_MOVES] += close != before? 1.0: 0.0;
    if (seen < n) {
        state [S_KAMA] = close;
        return;
    }
    double far = ring [(seen - n) % m], slide, change;
    int64_t moved;
    s_moves (1, &close, &before, &far, &gone, &slide, &moved, &change);
    if (seen > n)
        state [S_MOVES] += (double) moved;
    if ((seen - n) % s_every (n) == 0)
        state [S_SUM] = s_changes (ring, n);
    else
        state [S_SUM] += slide;
    double sum = state [S_SUM], keep, add;
    int64_t moves = (int64_t) state [S_MOVES];
    s_zeros (1, &sum, &moves);
    s_smoothing (1, &sum, &change, &close, &keep, &add);
    out [0] = state [S_KAMA] = keep * state [S_KAMA] + add;
}

const sf_indicator_t sf_indicator_kama = {
    .inputs = "c", .outputs = { "kama" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_kama);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (10),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_kama = {
    .name = "kama", .version = "1", .summary = "Kaufman adaptive moving average (period 10)",
    .analyze = s_analyze, .params = s_params
};
