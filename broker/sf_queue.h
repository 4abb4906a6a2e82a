/*  =========================================================================
    sf_queue - the ready queue of one analyzer

    Ten FIFOs, one per priority (9 is served first), and the workers that
    serve the analyzer, taken in turn so that load spreads. The queue
    borrows its entries (the ledger owns them) and its workers (the
    registry owns them).
    ========================================================================= */

#ifndef SF_QUEUE_H_INCLUDED
#define SF_QUEUE_H_INCLUDED

#include <stdbool.h>
#include "sf_codec.h"
#include "sf_entry.h"

struct _sf_queue_t {
    char name [SF_NAME_MAX + 1];            //  Analyzer name
    sf_entry_list_t fifo [SF_PRIORITY_MAX + 1];  //  Queued entries by priority
    size_t depth;                           //  Queued entries in all FIFOs
    size_t running;                         //  Its entries at workers
    sf_wrec_t **workers;                    //  Workers serving it (borrowed)
    size_t worker_count;                    //  How many
    size_t worker_max;                      //  Room in workers
    size_t turn;                            //  Next worker to consider
    bool dirty;                             //  In the broker's dispatch list
    size_t batch;                           //  Scratch: jobs of a submit being checked
};

//  Create a queue for the analyzer name (size bytes).
sf_queue_t *sf_queue_new (const char *name, size_t size);

//  Destroy a queue; its entries and workers are not touched.
void sf_queue_destroy (sf_queue_t **self_p);

//  Append entry to its priority's FIFO (a new job).
void sf_queue_push (sf_queue_t *self, sf_entry_t *entry);

//  Put entry back in front of its priority's FIFO (a job that lost its
//  worker runs before newer ones).
void sf_queue_push_front (sf_queue_t *self, sf_entry_t *entry);

//  Take a queued entry out of its FIFO (a cancelled job).
void sf_queue_remove (sf_queue_t *self, sf_entry_t *entry);

//  Take the oldest entry of the highest priority, or NULL.
sf_entry_t *sf_queue_pop (sf_queue_t *self);

//  Add or remove a worker that serves this analyzer.
void sf_queue_add_worker (sf_queue_t *self, sf_wrec_t *worker);
void sf_queue_remove_worker (sf_queue_t *self, sf_wrec_t *worker);

#endif
