/*  =========================================================================
    check_sf_time - tests of sf_time, the ISO-8601 reader of a job's "from"
    and "to"

    Every form the README and docs/PROTOCOL.md promise reads to the exact
    epoch millisecond (values worked out apart from the parser, with
    Python's datetime); dates that do not exist, fields out of range, bad
    offsets and anything after the time are refused. The JSON edge
    (sf_job_from_json) and the broker's wire check (sf_codec_job_check)
    accept and refuse exactly the same texts, with BAD_INPUT naming the
    field and the accepted forms.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <msgpack.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_time.h"

//  Parse a C string.
static int
s_parse (const char *text, int64_t *ms)
{
    return sf_time_parse (text, strlen (text), ms);
}

//  Forms that are accepted, and the instant each names.
static const struct {
    const char *text;
    int64_t ms;
} s_valid [] = {
    //  Date only: midnight UTC
    { "2024-01-31", 1706659200000LL },
    { "1970-01-01", 0 },
    //  'T', 't' or a space; with or without seconds
    { "2024-01-31T09:30", 1706693400000LL },
    { "2024-01-31t09:30", 1706693400000LL },
    { "2024-01-31 09:30", 1706693400000LL },
    { "2024-01-31T09:30:15", 1706693415000LL },
    { "2024-01-31T09:30:15Z", 1706693415000LL },
    { "2024-01-31T09:30:15z", 1706693415000LL },
    { "2024-01-31 09:30:15Z", 1706693415000LL },
    { "2024-01-31T09:30Z", 1706693400000LL },
    //  Fractions: the first three digits are the milliseconds
    { "2024-01-31T09:30:15.25Z", 1706693415250LL },
    { "2024-01-31T09:30:15.250Z", 1706693415250LL },
    { "2024-01-31T09:30:15.2Z", 1706693415200LL },
    { "2024-01-31T09:30:15.2509Z", 1706693415250LL },
    { "2024-01-31T09:30:15.999999999Z", 1706693415999LL },
    { "2024-01-31T09:30:15.250", 1706693415250LL },
    //  Offsets east and west, in each of their forms
    { "2024-01-31T09:30:00+02:00", 1706686200000LL },
    { "2024-01-31T09:30:00+0200", 1706686200000LL },
    { "2024-01-31T09:30:00+02", 1706686200000LL },
    { "2024-01-31T09:30+02:00", 1706686200000LL },
    { "2024-01-31T09:30:00-05", 1706711400000LL },
    { "2024-01-31T09:30:00-05:00", 1706711400000LL },
    { "2024-01-31T09:30:00+05:45", 1706672700000LL },
    { "2024-01-31T09:30:00+00:00", 1706693400000LL },
    { "2024-01-31T09:30:00-00:00", 1706693400000LL },
    { "2024-01-31T09:30:00+14:00", 1706693400000LL - 14 * 3600000LL },
    { "2024-01-31T09:30:00.500+01:00", 1706689800500LL },
    //  An offset that crosses midnight and the year
    { "2025-01-01T00:30:00+01:00", 1735687800000LL },
    //  Leap days, month ends, far years
    { "2024-02-29", 1709164800000LL },
    { "2000-02-29", 951782400000LL },
    { "2024-12-31T23:59:59Z", 1735689599000LL },
    { "1969-12-31T23:59:59.999Z", -1 },
    { "1900-03-01", -2203891200000LL },
    { "0001-01-01", -62135596800000LL },
    { "0000-01-01", -62167219200000LL },
    { "9999-12-31T23:59:59.999Z", 253402300799999LL },
};

START_TEST (test_valid_forms)
{
    for (size_t i = 0; i < sizeof s_valid / sizeof s_valid [0]; i++) {
        int64_t ms = 42;
        ck_assert_msg (s_parse (s_valid [i].text, &ms) == 0, "refused \"%s\"", s_valid [i].text);
        ck_assert_msg (ms == s_valid [i].ms, "\"%s\" read as %lld, want %lld", s_valid [i].text,
                       (long long) ms, (long long) s_valid [i].ms);
    }
}
END_TEST

//  Texts that are refused, each for one reason.
static const char *s_invalid [] = {
    "", "yesterday", "now", "today", "2024", "2024-01", "2024-1-31", "24-01-31",
    "20240131", "2024/01/31", "1706659200000", "-1",
    //  Dates that do not exist
    "2024-02-30", "2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10",
    "2024-01-00", "2024-01-32",
    //  Times out of range
    "2024-01-31T24:00", "2024-01-31T24:00:00Z", "2024-01-31T23:60", "2024-01-31T23:59:60Z",
    "2024-01-31T9:30", "2024-01-31T09:3", "2024-01-31T09", "2024-01-31T", "2024-01-31 ",
    "2024-01-31T09:30:5", "2024-01-31T09:30:15.", "2024-01-31T09:30:15.Z",
    "2024-01-31T09:30:15.1234567890Z", "2024-01-31T09:30:15,250Z",
    //  Zones
    "2024-01-31Z", "2024-01-31+02:00", "2024-01-31T09:30:00+15:00", "2024-01-31T09:30:00+24",
    "2024-01-31T09:30:00+02:60", "2024-01-31T09:30:00+2", "2024-01-31T09:30:00+02:0",
    "2024-01-31T09:30:00+02:", "2024-01-31T09:30:00+020", "2024-01-31T09:30:00+02:00:00",
    "2024-01-31T09:30:00 +02:00", "2024-01-31T09:30:00UTC", "2024-01-31T09:30:00ZZ",
    "2024-01-31T09:30:00+", "2024-01-31T09:30:00Z+01",
    //  Trailing and leading junk
    "2024-01-31T09:30:00Zjunk", "2024-01-31x", "2024-01-31T09:30:00Z ", " 2024-01-31",
    "2024-01-31\n", "2024-01-31T09:30:00.250Zs", "+2024-01-31", "2024-01-31T09:30:00\t",
};

START_TEST (test_invalid_forms)
{
    for (size_t i = 0; i < sizeof s_invalid / sizeof s_invalid [0]; i++) {
        int64_t ms = 42;
        ck_assert_msg (s_parse (s_invalid [i], &ms) == -1, "accepted \"%s\"", s_invalid [i]);
        ck_assert_msg (ms == 42, "\"%s\" wrote *ms though refused", s_invalid [i]);
    }
}
END_TEST

//  The size given is what is read: no NUL needed, bytes after it unseen,
//  and a NUL inside the text refused.
START_TEST (test_sized)
{
    int64_t ms;
    const char *text = "2024-01-31T09:30:00Zjunk";
    ck_assert_int_eq (sf_time_parse (text, 20, &ms), 0);
    ck_assert_int_eq (ms, 1706693400000LL);
    ck_assert_int_eq (sf_time_parse (text, 10, &ms), 0);
    ck_assert_int_eq (ms, 1706659200000LL);
    ck_assert_int_eq (sf_time_parse (text, 9, &ms), -1);
    ck_assert_int_eq (sf_time_parse (text, 0, &ms), -1);
    ck_assert_int_eq (sf_time_parse ("2024-01-31\0T09:30", 16, &ms), -1);
    ck_assert_int_eq (sf_time_parse (NULL, 0, &ms), -1);
}
END_TEST

//  Every day of four years, one of them a leap year, read as a date and
//  as a date-time with an offset, steps by exactly one day.
START_TEST (test_every_day)
{
    static const int days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t expect = 1672531200000LL;       //  2023-01-01
    for (int year = 2023; year <= 2026; year++)
        for (int month = 1; month <= 12; month++) {
            int last = days [month - 1] + (month == 2 && year % 4 == 0);
            for (int day = 1; day <= last; day++) {
                char text [64];
                int64_t ms;
                snprintf (text, sizeof text, "%04d-%02d-%02d", year, month, day);
                ck_assert_msg (s_parse (text, &ms) == 0, "refused %s", text);
                ck_assert_msg (ms == expect, "%s read as %lld", text, (long long) ms);
                snprintf (text, sizeof text, "%04d-%02d-%02dT01:00:00+01:00", year, month, day);
                ck_assert_msg (s_parse (text, &ms) == 0 && ms == expect, "%s", text);
                expect += 86400000LL;
            }
            //  The day after the month's last does not exist
            char text [64];
            snprintf (text, sizeof text, "%04d-%02d-%02d", year, month, last + 1);
            int64_t ms;
            ck_assert_msg (s_parse (text, &ms) == -1, "accepted %s", text);
        }
}
END_TEST

//  --------------------------------------------------------------------------
//  The edges that use it.

//  The JSON edge's answer for a job with "from" set to value (JSON text):
//  0 when accepted, else -1 with error.
static int
s_json_job (const char *value, sf_error_t *error)
{
    char text [256];
    snprintf (text, sizeof text, "{\"analyzer\":\"echo\",\"from\":%s}", value);
    sf_job_t *job = sf_job_from_json (text, error);
    if (!job)
        return -1;
    sf_job_destroy (&job);
    return 0;
}

//  The wire check's answer for a job map with "to" set to the str value.
static int
s_wire_job (const char *value, size_t size, sf_error_t *error)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "analyzer", 8);
    msgpack_pack_str_with_body (&pk, "echo", 4);
    msgpack_pack_str_with_body (&pk, "to", 2);
    msgpack_pack_str_with_body (&pk, value, size);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    ck_assert_int_eq (msgpack_unpack_next (&unpacked, buffer.data, buffer.size, NULL),
                      MSGPACK_UNPACK_SUCCESS);
    sf_jobspec_t spec;
    int rc = sf_codec_job_check (&unpacked.data, &spec, error);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

START_TEST (test_edges_agree)
{
    sf_error_t error;
    for (size_t i = 0; i < sizeof s_valid / sizeof s_valid [0]; i++) {
        char json [128];
        snprintf (json, sizeof json, "\"%s\"", s_valid [i].text);
        ck_assert_msg (s_json_job (json, &error) == 0, "%s: %s", json, error.message);
        ck_assert_msg (s_wire_job (s_valid [i].text, strlen (s_valid [i].text), &error) == 0,
                       "%s: %s", s_valid [i].text, error.message);
    }
    for (size_t i = 0; i < sizeof s_invalid / sizeof s_invalid [0]; i++) {
        char json [128];
        //  JSON-escape the few control characters the list holds
        snprintf (json, sizeof json, "\"%s\"", s_invalid [i]);
        for (char *c = json; *c; c++)
            if (*c == '\n' || *c == '\t')
                *c = '?';
        ck_assert_msg (s_json_job (json, &error) == -1, "JSON edge accepted %s", json);
        ck_assert_str_eq (error.code, "BAD_INPUT");
        ck_assert_msg (s_wire_job (s_invalid [i], strlen (s_invalid [i]), &error) == -1,
                       "wire check accepted \"%s\"", s_invalid [i]);
        ck_assert_str_eq (error.code, "BAD_INPUT");
    }
}
END_TEST

//  The message names the field and the forms that would be accepted.
START_TEST (test_error_message)
{
    sf_error_t error;
    ck_assert_int_eq (s_json_job ("\"yesterday\"", &error), -1);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_str_eq (error.message, "\"from\" must be " SF_TIME_FORMS);
    ck_assert_int_eq (s_wire_job ("yesterday", 9, &error), -1);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_str_eq (error.message, "\"to\" must be " SF_TIME_FORMS);
    ck_assert_ptr_nonnull (strstr (error.message, "2024-01-31T09:30:00+02:00"));
    ck_assert_ptr_nonnull (strstr (error.message, "epoch milliseconds"));
    //  Epoch milliseconds are an integer, never a number in a string nor a
    //  negative one nor a real
    ck_assert_int_eq (s_json_job ("1706659200000", &error), 0);
    ck_assert_int_eq (s_json_job ("0", &error), 0);
    ck_assert_int_eq (s_json_job ("\"1706659200000\"", &error), -1);
    ck_assert_int_eq (s_json_job ("-1", &error), -1);
    ck_assert_int_eq (s_json_job ("1.5", &error), -1);
    ck_assert_int_eq (s_json_job ("null", &error), -1);
    //  A follow-up's time is checked the same way, under its prefix
    sf_job_t *job = sf_job_from_json ("{\"analyzer\":\"echo\",\"then\":{\"analyzer\":\"echo\","
                                      "\"to\":\"2024-02-30\"}}", &error);
    ck_assert_ptr_null (job);
    ck_assert_str_eq (error.message, "\"then\": \"to\" must be " SF_TIME_FORMS);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_time");
    TCase *tc = tcase_create ("parse");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_valid_forms);
    tcase_add_test (tc, test_invalid_forms);
    tcase_add_test (tc, test_sized);
    tcase_add_test (tc, test_every_day);
    suite_add_tcase (suite, tc);
    tc = tcase_create ("edges");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_edges_agree);
    tcase_add_test (tc, test_error_message);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
