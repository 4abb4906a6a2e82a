/*  =========================================================================
    sf_cli - what the `sheaf` commands share
    ========================================================================= */

#include <czmq.h>
#include "sf_cli.h"
#include "sf_option.h"

long long
sf_cli_number (const char *name, const char *text, long long min, long long max)
{
    return sf_option_number ("sheaf", name, text, min, max, SF_EXIT_USAGE);
}

bool
sf_cli_global_option (sf_cli_t *cli, int argc, char *argv [], int *i)
{
    if (streq (argv [*i], "--json"))
        cli->json = true;
    else
    if (streq (argv [*i], "--broker") && *i + 1 < argc)
        cli->broker = argv [++*i];
    else
    if (streq (argv [*i], "--timeout") && *i + 1 < argc)
        cli->timeout_ms = (int) sf_cli_number ("timeout", argv [++*i], 0, 86400000);
    else
        return false;
    return true;
}

int
sf_cli_options (sf_cli_t *cli, const char *command, int argc, char *argv [],
                char **positional, int max)
{
    int count = 0;
    for (int i = 0; i < argc; i++) {
        if (sf_cli_global_option (cli, argc, argv, &i))
            continue;
        if (argv [i][0] != '-' && count < max)
            positional [count++] = argv [i];
        else {
            fprintf (stderr, "sheaf: %s: unexpected argument \"%s\"\n", command, argv [i]);
            return -1;
        }
    }
    return count;
}

sf_client_t *
sf_cli_connect (sf_cli_t *cli)
{
    sf_client_t *client = sf_client_new (cli->broker);
    if (!client) {
        fprintf (stderr, "sheaf: malformed broker endpoint \"%s\"\n",
                 cli->broker? cli->broker: "");
        exit (SF_EXIT_USAGE);
    }
    if (cli->timeout_ms >= 0)
        sf_client_set_timeout (client, cli->timeout_ms);
    return client;
}

int
sf_cli_fail (const char *what, const sf_error_t *error)
{
    fprintf (stderr, "sheaf: %s: %s (%s)\n", what, error->message, error->code);
    if (streq (error->code, "UNREACHABLE"))
        return SF_EXIT_UNREACHABLE;
    if (streq (error->code, "NOT_FOUND"))
        return SF_EXIT_NOT_FOUND;
    if (streq (error->code, "TIMEOUT") || streq (error->code, "NOT_FINISHED"))
        return SF_EXIT_NOT_FINISHED;
    return SF_EXIT_REJECTED;
}

int
sf_cli_print_result (sf_cli_t *cli, sf_result_t *result)
{
    if (cli->json) {
        char *text = sf_result_json (result);
        puts (text);
        free (text);
    }
    else
    if (sf_result_status (result) == SF_STATUS_OK) {
        char *text = sf_result_value_json (result);
        puts (text);
        free (text);
    }
    else
        fprintf (stderr, "sheaf: job %s ended %s: %s: %s\n", sf_result_id (result),
                 sf_status_name (sf_result_status (result)),
                 sf_result_error_code (result), sf_result_error_message (result));
    return sf_result_status (result) == SF_STATUS_OK? SF_EXIT_OK: SF_EXIT_JOB_FAILED;
}

int
sf_cli_print_gather (sf_cli_t *cli, sf_gather_t *gather, sf_result_t **held, bool streamed)
{
    const sf_result_t *then = sf_gather_then (gather);
    if (then) {
        char *text = sf_result_json (then);
        puts (text);
        free (text);
    }
    else
        //  Streamed items were printed as they came; an answer may still
        //  carry them all (a GROUP answered through its key)
        for (size_t i = 0; i < sf_gather_size (gather); i++) {
            const sf_result_t *item = sf_gather_item (gather, i);
            if (!item && held && !streamed)
                item = held [i];
            if (item) {
                char *text = sf_result_json (item);
                puts (text);
                free (text);
            }
        }
    if (cli->json || streamed) {
        char *text = sf_gather_json (gather);
        puts (text);
        free (text);
    }
    size_t failed = sf_gather_count (gather, SF_STATUS_ERROR)
                  + sf_gather_count (gather, SF_STATUS_DEAD);
    if (!streq (sf_gather_state (gather), "ok")) {
        fprintf (stderr, "sheaf: group %s ended %s: %zu of %zu items ok\n", sf_gather_id (gather),
                 sf_gather_state (gather), sf_gather_count (gather, SF_STATUS_OK),
                 sf_gather_size (gather));
        return SF_EXIT_GROUP_FAILED;
    }
    if (then)                   //  The chord's result is the group's
        return sf_result_status (then) == SF_STATUS_OK? SF_EXIT_OK: SF_EXIT_JOB_FAILED;
    if (failed)
        return SF_EXIT_JOB_FAILED;
    return SF_EXIT_OK;
}
