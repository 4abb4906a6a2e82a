/*  =========================================================================
    sf_broker - the broker: takes jobs from clients, hands them to workers,
    routes results back

    This file is the loop; the state and the handlers live in the files
    sf_broker_private.h lists. One zloop drives everything: a reader per
    socket, a timer per duty (what comes due, heartbeats, retention). A
    reader drains the messages waiting on its socket, decodes each envelope
    and dispatches it through a table of handlers; handlers only change
    state and stage output. Then one flush does the work common to the
    whole batch of messages, in this order:

      1. commit the store (one commit covers everything the pass staged),
      2. acknowledge the accepted jobs (never before their commit),
      3. dispatch queued jobs to workers with free credit,
      4. send each worker one DISPATCH and each client one RESULT message.

    Steps 2-4 need the commit: when it fails, the jobs accepted in the
    pass are taken back and their submits answered ERROR, and every
    result and reply stays staged until a later commit succeeds, so that
    nothing a client or worker was told can be undone by a restart.

    A failed commit makes the broker degraded, a policy and not a log
    line: it says so once (log, STATUS), refuses SUBMIT and GROUP with
    BUSY naming the store's error, keeps what it holds in memory, neither
    dispatches nor runs retention, and leaves the commit to a timer of its
    own, which retries with backoff; passes meanwhile only stage. The
    first commit that succeeds ends it (said once too) and delivers what
    waited.

    Staging output per peer and sending it once per pass is what batches
    the wire: under load one message carries many jobs or results.

    State is Majordomo-style: queues by analyzer name, workers by routing
    id, every job in the ledger by id. Credit-based flow control: a worker
    never holds more jobs than the slots it announced. A worker whose
    heartbeats stop loses its jobs back to the front of their queues with
    the attempt count raised, so a late result from it no longer matches
    its job's lease and is dropped: each job has exactly one result.
    ========================================================================= */

#include <time.h>
#include "sf_broker_private.h"

//  A reader stops taking messages and flushes after this many messages, or
//  once the messages taken carry this many jobs and results. Small passes
//  keep the fleet a pipeline: a pass of thousands of jobs would move through
//  client, broker and workers as one wave, each stage idle while another
//  works (measured: 1.3x the throughput of 256-message passes).
#define S_DRAIN_MAX 64
#define S_PASS_ITEMS 128

//  How often retention runs.
#define S_PURGE_MS 1000

//  Room for a message's framing around the bytes a limit allows: the
//  envelope, the batch header, each item's header (a SUBMIT of
//  SF_BATCH_MAX small jobs), a result's header and its worker's name.
#define S_ENVELOPE_ROOM (1024 * 1024)

//  A degraded broker tries its store's commit again after this long,
//  doubling up to the most: an operator who frees the disk sees the broker
//  recover within seconds, and a store that stays broken costs one
//  attempt every few seconds.
#define S_RETRY_MIN_MS 100
#define S_RETRY_MAX_MS 5000

typedef struct {
    int command;                //  SF_CMD_*
    sf_handler_fn *handler;     //  What handles it
} s_route_t;

static const s_route_t s_frontend_routes [] = {
    { SF_CMD_SUBMIT, sf_cmd_submit },
    { SF_CMD_STATUS, sf_cmd_status },
    { SF_CMD_FETCH, sf_cmd_fetch },
    { SF_CMD_CANCEL, sf_cmd_cancel },
    { SF_CMD_DEAD, sf_cmd_dead },
    { SF_CMD_GROUP, sf_cmd_group },
    { 0, NULL }
};

static const s_route_t s_backend_routes [] = {
    { SF_CMD_READY, sf_cmd_ready },
    { SF_CMD_RESULTS, sf_cmd_results },
    { SF_CMD_HEARTBEAT, sf_cmd_heartbeat },
    { SF_CMD_DISCONNECT, sf_cmd_disconnect },
    { SF_CMD_LOST, sf_cmd_lost },
    { 0, NULL }
};

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  --------------------------------------------------------------------------
//  Add item to the array, growing it.

