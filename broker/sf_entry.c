/*  =========================================================================
    sf_entry - one job as the broker tracks it
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "sf_alloc.h"
#include "sf_entry.h"
#include "sf_mp.h"
#include "sf_queue.h"

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

sf_entry_t *
sf_entry_new (const sf_jobspec_t *spec, const char *raw, size_t raw_size, int64_t now_us)
{
    sf_entry_t *self = (sf_entry_t *) sf_alloc (sizeof *self);
    self->heap_pos = UINT32_MAX;
    self->accepted_us = now_us;
    if (!spec)
        return self;
    self->priority = (uint8_t) spec->priority;
    self->chained = spec->then != NULL;
    self->timeout_ms = spec->timeout_ms;
    self->retries = spec->retries;
    self->backoff_ms = spec->backoff_ms;
    if (spec->state_key) {
        self->state_key = sf_alloc_strndup (spec->state_key, spec->state_key_size);
    }
    self->spec = (char *) sf_alloc (raw_size);
    memcpy (self->spec, raw, raw_size);
    self->spec_size = (uint32_t) raw_size;
    return self;
}

int
sf_entry_job (const sf_entry_t *self, msgpack_unpacked *unpacked, msgpack_object *job)
{
    msgpack_unpacked_init (unpacked);
    size_t offset = 0;
    const char *why;
    return sf_mp_next (unpacked, self->spec, self->spec_size, &offset, job, NULL, NULL, &why);
}

void
sf_entry_result_head (const sf_entry_t *self, sf_result_head_t *head)
{
    *head = (sf_result_head_t) {
        .status = self->status,
        .analyzer = self->queue->name,
        .worker = self->worker_name? self->worker_name: "",
        .attempts = self->attempt,
        .queued_us = self->dispatched_us? (uint64_t) (self->dispatched_us - self->accepted_us): 0,
        .run_us = self->run_us,
        .total_us = (uint64_t) (self->finished_us - self->accepted_us)
    };
    memcpy (head->id, self->id, SF_UUID_SIZE);
    if (self->then_id) {
        head->chained = true;
        memcpy (head->then, self->then_id, SF_UUID_SIZE);
    }
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
    free (self->then_id);
    free (self);
    *self_p = NULL;
}
