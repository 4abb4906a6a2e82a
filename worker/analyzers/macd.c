/*  =========================================================================
    macd - moving average convergence/divergence (TA-Lib MACD)

    macd = EMA(fast) - EMA(slow) of closes, signal = EMA(signal) of macd,
    hist = macd - signal. As TA-Lib does, both EMAs start at the slow one's
    first index (slow - 1): the slow seeded with the SMA of closes 0 ..
    slow-1, the fast with the SMA of closes slow-fast .. slow-1; the signal
    is seeded with the SMA of the first `signal` macd values. All three
    outputs start together once the signal exists. Params: fast (2-100000,
    default 12), slow (default 26, more than fast), signal (1-100000,
    default 9); lookback slow + signal - 2.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the three EMAs and,
    while they are being seeded, the sums that seed them.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  The state's slots.
enum { S_SLOW, S_FAST, S_SIGNAL, S_SLOW_SUM, S_FAST_SUM, S_SIGNAL_SUM, S_STATE };

//  args: fast, slow, signal (as declared).
static size_t
s_lookback (const double *args)
{
    return (size_t) args [1] + (size_t) args [2] - 2;
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
    size_t f = (size_t) args [0], s = (size_t) args [1], g = (size_t) args [2];
    size_t lookback = s + g - 2;
    double slow_k = 2.0 / ((double) s + 1), fast_k = 2.0 / ((double) f + 1);
    double signal_k = 2.0 / ((double) g + 1);
    double slow_keep = 1 - slow_k, fast_keep = 1 - fast_k, signal_keep = 1 - signal_k;
    double slow_sum = 0, fast_sum = 0, signal_sum = 0;
    for (size_t i = 0; i < s; i++) {
        slow_sum += close [i];
        if (i >= s - f)
            fast_sum += close [i];
    }
    double slow = slow_sum / (double) s, fast = fast_sum / (double) f;
    signal_sum = fast - slow;
    for (size_t i = s; i <= lookback; i++) {
        slow = slow_k * close [i] + slow_keep * slow;
        fast = fast_k * close [i] + fast_keep * fast;
        signal_sum += fast - slow;
    }
    double value = fast - slow, average = signal_sum / (double) g;
    macd [lookback] = value;
    signal [lookback] = average;
    hist [lookback] = value - average;
    for (size_t i = lookback + 1; i < size; i++) {
        slow = slow_k * close [i] + slow_keep * slow;
        fast = fast_k * close [i] + fast_keep * fast;
        value = fast - slow;
        average = signal_k * value + signal_keep * average;
        macd [i] = value;
        signal [i] = average;
        hist [i] = value - average;
    }
    if (state) {
        state [S_SLOW] = slow;
        state [S_FAST] = fast;
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
    size_t f = (size_t) args [0], s = (size_t) args [1], g = (size_t) args [2];
    size_t lookback = s + g - 2;
    double close = in [0][i];
    if (seen < s) {
        state [S_SLOW_SUM] += close;
        if (seen >= s - f)
            state [S_FAST_SUM] += close;
        if (seen < s - 1)
            return;
        state [S_SLOW] = state [S_SLOW_SUM] / (double) s;
        state [S_FAST] = state [S_FAST_SUM] / (double) f;
    }
    else {
        double slow_k = 2.0 / ((double) s + 1), fast_k = 2.0 / ((double) f + 1);
        state [S_SLOW] = slow_k * close + (1 - slow_k) * state [S_SLOW];
        state [S_FAST] = fast_k * close + (1 - fast_k) * state [S_FAST];
    }
    double macd = state [S_FAST] - state [S_SLOW];
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

static int
s_check (sf_actx_t *ctx, const double *args, const sf_candles_t *candles)
{
    if (candles || args [1] > args [0])
        return 0;
    sf_actx_context_str (ctx, "param", "slow");
    return sf_actx_fail (ctx, "BAD_INPUT", "param \"slow\" (%d) must be more than "
                         "\"fast\" (%d)", (int) args [1], (int) args [0]);
}

const sf_indicator_t sf_indicator_macd = {
    .inputs = "c", .outputs = { "macd", "signal", "hist" }, .lookback = s_lookback,
    .kernel = s_kernel, .state_size = s_state_size, .step = s_step, .check = s_check
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_macd);
}

static const sf_param_t s_params [] = {
    { "fast", SF_PARAM_INT, 12, 2, 100000, NULL, "fast window" },
    { "slow", SF_PARAM_INT, 26, 3, 100000, NULL, "slow window" },
    { "signal", SF_PARAM_INT, 9, 1, 100000, NULL, "signal EMA window" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_macd = {
    .name = "macd", .version = "1", .summary = "MACD, signal and histogram (12, 26, 9)",
    .analyze = s_analyze, .params = s_params
};
