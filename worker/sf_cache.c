/*  =========================================================================
    sf_cache - the candles a worker process has read, shared by its threads

    One mutex guards the entries, the LRU list and the byte count; it is
    never held across a call to a source. An entry being fetched is marked
    busy: the job that fetches it works on it without the mutex, and others
    that want it wait on a condition variable until it is done, then use
    what it brought. Entries are held by pointer while a job waits or
    fetches (users), so eviction and invalidation drop only the data of an
    entry in use, and free the entry itself only when no one holds it.

    Each source has a lock of its own (the slot's) that serializes the
    calls following its changes. A refresh holds it from before its fetch
    (on the connection that brings the changes) until the rows are in the
    entry and the changes that came with them have been applied. The
    order matters: a change arrives at the latest with the answer to the
    first query sent after its commit, so a change that comes with a round
    trip is of a commit that no earlier round trip could see, and it is
    judged against the entry as that round trip left it. A load is long
    and runs with the slot free (on a pool connection, beside other
    series' loads); changes of its entry that others learn meanwhile wait
    on the entry (fetching, pending) and are judged, with those of one
    sync round trip after the load, against what the load brought.
    Changes are judged thus:

    - "all" (a reconnect, a TRUNCATE): every entry of the source is dropped;
    - a change at ts below what an entry holds, or after its newest candle,
      touches nothing it holds (the next refresh fetches what is newer);
    - rows inserted at a ts that the same round trip brought, and that the
      entry now holds, were visible to that fetch: nothing to do (this is
      how appending new candles does not drop entries);
    - anything else drops the entry.

    A job whose own fetch saw a change that dropped its entry fetches once
    more, and is served that second fetch whatever changes come with it:
    those were committed after the job began.

    A source that does not report its changes (a table without the trigger)
    is never cached: each job's window goes to it. Nor is a series larger
    than the whole bound: its entry stays, empty and marked, so that its
    jobs go straight to the source without loading it again.

    Lock order: a source's lock, then the cache's mutex; never the reverse.
    ========================================================================= */

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include "sf_cache.h"
#include "sf_log.h"

#define S_PENDING_MAX 64        //  Changes kept for an entry being fetched; more: "all"

typedef struct _s_entry_t s_entry_t;

//  One source, symbol and timeframe.
struct _s_entry_t {
    size_t slot;                //  Its source's slot
    char symbol [SF_NAME_MAX + 1];      //  Symbol
    char timeframe [SF_TIMEFRAME_MAX + 1];      //  Timeframe
    char key [128];             //  Its key in the hash table
    sf_candles_t *candles;      //  What it holds, or NULL (owned)
    double lo;                  //  It holds every candle with ts >= lo
    sf_stamp_t stamp;           //  Stamped source: what was read
    bool bypass;                //  Too big to keep: windows go to the source
    bool busy;                  //  A job is fetching it
    bool fetching;              //  Its fetch is out: changes wait in pending
    sf_change_t *pending;       //  Changes learnt while its fetch was out (owned)
    size_t pending_count;       //  How many
    bool pending_all;           //  Too many, or "all": drop what the fetch brings
    size_t users;               //  Jobs holding a pointer to it
    size_t bytes;               //  What it counts for in the bound
    s_entry_t *newer;           //  LRU list: toward the most recently used
    s_entry_t *older;           //  LRU list: toward the least recently used
};

//  One source and what following it takes.
typedef struct {
    sf_source_t *source;        //  The source (owned)
    pthread_mutex_t lock;       //  Serializes calls on a serial source
    bool listening;             //  A listener thread reads its changes
    pthread_t listener;         //  That thread
    int wake [2];               //  Pipe that wakes the listener
    int watched;                //  The socket the listener watches, or -1
} s_slot_t;

struct _sf_cache_t {
    size_t max_bytes;           //  The bound
    pthread_mutex_t lock;       //  Guards everything below
    pthread_cond_t done;        //  A fetch ended
    zhashx_t *entries;          //  Entries by key (not owning)
    s_entry_t *newest;          //  LRU list head
    s_entry_t *oldest;          //  LRU list tail
    size_t bytes;               //  Held
    s_slot_t slots [SF_CACHE_SOURCES];  //  The sources
    size_t slot_count;          //  How many
    bool stopping;              //  Listeners end
    sf_cache_stats_t stats;     //  Counters
};

