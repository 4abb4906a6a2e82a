/*  =========================================================================
    sf_cron - a schedule expression and its fire times in a time zone

    A cron schedule is a set of masks, one per field. The next fire time is
    found on the local wall clock: starting one second after the local time
    of `after`, each field jumps to its next allowed value (carrying into
    the field above when it runs out), which gives the next matching wall
    time; that wall time is then mapped to an instant. The map is where
    daylight saving lives:

    - a wall time that exists once maps to its instant;
    - a wall time that exists twice (fall back) maps to its first instant,
      so a wall time met again in the repeated hour is in the past and is
      passed over: it fires once;
    - a wall time in a gap (spring forward) maps to the transition instant,
      the first valid instant after it; several gap times map to the same
      instant and fire once.

    Wall times increase and so do the instants they map to, so the first
    candidate whose instant is after `after` is the answer.

    Time zones: the offsets come from the zone's own sf_zone object, read
    from the system tz database when the schedule is made. The C
    library's local zone (TZ, localtime_r) is never used: it is one per
    process, and switching it would race with every other thread.
    ========================================================================= */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sf_cron.h"
#include "sf_zone.h"

#define S_HORIZON_YEARS 10
#define S_EVERY_MAX (366LL * 86400)

struct _sf_cron_t {
    char *text;                 //  The expression as given
    sf_zone_t *zone;            //  The zone, UTC by default
    int64_t every;              //  Seconds for @every, else 0
    uint64_t seconds;           //  Bits 0-59
    uint64_t minutes;           //  Bits 0-59
    uint32_t hours;             //  Bits 0-23
    uint32_t days;              //  Bits 1-31
    bool last_day;              //  `L` in day-of-month
    uint16_t months;            //  Bits 1-12
    uint8_t weekdays;           //  Bits 0-6, 0 = Sunday
    bool day_star;              //  Day-of-month field starts with '*'
    bool weekday_star;          //  Day-of-week field starts with '*'
};

//  --------------------------------------------------------------------------
//  Civil calendar (proleptic Gregorian), independent of any zone.

static bool
s_leap (int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
s_month_days (int year, int month)
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

//  0 = Sunday; 1970-01-01 was a Thursday.
static int
s_weekday (int year, int month, int day)
{
    int64_t days = s_days_from_civil (year, month, day);
    return (int) (((days + 4) % 7 + 7) % 7);
}

//  --------------------------------------------------------------------------
//  Zones

//  The instant of wall time wall (seconds since the epoch as if wall were
//  UTC) in zone: its first occurrence, or after a gap the transition
//  instant. Zone offsets are within ±14 h, so the offsets in force a day
//  either side cover every instant the wall time can have.
static int64_t
s_wall_to_instant (const sf_zone_t *zone, int64_t wall)
{
    int64_t before = sf_zone_offset (zone, wall - 86400);
    int64_t after = sf_zone_offset (zone, wall + 86400);
    int64_t first = INT64_MAX;
    if (sf_zone_offset (zone, wall - before) == before)
        first = wall - before;
    if (sf_zone_offset (zone, wall - after) == after && wall - after < first)
        first = wall - after;
    if (first != INT64_MAX)
        return first;
    //  A gap: the transition lies in (wall - after, wall - before]
    int64_t low = wall - after, high = wall - before;
    if (low > high) {
        int64_t swap = low;
        low = high;
        high = swap;
    }
    int64_t low_offset = sf_zone_offset (zone, low);
    while (high - low > 1) {
        int64_t middle = low + (high - low) / 2;
        if (sf_zone_offset (zone, middle) == low_offset)
            low = middle;
        else
            high = middle;
    }
    return high;
}

bool
sf_cron_zone_valid (const char *zone)
{
    sf_zone_t *loaded = sf_zone_new (zone, NULL);
    bool valid = loaded != NULL;
    sf_zone_destroy (&loaded);
    return valid;
}

//  --------------------------------------------------------------------------
//  Parsing

typedef struct {
    const char *name;           //  For messages
    int min, max;               //  Allowed values
    const char *const *names;   //  Three-letter names from min, or NULL
} s_field_t;

static const char *const s_month_names [] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL
};
static const char *const s_weekday_names [] = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL
};

static const s_field_t s_second = { "second", 0, 59, NULL };
static const s_field_t s_minute = { "minute", 0, 59, NULL };
static const s_field_t s_hour = { "hour", 0, 23, NULL };
static const s_field_t s_day = { "day-of-month", 1, 31, NULL };
static const s_field_t s_month = { "month", 1, 12, s_month_names };
static const s_field_t s_weekday_field = { "day-of-week", 0, 7, s_weekday_names };

