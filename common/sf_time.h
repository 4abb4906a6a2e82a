/*  =========================================================================
    sf_time - instants as people write them: ISO-8601 text to epoch ms

    A job's "from" and "to" are checked by the client library (JSON edge),
    by the broker's job check (wire) and read by the worker; all three use
    this one parser, so a time one of them accepts is a time the others
    accept, with the same value.
    ========================================================================= */

#ifndef SF_TIME_H_INCLUDED
#define SF_TIME_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  The forms a job's "from" and "to" take, for error messages that say
//  what would have been accepted.
#define SF_TIME_FORMS "an ISO-8601 time (2024-01-31, 2024-01-31T09:30, "                 \
                      "2024-01-31 09:30:00.250Z, 2024-01-31T09:30:00+02:00) "           \
                      "or epoch milliseconds as an integer"

//  Parse size bytes of text (no NUL needed) as an ISO-8601 instant and
//  store it in *ms as milliseconds since the Unix epoch. Accepted:
//
//      YYYY-MM-DD                              midnight UTC of that day
//      YYYY-MM-DD<sep>HH:MM[:SS[.fraction]][zone]
//
//  with <sep> 'T', 't' or one space; a fraction of 1-9 digits (digits past
//  the millisecond are dropped, so the instant is never rounded up into
//  the next millisecond); zone 'Z', 'z' or an offset +HH:MM, +HHMM or +HH
//  (or '-'), hours 00-14 and minutes 00-59; no zone means UTC. Years run
//  0000-9999; months, days (leap years included), hours 00-23, minutes and
//  seconds 00-59 are checked. Anything else, trailing characters included,
//  is refused. Returns 0, or -1 leaving *ms untouched.
int sf_time_parse (const char *text, size_t size, int64_t *ms);

#endif
