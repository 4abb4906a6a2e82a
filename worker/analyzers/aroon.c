/*  =========================================================================
    aroon - Aroon down and up (TA-Lib AROON)

    Over the last period + 1 candles (t - period .. t), up = 100 / period
    × (period - candles since the highest high) and down likewise with the
    lowest low; of equal highs (lows) the latest counts, so a flat window
    gives up = down = 100. Outputs down, up (TA-Lib's order). Params:
    period (2-100000, default 14); lookback period.

    The ages come from van Herk/Gil-Werman windows that carry each
    extreme's index along with its value. The candles are cut into blocks
    of period + 1; a window is the end of the block before and the start
    of its own. Running from a block's start, a later equal value takes
    over; running from its end back, an earlier one takes over only when
    strictly beyond, so that the later of equal ones stays; the two parts
    are joined by one comparison that prefers the later part on a tie. So
    a candle costs a few comparisons and selects whatever the data. The
    step form scans its ring of the last period + 1 candles.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last period + 1
    highs and lows, in rings indexed by candle number.
    ========================================================================= */

#include <stdlib.h>
#include "aroon.h"

//  The running extremes of a block's values and where they are: from the
//  block's start, each extreme's age; from its end back, its position
//  counted from the next block's start (negative).
typedef struct {
    double *high;               //  Highest high so far
    double *high_at;            //  Its age, or its position
    double *low;                //  Lowest low so far
    double *low_at;             //  Its age, or its position
} s_runs_t;

//  The windows ending at start + r, r < count (< w - 1): the block before
//  from r + 1 on (ending, its positions counted from this block's start,
//  so negative) and this one up to r (rising, with ages), the later part
//  on a tie. No branch on the data.
static inline void
s_join (size_t count, const s_runs_t *rising, const s_runs_t *ending, double *restrict up,
        double *restrict down)
{
    const double *restrict high = rising->high, *restrict high_age = rising->high_at;
    const double *restrict low = rising->low, *restrict low_age = rising->low_at;
    const double *restrict end_high = ending->high + 1, *restrict end_high_at = ending->high_at + 1;
    const double *restrict end_low = ending->low + 1, *restrict end_low_at = ending->low_at + 1;
    double at = 0;
    for (size_t r = 0; r < count; r++, at++) {
        //  The choice as a 0/1 factor (exact: the ages are whole numbers);
        //  as a select, the compiler would move the subtraction into a
        //  branch
        double before_high = at - end_high_at [r], before_low = at - end_low_at [r];
        up [r] = before_high + (double) (high [r] >= end_high [r]) * (high_age [r] - before_high);
        down [r] = before_low + (double) (low [r] <= end_low [r]) * (low_age [r] - before_low);
    }
}

void
sf_aroon_ages (const double *high, const double *low, size_t size, size_t n, double *up,
               double *down)
{
    size_t w = n + 1;
    double *scratch = sf_kernel_scratch (8 * w);
    //  Running from each block's start (with the ages of its extremes);
    //  running from its end back, kept for the block after
    s_runs_t rising = { scratch, scratch + w, scratch + 2 * w, scratch + 3 * w };
    s_runs_t ending = { scratch + 4 * w, scratch + 5 * w, scratch + 6 * w, scratch + 7 * w };
    for (size_t start = 0; start < size; start += w) {
        size_t length = size - start < w? size - start: w;
        const double *block_high = high + start, *block_low = low + start;
        //  From the start on, a later equal value taking over
        double top = block_high [0], bottom = block_low [0];
        double top_at = 0, bottom_at = 0, at = 0;
        for (size_t r = 0; r < length; r++, at++) {
            double h = block_high [r], l = block_low [r];
            //  The positions as selects, the values as max and min (equal
            //  ones being the same value): no branch, and a chain of one
            //  select or max from one candle to the next
            top_at = h >= top? at: top_at;
            bottom_at = l <= bottom? at: bottom_at;
            top = h > top? h: top;
            bottom = l < bottom? l: bottom;
            rising.high [r] = top;
            rising.high_at [r] = at - top_at;
            rising.low [r] = bottom;
            rising.low_at [r] = at - bottom_at;
        }
        if (start > 0)
            s_join (length < w - 1? length: w - 1, &rising, &ending, up + start, down + start);
        if (length < w)
            break;
        //  The window that is this whole block
        up [start + w - 1] = rising.high_at [w - 1];
        down [start + w - 1] = rising.low_at [w - 1];
        //  From the end back, an earlier value taking over only when
        //  strictly beyond, so that the later of equal ones stays; the
        //  positions counted from the next block's start
        top = block_high [w - 1], bottom = block_low [w - 1];
        at = (double) n;
        top_at = at, bottom_at = at;
        for (size_t r = w; r-- > 0; at--) {
            double h = block_high [r], l = block_low [r];
            //  As !(<=) rather than >, so that the compiler does not turn
            //  the comparison the max shares into a branch (the same for
            //  finite prices)
            top_at = !(h <= top)? at: top_at;
            bottom_at = !(l >= bottom)? at: bottom_at;
            top = h > top? h: top;
            bottom = l < bottom? l: bottom;
            ending.high [r] = top;
            ending.high_at [r] = top_at - (double) w;
            ending.low [r] = bottom;
            ending.low_at [r] = bottom_at - (double) w;
        }
    }
    free (scratch);
}

