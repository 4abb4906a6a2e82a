/*  =========================================================================
    adosc - Chaikin A/D oscillator (TA-Lib ADOSC)

    EMA(fast) - EMA(slow) of the accumulation/distribution line (ad: from
    the first candle, ad += ((close - low) - (high - close)) / (high - low)
    × volume, the term skipped when high - low is not above 0). As TA-Lib
    does, both EMAs are seeded with the first ad value (not a mean) and
    update from index 1: ema = alpha × ad + (1 - alpha) × ema, alpha = 2 /
    (period + 1). Params: fast (2-100000, default 3), slow (2-100000,
    default 10); lookback max (fast, slow) - 1.

    The kernel computes a block's terms, with their divisions, in loops of
    independent iterations that the compiler vectorises, then the line and
    the two EMAs two candles a turn.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the line and the two
    EMAs.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  The state's slots.
enum { S_AD, S_FAST, S_SLOW, S_STATE };

//  args: fast, slow (as declared).
static size_t
s_lookback (const double *args)
{
    return (size_t) (args [0] > args [1]? args [0]: args [1]) - 1;
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return S_STATE;
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

//  State: [ad, fast EMA, slow EMA].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *high = in [0], *low = in [1], *close = in [2], *volume = in [3];
    double *adosc = out [0];
    double fast_k = 2.0 / (args [0] + 1.0), slow_k = 2.0 / (args [1] + 1.0);
    double fast_keep = 1.0 - fast_k, slow_keep = 1.0 - slow_k;
    //  Two candles a turn: an EMA two candles on is keep^2 × ema + (keep ×
    //  k × ad0 + k × ad1), so its chain of dependent operations is one
    //  multiply and one add for two candles
    double fast_keep2 = fast_keep * fast_keep, slow_keep2 = slow_keep * slow_keep;
    double fast_kk = fast_keep * fast_k, slow_kk = slow_keep * slow_k;
    double term [SF_KERNEL_BLOCK];
    s_terms (1, high, low, close, volume, term);
    double ad = term [0], fast = ad, slow = ad;
    adosc [0] = 0;
    for (size_t i = 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        if (count == SF_KERNEL_BLOCK)
            s_terms_block (high + i, low + i, close + i, volume + i, term);
        else
            s_terms (count, high + i, low + i, close + i, volume + i, term);
        size_t b = 0;
        for (; b + 2 <= count; b += 2) {
            double ad0 = ad + term [b];
            ad += term [b] + term [b + 1];
            adosc [i + b] = (fast_k * ad0 + fast_keep * fast) - (slow_k * ad0 + slow_keep * slow);
            fast = fast_keep2 * fast + (fast_kk * ad0 + fast_k * ad);
            slow = slow_keep2 * slow + (slow_kk * ad0 + slow_k * ad);
            adosc [i + b + 1] = fast - slow;
        }
        for (; b < count; b++) {
            ad += term [b];
            fast = fast_k * ad + fast_keep * fast;
            slow = slow_k * ad + slow_keep * slow;
            adosc [i + b] = fast - slow;
        }
        i += count;
    }
    if (state) {
        state [S_AD] = ad;
        state [S_FAST] = fast;
        state [S_SLOW] = slow;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    double term;
    s_terms (1, in [0] + i, in [1] + i, in [2] + i, in [3] + i, &term);
    double ad = state [S_AD] += term;
    if (seen == 0)
        state [S_FAST] = state [S_SLOW] = ad;
    else {
        double fast_k = 2.0 / (args [0] + 1.0), slow_k = 2.0 / (args [1] + 1.0);
        state [S_FAST] = fast_k * ad + (1.0 - fast_k) * state [S_FAST];
        state [S_SLOW] = slow_k * ad + (1.0 - slow_k) * state [S_SLOW];
    }
    out [0] = state [S_FAST] - state [S_SLOW];
}

const sf_indicator_t sf_indicator_adosc = {
    .inputs = "hlcv", .outputs = { "adosc" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_adosc);
}

static const sf_param_t s_params [] = {
    { "fast", SF_PARAM_INT, 3, 2, 100000, NULL, "fast EMA window" },
    { "slow", SF_PARAM_INT, 10, 2, 100000, NULL, "slow EMA window" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_adosc = {
    .name = "adosc", .version = "1", .summary = "Chaikin A/D oscillator (3, 10)",
    .analyze = s_analyze, .params = s_params
};
