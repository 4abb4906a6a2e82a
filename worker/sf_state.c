/*  =========================================================================
    sf_state - the state blob of an incremental analyzer
    ========================================================================= */

#include <math.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_mp.h"
#include "sf_state.h"

#define S_FORMAT 1              //  The blob layout (sf_state.h)

//  FNV-1a over size bytes, continuing from hash.
static uint64_t
s_fnv (uint64_t hash, const void *data, size_t size)
{
    const unsigned char *byte = (const unsigned char *) data;
    for (size_t i = 0; i < size; i++) {
        hash ^= byte [i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

uint64_t
sf_state_params_hash (sf_actx_t *ctx)
{
    uint64_t hash = 14695981039346656037ULL;
    const sf_analyzer_t *analyzer = ctx->analyzer;
    if (!analyzer || !analyzer->params)
        return hash;
    for (const sf_param_t *param = analyzer->params; param->name; param++) {
        if (strcmp (param->name, "output") == 0)
            continue;
        char text [64];
        if (param->type == SF_PARAM_INT)
            snprintf (text, sizeof text, "=%d;", sf_actx_int (ctx, param->name));
        else
        if (param->type == SF_PARAM_REAL)
            snprintf (text, sizeof text, "=%.17g;", sf_actx_real (ctx, param->name));
        else
        if (param->type == SF_PARAM_CHOICE)
            snprintf (text, sizeof text, "=#%d;", sf_actx_choice (ctx, param->name));
        else
            snprintf (text, sizeof text, "=?;");
        hash = s_fnv (hash, param->name, strlen (param->name));
        hash = s_fnv (hash, text, strlen (text));
        if (param->type == SF_PARAM_TEXT || param->type == SF_PARAM_SYMBOLS) {
            //  Their raw encoding: equal values encode equally from one packer
            const msgpack_object *value = sf_actx_param (ctx, param->name);
            if (value) {
                msgpack_sbuffer buffer;
                msgpack_sbuffer_init (&buffer);
                msgpack_packer pk;
                msgpack_packer_init (&pk, &buffer, sf_mp_write);
                msgpack_pack_object (&pk, *value);
                hash = s_fnv (hash, buffer.data, buffer.size);
                msgpack_sbuffer_destroy (&buffer);
            }
        }
    }
    return hash;
}

//  The check of a blob: FNV-1a over params, ts, seen and the values' bits,
//  so that bytes corrupted inside a number are caught like broken structure.
static uint64_t
s_check (const sf_state_head_t *head, const double *values, size_t count)
{
    uint64_t hash = s_fnv (14695981039346656037ULL, &head->params, sizeof head->params);
    hash = s_fnv (hash, &head->ts, sizeof head->ts);
    hash = s_fnv (hash, &head->seen, sizeof head->seen);
    return s_fnv (hash, values, count * sizeof (double));
}

void
sf_state_pack (msgpack_sbuffer *out, const sf_analyzer_t *analyzer,
               const sf_state_head_t *head, const double *values, size_t count)
{
    msgpack_sbuffer_clear (out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, sf_mp_write);
    msgpack_pack_map (&pk, 8);
    sf_mp_pack_kv_uint (&pk, "format", S_FORMAT);
    sf_mp_pack_kv_str (&pk, "analyzer", analyzer->name);
    sf_mp_pack_kv_str (&pk, "version", analyzer->version);
    sf_mp_pack_kv_uint (&pk, "params", head->params);
    sf_mp_pack_kv_double (&pk, "ts", head->ts);
    sf_mp_pack_kv_uint (&pk, "seen", head->seen);
    sf_mp_pack_str (&pk, "values");
    msgpack_pack_array (&pk, count);
    for (size_t i = 0; i < count; i++)
        msgpack_pack_double (&pk, values [i]);
    sf_mp_pack_kv_uint (&pk, "check", s_check (head, values, count));
}

//  The blob's top-level keys, in the order of the enum below.
static const sf_mp_key_t s_keys [] = {
    SF_MP_KEY ("format"), SF_MP_KEY ("analyzer"), SF_MP_KEY ("version"),
    SF_MP_KEY ("params"), SF_MP_KEY ("ts"), SF_MP_KEY ("seen"), SF_MP_KEY ("values"),
    SF_MP_KEY ("check")
};

enum { S_KEY_FORMAT, S_KEY_ANALYZER, S_KEY_VERSION, S_KEY_PARAMS, S_KEY_TS, S_KEY_SEEN,
       S_KEY_VALUES, S_KEY_CHECK, S_KEYS };

//  Read a blob already decoded into object; see sf_state_read.
static int
s_read (const msgpack_object *object, const sf_analyzer_t *analyzer, uint64_t params,
        sf_state_head_t *head, double *values, size_t count, const char **why)
{
    const msgpack_object *field [S_KEYS];
    const msgpack_object *unknown;
    uint64_t format;
    if (sf_mp_fields (object, s_keys, S_KEYS, field, &unknown) || unknown) {
        *why = "not a state map";
        return -1;
    }
    if (sf_mp_uint (field [S_KEY_FORMAT], UINT64_MAX, &format) || format != S_FORMAT) {
        *why = "another state format";
        return -1;
    }
    if (!field [S_KEY_ANALYZER] || !sf_mp_streq (field [S_KEY_ANALYZER], analyzer->name)) {
        *why = "the state of another analyzer";
        return -1;
    }
    if (!field [S_KEY_VERSION] || !sf_mp_streq (field [S_KEY_VERSION], analyzer->version)) {
        *why = "the state of another analyzer version";
        return -1;
    }
    if (sf_mp_uint (field [S_KEY_PARAMS], UINT64_MAX, &head->params) || head->params != params) {
        *why = "the state of other params";
        return -1;
    }
    const msgpack_object *ts = field [S_KEY_TS];
    if (!ts || ts->type != MSGPACK_OBJECT_FLOAT64 || !isfinite (ts->via.f64)) {
        *why = "no last candle time";
        return -1;
    }
    head->ts = ts->via.f64;
    if (sf_mp_uint (field [S_KEY_SEEN], UINT64_MAX, &head->seen)) {
        *why = "no candle count";
        return -1;
    }
    const msgpack_object *array = field [S_KEY_VALUES];
    if (!array || array->type != MSGPACK_OBJECT_ARRAY || array->via.array.size != count) {
        *why = "values of another size";
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const msgpack_object *value = &array->via.array.ptr [i];
        if (value->type != MSGPACK_OBJECT_FLOAT64 && value->type != MSGPACK_OBJECT_FLOAT32) {
            *why = "a value that is not a number";
            return -1;
        }
        values [i] = value->via.f64;
    }
    uint64_t check;
    if (sf_mp_uint (field [S_KEY_CHECK], UINT64_MAX, &check)
    ||  check != s_check (head, values, count)) {
        *why = "a failed check";
        return -1;
    }
    return 0;
}

int
sf_state_read (const void *data, size_t size, const sf_analyzer_t *analyzer,
               uint64_t params, sf_state_head_t *head, double *values, size_t count,
               const char **why)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    int rc = sf_mp_next (&unpacked, (const char *) data, size, &offset, &object, NULL, NULL,
                         why);
    if (rc == 1)
        *why = "an empty state";
    else
    if (rc == 0 && offset != size) {
        *why = "bytes after the state";
        rc = -1;
    }
    if (rc == 0)
        rc = s_read (&object, analyzer, params, head, values, count, why);
    msgpack_unpacked_destroy (&unpacked);
    return rc == 0? 0: -1;
}
