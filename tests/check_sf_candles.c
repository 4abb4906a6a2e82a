/*  =========================================================================
    check_sf_candles - the columnar candle series: CSV files with their
    errors by line, numbers read bit for bit as strtod reads them, time
    stamps, windows, and the wire form
    ========================================================================= */

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sf_candles.h"
#include "suite.h"

//  Path of a file in the project's data/ directory (static buffer).
static const char *
s_data (const char *name)
{
    static char path [512];
    const char *src = getenv ("SHEAF_SRC");
    snprintf (path, sizeof path, "%s/data/%s", src? src: ".", name);
    return path;
}

//  Write text to a temporary CSV file; returns its path (static buffer).
static const char *
s_csv (const char *text)
{
    static char path [64];
    snprintf (path, sizeof path, "/tmp/sheaf-candles-XXXXXX");
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    return path;
}

START_TEST (test_load_sample)
{
    sf_error_t error;
    sf_candles_t *goog = sf_candles_load_csv (s_data ("GOOG_1d.csv"), &error);
    ck_assert_msg (goog, "%s", error.message);
    ck_assert_uint_eq (goog->size, 1047);
    //  2004-08-19T00:00:00Z,100.0,104.06,95.96,100.34,22351900
    ck_assert (goog->ts [0] == 1092873600000.0);
    ck_assert (goog->open [0] == 100.0 && goog->high [0] == 104.06);
    ck_assert (goog->low [0] == 95.96 && goog->close [0] == 100.34);
    ck_assert (goog->volume [0] == 22351900.0);
    ck_assert (goog->ts [1] - goog->ts [0] == 86400000.0);
    sf_candles_destroy (&goog);
    ck_assert_ptr_null (goog);
}
END_TEST

START_TEST (test_time_forms)
{
    double ms;
    ck_assert_int_eq (sf_candles_parse_time ("1970-01-01T00:00:00Z", &ms), 0);
    ck_assert (ms == 0);
    ck_assert_int_eq (sf_candles_parse_time ("2024-01-01T00:01:00.250Z", &ms), 0);
    ck_assert (ms == 1704067260250.0);
    ck_assert_int_eq (sf_candles_parse_time ("1704067260250", &ms), 0);
    ck_assert (ms == 1704067260250.0);
    ck_assert_int_eq (sf_candles_parse_time ("2024-01-01T00:00:00+00:00", &ms), 0);
    //  The ISO-8601 forms of a job's "from" and "to" (sf_time) read alike here
    ck_assert_int_eq (sf_candles_parse_time ("2024-01-01 00:00:00", &ms), 0);
    ck_assert (ms == 1704067200000.0);
    ck_assert_int_eq (sf_candles_parse_time ("2024-01-01T01:00:00+01:00", &ms), 0);
    ck_assert (ms == 1704067200000.0);
    ck_assert_int_eq (sf_candles_parse_time ("2024-01-01", &ms), 0);
    ck_assert (ms == 1704067200000.0);
    ck_assert_int_eq (sf_candles_parse_time ("2024-02-30T00:00:00Z", &ms), -1);
    ck_assert_int_eq (sf_candles_parse_time ("yesterday", &ms), -1);
    ck_assert_int_eq (sf_candles_parse_time ("", &ms), -1);
}
END_TEST

//  Each malformed file is refused with the right line named.
//  True when a and b are the same double, bit for bit.
static bool
s_same_bits (double a, double b)
{
    return memcmp (&a, &b, sizeof a) == 0;
}

