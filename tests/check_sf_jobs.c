/*  =========================================================================
    check_sf_jobs - the broker's job state machine and group policy, in
    process: a real sf_broker driven message by message (inbroker) with a
    clock that moves only when a test moves it. After every step the
    broker's own counts must agree with what its ledger, queues, workers
    and groups hold (inbroker_check).
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include "inbroker.h"

#define S_CHECK(b)                                                              \
    do {                                                                        \
        char why_ [256];                                                        \
        ck_assert_msg (inbroker_check ((b), why_, sizeof why_) == 0, "%s", why_); \
    } while (0)

//  Room for the jobs a test's worker is sent.
#define S_MAX 64

static inbroker_t *
s_broker (const sf_broker_config_t *config)
{
    inbroker_quiet (true);
    sf_error_t error;
    inbroker_t *broker = inbroker_new (config, &error);
    ck_assert_msg (broker, "%s", error.message);
    return broker;
}

static void
s_submit (inbroker_t *broker, const char *job, uint8_t id [SF_UUID_SIZE])
{
    sf_error_t error;
    ck_assert_msg (inbroker_submit (broker, 0, job, id, &error) == 0, "%s: %s", error.code,
                   error.message);
}

//  The single job worker was sent: its attempt, after checking its id.
static uint32_t
s_one_dispatch (inbroker_t *broker, int worker, const uint8_t id [SF_UUID_SIZE])
{
    uint8_t ids [S_MAX] [SF_UUID_SIZE];
    uint32_t attempts [S_MAX];
    ck_assert_uint_eq (inbroker_dispatched (broker, worker, ids, attempts, S_MAX), 1);
    ck_assert (memcmp (ids [0], id, SF_UUID_SIZE) == 0);
    return attempts [0];
}

static sf_entry_t *
s_entry (inbroker_t *broker, const uint8_t id [SF_UUID_SIZE])
{
    sf_entry_t *entry = sf_ledger_find (inbroker_broker (broker)->ledger, id);
    ck_assert_ptr_nonnull (entry);
    return entry;
}

//  The statuses of the RESULT items client 0 was sent, in order.
static size_t
s_results (inbroker_t *broker, sf_status_t *statuses, size_t max)
{
    size_t count = 0;
    inbroker_msg_t *msg;
    while ((msg = inbroker_recv (broker, false, 0))) {
        if (msg->command == SF_CMD_RESULT) {
            sf_batchr_t reader;
            sf_error_t error;
            msgpack_object head;
            ck_assert (sf_batchr_open (&reader, msg->body, msg->size, 2, SF_BATCH_MAX,
                                       &error) == 0);
            while (sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error) == 0) {
                sf_result_head_t result;
                char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1];
                ck_assert (sf_codec_read_result_head (&head, &result, analyzer, worker,
                                                      &error) == 0);
                if (count < max)
                    statuses [count] = result.status;
                count++;
            }
            sf_batchr_close (&reader);
        }
        inbroker_msg_destroy (&msg);
    }
    return count;
}

//  --------------------------------------------------------------------------

START_TEST (test_accept_dispatch_finish)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    uint8_t id [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\", \"params\": {\"x\": 1}}", id);
    sf_entry_t *entry = s_entry (broker, id);
    ck_assert_int_eq (entry->state, SF_JOB_QUEUED);
    ck_assert_uint_eq (b->unfinished, 1);
    ck_assert_uint_eq (b->bytes_held, entry->spec_size);
    ck_assert_uint_eq (b->counters.submitted, 1);
    S_CHECK (broker);

    inbroker_ready (broker, 0, "w1", "echo,fail", 4);
    uint32_t attempt = s_one_dispatch (broker, 0, id);
    ck_assert_uint_eq (attempt, 1);
    ck_assert_int_eq (entry->state, SF_JOB_RUNNING);
    ck_assert_uint_eq (entry->queue->running, 1);
    ck_assert_uint_eq (b->counters.dispatched, 1);
    S_CHECK (broker);

    inbroker_result (broker, 0, id, attempt, "ok", "{\"x\": 1}");
    ck_assert_int_eq (entry->state, SF_JOB_FINISHED);
    ck_assert_int_eq (entry->status, SF_STATUS_OK);
    ck_assert_uint_eq (b->unfinished, 0);
    ck_assert_uint_eq (b->bytes_held, 0);
    ck_assert_uint_eq (entry->queue->running, 0);
    ck_assert_uint_eq (b->counters.finished [SF_STATUS_OK], 1);
    sf_status_t statuses [4];
    ck_assert_uint_eq (s_results (broker, statuses, 4), 1);
    ck_assert_int_eq (statuses [0], SF_STATUS_OK);
    S_CHECK (broker);

    //  A second result for the same lease is late, and changes nothing
    inbroker_result (broker, 0, id, attempt, "error", "{\"code\": \"ANALYSIS\"}");
    ck_assert_uint_eq (b->counters.late, 1);
    ck_assert_int_eq (entry->status, SF_STATUS_OK);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_retry_with_backoff_then_dead)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "fail", 4);
    uint8_t id [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"fail\", \"retries\": 2, \"backoff_ms\": 1000}", id);
    sf_entry_t *entry = s_entry (broker, id);
    uint32_t attempt = s_one_dispatch (broker, 0, id);

    //  A transient error: retrying after 500-1000 ms (the upper half of the backoff)
    inbroker_result (broker, 0, id, attempt, "error", "{\"code\": \"TRANSIENT\"}");
    ck_assert_int_eq (entry->state, SF_JOB_DELAYED);
    ck_assert_uint_eq (b->delayed, 1);
    ck_assert_uint_eq (b->counters.retried, 1);
    ck_assert_int_ge (entry->due_us - b->now_us, 500000);
    ck_assert_int_le (entry->due_us - b->now_us, 1000000);
    S_CHECK (broker);
    inbroker_advance (broker, 499);
    ck_assert_int_eq (entry->state, SF_JOB_DELAYED);
    inbroker_advance (broker, 501);
    ck_assert_uint_eq (b->delayed, 0);
    attempt = s_one_dispatch (broker, 0, id);
    ck_assert_uint_eq (attempt, 2);
    S_CHECK (broker);

    //  The second retry waits twice as long: 1000-2000 ms
    inbroker_result (broker, 0, id, attempt, "error", "{\"code\": \"TRANSIENT\"}");
    ck_assert_int_ge (entry->due_us - b->now_us, 1000000);
    ck_assert_int_le (entry->due_us - b->now_us, 2000000);
    inbroker_advance (broker, 2000);
    attempt = s_one_dispatch (broker, 0, id);
    ck_assert_uint_eq (attempt, 3);

    //  No retries left: a dead letter with the history of its failures
    inbroker_result (broker, 0, id, attempt, "error", "{\"code\": \"TRANSIENT\"}");
    ck_assert_int_eq (entry->state, SF_JOB_FINISHED);
    ck_assert_int_eq (entry->status, SF_STATUS_DEAD);
    ck_assert_uint_eq (entry->history_count, 3);
    ck_assert_uint_eq (sf_ledger_dead_count (b->ledger), 1);
    ck_assert_uint_eq (b->unfinished, 0);
    S_CHECK (broker);

    //  A final error code is not retried
    s_submit (broker, "{\"analyzer\": \"fail\", \"retries\": 2}", id);
    attempt = s_one_dispatch (broker, 0, id);
    inbroker_result (broker, 0, id, attempt, "error", "{\"code\": \"ANALYSIS\"}");
    ck_assert_int_eq (s_entry (broker, id)->status, SF_STATUS_ERROR);
    ck_assert_uint_eq (b->counters.retried, 2);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_deadline_stops_the_worker)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t id [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\", \"timeout_ms\": 100, \"retries\": 0}", id);
    uint32_t attempt = s_one_dispatch (broker, 0, id);
    inbroker_count (broker, true, 0, -1);
    inbroker_advance (broker, 99);
    ck_assert_int_eq (s_entry (broker, id)->state, SF_JOB_RUNNING);
    inbroker_advance (broker, 1);
    ck_assert_int_eq (s_entry (broker, id)->status, SF_STATUS_TIMEOUT);
    ck_assert_uint_eq (b->counters.timed_out, 1);
    ck_assert_uint_eq (inbroker_count (broker, true, 0, SF_CMD_STOP), 1);
    S_CHECK (broker);
    //  The worker's answer comes too late for the lease
    inbroker_result (broker, 0, id, attempt, "ok", "{}");
    ck_assert_uint_eq (b->counters.late, 1);
    ck_assert_int_eq (s_entry (broker, id)->status, SF_STATUS_TIMEOUT);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_worker_deaths_make_a_poison_job)
{
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.max_losses = 2;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t id [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\"}", id);
    s_one_dispatch (broker, 0, id);

    //  A supervisor reports w1 dead: the job goes back, one loss counted
    const char lost [] = "\x82\xa4name\xa2w1\xa6reason\xa4kill";
    inbroker_send (broker, true, 7, SF_CMD_LOST, lost, sizeof lost - 1);
    sf_entry_t *entry = s_entry (broker, id);
    ck_assert_int_eq (entry->state, SF_JOB_QUEUED);
    ck_assert_uint_eq (entry->losses, 1);
    ck_assert_uint_eq (b->counters.requeued, 1);
    ck_assert_uint_eq (b->counters.workers_lost, 1);
    S_CHECK (broker);

    //  The second death ends it: a dead letter, WORKER_LOST
    inbroker_ready (broker, 1, "w2", "echo", 4);
    s_one_dispatch (broker, 1, id);
    inbroker_advance (broker, (int64_t) config.heartbeat_ms * config.liveness + 1);
    inbroker_duty (broker, SF_DUTY_HEARTBEAT);
    ck_assert_int_eq (entry->state, SF_JOB_FINISHED);
    ck_assert_int_eq (entry->status, SF_STATUS_DEAD);
    ck_assert_uint_eq (entry->losses, 2);
    ck_assert (memmem (entry->payload, entry->payload_size, "WORKER_LOST", 11));
    ck_assert_uint_eq (sf_registry_size (b->registry), 0);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_disconnect_is_not_a_death)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 1);
    uint8_t first [SF_UUID_SIZE], second [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\"}", first);
    s_submit (broker, "{\"analyzer\": \"echo\"}", second);
    s_one_dispatch (broker, 0, first);          //  One slot: the second waits
    inbroker_send (broker, true, 0, SF_CMD_DISCONNECT, "\xc0", 1);
    sf_entry_t *entry = s_entry (broker, first);
    ck_assert_int_eq (entry->state, SF_JOB_QUEUED);
    ck_assert_uint_eq (entry->losses, 0);
    ck_assert_uint_eq (b->counters.requeued, 1);
    S_CHECK (broker);
    //  It went back in front: the next worker gets it first
    inbroker_ready (broker, 1, "w2", "echo", 1);
    s_one_dispatch (broker, 1, first);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_cancel_wherever_it_is)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "fail", 1);
    uint8_t running [SF_UUID_SIZE], queued [SF_UUID_SIZE], retrying [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"fail\", \"retries\": 1, \"backoff_ms\": 60000}", retrying);
    uint32_t attempt = s_one_dispatch (broker, 0, retrying);
    inbroker_result (broker, 0, retrying, attempt, "error", "{\"code\": \"TRANSIENT\"}");
    s_submit (broker, "{\"analyzer\": \"fail\"}", running);
    s_one_dispatch (broker, 0, running);
    s_submit (broker, "{\"analyzer\": \"fail\"}", queued);
    inbroker_count (broker, true, 0, -1);
    S_CHECK (broker);

    char outcome [16];
    sf_error_t error;
    const uint8_t *ids [] = { queued, running, retrying };
    for (int i = 0; i < 3; i++) {
        ck_assert (inbroker_cancel (broker, 0, ids [i], outcome, &error) == 0);
        ck_assert_str_eq (outcome, "cancelled");
        ck_assert_int_eq (s_entry (broker, ids [i])->status, SF_STATUS_CANCELLED);
        S_CHECK (broker);
    }
    //  The running one's worker is told to stop it, and has its slot back
    ck_assert_uint_eq (inbroker_count (broker, true, 0, SF_CMD_STOP), 1);
    ck_assert_uint_eq (b->delayed, 0);
    ck_assert_uint_eq (b->unfinished, 0);
    ck_assert_uint_eq (b->counters.finished [SF_STATUS_CANCELLED], 3);
    ck_assert (inbroker_cancel (broker, 0, queued, outcome, &error) == 0);
    ck_assert_str_eq (outcome, "finished");
    uint8_t unknown [SF_UUID_SIZE] = { 1 };
    ck_assert (inbroker_cancel (broker, 0, unknown, outcome, &error) == 0);
    ck_assert_str_eq (outcome, "unknown");
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

//  A job that ends dead after one attempt (retries 1, backoff 0 but the
//  retry fails too); returns its id in id.
static void
s_dead_letter (inbroker_t *broker, int worker, uint8_t id [SF_UUID_SIZE])
{
    s_submit (broker, "{\"analyzer\": \"fail\", \"retries\": 1, \"backoff_ms\": 0}", id);
    uint32_t attempt = s_one_dispatch (broker, worker, id);
    inbroker_result (broker, worker, id, attempt, "error", "{\"code\": \"TRANSIENT\"}");
    inbroker_advance (broker, 0);
    attempt = s_one_dispatch (broker, worker, id);
    inbroker_result (broker, worker, id, attempt, "error", "{\"code\": \"TRANSIENT\"}");
    ck_assert_int_eq (s_entry (broker, id)->status, SF_STATUS_DEAD);
}

START_TEST (test_revive_and_forget)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "fail", 4);
    uint8_t first [SF_UUID_SIZE], second [SF_UUID_SIZE];
    s_dead_letter (broker, 0, first);
    s_dead_letter (broker, 0, second);
    sf_error_t error;
    ck_assert_int_eq (inbroker_dead (broker, 0, "list", NULL, &error), 2);
    ck_assert_int_eq (inbroker_dead (broker, 0, "show", first, &error), 1);
    S_CHECK (broker);

    //  Retry: back in its queue under the same id, retries renewed, its
    //  attempt counting on
    ck_assert_int_eq (inbroker_dead (broker, 0, "retry", first, &error), 1);
    sf_entry_t *entry = s_entry (broker, first);
    ck_assert_uint_eq (sf_ledger_dead_count (b->ledger), 1);
    ck_assert_uint_eq (entry->failures, 0);
    ck_assert_uint_eq (b->unfinished, 1);
    uint32_t attempt = s_one_dispatch (broker, 0, first);
    ck_assert_uint_eq (attempt, 3);
    S_CHECK (broker);
    inbroker_result (broker, 0, first, attempt, "ok", "{}");
    ck_assert_int_eq (entry->status, SF_STATUS_OK);
    S_CHECK (broker);

    //  Purge: forgotten
    ck_assert_int_eq (inbroker_dead (broker, 0, "purge", second, &error), 1);
    ck_assert_ptr_null (sf_ledger_find (b->ledger, second));
    ck_assert_uint_eq (sf_ledger_dead_count (b->ledger), 0);
    ck_assert_int_eq (inbroker_fetch (broker, 0, second, false, &error), -1);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    ck_assert_int_eq (inbroker_dead (broker, 0, "retry", second, &error), -1);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_chain_follow_up)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t id [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\", \"then\": {\"analyzer\": \"echo\"}}", id);
    uint32_t attempt = s_one_dispatch (broker, 0, id);
    inbroker_result (broker, 0, id, attempt, "ok", "{\"v\": 7}");
    sf_entry_t *entry = s_entry (broker, id);
    ck_assert_ptr_nonnull (entry->then_id);
    sf_entry_t *next = s_entry (broker, entry->then_id);
    ck_assert_int_eq (next->state, SF_JOB_RUNNING);   //  Dispatched at the same flush
    ck_assert_uint_eq (b->counters.chained, 1);
    ck_assert_uint_eq (b->counters.submitted, 2);
    ck_assert_uint_eq (b->unfinished, 1);
    S_CHECK (broker);
    attempt = s_one_dispatch (broker, 0, entry->then_id);
    inbroker_result (broker, 0, entry->then_id, attempt, "ok", "{}");
    sf_status_t statuses [4];
    ck_assert_uint_eq (s_results (broker, statuses, 4), 2);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_group_fail_fast_cancels_the_rest)
{
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo,fail", 1);
    const char *jobs [] = { "{\"analyzer\": \"fail\"}", "{\"analyzer\": \"echo\"}",
                            "{\"analyzer\": \"echo\"}" };
    uint8_t group [SF_UUID_SIZE], ids [3] [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert (inbroker_group (broker, 0, "{\"policy\": \"fail-fast\"}", jobs, 3, group, ids,
                               &error) == 0);
    ck_assert_uint_eq (sf_groups_size (b->groups), 1);
    S_CHECK (broker);
    uint32_t attempt = s_one_dispatch (broker, 0, ids [0]);
    inbroker_result (broker, 0, ids [0], attempt, "error", "{\"code\": \"ANALYSIS\"}");
    S_CHECK (broker);
    ck_assert_uint_eq (b->unfinished, 0);
    ck_assert_uint_eq (sf_groups_answered_count (b->groups), 1);

    inbroker_msg_t *msg;
    while ((msg = inbroker_recv (broker, false, 0)) && msg->command != SF_CMD_GROUP_RESULT)
        inbroker_msg_destroy (&msg);
    ck_assert_ptr_nonnull (msg);
    char state [16];
    sf_status_t statuses [3];
    ck_assert_int_eq (inbroker_group_result (msg, state, statuses, 3), 3);
    ck_assert_str_eq (state, "failed");
    ck_assert_int_eq (statuses [0], SF_STATUS_ERROR);
    ck_assert_int_eq (statuses [1], SF_STATUS_CANCELLED);
    ck_assert_int_eq (statuses [2], SF_STATUS_CANCELLED);
    inbroker_msg_destroy (&msg);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_group_deadline_at_its_instant)
{
    //  A group's deadline waits in the timeq with the jobs': it times out
    //  at its instant, not at the next tick of a scan
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    const char *jobs [] = { "{\"analyzer\": \"echo\"}", "{\"analyzer\": \"echo\"}" };
    uint8_t group [SF_UUID_SIZE], ids [2] [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert (inbroker_group (broker, 0, "{\"timeout_ms\": 250}", jobs, 2, group, ids,
                               &error) == 0);
    inbroker_advance (broker, 249);
    ck_assert_uint_eq (sf_groups_answered_count (b->groups), 0);
    inbroker_advance (broker, 1);
    ck_assert_uint_eq (sf_groups_answered_count (b->groups), 1);
    ck_assert_int_eq (s_entry (broker, ids [0])->status, SF_STATUS_TIMEOUT);
    ck_assert_uint_eq (inbroker_count (broker, false, 0, SF_CMD_GROUP_RESULT), 1);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_retention_forgets_groups_with_their_jobs)
{
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.result_ttl_ms = 1000;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    const char *jobs [] = { "{\"analyzer\": \"echo\"}" };
    uint8_t group [SF_UUID_SIZE], ids [1] [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert (inbroker_group (broker, 0, "{}", jobs, 1, group, ids, &error) == 0);
    uint32_t attempt = s_one_dispatch (broker, 0, ids [0]);
    inbroker_result (broker, 0, ids [0], attempt, "ok", "{}");
    inbroker_advance (broker, 1001);
    inbroker_duty (broker, SF_DUTY_PURGE);
    ck_assert_uint_eq (sf_groups_size (b->groups), 0);
    ck_assert_ptr_null (sf_ledger_find (b->ledger, ids [0]));
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

//  A group of three whose first item ends dead while the other two wait
//  (the worker serves only fail). Returns the group's and items' ids.
static void
s_group_with_dead_item (inbroker_t *broker, uint8_t group [SF_UUID_SIZE],
                        uint8_t ids [3] [SF_UUID_SIZE])
{
    inbroker_ready (broker, 0, "w1", "fail", 1);
    const char *jobs [] = { "{\"analyzer\": \"fail\", \"retries\": 1, \"backoff_ms\": 0}",
                            "{\"analyzer\": \"echo\"}", "{\"analyzer\": \"echo\"}" };
    sf_error_t error;
    ck_assert (inbroker_group (broker, 0, "{}", jobs, 3, group, ids, &error) == 0);
    uint32_t attempt = s_one_dispatch (broker, 0, ids [0]);
    inbroker_result (broker, 0, ids [0], attempt, "error", "{\"code\": \"TRANSIENT\"}");
    inbroker_advance (broker, 0);
    attempt = s_one_dispatch (broker, 0, ids [0]);
    inbroker_result (broker, 0, ids [0], attempt, "error", "{\"code\": \"TRANSIENT\"}");
    ck_assert_int_eq (s_entry (broker, ids [0])->status, SF_STATUS_DEAD);
}

START_TEST (test_dead_retry_of_a_group_item)
{
    //  An item of a group that ended dead has been counted by its group:
    //  it is not a dead letter, and DEAD retry does not run it again (which
    //  counted it twice: the group answered while two items still ran)
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    uint8_t group [SF_UUID_SIZE], ids [3] [SF_UUID_SIZE];
    s_group_with_dead_item (broker, group, ids);
    sf_group_t *kept = sf_groups_find (b->groups, group);
    ck_assert_uint_eq (kept->finished, 1);
    S_CHECK (broker);

    sf_error_t error;
    ck_assert_int_eq (inbroker_dead (broker, 0, "list", NULL, &error), 0);
    ck_assert_int_eq (inbroker_dead (broker, 0, "retry", ids [0], &error), -1);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    ck_assert_int_eq (inbroker_dead (broker, 0, "show", ids [0], &error), -1);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    ck_assert_int_eq (inbroker_dead (broker, 0, "retry", NULL, &error), 0);
    ck_assert_int_eq (s_entry (broker, ids [0])->state, SF_JOB_FINISHED);
    ck_assert_uint_eq (kept->finished, 1);
    ck_assert_uint_eq (sf_ledger_dead_count (b->ledger), 0);
    ck_assert (!kept->answered);
    S_CHECK (broker);

    //  The group answers when its last two items end, once
    inbroker_ready (broker, 1, "w2", "echo", 2);
    uint8_t sent [S_MAX] [SF_UUID_SIZE];
    uint32_t attempts [S_MAX];
    ck_assert_uint_eq (inbroker_dispatched (broker, 1, sent, attempts, S_MAX), 2);
    inbroker_result (broker, 1, sent [0], attempts [0], "ok", "{}");
    ck_assert (!kept->answered);
    inbroker_result (broker, 1, sent [1], attempts [1], "ok", "{}");
    ck_assert (kept->answered);
    ck_assert_uint_eq (inbroker_count (broker, false, 0, SF_CMD_GROUP_RESULT), 1);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_dead_purge_of_a_group_item)
{
    //  DEAD purge of a group item freed the entry its group still held:
    //  the group's answer then read freed memory (and a journal's
    //  compaction wrote the group from it). The item stays its group's.
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    uint8_t group [SF_UUID_SIZE], ids [3] [SF_UUID_SIZE];
    s_group_with_dead_item (broker, group, ids);
    sf_error_t error;
    ck_assert_int_eq (inbroker_dead (broker, 0, "purge", ids [0], &error), -1);
    ck_assert_str_eq (error.code, "NOT_FOUND");
    ck_assert_int_eq (inbroker_dead (broker, 0, "purge", NULL, &error), 0);
    ck_assert_ptr_nonnull (sf_ledger_find (b->ledger, ids [0]));
    S_CHECK (broker);

    //  The group answers with the item's dead result, also to a FETCH
    inbroker_ready (broker, 1, "w2", "echo", 2);
    uint8_t sent [S_MAX] [SF_UUID_SIZE];
    uint32_t attempts [S_MAX];
    ck_assert_uint_eq (inbroker_dispatched (broker, 1, sent, attempts, S_MAX), 2);
    inbroker_result (broker, 1, sent [0], attempts [0], "ok", "{}");
    inbroker_result (broker, 1, sent [1], attempts [1], "ok", "{}");
    inbroker_count (broker, false, 0, -1);
    ck_assert_int_eq (inbroker_fetch (broker, 1, group, false, &error), SF_CMD_GROUP_RESULT);
    inbroker_msg_t *msg = inbroker_recv (broker, false, 1);
    char state [16];
    sf_status_t statuses [3];
    ck_assert_int_eq (inbroker_group_result (msg, state, statuses, 3), 3);
    ck_assert_str_eq (state, "ok");
    ck_assert_int_eq (statuses [0], SF_STATUS_DEAD);
    ck_assert_int_eq (statuses [1], SF_STATUS_OK);
    inbroker_msg_destroy (&msg);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_bytes_held_by_unfinished_jobs_only)
{
    //  bytes_held is the job maps of unfinished jobs: a dead letter keeps
    //  its map for a retry but holds no bytes, a retry holds them once
    //  again, and a purge or an eviction leaves the count as it is. (It
    //  drifted up: with --max-bytes 1024 one purged dead letter left the
    //  broker answering BUSY while it held nothing.)
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.max_bytes = 1024;
    config.dead_max = 1;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "fail", 4);
    char big [700];
    snprintf (big, sizeof big, "{\"analyzer\": \"fail\", \"retries\": 1, \"backoff_ms\": 0, "
              "\"params\": {\"message\": \"%0600d\"}}", 0);
    uint8_t first [SF_UUID_SIZE], second [SF_UUID_SIZE];
    s_submit (broker, big, first);
    size_t spec_size = s_entry (broker, first)->spec_size;
    ck_assert_uint_gt (spec_size, 600);
    ck_assert_uint_eq (b->bytes_held, spec_size);
    for (int attempt = 1; attempt <= 2; attempt++) {
        inbroker_result (broker, 0, first, s_one_dispatch (broker, 0, first), "error",
                         "{\"code\": \"TRANSIENT\"}");
        inbroker_advance (broker, 0);
    }
    ck_assert_int_eq (s_entry (broker, first)->status, SF_STATUS_DEAD);
    ck_assert_uint_eq (b->bytes_held, 0);
    S_CHECK (broker);

    //  Retried: held once
    sf_error_t error;
    ck_assert_int_eq (inbroker_dead (broker, 0, "retry", first, &error), 1);
    ck_assert_uint_eq (b->bytes_held, spec_size);
    S_CHECK (broker);
    for (int attempt = 1; attempt <= 2; attempt++) {
        inbroker_result (broker, 0, first, s_one_dispatch (broker, 0, first), "error",
                         "{\"code\": \"TRANSIENT\"}");
        inbroker_advance (broker, 0);
    }
    ck_assert_uint_eq (b->bytes_held, 0);

    //  Purged: the next big job is taken, not refused BUSY
    ck_assert_int_eq (inbroker_dead (broker, 0, "purge", first, &error), 1);
    ck_assert_uint_eq (b->bytes_held, 0);
    s_submit (broker, big, second);
    ck_assert_uint_eq (b->bytes_held, spec_size);
    S_CHECK (broker);

    //  Two dead letters with --dead-max 1: one evicted, nothing held
    for (int attempt = 1; attempt <= 2; attempt++) {
        inbroker_result (broker, 0, second, s_one_dispatch (broker, 0, second), "error",
                         "{\"code\": \"TRANSIENT\"}");
        inbroker_advance (broker, 0);
    }
    s_submit (broker, big, first);
    for (int attempt = 1; attempt <= 2; attempt++) {
        inbroker_result (broker, 0, first, s_one_dispatch (broker, 0, first), "error",
                         "{\"code\": \"TRANSIENT\"}");
        inbroker_advance (broker, 0);
    }
    inbroker_duty (broker, SF_DUTY_PURGE);
    ck_assert_uint_eq (sf_ledger_dead_count (b->ledger), 1);
    ck_assert_uint_eq (b->bytes_held, 0);
    S_CHECK (broker);
    s_submit (broker, big, second);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_worker_reports_ok_or_error_only)
{
    //  A worker reporting "dead" ended a job at attempt 1 with its retries
    //  left. Workers report "ok" or "error"; any other status makes the
    //  item malformed: refused, and the job stays with the worker
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t id [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\", \"retries\": 3}", id);
    uint32_t attempt = s_one_dispatch (broker, 0, id);
    sf_entry_t *entry = s_entry (broker, id);
    const char *refused [] = { "dead", "timeout", "cancelled" };
    for (int i = 0; i < 3; i++) {
        inbroker_result (broker, 0, id, attempt, refused [i],
                         "{\"code\": \"ANALYSIS\", \"message\": \"no\"}");
        ck_assert_int_eq (entry->state, SF_JOB_RUNNING);
        ck_assert_uint_eq (entry->attempt, 1);
        ck_assert_uint_eq (b->counters.malformed, (uint64_t) i + 1);
        inbroker_msg_t *msg = inbroker_recv (broker, true, 0);
        ck_assert_ptr_nonnull (msg);
        ck_assert_int_eq (msg->command, SF_CMD_ERROR);
        ck_assert (memmem (msg->body, msg->size, "PROTOCOL", 8));
        inbroker_msg_destroy (&msg);
        S_CHECK (broker);
    }
    ck_assert_uint_eq (sf_ledger_dead_count (b->ledger), 0);
    inbroker_result (broker, 0, id, attempt, "ok", "{}");
    ck_assert_int_eq (entry->status, SF_STATUS_OK);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

//  The next GROUP_RESULT client was sent (the others dropped), its state
//  and statuses (room for max); returns its item count, -1 when none came.
static int
s_group_answer (inbroker_t *broker, int client, char state [16], sf_status_t *statuses,
                size_t max)
{
    inbroker_msg_t *msg;
    while ((msg = inbroker_recv (broker, false, client)) && msg->command != SF_CMD_GROUP_RESULT)
        inbroker_msg_destroy (&msg);
    if (!msg)
        return -1;
    int count = inbroker_group_result (msg, state, statuses, max);
    inbroker_msg_destroy (&msg);
    return count;
}

//  A group of one echo item and an echo chord; the item finishes, so the
//  chord runs at worker 0. Returns the chord's entry.
static sf_entry_t *
s_group_with_running_chord (inbroker_t *broker, const char *options,
                            uint8_t group [SF_UUID_SIZE])
{
    inbroker_ready (broker, 0, "w1", "echo", 4);
    const char *jobs [] = { "{\"analyzer\": \"echo\"}", "{\"analyzer\": \"echo\"}" };
    uint8_t ids [2] [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert (inbroker_group (broker, 0, options, jobs, 2, group, ids, &error) == 0);
    inbroker_advance (broker, 100);
    inbroker_result (broker, 0, ids [0], s_one_dispatch (broker, 0, ids [0]), "ok", "{}");
    sf_group_t *kept = sf_groups_find (inbroker_broker (broker)->groups, group);
    ck_assert (kept->launched && !kept->answered);
    sf_entry_t *chord = kept->then;
    s_one_dispatch (broker, 0, chord->id);
    ck_assert_int_eq (chord->state, SF_JOB_RUNNING);
    inbroker_count (broker, false, 0, -1);
    S_CHECK (broker);
    return chord;
}

START_TEST (test_cancel_reaches_the_chord)
{
    //  CANCEL of a group whose chord runs cancels the chord, and the group
    //  answers cancelled (it answered "finished", cancelled nothing, and
    //  the group went on)
    inbroker_t *broker = s_broker (NULL);
    uint8_t group [SF_UUID_SIZE];
    sf_entry_t *chord = s_group_with_running_chord (broker, "{\"then\": true}", group);
    char outcome [16];
    sf_error_t error;
    ck_assert (inbroker_cancel (broker, 0, group, outcome, &error) == 0);
    ck_assert_str_eq (outcome, "cancelled");
    ck_assert_int_eq (chord->status, SF_STATUS_CANCELLED);
    ck_assert_uint_eq (inbroker_count (broker, true, 0, SF_CMD_STOP), 1);
    char state [16];
    sf_status_t statuses [2];
    ck_assert_int_eq (s_group_answer (broker, 0, state, statuses, 2), 2);
    ck_assert_str_eq (state, "cancelled");
    ck_assert_int_eq (statuses [0], SF_STATUS_OK);
    ck_assert_int_eq (statuses [1], SF_STATUS_CANCELLED);
    S_CHECK (broker);
    //  Answered: a second cancel is too late
    ck_assert (inbroker_cancel (broker, 0, group, outcome, &error) == 0);
    ck_assert_str_eq (outcome, "finished");
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_group_deadline_covers_the_chord)
{
    //  A group's timeout_ms is its deadline until it answers, chord
    //  included: a 500 ms group whose chord still runs at 500 ms ends
    //  timeout then (it was answered ok when the chord ended, seconds later)
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    uint8_t group [SF_UUID_SIZE];
    sf_entry_t *chord = s_group_with_running_chord (broker,
                                                    "{\"then\": true, \"timeout_ms\": 500}",
                                                    group);
    sf_group_t *kept = sf_groups_find (b->groups, group);
    inbroker_advance (broker, 399);             //  499 ms after acceptance
    ck_assert (!kept->answered);
    inbroker_advance (broker, 1);
    ck_assert (kept->answered);
    ck_assert_int_eq (chord->status, SF_STATUS_TIMEOUT);
    char state [16];
    sf_status_t statuses [2];
    ck_assert_int_eq (s_group_answer (broker, 0, state, statuses, 2), 2);
    ck_assert_str_eq (state, "timeout");
    ck_assert_int_eq (statuses [0], SF_STATUS_OK);
    ck_assert_int_eq (statuses [1], SF_STATUS_TIMEOUT);
    ck_assert_uint_eq (sf_timeq_size (b->timeq), 0);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_own_waiting_fetch_answered_once)
{
    //  The group's own client is sent its answer once, also when it
    //  waits on the group with FETCH; another client's FETCH gets its own
    inbroker_t *broker = s_broker (NULL);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    const char *jobs [] = { "{\"analyzer\": \"echo\"}", "{\"analyzer\": \"echo\"}" };
    uint8_t group [SF_UUID_SIZE], ids [2] [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert (inbroker_group (broker, 0, "{}", jobs, 2, group, ids, &error) == 0);
    ck_assert_int_eq (inbroker_fetch (broker, 0, group, true, &error), 0);
    ck_assert_int_eq (inbroker_fetch (broker, 1, group, true, &error), 0);
    uint8_t sent [S_MAX] [SF_UUID_SIZE];
    uint32_t attempts [S_MAX];
    ck_assert_uint_eq (inbroker_dispatched (broker, 0, sent, attempts, S_MAX), 2);
    inbroker_result (broker, 0, sent [0], attempts [0], "ok", "{}");
    inbroker_result (broker, 0, sent [1], attempts [1], "ok", "{}");
    ck_assert_uint_eq (inbroker_count (broker, false, 0, SF_CMD_GROUP_RESULT), 1);
    ck_assert_uint_eq (inbroker_count (broker, false, 1, SF_CMD_GROUP_RESULT), 1);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_jobs");
    TCase *jobs = tcase_create ("jobs");
    tcase_set_timeout (jobs, 30);
    tcase_add_test (jobs, test_accept_dispatch_finish);
    tcase_add_test (jobs, test_retry_with_backoff_then_dead);
    tcase_add_test (jobs, test_deadline_stops_the_worker);
    tcase_add_test (jobs, test_worker_deaths_make_a_poison_job);
    tcase_add_test (jobs, test_disconnect_is_not_a_death);
    tcase_add_test (jobs, test_cancel_wherever_it_is);
    tcase_add_test (jobs, test_revive_and_forget);
    tcase_add_test (jobs, test_chain_follow_up);
    tcase_add_test (jobs, test_bytes_held_by_unfinished_jobs_only);
    tcase_add_test (jobs, test_worker_reports_ok_or_error_only);
    suite_add_tcase (suite, jobs);
    TCase *groups = tcase_create ("groups");
    tcase_set_timeout (groups, 30);
    tcase_add_test (groups, test_group_fail_fast_cancels_the_rest);
    tcase_add_test (groups, test_group_deadline_at_its_instant);
    tcase_add_test (groups, test_retention_forgets_groups_with_their_jobs);
    tcase_add_test (groups, test_dead_retry_of_a_group_item);
    tcase_add_test (groups, test_dead_purge_of_a_group_item);
    tcase_add_test (groups, test_cancel_reaches_the_chord);
    tcase_add_test (groups, test_group_deadline_covers_the_chord);
    tcase_add_test (groups, test_own_waiting_fetch_answered_once);
    suite_add_tcase (suite, groups);
    return suite_run (suite);
}
