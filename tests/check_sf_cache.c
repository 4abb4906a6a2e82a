/*  =========================================================================
    check_sf_cache - the worker's candle cache over CSV files: windows
    served from memory are the file's, a rewritten file is read again, the
    bytes held never pass the bound (least recently used go first, a series
    larger than the bound is served from the source), concurrent jobs on a
    cold symbol share one read, and threads hammering a small cache always
    get the right candles (the PostgreSQL side is in check_sf_source_pg)
    ========================================================================= */

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "sf_cache.h"
#include "sf_candles.h"
#include "suite.h"
#include "window.h"

static char s_data [512];               //  The sample data directory
static char s_dir [64];                 //  A scratch directory of this test

static void
s_setup (void)
{
    const char *src = getenv ("SHEAF_SRC");
    snprintf (s_data, sizeof s_data, "%s/data", src? src: ".");
    snprintf (s_dir, sizeof s_dir, "/tmp/sheaf-cache-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
}

static void
s_teardown (void)
{
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    ck_assert_int_eq (system (command), 0);
}

//  A sample file, read the plain way.
static sf_candles_t *
s_whole (const char *dir, const char *name)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s.csv", dir, name);
    sf_error_t error;
    sf_candles_t *candles = sf_candles_load_csv (path, &error);
    ck_assert_msg (candles, "%s", error.message);
    return candles;
}

//  Copy the sample file name.csv into the scratch directory as copy.csv.
static void
s_copy (const char *name, const char *copy)
{
    char command [1400];
    snprintf (command, sizeof command, "cp %s/%s.csv %s/%s.csv", s_data, name, s_dir, copy);
    ck_assert_int_eq (system (command), 0);
}

//  Fetch request through cache from source; fail the test if it fails.
static sf_candles_t *
s_fetch (sf_cache_t *cache, sf_source_t *source, const sf_request_t *request)
{
    sf_candles_t *candles;
    sf_error_t error;
    ck_assert_msg (sf_cache_fetch (cache, source, request, &candles, &error) == 0, "%s",
                   error.message);
    return candles;
}

START_TEST (test_windows_from_memory)
{
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_csv_new (s_data);
    source = sf_cache_add (cache, &source);
    ck_assert_ptr_nonnull (source);
    sf_candles_t *whole = s_whole (s_data, "SYNTH_1m");
    static sf_request_t requests [512];
    size_t count = window_requests (whole, "SYNTH", "1m", requests, 512);
    for (size_t i = 0; i < count; i++) {
        sf_candles_t *candles = s_fetch (cache, source, &requests [i]);
        sf_candles_t *expected = window_cut (whole, &requests [i]);
        ck_assert_msg (window_same (candles, expected), "request %zu", i);
        sf_candles_destroy (&expected);
        sf_candles_destroy (&candles);
    }
    //  One read; every other window was served after a look at the stamp
    //  (the sample file is older than a racy stamp)
    sf_cache_stats_t stats;
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.loads, 1);
    ck_assert_uint_eq (stats.hits, count - 1);
    ck_assert_uint_eq (stats.rows, whole->size);
    ck_assert_uint_eq (stats.entries, 1);
    ck_assert_uint_le (stats.bytes, stats.max_bytes);
    ck_assert_uint_ge (stats.bytes, whole->size * 48);

    //  A failure is no entry
    sf_request_t missing = sf_request_all ("NOPE", "1m");
    sf_candles_t *candles;
    sf_error_t error;
    ck_assert_int_eq (sf_cache_fetch (cache, source, &missing, &candles, &error), -1);
    ck_assert_str_eq (error.code, "DATA_FETCH");
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.entries, 1);
    sf_candles_destroy (&whole);
    sf_cache_destroy (&cache);
}
END_TEST

//  Write a series of size candles whose closes all equal close to path
//  (in place, or through a rename when renamed).
static void
s_write_series (const char *path, size_t size, double close, bool renamed)
{
    char temporary [700];
    snprintf (temporary, sizeof temporary, "%s.tmp", path);
    FILE *file = fopen (renamed? temporary: path, "w");
    ck_assert_ptr_nonnull (file);
    fprintf (file, "ts,open,high,low,close,volume\n");
    for (size_t i = 0; i < size; i++)
        fprintf (file, "%zu,1,2,0.5,%.1f,10\n", 1000 + i * 60000, close);
    fclose (file);
    if (renamed)
        ck_assert_int_eq (rename (temporary, path), 0);
}

