/*  =========================================================================
    submit - `sheaf submit ANALYZER|- [OPTIONS]`: submit one job, print its
    id or, with --wait, its result (with --then, the result of the chain's
    last job)

    The job comes from the options, or as JSON on stdin ("-") with the
    options applied on top. Every value is checked before anything is
    sent: a --param value that looks like a number JSON cannot hold
    (1e999, NaN, 2^64) is a mistake, not a string, and so is text that is
    not UTF-8. With --wait the command waits on the id the broker answered,
    which for a known --key is the existing job's.
    ========================================================================= */

#include <czmq.h>
#include <ctype.h>
#include <jansson.h>
#include "sf_alloc.h"
#include "sf_candles.h"
#include "sf_cli.h"

static const sf_cli_option_t s_options [] = {
    { "--symbol", NULL, "S", "the instrument (1-64 characters)" },
    { "--timeframe", NULL, "TF", "the candle period (1-16 characters)" },
    { "--from", NULL, "TIME", "the first candle: ISO-8601 (2024-01-31, 2024-01-31T09:30Z, "
      "2024-01-31 09:30:00+02:00) or epoch milliseconds" },
    { "--to", NULL, "TIME", "the last candle, in the same forms" },
    { "--limit", NULL, "N", "only the latest N candles (1-100000000)" },
    { "--candles", NULL, "FILE", "inline candles from a CSV file in the --data-dir format: "
      "header ts,open,high,low,close,volume, ts as ISO-8601 or epoch ms, increasing" },
    { "--param", NULL, "NAME=VALUE", "a parameter (repeatable): VALUE is sent as JSON when "
      "it is JSON (14, 0.5, true, null, \"text\", [1,2], {...}), else as a string; a VALUE "
      "that looks like a number JSON cannot hold (1e999, NaN, 2^64, 007) is a mistake" },
    { "--param-json", NULL, "NAME=JSON", "a parameter given as JSON text, which must parse "
      "(repeatable): --param-json 'weights=[0.5,1.5]'" },
    { "--priority", NULL, "0-9", "9 is dispatched first (default 5)" },
    { "--job-timeout", NULL, "MS", "the job's time limit per attempt (default 30000)" },
    { "--retries", NULL, "N", "attempts after the first, 0-100 (default 3)" },
    { "--backoff", NULL, "MS", "delay before the first retry, 0-3600000 (default 1000)" },
    { "--key", NULL, "KEY", "idempotency key (1-256 bytes): while the broker knows the "
      "key, the submit gets that job's id and --wait its result" },
    { "--state-key", NULL, "KEY", "continue the analyzer state kept under KEY (incremental "
      "indicators)" },
    { "--then", NULL, "JOB_JSON", "a follow-up job run on this one's result when it ends ok "
      "(in its params.previous)" },
    { "--wait", NULL, NULL, "wait for the result and print it (with --then, the chain's last "
      "result, or the first that did not end ok)" },
    { NULL, NULL, NULL, NULL }
};

static sf_cli_run_fn s_run;

const sf_cli_command_t sf_cli_submit = {
    "submit", "ANALYZER|- [OPTIONS]",
    "submit a job; print its id, or with --wait its result",
    "Submits one job to ANALYZER, or the JSON job read from stdin when the argument is - "
    "(the options then change it). Prints the job's id once the broker has acknowledged "
    "it; with --wait, the result: the analyzer's output as JSON, or the error on stderr "
    "(exit 1).",
    "{\"id\": ID} once acknowledged; with --wait the result object {\"id\", \"status\", "
    "\"analyzer\", \"result\" | \"error\", \"attempts\", \"worker\", \"timings\"} "
    "(exit 1 when its status is not ok).",
    s_options, s_run
};

//  True when text is valid UTF-8 (Jansson refuses a string that is not).
static bool
s_utf8 (const char *text)
{
    json_t *string = json_string (text);
    json_decref (string);
    return string != NULL;
}

//  True when text reads as a number to a person: all of it parses with
//  strtod (1e999, +5, .5, 007, 0x1F, NaN, Infinity) or it is a power
//  written with ^ (2^64).
static bool
s_numeric (const char *text)
{
    const char *start = text + (text [0] == '+' || text [0] == '-');
    if (!*start)
        return false;
    char *end;
    strtod (text, &end);
    if (end != text && *end == 0)
        return true;
    const char *caret = strchr (start, '^');
    if (caret && caret > start && caret [1]) {
        for (const char *c = start; *c; c++)
            if (!isdigit ((unsigned char) *c) && !strchr ("^.+-eE", *c))
                return false;
        return true;
    }
    return false;
}

