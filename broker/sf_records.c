/*  =========================================================================
    sf_records - the broker's jobs and groups as the store's plain records

    The store takes plain records (sf_store.h): the durable fields of a
    job, a group or a state key's latest state, with wall-clock instants,
    and nothing of the broker's containers. This file writes them: the
    record of an entry or a group, borrowing its memory, staged through
    one of the store's operations; and the live set a commit may compact
    from, an iterator over the ledger, the state table and the groups
    oldest first. Recovery (sf_recover.c) reads them back into entries.

    The broker's clock is monotonic; a store keeps wall-clock instants, so
    that ages (result retention, a group's deadline) hold across a restart.
    An instant is converted at the pass's time, now_us.
    ========================================================================= */

#include "sf_broker_private.h"

//  Wall-clock milliseconds of the broker's monotonic instant mono_us.
static int64_t
s_wall_ms (sf_broker_t *self, int64_t mono_us)
{
    return (int64_t) zclock_time () - (self->now_us - mono_us) / 1000;
}

//  --------------------------------------------------------------------------
//  An entry's record.

void
sf_records_job (sf_broker_t *self, const sf_entry_t *entry, sf_store_job_t *record)
{
    bool finished = entry->state == SF_JOB_FINISHED;
    *record = (sf_store_job_t) {
        .state = finished? SF_STORE_FINISHED: SF_STORE_UNFINISHED,
        .analyzer = entry->queue->name,
        .spec = entry->spec,
        .spec_size = entry->spec_size,
        .key = entry->key,
        .state_key = entry->state_key,
        .accepted_ms = s_wall_ms (self, entry->accepted_us),
        .attempts = entry->attempt,
        .failures = entry->failures,
        .losses = entry->losses,
        .history = entry->history,
        .history_size = entry->history_size,
        .history_count = entry->history_count,
        .status = entry->status,
        .worker = entry->worker_name,
        .run_us = entry->run_us,
        .finished_ms = finished? s_wall_ms (self, entry->finished_us): 0,
        .payload = entry->payload,
        .payload_size = entry->payload_size,
        .then_id = entry->then_id,
        .group = entry->group? entry->group->id: NULL,
        .index = entry->index
    };
    memcpy (record->id, entry->id, SF_UUID_SIZE);
}

//  --------------------------------------------------------------------------
//  A group's record; its item ids are gathered in self->record_ids.

void
sf_records_group (sf_broker_t *self, const sf_group_t *group, sf_store_group_t *record)
{
    msgpack_sbuffer_clear (&self->record_ids);
    for (uint32_t i = 0; i < group->total; i++)
        sf_mp_write (&self->record_ids, (const char *) group->items [i]->id, SF_UUID_SIZE);
    bool chord = group->then && !group->launched;
    *record = (sf_store_group_t) {
        .opts = group->opts,
        .deadline_ms = group->deadline_us? s_wall_ms (self, group->deadline_us): 0,
        .total = group->total,
        .items = (const uint8_t *) self->record_ids.data,
        .then_spec = chord? group->then->spec: NULL,
        .then_size = chord? group->then->spec_size: 0,
        .launched = group->launched,
        .state = group->answered? group->state: SF_GROUP_RUNNING,
        .answered_ms = group->answered? s_wall_ms (self, group->answered_us): 0
    };
    memcpy (record->id, group->id, SF_UUID_SIZE);
    if (group->launched)
        memcpy (record->then_id, group->then->id, SF_UUID_SIZE);
}

//  --------------------------------------------------------------------------
//  Stage a change through one of the store's operations.

int
sf_records_stage_job (sf_broker_t *self, sf_store_job_fn *op, const sf_entry_t *entry,
                      sf_error_t *error)
{
    sf_store_job_t record;
    sf_records_job (self, entry, &record);
    return op (self->store, &record, error);
}

int
sf_records_stage_group (sf_broker_t *self, sf_store_group_fn *op, const sf_group_t *group,
                        sf_error_t *error)
{
    sf_store_group_t record;
    sf_records_group (self, group, &record);
    return op (self->store, &record, error);
}

//  --------------------------------------------------------------------------
//  The live set: every job of the ledger, every state, every group oldest
//  first.

typedef enum {
    S_LIVE_START,               //  Nothing given yet
    S_LIVE_JOBS,                //  Walking the ledger
    S_LIVE_STATES,              //  Walking the state table
    S_LIVE_GROUPS,              //  Walking the groups
    S_LIVE_DONE                 //  Every record given
} s_phase_t;

typedef struct {
    sf_broker_t *broker;        //  Whose state
    s_phase_t phase;            //  Where the walk is
} s_live_t;

static int
s_live_next (void *arg, sf_store_record_t *record)
{
    s_live_t *live = (s_live_t *) arg;
    sf_broker_t *self = live->broker;
    if (live->phase == S_LIVE_START || live->phase == S_LIVE_JOBS) {
        sf_entry_t *entry = live->phase == S_LIVE_START? sf_ledger_first (self->ledger)
                                                       : sf_ledger_next (self->ledger);
        live->phase = S_LIVE_JOBS;
        if (entry) {
            record->kind = SF_STORE_JOB;
            sf_records_job (self, entry, &record->job);
            return 1;
        }
        live->phase = S_LIVE_STATES;
        sf_store_blob_t *blob = (sf_store_blob_t *) zhashx_first (self->states);
        if (blob) {
            record->kind = SF_STORE_STATE;
            record->state = (sf_store_state_t) { (const char *) zhashx_cursor (self->states),
                                                 blob->data, blob->size };
            return 1;
        }
    }
    else
    if (live->phase == S_LIVE_STATES) {
        sf_store_blob_t *blob = (sf_store_blob_t *) zhashx_next (self->states);
        if (blob) {
            record->kind = SF_STORE_STATE;
            record->state = (sf_store_state_t) { (const char *) zhashx_cursor (self->states),
                                                 blob->data, blob->size };
            return 1;
        }
    }
    zlistx_t *groups = sf_groups_list (self->groups);
    sf_group_t *group = NULL;
    if (live->phase == S_LIVE_STATES)
        group = (sf_group_t *) zlistx_first (groups);
    else
    if (live->phase == S_LIVE_GROUPS)
        group = (sf_group_t *) zlistx_next (groups);
    live->phase = group? S_LIVE_GROUPS: S_LIVE_DONE;
    if (!group)
        return 0;
    record->kind = SF_STORE_GROUP;
    sf_records_group (self, group, &record->group);
    return 1;
}

int
sf_records_commit (sf_broker_t *self, sf_error_t *error)
{
    s_live_t walk = { self, S_LIVE_START };
    sf_store_live_t live = { s_live_next, &walk };
    return sf_store_commit (self->store, &live, error);
}
