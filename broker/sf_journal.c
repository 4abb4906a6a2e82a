/*  =========================================================================
    sf_journal - a durable, append-only log of typed records in a directory

    Design. The directory holds `journal` (a 20-byte header, then records),
    `lock` (the owner's pid) and, only while a rewrite runs,
    `journal.compact`. The journal holds an flock on the directory itself
    for as long as it is open: an operator cannot delete that lock, and it
    survives the rename of a compaction, which a lock on the journal file
    would not. `lock` is flock'ed too, because brokers of format version 1
    lock only that file.

    A record is [sync u32][length u32][crc u32][type u8][payload],
    little-endian. The sync word is random, chosen when the file is
    created and kept in its header; the CRC-32 (zlib) covers every byte of
    the record but its own, so that a flipped bit anywhere is caught. A
    reader that meets a bad record looks for the next sync word whose
    record checks out and goes on from there, so that damage in the middle
    costs only the records it touched. The sync word being the file's own
    secret is what keeps bytes inside a payload (a job carries whatever its
    client sent) from ever passing for a record while the reader searches.

    Appends go to a memory buffer; a commit writes the buffer with pwrite
    at the file's known end and then syncs as the mode says. The journal
    tracks three sequence numbers (appended, written, synced) so that the
    caller can tell which records may be acknowledged. A failed write or
    sync drops its group and puts the journal in repair: the file is cut
    back to the end of the last good commit and synced, and every call
    that would write tries that first. A failed fdatasync is the hard
    case: Linux may have dropped the dirty pages and marked them clean, so
    a retry alone would report success for data that is gone. In batch
    mode the records of earlier commits may sit in those pages, so the
    journal keeps the bytes between the last good sync and the last good
    commit in its buffer and writes them again before it syncs. With sync off
    there is no such copy, and a failed sync fails the journal for good.

    Opening replays from a read-only mapping of the file; the decoder
    bounds every length by SF_JOURNAL_MAX_PAYLOAD and by the bytes left
    before it touches them. Each damaged stretch is logged with its byte
    range and copied to journal.damaged-OFFSET for an operator. A damaged
    end is cut off; damage in the middle makes the open rewrite the file
    from its valid records (as a compaction does), so that it is reported
    once. Only a tail that is one record cut short by the end of the file
    is called an unfinished write: anything else may have held
    acknowledged records, and the report says so.

    Compaction writes the caller's live set into journal.compact, syncs it,
    renames it over journal and syncs the directory. A crash before the
    rename leaves the old journal and a stray journal.compact, which the
    next open removes; after the rename the new file is complete.

    Checklist when the format changes, all together: S_VERSION and the
    header layout (s_header, s_read_header), s_encode and s_check (the
    record layout), SF_JOURNAL_RECORD_OVERHEAD, a decoder for the version
    before it (s_decode_v1 today) and the conversion in s_open_file,
    docs/JOURNAL.md, tests/fuzz/make_corpus.c, then regenerate
    tests/fuzz/corpus/fuzz_journal.
    ========================================================================= */

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "sf_alloc.h"
#include "sf_journal.h"
#include "sf_log.h"

#define S_MAGIC         "SHEAFJNL"      //  First 8 bytes of every journal
#define S_VERSION       2               //  Format version this code writes
#define S_HEADER_SIZE   20              //  Magic, version u32, sync word, header CRC u32
#define S_V1_HEADER_SIZE 16             //  Version 1: magic, version u32, reserved u32
#define S_V1_OVERHEAD   9               //  Version 1 record: length u32, crc u32, type u8
#define S_WRITE_EARLY   (1024 * 1024)   //  A pending group this large is written early
#define S_UNSYNCED_MAX  (16 * 1024 * 1024)  //  Batch: kept bytes that force a sync
#define S_LISTED        16              //  Damaged stretches logged and copied one by one

struct _sf_journal_t {
    char *directory;            //  As given to new
    char *path;                 //  DIR/journal
    char *compact_path;         //  DIR/journal.compact
    int fd;                     //  The journal file, read-write
    int dir_fd;                 //  The directory: flock'ed while open, synced after renames
    int lock_fd;                //  DIR/lock, flock'ed while open (holds our pid)
    sf_journal_sync_t sync;     //  Sync mode
    int batch_ms;               //  Batch mode: longest a write waits for its sync
    sf_journal_io_t own_io;     //  This journal's system calls, when a test gave it some
    const sf_journal_io_t *io;  //  own_io or the process's
    uint8_t sync_word [SF_JOURNAL_SYNC_SIZE];   //  Begins every record of the file
    bool failed;                //  A sync failed with sync off: nothing kept to redo it
    bool repair;                //  A write or sync failed: the file must be cut back and synced
    bool directory_dirty;       //  A rename in the directory is not known to be durable
    bool group_early;           //  Part of the pending group was written before its commit
    uint8_t *pending;           //  kept bytes, then the records appended since the last write
    size_t pending_size;        //  Bytes in pending
    size_t pending_capacity;    //  Bytes allocated for pending
    uint64_t pending_records;   //  Records appended since the last write
    size_t kept;                //  Batch: bytes at the start of pending that are the file from
                                //  synced_bytes to group_bytes, kept for a repair
    uint64_t bytes;             //  Bytes in the file (its end, where writes go)
    uint64_t records;           //  Records in the file
    uint64_t group_bytes;       //  File end after the last good commit: a repair cuts back here
    uint64_t group_records;     //  Records in the file after the last good commit
    uint64_t synced_bytes;      //  File end after the last good sync
    uint64_t appended;          //  Sequence number of the last record appended
    uint64_t written;           //  … of the last record in the file
    uint64_t synced;            //  … of the last record fdatasync'ed
    uint64_t committed;         //  … of the last record of the last good commit
    int64_t unsynced_since;     //  Monotonic ms of the first write after the last sync
    uint64_t replayed;          //  Records the open replayed
    uint64_t dropped;           //  Bytes of damaged stretches the open dropped
    uint64_t dropped_at;        //  Offset of the first
    uint64_t damaged;           //  Damaged stretches the open found
    uint64_t torn;              //  Bytes of an unfinished write it cut from the end
};

//  --------------------------------------------------------------------------
//  The system calls, real or replaced

static ssize_t
s_real_pwrite (int fd, const void *data, size_t size, off_t offset)
{
    return pwrite (fd, data, size, offset);
}

static int
s_real_open (const char *path, int flags, mode_t mode)
{
    return open (path, flags, mode);
}

static ssize_t
s_real_getrandom (void *buffer, size_t size, unsigned int flags)
{
    return getrandom (buffer, size, flags);
}

