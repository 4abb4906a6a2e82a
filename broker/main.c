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
    EXIT_STORE = 5,
    EXIT_LOCKED = 6,
    EXIT_LOOP = 7
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
"  --store URI          job store: journal:DIR[,fsync=always|batch|off] or memory\n"
"                                                    SHEAF_STORE (journal:sheaf-journal)\n"
"  --heartbeat MS       heartbeat interval           SHEAF_HEARTBEAT (1000)\n"
"  --liveness N         heartbeats missed before a worker is lost\n"
"                                                    SHEAF_LIVENESS  (3)\n"
"  --result-max N       finished results kept for `sheaf result`\n"
"                                                    SHEAF_RESULT_MAX (100000)\n"
"  --result-ttl S       seconds a finished result (and its idempotency key)\n"
"                       is kept                      SHEAF_RESULT_TTL (3600)\n"
"  --backoff-max MS     longest delay before a retry SHEAF_BACKOFF_MAX (300000)\n"
"  --max-losses N       worker deaths a job may be at before it is dead\n"
"                                                    SHEAF_MAX_LOSSES (2)\n"
"  --max-jobs N         unfinished jobs held; beyond, submits get BUSY\n"
"                                                    SHEAF_MAX_JOBS (1000000)\n"
"  --max-queued N       unfinished jobs held for one analyzer\n"
"                                                    SHEAF_MAX_QUEUED (1000000)\n"
"  --max-bytes N        bytes of unfinished jobs held\n"
"                                                    SHEAF_MAX_BYTES (1073741824)\n"
"  --max-job-bytes N    bytes of one job; a larger one is refused TOO_LARGE\n"
"                                                    SHEAF_MAX_JOB_BYTES (67108864)\n"
"  --max-result-bytes N bytes of one result; a larger one ends its job\n"
"                       RESULT_TOO_LARGE             SHEAF_MAX_RESULT_BYTES (67108864)\n"
"  --result-max-bytes N bytes of finished results kept for `sheaf result`\n"
"                                                    SHEAF_RESULT_MAX_BYTES (1073741824)\n"
"  --peer-max-bytes N   bytes of copies one client may ask for per second\n"
"                       (FETCH, STATUS); beyond, BUSY SHEAF_PEER_MAX_BYTES (67108864)\n"
"  --dead-max N         dead letters kept            SHEAF_DEAD_MAX  (10000)\n"
"  -v, --verbose        debug logging                SHEAF_VERBOSE=1\n"
"  -h, --help           this text\n"
"  --version            the version\n"
"\n"
"Exit codes: 0 stopped by SIGINT/SIGTERM, 2 usage, 3 cannot bind the frontend,\n"
"4 cannot bind the backend, 5 cannot open the store, 6 the journal's directory\n"
"is in use by another process, 7 the event loop could not take a socket or a\n"
"timer.\n",
             SF_DEFAULT_FRONTEND, SF_DEFAULT_BACKEND);
}

//  The numeric settings: option, environment variable, range, and where
//  the value goes (scaled by scale).
typedef struct {
    const char *name;           //  Option without "--"
    const char *env;            //  Environment variable
    long long min, max;
    long long scale;            //  Value times this is stored
    enum { S_INT, S_INT64, S_SIZE, S_UINT32 } type;
    size_t offset;              //  In sf_broker_config_t
} s_number_t;

