/*  =========================================================================
    tema - triple exponential moving average of closes (TA-Lib TEMA)

    E1 = EMA(period) of the closes, E2 = EMA(period) of E1, E3 =
    EMA(period) of E2, each seeded with the mean of its first `period`
    values (stages.h): E3 from index 3 (period - 1); tema = 3 × E1 - 3 × E2
    + E3. Params: period (2-100000, default 20); lookback 3 (period - 1).

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the three EMAs and
    the sums that seed them.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "stages.h"

#define S_STAGES 3

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

//  State: [E1, E2, E3, their seed sums].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict tema = out [0];
    size_t n = (size_t) args [0], lookback = s_lookback (args);
    double warm [2 * S_STAGES] = { 0 };
    for (size_t i = 0; i <= lookback; i++)
        sf_stages_step (warm, warm + S_STAGES, S_STAGES, n, i, close [i]);
    double k = 2.0 / ((double) n + 1.0), keep = 1.0 - k;
    double e1 = warm [0], e2 = warm [1], e3 = warm [2];
    tema [lookback] = 3.0 * e1 - 3.0 * e2 + e3;
    for (size_t i = lookback + 1; i < size; i++) {
        e1 = k * close [i] + keep * e1;
        e2 = k * e1 + keep * e2;
        e3 = k * e2 + keep * e3;
        tema [i] = 3.0 * e1 - 3.0 * e2 + e3;
    }
    if (state) {
        state [0] = e1;
        state [1] = e2;
        state [2] = e3;
        for (size_t s = 0; s < S_STAGES; s++)
            state [S_STAGES + s] = warm [S_STAGES + s];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    sf_stages_step (state, state + S_STAGES, S_STAGES, (size_t) args [0], seen, in [0][i]);
    out [0] = 3.0 * state [0] - 3.0 * state [1] + state [2];
}

const sf_indicator_t sf_indicator_tema = {
    .inputs = "c", .outputs = { "tema" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_tema);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_tema = {
    .name = "tema", .version = "1", .summary = "triple exponential moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
