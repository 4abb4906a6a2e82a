/*  =========================================================================
    sf_actx - the context one analyzer call runs in
    ========================================================================= */

#include <czmq.h>
#include <stdarg.h>
#include <math.h>
#include "sf_actx.h"
#include "sf_candles.h"
#include "sf_json.h"
#include "sf_codec.h"
#include "sf_mp.h"
#include "sf_time.h"

void
sf_actx_init_shared (sf_actx_t *self, sf_cache_t *cache, sf_source_t *source)
{
    memset (self, 0, sizeof *self);
    self->cache = cache;
    self->source = source;
    msgpack_sbuffer_init (&self->output);
    msgpack_packer_init (&self->packer, &self->output, sf_mp_write);
    msgpack_sbuffer_init (&self->new_state);
}

void
sf_actx_init (sf_actx_t *self, const char *data_dir, const char *data_db)
{
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_for (data_dir, data_db, 1);
    if (source)
        source = sf_cache_add (cache, &source);
    sf_actx_init_shared (self, cache, source);
    self->own_cache = cache;
}

void
sf_actx_destroy (sf_actx_t *self)
{
    sf_cache_destroy (&self->own_cache);
    msgpack_sbuffer_destroy (&self->output);
    msgpack_sbuffer_destroy (&self->new_state);
    json_decref (self->context);
    self->context = NULL;
}

void
sf_actx_reset (sf_actx_t *self, const sf_analyzer_t *analyzer, const msgpack_object *job,
               uint32_t attempt)
{
    self->analyzer = analyzer;
    msgpack_sbuffer_clear (&self->output);
    json_decref (self->context);
    self->context = NULL;
    self->job = job;
    self->params = sf_mp_get (job, "params");
    self->attempt = attempt;
    self->failed = false;
    self->code [0] = self->message [0] = 0;
    //  A state that is not a bin is no state: the analyzer computes in full
    const msgpack_object *state = sf_mp_get (job, "state");
    bool is_bin = state && state->type == MSGPACK_OBJECT_BIN;
    self->state = is_bin? state->via.bin.ptr: NULL;
    self->state_size = is_bin? state->via.bin.size: 0;
    self->wants_state = sf_mp_get (job, "state_key") != NULL;
    self->has_new_state = false;
    msgpack_sbuffer_clear (&self->new_state);
}

void
sf_actx_pack_error (sf_actx_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, self->context? 3: 2);
    sf_mp_pack_kv_str (pk, "code", self->code);
    sf_mp_pack_kv_str (pk, "message", self->message);
    if (self->context) {
        sf_mp_pack_str (pk, "context");
        sf_json_pack (pk, self->context);
    }
}

//  --------------------------------------------------------------------------
//  The analyzer's side (analyzer.h).

const msgpack_object *
sf_actx_params (sf_actx_t *ctx)
{
    return ctx->params;
}

const msgpack_object *
sf_actx_param (sf_actx_t *ctx, const char *name)
{
    return sf_mp_get (ctx->params, name);
}

const msgpack_object *
sf_actx_job (sf_actx_t *ctx)
{
    return ctx->job;
}

uint32_t
sf_actx_attempt (sf_actx_t *ctx)
{
    return ctx->attempt;
}

msgpack_packer *
sf_actx_output (sf_actx_t *ctx)
{
    return &ctx->packer;
}

const void *
sf_actx_state (sf_actx_t *ctx, size_t *size)
{
    *size = ctx->state_size;
    return ctx->state;
}

bool
sf_actx_wants_state (sf_actx_t *ctx)
{
    return ctx->wants_state;
}

void
sf_actx_set_state (sf_actx_t *ctx, const void *data, size_t size)
{
    msgpack_sbuffer_clear (&ctx->new_state);
    sf_mp_write (&ctx->new_state, (const char *) data, size);
    ctx->has_new_state = true;
}

bool
sf_actx_cancelled (sf_actx_t *ctx)
{
    return zsys_interrupted
        || (ctx->stops && ctx->id && sf_stops_has (ctx->stops, ctx->id));
}

int
sf_actx_fail (sf_actx_t *ctx, const char *code, const char *format, ...)
{
    ctx->failed = true;
    snprintf (ctx->code, sizeof ctx->code, "%s", code);
    va_list args;
    va_start (args, format);
    vsnprintf (ctx->message, sizeof ctx->message, format, args);
    va_end (args);
    return -1;
}

static void
s_context_set (sf_actx_t *ctx, const char *key, json_t *value)
{
    if (!ctx->context)
        ctx->context = json_object ();
    json_object_set_new (ctx->context, key, value);
}

