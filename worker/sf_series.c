/*  =========================================================================
    sf_series - what every indicator analyzer shares
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_mp.h"
#include "sf_series.h"

int
sf_series_int (sf_actx_t *ctx, const char *name, int default_value, int min, int max,
               int *value)
{
    const msgpack_object *param = sf_actx_param (ctx, name);
    *value = default_value;
    if (!param)
        return 0;
    if ((param->type == MSGPACK_OBJECT_POSITIVE_INTEGER && param->via.u64 <= (uint64_t) max
         && (int64_t) param->via.u64 >= min)
    ||  (param->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && param->via.i64 >= min
         && param->via.i64 <= max)) {
        *value = (int) param->via.i64;
        return 0;
    }
    sf_actx_context_str (ctx, "param", name);
    sf_actx_context_int (ctx, "min", min);
    sf_actx_context_int (ctx, "max", max);
    return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be an integer %d-%d",
                         name, min, max);
}

int
sf_series_real (sf_actx_t *ctx, const char *name, double default_value, double min,
                double max, double *value)
{
    const msgpack_object *param = sf_actx_param (ctx, name);
    *value = default_value;
    if (!param)
        return 0;
    double number = NAN;
    if (param->type == MSGPACK_OBJECT_FLOAT64 || param->type == MSGPACK_OBJECT_FLOAT32)
        number = param->via.f64;
    else
    if (param->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        number = (double) param->via.u64;
    else
    if (param->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        number = (double) param->via.i64;
    if (number >= min && number <= max) {
        *value = number;
        return 0;
    }
    sf_actx_context_str (ctx, "param", name);
    return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be a number %g-%g",
                         name, min, max);
}

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
sf_series_last (sf_actx_t *ctx, bool *last)
{
    const msgpack_object *output = sf_actx_param (ctx, "output");
    *last = false;
    if (!output || sf_mp_streq (output, "series"))
        return 0;
    if (sf_mp_streq (output, "last")) {
        *last = true;
        return 0;
    }
    sf_actx_context_str (ctx, "param", "output");
    return sf_actx_fail (ctx, "BAD_INPUT", "param \"output\" must be \"series\" or \"last\"");
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
