/*  =========================================================================
    aroonosc - Aroon oscillator (TA-Lib AROONOSC)

    100 / period × (index of the highest high - index of the lowest low)
    over the last period + 1 candles, the latest of equal ones counting:
    Aroon up - Aroon down, as one product (so a flat window gives 0).
    Params: period (2-100000, default 14); lookback period. The windows
    are aroon's (aroon.h).

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last period + 1
    highs and lows, in rings indexed by candle number.
    ========================================================================= */

#include <stdlib.h>
#include "aroon.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    return sf_aroon_state_size ((size_t) args [0]);
}

//  Ages into the oscillator, in place: factor × (low's age - high's age).
static inline void
s_oscillator (size_t count, double factor, double *restrict up, const double *restrict down)
{
    for (size_t b = 0; b < count; b++)
        up [b] = factor * (down [b] - up [b]);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    size_t n = (size_t) args [0];
    double *down = sf_kernel_scratch (size);
    sf_aroon_ages (in [0], in [1], size, n, out [0], down);
    s_oscillator (size - n, 100.0 / (double) n, out [0] + n, down + n);
    free (down);
    if (state)
        sf_aroon_state (in [0], in [1], size, n, state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double down = 0;
    sf_aroon_step (state, seen, in, i, n, out, &down);
    if (seen >= n)
        s_oscillator (1, 100.0 / (double) n, out, &down);
}

const sf_indicator_t sf_indicator_aroonosc = {
    .inputs = "hl", .outputs = { "aroonosc" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_aroonosc);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_aroonosc = {
    .name = "aroonosc", .version = "1", .summary = "Aroon oscillator (period 14)",
    .analyze = s_analyze, .params = s_params
};
