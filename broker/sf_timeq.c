/*  =========================================================================
    sf_timeq - jobs and groups ordered by the instant they are due
    ========================================================================= */

#include <stdlib.h>
#include "sf_alloc.h"
#include "sf_group.h"
#include "sf_timeq.h"

//  One place in the heap.
typedef struct {
    int64_t due_us;             //  When its item is due (a copy)
    void *item;                 //  The entry or the group (borrowed)
    bool group;                 //  item is an sf_group_t, else an sf_entry_t
} s_slot_t;

struct _sf_timeq_t {
    s_slot_t *heap;             //  heap [0] is due first
    size_t size;                //  Slots in use
    size_t max;                 //  Room
};

sf_timeq_t *
sf_timeq_new (void)
{
    sf_timeq_t *self = (sf_timeq_t *) sf_alloc (sizeof *self);
    return self;
}

//  Where the item of a slot keeps its place.
static uint32_t *
s_pos_of (const s_slot_t *slot)
{
    return slot->group? &((sf_group_t *) slot->item)->heap_pos
                      : &((sf_entry_t *) slot->item)->heap_pos;
}

void
sf_timeq_destroy (sf_timeq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_timeq_t *self = *self_p;
    for (size_t i = 0; i < self->size; i++)
        *s_pos_of (&self->heap [i]) = SF_TIMEQ_NONE;
    free (self->heap);
    free (self);
    *self_p = NULL;
}

static void
s_place (sf_timeq_t *self, size_t pos, s_slot_t slot)
{
    self->heap [pos] = slot;
    *s_pos_of (&slot) = (uint32_t) pos;
}

//  Move the slot at pos towards the root while it is due earlier than its
//  parent, then towards the leaves while a child is due earlier.
static void
s_settle (sf_timeq_t *self, size_t pos)
{
    s_slot_t slot = self->heap [pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (self->heap [parent].due_us <= slot.due_us)
            break;
        s_place (self, pos, self->heap [parent]);
        pos = parent;
    }
    while (true) {
        size_t child = 2 * pos + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size && self->heap [child + 1].due_us < self->heap [child].due_us)
            child++;
        if (slot.due_us <= self->heap [child].due_us)
            break;
        s_place (self, pos, self->heap [child]);
        pos = child;
    }
    s_place (self, pos, slot);
}

static void
s_push (sf_timeq_t *self, int64_t due_us, void *item, bool group)
{
    if (self->size == self->max) {
        self->max = self->max? self->max * 2: 64;
        self->heap = (s_slot_t *) sf_alloc_resize (self->heap, self->max, sizeof *self->heap);
    }
    s_place (self, self->size++, (s_slot_t) { due_us, item, group });
    s_settle (self, self->size - 1);
}

//  Take out the item at pos, if it is item.
static void
s_remove (sf_timeq_t *self, uint32_t pos, const void *item)
{
    if (pos >= self->size || self->heap [pos].item != item)
        return;
    *s_pos_of (&self->heap [pos]) = SF_TIMEQ_NONE;
    s_slot_t last = self->heap [--self->size];
    if (pos < self->size) {
        s_place (self, pos, last);
        s_settle (self, pos);
    }
}

void
sf_timeq_push (sf_timeq_t *self, sf_entry_t *entry)
{
    s_push (self, entry->due_us, entry, false);
}

void
sf_timeq_remove (sf_timeq_t *self, sf_entry_t *entry)
{
    s_remove (self, entry->heap_pos, entry);
}

void
sf_timeq_push_group (sf_timeq_t *self, sf_group_t *group)
{
    s_push (self, group->deadline_us, group, true);
}

void
sf_timeq_remove_group (sf_timeq_t *self, sf_group_t *group)
{
    s_remove (self, group->heap_pos, group);
}

bool
sf_timeq_next (sf_timeq_t *self, int64_t *due_us)
{
    if (self->size == 0)
        return false;
    *due_us = self->heap [0].due_us;
    return true;
}

bool
sf_timeq_pop_due (sf_timeq_t *self, int64_t now_us, sf_entry_t **entry, sf_group_t **group)
{
    *entry = NULL;
    *group = NULL;
    if (self->size == 0 || self->heap [0].due_us > now_us)
        return false;
    s_slot_t first = self->heap [0];
    s_remove (self, 0, first.item);
    if (first.group)
        *group = (sf_group_t *) first.item;
    else
        *entry = (sf_entry_t *) first.item;
    return true;
}

size_t
sf_timeq_size (sf_timeq_t *self)
{
    return self->size;
}
