/*  =========================================================================
    check_sf_cron - schedule expressions: next fire times against a table
    of hand-computed expectations (month ends, leap years, Vixie day
    semantics, DST in three zones), zones used from several threads at
    once, and parse errors with their columns
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "sf_cron.h"

//  An expression, its zone, a start instant and the fire times that
//  follow, written in the zone's local time with its offset. Every
//  expectation was worked out by hand from a calendar and the zone's
//  rules (zdump confirms the 2026 transitions).
typedef struct {
    const char *expression;
    const char *zone;
    const char *after;
    const char *expected [8];
} s_case_t;

static const s_case_t s_cases [] = {
    //  Weekdays at 06:00 from a Sunday
    { "0 6 * * 1-5", NULL, "2026-03-29T00:00:00Z",
      { "2026-03-30T06:00:00Z", "2026-03-31T06:00:00Z", "2026-04-01T06:00:00Z",
        "2026-04-02T06:00:00Z", "2026-04-03T06:00:00Z", "2026-04-06T06:00:00Z" } },
    { "*/15 * * * *", NULL, "2026-01-01T00:07:00Z",
      { "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
        "2026-01-01T01:00:00Z" } },
    { "0 8-18/4 * * *", NULL, "2026-01-01T00:00:00Z",
      { "2026-01-01T08:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T16:00:00Z",
        "2026-01-02T08:00:00Z" } },
    //  The 31st skips the months without one
    { "0 0 31 * *", NULL, "2026-01-31T00:00:00Z",
      { "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
        "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z" } },
    //  L: the last day of each month, February included
    { "0 0 L * *", NULL, "2026-01-01T00:00:00Z",
      { "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z",
        "2026-04-30T00:00:00Z" } },
    { "0 0 L 2 *", NULL, "2027-03-01T00:00:00Z",
      { "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z" } },
    //  Leap days only; 2100 is not a leap year
    { "0 0 29 2 *", NULL, "2025-01-01T00:00:00Z",
      { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z" } },
    { "0 12 29 FEB *", NULL, "2096-03-01T00:00:00Z",
      { "2104-02-29T12:00:00Z" } },
    //  Vixie: both day fields restricted, either matches (April 13th 2026
    //  is a Monday, the Fridays are the 3rd, 10th, 17th and 24th)
    { "0 0 13 * FRI", NULL, "2026-04-01T00:00:00Z",
      { "2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z", "2026-04-13T00:00:00Z",
        "2026-04-17T00:00:00Z", "2026-04-24T00:00:00Z", "2026-05-01T00:00:00Z" } },
    //  Vixie: a day-of-month starting with '*' makes both required (odd
    //  days that are Mondays)
    { "0 0 */2 * MON", NULL, "2026-04-01T00:00:00Z",
      { "2026-04-13T00:00:00Z", "2026-04-27T00:00:00Z", "2026-05-11T00:00:00Z",
        "2026-05-25T00:00:00Z" } },
    //  Seconds field, names in either case, 7 as Sunday
    { "*/20 * * * * *", NULL, "2026-01-01T00:00:50Z",
      { "2026-01-01T00:01:00Z", "2026-01-01T00:01:20Z", "2026-01-01T00:01:40Z" } },
    { "30 9 * JAN,jul sun", NULL, "2026-06-30T00:00:00Z",
      { "2026-07-05T09:30:00Z", "2026-07-12T09:30:00Z", "2026-07-19T09:30:00Z",
        "2026-07-26T09:30:00Z", "2027-01-03T09:30:00Z" } },
    { "0 0 * * 7", NULL, "2026-04-01T00:00:00Z",
      { "2026-04-05T00:00:00Z", "2026-04-12T00:00:00Z" } },
    { "0 0 1 * MON-WED/2", NULL, "2026-06-01T00:00:00Z",
      { "2026-06-03T00:00:00Z", "2026-06-08T00:00:00Z", "2026-06-10T00:00:00Z" } },
    //  Macros
    { "@yearly", NULL, "2026-05-05T00:00:00Z", { "2027-01-01T00:00:00Z" } },
    { "@monthly", NULL, "2026-01-31T12:00:00Z", { "2026-02-01T00:00:00Z" } },
    { "@weekly", NULL, "2026-04-01T00:00:00Z", { "2026-04-05T00:00:00Z" } },
    { "@daily", NULL, "2026-12-31T23:59:59Z", { "2027-01-01T00:00:00Z" } },
    { "@hourly", NULL, "2026-01-01T10:00:00Z",
      { "2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z" } },
    //  @every counts from the epoch, whatever the zone
    { "@every 1h30m", "Europe/London", "2026-01-01T00:00:00Z",
      { "2026-01-01T01:30:00+00:00", "2026-01-01T03:00:00+00:00" } },
    { "@every 30s", NULL, "2026-01-01T00:00:10Z",
      { "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z" } },
    { "@every 1s", NULL, "2026-01-01T00:00:00Z",
      { "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z" } },

    //  Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST; 01:30 does not
    //  exist and fires at 02:00 BST
    { "30 1 * * *", "Europe/London", "2026-03-28T00:00:00Z",
      { "2026-03-28T01:30:00+00:00", "2026-03-29T02:00:00+01:00",
        "2026-03-30T01:30:00+01:00" } },
    //  Every gap time lands on the same instant and fires once
    { "*/30 * * * *", "Europe/London", "2026-03-29T00:00:00Z",
      { "2026-03-29T00:30:00+00:00", "2026-03-29T02:00:00+01:00",
        "2026-03-29T02:30:00+01:00" } },
    //  2026-10-25 02:00 BST -> 01:00 GMT; 01:30 happens twice, fires once
    { "30 1 * * *", "Europe/London", "2026-10-24T00:00:00Z",
      { "2026-10-24T01:30:00+01:00", "2026-10-25T01:30:00+01:00",
        "2026-10-26T01:30:00+00:00" } },
    { "*/30 * * * *", "Europe/London", "2026-10-25T00:00:00Z",
      { "2026-10-25T01:30:00+01:00", "2026-10-25T02:00:00+00:00",
        "2026-10-25T02:30:00+00:00" } },
    //  Starting inside the repeated hour: its times already fired
    { "*/30 * * * *", "Europe/London", "2026-10-25T01:10:00Z",
      { "2026-10-25T02:00:00+00:00" } },

    //  America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT
    { "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
      { "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00" } },
    //  2026-11-01 02:00 EDT -> 01:00 EST
    { "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
      { "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00" } },
    { "0 * * * *", "America/New_York", "2026-11-01T04:30:00Z",
      { "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00" } },
    { "0 6 * * 1-5", "America/New_York", "2026-03-06T00:00:00Z",
      { "2026-03-06T06:00:00-05:00", "2026-03-09T06:00:00-04:00" } },

    //  Australia/Lord_Howe shifts by 30 minutes: 2026-04-05 02:00 +11:00
    //  -> 01:30 +10:30 (01:30-02:00 twice)
    { "45 1 * * *", "Australia/Lord_Howe", "2026-04-03T00:00:00Z",
      { "2026-04-04T01:45:00+11:00", "2026-04-05T01:45:00+11:00",
        "2026-04-06T01:45:00+10:30" } },
    //  2026-10-04 02:00 +10:30 -> 02:30 +11:00 (02:00-02:30 missing)
    { "15 2 * * *", "Australia/Lord_Howe", "2026-10-02T00:00:00Z",
      { "2026-10-03T02:15:00+10:30", "2026-10-04T02:30:00+11:00",
        "2026-10-05T02:15:00+11:00" } },
    { "*/10 2 4 10 *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z",
      { "2026-10-04T02:30:00+11:00", "2026-10-04T02:40:00+11:00",
        "2026-10-04T02:50:00+11:00", "2027-10-04T02:00:00+11:00" } },
};

#define S_CASES (sizeof s_cases / sizeof s_cases [0])

START_TEST (test_next_table)
{
    const s_case_t *test = &s_cases [_i];
    sf_error_t error;
    int column;
    sf_cron_t *cron = sf_cron_new (test->expression, test->zone, &error, &column);
    ck_assert_msg (cron, "%s: %s", test->expression, error.message);
    int64_t instant;
    ck_assert_int_eq (sf_cron_parse_time (test->after, &instant), 0);
    for (int i = 0; i < 8 && test->expected [i]; i++) {
        instant = sf_cron_next (cron, instant);
        char text [64];
        sf_cron_format (instant, sf_cron_zone (cron), text, sizeof text);
        ck_assert_msg (strcmp (text, test->expected [i]) == 0, "\"%s\" %s after %s, fire %d: %s, expected %s",
                       test->expression, sf_cron_zone (cron), test->after, i, text,
                       test->expected [i]);
        //  The formatted time parses back to the same instant
        int64_t back;
        ck_assert_int_eq (sf_cron_parse_time (text, &back), 0);
        ck_assert_int_eq (back, instant);
    }
    sf_cron_destroy (&cron);
    ck_assert_ptr_null (cron);
}
END_TEST

//  Across whole years of DST changes, hourly fires strictly increase and
//  never come closer than the hour the clock fell back
START_TEST (test_next_increases)
{
    const char *zones [] = { "Europe/London", "America/New_York", "Australia/Lord_Howe",
                             "UTC" };
    for (size_t z = 0; z < sizeof zones / sizeof zones [0]; z++) {
        sf_error_t error;
        int column;
        sf_cron_t *cron = sf_cron_new ("17 * * * *", zones [z], &error, &column);
        ck_assert_ptr_nonnull (cron);
        int64_t instant;
        ck_assert_int_eq (sf_cron_parse_time ("2026-01-01T00:00:00Z", &instant), 0);
        size_t fires = 0;
        for (int i = 0; i < 24 * 366; i++) {
            int64_t next = sf_cron_next (cron, instant);
            ck_assert_int_gt (next, instant);
            ck_assert_int_le (next - instant, 7200);
            instant = next;
            fires++;
        }
        ck_assert_int_eq (fires, 24 * 366);
        sf_cron_destroy (&cron);
    }
}
END_TEST

//  Mistakes and the column each is reported at
typedef struct {
    const char *expression;
    const char *zone;
    int column;
    const char *message;        //  A part of the message
} s_bad_t;

static const s_bad_t s_bad [] = {
    { "61 * * * *", NULL, 1, "minute: 61 is out of range 0-59" },
    { "0 6 * * 1-9", NULL, 11, "day-of-week: 9 is out of range 0-7" },
    { "0 0 * FOO *", NULL, 7, "month: \"FOO\" is not a number or a name" },
    { "0 24 * * *", NULL, 3, "hour: 24 is out of range 0-23" },
    { "0 0 0 * *", NULL, 5, "day-of-month: 0 is out of range 1-31" },
    { "* * *", NULL, 6, "3 fields" },
    { "* * * * * * *", NULL, 13, "too many fields" },
    { "0 0 30 2 *", NULL, 5, "no such day" },
    { "@every 10x", NULL, 10, "unit" },
    { "@every", NULL, 7, "@every needs a duration" },
    { "@every 0s", NULL, 8, "at least 1s" },
    { "@every 400d", NULL, 8, "longer than 366 days" },
    { "@fortnightly", NULL, 1, "unknown macro" },
    { "@daily 5", NULL, 8, "unexpected text after @daily" },
    { "*/0 * * * *", NULL, 3, "step must be a number 1-60" },
    { "5-1 * * * *", NULL, 1, "runs backwards" },
    { "1,,2 * * * *", NULL, 3, "empty list element" },
    { "1, * * * *", NULL, 2, "list ends with" },
    { "0 0 L * MON,L", NULL, 13, "day-of-week" },
    { "1x * * * *", NULL, 2, "unexpected \"x\"" },
    { "0 0 * * *", "Mars/Olympus", 1, "unknown time zone \"Mars/Olympus\"" },
    { "0 0 * * *", "../etc/passwd", 1, "unknown time zone" },
};

#define S_BAD (sizeof s_bad / sizeof s_bad [0])

START_TEST (test_bad_expressions)
{
    const s_bad_t *test = &s_bad [_i];
    sf_error_t error;
    int column = 0;
    sf_cron_t *cron = sf_cron_new (test->expression, test->zone, &error, &column);
    ck_assert_msg (!cron, "\"%s\" was accepted", test->expression);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, test->message), "\"%s\": message \"%s\" lacks \"%s\"",
                   test->expression, error.message, test->message);
    ck_assert_msg (column == test->column, "\"%s\": column %d, expected %d (%s)",
                   test->expression, column, test->column, error.message);
}
END_TEST

