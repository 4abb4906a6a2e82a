/*  =========================================================================
    check_sf_source_pg - candles from a real PostgreSQL server: the same
    values as the CSV files they were loaded from; every window pushed down
    into the query is the one the whole series cut in memory gives, bit for
    bit, directly and through the cache; the same analyzer results as
    inline candles; clear errors and a reconnect after a restart; rows
    corrected, inserted, deleted or truncated are seen by the next job (and
    a table without the change trigger is not cached at all);
    jobs on a cold symbol share one query (counted in the server's log),
    a warm one costs one query a job; cold symbols load side by side on
    several backends; and a job continuing from a state
    reads only the new rows
    ========================================================================= */

#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fleet.h"
#include "pg.h"
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_cache.h"
#include "sf_candles.h"
#include "sf_mp.h"
#include "sf_source.h"
#include "suite.h"
#include "window.h"

//  The sample files, loaded into the table under their symbol and timeframe.
static const char *s_files [][2] = { { "GOOG", "1d" }, { "SYNTH", "1m" }, { "EDGE", "1m" } };
#define S_FILES 3

static pg_server_t *s_server;
static sf_candles_t *s_series [S_FILES];        //  data/<file>.csv
static sf_candles_t *s_goog;                    //  The first of them
static PGconn *s_writer;                        //  The test's own connection
static char s_logged [400];                     //  Conninfo whose statements are logged

//  Run SQL on the test's connection; fail the test if it does not succeed.
static void
s_exec (const char *sql)
{
    PGresult *result = PQexec (s_writer, sql);
    ck_assert_msg (PQresultStatus (result) == PGRES_COMMAND_OK
                || PQresultStatus (result) == PGRES_TUPLES_OK, "%s: %s", sql,
                   PQerrorMessage (s_writer));
    PQclear (result);
}

//  Run the SQL file deploy/sql/name.
static void
s_migrate (const char *name)
{
    const char *src = getenv ("SHEAF_SRC");
    char path [512];
    snprintf (path, sizeof path, "%s/deploy/sql/%s", src? src: ".", name);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    static char sql [16384];
    size_t size = fread (sql, 1, sizeof sql - 1, file);
    ck_assert_uint_lt (size, sizeof sql - 1);
    sql [size] = 0;
    fclose (file);
    s_exec (sql);
}

//  Insert candle i of candles as symbol/timeframe.
static void
s_insert (const char *symbol, const char *timeframe, const sf_candles_t *candles, size_t i)
{
    char cell [6][32];
    const double *columns [6] = { candles->ts, candles->open, candles->high, candles->low,
                                  candles->close, candles->volume };
    for (int c = 0; c < 6; c++)
        snprintf (cell [c], sizeof cell [c], "%.17g", columns [c][i]);
    const char *values [8] = { symbol, timeframe, cell [0], cell [1], cell [2], cell [3],
                               cell [4], cell [5] };
    PGresult *result = PQexecParams (s_writer,
        "INSERT INTO candles VALUES ($1, $2, to_timestamp ($3::float8 / 1000), "
        "$4, $5, $6, $7, $8)", 8, NULL, values, NULL, NULL, 0);
    ck_assert_msg (PQresultStatus (result) == PGRES_COMMAND_OK, "%s",
                   PQerrorMessage (s_writer));
    PQclear (result);
}

//  The migrations' notices ("trigger … does not exist, skipping") are expected.
static void
s_quiet (void *arg, const char *message)
{
    (void) arg, (void) message;
}

