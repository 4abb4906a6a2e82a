/*  =========================================================================
    sf_journal - a durable, append-only log of typed records in a directory

    The journal knows nothing of jobs: a record is a type (1-255, chosen by
    the caller) and a payload of bytes. The caller appends the records of
    one loop iteration and commits once; the commit writes them with one
    write() and, as the sync mode says, one fdatasync() (group commit).
    Every record starts with the file's sync word and carries a CRC-32. On
    open, every valid record is replayed in order through a callback:
    damaged bytes in the middle are skipped (the reader finds the next
    record by its sync word) and reported, and an incomplete or damaged
    end is cut off. A failed write or sync is undone, so that the file
    holds exactly the records of the commits that succeeded, and the
    journal works again once the fault clears. When the caller's dead
    records outweigh the live ones, it hands the live set to
    sf_journal_compact, which rewrites the file atomically. The journal
    holds an flock on its directory for as long as it is open.

    Format, sync modes, damage reports and what each mode can lose:
    docs/JOURNAL.md.
    ========================================================================= */

#ifndef SF_JOURNAL_H_INCLUDED
#define SF_JOURNAL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "sheaf.h"

//  The largest payload of one record. An append of a longer one is
//  refused before anything is written; a decoder refuses a longer length
//  outright, whatever the file size.
#define SF_JOURNAL_MAX_PAYLOAD (256u * 1024 * 1024)

//  Bytes a record takes in the file besides its payload (sync word,
//  length, CRC, type).
#define SF_JOURNAL_RECORD_OVERHEAD 13

//  Bytes of the sync word that begins every record of a file.
#define SF_JOURNAL_SYNC_SIZE 4

//  When a commit forces the written records to stable storage.
typedef enum {
    SF_JOURNAL_SYNC_ALWAYS,     //  Every commit ends with fdatasync
    SF_JOURNAL_SYNC_BATCH,      //  A commit syncs once the oldest unsynced write is batch_ms old
    SF_JOURNAL_SYNC_OFF         //  write() only; the kernel writes back when it likes
} sf_journal_sync_t;

//  Replays one record during sf_journal_new. Returns 0 to go on, or -1
//  (filling error) to make the open fail. payload is borrowed for the call.
typedef int (sf_journal_replay_fn) (uint8_t type, const void *payload, size_t size,
                                    void *arg, sf_error_t *error);

//  Gives the next live record to sf_journal_compact: sets *type, *payload
//  (borrowed until the next call) and *size and returns 1; returns 0 when
//  the live set is complete, or -1 (filling error) to abandon compaction.
typedef int (sf_journal_live_fn) (void *arg, uint8_t *type, const void **payload,
                                  size_t *size, sf_error_t *error);

//  The system calls a journal makes on its files; a test replaces them to
//  inject ENOSPC, EIO or EPERM. Each behaves as the call of its name; a
//  NULL member stands for the real call.
typedef struct {
    ssize_t (*pwrite) (int fd, const void *data, size_t size, off_t offset);  //  Every write
    int (*fdatasync) (int fd);                      //  Every sync of a file
    int (*open) (const char *path, int flags, mode_t mode);     //  Every open, the directory's too
    int (*ftruncate) (int fd, off_t size);          //  Every truncation
    int (*fsync) (int fd);                          //  Every sync of the directory
    ssize_t (*getrandom) (void *buffer, size_t size, unsigned int flags);   //  A sync word
} sf_journal_io_t;

//  A stretch of a journal that holds no valid record, as the decoder
//  found it.
typedef struct {
    uint64_t at;                //  Offset of its first byte
    uint64_t size;              //  Its length in bytes
    const char *why;            //  What is wrong with the record expected at at (static text)
    bool tail;                  //  No valid record follows it: the file is cut at its start
    bool torn;                  //  A tail that is one record cut short by the end of the
                                //  file: a write that did not finish
} sf_journal_damage_t;

//  Told of each damaged stretch, in file order. damage is borrowed for
//  the call.
typedef void (sf_journal_damage_fn) (const sf_journal_damage_t *damage, void *arg);

typedef struct _sf_journal_t sf_journal_t;

//  Open the journal in directory (created, with its parents, if missing),
//  lock it, and replay every valid record through replay (may be NULL).
//  Damage is reported at warning level and dropped from the file (see
//  sf_journal_dropped). batch_ms is the batch mode's window (1-60000),
//  ignored by the others. Returns the journal, or NULL with error: code
//  LOCKED when another process holds the directory; code STORE when the
//  directory cannot be made or written, the file is not a journal of a
//  version this code reads, or replay failed.
sf_journal_t *sf_journal_new (const char *directory, sf_journal_sync_t sync, int batch_ms,
                              sf_journal_replay_fn *replay, void *arg, sf_error_t *error);

//  Sync what was committed, unlock, and free the journal. Records appended
//  but not committed are dropped. No-op on NULL.
void sf_journal_destroy (sf_journal_t **self_p);

