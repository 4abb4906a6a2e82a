/*  =========================================================================
    driver - runs a fuzz target as a plain program, without libFuzzer

    Under `make check` every tests/fuzz/fuzz_<name>.c is linked with this
    file. The driver calls the target's LLVMFuzzerTestOneInput on each
    seed in tests/fuzz/corpus/<name>/ (name: the basename of argv[0]; the
    tree is found through $SHEAF_SRC, default the current directory), and
    then on deterministic pseudo-random mutations of those seeds: bit
    flips, interesting bytes, truncations, inserts, deletions, duplicated
    chunks, splices of two seeds, and tweaks of msgpack length fields (the
    lies a decoder must catch). The same build always runs the same
    inputs, so a failure found here is reproducible.

    Each input is passed in a heap block of exactly its size, so that an
    over-read shows under ASan. When an input crashes the target it is
    written to crash-<name> in $SHEAF_BUILD (the build tree `make check`
    runs from) or else the current directory, before the process dies;
    run `fuzz_<name> crash-<name>` to replay it (with file arguments the
    driver runs only those files).

    Environment:
        SHEAF_SRC           source tree holding tests/fuzz/corpus (".")
        SHEAF_BUILD         where a crashing input is written (".")
        SHEAF_FUZZ_RUNS     mutations to run (20000)
        SHEAF_FUZZ_SECONDS  stop mutating after this long (10)
        SHEAF_FUZZ_SEED     seed of the mutation generator (1)

    Exit status: 0 when every input ran, 2 when the corpus is missing or
    empty (a misplaced SHEAF_SRC must not pass silently).

    With clang -fsanitize=fuzzer (`make fuzz`) libFuzzer provides main and
    this file is not used.
    ========================================================================= */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

//  The target under test.
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Present when a sanitizer runtime is linked in (ASan, UBSan), which
//  then handles the fatal signals itself.
extern void __sanitizer_set_death_callback (void (*callback) (void)) __attribute__ ((weak));

//  Sanitizer defaults for this program (the environment still overrides
//  them): end with abort() after a report, so that the SIGABRT handler
//  below saves the input. A death callback would not do: with GCC, ASan
//  and UBSan are two runtimes and each keeps its own callback.
const char *__asan_default_options (void);
const char *__ubsan_default_options (void);

const char *
__asan_default_options (void)
{
    return "abort_on_error=1";
}

const char *
__ubsan_default_options (void)
{
    return "abort_on_error=1:print_stacktrace=1";
}

#define S_MAX_INPUT (1024 * 1024)   //  Mutations never grow an input past this

//  A seed: one file of the corpus.
typedef struct {
    char *name;                 //  File name within the corpus
    uint8_t *data;              //  Its bytes
    size_t size;                //  Their number
} s_seed_t;

//  The input being run, for the crash handlers.
static const uint8_t *s_current;
static size_t s_current_size;
static char s_crash_path [4096];        //  Where a crashing input is written

//  --------------------------------------------------------------------------
//  Crash capture: write the current input out, async-signal-safely.

static void
s_save_current (void)
{
    if (!s_current)
        return;
    int fd = open (s_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        size_t done = 0;
        while (done < s_current_size) {
            ssize_t rc = write (fd, s_current + done, s_current_size - done);
            if (rc <= 0)
                break;
            done += (size_t) rc;
        }
        close (fd);
        const char *note = "fuzz driver: crashing input written to ";
        if (write (STDERR_FILENO, note, strlen (note)) < 0
        ||  write (STDERR_FILENO, s_crash_path, strlen (s_crash_path)) < 0
        ||  write (STDERR_FILENO, "\n", 1) < 0)
            return;
    }
    s_current = NULL;
}

static void
s_on_signal (int signum)
{
    s_save_current ();
    signal (signum, SIG_DFL);
    raise (signum);
}

//  --------------------------------------------------------------------------
//  Run one input through the target, in an exact-size heap copy.

