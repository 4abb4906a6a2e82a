/*  =========================================================================
    indicators.h - the shape every indicator is written in: a lookback, a
    batch kernel and, when it can continue from a state, a step form; and
    the list of the indicators written in it

    An indicator is one file in worker/analyzers/ that defines, besides its
    analyzer (sheaf_analyzer.h, listed in registry.h), one constant
    sf_indicator_t named sf_indicator_<name>, listed once in SF_INDICATORS
    below; its analyze is `return sf_series_run (ctx, &sf_indicator_<name>);`.

    - args are the analyzer's declared INT and REAL params as doubles, in
      the order they are declared (sf_series_run reads them from the job;
      sf_series_defaults gives the declared defaults). Every indicator
      also declares SF_PARAM_OUTPUT.
    - in[] are the candle columns the indicator names in `inputs`, one
      letter each (o, h, l, c, v), in that order.
    - out[k] is its k-th output, aligned with the candles: values at
      lookback .. size - 1 (the first lookback hold nothing of use).

    The kernel is the full computation, a plain loop over arrays: no
    function pointer, state struct or allocation per candle (scratch
    arrays, when it needs them, once per call); locals, not memory, for
    what runs from candle to candle; sliding windows as running sums
    updated in O(1) and summed afresh at fixed multiples of the window
    length (so rounding never builds up). Work whose iterations are
    independent goes in blocks of SF_KERNEL_BLOCK candles, a trip count
    the compiler vectorises at -O2: an inline function over count candles,
    called with SF_KERNEL_BLOCK from a SF_KERNEL_CLONES wrapper for whole
    blocks and with the rest for the tail. A division that only one arm
    of a choice uses goes in a loop of its own before the choice (else the
    compiler moves it into a branch and does not vectorise the loop), and
    a choice that depends on the data is a select or a 0/1 factor, never a
    branch the data can mispredict.

    The step form folds one candle into a bounded array of doubles, for
    jobs that continue from a state (docs/PROTOCOL.md 4.5.3); the kernel,
    asked for it, leaves the state the step form would have after the same
    candles, and the two agree to 1e-9 (tests/check_kernels.c). Both keep
    TA-Lib's warm-up, seeds and outputs wherever TA-Lib has the indicator.
    ========================================================================= */

#ifndef SF_INDICATORS_H_INCLUDED
#define SF_INDICATORS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "sf_series.h"

#define SF_INDICATOR_ARGS 8     //  Params an indicator takes, at most
#define SF_INDICATOR_INPUTS 5   //  Candle columns an indicator reads, at most
#define SF_INDICATOR_OUTPUTS 4  //  Outputs an indicator gives, at most
#define SF_KERNEL_BLOCK 128     //  Candles a kernel's vectorised pass takes at once

//  Marks a function over a whole block (SF_KERNEL_BLOCK candles) whose
//  loops the compiler also vectorises for AVX2, the version run picked
//  once at load time by what the CPU has (x86-64; a plain function
//  elsewhere). The results are the same bits: the same IEEE operations,
//  only more at once.
#if defined (__x86_64__) && (defined (__GNUC__) || defined (__clang__))
#   define SF_KERNEL_CLONES __attribute__ ((target_clones ("avx2", "default")))
#else
#   define SF_KERNEL_CLONES
#endif

//  The candles before the first output, or the doubles of state, for args.
typedef size_t (sf_count_fn) (const double *args);

//  Compute size candles from the first (size > lookback): in[j] the j-th
//  input column, out[k] the k-th output, each size doubles. When state is
//  not NULL (only for an indicator with a step form) it receives the step
//  form's state after these size candles.
typedef void (sf_kernel_fn) (size_t size, const double *const *in, const double *args,
                             double *const *out, double *state);

//  Fold candle i of in[], the seen-th candle of the series (from 0), into
//  state (all zeros before the first) and write each output at that candle
//  into out[k] (not used while seen < lookback).
typedef void (sf_step_fn) (double *state, uint64_t seen, const double *const *in, size_t i,
                           const double *args, double *out);

//  Checks the job's args, then its candles, before the computation: called
//  with candles NULL before they are read, then with them (a continuation's
//  new candles, maybe none). Returns 0, or -1 after failing the job
//  (BAD_INPUT naming what is wrong).
typedef int (sf_check_fn) (sf_actx_t *ctx, const double *args, const sf_candles_t *candles);

struct _sf_indicator_t {
    const char *inputs;         //  Candle columns read, one letter each ("c", "hlc")
    const char *outputs [SF_INDICATOR_OUTPUTS + 1];     //  Output names, NULL-ended
    sf_count_fn *lookback;      //  Candles before the first output
    sf_kernel_fn *kernel;       //  The full computation
    sf_count_fn *state_size;    //  Doubles of step state, or NULL: no step form
    sf_step_fn *step;           //  One candle, or NULL: no step form
    sf_check_fn *check;         //  Optional: refuses candles or args
};

