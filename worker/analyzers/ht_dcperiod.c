/*  =========================================================================
    ht_dcperiod - Hilbert transform dominant cycle period (TA-Lib
    HT_DCPERIOD)

    Ehlers' MESA recursion as TA-Lib runs it (hilbert.h), from row 12 with
    every state 0; the period it gives each candle is smoothed once more:
    ht_dcperiod = 0.33 × period + 0.67 × ht_dcperiod before (from 0). No
    params; lookback 32.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the recursion's,
    the smoothed period and the last three closes.
    ========================================================================= */

#include <stdlib.h>
#include "hilbert.h"

#define S_START 12              //  The recursion's first row
#define S_LOOKBACK 32           //  The first output's

//  The state's slots after the recursion's.
enum { S_SMOOTH = SF_HILBERT_SLOTS, S_CLOSES, S_STATE = S_CLOSES + 3 };

static size_t
s_lookback (const double *args)
{
    (void) args;
    return S_LOOKBACK;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return S_STATE;
}

//  The smoothed period after one more candle.
SF_HILBERT_INLINE double
s_candle (double *h, double smooth, double dcperiod)
{
    double q1, i1;
    double period = sf_hilbert_candle (h, smooth, &q1, &i1);
    return 0.33 * period + 0.67 * dcperiod;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args;
    const double *close = in [0];
    double *restrict dcperiod = out [0];
    double h [SF_HILBERT_SLOTS];
    sf_hilbert_start (h);
    double value = 0;
    for (size_t t = S_START; t < size; t++)
        dcperiod [t] = value = s_candle (h, sf_hilbert_smooth (close, t), value);
    if (state) {
        for (size_t k = 0; k < SF_HILBERT_SLOTS; k++)
            state [k] = h [k];
        state [S_SMOOTH] = value;
        for (size_t k = 0; k < 3; k++)
            state [S_CLOSES + k] = close [size - 1 - k];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) args;
    //  The closes, newest last, as sf_hilbert_smooth reads them
    double close = in [0][i];
    const double closes [4] = {
        state [S_CLOSES + 2], state [S_CLOSES + 1], state [S_CLOSES], close
    };
    state [S_CLOSES + 2] = state [S_CLOSES + 1];
    state [S_CLOSES + 1] = state [S_CLOSES];
    state [S_CLOSES] = close;
    if (seen < S_START)
        return;
    if (seen == S_START)
        sf_hilbert_start (state);
    out [0] = state [S_SMOOTH] = s_candle (state, sf_hilbert_smooth (closes, 3),
                                           state [S_SMOOTH]);
}

const sf_indicator_t sf_indicator_ht_dcperiod = {
    .inputs = "c", .outputs = { "ht_dcperiod" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_ht_dcperiod);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ht_dcperiod = {
    .name = "ht_dcperiod", .version = "1",
    .summary = "Hilbert transform dominant cycle period",
    .analyze = s_analyze, .params = s_params
};