//  Start the server, create the table from deploy/sql, load the samples.
static void
s_setup (void)
{
    const char *src = getenv ("SHEAF_SRC");
    for (size_t f = 0; f < S_FILES; f++) {
        char path [512];
        snprintf (path, sizeof path, "%s/data/%s_%s.csv", src? src: ".", s_files [f][0],
                  s_files [f][1]);
        sf_error_t error;
        s_series [f] = sf_candles_load_csv (path, &error);
        ck_assert_msg (s_series [f], "%s", error.message);
    }
    s_goog = s_series [0];
    s_server = pg_server_start ();
    ck_assert_msg (s_server, "no PostgreSQL server could be started");
    snprintf (s_logged, sizeof s_logged, "%s application_name=sheaf-test "
              "options='-c log_statement=all'", s_server->conninfo);
    s_writer = PQconnectdb (s_server->conninfo);
    ck_assert_msg (PQstatus (s_writer) == CONNECTION_OK, "%s", PQerrorMessage (s_writer));
    PQsetNoticeProcessor (s_writer, s_quiet, NULL);
    s_migrate ("001_candles.sql");
    s_exec ("BEGIN");
    for (size_t f = 0; f < S_FILES; f++)
        for (size_t i = 0; i < s_series [f]->size; i++)
            s_insert (s_files [f][0], s_files [f][1], s_series [f], i);
    s_exec ("COMMIT");
    s_migrate ("002_candles_notify.sql");
}

static void
s_teardown (void)
{
    PQfinish (s_writer);
    s_writer = NULL;
    pg_server_stop (&s_server);
    for (size_t f = 0; f < S_FILES; f++)
        sf_candles_destroy (&s_series [f]);
}

//  How many lines of the server's log contain text (statements are logged
//  by the connections of s_logged only).
static size_t
s_logged_count (const char *text)
{
    char path [128];
    snprintf (path, sizeof path, "%s/server.log", s_server->dir);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    size_t count = 0;
    char line [4096];
    while (fgets (line, sizeof line, file))
        count += strstr (line, text) != NULL;
    fclose (file);
    return count;
}

//  The window statements the logged connections ran so far.
static size_t
s_queries (void)
{
    return s_logged_count ("execute sheaf_candles:");
}

//  Every candle of symbol/timeframe as the server has them now, read by a
//  source of its own with no cache.
static sf_candles_t *
s_truth (const char *symbol, const char *timeframe)
{
    sf_source_t *source = sf_source_pg_new (s_server->conninfo, 1);
    sf_request_t request = sf_request_all (symbol, timeframe);
    sf_candles_t *candles;
    bool retry;
    sf_error_t error;
    ck_assert_msg (sf_source_fetch (source, &request, &candles, NULL, &retry, &error) == 0,
                   "%s", error.message);
    sf_source_destroy (&source);
    return candles;
}

START_TEST (test_same_candles_as_the_csv)
{
    sf_source_t *source = sf_source_pg_new (s_server->conninfo, 1);
    ck_assert_str_eq (sf_source_kind (source), "postgres");
    for (size_t f = 0; f < S_FILES; f++) {
        sf_request_t request = sf_request_all (s_files [f][0], s_files [f][1]);
        sf_candles_t *candles;
        bool retry;
        sf_error_t error;
        ck_assert_msg (sf_source_fetch (source, &request, &candles, NULL, &retry, &error) == 0,
                       "%s", error.message);
        ck_assert (window_same (candles, s_series [f]));
        sf_candles_destroy (&candles);
    }
    sf_request_t request = sf_request_all ("NOPE", "1d");
    sf_candles_t *candles;
    bool retry;
    sf_error_t error;
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), -1);
    ck_assert_str_eq (error.code, "DATA_FETCH");
    ck_assert_str_eq (error.message, "postgres: no candles for NOPE 1d");
    //  A window with nothing in it, of a symbol that has candles, is empty
    request = sf_request_all ("GOOG", "1d");
    request.to_ms = s_goog->ts [0] - 1;
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), 0);
    ck_assert_uint_eq (candles->size, 0);
    sf_candles_destroy (&candles);
    sf_source_destroy (&source);
}
END_TEST

