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
#include <stdbool.h>
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
//  timeframe for the data source) and params; with a state_key when
//  new_state is not NULL, and the state (size bytes) when it is not NULL.
//  Returns the analyzer's return code; on success s_result holds the
//  decoded result and *new_state a copy of the state handed back (the
//  caller frees it).
static int
s_run_state (const char *analyzer, const sf_candles_t *candles, const char *symbol,
             const char *timeframe, const char *params, const char *state, size_t size,
             char **new_state, size_t *new_size)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2 + (candles? 1: 0) + (symbol? 1: 0) + (timeframe? 1: 0)
                      + (new_state? 1: 0) + (state? 1: 0));
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
    if (new_state)
        sf_mp_pack_kv_str (&pk, "state_key", "k");
    if (state) {
        sf_mp_pack_str (&pk, "state");
        msgpack_pack_bin (&pk, size);
        msgpack_pack_bin_body (&pk, state, size);
    }
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

static int
s_run_on (const char *analyzer, const sf_candles_t *candles, const char *symbol,
          const char *timeframe, const char *params)
{
    return s_run_state (analyzer, candles, symbol, timeframe, params, NULL, 0, NULL, NULL);
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
//  the exact value is 0 and running sums leave a residue); when cond is
//  not NULL, plus 1e-14 × cond[i] of that (cond: the digits a window
//  loses to cancellation, as a factor, where the value divides by a
//  difference of sums many times larger than itself).
static void
s_expect_cond (const char *what, const char *name, const double *want, size_t size,
               size_t lookback, double floor, const double *cond)
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
        double allowed = 1e-9 * scale + (cond? 1e-14 * cond [i] * scale: 0);
        ck_assert_msg (fabs (got - want [i]) <= allowed, "%s.%s[%zu] = %.17g, want %.17g",
                       what, name, i, got, want [i]);
    }
}

static void
s_expect (const char *what, const char *name, const double *want, size_t size, size_t lookback,
          double floor)
{
    s_expect_cond (what, name, want, size, lookback, floor, NULL);
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

//  Moving for 60 rows, then flat (open = high = low = close, the last
//  close) with volume for 100: the flat rows of the zero-denominator
//  table.
static void
s_moves_then_flat (size_t i, double *o, double *h, double *l, double *c, double *v)
{
    size_t j = i < 60? i: 59;
    *c = 100 + 10 * sin ((double) j * 0.7) + 0.05 * (double) j;
    *o = i < 60 && j > 0? 100 + 10 * sin ((double) (j - 1) * 0.7) + 0.05 * (double) (j - 1): *c;
    *h = fmax (*o, *c) + (i < 60? 1.5: 0);
    *l = fmin (*o, *c) - (i < 60? 1.0: 0);
    *v = 1000 + (double) (i % 7) * 10;
}

//  Moving for 60 rows, then flat: a series on which a sum of |changes|
//  slid over 10 closes (the entering one added, the leaving one taken
//  away) does not come back to 0 in the flat rows, but to a residue of
//  -1.4e-14.
static void
s_residue_then_flat (size_t i, double *o, double *h, double *l, double *c, double *v)
{
    double j = (double) (i < 60? i: 59);
    *o = *h = *l = *c = 100 * exp (0.1 * sin (1.3 * j) + 0.02 * j * cos (0.37 * j));
    *v = 1;
}

//  --------------------------------------------------------------------------
//  Textbook definitions (INDICATORS-2.md), written independently of the
//  analyzers.

static double
s_mean (const double *x, size_t i, size_t n)
{
    double sum = 0;
    for (size_t j = 0; j < n; j++)
        sum += x [i - j];
    return sum / (double) n;
}

//  EMA(n) of x from start on: seeded with the mean of x[start ..
//  start + n - 1] at start + n - 1, then alpha = 2 / (n + 1).
static void
s_ema_from (const double *x, size_t start, size_t size, size_t n, double *out)
{
    out [start + n - 1] = s_mean (x, start + n - 1, n);
    for (size_t i = start + n; i < size; i++)
        out [i] = out [i - 1] + 2.0 / (double) (n + 1) * (x [i] - out [i - 1]);
}

static double
s_highest (const double *x, size_t i, size_t n)
{
    double best = x [i];
    for (size_t j = 1; j < n; j++)
        best = fmax (best, x [i - j]);
    return best;
}

static double
s_lowest (const double *x, size_t i, size_t n)
{
    double best = x [i];
    for (size_t j = 1; j < n; j++)
        best = fmin (best, x [i - j]);
    return best;
}

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

//  --------------------------------------------------------------------------
//  Moving averages

//  DEMA, TEMA and T3: EMAs chained, each seeded with the mean of the first
//  n values of the one before.
START_TEST (test_chained_emas)
{
    static const int periods [] = { 2, 3, 5, 20, 50 };
    static const double factors [] = { 0.7, 0, 1, 0.35 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *e [7], *want = calloc (size, sizeof (double));
        for (size_t s = 0; s < 7; s++)
            e [s] = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            //  e[s] is the s-th EMA (e[0] the closes), first value at s (n - 1)
            memcpy (e [0], k->close, size * sizeof (double));
            for (size_t s = 1; s < 7 && s * (n - 1) < size; s++)
                s_ema_from (e [s - 1], (s - 1) * (n - 1), size, n, e [s]);
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            for (size_t i = 2 * (n - 1); i < size; i++)
                want [i] = 2 * e [1][i] - e [2][i];
            s_run ("dema", k, params);
            s_expect (s_samples [f], "dema", want, size, 2 * (n - 1), 0);
            for (size_t i = 3 * (n - 1); i < size; i++)
                want [i] = 3 * e [1][i] - 3 * e [2][i] + e [3][i];
            s_run ("tema", k, params);
            s_expect (s_samples [f], "tema", want, size, 3 * (n - 1), 0);
            for (size_t v = 0; v < sizeof factors / sizeof factors [0]; v++) {
                double x = factors [v];
                double c1 = -x * x * x, c2 = 3 * x * x + 3 * x * x * x;
                double c3 = -6 * x * x - 3 * x - 3 * x * x * x;
                double c4 = 1 + 3 * x + 3 * x * x + x * x * x;
                for (size_t i = 6 * (n - 1); i < size; i++)
                    want [i] = c1 * e [6][i] + c2 * e [5][i] + c3 * e [4][i] + c4 * e [3][i];
                snprintf (params, sizeof params, "period=%zu,vfactor=%.2f", n, x);
                s_run ("t3", k, params);
                //  Stages scaled by powers of alpha in the kernel: rounding
                //  of 1e-15 relative, against values that cancel to a
                //  price's size
                s_expect (s_samples [f], "t3", want, size, 6 * (n - 1), 0);
            }
        }
        for (size_t s = 0; s < 7; s++)
            free (e [s]);
        free (want);
    }
    //  The defaults: DEMA and TEMA 20, T3 5 and 0.7
    const sf_candles_t *goog = s_data [0];
    s_run ("dema", goog, NULL);
    ck_assert_int_eq (sf_mp_get (&s_result.data, "dema")->via.array.ptr [38].type,
                      MSGPACK_OBJECT_FLOAT64);
    ck_assert_int_eq (sf_mp_get (&s_result.data, "dema")->via.array.ptr [37].type,
                      MSGPACK_OBJECT_NIL);
    s_run ("tema", goog, NULL);
    ck_assert_int_eq (sf_mp_get (&s_result.data, "tema")->via.array.ptr [56].type,
                      MSGPACK_OBJECT_NIL);
    s_run ("t3", goog, NULL);
    ck_assert_int_eq (sf_mp_get (&s_result.data, "t3")->via.array.ptr [23].type,
                      MSGPACK_OBJECT_NIL);
    double t3_24 = s_at ("t3", 24);
    s_run ("t3", goog, "period=5,vfactor=0.7");
    ck_assert (s_at ("t3", 24) == t3_24);
}
END_TEST

