/*  =========================================================================
    journal - how fast the broker's journal (sf_journal) appends, commits,
    replays and compacts

    Three measures, one line of JSON each:

    - append: N records of B bytes appended and committed in groups of G,
      once per sync mode (off, batch, always), each into a fresh journal;
      `always` syncs every group, so it runs --always-records records
      unless told otherwise. Seconds run from the first append to the last
      commit; `final_sync_s` is the sync that then makes everything durable.
    - replay: the N-record journal of the `off` run opened again, every
      record passed to a callback that reads its bytes; once with the file
      in the page cache (warm) and once after the file's pages were dropped
      (cold: posix_fadvise DONTNEED on that file only).
    - compact: that journal rewritten to its first --live records, as the
      broker would when dead records outweigh live ones.

    The directory (--dir, default a fresh one under $TMPDIR or /tmp) must be
    on the file system the broker would use: fsync on tmpfs costs nothing.
    ========================================================================= */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "sf_journal.h"

static long s_records = 1000000;        //  N
static long s_size = 200;               //  B
static long s_group = 100;              //  G
static long s_always_records = 20000;   //  N for sync always
static long s_batch_ms = 10;            //  Batch mode's window
static long s_live = 100000;            //  Live records kept by the compaction
static const char *s_modes = "off,batch,always";

static uint64_t s_syncs;                //  fdatasync calls through the journal

static int
s_counting_fdatasync (int fd)
{
    s_syncs++;
    return fdatasync (fd);
}

//  The real system calls but fdatasync, which is counted.
static const sf_journal_io_t s_counting_io = { .fdatasync = s_counting_fdatasync };

static double
s_seconds (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static void
s_die (const char *what, const sf_error_t *error)
{
    fprintf (stderr, "journal bench: %s: %s\n", what, error? error->message: strerror (errno));
    exit (1);
}

static int
s_remove_one (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void) info, (void) flag, (void) ftw;
    return remove (path);
}

//  --------------------------------------------------------------------------

static void
s_bench_append (const char *root, const char *mode_name, sf_journal_sync_t mode, long records)
{
    char dir [4096];
    snprintf (dir, sizeof dir, "%s/%s", root, mode_name);
    sf_error_t error;
    sf_journal_t *journal = sf_journal_new (dir, mode, (int) s_batch_ms, NULL, NULL, &error);
    if (!journal)
        s_die ("open", &error);
    sf_journal_set_io (journal, &s_counting_io);
    uint8_t *payload = (uint8_t *) malloc ((size_t) s_size);
    s_syncs = 0;
    double start = s_seconds ();
    for (long i = 0; i < records; i++) {
        memset (payload, (int) (i & 0xff), (size_t) s_size);
        memcpy (payload, &i, sizeof i < (size_t) s_size? sizeof i: (size_t) s_size);
        if (!sf_journal_append (journal, 1, payload, (size_t) s_size, &error))
            s_die ("append", &error);
        if ((i + 1) % s_group == 0 || i + 1 == records)
            if (sf_journal_commit (journal, &error))
                s_die ("commit", &error);
    }
    double seconds = s_seconds () - start;
    uint64_t durable = sf_journal_durable (journal);
    uint64_t syncs = s_syncs;
    start = s_seconds ();
    if (sf_journal_sync (journal, &error))
        s_die ("sync", &error);
    double final_sync = s_seconds () - start;
    uint64_t bytes = sf_journal_bytes (journal);
    sf_journal_destroy (&journal);
    free (payload);
    char window [32] = "";
    if (mode == SF_JOURNAL_SYNC_BATCH)
        snprintf (window, sizeof window, ",\"batch_ms\":%ld", s_batch_ms);
    printf ("{\"measure\":\"append\",\"sync\":\"%s\"%s,\"records\":%ld,\"record_bytes\":%ld,"
            "\"group\":%ld,\"seconds\":%.3f,\"records_per_s\":%.0f,\"mb_per_s\":%.1f,"
            "\"commits_per_s\":%.0f,\"syncs\":%" PRIu64 ",\"durable_at_end\":%" PRIu64
            ",\"final_sync_s\":%.3f,\"file_bytes\":%" PRIu64 "}\n",
            mode_name, window, records, s_size, s_group, seconds, (double) records / seconds,
            (double) bytes / seconds / 1e6, (double) records / (double) s_group / seconds,
            syncs, durable, final_sync, bytes);
    fflush (stdout);
}

//  Reads every byte of each record, as a decoder of the payload would.
static int
s_touch (uint8_t type, const void *payload, size_t size, void *arg, sf_error_t *error)
{
    (void) error;
    uint64_t *sum = (uint64_t *) arg;
    const uint8_t *bytes = (const uint8_t *) payload;
    for (size_t n = 0; n < size; n++)
        *sum += bytes [n];
    *sum += type;
    return 0;
}

static void
s_bench_replay (const char *dir, const char *label)
{
    sf_error_t error;
    uint64_t sum = 0;
    double start = s_seconds ();
    sf_journal_t *journal = sf_journal_new (dir, SF_JOURNAL_SYNC_OFF, 0, s_touch, &sum, &error);
    if (!journal)
        s_die ("open", &error);
    double seconds = s_seconds () - start;
    uint64_t records = sf_journal_replayed (journal);
    uint64_t bytes = sf_journal_bytes (journal);
    sf_journal_destroy (&journal);
    printf ("{\"measure\":\"replay\",\"cache\":\"%s\",\"records\":%" PRIu64 ",\"file_bytes\":%"
            PRIu64 ",\"seconds\":%.3f,\"records_per_s\":%.0f,\"mb_per_s\":%.1f}\n", label,
            records, bytes, seconds, (double) records / seconds, (double) bytes / seconds / 1e6);
    fflush (stdout);
}

