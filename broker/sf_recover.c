/*  =========================================================================
    sf_recover - the broker's state rebuilt from its store at start

    A durable store hands back plain records (sf_store.h): every job it
    knows, in acceptance order, the latest state of each state key, then
    every group it keeps, oldest first (sf_store_recover). Each job record
    becomes an entry, made by sf_entry_new from its job map (checked again:
    the broker trusts no store's bytes) or without one for a kept result,
    with the fields the record holds; entries go to the state machine
    (sf_jobs_restore): unfinished ones are queued to run again, since what
    ran before the restart is lost, and finished ones are kept as results
    or dead letters. A group is rebuilt over its jobs, found by id, with
    its counters recomputed from their statuses; its client is gone, so
    its answer is kept for FETCH. A group that had not answered is decided
    at once when its items' results decide it, ends at once when its
    deadline has passed (its chord's run included), and waits for the rest
    otherwise.
    ========================================================================= */

#include "sf_broker_private.h"

//  A copy of size bytes of data, or NULL for none.
static char *
s_copy (const char *data, size_t size)
{
    if (!data)
        return NULL;
    char *copy = (char *) malloc (size? size: 1);
    if (!copy)
        abort ();
    memcpy (copy, data, size);
    return copy;
}

//  A new entry for a job map the store kept (spec_size bytes at spec),
//  accepted at accepted_ms on the wall clock, or one without a job map
//  (spec NULL). Returns NULL when the map is not a valid job (logged: a
//  store checks what it reads, so it is not expected).
static sf_entry_t *
s_entry (sf_broker_t *self, const char *spec, size_t spec_size, int64_t accepted_ms)
{
    //  Its age on the wall clock: monotonic time has no past
    int64_t now_us = self->now_us - ((int64_t) zclock_time () - accepted_ms) * 1000;
    if (!spec)
        return sf_entry_new (NULL, NULL, 0, now_us);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why = "empty";
    sf_jobspec_t checked;
    sf_error_t error;
    sf_entry_t *entry = NULL;
    if (sf_mp_next (&unpacked, spec, spec_size, &offset, &map, NULL, NULL, &why) == 0
    &&  offset == spec_size
    &&  sf_codec_job_check (&map, &checked, &error) == 0)
        entry = sf_entry_new (&checked, spec, spec_size, now_us);
    msgpack_unpacked_destroy (&unpacked);
    if (!entry)
        sf_log_error ("broker: the store gave back a job map that is not a valid job; dropped");
    return entry;
}

//  A job the store held: an entry with its recorded fields, to the state
//  machine.
static void
s_recovered_job (void *arg, const sf_store_job_t *job)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    sf_entry_t *entry = s_entry (self, job->spec, job->spec_size, job->accepted_ms);
    if (!entry)
        return;
    memcpy (entry->id, job->id, SF_UUID_SIZE);
    entry->queue = job->analyzer? sf_dispatch_queue (self, job->analyzer, strlen (job->analyzer))
                                : sf_dispatch_queue_of (self, entry);
    if (!entry->queue) {
        sf_log_error ("broker: a recovered job's analyzer is over the queue limit; dropped");
        sf_entry_destroy (&entry);
        return;
    }
    entry->key = job->key? s_copy (job->key, strlen (job->key) + 1): NULL;
    if (!entry->state_key && job->state_key)
        entry->state_key = s_copy (job->state_key, strlen (job->state_key) + 1);
    entry->attempt = job->attempts;
    entry->failures = job->failures;
    entry->losses = job->losses;
    entry->history = s_copy (job->history, job->history_size);
    entry->history_size = entry->history? (uint32_t) job->history_size: 0;
    entry->history_count = entry->history? job->history_count: 0;
    if (job->then_id)
        entry->then_id = (uint8_t *) s_copy ((const char *) job->then_id, SF_UUID_SIZE);
    if (job->state == SF_STORE_FINISHED) {
        entry->state = SF_JOB_FINISHED;
        entry->status = job->status;
        entry->run_us = job->run_us;
        entry->payload = s_copy (job->payload, job->payload_size);
        entry->payload_size = entry->payload? (uint32_t) job->payload_size: 0;
        int64_t age_us = ((int64_t) zclock_time () - job->finished_ms) * 1000;
        entry->finished_us = self->now_us - (age_us > 0? age_us: 0);
        //  Borrowed for the call: sf_jobs_restore keeps its own copy
        entry->worker_name = job->worker;
    }
    sf_jobs_restore (self, entry);
}

//  The latest state of a state key.
static void
s_recovered_state (void *arg, const sf_store_state_t *state)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    zhashx_update (self->states, state->key, sf_store_blob_new (state->data, state->size));
}

