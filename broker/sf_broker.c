/*  =========================================================================
    sf_broker - the broker: takes jobs from clients, hands them to workers,
    routes results back

    One zloop drives everything: a reader per socket, a timer per duty
    (heartbeats, result purge). A reader drains the messages waiting on its
    socket, decodes each envelope and dispatches it through a table of
    handlers; handlers only change state and stage output. Then one flush
    does the work common to the whole batch of messages, in this order:

      1. commit the store (one commit covers every job accepted above),
      2. acknowledge the accepted jobs (never before their commit),
      3. dispatch queued jobs to workers with free credit,
      4. send each worker one DISPATCH and each client one RESULT message.

    Staging output per peer and sending it once per pass is what batches
    the wire: under load one message carries many jobs or results.

    State is Majordomo-style: queues by analyzer name, workers by routing
    id, every job in the ledger by id. Credit-based flow control: a worker
    never holds more jobs than the slots it announced. A worker whose
    heartbeats stop loses its jobs back to the front of their queues with
    the attempt count raised, so a late result from it no longer matches
    its job's lease and is dropped: each job has exactly one result.
    ========================================================================= */

#include <czmq.h>
#include <time.h>
#include "sf_broker.h"
#include "sf_clients.h"
#include "sf_codec.h"
#include "sf_group.h"
#include "sf_ledger.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_msg.h"
#include "sf_queue.h"
#include "sf_registry.h"
#include "sf_store.h"
#include "sf_timeq.h"

//  A reader stops taking messages and flushes after this many messages, or
//  once the messages taken carry this many jobs and results. Small passes
//  keep the fleet a pipeline: a pass of thousands of jobs would move through
//  client, broker and workers as one wave, each stage idle while another
//  works (measured: 1.3x the throughput of 256-message passes).
#define S_DRAIN_MAX 64
#define S_PASS_ITEMS 128

//  How often group deadlines are checked: a group times out at most this
//  late.
#define S_GROUP_TICK_MS 50

//  A growable array of borrowed pointers.
typedef struct {
    void **items;               //  The pointers
    size_t size;                //  In use
    size_t max;                 //  Room
} s_ptrs_t;

//  An acknowledgement waiting for its store commit.
typedef struct {
    sf_crec_t *client;          //  Whom to tell (holds a reference)
    uint64_t tag;               //  The SUBMIT's tag
    msgpack_sbuffer body;       //  ACCEPTED body
    sf_group_t *join;           //  A GROUP with a known key: answer it from this
                                //  group once ACCEPTED is sent (else NULL)
} s_ack_t;

//  What the broker counts, for status.
typedef struct {
    uint64_t submitted;         //  Jobs accepted
    uint64_t deduplicated;      //  Submits answered with an existing id (key)
    uint64_t chained;           //  Follow-ups submitted by the broker ("then")
    uint64_t dispatched;        //  Dispatches (attempts) sent
    uint64_t finished [SF_STATUS_INVALID];  //  Final statuses by status
    uint64_t requeued;          //  Jobs returned to a queue by a lost worker
    uint64_t retried;           //  Failed attempts scheduled to run again
    uint64_t timed_out;         //  Attempts stopped at their deadline
    uint64_t busy;              //  Submits refused by a limit
    uint64_t late;              //  Results dropped: not the current lease
    uint64_t malformed;         //  Messages rejected as malformed
    uint64_t undelivered;       //  Results whose client was gone
    uint64_t workers_lost;      //  Workers expired or disconnected
} s_counters_t;

struct _sf_broker_t {
    sf_broker_config_t config;  //  Settings (strings borrowed)
    zsock_t *frontend;          //  ROUTER for clients
    zsock_t *backend;           //  ROUTER for workers
    zloop_t *loop;              //  The reactor
    sf_store_t *store;          //  Durable store
    sf_ledger_t *ledger;        //  Every job, by id (owns entries)
    zhashx_t *queues;           //  Analyzer name -> queue (owns queues)
    sf_registry_t *registry;    //  Workers (owns records)
    sf_clients_t *clients;      //  Clients with work (owns records)
    zhashx_t *watchers;         //  Job id -> zlistx of waiting clients
    zhashx_t *names;            //  Worker names results point to (s_intern)
    zhashx_t *states;           //  State key -> latest sf_store_blob_t (owned)
    zhashx_t *groups;           //  Group id -> group (owns groups)
    zhashx_t *group_keys;       //  Idempotency key -> group (borrowed), while kept
    zlistx_t *group_list;       //  The same groups, oldest first (borrowed)
    zlistx_t *group_deadlines;  //  Running groups with a deadline (borrowed)
    size_t group_items_kept;    //  Items of answered groups still kept
    s_ptrs_t send_groups;       //  Stream groups with a GROUP_ITEM staged
    s_ptrs_t send_answers;      //  Groups answered in this pass, to send after commit
    s_ptrs_t dirty;             //  Queues to dispatch from
    s_ptrs_t send_workers;      //  Workers with a DISPATCH staged
    s_ptrs_t send_clients;      //  Clients with a RESULT staged (each a ref)
    zlistx_t *acks;             //  Acknowledgements waiting for commit
    sf_timeq_t *timeq;          //  Deadlines of running jobs, retry times
    int timer_id;               //  One-shot timer for the first due entry
    int64_t armed_us;           //  When it fires (0: not armed)
    size_t unfinished;          //  Jobs accepted and not finished
    size_t delayed;             //  Of them, waiting for a retry
    size_t bytes_held;          //  Job encodings of unfinished jobs
    msgpack_sbuffer scratch;    //  Error maps the broker writes
    msgpack_packer scratch_pk;  //  Packs into scratch
    sf_msg_t msg;               //  Message being handled
    msgpack_sbuffer reply;      //  Scratch body for single replies
    msgpack_packer reply_pk;    //  Packs into reply
    sf_queue_t *last_queue;     //  Queue of the last submitted job (cache)
    int64_t now_us;             //  Monotonic time of this pass
    size_t pass_items;          //  Jobs and results taken in this pass
    int64_t started_us;         //  When the broker started
    s_counters_t counters;      //  For status
};

//  A handler of one command on one socket; returns 0, or -1 to stop.
typedef int (s_handler_fn) (sf_broker_t *self, sf_msg_t *msg);

typedef struct {
    int command;                //  SF_CMD_*
    s_handler_fn *handler;      //  What handles it
} s_route_t;

static s_handler_fn s_client_submit, s_client_status, s_client_fetch, s_client_cancel,
                    s_client_dead, s_client_group;
static s_handler_fn s_worker_ready, s_worker_results, s_worker_heartbeat,
                    s_worker_disconnect, s_worker_lost_report;

static void s_flush (sf_broker_t *self);
static int s_group_cancel (sf_broker_t *self, sf_group_t *group);

static const s_route_t s_frontend_routes [] = {
    { SF_CMD_SUBMIT, s_client_submit },
    { SF_CMD_STATUS, s_client_status },
    { SF_CMD_FETCH, s_client_fetch },
    { SF_CMD_CANCEL, s_client_cancel },
    { SF_CMD_DEAD, s_client_dead },
    { SF_CMD_GROUP, s_client_group },
    { 0, NULL }
};

static const s_route_t s_backend_routes [] = {
    { SF_CMD_READY, s_worker_ready },
    { SF_CMD_RESULTS, s_worker_results },
    { SF_CMD_HEARTBEAT, s_worker_heartbeat },
    { SF_CMD_DISCONNECT, s_worker_disconnect },
    { SF_CMD_LOST, s_worker_lost_report },
    { 0, NULL }
};

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_ptrs_push (s_ptrs_t *self, void *item)
{
    if (self->size == self->max) {
        self->max = self->max? self->max * 2: 16;
        self->items = (void **) realloc (self->items, self->max * sizeof (void *));
        if (!self->items)
            abort ();
    }
    self->items [self->size++] = item;
}

static void
s_queue_destructor (void **item)
{
    sf_queue_destroy ((sf_queue_t **) item);
}

static void
s_ack_destructor (void **item)
{
    s_ack_t *ack = (s_ack_t *) *item;
    msgpack_sbuffer_destroy (&ack->body);
    free (ack);
    *item = NULL;
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
    config->dead_max = 10000;
}

//  ==========================================================================
//  Replies and staging

//  Start a single-reply body in self->reply.
static msgpack_packer *
s_reply_begin (sf_broker_t *self)
{
    msgpack_sbuffer_clear (&self->reply);
    return &self->reply_pk;
}

static void
s_reply_send (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg, int command)
{
    if (sf_msg_send (zsock_resolve (socket), zmq_msg_data (&msg->routing),
                     zmq_msg_size (&msg->routing), command,
                     self->reply.data, self->reply.size))
        sf_log_debug ("broker: could not reply %s: %s", sf_cmd_name (command),
                      zmq_strerror (errno));
}

static void
s_reply_error (zsock_t *socket, sf_msg_t *msg, uint64_t tag,
               const sf_error_t *error)
{
    sf_msg_send_error (zsock_resolve (socket), zmq_msg_data (&msg->routing),
                       zmq_msg_size (&msg->routing), tag, error);
}

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

//  Stage an entry's result in a client's RESULT body.
static void
s_stage_result (sf_broker_t *self, sf_crec_t *client, sf_entry_t *entry)
{
    if (!client->flagged) {
        client->flagged = true;
        sf_clients_ref (client);
        sf_batchw_reset (&client->out, 0);
        s_ptrs_push (&self->send_clients, client);
    }
    sf_result_head_t head = {
        .status = entry->status,
        .analyzer = entry->queue->name,
        .worker = entry->worker_name? entry->worker_name: "",
        .attempts = entry->attempt,
        .queued_us = entry->dispatched_us? (uint64_t) (entry->dispatched_us - entry->accepted_us): 0,
        .run_us = entry->run_us,
        .total_us = (uint64_t) (entry->finished_us - entry->accepted_us)
    };
    memcpy (head.id, entry->id, SF_UUID_SIZE);
    if (entry->then_id) {
        head.chained = true;
        memcpy (head.then, entry->then_id, SF_UUID_SIZE);
    }
    sf_codec_pack_result_head (&client->out.packer, &head);
    msgpack_sbuffer_write (&client->out.buffer, entry->payload, entry->payload_size);
    sf_batchw_item (&client->out);
    if (client->out.count == SF_BATCH_MAX)
        s_send_results (self, client);      //  A body never exceeds the limit
}

static void
s_mark_dirty (sf_broker_t *self, sf_queue_t *queue)
{
    if (!queue->dirty && queue->depth > 0) {
        queue->dirty = true;
        s_ptrs_push (&self->dirty, queue);
    }
}

//  ==========================================================================
//  Job lifecycle

//  The queue for an analyzer name (size bytes, a valid name), or NULL.
static sf_queue_t *
s_queue_find (sf_broker_t *self, const char *name, size_t size)
{
    if (self->last_queue && strlen (self->last_queue->name) == size
    &&  memcmp (self->last_queue->name, name, size) == 0)
        return self->last_queue;
    char key [SF_NAME_MAX + 1];
    memcpy (key, name, size);
    key [size] = 0;
    sf_queue_t *queue = (sf_queue_t *) zhashx_lookup (self->queues, key);
    if (queue)
        self->last_queue = queue;
    return queue;
}