static void
s_run (const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc (size? size: 1);
    if (!copy)
        abort ();
    if (size)
        memcpy (copy, data, size);
    s_current = copy;
    s_current_size = size;
    LLVMFuzzerTestOneInput (copy, size);
    s_current = NULL;
    free (copy);
}

//  Read a whole file; returns 0 or -1.
static int
s_read_file (const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    size_t capacity = 4096, used = 0;
    uint8_t *buffer = malloc (capacity);
    size_t got;
    while (buffer && (got = fread (buffer + used, 1, capacity - used, file)) > 0) {
        used += got;
        if (used == capacity) {
            capacity *= 2;
            uint8_t *bigger = realloc (buffer, capacity);
            if (!bigger)
                free (buffer);
            buffer = bigger;
        }
    }
    bool failed = !buffer || ferror (file);
    fclose (file);
    if (failed) {
        free (buffer);
        return -1;
    }
    *data = buffer;
    *size = used;
    return 0;
}

static int
s_compare_seeds (const void *a, const void *b)
{
    return strcmp (((const s_seed_t *) a)->name, ((const s_seed_t *) b)->name);
}

//  Load every regular file of directory, sorted by name. Returns the
//  number loaded, or -1 if the directory cannot be read.
static int
s_load_corpus (const char *directory, s_seed_t **seeds)
{
    DIR *dir = opendir (directory);
    if (!dir)
        return -1;
    int count = 0, capacity = 16;
    *seeds = malloc ((size_t) capacity * sizeof **seeds);
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char path [4096];
        int length = snprintf (path, sizeof path, "%s/%s", directory, entry->d_name);
        if (length < 0 || (size_t) length >= sizeof path)
            continue;
        struct stat info;
        if (stat (path, &info) || !S_ISREG (info.st_mode))
            continue;
        s_seed_t seed = { strdup (entry->d_name), NULL, 0 };
        if (s_read_file (path, &seed.data, &seed.size)) {
            fprintf (stderr, "fuzz driver: cannot read %s: %s\n", path, strerror (errno));
            free (seed.name);
            continue;
        }
        if (count == capacity) {
            capacity *= 2;
            *seeds = realloc (*seeds, (size_t) capacity * sizeof **seeds);
        }
        (*seeds) [count++] = seed;
    }
    closedir (dir);
    qsort (*seeds, (size_t) count, sizeof **seeds, s_compare_seeds);
    return count;
}

//  --------------------------------------------------------------------------
//  Deterministic mutations.

//  xorshift64*: small, fast, and the same sequence on every platform.
static uint64_t s_rng_state;

static uint64_t
s_rng (void)
{
    s_rng_state ^= s_rng_state >> 12;
    s_rng_state ^= s_rng_state << 25;
    s_rng_state ^= s_rng_state >> 27;
    return s_rng_state * 0x2545F4914F6CDD1Dull;
}

//  A number in [0, bound); bound must be above 0.
static size_t
s_below (size_t bound)
{
    return (size_t) (s_rng () % bound);
}

//  Bytes that mean something to msgpack or JSON.
static const uint8_t s_interesting [] = {
    0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
    0xc4, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcf, 0xd0, 0xd3, 0xd4, 0xd8, 0xd9,
    0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
    '{', '}', '[', ']', '"', ':', ',', '\\', '-', '0', '9', 'e', '.', 'n', 't', 'f'
};

//  Width of the length field that follows format byte b (0 if none), and
//  for the fix formats the mask of the length in b itself.
static int
s_length_width (uint8_t b, uint8_t *fix_mask)
{
    *fix_mask = 0;
    if (b >= 0x80 && b <= 0x9f)
        *fix_mask = 0x0f;               //  fixmap, fixarray
    else
    if (b >= 0xa0 && b <= 0xbf)
        *fix_mask = 0x1f;               //  fixstr
    switch (b) {
        case 0xc4: case 0xc7: case 0xd9: return 1;
        case 0xc5: case 0xc8: case 0xda: case 0xdc: case 0xde: return 2;
        case 0xc6: case 0xc9: case 0xdb: case 0xdd: case 0xdf: return 4;
        default: return 0;
    }
}

