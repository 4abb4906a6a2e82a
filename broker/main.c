/*  =========================================================================
    sheaf-broker - flags and environment, then sf_broker new/run/destroy
    ========================================================================= */

#include <czmq.h>
#include <getopt.h>
#include "sf_broker.h"
#include "sf_log.h"
#include "sf_option.h"

//  Exit codes, one per fatal start-up site (documented in --help).
enum {
    EXIT_USAGE = 2,
    EXIT_FRONTEND = 3,
    EXIT_BACKEND = 4,
    EXIT_STORE = 5
};

static void
s_usage (FILE *out)
{
    fprintf (out,
"usage: sheaf-broker [options]\n"
"\n"
"Takes analysis jobs from clients, hands them to workers, routes results back.\n"
"\n"
"  --frontend EP        clients' endpoint            SHEAF_FRONTEND  (%s)\n"
"  --backend EP         workers' endpoint            SHEAF_BACKEND   (%s)\n"
"  --store URI          job store: memory            SHEAF_STORE     (memory)\n"
"  --heartbeat MS       heartbeat interval           SHEAF_HEARTBEAT (1000)\n"
"  --liveness N         heartbeats missed before a worker is lost\n"
"                                                    SHEAF_LIVENESS  (3)\n"
"  --result-max N       finished results kept for `sheaf result`\n"
"                                                    SHEAF_RESULT_MAX (100000)\n"
"  --result-ttl S       seconds a finished result is kept\n"
"                                                    SHEAF_RESULT_TTL (3600)\n"
"  -v, --verbose        debug logging                SHEAF_VERBOSE=1\n"
"  -h, --help           this text\n"
"\n"
"Exit codes: 0 stopped by SIGINT/SIGTERM, 2 usage, 3 cannot bind the frontend,\n"
"4 cannot bind the backend, 5 cannot open the store.\n",
             SF_DEFAULT_FRONTEND, SF_DEFAULT_BACKEND);
}

//  A numeric option or environment variable, or exit with a usage error.
static long long
s_number (const char *name, const char *text, long long min, long long max)
{
    return sf_option_number ("sheaf-broker", name, text, min, max, EXIT_USAGE);
}

int
main (int argc, char *argv [])
{
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    const char *env;
    if ((env = getenv ("SHEAF_FRONTEND")) && *env)
        config.frontend = env;
    if ((env = getenv ("SHEAF_BACKEND")) && *env)
        config.backend = env;
    if ((env = getenv ("SHEAF_STORE")) && *env)
        config.store = env;
    if ((env = getenv ("SHEAF_HEARTBEAT")) && *env)
        config.heartbeat_ms = (int) s_number ("heartbeat", env, 10, 600000);
    if ((env = getenv ("SHEAF_LIVENESS")) && *env)
        config.liveness = (int) s_number ("liveness", env, 1, 100);
    if ((env = getenv ("SHEAF_RESULT_MAX")) && *env)
        config.result_max = (size_t) s_number ("result-max", env, 0, 100000000);
    if ((env = getenv ("SHEAF_RESULT_TTL")) && *env)
        config.result_ttl_ms = s_number ("result-ttl", env, 0, 100000000) * 1000;
    bool verbose = (env = getenv ("SHEAF_VERBOSE")) && streq (env, "1");

    static const struct option options [] = {
        { "frontend", required_argument, NULL, 'f' },
        { "backend", required_argument, NULL, 'b' },
        { "store", required_argument, NULL, 's' },
        { "heartbeat", required_argument, NULL, 'H' },
        { "liveness", required_argument, NULL, 'L' },
        { "result-max", required_argument, NULL, 'm' },
        { "result-ttl", required_argument, NULL, 't' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (option) {
            case 'f': config.frontend = optarg; break;
            case 'b': config.backend = optarg; break;
            case 's': config.store = optarg; break;
            case 'H': config.heartbeat_ms = (int) s_number ("heartbeat", optarg, 10, 600000); break;
            case 'L': config.liveness = (int) s_number ("liveness", optarg, 1, 100); break;
            case 'm': config.result_max = (size_t) s_number ("result-max", optarg, 0, 100000000); break;
            case 't': config.result_ttl_ms = s_number ("result-ttl", optarg, 0, 100000000) * 1000; break;
            case 'v': verbose = true; break;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "sheaf-broker: unexpected argument \"%s\"\n", argv [optind]);
        return EXIT_USAGE;
    }
    sf_log_init ("sheaf-broker", verbose);

    sf_error_t error;
    sf_broker_t *broker = sf_broker_new (&config, &error);
    if (!broker) {
        sf_log_error ("broker: %s", error.message);
        return streq (error.code, "FRONTEND")? EXIT_FRONTEND:
               streq (error.code, "BACKEND")? EXIT_BACKEND: EXIT_STORE;
    }
    int rc = sf_broker_run (broker);
    sf_broker_destroy (&broker);
    return rc;
}