//  Item number i of a stored group, from the ledger.
static sf_entry_t *
s_item (sf_broker_t *self, const sf_store_group_t *stored, uint32_t i)
{
    return sf_ledger_find (self->ledger, stored->items + (size_t) i * SF_UUID_SIZE);
}

//  A group the store kept: rebuilt over its recovered entries, with its
//  key, its deadline and its chord. A group whose jobs did not all come
//  back is dropped; its jobs stay, as plain jobs.
static void
s_recovered_group (void *arg, const sf_store_group_t *stored)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    char text [SF_ID_STRLEN + 1];
    sf_uuid_str (stored->id, text);
    bool whole = true;
    sf_entry_t *then = NULL;
    if (stored->then_spec && !stored->launched)
        whole = (then = s_entry (self, stored->then_spec, stored->then_size,
                                 (int64_t) zclock_time ())) != NULL;
    sf_entry_t *launched = stored->launched? sf_ledger_find (self->ledger, stored->then_id): NULL;
    whole = whole && (!stored->launched || launched);
    for (uint32_t i = 0; i < stored->total && whole; i++) {
        sf_entry_t *entry = s_item (self, stored, i);
        whole = entry && !entry->group;
    }
    if (then && !(then->queue = sf_dispatch_queue_of (self, then)))
        whole = false;
    if (!whole) {
        sf_log_error ("broker: a recovered group lost jobs or its chord's queue; dropped "
                      "(group=%s)", text);
        sf_entry_destroy (&then);
        return;
    }
    sf_group_t *group = sf_group_new (&stored->opts, 0, stored->total, self->now_us);
    memcpy (group->id, stored->id, SF_UUID_SIZE);
    group->deadline_us = 0;
    for (uint32_t i = 0; i < stored->total; i++) {
        sf_entry_t *entry = s_item (self, stored, i);
        sf_ledger_grouped (self->ledger, entry, group);
        entry->index = i;
        group->items [i] = entry;
    }
    if (then) {
        then->accepted_us = self->now_us;
        group->then = then;
    }
    else
    if (launched) {
        sf_ledger_grouped (self->ledger, launched, group);
        group->then = launched;
        group->launched = true;
    }
    if (group->then) {
        group->then->group = group;
        group->then->index = stored->total;
    }
    sf_groups_insert (self->groups, group);

    if (stored->state != SF_GROUP_RUNNING) {
        //  Answered before the restart: kept for FETCH, retention going on
        for (uint32_t i = 0; i < group->total; i++)
            if (group->items [i]->state == SF_JOB_FINISHED) {
                group->finished++;
                group->counts [group->items [i]->status]++;
            }
        group->state = stored->state;
        int64_t age_ms = (int64_t) zclock_time () - stored->answered_ms;
        sf_groups_answered (self->groups, group, self->now_us - (age_ms > 0? age_ms * 1000: 0));
        return;
    }
    //  Running: the policy over the finished items, in submission order
    for (uint32_t i = 0; i < group->total; i++)
        if (group->items [i]->state == SF_JOB_FINISHED)
            sf_group_item_done (group, group->items [i]);
    if (group->launched) {
        //  Decided ok before the restart; the chord answers when it ends
        group->state = SF_GROUP_OK;
        if (group->then->state == SF_JOB_FINISHED)
            sf_cmd_group_answer (self, group);
    }
    else
    if (group->state != SF_GROUP_RUNNING)
        sf_cmd_group_decide (self, group);
    if (!group->answered && stored->deadline_ms) {
        //  The deadline holds until the group answers, chord included
        int64_t left_ms = stored->deadline_ms - (int64_t) zclock_time ();
        if (left_ms <= 0)
            sf_cmd_group_end (self, group, SF_GROUP_TIMEOUT);
        else
            sf_groups_arm (self->groups, group, self->now_us + left_ms * 1000);
    }
    sf_log_debug ("broker: group recovered (group=%s state=%s finished=%u of %u)", text,
                  sf_group_state_name (group->state), group->finished, group->total);
}

int
sf_recover (sf_broker_t *self, sf_error_t *error)
{
    sf_store_recovery_t recovery = { s_recovered_job, s_recovered_state, s_recovered_group,
                                     self };
    if (sf_store_recover (self->store, &recovery, error))
        return -1;
    if (sf_ledger_size (self->ledger) || zhashx_size (self->states))
        sf_log_info ("broker: recovered %zu unfinished jobs, %zu finished, %zu dead letters, "
                     "%zu states, %zu groups", self->unfinished,
                     sf_ledger_finished_count (self->ledger), sf_ledger_dead_count (self->ledger),
                     zhashx_size (self->states), sf_groups_size (self->groups));
    return 0;
}
