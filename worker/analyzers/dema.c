/*  =========================================================================
    dema - double exponential moving average of closes (TA-Lib DEMA)

    E1 = EMA(period) of the closes, E2 = EMA(period) of E1, each seeded
    with the mean of its first `period` values (stages.h): E1 from index
    period - 1, E2 from 2 (period - 1); dema = 2 × E1 - E2. Params: period
    (2-100000, default 20); lookback 2 (period - 1).

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the two EMAs and the
    sums that seed them.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "stages.h"

#define S_STAGES 2

static size_t
s_lookback (const double *args)
{
    return S_STAGES * ((size_t) args [0] - 1);
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return 2 * S_STAGES;
}

//  State: [E1, E2, seed sum of E1, seed sum of E2].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict dema = out [0];
    size_t n = (size_t) args [0], lookback = s_lookback (args);
    double warm [2 * S_STAGES] = { 0 };
    for (size_t i = 0; i <= lookback; i++)
        sf_stages_step (warm, warm + S_STAGES, S_STAGES, n, i, close [i]);
    double k = 2.0 / ((double) n + 1.0), keep = 1.0 - k;
    double e1 = warm [0], e2 = warm [1];
    dema [lookback] = 2.0 * e1 - e2;
    for (size_t i = lookback + 1; i < size; i++) {
        e1 = k * close [i] + keep * e1;
        e2 = k * e1 + keep * e2;
        dema [i] = 2.0 * e1 - e2;
    }
    if (state) {
        state [0] = e1;
        state [1] = e2;
        state [2] = warm [2];
        state [3] = warm [3];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    sf_stages_step (state, state + S_STAGES, S_STAGES, (size_t) args [0], seen, in [0][i]);
    out [0] = 2.0 * state [0] - state [1];
}

const sf_indicator_t sf_indicator_dema = {
    .inputs = "c", .outputs = { "dema" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_dema);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_dema = {
    .name = "dema", .version = "1", .summary = "double exponential moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
