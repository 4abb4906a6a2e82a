/*  =========================================================================
    check_indicators3 - the TA-Lib indicators of the third set (the
    directional family, the parabolic SARs, aroon, ultosc, stochf,
    stochrsi, macdext, macdfix and the Hilbert-transform family) against
    values computed here from their definitions, written independently of
    the analyzers (every window scanned afresh, every recursion spelled
    out), on the three samples in data/ and on flat, constant and tiny
    series with their zero-denominator rules; and every one with a step
    form fed in random chunks, each job continuing from the state the one
    before handed back, against one full computation
    ========================================================================= */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_candles.h"
#include "sf_mp.h"
#include "sf_state.h"
#include "suite.h"

#define S_SAMPLES 3
#define S_PARAMS 9              //  Params of a job here, at most (with the end)

static const char *s_samples [S_SAMPLES] = { "GOOG_1d", "SYNTH_1m", "EDGE_1m" };

//  A param of a job: its name and value (NULL name ends a list).
typedef struct {
    const char *name;           //  As the analyzer declares it
    double value;               //  Packed as an integer for an INT param
} s_param_t;

static char s_data_dir [512];
static sf_candles_t *s_data [S_SAMPLES];       //  The samples, loaded once
static msgpack_unpacked s_result;               //  The last result decoded
static sf_actx_t s_ctx;

static void
s_setup (void)
{
    const char *src = getenv ("SHEAF_SRC");
    snprintf (s_data_dir, sizeof s_data_dir, "%s/data", src? src: ".");
    for (size_t f = 0; f < S_SAMPLES; f++) {
        char path [600];
        snprintf (path, sizeof path, "%s/%s.csv", s_data_dir, s_samples [f]);
        sf_error_t error;
        s_data [f] = sf_candles_load_csv (path, &error);
        ck_assert_msg (s_data [f], "%s", error.message);
    }
    msgpack_unpacked_init (&s_result);
    sf_actx_init (&s_ctx, s_data_dir, NULL);
}

static void
s_teardown (void)
{
    for (size_t f = 0; f < S_SAMPLES; f++)
        sf_candles_destroy (&s_data [f]);
    msgpack_unpacked_destroy (&s_result);
    sf_actx_destroy (&s_ctx);
}

//  Run analyzer on candles with params (NULL: its defaults), output
//  "series" or "last" (NULL: the default), a state (state_size bytes)
//  when not NULL, and a state_key when new_state is not NULL. Returns the
//  analyzer's return code; on success s_result holds the result and
//  *new_state a copy of the state handed back (the caller frees it).
static int
s_run (const char *analyzer, const sf_candles_t *candles, const s_param_t *params,
       const char *output, const char *state, size_t state_size, char **new_state,
       size_t *new_size)
{
    const sf_analyzer_t *found = sf_analyzers_find (analyzer, strlen (analyzer), false);
    ck_assert_msg (found, "no analyzer %s", analyzer);
    size_t count = 0;
    while (params && params [count].name)
        count++;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3 + (new_state? 1: 0) + (state? 1: 0));
    sf_mp_pack_kv_str (&pk, "analyzer", analyzer);
    sf_mp_pack_str (&pk, "candles");
    sf_candles_pack (candles, &pk);
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, count + (output? 1: 0));
    for (size_t p = 0; p < count; p++) {
        const sf_param_t *declared = found->params;
        while (declared->name && strcmp (declared->name, params [p].name))
            declared++;
        ck_assert_msg (declared->name, "%s declares no %s", analyzer, params [p].name);
        sf_mp_pack_str (&pk, params [p].name);
        if (declared->type == SF_PARAM_INT)
            msgpack_pack_int64 (&pk, (int64_t) params [p].value);
        else
            msgpack_pack_double (&pk, params [p].value);
    }
    if (output)
        sf_mp_pack_kv_str (&pk, "output", output);
    if (new_state)
        sf_mp_pack_kv_str (&pk, "state_key", "k");
    if (state) {
        sf_mp_pack_str (&pk, "state");
        msgpack_pack_bin (&pk, state_size);
        msgpack_pack_bin_body (&pk, state, state_size);
    }
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_actx_reset (&s_ctx, found, &job.data, 1);
    int rc = sf_actx_check_params (&s_ctx)? -1: found->analyze (&s_ctx);
    if (rc == 0) {
        offset = 0;
        ck_assert (msgpack_unpack_next (&s_result, s_ctx.output.data, s_ctx.output.size,
                                        &offset) == MSGPACK_UNPACK_SUCCESS);
        if (new_state) {
            ck_assert (s_ctx.has_new_state);
            *new_state = (char *) malloc (s_ctx.new_state.size);
            memcpy (*new_state, s_ctx.new_state.data, s_ctx.new_state.size);
            *new_size = s_ctx.new_state.size;
        }
    }
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  Run analyzer over all of candles with params; it must succeed.
static void
s_run_ok (const char *analyzer, const sf_candles_t *candles, const s_param_t *params)
{
    int rc = s_run (analyzer, candles, params, NULL, NULL, 0, NULL, NULL);
    ck_assert_msg (rc == 0, "%s failed: %s", analyzer, s_ctx.message);
}