//  What applying a source's changes needs to know.
typedef struct {
    sf_cache_t *cache;          //  The cache
    size_t slot;                //  Whose changes
    s_entry_t *fetched;         //  The entry the last round trip fetched, or NULL
    double first;               //  The ts of the first row it brought
    double last;                //  The ts of the last
} s_apply_t;

//  --------------------------------------------------------------------------
//  Entries (all with the mutex held)

//  What an entry counts for: itself, its key, its candle columns as
//  allocated.
static size_t
s_entry_bytes (const s_entry_t *entry)
{
    size_t bytes = sizeof *entry + 64;          //  64: its share of the hash table
    if (entry->candles)
        bytes += sizeof (sf_candles_t) + entry->candles->max * 6 * sizeof (double);
    return bytes;
}

static void
s_account (sf_cache_t *self, s_entry_t *entry)
{
    self->bytes -= entry->bytes;
    entry->bytes = s_entry_bytes (entry);
    self->bytes += entry->bytes;
}

static void
s_unlink (sf_cache_t *self, s_entry_t *entry)
{
    if (entry->newer)
        entry->newer->older = entry->older;
    else
        self->newest = entry->older;
    if (entry->older)
        entry->older->newer = entry->newer;
    else
        self->oldest = entry->newer;
    entry->newer = entry->older = NULL;
}

//  Make entry (in the list, or new) the most recently used.
static void
s_touch (sf_cache_t *self, s_entry_t *entry)
{
    if (self->newest == entry)
        return;
    if (entry->newer || entry->older)
        s_unlink (self, entry);
    entry->older = self->newest;
    if (self->newest)
        self->newest->newer = entry;
    self->newest = entry;
    if (!self->oldest)
        self->oldest = entry;
}

//  Free entry, which no one holds.
static void
s_remove (sf_cache_t *self, s_entry_t *entry)
{
    s_unlink (self, entry);
    zhashx_delete (self->entries, entry->key);
    self->bytes -= entry->bytes;
    sf_candles_destroy (&entry->candles);
    free (entry->pending);
    free (entry);
    self->stats.entries--;
}

//  Give candles room for max candles exactly (the bound counts the room).
static void
s_room (sf_candles_t *candles, size_t max)
{
    double **columns [6] = { &candles->ts, &candles->open, &candles->high, &candles->low,
                             &candles->close, &candles->volume };
    for (int i = 0; i < 6; i++) {
        *columns [i] = (double *) realloc (*columns [i], (max? max: 1) * sizeof (double));
        if (!*columns [i])
            abort ();
    }
    candles->max = max;
}

//  Replace what entry holds with candles (taken; may be NULL), trimmed to
//  their size: a parsed file's columns have grown by doubling.
static void
s_hold (sf_cache_t *self, s_entry_t *entry, sf_candles_t *candles)
{
    sf_candles_destroy (&entry->candles);
    if (candles && candles->max > candles->size)
        s_room (candles, candles->size);
    entry->candles = candles;
    s_account (self, entry);
}

//  Append rows to what entry holds, with an eighth more room than needed
//  (not double: the room counts in the bound).
static void
s_append (sf_cache_t *self, s_entry_t *entry, const sf_candles_t *rows)
{
    sf_candles_t *held = entry->candles;
    size_t size = held->size + rows->size;
    if (size > held->max)
        s_room (held, size + held->size / 8);
    double *to [6] = { held->ts, held->open, held->high, held->low, held->close, held->volume };
    const double *from [6] = { rows->ts, rows->open, rows->high, rows->low, rows->close,
                               rows->volume };
    for (int i = 0; i < 6; i++)
        memcpy (to [i] + held->size, from [i], rows->size * sizeof (double));
    held->size = size;
    s_account (self, entry);
}

//  Drop what entry holds; free it when no one holds it.
static void
s_drop (sf_cache_t *self, s_entry_t *entry)
{
    s_hold (self, entry, NULL);
    entry->lo = INFINITY;
    if (!entry->busy && entry->users == 0 && !entry->bypass)
        s_remove (self, entry);
}

