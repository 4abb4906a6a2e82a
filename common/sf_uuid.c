/*  =========================================================================
    sf_uuid - UUIDv7 job ids (RFC 9562)

    Layout: 48 bits of Unix milliseconds, version 7, a 12-bit counter that
    restarts at a random value each new millisecond (so ids stay ordered
    within a millisecond), variant 10, then 62 random bits. Random bytes
    come from getrandom() in blocks to keep the syscall off the hot path
    (from /dev/urandom where the kernel refuses getrandom).
    ========================================================================= */

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "sf_alloc.h"
#include "sf_uuid.h"

//  Generator state, shared by the threads of a process under s_lock.
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t s_last_ms;      //  Millisecond of the last id
static uint16_t s_counter;      //  12-bit counter within s_last_ms
static uint8_t s_pool [4096];   //  Random bytes not handed out yet
static size_t s_pool_used = sizeof s_pool;

//  Fill the pool from /dev/urandom. Returns 0, or -1 with errno set.
static int
s_fill_from_device (void)
{
    int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t filled = 0;
    while (filled < sizeof s_pool) {
        ssize_t rc = read (fd, s_pool + filled, sizeof s_pool - filled);
        if (rc > 0)
            filled += (size_t) rc;
        else
        if (rc == 0 || errno != EINTR) {
            int saved = rc == 0? EIO: errno;
            close (fd);
            errno = saved;
            return -1;
        }
    }
    close (fd);
    return 0;
}

//  Fill the pool: getrandom, tried again only when a signal interrupted it
//  or entropy is not there yet (EINTR, EAGAIN); any other error (ENOSYS
//  on an old kernel, EPERM under a seccomp filter) falls back to
//  /dev/urandom. Without random bytes ids could repeat: that ends the
//  process with a message rather than looping or handing out stale bytes.
static void
s_fill (void)
{
    size_t filled = 0;
    while (filled < sizeof s_pool) {
        ssize_t rc = getrandom (s_pool + filled, sizeof s_pool - filled, 0);
        if (rc > 0)
            filled += (size_t) rc;
        else
        if (rc < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        else
        if (s_fill_from_device () == 0)
            return;
        else {
            char message [160];
            int length = snprintf (message, sizeof message,
                                   "sheaf: no random bytes for job ids (getrandom and "
                                   "/dev/urandom: %s); aborting\n", strerror (errno));
            if (length > 0) {
                ssize_t written = write (STDERR_FILENO, message, (size_t) length);
                (void) written;     //  Aborting either way
            }
            abort ();
        }
    }
}

static void
s_random (uint8_t *out, size_t size)
{
    if (s_pool_used + size > sizeof s_pool) {
        s_fill ();
        s_pool_used = 0;
    }
    memcpy (out, s_pool + s_pool_used, size);
    s_pool_used += size;
}

//  A forked child must not hand out the random bytes its parent will use:
//  it starts with an empty pool.
static void
s_forked (void)
{
    s_pool_used = sizeof s_pool;
}

static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_register_fork_handler (void)
{
    pthread_atfork (NULL, NULL, s_forked);
}

//  --------------------------------------------------------------------------
//  Make a new UUIDv7.

void
sf_uuid_v7 (uint8_t id[SF_UUID_SIZE])
{
    pthread_once (&s_once, s_register_fork_handler);
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;

    pthread_mutex_lock (&s_lock);
    uint8_t rnd [10];
    s_random (rnd, sizeof rnd);
    if (ms > s_last_ms) {
        s_last_ms = ms;
        s_counter = ((uint16_t) rnd [0] << 8 | rnd [1]) & 0x7FF;   //  leave headroom
    }
    else
    if (++s_counter > 0xFFF) {
        //  Counter exhausted or clock went back: borrow the next millisecond
        s_last_ms++;
        s_counter = 0;
    }
    ms = s_last_ms;
    uint16_t counter = s_counter;
    pthread_mutex_unlock (&s_lock);

    for (int i = 0; i < 6; i++)
        id [i] = (uint8_t) (ms >> (40 - 8 * i));
    id [6] = 0x70 | (uint8_t) (counter >> 8);
    id [7] = (uint8_t) counter;
    memcpy (id + 8, rnd + 2, 8);
    id [8] = 0x80 | (id [8] & 0x3F);
}

//  --------------------------------------------------------------------------
//  Canonical text form.

void
sf_uuid_str (const uint8_t id[SF_UUID_SIZE], char out[SF_UUID_STRLEN + 1])
{
    static const char hex [] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < SF_UUID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex [id [i] >> 4];
        *p++ = hex [id [i] & 15];
    }
    *p = 0;
}

static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

//  --------------------------------------------------------------------------
//  Parse the canonical text form; 0 or -1.

int
sf_uuid_parse (const char *text, uint8_t id[SF_UUID_SIZE])
{
    if (!text || strlen (text) != SF_UUID_STRLEN)
        return -1;
    const char *p = text;
    for (int i = 0; i < SF_UUID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (*p++ != '-')
                return -1;
        }
        int hi = s_hexval (p [0]), lo = s_hexval (p [1]);
        if (hi < 0 || lo < 0)
            return -1;
        id [i] = (uint8_t) (hi << 4 | lo);
        p += 2;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Unix milliseconds in a UUIDv7.

uint64_t
sf_uuid_ms (const uint8_t id[SF_UUID_SIZE])
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | id [i];
    return ms;
}

//  --------------------------------------------------------------------------
//  Hash of an id: its last 8 bytes are random, so they are the hash.

size_t
sf_uuid_hash (const uint8_t id[SF_UUID_SIZE])
{
    uint64_t h;
    memcpy (&h, id + 8, 8);
    //  Mix in the counter and time so ids from other generators spread too
    uint64_t t;
    memcpy (&t, id, 8);
    h ^= t * 0x9E3779B97F4A7C15ull;
    return (size_t) (h ^ (h >> 29));
}

//  --------------------------------------------------------------------------
//  zhashx callbacks for id keys.

static size_t
s_table_hash (const void *key)
{
    return sf_uuid_hash ((const uint8_t *) key);
}

static int
s_table_compare (const void *a, const void *b)
{
    return memcmp (a, b, SF_UUID_SIZE);
}

static void *
s_table_dup (const void *key)
{
    void *copy = sf_alloc (SF_UUID_SIZE);
    memcpy (copy, key, SF_UUID_SIZE);
    return copy;
}

static void
s_table_free (void **key)
{
    free (*key);
    *key = NULL;
}

zhashx_t *
sf_uuid_table (bool copy_keys)
{
    zhashx_t *table = zhashx_new ();
    zhashx_set_key_hasher (table, s_table_hash);
    zhashx_set_key_comparator (table, s_table_compare);
    zhashx_set_key_duplicator (table, copy_keys? s_table_dup: NULL);
    zhashx_set_key_destructor (table, copy_keys? s_table_free: NULL);
    return table;
}
