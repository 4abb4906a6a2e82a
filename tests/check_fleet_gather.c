/*  =========================================================================
    check_fleet_gather - groups against a real broker and worker: every
    policy decides as documented, results come in submission order with
    their index, a deadline answers with what there is, streamed items
    arrive as they finish, a group outlives its client and is kept within
    the retention limit, a chord receives the gathered results, `sheaf
    gather` checks its file before sending, concurrent groups of several
    clients each get their own items, a small group and a single job get
    their turn while a big group queued before them is still running, and
    a group of 100,000 jobs completes
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <math.h>
#include "fleet.h"
#include "sheaf.h"

static char out [1 << 20];
static pid_t s_worker;          //  The fixture's worker

static void
s_setup (void)
{
    fleet_setup ();
    //  The project's sample candles, for report jobs
    static char data_dir [512];
    const char *src = getenv ("SHEAF_SRC");
    snprintf (data_dir, sizeof data_dir, "%s/data", src? src: ".");
    char *extra [] = { "--enable-test-analyzers", "--data-dir", data_dir, NULL };
    s_worker = fleet_worker (fleet, "gw", 4, 64, extra);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
}

//  A job from JSON text (asserted valid).
static sf_job_t *
s_job (const char *json)
{
    sf_error_t error;
    sf_job_t *job = sf_job_from_json (json, &error);
    ck_assert_msg (job, "bad job %s: %s", json, error.message);
    return job;
}

//  Gather count jobs given as JSON under opts; asserts the answer came.
static sf_gather_t *
s_gather (sf_client_t *client, const char **specs, size_t count, const sf_gather_opts_t *opts)
{
    sf_job_t *jobs [16];
    for (size_t i = 0; i < count; i++)
        jobs [i] = s_job (specs [i]);
    sf_error_t error;
    sf_gather_t *gather = sf_gather (client, jobs, count, opts, 20000, &error);
    ck_assert_msg (gather, "no answer: %s (%s)", error.message, error.code);
    for (size_t i = 0; i < count; i++)
        sf_job_destroy (&jobs [i]);
    return gather;
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

START_TEST (test_all_in_submission_order)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    //  The slow job first: results still come back in submission order
    const char *specs [] = {
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":300}}",
        "{\"analyzer\":\"echo\",\"params\":{\"i\":1}}",
        "{\"analyzer\":\"fail\"}",
        "{\"analyzer\":\"echo\",\"params\":{\"i\":3}}"
    };
    sf_gather_t *gather = s_gather (client, specs, 4, NULL);
    ck_assert_str_eq (sf_gather_state (gather), "ok");     //  all: each item has its status
    ck_assert_int_eq (sf_gather_size (gather), 4);
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_OK), 3);
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_ERROR), 1);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq (sf_result_index (sf_gather_item (gather, i)), (long) i);
    ck_assert_int_eq (s_value (sf_gather_item (gather, 0), "slept_ms"), 300);
    ck_assert_int_eq (s_value (sf_gather_item (gather, 1), "i"), 1);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 2)), SF_STATUS_ERROR);
    ck_assert_str_eq (sf_result_error_code (sf_gather_item (gather, 2)), "ANALYSIS");
    ck_assert_int_eq (s_value (sf_gather_item (gather, 3), "i"), 3);
    ck_assert_int_eq (strlen (sf_gather_id (gather)), 36);
    //  Group items are not pushed one by one as well
    sf_error_t error;
    ck_assert (sf_client_wait (client, 200, &error) == NULL);
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_fail_fast_cancels_the_rest)
{
    //  A worker with four threads runs the four jobs at once: the echo
    //  ends at once, the short sleep fails when its deadline passes (no
    //  retries), and the two slow sleeps are still running then, so they
    //  are cancelled at the worker
    fleet_signal (fleet, s_worker, SIGTERM);
    char *extra [] = { "--enable-test-analyzers", NULL };
    fleet_worker (fleet, "gw1", 4, 4, extra);
    zclock_sleep (300);                 //  The old worker's DISCONNECT is in
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = {
        "{\"analyzer\":\"echo\",\"params\":{\"i\":0}}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":4000}}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":4000},\"timeout_ms\":800,\"retries\":0}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":4000}}"
    };
    sf_gather_opts_t opts = { SF_GATHER_FAIL_FAST, 0, 0, false, NULL, NULL };
    int64_t start = zclock_mono ();
    sf_gather_t *gather = s_gather (client, specs, 4, &opts);
    ck_assert_msg (zclock_mono () - start < 3000, "fail-fast waited for the slow jobs");
    ck_assert_str_eq (sf_gather_state (gather), "failed");
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 2)), SF_STATUS_TIMEOUT);
    //  The successful item's result is still in the answer
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 0)), SF_STATUS_OK);
    ck_assert_int_eq (s_value (sf_gather_item (gather, 0), "i"), 0);
    //  And the answer says which items were cancelled
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 1)), SF_STATUS_CANCELLED);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 3)), SF_STATUS_CANCELLED);
    ck_assert_str_eq (sf_result_error_code (sf_gather_item (gather, 1)), "CANCELLED");
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_CANCELLED), 2);
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_any_first_ok_wins)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = {
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":4000}}",
        "{\"analyzer\":\"fail\"}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":100}}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":4000}}"
    };
    sf_gather_opts_t opts = { SF_GATHER_ANY, 0, 0, false, NULL, NULL };
    int64_t start = zclock_mono ();
    sf_gather_t *gather = s_gather (client, specs, 4, &opts);
    ck_assert_msg (zclock_mono () - start < 3000, "any waited for the slow jobs");
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (s_value (sf_gather_item (gather, 2), "slept_ms"), 100);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 1)), SF_STATUS_ERROR);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 0)), SF_STATUS_CANCELLED);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 3)), SF_STATUS_CANCELLED);
    sf_gather_destroy (&gather);

    //  No item ok: the group fails
    const char *failing [] = { "{\"analyzer\":\"fail\"}", "{\"analyzer\":\"fail\"}" };
    gather = s_gather (client, failing, 2, &opts);
    ck_assert_str_eq (sf_gather_state (gather), "failed");
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_ERROR), 2);
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_min_ok_quorum)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = {
        "{\"analyzer\":\"echo\",\"params\":{\"i\":0}}",
        "{\"analyzer\":\"fail\"}",
        "{\"analyzer\":\"echo\",\"params\":{\"i\":2}}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":4000}}"
    };
    sf_gather_opts_t opts = { SF_GATHER_ALL, 2, 0, false, NULL, NULL };
    int64_t start = zclock_mono ();
    sf_gather_t *gather = s_gather (client, specs, 4, &opts);
    ck_assert_msg (zclock_mono () - start < 3000, "the quorum waited for the slow job");
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_OK), 2);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 3)), SF_STATUS_CANCELLED);
    sf_gather_destroy (&gather);

    //  A quorum out of reach fails as soon as it is out of reach
    const char *failing [] = {
        "{\"analyzer\":\"fail\"}", "{\"analyzer\":\"fail\"}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":4000}}"
    };
    start = zclock_mono ();
    gather = s_gather (client, failing, 3, &opts);
    ck_assert_msg (zclock_mono () - start < 3000, "an impossible quorum waited");
    ck_assert_str_eq (sf_gather_state (gather), "failed");
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 2)), SF_STATUS_CANCELLED);
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_timeout_partial_results)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = {
        "{\"analyzer\":\"echo\",\"params\":{\"i\":0}}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":5000}}",
        "{\"analyzer\":\"echo\",\"params\":{\"i\":2}}"
    };
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 500, false, NULL, NULL };
    int64_t start = zclock_mono ();
    sf_gather_t *gather = s_gather (client, specs, 3, &opts);
    int64_t took = zclock_mono () - start;
    ck_assert_msg (took >= 450 && took < 2500, "answered after %lld ms", (long long) took);
    ck_assert_str_eq (sf_gather_state (gather), "timeout");
    ck_assert_int_eq (s_value (sf_gather_item (gather, 0), "i"), 0);
    ck_assert_int_eq (s_value (sf_gather_item (gather, 2), "i"), 2);
    ck_assert_int_eq (sf_result_status (sf_gather_item (gather, 1)), SF_STATUS_TIMEOUT);
    ck_assert_str_eq (sf_result_error_code (sf_gather_item (gather, 1)), "TIMEOUT");
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_TIMEOUT), 1);
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
}
END_TEST

//  What the stream callbacks saw.
typedef struct {
    long order [8];             //  Indexes in arrival order
    size_t count;               //  Items seen
    sf_gather_t *answer;        //  The summary
    size_t items_before_done;   //  Items seen when the summary came
} s_seen_t;

static void
s_on_item (size_t index, sf_result_t *result, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    ck_assert_int_eq (sf_result_index (result), (long) index);
    if (seen->count < 8)
        seen->order [seen->count] = (long) index;
    seen->count++;
    sf_result_destroy (&result);
}

static void
s_on_done (sf_gather_t *gather, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    seen->answer = gather;
    seen->items_before_done = seen->count;
}

START_TEST (test_stream_order_and_summary)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [3] = {
        s_job ("{\"analyzer\":\"sleep\",\"params\":{\"ms\":900}}"),
        s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":1}}"),
        s_job ("{\"analyzer\":\"sleep\",\"params\":{\"ms\":300}}")
    };
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, true, NULL, NULL };
    s_seen_t seen = { .count = 0 };
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert (sf_gather_start (client, jobs, 3, &opts, s_on_item, s_on_done, &seen, id,
                                &error) == 0);
    int64_t deadline = zclock_mono () + 10000;
    while (!seen.answer && zclock_mono () < deadline) {
        sf_event_t event;
        ck_assert (sf_client_recv (client, 100, &event) == 0);
        ck_assert_int_ne (event.kind, SF_EVENT_RESULT);
    }
    ck_assert_msg (seen.answer, "no summary");
    //  As they finished, each with its index; every item before the summary
    ck_assert_int_eq (seen.items_before_done, 3);
    ck_assert_int_eq (seen.order [0], 1);
    ck_assert_int_eq (seen.order [1], 2);
    ck_assert_int_eq (seen.order [2], 0);
    ck_assert_str_eq (sf_gather_id (seen.answer), id);
    ck_assert_str_eq (sf_gather_state (seen.answer), "ok");
    ck_assert_int_eq (sf_gather_count (seen.answer, SF_STATUS_OK), 3);
    ck_assert (sf_gather_item (seen.answer, 0) == NULL);    //  Not sent twice
    sf_gather_destroy (&seen.answer);
    for (int i = 0; i < 3; i++)
        sf_job_destroy (&jobs [i]);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_answer_ends_an_unbounded_wait)
{
    //  A wait without a time limit returns once the group's answer was
    //  handed to its callback, not only when something else comes
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [2] = {
        s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":0}}"),
        s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":1}}")
    };
    s_seen_t seen = { .count = 0 };
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert (sf_gather_start (client, jobs, 2, NULL, s_on_item, s_on_done, &seen, id,
                                &error) == 0);
    for (int calls = 0; !seen.answer && calls < 4; calls++) {
        sf_event_t event;
        ck_assert (sf_client_recv (client, -1, &event) == 0);
        ck_assert_int_eq (event.kind, SF_EVENT_NONE);
    }
    ck_assert_msg (seen.answer, "no answer after four waits");
    ck_assert_str_eq (sf_gather_state (seen.answer), "ok");
    sf_gather_destroy (&seen.answer);
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_group_outlives_its_client)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [2] = {
        s_job ("{\"analyzer\":\"sleep\",\"params\":{\"ms\":600}}"),
        s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":1}}")
    };
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert (sf_gather_start (client, jobs, 2, NULL, NULL, NULL, NULL, id, &error) == 0);
    sf_client_destroy (&client);         //  Gone before anything finished
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);

    sf_client_t *other = sf_client_new (fleet->frontend);
    ck_assert (sf_client_fetch_group (other, id, false, 0, &error) == NULL);
    ck_assert_str_eq (error.code, "NOT_FINISHED");
    sf_gather_t *gather = sf_client_fetch_group (other, id, true, 10000, &error);
    ck_assert_msg (gather, "%s", error.message);
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (s_value (sf_gather_item (gather, 0), "slept_ms"), 600);
    ck_assert_int_eq (s_value (sf_gather_item (gather, 1), "i"), 1);
    sf_gather_destroy (&gather);
    sf_client_destroy (&other);
    //  The broker shows it kept, none running
    char *status_argv [] = { "sheaf", "--broker", fleet->frontend, "status", "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, status_argv, out, sizeof out, 10000), 0);
    ck_assert_msg (strstr (out, "\"groups_running\":0") && strstr (out, "\"groups_kept\":1"),
                   "%s", out);

    //  And from the command line, after it finished
    char *argv [] = { "sheaf", "--broker", fleet->frontend, "result", id, "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 10000), 0);
    ck_assert_msg (strstr (out, "\"index\":0") && strstr (out, "\"slept_ms\":600")
                && strstr (out, "\"state\":\"ok\""), "%s", out);
    //  A job id still answers as a job
    char job_id [SF_ID_STRLEN + 1];
    json_t *line = json_loads (out, JSON_DISABLE_EOF_CHECK, NULL);
    snprintf (job_id, sizeof job_id, "%s", json_string_value (json_object_get (line, "id")));
    json_decref (line);
    char *job [] = { "sheaf", "--broker", fleet->frontend, "result", job_id, NULL };
    ck_assert_int_eq (fleet_run (fleet, job, out, sizeof out, 10000), 0);
    ck_assert_str_eq (out, "{\"slept_ms\":600}\n");
}
END_TEST

static void s_keep_answer (sf_gather_t *gather, void *arg);

START_TEST (test_own_group_fetched_with_wait)
{
    //  A client that FETCHes its own running group with wait is sent the
    //  group's answer once; the library gives it to the group's callback
    //  and to the FETCH alike
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [2] = {
        s_job ("{\"analyzer\":\"sleep\",\"params\":{\"ms\":300}}"),
        s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":1}}")
    };
    sf_gather_t *answer = NULL;
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert (sf_gather_start (client, jobs, 2, NULL, NULL, s_keep_answer, &answer, id,
                                &error) == 0);
    sf_gather_t *fetched = sf_client_fetch_group (client, id, true, 10000, &error);
    ck_assert_msg (fetched, "%s: %s", error.code, error.message);
    ck_assert_str_eq (sf_gather_state (fetched), "ok");
    ck_assert_int_eq (s_value (sf_gather_item (fetched, 0), "slept_ms"), 300);
    ck_assert_int_eq (s_value (sf_gather_item (fetched, 1), "i"), 1);
    ck_assert_msg (answer, "the group's callback had no answer");
    ck_assert_str_eq (sf_gather_state (answer), "ok");
    ck_assert_int_eq (sf_gather_count (answer, SF_STATUS_OK), 2);
    sf_gather_destroy (&fetched);
    sf_gather_destroy (&answer);
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_group_jobs_have_no_then)
{
    //  A group gathers its items' results: an item with a follow-up is
    //  refused, and nothing of the group runs
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [2] = {
        s_job ("{\"analyzer\":\"echo\"}"),
        s_job ("{\"analyzer\":\"echo\",\"then\":{\"analyzer\":\"echo\"}}")
    };
    sf_error_t error;
    sf_gather_t *gather = sf_gather (client, jobs, 2, NULL, 5000, &error);
    ck_assert_ptr_null (gather);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_str_eq (error.message, "job 1: a job in a group has no \"then\"");
    ck_assert_int_eq (fleet_counter (client, "submitted"), 0);
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_chord_gets_the_results)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = {
        "{\"analyzer\":\"echo\",\"params\":{\"i\":0}}",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":200}}",
        "{\"analyzer\":\"echo\",\"params\":{\"i\":2}}"
    };
    sf_job_t *then = s_job ("{\"analyzer\":\"echo\",\"params\":{\"label\":\"summary\"}}");
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, then, NULL };
    sf_gather_t *gather = s_gather (client, specs, 3, &opts);
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    const sf_result_t *chord = sf_gather_then (gather);
    ck_assert_msg (chord, "the chord did not run");
    ck_assert_int_eq (sf_result_status (chord), SF_STATUS_OK);
    char *text = sf_result_value_json (chord);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    //  Its own params are kept; the results are added in submission order
    ck_assert_str_eq (json_string_value (json_object_get (value, "label")), "summary");
    json_t *results = json_object_get (value, "results");
    ck_assert_int_eq (json_array_size (results), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *item = json_array_get (results, i);
        ck_assert_int_eq (json_integer_value (json_object_get (item, "index")), (long) i);
        ck_assert_str_eq (json_string_value (json_object_get (item, "status")), "ok");
    }
    ck_assert_int_eq (json_integer_value (json_object_get (json_object_get (
        json_array_get (results, 1), "result"), "slept_ms")), 200);
    json_decref (value);
    sf_gather_destroy (&gather);

    //  A group that fails runs no chord
    const char *failing [] = { "{\"analyzer\":\"fail\"}" };
    opts.policy = SF_GATHER_FAIL_FAST;
    gather = s_gather (client, failing, 1, &opts);
    ck_assert_str_eq (sf_gather_state (gather), "failed");
    ck_assert (sf_gather_then (gather) == NULL);
    sf_gather_destroy (&gather);
    sf_job_destroy (&then);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_periodic_report_chord)
{
    //  Per-symbol report jobs gathered, then one summary over them
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = {
        "{\"analyzer\":\"report\",\"symbol\":\"GOOG\",\"timeframe\":\"1d\"}",
        "{\"analyzer\":\"report\",\"symbol\":\"GOOG\",\"timeframe\":\"1d\",\"limit\":120}",
        "{\"analyzer\":\"report\",\"symbol\":\"NOPE\",\"timeframe\":\"1d\"}"
    };
    sf_job_t *then = s_job ("{\"analyzer\":\"summary\"}");
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, then, NULL };
    sf_gather_t *gather = s_gather (client, specs, 3, &opts);
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_ERROR), 1);
    const sf_result_t *chord = sf_gather_then (gather);
    ck_assert_msg (chord && sf_result_status (chord) == SF_STATUS_OK, "no summary");
    char *text = sf_result_value_json (chord);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    ck_assert_int_eq (json_integer_value (json_object_get (value, "items")), 3);
    ck_assert_int_eq (json_integer_value (json_object_get (value, "ok")), 2);
    json_t *failed = json_object_get (value, "failed");
    ck_assert_int_eq (json_array_size (failed), 1);
    ck_assert_int_eq (json_integer_value (json_array_get (failed, 0)), 2);
    json_t *trend = json_object_get (value, "trend");
    ck_assert_int_eq (json_integer_value (json_object_get (trend, "up"))
                    + json_integer_value (json_object_get (trend, "down"))
                    + json_integer_value (json_object_get (trend, "flat")), 2);
    //  The change of each report, as the summary saw it
    json_t *change = json_object_get (value, "change");
    double changes [2];
    for (int i = 0; i < 2; i++) {
        char *item = sf_result_value_json (sf_gather_item (gather, (size_t) i));
        json_t *report = json_loads (item, 0, NULL);
        free (item);
        changes [i] = json_real_value (json_object_get (report, "change"));
        json_decref (report);
    }
    int best = changes [0] >= changes [1]? 0: 1;
    json_t *top = json_object_get (change, "best");
    ck_assert_int_eq (json_integer_value (json_object_get (top, "index")), best);
    ck_assert (json_real_value (json_object_get (top, "change")) == changes [best]);
    ck_assert (fabs (json_real_value (json_object_get (change, "mean"))
                     - (changes [0] + changes [1]) / 2) < 1e-12);
    json_decref (value);
    sf_gather_destroy (&gather);
    sf_job_destroy (&then);
    sf_client_destroy (&client);
}
END_TEST

//  Write text to the fleet's directory as name; returns its path (static).
static const char *
s_file (const char *name, const char *text)
{
    static char path [256];
    snprintf (path, sizeof path, "%s/%s", fleet->dir, name);
    FILE *file = fopen (path, "w");
    ck_assert (file);
    fputs (text, file);
    fclose (file);
    return path;
}

static long long
s_counter (const char *name)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_error_t error;
    char *text = sf_client_status (client, &error);
    ck_assert (text);
    json_t *status = json_loads (text, 0, NULL);
    long long value = json_integer_value (json_object_get (json_object_get (status, "counters"),
                                                           name));
    json_decref (status);
    free (text);
    sf_client_destroy (&client);
    return value;
}

START_TEST (test_cli_gather)
{
    const char *path = s_file ("jobs.jsonl",
        "{\"analyzer\":\"sleep\",\"params\":{\"ms\":200}}\n"
        "\n"
        "{\"analyzer\":\"echo\",\"params\":{\"i\":1}}\n"
        "{\"analyzer\":\"echo\",\"params\":{\"i\":2}}\n");
    char *argv [] = { "sheaf", "--broker", fleet->frontend, "gather", (char *) path, "--json",
                      NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 0);
    //  Three results in input order, then the summary
    char *first = strstr (out, "\"index\":0"), *second = strstr (out, "\"index\":1"),
         *third = strstr (out, "\"index\":2"), *summary = strstr (out, "\"state\":\"ok\"");
    ck_assert_msg (first && second && third && summary
                && first < second && second < third && third < summary, "%s", out);
    ck_assert_msg (strstr (out, "\"total\":3"), "%s", out);

    //  Exit codes: an item failed under all (1); the group failed (7)
    path = s_file ("failing.jsonl", "{\"analyzer\":\"echo\"}\n{\"analyzer\":\"fail\"}\n");
    argv [4] = (char *) path;
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 1);
    char *fail_fast [] = { "sheaf", "--broker", fleet->frontend, "gather", "--policy",
                           "fail-fast", (char *) path, NULL };
    ck_assert_int_eq (fleet_run (fleet, fail_fast, out, sizeof out, 20000), 7);

    //  --stream: each item as it finishes, then the summary
    path = s_file ("stream.jsonl", "{\"analyzer\":\"sleep\",\"params\":{\"ms\":500}}\n"
                                   "{\"analyzer\":\"echo\",\"params\":{\"i\":1}}\n");
    char *stream [] = { "sheaf", "--broker", fleet->frontend, "gather", "--stream",
                        (char *) path, NULL };
    ck_assert_int_eq (fleet_run (fleet, stream, out, sizeof out, 20000), 0);
    first = strstr (out, "\"index\":1");
    second = strstr (out, "\"index\":0");
    summary = strstr (out, "\"group\"");
    ck_assert_msg (first && second && summary && first < second && second < summary, "%s", out);
}
END_TEST

START_TEST (test_cli_bad_lines_submit_nothing)
{
    long long before = s_counter ("submitted");
    const char *path = s_file ("bad.jsonl",
        "{\"analyzer\":\"echo\"}\n"
        "{\"analyzer\":\"echo\",\n"
        "{\"analyzer\":\"echo\"}\n"
        "{\"analyzer\":\"echo\",\"colour\":\"red\"}\n"
        "{\"analyzer\":\"echo\",\"priority\":\"high\"}\n");
    char command [512];
    snprintf (command, sizeof command, "%s --broker %s gather %s 2>&1", fleet_bin ("sheaf"),
              fleet->frontend, path);
    char *argv [] = { "/bin/sh", "-c", command, NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 2);
    ck_assert_msg (strstr (out, "bad.jsonl:2:") && strstr (out, "bad.jsonl:4:")
                && strstr (out, "bad.jsonl:5:") && !strstr (out, "bad.jsonl:1:")
                && !strstr (out, "bad.jsonl:3:"), "%s", out);
    ck_assert_msg (strstr (out, "colour") && strstr (out, "nothing submitted"), "%s", out);
    ck_assert_int_eq (s_counter ("submitted"), before);

    //  The broker refuses a group with a keyed job whole, naming the job
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *jobs [2] = { s_job ("{\"analyzer\":\"echo\"}"),
                           s_job ("{\"analyzer\":\"echo\",\"key\":\"k1\"}") };
    sf_error_t error;
    ck_assert (sf_gather (client, jobs, 2, NULL, 5000, &error) == NULL);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, "job 1"), "%s", error.message);
    ck_assert_int_eq (s_counter ("submitted"), before);
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);
    sf_client_destroy (&client);
}
END_TEST

static void
s_keep_answer (sf_gather_t *gather, void *arg)
{
    *(sf_gather_t **) arg = gather;
}

//  A GROUP with a key the broker keeps gets that group: the same id and
//  items, its answer, and no new job; a malformed key is refused
START_TEST (test_group_key_deduplicates)
{
    long long submitted = s_counter ("submitted");
    long long deduplicated = s_counter ("deduplicated");
    sf_client_t *first = sf_client_new (fleet->frontend);
    sf_client_t *second = sf_client_new (fleet->frontend);
    sf_job_t *jobs [2] = { s_job ("{\"analyzer\":\"sleep\",\"params\":{\"ms\":400}}"),
                           s_job ("{\"analyzer\":\"echo\",\"params\":{\"i\":7}}") };
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, NULL, "report:2026-03-30" };
    sf_gather_t *answer = NULL;
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert_int_eq (sf_gather_start (first, jobs, 2, &opts, NULL, s_keep_answer, &answer,
                                       id, &error), 0);
    //  While the group runs, another client with the key joins it
    sf_gather_t *joined = sf_gather (second, jobs, 2, &opts, 10000, &error);
    ck_assert_msg (joined, "%s", error.message);
    ck_assert_str_eq (sf_gather_id (joined), id);
    ck_assert_str_eq (sf_gather_state (joined), "ok");
    ck_assert_int_eq (sf_gather_count (joined, SF_STATUS_OK), 2);
    ck_assert_int_eq (s_value (sf_gather_item (joined, 1), "i"), 7);
    //  The first client gets its own answer
    for (int waited = 0; !answer && waited < 5000; waited += 100) {
        sf_event_t event;
        if (sf_client_recv (first, 100, &event) == 0 && event.kind == SF_EVENT_RESULT)
            sf_result_destroy (&event.result);
    }
    ck_assert_ptr_nonnull (answer);
    ck_assert_str_eq (sf_gather_id (answer), id);
    ck_assert_str_eq (sf_result_id (sf_gather_item (answer, 0)),
                      sf_result_id (sf_gather_item (joined, 0)));
    //  Once answered, the key still names the group: answered at once
    sf_gather_t *later = sf_gather (first, jobs, 2, &opts, 5000, &error);
    ck_assert_msg (later, "%s", error.message);
    ck_assert_str_eq (sf_gather_id (later), id);
    ck_assert_int_eq (s_value (sf_gather_item (later, 0), "slept_ms"), 400);
    //  One set of jobs ran, and two GROUPs were answered by the key
    ck_assert_int_eq (s_counter ("submitted"), submitted + 2);
    ck_assert_int_eq (s_counter ("deduplicated"), deduplicated + 2);

    //  A key too long is refused before anything is sent
    char long_key [300];
    memset (long_key, 'k', sizeof long_key - 1);
    long_key [sizeof long_key - 1] = 0;
    opts.key = long_key;
    ck_assert (sf_gather (first, jobs, 2, &opts, 5000, &error) == NULL);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, "key"), "%s", error.message);

    //  sheaf gather --key: the same key, the same group
    const char *path = s_file ("keyed.jsonl", "{\"analyzer\":\"echo\",\"params\":{\"i\":1}}\n");
    char *argv [] = { "sheaf", "--broker", fleet->frontend, "gather", "--key", "cli-key",
                      (char *) path, "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 0);
    char *group = strstr (out, "\"group\":\"");
    ck_assert_msg (group, "%s", out);
    char first_group [SF_ID_STRLEN + 1] = { 0 };
    memcpy (first_group, group + 9, SF_ID_STRLEN);
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 0);
    ck_assert_msg (strstr (out, first_group) && strstr (out, "\"i\":1"), "%s", out);
    ck_assert_int_eq (s_counter ("submitted"), submitted + 3);

    sf_gather_destroy (&answer);
    sf_gather_destroy (&joined);
    sf_gather_destroy (&later);
    for (int i = 0; i < 2; i++)
        sf_job_destroy (&jobs [i]);
    sf_client_destroy (&first);
    sf_client_destroy (&second);
}
END_TEST

//  Counts one client's streamed items and keeps its answer.
typedef struct {
    size_t items;               //  Streamed items seen
    bool mixed;                 //  An item of another group arrived
    long base;                  //  This client's first "i"
    sf_gather_t *answer;        //  The summary
} s_share_t;

static void
s_share_item (size_t index, sf_result_t *result, void *arg)
{
    s_share_t *share = (s_share_t *) arg;
    share->items++;
    share->mixed |= s_value (result, "i") != share->base + (long) index;
    sf_result_destroy (&result);
}

static void
s_share_done (sf_gather_t *gather, void *arg)
{
    ((s_share_t *) arg)->answer = gather;
}

START_TEST (test_concurrent_groups)
{
    //  Five clients, each with a group of 2,000 jobs in flight at once:
    //  every group gets exactly its own items, all of them
    enum { CLIENTS = 5, JOBS = 2000 };
    sf_client_t *clients [CLIENTS];
    s_share_t shares [CLIENTS];
    memset (shares, 0, sizeof shares);
    sf_job_t **jobs = (sf_job_t **) malloc (JOBS * sizeof *jobs);
    for (int c = 0; c < CLIENTS; c++) {
        clients [c] = sf_client_new (fleet->frontend);
        shares [c].base = c * 100000;
        for (int i = 0; i < JOBS; i++) {
            jobs [i] = sf_job_new ("echo");
            char value [16];
            snprintf (value, sizeof value, "%d", c * 100000 + i);
            sf_job_set_param (jobs [i], "i", value);
        }
        sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, c % 2 == 0, NULL, NULL };
        char id [SF_ID_STRLEN + 1];
        sf_error_t error;
        ck_assert (sf_gather_start (clients [c], jobs, JOBS, &opts, s_share_item, s_share_done,
                                    &shares [c], id, &error) == 0);
        for (int i = 0; i < JOBS; i++)
            sf_job_destroy (&jobs [i]);
    }
    free (jobs);
    int64_t deadline = zclock_mono () + 30000;
    size_t done = 0;
    while (done < CLIENTS && zclock_mono () < deadline) {
        done = 0;
        for (int c = 0; c < CLIENTS; c++) {
            sf_event_t event;
            ck_assert (sf_client_recv (clients [c], 10, &event) == 0);
            done += shares [c].answer != NULL;
        }
    }
    ck_assert_int_eq (done, CLIENTS);
    for (int c = 0; c < CLIENTS; c++) {
        sf_gather_t *answer = shares [c].answer;
        ck_assert_str_eq (sf_gather_state (answer), "ok");
        ck_assert_int_eq (sf_gather_count (answer, SF_STATUS_OK), JOBS);
        ck_assert (!shares [c].mixed);
        if (c % 2 == 0)
            ck_assert_int_eq (shares [c].items, JOBS);      //  Streamed
        else {
            ck_assert_int_eq (shares [c].items, 0);
            for (int i = 0; i < JOBS; i += 499)
                ck_assert_int_eq (s_value (sf_gather_item (answer, (size_t) i), "i"),
                                  c * 100000 + i);
        }
        sf_gather_destroy (&shares [c].answer);
        sf_client_destroy (&clients [c]);
    }
}
END_TEST

//  Count a streamed group's items as they arrive.
static void
s_count_item (size_t index, sf_result_t *result, void *arg)
{
    (void) index;
    ((s_share_t *) arg)->items++;
    sf_result_destroy (&result);
}

//  Read what has arrived for client without waiting.
static void
s_drain (sf_client_t *client)
{
    sf_event_t event;
    do
        ck_assert (sf_client_recv (client, 0, &event) == 0);
    while (event.kind != SF_EVENT_NONE);
}

START_TEST (test_small_group_not_behind_big_one)
{
    //  One worker, two slots: a group of 2,000 sleep jobs queued first
    //  would hold every later job back until all of it was dispatched.
    //  Sources take turns instead: a small group of another client, and a
    //  single job of a third, all for the same analyzer (one queue),
    //  finish while most of the big group waits.
    enum { BIG = 2000, SMALL = 5 };
    fleet_signal (fleet, s_worker, SIGTERM);
    char *extra [] = { "--enable-test-analyzers", NULL };
    fleet_worker (fleet, "gw2", 1, 2, extra);
    zclock_sleep (300);                 //  The old worker's DISCONNECT is in
    ck_assert (fleet_await_workers (fleet, 1, 5000));

    sf_client_t *big_client = sf_client_new (fleet->frontend);
    sf_job_t **jobs = (sf_job_t **) malloc (BIG * sizeof *jobs);
    for (int i = 0; i < BIG; i++)
        jobs [i] = s_job ("{\"analyzer\":\"sleep\",\"params\":{\"ms\":2}}");
    s_share_t big = { 0 };
    sf_gather_opts_t stream = { SF_GATHER_ALL, 0, 0, true, NULL, NULL };
    char big_id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert (sf_gather_start (big_client, jobs, BIG, &stream, s_count_item, s_share_done,
                                &big, big_id, &error) == 0);
    for (int i = 0; i < BIG; i++)
        sf_job_destroy (&jobs [i]);
    free (jobs);

    sf_client_t *small_client = sf_client_new (fleet->frontend);
    sf_job_t *small_jobs [SMALL];
    for (int i = 0; i < SMALL; i++)
        small_jobs [i] = s_job ("{\"analyzer\":\"sleep\",\"params\":{\"ms\":1}}");
    s_share_t small = { 0 };
    char small_id [SF_ID_STRLEN + 1];
    ck_assert (sf_gather_start (small_client, small_jobs, SMALL, NULL, NULL, s_share_done,
                                &small, small_id, &error) == 0);
    for (int i = 0; i < SMALL; i++)
        sf_job_destroy (&small_jobs [i]);
    sf_client_t *single_client = sf_client_new (fleet->frontend);
    char single_id [SF_ID_STRLEN + 1];
    fleet_submit_json (single_client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":1}}",
                       single_id);

    //  The small group's answer and the single result, each while the big
    //  group has finished fewer than half of its items
    int64_t deadline = zclock_mono () + 30000;
    size_t big_at_small = 0, big_at_single = 0;
    bool single_done = false;
    while ((!small.answer || !single_done) && zclock_mono () < deadline) {
        sf_event_t event;
        ck_assert (sf_client_recv (small_client, 5, &event) == 0);
        if (small.answer && !big_at_small) {
            s_drain (big_client);
            big_at_small = big.items + 1;
        }
        ck_assert (sf_client_recv (single_client, 5, &event) == 0);
        if (event.kind == SF_EVENT_RESULT) {
            ck_assert_int_eq (sf_result_status (event.result), SF_STATUS_OK);
            sf_result_destroy (&event.result);
            s_drain (big_client);
            big_at_single = big.items + 1;
            single_done = true;
        }
        s_drain (big_client);
    }
    ck_assert_msg (small.answer, "the small group never answered");
    ck_assert_msg (single_done, "the single job never finished");
    ck_assert_str_eq (sf_gather_state (small.answer), "ok");
    ck_assert_int_eq (sf_gather_count (small.answer, SF_STATUS_OK), SMALL);
    fprintf (stderr, "check_fleet_gather: big group items done when the small group "
             "answered: %zu, when the single job did: %zu (of %d)\n", big_at_small - 1,
             big_at_single - 1, BIG);
    ck_assert_int_lt (big_at_small - 1, BIG / 2);
    ck_assert_int_lt (big_at_single - 1, BIG / 2);
    ck_assert_ptr_null (big.answer);

    //  And the big group still completes, every item ok
    deadline = zclock_mono () + 60000;
    while (!big.answer && zclock_mono () < deadline) {
        sf_event_t event;
        ck_assert (sf_client_recv (big_client, 100, &event) == 0);
    }
    ck_assert_msg (big.answer, "the big group never answered");
    ck_assert_int_eq (sf_gather_count (big.answer, SF_STATUS_OK), BIG);
    ck_assert_int_eq (big.items, BIG);
    sf_gather_destroy (&big.answer);
    sf_gather_destroy (&small.answer);
    sf_client_destroy (&single_client);
    sf_client_destroy (&small_client);
    sf_client_destroy (&big_client);
}
END_TEST

START_TEST (test_hundred_thousand_jobs)
{
    enum { JOBS = 100000 };
    sf_job_t **jobs = (sf_job_t **) malloc (JOBS * sizeof *jobs);
    for (int i = 0; i < JOBS; i++) {
        jobs [i] = sf_job_new ("echo");
        char value [16];
        snprintf (value, sizeof value, "%d", i);
        sf_job_set_param (jobs [i], "i", value);
    }
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_client_set_timeout (client, 30000);
    sf_error_t error;
    int64_t start = zclock_mono ();
    sf_gather_t *gather = sf_gather (client, jobs, JOBS, NULL, 200000, &error);
    ck_assert_msg (gather, "%s", error.message);
    fprintf (stderr, "check_fleet_gather: 100000 echo jobs gathered in %lld ms\n",
             (long long) (zclock_mono () - start));
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (sf_gather_count (gather, SF_STATUS_OK), JOBS);
    for (int i = 0; i < JOBS; i += 9999)
        ck_assert_int_eq (s_value (sf_gather_item (gather, (size_t) i), "i"), i);
    ck_assert_int_eq (s_value (sf_gather_item (gather, JOBS - 1), "i"), JOBS - 1);
    sf_gather_destroy (&gather);
    for (int i = 0; i < JOBS; i++)
        sf_job_destroy (&jobs [i]);
    free (jobs);
    sf_client_destroy (&client);
}
END_TEST


//  A broker keeping at most 3 finished items.
static void
s_setup_small (void)
{
    fleet = fleet_new ();
    char *flags [] = { "--result-max", "3", NULL };
    fleet_broker (fleet, flags);
    char *extra [] = { "--enable-test-analyzers", NULL };
    fleet_worker (fleet, "gw", 2, 16, extra);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
}

START_TEST (test_kept_groups_are_bounded)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = { "{\"analyzer\":\"echo\"}", "{\"analyzer\":\"echo\"}" };
    sf_gather_t *first = s_gather (client, specs, 2, NULL);
    sf_gather_t *second = s_gather (client, specs, 2, NULL);
    char first_id [SF_ID_STRLEN + 1], item_id [SF_ID_STRLEN + 1];
    snprintf (first_id, sizeof first_id, "%s", sf_gather_id (first));
    snprintf (item_id, sizeof item_id, "%s", sf_result_id (sf_gather_item (first, 0)));
    zclock_sleep (1300);                //  Past a purge tick
    //  Four items kept is one group too many: the older goes, with its jobs
    sf_error_t error;
    ck_assert (sf_client_fetch_group (client, first_id, false, 0, &error) == NULL);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    ck_assert (sf_client_fetch (client, item_id, false, 0, NULL, &error) == NULL);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    //  The newest group is kept even though it alone is near the limit
    sf_gather_t *again = sf_client_fetch_group (client, sf_gather_id (second), false, 0, &error);
    ck_assert_msg (again, "%s", error.message);
    ck_assert_int_eq (sf_gather_count (again, SF_STATUS_OK), 2);
    sf_gather_destroy (&again);
    sf_gather_destroy (&first);
    sf_gather_destroy (&second);
    sf_client_destroy (&client);
}
END_TEST

//  A group's key goes with the group: once it is evicted the key makes a
//  new group
START_TEST (test_group_key_freed_with_its_group)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    const char *specs [] = { "{\"analyzer\":\"echo\"}", "{\"analyzer\":\"echo\"}" };
    sf_gather_opts_t keyed = { SF_GATHER_ALL, 0, 0, false, NULL, "schedule:daily:x" };
    sf_gather_t *first = s_gather (client, specs, 2, &keyed);
    sf_gather_t *other = s_gather (client, specs, 2, NULL);
    zclock_sleep (1300);                //  Past a purge tick: the keyed group is gone
    sf_gather_t *again = s_gather (client, specs, 2, &keyed);
    ck_assert_str_ne (sf_gather_id (again), sf_gather_id (first));
    ck_assert_str_eq (sf_gather_state (again), "ok");
    ck_assert_int_eq (s_counter ("submitted"), 6);
    ck_assert_int_eq (s_counter ("deduplicated"), 0);
    sf_gather_destroy (&first);
    sf_gather_destroy (&other);
    sf_gather_destroy (&again);
    sf_client_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_gather");
    TCase *tcase = tcase_create ("gather");
    tcase_add_checked_fixture (tcase, s_setup, fleet_teardown);
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_all_in_submission_order);
    tcase_add_test (tcase, test_fail_fast_cancels_the_rest);
    tcase_add_test (tcase, test_any_first_ok_wins);
    tcase_add_test (tcase, test_min_ok_quorum);
    tcase_add_test (tcase, test_timeout_partial_results);
    tcase_add_test (tcase, test_stream_order_and_summary);
    tcase_add_test (tcase, test_answer_ends_an_unbounded_wait);
    tcase_add_test (tcase, test_group_outlives_its_client);
    tcase_add_test (tcase, test_own_group_fetched_with_wait);
    tcase_add_test (tcase, test_chord_gets_the_results);
    tcase_add_test (tcase, test_group_jobs_have_no_then);
    tcase_add_test (tcase, test_periodic_report_chord);
    tcase_add_test (tcase, test_cli_gather);
    tcase_add_test (tcase, test_cli_bad_lines_submit_nothing);
    tcase_add_test (tcase, test_group_key_deduplicates);
    suite_add_tcase (suite, tcase);
    TCase *small = tcase_create ("retention");
    tcase_add_checked_fixture (small, s_setup_small, fleet_teardown);
    tcase_set_timeout (small, 60);
    tcase_add_test (small, test_kept_groups_are_bounded);
    tcase_add_test (small, test_group_key_freed_with_its_group);
    suite_add_tcase (suite, small);
    TCase *scale = tcase_create ("scale");
    tcase_add_checked_fixture (scale, s_setup, fleet_teardown);
    tcase_set_timeout (scale, 300);
    tcase_add_test (scale, test_concurrent_groups);
    tcase_add_test (scale, test_small_group_not_behind_big_one);
    tcase_add_test (scale, test_hundred_thousand_jobs);
    suite_add_tcase (suite, scale);
    return suite_run (suite);
}
