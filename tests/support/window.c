/*  =========================================================================
    window - the reference cut of a series, and requests that probe it
    ========================================================================= */

#include <math.h>
#include <string.h>
#include "window.h"

sf_candles_t *
window_cut (const sf_candles_t *series, const sf_request_t *request)
{
    sf_candles_t *cut = sf_candles_new (series->size);
    for (size_t i = 0; i < series->size; i++) {
        double ts = series->ts [i];
        if ((isnan (request->from_ms) || ts >= request->from_ms)
        &&  (isnan (request->to_ms) || ts <= request->to_ms)
        &&  (isnan (request->after_ms) || ts > request->after_ms))
            sf_candles_append (cut, ts, series->open [i], series->high [i], series->low [i],
                               series->close [i], series->volume [i]);
    }
    sf_candles_window (cut, NAN, NAN, request->limit);
    return cut;
}

bool
window_same (const sf_candles_t *a, const sf_candles_t *b)
{
    size_t bytes = a->size * sizeof (double);
    return a->size == b->size
        && memcmp (a->ts, b->ts, bytes) == 0 && memcmp (a->open, b->open, bytes) == 0
        && memcmp (a->high, b->high, bytes) == 0 && memcmp (a->low, b->low, bytes) == 0
        && memcmp (a->close, b->close, bytes) == 0
        && memcmp (a->volume, b->volume, bytes) == 0;
}

size_t
window_requests (const sf_candles_t *series, const char *symbol, const char *timeframe,
                 sf_request_t *requests, size_t max)
{
    const double *ts = series->ts;
    size_t n = series->size, third = n / 3, half = n / 2;
    double step = ts [1] - ts [0];
    const double froms [] = { NAN, ts [0] - step, ts [third], ts [third] + step / 2,
                              ts [n - 1] + step };
    const double tos [] = { NAN, ts [2 * third], ts [2 * third] - step / 2, ts [0] - step };
    const double afters [] = { NAN, ts [half], ts [half] - 1, ts [n - 1] };
    const size_t limits [] = { 0, 1, 7, n + 3 };
    size_t count = 0;
    for (size_t f = 0; f < sizeof froms / sizeof froms [0]; f++)
    for (size_t t = 0; t < sizeof tos / sizeof tos [0]; t++)
    for (size_t a = 0; a < sizeof afters / sizeof afters [0]; a++)
    for (size_t l = 0; l < sizeof limits / sizeof limits [0]; l++)
        if (count < max)
            requests [count++] = (sf_request_t) { symbol, timeframe, froms [f], tos [t],
                                                  afters [a], limits [l], false };
    return count;
}
