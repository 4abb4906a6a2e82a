/*  =========================================================================
    sf_store_journal - the journal store: `--store journal:DIR`

    The broker's records become records of the journal in DIR (sf_journal):

      ACCEPT   id (16 bytes), then the job map as submitted
      FINISH   {id, analyzer, key, status, attempts, losses, worker, run_us,
                at_ms, payload, history_count, history?, failures?}
                (a dead letter has history and failures)
      REVIVE   id: a dead letter runs again
      FORGET   id: the job is gone
      STATE    {key, state}: the latest analyzer state of a state key
      GROUP    {id, policy, min_ok, timeout_ms, deadline_ms, stream, key,
                items, then}: a group accepted (items: its item ids, 16
                bytes each, in submission order; then: the chord's job map
                while it has not been launched)
      GROUP_THEN  group id then chord id: the chord was launched
      GROUP_END   {id, state, at_ms}: the group answered
      GROUP_FORGET  group id: the group is forgotten with its items and chord

    A record operation packs its record into the staged buffer and does no
    I/O. A commit appends every staged record to the journal and commits
    it: with fsync=always (the default) that is one fdatasync for every
    record of the broker's pass (group commit). The staged buffer is
    cleared only when the commit succeeded. A failed commit leaves none of
    its records in the file (the journal cuts them off) and all of them in
    the staged buffer, so the next commit writes them again, in order,
    before what was staged since: that is the store's promise that a
    failed commit loses nothing the broker still holds.

    On open, the records are replayed into tables of plain records, which
    recover hands to the broker. When the file has grown to four times its
    size after the last compaction (and past 64 MiB), a commit rewrites it
    from the broker's live set: unfinished jobs (ACCEPT), dead letters
    (ACCEPT and FINISH), kept results (FINISH alone), states, and each kept
    group (GROUP, then GROUP_THEN and GROUP_END as they apply). The 64 MiB
    floor is a tuning knob: `journal:DIR,compact=BYTES`.
    ========================================================================= */

#include <czmq.h>
#include <time.h>
#include "sf_codec.h"
#include "sf_journal.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_store.h"

enum {
    S_ACCEPT = 1,
    S_FINISH = 2,
    S_REVIVE = 3,
    S_FORGET = 4,
    S_STATE = 5,
    S_GROUP = 6,
    S_GROUP_THEN = 7,
    S_GROUP_END = 8,
    S_GROUP_FORGET = 9
};

#define S_COMPACT_MIN ((uint64_t) 64 << 20)     //  Default floor: never compact a smaller file
#define S_COMPACT_GROWTH 4                      //  Compact past this many times the last size

//  A staged record: type (1 byte), payload size (4 bytes, little-endian),
//  payload.
#define S_STAGED_HEAD 5

//  A staged buffer that grew past this while commits failed is given back
//  once they succeed again.
#define S_STAGED_KEEP ((size_t) 16 << 20)

//  A replayed job, until recover hands it over.
typedef struct {
    uint8_t id [SF_UUID_SIZE];  //  Job id
    sf_store_jobstate_t state;  //  Unfinished or finished
    char *analyzer;             //  Analyzer name (owned), from the job map or FINISH
    char *spec;                 //  Job map (owned), or NULL for a kept result
    uint32_t spec_size;         //  Its size
    char *key;                  //  Idempotency key (owned) or NULL
    char *state_key;            //  Analyzer state key (owned) or NULL
    uint32_t attempts;          //  Dispatches
    uint32_t failures;          //  Failed attempts counted against retries
    uint32_t losses;            //  Worker deaths witnessed
    char *history;              //  Failed attempts (owned) or NULL
    uint32_t history_size;      //  Their size
    uint32_t history_count;     //  Maps in history
    sf_status_t status;         //  Final status
    char *worker;               //  Who produced the result (owned) or NULL
    uint64_t run_us;            //  Run time
    int64_t finished_ms;        //  Wall-clock instant of the finish
    char *payload;              //  Result or error map (owned) or NULL
    uint32_t payload_size;      //  Its size
} s_job_t;

//  A replayed group, until recover hands it over.
typedef struct {
    sf_store_group_t group;     //  What recover gives (key, items and chord point here)
    char *key;                  //  Idempotency key (owned) or NULL
    uint8_t *items;             //  Item ids (owned)
    char *then;                 //  The chord's job map (owned) while not launched, or NULL
} s_group_t;

typedef struct {
    sf_journal_t *journal;      //  The log
    msgpack_sbuffer buffer;     //  Record being built
    msgpack_packer packer;      //  Packs into buffer
    msgpack_sbuffer staged;     //  Records staged since the last good commit
    bool failing;               //  The last commit failed
    uint64_t compacted_bytes;   //  File size after the last compaction (or open)
    uint64_t compact_min;       //  Never compact a smaller file
    //  Replayed, until recover hands them over
    zhashx_t *jobs;             //  id -> s_job_t (owned)
    zhashx_t *states;           //  key -> sf_store_blob_t (owned)
    zhashx_t *groups;           //  id -> s_group_t (owned)
} s_store_t;

