/*  =========================================================================
    check_sf_broker - the broker's limits, in process: what one job, one
    result, one batch and one peer may make the broker keep or send, and
    the loop's own resources (its sockets' message limit, its deadline
    timer, the worker names results point to)

    A real sf_broker driven message by message (inbroker), with limits set
    small so that the sizes a test sends are cheap (1 MiB limits, 2 MiB
    messages).
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include "inbroker.h"

#define S_MIB (1024 * 1024)

static inbroker_t *
s_broker (const sf_broker_config_t *config)
{
    inbroker_quiet (true);
    sf_error_t error;
    inbroker_t *broker = inbroker_new (config, &error);
    ck_assert_msg (broker, "%s", error.message);
    return broker;
}

//  A job for analyzer with a "note" param of size bytes (the caller frees).
static char *
s_job (const char *analyzer, size_t size)
{
    char *job = (char *) malloc (size + 128);
    ck_assert_ptr_nonnull (job);
    int head = snprintf (job, 128, "{\"analyzer\": \"%s\", \"params\": {\"note\": \"", analyzer);
    memset (job + head, 'x', size);
    strcpy (job + head + size, "\"}}");
    return job;
}

//  The single job worker was sent: its attempt.
static uint32_t
s_one_dispatch (inbroker_t *broker, int worker, const uint8_t id [SF_UUID_SIZE])
{
    uint8_t ids [4] [SF_UUID_SIZE];
    uint32_t attempts [4];
    ck_assert_uint_eq (inbroker_dispatched (broker, worker, ids, attempts, 4), 1);
    ck_assert (memcmp (ids [0], id, SF_UUID_SIZE) == 0);
    return attempts [0];
}

//  ==========================================================================
//  One job, one result

START_TEST (test_job_over_max_job_bytes_is_refused)
{
    //  A job over --max-job-bytes is refused whole, before it is kept,
    //  with a final error naming the limit and the size (it was accepted
    //  under any --max-bytes once its size wrapped in 32 bits)
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.max_job_bytes = S_MIB;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    char *job = s_job ("echo", 2 * S_MIB);
    uint8_t id [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert_int_eq (inbroker_submit (broker, 0, job, id, &error), -1);
    ck_assert_str_eq (error.code, "TOO_LARGE");
    ck_assert_msg (strstr (error.message, "--max-job-bytes 1048576"), "%s", error.message);
    ck_assert_msg (strstr (error.message, "job 0 is 20971"), "%s", error.message);
    ck_assert_uint_eq (b->unfinished, 0);
    ck_assert_uint_eq (b->bytes_held, 0);
    ck_assert_uint_eq (b->counters.too_large, 1);
    free (job);

    //  Just under the limit is taken
    job = s_job ("echo", S_MIB - 200);
    ck_assert_int_eq (inbroker_submit (broker, 0, job, id, &error), 0);
    free (job);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_result_over_max_result_bytes_ends_the_job)
{
    //  A result over --max-result-bytes is neither kept nor delivered: the
    //  job ends error RESULT_TOO_LARGE (a 4 GiB result once arrived as 136
    //  bytes)
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.max_result_bytes = S_MIB;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t id [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert_int_eq (inbroker_submit (broker, 0, "{\"analyzer\": \"echo\"}", id, &error), 0);
    uint32_t attempt = s_one_dispatch (broker, 0, id);
    char *payload = (char *) malloc (2 * S_MIB + 32);
    ck_assert_ptr_nonnull (payload);
    strcpy (payload, "{\"big\": \"");
    memset (payload + 9, 'y', 2 * S_MIB);
    strcpy (payload + 9 + 2 * S_MIB, "\"}");
    inbroker_result (broker, 0, id, attempt, "ok", payload);
    free (payload);

    sf_entry_t *entry = sf_ledger_find (b->ledger, id);
    ck_assert_ptr_nonnull (entry);
    ck_assert_int_eq (entry->state, SF_JOB_FINISHED);
    ck_assert_int_eq (entry->status, SF_STATUS_ERROR);
    ck_assert_uint_lt (entry->payload_size, 1024);
    ck_assert_uint_eq (b->counters.too_large, 1);

    //  The client is sent the error, not the result
    inbroker_msg_t *msg = inbroker_recv (broker, false, 0);
    ck_assert_ptr_nonnull (msg);
    ck_assert_int_eq (msg->command, SF_CMD_RESULT);
    ck_assert_uint_lt (msg->size, 4096);
    ck_assert (memmem (msg->body, msg->size, "RESULT_TOO_LARGE", 16));
    ck_assert (memmem (msg->body, msg->size, "--max-result-bytes 1048576", 26));
    inbroker_msg_destroy (&msg);
    inbroker_destroy (&broker);
}
END_TEST

//  ==========================================================================
//  A batch, and BUSY

START_TEST (test_batch_over_a_limit_is_too_large)
{
    //  A batch that alone passes --max-jobs, --max-queued or --max-bytes
    //  can never be taken: a final TOO_LARGE, not a BUSY that the client
    //  library would retry for 30 s against an empty broker
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.max_jobs = 2;
    inbroker_t *broker = s_broker (&config);
    const char *jobs [] = { "{\"analyzer\": \"echo\"}", "{\"analyzer\": \"echo\"}",
                            "{\"analyzer\": \"echo\"}" };
    uint8_t group [SF_UUID_SIZE], ids [3] [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert_int_eq (inbroker_group (broker, 0, "{}", jobs, 3, group, ids, &error), -1);
    ck_assert_str_eq (error.code, "TOO_LARGE");
    ck_assert_msg (strstr (error.message, "3 jobs (limit --max-jobs 2)"), "%s", error.message);
    inbroker_destroy (&broker);

    config.max_jobs = 100;
    config.max_queued = 2;
    broker = s_broker (&config);
    ck_assert_int_eq (inbroker_group (broker, 0, "{}", jobs, 3, group, ids, &error), -1);
    ck_assert_str_eq (error.code, "TOO_LARGE");
    ck_assert_msg (strstr (error.message, "--max-queued 2"), "%s", error.message);
    inbroker_destroy (&broker);

    config.max_queued = 100;
    config.max_bytes = 40;
    broker = s_broker (&config);
    ck_assert_int_eq (inbroker_group (broker, 0, "{}", jobs, 3, group, ids, &error), -1);
    ck_assert_str_eq (error.code, "TOO_LARGE");
    ck_assert_msg (strstr (error.message, "--max-bytes 40"), "%s", error.message);
    //  One job fits: the broker is not merely busy
    ck_assert_int_eq (inbroker_group (broker, 0, "{}", jobs, 1, group, ids, &error), 0);
    ck_assert_uint_eq (inbroker_broker (broker)->counters.busy, 0);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_busy_hint_grows_while_nothing_finishes)
{
    //  With no worker nothing finishes: BUSY's retry_after_ms grows, not a
    //  10 ms floor that brings every client back a hundred times a second
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.max_jobs = 2;
    inbroker_t *broker = s_broker (&config);
    const char *job = "{\"analyzer\": \"echo\"}";
    uint8_t ids [3] [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert_int_eq (inbroker_submit (broker, 0, job, ids [0], &error), 0);
    ck_assert_int_eq (inbroker_submit (broker, 0, job, ids [1], &error), 0);
    uint64_t last = 0;
    for (int round = 0; round < 8; round++) {
        ck_assert_int_eq (inbroker_submit (broker, 0, job, ids [2], &error), -1);
        ck_assert_str_eq (error.code, "BUSY");
        uint64_t hint = inbroker_retry_after_ms (broker);
        ck_assert_uint_le (hint, 5000);
        if (round > 0)
            ck_assert_msg (hint > last || hint == 5000, "round %d: %llu after %llu", round,
                           (unsigned long long) hint, (unsigned long long) last);
        last = hint;
        inbroker_advance (broker, (int64_t) hint);
    }
    ck_assert_uint_eq (last, 5000);

    //  Once jobs finish, the hint follows the pace: two jobs finished in
    //  100 ms, the next BUSY is short again
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t sent [4] [SF_UUID_SIZE];
    uint32_t attempts [4];
    ck_assert_uint_eq (inbroker_dispatched (broker, 0, sent, attempts, 4), 2);
    inbroker_advance (broker, 100);
    for (int i = 0; i < 2; i++)
        inbroker_result (broker, 0, sent [i], attempts [i], "ok", "{}");
    ck_assert_int_eq (inbroker_submit (broker, 0, job, ids [0], &error), 0);
    ck_assert_int_eq (inbroker_submit (broker, 0, job, ids [1], &error), 0);
    ck_assert_int_eq (inbroker_submit (broker, 0, job, ids [2], &error), -1);
    ck_assert_str_eq (error.code, "BUSY");
    ck_assert_uint_lt (inbroker_retry_after_ms (broker), 5000);
    inbroker_destroy (&broker);
}
END_TEST

//  ==========================================================================
//  The loop's resources

START_TEST (test_sockets_take_no_message_over_the_limits)
{
    //  ZMQ_MAXMSGSIZE on both sockets, from the limits: a peer cannot make
    //  the broker allocate more than one message the limits allow
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.max_bytes = 4 * S_MIB;
    config.max_result_bytes = S_MIB;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    int64_t front = 0, back = 0;
    size_t size = sizeof front;
    ck_assert_int_eq (zmq_getsockopt (zsock_resolve (b->frontend), ZMQ_MAXMSGSIZE, &front,
                                      &size), 0);
    size = sizeof back;
    ck_assert_int_eq (zmq_getsockopt (zsock_resolve (b->backend), ZMQ_MAXMSGSIZE, &back,
                                      &size), 0);
    ck_assert_int_gt (front, 4 * S_MIB);
    ck_assert_int_le (front, 5 * S_MIB);
    ck_assert_int_gt (back, S_MIB + SF_STATE_MAX);
    ck_assert_int_le (back, 2 * S_MIB + SF_STATE_MAX);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_deadline_timer_armed_again_after_a_failure)
{
    //  A deadline timer that cannot be armed is tried again on the next
    //  pass; it once stayed marked armed, and no deadline fired again
    inbroker_t *broker = s_broker (NULL);
    sf_broker_t *b = inbroker_broker (broker);
    zloop_set_max_timers (b->loop, 2);      //  The heartbeat and retention timers
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t id [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert_int_eq (inbroker_submit (broker, 0, "{\"analyzer\": \"echo\"}", id, &error), 0);
    s_one_dispatch (broker, 0, id);
    ck_assert_int_eq (b->armed_us, 0);
    ck_assert_uint_ge (b->counters.arm_failed, 1);

    zloop_set_max_timers (b->loop, 0);
    inbroker_duty (broker, SF_DUTY_HEARTBEAT);
    ck_assert_int_eq (b->armed_us, sf_ledger_find (b->ledger, id)->due_us);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_worker_names_stay_bounded)
{
    //  Results point to one copy of their worker's name. Names that no
    //  kept result points to go: 10,000 workers that came and went (a
    //  default name changes with every restart) leave a bounded table
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.result_max = 10;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    static const char nil [1] = { (char) 0xc0 };
    for (int i = 0; i < 10000; i++) {
        char name [32];
        snprintf (name, sizeof name, "host-%d", i);
        inbroker_ready (broker, 0, name, "echo", 1);
        uint8_t id [SF_UUID_SIZE];
        sf_error_t error;
        ck_assert_int_eq (inbroker_submit (broker, 0, "{\"analyzer\": \"echo\"}", id,
                                           &error), 0);
        inbroker_result (broker, 0, id, s_one_dispatch (broker, 0, id), "ok", "{}");
        inbroker_send (broker, true, 0, SF_CMD_DISCONNECT, nil, sizeof nil);
        inbroker_count (broker, false, 0, -1);
        if (i % 100 == 99)
            inbroker_duty (broker, SF_DUTY_PURGE);
    }
    ck_assert_uint_le (zhashx_size (b->names), 2048);
    //  A kept result still names its worker
    inbroker_duty (broker, SF_DUTY_PURGE);
    size_t named = 0;
    for (sf_entry_t *entry = sf_ledger_first (b->ledger); entry;
         entry = sf_ledger_next (b->ledger))
        if (entry->worker_name && strncmp (entry->worker_name, "host-", 5) == 0)
            named++;
    ck_assert_uint_eq (named, 10);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_kept_results_bounded_in_bytes)
{
    //  Finished results are kept up to --result-max-bytes, the oldest
    //  evicted first (100 results of 10 MB were kept whole under the count
    //  limit, 1 GB); the newest stays whatever its size
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.result_max_bytes = 3 * S_MIB;
    inbroker_t *broker = s_broker (&config);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 1);
    char *payload = (char *) malloc (S_MIB + 32);
    ck_assert_ptr_nonnull (payload);
    strcpy (payload, "{\"big\": \"");
    memset (payload + 9, 'y', S_MIB);
    strcpy (payload + 9 + S_MIB, "\"}");
    uint8_t ids [10] [SF_UUID_SIZE];
    for (int i = 0; i < 10; i++) {
        sf_error_t error;
        ck_assert_int_eq (inbroker_submit (broker, 0, "{\"analyzer\": \"echo\"}", ids [i],
                                           &error), 0);
        inbroker_result (broker, 0, ids [i], s_one_dispatch (broker, 0, ids [i]), "ok", payload);
        inbroker_count (broker, false, 0, -1);
        ck_assert_uint_le (sf_ledger_finished_bytes (b->ledger), 3 * S_MIB);
    }
    free (payload);
    ck_assert_uint_eq (sf_ledger_finished_count (b->ledger), 2);
    ck_assert_ptr_null (sf_ledger_find (b->ledger, ids [7]));
    ck_assert_ptr_nonnull (sf_ledger_find (b->ledger, ids [8]));
    ck_assert_ptr_nonnull (sf_ledger_find (b->ledger, ids [9]));
    inbroker_destroy (&broker);
}
END_TEST

//  ==========================================================================
//  What one peer can make the broker send

//  The bytes of the messages with command waiting for client (dropped).
static size_t
s_waiting_bytes (inbroker_t *broker, int client, int command, size_t *count)
{
    size_t bytes = 0;
    *count = 0;
    inbroker_msg_t *msg;
    while ((msg = inbroker_recv (broker, false, client))) {
        if (msg->command == command) {
            bytes += msg->size;
            (*count)++;
        }
        inbroker_msg_destroy (&msg);
    }
    return bytes;
}

START_TEST (test_fetch_storm_bounded_per_peer)
{
    //  A client that FETCHes a finished result again and again without
    //  reading is sent --peer-max-bytes of copies a second, then BUSY (one
    //  10 MB result fetched 300 times made 3.1 GB of copies)
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.peer_max_bytes = 2 * S_MIB;
    inbroker_t *broker = s_broker (&config);
    inbroker_ready (broker, 0, "w1", "echo", 1);
    size_t size = S_MIB / 2;
    char *payload = (char *) malloc (size + 32);
    ck_assert_ptr_nonnull (payload);
    strcpy (payload, "{\"big\": \"");
    memset (payload + 9, 'y', size);
    strcpy (payload + 9 + size, "\"}");
    uint8_t id [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert_int_eq (inbroker_submit (broker, 0, "{\"analyzer\": \"echo\"}", id, &error), 0);
    inbroker_result (broker, 0, id, s_one_dispatch (broker, 0, id), "ok", payload);
    free (payload);
    //  The submitter is sent its result whatever the budget
    size_t count;
    ck_assert_uint_gt (s_waiting_bytes (broker, 0, SF_CMD_RESULT, &count), size);
    ck_assert_uint_eq (count, 1);

    for (int i = 0; i < 100; i++) {
        int reply = inbroker_fetch (broker, 1, id, false, &error);
        ck_assert (reply == SF_CMD_RESULT || (reply == -1 && streq (error.code, "BUSY")));
    }
    size_t bytes = s_waiting_bytes (broker, 1, SF_CMD_RESULT, &count);
    ck_assert_uint_eq (count, 3);      //  A fourth would pass 2 MiB by its headers
    ck_assert_uint_le (bytes, 2 * S_MIB + 4096);
    ck_assert_uint_eq (inbroker_broker (broker)->counters.over_budget, 97);

    //  A second later the budget is whole again
    inbroker_advance (broker, 1000);
    ck_assert_int_eq (inbroker_fetch (broker, 1, id, false, &error), SF_CMD_RESULT);
    inbroker_duty (broker, SF_DUTY_PURGE);
    inbroker_destroy (&broker);
}
END_TEST

START_TEST (test_status_reply_bounded)
{
    //  STATUS lists the 64 busiest queues and folds the rest into totals
    //  (4,096 queues made a 410 KB reply, each time it was asked)
    inbroker_t *broker = s_broker (NULL);
    for (int i = 0; i < 300; i++) {
        char job [64];
        snprintf (job, sizeof job, "{\"analyzer\": \"analyzer-%03d\"}", i);
        uint8_t id [SF_UUID_SIZE];
        sf_error_t error;
        ck_assert_int_eq (inbroker_submit (broker, 0, job, id, &error), 0);
    }
    uint8_t id [SF_UUID_SIZE];
    sf_error_t error;
    ck_assert_int_eq (inbroker_submit (broker, 0, "{\"analyzer\": \"analyzer-299\"}", id,
                                       &error), 0);
    inbroker_count (broker, false, 0, -1);
    char body [16];
    msgpack_sbuffer buffer = { 0, body, sizeof body };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_kv_uint (&pk, "tag", 1);
    inbroker_send (broker, false, 0, SF_CMD_STATUS, buffer.data, buffer.size);
    inbroker_msg_t *msg = inbroker_recv (broker, false, 0);
    ck_assert_ptr_nonnull (msg);
    ck_assert_int_eq (msg->command, SF_CMD_STATUS_REPLY);
    ck_assert_uint_lt (msg->size, 8192);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    ck_assert (msgpack_unpack_next (&unpacked, msg->body, msg->size, NULL)
               == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *status = sf_mp_get (&unpacked.data, "status");
    ck_assert_ptr_nonnull (status);
    const msgpack_object *queues = sf_mp_get (status, "queues");
    ck_assert_uint_eq (queues->via.array.size, 64);
    //  The busiest first: the queue with two jobs
    char name [SF_NAME_MAX + 1];
    ck_assert_int_eq (sf_mp_strcpy (sf_mp_get (&queues->via.array.ptr [0], "analyzer"), name,
                                    sizeof name), 0);
    ck_assert_str_eq (name, "analyzer-299");
    uint64_t folded = 0, queued = 0;
    const msgpack_object *fold = sf_mp_get (status, "queues_folded");
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (fold, "count"), UINT64_MAX, &folded), 0);
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (fold, "queued"), UINT64_MAX, &queued), 0);
    ck_assert_uint_eq (folded, 236);
    ck_assert_uint_eq (queued, 236);
    msgpack_unpacked_destroy (&unpacked);
    inbroker_msg_destroy (&msg);
    inbroker_destroy (&broker);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_broker");
    TCase *sizes = tcase_create ("sizes");
    tcase_set_timeout (sizes, 60);
    tcase_add_test (sizes, test_job_over_max_job_bytes_is_refused);
    tcase_add_test (sizes, test_result_over_max_result_bytes_ends_the_job);
    tcase_add_test (sizes, test_batch_over_a_limit_is_too_large);
    tcase_add_test (sizes, test_busy_hint_grows_while_nothing_finishes);
    tcase_add_test (sizes, test_kept_results_bounded_in_bytes);
    suite_add_tcase (suite, sizes);
    TCase *loop = tcase_create ("loop");
    tcase_set_timeout (loop, 60);
    tcase_add_test (loop, test_sockets_take_no_message_over_the_limits);
    tcase_add_test (loop, test_deadline_timer_armed_again_after_a_failure);
    tcase_add_test (loop, test_worker_names_stay_bounded);
    suite_add_tcase (suite, loop);
    TCase *peers = tcase_create ("peers");
    tcase_set_timeout (peers, 60);
    tcase_add_test (peers, test_fetch_storm_bounded_per_peer);
    tcase_add_test (peers, test_status_reply_bounded);
    suite_add_tcase (suite, peers);
    return suite_run (suite);
}