void
sf_actx_context_str (sf_actx_t *ctx, const char *key, const char *value)
{
    s_context_set (ctx, key, json_string (value));
}

void
sf_actx_context_int (sf_actx_t *ctx, const char *key, int64_t value)
{
    s_context_set (ctx, key, json_integer (value));
}

//  --------------------------------------------------------------------------
//  Market data: inline candles, or the data source's for symbol/timeframe.

//  A string field of the job copied into buf; false if absent or too long.
static bool
s_job_text (sf_actx_t *ctx, const char *field, char *buf, size_t size)
{
    return sf_mp_strcpy (sf_mp_get (ctx->job, field), buf, size) == 0;
}

//  A "from"/"to" bound of the job in epoch ms, NAN when absent. -1 if bad.
static int
s_bound (sf_actx_t *ctx, const char *field, double *ms)
{
    *ms = NAN;
    const msgpack_object *value = sf_mp_get (ctx->job, field);
    if (!value)
        return 0;
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *ms = (double) value->via.u64;
        return 0;
    }
    //  The parser the broker checked the job with (sf_codec_job_check)
    int64_t instant;
    if (value->type == MSGPACK_OBJECT_STR
    &&  sf_time_parse (value->via.str.ptr, value->via.str.size, &instant) == 0) {
        *ms = (double) instant;
        return 0;
    }
    sf_actx_context_str (ctx, "field", field);
    return sf_actx_fail (ctx, "BAD_INPUT", "\"%s\" must be %s", field, SF_TIME_FORMS);
}

//  The window request selects from the data source. Returns 0 with
//  *candles_p, or -1 after failing the job with DATA_FETCH.
static int
s_source_fetch (sf_actx_t *ctx, const sf_request_t *request, sf_candles_t **candles_p)
{
    *candles_p = NULL;
    sf_actx_context_str (ctx, "symbol", request->symbol);
    sf_actx_context_str (ctx, "timeframe", request->timeframe);
    if (!ctx->source) {
        sf_actx_context_str (ctx, "source", "none");
        sf_actx_context_str (ctx, "cause",
                             "this worker has no data source (--data-dir or --data-db)");
        return sf_actx_fail (ctx, "DATA_FETCH", "no data source for %s %s", request->symbol,
                             request->timeframe);
    }
    char where [1024];
    sf_source_where (ctx->source, request->symbol, request->timeframe, where, sizeof where);
    sf_actx_context_str (ctx, "source", where);
    sf_error_t error;
    if (sf_cache_fetch (ctx->cache, ctx->source, request, candles_p, &error)) {
        sf_actx_context_str (ctx, "cause", error.message);
        return sf_actx_fail (ctx, "DATA_FETCH", "cannot fetch %s %s: %s", request->symbol,
                             request->timeframe, error.message);
    }
    return 0;
}

int
sf_actx_fetch (sf_actx_t *ctx, const char *symbol, const char *timeframe,
               sf_candles_t **candles_p)
{
    sf_request_t request = sf_request_all (symbol, timeframe);
    return s_source_fetch (ctx, &request, candles_p);
}

//  Keep the candles of request's window, in place.
static void
s_cut (const sf_request_t *request, sf_candles_t *candles)
{
    size_t first, last;
    sf_request_bounds (request, candles, &first, &last);
    double *columns [6] = { candles->ts, candles->open, candles->high, candles->low,
                            candles->close, candles->volume };
    for (int i = 0; i < 6; i++)
        memmove (columns [i], columns [i] + first, (last - first) * sizeof (double));
    candles->size = last - first;
}

//  The job's candles in the window request gives (its symbol and timeframe
//  aside): its inline candles cut in memory, or what the data source has
//  there, the window pushed down to the source.
static int
s_candles (sf_actx_t *ctx, sf_request_t *request, sf_candles_t **candles_p)
{
    *candles_p = NULL;
    const msgpack_object *inline_candles = sf_mp_get (ctx->job, "candles");
    if (inline_candles) {
        sf_error_t error;
        sf_candles_t *candles = sf_candles_unpack (inline_candles, &error);
        if (!candles)
            return sf_actx_fail (ctx, "BAD_INPUT", "%s", error.message);
        s_cut (request, candles);
        *candles_p = candles;
        return 0;
    }
    char symbol [SF_NAME_MAX + 1], timeframe [SF_TIMEFRAME_MAX + 1];
    if (!s_job_text (ctx, "symbol", symbol, sizeof symbol)
    ||  !s_job_text (ctx, "timeframe", timeframe, sizeof timeframe))
        return sf_actx_fail (ctx, "BAD_INPUT",
                             "the job carries no candles and names no symbol and timeframe");
    request->symbol = symbol;
    request->timeframe = timeframe;
    return s_source_fetch (ctx, request, candles_p);
}

