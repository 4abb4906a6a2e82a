/*  =========================================================================
    sf_outbox - everything the broker sends, staged per peer

    Every send of the broker happens in this file. What a peer is sent
    falls in three kinds:

    - Replies that tell nothing the store has to hold (STATUS_REPLY,
      ERROR), and STOP, HEARTBEAT and DISCONNECT to workers, go at once.
    - What a client may act on as durable waits for the commit that
      recorded it: ACCEPTED for the commit that covers its jobs; RESULT,
      GROUP_ITEM and GROUP_RESULT for the commit that recorded what they
      carry; STATE, CANCEL_REPLY and DEAD_REPLY likewise. They are staged,
      and the flush at the end of the pass sends them after the commit
      (sf_outbox_flush_*). When the commit fails, each ACCEPTED is
      answered ERROR instead and what its request created is taken back
      (sf_outbox_refuse_acks); everything else stays staged, and goes
      after the next commit that succeeds: a client never sees what a
      restart could undo, and loses nothing it was owed.
    - Jobs dispatched to a worker are staged in its DISPATCH body. The
      flush dispatches only after a commit that succeeded.

    Staging per peer is what batches the wire: a pass sends one RESULT per
    client and one DISPATCH per worker, with everything it gathered for
    them. A body never goes past SF_BATCH_MAX items: a full RESULT or
    GROUP_ITEM body moves to the held list, in order, with the replies that
    wait for a commit. A peer with something staged is flagged and listed
    once; a listed client holds a reference, so that its record outlives
    the pass. A group's answer is packed once and re-tagged for each client
    it goes to.
    ========================================================================= */

#include "sf_broker_private.h"

//  An acknowledgement waiting for its store commit.
typedef struct {
    sf_crec_t *client;          //  Whom to tell (holds a reference)
    uint64_t tag;               //  The request's tag
    msgpack_sbuffer body;       //  ACCEPTED body
    msgpack_packer packer;      //  Packs into body
    sf_intake_t intake;         //  What the request created (fresh: an owned copy)
} s_ack_t;

//  A message to a client that waits for a commit that succeeds.
typedef struct {
    uint8_t identity [SF_ROUTING_MAX];  //  The client's routing id
    size_t identity_size;       //  Its length
    int command;                //  SF_CMD_*
    msgpack_sbuffer body;       //  The body (owned)
    uint32_t items;             //  Results it carries, counted undelivered if it cannot go
} s_held_t;

//  The body of HEARTBEAT and DISCONNECT.
static const char s_nil [1] = { (char) 0xc0 };

static void
s_ack_destructor (void **item)
{
    s_ack_t *ack = (s_ack_t *) *item;
    msgpack_sbuffer_destroy (&ack->body);
    free (ack->intake.fresh);
    free (ack);
    *item = NULL;
}

static void
s_held_destructor (void **item)
{
    s_held_t *held = (s_held_t *) *item;
    msgpack_sbuffer_destroy (&held->body);
    free (held);
    *item = NULL;
}

//  Hold a message for a client (identity) with command; its body is
//  taken from body, which is left empty. items: the results it carries.
static void
s_hold (sf_broker_t *self, const void *identity, size_t identity_size, int command,
        msgpack_sbuffer *body, uint32_t items)
{
    s_held_t *held = (s_held_t *) zmalloc (sizeof *held);
    assert (identity_size <= SF_ROUTING_MAX);
    memcpy (held->identity, identity, identity_size);
    held->identity_size = identity_size;
    held->command = command;
    held->body = *body;
    held->items = items;
    msgpack_sbuffer_init (body);
    zlistx_add_end (self->outbox.held, held);
}

//  --------------------------------------------------------------------------
//  Prepare and release the staging areas.

