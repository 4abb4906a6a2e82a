/*  =========================================================================
    check_sf_state - incremental analyzers: a series fed in random chunks, each
    job carrying the state the one before handed back, gives the outputs of one
    full computation (every indicator with a step form); a state that is not
    the analyzer's own (other analyzer, params, version; corrupt or truncated
    bytes) is refused and the job recomputes in full; the pool returns the new
    state in the RESULTS header
    ========================================================================= */

#include <check.h>
#include <czmq.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_analyzers.h"
#include "sf_candles.h"
#include "sf_codec.h"
#include "sf_mp.h"
#include "sf_pool.h"
#include "sf_state.h"
#include "suite.h"

//  An incremental analyzer and the params it runs with in these tests.
typedef struct {
    const char *name;           //  Analyzer
    const char *outputs [3];    //  Its outputs (NULL-ended)
    const char *param [3];      //  Param names (NULL-ended)
    int value [3];              //  Their values
} s_case_t;

static const s_case_t s_cases [] = {
    { "sma", { "sma" }, { "period" }, { 20 } },
    { "sma", { "sma" }, { "period" }, { 3 } },
    { "ema", { "ema" }, { "period" }, { 10 } },
    { "wma", { "wma" }, { "period" }, { 14 } },
    { "rsi", { "rsi" }, { "period" }, { 14 } },
    { "macd", { "macd", "signal", "hist" }, { "fast", "slow", "signal" }, { 12, 26, 9 } },
    { "atr", { "atr" }, { "period" }, { 14 } },
    { "atr", { "atr" }, { "period" }, { 1 } },
    { "obv", { "obv" }, { NULL }, { 0 } },
    { "vwap", { "vwap" }, { NULL }, { 0 } },
    { "stddev", { "stddev" }, { "period" }, { 20 } },
};
#define S_CASES (sizeof s_cases / sizeof s_cases [0])

//  The indicators of TA-Lib's set beyond the first seventeen, with their
//  default params.
static const s_case_t s_more [] = {
    { "dema", { "dema" }, { NULL }, { 0 } },
    { "tema", { "tema" }, { NULL }, { 0 } },
    { "tema", { "tema" }, { "period" }, { 2 } },
    { "trima", { "trima" }, { NULL }, { 0 } },
    { "trima", { "trima" }, { "period" }, { 7 } },
    { "kama", { "kama" }, { NULL }, { 0 } },
    { "kama", { "kama" }, { "period" }, { 3 } },
    { "t3", { "t3" }, { NULL }, { 0 } },
    { "midpoint", { "midpoint" }, { NULL }, { 0 } },
    { "midprice", { "midprice" }, { NULL }, { 0 } },
    { "mom", { "mom" }, { NULL }, { 0 } },
    { "mom", { "mom" }, { "period" }, { 1 } },
    { "rocp", { "rocp" }, { NULL }, { 0 } },
    { "rocr", { "rocr" }, { "period" }, { 3 } },
    { "ppo", { "ppo" }, { NULL }, { 0 } },
    { "apo", { "apo" }, { "fast", "slow" }, { 26, 5 } },
    { "trix", { "trix" }, { NULL }, { 0 } },
    { "trix", { "trix" }, { "period" }, { 1 } },
    { "cmo", { "cmo" }, { NULL }, { 0 } },
    { "bop", { "bop" }, { NULL }, { 0 } },
    { "natr", { "natr" }, { NULL }, { 0 } },
    { "trange", { "trange" }, { NULL }, { 0 } },
    { "ad", { "ad" }, { NULL }, { 0 } },
    { "adosc", { "adosc" }, { NULL }, { 0 } },
    { "avgprice", { "avgprice" }, { NULL }, { 0 } },
    { "medprice", { "medprice" }, { NULL }, { 0 } },
    { "typprice", { "typprice" }, { NULL }, { 0 } },
    { "wclprice", { "wclprice" }, { NULL }, { 0 } },
    { "var", { "var" }, { NULL }, { 0 } },
    { "var", { "var" }, { "period" }, { 1 } },
    { "linearreg", { "linearreg" }, { NULL }, { 0 } },
    { "linearreg_slope", { "linearreg_slope" }, { "period" }, { 2 } },
    { "linearreg_angle", { "linearreg_angle" }, { NULL }, { 0 } },
    { "linearreg_intercept", { "linearreg_intercept" }, { NULL }, { 0 } },
    { "tsf", { "tsf" }, { "period" }, { 50 } },
    { "beta", { "beta" }, { NULL }, { 0 } },
    { "beta", { "beta" }, { "period" }, { 1 } },
    { "correl", { "correl" }, { NULL }, { 0 } },
    { "correl", { "correl" }, { "period" }, { 2 } },
};
#define S_MORE (sizeof s_more / sizeof s_more [0])

