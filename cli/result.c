/*  =========================================================================
    result - `sheaf result ID [--wait]`: a job's or a group's result, or
    its state
    ========================================================================= */

#include <czmq.h>
#include "sf_cli.h"

static const sf_cli_option_t s_options [] = {
    { "--wait", NULL, NULL, "wait until the job or group has finished" },
    { NULL, NULL, NULL, NULL }
};

static sf_cli_run_fn s_run;

const sf_cli_command_t sf_cli_result = {
    "result", "ID [--wait]",
    "a job's or a group's result, or its state while it runs",
    "Prints the result of job ID (its value as JSON, or the error on stderr with exit 1), "
    "or the answer of group ID (each item as a JSON line in submission order, or the "
    "chord's result), also after the client that submitted it has gone. A job that has not "
    "finished prints its state, queued, running or retrying, and exits 6; a group prints "
    "running. With --wait it waits for the end instead, up to --timeout (default 60000 ms).",
    "a job's result object; a group's items as JSON lines, then its summary {\"group\", "
    "\"state\", \"total\", \"ok\", \"error\", \"timeout\", \"cancelled\", \"dead\"}; while "
    "it runs {\"id\": ID, \"state\": STATE} (a group: {\"group\": ID, \"state\": "
    "\"running\"}, exit 6).",
    s_options, s_run
};

static int
s_run (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    sf_cli_args_t args;
    int rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (rc >= 0)
        return rc;
    bool wait = args.option_count > 0;
    const char *id = args.word_count == 1? args.words [0]: NULL;
    sf_cli_args_free (&args);
    if (!id)
        return sf_cli_usage (cli, command, "which job or group? (one id)");
    if ((rc = sf_cli_check_id (cli, command, id)))
        return rc;
    sf_client_t *client = sf_cli_connect (cli, &rc);
    if (!client)
        return rc;
    int timeout = sf_cli_left (cli, 60000);
    char state [16] = "";
    sf_error_t error;
    //  A group's id answers with the group; a job's with NOT_A_GROUP
    sf_gather_t *gather = sf_client_fetch_group (client, id, wait, timeout, &error);
    if (gather)
        rc = sf_cli_print_gather (cli, gather, NULL, false);
    else
    if (!streq (error.code, "NOT_A_GROUP")) {
        if (streq (error.code, "NOT_FINISHED")) {
            if (cli->json)
                sf_cli_print_json (json_pack ("{s:s, s:s}", "group", id, "state", "running"));
            else
                printf ("running\n");
            rc = SF_EXIT_NOT_FINISHED;
        }
        else
        if (streq (error.code, "TIMEOUT"))
            rc = sf_cli_error (cli, SF_EXIT_NOT_FINISHED, "NOT_FINISHED", id, "group %s did "
                               "not finish within %d ms", id, timeout);
        else
            rc = sf_cli_fail (cli, "result", &error);
    }
    else {
        timeout = sf_cli_left (cli, 60000);
        sf_result_t *result = sf_client_fetch (client, id, wait, timeout, state, &error);
        if (result)
            rc = sf_cli_print_result (cli, result);
        else
        if (state [0]) {
            if (cli->json)
                sf_cli_print_json (json_pack ("{s:s, s:s}", "id", id, "state", state));
            else
                printf ("%s\n", state);
            rc = SF_EXIT_NOT_FINISHED;
        }
        else
        if (streq (error.code, "TIMEOUT"))
            rc = sf_cli_error (cli, SF_EXIT_NOT_FINISHED, "NOT_FINISHED", id, "job %s did not "
                               "finish within %d ms", id, timeout);
        else
            rc = sf_cli_fail (cli, "result", &error);
        sf_result_destroy (&result);
    }
    sf_gather_destroy (&gather);
    sf_client_destroy (&client);
    return rc;
}
