/*  =========================================================================
    check_sf_journal - the record log: round trips across reopen, sync
    modes, recovery from damage (a torn tail, bytes flipped in the middle,
    garbage, a damaged header, a version-1 file), compaction and its crash
    window, the directory lock, directory errors, and injected I/O faults
    (ENOSPC, EIO, EPERM on writes, syncs, truncations and opens)
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "sf_journal.h"

#define S_HEADER 20             //  Bytes of a file header (format version 2)

//  --------------------------------------------------------------------------
//  Fixtures and helpers

static char s_dir [256];        //  This test's journal directory
static FILE *s_log;             //  The log lines of this test

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/sheaf-journal-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
    s_log = tmpfile ();
    ck_assert_ptr_nonnull (s_log);
    zsys_set_logstream (s_log);
}

static int
s_remove_one (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void) info, (void) flag, (void) ftw;
    chmod (path, 0700);
    return remove (path);
}

static void
s_teardown (void)
{
    sf_journal_set_default_io (NULL);
    zsys_set_logstream (stderr);
    fclose (s_log);
    nftw (s_dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

//  Everything logged since the test began (static buffer).
static const char *
s_logged (void)
{
    static char text [16384];
    fflush (s_log);
    size_t got = (size_t) pread (fileno (s_log), text, sizeof text - 1, 0);
    text [got < sizeof text? got: 0] = 0;
    return text;
}

//  DIR/name in a static buffer.
static const char *
s_file (const char *name)
{
    static char path [512];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    return path;
}

static off_t
s_file_size (const char *name)
{
    struct stat info;
    ck_assert_int_eq (stat (s_file (name), &info), 0);
    return info.st_size;
}

//  Record i of a test's stream: type 1-3, size and bytes derived from i.
static size_t
s_record_size (uint64_t i)
{
    return (size_t) ((i * 7919) % 3001);
}

static void
s_record_fill (uint64_t i, uint8_t *payload, size_t size)
{
    for (size_t n = 0; n < size; n++)
        payload [n] = (uint8_t) (i * 31 + n * 7);
}

static uint8_t
s_record_type (uint64_t i)
{
    return (uint8_t) (1 + i % 3);
}

//  Append records [from, to) of the stream in groups of group.
static void
s_append_stream (sf_journal_t *journal, uint64_t from, uint64_t to, uint64_t group)
{
    uint8_t payload [3001];
    sf_error_t error;
    for (uint64_t i = from; i < to; i++) {
        size_t size = s_record_size (i);
        s_record_fill (i, payload, size);
        ck_assert_uint_ne (sf_journal_append (journal, s_record_type (i), payload, size,
                                              &error), 0);
        if ((i + 1) % group == 0 || i + 1 == to)
            ck_assert_msg (sf_journal_commit (journal, &error) == 0, "%s", error.message);
    }
}

//  Append records [from, to) of the stream without committing them.
static void
s_append_only (sf_journal_t *journal, uint64_t from, uint64_t to)
{
    uint8_t payload [3001];
    sf_error_t error;
    for (uint64_t i = from; i < to; i++) {
        s_record_fill (i, payload, s_record_size (i));
        ck_assert_uint_ne (sf_journal_append (journal, s_record_type (i), payload,
                                              s_record_size (i), &error), 0);
    }
}

//  Replay state: checks each record against the stream.
typedef struct {
    uint64_t next;              //  Stream index expected next
    uint64_t stop_at;           //  Fail replay at this record (0: never)
    uint64_t lost [4];          //  Stream indices that must not come back
    size_t lost_count;          //  Entries in lost
} s_replay_t;

static int
s_check_stream (uint8_t type, const void *payload, size_t size, void *arg,
                sf_error_t *error)
{
    s_replay_t *state = (s_replay_t *) arg;
    for (size_t n = 0; n < state->lost_count; n++)
        if (state->next == state->lost [n])
            state->next++;
    uint64_t i = state->next++;
    if (state->stop_at && state->next == state->stop_at)
        return sf_error_set (error, "STORE", "record %" PRIu64 " refused", state->next);
    uint8_t expected [3001];
    ck_assert_uint_eq (size, s_record_size (i));
    ck_assert_uint_eq (type, s_record_type (i));
    s_record_fill (i, expected, size);
    ck_assert (memcmp (payload, expected, size) == 0);
    return 0;
}

//  Open the test directory, replaying and checking the stream (with the
//  stream indices in lost missing); returns the journal and the records
//  replayed in *replayed.
static sf_journal_t *
s_open_losing (sf_journal_sync_t sync, int batch_ms, const uint64_t *lost, size_t lost_count,
               uint64_t *replayed)
{
    s_replay_t state = { 0, 0, { 0 }, lost_count };
    if (lost_count)
        memcpy (state.lost, lost, lost_count * sizeof *lost);
    sf_error_t error = { "", "" };
    sf_journal_t *journal = sf_journal_new (s_dir, sync, batch_ms, s_check_stream, &state,
                                            &error);
    ck_assert_msg (journal != NULL, "open failed: %s", error.message);
    ck_assert_uint_eq (state.next - lost_count, sf_journal_replayed (journal));
    if (replayed)
        *replayed = sf_journal_replayed (journal);
    return journal;
}

static sf_journal_t *
s_open (sf_journal_sync_t sync, uint64_t *replayed)
{
    return s_open_losing (sync, 20, NULL, 0, replayed);
}

//  Offset of stream record i in a file that holds records 0..i-1 before it.
static uint64_t
s_offset_of (uint64_t i)
{
    uint64_t offset = S_HEADER;
    for (uint64_t n = 0; n < i; n++)
        offset += sf_journal_record_bytes (s_record_size (n));
    return offset;
}

//  Write records 0..count-1 in groups of 10 and close.
static void
s_write_stream (uint64_t count)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, count, 10);
    sf_journal_destroy (&journal);
}

//  XOR mask into the journal's byte at offset.
static void
s_flip (uint64_t offset, uint8_t mask)
{
    int fd = open (s_file ("journal"), O_RDWR);
    uint8_t byte;
    ck_assert_int_eq (pread (fd, &byte, 1, (off_t) offset), 1);
    byte ^= mask;
    ck_assert_int_eq (pwrite (fd, &byte, 1, (off_t) offset), 1);
    close (fd);
}

//  Append size bytes to the journal file (NULL: zeros).
static void
s_append_bytes (const uint8_t *bytes, size_t size)
{
    uint8_t zeros [4096] = { 0 };
    int fd = open (s_file ("journal"), O_WRONLY | O_APPEND);
    ck_assert_int_eq (write (fd, bytes? bytes: zeros, size), (ssize_t) size);
    close (fd);
}

//  The whole journal file (the caller frees it); its size in *size.
static uint8_t *
s_read_journal (size_t *size)
{
    *size = (size_t) s_file_size ("journal");
    uint8_t *data = (uint8_t *) malloc (*size + 1);
    int fd = open (s_file ("journal"), O_RDONLY);
    ck_assert_int_eq (read (fd, data, *size), (ssize_t) *size);
    close (fd);
    return data;
}

//  Assert that DIR/journal.damaged-at holds size bytes.
static void
s_assert_copy (uint64_t at, uint64_t size)
{
    char name [64];
    snprintf (name, sizeof name, "journal.damaged-%" PRIu64, at);
    ck_assert_uint_eq ((uint64_t) s_file_size (name), size);
}

//  After recovery: kept records come back on the next open, nothing is
//  reported again, and the journal takes more records after them.
static void
s_assert_goes_on (sf_journal_t **journal_p, const uint64_t *lost, size_t lost_count,
                  uint64_t kept)
{
    uint64_t total = kept + lost_count;
    s_append_stream (*journal_p, total, total + 10, 10);
    sf_journal_destroy (journal_p);
    uint64_t replayed;
    sf_journal_t *journal = s_open_losing (SF_JOURNAL_SYNC_ALWAYS, 20, lost, lost_count,
                                           &replayed);
    ck_assert_uint_eq (replayed, kept + 10);
    ck_assert_uint_eq (sf_journal_dropped (journal), 0);
    ck_assert_uint_eq (sf_journal_damaged (journal), 0);
    sf_journal_destroy (&journal);
}

//  --------------------------------------------------------------------------

START_TEST (test_round_trip_across_reopen)
{
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 0);
    ck_assert_uint_eq (sf_journal_bytes (journal), S_HEADER);
    s_append_stream (journal, 0, 3000, 97);
    ck_assert_uint_eq (sf_journal_records (journal), 3000);
    ck_assert_uint_eq (sf_journal_bytes (journal), s_offset_of (3000));
    sf_journal_destroy (&journal);
    ck_assert_ptr_null (journal);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (3000));

    //  Again, twice: appends continue the stream
    journal = s_open (SF_JOURNAL_SYNC_OFF, &replayed);
    ck_assert_uint_eq (replayed, 3000);
    ck_assert_uint_eq (sf_journal_dropped (journal), 0);
    s_append_stream (journal, 3000, 5000, 1000);
    //  Appended, never committed: not in the file
    sf_error_t error;
    ck_assert_uint_eq (sf_journal_append (journal, 1, "lost", 4, &error), 2001);
    sf_journal_destroy (&journal);
    journal = s_open (SF_JOURNAL_SYNC_BATCH, &replayed);
    ck_assert_uint_eq (replayed, 5000);
    ck_assert_uint_eq (sf_journal_records (journal), 5000);
    sf_journal_destroy (&journal);
    //  Nothing was ever damaged
    ck_assert_ptr_null (strstr (s_logged (), "damaged"));
}
END_TEST

static int s_big_seen;          //  Records s_check_big saw

//  Replay of the empty record and the big one (arg: the big payload).
static int
s_check_big (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    (void) error;
    if (s_big_seen++ == 0) {
        ck_assert_uint_eq (type, 7);
        ck_assert_uint_eq (size, 0);
    }
    else {
        ck_assert_uint_eq (type, 8);
        ck_assert_uint_eq (size, 3 * 1024 * 1024);
        ck_assert (memcmp (payload, arg, size) == 0);
    }
    return 0;
}

//  A group past 1 MiB is written before its commit; a record of 0 bytes
//  and one of 3 MiB come back whole.
START_TEST (test_large_records_and_early_write)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_error_t error;
    size_t big = 3 * 1024 * 1024;
    uint8_t *payload = (uint8_t *) malloc (big);
    for (size_t n = 0; n < big; n++)
        payload [n] = (uint8_t) (n * 13);
    ck_assert_uint_eq (sf_journal_append (journal, 7, "", 0, &error), 1);
    ck_assert_uint_eq (sf_journal_append (journal, 8, payload, big, &error), 2);
    ck_assert_uint_eq (sf_journal_records (journal), 2);     //  Written early
    ck_assert_uint_eq (sf_journal_synced (journal), 0);      //  … not synced
    ck_assert_int_eq (sf_journal_commit (journal, &error), 0);
    ck_assert_uint_eq (sf_journal_synced (journal), 2);
    sf_journal_destroy (&journal);

    s_big_seen = 0;
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, s_check_big, payload, &error);
    ck_assert_ptr_nonnull (journal);
    ck_assert_int_eq (s_big_seen, 2);
    ck_assert_uint_eq (sf_journal_bytes (journal), S_HEADER + 13 + 13 + big);

    //  Out of bounds
    ck_assert_uint_eq (sf_journal_append (journal, 0, "x", 1, &error), 0);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_ptr_nonnull (strstr (error.message, "type of 1-255"));
    sf_journal_destroy (&journal);
    free (payload);
}
END_TEST

//  A record over the limit is refused before anything is written (its
//  payload is never read: one byte stands for 256 MiB and one).
START_TEST (test_record_over_the_limit)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 5, 5);
    s_append_only (journal, 5, 7);
    sf_error_t error = { "", "" };
    uint8_t one = 1;
    ck_assert_uint_eq (sf_journal_append (journal, 1, &one, SF_JOURNAL_MAX_PAYLOAD + 1,
                                          &error), 0);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_msg (strstr (error.message, "268435457 bytes is over the limit of 268435456"),
                   "%s", error.message);
    ck_assert_msg (strstr (error.message, "nothing was written"), "%s", error.message);
    ck_assert_ptr_nonnull (strstr (error.message, s_dir));
    //  Nothing reached the file, and the group pending before it is whole
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (5));
    ck_assert_uint_eq (sf_journal_appended (journal), 7);
    ck_assert_int_eq (sf_journal_commit (journal, &error), 0);
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 7);
    sf_journal_destroy (&journal);
}
END_TEST

START_TEST (test_sync_modes)
{
    sf_error_t error;
    //  always: every commit syncs
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 10, 100);
    ck_assert_uint_eq (sf_journal_appended (journal), 10);
    ck_assert_uint_eq (sf_journal_synced (journal), 10);
    ck_assert_uint_eq (sf_journal_durable (journal), 10);
    ck_assert_int_eq (sf_journal_sync_due (journal), -1);
    sf_journal_destroy (&journal);

    //  off: durable once written, synced only when asked
    journal = s_open (SF_JOURNAL_SYNC_OFF, NULL);
    s_append_stream (journal, 10, 20, 100);
    ck_assert_uint_eq (sf_journal_durable (journal), 10);
    ck_assert_uint_eq (sf_journal_synced (journal), 0);
    ck_assert_int_eq (sf_journal_sync_due (journal), -1);
    ck_assert_int_eq (sf_journal_sync (journal, &error), 0);
    ck_assert_uint_eq (sf_journal_synced (journal), 10);
    sf_journal_destroy (&journal);

    //  batch (20 ms): the first commit writes, a commit 20 ms later syncs
    journal = s_open (SF_JOURNAL_SYNC_BATCH, NULL);
    uint8_t payload [16] = { 0 };
    ck_assert_uint_eq (sf_journal_append (journal, 1, payload, 0, &error), 1);
    //  Not durable before its commit
    ck_assert_uint_eq (sf_journal_durable (journal), 0);
    ck_assert_int_eq (sf_journal_commit (journal, &error), 0);
    ck_assert_uint_eq (sf_journal_records (journal), 21);
    ck_assert_uint_eq (sf_journal_durable (journal), 0);
    int due = sf_journal_sync_due (journal);
    ck_assert_int_ge (due, 0);
    ck_assert_int_le (due, 20);
    usleep (25 * 1000);
    ck_assert_int_eq (sf_journal_sync_due (journal), 0);
    ck_assert_int_eq (sf_journal_commit (journal, &error), 0);
    ck_assert_uint_eq (sf_journal_durable (journal), 1);
    ck_assert_int_eq (sf_journal_sync_due (journal), -1);
    sf_journal_destroy (&journal);

    //  Bad window
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_BATCH, 0, NULL, NULL, &error);
    ck_assert_ptr_null (journal);
    ck_assert_ptr_nonnull (strstr (error.message, "1-60000"));
}
END_TEST

//  --------------------------------------------------------------------------
//  Recovery

//  The last record cut 5 bytes short: an unfinished write. The 99 before
//  it come back and the report calls it what it is.
START_TEST (test_torn_tail)
{
    s_write_stream (100);
    ck_assert_int_eq (truncate (s_file ("journal"), (off_t) s_offset_of (100) - 5), 0);
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 99);
    uint64_t torn = sf_journal_record_bytes (s_record_size (99)) - 5;
    ck_assert_uint_eq (sf_journal_dropped (journal), torn);
    ck_assert_uint_eq (sf_journal_torn (journal), torn);
    ck_assert_uint_eq (sf_journal_damaged (journal), 1);
    ck_assert_uint_eq (sf_journal_dropped_at (journal), s_offset_of (99));
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (99));
    s_assert_copy (s_offset_of (99), torn);
    const char *logged = s_logged ();
    char at [64];
    snprintf (at, sizeof at, "at offset %" PRIu64 ": record cut short", s_offset_of (99));
    ck_assert_msg (strstr (logged, at), "%s", logged);
    ck_assert_msg (strstr (logged, "unfinished write"), "%s", logged);
    ck_assert_msg (strstr (logged, s_file ("journal")), "%s", logged);
    ck_assert_msg (strstr (logged, "W:"), "not a warning: %s", logged);
    s_assert_goes_on (&journal, NULL, 0, 99);
}
END_TEST

//  Six bytes of the last record's header: torn too.
START_TEST (test_torn_header)
{
    s_write_stream (100);
    ck_assert_int_eq (truncate (s_file ("journal"), (off_t) s_offset_of (99) + 6), 0);
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 99);
    ck_assert_uint_eq (sf_journal_torn (journal), 6);
    ck_assert_ptr_nonnull (strstr (s_logged (), "record header cut short"));
    s_assert_goes_on (&journal, NULL, 0, 99);
}
END_TEST

//  Damage in the middle of an fsync=always journal of 100 records: the
//  99 others come back, the report names the offset and the bytes and
//  never calls them unacknowledged, the file is rewritten without them,
//  and a copy of them is kept.
static void
s_assert_middle_damage (uint64_t damaged_record)
{
    uint64_t replayed;
    sf_journal_t *journal = s_open_losing (SF_JOURNAL_SYNC_ALWAYS, 20, &damaged_record, 1,
                                           &replayed);
    uint64_t at = s_offset_of (damaged_record);
    uint64_t size = sf_journal_record_bytes (s_record_size (damaged_record));
    ck_assert_uint_eq (replayed, 99);
    ck_assert_uint_eq (sf_journal_damaged (journal), 1);
    ck_assert_uint_eq (sf_journal_dropped (journal), size);
    ck_assert_uint_eq (sf_journal_dropped_at (journal), at);
    ck_assert_uint_eq (sf_journal_torn (journal), 0);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (100) - size);
    ck_assert_uint_eq (sf_journal_bytes (journal), s_offset_of (100) - size);
    s_assert_copy (at, size);
    const char *logged = s_logged ();
    char range [128];
    snprintf (range, sizeof range, "skipped damaged bytes [%" PRIu64 ", %" PRIu64 ") (%" PRIu64
              " bytes at offset %" PRIu64, at, at + size, size, at);
    ck_assert_msg (strstr (logged, range), "%s", logged);
    ck_assert_msg (strstr (logged, s_file ("journal")), "%s", logged);
    ck_assert_msg (strstr (logged, "may have been acknowledged"), "%s", logged);
    ck_assert_msg (!strstr (logged, "never acknowledged"), "%s", logged);
    ck_assert_msg (!strstr (logged, "unfinished"), "%s", logged);
    s_assert_goes_on (&journal, &damaged_record, 1, 99);
}

START_TEST (test_flipped_byte_in_the_middle)
{
    s_write_stream (100);
    s_flip (s_offset_of (50) + 13 + 3, 0x20);      //  In record 50's payload
    s_assert_middle_damage (50);
}
END_TEST

START_TEST (test_flipped_length_field)
{
    s_write_stream (100);
    s_flip (s_offset_of (70) + 4, 0x01);            //  Record 70's length, one byte off
    s_assert_middle_damage (70);
}
END_TEST

//  A length field that claims 4 GiB, and one of a record's sync word.
START_TEST (test_lying_length_and_sync_word)
{
    s_write_stream (100);
    int fd = open (s_file ("journal"), O_RDWR);
    uint8_t lie [4] = { 0xff, 0xff, 0xff, 0xff };
    ck_assert_int_eq (pwrite (fd, lie, 4, (off_t) s_offset_of (70) + 4), 4);
    close (fd);
    s_assert_middle_damage (70);

    s_flip (s_offset_of (20), 0x80);
    uint64_t lost [2] = { 20, 70 };
    uint64_t replayed;
    sf_journal_t *journal = s_open_losing (SF_JOURNAL_SYNC_ALWAYS, 20, lost, 2, &replayed);
    ck_assert_uint_eq (replayed, 108);
    ck_assert_uint_eq (sf_journal_damaged (journal), 1);
    ck_assert_ptr_nonnull (strstr (s_logged (), "sync word missing"));
    sf_journal_destroy (&journal);
}
END_TEST

//  Two damaged records: each is its own stretch.
START_TEST (test_two_damaged_stretches)
{
    s_write_stream (100);
    s_flip (s_offset_of (10) + 20, 0x04);
    s_flip (s_offset_of (60) + 8, 0x04);            //  Record 60's CRC
    uint64_t lost [2] = { 10, 60 };
    uint64_t replayed;
    sf_journal_t *journal = s_open_losing (SF_JOURNAL_SYNC_ALWAYS, 20, lost, 2, &replayed);
    ck_assert_uint_eq (replayed, 98);
    ck_assert_uint_eq (sf_journal_damaged (journal), 2);
    ck_assert_uint_eq (sf_journal_dropped_at (journal), s_offset_of (10));
    s_assert_copy (s_offset_of (10), sf_journal_record_bytes (s_record_size (10)));
    s_assert_copy (s_offset_of (60), sf_journal_record_bytes (s_record_size (60)));
    s_assert_goes_on (&journal, lost, 2, 98);
}
END_TEST

//  Garbage after the last record: dropped, but not called an unfinished
//  write (it holds no record that was being written).
START_TEST (test_garbage_appended)
{
    s_write_stream (100);
    uint8_t garbage [1000];
    for (size_t n = 0; n < sizeof garbage; n++)
        garbage [n] = (uint8_t) (n * 151 + 17);
    s_append_bytes (garbage, sizeof garbage);
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 100);
    ck_assert_uint_eq (sf_journal_dropped (journal), 1000);
    ck_assert_uint_eq (sf_journal_torn (journal), 0);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (100));
    s_assert_copy (s_offset_of (100), 1000);
    const char *logged = s_logged ();
    ck_assert_msg (strstr (logged, "dropped damaged bytes at the end"), "%s", logged);
    ck_assert_msg (!strstr (logged, "never acknowledged"), "%s", logged);
    s_assert_goes_on (&journal, NULL, 0, 100);
}
END_TEST

START_TEST (test_zeroed_tail)
{
    s_write_stream (100);
    s_append_bytes (NULL, 4096);
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 100);
    ck_assert_uint_eq (sf_journal_dropped (journal), 4096);
    ck_assert_uint_eq (sf_journal_torn (journal), 0);
    s_assert_goes_on (&journal, NULL, 0, 100);
}
END_TEST

//  Record 98 damaged and record 99 cut short: two stretches, both cut
//  off at record 98, and only the second is the unfinished write.
START_TEST (test_damage_before_a_torn_tail)
{
    s_write_stream (100);
    s_flip (s_offset_of (98) + 30, 0x01);
    ck_assert_int_eq (truncate (s_file ("journal"), (off_t) s_offset_of (100) - 1), 0);
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 98);
    ck_assert_uint_eq (sf_journal_damaged (journal), 2);
    ck_assert_uint_eq (sf_journal_torn (journal),
                       sf_journal_record_bytes (s_record_size (99)) - 1);
    ck_assert_uint_eq (sf_journal_dropped (journal), s_offset_of (100) - 1 - s_offset_of (98));
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (98));
    const char *logged = s_logged ();
    ck_assert_msg (strstr (logged, "dropped damaged bytes at the end"), "%s", logged);
    ck_assert_msg (strstr (logged, "unfinished write"), "%s", logged);
    s_assert_goes_on (&journal, NULL, 0, 98);
}
END_TEST

START_TEST (test_headers)
{
    sf_error_t error;
    //  A header cut short right after creation is written anew
    int fd = open (s_file ("journal"), O_WRONLY | O_CREAT, 0644);
    ck_assert_int_eq (write (fd, "SHEAF", 5), 5);
    close (fd);
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 0);
    ck_assert_uint_eq (s_file_size ("journal"), S_HEADER);
    sf_journal_destroy (&journal);

    //  Another file is refused, not truncated
    fd = open (s_file ("journal"), O_WRONLY | O_TRUNC);
    ck_assert_int_eq (write (fd, "hello, this is not a journal", 28), 28);
    close (fd);
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error);
    ck_assert_ptr_null (journal);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_ptr_nonnull (strstr (error.message, "is not a sheaf journal"));
    ck_assert_uint_eq (s_file_size ("journal"), 28);

    //  A later version is refused
    fd = open (s_file ("journal"), O_WRONLY | O_TRUNC);
    ck_assert_int_eq (write (fd, "SHEAFJNL\x03\0\0\0\x11\x22\x33\x44\0\0\0\0", 20), 20);
    close (fd);
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error);
    ck_assert_ptr_null (journal);
    ck_assert_msg (strstr (error.message, "format version 3; this broker reads versions 1"
                           " and 2"), "%s", error.message);
    ck_assert_uint_eq (s_file_size ("journal"), 20);
}
END_TEST

//  A flipped byte in the header's sync word: the header is written again
//  from the first record, and every record comes back. With the first
//  record damaged too, the file is refused and left as it is.
START_TEST (test_damaged_header)
{
    s_write_stream (50);
    s_flip (13, 0x40);
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 50);
    ck_assert_ptr_nonnull (strstr (s_logged (), "header was damaged"));
    sf_journal_destroy (&journal);
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 50);
    sf_journal_destroy (&journal);

    s_flip (13, 0x40);
    s_flip (S_HEADER + 9, 0x40);                    //  The first record's CRC
    size_t before_size;
    uint8_t *before = s_read_journal (&before_size);
    sf_error_t error;
    ck_assert_ptr_null (sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error));
    ck_assert_msg (strstr (error.message, "header is damaged"), "%s", error.message);
    ck_assert_msg (strstr (error.message, "left as it is"), "%s", error.message);
    size_t after_size;
    uint8_t *after = s_read_journal (&after_size);
    ck_assert (before_size == after_size && memcmp (before, after, before_size) == 0);
    free (before);
    free (after);
}
END_TEST

//  A version-1 record: length, CRC of length+type+payload, type, payload.
static size_t
s_v1_record (uint8_t *at, uint8_t type, const uint8_t *payload, size_t size)
{
    at [0] = (uint8_t) size;
    at [1] = (uint8_t) (size >> 8);
    at [2] = at [3] = 0;
    at [8] = type;
    memcpy (at + 9, payload, size);
    uLong crc = crc32 (0L, at, 4);
    crc = crc32 (crc, at + 8, 1);
    crc = crc32 (crc, payload, (uInt) size);
    for (int n = 0; n < 4; n++)
        at [4 + n] = (uint8_t) (crc >> (8 * n));
    return 9 + size;
}

//  A version-1 file (its last record torn) is read, its complete records
//  replayed, and converted to version 2.
START_TEST (test_version_1_converted)
{
    size_t capacity = 16 + 31 * 3010;
    uint8_t *file = (uint8_t *) malloc (capacity);
    memcpy (file, "SHEAFJNL\x01\0\0\0\0\0\0\0", 16);
    size_t used = 16;
    uint8_t payload [3001];
    for (uint64_t i = 0; i < 31; i++) {
        s_record_fill (i, payload, s_record_size (i));
        used += s_v1_record (file + used, s_record_type (i), payload, s_record_size (i));
    }
    used -= 7;
    int fd = open (s_file ("journal"), O_WRONLY | O_CREAT, 0644);
    ck_assert_int_eq (write (fd, file, used), (ssize_t) used);
    close (fd);
    free (file);

    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 30);
    ck_assert_uint_eq (sf_journal_torn (journal), 9 + s_record_size (30) - 7);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (30));
    ck_assert_ptr_nonnull (strstr (s_logged (), "from format version 1 to 2"));
    size_t size;
    uint8_t *converted = s_read_journal (&size);
    ck_assert_int_eq (converted [8], 2);
    free (converted);
    s_assert_goes_on (&journal, NULL, 0, 30);
}
END_TEST

//  A replay callback that fails makes the open fail with its error, and
//  leaves the journal unlocked and untouched.
START_TEST (test_replay_refused)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 20, 20);
    sf_journal_destroy (&journal);
    s_replay_t state = { 0, 5, { 0 }, 0 };
    sf_error_t error;
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, s_check_stream, &state, &error);
    ck_assert_ptr_null (journal);
    ck_assert_str_eq (error.message, "record 5 refused");
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 20);
    sf_journal_destroy (&journal);
}
END_TEST

//  --------------------------------------------------------------------------
//  Compaction

//  The live set: stream records whose index is a multiple of 3, in order.
typedef struct {
    uint64_t next;              //  Next stream index to consider
    uint64_t end;               //  One past the last
    uint64_t fail_at;           //  Give -1 at this index (0: never)
    uint8_t payload [3001];     //  The record handed out
} s_live_t;

static int
s_next_live (void *arg, uint8_t *type, const void **payload, size_t *size, sf_error_t *error)
{
    s_live_t *live = (s_live_t *) arg;
    while (live->next < live->end && live->next % 3)
        live->next++;
    if (live->next >= live->end)
        return 0;
    if (live->fail_at && live->next >= live->fail_at)
        return sf_error_set (error, "STORE", "live set unavailable");
    uint64_t i = live->next++;
    *type = s_record_type (i);
    *size = s_record_size (i);
    s_record_fill (i, live->payload, *size);
    *payload = live->payload;
    return 1;
}

//  Replay checking the live set (stream indices below arg's stop_at that
//  are multiples of 3), then every record of the stream from there on.
static int
s_check_compacted (uint8_t type, const void *payload, size_t size, void *arg,
                   sf_error_t *error)
{
    s_replay_t *state = (s_replay_t *) arg;
    uint64_t i = state->next;
    state->next = i + 3 < state->stop_at? i + 3: i < state->stop_at? state->stop_at: i + 1;
    s_replay_t one = { i, 0, { 0 }, 0 };
    return s_check_stream (type, payload, size, &one, error);
}

START_TEST (test_compaction_keeps_the_live_set)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 900, 50);
    uint64_t before = sf_journal_bytes (journal);
    s_live_t live = { 0, 900, 0, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), 0);
    ck_assert_uint_eq (sf_journal_records (journal), 300);
    ck_assert_uint_lt (sf_journal_bytes (journal), before / 2);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), sf_journal_bytes (journal));
    ck_assert_int_eq (access (s_file ("journal.compact"), F_OK), -1);
    ck_assert_uint_eq (sf_journal_durable (journal), sf_journal_appended (journal));
    //  Appends go to the new file
    s_append_stream (journal, 900, 950, 10);
    sf_journal_destroy (&journal);

    s_replay_t state = { 0, 900, { 0 }, 0 };
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, s_check_compacted, &state,
                              &error);
    ck_assert_ptr_nonnull (journal);
    ck_assert_uint_eq (sf_journal_replayed (journal), 350);
    ck_assert_uint_eq (state.next, 950);
    sf_journal_destroy (&journal);
}
END_TEST

//  A crash after journal.compact was written, before the rename: the
//  old journal is whole, and the next open removes the stray copy.
START_TEST (test_compaction_crash_before_rename)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 200, 20);
    sf_journal_destroy (&journal);
    int fd = open (s_file ("journal.compact"), O_WRONLY | O_CREAT, 0644);
    ck_assert_int_eq (write (fd, "SHEAFJNL\x02\0\0\0\x11\x22\x33\x44partial", 23), 23);
    close (fd);

    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 200);
    ck_assert_int_eq (access (s_file ("journal.compact"), F_OK), -1);
    sf_journal_destroy (&journal);
}
END_TEST

//  A live set that fails half-way: the old journal stays, in use.
START_TEST (test_compaction_abandoned)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 300, 30);
    s_live_t live = { 0, 300, 150, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), -1);
    ck_assert_str_eq (error.message, "live set unavailable");
    ck_assert_int_eq (access (s_file ("journal.compact"), F_OK), -1);
    ck_assert_uint_eq (sf_journal_records (journal), 300);
    s_append_stream (journal, 300, 310, 10);
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 310);
    sf_journal_destroy (&journal);
}
END_TEST

//  --------------------------------------------------------------------------
//  Lock and directories

//  A second open of the directory fails with LOCKED, naming it.
static void
s_assert_locked_out (void)
{
    sf_error_t error = { "", "" };
    sf_journal_t *second = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL,
                                           &error);
    ck_assert_ptr_null (second);
    ck_assert_str_eq (error.code, "LOCKED");
    ck_assert_msg (strstr (error.message, s_dir), "%s", error.message);
    ck_assert_msg (strstr (error.message, "in use by another process"), "%s", error.message);
}

START_TEST (test_lock_keeps_a_second_opener_out)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_assert_locked_out ();
    sf_error_t error;
    ck_assert_ptr_null (sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error));
    char pid [32];
    snprintf (pid, sizeof pid, "pid %ld", (long) getpid ());
    ck_assert_msg (strstr (error.message, pid), "%s", error.message);

    //  The lock is the directory's: deleting DIR/lock changes nothing
    ck_assert_int_eq (unlink (s_file ("lock")), 0);
    s_assert_locked_out ();
    //  Nor does a process that is not this one
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0) {
        sf_error_t mine;
        sf_journal_t *other = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL,
                                              &mine);
        _exit (other == NULL && strcmp (mine.code, "LOCKED") == 0? 0: 1);
    }
    int status;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);

    sf_journal_destroy (&journal);
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_journal_destroy (&journal);
}
END_TEST

//  A compaction renames a new file over the journal; the lock stays.
START_TEST (test_lock_survives_compaction)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 30, 10);
    s_live_t live = { 0, 30, 0, { 0 } };
    sf_error_t error;
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), 0);
    s_assert_locked_out ();
    sf_journal_destroy (&journal);
}
END_TEST

//  A broker of format 1 locks only DIR/lock: it keeps this one out too.
START_TEST (test_lock_file_of_format_1)
{
    int fd = open (s_file ("lock"), O_RDWR | O_CREAT, 0644);
    ck_assert_int_eq (flock (fd, LOCK_EX | LOCK_NB), 0);
    ck_assert_int_eq (write (fd, "4242\n", 5), 5);
    sf_error_t error;
    ck_assert_ptr_null (sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error));
    ck_assert_str_eq (error.code, "LOCKED");
    ck_assert_msg (strstr (error.message, "pid 4242"), "%s", error.message);
    ck_assert_msg (strstr (error.message, s_file ("lock")), "%s", error.message);
    close (fd);
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_journal_destroy (&journal);
}
END_TEST

//  Open directory as an ordinary user, expecting failure; error gets the
//  error. Root writes anywhere, so as root a child drops to nobody first.
static void
s_open_unprivileged (const char *directory, sf_error_t *error)
{
    if (geteuid () != 0) {
        ck_assert_ptr_null (sf_journal_new (directory, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL,
                                            error));
        return;
    }
    ck_assert_int_eq (chmod (s_dir, 0755), 0);
    int channel [2];
    ck_assert_int_eq (pipe (channel), 0);
    pid_t pid = fork ();
    ck_assert_int_ge (pid, 0);
    if (pid == 0) {
        close (channel [0]);
        sf_error_t mine = { "", "" };
        if (setgid (65534) || setuid (65534))
            _exit (2);
        sf_journal_t *journal = sf_journal_new (directory, SF_JOURNAL_SYNC_ALWAYS, 0, NULL,
                                                NULL, &mine);
        ssize_t sent = write (channel [1], &mine, sizeof mine);
        _exit (journal || sent != (ssize_t) sizeof mine? 1: 0);
    }
    close (channel [1]);
    ck_assert_int_eq (read (channel [0], error, sizeof *error), (ssize_t) sizeof *error);
    close (channel [0]);
    int status;
    ck_assert_int_eq (waitpid (pid, &status, 0), pid);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

START_TEST (test_directories)
{
    sf_error_t error;
    //  Missing, with missing parents: created
    char nested [512];
    snprintf (nested, sizeof nested, "%s/a/b/c", s_dir);
    sf_journal_t *journal = sf_journal_new (nested, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL,
                                            &error);
    ck_assert_ptr_nonnull (journal);
    ck_assert_uint_eq (sf_journal_replayed (journal), 0);
    ck_assert_str_eq (sf_journal_directory (journal), nested);
    sf_journal_destroy (&journal);

    //  A path through a regular file
    int fd = open (s_file ("plain"), O_WRONLY | O_CREAT, 0644);
    close (fd);
    snprintf (nested, sizeof nested, "%s/plain/journal", s_dir);
    journal = sf_journal_new (nested, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error);
    ck_assert_ptr_null (journal);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_ptr_nonnull (strstr (error.message, "cannot create directory"));
    ck_assert_ptr_nonnull (strstr (error.message, "Not a directory"));

    //  The journal's name taken by a directory
    snprintf (nested, sizeof nested, "%s/d", s_dir);
    ck_assert_int_eq (mkdir (nested, 0755), 0);
    snprintf (nested, sizeof nested, "%s/d/journal", s_dir);
    ck_assert_int_eq (mkdir (nested, 0755), 0);
    snprintf (nested, sizeof nested, "%s/d", s_dir);
    journal = sf_journal_new (nested, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error);
    ck_assert_ptr_null (journal);
    ck_assert_ptr_nonnull (strstr (error.message, "cannot open"));

    //  Empty name
    journal = sf_journal_new ("", SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error);
    ck_assert_ptr_null (journal);

    //  Unwritable
    snprintf (nested, sizeof nested, "%s/ro", s_dir);
    ck_assert_int_eq (mkdir (nested, 0555), 0);
    s_open_unprivileged (nested, &error);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_ptr_nonnull (strstr (error.message, "Permission denied"));
    ck_assert_ptr_nonnull (strstr (error.message, nested));
}
END_TEST

//  --------------------------------------------------------------------------
//  Injected faults

//  The fault a test injects: each call kind fails with its errno while
//  that is not 0.
static struct {
    int pwrite;                 //  errno of every write
    bool half;                  //  A failing write first writes half of its bytes
    int fdatasync;              //  errno of every file sync
    uint64_t scribble_at;       //  A failing sync also spoils the file from here (0: no)
    int ftruncate;              //  errno of every truncation
    int fsync;                  //  errno of every directory sync
    int open;                   //  errno of the opens of paths ending in open_suffix
    const char *open_suffix;    //  Which path fails to open
    int failed_calls;           //  Calls that failed
} s_fault;

static const int s_errnos [] = { ENOSPC, EIO, EPERM };

static ssize_t
s_fault_pwrite (int fd, const void *data, size_t size, off_t offset)
{
    if (!s_fault.pwrite)
        return pwrite (fd, data, size, offset);
    s_fault.failed_calls++;
    if (s_fault.half && size > 1 && pwrite (fd, data, size / 2, offset) < 0)
        return -1;
    errno = s_fault.pwrite;
    return -1;
}

//  A failing sync that spoils what was written since the last good one
//  stands for a kernel that dropped those pages.
static int
s_fault_fdatasync (int fd)
{
    if (!s_fault.fdatasync)
        return fdatasync (fd);
    s_fault.failed_calls++;
    struct stat info;
    if (s_fault.scribble_at && fstat (fd, &info) == 0) {
        for (off_t at = (off_t) s_fault.scribble_at; at < info.st_size; at++)
            ck_assert_int_eq (pwrite (fd, "\xee", 1, at), 1);
    }
    errno = s_fault.fdatasync;
    return -1;
}

static int
s_fault_ftruncate (int fd, off_t size)
{
    if (!s_fault.ftruncate)
        return ftruncate (fd, size);
    s_fault.failed_calls++;
    errno = s_fault.ftruncate;
    return -1;
}

static int
s_fault_fsync (int fd)
{
    if (!s_fault.fsync)
        return fsync (fd);
    s_fault.failed_calls++;
    errno = s_fault.fsync;
    return -1;
}

static int
s_fault_open (const char *path, int flags, mode_t mode)
{
    size_t length = strlen (path);
    size_t suffix = s_fault.open_suffix? strlen (s_fault.open_suffix): 0;
    if (s_fault.open && length >= suffix
    &&  streq (path + length - suffix, s_fault.open_suffix? s_fault.open_suffix: "")) {
        s_fault.failed_calls++;
        errno = s_fault.open;
        return -1;
    }
    return open (path, flags, mode);
}

static const sf_journal_io_t s_fault_io = {
    .pwrite = s_fault_pwrite, .fdatasync = s_fault_fdatasync, .open = s_fault_open,
    .ftruncate = s_fault_ftruncate, .fsync = s_fault_fsync
};

//  Assert that error names the journal file, what failed and the errno.
static void
s_assert_fault (const sf_error_t *error, const char *what, int code)
{
    ck_assert_str_eq (error->code, "STORE");
    ck_assert_msg (strstr (error->message, what), "%s", error->message);
    ck_assert_msg (strstr (error->message, s_file ("journal")), "%s", error->message);
    ck_assert_msg (strstr (error->message, strerror (code)), "%s", error->message);
}

//  A write fails half-way (ENOSPC, EIO, EPERM): the file is cut back to
//  the last good commit, so the complete records of the half that landed
//  are gone (a reader resynchronising on sync words would have found
//  them), and the journal goes on once the fault clears.
START_TEST (test_write_fault_is_undone)
{
    int code = s_errnos [_i];
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_journal_set_default_io (&s_fault_io);
    s_append_stream (journal, 0, 40, 20);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.pwrite = code;
    s_fault.half = true;
    s_append_only (journal, 40, 50);
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    s_assert_fault (&error, "cannot write to", code);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (40));
    ck_assert_uint_eq (sf_journal_durable (journal), 40);
    ck_assert_uint_eq (sf_journal_records (journal), 40);

    //  While the fault lasts, each commit fails once, quickly
    for (int attempt = 0; attempt < 3; attempt++) {
        s_fault.failed_calls = 0;
        s_append_only (journal, 40, 45);
        ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
        ck_assert_int_eq (s_fault.failed_calls, 1);
        ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (40));
    }
    //  The fault clears: the journal goes on where it was
    s_fault.pwrite = 0;
    s_append_stream (journal, 40, 60, 20);
    ck_assert_uint_eq (sf_journal_durable (journal), sf_journal_appended (journal));
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 60);
    ck_assert_uint_eq (sf_journal_dropped (journal), 0);
    sf_journal_destroy (&journal);
}
END_TEST

//  The write fails half-way and so does the truncation that would undo
//  it: every commit retries the cut once and fails until the fault
//  clears; then the half-written group is gone and the journal goes on.
START_TEST (test_write_and_truncate_fault)
{
    int code = s_errnos [_i];
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_journal_set_io (journal, &s_fault_io);
    s_append_stream (journal, 0, 40, 20);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.pwrite = code;
    s_fault.half = true;
    s_fault.ftruncate = code;
    s_append_only (journal, 40, 50);
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    s_assert_fault (&error, "cannot write to", code);
    ck_assert_uint_gt ((uint64_t) s_file_size ("journal"), s_offset_of (41));
    for (int attempt = 0; attempt < 3; attempt++) {
        s_fault.failed_calls = 0;
        s_append_only (journal, 40, 45);
        ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
        s_assert_fault (&error, "cannot truncate", code);
        ck_assert_int_eq (s_fault.failed_calls, 1);
    }
    ck_assert_uint_eq (sf_journal_durable (journal), 40);
    memset (&s_fault, 0, sizeof s_fault);
    s_append_stream (journal, 40, 60, 20);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (60));
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 60);
    ck_assert_uint_eq (sf_journal_dropped (journal), 0);
    sf_journal_destroy (&journal);
}
END_TEST

//  A sync fails (always): the commit fails, its records never count as
//  durable and never come back; commits fail while the fault lasts and
//  work once it clears.
START_TEST (test_sync_fault_always)
{
    int code = s_errnos [_i];
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_journal_set_io (journal, &s_fault_io);
    s_append_stream (journal, 0, 10, 10);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.fdatasync = code;
    s_append_only (journal, 10, 15);
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    s_assert_fault (&error, "cannot sync", code);
    ck_assert_uint_eq (sf_journal_durable (journal), 10);
    ck_assert_uint_eq (sf_journal_synced (journal), 10);
    for (int attempt = 0; attempt < 3; attempt++) {
        s_fault.failed_calls = 0;
        s_append_only (journal, 10, 15);
        ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
        ck_assert_int_eq (s_fault.failed_calls, 1);
        ck_assert_uint_eq (sf_journal_durable (journal), 10);
    }
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (10));
    s_fault.fdatasync = 0;
    s_append_stream (journal, 10, 20, 10);
    ck_assert_uint_eq (sf_journal_durable (journal), sf_journal_appended (journal));
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 20);
    sf_journal_destroy (&journal);
}
END_TEST

//  A sync fails in batch mode after earlier commits that were written but
//  not synced, and the kernel lost their pages: the repair writes them
//  again from the journal's copy, so they come back; the failed group
//  does not.
START_TEST (test_sync_fault_batch_writes_again)
{
    int code = s_errnos [_i];
    sf_error_t error;
    sf_journal_t *journal = s_open_losing (SF_JOURNAL_SYNC_BATCH, 60000, NULL, 0, NULL);
    sf_journal_set_io (journal, &s_fault_io);
    s_append_stream (journal, 0, 10, 10);
    ck_assert_int_eq (sf_journal_sync (journal, &error), 0);
    s_append_stream (journal, 10, 30, 5);            //  Committed, not synced
    ck_assert_uint_eq (sf_journal_durable (journal), 10);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.fdatasync = code;
    s_fault.scribble_at = s_offset_of (10);
    s_append_only (journal, 30, 35);
    ck_assert_int_eq (sf_journal_sync (journal, &error), -1);
    s_assert_fault (&error, "cannot sync", code);
    ck_assert_uint_eq (sf_journal_durable (journal), 10);
    s_fault.fdatasync = 0;
    s_fault.scribble_at = 0;
    s_append_stream (journal, 30, 40, 10);
    ck_assert_int_eq (sf_journal_sync (journal, &error), 0);
    ck_assert_uint_eq (sf_journal_durable (journal), sf_journal_appended (journal));
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 40);
    ck_assert_uint_eq (sf_journal_dropped (journal), 0);
    sf_journal_destroy (&journal);
}
END_TEST

//  A group past 1 MiB is written early, and that write fails: the append
//  fails and drops the group; the journal goes on once the fault clears.
START_TEST (test_early_write_fault)
{
    int code = s_errnos [_i];
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_journal_set_io (journal, &s_fault_io);
    s_append_stream (journal, 0, 10, 10);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.pwrite = code;
    s_fault.half = true;
    size_t big = 2 * 1024 * 1024;
    uint8_t *payload = (uint8_t *) calloc (1, big);
    ck_assert_uint_eq (sf_journal_append (journal, 5, payload, big, &error), 0);
    s_assert_fault (&error, "cannot write to", code);
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (10));
    ck_assert_int_eq (sf_journal_commit (journal, &error), 0);      //  Nothing left to write
    s_fault.pwrite = 0;
    s_append_stream (journal, 10, 20, 10);
    sf_journal_destroy (&journal);
    free (payload);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 20);
    sf_journal_destroy (&journal);
}
END_TEST

//  Opens that fail: the journal file, the directory, a compaction's file.
START_TEST (test_open_fault)
{
    int code = s_errnos [_i];
    sf_error_t error;
    sf_journal_set_default_io (&s_fault_io);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.open = code;
    s_fault.open_suffix = "/journal";
    ck_assert_ptr_null (sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error));
    s_assert_fault (&error, "cannot open", code);
    s_fault.open_suffix = s_dir;
    ck_assert_ptr_null (sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error));
    ck_assert_msg (strstr (error.message, "cannot open the directory"), "%s", error.message);
    ck_assert_msg (strstr (error.message, strerror (code)), "%s", error.message);

    s_fault.open = 0;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 30, 10);
    s_fault.open = code;
    s_fault.open_suffix = "/journal.compact";
    s_live_t live = { 0, 30, 0, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), -1);
    ck_assert_msg (strstr (error.message, "cannot create"), "%s", error.message);
    ck_assert_msg (strstr (error.message, "journal.compact"), "%s", error.message);
    s_fault.open = 0;
    s_append_stream (journal, 30, 40, 10);
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 40);
    sf_journal_destroy (&journal);
}
END_TEST

//  With fsync=off nothing is kept to write again, so a failed sync fails
//  the journal for good; what was committed is still in the file.
START_TEST (test_sync_fault_off_is_final)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_OFF, NULL);
    sf_journal_set_io (journal, &s_fault_io);
    s_append_stream (journal, 0, 10, 10);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.fdatasync = EIO;
    ck_assert_uint_ne (sf_journal_append (journal, 1, "x", 1, &error), 0);
    ck_assert_int_eq (sf_journal_sync (journal, &error), -1);
    s_assert_fault (&error, "cannot sync", EIO);
    ck_assert_uint_eq (sf_journal_synced (journal), 0);
    s_fault.fdatasync = 0;
    ck_assert_uint_eq (sf_journal_append (journal, 1, "x", 1, &error), 0);
    ck_assert_ptr_nonnull (strstr (error.message, "has failed"));
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    s_live_t live = { 0, 10, 0, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), -1);
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_OFF, &replayed);
    ck_assert_uint_eq (replayed, 10);
    sf_journal_destroy (&journal);
}
END_TEST

//  A compaction whose new file cannot be synced leaves the old journal.
START_TEST (test_compaction_sync_fault)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_OFF, NULL);
    s_append_stream (journal, 0, 30, 30);
    sf_journal_set_io (journal, &s_fault_io);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.fdatasync = EIO;
    s_live_t live = { 0, 30, 0, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), -1);
    ck_assert_ptr_nonnull (strstr (error.message, "journal.compact"));
    ck_assert_int_eq (access (s_file ("journal.compact"), F_OK), -1);
    s_fault.fdatasync = 0;
    s_append_stream (journal, 30, 40, 10);
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 40);
    sf_journal_destroy (&journal);
}
END_TEST

//  The directory cannot be synced after a compaction's rename: the new
//  file is in use, and commits fail until the directory sync works.
START_TEST (test_compaction_directory_fault)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 30, 10);
    sf_journal_set_io (journal, &s_fault_io);
    memset (&s_fault, 0, sizeof s_fault);
    s_fault.fsync = EIO;
    s_live_t live = { 0, 30, 0, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), -1);
    ck_assert_msg (strstr (error.message, "cannot sync the directory"), "%s", error.message);
    ck_assert_uint_eq (sf_journal_records (journal), 10);
    s_append_only (journal, 30, 35);
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    ck_assert_msg (strstr (error.message, "cannot sync the directory"), "%s", error.message);
    s_fault.fsync = 0;
    s_append_stream (journal, 30, 40, 10);
    sf_journal_destroy (&journal);

    s_replay_t state = { 0, 30, { 0 }, 0 };
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, s_check_compacted, &state,
                              &error);
    ck_assert_ptr_nonnull (journal);
    ck_assert_uint_eq (sf_journal_replayed (journal), 20);
    sf_journal_destroy (&journal);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_journal");
    struct {
        const char *name;
        const TTest *tests [12];
        int loops;              //  Each test runs once per injected errno when 3
    } cases [] = {
        { "round trip", { test_round_trip_across_reopen, test_large_records_and_early_write,
                          test_record_over_the_limit, test_sync_modes }, 1 },
        { "recovery", { test_torn_tail, test_torn_header, test_flipped_byte_in_the_middle,
                        test_flipped_length_field, test_lying_length_and_sync_word,
                        test_two_damaged_stretches, test_garbage_appended, test_zeroed_tail,
                        test_damage_before_a_torn_tail, test_headers, test_damaged_header,
                        test_version_1_converted }, 1 },
        { "replay", { test_replay_refused }, 1 },
        { "compaction", { test_compaction_keeps_the_live_set,
                          test_compaction_crash_before_rename, test_compaction_abandoned }, 1 },
        { "directory", { test_lock_keeps_a_second_opener_out, test_lock_survives_compaction,
                         test_lock_file_of_format_1, test_directories }, 1 },
        { "faults", { test_write_fault_is_undone, test_write_and_truncate_fault,
                      test_sync_fault_always, test_sync_fault_batch_writes_again,
                      test_early_write_fault, test_open_fault }, 3 },
        { "final faults", { test_sync_fault_off_is_final, test_compaction_sync_fault,
                            test_compaction_directory_fault }, 1 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        TCase *tcase = tcase_create (cases [c].name);
        tcase_set_timeout (tcase, 30);
        tcase_add_checked_fixture (tcase, s_setup, s_teardown);
        for (size_t t = 0; t < 12 && cases [c].tests [t]; t++)
            tcase_add_loop_test (tcase, cases [c].tests [t], 0, cases [c].loops);
        suite_add_tcase (suite, tcase);
    }
    return suite_run (suite);
}
