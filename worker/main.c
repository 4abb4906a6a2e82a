/*  =========================================================================
    sheaf-worker - flags and environment, then sf_worker new/run/destroy
    ========================================================================= */

#include <czmq.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include "sf_analyzers.h"
#include "sf_cache.h"
#include "sf_log.h"
#include "sf_option.h"
#include "sf_supervisor.h"
#include "sf_worker.h"

//  Exit codes, one per fatal start-up site (documented in --help).
enum {
    EXIT_USAGE = 2,
    EXIT_ANALYZER = 3,
    EXIT_BROKER = 4,
    EXIT_PLUGIN = 5,
    EXIT_SIGNALS = 6
};

#define S_PLUGINS_MAX 64

static void
s_usage (FILE *out)
{
    fprintf (out,
"usage: sheaf-worker [options]\n"
"\n"
"Runs analysis jobs from the broker on a pool of analyzer threads.\n"
"\n"
"  --broker EP          broker's backend endpoint     SHEAF_BACKEND   (%s)\n"
"  --threads N          analyzer threads              SHEAF_THREADS   (cores)\n"
"  --slots N            jobs the broker may send ahead\n"
"                                                     SHEAF_SLOTS     (8 x threads)\n"
"  --name NAME          worker name                   SHEAF_NAME      (host-pid)\n"
"  --heartbeat MS       heartbeat interval            SHEAF_HEARTBEAT (1000)\n"
"  --liveness N         heartbeats missed before reconnecting\n"
"                                                     SHEAF_LIVENESS  (3)\n"
"  --data-dir DIR       CSV candles, DIR/<SYMBOL>_<TIMEFRAME>.csv\n"
"                                                     SHEAF_DATA_DIR  (none)\n"
"  --data-db CONNINFO   candles from PostgreSQL (deploy/sql), before --data-dir\n"
"                                                     SHEAF_DATA_DB   (none)\n"
"  --data-db-connections N\n"
"                       PostgreSQL connections that fetch at once, per\n"
"                       process          SHEAF_DATA_DB_CONNECTIONS (threads)\n"
"  --data-cache SIZE    candles kept in memory for the next jobs, e.g. 512MiB\n"
"                       (0: none)                     SHEAF_DATA_CACHE (%zuMiB)\n"
"  --plugin FILE.so     load analyzers from a plugin (repeatable)\n"
"  --grace MS           after SIGTERM, time to finish running jobs before\n"
"                       cancelling them (0: at once)  SHEAF_GRACE     (10000)\n"
"  --processes N        run N worker processes NAME-1..NAME-N under a\n"
"                       supervisor that restarts them SHEAF_PROCESSES (1)\n"
"  --enable-test-analyzers\n"
"                       also serve test-only analyzers (crash)\n"
"  --list               list the analyzers and exit\n"
"  -v, --verbose        debug logging                 SHEAF_VERBOSE=1\n"
"  -h, --help           this text\n"
"  --version            the version\n"
"\n"
"Exit codes: 0 stopped by SIGINT/SIGTERM, 2 usage, 3 an analyzer failed to\n"
"initialise, 4 the broker endpoint is malformed, 5 a plugin cannot be loaded,\n"
"6 signals cannot be watched (signalfd). A supervisor whose workers fail at\n"
"start-up 5 times in a row exits with their code.\n",
             SF_DEFAULT_BACKEND, SF_CACHE_DEFAULT >> 20);
}

//  A numeric option or environment variable, or exit with a usage error.
static long long
s_number (const char *name, const char *text, long long min, long long max)
{
    return sf_option_number ("sheaf-worker", name, text, min, max, EXIT_USAGE);
}

//  A byte count option or environment variable, or exit with a usage error.
static size_t
s_bytes (const char *name, const char *text)
{
    return (size_t) sf_option_bytes ("sheaf-worker", name, text, (size_t) 1 << 50, EXIT_USAGE);
}