//  Every number of the sample files, and random decimal strings of every
//  shape the fast path takes or declines, read bit for bit as strtod does.
START_TEST (test_numbers_as_strtod)
{
    static const char *files [] = { "GOOG_1d.csv", "SYNTH_1m.csv", "EDGE_1m.csv" };
    size_t checked = 0;
    for (size_t f = 0; f < 3; f++) {
        FILE *file = fopen (s_data (files [f]), "r");
        ck_assert_ptr_nonnull (file);
        char line [512];
        ck_assert_ptr_nonnull (fgets (line, sizeof line, file));
        while (fgets (line, sizeof line, file)) {
            line [strcspn (line, "\r\n")] = 0;
            char *field = strchr (line, ',');   //  After ts
            while (field) {
                field++;
                size_t size = strcspn (field, ",");
                char copy [64];
                memcpy (copy, field, size);
                copy [size] = 0;
                double fast;
                ck_assert_int_eq (sf_candles_parse_number (field, size, &fast), 0);
                ck_assert_msg (s_same_bits (fast, strtod (copy, NULL)), "%s", copy);
                checked++;
                field = strchr (field, ',');
            }
        }
        fclose (file);
    }
    ck_assert_uint_gt (checked, 1000);

    //  Random decimals: 1-22 digits, the point anywhere or nowhere, signs,
    //  and now and then an exponent or a stray character
    srand (7);
    for (int i = 0; i < 1000000; i++) {
        char text [48];
        size_t size = 0;
        if (rand () % 4 == 0)
            text [size++] = '-';
        int digits = 1 + rand () % 22;
        int point = rand () % (digits + 2) - 1;         //  -1: none
        for (int d = 0; d < digits; d++) {
            if (d == point)
                text [size++] = '.';
            //  Long runs of nines and zeros sit next to rounding boundaries
            int kind = rand () % 8;
            text [size++] = kind == 0? '9': kind == 1? '0': (char) ('0' + rand () % 10);
        }
        if (rand () % 50 == 0)
            size += (size_t) snprintf (text + size, sizeof text - size, "e%d", rand () % 40 - 20);
        if (rand () % 100 == 0)
            text [size++] = 'x';
        text [size] = 0;
        char *stop;
        double expected = strtod (text, &stop);
        bool good = stop != text && *stop == 0 && isfinite (expected);
        double fast;
        int rc = sf_candles_parse_number (text, size, &fast);
        ck_assert_msg (rc == (good? 0: -1), "%s: %d", text, rc);
        if (good)
            ck_assert_msg (s_same_bits (fast, expected), "%s: %.17g, strtod %.17g", text,
                           fast, expected);
    }
    //  Numbers end where they are told to, not at a terminator
    double value;
    ck_assert_int_eq (sf_candles_parse_number ("12.5,7", 4, &value), 0);
    ck_assert (value == 12.5);
    ck_assert_int_eq (sf_candles_parse_number ("", 0, &value), -1);
    ck_assert_int_eq (sf_candles_parse_number ("-", 1, &value), -1);
    ck_assert_int_eq (sf_candles_parse_number ("1.5\0" "9", 5, &value), -1);
}
END_TEST

START_TEST (test_malformed_rows)
{
    static const struct {
        const char *text;
        const char *message;
    } cases [] = {
        { "ts,open,high,low,close\n", "line 1: the header" },
        { "", "the file is empty" },
        { "ts,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n2000,1,2,0.5\n",
          "line 3: fewer than 6 fields" },
        { "ts,open,high,low,close,volume\n1000,1,2,0.5,1.5,10,7\n", "line 2: more than 6 fields" },
        { "ts,open,high,low,close,volume\n1000,1,2,abc,1.5,10\n", "line 2: a price" },
        { "ts,open,high,low,close,volume\n1000,1,2,nan,1.5,10\n", "line 2: a price" },
        { "ts,open,high,low,close,volume\n1000,1,2,inf,1.5,10\n", "line 2: a price" },
        { "ts,open,high,low,close,volume\n2024-13-01T00:00:00Z,1,2,0.5,1.5,10\n", "line 2: ts" },
        { "ts,open,high,low,close,volume\n2000,1,2,0.5,1.5,10\n2000,1,2,0.5,1.5,10\n",
          "line 3: ts is not after" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        const char *path = s_csv (cases [i].text);
        sf_error_t error;
        sf_candles_t *candles = sf_candles_load_csv (path, &error);
        ck_assert_msg (!candles, "case %zu accepted", i);
        ck_assert_str_eq (error.code, "BAD_INPUT");
        ck_assert_msg (strstr (error.message, cases [i].message) && strstr (error.message, path),
                       "case %zu: \"%s\" lacks \"%s\"", i, error.message, cases [i].message);
        unlink (path);
    }
    sf_error_t error;
    ck_assert_ptr_null (sf_candles_load_csv ("/nonexistent/X_1d.csv", &error));
    ck_assert_str_eq (error.code, "DATA_FETCH");
    ck_assert_msg (strstr (error.message, "/nonexistent/X_1d.csv"), "%s", error.message);
}
END_TEST

START_TEST (test_window)
{
    sf_candles_t *candles = sf_candles_new (0);
    for (int i = 0; i < 200; i++)       //  Beyond the first reserve of 64
        sf_candles_append (candles, 1000.0 * i, i, i + 1, i - 1, i + 0.5, 10 * i);
    ck_assert_uint_eq (candles->size, 200);
    sf_candles_window (candles, 10000, 99000, 0);
    ck_assert_uint_eq (candles->size, 90);
    ck_assert (candles->ts [0] == 10000 && candles->close [0] == 10.5);
    sf_candles_window (candles, NAN, NAN, 5);
    ck_assert_uint_eq (candles->size, 5);
    ck_assert (candles->ts [0] == 95000 && candles->volume [4] == 990);
    sf_candles_window (candles, 200000, NAN, 0);
    ck_assert_uint_eq (candles->size, 0);
    sf_candles_destroy (&candles);
}
END_TEST

//  Pack a series (or the given raw map) and unpack it.
static sf_candles_t *
s_round_trip (const sf_candles_t *candles, sf_error_t *error)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_candles_pack (candles, &pk);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&unpacked, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    //  Six columns of 8 bytes a value, plus small headers
    ck_assert_uint_le (buffer.size, 48 * candles->size + 64);
    sf_candles_t *copy = sf_candles_unpack (&unpacked.data, error);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    return copy;
}

