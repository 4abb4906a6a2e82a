/*  =========================================================================
    check_sf_status - tests of sf_status (final statuses and their wire
    names) and sf_error_set (the errors a user sees)
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <string.h>
#include "sheaf.h"

START_TEST (test_names)
{
    ck_assert_str_eq (sf_status_name (SF_STATUS_OK), "ok");
    ck_assert_str_eq (sf_status_name (SF_STATUS_ERROR), "error");
    ck_assert_str_eq (sf_status_name (SF_STATUS_TIMEOUT), "timeout");
    ck_assert_str_eq (sf_status_name (SF_STATUS_CANCELLED), "cancelled");
    ck_assert_str_eq (sf_status_name (SF_STATUS_DEAD), "dead");
    ck_assert_str_eq (sf_status_name (SF_STATUS_INVALID), "invalid");
}
END_TEST

START_TEST (test_parse)
{
    for (sf_status_t status = SF_STATUS_OK; status < SF_STATUS_INVALID; status++) {
        const char *name = sf_status_name (status);
        ck_assert_int_eq (sf_status_parse (name, strlen (name)), status);
    }
    //  The size, not a NUL, ends the name: "okay" is not "ok"
    ck_assert_int_eq (sf_status_parse ("okay", 2), SF_STATUS_OK);
    ck_assert_int_eq (sf_status_parse ("okay", 4), SF_STATUS_INVALID);
    ck_assert_int_eq (sf_status_parse ("o", 1), SF_STATUS_INVALID);
    ck_assert_int_eq (sf_status_parse ("OK", 2), SF_STATUS_INVALID);
    ck_assert_int_eq (sf_status_parse ("", 0), SF_STATUS_INVALID);
    ck_assert_int_eq (sf_status_parse ("invalid", 7), SF_STATUS_INVALID);
    ck_assert_int_eq (sf_status_parse ("ok\0", 3), SF_STATUS_INVALID);
}
END_TEST

START_TEST (test_error_set)
{
    sf_error_t error;
    ck_assert_int_eq (sf_error_set (&error, "BAD_INPUT", "\"%s\" must be %d-%d", "priority",
                                    0, 9), -1);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_str_eq (error.message, "\"priority\" must be 0-9");
    ck_assert_int_eq (sf_error_set (NULL, "X", "y"), -1);
}
END_TEST

//  Over-long codes and messages are cut, never overrun.
START_TEST (test_error_truncates)
{
    char long_text [1000];
    memset (long_text, 'm', sizeof long_text - 1);
    long_text [sizeof long_text - 1] = 0;
    struct {
        sf_error_t error;
        char guard [8];
    } block;
    memset (block.guard, 'G', sizeof block.guard);
    sf_error_set (&block.error, long_text, "%s", long_text);
    ck_assert_uint_eq (strlen (block.error.code), sizeof block.error.code - 1);
    ck_assert_uint_eq (strlen (block.error.message), sizeof block.error.message - 1);
    ck_assert_mem_eq (block.guard, "GGGGGGGG", 8);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_status");
    TCase *tc = tcase_create ("status");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_names);
    tcase_add_test (tc, test_parse);
    suite_add_tcase (suite, tc);
    tc = tcase_create ("error");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_error_set);
    tcase_add_test (tc, test_error_truncates);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