#define S_AT(field) offsetof (sf_broker_config_t, field)
static const s_number_t s_numbers [] = {
    { "heartbeat", "SHEAF_HEARTBEAT", 10, 600000, 1, S_INT, S_AT (heartbeat_ms) },
    { "liveness", "SHEAF_LIVENESS", 1, 100, 1, S_INT, S_AT (liveness) },
    { "result-max", "SHEAF_RESULT_MAX", 0, 100000000, 1, S_SIZE, S_AT (result_max) },
    { "result-ttl", "SHEAF_RESULT_TTL", 0, 100000000, 1000, S_INT64, S_AT (result_ttl_ms) },
    { "backoff-max", "SHEAF_BACKOFF_MAX", 1, 86400000, 1, S_INT64, S_AT (backoff_max_ms) },
    { "max-losses", "SHEAF_MAX_LOSSES", 1, 1000, 1, S_UINT32, S_AT (max_losses) },
    { "max-jobs", "SHEAF_MAX_JOBS", 1, 1000000000, 1, S_SIZE, S_AT (max_jobs) },
    { "max-queued", "SHEAF_MAX_QUEUED", 1, 1000000000, 1, S_SIZE, S_AT (max_queued) },
    { "max-bytes", "SHEAF_MAX_BYTES", 1024, 1LL << 40, 1, S_SIZE, S_AT (max_bytes) },
    { "dead-max", "SHEAF_DEAD_MAX", 0, 100000000, 1, S_SIZE, S_AT (dead_max) },
    { "max-job-bytes", "SHEAF_MAX_JOB_BYTES", 1024, SF_BROKER_ITEM_MAX, 1, S_SIZE,
      S_AT (max_job_bytes) },
    { "max-result-bytes", "SHEAF_MAX_RESULT_BYTES", 1024, SF_BROKER_ITEM_MAX, 1, S_SIZE,
      S_AT (max_result_bytes) },
    { "result-max-bytes", "SHEAF_RESULT_MAX_BYTES", 0, 1LL << 40, 1, S_SIZE,
      S_AT (result_max_bytes) },
    { "peer-max-bytes", "SHEAF_PEER_MAX_BYTES", 1024, 1LL << 40, 1, S_SIZE,
      S_AT (peer_max_bytes) },
};
#define S_NUMBERS (sizeof s_numbers / sizeof s_numbers [0])

//  Set numeric setting number from text, or exit with a usage error.
static void
s_set_number (sf_broker_config_t *config, size_t number, const char *text)
{
    const s_number_t *setting = &s_numbers [number];
    long long value = sf_option_number ("sheaf-broker", setting->name, text, setting->min,
                                        setting->max, EXIT_USAGE) * setting->scale;
    char *field = (char *) config + setting->offset;
    switch (setting->type) {
        case S_INT: *(int *) field = (int) value; break;
        case S_INT64: *(int64_t *) field = value; break;
        case S_SIZE: *(size_t *) field = (size_t) value; break;
        case S_UINT32: *(uint32_t *) field = (uint32_t) value; break;
    }
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
    for (size_t i = 0; i < S_NUMBERS; i++)
        if ((env = getenv (s_numbers [i].env)) && *env)
            s_set_number (&config, i, env);
    bool verbose = (env = getenv ("SHEAF_VERBOSE")) && streq (env, "1");

    //  Numeric options return 256 + their index in s_numbers
    struct option options [S_NUMBERS + 7] = {
        { "frontend", required_argument, NULL, 'f' },
        { "backend", required_argument, NULL, 'b' },
        { "store", required_argument, NULL, 's' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
    };
    for (size_t i = 0; i < S_NUMBERS; i++)
        options [6 + i] = (struct option) { s_numbers [i].name, required_argument, NULL,
                                            256 + (int) i };
    int option;
    while ((option = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (option) {
            case 'f': config.frontend = optarg; break;
            case 'b': config.backend = optarg; break;
            case 's': config.store = optarg; break;
            case 'v': verbose = true; break;
            case 'h': s_usage (stdout); return 0;
            case 'V': sf_option_version ("sheaf-broker"); return 0;
            default:
                if (option >= 256 && option < 256 + (int) S_NUMBERS)
                    s_set_number (&config, (size_t) (option - 256), optarg);
                else {
                    s_usage (stderr);
                    return EXIT_USAGE;
                }
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
               streq (error.code, "BACKEND")? EXIT_BACKEND:
               streq (error.code, "LOCKED")? EXIT_LOCKED:
               streq (error.code, "LOOP")? EXIT_LOOP: EXIT_STORE;
    }
    int rc = sf_broker_run (broker);
    sf_broker_destroy (&broker);
    return rc;
}
