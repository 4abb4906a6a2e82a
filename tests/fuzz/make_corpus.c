/*  =========================================================================
    make_corpus - writes the seed corpora of the fuzz targets

    Not built by the Makefile: the seeds it writes are committed under
    tests/fuzz/corpus/, and this program is kept so that they can be made
    again when a body format changes (checklist: sf_codec.h, this file,
    then regenerate). From the source tree, after `make`:

        cc -std=c11 -D_GNU_SOURCE -Icommon -Ibroker -Itests/fuzz $(pkg-config --cflags msgpack jansson) \
           tests/fuzz/make_corpus.c broker/sf_journal.c build/lib/libsheaf.a \
           $(pkg-config --libs libczmq libzmq msgpack jansson zlib) -lpthread -lm \
           -o /tmp/make_corpus && /tmp/make_corpus tests/fuzz/corpus

    The output is the same on every run (fixed ids, no clock, a fixed
    sync word for the journals), so regenerating changes nothing unless a
    format did. The journal seeds are written through sf_journal itself
    (checklist: sf_journal.c's format version, this file, then
    regenerate).
    ========================================================================= */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "fuzz_broker.h"
#include "sf_codec.h"
#include "sf_journal.h"
#include "sf_json.h"
#include "sf_mp.h"

static const char *s_root;      //  Corpus directory

//  Write size bytes to <root>/<target>/<name>; exits on failure.
static void
s_write (const char *target, const char *name, const void *data, size_t size)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", s_root, target);
    if (mkdir (path, 0755) && errno != EEXIST) {
        perror (path);
        exit (1);
    }
    snprintf (path, sizeof path, "%s/%s/%s", s_root, target, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file)) {
        perror (path);
        exit (1);
    }
    printf ("%s (%zu bytes)\n", path, size);
}

//  Pack JSON text as msgpack into pk.
static void
s_pack_json (msgpack_packer *pk, const char *text)
{
    json_error_t jerror;
    json_t *value = json_loads (text, JSON_DECODE_ANY, &jerror);
    if (!value) {
        fprintf (stderr, "make_corpus: bad JSON %s: %s\n", text, jerror.text);
        exit (1);
    }
    sf_json_pack (pk, value);
    json_decref (value);
}

//  A fixed id whose bytes all depend on n.
static void
s_id (uint8_t id [SF_UUID_SIZE], int n)
{
    for (int i = 0; i < SF_UUID_SIZE; i++)
        id [i] = (uint8_t) (n * 16 + i);
    id [6] = 0x70 | (id [6] & 0x0f);
    id [8] = 0x80 | (id [8] & 0x3f);
}

//  --------------------------------------------------------------------------
//  Seeds for fuzz_codec: batch bodies of every kind.