START_TEST (test_windows_pushed_down)
{
    //  The same requests straight to the source, and through a cache (each
    //  symbol's first request loads it, the others are served from it)
    sf_source_t *direct = sf_source_pg_new (s_server->conninfo, 1);
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *cached = sf_source_pg_new (s_server->conninfo, 1);
    cached = sf_cache_add (cache, &cached);
    size_t checked = 0;
    for (size_t f = 0; f < S_FILES; f++) {
        static sf_request_t requests [512];
        size_t count = window_requests (s_series [f], s_files [f][0], s_files [f][1],
                                        requests, 512);
        for (size_t i = 0; i < count; i++) {
            sf_candles_t *expected = window_cut (s_series [f], &requests [i]);
            sf_candles_t *candles;
            bool retry;
            sf_error_t error;
            ck_assert_msg (sf_source_fetch (direct, &requests [i], &candles, NULL, &retry,
                                            &error) == 0, "%s", error.message);
            ck_assert_msg (window_same (candles, expected), "%s request %zu: %zu candles, "
                           "%zu expected", s_files [f][0], i, candles->size, expected->size);
            sf_candles_destroy (&candles);
            ck_assert_msg (sf_cache_fetch (cache, cached, &requests [i], &candles, &error) == 0,
                           "%s", error.message);
            ck_assert_msg (window_same (candles, expected), "%s request %zu through the cache",
                           s_files [f][0], i);
            sf_candles_destroy (&candles);
            sf_candles_destroy (&expected);
            checked++;
        }
    }
    ck_assert_uint_gt (checked, 700);
    sf_cache_stats_t stats;
    sf_cache_stats (cache, &stats);
    //  Loads only when a request reached before what the entry held
    ck_assert_uint_lt (stats.loads, 12);
    ck_assert_uint_eq (stats.invalidations, 0);
    sf_cache_destroy (&cache);
    sf_source_destroy (&direct);
}
END_TEST

//  The result of analyzer name on a job naming GOOG 1d (or carrying its
//  candles inline), with from/to (NAN: none) and limit (0: none), into
//  result. Returns the analyzer's return code.
static int
s_run (sf_actx_t *ctx, const char *name, bool inline_candles, double from, double to,
       size_t limit, msgpack_sbuffer *result)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (inline_candles? 2: 3) + !isnan (from) + !isnan (to) + (limit > 0));
    sf_mp_pack_kv_str (&pk, "analyzer", name);
    if (inline_candles) {
        sf_mp_pack_str (&pk, "candles");
        sf_candles_pack (s_goog, &pk);
    }
    else {
        sf_mp_pack_kv_str (&pk, "symbol", "GOOG");
        sf_mp_pack_kv_str (&pk, "timeframe", "1d");
    }
    if (!isnan (from))
        sf_mp_pack_kv_uint (&pk, "from", (uint64_t) from);
    if (!isnan (to))
        sf_mp_pack_kv_uint (&pk, "to", (uint64_t) to);
    if (limit)
        sf_mp_pack_kv_uint (&pk, "limit", limit);
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *analyzer = sf_analyzers_find (name, strlen (name), false);
    sf_actx_reset (ctx, analyzer, &job.data, 1);
    int rc = analyzer->analyze (ctx);
    if (rc == 0)
        msgpack_sbuffer_write (result, ctx->output.data, ctx->output.size);
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

START_TEST (test_same_results_as_inline)
{
    //  A context with a cache, and one whose cache keeps nothing (every
    //  window pushed down to the server)
    sf_actx_t cached, direct, inline_ctx;
    sf_actx_init (&cached, NULL, s_server->conninfo);
    sf_cache_t *none = sf_cache_new (0);
    sf_source_t *source = sf_source_pg_new (s_server->conninfo, 1);
    source = sf_cache_add (none, &source);
    sf_actx_init_shared (&direct, none, source);
    sf_actx_init (&inline_ctx, NULL, NULL);
    const double from [] = { NAN, s_goog->ts [100], s_goog->ts [100] + 1 };
    const double to [] = { NAN, s_goog->ts [900], s_goog->ts [900] - 1 };
    const size_t limits [] = { 0, 60, 5000 };
    const char *names [] = { "macd", "sma", "stats" };
    for (size_t n = 0; n < 3; n++)
    for (size_t f = 0; f < 3; f++)
    for (size_t t = 0; t < 3; t++)
    for (size_t l = 0; l < 3; l++) {
        msgpack_sbuffer expected, one, two;
        msgpack_sbuffer_init (&expected);
        msgpack_sbuffer_init (&one);
        msgpack_sbuffer_init (&two);
        ck_assert_int_eq (s_run (&inline_ctx, names [n], true, from [f], to [t], limits [l],
                                 &expected), 0);
        ck_assert_msg (s_run (&cached, names [n], false, from [f], to [t], limits [l], &one)
                       == 0, "%s", cached.message);
        ck_assert_msg (s_run (&direct, names [n], false, from [f], to [t], limits [l], &two)
                       == 0, "%s", direct.message);
        ck_assert_uint_eq (one.size, expected.size);
        ck_assert (memcmp (one.data, expected.data, expected.size) == 0);
        ck_assert_uint_eq (two.size, expected.size);
        ck_assert (memcmp (two.data, expected.data, expected.size) == 0);
        msgpack_sbuffer_destroy (&expected);
        msgpack_sbuffer_destroy (&one);
        msgpack_sbuffer_destroy (&two);
    }
    sf_actx_destroy (&cached);
    sf_actx_destroy (&direct);
    sf_actx_destroy (&inline_ctx);
    sf_cache_destroy (&none);
}
END_TEST