//  Output name of s_result against want over size candles: null for the
//  first lookback, then within tolerance (relative above 1, absolute
//  below). what names the case in a failure.
static void
s_expect_series (const char *what, const char *name, const double *want, size_t size,
                 size_t lookback, double tolerance)
{
    const msgpack_object *values = sf_mp_get (&s_result.data, name);
    ck_assert_msg (values, "%s: no output %s", what, name);
    ck_assert_int_eq (values->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq (values->via.array.size, size);
    for (size_t i = 0; i < size; i++) {
        const msgpack_object *value = &values->via.array.ptr [i];
        if (i < lookback) {
            ck_assert_msg (value->type == MSGPACK_OBJECT_NIL, "%s: %s[%zu] should be null",
                           what, name, i);
            continue;
        }
        ck_assert_msg (value->type == MSGPACK_OBJECT_FLOAT64, "%s: %s[%zu] is not a number",
                       what, name, i);
        double got = value->via.f64, scale = fabs (want [i]) > 1? fabs (want [i]): 1;
        ck_assert_msg (fabs (got - want [i]) / scale <= tolerance,
                       "%s: %s[%zu] = %.17g, want %.17g", what, name, i, got, want [i]);
    }
}

//  The series of output name in s_result into values (null as NAN) from
//  values[at]; returns how many.
static size_t
s_take (const char *name, double *values, size_t at)
{
    const msgpack_object *array = sf_mp_get (&s_result.data, name);
    ck_assert_ptr_nonnull (array);
    ck_assert_int_eq (array->type, MSGPACK_OBJECT_ARRAY);
    for (uint32_t i = 0; i < array->via.array.size; i++) {
        const msgpack_object *value = &array->via.array.ptr [i];
        values [at + i] = value->type == MSGPACK_OBJECT_FLOAT64? value->via.f64: NAN;
    }
    return array->via.array.size;
}

//  A series of size candles, every one open = high = low = close = price.
static sf_candles_t *
s_flat (size_t size, double price)
{
    sf_candles_t *candles = sf_candles_new (size);
    for (size_t i = 0; i < size; i++)
        sf_candles_append (candles, 60000.0 * (double) i, price, price, price, price, 100);
    return candles;
}

//  Candles [first, last) of candles, as a new series.
static sf_candles_t *
s_slice (const sf_candles_t *candles, size_t first, size_t last)
{
    sf_candles_t *slice = sf_candles_new (last - first);
    for (size_t i = first; i < last; i++)
        sf_candles_append (slice, candles->ts [i], candles->open [i], candles->high [i],
                           candles->low [i], candles->close [i], candles->volume [i]);
    return slice;
}

//  --------------------------------------------------------------------------
//  Continuations: analyzer over candles in random chunks, each job with
//  the state the one before handed back (and every other one repeating
//  the ten candles before it, which the state must skip), gives the
//  outputs of one full computation, to 1e-9.

static void
s_chunked (const char *analyzer, const s_param_t *params, const sf_candles_t *candles,
           size_t lookback, size_t chunks, unsigned seed)
{
    const sf_analyzer_t *found = sf_analyzers_find (analyzer, strlen (analyzer), false);
    ck_assert_ptr_nonnull (found);
    size_t size = candles->size;
    //  The output names: every array in the full result but ts
    s_run_ok (analyzer, candles, params);
    const char *names [4];
    double *want [4], *got [4];
    size_t outputs = 0;
    const msgpack_object *map = &s_result.data;
    for (uint32_t k = 0; k < map->via.map.size; k++) {
        const msgpack_object *key = &map->via.map.ptr [k].key;
        if (sf_mp_streq (key, "ts"))
            continue;
        ck_assert (outputs < 4);
        char *name = (char *) calloc (1, key->via.str.size + 1);
        memcpy (name, key->via.str.ptr, key->via.str.size);
        names [outputs] = name;
        want [outputs] = (double *) calloc (size, sizeof (double));
        got [outputs] = (double *) calloc (size, sizeof (double));
        ck_assert_uint_eq (s_take (name, want [outputs], 0), size);
        outputs++;
    }
    //  Cuts after the first output, sorted
    size_t *cuts = (size_t *) calloc (chunks + 1, sizeof (size_t));
    cuts [chunks] = size;
    for (size_t c = 1; c < chunks; c++)
        cuts [c] = lookback + 1 + (size_t) rand_r (&seed) % (size - lookback - 1);
    for (size_t c = 1; c < chunks; c++)
        for (size_t d = c + 1; d < chunks; d++)
            if (cuts [d] < cuts [c]) {
                size_t t = cuts [c];
                cuts [c] = cuts [d];
                cuts [d] = t;
            }
    char *state = NULL;
    size_t state_size = 0, count = 0;
    for (size_t c = 0; c < chunks; c++) {
        size_t from = cuts [c] >= 10 && c % 2? cuts [c] - 10: cuts [c];
        sf_candles_t *slice = s_slice (candles, from, cuts [c + 1]);
        char *next = NULL;
        size_t next_size = 0;
        int rc = s_run (analyzer, slice, params, NULL, state, state_size, &next, &next_size);
        ck_assert_msg (rc == 0, "%s chunk %zu of %zu: %s", analyzer, c, chunks, s_ctx.message);
        size_t added = 0;
        for (size_t k = 0; k < outputs; k++)
            added = s_take (names [k], got [k], count);
        ck_assert_uint_eq (added, cuts [c + 1] - cuts [c]);
        count += added;
        free (state);
        state = next;
        state_size = next_size;
        sf_candles_destroy (&slice);
    }
    ck_assert_uint_eq (count, size);
    for (size_t k = 0; k < outputs; k++) {
        for (size_t i = 0; i < size; i++) {
            if (isnan (want [k][i])) {
                ck_assert_msg (isnan (got [k][i]), "%s.%s[%zu] should be null (%zu chunks)",
                               analyzer, names [k], i, chunks);
                continue;
            }
            double scale = fabs (want [k][i]) > 1? fabs (want [k][i]): 1;
            ck_assert_msg (fabs (got [k][i] - want [k][i]) / scale <= 1e-9,
                           "%s.%s[%zu] in %zu chunks = %.17g, in one %.17g", analyzer,
                           names [k], i, chunks, got [k][i], want [k][i]);
        }
        free ((char *) names [k]);
        free (want [k]);
        free (got [k]);
    }
    free (state);
    free (cuts);
}

//  s_chunked of analyzer on every sample, in 2, 3, 7 and 25 chunks.
static void
s_chunked_everywhere (const char *analyzer, const s_param_t *params, size_t lookback)
{
    static const size_t chunks [] = { 2, 3, 7, 25 };
    for (size_t f = 0; f < S_SAMPLES; f++)
        for (size_t j = 0; j < sizeof chunks / sizeof chunks [0]; j++)
            s_chunked (analyzer, params, s_data [f], lookback, chunks [j],
                       7919 * (unsigned) (f + 1) + (unsigned) j);
}

//  --------------------------------------------------------------------------
//  The directional family, from its definitions: ±DM, Wilder sums as
//  TA-Lib writes them (S - S/n + x), DI, DX holding its value where it is
//  not defined, ADX not moving there (and such a DX adding nothing to its
//  first mean), ADXR.

typedef struct {
    double *plus_dm, *minus_dm;         //  Wilder sums, from n - 1
    double *plus_di, *minus_di, *dx;    //  From n
    double *adx;                        //  From 2n - 1
    double *adxr;                       //  From 3n - 2
} s_directional_t;

static double
s_true_range (const sf_candles_t *k, size_t i)
{
    return fmax (k->high [i] - k->low [i], fmax (fabs (k->high [i] - k->close [i - 1]),
                                                 fabs (k->low [i] - k->close [i - 1])));
}

static s_directional_t
s_textbook_directional (const sf_candles_t *k, size_t n)
{
    size_t size = k->size;
    s_directional_t d;
    double **all [] = { &d.plus_dm, &d.minus_dm, &d.plus_di, &d.minus_di, &d.dx, &d.adx,
                        &d.adxr };
    for (size_t a = 0; a < 7; a++)
        *all [a] = (double *) calloc (size, sizeof (double));
    double plus = 0, minus = 0, range = 0, dx = 0, adx = 0;
    for (size_t i = 1; i < size; i++) {
        double up = k->high [i] - k->high [i - 1], down = k->low [i - 1] - k->low [i];
        double pdm = up > 0 && up > down? up: 0, mdm = down > 0 && down > up? down: 0;
        if (i < n) {
            plus += pdm;
            minus += mdm;
            range += s_true_range (k, i);
        }
        else {
            plus = plus - plus / (double) n + pdm;
            minus = minus - minus / (double) n + mdm;
            range = range - range / (double) n + s_true_range (k, i);
        }
        if (i < n - 1)
            continue;
        d.plus_dm [i] = plus;
        d.minus_dm [i] = minus;
        if (i < n)
            continue;
        bool traded = range >= 1e-14;
        double pdi = traded? 100 * plus / range: 0, mdi = traded? 100 * minus / range: 0;
        d.plus_di [i] = pdi;
        d.minus_di [i] = mdi;
        bool defined = traded && pdi + mdi >= 1e-14;
        double fresh = defined? 100 * fabs (pdi - mdi) / (pdi + mdi): 0;
        if (defined)
            dx = fresh;
        d.dx [i] = dx;
        if (i < 2 * n - 1)
            adx += fresh;
        else
        if (i == 2 * n - 1)
            adx = (adx + fresh) / (double) n;
        else
        if (defined)
            adx = (adx * (double) (n - 1) + fresh) / (double) n;
        d.adx [i] = adx;
        if (i >= 3 * n - 2)
            d.adxr [i] = (adx + d.adx [i - (n - 1)]) / 2;
    }
    return d;
}

static void
s_directional_free (s_directional_t *d)
{
    double *all [] = { d->plus_dm, d->minus_dm, d->plus_di, d->minus_di, d->dx, d->adx,
                       d->adxr };
    for (size_t a = 0; a < 7; a++)
        free (all [a]);
}

//  Every directional analyzer on candles with period n (0: the default,
//  14) against the textbook.
static void
s_check_directional (const char *what, const sf_candles_t *k, size_t n)
{
    s_param_t params [] = { { "period", (double) n }, { NULL, 0 } };
    const s_param_t *given = n? params: NULL;
    n = n? n: 14;
    s_directional_t d = s_textbook_directional (k, n);
    size_t size = k->size;
    char label [128];
    snprintf (label, sizeof label, "%s period %zu", what, n);
    s_run_ok ("plus_dm", k, given);
    s_expect_series (label, "plus_dm", d.plus_dm, size, n - 1, 1e-9);
    s_run_ok ("minus_dm", k, given);
    s_expect_series (label, "minus_dm", d.minus_dm, size, n - 1, 1e-9);
    s_run_ok ("plus_di", k, given);
    s_expect_series (label, "plus_di", d.plus_di, size, n, 1e-9);
    s_run_ok ("minus_di", k, given);
    s_expect_series (label, "minus_di", d.minus_di, size, n, 1e-9);
    s_run_ok ("dx", k, given);
    s_expect_series (label, "dx", d.dx, size, n, 1e-9);
    s_run_ok ("adxr", k, given);
    s_expect_series (label, "adxr", d.adxr, size, 3 * n - 2, 1e-9);
    s_directional_free (&d);
}

START_TEST (test_directional_on_samples)
{
    static const size_t periods [] = { 0, 2, 5, 30 };
    for (size_t f = 0; f < S_SAMPLES; f++)
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++)
            s_check_directional (s_samples [f], s_data [f], periods [p]);
}
END_TEST