static void
s_list (bool tests)
{
    for (size_t i = 0; i < sf_analyzers_count (); i++) {
        const sf_analyzer_t *analyzer = sf_analyzers_at (i);
        printf ("%-12s %-4s %s%s\n", analyzer->name, analyzer->version, analyzer->summary,
                sf_analyzers_served (analyzer, tests)? "": " (needs --enable-test-analyzers)");
        for (const sf_param_t *param = analyzer->params; param && param->name; param++) {
            char range [64];
            switch (param->type) {
                case SF_PARAM_INT:
                    snprintf (range, sizeof range, "integer %.0f-%.0f (%.0f)",
                              param->min, param->max, param->fallback);
                    break;
                case SF_PARAM_REAL:
                    if (isnan (param->fallback))
                        snprintf (range, sizeof range, "number %g-%g", param->min, param->max);
                    else
                        snprintf (range, sizeof range, "number %g-%g (%g)",
                                  param->min, param->max, param->fallback);
                    break;
                case SF_PARAM_CHOICE:
                    snprintf (range, sizeof range, "%s", param->choices);
                    break;
                case SF_PARAM_TEXT:
                    snprintf (range, sizeof range, "text");
                    break;
                case SF_PARAM_SYMBOLS:
                    snprintf (range, sizeof range, "%.0f-%.0f symbols", param->min, param->max);
                    break;
                case SF_PARAM_RESULTS:
                    snprintf (range, sizeof range, "gathered results");
                    break;
            }
            printf ("    %-18s %-26s %s\n", param->name, range, param->summary);
        }
    }
}

