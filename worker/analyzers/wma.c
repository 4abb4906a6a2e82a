/*  =========================================================================
    wma - weighted moving average of closes (TA-Lib WMA)

    Weights 1 .. period, the newest heaviest, divided by period (period + 1)
    / 2. Params: period (2-100000, default 20); lookback period - 1.

    The kernel slides two sums in O(1) a candle, as TA-Lib does: the
    weighted sum S and the plain sum T of the window; a new close c moves
    them to S - T + period × c and T + c - the close that leaves. Both are
    summed afresh every multiple of `period` from 1024 candles on, so
    rounding never builds up.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last `period`
    closes, in a ring indexed by candle number; the step form sums the
    weighted window afresh, O(period) a candle.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

static size_t
s_state_size (const double *args)
{
    return (size_t) args [0];
}

//  Weighted sum of x[0 .. n-1], weights 1 .. n, in four partial sums.
static double
s_weighted (const double *x, size_t n)
{
    double a = 0, b = 0, c = 0, d = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        a += (double) (j + 1) * x [j];
        b += (double) (j + 2) * x [j + 1];
        c += (double) (j + 3) * x [j + 2];
        d += (double) (j + 4) * x [j + 3];
    }
    for (; j < n; j++)
        a += (double) (j + 1) * x [j];
    return (a + b) + (c + d);
}

//  State: the ring of the last n closes.
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict wma = out [0];
    size_t n = (size_t) args [0];
    double weight = (double) n, inv = 1.0 / ((double) n * ((double) n + 1) / 2);
    //  Summed afresh every multiple of n from 1024 on: the O(n) sums cost
    //  little a candle
    size_t every = n * ((1024 + n - 1) / n);
    for (size_t i = n - 1; i < size; i += every) {
        double plain = sf_kernel_sum (close + i + 1 - n, n);
        double weighted = s_weighted (close + i + 1 - n, n);
        wma [i] = weighted * inv;
        size_t end = i + every < size? i + every: size;
        for (size_t j = i + 1; j < end; j++) {
            weighted += weight * close [j] - plain;
            plain += close [j] - close [j - n];
            wma [j] = weighted * inv;
        }
    }
    if (state)
        for (size_t j = size - n; j < size; j++)
            state [j % n] = close [j];
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    state [seen % n] = in [0][i];
    if (seen + 1 < n)
        return;
    //  Oldest first: the ring from the slot after this one, then from 0
    size_t oldest = (size_t) ((seen + 1) % n), w = 1;
    double sum = 0;
    for (size_t j = oldest; j < n; j++)
        sum += (double) w++ * state [j];
    for (size_t j = 0; j < oldest; j++)
        sum += (double) w++ * state [j];
    out [0] = sum / ((double) n * ((double) n + 1) / 2);
}

const sf_indicator_t sf_indicator_wma = {
    .inputs = "c", .outputs = { "wma" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_wma);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_wma = {
    .name = "wma", .version = "1", .summary = "weighted moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
