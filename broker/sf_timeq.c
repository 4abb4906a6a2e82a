/*  =========================================================================
    sf_timeq - entries ordered by the instant they are due
    ========================================================================= */

#include <stdlib.h>
#include "sf_timeq.h"

struct _sf_timeq_t {
    sf_entry_t **heap;          //  heap [0] is due first
    size_t size;
    size_t max;
};

sf_timeq_t *
sf_timeq_new (void)
{
    sf_timeq_t *self = (sf_timeq_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    return self;
}

void
sf_timeq_destroy (sf_timeq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_timeq_t *self = *self_p;
    for (size_t i = 0; i < self->size; i++)
        self->heap [i]->heap_pos = SF_TIMEQ_NONE;
    free (self->heap);
    free (self);
    *self_p = NULL;
}

static void
s_place (sf_timeq_t *self, size_t pos, sf_entry_t *entry)
{
    self->heap [pos] = entry;
    entry->heap_pos = (uint32_t) pos;
}

//  Move the entry at pos towards the root while it is due earlier than
//  its parent, then towards the leaves while a child is due earlier.
static void
s_settle (sf_timeq_t *self, size_t pos)
{
    sf_entry_t *entry = self->heap [pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (self->heap [parent]->due_us <= entry->due_us)
            break;
        s_place (self, pos, self->heap [parent]);
        pos = parent;
    }
    while (true) {
        size_t child = 2 * pos + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size && self->heap [child + 1]->due_us < self->heap [child]->due_us)
            child++;
        if (entry->due_us <= self->heap [child]->due_us)
            break;
        s_place (self, pos, self->heap [child]);
        pos = child;
    }
    s_place (self, pos, entry);
}

void
sf_timeq_push (sf_timeq_t *self, sf_entry_t *entry)
{
    if (self->size == self->max) {
        self->max = self->max? self->max * 2: 64;
        self->heap = (sf_entry_t **) realloc (self->heap, self->max * sizeof *self->heap);
        if (!self->heap)
            abort ();
    }
    s_place (self, self->size++, entry);
    s_settle (self, self->size - 1);
}

void
sf_timeq_remove (sf_timeq_t *self, sf_entry_t *entry)
{
    size_t pos = entry->heap_pos;
    if (pos >= self->size || self->heap [pos] != entry)
        return;
    entry->heap_pos = SF_TIMEQ_NONE;
    sf_entry_t *last = self->heap [--self->size];
    if (pos < self->size) {
        s_place (self, pos, last);
        s_settle (self, pos);
    }
}

sf_entry_t *
sf_timeq_first (sf_timeq_t *self)
{
    return self->size? self->heap [0]: NULL;
}

sf_entry_t *
sf_timeq_pop_due (sf_timeq_t *self, int64_t now_us)
{
    sf_entry_t *first = sf_timeq_first (self);
    if (!first || first->due_us > now_us)
        return NULL;
    sf_timeq_remove (self, first);
    return first;
}

size_t
sf_timeq_size (sf_timeq_t *self)
{
    return self->size;
}
