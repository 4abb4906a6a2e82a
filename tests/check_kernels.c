/*  =========================================================================
    check_kernels - the indicators' batch kernels (analyzers/indicators.h):
    on every sample in data/ and several params, a kernel gives the outputs
    of its step form run from a zero state (within 1e-9) and leaves the
    state the step form has after the same candles; a kernel over the
    first m candles gives exactly what it gives at those candles over all
    of them (its blocks and their tails agree), reading no column beyond
    m; the sliding windows (variance, extremes) against windows summed
    and scanned afresh; and every indicator is declared as the shape asks
    ========================================================================= */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyzers/indicators.h"
#include "sf_analyzers.h"
#include "sf_candles.h"
#include "suite.h"

#define S_SAMPLES 3

static const char *s_samples [S_SAMPLES] = { "GOOG_1d", "SYNTH_1m", "EDGE_1m" };

//  An indicator and the params it runs with here (a set of zeros ends a
//  list; none: its defaults only).
typedef struct {
    const char *name;           //  Indicator
    double args [4][8];         //  Up to four sets of args besides the defaults
} s_case_t;

static const s_case_t s_cases [] = {
    { "sma", { { 2 }, { 3 }, { 7 }, { 50 } } },
    { "ema", { { 2 }, { 10 }, { 50 } } },
    { "wma", { { 2 }, { 5 }, { 14 }, { 50 } } },
    { "rsi", { { 2 }, { 5 }, { 30 } } },
    { "macd", { { 3, 6, 2 }, { 5, 35, 5 }, { 12, 26, 1 } } },
    { "bbands", { { 2, 1 }, { 5, 3 }, { 50, 2 } } },
    { "atr", { { 1 }, { 2 }, { 30 } } },
    { "stoch", { { 1, 1, 1 }, { 5, 3, 3 }, { 20, 5, 7 } } },
    { "adx", { { 2 }, { 5 }, { 30 } } },
    { "cci", { { 2 }, { 5 }, { 50 } } },
    { "willr", { { 2 }, { 5 }, { 50 } } },
    { "obv", { { 0 } } },
    { "roc", { { 1 }, { 5 }, { 50 } } },
    { "mfi", { { 1 }, { 5 }, { 50 } } },
    { "stddev", { { 2 }, { 5 }, { 50 }, { 200 } } },
    { "vwap", { { 0 } } },
    { "volatility", { { 2, 1 }, { 5, 252 }, { 50, 1 } } },
    { "dema", { { 2 }, { 3 }, { 50 } } },
    { "tema", { { 2 }, { 7 }, { 30 } } },
    { "trima", { { 2 }, { 3 }, { 21 }, { 50 } } },
    { "kama", { { 2 }, { 3 }, { 30 }, { 200 } } },
    { "t3", { { 2, 0.7 }, { 3, 0 }, { 5, 1 }, { 20, 0.35 } } },
    { "midpoint", { { 2 }, { 3 }, { 50 } } },
    { "midprice", { { 2 }, { 3 }, { 50 } } },
    { "mom", { { 1 }, { 3 }, { 50 } } },
    { "rocp", { { 1 }, { 5 }, { 50 } } },
    { "rocr", { { 1 }, { 5 }, { 50 } } },
    { "ppo", { { 2, 3 }, { 26, 12 }, { 5, 50 }, { 7, 7 } } },
    { "apo", { { 2, 3 }, { 26, 12 }, { 5, 50 }, { 7, 7 } } },
    { "trix", { { 1 }, { 2 }, { 5 }, { 50 } } },
    { "cmo", { { 2 }, { 5 }, { 30 } } },
    { "bop", { { 0 } } },
    { "natr", { { 1 }, { 2 }, { 30 } } },
    { "trange", { { 0 } } },
    { "ad", { { 0 } } },
    { "adosc", { { 2, 5 }, { 10, 3 }, { 12, 26 } } },
    { "avgprice", { { 0 } } },
    { "medprice", { { 0 } } },
    { "typprice", { { 0 } } },
    { "wclprice", { { 0 } } },
    { "var", { { 1 }, { 2 }, { 20 }, { 200 } } },
    { "linearreg", { { 2 }, { 3 }, { 50 } } },
    { "linearreg_slope", { { 2 }, { 5 }, { 200 } } },
    { "linearreg_angle", { { 2 }, { 30 } } },
    { "linearreg_intercept", { { 2 }, { 7 } } },
    { "tsf", { { 2 }, { 9 }, { 100 } } },
    { "beta", { { 1 }, { 2 }, { 30 }, { 200 } } },
    { "correl", { { 1 }, { 2 }, { 5 }, { 200 } } },
    { "plus_dm", { { 2 }, { 5 }, { 30 } } },
    { "minus_dm", { { 2 }, { 5 }, { 30 } } },
    { "plus_di", { { 2 }, { 5 }, { 30 } } },
    { "minus_di", { { 2 }, { 5 }, { 30 } } },
    { "dx", { { 2 }, { 5 }, { 30 } } },
    { "adxr", { { 2 }, { 5 }, { 30 } } },
    { "sar", { { 0.01, 0.1 }, { 0.05, 0.5 }, { 0.3, 0.2 } } },
    { "sarext", { { 50, 0.01, 0.01, 0.02, 0.3, 0.03, 0.01, 0.1 }, { -60, 0.05 },
                  { 0, 0, 0.02, 0.02, 0.2, 0.02, 0.02, 0.2 } } },
    { "aroon", { { 2 }, { 5 }, { 25 }, { 200 } } },
    { "aroonosc", { { 2 }, { 5 }, { 25 }, { 200 } } },
    { "ultosc", { { 1, 2, 3 }, { 28, 7, 14 }, { 5, 5, 60 } } },
    { "stochf", { { 1, 1 }, { 14, 3 }, { 30, 7 } } },
    { "stochrsi", { { 2, 1, 1 }, { 5, 14, 3 }, { 30, 3, 9 } } },
    { "macdext", { { 12, 1, 26, 1, 9, 1 }, { 26, 2, 12, 0, 1, 1 }, { 5, 0, 35, 2, 5, 2 },
                   { 3, 1, 3, 0, 2, 0 } } },
    { "macdfix", { { 1 }, { 2 }, { 30 } } },
    { "mama", { { 0.9, 0.01 }, { 0.2, 0.1 }, { 0.05, 0.5 } } },
    { "ht_dcperiod", { { 0 } } },
    { "ht_trendline", { { 0 } } },
};
#define S_CASES (sizeof s_cases / sizeof s_cases [0])

