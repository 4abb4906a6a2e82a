/*  =========================================================================
    cci - commodity channel index (TA-Lib CCI)

    typical = (high + low + close) / 3; cci = (typical - SMA(typical)) /
    (0.015 × mean |typical - SMA(typical)|) over the same `period`
    candles; 0 when that mean deviation is 0. Params: period (2-100000,
    default 20); lookback period - 1.

    The mean deviation is O(period) a candle, as in TA-Lib, summed in four
    interleaved partial sums (the compiler vectorises them); the mean is a
    running sum, summed afresh every `period` candles.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] - 1;
}

//  Sum of |x[j] - mean| over j < n, in four partial sums.
static inline double
s_deviation (const double *x, size_t n, double mean)
{
    double a = 0, b = 0, c = 0, d = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        a += fabs (x [j] - mean);
        b += fabs (x [j + 1] - mean);
        c += fabs (x [j + 2] - mean);
        d += fabs (x [j + 3] - mean);
    }
    for (; j < n; j++)
        a += fabs (x [j] - mean);
    return (a + b) + (c + d);
}

//  Typical prices of count candles.
static inline void
s_typical (size_t count, const double *restrict high, const double *restrict low,
           const double *restrict close, double *restrict typical)
{
    for (size_t b = 0; b < count; b++)
        typical [b] = (high [b] + low [b] + close [b]) / 3.0;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) state;
    const double *restrict high = in [0], *restrict low = in [1], *restrict close = in [2];
    double *restrict cci = out [0];
    size_t n = (size_t) args [0];
    double inv = 1.0 / (double) n;
    double *typical = sf_kernel_scratch (size);
    size_t i = 0;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_typical (SF_KERNEL_BLOCK, high + i, low + i, close + i, typical + i);
    s_typical (size - i, high + i, low + i, close + i, typical + i);
    for (i = n - 1; i < size; i += n) {
        double sum = sf_kernel_sum (typical + i + 1 - n, n);
        size_t end = i + n < size? i + n: size;
        for (size_t j = i; j < end; j++) {
            if (j > i)
                sum += typical [j] - typical [j - n];
            double mean = sum * inv;
            double deviation = s_deviation (typical + j + 1 - n, n, mean) * inv;
            cci [j] = deviation == 0? 0.0: (typical [j] - mean) / (0.015 * deviation);
        }
    }
    free (typical);
}

const sf_indicator_t sf_indicator_cci = {
    .inputs = "hlc", .outputs = { "cci" }, .lookback = s_lookback, .kernel = s_kernel
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_cci);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_cci = {
    .name = "cci", .version = "2", .summary = "commodity channel index (period 20)",
    .analyze = s_analyze, .params = s_params
};
