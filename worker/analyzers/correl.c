/*  =========================================================================
    correl - Pearson's correlation of two series over a window (TA-Lib
    CORREL)

    Over the last `period` pairs of prices (not returns): r = (Σ xy - Σ x
    Σ y / n) / √((Σ x² - (Σ x)² / n) (Σ y² - (Σ y)² / n)); 0 when the
    product under the root is below 1e-14, negative included (TA-Lib's
    rule). By default x is the high and y the low of the job's candles, as
    TA-Lib takes them for one instrument; params x and y name other
    columns, or against a symbol whose `column` is x while the job's is y
    (sf_pair). Params: period (1-100000, default 30), x, y, against,
    column; lookback period - 1.

    TA-Lib keeps running sums of x, x², … which cancel at high prices (so
    that |r| can exceed 1). Here the sums are of deviations from shifts
    reset to each series' window mean whenever they are summed afresh
    (every 129 candles, or a little more than `period` when that is
    longer), with a bound on the
    rounding the slides gather for each series' variance: when what is
    left of one is not well above its bound (a quiet window after a wild
    one, or prices drifted far from the shift), that window is summed
    afresh. A running count of the changes within each window (exact)
    makes the variance of a window whose prices are all equal exactly 0.
    The kernel slides the sums over a block of candles without the bounds
    (a recurrence), checks the whole block against the bounds at its end
    (vectorised; slide by slide, as the step form does, on a miss), then
    computes the block's correlations, with their roots and divisions, in
    loops that the compiler vectorises.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the shifts, the
    sums, the bounds, the counts and the last `period` prices of each
    series in rings indexed by candle number; a window is summed afresh in
    its order, whether from the rings or from the series, so the step form
    and the kernel agree to the bit (the bounds to rounding).
    ========================================================================= */

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include "indicators.h"
#include "sf_pair.h"

//  The state's slots: the shifts, the sums, the bounds, the counts, then
//  the rings.
enum { S_KX, S_KY, S_SX, S_SY, S_SXX, S_SYY, S_SXY, S_BX, S_BY, S_MX, S_MY, S_RINGS };

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

static size_t
s_state_size (const double *args)
{
    return S_RINGS + 2 * (size_t) args [0];
}

//  Candles between two regular afresh sums: one, then whole blocks of
//  SF_KERNEL_BLOCK slides, at least n of them (so that an afresh sum costs
//  O(1) a candle); often enough that the prices cannot drift far from the
//  shifts.
static size_t
s_every (size_t n)
{
    size_t slides = n > SF_KERNEL_BLOCK? n: SF_KERNEL_BLOCK;
    return 1 + SF_KERNEL_BLOCK * ((slides + SF_KERNEL_BLOCK - 1) / SF_KERNEL_BLOCK);
}

//  The factor of the rounding bounds (as var's): n Σ (x - Kx)² - (Σ (x -
//  Kx))² gathers at most about 4 n DBL_EPSILON (in² + out² + Σ (x - Kx)²)
//  a slide; times 1e9.
static double
s_limit (size_t n)
{
    return 4e9 * (double) n * DBL_EPSILON;
}

//  The shifts, sums, bounds (0) and counts of a window of n pairs, oldest
//  first: the first a_size from x_a, y_a, the rest from x_b, y_b (rings
//  cut at their oldest), into sums (S_KX .. S_MY). In the window's order,
//  whatever the cut.
static void
s_afresh (const double *x_a, const double *y_a, size_t a_size, const double *x_b,
          const double *y_b, size_t n, double *sums)
{
    double tx = 0, ty = 0;
    for (size_t j = 0; j < n; j++) {
        tx += j < a_size? x_a [j]: x_b [j - a_size];
        ty += j < a_size? y_a [j]: y_b [j - a_size];
    }
    double kx = tx / (double) n, ky = ty / (double) n;
    double last_x = a_size? x_a [0]: x_b [0], last_y = a_size? y_a [0]: y_b [0];
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, mx = 0, my = 0;
    for (size_t j = 0; j < n; j++) {
        double x = j < a_size? x_a [j]: x_b [j - a_size];
        double y = j < a_size? y_a [j]: y_b [j - a_size];
        double dx = x - kx, dy = y - ky;
        sx += dx;
        sy += dy;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
        mx += x != last_x;
        my += y != last_y;
        last_x = x, last_y = y;
    }
    sums [S_KX] = kx;
    sums [S_KY] = ky;
    sums [S_SX] = sx;
    sums [S_SY] = sy;
    sums [S_SXX] = sxx;
    sums [S_SYY] = syy;
    sums [S_SXY] = sxy;
    sums [S_BX] = 0;
    sums [S_BY] = 0;
    sums [S_MX] = mx;
    sums [S_MY] = my;
}