static char s_data_dir [512];
static sf_actx_t s_ctx;
static msgpack_unpacked s_result;       //  The last result decoded
static msgpack_sbuffer s_payload;       //  What s_result points into, from the pool

static sf_candles_t *
s_load (const char *name)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s.csv", s_data_dir, name);
    sf_error_t error;
    sf_candles_t *candles = sf_candles_load_csv (path, &error);
    ck_assert_msg (candles, "%s", error.message);
    return candles;
}

static void
s_setup (void)
{
    const char *src = getenv ("SHEAF_SRC");
    snprintf (s_data_dir, sizeof s_data_dir, "%s/data", src? src: ".");
    msgpack_unpacked_init (&s_result);
    msgpack_sbuffer_init (&s_payload);
    sf_actx_init (&s_ctx, s_data_dir, NULL);
}

static void
s_teardown (void)
{
    msgpack_unpacked_destroy (&s_result);
    msgpack_sbuffer_destroy (&s_payload);
    sf_actx_destroy (&s_ctx);
}

//  Candles [first, last) of candles, as a new series.
static sf_candles_t *
s_slice (const sf_candles_t *candles, size_t first, size_t last)
{
    sf_candles_t *slice = sf_candles_new (last - first);
    for (size_t i = first; i < last; i++)
        sf_candles_append (slice, candles->ts [i], candles->open [i], candles->high [i],
                           candles->low [i], candles->close [i], candles->volume [i]);
    return slice;
}

//  Pack a job for test case c: inline candles or symbol (timeframe 1d),
//  output, state_key "k" when key, state (size bytes) when not NULL;
//  period_delta is added to the first param (to make other params).
static void
s_pack_job (msgpack_packer *pk, const s_case_t *c, const sf_candles_t *candles,
            const char *symbol, const char *output, bool key, const void *state,
            size_t size, int period_delta)
{
    size_t params = output? 1: 0;
    while (params - (output? 1: 0) < 3 && c->param [params - (output? 1: 0)])
        params++;
    msgpack_pack_map (pk, 2 + (candles? 1: 0) + (symbol? 2: 0) + (key? 1: 0) + (state? 1: 0));
    sf_mp_pack_kv_str (pk, "analyzer", c->name);
    if (candles) {
        sf_mp_pack_str (pk, "candles");
        sf_candles_pack (candles, pk);
    }
    if (symbol) {
        sf_mp_pack_kv_str (pk, "symbol", symbol);
        sf_mp_pack_kv_str (pk, "timeframe", "1d");
    }
    sf_mp_pack_str (pk, "params");
    msgpack_pack_map (pk, params);
    for (size_t i = 0; i < 3 && c->param [i]; i++) {
        sf_mp_pack_str (pk, c->param [i]);
        msgpack_pack_int (pk, c->value [i] + (i == 0? period_delta: 0));
    }
    if (output)
        sf_mp_pack_kv_str (pk, "output", output);
    if (key)
        sf_mp_pack_kv_str (pk, "state_key", "k");
    if (state) {
        sf_mp_pack_str (pk, "state");
        msgpack_pack_bin (pk, size);
        msgpack_pack_bin_body (pk, state, size);
    }
}