static void
s_job_destroy (s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    free (job->analyzer);
    free (job->spec);
    free (job->key);
    free (job->state_key);
    free (job->history);
    free (job->worker);
    free (job->payload);
    free (job);
    *job_p = NULL;
}

static void
s_job_destructor (void **item)
{
    s_job_destroy ((s_job_t **) item);
}

static void
s_group_destructor (void **item)
{
    s_group_t *group = (s_group_t *) *item;
    if (!group)
        return;
    free (group->key);
    free (group->items);
    free (group->then);
    free (group);
    *item = NULL;
}

//  ==========================================================================
//  Records

//  Stage the record built in self->buffer. Returns 0, or -1 with error
//  when no journal can hold it.
static int
s_stage_buffer (s_store_t *self, uint8_t type, sf_error_t *error)
{
    size_t size = self->buffer.size;
    if (size > SF_JOURNAL_MAX_PAYLOAD)
        return sf_error_set (error, "STORE", "journal: a record of %zu bytes is over the limit"
                             " of %u bytes; nothing was recorded", size, SF_JOURNAL_MAX_PAYLOAD);
    uint8_t head [S_STAGED_HEAD] = { type, (uint8_t) size, (uint8_t) (size >> 8),
                                     (uint8_t) (size >> 16), (uint8_t) (size >> 24) };
    sf_mp_write (&self->staged, (const char *) head, sizeof head);
    if (size)
        sf_mp_write (&self->staged, self->buffer.data, size);
    return 0;
}

//  A record whose payload is an id, or an id then more bytes.
static void
s_pack_id (s_store_t *self, const uint8_t id [SF_UUID_SIZE], const void *more,
           size_t more_size)
{
    msgpack_sbuffer_clear (&self->buffer);
    sf_mp_write (&self->buffer, (const char *) id, SF_UUID_SIZE);
    if (more_size)
        sf_mp_write (&self->buffer, (const char *) more, more_size);
}

//  A string field, or nil for NULL.
static void
s_pack_kv_opt_str (msgpack_packer *pk, const char *key, const char *value)
{
    sf_mp_pack_str (pk, key);
    if (value)
        sf_mp_pack_str (pk, value);
    else
        msgpack_pack_nil (pk);
}

//  A bin field.
static void
s_pack_kv_bin (msgpack_packer *pk, const char *key, const void *data, size_t size)
{
    sf_mp_pack_str (pk, key);
    msgpack_pack_bin (pk, size);
    msgpack_pack_bin_body (pk, data, size);
}

//  The FINISH map of a finished job, into self->buffer.
static void
s_pack_finish (s_store_t *self, const sf_store_job_t *job)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer *pk = &self->packer;
    bool dead = job->status == SF_STATUS_DEAD;
    msgpack_pack_map (pk, dead? 13: 11);
    s_pack_kv_bin (pk, "id", job->id, SF_UUID_SIZE);
    sf_mp_pack_kv_str (pk, "analyzer", job->analyzer);
    s_pack_kv_opt_str (pk, "key", job->key);
    sf_mp_pack_kv_uint (pk, "status", job->status);
    sf_mp_pack_kv_uint (pk, "attempts", job->attempts);
    sf_mp_pack_kv_uint (pk, "losses", job->losses);
    sf_mp_pack_kv_str (pk, "worker", job->worker? job->worker: "");
    sf_mp_pack_kv_uint (pk, "run_us", job->run_us);
    //  Wall-clock instant of the finish, for the result TTL after a restart
    sf_mp_pack_kv_uint (pk, "at_ms", job->finished_ms > 0? (uint64_t) job->finished_ms: 0);
    s_pack_kv_bin (pk, "payload", job->payload, job->payload_size);
    sf_mp_pack_kv_uint (pk, "history_count", job->history_count);
    if (dead) {
        s_pack_kv_bin (pk, "history", job->history, job->history_size);
        sf_mp_pack_kv_uint (pk, "failures", job->failures);
    }
}

static void
s_pack_state (s_store_t *self, const sf_store_state_t *state)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_pack_map (&self->packer, 2);
    sf_mp_pack_kv_str (&self->packer, "key", state->key);
    s_pack_kv_bin (&self->packer, "state", state->data, state->size);
}

//  The GROUP map of a group, into self->buffer.
static void
s_pack_group (s_store_t *self, const sf_store_group_t *group)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer *pk = &self->packer;
    msgpack_pack_map (pk, 9);
    s_pack_kv_bin (pk, "id", group->id, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (pk, "policy", group->opts.policy);
    sf_mp_pack_kv_uint (pk, "min_ok", group->opts.min_ok);
    sf_mp_pack_kv_uint (pk, "timeout_ms", group->opts.timeout_ms);
    sf_mp_pack_kv_uint (pk, "deadline_ms",
                        group->deadline_ms > 0? (uint64_t) group->deadline_ms: 0);
    sf_mp_pack_str (pk, "stream");
    if (group->opts.stream)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    sf_mp_pack_str (pk, "key");
    if (group->opts.key) {
        msgpack_pack_str (pk, group->opts.key_size);
        msgpack_pack_str_body (pk, group->opts.key, group->opts.key_size);
    }
    else
        msgpack_pack_nil (pk);
    s_pack_kv_bin (pk, "items", group->items, (size_t) group->total * SF_UUID_SIZE);
    sf_mp_pack_str (pk, "then");
    if (group->then_spec && !group->launched) {
        msgpack_pack_bin (pk, group->then_size);
        msgpack_pack_bin_body (pk, group->then_spec, group->then_size);
    }
    else
        msgpack_pack_nil (pk);
}

