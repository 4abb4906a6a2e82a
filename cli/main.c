/*  =========================================================================
    sheaf - the command line client: flags and environment, then one command
    ========================================================================= */

#include <czmq.h>
#include "sf_cli.h"
#include "sf_log.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
"usage: sheaf [--broker EP] [--json] [--timeout MS] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  submit ANALYZER [--symbol S] [--timeframe TF] [--param K=V]... [--priority 0-9]\n"
"                  [--job-timeout MS] [--retries N] [--backoff MS] [--key KEY]\n"
"                  [--state-key KEY] [--then JOB_JSON] [--wait]\n"
"                  submit a job; prints its id, or with --wait its result.\n"
"                  --then: a follow-up run on its result when it ends ok\n"
"                  (params.previous); --wait prints the chain's last result\n"
"  result ID [--wait]\n"
"                  a job's or a group's result, or its state if unfinished\n"
"  gather [--policy all|fail-fast|any] [--min-ok N] [--timeout MS] [--stream]\n"
"         [--then JOB_JSON] [--key KEY] FILE\n"
"                  run FILE's jobs (one JSON job a line, - for stdin) as one\n"
"                  group; prints each result as a JSON line in input order\n"
"                  (--stream: as they finish, then a summary). --timeout is\n"
"                  the group's deadline; --then runs a job on the results;\n"
"                  --key: a group with this key the broker keeps answers\n"
"                  instead (nothing new runs)\n"
"  status          queues, in-flight jobs, workers and counters of the broker\n"
"  workers         the connected workers\n"
"  cancel ID...    cancel jobs (queued ones at once, running ones at their\n"
"                  worker) or groups (every unfinished item)\n"
"  dead list|show ID|retry [ID]|purge [ID]\n"
"                  the dead letters: jobs that exhausted their retries or were\n"
"                  at too many worker deaths; retry or purge one, or all\n"
"  schedule next EXPR [--tz ZONE] [-n N] [--from TIME]\n"
"                  the next N (5) fire times of a schedule expression after\n"
"                  TIME (ISO-8601, default now), in ZONE (default UTC)\n"
"  schedule list [--schedule FILE] [--state DIR]\n"
"                  a schedule file's entries (SHEAF_SCHEDULE) with their next\n"
"                  fire, last fire and its outcome from the scheduler's state\n"
"                  directory (SHEAF_STATE)\n"
"\n"
"Options (before or after the command):\n"
"  --broker EP     broker frontend (SHEAF_BROKER, default %s)\n"
"  --json          machine-readable output: one JSON object\n"
"  --timeout MS    how long to wait for the broker or, with --wait, for the\n"
"                  result (default 5000 for replies, 60000 with --wait)\n"
"\n"
"--param values that parse as JSON (numbers, true/false/null, objects, arrays,\n"
"quoted strings) are sent as such; anything else is sent as a string.\n"
"\n"
"Exit codes: 0 ok, 1 the job (or an item of a group that succeeded) ended\n"
"with a status other than ok, 2 usage (also a bad job line; nothing is sent),\n"
"3 broker unreachable (no reply in time), 4 request rejected by the broker,\n"
"5 no such job or group, 6 not finished (yet), 7 the group failed, timed out\n"
"or was cancelled.\n",
             SF_DEFAULT_FRONTEND);
}

//  Commands by name.
static const struct {
    const char *name;
    int (*run) (sf_cli_t *cli, int argc, char *argv []);
} s_commands [] = {
    { "submit", sf_cli_submit },
    { "result", sf_cli_result },
    { "status", sf_cli_status },
    { "workers", sf_cli_workers },
    { "cancel", sf_cli_cancel },
    { "dead", sf_cli_dead },
    { "schedule", sf_cli_schedule },
    { "gather", sf_cli_gather },
};

int
main (int argc, char *argv [])
{
    sf_log_init ("sheaf", getenv ("SHEAF_VERBOSE") && streq (getenv ("SHEAF_VERBOSE"), "1"));
    sf_cli_t cli = { getenv ("SHEAF_BROKER"), false, -1 };

    //  Global options may come before the command
    int index = 1;
    while (index < argc && argv [index][0] == '-') {
        const char *option = argv [index];
        if (streq (option, "-h") || streq (option, "--help")) {
            s_usage (stdout);
            return SF_EXIT_OK;
        }
        if (streq (option, "--version")) {
            printf ("sheaf %s\n", SF_VERSION);
            return SF_EXIT_OK;
        }
        if (streq (option, "--json"))
            cli.json = true;
        else
        if (streq (option, "--broker") && index + 1 < argc)
            cli.broker = argv [++index];
        else
        if (streq (option, "--timeout") && index + 1 < argc)
            cli.timeout_ms = (int) sf_cli_number ("timeout", argv [++index], 0, 86400000);
        else {
            fprintf (stderr, "sheaf: unknown option \"%s\" (see sheaf --help)\n", option);
            return SF_EXIT_USAGE;
        }
        index++;
    }
    if (index >= argc) {
        s_usage (stderr);
        return SF_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0]; i++)
        if (streq (argv [index], s_commands [i].name))
            return s_commands [i].run (&cli, argc - index - 1, argv + index + 1);
    fprintf (stderr, "sheaf: unknown command \"%s\" (see sheaf --help)\n", argv [index]);
    return SF_EXIT_USAGE;
}