void
sf_ptrs_push (sf_ptrs_t *self, void *item)
{
    if (self->size == self->max) {
        self->max = self->max? self->max * 2: 16;
        self->items = (void **) sf_alloc_resize (self->items, self->max, sizeof (void *));
    }
    self->items [self->size++] = item;
}

//  --------------------------------------------------------------------------
//  Defaults.

void
sf_broker_config_defaults (sf_broker_config_t *config)
{
    config->frontend = SF_DEFAULT_FRONTEND;
    config->backend = SF_DEFAULT_BACKEND;
    config->store = "journal:sheaf-journal";
    config->heartbeat_ms = 1000;
    config->liveness = 3;
    config->result_max = 100000;
    config->result_ttl_ms = 3600 * 1000;
    config->max_analyzers = 4096;
    config->backoff_max_ms = 300000;
    config->max_losses = 2;
    config->max_jobs = 1000000;
    config->max_queued = 1000000;
    config->max_bytes = (size_t) 1 << 30;
    config->max_job_bytes = (size_t) 64 << 20;
    config->max_result_bytes = (size_t) 64 << 20;
    config->result_max_bytes = (size_t) 1 << 30;
    config->peer_max_bytes = (size_t) 64 << 20;
    config->dead_max = 10000;
}

//  --------------------------------------------------------------------------
//  Decode a single-map request body; a malformed one is answered here.

int
sf_request_map (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg,
                msgpack_unpacked *unpacked, msgpack_object *body)
{
    msgpack_unpacked_init (unpacked);
    size_t offset = 0;
    const char *why = "empty body";
    int rc = sf_mp_next (unpacked, sf_msg_data (msg), sf_msg_size (msg), &offset, body,
                         NULL, NULL, &why);
    if (rc == 0 && body->type != MSGPACK_OBJECT_MAP) {
        why = "body must be a map";
        rc = -1;
    }
    if (rc == 0 && offset != sf_msg_size (msg)) {
        why = "bytes after the body";
        rc = -1;
    }
    if (rc != 0) {
        sf_error_t error;
        sf_error_set (&error, "PROTOCOL", "%s: %s", sf_cmd_name (msg->command), why);
        sf_outbox_error (self, socket, msg, 0, &error);
        self->counters.malformed++;
        msgpack_unpacked_destroy (unpacked);
        return -1;
    }
    return 0;
}

//  ==========================================================================
//  The end of a pass: commit, acknowledge, dispatch, send.

static int s_due_timer (zloop_t *loop, int timer_id, void *arg);

//  Arm the one-shot timer for the first due item, unless it is armed for
//  that instant or earlier already. Cheap enough to call after every pass:
//  a timer is set again only when an earlier instant appears or the armed
//  one has fired.
static void
s_arm (sf_broker_t *self)
{
    int64_t due_us;
    if (!sf_timeq_next (self->timeq, &due_us) || (self->armed_us && self->armed_us <= due_us))
        return;
    if (self->armed_us)
        zloop_timer_end (self->loop, self->timer_id);
    self->armed_us = 0;
    int64_t delay_us = due_us - self->clock ();
    size_t delay_ms = delay_us > 0? (size_t) ((delay_us + 999) / 1000): 1;
    self->timer_id = zloop_timer (self->loop, delay_ms, 1, s_due_timer, self);
    if (self->timer_id == -1) {
        //  Left unarmed, so that the next pass (at the latest the next
        //  heartbeat) tries again: deadlines come late, never not at all
        self->counters.arm_failed++;
        sf_log_error ("broker: cannot arm the deadline timer; trying again next pass");
        return;
    }
    self->armed_us = due_us;
}

