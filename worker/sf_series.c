/*  =========================================================================
    sf_series - what every indicator analyzer shares
    ========================================================================= */

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_codec.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_series.h"
#include "sf_state.h"
#include "analyzers/indicators.h"

double *
sf_series_alloc (size_t size)
{
    double *values = (double *) calloc (size? size: 1, sizeof (double));
    if (!values)
        abort ();
    return values;
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
//  Streams.

//  The state values: the last outputs, then the stream's own state.
#define S_OUTPUTS_MAX 4

int
sf_series_stream (sf_actx_t *ctx, const sf_stream_t *stream, bool last)
{
    assert (stream->outputs <= S_OUTPUTS_MAX);
    size_t count = stream->outputs + stream->state_size;
    double *values = sf_series_alloc (count);
    sf_state_head_t head = { .params = sf_state_params_hash (ctx), .ts = 0, .seen = 0 };
    size_t blob_size;
    const void *blob = sf_actx_state (ctx, &blob_size);
    bool resumed = false;
    if (blob) {
        const char *why = NULL;
        uint64_t params = head.params;
        if (sf_state_read (blob, blob_size, ctx->analyzer, params, &head, values, count, &why)
        ||  head.seen <= stream->lookback) {
            sf_log_debug ("worker: %s recomputes in full: %s", ctx->analyzer->name,
                          why? why: "a state before the first output");
            memset (values, 0, count * sizeof (double));
            head.params = params;
            head.ts = 0;
            head.seen = 0;
        }
        else
            resumed = true;
    }
    sf_candles_t *candles;
    int rc = resumed? sf_actx_candles_after (ctx, head.ts, &candles)
                    : sf_series_candles (ctx, stream->lookback, &candles);
    if (rc) {
        free (values);
        return -1;
    }
    size_t size = candles->size;
    double *outputs [S_OUTPUTS_MAX];
    for (size_t k = 0; k < stream->outputs; k++)
        outputs [k] = sf_series_alloc (size);
    double *state = values + stream->outputs;
    double out [S_OUTPUTS_MAX] = { 0 };
    for (size_t i = 0; i < size; i++) {
        stream->step (stream, state, head.seen, candles, i, out);
        head.seen++;
        for (size_t k = 0; k < stream->outputs; k++)
            outputs [k][i] = values [k] = out [k];
    }
    if (size > 0)
        head.ts = candles->ts [size - 1];

    if (size == 0 && last) {
        //  Nothing new: the last values are the state's
        msgpack_packer *pk = sf_actx_output (ctx);
        msgpack_pack_map (pk, stream->outputs + 1);
        sf_mp_pack_str (pk, "ts");
        msgpack_pack_int64 (pk, (int64_t) head.ts);
        for (size_t k = 0; k < stream->outputs; k++)
            sf_mp_pack_kv_double (pk, stream->names [k], values [k]);
    }
    else
    if (size == 0) {
        msgpack_packer *pk = sf_actx_output (ctx);
        msgpack_pack_map (pk, stream->outputs + 1);
        sf_mp_pack_str (pk, "ts");
        msgpack_pack_array (pk, 0);
        for (size_t k = 0; k < stream->outputs; k++) {
            sf_mp_pack_str (pk, stream->names [k]);
            msgpack_pack_array (pk, 0);
        }
    }
    else
        //  A resumed state is past the lookback (checked above): no nulls
        sf_series_pack (ctx, candles, resumed? 0: stream->lookback, last, stream->names,
                        (const double **) outputs, stream->outputs);
    if (sf_actx_wants_state (ctx)) {
        msgpack_sbuffer blob_out;
        msgpack_sbuffer_init (&blob_out);
        sf_state_pack (&blob_out, ctx->analyzer, &head, values, count);
        //  Never above the wire's limit (declared periods keep far below it)
        if (blob_out.size <= SF_STATE_MAX)
            sf_actx_set_state (ctx, blob_out.data, blob_out.size);
        msgpack_sbuffer_destroy (&blob_out);
    }
    for (size_t k = 0; k < stream->outputs; k++)
        free (outputs [k]);
    free (values);
    sf_candles_destroy (&candles);
    return 0;
}

//  --------------------------------------------------------------------------
//  Sliding windows. w[0] is the shift K, w[1] the sum of x - K, w[2] the
//  sum of (x - K)^2, w[3] a bound on the rounding error the sums gathered
//  since they were last summed afresh, w[4 ..] the last n values, value
//  seen at seen % n. sf_window_push and sf_window_series share the
//  arithmetic below, so that a window pushed value by value and one run
//  over a series hold the same sums.

//  Sum a window afresh in two passes from its values in order: a[0 ..
//  a_size-1], then b[0 .. n-a_size-1] (a ring cut at its oldest value).
static void
s_window_afresh (double *sums, size_t n, const double *a, size_t a_size, const double *b)
{
    double mean = (sf_kernel_sum (a, a_size) + sf_kernel_sum (b, n - a_size)) / (double) n;
    double sum [4] = { 0 }, squares [4] = { 0 };
    for (size_t j = 0; j < n; j++) {
        double d = (j < a_size? a [j]: b [j - a_size]) - mean;
        sum [j & 3] += d;
        squares [j & 3] += d * d;
    }
    sums [0] = mean;
    sums [1] = (sum [0] + sum [1]) + (sum [2] + sum [3]);
    sums [2] = (squares [0] + squares [1]) + (squares [2] + squares [3]);
    sums [3] = 0;
}

//  Slide the window's sums: x comes in, old goes out. Returns true when
//  what is left after the cancellation is not well above the rounding
//  bound (a quiet window after a wild one): the window must then be summed
//  afresh, so a value never strays more than about 1e-9 from the two-pass
//  one.
static inline bool
s_window_slide (double *sums, double x, double old, double inv_n)
{
    double in = x - sums [0], out = old - sums [0];
    double in2 = in * in, out2 = out * out;
    sums [1] += in - out;
    sums [2] += in2 - out2;
    //  Each update rounds a few times at the size of its terms
    double a1 = fabs (sums [1]), a2 = fabs (sums [2]);
    sums [3] += 4 * DBL_EPSILON * (in2 + out2 + a2 + 2 * a1 * (fabs (in) + fabs (out)) * inv_n);
    double left = sums [2] - sums [1] * sums [1] * inv_n;
    return left <= sums [3] * 1e10;
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
    if ((seen + 1) % n == 0)
        s_window_afresh (w, n, ring, n, NULL);
    else
    if (s_window_slide (w, x, old, 1.0 / (double) n))
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
//  (the sum of squares after the cancellation), the shift and the sum of
//  x - shift. Inlined with count SF_KERNEL_BLOCK, the loops vectorise.
static inline void
s_window_outputs (size_t count, const double *left, const double *shift, const double *sum,
                  double inv_n, double inv_divisor, double scale,
                  double *restrict deviation, double *restrict mean)
{
    for (size_t b = 0; b < count; b++) {
        double variance = left [b] * inv_divisor;
        variance = variance < 1e-14? 0.0: variance;
        deviation [b] = scale * sqrt (variance);
    }
    if (mean)
        for (size_t b = 0; b < count; b++)
            mean [b] = shift [b] + sum [b] * inv_n;
}

void
sf_window_series (const double *x, size_t size, size_t n, size_t ddof, double scale,
                  double *deviation, double *mean, double *w)
{
    assert (size >= n && n > ddof);
    double inv_n = 1.0 / (double) n, inv_divisor = 1.0 / (double) (n - ddof);
    double sums [4] = { 0 };
    double left [SF_KERNEL_BLOCK], shift [SF_KERNEL_BLOCK], sum [SF_KERNEL_BLOCK];
    //  Values until the next afresh sum: the window's last value at a
    //  multiple of n, as sf_window_push does it
    size_t afresh_in = 0;
    for (size_t i = n - 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        size_t first = i;
        for (size_t b = 0; b < count; b++, i++) {
            if (afresh_in == 0) {
                s_window_afresh (sums, n, x + i + 1 - n, n, NULL);
                afresh_in = n;
            }
            else
            if (s_window_slide (sums, x [i], x [i - n], inv_n))
                s_window_afresh (sums, n, x + i + 1 - n, n, NULL);
            afresh_in--;
            left [b] = sums [2] - sums [1] * sums [1] * inv_n;
            shift [b] = sums [0];
            sum [b] = sums [1];
        }
        double *at_mean = mean? mean + first: NULL;
        if (count == SF_KERNEL_BLOCK)
            s_window_outputs (SF_KERNEL_BLOCK, left, shift, sum, inv_n, inv_divisor, scale,
                              deviation + first, at_mean);
        else
            s_window_outputs (count, left, shift, sum, inv_n, inv_divisor, scale,
                              deviation + first, at_mean);
    }
    if (w) {
        memcpy (w, sums, sizeof sums);
        for (size_t j = size - n; j < size; j++)
            w [4 + j % n] = x [j];
    }
}
