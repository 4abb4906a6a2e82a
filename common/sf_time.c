/*  =========================================================================
    sf_time - instants as people write them: ISO-8601 text to epoch ms

    A hand-written reader rather than strptime: strptime skips white space,
    accepts one-digit fields and "2024-02-30", and knows no offsets, and
    timegm depends on the C library's idea of years. Each field here has a
    fixed number of digits and is range-checked, and the day count comes
    from the proleptic Gregorian calendar arithmetic of Howard Hinnant's
    days_from_civil, exact for every year this parser accepts.
    ========================================================================= */

#include <stdbool.h>
#include "sf_time.h"

//  A cursor over the text being parsed.
typedef struct {
    const char *at;             //  Next character
    const char *end;            //  One past the last character
} s_cursor_t;

//  Read exactly count decimal digits into *value. Returns 0 or -1.
static int
s_digits (s_cursor_t *cursor, int count, int *value)
{
    if (cursor->end - cursor->at < count)
        return -1;
    int number = 0;
    for (int i = 0; i < count; i++) {
        char c = cursor->at [i];
        if (c < '0' || c > '9')
            return -1;
        number = number * 10 + (c - '0');
    }
    cursor->at += count;
    *value = number;
    return 0;
}

//  Take the next character if it is c.
static bool
s_take (s_cursor_t *cursor, char c)
{
    if (cursor->at < cursor->end && *cursor->at == c) {
        cursor->at++;
        return true;
    }
    return false;
}

static bool
s_leap (int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
s_month_days (int year, int month)
{
    static const int days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && s_leap (year)? 29: days [month - 1];
}

//  Days from 1970-01-01 to the civil date (negative before it).
static int64_t
s_days_from_civil (int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0? year: year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2? -3: 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

//  Read the zone after a time: nothing (UTC), Z, or an offset. Stores the
//  offset east of UTC in seconds. Returns 0 or -1.
static int
s_zone (s_cursor_t *cursor, int64_t *offset)
{
    *offset = 0;
    if (cursor->at == cursor->end || s_take (cursor, 'Z') || s_take (cursor, 'z'))
        return 0;
    int sign = s_take (cursor, '+')? 1: s_take (cursor, '-')? -1: 0;
    int hours, minutes = 0;
    if (sign == 0 || s_digits (cursor, 2, &hours))
        return -1;
    if (cursor->at < cursor->end) {
        s_take (cursor, ':');   //  +HH:MM and +HHMM read alike
        if (s_digits (cursor, 2, &minutes))
            return -1;
    }
    if (hours > 14 || minutes > 59)
        return -1;
    *offset = sign * (hours * 3600 + minutes * 60);
    return 0;
}

//  --------------------------------------------------------------------------
//  Parse an ISO-8601 instant into epoch milliseconds.

int
sf_time_parse (const char *text, size_t size, int64_t *ms)
{
    if (!text)
        return -1;
    s_cursor_t cursor = { text, text + size };
    int year, month, day, hour = 0, minute = 0, second = 0, millis = 0;
    int64_t offset = 0;
    if (s_digits (&cursor, 4, &year) || !s_take (&cursor, '-')
    ||  s_digits (&cursor, 2, &month) || !s_take (&cursor, '-')
    ||  s_digits (&cursor, 2, &day))
        return -1;
    if (cursor.at < cursor.end) {
        if (!s_take (&cursor, 'T') && !s_take (&cursor, 't') && !s_take (&cursor, ' '))
            return -1;
        if (s_digits (&cursor, 2, &hour) || !s_take (&cursor, ':')
        ||  s_digits (&cursor, 2, &minute))
            return -1;
        if (s_take (&cursor, ':')) {
            if (s_digits (&cursor, 2, &second))
                return -1;
            if (s_take (&cursor, '.')) {
                //  1-9 digits; the first three are the milliseconds
                int count = 0;
                while (cursor.at < cursor.end && *cursor.at >= '0' && *cursor.at <= '9') {
                    if (count < 3)
                        millis = millis * 10 + (*cursor.at - '0');
                    cursor.at++;
                    count++;
                }
                if (count == 0 || count > 9)
                    return -1;
                for (; count < 3; count++)
                    millis *= 10;
            }
        }
        if (s_zone (&cursor, &offset))
            return -1;
    }
    if (cursor.at != cursor.end)
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > s_month_days (year, month)
    ||  hour > 23 || minute > 59 || second > 59)
        return -1;
    int64_t seconds = s_days_from_civil (year, month, day) * 86400
                    + hour * 3600 + minute * 60 + second - offset;
    *ms = seconds * 1000 + millis;
    return 0;
}
