/*  =========================================================================
    sf_zone - a time zone of the system tz database: its offset from UTC at
    any instant

    A TZif file (RFC 8536) is a table of transitions, each an instant and
    the local time type in force from it (an offset from UTC), and, from
    version 2 on, a footer: a POSIX TZ string such as
    "GMT0BST,M3.5.0/1,M10.5.0" whose rule gives the offsets after the last
    transition. The file begins with a version 1 block of 32-bit instants;
    version 2 and later files repeat the data with 64-bit instants after
    it, and only that second block is read then.

    Decoding trusts nothing in the file: each block's size is computed from
    its header's counts in 64 bits and checked against what is left before
    it is read, type indexes are checked against the number of types,
    transitions must increase, and the footer must parse whole. Zones with
    leap-second records (the right/ tree) are refused rather than read
    wrong: their instants count leap seconds, sheaf's do not.

    An offset is then a binary search among the transitions, or for later
    instants the footer's rule: its daylight time starts and ends at a
    local time on a day given as Jn, n or Mm.w.d, evaluated for the
    instant's year and the years either side, so a rule whose daylight
    time spans the new year (the southern hemisphere) needs no special
    case.
    ========================================================================= */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sf_zone.h"

//  A zone file larger than this is not one (the largest are a few KB).
#define S_FILE_MAX (1024 * 1024)
//  Offsets of local time from UTC lie within ±25:59:59 (RFC 8536).
#define S_OFFSET_MAX 93599
//  Instants are clamped to ±2^52 s (143 million years) so that the
//  calendar arithmetic of the rule cannot overflow.
#define S_INSTANT_MAX (1LL << 52)

//  When a rule changes between standard and daylight time.
typedef struct {
    char kind;                  //  'J' day 1-365 without Feb 29, 'D' day
                                //  0-365 with it, 'M' month.week.weekday
    int day;                    //  J, D: the day
    int month;                  //  M: 1-12
    int week;                   //  M: 1-4, or 5 for the last
    int weekday;                //  M: 0-6, Sunday first
    int32_t time;               //  Local time of the change, seconds after
                                //  midnight (-167 h to 167 h)
} s_change_t;

//  A footer's TZ rule.
typedef struct {
    bool present;               //  The file has a non-empty footer
    int32_t standard;           //  Offset of standard time, east positive
    bool daylight;              //  The rule has daylight time
    int32_t summer;             //  Offset of daylight time
    s_change_t start;           //  Into daylight time (in standard time)
    s_change_t end;             //  Back to standard time (in daylight time)
} s_rule_t;

struct _sf_zone_t {
    char *name;                 //  As given
    int64_t *times;             //  Transition instants, increasing
    uint8_t *types;             //  The local time type from each transition
    size_t count;               //  Transitions
    int32_t *offsets;           //  Offset of each local time type
    size_t type_count;          //  Local time types, at least one
    s_rule_t rule;              //  For instants after the last transition
};

//  --------------------------------------------------------------------------
//  Civil calendar (proleptic Gregorian).