START_TEST (test_wire_round_trip)
{
    sf_error_t error;
    sf_candles_t *goog = sf_candles_load_csv (s_data ("GOOG_1d.csv"), &error);
    ck_assert_ptr_nonnull (goog);
    sf_candles_t *copy = s_round_trip (goog, &error);
    ck_assert_msg (copy, "%s", error.message);
    ck_assert_uint_eq (copy->size, goog->size);
    ck_assert (memcmp (copy->close, goog->close, goog->size * 8) == 0);
    ck_assert (memcmp (copy->ts, goog->ts, goog->size * 8) == 0);
    ck_assert (memcmp (copy->volume, goog->volume, goog->size * 8) == 0);
    sf_candles_destroy (&copy);

    //  A non-finite value or a ts going back is refused, naming the row
    goog->close [7] = NAN;
    ck_assert_ptr_null (s_round_trip (goog, &error));
    ck_assert_str_eq (error.message, "candles \"close\" row 7 is not a finite number");
    goog->close [7] = 1;
    goog->ts [9] = goog->ts [8];
    ck_assert_ptr_null (s_round_trip (goog, &error));
    ck_assert_str_eq (error.message, "candles \"ts\" row 9 is not after row 8");
    sf_candles_destroy (&goog);
}
END_TEST

START_TEST (test_wire_malformed)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    //  volume has one value fewer than the other columns
    static const char *names [] = { "ts", "open", "high", "low", "close", "volume" };
    double values [3] = { 1, 2, 3 };
    msgpack_pack_map (&pk, 6);
    for (int i = 0; i < 6; i++) {
        msgpack_pack_str (&pk, strlen (names [i]));
        msgpack_pack_str_body (&pk, names [i], strlen (names [i]));
        size_t bytes = i == 5? 16: 24;
        msgpack_pack_bin (&pk, bytes);
        msgpack_pack_bin_body (&pk, values, bytes);
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&unpacked, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_error_t error;
    ck_assert_ptr_null (sf_candles_unpack (&unpacked.data, &error));
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, "\"volume\""), "%s", error.message);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_candles");
    TCase *tc = tcase_create ("candles");
    tcase_set_timeout (tc, 20);
    tcase_add_test (tc, test_load_sample);
    tcase_add_test (tc, test_time_forms);
    tcase_add_test (tc, test_malformed_rows);
    tcase_add_test (tc, test_numbers_as_strtod);
    tcase_add_test (tc, test_window);
    tcase_add_test (tc, test_wire_round_trip);
    tcase_add_test (tc, test_wire_malformed);
    suite_add_tcase (suite, tc);
    return suite_run (suite);
}
