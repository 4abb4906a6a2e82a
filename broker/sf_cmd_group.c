/*  =========================================================================
    sf_cmd_group - GROUP: many jobs the broker runs and answers for as one

    One GROUP message submits every job of a group. Intake is SUBMIT's
    (sf_cmd_submit_next, sf_cmd_submit_admit): the batch is taken whole or
    not at all, and each item becomes an ordinary job, accepted by the
    state machine with its group and index set, so that the queue serves
    the group as one source. A GROUP with a known key creates nothing: it
    is answered from the group the key names (sf_cmd_group_join).

    The group decides its state from its items as they finish (the state
    machine's hook, sf_cmd_group_item_done, and the policy in
    sf_group_item_done), or from its deadline or a cancel
    (sf_cmd_group_end). Once decided, its unfinished items end; then the
    chord runs, or the group answers: recorded now, sent at the end of the
    pass (sf_outbox_group_answer). The group's deadline and a cancel hold
    until it answers, so they reach a running chord too: the chord ends
    (timeout or cancelled) and the group answers with that state. An
    answered group keeps its items until retention forgets it with them
    (sf_cmd_group_purge).
    ========================================================================= */

#include "sf_broker_private.h"

//  ==========================================================================
//  Intake

//  Acknowledge a GROUP (tag) with group's id and item ids, after the store
//  commit; join: the GROUP named group by its key, and is answered from it,
//  else it created group, which a failed commit takes back.
static void
s_ack (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, sf_group_t *group, bool join)
{
    sf_crec_t *client = sf_clients_hold (self->clients, zmq_msg_data (&msg->routing),
                                         zmq_msg_size (&msg->routing));
    sf_intake_t intake = { .group = join? NULL: group, .join = join? group: NULL,
                           .deduplicated = join? 1: 0 };
    msgpack_packer *pk = sf_outbox_ack (self, client, tag, &intake);
    msgpack_pack_map (pk, 3);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_str (pk, "group");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, group->id, SF_UUID_SIZE);
    sf_mp_pack_str (pk, "ids");
    msgpack_pack_array (pk, group->total);
    for (uint32_t i = 0; i < group->total; i++) {
        msgpack_pack_bin (pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (pk, group->items [i]->id, SF_UUID_SIZE);
    }
}

//  The group's options, from the header of its batch (the reader took only
//  tag and n); the key is copied into key.
static int
s_read_opts (sf_msg_t *msg, sf_group_opts_t *opts, char key [SF_KEY_MAX + 1],
             sf_error_t *error)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object header;
    const char *why;
    //  The batch reader decoded this header already
    sf_mp_next (&unpacked, sf_msg_data (msg), sf_msg_size (msg), &offset, &header, NULL, NULL,
                &why);
    int rc = sf_codec_read_group_opts (&header, opts, error);
    if (rc == 0 && opts->key) {
        memcpy (key, opts->key, opts->key_size);
        key [opts->key_size] = 0;
        opts->key = key;
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}

