/*  =========================================================================
    check_fleet_cli - the `sheaf` command and the example program against a
    real fleet: output, exit codes, results fetched after the submitter left;
    every command's --help and --json shape, errors as JSON, options before
    and after the command, submit's candles, range and parameters, gather's
    group id and its --deadline apart from --timeout
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <math.h>
#include <sys/wait.h>
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
    //  A malformed id is a usage error in every command that takes one
    ck_assert_int_eq (s_sheaf ("cancel", "not-an-id", NULL), 2);
    ck_assert_int_eq (s_sheaf ("cancel", "01234567-89ab-7def-8123-456789abcdef", "nope", NULL),
                      2);
    ck_assert_int_eq (s_sheaf ("dead", "show", "not-an-id", NULL), 2);
    ck_assert_int_eq (s_sheaf ("dead", "retry", "not-an-id", NULL), 2);
    ck_assert_int_eq (s_sheaf ("dead", "purge", "not-an-id", NULL), 2);
    ck_assert_int_eq (s_sheaf ("dead", "list", "extra", NULL), 2);
    ck_assert_int_eq (s_sheaf ("cancel", "01234567-89ab-7def-8123-456789abcdef", NULL), 5);
    //  Values that look like numbers JSON cannot hold, and text that is
    //  not UTF-8, are mistakes rather than strings
    const char *bad [] = { "x=1e999", "x=NaN", "x=-Infinity", "x=2^64",
                           "x=18446744073709551616", "x=007", "x=\xff", "\xff=1", "=1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        ck_assert_msg (s_sheaf ("submit", "echo", "--param", bad [i], NULL) == 2,
                       "--param %s was taken", bad [i]);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--param-json", "x=[1,", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--param-json", "x=abc", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--symbol", "\xff", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--from", "2024-02-30", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--limit", "0", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--candles", "/nonexistent/c.csv", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--wait", "--timeout", "soon", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--bogus", NULL), 2);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--key", NULL), 2);
    //  Nothing of that was sent
    sf_client_t *client = sf_client_new (fleet->frontend);
    ck_assert_int_eq (fleet_counter (client, "submitted"), 1);
    sf_client_destroy (&client);
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


//  ---------------------------------------------------------------------------
//  Every command's help and --json

//  A command and the options its help must name (global ones are checked
//  for every command).
static const struct {
    const char *words [3];      //  The command's words, NULL-terminated
    const char *options [20];   //  Its own options, NULL-terminated
} s_commands [] = {
    { { "submit", NULL }, { "--symbol", "--timeframe", "--from", "--to", "--limit",
                            "--candles", "--param", "--param-json", "--priority",
                            "--job-timeout", "--retries", "--backoff", "--key", "--state-key",
                            "--then", "--wait", NULL } },
    { { "result", NULL }, { "--wait", NULL } },
    { { "gather", NULL }, { "--policy", "--min-ok", "--deadline", "--stream", "--then", "--key",
                            NULL } },
    { { "status", NULL }, { NULL } },
    { { "workers", NULL }, { NULL } },
    { { "cancel", NULL }, { NULL } },
    { { "dead", NULL }, { "list", "show", "retry", "purge", NULL } },
    { { "schedule", "next", NULL }, { "--tz", "-n", "--from", NULL } },
    { { "schedule", "list", NULL }, { "--schedule", "--state", NULL } },
};

START_TEST (test_help_of_every_command)
{
    static char other [65536];
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0]; i++) {
        const char *const *words = s_commands [i].words;
        char name [64];
        snprintf (name, sizeof name, "%s%s%s", words [0], words [1]? " ": "",
                  words [1]? words [1]: "");
        //  sheaf COMMAND --help
        char *argv [8] = { "sheaf" };
        int count = 1;
        for (int j = 0; words [j]; j++)
            argv [count++] = (char *) words [j];
        argv [count++] = "--help";
        argv [count] = NULL;
        ck_assert_msg (fleet_run (fleet, argv, out, sizeof out, 5000) == 0, "%s --help", name);
        char usage [96];
        snprintf (usage, sizeof usage, "usage: sheaf %s", name);
        ck_assert_msg (strstr (out, usage), "sheaf %s --help: %s", name, out);
        for (int j = 0; s_commands [i].options [j]; j++)
            ck_assert_msg (strstr (out, s_commands [i].options [j]),
                           "sheaf %s --help does not mention %s", name, s_commands [i].options [j]);
        const char *globals [] = { "--broker", "--json", "--timeout", "With --json:",
                                   "Exit codes" };
        for (size_t j = 0; j < sizeof globals / sizeof globals [0]; j++)
            ck_assert_msg (strstr (out, globals [j]), "sheaf %s --help lacks %s", name,
                           globals [j]);
        //  sheaf help COMMAND says the same
        char *help [8] = { "sheaf", "help" };
        count = 2;
        for (int j = 0; words [j]; j++)
            help [count++] = (char *) words [j];
        help [count] = NULL;
        snprintf (other, sizeof other, "%s", out);
        ck_assert_msg (fleet_run (fleet, help, out, sizeof out, 5000) == 0, "help %s", name);
        ck_assert_msg (streq (out, other), "sheaf help %s differs from --help", name);
    }
    //  The general help names every command
    char *general [] = { "sheaf", "help", NULL };
    ck_assert_int_eq (fleet_run (fleet, general, out, sizeof out, 5000), 0);
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0]; i++)
        ck_assert_msg (strstr (out, s_commands [i].words [0]), "%s", out);
    char *unknown [] = { "sheaf", "help", "frobnicate", NULL };
    ck_assert_int_eq (fleet_run (fleet, unknown, out, sizeof out, 5000), 2);
    //  --version on every program but the broker, from one place
    const char *programs [] = { "sheaf", "sheaf-worker", "sheaf-scheduler" };
    for (size_t i = 0; i < sizeof programs / sizeof programs [0]; i++) {
        char *version [] = { (char *) programs [i], "--version", NULL };
        ck_assert_int_eq (fleet_run (fleet, version, out, sizeof out, 5000), 0);
        char want [64];
        snprintf (want, sizeof want, "%s %s\n", programs [i], SF_VERSION);
        ck_assert_str_eq (out, want);
    }
}
END_TEST

//  Assert that out is one JSON object holding every key of keys (a
//  NULL-terminated list); returns it.
static json_t *
s_object_with (const char *what, const char *const keys [])
{
    json_error_t error;
    json_t *value = json_loads (out, 0, &error);
    ck_assert_msg (json_is_object (value), "%s: not one JSON object (%s): %s", what, error.text,
                   out);
    for (int i = 0; keys [i]; i++)
        ck_assert_msg (json_object_get (value, keys [i]), "%s: no \"%s\" in %s", what, keys [i],
                       out);
    return value;
}

//  Each line of out is a JSON object; returns how many.
static int
s_json_lines (const char *what)
{
    int lines = 0;
    for (char *line = out; *line; lines++) {
        char *end = strchr (line, '\n');
        ck_assert_msg (end, "%s: a line without its end: %s", what, line);
        *end = 0;
        json_t *value = json_loads (line, 0, NULL);
        ck_assert_msg (json_is_object (value), "%s: line %d is not a JSON object: %s", what,
                       lines + 1, line);
        json_decref (value);
        *end = '\n';
        line = end + 1;
    }
    return lines;
}

static const char *const s_result_keys [] = {
    "id", "status", "analyzer", "attempts", "worker", "timings", NULL
};

//  Write text to the file name in the fleet's directory; returns its path
//  (static).
static const char *
s_file (const char *name, const char *text)
{
    static char path [4][256];
    static int next = 0;
    char *at = path [next++ % 4];
    snprintf (at, 256, "%s/%s", fleet->dir, name);
    FILE *file = fopen (at, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
    return at;
}

START_TEST (test_json_of_every_command)
{
    //  submit, with and without --wait
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--json", NULL), 0);
    json_t *value = s_object_with ("submit", (const char *[]) { "id", NULL });
    char id [SF_ID_STRLEN + 1];
    snprintf (id, sizeof id, "%s", json_string_value (json_object_get (value, "id")));
    json_decref (value);
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--wait", "--json", NULL), 0);
    json_decref (s_object_with ("submit --wait", s_result_keys));
    ck_assert_int_eq (s_sheaf ("submit", "fail", "--wait", "--json", NULL), 1);
    json_decref (s_object_with ("submit --wait of a failing job",
                                (const char *[]) { "id", "status", "error", NULL }));
    //  result, finished and not
    ck_assert_int_eq (s_sheaf ("result", id, "--wait", "--json", NULL), 0);
    json_decref (s_object_with ("result", s_result_keys));
    ck_assert_int_eq (s_sheaf ("submit", "sleep", "--param", "ms=5000", NULL), 0);
    char sleeper [SF_ID_STRLEN + 1];
    ck_assert_int_eq (sscanf (out, "%36s", sleeper), 1);
    ck_assert_int_eq (s_sheaf ("result", sleeper, "--json", NULL), 6);
    json_decref (s_object_with ("result of a running job",
                                (const char *[]) { "id", "state", NULL }));
    //  cancel: one object for all ids, an unknown one included
    ck_assert_int_eq (s_sheaf ("cancel", sleeper, id, "01234567-89ab-7def-8123-456789abcdef",
                               "--json", NULL), 5);
    value = s_object_with ("cancel", (const char *[]) { "items", NULL });
    json_t *items = json_object_get (value, "items");
    ck_assert_int_eq (json_array_size (items), 3);
    const char *outcomes [] = { "cancelled", "finished", "not_found" };
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq (json_string_value (json_object_get (json_array_get (items, i),
                                                              "outcome")), outcomes [i]);
    json_decref (value);
    //  status, workers, dead letters
    ck_assert_int_eq (s_sheaf ("status", "--json", NULL), 0);
    json_decref (s_object_with ("status", (const char *[]) { "version", "store", "uptime_ms",
                                "queues", "workers", "jobs", "counters", NULL }));
    ck_assert_int_eq (s_sheaf ("workers", "--json", NULL), 0);
    value = s_object_with ("workers", (const char *[]) { "workers", NULL });
    ck_assert_int_eq (json_array_size (json_object_get (value, "workers")), 1);
    json_decref (value);
    ck_assert_int_eq (s_sheaf ("dead", "list", "--json", NULL), 0);
    json_decref (s_object_with ("dead list", (const char *[]) { "dead", NULL }));
    ck_assert_int_eq (s_sheaf ("dead", "retry", "--json", NULL), 0);
    json_decref (s_object_with ("dead retry", (const char *[]) { "retried", NULL }));
    ck_assert_int_eq (s_sheaf ("dead", "purge", "--json", NULL), 0);
    json_decref (s_object_with ("dead purge", (const char *[]) { "purged", NULL }));
    //  gather: JSON lines, the summary last
    const char *jobs = s_file ("jobs.jsonl", "{\"analyzer\":\"echo\",\"params\":{\"i\":0}}\n"
                                             "{\"analyzer\":\"echo\",\"params\":{\"i\":1}}\n");
    ck_assert_int_eq (s_sheaf ("gather", jobs, "--json", NULL), 0);
    ck_assert_int_eq (s_json_lines ("gather"), 3);
    char *summary = strstr (out, "{\"group\"");
    ck_assert_msg (summary && strstr (summary, "\"state\":\"ok\"") && strstr (summary, "\"total\":2"),
                   "%s", out);
    //  schedule next and list
    char *next [] = { "sheaf", "schedule", "next", "@daily", "-n", "2", "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, next, out, sizeof out, 5000), 0);
    value = s_object_with ("schedule next", (const char *[]) { "expression", "timezone",
                           "times", NULL });
    ck_assert_int_eq (json_array_size (json_object_get (value, "times")), 2);
    json_decref (value);
    const char *schedule = s_file ("tick.conf", "[tick]\nschedule = @every 1h\n"
                                                "job = {\"analyzer\": \"echo\"}\n");
    char *list [] = { "sheaf", "schedule", "list", "--schedule", (char *) schedule, "--json",
                      NULL };
    ck_assert_int_eq (fleet_run (fleet, list, out, sizeof out, 5000), 0);
    value = s_object_with ("schedule list", (const char *[]) { "entries", NULL });
    ck_assert_str_eq (json_string_value (json_object_get (
        json_array_get (json_object_get (value, "entries"), 0), "name")), "tick");
    json_decref (value);
}
END_TEST

START_TEST (test_errors_as_json)
{
    static const char *const error_keys [] = { "error", NULL };
    struct {
        int rc;                 //  The exit code
        const char *code;       //  The error's code
        const char *args [8];   //  After sheaf --broker FRONTEND
    } cases [] = {
        { 2, "USAGE", { "result", "not-an-id", "--json", NULL } },
        { 2, "USAGE", { "submit", "echo", "--priority", "12", "--json", NULL } },
        { 2, "USAGE", { "--json", "frobnicate", NULL } },
        { 2, "USAGE", { "submit", "echo", "--bogus", "--json", NULL } },
        { 5, "NOT_FOUND", { "result", "01234567-89ab-7def-8123-456789abcdef", "--json", NULL } },
        { 6, "NOT_FINISHED", { "submit", "sleep", "--param", "ms=3000", "--wait", "--timeout",
                               "300", "--json" } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        int rc = s_sheaf (cases [i].args [0], cases [i].args [1], cases [i].args [2],
                          cases [i].args [3], cases [i].args [4], cases [i].args [5],
                          cases [i].args [6], cases [i].args [7], NULL);
        ck_assert_msg (rc == cases [i].rc, "case %zu: exit %d, not %d", i, rc, cases [i].rc);
        json_t *value = s_object_with (cases [i].args [0], error_keys);
        json_t *error = json_object_get (value, "error");
        ck_assert_str_eq (json_string_value (json_object_get (error, "code")), cases [i].code);
        ck_assert (json_string_length (json_object_get (error, "message")) > 0);
        json_decref (value);
    }
    //  An unreachable broker
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", fleet_free_port ());
    char *argv [] = { "sheaf", "--json", "--broker", endpoint, "--timeout", "300", "status",
                      NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 10000), 3);
    json_t *value = s_object_with ("status", error_keys);
    ck_assert_str_eq (json_string_value (json_object_get (json_object_get (value, "error"),
                                                          "code")), "UNREACHABLE");
    json_decref (value);
}
END_TEST

START_TEST (test_options_before_and_after_the_command)
{
    //  Global options before the command, after it, and after its argument
    char *before [] = { "sheaf", "--json", "--timeout", "5000", "--broker", fleet->frontend,
                        "submit", "echo", "--param", "x=1", "--wait", NULL };
    ck_assert_int_eq (fleet_run (fleet, before, out, sizeof out, 20000), 0);
    json_decref (s_object_with ("before", s_result_keys));
    char *after [] = { "sheaf", "submit", "--wait", "echo", "--broker", fleet->frontend,
                       "--timeout=5000", "--param=x=1", "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, after, out, sizeof out, 20000), 0);
    json_t *value = s_object_with ("after", s_result_keys);
    ck_assert_int_eq (json_integer_value (json_object_get (json_object_get (value, "result"),
                                                           "x")), 1);
    json_decref (value);
    char *status [] = { "sheaf", "status", "--broker", fleet->frontend, "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, status, out, sizeof out, 20000), 0);
    json_decref (s_object_with ("status", (const char *[]) { "counters", NULL }));
}
END_TEST

//  ---------------------------------------------------------------------------
//  submit: candles, a range, parameters, a job on stdin; reals as written

START_TEST (test_submit_candles_range_and_params)
{
    //  Inline candles from a CSV file in the data directory's format
    const char *csv = s_file ("five.csv", "ts,open,high,low,close,volume\n"
        "2024-01-01T00:00:00Z,10,11,9,10.5,100\n"
        "2024-01-01T00:01:00Z,10.5,12,10,11.5,200\n"
        "1704067320000,11.5,12,11,11.75,150\n"
        "2024-01-01T00:03:00Z,11.75,13,11.5,12.25,300\n"
        "2024-01-01T00:04:00Z,12.25,12.5,11,11.25,250\n");
    ck_assert_int_eq (s_sheaf ("submit", "sma", "--candles", csv, "--param", "period=2",
                               "--wait", NULL), 0);
    ck_assert_str_eq (out, "{\"ts\":[1704067200000,1704067260000,1704067320000,1704067380000,"
                           "1704067440000],\"sma\":[null,11.0,11.625,12.0,11.75]}\n");
    const char *bad = s_file ("bad.csv", "ts,open,high,low,close,volume\n"
                                         "2024-01-01T00:00:00Z,10,11,9,10.5\n");
    ck_assert_int_eq (s_sheaf ("submit", "sma", "--candles", bad, NULL), 2);
    //  A range and a limit on the sample data (GOOG daily)
    ck_assert_int_eq (s_sheaf ("submit", "sma", "--symbol", "GOOG", "--timeframe", "1d",
                               "--from", "2004-08-20", "--to", "2004-08-25T00:00:00Z",
                               "--param", "period=2", "--wait", "--json", NULL), 0);
    json_t *value = s_object_with ("range", s_result_keys);
    json_t *ts = json_object_get (json_object_get (value, "result"), "ts");
    ck_assert_int_eq (json_array_size (ts), 4);     //  20, 23, 24, 25 August
    ck_assert_int_eq (json_integer_value (json_array_get (ts, 0)), 1092960000000);
    json_decref (value);
    ck_assert_int_eq (s_sheaf ("submit", "sma", "--symbol", "GOOG", "--timeframe", "1d",
                               "--from", "1092960000000", "--limit", "3", "--param", "period=2",
                               "--wait", "--json", NULL), 0);
    value = s_object_with ("limit", s_result_keys);
    ts = json_object_get (json_object_get (value, "result"), "ts");
    ck_assert_int_eq (json_array_size (ts), 3);
    ck_assert_int_eq (json_integer_value (json_array_get (ts, 2)), 1223942400000);
    json_decref (value);
    //  Parameters: JSON when they are JSON, text otherwise, structured with
    //  --param-json; reals printed as written
    ck_assert_int_eq (s_sheaf ("submit", "echo", "--param", "price=362.71", "--param",
                               "day=2024-01-31", "--param", "label=\"2^64\"", "--param",
                               "version=1.0.0", "--param-json", "weights=[0.5,1.5]",
                               "--param-json", "nested={\"a\":{\"b\":0.1}}", "--wait", NULL), 0);
    ck_assert_str_eq (out, "{\"price\":362.71,\"day\":\"2024-01-31\",\"label\":\"2^64\","
                           "\"version\":\"1.0.0\",\"weights\":[0.5,1.5],"
                           "\"nested\":{\"a\":{\"b\":0.1}}}\n");
    //  A job as JSON on stdin, options on top
    char command [1024];
    snprintf (command, sizeof command, "printf '%%s' '{\"analyzer\":\"echo\",\"params\":"
              "{\"a\":1}}' | %s --broker %s submit - --param b=2.5 --wait",
              fleet_bin ("sheaf"), fleet->frontend);
    char *shell [] = { "/bin/sh", "-c", command, NULL };
    ck_assert_int_eq (fleet_run (fleet, shell, out, sizeof out, 20000), 0);
    ck_assert_str_eq (out, "{\"a\":1,\"b\":2.5}\n");
    snprintf (command, sizeof command, "echo '{\"analyzer\":1}' | %s --broker %s submit -",
              fleet_bin ("sheaf"), fleet->frontend);
    ck_assert_int_eq (fleet_run (fleet, shell, out, sizeof out, 20000), 2);
}
END_TEST

//  ---------------------------------------------------------------------------
//  gather: its group id at once, --deadline for the group, --timeout for
//  the command; exit codes count every status but ok

START_TEST (test_gather_id_deadline_and_timeout)
{
    const char *slow = s_file ("slow.jsonl", "{\"analyzer\":\"sleep\",\"params\":{\"ms\":2000}}\n");
    //  The group's id comes on stderr while the command still waits
    char errors [256], command [1024];
    snprintf (errors, sizeof errors, "%s/gather.err", fleet->dir);
    snprintf (command, sizeof command, "exec %s --broker %s gather %s >/dev/null 2>%s",
              fleet_bin ("sheaf"), fleet->frontend, slow, errors);
    char *shell [] = { "/bin/sh", "-c", command, NULL };
    pid_t gather = fleet_spawn (fleet, "gather", shell);
    char group [SF_ID_STRLEN + 1] = "";
    int64_t deadline = zclock_mono () + 10000;
    while (!group [0] && zclock_mono () < deadline) {
        FILE *file = fopen (errors, "r");
        char line [256] = "";
        if (file && fgets (line, sizeof line, file))
            sscanf (line, "sheaf: gather: group %36s accepted", group);
        if (file)
            fclose (file);
        if (!group [0])
            zclock_sleep (20);
    }
    ck_assert_msg (group [0], "no group id on stderr");
    ck_assert_int_eq (fleet_wait (fleet, gather, 0), -1);      //  Still waiting
    int status = fleet_wait (fleet, gather, 20000);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_int_eq (s_sheaf ("result", group, "--json", NULL), 0);
    ck_assert_msg (strstr (out, group), "%s", out);

    //  --timeout: the command stops waiting, the group goes on
    ck_assert_int_eq (s_sheaf ("gather", slow, "--timeout", "300", "--json", NULL), 6);
    json_t *value = s_object_with ("gather --timeout", (const char *[]) { "error", NULL });
    json_t *error = json_object_get (value, "error");
    ck_assert_str_eq (json_string_value (json_object_get (error, "code")), "NOT_FINISHED");
    char running [SF_ID_STRLEN + 1];
    snprintf (running, sizeof running, "%s", json_string_value (json_object_get (error, "id")));
    json_decref (value);
    ck_assert_int_eq (s_sheaf ("result", running, "--wait", "--json", NULL), 0);
    //  --deadline: the group's own, which answers timeout
    ck_assert_int_eq (s_sheaf ("gather", slow, "--deadline", "300", "--json", NULL), 7);
    ck_assert_msg (strstr (out, "\"state\":\"timeout\""), "%s", out);

    //  A group that succeeds with a cancelled item: exit 1
    const char *any = s_file ("any.jsonl", "{\"analyzer\":\"echo\"}\n"
                                           "{\"analyzer\":\"sleep\",\"params\":{\"ms\":5000}}\n");
    ck_assert_int_eq (s_sheaf ("gather", any, "--policy", "any", "--json", NULL), 1);
    ck_assert_msg (strstr (out, "\"state\":\"ok\"") && strstr (out, "\"cancelled\":1"), "%s",
                   out);
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
    tcase_add_test (tcase, test_help_of_every_command);
    tcase_add_test (tcase, test_json_of_every_command);
    tcase_add_test (tcase, test_errors_as_json);
    tcase_add_test (tcase, test_options_before_and_after_the_command);
    tcase_add_test (tcase, test_submit_candles_range_and_params);
    tcase_add_test (tcase, test_gather_id_deadline_and_timeout);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
