/*  =========================================================================
    fuzz_journal - fuzz target for the journal's recovery (sf_journal)

    The input is a journal file as a crash, a disk or an operator may have
    left it. Two readings:

    - The decoder alone (sf_journal_decode) over the bytes after a
      20-byte header, with the sync word the header holds: every byte is
      either in a valid record or in exactly one damaged stretch, the
      stretches come in order and never overlap, a stretch is a tail
      exactly when no valid record follows it, only the last one may be
      torn, and nothing is read outside the input.
    - The whole open: the input is written as DIR/journal and opened. An
      open either fails with a STORE error (not a journal, unknown
      version, a damaged header that its first record does not confirm)
      or succeeds; when the header is a good version-2 header it replays
      exactly the decoder's records and leaves a file of exactly those
      records. Every open that succeeds leaves a journal that takes one
      more record and gives everything back on the next open, with
      nothing dropped.

    A broken promise aborts. The directory lives in /dev/shm when there is
    one, so that the open's fdatasync calls cost nothing; log lines (a
    warning per damaged input) are silenced.
    ========================================================================= */

#include <czmq.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "sf_journal.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_journal: %s:%d: broken promise: %s\n",      \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

#define S_HEADER_SIZE 20

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_dir [128];        //  Scratch directory, made once

//  Remove the scratch directory's files (the journal, its lock, copies of
//  damaged bytes) and the directory itself.
static void
s_clean (void)
{
    zdir_t *dir = zdir_new (s_dir, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    rmdir (s_dir);
}

static void
s_setup (void)
{
    //  Silence the logger: every damaged input logs a warning
    zsys_init ();
    zsys_set_logstream (NULL);
    zsys_set_logsystem (false);
    struct stat info;
    const char *base = stat ("/dev/shm", &info) == 0 && S_ISDIR (info.st_mode)? "/dev/shm"
                                                                              : "/tmp";
    snprintf (s_dir, sizeof s_dir, "%s/sheaf-fuzz-journal-XXXXXX", base);
    S_REQUIRE (mkdtemp (s_dir) != NULL);
    atexit (s_clean);
}

//  What the decoder reported.
typedef struct {
    uint64_t records;           //  Valid records replayed
    uint64_t record_bytes;      //  Their bytes in the file
    uint64_t stretches;         //  Damaged stretches
    uint64_t damaged_bytes;     //  Their bytes
    uint64_t next_at;           //  Where the next stretch may begin (past the last one)
    bool last_torn;             //  The last stretch was torn
    bool after_tail;            //  A tail stretch was seen
    bool record_after_tail;     //  … and a valid record after it (a broken promise)
} s_tally_t;

static int
s_count (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    (void) payload, (void) error;
    S_REQUIRE (type != 0 && size <= SF_JOURNAL_MAX_PAYLOAD);
    s_tally_t *tally = (s_tally_t *) arg;
    tally->records++;
    tally->record_bytes += sf_journal_record_bytes (size);
    if (tally->after_tail)
        tally->record_after_tail = true;
    return 0;
}

static void
s_damage (const sf_journal_damage_t *damage, void *arg)
{
    s_tally_t *tally = (s_tally_t *) arg;
    S_REQUIRE (damage->size > 0 && damage->why && damage->why [0]);
    S_REQUIRE (damage->at >= tally->next_at);
    S_REQUIRE (!tally->last_torn);              //  A torn stretch is the last one
    S_REQUIRE (!damage->torn || damage->tail);
    if (tally->after_tail)
        S_REQUIRE (damage->tail);
    tally->stretches++;
    tally->damaged_bytes += damage->size;
    tally->next_at = damage->at + damage->size;
    tally->last_torn = damage->torn;
    tally->after_tail = tally->after_tail || damage->tail;
}

//  Decode data [0, size) with sync; checks what the decoder promises.
static void
s_check_decoder (const uint8_t *data, size_t size, const uint8_t *sync, s_tally_t *tally)
{
    memset (tally, 0, sizeof *tally);
    uint64_t records;
    size_t end;
    S_REQUIRE (sf_journal_decode (data, size, sync, s_count, s_damage, tally, &records, &end,
                                  NULL) == 0);
    S_REQUIRE (records == tally->records && end <= size);
    //  Every byte is in a valid record or in a damaged stretch
    S_REQUIRE (tally->record_bytes + tally->damaged_bytes == size);
    S_REQUIRE (!tally->record_after_tail);
    S_REQUIRE (tally->next_at <= size);
    //  Past the last valid record there is only the tail
    S_REQUIRE (end == size || tally->after_tail);
    uint64_t again_records;
    size_t again_end;
    S_REQUIRE (sf_journal_decode (data, size, sync, NULL, NULL, NULL, &again_records,
                                  &again_end, NULL) == 0);
    S_REQUIRE (again_records == records && again_end == end);
}

//  True when data begins with a version-2 header that checks out.
static bool
s_good_header (const uint8_t *data, size_t size)
{
    if (size < S_HEADER_SIZE || memcmp (data, "SHEAFJNL\x02\0\0\0", 12) != 0)
        return false;
    uint32_t crc = (uint32_t) crc32 (0L, data, 16);
    return (data [16] | data [17] << 8 | data [18] << 16 | (uint32_t) data [19] << 24) == crc;
}

//  Counts replayed records (arg: uint64_t).
static int
s_replayed (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    (void) payload, (void) error;
    S_REQUIRE (type != 0 && size <= SF_JOURNAL_MAX_PAYLOAD);
    (*(uint64_t *) arg)++;
    return 0;
}

static void
s_check_open (const uint8_t *data, size_t size)
{
    char path [256];
    snprintf (path, sizeof path, "%s/journal", s_dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    S_REQUIRE (fd >= 0);
    S_REQUIRE (size == 0 || write (fd, data, size) == (ssize_t) size);
    close (fd);

    bool good = s_good_header (data, size);
    s_tally_t tally = { 0 };
    if (good)
        s_check_decoder (data + S_HEADER_SIZE, size - S_HEADER_SIZE, data + 12, &tally);

    sf_error_t error = { "", "" };
    uint64_t replayed = 0;
    sf_journal_t *journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_OFF, 0, s_replayed,
                                            &replayed, &error);
    if (!journal) {
        S_REQUIRE (!good);
        S_REQUIRE (strcmp (error.code, "STORE") == 0 && error.message [0]);
        return;
    }
    S_REQUIRE (sf_journal_replayed (journal) == replayed);
    struct stat info;
    S_REQUIRE (stat (path, &info) == 0 && (uint64_t) info.st_size == sf_journal_bytes (journal));
    if (good) {
        S_REQUIRE (replayed == tally.records);
        S_REQUIRE (sf_journal_dropped (journal) == tally.damaged_bytes);
        S_REQUIRE (sf_journal_damaged (journal) == tally.stretches);
        S_REQUIRE (sf_journal_bytes (journal) == S_HEADER_SIZE + tally.record_bytes);
    }
    S_REQUIRE (sf_journal_append (journal, 9, "after", 5, &error) == 1);
    S_REQUIRE (sf_journal_commit (journal, &error) == 0);
    sf_journal_destroy (&journal);

    uint64_t again = 0;
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_OFF, 0, s_replayed, &again, &error);
    S_REQUIRE (journal != NULL);
    S_REQUIRE (again == replayed + 1 && sf_journal_dropped (journal) == 0);
    S_REQUIRE (sf_journal_damaged (journal) == 0);
    sf_journal_destroy (&journal);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool ready = false;
    if (!ready) {
        s_setup ();
        ready = true;
    }
    //  The decoder over any bytes, taking the first four as the sync word
    if (size >= SF_JOURNAL_SYNC_SIZE) {
        s_tally_t tally;
        s_check_decoder (data + SF_JOURNAL_SYNC_SIZE, size - SF_JOURNAL_SYNC_SIZE, data, &tally);
    }
    s_check_open (data, size);
    //  Copies of damaged bytes pile up otherwise
    s_clean ();
    S_REQUIRE (mkdir (s_dir, 0700) == 0);
    return 0;
}
