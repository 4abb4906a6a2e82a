/*  =========================================================================
    check_sf_mp - tests of sf_mp, the msgpack checker that never trusts a
    length

    The checker stands between the network and msgpack-c, so these tests
    pin down three promises: every valid format byte is understood and
    measured exactly as msgpack-c measures it, every declared length or
    count beyond the bytes present is refused before anything is
    allocated, and nesting is bounded. Inputs are copied into heap buffers
    of their exact size so that an over-read shows under ASan.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <stdlib.h>
#include <string.h>
#include "sf_mp.h"

#define S_ASSERT_CONTAINS(text, part)                                          \
    ck_assert_msg ((text) && strstr ((text), (part)) != NULL,                  \
                   "\"%s\" does not contain \"%s\"", (text)? (text): "(null)", (part))

//  One encoded value and what msgpack-c must make of it.
typedef struct {
    const char *name;           //  The format, for failure messages
    unsigned char bytes [20];   //  Its encoding
    size_t size;                //  Bytes used in bytes[]
    msgpack_object_type type;   //  Type msgpack-c decodes it to
} s_format_t;

//  One value of every msgpack format, each with the longest-form header
//  where a short form exists, so the checker's length-width table is hit.
static const s_format_t s_formats [] = {
    { "positive fixint", { 0x05 }, 1, MSGPACK_OBJECT_POSITIVE_INTEGER },
    { "negative fixint", { 0xff }, 1, MSGPACK_OBJECT_NEGATIVE_INTEGER },
    { "nil", { 0xc0 }, 1, MSGPACK_OBJECT_NIL },
    { "false", { 0xc2 }, 1, MSGPACK_OBJECT_BOOLEAN },
    { "true", { 0xc3 }, 1, MSGPACK_OBJECT_BOOLEAN },
    { "bin8", { 0xc4, 2, 0xaa, 0xbb }, 4, MSGPACK_OBJECT_BIN },
    { "bin16", { 0xc5, 0, 2, 0xaa, 0xbb }, 5, MSGPACK_OBJECT_BIN },
    { "bin32", { 0xc6, 0, 0, 0, 2, 0xaa, 0xbb }, 7, MSGPACK_OBJECT_BIN },
    { "ext8", { 0xc7, 2, 5, 0xaa, 0xbb }, 5, MSGPACK_OBJECT_EXT },
    { "ext16", { 0xc8, 0, 2, 5, 0xaa, 0xbb }, 6, MSGPACK_OBJECT_EXT },
    { "ext32", { 0xc9, 0, 0, 0, 2, 5, 0xaa, 0xbb }, 8, MSGPACK_OBJECT_EXT },
    { "float32", { 0xca, 0x3f, 0xc0, 0, 0 }, 5, MSGPACK_OBJECT_FLOAT32 },
    { "float64", { 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0 }, 9, MSGPACK_OBJECT_FLOAT64 },
    { "uint8", { 0xcc, 0xff }, 2, MSGPACK_OBJECT_POSITIVE_INTEGER },
    { "uint16", { 0xcd, 0xff, 0xff }, 3, MSGPACK_OBJECT_POSITIVE_INTEGER },
    { "uint32", { 0xce, 0xff, 0xff, 0xff, 0xff }, 5, MSGPACK_OBJECT_POSITIVE_INTEGER },
    { "uint64", { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9,
      MSGPACK_OBJECT_POSITIVE_INTEGER },
    { "int8", { 0xd0, 0x80 }, 2, MSGPACK_OBJECT_NEGATIVE_INTEGER },
    { "int16", { 0xd1, 0x80, 0 }, 3, MSGPACK_OBJECT_NEGATIVE_INTEGER },
    { "int32", { 0xd2, 0x80, 0, 0, 0 }, 5, MSGPACK_OBJECT_NEGATIVE_INTEGER },
    { "int64", { 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9, MSGPACK_OBJECT_NEGATIVE_INTEGER },
    { "fixext1", { 0xd4, 1, 0xaa }, 3, MSGPACK_OBJECT_EXT },
    { "fixext2", { 0xd5, 1, 0xaa, 0xbb }, 4, MSGPACK_OBJECT_EXT },
    { "fixext4", { 0xd6, 1, 1, 2, 3, 4 }, 6, MSGPACK_OBJECT_EXT },
    { "fixext8", { 0xd7, 1, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, MSGPACK_OBJECT_EXT },
    { "fixext16", { 0xd8, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, 18,
      MSGPACK_OBJECT_EXT },
    { "fixstr", { 0xa2, 'h', 'i' }, 3, MSGPACK_OBJECT_STR },
    { "str8", { 0xd9, 2, 'h', 'i' }, 4, MSGPACK_OBJECT_STR },
    { "str16", { 0xda, 0, 2, 'h', 'i' }, 5, MSGPACK_OBJECT_STR },
    { "str32", { 0xdb, 0, 0, 0, 2, 'h', 'i' }, 7, MSGPACK_OBJECT_STR },
    { "fixarray", { 0x92, 1, 2 }, 3, MSGPACK_OBJECT_ARRAY },
    { "array16", { 0xdc, 0, 2, 1, 2 }, 5, MSGPACK_OBJECT_ARRAY },
    { "array32", { 0xdd, 0, 0, 0, 2, 1, 2 }, 7, MSGPACK_OBJECT_ARRAY },
    { "fixmap", { 0x81, 0xa1, 'k', 1 }, 4, MSGPACK_OBJECT_MAP },
    { "map16", { 0xde, 0, 1, 0xa1, 'k', 1 }, 6, MSGPACK_OBJECT_MAP },
    { "map32", { 0xdf, 0, 0, 0, 1, 0xa1, 'k', 1 }, 8, MSGPACK_OBJECT_MAP },
};
#define S_FORMATS (sizeof s_formats / sizeof s_formats [0])

//  A value whose declared length or count lies about the bytes present, and
//  the explanation sf_mp_check must give.
typedef struct {
    const char *name;           //  What lies
    unsigned char bytes [8];    //  The encoding
    size_t size;                //  Bytes used in bytes[]
    const char *why;            //  Expected explanation
} s_lie_t;

static const s_lie_t s_lies [] = {
    { "array32 of 4 billion in 5 bytes", { 0xdd, 0xff, 0xff, 0xff, 0xff }, 5,
      "declared length exceeds the data" },
    { "map32 of 4 billion pairs in 5 bytes", { 0xdf, 0xff, 0xff, 0xff, 0xff }, 5,
      "declared length exceeds the data" },
    { "str32 of 4 GiB in 6 bytes", { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' }, 6,
      "declared length exceeds the data" },
    { "bin32 of 4 GiB in 5 bytes", { 0xc6, 0xff, 0xff, 0xff, 0xff }, 5,
      "declared length exceeds the data" },
    { "ext32 of 4 GiB in 6 bytes", { 0xc9, 0xff, 0xff, 0xff, 0xff, 1 }, 6,
      "declared length exceeds the data" },
    { "array16 of 3 holding 2", { 0xdc, 0, 3, 1, 2 }, 5, "declared length exceeds the data" },
    { "fixarray of 3 holding 2", { 0x93, 1, 2 }, 3, "declared length exceeds the data" },
    { "fixmap of 2 pairs in 3 bytes", { 0x82, 1, 2, 3 }, 4,
      "declared length exceeds the data" },
    { "map16 of 1 pair in 1 byte", { 0xde, 0, 1, 1 }, 4, "declared length exceeds the data" },
    { "nested array32 claiming 1 in 0 bytes", { 0x91, 0xdd, 0, 0, 0, 1 }, 6,
      "declared length exceeds the data" },
    { "str8 of 5 holding 1", { 0xd9, 5, 'a' }, 3, "declared length exceeds the data" },
    { "fixstr of 3 holding 2", { 0xa3, 'a', 'b' }, 3, "declared length exceeds the data" },
    { "array32 cut in its length", { 0xdd, 0, 0 }, 3, "truncated length" },
    { "str16 cut in its length", { 0xda, 0 }, 2, "truncated length" },
    { "float64 cut short", { 0xcb, 0, 0, 0 }, 4, "declared length exceeds the data" },
    { "array whose second child is missing", { 0x92, 0xa1, 'x' }, 3, "truncated value" },
};
#define S_LIES (sizeof s_lies / sizeof s_lies [0])

//  --------------------------------------------------------------------------
//  Copy size bytes into a heap block of exactly that size (at least one
//  byte is allocated); the caller frees it. An over-read then shows under
//  ASan instead of reading the neighbour in a static table.

static char *
s_exact (const void *data, size_t size)
{
    char *copy = malloc (size? size: 1);
    ck_assert_ptr_nonnull (copy);
    if (size)
        memcpy (copy, data, size);
    return copy;
}

//  Check size bytes with sf_mp_check through an exact-size copy.
static size_t
s_check (const void *data, size_t size, const char **why)
{
    char *copy = s_exact (data, size);
    *why = NULL;
    size_t length = sf_mp_check (copy, size, why);
    free (copy);
    return length;
}

//  Build depth nested containers (opener bytes) around a leaf; returns a
//  heap buffer and its size in *size.
static char *
s_nested (size_t depth, const unsigned char *opener, size_t opener_size,
          const unsigned char *leaf, size_t leaf_size, size_t *size)
{
    *size = depth * opener_size + leaf_size;
    char *data = malloc (*size? *size: 1);
    ck_assert_ptr_nonnull (data);
    for (size_t i = 0; i < depth; i++)
        memcpy (data + i * opener_size, opener, opener_size);
    memcpy (data + depth * opener_size, leaf, leaf_size);
    return data;
}

//  --------------------------------------------------------------------------
//  Every valid format is accepted and measured exactly, also when more
//  bytes follow it, and msgpack-c decodes it to the expected type.

START_TEST (test_formats_accepted)
{
    const s_format_t *format = &s_formats [_i];
    const char *why;
    ck_assert_msg (s_check (format->bytes, format->size, &why) == format->size,
                   "%s: rejected or mismeasured (%s)", format->name, why? why: "");

    //  Followed by other values, only the first is measured
    unsigned char longer [40];
    memcpy (longer, format->bytes, format->size);
    memset (longer + format->size, 0xc0, sizeof longer - format->size);
    ck_assert_uint_eq (s_check (longer, sizeof longer, &why), format->size);

    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *raw = NULL;
    size_t raw_size = 0;
    char *copy = s_exact (format->bytes, format->size);
    ck_assert_int_eq (sf_mp_next (&unpacked, copy, format->size, &offset, &object,
                                  &raw, &raw_size, &why), 0);
    ck_assert_msg (object.type == format->type, "%s decoded as type %d", format->name,
                   (int) object.type);
    ck_assert_uint_eq (offset, format->size);
    ck_assert_ptr_eq (raw, copy);
    ck_assert_uint_eq (raw_size, format->size);
    free (copy);
    msgpack_unpacked_destroy (&unpacked);
}
END_TEST

//  Decoded values keep their meaning (the checker must not skew offsets).
START_TEST (test_formats_values)
{
    unsigned char data [] = {
        0x94,                                   //  array of 4:
        0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //  UINT64_MAX
        0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0,        //  INT64_MIN
        0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,     //  1.5
        0xdb, 0, 0, 0, 3, 'a', 'b', 'c'         //  "abc" as str32
    };
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why;
    char *copy = s_exact (data, sizeof data);
    ck_assert_int_eq (sf_mp_next (&unpacked, copy, sizeof data, &offset, &object,
                                  NULL, NULL, &why), 0);
    ck_assert_int_eq (object.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq (object.via.array.size, 4);
    msgpack_object *items = object.via.array.ptr;
    ck_assert (items [0].via.u64 == UINT64_MAX);
    ck_assert (items [1].via.i64 == INT64_MIN);
    ck_assert_double_eq (items [2].via.f64, 1.5);
    ck_assert (sf_mp_streq (&items [3], "abc"));
    free (copy);
    msgpack_unpacked_destroy (&unpacked);
}
END_TEST

//  All formats in one array: measured exactly, and every strict prefix of
//  it is refused (a msgpack value is self-delimiting, so no prefix is a
//  whole value).
START_TEST (test_formats_all_and_prefixes)
{
    unsigned char data [512];
    size_t size = 0;
    data [size++] = 0xdc;
    data [size++] = 0;
    data [size++] = (unsigned char) S_FORMATS;
    for (size_t i = 0; i < S_FORMATS; i++) {
        memcpy (data + size, s_formats [i].bytes, s_formats [i].size);
        size += s_formats [i].size;
    }
    const char *why;
    ck_assert_uint_eq (s_check (data, size, &why), size);
    for (size_t cut = 0; cut < size; cut++) {
        ck_assert_msg (s_check (data, cut, &why) == 0, "prefix of %zu bytes accepted", cut);
        ck_assert_ptr_nonnull (why);
    }
}
END_TEST

//  Every first byte but 0xc1 starts a value, given enough bytes after it;
//  the checker's size agrees with msgpack-c's on all of them.
START_TEST (test_format_bytes_agree_with_msgpack)
{
    for (int b = 0; b < 256; b++) {
        unsigned char data [64] = { (unsigned char) b };
        const char *why;
        size_t length = s_check (data, sizeof data, &why);
        if (b == 0xc1) {
            ck_assert_uint_eq (length, 0);
            ck_assert_str_eq (why, "invalid msgpack format byte");
            continue;
        }
        ck_assert_msg (length > 0, "format byte 0x%02x rejected: %s", b, why);
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t used = 0;
        ck_assert_int_eq (msgpack_unpack_next (&unpacked, (const char *) data, sizeof data,
                                               &used), MSGPACK_UNPACK_SUCCESS);
        ck_assert_msg (used == length, "0x%02x: sf_mp_check says %zu bytes, msgpack-c %zu",
                       b, length, used);
        msgpack_unpacked_destroy (&unpacked);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  Lengths and counts beyond the data are refused with the reason.

START_TEST (test_lies_rejected)
{
    const s_lie_t *lie = &s_lies [_i];
    const char *why;
    ck_assert_msg (s_check (lie->bytes, lie->size, &why) == 0, "%s: accepted", lie->name);
    ck_assert_msg (why && strcmp (why, lie->why) == 0, "%s: why is \"%s\", want \"%s\"",
                   lie->name, why? why: "(null)", lie->why);
}
END_TEST

//  The decoder refuses a lying count before msgpack-c can allocate for it:
//  4 billion array slots would be ~96 GiB.
START_TEST (test_next_refuses_lie_without_allocating)
{
    unsigned char data [] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = NULL;
    char *copy = s_exact (data, sizeof data);
    ck_assert_int_eq (sf_mp_next (&unpacked, copy, sizeof data, &offset, &object,
                                  NULL, NULL, &why), -1);
    ck_assert_str_eq (why, "declared length exceeds the data");
    ck_assert_uint_eq (offset, 0);
    ck_assert_ptr_null (unpacked.zone);
    free (copy);
    msgpack_unpacked_destroy (&unpacked);
}
END_TEST

START_TEST (test_empty_and_invalid)
{
    const char *why;
    ck_assert_uint_eq (s_check ("", 0, &why), 0);
    ck_assert_str_eq (why, "truncated value");
    ck_assert_uint_eq (s_check ("\xc1", 1, &why), 0);
    ck_assert_str_eq (why, "invalid msgpack format byte");
    //  0xc1 deep inside a valid-looking value
    ck_assert_uint_eq (s_check ("\x92\x01\x81\xa1k\xc1", 6, &why), 0);
    ck_assert_str_eq (why, "invalid msgpack format byte");
}
END_TEST

//  --------------------------------------------------------------------------
//  Nesting: 32 levels are fine, 33 are refused, and a very deep input is
//  refused without recursing through all of it.

START_TEST (test_depth_32_accepted)
{
    const unsigned char array [] = { 0x91 };
    const unsigned char map [] = { 0x81, 0xa0 };        //  {"": …}
    const unsigned char leaf [] = { 0x07 };
    for (int kind = 0; kind < 2; kind++) {
        size_t size;
        char *data = kind == 0? s_nested (SF_MP_MAX_DEPTH, array, 1, leaf, 1, &size)
                              : s_nested (SF_MP_MAX_DEPTH, map, 2, leaf, 1, &size);
        const char *why = NULL;
        ck_assert_uint_eq (sf_mp_check (data, size, &why), size);

        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        msgpack_object object;
        size_t offset = 0;
        ck_assert_int_eq (sf_mp_next (&unpacked, data, size, &offset, &object,
                                      NULL, NULL, &why), 0);
        const msgpack_object *inner = &object;
        for (int level = 0; level < SF_MP_MAX_DEPTH; level++) {
            ck_assert_int_eq (inner->type, kind == 0? MSGPACK_OBJECT_ARRAY
                                                    : MSGPACK_OBJECT_MAP);
            inner = kind == 0? &inner->via.array.ptr [0]: &inner->via.map.ptr [0].val;
        }
        ck_assert_int_eq (inner->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        ck_assert_uint_eq (inner->via.u64, 7);
        msgpack_unpacked_destroy (&unpacked);
        free (data);
    }
}
END_TEST

START_TEST (test_depth_33_rejected)
{
    const unsigned char array [] = { 0x91 };
    const unsigned char map [] = { 0x81, 0xa0 };
    const unsigned char leaf [] = { 0x07 };
    for (int kind = 0; kind < 2; kind++) {
        size_t size;
        char *data = kind == 0? s_nested (SF_MP_MAX_DEPTH + 1, array, 1, leaf, 1, &size)
                              : s_nested (SF_MP_MAX_DEPTH + 1, map, 2, leaf, 1, &size);
        const char *why = NULL;
        ck_assert_uint_eq (sf_mp_check (data, size, &why), 0);
        ck_assert_str_eq (why, "nesting deeper than 32 levels");
        free (data);
    }
}
END_TEST

START_TEST (test_depth_huge_rejected)
{
    //  A million levels would overflow any stack if walked recursively
    const unsigned char array [] = { 0x91 };
    const unsigned char leaf [] = { 0xc0 };
    size_t size;
    char *data = s_nested (1000000, array, 1, leaf, 1, &size);
    const char *why = NULL;
    ck_assert_uint_eq (sf_mp_check (data, size, &why), 0);
    ck_assert_str_eq (why, "nesting deeper than 32 levels");
    free (data);
}
END_TEST

//  33 containers whose innermost is empty: the checker refuses them as
//  msgpack-c does (its stack holds 32 open containers), so a value that
//  passes the check always decodes.
START_TEST (test_depth_33_empty_innermost_not_decoded)
{
    const unsigned char array [] = { 0x91 };
    const unsigned char leaf [] = { 0x90 };
    size_t size;
    char *data = s_nested (SF_MP_MAX_DEPTH, array, 1, leaf, 1, &size);
    const char *refused = NULL;
    ck_assert_uint_eq (sf_mp_check (data, size, &refused), 0);
    ck_assert_str_eq (refused, "nesting deeper than 32 levels");
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = NULL;
    ck_assert_int_eq (sf_mp_next (&unpacked, data, size, &offset, &object,
                                  NULL, NULL, &why), -1);
    ck_assert_ptr_nonnull (why);
    ck_assert_uint_eq (offset, 0);
    msgpack_unpacked_destroy (&unpacked);
    free (data);
}
END_TEST

//  --------------------------------------------------------------------------
//  Reading a sequence of values.

START_TEST (test_next_sequence)
{
    //  1, "xy", nil, [true]
    const unsigned char bytes [] = { 0x01, 0xa2, 'x', 'y', 0xc0, 0x91, 0xc3 };
    char *data = s_exact (bytes, sizeof bytes);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *raw, *why;
    size_t raw_size;
    const size_t starts [] = { 0, 1, 4, 5 };
    const size_t sizes [] = { 1, 3, 1, 2 };
    const msgpack_object_type types [] = {
        MSGPACK_OBJECT_POSITIVE_INTEGER, MSGPACK_OBJECT_STR, MSGPACK_OBJECT_NIL,
        MSGPACK_OBJECT_ARRAY
    };
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq (sf_mp_next (&unpacked, data, sizeof bytes, &offset, &object,
                                      &raw, &raw_size, &why), 0);
        ck_assert_int_eq (object.type, types [i]);
        ck_assert_ptr_eq (raw, data + starts [i]);
        ck_assert_uint_eq (raw_size, sizes [i]);
        ck_assert_uint_eq (offset, starts [i] + sizes [i]);
    }
    ck_assert_int_eq (object.via.array.ptr [0].type, MSGPACK_OBJECT_BOOLEAN);
    ck_assert (object.via.array.ptr [0].via.boolean);
    //  At the end, and staying there
    ck_assert_int_eq (sf_mp_next (&unpacked, data, sizeof bytes, &offset, &object,
                                  NULL, NULL, &why), 1);
    ck_assert_int_eq (sf_mp_next (&unpacked, data, sizeof bytes, &offset, &object,
                                  NULL, NULL, &why), 1);
    ck_assert_uint_eq (offset, sizeof bytes);
    msgpack_unpacked_destroy (&unpacked);
    free (data);
}
END_TEST

START_TEST (test_next_stops_at_bad_value)
{
    const unsigned char bytes [] = { 0x01, 0xc1, 0x02 };
    char *data = s_exact (bytes, sizeof bytes);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = NULL;
    ck_assert_int_eq (sf_mp_next (&unpacked, data, sizeof bytes, &offset, &object,
                                  NULL, NULL, &why), 0);
    ck_assert_int_eq (sf_mp_next (&unpacked, data, sizeof bytes, &offset, &object,
                                  NULL, NULL, &why), -1);
    ck_assert_str_eq (why, "invalid msgpack format byte");
    ck_assert_uint_eq (offset, 1);         //  Not advanced past the bad value
    msgpack_unpacked_destroy (&unpacked);
    free (data);
}
END_TEST

START_TEST (test_next_empty)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object object;
    size_t offset = 0;
    const char *why = NULL;
    ck_assert_int_eq (sf_mp_next (&unpacked, "", 0, &offset, &object, NULL, NULL, &why), 1);
    ck_assert_ptr_null (why);
    msgpack_unpacked_destroy (&unpacked);
}
END_TEST

//  --------------------------------------------------------------------------
//  Helpers over decoded objects, with a fixture holding one decoded map:
//  {"name": "sheaf", "n": 42, "neg": -1, "f": 1.5, "empty": "", "bin": h'00'}

static msgpack_sbuffer s_buffer;
static msgpack_unpacked s_unpacked;
static msgpack_object s_map;

static void
s_map_setup (void)
{
    msgpack_sbuffer_init (&s_buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &s_buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    sf_mp_pack_kv_str (&pk, "name", "sheaf");
    sf_mp_pack_kv_uint (&pk, "n", 42);
    sf_mp_pack_str (&pk, "neg");
    msgpack_pack_int (&pk, -1);
    sf_mp_pack_str (&pk, "f");
    msgpack_pack_double (&pk, 1.5);
    sf_mp_pack_kv_str (&pk, "empty", "");
    sf_mp_pack_str (&pk, "bin");
    msgpack_pack_bin (&pk, 1);
    msgpack_pack_bin_body (&pk, "", 1);
    msgpack_unpacked_init (&s_unpacked);
    size_t offset = 0;
    const char *why;
    ck_assert_int_eq (sf_mp_next (&s_unpacked, s_buffer.data, s_buffer.size, &offset,
                                  &s_map, NULL, NULL, &why), 0);
}

static void
s_map_teardown (void)
{
    msgpack_unpacked_destroy (&s_unpacked);
    msgpack_sbuffer_destroy (&s_buffer);
}

START_TEST (test_get)
{
    const msgpack_object *value = sf_mp_get (&s_map, "n");
    ck_assert_ptr_nonnull (value);
    ck_assert_uint_eq (value->via.u64, 42);
    ck_assert_ptr_null (sf_mp_get (&s_map, "missing"));
    ck_assert_ptr_null (sf_mp_get (&s_map, "nam"));         //  Prefix of a key
    ck_assert_ptr_null (sf_mp_get (&s_map, "names"));       //  Key is a prefix
    ck_assert_ptr_null (sf_mp_get (NULL, "n"));
    //  A non-map has no keys
    ck_assert_ptr_null (sf_mp_get (sf_mp_get (&s_map, "name"), "n"));
}
END_TEST

START_TEST (test_streq)
{
    const msgpack_object *name = sf_mp_get (&s_map, "name");
    ck_assert (sf_mp_streq (name, "sheaf"));
    ck_assert (!sf_mp_streq (name, "shea"));
    ck_assert (!sf_mp_streq (name, "sheafs"));
    ck_assert (!sf_mp_streq (name, "SHEAF"));
    ck_assert (sf_mp_streq (sf_mp_get (&s_map, "empty"), ""));
    ck_assert (!sf_mp_streq (sf_mp_get (&s_map, "bin"), ""));  //  bin is no str
    ck_assert (!sf_mp_streq (sf_mp_get (&s_map, "n"), "42"));
    ck_assert (!sf_mp_streq (NULL, ""));
}
END_TEST

START_TEST (test_strdup)
{
    char *copy = sf_mp_strdup (sf_mp_get (&s_map, "name"));
    ck_assert_str_eq (copy, "sheaf");
    free (copy);
    copy = sf_mp_strdup (sf_mp_get (&s_map, "empty"));
    ck_assert_str_eq (copy, "");
    free (copy);
    ck_assert_ptr_null (sf_mp_strdup (sf_mp_get (&s_map, "n")));
    ck_assert_ptr_null (sf_mp_strdup (sf_mp_get (&s_map, "bin")));
    ck_assert_ptr_null (sf_mp_strdup (NULL));
}
END_TEST

START_TEST (test_strcpy)
{
    const msgpack_object *name = sf_mp_get (&s_map, "name");
    char buf [8];
    memset (buf, 'x', sizeof buf);
    ck_assert_int_eq (sf_mp_strcpy (name, buf, sizeof buf), 0);
    ck_assert_str_eq (buf, "sheaf");
    //  Exactly fits: five characters and the NUL
    char fit [6];
    ck_assert_int_eq (sf_mp_strcpy (name, fit, sizeof fit), 0);
    ck_assert_str_eq (fit, "sheaf");
    //  One short: refused
    char small [5];
    ck_assert_int_eq (sf_mp_strcpy (name, small, sizeof small), -1);
    ck_assert_int_eq (sf_mp_strcpy (sf_mp_get (&s_map, "empty"), buf, sizeof buf), -1);
    ck_assert_int_eq (sf_mp_strcpy (sf_mp_get (&s_map, "n"), buf, sizeof buf), -1);
    ck_assert_int_eq (sf_mp_strcpy (NULL, buf, sizeof buf), -1);
}
END_TEST

START_TEST (test_uint)
{
    uint64_t value = 7;
    const msgpack_object *n = sf_mp_get (&s_map, "n");
    ck_assert_int_eq (sf_mp_uint (n, 42, &value), 0);
    ck_assert_uint_eq (value, 42);
    value = 7;
    ck_assert_int_eq (sf_mp_uint (n, 41, &value), -1);
    ck_assert_uint_eq (value, 7);          //  Untouched on failure
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (&s_map, "neg"), UINT64_MAX, &value), -1);
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (&s_map, "f"), UINT64_MAX, &value), -1);
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (&s_map, "name"), UINT64_MAX, &value), -1);
    ck_assert_int_eq (sf_mp_uint (NULL, UINT64_MAX, &value), -1);
    ck_assert_uint_eq (value, 7);
}
END_TEST

START_TEST (test_fields)
{
    static const sf_mp_key_t keys [] = {
        SF_MP_KEY ("n"), SF_MP_KEY ("name"), SF_MP_KEY ("absent"), SF_MP_KEY ("bin")
    };
    const msgpack_object *values [4];
    const msgpack_object *unknown = NULL;
    ck_assert_int_eq (sf_mp_fields (&s_map, keys, 4, values, &unknown), 0);
    ck_assert_ptr_eq (values [0], sf_mp_get (&s_map, "n"));
    ck_assert_uint_eq (values [0]->via.u64, 42);
    ck_assert (sf_mp_streq (values [1], "sheaf"));
    ck_assert_ptr_null (values [2]);
    ck_assert_int_eq (values [3]->type, MSGPACK_OBJECT_BIN);
    //  The first key not asked for is reported
    ck_assert (sf_mp_streq (unknown, "neg"));
    //  Without unknown, other keys are simply skipped
    ck_assert_int_eq (sf_mp_fields (&s_map, keys, 4, values, NULL), 0);
    ck_assert_ptr_nonnull (values [1]);
    //  A non-map has no fields, and says so
    ck_assert_int_eq (sf_mp_fields (values [1], keys, 4, values, &unknown), -1);
    ck_assert_ptr_null (values [0]);
    ck_assert_ptr_null (unknown);
    ck_assert_int_eq (sf_mp_fields (NULL, keys, 4, values, NULL), -1);
}
END_TEST

//  A known key twice, or a key that is not a string, is refused; an
//  unknown key twice is only reported.
START_TEST (test_fields_refused)
{
    static const sf_mp_key_t keys [] = { SF_MP_KEY ("a"), SF_MP_KEY ("bb") };
    const msgpack_object *values [2];
    const msgpack_object *unknown;
    const struct {
        const char *bytes;      //  A map
        size_t size;            //  Its size
        int rc;                 //  What sf_mp_fields returns
    } cases [] = {
#define S_CASE(bytes, rc) { bytes, sizeof bytes - 1, rc }
        S_CASE ("\x82\xa1" "a\x01\xa1" "a\x02", -1),         //  {"a":1,"a":2}
        S_CASE ("\x82\xa2" "bb\x01\xa2" "bb\x02", -1),       //  {"bb":1,"bb":2}
        S_CASE ("\x82\xa1" "a\x01\x07\x02", -1),            //  {"a":1, 7:2}
        S_CASE ("\x82\xa1" "z\x01\xa1" "z\x02", 0),          //  {"z":1,"z":2}
        S_CASE ("\x81\xa1" "b\x01", 0),                     //  "b" is a prefix of "bb"
        S_CASE ("\x81\xa3" "bbb\x01", 0),                   //  "bb" is a prefix of "bbb"
#undef S_CASE
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        msgpack_object map;
        size_t offset = 0;
        const char *why;
        ck_assert_int_eq (sf_mp_next (&unpacked, cases [i].bytes, cases [i].size, &offset,
                                      &map, NULL, NULL, &why), 0);
        ck_assert_msg (sf_mp_fields (&map, keys, 2, values, &unknown) == cases [i].rc,
                       "case %zu", i);
        if (cases [i].rc == 0) {
            ck_assert_ptr_null (values [0]);
            ck_assert_ptr_null (values [1]);
            ck_assert_ptr_nonnull (unknown);
        }
        msgpack_unpacked_destroy (&unpacked);
    }
}
END_TEST

//  The packers write the shortest string header.
START_TEST (test_pack)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_mp_pack_kv_str (&pk, "k", "vv");
    sf_mp_pack_kv_uint (&pk, "u", 300);
    const unsigned char want [] = {
        0xa1, 'k', 0xa2, 'v', 'v', 0xa1, 'u', 0xcd, 0x01, 0x2c
    };
    ck_assert_uint_eq (buffer.size, sizeof want);
    ck_assert_mem_eq (buffer.data, want, sizeof want);

    //  31 characters still fit a fixstr, 32 need str8, 256 str16
    char text [257];
    memset (text, 'x', sizeof text);
    const size_t lengths [] = { 0, 31, 32, 255, 256 };
    const unsigned char headers [][3] = {
        { 0xa0 }, { 0xbf }, { 0xd9, 32 }, { 0xd9, 255 }, { 0xda, 1, 0 }
    };
    const size_t header_sizes [] = { 1, 1, 2, 2, 3 };
    for (int i = 0; i < 5; i++) {
        msgpack_sbuffer_clear (&buffer);
        text [lengths [i]] = 0;
        sf_mp_pack_str (&pk, text);
        text [lengths [i]] = 'x';
        ck_assert_uint_eq (buffer.size, header_sizes [i] + lengths [i]);
        ck_assert_mem_eq (buffer.data, headers [i], header_sizes [i]);
        ck_assert (memcmp (buffer.data + header_sizes [i], text, lengths [i]) == 0);
    }
    msgpack_sbuffer_destroy (&buffer);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_mp");

    TCase *tc = tcase_create ("formats");
    tcase_set_timeout (tc, 10);
    tcase_add_loop_test (tc, test_formats_accepted, 0, (int) S_FORMATS);
    tcase_add_test (tc, test_formats_values);
    tcase_add_test (tc, test_formats_all_and_prefixes);
    tcase_add_test (tc, test_format_bytes_agree_with_msgpack);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("lengths");
    tcase_set_timeout (tc, 10);
    tcase_add_loop_test (tc, test_lies_rejected, 0, (int) S_LIES);
    tcase_add_test (tc, test_next_refuses_lie_without_allocating);
    tcase_add_test (tc, test_empty_and_invalid);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("depth");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_depth_32_accepted);
    tcase_add_test (tc, test_depth_33_rejected);
    tcase_add_test (tc, test_depth_huge_rejected);
    tcase_add_test (tc, test_depth_33_empty_innermost_not_decoded);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("next");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_next_sequence);
    tcase_add_test (tc, test_next_stops_at_bad_value);
    tcase_add_test (tc, test_next_empty);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("helpers");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_map_setup, s_map_teardown);
    tcase_add_test (tc, test_get);
    tcase_add_test (tc, test_streq);
    tcase_add_test (tc, test_strdup);
    tcase_add_test (tc, test_strcpy);
    tcase_add_test (tc, test_uint);
    tcase_add_test (tc, test_fields);
    tcase_add_test (tc, test_fields_refused);
    tcase_add_test (tc, test_pack);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