//  TRIMA: weights 1, 2, … up to the middle and down again (the middle one
//  twice for an even period), over their sum.
START_TEST (test_trima)
{
    static const int periods [] = { 2, 3, 4, 5, 20, 21, 50, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *want = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            double total = 0;
            for (size_t j = 0; j < n; j++)
                total += (double) (j + 1 < n - j? j + 1: n - j);
            if (n == 20)
                ck_assert (total == 110);
            if (n == 21)
                ck_assert (total == 121);
            for (size_t i = n - 1; i < size; i++) {
                double sum = 0;
                for (size_t j = 0; j < n; j++)      //  j = 0 the oldest
                    sum += (double) (j + 1 < n - j? j + 1: n - j) * k->close [i + 1 - n + j];
                want [i] = sum / total;
            }
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("trima", k, n == 20? NULL: params);
            s_expect (s_samples [f], "trima", want, size, n - 1, 0);
        }
        free (want);
    }
}
END_TEST

//  KAMA from its definition, every sum of changes afresh.
static void
s_textbook_kama (const double *c, size_t size, size_t n, double *out)
{
    double kama = c [n - 1];
    for (size_t t = n; t < size; t++) {
        double sum = 0, change = c [t] - c [t - n];
        for (size_t j = t + 1 - n; j <= t; j++)
            sum += fabs (c [j] - c [j - 1]);
        double er = sum <= change || fabs (sum) < 1e-14? 1: fabs (change / sum);
        double sc = pow (er * (2.0 / 3 - 2.0 / 31) + 2.0 / 31, 2);
        out [t] = kama = kama + sc * (c [t] - kama);
    }
}

START_TEST (test_kama)
{
    static const int periods [] = { 2, 3, 10, 30, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *want = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            s_textbook_kama (k->close, size, n, want);
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("kama", k, n == 10? NULL: params);
            s_expect (s_samples [f], "kama", want, size, n, 0);
        }
        free (want);
    }
}
END_TEST

//  MIDPOINT and MIDPRICE: every window scanned.
START_TEST (test_midpoint_midprice)
{
    static const int periods [] = { 2, 3, 14, 50, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *mid = calloc (size, sizeof (double)), *price = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            for (size_t i = n - 1; i < size; i++) {
                mid [i] = (s_highest (k->close, i, n) + s_lowest (k->close, i, n)) / 2;
                price [i] = (s_highest (k->high, i, n) + s_lowest (k->low, i, n)) / 2;
            }
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("midpoint", k, n == 14? NULL: params);
            s_expect (s_samples [f], "midpoint", mid, size, n - 1, 0);
            s_run ("midprice", k, n == 14? NULL: params);
            s_expect (s_samples [f], "midprice", price, size, n - 1, 0);
        }
        free (mid);
        free (price);
    }
}
END_TEST

