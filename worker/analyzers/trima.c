/*  =========================================================================
    trima - triangular moving average of closes (TA-Lib TRIMA)

    Weights 1, 2, …, p, …, 2, 1 over the last `period` closes, oldest to
    newest, with p = ⌈period / 2⌉ (an even period repeats p in the middle:
    1 … 10, 10 … 1 for 20), divided by their sum p × (period - p + 1): 110
    for 20, 121 for 21. It equals SMA(p) of SMA(period - p + 1). Params:
    period (2-100000, default 20); lookback period - 1.

    The kernel slides three sums in O(1) a candle, as TA-Lib does: the
    weighted sum T, the sum A of the newest p closes of the window and the
    sum B of its oldest p. A new close moves A first, then T by A - B (the
    newest p closes gain a weight, the oldest p lose one), then B. The
    three are summed afresh every multiple of `period` from 1024 candles
    on, so rounding never builds up.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the three sums and
    the last `period` closes in a ring indexed by candle number; at an
    afresh sum the ring holds the window in order, so the step form sums
    the same values in the same order as the kernel.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  The state's slots: the sums, then the ring.
enum { S_WEIGHTED, S_NEWEST, S_OLDEST, S_RING };

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

//  Candles between two afresh sums: a multiple of n from 1024 on.
static size_t
s_every (size_t n)
{
    return n * ((1024 + n - 1) / n);
}

//  The three sums of the window x[0 .. n-1] (oldest first) into sums.
static void
s_afresh (const double *x, size_t n, double *sums)
{
    size_t p = (n + 1) / 2;
    double weighted = 0, newest = 0, oldest = 0;
    for (size_t j = 0; j < n; j++) {
        size_t age = n - 1 - j;
        size_t weight = age + 1 < n - age? age + 1: n - age;
        weighted += (double) (weight < p? weight: p) * x [j];
    }
    for (size_t j = 0; j < p; j++) {
        oldest += x [j];
        newest += x [n - p + j];
    }
    sums [S_WEIGHTED] = weighted;
    sums [S_NEWEST] = newest;
    sums [S_OLDEST] = oldest;
}

//  1 / the sum of the weights.
static double
s_scale (size_t n)
{
    size_t p = (n + 1) / 2;
    return 1.0 / ((double) p * (double) (n - p + 1));
}

//  State: [T, A, B, ring of n closes].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict trima = out [0];
    size_t n = (size_t) args [0], p = (n + 1) / 2, every = s_every (n);
    double scale = s_scale (n), sums [S_RING];
    double weighted = 0, newest = 0, oldest = 0;
    for (size_t i = n - 1; i < size; i += every) {
        s_afresh (close + i + 1 - n, n, sums);
        weighted = sums [S_WEIGHTED], newest = sums [S_NEWEST], oldest = sums [S_OLDEST];
        trima [i] = weighted * scale;
        size_t end = i + every < size? i + every: size;
        for (size_t j = i + 1; j < end; j++) {
            newest += close [j] - close [j - p];
            weighted += newest - oldest;
            oldest += close [j - n + p] - close [j - n];
            trima [j] = weighted * scale;
        }
    }
    if (state) {
        state [S_WEIGHTED] = weighted;
        state [S_NEWEST] = newest;
        state [S_OLDEST] = oldest;
        for (size_t j = size - n; j < size; j++)
            state [S_RING + j % n] = close [j];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0], p = (n + 1) / 2;
    double *ring = state + S_RING, close = in [0][i];
    size_t slot = (size_t) (seen % n);
    double gone = ring [slot];
    ring [slot] = close;
    if (seen + 1 < n)
        return;
    if ((seen + 1 - n) % s_every (n) == 0)
        s_afresh (ring, n, state);
    else {
        state [S_NEWEST] += close - ring [(seen - p) % n];
        state [S_WEIGHTED] += state [S_NEWEST] - state [S_OLDEST];
        state [S_OLDEST] += ring [(seen - n + p) % n] - gone;
    }
    out [0] = state [S_WEIGHTED] * s_scale (n);
}

const sf_indicator_t sf_indicator_trima = {
    .inputs = "c", .outputs = { "trima" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_trima);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_trima = {
    .name = "trima", .version = "1", .summary = "triangular moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
