/*  =========================================================================
    sf_cmd_worker - the worker conversation: READY, RESULTS, HEARTBEAT,
    DISCONNECT and LOST, and losing a worker

    A worker registers with READY (again after a reconnect, listing the
    jobs it still holds), returns RESULTS, which count only when they match
    their job's lease (the job running at that worker with that attempt),
    and leaves with DISCONNECT. Any message is a sign of life; a worker
    that stays silent for its liveness period, whose connection is gone,
    or whose process a supervisor reports dead (LOST) is lost as a death.
    All of these end in sf_cmd_worker_lose, which hands each of its jobs to
    the state machine.
    ========================================================================= */

#include "sf_broker_private.h"

void
sf_cmd_worker_seen (sf_broker_t *self, sf_wrec_t *worker)
{
    worker->last_seen_us = self->now_us;
    worker->expires_us = self->now_us
                       + (int64_t) self->config.heartbeat_ms * self->config.liveness * 1000;
}

void
sf_cmd_worker_lose (sf_broker_t *self, sf_wrec_t *worker, const char *why, bool died)
{
    sf_log_warning ("broker: worker lost, %zu jobs back to their queues (worker=%s reason=%s)",
                    worker->inflight.size, worker->name, why);
    //  From the newest, so that the oldest ends up first in its queue
    while (worker->inflight.tail)
        sf_jobs_lost (self, worker->inflight.tail, why, died);
    for (size_t i = 0; i < worker->queue_count; i++)
        sf_queue_remove_worker (worker->queues [i], worker);
    self->counters.workers_lost++;
    sf_registry_remove (self->registry, &worker);
}

//  --------------------------------------------------------------------------
//  READY {name, slots, analyzers: [{name, version}], holding?}: (re)register.

//  True when holding (an array of ids, or NULL) lists id.
static bool
s_holds (const msgpack_object *holding, const uint8_t id [SF_UUID_SIZE])
{
    if (!holding)
        return false;
    for (uint32_t i = 0; i < holding->via.array.size; i++) {
        const msgpack_object *item = &holding->via.array.ptr [i];
        if (item->type == MSGPACK_OBJECT_BIN && item->via.bin.size == SF_UUID_SIZE
        &&  memcmp (item->via.bin.ptr, id, SF_UUID_SIZE) == 0)
            return true;
    }
    return false;
}

//  Jobs a (re)registering worker holds that are no longer its own were
//  cancelled, timed out or given to another worker while it was away: it
//  is told to stop them, so a cancel reaches a worker that was gone.
static void
s_stop_strays (sf_broker_t *self, sf_wrec_t *worker, const msgpack_object *holding)
{
    if (!holding || holding->via.array.size == 0)
        return;
    uint8_t *strays = (uint8_t *) sf_alloc_array (holding->via.array.size, SF_UUID_SIZE);
    size_t count = 0;
    for (uint32_t i = 0; i < holding->via.array.size; i++) {
        uint8_t *id = strays + count * SF_UUID_SIZE;
        if (sf_codec_id (&holding->via.array.ptr [i], id))
            continue;
        sf_entry_t *entry = sf_ledger_find (self->ledger, id);
        if (!entry || entry->worker != worker)
            count++;
    }
    if (count)
        sf_outbox_stop (self, worker, strays, count);
    free (strays);
}

//  Check a READY body; fills error when it is malformed.
static int
s_ready_check (const msgpack_object *body, char name [SF_NAME_MAX + 1], uint64_t *slots,
               sf_error_t *error)
{
    const msgpack_object *analyzers = sf_mp_get (body, "analyzers");
    const msgpack_object *holding = sf_mp_get (body, "holding");
    if (sf_mp_strcpy (sf_mp_get (body, "name"), name, SF_NAME_MAX + 1))
        return sf_error_set (error, "PROTOCOL", "READY needs \"name\", 1-64 characters");
    if (sf_mp_uint (sf_mp_get (body, "slots"), SF_BATCH_MAX, slots) || *slots == 0)
        return sf_error_set (error, "PROTOCOL", "READY needs \"slots\", 1-%d", SF_BATCH_MAX);
    if (!analyzers || analyzers->type != MSGPACK_OBJECT_ARRAY
    ||  analyzers->via.array.size == 0 || analyzers->via.array.size > 1024)
        return sf_error_set (error, "PROTOCOL", "READY needs \"analyzers\", a list of 1-1024");
    if (holding && holding->type != MSGPACK_OBJECT_ARRAY)
        return sf_error_set (error, "PROTOCOL", "READY \"holding\" must be a list of job ids");
    for (uint32_t i = 0; i < analyzers->via.array.size; i++) {
        const msgpack_object *item = &analyzers->via.array.ptr [i];
        const msgpack_object *analyzer = sf_mp_get (item, "name");
        char version [SF_NAME_MAX + 1];
        if (!analyzer || analyzer->type != MSGPACK_OBJECT_STR
        ||  !sf_codec_name_valid (analyzer->via.str.ptr, analyzer->via.str.size)
        ||  sf_mp_strcpy (sf_mp_get (item, "version"), version, sizeof version))
            return sf_error_set (error, "PROTOCOL",
                                 "READY analyzer %u needs a valid \"name\" and \"version\"", i);
    }
    return 0;
}