//  Flat rows: KAMA's ER is 1 when the sum of changes is 0, so it moves
//  towards the constant price by sc = (2/3)² a candle; the averages of a
//  flat series are its price.
START_TEST (test_averages_flat)
{
    sf_candles_t *series = s_series (160, s_moves_then_flat);
    s_run ("kama", series, NULL);
    double price = series->close [159];
    for (size_t t = 75; t < 160; t++) {
        double before = s_at ("kama", t - 1) - price, now = s_at ("kama", t) - price;
        ck_assert_msg (fabs (now - before * (1 - 4.0 / 9)) <= 1e-12 * fmax (fabs (before), 1),
                       "kama[%zu]: %.17g from %.17g", t, now, before);
    }
    sf_candles_destroy (&series);
    //  Where the slides leave a residue above 1e-14, the sum of changes of
    //  a flat window must still be exactly 0
    series = s_series (160, s_residue_then_flat);
    const double *c = series->close;
    double slid = 0;
    for (size_t j = 1; j <= 10; j++)
        slid += fabs (c [j] - c [j - 1]);
    for (size_t t = 11; t < 160; t++)
        slid += fabs (c [t] - c [t - 1]) - fabs (c [t - 10] - c [t - 11]);
    ck_assert_msg (fabs (slid) >= 1e-14, "a residue of %g only", slid);
    double *want = calloc (160, sizeof (double));
    s_textbook_kama (series->close, 160, 10, want);
    s_run ("kama", series, NULL);
    s_expect ("residue then flat", "kama", want, 160, 10, 0);
    free (want);
    sf_candles_destroy (&series);
    sf_candles_t *flat = s_series (80, s_flat);
    static const char *averages [] = { "dema", "tema", "t3", "trima", "kama", "midpoint",
                                       "midprice" };
    for (size_t a = 0; a < sizeof averages / sizeof averages [0]; a++) {
        s_run (averages [a], flat, NULL);
        ck_assert_msg (fabs (s_at (averages [a], 79) - 50) <= 1e-12, "%s on flat prices: %.17g",
                       averages [a], s_at (averages [a], 79));
    }
    sf_candles_destroy (&flat);
}
END_TEST

//  --------------------------------------------------------------------------
//  Oscillators

//  PPO and APO: SMA(fast) and SMA(slow), swapped when slow is the shorter;
//  TRIX: the rate of change of a triple EMA.
START_TEST (test_ppo_apo_trix)
{
    static const int pairs [][2] = { { 12, 26 }, { 26, 12 }, { 2, 3 }, { 5, 50 }, { 7, 7 } };
    static const int periods [] = { 1, 2, 5, 30 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *ppo = calloc (size, sizeof (double)), *apo = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof pairs / sizeof pairs [0]; p++) {
            size_t fast = (size_t) pairs [p][0], slow = (size_t) pairs [p][1];
            size_t shorter = fast < slow? fast: slow, longer = fast < slow? slow: fast;
            for (size_t i = longer - 1; i < size; i++) {
                double a = s_mean (k->close, i, shorter), b = s_mean (k->close, i, longer);
                apo [i] = a - b;
                ppo [i] = fabs (b) < 1e-14? 0: 100 * (a - b) / b;
            }
            char params [64];
            snprintf (params, sizeof params, "fast=%zu,slow=%zu", fast, slow);
            //  The difference of two means cancels to a price's size
            s_run ("apo", k, p == 0? NULL: params);
            s_expect (s_samples [f], "apo", apo, size, longer - 1, fabs (k->close [0]));
            s_run ("ppo", k, p == 0? NULL: params);
            s_expect (s_samples [f], "ppo", ppo, size, longer - 1, 100);
        }
        double *e [4], *want = calloc (size, sizeof (double));
        for (size_t s = 0; s < 4; s++)
            e [s] = calloc (size, sizeof (double));
        memcpy (e [0], k->close, size * sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p], lookback = 3 * (n - 1) + 1;
            for (size_t s = 1; s < 4; s++)
                s_ema_from (e [s - 1], (s - 1) * (n - 1), size, n, e [s]);
            for (size_t i = lookback; i < size; i++)
                want [i] = e [3][i - 1] == 0? 0: 100 * (e [3][i] / e [3][i - 1] - 1);
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("trix", k, n == 30? NULL: params);
            //  A rate of change: the EMAs' rounding, relative to 100 %
            s_expect (s_samples [f], "trix", want, size, lookback, 1e-3);
        }
        for (size_t s = 0; s < 4; s++)
            free (e [s]);
        free (want);
        free (ppo);
        free (apo);
    }
}
END_TEST

//  CMO: Wilder averages of gains and losses, as RSI's (so 2 × RSI - 100).
static void
s_textbook_cmo (const double *c, size_t size, size_t n, double *out)
{
    double up = 0, down = 0;
    for (size_t i = 1; i <= n; i++) {
        up += fmax (c [i] - c [i - 1], 0);
        down += fmax (c [i - 1] - c [i], 0);
    }
    up /= (double) n;
    down /= (double) n;
    for (size_t i = n; i < size; i++) {
        if (i > n) {
            up = (up * (double) (n - 1) + fmax (c [i] - c [i - 1], 0)) / (double) n;
            down = (down * (double) (n - 1) + fmax (c [i - 1] - c [i], 0)) / (double) n;
        }
        out [i] = up + down < 1e-14? 0: 100 * (up - down) / (up + down);
    }
}

START_TEST (test_cmo)
{
    static const int periods [] = { 2, 3, 14, 30 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *want = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            s_textbook_cmo (k->close, size, n, want);
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("cmo", k, n == 14? NULL: params);
            s_expect (s_samples [f], "cmo", want, size, n, 100);
        }
        //  cmo = 2 rsi - 100
        s_run ("rsi", k, NULL);
        for (size_t i = 14; i < size; i++)
            want [i] = 2 * s_at ("rsi", i) - 100;
        s_run ("cmo", k, NULL);
        s_expect ("2 rsi - 100", "cmo", want, size, 14, 100);
        free (want);
    }
}
END_TEST