//  GROUP: validate the whole batch like SUBMIT, then accept the group whole
//  or not at all. Its items are ordinary entries in the ledger, the store
//  and the queues; their results go to the group, not the client.
int
sf_cmd_group (sf_broker_t *self, sf_msg_t *msg)
{
    sf_error_t error;
    const sf_error_t *failed = NULL;    //  Why the batch is rejected
    sf_batchr_t reader;
    sf_group_opts_t opts;
    sf_entry_t **fresh = NULL;
    uint32_t count = 0;
    char key [SF_KEY_MAX + 1];

    if (sf_batchr_open (&reader, sf_msg_data (msg), sf_msg_size (msg), 1,
                        SF_BATCH_MAX, &error)
    ||  s_read_opts (msg, &opts, key, &error))
        goto rejected;
    if (reader.count < (opts.then? 2u: 1u)) {
        sf_error_set (&error, "BAD_INPUT", "GROUP holds no jobs%s",
                      opts.then? " besides its chord": "");
        goto rejected;
    }
    uint32_t total = reader.count - (opts.then? 1: 0);
    if (opts.min_ok > total) {
        sf_error_set (&error, "BAD_INPUT", "min_ok %u is more than the %u jobs of the group",
                      opts.min_ok, total);
        goto rejected;
    }
    fresh = (sf_entry_t **) sf_alloc_array (reader.count, sizeof *fresh);
    sf_intake_job_t job;
    int rc;
    while ((rc = sf_cmd_submit_next (self, &reader, count, &job, &error)) == 0) {
        if (job.spec.key) {
            //  A key would make an item another job's: not in a group
            sf_error_set (&error, "BAD_INPUT", "job %u: a job in a group has no \"key\"", count);
            goto rejected;
        }
        if (job.spec.then) {
            //  A group gathers its items' results; the chord runs after them
            sf_error_set (&error, "BAD_INPUT", "job %u: a job in a group has no \"then\"",
                          count);
            goto rejected;
        }
        sf_entry_t *entry = sf_entry_new (&job.spec, job.raw, job.raw_size, self->now_us);
        entry->queue = sf_dispatch_find (self, job.spec.analyzer, job.spec.analyzer_size);
        fresh [count++] = entry;
    }
    if (rc < 0)
        goto rejected;
    sf_group_t *known = opts.key? sf_groups_find_key (self->groups, key): NULL;
    if (known) {
        //  A key the broker knows: the group it names answers this GROUP too
        //  (once the store can commit: its answer may not be durable yet)
        if (sf_cmd_submit_degraded (self, msg, reader.tag))
            goto release;
        self->counters.deduplicated++;
        s_ack (self, msg, reader.tag, known, true);
        sf_log_debug ("broker: group answered by its key (key=%s)", key);
        goto release;
    }
    for (uint32_t i = 0; i < total; i++)
        sf_uuid_v7 (fresh [i]->id);
    rc = sf_cmd_submit_admit (self, msg, reader.tag, fresh, count, total, &error);
    if (rc < 0)
        goto rejected;
    if (rc > 0)
        goto release;           //  Answered BUSY

    //  Accepted: the group, its items in the store, the ledger and the
    //  queues, the group recorded in the same commit (the ack waits for both)
    sf_group_t *group = sf_group_new (&opts, reader.tag, total, self->now_us);
    for (uint32_t i = 0; i < total; i++) {
        fresh [i]->group = group;
        fresh [i]->index = i;
        group->items [i] = fresh [i];
    }
    if (sf_jobs_accept (self, fresh, total, NULL, &error)) {
        sf_group_destroy (&group);
        goto rejected;
    }
    if (opts.then) {
        group->then = fresh [total];
        group->then->group = group;
        group->then->index = total;
    }
    group->client = sf_clients_hold (self->clients, zmq_msg_data (&msg->routing),
                                     zmq_msg_size (&msg->routing));
    if (sf_records_stage_group (self, sf_store_group_accepted, group, &error))
        sf_log_error ("broker: store could not record a group: %s", error.message);
    sf_groups_insert (self->groups, group);
    self->pass_items += count;
    s_ack (self, msg, reader.tag, group, false);
    count = 0;                          //  The ledger's and the group's now
    goto release;

rejected:
    failed = &error;
release:
    sf_cmd_submit_end (self, msg, &reader, fresh, count, failed);
    return 0;
}

void
sf_cmd_group_refuse (sf_broker_t *self, sf_group_t *group)
{
    sf_error_t error;
    if (sf_records_stage_group (self, sf_store_group_forgotten, group, &error))
        sf_log_error ("broker: store could not record a group taken back: %s", error.message);
    for (uint32_t i = 0; i < group->total; i++)
        sf_jobs_refuse (self, group->items [i]);
    sf_clients_release (self->clients, &group->client);
    while (group->waiters && zlistx_size (group->waiters)) {
        sf_group_waiter_t *waiter = (sf_group_waiter_t *) zlistx_first (group->waiters);
        sf_clients_release (self->clients, &waiter->client);
        zlistx_delete (group->waiters, zlistx_cursor (group->waiters));
    }
    sf_groups_remove (self->groups, group);
}

//  ==========================================================================
//  Deciding and answering

void
sf_cmd_group_answer (sf_broker_t *self, sf_group_t *group)
{
    sf_groups_answered (self->groups, group, self->now_us);
    sf_error_t error;
    if (sf_records_stage_group (self, sf_store_group_answered, group, &error))
        sf_log_error ("broker: store could not record a group's answer: %s", error.message);
    sf_outbox_group_answer (self, group);
}

