/*  =========================================================================
    submit - `sheaf submit ANALYZER …`: submit one job, print its id or,
    with --wait, its result (with --then, the result of the chain's last
    job)
    ========================================================================= */

#include <czmq.h>
#include <jansson.h>
#include "sf_alloc.h"
#include "sf_cli.h"

//  A --param value as JSON text: JSON values as they are, anything else as
//  a string. The caller frees the result.
static char *
s_param_json (const char *value)
{
    json_t *parsed = json_loads (value, JSON_DECODE_ANY, NULL);
    if (!parsed)
        parsed = json_string (value);
    if (!parsed)
        return NULL;            //  Not UTF-8
    char *text = json_dumps (parsed, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref (parsed);
    return text;
}

int
sf_cli_submit (sf_cli_t *cli, int argc, char *argv [])
{
    if (argc < 1 || argv [0][0] == '-') {
        fprintf (stderr, "sheaf: submit needs an analyzer name (see sheaf --help)\n");
        return SF_EXIT_USAGE;
    }
    sf_job_t *job = sf_job_new (argv [0]);
    if (!job) {
        fprintf (stderr, "sheaf: \"%s\" is not an analyzer name (1-64 of a-z 0-9 _ - .)\n",
                 argv [0]);
        return SF_EXIT_USAGE;
    }
    bool wait = false;
    int rc = SF_EXIT_OK;
    for (int i = 1; i < argc && rc == SF_EXIT_OK; i++) {
        if (sf_cli_global_option (cli, argc, argv, &i))
            continue;
        const char *option = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        int set = 0;
        if (streq (option, "--wait"))
            wait = true;
        else
        if (!value) {
            fprintf (stderr, "sheaf: submit: unknown option or missing value \"%s\"\n", option);
            rc = SF_EXIT_USAGE;
        }
        else {
            i++;
            if (streq (option, "--symbol"))
                set = sf_job_set_symbol (job, value);
            else
            if (streq (option, "--timeframe"))
                set = sf_job_set_timeframe (job, value);
            else
            if (streq (option, "--priority"))
                set = sf_job_set_priority (job, (int) sf_cli_number ("priority", value, 0, 9));
            else
            if (streq (option, "--job-timeout"))
                set = sf_job_set_timeout (job, sf_cli_number ("job-timeout", value, 1, UINT32_MAX));
            else
            if (streq (option, "--retries"))
                set = sf_job_set_retries (job, (int) sf_cli_number ("retries", value, 0, 100));
            else
            if (streq (option, "--backoff"))
                set = sf_job_set_backoff (job, sf_cli_number ("backoff", value, 0, 3600000));
            else
            if (streq (option, "--key"))
                set = sf_job_set_key (job, value);
            else
            if (streq (option, "--state-key"))
                set = sf_job_set_state_key (job, value);
            else
            if (streq (option, "--then")) {
                sf_error_t error;
                sf_job_t *next = sf_job_from_json (value, &error);
                if (!next || sf_job_set_then (job, next)) {
                    fprintf (stderr, "sheaf: submit: --then: %s\n",
                             next? "a follow-up nests more than 8 deep or has a key":
                                   error.message);
                    rc = SF_EXIT_USAGE;
                }
                sf_job_destroy (&next);
            }
            else
            if (streq (option, "--param")) {
                const char *equals = strchr (value, '=');
                char *json = equals? s_param_json (equals + 1): NULL;
                char *name = equals? sf_alloc_strndup (value, (size_t) (equals - value)): NULL;
                if (!json || !name || !*name || sf_job_set_param (job, name, json)) {
                    fprintf (stderr, "sheaf: --param wants NAME=VALUE, not \"%s\"\n", value);
                    rc = SF_EXIT_USAGE;
                }
                free (json);
                free (name);
            }
            else {
                fprintf (stderr, "sheaf: submit: unknown option \"%s\"\n", option);
                rc = SF_EXIT_USAGE;
            }
            if (set) {
                fprintf (stderr, "sheaf: submit: %s \"%s\" is out of range\n", option, value);
                rc = SF_EXIT_USAGE;
            }
        }
    }
    if (rc != SF_EXIT_OK) {
        sf_job_destroy (&job);
        return rc;
    }
    //  --timeout bounds the wait for the result; the acknowledgement
    //  always gets the default reply time unless that is longer
    sf_cli_t connect = *cli;
    if (wait)
        connect.timeout_ms = -1;
    sf_client_t *client = sf_cli_connect (&connect);
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    if (sf_client_submit (client, job, id, &error))
        rc = sf_cli_fail ("submit", &error);
    else
    if (!wait) {
        if (cli->json)
            printf ("{\"id\":\"%s\"}\n", id);
        else
            puts (id);
    }
    else {
        int timeout = cli->timeout_ms >= 0? cli->timeout_ms: 60000;
        int64_t deadline = zclock_mono () + timeout;
        sf_result_t *result = sf_client_fetch (client, id, true, timeout, NULL, &error);
        //  A chain: each job that ended ok names its follow-up, whose
        //  result comes to this client next; the last one is printed
        while (result && sf_result_then_id (result)) {
            snprintf (id, sizeof id, "%s", sf_result_then_id (result));
            sf_result_destroy (&result);
            int64_t left = deadline - zclock_mono ();
            result = sf_client_fetch (client, id, true, left > 0? (int) left: 0, NULL, &error);
        }
        if (result) {
            rc = sf_cli_print_result (cli, result);
            sf_result_destroy (&result);
        }
        else {
            fprintf (stderr, "sheaf: job %s did not finish within %d ms; "
                             "`sheaf result %s` shows it later\n", id, timeout, id);
            rc = SF_EXIT_NOT_FINISHED;
        }
    }
    sf_client_destroy (&client);
    sf_job_destroy (&job);
    return rc;
}