//  NATR, AD and ADOSC.
START_TEST (test_natr_ad_adosc)
{
    static const int periods [] = { 1, 2, 14, 30 };
    static const int pairs [][2] = { { 3, 10 }, { 10, 3 }, { 2, 5 }, { 12, 26 } };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *want = calloc (size, sizeof (double)), *ad = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            double atr = 0;
            for (size_t i = 1; i <= n; i++)
                atr += s_true_range (k, i);
            atr /= (double) n;
            for (size_t i = n; i < size; i++) {
                if (i > n)
                    atr = (atr * (double) (n - 1) + s_true_range (k, i)) / (double) n;
                want [i] = fabs (k->close [i]) < 1e-14? 0: 100 * atr / k->close [i];
            }
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("natr", k, n == 14? NULL: params);
            s_expect (s_samples [f], "natr", want, size, n, 0);
        }
        double line = 0;
        for (size_t i = 0; i < size; i++) {
            double range = k->high [i] - k->low [i];
            if (range > 0)
                line += ((k->close [i] - k->low [i]) - (k->high [i] - k->close [i])) / range
                      * k->volume [i];
            ad [i] = line;
        }
        s_run ("ad", k, NULL);
        //  A running sum of terms of either sign: relative to the volume
        //  traded, not to the line that may cross 0
        double volume = 0;
        for (size_t i = 0; i < size; i++)
            volume = fmax (volume, k->volume [i]);
        s_expect (s_samples [f], "ad", ad, size, 0, volume);
        for (size_t p = 0; p < sizeof pairs / sizeof pairs [0]; p++) {
            size_t fast = (size_t) pairs [p][0], slow = (size_t) pairs [p][1];
            size_t lookback = (fast > slow? fast: slow) - 1;
            double a = ad [0], b = ad [0];
            for (size_t i = 1; i < size; i++) {
                a += 2.0 / (double) (fast + 1) * (ad [i] - a);
                b += 2.0 / (double) (slow + 1) * (ad [i] - b);
                want [i] = a - b;
            }
            char params [64];
            snprintf (params, sizeof params, "fast=%zu,slow=%zu", fast, slow);
            s_run ("adosc", k, p == 0? NULL: params);
            s_expect (s_samples [f], "adosc", want, size, lookback, volume);
        }
        free (want);
        free (ad);
    }
}
END_TEST

//  The zero denominators of the oscillators: PPO and APO 0 on flat prices
//  (to rounding); TRIX 0 when the triple EMA before is 0; CMO 0 on flat
//  prices and, in flat rows after moves, its last value (both averages
//  decay alike); NATR 0 when the close is 0, decaying in flat rows; AD
//  unchanged where high = low, and ADOSC decaying towards 0.
START_TEST (test_oscillator_zero_denominators)
{
    sf_candles_t *flat = s_series (100, s_flat);
    static const char *zeros [] = { "ppo", "apo", "trix", "cmo", "natr", "ad", "adosc" };
    for (size_t z = 0; z < sizeof zeros / sizeof zeros [0]; z++) {
        s_run (zeros [z], flat, NULL);
        ck_assert_msg (fabs (s_at (zeros [z], 99)) <= 1e-12, "%s on flat prices: %.17g",
                       zeros [z], s_at (zeros [z], 99));
    }
    for (size_t i = 0; i < 100; i++)
        flat->close [i] = flat->open [i] = flat->high [i] = flat->low [i] = 0;
    s_run ("trix", flat, NULL);
    ck_assert (s_at ("trix", 99) == 0);
    s_run ("natr", flat, NULL);
    ck_assert (s_at ("natr", 99) == 0);
    flat->high [50] = 2;
    flat->low [50] = -1;
    s_run ("natr", flat, NULL);
    ck_assert (s_at ("natr", 50) == 0);
    sf_candles_destroy (&flat);

    sf_candles_t *series = s_series (160, s_moves_then_flat);
    s_run ("cmo", series, NULL);
    double last = s_at ("cmo", 59);
    ck_assert (fabs (last) > 1);
    for (size_t t = 60; t < 160; t++)
        ck_assert_msg (fabs (s_at ("cmo", t) - last) <= 1e-9 * fabs (last), "cmo[%zu] %.17g",
                       t, s_at ("cmo", t));
    //  NATR's Wilder average decays by 13/14 a flat row (no range)
    s_run ("natr", series, NULL);
    for (size_t t = 61; t < 160; t++)
        ck_assert_msg (fabs (s_at ("natr", t) - s_at ("natr", t - 1) * 13 / 14)
                       <= 1e-12 * s_at ("natr", t - 1), "natr[%zu] %.17g", t, s_at ("natr", t));
    s_run ("ad", series, NULL);
    double line = s_at ("ad", 60);
    for (size_t t = 61; t < 160; t++)
        ck_assert (s_at ("ad", t) == line);
    s_run ("adosc", series, NULL);
    double start = fabs (s_at ("adosc", 60));
    ck_assert (start > 0);
    for (size_t t = 61; t < 160; t++)
        ck_assert (fabs (s_at ("adosc", t)) <= fabs (s_at ("adosc", t - 1)));
    ck_assert (fabs (s_at ("adosc", 159)) < 1e-6 * start);
    sf_candles_destroy (&series);
}
END_TEST

//  --------------------------------------------------------------------------
//  Statistics

//  VAR: the population variance, two passes over every window.
START_TEST (test_var)
{
    static const int periods [] = { 1, 2, 5, 20, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *want = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            for (size_t i = n - 1; i < size; i++) {
                double mean = s_mean (k->close, i, n), squares = 0;
                for (size_t j = 0; j < n; j++)
                    squares += (k->close [i - j] - mean) * (k->close [i - j] - mean);
                want [i] = squares / (double) n;
            }
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_run ("var", k, n == 5? NULL: params);
            //  Of a price squared: rounding of the sums about the price's
            //  square times 1e-16 at most
            s_expect (s_samples [f], "var", want, size, n - 1,
                      1e-6 * k->close [0] * k->close [0]);
        }
        free (want);
    }
}
END_TEST

