/*  =========================================================================
    check_sf_codec - tests of sf_codec, the message bodies

    Batches are written with sf_batchw and read back with sf_batchr: for
    0, 1 and many items, with one and two values an item, and with every
    way a body can disagree with its header (counts, trailing bytes, cuts
    at each byte). Job maps are checked field by field against the limits
    in docs/PROTOCOL.md, and each item header is packed and read back.
    Bodies under test are copied into heap blocks of their exact size so
    that an over-read shows under ASan.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <stdlib.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_json.h"
#include "sf_mp.h"

#define S_ASSERT_CONTAINS(text, part)                                          \
    ck_assert_msg ((text) && strstr ((text), (part)) != NULL,                  \
                   "\"%s\" does not contain \"%s\"", (text)? (text): "(null)", (part))

//  --------------------------------------------------------------------------
//  Copy size bytes into a heap block of exactly that size; the caller
//  frees it.

static char *
s_exact (const void *data, size_t size)
{
    char *copy = malloc (size? size: 1);
    ck_assert_ptr_nonnull (copy);
    if (size)
        memcpy (copy, data, size);
    return copy;
}

//  A decoded value that owns its memory (pair s_value_new with
//  s_value_destroy).
typedef struct {
    msgpack_sbuffer buffer;     //  The encoding
    msgpack_unpacked unpacked;  //  Holds object
    msgpack_object object;      //  The decoded value
} s_value_t;

//  Decode the single value in buffer, taking the buffer's memory; buffer
//  is left empty and ready for reuse.
static s_value_t *
s_value_decode (msgpack_sbuffer *buffer)
{
    s_value_t *self = calloc (1, sizeof *self);
    ck_assert_ptr_nonnull (self);
    self->buffer = *buffer;
    msgpack_sbuffer_init (buffer);
    msgpack_unpacked_init (&self->unpacked);
    size_t offset = 0;
    const char *why = "";
    ck_assert_msg (sf_mp_next (&self->unpacked, self->buffer.data, self->buffer.size,
                               &offset, &self->object, NULL, NULL, &why) == 0,
                   "test value does not decode: %s", why);
    ck_assert_uint_eq (offset, self->buffer.size);
    return self;
}

//  A value from JSON text (objects become maps, integers ints).
static s_value_t *
s_value_json (const char *text)
{
    json_error_t jerror;
    json_t *json = json_loads (text, JSON_DECODE_ANY, &jerror);
    ck_assert_msg (json != NULL, "bad test JSON %s: %s", text, jerror.text);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_json_pack (&pk, json);
    json_decref (json);
    return s_value_decode (&buffer);
}

static void
s_value_destroy (s_value_t **self_p)
{
    s_value_t *self = *self_p;
    msgpack_unpacked_destroy (&self->unpacked);
    msgpack_sbuffer_destroy (&self->buffer);
    free (self);
    *self_p = NULL;
}

//  A writer's body copied to an exact-size heap block; *size gets its size.
static char *
s_body (sf_batchw_t *writer, size_t *size)
{
    *size = writer->buffer.size;
    return s_exact (writer->buffer.data, writer->buffer.size);
}

//  Read a body to its end with per_item values an item, decoding second
//  values or (with decode false) only checking them; returns the last
//  return code of sf_batchr_next (1: read exactly, -1: error) or -2 when
//  sf_batchr_open failed. *items counts the items read.
static int
s_read_body (const char *data, size_t size, int per_item, bool decode, uint32_t *items,
             sf_error_t *error)
{
    sf_batchr_t reader;
    int rc = -2;
    *items = 0;
    if (sf_batchr_open (&reader, data, size, per_item, SF_BATCH_MAX, error) == 0) {
        msgpack_object head, payload;
        const char *raw;
        size_t raw_size;
        while ((rc = sf_batchr_next (&reader, &head, decode? &payload: NULL, &raw, &raw_size,
                                     error)) == 0) {
            ck_assert (raw >= data && raw + raw_size <= data + size);
            (*items)++;
        }
    }
    sf_batchr_close (&reader);
    return rc;
}

//  Read a body to its end, decoding every value.
static int
s_read_all (const char *data, size_t size, int per_item, uint32_t *items,
            sf_error_t *error)
{
    return s_read_body (data, size, per_item, true, items, error);
}

//  --------------------------------------------------------------------------
//  Round trips: single-value items.

static void
s_round_trip_single (uint32_t count)
{
    sf_batchw_t writer;
    sf_batchw_init (&writer);
    sf_batchw_reset (&writer, 0xDEADBEEFCAFEBABEull);
    size_t *starts = calloc (count + 1, sizeof *starts);
    for (uint32_t i = 0; i < count; i++) {
        starts [i] = writer.buffer.size;
        msgpack_pack_map (&writer.packer, 2);
        sf_mp_pack_kv_str (&writer.packer, "analyzer", "echo");
        sf_mp_pack_kv_uint (&writer.packer, "priority", i % 10);
        sf_batchw_item (&writer);
    }
    starts [count] = writer.buffer.size;
    sf_batchw_finish (&writer);
    size_t size;
    char *body = s_body (&writer, &size);

    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, body, size, 1, SF_BATCH_MAX, &error), 0);
    ck_assert (reader.tag == 0xDEADBEEFCAFEBABEull);
    ck_assert_uint_eq (reader.count, count);
    for (uint32_t i = 0; i < count; i++) {
        msgpack_object head;
        const char *raw = NULL;
        size_t raw_size = 0;
        ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, &raw, &raw_size, &error), 0);
        sf_jobspec_t spec;
        ck_assert_int_eq (sf_codec_job_check (&head, &spec, &error), 0);
        ck_assert_int_eq (spec.priority, (int) (i % 10));
        ck_assert_ptr_eq (raw, body + starts [i]);
        ck_assert_uint_eq (raw_size, starts [i + 1] - starts [i]);
    }
    msgpack_object head;
    ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error), 1);
    ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error), 1);
    sf_batchr_close (&reader);
    free (body);
    free (starts);
    sf_batchw_destroy (&writer);
}

START_TEST (test_single_one)
{
    s_round_trip_single (1);
}
END_TEST

START_TEST (test_single_many)
{
    s_round_trip_single (10000);
}
END_TEST

START_TEST (test_single_none)
{
    s_round_trip_single (0);
}
END_TEST

//  --------------------------------------------------------------------------
//  Round trips: two-value items (a header and a payload forwarded byte for
//  byte; raw spans the payload exactly).

static void
s_round_trip_pairs (uint32_t count)
{
    sf_batchw_t writer;
    sf_batchw_init (&writer);
    sf_batchw_reset (&writer, 7);
    size_t *starts = calloc (count + 1, sizeof *starts);
    size_t *ends = calloc (count + 1, sizeof *ends);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t id [SF_UUID_SIZE];
        memset (id, (int) (i & 0xff), sizeof id);
        sf_codec_pack_dispatch_head (&writer.packer, id, i + 1, 1000 + i);
        starts [i] = writer.buffer.size;
        msgpack_pack_array (&writer.packer, i % 4);
        for (uint32_t j = 0; j < i % 4; j++)
            msgpack_pack_uint32 (&writer.packer, i * j);
        ends [i] = writer.buffer.size;
        sf_batchw_item (&writer);
    }
    sf_batchw_finish (&writer);
    size_t size;
    char *body = s_body (&writer, &size);

    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, body, size, 2, SF_BATCH_MAX, &error), 0);
    ck_assert_uint_eq (reader.tag, 7);
    ck_assert_uint_eq (reader.count, count);
    for (uint32_t i = 0; i < count; i++) {
        msgpack_object head, payload;
        const char *raw = NULL;
        size_t raw_size = 0;
        ck_assert_int_eq (sf_batchr_next (&reader, &head, &payload, &raw, &raw_size,
                                          &error), 0);
        uint8_t id [SF_UUID_SIZE], want [SF_UUID_SIZE];
        uint32_t attempt, timeout_ms;
        ck_assert_int_eq (sf_codec_read_dispatch_head (&head, id, &attempt, &timeout_ms,
                                                       &error), 0);
        memset (want, (int) (i & 0xff), sizeof want);
        ck_assert_mem_eq (id, want, SF_UUID_SIZE);
        ck_assert_uint_eq (attempt, i + 1);
        ck_assert_uint_eq (timeout_ms, 1000 + i);
        ck_assert_int_eq (payload.type, MSGPACK_OBJECT_ARRAY);
        ck_assert_uint_eq (payload.via.array.size, i % 4);
        ck_assert_ptr_eq (raw, body + starts [i]);
        ck_assert_uint_eq (raw_size, ends [i] - starts [i]);
    }
    msgpack_object head, payload;
    ck_assert_int_eq (sf_batchr_next (&reader, &head, &payload, NULL, NULL, &error), 1);
    sf_batchr_close (&reader);

    //  Again with payloads only checked (how the broker forwards them):
    //  the same spans
    ck_assert_int_eq (sf_batchr_open (&reader, body, size, 2, SF_BATCH_MAX, &error), 0);
    for (uint32_t i = 0; i < count; i++) {
        const char *raw = NULL;
        size_t raw_size = 0;
        ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, &raw, &raw_size, &error), 0);
        ck_assert_int_eq (head.type, MSGPACK_OBJECT_MAP);
        ck_assert_ptr_eq (raw, body + starts [i]);
        ck_assert_uint_eq (raw_size, ends [i] - starts [i]);
    }
    ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error), 1);
    sf_batchr_close (&reader);
    free (body);
    free (starts);
    free (ends);
    sf_batchw_destroy (&writer);
}

START_TEST (test_pairs_one)
{
    s_round_trip_pairs (1);
}
END_TEST

START_TEST (test_pairs_many)
{
    s_round_trip_pairs (5000);
}
END_TEST

START_TEST (test_pairs_none)
{
    s_round_trip_pairs (0);
}
END_TEST

//  The header has a fixed layout (the count is patched in place), so the
//  body of an empty batch is 21 bytes and the count sits at offset 17.
START_TEST (test_header_layout)
{
    sf_batchw_t writer;
    sf_batchw_init (&writer);
    sf_batchw_reset (&writer, 0x0102030405060708ull);
    sf_batchw_finish (&writer);
    const unsigned char empty [] = {
        0x82, 0xa3, 't', 'a', 'g', 0xcf, 1, 2, 3, 4, 5, 6, 7, 8,
        0xa1, 'n', 0xce, 0, 0, 0, 0
    };
    ck_assert_uint_eq (writer.buffer.size, sizeof empty);
    ck_assert_mem_eq (writer.buffer.data, empty, sizeof empty);

    sf_batchw_reset (&writer, 1);
    for (int i = 0; i < 258; i++) {
        msgpack_pack_nil (&writer.packer);
        sf_batchw_item (&writer);
    }
    sf_batchw_finish (&writer);
    const unsigned char count [] = { 0xce, 0, 0, 1, 2 };
    ck_assert_mem_eq (writer.buffer.data + 16, count, sizeof count);
    ck_assert_uint_eq (writer.buffer.size, sizeof empty + 258);
    sf_batchw_destroy (&writer);
}
END_TEST

//  A reset starts a new body: nothing of the previous one remains.
START_TEST (test_writer_reset_reuses)
{
    sf_batchw_t writer;
    sf_batchw_init (&writer);
    sf_batchw_reset (&writer, 1);
    for (int i = 0; i < 5; i++) {
        sf_mp_pack_str (&writer.packer, "an earlier item");
        sf_batchw_item (&writer);
    }
    sf_batchw_finish (&writer);
    sf_batchw_reset (&writer, 2);
    msgpack_pack_uint8 (&writer.packer, 9);
    sf_batchw_item (&writer);
    sf_batchw_finish (&writer);

    size_t size;
    char *body = s_body (&writer, &size);
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, body, size, 1, SF_BATCH_MAX, &error), 0);
    ck_assert_uint_eq (reader.tag, 2);
    ck_assert_uint_eq (reader.count, 1);
    msgpack_object head;
    ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error), 0);
    ck_assert_uint_eq (head.via.u64, 9);
    ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error), 1);
    sf_batchr_close (&reader);
    free (body);
    sf_batchw_destroy (&writer);
}
END_TEST

//  Readers accept any integer width and key order in the header, and
//  ignore keys they do not know; without a tag the tag is 0.
START_TEST (test_header_any_width)
{
    //  {"n": 1, "x": nil, "tag": 300} then nil
    const unsigned char bytes [] = {
        0x83, 0xa1, 'n', 0x01, 0xa1, 'x', 0xc0, 0xa3, 't', 'a', 'g', 0xcd, 0x01, 0x2c, 0xc0
    };
    char *body = s_exact (bytes, sizeof bytes);
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, body, sizeof bytes, 1, 10, &error), 0);
    ck_assert_uint_eq (reader.tag, 300);
    ck_assert_uint_eq (reader.count, 1);
    sf_batchr_close (&reader);
    free (body);

    const unsigned char untagged [] = { 0x81, 0xa1, 'n', 0x00 };
    body = s_exact (untagged, sizeof untagged);
    ck_assert_int_eq (sf_batchr_open (&reader, body, sizeof untagged, 1, 10, &error), 0);
    ck_assert_uint_eq (reader.tag, 0);
    ck_assert_uint_eq (reader.count, 0);
    msgpack_object head;
    ck_assert_int_eq (sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error), 1);
    sf_batchr_close (&reader);
    free (body);
}
END_TEST

//  --------------------------------------------------------------------------
//  Bodies that disagree with their header.

//  Build a single-value body of `values` nils whose header announces
//  `announced` items.
static char *
s_nil_body (uint32_t announced, uint32_t values, size_t *size)
{
    sf_batchw_t writer;
    sf_batchw_init (&writer);
    sf_batchw_reset (&writer, 5);
    for (uint32_t i = 0; i < values; i++)
        msgpack_pack_nil (&writer.packer);
    writer.count = announced;
    sf_batchw_finish (&writer);
    char *body = s_body (&writer, size);
    sf_batchw_destroy (&writer);
    return body;
}

START_TEST (test_announced_more)
{
    size_t size;
    char *body = s_nil_body (3, 2, &size);
    uint32_t items;
    sf_error_t error;
    ck_assert_int_eq (s_read_all (body, size, 1, &items, &error), -1);
    ck_assert_uint_eq (items, 2);
    ck_assert_str_eq (error.code, "PROTOCOL");
    ck_assert_str_eq (error.message, "batch announced 3 items but holds 2");
    free (body);
}
END_TEST

START_TEST (test_announced_fewer)
{
    size_t size;
    char *body = s_nil_body (2, 3, &size);
    uint32_t items;
    sf_error_t error;
    ck_assert_int_eq (s_read_all (body, size, 1, &items, &error), -1);
    ck_assert_uint_eq (items, 2);
    ck_assert_str_eq (error.code, "PROTOCOL");
    ck_assert_str_eq (error.message, "bytes after the last of 2 items");
    free (body);
}
END_TEST

START_TEST (test_announced_none_but_has_one)
{
    size_t size;
    char *body = s_nil_body (0, 1, &size);
    uint32_t items;
    sf_error_t error;
    ck_assert_int_eq (s_read_all (body, size, 1, &items, &error), -1);
    ck_assert_uint_eq (items, 0);
    ck_assert_str_eq (error.message, "bytes after the last of 0 items");
    free (body);
}
END_TEST

START_TEST (test_trailing_bytes)
{
    size_t size;
    char *good = s_nil_body (1, 1, &size);
    //  A stray byte that is not even msgpack, then one that is
    const unsigned char tails [] = { 0xc1, 0x00 };
    for (size_t t = 0; t < sizeof tails; t++) {
        char *body = malloc (size + 1);
        memcpy (body, good, size);
        body [size] = (char) tails [t];
        uint32_t items;
        sf_error_t error;
        ck_assert_int_eq (s_read_all (body, size + 1, 1, &items, &error), -1);
        ck_assert_uint_eq (items, 1);
        ck_assert_str_eq (error.message, "bytes after the last of 1 items");
        free (body);
    }
    free (good);
}
END_TEST

//  Two values an item, and an odd number of values: the last item lacks
//  its payload.
START_TEST (test_pairs_missing_payload)
{
    size_t size;
    char *body = s_nil_body (2, 3, &size);
    uint32_t items;
    sf_error_t error;
    ck_assert_int_eq (s_read_all (body, size, 2, &items, &error), -1);
    ck_assert_uint_eq (items, 1);
    ck_assert_str_eq (error.message, "batch announced 2 items but holds 1");
    //  Payloads only checked: refused all the same
    memset (&error, 0, sizeof error);
    ck_assert_int_eq (s_read_body (body, size, 2, false, &items, &error), -1);
    ck_assert_uint_eq (items, 1);
    ck_assert_str_eq (error.code, "PROTOCOL");
    free (body);
}
END_TEST

//  A payload that is only checked is checked as thoroughly as a decoded
//  one: bad format bytes and lying lengths are refused.
START_TEST (test_pairs_bad_payload_checked)
{
    const char *payloads [] = { "\xc1", "\xdd\xff\xff\xff\xff", "\x92\x01" };
    const size_t sizes [] = { 1, 5, 2 };
    const char *whys [] = {
        "item 0: invalid msgpack format byte", "item 0: declared length exceeds the data",
        "item 0: declared length exceeds the data"
    };
    for (int i = 0; i < 3; i++) {
        sf_batchw_t writer;
        sf_batchw_init (&writer);
        sf_batchw_reset (&writer, 1);
        msgpack_pack_map (&writer.packer, 0);
        msgpack_sbuffer_write (&writer.buffer, payloads [i], sizes [i]);
        sf_batchw_item (&writer);
        sf_batchw_finish (&writer);
        size_t size;
        char *body = s_body (&writer, &size);
        for (int decode = 0; decode < 2; decode++) {
            uint32_t items;
            sf_error_t error;
            ck_assert_int_eq (s_read_body (body, size, 2, decode, &items, &error), -1);
            ck_assert_uint_eq (items, 0);
            ck_assert_str_eq (error.code, "PROTOCOL");
            ck_assert_str_eq (error.message, whys [i]);
        }
        free (body);
        sf_batchw_destroy (&writer);
    }
}
END_TEST

//  A malformed item is named by its index.
START_TEST (test_bad_item_named)
{
    sf_batchw_t writer;
    sf_batchw_init (&writer);
    sf_batchw_reset (&writer, 1);
    msgpack_pack_nil (&writer.packer);
    sf_batchw_item (&writer);
    msgpack_sbuffer_write (&writer.buffer, "\xdd\xff\xff\xff\xff", 5);
    sf_batchw_item (&writer);
    sf_batchw_finish (&writer);
    size_t size;
    char *body = s_body (&writer, &size);
    uint32_t items;
    sf_error_t error;
    ck_assert_int_eq (s_read_all (body, size, 1, &items, &error), -1);
    ck_assert_uint_eq (items, 1);
    ck_assert_str_eq (error.code, "PROTOCOL");
    ck_assert_str_eq (error.message, "item 1: declared length exceeds the data");
    free (body);
    sf_batchw_destroy (&writer);
}
END_TEST

//  A body cut at any byte is refused, never read past its end, and never
//  reported as complete.
START_TEST (test_truncated_everywhere)
{
    for (int per_item = 1; per_item <= 2; per_item++) {
        sf_batchw_t writer;
        sf_batchw_init (&writer);
        sf_batchw_reset (&writer, 99);
        for (uint32_t i = 0; i < 3; i++) {
            uint8_t id [SF_UUID_SIZE] = { (uint8_t) i };
            sf_codec_pack_outcome_head (&writer.packer, id, 1, SF_STATUS_OK, 1234567);
            if (per_item == 2) {
                msgpack_pack_map (&writer.packer, 1);
                sf_mp_pack_kv_str (&writer.packer, "value", "a payload string");
            }
            sf_batchw_item (&writer);
        }
        sf_batchw_finish (&writer);
        size_t full = writer.buffer.size;
        uint32_t items;
        sf_error_t error;
        char *body = s_exact (writer.buffer.data, full);
        ck_assert_int_eq (s_read_all (body, full, per_item, &items, &error), 1);
        ck_assert_uint_eq (items, 3);
        free (body);
        for (size_t cut = 0; cut < full; cut++) {
            body = s_exact (writer.buffer.data, cut);
            for (int decode = 0; decode < 2; decode++) {
                memset (&error, 0, sizeof error);
                int rc = s_read_body (body, cut, per_item, decode, &items, &error);
                ck_assert_msg (rc == -1 || rc == -2, "cut at %zu of %zu: rc %d", cut, full, rc);
                ck_assert_msg (items < 3, "cut at %zu: all items read", cut);
                ck_assert_str_eq (error.code, "PROTOCOL");
            }
            free (body);
        }
        sf_batchw_destroy (&writer);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  Header errors.

typedef struct {
    const char *name;           //  What is wrong
    unsigned char bytes [32];   //  The body
    size_t size;                //  Its size
    uint32_t max;               //  Limit passed to sf_batchr_open
    const char *message;        //  Expected error message
} s_bad_header_t;

static const s_bad_header_t s_bad_headers [] = {
    { "empty body", { 0 }, 0, 10, "batch header: empty body" },
    { "invalid byte", { 0xc1 }, 1, 10, "batch header: invalid msgpack format byte" },
    { "cut header", { 0x81, 0xa1, 'n' }, 3, 10, "batch header: truncated value" },
    { "array header", { 0x91, 0x01 }, 2, 10, "batch header must be a map" },
    { "nil header", { 0xc0 }, 1, 10, "batch header must be a map" },
    { "no n", { 0x81, 0xa3, 't', 'a', 'g', 0x01 }, 6, 10, "batch header needs \"n\", a count" },
    { "negative n", { 0x81, 0xa1, 'n', 0xff }, 4, 10, "batch header needs \"n\", a count" },
    { "string n", { 0x81, 0xa1, 'n', 0xa1, '1' }, 5, 10, "batch header needs \"n\", a count" },
    { "n of 2^32", { 0x81, 0xa1, 'n', 0xcf, 0, 0, 0, 1, 0, 0, 0, 0 }, 12, UINT32_MAX,
      "batch header needs \"n\", a count" },
    { "n above max", { 0x81, 0xa1, 'n', 0x05 }, 4, 4,
      "batch of 5 items is above the limit of 4" },
    { "n above SF_BATCH_MAX", { 0x81, 0xa1, 'n', 0xce, 0, 0x01, 0x86, 0xa1 }, 8, SF_BATCH_MAX,
      "batch of 100001 items is above the limit of 100000" },
    { "n of UINT32_MAX", { 0x81, 0xa1, 'n', 0xce, 0xff, 0xff, 0xff, 0xff }, 8, SF_BATCH_MAX,
      "batch of 4294967295 items is above the limit of 100000" },
    { "string tag", { 0x82, 0xa1, 'n', 0x00, 0xa3, 't', 'a', 'g', 0xa1, '1' }, 10, 10,
      "batch header \"tag\" must be an unsigned integer" },
    { "negative tag", { 0x82, 0xa1, 'n', 0x00, 0xa3, 't', 'a', 'g', 0xff }, 9, 10,
      "batch header \"tag\" must be an unsigned integer" },
};
#define S_BAD_HEADERS (sizeof s_bad_headers / sizeof s_bad_headers [0])

START_TEST (test_bad_header)
{
    const s_bad_header_t *bad = &s_bad_headers [_i];
    char *body = s_exact (bad->bytes, bad->size);
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_msg (sf_batchr_open (&reader, body, bad->size, 1, bad->max, &error) == -1,
                   "%s: accepted", bad->name);
    ck_assert_str_eq (error.code, "PROTOCOL");
    ck_assert_msg (strcmp (error.message, bad->message) == 0, "%s: \"%s\", want \"%s\"",
                   bad->name, error.message, bad->message);
    sf_batchr_close (&reader);
    free (body);
}
END_TEST

//  n equal to the limit is allowed (the count then has to be honoured).
START_TEST (test_n_at_max)
{
    size_t size;
    char *body = s_nil_body (4, 4, &size);
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, body, size, 1, 4, &error), 0);
    ck_assert_uint_eq (reader.count, 4);
    sf_batchr_close (&reader);
    ck_assert_int_eq (sf_batchr_open (&reader, body, size, 1, 3, &error), -1);
    ck_assert_str_eq (error.message, "batch of 4 items is above the limit of 3");
    sf_batchr_close (&reader);
    free (body);
}
END_TEST

//  The tag is read before anything else can fail, so that the error reply
//  can name the request it answers.
START_TEST (test_tag_survives_header_error)
{
    //  {"tag": 77, "n": 5} with a limit of 4
    const unsigned char bytes [] = { 0x82, 0xa3, 't', 'a', 'g', 77, 0xa1, 'n', 5 };
    char *body = s_exact (bytes, sizeof bytes);
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, body, sizeof bytes, 1, 4, &error), -1);
    ck_assert_str_eq (error.message, "batch of 5 items is above the limit of 4");
    ck_assert_uint_eq (reader.tag, 77);
    sf_batchr_close (&reader);
    free (body);
}
END_TEST

//  --------------------------------------------------------------------------
//  Job maps.

START_TEST (test_job_full)
{
    s_value_t *job = s_value_json (
        "{\"analyzer\":\"rsi.v2\",\"symbol\":\"AAPL\",\"timeframe\":\"1m\","
        "\"params\":{\"period\":14},\"priority\":9,\"timeout_ms\":4294967295,"
        "\"retries\":100,\"key\":\"k-1\"}");
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), 0);
    ck_assert_uint_eq (spec.analyzer_size, 6);
    ck_assert_mem_eq (spec.analyzer, "rsi.v2", 6);
    ck_assert_int_eq (spec.priority, 9);
    ck_assert_uint_eq (spec.timeout_ms, UINT32_MAX);
    ck_assert_uint_eq (spec.retries, 100);
    ck_assert_uint_eq (spec.key_size, 3);
    ck_assert_mem_eq (spec.key, "k-1", 3);
    //  Strings point into the decoded object, not into copies
    ck_assert_ptr_eq (spec.analyzer, sf_mp_get (&job->object, "analyzer")->via.str.ptr);
    s_value_destroy (&job);
}
END_TEST

START_TEST (test_job_defaults)
{
    s_value_t *job = s_value_json ("{\"analyzer\":\"echo\"}");
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), 0);
    ck_assert_int_eq (spec.priority, SF_PRIORITY_DEFAULT);
    ck_assert_int_eq (spec.priority, 5);
    ck_assert_uint_eq (spec.timeout_ms, 30000);
    ck_assert_uint_eq (spec.retries, 3);
    ck_assert_ptr_null (spec.key);
    ck_assert_uint_eq (spec.key_size, 0);
    s_value_destroy (&job);
}
END_TEST

//  Limits that must still be accepted.
static const char *s_good_jobs [] = {
    "{\"analyzer\":\"a\"}",
    "{\"analyzer\":\"0123456789_abcdefghijklmnopqrstuvwxyz-.0123456789abcdefghijklmno\"}",
    "{\"analyzer\":\"x\",\"symbol\":\"S\"}",
    "{\"analyzer\":\"x\",\"symbol\":\"SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\"}",
    "{\"analyzer\":\"x\",\"timeframe\":\"tttttttttttttttt\"}",
    "{\"analyzer\":\"x\",\"priority\":0}",
    "{\"analyzer\":\"x\",\"timeout_ms\":1}",
    "{\"analyzer\":\"x\",\"retries\":0}",
    "{\"analyzer\":\"x\",\"params\":{}}",
    "{\"analyzer\":\"x\",\"params\":{\"nested\":{\"a\":[1,2.5,null,true,\"s\"]}}}",
    "{\"symbol\":\"field order does not matter\",\"analyzer\":\"x\"}",
    "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"priority\":9,\"params\":{\"a\":1}}}",
};
#define S_GOOD_JOBS (sizeof s_good_jobs / sizeof s_good_jobs [0])

START_TEST (test_job_good)
{
    s_value_t *job = s_value_json (s_good_jobs [_i]);
    sf_jobspec_t spec;
    sf_error_t error = { "", "" };
    ck_assert_msg (sf_codec_job_check (&job->object, &spec, &error) == 0,
                   "%s refused: %s", s_good_jobs [_i], error.message);
    s_value_destroy (&job);
}
END_TEST

//  A job whose one bad field is named in the error.
typedef struct {
    const char *json;           //  The job
    const char *message;        //  What the error message must contain
} s_bad_job_t;

static const s_bad_job_t s_bad_jobs [] = {
    { "[1]", "a job must be a map" },
    { "\"echo\"", "a job must be a map" },
    { "{}", "\"analyzer\" must be a name of 1-64 characters [a-z0-9_.-]" },
    { "{\"analyzer\":\"\"}", "\"analyzer\" must be a name" },
    { "{\"analyzer\":\"Echo\"}", "\"analyzer\" must be a name" },
    { "{\"analyzer\":\"e cho\"}", "\"analyzer\" must be a name" },
    { "{\"analyzer\":\"e/cho\"}", "\"analyzer\" must be a name" },
    { "{\"analyzer\":7}", "\"analyzer\" must be a name" },
    { "{\"analyzer\":\"0123456789_abcdefghijklmnopqrstuvwxyz-.0123456789abcdefghijklmnop\"}",
      "\"analyzer\" must be a name" },
    { "{\"analyzer\":\"x\",\"colour\":\"red\"}", "unknown job field \"colour\"" },
    { "{\"analyzer\":\"x\",\"Symbol\":\"A\"}", "unknown job field \"Symbol\"" },
    { "{\"analyzer\":\"x\",\"symbol\":\"\"}", "\"symbol\" must be a string of 1-64 characters" },
    { "{\"analyzer\":\"x\",\"symbol\":5}", "\"symbol\" must be a string of 1-64 characters" },
    { "{\"analyzer\":\"x\",\"symbol\":"
      "\"SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\"}",
      "\"symbol\" must be a string of 1-64 characters" },
    { "{\"analyzer\":\"x\",\"timeframe\":\"ttttttttttttttttt\"}",
      "\"timeframe\" must be a string of 1-16 characters" },
    { "{\"analyzer\":\"x\",\"timeframe\":null}",
      "\"timeframe\" must be a string of 1-16 characters" },
    { "{\"analyzer\":\"x\",\"key\":\"\"}", "\"key\" must be a string of 1-256 characters" },
    { "{\"analyzer\":\"x\",\"params\":[]}", "\"params\" must be a map" },
    { "{\"analyzer\":\"x\",\"params\":\"p=1\"}", "\"params\" must be a map" },
    { "{\"analyzer\":\"x\",\"priority\":10}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"priority\":-1}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"priority\":\"5\"}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"priority\":5.0}", "\"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"timeout_ms\":0}",
      "\"timeout_ms\" must be an integer 1-4294967295" },
    { "{\"analyzer\":\"x\",\"timeout_ms\":4294967296}",
      "\"timeout_ms\" must be an integer 1-4294967295" },
    { "{\"analyzer\":\"x\",\"timeout_ms\":-5}",
      "\"timeout_ms\" must be an integer 1-4294967295" },
    { "{\"analyzer\":\"x\",\"retries\":101}", "\"retries\" must be an integer 0-100" },
    { "{\"analyzer\":\"x\",\"retries\":true}", "\"retries\" must be an integer 0-100" },
    //  A follow-up is checked like a job, and the error says where
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"priority\":10}}",
      "\"then\": \"priority\" must be an integer 0-9" },
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"then\":{\"analyzer\":\"Z\"}}}",
      "\"then\": \"then\": \"analyzer\" must be a name" },
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"colour\":1}}",
      "\"then\": unknown job field \"colour\"" },
    { "{\"analyzer\":\"x\",\"then\":[1]}", "\"then\": a follow-up must be a job map" },
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"key\":\"k\"}}",
      "\"then\": a follow-up may not have a \"key\"" },
    { "{\"analyzer\":\"x\",\"then\":{\"analyzer\":\"y\",\"state\":\"s\"}}",
      "\"then\": \"state\" is set by the broker" },
};
#define S_BAD_JOBS (sizeof s_bad_jobs / sizeof s_bad_jobs [0])

START_TEST (test_job_bad)
{
    const s_bad_job_t *bad = &s_bad_jobs [_i];
    s_value_t *job = s_value_json (bad->json);
    sf_jobspec_t spec;
    sf_error_t error = { "", "" };
    ck_assert_msg (sf_codec_job_check (&job->object, &spec, &error) == -1,
                   "%s: accepted", bad->json);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, bad->message) != NULL,
                   "%s: message \"%s\" lacks \"%s\"", bad->json, error.message, bad->message);
    s_value_destroy (&job);
}
END_TEST

//  A job with depth follow-ups nested ("then" in "then" ...), as JSON.
static char *
s_chain_json (int depth)
{
    char *text = strdup ("{\"analyzer\":\"last\"}");
    for (int i = 0; i < depth; i++) {
        char *outer;
        ck_assert_int_ge (asprintf (&outer, "{\"analyzer\":\"a%d\",\"then\":%s}", i, text), 0);
        free (text);
        text = outer;
    }
    return text;
}

START_TEST (test_job_chain_depth)
{
    //  Eight follow-ups are the most; a ninth is refused with its path
    char *text = s_chain_json (SF_CHAIN_MAX);
    s_value_t *job = s_value_json (text);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), 0);
    ck_assert_ptr_eq (spec.then, sf_mp_get (&job->object, "then"));
    s_value_destroy (&job);
    free (text);
    text = s_chain_json (SF_CHAIN_MAX + 1);
    job = s_value_json (text);
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_msg (strstr (error.message, "\"then\" nests more than 8 follow-ups"), "%s",
                   error.message);
    ck_assert_msg (strncmp (error.message, "\"then\": \"then\": ", 16) == 0, "%s",
                   error.message);
    s_value_destroy (&job);
    free (text);
    job = s_value_json ("{\"analyzer\":\"x\"}");
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), 0);
    ck_assert_ptr_null (spec.then);
    s_value_destroy (&job);
}
END_TEST

START_TEST (test_follow_up_map)
{
    //  The follow-up keeps its fields and params; "previous" is the first
    //  job's id, analyzer and result, replacing one the follow-up had
    s_value_t *then = s_value_json ("{\"analyzer\":\"echo\",\"params\":{\"a\":1,"
                                    "\"previous\":\"mine\",\"b\":[2]},\"priority\":7}");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    uint8_t id [SF_UUID_SIZE];
    memset (id, 0xab, sizeof id);
    const char payload [] = "\x81\xa1x\x2a";                //  {"x": 42}
    sf_codec_pack_follow_up (&pk, &then->object, id, "sma", payload, sizeof payload - 1);
    s_value_t *next = s_value_decode (&buffer);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&next->object, &spec, &error), 0);
    ck_assert_int_eq (spec.priority, 7);
    ck_assert_int_eq (next->object.via.map.size, 3);
    const msgpack_object *params = sf_mp_get (&next->object, "params");
    ck_assert_int_eq (params->via.map.size, 3);
    ck_assert_int_eq (sf_mp_get (params, "a")->via.u64, 1);
    ck_assert_int_eq (sf_mp_get (params, "b")->via.array.size, 1);
    const msgpack_object *previous = sf_mp_get (params, "previous");
    ck_assert_int_eq (previous->type, MSGPACK_OBJECT_MAP);
    char text [SF_UUID_STRLEN + 1];
    sf_uuid_str (id, text);
    const msgpack_object *got = sf_mp_get (previous, "id");
    ck_assert_int_eq (got->type, MSGPACK_OBJECT_STR);
    ck_assert_int_eq (got->via.str.size, SF_UUID_STRLEN);
    ck_assert_mem_eq (got->via.str.ptr, text, SF_UUID_STRLEN);
    ck_assert_int_eq (sf_mp_get (previous, "analyzer")->via.str.size, 3);
    ck_assert_int_eq (sf_mp_get (sf_mp_get (previous, "result"), "x")->via.u64, 42);
    s_value_destroy (&next);
    s_value_destroy (&then);

    //  Without params, the follow-up gets params with "previous" alone
    then = s_value_json ("{\"analyzer\":\"echo\"}");
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_codec_pack_follow_up (&pk, &then->object, id, "sma", "\xc0", 1);
    next = s_value_decode (&buffer);
    params = sf_mp_get (&next->object, "params");
    ck_assert_int_eq (params->via.map.size, 1);
    ck_assert_int_eq (sf_mp_get (sf_mp_get (params, "previous"), "result")->type,
                      MSGPACK_OBJECT_NIL);
    s_value_destroy (&next);
    s_value_destroy (&then);
    msgpack_sbuffer_destroy (&buffer);
}
END_TEST

//  A key of 256 characters is the longest accepted; 257 is refused.
START_TEST (test_job_key_limit)
{
    char text [400];
    char key [258];
    memset (key, 'k', 256);
    key [256] = 0;
    snprintf (text, sizeof text, "{\"analyzer\":\"x\",\"key\":\"%s\"}", key);
    s_value_t *job = s_value_json (text);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), 0);
    ck_assert_uint_eq (spec.key_size, 256);
    s_value_destroy (&job);

    strcat (key, "k");
    snprintf (text, sizeof text, "{\"analyzer\":\"x\",\"key\":\"%s\"}", key);
    job = s_value_json (text);
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.message, "\"key\" must be a string of 1-256 characters");
    s_value_destroy (&job);
}
END_TEST

//  An idempotency key is used as a C string by stores: no NUL inside.
START_TEST (test_job_key_nul)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "echo");
    sf_mp_pack_str (&pk, "key");
    msgpack_pack_str (&pk, 3);
    msgpack_pack_str_body (&pk, "a\0b", 3);
    s_value_t *job = s_value_decode (&buffer);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_str_eq (error.message, "\"key\" must not contain a NUL character");
    s_value_destroy (&job);
}
END_TEST

//  state_key: a string of 1-256 bytes; state: never from a client.
START_TEST (test_job_state_fields)
{
    s_value_t *job = s_value_json ("{\"analyzer\":\"rsi\",\"state_key\":\"goog-rsi\"}");
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), 0);
    ck_assert_uint_eq (spec.state_key_size, 8);
    ck_assert_int_eq (memcmp (spec.state_key, "goog-rsi", 8), 0);
    s_value_destroy (&job);

    job = s_value_json ("{\"analyzer\":\"rsi\",\"state_key\":\"\"}");
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.message, "\"state_key\" must be a string of 1-256 characters");
    s_value_destroy (&job);
    job = s_value_json ("{\"analyzer\":\"rsi\",\"state_key\":7}");
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    s_value_destroy (&job);

    //  A client's "state", and a NUL in the key
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_str (&pk, "analyzer", "rsi");
    sf_mp_pack_kv_str (&pk, "state_key", "k");
    sf_mp_pack_str (&pk, "state");
    msgpack_pack_bin (&pk, 2);
    msgpack_pack_bin_body (&pk, "xy", 2);
    job = s_value_decode (&buffer);
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_str_eq (error.message, "\"state\" is set by the broker, not by clients");
    s_value_destroy (&job);
    msgpack_sbuffer_init (&buffer);
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "rsi");
    sf_mp_pack_str (&pk, "state_key");
    msgpack_pack_str (&pk, 3);
    msgpack_pack_str_body (&pk, "a\0b", 3);
    job = s_value_decode (&buffer);
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.message, "\"state_key\" must not contain a NUL character");
    s_value_destroy (&job);
}
END_TEST

//  The broker's dispatch form: the job with "state" set, replaced if there.
START_TEST (test_job_with_state)
{
    s_value_t *job = s_value_json ("{\"analyzer\":\"rsi\",\"state_key\":\"k\","
                                   "\"params\":{\"period\":14}}");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_codec_pack_job_state (&pk, &job->object, "\x01\x02\x03", 3);
    s_value_t *with = s_value_decode (&buffer);
    ck_assert_uint_eq (with->object.via.map.size, 4);
    ck_assert (sf_mp_streq (sf_mp_get (&with->object, "analyzer"), "rsi"));
    ck_assert_uint_eq (sf_mp_get (sf_mp_get (&with->object, "params"), "period")->via.u64, 14);
    const msgpack_object *state = sf_mp_get (&with->object, "state");
    ck_assert_int_eq (state->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq (state->via.bin.size, 3);
    ck_assert_int_eq (memcmp (state->via.bin.ptr, "\x01\x02\x03", 3), 0);

    //  Again over the result: still one "state", the new one
    msgpack_sbuffer_init (&buffer);
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    sf_codec_pack_job_state (&pk, &with->object, "", 0);
    s_value_t *again = s_value_decode (&buffer);
    ck_assert_uint_eq (again->object.via.map.size, 4);
    ck_assert_uint_eq (sf_mp_get (&again->object, "state")->via.bin.size, 0);
    s_value_destroy (&again);
    s_value_destroy (&with);
    s_value_destroy (&job);
}
END_TEST

//  What JSON cannot express: repeated and non-string keys, bin strings.
START_TEST (test_job_duplicate_field)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_str (&pk, "analyzer", "echo");
    sf_mp_pack_kv_uint (&pk, "priority", 1);
    sf_mp_pack_kv_uint (&pk, "priority", 9);
    s_value_t *job = s_value_decode (&buffer);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_str_eq (error.message, "job field names must be strings, each at most once");
    s_value_destroy (&job);

    msgpack_sbuffer_init (&buffer);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "echo");
    sf_mp_pack_kv_str (&pk, "analyzer", "evil");
    job = s_value_decode (&buffer);
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.message, "job field names must be strings, each at most once");
    s_value_destroy (&job);
}
END_TEST

START_TEST (test_job_nonstring_key)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_str (&pk, "analyzer", "echo");
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, 2);
    s_value_t *job = s_value_decode (&buffer);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    ck_assert_str_eq (error.message, "job field names must be strings, each at most once");
    s_value_destroy (&job);
}
END_TEST

START_TEST (test_job_bin_strings)
{
    //  bin where a str belongs: analyzer and symbol
    for (int field = 0; field < 2; field++) {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, field + 1);
        sf_mp_pack_str (&pk, "analyzer");
        if (field == 0) {
            msgpack_pack_bin (&pk, 4);
            msgpack_pack_bin_body (&pk, "echo", 4);
        }
        else {
            sf_mp_pack_str (&pk, "echo");
            sf_mp_pack_str (&pk, "symbol");
            msgpack_pack_bin (&pk, 4);
            msgpack_pack_bin_body (&pk, "AAPL", 4);
        }
        s_value_t *job = s_value_decode (&buffer);
        sf_jobspec_t spec;
        sf_error_t error;
        ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
        S_ASSERT_CONTAINS (error.message, field == 0? "\"analyzer\"": "\"symbol\"");
        s_value_destroy (&job);
    }
}
END_TEST

//  An unknown field's name is quoted, but cut at 64 characters.
START_TEST (test_job_long_unknown_field)
{
    char name [301];
    for (int i = 0; i < 300; i++)
        name [i] = (char) ('a' + i % 26);
    name [300] = 0;
    char text [400];
    snprintf (text, sizeof text, "{\"analyzer\":\"x\",\"%s\":1}", name);
    s_value_t *job = s_value_json (text);
    sf_jobspec_t spec;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_job_check (&job->object, &spec, &error), -1);
    char want [100];
    snprintf (want, sizeof want, "unknown job field \"%.64s\"", name);
    ck_assert_str_eq (error.message, want);
    s_value_destroy (&job);
}
END_TEST

START_TEST (test_name_valid)
{
    ck_assert (sf_codec_name_valid ("sma", 3));
    ck_assert (sf_codec_name_valid ("a.b-c_d9", 8));
    ck_assert (sf_codec_name_valid ("-", 1));
    ck_assert (!sf_codec_name_valid ("", 0));
    ck_assert (!sf_codec_name_valid ("SMA", 3));
    ck_assert (!sf_codec_name_valid ("s ma", 4));
    ck_assert (!sf_codec_name_valid ("sm\0a", 4));     //  Length, not NUL, ends it
    ck_assert (!sf_codec_name_valid ("\xc3\xa9t\xc3\xa9", 6));
    char name [66];
    memset (name, 'a', sizeof name);
    ck_assert (sf_codec_name_valid (name, 64));
    ck_assert (!sf_codec_name_valid (name, 65));
}
END_TEST

//  --------------------------------------------------------------------------
//  Item headers: pack and read back.

static const uint8_t s_id [SF_UUID_SIZE] = {
    0x01, 0x8f, 0x3a, 0x5c, 0x11, 0x22, 0x7a, 0xbc,
    0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
};

//  A fresh packer over a fresh buffer (fixture for the header tests).
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

START_TEST (test_dispatch_head)
{
    sf_codec_pack_dispatch_head (&s_pk, s_id, UINT32_MAX, 2500);
    s_value_t *head = s_value_decode (&s_buffer);
    uint8_t id [SF_UUID_SIZE];
    uint32_t attempt = 0, timeout_ms = 0;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_read_dispatch_head (&head->object, id, &attempt, &timeout_ms,
                                                   &error), 0);
    ck_assert_mem_eq (id, s_id, SF_UUID_SIZE);
    ck_assert_uint_eq (attempt, UINT32_MAX);
    ck_assert_uint_eq (timeout_ms, 2500);
    ck_assert_uint_eq (head->object.via.map.size, 3);
    s_value_destroy (&head);
}
END_TEST

START_TEST (test_dispatch_head_bad)
{
    uint8_t id [SF_UUID_SIZE];
    uint32_t attempt, timeout_ms;
    sf_error_t error;
    //  Short id
    msgpack_pack_map (&s_pk, 3);
    sf_mp_pack_str (&s_pk, "id");
    msgpack_pack_bin (&s_pk, 15);
    msgpack_pack_bin_body (&s_pk, s_id, 15);
    sf_mp_pack_kv_uint (&s_pk, "attempt", 1);
    sf_mp_pack_kv_uint (&s_pk, "timeout_ms", 1);
    s_value_t *head = s_value_decode (&s_buffer);
    ck_assert_int_eq (sf_codec_read_dispatch_head (&head->object, id, &attempt, &timeout_ms,
                                                   &error), -1);
    ck_assert_str_eq (error.code, "PROTOCOL");
    ck_assert_str_eq (error.message, "dispatch header needs \"id\", 16 bytes");
    s_value_destroy (&head);

    //  attempt above 32 bits
    msgpack_pack_map (&s_pk, 3);
    sf_mp_pack_str (&s_pk, "id");
    msgpack_pack_bin (&s_pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&s_pk, s_id, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (&s_pk, "attempt", (uint64_t) UINT32_MAX + 1);
    sf_mp_pack_kv_uint (&s_pk, "timeout_ms", 1);
    head = s_value_decode (&s_buffer);
    ck_assert_int_eq (sf_codec_read_dispatch_head (&head->object, id, &attempt, &timeout_ms,
                                                   &error), -1);
    ck_assert_str_eq (error.message, "dispatch header needs \"attempt\" and \"timeout_ms\"");
    s_value_destroy (&head);

    //  Not a map
    head = s_value_json ("[1,2,3]");
    ck_assert_int_eq (sf_codec_read_dispatch_head (&head->object, id, &attempt, &timeout_ms,
                                                   &error), -1);
    s_value_destroy (&head);
}
END_TEST

START_TEST (test_outcome_head)
{
    for (sf_status_t status = SF_STATUS_OK; status < SF_STATUS_INVALID; status++) {
        sf_codec_pack_outcome_head (&s_pk, s_id, 2, status, UINT64_MAX - status);
        s_value_t *head = s_value_decode (&s_buffer);
        uint8_t id [SF_UUID_SIZE];
        uint32_t attempt = 0;
        sf_status_t read_status = SF_STATUS_INVALID;
        uint64_t run_us = 0;
        sf_error_t error;
        ck_assert_int_eq (sf_codec_read_outcome_head (&head->object, id, &attempt,
                                                      &read_status, &run_us, &error), 0);
        ck_assert_mem_eq (id, s_id, SF_UUID_SIZE);
        ck_assert_uint_eq (attempt, 2);
        ck_assert_int_eq (read_status, status);
        ck_assert (run_us == UINT64_MAX - status);
        ck_assert (sf_mp_streq (sf_mp_get (&head->object, "status"), sf_status_name (status)));
        s_value_destroy (&head);
    }
}
END_TEST

//  The outcome header with a state: five keys, the state read back as
//  bytes; without one, no state; a state that is not a bin is refused.
START_TEST (test_outcome_head_state)
{
    static char big [100000];
    memset (big, 0x5a, sizeof big);
    sf_codec_pack_outcome_head_state (&s_pk, s_id, 3, SF_STATUS_OK, 77, big, sizeof big);
    s_value_t *head = s_value_decode (&s_buffer);
    ck_assert_uint_eq (head->object.via.map.size, 5);
    uint8_t id [SF_UUID_SIZE];
    uint32_t attempt;
    sf_status_t status;
    uint64_t run_us;
    sf_error_t error;
    ck_assert_int_eq (sf_codec_read_outcome_head (&head->object, id, &attempt, &status, &run_us,
                                                  &error), 0);
    ck_assert_uint_eq (attempt, 3);
    const char *state;
    size_t size;
    ck_assert_int_eq (sf_codec_read_outcome_state (&head->object, &state, &size), 0);
    ck_assert_uint_eq (size, sizeof big);
    ck_assert_int_eq (memcmp (state, big, size), 0);
    s_value_destroy (&head);

    sf_codec_pack_outcome_head (&s_pk, s_id, 3, SF_STATUS_OK, 77);
    head = s_value_decode (&s_buffer);
    ck_assert_int_eq (sf_codec_read_outcome_state (&head->object, &state, &size), 0);
    ck_assert_ptr_null (state);
    ck_assert_uint_eq (size, 0);
    s_value_destroy (&head);

    head = s_value_json ("{\"state\":\"text\"}");
    ck_assert_int_eq (sf_codec_read_outcome_state (&head->object, &state, &size), -1);
    s_value_destroy (&head);
}
END_TEST

//  Build an outcome head from parts; status NULL leaves it out.
static s_value_t *
s_outcome (const char *status, bool with_attempt, bool with_run_us)
{
    msgpack_pack_map (&s_pk, 1 + (status != NULL) + with_attempt + with_run_us);
    sf_mp_pack_str (&s_pk, "id");
    msgpack_pack_bin (&s_pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&s_pk, s_id, SF_UUID_SIZE);
    if (status)
        sf_mp_pack_kv_str (&s_pk, "status", status);
    if (with_attempt)
        sf_mp_pack_kv_uint (&s_pk, "attempt", 1);
    if (with_run_us)
        sf_mp_pack_kv_uint (&s_pk, "run_us", 77);
    return s_value_decode (&s_buffer);
}

START_TEST (test_outcome_head_bad)
{
    uint8_t id [SF_UUID_SIZE];
    uint32_t attempt;
    sf_status_t status;
    uint64_t run_us = 5;
    sf_error_t error;

    s_value_t *head = s_outcome ("ok", true, false);
    ck_assert_int_eq (sf_codec_read_outcome_head (&head->object, id, &attempt, &status,
                                                  &run_us, &error), 0);
    ck_assert_uint_eq (run_us, 0);          //  Absent run_us reads as 0
    s_value_destroy (&head);

    const char *statuses [] = { "fine", "OK", "invalid", "", NULL };
    for (int i = 0; i < 5; i++) {
        head = s_outcome (statuses [i], true, true);
        ck_assert_int_eq (sf_codec_read_outcome_head (&head->object, id, &attempt, &status,
                                                      &run_us, &error), -1);
        ck_assert_str_eq (error.message, "result header needs a known \"status\"");
        s_value_destroy (&head);
    }
    head = s_outcome ("ok", false, true);
    ck_assert_int_eq (sf_codec_read_outcome_head (&head->object, id, &attempt, &status,
                                                  &run_us, &error), -1);
    ck_assert_str_eq (error.message, "result header needs \"attempt\"");
    s_value_destroy (&head);
}
END_TEST

START_TEST (test_result_head)
{
    sf_result_head_t in = {
        .status = SF_STATUS_TIMEOUT, .analyzer = "rsi", .worker = "worker-7",
        .attempts = 4, .queued_us = 11, .run_us = 22, .total_us = UINT64_MAX
    };
    memcpy (in.id, s_id, SF_UUID_SIZE);
    sf_codec_pack_result_head (&s_pk, &in);
    s_value_t *head = s_value_decode (&s_buffer);
    sf_result_head_t out;
    char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1];
    sf_error_t error;
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), 0);
    ck_assert_mem_eq (out.id, s_id, SF_UUID_SIZE);
    ck_assert_int_eq (out.status, SF_STATUS_TIMEOUT);
    ck_assert_str_eq (out.analyzer, "rsi");
    ck_assert_ptr_eq (out.analyzer, analyzer);
    ck_assert_str_eq (out.worker, "worker-7");
    ck_assert_ptr_eq (out.worker, worker);
    ck_assert_uint_eq (out.attempts, 4);
    ck_assert_uint_eq (out.queued_us, 11);
    ck_assert_uint_eq (out.run_us, 22);
    ck_assert (out.total_us == UINT64_MAX);
    s_value_destroy (&head);
}
END_TEST

//  Build a result head from JSON with the id added.
static s_value_t *
s_result (const char *fields_json)
{
    json_t *json = json_loads (fields_json, 0, NULL);
    ck_assert_ptr_nonnull (json);
    msgpack_pack_map (&s_pk, json_object_size (json) + 1);
    sf_mp_pack_str (&s_pk, "id");
    msgpack_pack_bin (&s_pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&s_pk, s_id, SF_UUID_SIZE);
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value) {
        sf_mp_pack_str (&s_pk, key);
        sf_json_pack (&s_pk, value);
    }
    json_decref (json);
    return s_value_decode (&s_buffer);
}

START_TEST (test_result_head_index)
{
    //  A group item carries its index; a plain result has none
    sf_result_head_t in = { .status = SF_STATUS_OK, .analyzer = "echo", .worker = "",
                            .attempts = 1, .indexed = true, .index = 99999 };
    memcpy (in.id, s_id, SF_UUID_SIZE);
    sf_codec_pack_result_head (&s_pk, &in);
    s_value_t *head = s_value_decode (&s_buffer);
    sf_result_head_t out;
    char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1];
    sf_error_t error;
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), 0);
    ck_assert (out.indexed);
    ck_assert_uint_eq (out.index, 99999);
    s_value_destroy (&head);
    head = s_result ("{\"status\": \"ok\", \"analyzer\": \"echo\", \"attempts\": 1}");
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), 0);
    ck_assert (!out.indexed);
    s_value_destroy (&head);
    head = s_result ("{\"status\": \"ok\", \"analyzer\": \"echo\", \"attempts\": 1,"
                     " \"index\": -1}");
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), -1);
    ck_assert_str_eq (error.code, "PROTOCOL");
    s_value_destroy (&head);
}
END_TEST

START_TEST (test_result_head_then)
{
    //  A job that started a follow-up names it; others have no "then"
    sf_result_head_t in = { .status = SF_STATUS_OK, .analyzer = "echo", .worker = "w",
                            .attempts = 1, .chained = true };
    memcpy (in.id, s_id, SF_UUID_SIZE);
    memset (in.then, 0x5a, SF_UUID_SIZE);
    sf_codec_pack_result_head (&s_pk, &in);
    s_value_t *head = s_value_decode (&s_buffer);
    sf_result_head_t out;
    char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1];
    sf_error_t error;
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), 0);
    ck_assert (out.chained);
    ck_assert_mem_eq (out.then, in.then, SF_UUID_SIZE);
    s_value_destroy (&head);
    head = s_result ("{\"status\": \"ok\", \"analyzer\": \"echo\", \"attempts\": 1}");
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), 0);
    ck_assert (!out.chained);
    s_value_destroy (&head);
    head = s_result ("{\"status\": \"ok\", \"analyzer\": \"echo\", \"attempts\": 1,"
                     " \"then\": \"short\"}");
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), -1);
    ck_assert_str_eq (error.code, "PROTOCOL");
    s_value_destroy (&head);
}
END_TEST

START_TEST (test_group_opts)
{
    sf_group_opts_t opts;
    sf_error_t error;
    s_value_t *header = s_value_json ("{\"tag\": 1, \"n\": 2}");
    ck_assert_int_eq (sf_codec_read_group_opts (&header->object, &opts, &error), 0);
    ck_assert_int_eq (opts.policy, SF_POLICY_ALL);
    ck_assert_uint_eq (opts.min_ok, 0);
    ck_assert_uint_eq (opts.timeout_ms, 0);
    ck_assert (!opts.stream && !opts.then);
    s_value_destroy (&header);
    header = s_value_json ("{\"n\": 2, \"policy\": \"any\", \"min_ok\": 2,"
                           " \"timeout_ms\": 4294967295, \"stream\": true, \"then\": true}");
    ck_assert_int_eq (sf_codec_read_group_opts (&header->object, &opts, &error), 0);
    ck_assert_int_eq (opts.policy, SF_POLICY_ANY);
    ck_assert_uint_eq (opts.min_ok, 2);
    ck_assert_uint_eq (opts.timeout_ms, UINT32_MAX);
    ck_assert (opts.stream && opts.then);
    s_value_destroy (&header);
    const char *bad [] = {
        "{\"policy\": \"most\"}", "{\"policy\": 1}", "{\"min_ok\": 100001}",
        "{\"min_ok\": -1}", "{\"timeout_ms\": 4294967296}", "{\"stream\": 1}",
        "{\"then\": \"yes\"}"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        header = s_value_json (bad [i]);
        ck_assert_msg (sf_codec_read_group_opts (&header->object, &opts, &error) == -1,
                       "accepted %s", bad [i]);
        ck_assert_str_eq (error.code, "PROTOCOL");
        s_value_destroy (&header);
    }
    //  A key: kept as given; a wrong one is the caller's input, like a job's
    header = s_value_json ("{\"n\": 1, \"key\": \"schedule:daily:2026-03-30T05:00:00Z\"}");
    ck_assert_int_eq (sf_codec_read_group_opts (&header->object, &opts, &error), 0);
    ck_assert_int_eq (opts.key_size, 35);
    ck_assert (memcmp (opts.key, "schedule:daily:2026-03-30T05:00:00Z", 35) == 0);
    s_value_destroy (&header);
    char long_key [300];
    snprintf (long_key, sizeof long_key, "{\"key\": \"%0257d\"}", 0);
    const char *bad_keys [] = { "{\"key\": \"\"}", "{\"key\": 5}", long_key };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys [0]; i++) {
        header = s_value_json (bad_keys [i]);
        ck_assert_msg (sf_codec_read_group_opts (&header->object, &opts, &error) == -1,
                       "accepted %s", bad_keys [i]);
        ck_assert_str_eq (error.code, "BAD_INPUT");
        ck_assert_msg (strstr (error.message, "key"), "%s", error.message);
        s_value_destroy (&header);
    }
    ck_assert_int_eq (sf_policy_parse ("fail-fast", 9), SF_POLICY_FAIL_FAST);
    ck_assert_str_eq (sf_policy_name (SF_POLICY_FAIL_FAST), "fail-fast");
}
END_TEST

START_TEST (test_group_head)
{
    sf_group_head_t in = { .tag = UINT64_MAX, .n = 3, .state = SF_GROUP_TIMEOUT, .total = 2,
                           .counts = { 1, 0, 1, 0, 0 }, .then = true };
    memcpy (in.group, s_id, SF_UUID_SIZE);
    sf_codec_pack_group_head (&s_pk, &in, false);
    //  It starts like every batch header, so a batch reader takes it
    sf_batchr_t reader;
    sf_error_t error;
    ck_assert_int_eq (sf_batchr_open (&reader, s_buffer.data, s_buffer.size, 2, SF_BATCH_MAX,
                                      &error), 0);
    ck_assert (reader.tag == UINT64_MAX);
    ck_assert_uint_eq (reader.count, 3);
    sf_batchr_close (&reader);
    s_value_t *head = s_value_decode (&s_buffer);
    sf_group_head_t out;
    ck_assert_int_eq (sf_codec_read_group_head (&head->object, &out, false, &error), 0);
    ck_assert_mem_eq (&out, &in, sizeof in);
    s_value_destroy (&head);

    //  A GROUP_ITEM header has tag, n and group only
    sf_codec_pack_group_head (&s_pk, &in, true);
    head = s_value_decode (&s_buffer);
    ck_assert_int_eq (head->object.via.map.size, 3);
    ck_assert_int_eq (sf_codec_read_group_head (&head->object, &out, true, &error), 0);
    ck_assert_uint_eq (out.n, 3);
    ck_assert_mem_eq (out.group, s_id, SF_UUID_SIZE);
    //  ... which is not a GROUP_RESULT header
    ck_assert_int_eq (sf_codec_read_group_head (&head->object, &out, false, &error), -1);
    ck_assert_str_eq (error.code, "PROTOCOL");
    s_value_destroy (&head);

    //  Never trust a count: more items than the group has, a count above
    //  the total, a state that is not final
    const char *bad [] = {
        "{\"n\": 2, \"state\": \"ok\", \"total\": 1, \"ok\": 1, \"error\": 0, "
        "\"timeout\": 0, \"cancelled\": 0, \"dead\": 0}",
        "{\"n\": 1, \"state\": \"ok\", \"total\": 1, \"ok\": 2, \"error\": 0, "
        "\"timeout\": 0, \"cancelled\": 0, \"dead\": 0}",
        "{\"n\": 0, \"state\": \"running\", \"total\": 1, \"ok\": 0, \"error\": 0, "
        "\"timeout\": 0, \"cancelled\": 0, \"dead\": 0}",
        "{\"n\": 0, \"state\": \"ok\", \"total\": 100001, \"ok\": 0, \"error\": 0, "
        "\"timeout\": 0, \"cancelled\": 0, \"dead\": 0}",
        "{\"n\": 0, \"state\": \"ok\", \"total\": 1}"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        //  The group id is added as bin16 (JSON has no bin)
        json_t *json = json_loads (bad [i], 0, NULL);
        ck_assert_ptr_nonnull (json);
        msgpack_sbuffer_clear (&s_buffer);
        msgpack_pack_map (&s_pk, json_object_size (json) + 1);
        sf_mp_pack_str (&s_pk, "group");
        msgpack_pack_bin (&s_pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (&s_pk, s_id, SF_UUID_SIZE);
        const char *key;
        json_t *value;
        json_object_foreach (json, key, value) {
            sf_mp_pack_str (&s_pk, key);
            if (json_is_string (value))
                sf_mp_pack_str (&s_pk, json_string_value (value));
            else
                msgpack_pack_uint64 (&s_pk, (uint64_t) json_integer_value (value));
        }
        json_decref (json);
        head = s_value_decode (&s_buffer);
        ck_assert_msg (sf_codec_read_group_head (&head->object, &out, false, &error) == -1,
                       "accepted %s", bad [i]);
        ck_assert_str_eq (error.code, "PROTOCOL");
        s_value_destroy (&head);
    }
}
END_TEST

START_TEST (test_result_head_edges)
{
    sf_result_head_t out;
    char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1];
    sf_error_t error;
    const char *name64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    char text [300];

    //  No worker, no timings: "" and zeros
    s_value_t *head = s_result ("{\"status\":\"dead\",\"analyzer\":\"x\",\"attempts\":0}");
    memset (worker, 'z', sizeof worker);
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), 0);
    ck_assert_str_eq (out.worker, "");
    ck_assert_int_eq (out.status, SF_STATUS_DEAD);
    ck_assert_uint_eq (out.queued_us + out.run_us + out.total_us, 0);
    s_value_destroy (&head);

    //  Names of 64 characters fit
    snprintf (text, sizeof text,
              "{\"status\":\"ok\",\"analyzer\":\"%s\",\"worker\":\"%s\",\"attempts\":1}",
              name64, name64);
    head = s_result (text);
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), 0);
    ck_assert_str_eq (out.analyzer, name64);
    ck_assert_str_eq (out.worker, name64);
    s_value_destroy (&head);

    //  65 do not
    snprintf (text, sizeof text,
              "{\"status\":\"ok\",\"analyzer\":\"%sa\",\"attempts\":1}", name64);
    head = s_result (text);
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), -1);
    ck_assert_str_eq (error.message, "result needs \"analyzer\"");
    s_value_destroy (&head);
    snprintf (text, sizeof text,
              "{\"status\":\"ok\",\"analyzer\":\"x\",\"worker\":\"%sa\",\"attempts\":1}", name64);
    head = s_result (text);
    ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                 &error), -1);
    ck_assert_str_eq (error.message, "result \"worker\" is too long");
    s_value_destroy (&head);

    //  Each required field missing in turn
    const char *missing [][2] = {
        { "{\"analyzer\":\"x\",\"attempts\":1}", "result needs a known \"status\"" },
        { "{\"status\":\"ok\",\"attempts\":1}", "result needs \"analyzer\"" },
        { "{\"status\":\"ok\",\"analyzer\":\"\",\"attempts\":1}", "result needs \"analyzer\"" },
        { "{\"status\":\"ok\",\"analyzer\":\"x\"}", "result needs \"attempts\"" },
        { "{\"status\":\"ok\",\"analyzer\":\"x\",\"attempts\":-1}", "result needs \"attempts\"" },
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing [0]; i++) {
        head = s_result (missing [i][0]);
        ck_assert_int_eq (sf_codec_read_result_head (&head->object, &out, analyzer, worker,
                                                     &error), -1);
        ck_assert_str_eq (error.code, "PROTOCOL");
        ck_assert_str_eq (error.message, missing [i][1]);
        s_value_destroy (&head);
    }
}
END_TEST

START_TEST (test_error_payload)
{
    sf_codec_pack_error (&s_pk, "TIMEOUT", "took too long", NULL);
    s_value_t *value = s_value_decode (&s_buffer);
    char *text = sf_json_text (&value->object);
    ck_assert_str_eq (text, "{\"code\":\"TIMEOUT\",\"message\":\"took too long\"}");
    free (text);

    s_value_t *context = s_value_json ("{\"limit_ms\":5,\"symbols\":[\"A\",\"B\"]}");
    sf_codec_pack_error (&s_pk, "BAD_INPUT", "no", &context->object);
    s_value_t *with = s_value_decode (&s_buffer);
    text = sf_json_text (&with->object);
    ck_assert_str_eq (text, "{\"code\":\"BAD_INPUT\",\"message\":\"no\","
                            "\"context\":{\"limit_ms\":5,\"symbols\":[\"A\",\"B\"]}}");
    free (text);
    s_value_destroy (&value);
    s_value_destroy (&context);
    s_value_destroy (&with);
}
END_TEST

START_TEST (test_tag_and_id)
{
    //  JSON integers stop at INT64_MAX; the largest tag is built by hand
    msgpack_pack_map (&s_pk, 1);
    sf_mp_pack_kv_uint (&s_pk, "tag", UINT64_MAX);
    s_value_t *value = s_value_decode (&s_buffer);
    ck_assert (sf_codec_tag (&value->object) == UINT64_MAX);
    s_value_destroy (&value);

    value = s_value_json ("{\"tag\":9,\"n\":1}");
    ck_assert_uint_eq (sf_codec_tag (&value->object), 9);
    s_value_destroy (&value);
    const char *untagged [] = { "{}", "{\"tag\":-1}", "{\"tag\":\"9\"}", "[9]", "9" };
    for (int i = 0; i < 5; i++) {
        value = s_value_json (untagged [i]);
        ck_assert_uint_eq (sf_codec_tag (&value->object), 0);
        s_value_destroy (&value);
    }
    ck_assert_uint_eq (sf_codec_tag (NULL), 0);

    uint8_t id [SF_UUID_SIZE];
    msgpack_pack_array (&s_pk, 3);
    msgpack_pack_bin (&s_pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&s_pk, s_id, SF_UUID_SIZE);
    msgpack_pack_bin (&s_pk, SF_UUID_SIZE + 1);
    msgpack_pack_bin_body (&s_pk, s_id, SF_UUID_SIZE);
    msgpack_pack_uint8 (&s_pk, 0);
    msgpack_pack_str (&s_pk, SF_UUID_SIZE);
    msgpack_pack_str_body (&s_pk, s_id, SF_UUID_SIZE);
    value = s_value_decode (&s_buffer);
    ck_assert_int_eq (sf_codec_id (&value->object.via.array.ptr [0], id), 0);
    ck_assert_mem_eq (id, s_id, SF_UUID_SIZE);
    ck_assert_int_eq (sf_codec_id (&value->object.via.array.ptr [1], id), -1);
    ck_assert_int_eq (sf_codec_id (&value->object.via.array.ptr [2], id), -1);
    ck_assert_int_eq (sf_codec_id (NULL, id), -1);
    s_value_destroy (&value);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_codec");

    TCase *tc = tcase_create ("round trip");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, test_single_one);
    tcase_add_test (tc, test_single_many);
    tcase_add_test (tc, test_single_none);
    tcase_add_test (tc, test_pairs_one);
    tcase_add_test (tc, test_pairs_many);
    tcase_add_test (tc, test_pairs_none);
    tcase_add_test (tc, test_header_layout);
    tcase_add_test (tc, test_writer_reset_reuses);
    tcase_add_test (tc, test_header_any_width);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("mismatch");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, test_announced_more);
    tcase_add_test (tc, test_announced_fewer);
    tcase_add_test (tc, test_announced_none_but_has_one);
    tcase_add_test (tc, test_trailing_bytes);
    tcase_add_test (tc, test_pairs_missing_payload);
    tcase_add_test (tc, test_pairs_bad_payload_checked);
    tcase_add_test (tc, test_bad_item_named);
    tcase_add_test (tc, test_truncated_everywhere);
    tcase_add_loop_test (tc, test_bad_header, 0, (int) S_BAD_HEADERS);
    tcase_add_test (tc, test_n_at_max);
    tcase_add_test (tc, test_tag_survives_header_error);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("job");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_job_full);
    tcase_add_test (tc, test_job_defaults);
    tcase_add_loop_test (tc, test_job_good, 0, (int) S_GOOD_JOBS);
    tcase_add_loop_test (tc, test_job_bad, 0, (int) S_BAD_JOBS);
    tcase_add_test (tc, test_job_key_limit);
    tcase_add_test (tc, test_job_chain_depth);
    tcase_add_test (tc, test_follow_up_map);
    tcase_add_test (tc, test_job_key_nul);
    tcase_add_test (tc, test_job_duplicate_field);
    tcase_add_test (tc, test_job_nonstring_key);
    tcase_add_test (tc, test_job_bin_strings);
    tcase_add_test (tc, test_job_long_unknown_field);
    tcase_add_test (tc, test_name_valid);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("headers");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_packer_setup, s_packer_teardown);
    tcase_add_test (tc, test_dispatch_head);
    tcase_add_test (tc, test_dispatch_head_bad);
    tcase_add_test (tc, test_outcome_head);
    tcase_add_test (tc, test_outcome_head_bad);
    tcase_add_test (tc, test_result_head);
    tcase_add_test (tc, test_result_head_edges);
    tcase_add_test (tc, test_result_head_index);
    tcase_add_test (tc, test_result_head_then);
    tcase_add_test (tc, test_group_opts);
    tcase_add_test (tc, test_group_head);
    tcase_add_test (tc, test_error_payload);
    tcase_add_test (tc, test_tag_and_id);
    tcase_add_test (tc, test_job_state_fields);
    tcase_add_test (tc, test_job_with_state);
    tcase_add_test (tc, test_outcome_head_state);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
