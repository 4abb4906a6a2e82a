/*  =========================================================================
    cmo - Chande momentum oscillator with Wilder smoothing (TA-Lib CMO)

    As TA-Lib computes it: the averages of gains and losses are those of
    rsi (Wilder smoothing, not Chande's plain sums). Changes d_i = close[i]
    - close[i-1]; the first averages are the plain means over d_1 ..
    d_period, placed at index period; after that avg = avg × (period - 1)
    / period + x / period. cmo = 100 × (gain - loss) / (gain + loss), 0
    when gain + loss < 1e-14; so cmo = 2 × rsi - 100. Params: period
    (2-100000, default 14); lookback period.

    The kernel runs the two averages, a serial recurrence, over a block of
    candles, then the block's divisions in a loop of independent
    iterations that the compiler vectorises.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close
    and the two averages (sums while the first ones are being built).
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    (void) args;
    return 3;
}

//  cmo[b] from gain[b] and loss[b], b < count. The division and the
//  choice of 0 are two loops: a division only one arm of a choice uses is
//  moved into a branch, which the compiler then does not vectorise.
static inline void
s_cmo (size_t count, const double *gain, const double *loss, double *restrict cmo)
{
    for (size_t b = 0; b < count; b++)
        cmo [b] = 100.0 * ((gain [b] - loss [b]) / (gain [b] + loss [b]));
    for (size_t b = 0; b < count; b++)
        cmo [b] = gain [b] + loss [b] < 1e-14? 0.0: cmo [b];
}

static SF_KERNEL_CLONES void
s_cmo_block (const double *gain, const double *loss, double *cmo)
{
    s_cmo (SF_KERNEL_BLOCK, gain, loss, cmo);
}

//  State: [previous close, gain, loss].
static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    double *restrict cmo = out [0];
    size_t n = (size_t) args [0];
    double inv = 1.0 / (double) n, keep = (double) (n - 1) / (double) n;
    double up = 0, down = 0;
    for (size_t i = 1; i <= n; i++) {
        double change = close [i] - close [i - 1];
        up += change > 0? change: 0;
        down += change < 0? -change: 0;
    }
    up /= (double) n;
    down /= (double) n;
    double gain [SF_KERNEL_BLOCK], loss [SF_KERNEL_BLOCK];
    gain [0] = up;
    loss [0] = down;
    s_cmo (1, gain, loss, cmo + n);
    for (size_t i = n + 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        for (size_t b = 0; b < count; b++) {
            double change = close [i + b] - close [i + b - 1];
            gain [b] = up = up * keep + (change > 0? change: 0) * inv;
            loss [b] = down = down * keep + (change < 0? -change: 0) * inv;
        }
        if (count == SF_KERNEL_BLOCK)
            s_cmo_block (gain, loss, cmo + i);
        else
            s_cmo (count, gain, loss, cmo + i);
        i += count;
    }
    if (state) {
        state [0] = close [size - 1];
        state [1] = up;
        state [2] = down;
    }
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double close = in [0][i], change = close - state [0];
    state [0] = close;
    if (seen == 0)
        return;
    if (seen <= n) {
        state [1] += change > 0? change: 0;
        state [2] += change < 0? -change: 0;
        if (seen == n) {
            state [1] /= (double) n;
            state [2] /= (double) n;
        }
    }
    else {
        double inv = 1.0 / (double) n, keep = (double) (n - 1) / (double) n;
        state [1] = state [1] * keep + (change > 0? change: 0) * inv;
        state [2] = state [2] * keep + (change < 0? -change: 0) * inv;
    }
    s_cmo (1, state + 1, state + 2, out);
}

const sf_indicator_t sf_indicator_cmo = {
    .inputs = "c", .outputs = { "cmo" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_cmo);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_cmo = {
    .name = "cmo", .version = "1",
    .summary = "Chande momentum oscillator, Wilder (period 14)",
    .analyze = s_analyze, .params = s_params
};
