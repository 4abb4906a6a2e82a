/*  =========================================================================
    sma - simple moving average of closes (TA-Lib SMA)

    sma[i] = mean (close[i-period+1 .. i]); params: period (2-100000,
    default 20); lookback period - 1. A running sum, corrected every
    `period` steps by summing afresh, keeps long series from drifting.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the running sum and
    the last `period` closes, in a ring indexed by candle number.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "sf_series.h"

void
sf_indicator_sma (const double *close, size_t size, size_t n, double *out)
{
    double sum = 0;
    for (size_t i = 0; i < size; i++) {
        sum += close [i];
        if (i >= n)
            sum -= close [i - n];
        if ((i + 1) % n == 0) {
            sum = 0;            //  Afresh, so rounding never accumulates
            for (size_t j = i + 1 - n; j <= i; j++)
                sum += close [j];
        }
        if (i + 1 >= n)
            out [i] = sum / (double) n;
    }
}

//  One close, as sf_indicator_sma does it. State: [sum, ring of n closes].
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    size_t n = (size_t) stream->args [0];
    double *ring = state + 1;
    size_t slot = (size_t) (seen % n);
    state [0] += candles->close [i];
    if (seen >= n)
        state [0] -= ring [slot];
    ring [slot] = candles->close [i];
    if ((seen + 1) % n == 0) {
        state [0] = 0;          //  Afresh: the ring holds the window in order
        for (size_t j = 0; j < n; j++)
            state [0] += ring [j];
    }
    out [0] = state [0] / (double) n;
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t n = (size_t) period;
    const char *names [] = { "sma" };
    double args [] = { (double) n };
    sf_stream_t stream = { .lookback = n - 1, .outputs = 1, .names = names,
                           .state_size = 1 + n, .args = args, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_sma = {
    .name = "sma", .version = "1", .summary = "simple moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