#define S_ENTRY(name) { #name, &sf_indicator_##name },
static const struct {
    const char *name;                   //  Indicator
    const sf_indicator_t *indicator;    //  Its shape
} s_indicators [] = { SF_INDICATORS (S_ENTRY) };
#define S_INDICATORS (sizeof s_indicators / sizeof s_indicators [0])

static char s_data_dir [512];
static sf_candles_t *s_data [S_SAMPLES];

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
}

static void
s_teardown (void)
{
    for (size_t f = 0; f < S_SAMPLES; f++)
        sf_candles_destroy (&s_data [f]);
}

static const sf_indicator_t *
s_indicator (const char *name)
{
    for (size_t i = 0; i < S_INDICATORS; i++)
        if (strcmp (s_indicators [i].name, name) == 0)
            return s_indicators [i].indicator;
    ck_abort_msg ("no indicator %s", name);
    return NULL;
}

static size_t
s_outputs (const sf_indicator_t *indicator)
{
    size_t outputs = 0;
    while (outputs < SF_INDICATOR_OUTPUTS && indicator->outputs [outputs])
        outputs++;
    return outputs;
}

//  The arg sets of case c: its defaults first, then its own; returns how
//  many, each in args[set].
static size_t
s_arg_sets (const s_case_t *c, double args [5][SF_INDICATOR_ARGS])
{
    const sf_analyzer_t *analyzer = sf_analyzers_find (c->name, strlen (c->name), false);
    ck_assert_ptr_nonnull (analyzer);
    memset (args, 0, 5 * sizeof args [0]);
    size_t count = sf_series_defaults (analyzer->params, args [0]);
    size_t sets = 1;
    for (size_t s = 0; s < 4 && count; s++, sets++) {
        //  A set of zeros ends the list
        size_t zeros = 0;
        while (zeros < count && c->args [s][zeros] == 0)
            zeros++;
        if (zeros == count)
            break;
        memcpy (args [sets], c->args [s], count * sizeof (double));
    }
    return sets;
}