//  Run case c as s_pack_job packs it. Returns the analyzer's return code;
//  on success s_result holds the result and *new_state (when not NULL) a
//  copy of the state handed back (the caller frees it), or NULL.
static int
s_run (const s_case_t *c, const sf_candles_t *candles, const char *symbol, const char *output,
       const void *state, size_t size, int period_delta, char **new_state, size_t *new_size)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    s_pack_job (&pk, c, candles, symbol, output, new_state != NULL, state, size, period_delta);
    msgpack_unpacked job;
    msgpack_unpacked_init (&job);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&job, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    const sf_analyzer_t *found = sf_analyzers_find (c->name, strlen (c->name), false);
    ck_assert_ptr_nonnull (found);
    sf_actx_reset (&s_ctx, found, &job.data, 1);
    int rc = sf_actx_check_params (&s_ctx)? -1: found->analyze (&s_ctx);
    if (rc == 0) {
        offset = 0;
        ck_assert (msgpack_unpack_next (&s_result, s_ctx.output.data, s_ctx.output.size,
                                        &offset) == MSGPACK_UNPACK_SUCCESS);
        if (new_state) {
            ck_assert (s_ctx.has_new_state);
            *new_state = (char *) malloc (s_ctx.new_state.size);
            memcpy (*new_state, s_ctx.new_state.data, s_ctx.new_state.size);
            *new_size = s_ctx.new_state.size;
        }
    }
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  The series of output name in s_result appended to values at *count
//  (null as NAN), ts to ts; returns how many were appended.
static size_t
s_take (const char *name, double *values, double *ts, size_t count)
{
    const msgpack_object *array = sf_mp_get (&s_result.data, name);
    const msgpack_object *times = sf_mp_get (&s_result.data, "ts");
    ck_assert_ptr_nonnull (array);
    ck_assert_ptr_nonnull (times);
    ck_assert_int_eq (array->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq (array->via.array.size, times->via.array.size);
    for (uint32_t i = 0; i < array->via.array.size; i++) {
        const msgpack_object *value = &array->via.array.ptr [i];
        values [count + i] = value->type == MSGPACK_OBJECT_FLOAT64? value->via.f64: NAN;
        if (ts)
            ts [count + i] = (double) times->via.array.ptr [i].via.i64;
    }
    return array->via.array.size;
}

//  Compare two series: equal nulls, values within 1e-9 relative.
static void
s_expect_close (const char *what, const double *got, const double *want, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (isnan (want [i])) {
            ck_assert_msg (isnan (got [i]), "%s[%zu] should be null", what, i);
            continue;
        }
        double scale = fabs (want [i]) > 1? fabs (want [i]): 1;
        ck_assert_msg (fabs (got [i] - want [i]) / scale <= 1e-9,
                       "%s[%zu] = %.17g, want %.17g", what, i, got [i], want [i]);
    }
}

//  The full computation of case c over candles, output k, into want.
static void
s_full (const s_case_t *c, const sf_candles_t *candles, size_t k, double *want)
{
    ck_assert_int_eq (s_run (c, candles, NULL, NULL, NULL, 0, 0, NULL, NULL), 0);
    ck_assert_uint_eq (s_take (c->outputs [k], want, NULL, 0), candles->size);
}