//  The least-squares line over every window, t = 0 for the oldest: slope,
//  intercept (at the oldest), the line at the newest, one ahead, and the
//  angle of the slope.
START_TEST (test_linear_regression)
{
    static const int periods [] = { 2, 3, 14, 50 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *slope = calloc (size, sizeof (double)), *angle = calloc (size, sizeof (double));
        double *intercept = calloc (size, sizeof (double));
        double *line = calloc (size, sizeof (double)), *ahead = calloc (size, sizeof (double));
        double price = fabs (k->close [0]);
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            for (size_t i = n - 1; i < size; i++) {
                double st = 0, st2 = 0, sy = 0, sty = 0;
                for (size_t t = 0; t < n; t++) {
                    double y = k->close [i + 1 - n + t];
                    st += (double) t;
                    st2 += (double) (t * t);
                    sy += y;
                    sty += (double) t * y;
                }
                double m = ((double) n * sty - st * sy) / ((double) n * st2 - st * st);
                double b = (sy - m * st) / (double) n;
                slope [i] = m;
                angle [i] = atan (m) * 180 / M_PI;
                intercept [i] = b;
                line [i] = b + m * (double) (n - 1);
                ahead [i] = b + m * (double) n;
            }
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            const char *given = n == 14? NULL: params;
            //  A slope of 0 comes out as the rounding of sums of prices
            s_run ("linearreg_slope", k, given);
            s_expect (s_samples [f], "linearreg_slope", slope, size, n - 1, 1e-4 * price);
            s_run ("linearreg_angle", k, given);
            s_expect (s_samples [f], "linearreg_angle", angle, size, n - 1, 1e-2 * price);
            s_run ("linearreg_intercept", k, given);
            s_expect (s_samples [f], "linearreg_intercept", intercept, size, n - 1, price);
            s_run ("linearreg", k, given);
            s_expect (s_samples [f], "linearreg", line, size, n - 1, price);
            s_run ("tsf", k, given);
            s_expect (s_samples [f], "tsf", ahead, size, n - 1, price);
        }
        free (slope);
        free (angle);
        free (intercept);
        free (line);
        free (ahead);
    }
}
END_TEST

//  BETA of y's returns on x's, and CORREL of x and y, over every window
//  summed afresh; cond[i] the cancellation of the window's denominator
//  (its sums of squares over what is left of them).
static void
s_textbook_beta (const double *x, const double *y, size_t size, size_t n, double *out,
                 double *cond)
{
    for (size_t i = n; i < size; i++) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t t = i + 1 - n; t <= i; t++) {
            double rx = fabs (x [t - 1]) < 1e-14? 0: (x [t] - x [t - 1]) / x [t - 1];
            double ry = fabs (y [t - 1]) < 1e-14? 0: (y [t] - y [t - 1]) / y [t - 1];
            sx += rx, sy += ry, sxx += rx * rx, sxy += rx * ry;
        }
        double den = (double) n * sxx - sx * sx;
        out [i] = fabs (den) < 1e-14? 0: ((double) n * sxy - sx * sy) / den;
        cond [i] = fabs (den) < 1e-14? 0: (double) n * sxx / fabs (den);
    }
}

static void
s_textbook_correl (const double *x, const double *y, size_t size, size_t n, double *out,
                   double *cond)
{
    for (size_t i = n - 1; i < size; i++) {
        double mx = s_mean (x, i, n), my = s_mean (y, i, n), vx = 0, vy = 0, cov = 0;
        double squares = 0;
        bool flat_x = true, flat_y = true;
        for (size_t j = 0; j < n; j++) {
            vx += (x [i - j] - mx) * (x [i - j] - mx);
            vy += (y [i - j] - my) * (y [i - j] - my);
            cov += (x [i - j] - mx) * (y [i - j] - my);
            squares += x [i - j] * x [i - j] + y [i - j] * y [i - j];
            flat_x &= x [i - j] == x [i];
            flat_y &= y [i - j] == y [i];
        }
        vx = flat_x? 0: vx, vy = flat_y? 0: vy;
        out [i] = vx * vy < 1e-14? 0: cov / sqrt (vx * vy);
        cond [i] = vx * vy < 1e-14? 0: squares / sqrt (vx * vy);
    }
}

START_TEST (test_beta_correl)
{
    static const int periods [] = { 1, 2, 5, 30, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++) {
        const sf_candles_t *k = s_data [f];
        size_t size = k->size;
        double *want = calloc (size, sizeof (double)), *cond = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            char params [64];
            snprintf (params, sizeof params, "period=%zu", n);
            s_textbook_beta (k->high, k->low, size, n, want, cond);
            s_run ("beta", k, n == 5? NULL: params);
            s_expect_cond (s_samples [f], "beta", want, size, n, 1, cond);
            s_textbook_correl (k->high, k->low, size, n, want, cond);
            s_run ("correl", k, n == 30? NULL: params);
            s_expect_cond (s_samples [f], "correl", want, size, n - 1, 1, cond);
        }
        //  Other columns: the close against the open, the volume against
        //  the close
        s_textbook_beta (k->open, k->close, size, 5, want, cond);
        s_run ("beta", k, "x=open,y=close");
        s_expect_cond ("beta of close on open", "beta", want, size, 5, 1, cond);
        s_textbook_correl (k->close, k->volume, size, 30, want, cond);
        s_run ("correl", k, "x=close,y=volume");
        s_expect_cond ("correl of close and volume", "correl", want, size, 29, 1, cond);
        s_textbook_correl (k->low, k->high, size, 10, want, cond);
        s_run ("correl", k, "period=10,x=low,y=high");
        s_expect_cond ("correl of low and high", "correl", want, size, 9, 1, cond);
        free (want);
        free (cond);
    }
}
END_TEST

