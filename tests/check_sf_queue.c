/*  =========================================================================
    check_sf_queue - an analyzer's ready queue: priority 9 first, FIFO
    within a priority, requeued jobs in front, workers taken in turn
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include "sf_queue.h"
#include "sf_registry.h"

static sf_entry_t *
s_entry (int priority, int tag)
{
    sf_entry_t *entry = (sf_entry_t *) zmalloc (sizeof *entry);
    entry->priority = (uint8_t) priority;
    entry->attempt = (uint32_t) tag;     //  Stands for the job's identity here
    return entry;
}

START_TEST (test_priority_then_fifo)
{
    sf_queue_t *queue = sf_queue_new ("rsi", 3);
    ck_assert_str_eq (queue->name, "rsi");
    int priorities [] = { 1, 9, 5, 9, 1, 5, 0 };
    sf_entry_t *entries [7];
    for (int i = 0; i < 7; i++) {
        entries [i] = s_entry (priorities [i], i);
        sf_queue_push (queue, entries [i]);
        ck_assert_int_eq (entries [i]->state, SF_JOB_QUEUED);
    }
    ck_assert_int_eq (queue->depth, 7);
    int expected [] = { 1, 3, 2, 5, 0, 4, 6 };
    for (int i = 0; i < 7; i++) {
        sf_entry_t *entry = sf_queue_pop (queue);
        ck_assert_ptr_nonnull (entry);
        ck_assert_int_eq (entry->attempt, expected [i]);
    }
    ck_assert_ptr_null (sf_queue_pop (queue));
    ck_assert_int_eq (queue->depth, 0);
    for (int i = 0; i < 7; i++)
        free (entries [i]);
    sf_queue_destroy (&queue);
    ck_assert_ptr_null (queue);
}
END_TEST

START_TEST (test_requeued_job_goes_first_in_its_priority)
{
    sf_queue_t *queue = sf_queue_new ("sma", 3);
    sf_entry_t *a = s_entry (5, 1), *b = s_entry (5, 2), *back = s_entry (5, 3),
               *urgent = s_entry (9, 4);
    sf_queue_push (queue, a);
    sf_queue_push (queue, b);
    sf_queue_push_front (queue, back);
    sf_queue_push (queue, urgent);
    ck_assert_ptr_eq (sf_queue_pop (queue), urgent);
    ck_assert_ptr_eq (sf_queue_pop (queue), back);
    ck_assert_ptr_eq (sf_queue_pop (queue), a);
    ck_assert_ptr_eq (sf_queue_pop (queue), b);
    free (a), free (b), free (back), free (urgent);
    sf_queue_destroy (&queue);
}
END_TEST

START_TEST (test_workers_added_once_and_removed)
{
    sf_queue_t *queue = sf_queue_new ("echo", 4);
    sf_wrec_t *workers [6];
    for (int i = 0; i < 6; i++) {
        workers [i] = (sf_wrec_t *) zmalloc (sizeof (sf_wrec_t));
        sf_queue_add_worker (queue, workers [i]);
        sf_queue_add_worker (queue, workers [i]);      //  Twice: still once
    }
    ck_assert_int_eq (queue->worker_count, 6);
    queue->turn = 5;
    sf_queue_remove_worker (queue, workers [5]);
    ck_assert_int_eq (queue->worker_count, 5);
    ck_assert_int_lt (queue->turn, queue->worker_count);
    sf_queue_remove_worker (queue, workers [5]);       //  Not there: no change
    ck_assert_int_eq (queue->worker_count, 5);
    for (int i = 0; i < 5; i++)
        sf_queue_remove_worker (queue, workers [i]);
    ck_assert_int_eq (queue->worker_count, 0);
    for (int i = 0; i < 6; i++)
        free (workers [i]);
    sf_queue_destroy (&queue);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_queue");
    TCase *tcase = tcase_create ("queue");
    tcase_set_timeout (tcase, 10);
    tcase_add_test (tcase, test_priority_then_fifo);
    tcase_add_test (tcase, test_requeued_job_goes_first_in_its_priority);
    tcase_add_test (tcase, test_workers_added_once_and_removed);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
