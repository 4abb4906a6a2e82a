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

//  Population standard deviation of the n values ending at x[i]: two
//  passes, 0 when the variance is below 1e-14 (TA-Lib's rule).
double sf_series_stddev (const double *x, size_t i, size_t n);

//  The job's candles, at least lookback + 1 of them. Returns 0 with
//  *candles_p (the caller destroys it), or -1 after failing the job
//  (INSUFFICIENT_DATA with the counts in the context, or as
//  sf_actx_candles).
int sf_series_candles (sf_actx_t *ctx, size_t lookback, sf_candles_t **candles_p);

//  Pack the result: count outputs named names, each an array of
//  candles->size values whose first lookback are not used (null).
void sf_series_pack (sf_actx_t *ctx, const sf_candles_t *candles, size_t lookback, bool last,
                     const char **names, const double **outputs, size_t count);

#endif
