/*  =========================================================================
    sheaf-scheduler - flags and environment, then sf_scheduler new/run/destroy
    ========================================================================= */

#include <czmq.h>
#include <getopt.h>
#include "sf_log.h"
#include "sf_option.h"
#include "sf_schedule.h"
#include "sf_scheduler.h"

//  Exit codes, one per fatal start-up site (documented in --help).
enum {
    EXIT_USAGE = 2,
    EXIT_SCHEDULE = 3,
    EXIT_STATE = 4,
    EXIT_BROKER = 5
};

static void
s_usage (FILE *out)
{
    fprintf (out,
"usage: sheaf-scheduler --schedule FILE --state DIR [options]\n"
"\n"
"Submits the jobs of a schedule file to the broker when they are due, each\n"
"firing once (idempotency key schedule:NAME:TIME). Several schedulers may\n"
"share a state directory: one leads, the others stand by.\n"
"\n"
"  --schedule FILE      the schedule (format in the README)   SHEAF_SCHEDULE\n"
"  --state DIR          checkpoint and leader lock            SHEAF_STATE\n"
"  --broker EP          broker frontend            SHEAF_BROKER (%s)\n"
"  --submit-timeout MS  wait for the broker's acknowledgement (2000)\n"
"  --check              report the schedule file's mistakes and exit\n"
"  -v, --verbose        debug logging                         SHEAF_VERBOSE=1\n"
"  -h, --help           this text\n"
"  --version            the version\n"
"\n"
"SIGHUP reads the schedule file again; a file with mistakes leaves the\n"
"previous schedule in force.\n"
"\n"
"Exit codes: 0 stopped by SIGINT/SIGTERM (or --check found no mistake),\n"
"2 usage, 3 the schedule file has mistakes, 4 the state directory is\n"
"unusable, 5 the broker endpoint is malformed.\n",
             SF_DEFAULT_FRONTEND);
}

int
main (int argc, char *argv [])
{
    sf_scheduler_config_t config = { NULL, NULL, NULL, 2000 };
    const char *env;
    if ((env = getenv ("SHEAF_SCHEDULE")) && *env)
        config.schedule = env;
    if ((env = getenv ("SHEAF_STATE")) && *env)
        config.state = env;
    if ((env = getenv ("SHEAF_BROKER")) && *env)
        config.broker = env;
    bool verbose = (env = getenv ("SHEAF_VERBOSE")) && streq (env, "1");
    bool check = false;

    static const struct option options [] = {
        { "schedule", required_argument, NULL, 's' },
        { "state", required_argument, NULL, 'd' },
        { "broker", required_argument, NULL, 'b' },
        { "submit-timeout", required_argument, NULL, 't' },
        { "check", no_argument, NULL, 'c' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (option) {
            case 's': config.schedule = optarg; break;
            case 'd': config.state = optarg; break;
            case 'b': config.broker = optarg; break;
            case 't':
                config.submit_timeout_ms = (int) sf_option_number (
                    "sheaf-scheduler", "submit-timeout", optarg, 10, 600000, EXIT_USAGE);
                break;
            case 'c': check = true; break;
            case 'v': verbose = true; break;
            case 'h': s_usage (stdout); return 0;
            case 'V': sf_option_version ("sheaf-scheduler"); return 0;
            default: s_usage (stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "sheaf-scheduler: unexpected argument \"%s\"\n", argv [optind]);
        return EXIT_USAGE;
    }
    if (!config.schedule || (!config.state && !check)) {
        fprintf (stderr, "sheaf-scheduler: --schedule and --state are required "
                 "(see --help)\n");
        return EXIT_USAGE;
    }
    if (check) {
        char *errors = NULL;
        sf_schedule_t *schedule = sf_schedule_load (config.schedule, &errors);
        if (!schedule) {
            fputs (errors, stderr);
            free (errors);
            return EXIT_SCHEDULE;
        }
        printf ("%s: %zu entries, no mistakes\n", config.schedule, sf_schedule_size (schedule));
        sf_schedule_destroy (&schedule);
        return 0;
    }
    sf_log_init ("sheaf-scheduler", verbose);

    sf_error_t error;
    sf_scheduler_t *scheduler = sf_scheduler_new (&config, &error);
    if (!scheduler) {
        if (!streq (error.code, "SCHEDULE"))
            sf_log_error ("scheduler: %s", error.message);
        return streq (error.code, "SCHEDULE")? EXIT_SCHEDULE:
               streq (error.code, "STATE")? EXIT_STATE: EXIT_BROKER;
    }
    int rc = sf_scheduler_run (scheduler);
    sf_scheduler_destroy (&scheduler);
    return rc? EXIT_STATE: 0;
}
