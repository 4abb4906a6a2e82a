/*  =========================================================================
    sf_cache - the candles a worker process has read, shared by its
    analyzer threads, bounded in bytes

    An entry holds the candles of one source, symbol and timeframe, and
    serves any window of what it holds (a binary search and a copy). Jobs
    reach their data sources through the cache, which asks a source only
    for what it lacks:

    - a CSV file is read whole once and kept with its stamp (device, inode,
      size, mtime, ctime); each job compares the stamp with the file's, and
      a file that changed is read again;
    - a PostgreSQL entry holds every candle from some ts on up to the
      newest; each job asks the server only for the rows after the newest
      one held (one round trip, normally empty); a job that needs older
      candles than those held loads the entry again from its own first. Rows
      changed in place (an UPDATE, a DELETE, a row inserted among those
      held) are announced by the trigger of deploy/sql/002_candles_notify.sql
      and drop the entry; the notifications arrive on the same connection
      as the rows, so the round trip that a job makes brings every change
      committed before it, and a change is never served stale.

    Jobs that want one entry while it is being fetched wait for that fetch
    and are served by it (one fetch, not one per job): their data is then as
    fresh as that fetch, which began before they came. Entries are evicted,
    least recently used first, to keep the bytes held (candle columns as
    allocated, plus each entry's bookkeeping) at or under the bound; one
    series larger than the whole bound is not kept, and its jobs' windows
    go straight to the source.
    ========================================================================= */

#ifndef SF_CACHE_H_INCLUDED
#define SF_CACHE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "sf_source.h"

//  The default bound: sheaf-worker --data-cache, SHEAF_DATA_CACHE.
#define SF_CACHE_DEFAULT ((size_t) 256 * 1024 * 1024)

//  Most sources one cache holds.
#define SF_CACHE_SOURCES 4

//  What a cache did since it was made.
typedef struct {
    size_t bytes;               //  Held now
    size_t max_bytes;           //  The bound
    size_t entries;             //  Entries held now
    size_t waiting;             //  Jobs waiting now for another job's fetch
    uint64_t hits;              //  Served from memory after a stamp check
    uint64_t joins;             //  Served by a fetch another job had started
    uint64_t loads;             //  Whole entries read (cold, changed, evicted)
    uint64_t refreshes;         //  Fetches of the rows after the newest held
    uint64_t direct;            //  Requests passed on to a source uncached
    uint64_t rows;              //  Candles received from sources
    uint64_t evictions;         //  Entries dropped to stay within the bound
    uint64_t invalidations;     //  Entries dropped because their data changed
} sf_cache_stats_t;

typedef struct _sf_cache_t sf_cache_t;

//  A cache of at most max_bytes; 0 keeps nothing (every request goes to
//  its source, pushed down).
sf_cache_t *sf_cache_new (size_t max_bytes);

//  Stop following changes and free every entry and source.
void sf_cache_destroy (sf_cache_t **self_p);

//  Take a source (at most SF_CACHE_SOURCES); returns it, borrowed for the
//  cache's life, for sf_cache_fetch. With a bound above 0, a source that
//  reports changes is followed from now on, by a thread that reads its
//  notifications as they arrive.
sf_source_t *sf_cache_add (sf_cache_t *self, sf_source_t **source_p);

//  The window request selects from source's candles. Safe from any
//  thread. Returns 0 with *candles_p (the caller owns it; it may be
//  empty), or -1 with error as sf_source_fetch gives it.
int sf_cache_fetch (sf_cache_t *self, sf_source_t *source, const sf_request_t *request,
                    sf_candles_t **candles_p, sf_error_t *error);

//  A copy of the cache's counters.
void sf_cache_stats (sf_cache_t *self, sf_cache_stats_t *stats);

#endif
