/*  =========================================================================
    check_fleet_journal - the journal store through broker crashes: every
    acknowledged job ends in one final status, results, cancels, dead
    letters, idempotency keys and analyzer states survive a SIGKILL, groups
    do too (running ones complete, answered ones keep their answer, keys
    still deduplicate, a chord still runs, a compaction keeps them), a chain
    goes on after one, a damaged journal keeps what came before the
    damage, and a second broker on the same journal exits at start with
    code 6
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include "fleet.h"
#include "sf_mp.h"
#include "sf_store.h"
#include "sheaf.h"

static char s_store [128];      //  journal:DIR for this test's broker

//  Replace the fixture's memory broker by one on the journal in the
//  fleet's directory, with options (",compact=BYTES") or "" (extra flags
//  may follow).
static void
s_journal_broker_with (const char *options, char *const extra [])
{
    fleet_signal (fleet, fleet->broker, SIGTERM);
    snprintf (s_store, sizeof s_store, "journal:%s/journal%s", fleet->dir, options);
    char *argv [16] = { "--store", s_store };
    int count = 2;
    for (int i = 0; extra && extra [i]; i++)
        argv [count++] = extra [i];
    argv [count] = NULL;
    fleet_broker (fleet, argv);
}

static void
s_journal_broker (char *const extra [])
{
    s_journal_broker_with ("", extra);
}

//  SIGKILL the broker and start it again on the same journal.
static void
s_crash_and_restart (void)
{
    fleet_signal (fleet, fleet->broker, SIGKILL);
    char *argv [] = { "--store", s_store, NULL };
    fleet_broker (fleet, argv);
}

//  The final status of job id, waiting for it.
static sf_status_t
s_final (sf_client_t *client, const char *id, int timeout_ms)
{
    sf_error_t error;
    sf_result_t *result = sf_client_fetch (client, id, true, timeout_ms, NULL, &error);
    ck_assert_msg (result, "job %s: %s", id, error.message);
    sf_status_t status = sf_result_status (result);
    sf_result_destroy (&result);
    return status;
}

#define S_JOBS 2000

START_TEST (test_broker_killed_mid_run)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w1", 2, 16, (char *[]) { "--enable-test-analyzers", NULL });
    fleet_worker (fleet, "w2", 2, 16, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 2, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    static char ids [S_JOBS][SF_ID_STRLEN + 1];
    sf_job_t *jobs [100];
    for (int i = 0; i < 100; i++) {
        jobs [i] = sf_job_new ("sleep");
        sf_job_set_param (jobs [i], "ms", "2");
    }
    //  Acknowledged in batches of 100 while the workers run them
    sf_error_t error;
    for (int batch = 0; batch < S_JOBS / 100; batch++)
        ck_assert_msg (sf_client_submit_many (client, jobs, 100, ids + batch * 100, &error) == 0,
                       "%s", error.message);
    for (int i = 0; i < 100; i++)
        sf_job_destroy (&jobs [i]);
    //  Some results have come, most have not
    zhashx_t *seen = zhashx_new ();
    for (int i = 0; i < 50; i++) {
        sf_result_t *result = sf_client_wait (client, 5000, &error);
        ck_assert_msg (result, "%s", error.message);
        ck_assert (zhashx_insert (seen, sf_result_id (result), (void *) 1) == 0);
        sf_result_destroy (&result);
    }
    s_crash_and_restart ();
    ck_assert (fleet_await_workers (fleet, 2, 10000));
    //  Every acknowledged job ends ok, once
    size_t finished = 0;
    for (int i = 0; i < S_JOBS; i++) {
        ck_assert_int_eq (s_final (client, ids [i], 20000), SF_STATUS_OK);
        finished++;
    }
    ck_assert_int_eq (finished, S_JOBS);
    //  Results pushed before the crash were each pushed once
    sf_result_t *result;
    while ((result = sf_client_wait (client, 200, &error))) {
        ck_assert_msg (zhashx_insert (seen, sf_result_id (result), (void *) 1) == 0,
                       "result of %s pushed twice", sf_result_id (result));
        sf_result_destroy (&result);
    }
    zhashx_destroy (&seen);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_cancel_dead_key_survive)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 1, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char queued [SF_ID_STRLEN + 1], dead [SF_ID_STRLEN + 1], keyed [SF_ID_STRLEN + 1],
         again [SF_ID_STRLEN + 1], waiting [SF_ID_STRLEN + 1];
    //  An analyzer nobody serves: the job waits; then it is cancelled
    fleet_submit_json (client, "{\"analyzer\":\"nobody-serves-this\"}", queued);
    sf_error_t error;
    ck_assert_int_eq (sf_client_cancel (client, queued, &error), 0);
    fleet_submit_json (client, "{\"analyzer\":\"fail\",\"params\":{\"code\":\"TRANSIENT\"},"
                      "\"retries\":1,\"backoff_ms\":10}", dead);
    ck_assert_int_eq (s_final (client, dead, 5000), SF_STATUS_DEAD);
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"key\":\"daily:2026-11-26\"}", keyed);
    ck_assert_int_eq (s_final (client, keyed, 5000), SF_STATUS_OK);
    fleet_submit_json (client, "{\"analyzer\":\"nobody-serves-this\",\"params\":{\"n\":2}}", waiting);

    s_crash_and_restart ();
    ck_assert_int_eq (s_final (client, queued, 2000), SF_STATUS_CANCELLED);
    ck_assert_int_eq (s_final (client, keyed, 2000), SF_STATUS_OK);
    //  The key is remembered: the same submit gets the same id
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"key\":\"daily:2026-11-26\"}", again);
    ck_assert_str_eq (again, keyed);
    //  The dead letter is there, with its history
    char *text = sf_client_dead (client, "show", dead, &error);
    ck_assert_msg (text, "%s", error.message);
    json_t *shown = json_loads (text, 0, NULL);
    free (text);
    ck_assert_int_eq (json_array_size (json_object_get (json_array_get (shown, 0), "history")), 2);
    json_decref (shown);
    //  The unfinished job is queued again
    char state [16];
    ck_assert_ptr_null (sf_client_fetch (client, waiting, false, 0, state, &error));
    ck_assert_str_eq (state, "queued");
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_chain_survives_a_crash)
{
    //  echo, then a slow sleep, then echo: the broker is killed as soon as
    //  the first job's result is in, so the follow-up (accepted in the
    //  same commit as that result) is queued or running. After the restart
    //  the chain runs to its end, each job on its predecessor's result.
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 1, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char first [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"n\":1},"
                               "\"then\":{\"analyzer\":\"sleep\",\"params\":{\"ms\":1500},"
                               "\"then\":{\"analyzer\":\"echo\",\"params\":{\"n\":3}}}}",
                       first);
    sf_error_t error;
    sf_result_t *result = sf_client_wait (client, 5000, &error);
    ck_assert_msg (result, "%s", error.message);
    ck_assert_str_eq (sf_result_id (result), first);
    ck_assert_ptr_nonnull (sf_result_then_id (result));
    char second [SF_ID_STRLEN + 1];
    snprintf (second, sizeof second, "%s", sf_result_then_id (result));
    sf_result_destroy (&result);
    s_crash_and_restart ();

    //  The follow-up survived and ends ok, naming the last job
    result = sf_client_fetch (client, second, true, 20000, NULL, &error);
    ck_assert_msg (result, "follow-up %s: %s", second, error.message);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    ck_assert_str_eq (sf_result_analyzer (result), "sleep");
    ck_assert_ptr_nonnull (sf_result_then_id (result));
    char third [SF_ID_STRLEN + 1];
    snprintf (third, sizeof third, "%s", sf_result_then_id (result));
    sf_result_destroy (&result);
    result = sf_client_fetch (client, third, true, 10000, NULL, &error);
    ck_assert_msg (result, "last job %s: %s", third, error.message);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    char *text = sf_result_value_json (result);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    json_t *previous = json_object_get (value, "previous");
    ck_assert_int_eq (json_integer_value (json_object_get (value, "n")), 3);
    ck_assert_str_eq (json_string_value (json_object_get (previous, "id")), second);
    ck_assert_int_eq (json_integer_value (json_object_get (json_object_get (previous, "result"),
                                                           "slept_ms")), 1500);
    json_decref (value);
    sf_result_destroy (&result);
    ck_assert_int_eq (s_final (client, first, 2000), SF_STATUS_OK);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_state_key_survives)
{
    s_journal_broker (NULL);
    char data_dir [512];
    const char *src = getenv ("SHEAF_SRC");
    snprintf (data_dir, sizeof data_dir, "%s/data", src? src: ".");
    fleet_worker (fleet, "w", 1, 4, (char *[]) { "--data-dir", data_dir, NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *json = "{\"analyzer\":\"sma\",\"symbol\":\"GOOG\",\"timeframe\":\"1d\","
                       "\"params\":{\"period\":20},\"state_key\":\"goog-sma20\"}";
    char first [SF_ID_STRLEN + 1], second [SF_ID_STRLEN + 1];
    fleet_submit_json (client, json, first);
    sf_error_t error;
    sf_result_t *result = sf_client_wait (client, 5000, &error);
    ck_assert_msg (result, "%s", error.message);
    char *value = sf_result_value_json (result);
    json_t *series = json_loads (value, 0, NULL);
    free (value);
    ck_assert_int_eq (json_array_size (json_object_get (series, "sma")), 1047);
    json_decref (series);
    sf_result_destroy (&result);

    //  After a crash the state is still the broker's: the next job goes on
    //  from the last candle, and there is nothing new to compute
    s_crash_and_restart ();
    ck_assert (fleet_await_workers (fleet, 1, 10000));
    fleet_submit_json (client, json, second);
    result = sf_client_fetch (client, second, true, 5000, NULL, &error);
    ck_assert_msg (result, "%s", error.message);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    value = sf_result_value_json (result);
    series = json_loads (value, 0, NULL);
    free (value);
    ck_assert_int_eq (json_array_size (json_object_get (series, "sma")), 0);
    json_decref (series);
    sf_result_destroy (&result);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_damaged_tail_keeps_the_rest)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 1, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":7}}", id);
    ck_assert_int_eq (s_final (client, id, 5000), SF_STATUS_OK);
    fleet_signal (fleet, fleet->broker, SIGKILL);
    //  Garbage after the last record, as a torn write would leave
    char path [256];
    snprintf (path, sizeof path, "%s/journal/journal", fleet->dir);
    FILE *file = fopen (path, "ab");
    ck_assert_ptr_nonnull (file);
    fwrite ("\x20\x00\x00\x00garbage-not-a-record", 1, 24, file);
    fclose (file);
    char *argv [] = { "--store", s_store, NULL };
    fleet_broker (fleet, argv);
    ck_assert_int_eq (s_final (client, id, 3000), SF_STATUS_OK);
    //  And it goes on: a new job is taken and finished
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":8}}", id);
    ck_assert_int_eq (s_final (client, id, 10000), SF_STATUS_OK);
    sf_client_destroy (&client);
}
END_TEST

//  Start a second broker on other ports and the same journal; returns its
//  exit code, and its log in log.
static int
s_second_broker (char *log, size_t log_size)
{
    char frontend [64], backend [64];
    snprintf (frontend, sizeof frontend, "tcp://127.0.0.1:%d", fleet_free_port ());
    snprintf (backend, sizeof backend, "tcp://127.0.0.1:%d", fleet_free_port ());
    char *argv [] = { "sheaf-broker", "--frontend", frontend, "--backend", backend,
                      "--store", s_store, NULL };
    pid_t pid = fleet_spawn (fleet, "second", argv);
    int status = fleet_wait (fleet, pid, 10000);
    ck_assert_msg (status != -1, "the second broker is still running");
    char path [256];
    snprintf (path, sizeof path, "%s/second.log", fleet->dir);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    size_t got = fread (log, 1, log_size - 1, file);
    log [got] = 0;
    fclose (file);
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

START_TEST (test_second_broker_is_refused)
{
    s_journal_broker (NULL);
    sf_client_t *client = sf_client_new (fleet->frontend);
    ck_assert_int_eq (fleet_counter (client, "busy"), 0);       //  The first is up
    char log [8192];
    char directory [128];
    snprintf (directory, sizeof directory, "%s/journal", fleet->dir);
    ck_assert_int_eq (s_second_broker (log, sizeof log), 6);
    ck_assert_msg (strstr (log, directory) && strstr (log, "in use by another process"),
                   "%s", log);
    //  The lock is not a file an operator can delete
    char lock [160];
    snprintf (lock, sizeof lock, "%s/lock", directory);
    ck_assert_int_eq (unlink (lock), 0);
    ck_assert_int_eq (s_second_broker (log, sizeof log), 6);
    //  The first one stops: a broker starts on the journal and serves
    fleet_signal (fleet, fleet->broker, SIGTERM);
    char *argv [] = { "--store", s_store, NULL };
    fleet_broker (fleet, argv);
    ck_assert_int_eq (fleet_counter (client, "busy"), 0);
    sf_client_destroy (&client);
}
END_TEST

//  --------------------------------------------------------------------------
//  Groups

static sf_job_t *
s_job (const char *json)
{
    sf_error_t error;
    sf_job_t *job = sf_job_from_json (json, &error);
    ck_assert_msg (job, "bad job %s: %s", json, error.message);
    return job;
}

//  The integer key of an ok result's value.
static long long
s_value (const sf_result_t *result, const char *key)
{
    char *text = sf_result_value_json (result);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    long long number = json_integer_value (json_object_get (value, key));
    json_decref (value);
    return number;
}

//  Start a group of count sleep jobs (ms: 300 + 10 * index) under opts on
//  client, without waiting for it; its id goes to id.
static void
s_start_sleepers (sf_client_t *client, size_t count, const sf_gather_opts_t *opts,
                  char id [SF_ID_STRLEN + 1])
{
    sf_job_t *jobs [16];
    for (size_t i = 0; i < count; i++) {
        char json [128];
        snprintf (json, sizeof json, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":%zu}}",
                  300 + 10 * i);
        jobs [i] = s_job (json);
    }
    sf_error_t error;
    ck_assert_msg (sf_gather_start (client, jobs, count, opts, NULL, NULL, NULL, id, &error) == 0,
                   "%s", error.message);
    for (size_t i = 0; i < count; i++)
        sf_job_destroy (&jobs [i]);
}

//  Assert that gather holds count ok sleep items in submission order,
//  each its own job.
static void
s_assert_sleepers (const sf_gather_t *gather, size_t count)
{
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (sf_gather_size (gather), count);
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_OK), count);
    for (size_t i = 0; i < count; i++) {
        const sf_result_t *item = sf_gather_item (gather, i);
        ck_assert_ptr_nonnull (item);
        ck_assert_int_eq (sf_result_index (item), (long) i);
        ck_assert_int_eq (sf_result_status (item), SF_STATUS_OK);
        ck_assert_int_eq (s_value (item, "slept_ms"), 300 + 10 * (long long) i);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne (sf_result_id (item), sf_result_id (sf_gather_item (gather, j)));
    }
}

static char s_out [1 << 16];

//  A number of the broker's status "jobs" map.
static long long
s_jobs_value (sf_client_t *client, const char *name)
{
    sf_error_t error;
    char *text = sf_client_status (client, &error);
    ck_assert_msg (text, "status failed: %s", error.message);
    json_t *status = json_loads (text, 0, NULL);
    free (text);
    json_t *value = json_object_get (json_object_get (status, "jobs"), name);
    ck_assert_msg (value, "no jobs.%s in the status", name);
    long long number = json_integer_value (value);
    json_decref (status);
    return number;
}

START_TEST (test_running_group_completes_after_restart)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 2, 2, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    s_start_sleepers (client, 6, NULL, id);
    //  Two run at a time: the first ones are running, none has finished
    zclock_sleep (150);
    s_crash_and_restart ();
    ck_assert (fleet_await_workers (fleet, 1, 10000));

    sf_client_t *other = sf_client_new (fleet->frontend);
    sf_error_t error;
    sf_gather_t *gather = sf_client_fetch_group (other, id, true, 20000, &error);
    ck_assert_msg (gather, "%s (%s)", error.message, error.code);
    ck_assert_str_eq (sf_gather_id (gather), id);
    s_assert_sleepers (gather, 6);
    sf_gather_destroy (&gather);
    //  From the command line: every item once, in order, then the summary
    char *argv [] = { "sheaf", "--broker", fleet->frontend, "result", id, "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, s_out, sizeof s_out, 10000), 0);
    for (int i = 0; i < 6; i++) {
        char index [32];
        snprintf (index, sizeof index, "\"index\":%d", i);
        char *first = strstr (s_out, index);
        ck_assert_msg (first && !strstr (first + 1, index), "%s", s_out);
    }
    ck_assert_msg (strstr (s_out, "\"state\":\"ok\""), "%s", s_out);
    //  Its items are the group's, not kept results of their own as well
    ck_assert_int_eq (s_jobs_value (other, "groups_kept"), 1);
    ck_assert_int_eq (s_jobs_value (other, "groups_running"), 0);
    ck_assert_int_eq (s_jobs_value (other, "finished_kept"), 0);
    sf_client_destroy (&other);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_answered_group_kept_after_restart)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 2, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [3] = { s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":0}}"),
                           s_job ("{\"analyzer\":\"fail\"}"),
                           s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":2}}") };
    sf_error_t error;
    sf_gather_t *before = sf_gather (client, jobs, 3, NULL, 10000, &error);
    ck_assert_msg (before, "%s", error.message);
    for (int i = 0; i < 3; i++)
        sf_job_destroy (&jobs [i]);
    s_crash_and_restart ();

    sf_gather_t *after = sf_client_fetch_group (client, sf_gather_id (before), false, 0, &error);
    ck_assert_msg (after, "%s (%s)", error.message, error.code);
    ck_assert_str_eq (sf_gather_state (after), "ok");
    ck_assert_int_eq (sf_gather_count (after, SF_STATUS_OK), 2);
    ck_assert_int_eq (sf_gather_count (after, SF_STATUS_ERROR), 1);
    for (size_t i = 0; i < 3; i++) {
        const sf_result_t *was = sf_gather_item (before, i), *is = sf_gather_item (after, i);
        ck_assert_str_eq (sf_result_id (is), sf_result_id (was));
        ck_assert_int_eq (sf_result_index (is), (long) i);
        ck_assert_int_eq (sf_result_status (is), sf_result_status (was));
    }
    ck_assert_int_eq (s_value (sf_gather_item (after, 2), "i"), 2);
    ck_assert_str_eq (sf_result_error_code (sf_gather_item (after, 1)), "ANALYSIS");
    sf_gather_destroy (&after);
    sf_gather_destroy (&before);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_group_key_deduplicates_after_restart)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 2, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, NULL, "report:2026-11-26" };
    char id [SF_ID_STRLEN + 1];
    s_start_sleepers (client, 3, &opts, id);
    zclock_sleep (100);
    s_crash_and_restart ();
    ck_assert (fleet_await_workers (fleet, 1, 10000));
    long long submitted = fleet_counter (client, "submitted");

    //  The same key names the same group: its answer, no new jobs
    sf_client_t *other = sf_client_new (fleet->frontend);
    sf_job_t *jobs [1] = { s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":9}}") };
    sf_error_t error;
    sf_gather_t *gather = sf_gather (other, jobs, 1, &opts, 20000, &error);
    ck_assert_msg (gather, "%s", error.message);
    ck_assert_str_eq (sf_gather_id (gather), id);
    s_assert_sleepers (gather, 3);
    ck_assert_int_eq (fleet_counter (other, "submitted"), submitted);
    ck_assert_int_eq (fleet_counter (other, "deduplicated"), 1);
    sf_gather_destroy (&gather);
    sf_job_destroy (&jobs [0]);
    sf_client_destroy (&other);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_chord_runs_after_restart)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 2, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *then = s_job ("{\"analyzer\":\"echo\",\"params\":{\"label\":\"summary\"}}");
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, then, NULL };
    char id [SF_ID_STRLEN + 1];
    s_start_sleepers (client, 3, &opts, id);
    sf_job_destroy (&then);
    zclock_sleep (100);
    s_crash_and_restart ();
    ck_assert (fleet_await_workers (fleet, 1, 10000));

    sf_error_t error;
    sf_gather_t *gather = sf_client_fetch_group (client, id, true, 20000, &error);
    ck_assert_msg (gather, "%s (%s)", error.message, error.code);
    s_assert_sleepers (gather, 3);
    const sf_result_t *chord = sf_gather_then (gather);
    ck_assert_msg (chord, "the chord did not run");
    ck_assert_int_eq (sf_result_status (chord), SF_STATUS_OK);
    char *text = sf_result_value_json (chord);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    ck_assert_str_eq (json_string_value (json_object_get (value, "label")), "summary");
    json_t *results = json_object_get (value, "results");
    ck_assert_int_eq (json_array_size (results), 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq (json_integer_value (json_object_get (json_object_get (
            json_array_get (results, i), "result"), "slept_ms")), 300 + 10 * (long long) i);
    json_decref (value);
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
}
END_TEST

//  Times the broker's log says the journal was compacted.
static int
s_compactions (void)
{
    char path [256];
    snprintf (path, sizeof path, "%s/broker.log", fleet->dir);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    char line [1024];
    int count = 0;
    while (fgets (line, sizeof line, file))
        count += strstr (line, "journal: compacted") != NULL;
    fclose (file);
    return count;
}

START_TEST (test_compaction_keeps_groups)
{
    //  Compact from 64 KiB on (at four times the last compacted size)
    s_journal_broker_with (",compact=65536", NULL);
    fleet_worker (fleet, "w", 2, 16, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    //  An answered group, and a keyed one that cannot finish (nobody serves it)
    sf_job_t *jobs [2] = { s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":0}}"),
                           s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":1}}") };
    sf_error_t error;
    sf_gather_t *answered = sf_gather (client, jobs, 2, NULL, 10000, &error);
    ck_assert_msg (answered, "%s", error.message);
    sf_job_t *waiting [1] = { s_job ("{\"analyzer\":\"nobody-serves-this\"}") };
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, NULL, "never-done" };
    char running [SF_ID_STRLEN + 1];
    ck_assert (sf_gather_start (client, waiting, 1, &opts, NULL, NULL, NULL, running, &error)
               == 0);
    //  Enough plain jobs to compact the journal twice over
    int compactions = s_compactions ();
    sf_job_t *filler [100];
    for (int i = 0; i < 100; i++) {
        filler [i] = sf_job_new ("echo");
        sf_job_set_param (filler [i], "pad", "\"0123456789012345678901234567890123456789\"");
    }
    static char ids [100][SF_ID_STRLEN + 1];
    for (int round = 0; round < 200 && s_compactions () < compactions + 2; round++) {
        ck_assert_msg (sf_client_submit_many (client, filler, 100, ids, &error) == 0, "%s",
                       error.message);
        ck_assert_int_eq (s_final (client, ids [99], 5000), SF_STATUS_OK);
    }
    ck_assert_int_ge (s_compactions (), compactions + 2);
    for (int i = 0; i < 100; i++)
        sf_job_destroy (&filler [i]);
    s_crash_and_restart ();

    //  Both groups came back from the compacted journal
    sf_gather_t *after = sf_client_fetch_group (client, sf_gather_id (answered), false, 0,
                                                &error);
    ck_assert_msg (after, "%s (%s)", error.message, error.code);
    ck_assert_str_eq (sf_gather_state (after), "ok");
    ck_assert_int_eq (s_value (sf_gather_item (after, 1), "i"), 1);
    ck_assert_str_eq (sf_result_id (sf_gather_item (after, 0)),
                      sf_result_id (sf_gather_item (answered, 0)));
    sf_gather_destroy (&after);
    ck_assert (sf_client_fetch_group (client, running, false, 0, &error) == NULL);
    ck_assert_str_eq (error.code, "NOT_FINISHED");
    //  Its key still names it; cancelling it answers
    char again [SF_ID_STRLEN + 1];
    ck_assert (sf_gather_start (client, waiting, 1, &opts, NULL, NULL, NULL, again, &error) == 0);
    ck_assert_str_eq (again, running);
    ck_assert_int_eq (sf_client_cancel (client, running, &error), 0);
    sf_gather_t *cancelled = sf_client_fetch_group (client, running, true, 5000, &error);
    ck_assert_msg (cancelled, "%s", error.message);
    ck_assert_str_eq (sf_gather_state (cancelled), "cancelled");
    sf_gather_destroy (&cancelled);
    sf_gather_destroy (&answered);
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);
    sf_job_destroy (&waiting [0]);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_deadline_passed_while_down)
{
    s_journal_broker (NULL);
    fleet_worker (fleet, "w", 1, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [2] = { s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":0}}"),
                           s_job ("{\"analyzer\":\"nobody-serves-this\"}") };
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 1500, false, NULL, NULL };
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert (sf_gather_start (client, jobs, 2, &opts, NULL, NULL, NULL, id, &error) == 0);
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);
    zclock_sleep (300);                 //  The echo item is done
    fleet_signal (fleet, fleet->broker, SIGKILL);
    zclock_sleep (1600);                //  The deadline passes while the broker is down
    char *argv [] = { "--store", s_store, NULL };
    fleet_broker (fleet, argv);

    sf_client_t *other = sf_client_new (fleet->frontend);
    sf_gather_t *gather = sf_client_fetch_group (other, id, false, 0, &error);
    ck_assert_msg (gather, "%s (%s)", error.message, error.code);
    ck_assert_str_eq (sf_gather_state (gather), "timeout");
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 0)), SF_STATUS_OK);
    ck_assert_int_eq (s_value (sf_gather_item (gather, 0), "i"), 0);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 1)), SF_STATUS_TIMEOUT);
    sf_gather_destroy (&gather);
    sf_client_destroy (&other);
    sf_client_destroy (&client);
}
END_TEST

//  An echo job map {"analyzer":"echo","params":{param: i}} into buffer
//  (initialised here).
static void
s_echo_spec (msgpack_sbuffer *buffer, const char *param, int i)
{
    msgpack_sbuffer_init (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "echo");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_kv_uint (&pk, param, (uint64_t) i);
}

//  The broker died after a group's last item finished and before it
//  answered (the journal is written here as it would have left it): on
//  start the group is decided, its chord runs on the results, and it
//  answers.
START_TEST (test_finished_group_decided_on_start)
{
    fleet_signal (fleet, fleet->broker, SIGTERM);
    snprintf (s_store, sizeof s_store, "journal:%s/journal", fleet->dir);
    sf_error_t error;
    sf_store_t *store = sf_store_new (s_store, &error);
    ck_assert_msg (store, "%s", error.message);
    msgpack_sbuffer specs [3], chord_spec, payloads [3];
    sf_store_job_t items [3];
    uint8_t ids [3 * SF_UUID_SIZE];
    for (int i = 0; i < 3; i++) {
        s_echo_spec (&specs [i], "i", i);
        items [i] = (sf_store_job_t) { .state = SF_STORE_UNFINISHED, .analyzer = "echo",
                                       .spec = specs [i].data, .spec_size = specs [i].size,
                                       .accepted_ms = (int64_t) zclock_time () };
        sf_uuid_v7 (items [i].id);
        memcpy (ids + i * SF_UUID_SIZE, items [i].id, SF_UUID_SIZE);
        ck_assert_int_eq (sf_store_accepted (store, &items [i], &error), 0);
    }
    s_echo_spec (&chord_spec, "chord", 1);
    sf_store_group_t group = {
        .opts = { SF_POLICY_ALL, 0, 0, false, true, "decided-on-start", 16 },
        .total = 3, .items = ids, .then_spec = chord_spec.data, .then_size = chord_spec.size,
        .state = SF_GROUP_RUNNING
    };
    sf_uuid_v7 (group.id);
    ck_assert_int_eq (sf_store_group_accepted (store, &group, &error), 0);
    for (int i = 0; i < 3; i++) {
        msgpack_sbuffer_init (&payloads [i]);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &payloads [i], msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 1);
        sf_mp_pack_kv_uint (&pk, "i", 10 + i);
        items [i].state = SF_STORE_FINISHED;
        items [i].status = SF_STATUS_OK;
        items [i].attempts = 1;
        items [i].spec = NULL;
        items [i].spec_size = 0;
        items [i].payload = payloads [i].data;
        items [i].payload_size = payloads [i].size;
        items [i].finished_ms = (int64_t) zclock_time ();
        ck_assert_int_eq (sf_store_finished (store, &items [i], &error), 0);
    }
    ck_assert_int_eq (sf_store_commit (store, NULL, &error), 0);
    sf_store_destroy (&store);
    char id [SF_ID_STRLEN + 1];
    sf_uuid_str (group.id, id);
    for (int i = 0; i < 3; i++) {
        msgpack_sbuffer_destroy (&specs [i]);
        msgpack_sbuffer_destroy (&payloads [i]);
    }
    msgpack_sbuffer_destroy (&chord_spec);

    char *argv [] = { "--store", s_store, NULL };
    fleet_broker (fleet, argv);
    fleet_worker (fleet, "w", 1, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_gather_t *gather = sf_client_fetch_group (client, id, true, 10000, &error);
    ck_assert_msg (gather, "%s (%s)", error.message, error.code);
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_OK), 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq (s_value (sf_gather_item (gather, i), "i"), 10 + (long long) i);
    const sf_result_t *chord = sf_gather_then (gather);
    ck_assert_msg (chord, "the chord did not run");
    char *text = sf_result_value_json (chord);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    ck_assert_int_eq (json_integer_value (json_object_get (value, "chord")), 1);
    ck_assert_int_eq (json_array_size (json_object_get (value, "results")), 3);
    json_decref (value);
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_journal");
    TCase *tcase = tcase_create ("journal");
    tcase_set_timeout (tcase, 120);
    tcase_add_checked_fixture (tcase, fleet_setup, fleet_teardown);
    tcase_add_test (tcase, test_broker_killed_mid_run);
    tcase_add_test (tcase, test_cancel_dead_key_survive);
    tcase_add_test (tcase, test_state_key_survives);
    tcase_add_test (tcase, test_chain_survives_a_crash);
    tcase_add_test (tcase, test_damaged_tail_keeps_the_rest);
    tcase_add_test (tcase, test_second_broker_is_refused);
    tcase_add_test (tcase, test_running_group_completes_after_restart);
    tcase_add_test (tcase, test_answered_group_kept_after_restart);
    tcase_add_test (tcase, test_group_key_deduplicates_after_restart);
    tcase_add_test (tcase, test_chord_runs_after_restart);
    tcase_add_test (tcase, test_compaction_keeps_groups);
    tcase_add_test (tcase, test_deadline_passed_while_down);
    tcase_add_test (tcase, test_finished_group_decided_on_start);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
