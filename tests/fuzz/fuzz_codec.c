/*  =========================================================================
    fuzz_codec - fuzz target for the batch bodies (sf_codec)

    The input is a message body as it comes off the network. It is read as
    a batch with one value an item (SUBMIT) and with two (DISPATCH,
    RESULTS, RESULT); every item goes through each reader that may meet
    it: the job check, the three item-header readers, the client's result
    decoder and the JSON bridge. Two-value bodies are read twice, with
    payloads decoded and with payloads only checked (how the broker
    forwards them). Besides not crashing, leaking or reading
    out of bounds, the readers must keep their promises, checked here:

    - an item's raw span lies inside the body, and a batch reads to its
      announced count exactly or fails with PROTOCOL, whether payloads
      are decoded or only checked;
    - a job the check accepts has every field in its documented range;
    - a header that reads back packs and reads again to the same values;
    - every JSON text produced is valid JSON.

    A broken promise aborts, which the driver (or libFuzzer) reports.
    ========================================================================= */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_gather.h"
#include "sf_json.h"
#include "sf_mp.h"
#include "sf_result.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_codec: %s:%d: broken promise: %s\n",        \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  --------------------------------------------------------------------------
//  An error is one of the documented codes with a terminated message.

static void
s_check_error (const sf_error_t *error, const char *code)
{
    S_REQUIRE (strnlen (error->code, sizeof error->code) < sizeof error->code);
    S_REQUIRE (strnlen (error->message, sizeof error->message) < sizeof error->message);
    S_REQUIRE (strcmp (error->code, code) == 0);
    S_REQUIRE (error->message [0] != 0);
}

