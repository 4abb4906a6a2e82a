/*  =========================================================================
    var - population variance of the closes over a window (TA-Lib VAR)

    var = Σ x² / n - mean² over the last `period` closes, the population
    variance (TA-Lib's VAR takes an nbDev it does not use; it is not
    declared here). It is not clamped, as in TA-Lib: a negative residue of
    rounding is returned as it is; a window whose closes are all equal
    gives exactly 0. Params: period (1-100000, default 5); lookback
    period - 1.

    TA-Lib keeps running sums of x and x², which cancel at high prices.
    Here the sums are of deviations from a shift K reset to the window's
    mean whenever they are summed afresh (every 129 candles, or a little
    more than `period` when that is longer): s1 = Σ (x - K), s2 = Σ (x - K)², and var = (n s2 -
    s1²) / n². A bound on the rounding the slides gather is kept too: when
    what is left of n s2 - s1² is not well above it (a quiet window after a
    wild one, or prices that have drifted far from K), that window is
    summed afresh, so a variance never strays more than about 1e-9
    (relative) from a two-pass one. A running count of the changes between
    consecutive closes of the window (exact) finds the windows with none.
    The kernel slides the sums over a block of candles without the bound
    (a recurrence), then checks the whole block against the bound at its
    end (vectorised, as sf_window_series does; slide by slide, as the step
    form does, on a miss), then computes the block's variances in a loop
    of independent iterations that the compiler vectorises.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the shift, the two
    sums, the bound, the count and the last `period` closes in a ring
    indexed by candle number; a window is summed afresh in its order,
    whether from the ring or from the series, so the step form and the
    kernel agree to the bit (the bound to rounding).
    ========================================================================= */

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include "indicators.h"

//  The state's slots: the shift, the sums, the bound, the count, then the
//  ring.
enum { S_SHIFT, S_SUM, S_SQUARES, S_BOUND, S_MOVES, S_RING };

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

static size_t
s_state_size (const double *args)
{
    return S_RING + (size_t) args [0];
}

//  Candles between two regular afresh sums: one, then whole blocks of
//  SF_KERNEL_BLOCK slides, at least n of them (so that an afresh sum costs
//  O(1) a candle); often enough that the closes cannot drift far from
//  the shift.
static size_t
s_every (size_t n)
{
    size_t slides = n > SF_KERNEL_BLOCK? n: SF_KERNEL_BLOCK;
    return 1 + SF_KERNEL_BLOCK * ((slides + SF_KERNEL_BLOCK - 1) / SF_KERNEL_BLOCK);
}

//  The shift, sums, bound and count of a window of n closes, oldest first:
//  a[0 .. a_size-1], then b[0 ..] (a ring cut at its oldest close). In
//  the window's order, whatever the cut, so that a ring and a series give
//  the same sums.
static void
s_afresh (const double *a, size_t a_size, const double *b, size_t n, double *sums)
{
    double total = 0;
    for (size_t j = 0; j < a_size; j++)
        total += a [j];
    for (size_t j = a_size; j < n; j++)
        total += b [j - a_size];
    double shift = total / (double) n, sum = 0, squares = 0, moves = 0;
    double last = a_size? a [0]: b [0];
    for (size_t j = 0; j < n; j++) {
        double x = j < a_size? a [j]: b [j - a_size], d = x - shift;
        sum += d;
        squares += d * d;
        moves += x != last;
        last = x;
    }
    sums [S_SHIFT] = shift;
    sums [S_SUM] = sum;
    sums [S_SQUARES] = squares;
    sums [S_BOUND] = 0;
    sums [S_MOVES] = moves;
}

//  The factor of the rounding bound for windows of n: a slide rounds each
//  sum a few times at the size of its terms, so n s2 - s1² gathers at most
//  about 4 n DBL_EPSILON (in² + gone² + |s2|) a slide; times 1e9, so that
//  what is left is summed afresh when it is not 1e9 times that.
static double
s_limit (size_t n)
{
    return 4e9 * (double) n * DBL_EPSILON;
}

//  Slide the sums: in (shifted) enters, gone (shifted) leaves. Returns
//  true when the window must be summed afresh.
static inline bool
s_slide (double *sum, double *squares, double *bound, double in, double gone, double n,
         double limit)
{
    *sum += in - gone;
    *squares += in * in - gone * gone;
    *bound += in * in + gone * gone + fabs (*squares);
    return n * *squares - *sum * *sum < limit * *bound;
}

