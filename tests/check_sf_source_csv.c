/*  =========================================================================
    check_sf_source_csv - the CSV data source: every window of the sample
    files is what cutting the whole file gives, bit for bit; unsafe names,
    missing and malformed files are clear errors; a file's stamp changes
    when it is rewritten and is racy while it is fresh
    ========================================================================= */

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sf_candles.h"
#include "sf_source.h"
#include "suite.h"
#include "window.h"

static char s_data [512];               //  The sample data directory

static void
s_setup (void)
{
    const char *src = getenv ("SHEAF_SRC");
    snprintf (s_data, sizeof s_data, "%s/data", src? src: ".");
}

//  The whole of a sample file, read the plain way.
static sf_candles_t *
s_whole (const char *name)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s.csv", s_data, name);
    sf_error_t error;
    sf_candles_t *candles = sf_candles_load_csv (path, &error);
    ck_assert_msg (candles, "%s", error.message);
    return candles;
}

START_TEST (test_windows_match_the_whole_cut)
{
    static const char *files [][2] = { { "GOOG", "1d" }, { "SYNTH", "1m" }, { "EDGE", "1m" } };
    sf_source_t *source = sf_source_csv_new (s_data);
    ck_assert_str_eq (sf_source_kind (source), "csv");
    for (size_t f = 0; f < 3; f++) {
        char name [64];
        snprintf (name, sizeof name, "%s_%s", files [f][0], files [f][1]);
        sf_candles_t *whole = s_whole (name);
        static sf_request_t requests [512];
        size_t count = window_requests (whole, files [f][0], files [f][1], requests, 512);
        ck_assert_uint_gt (count, 200);
        size_t empty = 0, partial = 0;
        for (size_t i = 0; i < count; i++) {
            sf_candles_t *candles;
            sf_stamp_t stamp;
            bool retry;
            sf_error_t error;
            ck_assert_msg (sf_source_fetch (source, &requests [i], &candles, &stamp, &retry,
                                            &error) == 0, "%s", error.message);
            sf_candles_t *expected = window_cut (whole, &requests [i]);
            ck_assert_msg (window_same (candles, expected),
                           "%s request %zu: %zu candles, %zu expected", name, i,
                           candles->size, expected->size);
            //  The same through the helpers the cache serves windows with
            sf_candles_t *served = sf_request_cut (&requests [i], whole);
            ck_assert (window_same (served, expected));
            empty += expected->size == 0;
            partial += expected->size > 0 && expected->size < whole->size;
            sf_candles_destroy (&served);
            sf_candles_destroy (&expected);
            sf_candles_destroy (&candles);
        }
        //  The probes reach both kinds of window
        ck_assert_uint_gt (empty, 10);
        ck_assert_uint_gt (partial, 100);
        sf_candles_destroy (&whole);
    }
    sf_source_destroy (&source);
}
END_TEST

START_TEST (test_clear_errors)
{
    char dir [] = "/tmp/sheaf-csv-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    sf_source_t *source = sf_source_csv_new (dir);
    sf_candles_t *candles;
    bool retry;
    sf_error_t error;

    sf_request_t request = sf_request_all ("../etc", "1d");
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), -1);
    ck_assert_str_eq (error.code, "DATA_FETCH");
    ck_assert_str_eq (error.message, "symbol or timeframe is not a safe file name");

    request = sf_request_all ("NOPE", "1d");
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), -1);
    ck_assert_str_eq (error.code, "DATA_FETCH");
    ck_assert_msg (strstr (error.message, "NOPE_1d.csv: No such file or directory"), "%s",
                   error.message);
    ck_assert (!retry);
    sf_stamp_t stamp;
    ck_assert_int_eq (sf_source_stamp (source, "NOPE", "1d", &stamp), -1);

    char path [600];
    snprintf (path, sizeof path, "%s/BAD_1d.csv", dir);
    FILE *file = fopen (path, "w");
    fputs ("ts,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n2000,1,2,x,1.5,10\n", file);
    fclose (file);
    request = sf_request_all ("BAD", "1d");
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, NULL, &retry, &error), -1);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, "BAD_1d.csv line 3"), "%s", error.message);

    char where [700];
    sf_source_where (source, "BAD", "1d", where, sizeof where);
    ck_assert_str_eq (where, path);
    unlink (path);
    rmdir (dir);
    sf_source_destroy (&source);
}
END_TEST

//  Write text to path (replacing it in place).
static void
s_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
}

START_TEST (test_stamps)
{
    char dir [] = "/tmp/sheaf-csv-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    char path [600], other [600];
    snprintf (path, sizeof path, "%s/S_1d.csv", dir);
    snprintf (other, sizeof other, "%s/S_1d.new", dir);
    sf_source_t *source = sf_source_csv_new (dir);
    s_write (path, "ts,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n");

    //  A file just written is racy: its times may not show a rewrite yet
    sf_stamp_t first, now;
    ck_assert_int_eq (sf_source_stamp (source, "S", "1d", &first), 0);
    ck_assert (first.racy);
    ck_assert (!sf_stamp_same (&first, &first));

    //  The fetch stamps what it read
    sf_candles_t *candles;
    bool retry;
    sf_error_t error;
    sf_request_t request = sf_request_all ("S", "1d");
    sf_stamp_t read;
    ck_assert_int_eq (sf_source_fetch (source, &request, &candles, &read, &retry, &error), 0);
    ck_assert_uint_eq (candles->size, 1);
    ck_assert_uint_eq (read.inode, first.inode);
    sf_candles_destroy (&candles);

    //  Once its times are old enough, an unchanged file keeps its stamp,
    //  and any rewrite changes it
    sleep (SF_STAMP_RACY_NS / 1000000000 + 1);
    ck_assert_int_eq (sf_source_stamp (source, "S", "1d", &first), 0);
    ck_assert (!first.racy);
    ck_assert_int_eq (sf_source_stamp (source, "S", "1d", &now), 0);
    ck_assert (sf_stamp_same (&first, &now));

    //  Same size, in place
    s_write (path, "ts,open,high,low,close,volume\n1000,1,2,0.5,1.7,10\n");
    ck_assert_int_eq (sf_source_stamp (source, "S", "1d", &now), 0);
    ck_assert (!sf_stamp_same (&first, &now));
    ck_assert_uint_eq (now.size, first.size);

    //  Same size, renamed into place: a new inode
    ck_assert_int_eq (sf_source_stamp (source, "S", "1d", &first), 0);
    s_write (other, "ts,open,high,low,close,volume\n1000,1,2,0.5,1.9,10\n");
    ck_assert_int_eq (rename (other, path), 0);
    ck_assert_int_eq (sf_source_stamp (source, "S", "1d", &now), 0);
    ck_assert_uint_ne (now.inode, first.inode);

    unlink (path);
    rmdir (dir);
    sf_source_destroy (&source);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_source_csv");
    TCase *tc = tcase_create ("csv");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, test_windows_match_the_whole_cut);
    tcase_add_test (tc, test_clear_errors);
    tcase_add_test (tc, test_stamps);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