START_TEST (test_directional_zero_denominators)
{
    //  Fully flat: no true range at all, so every DI and DX is 0, and ADX
    //  (a mean of nothing defined) and ADXR too
    sf_candles_t *flat = s_flat (60, 48.88);
    s_check_directional ("flat", flat, 0);
    double values [80];
    static const char *const zeros [] = { "plus_di", "minus_di", "dx", "adxr" };
    for (size_t z = 0; z < 4; z++) {
        s_run_ok (zeros [z], flat, NULL);
        s_take (zeros [z], values, 0);
        for (size_t i = z < 3? 14: 40; i < 60; i++)
            ck_assert_msg (values [i] == 0, "flat %s[%zu] = %g", zeros [z], i, values [i]);
    }
    sf_candles_destroy (&flat);

    //  The same high and low every candle, closes moving inside: true
    //  ranges but no movement, so DI+ + DI- is 0 and DX is 0 throughout
    sf_candles_t *inside = sf_candles_new (80);
    for (size_t i = 0; i < 80; i++)
        sf_candles_append (inside, 60000.0 * (double) i, 7, 10, 5, i % 2? 6: 9, 1);
    s_check_directional ("inside", inside, 0);
    s_run_ok ("dx", inside, NULL);
    s_take ("dx", values, 0);
    for (size_t i = 14; i < 80; i++)
        ck_assert (values [i] == 0);
    sf_candles_destroy (&inside);

    //  Moves, then 700 inside candles: the movement sums decay until DI+ +
    //  DI- falls below 1e-14 (about 480 candles on), after which DX repeats
    //  its last value and ADX stays where it is
    sf_candles_t *fading = s_slice (s_data [0], 0, 40);
    for (size_t i = 0; i < 700; i++)
        sf_candles_append (fading, fading->ts [39] + 86400000.0 * (double) (i + 1), 125, 130,
                           120, i % 2? 122: 128, 1);
    s_check_directional ("fading", fading, 0);
    sf_candles_destroy (&fading);

    //  Flat after moving: the sums decay together, so DI and DX stay at
    //  their last values (the EDGE sample's flat stretch, checked above, and
    //  a long one here)
    sf_candles_t *stops = s_slice (s_data [0], 0, 200);
    for (size_t i = 0; i < 300; i++)
        sf_candles_append (stops, stops->ts [199] + 86400000.0 * (double) (i + 1), 400, 400,
                           400, 400, 0);
    s_check_directional ("stops", stops, 0);
    s_run_ok ("plus_di", stops, NULL);
    double *di = (double *) calloc (500, sizeof (double));
    s_take ("plus_di", di, 0);
    ck_assert (fabs (di [499] - di [201]) <= 1e-9 * di [201]);
    free (di);
    sf_candles_destroy (&stops);
}
END_TEST

//  The fewest candles each takes: lookback + 1 gives one value, one fewer
//  is INSUFFICIENT_DATA.
static void
s_check_minimum (const char *analyzer, const s_param_t *params, size_t lookback)
{
    sf_candles_t *few = s_slice (s_data [0], 0, lookback);
    ck_assert_int_eq (s_run (analyzer, few, params, NULL, NULL, 0, NULL, NULL), -1);
    ck_assert_str_eq (s_ctx.code, "INSUFFICIENT_DATA");
    sf_candles_destroy (&few);
    few = s_slice (s_data [0], 0, lookback + 1);
    s_run_ok (analyzer, few, params);
    const msgpack_object *ts = sf_mp_get (&s_result.data, "ts");
    ck_assert_uint_eq (ts->via.array.size, lookback + 1);
    const msgpack_object *map = &s_result.data;
    for (uint32_t k = 0; k < map->via.map.size; k++) {
        const msgpack_object *values = &map->via.map.ptr [k].val;
        ck_assert_uint_eq (values->via.array.size, lookback + 1);
        if (sf_mp_streq (&map->via.map.ptr [k].key, "ts"))
            continue;
        ck_assert_int_eq (values->via.array.ptr [lookback].type, MSGPACK_OBJECT_FLOAT64);
        if (lookback > 0)
            ck_assert_int_eq (values->via.array.ptr [lookback - 1].type, MSGPACK_OBJECT_NIL);
    }
    sf_candles_destroy (&few);
}

START_TEST (test_directional_minimum_and_chunks)
{
    s_param_t two [] = { { "period", 2 }, { NULL, 0 } };
    s_check_minimum ("plus_dm", NULL, 13);
    s_check_minimum ("minus_dm", two, 1);
    s_check_minimum ("plus_di", NULL, 14);
    s_check_minimum ("minus_di", two, 2);
    s_check_minimum ("dx", NULL, 14);
    s_check_minimum ("adxr", NULL, 40);
    s_check_minimum ("adxr", two, 4);
    s_chunked_everywhere ("plus_dm", NULL, 13);
    s_chunked_everywhere ("minus_dm", NULL, 13);
    s_chunked_everywhere ("plus_di", NULL, 14);
    s_chunked_everywhere ("minus_di", NULL, 14);
    s_chunked_everywhere ("dx", NULL, 14);
    s_chunked_everywhere ("adxr", NULL, 40);
    s_chunked_everywhere ("adxr", two, 4);
}
END_TEST

//  --------------------------------------------------------------------------
//  The parabolic SARs, from the definitions: the start from -DM of candle
//  1 (or the start value), candle 1 as its own candle before, reversals at
//  the extreme point within the two candles' range, moved by the offset.

typedef struct {
    double start, offset;                       //  sarext's first two params
    double init_long, step_long, max_long;      //  A long's factors
    double init_short, step_short, max_short;   //  A short's
} s_sar_t;

static void
s_textbook_sar (const sf_candles_t *k, s_sar_t p, bool negative, double *out)
{
    const double *high = k->high, *low = k->low;
    p.init_long = fmin (p.init_long, p.max_long);
    p.step_long = fmin (p.step_long, p.max_long);
    p.init_short = fmin (p.init_short, p.max_short);
    p.step_short = fmin (p.step_short, p.max_short);
    bool is_long;
    double sar;
    if (p.start == 0) {
        double down = low [0] - low [1], up = high [1] - high [0];
        double minus_dm = down > 0 && down > up? down: 0;
        is_long = !(minus_dm > 0);
        sar = is_long? low [0]: high [0];
    }
    else {
        is_long = p.start > 0;
        sar = fabs (p.start);
    }
    double ep = is_long? high [1]: low [1];
    double af_long = p.init_long, af_short = p.init_short;
    for (size_t t = 1; t < k->size; t++) {
        size_t before = t == 1? 1: t - 1;
        double top = fmax (high [before], high [t]), bottom = fmin (low [before], low [t]);
        if (is_long && low [t] <= sar) {
            double value = fmax (ep, top);
            value += value * p.offset;
            out [t] = negative? -value: value;
            is_long = false;
            af_short = p.init_short;
            ep = low [t];
            sar = fmax (value + af_short * (ep - value), top);
        }
        else
        if (is_long) {
            out [t] = sar;
            if (high [t] > ep) {
                ep = high [t];
                af_long = fmin (af_long + p.step_long, p.max_long);
            }
            sar = fmin (sar + af_long * (ep - sar), bottom);
        }
        else
        if (high [t] >= sar) {
            double value = fmin (ep, bottom);
            value -= value * p.offset;
            out [t] = value;
            is_long = true;
            af_long = p.init_long;
            ep = high [t];
            sar = fmin (value + af_long * (ep - value), bottom);
        }
        else {
            out [t] = negative? -sar: sar;
            if (low [t] < ep) {
                ep = low [t];
                af_short = fmin (af_short + p.step_short, p.max_short);
            }
            sar = fmax (sar + af_short * (ep - sar), top);
        }
    }
}