START_TEST (test_server_down_then_back)
{
    sf_source_t *source = sf_source_pg_new (s_server->conninfo, 1);
    sf_request_t request = sf_request_all ("GOOG", "1d");
    sf_candles_t *candles;
    bool retry;
    sf_error_t error;
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), 0);
    sf_candles_destroy (&candles);
    PQfinish (s_writer);
    ck_assert_int_eq (pg_server_halt (s_server), 0);
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), -1);
    ck_assert_str_eq (error.code, "DATA_FETCH");
    ck_assert_msg (strncmp (error.message, "postgres: ", 10) == 0, "%s", error.message);
    ck_assert (retry);          //  It had worked: a new connection may
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), -1);
    ck_assert (!retry);
    //  Back up: the same source connects again by itself
    ck_assert_int_eq (pg_server_resume (s_server), 0);
    s_writer = PQconnectdb (s_server->conninfo);
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), 0);
    ck_assert_uint_eq (candles->size, s_goog->size);
    sf_candles_destroy (&candles);
    sf_source_destroy (&source);
}
END_TEST

//  GOOG 1d through cache, checked against what the server has now.
static sf_candles_t *
s_fetch_checked (sf_cache_t *cache, sf_source_t *source)
{
    sf_request_t request = sf_request_all ("GOOG", "1d");
    sf_candles_t *candles;
    sf_error_t error;
    ck_assert_msg (sf_cache_fetch (cache, source, &request, &candles, &error) == 0, "%s",
                   error.message);
    sf_candles_t *truth = s_truth ("GOOG", "1d");
    ck_assert_msg (window_same (candles, truth), "%zu candles served, %zu in the table",
                   candles->size, truth->size);
    sf_candles_destroy (&truth);
    return candles;
}

