/*  =========================================================================
    sf_source - where a worker's market data comes from: a directory of CSV
    files or a PostgreSQL table, behind one interface that takes a job's
    whole request (symbol, timeframe, from, to, after, limit)

    A source answers a request with exactly the candles that the full
    series cut in memory would give (sf_candles_window, then "after"), and
    pushes the request down as far as it can: PostgreSQL into its WHERE,
    ORDER BY and LIMIT; the CSV reader into a binary search of the parsed
    file. The worker's cache (sf_cache) sits in front of the sources and
    asks them for what it lacks; what a source must tell the cache about
    freshness differs by kind and is part of this interface:

    - a stamped source (CSV) reads whole files and stamps what it read
      (device, inode, size, mtime, ctime): a stamp that differs means
      "read it again";
    - a tracking source (PostgreSQL) reports changes: after each round trip
      to its server, the rows that changed since the last one (from a
      trigger's notifications), or "anything may have changed" after it
      (re)connected.

    Fetches may overlap: the CSV source keeps no state between calls, and
    PostgreSQL fetches on a pool of connections. The calls that follow
    changes (ready, fetch_followed, sync, changes, socket, drain) must not
    overlap one another; the cache serializes them. A serial source would
    have every call serialized.
    ========================================================================= */

#ifndef SF_SOURCE_H_INCLUDED
#define SF_SOURCE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "sf_candles.h"
#include "sf_codec.h"
#include "sheaf.h"

//  What a job asks of its data source. The window is the candles with
//  from_ms <= ts <= to_ms and ts > after_ms, then the last limit of them.
typedef struct {
    const char *symbol;         //  Symbol, at most SF_NAME_MAX bytes
    const char *timeframe;      //  Timeframe, at most SF_TIMEFRAME_MAX bytes
    double from_ms;             //  First ts wanted (inclusive); NAN: no bound
    double to_ms;               //  Last ts wanted (inclusive); NAN: no bound
    double after_ms;            //  Only ts after this (exclusive); NAN: no bound
    size_t limit;               //  Only the last this many; 0: no limit
    bool exists;                //  The caller knows the series has candles: an
                                //  empty window needs no check that it does
} sf_request_t;

//  A request for every candle of symbol and timeframe.
sf_request_t sf_request_all (const char *symbol, const char *timeframe);

//  The window's lower bound as one inclusive ts: the larger of from_ms and
//  the next double after after_ms; -INFINITY when it has neither.
double sf_request_lower (const sf_request_t *request);

//  The window's upper bound (inclusive); INFINITY when it has none.
double sf_request_upper (const sf_request_t *request);

//  The indexes [*first, *last) of candles (ts increasing) that request's
//  window selects, by binary search.
void sf_request_bounds (const sf_request_t *request, const sf_candles_t *candles,
                        size_t *first, size_t *last);

//  The window request selects from candles, as a new series (the caller
//  owns it).
sf_candles_t *sf_request_cut (const sf_request_t *request, const sf_candles_t *candles);

//  What a stamped source read: when the file now has another stamp, or
//  the stamp is racy (the file was written so recently that a rewrite in
//  the same clock tick would keep its times), the data must be read again.
typedef struct {
    uint64_t device;            //  st_dev
    uint64_t inode;             //  st_ino: a file renamed into place is new
    uint64_t size;              //  st_size
    int64_t mtime_ns;           //  st_mtim, nanoseconds
    int64_t ctime_ns;           //  st_ctim, nanoseconds
    bool racy;                  //  Written within SF_STAMP_RACY_NS of the read
} sf_stamp_t;

//  A stamp is racy while the file's times are this close to the time it
//  was read: file times come from a coarse clock (a few milliseconds on
//  Linux), so a same-size rewrite within one tick keeps them equal.
#define SF_STAMP_RACY_NS 2000000000LL

//  True when a and b name the same read of the same file and a is not racy.
bool sf_stamp_same (const sf_stamp_t *a, const sf_stamp_t *b);

//  A change a tracking source reports: candles of symbol and timeframe
//  changed from ts_ms on, or anything may have changed (all).
typedef struct {
    bool all;                   //  Anything may have changed (reconnect, TRUNCATE,
                                //  a notification that could not be read)
    bool inserted;              //  Rows were only inserted (no update, no delete)
    char symbol [SF_NAME_MAX + 1];      //  Whose candles changed
    char timeframe [SF_TIMEFRAME_MAX + 1];      //  Their timeframe
    double ts_ms;               //  The earliest ts changed; NAN: unknown (any)
} sf_change_t;

//  Read payload, a notification on channel sheaf_candles as the trigger of
//  deploy/sql/002_candles_notify.sql sends it (a JSON object: op, symbol,
//  timeframe, from_us), into *change. Returns 0; 1 when it names a symbol
//  or timeframe longer than a job may name (no cache holds it: ignore it);
//  or -1 when it cannot be read, with *change "all" (a change that cannot
//  be read may have touched anything).
int sf_change_parse (const char *payload, sf_change_t *change);

//  Called with each change, in the order the source learnt of them.
typedef void (sf_change_fn) (void *arg, const sf_change_t *change);

typedef struct _sf_source_t sf_source_t;

//  --------------------------------------------------------------------------
//  Constructors (sf_source_csv.c, sf_source_pg.c)

//  Candles from dir/<SYMBOL>_<TIMEFRAME>.csv (dir copied). Stamped, not
//  serial.
sf_source_t *sf_source_csv_new (const char *dir);

