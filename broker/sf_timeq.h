/*  =========================================================================
    sf_timeq - entries ordered by the instant they are due

    A binary min-heap of entries keyed by their due_us: a running job's
    deadline, or the instant a job waiting to be retried goes back to its
    queue. Each entry knows its place in the heap (heap_pos), so one that
    finishes early leaves in O(log n) and the heap never holds stale items.
    The heap borrows its entries.
    ========================================================================= */

#ifndef SF_TIMEQ_H_INCLUDED
#define SF_TIMEQ_H_INCLUDED

#include "sf_entry.h"

//  heap_pos of an entry that is not in a heap.
#define SF_TIMEQ_NONE UINT32_MAX

typedef struct _sf_timeq_t sf_timeq_t;

sf_timeq_t *sf_timeq_new (void);
void sf_timeq_destroy (sf_timeq_t **self_p);

//  Add entry, due at entry->due_us. It must not be in a heap.
void sf_timeq_push (sf_timeq_t *self, sf_entry_t *entry);

//  Take entry out; nothing happens if it is not in this heap.
void sf_timeq_remove (sf_timeq_t *self, sf_entry_t *entry);

//  The entry due first, or NULL when empty.
sf_entry_t *sf_timeq_first (sf_timeq_t *self);

//  Take out and return the first entry if it is due at now_us, else NULL.
sf_entry_t *sf_timeq_pop_due (sf_timeq_t *self, int64_t now_us);

size_t sf_timeq_size (sf_timeq_t *self);

#endif