START_TEST (test_changes_are_seen_by_the_next_job)
{
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_pg_new (s_logged, 2);
    source = sf_cache_add (cache, &source);
    sf_candles_t *candles = s_fetch_checked (cache, source);
    size_t size = candles->size;
    double middle = candles->ts [size / 2], close = candles->close [size / 2];
    double last = candles->ts [size - 1];
    sf_candles_destroy (&candles);
    sf_cache_stats_t stats;
    char sql [512];

    //  A correction in place: the entry is dropped, the next job sees it
    snprintf (sql, sizeof sql, "UPDATE candles SET close = close + 1000 WHERE symbol = 'GOOG' "
              "AND ts = to_timestamp (%.0f / 1000.0)", middle);
    s_exec (sql);
    candles = s_fetch_checked (cache, source);
    ck_assert (candles->close [size / 2] == close + 1000);
    sf_candles_destroy (&candles);
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.invalidations, 1);

    //  New candles after the last: fetched alone, nothing dropped
    sf_cache_stats_t before;
    sf_cache_stats (cache, &before);
    for (int i = 1; i <= 3; i++) {
        snprintf (sql, sizeof sql, "INSERT INTO candles VALUES ('GOOG', '1d', "
                  "to_timestamp (%.0f / 1000.0), 1, 2, 0.5, 1.5, %d)", last + i * 86400000.0, i);
        s_exec (sql);
    }
    candles = s_fetch_checked (cache, source);
    ck_assert_uint_eq (candles->size, size + 3);
    ck_assert (candles->volume [size + 2] == 3);
    sf_candles_destroy (&candles);
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.invalidations, before.invalidations);
    ck_assert_uint_eq (stats.rows, before.rows + 3);
    ck_assert_uint_eq (stats.loads, before.loads);

    //  A candle inserted among those held, one deleted, one moved
    snprintf (sql, sizeof sql, "INSERT INTO candles VALUES ('GOOG', '1d', "
              "to_timestamp (%.0f / 1000.0), 1, 2, 0.5, 1.5, 7)", middle + 3600000.0);
    s_exec (sql);
    candles = s_fetch_checked (cache, source);
    ck_assert_uint_eq (candles->size, size + 4);
    sf_candles_destroy (&candles);
    snprintf (sql, sizeof sql, "DELETE FROM candles WHERE symbol = 'GOOG' "
              "AND ts = to_timestamp (%.0f / 1000.0)", middle);
    s_exec (sql);
    candles = s_fetch_checked (cache, source);
    ck_assert_uint_eq (candles->size, size + 3);
    sf_candles_destroy (&candles);
    snprintf (sql, sizeof sql, "UPDATE candles SET ts = ts - interval '1 hour' "
              "WHERE symbol = 'GOOG' AND ts = to_timestamp (%.0f / 1000.0)", last);
    s_exec (sql);
    candles = s_fetch_checked (cache, source);
    sf_candles_destroy (&candles);
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.invalidations, before.invalidations + 3);

    //  Changed while the worker's connection was gone: after the reconnect
    //  nothing held before is trusted
    s_exec ("SELECT pg_terminate_backend (pid) FROM pg_stat_activity "
            "WHERE application_name = 'sheaf-test'");
    snprintf (sql, sizeof sql, "UPDATE candles SET open = open + 1 WHERE symbol = 'GOOG' "
              "AND ts = to_timestamp (%.0f / 1000.0)", s_goog->ts [10]);
    s_exec (sql);
    candles = s_fetch_checked (cache, source);
    ck_assert (candles->open [10] == s_goog->open [10] + 1);
    sf_candles_destroy (&candles);

    //  Emptied: the job fails, nothing stale is served
    s_exec ("TRUNCATE candles");
    sf_request_t request = sf_request_all ("GOOG", "1d");
    sf_error_t error;
    ck_assert_int_eq (sf_cache_fetch (cache, source, &request, &candles, &error), -1);
    ck_assert_str_eq (error.message, "postgres: no candles for GOOG 1d");
    sf_cache_destroy (&cache);
}
END_TEST

START_TEST (test_no_trigger_nothing_kept)
{
    //  Without the trigger for updates, a correction would go unseen: the
    //  cache keeps nothing of this table, every job reads its own window
    s_exec ("DROP TRIGGER candles_notify_update ON candles");
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_pg_new (s_logged, 2);
    source = sf_cache_add (cache, &source);
    sf_candles_t *candles = s_fetch_checked (cache, source);
    sf_candles_destroy (&candles);
    char sql [256];
    snprintf (sql, sizeof sql, "UPDATE candles SET close = close + 1000 WHERE symbol = 'GOOG' "
              "AND ts = to_timestamp (%.0f / 1000.0)", s_goog->ts [500]);
    s_exec (sql);
    candles = s_fetch_checked (cache, source);
    ck_assert (candles->close [500] == s_goog->close [500] + 1000);
    sf_candles_destroy (&candles);
    sf_cache_stats_t stats;
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.direct, 2);
    ck_assert_uint_eq (stats.loads, 0);
    ck_assert_uint_eq (stats.entries, 0);
    sf_cache_destroy (&cache);
}
END_TEST

//  A job on a thread: fetch request through cache.
typedef struct {
    sf_cache_t *cache;          //  The cache
    sf_source_t *source;        //  Its source
    sf_request_t request;       //  What to fetch
    sf_candles_t *candles;      //  What came, or NULL
} s_job_t;

static void *
s_job (void *arg)
{
    s_job_t *job = (s_job_t *) arg;
    sf_error_t error;
    if (sf_cache_fetch (job->cache, job->source, &job->request, &job->candles, &error))
        job->candles = NULL;
    return NULL;
}

