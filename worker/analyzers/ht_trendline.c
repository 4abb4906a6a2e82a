/*  =========================================================================
    ht_trendline - Hilbert transform instantaneous trendline (TA-Lib
    HT_TRENDLINE)

    Ehlers' MESA recursion as TA-Lib runs it (hilbert.h), but from row 37
    with every state 0 (inputs before row 37 counting as 0). The smoothed
    period sp = 0.33 × period + 0.67 × sp (from 0); D = int (sp + 0.5);
    avg = the mean of the last D raw closes (this one included), 0 when D
    is 0; trendline = (4 avg + 3 avg[-1] + 2 avg[-2] + avg[-3]) / 10, avg
    before row 37 counting as 0. No params; lookback 63.

    The kernel takes each average as the difference of two running sums
    of the closes, restarted at each block of candles, so that a candle's
    work has no loop or branch that the data decides.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the recursion's,
    the smoothed period, the last three averages and the last 50 closes
    (D is at most 50), in a ring indexed by candle number.
    ========================================================================= */

#include <stdlib.h>
#include "hilbert.h"

#define S_START 37              //  The recursion's first row
#define S_LOOKBACK 63           //  The first output's
#define S_RING 50               //  Closes an average takes, at most

//  The state's slots after the recursion's.
enum {
    S_SMOOTH = SF_HILBERT_SLOTS, S_TREND, S_CLOSES = S_TREND + 3,
    S_STATE = S_CLOSES + S_RING
};

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

//  The closes the average of candle t takes, int (smooth + 0.5) for the
//  smoothed period (at most 50), and never more than the candles there are
//  or than the ring holds, whatever a state says.
static inline size_t
s_span (double smooth, uint64_t t)
{
    double rounded = smooth + 0.5;
    size_t span = rounded >= 1? rounded < S_RING? (size_t) rounded: S_RING: 0;
    return span > t + 1? (size_t) t + 1: span;
}

//  The trendline from this candle's average and the last three (trend,
//  newest first), which move on.
static inline double
s_trendline (double average, double *trend)
{
    double value = (4.0 * average + 3.0 * trend [0] + 2.0 * trend [1] + trend [2]) / 10.0;
    trend [2] = trend [1];
    trend [1] = trend [0];
    trend [0] = average;
    return value;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args;
    const double *close = in [0];
    double *restrict trendline = out [0];
    double h [SF_HILBERT_SLOTS];
    sf_hilbert_start (h);
    double smooth = 0, trend [3] = { 0, 0, 0 };
    //  Running sums of the closes from `base` (0 before it), restarted
    //  each block: an average is a difference of two, without a loop or
    //  branch that the data decides (a mispredicted one would throw away
    //  the recursion's work in flight)
    double sums [S_RING + SF_KERNEL_BLOCK + 1];
    for (size_t first = S_START; first < size; first += SF_KERNEL_BLOCK) {
        size_t count = size - first < SF_KERNEL_BLOCK? size - first: SF_KERNEL_BLOCK;
        size_t base = first > S_RING? first - S_RING: 0;
        double sum = 0;
        sums [0] = 0;
        for (size_t j = base; j < first + count; j++)
            sums [j + 1 - base] = sum += close [j];
        for (size_t t = first; t < first + count; t++) {
            double q1, i1;
            double period = sf_hilbert_candle (h, sf_hilbert_smooth (close, t), &q1, &i1);
            smooth = 0.33 * period + 0.67 * smooth;
            size_t span = s_span (smooth, t);
            double total = sums [t + 1 - base] - sums [t + 1 - span - base];
            double average = total / (double) (span? span: 1);
            trendline [t] = s_trendline (average, trend);
        }
    }
    if (state) {
        for (size_t k = 0; k < SF_HILBERT_SLOTS; k++)
            state [k] = h [k];
        state [S_SMOOTH] = smooth;
        for (size_t k = 0; k < 3; k++)
            state [S_TREND + k] = trend [k];
        for (size_t j = size > S_RING? size - S_RING: 0; j < size; j++)
            state [S_CLOSES + j % S_RING] = close [j];
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) args;
    double *ring = state + S_CLOSES;
    ring [seen % S_RING] = in [0][i];
    if (seen < S_START)
        return;
    if (seen == S_START)
        sf_hilbert_start (state);
    //  The last closes in order, oldest first, as the kernel reads them
    double closes [S_RING];
    for (size_t age = 0; age < S_RING; age++)
        closes [S_RING - 1 - age] = ring [(seen - age) % S_RING];
    double q1, i1;
    double period = sf_hilbert_candle (state, sf_hilbert_smooth (closes, S_RING - 1), &q1, &i1);
    double smooth = state [S_SMOOTH] = 0.33 * period + 0.67 * state [S_SMOOTH];
    size_t span = s_span (smooth, seen);
    double average = span? sf_kernel_sum (closes + S_RING - span, span) / (double) span: 0;
    out [0] = s_trendline (average, state + S_TREND);
}

const sf_indicator_t sf_indicator_ht_trendline = {
    .inputs = "c", .outputs = { "ht_trendline" }, .lookback = s_lookback,
    .kernel = s_kernel, .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_ht_trendline);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ht_trendline = {
    .name = "ht_trendline", .version = "1",
    .summary = "Hilbert transform instantaneous trendline",
    .analyze = s_analyze, .params = s_params
};