//  The queue for an analyzer name, created on first use; NULL when the
//  limit of distinct analyzers is reached.
static sf_queue_t *
s_queue_for (sf_broker_t *self, const char *name, size_t size)
{
    sf_queue_t *queue = s_queue_find (self, name, size);
    if (!queue) {
        char key [SF_NAME_MAX + 1];
        memcpy (key, name, size);
        key [size] = 0;
        if (zhashx_size (self->queues) >= self->config.max_analyzers)
            return NULL;
        queue = sf_queue_new (name, size);
        zhashx_insert (self->queues, key, queue);
    }
    self->last_queue = queue;
    return queue;
}

//  The one copy of a worker name that finished results point to. Names
//  are kept for the broker's life: one small string per worker name ever
//  seen, instead of a copy per result.
static const char *
s_intern (sf_broker_t *self, const char *name)
{
    char *copy = (char *) zhashx_lookup (self->names, name);
    if (!copy) {
        copy = strdup (name);
        zhashx_insert (self->names, name, copy);
    }
    return copy;
}

static void s_group_item_finished (sf_broker_t *self, sf_entry_t *entry);
static sf_queue_t *s_queue_of_spec (sf_broker_t *self, sf_entry_t *entry);

//  The follow-up of a job that ended ok with a "then" (docs/PROTOCOL.md
//  4.5): a new entry for the then map with the job's result in its
//  params.previous, of the job's client, queued under a new id (which the
//  job keeps in then_id for its result header). Called by s_finish before
//  the job's encoding is freed; returns the entry for s_chain_accept, or
//  NULL when the follow-up cannot run (its analyzer is over the queue
//  limit; logged).
static sf_entry_t *
s_chain_follow_up (sf_broker_t *self, sf_entry_t *entry)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object job;
    const char *why;
    msgpack_sbuffer spec;
    msgpack_sbuffer_init (&spec);
    //  The encoding passed sf_codec_job_check at submit: "then" is a job map
    if (sf_mp_next (&unpacked, entry->spec, entry->spec_size, &offset, &job, NULL, NULL,
                    &why) == 0) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &spec, msgpack_sbuffer_write);
        sf_codec_pack_follow_up (&pk, sf_mp_get (&job, "then"), entry->id, entry->queue->name,
                                 entry->payload, entry->payload_size);
    }
    msgpack_unpacked_destroy (&unpacked);

    sf_entry_t *next = NULL;
    msgpack_unpacked_init (&unpacked);
    offset = 0;
    sf_jobspec_t checked;
    sf_error_t error;
    if (spec.size
    &&  sf_mp_next (&unpacked, spec.data, spec.size, &offset, &job, NULL, NULL, &why) == 0
    &&  sf_codec_job_check (&job, &checked, &error) == 0) {
        next = sf_entry_new (&checked, spec.data, spec.size, self->now_us);
        next->queue = s_queue_find (self, checked.analyzer, checked.analyzer_size);
        if (!next->queue && !(next->queue = s_queue_of_spec (self, next))) {
            char id [SF_UUID_STRLEN + 1];
            sf_uuid_str (entry->id, id);
            sf_log_error ("broker: a follow-up's analyzer is over the queue limit; "
                          "the chain ends (job=%s)", id);
            sf_entry_destroy (&next);
        }
    }
    else {
        //  The result made the map too deep or too big for the wire
        char id [SF_UUID_STRLEN + 1];
        sf_uuid_str (entry->id, id);
        sf_log_error ("broker: a follow-up could not be built from the result; "
                      "the chain ends (job=%s)", id);
    }
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&spec);
    if (next) {
        sf_uuid_v7 (next->id);
        entry->then_id = (uint8_t *) malloc (SF_UUID_SIZE);
        if (!entry->then_id)
            abort ();
        memcpy (entry->then_id, next->id, SF_UUID_SIZE);
    }
    return next;
}

//  Accept a follow-up made by s_chain_follow_up: into the store (in the
//  same commit as its job's finish), the ledger and its queue, owned by
//  the job's client.
static void
s_chain_accept (sf_broker_t *self, sf_entry_t *entry, sf_entry_t *next)
{
    sf_error_t error;
    if (sf_store_accepted (self->store, &next, 1, &error))
        sf_log_error ("broker: store could not record a follow-up: %s", error.message);
    sf_ledger_insert (self->ledger, next);
    if (entry->client) {
        sf_clients_ref (entry->client);
        next->client = entry->client;
    }
    self->unfinished++;
    self->bytes_held += next->spec_size;
    sf_queue_push (next->queue, next);
    s_mark_dirty (self, next->queue);
    self->counters.submitted++;
    self->counters.chained++;
}

//  Give an entry its final status and deliver it to its client and to
//  every client waiting on it. payload is copied.
static void
s_finish (sf_broker_t *self, sf_entry_t *entry, sf_status_t status, const char *worker_name,
          uint64_t run_us, const char *payload, size_t payload_size)
{
    sf_timeq_remove (self->timeq, entry);
    self->unfinished--;
    entry->status = status;
    entry->run_us = run_us;
    entry->worker_name = worker_name? s_intern (self, worker_name): NULL;
    entry->payload = (char *) malloc (payload_size);
    if (!entry->payload)
        abort ();
    memcpy (entry->payload, payload, payload_size);
    entry->payload_size = (uint32_t) payload_size;
    sf_entry_t *next = status == SF_STATUS_OK && entry->chained?
                       s_chain_follow_up (self, entry): NULL;
    if (status != SF_STATUS_DEAD) {
        self->bytes_held -= entry->spec_size;
        free (entry->spec);     //  Never dispatched again
        entry->spec = NULL;
    }                           //  A dead letter keeps its job for a retry
    sf_ledger_finished (self->ledger, entry, self->now_us);
    self->counters.finished [status]++;

    sf_error_t error;
    if (sf_store_finished (self->store, entry, &error))
        sf_log_error ("broker: store could not record a result: %s", error.message);
    if (next)
        s_chain_accept (self, entry, next);

    if (entry->client) {
        s_stage_result (self, entry->client, entry);
        sf_clients_release (self->clients, &entry->client);
    }
    if (zhashx_size (self->watchers)) {
        zlistx_t *waiting = (zlistx_t *) zhashx_lookup (self->watchers, entry->id);
        if (waiting) {
            for (sf_crec_t *client = (sf_crec_t *) zlistx_first (waiting); client;
                 client = (sf_crec_t *) zlistx_next (waiting)) {
                s_stage_result (self, client, entry);
                sf_clients_release (self->clients, &client);
            }
            zhashx_delete (self->watchers, entry->id);
        }
    }
    if (entry->group)
        s_group_item_finished (self, entry);
}

//  Put one of a worker's in-flight jobs back at the front of its queue.
static void
s_requeue (sf_broker_t *self, sf_wrec_t *worker, sf_entry_t *entry)
{
    sf_entry_list_remove (&worker->inflight, entry);
    sf_timeq_remove (self->timeq, entry);
    entry->worker = NULL;
    entry->queue->running--;
    sf_queue_push_front (entry->queue, entry);
    s_mark_dirty (self, entry->queue);
    self->counters.requeued++;
}

//  --------------------------------------------------------------------------
//  Failed attempts: retried after a backoff, or the job ends.

//  Error codes after which an attempt may succeed when run again: the
//  worker was shutting down, or the analyzer said so. Every other analyzer
//  error (bad input, missing data, a failed analysis) is a property of the
//  job and final.
static bool
s_transient (const char *code)
{
    return streq (code, "TRANSIENT") || streq (code, "CANCELLED");
}

//  An error map {code, message, context: {attempts, …}} in self->scratch,
//  for results the broker writes itself.
static void
s_error_map (sf_broker_t *self, sf_entry_t *entry, const char *code, const char *format, ...)
{
    char message [256];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    msgpack_sbuffer_clear (&self->scratch);
    msgpack_packer *pk = &self->scratch_pk;
    msgpack_pack_map (pk, 3);
    sf_mp_pack_kv_str (pk, "code", code);
    sf_mp_pack_kv_str (pk, "message", message);
    sf_mp_pack_str (pk, "context");
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "attempts", entry->attempt);
    sf_mp_pack_kv_uint (pk, "worker_losses", entry->losses);
}

//  Add one failed attempt to the job's history, kept for dead letters:
//  {attempt, worker, code, message, at_ms (wall clock)}.
static void
s_history_add (sf_entry_t *entry, const char *worker, const char *code, const char *message)
{
    msgpack_sbuffer buffer = { entry->history_size, entry->history, entry->history_size };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    sf_mp_pack_kv_uint (&pk, "attempt", entry->attempt);
    sf_mp_pack_kv_str (&pk, "worker", worker? worker: "");
    sf_mp_pack_kv_str (&pk, "code", code);
    sf_mp_pack_kv_str (&pk, "message", message);
    sf_mp_pack_kv_uint (&pk, "at_ms", (uint64_t) zclock_time ());
    entry->history = buffer.data;
    entry->history_size = (uint32_t) buffer.size;
    entry->history_count++;
}

//  The delay before retry number n (1, 2, …): the job's backoff doubled
//  each time, capped, then spread over its upper half at random so that
//  jobs that failed together do not come back together.
static int64_t
s_backoff_us (sf_broker_t *self, sf_entry_t *entry, uint32_t n)
{
    int64_t delay_ms = entry->backoff_ms;
    for (uint32_t i = 1; i < n && delay_ms < self->config.backoff_max_ms; i++)
        delay_ms *= 2;
    if (delay_ms > self->config.backoff_max_ms)
        delay_ms = self->config.backoff_max_ms;
    int64_t half_us = delay_ms * 500;
    return half_us + (half_us? (int64_t) (randof (1000) * (half_us / 1000)): 0);
}

//  An attempt failed (code, message; payload is the error map to end with
//  when the job does not go on). Retried while the job has retries left;
//  then it ends dead (a dead letter, with its history) if it had retries,
//  else with final_status. Either way the last error map is its result.
static void
s_attempt_failed (sf_broker_t *self, sf_entry_t *entry, const char *worker, const char *code,
                  const char *message, sf_status_t final_status, uint64_t run_us,
                  const char *payload, size_t payload_size)
{
    s_history_add (entry, worker, code, message);
    if (entry->failures < entry->retries) {
        entry->failures++;
        entry->state = SF_JOB_DELAYED;
        entry->due_us = self->now_us + s_backoff_us (self, entry, entry->failures);
        sf_timeq_push (self->timeq, entry);
        self->delayed++;
        self->counters.retried++;
        return;
    }
    s_finish (self, entry, entry->retries? SF_STATUS_DEAD: final_status, worker, run_us,
              payload, payload_size);
}

//  Tell a worker to stop running a job (cancelled or past its deadline).
//  The job is no longer the worker's: a result it sends fails the lease.
static void
s_stop_at_worker (sf_broker_t *self, sf_entry_t *entry)
{
    sf_wrec_t *worker = entry->worker;
    sf_entry_list_remove (&worker->inflight, entry);
    entry->worker = NULL;
    entry->queue->running--;
    s_mark_dirty (self, entry->queue);          //  The worker has credit again
    msgpack_packer *pk = s_reply_begin (self);
    msgpack_pack_map (pk, 1);
    sf_mp_pack_str (pk, "ids");
    msgpack_pack_array (pk, 1);
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, entry->id, SF_UUID_SIZE);
    sf_msg_send (zsock_resolve (self->backend), worker->identity, worker->identity_size,
                 SF_CMD_STOP, self->reply.data, self->reply.size);
}

//  A running job passed its deadline: stopped, then retried or ended.
static void
s_timed_out (sf_broker_t *self, sf_entry_t *entry)
{
    const char *worker = entry->worker->name;
    s_stop_at_worker (self, entry);
    self->counters.timed_out++;
    char message [128];
    snprintf (message, sizeof message, "no result within %u ms", entry->timeout_ms);
    s_error_map (self, entry, "TIMEOUT", "%s", message);
    s_attempt_failed (self, entry, worker, "TIMEOUT", message, SF_STATUS_TIMEOUT, 0,
                      self->scratch.data, self->scratch.size);
}

