/*  =========================================================================
    sf_zone - a time zone of the system tz database: its offset from UTC at
    any instant

    Read from the zone's TZif file (RFC 8536) in $TZDIR, else
    /usr/share/zoneinfo, once, into an object of its own: nothing here
    touches TZ or the C library's notion of the local zone, so zones may
    be used from any thread, one object per thread or shared read-only.
    ========================================================================= */

#ifndef SF_ZONE_H_INCLUDED
#define SF_ZONE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "sheaf.h"

typedef struct _sf_zone_t sf_zone_t;

//  Load zone name, an IANA name such as Europe/London; "UTC" needs no
//  database. Returns the zone, or NULL with error (code BAD_INPUT): the
//  name is malformed or not in the database ("unknown time zone"), or its
//  file is not a TZif file this class reads (the message says why; zones
//  with leap seconds, the right/ tree, are refused).
sf_zone_t *sf_zone_new (const char *name, sf_error_t *error);

//  Decode size bytes of a TZif file as zone name. Returns the zone, or
//  NULL with error (code BAD_INPUT) naming what is malformed. Every count
//  in the data is checked against size before it is used.
sf_zone_t *sf_zone_decode (const char *name, const uint8_t *data, size_t size,
                           sf_error_t *error);

void sf_zone_destroy (sf_zone_t **self_p);

//  The zone's name as given. Borrowed.
const char *sf_zone_name (const sf_zone_t *self);

//  The offset of local time from UTC at instant (seconds since the epoch),
//  in seconds, east positive: 3600 for Europe/Paris in winter. Instants
//  after the file's last transition follow the file's TZ rule; instants
//  before its first take its first local time type.
int32_t sf_zone_offset (const sf_zone_t *self, int64_t instant);

#endif
