/*  =========================================================================
    mama - MESA adaptive moving average and its following average (TA-Lib
    MAMA)

    Ehlers' MESA recursion as TA-Lib runs it (hilbert.h), from row 12 with
    every state 0. Each candle's phase = atan (Q1 / I1) in degrees (0 when
    I1 is 0); Δ = phase before - phase, at least 1; α = fast_limit / Δ
    when Δ > 1 (then at least slow_limit), else fast_limit; mama = α ×
    close + (1 - α) × mama, fama = α/2 × mama + (1 - α/2) × fama. Both
    start from 0 at row 12, so the first values are still pulled towards
    0 (fama can be 8-17 % below the close at row 32 on real data).
    Outputs mama, fama. Params: fast_limit (0.01-0.99, default 0.5),
    slow_limit (0.01-0.99, default 0.05); lookback 32.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the recursion's
    (histories of the smoothed close, detrender and Q1; I2, Q2, Re, Im,
    the period), the phase, mama, fama and the last three closes.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "hilbert.h"

#define S_START 12              //  The recursion's first row
#define S_LOOKBACK 32           //  The first output's

//  The state's slots after the recursion's.
enum { S_PHASE = SF_HILBERT_SLOTS, S_MAMA, S_FAMA, S_CLOSES, S_STATE = S_CLOSES + 3 };

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

//  Fold candle t (close, smoothed) into the recursion h and phase, mama
//  and fama, with args fast_limit, slow_limit.
SF_HILBERT_INLINE void
s_candle (double *h, double close, double smooth, const double *args, double *phase,
          double *mama, double *fama)
{
    double q1, i1;
    sf_hilbert_candle (h, smooth, &q1, &i1);
    double now = i1 != 0.0? sf_hilbert_atan (q1, i1) * SF_HILBERT_DEGREES: 0.0;
    double delta = *phase - now;
    *phase = now;
    delta = delta < 1.0? 1.0: delta;
    double alpha = args [0];
    if (delta > 1.0) {
        alpha = args [0] / delta;
        alpha = alpha < args [1]? args [1]: alpha;
    }
    *mama = alpha * close + (1 - alpha) * *mama;
    alpha *= 0.5;
    *fama = alpha * *mama + (1 - alpha) * *fama;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *close = in [0];
    double *restrict mama_out = out [0], *restrict fama_out = out [1];
    double h [SF_HILBERT_SLOTS];
    sf_hilbert_start (h);
    double phase = 0, mama = 0, fama = 0;
    for (size_t t = S_START; t < size; t++) {
        s_candle (h, close [t], sf_hilbert_smooth (close, t), args, &phase, &mama, &fama);
        mama_out [t] = mama;
        fama_out [t] = fama;
    }
    if (state) {
        for (size_t k = 0; k < SF_HILBERT_SLOTS; k++)
            state [k] = h [k];
        state [S_PHASE] = phase;
        state [S_MAMA] = mama;
        state [S_FAMA] = fama;
        for (size_t k = 0; k < 3; k++)
            state [S_CLOSES + k] = close [size - 1 - k];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    //  The closes, this candle's first (as sf_hilbert_smooth reads them,
    //  newest last)
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
    s_candle (state, close, sf_hilbert_smooth (closes, 3), args, state + S_PHASE,
              state + S_MAMA, state + S_FAMA);
    out [0] = state [S_MAMA];
    out [1] = state [S_FAMA];
}

const sf_indicator_t sf_indicator_mama = {
    .inputs = "c", .outputs = { "mama", "fama" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_mama);
}

static const sf_param_t s_params [] = {
    { "fast_limit", SF_PARAM_REAL, 0.5, 0.01, 0.99, NULL, "largest smoothing factor" },
    { "slow_limit", SF_PARAM_REAL, 0.05, 0.01, 0.99, NULL, "smallest smoothing factor" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_mama = {
    .name = "mama", .version = "1",
    .summary = "MESA adaptive moving average and FAMA (0.5, 0.05)",
    .analyze = s_analyze, .params = s_params
};