void
sf_outbox_init (sf_outbox_t *self)
{
    memset (self, 0, sizeof *self);
    msgpack_sbuffer_init (&self->reply);
    msgpack_packer_init (&self->reply_pk, &self->reply, msgpack_sbuffer_write);
    msgpack_sbuffer_init (&self->stop);
    msgpack_packer_init (&self->stop_pk, &self->stop, msgpack_sbuffer_write);
    self->acks = zlistx_new ();
    zlistx_set_destructor (self->acks, s_ack_destructor);
    self->held = zlistx_new ();
    zlistx_set_destructor (self->held, s_held_destructor);
}

void
sf_outbox_destroy (sf_outbox_t *self)
{
    msgpack_sbuffer_destroy (&self->reply);
    msgpack_sbuffer_destroy (&self->stop);
    zlistx_destroy (&self->acks);
    zlistx_destroy (&self->held);
    free (self->workers.items);
    free (self->clients.items);
    free (self->streams.items);
    free (self->answers.items);
}

//  ==========================================================================
//  Sent at once

msgpack_packer *
sf_outbox_reply (sf_broker_t *self)
{
    msgpack_sbuffer_clear (&self->outbox.reply);
    return &self->outbox.reply_pk;
}

void
sf_outbox_send_reply (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg, int command)
{
    if (sf_msg_send (zsock_resolve (socket), zmq_msg_data (&msg->routing),
                     zmq_msg_size (&msg->routing), command,
                     self->outbox.reply.data, self->outbox.reply.size))
        sf_log_debug ("broker: could not reply %s: %s", sf_cmd_name (command),
                      zmq_strerror (errno));
}

void
sf_outbox_hold_reply (sf_broker_t *self, sf_msg_t *msg, int command)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    sf_mp_write (&body, self->outbox.reply.data, self->outbox.reply.size);
    s_hold (self, zmq_msg_data (&msg->routing), zmq_msg_size (&msg->routing), command, &body,
            0);
    msgpack_sbuffer_destroy (&body);
}

void
sf_outbox_error (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg, uint64_t tag,
                 const sf_error_t *error)
{
    (void) self;
    sf_msg_send_error (zsock_resolve (socket), zmq_msg_data (&msg->routing),
                       zmq_msg_size (&msg->routing), tag, error);
}

void
sf_outbox_state (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, const uint8_t id [SF_UUID_SIZE],
                 const char *state, bool group)
{
    msgpack_packer *pk = sf_outbox_reply (self);
    msgpack_pack_map (pk, group? 4: 3);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_str (pk, "id");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, id, SF_UUID_SIZE);
    sf_mp_pack_kv_str (pk, "state", state);
    if (group) {
        sf_mp_pack_str (pk, "group");
        msgpack_pack_true (pk);
    }
    sf_outbox_hold_reply (self, msg, SF_CMD_STATE);
}

void
sf_outbox_stop (sf_broker_t *self, sf_wrec_t *worker, const uint8_t *ids, size_t count)
{
    msgpack_sbuffer *body = &self->outbox.stop;
    msgpack_packer *pk = &self->outbox.stop_pk;
    msgpack_sbuffer_clear (body);
    msgpack_pack_map (pk, 1);
    sf_mp_pack_str (pk, "ids");
    msgpack_pack_array (pk, count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_bin (pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (pk, ids + i * SF_UUID_SIZE, SF_UUID_SIZE);
    }
    if (sf_msg_send (zsock_resolve (self->backend), worker->identity, worker->identity_size,
                     SF_CMD_STOP, body->data, body->size)) {
        //  The worker's result, if it comes, fails its lease and is dropped
        self->counters.send_failed++;
        sf_log_warning ("broker: could not send STOP (worker=%s): %s", worker->name,
                        zmq_strerror (errno));
    }
}

void
sf_outbox_heartbeat (sf_broker_t *self, sf_wrec_t *worker)
{
    sf_msg_send (zsock_resolve (self->backend), worker->identity, worker->identity_size,
                 SF_CMD_HEARTBEAT, s_nil, sizeof s_nil);
}

void
sf_outbox_disconnect (sf_broker_t *self, sf_msg_t *msg)
{
    sf_msg_send (zsock_resolve (self->backend), zmq_msg_data (&msg->routing),
                 zmq_msg_size (&msg->routing), SF_CMD_DISCONNECT, s_nil, sizeof s_nil);
}

//  Send a GROUP_RESULT body to a peer; a peer that is gone counts.
static void
s_send_group_result (sf_broker_t *self, const void *identity, size_t identity_size,
                     const msgpack_sbuffer *body)
{
    if (sf_msg_send (zsock_resolve (self->frontend), identity, identity_size,
                     SF_CMD_GROUP_RESULT, body->data, body->size))
        self->counters.undelivered++;
}

void
sf_outbox_group_result (sf_broker_t *self, const void *identity, size_t identity_size,
                        sf_group_t *group, uint64_t tag)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    sf_group_pack_answer (group, tag, true, &body);
    s_hold (self, identity, identity_size, SF_CMD_GROUP_RESULT, &body, 1);
    msgpack_sbuffer_destroy (&body);
}

