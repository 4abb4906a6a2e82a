/*  =========================================================================
    sf_series - what every indicator analyzer shares
    ========================================================================= */

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_alloc.h"
#include "sf_codec.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_series.h"
#include "sf_state.h"
#include "analyzers/indicators.h"

double *
sf_series_alloc (size_t size)
{
    return (double *) sf_alloc_array (size, sizeof (double));
}

int
sf_series_candles (sf_actx_t *ctx, size_t lookback, sf_candles_t **candles_p)
{
    if (sf_actx_candles (ctx, candles_p))
        return -1;
    if ((*candles_p)->size <= lookback) {
        sf_actx_context_int (ctx, "candles", (int64_t) (*candles_p)->size);
        sf_actx_context_int (ctx, "needed", (int64_t) lookback + 1);
        sf_actx_fail (ctx, "INSUFFICIENT_DATA", "%zu candles, at least %zu needed",
                      (*candles_p)->size, lookback + 1);
        sf_candles_destroy (candles_p);
        return -1;
    }
    return 0;
}

void
sf_series_pack (sf_actx_t *ctx, const sf_candles_t *candles, size_t lookback, bool last,
                const char *const *names, const double **outputs, size_t count)
{
    msgpack_packer *pk = sf_actx_output (ctx);
    msgpack_pack_map (pk, count + 1);
    sf_mp_pack_str (pk, "ts");
    size_t size = candles->size;
    if (last)
        msgpack_pack_int64 (pk, (int64_t) candles->ts [size - 1]);
    else {
        msgpack_pack_array (pk, size);
        for (size_t i = 0; i < size; i++)
            msgpack_pack_int64 (pk, (int64_t) candles->ts [i]);
    }
    for (size_t k = 0; k < count; k++) {
        sf_mp_pack_str (pk, names [k]);
        if (last) {
            msgpack_pack_double (pk, outputs [k][size - 1]);
            continue;
        }
        msgpack_pack_array (pk, size);
        for (size_t i = 0; i < size; i++)
            if (i < lookback)
                msgpack_pack_nil (pk);
            else
                msgpack_pack_double (pk, outputs [k][i]);
    }
}

//  --------------------------------------------------------------------------
//  Indicators.

size_t
sf_series_defaults (const sf_param_t *params, double *args)
{
    size_t count = 0;
    for (const sf_param_t *param = params; param && param->name; param++)
        if (param->type == SF_PARAM_INT || param->type == SF_PARAM_REAL) {
            assert (count < SF_INDICATOR_ARGS);
            args [count++] = param->fallback;
        }
    return count;
}

//  The job's values of the running analyzer's INT and REAL params, in
//  order, into args.
static void
s_args (sf_actx_t *ctx, double *args)
{
    size_t count = 0;
    for (const sf_param_t *param = ctx->analyzer->params; param && param->name; param++)
        if (param->type == SF_PARAM_INT) {
            assert (count < SF_INDICATOR_ARGS);
            args [count++] = (double) sf_actx_int (ctx, param->name);
        }
        else
        if (param->type == SF_PARAM_REAL) {
            assert (count < SF_INDICATOR_ARGS);
            args [count++] = sf_actx_real (ctx, param->name);
        }
}

//  The column of candles a letter of an indicator's inputs names.
static const double *
s_column (const sf_candles_t *candles, char letter)
{
    switch (letter) {
        case 'o': return candles->open;
        case 'h': return candles->high;
        case 'l': return candles->low;
        case 'c': return candles->close;
        case 'v': return candles->volume;
        default:  assert (!"an input letter of o, h, l, c, v");
    }
    return NULL;
}

size_t
sf_series_inputs (const sf_indicator_t *indicator, const sf_candles_t *candles,
                  const double **in)
{
    size_t count = strlen (indicator->inputs);
    assert (count <= SF_INDICATOR_INPUTS);
    for (size_t j = 0; j < count; j++)
        in [j] = s_column (candles, indicator->inputs [j]);
    return count;
}

//  Pack an empty result: the state's last values (last), or empty series.
static void
s_pack_nothing (sf_actx_t *ctx, const char *const *names, size_t outputs, bool last,
                double ts, const double *values)
{
    msgpack_packer *pk = sf_actx_output (ctx);
    msgpack_pack_map (pk, outputs + 1);
    sf_mp_pack_str (pk, "ts");
    if (last)
        msgpack_pack_int64 (pk, (int64_t) ts);
    else
        msgpack_pack_array (pk, 0);
    for (size_t k = 0; k < outputs; k++)
        if (last)
            sf_mp_pack_kv_double (pk, names [k], values [k]);
        else {
            sf_mp_pack_str (pk, names [k]);
            msgpack_pack_array (pk, 0);
        }
}

