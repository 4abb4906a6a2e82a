/*  =========================================================================
    stochrsi - stochastic RSI (TA-Lib STOCHRSI)

    RSI(period) from index period, then stochf over it with high = low =
    close = RSI: k the raw fastk-candle stochastic of RSI (0 where the RSI
    window is constant), d its SMA over fastd. Charting packages usually
    smooth K and take a 14-candle window: theirs is not this. Outputs k,
    d. Params: period (2-100000, default 14), fastk (1-100000, default 5),
    fastd (1-100000, default 3); lookback period + fastk + fastd - 2.

    The RSI here is TA-Lib's to the bit: the means of the first `period`
    gains and losses, then avg = (avg × (period - 1) + x) / period, and
    100 × (gain / (gain + loss)), 0 when gain + loss < 1e-14. Where prices
    stop moving, the gains and losses decay alike and RSI holds still but
    for its last bit, and the stochastic of such a window is that last
    bit magnified: only the same operations in the same order give
    TA-Lib's k there (rsi's cheaper recurrence does not). The division
    stays in the recurrence for that; the RSI values of a block are then
    a loop of independent divisions (vectorised), and stochf's kernel
    runs over them.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the close before
    and the two averages (sums while the first are built), then stochf's.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  The RSI state's slots, before stochf's.
enum { S_CLOSE, S_GAIN, S_LOSS, S_STOCHF };

//  args: period, fastk, fastd; stochf's are args + 1.
static size_t
s_lookback (const double *args)
{
    return (size_t) args [0] + sf_indicator_stochf.lookback (args + 1);
}

static size_t
s_state_size (const double *args)
{
    return S_STOCHF + sf_indicator_stochf.state_size (args + 1);
}

//  RSI of count candles from their average gains and losses.
static inline void
s_rsi (size_t count, const double *restrict gain, const double *restrict loss,
       double *restrict rsi)
{
    //  Two loops: a division only one arm of a choice uses would be moved
    //  into a branch, which the compiler does not vectorise
    for (size_t b = 0; b < count; b++)
        rsi [b] = 100.0 * (gain [b] / (gain [b] + loss [b]));
    for (size_t b = 0; b < count; b++) {
        double total = gain [b] + loss [b];
        rsi [b] = total > -1e-14 && total < 1e-14? 0.0: rsi [b];
    }
}

static SF_KERNEL_CLONES void
s_rsi_block (const double *gain, const double *loss, double *rsi)
{
    s_rsi (SF_KERNEL_BLOCK, gain, loss, rsi);
}

//  Fold a change into the averages (TA-Lib's operations and order).
static inline void
s_average (double *gain, double *loss, double change, double n)
{
    *gain *= n - 1;
    *loss *= n - 1;
    *gain += change < 0? 0.0: change;
    *loss -= change < 0? change: 0.0;
    *gain /= n;
    *loss /= n;
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *restrict close = in [0];
    size_t n = (size_t) args [0];
    double *rsi = sf_kernel_scratch (size);
    double gain = 0, loss = 0;
    for (size_t i = 1; i <= n; i++) {
        double change = close [i] - close [i - 1];
        gain += change < 0? 0.0: change;
        loss -= change < 0? change: 0.0;
    }
    gain /= (double) n;
    loss /= (double) n;
    double gains [SF_KERNEL_BLOCK], losses [SF_KERNEL_BLOCK];
    gains [0] = gain;
    losses [0] = loss;
    s_rsi (1, gains, losses, rsi + n);
    for (size_t i = n + 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        for (size_t b = 0; b < count; b++) {
            s_average (&gain, &loss, close [i + b] - close [i + b - 1], (double) n);
            gains [b] = gain;
            losses [b] = loss;
        }
        if (count == SF_KERNEL_BLOCK)
            s_rsi_block (gains, losses, rsi + i);
        else
            s_rsi (count, gains, losses, rsi + i);
        i += count;
    }
    //  stochf over the RSI values, from the first
    const double *values [3] = { rsi + n, rsi + n, rsi + n };
    double *outputs [2] = { out [0] + n, out [1] + n };
    sf_indicator_stochf.kernel (size - n, values, args + 1, outputs,
                                state? state + S_STOCHF: NULL);
    if (state) {
        state [S_CLOSE] = close [size - 1];
        state [S_GAIN] = gain;
        state [S_LOSS] = loss;
    }
    free (rsi);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    double close = in [0][i], change = close - state [S_CLOSE];
    state [S_CLOSE] = close;
    if (seen == 0)
        return;
    if (seen <= n) {
        state [S_GAIN] += change < 0? 0.0: change;
        state [S_LOSS] -= change < 0? change: 0.0;
        if (seen < n)
            return;
        state [S_GAIN] /= (double) n;
        state [S_LOSS] /= (double) n;
    }
    else
        s_average (state + S_GAIN, state + S_LOSS, change, (double) n);
    double rsi;
    s_rsi (1, state + S_GAIN, state + S_LOSS, &rsi);
    const double *values [3] = { &rsi, &rsi, &rsi };
    sf_indicator_stochf.step (state + S_STOCHF, seen - n, values, 0, args + 1, out);
}

const sf_indicator_t sf_indicator_stochrsi = {
    .inputs = "c", .outputs = { "k", "d" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_stochrsi);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    { "fastk", SF_PARAM_INT, 5, 1, 100000, NULL, "%K window over RSI" },
    { "fastd", SF_PARAM_INT, 3, 1, 100000, NULL, "%D smoothing (SMA)" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_stochrsi = {
    .name = "stochrsi", .version = "1", .summary = "stochastic RSI %K and %D (14, 5, 3)",
    .analyze = s_analyze, .params = s_params
};
