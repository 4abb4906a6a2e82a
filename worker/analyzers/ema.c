/*  =========================================================================
    ema - exponential moving average of closes (TA-Lib EMA)

    alpha = 2 / (period + 1); the first value, at index period - 1, is the
    SMA of the first `period` closes; then ema = alpha * close + (1 - alpha)
    * ema. Params: period (2-100000, default 20); lookback period - 1.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the ema and the sum
    of the first closes while the seed is being built.
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
    (void) args;
    return 2;
}

//  State: [ema, sum of the first n closes].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict ema = out [0];
    size_t n = (size_t) args [0];
    double alpha = 2.0 / ((double) n + 1.0), keep = 1.0 - alpha;
    double seed = 0;
    for (size_t i = 0; i < n; i++)
        seed += close [i];
    double value = seed / (double) n;
    ema [n - 1] = value;
    for (size_t i = n; i < size; i++)
        ema [i] = value = alpha * close [i] + keep * value;
    if (state) {
        state [0] = value;
        state [1] = seed;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double alpha = 2.0 / ((double) n + 1.0), close = in [0][i];
    if (seen < n) {
        state [1] += close;
        if (seen == n - 1)
            state [0] = state [1] / (double) n;
    }
    else
        state [0] = alpha * close + (1.0 - alpha) * state [0];
    out [0] = state [0];
}

const sf_indicator_t sf_indicator_ema = {
    .inputs = "c", .outputs = { "ema" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_ema);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ema = {
    .name = "ema", .version = "1", .summary = "exponential moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
