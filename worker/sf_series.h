/*  =========================================================================
    sf_series - what every indicator analyzer shares: the candles it
    needs, its output arrays, and the result format (docs/PROTOCOL.md,
    "Indicator results")

    A series result is {"ts": [...], "<output>": [...], ...} aligned to the
    input candles with null for the first `lookback` values; with params
    "output": "last" it is {"ts": t, "<output>": v, ...}, the last values
    only.
    ========================================================================= */

#ifndef SF_SERIES_H_INCLUDED
#define SF_SERIES_H_INCLUDED

#include <stdbool.h>
#include "sheaf_analyzer.h"

//  The parameters most indicators declare.
#define SF_PARAM_OUTPUT                                                        \
    { "output", SF_PARAM_CHOICE, 0, 0, 0, "series|last", "the whole series, or the last values" }
#define SF_PARAM_PERIOD(fallback)                                              \
    { "period", SF_PARAM_INT, fallback, 2, 100000, NULL, "window length in candles" }

//  An array of size doubles for an output (aborts when out of memory); the
//  caller frees it.
double *sf_series_alloc (size_t size);

//  The job's candles, at least lookback + 1 of them. Returns 0 with
//  *candles_p (the caller destroys it), or -1 after failing the job
//  (INSUFFICIENT_DATA with the counts in the context, or as
//  sf_actx_candles).
int sf_series_candles (sf_actx_t *ctx, size_t lookback, sf_candles_t **candles_p);

//  Pack the result: count outputs named names, each an array of
//  candles->size values whose first lookback are not used (null).
void sf_series_pack (sf_actx_t *ctx, const sf_candles_t *candles, size_t lookback, bool last,
                     const char *const *names, const double **outputs, size_t count);

//  --------------------------------------------------------------------------
//  Indicators (analyzers/indicators.h): a batch kernel for the full
//  computation, a step form for continuations.

typedef struct _sf_indicator_t sf_indicator_t;

//  Run indicator as the job asks, with args from the analyzer's declared
//  INT and REAL params: when it has a step form and the job carries a
//  valid state, the step form from that state over the candles after the
//  state's last ts; else the kernel over all the job's candles (fewer
//  than lookback + 1 fail the job with INSUFFICIENT_DATA). Packs the
//  result over the candles computed (with params "output": "last", their
//  last values, or the state's when there are none) and, for an
//  indicator with a step form, the new state when the job has a
//  state_key. Returns 0, or -1 after failing the job.
int sf_series_run (sf_actx_t *ctx, const sf_indicator_t *indicator);

//  Where sf_series_run_from takes the candles of a job: when resumed, those
//  after after_ms (as sf_actx_candles_after does), else all of them, at
//  least lookback + 1 (as sf_series_candles does). Fills the columns the
//  indicator's inputs name. Returns 0 with *candles_p (the caller destroys
//  it), or -1 after failing the job.
typedef int (sf_series_source_fn) (sf_actx_t *ctx, bool resumed, double after_ms,
                                   size_t lookback, sf_candles_t **candles_p);

//  sf_series_run over the candles source gives (NULL: the job's own), for
//  an indicator whose input columns are not simply the job's candles (two
//  columns chosen by params, or one column of two symbols).
int sf_series_run_from (sf_actx_t *ctx, const sf_indicator_t *indicator,
                        sf_series_source_fn *source);

//  The columns of candles that indicator reads, in the order of its inputs,
//  into in (room for SF_INDICATOR_INPUTS); returns how many.
size_t sf_series_inputs (const sf_indicator_t *indicator, const sf_candles_t *candles,
                         const double **in);

//  The defaults of the INT and REAL params in the table params, in order,
//  into args (room for SF_INDICATOR_ARGS); returns how many.
size_t sf_series_defaults (const sf_param_t *params, double *args);

//  The largest of every n consecutive values of x into top[i] and the
//  smallest of every n consecutive values of y into bottom[i], for the
//  windows ending at i = n - 1 .. size - 1 (size >= n), in O(1) a value
//  whatever n and the data.
void sf_window_extremes (const double *x, const double *y, size_t size, size_t n,
                         double *top, double *bottom);

//  --------------------------------------------------------------------------
//  Sliding windows: the variance of the last n values in O(1) a value.
//  Sums of deviations from a shift K that is reset to the window's mean
//  (and the sums recomputed, two-pass) every n values, so rounding never
//  builds up over more than n updates and the sums do not cancel at high
//  prices: the shift stays within the prices' recent range. A bound on the
//  rounding gathered is kept too; when the variance left after the
//  cancellation is not well above it (a quiet window after a wild one),
//  that window is summed afresh, so a value never strays more than about
//  1e-9 (relative) from the two-pass one. A window is SF_WINDOW_SIZE (n)
//  doubles, zero to start with.

#define SF_WINDOW_SIZE(n) ((n) + 4)

//  Push x, the seen-th value (from 0), into window w of n.
void sf_window_push (double *w, size_t n, uint64_t seen, double x);

//  Variance of the full window (the last n values pushed) with divisor
//  n - ddof (0 for population, 1 for sample); 0 below 1e-14 (TA-Lib's
//  rule).
double sf_window_variance (const double *w, size_t n, size_t ddof);

//  Mean of the full window.
double sf_window_mean (const double *w, size_t n);

//  The windows of x[0 .. size-1] as sf_window_push builds them value by
//  value, in one pass: for every full window (i >= n - 1), scale times
//  its standard deviation (sqrt of sf_window_variance) into deviation[i]
//  and, when mean is not NULL, its mean into mean[i]; when lower is not
//  NULL either, bands instead of the deviation: mean + it into
//  deviation[i], mean - it into lower[i]. When w is not NULL, the window
//  after the last value into w. size >= n.
void sf_window_series (const double *x, size_t size, size_t n, size_t ddof, double scale,
                       double *deviation, double *mean, double *lower, double *w);

#endif
