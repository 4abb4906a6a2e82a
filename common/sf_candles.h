/*  =========================================================================
    sf_candles - a columnar series of OHLCV candles

    Six contiguous arrays of doubles, one per column, so that an indicator
    runs down one array and a million candles travel as six msgpack bin
    fields of little-endian float64 (docs/PROTOCOL.md, "Candles") with no
    per-value encoding. ts is milliseconds since the Unix epoch, UTC.
    ========================================================================= */

#ifndef SF_CANDLES_H_INCLUDED
#define SF_CANDLES_H_INCLUDED

#include <msgpack.h>
#include <stddef.h>
#include "sheaf.h"

//  These functions are part of the analyzer plugin ABI (sheaf_analyzer.h):
//  plugins call them in the worker, which links libsheaf.a and exports
//  them (-rdynamic), so they keep default visibility in spite of
//  -fvisibility=hidden. They are not the client API: libsheaf.so keeps
//  them local (common/libsheaf.map).
#pragma GCC visibility push (default)

typedef struct {
    double *ts;                 //  Epoch milliseconds, UTC, increasing
    double *open;               //  Opening prices
    double *high;               //  Highest prices
    double *low;                //  Lowest prices
    double *close;              //  Closing prices
    double *volume;             //  Volumes
    size_t size;                //  Candles held
    size_t max;                 //  Room in each column
} sf_candles_t;

//  An empty series with room for reserve candles.
sf_candles_t *sf_candles_new (size_t reserve);

void sf_candles_destroy (sf_candles_t **self_p);

//  Append one candle.
void sf_candles_append (sf_candles_t *self, double ts, double open, double high,
                        double low, double close, double volume);

//  Read a CSV file with the header ts,open,high,low,close,volume (ts as
//  ISO-8601 like 2004-08-19T00:00:00Z, or epoch milliseconds). Returns
//  the series, or NULL with error: DATA_FETCH when the file cannot be read
//  (message names the file and the cause), BAD_INPUT naming file and line
//  of the first malformed row (wrong field count, a value that is not a
//  finite number, a timestamp not after the one before).
sf_candles_t *sf_candles_load_csv (const char *path, sf_error_t *error);

//  The number text (size bytes, no terminator needed) spells, bit for bit
//  what strtod gives for it. Returns 0, or -1 when it is not wholly a
//  finite number.
int sf_candles_parse_number (const char *text, size_t size, double *value);

//  Keep only candles with from_ms <= ts <= to_ms (either may be NAN: no
//  bound), then only the last limit of them (0: no limit).
void sf_candles_window (sf_candles_t *self, double from_ms, double to_ms, size_t limit);

//  Pack the series as a map {"ts": bin, "open": bin, …}, each bin the
//  column as little-endian float64.
void sf_candles_pack (const sf_candles_t *self, msgpack_packer *pk);

//  Read a series packed by sf_candles_pack. Returns it, or NULL with error
//  (code BAD_INPUT) naming the column that is missing or malformed, the
//  row of a value that is not finite, or the row where ts does not
//  increase.
sf_candles_t *sf_candles_unpack (const msgpack_object *object, sf_error_t *error);

//  Parse a CSV time stamp into *ms: a decimal number of epoch milliseconds,
//  or an ISO-8601 time in any form sf_time_parse accepts. Returns 0 or -1.
int sf_candles_parse_time (const char *text, double *ms);

#pragma GCC visibility pop

#endif