//  sarext with p (and sar with its acceleration and maximum when the
//  factors are the same long and short and nothing else is given) on
//  candles against the textbook.
static void
s_check_sar (const char *what, const sf_candles_t *k, s_sar_t p)
{
    size_t size = k->size;
    double *want = (double *) calloc (size, sizeof (double));
    s_param_t ext [] = {
        { "start_value", p.start }, { "offset_on_reverse", p.offset },
        { "acceleration_init_long", p.init_long }, { "acceleration_long", p.step_long },
        { "acceleration_max_long", p.max_long }, { "acceleration_init_short", p.init_short },
        { "acceleration_short", p.step_short }, { "acceleration_max_short", p.max_short },
        { NULL, 0 }
    };
    s_textbook_sar (k, p, true, want);
    s_run_ok ("sarext", k, ext);
    s_expect_series (what, "sarext", want, size, 1, 1e-9);
    if (p.start == 0 && p.offset == 0 && p.init_long == p.step_long
    &&  p.init_long == p.init_short && p.step_long == p.step_short
    &&  p.max_long == p.max_short) {
        s_param_t sar [] = {
            { "acceleration", p.init_long }, { "maximum", p.max_long }, { NULL, 0 }
        };
        s_textbook_sar (k, p, false, want);
        s_run_ok ("sar", k, sar);
        s_expect_series (what, "sar", want, size, 1, 1e-9);
    }
    free (want);
}

START_TEST (test_sar_on_samples)
{
    static const s_sar_t paths [] = {
        { 0, 0, 0.02, 0.02, 0.2, 0.02, 0.02, 0.2 },         //  TA-Lib's defaults
        { 0, 0, 0.01, 0.01, 0.1, 0.01, 0.01, 0.1 },
        { 0, 0, 0.3, 0.3, 0.2, 0.3, 0.3, 0.2 },              //  Above the maximum
        { 0, 0.01, 0.01, 0.02, 0.3, 0.03, 0.01, 0.1 },
        { 1, 0.05, 0.02, 0.02, 0.2, 0.02, 0.02, 0.2 },       //  Long at 1
        { -1e6, 0, 0.02, 0.04, 0.2, 0.01, 0.03, 0.25 },      //  Short at 1e6
    };
    for (size_t f = 0; f < S_SAMPLES; f++)
        for (size_t p = 0; p < sizeof paths / sizeof paths [0]; p++) {
            char what [64];
            snprintf (what, sizeof what, "%s path %zu", s_samples [f], p);
            s_check_sar (what, s_data [f], paths [p]);
        }
    //  With the defaults |sarext| = sar exactly, negative while short
    for (size_t f = 0; f < S_SAMPLES; f++) {
        size_t size = s_data [f]->size, shorts = 0;
        double *sar = (double *) calloc (size, sizeof (double));
        double *ext = (double *) calloc (size, sizeof (double));
        s_run_ok ("sar", s_data [f], NULL);
        s_take ("sar", sar, 0);
        s_run_ok ("sarext", s_data [f], NULL);
        s_take ("sarext", ext, 0);
        for (size_t i = 1; i < size; i++) {
            ck_assert (fabs (ext [i]) == sar [i]);
            //  Short: the SAR above the high
            if (ext [i] < 0) {
                shorts++;
                ck_assert (sar [i] >= s_data [f]->high [i]);
            }
            else
                ck_assert (sar [i] <= s_data [f]->low [i]);
        }
        ck_assert (shorts > 0 && shorts < size - 1);
        free (sar);
        free (ext);
    }
}
END_TEST

START_TEST (test_sar_starts_and_flat)
{
    static const s_sar_t defaults = { 0, 0, 0.02, 0.02, 0.2, 0.02, 0.02, 0.2 };
    //  Two candles, the fewest: a fall starts short at high[0], a rise
    //  long at low[0]; an outside candle (the rise as big as the fall)
    //  starts long at low[0] = 8, and its low 7 reverses at once, to short
    //  at the extreme point max (11, 11)
    static const double starts [3][5] = {
        { 10, 8, 9.5, 7, -10 }, { 10, 8, 11, 9, 8 }, { 10, 8, 11, 7, -11 }
    };
    for (size_t s = 0; s < 3; s++) {
        const double *c = starts [s];
        sf_candles_t *two = sf_candles_new (2);
        sf_candles_append (two, 0, c [1], c [0], c [1], c [1], 1);
        sf_candles_append (two, 60000, c [3], c [2], c [3], c [3], 1);
        double want [2] = { 0, c [4] }, got [2];
        s_textbook_sar (two, defaults, true, got);
        ck_assert (got [1] == want [1]);
        s_run_ok ("sarext", two, NULL);
        s_expect_series ("two candles", "sarext", want, 2, 1, 0);
        sf_candles_destroy (&two);
    }
    sf_candles_t *one = s_flat (1, 5);
    ck_assert_int_eq (s_run ("sar", one, NULL, NULL, NULL, 0, NULL, NULL), -1);
    ck_assert_str_eq (s_ctx.code, "INSUFFICIENT_DATA");
    sf_candles_destroy (&one);

    //  Flat: every candle touches the SAR, so the trade reverses at every
    //  candle, at the price
    sf_candles_t *flat = s_flat (30, 48.88);
    s_check_sar ("flat", flat, defaults);
    double signs [30];
    s_run_ok ("sarext", flat, NULL);
    s_take ("sarext", signs, 0);
    for (size_t i = 1; i < 30; i++)
        ck_assert (signs [i] == (i % 2? -48.88: 48.88));
    sf_candles_destroy (&flat);
    s_check_minimum ("sar", NULL, 1);
    s_check_minimum ("sarext", NULL, 1);
    s_chunked_everywhere ("sar", NULL, 1);
    s_chunked_everywhere ("sarext", NULL, 1);
    s_param_t ext [] = {
        { "start_value", -1e6 }, { "offset_on_reverse", 0.01 },
        { "acceleration_long", 0.03 }, { NULL, 0 }
    };
    s_chunked_everywhere ("sarext", ext, 1);
}
END_TEST

//  --------------------------------------------------------------------------
//  Aroon, from the definition: every window of n + 1 candles scanned, the
//  latest of equal extremes counting.

static void
s_textbook_aroon (const sf_candles_t *k, size_t n, double *down, double *up, double *osc)
{
    for (size_t t = n; t < k->size; t++) {
        size_t high_at = t - n, low_at = t - n;
        for (size_t j = t - n; j <= t; j++) {
            if (k->high [j] >= k->high [high_at])
                high_at = j;
            if (k->low [j] <= k->low [low_at])
                low_at = j;
        }
        double factor = 100.0 / (double) n;
        up [t] = factor * (double) (n - (t - high_at));
        down [t] = factor * (double) (n - (t - low_at));
        osc [t] = factor * ((double) high_at - (double) low_at);
    }
}

static void
s_check_aroon (const char *what, const sf_candles_t *k, size_t n)
{
    s_param_t params [] = { { "period", (double) n }, { NULL, 0 } };
    size_t size = k->size;
    double *down = (double *) calloc (size, sizeof (double));
    double *up = (double *) calloc (size, sizeof (double));
    double *osc = (double *) calloc (size, sizeof (double));
    s_textbook_aroon (k, n, down, up, osc);
    char label [64];
    snprintf (label, sizeof label, "%s period %zu", what, n);
    s_run_ok ("aroon", k, params);
    s_expect_series (label, "down", down, size, n, 1e-12);
    s_expect_series (label, "up", up, size, n, 1e-12);
    s_run_ok ("aroonosc", k, params);
    s_expect_series (label, "aroonosc", osc, size, n, 1e-12);
    //  The oscillator is up - down, but for the rounding of one product
    for (size_t t = n; t < size; t++)
        ck_assert (fabs (osc [t] - (up [t] - down [t])) <= 1.5e-14 * 100);
    free (down);
    free (up);
    free (osc);
}

