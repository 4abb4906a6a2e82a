/*  =========================================================================
    sf_cmd_query - STATUS, FETCH and CANCEL: a client asks about jobs and
    groups it names, or ends them

    STATUS reads counts the broker keeps as it goes (no walk over jobs or
    groups), and whether the broker is degraded; it is answered at once,
    degraded or not, so that an operator can see why. FETCH answers from the ledger, or waits: a client that
    fetches an unfinished job with wait joins the job's watchers and is
    sent its result when it finishes; the submitter is sent the result
    anyway and is not added. A group id is answered by the group
    (sf_cmd_group_fetch). CANCEL ends each unfinished job it names through
    the state machine, and a group id ends the group.
    ========================================================================= */

#include "sf_broker_private.h"

//  STATUS lists at most this many queues and workers, the busiest; the
//  rest are folded into one row of totals each, so that a reply stays a
//  few kilobytes whatever the number of analyzers and workers (4,096
//  queues made 410 KB).
#define S_STATUS_ROWS 64

//  A peer's byte budget for copies it asks for (FETCH of a result,
//  STATUS) counts over windows of this length.
#define S_BUDGET_WINDOW_US 1000000

//  What a peer asked the broker to send in the current window.
typedef struct {
    int64_t window_us;          //  When the window started
    size_t bytes;               //  Bytes of copies sent in it
} s_budget_t;

//  --------------------------------------------------------------------------
//  May msg's sender be sent a copy of size bytes it asked for? A peer may
//  have --peer-max-bytes of them handed to its socket per window: a client
//  that asks again and again and never reads cannot make the broker queue
//  copies without bound (300 FETCHes of a 10 MB result took 3.1 GB). The
//  first copy of a window always goes, however large. Beyond the budget
//  the request is answered BUSY with the time to the next window. Results
//  of the peer's own jobs are sent as they finish and never count: they
//  stay fetchable.

static bool
s_within_budget (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, size_t size)
{
    char key [2 * SF_ROUTING_MAX + 1];
    const uint8_t *identity = (const uint8_t *) zmq_msg_data (&msg->routing);
    size_t identity_size = zmq_msg_size (&msg->routing);
    for (size_t i = 0; i < identity_size && i < SF_ROUTING_MAX; i++)
        snprintf (key + 2 * i, 3, "%02x", identity [i]);
    key [2 * (identity_size < SF_ROUTING_MAX? identity_size: SF_ROUTING_MAX)] = 0;
    s_budget_t *budget = (s_budget_t *) zhashx_lookup (self->budgets, key);
    if (!budget) {
        budget = (s_budget_t *) sf_alloc (sizeof *budget);
        zhashx_insert (self->budgets, key, budget);
    }
    if (self->now_us - budget->window_us >= S_BUDGET_WINDOW_US) {
        budget->window_us = self->now_us;
        budget->bytes = 0;
    }
    if (budget->bytes && budget->bytes + size > self->config.peer_max_bytes) {
        self->counters.over_budget++;
        int64_t left_us = budget->window_us + S_BUDGET_WINDOW_US - self->now_us;
        msgpack_packer *pk = sf_outbox_reply (self);
        msgpack_pack_map (pk, 4);
        sf_mp_pack_kv_uint (pk, "tag", tag);
        sf_mp_pack_kv_str (pk, "code", "BUSY");
        char message [160];
        snprintf (message, sizeof message, "this client was sent %zu bytes it asked for in the "
                  "last second (limit --peer-max-bytes %zu)", budget->bytes,
                  self->config.peer_max_bytes);
        sf_mp_pack_kv_str (pk, "message", message);
        sf_mp_pack_kv_uint (pk, "retry_after_ms", (uint64_t) (left_us + 999) / 1000);
        sf_outbox_send_reply (self, self->frontend, msg, SF_CMD_ERROR);
        return false;
    }
    budget->bytes += size;
    return true;
}

void
sf_cmd_query_purge (sf_broker_t *self)
{
    s_budget_t *budget = (s_budget_t *) zhashx_first (self->budgets);
    while (budget) {
        if (self->now_us - budget->window_us >= S_BUDGET_WINDOW_US) {
            zhashx_delete (self->budgets, zhashx_cursor (self->budgets));
            budget = (s_budget_t *) zhashx_first (self->budgets);
        }
        else
            budget = (s_budget_t *) zhashx_next (self->budgets);
    }
}

//  Busiest first: queues by jobs held, workers by jobs in flight.
static int
s_queue_order (const void *a, const void *b)
{
    const sf_queue_t *x = *(sf_queue_t *const *) a, *y = *(sf_queue_t *const *) b;
    size_t held_x = x->depth + x->running, held_y = y->depth + y->running;
    return held_x < held_y? 1: held_x > held_y? -1: 0;
}

