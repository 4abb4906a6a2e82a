/*  =========================================================================
    plugin_hl2 - an analyzer plugin: hl2, the mean (high + low) / 2 of
    every candle, loaded with `sheaf-worker --plugin plugin_hl2.so`

    Build: cc -shared -fPIC $(pkg-config --cflags sheaf msgpack) \
               plugin_hl2.c -o plugin_hl2.so
    The sf_actx_* and sf_candles_* functions come from the worker.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include <sheaf_analyzer.h>

static int
s_analyze (sf_actx_t *ctx)
{
    sf_candles_t *candles;
    if (sf_actx_candles (ctx, &candles))
        return -1;
    if (candles->size == 0) {
        sf_candles_destroy (&candles);
        return sf_actx_fail (ctx, "INSUFFICIENT_DATA", "no candles");
    }
    msgpack_packer *pk = sf_actx_output (ctx);
    msgpack_pack_map (pk, 2);
    msgpack_pack_str (pk, 2);
    msgpack_pack_str_body (pk, "ts", 2);
    msgpack_pack_array (pk, candles->size);
    for (size_t i = 0; i < candles->size; i++)
        msgpack_pack_int64 (pk, (int64_t) candles->ts [i]);
    msgpack_pack_str (pk, 3);
    msgpack_pack_str_body (pk, "hl2", 3);
    msgpack_pack_array (pk, candles->size);
    for (size_t i = 0; i < candles->size; i++)
        msgpack_pack_double (pk, (candles->high [i] + candles->low [i]) / 2);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_analyzer_t s_hl2 = {
    .name = "hl2", .version = "1", .summary = "(high + low) / 2 of each candle (plugin)",
    .analyze = s_analyze
};

const int sheaf_analyzer_abi = SHEAF_ANALYZER_ABI;
const sf_analyzer_t *const sheaf_analyzers [] = { &s_hl2, NULL };
