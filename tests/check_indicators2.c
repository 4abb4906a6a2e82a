/*  =========================================================================
    check_indicators2 - the indicators of TA-Lib's set beyond the first
    seventeen (dema … correl) against values computed independently here
    from TA-Lib's definitions (fresh sums for every window, every
    recursion spelled out), on every sample in data/ and on flat, constant
    and tiny series; their zero-denominator results; beta and correl over
    two chosen columns and over one column of two symbols

    Each value is compared through the analyzer, as a worker runs it: the
    job's params, the nulls of the lookback, the result's packing.
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
#include "suite.h"

#define S_SAMPLES 3

static const char *s_samples [S_SAMPLES] = { "GOOG_1d", "SYNTH_1m", "EDGE_1m" };

static char s_data_dir [512];
static sf_candles_t *s_data [S_SAMPLES];    //  The samples, loaded once a test
static msgpack_unpacked s_result;           //  The last result decoded
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

//  Pack params written "name=value,name=value" (a value with a digit first
//  is an integer, or a real when it has a '.'; anything else a string).
static void
s_pack_params (msgpack_packer *pk, const char *params)
{
    char copy [256];
    snprintf (copy, sizeof copy, "%s", params? params: "");
    size_t count = 0;
    for (const char *p = copy; *p; p++)
        count += *p == '=';
    msgpack_pack_map (pk, count);
    char *save = NULL;
    for (char *pair = strtok_r (copy, ",", &save); pair; pair = strtok_r (NULL, ",", &save)) {
        char *value = strchr (pair, '=');
        ck_assert_ptr_nonnull (value);
        *value++ = 0;
        sf_mp_pack_str (pk, pair);
        if ((*value >= '0' && *value <= '9') || *value == '-') {
            if (strchr (value, '.'))
                msgpack_pack_double (pk, atof (value));
            else
                msgpack_pack_int64 (pk, atoll (value));
        }
        else
            sf_mp_pack_str (pk, value);
    }
}

//  Run analyzer on a job with candles inline (or, when NULL, symbol and
//  timeframe for the data source) and params. Returns the analyzer's
//  return code; on success s_result holds the decoded result.
static int
s_run_on (const char *analyzer, const sf_candles_t *candles, const char *symbol,
          const char *timeframe, const char *params)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2 + (candles? 1: 0) + (symbol? 1: 0) + (timeframe? 1: 0));
    sf_mp_pack_kv_str (&pk, "analyzer", analyzer);
    if (candles) {
        sf_mp_pack_str (&pk, "candles");
        sf_candles_pack (candles, &pk);
    }
    if (symbol)
        sf_mp_pack_kv_str (&pk, "symbol", symbol);
    if (timeframe)
        sf_mp_pack_kv_str (&pk, "timeframe", timeframe);
    sf_mp_pack_str (&pk, "params");
    s_pack_params (&pk, params);
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *found = sf_analyzers_find (analyzer, strlen (analyzer), false);
    ck_assert_msg (found, "no analyzer %s", analyzer);
    sf_actx_reset (&s_ctx, found, &job.data, 1);
    int rc = sf_actx_check_params (&s_ctx)? -1: found->analyze (&s_ctx);
    if (rc == 0) {
        offset = 0;
        ck_assert (msgpack_unpack_next (&s_result, s_ctx.output.data, s_ctx.output.size,
                                        &offset) == MSGPACK_UNPACK_SUCCESS);
    }
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  Run analyzer over candles inline with params; the job must succeed.
static void
s_run (const char *analyzer, const sf_candles_t *candles, const char *params)
{
    int rc = s_run_on (analyzer, candles, NULL, NULL, params);
    ck_assert_msg (rc == 0, "%s (%s) failed: %s", analyzer, params? params: "", s_ctx.message);
}

//  Output name of s_result against want: lookback nulls first, then each
//  value within 1e-9 of want relative to the larger of |want| and floor
//  (floor: the size below which a difference counts as absolute, where
//  the exact value is 0 and running sums leave a residue).
static void
s_expect (const char *what, const char *name, const double *want, size_t size, size_t lookback,
          double floor)
{
    const msgpack_object *values = sf_mp_get (&s_result.data, name);
    const msgpack_object *ts = sf_mp_get (&s_result.data, "ts");
    ck_assert_msg (values && ts, "%s: no \"%s\" in the result", what, name);
    ck_assert_int_eq (values->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq (values->via.array.size, size);
    ck_assert_uint_eq (ts->via.array.size, size);
    for (size_t i = 0; i < size; i++) {
        const msgpack_object *value = &values->via.array.ptr [i];
        if (i < lookback) {
            ck_assert_msg (value->type == MSGPACK_OBJECT_NIL, "%s.%s[%zu] should be null", what,
                           name, i);
            continue;
        }
        ck_assert_msg (value->type == MSGPACK_OBJECT_FLOAT64, "%s.%s[%zu] is not a number",
                       what, name, i);
        double got = value->via.f64, scale = fmax (fabs (want [i]), floor);
        ck_assert_msg (fabs (got - want [i]) <= 1e-9 * scale, "%s.%s[%zu] = %.17g, want %.17g",
                       what, name, i, got, want [i]);
    }
}

//  The value of output name at row i of s_result.
static double
s_at (const char *name, size_t i)
{
    const msgpack_object *values = sf_mp_get (&s_result.data, name);
    ck_assert (values && values->type == MSGPACK_OBJECT_ARRAY && i < values->via.array.size);
    ck_assert (values->via.array.ptr [i].type == MSGPACK_OBJECT_FLOAT64);
    return values->via.array.ptr [i].via.f64;
}

//  A series of size candles from a rule: row i gets open, high, low, close
//  and volume from fill (ts one minute apart).
typedef void (s_fill_fn) (size_t i, double *o, double *h, double *l, double *c, double *v);

static sf_candles_t *
s_series (size_t size, s_fill_fn *fill)
{
    sf_candles_t *candles = sf_candles_new (size);
    for (size_t i = 0; i < size; i++) {
        double o, h, l, c, v;
        fill (i, &o, &h, &l, &c, &v);
        sf_candles_append (candles, 60000.0 * (double) (i + 1), o, h, l, c, v);
    }
    return candles;
}

//  Flat: every price 50, no volume.
static void
s_flat (size_t i, double *o, double *h, double *l, double *c, double *v)
{
    (void) i;
    *o = *h = *l = *c = 50;
    *v = 0;
}

//  --------------------------------------------------------------------------
//  Textbook definitions (INDICATORS-2.md), written independently of the
//  analyzers.

static double
s_true_range (const sf_candles_t *k, size_t i)
{
    return fmax (k->high [i] - k->low [i], fmax (fabs (k->high [i] - k->close [i - 1]),
                                                 fabs (k->low [i] - k->close [i - 1])));
}

//  --------------------------------------------------------------------------
//  Price transforms, balance of power, true range

START_TEST (test_price_transforms)
{
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *want = calloc (size, sizeof (double));
        for (size_t i = 0; i < size; i++)
            want [i] = (k->open [i] + k->high [i] + k->low [i] + k->close [i]) / 4;
        s_run ("avgprice", k, NULL);
        s_expect (s_samples [f], "avgprice", want, size, 0, 0);
        for (size_t i = 0; i < size; i++)
            want [i] = (k->high [i] + k->low [i]) / 2;
        s_run ("medprice", k, NULL);
        s_expect (s_samples [f], "medprice", want, size, 0, 0);
        for (size_t i = 0; i < size; i++)
            want [i] = (k->high [i] + k->low [i] + k->close [i]) / 3;
        s_run ("typprice", k, NULL);
        s_expect (s_samples [f], "typprice", want, size, 0, 0);
        for (size_t i = 0; i < size; i++)
            want [i] = (k->high [i] + k->low [i] + 2 * k->close [i]) / 4;
        s_run ("wclprice", k, NULL);
        s_expect (s_samples [f], "wclprice", want, size, 0, 0);
        for (size_t i = 0; i < size; i++) {
            double range = k->high [i] - k->low [i];
            want [i] = range < 1e-14? 0: (k->close [i] - k->open [i]) / range;
        }
        s_run ("bop", k, NULL);
        s_expect (s_samples [f], "bop", want, size, 0, 0);
        for (size_t i = 1; i < size; i++)
            want [i] = s_true_range (k, i);
        s_run ("trange", k, NULL);
        s_expect (s_samples [f], "trange", want, size, 1, 0);
        free (want);
    }
}
END_TEST

//  Momentum, rate of change as a fraction and as a ratio.
START_TEST (test_momentum)
{
    static const int periods [] = { 1, 2, 10, 30, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        const double *c = k->close;
        size_t size = k->size;
        double *mom = calloc (size, sizeof (double)), *rocp = calloc (size, sizeof (double));
        double *rocr = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            for (size_t i = n; i < size; i++) {
                mom [i] = c [i] - c [i - n];
                rocp [i] = c [i - n] == 0? 0: (c [i] - c [i - n]) / c [i - n];
                rocr [i] = c [i - n] == 0? 0: c [i] / c [i - n];
            }
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("mom", k, p == 2? NULL: params);
            s_expect (s_samples [f], "mom", mom, size, n, 0);
            s_run ("rocp", k, p == 2? NULL: params);
            s_expect (s_samples [f], "rocp", rocp, size, n, 0);
            s_run ("rocr", k, p == 2? NULL: params);
            s_expect (s_samples [f], "rocr", rocr, size, n, 0);
        }
        free (mom);
        free (rocp);
        free (rocr);
    }
}
END_TEST

//  The zero denominators of the simple ones: bop 0 when high = low, rocp
//  and rocr 0 when the close period candles back is 0; on flat prices
//  trange, mom and rocp are 0 and rocr 1.
START_TEST (test_simple_zero_denominators)
{
    sf_candles_t *flat = s_series (30, s_flat);
    static const struct {
        const char *analyzer;           //  Analyzer
        double want;                    //  Its value on flat prices
    } cases [] = {
        { "bop", 0 }, { "trange", 0 }, { "mom", 0 }, { "rocp", 0 }, { "rocr", 1 },
        { "avgprice", 50 }, { "medprice", 50 }, { "typprice", 50 }, { "wclprice", 50 }
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        s_run (cases [c].analyzer, flat, NULL);
        ck_assert_msg (s_at (cases [c].analyzer, 29) == cases [c].want, "%s on flat prices: %g",
                       cases [c].analyzer, s_at (cases [c].analyzer, 29));
    }
    //  A close of 0 ten candles back
    flat->close [5] = 0;
    s_run ("rocp", flat, NULL);
    ck_assert (s_at ("rocp", 15) == 0 && s_at ("rocp", 16) == 0);
    s_run ("rocr", flat, NULL);
    ck_assert (s_at ("rocr", 15) == 0 && s_at ("rocr", 16) == 1);
    //  A high below the low: no range, bop 0
    flat->high [3] = 49;
    flat->close [3] = 51;
    s_run ("bop", flat, NULL);
    ck_assert (s_at ("bop", 3) == 0);
    sf_candles_destroy (&flat);
}
END_TEST

//  The fewest candles: exactly lookback + 1 give one value; one fewer is
//  INSUFFICIENT_DATA naming the counts.
START_TEST (test_tiny_inputs)
{
    static const struct {
        const char *analyzer;           //  Analyzer
        const char *params;             //  Its params
        size_t lookback;                //  Their lookback
    } cases [] = {
        { "avgprice", NULL, 0 }, { "medprice", NULL, 0 }, { "typprice", NULL, 0 },
        { "wclprice", NULL, 0 }, { "bop", NULL, 0 }, { "trange", NULL, 1 },
        { "mom", NULL, 10 }, { "mom", "period=1", 1 }, { "rocp", NULL, 10 },
        { "rocr", "period=3", 3 },
    };
    const sf_candles_t *goog = s_data [0];
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        size_t lookback = cases [c].lookback;
        sf_candles_t *few = sf_candles_new (lookback + 1);
        for (size_t i = 0; i <= lookback; i++)
            sf_candles_append (few, goog->ts [i], goog->open [i], goog->high [i], goog->low [i],
                               goog->close [i], goog->volume [i]);
        s_run (cases [c].analyzer, few, cases [c].params);
        const msgpack_object *values = sf_mp_get (&s_result.data, cases [c].analyzer);
        ck_assert_uint_eq (values->via.array.size, lookback + 1);
        ck_assert_int_eq (values->via.array.ptr [lookback].type, MSGPACK_OBJECT_FLOAT64);
        if (lookback > 0) {
            ck_assert_int_eq (values->via.array.ptr [lookback - 1].type, MSGPACK_OBJECT_NIL);
            few->size = lookback;
            ck_assert_int_eq (s_run_on (cases [c].analyzer, few, NULL, NULL, cases [c].params),
                              -1);
            ck_assert_str_eq (s_ctx.code, "INSUFFICIENT_DATA");
            char needed [64];
            snprintf (needed, sizeof needed, "at least %zu needed", lookback + 1);
            ck_assert_msg (strstr (s_ctx.message, needed), "%s: %s", cases [c].analyzer,
                           s_ctx.message);
        }
        sf_candles_destroy (&few);
    }
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("indicators2");
    TCase *tc = tcase_create ("indicators2");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_price_transforms);
    tcase_add_test (tc, test_momentum);
    tcase_add_test (tc, test_simple_zero_denominators);
    tcase_add_test (tc, test_tiny_inputs);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