//  A job was at a worker that died (not one that left in order): it runs
//  again, unless it has now witnessed max_losses deaths. Then it is a
//  poison job and goes to the dead letters, so that one job that kills
//  its worker cannot take the fleet down in a loop.
static bool
s_poisoned (sf_broker_t *self, sf_entry_t *entry, const char *why)
{
    entry->losses++;
    s_history_add (entry, entry->worker? entry->worker->name: NULL, "WORKER_LOST", why);
    if (entry->losses < self->config.max_losses)
        return false;
    sf_entry_list_remove (&entry->worker->inflight, entry);
    entry->worker = NULL;
    entry->queue->running--;
    s_error_map (self, entry, "WORKER_LOST", "present at %u worker deaths, the last: %s",
                 entry->losses, why);
    s_finish (self, entry, SF_STATUS_DEAD, NULL, 0, self->scratch.data, self->scratch.size);
    return true;
}

//  End an unfinished job now with status (cancelled, or timeout for a
//  group's deadline): out of its queue, its retry wait or its worker.
//  Returns -1 if it had already finished.
static int
s_cancel_entry (sf_broker_t *self, sf_entry_t *entry, sf_status_t status)
{
    switch (entry->state) {
        case SF_JOB_QUEUED:
            sf_queue_remove (entry->queue, entry);
            break;
        case SF_JOB_RUNNING:
            s_stop_at_worker (self, entry);
            break;
        case SF_JOB_DELAYED:
            self->delayed--;
            break;
        case SF_JOB_FINISHED:
            return -1;
    }
    s_error_map (self, entry, status == SF_STATUS_CANCELLED? "CANCELLED": "TIMEOUT",
                 status == SF_STATUS_CANCELLED? "the job was cancelled":
                                                "the group's deadline passed first");
    s_finish (self, entry, status, NULL, 0, self->scratch.data, self->scratch.size);
    return 0;
}

//  Timer: deadlines of running jobs and retry times that have come.
static int
s_due_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    self->armed_us = 0;         //  A one-shot timer: it is gone now
    self->now_us = s_now_us ();
    sf_entry_t *entry;
    while ((entry = sf_timeq_pop_due (self->timeq, self->now_us))) {
        if (entry->state == SF_JOB_RUNNING)
            s_timed_out (self, entry);
        else {
            //  Its backoff has passed: back in its queue, behind newer jobs
            self->delayed--;
            sf_queue_push (entry->queue, entry);
            s_mark_dirty (self, entry->queue);
        }
    }
    s_flush (self);
    return 0;
}

//  Arm the one-shot timer for the first due entry, unless it is armed for
//  that instant or earlier already. Cheap enough to call after every pass:
//  a timer is set again only when an earlier deadline appears or the
//  armed one has fired.
static void
s_arm (sf_broker_t *self)
{
    sf_entry_t *first = sf_timeq_first (self->timeq);
    if (!first || (self->armed_us && self->armed_us <= first->due_us))
        return;
    if (self->armed_us)
        zloop_timer_end (self->loop, self->timer_id);
    int64_t delay_us = first->due_us - s_now_us ();
    size_t delay_ms = delay_us > 0? (size_t) ((delay_us + 999) / 1000): 1;
    self->timer_id = zloop_timer (self->loop, delay_ms, 1, s_due_timer, self);
    self->armed_us = first->due_us;
}

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

//  A worker is gone: its jobs go back to the front of their queues, and a
//  result it may still send will not match their next lease.
static void
s_worker_lost (sf_broker_t *self, sf_wrec_t *worker, const char *why, bool died)
{
    sf_log_warning ("broker: worker lost, %zu jobs back to their queues (worker=%s reason=%s)",
                    worker->inflight.size, worker->name, why);
    //  From the newest, so that the oldest ends up first in its queue
    while (worker->inflight.tail)
        if (!died || !s_poisoned (self, worker->inflight.tail, why))
            s_requeue (self, worker, worker->inflight.tail);
    for (size_t i = 0; i < worker->queue_count; i++)
        sf_queue_remove_worker (worker->queues [i], worker);
    self->counters.workers_lost++;
    sf_registry_remove (self->registry, &worker);
}

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
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object job;
    const char *why;
    //  The spec passed sf_codec_job_check at submit: it decodes
    sf_mp_next (&unpacked, entry->spec, entry->spec_size, &offset, &job, NULL, NULL, &why);
    sf_codec_pack_job_state (pk, &job, state->data, state->size);
    msgpack_unpacked_destroy (&unpacked);
}

//  Keep the latest state of a state key, in memory and in the store.
static void
s_save_state (sf_broker_t *self, const char *key, const char *data, size_t size)
{
    sf_store_blob_t *blob = (sf_store_blob_t *) zhashx_lookup (self->states, key);
    if (!blob) {
        blob = (sf_store_blob_t *) zmalloc (sizeof *blob);
        zhashx_insert (self->states, key, blob);
    }
    free (blob->data);
    blob->data = malloc (size? size: 1);
    if (!blob->data)
        abort ();
    memcpy (blob->data, data, size);
    blob->size = size;
    sf_error_t error;
    if (sf_store_state_saved (self->store, key, data, size, &error))
        sf_log_error ("broker: store could not record a state: %s", error.message);
}

//  Hand queued jobs to workers with free credit, one job to each in turn.
static void
s_dispatch (sf_broker_t *self)
{
    for (size_t q = 0; q < self->dirty.size; q++) {
        sf_queue_t *queue = (sf_queue_t *) self->dirty.items [q];
        queue->dirty = false;
        while (queue->depth > 0 && queue->worker_count > 0) {
            sf_wrec_t *worker = NULL;
            for (size_t tries = 0; tries < queue->worker_count; tries++) {
                sf_wrec_t *candidate = queue->workers [queue->turn];
                queue->turn = (queue->turn + 1) % queue->worker_count;
                if (candidate->inflight.size < candidate->slots) {
                    worker = candidate;
                    break;
                }
            }
            if (!worker)
                break;          //  Every worker is full
            sf_entry_t *entry = sf_queue_pop (queue);
            entry->state = SF_JOB_RUNNING;
            entry->attempt++;
            entry->worker = worker;
            entry->dispatched_us = self->now_us;
            entry->due_us = self->now_us + (int64_t) entry->timeout_ms * 1000;
            sf_timeq_push (self->timeq, entry);
            sf_entry_list_append (&worker->inflight, entry);
            queue->running++;
            if (!worker->flagged) {
                worker->flagged = true;
                sf_batchw_reset (&worker->out, 0);
                s_ptrs_push (&self->send_workers, worker);
            }
            sf_codec_pack_dispatch_head (&worker->out.packer, entry->id, entry->attempt,
                                         entry->timeout_ms);
            s_pack_job (self, &worker->out.packer, entry);
            sf_batchw_item (&worker->out);
            self->counters.dispatched++;
        }
    }
    self->dirty.size = 0;
}

//  Send each worker its staged DISPATCH. A worker that cannot be reached
//  (its connection is gone) is lost at once: its jobs go back to their
//  queues, and it is registered again when its READY comes. Returns the
//  number of workers lost.
static size_t
s_send_dispatches (sf_broker_t *self)
{
    s_ptrs_t unreachable = { NULL, 0, 0 };
    for (size_t i = 0; i < self->send_workers.size; i++) {
        sf_wrec_t *worker = (sf_wrec_t *) self->send_workers.items [i];
        worker->flagged = false;
        sf_batchw_finish (&worker->out);
        if (sf_msg_send (zsock_resolve (self->backend), worker->identity, worker->identity_size,
                         SF_CMD_DISPATCH, worker->out.buffer.data, worker->out.buffer.size))
            s_ptrs_push (&unreachable, worker);
    }
    self->send_workers.size = 0;
    for (size_t i = 0; i < unreachable.size; i++)
        s_worker_lost (self, (sf_wrec_t *) unreachable.items [i], "unreachable", true);
    free (unreachable.items);
    return unreachable.size;
}

static void s_group_send_stream (sf_broker_t *self, sf_group_t *group);
static void s_group_send_answer (sf_broker_t *self, sf_group_t *group);
static void s_group_join (sf_broker_t *self, sf_group_t *group, sf_crec_t *client,
                          uint64_t tag);

//  --------------------------------------------------------------------------
//  End of a pass: commit, acknowledge, dispatch, send.

static void
s_flush (sf_broker_t *self)
{
    sf_error_t error;
    bool committed = sf_store_commit (self->store, self->ledger, self->states,
                                      self->group_list, &error) == 0;
    if (!committed)
        sf_log_error ("broker: store commit failed: %s", error.message);

    s_ack_t *ack;
    while ((ack = (s_ack_t *) zlistx_detach (self->acks, NULL))) {
        sf_crec_t *client = ack->client;
        if (committed) {
            sf_msg_send (zsock_resolve (self->frontend), client->identity,
                         client->identity_size, SF_CMD_ACCEPTED, ack->body.data, ack->body.size);
            if (ack->join)
                s_group_join (self, ack->join, client, ack->tag);
        }
        else
            sf_msg_send_error (zsock_resolve (self->frontend), client->identity,
                               client->identity_size, ack->tag, &error);
        sf_clients_release (self->clients, &ack->client);
        s_ack_destructor ((void **) &ack);
    }

    //  Dispatch, then once more if a worker turned out to be unreachable
    //  and its jobs went back to their queues
    s_dispatch (self);
    if (s_send_dispatches (self)) {
        s_dispatch (self);
        s_send_dispatches (self);
    }

    for (size_t i = 0; i < self->send_groups.size; i++)
        s_group_send_stream (self, (sf_group_t *) self->send_groups.items [i]);
    self->send_groups.size = 0;
    for (size_t i = 0; i < self->send_answers.size; i++)
        s_group_send_answer (self, (sf_group_t *) self->send_answers.items [i]);
    self->send_answers.size = 0;

    for (size_t i = 0; i < self->send_clients.size; i++) {
        sf_crec_t *client = (sf_crec_t *) self->send_clients.items [i];
        client->flagged = false;
        if (client->out.count)
            s_send_results (self, client);
        sf_clients_release (self->clients, &client);
    }
    self->send_clients.size = 0;
    s_arm (self);
}

//  ==========================================================================
//  Client handlers

//  The queue of a job whose analyzer had no queue when it was validated:
//  its name is read again from the job's encoding. NULL at the limit.
static sf_queue_t *
s_queue_of_spec (sf_broker_t *self, sf_entry_t *entry)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object job;
    const char *why;
    sf_queue_t *queue = NULL;
    if (sf_mp_next (&unpacked, entry->spec, entry->spec_size, &offset, &job, NULL, NULL, &why) == 0) {
        const msgpack_object *name = sf_mp_get (&job, "analyzer");
        queue = s_queue_for (self, name->via.str.ptr, name->via.str.size);
    }
    msgpack_unpacked_destroy (&unpacked);
    return queue;
}