//  Text must be valid JSON (NULs inside strings are allowed, escaped).
static void
s_check_json (char *text)
{
    S_REQUIRE (text != NULL);
    json_t *value = json_loads (text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    S_REQUIRE (value != NULL);
    json_decref (value);
    free (text);
}

//  Decode the one value packed into buffer (which the caller frees).
static void
s_decode_packed (msgpack_sbuffer *buffer, msgpack_unpacked *unpacked, msgpack_object *object)
{
    size_t offset = 0;
    const char *why = NULL;
    S_REQUIRE (sf_mp_next (unpacked, buffer->data, buffer->size, &offset, object,
                           NULL, NULL, &why) == 0);
    S_REQUIRE (offset == buffer->size);
}

//  --------------------------------------------------------------------------
//  The job check: accepted values are in range, refusals are BAD_INPUT.

static void
s_check_job (const msgpack_object *job)
{
    sf_jobspec_t spec;
    sf_error_t error = { "", "" };
    if (sf_codec_job_check (job, &spec, &error)) {
        s_check_error (&error, "BAD_INPUT");
        return;
    }
    S_REQUIRE (sf_codec_name_valid (spec.analyzer, spec.analyzer_size));
    S_REQUIRE (spec.priority >= 0 && spec.priority <= SF_PRIORITY_MAX);
    S_REQUIRE (spec.timeout_ms >= 1);
    S_REQUIRE (spec.retries <= SF_RETRIES_MAX);
    S_REQUIRE (spec.key == NULL || (spec.key_size >= 1 && spec.key_size <= SF_KEY_MAX));
    S_REQUIRE (spec.key == NULL || memchr (spec.key, 0, spec.key_size) == NULL);
    S_REQUIRE (spec.state_key == NULL
           || (spec.state_key_size >= 1 && spec.state_key_size <= SF_KEY_MAX
           &&  memchr (spec.state_key, 0, spec.state_key_size) == NULL));
    S_REQUIRE (sf_mp_get (job, "state") == NULL);
    //  The broker's dispatch form of an accepted job reads back with its state
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_codec_pack_job_state (&pk, job, "state", 5);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    S_REQUIRE (msgpack_unpack_next (&unpacked, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS && offset == buffer.size);
    const msgpack_object *state = sf_mp_get (&unpacked.data, "state");
    S_REQUIRE (state && state->type == MSGPACK_OBJECT_BIN && state->via.bin.size == 5);
    S_REQUIRE (unpacked.data.via.map.size == job->via.map.size + 1);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
}

//  The three item headers: what reads back packs and reads again equal.
static void
s_check_heads (const msgpack_object *head)
{
    sf_error_t error = { "", "" };
    uint8_t id [SF_UUID_SIZE], id2 [SF_UUID_SIZE];
    uint32_t attempt, attempt2, timeout_ms, timeout_ms2;
    msgpack_sbuffer buffer;
    msgpack_packer pk;
    msgpack_unpacked unpacked;
    msgpack_object object;

    if (sf_codec_read_dispatch_head (head, id, &attempt, &timeout_ms, &error) == 0) {
        msgpack_sbuffer_init (&buffer);
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        sf_codec_pack_dispatch_head (&pk, id, attempt, timeout_ms);
        msgpack_unpacked_init (&unpacked);
        s_decode_packed (&buffer, &unpacked, &object);
        S_REQUIRE (sf_codec_read_dispatch_head (&object, id2, &attempt2, &timeout_ms2,
                                                &error) == 0);
        S_REQUIRE (memcmp (id, id2, SF_UUID_SIZE) == 0);
        S_REQUIRE (attempt == attempt2 && timeout_ms == timeout_ms2);
        msgpack_unpacked_destroy (&unpacked);
        msgpack_sbuffer_destroy (&buffer);
    }
    else
        s_check_error (&error, "PROTOCOL");

    sf_status_t status, status2;
    uint64_t run_us, run_us2;
    if (sf_codec_read_outcome_head (head, id, &attempt, &status, &run_us, &error) == 0) {
        S_REQUIRE (status < SF_STATUS_INVALID);
        //  A state, when there is one, is a bounded bin; it packs and reads back
        const char *state = NULL, *state2 = NULL;
        size_t state_size = 0, state_size2 = 0;
        bool has_state = sf_codec_read_outcome_state (head, &state, &state_size) == 0;
        S_REQUIRE (has_state || (!state && state_size == 0));
        S_REQUIRE (state_size <= SF_STATE_MAX);
        msgpack_sbuffer_init (&buffer);
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        sf_codec_pack_outcome_head_state (&pk, id, attempt, status, run_us, state, state_size);
        msgpack_unpacked_init (&unpacked);
        s_decode_packed (&buffer, &unpacked, &object);
        S_REQUIRE (sf_codec_read_outcome_head (&object, id2, &attempt2, &status2, &run_us2,
                                               &error) == 0);
        S_REQUIRE (memcmp (id, id2, SF_UUID_SIZE) == 0);
        S_REQUIRE (attempt == attempt2 && status == status2 && run_us == run_us2);
        S_REQUIRE (sf_codec_read_outcome_state (&object, &state2, &state_size2) == 0);
        S_REQUIRE (state_size2 == state_size && (!state || !state_size
                                                 || memcmp (state, state2, state_size) == 0));
        msgpack_unpacked_destroy (&unpacked);
        msgpack_sbuffer_destroy (&buffer);
    }
    else
        s_check_error (&error, "PROTOCOL");

    sf_result_head_t result, result2;
    char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1];
    char analyzer2 [SF_NAME_MAX + 1], worker2 [SF_NAME_MAX + 1];
    if (sf_codec_read_result_head (head, &result, analyzer, worker, &error) == 0) {
        S_REQUIRE (result.status < SF_STATUS_INVALID);
        S_REQUIRE (result.analyzer == analyzer && result.worker == worker);
        S_REQUIRE (strlen (analyzer) <= SF_NAME_MAX && strlen (worker) <= SF_NAME_MAX);
        //  A name with a NUL inside reads back cut at the NUL; the round
        //  trip holds for the name as a C string
        if (analyzer [0]) {
            msgpack_sbuffer_init (&buffer);
            msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
            sf_codec_pack_result_head (&pk, &result);
            msgpack_unpacked_init (&unpacked);
            s_decode_packed (&buffer, &unpacked, &object);
            S_REQUIRE (sf_codec_read_result_head (&object, &result2, analyzer2, worker2,
                                                  &error) == 0);
            S_REQUIRE (memcmp (result.id, result2.id, SF_UUID_SIZE) == 0);
            S_REQUIRE (result.status == result2.status);
            S_REQUIRE (strcmp (analyzer, analyzer2) == 0 && strcmp (worker, worker2) == 0);
            S_REQUIRE (result.attempts == result2.attempts);
            S_REQUIRE (result.queued_us == result2.queued_us);
            S_REQUIRE (result.run_us == result2.run_us);
            S_REQUIRE (result.total_us == result2.total_us);
            msgpack_unpacked_destroy (&unpacked);
            msgpack_sbuffer_destroy (&buffer);
        }
    }
    else
        s_check_error (&error, "PROTOCOL");
    (void) sf_codec_tag (head);
}

//  A RESULT item as the client decodes it (the payload as bytes).
static void
s_check_result (const msgpack_object *head, const char *raw, size_t raw_size)
{
    sf_error_t error = { "", "" };
    sf_result_t *result = sf_result_decode (head, raw, raw_size, &error);
    if (!result) {
        s_check_error (&error, "PROTOCOL");
        return;
    }
    S_REQUIRE (strlen (sf_result_id (result)) == SF_ID_STRLEN);
    size_t size = 0;
    const void *payload = sf_result_payload (result, &size);
    S_REQUIRE (size == raw_size && memcmp (payload, raw, size) == 0);
    S_REQUIRE ((sf_result_status (result) == SF_STATUS_OK)
               == (sf_result_error_code (result) == NULL));
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object payload_object;
    size_t offset = 0;
    const char *why = NULL;
    //  Every checked payload decodes: the checker nests no deeper than
    //  msgpack-c
    S_REQUIRE (sf_mp_next (&unpacked, raw, raw_size, &offset, &payload_object, NULL, NULL,
                           &why) == 0);
    {
        s_check_json (sf_result_json (result));
        s_check_json (sf_result_value_json (result));
    }
    msgpack_unpacked_destroy (&unpacked);
    sf_result_destroy (&result);
}

//  An error payload with the item as its context still decodes.
static void
s_check_error_payload (const msgpack_object *context)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_codec_pack_error (&pk, "BAD_INPUT", "fuzz", context);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = NULL;
    //  Nesting one level deeper than the context may exceed the limit
    int rc = sf_mp_next (&unpacked, buffer.data, buffer.size, &offset, &object,
                         NULL, NULL, &why);
    S_REQUIRE (rc == 0 || strcmp (why, "nesting deeper than 32 levels") == 0
                       || strcmp (why, "msgpack value could not be decoded") == 0);
    if (rc == 0)
        S_REQUIRE (sf_mp_streq (sf_mp_get (&object, "code"), "BAD_INPUT"));
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
}

