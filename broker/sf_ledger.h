/*  =========================================================================
    sf_ledger - every job the broker knows, by id

    The ledger owns the entries. Finished entries stay, oldest first, so
    that `sheaf result ID` works after the submitter has gone; they are
    evicted when there are more than max_results of them or when they are
    older than result_ttl_ms. Idempotency keys index unfinished and kept
    entries alike.
    ========================================================================= */

#ifndef SF_LEDGER_H_INCLUDED
#define SF_LEDGER_H_INCLUDED

#include "sf_entry.h"

typedef struct _sf_ledger_t sf_ledger_t;

//  Create a ledger keeping at most max_results finished jobs, each for at
//  most result_ttl_ms.
sf_ledger_t *sf_ledger_new (size_t max_results, int64_t result_ttl_ms);

//  Destroy the ledger and every entry in it. The caller must have released
//  the entries' client references first (see sf_ledger_first).
void sf_ledger_destroy (sf_ledger_t **self_p);

//  Take entry (which has its id set) into the ledger.
void sf_ledger_insert (sf_ledger_t *self, sf_entry_t *entry);

//  Entry by id, or NULL.
sf_entry_t *sf_ledger_find (sf_ledger_t *self, const uint8_t id [SF_UUID_SIZE]);

//  Unfinished or kept entry with this idempotency key, or NULL.
sf_entry_t *sf_ledger_find_key (sf_ledger_t *self, const char *key, size_t key_size);

//  Record that entry has reached its final status at now_us. An entry of a
//  group is kept by its group, not evicted by purge (see sf_ledger_forget).
void sf_ledger_finished (sf_ledger_t *self, sf_entry_t *entry, int64_t now_us);

//  Remove a finished entry of a group and destroy it (its group is going).
void sf_ledger_forget (sf_ledger_t *self, sf_entry_t *entry);

//  Evict finished entries beyond the count limit or older than the TTL.
//  Returns how many were evicted.
size_t sf_ledger_purge (sf_ledger_t *self, int64_t now_us);

//  Number of entries, and of finished ones.
size_t sf_ledger_size (sf_ledger_t *self);
size_t sf_ledger_finished_count (sf_ledger_t *self);

//  Iterate over all entries (any order); NULL at the end. The ledger must
//  not change during the iteration.
sf_entry_t *sf_ledger_first (sf_ledger_t *self);
sf_entry_t *sf_ledger_next (sf_ledger_t *self);

#endif