//  Read one value (number or name) at *cursor, before end. Returns 0 or -1
//  with error and *column.
static int
s_value (const s_field_t *field, const char **cursor, const char *end, const char *origin,
         int *value, sf_error_t *error, int *column)
{
    const char *start = *cursor;
    if (start < end && isdigit ((unsigned char) *start)) {
        long number = 0;
        while (*cursor < end && isdigit ((unsigned char) **cursor) && number < 1000)
            number = number * 10 + (*(*cursor)++ - '0');
        if (number < field->min || number > field->max) {
            *column = (int) (start - origin) + 1;
            return sf_error_set (error, "BAD_INPUT", "%s: %ld is out of range %d-%d",
                                 field->name, number, field->min, field->max);
        }
        *value = (int) number;
        return 0;
    }
    if (field->names && end - start >= 3 && (end - start == 3 || !isalpha ((unsigned char) start [3]))) {
        for (int i = 0; field->names [i]; i++)
            if (strncasecmp (start, field->names [i], 3) == 0) {
                *value = field->min + i;
                *cursor += 3;
                return 0;
            }
    }
    *column = (int) (start - origin) + 1;
    int length = (int) strcspn (start, "-/, \t");
    if (length > (int) (end - start))
        length = (int) (end - start);
    if (length == 0)
        return sf_error_set (error, "BAD_INPUT", "%s: a value is missing", field->name);
    return sf_error_set (error, "BAD_INPUT", "%s: \"%.*s\" is not a %s", field->name,
                         length > 32? 32: length, start,
                         field->names? "number or a name": "number");
}

//  Parse one field text [start, end) into mask. *star is set when it starts
//  with '*'; *last when it holds `L` (day-of-month only).
static int
s_field (const s_field_t *field, const char *start, const char *end, const char *origin,
         uint64_t *mask, bool *star, bool *last, sf_error_t *error, int *column)
{
    *mask = 0;
    *star = *start == '*';
    const char *cursor = start;
    while (cursor < end) {
        const char *element = cursor;
        const char *stop = memchr (cursor, ',', (size_t) (end - cursor));
        if (!stop)
            stop = end;
        if (stop == cursor) {
            *column = (int) (cursor - origin) + 1;
            return sf_error_set (error, "BAD_INPUT", "%s: empty list element", field->name);
        }
        int low, high, step = 1;
        if (*cursor == 'L' && last && stop - cursor == 1) {
            *last = true;
            cursor = stop + (stop < end);
            continue;
        }
        if (*cursor == '*') {
            low = field->min;
            high = field->max;
            cursor++;
        }
        else {
            if (s_value (field, &cursor, stop, origin, &low, error, column))
                return -1;
            high = low;
            if (cursor < stop && *cursor == '-') {
                cursor++;
                if (s_value (field, &cursor, stop, origin, &high, error, column))
                    return -1;
                if (high < low) {
                    *column = (int) (element - origin) + 1;
                    return sf_error_set (error, "BAD_INPUT", "%s: range %d-%d runs backwards",
                                         field->name, low, high);
                }
            }
            else
            if (cursor < stop && *cursor == '/')
                high = field->max;      //  "a/s": from a to the end
        }
        if (cursor < stop && *cursor == '/') {
            cursor++;
            const char *digits = cursor;
            long number = 0;
            while (cursor < stop && isdigit ((unsigned char) *cursor) && number < 1000)
                number = number * 10 + (*cursor++ - '0');
            if (cursor == digits || number < 1 || number > field->max - field->min + 1) {
                *column = (int) (digits - origin) + 1;
                return sf_error_set (error, "BAD_INPUT", "%s: step must be a number 1-%d",
                                     field->name, field->max - field->min + 1);
            }
            step = (int) number;
        }
        if (cursor != stop) {
            *column = (int) (cursor - origin) + 1;
            return sf_error_set (error, "BAD_INPUT", "%s: unexpected \"%c\"",
                                 field->name, *cursor);
        }
        for (int value = low; value <= high; value += step)
            *mask |= 1ULL << value;
        cursor = stop + (stop < end);
        if (stop < end && cursor == end) {
            *column = (int) (stop - origin) + 1;
            return sf_error_set (error, "BAD_INPUT", "%s: list ends with \",\"", field->name);
        }
    }
    return 0;
}

