/*  =========================================================================
    ultosc - ultimate oscillator (TA-Lib ULTOSC)

    BP = close - min (low, close[-1]) and TR the true range, from index 1.
    The three periods are sorted: the shortest weighs 4, the middle one 2,
    the longest 1. A_p and B_p are the sums of BP and TR over the last p
    candles; ultosc = 100 × (4 A/B + 2 A/B + A/B) / 7, a term whose |B| <
    1e-14 counting as 0 (the sum is still divided by 7), so a fully flat
    window gives 0. Params: period1 (1-100000, default 7), period2 (14),
    period3 (28); lookback the longest period.

    The kernel keeps the terms of the last (longest period) candles and of
    a block in a small buffer: the block's terms are a loop of independent
    iterations (vectorised); running sums of BP and TR start afresh at the
    buffer's start for each block; every window's sums are then
    differences of two running sums, and with the divisions and choices a
    loop of independent iterations again (vectorised). A flat window's
    sums are exactly 0 that way: adding 0 leaves a running sum as it was.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the close before
    and the last (longest period) BP and TR, in rings indexed by candle
    number; the step form sums each window afresh.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "indicators.h"

//  The periods, shortest first.
static void
s_periods (const double *args, size_t *periods)
{
    size_t a = (size_t) args [0], b = (size_t) args [1], c = (size_t) args [2];
    size_t t;
    if (a > b)
        t = a, a = b, b = t;
    if (b > c)
        t = b, b = c, c = t;
    if (a > b)
        t = a, a = b, b = t;
    periods [0] = a;
    periods [1] = b;
    periods [2] = c;
}

static size_t
s_lookback (const double *args)
{
    size_t periods [3];
    s_periods (args, periods);
    return periods [2];
}

//  State: [close before, BP ring, TR ring].
static size_t
s_state_size (const double *args)
{
    return 1 + 2 * s_lookback (args);
}

//  BP and TR of candles first .. first + count - 1 (first > 0).
static inline void
s_terms (size_t count, const double *restrict high, const double *restrict low,
         const double *restrict close, size_t first, double *restrict bp,
         double *restrict tr)
{
    for (size_t b = 0; b < count; b++) {
        size_t i = first + b;
        double true_low = low [i] < close [i - 1]? low [i]: close [i - 1];
        bp [b] = close [i] - true_low;
        tr [b] = sf_kernel_true_range (high, low, close, i);
    }
}

static SF_KERNEL_CLONES void
s_terms_block (const double *high, const double *low, const double *close, size_t first,
               double *bp, double *tr)
{
    s_terms (SF_KERNEL_BLOCK, high, low, close, first, bp, tr);
}

//  One term of ultosc: weight × a / b, 0 where |b| < 1e-14.
static inline double
s_term (double weight, double a, double b)
{
    return __builtin_fabs (b) < 1e-14? 0.0: weight * (a / b);
}

//  ultosc of count candles whose windows' sums are the differences of the
//  running sums of BP (sum_a) and TR (sum_b) at j and j - period (j from
//  0; j - longest is the first read), the periods shortest first: 100 ×
//  (the terms weighted 4, 2, 1, added in TA-Lib's order) / 7. work: room
//  for 6 × SF_KERNEL_BLOCK doubles (a caller's, so that this inlines).
static inline void
s_ultosc (size_t count, const double *restrict sum_a, const double *restrict sum_b,
          const size_t *periods, double *restrict ultosc,
          double (*restrict work) [SF_KERNEL_BLOCK])
{
    size_t p0 = periods [0], p1 = periods [1], p2 = periods [2];
    //  The divisions apart from the choices: a division only one arm of a
    //  choice uses would be moved into a branch, which the compiler does
    //  not vectorise
    double (*ratio) [SF_KERNEL_BLOCK] = work, (*window) [SF_KERNEL_BLOCK] = work + 3;
    for (size_t j = 0; j < count; j++) {
        window [0][j] = sum_b [j] - sum_b [j - p0];
        window [1][j] = sum_b [j] - sum_b [j - p1];
        window [2][j] = sum_b [j] - sum_b [j - p2];
        ratio [0][j] = (sum_a [j] - sum_a [j - p0]) / window [0][j];
        ratio [1][j] = (sum_a [j] - sum_a [j - p1]) / window [1][j];
        ratio [2][j] = (sum_a [j] - sum_a [j - p2]) / window [2][j];
    }
    //  Each choice a select in place, so that the loops vectorise
    for (size_t k = 0; k < 3; k++)
        for (size_t j = 0; j < count; j++)
            ratio [k][j] = __builtin_fabs (window [k][j]) < 1e-14? 0.0: ratio [k][j];
    for (size_t j = 0; j < count; j++)
        ultosc [j] = 100.0 * ((4.0 * ratio [0][j] + 2.0 * ratio [1][j] + ratio [2][j]) / 7.0);
}

static SF_KERNEL_CLONES void
s_ultosc_block (const double *sum_a, const double *sum_b, const size_t *periods,
                double *ultosc, double (*work) [SF_KERNEL_BLOCK])
{
    s_ultosc (SF_KERNEL_BLOCK, sum_a, sum_b, periods, ultosc, work);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *high = in [0], *low = in [1], *close = in [2];
    double *restrict ultosc = out [0];
    size_t periods [3];
    s_periods (args, periods);
    size_t longest = periods [2], span = longest + SF_KERNEL_BLOCK;
    //  The terms of the last `longest` candles, then of the block; their
    //  running sums from the buffer's start
    double *buffer = sf_kernel_scratch (4 * span + 6 * SF_KERNEL_BLOCK);
    double *bp = buffer, *tr = buffer + span, *sum_a = buffer + 2 * span;
    double *sum_b = buffer + 3 * span;
    double (*work) [SF_KERNEL_BLOCK] = (double (*) [SF_KERNEL_BLOCK]) (buffer + 4 * span);
    //  Candles 0 .. longest - 1 (candle 0 has no terms; no window reads it)
    bp [0] = tr [0] = 0;
    s_terms (longest - 1, high, low, close, 1, bp + 1, tr + 1);
    for (size_t i = longest; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        if (count == SF_KERNEL_BLOCK)
            s_terms_block (high, low, close, i, bp + longest, tr + longest);
        else
            s_terms (count, high, low, close, i, bp + longest, tr + longest);
        double a = 0, b = 0;
        for (size_t m = 0; m < longest + count; m++) {
            sum_a [m] = a += bp [m];
            sum_b [m] = b += tr [m];
        }
        if (count == SF_KERNEL_BLOCK)
            s_ultosc_block (sum_a + longest, sum_b + longest, periods, ultosc + i, work);
        else
            s_ultosc (count, sum_a + longest, sum_b + longest, periods, ultosc + i, work);
        //  The last `longest` candles' terms to the front for the next block
        memmove (bp, bp + count, longest * sizeof (double));
        memmove (tr, tr + count, longest * sizeof (double));
        i += count;
    }
    if (state) {
        //  The buffer's front holds the terms of candles size - longest ..
        state [0] = close [size - 1];
        for (size_t j = size - longest; j < size; j++) {
            state [1 + j % longest] = bp [j - (size - longest)];
            state [1 + longest + j % longest] = tr [j - (size - longest)];
        }
    }
    free (buffer);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t periods [3];
    s_periods (args, periods);
    size_t longest = periods [2];
    double *bp = state + 1, *tr = state + 1 + longest;
    //  The terms of this candle, from the close before
    const double high [2] = { 0, in [0][i] }, low [2] = { 0, in [1][i] };
    const double close [2] = { state [0], in [2][i] };
    state [0] = close [1];
    if (seen == 0)
        return;
    size_t slot = (size_t) (seen % longest);
    s_terms (1, high, low, close, 1, bp + slot, tr + slot);
    if (seen < longest)
        return;
    static const double weights [3] = { 4, 2, 1 };
    double sum = 0;
    for (size_t k = 0; k < 3; k++) {
        //  The last n terms, oldest first
        double sum_a = 0, sum_b = 0;
        for (size_t age = periods [k]; age-- > 0; ) {
            size_t at = (size_t) ((seen - age) % longest);
            sum_a += bp [at];
            sum_b += tr [at];
        }
        sum += s_term (weights [k], sum_a, sum_b);
    }
    out [0] = 100.0 * (sum / 7.0);
}

const sf_indicator_t sf_indicator_ultosc = {
    .inputs = "hlc", .outputs = { "ultosc" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_ultosc);
}

static const sf_param_t s_params [] = {
    { "period1", SF_PARAM_INT, 7, 1, 100000, NULL, "first window (the periods are sorted)" },
    { "period2", SF_PARAM_INT, 14, 1, 100000, NULL, "second window" },
    { "period3", SF_PARAM_INT, 28, 1, 100000, NULL, "third window" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ultosc = {
    .name = "ultosc", .version = "1", .summary = "ultimate oscillator (7, 14, 28)",
    .analyze = s_analyze, .params = s_params
};