//  Within 1e-9, relative above 1 and absolute below.
static void
s_expect_near (const char *what, size_t i, double got, double want)
{
    double scale = fabs (want) > 1? fabs (want): 1;
    ck_assert_msg (fabs (got - want) / scale <= 1e-9, "%s[%zu] = %.17g, want %.17g", what, i,
                   got, want);
}

//  Copies of the input columns of indicator over the first size candles,
//  each exactly size doubles (so a read beyond them is caught by the
//  address sanitizer); the caller frees in[j].
static void
s_inputs (const sf_indicator_t *indicator, const sf_candles_t *candles, size_t size,
          const double **in)
{
    const double *columns [SF_INDICATOR_INPUTS];
    size_t inputs = sf_series_inputs (indicator, candles, columns);
    for (size_t j = 0; j < inputs; j++) {
        double *copy = (double *) malloc (size * sizeof (double));
        memcpy (copy, columns [j], size * sizeof (double));
        in [j] = copy;
    }
}

static void
s_free_inputs (const sf_indicator_t *indicator, const double **in)
{
    for (size_t j = 0; j < strlen (indicator->inputs); j++)
        free ((double *) in [j]);
}

//  The kernel and the step form of c's indicator on sample f with args.
static void
s_kernel_equals_step (const char *name, size_t f, const double *args)
{
    const sf_indicator_t *indicator = s_indicator (name);
    const sf_candles_t *candles = s_data [f];
    size_t size = candles->size, outputs = s_outputs (indicator);
    size_t lookback = indicator->lookback (args);
    size_t state_size = indicator->state_size (args);
    const double *in [SF_INDICATOR_INPUTS];
    s_inputs (indicator, candles, size, in);
    double *out [SF_INDICATOR_OUTPUTS];
    for (size_t k = 0; k < outputs; k++)
        out [k] = (double *) calloc (size, sizeof (double));
    double *kernel_state = (double *) calloc (state_size, sizeof (double));
    indicator->kernel (size, in, args, out, kernel_state);

    double *state = (double *) calloc (state_size, sizeof (double));
    double row [SF_INDICATOR_OUTPUTS];
    char what [128];
    for (size_t i = 0; i < size; i++) {
        indicator->step (state, i, in, i, args, row);
        for (size_t k = 0; k < outputs && i >= lookback; k++) {
            snprintf (what, sizeof what, "%s(%g,%g,%g).%s on %s", name, args [0], args [1],
                      args [2], indicator->outputs [k], s_samples [f]);
            s_expect_near (what, i, out [k][i], row [k]);
        }
    }
    for (size_t j = 0; j < state_size; j++) {
        snprintf (what, sizeof what, "%s(%g,%g,%g) state on %s", name, args [0], args [1],
                  args [2], s_samples [f]);
        s_expect_near (what, j, kernel_state [j], state [j]);
    }
    free (state);
    free (kernel_state);
    for (size_t k = 0; k < outputs; k++)
        free (out [k]);
    s_free_inputs (indicator, in);
}

START_TEST (test_kernels_equal_step_forms)
{
    size_t tested = 0;
    for (size_t c = 0; c < S_CASES; c++) {
        if (!s_indicator (s_cases [c].name)->step)
            continue;
        double args [5][SF_INDICATOR_ARGS];
        size_t sets = s_arg_sets (&s_cases [c], args);
        for (size_t f = 0; f < S_SAMPLES; f++)
            for (size_t s = 0; s < sets; s++)
                s_kernel_equals_step (s_cases [c].name, f, args [s]);
        tested++;
    }
    //  sma, ema, wma, rsi, macd, atr, obv, stddev, vwap; dema, tema, trima,
    //  kama, t3, midpoint, midprice, mom, rocp, rocr, ppo, apo, trix, cmo,
    //  bop, natr, trange, ad, adosc, avgprice, medprice, typprice, wclprice,
    //  var, linearreg, linearreg_slope, linearreg_angle, linearreg_intercept,
    //  tsf, beta, correl; plus_dm, minus_dm, plus_di, minus_di, dx, adxr, sar,
    //  sarext, aroon, aroonosc, ultosc, stochf, stochrsi, macdext, macdfix,
    //  mama, ht_dcperiod, ht_trendline
    ck_assert_uint_eq (tested, 58);
}
END_TEST

