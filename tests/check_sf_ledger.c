/*  =========================================================================
    check_sf_ledger - every job by id; finished results evicted by count and
    by age, oldest first; idempotency keys
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include "sf_ledger.h"

static sf_entry_t *
s_entry (const char *key)
{
    sf_entry_t *entry = (sf_entry_t *) zmalloc (sizeof *entry);
    sf_uuid_v7 (entry->id);
    entry->key = key? strdup (key): NULL;
    return entry;
}

START_TEST (test_find_by_id_and_key)
{
    sf_ledger_t *ledger = sf_ledger_new (10, 60000, 10);
    sf_entry_t *plain = s_entry (NULL), *keyed = s_entry ("daily:GOOG");
    sf_ledger_insert (ledger, plain);
    sf_ledger_insert (ledger, keyed);
    ck_assert_int_eq (sf_ledger_size (ledger), 2);
    ck_assert_ptr_eq (sf_ledger_find (ledger, plain->id), plain);
    ck_assert_ptr_eq (sf_ledger_find (ledger, keyed->id), keyed);
    ck_assert_ptr_eq (sf_ledger_find_key (ledger, "daily:GOOG", 10), keyed);
    ck_assert_ptr_null (sf_ledger_find_key (ledger, "daily:GOO", 9));
    uint8_t other [SF_UUID_SIZE];
    sf_uuid_v7 (other);
    ck_assert_ptr_null (sf_ledger_find (ledger, other));
    size_t seen = 0;
    for (sf_entry_t *entry = sf_ledger_first (ledger); entry; entry = sf_ledger_next (ledger))
        seen++;
    ck_assert_int_eq (seen, 2);
    sf_ledger_destroy (&ledger);
    ck_assert_ptr_null (ledger);
}
END_TEST

START_TEST (test_eviction_by_count_oldest_first)
{
    sf_ledger_t *ledger = sf_ledger_new (3, 60000, 10);
    sf_entry_t *entries [5];
    for (int i = 0; i < 5; i++) {
        entries [i] = s_entry (i == 0? "first": NULL);
        sf_ledger_insert (ledger, entries [i]);
        sf_ledger_finished (ledger, entries [i], 1000 + i);
        ck_assert_int_eq (entries [i]->state, SF_JOB_FINISHED);
    }
    uint8_t first_id [SF_UUID_SIZE], second_id [SF_UUID_SIZE], third_id [SF_UUID_SIZE];
    memcpy (first_id, entries [0]->id, SF_UUID_SIZE);
    memcpy (second_id, entries [1]->id, SF_UUID_SIZE);
    memcpy (third_id, entries [2]->id, SF_UUID_SIZE);
    ck_assert_int_eq (sf_ledger_purge (ledger, 2000), 2);
    ck_assert_int_eq (sf_ledger_finished_count (ledger), 3);
    ck_assert_ptr_null (sf_ledger_find (ledger, first_id));
    ck_assert_ptr_null (sf_ledger_find (ledger, second_id));
    ck_assert_ptr_null (sf_ledger_find_key (ledger, "first", 5));
    ck_assert_ptr_nonnull (sf_ledger_find (ledger, third_id));
    sf_ledger_destroy (&ledger);
}
END_TEST

START_TEST (test_eviction_by_age_spares_unfinished)
{
    sf_ledger_t *ledger = sf_ledger_new (100, 1, 10);      //  1 ms TTL
    sf_entry_t *old = s_entry (NULL), *fresh = s_entry (NULL), *running = s_entry (NULL);
    sf_ledger_insert (ledger, old);
    sf_ledger_insert (ledger, fresh);
    sf_ledger_insert (ledger, running);
    sf_ledger_finished (ledger, old, 10000);
    sf_ledger_finished (ledger, fresh, 10900);
    ck_assert_int_eq (sf_ledger_purge (ledger, 11500), 1);     //  old is 1.5 ms old
    ck_assert_int_eq (sf_ledger_size (ledger), 2);
    ck_assert_ptr_eq (sf_ledger_find (ledger, fresh->id), fresh);
    ck_assert_ptr_eq (sf_ledger_find (ledger, running->id), running);
    ck_assert_int_eq (sf_ledger_purge (ledger, 1000000000), 1);
    ck_assert_ptr_eq (sf_ledger_find (ledger, running->id), running);
    sf_ledger_destroy (&ledger);
}
END_TEST

START_TEST (test_dead_letters_kept_apart)
{
    //  Results live 1 ms; dead letters stay until retried, purged, or
    //  pushed out by newer ones beyond dead_max
    sf_ledger_t *ledger = sf_ledger_new (100, 1, 2);
    sf_entry_t *dead [3], *done = s_entry (NULL);
    for (int i = 0; i < 3; i++) {
        dead [i] = s_entry (NULL);
        sf_ledger_insert (ledger, dead [i]);
        dead [i]->status = SF_STATUS_DEAD;
        sf_ledger_finished (ledger, dead [i], 0);
    }
    sf_ledger_insert (ledger, done);
    done->status = SF_STATUS_OK;
    sf_ledger_finished (ledger, done, 0);
    ck_assert_int_eq (sf_ledger_dead_count (ledger), 3);
    ck_assert_int_eq (sf_ledger_finished_count (ledger), 1);
    //  Long after the TTL: the result is gone, the two newest dead stay
    ck_assert_int_eq (sf_ledger_purge (ledger, 1000000), 2);
    ck_assert_int_eq (sf_ledger_dead_count (ledger), 2);
    ck_assert_ptr_eq (sf_ledger_dead_first (ledger), dead [1]);
    ck_assert_ptr_eq (sf_ledger_dead_first (ledger)->next, dead [2]);
    //  A retried one leaves the dead list; a purged one is gone
    sf_ledger_revive (ledger, dead [1]);
    ck_assert_ptr_eq (sf_ledger_dead_first (ledger), dead [2]);
    ck_assert_ptr_eq (sf_ledger_find (ledger, dead [1]->id), dead [1]);
    uint8_t id [SF_UUID_SIZE];
    memcpy (id, dead [2]->id, SF_UUID_SIZE);
    sf_ledger_forget (ledger, dead [2]);
    ck_assert_ptr_null (sf_ledger_find (ledger, id));
    ck_assert_int_eq (sf_ledger_dead_count (ledger), 0);
    sf_ledger_destroy (&ledger);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_ledger");
    TCase *tcase = tcase_create ("ledger");
    tcase_set_timeout (tcase, 10);
    tcase_add_test (tcase, test_find_by_id_and_key);
    tcase_add_test (tcase, test_dead_letters_kept_apart);
    tcase_add_test (tcase, test_eviction_by_count_oldest_first);
    tcase_add_test (tcase, test_eviction_by_age_spares_unfinished);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