static void
s_codec_seeds (void)
{
    const char *target = "fuzz_codec";
    sf_batchw_t writer;
    sf_batchw_init (&writer);
    msgpack_packer *pk = &writer.packer;

    //  SUBMIT: three jobs using every field between them
    sf_batchw_reset (&writer, 1);
    s_pack_json (pk, "{\"analyzer\":\"sma\",\"symbol\":\"AAPL\",\"timeframe\":\"1d\","
                     "\"params\":{\"period\":20},\"priority\":9,\"timeout_ms\":5000,"
                     "\"retries\":2,\"key\":\"order-1\"}");
    sf_batchw_item (&writer);
    s_pack_json (pk, "{\"analyzer\":\"echo\"}");
    sf_batchw_item (&writer);
    s_pack_json (pk, "{\"analyzer\":\"rsi\",\"params\":{\"period\":14,\"bands\":[30,70.5],"
                     "\"label\":null,\"adjust\":true}}");
    sf_batchw_item (&writer);
    sf_batchw_finish (&writer);
    s_write (target, "submit_three", writer.buffer.data, writer.buffer.size);

    //  SUBMIT of one job, and an empty batch
    sf_batchw_reset (&writer, 2);
    s_pack_json (pk, "{\"analyzer\":\"echo\",\"priority\":0}");
    sf_batchw_item (&writer);
    sf_batchw_finish (&writer);
    s_write (target, "submit_one", writer.buffer.data, writer.buffer.size);
    sf_batchw_reset (&writer, 3);
    sf_batchw_finish (&writer);
    s_write (target, "submit_empty", writer.buffer.data, writer.buffer.size);

    //  DISPATCH: header and job
    uint8_t id [SF_UUID_SIZE];
    sf_batchw_reset (&writer, 0);
    for (int i = 0; i < 2; i++) {
        s_id (id, i);
        sf_codec_pack_dispatch_head (pk, id, (uint32_t) i + 1, 30000);
        s_pack_json (pk, i? "{\"analyzer\":\"echo\",\"params\":{\"x\":1}}"
                          : "{\"analyzer\":\"sleep\",\"timeout_ms\":100}");
        sf_batchw_item (&writer);
    }
    sf_batchw_finish (&writer);
    s_write (target, "dispatch_two", writer.buffer.data, writer.buffer.size);

    //  RESULTS: an ok value and an error map
    sf_batchw_reset (&writer, 0);
    s_id (id, 3);
    sf_codec_pack_outcome_head (pk, id, 1, SF_STATUS_OK, 1234);
    s_pack_json (pk, "{\"sma\":[1.5,2.25,null],\"n\":3}");
    sf_batchw_item (&writer);
    s_id (id, 4);
    sf_codec_pack_outcome_head (pk, id, 2, SF_STATUS_ERROR, 99);
    sf_codec_pack_error (pk, "ANALYZER_FAILED", "division by zero", NULL);
    sf_batchw_item (&writer);
    sf_batchw_finish (&writer);
    s_write (target, "results_two", writer.buffer.data, writer.buffer.size);

    //  RESULT: to the client, ok and timed out
    sf_result_head_t head = {
        .status = SF_STATUS_OK, .analyzer = "sma", .worker = "worker-1",
        .attempts = 1, .queued_us = 10, .run_us = 200, .total_us = 250
    };
    sf_batchw_reset (&writer, 0);
    s_id (head.id, 5);
    sf_codec_pack_result_head (pk, &head);
    s_pack_json (pk, "[1,2,3]");
    sf_batchw_item (&writer);
    head.status = SF_STATUS_TIMEOUT;
    head.worker = "";
    head.attempts = 4;
    s_id (head.id, 6);
    sf_codec_pack_result_head (pk, &head);
    msgpack_sbuffer context_buffer;
    msgpack_sbuffer_init (&context_buffer);
    msgpack_packer context_pk;
    msgpack_packer_init (&context_pk, &context_buffer, msgpack_sbuffer_write);
    s_pack_json (&context_pk, "{\"limit_ms\":5000}");
    msgpack_unpacked context;
    msgpack_unpacked_init (&context);
    size_t offset = 0;
    msgpack_unpack_next (&context, context_buffer.data, context_buffer.size, &offset);
    sf_codec_pack_error (pk, "TIMEOUT", "over 5000 ms", &context.data);
    msgpack_unpacked_destroy (&context);
    msgpack_sbuffer_destroy (&context_buffer);
    sf_batchw_item (&writer);
    sf_batchw_finish (&writer);
    s_write (target, "result_two", writer.buffer.data, writer.buffer.size);

    //  A header in the shortest encodings, keys in the other order, and
    //  a payload of every scalar format
    const unsigned char small [] = {
        0x82, 0xa1, 'n', 0x01, 0xa3, 't', 'a', 'g', 0x05,
        0x9c, 0xc0, 0xc2, 0xc3, 0x7f, 0xe0, 0xcc, 0xff, 0xd1, 0x80, 0x00,
        0xca, 0x3f, 0xc0, 0x00, 0x00, 0xc4, 0x01, 0xaa, 0xd4, 0x01, 0x02,
        0xd9, 0x01, 'x', 0xdd, 0x00, 0x00, 0x00, 0x00
    };
    s_write (target, "header_small", small, sizeof small);

    //  A job nested as deep as allowed
    sf_batchw_reset (&writer, 7);
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_str (pk, "analyzer", "deep");
    sf_mp_pack_str (pk, "params");
    for (int i = 0; i < SF_MP_MAX_DEPTH - 1; i++) {
        msgpack_pack_map (pk, 1);
        sf_mp_pack_str (pk, "k");
    }
    msgpack_pack_nil (pk);
    sf_batchw_item (&writer);
    sf_batchw_finish (&writer);
    s_write (target, "submit_deep", writer.buffer.data, writer.buffer.size);
    //  A GROUP header with every option, one job and a chord
    msgpack_sbuffer_clear (&writer.buffer);
    msgpack_pack_map (pk, 7);
    sf_mp_pack_kv_uint (pk, "tag", 9);
    sf_mp_pack_kv_uint (pk, "n", 2);
    sf_mp_pack_kv_str (pk, "policy", "fail-fast");
    sf_mp_pack_kv_uint (pk, "min_ok", 1);
    sf_mp_pack_kv_uint (pk, "timeout_ms", 5000);
    sf_mp_pack_str (pk, "stream");
    msgpack_pack_true (pk);
    sf_mp_pack_str (pk, "then");
    msgpack_pack_true (pk);
    msgpack_pack_map (pk, 1);
    sf_mp_pack_kv_str (pk, "analyzer", "echo");
    msgpack_pack_map (pk, 1);
    sf_mp_pack_kv_str (pk, "analyzer", "correlation");
    s_write (target, "group_two", writer.buffer.data, writer.buffer.size);

    //  A GROUP_RESULT: two items and the chord's
    sf_group_head_t group = { .tag = 9, .n = 3, .state = SF_GROUP_OK, .total = 2,
                              .counts = { 1, 1 }, .then = true };
    memcpy (group.group, id, SF_UUID_SIZE);
    msgpack_sbuffer_clear (&writer.buffer);
    sf_codec_pack_group_head (pk, &group, false);
    for (uint32_t i = 0; i < 3; i++) {
        sf_result_head_t head = { .status = i == 1? SF_STATUS_ERROR: SF_STATUS_OK,
                                  .analyzer = "echo", .worker = "w1", .attempts = 1,
                                  .indexed = true, .index = i };
        memcpy (head.id, id, SF_UUID_SIZE);
        sf_codec_pack_result_head (pk, &head);
        if (i == 1)
            sf_codec_pack_error (pk, "ANALYSIS", "failed", NULL);
        else
            msgpack_pack_map (pk, 0);
    }
    s_write (target, "group_result", writer.buffer.data, writer.buffer.size);

    //  A GROUP_ITEM with one streamed item
    group.n = 1;
    msgpack_sbuffer_clear (&writer.buffer);
    sf_codec_pack_group_head (pk, &group, true);
    sf_result_head_t item = { .status = SF_STATUS_CANCELLED, .analyzer = "sleep", .worker = "",
                              .indexed = true, .index = 1 };
    memcpy (item.id, id, SF_UUID_SIZE);
    sf_codec_pack_result_head (pk, &item);
    sf_codec_pack_error (pk, "CANCELLED", "the job was cancelled", NULL);
    s_write (target, "group_item", writer.buffer.data, writer.buffer.size);

    sf_batchw_destroy (&writer);
}

