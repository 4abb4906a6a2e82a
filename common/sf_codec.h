/*  =========================================================================
    sf_codec - message bodies (docs/PROTOCOL.md, "Bodies")

    Batched bodies (SUBMIT, DISPATCH, RESULTS, RESULT) are a sequence of
    msgpack values: a header map {"tag": uint, "n": uint} and then n items.
    A SUBMIT item is one job map; the other batches carry two values an
    item, a header map and a payload, so the broker can forward a payload
    byte for byte. Every decoder here validates types, sizes and counts and
    names what was wrong.
    ========================================================================= */

#ifndef SF_CODEC_H_INCLUDED
#define SF_CODEC_H_INCLUDED

#include <msgpack.h>
#include "sheaf.h"
#include "sf_uuid.h"

#define SF_BATCH_MAX 100000     //  Items in one message
#define SF_NAME_MAX 64          //  Analyzer, symbol, worker names
#define SF_TIMEFRAME_MAX 16
#define SF_KEY_MAX 256          //  Idempotency keys
#define SF_PRIORITY_MAX 9
#define SF_PRIORITY_DEFAULT 5
#define SF_TIMEOUT_DEFAULT 30000
#define SF_RETRIES_DEFAULT 3
#define SF_RETRIES_MAX 100
#define SF_BACKOFF_DEFAULT 1000 //  First retry's delay, in ms
#define SF_BACKOFF_MAX 3600000
#define SF_LIMIT_MAX 100000000  //  Candles a job may ask its data source for
#define SF_STATE_MAX 16777216   //  Bytes of an analyzer state blob (16 MiB)
#define SF_CHAIN_MAX 8          //  Follow-ups nested in one job ("then")

//  --------------------------------------------------------------------------
//  Batch writer: pack items with self->packer, count each with
//  sf_batchw_item, then sf_batchw_finish before sending self->buffer.

typedef struct {
    msgpack_sbuffer buffer;     //  The body being built
    msgpack_packer packer;      //  Packs into buffer
    uint32_t count;             //  Items packed so far
} sf_batchw_t;

void sf_batchw_init (sf_batchw_t *self);
void sf_batchw_destroy (sf_batchw_t *self);

//  Start a new body with this tag; keeps the buffer's memory.
void sf_batchw_reset (sf_batchw_t *self, uint64_t tag);

//  Count one more item.
void sf_batchw_item (sf_batchw_t *self);

//  Write the item count into the header. The body is self->buffer.
void sf_batchw_finish (sf_batchw_t *self);

//  --------------------------------------------------------------------------
//  Batch reader.

typedef struct {
    const char *data;           //  The body (borrowed)
    size_t size;                //  Its size
    size_t offset;              //  Next value
    uint64_t tag;               //  Header tag (0 if absent)
    uint32_t count;             //  Items the header announced
    uint32_t index;             //  Items read so far
    int per_item;               //  Values per item: 1 or 2
    msgpack_unpacked head;      //  Holds an item's first value
    msgpack_unpacked payload;   //  Holds an item's second value
} sf_batchr_t;

//  Open a body whose items have per_item values. Returns 0, or -1 with
//  error (code PROTOCOL) when the header is missing or n is above max.
//  Call sf_batchr_close in both cases.
int sf_batchr_open (sf_batchr_t *self, const char *data, size_t size,
                    int per_item, uint32_t max, sf_error_t *error);

//  Read the next item: *head is its first value, *payload (if per_item is
//  2) its second; raw/raw_size (if not NULL) span its last value. With
//  payload NULL a second value is only checked, not decoded (for readers
//  that forward it as bytes). Returns 0,
//  1 after the last announced item when the body has been read exactly, or
//  -1 with error naming the item.
int sf_batchr_next (sf_batchr_t *self, msgpack_object *head, msgpack_object *payload,
                    const char **raw, size_t *raw_size, sf_error_t *error);

void sf_batchr_close (sf_batchr_t *self);

//  --------------------------------------------------------------------------
//  A job map as the broker sees it (fields it needs; the rest is forwarded
//  untouched). Strings point into the decoded object.

typedef struct {
    const char *analyzer;       //  Analyzer name (not NUL-terminated)
    size_t analyzer_size;       //  Its length
    int priority;               //  0..9
    uint32_t timeout_ms;        //  Per-attempt time limit
    uint32_t retries;           //  Attempts after the first
    uint32_t backoff_ms;        //  First retry's delay
    const char *key;            //  Idempotency key or NULL
    size_t key_size;            //  Its length
    const char *state_key;      //  Analyzer state key or NULL (4.5.3)
    size_t state_key_size;      //  Its length
    const msgpack_object *then; //  The follow-up job map (checked) or NULL
} sf_jobspec_t;