//  What waits for a commit goes out: acknowledgements, DISPATCHes, then
//  the held replies and results.
static void
s_deliver (sf_broker_t *self)
{
    sf_outbox_flush_acks (self);
    //  Dispatch, then once more if a worker turned out to be unreachable
    //  and its jobs went back to their queues
    for (int round = 0; round < 2; round++) {
        sf_dispatch_run (self);
        sf_ptrs_t unreachable = { NULL, 0, 0 };
        sf_outbox_flush_dispatches (self, &unreachable);
        for (size_t i = 0; i < unreachable.size; i++)
            sf_cmd_worker_lose (self, (sf_wrec_t *) unreachable.items [i], "unreachable", true);
        free (unreachable.items);
        if (unreachable.size == 0)
            break;
    }
    sf_outbox_flush_results (self);
}

static int s_store_timer (zloop_t *loop, int timer_id, void *arg);

//  Arm the store's retry timer for its current delay.
static void
s_arm_retry (sf_broker_t *self)
{
    self->retry_timer = zloop_timer (self->loop, (size_t) self->retry_ms, 1, s_store_timer,
                                     self);
    self->retry_us = self->now_us + self->retry_ms * 1000;
}

//  A commit failed (error): the requests acknowledged in this pass are
//  taken back and answered ERROR, and the broker is degraded until a
//  commit succeeds.
static void
s_degrade (sf_broker_t *self, const sf_error_t *error)
{
    self->counters.commit_failures++;
    self->degraded = true;
    self->store_error = *error;
    self->degraded_us = self->now_us;
    self->store_retries = 0;
    self->retry_ms = S_RETRY_MIN_MS;
    sf_log_error ("broker: degraded: the store cannot commit (%s); submits are refused with "
                  "BUSY, results and replies held, dispatch paused, until a commit succeeds "
                  "(retried every %d ms, doubling up to %d ms)", error->message, S_RETRY_MIN_MS,
                  S_RETRY_MAX_MS);
    sf_outbox_refuse_acks (self, error);
    s_arm_retry (self);
}

//  Commit what the pass staged and deliver. While degraded the pass only
//  stages: the retry timer commits.
static void
s_flush (sf_broker_t *self)
{
    sf_error_t error;
    if (self->degraded)
        //  Nothing acknowledges while degraded (SUBMIT and GROUP get BUSY)
        sf_outbox_refuse_acks (self, &self->store_error);
    else
    if (sf_records_commit (self, &error) == 0)
        s_deliver (self);
    else
        s_degrade (self, &error);
    s_arm (self);
}

//  Degraded: try the commit again. Success ends the degraded state and
//  delivers what waited; failure doubles the delay.
static int
s_store_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    self->retry_us = 0;         //  A one-shot timer: it is gone now
    if (!self->degraded)
        return 0;
    self->now_us = self->clock ();
    sf_error_t error;
    if (sf_records_commit (self, &error) == 0) {
        sf_log_info ("broker: no longer degraded: the store commits again, after %zu retries "
                     "in %lld ms; held results and replies go out, submits are accepted",
                     self->store_retries + 1,
                     (long long) (self->now_us - self->degraded_us) / 1000);
        self->degraded = false;
        self->store_error = (sf_error_t) { "", "" };
        s_deliver (self);
        s_arm (self);
        return 0;
    }
    self->counters.commit_failures++;
    self->store_retries++;
    self->store_error = error;
    sf_log_debug ("broker: store commit retry %zu failed: %s", self->store_retries,
                  error.message);
    self->retry_ms = self->retry_ms * 2 > S_RETRY_MAX_MS? S_RETRY_MAX_MS: self->retry_ms * 2;
    s_arm_retry (self);
    return 0;
}

//  ==========================================================================
//  Readers

