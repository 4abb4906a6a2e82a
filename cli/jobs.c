/*  =========================================================================
    jobs - `sheaf cancel` and `sheaf dead`: acting on jobs after their submit
    ========================================================================= */

#include <czmq.h>
#include <jansson.h>
#include "sf_cli.h"

static const sf_cli_option_t s_none [] = {
    { NULL, NULL, NULL, NULL }
};

static sf_cli_run_fn s_cancel, s_dead;

const sf_cli_command_t sf_cli_cancel = {
    "cancel", "ID...",
    "cancel jobs or groups",
    "Cancels each job ID: a queued or retrying job ends at once, a running one is stopped "
    "at its worker; either way its status is cancelled. A group's id cancels every "
    "unfinished item of the group. Prints \"ID cancelled\", or \"ID had finished already\" "
    "(it keeps its status), for each. An id the broker does not know is reported and makes "
    "the exit code 5; the others are still cancelled.",
    "{\"items\": [{\"id\": ID, \"outcome\": \"cancelled\" | \"finished\" | \"not_found\"}, "
    "…]} in the order given.",
    s_none, s_cancel
};

const sf_cli_command_t sf_cli_dead = {
    "dead", "list | show ID | retry [ID] | purge [ID]",
    "the dead letters: list, show, retry or purge them",
    "Dead letters are jobs that used up their retries or were at too many worker deaths. "
    "list prints one line per dead letter (id, analyzer, attempts, error); show ID adds its "
    "history (every failed attempt); retry runs one dead letter, or all of them, again "
    "under the same id; purge forgets one, or all.",
    "list and show: {\"dead\": [{\"id\", \"analyzer\", \"attempts\", \"worker_losses\", "
    "\"dead_for_ms\", \"error\"} (show: and \"history\"), …]}; retry: {\"retried\": N}; "
    "purge: {\"purged\": N}.",
    s_none, s_dead
};

#define S_IDS_MAX 100000        //  Ids one `sheaf cancel` takes

static int
s_cancel (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    sf_cli_args_t args;
    int rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (rc >= 0)
        return rc;
    rc = 0;
    if (args.word_count == 0 || args.word_count > S_IDS_MAX)
        rc = sf_cli_usage (cli, command, "which jobs? (1-%d ids)", S_IDS_MAX);
    //  Every id is checked before anything is cancelled
    for (size_t i = 0; rc == 0 && i < args.word_count; i++)
        rc = sf_cli_check_id (cli, command, args.words [i]);
    sf_client_t *client = rc? NULL: sf_cli_connect (cli, &rc);
    json_t *items = json_array ();
    for (size_t i = 0; client && i < args.word_count; i++) {
        const char *id = args.words [i];
        sf_error_t error;
        int outcome = sf_client_cancel (client, id, &error);
        if (outcome < 0 && !streq (error.code, "NOT_FOUND")) {
            rc = sf_cli_fail (cli, id, &error);
            break;
        }
        const char *name = outcome == 0? "cancelled": outcome == 1? "finished": "not_found";
        json_array_append_new (items, json_pack ("{s:s, s:s}", "id", id, "outcome", name));
        if (outcome < 0) {
            rc = SF_EXIT_NOT_FOUND;
            if (!cli->json)
                fprintf (stderr, "sheaf: cancel: no job or group %s (unknown, or its result "
                         "expired)\n", id);
        }
        else
        if (!cli->json)
            printf ("%s %s\n", id, outcome == 0? "cancelled": "had finished already");
    }
    if (client && cli->json && (rc == SF_EXIT_OK || rc == SF_EXIT_NOT_FOUND))
        sf_cli_print_json (json_pack ("{s:O}", "items", items));
    json_decref (items);
    sf_client_destroy (&client);
    sf_cli_args_free (&args);
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

static int
s_dead (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    sf_cli_args_t args;
    int rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (rc >= 0)
        return rc;
    rc = 0;
    const char *op = args.word_count > 0? args.words [0]: NULL;
    const char *id = args.word_count > 1? args.words [1]: NULL;
    if (!op || !(streq (op, "list") || streq (op, "show") || streq (op, "retry")
              || streq (op, "purge")))
        rc = sf_cli_usage (cli, command, "expected list, show ID, retry [ID] or purge [ID]");
    else
    if (args.word_count > (streq (op, "list")? 1u: 2u))
        rc = sf_cli_usage (cli, command, "unexpected argument \"%s\"",
                           args.words [streq (op, "list")? 1: 2]);
    else
    if (streq (op, "show") && !id)
        rc = sf_cli_usage (cli, command, "show needs the dead letter's id");
    else
    if (id)
        rc = sf_cli_check_id (cli, command, id);
    sf_client_t *client = rc? NULL: sf_cli_connect (cli, &rc);
    sf_error_t error;
    char *text = client? sf_client_dead (client, op, id, &error): NULL;
    if (client && !text)
        rc = sf_cli_fail (cli, "dead", &error);
    json_t *reply = text? json_loads (text, JSON_DECODE_ANY, NULL): NULL;
    if (text && !reply)
        rc = sf_cli_error (cli, SF_EXIT_REJECTED, "PROTOCOL", NULL,
                           "dead: the broker's reply is not JSON");
    else
    if (reply && json_is_integer (reply)) {
        const char *done = streq (op, "retry")? "retried": "purged";
        if (cli->json)
            sf_cli_print_json (json_pack ("{s:O}", done, reply));
        else
            printf ("%s %lld dead letter%s\n", done, (long long) json_integer_value (reply),
                    json_integer_value (reply) == 1? "": "s");
    }
    else
    if (reply && cli->json)
        sf_cli_print_json (json_pack ("{s:O}", "dead", reply));
    else
    if (reply) {
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
    sf_client_destroy (&client);
    sf_cli_args_free (&args);
    return rc;
}
