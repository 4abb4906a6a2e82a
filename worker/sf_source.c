/*  =========================================================================
    sf_source - the data-source interface: requests, stamps, and the calls
    that dispatch to a source's operations
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_source.h"

struct _sf_source_t {
    const sf_source_ops_t *ops; //  What this kind of source does
    void *impl;                 //  Its state (owned, freed by ops->destroy)
};

//  --------------------------------------------------------------------------
//  Requests

sf_request_t
sf_request_all (const char *symbol, const char *timeframe)
{
    sf_request_t request = { symbol, timeframe, NAN, NAN, NAN, 0, false };
    return request;
}

double
sf_request_lower (const sf_request_t *request)
{
    double lower = -INFINITY;
    if (!isnan (request->from_ms))
        lower = request->from_ms;
    //  ts > after is ts >= the next double after it: one inclusive bound
    if (!isnan (request->after_ms) && nextafter (request->after_ms, INFINITY) > lower)
        lower = nextafter (request->after_ms, INFINITY);
    return lower;
}

double
sf_request_upper (const sf_request_t *request)
{
    return isnan (request->to_ms)? INFINITY: request->to_ms;
}

//  The first index in [0, size) whose ts is >= value (or > value when
//  strict); size when there is none.
static size_t
s_search (const double *ts, size_t size, double value, bool strict)
{
    size_t low = 0, high = size;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (strict? ts [middle] > value: ts [middle] >= value)
            high = middle;
        else
            low = middle + 1;
    }
    return low;
}

void
sf_request_bounds (const sf_request_t *request, const sf_candles_t *candles, size_t *first,
                   size_t *last)
{
    //  The same cut as sf_candles_window (from <= ts <= to, then the last
    //  limit), found by binary search instead of a scan
    size_t low = 0, high = candles->size;
    if (!isnan (request->from_ms))
        low = s_search (candles->ts, candles->size, request->from_ms, false);
    if (!isnan (request->after_ms)) {
        size_t after = s_search (candles->ts, candles->size, request->after_ms, true);
        if (after > low)
            low = after;
    }
    if (!isnan (request->to_ms))
        high = s_search (candles->ts, candles->size, request->to_ms, true);
    if (high < low)
        high = low;
    if (request->limit && high - low > request->limit)
        low = high - request->limit;
    *first = low;
    *last = high;
}

sf_candles_t *
sf_request_cut (const sf_request_t *request, const sf_candles_t *candles)
{
    size_t first, last;
    sf_request_bounds (request, candles, &first, &last);
    size_t size = last - first;
    sf_candles_t *cut = sf_candles_new (size);
    memcpy (cut->ts, candles->ts + first, size * sizeof (double));
    memcpy (cut->open, candles->open + first, size * sizeof (double));
    memcpy (cut->high, candles->high + first, size * sizeof (double));
    memcpy (cut->low, candles->low + first, size * sizeof (double));
    memcpy (cut->close, candles->close + first, size * sizeof (double));
    memcpy (cut->volume, candles->volume + first, size * sizeof (double));
    cut->size = size;
    return cut;
}

//  --------------------------------------------------------------------------
//  Stamps

bool
sf_stamp_same (const sf_stamp_t *a, const sf_stamp_t *b)
{
    return !a->racy && a->device == b->device && a->inode == b->inode && a->size == b->size
        && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

//  --------------------------------------------------------------------------
//  Dispatch

sf_source_t *
sf_source_for (const char *data_dir, const char *data_db, size_t connections)
{
    return data_db? sf_source_pg_new (data_db, connections): data_dir? sf_source_csv_new (data_dir): NULL;
}

sf_source_t *
sf_source_new (const sf_source_ops_t *ops, void *impl)
{
    sf_source_t *self = (sf_source_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->ops = ops;
    self->impl = impl;
    return self;
}

void
sf_source_destroy (sf_source_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    (*self_p)->ops->destroy ((*self_p)->impl);
    free (*self_p);
    *self_p = NULL;
}

const char *
sf_source_kind (sf_source_t *self)
{
    return self->ops->kind;
}

void
sf_source_where (sf_source_t *self, const char *symbol, const char *timeframe, char *where,
                 size_t size)
{
    self->ops->where (self->impl, symbol, timeframe, where, size);
}

bool
sf_source_serial (sf_source_t *self)
{
    return self->ops->serial;
}

bool
sf_source_stamped (sf_source_t *self)
{
    return self->ops->stamped;
}

void
sf_source_follow (sf_source_t *self)
{
    if (self->ops->follow)
        self->ops->follow (self->impl);
}

int
sf_source_ready (sf_source_t *self, sf_error_t *error)
{
    return self->ops->ready? self->ops->ready (self->impl, error): 0;
}

bool
sf_source_tracking (sf_source_t *self)
{
    return self->ops->tracking? self->ops->tracking (self->impl): false;
}

int
sf_source_fetch (sf_source_t *self, const sf_request_t *request, sf_candles_t **candles_p,
                 sf_stamp_t *stamp, bool *retry, sf_error_t *error)
{
    *candles_p = NULL;
    *retry = false;
    return self->ops->fetch (self->impl, request, candles_p, stamp, retry, error);
}

int
sf_source_fetch_followed (sf_source_t *self, const sf_request_t *request,
                          sf_candles_t **candles_p, bool *retry, sf_error_t *error)
{
    *candles_p = NULL;
    *retry = false;
    if (self->ops->fetch_followed)
        return self->ops->fetch_followed (self->impl, request, candles_p, retry, error);
    if (self->ops->fetch (self->impl, request, candles_p, NULL, retry, error))
        return -1;
    if (sf_source_sync (self, error)) {
        sf_candles_destroy (candles_p);
        return -1;
    }
    return 0;
}

int
sf_source_sync (sf_source_t *self, sf_error_t *error)
{
    return self->ops->sync? self->ops->sync (self->impl, error): 0;
}

int
sf_source_stamp (sf_source_t *self, const char *symbol, const char *timeframe,
                 sf_stamp_t *stamp)
{
    return self->ops->stamp? self->ops->stamp (self->impl, symbol, timeframe, stamp): -1;
}

size_t
sf_source_changes (sf_source_t *self, sf_change_fn *fn, void *arg)
{
    return self->ops->changes? self->ops->changes (self->impl, fn, arg): 0;
}

int
sf_source_socket (sf_source_t *self)
{
    return self->ops->socket? self->ops->socket (self->impl): -1;
}

void
sf_source_drain (sf_source_t *self)
{
    if (self->ops->drain)
        self->ops->drain (self->impl);
}