//  The GROUP_END map of an answered group, into self->buffer.
static void
s_pack_group_end (s_store_t *self, const sf_store_group_t *group)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer *pk = &self->packer;
    msgpack_pack_map (pk, 3);
    s_pack_kv_bin (pk, "id", group->id, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (pk, "state", group->state);
    sf_mp_pack_kv_uint (pk, "at_ms", group->answered_ms > 0? (uint64_t) group->answered_ms: 0);
}

//  ==========================================================================
//  Replay

//  Copy size bytes into a fresh buffer with a terminating NUL.
static char *
s_copy (const void *data, size_t size)
{
    char *copy = (char *) malloc (size + 1);
    if (!copy)
        abort ();
    if (size)
        memcpy (copy, data, size);
    copy [size] = 0;
    return copy;
}

//  Copy a bin or str field into a fresh buffer; NULL and 0 when absent.
static char *
s_copy_field (const msgpack_object *object, uint32_t *size)
{
    *size = 0;
    if (!object || (object->type != MSGPACK_OBJECT_BIN && object->type != MSGPACK_OBJECT_STR))
        return NULL;
    *size = object->via.bin.size;
    return s_copy (object->via.bin.ptr, *size);
}

//  Check a job map read from the file (spec_size bytes at spec) and, when
//  job is given, take its analyzer, key and state key. Returns 0, or -1
//  with error when it is not a valid job.
static int
s_check_spec (const char *spec, size_t spec_size, s_job_t *job, sf_error_t *error)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why = "empty";
    sf_jobspec_t checked;
    int rc = sf_mp_next (&unpacked, spec, spec_size, &offset, &map, NULL, NULL, &why);
    if (rc || offset != spec_size)
        rc = sf_error_set (error, "STORE", "journal: a job record is not one msgpack map (%s)", why);
    else
    if (sf_codec_job_check (&map, &checked, error) == 0) {
        if (job) {
            job->analyzer = s_copy (checked.analyzer, checked.analyzer_size);
            job->key = checked.key? s_copy (checked.key, checked.key_size): NULL;
            job->state_key = checked.state_key?
                             s_copy (checked.state_key, checked.state_key_size): NULL;
        }
    }
    else
        rc = -1;
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}

static int
s_replay_accept (s_store_t *self, const uint8_t *payload, size_t size, sf_error_t *error)
{
    if (size <= SF_UUID_SIZE)
        return sf_error_set (error, "STORE", "journal: an ACCEPT record of %zu bytes", size);
    s_job_t *job = (s_job_t *) zmalloc (sizeof *job);
    memcpy (job->id, payload, SF_UUID_SIZE);
    job->state = SF_STORE_UNFINISHED;
    job->spec_size = (uint32_t) (size - SF_UUID_SIZE);
    job->spec = s_copy (payload + SF_UUID_SIZE, job->spec_size);
    if (s_check_spec (job->spec, job->spec_size, job, error)) {
        s_job_destroy (&job);
        return -1;
    }
    zhashx_update (self->jobs, job->id, job);       //  Replaces (and frees) a twin
    return 0;
}

