/*  =========================================================================
    check_sf_queue - an analyzer's ready queue: priority 9 first, sources
    taking turns within a priority, FIFO within a source, requeued jobs in
    front of their source, cancelled jobs taken out, workers taken in turn
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

//  Three stand-ins for sources: two groups and one client's plain submits.
static char s_group_a, s_group_b, s_client_c;

static sf_entry_t *
s_sourced (int priority, int tag, void *source)
{
    sf_entry_t *entry = s_entry (priority, tag);
    if (source == &s_client_c)
        entry->client = (sf_crec_t *) source;
    else
        entry->group = (sf_group_t *) source;
    return entry;
}

//  Pop everything; the tags in order go to tags, returns how many.
static int
s_drain (sf_queue_t *queue, int *tags, int max)
{
    int count = 0;
    sf_entry_t *entry;
    while ((entry = sf_queue_pop (queue))) {
        ck_assert_int_lt (count, max);
        ck_assert_ptr_null (entry->source);
        tags [count++] = (int) entry->attempt;
    }
    ck_assert_int_eq (queue->depth, 0);
    ck_assert_int_eq (zhashx_size (queue->sources), 0);
    return count;
}

START_TEST (test_sources_take_turns)
{
    //  A big group queued first, then a small group, then a client's jobs:
    //  one job of each in turn, each source's own jobs in order
    sf_queue_t *queue = sf_queue_new ("echo", 4);
    sf_entry_t *entries [10];
    int n = 0;
    for (int i = 0; i < 6; i++, n++)
        sf_queue_push (queue, entries [n] = s_sourced (5, 10 + i, &s_group_a));
    for (int i = 0; i < 2; i++, n++)
        sf_queue_push (queue, entries [n] = s_sourced (5, 20 + i, &s_group_b));
    for (int i = 0; i < 2; i++, n++)
        sf_queue_push (queue, entries [n] = s_sourced (5, 30 + i, &s_client_c));
    ck_assert_int_eq (queue->depth, 10);
    ck_assert_int_eq (zhashx_size (queue->sources), 3);
    int tags [10];
    ck_assert_int_eq (s_drain (queue, tags, 10), 10);
    int expected [] = { 10, 20, 30, 11, 21, 31, 12, 13, 14, 15 };
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq (tags [i], expected [i]);

    //  A source that comes back after emptying waits for its turn again
    sf_queue_push (queue, entries [0]);
    sf_queue_push (queue, entries [1]);
    ck_assert_ptr_eq (sf_queue_pop (queue), entries [0]);
    sf_queue_push (queue, entries [6]);         //  Group b joins, behind a's turn
    sf_queue_push (queue, entries [2]);         //  Group a again, behind its own
    ck_assert_ptr_eq (sf_queue_pop (queue), entries [1]);
    ck_assert_ptr_eq (sf_queue_pop (queue), entries [6]);
    ck_assert_ptr_eq (sf_queue_pop (queue), entries [2]);
    ck_assert_ptr_null (sf_queue_pop (queue));
    for (int i = 0; i < 10; i++)
        free (entries [i]);
    sf_queue_destroy (&queue);
}
END_TEST

START_TEST (test_priorities_before_turns)
{
    //  An urgent source is served to the end before a lower priority's
    //  sources take turns, and one group's jobs of two priorities are two
    //  sources
    sf_queue_t *queue = sf_queue_new ("echo", 4);
    sf_entry_t *entries [7] = {
        s_sourced (3, 1, &s_group_a), s_sourced (3, 2, &s_group_a),
        s_sourced (3, 3, &s_group_b), s_sourced (9, 4, &s_client_c),
        s_sourced (9, 5, &s_client_c), s_sourced (9, 6, &s_group_a),
        s_sourced (0, 7, &s_group_b)
    };
    for (int i = 0; i < 7; i++)
        sf_queue_push (queue, entries [i]);
    int tags [7];
    ck_assert_int_eq (s_drain (queue, tags, 7), 7);
    int expected [] = { 4, 6, 5, 1, 3, 2, 7 };
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq (tags [i], expected [i]);
    for (int i = 0; i < 7; i++)
        free (entries [i]);
    sf_queue_destroy (&queue);
}
END_TEST

START_TEST (test_requeued_job_first_in_its_source)
{
    sf_queue_t *queue = sf_queue_new ("echo", 4);
    sf_entry_t *a1 = s_sourced (5, 1, &s_group_a), *a2 = s_sourced (5, 2, &s_group_a),
               *b1 = s_sourced (5, 3, &s_group_b), *b2 = s_sourced (5, 4, &s_group_b),
               *c1 = s_sourced (5, 5, &s_client_c);
    sf_queue_push (queue, a1);
    sf_queue_push (queue, a2);
    sf_queue_push (queue, b1);
    ck_assert_ptr_eq (sf_queue_pop (queue), a1);
    //  a1's worker is lost: back in front of a2, group b keeps its turn
    sf_queue_push_front (queue, a1);
    ck_assert_int_eq (a1->state, SF_JOB_QUEUED);
    ck_assert_ptr_eq (sf_queue_pop (queue), b1);
    ck_assert_ptr_eq (sf_queue_pop (queue), a1);
    ck_assert_ptr_eq (sf_queue_pop (queue), a2);
    ck_assert_ptr_null (sf_queue_pop (queue));

    //  A requeued job whose source has nothing queued is served next
    sf_queue_push (queue, b1);
    sf_queue_push (queue, b2);
    sf_queue_push_front (queue, c1);
    ck_assert_ptr_eq (sf_queue_pop (queue), c1);
    ck_assert_ptr_eq (sf_queue_pop (queue), b1);
    ck_assert_ptr_eq (sf_queue_pop (queue), b2);
    free (a1), free (a2), free (b1), free (b2), free (c1);
    sf_queue_destroy (&queue);
}
END_TEST

START_TEST (test_remove_keeps_turns)
{
    sf_queue_t *queue = sf_queue_new ("echo", 4);
    sf_entry_t *a1 = s_sourced (5, 1, &s_group_a), *a2 = s_sourced (5, 2, &s_group_a),
               *a3 = s_sourced (5, 3, &s_group_a), *b1 = s_sourced (5, 4, &s_group_b),
               *c1 = s_sourced (5, 5, &s_client_c), *c2 = s_sourced (5, 6, &s_client_c);
    sf_queue_push (queue, a1);
    sf_queue_push (queue, a2);
    sf_queue_push (queue, a3);
    sf_queue_push (queue, b1);
    sf_queue_push (queue, c1);
    sf_queue_push (queue, c2);
    //  Cancelled: one in the middle of a source, a source's only job (its
    //  FIFO goes), and the head of the source whose turn it is
    sf_queue_remove (queue, a2);
    ck_assert_ptr_null (a2->source);
    sf_queue_remove (queue, b1);
    ck_assert_int_eq (zhashx_size (queue->sources), 2);
    sf_queue_remove (queue, a1);
    ck_assert_int_eq (queue->depth, 3);
    int tags [3];
    ck_assert_int_eq (s_drain (queue, tags, 3), 3);
    ck_assert_int_eq (tags [0], 3);
    ck_assert_int_eq (tags [1], 5);
    ck_assert_int_eq (tags [2], 6);

    //  Removing the last queued job empties the queue
    sf_queue_push (queue, c1);
    sf_queue_remove (queue, c1);
    ck_assert_int_eq (queue->depth, 0);
    ck_assert_ptr_null (sf_queue_pop (queue));
    free (a1), free (a2), free (a3), free (b1), free (c1), free (c2);
    sf_queue_destroy (&queue);
}
END_TEST

START_TEST (test_many_sources_destroyed_with_jobs)
{
    //  Sources beyond the spare list come and go; a queue destroyed with
    //  jobs still queued frees its FIFOs (the suite runs under LSan)
    sf_queue_t *queue = sf_queue_new ("echo", 4);
    enum { SOURCES = 200 };
    static char owners [SOURCES];
    sf_entry_t *entries [SOURCES];
    for (int i = 0; i < SOURCES; i++) {
        entries [i] = s_entry (i % 10, i);
        entries [i]->group = (sf_group_t *) &owners [i];
        sf_queue_push (queue, entries [i]);
    }
    ck_assert_int_eq (zhashx_size (queue->sources), SOURCES);
    for (int i = 0; i < SOURCES / 2; i++)
        ck_assert_int_eq (sf_queue_pop (queue)->priority, 9 - i / (SOURCES / 10));
    ck_assert_int_eq (queue->depth, SOURCES / 2);
    sf_queue_destroy (&queue);
    for (int i = 0; i < SOURCES; i++)
        free (entries [i]);
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
    tcase_add_test (tcase, test_sources_take_turns);
    tcase_add_test (tcase, test_priorities_before_turns);
    tcase_add_test (tcase, test_requeued_job_first_in_its_source);
    tcase_add_test (tcase, test_remove_keeps_turns);
    tcase_add_test (tcase, test_many_sources_destroyed_with_jobs);
    tcase_add_test (tcase, test_workers_added_once_and_removed);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
