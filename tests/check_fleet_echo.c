/*  =========================================================================
    check_fleet_echo - broker, workers and clients as real processes:
    every job's result arrives exactly once and matches its job; priorities
    order dispatch; a job waits for a worker that serves its analyzer;
    chained jobs ("then") run on their predecessor's result, and not after
    a failure
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include "fleet.h"
#include "sheaf.h"


//  The integer param "i" echoed back in a result.
static long long
s_echoed (sf_result_t *result, const char *key)
{
    char *text = sf_result_value_json (result);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    long long number = json_integer_value (json_object_get (value, key));
    json_decref (value);
    return number;
}

START_TEST (test_ten_thousand_echo_jobs)
{
    fleet_worker (fleet, "w1", 2, 64, NULL);
    fleet_worker (fleet, "w2", 2, 64, NULL);
    ck_assert (fleet_await_workers (fleet, 2, 5000));

    enum { JOBS = 10000, BATCH = 500 };
    sf_client_t *client = sf_client_new (fleet->frontend);
    zhashx_t *expected = zhashx_new ();         //  id -> index + 1
    static char ids [BATCH][SF_ID_STRLEN + 1];
    sf_job_t *jobs [BATCH];
    for (int start = 0; start < JOBS; start += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            jobs [i] = sf_job_new ("echo");
            char value [16];
            snprintf (value, sizeof value, "%d", start + i);
            sf_job_set_param (jobs [i], "i", value);
        }
        sf_error_t error;
        ck_assert_msg (sf_client_submit_many (client, jobs, BATCH, ids, &error) == 0,
                       "submit failed: %s", error.message);
        for (int i = 0; i < BATCH; i++) {
            ck_assert (zhashx_insert (expected, ids [i], (void *) (intptr_t) (start + i + 1)) == 0);
            sf_job_destroy (&jobs [i]);
        }
    }
    ck_assert_int_eq (zhashx_size (expected), JOBS);

    zhashx_t *seen = zhashx_new ();
    size_t by_w1 = 0, by_w2 = 0;
    for (int received = 0; received < JOBS; received++) {
        sf_error_t error;
        sf_result_t *result = sf_client_wait (client, 20000, &error);
        ck_assert_msg (result, "only %d of %d results arrived: %s", received, JOBS, error.message);
        const char *id = sf_result_id (result);
        intptr_t index = (intptr_t) zhashx_lookup (expected, id);
        ck_assert_msg (index > 0, "result for a job never submitted: %s", id);
        ck_assert_msg (zhashx_insert (seen, id, (void *) 1) == 0, "second result for %s", id);
        ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
        ck_assert_int_eq (s_echoed (result, "i"), index - 1);
        ck_assert_int_eq (sf_result_attempts (result), 1);
        ck_assert_str_eq (sf_result_analyzer (result), "echo");
        if (streq (sf_result_worker (result), "w1"))
            by_w1++;
        if (streq (sf_result_worker (result), "w2"))
            by_w2++;
        sf_result_destroy (&result);
    }
    //  Nothing more comes
    sf_error_t error;
    sf_result_t *extra = sf_client_wait (client, 300, &error);
    ck_assert_msg (extra == NULL, "a result arrived twice");
    ck_assert_str_eq (error.code, "TIMEOUT");
    //  Both workers took a share of the load
    ck_assert_int_eq (by_w1 + by_w2, JOBS);
    ck_assert_msg (by_w1 > JOBS / 10 && by_w2 > JOBS / 10,
                   "load not spread: w1 %zu, w2 %zu", by_w1, by_w2);
    zhashx_destroy (&seen);
    zhashx_destroy (&expected);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_priority_orders_dispatch)
{
    //  Jobs wait while no worker serves echo; then one worker with one
    //  slot takes them one at a time: priority 9 first, FIFO within each
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    for (int i = 0; i < 10; i++) {
        sf_job_t *job = sf_job_new ("echo");
        char value [16];
        snprintf (value, sizeof value, "%d", i);
        sf_job_set_param (job, "i", value);
        sf_job_set_priority (job, i % 2? 9: 1);
        ck_assert_int_eq (sf_client_submit (client, job, id, &error), 0);
        sf_job_destroy (&job);
    }
    char *status = sf_client_status (client, &error);
    ck_assert_ptr_nonnull (status);
    ck_assert_msg (strstr (status, "\"analyzer\":\"echo\",\"queued\":10,\"running\":0,\"workers\":0"),
                   "status does not show 10 waiting echo jobs: %s", status);
    free (status);

    fleet_worker (fleet, "solo", 1, 1, NULL);
    int order [10] = { 1, 3, 5, 7, 9, 0, 2, 4, 6, 8 };
    for (int i = 0; i < 10; i++) {
        sf_result_t *result = sf_client_wait (client, 10000, &error);
        ck_assert_msg (result, "result %d missing: %s", i, error.message);
        ck_assert_int_eq (s_echoed (result, "i"), order [i]);
        sf_result_destroy (&result);
    }
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_error_results_carry_code_and_context)
{
    fleet_worker (fleet, "w1", 1, 4, NULL);
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *job = sf_job_new ("fail");
    sf_job_set_param (job, "message", "\"bad data in row 7\"");
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert_int_eq (sf_client_submit (client, job, id, &error), 0);
    sf_result_t *result = sf_client_wait (client, 10000, &error);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (sf_result_id (result), id);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_ERROR);
    ck_assert_str_eq (sf_result_error_code (result), "ANALYSIS");
    ck_assert_str_eq (sf_result_error_message (result), "bad data in row 7");
    char *json = sf_result_json (result);
    ck_assert_msg (strstr (json, "\"context\":{\"analyzer\":\"fail\",\"attempt\":1}"),
                   "context missing: %s", json);
    free (json);
    sf_result_destroy (&result);
    sf_job_destroy (&job);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_idempotency_key)
{
    fleet_worker (fleet, "w1", 1, 8, NULL);
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [3];
    for (int i = 0; i < 3; i++) {
        jobs [i] = sf_job_new ("echo");
        sf_job_set_key (jobs [i], i < 2? "report:2026-11-26": "other");
    }
    //  Two jobs with one key in one batch, then the key again later: one job
    char ids [3][SF_ID_STRLEN + 1], again [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert_int_eq (sf_client_submit_many (client, jobs, 3, ids, &error), 0);
    ck_assert_str_eq (ids [0], ids [1]);
    ck_assert_str_ne (ids [0], ids [2]);
    ck_assert_int_eq (sf_client_submit (client, jobs [0], again, &error), 0);
    ck_assert_str_eq (again, ids [0]);
    for (int i = 0; i < 2; i++) {
        sf_result_t *result = sf_client_wait (client, 5000, &error);
        ck_assert_ptr_nonnull (result);
        sf_result_destroy (&result);
    }
    ck_assert_ptr_null (sf_client_wait (client, 300, &error));
    char *status = sf_client_status (client, &error);
    ck_assert_msg (strstr (status, "\"submitted\":2,\"deduplicated\":2"), "%s", status);
    free (status);
    for (int i = 0; i < 3; i++)
        sf_job_destroy (&jobs [i]);
    sf_client_destroy (&client);
}
END_TEST

//  The JSON value of a result, parsed (asserted ok).
static json_t *
s_value (sf_result_t *result)
{
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    char *text = sf_result_value_json (result);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    ck_assert_ptr_nonnull (value);
    return value;
}

START_TEST (test_chain_of_two)
{
    fleet_worker (fleet, "w1", 1, 4, NULL);
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_error_t error;
    sf_job_t *next = sf_job_from_json ("{\"analyzer\":\"echo\",\"params\":{\"step\":2}}",
                                       &error);
    sf_job_t *job = sf_job_new ("echo");
    sf_job_set_param (job, "step", "1");
    ck_assert_int_eq (sf_job_set_then (job, next), 0);
    char id [SF_ID_STRLEN + 1];
    ck_assert_int_eq (sf_client_submit (client, job, id, &error), 0);

    //  The first result as usual, naming the follow-up
    sf_result_t *first = sf_client_wait (client, 10000, &error);
    ck_assert_ptr_nonnull (first);
    ck_assert_str_eq (sf_result_id (first), id);
    ck_assert_int_eq (s_echoed (first, "step"), 1);
    ck_assert_ptr_nonnull (sf_result_then_id (first));
    char then_id [SF_ID_STRLEN + 1];
    snprintf (then_id, sizeof then_id, "%s", sf_result_then_id (first));
    ck_assert_str_ne (then_id, id);
    char *json = sf_result_json (first);
    ck_assert_msg (strstr (json, then_id), "no \"then\" in %s", json);
    free (json);

    //  The follow-up's result comes to the same client: its own params, and
    //  the first job's result in params.previous
    sf_result_t *second = sf_client_wait (client, 10000, &error);
    ck_assert_ptr_nonnull (second);
    ck_assert_str_eq (sf_result_id (second), then_id);
    ck_assert_ptr_null (sf_result_then_id (second));
    json_t *value = s_value (second);
    ck_assert_int_eq (json_integer_value (json_object_get (value, "step")), 2);
    json_t *previous = json_object_get (value, "previous");
    ck_assert_str_eq (json_string_value (json_object_get (previous, "id")), id);
    ck_assert_str_eq (json_string_value (json_object_get (previous, "analyzer")), "echo");
    ck_assert_int_eq (json_integer_value (json_object_get (json_object_get (previous, "result"),
                                                           "step")), 1);
    json_decref (value);
    ck_assert_int_eq (fleet_counter (client, "chained"), 1);
    ck_assert_int_eq (fleet_counter (client, "submitted"), 2);
    sf_result_destroy (&second);
    sf_result_destroy (&first);
    sf_job_destroy (&job);
    sf_job_destroy (&next);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_chain_stops_at_a_failure)
{
    char *extra [] = { "--enable-test-analyzers", NULL };
    fleet_worker (fleet, "w1", 1, 4, extra);
    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"fail\",\"retries\":0,"
                               "\"then\":{\"analyzer\":\"echo\"}}", id);
    sf_error_t error;
    sf_result_t *result = sf_client_wait (client, 10000, &error);
    ck_assert_ptr_nonnull (result);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_ERROR);
    ck_assert_ptr_null (sf_result_then_id (result));
    sf_result_destroy (&result);
    //  Nothing more comes, and nothing more was submitted or run
    ck_assert_ptr_null (sf_client_wait (client, 500, &error));
    ck_assert_int_eq (fleet_counter (client, "chained"), 0);
    ck_assert_int_eq (fleet_counter (client, "submitted"), 1);
    ck_assert_int_eq (fleet_counter (client, "dispatched"), 1);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_chain_of_three_by_cli)
{
    //  sheaf submit --then, nested twice, with --wait: the last job's
    //  result is printed, and it saw the second's, which saw the first's
    fleet_worker (fleet, "w1", 1, 4, NULL);
    static char out [8192];
    char *argv [] = {
        "sheaf", "--broker", fleet->frontend, "--json", "submit", "echo", "--param", "n=1",
        "--then", "{\"analyzer\":\"echo\",\"params\":{\"n\":2},"
                  "\"then\":{\"analyzer\":\"echo\",\"params\":{\"n\":3}}}",
        "--wait", NULL
    };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 0);
    json_t *printed = json_loads (out, 0, NULL);
    ck_assert_msg (printed, "not one JSON result: %s", out);
    json_t *third = json_object_get (printed, "result");
    ck_assert_int_eq (json_integer_value (json_object_get (third, "n")), 3);
    json_t *second = json_object_get (json_object_get (third, "previous"), "result");
    ck_assert_int_eq (json_integer_value (json_object_get (second, "n")), 2);
    json_t *first = json_object_get (json_object_get (second, "previous"), "result");
    ck_assert_int_eq (json_integer_value (json_object_get (first, "n")), 1);
    ck_assert_ptr_null (json_object_get (first, "previous"));
    ck_assert_ptr_null (json_object_get (printed, "then"));
    json_decref (printed);
    sf_client_t *client = sf_client_new (fleet->frontend);
    ck_assert_int_eq (fleet_counter (client, "chained"), 2);
    ck_assert_int_eq (fleet_counter (client, "ok"), 3);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_bad_follow_up_refused_with_its_path)
{
    //  The broker checks the nested jobs like any job, and says where
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_error_t error;
    sf_job_t *job = sf_job_from_json (
        "{\"analyzer\":\"echo\",\"then\":{\"analyzer\":\"echo\","
        "\"then\":{\"analyzer\":\"echo\",\"priority\":12}}}", &error);
    ck_assert_ptr_null (job);           //  Caught at the edge already
    ck_assert_str_eq (error.message, "\"then\": \"then\": \"priority\" must be an integer 0-9");

    //  A raw SUBMIT past the library: the broker's own check
    static char out [4096];
    char *argv [] = {
        "sheaf", "--broker", fleet->frontend, "submit", "echo",
        "--then", "{\"analyzer\":\"echo\",\"key\":\"k\"}", NULL
    };
    ck_assert_int_ne (fleet_run (fleet, argv, out, sizeof out, 10000), 0);
    ck_assert_int_eq (fleet_counter (client, "submitted"), 0);
    sf_client_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_echo");
    TCase *tcase = tcase_create ("fleet");
    tcase_add_checked_fixture (tcase, fleet_setup, fleet_teardown);
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_ten_thousand_echo_jobs);
    tcase_add_test (tcase, test_priority_orders_dispatch);
    tcase_add_test (tcase, test_error_results_carry_code_and_context);
    tcase_add_test (tcase, test_idempotency_key);
    tcase_add_test (tcase, test_chain_of_two);
    tcase_add_test (tcase, test_chain_stops_at_a_failure);
    tcase_add_test (tcase, test_chain_of_three_by_cli);
    tcase_add_test (tcase, test_bad_follow_up_refused_with_its_path);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
