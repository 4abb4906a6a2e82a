/*  =========================================================================
    sf_cmd_submit - SUBMIT: a batch of jobs taken whole or not at all

    Intake validates every job of the batch before anything changes, so a
    rejected batch leaves no trace: no queue, no key, no counter. A job
    whose idempotency key the broker knows (or that an earlier job of the
    same batch carries) is answered with the existing job's id. A job over
    --max-job-bytes is refused before it is copied. Then the limits
    (--max-jobs, --max-queued per analyzer, --max-bytes) are checked for
    the batch as a whole: a batch that alone passes one could never be
    taken and is refused for good (TOO_LARGE); one that would break one
    with what the broker holds is refused with BUSY and a hint of when to
    try again, measured from the fleet's pace. While the broker is
    degraded (its store cannot commit), every SUBMIT is refused with BUSY
    too, naming the store's error, with the time to its next retry as the
    hint. GROUP intake (sf_cmd_group) shares the job check, the queue
    lookup, the limits and the refusal.
    ========================================================================= */

#include "sf_broker_private.h"

int
sf_cmd_submit_next (sf_broker_t *self, sf_batchr_t *reader, uint32_t index,
                    sf_intake_job_t *job, sf_error_t *error)
{
    msgpack_object map;
    int rc = sf_batchr_next (reader, &map, NULL, &job->raw, &job->raw_size, error);
    if (rc == 0 && job->raw_size > self->config.max_job_bytes) {
        self->counters.too_large++;
        return sf_error_set (error, "TOO_LARGE", "job %u is %zu bytes (limit --max-job-bytes "
                             "%zu)", index, job->raw_size, self->config.max_job_bytes);
    }
    if (rc != 0 || sf_codec_job_check (&map, &job->spec, error) == 0)
        return rc;
    char why [sizeof error->message];
    snprintf (why, sizeof why, "%s", error->message);
    return sf_error_set (error, "BAD_INPUT", "job %u: %s", index, why);
}