//  Change the length of some msgpack value in data: plus or minus one,
//  zero, or the largest value its field can hold. Returns 0, or -1 if no
//  length-bearing format byte was found.
static int
s_tweak_length (uint8_t *data, size_t size)
{
    if (size == 0)
        return -1;
    size_t start = s_below (size);
    for (size_t n = 0; n < size; n++) {
        size_t at = (start + n) % size;
        uint8_t fix_mask;
        int width = s_length_width (data [at], &fix_mask);
        if (fix_mask) {
            uint8_t length = data [at] & fix_mask;
            switch (s_below (4)) {
                case 0: length++; break;
                case 1: length--; break;
                case 2: length = 0; break;
                default: length = fix_mask;
            }
            data [at] = (uint8_t) ((data [at] & ~fix_mask) | (length & fix_mask));
            return 0;
        }
        if (width && at + 1 + (size_t) width <= size) {
            uint64_t length = 0;
            for (int i = 0; i < width; i++)
                length = length << 8 | data [at + 1 + i];
            switch (s_below (5)) {
                case 0: length++; break;
                case 1: length--; break;
                case 2: length = 0; break;
                case 3: length = UINT64_MAX; break;
                default: length = s_rng ();
            }
            for (int i = width - 1; i >= 0; i--) {
                data [at + 1 + i] = (uint8_t) length;
                length >>= 8;
            }
            return 0;
        }
    }
    return -1;
}

//  Apply one random mutation to data (size *size, room for capacity
//  bytes); other is a second seed for splicing.
static void
s_mutate_once (uint8_t *data, size_t *size, size_t capacity, const s_seed_t *other)
{
    size_t n = *size;
    switch (s_below (9)) {
        case 0:                         //  Flip a bit
            if (n)
                data [s_below (n)] ^= (uint8_t) (1u << s_below (8));
            break;
        case 1:                         //  An interesting byte
            if (n)
                data [s_below (n)] = s_interesting [s_below (sizeof s_interesting)];
            break;
        case 2:                         //  Truncate
            if (n)
                *size = s_below (n);
            break;
        case 3:                         //  Insert a byte
            if (n < capacity) {
                size_t at = s_below (n + 1);
                memmove (data + at + 1, data + at, n - at);
                data [at] = s_below (2)? (uint8_t) s_rng ()
                                       : s_interesting [s_below (sizeof s_interesting)];
                *size = n + 1;
            }
            break;
        case 4:                         //  Delete a range
            if (n) {
                size_t at = s_below (n);
                size_t length = 1 + s_below (n - at < 16? n - at: 16);
                memmove (data + at, data + at + length, n - at - length);
                *size = n - length;
            }
            break;
        case 5:                         //  Duplicate a chunk
            if (n && n < capacity) {
                size_t from = s_below (n);
                size_t length = 1 + s_below (n - from);
                if (length > capacity - n)
                    length = capacity - n;
                uint8_t *chunk = malloc (length);
                if (!chunk)
                    abort ();
                memcpy (chunk, data + from, length);
                size_t to = s_below (n + 1);
                memmove (data + to + length, data + to, n - to);
                memcpy (data + to, chunk, length);
                free (chunk);
                *size = n + length;
            }
            break;
        case 6:                         //  Splice: our head, another seed's tail
            if (other->size) {
                size_t keep = s_below (n + 1);
                size_t from = s_below (other->size);
                size_t length = other->size - from;
                if (keep + length > capacity)
                    length = capacity - keep;
                memcpy (data + keep, other->data + from, length);
                *size = keep + length;
            }
            break;
        default:                        //  Lie about a length (twice as likely)
            if (s_tweak_length (data, n) && n)
                data [s_below (n)] ^= 0xff;
            break;
    }
}

//  --------------------------------------------------------------------------

