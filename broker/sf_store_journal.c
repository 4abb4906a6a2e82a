/*  =========================================================================
    sf_store_journal - the journal store: `--store journal:DIR`

    Broker events become records of the journal in DIR (sf_journal):

      ACCEPT   id (16 bytes), then the job map as submitted
      FINISH   {id, analyzer, key, status, attempts, losses, worker, run_us,
                at_ms, payload, history?}   (a dead letter has history)
      REVIVE   id: a dead letter runs again
      FORGET   id: a finished job purged from the dead letters
      STATE    {key, state}: the latest analyzer state of a state key
      GROUP    {id, policy, min_ok, timeout_ms, deadline_ms, stream, key,
                items, then}: a group accepted (items: its item ids, 16
                bytes each, in submission order; then: the chord's job map
                while it has not been launched)
      GROUP_THEN  group id then chord id: the chord was launched
      GROUP_END   {id, state, at_ms}: the group answered
      GROUP_FORGET  group id: the group is forgotten with its items and chord

    A job is acknowledged after the commit that wrote its ACCEPT: with
    fsync=always (the default) that commit ends with one fdatasync for
    every record of the broker's pass (group commit). On open, the records
    are replayed into a table of jobs and states that recover hands to the
    broker. When the file has grown to four times its size after the last
    compaction (and past 64 MiB), the commit rewrites it from the live
    set: unfinished jobs (ACCEPT), dead letters (ACCEPT and FINISH), kept
    results (FINISH alone), states, and each kept group (GROUP, then
    GROUP_THEN and GROUP_END as they apply). The 64 MiB floor is a tuning
    knob: `journal:DIR,compact=BYTES`.
    ========================================================================= */

#include <czmq.h>
#include <time.h>
#include "sf_codec.h"
#include "sf_group.h"
#include "sf_journal.h"
#include "sf_ledger.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_queue.h"
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

typedef struct {
    sf_journal_t *journal;
    msgpack_sbuffer buffer;     //  Record being built
    msgpack_packer packer;      //  Packs into buffer
    uint64_t compacted_bytes;   //  File size after the last compaction (or open)
    uint64_t compact_min;       //  Never compact a smaller file
    //  Replayed, until recover hands them over
    zhashx_t *jobs;             //  id -> sf_entry_t (owned)
    zhashx_t *analyzers;        //  id -> analyzer name of a finished job (owned)
    zhashx_t *workers;          //  id -> worker name of a finished job (owned)
    zhashx_t *states;           //  key -> sf_store_blob_t (owned)
    zhashx_t *groups;           //  id -> s_group_t (owned)
} s_store_t;

//  A replayed group, until recover hands it over.
typedef struct {
    sf_store_group_t group;     //  What recover gives (key and items point here)
    char *key;                  //  Idempotency key (owned) or NULL
    uint8_t *items;             //  Item ids (owned)
} s_group_t;

static int64_t
s_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_entry_destructor (void **item)
{
    sf_entry_destroy ((sf_entry_t **) item);
}

static void
s_group_destructor (void **item)
{
    s_group_t *group = (s_group_t *) *item;
    if (!group)
        return;
    sf_entry_destroy (&group->group.then);
    free (group->key);
    free (group->items);
    free (group);
    *item = NULL;
}

//  Wall-clock milliseconds of a monotonic instant.
static uint64_t
s_wall_ms (int64_t mono_us)
{
    int64_t wall = zclock_time () + (mono_us - s_mono_us ()) / 1000;
    return wall > 0? (uint64_t) wall: 0;
}

//  ==========================================================================
//  Records

//  Append the record built in self->buffer.
static int
s_append_buffer (s_store_t *self, uint8_t type, sf_error_t *error)
{
    return sf_journal_append (self->journal, type, self->buffer.data, self->buffer.size,
                              error)? 0: -1;
}

//  A record whose payload is an id, or an id then more bytes.
static int
s_append_id (s_store_t *self, uint8_t type, const uint8_t id [SF_UUID_SIZE],
             const char *more, size_t more_size, sf_error_t *error)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_sbuffer_write (&self->buffer, (const char *) id, SF_UUID_SIZE);
    if (more_size)
        msgpack_sbuffer_write (&self->buffer, more, more_size);
    return s_append_buffer (self, type, error);
}

