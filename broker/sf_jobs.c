/*  =========================================================================
    sf_jobs - the job state machine: every step of a job's life, once

    A job (an sf_entry_t) is queued, running, retrying (delayed) or
    finished:

        accept ──► queued ──start──► running ──reported ok/error──► finished
                     ▲  ▲              │  │                           │
                     │  └──lost────────┘  └──due (deadline)──┐        │ revive
                     │                                       ▼        │ (dead letter)
                     └────────────due (backoff over)───── retrying    │
                     └────────────────────────────────────────────────┘

    and from queued, running or retrying straight to finished by cancel
    (or a group's deadline). Each arrow is one function here, and each
    does, in one place, everything the step means: the entry's lists
    (queue, worker's in-flight list, timeq), the queue's running count,
    the broker's counts of unfinished and delayed jobs and the bytes they
    hold, the counters of STATUS, and the store's record.

    Two helpers carry the invariants. s_hold and s_release are the only
    places that count a job as unfinished: bytes_held is the sum of the
    job maps of unfinished jobs, whatever happens to a finished job's map
    afterwards (a dead letter keeps its map for a retry; it counts again
    when revived). s_leave takes an unfinished entry out of wherever it is
    (its queue; its worker, told STOP when the broker ended the attempt;
    the retry wait) so that every path to finished or back to a queue
    starts from the same clean state.

    s_finish is the one way to a final status. It builds a follow-up when
    the job ended ok with a "then", records the result, stages it for the
    submitter and every client waiting on it, and hands a group's item to
    the group (sf_cmd_group_item_done).
    ========================================================================= */

#include "sf_broker_private.h"

//  ==========================================================================
//  The invariants

//  entry becomes an unfinished job: counted, with its job map's bytes.
static void
s_hold (sf_broker_t *self, sf_entry_t *entry)
{
    self->unfinished++;
    self->bytes_held += entry->spec_size;
}

//  entry is no longer an unfinished job.
static void
s_release (sf_broker_t *self, sf_entry_t *entry)
{
    assert (self->unfinished > 0 && self->bytes_held >= entry->spec_size);
    self->unfinished--;
    self->bytes_held -= entry->spec_size;
}

//  Put entry in its queue, at the end or (a job that lost its worker, to
//  run before newer ones of its source) at the front.
static void
s_enqueue (sf_broker_t *self, sf_entry_t *entry, bool front)
{
    if (front)
        sf_queue_push_front (entry->queue, entry);
    else
        sf_queue_push (entry->queue, entry);
    sf_dispatch_mark (self, entry->queue);
}

//  Take an unfinished entry out of wherever it is: its queue, its retry
//  wait, or its worker (told STOP when stop: the broker ended the attempt,
//  so a result the worker still sends fails the lease).
static void
s_leave (sf_broker_t *self, sf_entry_t *entry, bool stop)
{
    switch (entry->state) {
        case SF_JOB_QUEUED:
            sf_queue_remove (entry->queue, entry);
            break;
        case SF_JOB_DELAYED:
            sf_timeq_remove (self->timeq, entry);
            self->delayed--;
            break;
        case SF_JOB_RUNNING: {
            sf_wrec_t *worker = entry->worker;
            sf_entry_list_remove (&worker->inflight, entry);
            sf_timeq_remove (self->timeq, entry);
            entry->worker = NULL;
            entry->queue->running--;
            sf_dispatch_mark (self, entry->queue);      //  The worker has credit again
            if (stop)
                sf_outbox_stop (self, worker, entry->id, 1);
            break;
        }
        case SF_JOB_FINISHED:
            assert (false);
            break;
    }
}

//  ==========================================================================
//  Accept

//  Take a new entry into the ledger and its queue, as an unfinished job of
//  client (NULL: none).
static void
s_admit (sf_broker_t *self, sf_entry_t *entry, sf_crec_t *client)
{
    sf_ledger_insert (self->ledger, entry);
    if (client) {
        sf_clients_ref (client);
        entry->client = client;
    }
    s_hold (self, entry);
    s_enqueue (self, entry, false);
}