//  A --param or --param-json NAME=VALUE as its name and JSON value.
//  Returns 0, or the exit code after reporting what was wrong.
static int
s_param (sf_cli_t *cli, sf_job_t *job, const char *option, const char *text, bool json_only)
{
    const sf_cli_command_t *command = &sf_cli_submit;
    const char *equals = strchr (text, '=');
    if (!equals || equals == text)
        return sf_cli_usage (cli, command, "%s wants NAME=%s, not \"%s\"", option,
                             json_only? "JSON": "VALUE", text);
    char *name = sf_alloc_strndup (text, (size_t) (equals - text));
    const char *value = equals + 1;
    int rc = 0;
    json_error_t error;
    json_t *parsed = json_loads (value, JSON_DECODE_ANY, &error);
    if (!s_utf8 (name))
        rc = sf_cli_usage (cli, command, "%s: the name is not valid UTF-8", option);
    else
    if (!parsed && json_only)
        rc = sf_cli_usage (cli, command, "%s %s: not JSON: %s", option, name, error.text);
    else
    if (!parsed && s_numeric (value))
        rc = sf_cli_usage (cli, command, "%s %s: \"%s\" looks like a number but JSON cannot "
                           "hold it (out of range, NaN, infinity or not a JSON number); "
                           "for the text, quote it: %s='\"%s\"'", option, name, value, name,
                           value);
    else
    if (!parsed && !s_utf8 (value))
        rc = sf_cli_usage (cli, command, "%s %s: the value is not valid UTF-8", option, name);
    else {
        if (!parsed)
            parsed = json_string (value);
        char *json = json_dumps (parsed, JSON_ENCODE_ANY | JSON_COMPACT);
        if (sf_job_set_param (job, name, json))
            rc = sf_cli_usage (cli, command, "%s %s: not a parameter value", option, name);
        free (json);
    }
    json_decref (parsed);
    free (name);
    return rc;
}

//  Read the whole of stdin; the caller frees it.
static char *
s_read_stdin (void)
{
    size_t size = 0, max = 4096;
    char *text = (char *) sf_alloc (max);
    size_t got;
    while ((got = fread (text + size, 1, max - size - 1, stdin)) > 0) {
        size += got;
        if (size + 1 == max) {
            max *= 2;
            text = (char *) sf_alloc_resize (text, max, 1);
        }
    }
    text [size] = 0;
    return text;
}

//  Apply one option to the job. Returns 0, or the exit code after
//  reporting what was wrong.
static int
s_apply (sf_cli_t *cli, sf_job_t *job, const char *option, const char *value)
{
    const sf_cli_command_t *command = &sf_cli_submit;
    long long number = 0;
    int rc = 0;
    bool text = streq (option, "--symbol") || streq (option, "--timeframe")
             || streq (option, "--key") || streq (option, "--state-key");
    if (text && !s_utf8 (value))
        return sf_cli_usage (cli, command, "%s is not valid UTF-8", option);
    if (streq (option, "--symbol")) {
        if (sf_job_set_symbol (job, value))
            rc = sf_cli_usage (cli, command, "--symbol must be 1-64 characters");
    }
    else
    if (streq (option, "--timeframe")) {
        if (sf_job_set_timeframe (job, value))
            rc = sf_cli_usage (cli, command, "--timeframe must be 1-16 characters");
    }
    else
    if (streq (option, "--key")) {
        if (sf_job_set_key (job, value))
            rc = sf_cli_usage (cli, command, "--key must be 1-256 bytes");
    }
    else
    if (streq (option, "--state-key")) {
        if (sf_job_set_state_key (job, value))
            rc = sf_cli_usage (cli, command, "--state-key must be 1-256 bytes");
    }
    else
    if (streq (option, "--from") || streq (option, "--to")) {
        if ((streq (option, "--from")? sf_job_set_from: sf_job_set_to) (job, value))
            rc = sf_cli_usage (cli, command, "%s must be ISO-8601 (2024-01-31, "
                               "2024-01-31T09:30:00Z, 2024-01-31 09:30+02:00) or epoch "
                               "milliseconds, not \"%s\"", option, value);
    }
    else
    if (streq (option, "--limit")) {
        if (!(rc = sf_cli_integer (cli, command, option, value, 1, 100000000, &number)))
            sf_job_set_limit (job, number);
    }
    else
    if (streq (option, "--priority")) {
        if (!(rc = sf_cli_integer (cli, command, option, value, 0, 9, &number)))
            sf_job_set_priority (job, (int) number);
    }
    else
    if (streq (option, "--job-timeout")) {
        if (!(rc = sf_cli_integer (cli, command, option, value, 1, UINT32_MAX, &number)))
            sf_job_set_timeout (job, number);
    }
    else
    if (streq (option, "--retries")) {
        if (!(rc = sf_cli_integer (cli, command, option, value, 0, 100, &number)))
            sf_job_set_retries (job, (int) number);
    }
    else
    if (streq (option, "--backoff")) {
        if (!(rc = sf_cli_integer (cli, command, option, value, 0, 3600000, &number)))
            sf_job_set_backoff (job, number);
    }
    else
    if (streq (option, "--candles")) {
        sf_error_t error;
        sf_candles_t *candles = sf_candles_load_csv (value, &error);
        if (!candles)
            rc = sf_cli_usage (cli, command, "--candles: %s", error.message);
        else
        if (sf_job_set_candles (job, candles->ts, candles->open, candles->high, candles->low,
                                candles->close, candles->volume, candles->size))
            rc = sf_cli_usage (cli, command, "--candles: %s holds no candles", value);
        sf_candles_destroy (&candles);
    }
    else
    if (streq (option, "--then")) {
        sf_error_t error;
        sf_job_t *next = sf_job_from_json (value, &error);
        if (!next)
            rc = sf_cli_usage (cli, command, "--then: %s", error.message);
        else
        if (sf_job_set_then (job, next))
            rc = sf_cli_usage (cli, command, "--then: a follow-up nests at most 8 deep and has "
                               "no key");
        sf_job_destroy (&next);
    }
    else
    if (streq (option, "--param") || streq (option, "--param-json"))
        rc = s_param (cli, job, option, value, streq (option, "--param-json"));
    return rc;
}

