/*  =========================================================================
    summary - one summary over gathered results: the chord of a periodic
    report (`sheaf gather --then '{"analyzer":"summary"}'` over per-symbol
    report jobs)

    Reads params.results, the gathered items the broker gives a chord
    ([{"index", "status", "result" | "error"}, ...], see docs/PROTOCOL.md
    5.5). Counts the items by status and, over the ok items whose result is
    a report map, the trends ("up", "down", "flat"), the RSI states
    ("overbought", "oversold", "neutral") and the change: its mean and the
    items with the best and the worst change. Result: {"items", "ok",
    "failed": [indexes], "trend": {...}, "rsi_state": {...}, "change":
    {"mean", "best": {"index", "change"}, "worst": {...}}} (change is null
    when no item had one).
    ========================================================================= */

#include <math.h>
#include <string.h>
#include "sheaf_analyzer.h"
#include "sf_mp.h"

//  Words counted, and how often each was seen.
typedef struct {
    const char *words [3];      //  The words
    uint64_t counts [3];        //  Seen
} s_tally_t;

static void
s_count (s_tally_t *tally, const msgpack_object *value)
{
    for (int i = 0; i < 3; i++)
        if (sf_mp_streq (value, tally->words [i]))
            tally->counts [i]++;
}

static void
s_pack_tally (msgpack_packer *pk, const char *key, const s_tally_t *tally)
{
    sf_mp_pack_str (pk, key);
    msgpack_pack_map (pk, 3);
    for (int i = 0; i < 3; i++)
        sf_mp_pack_kv_uint (pk, tally->words [i], tally->counts [i]);
}

//  A number (any msgpack numeric), or NAN.
static double
s_number (const msgpack_object *value)
{
    if (!value)
        return NAN;
    switch (value->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return value->via.f64;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double) value->via.u64;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double) value->via.i64;
        default: return NAN;
    }
}

static int
s_analyze (sf_actx_t *ctx)
{
    //  Checked against its declaration; only its presence is left to see
    const msgpack_object *results = sf_actx_param (ctx, "results");
    if (!results) {
        sf_actx_context_str (ctx, "param", "results");
        return sf_actx_fail (ctx, "BAD_INPUT", "param \"results\" is required "
                             "(run summary as a group's chord)");
    }
    s_tally_t trend = { { "up", "down", "flat" }, { 0 } };
    s_tally_t rsi = { { "overbought", "oversold", "neutral" }, { 0 } };
    uint32_t count = results->via.array.size, ok = 0, changes = 0;
    double sum = 0, best = NAN, worst = NAN;
    uint64_t best_index = 0, worst_index = 0;
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *item = &results->via.array.ptr [i];
        if (!sf_mp_streq (sf_mp_get (item, "status"), "ok"))
            continue;
        ok++;
        const msgpack_object *result = sf_mp_get (item, "result");
        if (!result || result->type != MSGPACK_OBJECT_MAP)
            continue;
        s_count (&trend, sf_mp_get (result, "trend"));
        s_count (&rsi, sf_mp_get (result, "rsi_state"));
        double change = s_number (sf_mp_get (result, "change"));
        uint64_t index = i;
        sf_mp_uint (sf_mp_get (item, "index"), UINT32_MAX, &index);
        if (isfinite (change)) {
            changes++;
            sum += change;
            if (isnan (best) || change > best) {
                best = change;
                best_index = index;
            }
            if (isnan (worst) || change < worst) {
                worst = change;
                worst_index = index;
            }
        }
    }
    msgpack_packer *pk = sf_actx_output (ctx);
    msgpack_pack_map (pk, 6);
    sf_mp_pack_kv_uint (pk, "items", count);
    sf_mp_pack_kv_uint (pk, "ok", ok);
    sf_mp_pack_str (pk, "failed");
    msgpack_pack_array (pk, count - ok);
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *item = &results->via.array.ptr [i];
        if (!sf_mp_streq (sf_mp_get (item, "status"), "ok")) {
            uint64_t index = i;
            sf_mp_uint (sf_mp_get (item, "index"), UINT32_MAX, &index);
            msgpack_pack_uint64 (pk, index);
        }
    }
    s_pack_tally (pk, "trend", &trend);
    s_pack_tally (pk, "rsi_state", &rsi);
    sf_mp_pack_str (pk, "change");
    if (changes == 0)
        msgpack_pack_nil (pk);
    else {
        msgpack_pack_map (pk, 3);
        sf_mp_pack_kv_double (pk, "mean", sum / changes);
        sf_mp_pack_str (pk, "best");
        msgpack_pack_map (pk, 2);
        sf_mp_pack_kv_uint (pk, "index", best_index);
        sf_mp_pack_kv_double (pk, "change", best);
        sf_mp_pack_str (pk, "worst");
        msgpack_pack_map (pk, 2);
        sf_mp_pack_kv_uint (pk, "index", worst_index);
        sf_mp_pack_kv_double (pk, "change", worst);
    }
    return 0;
}

static const sf_param_t s_params [] = {
    { "results", SF_PARAM_RESULTS, 0, 0, 100000, NULL,
      "the gathered results (given by the broker to a group's chord)" },
    { NULL }
};

const sf_analyzer_t sf_analyzer_summary = {
    .name = "summary", .version = "1",
    .summary = "a group's chord: counts, trends, RSI states and change over gathered reports",
    .analyze = s_analyze, .params = s_params
};
