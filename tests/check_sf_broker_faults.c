/*  =========================================================================
    check_sf_broker_faults - the broker over a journal whose writes or syncs fail
    (ENOSPC, EIO, EPERM, injected through the journal's I/O seam), in
    process (inbroker): a submit whose commit failed is answered STORE,
    never dispatched and unknown afterwards, after a restart too; a result
    whose commit failed reaches nobody until a later commit succeeds, then
    exactly once; after a restart nothing that was delivered runs again.
    The broker is degraded meanwhile: STATUS says so and why, SUBMIT and
    GROUP get BUSY naming the store's error with a retry hint, passes do
    no I/O and dispatch nothing, its retry timer commits, and once a
    commit succeeds every job acknowledged before ends in one final status,
    delivered once; entering and leaving are logged once each
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include "inbroker.h"
#include "sf_journal.h"

#define S_CHECK(b)                                                              \
    do {                                                                        \
        char why_ [256];                                                        \
        ck_assert_msg (inbroker_check ((b), why_, sizeof why_) == 0, "%s", why_); \
    } while (0)

//  Room for the jobs a test's worker is sent.
#define S_MAX 64

//  --------------------------------------------------------------------------
//  The journal's directory, and the faults

static char s_dir [256];        //  This test's journal directory
static char s_store [300];      //  journal:DIR

static struct {
    int pwrite;                 //  errno of every write (0: writes work)
    int fdatasync;              //  errno of every sync (0: syncs work)
    size_t calls;               //  Writes and syncs attempted
} s_fault;

static ssize_t
s_fault_pwrite (int fd, const void *data, size_t size, off_t offset)
{
    s_fault.calls++;
    if (!s_fault.pwrite)
        return pwrite (fd, data, size, offset);
    errno = s_fault.pwrite;
    return -1;
}

static int
s_fault_fdatasync (int fd)
{
    s_fault.calls++;
    if (!s_fault.fdatasync)
        return fdatasync (fd);
    errno = s_fault.fdatasync;
    return -1;
}

static const sf_journal_io_t s_fault_io = {
    .pwrite = s_fault_pwrite, .fdatasync = s_fault_fdatasync
};

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/sheaf-broker-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
    snprintf (s_store, sizeof s_store, "journal:%s", s_dir);
    memset (&s_fault, 0, sizeof s_fault);
    sf_journal_set_default_io (&s_fault_io);
}

static int
s_remove_one (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void) info, (void) flag, (void) ftw;
    return remove (path);
}

static void
s_teardown (void)
{
    sf_journal_set_default_io (NULL);
    nftw (s_dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

//  The loop index's fault: the write (0-2) or the sync (3-5) fails with
//  ENOSPC, EIO or EPERM. Its errno goes to *code.
static void
s_fail (int index, int *code)
{
    static const int errnos [] = { ENOSPC, EIO, EPERM };
    *code = errnos [index % 3];
    if (index >= 3)
        s_fault.fdatasync = *code;
    else
        s_fault.pwrite = *code;
}

static void
s_heal (void)
{
    memset (&s_fault, 0, sizeof s_fault);
}

//  --------------------------------------------------------------------------
//  Helpers

static inbroker_t *
s_broker (void)
{
    inbroker_quiet (true);
    sf_error_t error;
    inbroker_t *broker = inbroker_new_store (NULL, s_store, &error);
    ck_assert_msg (broker, "%s", error.message);
    return broker;
}

//  Stop the broker and start another on the same journal.
static inbroker_t *
s_restart (inbroker_t **broker_p)
{
    inbroker_destroy (broker_p);
    return s_broker ();
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

//  How many jobs worker was sent since it last looked.
static size_t
s_dispatches (inbroker_t *broker, int worker)
{
    uint8_t ids [S_MAX] [SF_UUID_SIZE];
    uint32_t attempts [S_MAX];
    return inbroker_dispatched (broker, worker, ids, attempts, S_MAX);
}

//  The RESULT items client was sent (their ids into ids, room for max).
static size_t
s_results (inbroker_t *broker, int client, uint8_t (*ids) [SF_UUID_SIZE], size_t max)
{
    size_t count = 0;
    inbroker_msg_t *msg;
    while ((msg = inbroker_recv (broker, false, client))) {
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
                    memcpy (ids [count], result.id, SF_UUID_SIZE);
                count++;
            }
            sf_batchr_close (&reader);
        }
        inbroker_msg_destroy (&msg);
    }
    return count;
}

//  What STATUS says of the store, asked by client 7: degraded, and why
//  (room for size).
static bool
s_status (inbroker_t *broker, char *why, size_t size)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_kv_uint (&pk, "tag", 1);
    inbroker_send (broker, false, 7, SF_CMD_STATUS, body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    inbroker_msg_t *reply = inbroker_recv (broker, false, 7);
    ck_assert_ptr_nonnull (reply);
    ck_assert_int_eq (reply->command, SF_CMD_STATUS_REPLY);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *problem;
    ck_assert_int_eq (sf_mp_next (&unpacked, reply->body, reply->size, &offset, &map, NULL,
                                  NULL, &problem), 0);
    const msgpack_object *status = sf_mp_get (&map, "status");
    const msgpack_object *degraded = sf_mp_get (status, "degraded");
    ck_assert (degraded && degraded->type == MSGPACK_OBJECT_BOOLEAN);
    const msgpack_object *text = sf_mp_get (status, "store_error");
    ck_assert (text && text->type == MSGPACK_OBJECT_STR && text->via.str.size < size);
    memcpy (why, text->via.str.ptr, text->via.str.size);
    why [text->via.str.size] = 0;
    bool answer = degraded->via.boolean;
    msgpack_unpacked_destroy (&unpacked);
    inbroker_msg_destroy (&reply);
    return answer;
}

//  The broker's retry timer: it commits what waits.
static void
s_commit_again (inbroker_t *broker)
{
    inbroker_duty (broker, SF_DUTY_STORE);
}

//  --------------------------------------------------------------------------

//  A commit that fails refuses the submit and the group of its pass:
//  answered STORE, never dispatched, unknown to the ledger, the keys, the
//  groups and the counts, then and after a restart.
START_TEST (test_failed_commit_refuses_the_submit)
{
    inbroker_t *broker = s_broker ();
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t kept [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\", \"key\": \"kept\"}", kept);
    s_one_dispatch (broker, 0, kept);

    int code;
    s_fail (_i, &code);
    sf_error_t error;
    uint8_t id [SF_UUID_SIZE];
    ck_assert_int_eq (inbroker_submit (broker, 0, "{\"analyzer\": \"echo\", \"key\": \"refused\"}",
                                       id, &error), -1);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_msg (strstr (error.message, strerror (code)), "%s", error.message);
    //  A GROUP in a pass of its own whose commit fails, the same way
    s_heal ();
    s_commit_again (broker);
    s_fail (_i, &code);
    const char *items [] = { "{\"analyzer\": \"echo\"}", "{\"analyzer\": \"echo\"}" };
    uint8_t group [SF_UUID_SIZE], ids [2] [SF_UUID_SIZE];
    ck_assert_int_eq (inbroker_group (broker, 0, "{\"key\": \"gk\"}", items, 2, group, ids,
                                      &error), -1);
    ck_assert_str_eq (error.code, "STORE");
    //  Nothing of them is left: not queued, not dispatched, not counted
    ck_assert_uint_eq (b->counters.submitted, 1);
    ck_assert_uint_eq (b->unfinished, 1);
    ck_assert_uint_eq (sf_ledger_size (b->ledger), 1);
    ck_assert_ptr_null (sf_ledger_find_key (b->ledger, "refused", 7));
    ck_assert_uint_eq (sf_groups_size (b->groups), 0);
    ck_assert_uint_eq (s_dispatches (broker, 0), 0);
    S_CHECK (broker);

    //  Once the fault is gone, the same key and group key make new ones
    s_heal ();
    s_commit_again (broker);
    ck_assert_uint_eq (s_dispatches (broker, 0), 0);
    uint8_t again [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\", \"key\": \"refused\"}", again);
    ck_assert_uint_eq (b->counters.deduplicated, 0);
    s_one_dispatch (broker, 0, again);
    ck_assert_int_eq (inbroker_group (broker, 0, "{\"key\": \"gk\"}", items, 2, group, ids,
                                      &error), 0);
    ck_assert_uint_eq (b->counters.deduplicated, 0);
    ck_assert_uint_eq (s_dispatches (broker, 0), 2);
    S_CHECK (broker);

    //  A restart knows the jobs that were acknowledged, and only those
    broker = s_restart (&broker);
    b = inbroker_broker (broker);
    ck_assert_uint_eq (sf_ledger_size (b->ledger), 4);
    ck_assert_ptr_nonnull (sf_ledger_find (b->ledger, kept));
    ck_assert_ptr_nonnull (sf_ledger_find (b->ledger, again));
    ck_assert (memcmp (sf_ledger_find_key (b->ledger, "refused", 7)->id, again,
                       SF_UUID_SIZE) == 0);
    ck_assert_uint_eq (sf_groups_size (b->groups), 1);
    ck_assert (memcmp (sf_groups_find_key (b->groups, "gk")->id, group, SF_UUID_SIZE) == 0);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

//  A result whose commit failed is held: neither its submitter nor a
//  client fetching it hears of it until a commit succeeds, then each once;
//  after a restart the job is finished, not queued again.
START_TEST (test_result_held_until_a_commit_succeeds)
{
    inbroker_t *broker = s_broker ();
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    uint8_t id [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"echo\"}", id);
    uint32_t attempt = s_one_dispatch (broker, 0, id);

    int code;
    s_fail (_i, &code);
    inbroker_result (broker, 0, id, attempt, "ok", "{\"x\": 1}");
    ck_assert_int_eq (sf_ledger_find (b->ledger, id)->state, SF_JOB_FINISHED);
    uint8_t got [S_MAX] [SF_UUID_SIZE];
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 0);
    sf_error_t error;
    ck_assert_int_eq (inbroker_fetch (broker, 1, id, false, &error), 0);
    ck_assert_uint_eq (inbroker_count (broker, false, 1, -1), 0);
    //  Passes go on, the commit is retried; the store still fails, and still
    //  nothing is sent
    char why [256];
    ck_assert (s_status (broker, why, sizeof why));
    s_commit_again (broker);
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 0);
    ck_assert_uint_eq (inbroker_count (broker, false, 1, -1), 0);
    S_CHECK (broker);

    s_heal ();
    s_commit_again (broker);
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 1);
    ck_assert (memcmp (got [0], id, SF_UUID_SIZE) == 0);
    ck_assert_uint_eq (s_results (broker, 1, got, S_MAX), 1);
    ck_assert (memcmp (got [0], id, SF_UUID_SIZE) == 0);
    s_commit_again (broker);
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 0);
    ck_assert_uint_eq (s_results (broker, 1, got, S_MAX), 0);

    //  What was delivered stays finished: nothing runs again
    broker = s_restart (&broker);
    b = inbroker_broker (broker);
    sf_entry_t *entry = sf_ledger_find (b->ledger, id);
    ck_assert_ptr_nonnull (entry);
    ck_assert_int_eq (entry->state, SF_JOB_FINISHED);
    ck_assert_int_eq (entry->status, SF_STATUS_OK);
    ck_assert_uint_eq (b->unfinished, 0);
    inbroker_ready (broker, 0, "w1", "echo", 4);
    ck_assert_uint_eq (s_dispatches (broker, 0), 0);
    S_CHECK (broker);
    inbroker_destroy (&broker);
}
END_TEST

//  SUBMIT one job from client, expecting ERROR BUSY: its message into
//  message (room for size), its retry_after_ms returned.
static uint64_t
s_submit_busy (inbroker_t *broker, int client, char *message, size_t size)
{
    sf_batchw_t batch;
    sf_batchw_init (&batch);
    sf_batchw_reset (&batch, 77);
    msgpack_pack_map (&batch.packer, 1);
    sf_mp_pack_kv_str (&batch.packer, "analyzer", "echo");
    sf_batchw_item (&batch);
    sf_batchw_finish (&batch);
    inbroker_send (broker, false, client, SF_CMD_SUBMIT, batch.buffer.data, batch.buffer.size);
    sf_batchw_destroy (&batch);
    inbroker_msg_t *reply = inbroker_recv (broker, false, client);
    ck_assert_ptr_nonnull (reply);
    ck_assert_int_eq (reply->command, SF_CMD_ERROR);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object map;
    const char *problem;
    ck_assert_int_eq (sf_mp_next (&unpacked, reply->body, reply->size, &offset, &map, NULL,
                                  NULL, &problem), 0);
    char code [32];
    uint64_t tag, retry_ms;
    ck_assert_int_eq (sf_mp_strcpy (sf_mp_get (&map, "code"), code, sizeof code), 0);
    ck_assert_str_eq (code, "BUSY");
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (&map, "tag"), UINT64_MAX, &tag), 0);
    ck_assert_uint_eq (tag, 77);
    ck_assert_int_eq (sf_mp_strcpy (sf_mp_get (&map, "message"), message, size), 0);
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (&map, "retry_after_ms"), UINT64_MAX, &retry_ms),
                      0);
    msgpack_unpacked_destroy (&unpacked);
    inbroker_msg_destroy (&reply);
    return retry_ms;
}

//  Lines of the log file that hold text.
static int
s_log_lines (FILE *log, const char *text)
{
    fflush (log);
    rewind (log);
    char line [2048];
    int count = 0;
    while (fgets (line, sizeof line, log))
        count += strstr (line, text) != NULL;
    return count;
}

//  A failed commit degrades the broker until a commit succeeds: it says
//  so, refuses submits with BUSY, holds results, dispatches nothing and
//  does no I/O in its passes; its timer retries; then every job it had
//  acknowledged ends once, delivered once, and a restart runs none of the
//  finished ones again.
START_TEST (test_degraded_until_a_commit_succeeds)
{
    inbroker_t *broker = s_broker ();
    FILE *log = tmpfile ();
    ck_assert_ptr_nonnull (log);
    zsys_set_logstream (log);
    sf_broker_t *b = inbroker_broker (broker);
    inbroker_ready (broker, 0, "w1", "echo", 2);
    uint8_t acked [3] [SF_UUID_SIZE];
    for (int i = 0; i < 3; i++)
        s_submit (broker, "{\"analyzer\": \"echo\"}", acked [i]);
    uint8_t sent [S_MAX] [SF_UUID_SIZE];
    uint32_t attempts [S_MAX];
    ck_assert_uint_eq (inbroker_dispatched (broker, 0, sent, attempts, S_MAX), 2);
    char why [256];
    ck_assert (!s_status (broker, why, sizeof why));
    ck_assert_str_eq (why, "");

    //  The first result's commit fails: degraded, and says why
    int code;
    s_fail (_i, &code);
    inbroker_result (broker, 0, sent [0], attempts [0], "ok", "{\"n\": 0}");
    ck_assert (s_status (broker, why, sizeof why));
    ck_assert_msg (strstr (why, strerror (code)), "%s", why);
    ck_assert_uint_eq (b->counters.commit_failures, 1);

    //  Submits and groups are refused with BUSY, naming the store's error
    char message [256];
    uint64_t retry_ms = s_submit_busy (broker, 1, message, sizeof message);
    ck_assert_msg (strstr (message, "store") && strstr (message, strerror (code)), "%s",
                   message);
    ck_assert_uint_ge (retry_ms, 100);
    ck_assert_uint_le (retry_ms, 5000);
    sf_error_t error;
    const char *items [] = { "{\"analyzer\": \"echo\"}" };
    uint8_t group [SF_UUID_SIZE], ids [1] [SF_UUID_SIZE];
    ck_assert_int_eq (inbroker_group (broker, 1, "{}", items, 1, group, ids, &error), -1);
    ck_assert_str_eq (error.code, "BUSY");
    ck_assert_uint_eq (b->counters.busy, 2);

    //  Passes only stage: no write, no sync, no dispatch (the worker has a
    //  free slot and a job waits), no result
    size_t calls = s_fault.calls;
    inbroker_result (broker, 0, sent [1], attempts [1], "ok", "{\"n\": 1}");
    ck_assert (s_status (broker, why, sizeof why));
    ck_assert_uint_eq (s_fault.calls, calls);
    ck_assert_uint_eq (s_dispatches (broker, 0), 0);
    uint8_t got [S_MAX] [SF_UUID_SIZE];
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 0);
    S_CHECK (broker);

    //  The timer retries while the fault lasts, and fails again
    for (int retry = 0; retry < 3; retry++) {
        s_commit_again (broker);
        ck_assert (s_status (broker, why, sizeof why));
    }
    ck_assert_uint_gt (s_fault.calls, calls);
    ck_assert_uint_eq (b->counters.commit_failures, 4);
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 0);

    //  The fault clears: the next retry ends it and delivers what waited
    s_heal ();
    s_commit_again (broker);
    ck_assert (!s_status (broker, why, sizeof why));
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 2);
    int seen [3] = { 0 };
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            seen [j] += memcmp (got [i], acked [j], SF_UUID_SIZE) == 0;
    uint32_t attempt = s_one_dispatch (broker, 0, acked [2]);
    inbroker_result (broker, 0, acked [2], attempt, "ok", "{\"n\": 2}");
    ck_assert_uint_eq (s_results (broker, 0, got, S_MAX), 1);
    for (int j = 0; j < 3; j++)
        seen [j] += memcmp (got [0], acked [j], SF_UUID_SIZE) == 0;
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq (seen [j], 1);
        ck_assert_int_eq (sf_ledger_find (b->ledger, acked [j])->status, SF_STATUS_OK);
    }
    ck_assert_uint_eq (b->counters.finished [SF_STATUS_OK], 3);
    uint8_t after [SF_UUID_SIZE];
    s_submit (broker, "{\"analyzer\": \"nobody\"}", after);
    S_CHECK (broker);
    //  Said once on entering, once on leaving
    ck_assert_int_eq (s_log_lines (log, "broker: degraded:"), 1);
    ck_assert_int_eq (s_log_lines (log, "broker: no longer degraded"), 1);
    inbroker_quiet (true);
    fclose (log);

    //  A restart runs none of them again
    broker = s_restart (&broker);
    b = inbroker_broker (broker);
    for (int j = 0; j < 3; j++)
        ck_assert_int_eq (sf_ledger_find (b->ledger, acked [j])->state, SF_JOB_FINISHED);
    ck_assert_uint_eq (b->unfinished, 1);
    ck_assert_ptr_nonnull (sf_ledger_find (b->ledger, after));
    inbroker_destroy (&broker);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_broker_faults");
    TCase *tcase = tcase_create ("store faults");
    tcase_set_timeout (tcase, 30);
    tcase_add_checked_fixture (tcase, s_setup, s_teardown);
    tcase_add_loop_test (tcase, test_failed_commit_refuses_the_submit, 0, 6);
    tcase_add_loop_test (tcase, test_result_held_until_a_commit_succeeds, 0, 6);
    tcase_add_loop_test (tcase, test_degraded_until_a_commit_succeeds, 0, 6);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