//  io with every NULL member replaced by the real call.
static sf_journal_io_t
s_complete_io (const sf_journal_io_t *io)
{
    sf_journal_io_t complete = { s_real_pwrite, fdatasync, s_real_open, ftruncate, fsync,
                                 s_real_getrandom };
    if (io) {
        if (io->pwrite)
            complete.pwrite = io->pwrite;
        if (io->fdatasync)
            complete.fdatasync = io->fdatasync;
        if (io->open)
            complete.open = io->open;
        if (io->ftruncate)
            complete.ftruncate = io->ftruncate;
        if (io->fsync)
            complete.fsync = io->fsync;
        if (io->getrandom)
            complete.getrandom = io->getrandom;
    }
    return complete;
}

//  The process's system calls: the real ones unless a test replaced them.
static sf_journal_io_t s_default_io = { s_real_pwrite, fdatasync, s_real_open, ftruncate,
                                        fsync, s_real_getrandom };

//  --------------------------------------------------------------------------
//  Small helpers

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void
s_put_u32 (uint8_t *at, uint32_t value)
{
    at [0] = (uint8_t) value;
    at [1] = (uint8_t) (value >> 8);
    at [2] = (uint8_t) (value >> 16);
    at [3] = (uint8_t) (value >> 24);
}

static uint32_t
s_get_u32 (const uint8_t *at)
{
    return (uint32_t) at [0] | (uint32_t) at [1] << 8 | (uint32_t) at [2] << 16
         | (uint32_t) at [3] << 24;
}

static uint32_t
s_crc (uint32_t crc, const void *data, size_t size)
{
    return size? (uint32_t) crc32 (crc, (const Bytef *) data, (uInt) size): crc;
}

//  "DIR/name"; the caller frees it.
static char *
s_path (const char *directory, const char *name)
{
    size_t size = strlen (directory) + 1 + strlen (name) + 1;
    char *path = (char *) sf_alloc (size);
    snprintf (path, size, "%s/%s", directory, name);
    return path;
}

//  Store error for a failed system call (errno) on path.
static int
s_fail (sf_error_t *error, const char *what, const char *path)
{
    return sf_error_set (error, "STORE", "journal: cannot %s %s: %s", what, path,
                         strerror (errno));
}

//  Write all of size bytes at offset. Returns 0, or -1 with errno.
static int
s_write_all (const sf_journal_io_t *io, int fd, const void *data, size_t size, uint64_t offset)
{
    const uint8_t *from = (const uint8_t *) data;
    while (size) {
        ssize_t rc = io->pwrite (fd, from, size, (off_t) offset);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            errno = EIO;        //  A zero-byte write would loop forever
            return -1;
        }
        from += rc;
        size -= (size_t) rc;
        offset += (uint64_t) rc;
    }
    return 0;
}

