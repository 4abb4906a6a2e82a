/*  =========================================================================
    t3 - Tillson's T3 moving average of closes (TA-Lib T3)

    Six EMAs chained (stages.h), alpha = 2 / (period + 1), each seeded with
    the mean of its first `period` values, so the sixth starts at index
    6 (period - 1). With v the volume factor: t3 = c1 × E6 + c2 × E5 + c3 ×
    E4 + c4 × E3, where c1 = -v³, c2 = 3v² + 3v³, c3 = -6v² - 3v - 3v³, c4
    = 1 + 3v + 3v² + v³ (computed as TA-Lib computes them). Params: period
    (2-100000, default 5), vfactor (0-1, default 0.7); lookback
    6 (period - 1).

    The kernel runs each stage scaled by 1 / alpha^s (one multiply and one
    add a stage, see below); the step form runs the EMAs themselves, and
    the two agree to rounding (1e-15 relative).

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the six EMAs and the
    sums that seed them.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "stages.h"

#define S_STAGES 6

//  args: period, vfactor (as declared).
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

//  The weights of E6, E5, E4 and E3 for volume factor v.
static void
s_weights (double v, double *c)
{
    double square = v * v;
    c [0] = -square * v;
    c [1] = 3.0 * (square - c [0]);
    c [2] = -6.0 * square - 3.0 * (v - c [0]);
    c [3] = 1.0 + 3.0 * v - c [0] + 3.0 * square;
}

//  t3 of count candles from the scaled stages 3 .. 6 and their weights.
static inline void
s_weigh (size_t count, double (*restrict stage) [SF_KERNEL_BLOCK], const double *restrict w,
         double *restrict t3)
{
    for (size_t b = 0; b < count; b++)
        t3 [b] = w [3] * stage [3][b] + w [2] * stage [2][b] + w [1] * stage [1][b]
               + w [0] * stage [0][b];
}

static SF_KERNEL_CLONES void
s_weigh_block (double (*stage) [SF_KERNEL_BLOCK], const double *w, double *t3)
{
    s_weigh (SF_KERNEL_BLOCK, stage, w, t3);
}

//  State: [E1 .. E6, their seed sums].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict t3 = out [0];
    size_t n = (size_t) args [0], lookback = s_lookback (args);
    double c [4];
    s_weights (args [1], c);
    double warm [2 * S_STAGES] = { 0 };
    for (size_t i = 0; i <= lookback; i++)
        sf_stages_step (warm, warm + S_STAGES, S_STAGES, n, i, close [i]);
    t3 [lookback] = c [0] * warm [5] + c [1] * warm [4] + c [2] * warm [3] + c [3] * warm [2];
    //  Stage s runs scaled by 1 / k^s: with f_s = e_s / k^s, e_s = keep ×
    //  e_s + k × e_(s-1) is f_s = keep × f_s + f_(s-1), one multiply and one
    //  add a stage instead of two multiplies (the scale goes into the
    //  weights), which halves the multiplies that bound the loop
    double k = 2.0 / ((double) n + 1.0), keep = 1.0 - k, power [S_STAGES + 1] = { 1 };
    for (size_t s = 1; s <= S_STAGES; s++)
        power [s] = power [s - 1] * k;
    double f1 = warm [0] / power [1], f2 = warm [1] / power [2], f3 = warm [2] / power [3];
    double f4 = warm [3] / power [4], f5 = warm [4] / power [5], f6 = warm [5] / power [6];
    double w6 = c [0] * power [6], w5 = c [1] * power [5], w4 = c [2] * power [4];
    double w3 = c [3] * power [3];
    const double w [4] = { w3, w4, w5, w6 };
    double stage [4][SF_KERNEL_BLOCK];
    for (size_t i = lookback + 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        for (size_t b = 0; b < count; b++) {
            f1 = keep * f1 + close [i + b];
            f2 = keep * f2 + f1;
            stage [0][b] = f3 = keep * f3 + f2;
            stage [1][b] = f4 = keep * f4 + f3;
            stage [2][b] = f5 = keep * f5 + f4;
            stage [3][b] = f6 = keep * f6 + f5;
        }
        if (count == SF_KERNEL_BLOCK)
            s_weigh_block (stage, w, t3 + i);
        else
            s_weigh (count, stage, w, t3 + i);
        i += count;
    }
    if (state) {
        const double last [S_STAGES] = { f1, f2, f3, f4, f5, f6 };
        for (size_t s = 0; s < S_STAGES; s++) {
            state [s] = last [s] * power [s + 1];
            state [S_STAGES + s] = warm [S_STAGES + s];
        }
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    sf_stages_step (state, state + S_STAGES, S_STAGES, (size_t) args [0], seen, in [0][i]);
    double c [4];
    s_weights (args [1], c);
    out [0] = c [0] * state [5] + c [1] * state [4] + c [2] * state [3] + c [3] * state [2];
}

const sf_indicator_t sf_indicator_t3 = {
    .inputs = "c", .outputs = { "t3" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_t3);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (5),
    { "vfactor", SF_PARAM_REAL, 0.7, 0, 1, NULL, "volume factor" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_t3 = {
    .name = "t3", .version = "1", .summary = "T3 moving average (period 5, vfactor 0.7)",
    .analyze = s_analyze, .params = s_params
};
