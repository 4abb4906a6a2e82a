/*  =========================================================================
    check_sf_broker - the broker over a journal whose writes or syncs fail
    (ENOSPC, EIO, EPERM, injected through the journal's I/O seam), in
    process (inbroker): a submit whose commit failed is answered STORE,
    never dispatched and unknown afterwards, after a restart too; a result
    whose commit failed reaches nobody until a later commit succeeds, then
    exactly once; after a restart nothing that was delivered runs again
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
} s_fault;

static ssize_t
s_fault_pwrite (int fd, const void *data, size_t size, off_t offset)
{
    if (!s_fault.pwrite)
        return pwrite (fd, data, size, offset);
    errno = s_fault.pwrite;
    return -1;
}

static int
s_fault_fdatasync (int fd)
{
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

//  A pass of the broker that commits what waits: a STATUS from client 7,
//  whose reply is dropped.
static void
s_commit_again (inbroker_t *broker)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_kv_uint (&pk, "tag", 1);
    inbroker_send (broker, false, 7, SF_CMD_STATUS, body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    ck_assert_uint_eq (inbroker_count (broker, false, 7, SF_CMD_STATUS_REPLY), 1);
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
    //  Passes go on; the store still fails, and still nothing is sent
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

int
main (void)
{
    Suite *suite = suite_create ("sf_broker");
    TCase *tcase = tcase_create ("store faults");
    tcase_set_timeout (tcase, 30);
    tcase_add_checked_fixture (tcase, s_setup, s_teardown);
    tcase_add_loop_test (tcase, test_failed_commit_refuses_the_submit, 0, 6);
    tcase_add_loop_test (tcase, test_result_held_until_a_commit_succeeds, 0, 6);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