//  Would taking these jobs break a limit (jobs held in all, for one
//  analyzer, bytes held)? Fills error (BUSY) if so.
static int
s_over_limits (sf_broker_t *self, sf_entry_t **fresh, size_t count, size_t bytes,
               sf_error_t *error)
{
    const sf_broker_config_t *config = &self->config;
    if (self->unfinished + count > config->max_jobs)
        return sf_error_set (error, "BUSY", "the broker holds %zu unfinished jobs (limit %zu)",
                             self->unfinished, config->max_jobs);
    if (self->bytes_held + bytes > config->max_bytes)
        return sf_error_set (error, "BUSY", "the broker holds %zu bytes of jobs (limit %zu)",
                             self->bytes_held, config->max_bytes);
    for (size_t i = 0; i < count; i++)
        fresh [i]->queue->batch++;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        sf_queue_t *queue = fresh [i]->queue;
        if (queue->depth + queue->running + queue->batch > config->max_queued)
            rc = sf_error_set (error, "BUSY", "analyzer %s has %zu unfinished jobs (limit %zu)",
                               queue->name, queue->depth + queue->running, config->max_queued);
    }
    for (size_t i = 0; i < count; i++)
        fresh [i]->queue->batch = 0;
    return rc;
}

//  ERROR BUSY with a hint of when to try again: about as long as the
//  fleet takes to finish a tenth of what it holds, between 10 ms and 5 s.
static void
s_reply_busy (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, const sf_error_t *error)
{
    uint64_t retry_ms = self->unfinished / 10000;
    retry_ms = retry_ms < 10? 10: retry_ms > 5000? 5000: retry_ms;
    msgpack_packer *pk = s_reply_begin (self);
    msgpack_pack_map (pk, 4);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_kv_str (pk, "code", error->code);
    sf_mp_pack_kv_str (pk, "message", error->message);
    sf_mp_pack_kv_uint (pk, "retry_after_ms", retry_ms);
    s_reply_send (self, self->frontend, msg, SF_CMD_ERROR);
}

