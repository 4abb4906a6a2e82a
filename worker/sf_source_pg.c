/*  =========================================================================
    sf_source_pg - candles from PostgreSQL

    The query is prepared once per connection under a fixed name and
    prepared again after a reconnect. Values are always parameters. A
    failure drops the connection so that the next fetch connects afresh;
    a fetch that failed on a connection that had worked is tried once more
    on a new one.
    ========================================================================= */

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include "sf_log.h"
#include "sf_source_pg.h"

#define S_STATEMENT "sheaf_candles"
#define S_QUERY \
    "SELECT (extract (epoch FROM ts) * 1000)::float8, open, high, low, close, volume " \
    "FROM candles WHERE symbol = $1 AND timeframe = $2 ORDER BY ts"

struct _sf_source_pg_t {
    char *conninfo;             //  Where the database is (owned)
    PGconn *conn;               //  The connection, or NULL (owned)
};

sf_source_pg_t *
sf_source_pg_new (const char *conninfo)
{
    sf_source_pg_t *self = (sf_source_pg_t *) calloc (1, sizeof *self);
    if (!self || !(self->conninfo = strdup (conninfo)))
        abort ();
    return self;
}

void
sf_source_pg_destroy (sf_source_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->conn)
        PQfinish ((*self_p)->conn);
    free ((*self_p)->conninfo);
    free (*self_p);
    *self_p = NULL;
}

//  PostgreSQL's message, one line, with the SQLSTATE when there is one.
static int
s_fail (sf_error_t *error, const char *what, PGconn *conn, PGresult *result)
{
    const char *state = result? PQresultErrorField (result, PG_DIAG_SQLSTATE): NULL;
    char message [200];
    snprintf (message, sizeof message, "%s", conn? PQerrorMessage (conn): "out of memory");
    char *newline = strchr (message, '\n');
    if (newline)
        *newline = 0;
    return sf_error_set (error, "DATA_FETCH", "postgres: %s: %s%s%s%s", what, message,
                         state? " (SQLSTATE ": "", state? state: "", state? ")": "");
}

//  Server notices (e.g. a shutdown warning) go to the log, not to stderr.
static void
s_notice (void *arg, const char *message)
{
    (void) arg;
    sf_log_debug ("worker: postgres says: %.*s", (int) strcspn (message, "\n"), message);
}

//  Connect and prepare. Returns 0, or -1 with error.
static int
s_connect (sf_source_pg_t *self, sf_error_t *error)
{
    self->conn = PQconnectdb (self->conninfo);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        s_fail (error, "cannot connect", self->conn, NULL);
        PQfinish (self->conn);
        self->conn = NULL;
        return -1;
    }
    PQsetNoticeProcessor (self->conn, s_notice, NULL);
    PGresult *result = PQprepare (self->conn, S_STATEMENT, S_QUERY, 2, NULL);
    int rc = 0;
    if (PQresultStatus (result) != PGRES_COMMAND_OK) {
        rc = s_fail (error, "cannot prepare the candles query", self->conn, result);
        PQfinish (self->conn);
        self->conn = NULL;
    }
    PQclear (result);
    return rc;
}

//  A float8 column value in binary format.
static double
s_float8 (const PGresult *result, int row, int column)
{
    uint32_t halves [2];
    memcpy (halves, PQgetvalue (result, row, column), 8);
    uint64_t bits = (uint64_t) ntohl (halves [0]) << 32 | ntohl (halves [1]);
    double value;
    memcpy (&value, &bits, 8);
    return value;
}

//  One try on the current (or a new) connection. Returns the candles, or
//  NULL with error; *retry says whether a new connection might help.
static sf_candles_t *
s_fetch (sf_source_pg_t *self, const char *symbol, const char *timeframe, sf_error_t *error,
         bool *retry)
{
    *retry = self->conn != NULL;        //  Only a connection that had worked
    if (!self->conn && s_connect (self, error))
        return NULL;
    const char *values [2] = { symbol, timeframe };
    PGresult *result = PQexecPrepared (self->conn, S_STATEMENT, 2, values, NULL, NULL, 1);
    sf_candles_t *candles = NULL;
    if (PQresultStatus (result) != PGRES_TUPLES_OK) {
        s_fail (error, "the candles query failed", self->conn, result);
        PQfinish (self->conn);          //  Connect afresh next time
        self->conn = NULL;
        goto done;
    }
    *retry = false;
    int rows = PQntuples (result);
    if (PQnfields (result) != 6) {
        sf_error_set (error, "DATA_FETCH", "postgres: the candles query returned %d columns",
                      PQnfields (result));
        goto done;
    }
    if (rows == 0) {
        sf_error_set (error, "DATA_FETCH", "postgres: no candles for %s %s", symbol, timeframe);
        goto done;
    }
    candles = sf_candles_new ((size_t) rows);
    for (int row = 0; row < rows; row++) {
        for (int column = 0; column < 6; column++)
            if (PQgetisnull (result, row, column) || PQgetlength (result, row, column) != 8) {
                sf_error_set (error, "DATA_FETCH", "postgres: row %d column %d is not a float8",
                              row, column);
                sf_candles_destroy (&candles);
                goto done;
            }
        sf_candles_append (candles, s_float8 (result, row, 0), s_float8 (result, row, 1),
                           s_float8 (result, row, 2), s_float8 (result, row, 3),
                           s_float8 (result, row, 4), s_float8 (result, row, 5));
    }
done:
    PQclear (result);
    return candles;
}

sf_candles_t *
sf_source_pg_fetch (sf_source_pg_t *self, const char *symbol, const char *timeframe,
                    sf_error_t *error)
{
    bool retry;
    sf_candles_t *candles = s_fetch (self, symbol, timeframe, error, &retry);
    if (!candles && retry)
        candles = s_fetch (self, symbol, timeframe, error, &retry);
    return candles;
}
