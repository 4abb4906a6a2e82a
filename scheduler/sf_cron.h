/*  =========================================================================
    sf_cron - a schedule expression and its fire times in a time zone

    Expressions: cron with five fields (minute hour day-of-month month
    day-of-week) or six (a leading seconds field); lists, ranges, steps,
    month and weekday names, `L` (last day of the month) in the
    day-of-month field; the macros @yearly (@annually), @monthly, @weekly,
    @daily (@midnight), @hourly; and `@every DURATION` (1h30m, 45s, 2d),
    which fires at the multiples of DURATION since the Unix epoch whatever
    the time zone.

    Day-of-month and day-of-week combine as in Vixie cron: when both are
    restricted (neither starts with `*`) a day matches if either does.

    Local times that do not exist (the clock springs forward over them)
    fire once at the first instant after the gap; local times that happen
    twice (the clock falls back) fire at their first occurrence only.

    Time zones come from the system tz database through sf_zone, read
    once by sf_cron_new; the process's TZ is never changed. An sf_cron
    object belongs to one thread at a time; separate objects may be used
    from separate threads.
    ========================================================================= */

#ifndef SF_CRON_H_INCLUDED
#define SF_CRON_H_INCLUDED

#include <stdint.h>
#include "sheaf.h"

typedef struct _sf_cron_t sf_cron_t;

//  Parse expression for zone (an IANA name; NULL or "" for UTC). Returns
//  the schedule, or NULL with error (code BAD_INPUT) and *column set to
//  the 1-based column of the mistake in expression (1 for a bad zone).
sf_cron_t *sf_cron_new (const char *expression, const char *zone,
                        sf_error_t *error, int *column);

void sf_cron_destroy (sf_cron_t **self_p);

//  The first fire time strictly after instant after (seconds since the
//  epoch, UTC), or -1 when there is none within the next ten years.
int64_t sf_cron_next (sf_cron_t *self, int64_t after);

//  The zone's name ("UTC" when none was given). Borrowed.
const char *sf_cron_zone (const sf_cron_t *self);

//  The expression as given. Borrowed.
const char *sf_cron_text (const sf_cron_t *self);

//  Write instant as ISO-8601 local time in zone with its offset
//  (2026-03-29T02:00:00+01:00; "Z" for UTC) to buffer. Returns buffer.
//  zone (NULL or "" for UTC) is read from the tz database on each call;
//  one that cannot be read counts as UTC with its name kept (+00:00).
char *sf_cron_format (int64_t instant, const char *zone, char *buffer, size_t size);

//  Parse ISO-8601 "YYYY-MM-DDTHH:MM:SS" followed by "Z" or "+HH:MM" or
//  "-HH:MM" (the time part may be left out for midnight UTC). Returns 0 and
//  sets *instant, or -1.
int sf_cron_parse_time (const char *text, int64_t *instant);

//  True when zone names a zone of the system tz database that sf_zone
//  reads.
bool sf_cron_zone_valid (const char *zone);

#endif