//  The kernel of c's indicator over the first m candles of sample f, for m
//  from lookback + 1 past two blocks' worth, against the kernel over all
//  of them.
static void
s_prefixes_agree (const char *name, size_t f, const double *args)
{
    const sf_indicator_t *indicator = s_indicator (name);
    const sf_candles_t *candles = s_data [f];
    size_t size = candles->size, outputs = s_outputs (indicator);
    size_t lookback = indicator->lookback (args);
    const double *in [SF_INDICATOR_INPUTS];
    s_inputs (indicator, candles, size, in);
    double *whole [SF_INDICATOR_OUTPUTS], *part [SF_INDICATOR_OUTPUTS];
    for (size_t k = 0; k < outputs; k++)
        whole [k] = (double *) calloc (size, sizeof (double));
    indicator->kernel (size, in, args, whole, NULL);
    s_free_inputs (indicator, in);
    size_t last = lookback + 2 * SF_KERNEL_BLOCK + 3;
    for (size_t m = lookback + 1; m <= last && m < size; m += m < lookback + 9? 1: 7) {
        s_inputs (indicator, candles, m, in);
        for (size_t k = 0; k < outputs; k++)
            part [k] = (double *) calloc (m, sizeof (double));
        indicator->kernel (m, in, args, part, NULL);
        for (size_t k = 0; k < outputs; k++) {
            for (size_t i = lookback; i < m; i++)
                ck_assert_msg (part [k][i] == whole [k][i] || (isnan (part [k][i])
                                                              && isnan (whole [k][i])),
                               "%s(%g,%g,%g).%s on %s: over %zu candles [%zu] = %.17g, "
                               "over all %.17g", name, args [0], args [1], args [2],
                               indicator->outputs [k], s_samples [f], m, i, part [k][i],
                               whole [k][i]);
            free (part [k]);
        }
        s_free_inputs (indicator, in);
    }
    for (size_t k = 0; k < outputs; k++)
        free (whole [k]);
}

START_TEST (test_kernel_prefixes)
{
    for (size_t c = 0; c < S_CASES; c++) {
        double args [5][SF_INDICATOR_ARGS];
        size_t sets = s_arg_sets (&s_cases [c], args);
        for (size_t f = 0; f < S_SAMPLES; f++)
            for (size_t s = 0; s < sets; s++)
                s_prefixes_agree (s_cases [c].name, f, args [s]);
    }
}
END_TEST

//  A quiet stretch after a wild one, at a high price: the sliding sums
//  cancel, so the windows must be summed afresh (the slow path of
//  sf_window_series, and sf_window_push's); every window stays within
//  1e-9 of its two-pass value, in a series and pushed value by value.
START_TEST (test_window_quiet_after_wild)
{
    size_t size = 3000, n = 20;
    double *x = (double *) malloc (size * sizeof (double));
    unsigned seed = 7;
    for (size_t i = 0; i < size; i++) {
        double noise = (double) rand_r (&seed) / RAND_MAX - 0.5;
        bool wild = (i / 500) % 2 == 0;
        x [i] = 1e6 + (wild? 1e4: 1e-2) * noise;
    }
    double *deviation = (double *) calloc (size, sizeof (double));
    double *mean = (double *) calloc (size, sizeof (double));
    double *w = (double *) calloc (SF_WINDOW_SIZE (n), sizeof (double));
    double *pushed = (double *) calloc (SF_WINDOW_SIZE (n), sizeof (double));
    sf_window_series (x, size, n, 1, 1.0, deviation, mean, NULL, w);
    for (size_t i = 0; i < size; i++) {
        sf_window_push (pushed, n, i, x [i]);
        if (i + 1 < n)
            continue;
        double average = 0, squares = 0;
        for (size_t j = i + 1 - n; j <= i; j++)
            average += x [j] / (double) n;
        for (size_t j = i + 1 - n; j <= i; j++)
            squares += (x [j] - average) * (x [j] - average);
        double want = sqrt (squares / (double) (n - 1));
        ck_assert_msg (fabs (deviation [i] - want) <= 1e-9 * want, "deviation[%zu] = %.17g, "
                       "want %.17g", i, deviation [i], want);
        ck_assert (fabs (mean [i] - average) <= 1e-9 * average);
        double step = sqrt (sf_window_variance (pushed, n, 1));
        ck_assert_msg (fabs (step - want) <= 1e-9 * want, "pushed [%zu] = %.17g, want %.17g",
                       i, step, want);
    }
    for (size_t j = 0; j < SF_WINDOW_SIZE (n); j++)
        s_expect_near ("window", j, w [j], pushed [j]);
    free (x);
    free (deviation);
    free (mean);
    free (w);
    free (pushed);
}
END_TEST

