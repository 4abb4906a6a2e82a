/*  =========================================================================
    check_fleet_store - a real broker whose journal cannot grow (a file
    size limit set on the running process, the way a full disk stops it):
    it goes degraded, `sheaf status` and its JSON say so and why, submits
    are refused (STORE for the pass that failed, then BUSY naming the
    error), no result reaches a client meanwhile; when the limit is lifted
    it recovers by itself, every acknowledged job ends ok with its result
    pushed once, and after a crash and restart none of them runs again
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "fleet.h"
#include "sheaf.h"

static char s_store [160];      //  journal:DIR of this test's broker
static char s_out [1 << 16];    //  What the CLI printed

//  Start the broker on a journal in the fleet's directory, in place of
//  the fixture's.
static void
s_journal_broker (void)
{
    fleet_signal (fleet, fleet->broker, SIGTERM);
    snprintf (s_store, sizeof s_store, "journal:%s/journal", fleet->dir);
    char *argv [] = { "--store", s_store, NULL };
    fleet_broker (fleet, argv);
}

//  The journal file's size now.
static off_t
s_journal_size (void)
{
    char path [256];
    snprintf (path, sizeof path, "%s/journal/journal", fleet->dir);
    struct stat info;
    ck_assert_int_eq (stat (path, &info), 0);
    return info.st_size;
}

//  The broker's status as JSON (the caller destroys it).
static json_t *
s_status (sf_client_t *client)
{
    sf_error_t error;
    char *text = sf_client_status (client, &error);
    ck_assert_msg (text, "status failed: %s", error.message);
    json_t *status = json_loads (text, 0, NULL);
    free (text);
    ck_assert_ptr_nonnull (status);
    return status;
}

static bool
s_degraded (sf_client_t *client)
{
    json_t *status = s_status (client);
    bool degraded = json_is_true (json_object_get (status, "degraded"));
    json_decref (status);
    return degraded;
}

//  Take the results pushed into pushed, waiting up to timeout_ms for each,
//  until pushed holds until of them or none comes in time; fails on a
//  second result for the same job. Returns how many came.
static int
s_take_pushed (sf_client_t *client, zhashx_t *pushed, int timeout_ms, size_t until)
{
    int count = 0;
    sf_error_t error;
    sf_result_t *result;
    while (zhashx_size (pushed) < until
       &&  (result = sf_client_wait (client, timeout_ms, &error))) {
        ck_assert_msg (zhashx_insert (pushed, sf_result_id (result), (void *) 1) == 0,
                       "result of %s pushed twice", sf_result_id (result));
        ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
        sf_result_destroy (&result);
        count++;
    }
    return count;
}

#define S_BATCH 20

START_TEST (test_journal_that_cannot_grow)
{
    //  A write past the limit fails with EFBIG instead of killing the
    //  writer; the broker inherits this when it is started
    signal (SIGXFSZ, SIG_IGN);
    s_journal_broker ();
    fleet_worker (fleet, "w", 2, 8, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_client_set_busy_wait (client, 0);
    zhashx_t *acked = zhashx_new ();
    zhashx_set_duplicator (acked, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (acked, (zhashx_destructor_fn *) zstr_free);
    zhashx_t *pushed = zhashx_new ();
    sf_job_t *jobs [S_BATCH];
    for (int i = 0; i < S_BATCH; i++) {
        jobs [i] = sf_job_new ("echo");
        sf_job_set_param (jobs [i], "pad", "\"0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789\"");
    }
    char ids [S_BATCH] [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert_msg (sf_client_submit_many (client, jobs, S_BATCH, ids, &error) == 0, "%s",
                   error.message);
    for (int i = 0; i < S_BATCH; i++)
        zhashx_insert (acked, ids [i], ids [i]);
    ck_assert_int_eq (s_take_pushed (client, pushed, 5000, S_BATCH), S_BATCH);

    //  The journal may grow 8 KiB more, then no more
    pid_t broker = fleet->broker;
    struct rlimit old, limit;
    ck_assert_int_eq (prlimit (broker, RLIMIT_FSIZE, NULL, &old), 0);
    limit.rlim_cur = (rlim_t) s_journal_size () + 8192;
    limit.rlim_max = old.rlim_max;
    ck_assert_int_eq (prlimit (broker, RLIMIT_FSIZE, &limit, NULL), 0);
    const char *refusal = NULL;
    for (int round = 0; round < 200 && !refusal; round++) {
        if (sf_client_submit_many (client, jobs, S_BATCH, ids, &error) == 0)
            for (int i = 0; i < S_BATCH; i++)
                zhashx_insert (acked, ids [i], ids [i]);
        else
            refusal = streq (error.code, "STORE") || streq (error.code, "BUSY")? error.code: "";
    }
    ck_assert_msg (refusal && *refusal, "no submit was refused for the store (%s: %s)",
                   error.code, error.message);
    ck_assert_msg (strstr (error.message, "File too large"), "%s", error.message);
    //  Degraded now: submits get BUSY naming the store's error
    ck_assert (sf_client_submit_many (client, jobs, 1, ids, &error) == -1);
    ck_assert_str_eq (error.code, "BUSY");
    ck_assert_msg (strstr (error.message, "store") && strstr (error.message, "File too large"),
                   "%s", error.message);

    //  What STATUS says, as JSON and as text
    json_t *status = s_status (client);
    ck_assert (json_is_true (json_object_get (status, "degraded")));
    ck_assert_msg (strstr (json_string_value (json_object_get (status, "store_error")),
                           "File too large"), "%s",
                   json_string_value (json_object_get (status, "store_error")));
    ck_assert_int_ge (json_integer_value (json_object_get (json_object_get (status, "counters"),
                                                           "commit_failures")), 1);
    json_decref (status);
    char *json_argv [] = { "sheaf", "--broker", fleet->frontend, "--json", "status", NULL };
    ck_assert_int_eq (fleet_run (fleet, json_argv, s_out, sizeof s_out, 10000), 0);
    ck_assert_msg (strstr (s_out, "\"degraded\":true"), "%s", s_out);
    char *text_argv [] = { "sheaf", "--broker", fleet->frontend, "status", NULL };
    ck_assert_int_eq (fleet_run (fleet, text_argv, s_out, sizeof s_out, 10000), 0);
    ck_assert_msg (strstr (s_out, "DEGRADED") && strstr (s_out, "File too large"), "%s", s_out);

    //  Whatever was pushed before the status said degraded has arrived
    //  (one connection keeps its order); nothing comes while it lasts
    s_take_pushed (client, pushed, 0, SIZE_MAX);
    zclock_sleep (500);
    ck_assert (s_degraded (client));
    ck_assert_int_eq (s_take_pushed (client, pushed, 0, SIZE_MAX), 0);

    //  The limit is lifted: the broker's retry commits, and it recovers
    ck_assert_int_eq (prlimit (broker, RLIMIT_FSIZE, &old, NULL), 0);
    bool degraded = true;
    for (int i = 0; i < 200 && degraded; i++) {
        degraded = s_degraded (client);
        if (degraded)
            zclock_sleep (50);
    }
    ck_assert_msg (!degraded, "the broker stayed degraded");
    char log [256];
    snprintf (log, sizeof log, "%s/broker.log", fleet->dir);
    FILE *file = fopen (log, "r");
    ck_assert_ptr_nonnull (file);
    char line [2048];
    int entered = 0, left = 0;
    while (fgets (line, sizeof line, file)) {
        entered += strstr (line, "broker: degraded:") != NULL;
        left += strstr (line, "broker: no longer degraded") != NULL;
    }
    fclose (file);
    ck_assert_int_eq (entered, 1);
    ck_assert_int_eq (left, 1);

    //  Every acknowledged job ends ok; each result pushed once
    size_t total = zhashx_size (acked);
    s_take_pushed (client, pushed, 10000, total);
    ck_assert_msg (zhashx_size (pushed) == total, "%zu of %zu results pushed",
                   zhashx_size (pushed), total);
    ck_assert_int_eq (s_take_pushed (client, pushed, 300, SIZE_MAX), 0);
    for (const char *id = (const char *) zhashx_first (acked); id;
         id = (const char *) zhashx_next (acked))
        ck_assert_msg (zhashx_lookup (pushed, id), "no result for %s", id);

    //  A crash now: nothing that was delivered runs again
    fleet_signal (fleet, fleet->broker, SIGKILL);
    char *argv [] = { "--store", s_store, NULL };
    fleet_broker (fleet, argv);
    sf_client_t *after = sf_client_new (fleet->frontend);
    status = s_status (after);
    json_t *counts = json_object_get (status, "jobs");
    ck_assert_int_eq (json_integer_value (json_object_get (counts, "queued")), 0);
    ck_assert_int_eq (json_integer_value (json_object_get (counts, "running")), 0);
    ck_assert_int_eq (json_integer_value (json_object_get (counts, "finished_kept")),
                      (long long) total);
    json_decref (status);
    for (const char *id = (const char *) zhashx_first (acked); id;
         id = (const char *) zhashx_next (acked)) {
        sf_result_t *result = sf_client_fetch (after, id, false, 0, NULL, &error);
        ck_assert_msg (result, "%s: %s", id, error.message);
        ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
        sf_result_destroy (&result);
    }
    sf_client_destroy (&after);
    for (int i = 0; i < S_BATCH; i++)
        sf_job_destroy (&jobs [i]);
    zhashx_destroy (&pushed);
    zhashx_destroy (&acked);
    sf_client_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_store");
    TCase *tcase = tcase_create ("store");
    tcase_set_timeout (tcase, 120);
    tcase_add_checked_fixture (tcase, fleet_setup, fleet_teardown);
    tcase_add_test (tcase, test_journal_that_cannot_grow);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
