/*  =========================================================================
    status - `sheaf status` and `sheaf workers`: the broker's state
    ========================================================================= */

#include <czmq.h>
#include <jansson.h>
#include "sf_cli.h"

static const sf_cli_option_t s_none [] = {
    { NULL, NULL, NULL, NULL }
};

static sf_cli_run_fn s_status, s_workers;

const sf_cli_command_t sf_cli_status = {
    "status", "",
    "the broker's queues, jobs, workers and counters",
    "Prints the broker's state: its version, store and uptime; jobs queued, running and "
    "kept; groups; each queue with its queued and running jobs and workers; the connected "
    "workers; and the counters (docs/OPERATIONS.md lists them).",
    "the broker's status object {\"version\", \"store\", \"uptime_ms\", \"queues\", "
    "\"workers\", \"jobs\", \"counters\"} (docs/PROTOCOL.md 4.7).",
    s_none, s_status
};

const sf_cli_command_t sf_cli_workers = {
    "workers", "",
    "the connected workers",
    "Prints one line per connected worker: its name, slots, jobs in flight, jobs done and "
    "the analyzers it serves.",
    "{\"workers\": [{\"name\", \"analyzers\": [{\"name\", \"version\"}], "
    "\"slots\", \"inflight\", \"done\", \"idle_ms\"}, …]}.",
    s_none, s_workers
};

//  Parse the arguments (none) and fetch the status as a JSON value; NULL
//  with *rc set when the command is done (help, or an error reported).
static json_t *
s_fetch (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [], int *rc)
{
    sf_cli_args_t args;
    *rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (*rc >= 0)
        return NULL;
    size_t words = args.word_count;
    const char *word = words? args.words [0]: NULL;
    if (words)
        *rc = sf_cli_usage (cli, command, "unexpected argument \"%s\"", word);
    sf_cli_args_free (&args);
    if (words)
        return NULL;
    sf_client_t *client = sf_cli_connect (cli, rc);
    if (!client)
        return NULL;
    sf_error_t error;
    char *text = sf_client_status (client, &error);
    sf_client_destroy (&client);
    if (!text) {
        *rc = sf_cli_fail (cli, "status", &error);
        return NULL;
    }
    json_t *status = json_loads (text, 0, NULL);
    free (text);
    if (!status)
        *rc = sf_cli_error (cli, SF_EXIT_REJECTED, "PROTOCOL", NULL,
                            "status: the broker's reply is not JSON");
    return status;
}

static long long
s_int (json_t *object, const char *key)
{
    return (long long) json_integer_value (json_object_get (object, key));
}

static void
s_print_workers (json_t *workers)
{
    printf ("%-32s %6s %8s %10s  %s\n", "worker", "slots", "inflight", "done", "analyzers");
    size_t index;
    json_t *worker;
    json_array_foreach (workers, index, worker) {
        printf ("%-32s %6lld %8lld %10lld  ", json_string_value (json_object_get (worker, "name")),
                s_int (worker, "slots"), s_int (worker, "inflight"), s_int (worker, "done"));
        size_t i;
        json_t *analyzer;
        json_array_foreach (json_object_get (worker, "analyzers"), i, analyzer)
            printf ("%s%s", i? ",": "", json_string_value (json_object_get (analyzer, "name")));
        printf ("\n");
    }
}

static int
s_status (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    int rc;
    json_t *status = s_fetch (cli, command, argc, argv, &rc);
    if (!status)
        return rc;
    if (cli->json) {
        sf_cli_print_json (status);
        return SF_EXIT_OK;
    }
    json_t *jobs = json_object_get (status, "jobs");
    printf ("broker %s, store %s, up %lld s\n",
            json_string_value (json_object_get (status, "version")),
            json_string_value (json_object_get (status, "store")),
            s_int (status, "uptime_ms") / 1000);
    if (json_is_true (json_object_get (status, "degraded")))
        printf ("DEGRADED for %lld s: the store cannot commit: %s\n"
                "  submits are refused (BUSY); results and replies wait, and no job is "
                "dispatched, until a commit succeeds\n", s_int (status, "degraded_ms") / 1000,
                json_string_value (json_object_get (status, "store_error")));
    printf ("jobs: %lld queued, %lld running, %lld finished results kept\n",
            s_int (jobs, "queued"), s_int (jobs, "running"), s_int (jobs, "finished_kept"));
    printf ("groups: %lld running, %lld answered and kept\n",
            s_int (jobs, "groups_running"), s_int (jobs, "groups_kept"));
    printf ("\n%-24s %10s %10s %8s\n", "queue", "queued", "running", "workers");
    size_t index;
    json_t *queue;
    json_array_foreach (json_object_get (status, "queues"), index, queue)
        printf ("%-24s %10lld %10lld %8lld\n",
                json_string_value (json_object_get (queue, "analyzer")),
                s_int (queue, "queued"), s_int (queue, "running"), s_int (queue, "workers"));
    printf ("\n");
    s_print_workers (json_object_get (status, "workers"));
    printf ("\ncounters:");
    const char *key;
    json_t *value;
    json_object_foreach (json_object_get (status, "counters"), key, value)
        printf (" %s=%lld", key, (long long) json_integer_value (value));
    printf ("\n");
    json_decref (status);
    return SF_EXIT_OK;
}

static int
s_workers (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    int rc;
    json_t *status = s_fetch (cli, command, argc, argv, &rc);
    if (!status)
        return rc;
    json_t *workers = json_object_get (status, "workers");
    if (!workers) {
        workers = json_array ();
        json_object_set_new (status, "workers", workers);
    }
    if (cli->json)
        sf_cli_print_json (json_pack ("{s:O}", "workers", workers));
    else
        s_print_workers (workers);
    json_decref (status);
    return SF_EXIT_OK;
}