int
sf_jobs_accept (sf_broker_t *self, sf_entry_t **entries, size_t count, sf_crec_t *client,
                sf_error_t *error)
{
    for (size_t i = 0; i < count; i++)
        if (sf_records_stage_job (self, sf_store_accepted, entries [i], error)) {
            //  Taken whole or not at all: what was staged goes again
            sf_error_t ignored;
            while (i-- > 0)
                sf_records_stage_job (self, sf_store_forgotten, entries [i], &ignored);
            return -1;
        }
    for (size_t i = 0; i < count; i++)
        s_admit (self, entries [i], client);
    self->counters.submitted += count;
    return 0;
}

void
sf_jobs_refuse (sf_broker_t *self, sf_entry_t *entry)
{
    if (entry->state == SF_JOB_FINISHED)
        self->counters.finished [entry->status]--;
    else {
        s_leave (self, entry, true);
        s_release (self, entry);
    }
    sf_clients_release (self->clients, &entry->client);
    self->counters.submitted--;
    sf_error_t error;
    if (!entry->group && sf_records_stage_job (self, sf_store_forgotten, entry, &error))
        sf_log_error ("broker: store could not record a job taken back: %s", error.message);
    sf_ledger_forget (self->ledger, entry);
}

void
sf_jobs_launch (sf_broker_t *self, sf_entry_t *entry, sf_crec_t *client)
{
    sf_error_t error;
    if (sf_records_stage_job (self, sf_store_accepted, entry, &error))
        sf_log_error ("broker: store could not record a job the broker made: %s",
                      error.message);
    s_admit (self, entry, client);
    self->counters.submitted++;
}

//  The table of names is swept once it has doubled since the last sweep,
//  and not below this size.
#define S_NAMES_MIN 1024

//  Free the names no entry of the ledger points to (a worker's default
//  name changes with every restart, so over months the names ever seen
//  are without bound). A walk over the ledger, paid for by the names
//  added since the last one.
static void
s_names_sweep (sf_broker_t *self)
{
    zhashx_t *kept = zhashx_new ();
    for (sf_entry_t *entry = sf_ledger_first (self->ledger); entry;
         entry = sf_ledger_next (self->ledger))
        if (entry->worker_name)
            zhashx_insert (kept, entry->worker_name, (void *) entry->worker_name);
    zhashx_set_destructor (self->names, NULL);
    for (char *copy = (char *) zhashx_first (self->names); copy;
         copy = (char *) zhashx_next (self->names))
        if (!zhashx_lookup (kept, copy))
            free (copy);
    zhashx_destroy (&self->names);
    zhashx_set_destructor (kept, (zhashx_destructor_fn *) zstr_free);
    self->names = kept;
    self->names_swept = zhashx_size (kept);
}

//  The one copy of a worker name that finished results point to: one
//  small string per name in use instead of a copy per result.
static const char *
s_intern (sf_broker_t *self, const char *name)
{
    char *copy = (char *) zhashx_lookup (self->names, name);
    if (!copy) {
        size_t size = zhashx_size (self->names);
        if (size >= S_NAMES_MIN && size >= 2 * self->names_swept)
            s_names_sweep (self);
        copy = sf_alloc_strdup (name);
        zhashx_insert (self->names, name, copy);
    }
    return copy;
}

void
sf_jobs_restore (sf_broker_t *self, sf_entry_t *entry)
{
    entry->heap_pos = SF_TIMEQ_NONE;
    if (entry->state == SF_JOB_FINISHED) {
        sf_ledger_insert (self->ledger, entry);
        entry->worker_name = entry->worker_name && *entry->worker_name?
                             s_intern (self, entry->worker_name): NULL;
        sf_ledger_finished (self->ledger, entry, entry->finished_us);
        entry->dispatched_us = entry->accepted_us;
    }
    else {
        //  What ran before the restart is lost: it runs again
        entry->worker_name = NULL;
        s_admit (self, entry, NULL);
    }
}

//  ==========================================================================
//  Finish