//  Feed candles to case c in chunks jobs, cut at random (seed), the first
//  long enough for a first output; chunks after the first go with the
//  state the job before handed back, and every other one also repeats
//  candles already seen (which the state must skip). Compare with want.
static void
s_chunked (const s_case_t *c, const sf_candles_t *candles, size_t chunks, unsigned seed,
           double *const *want)
{
    size_t size = candles->size;
    size_t *cuts = (size_t *) calloc (chunks + 1, sizeof (size_t));
    //  The first output needs lookback + 1 candles; 100 covers every case
    size_t first = 100;
    cuts [0] = 0;
    cuts [chunks] = size;
    for (size_t i = 1; i < chunks; i++)
        cuts [i] = first + (size_t) rand_r (&seed) % (size - first);
    for (size_t i = 1; i < chunks; i++)     //  Sort (chunks are few)
        for (size_t j = i + 1; j < chunks; j++)
            if (cuts [j] < cuts [i]) {
                size_t t = cuts [i];
                cuts [i] = cuts [j];
                cuts [j] = t;
            }
    double *got [3], *ts = (double *) calloc (size, sizeof (double));
    for (size_t k = 0; k < 3; k++)
        got [k] = (double *) calloc (size, sizeof (double));
    size_t count = 0;
    char *state = NULL;
    size_t state_size = 0;
    for (size_t i = 0; i < chunks; i++) {
        //  Every other chunk also repeats the last ten candles seen
        size_t from = cuts [i] >= 10 && i % 2? cuts [i] - 10: cuts [i];
        sf_candles_t *slice = s_slice (candles, from, cuts [i + 1]);
        char *new_state = NULL;
        size_t new_size = 0;
        int rc = s_run (c, slice, NULL, NULL, state, state_size, 0, &new_state, &new_size);
        ck_assert_msg (rc == 0, "%s chunk %zu of %zu: %s", c->name, i, chunks, s_ctx.message);
        size_t added = 0;
        for (size_t k = 0; k < 3 && c->outputs [k]; k++)
            added = s_take (c->outputs [k], got [k], k == 0? ts: NULL, count);
        ck_assert_uint_eq (added, cuts [i + 1] - cuts [i]);
        count += added;
        free (state);
        state = new_state;
        state_size = new_size;
        sf_candles_destroy (&slice);
    }
    ck_assert_uint_eq (count, size);
    for (size_t i = 0; i < size; i++)
        ck_assert (ts [i] == candles->ts [i]);
    for (size_t k = 0; k < 3 && c->outputs [k]; k++) {
        char what [64];
        snprintf (what, sizeof what, "%s.%s k=%zu", c->name, c->outputs [k], chunks);
        s_expect_close (what, got [k], want [k], size);
    }
    for (size_t k = 0; k < 3; k++)
        free (got [k]);
    free (ts);
    free (state);
    free (cuts);
}

static void
s_chunked_on (const char *sample, const s_case_t *cases, size_t count)
{
    sf_candles_t *candles = s_load (sample);
    for (size_t i = 0; i < count; i++) {
        const s_case_t *c = &cases [i];
        double *want [3] = { NULL, NULL, NULL };
        for (size_t k = 0; k < 3 && c->outputs [k]; k++) {
            want [k] = (double *) calloc (candles->size, sizeof (double));
            s_full (c, candles, k, want [k]);
        }
        static const size_t chunks [] = { 1, 2, 3, 7, 25 };
        for (size_t j = 0; j < sizeof chunks / sizeof chunks [0]; j++)
            for (unsigned seed = 1; seed <= 3; seed++)
                s_chunked (c, candles, chunks [j], seed * 7919 + (unsigned) j, want);
        for (size_t k = 0; k < 3; k++)
            free (want [k]);
    }
    sf_candles_destroy (&candles);
}

START_TEST (test_chunks_goog)
{
    s_chunked_on ("GOOG_1d", s_cases, S_CASES);
}
END_TEST

START_TEST (test_chunks_synth)
{
    s_chunked_on ("SYNTH_1m", s_cases, S_CASES);
}
END_TEST

START_TEST (test_more_chunks_goog)
{
    s_chunked_on ("GOOG_1d", s_more, S_MORE);
}
END_TEST

START_TEST (test_more_chunks_synth)
{
    s_chunked_on ("SYNTH_1m", s_more, S_MORE);
}
END_TEST

START_TEST (test_more_chunks_edge)
{
    s_chunked_on ("EDGE_1m", s_more, S_MORE);
}
END_TEST

