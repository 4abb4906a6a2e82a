/*  =========================================================================
    indicators - nanoseconds per candle of every indicator over 1,000,000
    candles, its kernel alone and end to end, next to a plain sum over the
    same closes (the floor: one pass, no allocation per candle)

        build/bench/indicators [--candles N] [--output last|series] [--period N]

    kernel: the indicator's batch kernel over columns already in memory,
    into output arrays already allocated (analyzers/indicators.h), with its
    default params. end to end: the analyzer as a worker thread runs it,
    from the job map with the candles inline (float64 columns): reading
    and checking the columns, computing, packing the result. Each figure
    is the best of five runs after one that warms caches and heap, in CPU
    time of the thread (what other processes take meanwhile does not
    count).
    --period gives every indicator that declares a "period" that window
    (default: each one's own).

    The TA-Lib and Tulip Indicators columns are not measured here: neither
    library is packaged for Debian. They are figures measured on other
    2-core VMs, where this plain sum ran at 0.9-1.0 ns a candle, with the
    same defaults; set them beside the kernel column with that in mind
    (the "x sum" column gives the kernel in units of this run's plain sum).
    ========================================================================= */

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "analyzers/indicators.h"
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_candles.h"
#include "sf_mp.h"

#define S_RUNS 5                //  Timed runs; the best counts

//  An indicator and its reference figures (ns a candle on the machine
//  where the plain sum took 0.9-1.0 ns; 0: none).
typedef struct {
    const char *name;           //  Its analyzer's name
    const sf_indicator_t *indicator;    //  Its kernel
    double talib;               //  TA-Lib
    double tulip;               //  Tulip Indicators
} s_entry_t;

#define S_ENTRY(name) { #name, &sf_indicator_##name, 0, 0 },
static s_entry_t s_entries [] = { SF_INDICATORS (S_ENTRY) };
#define S_ENTRIES (sizeof s_entries / sizeof s_entries [0])

//  The reference figures, by name.
static const struct {
    const char *name;           //  Indicator
    double talib;               //  TA-Lib ns a candle
    double tulip;               //  Tulip Indicators ns a candle
} s_references [] = {
    { "sma", 1.8, 0 }, { "rsi", 9.6, 0 }, { "macd", 29.4, 4.5 }, { "bbands", 10.1, 3.5 },
    { "atr", 13.4, 3.7 }, { "cci", 39.7, 20.9 }, { "stddev", 0, 3.2 },
    //  TA-Lib 0.6.4 on a 2-core VM where the plain sum took 0.9 ns
    { "dema", 16.7, 0 }, { "tema", 19.9, 0 }, { "trima", 2.9, 0 }, { "kama", 3.0, 0 },
    { "t3", 3.7, 0 }, { "midpoint", 25.9, 0 }, { "midprice", 8.7, 0 },
    { "mom", 0.6, 0 }, { "rocp", 1.4, 0 }, { "rocr", 1.4, 0 }, { "ppo", 5.3, 0 },
    { "apo", 4.7, 0 }, { "trix", 10.0, 0 }, { "cmo", 8.4, 0 }, { "bop", 1.7, 0 },
    { "natr", 7.5, 0 }, { "trange", 1.3, 0 }, { "ad", 1.9, 0 }, { "adosc", 2.4, 0 },
    { "avgprice", 1.4, 0 }, { "medprice", 0.9, 0 },
    { "typprice", 1.5, 0 }, { "wclprice", 1.1, 0 }, { "var", 2.9, 0 },
    { "linearreg", 15.1, 0 }, { "linearreg_slope", 15.6, 0 }, { "linearreg_angle", 23.8, 0 },
    { "linearreg_intercept", 17.3, 0 }, { "tsf", 17.1, 0 }, { "beta", 7.3, 0 },
    { "correl", 8.8, 0 },
    //  TA-Lib 0.6.4 (gcc -O2), median of runs on a 2-vCPU VM where the
    //  plain sum took 0.9 ns a candle
    { "plus_dm", 7.7, 0 }, { "minus_dm", 7.5, 0 }, { "plus_di", 9.3, 0 },
    { "minus_di", 9.6, 0 }, { "dx", 12.0, 0 }, { "adxr", 13.4, 0 }, { "sar", 7.5, 0 },
    { "sarext", 7.6, 0 }, { "aroon", 11.3, 0 }, { "aroonosc", 11.5, 0 },
    { "ultosc", 10.8, 0 }, { "stochf", 13.0, 0 }, { "stochrsi", 31.3, 0 },
    { "macdext", 18.9, 0 }, { "macdfix", 21.9, 0 }, { "mama", 67.2, 0 },
    { "ht_dcperiod", 51.9, 0 }, { "ht_trendline", 66.5, 0 }
};