//  Drain one socket through its routing table, then flush.
static int
s_read (sf_broker_t *self, zsock_t *socket, const s_route_t *routes, bool backend)
{
    self->now_us = self->clock ();
    self->pass_items = 0;
    int rc = 0;
    for (int count = 0; count < S_DRAIN_MAX && self->pass_items < S_PASS_ITEMS && rc == 0;
         count++) {
        sf_error_t error;
        sf_msg_t *msg = &self->msg;
        int got = sf_msg_recv (msg, zsock_resolve (socket), true, &error);
        if (got == 1)
            break;
        if (got < 0) {
            self->counters.malformed++;
            sf_log_warning ("broker: malformed message on the %s: %s",
                            backend? "backend": "frontend", error.message);
            if (msg->routed)
                sf_outbox_error (self, socket, msg, 0, &error);
            continue;
        }
        if (backend) {
            sf_wrec_t *worker = sf_registry_find (self->registry, zmq_msg_data (&msg->routing),
                                                  zmq_msg_size (&msg->routing));
            if (worker)
                sf_cmd_worker_seen (self, worker);
        }
        const s_route_t *route = routes;
        while (route->handler && route->command != msg->command)
            route++;
        if (route->handler)
            rc = route->handler (self, msg);
        else {
            self->counters.malformed++;
            sf_error_set (&error, "UNKNOWN_COMMAND", "%s is not accepted on the %s",
                          sf_cmd_name (msg->command), backend? "backend": "frontend");
            sf_outbox_error (self, socket, msg, 0, &error);
        }
    }
    sf_msg_close (&self->msg);
    s_flush (self);
    return rc;
}

static int
s_frontend_reader (zloop_t *loop, zsock_t *socket, void *arg)
{
    (void) loop;
    return s_read ((sf_broker_t *) arg, socket, s_frontend_routes, false);
}

static int
s_backend_reader (zloop_t *loop, zsock_t *socket, void *arg)
{
    (void) loop;
    return s_read ((sf_broker_t *) arg, socket, s_backend_routes, true);
}

//  ==========================================================================
//  Timers, one per duty

//  What comes due: running jobs' deadlines, retry times, groups' deadlines.
static int
s_due_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    self->armed_us = 0;         //  A one-shot timer: it is gone now
    self->now_us = self->clock ();
    sf_entry_t *entry;
    sf_group_t *group;
    while (sf_timeq_pop_due (self->timeq, self->now_us, &entry, &group))
        if (entry)
            sf_jobs_due (self, entry);
        else
            sf_cmd_group_end (self, group, SF_GROUP_TIMEOUT);
    s_flush (self);
    return 0;
}

//  Heartbeats: expire silent workers, send a heartbeat to the others.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    self->now_us = self->clock ();
    sf_ptrs_t expired = { NULL, 0, 0 };
    for (sf_wrec_t *worker = sf_registry_first (self->registry); worker;
         worker = sf_registry_next (self->registry)) {
        if (self->now_us > worker->expires_us)
            sf_ptrs_push (&expired, worker);
        else
            sf_outbox_heartbeat (self, worker);
    }
    for (size_t i = 0; i < expired.size; i++)
        sf_cmd_worker_lose (self, (sf_wrec_t *) expired.items [i], "heartbeat expired", true);
    free (expired.items);
    s_flush (self);
    return 0;
}

//  Retention: evict finished results and answered groups past their count
//  or age limit.
static int
s_purge_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    if (self->degraded)
        return 0;               //  Held answers point into the groups it would forget
    self->now_us = self->clock ();
    size_t evicted = sf_ledger_purge (self->ledger, self->now_us);
    sf_cmd_group_purge (self);
    sf_cmd_query_purge (self);
    if (evicted)
        sf_log_debug ("broker: evicted %zu finished results", evicted);
    return 0;
}

//  --------------------------------------------------------------------------
//  The same, driven by an in-process test instead of the zloop.

int
sf_broker_pass (sf_broker_t *self, bool backend)
{
    return backend? s_backend_reader (self->loop, self->backend, self)
                  : s_frontend_reader (self->loop, self->frontend, self);
}

