/*  =========================================================================
    check_fleet_lifecycle - what happens to a job besides running once:
    deadlines, retries with backoff, dead letters, cancellation, poison
    jobs and the broker's limits, with a real broker and real workers
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include "fleet.h"
#include "sheaf.h"

//  Wait for the result of the job id, which this client submitted.
static sf_result_t *
s_result (sf_client_t *client, const char *id, int timeout_ms)
{
    sf_error_t error;
    sf_result_t *result = sf_client_wait (client, timeout_ms, &error);
    ck_assert_msg (result, "no result in %d ms: %s", timeout_ms, error.message);
    ck_assert_str_eq (sf_result_id (result), id);
    return result;
}

//  The state of an unfinished job ("queued", "running", "retrying").
static const char *
s_state (sf_client_t *client, const char *id)
{
    static char state [16];
    sf_error_t error;
    sf_result_t *result = sf_client_fetch (client, id, false, 0, state, &error);
    if (result) {
        sf_result_destroy (&result);
        return "finished";
    }
    return state;
}

START_TEST (test_timeout_stops_the_attempt)
{
    fleet_worker (fleet, "w", 1, 2, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    int64_t start = zclock_mono ();
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":20000},"
                      "\"timeout_ms\":300,\"retries\":0}", id);
    sf_result_t *result = s_result (client, id, 5000);
    int64_t took = zclock_mono () - start;
    ck_assert_str_eq (sf_status_name (sf_result_status (result)), "timeout");
    ck_assert_str_eq (sf_result_error_code (result), "TIMEOUT");
    ck_assert_int_lt (took, 3000);
    sf_result_destroy (&result);
    //  The worker was told to stop: its one thread is free for the next job
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":1}}", id);
    result = s_result (client, id, 3000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    sf_result_destroy (&result);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_timeouts_retried_then_dead)
{
    fleet_worker (fleet, "w", 2, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":10000},"
                      "\"timeout_ms\":200,\"retries\":2,\"backoff_ms\":100}", id);
    sf_result_t *result = s_result (client, id, 8000);
    ck_assert_str_eq (sf_status_name (sf_result_status (result)), "dead");
    ck_assert_str_eq (sf_result_error_code (result), "TIMEOUT");
    ck_assert_int_eq (sf_result_attempts (result), 3);
    sf_result_destroy (&result);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_transient_errors_retried_with_backoff)
{
    fleet_worker (fleet, "w", 2, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    //  Backoff 200 ms: retries after 100-200 ms, then 200-400 ms
    int64_t start = zclock_mono ();
    fleet_submit_json (client, "{\"analyzer\":\"fail\",\"params\":{\"code\":\"TRANSIENT\"},"
                      "\"retries\":2,\"backoff_ms\":200}", id);
    sf_result_t *result = s_result (client, id, 8000);
    int64_t took = zclock_mono () - start;
    ck_assert_str_eq (sf_status_name (sf_result_status (result)), "dead");
    ck_assert_int_eq (sf_result_attempts (result), 3);
    ck_assert_str_eq (sf_result_error_code (result), "TRANSIENT");
    ck_assert_int_ge (took, 300);
    sf_result_destroy (&result);

    //  A deterministic error is final at once, whatever the retries
    fleet_submit_json (client, "{\"analyzer\":\"fail\",\"retries\":3}", id);
    result = s_result (client, id, 3000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_ERROR);
    ck_assert_int_eq (sf_result_attempts (result), 1);
    sf_result_destroy (&result);

    //  Without retries a transient error is an error, not a dead letter
    fleet_submit_json (client, "{\"analyzer\":\"fail\",\"params\":{\"code\":\"TRANSIENT\"},"
                      "\"retries\":0}", id);
    result = s_result (client, id, 3000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_ERROR);
    sf_result_destroy (&result);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_dead_letters_listed_retried_purged)
{
    fleet_worker (fleet, "w", 2, 4, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"fail\",\"params\":{\"code\":\"TRANSIENT\","
                      "\"message\":\"feed down\"},\"retries\":1,\"backoff_ms\":10}", id);
    sf_result_t *result = s_result (client, id, 5000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_DEAD);
    sf_result_destroy (&result);

    sf_error_t error;
    char *text = sf_client_dead (client, "list", NULL, &error);
    ck_assert_msg (text, "%s", error.message);
    json_t *list = json_loads (text, 0, NULL);
    free (text);
    ck_assert_int_eq (json_array_size (list), 1);
    ck_assert_str_eq (json_string_value (json_object_get (json_array_get (list, 0), "id")), id);
    json_decref (list);

    //  show: the history of both attempts, with the worker and the error
    text = sf_client_dead (client, "show", id, &error);
    ck_assert_msg (text, "%s", error.message);
    json_t *shown = json_loads (text, 0, NULL);
    free (text);
    json_t *history = json_object_get (json_array_get (shown, 0), "history");
    ck_assert_int_eq (json_array_size (history), 2);
    json_t *first = json_array_get (history, 0);
    ck_assert_str_eq (json_string_value (json_object_get (first, "code")), "TRANSIENT");
    ck_assert_str_eq (json_string_value (json_object_get (first, "message")), "feed down");
    ck_assert_str_eq (json_string_value (json_object_get (first, "worker")), "w");
    json_decref (shown);

    //  retry: it runs again (and dies again); whoever waits gets the result
    text = sf_client_dead (client, "retry", id, &error);
    ck_assert_msg (text, "%s", error.message);
    ck_assert_str_eq (text, "1");
    free (text);
    result = sf_client_fetch (client, id, true, 5000, NULL, &error);
    ck_assert_msg (result, "%s", error.message);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_DEAD);
    ck_assert_int_eq (sf_result_attempts (result), 4);
    sf_result_destroy (&result);

    text = sf_client_dead (client, "purge", NULL, &error);
    ck_assert_str_eq (text, "1");
    free (text);
    text = sf_client_dead (client, "list", NULL, &error);
    ck_assert_str_eq (text, "[]");
    free (text);
    ck_assert_ptr_null (sf_client_dead (client, "show", id, &error));
    ck_assert_str_eq (error.code, "NOT_FOUND");
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_cancel_queued_running_finished)
{
    fleet_worker (fleet, "w", 1, 1, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char running [SF_ID_STRLEN + 1], queued [SF_ID_STRLEN + 1], later [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":20000}}", running);
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":20000}}", queued);
    ck_assert (fleet_await_state (client, running, "running", 3000));
    ck_assert_str_eq (s_state (client, queued), "queued");

    sf_error_t error;
    ck_assert_int_eq (sf_client_cancel (client, queued, &error), 0);
    sf_result_t *result = s_result (client, queued, 1000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_CANCELLED);
    sf_result_destroy (&result);

    int64_t start = zclock_mono ();
    ck_assert_int_eq (sf_client_cancel (client, running, &error), 0);
    result = s_result (client, running, 1000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_CANCELLED);
    sf_result_destroy (&result);
    //  The worker stopped the analyzer: its single slot runs the next job
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":2}}", later);
    result = s_result (client, later, 3000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    ck_assert_int_lt (zclock_mono () - start, 3000);
    sf_result_destroy (&result);

    ck_assert_int_eq (sf_client_cancel (client, later, &error), 1);
    ck_assert_int_eq (sf_client_cancel (client, "01890000-0000-7000-8000-000000000000", &error), -1);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_poison_job_goes_dead_fleet_goes_on)
{
    char *tests [] = { "--enable-test-analyzers", NULL };
    pid_t crashing = fleet_worker (fleet, "w1", 1, 1, tests);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char poison [SF_ID_STRLEN + 1], fine [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"crash\",\"retries\":5}", poison);
    //  Each worker that takes it dies; a new one is started (as a
    //  supervisor would) until the job has been at two deaths
    for (int deaths = 0; deaths < 2; deaths++) {
        int status = 0;
        for (int i = 0; i < 500 && waitpid (crashing, &status, WNOHANG) != crashing; i++)
            zclock_sleep (10);
        ck_assert_msg (WIFSIGNALED (status), "worker %d did not crash", deaths + 1);
        fleet_signal (fleet, crashing, SIGKILL);        //  Reaped: forget it
        crashing = fleet_worker (fleet, deaths? "w3": "w2", 1, 1, tests);
    }
    sf_result_t *result = s_result (client, poison, 5000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_DEAD);
    ck_assert_str_eq (sf_result_error_code (result), "WORKER_LOST");
    sf_result_destroy (&result);
    //  The last worker lives and serves
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":3}}", fine);
    result = s_result (client, fine, 5000);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    sf_result_destroy (&result);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_busy_beyond_limits)
{
    //  A broker that holds at most two unfinished jobs
    fleet_signal (fleet, fleet->broker, SIGTERM);
    fleet_broker (fleet, (char *[]) { "--max-jobs", "2", NULL });
    fleet_worker (fleet, "w", 2, 2, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":600}}", id);
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":600}}", id);

    //  Without waiting: BUSY at once
    sf_client_set_busy_wait (client, 0);
    sf_job_t *job = sf_job_new ("echo");
    sf_error_t error;
    ck_assert_int_eq (sf_client_submit (client, job, id, &error), -1);
    ck_assert_str_eq (error.code, "BUSY");
    //  Waiting: accepted once a sleep has finished
    sf_client_set_busy_wait (client, 5000);
    int64_t start = zclock_mono ();
    ck_assert_msg (sf_client_submit (client, job, id, &error) == 0, "%s", error.message);
    ck_assert_int_ge (zclock_mono () - start, 200);
    sf_job_destroy (&job);
    for (int i = 0; i < 3; i++) {
        sf_result_t *result = sf_client_wait (client, 5000, &error);
        ck_assert_msg (result, "%s", error.message);
        ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
        sf_result_destroy (&result);
    }
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_cli_cancel_and_dead)
{
    fleet_worker (fleet, "w", 1, 2, (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char waiting [SF_ID_STRLEN + 1], dead [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"nobody-serves-this\"}", waiting);
    static char out [8192];
    char *cancel [] = { "sheaf", "--broker", fleet->frontend, "cancel", waiting, NULL };
    ck_assert_int_eq (fleet_run (fleet, cancel, out, sizeof out, 5000), 0);
    ck_assert_msg (strstr (out, "cancelled"), "%s", out);
    ck_assert_int_eq (fleet_run (fleet, cancel, out, sizeof out, 5000), 0);
    ck_assert_msg (strstr (out, "had finished already"), "%s", out);
    char *unknown [] = { "sheaf", "--broker", fleet->frontend, "cancel",
                         "01890000-0000-7000-8000-000000000000", NULL };
    ck_assert_int_eq (fleet_run (fleet, unknown, out, sizeof out, 5000), 5);

    fleet_submit_json (client, "{\"analyzer\":\"fail\",\"params\":{\"code\":\"TRANSIENT\"},"
                               "\"retries\":1,\"backoff_ms\":10}", dead);
    sf_error_t error;
    sf_result_t *result = sf_client_fetch (client, dead, true, 5000, NULL, &error);
    ck_assert_msg (result, "%s", error.message);
    sf_result_destroy (&result);
    char *list [] = { "sheaf", "--broker", fleet->frontend, "dead", "list", NULL };
    ck_assert_int_eq (fleet_run (fleet, list, out, sizeof out, 5000), 0);
    ck_assert_msg (strstr (out, dead) && strstr (out, "TRANSIENT"), "%s", out);
    char *purge [] = { "sheaf", "--broker", fleet->frontend, "dead", "purge", NULL };
    ck_assert_int_eq (fleet_run (fleet, purge, out, sizeof out, 5000), 0);
    ck_assert_msg (strstr (out, "purged 1 dead letter"), "%s", out);
    char *bad [] = { "sheaf", "--broker", fleet->frontend, "dead", "show", NULL };
    ck_assert_int_eq (fleet_run (fleet, bad, out, sizeof out, 5000), 2);
    sf_client_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_lifecycle");
    TCase *tcase = tcase_create ("lifecycle");
    tcase_set_timeout (tcase, 60);
    tcase_add_checked_fixture (tcase, fleet_setup, fleet_teardown);
    tcase_add_test (tcase, test_timeout_stops_the_attempt);
    tcase_add_test (tcase, test_timeouts_retried_then_dead);
    tcase_add_test (tcase, test_transient_errors_retried_with_backoff);
    tcase_add_test (tcase, test_dead_letters_listed_retried_purged);
    tcase_add_test (tcase, test_cancel_queued_running_finished);
    tcase_add_test (tcase, test_poison_job_goes_dead_fleet_goes_on);
    tcase_add_test (tcase, test_busy_beyond_limits);
    tcase_add_test (tcase, test_cli_cancel_and_dead);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
