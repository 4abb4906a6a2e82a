/*  =========================================================================
    check_indicators - the indicator analyzers (sma, ema, rsi) against
    values computed independently here, on the real GOOG sample and on edge
    cases; their parameters, their data sources and their errors
    ========================================================================= */

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_candles.h"
#include "sf_mp.h"
#include "suite.h"

#define streq(a, b) (strcmp ((a), (b)) == 0)

static char s_data_dir [512];
static sf_candles_t *s_goog;            //  The real sample, loaded once
static msgpack_unpacked s_result;       //  The last result decoded
static sf_actx_t s_ctx;

static void
s_setup (void)
{
    const char *src = getenv ("SHEAF_SRC");
    snprintf (s_data_dir, sizeof s_data_dir, "%s/data", src? src: ".");
    char path [600];
    snprintf (path, sizeof path, "%s/GOOG_1d.csv", s_data_dir);
    sf_error_t error;
    s_goog = sf_candles_load_csv (path, &error);
    ck_assert_msg (s_goog, "%s", error.message);
    msgpack_unpacked_init (&s_result);
    sf_actx_init (&s_ctx, s_data_dir, NULL);
}

static void
s_teardown (void)
{
    sf_candles_destroy (&s_goog);
    msgpack_unpacked_destroy (&s_result);
    sf_actx_destroy (&s_ctx);
}

//  Run analyzer on a job {analyzer, candles (if given), symbol/timeframe
//  (if given), params: {period, output}}. Returns the analyzer's return
//  code; on success s_result holds the decoded result.
static int
s_run (const char *analyzer, const sf_candles_t *candles, const char *symbol,
       int period, const char *output)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2 + (candles? 1: 0) + (symbol? 2: 0));
    sf_mp_pack_kv_str (&pk, "analyzer", analyzer);
    if (candles) {
        sf_mp_pack_str (&pk, "candles");
        sf_candles_pack (candles, &pk);
    }
    if (symbol) {
        sf_mp_pack_kv_str (&pk, "symbol", symbol);
        sf_mp_pack_kv_str (&pk, "timeframe", "1d");
    }
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, (period? 1: 0) + (output? 1: 0));
    if (period) {
        sf_mp_pack_str (&pk, "period");
        msgpack_pack_int (&pk, period);
    }
    if (output)
        sf_mp_pack_kv_str (&pk, "output", output);

    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *found = sf_analyzers_find (analyzer, strlen (analyzer), false);
    ck_assert_ptr_nonnull (found);
    sf_actx_reset (&s_ctx, found, &job.data, 1);
    int rc = sf_actx_check_params (&s_ctx)? -1: found->analyze (&s_ctx);
    if (rc == 0) {
        offset = 0;
        ck_assert (msgpack_unpack_next (&s_result, s_ctx.output.data, s_ctx.output.size, &offset)
                   == MSGPACK_UNPACK_SUCCESS);
        ck_assert_uint_eq (offset, s_ctx.output.size);
    }
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  Compare output name of s_result with expected (lookback nulls first).
static void
s_expect_series (const char *name, const double *expected, size_t size, size_t lookback)
{
    const msgpack_object *ts = sf_mp_get (&s_result.data, "ts");
    const msgpack_object *values = sf_mp_get (&s_result.data, name);
    ck_assert_ptr_nonnull (ts);
    ck_assert_ptr_nonnull (values);
    ck_assert_int_eq (values->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq (values->via.array.size, size);
    ck_assert_uint_eq (ts->via.array.size, size);
    for (size_t i = 0; i < size; i++) {
        const msgpack_object *value = &values->via.array.ptr [i];
        if (i < lookback) {
            ck_assert_msg (value->type == MSGPACK_OBJECT_NIL, "%s[%zu] should be null", name, i);
            continue;
        }
        ck_assert_int_eq (value->type, MSGPACK_OBJECT_FLOAT64);
        double got = value->via.f64, want = expected [i];
        double scale = want != 0? fabs (want): 1;     //  Relative, absolute at 0
        ck_assert_msg (fabs (got - want) / scale <= 1e-9, "%s[%zu] = %.15g, want %.15g",
                       name, i, got, want);
    }
}

//  Textbook versions, written independently of the analyzers: every window
//  summed afresh, every recursion spelled out.
static void
s_textbook_sma (const double *close, size_t size, size_t n, double *out)
{
    for (size_t i = n - 1; i < size; i++) {
        double sum = 0;
        for (size_t j = 0; j < n; j++)
            sum += close [i - j];
        out [i] = sum / (double) n;
    }
}

static void
s_textbook_ema (const double *close, size_t size, size_t n, double *out)
{
    s_textbook_sma (close, n, n, out);          //  Seed: the first window's mean
    double k = 2.0 / (double) (n + 1);
    for (size_t i = n; i < size; i++)
        out [i] = out [i - 1] + k * (close [i] - out [i - 1]);
}

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
        out [i] = up + down < 1e-14? 0: 100.0 * up / (up + down);
    }
}