static void
s_key (char *key, size_t size, size_t slot, const char *symbol, const char *timeframe)
{
    //  The symbol's length makes the key unambiguous whatever its bytes
    snprintf (key, size, "%zu:%zu:%s%s", slot, strlen (symbol), symbol, timeframe);
}

//  The entry for slot and request's symbol and timeframe, made if there is
//  none, with one more user.
static s_entry_t *
s_entry (sf_cache_t *self, size_t slot, const sf_request_t *request)
{
    char key [128];
    s_key (key, sizeof key, slot, request->symbol, request->timeframe);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (!entry) {
        entry = (s_entry_t *) zmalloc (sizeof *entry);
        entry->slot = slot;
        snprintf (entry->symbol, sizeof entry->symbol, "%s", request->symbol);
        snprintf (entry->timeframe, sizeof entry->timeframe, "%s", request->timeframe);
        snprintf (entry->key, sizeof entry->key, "%s", key);
        entry->lo = INFINITY;
        zhashx_insert (self->entries, entry->key, entry);
        s_touch (self, entry);
        s_account (self, entry);
        self->stats.entries++;
    }
    entry->users++;
    return entry;
}

//  One user less; an entry that holds nothing and has no one goes.
static void
s_release (sf_cache_t *self, s_entry_t *entry)
{
    entry->users--;
    if (entry->users == 0 && !entry->busy && !entry->candles && !entry->bypass)
        s_remove (self, entry);
}

//  Evict the least recently used entries no one holds, other than keep,
//  until the bytes held are within the bound; then, if they are not, drop
//  what keep holds (and, when keep alone is over the bound, stop keeping
//  its series at all).
static void
s_trim (sf_cache_t *self, s_entry_t *keep)
{
    s_entry_t *entry = self->oldest;
    while (self->bytes > self->max_bytes && entry) {
        s_entry_t *newer = entry->newer;
        if (entry != keep && !entry->busy && entry->users == 0) {
            s_remove (self, entry);
            self->stats.evictions++;
        }
        entry = newer;
    }
    if (self->bytes > self->max_bytes && keep && keep->candles) {
        if (keep->bytes > self->max_bytes) {
            sf_log_info ("worker: %s %s (%zu candles) is larger than the data cache, "
                         "its windows are read from the source", keep->symbol,
                         keep->timeframe, keep->candles->size);
            keep->bypass = true;
        }
        s_hold (self, keep, NULL);
        keep->lo = INFINITY;
        self->stats.evictions++;
    }
}

//  True when entry holds the whole window of request.
static bool
s_covers (const s_entry_t *entry, const sf_request_t *request)
{
    if (!entry->candles)
        return false;
    if (sf_request_lower (request) >= entry->lo)
        return true;
    if (request->limit == 0)
        return false;
    //  Enough of the window's newest candles are held
    sf_request_t unlimited = *request;
    unlimited.limit = 0;
    size_t first, last;
    sf_request_bounds (&unlimited, entry->candles, &first, &last);
    return last - first >= request->limit;
}

//  True when candles has one at ts.
static bool
s_has (const sf_candles_t *candles, double ts)
{
    sf_request_t at = { .from_ms = ts, .to_ms = ts, .after_ms = NAN };
    size_t first, last;
    sf_request_bounds (&at, candles, &first, &last);
    return last > first;
}

//  Keep change for entry, whose fetch is out: it is judged against what
//  that fetch brings, which may predate it.
static void
s_defer (s_entry_t *entry, const sf_change_t *change)
{
    if (change->all || entry->pending_count == S_PENDING_MAX) {
        entry->pending_all = true;
        return;
    }
    if (!entry->pending)
        entry->pending = (sf_change_t *) zmalloc (S_PENDING_MAX * sizeof (sf_change_t));
    entry->pending [entry->pending_count++] = *change;
}

