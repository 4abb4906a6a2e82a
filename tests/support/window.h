/*  =========================================================================
    window - the reference for what a data source must return: a whole
    series cut by a request, written as plainly as can be (a scan, not a
    search), and a set of requests that probe every edge of a series
    ========================================================================= */

#ifndef WINDOW_H_INCLUDED
#define WINDOW_H_INCLUDED

#include <stdbool.h>
#include "sf_source.h"

//  The candles of series that request selects (ts >= from, ts <= to,
//  ts > after, then the last limit), as a new series.
sf_candles_t *window_cut (const sf_candles_t *series, const sf_request_t *request);

//  True when a and b hold the same candles, bit for bit.
bool window_same (const sf_candles_t *a, const sf_candles_t *b);

//  Requests over symbol and timeframe that probe series (at least 3
//  candles): bounds absent, before the first candle, on a candle, between
//  two, after the last, in every combination of from, to, after and
//  limit. Returns how many were written to requests (at most max).
size_t window_requests (const sf_candles_t *series, const char *symbol, const char *timeframe,
                        sf_request_t *requests, size_t max);

#endif