//  The CPU time this thread has used, in seconds: time the machine gives
//  to other processes meanwhile does not count (the benchmark machine is
//  shared), page faults and the like do.
static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
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

//  The analyzer's args: its defaults, with period (when not 0) for its
//  "period" param.
static void
s_args (const sf_analyzer_t *analyzer, int period, double *args)
{
    sf_series_defaults (analyzer->params, args);
    size_t k = 0;
    for (const sf_param_t *param = analyzer->params; param->name; param++) {
        if (param->type != SF_PARAM_INT && param->type != SF_PARAM_REAL)
            continue;
        if (period && strcmp (param->name, "period") == 0)
            args [k] = period;
        k++;
    }
}

//  Best ns a candle of the kernel of indicator over candles.
static double
s_kernel_ns (const sf_indicator_t *indicator, const sf_candles_t *candles, const double *args,
             double *const *out)
{
    const double *in [SF_INDICATOR_INPUTS];
    sf_series_inputs (indicator, candles, in);
    double best = INFINITY;
    for (int run = 0; run <= S_RUNS; run++) {
        double started = s_now ();
        indicator->kernel (candles->size, in, args, out, NULL);
        double ns = (s_now () - started) * 1e9 / (double) candles->size;
        if (run > 0 && ns < best)
            best = ns;
    }
    return best;
}

//  Best ns a candle of analyzer run end to end on the job map job; -1 when
//  it fails.
static double
s_end_to_end_ns (sf_actx_t *ctx, const sf_analyzer_t *analyzer, const msgpack_object *job,
                 size_t size)
{
    double best = INFINITY;
    for (int run = 0; run <= S_RUNS; run++) {
        sf_actx_reset (ctx, analyzer, job, 1);
        double started = s_now ();
        if (analyzer->analyze (ctx)) {
            fprintf (stderr, "indicators: %s failed: %s\n", analyzer->name, ctx->message);
            return -1;
        }
        double ns = (s_now () - started) * 1e9 / (double) size;
        if (run > 0 && ns < best)
            best = ns;
    }
    return best;
}

//  Pack the job map for analyzer: candles inline, params output and
//  (when the analyzer declares it and it is not 0) period.
static void
s_pack_job (msgpack_sbuffer *buffer, const sf_analyzer_t *analyzer,
            const sf_candles_t *candles, const char *output, int period)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
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
}