//  The follow-up of a job that ended ok with a "then" (docs/PROTOCOL.md
//  4.5.4): a new entry for the then map with the job's result in its
//  params.previous, queued under a new id (which the job keeps in then_id
//  for its result header). Called by s_finish while the job still has its
//  encoding; returns the entry to launch, or NULL when the follow-up
//  cannot run (logged).
static sf_entry_t *
s_follow_up (sf_broker_t *self, sf_entry_t *entry)
{
    msgpack_unpacked unpacked;
    msgpack_object job;
    msgpack_sbuffer spec;
    msgpack_sbuffer_init (&spec);
    //  The encoding passed sf_codec_job_check at submit: "then" is a job map
    if (sf_entry_job (entry, &unpacked, &job) == 0) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &spec, msgpack_sbuffer_write);
        sf_codec_pack_follow_up (&pk, sf_mp_get (&job, "then"), entry->id, entry->queue->name,
                                 entry->payload, entry->payload_size);
    }
    msgpack_unpacked_destroy (&unpacked);

    sf_entry_t *next = NULL;
    const char *failure = NULL;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    const char *why;
    sf_jobspec_t checked;
    sf_error_t error;
    if (spec.size
    &&  sf_mp_next (&unpacked, spec.data, spec.size, &offset, &job, NULL, NULL, &why) == 0
    &&  sf_codec_job_check (&job, &checked, &error) == 0) {
        next = sf_entry_new (&checked, spec.data, spec.size, self->now_us);
        next->queue = sf_dispatch_find (self, checked.analyzer, checked.analyzer_size);
        if (!next->queue && !(next->queue = sf_dispatch_queue_of (self, next))) {
            failure = "a follow-up's analyzer is over the queue limit";
            sf_entry_destroy (&next);
        }
    }
    else
        //  The result made the map too deep or too big for the wire
        failure = "a follow-up could not be built from the result";
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&spec);
    if (failure) {
        char id [SF_UUID_STRLEN + 1];
        sf_uuid_str (entry->id, id);
        sf_log_error ("broker: %s; the chain ends (job=%s)", failure, id);
        return NULL;
    }
    sf_uuid_v7 (next->id);
    entry->then_id = (uint8_t *) sf_alloc (SF_UUID_SIZE);
    memcpy (entry->then_id, next->id, SF_UUID_SIZE);
    return next;
}

//  Give an entry that has left its place (s_leave) its final status, and
//  deliver it to its client, to every client waiting on it and to its
//  group. payload is copied. A dead letter keeps its job map for a retry.
static void
s_finish (sf_broker_t *self, sf_entry_t *entry, sf_status_t status, const char *worker_name,
          uint64_t run_us, const char *payload, size_t payload_size)
{
    s_release (self, entry);
    entry->status = status;
    entry->run_us = run_us;
    entry->worker_name = worker_name? s_intern (self, worker_name): NULL;
    entry->payload = (char *) sf_alloc (payload_size);
    memcpy (entry->payload, payload, payload_size);
    entry->payload_size = (uint32_t) payload_size;
    sf_entry_t *next = status == SF_STATUS_OK && entry->chained? s_follow_up (self, entry): NULL;
    if (status != SF_STATUS_DEAD) {
        free (entry->spec);     //  Never dispatched again
        entry->spec = NULL;
    }
    sf_ledger_finished (self->ledger, entry, self->now_us);
    //  Results past --result-max-bytes go now, not at the next purge: one
    //  second of large results can be more than the limit allows
    sf_ledger_trim (self->ledger, entry);
    self->counters.finished [status]++;

    sf_error_t error;
    if (sf_records_stage_job (self, sf_store_finished, entry, &error))
        sf_log_error ("broker: store could not record a result: %s", error.message);
    if (next) {
        //  After the finish, in the same commit: a restart loses neither
        sf_jobs_launch (self, next, entry->client);
        self->counters.chained++;
    }

    if (entry->client) {
        sf_outbox_result (self, entry->client, entry);
        sf_clients_release (self->clients, &entry->client);
    }
    if (zhashx_size (self->watchers)) {
        zlistx_t *waiting = (zlistx_t *) zhashx_lookup (self->watchers, entry->id);
        if (waiting) {
            for (sf_crec_t *client = (sf_crec_t *) zlistx_first (waiting); client;
                 client = (sf_crec_t *) zlistx_next (waiting)) {
                sf_outbox_result (self, client, entry);
                sf_clients_release (self->clients, &client);
            }
            zhashx_delete (self->watchers, entry->id);
        }
    }
    if (entry->group)
        sf_cmd_group_item_done (self, entry);
}

