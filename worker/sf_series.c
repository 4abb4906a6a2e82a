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
                const char **names, const double **outputs, size_t count)
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
//  seen at seen % n.

//  Sum the window afresh in two passes from its values, oldest first
//  (oldest at slot first).
static void
s_window_afresh (double *w, size_t n, size_t first)
{
    const double *ring = w + 4;
    double mean = 0;
    for (size_t j = 0; j < n; j++)
        mean += ring [(first + j) % n];
    mean /= (double) n;
    double sum = 0, squares = 0;
    for (size_t j = 0; j < n; j++) {
        double d = ring [(first + j) % n] - mean;
        sum += d;
        squares += d * d;
    }
    w [0] = mean;
    w [1] = sum;
    w [2] = squares;
    w [3] = 0;
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
    if ((seen + 1) % n == 0) {
        s_window_afresh (w, n, 0);
        return;
    }
    double k = w [0], in = x - k, out = old - k;
    w [1] += in - out;
    w [2] += in * in - out * out;
    //  Each update rounds a few times at the size of its terms
    w [3] += 4 * DBL_EPSILON * (in * in + out * out + fabs (w [2])
                                + 2 * fabs (w [1]) * (fabs (in) + fabs (out)) / (double) n);
    //  When what is left after the cancellation is not well above that
    //  bound (a quiet window after a wild one), this window is summed
    //  afresh: the result stays within 1e-9 of the two-pass one
    double left = w [2] - w [1] * w [1] / (double) n;
    if (left <= w [3] * 1e10)
        s_window_afresh (w, n, (slot + 1) % n);
}
double
sf_window_mean (const double *w, size_t n)
{
    return w [0] + w [1] / (double) n;
}

double
sf_window_variance (const double *w, size_t n, size_t ddof)
{
    double variance = (w [2] - w [1] * w [1] / (double) n) / (double) (n - ddof);
    return variance < 1e-14? 0.0: variance;
}
