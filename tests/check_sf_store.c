/*  =========================================================================
    check_sf_store - the journal store over plain records: a group
    accepted, its chord launched, answered and forgotten comes back after a
    reopen as it was; a compaction from a live set keeps every kept group;
    malformed group records make the open fail instead of being trusted; a
    commit whose write or sync fails (ENOSPC, EIO, EPERM) fails with the
    reason and leaves nothing of itself in the file, the store keeps what
    it held for the next commit, and after the fault clears a reopen gives
    back exactly what the commits that succeeded wrote
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include "sf_journal.h"
#include "sf_mp.h"
#include "sf_store.h"

//  --------------------------------------------------------------------------
//  Fixtures and helpers

static char s_dir [256];        //  This test's store directory
static char s_uri [300];        //  journal:DIR

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/sheaf-store-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
    snprintf (s_uri, sizeof s_uri, "journal:%s", s_dir);
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

static sf_store_t *
s_open (const char *uri)
{
    sf_error_t error = { "", "" };
    sf_store_t *store = sf_store_new (uri, &error);
    ck_assert_msg (store, "open failed: %s", error.message);
    return store;
}

//  A job record the test owns: the record and the job map it points to.
typedef struct {
    sf_store_job_t record;      //  What the store is given
    msgpack_sbuffer spec;       //  The job map
} s_job_t;

//  The payload of every finished job: {"i": 1}.
static const char s_payload [] = "\x81\xa1i\x01";

//  An unfinished echo job {"analyzer":"echo","params":{"i":i}} with a
//  fresh id.
static s_job_t *
s_job (int i)
{
    s_job_t *job = (s_job_t *) zmalloc (sizeof *job);
    sf_uuid_v7 (job->record.id);
    job->record.state = SF_STORE_UNFINISHED;
    job->record.analyzer = "echo";
    job->record.accepted_ms = (int64_t) zclock_time ();
    msgpack_sbuffer_init (&job->spec);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &job->spec, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "echo");
    sf_mp_pack_str (&pk, "params");
    msgpack_pack_map (&pk, 1);
    sf_mp_pack_kv_uint (&pk, "i", (uint64_t) i);
    job->record.spec = job->spec.data;
    job->record.spec_size = job->spec.size;
    return job;
}

static void
s_job_destroy (s_job_t **job_p)
{
    if (*job_p) {
        msgpack_sbuffer_destroy (&(*job_p)->spec);
        free (*job_p);
        *job_p = NULL;
    }
}

static void
s_accept (sf_store_t *store, s_job_t *job)
{
    sf_error_t error;
    ck_assert_int_eq (sf_store_accepted (store, &job->record, &error), 0);
}

//  Give job its final status, with a small payload, now, and record it.
static void
s_finish (sf_store_t *store, s_job_t *job, sf_status_t status)
{
    job->record.state = SF_STORE_FINISHED;
    job->record.status = status;
    job->record.finished_ms = (int64_t) zclock_time ();
    job->record.attempts = 1;
    job->record.payload = s_payload;
    job->record.payload_size = 4;
    job->record.spec = NULL;            //  Only a dead letter keeps its job
    job->record.spec_size = 0;
    sf_error_t error;
    ck_assert_int_eq (sf_store_finished (store, &job->record, &error), 0);
}

//  A group record the test owns, with its items.
typedef struct {
    sf_store_group_t record;    //  What the store is given
    s_job_t *items [4];         //  Its items
    s_job_t *then;              //  Its chord, or NULL
    uint8_t ids [4 * SF_UUID_SIZE];     //  The items' ids (record.items)
} s_group_t;

//  A running group of count fresh items under opts; a timeout gives it a
//  deadline that far from now.
static s_group_t *
s_group (const sf_group_opts_t *opts, uint32_t count)
{
    ck_assert_uint_le (count, 4);
    s_group_t *group = (s_group_t *) zmalloc (sizeof *group);
    sf_uuid_v7 (group->record.id);
    group->record.opts = *opts;
    group->record.deadline_ms = opts->timeout_ms? (int64_t) zclock_time () + opts->timeout_ms: 0;
    group->record.total = count;
    group->record.items = group->ids;
    group->record.state = SF_GROUP_RUNNING;
    for (uint32_t i = 0; i < count; i++) {
        group->items [i] = s_job ((int) i);
        memcpy (group->ids + i * SF_UUID_SIZE, group->items [i]->record.id, SF_UUID_SIZE);
    }
    return group;
}

//  Give the group a chord, not launched yet.
static void
s_chord (s_group_t *group, int i)
{
    group->then = s_job (i);
    group->record.then_spec = group->then->record.spec;
    group->record.then_size = group->then->record.spec_size;
}

static void
s_group_destroy (s_group_t **group_p)
{
    s_group_t *group = *group_p;
    for (uint32_t i = 0; i < group->record.total; i++)
        s_job_destroy (&group->items [i]);
    s_job_destroy (&group->then);
    free (group);
    *group_p = NULL;
}

static void
s_accept_group (sf_store_t *store, s_group_t *group)
{
    for (uint32_t i = 0; i < group->record.total; i++)
        s_accept (store, group->items [i]);
    sf_error_t error;
    ck_assert_int_eq (sf_store_group_accepted (store, &group->record, &error), 0);
}

static void
s_answer (sf_store_t *store, s_group_t *group, sf_group_state_t state)
{
    group->record.state = state;
    group->record.answered_ms = (int64_t) zclock_time ();
    sf_error_t error;
    ck_assert_int_eq (sf_store_group_answered (store, &group->record, &error), 0);
}

//  A job as recover handed it back.
typedef struct {
    uint8_t id [SF_UUID_SIZE];  //  Its id
    sf_store_jobstate_t state;  //  Unfinished or finished
    sf_status_t status;         //  Its status, finished
} s_got_t;

//  What recover handed back.
typedef struct {
    zhashx_t *jobs;             //  id -> s_got_t (owned)
    sf_store_group_t groups [8];    //  Copies (items, key point into the next)
    uint8_t items [8][4 * SF_UUID_SIZE];    //  Item ids of each group
    char keys [8][64];          //  Keys of each group ("" for none)
    bool then [8];              //  A chord not launched came back
    char then_spec [8][64];     //  Its job map
    size_t count;               //  Groups handed back
    zhashx_t *states;           //  key -> blob size
} s_recovered_t;

static void
s_on_job (void *arg, const sf_store_job_t *job)
{
    s_recovered_t *recovered = (s_recovered_t *) arg;
    ck_assert (job->state != SF_STORE_FINISHED || streq (job->analyzer, "echo"));
    s_got_t *got = (s_got_t *) zmalloc (sizeof *got);
    memcpy (got->id, job->id, SF_UUID_SIZE);
    got->state = job->state;
    got->status = job->status;
    ck_assert_int_eq (zhashx_insert (recovered->jobs, got->id, got), 0);
}

static void
s_on_state (void *arg, const sf_store_state_t *state)
{
    zhashx_update (((s_recovered_t *) arg)->states, state->key,
                   (void *) (uintptr_t) (state->size + 1));
}

static void
s_on_group (void *arg, const sf_store_group_t *group)
{
    s_recovered_t *recovered = (s_recovered_t *) arg;
    size_t n = recovered->count++;
    ck_assert_uint_lt (n, 8);
    ck_assert_uint_le (group->total, 4);
    recovered->groups [n] = *group;
    memcpy (recovered->items [n], group->items, group->total * SF_UUID_SIZE);
    recovered->groups [n].items = recovered->items [n];
    snprintf (recovered->keys [n], sizeof recovered->keys [n], "%.*s",
              (int) group->opts.key_size, group->opts.key? group->opts.key: "");
    recovered->groups [n].opts.key = NULL;
    recovered->groups [n].then_spec = NULL;
    if (group->then_spec) {
        recovered->then [n] = true;
        ck_assert_uint_lt (group->then_size, 64);
        memcpy (recovered->then_spec [n], group->then_spec, group->then_size);
    }
}

static void
s_got_destructor (void **item)
{
    free (*item);
    *item = NULL;
}

//  Reopen the store and take what it recovers.
static void
s_recover (const char *uri, s_recovered_t *recovered)
{
    memset (recovered, 0, sizeof *recovered);
    recovered->jobs = sf_uuid_table (false);
    zhashx_set_destructor (recovered->jobs, s_got_destructor);
    recovered->states = zhashx_new ();
    sf_store_t *store = s_open (uri);
    sf_store_recovery_t callbacks = { s_on_job, s_on_state, s_on_group, recovered };
    sf_error_t error;
    ck_assert_int_eq (sf_store_recover (store, &callbacks, &error), 0);
    sf_store_destroy (&store);
}

static void
s_recovered_destroy (s_recovered_t *recovered)
{
    zhashx_destroy (&recovered->jobs);
    zhashx_destroy (&recovered->states);
}

//  The job recovered with the id of job, or NULL.
static s_got_t *
s_got (s_recovered_t *recovered, const s_job_t *job)
{
    return (s_got_t *) zhashx_lookup (recovered->jobs, job->record.id);
}

//  Assert that recovered group n has group's id and items in order.
static void
s_assert_same (s_recovered_t *recovered, size_t n, s_group_t *group)
{
    sf_store_group_t *got = &recovered->groups [n];
    ck_assert (memcmp (got->id, group->record.id, SF_UUID_SIZE) == 0);
    ck_assert_uint_eq (got->total, group->record.total);
    for (uint32_t i = 0; i < group->record.total; i++) {
        ck_assert (memcmp (got->items + i * SF_UUID_SIZE, group->items [i]->record.id,
                           SF_UUID_SIZE) == 0);
        ck_assert_ptr_nonnull (s_got (recovered, group->items [i]));
    }
}

//  --------------------------------------------------------------------------

START_TEST (test_groups_round_trip)
{
    sf_store_t *store = s_open (s_uri);
    sf_error_t error;
    //  Running, keyed, with a deadline and a chord not launched yet
    sf_group_opts_t opts = { SF_POLICY_FAIL_FAST, 0, 5000, true, true, "k-a", 3 };
    s_group_t *running = s_group (&opts, 3);
    s_chord (running, 9);
    s_accept_group (store, running);
    s_finish (store, running->items [0], SF_STATUS_OK);
    //  Answered
    sf_group_opts_t plain = { SF_POLICY_ALL, 0, 0, false, false, NULL, 0 };
    s_group_t *answered = s_group (&plain, 2);
    s_accept_group (store, answered);
    for (uint32_t i = 0; i < 2; i++)
        s_finish (store, answered->items [i], i? SF_STATUS_ERROR: SF_STATUS_OK);
    s_answer (store, answered, SF_GROUP_OK);
    //  Forgotten: neither it nor its items come back
    s_group_t *forgotten = s_group (&plain, 1);
    s_accept_group (store, forgotten);
    s_finish (store, forgotten->items [0], SF_STATUS_OK);
    s_answer (store, forgotten, SF_GROUP_OK);
    ck_assert_int_eq (sf_store_group_forgotten (store, &forgotten->record, &error), 0);
    //  Its chord launched, running
    sf_group_opts_t chord = { SF_POLICY_ALL, 1, 0, false, true, NULL, 0 };
    s_group_t *launched = s_group (&chord, 1);
    s_chord (launched, 0);
    s_accept_group (store, launched);
    s_finish (store, launched->items [0], SF_STATUS_OK);
    s_job_t *then = s_job (7);
    s_accept (store, then);
    launched->record.launched = true;
    memcpy (launched->record.then_id, then->record.id, SF_UUID_SIZE);
    ck_assert_int_eq (sf_store_group_launched (store, &launched->record, &error), 0);
    ck_assert_int_eq (sf_store_commit (store, NULL, &error), 0);
    sf_store_destroy (&store);

    s_recovered_t recovered;
    s_recover (s_uri, &recovered);
    //  Oldest first; the forgotten group and its item are gone
    ck_assert_uint_eq (recovered.count, 3);
    ck_assert_uint_eq (zhashx_size (recovered.jobs), 3 + 2 + 1 + 1);
    ck_assert_ptr_null (s_got (&recovered, forgotten->items [0]));

    s_assert_same (&recovered, 0, running);
    sf_store_group_t *got = &recovered.groups [0];
    ck_assert_int_eq (got->state, SF_GROUP_RUNNING);
    ck_assert_int_eq (got->opts.policy, SF_POLICY_FAIL_FAST);
    ck_assert (got->opts.stream && got->opts.then);
    ck_assert_uint_eq (got->opts.timeout_ms, 5000);
    ck_assert_str_eq (recovered.keys [0], "k-a");
    int64_t left_ms = got->deadline_ms - zclock_time ();
    ck_assert_msg (left_ms > 3000 && left_ms <= 5000, "deadline in %lld ms", (long long) left_ms);
    ck_assert (recovered.then [0] && !got->launched);
    ck_assert (memcmp (recovered.then_spec [0], running->then->record.spec,
                       running->then->record.spec_size) == 0);
    s_got_t *item = s_got (&recovered, running->items [0]);
    ck_assert_int_eq (item->state, SF_STORE_FINISHED);
    item = s_got (&recovered, running->items [1]);
    ck_assert_int_eq (item->state, SF_STORE_UNFINISHED);

    s_assert_same (&recovered, 1, answered);
    got = &recovered.groups [1];
    ck_assert_int_eq (got->state, SF_GROUP_OK);
    ck_assert_int_le (llabs (got->answered_ms - zclock_time ()), 2000);
    ck_assert_str_eq (recovered.keys [1], "");
    ck_assert (!recovered.then [1] && !got->launched);
    item = s_got (&recovered, answered->items [1]);
    ck_assert_int_eq (item->status, SF_STATUS_ERROR);

    s_assert_same (&recovered, 2, launched);
    got = &recovered.groups [2];
    ck_assert_int_eq (got->state, SF_GROUP_RUNNING);
    ck_assert_uint_eq (got->opts.min_ok, 1);
    ck_assert (got->launched && !recovered.then [2]);
    ck_assert (memcmp (got->then_id, then->record.id, SF_UUID_SIZE) == 0);
    ck_assert_ptr_nonnull (s_got (&recovered, then));

    s_recovered_destroy (&recovered);
    s_group_destroy (&running);
    s_group_destroy (&answered);
    s_group_destroy (&forgotten);
    s_group_destroy (&launched);
    s_job_destroy (&then);
}
END_TEST

//  A live set of test records: jobs, then groups (no states).
typedef struct {
    s_job_t **jobs;             //  The jobs
    size_t job_count;           //  How many
    s_group_t **groups;         //  The groups, oldest first
    size_t group_count;         //  How many
    size_t next;                //  Records given so far
} s_live_t;

static int
s_live_next (void *arg, sf_store_record_t *record)
{
    s_live_t *live = (s_live_t *) arg;
    size_t n = live->next++;
    if (n < live->job_count) {
        record->kind = SF_STORE_JOB;
        record->job = live->jobs [n]->record;
        return 1;
    }
    n -= live->job_count;
    if (n < live->group_count) {
        record->kind = SF_STORE_GROUP;
        record->group = live->groups [n]->record;
        return 1;
    }
    return 0;
}

START_TEST (test_compaction_keeps_groups)
{
    //  A tiny floor: every commit past four times the last size compacts
    char uri [400];
    snprintf (uri, sizeof uri, "%s,fsync=off,compact=1", s_uri);
    sf_store_t *store = s_open (uri);
    sf_error_t error;
    sf_group_opts_t opts = { SF_POLICY_ALL, 0, 0, false, false, "keyed", 5 };
    s_group_t *running = s_group (&opts, 2);
    s_accept_group (store, running);
    sf_group_opts_t chord = { SF_POLICY_ALL, 0, 0, false, true, NULL, 0 };
    s_group_t *answered = s_group (&chord, 1);
    s_chord (answered, 5);
    s_accept_group (store, answered);
    s_finish (store, running->items [1], SF_STATUS_OK);
    s_finish (store, answered->items [0], SF_STATUS_OK);
    s_answer (store, answered, SF_GROUP_FAILED);
    //  Many versions of one state key: the compaction keeps the last
    char blob [1000] = { 0 };
    sf_store_state_t state = { "key", blob, sizeof blob };
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq (sf_store_state_saved (store, &state, &error), 0);
    char path [300];
    snprintf (path, sizeof path, "%s/journal", s_dir);
    s_job_t *jobs [3] = { running->items [0], running->items [1], answered->items [0] };
    s_group_t *groups [2] = { running, answered };
    s_live_t walk = { jobs, 3, groups, 2, 0 };
    sf_store_live_t live = { s_live_next, &walk };
    ck_assert_int_eq (sf_store_commit (store, &live, &error), 0);
    struct stat info;
    ck_assert_int_eq (stat (path, &info), 0);
    ck_assert_int_lt (info.st_size, 10000);     //  Compacted: no state was live
    sf_store_destroy (&store);

    s_recovered_t recovered;
    s_recover (uri, &recovered);
    ck_assert_uint_eq (recovered.count, 2);
    s_assert_same (&recovered, 0, running);
    ck_assert_str_eq (recovered.keys [0], "keyed");
    ck_assert_int_eq (recovered.groups [0].state, SF_GROUP_RUNNING);
    s_got_t *item = s_got (&recovered, running->items [0]);
    ck_assert_int_eq (item->state, SF_STORE_UNFINISHED);
    item = s_got (&recovered, running->items [1]);
    ck_assert_int_eq (item->state, SF_STORE_FINISHED);
    s_assert_same (&recovered, 1, answered);
    ck_assert_int_eq (recovered.groups [1].state, SF_GROUP_FAILED);
    ck_assert (recovered.then [1]);
    ck_assert_uint_eq (zhashx_size (recovered.states), 0);
    s_recovered_destroy (&recovered);
    s_group_destroy (&running);
    s_group_destroy (&answered);
}
END_TEST

//  --------------------------------------------------------------------------
//  Malformed group records: each makes the open fail, naming the record.

static int
s_ignore (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    (void) type, (void) payload, (void) size, (void) arg, (void) error;
    return 0;
}

//  Write one record straight into the journal file, then open the store.
static void
s_assert_refused (uint8_t type, const void *payload, size_t size, const char *what)
{
    sf_error_t error = { "", "" };
    char path [300];
    snprintf (path, sizeof path, "%s/journal", s_dir);
    remove (path);
    sf_journal_t *journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_OFF, 10, s_ignore, NULL,
                                            &error);
    ck_assert_ptr_nonnull (journal);
    ck_assert_uint_ne (sf_journal_append (journal, type, payload, size, &error), 0);
    ck_assert_int_eq (sf_journal_commit (journal, &error), 0);
    sf_journal_destroy (&journal);
    sf_store_t *store = sf_store_new (s_uri, &error);
    ck_assert_msg (store == NULL, "a bad %s record was taken", what);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_msg (strstr (error.message, what), "%s: %s", what, error.message);
}

//  A GROUP map with items of items_size bytes, then extra pairs packed by
//  the caller (pairs of them).
static void
s_pack_group (msgpack_sbuffer *buffer, size_t items_size, uint32_t pairs)
{
    msgpack_sbuffer_clear (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    uint8_t id [SF_UUID_SIZE] = { 1 };
    uint8_t items [64] = { 2 };
    msgpack_pack_map (&pk, 3 + pairs);
    sf_mp_pack_str (&pk, "id");
    msgpack_pack_bin (&pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&pk, id, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (&pk, "policy", 0);
    sf_mp_pack_str (&pk, "items");
    msgpack_pack_bin (&pk, items_size);
    msgpack_pack_bin_body (&pk, items, items_size);
}

START_TEST (test_malformed_group_records)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    //  A well-formed one is taken
    s_pack_group (&buffer, 2 * SF_UUID_SIZE, 0);
    sf_error_t error = { "", "" };
    {
        sf_journal_t *journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_OFF, 10, s_ignore, NULL,
                                                &error);
        ck_assert_uint_ne (sf_journal_append (journal, 6, buffer.data, buffer.size, &error), 0);
        ck_assert_int_eq (sf_journal_commit (journal, &error), 0);
        sf_journal_destroy (&journal);
        s_recovered_t recovered;
        s_recover (s_uri, &recovered);
        ck_assert_uint_eq (recovered.count, 1);
        ck_assert_uint_eq (recovered.groups [0].total, 2);
        s_recovered_destroy (&recovered);
    }
    //  Items that are not whole ids, or none
    s_pack_group (&buffer, SF_UUID_SIZE + 3, 0);
    s_assert_refused (6, buffer.data, buffer.size, "GROUP record");
    s_pack_group (&buffer, 0, 0);
    s_assert_refused (6, buffer.data, buffer.size, "GROUP record");
    //  A quorum larger than the group
    s_pack_group (&buffer, SF_UUID_SIZE, 1);
    sf_mp_pack_kv_uint (&pk, "min_ok", 2);
    s_assert_refused (6, buffer.data, buffer.size, "GROUP record");
    //  A key longer than any key
    char key [SF_KEY_MAX + 2];
    memset (key, 'k', sizeof key - 1);
    key [sizeof key - 1] = 0;
    s_pack_group (&buffer, SF_UUID_SIZE, 1);
    sf_mp_pack_kv_str (&pk, "key", key);
    s_assert_refused (6, buffer.data, buffer.size, "GROUP record");
    //  A chord that is not a job
    s_pack_group (&buffer, SF_UUID_SIZE, 1);
    sf_mp_pack_str (&pk, "then");
    msgpack_pack_bin (&pk, 3);
    msgpack_pack_bin_body (&pk, "\x93\x01\x02", 3);
    s_assert_refused (6, buffer.data, buffer.size, "job");
    //  Not a map at all
    s_assert_refused (6, "\x07", 1, "GROUP record");
    //  GROUP_THEN, GROUP_FORGET of the wrong size
    uint8_t ids [40] = { 0 };
    s_assert_refused (7, ids, 40, "GROUP_THEN");
    s_assert_refused (9, ids, 3, "GROUP_FORGET");
    //  GROUP_END with a state that is not an end
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_str (&pk, "id");
    msgpack_pack_bin (&pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&pk, ids, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (&pk, "state", SF_GROUP_RUNNING);
    s_assert_refused (8, buffer.data, buffer.size, "GROUP_END");
    msgpack_sbuffer_destroy (&buffer);
}
END_TEST

//  An unknown journal option is refused; compact takes a byte count.
START_TEST (test_options)
{
    char uri [400];
    sf_error_t error = { "", "" };
    snprintf (uri, sizeof uri, "%s,compact=lots", s_uri);
    ck_assert_ptr_null (sf_store_new (uri, &error));
    ck_assert_msg (strstr (error.message, "compact"), "%s", error.message);
    snprintf (uri, sizeof uri, "%s,colour=blue", s_uri);
    ck_assert_ptr_null (sf_store_new (uri, &error));
    ck_assert_msg (strstr (error.message, "unknown option"), "%s", error.message);
    snprintf (uri, sizeof uri, "%s,fsync=never", s_uri);
    ck_assert_ptr_null (sf_store_new (uri, &error));
    ck_assert_msg (strstr (error.message, "fsync"), "%s", error.message);
    snprintf (uri, sizeof uri, "%s,compact=1048576,fsync=batch", s_uri);
    sf_store_t *store = s_open (uri);
    sf_store_destroy (&store);
}
END_TEST

//  --------------------------------------------------------------------------
//  I/O faults under the store, injected through the process's system calls

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

//  Accept count fresh jobs (into jobs) and commit; returns commit's rc.
static int
s_accept_and_commit (sf_store_t *store, s_job_t **jobs, int count, sf_error_t *error)
{
    for (int i = 0; i < count; i++) {
        jobs [i] = s_job (i);
        s_accept (store, jobs [i]);
    }
    return sf_store_commit (store, NULL, error);
}

//  Loop index: the write (0-2) or the sync (3-5) fails with ENOSPC, EIO
//  or EPERM.
START_TEST (test_commit_faults)
{
    static const int errnos [] = { ENOSPC, EIO, EPERM };
    int code = errnos [_i % 3];
    bool on_sync = _i >= 3;
    sf_journal_set_default_io (&s_fault_io);
    memset (&s_fault, 0, sizeof s_fault);
    sf_store_t *store = s_open (s_uri);
    sf_error_t error;
    s_job_t *kept [7], *lost [6];
    ck_assert_int_eq (s_accept_and_commit (store, kept, 5, &error), 0);

    if (on_sync)
        s_fault.fdatasync = code;
    else
        s_fault.pwrite = code;
    for (int attempt = 0; attempt < 2; attempt++) {
        ck_assert_int_eq (s_accept_and_commit (store, lost + 3 * attempt, 3, &error), -1);
        ck_assert_str_eq (error.code, "STORE");
        char path [300];
        snprintf (path, sizeof path, "%s/journal", s_dir);
        ck_assert_msg (strstr (error.message, path), "%s", error.message);
        ck_assert_msg (strstr (error.message, strerror (code)), "%s", error.message);
        if (attempt == 0)
            ck_assert_msg (strstr (error.message, on_sync? "cannot sync": "cannot write to"),
                           "%s", error.message);
    }
    //  What the failed commits held is not durable; the store keeps it,
    //  and the broker takes it back (as it does a refused submit)
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq (sf_store_forgotten (store, &lost [i]->record, &error), 0);

    memset (&s_fault, 0, sizeof s_fault);
    ck_assert_int_eq (s_accept_and_commit (store, kept + 5, 2, &error), 0);
    sf_store_destroy (&store);

    s_recovered_t recovered;
    s_recover (s_uri, &recovered);
    ck_assert_uint_eq (zhashx_size (recovered.jobs), 7);
    for (int i = 0; i < 7; i++) {
        ck_assert_ptr_nonnull (s_got (&recovered, kept [i]));
        s_job_destroy (&kept [i]);
    }
    for (int i = 0; i < 6; i++) {
        ck_assert_ptr_null (s_got (&recovered, lost [i]));
        s_job_destroy (&lost [i]);
    }
    s_recovered_destroy (&recovered);
}
END_TEST

//  A failed commit loses nothing: what it held is written by the next
//  commit that succeeds, in order, with what was staged meanwhile.
START_TEST (test_failed_commit_kept_for_the_next)
{
    static const int errnos [] = { ENOSPC, EIO, EPERM };
    int code = errnos [_i % 3];
    bool on_sync = _i >= 3;
    sf_journal_set_default_io (&s_fault_io);
    memset (&s_fault, 0, sizeof s_fault);
    sf_store_t *store = s_open (s_uri);
    sf_error_t error;
    s_job_t *jobs [6];
    ck_assert_int_eq (s_accept_and_commit (store, jobs, 2, &error), 0);
    if (on_sync)
        s_fault.fdatasync = code;
    else
        s_fault.pwrite = code;
    //  The first job finishes, a state is saved, two jobs come: none durable
    s_finish (store, jobs [0], SF_STATUS_OK);
    char blob [8] = "state";
    sf_store_state_t state = { "k", blob, sizeof blob };
    ck_assert_int_eq (sf_store_state_saved (store, &state, &error), 0);
    ck_assert_int_eq (s_accept_and_commit (store, jobs + 2, 2, &error), -1);
    ck_assert_int_eq (sf_store_commit (store, NULL, &error), -1);
    //  A copy opened now (the broker crashed) has none of it
    struct stat info;
    char path [300];
    snprintf (path, sizeof path, "%s/journal", s_dir);
    ck_assert_int_eq (stat (path, &info), 0);
    off_t before = info.st_size;

    memset (&s_fault, 0, sizeof s_fault);
    s_finish (store, jobs [1], SF_STATUS_ERROR);
    ck_assert_int_eq (s_accept_and_commit (store, jobs + 4, 2, &error), 0);
    ck_assert_int_eq (stat (path, &info), 0);
    ck_assert_int_gt (info.st_size, before);
    sf_store_destroy (&store);

    s_recovered_t recovered;
    s_recover (s_uri, &recovered);
    ck_assert_uint_eq (zhashx_size (recovered.jobs), 6);
    ck_assert_int_eq (s_got (&recovered, jobs [0])->state, SF_STORE_FINISHED);
    ck_assert_int_eq (s_got (&recovered, jobs [0])->status, SF_STATUS_OK);
    ck_assert_int_eq (s_got (&recovered, jobs [1])->status, SF_STATUS_ERROR);
    for (int i = 2; i < 6; i++)
        ck_assert_int_eq (s_got (&recovered, jobs [i])->state, SF_STORE_UNFINISHED);
    ck_assert_uint_eq ((uintptr_t) zhashx_lookup (recovered.states, "k"), sizeof blob + 1);
    s_recovered_destroy (&recovered);
    for (int i = 0; i < 6; i++)
        s_job_destroy (&jobs [i]);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_store");
    TCase *tcase = tcase_create ("groups");
    tcase_set_timeout (tcase, 30);
    tcase_add_checked_fixture (tcase, s_setup, s_teardown);
    tcase_add_test (tcase, test_groups_round_trip);
    tcase_add_test (tcase, test_compaction_keeps_groups);
    tcase_add_test (tcase, test_malformed_group_records);
    tcase_add_test (tcase, test_options);
    suite_add_tcase (suite, tcase);
    tcase = tcase_create ("faults");
    tcase_set_timeout (tcase, 30);
    tcase_add_checked_fixture (tcase, s_setup, s_teardown);
    tcase_add_loop_test (tcase, test_commit_faults, 0, 6);
    tcase_add_loop_test (tcase, test_failed_commit_kept_for_the_next, 0, 6);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