int
sf_actx_candles (sf_actx_t *ctx, sf_candles_t **candles_p)
{
    *candles_p = NULL;
    sf_request_t request = sf_request_all (NULL, NULL);
    uint64_t limit = 0;
    if (s_bound (ctx, "from", &request.from_ms) || s_bound (ctx, "to", &request.to_ms))
        return -1;
    sf_mp_uint (sf_mp_get (ctx->job, "limit"), SF_LIMIT_MAX, &limit);
    request.limit = (size_t) limit;
    return s_candles (ctx, &request, candles_p);
}

int
sf_actx_candles_after (sf_actx_t *ctx, double after_ms, sf_candles_t **candles_p)
{
    *candles_p = NULL;
    sf_request_t request = sf_request_all (NULL, NULL);
    if (s_bound (ctx, "to", &request.to_ms))
        return -1;
    request.after_ms = after_ms;
    return s_candles (ctx, &request, candles_p);
}

//  --------------------------------------------------------------------------
//  Declared parameters.

static const sf_param_t *
s_declared (sf_actx_t *ctx, const char *name, size_t size)
{
    if (!ctx->analyzer || !ctx->analyzer->params)
        return NULL;
    for (const sf_param_t *param = ctx->analyzer->params; param->name; param++)
        if (strlen (param->name) == size && memcmp (param->name, name, size) == 0)
            return param;
    return NULL;
}

//  Index of word (size bytes) in choices "a|b|c", or -1.
static int
s_choice (const char *choices, const char *word, size_t size)
{
    int index = 0;
    for (const char *p = choices; *p; index++) {
        const char *bar = strchr (p, '|');
        size_t length = bar? (size_t) (bar - p): strlen (p);
        if (length == size && memcmp (p, word, size) == 0)
            return index;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

//  A number from an int or float object; false when it is neither.
static bool
s_number (const msgpack_object *value, double *number)
{
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *number = (double) value->via.u64;
    else
    if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *number = (double) value->via.i64;
    else
    if (value->type == MSGPACK_OBJECT_FLOAT64 || value->type == MSGPACK_OBJECT_FLOAT32)
        *number = value->via.f64;
    else
        return false;
    return true;
}

//  Check one value against its declaration; fail the job if it is wrong.
static int
s_check_value (sf_actx_t *ctx, const sf_param_t *param, const msgpack_object *value)
{
    double number;
    switch (param->type) {
        case SF_PARAM_INT:
            if ((value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
              || value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            &&  s_number (value, &number) && number >= param->min && number <= param->max)
                return 0;
            sf_actx_context_int (ctx, "min", (int64_t) param->min);
            sf_actx_context_int (ctx, "max", (int64_t) param->max);
            return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be an integer %.0f-%.0f",
                                 param->name, param->min, param->max);
        case SF_PARAM_REAL:
            if (s_number (value, &number) && number >= param->min && number <= param->max)
                return 0;
            return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be a number %g-%g",
                                 param->name, param->min, param->max);
        case SF_PARAM_CHOICE:
            if (value->type == MSGPACK_OBJECT_STR
            &&  s_choice (param->choices, value->via.str.ptr, value->via.str.size) >= 0)
                return 0;
            return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be one of %s",
                                 param->name, param->choices);
        case SF_PARAM_TEXT:
            if (value->type == MSGPACK_OBJECT_STR && value->via.str.size > 0
            &&  value->via.str.size < 256)
                return 0;
            return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be a string of "
                                 "1-255 characters", param->name);
        case SF_PARAM_SYMBOLS: {
            bool good = value->type == MSGPACK_OBJECT_ARRAY
                     && value->via.array.size >= param->min && value->via.array.size <= param->max;
            for (uint32_t i = 0; good && i < value->via.array.size; i++) {
                const msgpack_object *symbol = &value->via.array.ptr [i];
                good = symbol->type == MSGPACK_OBJECT_STR && symbol->via.str.size > 0
                    && symbol->via.str.size <= SF_NAME_MAX;
            }
            if (good)
                return 0;
            return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be a list of %.0f-%.0f "
                                 "symbols of 1-64 characters", param->name, param->min, param->max);
        }
        case SF_PARAM_RESULTS: {
            //  Each item as the broker packs it for a chord: a map with an
            //  index and a status
            bool good = value->type == MSGPACK_OBJECT_ARRAY
                     && value->via.array.size >= param->min && value->via.array.size <= param->max;
            for (uint32_t i = 0; good && i < value->via.array.size; i++) {
                const msgpack_object *item = &value->via.array.ptr [i];
                uint64_t index;
                good = item->type == MSGPACK_OBJECT_MAP
                    && sf_mp_uint (sf_mp_get (item, "index"), UINT32_MAX, &index) == 0
                    && sf_mp_get (item, "status")
                    && sf_mp_get (item, "status")->type == MSGPACK_OBJECT_STR;
            }
            if (good)
                return 0;
            return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" must be gathered results, "
                                 "a list of {index, status, result | error} (run as a chord)",
                                 param->name);
        }
    }
    return 0;
}

