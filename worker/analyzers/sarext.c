/*  =========================================================================
    sarext - parabolic stop and reverse, extended (TA-Lib SAREXT)

    The path of sar (parabolic.h) with its start and its factors given
    apart for longs and shorts, and a short's values negative (the candle
    that reverses to short already is), so that a reversal shows as a
    change of sign. start_value 0 starts as sar does, > 0 long at that
    SAR, < 0 short at its magnitude; a reversal moves the new SAR away
    from the trade by offset_on_reverse times itself. With the defaults
    |sarext| = sar. Params: start_value (-1e15-1e15, default 0),
    offset_on_reverse (0-100, 0), acceleration_init_long (0-100, 0.02),
    acceleration_long (0-100, 0.02), acceleration_max_long (0-100, 0.2),
    acceleration_init_short, acceleration_short, acceleration_max_short
    (likewise); a factor above its maximum is the maximum; lookback 1.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the position, SAR,
    extreme point, factors and the candle before.
    ========================================================================= */

#include <stdlib.h>
#include "parabolic.h"

static size_t
s_lookback (const double *args)
{
    (void) args;
    return 1;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return SF_PARABOLIC_STATE;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    sf_parabolic_t path = sf_parabolic_params (args);
    sf_parabolic_kernel (size, in, &path, true, out [0], state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    sf_parabolic_t path = sf_parabolic_params (args);
    sf_parabolic_step (state, seen, in, i, &path, true, out);
}

const sf_indicator_t sf_indicator_sarext = {
    .inputs = "hl", .outputs = { "sarext" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_sarext);
}

static const sf_param_t s_params [] = {
    { "start_value", SF_PARAM_REAL, 0, -1e15, 1e15, NULL,
      "0: from the first candles; > 0 start long at it; < 0 short at its magnitude" },
    { "offset_on_reverse", SF_PARAM_REAL, 0, 0, 100, NULL,
      "a reversal moves the SAR away by this fraction of it" },
    { "acceleration_init_long", SF_PARAM_REAL, 0.02, 0, 100, NULL, "af of a new long" },
    { "acceleration_long", SF_PARAM_REAL, 0.02, 0, 100, NULL, "af added on a long's new high" },
    { "acceleration_max_long", SF_PARAM_REAL, 0.2, 0, 100, NULL, "a long's af at most" },
    { "acceleration_init_short", SF_PARAM_REAL, 0.02, 0, 100, NULL, "af of a new short" },
    { "acceleration_short", SF_PARAM_REAL, 0.02, 0, 100, NULL,
      "af added on a short's new low" },
    { "acceleration_max_short", SF_PARAM_REAL, 0.2, 0, 100, NULL, "a short's af at most" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_sarext = {
    .name = "sarext", .version = "1",
    .summary = "parabolic SAR, extended: negative while short (TA-Lib's defaults)",
    .analyze = s_analyze, .params = s_params
};