//  Add a record (type 1-255, size up to SF_JOURNAL_MAX_PAYLOAD) to the
//  pending group; the payload is copied. Nothing reaches the file before
//  the next commit, except that a group past 1 MiB is written early (not
//  synced). Returns the record's sequence number (1 for the first record
//  appended since open), or 0 with error (code STORE) when the record is
//  out of bounds (nothing is written), the journal has failed, or an early
//  write failed (which drops the whole pending group, as a failed commit
//  does).
uint64_t sf_journal_append (sf_journal_t *self, uint8_t type, const void *payload,
                            size_t size, sf_error_t *error);

//  Write the pending group and sync as the mode says (batch: when the
//  oldest unsynced write is batch_ms old). Returns 0, or -1 with error
//  (code STORE, naming the file, the call and the system's reason). A
//  failed commit drops its group and leaves none of it in the file: the
//  file is cut back to the end of the last good commit, what a failed
//  sync may have lost is written again from memory, and the file is
//  synced. Until that repair succeeds, every commit tries it once and
//  fails. Only with sync off, where nothing is kept to write again, does a
//  failed sync fail the journal for good.
int sf_journal_commit (sf_journal_t *self, sf_error_t *error);

//  Write the pending group and fdatasync now, in any mode. Returns 0 or -1
//  with error, as commit.
int sf_journal_sync (sf_journal_t *self, sf_error_t *error);

//  The sequence number of the last record appended.
uint64_t sf_journal_appended (sf_journal_t *self);

//  The sequence number up to which the records of successful commits are
//  as durable as the mode promises: fdatasync'ed (always, batch) or handed
//  to the kernel (off). A record may be acknowledged once this reaches its
//  sequence number and its commit succeeded; the sequence numbers of a
//  failed commit's records are not used again.
uint64_t sf_journal_durable (sf_journal_t *self);

//  The sequence number up to which records are fdatasync'ed, in any mode.
uint64_t sf_journal_synced (sf_journal_t *self);

//  Milliseconds until a batch-mode commit would sync the records written
//  so far (0: now), or -1 when none waits for a sync. A caller that
//  commits only on traffic sets a timer with this and commits on it.
int sf_journal_sync_due (sf_journal_t *self);

//  Bytes of the file (header and records committed), and the records in it.
uint64_t sf_journal_bytes (sf_journal_t *self);
uint64_t sf_journal_records (sf_journal_t *self);

//  Bytes a record of payload size takes in the file: for a caller that
//  counts its live bytes against sf_journal_bytes.
uint64_t sf_journal_record_bytes (size_t size);

//  What the open found: records replayed; bytes dropped (damaged stretches
//  skipped in the middle and a tail cut off, 0 if none) and the offset of
//  the first; the number of damaged stretches; and the bytes of those that
//  were an unfinished write at the end (part of dropped).
uint64_t sf_journal_replayed (sf_journal_t *self);
uint64_t sf_journal_dropped (sf_journal_t *self);
uint64_t sf_journal_dropped_at (sf_journal_t *self);
uint64_t sf_journal_damaged (sf_journal_t *self);
uint64_t sf_journal_torn (sf_journal_t *self);

//  Rewrite the journal to hold exactly the records next gives (in its
//  order), replacing the file atomically: pending records are committed
//  first; the new file is written beside the old one, synced, renamed
//  over it, and the directory is synced. The live set must describe the
//  state after every record appended so far. Returns 0, or -1 with error.
//  On a failure before the rename the old journal stays in use, unchanged;
//  when only the directory sync after it failed, the new file is in use
//  and the next commit syncs the directory first (failing while it fails).
int sf_journal_compact (sf_journal_t *self, sf_journal_live_fn *next, void *arg,
                        sf_error_t *error);

//  The directory's path (borrowed).
const char *sf_journal_directory (sf_journal_t *self);

//  Give this journal its own system calls (io is copied), or with NULL let
//  it use the process's again (sf_journal_set_default_io). For
//  fault-injection tests.
void sf_journal_set_io (sf_journal_t *self, const sf_journal_io_t *io);

//  Replace the system calls of every journal of the process that has none
//  of its own, those already open included (io is copied; NULL restores
//  the real ones). This is how a test reaches the journal inside a store,
//  and the opens of sf_journal_new. Not thread-safe: set it while no
//  journal is in use.
void sf_journal_set_default_io (const sf_journal_io_t *io);

//  Decode the records in data [0, size), which begins after the file
//  header, whose records begin with sync: call replay (may be NULL) for
//  each valid record in order, and damage (may be NULL) for each stretch
//  that holds none, skipping it to the next valid record. Sets *records
//  (valid records) and *end (the offset just past the last of them, 0 if
//  none). Returns 0, or -1 with error when replay stopped it. Never reads
//  outside data; used by sf_journal_new and the fuzz target.
int sf_journal_decode (const uint8_t *data, size_t size,
                       const uint8_t sync [SF_JOURNAL_SYNC_SIZE], sf_journal_replay_fn *replay,
                       sf_journal_damage_fn *damage, void *arg, uint64_t *records,
                       size_t *end, sf_error_t *error);

#endif