//  --------------------------------------------------------------------------
//  Seeds for fuzz_json: jobs as users write them, and msgpack values.

static void
s_json_seeds (void)
{
    const char *target = "fuzz_json";
    const char *texts [][2] = {
        { "job_full.json",
          "{\"analyzer\":\"rsi\",\"symbol\":\"AAPL\",\"timeframe\":\"1d\","
          "\"params\":{\"period\":14,\"source\":\"close\",\"weights\":[0.5,1.5e-3,-2]},"
          "\"priority\":7,\"timeout_ms\":4294967295,\"retries\":0,\"key\":\"order-42\"}\n" },
        { "job_minimal.json", "{\"analyzer\":\"echo\"}" },
        { "job_unicode.json",
          "{ \"analyzer\" : \"echo\", \"symbol\" : \"\\u00e9\\ud83d\\ude00\",\n"
          "  \"params\" : { \"text\" : \"tab\\tquote\\\"\", \"\\u00fc\" : [true, false, null] } }" },
        { "job_bad_priority.json", "{\"analyzer\":\"x\",\"priority\":10}" },
        { "job_duplicate.json", "{\"analyzer\":\"x\",\"analyzer\":\"y\"}" },
        { "job_nested.json",
          "{\"analyzer\":\"x\",\"params\":{\"a\":{\"b\":{\"c\":[[[1,{\"d\":[2.5]}]]]}}}}" },
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
        s_write (target, texts [i][0], texts [i][1], strlen (texts [i][1]));

    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);

    //  A map with every kind of value and key sf_json maps specially
    msgpack_pack_map (&pk, 10);
    sf_mp_pack_str (&pk, "bin");
    msgpack_pack_bin (&pk, 4);
    msgpack_pack_bin_body (&pk, "\x00\xff\x10\x80", 4);
    sf_mp_pack_str (&pk, "latin1");
    msgpack_pack_str (&pk, 3);
    msgpack_pack_str_body (&pk, "caf\xe9", 3);
    sf_mp_pack_str (&pk, "float32");
    msgpack_pack_float (&pk, 0.1f);
    sf_mp_pack_str (&pk, "nan");
    msgpack_pack_double (&pk, NAN);
    sf_mp_pack_str (&pk, "ext");
    msgpack_pack_ext (&pk, 1, 7);
    msgpack_pack_ext_body (&pk, "e", 1);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    sf_mp_pack_str (&pk, "integer key");
    msgpack_pack_array (&pk, 2);
    msgpack_pack_nil (&pk);
    msgpack_pack_true (&pk);
    sf_mp_pack_str (&pk, "array key");
    sf_mp_pack_str (&pk, "nested");
    msgpack_pack_array (&pk, 3);
    msgpack_pack_int64 (&pk, INT64_MIN);
    msgpack_pack_map (&pk, 0);
    msgpack_pack_str (&pk, 2);
    msgpack_pack_str_body (&pk, "a\0", 2);
    msgpack_pack_str (&pk, 1);
    msgpack_pack_str_body (&pk, "\xff", 1);
    sf_mp_pack_str (&pk, "dropped key");
    sf_mp_pack_str (&pk, "neg");
    msgpack_pack_int8 (&pk, -33);
    s_write (target, "mp_kinds.msgpack", buffer.data, buffer.size);

    //  A sequence of small values
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_uint8 (&pk, 1);
    sf_mp_pack_str (&pk, "two");
    msgpack_pack_double (&pk, 3.5);
    msgpack_pack_array (&pk, 0);
    msgpack_pack_nil (&pk);
    s_write (target, "mp_sequence.msgpack", buffer.data, buffer.size);

    //  Nested as deep as allowed
    msgpack_sbuffer_clear (&buffer);
    for (int i = 0; i < SF_MP_MAX_DEPTH; i++)
        msgpack_pack_array (&pk, 1);
    msgpack_pack_uint8 (&pk, 0);
    s_write (target, "mp_deep.msgpack", buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
}

//  --------------------------------------------------------------------------
//  fuzz_journal: journal files, whole and damaged as a crash or a disk
//  leaves them.

//  A fixed "random" sync word, so that the seeds are the same on every run.
static ssize_t
s_fixed_random (void *buffer, size_t size, unsigned int flags)
{
    (void) flags;
    for (size_t i = 0; i < size; i++)
        ((uint8_t *) buffer) [i] = (uint8_t) (0xa5 + 17 * i);
    return (ssize_t) size;
}

//  Write a journal of count records through sf_journal in a scratch
//  directory and return its bytes (the caller frees them; room for 64
//  bytes more).
static uint8_t *
s_journal_file (size_t count, size_t *size)
{
    char dir [] = "/tmp/sheaf-corpus-XXXXXX";
    if (!mkdtemp (dir)) {
        perror (dir);
        exit (1);
    }
    sf_journal_io_t io = { .getrandom = s_fixed_random };
    sf_journal_set_default_io (&io);
    sf_error_t error;
    sf_journal_t *journal = sf_journal_new (dir, SF_JOURNAL_SYNC_OFF, 0, NULL, NULL, &error);
    if (!journal) {
        fprintf (stderr, "make_corpus: %s\n", error.message);
        exit (1);
    }
    uint8_t payload [300];
    for (size_t i = 0; i < count; i++) {
        size_t length = (i * 37) % sizeof payload;
        for (size_t n = 0; n < length; n++)
            payload [n] = (uint8_t) (i + n);
        if (!sf_journal_append (journal, (uint8_t) (1 + i % 4), payload, length, &error)
        ||  ((i % 5 == 4 || i + 1 == count) && sf_journal_commit (journal, &error))) {
            fprintf (stderr, "make_corpus: %s\n", error.message);
            exit (1);
        }
    }
    sf_journal_destroy (&journal);
    char path [64];
    snprintf (path, sizeof path, "%s/journal", dir);
    FILE *file = fopen (path, "rb");
    uint8_t *data = malloc (65536 + 64);
    *size = file? fread (data, 1, 65536, file): 0;
    if (!file || ferror (file)) {
        perror (path);
        exit (1);
    }
    fclose (file);
    unlink (path);
    snprintf (path, sizeof path, "%s/lock", dir);
    unlink (path);
    rmdir (dir);
    return data;
}

//  Offset of record index in a journal file (data, size) of format 2.
static size_t
s_record_at (const uint8_t *data, size_t size, size_t index)
{
    size_t at = 20;
    for (size_t i = 0; i < index && at + 13 <= size; i++)
        at += 13 + (data [at + 4] | (size_t) data [at + 5] << 8);
    return at;
}

static void
s_journal_seeds (void)
{
    const char *target = "fuzz_journal";
    size_t size;
    uint8_t *data = s_journal_file (0, &size);
    s_write (target, "empty", data, size);
    s_write (target, "header_cut", data, 5);
    free (data);

    data = s_journal_file (3, &size);
    s_write (target, "three", data, size);
    s_write (target, "three_torn", data, size - 4);
    data [size / 2] ^= 0x10;
    s_write (target, "three_flipped", data, size);
    data [size / 2] ^= 0x10;
    memcpy (data + size, "\x07garbage", 8);
    s_write (target, "three_garbage", data, size + 8);
    data [13] ^= 0x01;
    s_write (target, "three_header_damaged", data, size);
    free (data);

    data = s_journal_file (20, &size);
    s_write (target, "twenty", data, size);
    //  Damage in the middle: a payload byte, then a length field
    size_t at = s_record_at (data, size, 7);
    data [at + 13 + 2] ^= 0x40;
    s_write (target, "twenty_middle_flipped", data, size);
    data [at + 13 + 2] ^= 0x40;
    data [s_record_at (data, size, 12) + 4] ^= 0x01;
    s_write (target, "twenty_length_flipped", data, size);
    free (data);

    //  Format version 1 (no sync words), whole and torn: still read
    uint8_t v1 [16 + 3 * 9 + 3 + 1 + 2] = "SHEAFJNL\x01";
    size_t used = 16;
    for (uint8_t i = 0; i < 3; i++) {
        uint8_t *record = v1 + used;
        memset (record, 0, 9);
        record [0] = i;
        record [8] = (uint8_t) (1 + i);
        for (uint8_t n = 0; n < i; n++)
            record [9 + n] = (uint8_t) (0x30 + n);
        uLong crc = crc32 (0L, record, 4);
        crc = crc32 (crc, record + 8, 1);
        crc = crc32 (crc, record + 9, i);
        for (int n = 0; n < 4; n++)
            record [4 + n] = (uint8_t) (crc >> (8 * n));
        used += 9 + i;
    }
    s_write (target, "version1", v1, used);
    s_write (target, "version1_torn", v1, used - 1);
}

//  --------------------------------------------------------------------------
//  Seeds for fuzz_broker: sessions in its input language (fuzz_broker.h),
//  one a feature. Operand values name the entries of fuzz_broker.c's
//  tables (jobs, items, group options, analyzers, steps).

static void
s_broker_seed (const char *name, const uint8_t *ops, size_t size)
{
    s_write ("fuzz_broker", name, ops, size);
}

static void
s_broker_seeds (void)
{
    //  Jobs run, fail, retry and finish; a chain; STATUS and FETCH
    const uint8_t jobs [] = {
        FB_READY, 0, 0, 3,
        FB_SUBMIT, 0, 0,                //  echo
        FB_SUBMIT, 1, 2,                //  fail, 2 retries
        FB_SUBMIT, 0, 5,                //  echo then echo
        FB_RESULT, 0, 0, FB_OK, 0,
        FB_RESULT, 0, 0, FB_TRANSIENT, 0,
        FB_TIME, 2, 0,
        FB_RESULT, 0, 0, FB_OK, 0,
        FB_RESULT, 0, 0, FB_ANALYSIS, 0,
        FB_RESULT, 0, 0, FB_OK, 1,      //  An older lease
        FB_STATUS, 1,
        FB_FETCH, 1, 0, 0,
        FB_FETCH, 2, 1, 1
    };
    s_broker_seed ("jobs", jobs, sizeof jobs);

    //  Dead letters: made, listed, shown, retried, purged
    const uint8_t dead [] = {
        FB_READY, 0, 2, 1,
        FB_SUBMIT, 0, 2,                //  fail, 2 retries
        FB_SUBMIT, 0, 2,
        FB_RESULT, 0, 0, FB_TRANSIENT, 0,
        FB_TIME, 3, 0,
        FB_RESULT, 0, 0, FB_TRANSIENT, 0,
        FB_TIME, 3, 0,
        FB_RESULT, 0, 0, FB_TRANSIENT, 0,
        FB_TIME, 3, 0,
        FB_DEAD, 0, 0, 0x80,            //  list
        FB_DEAD, 0, 1, 0,               //  show the first
        FB_DEAD, 0, 2, 0,               //  retry it
        FB_RESULT, 0, 0, FB_OK, 0,
        FB_DEAD, 0, 3, 0x80             //  purge all
    };
    s_broker_seed ("dead", dead, sizeof dead);

    //  A group whose first item ends dead while the others wait; DEAD
    //  show of that item (known 1: the group is known 0)
    const uint8_t group_dead [] = {
        FB_READY, 0, 2, 1,              //  fail only
        FB_GROUP, 0, 0, 2, 6, 0, 0,     //  {} with fail r1, echo, echo
        FB_RESULT, 0, 0, FB_TRANSIENT, 0,
        FB_TIME, 0, 0,
        FB_RESULT, 0, 0, FB_TRANSIENT, 0,
        FB_DEAD, 0, 1, 1,
        FB_READY, 1, 1, 2,              //  echo
        FB_RESULT, 1, 0, FB_OK, 0,
        FB_RESULT, 1, 0, FB_OK, 0,
        FB_FETCH, 0, 0, 0
    };
    s_broker_seed ("group_dead_item", group_dead, sizeof group_dead);

    //  Groups: fail-fast, a chord, a stream, a deadline, a cancel, a key
    const uint8_t groups [] = {
        FB_READY, 0, 0, 4,
        FB_GROUP, 0, 1, 2, 3, 0, 0,     //  fail-fast: fail, echo, echo
        FB_GROUP, 1, 6, 1, 0, 0,        //  then: echo, echo, chord
        FB_GROUP, 2, 5, 1, 0, 1,        //  stream
        FB_GROUP, 0, 7, 0, 0,           //  key g1
        FB_GROUP, 1, 7, 0, 0,           //  key g1 again
        FB_RESULT, 0, 0, FB_ANALYSIS, 0,
        FB_RESULT, 0, 0, FB_OK, 0,
        FB_RESULT, 0, 0, FB_OK, 0,
        FB_FETCH, 2, 1, 1,
        FB_CANCEL, 1, 1,
        FB_GROUP, 0, 8, 0, 5,           //  then, 200 ms: a sleep
        FB_TIME, 4, 0,
        FB_TIME, 4, 0,
        FB_RESULT, 0, 0, FB_OK, 0,
        FB_FETCH, 0, 0, 0,
        FB_TIME, 7, 2                   //  retention
    };
    s_broker_seed ("groups", groups, sizeof groups);

    //  Workers die, leave, go silent and come back; poison jobs
    const uint8_t workers [] = {
        FB_READY, 0, 0, 2,
        FB_READY, 1, 0, 2,
        FB_SUBMIT, 0, 0,
        FB_SUBMIT, 0, 8,
        FB_SUBMIT, 1, 4,                //  50 ms deadline
        FB_LOST, 0,
        FB_READY, 0, 0, 2,
        FB_HEARTBEAT, 1,
        FB_TIME, 3, 0,
        FB_LOST, 0,
        FB_DISCONNECT, 1,
        FB_READY, 2, 1, 1,
        FB_TIME, 7, 1,                  //  silent past liveness
        FB_READY, 2, 0, 4,
        FB_CANCEL, 0, 1,
        FB_DEAD, 0, 0, 0x80
    };
    s_broker_seed ("workers", workers, sizeof workers);

    //  Raw bodies on both sockets
    const uint8_t raw [] = {
        FB_RAW, 0x00, 0, 3, 0x82, 0xa1, 'n',            //  SUBMIT, cut
        FB_RAW, 0x01, 2, 4, 0x81, 0xa2, 'i', 'd',       //  FETCH without id
        FB_RAW, 0x80, 7, 1, 0xc0,                       //  RESULTS nil
        FB_RAW, 0x81, 6, 2, 0x80, 0xc0,                 //  READY {} and more
        FB_RAW, 0x02, 11, 0
    };
    s_broker_seed ("raw", raw, sizeof raw);

    //  The store's writes fail: a submit is refused and taken back, the
    //  broker degrades (BUSY, results held), recovers, and fails again
    const uint8_t store [] = {
        FB_READY, 0, 0, 1,              //  echo,fail,sleep, 2 slots
        FB_SUBMIT, 0, 0,                //  echo
        FB_SUBMIT, 0, 5,                //  echo then echo
        FB_TIME, 0, 4,                  //  writes fail from now on
        FB_SUBMIT, 1, 6,                //  refused: STORE, then degraded
        FB_RESULT, 0, 0, FB_OK, 0,      //  held, and its follow-up
        FB_GROUP, 1, 0, 1, 0, 0,        //  BUSY
        FB_CANCEL, 0, 0,
        FB_FETCH, 1, 1, 0,
        FB_TIME, 2, 0,
        FB_TIME, 0, 8,                  //  writes work, the retry commits
        FB_RESULT, 0, 0, FB_OK, 0,
        FB_TIME, 0, 4,
        FB_GROUP, 0, 6, 1, 0, 0,        //  a group with a chord, refused
        FB_TIME, 3, 8
    };
    s_broker_seed ("store", store, sizeof store);
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: make_corpus <corpus directory>\n");
        return 1;
    }
    s_root = argv [1];
    if (mkdir (s_root, 0755) && errno != EEXIST) {
        perror (s_root);
        return 1;
    }
    s_codec_seeds ();
    s_json_seeds ();
    s_journal_seeds ();
    s_broker_seeds ();
    return 0;
}