static int
s_replay_finish (s_store_t *self, const char *payload, size_t size, sf_error_t *error)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why = "not a map";
    uint8_t id [SF_UUID_SIZE];
    uint64_t status, attempts = 0, losses = 0, run_us = 0, at_ms = 0, count = 0, failures = 0;
    char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1] = "";
    int rc = sf_mp_next (&unpacked, payload, size, &offset, &map, NULL, NULL, &why);
    if (rc || map.type != MSGPACK_OBJECT_MAP
    ||  sf_codec_id (sf_mp_get (&map, "id"), id)
    ||  sf_mp_uint (sf_mp_get (&map, "status"), SF_STATUS_INVALID - 1, &status)
    ||  sf_mp_strcpy (sf_mp_get (&map, "analyzer"), analyzer, sizeof analyzer)) {
        msgpack_unpacked_destroy (&unpacked);
        return sf_error_set (error, "STORE", "journal: a FINISH record is malformed");
    }
    sf_mp_uint (sf_mp_get (&map, "attempts"), UINT32_MAX, &attempts);
    sf_mp_uint (sf_mp_get (&map, "losses"), UINT32_MAX, &losses);
    sf_mp_uint (sf_mp_get (&map, "failures"), UINT32_MAX, &failures);
    sf_mp_uint (sf_mp_get (&map, "run_us"), UINT64_MAX, &run_us);
    sf_mp_uint (sf_mp_get (&map, "at_ms"), INT64_MAX, &at_ms);
    sf_mp_uint (sf_mp_get (&map, "history_count"), UINT32_MAX, &count);
    sf_mp_strcpy (sf_mp_get (&map, "worker"), worker, sizeof worker);

    s_job_t *job = (s_job_t *) zhashx_lookup (self->jobs, id);
    if (!job) {
        //  A kept result written by a compaction: no ACCEPT before it
        job = (s_job_t *) zmalloc (sizeof *job);
        memcpy (job->id, id, SF_UUID_SIZE);
        uint32_t key_size;
        job->key = s_copy_field (sf_mp_get (&map, "key"), &key_size);
        zhashx_insert (self->jobs, job->id, job);
    }
    job->state = SF_STORE_FINISHED;
    job->status = (sf_status_t) status;
    job->attempts = (uint32_t) attempts;
    job->losses = (uint32_t) losses;
    job->failures = (uint32_t) failures;
    job->run_us = run_us;
    job->finished_ms = (int64_t) at_ms;
    free (job->payload);
    job->payload = s_copy_field (sf_mp_get (&map, "payload"), &job->payload_size);
    free (job->history);
    job->history = s_copy_field (sf_mp_get (&map, "history"), &job->history_size);
    job->history_count = (uint32_t) count;
    if (job->status != SF_STATUS_DEAD) {
        free (job->spec);       //  Only a dead letter keeps its job
        job->spec = NULL;
        job->spec_size = 0;
    }
    free (job->analyzer);
    job->analyzer = s_copy (analyzer, strlen (analyzer));
    free (job->worker);
    job->worker = *worker? s_copy (worker, strlen (worker)): NULL;
    msgpack_unpacked_destroy (&unpacked);
    return 0;
}

static int
s_replay_state (s_store_t *self, const char *payload, size_t size, sf_error_t *error)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why;
    char key [SF_KEY_MAX + 1];
    const msgpack_object *state = NULL;
    if (sf_mp_next (&unpacked, payload, size, &offset, &map, NULL, NULL, &why) == 0
    &&  sf_mp_strcpy (sf_mp_get (&map, "key"), key, sizeof key) == 0)
        state = sf_mp_get (&map, "state");
    if (!state || state->type != MSGPACK_OBJECT_BIN) {
        msgpack_unpacked_destroy (&unpacked);
        return sf_error_set (error, "STORE", "journal: a STATE record is malformed");
    }
    zhashx_update (self->states, key, sf_store_blob_new (state->via.bin.ptr,
                                                         state->via.bin.size));
    msgpack_unpacked_destroy (&unpacked);
    return 0;
}

//  A bool field; false when absent or not a bool.
static bool
s_bool_field (const msgpack_object *object)
{
    return object && object->type == MSGPACK_OBJECT_BOOLEAN && object->via.boolean;
}

static int
s_replay_group (s_store_t *self, const char *payload, size_t size, sf_error_t *error)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why = "not a map";
    uint8_t id [SF_UUID_SIZE];
    uint64_t policy, min_ok = 0, timeout_ms = 0, deadline_ms = 0;
    const msgpack_object *items = NULL, *key = NULL, *then = NULL;
    if (sf_mp_next (&unpacked, payload, size, &offset, &map, NULL, NULL, &why) == 0
    &&  map.type == MSGPACK_OBJECT_MAP
    &&  sf_codec_id (sf_mp_get (&map, "id"), id) == 0
    &&  sf_mp_uint (sf_mp_get (&map, "policy"), SF_POLICY_INVALID - 1, &policy) == 0) {
        items = sf_mp_get (&map, "items");
        key = sf_mp_get (&map, "key");
        then = sf_mp_get (&map, "then");
        sf_mp_uint (sf_mp_get (&map, "min_ok"), UINT32_MAX, &min_ok);
        sf_mp_uint (sf_mp_get (&map, "timeout_ms"), UINT32_MAX, &timeout_ms);
        sf_mp_uint (sf_mp_get (&map, "deadline_ms"), INT64_MAX, &deadline_ms);
    }
    //  Every length is checked: items a whole number of ids (1 to a
    //  batch), a key of at most SF_KEY_MAX, a chord that is a job map
    if (!items || items->type != MSGPACK_OBJECT_BIN
    ||  items->via.bin.size == 0 || items->via.bin.size % SF_UUID_SIZE
    ||  items->via.bin.size / SF_UUID_SIZE > SF_BATCH_MAX
    ||  min_ok > items->via.bin.size / SF_UUID_SIZE
    ||  (key && key->type != MSGPACK_OBJECT_NIL
         && (key->type != MSGPACK_OBJECT_STR || key->via.str.size == 0
             || key->via.str.size > SF_KEY_MAX))
    ||  (then && then->type != MSGPACK_OBJECT_NIL && then->type != MSGPACK_OBJECT_BIN)) {
        msgpack_unpacked_destroy (&unpacked);
        return sf_error_set (error, "STORE", "journal: a GROUP record is malformed");
    }
    if (then && then->type == MSGPACK_OBJECT_BIN
    &&  s_check_spec (then->via.bin.ptr, then->via.bin.size, NULL, error)) {
        msgpack_unpacked_destroy (&unpacked);
        return -1;
    }
    s_group_t *group = (s_group_t *) zmalloc (sizeof *group);
    memcpy (group->group.id, id, SF_UUID_SIZE);
    group->group.opts.policy = (sf_policy_t) policy;
    group->group.opts.min_ok = (uint32_t) min_ok;
    group->group.opts.timeout_ms = (uint32_t) timeout_ms;
    group->group.opts.stream = s_bool_field (sf_mp_get (&map, "stream"));
    group->group.deadline_ms = (int64_t) deadline_ms;
    group->group.total = items->via.bin.size / SF_UUID_SIZE;
    uint32_t field_size;
    group->items = (uint8_t *) s_copy_field (items, &field_size);
    group->group.items = group->items;
    if (key && key->type == MSGPACK_OBJECT_STR) {
        group->key = s_copy_field (key, &field_size);
        group->group.opts.key = group->key;
        group->group.opts.key_size = field_size;
    }
    group->group.state = SF_GROUP_RUNNING;
    if (then && then->type == MSGPACK_OBJECT_BIN) {
        uint32_t then_size;
        group->then = s_copy_field (then, &then_size);
        group->group.then_spec = group->then;
        group->group.then_size = then_size;
        group->group.opts.then = true;
    }
    msgpack_unpacked_destroy (&unpacked);
    zhashx_update (self->groups, group->group.id, group);
    return 0;
}