void
sf_broker_duty (sf_broker_t *self, sf_duty_t duty)
{
    switch (duty) {
        case SF_DUTY_DUE: s_due_timer (self->loop, 0, self); break;
        case SF_DUTY_HEARTBEAT: s_heartbeat_timer (self->loop, 0, self); break;
        case SF_DUTY_PURGE: s_purge_timer (self->loop, 0, self); break;
        case SF_DUTY_STORE:
            //  In place of the armed timer, which must not fire as well
            if (self->retry_us)
                zloop_timer_end (self->loop, self->retry_timer);
            s_store_timer (self->loop, 0, self);
            break;
    }
}

//  ==========================================================================
//  Construction and teardown

static void
s_queue_destructor (void **item)
{
    sf_queue_destroy ((sf_queue_t **) item);
}

static void
s_watchers_destructor (void **item)
{
    //  Only reached at teardown; client records go with their table
    zlistx_destroy ((zlistx_t **) item);
}

//  A ROUTER bound to endpoint, taking no message over max_size bytes: a
//  peer that sends more is disconnected by ZeroMQ before the broker
//  allocates it. NULL when it cannot bind.
static zsock_t *
s_bind (const char *endpoint, size_t max_size)
{
    zsock_t *socket = zsock_new (ZMQ_ROUTER);
    if (!socket)
        return NULL;
    //  A send to a vanished peer fails at once instead of vanishing, so
    //  the broker can count undelivered results
    zsock_set_router_mandatory (socket, 1);
    //  A peer that reconnects with the same routing id takes it over
    zsock_set_router_handover (socket, 1);
    zsock_set_sndhwm (socket, 100000);
    zsock_set_rcvhwm (socket, 100000);
    zsock_set_linger (socket, 0);
    //  An int64 option: zsock_set_maxmsgsize takes an int, too small for
    //  a --max-bytes of gigabytes
    int64_t max_msg = max_size > (size_t) INT64_MAX? INT64_MAX: (int64_t) max_size;
    zmq_setsockopt (zsock_resolve (socket), ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
    if (zsock_bind (socket, "%s", endpoint) < 0)
        zsock_destroy (&socket);
    return socket;
}

sf_broker_t *
sf_broker_new (const sf_broker_config_t *config, sf_error_t *error)
{
    sf_broker_t *self = (sf_broker_t *) zmalloc (sizeof *self);
    self->config = *config;
    self->clock = s_now_us;
    //  A client's message is a batch of jobs, never more than --max-bytes
    //  once accepted; a worker's carries a result and an analyzer state
    assert (config->max_job_bytes <= SF_BROKER_ITEM_MAX
            && config->max_result_bytes <= SF_BROKER_ITEM_MAX);
    self->frontend = s_bind (config->frontend, config->max_bytes + S_ENVELOPE_ROOM);
    if (!self->frontend) {
        sf_error_set (error, "FRONTEND", "cannot bind the frontend to %s: %s",
                      config->frontend, zmq_strerror (errno));
        sf_broker_destroy (&self);
        return NULL;
    }
    self->backend = s_bind (config->backend,
                            config->max_result_bytes + SF_STATE_MAX + S_ENVELOPE_ROOM);
    if (!self->backend) {
        sf_error_set (error, "BACKEND", "cannot bind the backend to %s: %s",
                      config->backend, zmq_strerror (errno));
        sf_broker_destroy (&self);
        return NULL;
    }
    self->store = sf_store_new (config->store, error);
    if (!self->store) {
        sf_broker_destroy (&self);
        return NULL;
    }
    self->ledger = sf_ledger_new (config->result_max, config->result_ttl_ms, config->dead_max);
    sf_ledger_set_max_bytes (self->ledger, config->result_max_bytes);
    self->timeq = sf_timeq_new ();
    self->queues = zhashx_new ();
    zhashx_set_destructor (self->queues, s_queue_destructor);
    self->registry = sf_registry_new ();
    self->clients = sf_clients_new ();
    self->watchers = sf_uuid_table (true);
    zhashx_set_destructor (self->watchers, s_watchers_destructor);
    self->budgets = zhashx_new ();
    zhashx_set_destructor (self->budgets, (zhashx_destructor_fn *) zstr_free);
    self->names = zhashx_new ();
    zhashx_set_destructor (self->names, (zhashx_destructor_fn *) zstr_free);
    self->states = zhashx_new ();
    zhashx_set_destructor (self->states, sf_store_blob_destructor);
    self->groups = sf_groups_new (self->timeq);
    sf_outbox_init (&self->outbox);
    sf_msg_init (&self->msg);
    msgpack_sbuffer_init (&self->scratch);
    msgpack_packer_init (&self->scratch_pk, &self->scratch, msgpack_sbuffer_write);
    msgpack_sbuffer_init (&self->record_ids);
    self->loop = zloop_new ();
    self->started_us = self->now_us = self->clock ();
    if (sf_recover (self, error)) {
        sf_broker_destroy (&self);
        return NULL;
    }
    if (zloop_reader (self->loop, self->frontend, s_frontend_reader, self)
    ||  zloop_reader (self->loop, self->backend, s_backend_reader, self)
    ||  zloop_timer (self->loop, (size_t) config->heartbeat_ms, 0, s_heartbeat_timer, self) == -1
    ||  zloop_timer (self->loop, S_PURGE_MS, 0, s_purge_timer, self) == -1) {
        sf_error_set (error, "LOOP", "the event loop cannot take the broker's sockets "
                      "and timers");
        sf_broker_destroy (&self);
        return NULL;
    }
    s_arm (self);               //  For what recovery left in the timeq
    sf_log_info ("broker: serving clients at %s, workers at %s, store %s",
                 config->frontend, config->backend, sf_store_name (self->store));
    return self;
}

int
sf_broker_run (sf_broker_t *self)
{
    zloop_start (self->loop);
    sf_log_info ("broker: stopping (%zu jobs in the ledger)", sf_ledger_size (self->ledger));
    if (self->degraded)
        sf_log_warning ("broker: stopping degraded: what the store could not commit is lost "
                        "(%s); its jobs run again after a restart, and nothing of it was "
                        "acknowledged or delivered", self->store_error.message);
    return 0;
}

void
sf_broker_destroy (sf_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_broker_t *self = *self_p;
    //  Reverse order of construction. Entries and groups hold client
    //  references; drop them so the client table empties before it goes.
    zloop_destroy (&self->loop);
    if (self->ledger)
        for (sf_entry_t *entry = sf_ledger_first (self->ledger); entry;
             entry = sf_ledger_next (self->ledger))
            entry->client = NULL;
    if (self->groups)
        for (sf_group_t *group = (sf_group_t *) zlistx_first (sf_groups_list (self->groups));
             group; group = (sf_group_t *) zlistx_next (sf_groups_list (self->groups))) {
            group->client = NULL;
            zlistx_destroy (&group->waiters);
        }
    msgpack_sbuffer_destroy (&self->scratch);
    msgpack_sbuffer_destroy (&self->record_ids);
    sf_msg_close (&self->msg);
    sf_outbox_destroy (&self->outbox);
    sf_groups_destroy (&self->groups);
    zhashx_destroy (&self->states);
    zhashx_destroy (&self->names);
    zhashx_destroy (&self->budgets);
    zhashx_destroy (&self->watchers);
    sf_clients_destroy (&self->clients);
    sf_registry_destroy (&self->registry);
    zhashx_destroy (&self->queues);
    free (self->dirty.items);
    sf_timeq_destroy (&self->timeq);
    sf_ledger_destroy (&self->ledger);
    sf_store_destroy (&self->store);
    zsock_destroy (&self->backend);
    zsock_destroy (&self->frontend);
    free (self);
    *self_p = NULL;
}
