/*  =========================================================================
    sf_journal - a durable, append-only log of typed records in a directory

    The journal knows nothing of jobs: a record is a type (1-255, chosen by
    the caller) and a payload of bytes. The caller appends the records of
    one loop iteration and commits once; the commit writes them with one
    write() and, as the sync mode says, one fdatasync() (group commit).
    Every record carries a CRC-32; on open, every valid record is replayed
    in order through a callback, and a torn or corrupt tail is cut off with
    a warning. When the caller's dead records outweigh the live ones, it
    hands the live set to sf_journal_compact, which rewrites the file
    atomically. A lock file keeps a second process out of the directory.

    Format, sync modes and what each can lose: docs/JOURNAL.md.
    ========================================================================= */

#ifndef SF_JOURNAL_H_INCLUDED
#define SF_JOURNAL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "sheaf.h"

//  The largest payload of one record. A decoder refuses a longer length
//  outright, whatever the file size.
#define SF_JOURNAL_MAX_PAYLOAD (256u * 1024 * 1024)

//  Bytes a record takes in the file besides its payload (length, CRC, type).
#define SF_JOURNAL_RECORD_OVERHEAD 9

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

//  The system calls a journal writes through; a test replaces them to
//  inject ENOSPC or EIO. Each behaves as the system call of its name.
typedef struct {
    ssize_t (*pwrite) (int fd, const void *data, size_t size, off_t offset);  //  Every write
    int (*fdatasync) (int fd);                                                //  Every sync
} sf_journal_io_t;

typedef struct _sf_journal_t sf_journal_t;

//  Open the journal in directory (created, with its parents, if missing),
//  lock it, and replay every valid record through replay (may be NULL).
//  A damaged tail is truncated with a warning (see sf_journal_dropped).
//  batch_ms is the batch mode's window (1-60000), ignored by the others.
//  Returns the journal, or NULL with error (code STORE) when the directory
//  cannot be made or written, another process holds it, the file is not a
//  journal of a version this code reads, or replay failed.
sf_journal_t *sf_journal_new (const char *directory, sf_journal_sync_t sync, int batch_ms,
                              sf_journal_replay_fn *replay, void *arg, sf_error_t *error);

//  Write and sync what was committed, unlock, and free the journal.
//  Records appended but not committed are dropped. No-op on NULL.
void sf_journal_destroy (sf_journal_t **self_p);

//  Add a record (type 1-255, size up to SF_JOURNAL_MAX_PAYLOAD) to the
//  pending group; the payload is copied. Nothing reaches the file before
//  the next commit, except that a group past 1 MiB is written early (not
//  synced). Returns the record's sequence number (1 for the first record
//  appended since open), or 0 with error when the journal has failed, the
//  record is out of bounds, or an early write failed (which drops the
//  whole pending group, as a failed commit does).
uint64_t sf_journal_append (sf_journal_t *self, uint8_t type, const void *payload,
                            size_t size, sf_error_t *error);

//  Write the pending group and sync as the mode says (batch: when the
//  oldest unsynced write is batch_ms old). Returns 0, or -1 with error
//  (code STORE). After a failed write the file is cut back to its last
//  good end and the group is dropped; after a failed sync the journal has
//  failed and every later call fails: the kernel may have discarded the
//  dirty pages, so nothing written since the last good sync can be trusted.
int sf_journal_commit (sf_journal_t *self, sf_error_t *error);

//  Write the pending group and fdatasync now, in any mode. Returns 0 or -1
//  with error, as commit.
int sf_journal_sync (sf_journal_t *self, sf_error_t *error);

//  The sequence number of the last record appended.
uint64_t sf_journal_appended (sf_journal_t *self);

//  The sequence number up to which records are as durable as the mode
//  promises: fdatasync'ed (always, batch) or handed to the kernel (off).
//  A record may be acknowledged once this reaches its sequence number.
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

//  What the open found: records replayed, bytes dropped from a damaged
//  tail (0 if none) and the offset where the damage began.
uint64_t sf_journal_replayed (sf_journal_t *self);
uint64_t sf_journal_dropped (sf_journal_t *self);
uint64_t sf_journal_dropped_at (sf_journal_t *self);

//  Rewrite the journal to hold exactly the records next gives (in its
//  order), replacing the file atomically: pending records are committed
//  first; the new file is written beside the old one, synced, renamed
//  over it, and the directory is synced. The live set must describe the
//  state after every record appended so far. Returns 0, or -1 with error;
//  on failure the old journal stays in use, unchanged.
int sf_journal_compact (sf_journal_t *self, sf_journal_live_fn *next, void *arg,
                        sf_error_t *error);

//  The directory's path (borrowed).
const char *sf_journal_directory (sf_journal_t *self);

//  Replace the system calls of this journal (io is copied; NULL restores
//  the real ones). For fault-injection tests.
void sf_journal_set_io (sf_journal_t *self, const sf_journal_io_t *io);

//  Decode records in data [0, size), which begins after the file header:
//  call replay (may be NULL) for each valid record in order and stop at
//  the first that is torn, corrupt or out of bounds, or when replay
//  returns -1. Sets *records, *valid (the bytes of data holding those
//  records) and *why (what stopped the decoder before the end of data, or
//  NULL if it reached the end cleanly). Returns 0, or -1 with error when
//  replay stopped it. Never reads outside data; used by sf_journal_new and
//  the fuzz target.
int sf_journal_decode (const uint8_t *data, size_t size, sf_journal_replay_fn *replay,
                       void *arg, uint64_t *records, size_t *valid, const char **why,
                       sf_error_t *error);

#endif
