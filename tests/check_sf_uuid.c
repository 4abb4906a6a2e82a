/*  =========================================================================
    check_sf_uuid - tests of sf_uuid, the UUIDv7 job ids (RFC 9562)

    Ids must carry version 7 and variant 10, hold the current Unix
    milliseconds, and be strictly increasing within a process, also when
    many are made in one millisecond and when several threads make them.
    The text form is the canonical 8-4-4-4-12 lower-case hex; parsing
    accepts either case and nothing else. Where getrandom is refused the
    ids come from /dev/urandom; with no randomness at all the process
    aborts rather than loop.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include "sf_uuid.h"

//  Current Unix time in milliseconds.
static uint64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

//  --------------------------------------------------------------------------
//  Layout.

START_TEST (test_version_and_variant)
{
    for (int i = 0; i < 10000; i++) {
        uint8_t id [SF_UUID_SIZE];
        sf_uuid_v7 (id);
        ck_assert_msg ((id [6] >> 4) == 7, "version nibble is %d", id [6] >> 4);
        ck_assert_msg ((id [8] >> 6) == 2, "variant bits are %d", id [8] >> 6);
    }
}
END_TEST

START_TEST (test_timestamp)
{
    uint64_t before = s_now_ms ();
    uint8_t id [SF_UUID_SIZE];
    sf_uuid_v7 (id);
    uint64_t after = s_now_ms ();
    uint64_t ms = sf_uuid_ms (id);
    //  A borrowed millisecond (counter overflow) may put an id a little
    //  ahead of the clock, never behind it
    ck_assert_uint_ge (ms, before);
    ck_assert_uint_le (ms, after + 50);
}
END_TEST

//  The random tail differs between ids (62 random bits; a repeat within a
//  thousand ids would mean the generator hands out the same bytes twice).
START_TEST (test_random_tail)
{
    enum { COUNT = 1000 };
    static uint8_t ids [COUNT][SF_UUID_SIZE];
    for (int i = 0; i < COUNT; i++)
        sf_uuid_v7 (ids [i]);
    for (int i = 0; i < COUNT; i++)
        for (int j = 0; j < i; j++)
            ck_assert_msg (memcmp (ids [i] + 8, ids [j] + 8, 8) != 0,
                           "ids %d and %d share their random bits", i, j);
}
END_TEST

//  --------------------------------------------------------------------------
//  Order.

START_TEST (test_strictly_increasing)
{
    enum { COUNT = 100000 };
    uint8_t previous [SF_UUID_SIZE], id [SF_UUID_SIZE];
    sf_uuid_v7 (previous);
    uint64_t first_ms = sf_uuid_ms (previous);
    for (int i = 1; i < COUNT; i++) {
        sf_uuid_v7 (id);
        ck_assert_msg (memcmp (previous, id, SF_UUID_SIZE) < 0, "id %d is not above id %d",
                       i, i - 1);
        //  Text order is byte order, so ids also sort as strings
        char a [SF_UUID_STRLEN + 1], b [SF_UUID_STRLEN + 1];
        sf_uuid_str (previous, a);
        sf_uuid_str (id, b);
        ck_assert_msg (strcmp (a, b) < 0, "%s is not below %s", a, b);
        memcpy (previous, id, SF_UUID_SIZE);
    }
    //  100k ids in a few hundred milliseconds need the in-millisecond
    //  counter; the clock must not have been run far ahead by it
    ck_assert_uint_le (sf_uuid_ms (previous), s_now_ms () + 50);
    ck_assert_uint_ge (sf_uuid_ms (previous), first_ms);
}
END_TEST

//  Threads share one generator: all ids are distinct and each thread's
//  own ids increase.
enum { S_THREADS = 4, S_PER_THREAD = 20000 };
static uint8_t s_thread_ids [S_THREADS][S_PER_THREAD][SF_UUID_SIZE];

static void *
s_thread_make (void *arg)
{
    uint8_t (*ids) [SF_UUID_SIZE] = arg;
    for (int i = 0; i < S_PER_THREAD; i++)
        sf_uuid_v7 (ids [i]);
    return NULL;
}

static int
s_compare_ids (const void *a, const void *b)
{
    return memcmp (a, b, SF_UUID_SIZE);
}

START_TEST (test_threads)
{
    pthread_t threads [S_THREADS];
    for (int t = 0; t < S_THREADS; t++)
        ck_assert_int_eq (pthread_create (&threads [t], NULL, s_thread_make,
                                          s_thread_ids [t]), 0);
    for (int t = 0; t < S_THREADS; t++)
        pthread_join (threads [t], NULL);
    for (int t = 0; t < S_THREADS; t++)
        for (int i = 1; i < S_PER_THREAD; i++)
            ck_assert (memcmp (s_thread_ids [t][i - 1], s_thread_ids [t][i], SF_UUID_SIZE) < 0);
    qsort (s_thread_ids, S_THREADS * S_PER_THREAD, SF_UUID_SIZE, s_compare_ids);
    uint8_t (*all) [SF_UUID_SIZE] = &s_thread_ids [0][0];
    for (int i = 1; i < S_THREADS * S_PER_THREAD; i++)
        ck_assert_msg (memcmp (all [i - 1], all [i], SF_UUID_SIZE) != 0, "duplicate id");
}
END_TEST

//  --------------------------------------------------------------------------
//  Text form.

//  RFC 9562 appendix A.6, the UUIDv7 example: 2022-02-22 19:22:22 UTC.
static const char *s_rfc_text = "017f22e2-79b0-7cc3-98c4-dc0c0c07398f";
static const uint8_t s_rfc_id [SF_UUID_SIZE] = {
    0x01, 0x7f, 0x22, 0xe2, 0x79, 0xb0, 0x7c, 0xc3,
    0x98, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f
};

START_TEST (test_str_known)
{
    char text [SF_UUID_STRLEN + 1];
    memset (text, 'x', sizeof text);
    sf_uuid_str (s_rfc_id, text);
    ck_assert_str_eq (text, s_rfc_text);
    ck_assert_uint_eq (sf_uuid_ms (s_rfc_id), 1645557742000ull);
}
END_TEST

START_TEST (test_str_shape)
{
    for (int n = 0; n < 1000; n++) {
        uint8_t id [SF_UUID_SIZE];
        sf_uuid_v7 (id);
        char text [SF_UUID_STRLEN + 1];
        sf_uuid_str (id, text);
        ck_assert_uint_eq (strlen (text), SF_UUID_STRLEN);
        for (int i = 0; i < SF_UUID_STRLEN; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                ck_assert_int_eq (text [i], '-');
            else
                ck_assert_msg ((text [i] >= '0' && text [i] <= '9')
                            || (text [i] >= 'a' && text [i] <= 'f'),
                               "%s: character %d is not lower-case hex", text, i);
        }
        ck_assert_int_eq (text [14], '7');
        ck_assert_ptr_nonnull (strchr ("89ab", text [19]));
    }
}
END_TEST

START_TEST (test_parse_round_trip)
{
    for (int n = 0; n < 1000; n++) {
        uint8_t id [SF_UUID_SIZE], back [SF_UUID_SIZE];
        sf_uuid_v7 (id);
        char text [SF_UUID_STRLEN + 1];
        sf_uuid_str (id, text);
        ck_assert_int_eq (sf_uuid_parse (text, back), 0);
        ck_assert_mem_eq (back, id, SF_UUID_SIZE);
    }
    uint8_t id [SF_UUID_SIZE];
    ck_assert_int_eq (sf_uuid_parse (s_rfc_text, id), 0);
    ck_assert_mem_eq (id, s_rfc_id, SF_UUID_SIZE);
    //  Either case
    ck_assert_int_eq (sf_uuid_parse ("017F22E2-79B0-7CC3-98C4-DC0C0C07398F", id), 0);
    ck_assert_mem_eq (id, s_rfc_id, SF_UUID_SIZE);
    ck_assert_int_eq (sf_uuid_parse ("00000000-0000-0000-0000-000000000000", id), 0);
    ck_assert_int_eq (sf_uuid_parse ("ffffffff-ffff-ffff-ffff-ffffffffffff", id), 0);
    ck_assert_uint_eq (id [0] & id [15], 0xff);
}
END_TEST

//  Text that is not exactly one canonical UUID.
static const char *s_bad_texts [] = {
    "",
    "017f22e2-79b0-7cc3-98c4-dc0c0c07398",      //  35 characters
    "017f22e2-79b0-7cc3-98c4-dc0c0c07398f0",    //  37
    "017f22e2-79b0-7cc3-98c4-dc0c0c07398f ",    //  trailing space
    " 017f22e2-79b0-7cc3-98c4-dc0c0c07398f",    //  leading space
    "017f22e279b07cc398c4dc0c0c07398f",         //  no hyphens
    "017f22e279b07cc398c4dc0c0c073-9-8-f-",     //  hyphens elsewhere, 36 long
    "017f22e2-79b0-7cc3-98c4dc0c-0c07398f",     //  last hyphen moved
    "017f22e-279b0-7cc3-98c4-dc0c0c07398f",     //  first hyphen moved
    "017f22e2_79b0_7cc3_98c4_dc0c0c07398f",     //  wrong separator
    "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",     //  g is not hex
    "017f22e2-79b0-7cc3-98c4-dc0c0c07398-",     //  hyphen for a digit
    "017f22e2-79b0-7cc3-98c4-dc0c0c0739+f",
    "{17f22e2-79b0-7cc3-98c4-dc0c0c07398}",
    ("017f22e2-79b0-7cc3-98c4-dc0c0c07\xc3\xa9" "8f"),
};
#define S_BAD_TEXTS (sizeof s_bad_texts / sizeof s_bad_texts [0])

START_TEST (test_parse_rejects)
{
    uint8_t id [SF_UUID_SIZE];
    ck_assert_msg (sf_uuid_parse (s_bad_texts [_i], id) == -1, "\"%s\" parsed",
                   s_bad_texts [_i]);
}
END_TEST

START_TEST (test_parse_null)
{
    uint8_t id [SF_UUID_SIZE];
    ck_assert_int_eq (sf_uuid_parse (NULL, id), -1);
    //  A NUL inside the text ends it: too short
    ck_assert_int_eq (sf_uuid_parse ("017f22e2-79b0\0-7cc3-98c4-dc0c0c07398f", id), -1);
}
END_TEST

//  --------------------------------------------------------------------------
//  Hash.

static int
s_compare_size (const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return x < y? -1: x > y;
}

START_TEST (test_hash)
{
    enum { COUNT = 100000 };
    size_t *hashes = malloc (COUNT * sizeof *hashes);
    uint8_t id [SF_UUID_SIZE], copy [SF_UUID_SIZE];
    for (int i = 0; i < COUNT; i++) {
        sf_uuid_v7 (id);
        memcpy (copy, id, SF_UUID_SIZE);
        hashes [i] = sf_uuid_hash (id);
        ck_assert (sf_uuid_hash (copy) == hashes [i]);   //  Depends on the bytes only
    }
    qsort (hashes, COUNT, sizeof *hashes, s_compare_size);
    int repeats = 0;
    for (int i = 1; i < COUNT; i++)
        repeats += hashes [i] == hashes [i - 1];
    ck_assert_int_eq (repeats, 0);
    //  Low bits spread too (hash tables use them): all 256 buckets used
    int buckets [256] = { 0 };
    for (int i = 0; i < COUNT; i++)
        buckets [hashes [i] & 255]++;
    for (int b = 0; b < 256; b++)
        ck_assert_int_gt (buckets [b], COUNT / 256 / 2);
    free (hashes);

    //  Ids from another generator that differ only in time or counter
    //  must not collide either
    uint8_t a [SF_UUID_SIZE] = { 0 }, b [SF_UUID_SIZE] = { 0 };
    b [5] = 1;
    ck_assert (sf_uuid_hash (a) != sf_uuid_hash (b));
    b [5] = 0;
    b [7] = 1;
    ck_assert (sf_uuid_hash (a) != sf_uuid_hash (b));
}
END_TEST

//  Tables keyed by ids: lookups by value, keys copied or borrowed.
START_TEST (test_table_copied_keys)
{
    zhashx_t *table = sf_uuid_table (true);
    ck_assert_ptr_nonnull (table);
    uint8_t ids [100][SF_UUID_SIZE];
    int items [100];
    for (int i = 0; i < 100; i++) {
        sf_uuid_v7 (ids [i]);
        items [i] = i;
        uint8_t key [SF_UUID_SIZE];
        memcpy (key, ids [i], SF_UUID_SIZE);
        ck_assert_int_eq (zhashx_insert (table, key, &items [i]), 0);
        memset (key, 0, SF_UUID_SIZE);      //  The table kept its own copy
    }
    ck_assert_uint_eq (zhashx_size (table), 100);
    ck_assert_int_eq (zhashx_insert (table, ids [7], &items [0]), -1);   //  Already there
    for (int i = 0; i < 100; i++) {
        uint8_t probe [SF_UUID_SIZE];
        memcpy (probe, ids [i], SF_UUID_SIZE);
        int *item = zhashx_lookup (table, probe);
        ck_assert_ptr_nonnull (item);
        ck_assert_int_eq (*item, i);
    }
    uint8_t other [SF_UUID_SIZE];
    sf_uuid_v7 (other);
    ck_assert_ptr_null (zhashx_lookup (table, other));
    zhashx_delete (table, ids [3]);
    ck_assert_ptr_null (zhashx_lookup (table, ids [3]));
    ck_assert_uint_eq (zhashx_size (table), 99);
    zhashx_destroy (&table);
}
END_TEST

START_TEST (test_table_borrowed_keys)
{
    typedef struct {
        uint8_t id [SF_UUID_SIZE];      //  The key lives in the item
        int value;                      //  Payload
    } item_t;
    item_t items [50];
    zhashx_t *table = sf_uuid_table (false);
    for (int i = 0; i < 50; i++) {
        sf_uuid_v7 (items [i].id);
        items [i].value = i * 3;
        ck_assert_int_eq (zhashx_insert (table, items [i].id, &items [i]), 0);
    }
    for (int i = 0; i < 50; i++) {
        uint8_t probe [SF_UUID_SIZE];
        memcpy (probe, items [i].id, SF_UUID_SIZE);
        ck_assert_ptr_eq (zhashx_lookup (table, probe), &items [i]);
    }
    //  Borrowed: each key the table holds is its item's own id
    int seen = 0;
    for (item_t *item = zhashx_first (table); item; item = zhashx_next (table)) {
        ck_assert_ptr_eq (zhashx_cursor (table), item->id);
        seen++;
    }
    ck_assert_int_eq (seen, 50);
    zhashx_destroy (&table);
}
END_TEST

//  --------------------------------------------------------------------------
//  Where random bytes come from when getrandom is refused. Each test runs
//  in its own forked process (CK_FORK) and puts a seccomp filter on itself
//  that answers the named system calls with an error.

//  Make getrandom fail with ENOSYS (as on a kernel before 3.17) and, when
//  no_files, open and openat fail with EACCES.
static void
s_refuse (bool no_files)
{
    struct sock_filter filter [] = {
        BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
        BPF_STMT (BPF_RET | BPF_K, no_files? SECCOMP_RET_ERRNO | EACCES: SECCOMP_RET_ALLOW),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 1),
        BPF_STMT (BPF_RET | BPF_K, no_files? SECCOMP_RET_ERRNO | EACCES: SECCOMP_RET_ALLOW),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { sizeof filter / sizeof filter [0], filter };
    ck_assert_int_eq (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    ck_assert_msg (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0,
                   "cannot install the filter: %s", strerror (errno));
    uint8_t probe [4];
    ck_assert_int_eq (getrandom (probe, sizeof probe, 0), -1);
    ck_assert_int_eq (errno, ENOSYS);
}

//  Without getrandom, ids come from /dev/urandom: well formed, increasing,
//  random tails all different (thousands of ids: the pool is refilled
//  several times).
START_TEST (test_without_getrandom)
{
    s_refuse (false);
    zhashx_t *tails = zhashx_new ();
    uint8_t previous [SF_UUID_SIZE] = { 0 };
    for (int i = 0; i < 3000; i++) {
        uint8_t id [SF_UUID_SIZE];
        sf_uuid_v7 (id);
        ck_assert_int_eq (id [6] >> 4, 7);
        ck_assert_int_eq (id [8] >> 6, 2);
        ck_assert_msg (memcmp (id, previous, SF_UUID_SIZE) > 0, "id %d not increasing", i);
        memcpy (previous, id, SF_UUID_SIZE);
        char tail [17];
        for (int b = 0; b < 8; b++)
            snprintf (tail + 2 * b, 3, "%02x", id [8 + b]);
        ck_assert_msg (zhashx_insert (tails, tail, (void *) 1) == 0, "tail %s repeated", tail);
    }
    zhashx_destroy (&tails);
}
END_TEST

//  With neither getrandom nor /dev/urandom the process ends at once with
//  SIGABRT (and a message) instead of looping or making ids from nothing.
START_TEST (test_without_any_randomness)
{
    s_refuse (true);
    uint8_t id [SF_UUID_SIZE];
    for (int i = 0; i < 1000; i++)
        sf_uuid_v7 (id);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_uuid");

    TCase *tc = tcase_create ("layout");
    tcase_set_timeout (tc, 20);
    tcase_add_test (tc, test_version_and_variant);
    tcase_add_test (tc, test_timestamp);
    tcase_add_test (tc, test_random_tail);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("order");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_strictly_increasing);
    tcase_add_test (tc, test_threads);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("text");
    tcase_set_timeout (tc, 20);
    tcase_add_test (tc, test_str_known);
    tcase_add_test (tc, test_str_shape);
    tcase_add_test (tc, test_parse_round_trip);
    tcase_add_loop_test (tc, test_parse_rejects, 0, (int) S_BAD_TEXTS);
    tcase_add_test (tc, test_parse_null);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("hash");
    tcase_set_timeout (tc, 20);
    tcase_add_test (tc, test_hash);
    tcase_add_test (tc, test_table_copied_keys);
    tcase_add_test (tc, test_table_borrowed_keys);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("randomness");
    tcase_set_timeout (tc, 20);
    tcase_add_test (tc, test_without_getrandom);
    tcase_add_test_raise_signal (tc, test_without_any_randomness, SIGABRT);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
