/*  =========================================================================
    inline - one analysis job carrying a million candles inline, end to end

        build/bench/inline --broker EP [--candles N] [--analyzer rsi]

    Builds N synthetic candles, submits one job with them inline through
    the public API (sf_job_set_candles), waits for its result, and prints
    one JSON line: bytes of the job on the wire, the client's submit-to-
    result time, the worker's run time (reading the columns, computing,
    packing) and the rest (transfer through broker and worker, copies).
    ========================================================================= */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sf_job.h"
#include "sheaf.h"

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main (int argc, char *argv [])
{
    const char *broker = NULL, *analyzer = "rsi";
    size_t size = 1000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--broker") == 0 && i + 1 < argc)
            broker = argv [++i];
        else
        if (strcmp (argv [i], "--candles") == 0 && i + 1 < argc)
            size = (size_t) strtoull (argv [++i], NULL, 10);
        else
        if (strcmp (argv [i], "--analyzer") == 0 && i + 1 < argc)
            analyzer = argv [++i];
        else {
            fprintf (stderr, "usage: inline --broker EP [--candles N] [--analyzer NAME]\n");
            return 64;
        }
    }
    double *column [6];
    for (int c = 0; c < 6; c++)
        if (!(column [c] = malloc (size * sizeof (double))))
            abort ();
    unsigned int seed = 7;
    double price = 100;
    for (size_t i = 0; i < size; i++) {
        double open = price;
        price *= exp (((double) rand_r (&seed) / RAND_MAX - 0.5) * 0.002);
        column [0][i] = 60000.0 * (double) i;
        column [1][i] = open;
        column [2][i] = fmax (open, price) * 1.0005;
        column [3][i] = fmin (open, price) * 0.9995;
        column [4][i] = price;
        column [5][i] = 1000 + rand_r (&seed) % 1000;
    }
    sf_job_t *job = sf_job_new (analyzer);
    if (!job || sf_job_set_candles (job, column [0], column [1], column [2], column [3],
                                    column [4], column [5], size)
    ||  sf_job_set_param (job, "output", "\"last\"")
    ||  sf_job_set_timeout (job, 600000)) {
        fprintf (stderr, "inline: cannot build the job\n");
        return 1;
    }
    msgpack_sbuffer wire;
    msgpack_sbuffer_init (&wire);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &wire, msgpack_sbuffer_write);
    sf_job_pack (job, &pk);

    sf_client_t *client = sf_client_new (broker);
    sf_client_set_timeout (client, 60000);
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    double started = s_now ();
    int rc = 1;
    if (sf_client_submit (client, job, id, &error))
        fprintf (stderr, "inline: %s\n", error.message);
    else {
        sf_result_t *result = sf_client_wait (client, 600000, &error);
        double seconds = s_now () - started;
        if (!result)
            fprintf (stderr, "inline: %s\n", error.message);
        else
        if (sf_result_status (result) != SF_STATUS_OK)
            fprintf (stderr, "inline: job ended %s: %s\n", sf_status_name (sf_result_status (result)),
                     sf_result_error_message (result));
        else {
            double run = (double) sf_result_run_us (result) / 1e6;
            printf ("{\"analyzer\":\"%s\",\"candles\":%zu,\"job_bytes\":%zu,\"seconds\":%.3f,"
                    "\"worker_run_seconds\":%.3f,\"transfer_seconds\":%.3f}\n",
                    analyzer, size, wire.size, seconds, run, seconds - run);
            rc = 0;
        }
        sf_result_destroy (&result);
    }
    sf_client_destroy (&client);
    msgpack_sbuffer_destroy (&wire);
    sf_job_destroy (&job);
    for (int c = 0; c < 6; c++)
        free (column [c]);
    return rc;
}
