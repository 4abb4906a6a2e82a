/*  =========================================================================
    sf_recover - the broker's state rebuilt from its store at start

    A durable store hands back every job it knows, in acceptance order, the
    latest state of each state key, then every group it keeps, oldest
    first (sf_store_recover). Jobs go to the state machine
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

//  A job the store held.
static void
s_recovered_job (void *arg, sf_entry_t *entry, const char *analyzer)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    entry->queue = analyzer? sf_dispatch_queue (self, analyzer, strlen (analyzer)):
                             sf_dispatch_queue_of (self, entry);
    if (!entry->queue) {
        sf_log_error ("broker: a recovered job's analyzer is over the queue limit; dropped");
        sf_entry_destroy (&entry);
        return;
    }
    //  Its age from the time in its id: monotonic time has no past
    entry->accepted_us = self->now_us - ((int64_t) zclock_time ()
                                         - (int64_t) sf_uuid_ms (entry->id)) * 1000;
    sf_jobs_restore (self, entry);
}

//  The latest state of a state key.
static void
s_recovered_state (void *arg, const char *key, const void *blob, size_t size)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    zhashx_update (self->states, key, sf_store_blob_new (blob, size));
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
s_recovered_group (void *arg, sf_store_group_t *stored)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    char text [SF_ID_STRLEN + 1];
    sf_uuid_str (stored->id, text);
    sf_entry_t *then = stored->then;
    stored->then = NULL;                //  Ours now
    sf_entry_t *launched = stored->launched? sf_ledger_find (self->ledger, stored->then_id): NULL;
    bool whole = !stored->launched || launched;
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