size_t
sf_aroon_state_size (size_t n)
{
    return 2 * (n + 1);
}

void
sf_aroon_step (double *state, uint64_t seen, const double *const *in, size_t i, size_t n,
               double *up, double *down)
{
    size_t w = n + 1;
    double *highs = state, *lows = state + w;
    highs [seen % w] = in [0][i];
    lows [seen % w] = in [1][i];
    if (seen < n)
        return;
    //  Oldest to newest, a later equal value taking over
    size_t high_age = n, low_age = n;
    double top = highs [(seen - n) % w], bottom = lows [(seen - n) % w];
    for (size_t age = n; age-- > 0; ) {
        size_t slot = (size_t) ((seen - age) % w);
        if (highs [slot] >= top) {
            top = highs [slot];
            high_age = age;
        }
        if (lows [slot] <= bottom) {
            bottom = lows [slot];
            low_age = age;
        }
    }
    *up = (double) high_age;
    *down = (double) low_age;
}

void
sf_aroon_state (const double *high, const double *low, size_t size, size_t n, double *state)
{
    size_t w = n + 1;
    for (size_t j = size - w; j < size; j++) {
        state [j % w] = high [j];
        state [w + j % w] = low [j];
    }
}

//  --------------------------------------------------------------------------
//  The indicator.

static size_t
s_lookback (const double *args)
{
    return (size_t) args [0];
}

static size_t
s_state_size (const double *args)
{
    return sf_aroon_state_size ((size_t) args [0]);
}

//  Ages into Aroon values, in place: factor × (n - age).
static inline void
s_aroon (size_t count, double n, double factor, double *restrict down, double *restrict up)
{
    for (size_t b = 0; b < count; b++) {
        down [b] = factor * (n - down [b]);
        up [b] = factor * (n - up [b]);
    }
}

static void
s_kernel (size_t size, const double *const *in, const double *args, double *const *out,
          double *state)
{
    size_t n = (size_t) args [0];
    double *down = out [0], *up = out [1];
    sf_aroon_ages (in [0], in [1], size, n, up, down);
    //  TA-Lib's factor, 100 / n, times a whole number
    s_aroon (size - n, (double) n, 100.0 / (double) n, down + n, up + n);
    if (state)
        sf_aroon_state (in [0], in [1], size, n, state);
}

static void
s_step (double *state, uint64_t seen, const double *const *in, size_t i, const double *args,
        double *out)
{
    size_t n = (size_t) args [0];
    sf_aroon_step (state, seen, in, i, n, out + 1, out);
    if (seen >= n)
        s_aroon (1, (double) n, 100.0 / (double) n, out, out + 1);
}

const sf_indicator_t sf_indicator_aroon = {
    .inputs = "hl", .outputs = { "down", "up" }, .lookback = s_lookback, .kernel = s_kernel,
    .state_size = s_state_size, .step = s_step
};

static int
s_analyze (sf_actx_t *ctx)
{
    return sf_series_run (ctx, &sf_indicator_aroon);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_aroon = {
    .name = "aroon", .version = "1", .summary = "Aroon down and up (period 14)",
    .analyze = s_analyze, .params = s_params
};
