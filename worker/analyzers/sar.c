/*  =========================================================================
    sar - parabolic stop and reverse (TA-Lib SAR)

    Wilder's parabolic SAR as TA-Lib starts and runs it (parabolic.h):
    the direction from -DM of candle 1, SAR = low[0] (long) or high[0]
    (short) and EP = high[1] or low[1] at candle 1; af starts at
    `acceleration`, grows by it on each new extreme, at most `maximum`
    (an acceleration above the maximum is the maximum); a reversal puts
    the SAR at the extreme point, within the two candles' range. Values
    are positive whichever the direction (sarext gives a short's
    negative). Params: acceleration (0-100, default 0.02), maximum (0-100,
    default 0.2); lookback 1.

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

//  sarext's path for sar's args: no start value or offset, the same
//  factors long and short.
static sf_parabolic_t
s_path (const double *args)
{
    const double ext [8] = { 0, 0, args [0], args [0], args [1], args [0], args [0], args [1] };
    return sf_parabolic_params (ext);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    sf_parabolic_t path = s_path (args);
    sf_parabolic_kernel (size, in, &path, false, out [0], state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    sf_parabolic_t path = s_path (args);
    sf_parabolic_step (state, seen, in, i, &path, false, out);
}

const sf_indicator_t sf_indicator_sar = {
    .inputs = "hl", .outputs = { "sar" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_sar);
}

static const sf_param_t s_params [] = {
    { "acceleration", SF_PARAM_REAL, 0.02, 0, 100, NULL, "acceleration factor: start and step" },
    { "maximum", SF_PARAM_REAL, 0.2, 0, 100, NULL, "acceleration factor at most" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_sar = {
    .name = "sar", .version = "1", .summary = "parabolic SAR (acceleration 0.02, maximum 0.2)",
    .analyze = s_analyze, .params = s_params
};