//  More textbook versions. h, l, c, v are the GOOG columns.
static void
s_textbook_wma (const double *c, size_t size, size_t n, double *out)
{
    for (size_t i = n - 1; i < size; i++) {
        double num = 0, den = 0;
        for (size_t age = 0; age < n; age++) {
            num += (double) (n - age) * c [i - age];
            den += (double) (n - age);
        }
        out [i] = num / den;
    }
}

static double
s_pop_sd (const double *x, size_t i, size_t n)
{
    double mean = 0, sq = 0;
    for (size_t j = 0; j < n; j++)
        mean += x [i - j] / (double) n;
    for (size_t j = 0; j < n; j++)
        sq += (x [i - j] - mean) * (x [i - j] - mean);
    return sq / (double) n < 1e-14? 0: sqrt (sq / (double) n);
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
s_tr (const sf_candles_t *k, size_t i)
{
    return fmax (k->high [i] - k->low [i], fmax (fabs (k->high [i] - k->close [i - 1]),
                                                 fabs (k->low [i] - k->close [i - 1])));
}

//  EMA of x over [start, size) seeded at start + n - 1 with the mean of
//  the first n values from start.
static void
s_ema_from (const double *x, size_t start, size_t size, size_t n, double *out)
{
    double seed = 0;
    for (size_t j = start; j < start + n; j++)
        seed += x [j];
    out [start + n - 1] = seed / (double) n;
    for (size_t i = start + n; i < size; i++)
        out [i] = out [i - 1] + 2.0 / (double) (n + 1) * (x [i] - out [i - 1]);
}

START_TEST (test_all_indicators_on_goog)
{
    const sf_candles_t *k = s_goog;
    size_t size = k->size;
    double *want = calloc (size, sizeof (double));
    double *want2 = calloc (size, sizeof (double));
    double *want3 = calloc (size, sizeof (double));
    double *tmp = calloc (size, sizeof (double));

    s_textbook_wma (k->close, size, 20, want);
    ck_assert_int_eq (s_run ("wma", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("wma", want, size, 19);

    for (size_t i = 19; i < size; i++)
        want [i] = s_pop_sd (k->close, i, 20);
    ck_assert_int_eq (s_run ("stddev", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("stddev", want, size, 19);

    s_textbook_sma (k->close, size, 20, want2);
    for (size_t i = 19; i < size; i++) {
        want [i] = want2 [i] + 2 * s_pop_sd (k->close, i, 20);
        want3 [i] = want2 [i] - 2 * s_pop_sd (k->close, i, 20);
    }
    ck_assert_int_eq (s_run ("bbands", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("upper", want, size, 19);
    s_expect_series ("middle", want2, size, 19);
    s_expect_series ("lower", want3, size, 19);

    for (size_t i = 10; i < size; i++)
        want [i] = (k->close [i] - k->close [i - 10]) / k->close [i - 10] * 100;
    ck_assert_int_eq (s_run ("roc", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("roc", want, size, 10);

    want [0] = k->volume [0];
    for (size_t i = 1; i < size; i++)
        want [i] = want [i - 1] + (k->close [i] > k->close [i - 1]? k->volume [i]
                                 : k->close [i] < k->close [i - 1]? -k->volume [i]: 0);
    ck_assert_int_eq (s_run ("obv", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("obv", want, size, 0);

    for (size_t i = 0; i < size; i++) {
        double pv = 0, vol = 0;
        for (size_t j = 0; j <= i; j++) {
            pv += (k->high [j] + k->low [j] + k->close [j]) / 3 * k->volume [j];
            vol += k->volume [j];
        }
        want [i] = pv / vol;
    }
    ck_assert_int_eq (s_run ("vwap", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("vwap", want, size, 0);

    for (size_t i = 13; i < size; i++) {
        double hh = s_highest (k->high, i, 14), ll = s_lowest (k->low, i, 14);
        want [i] = hh == ll? 0: (k->close [i] - hh) / (hh - ll) * 100;
    }
    ck_assert_int_eq (s_run ("willr", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("willr", want, size, 13);

    for (size_t i = 0; i < size; i++)
        tmp [i] = (k->high [i] + k->low [i] + k->close [i]) / 3;
    for (size_t i = 19; i < size; i++) {
        double mean = 0, dev = 0;
        for (size_t j = 0; j < 20; j++)
            mean += tmp [i - j] / 20;
        for (size_t j = 0; j < 20; j++)
            dev += fabs (tmp [i - j] - mean) / 20;
        want [i] = dev == 0? 0: (tmp [i] - mean) / (0.015 * dev);
    }
    ck_assert_int_eq (s_run ("cci", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("cci", want, size, 19);

    double atr = 0;
    for (size_t i = 1; i <= 14; i++)
        atr += s_tr (k, i) / 14;
    want [14] = atr;
    for (size_t i = 15; i < size; i++)
        want [i] = atr = (13 * atr + s_tr (k, i)) / 14;
    ck_assert_int_eq (s_run ("atr", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("atr", want, size, 14);

    for (size_t i = 14; i < size; i++) {
        double pos = 0, neg = 0;
        for (size_t j = i - 13; j <= i; j++) {
            if (tmp [j] > tmp [j - 1])
                pos += tmp [j] * k->volume [j];
            if (tmp [j] < tmp [j - 1])
                neg += tmp [j] * k->volume [j];
        }
        want [i] = pos + neg < 1? 0: pos / (pos + neg) * 100;
    }
    ck_assert_int_eq (s_run ("mfi", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("mfi", want, size, 14);

    //  MACD 12/26/9, both EMAs starting at index 25 (TA-Lib)
    double *slow = calloc (size, sizeof (double)), *fast = calloc (size, sizeof (double));
    s_ema_from (k->close, 0, size, 26, slow);
    s_ema_from (k->close, 14, size, 12, fast);
    for (size_t i = 25; i < size; i++)
        tmp [i] = fast [i] - slow [i];
    s_ema_from (tmp, 25, size, 9, want2);
    for (size_t i = 33; i < size; i++)
        want3 [i] = tmp [i] - want2 [i];
    ck_assert_int_eq (s_run ("macd", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("macd", tmp, size, 33);
    s_expect_series ("signal", want2, size, 33);
    s_expect_series ("hist", want3, size, 33);
    free (slow);
    free (fast);

    //  Slow stochastic 14/3/3
    for (size_t i = 13; i < size; i++) {
        double hh = s_highest (k->high, i, 14), ll = s_lowest (k->low, i, 14);
        tmp [i] = hh == ll? 0: (k->close [i] - ll) / (hh - ll) * 100;
    }
    for (size_t i = 15; i < size; i++)
        want [i] = (tmp [i] + tmp [i - 1] + tmp [i - 2]) / 3;
    for (size_t i = 17; i < size; i++)
        want2 [i] = (want [i] + want [i - 1] + want [i - 2]) / 3;
    ck_assert_int_eq (s_run ("stoch", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("k", want, size, 17);
    s_expect_series ("d", want2, size, 17);

    //  ADX 14
    double sp = 0, sm = 0, st = 0, dx = 0, adx = 0;
    for (size_t i = 1; i < size; i++) {
        double up = k->high [i] - k->high [i - 1], down = k->low [i - 1] - k->low [i];
        double pdm = (up > down && up > 0)? up: 0, mdm = (down > up && down > 0)? down: 0;
        if (i <= 13) {
            sp += pdm, sm += mdm, st += s_tr (k, i);
            continue;
        }
        sp += pdm - sp / 14, sm += mdm - sm / 14, st += s_tr (k, i) - st / 14;
        double pdi = sp / st * 100, mdi = sm / st * 100;
        dx = fabs (pdi - mdi) / (pdi + mdi) * 100;
        if (i <= 27)
            adx += dx / 14;
        else
            adx = (adx * 13 + dx) / 14;
        want [i] = adx;
    }
    ck_assert_int_eq (s_run ("adx", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("adx", want, size, 27);

    //  Volatility 20: sample sd of log returns
    for (size_t i = 1; i < size; i++)
        tmp [i] = log (k->close [i]) - log (k->close [i - 1]);
    for (size_t i = 20; i < size; i++) {
        double mean = 0, sq = 0;
        for (size_t j = 0; j < 20; j++)
            mean += tmp [i - j] / 20;
        for (size_t j = 0; j < 20; j++)
            sq += (tmp [i - j] - mean) * (tmp [i - j] - mean);
        want [i] = sqrt (sq / 19);
    }
    ck_assert_int_eq (s_run ("volatility", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("volatility", want, size, 20);

    free (want);
    free (want2);
    free (want3);
    free (tmp);
}
END_TEST

//  Flat candles: every zero-denominator rule gives 0.
//  The sliding windows (stddev, bbands, volatility, mfi) against every
//  window summed afresh, on each sample and several periods.
START_TEST (test_windows_on_samples)
{
    static const char *samples [] = { "GOOG_1d", "SYNTH_1m", "EDGE_1m" };
    static const int periods [] = { 2, 5, 14, 20, 50, 200 };
    for (size_t f = 0; f < 3; f++) {
        char path [600];
        snprintf (path, sizeof path, "%s/%s.csv", s_data_dir, samples [f]);
        sf_error_t error;
        sf_candles_t *k = sf_candles_load_csv (path, &error);
        ck_assert_msg (k, "%s", error.message);
        size_t size = k->size;
        double *want = calloc (size, sizeof (double));
        double *want2 = calloc (size, sizeof (double));
        double *tmp = calloc (size, sizeof (double));
        for (size_t p = 0; p < sizeof periods / sizeof periods [0]; p++) {
            size_t n = (size_t) periods [p];
            for (size_t i = n - 1; i < size; i++)
                want [i] = s_pop_sd (k->close, i, n);
            ck_assert_int_eq (s_run ("stddev", k, NULL, (int) n, NULL), 0);
            s_expect_series ("stddev", want, size, n - 1);

            s_textbook_sma (k->close, size, n, want2);
            for (size_t i = n - 1; i < size; i++)
                want [i] = want2 [i] + 2 * s_pop_sd (k->close, i, n);
            ck_assert_int_eq (s_run ("bbands", k, NULL, (int) n, NULL), 0);
            s_expect_series ("upper", want, size, n - 1);

            for (size_t i = 1; i < size; i++)
                tmp [i] = log (k->close [i] / k->close [i - 1]);
            for (size_t i = n; i < size; i++) {
                double mean = 0, sq = 0;
                for (size_t j = 0; j < n; j++)
                    mean += tmp [i - j];
                mean /= (double) n;
                for (size_t j = 0; j < n; j++)
                    sq += (tmp [i - j] - mean) * (tmp [i - j] - mean);
                sq /= (double) (n - 1);
                want [i] = sq < 1e-14? 0: sqrt (sq);
            }
            ck_assert_int_eq (s_run ("volatility", k, NULL, (int) n, NULL), 0);
            s_expect_series ("volatility", want, size, n);

            for (size_t i = 0; i < size; i++)
                tmp [i] = (k->high [i] + k->low [i] + k->close [i]) / 3;
            for (size_t i = n; i < size; i++) {
                double pos = 0, neg = 0;
                for (size_t j = i + 1 - n; j <= i; j++) {
                    if (tmp [j] > tmp [j - 1])
                        pos += tmp [j] * k->volume [j];
                    if (tmp [j] < tmp [j - 1])
                        neg += tmp [j] * k->volume [j];
                }
                want [i] = pos + neg < 1? 0: pos / (pos + neg) * 100;
            }
            ck_assert_int_eq (s_run ("mfi", k, NULL, (int) n, NULL), 0);
            s_expect_series ("mfi", want, size, n);
        }
        free (want);
        free (want2);
        free (tmp);
        sf_candles_destroy (&k);
    }
}
END_TEST

START_TEST (test_flat_prices)
{
    sf_candles_t *flat = sf_candles_new (0);
    for (int i = 0; i < 60; i++)
        sf_candles_append (flat, 60000.0 * i, 50, 50, 50, 50, 0);
    static const char *cases [][2] = {
        { "willr", "willr" }, { "stoch", "k" }, { "cci", "cci" }, { "mfi", "mfi" },
        { "stddev", "stddev" }, { "volatility", "volatility" }, { "rsi", "rsi" },
        { "adx", "adx" }, { "atr", "atr" }
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        ck_assert_int_eq (s_run (cases [c][0], flat, NULL, 0, "last"), 0);
        const msgpack_object *value = sf_mp_get (&s_result.data, cases [c][1]);
        ck_assert_msg (value && value->type == MSGPACK_OBJECT_FLOAT64 && value->via.f64 == 0,
                       "%s on flat prices is not 0", cases [c][0]);
    }
    //  No volume traded: the VWAP is the typical price
    ck_assert_int_eq (s_run ("vwap", flat, NULL, 0, "last"), 0);
    ck_assert (sf_mp_get (&s_result.data, "vwap")->via.f64 == 50);
    sf_candles_destroy (&flat);
}
END_TEST

START_TEST (test_sma_ema_rsi_on_goog)
{
    size_t size = s_goog->size;
    double *want = calloc (size, sizeof (double));
    s_textbook_sma (s_goog->close, size, 20, want);
    ck_assert_int_eq (s_run ("sma", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("sma", want, size, 19);
    s_textbook_sma (s_goog->close, size, 50, want);
    ck_assert_int_eq (s_run ("sma", s_goog, NULL, 50, NULL), 0);
    s_expect_series ("sma", want, size, 49);
    s_textbook_ema (s_goog->close, size, 20, want);
    ck_assert_int_eq (s_run ("ema", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("ema", want, size, 19);
    s_textbook_rsi (s_goog->close, size, 14, want);
    ck_assert_int_eq (s_run ("rsi", s_goog, NULL, 0, NULL), 0);
    s_expect_series ("rsi", want, size, 14);
    free (want);
}
END_TEST

//  A hand-checked case: closes 1..5, SMA(3) = 2, 3, 4; RSI(2) of a rising
//  series is 100.
START_TEST (test_hand_checked)
{
    sf_candles_t *candles = sf_candles_new (0);
    for (int i = 1; i <= 5; i++)
        sf_candles_append (candles, 1000.0 * i, i, i, i, i, 1);
    ck_assert_int_eq (s_run ("sma", candles, NULL, 3, NULL), 0);
    double sma [] = { 0, 0, 2, 3, 4 };
    s_expect_series ("sma", sma, 5, 2);
    ck_assert_int_eq (s_run ("rsi", candles, NULL, 2, NULL), 0);
    double rsi [] = { 0, 0, 100, 100, 100 };
    s_expect_series ("rsi", rsi, 5, 2);
    //  Flat prices: no gain, no loss, RSI 0 (TA-Lib's rule)
    for (size_t i = 0; i < 5; i++)
        candles->close [i] = 7;
    ck_assert_int_eq (s_run ("rsi", candles, NULL, 2, NULL), 0);
    double flat [] = { 0, 0, 0, 0, 0 };
    s_expect_series ("rsi", flat, 5, 2);
    sf_candles_destroy (&candles);
}
END_TEST

START_TEST (test_output_last)
{
    size_t size = s_goog->size;
    double *want = calloc (size, sizeof (double));
    s_textbook_rsi (s_goog->close, size, 14, want);
    ck_assert_int_eq (s_run ("rsi", s_goog, NULL, 0, "last"), 0);
    const msgpack_object *ts = sf_mp_get (&s_result.data, "ts");
    const msgpack_object *rsi = sf_mp_get (&s_result.data, "rsi");
    ck_assert (ts && ts->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert ((double) ts->via.u64 == s_goog->ts [size - 1]);
    ck_assert (rsi && rsi->type == MSGPACK_OBJECT_FLOAT64);
    ck_assert (fabs (rsi->via.f64 - want [size - 1]) <= 1e-9 * want [size - 1]);
    free (want);
}
END_TEST

//  The error's code, and a context field's string value.
static void
s_expect_failure (const char *code, const char *message_part)
{
    ck_assert (s_ctx.failed);
    ck_assert_str_eq (s_ctx.code, code);
    ck_assert_msg (strstr (s_ctx.message, message_part), "\"%s\" lacks \"%s\"",
                   s_ctx.message, message_part);
}

START_TEST (test_bad_params_and_short_data)
{
    ck_assert_int_eq (s_run ("sma", s_goog, NULL, 1, NULL), -1);
    s_expect_failure ("BAD_INPUT", "param \"period\" must be an integer 2-100000");
    ck_assert_int_eq (s_run ("ema", s_goog, NULL, 0, "all"), -1);
    s_expect_failure ("BAD_INPUT", "param \"output\"");
    sf_candles_t *few = sf_candles_new (0);
    for (int i = 0; i < 14; i++)
        sf_candles_append (few, 1000.0 * i, 1, 1, 1, 1, 1);
    ck_assert_int_eq (s_run ("rsi", few, NULL, 0, NULL), -1);
    s_expect_failure ("INSUFFICIENT_DATA", "14 candles, at least 15 needed");
    ck_assert_int_eq (json_integer_value (json_object_get (s_ctx.context, "needed")), 15);
    few->size = 0;
    ck_assert_int_eq (s_run ("sma", few, NULL, 0, NULL), -1);
    s_expect_failure ("INSUFFICIENT_DATA", "0 candles");
    sf_candles_destroy (&few);
}
END_TEST

START_TEST (test_data_source)
{
    //  GOOG 1d from data/ gives the same result as the same candles inline
    ck_assert_int_eq (s_run ("sma", NULL, "GOOG", 0, "last"), 0);
    double from_file = sf_mp_get (&s_result.data, "sma")->via.f64;
    ck_assert_int_eq (s_run ("sma", s_goog, NULL, 0, "last"), 0);
    ck_assert (sf_mp_get (&s_result.data, "sma")->via.f64 == from_file);

    ck_assert_int_eq (s_run ("sma", NULL, "NOSUCH", 0, NULL), -1);
    s_expect_failure ("DATA_FETCH", "cannot fetch NOSUCH 1d");
    ck_assert_str_eq (json_string_value (json_object_get (s_ctx.context, "symbol")), "NOSUCH");
    ck_assert_ptr_nonnull (strstr (json_string_value (json_object_get (s_ctx.context, "source")),
                                   "NOSUCH_1d.csv"));
    ck_assert_ptr_nonnull (json_object_get (s_ctx.context, "cause"));
    ck_assert_int_eq (s_run ("sma", NULL, "../../etc/passwd", 0, NULL), -1);
    s_expect_failure ("DATA_FETCH", "cannot fetch");
    ck_assert_int_eq (s_run ("sma", NULL, NULL, 0, NULL), -1);
    s_expect_failure ("BAD_INPUT", "no candles and names no symbol");
}
END_TEST

//  A real field of s_result.
static double
s_field (const char *name)
{
    const msgpack_object *value = sf_mp_get (&s_result.data, name);
    ck_assert_msg (value, "no \"%s\" in the result", name);
    return value->type == MSGPACK_OBJECT_FLOAT64? value->via.f64: (double) value->via.u64;
}

static void
s_expect_near (const char *name, double want)
{
    double got = s_field (name);
    double scale = want != 0? fabs (want): 1;     //  Relative, absolute at 0
    ck_assert_msg (fabs (got - want) / scale <= 1e-9, "%s = %.15g, want %.15g", name, got, want);
}

START_TEST (test_stats_on_goog)
{
    const sf_candles_t *k = s_goog;
    size_t n = k->size - 1;
    double *r = calloc (n, sizeof (double));
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        r [i] = (k->close [i + 1] - k->close [i]) / k->close [i];
        mean += r [i];
    }
    mean /= (double) n;
    double m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) {
        m2 += pow (r [i] - mean, 2) / (double) n;
        m3 += pow (r [i] - mean, 3) / (double) n;
        m4 += pow (r [i] - mean, 4) / (double) n;
    }
    double stdev = sqrt (m2 * (double) n / (double) (n - 1));
    //  Largest fall from any earlier close, by brute force
    double worst = 0;
    size_t peak = 0, trough = 0;
    for (size_t i = 0; i < k->size; i++)
        for (size_t j = i + 1; j < k->size; j++)
            if ((k->close [i] - k->close [j]) / k->close [i] > worst) {
                worst = (k->close [i] - k->close [j]) / k->close [i];
                peak = i, trough = j;
            }
    ck_assert_int_eq (s_run ("stats", s_goog, NULL, 0, NULL), 0);
    ck_assert (s_field ("returns") == (double) n);
    s_expect_near ("mean", mean);
    s_expect_near ("stdev", stdev);
    s_expect_near ("skew", m3 / pow (m2, 1.5));
    s_expect_near ("kurtosis", m4 / (m2 * m2) - 3);
    s_expect_near ("max_drawdown", worst);
    ck_assert (s_field ("drawdown_peak_ts") == k->ts [peak]);
    ck_assert (s_field ("drawdown_trough_ts") == k->ts [trough]);
    s_expect_near ("sharpe", mean / stdev * sqrt (252));
    free (r);
}
END_TEST

START_TEST (test_report_on_goog)
{
    const sf_candles_t *k = s_goog;
    size_t size = k->size, end = size - 1;
    double *a = calloc (size, sizeof (double)), *b = calloc (size, sizeof (double));
    s_textbook_sma (k->close, size, 20, a);
    s_textbook_sma (k->close, size, 50, b);
    double fast = a [end], slow = b [end];
    s_textbook_rsi (k->close, size, 14, a);
    double rsi = a [end];
    ck_assert_int_eq (s_run ("report", s_goog, NULL, 0, NULL), 0);
    s_expect_near ("close", k->close [end]);
    s_expect_near ("change", k->close [end] / k->close [0] - 1);
    s_expect_near ("sma_fast", fast);
    s_expect_near ("sma_slow", slow);
    s_expect_near ("rsi", rsi);
    ck_assert (sf_mp_streq (sf_mp_get (&s_result.data, "trend"), fast > slow? "up": "down"));
    ck_assert (sf_mp_streq (sf_mp_get (&s_result.data, "rsi_state"),
                            rsi >= 70? "overbought": rsi <= 30? "oversold": "neutral"));
    //  October 2008: the slow average is above the fast one
    ck_assert (sf_mp_streq (sf_mp_get (&s_result.data, "trend"), "down"));
    ck_assert (s_field ("ts") == k->ts [end]);
    ck_assert (s_field ("volatility") > 0 && s_field ("atr") > 0);
    free (a);
    free (b);
}
END_TEST

//  Write a CSV of closes (open/high/low = close, volume 1) at the given
//  minutes into dir/NAME_1m.csv.
static void
s_write_series (const char *dir, const char *name, const int *minutes, const double *closes,
                size_t size)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s_1m.csv", dir, name);
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fprintf (file, "ts,open,high,low,close,volume\n");
    for (size_t i = 0; i < size; i++)
        fprintf (file, "%lld,%.17g,%.17g,%.17g,%.17g,1\n", (long long) minutes [i] * 60000,
                 closes [i], closes [i], closes [i], closes [i]);
    fclose (file);
}

START_TEST (test_correlation)
{
    char dir [] = "/tmp/sheaf-correlation-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    //  A and B share minutes 1, 2, 4, 5, 7; C is twice A; D does not move
    int a_minutes [] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    double a [] = { 10, 11, 10.5, 12, 11.8, 12.5, 13, 12.2 };
    int b_minutes [] = { 1, 2, 4, 5, 7, 8 };
    double b [] = { 20, 20.5, 20.1, 21, 20.7, 22 };
    double c [8], d [8];
    for (int i = 0; i < 8; i++)
        c [i] = 2 * a [i], d [i] = 5;
    s_write_series (dir, "A", a_minutes, a, 8);
    s_write_series (dir, "B", b_minutes, b, 6);
    s_write_series (dir, "C", a_minutes, c, 8);
    s_write_series (dir, "D", a_minutes, d, 8);

    sf_actx_t ctx;
    sf_actx_init (&ctx, dir, NULL);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_str (&pk, "analyzer", "correlation");
    sf_mp_pack_kv_str (&pk, "timeframe", "1m");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_str (&pk, "symbols");
    msgpack_pack_array (&pk, 4);
    sf_mp_pack_str (&pk, "A");
    sf_mp_pack_str (&pk, "B");
    sf_mp_pack_str (&pk, "C");
    sf_mp_pack_str (&pk, "D");
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *analyzer = sf_analyzers_find ("correlation", 11, false);
    sf_actx_reset (&ctx, analyzer, &job.data, 1);
    ck_assert_msg (analyzer->analyze (&ctx) == 0, "%s", ctx.message);
    offset = 0;
    ck_assert (msgpack_unpack_next (&s_result, ctx.output.data, ctx.output.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);

    //  Expected A-B: returns between the shared minutes 1, 2, 4, 5, 7
    double sa [] = { 11, 10.5, 11.8, 12.5, 12.2 }, sb [] = { 20, 20.5, 20.1, 21, 20.7 };
    double ra [4], rb [4], ma = 0, mb = 0;
    for (int i = 0; i < 4; i++) {
        ra [i] = log (sa [i + 1] / sa [i]);
        rb [i] = log (sb [i + 1] / sb [i]);
        ma += ra [i] / 4, mb += rb [i] / 4;
    }
    double cov = 0, va = 0, vb = 0;
    for (int i = 0; i < 4; i++) {
        cov += (ra [i] - ma) * (rb [i] - mb);
        va += (ra [i] - ma) * (ra [i] - ma);
        vb += (rb [i] - mb) * (rb [i] - mb);
    }
    double ab = cov / sqrt (va * vb);
    ck_assert (s_field ("observations") == 4);
    const msgpack_object *matrix = sf_mp_get (&s_result.data, "matrix");
    ck_assert (matrix && matrix->via.array.size == 4);
    #define S_CELL(r, c) (&matrix->via.array.ptr [r].via.array.ptr [c])
    ck_assert (fabs (S_CELL (0, 1)->via.f64 - ab) < 1e-12);
    ck_assert (fabs (S_CELL (1, 0)->via.f64 - ab) < 1e-12);
    ck_assert (S_CELL (0, 0)->via.f64 == 1);
    ck_assert (fabs (S_CELL (0, 2)->via.f64 - 1) < 1e-12);        //  C moves as A
    ck_assert_int_eq (S_CELL (0, 3)->type, MSGPACK_OBJECT_NIL);    //  D does not move
    ck_assert_int_eq (S_CELL (3, 3)->type, MSGPACK_OBJECT_NIL);

    //  A symbol the data source lacks, and too few shared times
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_str (&pk, "analyzer", "correlation");
    sf_mp_pack_kv_str (&pk, "timeframe", "1m");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_str (&pk, "symbols");
    msgpack_pack_array (&pk, 2);
    sf_mp_pack_str (&pk, "A");
    sf_mp_pack_str (&pk, "ZZZ");
    offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_actx_reset (&ctx, analyzer, &job.data, 1);
    ck_assert_int_eq (analyzer->analyze (&ctx), -1);
    ck_assert_str_eq (ctx.code, "DATA_FETCH");

    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    sf_actx_destroy (&ctx);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", dir);
    ck_assert_int_eq (system (command), 0);
}
END_TEST

//  Every analyzer that reads params declares them, with defaults in range.
START_TEST (test_declarations)
{
    for (size_t i = 0; i < sf_analyzers_count (); i++) {
        const sf_analyzer_t *analyzer = sf_analyzers_at (i);
        if (streq (analyzer->name, "echo") || streq (analyzer->name, "crash"))
            continue;           //  Echo takes anything; crash reads nothing
        ck_assert_msg (analyzer->params, "%s declares no params", analyzer->name);
        for (const sf_param_t *param = analyzer->params; param->name; param++) {
            ck_assert_ptr_nonnull (param->summary);
            if (param->type == SF_PARAM_INT || param->type == SF_PARAM_REAL)
                ck_assert_msg (param->fallback >= param->min && param->fallback <= param->max,
                               "%s.%s default out of its range", analyzer->name, param->name);
            if (param->type == SF_PARAM_CHOICE)
                ck_assert_ptr_nonnull (param->choices);
        }
    }
}
END_TEST

START_TEST (test_unknown_and_mistyped_params)
{
    //  A misspelt parameter is refused, naming it and what the analyzer takes
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "rsi");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_str (&pk, "peroid");
    msgpack_pack_int (&pk, 14);
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_actx_reset (&s_ctx, sf_analyzers_find ("rsi", 3, false), &job.data, 1);
    ck_assert_int_eq (sf_actx_check_params (&s_ctx), -1);
    s_expect_failure ("BAD_INPUT", "unknown param \"peroid\" (rsi takes: period, output)");
    //  The context names it too, for programs that read errors by field
    ck_assert_str_eq (json_string_value (json_object_get (s_ctx.context, "param")), "peroid");

    //  A name that is not text is shown with '?' for each byte that is not
    //  printable ASCII; one past 64 bytes, cut
    const char *odd_names [] = {
        "p\xffr\n", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"
    };
    const char *shown [] = {
        "p?r?", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
    };
    for (int i = 0; i < 2; i++) {
        msgpack_sbuffer_clear (&buffer);
        msgpack_pack_map (&pk, 2);
        sf_mp_pack_kv_str (&pk, "analyzer", "rsi");
        sf_mp_pack_str (&pk, "params");
        msgpack_pack_map (&pk, 1);
        sf_mp_pack_str (&pk, odd_names [i]);
        msgpack_pack_int (&pk, 14);
        offset = 0;
        ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
                   == MSGPACK_UNPACK_SUCCESS);
        sf_actx_reset (&s_ctx, sf_analyzers_find ("rsi", 3, false), &job.data, 1);
        ck_assert_int_eq (sf_actx_check_params (&s_ctx), -1);
        ck_assert_str_eq (json_string_value (json_object_get (s_ctx.context, "param")), shown [i]);
        char expect [128];
        snprintf (expect, sizeof expect, "unknown param \"%s\"", shown [i]);
        s_expect_failure ("BAD_INPUT", expect);
    }

    //  A key that is not a string
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "rsi");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    msgpack_pack_int (&pk, 7);
    msgpack_pack_int (&pk, 14);
    offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_actx_reset (&s_ctx, sf_analyzers_find ("rsi", 3, false), &job.data, 1);
    ck_assert_int_eq (sf_actx_check_params (&s_ctx), -1);
    s_expect_failure ("BAD_INPUT", "param names must be strings (rsi takes: period, output)");

    //  An analyzer (a plugin, say) that reads a param it does not declare
    //  fails its job instead of taking the worker down
    sf_actx_reset (&s_ctx, sf_analyzers_find ("rsi", 3, false), &job.data, 1);
    ck_assert_int_eq (sf_actx_int (&s_ctx, "undeclared"), 0);
    s_expect_failure ("ANALYSIS", "analyzer rsi reads param \"undeclared\", which it does not "
                      "declare");
    sf_actx_reset (&s_ctx, sf_analyzers_find ("echo", 4, false), &job.data, 1);
    ck_assert (sf_actx_real (&s_ctx, "x") == 0);
    ck_assert_int_eq (sf_actx_choice (&s_ctx, "y"), 0);
    s_expect_failure ("ANALYSIS", "analyzer echo reads param \"y\"");

    //  A real where an integer is wanted
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "rsi");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_str (&pk, "period");
    msgpack_pack_double (&pk, 14.5);
    offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_actx_reset (&s_ctx, sf_analyzers_find ("rsi", 3, false), &job.data, 1);
    ck_assert_int_eq (sf_actx_check_params (&s_ctx), -1);
    s_expect_failure ("BAD_INPUT", "param \"period\" must be an integer 2-100000");
    ck_assert_str_eq (json_string_value (json_object_get (s_ctx.context, "param")), "period");
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("indicators");
    TCase *tc = tcase_create ("indicators");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_sma_ema_rsi_on_goog);
    tcase_add_test (tc, test_all_indicators_on_goog);
    tcase_add_test (tc, test_windows_on_samples);
    tcase_add_test (tc, test_flat_prices);
    tcase_add_test (tc, test_stats_on_goog);
    tcase_add_test (tc, test_report_on_goog);
    tcase_add_test (tc, test_correlation);
    tcase_add_test (tc, test_declarations);
    tcase_add_test (tc, test_unknown_and_mistyped_params);
    tcase_add_test (tc, test_hand_checked);
    tcase_add_test (tc, test_output_last);
    tcase_add_test (tc, test_bad_params_and_short_data);
    tcase_add_test (tc, test_data_source);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