static int
s_replay_group_end (s_store_t *self, const char *payload, size_t size, sf_error_t *error)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why;
    uint8_t id [SF_UUID_SIZE];
    uint64_t state, at_ms = 0;
    if (sf_mp_next (&unpacked, payload, size, &offset, &map, NULL, NULL, &why)
    ||  map.type != MSGPACK_OBJECT_MAP
    ||  sf_codec_id (sf_mp_get (&map, "id"), id)
    ||  sf_mp_uint (sf_mp_get (&map, "state"), SF_GROUP_INVALID - 1, &state)
    ||  state == SF_GROUP_RUNNING) {
        msgpack_unpacked_destroy (&unpacked);
        return sf_error_set (error, "STORE", "journal: a GROUP_END record is malformed");
    }
    sf_mp_uint (sf_mp_get (&map, "at_ms"), INT64_MAX, &at_ms);
    msgpack_unpacked_destroy (&unpacked);
    s_group_t *group = (s_group_t *) zhashx_lookup (self->groups, id);
    if (group) {
        group->group.state = (sf_group_state_t) state;
        group->group.answered_ms = (int64_t) at_ms;
    }
    return 0;
}

//  GROUP_THEN (group id, chord id) and GROUP_FORGET (group id).
static int
s_replay_group_ids (s_store_t *self, uint8_t type, const uint8_t *payload, size_t size,
                    sf_error_t *error)
{
    if (size != (type == S_GROUP_THEN? 2: 1) * SF_UUID_SIZE)
        return sf_error_set (error, "STORE", "journal: a %s record of %zu bytes",
                             type == S_GROUP_THEN? "GROUP_THEN": "GROUP_FORGET", size);
    s_group_t *group = (s_group_t *) zhashx_lookup (self->groups, payload);
    if (!group)
        return 0;
    if (type == S_GROUP_THEN) {
        free (group->then);
        group->then = NULL;
        group->group.then_spec = NULL;
        group->group.then_size = 0;
        group->group.launched = true;
        memcpy (group->group.then_id, payload + SF_UUID_SIZE, SF_UUID_SIZE);
        return 0;
    }
    //  Its items and chord go with it
    for (uint32_t i = 0; i < group->group.total; i++)
        zhashx_delete (self->jobs, group->items + (size_t) i * SF_UUID_SIZE);
    if (group->group.launched)
        zhashx_delete (self->jobs, group->group.then_id);
    zhashx_delete (self->groups, payload);
    return 0;
}

static int
s_replay (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) arg;
    if (type == S_ACCEPT)
        return s_replay_accept (self, (const uint8_t *) payload, size, error);
    if (type == S_FINISH)
        return s_replay_finish (self, (const char *) payload, size, error);
    if (type == S_STATE)
        return s_replay_state (self, (const char *) payload, size, error);
    if (type == S_GROUP)
        return s_replay_group (self, (const char *) payload, size, error);
    if (type == S_GROUP_END)
        return s_replay_group_end (self, (const char *) payload, size, error);
    if (type == S_GROUP_THEN || type == S_GROUP_FORGET)
        return s_replay_group_ids (self, type, (const uint8_t *) payload, size, error);
    if ((type == S_REVIVE || type == S_FORGET) && size == SF_UUID_SIZE) {
        s_job_t *job = (s_job_t *) zhashx_lookup (self->jobs, payload);
        if (job && type == S_FORGET)
            zhashx_delete (self->jobs, payload);
        else
        if (job && job->spec) {
            //  Back to an unfinished job with its retries renewed
            job->state = SF_STORE_UNFINISHED;
            job->failures = job->losses = 0;
            free (job->payload);
            job->payload = NULL;
            job->payload_size = 0;
        }
        return 0;
    }
    return sf_error_set (error, "STORE", "journal: a record of unknown type %u (size %zu)",
                         type, size);
}

