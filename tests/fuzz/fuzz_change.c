/*  =========================================================================
    fuzz_change - fuzz target for the change notifications a worker reads
    from PostgreSQL (sf_change_parse: the payloads of channel sheaf_candles)

    The input is a payload as libpq hands it over (a C string: cut at its
    first NUL). Besides not crashing, leaking or reading out of bounds:

    - what cannot be read is a change to everything, never nothing;
    - a change that names a symbol names one a job could name, and its ts
      is unknown (NAN) or a finite number.

    Seeds: tests/fuzz/corpus/fuzz_change/, payloads as the trigger of
    deploy/sql/002_candles_notify.sql sends them.
    ========================================================================= */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_source.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_change: %s:%d: broken promise: %s\n",       \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *payload = (char *) malloc (size + 1);
    if (!payload)
        abort ();
    memcpy (payload, data, size);
    payload [size] = 0;
    sf_change_t change;
    int rc = sf_change_parse (payload, &change);
    S_REQUIRE (rc >= -1 && rc <= 1);
    if (rc < 0)
        S_REQUIRE (change.all);
    if (rc == 0 && !change.all) {
        S_REQUIRE (strlen (change.symbol) <= SF_NAME_MAX);
        S_REQUIRE (strlen (change.timeframe) <= SF_TIMEFRAME_MAX);
        S_REQUIRE (isnan (change.ts_ms) || isfinite (change.ts_ms));
    }
    free (payload);
    return 0;
}
