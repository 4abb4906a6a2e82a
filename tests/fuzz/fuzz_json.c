/*  =========================================================================
    fuzz_json - fuzz target for the JSON edge (sf_job_from_json) and the
    msgpack-to-JSON bridge (sf_json)

    The input is read twice. As text, it is a job a user wrote: a job
    sf_job_from_json accepts must print as JSON that parses back to the
    same job, and its packed form must pass the broker's own check
    (sf_codec_job_check) — the edge may not let through what the wire
    refuses. As bytes, it is a sequence of msgpack values: each value the
    checker accepts must decode, convert to valid JSON, and convert back
    and forth again to the same text. A broken promise aborts.
    ========================================================================= */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_job.h"
#include "sf_json.h"
#include "sf_mp.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_json: %s:%d: broken promise: %s\n",         \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  --------------------------------------------------------------------------
//  The input as a job in JSON.

static void
s_check_job_text (const char *text)
{
    sf_error_t error = { "", "" };
    sf_job_t *job = sf_job_from_json (text, &error);
    if (!job) {
        S_REQUIRE (strcmp (error.code, "BAD_INPUT") == 0);
        S_REQUIRE (strnlen (error.message, sizeof error.message) < sizeof error.message);
        return;
    }
    //  Printed, it parses back to the same job
    char *json = sf_job_json (job);
    S_REQUIRE (json != NULL);
    sf_job_t *again = sf_job_from_json (json, &error);
    S_REQUIRE (again != NULL);
    char *json2 = sf_job_json (again);
    S_REQUIRE (json2 != NULL && strcmp (json, json2) == 0);
    free (json);
    free (json2);
    sf_job_destroy (&again);

    //  Packed, the broker accepts it with the same analyzer
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_job_pack (job, &pk);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = NULL;
    //  Whatever the JSON edge accepts, the wire takes and the broker accepts
    S_REQUIRE (sf_mp_next (&unpacked, buffer.data, buffer.size, &offset, &object,
                           NULL, NULL, &why) == 0);
    sf_jobspec_t spec;
    S_REQUIRE (sf_codec_job_check (&object, &spec, &error) == 0);
    const char *analyzer = sf_job_analyzer (job);
    S_REQUIRE (spec.analyzer_size == strlen (analyzer)
               && memcmp (spec.analyzer, analyzer, spec.analyzer_size) == 0);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    sf_job_destroy (&job);
}

//  --------------------------------------------------------------------------
//  The input as msgpack values, converted to JSON.

//  JSON text of value: the caller frees it.
static char *
s_text_of_json (const json_t *value)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_json_pack (&pk, value);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = NULL;
    char *text = NULL;
    if (sf_mp_next (&unpacked, buffer.data, buffer.size, &offset, &object,
                    NULL, NULL, &why) == 0)
        text = sf_json_text (&object);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    return text;
}

static void
s_check_values (const uint8_t *data, size_t size)
{
    const char *body = (const char *) data;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    for (int values = 0; values < 1000; values++) {
        msgpack_object object;
        const char *raw, *why = NULL;
        size_t raw_size;
        size_t before = offset;
        int rc = sf_mp_next (&unpacked, body, size, &offset, &object, &raw, &raw_size, &why);
        if (rc == 1)
            break;
        if (rc == -1) {
            S_REQUIRE (why != NULL && offset == before);
            break;
        }
        S_REQUIRE (raw == body + before && offset == before + raw_size);
        S_REQUIRE (sf_mp_check (raw, raw_size, &why) == raw_size);
        char *text = sf_json_text (&object);
        S_REQUIRE (text != NULL);
        json_error_t jerror;
        json_t *value = json_loads (text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerror);
        if (!value)
            fprintf (stderr, "fuzz_json: not JSON: %s (%s)\n", text, jerror.text);
        S_REQUIRE (value != NULL);
        //  Once converted, back and forth again changes nothing
        char *again = s_text_of_json (value);
        if (!again) {
            //  The JSON holds a "" key that packs to a NULL-pointer key
            json_decref (value);
            free (text);
            continue;
        }
        if (strcmp (text, again) != 0)
            fprintf (stderr, "fuzz_json: %s became %s\n", text, again);
        S_REQUIRE (strcmp (text, again) == 0);
        free (again);
        json_decref (value);
        free (text);
    }
    msgpack_unpacked_destroy (&unpacked);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    if (!text)
        abort ();
    if (size)
        memcpy (text, data, size);
    text [size] = 0;
    s_check_job_text (text);
    free (text);
    s_check_values (data, size);
    return 0;
}