//  The last close of symbol S through cache.
static double
s_last_close (sf_cache_t *cache, sf_source_t *source, size_t *size)
{
    sf_request_t request = sf_request_all ("S", "1m");
    request.limit = 1;
    sf_candles_t *candles = s_fetch (cache, source, &request);
    ck_assert_uint_eq (candles->size, 1);
    double close = candles->close [0];
    sf_candles_destroy (&candles);
    request.limit = 0;
    candles = s_fetch (cache, source, &request);
    *size = candles->size;
    sf_candles_destroy (&candles);
    return close;
}

START_TEST (test_rewritten_file_is_read_again)
{
    char path [600];
    snprintf (path, sizeof path, "%s/S_1m.csv", s_dir);
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_csv_new (s_dir);
    source = sf_cache_add (cache, &source);
    size_t size;

    //  Rewritten at once, in place, same size: the file's times are too
    //  fresh to vouch for it, so it is read again
    s_write_series (path, 100, 1.5, false);
    ck_assert (s_last_close (cache, source, &size) == 1.5);
    s_write_series (path, 100, 2.5, false);
    ck_assert (s_last_close (cache, source, &size) == 2.5);
    //  Grown
    s_write_series (path, 120, 2.5, false);
    ck_assert (s_last_close (cache, source, &size) == 2.5);
    ck_assert_uint_eq (size, 120);

    //  Once the stamp read is old enough to be trusted, an unchanged file
    //  is not read again, and a rewrite of the same size is
    sleep (SF_STAMP_RACY_NS / 1000000000 + 1);
    s_last_close (cache, source, &size);        //  Read, now with a trusted stamp
    sf_cache_stats_t before, after;
    sf_cache_stats (cache, &before);
    ck_assert (s_last_close (cache, source, &size) == 2.5);
    sf_cache_stats (cache, &after);
    ck_assert_uint_eq (after.loads, before.loads);
    ck_assert_uint_eq (after.hits, before.hits + 2);
    s_write_series (path, 120, 3.5, false);
    ck_assert (s_last_close (cache, source, &size) == 3.5);
    sf_cache_stats (cache, &after);
    ck_assert_uint_gt (after.loads, before.loads);

    //  Renamed into place
    sleep (SF_STAMP_RACY_NS / 1000000000 + 1);
    s_last_close (cache, source, &size);
    s_write_series (path, 120, 4.5, true);
    ck_assert (s_last_close (cache, source, &size) == 4.5);

    //  Removed: the job fails, nothing stale is served
    ck_assert_int_eq (unlink (path), 0);
    sf_request_t request = sf_request_all ("S", "1m");
    sf_candles_t *candles;
    sf_error_t error;
    ck_assert_int_eq (sf_cache_fetch (cache, source, &request, &candles, &error), -1);
    ck_assert_str_eq (error.code, "DATA_FETCH");
    sf_cache_destroy (&cache);
}
END_TEST

