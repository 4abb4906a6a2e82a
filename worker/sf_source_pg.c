/*  =========================================================================
    sf_source_pg - candles from PostgreSQL (deploy/sql/001_candles.sql,
    002_candles_notify.sql)

    A request becomes one prepared statement (under a fixed name, prepared
    again after a reconnect) whose every value is a parameter:

        WHERE symbol = $1 AND timeframe = $2 AND ts >= $3 AND ts < $4
        ORDER BY ts DESC LIMIT $5

    so the server walks the primary key backwards from the window's end and
    stops after the limit; the rows are put back in time order here. Both
    bounds are timestamps in the column's own type (timestamptz, or
    timestamp taken as UTC), sent and received in binary: an int64 of
    microseconds since 2000-01-01. The conversion to the job's epoch
    milliseconds is done here, ms = us / 1000.0 after moving the epoch,
    which is the value the server's extract(epoch …) * 1000 gave, with no
    numeric arithmetic per row on the server. A job's bound in milliseconds
    becomes the first (or last) microsecond whose milliseconds pass its
    test, found by stepping from the nearest one, so a pushed-down window
    holds exactly the candles that cutting the full series would keep.
    A missing bound is -infinity or infinity; no limit is a NULL LIMIT.

    An empty window leaves open whether the symbol has candles elsewhere;
    a second prepared statement asks, so that a symbol with none still
    fails with "no candles", as it did when the whole series was read.

    Fetches run on a small pool of connections (one per analyzer thread
    by default), each with its statements prepared, so that cold series
    load side by side; a fetch takes a free connection, or waits for one.

    Following changes (sf_source_follow), one more connection LISTENs on
    channel sheaf_candles, where 002's trigger announces each statement's
    changes as {"op", "symbol", "timeframe", "from_us"}; a table without
    that trigger (checked at each connect) is not tracked, so that nothing
    read from it is kept. PostgreSQL sends a listener the notifications of
    every transaction committed before it answers a query (they come ahead
    of ReadyForQuery). A fetch on the listening connection itself
    (sf_source_fetch_followed) therefore reports, when it returns, every
    commit its snapshot could see and all those committed before the
    request was made; a fetch on a pool connection gets the same from one
    round trip on the listening connection after it (sf_source_sync).
    Whichever connection fetched, a notification reaches the one listener.
    A (re)connect of the listener reports "all": what changed while no one
    listened is unknown.

    A failure drops its connection so that the next call connects afresh;
    *retry tells the caller when that is worth doing at once (a connection
    that had worked).
    ========================================================================= */

#include <endian.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "sf_log.h"
#include "sf_source.h"

#define S_CHANNEL "sheaf_candles"
#define S_WINDOW "sheaf_candles"
#define S_WINDOW_SQL \
    "SELECT ts, open, high, low, close, volume FROM candles " \
    "WHERE symbol = $1 AND timeframe = $2 AND ts >= $3 AND ts < $4 " \
    "ORDER BY ts DESC LIMIT $5"
#define S_ANY "sheaf_candles_any"
#define S_ANY_SQL "SELECT 1 FROM candles WHERE symbol = $1 AND timeframe = $2 LIMIT 1"

//  Type OIDs (PostgreSQL's catalog/pg_type.dat)
#define S_INT8 20
#define S_TEXT 25
#define S_FLOAT8 701
#define S_TIMESTAMP 1114
#define S_TIMESTAMPTZ 1184

#define S_EPOCH_US 946684800000000LL    //  2000-01-01, PostgreSQL's epoch, in Unix µs
#define S_PG_MIN (-211813488000000000LL)        //  PostgreSQL's first timestamp (4714 BC)
#define S_RANGE_US 9200000000000000000LL        //  |Unix µs| of a ts we take (±291,000
                                                //  years: ms * 1000 fits an int64)
#define S_CHANGES_MAX 10000     //  Changes kept before they collapse into "all"

typedef struct {
    PGconn *conn;               //  The connection, or NULL (owned)
    bool busy;                  //  A fetch is using it
} s_link_t;