//  ==========================================================================
//  Open and close

static int64_t
s_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  Parse one option of the journal URI into sync or compact_min. Returns
//  0, or -1 with error.
static int
s_option (const char *option, size_t size, sf_journal_sync_t *sync, uint64_t *compact_min,
          sf_error_t *error)
{
    char text [64];
    if (size >= sizeof text)
        return sf_error_set (error, "STORE", "journal: unknown option \"%.*s\"", (int) size,
                             option);
    memcpy (text, option, size);
    text [size] = 0;
    if (streq (text, "fsync=always"))
        *sync = SF_JOURNAL_SYNC_ALWAYS;
    else
    if (streq (text, "fsync=batch"))
        *sync = SF_JOURNAL_SYNC_BATCH;
    else
    if (streq (text, "fsync=off"))
        *sync = SF_JOURNAL_SYNC_OFF;
    else
    if (strncmp (text, "fsync=", 6) == 0)
        return sf_error_set (error, "STORE",
                             "journal: fsync must be always, batch or off, not \"%s\"", text + 6);
    else
    if (strncmp (text, "compact=", 8) == 0) {
        char *end;
        errno = 0;
        unsigned long long bytes = strtoull (text + 8, &end, 10);
        if (text [8] < '0' || text [8] > '9' || *end || errno)
            return sf_error_set (error, "STORE", "journal: compact must be a byte count, not "
                                 "\"%s\"", text + 8);
        *compact_min = bytes;
    }
    else
        return sf_error_set (error, "STORE", "journal: unknown option \"%s\"", text);
    return 0;
}

static void s_destroy (void **backend_p);

void *
sf_store_journal_open (const char *argument, sf_error_t *error)
{
    //  DIR[,fsync=always|batch|off][,compact=BYTES]
    char directory [4096];
    const char *comma = strchr (argument, ',');
    sf_journal_sync_t sync = SF_JOURNAL_SYNC_ALWAYS;
    uint64_t compact_min = S_COMPACT_MIN;
    size_t length = comma? (size_t) (comma - argument): strlen (argument);
    while (comma) {
        const char *option = comma + 1;
        comma = strchr (option, ',');
        size_t size = comma? (size_t) (comma - option): strlen (option);
        if (s_option (option, size, &sync, &compact_min, error))
            return NULL;
    }
    if (length == 0 || length >= sizeof directory) {
        sf_error_set (error, "STORE", "the journal store needs a directory: journal:DIR");
        return NULL;
    }
    memcpy (directory, argument, length);
    directory [length] = 0;

    s_store_t *self = (s_store_t *) zmalloc (sizeof *self);
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->packer, &self->buffer, sf_mp_write);
    msgpack_sbuffer_init (&self->staged);
    self->jobs = sf_uuid_table (false);             //  Keys live in the jobs
    zhashx_set_destructor (self->jobs, s_job_destructor);
    self->states = zhashx_new ();
    zhashx_set_destructor (self->states, sf_store_blob_destructor);
    self->groups = sf_uuid_table (false);           //  Keys live in the groups
    zhashx_set_destructor (self->groups, s_group_destructor);
    self->compact_min = compact_min;
    int64_t started = s_mono_us ();
    //  A 10 ms window: the longest an acknowledged job waits in the page
    //  cache for its fdatasync under load
    self->journal = sf_journal_new (directory, sync, 10, s_replay, self, error);
    if (!self->journal) {
        void *backend = self;
        s_destroy (&backend);
        return NULL;
    }
    self->compacted_bytes = sf_journal_bytes (self->journal);
    sf_log_info ("journal: %s: replayed %llu records (%zu jobs, %zu states, %zu groups) "
                 "in %lld ms", directory, (unsigned long long) sf_journal_replayed (self->journal),
                 zhashx_size (self->jobs), zhashx_size (self->states), zhashx_size (self->groups),
                 (long long) (s_mono_us () - started) / 1000);
    return self;
}

static void
s_destroy (void **backend_p)
{
    s_store_t *self = (s_store_t *) *backend_p;
    if (!self)
        return;
    sf_journal_destroy (&self->journal);
    zhashx_destroy (&self->jobs);
    zhashx_destroy (&self->states);
    zhashx_destroy (&self->groups);
    msgpack_sbuffer_destroy (&self->buffer);
    msgpack_sbuffer_destroy (&self->staged);
    free (self);
    *backend_p = NULL;
}

//  ==========================================================================
//  Record operations: each packs its record and stages it

static int
s_accepted (void *backend, const sf_store_job_t *job, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_id (self, job->id, job->spec, job->spec_size);
    return s_stage_buffer (self, S_ACCEPT, error);
}