//  ==========================================================================
//  Staged: acknowledgements

msgpack_packer *
sf_outbox_ack (sf_broker_t *self, sf_crec_t *client, uint64_t tag, const sf_intake_t *intake)
{
    s_ack_t *ack = (s_ack_t *) zmalloc (sizeof *ack);
    ack->client = client;
    ack->tag = tag;
    ack->intake = *intake;
    if (intake->count) {
        size_t size = intake->count * sizeof *intake->fresh;
        ack->intake.fresh = (sf_entry_t **) sf_alloc (size);
        memcpy (ack->intake.fresh, intake->fresh, size);
    }
    else
        ack->intake.fresh = NULL;
    msgpack_sbuffer_init (&ack->body);
    msgpack_packer_init (&ack->packer, &ack->body, msgpack_sbuffer_write);
    zlistx_add_end (self->outbox.acks, ack);
    return &ack->packer;
}

void
sf_outbox_flush_acks (sf_broker_t *self)
{
    s_ack_t *ack;
    while ((ack = (s_ack_t *) zlistx_detach (self->outbox.acks, NULL))) {
        sf_crec_t *client = ack->client;
        //  A client that is gone finds its jobs by key or by FETCH
        if (sf_msg_send (zsock_resolve (self->frontend), client->identity,
                         client->identity_size, SF_CMD_ACCEPTED, ack->body.data,
                         ack->body.size)) {
            self->counters.send_failed++;
            sf_log_info ("broker: could not send ACCEPTED, client gone: %s",
                         zmq_strerror (errno));
        }
        if (ack->intake.join)
            sf_cmd_group_join (self, ack->intake.join, client, ack->tag);
        sf_clients_release (self->clients, &ack->client);
        s_ack_destructor ((void **) &ack);
    }
}

void
sf_outbox_refuse_acks (sf_broker_t *self, const sf_error_t *failed)
{
    s_ack_t *ack;
    while ((ack = (s_ack_t *) zlistx_detach (self->outbox.acks, NULL))) {
        sf_intake_t *intake = &ack->intake;
        if (intake->group)
            sf_cmd_group_refuse (self, intake->group);
        for (size_t i = 0; i < intake->count; i++)
            sf_jobs_refuse (self, intake->fresh [i]);
        self->counters.deduplicated -= intake->deduplicated;
        sf_crec_t *client = ack->client;
        sf_msg_send_error (zsock_resolve (self->frontend), client->identity,
                           client->identity_size, ack->tag, failed);
        sf_clients_release (self->clients, &ack->client);
        s_ack_destructor ((void **) &ack);
    }
}

//  ==========================================================================
//  Staged: jobs for workers