//  The state of case c over the first cut candles, and the full series
//  over all of them; then a job with the rest and state (altered by the
//  caller) must recompute in full over what it carries.
static void
s_expect_full_recompute (const s_case_t *c, const sf_candles_t *candles, const char *state,
                         size_t size, const char *why)
{
    double *want = (double *) calloc (candles->size, sizeof (double));
    double *got = (double *) calloc (candles->size, sizeof (double));
    s_full (c, candles, 0, want);
    char *new_state = NULL;
    size_t new_size;
    ck_assert_int_eq (s_run (c, candles, NULL, NULL, state, size, 0, &new_state, &new_size), 0);
    ck_assert_msg (s_take (c->outputs [0], got, NULL, 0) == candles->size,
                   "%s: %s did not recompute in full", c->name, why);
    s_expect_close (why, got, want, candles->size);
    free (new_state);
    free (want);
    free (got);
}

START_TEST (test_mismatched_states)
{
    sf_candles_t *goog = s_load ("GOOG_1d");
    sf_candles_t *head = s_slice (goog, 0, 300);
    const s_case_t *sma = &s_cases [0], *ema = &s_cases [2];
    char *state;
    size_t size;
    ck_assert_int_eq (s_run (sma, head, NULL, NULL, NULL, 0, 0, &state, &size), 0);

    //  The state itself is accepted: only the new candles come back
    double *got = (double *) calloc (goog->size, sizeof (double));
    char *next;
    size_t next_size;
    ck_assert_int_eq (s_run (sma, goog, NULL, NULL, state, size, 0, &next, &next_size), 0);
    ck_assert_uint_eq (s_take ("sma", got, NULL, 0), goog->size - 300);
    free (next);

    //  Another analyzer, other params
    s_expect_full_recompute (ema, goog, state, size, "the state of another analyzer");
    double *want = (double *) calloc (goog->size, sizeof (double));
    ck_assert_int_eq (s_run (sma, goog, NULL, NULL, NULL, 0, 1, NULL, NULL), 0);
    s_take ("sma", want, NULL, 0);
    ck_assert_int_eq (s_run (sma, goog, NULL, NULL, state, size, 1, &next, &next_size), 0);
    ck_assert_uint_eq (s_take ("sma", got, NULL, 0), goog->size);
    s_expect_close ("other params", got, want, goog->size);
    free (next);

    //  Another version of the analyzer: the same state, "version" changed
    msgpack_unpacked blob;
    msgpack_unpacked_init (&blob);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&blob, state, size, &offset) == MSGPACK_UNPACK_SUCCESS);
    msgpack_sbuffer other;
    msgpack_sbuffer_init (&other);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &other, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, blob.data.via.map.size);
    for (uint32_t i = 0; i < blob.data.via.map.size; i++) {
        msgpack_pack_object (&pk, blob.data.via.map.ptr [i].key);
        if (sf_mp_streq (&blob.data.via.map.ptr [i].key, "version"))
            sf_mp_pack_str (&pk, "0");
        else
            msgpack_pack_object (&pk, blob.data.via.map.ptr [i].val);
    }
    s_expect_full_recompute (sma, goog, other.data, other.size, "another version");
    msgpack_sbuffer_destroy (&other);
    msgpack_unpacked_destroy (&blob);

    //  Every truncation, and every byte flipped: refused, never a crash
    for (size_t cut = 0; cut < size; cut++)
        s_expect_full_recompute (sma, head, state, cut, "a truncated state");
    for (size_t at = 0; at < size; at++) {
        char *bad = (char *) malloc (size);
        memcpy (bad, state, size);
        bad [at] ^= (char) 0x5a;
        s_expect_full_recompute (sma, head, bad, size, "a corrupt state");
        free (bad);
    }
    //  Bytes that are not msgpack at all, and a state that is not a bin
    s_expect_full_recompute (sma, head, "\xc1\xc1\xc1", 3, "garbage");
    free (want);
    free (got);
    free (state);
    sf_candles_destroy (&head);
    sf_candles_destroy (&goog);
}
END_TEST