//  SUBMIT: validate the whole batch, then accept all of it or none.
static int
s_client_submit (sf_broker_t *self, sf_msg_t *msg)
{
    sf_error_t error;
    sf_batchr_t reader;
    sf_entry_t **fresh = NULL;          //  New entries, not yet in the ledger
    size_t fresh_count = 0;
    uint8_t (*ids) [SF_UUID_SIZE] = NULL;
    uint32_t count = 0;
    size_t deduplicated = 0;
    zhashx_t *batch_keys = NULL;        //  Keys new in this batch -> entry

    if (sf_batchr_open (&reader, sf_msg_data (msg), sf_msg_size (msg), 1,
                        SF_BATCH_MAX, &error))
        goto rejected;
    if (reader.count == 0) {
        sf_error_set (&error, "BAD_INPUT", "SUBMIT holds no jobs");
        goto rejected;
    }
    fresh = (sf_entry_t **) malloc (reader.count * sizeof *fresh);
    ids = malloc ((size_t) reader.count * SF_UUID_SIZE);
    if (!fresh || !ids)
        abort ();

    //  Validate every job before anything changes: a rejected batch leaves
    //  no trace (no queue, no key, no counter)
    msgpack_object job;
    const char *raw;
    size_t raw_size;
    int rc;
    while ((rc = sf_batchr_next (&reader, &job, NULL, &raw, &raw_size, &error)) == 0) {
        sf_jobspec_t spec;
        if (sf_codec_job_check (&job, &spec, &error)) {
            char why [sizeof error.message];
            snprintf (why, sizeof why, "%s", error.message);
            sf_error_set (&error, "BAD_INPUT", "job %u: %s", count, why);
            goto rejected;
        }
        if (spec.key) {
            sf_entry_t *known = sf_ledger_find_key (self->ledger, spec.key, spec.key_size);
            char key [SF_KEY_MAX + 1];
            memcpy (key, spec.key, spec.key_size);
            key [spec.key_size] = 0;
            if (!known && batch_keys)
                known = (sf_entry_t *) zhashx_lookup (batch_keys, key);
            if (known) {
                memcpy (ids [count++], known->id, SF_UUID_SIZE);
                deduplicated++;
                continue;
            }
        }
        sf_entry_t *entry = sf_entry_new (&spec, raw, raw_size, self->now_us);
        sf_uuid_v7 (entry->id);
        if (spec.key) {
            entry->key = strndup (spec.key, spec.key_size);
            if (!batch_keys)
                batch_keys = zhashx_new ();
            zhashx_insert (batch_keys, entry->key, entry);
        }
        //  An existing queue now; a new analyzer's queue once all is valid
        entry->queue = s_queue_find (self, spec.analyzer, spec.analyzer_size);
        fresh [fresh_count++] = entry;
        memcpy (ids [count++], entry->id, SF_UUID_SIZE);
    }
    if (rc < 0)
        goto rejected;
    size_t fresh_bytes = 0;
    for (size_t i = 0; i < fresh_count; i++) {
        if (!fresh [i]->queue && !(fresh [i]->queue = s_queue_of_spec (self, fresh [i]))) {
            sf_error_set (&error, "BUSY", "the broker already has %zu analyzer queues",
                          self->config.max_analyzers);
            goto rejected;
        }
        fresh_bytes += fresh [i]->spec_size;
    }
    if (s_over_limits (self, fresh, fresh_count, fresh_bytes, &error)) {
        self->counters.busy++;
        sf_log_debug ("broker: submit refused: %s", error.message);
        s_reply_busy (self, msg, reader.tag, &error);
        goto refused;
    }
    if (sf_store_accepted (self->store, fresh, fresh_count, &error))
        goto rejected;

    //  Accepted: into the ledger and the queues; acknowledged at commit
    sf_crec_t *client = sf_clients_hold (self->clients, zmq_msg_data (&msg->routing),
                                         zmq_msg_size (&msg->routing));
    for (size_t i = 0; i < fresh_count; i++) {
        sf_entry_t *entry = fresh [i];
        sf_ledger_insert (self->ledger, entry);
        sf_clients_ref (client);
        entry->client = client;
        sf_queue_push (entry->queue, entry);
        s_mark_dirty (self, entry->queue);
    }
    self->counters.submitted += fresh_count;
    self->counters.deduplicated += deduplicated;
    self->unfinished += fresh_count;
    self->bytes_held += fresh_bytes;
    self->pass_items += count;

    s_ack_t *ack = (s_ack_t *) zmalloc (sizeof *ack);
    ack->client = client;               //  The hold's reference
    ack->tag = reader.tag;
    msgpack_sbuffer_init (&ack->body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &ack->body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_uint (&pk, "tag", reader.tag);
    sf_mp_pack_str (&pk, "ids");
    msgpack_pack_array (&pk, count);
    for (uint32_t i = 0; i < count; i++) {
        msgpack_pack_bin (&pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (&pk, ids [i], SF_UUID_SIZE);
    }
    zlistx_add_end (self->acks, ack);
    sf_batchr_close (&reader);
    zhashx_destroy (&batch_keys);
    free (fresh);
    free (ids);
    return 0;

rejected:
    sf_log_debug ("broker: submit rejected: %s", error.message);
    s_reply_error (self->frontend, msg, reader.tag, &error);
refused:
    for (size_t i = 0; i < fresh_count; i++)
        sf_entry_destroy (&fresh [i]);
    sf_batchr_close (&reader);
    zhashx_destroy (&batch_keys);
    free (fresh);
    free (ids);
    return 0;
}

//  Decode a single-map request body into *body, valid until the caller
//  destroys unpacked (which this initialises). Returns 0, or -1 after
//  replying with an error (unpacked is then already released).
static int
s_request_map (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg,
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
        s_reply_error (socket, msg, 0, &error);
        self->counters.malformed++;
        msgpack_unpacked_destroy (unpacked);
        return -1;
    }
    return 0;
}

//  STATUS: queues, workers, counters.
static int
s_client_status (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (s_request_map (self, self->frontend, msg, &unpacked, &body))
        return 0;
    msgpack_packer *pk = s_reply_begin (self);
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "tag", sf_codec_tag (&body));
    msgpack_unpacked_destroy (&unpacked);

    sf_mp_pack_str (pk, "status");
    msgpack_pack_map (pk, 7);
    sf_mp_pack_kv_str (pk, "version", SF_VERSION);
    sf_mp_pack_kv_str (pk, "store", sf_store_name (self->store));
    sf_mp_pack_kv_uint (pk, "uptime_ms", (uint64_t) (self->now_us - self->started_us) / 1000);

    size_t queued = 0, running = 0;
    sf_mp_pack_str (pk, "queues");
    msgpack_pack_array (pk, zhashx_size (self->queues));
    for (sf_queue_t *queue = (sf_queue_t *) zhashx_first (self->queues); queue;
         queue = (sf_queue_t *) zhashx_next (self->queues)) {
        msgpack_pack_map (pk, 4);
        sf_mp_pack_kv_str (pk, "analyzer", queue->name);
        sf_mp_pack_kv_uint (pk, "queued", queue->depth);
        sf_mp_pack_kv_uint (pk, "running", queue->running);
        sf_mp_pack_kv_uint (pk, "workers", queue->worker_count);
        queued += queue->depth;
        running += queue->running;
    }
    sf_mp_pack_str (pk, "workers");
    msgpack_pack_array (pk, sf_registry_size (self->registry));
    for (sf_wrec_t *worker = sf_registry_first (self->registry); worker;
         worker = sf_registry_next (self->registry)) {
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
    sf_mp_pack_str (pk, "jobs");
    msgpack_pack_map (pk, 8);
    sf_mp_pack_kv_uint (pk, "queued", queued);
    sf_mp_pack_kv_uint (pk, "running", running);
    sf_mp_pack_kv_uint (pk, "retrying", self->delayed);
    sf_mp_pack_kv_uint (pk, "bytes_held", self->bytes_held);
    sf_mp_pack_kv_uint (pk, "finished_kept", sf_ledger_finished_count (self->ledger));
    sf_mp_pack_kv_uint (pk, "dead_letters", sf_ledger_dead_count (self->ledger));
    size_t answered = 0;
    for (sf_group_t *group = (sf_group_t *) zlistx_first (self->group_list); group;
         group = (sf_group_t *) zlistx_next (self->group_list))
        answered += group->answered;
    sf_mp_pack_kv_uint (pk, "groups_running", zlistx_size (self->group_list) - answered);
    sf_mp_pack_kv_uint (pk, "groups_kept", answered);

    const s_counters_t *c = &self->counters;
    sf_mp_pack_str (pk, "counters");
    msgpack_pack_map (pk, 13 + SF_STATUS_INVALID);
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
    sf_mp_pack_kv_uint (pk, "clients", sf_clients_size (self->clients));

    s_reply_send (self, self->frontend, msg, SF_CMD_STATUS_REPLY);
    return 0;
}

static void s_group_fetch (sf_broker_t *self, sf_msg_t *msg, sf_group_t *group,
                           uint64_t tag, bool wait);

//  FETCH: a finished job's result now; an unfinished one's state, or its
//  result when it finishes (wait).
static int
s_client_fetch (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (s_request_map (self, self->frontend, msg, &unpacked, &body))
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
        s_reply_error (self->frontend, msg, tag, &error);
        return 0;
    }
    sf_entry_t *entry = sf_ledger_find (self->ledger, id);
    char text [SF_ID_STRLEN + 1];
    sf_uuid_str (id, text);
    sf_group_t *group = entry? NULL: (sf_group_t *) zhashx_lookup (self->groups, id);
    if (group) {
        s_group_fetch (self, msg, group, tag, wait);
        return 0;
    }
    if (!entry) {
        sf_error_set (&error, "NOT_FOUND", "no job %s (unknown, or its result expired)", text);
        s_reply_error (self->frontend, msg, tag, &error);
        return 0;
    }
    const void *identity = zmq_msg_data (&msg->routing);
    size_t identity_size = zmq_msg_size (&msg->routing);
    if (entry->state == SF_JOB_FINISHED) {
        sf_crec_t *client = sf_clients_hold (self->clients, identity, identity_size);
        s_stage_result (self, client, entry);
        sf_clients_release (self->clients, &client);
    }
    else
    if (wait) {
        //  The submitter is sent the result anyway; anyone else waits
        if (!sf_clients_is (entry->client, identity, identity_size)) {
            zlistx_t *waiting = (zlistx_t *) zhashx_lookup (self->watchers, id);
            if (!waiting) {
                waiting = zlistx_new ();
                zhashx_insert (self->watchers, id, waiting);
            }
            sf_crec_t *client = sf_clients_hold (self->clients, identity, identity_size);
            if (zlistx_find (waiting, client))
                sf_clients_release (self->clients, &client);    //  Waits already
            else
                zlistx_add_end (waiting, client);
        }
    }
    else {
        msgpack_packer *pk = s_reply_begin (self);
        msgpack_pack_map (pk, 3);
        sf_mp_pack_kv_uint (pk, "tag", tag);
        sf_mp_pack_str (pk, "id");
        msgpack_pack_bin (pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (pk, id, SF_UUID_SIZE);
        sf_mp_pack_kv_str (pk, "state", entry->state == SF_JOB_QUEUED? "queued":
                                        entry->state == SF_JOB_DELAYED? "retrying": "running");
        s_reply_send (self, self->frontend, msg, SF_CMD_STATE);
    }
    return 0;
}

//  CANCEL {tag, ids}: end each unfinished job now with status cancelled; a
//  group id cancels every unfinished item of the group.
//  Replies {tag, items: [{id, outcome}]}, outcome "cancelled", "finished"
//  (too late: the job keeps its status) or "unknown".
static int
s_client_cancel (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (s_request_map (self, self->frontend, msg, &unpacked, &body))
        return 0;
    uint64_t tag = sf_codec_tag (&body);
    const msgpack_object *ids = sf_mp_get (&body, "ids");
    if (!ids || ids->type != MSGPACK_OBJECT_ARRAY || ids->via.array.size == 0
    ||  ids->via.array.size > SF_BATCH_MAX) {
        sf_error_t error;
        sf_error_set (&error, "PROTOCOL", "CANCEL needs \"ids\", a list of 1-%d job ids",
                      SF_BATCH_MAX);
        s_reply_error (self->frontend, msg, tag, &error);
        msgpack_unpacked_destroy (&unpacked);
        return 0;
    }
    //  Outcomes first (cancelling a running job uses the reply buffer),
    //  then the reply
    size_t count = ids->via.array.size;
    char *outcome = (char *) malloc (count);
    if (!outcome)
        abort ();
    for (size_t i = 0; i < count; i++) {
        uint8_t id [SF_UUID_SIZE];
        bool valid = sf_codec_id (&ids->via.array.ptr [i], id) == 0;
        sf_entry_t *entry = valid? sf_ledger_find (self->ledger, id): NULL;
        sf_group_t *group = valid && !entry? (sf_group_t *) zhashx_lookup (self->groups, id):
                                             NULL;
        if (entry)
            outcome [i] = s_cancel_entry (self, entry, SF_STATUS_CANCELLED) == 0? 'c': 'f';
        else
            outcome [i] = !group? 'u': s_group_cancel (self, group) == 0? 'c': 'f';
    }
    self->pass_items += count;
    msgpack_packer *pk = s_reply_begin (self);
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
    s_reply_send (self, self->frontend, msg, SF_CMD_CANCEL_REPLY);
    free (outcome);
    msgpack_unpacked_destroy (&unpacked);
    return 0;
}

//  One dead letter: id, analyzer, attempts, the error it ended with and,
//  in detail, the history of its failed attempts.
static void
s_pack_dead (sf_broker_t *self, msgpack_packer *pk, sf_entry_t *entry, bool detail)
{
    msgpack_pack_map (pk, detail? 7: 6);
    char id [SF_ID_STRLEN + 1];
    sf_uuid_str (entry->id, id);
    sf_mp_pack_kv_str (pk, "id", id);
    sf_mp_pack_kv_str (pk, "analyzer", entry->queue->name);
    sf_mp_pack_kv_uint (pk, "attempts", entry->attempt);
    sf_mp_pack_kv_uint (pk, "worker_losses", entry->losses);
    sf_mp_pack_kv_uint (pk, "dead_for_ms", (uint64_t) (self->now_us - entry->finished_us) / 1000);
    sf_mp_pack_str (pk, "error");
    msgpack_sbuffer_write (pk->data, entry->payload, entry->payload_size);
    if (detail) {
        sf_mp_pack_str (pk, "history");
        msgpack_pack_array (pk, entry->history_count);
        msgpack_sbuffer_write (pk->data, entry->history, entry->history_size);
    }
}

//  Run a dead letter again: back in its queue with its retries renewed.
//  Its result goes to those who wait for it (FETCH with wait).
static void
s_revive (sf_broker_t *self, sf_entry_t *entry)
{
    sf_ledger_revive (self->ledger, entry);
    sf_error_t error;
    if (sf_store_revived (self->store, entry, &error))
        sf_log_error ("broker: store could not record a retry: %s", error.message);
    free (entry->payload);
    entry->payload = NULL;
    entry->payload_size = 0;
    entry->failures = 0;
    entry->losses = 0;
    self->unfinished++;
    self->bytes_held += entry->spec_size;
    sf_queue_push (entry->queue, entry);
    s_mark_dirty (self, entry->queue);
}

//  DEAD {tag, op, id?}: the dead letters. op "list" (all, oldest first),
//  "show" (one, with its history), "retry" (one, or all without id),
//  "purge" (one, or all without id). Replies {tag, dead: [...]} for list
//  and show, {tag, count} for retry and purge.
static int
s_client_dead (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (s_request_map (self, self->frontend, msg, &unpacked, &body))
        return 0;
    uint64_t tag = sf_codec_tag (&body);
    char op [8] = "";
    uint8_t id [SF_UUID_SIZE];
    const msgpack_object *id_field = sf_mp_get (&body, "id");
    bool has_id = id_field && id_field->type != MSGPACK_OBJECT_NIL;
    int id_rc = has_id? sf_codec_id (id_field, id): 0;
    sf_mp_strcpy (sf_mp_get (&body, "op"), op, sizeof op);
    msgpack_unpacked_destroy (&unpacked);

    sf_error_t error;
    bool listing = streq (op, "list") || streq (op, "show");
    if (!listing && !streq (op, "retry") && !streq (op, "purge")) {
        sf_error_set (&error, "PROTOCOL", "DEAD needs \"op\": list, show, retry or purge");
        s_reply_error (self->frontend, msg, tag, &error);
        return 0;
    }
    if (id_rc || (streq (op, "show") && !has_id)) {
        sf_error_set (&error, "PROTOCOL", "DEAD %s needs \"id\", 16 bytes", op);
        s_reply_error (self->frontend, msg, tag, &error);
        return 0;
    }
    sf_entry_t *entry = has_id? sf_ledger_find (self->ledger, id): NULL;
    if (has_id && (!entry || entry->state != SF_JOB_FINISHED || entry->status != SF_STATUS_DEAD)) {
        char text [SF_ID_STRLEN + 1];
        sf_uuid_str (id, text);
        sf_error_set (&error, "NOT_FOUND", "no dead letter %s", text);
        s_reply_error (self->frontend, msg, tag, &error);
        return 0;
    }
    msgpack_packer *pk = s_reply_begin (self);
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    if (listing) {
        sf_mp_pack_str (pk, "dead");
        if (entry) {
            msgpack_pack_array (pk, 1);
            s_pack_dead (self, pk, entry, true);
        }
        else {
            msgpack_pack_array (pk, sf_ledger_dead_count (self->ledger));
            for (entry = sf_ledger_dead_first (self->ledger); entry; entry = entry->next)
                s_pack_dead (self, pk, entry, false);
        }
    }
    else {
        bool retry = streq (op, "retry");
        size_t count = 0;
        sf_entry_t *next = entry? NULL: sf_ledger_dead_first (self->ledger);
        for (entry = entry? entry: next; entry; entry = next) {
            next = has_id? NULL: entry->next;
            if (retry)
                s_revive (self, entry);
            else {
                if (sf_store_forgotten (self->store, entry, &error))
                    sf_log_error ("broker: store could not record a purge: %s", error.message);
                sf_ledger_forget (self->ledger, entry);
            }
            count++;
        }
        sf_mp_pack_kv_uint (pk, "count", count);
        sf_log_info ("broker: %s %zu dead letters", retry? "retried": "purged", count);
    }
    s_reply_send (self, self->frontend, msg, SF_CMD_DEAD_REPLY);
    return 0;
}

//  ==========================================================================
//  Worker handlers

//  Jobs a (re)registering worker holds that are no longer its own were
//  cancelled, timed out or given to another worker while it was away: it
//  is told to stop them, so a cancel reaches a worker that was gone.
static void
s_stop_strays (sf_broker_t *self, sf_wrec_t *worker, const msgpack_object *holding)
{
    if (!holding || holding->via.array.size == 0)
        return;
    msgpack_packer *pk = s_reply_begin (self);
    uint32_t strays = 0;
    for (uint32_t i = 0; i < holding->via.array.size; i++) {
        uint8_t id [SF_UUID_SIZE];
        sf_entry_t *entry = sf_codec_id (&holding->via.array.ptr [i], id) == 0?
                            sf_ledger_find (self->ledger, id): NULL;
        if (!entry || entry->worker != worker)
            strays++;
    }
    if (strays == 0)
        return;
    msgpack_pack_map (pk, 1);
    sf_mp_pack_str (pk, "ids");
    msgpack_pack_array (pk, strays);
    for (uint32_t i = 0; i < holding->via.array.size; i++) {
        uint8_t id [SF_UUID_SIZE];
        if (sf_codec_id (&holding->via.array.ptr [i], id))
            continue;
        sf_entry_t *entry = sf_ledger_find (self->ledger, id);
        if (!entry || entry->worker != worker) {
            msgpack_pack_bin (pk, SF_UUID_SIZE);
            msgpack_pack_bin_body (pk, id, SF_UUID_SIZE);
        }
    }
    sf_msg_send (zsock_resolve (self->backend), worker->identity, worker->identity_size,
                 SF_CMD_STOP, self->reply.data, self->reply.size);
}

//  READY {name, slots, analyzers: [{name, version}]}: (re)register.
static int
s_worker_ready (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (s_request_map (self, self->backend, msg, &unpacked, &body))
        return 0;
    sf_error_t error;
    char name [SF_NAME_MAX + 1];
    uint64_t slots;
    const msgpack_object *analyzers = sf_mp_get (&body, "analyzers");
    const msgpack_object *holding = sf_mp_get (&body, "holding");
    if (sf_mp_strcpy (sf_mp_get (&body, "name"), name, sizeof name))
        sf_error_set (&error, "PROTOCOL", "READY needs \"name\", 1-64 characters");
    else
    if (sf_mp_uint (sf_mp_get (&body, "slots"), SF_BATCH_MAX, &slots) || slots == 0)
        sf_error_set (&error, "PROTOCOL", "READY needs \"slots\", 1-%d", SF_BATCH_MAX);
    else
    if (!analyzers || analyzers->type != MSGPACK_OBJECT_ARRAY
    ||  analyzers->via.array.size == 0 || analyzers->via.array.size > 1024)
        sf_error_set (&error, "PROTOCOL", "READY needs \"analyzers\", a list of 1-1024");
    else
    if (holding && holding->type != MSGPACK_OBJECT_ARRAY)
        sf_error_set (&error, "PROTOCOL", "READY \"holding\" must be a list of job ids");
    else {
        error.code [0] = 0;
        for (uint32_t i = 0; i < analyzers->via.array.size && !error.code [0]; i++) {
            const msgpack_object *item = &analyzers->via.array.ptr [i];
            const msgpack_object *analyzer = sf_mp_get (item, "name");
            char version [SF_NAME_MAX + 1];
            if (!analyzer || analyzer->type != MSGPACK_OBJECT_STR
            ||  !sf_codec_name_valid (analyzer->via.str.ptr, analyzer->via.str.size)
            ||  sf_mp_strcpy (sf_mp_get (item, "version"), version, sizeof version))
                sf_error_set (&error, "PROTOCOL",
                              "READY analyzer %u needs a valid \"name\" and \"version\"", i);
        }
    }
    if (error.code [0]) {
        msgpack_unpacked_destroy (&unpacked);
        self->counters.malformed++;
        s_reply_error (self->backend, msg, 0, &error);
        return 0;
    }
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
                s_requeue (self, worker, entry);
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
        sf_queue_t *queue = s_queue_for (self, analyzer->via.str.ptr, analyzer->via.str.size);
        if (!queue)
            continue;           //  Over the analyzer limit: not served here
        char version [SF_NAME_MAX + 1];
        sf_mp_strcpy (sf_mp_get (item, "version"), version, sizeof version);
        sf_registry_serve (worker, queue, version);
        sf_queue_add_worker (queue, worker);
        s_mark_dirty (self, queue);
    }
    msgpack_unpacked_destroy (&unpacked);
    worker->last_seen_us = self->now_us;
    worker->expires_us = self->now_us
                       + (int64_t) self->config.heartbeat_ms * self->config.liveness * 1000;
    sf_log_info ("broker: worker ready (worker=%s analyzers=%zu slots=%u)",
                 worker->name, worker->queue_count, worker->slots);
    return 0;
}