//  Apply one change of a source to the entries (sf_change_fn).
static void
s_apply (void *arg, const sf_change_t *change)
{
    s_apply_t *apply = (s_apply_t *) arg;
    sf_cache_t *self = apply->cache;
    if (change->all) {
        s_entry_t *entry = self->newest;
        while (entry) {
            s_entry_t *older = entry->older;
            if (entry->slot == apply->slot && entry->fetching)
                s_defer (entry, change);
            else
            if (entry->slot == apply->slot && entry->candles) {
                self->stats.invalidations++;
                s_drop (self, entry);
            }
            entry = older;
        }
        return;
    }
    char key [128];
    s_key (key, sizeof key, apply->slot, change->symbol, change->timeframe);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (entry && entry->fetching) {
        s_defer (entry, change);
        return;
    }
    if (!entry || !entry->candles)
        return;
    const sf_candles_t *candles = entry->candles;
    double newest = candles->size? candles->ts [candles->size - 1]: -INFINITY;
    if (!isnan (change->ts_ms)) {
        if (change->ts_ms < entry->lo || change->ts_ms > newest)
            return;
        if (change->inserted && entry == apply->fetched && change->ts_ms >= apply->first
        &&  change->ts_ms <= apply->last && s_has (candles, change->ts_ms))
            return;
    }
    sf_log_debug ("worker: %s %s changed at ts %.0f, dropped from the data cache",
                  entry->symbol, entry->timeframe, change->ts_ms);
    self->stats.invalidations++;
    s_drop (self, entry);
}

//  Apply the changes slot's source has learnt; fetched (or NULL) is the
//  entry its last round trip brought rows first .. last for.
static void
s_apply_changes (sf_cache_t *self, size_t slot, s_entry_t *fetched, double first, double last)
{
    s_apply_t apply = { self, slot, fetched, first, last };
    sf_source_changes (self->slots [slot].source, s_apply, &apply);
}

//  Entry's fetch is back (it brought rows first .. last, or failed: NAN):
//  judge the changes that came meanwhile against what it holds now.
static void
s_settle (sf_cache_t *self, s_entry_t *entry, double first, double last)
{
    entry->fetching = false;
    if (entry->pending_all) {
        if (entry->candles) {
            self->stats.invalidations++;
            s_drop (self, entry);
        }
    }
    else {
        s_apply_t apply = { self, entry->slot, entry, first, last };
        for (size_t i = 0; i < entry->pending_count; i++)
            s_apply (&apply, &entry->pending [i]);
    }
    entry->pending_count = 0;
    entry->pending_all = false;
}

//  --------------------------------------------------------------------------
//  The listener: a thread per followed source, asleep in poll until its
//  socket has something (a notification, or the connection closing), so
//  that changes are applied as they come, not only at the next fetch.

typedef struct {
    sf_cache_t *cache;          //  The cache
    size_t slot;                //  Which source
} s_listener_t;

static void
s_wake (s_slot_t *slot)
{
    char byte = 1;
    if (write (slot->wake [1], &byte, 1) < 0 && errno != EAGAIN)
        sf_log_warning ("worker: cannot wake the data cache's listener: %s", strerror (errno));
}