START_TEST (test_aroon)
{
    static const size_t periods [] = { 14, 2, 5, 25, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++)
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++)
            s_check_aroon (s_samples [f], s_data [f], periods [p]);
    //  Flat: every candle the extreme, the latest counting: up = down =
    //  100, the oscillator 0
    sf_candles_t *flat = s_flat (40, 48.88);
    s_check_aroon ("flat", flat, 14);
    double values [40];
    s_run_ok ("aroon", flat, NULL);
    s_take ("up", values, 0);
    ck_assert (values [14] == 100 && values [39] == 100);
    s_take ("down", values, 0);
    ck_assert (values [14] == 100 && values [39] == 100);
    s_run_ok ("aroonosc", flat, NULL);
    s_take ("aroonosc", values, 0);
    ck_assert (values [14] == 0 && values [39] == 0);
    sf_candles_destroy (&flat);
    //  Ties: highs 1, 3, 3 and lows 0, 0, 2 with period 2: the highest
    //  high is the last candle (up 100), the lowest low the middle one
    //  (down 50), the oscillator 50
    sf_candles_t *ties = sf_candles_new (3);
    static const double highs [3] = { 1, 3, 3 }, lows [3] = { 0, 0, 2 };
    for (size_t i = 0; i < 3; i++)
        sf_candles_append (ties, 60000.0 * (double) i, lows [i], highs [i], lows [i], lows [i], 1);
    s_param_t two [] = { { "period", 2 }, { NULL, 0 } };
    s_run_ok ("aroon", ties, two);
    s_take ("up", values, 0);
    ck_assert (values [2] == 100);
    s_take ("down", values, 0);
    ck_assert (values [2] == 50);
    s_run_ok ("aroonosc", ties, two);
    s_take ("aroonosc", values, 0);
    ck_assert (values [2] == 50);
    sf_candles_destroy (&ties);
    s_check_minimum ("aroon", NULL, 14);
    s_check_minimum ("aroonosc", two, 2);
    s_chunked_everywhere ("aroon", NULL, 14);
    s_chunked_everywhere ("aroonosc", NULL, 14);
    s_param_t long_window [] = { { "period", 100 }, { NULL, 0 } };
    s_chunked_everywhere ("aroon", long_window, 100);
}
END_TEST

//  --------------------------------------------------------------------------
//  ultosc, stochf and stochrsi, from the definitions: every window summed
//  or scanned afresh.

static void
s_textbook_ultosc (const sf_candles_t *k, size_t p1, size_t p2, size_t p3, double *out)
{
    size_t periods [3] = { p1, p2, p3 };
    //  Sorted, shortest first
    for (size_t a = 0; a < 3; a++)
        for (size_t b = a + 1; b < 3; b++)
            if (periods [b] < periods [a]) {
                size_t t = periods [a];
                periods [a] = periods [b];
                periods [b] = t;
            }
    static const double weights [3] = { 4, 2, 1 };
    for (size_t t = periods [2]; t < k->size; t++) {
        double total = 0;
        for (size_t w = 0; w < 3; w++) {
            double a = 0, b = 0;
            for (size_t j = t + 1 - periods [w]; j <= t; j++) {
                a += k->close [j] - fmin (k->low [j], k->close [j - 1]);
                b += s_true_range (k, j);
            }
            if (fabs (b) >= 1e-14)
                total += weights [w] * a / b;
        }
        out [t] = 100 * total / 7;
    }
}

//  The fast stochastic of high, low, close from index first on (the
//  values before are not read): %K from first + k - 1, %D from first + k
//  + d - 2.
static void
s_textbook_stochf (const double *high, const double *low, const double *close, size_t first,
                   size_t size, size_t k, size_t d, double *fast_k, double *fast_d)
{
    for (size_t t = first + k - 1; t < size; t++) {
        double top = high [t], bottom = low [t];
        for (size_t j = t + 1 - k; j < t; j++) {
            top = fmax (top, high [j]);
            bottom = fmin (bottom, low [j]);
        }
        fast_k [t] = top == bottom? 0: 100 * (close [t] - bottom) / (top - bottom);
    }
    for (size_t t = first + k + d - 2; t < size; t++) {
        double sum = 0;
        for (size_t j = t + 1 - d; j <= t; j++)
            sum += fast_k [j];
        fast_d [t] = sum / (double) d;
    }
}

//  Wilder's RSI from index n: plain means of the first n gains and losses,
//  then (avg × (n - 1) + x) / n; 100 × (G / (G + L)), 0 when G + L <
//  1e-14 (in TA-Lib's order of operations, which a stochastic of RSI in a
//  window where prices stand still magnifies to its last bit).
static void
s_textbook_rsi (const double *close, size_t size, size_t n, double *out)
{
    double up = 0, down = 0;
    for (size_t i = 1; i <= n; i++) {
        up += fmax (close [i] - close [i - 1], 0);
        down += fmax (close [i - 1] - close [i], 0);
    }
    up /= (double) n;
    down /= (double) n;
    for (size_t i = n; i < size; i++) {
        if (i > n) {
            up = (up * (double) (n - 1) + fmax (close [i] - close [i - 1], 0)) / (double) n;
            down = (down * (double) (n - 1) + fmax (close [i - 1] - close [i], 0)) / (double) n;
        }
        out [i] = up + down < 1e-14? 0: 100 * (up / (up + down));
    }
}

static void
s_check_ultosc (const char *what, const sf_candles_t *k, size_t p1, size_t p2, size_t p3)
{
    s_param_t params [] = {
        { "period1", (double) p1 }, { "period2", (double) p2 }, { "period3", (double) p3 },
        { NULL, 0 }
    };
    size_t size = k->size, longest = p1 > p2? p1: p2;
    longest = p3 > longest? p3: longest;
    double *want = (double *) calloc (size, sizeof (double));
    s_textbook_ultosc (k, p1, p2, p3, want);
    char label [96];
    snprintf (label, sizeof label, "%s ultosc (%zu, %zu, %zu)", what, p1, p2, p3);
    s_run_ok ("ultosc", k, params);
    s_expect_series (label, "ultosc", want, size, longest, 1e-9);
    free (want);
}

static void
s_check_stochf (const char *what, const sf_candles_t *c, size_t k, size_t d)
{
    s_param_t params [] = { { "fastk", (double) k }, { "fastd", (double) d }, { NULL, 0 } };
    size_t size = c->size;
    double *fast_k = (double *) calloc (size, sizeof (double));
    double *fast_d = (double *) calloc (size, sizeof (double));
    s_textbook_stochf (c->high, c->low, c->close, 0, size, k, d, fast_k, fast_d);
    char label [96];
    snprintf (label, sizeof label, "%s stochf (%zu, %zu)", what, k, d);
    s_run_ok ("stochf", c, params);
    s_expect_series (label, "k", fast_k, size, k + d - 2, 1e-9);
    s_expect_series (label, "d", fast_d, size, k + d - 2, 1e-9);
    free (fast_k);
    free (fast_d);
}

static void
s_check_stochrsi (const char *what, const sf_candles_t *c, size_t n, size_t k, size_t d)
{
    s_param_t params [] = {
        { "period", (double) n }, { "fastk", (double) k }, { "fastd", (double) d }, { NULL, 0 }
    };
    size_t size = c->size;
    double *rsi = (double *) calloc (size, sizeof (double));
    double *fast_k = (double *) calloc (size, sizeof (double));
    double *fast_d = (double *) calloc (size, sizeof (double));
    s_textbook_rsi (c->close, size, n, rsi);
    s_textbook_stochf (rsi, rsi, rsi, n, size, k, d, fast_k, fast_d);
    char label [96];
    snprintf (label, sizeof label, "%s stochrsi (%zu, %zu, %zu)", what, n, k, d);
    s_run_ok ("stochrsi", c, params);
    s_expect_series (label, "k", fast_k, size, n + k + d - 2, 1e-9);
    s_expect_series (label, "d", fast_d, size, n + k + d - 2, 1e-9);
    free (rsi);
    free (fast_k);
    free (fast_d);
}