static int
s_finished (void *backend, const sf_store_job_t *job, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_finish (self, job);
    return s_stage_buffer (self, S_FINISH, error);
}

static int
s_revived (void *backend, const sf_store_job_t *job, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_id (self, job->id, NULL, 0);
    return s_stage_buffer (self, S_REVIVE, error);
}

static int
s_forgotten (void *backend, const sf_store_job_t *job, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_id (self, job->id, NULL, 0);
    return s_stage_buffer (self, S_FORGET, error);
}

static int
s_state_saved (void *backend, const sf_store_state_t *state, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_state (self, state);
    return s_stage_buffer (self, S_STATE, error);
}

static int
s_group_accepted (void *backend, const sf_store_group_t *group, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_group (self, group);
    return s_stage_buffer (self, S_GROUP, error);
}

static int
s_group_launched (void *backend, const sf_store_group_t *group, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_id (self, group->id, group->then_id, SF_UUID_SIZE);
    return s_stage_buffer (self, S_GROUP_THEN, error);
}

static int
s_group_answered (void *backend, const sf_store_group_t *group, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_group_end (self, group);
    return s_stage_buffer (self, S_GROUP_END, error);
}

static int
s_group_forgotten (void *backend, const sf_store_group_t *group, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    s_pack_id (self, group->id, NULL, 0);
    return s_stage_buffer (self, S_GROUP_FORGET, error);
}

//  ==========================================================================
//  Commit

//  Compaction: the broker's live set as journal records, one at a time.
typedef struct {
    s_store_t *store;
    const sf_store_live_t *live;        //  The broker's iterator
    sf_store_record_t record;           //  Its current record
    int step;                   //  Records of it given so far (0: take the next one)
} s_compact_t;

//  The journal records of one live record, in order: a job's ACCEPT (when
//  it has its job map) and FINISH (when it is finished); a state's STATE;
//  a group's GROUP, its GROUP_THEN when the chord was launched and its
//  GROUP_END when it answered. Packs record number step into the buffer;
//  returns its type, or 0 when the live record has no more.
static uint8_t
s_compact_step (s_store_t *self, const sf_store_record_t *record, int step)
{
    if (record->kind == SF_STORE_JOB) {
        const sf_store_job_t *job = &record->job;
        if (step == 0 && job->spec) {
            s_pack_id (self, job->id, job->spec, job->spec_size);
            return S_ACCEPT;
        }
        if (step == 1 && job->state == SF_STORE_FINISHED) {
            s_pack_finish (self, job);
            return S_FINISH;
        }
        return 0;
    }
    if (record->kind == SF_STORE_STATE) {
        if (step != 0)
            return 0;
        s_pack_state (self, &record->state);
        return S_STATE;
    }
    const sf_store_group_t *group = &record->group;
    if (step == 0) {
        s_pack_group (self, group);
        return S_GROUP;
    }
    if (step == 1 && group->launched) {
        s_pack_id (self, group->id, group->then_id, SF_UUID_SIZE);
        return S_GROUP_THEN;
    }
    if (step == 2 && group->state != SF_GROUP_RUNNING) {
        s_pack_group_end (self, group);
        return S_GROUP_END;
    }
    return 0;
}

static int
s_next_live (void *arg, uint8_t *type, const void **payload, size_t *size, sf_error_t *error)
{
    (void) error;
    s_compact_t *compact = (s_compact_t *) arg;
    s_store_t *self = compact->store;
    while (true) {
        if (compact->step == 0
        &&  compact->live->next (compact->live->arg, &compact->record) == 0)
            return 0;
        //  Step past the records that do not apply to this one
        uint8_t got = 0;
        while (compact->step < 3 && !(got = s_compact_step (self, &compact->record,
                                                            compact->step)))
            compact->step++;
        if (got) {
            compact->step++;
            *type = got;
            *payload = self->buffer.data;
            *size = self->buffer.size;
            return 1;
        }
        compact->step = 0;
    }
}

//  Append every staged record to the journal, in order. Returns 0, or -1
//  with error (the journal then holds none of them).
static int
s_append_staged (s_store_t *self, sf_error_t *error)
{
    const uint8_t *data = (const uint8_t *) self->staged.data;
    size_t offset = 0;
    while (offset < self->staged.size) {
        uint8_t type = data [offset];
        size_t size = (size_t) data [offset + 1] | (size_t) data [offset + 2] << 8
                    | (size_t) data [offset + 3] << 16 | (size_t) data [offset + 4] << 24;
        offset += S_STAGED_HEAD;
        if (!sf_journal_append (self->journal, type, data + offset, size, error))
            return -1;
        offset += size;
    }
    return 0;
}

