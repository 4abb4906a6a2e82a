/*  =========================================================================
    sf_result - the final outcome of one job, as a client receives it

    The payload (the analyzer's output, or the error map) stays in its
    msgpack encoding and is converted to JSON only when asked for.
    ========================================================================= */

#include <string.h>
#include "sf_alloc.h"
#include "sf_codec.h"
#include "sf_json.h"
#include "sf_mp.h"
#include "sf_result.h"

struct _sf_result_t {
    char id [SF_ID_STRLEN + 1];         //  Job id, text form
    char then [SF_ID_STRLEN + 1];       //  The follow-up's id, text form, or ""
    sf_result_head_t head;              //  Status, attempts, timings
    char analyzer [SF_NAME_MAX + 1];    //  Analyzer name
    char worker [SF_NAME_MAX + 1];      //  Worker name, "" if none
    char *error_code;                   //  When status is not ok
    char *error_message;                //  When status is not ok
    size_t payload_size;                //  Size of payload
    char payload [];                    //  Payload encoding, in the same block
};

//  Read the code and message of an error payload (which was checked when
//  it arrived) into self.
static void
s_read_error (sf_result_t *self)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object payload;
    const char *why;
    if (sf_mp_next (&unpacked, self->payload, self->payload_size, &offset, &payload,
                    NULL, NULL, &why) == 0) {
        self->error_code = sf_mp_strdup (sf_mp_get (&payload, "code"));
        self->error_message = sf_mp_strdup (sf_mp_get (&payload, "message"));
    }
    msgpack_unpacked_destroy (&unpacked);
    if (!self->error_code)
        self->error_code = sf_alloc_strdup ("UNKNOWN");
    if (!self->error_message)
        self->error_message = sf_alloc_strdup ("");
}

//  --------------------------------------------------------------------------
//  Decode a RESULT item. The payload is only decoded when it is an error.

sf_result_t *
sf_result_decode (const msgpack_object *head, const char *payload, size_t payload_size,
                  sf_error_t *error)
{
    sf_result_t *self = (sf_result_t *) sf_alloc (sizeof *self + payload_size);
    if (sf_codec_read_result_head (head, &self->head, self->analyzer, self->worker, error)) {
        free (self);
        return NULL;
    }
    self->head.analyzer = self->analyzer;
    self->head.worker = self->worker;
    sf_uuid_str (self->head.id, self->id);
    self->then [0] = 0;
    if (self->head.chained)
        sf_uuid_str (self->head.then, self->then);
    memcpy (self->payload, payload, payload_size);
    self->payload_size = payload_size;
    self->error_code = self->error_message = NULL;
    if (self->head.status != SF_STATUS_OK)
        s_read_error (self);
    return self;
}

void
sf_result_destroy (sf_result_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_result_t *self = *self_p;
    free (self->error_code);
    free (self->error_message);
    free (self);
    *self_p = NULL;
}

const char *
sf_result_id (const sf_result_t *self)
{
    return self? self->id: NULL;
}

sf_status_t
sf_result_status (const sf_result_t *self)
{
    return self? self->head.status: SF_STATUS_INVALID;
}

const char *
sf_result_analyzer (const sf_result_t *self)
{
    return self? self->analyzer: NULL;
}

const char *
sf_result_worker (const sf_result_t *self)
{
    return self? self->worker: NULL;
}

const char *
sf_result_then_id (const sf_result_t *self)
{
    return self && self->head.chained? self->then: NULL;
}

long
sf_result_index (const sf_result_t *self)
{
    return self && self->head.indexed? (long) self->head.index: -1;
}

unsigned
sf_result_attempts (const sf_result_t *self)
{
    return self? self->head.attempts: 0;
}

const char *
sf_result_error_code (const sf_result_t *self)
{
    return self? self->error_code: NULL;
}

const char *
sf_result_error_message (const sf_result_t *self)
{
    return self? self->error_message: NULL;
}

uint64_t
sf_result_queued_us (const sf_result_t *self)
{
    return self? self->head.queued_us: 0;
}

uint64_t
sf_result_run_us (const sf_result_t *self)
{
    return self? self->head.run_us: 0;
}

uint64_t
sf_result_total_us (const sf_result_t *self)
{
    return self? self->head.total_us: 0;
}

const uint8_t *
sf_result_id_bytes (const sf_result_t *self)
{
    return self->head.id;
}

const uint8_t *
sf_result_then_bytes (const sf_result_t *self)
{
    return self->head.chained? self->head.then: NULL;
}

const void *
sf_result_payload (const sf_result_t *self, size_t *size)
{
    if (size)
        *size = self? self->payload_size: 0;
    return self? self->payload: NULL;
}

//  The payload as a JSON value; the caller owns it.
static json_t *
s_payload_json (const sf_result_t *self)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    json_t *value = NULL;
    size_t offset = 0;
    //  The payload was checked when it arrived; it decodes again here
    if (msgpack_unpack_next (&unpacked, self->payload, self->payload_size, &offset)
        == MSGPACK_UNPACK_SUCCESS)
        value = sf_json_from_mp (&unpacked.data);
    msgpack_unpacked_destroy (&unpacked);
    return value? value: json_null ();
}

char *
sf_result_value_json (const sf_result_t *self)
{
    if (!self)
        return NULL;
    json_t *value = self->head.status == SF_STATUS_OK? s_payload_json (self): json_null ();
    char *text = sf_json_dumps (value);
    json_decref (value);
    return text;
}

//  --------------------------------------------------------------------------
//  The documented result format.

char *
sf_result_json (const sf_result_t *self)
{
    if (!self)
        return NULL;
    json_t *root = json_object ();
    json_object_set_new (root, "id", json_string (self->id));
    if (self->head.indexed)
        json_object_set_new (root, "index", json_integer (self->head.index));
    json_object_set_new (root, "status", json_string (sf_status_name (self->head.status)));
    json_object_set_new (root, "analyzer", json_string (self->analyzer));
    if (self->head.status == SF_STATUS_OK)
        json_object_set_new (root, "result", s_payload_json (self));
    else
        json_object_set_new (root, "error", s_payload_json (self));
    if (self->head.chained)
        json_object_set_new (root, "then", json_string (self->then));
    json_object_set_new (root, "attempts", json_integer (self->head.attempts));
    json_object_set_new (root, "worker", json_string (self->worker));
    json_t *timings = json_object ();
    json_object_set_new (timings, "queued_us", json_integer ((json_int_t) self->head.queued_us));
    json_object_set_new (timings, "run_us", json_integer ((json_int_t) self->head.run_us));
    json_object_set_new (timings, "total_us", json_integer ((json_int_t) self->head.total_us));
    json_object_set_new (root, "timings", timings);
    char *text = sf_json_dumps (root);
    json_decref (root);
    return text;
}
