/*  =========================================================================
    check_sf_zone - time zones read from TZif files, against the C
    library: every zone of the system database and a set of TZ rules give
    the offsets glibc's localtime_r gives; malformed files are refused
    with their reason, and zones work without touching TZ

    The C library is the reference here, read through TZ and localtime_r
    in this single-threaded test: exactly what sf_zone exists to avoid in
    the scheduler and the CLI.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "sf_zone.h"

#define S_ZONEINFO "/usr/share/zoneinfo"
//  1900-01-01 to 2100-01-01: the sweep of every zone
#define S_SWEEP_FROM (-2208988800LL)
#define S_SWEEP_TO 4102444800LL

//  The offset glibc gives at instant under TZ=tz.
static long
s_glibc_offset (const char *tz, int64_t instant)
{
    static char current [512];
    if (strcmp (current, tz)) {
        snprintf (current, sizeof current, "%s", tz);
        setenv ("TZ", tz, 1);
        tzset ();
    }
    time_t t = (time_t) instant;
    struct tm tm;
    //  Checks only on failure: each ck_assert costs a write to the
    //  runner's pipe, and this runs millions of times
    if (!localtime_r (&t, &tm))
        ck_abort_msg ("localtime_r failed at %lld", (long long) instant);
    return tm.tm_gmtoff;
}

//  Compare zone with glibc from from to to in steps of step seconds, and
//  around every change of offset found, to the second. Returns the
//  number of instants compared.
static size_t
s_compare (const sf_zone_t *zone, const char *tz, int64_t from, int64_t to, int64_t step)
{
    size_t compared = 0;
    long previous = s_glibc_offset (tz, from);
    for (int64_t instant = from; instant <= to; instant += step) {
        long expected = s_glibc_offset (tz, instant);
        if (sf_zone_offset (zone, instant) != expected)
            ck_abort_msg ("%s at %lld: %d, glibc %ld", tz, (long long) instant,
                          sf_zone_offset (zone, instant), expected);
        compared++;
        if (expected != previous) {
            //  A change within the last step: find it, and check either side
            int64_t low = instant - step, high = instant;
            while (high - low > 1) {
                int64_t middle = low + (high - low) / 2;
                if (s_glibc_offset (tz, middle) == previous)
                    low = middle;
                else
                    high = middle;
            }
            for (int64_t at = high - 2; at <= high + 1; at++) {
                long around = s_glibc_offset (tz, at);
                if (sf_zone_offset (zone, at) != around)
                    ck_abort_msg ("%s at %lld (a change): %d, glibc %ld", tz, (long long) at,
                                  sf_zone_offset (zone, at), around);
                compared++;
            }
        }
        previous = expected;
    }
    return compared;
}

//  Every file under dir (a path below the zoneinfo root) that is a zone:
//  compared over two centuries, each offset change to the second.
static void
s_sweep (const char *dir, size_t *zones, size_t *compared)
{
    char path [1024];
    snprintf (path, sizeof path, "%s%s%s", S_ZONEINFO, *dir? "/": "", dir);
    DIR *handle = opendir (path);
    ck_assert_ptr_nonnull (handle);
    struct dirent *entry;
    while ((entry = readdir (handle))) {
        const char *name = entry->d_name;
        //  Not zones: tables, the leap-second lists, and the trees of
        //  copies (posix/) and of leap-second zones (right/)
        if (name [0] == '.' || strchr (name, '.') || strcmp (name, "leapseconds") == 0
        ||  (!*dir && (strcmp (name, "posix") == 0 || strcmp (name, "right") == 0)))
            continue;
        char zone_name [512], file [1536];
        snprintf (zone_name, sizeof zone_name, "%s%s%s", dir, *dir? "/": "", name);
        snprintf (file, sizeof file, "%s/%s", S_ZONEINFO, zone_name);
        struct stat status;
        ck_assert_int_eq (stat (file, &status), 0);
        if (S_ISDIR (status.st_mode)) {
            s_sweep (zone_name, zones, compared);
            continue;
        }
        sf_error_t error;
        sf_zone_t *zone = sf_zone_new (zone_name, &error);
        ck_assert_msg (zone, "%s refused: %s", zone_name, error.message);
        ck_assert_str_eq (sf_zone_name (zone), zone_name);
        *compared += s_compare (zone, zone_name, S_SWEEP_FROM, S_SWEEP_TO, 13 * 86400 + 3607);
        sf_zone_destroy (&zone);
        (*zones)++;
    }
    closedir (handle);
}

START_TEST (test_every_zone)
{
    size_t zones = 0, compared = 0;
    s_sweep ("", &zones, &compared);
    //  Debian's tzdata has about 600 zones and links
    ck_assert_int_ge (zones, 300);
    ck_assert_int_ge (compared, zones * 5000);
    unsetenv ("TZ");
}
END_TEST

//  A version 2 TZif image without transitions whose footer is rule, so
//  that the rule alone decides every offset. The caller frees it.
static uint8_t *
s_image (const char *rule, size_t *size)
{
    //  Header (44), one type (6), designation "ZZZ\0" (4), twice; footer
    size_t block = 44 + 6 + 4;
    *size = 2 * block + strlen (rule) + 2;
    uint8_t *data = calloc (1, *size);
    for (int copy = 0; copy < 2; copy++) {
        uint8_t *header = data + copy * block;
        memcpy (header, "TZif2", 5);
        header [39] = 1;            //  typecnt
        header [43] = 4;            //  charcnt
        memcpy (header + 44 + 6, "ZZZ", 4);
    }
    data [2 * block] = '\n';
    memcpy (data + 2 * block + 1, rule, strlen (rule));
    data [*size - 1] = '\n';
    return data;
}

//  POSIX TZ rules in a footer: offsets as glibc gives them for the same
//  string in TZ, hour by hour over four years and at every change
static const char *s_rules [] = {
    "EST5EDT,M3.2.0,M11.1.0",
    "GMT0BST,M3.5.0/1,M10.5.0",
    "CET-1CEST,M3.5.0,M10.5.0/3",
    //  Southern hemisphere: daylight time across the new year, 30 minutes
    "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
    "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
    //  Negative daylight saving (Eire) and negative change times
    "IST-1GMT0,M10.5.0,M3.5.0/1",
    "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
    //  Change times beyond a day (Israel, Egypt): RFC 8536's extension
    "IST-2IDT,M3.4.4/26,M10.5.0",
    "EET-2EEST,M4.5.5/0,M10.5.4/24",
    //  Julian days without and with February 29
    "AAA3BBB,J60/2,J300/2",
    "AAA-3BBB,59/2,299/2:30:15",
    //  No daylight time
    "<+0330>-3:30",
    "UTC0",
};

START_TEST (test_rules)
{
    const char *rule = s_rules [_i];
    size_t size;
    uint8_t *data = s_image (rule, &size);
    sf_error_t error;
    sf_zone_t *zone = sf_zone_decode ("rule", data, size, &error);
    ck_assert_msg (zone, "%s refused: %s", rule, error.message);
    //  2023-01-01 to 2027-01-01, 2024 a leap year
    s_compare (zone, rule, 1672531200, 1798761600, 3600);
    //  Far from the file's data the rule still holds
    s_compare (zone, rule, 4102444800LL, 4102444800LL + 366 * 86400, 6 * 3600 + 7);
    sf_zone_destroy (&zone);
    free (data);
    unsetenv ("TZ");
}
END_TEST

static size_t
s_u32 (const uint8_t *data)
{
    return (size_t) data [0] << 24 | (size_t) data [1] << 16 | (size_t) data [2] << 8 | data [3];
}

//  Daylight time all year, as RFC 8536 3.3.1 defines it: starting on
//  January 1 at 00:00 and ending on December 31 at 24:00 plus the
//  difference, it leaves no standard time. (glibc gives standard time for
//  the hours between the UTC new year and the local one instead.)
START_TEST (test_all_year)
{
    size_t size;
    uint8_t *data = s_image ("EST5EDT,0/0,J365/25", &size);
    sf_error_t error;
    sf_zone_t *zone = sf_zone_decode ("rule", data, size, &error);
    ck_assert_ptr_nonnull (zone);
    //  2023-01-01T00:00:00Z, then every 61 minutes to 2027
    for (int64_t instant = 1672531200; instant < 1798761600; instant += 3660)
        if (sf_zone_offset (zone, instant) != -4 * 3600)
            ck_abort_msg ("standard time at %lld", (long long) instant);
    sf_zone_destroy (&zone);
    free (data);
}
END_TEST

//  Malformed files and names are refused with their reason; none is read
//  beyond its size (ASan would see it)
START_TEST (test_refused)
{
    sf_error_t error;
    const char *unknown [] = { "Mars/Olympus", "../etc/passwd", "/etc/passwd", "",
                               "Europe", "Europe/London/x", "a b" };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown [0]; i++) {
        ck_assert_ptr_null (sf_zone_new (unknown [i], &error));
        ck_assert_str_eq (error.code, "BAD_INPUT");
        ck_assert_msg (strstr (error.message, "unknown time zone"), "%s: %s", unknown [i],
                       error.message);
    }
    //  A file of the database that is no zone
    ck_assert_ptr_null (sf_zone_new ("leapseconds", &error));
    ck_assert_ptr_nonnull (strstr (error.message, "not a TZif file"));

    FILE *file = fopen (S_ZONEINFO "/Europe/London", "rb");
    ck_assert_ptr_nonnull (file);
    uint8_t london [8192];
    size_t size = fread (london, 1, sizeof london, file);
    fclose (file);
    ck_assert_int_gt (size, 1000);
    sf_zone_t *zone = sf_zone_decode ("London", london, size, &error);
    ck_assert_ptr_nonnull (zone);
    sf_zone_destroy (&zone);

    //  Every cut is refused (the footer's last newline included)
    for (size_t cut = 0; cut < size; cut++) {
        uint8_t *copy = malloc (cut + 1);
        memcpy (copy, london, cut);
        ck_assert_msg (!sf_zone_decode ("London", copy, cut, &error), "%zu bytes accepted", cut);
        free (copy);
    }
    uint8_t copy [8192];
    //  Where the 64-bit header starts: after the version 1 block
    size_t v1 = 44 + s_u32 (london + 32) * 5 + s_u32 (london + 36) * 6 + s_u32 (london + 40)
              + s_u32 (london + 28) * 8 + s_u32 (london + 24) + s_u32 (london + 20);
    ck_assert_int_eq (memcmp (london + v1, "TZif", 4), 0);
    //  A type index beyond the types (the first 64-bit transition's)
    memcpy (copy, london, size);
    copy [v1 + 44 + s_u32 (london + v1 + 32) * 8] = 200;
    ck_assert_ptr_null (sf_zone_decode ("London", copy, size, &error));
    ck_assert_ptr_nonnull (strstr (error.message, "local time type that does not exist"));
    //  Transitions out of order
    memcpy (copy, london, size);
    memcpy (copy + v1 + 44 + 8, copy + v1 + 44, 8);
    ck_assert_ptr_null (sf_zone_decode ("London", copy, size, &error));
    ck_assert_ptr_nonnull (strstr (error.message, "out of order"));
    //  A count that promises more than there is
    memcpy (copy, london, size);
    copy [v1 + 32] = 0x7f;
    ck_assert_ptr_null (sf_zone_decode ("London", copy, size, &error));
    ck_assert_ptr_nonnull (strstr (error.message, "cut short"));
    //  Leap seconds
    memcpy (copy, london, size);
    copy [31] = 1;
    ck_assert_ptr_null (sf_zone_decode ("London", copy, size, &error));
    ck_assert_ptr_nonnull (strstr (error.message, "leap seconds"));

    //  Footers that are not TZ rules
    const char *footers [] = { "GMT", "GMT0BST", "GMT0BST,M3.5.0", "GMT0BST,M13.5.0,M10.5.0",
                               "GMT0BST,M3.6.0,M10.5.0", "GMT0BST,M3.5.7,M10.5.0",
                               "GMT0BST,J0,J300", "GMT0BST,366,300", "GMT25",
                               "GMT0BST,M3.5.0/168,M10.5.0", "<AB>0", "GMT0BST,M3.5.0,M10.5.0x",
                               "GMT0:60" };
    for (size_t i = 0; i < sizeof footers / sizeof footers [0]; i++) {
        uint8_t *data = s_image (footers [i], &size);
        ck_assert_msg (!sf_zone_decode ("rule", data, size, &error), "accepted \"%s\"",
                       footers [i]);
        ck_assert_ptr_nonnull (strstr (error.message, "malformed TZ string"));
        free (data);
    }
}
END_TEST

//  UTC needs no database; a zone is read without TZ being looked at or
//  changed
START_TEST (test_without_tz)
{
    setenv ("TZ", "Asia/Tokyo", 1);
    sf_error_t error;
    sf_zone_t *zone = sf_zone_new ("America/New_York", &error);
    ck_assert_ptr_nonnull (zone);
    //  2026-07-01T12:00:00Z: daylight time, -4 h
    ck_assert_int_eq (sf_zone_offset (zone, 1782907200), -4 * 3600);
    ck_assert_str_eq (getenv ("TZ"), "Asia/Tokyo");
    sf_zone_destroy (&zone);
    sf_zone_destroy (&zone);

    setenv ("TZDIR", "/nonexistent", 1);
    zone = sf_zone_new ("UTC", &error);
    ck_assert_ptr_nonnull (zone);
    ck_assert_int_eq (sf_zone_offset (zone, 1782907200), 0);
    ck_assert_int_eq (sf_zone_offset (zone, INT64_MIN), 0);
    ck_assert_int_eq (sf_zone_offset (zone, INT64_MAX), 0);
    sf_zone_destroy (&zone);
    ck_assert_ptr_null (sf_zone_new ("Europe/London", &error));
    unsetenv ("TZDIR");
    unsetenv ("TZ");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_zone");
    TCase *tc = tcase_create ("glibc");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_every_zone);
    tcase_add_loop_test (tc, test_rules, 0, (int) (sizeof s_rules / sizeof s_rules [0]));
    suite_add_tcase (suite, tc);

    tc = tcase_create ("refused");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, test_all_year);
    tcase_add_test (tc, test_refused);
    tcase_add_test (tc, test_without_tz);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
