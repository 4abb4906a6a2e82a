/*  =========================================================================
    sf_codec - message bodies

    The batch header is written with fixed-width integers (uint64 tag,
    uint32 count) so that a body can be built item by item and its count
    patched in place at the end; readers accept any integer width.
    ========================================================================= */

#include <assert.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_mp.h"
#include "sf_time.h"

//  Fixed header: fixmap(2) "tag" uint64 "n" uint32
#define S_HEADER_SIZE 21
#define S_COUNT_OFFSET 17

void
sf_batchw_init (sf_batchw_t *self)
{
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->packer, &self->buffer, sf_mp_write);
    self->count = 0;
}

void
sf_batchw_destroy (sf_batchw_t *self)
{
    msgpack_sbuffer_destroy (&self->buffer);
}

void
sf_batchw_reset (sf_batchw_t *self, uint64_t tag)
{
    unsigned char header [S_HEADER_SIZE] = {
        0x82, 0xa3, 't', 'a', 'g', 0xcf, 0, 0, 0, 0, 0, 0, 0, 0,
        0xa1, 'n', 0xce, 0, 0, 0, 0
    };
    for (int i = 0; i < 8; i++)
        header [6 + i] = (unsigned char) (tag >> (56 - 8 * i));
    msgpack_sbuffer_clear (&self->buffer);
    sf_mp_write (&self->buffer, (const char *) header, sizeof header);
    self->count = 0;
}

void
sf_batchw_item (sf_batchw_t *self)
{
    self->count++;
}

void
sf_batchw_finish (sf_batchw_t *self)
{
    unsigned char *p = (unsigned char *) self->buffer.data + S_COUNT_OFFSET;
    for (int i = 0; i < 4; i++)
        p [i] = (unsigned char) (self->count >> (24 - 8 * i));
}

//  --------------------------------------------------------------------------
//  Open a batch body and read its header.

int
sf_batchr_open (sf_batchr_t *self, const char *data, size_t size,
                int per_item, uint32_t max, sf_error_t *error)
{
    memset (self, 0, sizeof *self);
    self->data = data;
    self->size = size;
    self->per_item = per_item;
    msgpack_unpacked_init (&self->head);
    msgpack_unpacked_init (&self->payload);

    msgpack_object header;
    const char *why = "empty body";
    if (sf_mp_next (&self->head, data, size, &self->offset, &header, NULL, NULL, &why) != 0)
        return sf_error_set (error, "PROTOCOL", "batch header: %s", why);
    if (header.type != MSGPACK_OBJECT_MAP)
        return sf_error_set (error, "PROTOCOL", "batch header must be a map");
    //  The tag first, so that every later error can be matched to a request
    const msgpack_object *tag = sf_mp_get (&header, "tag");
    if (tag && sf_mp_uint (tag, UINT64_MAX, &self->tag))
        return sf_error_set (error, "PROTOCOL", "batch header \"tag\" must be an unsigned integer");
    uint64_t count;
    if (sf_mp_uint (sf_mp_get (&header, "n"), UINT32_MAX, &count))
        return sf_error_set (error, "PROTOCOL", "batch header needs \"n\", a count");
    if (count > max)
        return sf_error_set (error, "PROTOCOL", "batch of %llu items is above the limit of %u",
                             (unsigned long long) count, max);
    self->count = (uint32_t) count;
    return 0;
}

//  --------------------------------------------------------------------------
//  Read the next item.

int
sf_batchr_next (sf_batchr_t *self, msgpack_object *head, msgpack_object *payload,
                const char **raw, size_t *raw_size, sf_error_t *error)
{
    const char *why = NULL;
    if (self->index == self->count) {
        if (self->offset != self->size)
            return sf_error_set (error, "PROTOCOL", "bytes after the last of %u items",
                                 self->count);
        return 1;
    }
    int rc = sf_mp_next (&self->head, self->data, self->size, &self->offset, head,
                         self->per_item == 1? raw: NULL, raw_size, &why);
    if (rc == 0 && self->per_item == 2 && payload)
        rc = sf_mp_next (&self->payload, self->data, self->size, &self->offset, payload,
                         raw, raw_size, &why);
    else
    if (rc == 0 && self->per_item == 2) {
        //  Payload not wanted decoded: check it and take its span only
        size_t length = self->offset < self->size
                      ? sf_mp_check (self->data + self->offset, self->size - self->offset, &why)
                      : (why = "truncated value", 0);
        if (length == 0)
            rc = -1;
        else {
            if (raw) {
                *raw = self->data + self->offset;
                *raw_size = length;
            }
            self->offset += length;
        }
    }
    if (rc == 1)
        return sf_error_set (error, "PROTOCOL", "batch announced %u items but holds %u",
                             self->count, self->index);
    if (rc < 0)
        return sf_error_set (error, "PROTOCOL", "item %u: %s", self->index, why);
    self->index++;
    return 0;
}

