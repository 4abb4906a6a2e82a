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
#include "sf_series.h"

//  The state's slots.
enum { S_SLOW, S_FAST, S_SIGNAL, S_SLOW_SUM, S_FAST_SUM, S_SIGNAL_SUM, S_STATE };

//  One close; args are slow, fast and signal.
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    size_t s = (size_t) stream->args [0], f = (size_t) stream->args [1];
    size_t g = (size_t) stream->args [2], lookback = s + g - 2;
    double close = candles->close [i];
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
s_analyze (sf_actx_t *ctx)
{
    int fast = sf_actx_int (ctx, "fast");
    int slow = sf_actx_int (ctx, "slow");
    int signal_period = sf_actx_int (ctx, "signal");
    bool last = sf_actx_choice (ctx, "output") == 1;
    if (slow <= fast) {
        sf_actx_context_str (ctx, "param", "slow");
        return sf_actx_fail (ctx, "BAD_INPUT", "param \"slow\" (%d) must be more than "
                             "\"fast\" (%d)", slow, fast);
    }
    const char *names [] = { "macd", "signal", "hist" };
    double args [] = { (double) slow, (double) fast, (double) signal_period };
    sf_stream_t stream = { .lookback = (size_t) slow + (size_t) signal_period - 2,
                           .outputs = 3, .names = names, .state_size = S_STATE,
                           .args = args, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
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