START_TEST (test_bound_is_kept)
{
    //  SYNTH is 5,000 candles, 240,000 bytes of columns: the bound holds two
    static const char *names [] = { "A_1m", "B_1m", "C_1m", "D_1m", "E_1m" };
    for (size_t i = 0; i < 5; i++)
        s_copy ("SYNTH_1m", names [i]);
    //  Old enough that their stamps are trusted: a file held is not read again
    sleep (SF_STAMP_RACY_NS / 1000000000 + 1);
    sf_candles_t *whole = s_whole (s_data, "SYNTH_1m");
    size_t bound = 600000;
    sf_cache_t *cache = sf_cache_new (bound);
    sf_source_t *source = sf_source_csv_new (s_dir);
    source = sf_cache_add (cache, &source);
    sf_cache_stats_t stats;
    for (size_t round = 0; round < 3; round++)
        for (size_t i = 0; i < 5; i++) {
            char symbol [8];
            snprintf (symbol, sizeof symbol, "%c", 'A' + (int) i);
            sf_request_t request = sf_request_all (symbol, "1m");
            request.limit = 100;
            sf_candles_t *candles = s_fetch (cache, source, &request);
            sf_candles_t *expected = window_cut (whole, &request);
            ck_assert (window_same (candles, expected));
            sf_candles_destroy (&expected);
            sf_candles_destroy (&candles);
            sf_cache_stats (cache, &stats);
            ck_assert_msg (stats.bytes <= bound, "%zu bytes held, bound %zu", stats.bytes, bound);
            ck_assert_uint_le (stats.entries, 2);
        }
    //  Round robin over five with room for two: every fetch read its file
    ck_assert_uint_eq (stats.loads, 15);
    ck_assert_uint_ge (stats.evictions, 13);

    //  The least recently used goes first: D and E are held, E used last;
    //  using D then reading A evicts E
    sf_request_t d = sf_request_all ("D", "1m"), e = sf_request_all ("E", "1m"),
                 a = sf_request_all ("A", "1m");
    sf_candles_t *candles = s_fetch (cache, source, &d);
    sf_candles_destroy (&candles);
    candles = s_fetch (cache, source, &a);
    sf_candles_destroy (&candles);
    sf_cache_stats_t before;
    sf_cache_stats (cache, &before);
    candles = s_fetch (cache, source, &d);
    sf_candles_destroy (&candles);
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.loads, before.loads);      //  D still held
    candles = s_fetch (cache, source, &e);
    sf_candles_destroy (&candles);
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.loads, before.loads + 1);  //  E was not
    sf_cache_destroy (&cache);

    //  A series larger than the whole bound is not kept: its windows come
    //  from the source, right, and the bound holds
    cache = sf_cache_new (100000);
    source = sf_source_csv_new (s_dir);
    source = sf_cache_add (cache, &source);
    for (size_t i = 0; i < 3; i++) {
        candles = s_fetch (cache, source, &a);
        ck_assert (window_same (candles, whole));
        sf_candles_destroy (&candles);
        sf_cache_stats (cache, &stats);
        ck_assert_uint_le (stats.bytes, 100000);
    }
    ck_assert_uint_eq (stats.loads, 1);
    ck_assert_uint_eq (stats.direct, 2);
    sf_cache_destroy (&cache);

    //  A bound of 0 keeps nothing: every request goes to the source
    cache = sf_cache_new (0);
    source = sf_source_csv_new (s_dir);
    source = sf_cache_add (cache, &source);
    a.limit = 10;
    for (size_t i = 0; i < 3; i++) {
        candles = s_fetch (cache, source, &a);
        sf_candles_t *expected = window_cut (whole, &a);
        ck_assert (window_same (candles, expected));
        sf_candles_destroy (&expected);
        sf_candles_destroy (&candles);
    }
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.direct, 3);
    ck_assert_uint_eq (stats.bytes, 0);
    ck_assert_uint_eq (stats.entries, 0);
    sf_cache_destroy (&cache);
    sf_candles_destroy (&whole);
}
END_TEST