//  Tell an unregistered worker to register again (Majordomo's answer to a
//  peer the broker does not know).
static void
s_send_disconnect (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_packer *pk = s_reply_begin (self);
    msgpack_pack_nil (pk);
    s_reply_send (self, self->backend, msg, SF_CMD_DISCONNECT);
}

//  An analyzer's error, for a job that may be retried: a transient code is
//  retried while retries are left; any other code is final.
static void
s_result_failed (sf_broker_t *self, sf_entry_t *entry, sf_wrec_t *worker, uint64_t run_us,
                 const char *raw, size_t raw_size)
{
    char code [32] = "UNKNOWN", message [256] = "";
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why;
    if (sf_mp_next (&unpacked, raw, raw_size, &offset, &map, NULL, NULL, &why) == 0) {
        sf_mp_strcpy (sf_mp_get (&map, "code"), code, sizeof code);
        sf_mp_strcpy (sf_mp_get (&map, "message"), message, sizeof message);
    }
    msgpack_unpacked_destroy (&unpacked);
    if (s_transient (code))
        s_attempt_failed (self, entry, worker->name, code, message, SF_STATUS_ERROR, run_us,
                          raw, raw_size);
    else
        s_finish (self, entry, SF_STATUS_ERROR, worker->name, run_us, raw, raw_size);
}

//  RESULTS: accept each result that matches its job's current lease.
static int
s_worker_results (sf_broker_t *self, sf_msg_t *msg)
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
        sf_entry_t *entry = sf_ledger_find (self->ledger, id);
        if (!worker || !entry || entry->state != SF_JOB_RUNNING
        ||  entry->attempt != attempt || entry->worker != worker) {
            self->counters.late++;
            continue;
        }
        sf_entry_list_remove (&worker->inflight, entry);
        sf_timeq_remove (self->timeq, entry);
        entry->worker = NULL;
        entry->queue->running--;
        worker->done++;
        self->pass_items++;
        const char *state;
        size_t state_size;
        if (status == SF_STATUS_OK && entry->state_key
        &&  sf_codec_read_outcome_state (&head, &state, &state_size) == 0 && state)
            s_save_state (self, entry->state_key, state, state_size);
        if (status == SF_STATUS_ERROR && entry->retries > 0)
            s_result_failed (self, entry, worker, run_us, raw, raw_size);
        else
            s_finish (self, entry, status, worker->name, run_us, raw, raw_size);
    }
    if (rc < 0) {
        //  Results before the bad item were taken; the jobs of the rest stay
        //  in flight until the worker registers again or is lost
        self->counters.malformed++;
        sf_log_warning ("broker: malformed RESULTS: %s", error.message);
        s_reply_error (self->backend, msg, 0, &error);
    }
    sf_batchr_close (&reader);
    if (!worker)
        s_send_disconnect (self, msg);
    else
        for (size_t i = 0; i < worker->queue_count; i++)
            s_mark_dirty (self, worker->queues [i]);    //  It has credit again
    return 0;
}

//  HEARTBEAT: liveness was refreshed on receipt; an unknown worker is told
//  to register.
static int
s_worker_heartbeat (sf_broker_t *self, sf_msg_t *msg)
{
    if (!sf_registry_find (self->registry, zmq_msg_data (&msg->routing),
                           zmq_msg_size (&msg->routing)))
        s_send_disconnect (self, msg);
    return 0;
}

//  DISCONNECT: the worker leaves; its jobs go back to their queues.
static int
s_worker_disconnect (sf_broker_t *self, sf_msg_t *msg)
{
    sf_wrec_t *worker = sf_registry_find (self->registry, zmq_msg_data (&msg->routing),
                                          zmq_msg_size (&msg->routing));
    if (worker)
        s_worker_lost (self, worker, "disconnected", false);
    return 0;
}

//  LOST {name, reason}: a supervisor saw the worker process called name
//  die (killed by a signal, or a non-zero exit). Every registration under
//  that name is lost at once, as a death: its jobs count the loss, and a
//  poison job's dead letter says why (the crash signature). The sender is
//  usually not a registered worker; nothing is answered unless the body is
//  malformed. Rare, so the registry is scanned.
static int
s_worker_lost_report (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (s_request_map (self, self->backend, msg, &unpacked, &body))
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
        s_reply_error (self->backend, msg, 0, &error);
        return 0;
    }
    s_ptrs_t lost = { NULL, 0, 0 };
    for (sf_wrec_t *worker = sf_registry_first (self->registry); worker;
         worker = sf_registry_next (self->registry))
        if (streq (worker->name, name))
            s_ptrs_push (&lost, worker);
    if (lost.size == 0)
        sf_log_info ("broker: a supervisor reports a worker that is not registered "
                     "(worker=%s reason=%s)", name, reason);
    for (size_t i = 0; i < lost.size; i++)
        s_worker_lost (self, (sf_wrec_t *) lost.items [i], reason, true);
    free (lost.items);
    return 0;
}

//  ==========================================================================
//  Groups (sf_group): one GROUP message submits every job of a group; the
//  broker fans them out, gathers their results and answers once.

static void
s_group_destructor (void **item)
{
    sf_group_destroy ((sf_group_t **) item);
}

//  Send a stream group's staged GROUP_ITEM.
static void
s_group_send_stream (sf_broker_t *self, sf_group_t *group)
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

//  A decided group is answered: recorded now, sent at the end of the pass.
static void
s_group_answer (sf_broker_t *self, sf_group_t *group)
{
    group->answered = true;
    group->answered_us = self->now_us;
    self->group_items_kept += group->total;
    sf_error_t error;
    if (sf_store_group_answered (self->store, group, &error))
        sf_log_error ("broker: store could not record a group's answer: %s", error.message);
    s_ptrs_push (&self->send_answers, group);
}

//  Send an answered group's last stream items and its GROUP_RESULT to its
//  client and its waiters: at flush, after the commit that made the
//  results in it durable.
static void
s_group_send_answer (sf_broker_t *self, sf_group_t *group)
{
    if (group->stream)
        s_group_send_stream (self, group);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    if (group->client) {
        sf_group_pack_answer (group, group->tag, !group->opts.stream, &body);
        if (sf_msg_send (zsock_resolve (self->frontend), group->client->identity,
                         group->client->identity_size, SF_CMD_GROUP_RESULT, body.data, body.size))
            self->counters.undelivered++;
        sf_clients_release (self->clients, &group->client);
    }
    while (group->waiters && zlistx_size (group->waiters)) {
        sf_group_waiter_t *waiter = (sf_group_waiter_t *) zlistx_first (group->waiters);
        msgpack_sbuffer_clear (&body);
        sf_group_pack_answer (group, waiter->tag, true, &body);
        if (sf_msg_send (zsock_resolve (self->frontend), waiter->client->identity,
                         waiter->client->identity_size, SF_CMD_GROUP_RESULT, body.data,
                         body.size))
            self->counters.undelivered++;
        sf_clients_release (self->clients, &waiter->client);
        zlistx_delete (group->waiters, zlistx_cursor (group->waiters));
    }
    msgpack_sbuffer_destroy (&body);
    char text [SF_ID_STRLEN + 1];
    sf_uuid_str (group->id, text);
    sf_log_debug ("broker: group answered (group=%s state=%s ok=%u of %u)", text,
                  sf_group_state_name (group->state), group->counts [SF_STATUS_OK], group->total);
}

//  Queue the chord with the gathered results as its params.results.
static void
s_group_launch_chord (sf_broker_t *self, sf_group_t *group)
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
    sf_error_t error;
    if (sf_store_accepted (self->store, &entry, 1, &error)
    ||  sf_store_group_launched (self->store, group, &error))
        sf_log_error ("broker: store could not record a chord: %s", error.message);
    sf_ledger_insert (self->ledger, entry);
    group->launched = true;
    self->unfinished++;
    self->bytes_held += entry->spec_size;
    sf_queue_push (entry->queue, entry);
    s_mark_dirty (self, entry->queue);
    self->counters.submitted++;
}

//  A group was decided: cancel what is unfinished, then run the chord
//  (when the group succeeded) or answer.
static void
s_group_decided (sf_broker_t *self, sf_group_t *group)
{
    if (group->deadline_handle) {
        zlistx_delete (self->group_deadlines, group->deadline_handle);
        group->deadline_handle = NULL;
    }
    sf_status_t status = group->state == SF_GROUP_TIMEOUT? SF_STATUS_TIMEOUT
                                                         : SF_STATUS_CANCELLED;
    for (uint32_t i = 0; i < group->total && group->finished < group->total; i++)
        s_cancel_entry (self, group->items [i], status);
    if (group->then && group->state == SF_GROUP_OK)
        s_group_launch_chord (self, group);
    else
        s_group_answer (self, group);
}

//  The s_finish hook: an entry of a group has its final status.
static void
s_group_item_finished (sf_broker_t *self, sf_entry_t *entry)
{
    sf_group_t *group = entry->group;
    if (entry == group->then) {
        s_group_answer (self, group);
        return;
    }
    bool decided = sf_group_item_done (group, entry);
    if (group->stream && group->client) {
        sf_group_stream_item (group, entry);
        if (group->stream->count == SF_BATCH_MAX)
            s_group_send_stream (self, group);
        else
        if (!group->flagged) {
            group->flagged = true;
            s_ptrs_push (&self->send_groups, group);
        }
    }
    if (decided)
        s_group_decided (self, group);
}

//  End a running group on request: every unfinished item is cancelled and
//  the group answers with state cancelled. Returns 0, or -1 when the group
//  was decided already.
static int
s_group_cancel (sf_broker_t *self, sf_group_t *group)
{
    if (!sf_group_end (group, SF_GROUP_CANCELLED))
        return -1;
    s_group_decided (self, group);
    return 0;
}