static void *
s_listen (void *arg)
{
    s_listener_t *listener = (s_listener_t *) arg;
    sf_cache_t *self = listener->cache;
    s_slot_t *slot = &self->slots [listener->slot];
    while (true) {
        pthread_mutex_lock (&slot->lock);
        int socket = sf_source_socket (slot->source);
        slot->watched = socket;
        pthread_mutex_unlock (&slot->lock);
        struct pollfd items [2] = { { slot->wake [0], POLLIN, 0 }, { socket, POLLIN, 0 } };
        if (poll (items, socket >= 0? 2: 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            sf_log_error ("worker: the data cache stops following changes: %s",
                          strerror (errno));
            break;
        }
        if (items [0].revents) {
            char bytes [64];
            while (read (slot->wake [0], bytes, sizeof bytes) > 0)
                ;
            pthread_mutex_lock (&self->lock);
            bool stopping = self->stopping;
            pthread_mutex_unlock (&self->lock);
            if (stopping)
                break;
            continue;           //  Watch the socket of now
        }
        pthread_mutex_lock (&slot->lock);
        //  A fetch may have replaced the connection meanwhile
        if (sf_source_socket (slot->source) == socket)
            sf_source_drain (slot->source);
        pthread_mutex_lock (&self->lock);
        s_apply_changes (self, listener->slot, NULL, NAN, NAN);
        pthread_mutex_unlock (&self->lock);
        pthread_mutex_unlock (&slot->lock);
    }
    free (listener);
    return NULL;
}

//  After a call on slot's source: if its socket is not the one the
//  listener watches, wake it to watch the new one. With the slot's lock.
static void
s_rewatch (s_slot_t *slot)
{
    if (slot->listening && sf_source_socket (slot->source) != slot->watched)
        s_wake (slot);
}

//  --------------------------------------------------------------------------
//  Fetching

//  Pass request to slot's source, uncached. With the mutex held; it is
//  released while the source works.
static int
s_direct (sf_cache_t *self, size_t index, const sf_request_t *request,
          sf_candles_t **candles_p, sf_error_t *error)
{
    s_slot_t *slot = &self->slots [index];
    bool serial = sf_source_serial (slot->source);
    pthread_mutex_unlock (&self->lock);
    if (serial)
        pthread_mutex_lock (&slot->lock);
    bool retry;
    int rc = sf_source_fetch (slot->source, request, candles_p, NULL, &retry, error);
    if (rc && retry)
        rc = sf_source_fetch (slot->source, request, candles_p, NULL, &retry, error);
    if (!serial)
        pthread_mutex_lock (&slot->lock);
    pthread_mutex_lock (&self->lock);
    //  Changes learnt meanwhile concern the entries all the same
    s_apply_changes (self, index, NULL, NAN, NAN);
    self->stats.direct++;
    if (rc == 0)
        self->stats.rows += (*candles_p)->size;
    s_rewatch (slot);
    //  The order of locks: release the cache's and take it again after
    pthread_mutex_unlock (&self->lock);
    pthread_mutex_unlock (&slot->lock);
    pthread_mutex_lock (&self->lock);
    return rc;
}

//  Read a stamped source's file into entry and serve request from it.
//  With the mutex held and entry not busy.
static int
s_load_file (sf_cache_t *self, s_entry_t *entry, const sf_request_t *request,
             sf_candles_t **candles_p, sf_error_t *error)
{
    s_slot_t *slot = &self->slots [entry->slot];
    bool serial = sf_source_serial (slot->source);
    entry->busy = true;
    pthread_mutex_unlock (&self->lock);
    if (serial)
        pthread_mutex_lock (&slot->lock);
    sf_request_t all = sf_request_all (request->symbol, request->timeframe);
    sf_candles_t *candles;
    sf_stamp_t stamp;
    bool retry;
    int rc = sf_source_fetch (slot->source, &all, &candles, &stamp, &retry, error);
    if (serial)
        pthread_mutex_unlock (&slot->lock);
    pthread_mutex_lock (&self->lock);
    entry->busy = false;
    pthread_cond_broadcast (&self->done);
    if (rc) {
        //  What it held is of a file that is gone or broken now
        s_hold (self, entry, NULL);
        return -1;
    }
    self->stats.loads++;
    self->stats.rows += candles->size;
    s_hold (self, entry, candles);
    entry->stamp = stamp;
    entry->lo = -INFINITY;
    *candles_p = sf_request_cut (request, entry->candles);
    s_trim (self, entry);
    return 0;
}

//  The request that loads an entry for request: from its lower bound to
//  the newest candle (its window's end is no bound: the next job will want
//  what is newer), or only the newest limit when that is all it asks for.
static sf_request_t
s_load_request (const sf_request_t *request)
{
    sf_request_t load = sf_request_all (request->symbol, request->timeframe);
    double lower = sf_request_lower (request);
    if (lower > -INFINITY)
        load.from_ms = lower;
    else
    if (request->limit && isnan (request->to_ms))
        load.limit = request->limit;
    return load;
}

//  Bring a tracking source's entry up to date for request and serve it.
//  With the mutex held and entry not busy.
static int
s_refresh (sf_cache_t *self, s_entry_t *entry, const sf_request_t *request,
           sf_candles_t **candles_p, sf_error_t *error)
{
    s_slot_t *slot = &self->slots [entry->slot];
    sf_source_t *source = slot->source;
    bool parallel = !sf_source_serial (source);
    entry->busy = true;
    pthread_mutex_unlock (&self->lock);
    pthread_mutex_lock (&slot->lock);
    int rc = -1;
    bool retried = false;
    int rounds = 0;
    while (true) {
        if (sf_source_ready (source, error))
            break;
        pthread_mutex_lock (&self->lock);
        s_apply_changes (self, entry->slot, NULL, NAN, NAN);
        //  A source that would not report changes: the job's own window,
        //  and nothing kept
        bool tracking = sf_source_tracking (source);
        if (!tracking)
            s_hold (self, entry, NULL);
        bool load = !s_covers (entry, request);
        sf_request_t ask;
        if (!tracking)
            ask = *request;
        else
        if (load)
            ask = s_load_request (request);
        else {
            //  The rows after the newest held, of a series known to exist
            ask = sf_request_all (request->symbol, request->timeframe);
            ask.exists = true;
            if (entry->candles->size)
                ask.after_ms = entry->candles->ts [entry->candles->size - 1];
            else
            if (entry->lo > -INFINITY)
                ask.from_ms = entry->lo;
        }
        entry->fetching = true;
        pthread_mutex_unlock (&self->lock);

        sf_candles_t *rows;
        bool retry;
        int fetched;
        if (parallel && (load || !tracking)) {
            //  A load takes a while: the slot is free meanwhile for other
            //  series' fetches and for the listener (this entry's changes
            //  wait in pending); one round trip after it brings every
            //  change its rows could show
            pthread_mutex_unlock (&slot->lock);
            fetched = sf_source_fetch (source, &ask, &rows, NULL, &retry, error);
            pthread_mutex_lock (&slot->lock);
            if (fetched == 0 && tracking && sf_source_sync (source, error)) {
                sf_candles_destroy (&rows);
                fetched = -1;
                retry = true;
            }
        }
        else
            //  The rows after the newest held: one round trip on the
            //  connection that brings the changes with them
            fetched = sf_source_fetch_followed (source, &ask, &rows, &retry, error);
        if (fetched) {
            pthread_mutex_lock (&self->lock);
            s_settle (self, entry, NAN, NAN);
            pthread_mutex_unlock (&self->lock);
            if (retry && !retried) {
                retried = true;
                continue;
            }
            break;
        }
        pthread_mutex_lock (&self->lock);
        self->stats.rows += rows->size;
        if (!tracking) {
            self->stats.direct++;
            s_settle (self, entry, NAN, NAN);
            s_apply_changes (self, entry->slot, NULL, NAN, NAN);
            pthread_mutex_unlock (&self->lock);
            *candles_p = rows;
            rc = 0;
            break;
        }
        double first = rows->size? rows->ts [0]: NAN;
        double last = rows->size? rows->ts [rows->size - 1]: NAN;
        if (load) {
            self->stats.loads++;
            entry->lo = !isnan (ask.from_ms)? ask.from_ms
                      : ask.limit && rows->size == ask.limit? rows->ts [0]: -INFINITY;
            s_hold (self, entry, rows);
        }
        else {
            self->stats.refreshes++;
            s_append (self, entry, rows);
            sf_candles_destroy (&rows);
        }
        //  What this round trip brought serves the job unless a change
        //  that came with it dropped the entry: then the job's first
        //  fetch may predate a commit made before it began
        sf_candles_t *window = sf_request_cut (request, entry->candles);
        s_settle (self, entry, first, last);
        s_apply_changes (self, entry->slot, entry, first, last);
        bool dropped = !entry->candles;
        pthread_mutex_unlock (&self->lock);
        if (dropped && rounds++ == 0) {
            sf_candles_destroy (&window);
            continue;
        }
        *candles_p = window;
        rc = 0;
        break;
    }
    pthread_mutex_lock (&self->lock);
    s_rewatch (slot);
    entry->busy = false;
    pthread_cond_broadcast (&self->done);
    s_trim (self, entry);
    //  The order of locks: the cache's is taken again after the slot's goes
    pthread_mutex_unlock (&self->lock);
    pthread_mutex_unlock (&slot->lock);
    pthread_mutex_lock (&self->lock);
    return rc;
}

int
sf_cache_fetch (sf_cache_t *self, sf_source_t *source, const sf_request_t *request,
                sf_candles_t **candles_p, sf_error_t *error)
{
    *candles_p = NULL;
    size_t index = 0;
    while (index < self->slot_count && self->slots [index].source != source)
        index++;
    assert (index < self->slot_count);
    bool stamped = sf_source_stamped (source);
    pthread_mutex_lock (&self->lock);
    if (self->max_bytes == 0) {
        int rc = s_direct (self, index, request, candles_p, error);
        pthread_mutex_unlock (&self->lock);
        return rc;
    }
    s_entry_t *entry = s_entry (self, index, request);
    bool joined = false;
    int rc;
    while (true) {
        while (entry->busy) {
            joined = true;
            self->stats.waiting++;
            pthread_cond_wait (&self->done, &self->lock);
            self->stats.waiting--;
        }
        if (entry->bypass) {
            rc = s_direct (self, index, request, candles_p, error);
            break;
        }
        if (joined && s_covers (entry, request)) {
            self->stats.joins++;
            *candles_p = sf_request_cut (request, entry->candles);
            rc = 0;
            break;
        }
        if (stamped && entry->candles) {
            //  The file as it is now, against the one read
            sf_stamp_t now;
            pthread_mutex_unlock (&self->lock);
            int found = sf_source_stamp (source, request->symbol, request->timeframe, &now);
            pthread_mutex_lock (&self->lock);
            if (entry->busy)
                continue;       //  Another job began reading it meanwhile
            if (found == 0 && entry->candles && sf_stamp_same (&entry->stamp, &now)) {
                self->stats.hits++;
                *candles_p = sf_request_cut (request, entry->candles);
                rc = 0;
                break;
            }
        }
        rc = stamped? s_load_file (self, entry, request, candles_p, error)
                    : s_refresh (self, entry, request, candles_p, error);
        break;
    }
    if (rc == 0 && entry->candles)
        s_touch (self, entry);
    s_release (self, entry);
    pthread_mutex_unlock (&self->lock);
    return rc;
}

//  --------------------------------------------------------------------------
//  Construction

sf_cache_t *
sf_cache_new (size_t max_bytes)
{
    sf_cache_t *self = (sf_cache_t *) zmalloc (sizeof *self);
    self->max_bytes = max_bytes;
    self->stats.max_bytes = max_bytes;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->done, NULL);
    self->entries = zhashx_new ();
    //  The entries keep their own keys
    zhashx_set_key_duplicator (self->entries, NULL);
    zhashx_set_key_destructor (self->entries, NULL);
    return self;
}