typedef struct {
    char *conninfo;             //  Where the database is (owned)
    pthread_mutex_t lock;       //  Guards the links' busy flags
    pthread_cond_t freed;       //  A link was given back
    s_link_t *links;            //  The fetch connections (owned)
    size_t link_count;          //  How many
    PGconn *listener;           //  The connection that follows changes, or NULL (owned)
    bool following;             //  LISTEN on connect, report changes
    bool tracking;              //  Listening, and the table has the trigger
    sf_change_t *changes;       //  Changes learnt, not yet reported (owned)
    size_t change_count;        //  How many
    size_t change_max;          //  Room
} s_pg_t;

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

//  Close the listening connection; the next call that follows changes
//  connects afresh.
static void
s_unlisten (s_pg_t *self)
{
    PQfinish (self->listener);
    self->listener = NULL;
    self->tracking = false;
}

//  --------------------------------------------------------------------------
//  Changes

//  Keep change for the next sf_source_changes.
static void
s_change (s_pg_t *self, const sf_change_t *change)
{
    if (self->change_count == S_CHANGES_MAX) {
        //  Nobody asked for a long time: one "all" says as much
        self->changes [0] = (sf_change_t) { .all = true, .ts_ms = NAN };
        self->change_count = 1;
    }
    if (self->change_count == self->change_max) {
        self->change_max = self->change_max? self->change_max * 2: 16;
        self->changes = (sf_change_t *) realloc (self->changes,
                                                 self->change_max * sizeof (sf_change_t));
        if (!self->changes)
            abort ();
    }
    self->changes [self->change_count++] = *change;
}

static void
s_change_all (s_pg_t *self)
{
    sf_change_t change = { .all = true, .ts_ms = NAN };
    s_change (self, &change);
}

int
sf_change_parse (const char *payload, sf_change_t *change)
{
    *change = (sf_change_t) { .ts_ms = NAN };
    json_t *root = json_loads (payload, 0, NULL);
    const char *op = json_string_value (json_object_get (root, "op"));
    const char *symbol = json_string_value (json_object_get (root, "symbol"));
    const char *timeframe = json_string_value (json_object_get (root, "timeframe"));
    json_t *from = json_object_get (root, "from_us");
    int rc = 0;
    if (op && strcmp (op, "truncate") == 0)
        change->all = true;
    else
    if (op && (strcmp (op, "insert") == 0 || strcmp (op, "update") == 0
            || strcmp (op, "delete") == 0)
    &&  symbol && timeframe && (!from || json_is_null (from) || json_is_integer (from))) {
        if (strlen (symbol) > SF_NAME_MAX || strlen (timeframe) > SF_TIMEFRAME_MAX)
            rc = 1;
        else {
            change->inserted = strcmp (op, "insert") == 0;
            strcpy (change->symbol, symbol);
            strcpy (change->timeframe, timeframe);
            if (json_is_integer (from))
                change->ts_ms = (double) json_integer_value (from) / 1000.0;
        }
    }
    else {
        change->all = true;
        rc = -1;
    }
    json_decref (root);
    return rc;
}

//  One notification's payload; an unreadable one is "all", never ignored.
static void
s_parse (s_pg_t *self, const char *payload)
{
    sf_change_t change;
    int rc = sf_change_parse (payload, &change);
    if (rc < 0)
        sf_log_warning ("worker: unreadable notification on %s, taking it as a change to "
                        "every symbol: %.80s", S_CHANNEL, payload);
    if (rc <= 0)
        s_change (self, &change);
}

//  Take the notifications libpq has read.
static void
s_notified (s_pg_t *self)
{
    PGnotify *notify;
    while ((notify = PQnotifies (self->listener))) {
        if (self->following && strcmp (notify->relname, S_CHANNEL) == 0)
            s_parse (self, notify->extra);
        PQfreemem (notify);
    }
}

//  --------------------------------------------------------------------------
//  Connecting

//  True when result's columns are a timestamp of type ts and five float8.
static bool
s_columns_good (const PGresult *result, Oid ts)
{
    bool good = PQnfields (result) == 6 && (ts == S_TIMESTAMPTZ || ts == S_TIMESTAMP)
             && PQftype (result, 0) == ts;
    for (int column = 1; good && column < 6; column++)
        good = PQftype (result, column) == S_FLOAT8;
    return good;
}