//  --------------------------------------------------------------------------
//  Read the body as a batch of per_item values an item; with decode false
//  second values are only checked (the broker's forwarding path), and
//  the reader must come to the same verdict.

static int
s_read_batch (const uint8_t *data, size_t size, int per_item, bool decode)
{
    const char *body = (const char *) data;
    sf_batchr_t reader;
    sf_error_t error = { "", "" };
    if (sf_batchr_open (&reader, body, size, per_item, SF_BATCH_MAX, &error)) {
        s_check_error (&error, "PROTOCOL");
        sf_batchr_close (&reader);
        return -1;
    }
    S_REQUIRE (reader.count <= SF_BATCH_MAX);
    uint32_t items = 0;
    int rc;
    msgpack_object head, payload;
    const char *raw;
    size_t raw_size;
    while ((rc = sf_batchr_next (&reader, &head, decode? &payload: NULL, &raw, &raw_size,
                                 &error)) == 0) {
        items++;
        S_REQUIRE (items <= reader.count);
        S_REQUIRE (raw >= body && raw_size > 0 && raw_size <= size
                   && (size_t) (raw - body) <= size - raw_size);
        const char *why = NULL;
        S_REQUIRE (sf_mp_check (raw, raw_size, &why) == raw_size);
        if (per_item == 1)
            s_check_job (&head);
        else
        if (decode) {
            s_check_job (&payload);
            s_check_error_payload (&payload);
        }
        else
            s_check_result (&head, raw, raw_size);
        if (decode) {
            s_check_heads (&head);
            s_check_json (sf_json_text (&head));
        }
    }
    if (rc == 1)
        S_REQUIRE (items == reader.count && reader.offset == size);
    else {
        S_REQUIRE (rc == -1);
        s_check_error (&error, "PROTOCOL");
    }
    sf_batchr_close (&reader);
    return rc == 1? (int) items: -1;
}