//  "1h30m", "45s", "2d": returns seconds, or -1 with error and *column
//  (base is the column of text in the expression, minus one).
static int64_t
s_duration (const char *text, int base, sf_error_t *error, int *column)
{
    int64_t total = 0;
    const char *cursor = text;
    if (!*cursor) {
        *column = base + (int) (cursor - text) + 1;
        sf_error_set (error, "BAD_INPUT", "@every needs a duration such as 30s or 1h30m");
        return -1;
    }
    while (*cursor) {
        const char *digits = cursor;
        int64_t number = 0;
        while (isdigit ((unsigned char) *cursor) && number <= S_EVERY_MAX)
            number = number * 10 + (*cursor++ - '0');
        int64_t unit = *cursor == 'd'? 86400: *cursor == 'h'? 3600: *cursor == 'm'? 60:
                       *cursor == 's'? 1: 0;
        if (cursor == digits || !unit) {
            *column = base + (int) ((cursor == digits? digits: cursor) - text) + 1;
            sf_error_set (error, "BAD_INPUT",
                          "@every: expected a number and a unit d, h, m or s (1h30m, 45s)");
            return -1;
        }
        cursor++;
        total += number * unit;
        if (total > S_EVERY_MAX) {
            *column = base + 1;
            sf_error_set (error, "BAD_INPUT", "@every: the duration is longer than 366 days");
            return -1;
        }
    }
    if (total == 0) {
        *column = base + 1;
        sf_error_set (error, "BAD_INPUT", "@every: the duration must be at least 1s");
        return -1;
    }
    return total;
}

static const struct {
    const char *name;
    const char *expansion;
} s_macros [] = {
    { "@yearly", "0 0 1 1 *" },
    { "@annually", "0 0 1 1 *" },
    { "@monthly", "0 0 1 * *" },
    { "@weekly", "0 0 * * 0" },
    { "@daily", "0 0 * * *" },
    { "@midnight", "0 0 * * *" },
    { "@hourly", "0 * * * *" },
};

