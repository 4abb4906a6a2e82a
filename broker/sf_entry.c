/*  =========================================================================
    sf_entry - one job as the broker tracks it
    ========================================================================= */

#include <stdlib.h>
#include "sf_entry.h"

void
sf_entry_list_append (sf_entry_list_t *list, sf_entry_t *entry)
{
    entry->next = NULL;
    entry->prev = list->tail;
    if (list->tail)
        list->tail->next = entry;
    else
        list->head = entry;
    list->tail = entry;
    list->size++;
}

void
sf_entry_list_prepend (sf_entry_list_t *list, sf_entry_t *entry)
{
    entry->prev = NULL;
    entry->next = list->head;
    if (list->head)
        list->head->prev = entry;
    else
        list->tail = entry;
    list->head = entry;
    list->size++;
}

void
sf_entry_list_remove (sf_entry_list_t *list, sf_entry_t *entry)
{
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        list->head = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    else
        list->tail = entry->prev;
    entry->prev = entry->next = NULL;
    list->size--;
}

void
sf_entry_destroy (sf_entry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_entry_t *self = *self_p;
    free (self->spec);
    free (self->key);
    free (self->state_key);
    free (self->payload);
    free (self->history);
    free (self);
    *self_p = NULL;
}