//  A job on a thread: fetch request through cache.
typedef struct {
    sf_cache_t *cache;          //  The cache
    sf_source_t *source;        //  Its source
    sf_request_t request;       //  What to fetch
    sf_candles_t *candles;      //  What came, or NULL
    size_t rounds;              //  Fetches to make (s_hammer)
    const sf_candles_t *whole;  //  What every symbol holds (s_hammer)
    size_t wrong;               //  Fetches that got other candles (s_hammer)
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

//  Wait (up to 10 s) until cache has waiting jobs waiting.
static void
s_await_waiting (sf_cache_t *cache, size_t waiting)
{
    sf_cache_stats_t stats;
    for (int i = 0; i < 1000; i++) {
        sf_cache_stats (cache, &stats);
        if (stats.waiting == waiting)
            return;
        usleep (10000);
    }
    ck_abort_msg ("%zu jobs waiting, not %zu", stats.waiting, waiting);
}

START_TEST (test_cold_symbol_read_once)
{
    //  The file is a pipe: the first job's read blocks until the test
    //  writes it, so the second job surely comes while the read runs
    char path [600];
    snprintf (path, sizeof path, "%s/P_1m.csv", s_dir);
    ck_assert_int_eq (mkfifo (path, 0600), 0);
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_csv_new (s_dir);
    source = sf_cache_add (cache, &source);
    s_job_t first = { .cache = cache, .source = source, .request = sf_request_all ("P", "1m") };
    s_job_t second = first;
    second.request.limit = 2;
    pthread_t threads [2];
    pthread_create (&threads [0], NULL, s_job, &first);
    //  The first read has begun when the pipe has a reader
    int fd = -1;
    for (int i = 0; i < 1000 && fd < 0; i++) {
        fd = open (path, O_WRONLY | O_NONBLOCK);
        if (fd < 0)
            usleep (10000);
    }
    ck_assert_int_ge (fd, 0);
    pthread_create (&threads [1], NULL, s_job, &second);
    s_await_waiting (cache, 1);
    const char *text = "ts,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n"
                       "2000,1,2,0.5,1.6,10\n3000,1,2,0.5,1.7,10\n";
    ck_assert_int_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    pthread_join (threads [0], NULL);
    pthread_join (threads [1], NULL);
    ck_assert_ptr_nonnull (first.candles);
    ck_assert_ptr_nonnull (second.candles);
    ck_assert_uint_eq (first.candles->size, 3);
    ck_assert_uint_eq (second.candles->size, 2);
    ck_assert (second.candles->close [1] == 1.7);
    sf_cache_stats_t stats;
    sf_cache_stats (cache, &stats);
    ck_assert_uint_eq (stats.loads, 1);
    ck_assert_uint_eq (stats.joins, 1);
    ck_assert_uint_eq (stats.waiting, 0);
    sf_candles_destroy (&first.candles);
    sf_candles_destroy (&second.candles);
    sf_cache_destroy (&cache);
}
END_TEST

//  Fetch rounds windows of random symbols A..E, checking each.
static void *
s_hammer (void *arg)
{
    s_job_t *job = (s_job_t *) arg;
    unsigned seed = (unsigned) (uintptr_t) job;
    for (size_t i = 0; i < job->rounds; i++) {
        char symbol [2] = { (char) ('A' + rand_r (&seed) % 5), 0 };
        sf_request_t request = sf_request_all (symbol, "1m");
        size_t at = (size_t) rand_r (&seed) % job->whole->size;
        request.from_ms = job->whole->ts [at];
        request.limit = (size_t) rand_r (&seed) % 300;
        sf_candles_t *candles;
        sf_error_t error;
        if (sf_cache_fetch (job->cache, job->source, &request, &candles, &error)) {
            job->wrong++;
            continue;
        }
        sf_candles_t *expected = window_cut (job->whole, &request);
        job->wrong += !window_same (candles, expected);
        sf_candles_destroy (&expected);
        sf_candles_destroy (&candles);
    }
    return NULL;
}

START_TEST (test_threads_share_a_small_cache)
{
    static const char *names [] = { "A_1m", "B_1m", "C_1m", "D_1m", "E_1m" };
    for (size_t i = 0; i < 5; i++)
        s_copy ("SYNTH_1m", names [i]);
    sf_candles_t *whole = s_whole (s_data, "SYNTH_1m");
    sf_cache_t *cache = sf_cache_new (700000);
    sf_source_t *source = sf_source_csv_new (s_dir);
    source = sf_cache_add (cache, &source);
    s_job_t jobs [4];
    pthread_t threads [4];
    for (size_t i = 0; i < 4; i++) {
        jobs [i] = (s_job_t) { .cache = cache, .source = source, .rounds = 300, .whole = whole };
        pthread_create (&threads [i], NULL, s_hammer, &jobs [i]);
    }
    for (size_t i = 0; i < 4; i++) {
        pthread_join (threads [i], NULL);
        ck_assert_uint_eq (jobs [i].wrong, 0);
    }
    sf_cache_stats_t stats;
    sf_cache_stats (cache, &stats);
    ck_assert_uint_le (stats.bytes, 700000);
    ck_assert_uint_eq (stats.hits + stats.joins + stats.loads, 1200);
    ck_assert_uint_eq (stats.waiting, 0);
    sf_candles_destroy (&whole);
    sf_cache_destroy (&cache);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_cache");
    TCase *tc = tcase_create ("csv");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_windows_from_memory);
    tcase_add_test (tc, test_rewritten_file_is_read_again);
    tcase_add_test (tc, test_bound_is_kept);
    tcase_add_test (tc, test_cold_symbol_read_once);
    tcase_add_test (tc, test_threads_share_a_small_cache);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