//  Validate a job map and read its broker fields. A follow-up ("then") is
//  validated the same way, recursively, at most SF_CHAIN_MAX deep; it may
//  not carry a "key". Returns 0, or -1 with error (code BAD_INPUT) naming
//  the field and what it must be, behind the path of follow-ups it is in
//  ("then": "priority" must be ...).
int sf_codec_job_check (const msgpack_object *job, sf_jobspec_t *spec, sf_error_t *error);

//  Pack the follow-up of a job that ended ok: the job map then (the
//  "then" of a checked job) with "previous" set in its params to
//  {"id": the job id's text form, "analyzer": str, "result": the payload} (payload is
//  payload_size bytes, one msgpack value); its other params and fields
//  are copied in their order.
void sf_codec_pack_follow_up (msgpack_packer *pk, const msgpack_object *then,
                              const uint8_t id [SF_UUID_SIZE], const char *analyzer,
                              const char *payload, size_t payload_size);

//  Pack job (a map that passed sf_codec_job_check) with "state" set to the
//  state_size bytes at state, replacing any "state" it had: the DISPATCH
//  form of a job whose "state_key" has a stored state (docs/PROTOCOL.md
//  4.5.3). The other keys are copied in their order.
void sf_codec_pack_job_state (msgpack_packer *pk, const msgpack_object *job, const void *state,
                              size_t state_size);

//  True when name is a valid analyzer name (1-64 of [a-z0-9_.-]).
bool sf_codec_name_valid (const char *name, size_t size);

//  --------------------------------------------------------------------------
//  Item headers, packed and read in one place so both ends agree.

//  DISPATCH item header {id, attempt, timeout_ms}.
void sf_codec_pack_dispatch_head (msgpack_packer *pk, const uint8_t id [SF_UUID_SIZE],
                                  uint32_t attempt, uint32_t timeout_ms);
int sf_codec_read_dispatch_head (const msgpack_object *head, uint8_t id [SF_UUID_SIZE],
                                 uint32_t *attempt, uint32_t *timeout_ms, sf_error_t *error);

//  RESULTS item header {id, attempt, status, run_us} (worker to broker).
void sf_codec_pack_outcome_head (msgpack_packer *pk, const uint8_t id [SF_UUID_SIZE],
                                 uint32_t attempt, sf_status_t status, uint64_t run_us);
int sf_codec_read_outcome_head (const msgpack_object *head, uint8_t id [SF_UUID_SIZE],
                                uint32_t *attempt, sf_status_t *status, uint64_t *run_us,
                                sf_error_t *error);

//  The same header carrying the analyzer's new state (a job with a
//  "state_key" answered OK, docs/PROTOCOL.md 4.5.3): state_size bytes,
//  packed as the fifth key "state" (bin). state NULL packs the plain
//  four-key header.
void sf_codec_pack_outcome_head_state (msgpack_packer *pk, const uint8_t id [SF_UUID_SIZE],
                                       uint32_t attempt, sf_status_t status, uint64_t run_us,
                                       const void *state, size_t state_size);

//  The "state" of a RESULTS item header: *state points into head (borrowed,
//  valid as long as head is), NULL with *state_size 0 when it has none.
//  Returns 0, or -1 when "state" is there but not a bin of at most
//  SF_STATE_MAX bytes.
int sf_codec_read_outcome_state (const msgpack_object *head, const char **state,
                                 size_t *state_size);

//  RESULT item header (broker to client).
typedef struct {
    uint8_t id [SF_UUID_SIZE];  //  Job id
    sf_status_t status;         //  Final status
    const char *analyzer;       //  Analyzer name (NUL-terminated)
    const char *worker;         //  Worker name, "" if none
    uint32_t attempts;          //  Attempts made
    uint64_t queued_us;         //  Waiting in the broker
    uint64_t run_us;            //  Running at the worker
    uint64_t total_us;          //  Acceptance to final status
    bool indexed;               //  A group item: index is set
    uint32_t index;             //  Its position in its group (GROUP_RESULT, GROUP_ITEM)
    bool chained;               //  The job started a follow-up: then is set
    uint8_t then [SF_UUID_SIZE];    //  The follow-up's job id
} sf_result_head_t;