//  The FINISH map of a finished entry, into self->buffer.
static void
s_pack_finish (s_store_t *self, sf_entry_t *entry)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer *pk = &self->packer;
    bool dead = entry->status == SF_STATUS_DEAD;
    msgpack_pack_map (pk, dead? 13: 11);
    sf_mp_pack_str (pk, "id");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, entry->id, SF_UUID_SIZE);
    sf_mp_pack_kv_str (pk, "analyzer", entry->queue->name);
    sf_mp_pack_str (pk, "key");
    if (entry->key)
        sf_mp_pack_str (pk, entry->key);
    else
        msgpack_pack_nil (pk);
    sf_mp_pack_kv_uint (pk, "status", entry->status);
    sf_mp_pack_kv_uint (pk, "attempts", entry->attempt);
    sf_mp_pack_kv_uint (pk, "losses", entry->losses);
    sf_mp_pack_kv_str (pk, "worker", entry->worker_name? entry->worker_name: "");
    sf_mp_pack_kv_uint (pk, "run_us", entry->run_us);
    //  Wall-clock instant of the finish, for the result TTL after a restart
    int64_t age_us = s_mono_us () - entry->finished_us;
    sf_mp_pack_kv_uint (pk, "at_ms", (uint64_t) (zclock_time () - (age_us > 0? age_us / 1000: 0)));
    sf_mp_pack_str (pk, "payload");
    msgpack_pack_bin (pk, entry->payload_size);
    msgpack_pack_bin_body (pk, entry->payload, entry->payload_size);
    sf_mp_pack_kv_uint (pk, "history_count", entry->history_count);
    if (dead) {
        sf_mp_pack_str (pk, "history");
        msgpack_pack_bin (pk, entry->history_size);
        msgpack_pack_bin_body (pk, entry->history, entry->history_size);
        sf_mp_pack_kv_uint (pk, "failures", entry->failures);
    }
}

static void
s_pack_state (s_store_t *self, const char *key, const void *blob, size_t size)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_pack_map (&self->packer, 2);
    sf_mp_pack_kv_str (&self->packer, "key", key);
    sf_mp_pack_str (&self->packer, "state");
    msgpack_pack_bin (&self->packer, size);
    msgpack_pack_bin_body (&self->packer, blob, size);
}

//  The GROUP map of a group, into self->buffer.
static void
s_pack_group (s_store_t *self, sf_group_t *group)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer *pk = &self->packer;
    msgpack_pack_map (pk, 9);
    sf_mp_pack_str (pk, "id");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, group->id, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (pk, "policy", group->opts.policy);
    sf_mp_pack_kv_uint (pk, "min_ok", group->opts.min_ok);
    sf_mp_pack_kv_uint (pk, "timeout_ms", group->opts.timeout_ms);
    sf_mp_pack_kv_uint (pk, "deadline_ms", group->deadline_us? s_wall_ms (group->deadline_us): 0);
    sf_mp_pack_str (pk, "stream");
    if (group->opts.stream)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    sf_mp_pack_str (pk, "key");
    if (group->key)
        sf_mp_pack_str (pk, group->key);
    else
        msgpack_pack_nil (pk);
    sf_mp_pack_str (pk, "items");
    msgpack_pack_bin (pk, (size_t) group->total * SF_UUID_SIZE);
    for (uint32_t i = 0; i < group->total; i++)
        msgpack_pack_bin_body (pk, group->items [i]->id, SF_UUID_SIZE);
    sf_mp_pack_str (pk, "then");
    if (group->then && !group->launched) {
        msgpack_pack_bin (pk, group->then->spec_size);
        msgpack_pack_bin_body (pk, group->then->spec, group->then->spec_size);
    }
    else
        msgpack_pack_nil (pk);
}

//  The GROUP_THEN payload of a launched chord, into self->buffer.
static void
s_pack_group_then (s_store_t *self, sf_group_t *group)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_sbuffer_write (&self->buffer, (const char *) group->id, SF_UUID_SIZE);
    msgpack_sbuffer_write (&self->buffer, (const char *) group->then->id, SF_UUID_SIZE);
}