int
sf_cmd_ready (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (sf_request_map (self, self->backend, msg, &unpacked, &body))
        return 0;
    sf_error_t error;
    char name [SF_NAME_MAX + 1];
    uint64_t slots;
    if (s_ready_check (&body, name, &slots, &error)) {
        msgpack_unpacked_destroy (&unpacked);
        self->counters.malformed++;
        sf_outbox_error (self, self->backend, msg, 0, &error);
        return 0;
    }
    const msgpack_object *analyzers = sf_mp_get (&body, "analyzers");
    const msgpack_object *holding = sf_mp_get (&body, "holding");
    const void *identity = zmq_msg_data (&msg->routing);
    size_t identity_size = zmq_msg_size (&msg->routing);
    sf_wrec_t *worker = sf_registry_find (self->registry, identity, identity_size);
    if (worker) {
        //  Registering again (after a reconnect): keep the in-flight jobs it
        //  says it holds, requeue the others (their results were lost on the
        //  way), take its new analyzers and slots
        for (sf_entry_t *entry = worker->inflight.head, *next; entry; entry = next) {
            next = entry->next;
            if (!s_holds (holding, entry->id))
                sf_jobs_lost (self, entry, "registered again without it", false);
        }
        for (size_t i = 0; i < worker->queue_count; i++) {
            sf_queue_remove_worker (worker->queues [i], worker);
            free (worker->versions [i]);
        }
        worker->queue_count = 0;
        worker->slots = (uint32_t) slots;
        snprintf (worker->name, sizeof worker->name, "%s", name);
    }
    else
        worker = sf_registry_add (self->registry, identity, identity_size, name,
                                  (uint32_t) slots);
    s_stop_strays (self, worker, holding);
    for (uint32_t i = 0; i < analyzers->via.array.size; i++) {
        const msgpack_object *item = &analyzers->via.array.ptr [i];
        const msgpack_object *analyzer = sf_mp_get (item, "name");
        sf_queue_t *queue = sf_dispatch_queue (self, analyzer->via.str.ptr,
                                               analyzer->via.str.size);
        if (!queue)
            continue;           //  Over the analyzer limit: not served here
        char version [SF_NAME_MAX + 1];
        sf_mp_strcpy (sf_mp_get (item, "version"), version, sizeof version);
        sf_registry_serve (worker, queue, version);
        sf_queue_add_worker (queue, worker);
        sf_dispatch_mark (self, queue);
    }
    msgpack_unpacked_destroy (&unpacked);
    sf_cmd_worker_seen (self, worker);
    sf_log_info ("broker: worker ready (worker=%s analyzers=%zu slots=%u)",
                 worker->name, worker->queue_count, worker->slots);
    return 0;
}

//  --------------------------------------------------------------------------
//  RESULTS: accept each result that matches its job's current lease. A
//  worker reports ok or error; an item with another status is malformed.

