/*  =========================================================================
    fuzz_zone - fuzz target for TZif files (sf_zone)

    The input is a TZif file. Either it is refused with a message, or it
    is accepted and every offset it gives, from the far past to the far
    future and around each of its transitions, lies within ±25:59:59. A
    broken promise aborts; an over-read shows under ASan.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_zone.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_zone: %s:%d: broken promise: %s\n",         \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
s_check_offset (const sf_zone_t *zone, int64_t instant)
{
    int32_t offset = sf_zone_offset (zone, instant);
    S_REQUIRE (offset >= -93599 && offset <= 93599);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    sf_error_t error;
    error.message [0] = 0;
    sf_zone_t *zone = sf_zone_decode ("fuzz", data, size, &error);
    if (!zone) {
        S_REQUIRE (strcmp (error.code, "BAD_INPUT") == 0);
        S_REQUIRE (strncmp (error.message, "time zone fuzz: ", 16) == 0);
        return 0;
    }
    S_REQUIRE (strcmp (sf_zone_name (zone), "fuzz") == 0);
    const int64_t instants [] = { INT64_MIN, -(1LL << 60), -2208988800LL, -1, 0, 1,
                                  1774746000, 2147483647LL, 4102444800LL, 1LL << 40,
                                  1LL << 60, INT64_MAX };
    for (size_t i = 0; i < sizeof instants / sizeof instants [0]; i++)
        s_check_offset (zone, instants [i]);
    //  Every day of 2026 and of 2100 (the footer's rule after the data)
    for (int64_t day = 0; day < 366; day++) {
        s_check_offset (zone, 1767225600 + day * 86400 + day * 37);
        s_check_offset (zone, 4102444800LL + day * 86400 + day * 37);
    }
    sf_zone_destroy (&zone);
    return 0;
}