START_TEST (test_no_new_candles_and_last)
{
    sf_candles_t *goog = s_load ("GOOG_1d");
    const s_case_t *macd = &s_cases [5];
    char *state, *next;
    size_t size, next_size;
    ck_assert_int_eq (s_run (macd, goog, NULL, NULL, NULL, 0, 0, &state, &size), 0);
    double want [3] = { 0 };
    ck_assert_int_eq (s_run (macd, goog, NULL, "last", NULL, 0, 0, NULL, NULL), 0);
    for (size_t k = 0; k < 3; k++)
        want [k] = sf_mp_get (&s_result.data, macd->outputs [k])->via.f64;
    int64_t last_ts = sf_mp_get (&s_result.data, "ts")->via.i64;

    //  The same candles again: nothing new, an empty series
    ck_assert_int_eq (s_run (macd, goog, NULL, NULL, state, size, 0, &next, &next_size), 0);
    ck_assert_uint_eq (sf_mp_get (&s_result.data, "ts")->via.array.size, 0);
    ck_assert_uint_eq (sf_mp_get (&s_result.data, "hist")->via.array.size, 0);
    free (next);
    //  With output last: the state's last values and time
    ck_assert_int_eq (s_run (macd, goog, NULL, "last", state, size, 0, &next, &next_size), 0);
    ck_assert_int_eq (sf_mp_get (&s_result.data, "ts")->via.i64, last_ts);
    for (size_t k = 0; k < 3; k++)
        ck_assert (sf_mp_get (&s_result.data, macd->outputs [k])->via.f64 == want [k]);
    //  Nothing new: the state comes back unchanged
    ck_assert_uint_eq (next_size, size);
    ck_assert_int_eq (memcmp (next, state, size), 0);
    free (next);

    //  A state from the first half, then the data source's series with last
    sf_candles_t *half = s_slice (goog, 0, goog->size / 2);
    free (state);
    ck_assert_int_eq (s_run (macd, half, NULL, NULL, NULL, 0, 0, &state, &size), 0);
    ck_assert_int_eq (s_run (macd, NULL, "GOOG", "last", state, size, 0, &next, &next_size), 0);
    ck_assert_int_eq (sf_mp_get (&s_result.data, "ts")->via.i64, last_ts);
    for (size_t k = 0; k < 3; k++) {
        double got = sf_mp_get (&s_result.data, macd->outputs [k])->via.f64;
        ck_assert (fabs (got - want [k]) <= 1e-9 * (fabs (want [k]) > 1? fabs (want [k]): 1));
    }
    free (next);
    free (state);
    sf_candles_destroy (&half);
    sf_candles_destroy (&goog);
}
END_TEST

//  --------------------------------------------------------------------------
//  The pool: state in with the job, new state out in the RESULTS header.

static void
s_ignore (void *arg, const uint8_t id [SF_UUID_SIZE])
{
    (void) arg, (void) id;
}