int
sf_series_run (sf_actx_t *ctx, const sf_indicator_t *indicator)
{
    return sf_series_run_from (ctx, indicator, NULL);
}

int
sf_series_run_from (sf_actx_t *ctx, const sf_indicator_t *indicator,
                    sf_series_source_fn *source)
{
    bool last = sf_actx_choice (ctx, "output") == 1;
    double args [SF_INDICATOR_ARGS] = { 0 };
    s_args (ctx, args);
    size_t lookback = indicator->lookback (args);
    size_t outputs = 0;
    while (outputs < SF_INDICATOR_OUTPUTS && indicator->outputs [outputs])
        outputs++;
    //  State values: the last outputs, then the step form's state
    bool stateful = indicator->step != NULL;
    size_t count = stateful? outputs + indicator->state_size (args): 0;
    double *values = stateful? sf_series_alloc (count): NULL;
    sf_state_head_t head = { .params = 0, .ts = 0, .seen = 0 };
    size_t blob_size;
    const void *blob = stateful? sf_actx_state (ctx, &blob_size): NULL;
    bool resumed = false;
    if (blob) {
        const char *why = NULL;
        uint64_t params = sf_state_params_hash (ctx);
        if (sf_state_read (blob, blob_size, ctx->analyzer, params, &head, values, count, &why)
        ||  head.seen <= lookback) {
            sf_log_debug ("worker: %s recomputes in full: %s", ctx->analyzer->name,
                          why? why: "a state before the first output");
            memset (values, 0, count * sizeof (double));
            head.ts = 0;
            head.seen = 0;
        }
        else
            resumed = true;
    }
    sf_candles_t *candles;
    int rc = indicator->check? indicator->check (ctx, args, NULL): 0;
    if (rc == 0 && source)
        rc = source (ctx, resumed, head.ts, lookback, &candles);
    else
    if (rc == 0)
        rc = resumed? sf_actx_candles_after (ctx, head.ts, &candles)
                    : sf_series_candles (ctx, lookback, &candles);
    if (rc == 0 && indicator->check && indicator->check (ctx, args, candles)) {
        sf_candles_destroy (&candles);
        rc = -1;
    }
    if (rc) {
        free (values);
        return -1;
    }
    size_t size = candles->size;
    const double *in [SF_INDICATOR_INPUTS];
    sf_series_inputs (indicator, candles, in);
    //  Not zeroed: the kernel fills lookback .. size - 1 and nothing packs
    //  the values before
    double *out [SF_INDICATOR_OUTPUTS];
    for (size_t k = 0; k < outputs; k++) {
        out [k] = (double *) malloc ((size? size: 1) * sizeof (double));
        if (!out [k])
            abort ();
    }
    bool wants_state = stateful && sf_actx_wants_state (ctx);
    if (resumed) {
        double *state = values + outputs;
        double row [SF_INDICATOR_OUTPUTS] = { 0 };
        for (size_t i = 0; i < size; i++) {
            indicator->step (state, head.seen++, in, i, args, row);
            for (size_t k = 0; k < outputs; k++)
                out [k][i] = values [k] = row [k];
        }
    }
    else {
        indicator->kernel (size, in, args, out, wants_state? values + outputs: NULL);
        head.seen = size;
        for (size_t k = 0; k < outputs && stateful; k++)
            values [k] = out [k][size - 1];
    }
    if (size > 0)
        head.ts = candles->ts [size - 1];

    if (size == 0)
        s_pack_nothing (ctx, indicator->outputs, outputs, last, head.ts, values);
    else
        //  A resumed state is past the lookback (checked above): no nulls
        sf_series_pack (ctx, candles, resumed? 0: lookback, last, indicator->outputs,
                        (const double **) out, outputs);
    if (wants_state) {
        head.params = sf_state_params_hash (ctx);
        msgpack_sbuffer blob_out;
        msgpack_sbuffer_init (&blob_out);
        sf_state_pack (&blob_out, ctx->analyzer, &head, values, count);
        //  Never above the wire's limit (declared periods keep far below it)
        if (blob_out.size <= SF_STATE_MAX)
            sf_actx_set_state (ctx, blob_out.data, blob_out.size);
        msgpack_sbuffer_destroy (&blob_out);
    }
    for (size_t k = 0; k < outputs; k++)
        free (out [k]);
    free (values);
    sf_candles_destroy (&candles);
    return 0;
}