int
main (int argc, char *argv [])
{
    sf_worker_config_t config;
    sf_worker_config_defaults (&config);
    const char *env;
    if ((env = getenv ("SHEAF_BACKEND")) && *env)
        config.broker = env;
    if ((env = getenv ("SHEAF_THREADS")) && *env)
        config.threads = (size_t) s_number ("threads", env, 1, 1024);
    if ((env = getenv ("SHEAF_SLOTS")) && *env)
        config.slots = (uint32_t) s_number ("slots", env, 1, 1000000);
    if ((env = getenv ("SHEAF_NAME")) && *env)
        config.name = env;
    if ((env = getenv ("SHEAF_DATA_DIR")) && *env)
        config.data_dir = env;
    if ((env = getenv ("SHEAF_DATA_DB")) && *env)
        config.data_db = env;
    if ((env = getenv ("SHEAF_DATA_DB_CONNECTIONS")) && *env)
        config.data_db_connections = (size_t) s_number ("data-db-connections", env, 1, 64);
    if ((env = getenv ("SHEAF_DATA_CACHE")) && *env)
        config.data_cache = s_bytes ("data-cache", env);
    if ((env = getenv ("SHEAF_HEARTBEAT")) && *env)
        config.heartbeat_ms = (int) s_number ("heartbeat", env, 10, 600000);
    if ((env = getenv ("SHEAF_LIVENESS")) && *env)
        config.liveness = (int) s_number ("liveness", env, 1, 100);
    if ((env = getenv ("SHEAF_GRACE")) && *env)
        config.grace_ms = (int) s_number ("grace", env, 0, 3600000);
    size_t processes = 1;
    if ((env = getenv ("SHEAF_PROCESSES")) && *env)
        processes = (size_t) s_number ("processes", env, 1, 1024);
    bool verbose = (env = getenv ("SHEAF_VERBOSE")) && streq (env, "1");
    bool list = false;
    const char *plugins [S_PLUGINS_MAX + 1] = { NULL };
    size_t plugin_count = 0;

    static const struct option options [] = {
        { "broker", required_argument, NULL, 'b' },
        { "threads", required_argument, NULL, 't' },
        { "slots", required_argument, NULL, 's' },
        { "name", required_argument, NULL, 'n' },
        { "heartbeat", required_argument, NULL, 'H' },
        { "liveness", required_argument, NULL, 'L' },
        { "data-dir", required_argument, NULL, 'd' },
        { "data-db", required_argument, NULL, 'D' },
        { "data-db-connections", required_argument, NULL, 'c' },
        { "data-cache", required_argument, NULL, 'C' },
        { "plugin", required_argument, NULL, 'p' },
        { "grace", required_argument, NULL, 'g' },
        { "processes", required_argument, NULL, 'P' },
        { "enable-test-analyzers", no_argument, NULL, 'T' },
        { "list", no_argument, NULL, 'l' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (option) {
            case 'b': config.broker = optarg; break;
            case 't': config.threads = (size_t) s_number ("threads", optarg, 1, 1024); break;
            case 's': config.slots = (uint32_t) s_number ("slots", optarg, 1, 1000000); break;
            case 'n': config.name = optarg; break;
            case 'H': config.heartbeat_ms = (int) s_number ("heartbeat", optarg, 10, 600000); break;
            case 'L': config.liveness = (int) s_number ("liveness", optarg, 1, 100); break;
            case 'd': config.data_dir = optarg; break;
            case 'D': config.data_db = optarg; break;
            case 'c':
                config.data_db_connections = (size_t) s_number ("data-db-connections", optarg,
                                                                1, 64);
                break;
            case 'C': config.data_cache = s_bytes ("data-cache", optarg); break;
            case 'p':
                if (plugin_count == S_PLUGINS_MAX) {
                    fprintf (stderr, "sheaf-worker: at most %d --plugin\n", S_PLUGINS_MAX);
                    return EXIT_USAGE;
                }
                plugins [plugin_count++] = optarg;
                break;
            case 'g': config.grace_ms = (int) s_number ("grace", optarg, 0, 3600000); break;
            case 'P': processes = (size_t) s_number ("processes", optarg, 1, 1024); break;
            case 'T': config.tests = true; break;
            case 'l': list = true; break;
            case 'v': verbose = true; break;
            case 'h': s_usage (stdout); return 0;
            case 'V': sf_option_version ("sheaf-worker"); return 0;
            default: s_usage (stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "sheaf-worker: unexpected argument \"%s\"\n", argv [optind]);
        return EXIT_USAGE;
    }
    if (config.name && !*config.name) {
        fprintf (stderr, "sheaf-worker: --name must not be empty\n");
        return EXIT_USAGE;
    }
    config.plugins = plugins;
    if (list) {
        sf_error_t error;
        for (size_t i = 0; i < plugin_count; i++)
            if (sf_analyzers_load (plugins [i], &error)) {
                fprintf (stderr, "sheaf-worker: %s\n", error.message);
                return EXIT_PLUGIN;
            }
        s_list (config.tests);
        sf_analyzers_unload ();
        return 0;
    }
    if (processes > 1) {
        //  Before anything starts a thread (signals reach the signalfd only)
        sf_supervisor_block_signals ();
        sf_log_init ("sheaf-worker", verbose);
        sf_supervisor_config_t supervision = {
            .processes = processes, .name = config.name, .broker = config.broker,
            .grace_ms = config.grace_ms, .argv = argv
        };
        sf_error_t error;
        sf_supervisor_t *supervisor = sf_supervisor_new (&supervision, &error);
        if (!supervisor) {
            sf_log_error ("supervisor: %s", error.message);
            return EXIT_SIGNALS;
        }
        int rc = sf_supervisor_run (supervisor);
        sf_supervisor_destroy (&supervisor);
        return rc;
    }
    sf_worker_block_signals ();
    sf_log_init ("sheaf-worker", verbose);
    //  Candle columns of big jobs come from the heap and are reused from job
    //  to job instead of being mapped (and faulted in) afresh each time
    mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);     //  glibc's maximum
    mallopt (M_TRIM_THRESHOLD, 1024 * 1024 * 1024);

    sf_error_t error;
    sf_worker_t *worker = sf_worker_new (&config, &error);
    if (!worker) {
        sf_log_error ("worker: %s", error.message);
        return streq (error.code, "PLUGIN")? EXIT_PLUGIN:
               streq (error.code, "ANALYZER")? EXIT_ANALYZER:
               streq (error.code, "SIGNALS")? EXIT_SIGNALS: EXIT_BROKER;
    }
    int rc = sf_worker_run (worker);
    sf_worker_destroy (&worker);
    return rc;
}