//  mkdir -p. Returns 0, or -1 with errno and the component that failed in
//  failed (a copy of path cut there).
static int
s_make_directory (const char *path, char *failed, size_t failed_size)
{
    snprintf (failed, failed_size, "%s", path);
    size_t length = strlen (failed);
    for (size_t i = 1; i <= length; i++) {
        if (failed [i] != '/' && failed [i] != 0)
            continue;
        char saved = failed [i];
        failed [i] = 0;
        struct stat info;
        if (stat (failed, &info) == 0) {
            if (!S_ISDIR (info.st_mode)) {
                errno = ENOTDIR;
                return -1;
            }
        }
        else
        if (errno != ENOENT || (mkdir (failed, 0755) && errno != EEXIST))
            return -1;
        failed [i] = saved;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The format

//  A fresh sync word: random, never all zeros (a zero-filled region must
//  not look like the start of a record).
static void
s_new_sync_word (const sf_journal_io_t *io, uint8_t word [SF_JOURNAL_SYNC_SIZE])
{
    if (io->getrandom (word, SF_JOURNAL_SYNC_SIZE, 0) != SF_JOURNAL_SYNC_SIZE) {
        //  No getrandom: the clock and the pid are unknown enough to a client
        struct timespec now;
        clock_gettime (CLOCK_REALTIME, &now);
        uint32_t mixed = s_crc (0, &now, sizeof now) ^ ((uint32_t) getpid () * 2654435761u);
        s_put_u32 (word, mixed);
    }
    if (!(word [0] | word [1] | word [2] | word [3]))
        word [3] = 0x80;
}

//  The header of a journal file whose records begin with sync.
static void
s_header (uint8_t header [S_HEADER_SIZE], const uint8_t sync [SF_JOURNAL_SYNC_SIZE])
{
    memcpy (header, S_MAGIC, 8);
    s_put_u32 (header + 8, S_VERSION);
    memcpy (header + 12, sync, SF_JOURNAL_SYNC_SIZE);
    s_put_u32 (header + 16, s_crc (0, header, 16));
}

//  Encode a record at at (SF_JOURNAL_RECORD_OVERHEAD + size bytes).
static void
s_encode (uint8_t *at, const uint8_t sync [SF_JOURNAL_SYNC_SIZE], uint8_t type,
          const void *payload, size_t size)
{
    memcpy (at, sync, SF_JOURNAL_SYNC_SIZE);
    s_put_u32 (at + 4, (uint32_t) size);
    at [12] = type;
    if (size)
        memcpy (at + SF_JOURNAL_RECORD_OVERHEAD, payload, size);
    uint32_t crc = s_crc (0, at, 8);
    crc = s_crc (crc, at + 12, 1 + size);
    s_put_u32 (at + 8, crc);
}

//  What a decoder finds where a record should begin.
typedef enum {
    S_VALID,                    //  A record that checks out
    S_CUT,                      //  The start of a record, cut short by the end of the data
    S_BAD                       //  Anything else
} s_found_t;

//  Check the record at data [at] (at < size). Sets *length when it is
//  valid, *why otherwise. With whole_sync, a cut-short record must hold
//  its whole sync word (a resynchronising reader asks for that much
//  before it believes a record began there).
static s_found_t
s_check (const uint8_t *data, size_t size, size_t at, const uint8_t sync [SF_JOURNAL_SYNC_SIZE],
         bool whole_sync, uint32_t *length, const char **why)
{
    const uint8_t *record = data + at;
    size_t left = size - at;
    size_t marker = left < SF_JOURNAL_SYNC_SIZE? left: SF_JOURNAL_SYNC_SIZE;
    if (memcmp (record, sync, marker) != 0 || (whole_sync && marker < SF_JOURNAL_SYNC_SIZE)) {
        *why = "no record begins there (sync word missing)";
        return S_BAD;
    }
    if (left >= 8 && s_get_u32 (record + 4) > SF_JOURNAL_MAX_PAYLOAD) {
        *why = "record length over the limit";
        return S_BAD;
    }
    if (left < SF_JOURNAL_RECORD_OVERHEAD) {
        *why = "record header cut short by the end of the file";
        return S_CUT;
    }
    uint32_t size_field = s_get_u32 (record + 4);
    if (size_field > left - SF_JOURNAL_RECORD_OVERHEAD) {
        *why = "record cut short by the end of the file";
        return S_CUT;
    }
    uint32_t crc = s_crc (0, record, 8);
    crc = s_crc (crc, record + 12, 1 + (size_t) size_field);
    if (crc != s_get_u32 (record + 8)) {
        *why = "checksum mismatch";
        return S_BAD;
    }
    if (record [12] == 0) {
        *why = "record of type 0";
        return S_BAD;
    }
    *length = size_field;
    return S_VALID;
}

//  The next offset from `from` on where a record begins (valid, or cut
//  short by the end), found by its sync word; size when there is none.
static size_t
s_resync (const uint8_t *data, size_t size, size_t from, const uint8_t sync [SF_JOURNAL_SYNC_SIZE],
          s_found_t *found)
{
    while (from < size) {
        const uint8_t *hit = (const uint8_t *) memmem (data + from, size - from, sync,
                                                       SF_JOURNAL_SYNC_SIZE);
        if (!hit)
            break;
        size_t at = (size_t) (hit - data);
        uint32_t length;
        const char *why;
        *found = s_check (data, size, at, sync, true, &length, &why);
        if (*found != S_BAD)
            return at;
        from = at + 1;
    }
    *found = S_BAD;
    return size;
}

//  Hand one record to replay. Returns 0, or -1 with error.
static int
s_replay_one (sf_journal_replay_fn *replay, void *arg, uint8_t type, const uint8_t *payload,
              size_t size, uint64_t records, sf_error_t *error)
{
    if (!replay)
        return 0;
    if (error)
        error->code [0] = 0;
    if (replay (type, payload, size, arg, error)) {
        if (error && !error->code [0])
            sf_error_set (error, "STORE", "journal replay stopped at record %" PRIu64,
                          records + 1);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Decode records; see the header for the contract.

int
sf_journal_decode (const uint8_t *data, size_t size, const uint8_t sync [SF_JOURNAL_SYNC_SIZE],
                   sf_journal_replay_fn *replay, sf_journal_damage_fn *damage, void *arg,
                   uint64_t *records, size_t *end, sf_error_t *error)
{
    size_t offset = 0;
    *records = 0;
    *end = 0;
    while (offset < size) {
        uint32_t length = 0;
        const char *why = NULL;
        s_found_t found = s_check (data, size, offset, sync, false, &length, &why);
        if (found == S_VALID) {
            if (s_replay_one (replay, arg, data [offset + 12],
                              data + offset + SF_JOURNAL_RECORD_OVERHEAD, length, *records,
                              error))
                return -1;
            (*records)++;
            offset += SF_JOURNAL_RECORD_OVERHEAD + (size_t) length;
            *end = offset;
            continue;
        }
        //  Damaged: go on at the next record that checks out. A record cut
        //  short is the last thing in the data, so a stretch followed by
        //  one is a tail too, and only that record is a torn write.
        size_t next = size;
        s_found_t next_found = S_BAD;
        if (found == S_BAD)
            next = s_resync (data, size, offset + 1, sync, &next_found);
        if (damage) {
            sf_journal_damage_t stretch = {
                offset, next - offset, why, next_found != S_VALID,
                found == S_CUT
            };
            damage (&stretch, arg);
        }
        offset = next;
    }
    return 0;
}

//  Decode a version-1 file's records (no sync word: the first bad record
//  ends the valid data, and everything after it is its tail).
static int
s_decode_v1 (const uint8_t *data, size_t size, sf_journal_replay_fn *replay,
             sf_journal_damage_fn *damage, void *arg, uint64_t *records, size_t *end,
             sf_error_t *error)
{
    size_t offset = 0;
    *records = 0;
    while (offset < size) {
        size_t left = size - offset;
        const uint8_t *record = data + offset;
        const char *why = NULL;
        bool cut = false;
        uint32_t length = left >= 4? s_get_u32 (record): 0;
        if (length > SF_JOURNAL_MAX_PAYLOAD)
            why = "record length over the limit";
        else
        if (left < S_V1_OVERHEAD) {
            why = "record header cut short by the end of the file";
            cut = true;
        }
        else
        if (length > left - S_V1_OVERHEAD) {
            why = "record cut short by the end of the file";
            cut = true;
        }
        else {
            uint32_t crc = s_crc (0, record, 4);
            crc = s_crc (crc, record + 8, 1);
            crc = s_crc (crc, record + S_V1_OVERHEAD, length);
            if (crc != s_get_u32 (record + 4))
                why = "checksum mismatch";
            else
            if (record [8] == 0)
                why = "record of type 0";
        }
        if (why) {
            if (damage) {
                sf_journal_damage_t stretch = { offset, left, why, true, cut };
                damage (&stretch, arg);
            }
            break;
        }
        if (s_replay_one (replay, arg, record [8], record + S_V1_OVERHEAD, length, *records,
                          error))
            return -1;
        (*records)++;
        offset += S_V1_OVERHEAD + length;
    }
    *end = offset;
    return 0;
}

//  --------------------------------------------------------------------------
//  A new file written beside the journal (compaction, and the rewrite of a
//  damaged or version-1 file at open), through a buffer.

typedef struct {
    sf_journal_t *journal;      //  Whose directory and system calls
    int fd;                     //  journal.compact
    uint8_t sync_word [SF_JOURNAL_SYNC_SIZE];   //  The new file's
    uint8_t *buffer;            //  Bytes not written yet
    size_t used;                //  Bytes in buffer
    size_t capacity;            //  Bytes allocated for buffer
    uint64_t offset;            //  Bytes written to the file before buffer
    uint64_t records;           //  Records added
} s_writer_t;

//  Create journal.compact and start it with a header. Returns 0, or -1
//  with error.
static int
s_writer_open (sf_journal_t *self, s_writer_t *writer, sf_error_t *error)
{
    memset (writer, 0, sizeof *writer);
    writer->journal = self;
    writer->fd = self->io->open (self->compact_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (writer->fd < 0)
        return s_fail (error, "create", self->compact_path);
    s_new_sync_word (self->io, writer->sync_word);
    writer->capacity = S_WRITE_EARLY;
    writer->buffer = (uint8_t *) sf_alloc (writer->capacity);
    s_header (writer->buffer, writer->sync_word);
    writer->used = S_HEADER_SIZE;
    return 0;
}

//  Write out the buffer. Returns 0, or -1 with error.
static int
s_writer_flush (s_writer_t *writer, sf_error_t *error)
{
    sf_journal_t *self = writer->journal;
    if (writer->used
    &&  s_write_all (self->io, writer->fd, writer->buffer, writer->used, writer->offset))
        return s_fail (error, "write to", self->compact_path);
    writer->offset += writer->used;
    writer->used = 0;
    return 0;
}

//  Add a record. Returns 0, or -1 with error.
static int
s_writer_add (s_writer_t *writer, uint8_t type, const void *payload, size_t size,
              sf_error_t *error)
{
    if (type == 0 || size > SF_JOURNAL_MAX_PAYLOAD || (size && !payload))
        return sf_error_set (error, "STORE", "journal: %s: a rewrite was given a bad record"
                             " (type %u, %zu bytes)", writer->journal->directory, type, size);
    size_t record_size = SF_JOURNAL_RECORD_OVERHEAD + size;
    if (writer->used + record_size > writer->capacity) {
        if (s_writer_flush (writer, error))
            return -1;
        if (record_size > writer->capacity) {
            writer->capacity = record_size;
            writer->buffer = (uint8_t *) sf_alloc_resize (writer->buffer, writer->capacity, 1);
        }
    }
    s_encode (writer->buffer + writer->used, writer->sync_word, type, payload, size);
    writer->used += record_size;
    writer->records++;
    return 0;
}

//  A replay callback that adds each record to the writer (arg).
static int
s_writer_replay (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    return s_writer_add ((s_writer_t *) arg, type, payload, size, error);
}

//  Give up: close and remove journal.compact.
static void
s_writer_abandon (s_writer_t *writer)
{
    if (writer->fd >= 0) {
        close (writer->fd);
        unlink (writer->journal->compact_path);
    }
    free (writer->buffer);
    writer->buffer = NULL;
    writer->fd = -1;
}

//  Flush and sync the new file, rename it over the journal and use it from
//  now on: every record appended so far is in it, durable. Returns 0, or
//  -1 with error: before the rename the writer is abandoned and the old
//  journal stays; when only the directory sync after it failed, the new
//  file is in use and the next commit syncs the directory first.
static int
s_writer_install (s_writer_t *writer, sf_error_t *error)
{
    sf_journal_t *self = writer->journal;
    if (s_writer_flush (writer, error)
    ||  (self->io->fdatasync (writer->fd) && s_fail (error, "sync", self->compact_path))
    ||  (rename (self->compact_path, self->path) && s_fail (error, "rename", self->compact_path))) {
        s_writer_abandon (writer);
        return -1;
    }
    close (self->fd);
    self->fd = writer->fd;
    memcpy (self->sync_word, writer->sync_word, SF_JOURNAL_SYNC_SIZE);
    self->bytes = self->group_bytes = self->synced_bytes = writer->offset;
    self->records = self->group_records = writer->records;
    self->written = self->synced = self->committed = self->appended;
    self->pending_size = self->kept = 0;
    self->repair = false;
    free (writer->buffer);
    writer->buffer = NULL;
    writer->fd = -1;
    if (self->io->fsync (self->dir_fd)) {
        self->directory_dirty = true;
        return s_fail (error, "sync the directory", self->directory);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Opening

//  The error of a directory another process holds (holder: what it
//  holds); its pid is read from DIR/lock when that says. Returns -1.
static int
s_locked (sf_journal_t *self, const char *holder, sf_error_t *error)
{
    char *lock_path = s_path (self->directory, "lock");
    char owner [32] = "";
    int fd = self->io->open (lock_path, O_RDONLY | O_CLOEXEC, 0);
    if (fd >= 0) {
        ssize_t got = pread (fd, owner, sizeof owner - 1, 0);
        owner [got > 0? got: 0] = 0;
        owner [strcspn (owner, "\n")] = 0;
        close (fd);
    }
    free (lock_path);
    return sf_error_set (error, "LOCKED", "journal %s is in use by another process%s%s (it"
                         " holds %s); stop it, or give this broker another directory",
                         self->directory, *owner? ", pid ": "", owner, holder);
}

//  Lock the directory, then DIR/lock, and write our pid into DIR/lock.
//  Returns 0, or -1 with error.
static int
s_lock (sf_journal_t *self, sf_error_t *error)
{
    self->dir_fd = self->io->open (self->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (self->dir_fd < 0)
        return s_fail (error, "open the directory", self->directory);
    if (flock (self->dir_fd, LOCK_EX | LOCK_NB))
        return errno == EWOULDBLOCK? s_locked (self, "the flock on the directory", error)
                                   : s_fail (error, "lock the directory", self->directory);
    char *path = s_path (self->directory, "lock");
    int rc = 0;
    self->lock_fd = self->io->open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->lock_fd < 0)
        rc = s_fail (error, "create", path);
    else
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB))
        rc = errno == EWOULDBLOCK? s_locked (self, path, error): s_fail (error, "lock", path);
    else {
        char owner [32];
        int length = snprintf (owner, sizeof owner, "%ld\n", (long) getpid ());
        if (self->io->ftruncate (self->lock_fd, 0)
        ||  s_write_all (self->io, self->lock_fd, owner, (size_t) length, 0))
            rc = s_fail (error, "write", path);
    }
    free (path);
    return rc;
}

//  What the open gathers while it decodes.
typedef struct {
    sf_journal_t *journal;      //  Being opened
    sf_journal_replay_fn *replay;   //  The caller's
    void *arg;                  //  Its argument
    uint64_t base;              //  File offset of the decoded data
    sf_journal_damage_t listed [S_LISTED];  //  The first damaged stretches (file offsets)
    size_t listed_count;        //  Stretches in listed
    uint64_t more_bytes;        //  Bytes of the stretches past listed
    bool middle;                //  A damaged stretch has valid records after it
} s_scan_t;

//  Replay through the caller's callback (arg: the scan).
static int
s_scan_replay (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    s_scan_t *scan = (s_scan_t *) arg;
    return scan->replay? scan->replay (type, payload, size, scan->arg, error): 0;
}

//  Count a damaged stretch into the journal's figures and list it for the
//  report (arg: the scan).
static void
s_scan_damage (const sf_journal_damage_t *damage, void *arg)
{
    s_scan_t *scan = (s_scan_t *) arg;
    sf_journal_t *self = scan->journal;
    uint64_t at = scan->base + damage->at;
    if (self->damaged++ == 0)
        self->dropped_at = at;
    self->dropped += damage->size;
    if (damage->torn)
        self->torn += damage->size;
    if (!damage->tail)
        scan->middle = true;
    if (scan->listed_count < S_LISTED) {
        sf_journal_damage_t *copy = &scan->listed [scan->listed_count++];
        *copy = *damage;
        copy->at = at;
    }
    else
        scan->more_bytes += damage->size;
}

//  Copy a damaged stretch to DIR/journal.damaged-OFFSET and log it at
//  warning level with what it means.
static void
s_report (sf_journal_t *self, const uint8_t *map, const sf_journal_damage_t *damage)
{
    char name [64];
    snprintf (name, sizeof name, "journal.damaged-%" PRIu64, damage->at);
    char *copy_path = s_path (self->directory, name);
    int fd = self->io->open (copy_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool copied = fd >= 0
               && s_write_all (self->io, fd, map + damage->at, (size_t) damage->size, 0) == 0
               && self->io->fdatasync (fd) == 0;
    int saved = errno;
    if (fd >= 0)
        close (fd);
    if (!copied) {
        sf_log_warning ("journal: %s: cannot keep a copy of damaged bytes in %s: %s",
                        self->directory, copy_path, strerror (saved));
        unlink (copy_path);
    }
    const char *copy_note = copied? "; copy in ": "";
    const char *copy_name = copied? copy_path: "";
    uint64_t end = damage->at + damage->size;
    if (damage->torn)
        sf_log_warning ("journal: %s: dropped an unfinished write at the end, bytes [%" PRIu64
                        ", %" PRIu64 ") (%" PRIu64 " bytes at offset %" PRIu64 ": %s): the"
                        " record being written when the broker stopped; with fsync=always it"
                        " was never acknowledged (with batch or off, a power failure can cut"
                        " acknowledged records too)%s%s", self->path, damage->at, end,
                        damage->size, damage->at, damage->why, copy_note, copy_name);
    else
    if (damage->tail)
        sf_log_warning ("journal: %s: dropped damaged bytes at the end, bytes [%" PRIu64
                        ", %" PRIu64 ") (%" PRIu64 " bytes at offset %" PRIu64 ": %s), with no"
                        " valid record after them: the records they held are lost and may"
                        " have been acknowledged%s%s", self->path, damage->at, end,
                        damage->size, damage->at, damage->why, copy_note, copy_name);
    else
        sf_log_warning ("journal: %s: skipped damaged bytes [%" PRIu64 ", %" PRIu64 ") (%"
                        PRIu64 " bytes at offset %" PRIu64 ": %s) and kept the valid records"
                        " after them: the records those bytes held are lost and may have"
                        " been acknowledged%s%s", self->path, damage->at, end, damage->size,
                        damage->at, damage->why, copy_note, copy_name);
    free (copy_path);
}

//  Write a new header on an empty file (or one cut short right after it
//  was created). Returns 0, or -1 with error.
static int
s_write_fresh (sf_journal_t *self, bool created, sf_error_t *error)
{
    uint8_t header [S_HEADER_SIZE];
    s_new_sync_word (self->io, self->sync_word);
    s_header (header, self->sync_word);
    if (self->io->ftruncate (self->fd, 0)
    ||  s_write_all (self->io, self->fd, header, S_HEADER_SIZE, 0)
    ||  self->io->fdatasync (self->fd))
        return s_fail (error, "write", self->path);
    if (created && self->io->fsync (self->dir_fd))
        return s_fail (error, "sync the directory", self->directory);
    self->bytes = S_HEADER_SIZE;
    return 0;
}

//  What the header says: *version 1 or 2, 0 when the file holds no record
//  (empty, or a header cut short right after the file was created: writing
//  it anew loses nothing), or -1 when it is a version-2 header that fails
//  its checksum. Sets the sync word of a good version-2 header. Returns 0,
//  or -1 with error for a file that is not a journal this code reads.
static int
s_read_header (sf_journal_t *self, const uint8_t *found, size_t got, uint64_t size,
               int *version, sf_error_t *error)
{
    *version = 0;
    if (memcmp (found, S_MAGIC, got < 8? got: 8) != 0)
        return sf_error_set (error, "STORE", "journal: %s is not a sheaf journal (no %s"
                             " header); move it away or choose another directory",
                             self->path, S_MAGIC);
    if (got < 12)
        return 0;
    uint32_t number = s_get_u32 (found + 8);
    //  Version 1 has zeros after its version; a version-2 header whose
    //  version was damaged into a 1 still has its sync word there
    if (number == 1 && (got < S_V1_HEADER_SIZE || s_get_u32 (found + 12) == 0)) {
        *version = size > S_V1_HEADER_SIZE? 1: 0;
        return 0;
    }
    if (number != S_VERSION && number != 1)
        return sf_error_set (error, "STORE", "journal: %s has format version %" PRIu32
                             "; this broker reads versions 1 and %d", self->path, number,
                             S_VERSION);
    if (got < S_HEADER_SIZE)
        return 0;
    if (number == S_VERSION && s_crc (0, found, 16) == s_get_u32 (found + 16)) {
        memcpy (self->sync_word, found + 12, SF_JOURNAL_SYNC_SIZE);
        *version = size > S_HEADER_SIZE? S_VERSION: 0;
        return 0;
    }
    if (size == S_HEADER_SIZE) {
        sf_log_warning ("journal: %s: its header was damaged (checksum mismatch) and it holds"
                        " no record: written anew", self->path);
        return 0;
    }
    *version = -1;
    return 0;
}

//  A version-2 header that fails its checksum: take the sync word from the
//  first record if that record checks out, and write the header again.
//  Returns 0, or -1 with error (the file is left as it is).
static int
s_repair_header (sf_journal_t *self, const uint8_t *map, uint64_t size, sf_error_t *error)
{
    const uint8_t *candidate = map + S_HEADER_SIZE;
    uint32_t length;
    const char *why;
    if (size < S_HEADER_SIZE + SF_JOURNAL_SYNC_SIZE
    ||  s_check (candidate, (size_t) (size - S_HEADER_SIZE), 0, candidate, true, &length,
                 &why) != S_VALID)
        return sf_error_set (error, "STORE", "journal: %s: its header is damaged (checksum"
                             " mismatch) and its first record does not confirm it; the file"
                             " is left as it is: move it away or restore it from a backup",
                             self->path);
    memcpy (self->sync_word, candidate, SF_JOURNAL_SYNC_SIZE);
    uint8_t header [S_HEADER_SIZE];
    s_header (header, self->sync_word);
    if (s_write_all (self->io, self->fd, header, S_HEADER_SIZE, 0)
    ||  self->io->fdatasync (self->fd))
        return s_fail (error, "write the header of", self->path);
    sf_log_warning ("journal: %s: its header was damaged (checksum mismatch); written again"
                    " with the sync word of its first record", self->path);
    return 0;
}

//  Rewrite the file from its valid records (decoded again from map) into
//  journal.compact and put that in its place. Returns 0, or -1 with error
//  (the file is unchanged).
static int
s_rewrite (sf_journal_t *self, const uint8_t *map, uint64_t size, int version,
           sf_error_t *error)
{
    s_writer_t writer;
    if (s_writer_open (self, &writer, error))
        return -1;
    uint64_t records;
    size_t end;
    int rc = version == 1
           ? s_decode_v1 (map + S_V1_HEADER_SIZE, (size_t) (size - S_V1_HEADER_SIZE),
                          s_writer_replay, NULL, &writer, &records, &end, error)
           : sf_journal_decode (map + S_HEADER_SIZE, (size_t) (size - S_HEADER_SIZE),
                                self->sync_word, s_writer_replay, NULL, &writer, &records,
                                &end, error);
    if (rc) {
        s_writer_abandon (&writer);
        return -1;
    }
    sf_error_t directory_error;
    if (s_writer_install (&writer, &directory_error)) {
        if (!self->directory_dirty) {
            *error = directory_error;
            return -1;
        }
        sf_log_warning ("%s; the next commit tries again", directory_error.message);
    }
    return 0;
}

//  Open DIR/journal, create or check its header, replay it, report and
//  drop its damage, and convert a version-1 file. Returns 0, or -1 with
//  error.
static int
s_open_file (sf_journal_t *self, sf_journal_replay_fn *replay, void *arg, sf_error_t *error)
{
    //  An unfinished compaction: the old journal is whole, the copy is not
    if (access (self->compact_path, F_OK) == 0) {
        if (unlink (self->compact_path))
            return s_fail (error, "remove", self->compact_path);
        sf_log_warning ("journal: %s: removed %s, left by a rewrite that did not finish;"
                        " the journal before it is intact", self->directory,
                        self->compact_path);
    }
    bool created = access (self->path, F_OK) != 0;
    self->fd = self->io->open (self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->fd < 0)
        return s_fail (error, "open", self->path);
    struct stat info;
    if (fstat (self->fd, &info))
        return s_fail (error, "stat", self->path);
    uint64_t size = (uint64_t) info.st_size;
    uint8_t found [S_HEADER_SIZE];
    ssize_t got = pread (self->fd, found, S_HEADER_SIZE, 0);
    if (got < 0)
        return s_fail (error, "read", self->path);
    int version;
    if (s_read_header (self, found, (size_t) got, size, &version, error))
        return -1;
    if (version == 0)
        return s_write_fresh (self, created, error);

    //  Replay from a read-only mapping; we hold the lock, so nobody
    //  truncates the file under it
    const uint8_t *map = (const uint8_t *) mmap (NULL, (size_t) size, PROT_READ, MAP_PRIVATE,
                                                 self->fd, 0);
    if (map == MAP_FAILED)
        return s_fail (error, "map", self->path);
    madvise ((void *) map, (size_t) size, MADV_SEQUENTIAL);
    int rc = 0;
    if (version == -1) {
        rc = s_repair_header (self, map, size, error);
        version = S_VERSION;
    }
    uint64_t header_size = version == 1? S_V1_HEADER_SIZE: S_HEADER_SIZE;
    s_scan_t scan = { self, replay, arg, header_size, { { 0 } }, 0, 0, false };
    size_t end = 0;
    if (rc == 0 && version == 1)
        rc = s_decode_v1 (map + header_size, (size_t) (size - header_size), s_scan_replay,
                          s_scan_damage, &scan, &self->replayed, &end, error);
    else
    if (rc == 0)
        rc = sf_journal_decode (map + header_size, (size_t) (size - header_size),
                                self->sync_word, s_scan_replay, s_scan_damage, &scan,
                                &self->replayed, &end, error);
    if (rc == 0) {
        for (size_t i = 0; i < scan.listed_count; i++)
            s_report (self, map, &scan.listed [i]);
        if (self->damaged > scan.listed_count)
            sf_log_warning ("journal: %s: and %" PRIu64 " more damaged stretches, %" PRIu64
                            " bytes in all, neither listed nor copied", self->path,
                            self->damaged - scan.listed_count, scan.more_bytes);
    }
    self->bytes = header_size + (uint64_t) end;
    self->records = self->replayed;
    bool rewritten = false;
    if (rc == 0 && (version == 1 || scan.middle)) {
        //  Rewritten from the valid records: converted to this version, or
        //  rid of the damage so that it is reported once
        sf_error_t rewrite_error;
        rewritten = s_rewrite (self, map, size, version, &rewrite_error) == 0;
        if (rewritten)
            sf_log_info ("journal: %s: rewritten %s (%" PRIu64 " records)", self->path,
                         version == 1? "from format version 1 to 2": "without the damaged bytes",
                         self->records);
        else
        if (version == 1) {
            *error = rewrite_error;
            rc = -1;
        }
        else
            sf_log_warning ("journal: %s: cannot rewrite it without the damaged bytes (%s);"
                            " they stay in it and are reported again at the next open",
                            self->path, rewrite_error.message);
    }
    //  Otherwise a damaged end is cut off where it is
    if (rc == 0 && !rewritten && self->bytes < size
    &&  (self->io->ftruncate (self->fd, (off_t) self->bytes) || self->io->fdatasync (self->fd)))
        rc = s_fail (error, "truncate", self->path);
    munmap ((void *) map, (size_t) size);
    return rc;
}

//  --------------------------------------------------------------------------
//  Open a journal; see the header for the contract.

sf_journal_t *
sf_journal_new (const char *directory, sf_journal_sync_t sync, int batch_ms,
                sf_journal_replay_fn *replay, void *arg, sf_error_t *error)
{
    assert (directory);
    if (!*directory) {
        sf_error_set (error, "STORE", "journal: the directory is empty (journal:DIR)");
        return NULL;
    }
    if (sync == SF_JOURNAL_SYNC_BATCH && (batch_ms < 1 || batch_ms > 60000)) {
        sf_error_set (error, "STORE", "journal: the batch window must be 1-60000 ms (got %d)",
                      batch_ms);
        return NULL;
    }
    char failed [4096];
    if (strlen (directory) >= sizeof failed - 64) {
        sf_error_set (error, "STORE", "journal: the directory name is too long");
        return NULL;
    }
    if (s_make_directory (directory, failed, sizeof failed)) {
        sf_error_set (error, "STORE", "journal: cannot create directory %s: %s", failed,
                      strerror (errno));
        return NULL;
    }
    sf_journal_t *self = (sf_journal_t *) zmalloc (sizeof *self);
    self->directory = sf_alloc_strdup (directory);
    self->path = s_path (directory, "journal");
    self->compact_path = s_path (directory, "journal.compact");
    self->fd = -1;
    self->dir_fd = -1;
    self->lock_fd = -1;
    self->sync = sync;
    self->batch_ms = batch_ms;
    sf_journal_set_io (self, NULL);
    if (s_lock (self, error) || s_open_file (self, replay, arg, error)) {
        sf_journal_destroy (&self);
        return NULL;
    }
    self->group_bytes = self->synced_bytes = self->bytes;
    self->group_records = self->records;
    return self;
}

static int s_repair (sf_journal_t *self, sf_error_t *error);

//  --------------------------------------------------------------------------
//  Destroy a journal: finish a repair or sync what was written, then unlock.

void
sf_journal_destroy (sf_journal_t **self_p)
{
    assert (self_p);
    sf_journal_t *self = *self_p;
    if (!self)
        return;
    sf_error_t error;
    if (self->fd >= 0 && (self->repair || self->directory_dirty) && s_repair (self, &error))
        sf_log_error ("%s; at close: records of a failed commit may come back on replay",
                      error.message);
    else
    if (self->fd >= 0 && !self->failed && self->written > self->synced
    &&  self->io->fdatasync (self->fd))
        sf_log_error ("journal: %s: cannot sync %s at close (%s): records of commits since"
                      " the last sync may not be on disk", self->directory, self->path,
                      strerror (errno));
    if (self->fd >= 0)
        close (self->fd);
    if (self->lock_fd >= 0)
        close (self->lock_fd);          //  Releases its flock
    if (self->dir_fd >= 0)
        close (self->dir_fd);           //  Releases the directory's
    free (self->pending);
    free (self->directory);
    free (self->path);
    free (self->compact_path);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Writing and syncing

//  Fails (-1 with error) once the journal has failed.
static int
s_check_usable (sf_journal_t *self, sf_error_t *error)
{
    if (self->failed)
        return sf_error_set (error, "STORE", "journal: %s has failed after a sync error with"
                             " fsync=off, which keeps nothing to write again; restart to"
                             " recover it from the file", self->directory);
    return 0;
}

//  The kept bytes are synced: drop them from the front of the buffer.
static void
s_forget_kept (sf_journal_t *self)
{
    if (self->kept && self->pending_size > self->kept)
        memmove (self->pending, self->pending + self->kept, self->pending_size - self->kept);
    self->pending_size -= self->kept;
    self->kept = 0;
}

//  Forget the pending group and whatever of it reached the file: the file
//  is back to the last good commit (once repaired).
static void
s_drop_group (sf_journal_t *self)
{
    self->pending_size = self->kept;
    self->pending_records = 0;
    self->group_early = false;
    self->bytes = self->group_bytes;
    self->records = self->group_records;
    self->written = self->committed;
    if (self->synced > self->written)
        self->synced = self->written;
}

//  Make the file hold exactly the committed records again after a failed
//  write or sync: sync the directory if a rename waits for it, cut the
//  file back to the last good commit, write again the bytes a failed sync
//  may have lost (batch), and sync. One attempt; returns 0, or -1 with
//  error and the repair still due.
static int
s_repair (sf_journal_t *self, sf_error_t *error)
{
    if (self->directory_dirty) {
        if (self->io->fsync (self->dir_fd))
            return s_fail (error, "sync the directory", self->directory);
        self->directory_dirty = false;
    }
    if (!self->repair)
        return 0;
    if (self->io->ftruncate (self->fd, (off_t) self->group_bytes))
        return sf_error_set (error, "STORE", "journal: cannot truncate %s to %" PRIu64
                             " bytes (the end of the last good commit): %s", self->path,
                             self->group_bytes, strerror (errno));
    if (self->kept && s_write_all (self->io, self->fd, self->pending, self->kept,
                                   self->synced_bytes))
        return sf_error_set (error, "STORE", "journal: cannot write to %s again what a failed"
                             " sync may have lost: %s", self->path, strerror (errno));
    if (self->sync != SF_JOURNAL_SYNC_OFF && self->io->fdatasync (self->fd))
        return s_fail (error, "sync", self->path);
    self->repair = false;
    if (self->sync != SF_JOURNAL_SYNC_OFF) {
        self->synced = self->committed;
        self->synced_bytes = self->group_bytes;
        s_forget_kept (self);
    }
    return 0;
}

//  Start a repair after a failed write or sync (errno set): drop the
//  group, fill error, and try the repair at once; if that fails too, the
//  next call that writes tries it again. Returns -1.
static int
s_failed_io (sf_journal_t *self, const char *what, sf_error_t *error)
{
    s_fail (error, what, self->path);
    s_drop_group (self);
    self->repair = true;
    s_repair (self, NULL);
    return -1;
}

//  Write the pending records at the end of the file (they stay in the
//  buffer; the caller clears it). On failure the group is dropped. Returns
//  0 or -1.
static int
s_write_pending (sf_journal_t *self, sf_error_t *error)
{
    if (self->pending_size == self->kept)
        return 0;
    if (s_repair (self, error)) {
        s_drop_group (self);
        return -1;
    }
    size_t size = self->pending_size - self->kept;
    if (s_write_all (self->io, self->fd, self->pending + self->kept, size, self->bytes))
        return s_failed_io (self, "write to", error);
    if (self->written == self->synced)
        self->unsynced_since = s_now_ms ();
    self->bytes += size;
    self->records += self->pending_records;
    self->written = self->appended;
    return 0;
}

//  fdatasync what was written (all of the buffer: the caller then clears
//  it, kept bytes too). A failure drops the pending group and
//  starts a repair, or with sync off cuts the group off (once, as well as
//  it can) and fails the journal. Returns 0 or -1.
static int
s_sync (sf_journal_t *self, sf_error_t *error)
{
    if (self->written == self->synced)
        return 0;
    if (self->io->fdatasync (self->fd)) {
        if (self->sync != SF_JOURNAL_SYNC_OFF)
            return s_failed_io (self, "sync", error);
        s_fail (error, "sync", self->path);
        s_drop_group (self);
        self->io->ftruncate (self->fd, (off_t) self->group_bytes);
        self->failed = true;
        return -1;
    }
    self->synced = self->written;
    self->synced_bytes = self->bytes;
    return 0;
}

//  Commit the pending group, syncing when force or the mode says.
static int
s_commit (sf_journal_t *self, bool force, sf_error_t *error)
{
    if (s_check_usable (self, error))
        return -1;
    if (s_repair (self, error)) {
        s_drop_group (self);
        return -1;
    }
    size_t size = self->pending_size - self->kept;
    if (s_write_pending (self, error))
        return -1;
    bool waiting = self->written > self->synced;
    //  A batch group that was written early is not all in the buffer, and
    //  the bytes kept for a repair are bounded: either way, sync now
    bool due = force || self->sync == SF_JOURNAL_SYNC_ALWAYS
            || (self->sync == SF_JOURNAL_SYNC_BATCH && waiting
                && (s_now_ms () - self->unsynced_since >= self->batch_ms || self->group_early
                    || self->kept + size > S_UNSYNCED_MAX));
    if (due && s_sync (self, error))
        return -1;
    //  What waits for its sync stays in the buffer, for a repair
    if (!due && waiting && self->sync == SF_JOURNAL_SYNC_BATCH)
        self->kept = self->pending_size;
    else
        self->pending_size = self->kept = 0;
    self->pending_records = 0;
    self->group_early = false;
    self->committed = self->written;
    self->group_bytes = self->bytes;
    self->group_records = self->records;
    return 0;
}

//  --------------------------------------------------------------------------
//  Add a record to the pending group; returns its sequence number or 0.

uint64_t
sf_journal_append (sf_journal_t *self, uint8_t type, const void *payload, size_t size,
                   sf_error_t *error)
{
    assert (self);
    assert (payload || size == 0);
    if (type == 0) {
        sf_error_set (error, "STORE", "journal: %s: a record needs a type of 1-255 (got 0);"
                      " nothing was written", self->directory);
        return 0;
    }
    if (size > SF_JOURNAL_MAX_PAYLOAD) {
        sf_error_set (error, "STORE", "journal: %s: a record of %zu bytes is over the limit"
                      " of %u bytes; nothing was written", self->directory, size,
                      SF_JOURNAL_MAX_PAYLOAD);
        return 0;
    }
    if (s_check_usable (self, error))
        return 0;
    size_t needed = self->pending_size + SF_JOURNAL_RECORD_OVERHEAD + size;
    if (needed > self->pending_capacity) {
        size_t capacity = self->pending_capacity? self->pending_capacity: 64 * 1024;
        while (capacity < needed)
            capacity *= 2;
        self->pending = (uint8_t *) sf_alloc_resize (self->pending, capacity, 1);
        self->pending_capacity = capacity;
    }
    s_encode (self->pending + self->pending_size, self->sync_word, type, payload, size);
    self->pending_size = needed;
    self->pending_records++;
    self->appended++;
    uint64_t sequence = self->appended;
    if (self->pending_size - self->kept >= S_WRITE_EARLY) {
        if (s_write_pending (self, error))
            return 0;
        self->pending_size = self->kept;
        self->pending_records = 0;
        self->group_early = true;
    }
    return sequence;
}

//  --------------------------------------------------------------------------
//  Write the pending group and sync as the mode says; 0 or -1.

int
sf_journal_commit (sf_journal_t *self, sf_error_t *error)
{
    assert (self);
    return s_commit (self, false, error);
}

//  --------------------------------------------------------------------------
//  Write the pending group and sync now; 0 or -1.

int
sf_journal_sync (sf_journal_t *self, sf_error_t *error)
{
    assert (self);
    return s_commit (self, true, error);
}

//  --------------------------------------------------------------------------
//  Counters and accessors: see the header.

uint64_t
sf_journal_appended (sf_journal_t *self)
{
    assert (self);
    return self->appended;
}

uint64_t
sf_journal_durable (sf_journal_t *self)
{
    assert (self);
    return self->sync == SF_JOURNAL_SYNC_OFF? self->committed: self->synced;
}

uint64_t
sf_journal_synced (sf_journal_t *self)
{
    assert (self);
    return self->synced;
}

int
sf_journal_sync_due (sf_journal_t *self)
{
    assert (self);
    if (self->sync != SF_JOURNAL_SYNC_BATCH || self->written == self->synced)
        return -1;
    int64_t left = self->unsynced_since + self->batch_ms - s_now_ms ();
    return left > 0? (int) left: 0;
}

uint64_t
sf_journal_bytes (sf_journal_t *self)
{
    assert (self);
    return self->bytes;
}

uint64_t
sf_journal_records (sf_journal_t *self)
{
    assert (self);
    return self->records;
}

uint64_t
sf_journal_record_bytes (size_t size)
{
    return SF_JOURNAL_RECORD_OVERHEAD + (uint64_t) size;
}

uint64_t
sf_journal_replayed (sf_journal_t *self)
{
    assert (self);
    return self->replayed;
}

uint64_t
sf_journal_dropped (sf_journal_t *self)
{
    assert (self);
    return self->dropped;
}

uint64_t
sf_journal_dropped_at (sf_journal_t *self)
{
    assert (self);
    return self->dropped_at;
}

uint64_t
sf_journal_damaged (sf_journal_t *self)
{
    assert (self);
    return self->damaged;
}

uint64_t
sf_journal_torn (sf_journal_t *self)
{
    assert (self);
    return self->torn;
}

const char *
sf_journal_directory (sf_journal_t *self)
{
    assert (self);
    return self->directory;
}

//  --------------------------------------------------------------------------
//  Replace the system calls of one journal, or of the process.

void
sf_journal_set_io (sf_journal_t *self, const sf_journal_io_t *io)
{
    assert (self);
    if (io) {
        self->own_io = s_complete_io (io);
        self->io = &self->own_io;
    }
    else
        self->io = &s_default_io;
}

void
sf_journal_set_default_io (const sf_journal_io_t *io)
{
    s_default_io = s_complete_io (io);
}

//  --------------------------------------------------------------------------
//  Rewrite the journal to the live set; 0 or -1.

int
sf_journal_compact (sf_journal_t *self, sf_journal_live_fn *next, void *arg,
                    sf_error_t *error)
{
    assert (self);
    assert (next);
    if (sf_journal_commit (self, error))
        return -1;
    s_writer_t writer;
    if (s_writer_open (self, &writer, error))
        return -1;
    while (true) {
        uint8_t type = 0;
        const void *payload = NULL;
        size_t size = 0;
        if (error)
            error->code [0] = 0;
        int more = next (arg, &type, &payload, &size, error);
        if (more < 0 && error && !error->code [0])
            sf_error_set (error, "STORE", "journal: compaction of %s stopped by its caller",
                          self->directory);
        if (more < 0 || (more > 0 && s_writer_add (&writer, type, payload, size, error))) {
            s_writer_abandon (&writer);
            return -1;
        }
        if (more == 0)
            break;
    }
    return s_writer_install (&writer, error);
}