//  --------------------------------------------------------------------------
//  Extremes of sliding windows (van Herk and Gil-Werman). The values are cut
//  into blocks of n from the first; a window ending at i, r = i mod n into
//  its block, is the end of the block before from r + 1 and the start of
//  its own up to r. So its largest is the larger of that block's largest
//  from r + 1 on (a running maximum from the block's end) and its own
//  block's largest up to r (a running maximum from the start): three
//  comparisons a value, no branch on the data, however the data run.

void
sf_window_extremes (const double *x, const double *y, size_t size, size_t n, double *top,
                    double *bottom)
{
    assert (size >= n);
    //  From each block: running extremes from its start, and from its end
    //  (kept for the block after)
    double *rising = sf_kernel_scratch (4 * n);
    double *falling = rising + n, *ending_top = rising + 2 * n, *ending_bottom = rising + 3 * n;
    for (size_t start = 0; start < size; start += n) {
        size_t length = size - start < n? size - start: n;
        const double *bx = x + start, *by = y + start;
        double high = bx [0], low = by [0];
        for (size_t r = 0; r < length; r++) {
            high = bx [r] > high? bx [r]: high;
            low = by [r] < low? by [r]: low;
            rising [r] = high;
            falling [r] = low;
        }
        if (start == 0) {
            if (length == n) {
                top [n - 1] = rising [n - 1];
                bottom [n - 1] = falling [n - 1];
            }
        }
        else {
            size_t joined = length < n - 1? length: n - 1;
            for (size_t r = 0; r < joined; r++) {
                double a = ending_top [r + 1], b = ending_bottom [r + 1];
                top [start + r] = a > rising [r]? a: rising [r];
                bottom [start + r] = b < falling [r]? b: falling [r];
            }
            if (length == n) {
                top [start + n - 1] = rising [n - 1];
                bottom [start + n - 1] = falling [n - 1];
            }
        }
        if (length < n)
            break;
        high = bx [n - 1], low = by [n - 1];
        for (size_t r = n; r-- > 0; ) {
            high = bx [r] > high? bx [r]: high;
            low = by [r] < low? by [r]: low;
            ending_top [r] = high;
            ending_bottom [r] = low;
        }
    }
    free (rising);
}

//  --------------------------------------------------------------------------
//  Sliding windows. w[0] is the shift K, w[1] the sum s1 of x - K, w[2]
//  the sum s2 of (x - K)^2, w[3] a bound on the rounding error the sums
//  gathered since they were last summed afresh (times 1e9, see
//  s_window_slide), w[4 ..] the last n values, value seen at seen % n.
//  sf_window_push and sf_window_series share the arithmetic below, so that
//  a window pushed value by value and one run over a series hold the same
//  sums.

//  Values between two afresh sums: the smallest multiple of n from 1024
//  on, so that the O(n) sum costs little a value and the ring holds the
//  window in order when it comes (seen + 1 a multiple of n).
static size_t
s_window_every (size_t n)
{
    return n * ((1024 + n - 1) / n);
}

//  Sum a window afresh in two passes from its values in order: a[0 ..
//  a_size-1], then b[0 .. n-a_size-1] (a ring cut at its oldest value).
//  Deviations go to four partial sums by position, so that a window in one
//  piece (a_size n) is summed in the unrolled loop, and a ring cut
//  anywhere gives the very same sums as that window.
static void
s_window_afresh (double *sums, size_t n, const double *a, size_t a_size, const double *b)
{
    double mean = (sf_kernel_sum (a, a_size) + sf_kernel_sum (b, n - a_size)) / (double) n;
    double sum [4] = { 0 }, squares [4] = { 0 };
    size_t j = 0;
    if (a_size == n)
        for (; j + 4 <= n; j += 4)
            for (size_t u = 0; u < 4; u++) {
                double d = a [j + u] - mean;
                sum [u] += d;
                squares [u] += d * d;
            }
    for (; j < n; j++) {
        double d = (j < a_size? a [j]: b [j - a_size]) - mean;
        sum [j & 3] += d;
        squares [j & 3] += d * d;
    }
    sums [0] = mean;
    sums [1] = (sum [0] + sum [1]) + (sum [2] + sum [3]);
    sums [2] = (squares [0] + squares [1]) + (squares [2] + squares [3]);
    sums [3] = 0;
}