//  The GROUP_END map of an answered group, into self->buffer.
static void
s_pack_group_end (s_store_t *self, sf_group_t *group)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer *pk = &self->packer;
    msgpack_pack_map (pk, 3);
    sf_mp_pack_str (pk, "id");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, group->id, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (pk, "state", group->state);
    sf_mp_pack_kv_uint (pk, "at_ms", s_wall_ms (group->answered_us));
}

//  ==========================================================================
//  Replay

//  Fill an entry's job fields from its job map (spec, spec_size set).
static int
s_entry_from_spec (sf_entry_t *entry, sf_error_t *error)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object job;
    const char *why = "empty";
    sf_jobspec_t spec;
    int rc = sf_mp_next (&unpacked, entry->spec, entry->spec_size, &offset, &job, NULL, NULL, &why);
    if (rc || offset != entry->spec_size)
        rc = sf_error_set (error, "STORE", "journal: a job record is not one msgpack map (%s)", why);
    else
    if (sf_codec_job_check (&job, &spec, error) == 0) {
        entry->priority = (uint8_t) spec.priority;
        entry->timeout_ms = spec.timeout_ms;
        entry->retries = spec.retries;
        entry->backoff_ms = spec.backoff_ms;
        entry->chained = spec.then != NULL;
        entry->key = spec.key? strndup (spec.key, spec.key_size): NULL;
        entry->state_key = spec.state_key? strndup (spec.state_key, spec.state_key_size): NULL;
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
    sf_entry_t *entry = (sf_entry_t *) zmalloc (sizeof *entry);
    memcpy (entry->id, payload, SF_UUID_SIZE);
    entry->heap_pos = UINT32_MAX;
    entry->spec_size = (uint32_t) (size - SF_UUID_SIZE);
    entry->spec = (char *) malloc (entry->spec_size);
    if (!entry->spec)
        abort ();
    memcpy (entry->spec, payload + SF_UUID_SIZE, entry->spec_size);
    if (s_entry_from_spec (entry, error)) {
        sf_entry_destroy (&entry);
        return -1;
    }
    zhashx_update (self->jobs, entry->id, entry);       //  Replaces (and frees) a twin
    return 0;
}