//  Drop the journal file's pages from the page cache (this file only).
static void
s_drop_cache (const char *dir)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/journal", dir);
    int fd = open (path, O_RDONLY);
    if (fd < 0 || fdatasync (fd) || posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED))
        s_die ("drop cache", NULL);
    close (fd);
}

//  The live set: the first s_live records, rebuilt as the bench wrote them.
typedef struct {
    long next;                  //  Next record index
    uint8_t *payload;           //  Its bytes
} s_live_t;

static int
s_next_live (void *arg, uint8_t *type, const void **payload, size_t *size, sf_error_t *error)
{
    (void) error;
    s_live_t *live = (s_live_t *) arg;
    if (live->next >= s_live)
        return 0;
    long i = live->next++;
    memset (live->payload, (int) (i & 0xff), (size_t) s_size);
    memcpy (live->payload, &i, sizeof i < (size_t) s_size? sizeof i: (size_t) s_size);
    *type = 1;
    *payload = live->payload;
    *size = (size_t) s_size;
    return 1;
}

static void
s_bench_compact (const char *dir)
{
    sf_error_t error;
    sf_journal_t *journal = sf_journal_new (dir, SF_JOURNAL_SYNC_ALWAYS, 0, NULL, NULL, &error);
    if (!journal)
        s_die ("open", &error);
    uint64_t before = sf_journal_bytes (journal);
    s_live_t live = { 0, (uint8_t *) malloc ((size_t) s_size) };
    double start = s_seconds ();
    if (sf_journal_compact (journal, s_next_live, &live, &error))
        s_die ("compact", &error);
    double seconds = s_seconds () - start;
    printf ("{\"measure\":\"compact\",\"live_records\":%ld,\"bytes_before\":%" PRIu64
            ",\"bytes_after\":%" PRIu64 ",\"seconds\":%.3f}\n", s_live, before,
            sf_journal_bytes (journal), seconds);
    fflush (stdout);
    sf_journal_destroy (&journal);
    free (live.payload);
}

//  --------------------------------------------------------------------------

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: journal [--records N] [--size BYTES] [--group G] [--always-records N]\n"
        "               [--batch-ms MS] [--live N] [--modes off,batch,always] [--dir DIR]\n"
        "Appends N records of BYTES bytes in commits of G per sync mode, replays the\n"
        "N-record journal warm and cold, compacts it to its first --live records.\n"
        "--dir: where the journals go (default a fresh directory under $TMPDIR or /tmp,\n"
        "removed at the end; a given one is kept).\n");
}

int
main (int argc, char *argv [])
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        long *number = NULL, min = 1, max = 100000000;
        if (!strcmp (argv [i], "--help") || !strcmp (argv [i], "-h")) {
            s_usage (stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            s_usage (stderr);
            return 64;
        }
        const char *value = argv [++i];
        if (!strcmp (argv [i - 1], "--records"))
            number = &s_records;
        else if (!strcmp (argv [i - 1], "--size")) {
            number = &s_size;
            min = 0;
            max = SF_JOURNAL_MAX_PAYLOAD;
        }
        else if (!strcmp (argv [i - 1], "--group"))
            number = &s_group;
        else if (!strcmp (argv [i - 1], "--always-records"))
            number = &s_always_records;
        else if (!strcmp (argv [i - 1], "--batch-ms")) {
            number = &s_batch_ms;
            max = 60000;
        }
        else if (!strcmp (argv [i - 1], "--live"))
            number = &s_live;
        else if (!strcmp (argv [i - 1], "--modes")) {
            s_modes = value;
            continue;
        }
        else if (!strcmp (argv [i - 1], "--dir")) {
            dir = value;
            continue;
        }
        else {
            s_usage (stderr);
            return 64;
        }
        if (bench_parse_long (value, min, max, number)) {
            fprintf (stderr, "journal bench: bad value for %s: %s\n", argv [i - 1], value);
            return 64;
        }
    }
    if (s_live > s_records)
        s_live = s_records;

    char root [2048];
    bool own = !dir;
    if (own) {
        const char *tmp = getenv ("TMPDIR");
        snprintf (root, sizeof root, "%s/sheaf-bench-journal-XXXXXX", tmp && *tmp? tmp: "/tmp");
        if (!mkdtemp (root))
            s_die (root, NULL);
    }
    else
        snprintf (root, sizeof root, "%s", dir);

    static const struct {
        const char *name;
        sf_journal_sync_t mode;
    } modes [] = {
        { "off", SF_JOURNAL_SYNC_OFF },
        { "batch", SF_JOURNAL_SYNC_BATCH },
        { "always", SF_JOURNAL_SYNC_ALWAYS },
    };
    bool replayed = false;
    for (size_t m = 0; m < 3; m++) {
        if (!strstr (s_modes, modes [m].name))
            continue;
        long records = modes [m].mode == SF_JOURNAL_SYNC_ALWAYS? s_always_records: s_records;
        s_bench_append (root, modes [m].name, modes [m].mode, records);
    }
    if (strstr (s_modes, "off")) {
        char off [2100];
        snprintf (off, sizeof off, "%s/off", root);
        s_bench_replay (off, "warm");
        s_drop_cache (off);
        s_bench_replay (off, "cold");
        s_bench_compact (off);
        replayed = true;
    }
    if (!replayed)
        fprintf (stderr, "journal bench: replay and compaction need the off run\n");
    if (own)
        nftw (root, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