//  The zero denominators of the statistics: VAR 0 on flat prices (not a
//  residue), BETA and CORREL 0 where a variance is 0; the regression's
//  slope 0 and its lines the price.
START_TEST (test_statistics_zero_denominators)
{
    sf_candles_t *flat = s_series (100, s_flat);
    static const struct {
        const char *analyzer;           //  Analyzer
        double want;                    //  Its value on flat prices
    } cases [] = {
        { "var", 0 }, { "beta", 0 }, { "correl", 0 }, { "linearreg_slope", 0 },
        { "linearreg_angle", 0 }, { "linearreg", 50 }, { "linearreg_intercept", 50 },
        { "tsf", 50 }
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        s_run (cases [c].analyzer, flat, NULL);
        ck_assert_msg (s_at (cases [c].analyzer, 99) == cases [c].want, "%s on flat prices: %g",
                       cases [c].analyzer, s_at (cases [c].analyzer, 99));
    }
    //  y flat while x moves, and x flat while y moves: 0
    for (size_t i = 0; i < 100; i++)
        flat->high [i] = 50 + (double) (i % 7);
    s_run ("correl", flat, NULL);
    ck_assert (s_at ("correl", 99) == 0);
    s_run ("beta", flat, NULL);
    ck_assert (s_at ("beta", 99) == 0);
    s_run ("correl", flat, "x=low,y=high");
    ck_assert (s_at ("correl", 99) == 0);
    s_run ("beta", flat, "x=low,y=high");
    ck_assert (s_at ("beta", 99) == 0);
    sf_candles_destroy (&flat);
    //  Flat rows after moves at a high price: exactly 0, not the residue of
    //  the running sums
    sf_candles_t *series = s_series (160, s_residue_then_flat);
    for (size_t i = 0; i < 160; i++)
        series->close [i] *= 600;
    s_run ("var", series, NULL);
    for (size_t t = 65; t < 160; t++)
        ck_assert_msg (s_at ("var", t) == 0, "var[%zu] %g", t, s_at ("var", t));
    s_run ("correl", series, "x=close,y=open");
    for (size_t t = 90; t < 160; t++)
        ck_assert (s_at ("correl", t) == 0);
    sf_candles_destroy (&series);
}
END_TEST

//  A quiet stretch after a wild one, in turns of 500 candles: what is left
//  of the sliding sums after the wild values leave cancels, so windows
//  must be summed afresh (the rounding bound's work); VAR, BETA and CORREL
//  stay within 1e-9 of windows summed afresh.
START_TEST (test_statistics_quiet_after_wild)
{
    size_t size = 3000;
    sf_candles_t *k = sf_candles_new (size);
    unsigned seed = 11;
    for (size_t i = 0; i < size; i++) {
        double scale = (i / 500) % 2 == 0? 1e2: 1e-2;
        double a = (double) rand_r (&seed) / RAND_MAX - 0.5;
        double b = (double) rand_r (&seed) / RAND_MAX - 0.5;
        double close = 1e3 + scale * a, open = 1e3 + scale * (0.5 * a + b);
        sf_candles_append (k, 60000.0 * (double) (i + 1), open, fmax (open, close),
                           fmin (open, close), close, 1);
    }
    double *want = calloc (size, sizeof (double)), *cond = calloc (size, sizeof (double));
    static const size_t periods [] = { 5, 20, 200 };
    for (size_t p = 0; p < 3; p++) {
        size_t n = periods [p];
        for (size_t i = n - 1; i < size; i++) {
            double mean = s_mean (k->close, i, n), squares = 0;
            for (size_t j = 0; j < n; j++)
                squares += (k->close [i - j] - mean) * (k->close [i - j] - mean);
            want [i] = squares / (double) n;
        }
        char params [96];
        snprintf (params, sizeof params, "period=%zu", n);
        s_run ("var", k, params);
        s_expect ("quiet after wild", "var", want, size, n - 1, 0);
        snprintf (params, sizeof params, "period=%zu,x=close,y=open", n);
        s_textbook_correl (k->close, k->open, size, n, want, cond);
        s_run ("correl", k, params);
        s_expect_cond ("quiet after wild", "correl", want, size, n - 1, 1, cond);
        s_textbook_beta (k->close, k->open, size, n, want, cond);
        s_run ("beta", k, params);
        s_expect_cond ("quiet after wild", "beta", want, size, n, 1, cond);
    }
    free (want);
    free (cond);
    sf_candles_destroy (&k);
}
END_TEST

//  --------------------------------------------------------------------------
//  Two series: beta and correl over one column of two symbols

//  Write candles (rows whose number is not a multiple of skip, prices as
//  factor × the price + row mod 3) to dir/NAME_1d.csv.
static void
s_write_symbol (const char *dir, const char *name, const sf_candles_t *k, size_t skip,
                double factor)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s_1d.csv", dir, name);
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fprintf (file, "ts,open,high,low,close,volume\n");
    for (size_t i = 0; i < k->size; i++)
        if (i % skip != 0) {
            double add = (double) (i % 3);
            fprintf (file, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g\n", (long long) k->ts [i],
                     k->open [i] * factor + add, k->high [i] * factor + add,
                     k->low [i] * factor + add, k->close [i] * factor + add, k->volume [i]);
        }
    fclose (file);
}

