/*  =========================================================================
    sf_ledger - every job the broker knows, by id

    The ledger owns the entries. Finished entries stay, oldest first, so
    that `sheaf result ID` works after the submitter has gone; they are
    evicted when there are more than max_results of them or when they are
    older than result_ttl_ms, and the oldest go first once their results
    hold more than max_bytes (sf_ledger_set_max_bytes). Dead letters (status dead) are kept apart,
    with their job and history, until they are retried or purged, or until
    there are more than dead_max of them. Idempotency keys index unfinished
    and kept entries alike: a key is remembered for as long as its job.
    ========================================================================= */

#ifndef SF_LEDGER_H_INCLUDED
#define SF_LEDGER_H_INCLUDED

#include "sf_entry.h"

typedef struct _sf_ledger_t sf_ledger_t;

//  Create a ledger keeping at most max_results finished jobs, each for at
//  most result_ttl_ms, and at most dead_max dead letters.
sf_ledger_t *sf_ledger_new (size_t max_results, int64_t result_ttl_ms, size_t dead_max);

//  Keep at most max_bytes of results in finished entries (default: no
//  limit); the oldest beyond it are evicted as entries finish.
void sf_ledger_set_max_bytes (sf_ledger_t *self, size_t max_bytes);

//  Destroy the ledger and every entry in it. The caller must have released
//  the entries' client references first (see sf_ledger_first).
void sf_ledger_destroy (sf_ledger_t **self_p);

//  Take entry (which has its id set) into the ledger.
void sf_ledger_insert (sf_ledger_t *self, sf_entry_t *entry);

//  Entry by id, or NULL.
sf_entry_t *sf_ledger_find (sf_ledger_t *self, const uint8_t id [SF_UUID_SIZE]);

//  Unfinished or kept entry with this idempotency key, or NULL.
sf_entry_t *sf_ledger_find_key (sf_ledger_t *self, const char *key, size_t key_size);

//  Record that entry has reached its final status (entry->status) at
//  now_us; a dead one becomes a dead letter. An entry of a group is kept
//  by its group, in neither list, and not evicted by purge.
void sf_ledger_finished (sf_ledger_t *self, sf_entry_t *entry, int64_t now_us);

//  Give entry (in the ledger) to group: a finished entry leaves the
//  finished or dead list, since its group keeps it from now on (a group
//  rebuilt after a restart, whose entries came back as plain jobs).
void sf_ledger_grouped (sf_ledger_t *self, sf_entry_t *entry, sf_group_t *group);

//  Dead letters, oldest first: the first, then entry->next; NULL at the end.
sf_entry_t *sf_ledger_dead_first (sf_ledger_t *self);
size_t sf_ledger_dead_count (sf_ledger_t *self);

//  Take a dead letter off the dead list, to run it again.
void sf_ledger_revive (sf_ledger_t *self, sf_entry_t *entry);

//  Remove an entry and free it: a finished entry, a dead letter, an entry
//  of a group that is going, or an unfinished entry taken back (the
//  caller took it out of its queue first).
void sf_ledger_forget (sf_ledger_t *self, sf_entry_t *entry);

//  Evict the oldest finished entries (never keep) while their results
//  pass the byte limit. Returns how many were evicted.
size_t sf_ledger_trim (sf_ledger_t *self, const sf_entry_t *keep);

//  Evict finished entries beyond the count or byte limit or older than the TTL,
//  and the oldest dead letters beyond theirs. Returns how many were
//  evicted.
size_t sf_ledger_purge (sf_ledger_t *self, int64_t now_us);

//  Number of entries, of finished ones, and the bytes of their results.
size_t sf_ledger_size (sf_ledger_t *self);
size_t sf_ledger_finished_count (sf_ledger_t *self);
size_t sf_ledger_finished_bytes (sf_ledger_t *self);

//  Iterate over all entries (any order); NULL at the end. The ledger must
//  not change during the iteration.
sf_entry_t *sf_ledger_first (sf_ledger_t *self);
sf_entry_t *sf_ledger_next (sf_ledger_t *self);

#endif
