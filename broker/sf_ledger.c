/*  =========================================================================
    sf_ledger - every job the broker knows, by id

    Ids are hashed with sf_uuid_hash (their random bits) in a czmq zhashx
    whose keys point into the entries themselves, so an entry costs one
    hash item and no key copy.
    ========================================================================= */

#include <czmq.h>
#include "sf_ledger.h"

struct _sf_ledger_t {
    zhashx_t *by_id;            //  id -> entry; owns the entries
    zhashx_t *by_key;           //  idempotency key -> entry (borrowed)
    sf_entry_list_t finished;   //  Finished entries, oldest first
    sf_entry_list_t dead;       //  Dead letters, oldest first
    size_t max_results;         //  Most finished entries kept
    size_t max_bytes;           //  Most bytes of results the finished entries keep
    size_t finished_bytes;      //  Bytes of results the finished entries keep
    size_t dead_max;            //  Most dead letters kept
    int64_t ttl_us;             //  Longest a finished entry is kept
};

static void
s_entry_destructor (void **item)
{
    sf_entry_destroy ((sf_entry_t **) item);
}

//  --------------------------------------------------------------------------
//  Create a ledger.

sf_ledger_t *
sf_ledger_new (size_t max_results, int64_t result_ttl_ms, size_t dead_max)
{
    sf_ledger_t *self = (sf_ledger_t *) zmalloc (sizeof *self);
    self->by_id = sf_uuid_table (false);      //  Keys live in the entries
    zhashx_set_destructor (self->by_id, s_entry_destructor);
    self->by_key = zhashx_new ();
    self->max_results = max_results;
    self->max_bytes = SIZE_MAX;
    self->dead_max = dead_max;
    self->ttl_us = result_ttl_ms * 1000;
    return self;
}

void
sf_ledger_destroy (sf_ledger_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_ledger_t *self = *self_p;
    zhashx_destroy (&self->by_key);
    zhashx_destroy (&self->by_id);
    free (self);
    *self_p = NULL;
}

void
sf_ledger_set_max_bytes (sf_ledger_t *self, size_t max_bytes)
{
    self->max_bytes = max_bytes;
}

//  Take a finished entry off the finished list, its bytes with it.
static void
s_unlist (sf_ledger_t *self, sf_entry_t *entry)
{
    sf_entry_list_remove (&self->finished, entry);
    self->finished_bytes -= entry->payload_size;
}

void
sf_ledger_insert (sf_ledger_t *self, sf_entry_t *entry)
{
    int rc = zhashx_insert (self->by_id, entry->id, entry);
    assert (rc == 0);           //  Ids are unique by construction
    if (entry->key)
        zhashx_insert (self->by_key, entry->key, entry);
}

sf_entry_t *
sf_ledger_find (sf_ledger_t *self, const uint8_t id [SF_UUID_SIZE])
{
    return (sf_entry_t *) zhashx_lookup (self->by_id, id);
}

sf_entry_t *
sf_ledger_find_key (sf_ledger_t *self, const char *key, size_t key_size)
{
    char text [key_size + 1];
    memcpy (text, key, key_size);
    text [key_size] = 0;
    return (sf_entry_t *) zhashx_lookup (self->by_key, text);
}

void
sf_ledger_finished (sf_ledger_t *self, sf_entry_t *entry, int64_t now_us)
{
    entry->state = SF_JOB_FINISHED;
    entry->finished_us = now_us;
    if (entry->group)       //  A group keeps its own
        return;
    if (entry->status == SF_STATUS_DEAD) {
        sf_entry_list_append (&self->dead, entry);
        return;
    }
    sf_entry_list_append (&self->finished, entry);
    self->finished_bytes += entry->payload_size;
}

size_t
sf_ledger_trim (sf_ledger_t *self, const sf_entry_t *keep)
{
    size_t evicted = 0;
    sf_entry_t *oldest;
    while (self->finished_bytes > self->max_bytes && (oldest = self->finished.head)
       &&  oldest != keep) {
        sf_ledger_forget (self, oldest);
        evicted++;
    }
    return evicted;
}

void
sf_ledger_grouped (sf_ledger_t *self, sf_entry_t *entry, sf_group_t *group)
{
    if (entry->state == SF_JOB_FINISHED && !entry->group) {
        if (entry->status == SF_STATUS_DEAD)
            sf_entry_list_remove (&self->dead, entry);
        else
            s_unlist (self, entry);
    }
    entry->group = group;
}

sf_entry_t *
sf_ledger_dead_first (sf_ledger_t *self)
{
    return self->dead.head;
}

size_t
sf_ledger_dead_count (sf_ledger_t *self)
{
    return self->dead.size;
}

void
sf_ledger_revive (sf_ledger_t *self, sf_entry_t *entry)
{
    sf_entry_list_remove (&self->dead, entry);
}

void
sf_ledger_forget (sf_ledger_t *self, sf_entry_t *entry)
{
    //  An unfinished job (one refused by a failed commit) is on no list
    if (!entry->group && entry->state == SF_JOB_FINISHED) {
        if (entry->status == SF_STATUS_DEAD)
            sf_entry_list_remove (&self->dead, entry);
        else
            s_unlist (self, entry);
    }
    if (entry->key)
        zhashx_delete (self->by_key, entry->key);
    zhashx_delete (self->by_id, entry->id);
}

//  --------------------------------------------------------------------------
//  Evict old finished entries.

size_t
sf_ledger_purge (sf_ledger_t *self, int64_t now_us)
{
    size_t evicted = 0;
    sf_entry_t *entry;
    while ((entry = self->finished.head)
       &&  (self->finished.size > self->max_results
        ||  self->finished_bytes > self->max_bytes
        ||  now_us - entry->finished_us > self->ttl_us)) {
        sf_ledger_forget (self, entry);
        evicted++;
    }
    while ((entry = self->dead.head) && self->dead.size > self->dead_max) {
        sf_ledger_forget (self, entry);
        evicted++;
    }
    return evicted;
}

size_t
sf_ledger_size (sf_ledger_t *self)
{
    return zhashx_size (self->by_id);
}

size_t
sf_ledger_finished_count (sf_ledger_t *self)
{
    return self->finished.size;
}

size_t
sf_ledger_finished_bytes (sf_ledger_t *self)
{
    return self->finished_bytes;
}

sf_entry_t *
sf_ledger_first (sf_ledger_t *self)
{
    return (sf_entry_t *) zhashx_first (self->by_id);
}

sf_entry_t *
sf_ledger_next (sf_ledger_t *self)
{
    return (sf_entry_t *) zhashx_next (self->by_id);
}