//  FETCH of a group id: the whole answer when decided and answered; else
//  its state now, or the answer later (wait).
static void
s_group_fetch (sf_broker_t *self, sf_msg_t *msg, sf_group_t *group, uint64_t tag, bool wait)
{
    const void *identity = zmq_msg_data (&msg->routing);
    size_t identity_size = zmq_msg_size (&msg->routing);
    if (group->answered) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        sf_group_pack_answer (group, tag, true, &body);
        if (sf_msg_send (zsock_resolve (self->frontend), identity, identity_size,
                         SF_CMD_GROUP_RESULT, body.data, body.size))
            self->counters.undelivered++;
        msgpack_sbuffer_destroy (&body);
    }
    else
    if (wait) {
        sf_crec_t *client = sf_clients_hold (self->clients, identity, identity_size);
        if (client && !sf_group_wait (group, client, 0))
            sf_clients_release (self->clients, &client);
    }
    else {
        msgpack_packer *pk = s_reply_begin (self);
        msgpack_pack_map (pk, 4);
        sf_mp_pack_kv_uint (pk, "tag", tag);
        sf_mp_pack_str (pk, "id");
        msgpack_pack_bin (pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (pk, group->id, SF_UUID_SIZE);
        sf_mp_pack_kv_str (pk, "state", "running");
        sf_mp_pack_str (pk, "group");
        msgpack_pack_true (pk);
        s_reply_send (self, self->frontend, msg, SF_CMD_STATE);
    }
}

//  A GROUP whose key named this group was acknowledged: answer it with
//  its own tag and every item, now if the group has answered, else when
//  it does.
static void
s_group_join (sf_broker_t *self, sf_group_t *group, sf_crec_t *client, uint64_t tag)
{
    if (group->answered) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        sf_group_pack_answer (group, tag, true, &body);
        if (sf_msg_send (zsock_resolve (self->frontend), client->identity,
                         client->identity_size, SF_CMD_GROUP_RESULT, body.data, body.size))
            self->counters.undelivered++;
        msgpack_sbuffer_destroy (&body);
        return;
    }
    sf_clients_ref (client);
    if (!sf_group_wait (group, client, tag))
        sf_clients_release (self->clients, &client);
}

//  Time out running groups whose deadline has passed.
static void
s_groups_tick (sf_broker_t *self)
{
    //  Deciding a group takes it off the list: start over after each
    sf_group_t *group = (sf_group_t *) zlistx_first (self->group_deadlines);
    while (group) {
        if (self->now_us >= group->deadline_us && sf_group_end (group, SF_GROUP_TIMEOUT)) {
            s_group_decided (self, group);
            group = (sf_group_t *) zlistx_first (self->group_deadlines);
        }
        else
            group = (sf_group_t *) zlistx_next (self->group_deadlines);
    }
}

//  Forget answered groups, oldest first, while the items they keep are more
//  than --result-max (the newest is always kept) or once they are older
//  than --result-ttl. Their entries go with them.
static void
s_groups_purge (sf_broker_t *self)
{
    sf_group_t *group = (sf_group_t *) zlistx_first (self->group_list);
    while (group) {
        void *handle = zlistx_cursor (self->group_list);
        bool last = zlistx_next (self->group_list) == NULL;
        bool expired = self->now_us - group->answered_us
                     > (int64_t) self->config.result_ttl_ms * 1000;
        if (group->answered
        &&  (expired || (self->group_items_kept > self->config.result_max && !last))) {
            self->group_items_kept -= group->total;
            sf_error_t error;
            if (sf_store_group_forgotten (self->store, group, &error))
                sf_log_error ("broker: store could not record a forgotten group: %s",
                              error.message);
            for (uint32_t i = 0; i < group->total; i++)
                sf_ledger_forget (self->ledger, group->items [i]);
            if (group->launched)
                sf_ledger_forget (self->ledger, group->then);
            zlistx_delete (self->group_list, handle);
            if (group->key)
                zhashx_delete (self->group_keys, group->key);
            zhashx_delete (self->groups, group->id);
            //  The list's cursor went with the item: start over
            group = (sf_group_t *) zlistx_first (self->group_list);
        }
        else
            group = (sf_group_t *) zlistx_item (self->group_list);
    }
}

//  Acknowledge a GROUP (tag) with group's id and item ids, after the
//  store commit; join: the GROUP named group by its key, and is answered
//  from it.
static void
s_group_ack (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, sf_group_t *group, bool join)
{
    s_ack_t *ack = (s_ack_t *) zmalloc (sizeof *ack);
    ack->client = sf_clients_hold (self->clients, zmq_msg_data (&msg->routing),
                                   zmq_msg_size (&msg->routing));
    ack->tag = tag;
    ack->join = join? group: NULL;
    msgpack_sbuffer_init (&ack->body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &ack->body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_uint (&pk, "tag", tag);
    sf_mp_pack_str (&pk, "group");
    msgpack_pack_bin (&pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&pk, group->id, SF_UUID_SIZE);
    sf_mp_pack_str (&pk, "ids");
    msgpack_pack_array (&pk, group->total);
    for (uint32_t i = 0; i < group->total; i++) {
        msgpack_pack_bin (&pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (&pk, group->items [i]->id, SF_UUID_SIZE);
    }
    zlistx_add_end (self->acks, ack);
}

//  GROUP: validate the whole batch like SUBMIT, then accept the group whole
//  or not at all. Jobs of a group are ordinary entries in the ledger, the
//  store and the queues; their results go to the group, not the client.
static int
s_client_group (sf_broker_t *self, sf_msg_t *msg)
{
    sf_error_t error;
    sf_batchr_t reader;
    sf_group_opts_t opts;
    sf_entry_t **fresh = NULL;
    uint32_t count = 0;
    sf_group_t *group = NULL;
    char key [SF_KEY_MAX + 1];          //  The key, out of the header's buffer

    if (sf_batchr_open (&reader, sf_msg_data (msg), sf_msg_size (msg), 1,
                        SF_BATCH_MAX, &error))
        goto rejected;
    {
        //  The header again, for the group's options (the reader took tag and n)
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        msgpack_object header;
        const char *why;
        sf_mp_next (&unpacked, sf_msg_data (msg), sf_msg_size (msg), &offset, &header,
                    NULL, NULL, &why);
        int rc = sf_codec_read_group_opts (&header, &opts, &error);
        if (rc == 0 && opts.key) {
            memcpy (key, opts.key, opts.key_size);
            key [opts.key_size] = 0;
            opts.key = key;
        }
        msgpack_unpacked_destroy (&unpacked);
        if (rc)
            goto rejected;
    }
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
    fresh = (sf_entry_t **) malloc (reader.count * sizeof *fresh);
    if (!fresh)
        abort ();
    msgpack_object job;
    const char *raw;
    size_t raw_size;
    int rc;
    while ((rc = sf_batchr_next (&reader, &job, NULL, &raw, &raw_size, &error)) == 0) {
        sf_jobspec_t spec;
        if (sf_codec_job_check (&job, &spec, &error)) {
            char why [sizeof error.message];
            snprintf (why, sizeof why, "%s", error.message);
            sf_error_set (&error, "BAD_INPUT", "job %u: %s", count, why);
            goto rejected;
        }
        if (spec.key) {
            //  A key would make an item another job's: not in a group
            sf_error_set (&error, "BAD_INPUT", "job %u: a job in a group has no \"key\"", count);
            goto rejected;
        }
        if (spec.then) {
            //  A group gathers its items' results; the chord runs after them
            sf_error_set (&error, "BAD_INPUT", "job %u: a job in a group has no \"then\"",
                          count);
            goto rejected;
        }
        sf_entry_t *entry = sf_entry_new (&spec, raw, raw_size, self->now_us);
        entry->queue = s_queue_find (self, spec.analyzer, spec.analyzer_size);
        fresh [count++] = entry;
    }
    if (rc < 0)
        goto rejected;
    if (opts.key) {
        //  A key the broker knows: the group it names answers this GROUP too
        sf_group_t *known = (sf_group_t *) zhashx_lookup (self->group_keys, key);
        if (known) {
            self->counters.deduplicated++;
            s_group_ack (self, msg, reader.tag, known, true);
            sf_log_debug ("broker: group answered by its key (key=%s)", key);
            goto refused;
        }
    }
    for (uint32_t i = 0; i < count; i++)
        if (!fresh [i]->queue && !(fresh [i]->queue = s_queue_of_spec (self, fresh [i]))) {
            sf_error_set (&error, "BUSY", "the broker already has %zu analyzer queues",
                          self->config.max_analyzers);
            goto rejected;
        }
    size_t bytes = 0;
    for (uint32_t i = 0; i < total; i++) {
        sf_uuid_v7 (fresh [i]->id);
        bytes += fresh [i]->spec_size;
    }
    if (s_over_limits (self, fresh, total, bytes, &error)) {
        self->counters.busy++;
        s_reply_busy (self, msg, reader.tag, &error);
        goto refused;
    }
    if (sf_store_accepted (self->store, fresh, total, &error))
        goto rejected;

    //  Accepted: the group, its entries in the ledger and the queues
    group = sf_group_new (&opts, reader.tag, total, self->now_us);
    group->client = sf_clients_hold (self->clients, zmq_msg_data (&msg->routing),
                                     zmq_msg_size (&msg->routing));
    for (uint32_t i = 0; i < total; i++) {
        sf_entry_t *entry = fresh [i];
        entry->group = group;
        entry->index = i;
        group->items [i] = entry;
        sf_ledger_insert (self->ledger, entry);
        sf_queue_push (entry->queue, entry);
        s_mark_dirty (self, entry->queue);
    }
    if (opts.then) {
        group->then = fresh [total];
        group->then->group = group;
        group->then->index = total;
    }
    //  In the same commit as its items: the ack waits for both
    if (sf_store_group_accepted (self->store, group, &error))
        sf_log_error ("broker: store could not record a group: %s", error.message);
    zhashx_insert (self->groups, group->id, group);
    if (group->key)
        zhashx_insert (self->group_keys, group->key, group);
    zlistx_add_end (self->group_list, group);
    if (group->deadline_us)
        group->deadline_handle = zlistx_add_end (self->group_deadlines, group);
    self->counters.submitted += total;
    self->unfinished += total;
    self->bytes_held += bytes;
    self->pass_items += count;

    s_group_ack (self, msg, reader.tag, group, false);
    sf_batchr_close (&reader);
    free (fresh);
    return 0;

rejected:
    sf_log_debug ("broker: group rejected: %s", error.message);
    s_reply_error (self->frontend, msg, reader.tag, &error);
refused:
    for (uint32_t i = 0; i < count; i++)
        sf_entry_destroy (&fresh [i]);
    sf_batchr_close (&reader);
    free (fresh);
    return 0;
}

//  ==========================================================================
//  Readers and timers

//  Drain one socket through its routing table, then flush.
static int
s_read (sf_broker_t *self, zsock_t *socket, const s_route_t *routes, bool backend)
{
    self->now_us = s_now_us ();
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
                s_reply_error (socket, msg, 0, &error);
            continue;
        }
        if (backend) {
            sf_wrec_t *worker = sf_registry_find (self->registry, zmq_msg_data (&msg->routing),
                                                  zmq_msg_size (&msg->routing));
            if (worker) {
                worker->last_seen_us = self->now_us;
                worker->expires_us = self->now_us
                    + (int64_t) self->config.heartbeat_ms * self->config.liveness * 1000;
            }
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
            s_reply_error (socket, msg, 0, &error);
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

//  Heartbeat duty: expire silent workers, send a heartbeat to the others.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    self->now_us = s_now_us ();
    s_ptrs_t expired = { NULL, 0, 0 };
    msgpack_sbuffer_clear (&self->reply);
    msgpack_pack_nil (&self->reply_pk);
    for (sf_wrec_t *worker = sf_registry_first (self->registry); worker;
         worker = sf_registry_next (self->registry)) {
        if (self->now_us > worker->expires_us)
            s_ptrs_push (&expired, worker);
        else
            sf_msg_send (zsock_resolve (self->backend), worker->identity, worker->identity_size,
                         SF_CMD_HEARTBEAT, self->reply.data, self->reply.size);
    }
    for (size_t i = 0; i < expired.size; i++)
        s_worker_lost (self, (sf_wrec_t *) expired.items [i], "heartbeat expired", true);
    free (expired.items);
    s_flush (self);
    return 0;
}

//  Purge duty: evict finished results past their count or age limit.
static int
s_purge_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    self->now_us = s_now_us ();
    size_t evicted = sf_ledger_purge (self->ledger, self->now_us);
    s_groups_purge (self);
    if (evicted)
        sf_log_debug ("broker: evicted %zu finished results", evicted);
    return 0;
}

//  Group duty: time out groups past their deadline.
static int
s_group_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_broker_t *self = (sf_broker_t *) arg;
    if (!zlistx_size (self->group_deadlines))
        return 0;
    self->now_us = s_now_us ();
    s_groups_tick (self);
    s_flush (self);
    return 0;
}