void
sf_batchr_close (sf_batchr_t *self)
{
    msgpack_unpacked_destroy (&self->head);
    msgpack_unpacked_destroy (&self->payload);
}

//  --------------------------------------------------------------------------
//  Names of analyzers: lower-case letters, digits, '_', '-', '.'.

bool
sf_codec_name_valid (const char *name, size_t size)
{
    if (size == 0 || size > SF_NAME_MAX)
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = name [i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

//  Fields a job map may carry, in the order of s_job_field_t. Checklist
//  when adding one: this table and the enum, sf_job.c (JSON edge),
//  docs/PROTOCOL.md "Job", README "Jobs".
static const sf_mp_key_t s_job_fields [] = {
    SF_MP_KEY ("analyzer"), SF_MP_KEY ("symbol"), SF_MP_KEY ("timeframe"),
    SF_MP_KEY ("params"), SF_MP_KEY ("priority"), SF_MP_KEY ("timeout_ms"),
    SF_MP_KEY ("retries"), SF_MP_KEY ("key"), SF_MP_KEY ("candles"),
    SF_MP_KEY ("from"), SF_MP_KEY ("to"), SF_MP_KEY ("limit"), SF_MP_KEY ("state_key"),
    SF_MP_KEY ("state"), SF_MP_KEY ("backoff_ms"), SF_MP_KEY ("then")
};

typedef enum {
    S_ANALYZER, S_SYMBOL, S_TIMEFRAME, S_PARAMS, S_PRIORITY, S_TIMEOUT, S_RETRIES, S_KEY,
    S_CANDLES, S_FROM, S_TO, S_LIMIT, S_STATE_KEY, S_STATE, S_BACKOFF, S_THEN,
    S_JOB_FIELDS
} s_job_field_t;

//  "from" and "to": epoch milliseconds, or an ISO-8601 time that the
//  worker will read with the same parser (sf_time_parse), so that a time
//  the broker accepts is never refused after dispatch.
static int
s_check_time (const msgpack_object *value, const char *field, sf_error_t *error)
{
    int64_t ms;
    if (value && value->type != MSGPACK_OBJECT_POSITIVE_INTEGER
    &&  (value->type != MSGPACK_OBJECT_STR
     ||  sf_time_parse (value->via.str.ptr, value->via.str.size, &ms)))
        return sf_error_set (error, "BAD_INPUT", "\"%s\" must be %s", field, SF_TIME_FORMS);
    return 0;
}

//  Check an optional string field's length.
static int
s_check_str (const msgpack_object *value, const char *field, size_t max, sf_error_t *error)
{
    if (value && (value->type != MSGPACK_OBJECT_STR
              ||  value->via.str.size == 0 || value->via.str.size > max))
        return sf_error_set (error, "BAD_INPUT", "\"%s\" must be a string of 1-%zu characters",
                             field, max);
    return 0;
}

static int s_job_check (const msgpack_object *job, sf_jobspec_t *spec, int depth,
                        sf_error_t *error);

//  A follow-up job map at depth (1 for a job's own "then"), checked like a
//  job; its errors get the "then": prefix.
static int
s_check_then (const msgpack_object *then, int depth, sf_error_t *error)
{
    if (depth > SF_CHAIN_MAX)
        return sf_error_set (error, "BAD_INPUT", "\"then\" nests more than %d follow-ups",
                             SF_CHAIN_MAX);
    sf_jobspec_t spec;
    sf_error_t inner;
    if (then->type != MSGPACK_OBJECT_MAP)
        sf_error_set (&inner, "BAD_INPUT", "a follow-up must be a job map");
    else
    if (s_job_check (then, &spec, depth, &inner) == 0) {
        if (!spec.key)
            return 0;
        sf_error_set (&inner, "BAD_INPUT", "a follow-up may not have a \"key\"");
    }
    return sf_error_set (error, "BAD_INPUT", "\"then\": %s", inner.message);
}

//  --------------------------------------------------------------------------
//  Validate a job map: one pass over its keys, then each field's rules.

int
sf_codec_job_check (const msgpack_object *job, sf_jobspec_t *spec, sf_error_t *error)
{
    return s_job_check (job, spec, 0, error);
}

static int
s_job_check (const msgpack_object *job, sf_jobspec_t *spec, int depth, sf_error_t *error)
{
    if (job->type != MSGPACK_OBJECT_MAP)
        return sf_error_set (error, "BAD_INPUT", "a job must be a map");
    const msgpack_object *field [S_JOB_FIELDS];
    const msgpack_object *unknown;
    if (sf_mp_fields (job, s_job_fields, S_JOB_FIELDS, field, &unknown))
        return sf_error_set (error, "BAD_INPUT",
                             "job field names must be strings, each at most once");
    if (unknown)
        return sf_error_set (error, "BAD_INPUT", "unknown job field \"%.*s\"",
                             (int) (unknown->via.str.size > 64? 64: unknown->via.str.size),
                             unknown->via.str.ptr);
    const msgpack_object *analyzer = field [S_ANALYZER];
    if (!analyzer || analyzer->type != MSGPACK_OBJECT_STR
    ||  !sf_codec_name_valid (analyzer->via.str.ptr, analyzer->via.str.size))
        return sf_error_set (error, "BAD_INPUT",
                             "\"analyzer\" must be a name of 1-64 characters [a-z0-9_.-]");
    spec->analyzer = analyzer->via.str.ptr;
    spec->analyzer_size = analyzer->via.str.size;

    if (s_check_str (field [S_SYMBOL], "symbol", SF_NAME_MAX, error)
    ||  s_check_str (field [S_TIMEFRAME], "timeframe", SF_TIMEFRAME_MAX, error)
    ||  s_check_str (field [S_KEY], "key", SF_KEY_MAX, error)
    ||  s_check_str (field [S_STATE_KEY], "state_key", SF_KEY_MAX, error))
        return -1;
    //  The broker attaches "state" on dispatch (docs/PROTOCOL.md 4.5.3)
    if (field [S_STATE])
        return sf_error_set (error, "BAD_INPUT",
                             "\"state\" is set by the broker, not by clients");
    if (field [S_PARAMS] && field [S_PARAMS]->type != MSGPACK_OBJECT_MAP)
        return sf_error_set (error, "BAD_INPUT", "\"params\" must be a map");
    //  The columns themselves are the worker's to check (sf_candles_unpack)
    if (field [S_CANDLES] && field [S_CANDLES]->type != MSGPACK_OBJECT_MAP)
        return sf_error_set (error, "BAD_INPUT",
                             "\"candles\" must be a map of float64 columns");
    if (s_check_time (field [S_FROM], "from", error)
    ||  s_check_time (field [S_TO], "to", error))
        return -1;
    uint64_t limit;
    if (field [S_LIMIT] && (sf_mp_uint (field [S_LIMIT], SF_LIMIT_MAX, &limit) || limit == 0))
        return sf_error_set (error, "BAD_INPUT", "\"limit\" must be an integer 1-%d",
                             SF_LIMIT_MAX);

    uint64_t value;
    spec->priority = SF_PRIORITY_DEFAULT;
    if (field [S_PRIORITY]) {
        if (sf_mp_uint (field [S_PRIORITY], SF_PRIORITY_MAX, &value))
            return sf_error_set (error, "BAD_INPUT", "\"priority\" must be an integer 0-9");
        spec->priority = (int) value;
    }
    spec->timeout_ms = SF_TIMEOUT_DEFAULT;
    if (field [S_TIMEOUT]) {
        if (sf_mp_uint (field [S_TIMEOUT], UINT32_MAX, &value) || value == 0)
            return sf_error_set (error, "BAD_INPUT",
                                 "\"timeout_ms\" must be an integer 1-4294967295");
        spec->timeout_ms = (uint32_t) value;
    }
    spec->retries = SF_RETRIES_DEFAULT;
    if (field [S_RETRIES]) {
        if (sf_mp_uint (field [S_RETRIES], SF_RETRIES_MAX, &value))
            return sf_error_set (error, "BAD_INPUT", "\"retries\" must be an integer 0-100");
        spec->retries = (uint32_t) value;
    }
    spec->backoff_ms = SF_BACKOFF_DEFAULT;
    if (field [S_BACKOFF]) {
        if (sf_mp_uint (field [S_BACKOFF], SF_BACKOFF_MAX, &value))
            return sf_error_set (error, "BAD_INPUT", "\"backoff_ms\" must be an integer 0-%d",
                                 SF_BACKOFF_MAX);
        spec->backoff_ms = (uint32_t) value;
    }
    const msgpack_object *key = field [S_KEY];
    if (key && memchr (key->via.str.ptr, 0, key->via.str.size))
        return sf_error_set (error, "BAD_INPUT", "\"key\" must not contain a NUL character");
    spec->key = key? key->via.str.ptr: NULL;
    spec->key_size = key? key->via.str.size: 0;
    const msgpack_object *state_key = field [S_STATE_KEY];
    if (state_key && memchr (state_key->via.str.ptr, 0, state_key->via.str.size))
        return sf_error_set (error, "BAD_INPUT",
                             "\"state_key\" must not contain a NUL character");
    spec->state_key = state_key? state_key->via.str.ptr: NULL;
    spec->state_key_size = state_key? state_key->via.str.size: 0;
    spec->then = field [S_THEN];
    if (spec->then && s_check_then (spec->then, depth + 1, error))
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
//  The follow-up's job map: then, with params.previous set.

void
sf_codec_pack_follow_up (msgpack_packer *pk, const msgpack_object *then,
                         const uint8_t id [SF_UUID_SIZE], const char *analyzer,
                         const char *payload, size_t payload_size)
{
    assert (then->type == MSGPACK_OBJECT_MAP);
    const msgpack_object *params = sf_mp_get (then, "params");
    msgpack_pack_map (pk, then->via.map.size + (params? 0: 1));
    for (uint32_t i = 0; i < then->via.map.size; i++) {
        const msgpack_object_kv *kv = &then->via.map.ptr [i];
        if (&kv->val == params)
            continue;           //  Packed last, with "previous"
        msgpack_pack_object (pk, kv->key);
        msgpack_pack_object (pk, kv->val);
    }
    sf_mp_pack_str (pk, "params");
    const msgpack_object *old = params? sf_mp_get (params, "previous"): NULL;
    msgpack_pack_map (pk, (params? params->via.map.size: 0) - (old? 1: 0) + 1);
    for (uint32_t i = 0; params && i < params->via.map.size; i++) {
        const msgpack_object_kv *kv = &params->via.map.ptr [i];
        if (&kv->val == old)
            continue;
        msgpack_pack_object (pk, kv->key);
        msgpack_pack_object (pk, kv->val);
    }
    sf_mp_pack_str (pk, "previous");
    msgpack_pack_map (pk, 3);
    char text [SF_UUID_STRLEN + 1];       //  For analyzers and JSON: the text form
    sf_uuid_str (id, text);
    sf_mp_pack_kv_str (pk, "id", text);
    sf_mp_pack_kv_str (pk, "analyzer", analyzer);
    sf_mp_pack_str (pk, "result");
    pk->callback (pk->data, payload, payload_size);
}

//  --------------------------------------------------------------------------
//  A job map with an analyzer state attached (the broker, on dispatch).

void
sf_codec_pack_job_state (msgpack_packer *pk, const msgpack_object *job, const void *state,
                         size_t state_size)
{
    assert (job->type == MSGPACK_OBJECT_MAP);
    const msgpack_object *old = sf_mp_get (job, "state");
    msgpack_pack_map (pk, job->via.map.size - (old? 1: 0) + 1);
    for (uint32_t i = 0; i < job->via.map.size; i++) {
        const msgpack_object_kv *kv = &job->via.map.ptr [i];
        if (&kv->val == old)
            continue;           //  Replaced by the new state below
        msgpack_pack_object (pk, kv->key);
        msgpack_pack_object (pk, kv->val);
    }
    sf_mp_pack_str (pk, "state");
    msgpack_pack_bin (pk, state_size);
    msgpack_pack_bin_body (pk, state, state_size);
}

//  --------------------------------------------------------------------------
//  Ids.

int
sf_codec_id (const msgpack_object *object, uint8_t id [SF_UUID_SIZE])
{
    if (!object || object->type != MSGPACK_OBJECT_BIN
    ||  object->via.bin.size != SF_UUID_SIZE)
        return -1;
    memcpy (id, object->via.bin.ptr, SF_UUID_SIZE);
    return 0;
}

static void
s_pack_kv_id (msgpack_packer *pk, const uint8_t id [SF_UUID_SIZE])
{
    sf_mp_pack_str (pk, "id");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, id, SF_UUID_SIZE);
}

uint64_t
sf_codec_tag (const msgpack_object *map)
{
    uint64_t tag = 0;
    sf_mp_uint (sf_mp_get (map, "tag"), UINT64_MAX, &tag);
    return tag;
}

//  --------------------------------------------------------------------------
//  Item headers are packed into a small stack buffer and appended to the
//  body in one write: packing straight into a body costs a capacity check
//  and a call for every key and value.

typedef struct {
    char data [512];            //  Bigger than any header
    size_t size;                //  Bytes packed
} s_small_t;

static int
s_small_write (void *data, const char *bytes, size_t size)
{
    s_small_t *small = (s_small_t *) data;
    assert (small->size + size <= sizeof small->data);
    memcpy (small->data + small->size, bytes, size);
    small->size += size;
    return 0;
}

//  Append what small holds to the body pk packs into.
static void
s_small_flush (msgpack_packer *pk, const s_small_t *small)
{
    pk->callback (pk->data, small->data, small->size);
}

//  --------------------------------------------------------------------------
//  DISPATCH item header.

void
sf_codec_pack_dispatch_head (msgpack_packer *out, const uint8_t id [SF_UUID_SIZE],
                             uint32_t attempt, uint32_t timeout_ms)
{
    s_small_t small = { .size = 0 };
    msgpack_packer packer, *pk = &packer;
    msgpack_packer_init (pk, &small, s_small_write);
    msgpack_pack_map (pk, 3);
    s_pack_kv_id (pk, id);
    sf_mp_pack_kv_uint (pk, "attempt", attempt);
    sf_mp_pack_kv_uint (pk, "timeout_ms", timeout_ms);
    s_small_flush (out, &small);
}

int
sf_codec_read_dispatch_head (const msgpack_object *head, uint8_t id [SF_UUID_SIZE],
                             uint32_t *attempt, uint32_t *timeout_ms, sf_error_t *error)
{
    static const sf_mp_key_t keys [] = {
        SF_MP_KEY ("id"), SF_MP_KEY ("attempt"), SF_MP_KEY ("timeout_ms")
    };
    const msgpack_object *field [3];
    uint64_t a, t;
    if (sf_mp_fields (head, keys, 3, field, NULL) || sf_codec_id (field [0], id))
        return sf_error_set (error, "PROTOCOL", "dispatch header needs \"id\", 16 bytes");
    if (sf_mp_uint (field [1], UINT32_MAX, &a)
    ||  sf_mp_uint (field [2], UINT32_MAX, &t))
        return sf_error_set (error, "PROTOCOL",
                             "dispatch header needs \"attempt\" and \"timeout_ms\"");
    *attempt = (uint32_t) a;
    *timeout_ms = (uint32_t) t;
    return 0;
}

//  --------------------------------------------------------------------------
//  RESULTS item header (worker to broker).

void
sf_codec_pack_outcome_head (msgpack_packer *out, const uint8_t id [SF_UUID_SIZE],
                            uint32_t attempt, sf_status_t status, uint64_t run_us)
{
    sf_codec_pack_outcome_head_state (out, id, attempt, status, run_us, NULL, 0);
}

void
sf_codec_pack_outcome_head_state (msgpack_packer *out, const uint8_t id [SF_UUID_SIZE],
                                  uint32_t attempt, sf_status_t status, uint64_t run_us,
                                  const void *state, size_t state_size)
{
    s_small_t small = { .size = 0 };
    msgpack_packer packer, *pk = &packer;
    msgpack_packer_init (pk, &small, s_small_write);
    msgpack_pack_map (pk, state? 5: 4);
    s_pack_kv_id (pk, id);
    sf_mp_pack_kv_uint (pk, "attempt", attempt);
    sf_mp_pack_kv_str (pk, "status", sf_status_name (status));
    sf_mp_pack_kv_uint (pk, "run_us", run_us);
    if (state) {
        //  The key and the bin's own header fit the small buffer; the bytes,
        //  which may be large, go straight to the body
        sf_mp_pack_str (pk, "state");
        msgpack_pack_bin (pk, state_size);
    }
    s_small_flush (out, &small);
    if (state && state_size)
        out->callback (out->data, (const char *) state, state_size);
}

//  Read a status string.
static int
s_read_status (const msgpack_object *value, sf_status_t *status)
{
    if (!value || value->type != MSGPACK_OBJECT_STR)
        return -1;
    *status = sf_status_parse (value->via.str.ptr, value->via.str.size);
    return *status == SF_STATUS_INVALID? -1: 0;
}

int
sf_codec_read_outcome_head (const msgpack_object *head, uint8_t id [SF_UUID_SIZE],
                            uint32_t *attempt, sf_status_t *status, uint64_t *run_us,
                            sf_error_t *error)
{
    static const sf_mp_key_t keys [] = {
        SF_MP_KEY ("id"), SF_MP_KEY ("attempt"), SF_MP_KEY ("status"), SF_MP_KEY ("run_us")
    };
    const msgpack_object *field [4];
    uint64_t a;
    if (sf_mp_fields (head, keys, 4, field, NULL) || sf_codec_id (field [0], id))
        return sf_error_set (error, "PROTOCOL", "result header needs \"id\", 16 bytes");
    if (sf_mp_uint (field [1], UINT32_MAX, &a))
        return sf_error_set (error, "PROTOCOL", "result header needs \"attempt\"");
    if (s_read_status (field [2], status))
        return sf_error_set (error, "PROTOCOL", "result header needs a known \"status\"");
    *run_us = 0;
    sf_mp_uint (field [3], UINT64_MAX, run_us);
    *attempt = (uint32_t) a;
    return 0;
}

int
sf_codec_read_outcome_state (const msgpack_object *head, const char **state,
                             size_t *state_size)
{
    *state = NULL;
    *state_size = 0;
    const msgpack_object *value = sf_mp_get (head, "state");
    if (!value)
        return 0;
    if (value->type != MSGPACK_OBJECT_BIN || value->via.bin.size > SF_STATE_MAX)
        return -1;
    *state = value->via.bin.ptr;
    *state_size = value->via.bin.size;
    return 0;
}

//  --------------------------------------------------------------------------
//  RESULT item header (broker to client).

void
sf_codec_pack_result_head (msgpack_packer *out, const sf_result_head_t *head)
{
    s_small_t small = { .size = 0 };
    msgpack_packer packer, *pk = &packer;
    msgpack_packer_init (pk, &small, s_small_write);
    msgpack_pack_map (pk, 8 + (head->indexed? 1: 0) + (head->chained? 1: 0));
    s_pack_kv_id (pk, head->id);
    if (head->indexed)
        sf_mp_pack_kv_uint (pk, "index", head->index);
    sf_mp_pack_kv_str (pk, "status", sf_status_name (head->status));
    sf_mp_pack_kv_str (pk, "analyzer", head->analyzer);
    sf_mp_pack_kv_str (pk, "worker", head->worker);
    sf_mp_pack_kv_uint (pk, "attempts", head->attempts);
    sf_mp_pack_kv_uint (pk, "queued_us", head->queued_us);
    sf_mp_pack_kv_uint (pk, "run_us", head->run_us);
    sf_mp_pack_kv_uint (pk, "total_us", head->total_us);
    if (head->chained) {
        sf_mp_pack_str (pk, "then");
        msgpack_pack_bin (pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (pk, head->then, SF_UUID_SIZE);
    }
    s_small_flush (out, &small);
}

int
sf_codec_read_result_head (const msgpack_object *head, sf_result_head_t *out,
                           char *analyzer, char *worker, sf_error_t *error)
{
    static const sf_mp_key_t keys [] = {
        SF_MP_KEY ("id"), SF_MP_KEY ("status"), SF_MP_KEY ("analyzer"), SF_MP_KEY ("worker"),
        SF_MP_KEY ("attempts"), SF_MP_KEY ("queued_us"), SF_MP_KEY ("run_us"),
        SF_MP_KEY ("total_us"), SF_MP_KEY ("index"), SF_MP_KEY ("then")
    };
    const msgpack_object *field [10];
    uint64_t attempts;
    memset (out, 0, sizeof *out);
    if (sf_mp_fields (head, keys, 10, field, NULL) || sf_codec_id (field [0], out->id))
        return sf_error_set (error, "PROTOCOL", "result needs \"id\", 16 bytes");
    if (s_read_status (field [1], &out->status))
        return sf_error_set (error, "PROTOCOL", "result needs a known \"status\"");
    if (sf_mp_strcpy (field [2], analyzer, SF_NAME_MAX + 1))
        return sf_error_set (error, "PROTOCOL", "result needs \"analyzer\"");
    worker [0] = 0;
    const msgpack_object *value = field [3];
    if (value && value->type == MSGPACK_OBJECT_STR && value->via.str.size > 0
    &&  sf_mp_strcpy (value, worker, SF_NAME_MAX + 1))
        return sf_error_set (error, "PROTOCOL", "result \"worker\" is too long");
    if (sf_mp_uint (field [4], UINT32_MAX, &attempts))
        return sf_error_set (error, "PROTOCOL", "result needs \"attempts\"");
    out->attempts = (uint32_t) attempts;
    out->analyzer = analyzer;
    out->worker = worker;
    sf_mp_uint (field [5], UINT64_MAX, &out->queued_us);
    sf_mp_uint (field [6], UINT64_MAX, &out->run_us);
    sf_mp_uint (field [7], UINT64_MAX, &out->total_us);
    uint64_t index;
    if (field [8]) {
        if (sf_mp_uint (field [8], UINT32_MAX, &index))
            return sf_error_set (error, "PROTOCOL", "result \"index\" must be an unsigned integer");
        out->indexed = true;
        out->index = (uint32_t) index;
    }
    if (field [9]) {
        if (sf_codec_id (field [9], out->then))
            return sf_error_set (error, "PROTOCOL", "result \"then\" must be 16 bytes");
        out->chained = true;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Groups.

static const char *s_policy_names [] = { "all", "fail-fast", "any" };
static const char *s_group_state_names [] = { "running", "ok", "failed", "timeout", "cancelled" };

const char *
sf_policy_name (sf_policy_t policy)
{
    return policy < SF_POLICY_INVALID? s_policy_names [policy]: "invalid";
}

sf_policy_t
sf_policy_parse (const char *name, size_t size)
{
    for (int i = 0; i < SF_POLICY_INVALID; i++)
        if (strlen (s_policy_names [i]) == size && memcmp (s_policy_names [i], name, size) == 0)
            return (sf_policy_t) i;
    return SF_POLICY_INVALID;
}

const char *
sf_group_state_name (sf_group_state_t state)
{
    return state < SF_GROUP_INVALID? s_group_state_names [state]: "invalid";
}

sf_group_state_t
sf_group_state_parse (const char *name, size_t size)
{
    for (int i = 0; i < SF_GROUP_INVALID; i++)
        if (strlen (s_group_state_names [i]) == size
        &&  memcmp (s_group_state_names [i], name, size) == 0)
            return (sf_group_state_t) i;
    return SF_GROUP_INVALID;
}

//  A bool value, or absent (false). Returns 0 or -1.
static int
s_read_bool (const msgpack_object *value, bool *out)
{
    *out = false;
    if (!value)
        return 0;
    if (value->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *out = value->via.boolean;
    return 0;
}

int
sf_codec_read_group_opts (const msgpack_object *header, sf_group_opts_t *opts,
                          sf_error_t *error)
{
    memset (opts, 0, sizeof *opts);
    const msgpack_object *value = sf_mp_get (header, "policy");
    if (value) {
        if (value->type != MSGPACK_OBJECT_STR
        ||  (opts->policy = sf_policy_parse (value->via.str.ptr, value->via.str.size))
            == SF_POLICY_INVALID)
            return sf_error_set (error, "PROTOCOL",
                                 "GROUP \"policy\" must be \"all\", \"fail-fast\" or \"any\"");
    }
    uint64_t number;
    if ((value = sf_mp_get (header, "min_ok"))) {
        if (sf_mp_uint (value, SF_BATCH_MAX, &number))
            return sf_error_set (error, "PROTOCOL", "GROUP \"min_ok\" must be 0-%d", SF_BATCH_MAX);
        opts->min_ok = (uint32_t) number;
    }
    if ((value = sf_mp_get (header, "timeout_ms"))) {
        if (sf_mp_uint (value, UINT32_MAX, &number))
            return sf_error_set (error, "PROTOCOL", "GROUP \"timeout_ms\" must be 0-4294967295");
        opts->timeout_ms = (uint32_t) number;
    }
    if (s_read_bool (sf_mp_get (header, "stream"), &opts->stream))
        return sf_error_set (error, "PROTOCOL", "GROUP \"stream\" must be a bool");
    if (s_read_bool (sf_mp_get (header, "then"), &opts->then))
        return sf_error_set (error, "PROTOCOL", "GROUP \"then\" must be a bool");
    //  Checked like a job's key: a wrong key is the caller's input
    if ((value = sf_mp_get (header, "key"))) {
        if (s_check_str (value, "key", SF_KEY_MAX, error))
            return -1;
        if (memchr (value->via.str.ptr, 0, value->via.str.size))
            return sf_error_set (error, "BAD_INPUT",
                                 "\"key\" must not contain a NUL character");
        opts->key = value->via.str.ptr;
        opts->key_size = value->via.str.size;
    }
    return 0;
}

void
sf_codec_pack_group_head (msgpack_packer *pk, const sf_group_head_t *head, bool item)
{
    msgpack_pack_map (pk, item? 3: 6 + SF_STATUS_INVALID);
    //  The tag and count first and fixed-width, as in every batch header
    unsigned char fixed [16] = { 0xa3, 't', 'a', 'g', 0xcf, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 'n', 0xce };
    for (int i = 0; i < 8; i++)
        fixed [5 + i] = (unsigned char) (head->tag >> (56 - 8 * i));
    pk->callback (pk->data, (const char *) fixed, sizeof fixed);
    unsigned char count [4];
    for (int i = 0; i < 4; i++)
        count [i] = (unsigned char) (head->n >> (24 - 8 * i));
    pk->callback (pk->data, (const char *) count, sizeof count);
    sf_mp_pack_str (pk, "group");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, head->group, SF_UUID_SIZE);
    if (item)
        return;
    sf_mp_pack_kv_str (pk, "state", sf_group_state_name (head->state));
    sf_mp_pack_kv_uint (pk, "total", head->total);
    for (int status = 0; status < SF_STATUS_INVALID; status++)
        sf_mp_pack_kv_uint (pk, sf_status_name ((sf_status_t) status), head->counts [status]);
    sf_mp_pack_str (pk, "then");
    if (head->then)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

int
sf_codec_read_group_head (const msgpack_object *head, sf_group_head_t *out, bool item,
                          sf_error_t *error)
{
    memset (out, 0, sizeof *out);
    if (!head || head->type != MSGPACK_OBJECT_MAP)
        return sf_error_set (error, "PROTOCOL", "group header must be a map");
    uint64_t number;
    out->tag = sf_codec_tag (head);
    if (sf_mp_uint (sf_mp_get (head, "n"), SF_BATCH_MAX, &number))
        return sf_error_set (error, "PROTOCOL", "group header needs \"n\", a count");
    out->n = (uint32_t) number;
    if (sf_codec_id (sf_mp_get (head, "group"), out->group))
        return sf_error_set (error, "PROTOCOL", "group header needs \"group\", 16 bytes");
    if (item)
        return 0;
    const msgpack_object *state = sf_mp_get (head, "state");
    if (!state || state->type != MSGPACK_OBJECT_STR
    ||  (out->state = sf_group_state_parse (state->via.str.ptr, state->via.str.size))
        == SF_GROUP_INVALID || out->state == SF_GROUP_RUNNING)
        return sf_error_set (error, "PROTOCOL", "group header needs a final \"state\"");
    if (sf_mp_uint (sf_mp_get (head, "total"), SF_BATCH_MAX, &number))
        return sf_error_set (error, "PROTOCOL", "group header needs \"total\", 0-%d",
                             SF_BATCH_MAX);
    out->total = (uint32_t) number;
    for (int status = 0; status < SF_STATUS_INVALID; status++) {
        if (sf_mp_uint (sf_mp_get (head, sf_status_name ((sf_status_t) status)), out->total,
                        &number))
            return sf_error_set (error, "PROTOCOL", "group header needs \"%s\", 0-total",
                                 sf_status_name ((sf_status_t) status));
        out->counts [status] = (uint32_t) number;
    }
    if (s_read_bool (sf_mp_get (head, "then"), &out->then))
        return sf_error_set (error, "PROTOCOL", "group header \"then\" must be a bool");
    if (out->n > out->total + (out->then? 1: 0))
        return sf_error_set (error, "PROTOCOL", "group header \"n\" is above \"total\"");
    return 0;
}

//  --------------------------------------------------------------------------
//  Error payload.

void
sf_codec_pack_error (msgpack_packer *pk, const char *code, const char *message,
                     const msgpack_object *context)
{
    msgpack_pack_map (pk, context? 3: 2);
    sf_mp_pack_kv_str (pk, "code", code);
    sf_mp_pack_kv_str (pk, "message", message);
    if (context) {
        sf_mp_pack_str (pk, "context");
        msgpack_pack_object (pk, *context);
    }
}