//  Wait (up to 10 s) until query (on pg_stat_activity), asked on the
//  test's connection, answers a count of at least count.
static void
s_await (const char *query, long count)
{
    long found = 0;
    for (int i = 0; i < 1000; i++) {
        //  Inside a transaction the activity view is a snapshot until cleared
        s_exec ("SELECT pg_stat_clear_snapshot ()");
        PGresult *result = PQexec (s_writer, query);
        ck_assert_int_eq (PQresultStatus (result), PGRES_TUPLES_OK);
        found = atol (PQgetvalue (result, 0, 0));
        PQclear (result);
        if (found >= count)
            return;
        usleep (10000);
    }
    ck_abort_msg ("%s: %ld, not %ld", query, found, count);
}

START_TEST (test_one_query_for_concurrent_jobs)
{
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_pg_new (s_logged, 2);
    source = sf_cache_add (cache, &source);
    //  Hold the table, so that the first job's query surely waits while
    //  the second job comes
    s_exec ("BEGIN");
    s_exec ("LOCK TABLE candles IN ACCESS EXCLUSIVE MODE");
    size_t queries = s_queries ();
    s_job_t first = { cache, source, sf_request_all ("GOOG", "1d"), NULL };
    s_job_t second = first;
    second.request.limit = 50;
    pthread_t threads [2];
    pthread_create (&threads [0], NULL, s_job, &first);
    s_await ("SELECT count (*) FROM pg_stat_activity WHERE application_name = 'sheaf-test' "
             "AND wait_event_type = 'Lock'", 1);
    pthread_create (&threads [1], NULL, s_job, &second);
    sf_cache_stats_t stats;
    for (int i = 0; i < 1000; i++) {
        sf_cache_stats (cache, &stats);
        if (stats.waiting == 1)
            break;
        usleep (10000);
    }
    ck_assert_uint_eq (stats.waiting, 1);
    s_exec ("COMMIT");
    pthread_join (threads [0], NULL);
    pthread_join (threads [1], NULL);
    ck_assert_ptr_nonnull (first.candles);
    ck_assert_ptr_nonnull (second.candles);
    ck_assert (window_same (first.candles, s_goog));
    sf_candles_t *expected = window_cut (s_goog, &second.request);
    ck_assert (window_same (second.candles, expected));
    sf_candles_destroy (&expected);
    sf_candles_destroy (&first.candles);
    sf_candles_destroy (&second.candles);
    ck_assert_uint_eq (s_queries (), queries + 1);
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.loads, 1);
    ck_assert_uint_eq (stats.joins, 1);

    //  Warm, one job after another: one query each, for the rows after
    //  the newest held (none), and no other statement
    size_t statements = s_logged_count ("execute ");
    for (int i = 0; i < 5; i++) {
        s_job (&first);
        ck_assert (window_same (first.candles, s_goog));
        sf_candles_destroy (&first.candles);
    }
    ck_assert_uint_eq (s_queries (), queries + 6);
    ck_assert_uint_eq (s_logged_count ("execute "), statements + 5);
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.refreshes, 5);
    ck_assert_uint_eq (stats.rows, s_goog->size);
    sf_cache_destroy (&cache);
}
END_TEST

//  Cold series load side by side, each over a connection of its own;
//  a change committed while they are out is not lost, whichever
//  connection brought the rows.
START_TEST (test_cold_series_load_in_parallel)
{
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_pg_new (s_logged, 2);
    source = sf_cache_add (cache, &source);
    //  A first series, so that the listening connection is made (its
    //  statements are prepared, which the lock below would hold up)
    s_job_t edge = { cache, source, sf_request_all ("EDGE", "1m"), NULL };
    s_job (&edge);
    ck_assert_ptr_nonnull (edge.candles);
    sf_candles_destroy (&edge.candles);
    s_exec ("BEGIN");
    s_exec ("LOCK TABLE candles IN ACCESS EXCLUSIVE MODE");
    s_job_t jobs [2] = { { cache, source, sf_request_all ("GOOG", "1d"), NULL },
                         { cache, source, sf_request_all ("SYNTH", "1m"), NULL } };
    pthread_t threads [2];
    for (int i = 0; i < 2; i++)
        pthread_create (&threads [i], NULL, s_job, &jobs [i]);
    //  Both queries wait for the lock at once, each on its own backend
    s_await ("SELECT count (DISTINCT pid) FROM pg_stat_activity "
             "WHERE application_name = 'sheaf-test' AND wait_event_type = 'Lock'", 2);
    char sql [512];
    snprintf (sql, sizeof sql, "UPDATE candles SET close = close + 1000 WHERE symbol = 'GOOG' "
              "AND ts = to_timestamp (%.0f / 1000.0)", s_goog->ts [5]);
    s_exec (sql);
    s_exec ("COMMIT");
    for (int i = 0; i < 2; i++)
        pthread_join (threads [i], NULL);
    ck_assert_ptr_nonnull (jobs [0].candles);
    ck_assert_ptr_nonnull (jobs [1].candles);
    ck_assert (window_same (jobs [1].candles, s_series [1]));
    ck_assert_uint_eq (jobs [0].candles->size, s_goog->size);
    sf_candles_destroy (&jobs [0].candles);
    sf_candles_destroy (&jobs [1].candles);
    //  The next job sees the correction, whenever the notification came
    sf_candles_t *candles = s_fetch_checked (cache, source);
    ck_assert (candles->close [5] == s_goog->close [5] + 1000);
    sf_candles_destroy (&candles);
    sf_cache_destroy (&cache);
}
END_TEST