//  ==========================================================================
//  Construction and teardown

static void
s_blob_destructor (void **item)
{
    sf_store_blob_t *blob = (sf_store_blob_t *) *item;
    free (blob->data);
    free (blob);
    *item = NULL;
}

//  A job the store held when the broker started: unfinished ones go back
//  to their queues (to run again: what ran before the restart is lost),
//  finished ones are kept as results or dead letters.
static void
s_recovered_job (void *arg, sf_entry_t *entry, const char *analyzer)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    entry->heap_pos = SF_TIMEQ_NONE;
    entry->queue = analyzer? s_queue_for (self, analyzer, strlen (analyzer)):
                             s_queue_of_spec (self, entry);
    if (!entry->queue) {
        sf_log_error ("broker: a recovered job's analyzer is over the queue limit; dropped");
        sf_entry_destroy (&entry);
        return;
    }
    entry->accepted_us = self->now_us - ((int64_t) zclock_time ()
                                         - (int64_t) sf_uuid_ms (entry->id)) * 1000;
    sf_ledger_insert (self->ledger, entry);
    if (entry->state == SF_JOB_FINISHED) {
        entry->worker_name = entry->worker_name && *entry->worker_name?
                             s_intern (self, entry->worker_name): NULL;
        sf_ledger_finished (self->ledger, entry, entry->finished_us);
        entry->dispatched_us = entry->accepted_us;
    }
    else {
        entry->worker_name = NULL;
        self->unfinished++;
        self->bytes_held += entry->spec_size;
        sf_queue_push (entry->queue, entry);
        s_mark_dirty (self, entry->queue);
    }
}

static void
s_recovered_state (void *arg, const char *key, const void *blob, size_t size)
{
    sf_broker_t *self = (sf_broker_t *) arg;
    sf_store_blob_t *copy = (sf_store_blob_t *) zmalloc (sizeof *copy);
    copy->data = malloc (size? size: 1);
    if (!copy->data)
        abort ();
    memcpy (copy->data, blob, size);
    copy->size = size;
    zhashx_update (self->states, key, copy);
}

//  A group the store kept: rebuilt over its recovered entries (found by
//  id), with its counters recomputed from their statuses, its key, its
//  deadline and its chord. Its client is gone: the answer is kept for
//  FETCH. A group that was running is decided now when its items' results
//  or its passed deadline decide it.
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
        sf_entry_t *entry = sf_ledger_find (self->ledger,
                                            stored->items + (size_t) i * SF_UUID_SIZE);
        whole = entry && !entry->group;
    }
    if (then && !(then->queue = s_queue_of_spec (self, then)))
        whole = false;
    if (!whole) {
        //  Its jobs stay, as plain jobs
        sf_log_error ("broker: a recovered group lost jobs or its chord's queue; dropped "
                      "(group=%s)", text);
        sf_entry_destroy (&then);
        return;
    }
    sf_group_t *group = sf_group_new (&stored->opts, 0, stored->total, self->now_us);
    memcpy (group->id, stored->id, SF_UUID_SIZE);
    group->deadline_us = 0;
    for (uint32_t i = 0; i < stored->total; i++) {
        sf_entry_t *entry = sf_ledger_find (self->ledger,
                                            stored->items + (size_t) i * SF_UUID_SIZE);
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
    zhashx_insert (self->groups, group->id, group);
    if (group->key)
        zhashx_insert (self->group_keys, group->key, group);
    zlistx_add_end (self->group_list, group);

    if (stored->state != SF_GROUP_RUNNING) {
        //  Answered before the restart: kept for FETCH, retention going on
        for (uint32_t i = 0; i < group->total; i++)
            if (group->items [i]->state == SF_JOB_FINISHED) {
                group->finished++;
                group->counts [group->items [i]->status]++;
            }
        group->state = stored->state;
        group->answered = true;
        int64_t age_ms = (int64_t) zclock_time () - stored->answered_ms;
        group->answered_us = self->now_us - (age_ms > 0? age_ms * 1000: 0);
        self->group_items_kept += group->total;
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
            s_group_answer (self, group);
    }
    else
    if (group->state != SF_GROUP_RUNNING)
        s_group_decided (self, group);
    else
    if (stored->deadline_ms) {
        int64_t left_ms = stored->deadline_ms - (int64_t) zclock_time ();
        if (left_ms <= 0) {
            sf_group_end (group, SF_GROUP_TIMEOUT);
            s_group_decided (self, group);
        }
        else {
            group->deadline_us = self->now_us + left_ms * 1000;
            group->deadline_handle = zlistx_add_end (self->group_deadlines, group);
        }
    }
    sf_log_debug ("broker: group recovered (group=%s state=%s finished=%u of %u)", text,
                  sf_group_state_name (group->state), group->finished, group->total);
}

static zsock_t *
s_bind (const char *endpoint)
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
    if (zsock_bind (socket, "%s", endpoint) < 0)
        zsock_destroy (&socket);
    return socket;
}

static void
s_watchers_destructor (void **item)
{
    //  Only reached at teardown; client records go with their table
    zlistx_destroy ((zlistx_t **) item);
}

sf_broker_t *
sf_broker_new (const sf_broker_config_t *config, sf_error_t *error)
{
    sf_broker_t *self = (sf_broker_t *) zmalloc (sizeof *self);
    self->config = *config;
    self->frontend = s_bind (config->frontend);
    if (!self->frontend) {
        sf_error_set (error, "FRONTEND", "cannot bind the frontend to %s: %s",
                      config->frontend, zmq_strerror (errno));
        sf_broker_destroy (&self);
        return NULL;
    }
    self->backend = s_bind (config->backend);
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
    self->timeq = sf_timeq_new ();
    self->queues = zhashx_new ();
    zhashx_set_destructor (self->queues, s_queue_destructor);
    self->registry = sf_registry_new ();
    self->clients = sf_clients_new ();
    self->watchers = sf_uuid_table (true);
    self->names = zhashx_new ();
    self->states = zhashx_new ();
    zhashx_set_destructor (self->states, s_blob_destructor);
    zhashx_set_destructor (self->names, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_destructor (self->watchers, s_watchers_destructor);
    self->groups = sf_uuid_table (false);       //  Keys live in the groups
    zhashx_set_destructor (self->groups, s_group_destructor);
    self->group_keys = zhashx_new ();
    self->group_list = zlistx_new ();
    self->group_deadlines = zlistx_new ();
    self->acks = zlistx_new ();
    zlistx_set_destructor (self->acks, s_ack_destructor);
    sf_msg_init (&self->msg);
    msgpack_sbuffer_init (&self->reply);
    msgpack_packer_init (&self->reply_pk, &self->reply, msgpack_sbuffer_write);
    msgpack_sbuffer_init (&self->scratch);
    msgpack_packer_init (&self->scratch_pk, &self->scratch, msgpack_sbuffer_write);
    self->started_us = self->now_us = s_now_us ();
    sf_store_recovery_t recovery = { s_recovered_job, s_recovered_state, s_recovered_group,
                                     self };
    if (sf_store_recover (self->store, &recovery, error)) {
        sf_broker_destroy (&self);
        return NULL;
    }
    if (sf_ledger_size (self->ledger) || zhashx_size (self->states))
        sf_log_info ("broker: recovered %zu unfinished jobs, %zu finished, %zu dead letters, "
                     "%zu states, %zu groups", self->unfinished,
                     sf_ledger_finished_count (self->ledger), sf_ledger_dead_count (self->ledger),
                     zhashx_size (self->states), zhashx_size (self->groups));

    self->loop = zloop_new ();
    zloop_reader (self->loop, self->frontend, s_frontend_reader, self);
    zloop_reader (self->loop, self->backend, s_backend_reader, self);
    zloop_timer (self->loop, (size_t) config->heartbeat_ms, 0, s_heartbeat_timer, self);
    zloop_timer (self->loop, 1000, 0, s_purge_timer, self);
    zloop_timer (self->loop, S_GROUP_TICK_MS, 0, s_group_timer, self);
    sf_log_info ("broker: serving clients at %s, workers at %s, store %s",
                 config->frontend, config->backend, sf_store_name (self->store));
    return self;
}

int
sf_broker_run (sf_broker_t *self)
{
    zloop_start (self->loop);
    sf_log_info ("broker: stopping (%zu jobs in the ledger)", sf_ledger_size (self->ledger));
    return 0;
}

void
sf_broker_destroy (sf_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_broker_t *self = *self_p;
    //  Reverse order of construction. Entries hold client references;
    //  drop them so the client table empties before it is destroyed.
    zloop_destroy (&self->loop);
    if (self->ledger)
        for (sf_entry_t *entry = sf_ledger_first (self->ledger); entry;
             entry = sf_ledger_next (self->ledger))
            entry->client = NULL;
    if (self->groups)
        for (sf_group_t *group = (sf_group_t *) zhashx_first (self->groups); group;
             group = (sf_group_t *) zhashx_next (self->groups)) {
            group->client = NULL;
            zlistx_destroy (&group->waiters);
        }
    zlistx_destroy (&self->group_deadlines);
    zlistx_destroy (&self->group_list);
    zhashx_destroy (&self->group_keys);
    zhashx_destroy (&self->groups);
    zlistx_destroy (&self->acks);
    zhashx_destroy (&self->watchers);
    sf_clients_destroy (&self->clients);
    sf_registry_destroy (&self->registry);
    zhashx_destroy (&self->queues);
    sf_timeq_destroy (&self->timeq);
    sf_ledger_destroy (&self->ledger);
    zhashx_destroy (&self->names);
    zhashx_destroy (&self->states);
    sf_store_destroy (&self->store);
    msgpack_sbuffer_destroy (&self->reply);
    msgpack_sbuffer_destroy (&self->scratch);
    sf_msg_close (&self->msg);
    free (self->dirty.items);
    free (self->send_workers.items);
    free (self->send_clients.items);
    free (self->send_answers.items);
    free (self->send_groups.items);
    zsock_destroy (&self->backend);
    zsock_destroy (&self->frontend);
    free (self);
    *self_p = NULL;
}