int
sf_actx_check_params (sf_actx_t *ctx)
{
    if (!ctx->analyzer || !ctx->analyzer->params || !ctx->params)
        return 0;
    for (uint32_t i = 0; i < ctx->params->via.map.size; i++) {
        const msgpack_object *key = &ctx->params->via.map.ptr [i].key;
        //  A follow-up's previous result (docs/PROTOCOL.md 4.5): any analyzer
        if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 8
        &&  memcmp (key->via.str.ptr, "previous", 8) == 0)
            continue;
        const sf_param_t *param = key->type == MSGPACK_OBJECT_STR
                                ? s_declared (ctx, key->via.str.ptr, key->via.str.size): NULL;
        if (!param) {
            char names [256] = "";
            for (const sf_param_t *p = ctx->analyzer->params; p->name; p++)
                snprintf (names + strlen (names), sizeof names - strlen (names), "%s%s",
                          p == ctx->analyzer->params? "": ", ", p->name);
            if (key->type != MSGPACK_OBJECT_STR)
                return sf_actx_fail (ctx, "BAD_INPUT", "param names must be strings "
                                     "(%s takes: %s)", ctx->analyzer->name,
                                     *names? names: "none");
            //  The name as the context and the message show it: its first
            //  64 bytes, each one that is not printable ASCII as '?', so
            //  that it is always valid UTF-8 text
            char name [SF_NAME_MAX + 1];
            size_t size = key->via.str.size < SF_NAME_MAX? key->via.str.size: SF_NAME_MAX;
            for (size_t c = 0; c < size; c++) {
                unsigned char byte = (unsigned char) key->via.str.ptr [c];
                name [c] = byte >= 0x20 && byte < 0x7f? (char) byte: '?';
            }
            name [size] = 0;
            sf_actx_context_str (ctx, "param", name);
            return sf_actx_fail (ctx, "BAD_INPUT", "unknown param \"%s\" (%s takes: %s)",
                                 name, ctx->analyzer->name, *names? names: "none");
        }
        sf_actx_context_str (ctx, "param", param->name);
        if (s_check_value (ctx, param, &ctx->params->via.map.ptr [i].val))
            return -1;
        json_decref (ctx->context);             //  Not failed: no context
        ctx->context = NULL;
    }
    return 0;
}

//  What an undeclared param reads as: 0, no choices.
static const sf_param_t s_undeclared = { NULL, SF_PARAM_INT, 0, 0, 0, NULL, NULL };

//  The job's value of a declared param, or NULL (the default applies).
//  An analyzer that asks for a name it does not declare (a plugin's
//  mistake) fails its job with ANALYSIS and reads 0, rather than crash
//  the worker.
static const msgpack_object *
s_value (sf_actx_t *ctx, const char *name, const sf_param_t **param)
{
    *param = s_declared (ctx, name, strlen (name));
    if (!*param) {
        *param = &s_undeclared;
        sf_actx_fail (ctx, "ANALYSIS", "analyzer %s reads param \"%s\", which it does not "
                      "declare", ctx->analyzer? ctx->analyzer->name: "?", name);
        return NULL;
    }
    return sf_mp_get (ctx->params, name);
}

int
sf_actx_int (sf_actx_t *ctx, const char *name)
{
    const sf_param_t *param;
    const msgpack_object *value = s_value (ctx, name, &param);
    double number;
    return value && s_number (value, &number)? (int) number: (int) param->fallback;
}

double
sf_actx_real (sf_actx_t *ctx, const char *name)
{
    const sf_param_t *param;
    const msgpack_object *value = s_value (ctx, name, &param);
    double number;
    return value && s_number (value, &number)? number: param->fallback;
}

int
sf_actx_choice (sf_actx_t *ctx, const char *name)
{
    const sf_param_t *param;
    const msgpack_object *value = s_value (ctx, name, &param);
    if (!value || value->type != MSGPACK_OBJECT_STR)
        return 0;
    int index = s_choice (param->choices, value->via.str.ptr, value->via.str.size);
    return index < 0? 0: index;
}
