/*  =========================================================================
    check_sf_job - tests of sf_job, a job as the C API and the CLI build it

    The JSON edge must apply the same rules as the broker's wire check
    (sf_codec_job_check): whatever sf_job_from_json or the setters accept
    must pack to a job map the broker accepts with the same values, and
    whatever they refuse is refused with BAD_INPUT naming the field.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_candles.h"
#include "sf_codec.h"
#include "sf_job.h"
#include "sf_mp.h"

#define S_ASSERT_CONTAINS(text, part)                                          \
    ck_assert_msg ((text) && strstr ((text), (part)) != NULL,                  \
                   "\"%s\" does not contain \"%s\"", (text)? (text): "(null)", (part))

//  --------------------------------------------------------------------------
//  Pack a job and run the broker's check on the packed form. Returns the
//  check's code; *spec is filled on success (its strings are copied into
//  the caller's analyzer buffer, as the packed form is freed here).

static int
s_wire_check (sf_job_t *job, sf_jobspec_t *spec, char analyzer [SF_NAME_MAX + 1],
              sf_error_t *error)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_job_pack (job, &pk);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = "";
    ck_assert_msg (sf_mp_next (&unpacked, buffer.data, buffer.size, &offset, &object,
                               NULL, NULL, &why) == 0, "packed job does not decode: %s", why);
    ck_assert_uint_eq (offset, buffer.size);
    int rc = sf_codec_job_check (&object, spec, error);
    if (rc == 0) {
        ck_assert_uint_le (spec->analyzer_size, SF_NAME_MAX);
        memcpy (analyzer, spec->analyzer, spec->analyzer_size);
        analyzer [spec->analyzer_size] = 0;
        spec->analyzer = analyzer;
        spec->key = NULL;           //  Pointed into the freed buffer
    }
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  True when two JSON texts hold equal values.
static bool
s_json_equal (const char *a, const char *b)
{
    json_t *x = json_loads (a, JSON_DECODE_ANY, NULL);
    json_t *y = json_loads (b, JSON_DECODE_ANY, NULL);
    bool equal = x && y && json_equal (x, y);
    json_decref (x);
    json_decref (y);
    return equal;
}

//  --------------------------------------------------------------------------
//  New jobs.

START_TEST (test_new)
{
    sf_job_t *job = sf_job_new ("sma");
    ck_assert_ptr_nonnull (job);
    ck_assert_str_eq (sf_job_analyzer (job), "sma");
    char *json = sf_job_json (job);
    ck_assert_str_eq (json, "{\"analyzer\":\"sma\"}");
    free (json);
    sf_job_destroy (&job);
    ck_assert_ptr_null (job);
    sf_job_destroy (&job);              //  No-op on NULL
    sf_job_destroy (NULL);
}
END_TEST

START_TEST (test_new_invalid_names)
{
    char long_name [66];
    memset (long_name, 'a', 65);
    long_name [65] = 0;
    const char *names [] = { "", "SMA", "s ma", "sma/1", "\xc3\xa9", long_name };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        ck_assert_msg (sf_job_new (names [i]) == NULL, "\"%s\" accepted", names [i]);
    ck_assert_ptr_null (sf_job_new (NULL));
    long_name [64] = 0;
    sf_job_t *job = sf_job_new (long_name);
    ck_assert_ptr_nonnull (job);
    sf_job_destroy (&job);
}
END_TEST

//  --------------------------------------------------------------------------
//  From JSON.

static const char *s_full_json =
    "{\"analyzer\":\"rsi\",\"symbol\":\"AAPL\",\"timeframe\":\"1d\","
    "\"params\":{\"period\":14,\"source\":\"close\",\"weights\":[0.5,1.5]},"
    "\"priority\":7,\"timeout_ms\":4294967295,\"retries\":0,\"key\":\"order-42\"}";

START_TEST (test_from_json_valid)
{
    sf_error_t error = { "", "" };
    sf_job_t *job = sf_job_from_json (s_full_json, &error);
    ck_assert_msg (job != NULL, "refused: %s", error.message);
    ck_assert_str_eq (sf_job_analyzer (job), "rsi");
    //  The JSON form keeps the fields, their values and their order
    char *json = sf_job_json (job);
    ck_assert_str_eq (json, s_full_json);
    free (json);

    //  And the broker reads the same values from the wire form
    sf_jobspec_t spec;
    char analyzer [SF_NAME_MAX + 1];
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    ck_assert_str_eq (analyzer, "rsi");
    ck_assert_int_eq (spec.priority, 7);
    ck_assert_uint_eq (spec.timeout_ms, UINT32_MAX);
    ck_assert_uint_eq (spec.retries, 0);
    ck_assert_uint_eq (spec.key_size, 8);
    sf_job_destroy (&job);
}
END_TEST

START_TEST (test_json_round_trip)
{
    sf_error_t error;
    sf_job_t *job = sf_job_from_json (s_full_json, &error);
    char *first = sf_job_json (job);
    sf_job_t *again = sf_job_from_json (first, &error);
    ck_assert_ptr_nonnull (again);
    char *second = sf_job_json (again);
    ck_assert_str_eq (first, second);
    free (first);
    free (second);
    sf_job_destroy (&job);
    sf_job_destroy (&again);

    //  Reals survive exactly (17 significant digits)
    job = sf_job_from_json ("{\"analyzer\":\"x\",\"params\":{\"a\":0.1,\"b\":1e-300,"
                            "\"c\":-2.5e+300,\"d\":9007199254740993}}", &error);
    ck_assert_ptr_nonnull (job);
    first = sf_job_json (job);
    json_t *value = json_loads (first, 0, NULL);
    json_t *params = json_object_get (value, "params");
    ck_assert (json_real_value (json_object_get (params, "a")) == 0.1);
    ck_assert (json_real_value (json_object_get (params, "b")) == 1e-300);
    ck_assert (json_real_value (json_object_get (params, "c")) == -2.5e300);
    ck_assert (json_integer_value (json_object_get (params, "d")) == 9007199254740993LL);
    json_decref (value);
    free (first);
    sf_job_destroy (&job);
}
END_TEST

START_TEST (test_set_then)
{
    //  A copy of the follow-up as it is when set, candles included; the
    //  wire form passes the broker's check, nested candles as columns
    sf_job_t *job = sf_job_new ("echo");
    sf_job_t *next = sf_job_new ("sma");
    sf_job_set_param (next, "period", "2");
    double ts [] = { 1, 2 }, v [] = { 1.5, 2.5 };
    ck_assert_int_eq (sf_job_set_candles (next, ts, v, v, v, v, v, 2), 0);
    ck_assert_int_eq (sf_job_set_then (job, next), 0);
    sf_job_set_param (next, "period", "3");             //  Not seen by job
    char *text = sf_job_json (job);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    json_t *then = json_object_get (value, "then");
    ck_assert_str_eq (json_string_value (json_object_get (then, "analyzer")), "sma");
    ck_assert_int_eq (json_integer_value (json_object_get (json_object_get (then, "params"),
                                                           "period")), 2);
    ck_assert_int_eq (json_array_size (json_object_get (json_object_get (then, "candles"),
                                                        "ts")), 2);
    json_decref (value);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_job_pack (job, &pk);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = "";
    ck_assert_int_eq (sf_mp_next (&unpacked, buffer.data, buffer.size, &offset, &object,
                                  NULL, NULL, &why), 0);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&object, &spec, &error), 0);
    ck_assert_ptr_nonnull (spec.then);
    const msgpack_object *candles = sf_mp_get (spec.then, "candles");
    ck_assert_ptr_nonnull (candles);
    ck_assert_int_eq (sf_mp_get (candles, "ts")->type, MSGPACK_OBJECT_BIN);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);

    //  A follow-up with a key, or a chain deeper than eight, is refused
    sf_job_t *keyed = sf_job_new ("echo");
    sf_job_set_key (keyed, "k");
    ck_assert_int_eq (sf_job_set_then (job, keyed), -1);
    sf_job_t *chain = sf_job_new ("echo");
    for (int depth = 1; depth <= 8; depth++) {
        sf_job_t *outer = sf_job_new ("echo");
        ck_assert_int_eq (sf_job_set_then (outer, chain), 0);
        sf_job_destroy (&chain);
        chain = outer;
    }
    ck_assert_int_eq (sf_job_set_then (job, chain), -1);     //  Nine deep
    ck_assert_int_eq (sf_job_set_then (job, NULL), -1);
    sf_job_destroy (&chain);
    sf_job_destroy (&keyed);
    sf_job_destroy (&next);
    sf_job_destroy (&job);
}
END_TEST

//  Defaults are the broker's, not written into the job.
START_TEST (test_from_json_minimal)
{
    sf_error_t error;
    sf_job_t *job = sf_job_from_json ("  {\"analyzer\" : \"echo\"}\n", &error);
    ck_assert_ptr_nonnull (job);
    char *json = sf_job_json (job);
    ck_assert_str_eq (json, "{\"analyzer\":\"echo\"}");
    free (json);
    sf_jobspec_t spec;
    char analyzer [SF_NAME_MAX + 1];
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    ck_assert_int_eq (spec.priority, 5);
    ck_assert_uint_eq (spec.timeout_ms, 30000);
    ck_assert_uint_eq (spec.retries, 3);
    sf_job_destroy (&job);
}
END_TEST

//  Text that is not a job, and what the error must say.
typedef struct {
    const char *json;           //  The text
    const char *message;        //  Part of the error message
} s_bad_t;

static const s_bad_t s_bad_jobs [] = {
    //  Not JSON, or not an object
    { "", "job is not valid JSON" },
    { "{\"analyzer\":\"x\"", "job is not valid JSON" },
    { "{analyzer: \"x\"}", "job is not valid JSON" },
    { "{\"analyzer\":\"x\"} trailing", "job is not valid JSON" },
    { "[\"analyzer\",\"x\"]", "a job must be a JSON object" },
    { "\"x\"", "job is not valid JSON" },       //  Jansson wants [ or { first
    { "42", "job is not valid JSON" },
    { "null", "job is not valid JSON" },
    //  Duplicate keys
    { "{\"analyzer\":\"x\",\"analyzer\":\"y\"}", "duplicate object key" },
    { "{\"analyzer\":\"x\",\"priority\":1,\"priority\":2}", "duplicate object key" },
    //  Missing or bad analyzer
    { "{}", "job has no \"analyzer\"" },
    { "{\"symbol\":\"A\"}", "job has no \"analyzer\"" },
    { "{\"analyzer\":\"\"}", "\"analyzer\" must be a name of 1-64 characters [a-z0-9_.-]" },
    { "{\"analyzer\":\"Echo\"}", "\"analyzer\" must be a name" },
    { "{\"analyzer\":1}", "\"analyzer\" must be a name" },
    { "{\"analyzer\":null}", "\"analyzer\" must be a name" },
    //  Unknown fields
    { "{\"analyzer\":\"x\",\"colour\":\"red\"}", "unknown job field \"colour\"" },
    { "{\"analyzer\":\"x\",\"Priority\":1}", "unknown job field \"Priority\"" },
    //  Types
    { "{\"analyzer\":\"x\",\"symbol\":1}", "\"symbol\" must be a string of 1-64 characters" },
    { "{\"analyzer\":\"x\",\"symbol\":\"\"}", "\"symbol\" must be a string of 1-64 characters" },
    { "{\"analyzer\":\"x\",\"timeframe\":[\"1d\"]}",
      "\"timeframe\" must be a string of 1-16 characters" },
    { "{\"analyzer\":\"x\",\"timeframe\":\"12345678901234567\"}",
      "\"timeframe\" must be a string of 1-16 characters" },
    { "{\"analyzer\":\"x\",\"key\":true}", "\"key\" must be a string of 1-256 characters" },
    { "{\"analyzer\":\"x\",\"params\":[1]}", "\"params\" must be an object" },
    { "{\"analyzer\":\"x\",\"params\":null}", "\"params\" must be an object" },
    { "{\"analyzer\":\"x\",\"priority\":\"5\"}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"priority\":5.0}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"retries\":false}", "\"retries\" must be an integer 0-100" },
    //  Ranges
    { "{\"analyzer\":\"x\",\"priority\":10}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"priority\":-1}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"timeout_ms\":0}", "\"timeout_ms\" must be an integer 1-4294967295" },
    { "{\"analyzer\":\"x\",\"timeout_ms\":4294967296}",
      "\"timeout_ms\" must be an integer 1-4294967295" },
    { "{\"analyzer\":\"x\",\"retries\":101}", "\"retries\" must be an integer 0-100" },
    { "{\"analyzer\":\"x\",\"retries\":-1}", "\"retries\" must be an integer 0-100" },
    //  Follow-ups: checked like jobs, the error behind its path
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"priority\":10}}",
      "\"then\": \"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"then\":{\"symbol\":\"A\"}}}",
      "\"then\": \"then\": job has no \"analyzer\"" },
    { "{\"analyzer\":\"x\",\"then\":\"echo\"}", "\"then\": a follow-up must be a job object" },
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"key\":\"k\"}}",
      "\"then\": a follow-up may not have a \"key\"" },
};
#define S_BAD_JOBS (sizeof s_bad_jobs / sizeof s_bad_jobs [0])

START_TEST (test_from_json_bad)
{
    const s_bad_t *bad = &s_bad_jobs [_i];
    sf_error_t error = { "", "" };
    sf_job_t *job = sf_job_from_json (bad->json, &error);
    ck_assert_msg (job == NULL, "%s: accepted", bad->json);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, bad->message) != NULL,
                   "%s: message \"%s\" lacks \"%s\"", bad->json, error.message, bad->message);
    //  Without an error struct it fails the same way
    ck_assert_ptr_null (sf_job_from_json (bad->json, NULL));
}
END_TEST

START_TEST (test_from_json_null_text)
{
    sf_error_t error = { "", "" };
    ck_assert_ptr_null (sf_job_from_json (NULL, &error));
    ck_assert_str_eq (error.code, "BAD_INPUT");
}
END_TEST

//  The longest values accepted at the edge are accepted on the wire too.
START_TEST (test_from_json_limits)
{
    char symbol [65], timeframe [17], key [257], text [600];
    memset (symbol, 'S', 64);
    symbol [64] = 0;
    memset (timeframe, 'T', 16);
    timeframe [16] = 0;
    memset (key, 'K', 256);
    key [256] = 0;
    snprintf (text, sizeof text,
              "{\"analyzer\":\"x\",\"symbol\":\"%s\",\"timeframe\":\"%s\",\"key\":\"%s\","
              "\"priority\":0,\"timeout_ms\":1,\"retries\":100}", symbol, timeframe, key);
    sf_error_t error = { "", "" };
    sf_job_t *job = sf_job_from_json (text, &error);
    ck_assert_msg (job != NULL, "refused: %s", error.message);
    sf_jobspec_t spec;
    char analyzer [SF_NAME_MAX + 1];
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    ck_assert_int_eq (spec.priority, 0);
    ck_assert_uint_eq (spec.timeout_ms, 1);
    ck_assert_uint_eq (spec.retries, 100);
    ck_assert_uint_eq (spec.key_size, 256);
    sf_job_destroy (&job);

    //  Lengths are bytes: 32 two-byte characters fill a 64-byte symbol
    snprintf (text, sizeof text, "{\"analyzer\":\"x\",\"symbol\":\"%s\"}",
              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    job = sf_job_from_json (text, &error);
    ck_assert_ptr_nonnull (job);
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    sf_job_destroy (&job);
    //  …and one more is too many
    snprintf (text, sizeof text, "{\"analyzer\":\"x\",\"symbol\":\"%sa\"}", symbol);
    ck_assert_ptr_null (sf_job_from_json (text, &error));
    S_ASSERT_CONTAINS (error.message, "\"symbol\"");
}
END_TEST

//  --------------------------------------------------------------------------
//  Setters: each accepts its range and refuses just outside it, leaving
//  the job as it was.

//  A range and a limit: ISO-8601 text or epoch milliseconds in digits.
START_TEST (test_set_range_and_limit)
{
    sf_job_t *job = sf_job_new ("sma");
    ck_assert_int_eq (sf_job_set_from (job, "2024-01-31"), 0);
    ck_assert_int_eq (sf_job_set_to (job, "1706745600000"), 0);
    ck_assert_int_eq (sf_job_set_limit (job, 10), 0);
    char *json = sf_job_json (job);
    ck_assert_str_eq (json, "{\"analyzer\":\"sma\",\"from\":\"2024-01-31\",\"to\":1706745600000,"
                            "\"limit\":10}");
    free (json);
    ck_assert_int_eq (sf_job_set_from (job, "2024-02-30"), -1);     //  No such day
    ck_assert_int_eq (sf_job_set_from (job, "yesterday"), -1);
    ck_assert_int_eq (sf_job_set_from (job, ""), -1);
    ck_assert_int_eq (sf_job_set_from (job, NULL), -1);
    ck_assert_int_eq (sf_job_set_to (job, "99999999999999999999999"), -1);
    ck_assert_int_eq (sf_job_set_limit (job, 0), -1);
    ck_assert_int_eq (sf_job_set_limit (job, 100000001), -1);
    sf_job_destroy (&job);
}
END_TEST

//  Every call takes a NULL job without crashing.
START_TEST (test_null_job)
{
    ck_assert_int_eq (sf_job_set_symbol (NULL, "GOOG"), -1);
    ck_assert_int_eq (sf_job_set_priority (NULL, 5), -1);
    ck_assert_int_eq (sf_job_set_from (NULL, "2024-01-31"), -1);
    ck_assert_int_eq (sf_job_set_limit (NULL, 5), -1);
    ck_assert_int_eq (sf_job_set_param (NULL, "x", "1"), -1);
    ck_assert_int_eq (sf_job_set_then (NULL, NULL), -1);
    double one = 1;
    ck_assert_int_eq (sf_job_set_candles (NULL, &one, &one, &one, &one, &one, &one, 1), -1);
    ck_assert_ptr_null (sf_job_analyzer (NULL));
    ck_assert_ptr_null (sf_job_json (NULL));
    sf_job_t *job = NULL;
    sf_job_destroy (&job);
    sf_job_destroy (NULL);
}
END_TEST

START_TEST (test_setters_ranges)
{
    sf_job_t *job = sf_job_new ("x");
    ck_assert_int_eq (sf_job_set_priority (job, 0), 0);
    ck_assert_int_eq (sf_job_set_priority (job, 9), 0);
    ck_assert_int_eq (sf_job_set_priority (job, 10), -1);
    ck_assert_int_eq (sf_job_set_priority (job, -1), -1);
    ck_assert_int_eq (sf_job_set_timeout (job, 1), 0);
    ck_assert_int_eq (sf_job_set_timeout (job, UINT32_MAX), 0);
    ck_assert_int_eq (sf_job_set_timeout (job, 0), -1);
    ck_assert_int_eq (sf_job_set_timeout (job, (int64_t) UINT32_MAX + 1), -1);
    ck_assert_int_eq (sf_job_set_timeout (job, -1), -1);
    ck_assert_int_eq (sf_job_set_retries (job, 0), 0);
    ck_assert_int_eq (sf_job_set_retries (job, 100), 0);
    ck_assert_int_eq (sf_job_set_retries (job, 101), -1);
    ck_assert_int_eq (sf_job_set_retries (job, -1), -1);

    char text [300];
    memset (text, 'a', sizeof text);
    text [64] = 0;
    ck_assert_int_eq (sf_job_set_symbol (job, text), 0);
    text [64] = 'a';
    text [65] = 0;
    ck_assert_int_eq (sf_job_set_symbol (job, text), -1);
    ck_assert_int_eq (sf_job_set_symbol (job, ""), -1);
    ck_assert_int_eq (sf_job_set_symbol (job, NULL), -1);
    ck_assert_int_eq (sf_job_set_symbol (job, "\xff\xfe"), -1);     //  Not UTF-8

    memset (text, 'a', sizeof text);
    text [16] = 0;
    ck_assert_int_eq (sf_job_set_timeframe (job, text), 0);
    text [16] = 'a';
    text [17] = 0;
    ck_assert_int_eq (sf_job_set_timeframe (job, text), -1);
    ck_assert_int_eq (sf_job_set_timeframe (job, ""), -1);

    memset (text, 'k', sizeof text);
    text [256] = 0;
    ck_assert_int_eq (sf_job_set_key (job, text), 0);
    text [256] = 'k';
    text [257] = 0;
    ck_assert_int_eq (sf_job_set_key (job, text), -1);
    ck_assert_int_eq (sf_job_set_key (job, ""), -1);

    text [256] = 0;
    ck_assert_int_eq (sf_job_set_state_key (job, text), 0);
    text [256] = 'k';
    ck_assert_int_eq (sf_job_set_state_key (job, text), -1);
    ck_assert_int_eq (sf_job_set_state_key (job, ""), -1);

    //  The last accepted value of each stands
    sf_jobspec_t spec;
    char analyzer [SF_NAME_MAX + 1];
    sf_error_t error;
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    ck_assert_int_eq (spec.priority, 9);
    ck_assert_uint_eq (spec.timeout_ms, UINT32_MAX);
    ck_assert_uint_eq (spec.retries, 100);
    ck_assert_uint_eq (spec.key_size, 256);
    char *json = sf_job_json (job);
    json_t *value = json_loads (json, 0, NULL);
    ck_assert_uint_eq (json_string_length (json_object_get (value, "symbol")), 64);
    ck_assert_uint_eq (json_string_length (json_object_get (value, "timeframe")), 16);
    json_decref (value);
    free (json);
    sf_job_destroy (&job);
}
END_TEST

START_TEST (test_set_param)
{
    sf_job_t *job = sf_job_new ("x");
    ck_assert_int_eq (sf_job_set_param (job, "period", "14"), 0);
    ck_assert_int_eq (sf_job_set_param (job, "adjust", "true"), 0);
    ck_assert_int_eq (sf_job_set_param (job, "source", "\"close\""), 0);
    ck_assert_int_eq (sf_job_set_param (job, "bands", "{\"k\":[2,2.5]}"), 0);
    ck_assert_int_eq (sf_job_set_param (job, "period", "21"), 0);   //  Replaces
    ck_assert_int_eq (sf_job_set_param (job, "bad", "close"), -1);  //  Not JSON
    ck_assert_int_eq (sf_job_set_param (job, "bad", "{"), -1);
    ck_assert_int_eq (sf_job_set_param (job, "bad", NULL), -1);
    ck_assert_int_eq (sf_job_set_param (job, "", "1"), -1);
    ck_assert_int_eq (sf_job_set_param (job, NULL, "1"), -1);
    char *json = sf_job_json (job);
    ck_assert (s_json_equal (json, "{\"analyzer\":\"x\",\"params\":{\"period\":21,"
                                   "\"adjust\":true,\"source\":\"close\","
                                   "\"bands\":{\"k\":[2,2.5]}}}"));
    free (json);
    sf_job_destroy (&job);
}
END_TEST

//  A job packed once and changed afterwards packs its new values.
//  A parameter name that is not UTF-8 cannot be set, and says so.
START_TEST (test_set_param_bad_name)
{
    sf_job_t *job = sf_job_new ("echo");
    ck_assert_int_eq (sf_job_set_param (job, "bad\xff", "1"), -1);
    ck_assert_int_eq (sf_job_set_param (job, "good", "1"), 0);
    char *text = sf_job_json (job);
    ck_assert_str_eq (text, "{\"analyzer\":\"echo\",\"params\":{\"good\":1}}");
    free (text);
    sf_job_destroy (&job);
}
END_TEST

//  params nested deeper than the wire allows is refused at the JSON edge,
//  naming the field, instead of failing the whole batch at the broker.
START_TEST (test_params_depth)
{
    char text [512];
    for (int levels = 31; levels <= 32; levels++) {
        int n = snprintf (text, sizeof text, "{\"analyzer\":\"echo\",\"params\":");
        for (int i = 0; i < levels - 1; i++)
            n += snprintf (text + n, sizeof text - (size_t) n, "{\"a\":");
        n += snprintf (text + n, sizeof text - (size_t) n, "{}");
        for (int i = 0; i < levels - 1; i++)
            n += snprintf (text + n, sizeof text - (size_t) n, "}");
        snprintf (text + n, sizeof text - (size_t) n, "}");
        sf_error_t error;
        sf_job_t *job = sf_job_from_json (text, &error);
        if (levels == 31) {
            ck_assert_ptr_nonnull (job);
            //  And the broker's check takes what the edge took
            msgpack_sbuffer buffer;
            msgpack_sbuffer_init (&buffer);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
            sf_job_pack (job, &pk);
            const char *why;
            ck_assert_uint_eq (sf_mp_check (buffer.data, buffer.size, &why), buffer.size);
            msgpack_sbuffer_destroy (&buffer);
            sf_job_destroy (&job);
        }
        else {
            ck_assert_ptr_null (job);
            ck_assert_str_eq (error.code, "BAD_INPUT");
            ck_assert_str_eq (error.message, "\"params\" nests deeper than 31 levels");
        }
    }
}
END_TEST

//  Candles set from C arrays travel as float64 columns and show in JSON.
START_TEST (test_set_candles)
{
    double ts [3] = { 1000, 2000, 3000 }, open [3] = { 1, 2, 3 }, high [3] = { 2, 3, 4 },
           low [3] = { 0.5, 1.5, 2.5 }, close [3] = { 1.5, 2.5, 3.5 }, volume [3] = { 7, 8, 9 };
    sf_job_t *job = sf_job_new ("sma");
    ck_assert_int_eq (sf_job_set_candles (job, ts, open, high, low, close, volume, 3), 0);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_job_pack (job, &pk);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&unpacked, buffer.data, buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&unpacked.data, &spec, &error), 0);
    sf_candles_t *candles = sf_candles_unpack (sf_mp_get (&unpacked.data, "candles"), &error);
    ck_assert_ptr_nonnull (candles);
    ck_assert_uint_eq (candles->size, 3);
    ck_assert (candles->close [2] == 3.5 && candles->volume [0] == 7 && candles->ts [1] == 2000);
    sf_candles_destroy (&candles);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    char *text = sf_job_json (job);
    ck_assert_msg (strstr (text, "\"close\":[1.5,2.5,3.5]"), "%s", text);
    free (text);
    //  Refused: nothing, a ts going back, a value that is not finite
    ck_assert_int_eq (sf_job_set_candles (job, ts, open, high, low, close, volume, 0), -1);
    ts [2] = 1500;
    ck_assert_int_eq (sf_job_set_candles (job, ts, open, high, low, close, volume, 3), -1);
    ts [2] = 3000;
    volume [1] = NAN;
    ck_assert_int_eq (sf_job_set_candles (job, ts, open, high, low, close, volume, 3), -1);
    sf_job_destroy (&job);
}
END_TEST

START_TEST (test_pack_follows_changes)
{
    sf_job_t *job = sf_job_new ("x");
    sf_jobspec_t spec;
    char analyzer [SF_NAME_MAX + 1];
    sf_error_t error;
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    ck_assert_int_eq (spec.priority, 5);
    ck_assert_int_eq (sf_job_set_priority (job, 8), 0);
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    ck_assert_int_eq (spec.priority, 8);
    //  A refused change leaves the packed form as it was
    ck_assert_int_eq (sf_job_set_priority (job, 11), -1);
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);
    ck_assert_int_eq (spec.priority, 8);
    ck_assert_int_eq (sf_job_set_param (job, "n", "1"), 0);
    ck_assert_int_eq (s_wire_check (job, &spec, analyzer, &error), 0);

    //  Packing twice appends the same bytes twice
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_job_pack (job, &pk);
    size_t once = buffer.size;
    sf_job_pack (job, &pk);
    ck_assert_uint_eq (buffer.size, 2 * once);
    ck_assert_mem_eq (buffer.data, buffer.data + once, once);
    msgpack_sbuffer_destroy (&buffer);
    sf_job_destroy (&job);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_job");

    TCase *tc = tcase_create ("new");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_new);
    tcase_add_test (tc, test_new_invalid_names);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("from json");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_from_json_valid);
    tcase_add_test (tc, test_json_round_trip);
    tcase_add_test (tc, test_from_json_minimal);
    tcase_add_loop_test (tc, test_from_json_bad, 0, (int) S_BAD_JOBS);
    tcase_add_test (tc, test_from_json_null_text);
    tcase_add_test (tc, test_from_json_limits);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("setters");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_setters_ranges);
    tcase_add_test (tc, test_set_range_and_limit);
    tcase_add_test (tc, test_null_job);
    tcase_add_test (tc, test_set_param);
    tcase_add_test (tc, test_set_then);
    tcase_add_test (tc, test_set_param_bad_name);
    tcase_add_test (tc, test_set_candles);
    tcase_add_test (tc, test_params_depth);
    tcase_add_test (tc, test_pack_follows_changes);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
