/*  =========================================================================
    sf_source_csv - candles from DIR/<SYMBOL>_<TIMEFRAME>.csv

    A CSV file has no index: it is read and parsed whole (sf_candles_load_csv,
    which names the file and line of a malformed row), and a request's
    window is found in the parsed series by binary search. That is why the
    cache keeps parsed files: a cached file serves any window for the price
    of the search and a copy, and is read again only when its stamp changes.

    The stamp is taken with stat before the file is opened, so the data read
    is never older than its stamp: a file replaced between the two is read
    new and stamped old, which costs one more read, never a stale one.
    ========================================================================= */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "sf_source.h"

typedef struct {
    char *dir;                  //  The directory (owned)
} s_csv_t;

//  Symbols and timeframes become file names: letters, digits, '_', '-',
//  '.', not starting with '.'.
static bool
s_safe_name (const char *name)
{
    if (!*name || *name == '.')
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '-' && *p != '.')
            return false;
    return true;
}

static void
s_where (void *impl, const char *symbol, const char *timeframe, char *where, size_t size)
{
    s_csv_t *self = (s_csv_t *) impl;
    snprintf (where, size, "%s/%s_%s.csv", self->dir, symbol, timeframe);
}

//  The stamp of the file at path. Returns 0, or -1 if it cannot be had.
static int
s_stamp_path (const char *path, sf_stamp_t *stamp)
{
    struct stat status;
    if (stat (path, &status))
        return -1;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    stamp->device = (uint64_t) status.st_dev;
    stamp->inode = (uint64_t) status.st_ino;
    stamp->size = (uint64_t) status.st_size;
    stamp->mtime_ns = (int64_t) status.st_mtim.tv_sec * 1000000000 + status.st_mtim.tv_nsec;
    stamp->ctime_ns = (int64_t) status.st_ctim.tv_sec * 1000000000 + status.st_ctim.tv_nsec;
    int64_t now_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
    int64_t changed = stamp->mtime_ns > stamp->ctime_ns? stamp->mtime_ns: stamp->ctime_ns;
    stamp->racy = now_ns - changed < SF_STAMP_RACY_NS;
    return 0;
}

static int
s_stamp (void *impl, const char *symbol, const char *timeframe, sf_stamp_t *stamp)
{
    char path [1024];
    s_where (impl, symbol, timeframe, path, sizeof path);
    return s_safe_name (symbol) && s_safe_name (timeframe)? s_stamp_path (path, stamp): -1;
}

static int
s_fetch (void *impl, const sf_request_t *request, sf_candles_t **candles_p, sf_stamp_t *stamp,
         bool *retry, sf_error_t *error)
{
    (void) retry;
    if (!s_safe_name (request->symbol) || !s_safe_name (request->timeframe))
        return sf_error_set (error, "DATA_FETCH", "symbol or timeframe is not a safe file name");
    char path [1024];
    s_where (impl, request->symbol, request->timeframe, path, sizeof path);
    sf_stamp_t taken;
    if (s_stamp_path (path, &taken))
        return sf_error_set (error, "DATA_FETCH", "cannot read %s: %s", path, strerror (errno));
    sf_candles_t *candles = sf_candles_load_csv (path, error);
    if (!candles)
        return -1;
    if (stamp)
        *stamp = taken;
    if (isnan (request->from_ms) && isnan (request->to_ms) && isnan (request->after_ms)
    &&  request->limit == 0)
        *candles_p = candles;
    else {
        *candles_p = sf_request_cut (request, candles);
        sf_candles_destroy (&candles);
    }
    return 0;
}

static void
s_destroy (void *impl)
{
    s_csv_t *self = (s_csv_t *) impl;
    free (self->dir);
    free (self);
}

static const sf_source_ops_t s_ops = {
    .kind = "csv",
    .serial = false,
    .stamped = true,
    .destroy = s_destroy,
    .where = s_where,
    .fetch = s_fetch,
    .stamp = s_stamp,
};

sf_source_t *
sf_source_csv_new (const char *dir)
{
    s_csv_t *self = (s_csv_t *) calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir)))
        abort ();
    return sf_source_new (&s_ops, self);
}