//  The running sums, bounds and counts of one window.
typedef struct {
    double sx;                  //  Σ (x - Kx)
    double sy;                  //  Σ (y - Ky)
    double sxx;                 //  Σ (x - Kx)²
    double syy;                 //  Σ (y - Ky)²
    double sxy;                 //  Σ (x - Kx) (y - Ky)
    double bx;                  //  The rounding bound of x's variance
    double by;                  //  The rounding bound of y's variance
    int64_t mx;                 //  Changes between x's in the window
    int64_t my;                 //  Changes between y's in the window
} s_run_t;

//  Slide the sums and bounds: x, y enter, old_x, old_y leave (all
//  shifted). Returns true when the window must be summed afresh: what is
//  left of a variance is not well above its bound, and its window has
//  changes (a window of equal prices is 0 whatever its sums).
static inline bool
s_slide (s_run_t *s, double x, double y, double old_x, double old_y, double n, double limit)
{
    s->sx += x - old_x;
    s->sy += y - old_y;
    s->sxx += x * x - old_x * old_x;
    s->syy += y * y - old_y * old_y;
    s->sxy += x * y - old_x * old_y;
    s->bx += x * x + old_x * old_x + fabs (s->sxx);
    s->by += y * y + old_y * old_y + fabs (s->syy);
    bool lost_x = (n * s->sxx - s->sx * s->sx < limit * s->bx) & (s->mx > 0);
    bool lost_y = (n * s->syy - s->sy * s->sy < limit * s->by) & (s->my > 0);
    return lost_x | lost_y;
}

static void
s_run_load (s_run_t *s, const double *sums)
{
    s->sx = sums [S_SX], s->sy = sums [S_SY], s->sxx = sums [S_SXX], s->syy = sums [S_SYY];
    s->sxy = sums [S_SXY], s->bx = sums [S_BX], s->by = sums [S_BY];
    s->mx = (int64_t) sums [S_MX], s->my = (int64_t) sums [S_MY];
}

static void
s_run_save (const s_run_t *s, double *sums)
{
    sums [S_SX] = s->sx, sums [S_SY] = s->sy, sums [S_SXX] = s->sxx, sums [S_SYY] = s->syy;
    sums [S_SXY] = s->sxy, sums [S_BX] = s->bx, sums [S_BY] = s->by;
    sums [S_MX] = (double) s->mx, sums [S_MY] = (double) s->my;
}

//  The block's sums, one array each (at most SF_KERNEL_BLOCK windows).
typedef struct {
    double sx [SF_KERNEL_BLOCK];        //  Σ (x - Kx)
    double sy [SF_KERNEL_BLOCK];        //  Σ (y - Ky)
    double sxx [SF_KERNEL_BLOCK];       //  Σ (x - Kx)², then x's variance × n
    double syy [SF_KERNEL_BLOCK];       //  Σ (y - Ky)², then y's variance × n
    double sxy [SF_KERNEL_BLOCK];       //  Σ (x - Kx) (y - Ky)
    int64_t mx [SF_KERNEL_BLOCK];       //  Changes within the window of x
    int64_t my [SF_KERNEL_BLOCK];       //  Changes within the window of y
} s_sums_t;

//  The correlations of count windows from their sums (inv: 1 / n).
static inline void
s_correl (size_t count, s_sums_t *restrict s, double inv, double *restrict r)
{
    //  Separate loops, so that each vectorises: the compiler would move
    //  arithmetic that only one arm of a choice uses into a branch
    for (size_t b = 0; b < count; b++) {
        s->sxx [b] = s->sxx [b] - s->sx [b] * s->sx [b] * inv;
        s->syy [b] = s->syy [b] - s->sy [b] * s->sy [b] * inv;
    }
    for (size_t b = 0; b < count; b++) {
        s->sxx [b] = s->mx [b] == 0? 0.0: s->sxx [b];
        s->syy [b] = s->my [b] == 0? 0.0: s->syy [b];
    }
    for (size_t b = 0; b < count; b++)
        r [b] = (s->sxy [b] - s->sx [b] * s->sy [b] * inv) / sqrt (s->sxx [b] * s->syy [b]);
    for (size_t b = 0; b < count; b++)
        r [b] = s->sxx [b] * s->syy [b] < 1e-14? 0.0: r [b];
}

