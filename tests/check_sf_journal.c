/*  =========================================================================
    check_sf_journal - the record log: round trips across reopen, sync
    modes, recovery from damaged tails, compaction and its crash window,
    the directory lock, directory errors and injected I/O faults
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sf_journal.h"

//  --------------------------------------------------------------------------
//  Fixtures and helpers

static char s_dir [256];        //  This test's journal directory

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/sheaf-journal-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
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
    nftw (s_dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
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
            ck_assert_int_eq (sf_journal_commit (journal, &error), 0);
    }
}

//  Replay state: checks each record against the stream.
typedef struct {
    uint64_t next;              //  Stream index expected next
    uint64_t stop_at;           //  Fail replay at this record (0: never)
} s_replay_t;

static int
s_check_stream (uint8_t type, const void *payload, size_t size, void *arg,
                sf_error_t *error)
{
    s_replay_t *state = (s_replay_t *) arg;
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

//  Open the test directory, replaying and checking the stream; returns the
//  journal and the records replayed in *replayed.
static sf_journal_t *
s_open (sf_journal_sync_t sync, uint64_t *replayed)
{
    s_replay_t state = { 0, 0 };
    sf_error_t error = { "", "" };
    sf_journal_t *journal = sf_journal_new (s_dir, sync, 20, s_check_stream, &state, &error);
    ck_assert_msg (journal != NULL, "open failed: %s", error.message);
    ck_assert_uint_eq (state.next, sf_journal_replayed (journal));
    if (replayed)
        *replayed = state.next;
    return journal;
}

//  Offset of stream record i in a file that holds records 0..i-1 before it.
static uint64_t
s_offset_of (uint64_t i)
{
    uint64_t offset = 16;
    for (uint64_t n = 0; n < i; n++)
        offset += sf_journal_record_bytes (s_record_size (n));
    return offset;
}

//  --------------------------------------------------------------------------

START_TEST (test_round_trip_across_reopen)
{
    uint64_t replayed;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 0);
    ck_assert_uint_eq (sf_journal_bytes (journal), 16);
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

    //  Out of bounds
    ck_assert_uint_eq (sf_journal_append (journal, 0, "x", 1, &error), 0);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_ptr_nonnull (strstr (error.message, "type of 1-255"));
    sf_journal_destroy (&journal);
    free (payload);
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

//  Write records 0..99, then damage the file with damage (); reopen must
//  keep `kept` records, report what it dropped at the damage offset, and
//  stay usable: 10 more appended, reopen gives kept + 10.
static void
s_damage_and_recover (void (*damage) (void), uint64_t kept, uint64_t dropped)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 100, 10);
    sf_journal_destroy (&journal);
    damage ();

    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, kept);
    ck_assert_uint_eq (sf_journal_dropped (journal), dropped);
    ck_assert_uint_eq (sf_journal_dropped_at (journal), s_offset_of (kept));
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (kept));
    char name [64];
    snprintf (name, sizeof name, "journal.damaged-%" PRIu64, s_offset_of (kept));
    ck_assert_uint_eq ((uint64_t) s_file_size (name), dropped);
    s_append_stream (journal, kept, kept + 10, 10);
    sf_journal_destroy (&journal);

    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, kept + 10);
    ck_assert_uint_eq (sf_journal_dropped (journal), 0);
    sf_journal_destroy (&journal);
}

static void
s_cut_last_record (void)
{
    ck_assert_int_eq (truncate (s_file ("journal"), (off_t) s_offset_of (100) - 5), 0);
}

static void
s_flip_byte_in_record_50 (void)
{
    int fd = open (s_file ("journal"), O_RDWR);
    uint8_t byte;
    off_t at = (off_t) s_offset_of (50) + 9 + 3;
    ck_assert_int_eq (pread (fd, &byte, 1, at), 1);
    byte ^= 0x20;
    ck_assert_int_eq (pwrite (fd, &byte, 1, at), 1);
    close (fd);
}

static void
s_append_garbage (void)
{
    int fd = open (s_file ("journal"), O_WRONLY | O_APPEND);
    uint8_t garbage [1000];
    for (size_t n = 0; n < sizeof garbage; n++)
        garbage [n] = (uint8_t) (n * 151 + 17);
    ck_assert_int_eq (write (fd, garbage, sizeof garbage), (ssize_t) sizeof garbage);
    close (fd);
}

static void
s_append_zeros (void)
{
    int fd = open (s_file ("journal"), O_WRONLY | O_APPEND);
    uint8_t zeros [4096] = { 0 };
    ck_assert_int_eq (write (fd, zeros, sizeof zeros), (ssize_t) sizeof zeros);
    close (fd);
}

//  A length field that claims 4 GiB
static void
s_lie_in_length_of_record_70 (void)
{
    int fd = open (s_file ("journal"), O_RDWR);
    uint8_t lie [4] = { 0xff, 0xff, 0xff, 0xff };
    ck_assert_int_eq (pwrite (fd, lie, 4, (off_t) s_offset_of (70)), 4);
    close (fd);
}

START_TEST (test_recover_truncated_record)
{
    s_damage_and_recover (s_cut_last_record, 99, sf_journal_record_bytes (s_record_size (99)) - 5);
}
END_TEST

START_TEST (test_recover_flipped_byte)
{
    s_damage_and_recover (s_flip_byte_in_record_50, 50, s_offset_of (100) - s_offset_of (50));
}
END_TEST

START_TEST (test_recover_garbage_appended)
{
    s_damage_and_recover (s_append_garbage, 100, 1000);
}
END_TEST

START_TEST (test_recover_zeroed_tail)
{
    s_damage_and_recover (s_append_zeros, 100, 4096);
}
END_TEST

START_TEST (test_recover_lying_length)
{
    s_damage_and_recover (s_lie_in_length_of_record_70, 70, s_offset_of (100) - s_offset_of (70));
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
    ck_assert_uint_eq (s_file_size ("journal"), 16);
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
    ck_assert_int_eq (write (fd, "SHEAFJNL\x02\0\0\0\0\0\0\0", 16), 16);
    close (fd);
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error);
    ck_assert_ptr_null (journal);
    ck_assert_ptr_nonnull (strstr (error.message, "format version 2"));
}
END_TEST

//  A replay callback that fails makes the open fail with its error, and
//  leaves the journal unlocked and untouched.
START_TEST (test_replay_refused)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 20, 20);
    sf_journal_destroy (&journal);
    s_replay_t state = { 0, 5 };
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

//  Replay checking the live set, then the stream from 900 on.
static int
s_check_compacted (uint8_t type, const void *payload, size_t size, void *arg,
                   sf_error_t *error)
{
    s_replay_t *state = (s_replay_t *) arg;
    uint64_t i = state->next;
    state->next = i < 900? i + 3: i + 1;
    s_replay_t one = { i, 0 };
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

    s_replay_t state = { 0, 0 };
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
    ck_assert_int_eq (write (fd, "SHEAFJNL\x01\0\0\0\0\0\0\0partial", 23), 23);
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

START_TEST (test_lock_keeps_a_second_opener_out)
{
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_error_t error;
    sf_journal_t *second = sf_journal_new (s_dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL,
                                           &error);
    ck_assert_ptr_null (second);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_ptr_nonnull (strstr (error.message, s_dir));
    ck_assert_ptr_nonnull (strstr (error.message, "in use by another process"));
    char pid [32];
    snprintf (pid, sizeof pid, "pid %ld", (long) getpid ());
    ck_assert_ptr_nonnull (strstr (error.message, pid));
    sf_journal_destroy (&journal);
    second = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    sf_journal_destroy (&second);
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

static int s_write_calls;       //  pwrite calls before the fault strikes

static ssize_t
s_pwrite_full (int fd, const void *data, size_t size, off_t offset)
{
    if (s_write_calls-- > 0)
        return pwrite (fd, data, size, offset);
    //  Half of it lands, then the disk is full
    if (size > 1 && pwrite (fd, data, size / 2, offset) < 0)
        return -1;
    errno = ENOSPC;
    return -1;
}

static int
s_fdatasync_eio (int fd)
{
    (void) fd;
    errno = EIO;
    return -1;
}

START_TEST (test_write_fault_is_undone)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 40, 20);
    sf_journal_io_t io = { s_pwrite_full, fdatasync };
    s_write_calls = 0;
    sf_journal_set_io (journal, &io);
    uint8_t payload [3001];
    for (uint64_t i = 40; i < 50; i++) {
        s_record_fill (i, payload, s_record_size (i));
        sf_journal_append (journal, s_record_type (i), payload, s_record_size (i), &error);
    }
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    ck_assert_str_eq (error.code, "STORE");
    ck_assert_ptr_nonnull (strstr (error.message, "No space left on device"));
    ck_assert_uint_eq ((uint64_t) s_file_size ("journal"), s_offset_of (40));
    ck_assert_uint_eq (sf_journal_durable (journal), 40);

    //  The disk has room again: the journal goes on
    sf_journal_set_io (journal, NULL);
    s_append_stream (journal, 40, 60, 20);
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 60);
    ck_assert_uint_eq (sf_journal_dropped (journal), 0);
    sf_journal_destroy (&journal);
}
END_TEST

START_TEST (test_sync_fault_is_final)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_ALWAYS, NULL);
    s_append_stream (journal, 0, 10, 10);
    sf_journal_io_t io = { pwrite, s_fdatasync_eio };
    sf_journal_set_io (journal, &io);
    ck_assert_uint_ne (sf_journal_append (journal, 1, "x", 1, &error), 0);
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    ck_assert_ptr_nonnull (strstr (error.message, "Input/output error"));
    ck_assert_uint_eq (sf_journal_durable (journal), 10);
    sf_journal_set_io (journal, NULL);
    ck_assert_uint_eq (sf_journal_append (journal, 1, "x", 1, &error), 0);
    ck_assert_ptr_nonnull (strstr (error.message, "has failed"));
    ck_assert_int_eq (sf_journal_commit (journal, &error), -1);
    s_live_t live = { 0, 10, 0, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), -1);
    sf_journal_destroy (&journal);
}
END_TEST

//  A compaction whose new file cannot be synced leaves the old journal.
START_TEST (test_compaction_sync_fault)
{
    sf_error_t error;
    sf_journal_t *journal = s_open (SF_JOURNAL_SYNC_OFF, NULL);
    s_append_stream (journal, 0, 30, 30);
    sf_journal_io_t io = { pwrite, s_fdatasync_eio };
    sf_journal_set_io (journal, &io);
    s_live_t live = { 0, 30, 0, { 0 } };
    ck_assert_int_eq (sf_journal_compact (journal, s_next_live, &live, &error), -1);
    ck_assert_ptr_nonnull (strstr (error.message, "journal.compact"));
    ck_assert_int_eq (access (s_file ("journal.compact"), F_OK), -1);
    sf_journal_set_io (journal, NULL);
    s_append_stream (journal, 30, 40, 10);
    sf_journal_destroy (&journal);
    uint64_t replayed;
    journal = s_open (SF_JOURNAL_SYNC_ALWAYS, &replayed);
    ck_assert_uint_eq (replayed, 40);
    sf_journal_destroy (&journal);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sf_journal");
    struct {
        const char *name;
        const TTest *tests [8];
    } cases [] = {
        { "round trip", { test_round_trip_across_reopen, test_large_records_and_early_write,
                          test_sync_modes } },
        { "recovery", { test_recover_truncated_record, test_recover_flipped_byte,
                        test_recover_garbage_appended, test_recover_zeroed_tail,
                        test_recover_lying_length, test_headers, test_replay_refused } },
        { "compaction", { test_compaction_keeps_the_live_set,
                          test_compaction_crash_before_rename, test_compaction_abandoned } },
        { "directory", { test_lock_keeps_a_second_opener_out, test_directories } },
        { "faults", { test_write_fault_is_undone, test_sync_fault_is_final,
                      test_compaction_sync_fault } },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        TCase *tcase = tcase_create (cases [c].name);
        tcase_set_timeout (tcase, 30);
        tcase_add_checked_fixture (tcase, s_setup, s_teardown);
        for (size_t t = 0; t < 8 && cases [c].tests [t]; t++)
            tcase_add_test (tcase, cases [c].tests [t]);
        suite_add_tcase (suite, tcase);
    }
    return suite_run (suite);
}