//  How count closes change the window's count of changes, from the
//  closes (now), those before (before), those leaving (gone) and those
//  after them (after).
static inline void
s_moves (size_t count, const double *restrict now, const double *restrict before,
         const double *restrict gone, const double *restrict after, int64_t *restrict moved)
{
    //  In integers: comparisons turned into doubles would be branches,
    //  which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        moved [b] = (int64_t) (now [b] != before [b]) - (int64_t) (after [b] != gone [b]);
}

static SF_KERNEL_CLONES void
s_moves_block (const double *now, const double *before, const double *gone,
               const double *after, int64_t *moved)
{
    s_moves (SF_KERNEL_BLOCK, now, before, gone, after, moved);
}

//  The variances of count windows from their sums and counts.
static inline void
s_variance (size_t count, const double *restrict sum, const double *restrict squares,
            const int64_t *restrict moves, double inv, double *restrict var)
{
    for (size_t b = 0; b < count; b++) {
        double mean = sum [b] * inv;
        var [b] = squares [b] * inv - mean * mean;
    }
    for (size_t b = 0; b < count; b++)
        var [b] = moves [b] == 0? 0.0: var [b];
}

//  What the bound of count slides of one shift gains (as s_slide adds
//  it): from the closes entering (now) and leaving (gone) and the sums of
//  squares after each slide.
static inline double
s_gain (size_t count, const double *restrict now, const double *restrict gone, double shift,
        const double *restrict squares)
{
    double gain [4] = { 0 };
    size_t b = 0, whole = count - count % 4;
    for (; b < whole; b += 4)
        for (size_t u = 0; u < 4; u++) {
            double in = now [b + u] - shift, out = gone [b + u] - shift;
            gain [u] += in * in + out * out + fabs (squares [b + u]);
        }
    for (; b < count; b++) {
        double in = now [b] - shift, out = gone [b] - shift;
        gain [0] += in * in + out * out + fabs (squares [b]);
    }
    return (gain [0] + gain [1]) + (gain [2] + gain [3]);
}

//  Whether every one of count windows keeps what is left of n s2 - s1²
//  at least limit × bound, or has no change (0 whatever its sums).
static inline bool
s_sound (size_t count, const double *restrict sum, const double *restrict squares,
         const int64_t *restrict moves, double n, double reached)
{
    int64_t lost = 0;
    for (size_t b = 0; b < count; b++)
        lost |= (n * squares [b] - sum [b] * sum [b] < reached) & (moves [b] > 0);
    return lost == 0;
}

static SF_KERNEL_CLONES void
s_variance_block (const double *sum, const double *squares, const int64_t *moves, double inv,
                  double *var)
{
    s_variance (SF_KERNEL_BLOCK, sum, squares, moves, inv, var);
}

static SF_KERNEL_CLONES double
s_gain_block (const double *now, const double *gone, double shift, const double *squares)
{
    return s_gain (SF_KERNEL_BLOCK, now, gone, shift, squares);
}

static SF_KERNEL_CLONES bool
s_sound_block (const double *sum, const double *squares, const int64_t *moves, double n,
               double reached)
{
    return s_sound (SF_KERNEL_BLOCK, sum, squares, moves, n, reached);
}

