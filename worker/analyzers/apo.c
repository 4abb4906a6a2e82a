/*  =========================================================================
    apo - absolute price oscillator (TA-Lib APO, with TA-Lib's default
    moving average, the SMA)

    apo = SMA(fast) - SMA(slow) of the closes. As TA-Lib does, the two
    periods are swapped when slow is the shorter. Params: fast (2-100000,
    default 12), slow (2-100000, default 26); lookback max (fast, slow) - 1.

    Each SMA is a running sum summed afresh every multiple of its period
    (at candles n - 1, 2n - 1, …), as sma computes it.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is each SMA's running
    sum and its last `period` closes in a ring indexed by candle number; at
    an afresh sum a ring holds its window in order, so the step form sums
    the same values in the same order as the kernel.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  args: fast, slow (as declared); the shorter and the longer period.
static size_t
s_short (const double *args)
{
    return (size_t) (args [0] < args [1]? args [0]: args [1]);
}

static size_t
s_long (const double *args)
{
    return (size_t) (args [0] < args [1]? args [1]: args [0]);
}

static size_t
s_lookback (const double *args)
{
    return s_long (args) - 1;
}

static size_t
s_state_size (const double *args)
{
    return 2 + s_short (args) + s_long (args);
}

//  apo of count candles from the two SMAs; slow becomes apo.
static inline void
s_apo (size_t count, const double *restrict fast, double *restrict slow)
{
    for (size_t b = 0; b < count; b++)
        slow [b] = fast [b] - slow [b];
}

static SF_KERNEL_CLONES void
s_apo_block (const double *fast, double *slow)
{
    s_apo (SF_KERNEL_BLOCK, fast, slow);
}

//  The running sum of the n closes up to size - 1 as the step form has it:
//  summed afresh at the last candle k n - 1, then slid; and the ring.
static void
s_leave (const double *close, size_t size, size_t n, double *sum, double *ring)
{
    size_t afresh = size - size % n - 1;
    *sum = sf_kernel_sum (close + afresh + 1 - n, n);
    for (size_t j = afresh + 1; j < size; j++)
        *sum += close [j] - close [j - n];
    for (size_t j = size - n; j < size; j++)
        ring [j % n] = close [j];
}

//  Slide the SMA of n (running sum, ring) over the seen-th close; returns
//  the mean (of use from seen n - 1 on).
static double
s_slide (double *sum, double *ring, size_t n, uint64_t seen, double close)
{
    size_t slot = (size_t) (seen % n);
    double old = ring [slot];
    ring [slot] = close;
    if ((seen + 1) % n == 0)
        *sum = sf_kernel_sum (ring, n);
    else
    if (seen >= n)
        *sum += close - old;
    return *sum * (1.0 / (double) n);
}

//  State: [fast sum, slow sum, fast ring, slow ring].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *close = in [0];
    size_t f = s_short (args), s = s_long (args);
    //  Each SMA from its own first window, so that its afresh sums fall
    //  where the step form's do
    double *fast = sf_kernel_scratch (size), *apo = out [0];
    sf_kernel_mean (close, size, f, f - 1, fast);
    sf_kernel_mean (close, size, s, s - 1, apo);
    size_t i = s - 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_apo_block (fast + i, apo + i);
    s_apo (size - i, fast + i, apo + i);
    free (fast);
    if (state) {
        s_leave (close, size, f, state, state + 2);
        s_leave (close, size, s, state + 1, state + 2 + f);
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t f = s_short (args), s = s_long (args);
    double fast = s_slide (state, state + 2, f, seen, in [0][i]);
    out [0] = s_slide (state + 1, state + 2 + f, s, seen, in [0][i]);
    s_apo (1, &fast, out);
}

const sf_indicator_t sf_indicator_apo = {
    .inputs = "c", .outputs = { "apo" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_apo);
}

static const sf_param_t s_params [] = {
    { "fast", SF_PARAM_INT, 12, 2, 100000, NULL, "fast SMA window" },
    { "slow", SF_PARAM_INT, 26, 2, 100000, NULL, "slow SMA window" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_apo = {
    .name = "apo", .version = "1", .summary = "absolute price oscillator, SMA (12, 26)",
    .analyze = s_analyze, .params = s_params
};
