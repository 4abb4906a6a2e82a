/*  =========================================================================
    stddev - population standard deviation of closes (TA-Lib STDDEV, nbDev 1)

    Over the last `period` closes, divided by n, from a sliding window
    (sf_window_push: sums of deviations from a shift reset to the window's
    mean every `period` candles, so O(1) a candle without the cancellation
    of plain running sums at high prices); 0 when the variance is below
    1e-14. Params: period (2-100000, default 20); lookback period - 1.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the window.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "sf_series.h"

//  One close. State: the window.
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    size_t n = (size_t) stream->args [0];
    sf_window_push (state, n, seen, candles->close [i]);
    out [0] = seen + 1 >= n? sqrt (sf_window_variance (state, n, 0)): 0;
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t n = (size_t) period;
    const char *names [] = { "stddev" };
    double args [] = { (double) n };
    sf_stream_t stream = { .lookback = n - 1, .outputs = 1, .names = names,
                           .state_size = SF_WINDOW_SIZE (n), .args = args, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_stddev = {
    .name = "stddev", .version = "2", .summary = "population standard deviation (period 20)",
    .analyze = s_analyze, .params = s_params
};