//  The candles of a CSV file the test wrote.
static sf_candles_t *
s_read_symbol (const char *dir, const char *name)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s_1d.csv", dir, name);
    sf_error_t error;
    sf_candles_t *candles = sf_candles_load_csv (path, &error);
    ck_assert_msg (candles, "%s", error.message);
    return candles;
}

//  Candles [first, last) of candles.
static sf_candles_t *
s_slice (const sf_candles_t *candles, size_t first, size_t last)
{
    sf_candles_t *slice = sf_candles_new (last - first);
    for (size_t i = first; i < last; i++)
        sf_candles_append (slice, candles->ts [i], candles->open [i], candles->high [i],
                           candles->low [i], candles->close [i], candles->volume [i]);
    return slice;
}

//  The series of output name in s_result appended to values at count (ts
//  to ts); returns how many.
static size_t
s_take (const char *name, double *values, double *ts, size_t count)
{
    const msgpack_object *array = sf_mp_get (&s_result.data, name);
    const msgpack_object *times = sf_mp_get (&s_result.data, "ts");
    ck_assert (array && times && array->via.array.size == times->via.array.size);
    for (uint32_t i = 0; i < array->via.array.size; i++) {
        const msgpack_object *value = &array->via.array.ptr [i];
        values [count + i] = value->type == MSGPACK_OBJECT_FLOAT64? value->via.f64: NAN;
        ts [count + i] = (double) times->via.array.ptr [i].via.i64;
    }
    return array->via.array.size;
}

//  analyzer with params over candles (timeframe 1d), fed in three jobs cut
//  at first and second, each with the state the one before handed back:
//  the same series (and ts) as one job over all of them.
static void
s_expect_chunks (const char *analyzer, const sf_candles_t *candles, const char *params,
                 size_t first, size_t second)
{
    size_t size = candles->size;
    ck_assert (first > 3 && first < second && second < size);
    double *want = calloc (size, sizeof (double)), *want_ts = calloc (size, sizeof (double));
    double *got = calloc (size, sizeof (double)), *got_ts = calloc (size, sizeof (double));
    ck_assert_int_eq (s_run_on (analyzer, candles, NULL, "1d", params), 0);
    size_t whole = s_take (analyzer, want, want_ts, 0), count = 0;
    const size_t cuts [4] = { 0, first, second, size };
    char *state = NULL;
    size_t state_size = 0;
    for (size_t c = 0; c < 3; c++) {
        //  The later jobs repeat three candles already seen
        sf_candles_t *slice = s_slice (candles, c? cuts [c] - 3: 0, cuts [c + 1]);
        char *next = NULL;
        size_t next_size = 0;
        int rc = s_run_state (analyzer, slice, NULL, "1d", params, state, state_size, &next,
                              &next_size);
        ck_assert_msg (rc == 0, "%s chunk %zu: %s", analyzer, c, s_ctx.message);
        count += s_take (analyzer, got, got_ts, count);
        free (state);
        state = next;
        state_size = next_size;
        sf_candles_destroy (&slice);
    }
    ck_assert_uint_eq (count, whole);
    for (size_t i = 0; i < whole; i++) {
        ck_assert (got_ts [i] == want_ts [i]);
        if (isnan (want [i]))
            ck_assert (isnan (got [i]));
        else
            ck_assert_msg (fabs (got [i] - want [i]) <= 1e-9 * fmax (fabs (want [i]), 1),
                           "%s (%s) chunked [%zu] = %.17g, want %.17g", analyzer, params, i,
                           got [i], want [i]);
    }
    free (state);
    free (want);
    free (want_ts);
    free (got);
    free (got_ts);
}

