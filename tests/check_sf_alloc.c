/*  =========================================================================
    check_sf_alloc - tests of sf_alloc, the out-of-memory policy

    Blocks come back zeroed (sf_alloc, sf_alloc_array), resized with their
    contents (sf_alloc_resize), copied (sf_alloc_strdup, sf_alloc_strndup).
    A request that cannot be met — a size past what the machine has, a
    count times size that overflows, a NULL handed to sf_alloc_check, a
    msgpack buffer that cannot grow, Jansson out of memory — ends the
    process with SIGABRT, never a NULL for the caller to write through.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sf_alloc.h"
#include "sf_mp.h"

//  Under AddressSanitizer a failed allocation is a report and exit(1)
//  unless this is set; here it must reach the code under test as NULL.
const char *__asan_default_options (void);

const char *
__asan_default_options (void)
{
    return "allocator_may_return_null=1";
}

//  More than any machine this runs on has, yet no overflow.
#define S_TOO_MUCH ((size_t) 1 << 62)

START_TEST (test_blocks)
{
    unsigned char *block = (unsigned char *) sf_alloc (1000);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq (block [i], 0);
    memset (block, 7, 1000);
    block = (unsigned char *) sf_alloc_resize (block, 100000, 1);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq (block [i], 7);
    block = (unsigned char *) sf_alloc_resize (block, 10, 1);
    ck_assert_int_eq (block [9], 7);
    free (block);

    uint64_t *array = (uint64_t *) sf_alloc_array (500, sizeof (uint64_t));
    for (int i = 0; i < 500; i++)
        ck_assert_uint_eq (array [i], 0);
    free (array);
    //  Zero bytes is still a block to free
    void *empty = sf_alloc_array (0, 8);
    ck_assert_ptr_nonnull (empty);
    free (empty);
    empty = sf_alloc_resize (NULL, 0, 8);
    ck_assert_ptr_nonnull (empty);
    free (empty);
}
END_TEST

START_TEST (test_strings)
{
    char *copy = sf_alloc_strdup ("sheaf");
    ck_assert_str_eq (copy, "sheaf");
    free (copy);
    copy = sf_alloc_strndup ("sheaf-broker", 5);
    ck_assert_str_eq (copy, "sheaf");
    free (copy);
    //  A NUL before size ends the copy; size 0 may come with no text at all
    copy = sf_alloc_strndup ("ab\0cd", 5);
    ck_assert_str_eq (copy, "ab");
    free (copy);
    copy = sf_alloc_strndup (NULL, 0);
    ck_assert_str_eq (copy, "");
    free (copy);
    static char text [] = "kept";
    ck_assert_ptr_eq (sf_alloc_check (text), text);
}
END_TEST

START_TEST (test_too_much)
{
    sf_alloc (S_TOO_MUCH);
}
END_TEST

START_TEST (test_overflow)
{
    sf_alloc_array (SIZE_MAX / 2, 3);
}
END_TEST

START_TEST (test_resize_too_much)
{
    void *block = sf_alloc (16);
    block = sf_alloc_resize (block, S_TOO_MUCH, 1);
    free (block);
}
END_TEST

START_TEST (test_check_null)
{
    sf_alloc_check (NULL);
}
END_TEST

//  A packer's buffer that cannot grow aborts instead of being cut short.
START_TEST (test_msgpack_buffer)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, sf_mp_write);
    msgpack_pack_str (&pk, 5);
    msgpack_pack_str_body (&pk, "sheaf", 5);
    ck_assert_uint_eq (buffer.size, 6);
    //  Claim a huge body: the buffer must grow past what exists
    static const char one = 'x';
    buffer.alloc = buffer.size;
    sf_mp_write (&buffer, &one, S_TOO_MUCH);
    msgpack_sbuffer_destroy (&buffer);
}
END_TEST

//  Jansson's allocations follow the policy too (sf_alloc sets it up as
//  libsheaf loads): a string that cannot be copied aborts.
START_TEST (test_jansson)
{
    json_t *small = json_string ("fits");
    ck_assert_ptr_nonnull (small);
    json_decref (small);
    static const char text [] = "x";
    json_t *huge = json_stringn_nocheck (text, S_TOO_MUCH);
    json_decref (huge);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_alloc");
    TCase *tc = tcase_create ("alloc");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_blocks);
    tcase_add_test (tc, test_strings);
    suite_add_tcase (suite, tc);
    tc = tcase_create ("out of memory");
    tcase_set_timeout (tc, 10);
    tcase_add_test_raise_signal (tc, test_too_much, SIGABRT);
    tcase_add_test_raise_signal (tc, test_overflow, SIGABRT);
    tcase_add_test_raise_signal (tc, test_resize_too_much, SIGABRT);
    tcase_add_test_raise_signal (tc, test_check_null, SIGABRT);
    tcase_add_test_raise_signal (tc, test_msgpack_buffer, SIGABRT);
    tcase_add_test_raise_signal (tc, test_jansson, SIGABRT);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
