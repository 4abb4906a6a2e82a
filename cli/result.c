/*  =========================================================================
    result - `sheaf result ID [--wait]`: a job's or a group's result, or
    its state
    ========================================================================= */

#include <czmq.h>
#include "sf_cli.h"
#include "sf_uuid.h"

int
sf_cli_result (sf_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    bool wait = false;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--wait"))
            wait = true;
        else
        if (sf_cli_global_option (cli, argc, argv, &i))
            ;
        else
        if (argv [i][0] != '-' && !id)
            id = argv [i];
        else {
            fprintf (stderr, "sheaf: result: unexpected argument \"%s\"\n", argv [i]);
            return SF_EXIT_USAGE;
        }
    }
    if (!id) {
        fprintf (stderr, "sheaf: result needs a job id (see sheaf --help)\n");
        return SF_EXIT_USAGE;
    }
    uint8_t binary [SF_UUID_SIZE];
    if (sf_uuid_parse (id, binary)) {
        fprintf (stderr, "sheaf: result: \"%s\" is not a job id (a UUID)\n", id);
        return SF_EXIT_USAGE;
    }
    sf_client_t *client = sf_cli_connect (cli);
    int timeout = cli->timeout_ms >= 0? cli->timeout_ms: 60000;
    char state [16] = "";
    sf_error_t error;
    int rc;
    //  A group's id answers with the group; a job's with NOT_A_GROUP
    sf_gather_t *gather = sf_client_fetch_group (client, id, wait, timeout, &error);
    if (gather || !streq (error.code, "NOT_A_GROUP")) {
        if (gather)
            rc = sf_cli_print_gather (cli, gather, NULL, false);
        else
        if (streq (error.code, "NOT_FINISHED")) {
            if (cli->json)
                printf ("{\"group\":\"%s\",\"state\":\"running\"}\n", id);
            else
                printf ("running\n");
            rc = SF_EXIT_NOT_FINISHED;
        }
        else
            rc = sf_cli_fail ("result", &error);
        sf_gather_destroy (&gather);
        sf_client_destroy (&client);
        return rc;
    }
    sf_result_t *result = sf_client_fetch (client, id, wait, timeout, state, &error);
    if (result) {
        rc = sf_cli_print_result (cli, result);
        sf_result_destroy (&result);
    }
    else
    if (state [0]) {
        if (cli->json)
            printf ("{\"id\":\"%s\",\"state\":\"%s\"}\n", id, state);
        else
            printf ("%s\n", state);
        rc = SF_EXIT_NOT_FINISHED;
    }
    else
        rc = sf_cli_fail ("result", &error);
    sf_client_destroy (&client);
    return rc;
}