static double
s_seconds (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static long
s_env_long (const char *name, long fallback)
{
    const char *text = getenv (name);
    if (!text || !*text)
        return fallback;
    char *end;
    long value = strtol (text, &end, 10);
    return *end || value < 0? fallback: value;
}

int
main (int argc, char *argv [])
{
    const char *target = strrchr (argv [0], '/');
    target = target? target + 1: argv [0];
    const char *build = getenv ("SHEAF_BUILD");
    struct stat info;
    if (!build || stat (build, &info) || !S_ISDIR (info.st_mode))
        build = ".";
    int length = snprintf (s_crash_path, sizeof s_crash_path, "%s/crash-%s", build, target);
    if (length < 0 || (size_t) length >= sizeof s_crash_path)
        snprintf (s_crash_path, sizeof s_crash_path, "crash-fuzz");

    //  Capture the crashing input. A sanitizer runtime reports faults
    //  itself and then aborts; without one, fatal signals are caught here.
    if (!__sanitizer_set_death_callback) {
        signal (SIGSEGV, s_on_signal);
        signal (SIGBUS, s_on_signal);
        signal (SIGILL, s_on_signal);
        signal (SIGFPE, s_on_signal);
    }
    signal (SIGABRT, s_on_signal);

    //  Replay mode: run exactly the files given
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            uint8_t *data;
            size_t size;
            if (s_read_file (argv [i], &data, &size)) {
                fprintf (stderr, "%s: cannot read %s\n", target, argv [i]);
                return 2;
            }
            s_run (data, size);
            free (data);
            printf ("%s: %s ran (%zu bytes)\n", target, argv [i], size);
        }
        return 0;
    }

    const char *source = getenv ("SHEAF_SRC");
    if (!source || !*source)
        source = ".";
    char directory [4096];
    length = snprintf (directory, sizeof directory, "%s/tests/fuzz/corpus/%s",
                           source, target);
    if (length < 0 || (size_t) length >= sizeof directory) {
        fprintf (stderr, "%s: SHEAF_SRC is too long\n", target);
        return 2;
    }
    s_seed_t *seeds = NULL;
    int count = s_load_corpus (directory, &seeds);
    if (count <= 0) {
        fprintf (stderr, "%s: no seeds in %s (%s); set SHEAF_SRC to the source tree\n",
                 target, directory, count < 0? strerror (errno): "empty");
        free (seeds);
        return 2;
    }

    double start = s_seconds ();
    for (int i = 0; i < count; i++)
        s_run (seeds [i].data, seeds [i].size);

    long runs = s_env_long ("SHEAF_FUZZ_RUNS", 20000);
    long limit = s_env_long ("SHEAF_FUZZ_SECONDS", 10);
    s_rng_state = (uint64_t) s_env_long ("SHEAF_FUZZ_SEED", 1) * 0x9E3779B97F4A7C15ull + 1;
    size_t largest = 0;
    for (int i = 0; i < count; i++)
        if (seeds [i].size > largest)
            largest = seeds [i].size;
    size_t capacity = largest * 2 + 256;
    if (capacity > S_MAX_INPUT)
        capacity = S_MAX_INPUT;
    uint8_t *data = malloc (capacity);
    long done = 0;
    for (; done < runs; done++) {
        if ((done & 63) == 0 && s_seconds () - start > (double) limit)
            break;
        const s_seed_t *seed = &seeds [s_below ((size_t) count)];
        const s_seed_t *other = &seeds [s_below ((size_t) count)];
        size_t size = seed->size < capacity? seed->size: capacity;
        memcpy (data, seed->data, size);
        int mutations = 1 + (int) s_below (4);
        for (int m = 0; m < mutations; m++)
            s_mutate_once (data, &size, capacity, other);
        s_run (data, size);
    }
    double elapsed = s_seconds () - start;
    printf ("%s: %d seeds, %ld of %ld mutations in %.2f s%s\n", target, count, done, runs,
            elapsed, done < runs? " (time limit reached)": "");

    free (data);
    for (int i = 0; i < count; i++) {
        free (seeds [i].name);
        free (seeds [i].data);
    }
    free (seeds);
    return 0;
}