//  State: [shift, s1, s2, bound, count, ring of n closes].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict var = out [0];
    size_t n = (size_t) args [0], every = s_every (n);
    double inv = 1.0 / (double) n, limit = s_limit (n), fresh [S_RING];
    double sum [SF_KERNEL_BLOCK], squares [SF_KERNEL_BLOCK];
    int64_t moves [SF_KERNEL_BLOCK];
    double shift = 0, s1 = 0, s2 = 0, bound = 0;
    int64_t count = 0;
    //  Segments from one regular afresh sum to the next: the afresh sum,
    //  then blocks of slides
    for (size_t start = n - 1; start < size; start += every) {
        s_afresh (close + start + 1 - n, n, NULL, n, fresh);
        shift = fresh [S_SHIFT], s1 = fresh [S_SUM], s2 = fresh [S_SQUARES];
        bound = fresh [S_BOUND], count = (int64_t) fresh [S_MOVES];
        s_variance (1, &s1, &s2, &count, inv, var + start);
        size_t end = start + every < size? start + every: size;
        for (size_t i = start + 1; i < end; ) {
            size_t block = end - i < SF_KERNEL_BLOCK? end - i: SF_KERNEL_BLOCK;
            bool whole = block == SF_KERNEL_BLOCK;
            const double *now = close + i, *gone = now - n;
            if (whole)
                s_moves_block (now, now - 1, gone, gone + 1, moves);
            else
                s_moves (block, now, now - 1, gone, gone + 1, moves);
            //  Slide the block without checking the bound, then check all
            //  of it against the bound at its end (which no slide's
            //  exceeds); slide by slide, as the step form does, on a miss
            double was_s1 = s1, was_s2 = s2;
            int64_t was_count = count;
            for (size_t b = 0; b < block; b++) {
                double enter = now [b] - shift, leave = gone [b] - shift;
                s1 += enter - leave;
                s2 += enter * enter - leave * leave;
                count += moves [b];
                sum [b] = s1;
                squares [b] = s2;
                moves [b] = count;
            }
            double reached = bound + (whole? s_gain_block (now, gone, shift, squares)
                                           : s_gain (block, now, gone, shift, squares));
            bool sound = whole? s_sound_block (sum, squares, moves, (double) n, limit * reached)
                              : s_sound (block, sum, squares, moves, (double) n,
                                         limit * reached);
            if (sound)
                bound = reached;
            else {
                s1 = was_s1, s2 = was_s2, count = was_count;
                for (size_t b = 0; b < block; b++) {
                    const double *x = now + b;
                    count += (x [0] != x [-1]) - (gone [b + 1] != gone [b]);
                    if (s_slide (&s1, &s2, &bound, x [0] - shift, gone [b] - shift, (double) n,
                                 limit) & (count > 0)) {
                        s_afresh (x + 1 - n, n, NULL, n, fresh);
                        shift = fresh [S_SHIFT], s1 = fresh [S_SUM], s2 = fresh [S_SQUARES];
                        bound = fresh [S_BOUND], count = (int64_t) fresh [S_MOVES];
                    }
                    sum [b] = s1;
                    squares [b] = s2;
                    moves [b] = count;
                }
            }
            if (whole)
                s_variance_block (sum, squares, moves, inv, var + i);
            else
                s_variance (block, sum, squares, moves, inv, var + i);
            i += block;
        }
    }
    if (state) {
        state [S_SHIFT] = shift;
        state [S_SUM] = s1;
        state [S_SQUARES] = s2;
        state [S_BOUND] = bound;
        state [S_MOVES] = (double) count;
        for (size_t j = size - n; j < size; j++)
            state [S_RING + j % n] = close [j];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double *ring = state + S_RING, close = in [0][i];
    size_t slot = (size_t) (seen % n);
    //  The close before, the one leaving and the one after it, before the
    //  ring takes this one (for a window of one, the one after is this)
    double before = ring [(slot + n - 1) % n], gone = ring [slot];
    double after = n > 1? ring [(slot + 1) % n]: close;
    ring [slot] = close;
    if (seen + 1 < n)
        return;
    bool whole = (seen + 1 - n) % s_every (n) == 0;
    if (!whole) {
        state [S_MOVES] += (double) ((close != before) - (after != gone));
        whole = s_slide (state + S_SUM, state + S_SQUARES, state + S_BOUND,
                         close - state [S_SHIFT], gone - state [S_SHIFT], (double) n,
                         s_limit (n)) & (state [S_MOVES] > 0);
    }
    //  The window from the oldest close: the ring after this slot, then
    //  from 0 (in order from 0 when the slot is the last)
    if (whole)
        s_afresh (ring + slot + 1, n - slot - 1, ring, n, state);
    int64_t count = (int64_t) state [S_MOVES];
    s_variance (1, state + S_SUM, state + S_SQUARES, &count, 1.0 / (double) n, out);
}

const sf_indicator_t sf_indicator_var = {
    .inputs = "c", .outputs = { "var" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_var);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 5, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_var = {
    .name = "var", .version = "1", .summary = "population variance (period 5)",
    .analyze = s_analyze, .params = s_params
};
