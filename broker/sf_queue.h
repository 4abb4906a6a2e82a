/*  =========================================================================
    sf_queue - the ready queue of one analyzer

    Jobs wait by priority (9 is served first) and, within a priority, by
    source: the jobs of one group are one source, and the plain submits of
    one client are another. Each source with queued jobs at a priority has
    a FIFO there, and the FIFOs of a priority form a ring that dispatch
    walks one job at a time, so a group of 100,000 jobs queued first takes
    turns with a later group of five instead of delaying it. Every step is
    O(1): a push finds its source's FIFO through a small hash (the last one
    used is cached, as a submit's jobs come from one source), a pop takes
    the head of the FIFO whose turn it is and moves the turn on, and a
    remove unlinks through the entry's own pointer to its FIFO. A FIFO lives
    while it has jobs; emptied ones are kept on a short spare list for
    reuse.

    The queue also keeps the workers that serve the analyzer, taken in turn
    so that load spreads. It borrows its entries (the ledger owns them) and
    its workers (the registry owns them).
    ========================================================================= */

#ifndef SF_QUEUE_H_INCLUDED
#define SF_QUEUE_H_INCLUDED

#include <stdbool.h>
#include <czmq.h>
#include "sf_codec.h"
#include "sf_entry.h"

//  One source's queued jobs at one priority of one queue.
struct _sf_qsource_t {
    const void *owner;                      //  The group, else the client (identity only)
    uint8_t priority;                       //  Of its jobs
    sf_entry_list_t fifo;                   //  Its queued entries, oldest first
    sf_qsource_t *prev;                     //  Ring links among its priority's sources
    sf_qsource_t *next;
};

struct _sf_queue_t {
    char name [SF_NAME_MAX + 1];            //  Analyzer name
    sf_qsource_t *ring [SF_PRIORITY_MAX + 1];   //  By priority: the source served next
    unsigned levels;                        //  Bit p set: priority p has queued jobs
    zhashx_t *sources;                      //  (owner, priority) -> its FIFO (owned)
    sf_qsource_t *last;                     //  FIFO of the last push (cache), or NULL
    sf_qsource_t *spare;                    //  Emptied FIFOs kept for reuse (by next)
    size_t spare_count;                     //  How many
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

//  Destroy a queue and its source FIFOs; its entries and workers are not
//  touched.
void sf_queue_destroy (sf_queue_t **self_p);

//  The source an entry is queued under: its group, else its client (NULL
//  for a job no client waits on, such as a recovered one).
const void *sf_queue_source_of (const sf_entry_t *entry);

//  Append entry to its source's FIFO at its priority (a new job). A source
//  new to that priority joins the ring last: it is served after the
//  sources already waiting have had their turn.
void sf_queue_push (sf_queue_t *self, sf_entry_t *entry);

//  Put entry back in front of its source's FIFO (a job that lost its
//  worker runs before newer ones of its source). A source new to that
//  priority is the next one served.
void sf_queue_push_front (sf_queue_t *self, sf_entry_t *entry);

//  Take a queued entry out of its FIFO (a cancelled job).
void sf_queue_remove (sf_queue_t *self, sf_entry_t *entry);

//  Take the next entry of the highest priority: the oldest of the source
//  whose turn it is, whose turn then passes to the next source. NULL when
//  nothing is queued.
sf_entry_t *sf_queue_pop (sf_queue_t *self);

//  The next worker in turn with credit (fewer jobs in flight than its
//  slots); the turn passes to the one after it. NULL when every worker is
//  full or none serves the analyzer.
sf_wrec_t *sf_queue_next_worker (sf_queue_t *self);

//  Add or remove a worker that serves this analyzer.
void sf_queue_add_worker (sf_queue_t *self, sf_wrec_t *worker);
void sf_queue_remove_worker (sf_queue_t *self, sf_wrec_t *worker);

#endif
