/*  =========================================================================
    sf_series - what every indicator analyzer shares
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_mp.h"
#include "sf_series.h"

double *
sf_series_alloc (size_t size)
{
    double *values = (double *) calloc (size? size: 1, sizeof (double));
    if (!values)
        abort ();
    return values;
}

double
sf_series_stddev (const double *x, size_t i, size_t n)
{
    double mean = 0;
    for (size_t j = i + 1 - n; j <= i; j++)
        mean += x [j];
    mean /= (double) n;
    double variance = 0;
    for (size_t j = i + 1 - n; j <= i; j++)
        variance += (x [j] - mean) * (x [j] - mean);
    variance /= (double) n;
    return variance < 1e-14? 0.0: sqrt (variance);
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
