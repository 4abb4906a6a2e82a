/*  =========================================================================
    mfi - money flow index (TA-Lib MFI)

    typical = (high + low + close) / 3, flow = typical × volume, positive
    when typical rose from the candle before, negative when it fell,
    neither when equal; mfi = 100 × Σpos / (Σpos + Σneg) over the last
    `period` changes, 0 when the sum is below 1. Params: period (1-100000,
    default 14); lookback period.

    O(1) a candle: the two window sums slide (the flow entering added, the
    one leaving subtracted) and are summed afresh every `period` candles so
    rounding never builds up; a sum whose window holds no flow of its kind
    is exactly 0, as the count of such flows says, not a residue of
    subtractions.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period, &candles))
        return -1;
    size_t n = (size_t) period;
    size_t size = candles->size;
    double *typical = sf_series_alloc (size);
    double *mfi = sf_series_alloc (size);
    for (size_t i = 0; i < size; i++)
        typical [i] = (candles->high [i] + candles->low [i] + candles->close [i]) / 3.0;
    //  Signed flows: > 0 positive, < 0 negative (as -flow), 0 neither
    double *flow = sf_series_alloc (size);
    for (size_t j = 1; j < size; j++) {
        double value = typical [j] * candles->volume [j];
        flow [j] = typical [j] > typical [j - 1]? value:
                   typical [j] < typical [j - 1]? -value: 0.0;
    }
    double positive = 0, negative = 0;
    size_t positives = 0, negatives = 0;
    for (size_t i = 1; i < size; i++) {
        //  Window of flows i + 1 - n .. i
        if (flow [i] > 0) {
            positive += flow [i];
            positives++;
        }
        else
        if (flow [i] < 0) {
            negative -= flow [i];
            negatives++;
        }
        double leaving = i > n? flow [i - n]: 0.0;
        if (leaving > 0) {
            positive -= leaving;
            positives--;
        }
        else
        if (leaving < 0) {
            negative += leaving;
            negatives--;
        }
        if (i < n)
            continue;
        if ((i - n) % n == 0) {
            positive = negative = 0;        //  Afresh, in window order
            for (size_t j = i + 1 - n; j <= i; j++)
                if (flow [j] > 0)
                    positive += flow [j];
                else
                if (flow [j] < 0)
                    negative -= flow [j];
        }
        if (positives == 0)
            positive = 0;
        if (negatives == 0)
            negative = 0;
        mfi [i] = positive + negative < 1.0? 0.0: 100.0 * positive / (positive + negative);
    }
    free (flow);
    const char *names [] = { "mfi" };
    const double *outputs [] = { mfi };
    sf_series_pack (ctx, candles, n, last, names, outputs, 1);
    free (typical);
    free (mfi);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 14, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_mfi = {
    .name = "mfi", .version = "2", .summary = "money flow index (period 14)",
    .analyze = s_analyze, .params = s_params
};
