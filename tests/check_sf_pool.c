/*  =========================================================================
    check_sf_pool - the analyzer threads: every job handed in is answered
    once, with the analyzer's result or a coded error
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include "sf_codec.h"
#include "sf_mp.h"
#include "sf_pool.h"

//  Ids answered, appended by the done callback.
typedef struct {
    uint8_t ids [64][SF_UUID_SIZE];
    size_t count;
} s_answered_t;

static void
s_done (void *arg, const uint8_t id [SF_UUID_SIZE])
{
    s_answered_t *answered = (s_answered_t *) arg;
    ck_assert_int_lt (answered->count, 64);
    memcpy (answered->ids [answered->count++], id, SF_UUID_SIZE);
}

//  Add one job (JSON-free: a packed map) to the pool; returns its id.
static void
s_add (sf_pool_t *pool, uint8_t id [SF_UUID_SIZE], const char *analyzer,
       const char *param, int64_t value)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_uuid_v7 (id);
    sf_codec_pack_dispatch_head (&pk, id, 2, 1000);
    msgpack_pack_map (&pk, param? 2: 1);
    sf_mp_pack_kv_str (&pk, "analyzer", analyzer);
    if (param) {
        sf_mp_pack_str (&pk, "params");
        msgpack_pack_map (&pk, 1);
        sf_mp_pack_str (&pk, param);
        msgpack_pack_int64 (&pk, value);
    }
    sf_pool_add (pool, id, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
}

//  Collect answers until count jobs are answered (bounded).
static void
s_collect (sf_pool_t *pool, sf_batchw_t *out, s_answered_t *answered, size_t count)
{
    zpoller_t *poller = zpoller_new (NULL);
    for (size_t i = 0; i < sf_pool_threads (pool); i++)
        zpoller_add (poller, sf_pool_pipe (pool, i));
    int64_t deadline = zclock_mono () + 10000;
    while (answered->count < count && zclock_mono () < deadline) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, 100);
        for (size_t i = 0; which && i < sf_pool_threads (pool); i++)
            if (sf_pool_pipe (pool, i) == which)
                ck_assert_int_ge (sf_pool_collect (pool, i, out, s_done, answered), 1);
        sf_pool_kick (pool);
    }
    zpoller_destroy (&poller);
    ck_assert_int_eq (answered->count, count);
}

START_TEST (test_every_job_answered)
{
    sf_pool_t *pool = sf_pool_new (2, false, NULL, NULL);
    ck_assert_int_eq (sf_pool_threads (pool), 2);
    uint8_t echo [SF_UUID_SIZE], ghost [SF_UUID_SIZE], crash [SF_UUID_SIZE],
            fail [SF_UUID_SIZE], bad_sleep [SF_UUID_SIZE], sleep [SF_UUID_SIZE];
    s_add (pool, echo, "echo", "x", 42);
    s_add (pool, ghost, "ghost", NULL, 0);
    s_add (pool, crash, "crash", NULL, 0);       //  Test-only: not served here
    s_add (pool, fail, "fail", NULL, 0);
    s_add (pool, bad_sleep, "sleep", "ms", -5);
    s_add (pool, sleep, "sleep", "ms", 20);
    ck_assert_int_eq (sf_pool_load (pool), 6);
    sf_pool_kick (pool);

    sf_batchw_t out;
    sf_batchw_init (&out);
    sf_batchw_reset (&out, 0);
    s_answered_t answered = { .count = 0 };
    s_collect (pool, &out, &answered, 6);
    ck_assert_int_eq (sf_pool_load (pool), 0);
    sf_batchw_finish (&out);

    //  The answers are well-formed RESULTS items, one per job
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, out.buffer.data, out.buffer.size, 2, 100, &error), 0);
    ck_assert_int_eq (reader.count, 6);
    msgpack_object head, payload;
    int checked = 0;
    while (sf_batchr_next (&reader, &head, &payload, NULL, NULL, &error) == 0) {
        uint8_t id [SF_UUID_SIZE];
        uint32_t attempt;
        sf_status_t status;
        uint64_t run_us;
        ck_assert_int_eq (sf_codec_read_outcome_head (&head, id, &attempt, &status, &run_us,
                                                      &error), 0);
        ck_assert_int_eq (attempt, 2);          //  The lease comes back
        if (memcmp (id, echo, SF_UUID_SIZE) == 0) {
            ck_assert_int_eq (status, SF_STATUS_OK);
            ck_assert_int_eq (sf_mp_get (&payload, "x")->via.i64, 42);
        }
        else
        if (memcmp (id, sleep, SF_UUID_SIZE) == 0) {
            ck_assert_int_eq (status, SF_STATUS_OK);
            ck_assert_int_ge (run_us, 20000);
        }
        else {
            ck_assert_int_eq (status, SF_STATUS_ERROR);
            const char *code = memcmp (id, fail, SF_UUID_SIZE) == 0? "ANALYSIS":
                               memcmp (id, bad_sleep, SF_UUID_SIZE) == 0? "BAD_INPUT":
                               "UNKNOWN_ANALYZER";
            ck_assert_msg (sf_mp_streq (sf_mp_get (&payload, "code"), code),
                           "wrong error code for a job");
            ck_assert_ptr_nonnull (sf_mp_get (&payload, "message"));
        }
        checked++;
    }
    ck_assert_int_eq (checked, 6);
    sf_batchr_close (&reader);
    sf_batchw_destroy (&out);
    sf_pool_destroy (&pool);
    ck_assert_ptr_null (pool);
}
END_TEST

START_TEST (test_flood_spreads_in_chunks)
{
    sf_pool_t *pool = sf_pool_new (3, false, NULL, NULL);
    sf_batchw_t out;
    sf_batchw_init (&out);
    sf_batchw_reset (&out, 0);
    static s_answered_t answered;
    answered.count = 0;
    for (int round = 0; round < 4; round++) {
        uint8_t id [SF_UUID_SIZE];
        for (int i = 0; i < 16; i++)
            s_add (pool, id, "echo", "i", i);
        sf_pool_kick (pool);
        s_collect (pool, &out, &answered, (size_t) 16 * (round + 1) > 64? 64: (size_t) 16 * (round + 1));
        answered.count = answered.count == 64? 0: answered.count;
    }
    ck_assert_int_eq (out.count, 64);
    sf_batchw_destroy (&out);
    sf_pool_destroy (&pool);
}
END_TEST

//  Ids withdrawn, appended by the withdrawn callback.
static void
s_withdrawn (void *arg, const uint8_t id [SF_UUID_SIZE])
{
    s_done (arg, id);
}

START_TEST (test_withdraw_returns_jobs_not_started)
{
    //  One thread: the first sleep runs, the rest of its chunk and the jobs
    //  still waiting in the pool never start
    sf_pool_t *pool = sf_pool_new (1, false, NULL, NULL);
    uint8_t running [SF_UUID_SIZE], id [SF_UUID_SIZE];
    s_add (pool, running, "sleep", "ms", 300);
    for (int i = 0; i < 3; i++)
        s_add (pool, id, "echo", "i", i);
    sf_pool_kick (pool);                //  All four go to the thread in one chunk
    for (int i = 0; i < 2; i++)
        s_add (pool, id, "echo", "i", 10 + i);
    sf_pool_kick (pool);                //  A second chunk
    for (int i = 0; i < 2; i++)
        s_add (pool, id, "echo", "i", 20 + i);
    zclock_sleep (100);                 //  The sleep has started

    s_answered_t withdrawn = { .count = 0 };
    ck_assert_int_eq (sf_pool_withdraw (pool, s_withdrawn, &withdrawn), 7);
    ck_assert_int_eq (withdrawn.count, 7);
    for (size_t i = 0; i < withdrawn.count; i++)
        ck_assert (memcmp (withdrawn.ids [i], running, SF_UUID_SIZE) != 0);
    ck_assert_int_eq (sf_pool_withdraw (pool, s_withdrawn, &withdrawn), 0);

    //  Only the running job is answered, with its result
    sf_batchw_t out;
    sf_batchw_init (&out);
    sf_batchw_reset (&out, 0);
    s_answered_t answered = { .count = 0 };
    s_collect (pool, &out, &answered, 1);
    ck_assert (memcmp (answered.ids [0], running, SF_UUID_SIZE) == 0);
    ck_assert_int_eq (out.count, 1);
    //  The second chunk's answer holds nothing, and nothing more starts
    zpoller_t *poller = zpoller_new (sf_pool_pipe (pool, 0), NULL);
    ck_assert_ptr_nonnull (zpoller_wait (poller, 2000));
    ck_assert_int_eq (sf_pool_collect (pool, 0, &out, s_done, &answered), 0);
    s_add (pool, id, "echo", "i", 30);
    sf_pool_kick (pool);
    ck_assert_ptr_null (zpoller_wait (poller, 200));
    zpoller_destroy (&poller);
    ck_assert_int_eq (out.count, 1);
    ck_assert_int_eq (answered.count, 1);
    sf_batchw_destroy (&out);
    sf_pool_destroy (&pool);
}
END_TEST

START_TEST (test_cancel_all_stops_running_jobs)
{
    sf_pool_t *pool = sf_pool_new (2, false, NULL, NULL);
    uint8_t first [SF_UUID_SIZE], second [SF_UUID_SIZE];
    s_add (pool, first, "sleep", "ms", 20000);
    s_add (pool, second, "sleep", "ms", 20000);
    sf_pool_kick (pool);
    zclock_sleep (50);
    int64_t start = zclock_mono ();
    sf_pool_cancel_all (pool);
    sf_batchw_t out;
    sf_batchw_init (&out);
    sf_batchw_reset (&out, 0);
    s_answered_t answered = { .count = 0 };
    s_collect (pool, &out, &answered, 2);
    ck_assert_int_lt (zclock_mono () - start, 1000);
    sf_batchw_finish (&out);
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, out.buffer.data, out.buffer.size, 2, 100, &error), 0);
    msgpack_object head, payload;
    while (sf_batchr_next (&reader, &head, &payload, NULL, NULL, &error) == 0)
        ck_assert (sf_mp_streq (sf_mp_get (&payload, "code"), "CANCELLED"));
    sf_batchr_close (&reader);
    sf_batchw_destroy (&out);
    sf_pool_destroy (&pool);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_pool");
    TCase *tcase = tcase_create ("pool");
    tcase_set_timeout (tcase, 30);
    tcase_add_test (tcase, test_every_job_answered);
    tcase_add_test (tcase, test_flood_spreads_in_chunks);
    tcase_add_test (tcase, test_withdraw_returns_jobs_not_started);
    tcase_add_test (tcase, test_cancel_all_stops_running_jobs);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