//  Run sma (period 20, state_key "k") on symbol's 1d candles through ctx,
//  with state (NULL: none). Returns the result's ts count; the result is
//  appended to result, the new state copied to *new_state (caller frees).
static size_t
s_stream (sf_actx_t *ctx, const char *symbol, const void *state, size_t state_size,
          msgpack_sbuffer *result, char **new_state, size_t *new_size)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, state? 6: 5);
    sf_mp_pack_kv_str (&pk, "analyzer", "sma");
    sf_mp_pack_kv_str (&pk, "symbol", symbol);
    sf_mp_pack_kv_str (&pk, "timeframe", "1d");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_kv_uint (&pk, "period", 20);
    sf_mp_pack_kv_str (&pk, "state_key", "k");
    if (state) {
        sf_mp_pack_str (&pk, "state");
        msgpack_pack_bin (&pk, state_size);
        msgpack_pack_bin_body (&pk, state, state_size);
    }
    msgpack_unpacked job, answer;
    msgpack_unpacked_init (&job);
    msgpack_unpacked_init (&answer);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *sma = sf_analyzers_find ("sma", 3, false);
    sf_actx_reset (ctx, sma, &job.data, 1);
    ck_assert_msg (sma->analyze (ctx) == 0, "%s", ctx->message);
    ck_assert (ctx->has_new_state);
    msgpack_sbuffer_write (result, ctx->output.data, ctx->output.size);
    *new_size = ctx->new_state.size;
    *new_state = (char *) malloc (*new_size);
    memcpy (*new_state, ctx->new_state.data, *new_size);
    offset = 0;
    ck_assert (msgpack_unpack_next (&answer, ctx->output.data, ctx->output.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    size_t count = sf_mp_get (&answer.data, "ts")->via.array.size;
    msgpack_unpacked_destroy (&answer);
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    return count;
}

START_TEST (test_continuation_reads_new_rows_only)
{
    //  CONT0 and CONT1 hold GOOG but its last 10 candles, which come later
    size_t held = s_goog->size - 10;
    char sql [512];
    for (int c = 0; c < 2; c++) {
        snprintf (sql, sizeof sql, "INSERT INTO candles SELECT 'CONT%d', timeframe, ts, open, "
                  "high, low, close, volume FROM candles WHERE symbol = 'GOOG' "
                  "AND ts < to_timestamp (%.0f / 1000.0)", c, s_goog->ts [held]);
        s_exec (sql);
    }
    msgpack_sbuffer results [2];
    for (int c = 0; c < 2; c++) {
        //  With a cache, and without one (the window goes to the server)
        sf_cache_t *cache = sf_cache_new (c == 0? SF_CACHE_DEFAULT: 0);
        sf_source_t *source = sf_source_pg_new (s_logged, 2);
        source = sf_cache_add (cache, &source);
        sf_actx_t ctx;
        sf_actx_init_shared (&ctx, cache, source);
        const char *symbol = c == 0? "CONT0": "CONT1";
        msgpack_sbuffer first;
        msgpack_sbuffer_init (&first);
        msgpack_sbuffer_init (&results [c]);
        char *state;
        size_t size;
        ck_assert_uint_eq (s_stream (&ctx, symbol, NULL, 0, &first, &state, &size), held);
        snprintf (sql, sizeof sql, "INSERT INTO candles SELECT '%s', timeframe, ts, open, "
                  "high, low, close, volume FROM candles WHERE symbol = 'GOOG' "
                  "AND ts >= to_timestamp (%.0f / 1000.0)", symbol, s_goog->ts [held]);
        s_exec (sql);
        sf_cache_stats_t before, after;
        sf_cache_stats (cache, &before);
        size_t queries = s_queries ();
        char *next;
        size_t next_size;
        ck_assert_uint_eq (s_stream (&ctx, symbol, state, size, &results [c], &next,
                                     &next_size), 10);
        sf_cache_stats (cache, &after);
        //  One query, which brought the 10 new candles and nothing else
        ck_assert_uint_eq (s_queries (), queries + 1);
        ck_assert_uint_eq (after.rows, before.rows + 10);
        free (state);
        free (next);
        msgpack_sbuffer_destroy (&first);
        sf_actx_destroy (&ctx);
        sf_cache_destroy (&cache);
    }
    ck_assert_uint_eq (results [0].size, results [1].size);
    ck_assert (memcmp (results [0].data, results [1].data, results [0].size) == 0);
    msgpack_sbuffer_destroy (&results [0]);
    msgpack_sbuffer_destroy (&results [1]);
}
END_TEST

//  A fleet whose worker reads PostgreSQL: the CLI gets the same rsi as
//  from the CSV file the candles came from.
START_TEST (test_fleet_with_database)
{
    fleet_t *fleet = fleet_new ();
    fleet_broker (fleet, NULL);
    char *extra [] = { "--data-db", s_server->conninfo, "--data-cache", "64MiB", NULL };
    fleet_worker (fleet, "db-worker", 1, 4, extra);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    char *argv [] = { "sheaf", "--broker", fleet->frontend, "submit", "rsi", "--symbol", "GOOG",
                      "--timeframe", "1d", "--param", "output=last", "--wait", "--json", NULL };
    static char out [65536];
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 0);
    json_t *result = json_loads (out, 0, NULL);
    ck_assert_msg (result, "not JSON: %s", out);
    double from_db = json_real_value (json_object_get (json_object_get (result, "result"), "rsi"));
    json_decref (result);

    //  The same candles inline, through the analyzer directly
    sf_actx_t ctx;
    sf_actx_init (&ctx, NULL, NULL);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_str (&pk, "analyzer", "rsi");
    sf_mp_pack_str (&pk, "candles");
    sf_candles_pack (s_goog, &pk);
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_kv_str (&pk, "output", "last");
    msgpack_unpacked job, answer;
    msgpack_unpacked_init (&job);
    msgpack_unpacked_init (&answer);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *rsi = sf_analyzers_find ("rsi", 3, false);
    sf_actx_reset (&ctx, rsi, &job.data, 1);
    ck_assert_int_eq (rsi->analyze (&ctx), 0);
    offset = 0;
    ck_assert (msgpack_unpack_next (&answer, ctx.output.data, ctx.output.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    ck_assert (sf_mp_get (&answer.data, "rsi")->via.f64 == from_db);
    msgpack_unpacked_destroy (&answer);
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    sf_actx_destroy (&ctx);
    ck_assert_int_eq (fleet_destroy (&fleet), 0);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_source_pg");
    TCase *tc = tcase_create ("postgres");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_same_candles_as_the_csv);
    tcase_add_test (tc, test_windows_pushed_down);
    tcase_add_test (tc, test_same_results_as_inline);
    tcase_add_test (tc, test_server_down_then_back);
    tcase_add_test (tc, test_changes_are_seen_by_the_next_job);
    tcase_add_test (tc, test_no_trigger_nothing_kept);
    tcase_add_test (tc, test_one_query_for_concurrent_jobs);
    tcase_add_test (tc, test_cold_series_load_in_parallel);
    tcase_add_test (tc, test_continuation_reads_new_rows_only);
    tcase_add_test (tc, test_fleet_with_database);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
