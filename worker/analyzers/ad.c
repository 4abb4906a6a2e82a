/*  =========================================================================
    ad - Chaikin accumulation/distribution line (TA-Lib AD)

    Cumulative from the first candle: ad += ((close - low) - (high -
    close)) / (high - low) × volume, the term skipped when high - low is
    not above 0 (TA-Lib's rule). No params; lookback 0.

    The kernel computes a block's terms, with their divisions, in loops of
    independent iterations that the compiler vectorises, then sums them
    two candles a turn (the step form one by one: the two agree to
    rounding).

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the line.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    (void) args;
    return 0;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return 1;
}

//  The terms of count candles into term.
static inline void
s_terms (size_t count, const double *restrict high, const double *restrict low,
         const double *restrict close, const double *restrict volume, double *restrict term)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        term [b] = ((close [b] - low [b]) - (high [b] - close [b])) / (high [b] - low [b])
                 * volume [b];
    for (size_t b = 0; b < count; b++)
        term [b] = high [b] - low [b] > 0? term [b]: 0.0;
}

static SF_KERNEL_CLONES void
s_terms_block (const double *high, const double *low, const double *close,
               const double *volume, double *term)
{
    s_terms (SF_KERNEL_BLOCK, high, low, close, volume, term);
}

//  State: [ad].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    (void) args;
    const double *high = in [0], *low = in [1], *close = in [2], *volume = in [3];
    double *ad = out [0], value = 0;
    for (size_t i = 0; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        //  The terms go to the output, which then becomes the line
        if (count == SF_KERNEL_BLOCK)
            s_terms_block (high + i, low + i, close + i, volume + i, ad + i);
        else
            s_terms (count, high + i, low + i, close + i, volume + i, ad + i);
        //  Two candles a turn: the line two candles on is ad + (t0 + t1),
        //  one add on the chain of dependent operations for two candles
        size_t b = 0;
        for (; b + 2 <= count; b += 2) {
            double first = ad [i + b], second = ad [i + b + 1];
            ad [i + b] = value + first;
            ad [i + b + 1] = value += first + second;
        }
        for (; b < count; b++)
            ad [i + b] = value += ad [i + b];
        i += count;
    }
    if (state)
        state [0] = value;
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    (void) seen, (void) args;
    double term;
    s_terms (1, in [0] + i, in [1] + i, in [2] + i, in [3] + i, &term);
    out [0] = state [0] += term;
}

const sf_indicator_t sf_indicator_ad = {
    .inputs = "hlcv", .outputs = { "ad" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_ad);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ad = {
    .name = "ad", .version = "1", .summary = "Chaikin accumulation/distribution line",
    .analyze = s_analyze, .params = s_params
};
