/*  =========================================================================
    beta - beta of two series (TA-Lib BETA)

    With x and y two series of prices (the market's and the asset's), their
    simple returns r = (p - p[-1]) / p[-1], 0 when |p[-1]| < 1e-14, and
    over the last `period` returns (period + 1 prices): beta = (n Σ xy - Σ
    x Σ y) / (n Σ x² - (Σ x)²), the least-squares slope of y's returns on
    x's; 0 when |the denominator| < 1e-14 (TA-Lib's rules). By default x
    is the high and y the low of the job's candles, as TA-Lib takes them
    for one instrument; params x and y name other columns, or against a
    symbol whose `column` is x while the job's is y (sf_pair). Params:
    period (1-100000, default 5), x, y, against, column; lookback period.

    The four sums slide in O(1) a candle and are summed afresh every
    multiple of `period` from 1024 candles on. A bound on the rounding the
    slides gather is kept too: when what is left of the denominator is not
    well above it (x's returns almost all alike after a large one left the
    window), that window is summed afresh, so that a beta never strays
    more than about 1e-9 (relative, and as the window's own cancellation
    allows) from one summed afresh. The kernel computes the returns (with
    their divisions) in loops of independent iterations that the compiler
    vectorises, slides the sums over a block, then computes the block's
    betas, vectorised.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last two prices,
    the four sums, the bound and the last `period` returns of each series
    in rings indexed by candle number; a window is summed afresh in its
    order, whether from the rings or from the series, so the step form and
    the kernel agree to the bit.
    ========================================================================= */

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include "indicators.h"
#include "sf_pair.h"

//  The state's slots: the prices, the sums, the bound, then the rings of
//  x's and y's returns.
enum { S_X, S_Y, S_SX, S_SY, S_SXX, S_SXY, S_BOUND, S_RINGS };

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    return S_RINGS + 2 * (size_t) args [0];
}

//  Candles between two regular afresh sums: a multiple of n from 1024 on.
static size_t
s_every (size_t n)
{
    return n * ((1024 + n - 1) / n);
}

//  The factor of the rounding bound (as var's): n Σx² - (Σx)² gathers at
//  most about 4 n DBL_EPSILON (x² + old² + Σx²) a slide; times 1e9.
static double
s_limit (size_t n)
{
    return 4e9 * (double) n * DBL_EPSILON;
}

//  The returns of count prices now from the prices before.
static inline void
s_returns (size_t count, const double *restrict now, const double *restrict before,
           double *restrict r)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        r [b] = (now [b] - before [b]) / before [b];
    for (size_t b = 0; b < count; b++)
        r [b] = fabs (before [b]) < 1e-14? 0.0: r [b];
}

//  The sums of a window of n pairs of returns, oldest first: the first
//  a_size from x_a, y_a, the rest from x_b, y_b (rings cut at their
//  oldest); into s[0 .. 4] (Σx, Σy, Σx², Σxy, the bound 0). In the
//  window's order, whatever the cut.
static void
s_afresh (const double *x_a, const double *y_a, size_t a_size, const double *x_b,
          const double *y_b, size_t n, double *s)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t j = 0; j < n; j++) {
        double x = j < a_size? x_a [j]: x_b [j - a_size];
        double y = j < a_size? y_a [j]: y_b [j - a_size];
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    s [0] = sx;
    s [1] = sy;
    s [2] = sxx;
    s [3] = sxy;
    s [4] = 0;
}

//  Slide the sums and bound: returns x, y enter, old_x, old_y leave.
//  Returns true when the window must be summed afresh.
static inline bool
s_slide (double *sx, double *sy, double *sxx, double *sxy, double *bound, double x, double y,
         double old_x, double old_y, double n, double limit)
{
    *sx += x - old_x;
    *sy += y - old_y;
    *sxx += x * x - old_x * old_x;
    *sxy += x * y - old_x * old_y;
    *bound += x * x + old_x * old_x + fabs (*sxx);
    return n * *sxx - *sx * *sx < limit * *bound;
}

//  The betas of count windows from their sums (n the window's length).
static inline void
s_beta (size_t count, const double *restrict sx, const double *restrict sy,
        const double *restrict sxx, const double *restrict sxy, double n, double *restrict beta)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        beta [b] = (n * sxy [b] - sx [b] * sy [b]) / (n * sxx [b] - sx [b] * sx [b]);
    for (size_t b = 0; b < count; b++)
        beta [b] = fabs (n * sxx [b] - sx [b] * sx [b]) < 1e-14? 0.0: beta [b];
}

static SF_KERNEL_CLONES void
s_returns_block (const double *now, const double *before, double *r)
{
    s_returns (SF_KERNEL_BLOCK, now, before, r);
}

