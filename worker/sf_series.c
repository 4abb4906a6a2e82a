/*  =========================================================================
    sf_series - what every indicator analyzer shares
    ========================================================================= */

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
