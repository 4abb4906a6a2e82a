/*  =========================================================================
    fuzz_state - fuzz target for the analyzer state blob (sf_state) and the
    indicator run that continues from it (sf_series_run)

    The input is the "state" bytes of a job as the broker would attach
    them. They go to sf_state_read for sma (period 5) and macd (3, 6, 2),
    and as the job's state to those analyzers with a short inline series.
    Besides not crashing, leaking or reading out of bounds:

    - a blob that reads back packs to bytes that read back to the same
      head and values;
    - the analyzer always answers: from the state when it was valid (the
      candles after the state's ts), else in full (every candle), and it
      hands back a state that reads back.

    Seeds: tests/fuzz/corpus/fuzz_state/, written by make_state_corpus.c.
    ========================================================================= */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_mp.h"
#include "sf_state.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_state: %s:%d: broken promise: %s\n",        \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

#define S_CANDLES 40
#define S_VALUES_MAX 64

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Run analyzer with params (two ints or one) on S_CANDLES candles, the
//  input as the job's state.
static void
s_run (const char *name, const char **params, const int *values, size_t count,
       size_t state_count, const uint8_t *data, size_t size)
{
    const sf_analyzer_t *analyzer = sf_analyzers_find (name, strlen (name), false);
    S_REQUIRE (analyzer);
    sf_candles_t *candles = sf_candles_new (S_CANDLES);
    for (size_t i = 0; i < S_CANDLES; i++) {
        double price = 100 + (double) (i % 7) - (double) (i % 3);
        sf_candles_append (candles, 60000.0 * (double) i, price, price + 1, price - 1,
                           price, 1000);
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    sf_mp_pack_kv_str (&pk, "analyzer", name);
    sf_mp_pack_str (&pk, "candles");
    sf_candles_pack (candles, &pk);
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, count);
    for (size_t i = 0; i < count; i++) {
        sf_mp_pack_str (&pk, params [i]);
        msgpack_pack_int (&pk, values [i]);
    }
    sf_mp_pack_kv_str (&pk, "state_key", "fuzz");
    sf_mp_pack_str (&pk, "state");
    msgpack_pack_bin (&pk, size);
    msgpack_pack_bin_body (&pk, data, size);
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    S_REQUIRE (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);

    sf_actx_t ctx;
    sf_actx_init (&ctx, NULL, NULL);
    sf_actx_reset (&ctx, analyzer, &job.data, 1);
    S_REQUIRE (sf_actx_check_params (&ctx) == 0);

    //  The decoder alone, and its round trip
    sf_state_head_t head, again;
    double values_read [S_VALUES_MAX], values_again [S_VALUES_MAX];
    const char *why;
    uint64_t hash = sf_state_params_hash (&ctx);
    bool valid = sf_state_read (data, size, analyzer, hash, &head, values_read, state_count,
                                &why) == 0;
    if (valid) {
        msgpack_sbuffer packed;
        msgpack_sbuffer_init (&packed);
        sf_state_pack (&packed, analyzer, &head, values_read, state_count);
        S_REQUIRE (sf_state_read (packed.data, packed.size, analyzer, hash, &again,
                                  values_again, state_count, &why) == 0);
        S_REQUIRE (again.ts == head.ts && again.seen == head.seen);
        S_REQUIRE (memcmp (values_again, values_read, state_count * sizeof (double)) == 0);
        msgpack_sbuffer_destroy (&packed);
    }

    //  The analyzer: always an answer, and a state that reads back
    S_REQUIRE (analyzer->analyze (&ctx) == 0 && !ctx.failed);
    S_REQUIRE (ctx.has_new_state);
    S_REQUIRE (sf_state_read (ctx.new_state.data, ctx.new_state.size, analyzer, hash, &again,
                              values_again, state_count, &why) == 0);
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    offset = 0;
    S_REQUIRE (msgpack_unpack_next (&result, ctx.output.data, ctx.output.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *ts = sf_mp_get (&result.data, "ts");
    S_REQUIRE (ts && ts->type == MSGPACK_OBJECT_ARRAY);
    if (!valid)
        S_REQUIRE (ts->via.array.size == S_CANDLES);
    msgpack_unpacked_destroy (&result);
    sf_actx_destroy (&ctx);
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    sf_candles_destroy (&candles);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const char *sma_params [] = { "period" };
    static const int sma_values [] = { 5 };
    s_run ("sma", sma_params, sma_values, 1, 1 + 1 + 5, data, size);
    static const char *macd_params [] = { "fast", "slow", "signal" };
    static const int macd_values [] = { 3, 6, 2 };
    s_run ("macd", macd_params, macd_values, 3, 3 + 6, data, size);
    return 0;
}