//  A job as dispatched: as submitted, plus the latest state of its state
//  key if there is one (the worker goes on from it).
static void
s_pack_job (sf_broker_t *self, msgpack_packer *pk, sf_entry_t *entry)
{
    sf_store_blob_t *state = entry->state_key?
        (sf_store_blob_t *) zhashx_lookup (self->states, entry->state_key): NULL;
    if (!state) {
        msgpack_sbuffer_write ((msgpack_sbuffer *) pk->data, entry->spec, entry->spec_size);
        return;
    }
    msgpack_unpacked unpacked;
    msgpack_object job;
    sf_entry_job (entry, &unpacked, &job);      //  Checked at submit: it decodes
    sf_codec_pack_job_state (pk, &job, state->data, state->size);
    msgpack_unpacked_destroy (&unpacked);
}

void
sf_outbox_dispatch (sf_broker_t *self, sf_wrec_t *worker, sf_entry_t *entry)
{
    if (!worker->flagged) {
        worker->flagged = true;
        sf_batchw_reset (&worker->out, 0);
        sf_ptrs_push (&self->outbox.workers, worker);
    }
    sf_codec_pack_dispatch_head (&worker->out.packer, entry->id, entry->attempt,
                                 entry->timeout_ms);
    s_pack_job (self, &worker->out.packer, entry);
    sf_batchw_item (&worker->out);
}

void
sf_outbox_flush_dispatches (sf_broker_t *self, sf_ptrs_t *unreachable)
{
    sf_ptrs_t *staged = &self->outbox.workers;
    for (size_t i = 0; i < staged->size; i++) {
        sf_wrec_t *worker = (sf_wrec_t *) staged->items [i];
        worker->flagged = false;
        sf_batchw_finish (&worker->out);
        if (sf_msg_send (zsock_resolve (self->backend), worker->identity, worker->identity_size,
                         SF_CMD_DISPATCH, worker->out.buffer.data, worker->out.buffer.size))
            sf_ptrs_push (unreachable, worker);
    }
    staged->size = 0;
}

//  ==========================================================================
//  Staged: results for clients

//  Send the RESULT body staged for a client and start a new one. A client
//  that is gone still has its results in the ledger for FETCH.
static void
s_send_results (sf_broker_t *self, sf_crec_t *client)
{
    sf_batchw_finish (&client->out);
    if (sf_msg_send (zsock_resolve (self->frontend), client->identity, client->identity_size,
                     SF_CMD_RESULT, client->out.buffer.data, client->out.buffer.size)) {
        self->counters.undelivered += client->out.count;
        sf_log_debug ("broker: %u results not delivered, client gone: %s",
                      client->out.count, zmq_strerror (errno));
    }
    sf_batchw_reset (&client->out, 0);
}

//  Move a full body (RESULT, GROUP_ITEM) to the held list and start a new
//  one.
static void
s_hold_body (sf_broker_t *self, const void *identity, size_t identity_size, int command,
             sf_batchw_t *body)
{
    sf_batchw_finish (body);
    s_hold (self, identity, identity_size, command, &body->buffer, body->count);
    sf_batchw_reset (body, 0);
}

void
sf_outbox_result (sf_broker_t *self, sf_crec_t *client, sf_entry_t *entry)
{
    if (!client->flagged) {
        client->flagged = true;
        sf_clients_ref (client);
        sf_batchw_reset (&client->out, 0);
        sf_ptrs_push (&self->outbox.clients, client);
    }
    sf_result_head_t head;
    sf_entry_result_head (entry, &head);
    sf_codec_pack_result_head (&client->out.packer, &head);
    msgpack_sbuffer_write (&client->out.buffer, entry->payload, entry->payload_size);
    sf_batchw_item (&client->out);
    if (client->out.count == SF_BATCH_MAX)  //  A body never exceeds the limit
        s_hold_body (self, client->identity, client->identity_size, SF_CMD_RESULT,
                     &client->out);
}