//  Copy a bin or str field into a fresh buffer; NULL and 0 when absent.
static char *
s_copy_field (const msgpack_object *object, uint32_t *size)
{
    *size = 0;
    if (!object || (object->type != MSGPACK_OBJECT_BIN && object->type != MSGPACK_OBJECT_STR))
        return NULL;
    *size = object->via.bin.size;
    char *copy = (char *) malloc (*size + 1);
    if (!copy)
        abort ();
    memcpy (copy, object->via.bin.ptr, *size);
    copy [*size] = 0;
    return copy;
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
    sf_mp_uint (sf_mp_get (&map, "at_ms"), UINT64_MAX, &at_ms);
    sf_mp_uint (sf_mp_get (&map, "history_count"), UINT32_MAX, &count);
    sf_mp_strcpy (sf_mp_get (&map, "worker"), worker, sizeof worker);

    sf_entry_t *entry = (sf_entry_t *) zhashx_lookup (self->jobs, id);
    if (!entry) {
        //  A kept result written by a compaction: no ACCEPT before it
        entry = (sf_entry_t *) zmalloc (sizeof *entry);
        memcpy (entry->id, id, SF_UUID_SIZE);
        entry->heap_pos = UINT32_MAX;
        uint32_t key_size;
        entry->key = s_copy_field (sf_mp_get (&map, "key"), &key_size);
        zhashx_insert (self->jobs, entry->id, entry);
    }
    entry->state = SF_JOB_FINISHED;
    entry->status = (sf_status_t) status;
    entry->attempt = (uint32_t) attempts;
    entry->losses = (uint32_t) losses;
    entry->failures = (uint32_t) failures;
    entry->run_us = run_us;
    int64_t age_us = ((int64_t) zclock_time () - (int64_t) at_ms) * 1000;
    entry->finished_us = s_mono_us () - (age_us > 0? age_us: 0);
    free (entry->payload);
    entry->payload = s_copy_field (sf_mp_get (&map, "payload"), &entry->payload_size);
    free (entry->history);
    entry->history = s_copy_field (sf_mp_get (&map, "history"), &entry->history_size);
    entry->history_count = (uint32_t) count;
    if (entry->status != SF_STATUS_DEAD) {
        free (entry->spec);     //  Only a dead letter keeps its job
        entry->spec = NULL;
        entry->spec_size = 0;
    }
    zhashx_update (self->analyzers, entry->id, strdup (analyzer));
    zhashx_update (self->workers, entry->id, strdup (worker));
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
    sf_store_blob_t *blob = (sf_store_blob_t *) zmalloc (sizeof *blob);
    uint32_t blob_size;
    blob->data = s_copy_field (state, &blob_size);
    blob->size = blob_size;
    zhashx_update (self->states, key, blob);
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
        sf_entry_t *entry = (sf_entry_t *) zmalloc (sizeof *entry);
        entry->heap_pos = UINT32_MAX;
        entry->spec = s_copy_field (then, &entry->spec_size);
        group->group.then = entry;
        group->group.opts.then = true;
        if (s_entry_from_spec (entry, error)) {
            s_group_destructor ((void **) &group);
            msgpack_unpacked_destroy (&unpacked);
            return -1;
        }
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
        sf_entry_destroy (&group->group.then);
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
        sf_entry_t *entry = (sf_entry_t *) zhashx_lookup (self->jobs, payload);
        if (entry && type == S_FORGET)
            zhashx_delete (self->jobs, payload);
        else
        if (entry && entry->spec) {
            //  Back to a queued job with its retries renewed
            entry->state = SF_JOB_QUEUED;
            entry->failures = entry->losses = 0;
            free (entry->payload);
            entry->payload = NULL;
            entry->payload_size = 0;
        }
        return 0;
    }
    return sf_error_set (error, "STORE", "journal: a record of unknown type %u (size %zu)",
                         type, size);
}

//  ==========================================================================
//  Operations

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
    msgpack_packer_init (&self->packer, &self->buffer, msgpack_sbuffer_write);
    self->jobs = sf_uuid_table (false);             //  Keys live in the entries
    zhashx_set_destructor (self->jobs, s_entry_destructor);
    self->analyzers = sf_uuid_table (true);
    zhashx_set_destructor (self->analyzers, (zhashx_destructor_fn *) zstr_free);
    self->workers = sf_uuid_table (true);
    zhashx_set_destructor (self->workers, (zhashx_destructor_fn *) zstr_free);
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
        void *state = self;
        sf_store_journal_ops.destroy (&state);
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
s_destroy (void **state_p)
{
    s_store_t *self = (s_store_t *) *state_p;
    if (!self)
        return;
    sf_journal_destroy (&self->journal);
    zhashx_destroy (&self->jobs);
    zhashx_destroy (&self->analyzers);
    zhashx_destroy (&self->workers);
    zhashx_destroy (&self->states);
    zhashx_destroy (&self->groups);
    msgpack_sbuffer_destroy (&self->buffer);
    free (self);
    *state_p = NULL;
}

static int
s_accepted (void *state, sf_entry_t **entries, size_t count, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) state;
    for (size_t i = 0; i < count; i++)
        if (s_append_id (self, S_ACCEPT, entries [i]->id, entries [i]->spec,
                         entries [i]->spec_size, error))
            return -1;
    return 0;
}

static int
s_finished (void *state, sf_entry_t *entry, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) state;
    s_pack_finish (self, entry);
    return s_append_buffer (self, S_FINISH, error);
}

static int
s_revived (void *state, sf_entry_t *entry, sf_error_t *error)
{
    return s_append_id ((s_store_t *) state, S_REVIVE, entry->id, NULL, 0, error);
}

static int
s_forgotten (void *state, sf_entry_t *entry, sf_error_t *error)
{
    return s_append_id ((s_store_t *) state, S_FORGET, entry->id, NULL, 0, error);
}

static int
s_state_saved (void *state, const char *key, const void *blob, size_t size, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) state;
    s_pack_state (self, key, blob, size);
    return s_append_buffer (self, S_STATE, error);
}