//  value with one decimal, or "-" when it is 0.
static const char *
s_figure (char *text, size_t size, double value)
{
    if (value > 0)
        snprintf (text, size, "%.1f", value);
    else
        snprintf (text, size, "-");
    return text;
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
    if (size < 1000) {
        fprintf (stderr, "indicators: --candles must be at least 1000\n");
        return 64;
    }
    if (period < 0 || period > 500) {
        fprintf (stderr, "indicators: --period must be 2-500\n");
        return 64;
    }
    for (size_t e = 0; e < S_ENTRIES; e++)
        for (size_t r = 0; r < sizeof s_references / sizeof s_references [0]; r++)
            if (strcmp (s_entries [e].name, s_references [r].name) == 0) {
                s_entries [e].talib = s_references [r].talib;
                s_entries [e].tulip = s_references [r].tulip;
            }
    //  As sheaf-worker does: big buffers come from the heap and are reused
    //  from job to job instead of being mapped afresh each time
    mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);     //  glibc's maximum
    mallopt (M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    sf_candles_t *candles = s_walk (size);

    //  The floor: one pass over the closes
    double best = INFINITY, sum = 0;
    for (int run = 0; run <= S_RUNS; run++) {
        double started = s_now ();
        for (size_t i = 0; i < size; i++)
            sum += candles->close [i];
        double ns = (s_now () - started) * 1e9 / (double) size;
        if (run > 0 && ns < best)
            best = ns;
    }
    double floor_ns = best;
    printf ("{\"analyzer\":\"plain-sum\",\"candles\":%zu,\"ns_per_candle\":%.2f,\"check\":%.3g}\n",
            size, floor_ns, sum);

    double *out [SF_INDICATOR_OUTPUTS];
    for (size_t k = 0; k < SF_INDICATOR_OUTPUTS; k++) {
        out [k] = (double *) calloc (size, sizeof (double));
        if (!out [k])
            abort ();
    }
    sf_actx_t ctx;
    sf_actx_init (&ctx, NULL, NULL);
    printf ("\n%-19s %10s %10s %8s %10s %10s\n", "indicator", "kernel ns", "e2e ns", "x sum",
            "TA-Lib ns*", "Tulip ns*");
    int rc = 0;
    for (size_t e = 0; e < S_ENTRIES; e++) {
        const sf_analyzer_t *analyzer = sf_analyzers_find (s_entries [e].name,
                                                           strlen (s_entries [e].name), false);
        double args [SF_INDICATOR_ARGS] = { 0 };
        s_args (analyzer, period, args);
        double kernel_ns = s_kernel_ns (s_entries [e].indicator, candles, args, out);

        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        s_pack_job (&buffer, analyzer, candles, output, period);
        msgpack_unpacked job;
        msgpack_unpacked_init (&job);
        size_t offset = 0;
        if (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
            != MSGPACK_UNPACK_SUCCESS)
            abort ();
        double end_ns = s_end_to_end_ns (&ctx, analyzer, &job.data, size);
        rc |= end_ns < 0;
        char talib [16], tulip [16];
        printf ("%-19s %10.2f %10.2f %8.1f %10s %10s\n", analyzer->name, kernel_ns, end_ns,
                kernel_ns / floor_ns, s_figure (talib, sizeof talib, s_entries [e].talib),
                s_figure (tulip, sizeof tulip, s_entries [e].tulip));
        msgpack_unpacked_destroy (&job);
        msgpack_sbuffer_destroy (&buffer);
    }
    //  The analyzers that use kernels without being one: end to end only
    static const char *others [] = { "stats", "report" };
    for (size_t o = 0; o < 2; o++) {
        const sf_analyzer_t *analyzer = sf_analyzers_find (others [o], strlen (others [o]),
                                                           false);
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        s_pack_job (&buffer, analyzer, candles, output, 0);
        msgpack_unpacked job;
        msgpack_unpacked_init (&job);
        size_t offset = 0;
        if (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
            != MSGPACK_UNPACK_SUCCESS)
            abort ();
        double end_ns = s_end_to_end_ns (&ctx, analyzer, &job.data, size);
        rc |= end_ns < 0;
        printf ("%-19s %10s %10.2f %8s %10s %10s\n", analyzer->name, "-", end_ns, "-", "-", "-");
        msgpack_unpacked_destroy (&job);
        msgpack_sbuffer_destroy (&buffer);
    }
    printf ("\nplain sum %.2f ns a candle. * not run here: figures from other 2-core VMs, "
            "where\nthe plain sum took 0.9-1.0 ns a candle.\n", floor_ns);
    for (size_t k = 0; k < SF_INDICATOR_OUTPUTS; k++)
        free (out [k]);
    sf_actx_destroy (&ctx);
    sf_candles_destroy (&candles);
    return rc;
}