sf_source_t *
sf_cache_add (sf_cache_t *self, sf_source_t **source_p)
{
    assert (self->slot_count < SF_CACHE_SOURCES);
    s_slot_t *slot = &self->slots [self->slot_count];
    slot->source = *source_p;
    *source_p = NULL;
    slot->watched = -1;
    slot->wake [0] = slot->wake [1] = -1;
    pthread_mutex_init (&slot->lock, NULL);
    if (self->max_bytes > 0 && !sf_source_stamped (slot->source)) {
        sf_source_follow (slot->source);
        if (pipe2 (slot->wake, O_NONBLOCK | O_CLOEXEC) == 0) {
            s_listener_t *listener = (s_listener_t *) zmalloc (sizeof *listener);
            listener->cache = self;
            listener->slot = self->slot_count;
            slot->listening = pthread_create (&slot->listener, NULL, s_listen, listener) == 0;
            if (!slot->listening)
                free (listener);
        }
        if (!slot->listening)
            //  Changes are still applied at each fetch, only later
            sf_log_warning ("worker: no thread to follow changes between fetches");
    }
    self->slot_count++;
    return slot->source;
}

void
sf_cache_destroy (sf_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_cache_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    pthread_mutex_unlock (&self->lock);
    for (size_t i = 0; i < self->slot_count; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->listening) {
            s_wake (slot);
            pthread_join (slot->listener, NULL);
        }
        if (slot->wake [0] >= 0) {
            close (slot->wake [0]);
            close (slot->wake [1]);
        }
        sf_source_destroy (&slot->source);
        pthread_mutex_destroy (&slot->lock);
    }
    while (self->oldest) {
        s_entry_t *entry = self->oldest;
        s_unlink (self, entry);
        sf_candles_destroy (&entry->candles);
        free (entry->pending);
        free (entry);
    }
    zhashx_destroy (&self->entries);
    pthread_cond_destroy (&self->done);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

void
sf_cache_stats (sf_cache_t *self, sf_cache_stats_t *stats)
{
    pthread_mutex_lock (&self->lock);
    *stats = self->stats;
    stats->bytes = self->bytes;
    pthread_mutex_unlock (&self->lock);
}