//  The factors of a slide's rounding bound for windows of n: each update
//  rounds a few times at the size of its terms, in^2 + out^2 + |s2| +
//  2 |s1| (|in| + |out|) / n, which is at most (1 + 2/n) (in^2 + out^2) +
//  2 |s2| (as s1^2 / n <= s2). Times 1e9: the window is summed afresh when
//  what is left after the cancellation is not 1e9 times the bound, so a
//  value never strays more than about 1e-9 from the two-pass one.
static void
s_window_factors (size_t n, double *squares, double *sum)
{
    *squares = 4 * DBL_EPSILON * (1 + 2.0 / (double) n) * 1e9;
    *sum = 8 * DBL_EPSILON * 1e9;
}

//  Slide a window's sums (shift k, s1, s2, the bound): x comes in, old
//  goes out. Returns true when the window must be summed afresh.
static inline bool
s_window_slide (double k, double *s1, double *s2, double *bound, double x, double old,
                double inv_n, double squares, double sum)
{
    double in = x - k, out = old - k;
    double in2 = in * in, out2 = out * out;
    *s1 += in - out;
    *s2 += in2 - out2;
    *bound += squares * (in2 + out2) + sum * fabs (*s2);
    return *s2 - *s1 * *s1 * inv_n <= *bound;
}

void
sf_window_push (double *w, size_t n, uint64_t seen, double x)
{
    double *ring = w + 4;
    size_t slot = (size_t) (seen % n);
    double old = ring [slot];
    ring [slot] = x;
    if (seen + 1 < n)
        return;                 //  Not full yet
    double squares, sum;
    s_window_factors (n, &squares, &sum);
    if (seen + 1 == n || (seen + 1 - n) % s_window_every (n) == 0)
        s_window_afresh (w, n, ring, n, NULL);
    else
    if (s_window_slide (w [0], &w [1], &w [2], &w [3], x, old, 1.0 / (double) n, squares, sum))
        s_window_afresh (w, n, ring + slot + 1, n - slot - 1, ring);
}

double
sf_window_mean (const double *w, size_t n)
{
    return w [0] + w [1] * (1.0 / (double) n);
}

double
sf_window_variance (const double *w, size_t n, size_t ddof)
{
    double left = w [2] - w [1] * w [1] * (1.0 / (double) n);
    double variance = left * (1.0 / (double) (n - ddof));
    return variance < 1e-14? 0.0: variance;
}

//  The outputs of count windows from what the sliding pass kept: left
//  (s2 - s1^2 / n), s1 and the shift (shift[b], or k for all when shift is
//  NULL); see sf_window_series for deviation, mean and lower. Inlined with
//  count SF_KERNEL_BLOCK, the loops vectorise.
static inline void
s_window_outputs (size_t count, const double *left, const double *s1, const double *shift,
                  double k, double inv_n, double inv_divisor, double scale,
                  double *restrict deviation, double *restrict mean, double *restrict lower)
{
    for (size_t b = 0; b < count; b++) {
        double variance = left [b] * inv_divisor;
        variance = variance < 1e-14? 0.0: variance;
        deviation [b] = scale * sqrt (variance);
    }
    if (mean && shift)
        for (size_t b = 0; b < count; b++)
            mean [b] = shift [b] + s1 [b] * inv_n;
    else
    if (mean)
        for (size_t b = 0; b < count; b++)
            mean [b] = k + s1 [b] * inv_n;
    if (mean && lower)
        for (size_t b = 0; b < count; b++) {
            lower [b] = mean [b] - deviation [b];
            deviation [b] = mean [b] + deviation [b];
        }
}

//  The outputs of a block of SF_KERNEL_BLOCK windows of one shift k.
static SF_KERNEL_CLONES void
s_window_block (const double *left, const double *s1, double k, double inv_n,
                double inv_divisor, double scale, double *deviation, double *mean,
                double *lower)
{
    s_window_outputs (SF_KERNEL_BLOCK, left, s1, NULL, k, inv_n, inv_divisor, scale,
                      deviation, mean, lower);
}

