/*  =========================================================================
    check_sf_source_pg - candles from a real PostgreSQL server: the same
    values as the CSV file they were loaded from, the same analyzer results
    as inline candles, clear errors, and a reconnect after a restart
    ========================================================================= */

#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fleet.h"
#include "pg.h"
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_candles.h"
#include "sf_mp.h"
#include "sf_source_pg.h"
#include "suite.h"

static pg_server_t *s_server;
static sf_candles_t *s_goog;            //  data/GOOG_1d.csv

//  Run SQL; fail the test if it does not succeed.
static void
s_exec (PGconn *conn, const char *sql)
{
    PGresult *result = PQexec (conn, sql);
    ck_assert_msg (PQresultStatus (result) == PGRES_COMMAND_OK, "%s: %s", sql,
                   PQerrorMessage (conn));
    PQclear (result);
}

//  Start the server, create the table from deploy/sql and load GOOG.
static void
s_setup (void)
{
    const char *src = getenv ("SHEAF_SRC");
    char path [512];
    snprintf (path, sizeof path, "%s/data/GOOG_1d.csv", src? src: ".");
    sf_error_t error;
    s_goog = sf_candles_load_csv (path, &error);
    ck_assert_msg (s_goog, "%s", error.message);
    s_server = pg_server_start ();
    ck_assert_msg (s_server, "no PostgreSQL server could be started");

    PGconn *conn = PQconnectdb (s_server->conninfo);
    ck_assert_msg (PQstatus (conn) == CONNECTION_OK, "%s", PQerrorMessage (conn));
    snprintf (path, sizeof path, "%s/deploy/sql/001_candles.sql", src? src: ".");
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    static char sql [4096];
    size_t size = fread (sql, 1, sizeof sql - 1, file);
    sql [size] = 0;
    fclose (file);
    s_exec (conn, sql);
    s_exec (conn, "BEGIN");
    for (size_t i = 0; i < s_goog->size; i++) {
        char cell [6][32];
        const double *columns [6] = { s_goog->ts, s_goog->open, s_goog->high, s_goog->low,
                                      s_goog->close, s_goog->volume };
        for (int c = 0; c < 6; c++)
            snprintf (cell [c], sizeof cell [c], "%.17g", columns [c][i]);
        const char *values [8] = { "GOOG", "1d", cell [0], cell [1], cell [2], cell [3],
                                   cell [4], cell [5] };
        PGresult *result = PQexecParams (conn,
            "INSERT INTO candles VALUES ($1, $2, to_timestamp ($3::float8 / 1000), "
            "$4, $5, $6, $7, $8)", 8, NULL, values, NULL, NULL, 0);
        ck_assert_msg (PQresultStatus (result) == PGRES_COMMAND_OK, "%s", PQerrorMessage (conn));
        PQclear (result);
    }
    s_exec (conn, "COMMIT");
    PQfinish (conn);
}

static void
s_teardown (void)
{
    pg_server_stop (&s_server);
    sf_candles_destroy (&s_goog);
}

START_TEST (test_same_candles_as_the_csv)
{
    sf_source_pg_t *source = sf_source_pg_new (s_server->conninfo);
    sf_error_t error;
    sf_candles_t *candles = sf_source_pg_fetch (source, "GOOG", "1d", &error);
    ck_assert_msg (candles, "%s", error.message);
    ck_assert_uint_eq (candles->size, s_goog->size);
    ck_assert (memcmp (candles->ts, s_goog->ts, s_goog->size * 8) == 0);
    ck_assert (memcmp (candles->open, s_goog->open, s_goog->size * 8) == 0);
    ck_assert (memcmp (candles->high, s_goog->high, s_goog->size * 8) == 0);
    ck_assert (memcmp (candles->low, s_goog->low, s_goog->size * 8) == 0);
    ck_assert (memcmp (candles->close, s_goog->close, s_goog->size * 8) == 0);
    ck_assert (memcmp (candles->volume, s_goog->volume, s_goog->size * 8) == 0);
    sf_candles_destroy (&candles);

    ck_assert_ptr_null (sf_source_pg_fetch (source, "NOPE", "1d", &error));
    ck_assert_str_eq (error.code, "DATA_FETCH");
    ck_assert_str_eq (error.message, "postgres: no candles for NOPE 1d");
    sf_source_pg_destroy (&source);
}
END_TEST

//  The result of an analyzer on a job: its encoding, in buffer.
static int
s_run (sf_actx_t *ctx, bool inline_candles, msgpack_sbuffer *result)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, inline_candles? 2: 3);
    sf_mp_pack_kv_str (&pk, "analyzer", "macd");
    if (inline_candles) {
        sf_mp_pack_str (&pk, "candles");
        sf_candles_pack (s_goog, &pk);
    }
    else {
        sf_mp_pack_kv_str (&pk, "symbol", "GOOG");
        sf_mp_pack_kv_str (&pk, "timeframe", "1d");
    }
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *macd = sf_analyzers_find ("macd", 4, false);
    sf_actx_reset (ctx, macd, &job.data, 1);
    int rc = macd->analyze (ctx);
    if (rc == 0)
        msgpack_sbuffer_write (result, ctx->output.data, ctx->output.size);
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

START_TEST (test_same_results_as_inline)
{
    sf_actx_t ctx;
    sf_actx_init (&ctx, NULL, s_server->conninfo);
    msgpack_sbuffer from_db, from_job;
    msgpack_sbuffer_init (&from_db);
    msgpack_sbuffer_init (&from_job);
    ck_assert_msg (s_run (&ctx, false, &from_db) == 0, "%s", ctx.message);
    ck_assert_int_eq (s_run (&ctx, true, &from_job), 0);
    ck_assert_uint_eq (from_db.size, from_job.size);
    ck_assert (memcmp (from_db.data, from_job.data, from_db.size) == 0);
    msgpack_sbuffer_destroy (&from_db);
    msgpack_sbuffer_destroy (&from_job);
    sf_actx_destroy (&ctx);
}
END_TEST

START_TEST (test_server_down_then_back)
{
    sf_source_pg_t *source = sf_source_pg_new (s_server->conninfo);
    sf_error_t error;
    sf_candles_t *candles = sf_source_pg_fetch (source, "GOOG", "1d", &error);
    ck_assert_ptr_nonnull (candles);
    sf_candles_destroy (&candles);
    ck_assert_int_eq (pg_server_halt (s_server), 0);
    ck_assert_ptr_null (sf_source_pg_fetch (source, "GOOG", "1d", &error));
    ck_assert_str_eq (error.code, "DATA_FETCH");
    ck_assert_msg (strncmp (error.message, "postgres: ", 10) == 0, "%s", error.message);
    //  Back up: the same source connects again by itself
    ck_assert_int_eq (pg_server_resume (s_server), 0);
    candles = sf_source_pg_fetch (source, "GOOG", "1d", &error);
    ck_assert_msg (candles, "%s", error.message);
    ck_assert_uint_eq (candles->size, s_goog->size);
    sf_candles_destroy (&candles);
    sf_source_pg_destroy (&source);
}
END_TEST

//  A fleet whose worker reads PostgreSQL: the CLI gets the same rsi as
//  from the CSV file the candles came from.
START_TEST (test_fleet_with_database)
{
    fleet_t *fleet = fleet_new ();
    fleet_broker (fleet, NULL);
    char *extra [] = { "--data-db", s_server->conninfo, NULL };
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
    tcase_add_test (tc, test_same_results_as_inline);
    tcase_add_test (tc, test_server_down_then_back);
    tcase_add_test (tc, test_fleet_with_database);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
