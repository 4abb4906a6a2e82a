/*  =========================================================================
    jobs - `sheaf cancel` and `sheaf dead`: acting on jobs after their submit
    ========================================================================= */

#include <czmq.h>
#include <jansson.h>
#include "sf_cli.h"

#define S_IDS_MAX 1000          //  Ids one `sheaf cancel` takes

int
sf_cli_cancel (sf_cli_t *cli, int argc, char *argv [])
{
    char *ids [S_IDS_MAX];
    int count = sf_cli_options (cli, "cancel", argc, argv, ids, S_IDS_MAX);
    if (count <= 0) {
        fprintf (stderr, "usage: sheaf cancel ID...\n");
        return SF_EXIT_USAGE;
    }
    sf_client_t *client = sf_cli_connect (cli);
    int rc = SF_EXIT_OK;
    for (int i = 0; i < count; i++) {
        sf_error_t error;
        int outcome = sf_client_cancel (client, ids [i], &error);
        if (outcome < 0) {
            int failed = sf_cli_fail (ids [i], &error);
            if (rc == SF_EXIT_OK)
                rc = failed;
        }
        else
        if (cli->json)
            printf ("{\"id\": \"%s\", \"outcome\": \"%s\"}\n", ids [i],
                    outcome == 0? "cancelled": "finished");
        else
            printf ("%s %s\n", ids [i], outcome == 0? "cancelled": "had finished already");
    }
    sf_client_destroy (&client);
    return rc;
}

//  One dead letter on one line: id, analyzer, attempts, error.
static void
s_print_dead (json_t *dead)
{
    json_t *error = json_object_get (dead, "error");
    printf ("%s  %-12s attempts %-3lld %s: %s\n",
            json_string_value (json_object_get (dead, "id")),
            json_string_value (json_object_get (dead, "analyzer")),
            (long long) json_integer_value (json_object_get (dead, "attempts")),
            json_string_value (json_object_get (error, "code")),
            json_string_value (json_object_get (error, "message")));
}

int
sf_cli_dead (sf_cli_t *cli, int argc, char *argv [])
{
    char *words [2];
    int count = sf_cli_options (cli, "dead", argc, argv, words, 2);
    const char *op = count > 0? words [0]: NULL;
    const char *id = count > 1? words [1]: NULL;
    if (!op || !(streq (op, "list") || streq (op, "show") || streq (op, "retry")
              || streq (op, "purge"))
    ||  (streq (op, "list") && id) || (streq (op, "show") && !id)) {
        fprintf (stderr, "usage: sheaf dead list | show ID | retry [ID] | purge [ID]\n");
        return SF_EXIT_USAGE;
    }
    sf_client_t *client = sf_cli_connect (cli);
    sf_error_t error;
    char *text = sf_client_dead (client, op, id, &error);
    sf_client_destroy (&client);
    if (!text)
        return sf_cli_fail ("dead", &error);
    json_t *reply = json_loads (text, JSON_DECODE_ANY, NULL);
    if (cli->json || !reply)
        printf ("%s\n", text);
    else
    if (json_is_integer (reply))
        printf ("%s %lld dead letter%s\n", streq (op, "retry")? "retried": "purged",
                (long long) json_integer_value (reply), json_integer_value (reply) == 1? "": "s");
    else {
        size_t index;
        json_t *dead;
        json_array_foreach (reply, index, dead) {
            s_print_dead (dead);
            if (streq (op, "show")) {
                char *history = json_dumps (json_object_get (dead, "history"), JSON_INDENT (2));
                printf ("history: %s\n", history);
                free (history);
            }
        }
    }
    json_decref (reply);
    free (text);
    return SF_EXIT_OK;
}
