/*  =========================================================================
    check_fleet_cli - the `sheaf` command and the example program against a
    real fleet: output, exit codes, results fetched after the submitter left
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <math.h>
#include "fleet.h"
#include "sheaf.h"

static char out [65536];

static void
s_setup (void)
{
    fleet_setup ();
    //  The project's sample candles as the worker's data source
    static char data_dir [512];
    const char *src = getenv ("SHEAF_SRC");
    snprintf (data_dir, sizeof data_dir, "%s/data", src? src: ".");
    static char plugin [512];
    const char *build = getenv ("SHEAF_BUILD");
    snprintf (plugin, sizeof plugin, "%s/examples/plugin_hl2.so", build? build: "build");
    char *extra [] = { "--data-dir", data_dir, "--plugin", plugin, NULL };
    fleet_worker (fleet, "cli-worker", 2, 8, extra);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
}

//  Run `sheaf --broker FRONTEND args…` and return its exit code.
static int
s_sheaf (const char *first, ...)
{
    char *argv [32] = { "sheaf", "--broker", fleet->frontend };
    int count = 3;
    va_list args;
    va_start (args, first);
    for (const char *arg = first; arg && count < 31; arg = va_arg (args, const char *))
        argv [count++] = (char *) arg;
    va_end (args);
    argv [count] = NULL;
    return fleet_run (fleet, argv, out, sizeof out, 20000);
}

static json_t *
s_json (void)
{
    json_error_t error;
    json_t *value = json_loads (out, 0, &error);
    ck_assert_msg (value, "not JSON (%s): %s", error.text, out);
    return value;
}

START_TEST (test_submit_wait_json)
{
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--param", "x=1", "--param", "name=abc",
                               "--param", "flag=true", "--param", "ratio=0.25",
                               "--wait", "--json", NULL), 0);
    json_t *result = s_json ();
    ck_assert_str_eq (json_string_value (json_object_get (result, "status")), "ok");
    ck_assert_str_eq (json_string_value (json_object_get (result, "analyzer")), "echo");
    ck_assert_str_eq (json_string_value (json_object_get (result, "worker")), "cli-worker");
    ck_assert_int_eq (json_integer_value (json_object_get (result, "attempts")), 1);
    json_t *value = json_object_get (result, "result");
    ck_assert_int_eq (json_integer_value (json_object_get (value, "x")), 1);
    ck_assert_str_eq (json_string_value (json_object_get (value, "name")), "abc");
    ck_assert (json_is_true (json_object_get (value, "flag")));
    ck_assert (json_real_value (json_object_get (value, "ratio")) == 0.25);
    ck_assert_int_eq (strlen (json_string_value (json_object_get (result, "id"))), 36);
    ck_assert (json_is_object (json_object_get (result, "timings")));
    json_decref (result);
}
END_TEST

START_TEST (test_indicator_on_sample_data)
{
    ck_assert_int_eq (s_sheaf ("submit", "rsi", "--symbol", "GOOG", "--timeframe", "1d",
                               "--param", "period=14", "--param", "output=last",
                               "--wait", "--json", NULL), 0);
    json_t *result = s_json ();
    json_t *value = json_object_get (result, "result");
    //  The last GOOG close in the sample is 2008-10-14
    ck_assert_int_eq (json_integer_value (json_object_get (value, "ts")), 1223942400000);
    double rsi = json_real_value (json_object_get (value, "rsi"));
    ck_assert_msg (rsi > 0 && rsi < 100, "rsi %g", rsi);
    json_decref (result);
    //  With a state_key: the worker's state rides in the RESULTS header and
    //  the client gets the same result
    ck_assert_int_eq (s_sheaf ("submit", "rsi", "--symbol", "GOOG", "--timeframe", "1d",
                               "--param", "period=14", "--param", "output=last",
                               "--state-key", "goog-rsi14", "--wait", "--json", NULL), 0);
    result = s_json ();
    value = json_object_get (result, "result");
    ck_assert (json_real_value (json_object_get (value, "rsi")) == rsi);
    ck_assert_ptr_null (json_object_get (value, "state"));
    json_decref (result);
    //  A symbol the data source lacks: DATA_FETCH with its context
    ck_assert_int_eq (s_sheaf ("submit", "sma", "--symbol", "NOPE", "--timeframe", "1d",
                               "--wait", "--json", NULL), 1);
    result = s_json ();
    json_t *error = json_object_get (result, "error");
    ck_assert_str_eq (json_string_value (json_object_get (error, "code")), "DATA_FETCH");
    ck_assert_str_eq (json_string_value (json_object_get (json_object_get (error, "context"),
                                                          "symbol")), "NOPE");
    json_decref (result);
}
END_TEST

START_TEST (test_plugin_analyzer)
{
    //  The example plugin's analyzer, served by the worker that loaded it
    ck_assert_int_eq (s_sheaf ("submit", "hl2", "--symbol", "GOOG", "--timeframe", "1d",
                               "--wait", "--json", NULL), 0);
    json_t *result = s_json ();
    json_t *hl2 = json_object_get (json_object_get (result, "result"), "hl2");
    ck_assert_int_eq (json_array_size (hl2), 1047);
    //  2004-08-19: high 104.06, low 95.96
    ck_assert (fabs (json_real_value (json_array_get (hl2, 0)) - 100.01) < 1e-9);
    json_decref (result);
    //  A plugin for another ABI, or no plugin at all: exit 5 with the reason
    const char *build = getenv ("SHEAF_BUILD");
    char wrong [512];
    snprintf (wrong, sizeof wrong, "%s/tests/plugins/plugin_wrong_abi.so", build? build: "build");
    char *wrong_abi [] = { "sheaf-worker", "--plugin", wrong, "--list", NULL };
    ck_assert_int_eq (fleet_run (fleet, wrong_abi, out, sizeof out, 5000), 5);
    char *missing [] = { "sheaf-worker", "--plugin", "/nonexistent/plugin.so", "--list", NULL };
    ck_assert_int_eq (fleet_run (fleet, missing, out, sizeof out, 5000), 5);
}
END_TEST

START_TEST (test_exit_codes)
{
    ck_assert_int_eq (s_sheaf ("submit", "fail", "--wait", NULL), 1);
    ck_assert_int_eq (s_sheaf ("submit", NULL), 2);
    ck_assert_int_eq (s_sheaf ("frobnicate", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--priority", "12", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--param", "novalue", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "Bad Name", NULL), 2);
    ck_assert_int_eq (s_sheaf ("result", "not-an-id", NULL), 2);
    ck_assert_int_eq (s_sheaf ("result", "01234567-89ab-7def-8123-456789abcdef", NULL), 5);
    char *unreachable [] = { "sheaf", "--broker", "tcp://127.0.0.1:1", "--timeout", "300",
                             "status", NULL };
    ck_assert_int_eq (fleet_run (fleet, unreachable, out, sizeof out, 10000), 3);
    ck_assert_int_eq (s_sheaf ("--help", NULL), 0);
    ck_assert_msg (strstr (out, "Exit codes"), "--help does not document exit codes");
}
END_TEST

START_TEST (test_result_after_submitter_left)
{
    //  The submitting process exits at once; the result waits for us
    ck_assert_int_eq (s_sheaf ("submit", "sleep", "--param", "ms=700", NULL), 0);
    char id [64];
    ck_assert_int_eq (sscanf (out, "%63s", id), 1);
    ck_assert_int_eq (strlen (id), 36);
    ck_assert_int_eq (s_sheaf ("result", id, NULL), 6);
    ck_assert_msg (streq (out, "queued\n") || streq (out, "running\n"), "state: %s", out);
    ck_assert_int_eq (s_sheaf ("result", id, "--wait", "--json", NULL), 0);
    json_t *result = s_json ();
    ck_assert_str_eq (json_string_value (json_object_get (result, "id")), id);
    ck_assert_int_eq (json_integer_value (json_object_get (json_object_get (result, "result"),
                                                           "slept_ms")), 700);
    json_decref (result);
    //  And again, from the kept results
    ck_assert_int_eq (s_sheaf ("result", id, NULL), 0);
    ck_assert_str_eq (out, "{\"slept_ms\":700}\n");
}
END_TEST

START_TEST (test_status_and_workers)
{
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--wait", NULL), 0);
    ck_assert_int_eq (s_sheaf ("status", "--json", NULL), 0);
    json_t *status = s_json ();
    ck_assert_int_eq (json_array_size (json_object_get (status, "workers")), 1);
    json_t *counters = json_object_get (status, "counters");
    ck_assert_int_eq (json_integer_value (json_object_get (counters, "submitted")), 1);
    ck_assert_int_eq (json_integer_value (json_object_get (counters, "ok")), 1);
    ck_assert_str_eq (json_string_value (json_object_get (status, "store")), "memory");
    json_decref (status);
    ck_assert_int_eq (s_sheaf ("workers", NULL), 0);
    ck_assert_msg (strstr (out, "cli-worker") && strstr (out, "sma,ema,wma,rsi,macd") && strstr (out, "stats,report,correlation,summary,echo,sleep,fail,hl2"),
                   "%s", out);
    ck_assert_int_eq (s_sheaf ("status", NULL), 0);
    ck_assert_msg (strstr (out, "submitted=1"), "%s", out);
}
END_TEST

START_TEST (test_example_program)
{
    char path [512];
    const char *build = getenv ("SHEAF_BUILD");
    snprintf (path, sizeof path, "%s/examples/gather_echo", build? build: "build");
    char *argv [] = { path, fleet->frontend, "5", NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 20000), 0);
    int lines = 0;
    for (char *p = out; (p = strchr (p, '\n')); p++)
        lines++;
    ck_assert_int_eq (lines, 5);
    ck_assert_msg (strstr (out, "\"index\":4"), "%s", out);
}
END_TEST

START_TEST (test_daemon_flags)
{
    char *broker_help [] = { "sheaf-broker", "--help", NULL };
    ck_assert_int_eq (fleet_run (fleet, broker_help, out, sizeof out, 5000), 0);
    ck_assert_msg (strstr (out, "--frontend") && strstr (out, "SHEAF_FRONTEND"), "%s", out);
    char *broker_bad [] = { "sheaf-broker", "--heartbeat", "abc", NULL };
    ck_assert_int_eq (fleet_run (fleet, broker_bad, out, sizeof out, 5000), 2);
    char *taken [] = { "sheaf-broker", "--frontend", fleet->frontend,
                       "--backend", "tcp://127.0.0.1:0", NULL };
    ck_assert_int_eq (fleet_run (fleet, taken, out, sizeof out, 5000), 3);
    char *worker_list [] = { "sheaf-worker", "--list", NULL };
    ck_assert_int_eq (fleet_run (fleet, worker_list, out, sizeof out, 5000), 0);
    ck_assert_msg (strstr (out, "echo") && strstr (out, "needs --enable-test-analyzers"),
                   "%s", out);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_cli");
    TCase *tcase = tcase_create ("cli");
    tcase_add_checked_fixture (tcase, s_setup, fleet_teardown);
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_submit_wait_json);
    tcase_add_test (tcase, test_indicator_on_sample_data);
    tcase_add_test (tcase, test_plugin_analyzer);
    tcase_add_test (tcase, test_exit_codes);
    tcase_add_test (tcase, test_result_after_submitter_left);
    tcase_add_test (tcase, test_status_and_workers);
    tcase_add_test (tcase, test_example_program);
    tcase_add_test (tcase, test_daemon_flags);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