static bool
s_leap (int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
s_month_days (int64_t year, int month)
{
    static const int days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && s_leap (year)? 29: days [month - 1];
}

//  Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
static int64_t
s_days_from_civil (int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0? year: year - 399) / 400;
    int64_t yoe = year - era * 400;
    int64_t doy = (153 * (month + (month > 2? -3: 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

//  The civil year of a day counted from 1970-01-01 (the inverse above).
static int64_t
s_year_of_days (int64_t days)
{
    days += 719468;
    int64_t era = (days >= 0? days: days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

//  --------------------------------------------------------------------------
//  The footer: a POSIX TZ string with RFC 8536's extensions.

//  A zone abbreviation: three or more letters, or <...> of letters,
//  digits, '+' and '-'. Returns the text after it, or NULL.
static const char *
s_parse_abbreviation (const char *text)
{
    const char *start = text;
    if (*text == '<') {
        start = ++text;
        while (isalnum ((unsigned char) *text) || *text == '+' || *text == '-')
            text++;
        if (*text != '>' || text - start < 3)
            return NULL;
        return text + 1;
    }
    while (isalpha ((unsigned char) *text))
        text++;
    return text - start < 3? NULL: text;
}

//  [+-]hh[:mm[:ss]] with hh at most max_hours, into *seconds. Returns
//  the text after it, or NULL.
static const char *
s_parse_clock (const char *text, int max_hours, int32_t *seconds)
{
    int sign = 1;
    if (*text == '+' || *text == '-')
        sign = *text++ == '-'? -1: 1;
    int parts [3] = { 0, 0, 0 };
    for (int part = 0; part < 3; part++) {
        if (part > 0) {
            if (*text != ':')
                break;
            text++;
        }
        int digits = 0, value = 0;
        while (isdigit ((unsigned char) *text) && digits < 3) {
            value = value * 10 + (*text++ - '0');
            digits++;
        }
        if (digits == 0 || isdigit ((unsigned char) *text)
        ||  value > (part == 0? max_hours: 59))
            return NULL;
        parts [part] = value;
    }
    *seconds = sign * (parts [0] * 3600 + parts [1] * 60 + parts [2]);
    return text;
}

//  A decimal number in [min, max]. Returns the text after it, or NULL.
static const char *
s_parse_number (const char *text, int min, int max, int *value)
{
    int digits = 0;
    *value = 0;
    while (isdigit ((unsigned char) *text) && digits < 4) {
        *value = *value * 10 + (*text++ - '0');
        digits++;
    }
    if (digits == 0 || isdigit ((unsigned char) *text) || *value < min || *value > max)
        return NULL;
    return text;
}

//  A change: Jn, n or Mm.w.d, then an optional /time (default 02:00).
//  Returns the text after it, or NULL.
static const char *
s_parse_change (const char *text, s_change_t *change)
{
    if (*text == 'J') {
        change->kind = 'J';
        text = s_parse_number (text + 1, 1, 365, &change->day);
    }
    else
    if (*text == 'M') {
        change->kind = 'M';
        text = s_parse_number (text + 1, 1, 12, &change->month);
        if (text && *text == '.')
            text = s_parse_number (text + 1, 1, 5, &change->week);
        else
            text = NULL;
        if (text && *text == '.')
            text = s_parse_number (text + 1, 0, 6, &change->weekday);
        else
            text = NULL;
    }
    else {
        change->kind = 'D';
        text = s_parse_number (text, 0, 365, &change->day);
    }
    change->time = 7200;
    if (text && *text == '/')
        text = s_parse_clock (text + 1, 167, &change->time);
    return text;
}

//  Parse a whole TZ string into rule. 0, or -1.
static int
s_parse_rule (const char *text, s_rule_t *rule)
{
    memset (rule, 0, sizeof *rule);
    int32_t west;
    text = s_parse_abbreviation (text);
    if (!text || !(text = s_parse_clock (text, 24, &west)))
        return -1;
    //  POSIX offsets count hours west of Greenwich
    rule->standard = -west;
    rule->present = true;
    if (*text == 0)
        return 0;
    if (!(text = s_parse_abbreviation (text)))
        return -1;
    rule->daylight = true;
    rule->summer = rule->standard + 3600;
    if (*text && *text != ',') {
        if (!(text = s_parse_clock (text, 24, &west)))
            return -1;
        rule->summer = -west;
    }
    //  zic always writes the changes; POSIX leaves their absence to each
    //  implementation, so it is refused rather than guessed
    if (*text != ',' || !(text = s_parse_change (text + 1, &rule->start))
    ||  *text != ',' || !(text = s_parse_change (text + 1, &rule->end))
    ||  *text)
        return -1;
    return 0;
}

//  Local seconds since the epoch (as if local time were UTC) of change
//  in year.
static int64_t
s_change_local (const s_change_t *change, int64_t year)
{
    int64_t day = s_days_from_civil (year, 1, 1);
    if (change->kind == 'J')
        day += change->day - 1 + (s_leap (year) && change->day >= 60);
    else
    if (change->kind == 'D')
        day += change->day;
    else {
        int64_t first = s_days_from_civil (year, change->month, 1);
        int weekday = (int) (((first + 4) % 7 + 7) % 7);      //  1970-01-01: Thursday
        int date = 1 + (change->weekday - weekday + 7) % 7 + 7 * (change->week - 1);
        while (date > s_month_days (year, change->month))
            date -= 7;
        day = first + date - 1;
    }
    return day * 86400 + change->time;
}

//  The offset the rule gives at instant.
static int32_t
s_rule_offset (const s_rule_t *rule, int64_t instant)
{
    if (!rule->daylight)
        return rule->standard;
    //  The changes of the instant's year and the years either side, in
    //  order; at equal instants the end comes first, so that daylight time
    //  all year ("0/0,J365/25") stays daylight time
    typedef struct {
        int64_t at;             //  Instant of the change
        bool daylight;          //  Into daylight time
    } s_at_t;
    s_at_t changes [6] = { { 0, false } };
    int64_t year = s_year_of_days ((instant + rule->standard) / 86400
                                   - ((instant + rule->standard) % 86400 < 0));
    size_t count = 0;
    for (int64_t y = year - 1; y <= year + 1; y++) {
        changes [count++] = (s_at_t) { s_change_local (&rule->start, y) - rule->standard, true };
        changes [count++] = (s_at_t) { s_change_local (&rule->end, y) - rule->summer, false };
    }
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0; j--) {
            s_at_t *a = &changes [j - 1], *b = &changes [j];
            if (a->at < b->at || (a->at == b->at && !a->daylight))
                break;
            s_at_t swap = *a;
            *a = *b;
            *b = swap;
        }
    //  Before the earliest change, the time it changes from
    bool daylight = !changes [0].daylight;
    for (size_t i = 0; i < count && changes [i].at <= instant; i++)
        daylight = changes [i].daylight;
    return daylight? rule->summer: rule->standard;
}

//  --------------------------------------------------------------------------
//  The TZif file.

//  Big-endian integers.
static uint32_t
s_u32 (const uint8_t *data)
{
    return (uint32_t) data [0] << 24 | (uint32_t) data [1] << 16
         | (uint32_t) data [2] << 8 | (uint32_t) data [3];
}

static int64_t
s_i64 (const uint8_t *data)
{
    return (int64_t) ((uint64_t) s_u32 (data) << 32 | s_u32 (data + 4));
}

//  A header's six counts (RFC 8536 3.1).
typedef struct {
    uint64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} s_counts_t;

#define S_HEADER_SIZE 44

//  Read the header at data (size bytes left); *block_size is the size of
//  the data block after it with time_size-byte instants. 0, or -1 with
//  error.
static int
s_header (const uint8_t *data, size_t size, int time_size, s_counts_t *counts,
          uint64_t *block_size, const char *name, sf_error_t *error)
{
    if (size < S_HEADER_SIZE || memcmp (data, "TZif", 4))
        return sf_error_set (error, "BAD_INPUT", "time zone %s: not a TZif file", name);
    counts->isutcnt = s_u32 (data + 20);
    counts->isstdcnt = s_u32 (data + 24);
    counts->leapcnt = s_u32 (data + 28);
    counts->timecnt = s_u32 (data + 32);
    counts->typecnt = s_u32 (data + 36);
    counts->charcnt = s_u32 (data + 40);
    if (counts->typecnt == 0 || counts->typecnt > 256 || counts->charcnt == 0
    ||  (counts->isutcnt && counts->isutcnt != counts->typecnt)
    ||  (counts->isstdcnt && counts->isstdcnt != counts->typecnt))
        return sf_error_set (error, "BAD_INPUT", "time zone %s: inconsistent counts in the "
                             "TZif header", name);
    if (counts->leapcnt)
        return sf_error_set (error, "BAD_INPUT", "time zone %s: has leap seconds, which "
                             "sheaf does not count (use the zone outside right/)", name);
    //  At most 2^32 of each: these sums cannot overflow 64 bits
    *block_size = counts->timecnt * (uint64_t) (time_size + 1) + counts->typecnt * 6
                + counts->charcnt + counts->leapcnt * (uint64_t) (time_size + 4)
                + counts->isstdcnt + counts->isutcnt;
    if (*block_size > size - S_HEADER_SIZE)
        return sf_error_set (error, "BAD_INPUT", "time zone %s: the TZif file is cut short",
                             name);
    return 0;
}

sf_zone_t *
sf_zone_decode (const char *name, const uint8_t *data, size_t size, sf_error_t *error)
{
    s_counts_t counts;
    uint64_t block_size;
    if (s_header (data, size, 4, &counts, &block_size, name, error))
        return NULL;
    int time_size = 4;
    if (data [4] >= '2') {
        //  Skip the version 1 block: the 64-bit one follows
        size_t skip = S_HEADER_SIZE + (size_t) block_size;
        data += skip;
        size -= skip;
        time_size = 8;
        if (s_header (data, size, 8, &counts, &block_size, name, error))
            return NULL;
    }
    else
    if (data [4] != 0) {
        sf_error_set (error, "BAD_INPUT", "time zone %s: unknown TZif version", name);
        return NULL;
    }
    const uint8_t *times = data + S_HEADER_SIZE;
    const uint8_t *indexes = times + counts.timecnt * (size_t) time_size;
    const uint8_t *types = indexes + counts.timecnt;
    const uint8_t *end = data + S_HEADER_SIZE + block_size;

    sf_zone_t *self = (sf_zone_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->name = strdup (name);
    self->count = (size_t) counts.timecnt;
    self->type_count = (size_t) counts.typecnt;
    self->times = (int64_t *) calloc (self->count + 1, sizeof (int64_t));
    self->types = (uint8_t *) calloc (self->count + 1, 1);
    self->offsets = (int32_t *) calloc (self->type_count, sizeof (int32_t));
    if (!self->name || !self->times || !self->types || !self->offsets)
        abort ();
    const char *problem = NULL;
    for (size_t i = 0; i < self->type_count && !problem; i++) {
        const uint8_t *type = types + i * 6;
        int32_t offset = (int32_t) s_u32 (type);
        if (offset < -S_OFFSET_MAX || offset > S_OFFSET_MAX)
            problem = "an offset beyond 26 hours";
        else
        if (type [4] > 1 || type [5] >= counts.charcnt)
            problem = "a malformed local time type";
        self->offsets [i] = offset;
    }
    for (size_t i = 0; i < self->count && !problem; i++) {
        self->times [i] = time_size == 8? s_i64 (times + i * 8):
                                          (int32_t) s_u32 (times + i * 4);
        self->types [i] = indexes [i];
        if (indexes [i] >= self->type_count)
            problem = "a transition to a local time type that does not exist";
        else
        if (i > 0 && self->times [i] <= self->times [i - 1])
            problem = "transitions out of order";
    }
    if (!problem && time_size == 8) {
        //  The footer: a newline, the TZ string, a newline
        size_t left = (size_t) (data + size - end);
        const uint8_t *close = left > 1? memchr (end + 1, '\n', left - 1): NULL;
        if (left < 2 || end [0] != '\n' || !close)
            problem = "no footer";
        else
        if (close > end + 1) {
            char rule [256];
            size_t length = (size_t) (close - end - 1);
            if (length >= sizeof rule || memchr (end + 1, 0, length))
                problem = "a malformed TZ string in its footer";
            else {
                memcpy (rule, end + 1, length);
                rule [length] = 0;
                if (s_parse_rule (rule, &self->rule)
                ||  self->rule.standard < -S_OFFSET_MAX || self->rule.standard > S_OFFSET_MAX
                ||  self->rule.summer < -S_OFFSET_MAX || self->rule.summer > S_OFFSET_MAX)
                    problem = "a malformed TZ string in its footer";
            }
        }
    }
    if (problem) {
        sf_error_set (error, "BAD_INPUT", "time zone %s: the TZif file has %s", name, problem);
        sf_zone_destroy (&self);
    }
    return self;
}

//  True when name may be looked up: 1-120 characters of letters, digits,
//  '_', '+', '-' and '/', not starting with '/' or '.', without "..".
static bool
s_name_valid (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length > 120 || name [0] == '/' || name [0] == '.'
    ||  strstr (name, ".."))
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum ((unsigned char) *c) && !strchr ("_+-/", *c))
            return false;
    return true;
}

sf_zone_t *
sf_zone_new (const char *name, sf_error_t *error)
{
    if (strcmp (name, "UTC") == 0) {
        //  Known without a database: one type, offset 0, no transitions
        static const uint8_t utc [] = {
            'T', 'Z', 'i', 'f', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4,
            0, 0, 0, 0, 0, 0, 'U', 'T', 'C', 0
        };
        return sf_zone_decode (name, utc, sizeof utc, error);
    }
    if (!s_name_valid (name)) {
        sf_error_set (error, "BAD_INPUT", "unknown time zone \"%.64s\" (an IANA name such as "
                      "Europe/London)", name);
        return NULL;
    }
    const char *dir = getenv ("TZDIR");
    char path [512];
    snprintf (path, sizeof path, "%s/%s", dir && *dir? dir: "/usr/share/zoneinfo", name);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat status;
    if (fd < 0 || fstat (fd, &status) || !S_ISREG (status.st_mode)) {
        if (fd >= 0)
            close (fd);
        sf_error_set (error, "BAD_INPUT", "unknown time zone \"%.64s\" (an IANA name such as "
                      "Europe/London)", name);
        return NULL;
    }
    if (status.st_size > S_FILE_MAX) {
        close (fd);
        sf_error_set (error, "BAD_INPUT", "time zone %s: %s is too large for a TZif file",
                      name, path);
        return NULL;
    }
    //  What the file holds as it is read: a file that changed size since
    //  fstat is decoded as far as it was read
    size_t room = (size_t) status.st_size;
    uint8_t *data = (uint8_t *) malloc (room + 1);
    if (!data)
        abort ();
    size_t size = 0;
    ssize_t got;
    while (size < room && (got = read (fd, data + size, room - size)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        size += (size_t) got;
    }
    close (fd);
    sf_zone_t *self = sf_zone_decode (name, data, size, error);
    free (data);
    return self;
}

void
sf_zone_destroy (sf_zone_t **self_p)
{
    if (*self_p) {
        sf_zone_t *self = *self_p;
        free (self->name);
        free (self->times);
        free (self->types);
        free (self->offsets);
        free (self);
        *self_p = NULL;
    }
}

const char *
sf_zone_name (const sf_zone_t *self)
{
    return self->name;
}

int32_t
sf_zone_offset (const sf_zone_t *self, int64_t instant)
{
    if (instant > S_INSTANT_MAX)
        instant = S_INSTANT_MAX;
    if (instant < -S_INSTANT_MAX)
        instant = -S_INSTANT_MAX;
    if (self->count == 0 || instant >= self->times [self->count - 1]) {
        if (self->rule.present)
            return s_rule_offset (&self->rule, instant);
        return self->offsets [self->count? self->types [self->count - 1]: 0];
    }
    if (instant < self->times [0])
        return self->offsets [0];
    //  The last transition at or before instant
    size_t low = 0, high = self->count - 1;
    while (high - low > 1) {
        size_t middle = low + (high - low) / 2;
        if (self->times [middle] <= instant)
            low = middle;
        else
            high = middle;
    }
    return self->offsets [self->types [low]];
}