//  Send a stream group's staged GROUP_ITEM.
static void
s_send_stream (sf_broker_t *self, sf_group_t *group)
{
    group->flagged = false;
    if (!group->stream->count)
        return;
    sf_batchw_finish (group->stream);
    if (group->client
    &&  sf_msg_send (zsock_resolve (self->frontend), group->client->identity,
                     group->client->identity_size, SF_CMD_GROUP_ITEM,
                     group->stream->buffer.data, group->stream->buffer.size))
        self->counters.undelivered += group->stream->count;
    group->stream->count = 0;
}

void
sf_outbox_group_item (sf_broker_t *self, sf_group_t *group, sf_entry_t *entry)
{
    sf_group_stream_item (group, entry);
    if (group->stream->count == SF_BATCH_MAX) {
        //  A stream group with items staged has its client
        s_hold_body (self, group->client->identity, group->client->identity_size,
                     SF_CMD_GROUP_ITEM, group->stream);
        group->stream->count = 0;
    }
    if (!group->flagged) {
        group->flagged = true;
        sf_ptrs_push (&self->outbox.streams, group);
    }
}

void
sf_outbox_group_answer (sf_broker_t *self, sf_group_t *group)
{
    sf_ptrs_push (&self->outbox.answers, group);
}

//  Send an answered group's last stream items and its GROUP_RESULT to its
//  client and its waiters. The answer is packed once and re-tagged for
//  each; only a stream group's client gets it without the items, which
//  went to it as GROUP_ITEM.
static void
s_send_answer (sf_broker_t *self, sf_group_t *group)
{
    if (group->stream)
        s_send_stream (self, group);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    bool with_items = false;            //  body holds every item
    if (group->client) {
        with_items = !group->opts.stream;
        sf_group_pack_answer (group, group->tag, with_items, &body);
        s_send_group_result (self, group->client->identity, group->client->identity_size,
                             &body);
        sf_clients_release (self->clients, &group->client);
    }
    while (group->waiters && zlistx_size (group->waiters)) {
        sf_group_waiter_t *waiter = (sf_group_waiter_t *) zlistx_first (group->waiters);
        if (with_items)
            sf_group_answer_retag (&body, waiter->tag);
        else {
            msgpack_sbuffer_clear (&body);
            sf_group_pack_answer (group, waiter->tag, true, &body);
            with_items = true;
        }
        s_send_group_result (self, waiter->client->identity, waiter->client->identity_size,
                             &body);
        sf_clients_release (self->clients, &waiter->client);
        zlistx_delete (group->waiters, zlistx_cursor (group->waiters));
    }
    msgpack_sbuffer_destroy (&body);
    char text [SF_ID_STRLEN + 1];
    sf_uuid_str (group->id, text);
    sf_log_debug ("broker: group answered (group=%s state=%s ok=%u of %u)", text,
                  sf_group_state_name (group->state), group->counts [SF_STATUS_OK], group->total);
}

void
sf_outbox_flush_results (sf_broker_t *self)
{
    sf_outbox_t *outbox = &self->outbox;
    s_held_t *held;
    while ((held = (s_held_t *) zlistx_detach (outbox->held, NULL))) {
        if (sf_msg_send (zsock_resolve (self->frontend), held->identity, held->identity_size,
                         held->command, held->body.data, held->body.size))
            self->counters.undelivered += held->items;
        s_held_destructor ((void **) &held);
    }
    for (size_t i = 0; i < outbox->streams.size; i++)
        s_send_stream (self, (sf_group_t *) outbox->streams.items [i]);
    outbox->streams.size = 0;
    for (size_t i = 0; i < outbox->answers.size; i++)
        s_send_answer (self, (sf_group_t *) outbox->answers.items [i]);
    outbox->answers.size = 0;
    for (size_t i = 0; i < outbox->clients.size; i++) {
        sf_crec_t *client = (sf_crec_t *) outbox->clients.items [i];
        client->flagged = false;
        if (client->out.count)
            s_send_results (self, client);
        sf_clients_release (self->clients, &client);
    }
    outbox->clients.size = 0;
}