static int
s_group_accepted (void *state, sf_group_t *group, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) state;
    s_pack_group (self, group);
    return s_append_buffer (self, S_GROUP, error);
}

static int
s_group_launched (void *state, sf_group_t *group, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) state;
    s_pack_group_then (self, group);
    return s_append_buffer (self, S_GROUP_THEN, error);
}

static int
s_group_answered (void *state, sf_group_t *group, sf_error_t *error)
{
    s_store_t *self = (s_store_t *) state;
    s_pack_group_end (self, group);
    return s_append_buffer (self, S_GROUP_END, error);
}

static int
s_group_forgotten (void *state, sf_group_t *group, sf_error_t *error)
{
    return s_append_id ((s_store_t *) state, S_GROUP_FORGET, group->id, NULL, 0, error);
}

//  --------------------------------------------------------------------------
//  Compaction: the live set, one record at a time.

typedef struct {
    s_store_t *store;
    sf_ledger_t *ledger;
    zhashx_t *states;
    zlistx_t *groups;           //  sf_group_t, oldest first
    sf_entry_t *entry;          //  Current ledger entry
    bool entry_done;            //  Its ACCEPT has been given (dead letters)
    bool in_states;             //  Past the ledger
    bool in_groups;             //  Past the states
    bool started;               //  The current phase has begun
    sf_group_t *group;          //  Current group
    int group_step;             //  Its records given: 0 none, 1 GROUP, 2 GROUP_THEN
} s_live_t;

//  The next record of the groups phase: each group's GROUP, its GROUP_THEN
//  when the chord was launched, its GROUP_END when it answered.
static int
s_next_live_group (s_live_t *live, uint8_t *type)
{
    s_store_t *self = live->store;
    if (!live->started) {
        live->group = (sf_group_t *) zlistx_first (live->groups);
        live->group_step = 0;
        live->started = true;
    }
    while (live->group) {
        sf_group_t *group = live->group;
        int step = live->group_step++;
        if (step == 0) {
            s_pack_group (self, group);
            *type = S_GROUP;
            return 1;
        }
        if (step == 1 && group->launched) {
            s_pack_group_then (self, group);
            *type = S_GROUP_THEN;
            return 1;
        }
        if (step == 2 && group->answered) {
            s_pack_group_end (self, group);
            *type = S_GROUP_END;
            return 1;
        }
        if (step >= 2) {
            live->group = (sf_group_t *) zlistx_next (live->groups);
            live->group_step = 0;
        }
    }
    return 0;
}

static void
s_advance (s_live_t *live)
{
    live->entry = sf_ledger_next (live->ledger);
    live->entry_done = false;
}

static int
s_next_live (void *arg, uint8_t *type, const void **payload, size_t *size, sf_error_t *error)
{
    (void) error;
    s_live_t *live = (s_live_t *) arg;
    s_store_t *self = live->store;
    if (!live->in_states) {
        if (!live->started) {
            live->entry = sf_ledger_first (live->ledger);
            live->started = true;
        }
        sf_entry_t *entry = live->entry;
        if (entry && !live->entry_done && entry->spec) {
            //  An unfinished job or a dead letter: its job first
            msgpack_sbuffer_clear (&self->buffer);
            msgpack_sbuffer_write (&self->buffer, (const char *) entry->id, SF_UUID_SIZE);
            msgpack_sbuffer_write (&self->buffer, entry->spec, entry->spec_size);
            *type = S_ACCEPT;
            if (entry->state == SF_JOB_FINISHED)
                live->entry_done = true;            //  Its FINISH comes next
            else
                s_advance (live);
        }
        else
        if (entry) {
            s_pack_finish (self, entry);
            *type = S_FINISH;
            s_advance (live);
        }
        if (entry) {
            *payload = self->buffer.data;
            *size = self->buffer.size;
            return 1;
        }
        live->in_states = true;
        live->started = false;
    }
    if (!live->in_groups) {
        sf_store_blob_t *blob = (sf_store_blob_t *) (live->started? zhashx_next (live->states):
                                                                     zhashx_first (live->states));
        live->started = true;
        if (blob) {
            s_pack_state (self, (const char *) zhashx_cursor (live->states), blob->data,
                          blob->size);
            *type = S_STATE;
            *payload = self->buffer.data;
            *size = self->buffer.size;
            return 1;
        }
        live->in_groups = true;
        live->started = false;
    }
    if (!s_next_live_group (live, type))
        return 0;
    *payload = self->buffer.data;
    *size = self->buffer.size;
    return 1;
}