START_TEST (test_ultosc_stochf_stochrsi_on_samples)
{
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        s_check_ultosc (s_samples [f], k, 7, 14, 28);
        s_check_ultosc (s_samples [f], k, 28, 7, 14);
        s_check_ultosc (s_samples [f], k, 1, 2, 3);
        s_check_ultosc (s_samples [f], k, 5, 5, 60);
        s_check_stochf (s_samples [f], k, 5, 3);
        s_check_stochf (s_samples [f], k, 1, 1);
        s_check_stochf (s_samples [f], k, 14, 7);
        s_check_stochrsi (s_samples [f], k, 14, 5, 3);
        s_check_stochrsi (s_samples [f], k, 2, 1, 1);
        s_check_stochrsi (s_samples [f], k, 30, 14, 9);
    }
}
END_TEST

START_TEST (test_ultosc_stochf_stochrsi_zero_denominators)
{
    //  Flat: no range anywhere, so every ultosc term is dropped (0); the
    //  stochastic's range is empty (%K 0, so %D 0); RSI is 0 throughout, a
    //  constant window, so stochrsi is 0 too
    sf_candles_t *flat = s_flat (60, 48.88);
    double values [60];
    s_check_ultosc ("flat", flat, 7, 14, 28);
    s_run_ok ("ultosc", flat, NULL);
    s_take ("ultosc", values, 0);
    for (size_t i = 28; i < 60; i++)
        ck_assert (values [i] == 0);
    s_check_stochf ("flat", flat, 5, 3);
    s_check_stochrsi ("flat", flat, 14, 5, 3);
    static const char *const stochastics [] = { "stochf", "stochrsi" };
    for (size_t s_ = 0; s_ < 2; s_++) {
        s_run_ok (stochastics [s_], flat, NULL);
        s_take ("k", values, 0);
        for (size_t i = s_? 20: 6; i < 60; i++)
            ck_assert (values [i] == 0);
        s_take ("d", values, 0);
        for (size_t i = s_? 20: 6; i < 60; i++)
            ck_assert (values [i] == 0);
    }
    sf_candles_destroy (&flat);

    //  A strict rise: RSI 100 throughout, a constant window, stochrsi 0
    sf_candles_t *rise = sf_candles_new (40);
    for (size_t i = 0; i < 40; i++)
        sf_candles_append (rise, 60000.0 * (double) i, 10 + (double) i, 11 + (double) i,
                           9.5 + (double) i, 10.5 + (double) i, 1);
    s_check_stochrsi ("rise", rise, 14, 5, 3);
    s_run_ok ("stochrsi", rise, NULL);
    s_take ("k", values, 0);
    for (size_t i = 20; i < 40; i++)
        ck_assert (values [i] == 0);
    sf_candles_destroy (&rise);

    //  High prices moving, then flat for longer than the longest window:
    //  the window sums slide down to nothing, and a flat window must count
    //  as 0, not as a residue of the subtractions at this scale
    sf_candles_t *high = sf_candles_new (400);
    unsigned seed = 3;
    double price = 60000;
    for (size_t i = 0; i < 400; i++) {
        bool moving = i < 150 || (i >= 250 && i < 330);
        if (moving)
            price *= 1 + ((double) rand_r (&seed) / RAND_MAX - 0.5) * 0.02;
        double spread = moving? price * 0.003: 0;
        sf_candles_append (high, 60000.0 * (double) i, price, price + spread, price - spread,
                           price, 1);
    }
    s_check_ultosc ("high prices", high, 7, 14, 28);
    s_run_ok ("ultosc", high, NULL);
    double *ultosc = (double *) calloc (400, sizeof (double));
    s_take ("ultosc", ultosc, 0);
    for (size_t i = 150 + 28; i < 250; i++)
        ck_assert_msg (ultosc [i] == 0, "ultosc[%zu] = %g in a flat window", i, ultosc [i]);
    free (ultosc);
    s_check_stochf ("high prices", high, 5, 3);
    s_check_stochrsi ("high prices", high, 14, 5, 3);
    sf_candles_destroy (&high);

    s_check_minimum ("ultosc", NULL, 28);
    s_check_minimum ("stochf", NULL, 6);
    s_check_minimum ("stochrsi", NULL, 20);
    s_param_t ones [] = { { "fastk", 1 }, { "fastd", 1 }, { NULL, 0 } };
    s_check_minimum ("stochf", ones, 0);
    s_chunked_everywhere ("ultosc", NULL, 28);
    s_chunked_everywhere ("stochf", NULL, 6);
    s_chunked_everywhere ("stochrsi", NULL, 20);
    s_param_t wide [] = { { "period", 30 }, { "fastk", 14 }, { "fastd", 9 }, { NULL, 0 } };
    s_chunked_everywhere ("stochrsi", wide, 30 + 14 + 9 - 2);
}
END_TEST

//  --------------------------------------------------------------------------
//  macdext and macdfix, from the definitions: each MA written out.

//  MA of type (0 SMA, 1 EMA seeded with the SMA of its first n values, 2
//  WMA) over x from index start, from start + n - 1 on.
static void
s_textbook_average (int type, const double *x, size_t start, size_t size, size_t n,
                    double *out)
{
    for (size_t t = start + n - 1; t < size; t++) {
        if (type == 1 && t > start + n - 1) {
            out [t] = out [t - 1] + 2.0 / (double) (n + 1) * (x [t] - out [t - 1]);
            continue;
        }
        double sum = 0, weights = 0;
        for (size_t j = 0; j < n; j++) {
            double weight = type == 2? (double) (n - j): 1;
            sum += weight * x [t - j];
            weights += weight;
        }
        out [t] = sum / weights;
    }
}

static void
s_check_macdext (const char *what, const sf_candles_t *k, size_t fast, int fast_type,
                 size_t slow, int slow_type, size_t signal, int signal_type)
{
    s_param_t params [] = {
        { "fast", (double) fast }, { "fast_matype", fast_type }, { "slow", (double) slow },
        { "slow_matype", slow_type }, { "signal", (double) signal },
        { "signal_matype", signal_type }, { NULL, 0 }
    };
    size_t size = k->size;
    if (slow < fast) {
        size_t period = fast;
        fast = slow, slow = period;
        int type = fast_type;
        fast_type = slow_type, slow_type = type;
    }
    size_t first = slow - 1, lookback = first + signal - 1;
    double *quick = (double *) calloc (size, sizeof (double));
    double *slower = (double *) calloc (size, sizeof (double));
    double *macd = (double *) calloc (size, sizeof (double));
    double *line = (double *) calloc (size, sizeof (double));
    double *hist = (double *) calloc (size, sizeof (double));
    //  Both MAs of closes give their first value at index slow - 1
    s_textbook_average (fast_type, k->close, slow - fast, size, fast, quick);
    s_textbook_average (slow_type, k->close, 0, size, slow, slower);
    for (size_t t = first; t < size; t++)
        macd [t] = quick [t] - slower [t];
    s_textbook_average (signal_type, macd, first, size, signal, line);
    for (size_t t = lookback; t < size; t++)
        hist [t] = macd [t] - line [t];
    char label [96];
    snprintf (label, sizeof label, "%s macdext (%zu %d, %zu %d, %zu %d)", what, fast,
              fast_type, slow, slow_type, signal, signal_type);
    s_run_ok ("macdext", k, params);
    s_expect_series (label, "macd", macd, size, lookback, 1e-9);
    s_expect_series (label, "signal", line, size, lookback, 1e-9);
    s_expect_series (label, "hist", hist, size, lookback, 1e-9);
    free (quick);
    free (slower);
    free (macd);
    free (line);
    free (hist);
}

//  EMA of x with factor k over [start, size), seeded at start + n - 1 with
//  the mean of its first n values.
static void
s_textbook_ema (const double *x, size_t start, size_t size, size_t n, double k, double *out)
{
    double seed = 0;
    for (size_t j = start; j < start + n; j++)
        seed += x [j];
    out [start + n - 1] = seed / (double) n;
    for (size_t t = start + n; t < size; t++)
        out [t] = out [t - 1] + k * (x [t] - out [t - 1]);
}