//  Pack a RESULT header; analyzer and worker names are at most SF_NAME_MAX
//  characters (headers are packed in a fixed stack buffer).
void sf_codec_pack_result_head (msgpack_packer *pk, const sf_result_head_t *head);

//  Read a RESULT header; analyzer and worker are copied into the buffers
//  given (each SF_NAME_MAX + 1 bytes) and pointed at from *head.
int sf_codec_read_result_head (const msgpack_object *head, sf_result_head_t *out,
                               char *analyzer, char *worker, sf_error_t *error);

//  --------------------------------------------------------------------------
//  Groups (docs/PROTOCOL.md, "Groups"): the options a GROUP header carries
//  next to its tag and count, and the header of GROUP_RESULT and GROUP_ITEM.

typedef enum {
    SF_POLICY_ALL,              //  Wait for every item
    SF_POLICY_FAIL_FAST,        //  The first failed item fails the group
    SF_POLICY_ANY,              //  The first ok item wins
    SF_POLICY_INVALID           //  Not a policy
} sf_policy_t;

//  The policy's wire name ("all", "fail-fast", "any"), and back.
const char *sf_policy_name (sf_policy_t policy);
sf_policy_t sf_policy_parse (const char *name, size_t size);

typedef struct {
    sf_policy_t policy;         //  When the group is decided
    uint32_t min_ok;            //  Quorum: decided ok at this many ok items (0: none)
    uint32_t timeout_ms;        //  Deadline from acceptance (0: none)
    bool stream;                //  Send each item as it finishes (GROUP_ITEM)
    bool then;                  //  The last job is the chord, run on the results
    const char *key;            //  Idempotency key (borrowed from the header) or NULL
    size_t key_size;            //  Its length
} sf_group_opts_t;

//  Read the options of a GROUP header map (absent keys take defaults).
//  Returns 0, or -1 with error naming the key: code PROTOCOL, or
//  BAD_INPUT for a "key" that is not a valid idempotency key (as for a
//  job's "key"). opts->key points into the header's buffer.
int sf_codec_read_group_opts (const msgpack_object *header, sf_group_opts_t *opts,
                              sf_error_t *error);

//  A group's final state, in GROUP_RESULT.
typedef enum {
    SF_GROUP_RUNNING,           //  Not decided (never sent in GROUP_RESULT)
    SF_GROUP_OK,                //  The policy was met
    SF_GROUP_FAILED,            //  The policy can no longer be met
    SF_GROUP_TIMEOUT,           //  The deadline came first
    SF_GROUP_CANCELLED,         //  Cancelled on request
    SF_GROUP_INVALID            //  Not a state
} sf_group_state_t;

const char *sf_group_state_name (sf_group_state_t state);
sf_group_state_t sf_group_state_parse (const char *name, size_t size);

//  Header map of GROUP_RESULT and GROUP_ITEM (batches of result items).
typedef struct {
    uint64_t tag;               //  The GROUP's tag (FETCH's for a fetched group)
    uint32_t n;                 //  Items in this message
    uint8_t group [SF_UUID_SIZE];   //  Group id
    sf_group_state_t state;     //  GROUP_RESULT: the outcome
    uint32_t total;             //  Items in the group
    uint32_t counts [SF_STATUS_INVALID];    //  Finished items by status
    bool then;                  //  GROUP_RESULT: the last item is the chord's
} sf_group_head_t;

//  Pack a GROUP_RESULT header (item is false) or a GROUP_ITEM header (only
//  tag, n, group). The map starts like every batch header (fixmap, uint64
//  tag, uint32 n), so sf_batchw_finish can patch n after the items.
void sf_codec_pack_group_head (msgpack_packer *pk, const sf_group_head_t *head, bool item);

//  Read either header. Returns 0, or -1 with error (code PROTOCOL).
int sf_codec_read_group_head (const msgpack_object *head, sf_group_head_t *out, bool item,
                              sf_error_t *error);

//  An error payload {code, message, context}; context is a map or NULL.
void sf_codec_pack_error (msgpack_packer *pk, const char *code, const char *message,
                          const msgpack_object *context);

//  Read the tag of a {tag, …} request map (0 when absent or not a map).
uint64_t sf_codec_tag (const msgpack_object *map);

//  Read a 16-byte id from a bin value. Returns 0 or -1.
int sf_codec_id (const msgpack_object *object, uint8_t id [SF_UUID_SIZE]);

#endif
