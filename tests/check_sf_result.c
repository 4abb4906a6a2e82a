/*  =========================================================================
    check_sf_result - tests of sf_result, a job's final outcome as a client
    receives it

    A RESULT item (header and payload) is packed as the broker packs it and
    decoded as the client decodes it; the accessors and the documented
    JSON result format must show what was sent.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <stdlib.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_json.h"
#include "sf_mp.h"
#include "sf_result.h"

static const uint8_t s_id [SF_UUID_SIZE] = {
    0x01, 0x7f, 0x22, 0xe2, 0x79, 0xb0, 0x7c, 0xc3,
    0x98, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f
};

//  --------------------------------------------------------------------------
//  Decode a RESULT item made of head and a payload given as JSON text.
//  Returns the result or NULL with error.

static sf_result_t *
s_decode (const sf_result_head_t *head, const char *payload_json, sf_error_t *error)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_codec_pack_result_head (&pk, head);
    size_t head_size = buffer.size;
    json_t *json = json_loads (payload_json, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull (json);
    sf_json_pack (&pk, json);
    json_decref (json);

    msgpack_unpacked head_unpacked;
    msgpack_unpacked_init (&head_unpacked);
    msgpack_object head_object;
    size_t offset = 0;
    const char *why;
    ck_assert_int_eq (sf_mp_next (&head_unpacked, buffer.data, buffer.size, &offset,
                                  &head_object, NULL, NULL, &why), 0);
    ck_assert_uint_eq (offset, head_size);
    sf_result_t *result = sf_result_decode (&head_object, buffer.data + head_size,
                                            buffer.size - head_size, error);
    msgpack_unpacked_destroy (&head_unpacked);
    //  The result keeps its own copy of the payload
    memset (buffer.data, 0xc1, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return result;
}

START_TEST (test_ok)
{
    sf_result_head_t head = {
        .status = SF_STATUS_OK, .analyzer = "sma", .worker = "w-1", .attempts = 1,
        .queued_us = 120, .run_us = 3400, .total_us = 3600
    };
    memcpy (head.id, s_id, SF_UUID_SIZE);
    sf_error_t error;
    sf_result_t *result = s_decode (&head, "{\"sma\":[1.5,2.25],\"n\":2}", &error);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (sf_result_id (result), "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    ck_assert_str_eq (sf_result_analyzer (result), "sma");
    ck_assert_str_eq (sf_result_worker (result), "w-1");
    ck_assert_uint_eq (sf_result_attempts (result), 1);
    ck_assert_uint_eq (sf_result_queued_us (result), 120);
    ck_assert_uint_eq (sf_result_run_us (result), 3400);
    ck_assert_uint_eq (sf_result_total_us (result), 3600);
    ck_assert_ptr_null (sf_result_error_code (result));
    ck_assert_ptr_null (sf_result_error_message (result));
    //  The payload's encoding, byte for byte as the worker packed it
    size_t size = 0;
    const unsigned char *payload = sf_result_payload (result, &size);
    const unsigned char want [] = {
        0x82, 0xa3, 's', 'm', 'a', 0x92, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
        0xcb, 0x40, 0x02, 0, 0, 0, 0, 0, 0, 0xa1, 'n', 0x02
    };
    ck_assert_uint_eq (size, sizeof want);
    ck_assert_mem_eq (payload, want, sizeof want);

    char *value = sf_result_value_json (result);
    ck_assert_str_eq (value, "{\"sma\":[1.5,2.25],\"n\":2}");
    free (value);
    char *json = sf_result_json (result);
    ck_assert_str_eq (json,
        "{\"id\":\"017f22e2-79b0-7cc3-98c4-dc0c0c07398f\",\"status\":\"ok\","
        "\"analyzer\":\"sma\",\"result\":{\"sma\":[1.5,2.25],\"n\":2},\"attempts\":1,"
        "\"worker\":\"w-1\",\"timings\":{\"queued_us\":120,\"run_us\":3400,\"total_us\":3600}}");
    free (json);
    sf_result_destroy (&result);
    ck_assert_ptr_null (result);
    sf_result_destroy (&result);
    sf_result_destroy (NULL);
}
END_TEST

START_TEST (test_error)
{
    sf_result_head_t head = {
        .status = SF_STATUS_TIMEOUT, .analyzer = "slow", .worker = "", .attempts = 4
    };
    memcpy (head.id, s_id, SF_UUID_SIZE);
    sf_error_t error;
    sf_result_t *result = s_decode (&head, "{\"code\":\"TIMEOUT\",\"message\":\"over 5000 ms\","
                                           "\"context\":{\"limit_ms\":5000}}", &error);
    ck_assert_ptr_nonnull (result);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_TIMEOUT);
    ck_assert_str_eq (sf_result_error_code (result), "TIMEOUT");
    ck_assert_str_eq (sf_result_error_message (result), "over 5000 ms");
    ck_assert_str_eq (sf_result_worker (result), "");
    char *value = sf_result_value_json (result);
    ck_assert_str_eq (value, "null");
    free (value);
    char *json = sf_result_json (result);
    ck_assert_str_eq (json,
        "{\"id\":\"017f22e2-79b0-7cc3-98c4-dc0c0c07398f\",\"status\":\"timeout\","
        "\"analyzer\":\"slow\",\"error\":{\"code\":\"TIMEOUT\",\"message\":\"over 5000 ms\","
        "\"context\":{\"limit_ms\":5000}},\"attempts\":4,\"worker\":\"\","
        "\"timings\":{\"queued_us\":0,\"run_us\":0,\"total_us\":0}}");
    free (json);
    sf_result_destroy (&result);
}
END_TEST

//  An error payload without code or message still gives strings.
START_TEST (test_error_without_fields)
{
    sf_result_head_t head = {
        .status = SF_STATUS_DEAD, .analyzer = "x", .worker = "w", .attempts = 3
    };
    memcpy (head.id, s_id, SF_UUID_SIZE);
    sf_error_t error;
    const char *payloads [] = { "null", "{}", "[1]", "{\"code\":1,\"message\":[]}" };
    for (int i = 0; i < 4; i++) {
        sf_result_t *result = s_decode (&head, payloads [i], &error);
        ck_assert_ptr_nonnull (result);
        ck_assert_str_eq (sf_result_error_code (result), "UNKNOWN");
        ck_assert_str_eq (sf_result_error_message (result), "");
        sf_result_destroy (&result);
    }
}
END_TEST

START_TEST (test_bad_head)
{
    sf_result_head_t head = {
        .status = SF_STATUS_OK, .analyzer = "", .worker = "", .attempts = 1
    };
    memcpy (head.id, s_id, SF_UUID_SIZE);
    sf_error_t error;
    ck_assert_ptr_null (s_decode (&head, "1", &error));
    ck_assert_str_eq (error.code, "PROTOCOL");
    ck_assert_str_eq (error.message, "result needs \"analyzer\"");
}
END_TEST

//  Large timings print as integers, not reals.
START_TEST (test_large_timings)
{
    sf_result_head_t head = {
        .status = SF_STATUS_OK, .analyzer = "x", .worker = "w", .attempts = 1,
        .queued_us = 1, .run_us = 9007199254740993ull, .total_us = INT64_MAX
    };
    memcpy (head.id, s_id, SF_UUID_SIZE);
    sf_error_t error;
    sf_result_t *result = s_decode (&head, "true", &error);
    char *json = sf_result_json (result);
    ck_assert_ptr_nonnull (strstr (json, "\"run_us\":9007199254740993,"));
    ck_assert_ptr_nonnull (strstr (json, "\"total_us\":9223372036854775807}"));
    ck_assert_ptr_nonnull (strstr (json, "\"result\":true,"));
    free (json);
    sf_result_destroy (&result);
}
END_TEST

//  A NULL result (sf_client_wait's when nothing came in time) or group
//  answer is taken by every accessor without crashing.
START_TEST (test_null_result)
{
    ck_assert_ptr_null (sf_result_json (NULL));
    ck_assert_ptr_null (sf_result_value_json (NULL));
    ck_assert_ptr_null (sf_result_id (NULL));
    ck_assert_int_eq (sf_result_status (NULL), SF_STATUS_INVALID);
    ck_assert_ptr_null (sf_result_analyzer (NULL));
    ck_assert_ptr_null (sf_result_worker (NULL));
    ck_assert_ptr_null (sf_result_then_id (NULL));
    ck_assert_ptr_null (sf_result_error_code (NULL));
    ck_assert_ptr_null (sf_result_error_message (NULL));
    ck_assert_int_eq (sf_result_index (NULL), -1);
    ck_assert_uint_eq (sf_result_attempts (NULL), 0);
    ck_assert_uint_eq (sf_result_queued_us (NULL) + sf_result_run_us (NULL)
                       + sf_result_total_us (NULL), 0);
    size_t size = 99;
    ck_assert_ptr_null (sf_result_payload (NULL, &size));
    ck_assert_uint_eq (size, 0);
    sf_result_t *result = NULL;
    sf_result_destroy (&result);
    sf_result_destroy (NULL);

    ck_assert_ptr_null (sf_gather_json (NULL));
    ck_assert_ptr_null (sf_gather_id (NULL));
    ck_assert_ptr_null (sf_gather_state (NULL));
    ck_assert_uint_eq (sf_gather_size (NULL), 0);
    ck_assert_uint_eq (sf_gather_count (NULL, SF_STATUS_OK), 0);
    ck_assert_ptr_null (sf_gather_item (NULL, 0));
    ck_assert_ptr_null (sf_gather_then (NULL));
    sf_gather_t *gather = NULL;
    sf_gather_destroy (&gather);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_result");
    TCase *tc = tcase_create ("decode");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_ok);
    tcase_add_test (tc, test_error);
    tcase_add_test (tc, test_error_without_fields);
    tcase_add_test (tc, test_bad_head);
    tcase_add_test (tc, test_large_timings);
    tcase_add_test (tc, test_null_result);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
