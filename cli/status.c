/*  =========================================================================
    status - `sheaf status` and `sheaf workers`: the broker's state
    ========================================================================= */

#include <czmq.h>
#include <jansson.h>
#include "sf_cli.h"

//  Fetch the status as a JSON value; NULL after reporting why (*rc set).
static json_t *
s_fetch (sf_cli_t *cli, int *rc)
{
    sf_client_t *client = sf_cli_connect (cli);
    sf_error_t error;
    char *text = sf_client_status (client, &error);
    sf_client_destroy (&client);
    if (!text) {
        *rc = sf_cli_fail ("status", &error);
        return NULL;
    }
    json_t *status = json_loads (text, 0, NULL);
    free (text);
    if (!status) {
        fprintf (stderr, "sheaf: status: the broker's reply is not JSON\n");
        *rc = SF_EXIT_REJECTED;
    }
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

int
sf_cli_status (sf_cli_t *cli, int argc, char *argv [])
{
    if (sf_cli_options (cli, "status", argc, argv, NULL, 0) < 0)
        return SF_EXIT_USAGE;
    int rc = SF_EXIT_OK;
    json_t *status = s_fetch (cli, &rc);
    if (!status)
        return rc;
    if (cli->json) {
        char *text = json_dumps (status, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts (text);
        free (text);
        json_decref (status);
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

int
sf_cli_workers (sf_cli_t *cli, int argc, char *argv [])
{
    if (sf_cli_options (cli, "workers", argc, argv, NULL, 0) < 0)
        return SF_EXIT_USAGE;
    int rc = SF_EXIT_OK;
    json_t *status = s_fetch (cli, &rc);
    if (!status)
        return rc;
    json_t *workers = json_object_get (status, "workers");
    if (cli->json) {
        char *text = json_dumps (workers, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        puts (text);
        free (text);
    }
    else
        s_print_workers (workers);
    json_decref (status);
    return SF_EXIT_OK;
}