//  Wait for the result of job id and, along a chain, its follow-ups';
//  print the last. Returns the exit code.
static int
s_wait (sf_cli_t *cli, sf_client_t *client, char id [SF_ID_STRLEN + 1])
{
    int wait_ms = sf_cli_left (cli, 60000);
    int64_t deadline = zclock_mono () + wait_ms;
    sf_error_t error;
    sf_result_t *result = sf_client_fetch (client, id, true, wait_ms, NULL, &error);
    //  A chain: each job that ended ok names its follow-up, whose result
    //  comes next; the last one is printed
    while (result && sf_result_then_id (result)) {
        snprintf (id, SF_ID_STRLEN + 1, "%s", sf_result_then_id (result));
        sf_result_destroy (&result);
        int64_t left = deadline - zclock_mono ();
        result = sf_client_fetch (client, id, true, left > 0? (int) left: 0, NULL, &error);
    }
    if (result) {
        int rc = sf_cli_print_result (cli, result);
        sf_result_destroy (&result);
        return rc;
    }
    if (streq (error.code, "TIMEOUT"))
        return sf_cli_error (cli, SF_EXIT_NOT_FINISHED, "NOT_FINISHED", id,
                             "job %s did not finish within %d ms; `sheaf result %s` shows "
                             "it later", id, wait_ms, id);
    return sf_cli_fail (cli, "submit", &error);
}

static int
s_run (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    sf_cli_args_t args;
    int rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (rc >= 0)
        return rc;
    rc = 0;
    sf_job_t *job = NULL;
    if (args.word_count != 1)
        rc = sf_cli_usage (cli, command, "which analyzer? (one name, or - for a JSON job on "
                           "stdin)");
    else
    if (streq (args.words [0], "-")) {
        char *text = s_read_stdin ();
        sf_error_t error;
        job = sf_job_from_json (text, &error);
        free (text);
        if (!job)
            rc = sf_cli_usage (cli, command, "the job on stdin: %s", error.message);
    }
    else {
        job = sf_job_new (args.words [0]);
        if (!job)
            rc = sf_cli_usage (cli, command, "\"%s\" is not an analyzer name (1-64 of a-z 0-9 "
                               "_ - .)", args.words [0]);
    }
    bool wait = false;
    for (size_t i = 0; rc == 0 && i < args.option_count; i++) {
        if (streq (args.options [i].name, "--wait"))
            wait = true;
        else
            rc = s_apply (cli, job, args.options [i].name, args.options [i].value);
    }
    sf_cli_args_free (&args);
    sf_client_t *client = rc? NULL: sf_cli_connect (cli, &rc);
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    if (!client)
        ;
    else
    if (sf_client_submit (client, job, id, &error))
        rc = sf_cli_fail (cli, "submit", &error);
    else
    if (wait)
        rc = s_wait (cli, client, id);
    else
    if (cli->json)
        sf_cli_print_json (json_pack ("{s:s}", "id", id));
    else
        puts (id);
    sf_client_destroy (&client);
    sf_job_destroy (&job);
    return rc;
}