//  Check what the prepared window query takes and returns: timestamps in
//  the ts column's type, float8 prices. Returns 0, or -1 with error.
static int
s_check_types (PGconn *conn, sf_error_t *error)
{
    PGresult *result = PQdescribePrepared (conn, S_WINDOW);
    int rc = 0;
    if (PQresultStatus (result) != PGRES_COMMAND_OK)
        rc = s_fail (error, "cannot describe the candles query", conn, result);
    else
    if (PQnparams (result) != 5 || PQparamtype (result, 3) != PQparamtype (result, 2)
    ||  !s_columns_good (result, PQparamtype (result, 2)))
        rc = sf_error_set (error, "DATA_FETCH", "postgres: table candles must have ts "
                           "timestamptz and double precision prices "
                           "(deploy/sql/001_candles.sql)");
    PQclear (result);
    return rc;
}

//  Prepare one statement. Returns 0, or -1 with error.
static int
s_prepare (PGconn *conn, const char *name, const char *sql, int count, const Oid *types,
           sf_error_t *error)
{
    PGresult *result = PQprepare (conn, name, sql, count, types);
    int rc = 0;
    if (PQresultStatus (result) != PGRES_COMMAND_OK)
        rc = s_fail (error, "cannot prepare the candles query", conn, result);
    PQclear (result);
    return rc;
}

//  True when candles has the trigger of 002_candles_notify.sql, enabled,
//  for INSERT, UPDATE, DELETE and TRUNCATE (tgtype bits 4, 16, 8, 32).
static bool
s_triggered (PGconn *conn)
{
    PGresult *result = PQexec (conn,
        "SELECT coalesce (bit_or (tgtype::int & 60), 0) FROM pg_trigger "
        "WHERE tgrelid = to_regclass ('candles') AND tgfoid = to_regproc ('sheaf_candles_notify') "
        "AND tgenabled IN ('O', 'A')");
    bool triggered = PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1
                  && strcmp (PQgetvalue (result, 0, 0), "60") == 0;
    PQclear (result);
    if (!triggered)
        sf_log_warning ("worker: table candles has no change trigger "
                        "(deploy/sql/002_candles_notify.sql): its candles are not cached");
    return triggered;
}

//  A new connection with the statements prepared. Returns it (the caller
//  owns it), or NULL with error.
static PGconn *
s_connect (s_pg_t *self, sf_error_t *error)
{
    PGconn *conn = PQconnectdb (self->conninfo);
    if (!conn || PQstatus (conn) != CONNECTION_OK) {
        s_fail (error, "cannot connect", conn, NULL);
        PQfinish (conn);
        return NULL;
    }
    PQsetNoticeProcessor (conn, s_notice, NULL);
    //  Timestamps are int64 microseconds in binary only with integer
    //  datetimes, the only kind since PostgreSQL 10
    const char *integer = PQparameterStatus (conn, "integer_datetimes");
    if (!integer || strcmp (integer, "on") != 0) {
        sf_error_set (error, "DATA_FETCH", "postgres: the server does not have integer "
                      "datetimes");
        PQfinish (conn);
        return NULL;
    }
    //  The bounds' type (0) is the ts column's, whichever it is
    const Oid window [5] = { S_TEXT, S_TEXT, 0, 0, S_INT8 };
    const Oid any [2] = { S_TEXT, S_TEXT };
    if (s_prepare (conn, S_WINDOW, S_WINDOW_SQL, 5, window, error)
    ||  s_prepare (conn, S_ANY, S_ANY_SQL, 2, any, error)
    ||  s_check_types (conn, error)) {
        PQfinish (conn);
        return NULL;
    }
    return conn;
}

