/*  =========================================================================
    fuzz_journal - fuzz target for the journal's recovery (sf_journal)

    The input is a journal file as a crash, a disk or an operator may have
    left it. Two readings:

    - The decoder alone (sf_journal_decode) over the bytes after the
      header: the valid prefix it reports must decode again to the same
      records, cleanly, and never extend past the input.
    - The whole open: the input is written as DIR/journal and opened. An
      open either fails with a STORE error (not a journal, unknown version)
      or replays exactly the records of the valid prefix, cuts the file to
      it, and leaves a journal that takes one more record and gives
      everything back on the next open, with nothing dropped.

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
#include "sf_journal.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_journal: %s:%d: broken promise: %s\n",      \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

#define S_HEADER_SIZE 16

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_dir [128];        //  Scratch directory, made once

//  Remove the scratch directory's files (the journal, its lock, copies of
//  damaged tails) and the directory itself.
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

//  Counts replayed records.
static int
s_count (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    (void) payload, (void) error;
    S_REQUIRE (type != 0 && size <= SF_JOURNAL_MAX_PAYLOAD);
    (*(uint64_t *) arg)++;
    return 0;
}

static void
s_check_decoder (const uint8_t *data, size_t size, uint64_t *records, size_t *valid)
{
    const char *why = NULL;
    uint64_t counted = 0;
    S_REQUIRE (sf_journal_decode (data, size, s_count, &counted, records, valid, &why,
                                  NULL) == 0);
    S_REQUIRE (*valid <= size && counted == *records);
    S_REQUIRE ((why == NULL) == (*valid == size));
    uint64_t again_records;
    size_t again_valid;
    S_REQUIRE (sf_journal_decode (data, *valid, NULL, NULL, &again_records, &again_valid,
                                  &why, NULL) == 0);
    S_REQUIRE (why == NULL && again_records == *records && again_valid == *valid);
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

    uint64_t expected = 0;
    size_t valid = 0;
    if (size > S_HEADER_SIZE)
        s_check_decoder (data + S_HEADER_SIZE, size - S_HEADER_SIZE, &expected, &valid);

    sf_error_t error = { "", "" };
    uint64_t replayed = 0;
    sf_journal_t *journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_OFF, 0, s_count, &replayed,
                                            &error);
    if (!journal) {
        S_REQUIRE (strcmp (error.code, "STORE") == 0 && error.message [0]);
        return;
    }
    S_REQUIRE (replayed == expected && sf_journal_replayed (journal) == expected);
    uint64_t end = size < S_HEADER_SIZE? S_HEADER_SIZE: S_HEADER_SIZE + (uint64_t) valid;
    S_REQUIRE (sf_journal_bytes (journal) == end);
    struct stat info;
    S_REQUIRE (stat (path, &info) == 0 && (uint64_t) info.st_size == end);
    if (size > S_HEADER_SIZE)
        S_REQUIRE (sf_journal_dropped (journal) == size - end);
    S_REQUIRE (sf_journal_append (journal, 9, "after", 5, &error) == 1);
    S_REQUIRE (sf_journal_commit (journal, &error) == 0);
    sf_journal_destroy (&journal);

    replayed = 0;
    journal = sf_journal_new (s_dir, SF_JOURNAL_SYNC_OFF, 0, s_count, &replayed, &error);
    S_REQUIRE (journal != NULL);
    S_REQUIRE (replayed == expected + 1 && sf_journal_dropped (journal) == 0);
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
    uint64_t records;
    size_t valid;
    s_check_decoder (data, size, &records, &valid);
    s_check_open (data, size);
    //  Copies of damaged tails pile up otherwise
    s_clean ();
    S_REQUIRE (mkdir (s_dir, 0700) == 0);
    return 0;
}