static void
s_check_macdfix (const char *what, const sf_candles_t *k, size_t signal)
{
    s_param_t params [] = { { "signal", (double) signal }, { NULL, 0 } };
    size_t size = k->size, lookback = 25 + signal - 1;
    double *fast = (double *) calloc (size, sizeof (double));
    double *slow = (double *) calloc (size, sizeof (double));
    double *macd = (double *) calloc (size, sizeof (double));
    double *line = (double *) calloc (size, sizeof (double));
    double *hist = (double *) calloc (size, sizeof (double));
    s_textbook_ema (k->close, 0, size, 26, 0.075, slow);
    s_textbook_ema (k->close, 14, size, 12, 0.15, fast);
    for (size_t t = 25; t < size; t++)
        macd [t] = fast [t] - slow [t];
    s_textbook_ema (macd, 25, size, signal, 2.0 / (double) (signal + 1), line);
    for (size_t t = lookback; t < size; t++)
        hist [t] = macd [t] - line [t];
    char label [96];
    snprintf (label, sizeof label, "%s macdfix (%zu)", what, signal);
    s_run_ok ("macdfix", k, params);
    s_expect_series (label, "macd", macd, size, lookback, 1e-9);
    s_expect_series (label, "signal", line, size, lookback, 1e-9);
    s_expect_series (label, "hist", hist, size, lookback, 1e-9);
    free (fast);
    free (slow);
    free (macd);
    free (line);
    free (hist);
}

START_TEST (test_macdext_macdfix)
{
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        //  TA-Lib's defaults: all three SMA
        s_check_macdext (s_samples [f], k, 12, 0, 26, 0, 9, 0);
        s_check_macdext (s_samples [f], k, 12, 1, 26, 1, 9, 1);
        s_check_macdext (s_samples [f], k, 26, 2, 12, 0, 1, 1);     //  Swapped
        s_check_macdext (s_samples [f], k, 5, 0, 35, 2, 5, 2);
        s_check_macdext (s_samples [f], k, 3, 1, 3, 0, 1, 0);
        s_check_macdext (s_samples [f], k, 2, 2, 7, 1, 1, 2);
        s_check_macdfix (s_samples [f], k, 9);
        s_check_macdfix (s_samples [f], k, 1);
        s_check_macdfix (s_samples [f], k, 30);
    }
    //  With the defaults macd is SMA12 - SMA26, not MACD; with every MA an
    //  EMA, macdext is macd (TA-Lib's MACD starts both EMAs together too)
    const sf_candles_t *goog = s_data [0];
    size_t size = goog->size;
    double *ext = (double *) calloc (size, sizeof (double));
    double *plain = (double *) calloc (size, sizeof (double));
    s_param_t emas [] = {
        { "fast_matype", 1 }, { "slow_matype", 1 }, { "signal_matype", 1 }, { NULL, 0 }
    };
    static const char *const lines [] = { "macd", "signal", "hist" };
    for (size_t l = 0; l < 3; l++) {
        s_run_ok ("macdext", goog, emas);
        s_take (lines [l], ext, 0);
        s_run_ok ("macd", goog, NULL);
        s_take (lines [l], plain, 0);
        for (size_t t = 33; t < size; t++)
            ck_assert (fabs (ext [t] - plain [t]) <= 1e-9 * fmax (fabs (plain [t]), 1));
    }
    s_run_ok ("macdext", goog, NULL);
    s_take ("macd", ext, 0);
    s_run_ok ("macd", goog, NULL);
    s_take ("macd", plain, 0);
    double sma12 = 0, sma26 = 0;
    for (size_t j = 0; j < 26; j++) {
        sma26 += goog->close [size - 1 - j] / 26;
        if (j < 12)
            sma12 += goog->close [size - 1 - j] / 12;
    }
    ck_assert (fabs (ext [size - 1] - (sma12 - sma26)) <= 1e-9 * fabs (sma12));
    ck_assert (fabs (ext [size - 1] - plain [size - 1]) > 1);
    free (ext);
    free (plain);

    //  Flat: every line 0 (but for the last bits of the means)
    sf_candles_t *flat = s_flat (40, 48.88);
    s_check_macdext ("flat", flat, 12, 0, 26, 0, 9, 0);
    s_check_macdext ("flat", flat, 12, 1, 26, 2, 9, 1);
    s_check_macdfix ("flat", flat, 9);
    sf_candles_destroy (&flat);
    s_check_minimum ("macdext", NULL, 33);
    s_check_minimum ("macdfix", NULL, 33);
    s_chunked_everywhere ("macdext", NULL, 33);
    s_param_t mixed [] = {
        { "fast", 26 }, { "fast_matype", 2 }, { "slow", 12 }, { "signal", 5 },
        { "signal_matype", 1 }, { NULL, 0 }
    };
    s_chunked_everywhere ("macdext", mixed, 25 + 4);
    s_chunked_everywhere ("macdfix", NULL, 33);
}
END_TEST

//  --------------------------------------------------------------------------
//  The Hilbert-transform family, from the definitions: every series kept
//  by row, the transform written out (libm's atan).

typedef struct {
    double *mama, *fama;                //  mama's outputs
    double *dcperiod;                   //  ht_dcperiod's
    double *trendline;                  //  ht_trendline's
} s_hilbert_t;

//  The transform of u at t with the adjustment, u before start counting
//  as 0 (the differences grouped so that a constant input gives exactly
//  0, as TA-Lib's order of terms does).
static double
s_ht (const double *u, size_t t, size_t start, double adjust)
{
    #define S_AT(k) (t >= start + (k)? u [t - (k)]: 0.0)
    return (0.0962 * (S_AT (0) - S_AT (6)) + 0.5769 * (S_AT (2) - S_AT (4))) * adjust;
    #undef S_AT
}

//  The recursion from row start over closes, with mama's limits.
static s_hilbert_t
s_textbook_hilbert (const double *close, size_t size, size_t start, double fast_limit,
                    double slow_limit)
{
    s_hilbert_t out;
    double **all [] = { &out.mama, &out.fama, &out.dcperiod, &out.trendline };
    for (size_t a = 0; a < 4; a++)
        *all [a] = (double *) calloc (size, sizeof (double));
    double *smooth = (double *) calloc (size, sizeof (double));
    double *detrender = (double *) calloc (size, sizeof (double));
    double *q1 = (double *) calloc (size, sizeof (double));
    double *i1 = (double *) calloc (size, sizeof (double));
    double degrees = 180.0 / M_PI;
    double period = 0, i2 = 0, q2 = 0, re = 0, im = 0, phase = 0, mama = 0, fama = 0;
    double smooth_period = 0, trend [3] = { 0, 0, 0 };
    for (size_t t = start; t < size; t++) {
        double adjust = 0.075 * period + 0.54;
        smooth [t] = (4 * close [t] + 3 * close [t - 1] + 2 * close [t - 2] + close [t - 3]) / 10;
        detrender [t] = s_ht (smooth, t, start, adjust);
        q1 [t] = s_ht (detrender, t, start, adjust);
        i1 [t] = t >= start + 3? detrender [t - 3]: 0;
        double j_i = s_ht (i1, t, start, adjust), j_q = s_ht (q1, t, start, adjust);
        double new_q2 = 0.2 * (q1 [t] + j_i) + 0.8 * q2;
        double new_i2 = 0.2 * (i1 [t] - j_q) + 0.8 * i2;
        //  mama and fama
        double now = i1 [t] != 0? atan (q1 [t] / i1 [t]) * degrees: 0;
        double delta = fmax (phase - now, 1);
        phase = now;
        double alpha = delta > 1? fmax (fast_limit / delta, slow_limit): fast_limit;
        mama = alpha * close [t] + (1 - alpha) * mama;
        fama = alpha / 2 * mama + (1 - alpha / 2) * fama;
        out.mama [t] = mama;
        out.fama [t] = fama;
        //  The period
        re = 0.2 * (new_i2 * i2 + new_q2 * q2) + 0.8 * re;
        im = 0.2 * (new_i2 * q2 - new_q2 * i2) + 0.8 * im;
        i2 = new_i2;
        q2 = new_q2;
        double next = im != 0 && re != 0? 360 / (atan (im / re) * degrees): period;
        next = fmin (next, 1.5 * period);
        next = fmax (next, 0.67 * period);
        next = fmin (fmax (next, 6), 50);
        period = 0.2 * next + 0.8 * period;
        smooth_period = 0.33 * period + 0.67 * smooth_period;
        out.dcperiod [t] = smooth_period;
        //  The trendline: the mean of the last D raw closes
        int span = (int) (smooth_period + 0.5);
        double average = 0;
        for (int j = 0; j < span; j++)
            average += close [t - (size_t) j];
        average = span > 0? average / span: 0;
        out.trendline [t] = (4 * average + 3 * trend [0] + 2 * trend [1] + trend [2]) / 10;
        trend [2] = trend [1];
        trend [1] = trend [0];
        trend [0] = average;
    }
    free (smooth);
    free (detrender);
    free (q1);
    free (i1);
    return out;
}