//  Connect the listening connection, and LISTEN when following. Returns
//  0, or -1 with error.
static int
s_listen (s_pg_t *self, sf_error_t *error)
{
    self->listener = s_connect (self, error);
    if (!self->listener)
        return -1;
    if (self->following) {
        PGresult *result = PQexec (self->listener, "LISTEN " S_CHANNEL);
        int rc = 0;
        if (PQresultStatus (result) != PGRES_COMMAND_OK)
            rc = s_fail (error, "cannot listen for changes", self->listener, result);
        PQclear (result);
        if (rc) {
            s_unlisten (self);
            return -1;
        }
        //  Whatever changed while no one listened is unknown
        s_change_all (self);
        self->tracking = s_triggered (self->listener);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Time stamps: Unix ms (double) <-> PostgreSQL µs since 2000 (int64)

//  The ms of Unix µs u.
static double
s_ms (int64_t u)
{
    return (double) u / 1000.0;
}

//  The smallest PostgreSQL timestamp whose ms are >= ms (-infinity when
//  every ts is, infinity when none is).
static int64_t
s_lower_bound (double ms)
{
    if (ms * 1000.0 < (double) -S_RANGE_US)
        return INT64_MIN;
    if (ms * 1000.0 > (double) S_RANGE_US)
        return INT64_MAX;
    int64_t u = (int64_t) ceil (ms * 1000.0);
    while (s_ms (u) < ms)
        u++;
    while (s_ms (u - 1) >= ms)
        u--;
    return u - S_EPOCH_US < S_PG_MIN? INT64_MIN: u - S_EPOCH_US;
}

//  One past the largest PostgreSQL timestamp whose ms are <= ms (infinity
//  when every ts is, -infinity when none is).
static int64_t
s_upper_bound (double ms)
{
    if (ms * 1000.0 > (double) S_RANGE_US)
        return INT64_MAX;
    if (ms * 1000.0 < (double) -S_RANGE_US)
        return INT64_MIN;
    int64_t u = (int64_t) floor (ms * 1000.0);
    while (s_ms (u) > ms)
        u--;
    while (s_ms (u + 1) <= ms)
        u++;
    return u + 1 - S_EPOCH_US < S_PG_MIN? INT64_MIN: u + 1 - S_EPOCH_US;
}

//  A big-endian int64 at data.
static int64_t
s_int64 (const char *data)
{
    uint64_t bits;
    memcpy (&bits, data, 8);
    return (int64_t) be64toh (bits);
}

//  A big-endian float8 at data.
static double
s_float8 (const char *data)
{
    uint64_t bits;
    memcpy (&bits, data, 8);
    bits = be64toh (bits);
    double value;
    memcpy (&value, &bits, 8);
    return value;
}

//  --------------------------------------------------------------------------
//  Fetching

static const char *s_names [6] = { "ts", "open", "high", "low", "close", "volume" };

//  Decode the rows of result (newest first) into candles (oldest first).
//  Returns them, or NULL with error naming the row and column.
static sf_candles_t *
s_decode (const PGresult *result, const sf_request_t *request, sf_error_t *error)
{
    int rows = PQntuples (result);
    sf_candles_t *candles = sf_candles_new ((size_t) rows);
    candles->size = (size_t) rows;
    double *columns [6] = { candles->ts, candles->open, candles->high, candles->low,
                            candles->close, candles->volume };
    for (int row = 0; row < rows; row++) {
        size_t at = (size_t) (rows - 1 - row);
        for (int column = 0; column < 6; column++) {
            if (PQgetisnull (result, row, column) || PQgetlength (result, row, column) != 8) {
                sf_error_set (error, "DATA_FETCH", "postgres: %s %s: %s is not 8 bytes",
                              request->symbol, request->timeframe, s_names [column]);
                goto failed;
            }
            const char *data = PQgetvalue (result, row, column);
            if (column == 0) {
                int64_t p = s_int64 (data);
                if (p < -S_RANGE_US - S_EPOCH_US || p > S_RANGE_US - S_EPOCH_US) {
                    sf_error_set (error, "DATA_FETCH", "postgres: %s %s: a ts is infinite "
                                  "or out of range", request->symbol, request->timeframe);
                    goto failed;
                }
                columns [0][at] = s_ms (p + S_EPOCH_US);
                //  Rows come newest first: each ts below the one before
                if (row > 0 && columns [0][at] >= columns [0][at + 1]) {
                    sf_error_set (error, "DATA_FETCH", "postgres: %s %s: ts does not "
                                  "increase", request->symbol, request->timeframe);
                    goto failed;
                }
            }
            else {
                columns [column][at] = s_float8 (data);
                if (!isfinite (columns [column][at])) {
                    sf_error_set (error, "DATA_FETCH", "postgres: %s %s: %s at ts %.0f is not "
                                  "a finite number", request->symbol, request->timeframe,
                                  s_names [column], columns [0][at]);
                    goto failed;
                }
            }
        }
    }
    return candles;
failed:
    sf_candles_destroy (&candles);
    return NULL;
}

//  Whether symbol and timeframe have any candle: 1, 0, or -1 with error
//  and *drop (the connection failed).
static int
s_any (PGconn *conn, const sf_request_t *request, bool *drop, sf_error_t *error)
{
    const char *values [2] = { request->symbol, request->timeframe };
    PGresult *result = PQexecPrepared (conn, S_ANY, 2, values, NULL, NULL, 1);
    int rc;
    if (PQresultStatus (result) != PGRES_TUPLES_OK) {
        rc = s_fail (error, "the candles query failed", conn, result);
        *drop = true;
    }
    else
        rc = PQntuples (result) > 0;
    PQclear (result);
    return rc;
}

//  Run request's window query on conn. Returns 0 with *candles_p, or -1
//  with error and, when the connection failed, *drop (connect afresh next
//  time).
static int
s_query (PGconn *conn, const sf_request_t *request, sf_candles_t **candles_p, bool *drop,
         sf_error_t *error)
{
    *drop = false;
    uint64_t lower = htobe64 ((uint64_t) s_lower_bound (sf_request_lower (request)));
    uint64_t upper = htobe64 ((uint64_t) s_upper_bound (sf_request_upper (request)));
    uint64_t limit = htobe64 ((uint64_t) request->limit);
    const char *values [5] = { request->symbol, request->timeframe, (const char *) &lower,
                               (const char *) &upper,
                               request->limit? (const char *) &limit: NULL };
    const int lengths [5] = { 0, 0, 8, 8, 8 };
    const int formats [5] = { 0, 0, 1, 1, 1 };
    PGresult *result = PQexecPrepared (conn, S_WINDOW, 5, values, lengths, formats, 1);
    int rc = -1;
    if (PQresultStatus (result) != PGRES_TUPLES_OK) {
        s_fail (error, "the candles query failed", conn, result);
        *drop = true;
        goto done;
    }
    if (!s_columns_good (result, PQftype (result, 0))) {
        sf_error_set (error, "DATA_FETCH", "postgres: the candles query returned other "
                      "columns than it was prepared with");
        goto done;
    }
    if (PQntuples (result) == 0 && !request->exists) {
        int any = s_any (conn, request, drop, error);
        if (any < 0)
            goto done;
        if (any == 0) {
            sf_error_set (error, "DATA_FETCH", "postgres: no candles for %s %s",
                          request->symbol, request->timeframe);
            goto done;
        }
    }
    *candles_p = s_decode (result, request, error);
    rc = *candles_p? 0: -1;
done:
    PQclear (result);
    return rc;
}

//  A link no other fetch uses, connected ones first; waits while every
//  link is busy.
static s_link_t *
s_take (s_pg_t *self)
{
    pthread_mutex_lock (&self->lock);
    s_link_t *link = NULL;
    while (!link) {
        for (size_t i = 0; i < self->link_count; i++) {
            s_link_t *candidate = &self->links [i];
            if (!candidate->busy && (!link || (!link->conn && candidate->conn)))
                link = candidate;
        }
        if (!link)
            pthread_cond_wait (&self->freed, &self->lock);
    }
    link->busy = true;
    pthread_mutex_unlock (&self->lock);
    return link;
}

static void
s_give (s_pg_t *self, s_link_t *link)
{
    pthread_mutex_lock (&self->lock);
    link->busy = false;
    pthread_cond_signal (&self->freed);
    pthread_mutex_unlock (&self->lock);
}

//  A fetch on a pool connection: any thread, as many at once as there
//  are links. A connection that had worked and fails is tried once more
//  afresh at once: after a server restart, every idle one of the pool is
//  gone.
static int
s_fetch (void *impl, const sf_request_t *request, sf_candles_t **candles_p, sf_stamp_t *stamp,
         bool *retry, sf_error_t *error)
{
    (void) stamp;
    s_pg_t *self = (s_pg_t *) impl;
    s_link_t *link = s_take (self);
    bool stale = link->conn != NULL;
    *retry = stale;             //  Only a connection that had worked
    int rc = -1;
    while (true) {
        if (!link->conn && !(link->conn = s_connect (self, error)))
            break;
        bool drop;
        rc = s_query (link->conn, request, candles_p, &drop, error);
        if (!drop) {
            *retry = false;
            break;
        }
        PQfinish (link->conn);
        link->conn = NULL;
        if (!stale)
            break;
        stale = false;
    }
    s_give (self, link);
    return rc;
}

//  A fetch on the listening connection, whose changes come with its rows.
static int
s_fetch_followed (void *impl, const sf_request_t *request, sf_candles_t **candles_p,
                  bool *retry, sf_error_t *error)
{
    s_pg_t *self = (s_pg_t *) impl;
    *retry = self->listener != NULL;
    if (!self->listener && s_listen (self, error))
        return -1;
    bool drop;
    int rc = s_query (self->listener, request, candles_p, &drop, error);
    s_notified (self);
    if (drop)
        s_unlisten (self);
    else
        *retry = false;
    return rc;
}

//  One round trip on the listening connection: the server sends a
//  listener the notifications of every transaction committed before it
//  answers, so the changes learnt then include all those a fetch that
//  ended before could have seen. A connection found broken is made
//  again, which reports "all".
static int
s_sync (void *impl, sf_error_t *error)
{
    s_pg_t *self = (s_pg_t *) impl;
    if (!self->following)
        return 0;
    if (self->listener) {
        PGresult *result = PQexec (self->listener, "");
        bool good = PQresultStatus (result) == PGRES_EMPTY_QUERY;
        PQclear (result);
        s_notified (self);
        if (good)
            return 0;
        s_unlisten (self);
    }
    return s_listen (self, error);
}

//  --------------------------------------------------------------------------
//  The rest of the interface

static void
s_where (void *impl, const char *symbol, const char *timeframe, char *where, size_t size)
{
    (void) impl, (void) symbol, (void) timeframe;
    snprintf (where, size, "postgres");
}

static void
s_follow (void *impl)
{
    s_pg_t *self = (s_pg_t *) impl;
    self->following = true;
    //  A connection made before listens from the next connect on
    if (self->listener)
        s_unlisten (self);
}

static int
s_ready (void *impl, sf_error_t *error)
{
    s_pg_t *self = (s_pg_t *) impl;
    return self->listener || !self->following? 0: s_listen (self, error);
}

static bool
s_tracking (void *impl)
{
    s_pg_t *self = (s_pg_t *) impl;
    return self->tracking;
}

static size_t
s_changes (void *impl, sf_change_fn *fn, void *arg)
{
    s_pg_t *self = (s_pg_t *) impl;
    size_t count = self->change_count;
    for (size_t i = 0; i < count; i++)
        fn (arg, &self->changes [i]);
    self->change_count = 0;
    return count;
}

static int
s_socket (void *impl)
{
    s_pg_t *self = (s_pg_t *) impl;
    return self->listener? PQsocket (self->listener): -1;
}

static void
s_drain (void *impl)
{
    s_pg_t *self = (s_pg_t *) impl;
    if (!self->listener)
        return;
    if (!PQconsumeInput (self->listener)) {
        char message [200];
        snprintf (message, sizeof message, "%s", PQerrorMessage (self->listener));
        message [strcspn (message, "\n")] = 0;
        sf_log_warning ("worker: postgres connection lost: %s", message);
        s_unlisten (self);
        return;
    }
    s_notified (self);
}

static void
s_destroy (void *impl)
{
    s_pg_t *self = (s_pg_t *) impl;
    s_unlisten (self);
    for (size_t i = 0; i < self->link_count; i++)
        PQfinish (self->links [i].conn);
    free (self->links);
    pthread_cond_destroy (&self->freed);
    pthread_mutex_destroy (&self->lock);
    free (self->changes);
    free (self->conninfo);
    free (self);
}

static const sf_source_ops_t s_ops = {
    .kind = "postgres",
    .serial = false,
    .stamped = false,
    .destroy = s_destroy,
    .where = s_where,
    .follow = s_follow,
    .ready = s_ready,
    .tracking = s_tracking,
    .fetch = s_fetch,
    .fetch_followed = s_fetch_followed,
    .sync = s_sync,
    .changes = s_changes,
    .socket = s_socket,
    .drain = s_drain,
};

sf_source_t *
sf_source_pg_new (const char *conninfo, size_t connections)
{
    s_pg_t *self = (s_pg_t *) calloc (1, sizeof *self);
    if (!self || !(self->conninfo = strdup (conninfo)))
        abort ();
    self->link_count = connections? connections: 1;
    self->links = (s_link_t *) calloc (self->link_count, sizeof (s_link_t));
    if (!self->links)
        abort ();
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->freed, NULL);
    return sf_source_new (&s_ops, self);
}