//  The indicators: X (name) once each.
#define SF_INDICATORS(X)                                                       \
    X (sma)                                                                    \
    X (ema)                                                                    \
    X (wma)                                                                    \
    X (rsi)                                                                    \
    X (macd)                                                                   \
    X (bbands)                                                                 \
    X (atr)                                                                    \
    X (stoch)                                                                  \
    X (adx)                                                                    \
    X (cci)                                                                    \
    X (willr)                                                                  \
    X (obv)                                                                    \
    X (roc)                                                                    \
    X (mfi)                                                                    \
    X (stddev)                                                                 \
    X (vwap)                                                                   \
    X (volatility)                                                             \
    X (dema)                                                                   \
    X (tema)                                                                   \
    X (trima)                                                                  \
    X (kama)                                                                   \
    X (t3)                                                                     \
    X (midpoint)                                                               \
    X (midprice)                                                               \
    X (mom)                                                                    \
    X (rocp)                                                                   \
    X (rocr)                                                                   \
    X (ppo)                                                                    \
    X (apo)                                                                    \
    X (trix)                                                                   \
    X (cmo)                                                                    \
    X (bop)                                                                    \
    X (natr)                                                                   \
    X (trange)                                                                 \
    X (ad)                                                                     \
    X (adosc)                                                                  \
    X (avgprice)                                                               \
    X (medprice)                                                               \
    X (typprice)                                                               \
    X (wclprice)                                                               \
    X (var)                                                                    \
    X (linearreg)                                                              \
    X (linearreg_slope)                                                        \
    X (linearreg_angle)                                                        \
    X (linearreg_intercept)                                                    \
    X (tsf)                                                                    \
    X (beta)                                                                   \
    X (correl)                                                                 \
    X (plus_dm)                                                                \
    X (minus_dm)                                                               \
    X (plus_di)                                                                \
    X (minus_di)                                                               \
    X (dx)                                                                     \
    X (adxr)                                                                   \
    X (sar)                                                                    \
    X (sarext)                                                                 \
    X (aroon)                                                                  \
    X (aroonosc)                                                               \
    X (ultosc)                                                                 \
    X (stochf)                                                                 \
    X (stochrsi)                                                               \
    X (macdext)                                                                \
    X (macdfix)                                                                \
    X (mama)                                                                   \
    X (ht_dcperiod)                                                            \
    X (ht_trendline)

#define SF_INDICATOR_DECLARE(name) extern const sf_indicator_t sf_indicator_##name;
SF_INDICATORS (SF_INDICATOR_DECLARE)

//  --------------------------------------------------------------------------
//  What kernels and step forms share.

//  Sum of x[0 .. n-1] in four interleaved partial sums, so that summing a
//  window afresh is not one chain of n dependent additions. A kernel and
//  its step form sum a window through this one function, so they round
//  alike.
static inline double
sf_kernel_sum (const double *x, size_t n)
{
    double a = 0, b = 0, c = 0, d = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        a += x [j];
        b += x [j + 1];
        c += x [j + 2];
        d += x [j + 3];
    }
    for (; j < n; j++)
        a += x [j];
    return (a + b) + (c + d);
}

//  Scratch room for size doubles, not zeroed (aborts when out of memory);
//  the caller frees it.
static inline double *
sf_kernel_scratch (size_t size)
{
    double *scratch = (double *) malloc ((size? size: 1) * sizeof (double));
    if (!scratch)
        abort ();
    return scratch;
}

//  The mean of every window of n values of x ending at first .. size - 1
//  (first >= n - 1) into out: a running sum, summed afresh at first,
//  first + n, first + 2n, …
static inline void
sf_kernel_mean (const double *x, size_t size, size_t n, size_t first, double *out)
{
    double inv = 1.0 / (double) n;
    for (size_t i = first; i < size; i += n) {
        double sum = sf_kernel_sum (x + i + 1 - n, n);
        out [i] = sum * inv;
        size_t end = i + n < size? i + n: size;
        for (size_t j = i + 1; j < end; j++) {
            sum += x [j] - x [j - n];
            out [j] = sum * inv;
        }
    }
}

//  True range of candle i > 0 (finite prices: the comparisons are max).
static inline double
sf_kernel_true_range (const double *high, const double *low, const double *close, size_t i)
{
    double range = high [i] - low [i];
    double up = high [i] - close [i - 1], down = low [i] - close [i - 1];
    up = up < 0? -up: up;
    down = down < 0? -down: down;
    range = up > range? up: range;
    return down > range? down: range;
}

#endif
