/*  =========================================================================
    check_fleet_journal - the journal store through broker crashes: every
    acknowledged job ends in one final status, results, cancels, dead
    letters, idempotency keys and analyzer states survive a SIGKILL, a
    chain goes on after one, and a damaged journal keeps what came before
    the damage
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include "fleet.h"
#include "sheaf.h"

static char s_store [128];      //  journal:DIR for this test's broker

//  Replace the fixture's memory broker by one on the journal in the
//  fleet's directory (extra flags may follow).
static void
s_journal_broker (char *const extra [])
{
    fleet_signal (fleet, fleet->broker, SIGTERM);
    snprintf (s_store, sizeof s_store, "journal:%s/journal", fleet->dir);
    char *argv [16] = { "--store", s_store };
    int count = 2;
    for (int i = 0; extra && extra [i]; i++)
        argv [count++] = extra [i];
    argv [count] = NULL;
    fleet_broker (fleet, argv);
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
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