//  Candles from the table candles (deploy/sql/001_candles.sql) of the
//  database at conninfo (copied), fetched over up to connections
//  connections at once (0: one); each connects when first used and again
//  after a failure. Tracking once sf_source_follow was called, over one
//  more connection that listens.
sf_source_t *sf_source_pg_new (const char *conninfo, size_t connections);

//  The worker's source: PostgreSQL at data_db when it is given (fetching
//  over up to connections connections at once), else the CSV files of
//  data_dir, else none (NULL).
sf_source_t *sf_source_for (const char *data_dir, const char *data_db, size_t connections);

//  --------------------------------------------------------------------------
//  The interface

void sf_source_destroy (sf_source_t **self_p);

//  "csv" or "postgres".
const char *sf_source_kind (sf_source_t *self);

//  Where symbol and timeframe come from, for an error's context: the CSV
//  file's path, or "postgres".
void sf_source_where (sf_source_t *self, const char *symbol, const char *timeframe,
                      char *where, size_t size);

bool sf_source_serial (sf_source_t *self);
bool sf_source_stamped (sf_source_t *self);

//  Report changes from now on (PostgreSQL: LISTEN on a connection, and a
//  change "all" at every (re)connect). Before this, a source reports none.
void sf_source_follow (sf_source_t *self);

//  Make the source ready for a fetch (PostgreSQL: connect if it is not).
//  Returns 0, or -1 with error (DATA_FETCH).
int sf_source_ready (sf_source_t *self, sf_error_t *error);

//  True when the source, ready, reports every change to its data
//  (PostgreSQL: it listens, and the table has the trigger of
//  deploy/sql/002_candles_notify.sql). Without it, nothing read from the
//  source may be kept.
bool sf_source_tracking (sf_source_t *self);

//  The window request selects, oldest first. Returns 0 with *candles_p
//  (the caller owns it; it may be empty), or -1 with error: DATA_FETCH
//  naming the cause (a file that cannot be read, no candles at all for the
//  symbol and timeframe unless request->exists, PostgreSQL's message and
//  SQLSTATE, a value that is not a finite number), BAD_INPUT for a
//  malformed CSV file. *retry says
//  whether trying again might help (a connection that had worked failed).
//  A stamped source fills *stamp (may be NULL otherwise) with what it read.
int sf_source_fetch (sf_source_t *self, const sf_request_t *request, sf_candles_t **candles_p,
                     sf_stamp_t *stamp, bool *retry, sf_error_t *error);

//  Like sf_source_fetch, on the connection that follows changes: the
//  changes learnt when it returns include every commit its rows could
//  show and every commit made before the call. A source without such a
//  connection fetches as sf_source_fetch does, then syncs.
int sf_source_fetch_followed (sf_source_t *self, const sf_request_t *request,
                              sf_candles_t **candles_p, bool *retry, sf_error_t *error);

//  Make the changes learnt include every commit made before this call
//  (PostgreSQL: one round trip on the listening connection, which is made
//  again when it is found broken, reporting "all"). After a fetch, the
//  changes then cover every commit its rows could show. Returns 0, or -1
//  with error (DATA_FETCH).
int sf_source_sync (sf_source_t *self, sf_error_t *error);

//  The stamp of symbol and timeframe's data now. Returns 0, or -1 when it
//  cannot be had (the file is gone).
int sf_source_stamp (sf_source_t *self, const char *symbol, const char *timeframe,
                     sf_stamp_t *stamp);

//  Call fn for each change learnt since the last call, and forget them.
//  Returns how many there were.
size_t sf_source_changes (sf_source_t *self, sf_change_fn *fn, void *arg);

//  The socket on which changes arrive between fetches, or -1 (none, or not
//  connected). Valid until the next call on the source.
int sf_source_socket (sf_source_t *self);

//  Read what has arrived on the socket without sending anything (changes
//  then wait for sf_source_changes). A connection found broken is closed.
void sf_source_drain (sf_source_t *self);

//  --------------------------------------------------------------------------
//  For implementations: a source is this header and an operations table.

typedef struct {
    const char *kind;           //  "csv", "postgres"
    bool serial;                //  Calls must not overlap
    bool stamped;               //  Fills stamps; the cache checks them
    void (*destroy) (void *impl);
    void (*where) (void *impl, const char *symbol, const char *timeframe, char *where,
                   size_t size);
    void (*follow) (void *impl);        //  NULL: reports no changes
    int (*ready) (void *impl, sf_error_t *error);       //  NULL: always ready
    bool (*tracking) (void *impl);      //  NULL: reports no changes
    int (*fetch) (void *impl, const sf_request_t *request, sf_candles_t **candles_p,
                  sf_stamp_t *stamp, bool *retry, sf_error_t *error);
    int (*fetch_followed) (void *impl, const sf_request_t *request, sf_candles_t **candles_p,
                           bool *retry, sf_error_t *error);    //  NULL: fetch, then sync
    int (*sync) (void *impl, sf_error_t *error);        //  NULL: nothing to do
    int (*stamp) (void *impl, const char *symbol, const char *timeframe, sf_stamp_t *stamp);
    size_t (*changes) (void *impl, sf_change_fn *fn, void *arg);       //  NULL: none
    int (*socket) (void *impl); //  NULL: no socket
    void (*drain) (void *impl); //  NULL: nothing to read
} sf_source_ops_t;

//  A source over impl, which ops->destroy frees.
sf_source_t *sf_source_new (const sf_source_ops_t *ops, void *impl);

#endif