//  Queue the chord with the gathered results as its params.results.
static void
s_launch_chord (sf_broker_t *self, sf_group_t *group)
{
    sf_entry_t *entry = group->then;
    msgpack_sbuffer spec;
    msgpack_sbuffer_init (&spec);
    sf_group_pack_chord (group, entry->spec, entry->spec_size, &spec);
    free (entry->spec);
    entry->spec = spec.data;            //  The buffer's memory, taken over
    entry->spec_size = (uint32_t) spec.size;
    entry->accepted_us = self->now_us;
    sf_uuid_v7 (entry->id);
    group->launched = true;
    sf_jobs_launch (self, entry, NULL);
    sf_error_t error;
    if (sf_records_stage_group (self, sf_store_group_launched, group, &error))
        sf_log_error ("broker: store could not record a chord: %s", error.message);
}

void
sf_cmd_group_decide (sf_broker_t *self, sf_group_t *group)
{
    sf_status_t status = group->state == SF_GROUP_TIMEOUT? SF_STATUS_TIMEOUT
                                                         : SF_STATUS_CANCELLED;
    for (uint32_t i = 0; i < group->total && group->finished < group->total; i++)
        sf_jobs_cancel (self, group->items [i], status);
    if (group->then && group->state == SF_GROUP_OK)
        s_launch_chord (self, group);
    else
        sf_cmd_group_answer (self, group);
}

void
sf_cmd_group_item_done (sf_broker_t *self, sf_entry_t *entry)
{
    sf_group_t *group = entry->group;
    if (entry == group->then) {
        sf_cmd_group_answer (self, group);
        return;
    }
    bool decided = sf_group_item_done (group, entry);
    if (group->stream && group->client)
        sf_outbox_group_item (self, group, entry);
    if (decided)
        sf_cmd_group_decide (self, group);
}

int
sf_cmd_group_end (sf_broker_t *self, sf_group_t *group, sf_group_state_t state)
{
    if (group->answered)
        return -1;
    sf_group_state_t was = group->state;
    group->state = state;
    if (was == SF_GROUP_RUNNING)
        sf_cmd_group_decide (self, group);
    else {
        //  Decided ok, its chord running: the end reaches the chord, whose
        //  end answers the group
        assert (group->launched && group->then->state != SF_JOB_FINISHED);
        sf_jobs_cancel (self, group->then, state == SF_GROUP_TIMEOUT? SF_STATUS_TIMEOUT
                                                                    : SF_STATUS_CANCELLED);
    }
    return 0;
}

//  ==========================================================================
//  Answers on request

void
sf_cmd_group_fetch (sf_broker_t *self, sf_msg_t *msg, sf_group_t *group, uint64_t tag,
                    bool wait)
{
    const void *identity = zmq_msg_data (&msg->routing);
    size_t identity_size = zmq_msg_size (&msg->routing);
    if (group->answered)
        sf_outbox_group_result (self, identity, identity_size, group, tag);
    else
    if (wait && !group->opts.stream && sf_clients_is (group->client, identity, identity_size))
        ;   //  Its own client: the group's answer, with every item, answers the FETCH too
    else
    if (wait) {
        sf_crec_t *client = sf_clients_hold (self->clients, identity, identity_size);
        if (client && !sf_group_wait (group, client, 0))
            sf_clients_release (self->clients, &client);
    }
    else
        sf_outbox_state (self, msg, tag, group->id, "running", true);
}

void
sf_cmd_group_join (sf_broker_t *self, sf_group_t *group, sf_crec_t *client, uint64_t tag)
{
    if (group->answered) {
        sf_outbox_group_result (self, client->identity, client->identity_size, group, tag);
        return;
    }
    sf_clients_ref (client);
    if (!sf_group_wait (group, client, tag))
        sf_clients_release (self->clients, &client);
}

//  ==========================================================================
//  Retention

//  A group retention forgets: recorded, and its jobs go with it.
static void
s_forget (void *arg, sf_group_t *group)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    sf_error_t error;
    if (sf_records_stage_group (self, sf_store_group_forgotten, group, &error))
        sf_log_error ("broker: store could not record a forgotten group: %s", error.message);
    for (uint32_t i = 0; i < group->total; i++)
        sf_jobs_forget (self, group->items [i], false);
    if (group->launched)
        sf_jobs_forget (self, group->then, false);
}

void
sf_cmd_group_purge (sf_broker_t *self)
{
    sf_groups_purge (self->groups, self->now_us, self->config.result_ttl_ms * 1000,
                     self->config.result_max, s_forget, self);
}