static int
s_commit (void *backend, const sf_store_live_t *live, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) backend;
    //  After a failure, an empty commit first: it repairs the file, or
    //  fails while the fault lasts without the staged records being copied
    //  into the journal's buffer again (a journal that has failed for good
    //  would keep them there)
    if (self->failing && sf_journal_commit (self->journal, error))
        return -1;
    //  The staged records stay until a commit has made them durable: a
    //  failed one left none of them in the file
    self->failing = true;
    if (s_append_staged (self, error) || sf_journal_commit (self->journal, error))
        return -1;
    self->failing = false;
    if (self->staged.alloc > S_STAGED_KEEP) {
        msgpack_sbuffer_destroy (&self->staged);
        msgpack_sbuffer_init (&self->staged);
    }
    else
        msgpack_sbuffer_clear (&self->staged);

    uint64_t bytes = sf_journal_bytes (self->journal);
    if (!live || bytes < self->compact_min || bytes < self->compacted_bytes * S_COMPACT_GROWTH)
        return 0;
    int64_t started = s_mono_us ();
    s_compact_t compact = { .store = self, .live = live };
    sf_error_t failed;
    if (sf_journal_compact (self->journal, s_next_live, &compact, &failed)) {
        //  The old file stays in use; try again after it has grown as much
        sf_log_error ("journal: compaction failed: %s", failed.message);
        self->compacted_bytes = bytes;
        return 0;
    }
    self->compacted_bytes = sf_journal_bytes (self->journal);
    sf_log_info ("journal: compacted %llu bytes to %llu in %lld ms",
                 (unsigned long long) bytes, (unsigned long long) self->compacted_bytes,
                 (long long) (s_mono_us () - started) / 1000);
    return 0;
}

//  ==========================================================================
//  Hand the replayed jobs (in acceptance order: ids are time-ordered),
//  states and groups (oldest first) to the broker.

static int
s_job_by_id (const void *a, const void *b)
{
    return memcmp ((*(s_job_t * const *) a)->id, (*(s_job_t * const *) b)->id, SF_UUID_SIZE);
}

static int
s_group_by_id (const void *a, const void *b)
{
    return memcmp ((*(s_group_t * const *) a)->group.id, (*(s_group_t * const *) b)->group.id,
                   SF_UUID_SIZE);
}

//  The record of a replayed job, pointing into it.
static void
s_job_record (const s_job_t *job, sf_store_job_t *record)
{
    *record = (sf_store_job_t) {
        .state = job->state,
        .analyzer = job->analyzer,
        .spec = job->spec,
        .spec_size = job->spec_size,
        .key = job->key,
        .state_key = job->state_key,
        //  The journal keeps no acceptance time: the id has it
        .accepted_ms = (int64_t) sf_uuid_ms (job->id),
        .attempts = job->attempts,
        .failures = job->failures,
        .losses = job->losses,
        .history = job->history,
        .history_size = job->history_size,
        .history_count = job->history_count,
        .status = job->status,
        .worker = job->worker,
        .run_us = job->run_us,
        .finished_ms = job->finished_ms,
        .payload = job->payload,
        .payload_size = job->payload_size
    };
    memcpy (record->id, job->id, SF_UUID_SIZE);
}

static int
s_recover (void *backend, const sf_store_recovery_t *recovery, sf_error_t *error)
{
    (void) error;
    s_store_t *self = (s_store_t *) backend;
    size_t count = zhashx_size (self->jobs);
    s_job_t **jobs = (s_job_t **) malloc ((count + 1) * sizeof *jobs);
    if (!jobs)
        abort ();
    size_t i = 0;
    for (s_job_t *job = (s_job_t *) zhashx_first (self->jobs); job;
         job = (s_job_t *) zhashx_next (self->jobs))
        jobs [i++] = job;
    qsort (jobs, count, sizeof *jobs, s_job_by_id);
    for (i = 0; i < count; i++) {
        sf_store_job_t record;
        s_job_record (jobs [i], &record);
        recovery->job (recovery->arg, &record);
    }
    free (jobs);
    zhashx_purge (self->jobs);

    for (sf_store_blob_t *blob = (sf_store_blob_t *) zhashx_first (self->states); blob;
         blob = (sf_store_blob_t *) zhashx_next (self->states)) {
        sf_store_state_t state = { (const char *) zhashx_cursor (self->states), blob->data,
                                   blob->size };
        recovery->state (recovery->arg, &state);
    }
    zhashx_purge (self->states);

    count = zhashx_size (self->groups);
    s_group_t **groups = (s_group_t **) malloc ((count + 1) * sizeof *groups);
    if (!groups)
        abort ();
    i = 0;
    for (s_group_t *group = (s_group_t *) zhashx_first (self->groups); group;
         group = (s_group_t *) zhashx_next (self->groups))
        groups [i++] = group;
    qsort (groups, count, sizeof *groups, s_group_by_id);
    for (i = 0; i < count; i++)
        recovery->group (recovery->arg, &groups [i]->group);
    free (groups);
    zhashx_purge (self->groups);
    return 0;
}

const sf_store_ops_t sf_store_journal_ops = {
    "journal", s_accepted, s_finished, s_revived, s_forgotten, s_state_saved,
    s_group_accepted, s_group_launched, s_group_answered, s_group_forgotten, s_commit,
    s_recover, s_destroy
};