int
sf_cmd_results (sf_broker_t *self, sf_msg_t *msg)
{
    sf_wrec_t *worker = sf_registry_find (self->registry, zmq_msg_data (&msg->routing),
                                          zmq_msg_size (&msg->routing));
    sf_error_t error;
    sf_batchr_t reader;
    int rc = sf_batchr_open (&reader, sf_msg_data (msg), sf_msg_size (msg), 2,
                             SF_BATCH_MAX, &error);
    msgpack_object head;
    const char *raw;
    size_t raw_size;
    while (rc == 0
       && (rc = sf_batchr_next (&reader, &head, NULL, &raw, &raw_size, &error)) == 0) {
        uint8_t id [SF_UUID_SIZE];
        uint32_t attempt;
        sf_status_t status;
        uint64_t run_us;
        if (sf_codec_read_outcome_head (&head, id, &attempt, &status, &run_us, &error)) {
            rc = -1;
            break;
        }
        if (status != SF_STATUS_OK && status != SF_STATUS_ERROR) {
            //  The other statuses are the broker's to give (timeout, cancelled,
            //  dead): a worker that claims one is not believed
            rc = sf_error_set (&error, "PROTOCOL",
                               "result of a worker: \"status\" must be \"ok\" or \"error\", "
                               "not \"%s\"", sf_status_name (status));
            break;
        }
        sf_entry_t *entry = sf_ledger_find (self->ledger, id);
        if (!worker || !entry || entry->state != SF_JOB_RUNNING
        ||  entry->attempt != attempt || entry->worker != worker) {
            self->counters.late++;
            continue;
        }
        self->pass_items++;
        const char *state;
        size_t state_size;
        if (sf_codec_read_outcome_state (&head, &state, &state_size))
            state = NULL;
        sf_jobs_reported (self, entry, status, run_us, state, state_size, raw, raw_size);
    }
    if (rc < 0) {
        //  Results before the bad item were taken; the jobs of the rest stay
        //  in flight until the worker registers again or is lost
        self->counters.malformed++;
        sf_log_warning ("broker: malformed RESULTS: %s", error.message);
        sf_outbox_error (self, self->backend, msg, 0, &error);
    }
    sf_batchr_close (&reader);
    if (!worker)
        sf_outbox_disconnect (self, msg);
    else
        sf_dispatch_credit (self, worker);
    return 0;
}

//  --------------------------------------------------------------------------
//  HEARTBEAT: liveness was refreshed on receipt; an unknown worker is told
//  to register.

int
sf_cmd_heartbeat (sf_broker_t *self, sf_msg_t *msg)
{
    if (!sf_registry_find (self->registry, zmq_msg_data (&msg->routing),
                           zmq_msg_size (&msg->routing)))
        sf_outbox_disconnect (self, msg);
    return 0;
}

//  --------------------------------------------------------------------------
//  DISCONNECT: the worker leaves; its jobs go back to their queues.

int
sf_cmd_disconnect (sf_broker_t *self, sf_msg_t *msg)
{
    sf_wrec_t *worker = sf_registry_find (self->registry, zmq_msg_data (&msg->routing),
                                          zmq_msg_size (&msg->routing));
    if (worker)
        sf_cmd_worker_lose (self, worker, "disconnected", false);
    return 0;
}

//  --------------------------------------------------------------------------
//  LOST {name, reason}: a supervisor saw the worker process called name
//  die (killed by a signal, or a non-zero exit). Every registration under
//  that name is lost at once, as a death: its jobs count the loss, and a
//  poison job's dead letter says why (the crash signature). The sender is
//  usually not a registered worker; nothing is answered unless the body is
//  malformed. Rare, so the registry is scanned.

int
sf_cmd_lost (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (sf_request_map (self, self->backend, msg, &unpacked, &body))
        return 0;
    char name [SF_NAME_MAX + 1], reason [160] = "reported lost by its supervisor";
    const msgpack_object *reason_field = sf_mp_get (&body, "reason");
    sf_error_t error;
    error.code [0] = 0;
    if (sf_mp_strcpy (sf_mp_get (&body, "name"), name, sizeof name))
        sf_error_set (&error, "PROTOCOL", "LOST needs \"name\", 1-64 characters");
    else
    if (reason_field && sf_mp_strcpy (reason_field, reason, sizeof reason))
        sf_error_set (&error, "PROTOCOL", "LOST \"reason\" must be text of 1-159 bytes");
    msgpack_unpacked_destroy (&unpacked);
    if (error.code [0]) {
        self->counters.malformed++;
        sf_outbox_error (self, self->backend, msg, 0, &error);
        return 0;
    }
    sf_ptrs_t lost = { NULL, 0, 0 };
    for (sf_wrec_t *worker = sf_registry_first (self->registry); worker;
         worker = sf_registry_next (self->registry))
        if (streq (worker->name, name))
            sf_ptrs_push (&lost, worker);
    if (lost.size == 0)
        sf_log_info ("broker: a supervisor reports a worker that is not registered "
                     "(worker=%s reason=%s)", name, reason);
    for (size_t i = 0; i < lost.size; i++)
        sf_cmd_worker_lose (self, (sf_wrec_t *) lost.items [i], reason, true);
    free (lost.items);
    return 0;
}
