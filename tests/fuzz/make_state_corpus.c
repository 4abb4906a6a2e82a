/*  =========================================================================
    make_state_corpus - writes the seed corpus of fuzz_state

    Not built by the Makefile: the seeds are committed under
    tests/fuzz/corpus/fuzz_state/, and this program makes them again when
    the state blob or an analyzer's state layout changes (checklist:
    worker/sf_state.h, fuzz_state.c, this file). From the source tree,
    after `make`:

        cc -std=c11 -D_GNU_SOURCE -Icommon -Iworker \
           $(pkg-config --cflags msgpack jansson libczmq) \
           tests/fuzz/make_state_corpus.c \
           $(ls build/obj/worker/*.o build/obj/worker/analyzers/*.o | grep -v /main.o) \
           build/lib/libsheaf.a $(pkg-config --libs libczmq libzmq msgpack jansson) \
           -lpq -lpthread -lm -o /tmp/make_state_corpus \
        && /tmp/make_state_corpus tests/fuzz/corpus/fuzz_state

    The seeds are the states sma (period 5) and macd (3, 6, 2) hand back
    after the same 20 candles fuzz_state's series starts with; the output
    is the same on every run.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_mp.h"

//  Run analyzer on 20 candles and write the state it hands back to path.
static void
s_seed (const char *path, const char *name, const char **params, const int *values,
        size_t count)
{
    sf_candles_t *candles = sf_candles_new (20);
    for (size_t i = 0; i < 20; i++) {
        double price = 100 + (double) (i % 7) - (double) (i % 3);
        sf_candles_append (candles, 60000.0 * (double) i, price, price + 1, price - 1,
                           price, 1000);
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    sf_mp_pack_kv_str (&pk, "analyzer", name);
    sf_mp_pack_str (&pk, "candles");
    sf_candles_pack (candles, &pk);
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, count);
    for (size_t i = 0; i < count; i++) {
        sf_mp_pack_str (&pk, params [i]);
        msgpack_pack_int (&pk, values [i]);
    }
    sf_mp_pack_kv_str (&pk, "state_key", "seed");
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    if (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset) != MSGPACK_UNPACK_SUCCESS)
        exit (1);
    const sf_analyzer_t *analyzer = sf_analyzers_find (name, strlen (name), false);
    sf_actx_t ctx;
    sf_actx_init (&ctx, NULL, NULL);
    sf_actx_reset (&ctx, analyzer, &job.data, 1);
    if (analyzer->analyze (&ctx) || !ctx.has_new_state)
        exit (1);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (ctx.new_state.data, 1, ctx.new_state.size, file)
                 != ctx.new_state.size || fclose (file)) {
        perror (path);
        exit (1);
    }
    sf_actx_destroy (&ctx);
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    sf_candles_destroy (&candles);
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: make_state_corpus DIR\n");
        return 64;
    }
    char path [1024];
    static const char *sma_params [] = { "period" };
    static const int sma_values [] = { 5 };
    snprintf (path, sizeof path, "%s/sma_5", argv [1]);
    s_seed (path, "sma", sma_params, sma_values, 1);
    static const char *macd_params [] = { "fast", "slow", "signal" };
    static const int macd_values [] = { 3, 6, 2 };
    snprintf (path, sizeof path, "%s/macd_3_6_2", argv [1]);
    s_seed (path, "macd", macd_params, macd_values, 3);
    return 0;
}