static int
s_worker_order (const void *a, const void *b)
{
    const sf_wrec_t *x = *(sf_wrec_t *const *) a, *y = *(sf_wrec_t *const *) b;
    return x->inflight.size < y->inflight.size? 1: x->inflight.size > y->inflight.size? -1: 0;
}

//  --------------------------------------------------------------------------
//  STATUS: queues, workers, counters.

int
sf_cmd_status (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (sf_request_map (self, self->frontend, msg, &unpacked, &body))
        return 0;
    uint64_t tag = sf_codec_tag (&body);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_packer *pk = sf_outbox_reply (self);
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "tag", tag);

    sf_mp_pack_str (pk, "status");
    msgpack_pack_map (pk, 12);
    sf_mp_pack_kv_str (pk, "version", SF_VERSION);
    sf_mp_pack_kv_str (pk, "store", sf_store_name (self->store));
    //  Degraded: the store cannot commit; why, and for how long
    sf_mp_pack_str (pk, "degraded");
    if (self->degraded)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    sf_mp_pack_kv_str (pk, "store_error", self->degraded? self->store_error.message: "");
    sf_mp_pack_kv_uint (pk, "degraded_ms", self->degraded?
                        (uint64_t) (self->now_us - self->degraded_us) / 1000: 0);
    sf_mp_pack_kv_uint (pk, "uptime_ms", (uint64_t) (self->now_us - self->started_us) / 1000);

    size_t queued = 0, running = 0;
    sf_ptrs_t rows = { NULL, 0, 0 };
    for (sf_queue_t *queue = (sf_queue_t *) zhashx_first (self->queues); queue;
         queue = (sf_queue_t *) zhashx_next (self->queues)) {
        sf_ptrs_push (&rows, queue);
        queued += queue->depth;
        running += queue->running;
    }
    if (rows.size > S_STATUS_ROWS)
        qsort (rows.items, rows.size, sizeof (void *), s_queue_order);
    size_t listed = rows.size < S_STATUS_ROWS? rows.size: S_STATUS_ROWS;
    size_t folded_queued = 0, folded_running = 0;
    sf_mp_pack_str (pk, "queues");
    msgpack_pack_array (pk, listed);
    for (size_t i = 0; i < rows.size; i++) {
        sf_queue_t *queue = (sf_queue_t *) rows.items [i];
        if (i >= listed) {
            folded_queued += queue->depth;
            folded_running += queue->running;
            continue;
        }
        msgpack_pack_map (pk, 4);
        sf_mp_pack_kv_str (pk, "analyzer", queue->name);
        sf_mp_pack_kv_uint (pk, "queued", queue->depth);
        sf_mp_pack_kv_uint (pk, "running", queue->running);
        sf_mp_pack_kv_uint (pk, "workers", queue->worker_count);
    }
    sf_mp_pack_str (pk, "queues_folded");
    msgpack_pack_map (pk, 3);
    sf_mp_pack_kv_uint (pk, "count", rows.size - listed);
    sf_mp_pack_kv_uint (pk, "queued", folded_queued);
    sf_mp_pack_kv_uint (pk, "running", folded_running);

    rows.size = 0;
    for (sf_wrec_t *worker = sf_registry_first (self->registry); worker;
         worker = sf_registry_next (self->registry))
        sf_ptrs_push (&rows, worker);
    if (rows.size > S_STATUS_ROWS)
        qsort (rows.items, rows.size, sizeof (void *), s_worker_order);
    listed = rows.size < S_STATUS_ROWS? rows.size: S_STATUS_ROWS;
    size_t folded_slots = 0, folded_inflight = 0;
    for (size_t i = listed; i < rows.size; i++) {
        folded_slots += ((sf_wrec_t *) rows.items [i])->slots;
        folded_inflight += ((sf_wrec_t *) rows.items [i])->inflight.size;
    }
    sf_mp_pack_str (pk, "workers_folded");
    msgpack_pack_map (pk, 3);
    sf_mp_pack_kv_uint (pk, "count", rows.size - listed);
    sf_mp_pack_kv_uint (pk, "slots", folded_slots);
    sf_mp_pack_kv_uint (pk, "inflight", folded_inflight);
    sf_mp_pack_str (pk, "workers");
    msgpack_pack_array (pk, listed);
    for (size_t i = 0; i < listed; i++) {
        sf_wrec_t *worker = (sf_wrec_t *) rows.items [i];
        msgpack_pack_map (pk, 6);
        sf_mp_pack_kv_str (pk, "name", worker->name);
        sf_mp_pack_str (pk, "analyzers");
        msgpack_pack_array (pk, worker->queue_count);
        for (size_t i = 0; i < worker->queue_count; i++) {
            msgpack_pack_map (pk, 2);
            sf_mp_pack_kv_str (pk, "name", worker->queues [i]->name);
            sf_mp_pack_kv_str (pk, "version", worker->versions [i]);
        }
        sf_mp_pack_kv_uint (pk, "slots", worker->slots);
        sf_mp_pack_kv_uint (pk, "inflight", worker->inflight.size);
        sf_mp_pack_kv_uint (pk, "done", worker->done);
        sf_mp_pack_kv_uint (pk, "idle_ms", (uint64_t) (self->now_us - worker->last_seen_us) / 1000);
    }
    free (rows.items);
    sf_mp_pack_str (pk, "jobs");
    msgpack_pack_map (pk, 9);
    sf_mp_pack_kv_uint (pk, "queued", queued);
    sf_mp_pack_kv_uint (pk, "running", running);
    sf_mp_pack_kv_uint (pk, "retrying", self->delayed);
    sf_mp_pack_kv_uint (pk, "bytes_held", self->bytes_held);
    sf_mp_pack_kv_uint (pk, "finished_kept", sf_ledger_finished_count (self->ledger));
    sf_mp_pack_kv_uint (pk, "finished_bytes", sf_ledger_finished_bytes (self->ledger));
    sf_mp_pack_kv_uint (pk, "dead_letters", sf_ledger_dead_count (self->ledger));
    size_t answered = sf_groups_answered_count (self->groups);
    sf_mp_pack_kv_uint (pk, "groups_running", sf_groups_size (self->groups) - answered);
    sf_mp_pack_kv_uint (pk, "groups_kept", answered);

    const sf_counters_t *c = &self->counters;
    sf_mp_pack_str (pk, "counters");
    msgpack_pack_map (pk, 18 + SF_STATUS_INVALID);
    sf_mp_pack_kv_uint (pk, "submitted", c->submitted);
    sf_mp_pack_kv_uint (pk, "deduplicated", c->deduplicated);
    sf_mp_pack_kv_uint (pk, "chained", c->chained);
    sf_mp_pack_kv_uint (pk, "dispatched", c->dispatched);
    for (int status = 0; status < SF_STATUS_INVALID; status++)
        sf_mp_pack_kv_uint (pk, sf_status_name ((sf_status_t) status), c->finished [status]);
    sf_mp_pack_kv_uint (pk, "requeued", c->requeued);
    sf_mp_pack_kv_uint (pk, "retried", c->retried);
    sf_mp_pack_kv_uint (pk, "timed_out", c->timed_out);
    sf_mp_pack_kv_uint (pk, "busy", c->busy);
    sf_mp_pack_kv_uint (pk, "late_results_dropped", c->late);
    sf_mp_pack_kv_uint (pk, "malformed", c->malformed);
    sf_mp_pack_kv_uint (pk, "undelivered", c->undelivered);
    sf_mp_pack_kv_uint (pk, "workers_lost", c->workers_lost);
    sf_mp_pack_kv_uint (pk, "too_large", c->too_large);
    sf_mp_pack_kv_uint (pk, "timer_failures", c->arm_failed);
    sf_mp_pack_kv_uint (pk, "sends_failed", c->send_failed);
    sf_mp_pack_kv_uint (pk, "over_budget", c->over_budget);
    sf_mp_pack_kv_uint (pk, "commit_failures", c->commit_failures);
    sf_mp_pack_kv_uint (pk, "clients", sf_clients_size (self->clients));

    //  Over the budget, the reply built is replaced by BUSY
    if (s_within_budget (self, msg, tag, self->outbox.reply.size))
        sf_outbox_send_reply (self, self->frontend, msg, SF_CMD_STATUS_REPLY);
    return 0;
}