//  An error map {code, message, context: {attempts, worker_losses}} in
//  self->scratch, for results the broker writes itself.
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

//  Finish entry with the error map s_error_map wrote.
static void
s_finish_broker (sf_broker_t *self, sf_entry_t *entry, sf_status_t status)
{
    s_finish (self, entry, status, NULL, 0, self->scratch.data, self->scratch.size);
}

//  ==========================================================================
//  Run

void
sf_jobs_start (sf_broker_t *self, sf_entry_t *entry, sf_wrec_t *worker)
{
    entry->state = SF_JOB_RUNNING;
    entry->attempt++;
    entry->worker = worker;
    entry->dispatched_us = self->now_us;
    entry->due_us = self->now_us + (int64_t) entry->timeout_ms * 1000;
    sf_timeq_push (self->timeq, entry);
    sf_entry_list_append (&worker->inflight, entry);
    entry->queue->running++;
    self->counters.dispatched++;
}

//  --------------------------------------------------------------------------
//  Failed attempts: retried after a backoff, or the job ends.

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

//  An attempt of an entry that has left its worker failed (code, message;
//  payload is the error map to end with when the job does not go on).
//  Retried while the job has retries left; then it ends dead (a dead
//  letter, with its history) if it had retries, else with final_status.
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

//  Error codes after which an attempt may succeed when run again: the
//  worker was shutting down, or the analyzer said so. Every other analyzer
//  error (bad input, missing data, a failed analysis) is a property of the
//  job and final.
static bool
s_transient (const char *raw, size_t raw_size, char *code, size_t code_size, char *message,
             size_t message_size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *why;
    if (sf_mp_next (&unpacked, raw, raw_size, &offset, &map, NULL, NULL, &why) == 0) {
        sf_mp_strcpy (sf_mp_get (&map, "code"), code, code_size);
        sf_mp_strcpy (sf_mp_get (&map, "message"), message, message_size);
    }
    msgpack_unpacked_destroy (&unpacked);
    return streq (code, "TRANSIENT") || streq (code, "CANCELLED");
}

//  Keep the latest state of a state key, in memory and in the store.
static void
s_save_state (sf_broker_t *self, const char *key, const char *data, size_t size)
{
    zhashx_update (self->states, key, sf_store_blob_new (data, size));
    sf_store_state_t record = { key, data, size };
    sf_error_t error;
    if (sf_store_state_saved (self->store, &record, &error))
        sf_log_error ("broker: store could not record a state: %s", error.message);
}

void
sf_jobs_reported (sf_broker_t *self, sf_entry_t *entry, sf_status_t status, uint64_t run_us,
                  const char *state, size_t state_size, const char *raw, size_t raw_size)
{
    sf_wrec_t *worker = entry->worker;
    s_leave (self, entry, false);
    worker->done++;
    if (raw_size > self->config.max_result_bytes) {
        //  Neither kept, recorded nor sent: the job ends with the broker's
        //  error instead, and its analyzer state is not taken either
        self->counters.too_large++;
        s_error_map (self, entry, "RESULT_TOO_LARGE", "the result is %zu bytes (limit "
                     "--max-result-bytes %zu)", raw_size, self->config.max_result_bytes);
        s_finish (self, entry, SF_STATUS_ERROR, worker->name, run_us, self->scratch.data,
                  self->scratch.size);
        return;
    }
    if (status == SF_STATUS_OK && entry->state_key && state)
        s_save_state (self, entry->state_key, state, state_size);
    //  An analyzer's error may be retried: a transient code while retries
    //  are left; any other code is final
    char code [32] = "UNKNOWN", message [256] = "";
    if (status == SF_STATUS_ERROR && entry->retries > 0
    &&  s_transient (raw, raw_size, code, sizeof code, message, sizeof message))
        s_attempt_failed (self, entry, worker->name, code, message, SF_STATUS_ERROR, run_us,
                          raw, raw_size);
    else
        s_finish (self, entry, status, worker->name, run_us, raw, raw_size);
}

