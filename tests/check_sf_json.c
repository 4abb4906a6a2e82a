/*  =========================================================================
    check_sf_json - tests of sf_json, the bridge between JSON at the edges
    and msgpack on the wire

    Each msgpack type is mapped as sf_json.h documents: bin and non-UTF-8
    str become base64 (RFC 4648 test vectors), NaN and infinities become
    null, map keys that are not strings become their JSON text, ext
    becomes null, key order is the wire order. JSON packed to msgpack
    reads back as the same JSON.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_json.h"
#include "sf_mp.h"

//  A packer over a fresh buffer, for each test (checked fixture).
static msgpack_sbuffer s_buffer;
static msgpack_packer s_pk;

static void
s_packer_setup (void)
{
    msgpack_sbuffer_init (&s_buffer);
    msgpack_packer_init (&s_pk, &s_buffer, msgpack_sbuffer_write);
}

static void
s_packer_teardown (void)
{
    msgpack_sbuffer_destroy (&s_buffer);
}

//  --------------------------------------------------------------------------
//  The JSON text of what has been packed so far (one value), through the
//  checked decoder; the buffer is then emptied for the next value. The
//  caller frees the text.

static char *
s_text (void)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = "";
    ck_assert_msg (sf_mp_next (&unpacked, s_buffer.data, s_buffer.size, &offset, &object,
                               NULL, NULL, &why) == 0, "test value does not decode: %s", why);
    ck_assert_uint_eq (offset, s_buffer.size);
    char *text = sf_json_text (&object);
    ck_assert_ptr_nonnull (text);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_clear (&s_buffer);
    return text;
}

//  Check that the packed value reads as want, and empty the buffer.
#define S_EXPECT(want)                                                         \
    do {                                                                       \
        char *text_ = s_text ();                                               \
        ck_assert_str_eq (text_, (want));                                      \
        free (text_);                                                          \
    } while (0)

//  --------------------------------------------------------------------------
//  msgpack to JSON: scalars.

START_TEST (test_scalars)
{
    msgpack_pack_nil (&s_pk);
    S_EXPECT ("null");
    msgpack_pack_true (&s_pk);
    S_EXPECT ("true");
    msgpack_pack_false (&s_pk);
    S_EXPECT ("false");
    msgpack_pack_uint8 (&s_pk, 0);
    S_EXPECT ("0");
    msgpack_pack_int64 (&s_pk, INT64_MAX);
    S_EXPECT ("9223372036854775807");
    msgpack_pack_int64 (&s_pk, INT64_MIN);
    S_EXPECT ("-9223372036854775808");
    msgpack_pack_int8 (&s_pk, -1);
    S_EXPECT ("-1");
    //  Above INT64_MAX JSON integers (Jansson's) end: a real, in as many
    //  digits as it takes to read back
    msgpack_pack_uint64 (&s_pk, UINT64_MAX);
    S_EXPECT ("1.8446744073709552e19");
    msgpack_pack_double (&s_pk, 1.5);
    S_EXPECT ("1.5");
    msgpack_pack_double (&s_pk, -0.25);
    S_EXPECT ("-0.25");
    msgpack_pack_float (&s_pk, 0.75f);
    S_EXPECT ("0.75");
    msgpack_pack_double (&s_pk, DBL_MAX);
    S_EXPECT ("1.7976931348623157e308");
}
END_TEST

//  Reals are printed with 17 significant digits, so each reads back to
//  the same double.
START_TEST (test_real_precision)
{
    const double values [] = { 0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 123456.789, DBL_MIN };
    for (size_t i = 0; i < sizeof values / sizeof values [0]; i++) {
        msgpack_pack_double (&s_pk, values [i]);
        char *text = s_text ();
        json_t *back = json_loads (text, JSON_DECODE_ANY, NULL);
        ck_assert_ptr_nonnull (back);
        ck_assert_msg (json_real_value (back) == values [i], "%s does not read back as %.17g",
                       text, values [i]);
        json_decref (back);
        free (text);
    }
}
END_TEST

//  JSON has no NaN or infinity: they become null, in containers too.
START_TEST (test_nan_and_infinity)
{
    msgpack_pack_double (&s_pk, NAN);
    S_EXPECT ("null");
    msgpack_pack_double (&s_pk, INFINITY);
    S_EXPECT ("null");
    msgpack_pack_double (&s_pk, -INFINITY);
    S_EXPECT ("null");
    msgpack_pack_float (&s_pk, NAN);
    S_EXPECT ("null");
    msgpack_pack_float (&s_pk, -INFINITY);
    S_EXPECT ("null");
    msgpack_pack_array (&s_pk, 3);
    msgpack_pack_double (&s_pk, 1);
    msgpack_pack_double (&s_pk, NAN);
    msgpack_pack_double (&s_pk, INFINITY);
    S_EXPECT ("[1.0,null,null]");
    msgpack_pack_map (&s_pk, 1);
    sf_mp_pack_str (&s_pk, "sma");
    msgpack_pack_double (&s_pk, NAN);
    S_EXPECT ("{\"sma\":null}");
}
END_TEST

//  --------------------------------------------------------------------------
//  Strings and bytes.

START_TEST (test_strings)
{
    sf_mp_pack_str (&s_pk, "");
    S_EXPECT ("\"\"");
    sf_mp_pack_str (&s_pk, "h\xc3\xa9llo \xe2\x82\xac");            //  UTF-8 stays UTF-8
    S_EXPECT ("\"h\xc3\xa9llo \xe2\x82\xac\"");
    sf_mp_pack_str (&s_pk, "quote \" backslash \\ newline \n tab \t");
    S_EXPECT ("\"quote \\\" backslash \\\\ newline \\n tab \\t\"");
    msgpack_pack_str (&s_pk, 3);
    msgpack_pack_str_body (&s_pk, "a\0b", 3);                  //  NUL is kept, escaped
    S_EXPECT ("\"a\\u0000b\"");
}
END_TEST

//  A str that is not UTF-8 travels as base64, like bin.
START_TEST (test_non_utf8_str)
{
    msgpack_pack_str (&s_pk, 2);
    msgpack_pack_str_body (&s_pk, "\xff\xfe", 2);
    S_EXPECT ("\"//4=\"");
    msgpack_pack_str (&s_pk, 3);
    msgpack_pack_str_body (&s_pk, "ab\xc3", 3);                //  Cut multi-byte sequence
    S_EXPECT ("\"YWLD\"");
    msgpack_pack_str (&s_pk, 4);
    msgpack_pack_str_body (&s_pk, "\xed\xa0\x80x", 4);         //  Encoded surrogate
    S_EXPECT ("\"7aCAeA==\"");
}
END_TEST

//  RFC 4648 section 10 test vectors, as bin.
START_TEST (test_bin_base64)
{
    const char *vectors [][2] = {
        { "", "\"\"" },
        { "f", "\"Zg==\"" },
        { "fo", "\"Zm8=\"" },
        { "foo", "\"Zm9v\"" },
        { "foob", "\"Zm9vYg==\"" },
        { "fooba", "\"Zm9vYmE=\"" },
        { "foobar", "\"Zm9vYmFy\"" },
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors [0]; i++) {
        size_t size = strlen (vectors [i][0]);
        msgpack_pack_bin (&s_pk, size);
        msgpack_pack_bin_body (&s_pk, vectors [i][0], size);
        S_EXPECT (vectors [i][1]);
    }
    //  Every byte value, and the alphabet's last two characters
    unsigned char all [256];
    for (int i = 0; i < 256; i++)
        all [i] = (unsigned char) i;
    msgpack_pack_bin (&s_pk, sizeof all);
    msgpack_pack_bin_body (&s_pk, all, sizeof all);
    S_EXPECT ("\""
              "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1"
              "Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr"
              "bG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch"
              "oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX"
              "2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="
              "\"");
    //  A 16-byte job id as bin
    msgpack_pack_bin (&s_pk, 16);
    msgpack_pack_bin_body (&s_pk, "\x01\x7f\x22\xe2\x79\xb0\x7c\xc3\x98\xc4\xdc\x0c\x0c\x07\x39\x8f",
                           16);
    S_EXPECT ("\"AX8i4nmwfMOYxNwMDAc5jw==\"");
}
END_TEST

START_TEST (test_ext_is_null)
{
    msgpack_pack_ext (&s_pk, 2, 5);
    msgpack_pack_ext_body (&s_pk, "ab", 2);
    S_EXPECT ("null");
    //  A msgpack timestamp (ext -1) too
    msgpack_pack_array (&s_pk, 1);
    msgpack_pack_ext (&s_pk, 4, -1);
    msgpack_pack_ext_body (&s_pk, "\0\0\0\1", 4);
    S_EXPECT ("[null]");
}
END_TEST

//  --------------------------------------------------------------------------
//  Containers.

START_TEST (test_nested)
{
    //  {"z": [1, {"b": [], "a": {}}], "a": "x"}: keys stay in wire order
    msgpack_pack_map (&s_pk, 2);
    sf_mp_pack_str (&s_pk, "z");
    msgpack_pack_array (&s_pk, 2);
    msgpack_pack_uint8 (&s_pk, 1);
    msgpack_pack_map (&s_pk, 2);
    sf_mp_pack_str (&s_pk, "b");
    msgpack_pack_array (&s_pk, 0);
    sf_mp_pack_str (&s_pk, "a");
    msgpack_pack_map (&s_pk, 0);
    sf_mp_pack_kv_str (&s_pk, "a", "x");
    S_EXPECT ("{\"z\":[1,{\"b\":[],\"a\":{}}],\"a\":\"x\"}");
}
END_TEST

START_TEST (test_deep)
{
    for (int i = 0; i < SF_MP_MAX_DEPTH; i++)
        msgpack_pack_array (&s_pk, 1);
    msgpack_pack_uint8 (&s_pk, 7);
    char want [2 * SF_MP_MAX_DEPTH + 2];
    memset (want, '[', SF_MP_MAX_DEPTH);
    want [SF_MP_MAX_DEPTH] = '7';
    memset (want + SF_MP_MAX_DEPTH + 1, ']', SF_MP_MAX_DEPTH);
    want [2 * SF_MP_MAX_DEPTH + 1] = 0;
    S_EXPECT (want);
}
END_TEST

//  Scalar map keys that are not strings are written as their JSON text;
//  container and bin keys are dropped with their values.
START_TEST (test_nonstring_keys)
{
    msgpack_pack_map (&s_pk, 6);
    msgpack_pack_uint8 (&s_pk, 1);
    sf_mp_pack_str (&s_pk, "int");
    msgpack_pack_int8 (&s_pk, -2);
    sf_mp_pack_str (&s_pk, "negative");
    msgpack_pack_true (&s_pk);
    sf_mp_pack_str (&s_pk, "bool");
    msgpack_pack_nil (&s_pk);
    sf_mp_pack_str (&s_pk, "nil");
    msgpack_pack_array (&s_pk, 2);
    msgpack_pack_uint8 (&s_pk, 1);
    msgpack_pack_uint8 (&s_pk, 2);
    sf_mp_pack_str (&s_pk, "array");
    msgpack_pack_bin (&s_pk, 1);
    msgpack_pack_bin_body (&s_pk, "f", 1);
    sf_mp_pack_str (&s_pk, "bin");
    S_EXPECT ("{\"1\":\"int\",\"-2\":\"negative\",\"true\":\"bool\",\"null\":\"nil\"}");
}
END_TEST

//  Maps nested as keys of maps could double the text at every level if
//  keys were written out; they are dropped, so 30 levels stay tiny.
START_TEST (test_nested_map_keys_stay_small)
{
    //  V0 = {}, V(n+1) = {V(n): nil}
    for (int level = 0; level < 30; level++)
        msgpack_pack_map (&s_pk, 1);
    msgpack_pack_map (&s_pk, 0);
    for (int level = 0; level < 30; level++)
        msgpack_pack_nil (&s_pk);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    ck_assert (msgpack_unpack_next (&unpacked, s_buffer.data, s_buffer.size, &offset)
               == MSGPACK_UNPACK_SUCCESS);
    char *text = sf_json_text (&unpacked.data);
    ck_assert_ptr_nonnull (text);
    ck_assert_int_lt (strlen (text), 200);
    free (text);
    msgpack_unpacked_destroy (&unpacked);
}
END_TEST

//  An empty string key (msgpack-c may give it a NULL pointer) is "".
START_TEST (test_empty_key)
{
    msgpack_pack_map (&s_pk, 1);
    msgpack_pack_str (&s_pk, 0);
    msgpack_pack_str (&s_pk, 0);
    S_EXPECT ("{\"\":\"\"}");
}
END_TEST

//  A string key that is not UTF-8 cannot be a JSON key; it is dropped and
//  the rest of the map survives.
START_TEST (test_non_utf8_key)
{
    msgpack_pack_map (&s_pk, 3);
    sf_mp_pack_kv_uint (&s_pk, "before", 1);
    msgpack_pack_str (&s_pk, 1);
    msgpack_pack_str_body (&s_pk, "\xff", 1);
    msgpack_pack_uint8 (&s_pk, 2);
    sf_mp_pack_kv_uint (&s_pk, "after", 3);
    S_EXPECT ("{\"before\":1,\"after\":3}");
}
END_TEST

//  --------------------------------------------------------------------------
//  JSON to msgpack.

//  Pack JSON text and return its msgpack encoding in s_buffer.
static void
s_pack_json (const char *text)
{
    json_t *json = json_loads (text, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull (json);
    sf_json_pack (&s_pk, json);
    json_decref (json);
}

START_TEST (test_pack_types)
{
    s_pack_json ("[null,true,false,0,-1,9223372036854775807,-9223372036854775808,"
                 "1.5,\"s\",{\"k\":[]}]");
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why;
    ck_assert_int_eq (sf_mp_next (&unpacked, s_buffer.data, s_buffer.size, &offset, &object,
                                  NULL, NULL, &why), 0);
    ck_assert_int_eq (object.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq (object.via.array.size, 10);
    msgpack_object *item = object.via.array.ptr;
    ck_assert_int_eq (item [0].type, MSGPACK_OBJECT_NIL);
    ck_assert_int_eq (item [1].type, MSGPACK_OBJECT_BOOLEAN);
    ck_assert (item [1].via.boolean);
    ck_assert_int_eq (item [2].type, MSGPACK_OBJECT_BOOLEAN);
    ck_assert (!item [2].via.boolean);
    ck_assert_int_eq (item [3].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_uint_eq (item [3].via.u64, 0);
    ck_assert_int_eq (item [4].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    ck_assert_int_eq (item [4].via.i64, -1);
    ck_assert (item [5].via.u64 == INT64_MAX);
    ck_assert (item [6].via.i64 == INT64_MIN);
    ck_assert_int_eq (item [7].type, MSGPACK_OBJECT_FLOAT64);
    ck_assert_double_eq (item [7].via.f64, 1.5);
    ck_assert (sf_mp_streq (&item [8], "s"));
    ck_assert_int_eq (item [9].type, MSGPACK_OBJECT_MAP);
    ck_assert (sf_mp_streq (&item [9].via.map.ptr [0].key, "k"));
    //  Small integers take the shortest encoding (one byte for 0 and -1)
    ck_assert_int_eq ((unsigned char) s_buffer.data [4], 0x00);
    ck_assert_int_eq ((unsigned char) s_buffer.data [5], 0xff);
    msgpack_unpacked_destroy (&unpacked);
}
END_TEST

//  JSON → msgpack → JSON gives back the same text (compact, order kept).
START_TEST (test_round_trip)
{
    const char *texts [] = {
        ("{\"analyzer\":\"sma\",\"params\":{\"period\":14,\"weights\":[0.5,1.5,-2.0],"
         "\"adjust\":false,\"label\":null,\"name\":\"h\xc3\xa9\"},\"priority\":9}"),
        "[]",
        "{}",
        "[[[[[[]]]]]]",
        "\"just a string\"",
        "-42",
        "0.1",
        "362.71",
        "0.30000000000000004",
        "1e22",
        "-2.5e-7",
        "5.0",
        "-0.0",
        "{\"z\":1,\"y\":2,\"x\":3,\"a\":4}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
        s_pack_json (texts [i]);
        S_EXPECT (texts [i]);
    }
}
END_TEST

//  sf_json_from_mp gives the caller a value of the mapped type.
START_TEST (test_from_mp_types)
{
    msgpack_object object = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
    object.via.u64 = 5;
    json_t *value = sf_json_from_mp (&object);
    ck_assert (json_is_integer (value));
    ck_assert_int_eq (json_integer_value (value), 5);
    json_decref (value);
    object.type = MSGPACK_OBJECT_FLOAT64;
    object.via.f64 = NAN;
    value = sf_json_from_mp (&object);
    ck_assert (json_is_null (value));
    json_decref (value);
    object.type = MSGPACK_OBJECT_BIN;
    object.via.bin.ptr = "foo";
    object.via.bin.size = 3;
    value = sf_json_from_mp (&object);
    ck_assert (json_is_string (value));
    ck_assert_str_eq (json_string_value (value), "Zm9v");
    json_decref (value);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_json");

    TCase *tc = tcase_create ("scalars");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_packer_setup, s_packer_teardown);
    tcase_add_test (tc, test_scalars);
    tcase_add_test (tc, test_real_precision);
    tcase_add_test (tc, test_nan_and_infinity);
    tcase_add_test (tc, test_strings);
    tcase_add_test (tc, test_non_utf8_str);
    tcase_add_test (tc, test_bin_base64);
    tcase_add_test (tc, test_ext_is_null);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("containers");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_packer_setup, s_packer_teardown);
    tcase_add_test (tc, test_nested);
    tcase_add_test (tc, test_deep);
    tcase_add_test (tc, test_nonstring_keys);
    tcase_add_test (tc, test_nested_map_keys_stay_small);
    tcase_add_test (tc, test_empty_key);
    tcase_add_test (tc, test_non_utf8_key);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("pack");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_packer_setup, s_packer_teardown);
    tcase_add_test (tc, test_pack_types);
    tcase_add_test (tc, test_round_trip);
    tcase_add_test (tc, test_from_mp_types);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
