/*  =========================================================================
    macdfix - MACD 12/26 with fixed smoothing (TA-Lib MACDFIX)

    macd as TA-Lib's MACD has it for 12 and 26, but with the EMAs' factors
    fixed at 0.15 and 0.075 instead of 2/13 and 2/27: both EMAs start at
    index 25, the slow seeded with the mean of closes 0 .. 25, the fast
    with the mean of closes 14 .. 25; signal = EMA(signal) of macd (factor
    2 / (signal + 1)) seeded with the mean of its first `signal` values;
    hist = macd - signal. All three outputs start together. Params: signal
    (1-100000, default 9); lookback signal + 24.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the three EMAs and,
    while they are being seeded, the sums that seed them.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

#define S_FAST 12               //  The fast EMA's seed, in closes
#define S_SLOW 26               //  The slow EMA's seed
#define S_FAST_K 0.15           //  The fast EMA's factor
#define S_SLOW_K 0.075          //  The slow EMA's factor

//  The state's slots.
enum { S_SLOW_EMA, S_FAST_EMA, S_SIGNAL, S_SLOW_SUM, S_FAST_SUM, S_SIGNAL_SUM, S_STATE };

static size_t
s_lookback (const double *args)
{
    return S_SLOW + (size_t) args [0] - 2;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return S_STATE;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict macd = out [0], *restrict signal = out [1], *restrict hist = out [2];
    size_t g = (size_t) args [0], lookback = S_SLOW + g - 2;
    double signal_k = 2.0 / ((double) g + 1);
    double slow_keep = 1 - S_SLOW_K, fast_keep = 1 - S_FAST_K, signal_keep = 1 - signal_k;
    double slow_sum = 0, fast_sum = 0;
    for (size_t i = 0; i < S_SLOW; i++) {
        slow_sum += close [i];
        if (i >= S_SLOW - S_FAST)
            fast_sum += close [i];
    }
    double slow = slow_sum / S_SLOW, fast = fast_sum / S_FAST;
    double signal_sum = fast - slow;
    for (size_t i = S_SLOW; i <= lookback; i++) {
        slow = S_SLOW_K * close [i] + slow_keep * slow;
        fast = S_FAST_K * close [i] + fast_keep * fast;
        signal_sum += fast - slow;
    }
    double value = fast - slow, average = signal_sum / (double) g;
    macd [lookback] = value;
    signal [lookback] = average;
    hist [lookback] = value - average;
    for (size_t i = lookback + 1; i < size; i++) {
        slow = S_SLOW_K * close [i] + slow_keep * slow;
        fast = S_FAST_K * close [i] + fast_keep * fast;
        value = fast - slow;
        average = signal_k * value + signal_keep * average;
        macd [i] = value;
        signal [i] = average;
        hist [i] = value - average;
    }
    if (state) {
        state [S_SLOW_EMA] = slow;
        state [S_FAST_EMA] = fast;
        state [S_SIGNAL] = average;
        state [S_SLOW_SUM] = slow_sum;
        state [S_FAST_SUM] = fast_sum;
        state [S_SIGNAL_SUM] = signal_sum;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t g = (size_t) args [0], lookback = S_SLOW + g - 2;
    double close = in [0][i];
    if (seen < S_SLOW) {
        state [S_SLOW_SUM] += close;
        if (seen >= S_SLOW - S_FAST)
            state [S_FAST_SUM] += close;
        if (seen < S_SLOW - 1)
            return;
        state [S_SLOW_EMA] = state [S_SLOW_SUM] / S_SLOW;
        state [S_FAST_EMA] = state [S_FAST_SUM] / S_FAST;
    }
    else {
        state [S_SLOW_EMA] = S_SLOW_K * close + (1 - S_SLOW_K) * state [S_SLOW_EMA];
        state [S_FAST_EMA] = S_FAST_K * close + (1 - S_FAST_K) * state [S_FAST_EMA];
    }
    double macd = state [S_FAST_EMA] - state [S_SLOW_EMA];
    if (seen <= lookback) {
        state [S_SIGNAL_SUM] += macd;
        if (seen < lookback)
            return;
        state [S_SIGNAL] = state [S_SIGNAL_SUM] / (double) g;
    }
    else {
        double signal_k = 2.0 / ((double) g + 1);
        state [S_SIGNAL] = signal_k * macd + (1 - signal_k) * state [S_SIGNAL];
    }
    out [0] = macd;
    out [1] = state [S_SIGNAL];
    out [2] = macd - state [S_SIGNAL];
}

const sf_indicator_t sf_indicator_macdfix = {
    .inputs = "c", .outputs = { "macd", "signal", "hist" }, .lookback = s_lookback,
    .kernel = s_kernel, .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_macdfix);
}

static const sf_param_t s_params [] = {
    { "signal", SF_PARAM_INT, 9, 1, 100000, NULL, "signal EMA window" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_macdfix = {
    .name = "macdfix", .version = "1",
    .summary = "MACD 12/26 with fixed factors 0.15 and 0.075, signal 9",
    .analyze = s_analyze, .params = s_params
};