//  --------------------------------------------------------------------------
//  FETCH: a finished job's result now; an unfinished one's state, or its
//  result when it finishes (wait).

//  Add the sender of msg to the clients waiting for job id.
static void
s_watch (sf_broker_t *self, sf_msg_t *msg, const uint8_t id [SF_UUID_SIZE])
{
    zlistx_t *waiting = (zlistx_t *) zhashx_lookup (self->watchers, id);
    if (!waiting) {
        waiting = zlistx_new ();
        zhashx_insert (self->watchers, id, waiting);
    }
    sf_crec_t *client = sf_clients_hold (self->clients, zmq_msg_data (&msg->routing),
                                         zmq_msg_size (&msg->routing));
    if (zlistx_find (waiting, client))
        sf_clients_release (self->clients, &client);    //  Waits already
    else
        zlistx_add_end (waiting, client);
}

int
sf_cmd_fetch (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (sf_request_map (self, self->frontend, msg, &unpacked, &body))
        return 0;
    uint64_t tag = sf_codec_tag (&body);
    uint8_t id [SF_UUID_SIZE];
    int id_rc = sf_codec_id (sf_mp_get (&body, "id"), id);
    const msgpack_object *wait_field = sf_mp_get (&body, "wait");
    bool wait = wait_field && wait_field->type == MSGPACK_OBJECT_BOOLEAN
             && wait_field->via.boolean;
    msgpack_unpacked_destroy (&unpacked);

    sf_error_t error;
    if (id_rc) {
        sf_error_set (&error, "PROTOCOL", "FETCH needs \"id\", 16 bytes");
        sf_outbox_error (self, self->frontend, msg, tag, &error);
        return 0;
    }
    sf_entry_t *entry = sf_ledger_find (self->ledger, id);
    sf_group_t *group = entry? NULL: sf_groups_find (self->groups, id);
    if (group) {
        sf_cmd_group_fetch (self, msg, group, tag, wait);
        return 0;
    }
    if (!entry) {
        char text [SF_ID_STRLEN + 1];
        sf_uuid_str (id, text);
        sf_error_set (&error, "NOT_FOUND", "no job %s (unknown, or its result expired)", text);
        sf_outbox_error (self, self->frontend, msg, tag, &error);
        return 0;
    }
    const void *identity = zmq_msg_data (&msg->routing);
    size_t identity_size = zmq_msg_size (&msg->routing);
    if (entry->state == SF_JOB_FINISHED) {
        if (!s_within_budget (self, msg, tag, entry->payload_size))
            return 0;
        sf_crec_t *client = sf_clients_hold (self->clients, identity, identity_size);
        sf_outbox_result (self, client, entry);
        sf_clients_release (self->clients, &client);
    }
    else
    if (wait) {
        //  The submitter is sent the result anyway; anyone else waits
        if (!sf_clients_is (entry->client, identity, identity_size))
            s_watch (self, msg, id);
    }
    else
        sf_outbox_state (self, msg, tag, id, entry->state == SF_JOB_QUEUED? "queued":
                                             entry->state == SF_JOB_DELAYED? "retrying": "running",
                         false);
    return 0;
}