static int
s_commit (void *state, sf_ledger_t *ledger, zhashx_t *states, zlistx_t *groups,
          sf_error_t *error)
{
    s_store_t *self = (s_store_t *) state;
    if (sf_journal_commit (self->journal, error))
        return -1;
    uint64_t bytes = sf_journal_bytes (self->journal);
    if (bytes < self->compact_min || bytes < self->compacted_bytes * S_COMPACT_GROWTH)
        return 0;
    int64_t started = s_mono_us ();
    s_live_t live = { .store = self, .ledger = ledger, .states = states, .groups = groups };
    if (sf_journal_compact (self->journal, s_next_live, &live, error)) {
        //  The old file stays in use; try again after it has grown as much
        sf_log_error ("journal: compaction failed: %s", error->message);
        self->compacted_bytes = bytes;
        return 0;
    }
    self->compacted_bytes = sf_journal_bytes (self->journal);
    sf_log_info ("journal: compacted %llu bytes to %llu in %lld ms",
                 (unsigned long long) bytes, (unsigned long long) self->compacted_bytes,
                 (long long) (s_mono_us () - started) / 1000);
    return 0;
}

//  --------------------------------------------------------------------------
//  Hand the replayed jobs (in acceptance order: ids are time-ordered),
//  states and groups (oldest first) to the broker.

static int
s_by_id (const void *a, const void *b)
{
    return memcmp ((*(sf_entry_t * const *) a)->id, (*(sf_entry_t * const *) b)->id,
                   SF_UUID_SIZE);
}

static int
s_group_by_id (const void *a, const void *b)
{
    return memcmp ((*(s_group_t * const *) a)->group.id, (*(s_group_t * const *) b)->group.id,
                   SF_UUID_SIZE);
}

static int
s_recover (void *state, const sf_store_recovery_t *recovery, sf_error_t *error)
{
    (void) error;
    s_store_t *self = (s_store_t *) state;
    size_t count = zhashx_size (self->jobs);
    sf_entry_t **entries = (sf_entry_t **) malloc ((count + 1) * sizeof *entries);
    if (!entries)
        abort ();
    size_t i = 0;
    for (sf_entry_t *entry = (sf_entry_t *) zhashx_first (self->jobs); entry;
         entry = (sf_entry_t *) zhashx_next (self->jobs))
        entries [i++] = entry;
    qsort (entries, count, sizeof *entries, s_by_id);
    zhashx_set_destructor (self->jobs, NULL);       //  The broker takes them
    for (i = 0; i < count; i++) {
        sf_entry_t *entry = entries [i];
        //  The names live in this store's tables until the call returns
        entry->worker_name = (const char *) zhashx_lookup (self->workers, entry->id);
        recovery->job (recovery->arg, entry,
                       (const char *) zhashx_lookup (self->analyzers, entry->id));
    }
    free (entries);
    zhashx_purge (self->jobs);
    zhashx_purge (self->analyzers);
    zhashx_purge (self->workers);
    for (sf_store_blob_t *blob = (sf_store_blob_t *) zhashx_first (self->states); blob;
         blob = (sf_store_blob_t *) zhashx_next (self->states))
        recovery->state (recovery->arg, (const char *) zhashx_cursor (self->states),
                         blob->data, blob->size);
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
    for (i = 0; i < count; i++) {
        recovery->group (recovery->arg, &groups [i]->group);
        groups [i]->group.then = NULL;          //  Taken by the broker
    }
    free (groups);
    zhashx_purge (self->groups);
    return 0;
}

const sf_store_ops_t sf_store_journal_ops = {
    "journal", s_accepted, s_finished, s_revived, s_forgotten, s_state_saved,
    s_group_accepted, s_group_launched, s_group_answered, s_group_forgotten, s_commit,
    s_recover, s_destroy
};
