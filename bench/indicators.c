/*  =========================================================================
    indicators - nanoseconds per candle of every indicator analyzer over
    1,000,000 candles, next to a plain sum over the same closes (the floor:
    one pass, no allocation per candle)

        build/bench/indicators [--candles N] [--output last|series] [--period N]

    Each analyzer runs in this process through the same context a worker
    thread gives it: it reads its candles from the job (inline float64
    columns), computes, and packs its result; the second of two runs is
    timed. --period gives every analyzer that declares a "period" that
    window (default: each one's own). Prints the floor as one JSON line,
    then a table.
    ========================================================================= */

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_candles.h"
#include "sf_mp.h"

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  A geometric random walk of size candles, fixed seed.
static sf_candles_t *
s_walk (size_t size)
{
    sf_candles_t *candles = sf_candles_new (size);
    unsigned int seed = 42;
    double price = 100;
    for (size_t i = 0; i < size; i++) {
        double step = ((double) rand_r (&seed) / RAND_MAX - 0.5) * 0.002;
        double open = price;
        price *= exp (step);
        double high = fmax (open, price) * 1.0005, low = fmin (open, price) * 0.9995;
        sf_candles_append (candles, 60000.0 * (double) i, open, high, low, price,
                           1000 + rand_r (&seed) % 1000);
    }
    return candles;
}

int
main (int argc, char *argv [])
{
    size_t size = 1000000;
    const char *output = "last";
    int period = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--candles") == 0 && i + 1 < argc)
            size = (size_t) strtoull (argv [++i], NULL, 10);
        else
        if (strcmp (argv [i], "--output") == 0 && i + 1 < argc)
            output = argv [++i];
        else
        if (strcmp (argv [i], "--period") == 0 && i + 1 < argc)
            period = atoi (argv [++i]);
        else {
            fprintf (stderr, "usage: indicators [--candles N] [--output last|series] "
                     "[--period N]\n");
            return 64;
        }
    }
    if (size < 100) {
        fprintf (stderr, "indicators: --candles must be at least 100\n");
        return 64;
    }
    sf_candles_t *candles = s_walk (size);
    //  As sheaf-worker does: big buffers come from the heap and are reused
    //  from job to job instead of being mapped afresh each time
    mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);     //  glibc's maximum
    mallopt (M_TRIM_THRESHOLD, 1024 * 1024 * 1024);

    //  The floor: one pass over the closes
    double started = s_now (), sum = 0;
    for (int round = 0; round < 10; round++)
        for (size_t i = 0; i < size; i++)
            sum += candles->close [i];
    double floor_ns = (s_now () - started) / 10 * 1e9 / (double) size;
    printf ("{\"analyzer\":\"plain-sum\",\"candles\":%zu,\"ns_per_candle\":%.2f,\"check\":%.3g}\n",
            size, floor_ns, sum);

    //  One job map with the candles inline, for every analyzer
    msgpack_sbuffer buffer;
    sf_actx_t ctx;
    sf_actx_init (&ctx, NULL, NULL);
    printf ("\n%-12s %14s %10s\n", "analyzer", "ns/candle", "x floor");
    int rc = 0;
    for (size_t a = 0; a < sf_analyzers_count (); a++) {
        const sf_analyzer_t *analyzer = sf_analyzers_at (a);
        if (analyzer->test_only || strcmp (analyzer->name, "echo") == 0
        ||  strcmp (analyzer->name, "sleep") == 0 || strcmp (analyzer->name, "fail") == 0
        ||  strcmp (analyzer->name, "correlation") == 0
        ||  strcmp (analyzer->name, "summary") == 0)
            continue;           //  Not one series of candles in, a result out
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 3);
        sf_mp_pack_kv_str (&pk, "analyzer", analyzer->name);
        sf_mp_pack_str (&pk, "candles");
        sf_candles_pack (candles, &pk);
        bool periodic = false;
        for (const sf_param_t *param = analyzer->params; period && param && param->name; param++)
            periodic |= strcmp (param->name, "period") == 0;
        sf_mp_pack_str (&pk, "params");
        msgpack_pack_map (&pk, periodic? 2: 1);
        sf_mp_pack_kv_str (&pk, "output", output);
        if (periodic) {
            sf_mp_pack_str (&pk, "period");
            msgpack_pack_int (&pk, period);
        }
        msgpack_unpacked job;
        msgpack_unpacked_init (&job);
        size_t offset = 0;
        if (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
            != MSGPACK_UNPACK_SUCCESS)
            abort ();
        //  The second of two runs is timed: the first warms the heap
        int status = 0;
        double ns = 0;
        for (int run = 0; run < 2; run++) {
            sf_actx_reset (&ctx, analyzer, &job.data, 1);
            started = s_now ();
            status |= analyzer->analyze (&ctx);
            ns = (s_now () - started) * 1e9 / (double) size;
        }
        if (status != 0) {
            fprintf (stderr, "indicators: %s failed: %s\n", analyzer->name, ctx.message);
            rc = 1;
        }
        printf ("%-12s %14.2f %10.1f\n", analyzer->name, ns, ns / floor_ns);
        msgpack_unpacked_destroy (&job);
        msgpack_sbuffer_destroy (&buffer);
    }
    sf_actx_destroy (&ctx);
    sf_candles_destroy (&candles);
    return rc;
}