static SF_KERNEL_CLONES void
s_correl_block (s_sums_t *s, double inv, double *r)
{
    s_correl (SF_KERNEL_BLOCK, s, inv, r);
}

//  Put the running sums into window b of the block.
static inline void
s_keep (s_sums_t *block, size_t b, const s_run_t *s)
{
    block->sx [b] = s->sx;
    block->sy [b] = s->sy;
    block->sxx [b] = s->sxx;
    block->syy [b] = s->syy;
    block->sxy [b] = s->sxy;
    block->mx [b] = s->mx;
    block->my [b] = s->my;
}

//  How count candles change a window's count of changes, from the prices
//  (now), those before (before), those leaving (gone) and those after
//  them (after).
static inline void
s_moves (size_t count, const double *restrict now, const double *restrict before,
         const double *restrict gone, const double *restrict after, int64_t *restrict moved)
{
    //  In integers: comparisons turned into doubles would be branches,
    //  which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        moved [b] = (int64_t) (now [b] != before [b]) - (int64_t) (after [b] != gone [b]);
}

//  What the bound of one series' variance gains over count slides of one
//  shift (as s_slide adds it): from the prices entering (now) and leaving
//  (gone) and the sums of squares after each slide.
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

//  Whether every one of count windows of a series keeps what is left of n
//  Σ d² - (Σ d)² at least reached × the limit, or has no change.
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
s_moves_block (const double *now, const double *before, const double *gone,
               const double *after, int64_t *moved)
{
    s_moves (SF_KERNEL_BLOCK, now, before, gone, after, moved);
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

//  State: [Kx, Ky, the five sums, the two bounds, the two counts, ring of
//  x, ring of y].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *x = in [0], *y = in [1];
    double *correl = out [0];
    size_t n = (size_t) args [0], every = s_every (n);
    double inv = 1.0 / (double) n, limit = s_limit (n), fresh [S_RINGS];
    s_sums_t *block = (s_sums_t *) malloc (sizeof (s_sums_t));
    if (!block)
        abort ();
    s_run_t run = { 0 };
    double kx = 0, ky = 0;
    //  Segments from one regular afresh sum to the next: the afresh sum,
    //  then blocks of slides
    for (size_t start = n - 1; start < size; start += every) {
        s_afresh (x + start + 1 - n, y + start + 1 - n, n, NULL, NULL, n, fresh);
        kx = fresh [S_KX], ky = fresh [S_KY];
        s_run_load (&run, fresh);
        s_keep (block, 0, &run);
        s_correl (1, block, inv, correl + start);
        size_t end = start + every < size? start + every: size;
        for (size_t i = start + 1; i < end; ) {
            size_t count = end - i < SF_KERNEL_BLOCK? end - i: SF_KERNEL_BLOCK;
            bool whole = count == SF_KERNEL_BLOCK;
            const double *xt = x + i, *yt = y + i, *gx = xt - n, *gy = yt - n;
            if (whole) {
                s_moves_block (xt, xt - 1, gx, gx + 1, block->mx);
                s_moves_block (yt, yt - 1, gy, gy + 1, block->my);
            }
            else {
                s_moves (count, xt, xt - 1, gx, gx + 1, block->mx);
                s_moves (count, yt, yt - 1, gy, gy + 1, block->my);
            }
            //  Slide the block without checking the bounds, then check all
            //  of it against the bounds at its end (which no slide's
            //  exceeds); slide by slide, as the step form does, on a miss.
            //  The sums in locals, which the compiler keeps in registers.
            s_run_t was = run;
            double sx = run.sx, sy = run.sy, sxx = run.sxx, syy = run.syy, sxy = run.sxy;
            int64_t mx = run.mx, my = run.my;
            for (size_t b = 0; b < count; b++) {
                double in_x = xt [b] - kx, in_y = yt [b] - ky;
                double out_x = gx [b] - kx, out_y = gy [b] - ky;
                sx += in_x - out_x;
                sy += in_y - out_y;
                sxx += in_x * in_x - out_x * out_x;
                syy += in_y * in_y - out_y * out_y;
                sxy += in_x * in_y - out_x * out_y;
                mx += block->mx [b];
                my += block->my [b];
                block->sx [b] = sx;
                block->sy [b] = sy;
                block->sxx [b] = sxx;
                block->syy [b] = syy;
                block->sxy [b] = sxy;
                block->mx [b] = mx;
                block->my [b] = my;
            }
            double reached_x, reached_y;
            bool sound;
            if (whole) {
                reached_x = run.bx + s_gain_block (xt, gx, kx, block->sxx);
                reached_y = run.by + s_gain_block (yt, gy, ky, block->syy);
                sound = s_sound_block (block->sx, block->sxx, block->mx, (double) n,
                                       limit * reached_x)
                      & s_sound_block (block->sy, block->syy, block->my, (double) n,
                                       limit * reached_y);
            }
            else {
                reached_x = run.bx + s_gain (count, xt, gx, kx, block->sxx);
                reached_y = run.by + s_gain (count, yt, gy, ky, block->syy);
                sound = s_sound (count, block->sx, block->sxx, block->mx, (double) n,
                                 limit * reached_x)
                      & s_sound (count, block->sy, block->syy, block->my, (double) n,
                                 limit * reached_y);
            }
            if (sound) {
                run.sx = sx, run.sy = sy, run.sxx = sxx, run.syy = syy, run.sxy = sxy;
                run.mx = mx, run.my = my;
                run.bx = reached_x, run.by = reached_y;
            }
            else {
                run = was;
                for (size_t b = 0; b < count; b++) {
                    const double *xb = xt + b, *yb = yt + b, *gxb = gx + b, *gyb = gy + b;
                    run.mx += (xb [0] != xb [-1]) - (gxb [1] != gxb [0]);
                    run.my += (yb [0] != yb [-1]) - (gyb [1] != gyb [0]);
                    if (s_slide (&run, xb [0] - kx, yb [0] - ky, gxb [0] - kx, gyb [0] - ky,
                                 (double) n, limit)) {
                        s_afresh (xb + 1 - n, yb + 1 - n, n, NULL, NULL, n, fresh);
                        kx = fresh [S_KX], ky = fresh [S_KY];
                        s_run_load (&run, fresh);
                    }
                    s_keep (block, b, &run);
                }
            }
            if (whole)
                s_correl_block (block, inv, correl + i);
            else
                s_correl (count, block, inv, correl + i);
            i += count;
        }
    }
    free (block);
    if (state) {
        state [S_KX] = kx;
        state [S_KY] = ky;
        s_run_save (&run, state);
        for (size_t j = size - n; j < size; j++) {
            state [S_RINGS + j % n] = x [j];
            state [S_RINGS + n + j % n] = y [j];
        }
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double *ring_x = state + S_RINGS, *ring_y = ring_x + n, x = in [0][i], y = in [1][i];
    size_t slot = (size_t) (seen % n), before = (slot + n - 1) % n, after = (slot + 1) % n;
    //  The prices before, leaving and after the leaving ones, before the
    //  rings take these (for a window of one, the ones after are these)
    double before_x = ring_x [before], gone_x = ring_x [slot];
    double before_y = ring_y [before], gone_y = ring_y [slot];
    double after_x = n > 1? ring_x [after]: x, after_y = n > 1? ring_y [after]: y;
    ring_x [slot] = x;
    ring_y [slot] = y;
    if (seen + 1 < n)
        return;
    s_run_t run;
    s_run_load (&run, state);
    bool whole = (seen + 1 - n) % s_every (n) == 0;
    if (!whole) {
        double kx = state [S_KX], ky = state [S_KY];
        run.mx += (x != before_x) - (after_x != gone_x);
        run.my += (y != before_y) - (after_y != gone_y);
        whole = s_slide (&run, x - kx, y - ky, gone_x - kx, gone_y - ky, (double) n,
                         s_limit (n));
        s_run_save (&run, state);
    }
    //  The window from the oldest prices: the rings after this slot, then
    //  from 0
    if (whole) {
        s_afresh (ring_x + slot + 1, ring_y + slot + 1, n - slot - 1, ring_x, ring_y, n, state);
        s_run_load (&run, state);
    }
    s_sums_t one;
    s_keep (&one, 0, &run);
    s_correl (1, &one, 1.0 / (double) n, out);
}

const sf_indicator_t sf_indicator_correl = {
    .inputs = "hl", .outputs = { "correl" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_pair_run (ctx, &sf_indicator_correl);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 30, 1, 100000, NULL, "window length in candles" },
    SF_PAIR_PARAMS,
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_correl = {
    .name = "correl", .version = "1",
    .summary = "Pearson's r over a window (period 30; high and low, or another symbol)",
    .analyze = s_analyze, .params = s_params
};