START_TEST (test_pair_against)
{
    char dir [] = "/tmp/sheaf-pair-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    const sf_candles_t *goog = s_data [0];
    s_write_symbol (dir, "A", goog, 7, 1.0);
    s_write_symbol (dir, "B", goog, 5, 1.7);
    sf_candles_t *c = sf_candles_new (10);
    for (size_t i = 0; i < 10; i++)
        sf_candles_append (c, goog->ts [i], 1, 2, 1, 1.5, 1);
    s_write_symbol (dir, "C", c, 1000, 1.0);
    sf_candles_destroy (&c);
    sf_actx_destroy (&s_ctx);
    sf_actx_init (&s_ctx, dir, NULL);

    //  x is B's close, y A's, at the timestamps they share
    sf_candles_t *a = s_read_symbol (dir, "A"), *b = s_read_symbol (dir, "B");
    size_t shared = 0;
    double *x = calloc (a->size, sizeof (double)), *y = calloc (a->size, sizeof (double));
    double *ts = calloc (a->size, sizeof (double));
    for (size_t i = 0, j = 0; i < a->size && j < b->size; ) {
        if (a->ts [i] < b->ts [j])
            i++;
        else
        if (a->ts [i] > b->ts [j])
            j++;
        else {
            x [shared] = b->close [j], y [shared] = a->close [i], ts [shared++] = a->ts [i];
            i++, j++;
        }
    }
    ck_assert (shared > 500 && shared < a->size);
    double *want = calloc (shared, sizeof (double)), *cond = calloc (shared, sizeof (double));
    s_textbook_beta (x, y, shared, 5, want, cond);
    ck_assert_int_eq (s_run_on ("beta", NULL, "A", "1d", "against=B,column=close"), 0);
    s_expect_cond ("beta against B", "beta", want, shared, 5, 1, cond);
    const msgpack_object *times = sf_mp_get (&s_result.data, "ts");
    for (size_t i = 0; i < shared; i++)
        ck_assert ((double) times->via.array.ptr [i].via.i64 == ts [i]);
    //  The same with A's candles inline; the close is the default column
    ck_assert_int_eq (s_run_on ("beta", a, NULL, "1d", "against=B"), 0);
    s_expect_cond ("beta against B inline", "beta", want, shared, 5, 1, cond);
    s_textbook_correl (x, y, shared, 30, want, cond);
    ck_assert_int_eq (s_run_on ("correl", NULL, "A", "1d", "against=B"), 0);
    s_expect_cond ("correl against B", "correl", want, shared, 29, 1, cond);
    //  Another column
    for (size_t i = 0, j = 0, k = 0; i < a->size && j < b->size; ) {
        if (a->ts [i] < b->ts [j])
            i++;
        else
        if (a->ts [i] > b->ts [j])
            j++;
        else {
            x [k] = b->high [j], y [k++] = a->high [i];
            i++, j++;
        }
    }
    s_textbook_correl (x, y, shared, 10, want, cond);
    ck_assert_int_eq (s_run_on ("correl", NULL, "A", "1d", "period=10,against=B,column=high"),
                      0);
    s_expect_cond ("correl of highs against B", "correl", want, shared, 9, 1, cond);

    //  Continued from states, in chunks
    s_expect_chunks ("beta", a, "against=B", 300, 700);
    s_expect_chunks ("correl", a, "against=B,column=open", 50, 51);
    s_expect_chunks ("beta", a, "x=close,y=open", 200, 600);
    s_expect_chunks ("correl", a, "period=7,x=volume", 20, 850);

    //  What is refused, naming why
    ck_assert_int_eq (s_run_on ("beta", NULL, "A", "1d", "against=B,x=close"), -1);
    ck_assert_str_eq (s_ctx.code, "BAD_INPUT");
    ck_assert_msg (strstr (s_ctx.message, "\"x\" does not apply with \"against\""), "%s",
                   s_ctx.message);
    ck_assert_int_eq (s_run_on ("correl", NULL, "A", "1d", "column=close"), -1);
    ck_assert_str_eq (s_ctx.code, "BAD_INPUT");
    ck_assert (strstr (s_ctx.message, "\"column\" applies only with \"against\""));
    ck_assert_int_eq (s_run_on ("beta", NULL, "A", "1d", "against=NOPE"), -1);
    ck_assert_str_eq (s_ctx.code, "DATA_FETCH");
    ck_assert (strstr (s_ctx.message, "NOPE"));
    ck_assert_int_eq (s_run_on ("beta", a, NULL, NULL, "against=B"), -1);
    ck_assert_str_eq (s_ctx.code, "BAD_INPUT");
    ck_assert (strstr (s_ctx.message, "needs the job's timeframe"));
    ck_assert_int_eq (s_run_on ("correl", NULL, "A", "1d", "against=C"), -1);
    ck_assert_str_eq (s_ctx.code, "INSUFFICIENT_DATA");
    ck_assert_msg (strstr (s_ctx.message, "share their time with C, at least 30 needed"), "%s",
                   s_ctx.message);
    ck_assert_int_eq (s_run_on ("beta", NULL, "A", "1d", "x=nope"), -1);
    ck_assert_str_eq (s_ctx.code, "BAD_INPUT");

    free (x);
    free (y);
    free (ts);
    free (want);
    free (cond);
    sf_candles_destroy (&a);
    sf_candles_destroy (&b);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", dir);
    ck_assert_int_eq (system (command), 0);
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
        { "rocr", "period=3", 3 }, { "dema", NULL, 38 }, { "dema", "period=2", 2 },
        { "tema", NULL, 57 }, { "t3", NULL, 24 }, { "t3", "period=2", 6 }, { "trima", NULL, 19 },
        { "trima", "period=2", 1 }, { "kama", NULL, 10 }, { "kama", "period=2", 2 },
        { "midpoint", NULL, 13 }, { "midprice", "period=2", 1 }, { "ppo", NULL, 25 },
        { "apo", "fast=5,slow=3", 4 }, { "trix", NULL, 88 }, { "trix", "period=1", 1 },
        { "cmo", NULL, 14 }, { "natr", NULL, 14 }, { "natr", "period=1", 1 }, { "ad", NULL, 0 },
        { "adosc", NULL, 9 }, { "adosc", "fast=4,slow=2", 3 }, { "var", NULL, 4 },
        { "var", "period=1", 0 }, { "linearreg", NULL, 13 }, { "linearreg_slope", "period=2", 1 },
        { "linearreg_angle", NULL, 13 }, { "linearreg_intercept", NULL, 13 }, { "tsf", NULL, 13 },
        { "beta", NULL, 5 }, { "beta", "period=1", 1 }, { "correl", NULL, 29 },
        { "correl", "period=1,x=open", 0 },
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
    tcase_add_test (tc, test_chained_emas);
    tcase_add_test (tc, test_trima);
    tcase_add_test (tc, test_kama);
    tcase_add_test (tc, test_midpoint_midprice);
    tcase_add_test (tc, test_averages_flat);
    tcase_add_test (tc, test_ppo_apo_trix);
    tcase_add_test (tc, test_cmo);
    tcase_add_test (tc, test_natr_ad_adosc);
    tcase_add_test (tc, test_oscillator_zero_denominators);
    tcase_add_test (tc, test_var);
    tcase_add_test (tc, test_linear_regression);
    tcase_add_test (tc, test_beta_correl);
    tcase_add_test (tc, test_statistics_zero_denominators);
    tcase_add_test (tc, test_statistics_quiet_after_wild);
    tcase_add_test (tc, test_pair_against);
    tcase_add_test (tc, test_tiny_inputs);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
