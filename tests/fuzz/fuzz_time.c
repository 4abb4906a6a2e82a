/*  =========================================================================
    fuzz_time - fuzz target for sf_time_parse, the reader of a job's "from"
    and "to"

    The input is the text, passed with its exact size (no NUL). Refused, the
    output is untouched. Accepted, the instant lies between 0000-01-01
    minus the largest offset and 9999-12-31T23:59:59.999 plus it; written
    back in the canonical form YYYY-MM-DDTHH:MM:SS.mmmZ (with calendar
    arithmetic of its own, not the parser's) it reads to the same instant;
    without an offset the text begins with the same date, hour and minute
    as that form; and the broker's wire check accepts the same text as a
    job's "from". A broken promise aborts.
    ========================================================================= */

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_time.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_time: %s:%d: broken promise: %s\n",         \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define S_DAY_MS 86400000LL
#define S_OFFSET_MS (14 * 3600000LL + 59 * 60000LL)
#define S_FIRST_MS (-62167219200000LL)      //  0000-01-01T00:00:00Z
#define S_LAST_MS (253402300799999LL)       //  9999-12-31T23:59:59.999Z

//  Write ms as YYYY-MM-DDTHH:MM:SS.mmmZ, counting days in 400-year cycles and
//  then year by year from 0000-01-01 (plain, unlike the parser's era
//  arithmetic).
static void
s_format (int64_t ms, char *out, size_t size)
{
    int64_t since = ms - S_FIRST_MS;      //  ms since 0000-01-01, never negative here
    int64_t days = since / S_DAY_MS;
    int64_t rest = since % S_DAY_MS;
    //  Every 400 years hold 146097 days
    int year = (int) (days / 146097) * 400;
    days %= 146097;
    for (;;) {
        int length = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0? 366: 365;
        if (days < length)
            break;
        days -= length;
        year++;
    }
    static const int month_days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int month = 0;
    for (;;) {
        int length = month_days [month]
                   + (month == 1 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0));
        if (days < length)
            break;
        days -= length;
        month++;
    }
    snprintf (out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month + 1,
              (int) days + 1, (int) (rest / 3600000), (int) (rest / 60000 % 60),
              (int) (rest / 1000 % 60), (int) (rest % 1000));
}

//  The broker's job check on {"analyzer": "echo", "from": <text>}.
static int
s_wire_check (const uint8_t *data, size_t size)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "analyzer", 8);
    msgpack_pack_str_with_body (&pk, "echo", 4);
    msgpack_pack_str_with_body (&pk, "from", 4);
    msgpack_pack_str_with_body (&pk, data, size);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    S_REQUIRE (msgpack_unpack_next (&unpacked, buffer.data, buffer.size, NULL)
               == MSGPACK_UNPACK_SUCCESS);
    sf_jobspec_t spec;
    sf_error_t error;
    int rc = sf_codec_job_check (&unpacked.data, &spec, &error);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    int64_t ms = 0x5eed;
    int rc = sf_time_parse ((const char *) data, size, &ms);
    S_REQUIRE (rc == 0 || rc == -1);
    S_REQUIRE (s_wire_check (data, size) == rc);
    if (rc == -1) {
        S_REQUIRE (ms == 0x5eed);
        return 0;
    }
    S_REQUIRE (ms >= S_FIRST_MS - S_OFFSET_MS && ms <= S_LAST_MS + S_OFFSET_MS);
    if (ms >= S_FIRST_MS && ms <= S_LAST_MS) {
        char canonical [40];
        s_format (ms, canonical, sizeof canonical);
        int64_t back = 0;
        S_REQUIRE (sf_time_parse (canonical, strlen (canonical), &back) == 0);
        S_REQUIRE (back == ms);
        //  Without an offset the text names the same day, hour and minute
        //  as the canonical form, so a day that does not exist cannot have
        //  been read as its neighbour
        if (!memchr (data + 10, '+', size - 10) && !memchr (data + 10, '-', size - 10)) {
            S_REQUIRE (memcmp (canonical, data, 10) == 0);
            S_REQUIRE (size == 10 || memcmp (canonical + 11, data + 11, 5) == 0);
        }
    }
    return 0;
}