//  Parse the five or six fields of text into self.
static int
s_parse_fields (sf_cron_t *self, const char *text, const char *origin,
                sf_error_t *error, int *column)
{
    const char *starts [7], *ends [7];
    int count = 0;
    const char *cursor = text;
    while (*cursor) {
        while (*cursor == ' ' || *cursor == '\t')
            cursor++;
        if (!*cursor)
            break;
        if (count == 6) {
            *column = (int) (cursor - origin) + 1;
            return sf_error_set (error, "BAD_INPUT",
                                 "too many fields: a schedule has 5 or 6 (with seconds)");
        }
        starts [count] = cursor;
        while (*cursor && *cursor != ' ' && *cursor != '\t')
            cursor++;
        ends [count++] = cursor;
    }
    if (count < 5) {
        *column = (int) (cursor - origin) + 1;
        return sf_error_set (error, "BAD_INPUT",
                             "%d field%s: a schedule has 5 (minute hour day-of-month month "
                             "day-of-week) or 6 (with seconds first)",
                             count, count == 1? "": "s");
    }
    int first = count == 6? 1: 0;
    uint64_t mask;
    bool star;
    if (count == 6) {
        if (s_field (&s_second, starts [0], ends [0], origin, &self->seconds, &star, NULL,
                     error, column))
            return -1;
    }
    else
        self->seconds = 1;
    if (s_field (&s_minute, starts [first], ends [first], origin, &self->minutes, &star, NULL,
                 error, column)
    ||  s_field (&s_hour, starts [first + 1], ends [first + 1], origin, &mask, &star, NULL,
                 error, column))
        return -1;
    self->hours = (uint32_t) mask;
    if (s_field (&s_day, starts [first + 2], ends [first + 2], origin, &mask, &self->day_star,
                 &self->last_day, error, column))
        return -1;
    self->days = (uint32_t) mask;
    if (s_field (&s_month, starts [first + 3], ends [first + 3], origin, &mask, &star, NULL,
                 error, column))
        return -1;
    self->months = (uint16_t) mask;
    if (s_field (&s_weekday_field, starts [first + 4], ends [first + 4], origin, &mask,
                 &self->weekday_star, NULL, error, column))
        return -1;
    if (mask & (1 << 7))            //  7 is Sunday too
        mask = (mask | 1) & 0x7F;
    self->weekdays = (uint8_t) mask;

    //  A day-of-month the months never have can only fire through the
    //  day-of-week, and only when the two combine with "or"
    if (self->day_star || self->weekday_star) {
        bool possible = self->last_day;
        for (int month = 1; month <= 12 && !possible; month++)
            if (self->months & (1 << month))
                for (int day = 1; day <= s_month_days (2000, month); day++)
                    if (self->days & (1u << day))
                        possible = true;
        if (!possible) {
            *column = (int) (starts [first + 2] - origin) + 1;
            return sf_error_set (error, "BAD_INPUT",
                                 "day-of-month: no such day in the given months");
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Create a schedule.

sf_cron_t *
sf_cron_new (const char *expression, const char *zone, sf_error_t *error, int *column)
{
    int ignored;
    if (!column)
        column = &ignored;
    *column = 1;
    if (!zone || !*zone)
        zone = "UTC";
    sf_zone_t *loaded = sf_zone_new (zone, error);
    if (!loaded)
        return NULL;
    sf_cron_t *self = (sf_cron_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->text = strdup (expression);
    self->zone = loaded;
    if (!self->text)
        abort ();
    const char *text = expression;
    while (*text == ' ' || *text == '\t')
        text++;
    int rc = 0;
    if (*text == '@') {
        size_t length = strcspn (text, " \t");
        if (length == 6 && strncmp (text, "@every", 6) == 0) {
            const char *duration = text + 6;
            while (*duration == ' ' || *duration == '\t')
                duration++;
            char buffer [64];
            size_t size = strcspn (duration, " \t");
            if (size >= sizeof buffer) {
                *column = (int) (duration - expression) + 1;
                sf_error_set (error, "BAD_INPUT", "@every: the duration is too long");
                sf_cron_destroy (&self);
                return NULL;
            }
            memcpy (buffer, duration, size);
            buffer [size] = 0;
            const char *rest = duration + strcspn (duration, " \t");
            while (*rest == ' ' || *rest == '\t')
                rest++;
            self->every = s_duration (buffer, (int) (duration - expression), error, column);
            if (self->every < 0)
                rc = -1;
            else
            if (*rest) {
                *column = (int) (rest - expression) + 1;
                rc = sf_error_set (error, "BAD_INPUT", "unexpected text after @every's duration");
            }
        }
        else {
            size_t i;
            for (i = 0; i < sizeof s_macros / sizeof s_macros [0]; i++)
                if (strlen (s_macros [i].name) == length
                &&  strncmp (text, s_macros [i].name, length) == 0)
                    break;
            const char *rest = text + length;
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (i == sizeof s_macros / sizeof s_macros [0]) {
                *column = (int) (text - expression) + 1;
                rc = sf_error_set (error, "BAD_INPUT", "unknown macro \"%.*s\" (@yearly, "
                                   "@monthly, @weekly, @daily, @hourly, @every DURATION)",
                                   (int) (length > 32? 32: length), text);
            }
            else
            if (*rest) {
                *column = (int) (rest - expression) + 1;
                rc = sf_error_set (error, "BAD_INPUT", "unexpected text after %s",
                                   s_macros [i].name);
            }
            else
                rc = s_parse_fields (self, s_macros [i].expansion, s_macros [i].expansion,
                                     error, column);
        }
    }
    else
        rc = s_parse_fields (self, expression, expression, error, column);
    if (rc) {
        sf_cron_destroy (&self);
        return NULL;
    }
    return self;
}

void
sf_cron_destroy (sf_cron_t **self_p)
{
    if (*self_p) {
        sf_cron_t *self = *self_p;
        free (self->text);
        sf_zone_destroy (&self->zone);
        free (self);
        *self_p = NULL;
    }
}

const char *
sf_cron_zone (const sf_cron_t *self)
{
    return sf_zone_name (self->zone);
}

const char *
sf_cron_text (const sf_cron_t *self)
{
    return self->text;
}

//  --------------------------------------------------------------------------
//  Next fire time.

//  Smallest value >= from with its bit set in mask, up to max; -1 if none.
static int
s_next_bit (uint64_t mask, int from, int max)
{
    for (int value = from; value <= max; value++)
        if (mask & (1ULL << value))
            return value;
    return -1;
}

static bool
s_day_matches (const sf_cron_t *self, int year, int month, int day)
{
    bool by_day = (self->days & (1u << day))
               || (self->last_day && day == s_month_days (year, month));
    bool by_weekday = self->weekdays & (1u << s_weekday (year, month, day));
    return self->day_star || self->weekday_star? by_day && by_weekday: by_day || by_weekday;
}

int64_t
sf_cron_next (sf_cron_t *self, int64_t after)
{
    if (self->every) {
        int64_t quotient = after / self->every;
        if (after < 0 && after % self->every)
            quotient--;
        return (quotient + 1) * self->every;
    }
    //  The local time of after: a UTC calendar of the shifted instant
    time_t t = (time_t) (after + sf_zone_offset (self->zone, after));
    struct tm tm;
    gmtime_r (&t, &tm);
    int year = tm.tm_year + 1900, month = tm.tm_mon + 1, day = tm.tm_mday;
    int hour = tm.tm_hour, minute = tm.tm_min, second = tm.tm_sec + 1;
    int limit = year + S_HORIZON_YEARS;
    int64_t result = -1;
    while (year <= limit) {
        //  Carry whatever ran past its field's end
        if (second > 59) { second = 0; minute++; }
        if (minute > 59) { minute = 0; hour++; }
        if (hour > 23) { hour = 0; day++; }
        if (month <= 12 && day > s_month_days (year, month)) { day = 1; month++; }
        if (month > 12) { month = 1; year++; continue; }

        if (!(self->months & (1 << month))) {
            int next = s_next_bit (self->months, month, 12);
            if (next < 0)
                month = 13;
            else
                month = next;
            day = 1;
            hour = minute = second = 0;
            continue;
        }
        if (!s_day_matches (self, year, month, day)) {
            day++;
            hour = minute = second = 0;
            continue;
        }
        int next = s_next_bit (self->hours, hour, 23);
        if (next != hour) {
            if (next < 0)
                hour = 24;
            else
                hour = next;
            minute = second = 0;
            continue;
        }
        next = s_next_bit (self->minutes, minute, 59);
        if (next != minute) {
            if (next < 0)
                minute = 60;
            else
                minute = next;
            second = 0;
            continue;
        }
        next = s_next_bit (self->seconds, second, 59);
        if (next != second) {
            second = next < 0? 60: next;
            continue;
        }
        int64_t wall = s_days_from_civil (year, month, day) * 86400
                     + hour * 3600 + minute * 60 + second;
        int64_t instant = s_wall_to_instant (self->zone, wall);
        if (instant > after) {
            result = instant;
            break;
        }
        second++;
    }
    return result;
}

//  --------------------------------------------------------------------------
//  Instants as text.

char *
sf_cron_format (int64_t instant, const char *zone, char *buffer, size_t size)
{
    bool utc = !zone || !*zone || strcmp (zone, "UTC") == 0;
    int64_t offset = 0;
    sf_zone_t *loaded = utc? NULL: sf_zone_new (zone, NULL);
    if (loaded)
        offset = sf_zone_offset (loaded, instant);
    sf_zone_destroy (&loaded);
    time_t local = (time_t) (instant + offset);
    struct tm tm;
    gmtime_r (&local, &tm);
    char sign = offset < 0? '-': '+';
    int64_t magnitude = offset < 0? -offset: offset;
    if (utc)
        snprintf (buffer, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    else
        snprintf (buffer, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
                  (int) (magnitude / 3600), (int) (magnitude % 3600 / 60));
    return buffer;
}

int
sf_cron_parse_time (const char *text, int64_t *instant)
{
    int year, month, day, hour = 0, minute = 0, second = 0, used = 0;
    if (sscanf (text, "%4d-%2d-%2d%n", &year, &month, &day, &used) != 3 || used != 10)
        return -1;
    const char *rest = text + used;
    int64_t offset = 0;
    if (*rest) {
        if (*rest != 'T' && *rest != 't' && *rest != ' ')
            return -1;
        used = 0;
        if (sscanf (rest + 1, "%2d:%2d:%2d%n", &hour, &minute, &second, &used) != 3
        ||  used != 8)
            return -1;
        rest += 1 + used;
        if ((*rest == 'Z' || *rest == 'z') && rest [1] == 0)
            offset = 0;
        else
        if (*rest == '+' || *rest == '-') {
            int hours, minutes;
            used = 0;
            if (sscanf (rest + 1, "%2d:%2d%n", &hours, &minutes, &used) != 2 || used != 5
            ||  rest [6] != 0 || hours > 14 || minutes > 59)
                return -1;
            offset = (hours * 3600 + minutes * 60) * (*rest == '-'? -1: 1);
        }
        else
            return -1;
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > s_month_days (year, month)
    ||  hour > 23 || minute > 59 || second > 59)
        return -1;
    *instant = s_days_from_civil (year, month, day) * 86400 + hour * 3600 + minute * 60
             + second - offset;
    return 0;
}