//  Would taking these jobs break a limit (jobs held in all, for one
//  analyzer, bytes held)? Fills error if so: TOO_LARGE when the batch
//  alone is over the limit, so that it could never be taken, else BUSY.
static int
s_over_limits (sf_broker_t *self, sf_entry_t **fresh, size_t count, sf_error_t *error)
{
    const sf_broker_config_t *config = &self->config;
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += fresh [i]->spec_size;
    if (count > config->max_jobs)
        return sf_error_set (error, "TOO_LARGE", "the batch has %zu jobs (limit --max-jobs %zu)",
                             count, config->max_jobs);
    if (bytes > config->max_bytes)
        return sf_error_set (error, "TOO_LARGE", "the batch's jobs are %zu bytes (limit "
                             "--max-bytes %zu)", bytes, config->max_bytes);
    for (size_t i = 0; i < count; i++)
        fresh [i]->queue->batch++;
    for (size_t i = 0; i < count; i++) {
        sf_queue_t *queue = fresh [i]->queue;
        if (queue->batch > config->max_queued) {
            sf_error_set (error, "TOO_LARGE", "the batch has %zu jobs for analyzer %s (limit "
                          "--max-queued %zu)", queue->batch, queue->name, config->max_queued);
            for (size_t j = 0; j < count; j++)
                fresh [j]->queue->batch = 0;
            return -1;
        }
    }
    for (size_t i = 0; i < count; i++)
        fresh [i]->queue->batch = 0;
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

//  How long BUSY tells a client to wait: about as long as the fleet took,
//  at the pace it finished jobs since the last hint, to finish a tenth
//  of what it holds; twice the last hint when it finished nothing (no
//  worker, or every worker stuck), so that clients back off instead of
//  coming back every 10 ms. Between 10 ms and 5 s. A hint holds for
//  S_BUSY_WINDOW_US: the BUSYs of one burst are not a measure of pace.
#define S_BUSY_MIN_MS 10
#define S_BUSY_MAX_MS 5000
#define S_BUSY_FIRST_MS 100
#define S_BUSY_WINDOW_US 50000

static uint64_t
s_retry_after_ms (sf_broker_t *self)
{
    uint64_t finished = 0;
    for (int status = 0; status < SF_STATUS_INVALID; status++)
        finished += self->counters.finished [status];
    int64_t elapsed_us = self->now_us - self->busy_since_us;
    if (self->busy_since_us && elapsed_us < S_BUSY_WINDOW_US)
        return self->busy_hint_ms;
    uint64_t hint;
    uint64_t done = finished - self->busy_finished;
    if (!self->busy_since_us)
        hint = S_BUSY_FIRST_MS;
    else
    if (done == 0)
        hint = self->busy_hint_ms * 2;
    else
        hint = (uint64_t) (self->unfinished / 10 + 1) * (uint64_t) (elapsed_us / 1000) / done;
    hint = hint < S_BUSY_MIN_MS? S_BUSY_MIN_MS: hint > S_BUSY_MAX_MS? S_BUSY_MAX_MS: hint;
    self->busy_since_us = self->now_us;
    self->busy_finished = finished;
    self->busy_hint_ms = hint;
    return hint;
}

//  ERROR BUSY with a hint of when to try again (retry_ms).
static void
s_reply_busy (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, const sf_error_t *error,
              uint64_t retry_ms)
{
    msgpack_packer *pk = sf_outbox_reply (self);
    msgpack_pack_map (pk, 4);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_kv_str (pk, "code", error->code);
    sf_mp_pack_kv_str (pk, "message", error->message);
    sf_mp_pack_kv_uint (pk, "retry_after_ms", retry_ms);
    sf_outbox_send_reply (self, self->frontend, msg, SF_CMD_ERROR);
}

int
sf_cmd_submit_degraded (sf_broker_t *self, sf_msg_t *msg, uint64_t tag)
{
    if (!self->degraded)
        return 0;
    //  Try again when the store is tried again: its next retry, at least
    //  100 ms away and at most 5 s
    int64_t left_ms = (self->retry_us - self->now_us) / 1000;
    uint64_t retry_ms = left_ms < 100? 100: left_ms > 5000? 5000: (uint64_t) left_ms;
    sf_error_t error;
    sf_error_set (&error, "BUSY", "the broker's store cannot commit, so nothing new is "
                  "accepted until it can: %s", self->store_error.message);
    self->counters.busy++;
    s_reply_busy (self, msg, tag, &error, retry_ms);
    return 1;
}

int
sf_cmd_submit_admit (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, sf_entry_t **fresh,
                     size_t count, size_t held, sf_error_t *error)
{
    //  Nothing is accepted that the store cannot make durable
    if (sf_cmd_submit_degraded (self, msg, tag))
        return 1;
    //  A new analyzer's queue only now that the whole batch is valid
    for (size_t i = 0; i < count; i++)
        if (!fresh [i]->queue && !(fresh [i]->queue = sf_dispatch_queue_of (self, fresh [i])))
            return sf_error_set (error, "BUSY", "the broker already has %zu analyzer queues",
                                 self->config.max_analyzers);
    if (s_over_limits (self, fresh, held, error)) {
        if (streq (error->code, "TOO_LARGE")) {
            self->counters.too_large++;
            return -1;
        }
        self->counters.busy++;
        sf_log_debug ("broker: submit refused: %s", error->message);
        s_reply_busy (self, msg, tag, error, s_retry_after_ms (self));
        return 1;
    }
    return 0;
}

void
sf_cmd_submit_end (sf_broker_t *self, sf_msg_t *msg, sf_batchr_t *reader, sf_entry_t **fresh,
                   size_t count, const sf_error_t *failed)
{
    if (failed) {
        sf_log_debug ("broker: %s rejected: %s", sf_cmd_name (msg->command), failed->message);
        sf_outbox_error (self, self->frontend, msg, reader->tag, failed);
    }
    for (size_t i = 0; i < count; i++)
        sf_entry_destroy (&fresh [i]);
    free (fresh);
    sf_batchr_close (reader);
}

//  --------------------------------------------------------------------------
//  SUBMIT: validate the whole batch, then accept all of it or none.

int
sf_cmd_submit (sf_broker_t *self, sf_msg_t *msg)
{
    sf_error_t error;
    const sf_error_t *failed = NULL;    //  Why the batch is rejected
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
    fresh = (sf_entry_t **) sf_alloc_array (reader.count, sizeof *fresh);
    ids = sf_alloc_array (reader.count, SF_UUID_SIZE);

    sf_intake_job_t job;
    int rc;
    while ((rc = sf_cmd_submit_next (self, &reader, count, &job, &error)) == 0) {
        const sf_jobspec_t *spec = &job.spec;
        if (spec->key) {
            sf_entry_t *known = sf_ledger_find_key (self->ledger, spec->key, spec->key_size);
            char key [SF_KEY_MAX + 1];
            memcpy (key, spec->key, spec->key_size);
            key [spec->key_size] = 0;
            if (!known && batch_keys)
                known = (sf_entry_t *) zhashx_lookup (batch_keys, key);
            if (known) {
                memcpy (ids [count++], known->id, SF_UUID_SIZE);
                deduplicated++;
                continue;
            }
        }
        sf_entry_t *entry = sf_entry_new (spec, job.raw, job.raw_size, self->now_us);
        sf_uuid_v7 (entry->id);
        if (spec->key) {
            entry->key = sf_alloc_strndup (spec->key, spec->key_size);
            if (!batch_keys)
                batch_keys = zhashx_new ();
            zhashx_insert (batch_keys, entry->key, entry);
        }
        //  An existing queue now; a new analyzer's queue once all is valid
        entry->queue = sf_dispatch_find (self, spec->analyzer, spec->analyzer_size);
        fresh [fresh_count++] = entry;
        memcpy (ids [count++], entry->id, SF_UUID_SIZE);
    }
    if (rc < 0)
        goto rejected;
    rc = sf_cmd_submit_admit (self, msg, reader.tag, fresh, fresh_count, fresh_count, &error);
    if (rc < 0)
        goto rejected;
    if (rc > 0)
        goto release;           //  Answered BUSY

    //  Accepted: into the store, the ledger and the queues; acknowledged
    //  after the commit
    sf_crec_t *client = sf_clients_hold (self->clients, zmq_msg_data (&msg->routing),
                                         zmq_msg_size (&msg->routing));
    if (sf_jobs_accept (self, fresh, fresh_count, client, &error)) {
        sf_clients_release (self->clients, &client);
        goto rejected;
    }
    self->counters.deduplicated += deduplicated;
    self->pass_items += count;
    sf_intake_t intake = { .fresh = fresh, .count = fresh_count, .deduplicated = deduplicated };
    msgpack_packer *pk = sf_outbox_ack (self, client, reader.tag, &intake);
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "tag", reader.tag);
    sf_mp_pack_str (pk, "ids");
    msgpack_pack_array (pk, count);
    for (uint32_t i = 0; i < count; i++) {
        msgpack_pack_bin (pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (pk, ids [i], SF_UUID_SIZE);
    }
    fresh_count = 0;                    //  The ledger's now
    goto release;

rejected:
    failed = &error;
release:
    zhashx_destroy (&batch_keys);
    free (ids);
    sf_cmd_submit_end (self, msg, &reader, fresh, fresh_count, failed);
    return 0;
}