//  --------------------------------------------------------------------------
//  CANCEL {tag, ids}: end each unfinished job now with status cancelled; a
//  group id ends the group as cancelled. Replies {tag, items: [{id,
//  outcome}]}, outcome "cancelled", "finished" (too late: the job keeps its
//  status) or "unknown".

int
sf_cmd_cancel (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (sf_request_map (self, self->frontend, msg, &unpacked, &body))
        return 0;
    uint64_t tag = sf_codec_tag (&body);
    const msgpack_object *ids = sf_mp_get (&body, "ids");
    if (!ids || ids->type != MSGPACK_OBJECT_ARRAY || ids->via.array.size == 0
    ||  ids->via.array.size > SF_BATCH_MAX) {
        sf_error_t error;
        sf_error_set (&error, "PROTOCOL", "CANCEL needs \"ids\", a list of 1-%d job ids",
                      SF_BATCH_MAX);
        sf_outbox_error (self, self->frontend, msg, tag, &error);
        msgpack_unpacked_destroy (&unpacked);
        return 0;
    }
    //  Outcomes first, then the reply
    size_t count = ids->via.array.size;
    char *outcome = (char *) sf_alloc (count);
    for (size_t i = 0; i < count; i++) {
        uint8_t id [SF_UUID_SIZE];
        bool valid = sf_codec_id (&ids->via.array.ptr [i], id) == 0;
        sf_entry_t *entry = valid? sf_ledger_find (self->ledger, id): NULL;
        sf_group_t *group = valid && !entry? sf_groups_find (self->groups, id): NULL;
        if (entry)
            outcome [i] = sf_jobs_cancel (self, entry, SF_STATUS_CANCELLED) == 0? 'c': 'f';
        else
        if (group)
            outcome [i] = sf_cmd_group_end (self, group, SF_GROUP_CANCELLED) == 0? 'c': 'f';
        else
            outcome [i] = 'u';
    }
    self->pass_items += count;
    msgpack_packer *pk = sf_outbox_reply (self);
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_str (pk, "items");
    msgpack_pack_array (pk, count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_map (pk, 2);
        sf_mp_pack_str (pk, "id");
        msgpack_pack_object (pk, ids->via.array.ptr [i]);
        sf_mp_pack_kv_str (pk, "outcome", outcome [i] == 'c'? "cancelled":
                                          outcome [i] == 'f'? "finished": "unknown");
    }
    sf_outbox_hold_reply (self, msg, SF_CMD_CANCEL_REPLY);
    free (outcome);
    msgpack_unpacked_destroy (&unpacked);
    return 0;
}
