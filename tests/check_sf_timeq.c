/*  =========================================================================
    check_sf_timeq - deadlines and retry times come due in order, jobs and
    groups alike, and an item that leaves early is gone from the heap at once
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include "sf_group.h"
#include "sf_timeq.h"

#define S_COUNT 1000

//  The first entry due at now_us, taken out; NULL when none is (or a
//  group is first, which these tests of entries alone never have).
static sf_entry_t *
s_pop_entry (sf_timeq_t *timeq, int64_t now_us)
{
    sf_entry_t *entry;
    sf_group_t *group;
    if (!sf_timeq_pop_due (timeq, now_us, &entry, &group))
        return NULL;
    ck_assert_ptr_null (group);
    return entry;
}

START_TEST (test_due_in_order)
{
    sf_timeq_t *timeq = sf_timeq_new ();
    static sf_entry_t entries [S_COUNT];
    //  A fixed pseudo-random order of due times, with repeats
    for (int i = 0; i < S_COUNT; i++) {
        entries [i].due_us = (int64_t) ((i * 7919) % 613);
        sf_timeq_push (timeq, &entries [i]);
    }
    ck_assert_uint_eq (sf_timeq_size (timeq), S_COUNT);
    ck_assert_ptr_null (s_pop_entry (timeq, -1));
    int64_t last = -1;
    size_t taken = 0;
    sf_entry_t *entry;
    while ((entry = s_pop_entry (timeq, 612))) {
        ck_assert_int_ge (entry->due_us, last);
        ck_assert_uint_eq (entry->heap_pos, SF_TIMEQ_NONE);
        last = entry->due_us;
        taken++;
    }
    ck_assert_uint_eq (taken, S_COUNT);
    int64_t due;
    ck_assert (!sf_timeq_next (timeq, &due));
    sf_timeq_destroy (&timeq);
    ck_assert_ptr_null (timeq);
}
END_TEST

START_TEST (test_remove_keeps_order)
{
    sf_timeq_t *timeq = sf_timeq_new ();
    static sf_entry_t entries [S_COUNT];
    for (int i = 0; i < S_COUNT; i++) {
        entries [i].due_us = (int64_t) ((i * 104729) % 997);
        sf_timeq_push (timeq, &entries [i]);
    }
    //  Every third entry finishes before it is due
    for (int i = 0; i < S_COUNT; i += 3)
        sf_timeq_remove (timeq, &entries [i]);
    sf_timeq_remove (timeq, &entries [0]);          //  Twice: no change
    ck_assert_uint_eq (sf_timeq_size (timeq), S_COUNT - (S_COUNT + 2) / 3);
    int64_t last = -1;
    size_t taken = 0;
    sf_entry_t *entry;
    while ((entry = s_pop_entry (timeq, INT64_MAX))) {
        ck_assert_int_ne ((int) ((entry - entries) % 3), 0);
        ck_assert_int_ge (entry->due_us, last);
        last = entry->due_us;
        taken++;
    }
    ck_assert_uint_eq (taken, S_COUNT - (S_COUNT + 2) / 3);
    sf_timeq_destroy (&timeq);
}
END_TEST

START_TEST (test_not_due_stays)
{
    sf_timeq_t *timeq = sf_timeq_new ();
    sf_entry_t later = { .due_us = 2000 }, sooner = { .due_us = 1000 };
    sf_timeq_push (timeq, &later);
    sf_timeq_push (timeq, &sooner);
    int64_t due;
    ck_assert (sf_timeq_next (timeq, &due));
    ck_assert_int_eq (due, 1000);
    ck_assert_ptr_null (s_pop_entry (timeq, 999));
    ck_assert_ptr_eq (s_pop_entry (timeq, 1000), &sooner);
    ck_assert_ptr_null (s_pop_entry (timeq, 1999));
    sf_timeq_destroy (&timeq);
    ck_assert_uint_eq (later.heap_pos, SF_TIMEQ_NONE);
}
END_TEST

START_TEST (test_groups_and_jobs_share_the_heap)
{
    //  A group's deadline and jobs' due times come out in one order, and a
    //  group that answers before its deadline leaves the heap
    sf_timeq_t *timeq = sf_timeq_new ();
    sf_entry_t job_early = { .due_us = 100 }, job_late = { .due_us = 300 };
    sf_group_t group = { .deadline_us = 200, .heap_pos = SF_TIMEQ_NONE };
    sf_group_t gone = { .deadline_us = 150, .heap_pos = SF_TIMEQ_NONE };
    sf_timeq_push (timeq, &job_late);
    sf_timeq_push_group (timeq, &group);
    sf_timeq_push_group (timeq, &gone);
    sf_timeq_push (timeq, &job_early);
    sf_timeq_remove_group (timeq, &gone);
    sf_timeq_remove_group (timeq, &gone);           //  Twice: no change
    ck_assert_uint_eq (gone.heap_pos, SF_TIMEQ_NONE);
    ck_assert_uint_eq (sf_timeq_size (timeq), 3);

    sf_entry_t *entry;
    sf_group_t *due_group;
    ck_assert (sf_timeq_pop_due (timeq, 1000, &entry, &due_group));
    ck_assert_ptr_eq (entry, &job_early);
    ck_assert_ptr_null (due_group);
    ck_assert (!sf_timeq_pop_due (timeq, 199, &entry, &due_group));
    ck_assert (sf_timeq_pop_due (timeq, 200, &entry, &due_group));
    ck_assert_ptr_eq (due_group, &group);
    ck_assert_ptr_null (entry);
    ck_assert_uint_eq (group.heap_pos, SF_TIMEQ_NONE);
    ck_assert (sf_timeq_pop_due (timeq, 1000, &entry, &due_group));
    ck_assert_ptr_eq (entry, &job_late);
    ck_assert_uint_eq (sf_timeq_size (timeq), 0);
    sf_timeq_destroy (&timeq);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_timeq");
    TCase *tcase = tcase_create ("timeq");
    tcase_set_timeout (tcase, 10);
    tcase_add_test (tcase, test_due_in_order);
    tcase_add_test (tcase, test_remove_keeps_order);
    tcase_add_test (tcase, test_not_due_stays);
    tcase_add_test (tcase, test_groups_and_jobs_share_the_heap);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