static SF_KERNEL_CLONES void
s_beta_block (const double *sx, const double *sy, const double *sxx, const double *sxy,
              double n, double *beta)
{
    s_beta (SF_KERNEL_BLOCK, sx, sy, sxx, sxy, n, beta);
}

//  State: [x, y, Σx, Σy, Σx², Σxy, bound, ring of x's returns, ring of
//  y's returns].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *x = in [0], *y = in [1];
    double *beta = out [0];
    size_t n = (size_t) args [0], every = s_every (n);
    double limit = s_limit (n);
    //  The returns of every candle (index 0 has none)
    double *rx = sf_kernel_scratch (2 * size), *ry = rx + size;
    size_t i = 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK) {
        s_returns_block (x + i, x + i - 1, rx + i);
        s_returns_block (y + i, y + i - 1, ry + i);
    }
    s_returns (size - i, x + i, x + i - 1, rx + i);
    s_returns (size - i, y + i, y + i - 1, ry + i);
    double sx [SF_KERNEL_BLOCK], sy [SF_KERNEL_BLOCK], sxx [SF_KERNEL_BLOCK];
    double sxy [SF_KERNEL_BLOCK];
    //  The sums and bound in locals, which the compiler keeps in registers
    //  (an afresh sum goes through fresh)
    double a = 0, c = 0, aa = 0, ac = 0, bound = 0, fresh [5];
    size_t afresh = n;                  //  The next regular afresh sum
    for (i = n; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        for (size_t b = 0; b < count; b++) {
            size_t t = i + b;
            bool whole = t == afresh;
            if (whole)
                afresh += every;
            else
                whole = s_slide (&a, &c, &aa, &ac, &bound, rx [t], ry [t], rx [t - n],
                                 ry [t - n], (double) n, limit);
            //  The window of returns ending at t begins at t - n + 1
            if (whole) {
                s_afresh (rx + t + 1 - n, ry + t + 1 - n, n, NULL, NULL, n, fresh);
                a = fresh [0], c = fresh [1], aa = fresh [2], ac = fresh [3];
                bound = fresh [4];
            }
            sx [b] = a;
            sy [b] = c;
            sxx [b] = aa;
            sxy [b] = ac;
        }
        if (count == SF_KERNEL_BLOCK)
            s_beta_block (sx, sy, sxx, sxy, (double) n, beta + i);
        else
            s_beta (count, sx, sy, sxx, sxy, (double) n, beta + i);
        i += count;
    }
    if (state) {
        state [S_X] = x [size - 1];
        state [S_Y] = y [size - 1];
        state [S_SX] = a;
        state [S_SY] = c;
        state [S_SXX] = aa;
        state [S_SXY] = ac;
        state [S_BOUND] = bound;
        //  The return of candle t in slot (t - 1) mod n
        for (size_t t = size - n; t < size; t++) {
            state [S_RINGS + (t - 1) % n] = rx [t];
            state [S_RINGS + n + (t - 1) % n] = ry [t];
        }
    }
    free (rx);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double *ring_x = state + S_RINGS, *ring_y = ring_x + n;
    double before [2] = { state [S_X], state [S_Y] }, now [2] = { in [0][i], in [1][i] };
    state [S_X] = now [0];
    state [S_Y] = now [1];
    if (seen == 0)
        return;
    double r [2];
    s_returns (2, now, before, r);
    size_t slot = (size_t) ((seen - 1) % n);
    double old_x = ring_x [slot], old_y = ring_y [slot];
    ring_x [slot] = r [0];
    ring_y [slot] = r [1];
    if (seen < n)
        return;
    bool whole = (seen - n) % s_every (n) == 0;
    if (!whole)
        whole = s_slide (state + S_SX, state + S_SY, state + S_SXX, state + S_SXY,
                         state + S_BOUND, r [0], r [1], old_x, old_y, (double) n, s_limit (n));
    //  The window from the oldest return: the rings after this slot, then
    //  from 0
    if (whole)
        s_afresh (ring_x + slot + 1, ring_y + slot + 1, n - slot - 1, ring_x, ring_y, n,
                  state + S_SX);
    s_beta (1, state + S_SX, state + S_SY, state + S_SXX, state + S_SXY, (double) n, out);
}

const sf_indicator_t sf_indicator_beta = {
    .inputs = "hl", .outputs = { "beta" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_pair_run (ctx, &sf_indicator_beta);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 5, 1, 100000, NULL, "returns in the window" },
    SF_PAIR_PARAMS,
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_beta = {
    .name = "beta", .version = "1",
    .summary = "beta of y's returns on x's (period 5; high and low, or another symbol)",
    .analyze = s_analyze, .params = s_params
};
