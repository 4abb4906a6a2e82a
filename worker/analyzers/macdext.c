/*  =========================================================================
    macdext - MACD with a moving average of one's choice for each line
    (TA-Lib MACDEXT)

    macd = MA(fast) - MA(slow) of closes, signal = MA(signal) of macd, hist
    = macd - signal; each MA of its type: 0 SMA (the default for all three,
    as in TA-Lib: with the defaults macd is SMA12 - SMA26, not MACD's
    EMAs), 1 EMA, 2 WMA. As TA-Lib, both MAs of closes start at the index
    the longer of them first has (an EMA seeded there with the SMA of the
    candles before), a slow period below the fast one swaps the two (with
    their types), and the signal MA starts at macd's first value; all
    three outputs start together. Params: fast (2-100000, default 12),
    fast_matype (0-2, 0), slow (2-100000, 26), slow_matype (0-2, 0),
    signal (1-100000, 9), signal_matype (0-2, 0); lookback max (fast,
    slow) + signal - 2.

    The kernel runs the kernels of sma, ema and wma as the types say (the
    MAs of closes into the signal and hist outputs, their difference into
    macd, the signal MA over it); the step form runs their step forms.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the states of the
    three MAs, one after the other.
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"

//  The MAs by TA-Lib's type number.
static const sf_indicator_t *const s_averages [] = {
    &sf_indicator_sma, &sf_indicator_ema, &sf_indicator_wma
};

//  The three MAs of args (fast, fast_matype, slow, slow_matype, signal,
//  signal_matype): their indicator and period, the slower of the MAs of
//  closes second.
typedef struct {
    const sf_indicator_t *average [3];  //  Fast, slow, signal
    double period [3];                  //  Their periods, as args
    size_t start [3];                   //  Candle (or macd value) each starts at
    size_t first;                       //  macd's first value
} s_lines_t;

static s_lines_t
s_lines (const double *args)
{
    s_lines_t lines;
    size_t fast = 0, slow = 2;
    if (args [2] < args [0])
        fast = 2, slow = 0;             //  TA-Lib swaps them
    lines.average [0] = s_averages [(size_t) args [fast + 1]];
    lines.period [0] = args [fast];
    lines.average [1] = s_averages [(size_t) args [slow + 1]];
    lines.period [1] = args [slow];
    lines.average [2] = s_averages [(size_t) args [5]];
    lines.period [2] = args [4];
    //  The MAs of closes start so that both first give a value at the
    //  same candle, the longer lookback's
    size_t fast_lookback = lines.average [0]->lookback (&lines.period [0]);
    size_t slow_lookback = lines.average [1]->lookback (&lines.period [1]);
    lines.first = fast_lookback > slow_lookback? fast_lookback: slow_lookback;
    lines.start [0] = lines.first - fast_lookback;
    lines.start [1] = lines.first - slow_lookback;
    lines.start [2] = lines.first;
    return lines;
}

static size_t
s_lookback (const double *args)
{
    s_lines_t lines = s_lines (args);
    return lines.first + lines.average [2]->lookback (&lines.period [2]);
}

static size_t
s_state_size (const double *args)
{
    s_lines_t lines = s_lines (args);
    size_t size = 0;
    for (size_t k = 0; k < 3; k++)
        size += lines.average [k]->state_size (&lines.period [k]);
    return size;
}

//  macd[i] = fast[i] - slow[i] of count values.
static inline void
s_difference (size_t count, const double *restrict fast, const double *restrict slow,
              double *restrict macd)
{
    for (size_t b = 0; b < count; b++)
        macd [b] = fast [b] - slow [b];
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    const double *close = in [0];
    double *macd = out [0], *signal = out [1], *hist = out [2];
    s_lines_t lines = s_lines (args);
    size_t first = lines.first, lookback = s_lookback (args);
    //  The MAs of closes into signal and hist (both overwritten after)
    double *lines_out [2] = { signal, hist };
    double *at = state;
    for (size_t k = 0; k < 2; k++) {
        size_t start = lines.start [k];
        const double *from [1] = { close + start };
        double *to [1] = { lines_out [k] + start };
        lines.average [k]->kernel (size - start, from, &lines.period [k], to, at);
        if (at)
            at += lines.average [k]->state_size (&lines.period [k]);
    }
    s_difference (size - first, signal + first, hist + first, macd + first);
    const double *from [1] = { macd + first };
    double *to [1] = { signal + first };
    lines.average [2]->kernel (size - first, from, &lines.period [2], to, at);
    s_difference (size - lookback, macd + lookback, signal + lookback, hist + lookback);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    s_lines_t lines = s_lines (args);
    double values [2] = { 0, 0 };
    double *at = state;
    for (size_t k = 0; k < 2; k++) {
        if (seen >= lines.start [k])
            lines.average [k]->step (at, seen - lines.start [k], in, i, &lines.period [k],
                                     values + k);
        at += lines.average [k]->state_size (&lines.period [k]);
    }
    if (seen < lines.first)
        return;
    double macd = values [0] - values [1], signal = 0;
    const double *from [1] = { &macd };
    lines.average [2]->step (at, seen - lines.first, from, 0, &lines.period [2], &signal);
    out [0] = macd;
    out [1] = signal;
    out [2] = macd - signal;
}

const sf_indicator_t sf_indicator_macdext = {
    .inputs = "c", .outputs = { "macd", "signal", "hist" }, .lookback = s_lookback,
    .kernel = s_kernel, .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_macdext);
}

static const sf_param_t s_params [] = {
    { "fast", SF_PARAM_INT, 12, 2, 100000, NULL, "fast window" },
    { "fast_matype", SF_PARAM_INT, 0, 0, 2, NULL, "fast MA: 0 SMA, 1 EMA, 2 WMA" },
    { "slow", SF_PARAM_INT, 26, 2, 100000, NULL, "slow window" },
    { "slow_matype", SF_PARAM_INT, 0, 0, 2, NULL, "slow MA: 0 SMA, 1 EMA, 2 WMA" },
    { "signal", SF_PARAM_INT, 9, 1, 100000, NULL, "signal window" },
    { "signal_matype", SF_PARAM_INT, 0, 0, 2, NULL, "signal MA: 0 SMA, 1 EMA, 2 WMA" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_macdext = {
    .name = "macdext", .version = "1",
    .summary = "MACD with chosen MAs, all SMA by default (12, 26, 9)",
    .analyze = s_analyze, .params = s_params
};
