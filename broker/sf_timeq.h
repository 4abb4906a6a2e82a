/*  =========================================================================
    sf_timeq - jobs and groups ordered by the instant they are due

    A binary min-heap of what the broker must act on at a given instant: a
    running job's deadline, the instant a job waiting to be retried goes
    back to its queue, and a group's deadline. Each item knows its place in
    the heap (heap_pos), so one that finishes early leaves in O(log n) and
    the heap never holds stale items. The due instant is copied into the
    heap's slot, so ordering never reads the items themselves. The heap
    borrows its items.
    ========================================================================= */

#ifndef SF_TIMEQ_H_INCLUDED
#define SF_TIMEQ_H_INCLUDED

#include <stdbool.h>
#include "sf_entry.h"

//  heap_pos of an item that is not in a heap.
#define SF_TIMEQ_NONE UINT32_MAX

typedef struct _sf_timeq_t sf_timeq_t;

sf_timeq_t *sf_timeq_new (void);
void sf_timeq_destroy (sf_timeq_t **self_p);

//  Add entry, due at entry->due_us. It must not be in a heap.
void sf_timeq_push (sf_timeq_t *self, sf_entry_t *entry);

//  Take entry out; nothing happens if it is not in this heap.
void sf_timeq_remove (sf_timeq_t *self, sf_entry_t *entry);

//  Add group, due at group->deadline_us. It must not be in a heap.
void sf_timeq_push_group (sf_timeq_t *self, sf_group_t *group);

//  Take group out; nothing happens if it is not in this heap.
void sf_timeq_remove_group (sf_timeq_t *self, sf_group_t *group);

//  The instant the first item is due, in *due_us. Returns false when the
//  heap is empty.
bool sf_timeq_next (sf_timeq_t *self, int64_t *due_us);

//  Take out the first item if it is due at now_us: returns true with
//  *entry or *group set to it (the other NULL), else false.
bool sf_timeq_pop_due (sf_timeq_t *self, int64_t now_us, sf_entry_t **entry,
                       sf_group_t **group);

size_t sf_timeq_size (sf_timeq_t *self);

#endif