START_TEST (test_times)
{
    int64_t instant;
    ck_assert_int_eq (sf_cron_parse_time ("2026-03-29T00:00:00Z", &instant), 0);
    ck_assert_int_eq (instant, 1774742400);
    ck_assert_int_eq (sf_cron_parse_time ("2026-03-29T02:00:00+01:00", &instant), 0);
    ck_assert_int_eq (instant, 1774746000);
    ck_assert_int_eq (sf_cron_parse_time ("2026-03-29T02:00:00-04:30", &instant), 0);
    ck_assert_int_eq (instant, 1774742400 + 6 * 3600 + 1800);
    ck_assert_int_eq (sf_cron_parse_time ("2026-03-29", &instant), 0);
    ck_assert_int_eq (instant, 1774742400);
    const char *bad [] = { "", "2026-02-30T00:00:00Z", "2026-03-29T24:00:00Z",
                           "2026-03-29T00:00:00", "2026-03-29T00:00:00+1", "yesterday",
                           "2026-03-29T00:00:00Zjunk", "1969-12-31T00:00:00Z" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        ck_assert_msg (sf_cron_parse_time (bad [i], &instant) == -1, "accepted \"%s\"", bad [i]);
    char text [64];
    ck_assert_str_eq (sf_cron_format (1774742400, NULL, text, sizeof text),
                      "2026-03-29T00:00:00Z");
    ck_assert_str_eq (sf_cron_format (1774742400, "Australia/Lord_Howe", text, sizeof text),
                      "2026-03-29T11:00:00+11:00");
    ck_assert_str_eq (sf_cron_format (1774742400, "America/New_York", text, sizeof text),
                      "2026-03-28T20:00:00-04:00");
}
END_TEST

//  Threads computing in four zones at once get what each gets alone: no
//  zone is process-wide state
#define S_THREADS 4
#define S_FIRES 400

typedef struct {
    const char *zone;           //  The thread's zone
    int64_t fires [S_FIRES];    //  Its fire times
} s_thread_t;

static void *
s_thread (void *arg)
{
    s_thread_t *thread = (s_thread_t *) arg;
    sf_error_t error;
    int column;
    sf_cron_t *cron = sf_cron_new ("30 1-3 * * *", thread->zone, &error, &column);
    int64_t instant = 1774742400;       //  2026-03-29, DST in Europe
    for (int i = 0; i < S_FIRES; i++)
        thread->fires [i] = instant = sf_cron_next (cron, instant);
    sf_cron_destroy (&cron);
    return NULL;
}

START_TEST (test_threads)
{
    const char *zones [S_THREADS] = { "Europe/London", "America/New_York",
                                      "Australia/Lord_Howe", "Asia/Kolkata" };
    static s_thread_t alone [S_THREADS], together [S_THREADS];
    for (int t = 0; t < S_THREADS; t++) {
        alone [t].zone = together [t].zone = zones [t];
        s_thread (&alone [t]);
    }
    for (int round = 0; round < 5; round++) {
        pthread_t threads [S_THREADS];
        for (int t = 0; t < S_THREADS; t++)
            ck_assert_int_eq (pthread_create (&threads [t], NULL, s_thread, &together [t]), 0);
        for (int t = 0; t < S_THREADS; t++)
            pthread_join (threads [t], NULL);
        for (int t = 0; t < S_THREADS; t++)
            ck_assert_msg (memcmp (alone [t].fires, together [t].fires,
                                   sizeof alone [t].fires) == 0,
                           "%s: other threads changed its fire times", zones [t]);
    }
    //  Alone, the zones differ as they should: 01:30 on March 30th in
    //  London and in New York are five hours apart (the fourth firing:
    //  London's first is in its spring gap, mapped to 01:00 UTC)
    ck_assert_int_eq (alone [0].fires [0], 1774746000);
    ck_assert_int_eq (alone [1].fires [3] - alone [0].fires [3], 5 * 3600);
}
END_TEST

//  The caller's TZ is never looked at or changed
START_TEST (test_zone_restored)
{
    setenv ("TZ", "Asia/Tokyo", 1);
    sf_error_t error;
    int column;
    sf_cron_t *cron = sf_cron_new ("0 0 * * *", "America/New_York", &error, &column);
    ck_assert_ptr_nonnull (cron);
    ck_assert_int_gt (sf_cron_next (cron, 1774742400), 1774742400);
    ck_assert_str_eq (getenv ("TZ"), "Asia/Tokyo");
    ck_assert_str_eq (sf_cron_zone (cron), "America/New_York");
    ck_assert_str_eq (sf_cron_text (cron), "0 0 * * *");
    sf_cron_destroy (&cron);
    unsetenv ("TZ");
    cron = sf_cron_new ("0 0 * * *", NULL, &error, &column);
    ck_assert_int_eq (sf_cron_next (cron, 1774742400), 1774742400 + 86400);
    ck_assert_ptr_null (getenv ("TZ"));
    ck_assert_str_eq (sf_cron_zone (cron), "UTC");
    sf_cron_destroy (&cron);
    sf_cron_destroy (&cron);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_cron");
    TCase *tc = tcase_create ("next");
    tcase_set_timeout (tc, 30);
    tcase_add_loop_test (tc, test_next_table, 0, (int) S_CASES);
    tcase_add_test (tc, test_next_increases);
    tcase_add_test (tc, test_threads);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("parse");
    tcase_set_timeout (tc, 10);
    tcase_add_loop_test (tc, test_bad_expressions, 0, (int) S_BAD);
    tcase_add_test (tc, test_times);
    tcase_add_test (tc, test_zone_restored);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