void
sf_jobs_due (sf_broker_t *self, sf_entry_t *entry)
{
    if (entry->state == SF_JOB_RUNNING) {
        //  Past its deadline: stopped, then retried or ended
        const char *worker = entry->worker->name;
        s_leave (self, entry, true);
        self->counters.timed_out++;
        char message [128];
        snprintf (message, sizeof message, "no result within %u ms", entry->timeout_ms);
        s_error_map (self, entry, "TIMEOUT", "%s", message);
        s_attempt_failed (self, entry, worker, "TIMEOUT", message, SF_STATUS_TIMEOUT, 0,
                          self->scratch.data, self->scratch.size);
    }
    else {
        //  Its backoff has passed: back in its queue, behind newer jobs
        assert (entry->state == SF_JOB_DELAYED);
        self->delayed--;
        s_enqueue (self, entry, false);
    }
}

//  A job was at a worker that died (not one that left in order): it runs
//  again, unless it has now witnessed max_losses deaths. Then it is a
//  poison job and goes to the dead letters, so that one job that kills its
//  worker cannot take the fleet down in a loop.
void
sf_jobs_lost (sf_broker_t *self, sf_entry_t *entry, const char *why, bool died)
{
    if (died) {
        entry->losses++;
        s_history_add (entry, entry->worker->name, "WORKER_LOST", why);
    }
    s_leave (self, entry, false);
    if (died && entry->losses >= self->config.max_losses) {
        s_error_map (self, entry, "WORKER_LOST", "present at %u worker deaths, the last: %s",
                     entry->losses, why);
        s_finish_broker (self, entry, SF_STATUS_DEAD);
        return;
    }
    s_enqueue (self, entry, true);
    self->counters.requeued++;
}

int
sf_jobs_cancel (sf_broker_t *self, sf_entry_t *entry, sf_status_t status)
{
    if (entry->state == SF_JOB_FINISHED)
        return -1;
    s_leave (self, entry, true);
    if (status == SF_STATUS_CANCELLED)
        s_error_map (self, entry, "CANCELLED", "the job was cancelled");
    else
        s_error_map (self, entry, "TIMEOUT", "the group's deadline passed first");
    s_finish_broker (self, entry, status);
    return 0;
}

//  ==========================================================================
//  After the end: dead letters

bool
sf_jobs_dead_letter (const sf_entry_t *entry)
{
    return entry->state == SF_JOB_FINISHED && entry->status == SF_STATUS_DEAD
        && !entry->group;
}

void
sf_jobs_revive (sf_broker_t *self, sf_entry_t *entry)
{
    assert (sf_jobs_dead_letter (entry));
    sf_ledger_revive (self->ledger, entry);
    free (entry->payload);
    entry->payload = NULL;
    entry->payload_size = 0;
    entry->failures = 0;
    entry->losses = 0;
    s_hold (self, entry);
    s_enqueue (self, entry, false);
    sf_error_t error;
    if (sf_records_stage_job (self, sf_store_revived, entry, &error))
        sf_log_error ("broker: store could not record a retry: %s", error.message);
}

void
sf_jobs_forget (sf_broker_t *self, sf_entry_t *entry, bool record)
{
    //  A group's job goes only with its group, whose record covers it
    assert (entry->state == SF_JOB_FINISHED && !(record && entry->group));
    sf_error_t error;
    if (record && sf_records_stage_job (self, sf_store_forgotten, entry, &error))
        sf_log_error ("broker: store could not record a purge: %s", error.message);
    sf_ledger_forget (self->ledger, entry);
}