//  Run one job on a pool thread; returns the RESULTS body's first item
//  header's state (copied, the caller frees it) and s_result holds the
//  payload.
static char *
s_pool_run (sf_pool_t *pool, const s_case_t *c, const sf_candles_t *candles, bool key,
            const char *state, size_t size, size_t *new_size)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    uint8_t id [SF_UUID_SIZE];
    sf_uuid_v7 (id);
    sf_codec_pack_dispatch_head (&pk, id, 1, 1000);
    s_pack_job (&pk, c, candles, NULL, NULL, key, state, size, 0);
    sf_pool_add (pool, id, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    sf_pool_kick (pool);

    sf_batchw_t out;
    sf_batchw_init (&out);
    sf_batchw_reset (&out, 0);
    zpoller_t *poller = zpoller_new (sf_pool_pipe (pool, 0), NULL);
    ck_assert_ptr_nonnull (zpoller_wait (poller, 10000));
    zpoller_destroy (&poller);
    ck_assert_int_eq (sf_pool_collect (pool, 0, &out, s_ignore, NULL), 1);
    sf_batchw_finish (&out);
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, out.buffer.data, out.buffer.size, 2, 10,
                                      &error), 0);
    msgpack_object head, payload;
    ck_assert_int_eq (sf_batchr_next (&reader, &head, &payload, NULL, NULL, &error), 0);
    uint32_t attempt;
    sf_status_t status;
    uint64_t run_us;
    uint8_t answered [SF_UUID_SIZE];
    ck_assert_int_eq (sf_codec_read_outcome_head (&head, answered, &attempt, &status, &run_us,
                                                  &error), 0);
    ck_assert_int_eq (status, SF_STATUS_OK);
    const char *blob;
    ck_assert_int_eq (sf_codec_read_outcome_state (&head, &blob, new_size), 0);
    char *copy = NULL;
    if (blob) {
        copy = (char *) malloc (*new_size);
        memcpy (copy, blob, *new_size);
    }
    //  Keep the payload past the reader
    msgpack_sbuffer_clear (&s_payload);
    msgpack_packer_init (&pk, &s_payload, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, payload);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&s_result, s_payload.data, s_payload.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_batchr_close (&reader);
    sf_batchw_destroy (&out);
    return copy;
}

START_TEST (test_pool_returns_state)
{
    sf_pool_t *pool = sf_pool_new (1, false, NULL, NULL);
    sf_candles_t *goog = s_load ("GOOG_1d");
    sf_candles_t *head = s_slice (goog, 0, 1000);
    sf_candles_t *tail = s_slice (goog, 1000, goog->size);
    const s_case_t *rsi = &s_cases [4];

    //  Without a state_key: no state
    size_t size;
    char *state = s_pool_run (pool, rsi, head, false, NULL, 0, &size);
    ck_assert_ptr_null (state);
    //  With one: the state comes back, and continues the series
    state = s_pool_run (pool, rsi, head, true, NULL, 0, &size);
    ck_assert_ptr_nonnull (state);
    size_t next_size;
    char *next = s_pool_run (pool, rsi, tail, true, state, size, &next_size);
    ck_assert_ptr_nonnull (next);
    double *got = (double *) calloc (goog->size, sizeof (double));
    double *want = (double *) calloc (goog->size, sizeof (double));
    ck_assert_uint_eq (s_take ("rsi", got, NULL, 0), tail->size);
    s_full (rsi, goog, 0, want);
    s_expect_close ("pool rsi", got, want + 1000, tail->size);
    free (got);
    free (want);
    free (next);
    free (state);
    sf_candles_destroy (&head);
    sf_candles_destroy (&tail);
    sf_candles_destroy (&goog);
    sf_pool_destroy (&pool);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_state");
    TCase *tcase = tcase_create ("state");
    tcase_set_timeout (tcase, 120);
    tcase_add_checked_fixture (tcase, s_setup, s_teardown);
    tcase_add_test (tcase, test_chunks_goog);
    tcase_add_test (tcase, test_chunks_synth);
    tcase_add_test (tcase, test_mismatched_states);
    tcase_add_test (tcase, test_no_new_candles_and_last);
    tcase_add_test (tcase, test_pool_returns_state);
    suite_add_tcase (suite, tcase);
    //  Many indicators over the same chunks: a longer limit of their own
    TCase *more = tcase_create ("more");
    tcase_set_timeout (more, 600);
    tcase_add_checked_fixture (more, s_setup, s_teardown);
    tcase_add_test (more, test_more_chunks_goog);
    tcase_add_test (more, test_more_chunks_synth);
    tcase_add_test (more, test_more_chunks_edge);
    suite_add_tcase (suite, more);
    return suite_run (suite);
}