//  --------------------------------------------------------------------------
//  Group bodies: GROUP's options, and GROUP_RESULT / GROUP_ITEM as the
//  client decodes them. Accepted options are in range; a decoded body has
//  exactly n results, each indexed as its header allows; a header that
//  reads back packs and reads again to the same values.

static void
s_read_group (const char *data, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object header;
    const char *why = NULL;
    if (sf_mp_next (&unpacked, data, size, &offset, &header, NULL, NULL, &why) == 0) {
        sf_group_opts_t opts;
        sf_error_t error;
        if (sf_codec_read_group_opts (&header, &opts, &error) == 0)
            S_REQUIRE (opts.policy < SF_POLICY_INVALID && opts.min_ok <= SF_BATCH_MAX);
        else
            s_check_error (&error, "PROTOCOL");
        for (int item = 0; item < 2; item++) {
            sf_group_head_t head;
            if (sf_codec_read_group_head (&header, &head, item, &error)) {
                s_check_error (&error, "PROTOCOL");
                continue;
            }
            S_REQUIRE (item || head.n <= head.total + head.then);
            msgpack_sbuffer buffer;
            msgpack_sbuffer_init (&buffer);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
            sf_codec_pack_group_head (&pk, &head, item);
            msgpack_unpacked again;
            msgpack_unpacked_init (&again);
            msgpack_object object;
            s_decode_packed (&buffer, &again, &object);
            sf_group_head_t copy;
            S_REQUIRE (sf_codec_read_group_head (&object, &copy, item, &error) == 0);
            S_REQUIRE (memcmp (&copy, &head, sizeof head) == 0);
            msgpack_unpacked_destroy (&again);
            msgpack_sbuffer_destroy (&buffer);
        }
    }
    msgpack_unpacked_destroy (&unpacked);

    for (int item = 0; item < 2; item++) {
        sf_group_head_t head;
        sf_result_t **results;
        sf_error_t error;
        if (sf_gather_decode (data, size, item, &head, &results, &error)) {
            s_check_error (&error, "PROTOCOL");
            continue;
        }
        for (uint32_t i = 0; i < head.n; i++) {
            long index = sf_result_index (results [i]);
            S_REQUIRE (index >= 0);
            if (!item)
                S_REQUIRE ((size_t) index <= head.total);
            s_check_json (sf_result_json (results [i]));
            sf_result_destroy (&results [i]);
        }
        free (results);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_read_group ((const char *) data, size);
    s_read_batch (data, size, 1, true);
    //  Decoded or only checked, a body is read to the same end
    int decoded = s_read_batch (data, size, 2, true);
    int checked = s_read_batch (data, size, 2, false);
    S_REQUIRE (decoded == checked);
    return 0;
}
