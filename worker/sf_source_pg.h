/*  =========================================================================
    sf_source_pg - candles from PostgreSQL (deploy/sql/001_candles.sql)

    One connection per analyzer thread, opened on first use and opened
    again after a failure. Rows come back in binary format and are decoded
    here: float8 columns as big-endian IEEE 754, the time as epoch
    milliseconds computed by the server.
    ========================================================================= */

#ifndef SF_SOURCE_PG_H_INCLUDED
#define SF_SOURCE_PG_H_INCLUDED

#include "sf_candles.h"
#include "sheaf.h"

typedef struct _sf_source_pg_t sf_source_pg_t;

//  A source for conninfo (copied); it connects when first used.
sf_source_pg_t *sf_source_pg_new (const char *conninfo);

void sf_source_pg_destroy (sf_source_pg_t **self_p);

//  Every candle of symbol and timeframe, oldest first. Returns them (the
//  caller owns them), or NULL with error: code DATA_FETCH and a message
//  giving PostgreSQL's reason (with its SQLSTATE) or "no candles".
sf_candles_t *sf_source_pg_fetch (sf_source_pg_t *self, const char *symbol,
                                  const char *timeframe, sf_error_t *error);

#endif
