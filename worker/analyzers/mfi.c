/*  =========================================================================
    mfi - money flow index (TA-Lib MFI)

    typical = (high + low + close) / 3, flow = typical × volume, positive
    when typical rose from the candle before, negative when it fell,
    neither when equal; mfi = 100 × Σpos / (Σpos + Σneg) over the last
    `period` changes, 0 when the sum is below 1. Params: period (1-100000,
    default 14); lookback period.

    O(1) a candle: the two window sums slide (the flow entering added, the
    one leaving subtracted) and are summed afresh every multiple of
    `period` from 1024 candles on, so rounding never builds up; a sum whose window holds no flow of its kind
    is exactly 0, as the count of such flows says, not a residue of
    subtractions. The flows, and the divisions of a block of candles, are
    loops of independent iterations that the compiler vectorises.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

//  Signed flows of candles first .. first + count - 1 (first > 0): > 0
//  positive, < 0 negative (as -flow), 0 neither.
static inline void
s_flows (size_t count, const double *restrict high, const double *restrict low,
         const double *restrict close, const double *restrict volume, size_t first,
         double *restrict flow)
{
    for (size_t b = 0; b < count; b++) {
        size_t j = first + b;
        double typical = (high [j] + low [j] + close [j]) / 3.0;
        double before = (high [j - 1] + low [j - 1] + close [j - 1]) / 3.0;
        double value = typical * volume [j];
        value = typical < before? -value: value;
        flow [b] = typical == before? 0.0: value;
    }
}

//  mfi from the window sums of count candles.
static inline void
s_mfi (size_t count, const double *positive, const double *negative, double *restrict mfi)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        mfi [b] = 100.0 * positive [b] / (positive [b] + negative [b]);
    for (size_t b = 0; b < count; b++)
        mfi [b] = positive [b] + negative [b] < 1.0? 0.0: mfi [b];
}

static SF_KERNEL_CLONES void
s_mfi_block (const double *positive, const double *negative, double *mfi)
{
    s_mfi (SF_KERNEL_BLOCK, positive, negative, mfi);
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) state;
    const double *high = in [0], *low = in [1], *close = in [2], *volume = in [3];
    double *restrict mfi = out [0];
    size_t n = (size_t) args [0];
    double *flow = sf_kernel_scratch (size);
    flow [0] = 0;
    size_t i = 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_flows (SF_KERNEL_BLOCK, high, low, close, volume, i, flow + i);
    s_flows (size - i, high, low, close, volume, i, flow + i);

    double positive = 0, negative = 0;
    size_t positives = 0, negatives = 0, afresh_in = 0;
    //  Summed afresh every multiple of n from 1024 on: the O(n) sum costs
    //  little a candle
    size_t every = n * ((1024 + n - 1) / n);
    double positive_at [SF_KERNEL_BLOCK], negative_at [SF_KERNEL_BLOCK];
    for (i = n; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        size_t first = i;
        for (size_t b = 0; b < count; b++, i++) {
            if (afresh_in == 0) {
                //  Afresh, in window order: flows i + 1 - n .. i
                positive = negative = 0;
                positives = negatives = 0;
                for (size_t j = i + 1 - n; j <= i; j++) {
                    positive += flow [j] > 0? flow [j]: 0;
                    negative += flow [j] < 0? -flow [j]: 0;
                    positives += flow [j] > 0;
                    negatives += flow [j] < 0;
                }
                afresh_in = every;
            }
            else {
                //  Flows of a kind as 0/1 factors, so that no branch waits
                //  on the data (0 × flow adds nothing, exactly)
                double entering = flow [i], leaving = flow [i - n];
                int in_up = entering > 0, in_down = entering < 0;
                int out_up = leaving > 0, out_down = leaving < 0;
                positive += (double) in_up * entering;
                negative -= (double) in_down * entering;
                positive -= (double) out_up * leaving;
                negative += (double) out_down * leaving;
                positives += (size_t) in_up - (size_t) out_up;
                negatives += (size_t) in_down - (size_t) out_down;
                positive = positives? positive: 0;
                negative = negatives? negative: 0;
            }
            afresh_in--;
            positive_at [b] = positive;
            negative_at [b] = negative;
        }
        if (count == SF_KERNEL_BLOCK)
            s_mfi_block (positive_at, negative_at, mfi + first);
        else
            s_mfi (count, positive_at, negative_at, mfi + first);
    }
    free (flow);
}

const sf_indicator_t sf_indicator_mfi = {
    .inputs = "hlcv", .outputs = { "mfi" }, .lookback = s_lookback, .kernel = s_kernel
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_mfi);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 14, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_mfi = {
    .name = "mfi", .version = "3", .summary = "money flow index (period 14)",
    .analyze = s_analyze, .params = s_params
};