static void
s_hilbert_free (s_hilbert_t *h)
{
    free (h->mama);
    free (h->fama);
    free (h->dcperiod);
    free (h->trendline);
}

static void
s_check_hilbert (const char *what, const sf_candles_t *k, double fast_limit, double slow_limit)
{
    size_t size = k->size;
    char label [96];
    snprintf (label, sizeof label, "%s mama (%g, %g)", what, fast_limit, slow_limit);
    s_hilbert_t from12 = s_textbook_hilbert (k->close, size, 12, fast_limit, slow_limit);
    s_param_t limits [] = {
        { "fast_limit", fast_limit }, { "slow_limit", slow_limit }, { NULL, 0 }
    };
    s_run_ok ("mama", k, limits);
    s_expect_series (label, "mama", from12.mama, size, 32, 1e-9);
    s_expect_series (label, "fama", from12.fama, size, 32, 1e-9);
    s_run_ok ("ht_dcperiod", k, NULL);
    s_expect_series (what, "ht_dcperiod", from12.dcperiod, size, 32, 1e-9);
    s_hilbert_t from37 = s_textbook_hilbert (k->close, size, 37, fast_limit, slow_limit);
    s_run_ok ("ht_trendline", k, NULL);
    s_expect_series (what, "ht_trendline", from37.trendline, size, 63, 1e-9);
    s_hilbert_free (&from12);
    s_hilbert_free (&from37);
}

START_TEST (test_hilbert)
{
    for (size_t f = 0; f < S_SAMPLES; f++) {
        s_check_hilbert (s_samples [f], s_data [f], 0.5, 0.05);
        s_check_hilbert (s_samples [f], s_data [f], 0.9, 0.01);
        s_check_hilbert (s_samples [f], s_data [f], 0.2, 0.1);
        s_check_hilbert (s_samples [f], s_data [f], 0.05, 0.5);
    }
    //  Flat: the transforms of a constant are exactly 0 once the start's
    //  zeros are out of their reach, so the period settles at 6 and mama
    //  and the trendline reach the price
    sf_candles_t *flat = s_flat (300, 48.88);
    s_check_hilbert ("flat", flat, 0.5, 0.05);
    double *values = (double *) calloc (300, sizeof (double));
    s_run_ok ("mama", flat, NULL);
    s_take ("mama", values, 0);
    ck_assert (fabs (values [299] - 48.88) <= 1e-9);
    s_run_ok ("ht_trendline", flat, NULL);
    s_take ("ht_trendline", values, 0);
    ck_assert (fabs (values [299] - 48.88) <= 1e-9);
    free (values);
    sf_candles_destroy (&flat);
    //  The first value at row 32 (63): mama and fama start from 0 at row
    //  12, so fama is still well below the price there
    s_run_ok ("mama", s_data [0], NULL);
    double *fama = (double *) calloc (s_data [0]->size, sizeof (double));
    s_take ("fama", fama, 0);
    ck_assert (fama [32] < 0.95 * s_data [0]->close [32]);
    free (fama);
    s_check_minimum ("mama", NULL, 32);
    s_check_minimum ("ht_dcperiod", NULL, 32);
    s_check_minimum ("ht_trendline", NULL, 63);
    s_chunked_everywhere ("mama", NULL, 32);
    s_chunked_everywhere ("ht_dcperiod", NULL, 32);
    s_chunked_everywhere ("ht_trendline", NULL, 63);
}
END_TEST

//  --------------------------------------------------------------------------
//  A state is data from the network: one whose check hash is right but
//  whose values are wild (not a number, infinite, huge) must never make a
//  step form read or write out of bounds or crash; the job answers.

START_TEST (test_wild_states)
{
    static const char *const stateful [] = {
        "plus_dm", "minus_dm", "plus_di", "minus_di", "dx", "adxr", "sar", "sarext", "aroon",
        "aroonosc", "ultosc", "stochf", "stochrsi", "macdext", "macdfix", "mama",
        "ht_dcperiod", "ht_trendline"
    };
    static const double wild [] = { NAN, INFINITY, -1e300, 1e300 };
    sf_candles_t *head = s_slice (s_data [0], 0, 300);
    sf_candles_t *tail = s_slice (s_data [0], 300, 360);
    for (size_t a = 0; a < sizeof stateful / sizeof stateful [0]; a++) {
        const char *name = stateful [a];
        const sf_analyzer_t *analyzer = sf_analyzers_find (name, strlen (name), false);
        char *blob;
        size_t blob_size;
        ck_assert_int_eq (s_run (name, head, NULL, NULL, NULL, 0, &blob, &blob_size), 0);
        //  The blob's own params hash and values, as the worker reads them
        msgpack_unpacked map;
        msgpack_unpacked_init (&map);
        size_t offset = 0;
        ck_assert (msgpack_unpack_next (&map, blob, blob_size, &offset)
                   == MSGPACK_UNPACK_SUCCESS);
        uint64_t params = sf_mp_get (&map.data, "params")->via.u64;
        size_t count = sf_mp_get (&map.data, "values")->via.array.size;
        msgpack_unpacked_destroy (&map);
        double *values = (double *) calloc (count, sizeof (double));
        sf_state_head_t state_head;
        const char *why = NULL;
        ck_assert_int_eq (sf_state_read (blob, blob_size, analyzer, params, &state_head,
                                         values, count, &why), 0);
        for (size_t k = 0; k < count; k++)
            for (size_t w = 0; w < sizeof wild / sizeof wild [0]; w++) {
                double kept = values [k];
                values [k] = wild [w];
                msgpack_sbuffer packed;
                msgpack_sbuffer_init (&packed);
                sf_state_pack (&packed, analyzer, &state_head, values, count);
                int rc = s_run (name, tail, NULL, NULL, packed.data, packed.size, NULL, NULL);
                ck_assert_msg (rc == 0, "%s with value %zu = %g: %s", name, k, wild [w],
                               s_ctx.message);
                //  It continued from the state: only the new candles
                const msgpack_object *ts = sf_mp_get (&s_result.data, "ts");
                ck_assert_uint_eq (ts->via.array.size, tail->size);
                msgpack_sbuffer_destroy (&packed);
                values [k] = kept;
            }
        free (values);
        free (blob);
    }
    sf_candles_destroy (&head);
    sf_candles_destroy (&tail);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("indicators3");
    TCase *tc = tcase_create ("indicators3");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_directional_on_samples);
    tcase_add_test (tc, test_directional_zero_denominators);
    tcase_add_test (tc, test_directional_minimum_and_chunks);
    tcase_add_test (tc, test_sar_on_samples);
    tcase_add_test (tc, test_sar_starts_and_flat);
    tcase_add_test (tc, test_aroon);
    tcase_add_test (tc, test_ultosc_stochf_stochrsi_on_samples);
    tcase_add_test (tc, test_ultosc_stochf_stochrsi_zero_denominators);
    tcase_add_test (tc, test_macdext_macdfix);
    tcase_add_test (tc, test_hilbert);
    tcase_add_test (tc, test_wild_states);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
