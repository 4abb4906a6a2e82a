/*  =========================================================================
    ppo - percentage price oscillator (TA-Lib PPO, with TA-Lib's default
    moving average, the SMA)

    ppo = 100 × (SMA(fast) - SMA(slow)) / SMA(slow) of the closes; 0 when
    |SMA(slow)| < 1e-14 (TA-Lib's rule). As TA-Lib does, the two
    periods are swapped when slow is the shorter. Params: fast (2-100000,
    default 12), slow (2-100000, default 26); lookback max (fast, slow) - 1.

    Each SMA is a running sum summed afresh every multiple of its period
    (at candles n - 1, 2n - 1, …), as sma computes it.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is each SMA's running
    sum and its last `period` closes in a ring indexed by candle number; at
    an afresh sum a ring holds its window in order, so the step form sums
    the same values in the same order as the kernel.
    ========================================================================= */

#include <math.h>
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

//  ppo of count candles from the two SMAs; fast becomes ppo.
static inline void
s_ppo (size_t count, double *restrict fast, const double *restrict slow)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        fast [b] = (fast [b] - slow [b]) / slow [b] * 100.0;
    for (size_t b = 0; b < count; b++)
        fast [b] = fabs (slow [b]) < 1e-14? 0.0: fast [b];
}

static SF_KERNEL_CLONES void
s_ppo_block (double *fast, const double *slow)
{
    s_ppo (SF_KERNEL_BLOCK, fast, slow);
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
    double *ppo = out [0], *slow = sf_kernel_scratch (size);
    sf_kernel_mean (close, size, f, f - 1, ppo);
    sf_kernel_mean (close, size, s, s - 1, slow);
    size_t i = s - 1;
    for (; i + SF_KERNEL_BLOCK <= size; i += SF_KERNEL_BLOCK)
        s_ppo_block (ppo + i, slow + i);
    s_ppo (size - i, ppo + i, slow + i);
    free (slow);
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
    out [0] = s_slide (state, state + 2, f, seen, in [0][i]);
    double slow = s_slide (state + 1, state + 2 + f, s, seen, in [0][i]);
    s_ppo (1, out, &slow);
}

const sf_indicator_t sf_indicator_ppo = {
    .inputs = "c", .outputs = { "ppo" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_ppo);
}

static const sf_param_t s_params [] = {
    { "fast", SF_PARAM_INT, 12, 2, 100000, NULL, "fast SMA window" },
    { "slow", SF_PARAM_INT, 26, 2, 100000, NULL, "slow SMA window" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ppo = {
    .name = "ppo", .version = "1", .summary = "percentage price oscillator, SMA (12, 26)",
    .analyze = s_analyze, .params = s_params
};