//  What the bound of a block of SF_KERNEL_BLOCK slides gains, from the
//  values in (x) and out (x - n) about the shift k, s1 and s2; with left =
//  s2 - s1^2 / n of each into left, and the least of those into *lowest.
//  Four partial sums and minima, so that the loop vectorises.
static SF_KERNEL_CLONES double
s_window_gain (const double *x, size_t n, double k, const double *s1, const double *s2,
               double inv_n, double squares, double sum, double *restrict left,
               double *lowest)
{
    double gain [4] = { 0 }, least [4] = { INFINITY, INFINITY, INFINITY, INFINITY };
    for (size_t b = 0; b < SF_KERNEL_BLOCK; b += 4)
        for (size_t u = 0; u < 4; u++) {
            double in = x [b + u] - k, out = x [b + u - n] - k;
            double value = s2 [b + u] - s1 [b + u] * s1 [b + u] * inv_n;
            left [b + u] = value;
            gain [u] += squares * (in * in + out * out) + sum * fabs (s2 [b + u]);
            least [u] = value < least [u]? value: least [u];
        }
    least [0] = least [1] < least [0]? least [1]: least [0];
    least [2] = least [3] < least [2]? least [3]: least [2];
    *lowest = least [2] < least [0]? least [2]: least [0];
    return (gain [0] + gain [1]) + (gain [2] + gain [3]);
}

void
sf_window_series (const double *x, size_t size, size_t n, size_t ddof, double scale,
                  double *deviation, double *mean, double *lower, double *w)
{
    assert (size >= n && n > ddof);
    double inv_n = 1.0 / (double) n, inv_divisor = 1.0 / (double) (n - ddof);
    double squares, sum;
    s_window_factors (n, &squares, &sum);
    size_t every = s_window_every (n);
    //  The sums live in registers; an afresh sum goes through fresh
    double k = 0, s1 = 0, s2 = 0, bound = 0, fresh [4];
    double left [SF_KERNEL_BLOCK], shift [SF_KERNEL_BLOCK], sum1 [SF_KERNEL_BLOCK];
    double sum2 [SF_KERNEL_BLOCK];
    //  Segments run from one regular afresh sum to the next; a block never
    //  crosses one, so that its bound starts from the segment's
    for (size_t i = n - 1; i < size; ) {
        s_window_afresh (fresh, n, x + i + 1 - n, n, NULL);
        k = fresh [0], s1 = fresh [1], s2 = fresh [2], bound = fresh [3];
        left [0] = s2 - s1 * s1 * inv_n;
        shift [0] = k;
        sum1 [0] = s1;
        s_window_outputs (1, left, sum1, shift, k, inv_n, inv_divisor, scale, deviation + i,
                          mean? mean + i: NULL, lower? lower + i: NULL);
        size_t end = i + every < size? i + every: size;
        for (i++; i < end; ) {
            size_t count = end - i < SF_KERNEL_BLOCK? end - i: SF_KERNEL_BLOCK;
            bool fast = count == SF_KERNEL_BLOCK;
            if (fast) {
                //  Slide the block without its bound, then check all of it
                //  against the bound at its end (which no slide's exceeds)
                double s1_was = s1, s2_was = s2;
                for (size_t b = 0; b < SF_KERNEL_BLOCK; b++) {
                    double in = x [i + b] - k, out = x [i + b - n] - k;
                    s1 += in - out;
                    s2 += in * in - out * out;
                    sum2 [b] = s2;
                    sum1 [b] = s1;
                }
                double lowest;
                double reached = bound + s_window_gain (x + i, n, k, sum1, sum2, inv_n,
                                                        squares, sum, left, &lowest);
                fast = lowest > reached;
                if (fast) {
                    bound = reached;
                    s_window_block (left, sum1, k, inv_n, inv_divisor, scale, deviation + i,
                                    mean? mean + i: NULL, lower? lower + i: NULL);
                }
                else {
                    s1 = s1_was;
                    s2 = s2_was;
                }
            }
            if (!fast)
                //  Slide by slide, as sf_window_push does
                for (size_t b = 0; b < count; b++) {
                    size_t at = i + b;
                    if (s_window_slide (k, &s1, &s2, &bound, x [at], x [at - n], inv_n,
                                        squares, sum)) {
                        s_window_afresh (fresh, n, x + at + 1 - n, n, NULL);
                        k = fresh [0], s1 = fresh [1], s2 = fresh [2], bound = fresh [3];
                    }
                    left [b] = s2 - s1 * s1 * inv_n;
                    shift [b] = k;
                    sum1 [b] = s1;
                }
            if (!fast)
                s_window_outputs (count, left, sum1, shift, k, inv_n, inv_divisor, scale,
                                  deviation + i, mean? mean + i: NULL,
                                  lower? lower + i: NULL);
            i += count;
        }
    }
    if (w) {
        w [0] = k;
        w [1] = s1;
        w [2] = s2;
        w [3] = bound;
        for (size_t j = size - n; j < size; j++)
            w [4 + j % n] = x [j];
    }
}