//  The extremes of sliding windows against every window scanned, for
//  windows of 1 up to longer than the blocks, over series ending anywhere
//  in a block.
START_TEST (test_window_extremes)
{
    static const size_t lengths [] = { 1, 2, 3, 7, 14, 50, 200 };
    for (size_t f = 0; f < S_SAMPLES; f++)
        for (size_t l = 0; l < sizeof lengths / sizeof lengths [0]; l++) {
            size_t n = lengths [l];
            for (size_t size = n; size <= 3 * n + 5 && size <= s_data [f]->size; size++) {
                const double *high = s_data [f]->high, *low = s_data [f]->low;
                double *top = (double *) calloc (size, sizeof (double));
                double *bottom = (double *) calloc (size, sizeof (double));
                sf_window_extremes (high, low, size, n, top, bottom);
                for (size_t i = n - 1; i < size; i++) {
                    double largest = high [i], smallest = low [i];
                    for (size_t j = i + 1 - n; j < i; j++) {
                        largest = fmax (largest, high [j]);
                        smallest = fmin (smallest, low [j]);
                    }
                    ck_assert_msg (top [i] == largest && bottom [i] == smallest,
                                   "%s n=%zu size=%zu [%zu]: %g %g, want %g %g", s_samples [f],
                                   n, size, i, top [i], bottom [i], largest, smallest);
                }
                free (top);
                free (bottom);
            }
        }
}
END_TEST

//  Every indicator has an analyzer of its name that declares "output",
//  names its inputs in o, h, l, c, v, has a step form only with a state
//  size, and is tested here.
START_TEST (test_declarations)
{
    ck_assert_uint_eq (S_INDICATORS, S_CASES);
    for (size_t i = 0; i < S_INDICATORS; i++) {
        const sf_indicator_t *indicator = s_indicators [i].indicator;
        const char *name = s_indicators [i].name;
        ck_assert_str_eq (s_cases [i].name, name);
        const sf_analyzer_t *analyzer = sf_analyzers_find (name, strlen (name), false);
        ck_assert_msg (analyzer, "indicator %s has no analyzer", name);
        bool output = false;
        for (const sf_param_t *param = analyzer->params; param->name; param++)
            output |= strcmp (param->name, "output") == 0;
        ck_assert_msg (output, "%s does not declare \"output\"", name);
        ck_assert (strlen (indicator->inputs) > 0);
        ck_assert (strlen (indicator->inputs) <= SF_INDICATOR_INPUTS);
        ck_assert_uint_eq (strspn (indicator->inputs, "ohlcv"), strlen (indicator->inputs));
        ck_assert (s_outputs (indicator) > 0);
        ck_assert (indicator->lookback && indicator->kernel);
        ck_assert_msg ((indicator->step == NULL) == (indicator->state_size == NULL),
                       "%s: a step form goes with a state size", name);
    }
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("kernels");
    TCase *tc = tcase_create ("kernels");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_declarations);
    tcase_add_test (tc, test_kernels_equal_step_forms);
    tcase_add_test (tc, test_kernel_prefixes);
    tcase_add_test (tc, test_window_quiet_after_wild);
    tcase_add_test (tc, test_window_extremes);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
