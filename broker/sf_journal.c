/*  =========================================================================
    sf_journal - a durable, append-only log of typed records in a directory

    Design. The directory holds three names: `lock` (flock'ed for as long
    as the journal is open; it holds the owner's pid), `journal` (a 16-byte
    header, then records) and, only while a compaction runs,
    `journal.compact`. A record is [length u32][crc u32][type u8][payload],
    little-endian, the CRC-32 (zlib) covering length, type and payload, so
    that a flipped bit anywhere in a record is caught.

    Appends go to a memory buffer; a commit writes the buffer with pwrite
    at the file's known end and then syncs as the mode says. The journal
    tracks three sequence numbers (appended, written, synced) so that the
    caller can tell which records may be acknowledged. A failed write is
    undone by truncating to the end of the last good commit, so that a
    group the caller was told failed never reappears on replay. A failed
    fdatasync is final: after one, Linux may have dropped the dirty pages
    and a retry would report success for data that is gone.

    Opening replays from a read-only mapping of the file; the decoder
    bounds every length by SF_JOURNAL_MAX_PAYLOAD and by the bytes left
    before it touches them. At the first bad record the rest of the file is
    copied aside (journal.damaged-OFFSET, for an operator to inspect) and
    cut off; that is the tail a broker was writing when it stopped, which
    it never acknowledged.

    Compaction writes the caller's live set into journal.compact, syncs it,
    renames it over journal and syncs the directory. A crash before the
    rename leaves the old journal and a stray journal.compact, which the
    next open removes; after the rename the new file is complete.

    Checklist when the format changes: S_VERSION, s_header, sf_journal_decode,
    docs/JOURNAL.md, tests/fuzz/corpus/fuzz_journal (regenerate the seeds).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "sf_journal.h"
#include "sf_log.h"

#define S_MAGIC       "SHEAFJNL"        //  First 8 bytes of every journal
#define S_VERSION     1                 //  Format version in the header
#define S_HEADER_SIZE 16                //  Magic, version u32, reserved u32
#define S_WRITE_EARLY (1024 * 1024)     //  A pending group this large is written early

struct _sf_journal_t {
    char *directory;            //  As given to new
    char *path;                 //  DIR/journal
    char *compact_path;         //  DIR/journal.compact
    int fd;                     //  The journal file, read-write
    int lock_fd;                //  DIR/lock, flock'ed while open
    sf_journal_sync_t sync;     //  Sync mode
    int batch_ms;               //  Batch mode: longest a write waits for its sync
    sf_journal_io_t io;         //  System calls writes and syncs go through
    bool failed;                //  A sync failed or a write could not be undone
    uint8_t *pending;           //  Records appended since the last write
    size_t pending_size;        //  Bytes in pending
    size_t pending_capacity;    //  Bytes allocated for pending
    uint64_t pending_records;   //  Records in pending
    uint64_t bytes;             //  Bytes in the file (its end, where writes go)
    uint64_t records;           //  Records in the file
    uint64_t group_bytes;       //  File end after the last commit: a failed write returns here
    uint64_t group_records;     //  Records in the file after the last commit
    uint64_t appended;          //  Sequence number of the last record appended
    uint64_t written;           //  … of the last record in the file
    uint64_t synced;            //  … of the last record fdatasync'ed
    uint64_t committed;         //  … of the last record of the last good commit
    int64_t unsynced_since;     //  Monotonic ms of the first write after the last sync
    uint64_t replayed;          //  Records the open replayed
    uint64_t dropped;           //  Bytes the open cut from a damaged tail
    uint64_t dropped_at;        //  Offset where they began
};

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

//  CRC-32 of a record: its length field, type and payload.
static uint32_t
s_record_crc (const uint8_t *length_field, uint8_t type, const void *payload, size_t size)
{
    uLong crc = crc32 (0L, Z_NULL, 0);
    crc = crc32 (crc, length_field, 4);
    crc = crc32 (crc, &type, 1);
    if (size)
        crc = crc32 (crc, (const Bytef *) payload, (uInt) size);
    return (uint32_t) crc;
}

//  The header of a journal file.
static void
s_header (uint8_t header [S_HEADER_SIZE])
{
    memcpy (header, S_MAGIC, 8);
    s_put_u32 (header + 8, S_VERSION);
    s_put_u32 (header + 12, 0);
}

//  "DIR/name"; the caller frees it.
static char *
s_path (const char *directory, const char *name)
{
    size_t size = strlen (directory) + 1 + strlen (name) + 1;
    char *path = (char *) malloc (size);
    assert (path);
    snprintf (path, size, "%s/%s", directory, name);
    return path;
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

//  fsync a directory so that names created or renamed in it are durable.
static int
s_sync_directory (const char *directory)
{
    int fd = open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
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

//  The real system calls, behind sf_journal_io_t.
static ssize_t
s_real_pwrite (int fd, const void *data, size_t size, off_t offset)
{
    return pwrite (fd, data, size, offset);
}

static int
s_real_fdatasync (int fd)
{
    return fdatasync (fd);
}

//  --------------------------------------------------------------------------
//  Decode records; see the header for the contract.

int
sf_journal_decode (const uint8_t *data, size_t size, sf_journal_replay_fn *replay, void *arg,
                   uint64_t *records, size_t *valid, const char **why, sf_error_t *error)
{
    size_t offset = 0;
    *records = 0;
    *why = NULL;
    while (offset < size) {
        size_t left = size - offset;
        if (left < SF_JOURNAL_RECORD_OVERHEAD) {
            *why = "record header cut short";
            break;
        }
        const uint8_t *record = data + offset;
        uint32_t length = s_get_u32 (record);
        uint32_t crc = s_get_u32 (record + 4);
        uint8_t type = record [8];
        if (length > SF_JOURNAL_MAX_PAYLOAD) {
            *why = "record length over the limit";
            break;
        }
        if (length > left - SF_JOURNAL_RECORD_OVERHEAD) {
            *why = "record cut short";
            break;
        }
        const uint8_t *payload = record + SF_JOURNAL_RECORD_OVERHEAD;
        if (s_record_crc (record, type, payload, length) != crc) {
            *why = "checksum mismatch";
            break;
        }
        if (type == 0) {
            *why = "record of type 0";
            break;
        }
        if (replay) {
            if (error)
                error->code [0] = 0;
            if (replay (type, payload, length, arg, error)) {
                if (error && !error->code [0])
                    sf_error_set (error, "STORE", "journal replay stopped at record %" PRIu64,
                                  *records + 1);
                *valid = offset;
                return -1;
            }
        }
        (*records)++;
        offset += SF_JOURNAL_RECORD_OVERHEAD + length;
    }
    *valid = offset;
    return 0;
}

//  --------------------------------------------------------------------------
//  Opening

//  Store error for a failed system call on path.
static int
s_fail (sf_error_t *error, const char *what, const char *path)
{
    return sf_error_set (error, "STORE", "journal: cannot %s %s: %s", what, path,
                         strerror (errno));
}

//  Take DIR/lock. Returns 0, or -1 with error.
static int
s_lock (sf_journal_t *self, sf_error_t *error)
{
    char *path = s_path (self->directory, "lock");
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->lock_fd < 0) {
        s_fail (error, "create", path);
        free (path);
        return -1;
    }
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB)) {
        if (errno == EWOULDBLOCK) {
            char owner [32] = "";
            ssize_t got = pread (self->lock_fd, owner, sizeof owner - 1, 0);
            owner [got > 0? got: 0] = 0;
            owner [strcspn (owner, "\n")] = 0;
            sf_error_set (error, "STORE",
                          "journal %s is in use by another process%s%s (%s is locked)",
                          self->directory, *owner? ", pid ": "", owner, path);
        }
        else
            s_fail (error, "lock", path);
        free (path);
        return -1;
    }
    //  The owner's pid, for the message above and for an operator
    char owner [32];
    int length = snprintf (owner, sizeof owner, "%ld\n", (long) getpid ());
    if (ftruncate (self->lock_fd, 0) || pwrite (self->lock_fd, owner, (size_t) length, 0) < 0) {
        s_fail (error, "write", path);
        free (path);
        return -1;
    }
    free (path);
    return 0;
}

//  Copy the damaged tail aside, then cut it off. Returns 0 or -1 with error.
static int
s_cut_tail (sf_journal_t *self, const uint8_t *map, uint64_t size, uint64_t at,
            const char *why)
{
    char name [64];
    snprintf (name, sizeof name, "journal.damaged-%" PRIu64, at);
    char *copy_path = s_path (self->directory, name);
    int fd = open (copy_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool copied = fd >= 0
               && s_write_all (&self->io, fd, map + at, (size_t) (size - at), 0) == 0
               && fdatasync (fd) == 0;
    if (fd >= 0)
        close (fd);
    if (!copied) {
        sf_log_warning ("journal: %s: cannot keep a copy of the damaged tail in %s: %s",
                        self->directory, copy_path, strerror (errno));
        unlink (copy_path);
    }
    sf_log_warning ("journal: %s: dropped %" PRIu64 " bytes at offset %" PRIu64
                    " (%s) after %" PRIu64 " good records: the unfinished write of a"
                    " broker that stopped, never acknowledged unless it ran with sync off%s%s",
                    self->directory, size - at, at, why, self->replayed,
                    copied? "; copy kept in ": "", copied? copy_path: "");
    free (copy_path);
    self->dropped = size - at;
    self->dropped_at = at;
    return 0;
}

//  Open DIR/journal, create or check its header, replay it and cut a
//  damaged tail. Returns 0, or -1 with error.
static int
s_open_file (sf_journal_t *self, sf_journal_replay_fn *replay, void *arg, sf_error_t *error)
{
    //  An unfinished compaction: the old journal is whole, the copy is not
    if (access (self->compact_path, F_OK) == 0) {
        if (unlink (self->compact_path))
            return s_fail (error, "remove", self->compact_path);
        sf_log_warning ("journal: %s: removed %s, left by a compaction that did not finish;"
                        " the journal before it is intact", self->directory,
                        self->compact_path);
    }
    bool created = access (self->path, F_OK) != 0;
    self->fd = open (self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->fd < 0)
        return s_fail (error, "open", self->path);
    struct stat info;
    if (fstat (self->fd, &info))
        return s_fail (error, "stat", self->path);
    uint64_t size = (uint64_t) info.st_size;

    uint8_t header [S_HEADER_SIZE];
    s_header (header);
    uint8_t found [S_HEADER_SIZE];
    ssize_t got = pread (self->fd, found, S_HEADER_SIZE, 0);
    if (got < 0)
        return s_fail (error, "read", self->path);
    //  A header cut short by a crash right after the file was created: a
    //  prefix of the magic holds no record, so writing it anew loses nothing
    bool fresh = size < S_HEADER_SIZE && memcmp (found, header, (size_t) got) == 0;
    if (!fresh && (size < S_HEADER_SIZE || memcmp (found, S_MAGIC, 8) != 0))
        return sf_error_set (error, "STORE", "journal: %s is not a sheaf journal (no %s"
                             " header); move it away or choose another directory",
                             self->path, S_MAGIC);
    if (!fresh && s_get_u32 (found + 8) != S_VERSION)
        return sf_error_set (error, "STORE", "journal: %s has format version %" PRIu32
                             "; this broker reads version %d", self->path,
                             s_get_u32 (found + 8), S_VERSION);
    if (fresh) {
        if (ftruncate (self->fd, 0)
        ||  s_write_all (&self->io, self->fd, header, S_HEADER_SIZE, 0)
        ||  self->io.fdatasync (self->fd))
            return s_fail (error, "write", self->path);
        if (created && s_sync_directory (self->directory))
            return s_fail (error, "sync", self->directory);
        self->bytes = S_HEADER_SIZE;
        return 0;
    }

    //  Replay from a read-only mapping; we hold the lock, so nobody
    //  truncates the file under it
    const uint8_t *map = NULL;
    if (size > S_HEADER_SIZE) {
        map = (const uint8_t *) mmap (NULL, (size_t) size, PROT_READ, MAP_PRIVATE, self->fd, 0);
        if (map == MAP_FAILED)
            return s_fail (error, "map", self->path);
        madvise ((void *) map, (size_t) size, MADV_SEQUENTIAL);
    }
    size_t valid = 0;
    const char *why = NULL;
    int rc = 0;
    if (map)
        rc = sf_journal_decode (map + S_HEADER_SIZE, (size_t) (size - S_HEADER_SIZE), replay,
                                arg, &self->replayed, &valid, &why, error);
    uint64_t end = S_HEADER_SIZE + (uint64_t) valid;
    if (rc == 0 && end < size) {
        s_cut_tail (self, map, size, end, why);
        if (ftruncate (self->fd, (off_t) end) || self->io.fdatasync (self->fd))
            rc = s_fail (error, "truncate", self->path);
    }
    if (map)
        munmap ((void *) map, (size_t) size);
    self->bytes = self->group_bytes = end;
    self->records = self->group_records = self->replayed;
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
    self->directory = strdup (directory);
    self->path = s_path (directory, "journal");
    self->compact_path = s_path (directory, "journal.compact");
    self->fd = -1;
    self->lock_fd = -1;
    self->sync = sync;
    self->batch_ms = batch_ms;
    sf_journal_set_io (self, NULL);
    if (s_lock (self, error) || s_open_file (self, replay, arg, error)) {
        sf_journal_destroy (&self);
        return NULL;
    }
    self->group_bytes = self->bytes;
    self->group_records = self->records;
    return self;
}

//  --------------------------------------------------------------------------
//  Destroy a journal: sync what was written, then unlock.

void
sf_journal_destroy (sf_journal_t **self_p)
{
    assert (self_p);
    sf_journal_t *self = *self_p;
    if (!self)
        return;
    if (self->fd >= 0 && !self->failed && self->written > self->synced
    &&  self->io.fdatasync (self->fd))
        sf_log_error ("journal: %s: cannot sync %s at close: %s", self->directory, self->path,
                      strerror (errno));
    if (self->fd >= 0)
        close (self->fd);
    if (self->lock_fd >= 0)
        close (self->lock_fd);         //  Releases the flock
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
        return sf_error_set (error, "STORE", "journal: %s has failed after an I/O error;"
                             " restart to recover it from the file", self->directory);
    return 0;
}

//  Write the pending buffer at the end of the file. On failure, cut the
//  file back to the last good commit and drop the group. Returns 0 or -1.
static int
s_write_pending (sf_journal_t *self, sf_error_t *error)
{
    if (self->pending_size == 0)
        return 0;
    if (s_write_all (&self->io, self->fd, self->pending, self->pending_size, self->bytes)) {
        int saved = errno;
        if (ftruncate (self->fd, (off_t) self->group_bytes))
            self->failed = true;
        else {
            self->bytes = self->group_bytes;
            self->records = self->group_records;
            self->written = self->committed;
            if (self->synced > self->written)
                self->synced = self->written;
        }
        self->pending_size = 0;
        self->pending_records = 0;
        errno = saved;
        return s_fail (error, "write to", self->path);
    }
    if (self->written == self->synced)
        self->unsynced_since = s_now_ms ();
    self->bytes += self->pending_size;
    self->records += self->pending_records;
    self->written = self->appended;
    self->pending_size = 0;
    self->pending_records = 0;
    return 0;
}

//  fdatasync what was written; a failure fails the journal. Returns 0 or -1.
static int
s_sync (sf_journal_t *self, sf_error_t *error)
{
    if (self->written == self->synced)
        return 0;
    if (self->io.fdatasync (self->fd)) {
        self->failed = true;
        return s_fail (error, "sync", self->path);
    }
    self->synced = self->written;
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
    if (s_check_usable (self, error))
        return 0;
    if (type == 0 || size > SF_JOURNAL_MAX_PAYLOAD) {
        sf_error_set (error, "STORE", "journal: a record needs a type of 1-255 and at most"
                      " %u bytes (got type %u, %zu bytes)", SF_JOURNAL_MAX_PAYLOAD, type, size);
        return 0;
    }
    size_t needed = self->pending_size + SF_JOURNAL_RECORD_OVERHEAD + size;
    if (needed > self->pending_capacity) {
        size_t capacity = self->pending_capacity? self->pending_capacity: 64 * 1024;
        while (capacity < needed)
            capacity *= 2;
        self->pending = (uint8_t *) realloc (self->pending, capacity);
        assert (self->pending);
        self->pending_capacity = capacity;
    }
    uint8_t *record = self->pending + self->pending_size;
    s_put_u32 (record, (uint32_t) size);
    record [8] = type;
    if (size)
        memcpy (record + SF_JOURNAL_RECORD_OVERHEAD, payload, size);
    s_put_u32 (record + 4, s_record_crc (record, type, payload, size));
    self->pending_size = needed;
    self->pending_records++;
    self->appended++;
    uint64_t sequence = self->appended;
    if (self->pending_size >= S_WRITE_EARLY && s_write_pending (self, error))
        return 0;
    return sequence;
}

//  --------------------------------------------------------------------------
//  Write the pending group and sync as the mode says; 0 or -1.

int
sf_journal_commit (sf_journal_t *self, sf_error_t *error)
{
    assert (self);
    if (s_check_usable (self, error) || s_write_pending (self, error))
        return -1;
    bool due = self->sync == SF_JOURNAL_SYNC_ALWAYS
            || (self->sync == SF_JOURNAL_SYNC_BATCH && self->written > self->synced
                && s_now_ms () - self->unsynced_since >= self->batch_ms);
    if (due && s_sync (self, error))
        return -1;
    self->committed = self->written;
    self->group_bytes = self->bytes;
    self->group_records = self->records;
    return 0;
}

//  --------------------------------------------------------------------------
//  Write the pending group and sync now; 0 or -1.

int
sf_journal_sync (sf_journal_t *self, sf_error_t *error)
{
    assert (self);
    if (s_check_usable (self, error) || s_write_pending (self, error) || s_sync (self, error))
        return -1;
    self->committed = self->written;
    self->group_bytes = self->bytes;
    self->group_records = self->records;
    return 0;
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

const char *
sf_journal_directory (sf_journal_t *self)
{
    assert (self);
    return self->directory;
}

//  --------------------------------------------------------------------------
//  Replace the system calls (NULL: the real ones).

void
sf_journal_set_io (sf_journal_t *self, const sf_journal_io_t *io)
{
    assert (self);
    if (io)
        self->io = *io;
    else {
        self->io.pwrite = s_real_pwrite;
        self->io.fdatasync = s_real_fdatasync;
    }
}

//  --------------------------------------------------------------------------
//  Compaction

//  Write the live set into fd (journal.compact) through a buffer. Sets
//  *bytes and *records. Returns 0, or -1 with error.
static int
s_write_live (sf_journal_t *self, int fd, sf_journal_live_fn *next, void *arg,
              uint64_t *bytes, uint64_t *records, sf_error_t *error)
{
    size_t capacity = S_WRITE_EARLY;
    uint8_t *buffer = (uint8_t *) malloc (capacity);
    assert (buffer);
    s_header (buffer);
    size_t used = S_HEADER_SIZE;
    uint64_t offset = 0;
    *records = 0;
    int rc = 0;
    while (rc == 0) {
        uint8_t type = 0;
        const void *payload = NULL;
        size_t size = 0;
        if (error)
            error->code [0] = 0;
        int more = next (arg, &type, &payload, &size, error);
        if (more < 0) {
            if (error && !error->code [0])
                sf_error_set (error, "STORE", "journal: compaction of %s stopped by its caller",
                              self->directory);
            rc = -1;
            break;
        }
        if (more == 0)
            break;
        if (type == 0 || size > SF_JOURNAL_MAX_PAYLOAD || (size && !payload)) {
            rc = sf_error_set (error, "STORE", "journal: compaction of %s was given a bad"
                               " record (type %u, %zu bytes)", self->directory, type, size);
            break;
        }
        size_t record_size = SF_JOURNAL_RECORD_OVERHEAD + size;
        if (used + record_size > capacity) {
            if (s_write_all (&self->io, fd, buffer, used, offset)) {
                rc = s_fail (error, "write to", self->compact_path);
                break;
            }
            offset += used;
            used = 0;
            if (record_size > capacity) {
                capacity = record_size;
                buffer = (uint8_t *) realloc (buffer, capacity);
                assert (buffer);
            }
        }
        uint8_t *record = buffer + used;
        s_put_u32 (record, (uint32_t) size);
        record [8] = type;
        if (size)
            memcpy (record + SF_JOURNAL_RECORD_OVERHEAD, payload, size);
        s_put_u32 (record + 4, s_record_crc (record, type, payload, size));
        used += record_size;
        (*records)++;
    }
    if (rc == 0 && used && s_write_all (&self->io, fd, buffer, used, offset))
        rc = s_fail (error, "write to", self->compact_path);
    free (buffer);
    *bytes = offset + used;
    return rc;
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
    int fd = open (self->compact_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return s_fail (error, "create", self->compact_path);
    uint64_t bytes = 0, records = 0;
    if (s_write_live (self, fd, next, arg, &bytes, &records, error)
    ||  (self->io.fdatasync (fd) && s_fail (error, "sync", self->compact_path))
    ||  (rename (self->compact_path, self->path) && s_fail (error, "rename", self->compact_path))) {
        close (fd);
        unlink (self->compact_path);
        return -1;
    }
    //  From here the new file is the journal: write to it, whatever follows
    close (self->fd);
    self->fd = fd;
    self->bytes = self->group_bytes = bytes;
    self->records = self->group_records = records;
    self->written = self->synced = self->committed = self->appended;
    if (s_sync_directory (self->directory)) {
        self->failed = true;
        return s_fail (error, "sync", self->directory);
    }
    return 0;
}
