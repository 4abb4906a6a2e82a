/*  =========================================================================
    check_sf_msg - tests of sf_msg, the envelope of every sheaf message

    A real ROUTER/DEALER pair over inproc (one pair per test, made in a
    checked fixture, so each forked test has its own ZeroMQ context). The
    DEALER sends raw frames so that every malformation can be produced;
    after each malformed message a good one must still come through, which
    proves that sf_msg_recv consumed all the bad message's frames.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <stdarg.h>
#include "sf_mp.h"
#include "sf_msg.h"

#define S_ASSERT_CONTAINS(text, part)                                          \
    ck_assert_msg ((text) && strstr ((text), (part)) != NULL,                  \
                   "\"%s\" does not contain \"%s\"", (text)? (text): "(null)", (part))

//  How long a test waits for a message that was sent; generous, as a
//  loaded sanitizer build can be slow, and a passing test never waits.
#define S_WAIT_MS 2000

static zsock_t *s_router;       //  The broker's side
static zsock_t *s_dealer;       //  The peer's side
static sf_msg_t s_msg;          //  Message being received

static void
s_pair_setup (void)
{
    s_router = zsock_new_router ("@inproc://check_sf_msg");
    ck_assert_ptr_nonnull (s_router);
    zsock_set_router_mandatory (s_router, 1);
    s_dealer = zsock_new_dealer (">inproc://check_sf_msg");
    ck_assert_ptr_nonnull (s_dealer);
    zsock_set_sndtimeo (s_dealer, S_WAIT_MS);
    sf_msg_init (&s_msg);
}

static void
s_pair_teardown (void)
{
    sf_msg_close (&s_msg);
    zsock_destroy (&s_dealer);
    zsock_destroy (&s_router);
}

//  --------------------------------------------------------------------------
//  Send count raw frames from the dealer; the arguments are pairs of
//  (const void *data, size_t size).

static void
s_send_raw (int count, ...)
{
    va_list args;
    va_start (args, count);
    for (int i = 0; i < count; i++) {
        const void *data = va_arg (args, const void *);
        size_t size = va_arg (args, size_t);
        int rc = zmq_send (zsock_resolve (s_dealer), data, size,
                           i < count - 1? ZMQ_SNDMORE: 0);
        ck_assert_int_eq (rc, (int) size);
    }
    va_end (args);
}

//  Receive at the router; returns sf_msg_recv_wait's code.
static int
s_router_recv (sf_error_t *error)
{
    memset (error, 0, sizeof *error);
    return sf_msg_recv_wait (&s_msg, zsock_resolve (s_router), true, S_WAIT_MS, error);
}

//  Send a good SUBMIT with body "good <n>" and check it arrives intact.
static void
s_expect_good (int n)
{
    char body [32];
    snprintf (body, sizeof body, "good %d", n);
    ck_assert_int_eq (sf_msg_send (zsock_resolve (s_dealer), NULL, 0, SF_CMD_SUBMIT,
                                   body, strlen (body)), 0);
    sf_error_t error;
    ck_assert_int_eq (s_router_recv (&error), 0);
    ck_assert_int_eq (s_msg.command, SF_CMD_SUBMIT);
    ck_assert_uint_eq (sf_msg_size (&s_msg), strlen (body));
    ck_assert_mem_eq (sf_msg_data (&s_msg), body, strlen (body));
    //  Nothing else is left over from the message before
    sf_msg_t after;
    sf_msg_init (&after);
    ck_assert_int_eq (sf_msg_recv (&after, zsock_resolve (s_router), true, &error), 1);
    sf_msg_close (&after);
}

//  Expect a malformed message at the router with this code and message
//  text, and then that a good message still gets through.
static void
s_expect_bad (const char *code, const char *message_part)
{
    sf_error_t error;
    ck_assert_int_eq (s_router_recv (&error), -1);
    ck_assert_str_eq (error.code, code);
    S_ASSERT_CONTAINS (error.message, message_part);
    ck_assert_int_eq (s_msg.command, -1);
    //  A router knows whom to answer even for a malformed message
    ck_assert (s_msg.routed);
    ck_assert_uint_gt (zmq_msg_size (&s_msg.routing), 0);
    s_expect_good (1);
}

//  --------------------------------------------------------------------------
//  A valid envelope, and a reply routed back.

START_TEST (test_valid)
{
    const char body [] = "\x81\xa3tag\x07";
    ck_assert_int_eq (sf_msg_send (zsock_resolve (s_dealer), NULL, 0, SF_CMD_STATUS,
                                   body, sizeof body - 1), 0);
    sf_error_t error;
    ck_assert_int_eq (s_router_recv (&error), 0);
    ck_assert_int_eq (s_msg.command, SF_CMD_STATUS);
    ck_assert (s_msg.routed);
    ck_assert_uint_eq (sf_msg_size (&s_msg), sizeof body - 1);
    ck_assert_mem_eq (sf_msg_data (&s_msg), body, sizeof body - 1);

    //  Reply to the routing id that came with it
    size_t routing_size = zmq_msg_size (&s_msg.routing);
    void *routing = malloc (routing_size);
    memcpy (routing, zmq_msg_data (&s_msg.routing), routing_size);
    ck_assert_int_eq (sf_msg_send (zsock_resolve (s_router), routing, routing_size,
                                   SF_CMD_STATUS_REPLY, "\xc0", 1), 0);
    free (routing);
    sf_msg_t reply;
    sf_msg_init (&reply);
    ck_assert_int_eq (sf_msg_recv_wait (&reply, zsock_resolve (s_dealer), false, S_WAIT_MS,
                                        &error), 0);
    ck_assert_int_eq (reply.command, SF_CMD_STATUS_REPLY);
    ck_assert (!reply.routed);
    ck_assert_uint_eq (sf_msg_size (&reply), 1);
    ck_assert_int_eq ((unsigned char) sf_msg_data (&reply) [0], 0xc0);
    sf_msg_close (&reply);
}
END_TEST

//  Every known command passes; its byte travels unchanged.
START_TEST (test_every_command)
{
    const int commands [] = {
        SF_CMD_SUBMIT, SF_CMD_STATUS, SF_CMD_FETCH, SF_CMD_READY, SF_CMD_RESULTS,
        SF_CMD_HEARTBEAT, SF_CMD_DISCONNECT, SF_CMD_LOST, SF_CMD_ACCEPTED, SF_CMD_RESULT,
        SF_CMD_ERROR, SF_CMD_STATUS_REPLY, SF_CMD_STATE, SF_CMD_DISPATCH
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands [0]; i++) {
        ck_assert_int_eq (sf_msg_send (zsock_resolve (s_dealer), NULL, 0, commands [i],
                                       "", 0), 0);
        sf_error_t error;
        ck_assert_int_eq (s_router_recv (&error), 0);
        ck_assert_int_eq (s_msg.command, commands [i]);
        ck_assert_uint_eq (sf_msg_size (&s_msg), 0);      //  An empty body is a body
    }
}
END_TEST

//  A large body arrives whole.
START_TEST (test_large_body)
{
    size_t size = 4 * 1024 * 1024;
    char *body = malloc (size);
    for (size_t i = 0; i < size; i++)
        body [i] = (char) (i * 31 + 7);
    ck_assert_int_eq (sf_msg_send (zsock_resolve (s_dealer), NULL, 0, SF_CMD_RESULTS,
                                   body, size), 0);
    sf_error_t error;
    ck_assert_int_eq (s_router_recv (&error), 0);
    ck_assert_uint_eq (sf_msg_size (&s_msg), size);
    ck_assert (memcmp (sf_msg_data (&s_msg), body, size) == 0);
    free (body);
}
END_TEST

//  --------------------------------------------------------------------------
//  Malformed envelopes.

START_TEST (test_wrong_signature)
{
    s_send_raw (3, "XX01", (size_t) 4, "\x01", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("PROTOCOL", "first frame is not a sheaf signature");
}
END_TEST

START_TEST (test_signature_wrong_size)
{
    s_send_raw (3, "SF02x", (size_t) 5, "\x01", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("PROTOCOL", "first frame is not a sheaf signature (want \"SF02\")");
    s_send_raw (3, "SF0", (size_t) 3, "\x01", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("PROTOCOL", "first frame is not a sheaf signature");
}
END_TEST

//  A single empty frame: nothing that could be a signature.
START_TEST (test_empty_frame)
{
    s_send_raw (1, "", (size_t) 0);
    s_expect_bad ("PROTOCOL", "first frame is not a sheaf signature");
}
END_TEST

//  The version check: tests/check_sf_msg.c is on the checklist in
//  sf_msg.h for when the protocol version changes.
START_TEST (test_version)
{
    ck_assert_str_eq (SF_PROTO_SIGNATURE, "SF02");
    s_send_raw (3, "SF03", (size_t) 4, "\x01", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("VERSION", "protocol SF03 is not supported; this peer speaks SF02");
    s_send_raw (3, "SF00", (size_t) 4, "\x01", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("VERSION", "protocol SF00");
    s_send_raw (3, "SF01", (size_t) 4, "\x01", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("VERSION", "protocol SF01 is not supported; this peer speaks SF02");
}
END_TEST

START_TEST (test_unknown_command)
{
    s_send_raw (3, "SF02", (size_t) 4, "\x7f", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("UNKNOWN_COMMAND", "unknown command 0x7f");
    s_send_raw (3, "SF02", (size_t) 4, "\x00", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("UNKNOWN_COMMAND", "unknown command 0x00");
    //  The first worker command byte after LOST
    s_send_raw (3, "SF02", (size_t) 4, "\x16", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("UNKNOWN_COMMAND", "unknown command 0x16");
    s_send_raw (3, "SF02", (size_t) 4, "\xff", (size_t) 1, "\xc0", (size_t) 1);
    s_expect_bad ("UNKNOWN_COMMAND", "unknown command 0xff");
}
END_TEST

START_TEST (test_command_wrong_size)
{
    s_send_raw (3, "SF02", (size_t) 4, "\x01\x01", (size_t) 2, "\xc0", (size_t) 1);
    s_expect_bad ("PROTOCOL", "command frame must be 1 byte, not 2");
    s_send_raw (3, "SF02", (size_t) 4, "", (size_t) 0, "\xc0", (size_t) 1);
    s_expect_bad ("PROTOCOL", "command frame must be 1 byte, not 0");
}
END_TEST

START_TEST (test_no_command)
{
    s_send_raw (1, "SF02", (size_t) 4);
    s_expect_bad ("PROTOCOL", "message has no command frame");
}
END_TEST

START_TEST (test_no_body)
{
    s_send_raw (2, "SF02", (size_t) 4, "\x01", (size_t) 1);
    s_expect_bad ("PROTOCOL", "SUBMIT has no body frame");
}
END_TEST

START_TEST (test_four_frames)
{
    s_send_raw (4, "SF02", (size_t) 4, "\x12", (size_t) 1, "\xc0", (size_t) 1,
                "extra", (size_t) 5);
    s_expect_bad ("PROTOCOL", "RESULTS has more than 3 frames");
    //  Many extra frames are all drained too
    s_send_raw (7, "SF02", (size_t) 4, "\x12", (size_t) 1, "\xc0", (size_t) 1,
                "1", (size_t) 1, "2", (size_t) 1, "3", (size_t) 1, "4", (size_t) 1);
    s_expect_bad ("PROTOCOL", "more than 3 frames");
}
END_TEST

//  Several malformed messages queued back to back, then a good one: each
//  is reported once, and the good one is not swallowed.
START_TEST (test_bad_burst_then_good)
{
    s_send_raw (2, "SF02", (size_t) 4, "\x01", (size_t) 1);
    s_send_raw (3, "SF09", (size_t) 4, "\x01", (size_t) 1, "\xc0", (size_t) 1);
    s_send_raw (5, "SF02", (size_t) 4, "\x01", (size_t) 1, "a", (size_t) 1, "b", (size_t) 1,
                "c", (size_t) 1);
    const char *codes [] = { "PROTOCOL", "VERSION", "PROTOCOL" };
    for (int i = 0; i < 3; i++) {
        sf_error_t error;
        ck_assert_int_eq (s_router_recv (&error), -1);
        ck_assert_str_eq (error.code, codes [i]);
    }
    s_expect_good (2);
}
END_TEST

//  --------------------------------------------------------------------------
//  The DEALER side (no routing id) validates the same way.

START_TEST (test_dealer_side)
{
    //  Learn the dealer's routing id from a first message
    s_expect_good (0);
    size_t routing_size = zmq_msg_size (&s_msg.routing);
    char routing [256];
    memcpy (routing, zmq_msg_data (&s_msg.routing), routing_size);
    void *router = zsock_resolve (s_router);

    ck_assert_int_eq (zmq_send (router, routing, routing_size, ZMQ_SNDMORE), (int) routing_size);
    ck_assert_int_eq (zmq_send (router, "SF03", 4, ZMQ_SNDMORE), 4);
    ck_assert_int_eq (zmq_send (router, "\x81", 1, ZMQ_SNDMORE), 1);
    ck_assert_int_eq (zmq_send (router, "\xc0", 1, 0), 1);
    ck_assert_int_eq (sf_msg_send (router, routing, routing_size, SF_CMD_ACCEPTED, "ok", 2), 0);

    sf_msg_t msg;
    sf_msg_init (&msg);
    sf_error_t error;
    ck_assert_int_eq (sf_msg_recv_wait (&msg, zsock_resolve (s_dealer), false, S_WAIT_MS,
                                        &error), -1);
    ck_assert_str_eq (error.code, "VERSION");
    ck_assert (!msg.routed);
    ck_assert_int_eq (sf_msg_recv_wait (&msg, zsock_resolve (s_dealer), false, S_WAIT_MS,
                                        &error), 0);
    ck_assert_int_eq (msg.command, SF_CMD_ACCEPTED);
    ck_assert_uint_eq (sf_msg_size (&msg), 2);
    ck_assert_mem_eq (sf_msg_data (&msg), "ok", 2);
    sf_msg_close (&msg);
}
END_TEST

//  --------------------------------------------------------------------------
//  Waiting and not waiting.

START_TEST (test_nothing_waiting)
{
    sf_error_t error;
    ck_assert_int_eq (sf_msg_recv (&s_msg, zsock_resolve (s_router), true, &error), 1);
    ck_assert_int_eq (sf_msg_recv (&s_msg, zsock_resolve (s_dealer), false, &error), 1);
    int64_t start = zclock_mono ();
    ck_assert_int_eq (sf_msg_recv_wait (&s_msg, zsock_resolve (s_router), true, 100,
                                        &error), 1);
    int64_t waited = zclock_mono () - start;
    ck_assert_int_ge (waited, 90);
    ck_assert_int_lt (waited, 1500);
    ck_assert_int_eq (sf_msg_recv_wait (&s_msg, zsock_resolve (s_router), true, 0,
                                        &error), 1);
}
END_TEST

//  A message received after another replaces it; close makes the struct
//  reusable.
START_TEST (test_reuse)
{
    s_expect_good (1);
    s_expect_good (2);
    sf_msg_close (&s_msg);
    ck_assert_int_eq (s_msg.command, -1);
    ck_assert_uint_eq (sf_msg_size (&s_msg), 0);
    ck_assert (!s_msg.routed);
    s_expect_good (3);
}
END_TEST

//  --------------------------------------------------------------------------
//  Sending.

START_TEST (test_send_error)
{
    s_expect_good (0);
    size_t routing_size = zmq_msg_size (&s_msg.routing);
    char routing [256];
    memcpy (routing, zmq_msg_data (&s_msg.routing), routing_size);
    sf_error_t sent;
    sf_error_set (&sent, "BAD_INPUT", "\"priority\" must be an integer %d-%d", 0, 9);
    ck_assert_int_eq (sf_msg_send_error (zsock_resolve (s_router), routing, routing_size,
                                         42, &sent), 0);

    sf_msg_t msg;
    sf_msg_init (&msg);
    sf_error_t error;
    ck_assert_int_eq (sf_msg_recv_wait (&msg, zsock_resolve (s_dealer), false, S_WAIT_MS,
                                        &error), 0);
    ck_assert_int_eq (msg.command, SF_CMD_ERROR);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object body;
    size_t offset = 0;
    const char *why;
    ck_assert_int_eq (sf_mp_next (&unpacked, sf_msg_data (&msg), sf_msg_size (&msg), &offset,
                                  &body, NULL, NULL, &why), 0);
    ck_assert_uint_eq (offset, sf_msg_size (&msg));
    uint64_t tag = 0;
    ck_assert_int_eq (sf_mp_uint (sf_mp_get (&body, "tag"), UINT64_MAX, &tag), 0);
    ck_assert_uint_eq (tag, 42);
    ck_assert (sf_mp_streq (sf_mp_get (&body, "code"), "BAD_INPUT"));
    ck_assert (sf_mp_streq (sf_mp_get (&body, "message"), "\"priority\" must be an integer 0-9"));
    msgpack_unpacked_destroy (&unpacked);
    sf_msg_close (&msg);
}
END_TEST

//  A ROUTER never blocks on a peer that is gone: it reports EHOSTUNREACH.
START_TEST (test_send_unroutable)
{
    errno = 0;
    ck_assert_int_eq (sf_msg_send (zsock_resolve (s_router), "nobody", 6, SF_CMD_RESULT,
                                   "\xc0", 1), -1);
    ck_assert_int_eq (errno, EHOSTUNREACH);
    //  The socket is still usable afterwards
    s_expect_good (1);
}
END_TEST

START_TEST (test_cmd_names)
{
    ck_assert_str_eq (sf_cmd_name (SF_CMD_SUBMIT), "SUBMIT");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_STATUS), "STATUS");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_FETCH), "FETCH");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_READY), "READY");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_RESULTS), "RESULTS");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_HEARTBEAT), "HEARTBEAT");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_DISCONNECT), "DISCONNECT");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_LOST), "LOST");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_ACCEPTED), "ACCEPTED");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_RESULT), "RESULT");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_ERROR), "ERROR");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_STATUS_REPLY), "STATUS_REPLY");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_STATE), "STATE");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_DISPATCH), "DISPATCH");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_CANCEL), "CANCEL");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_DEAD), "DEAD");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_CANCEL_REPLY), "CANCEL_REPLY");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_DEAD_REPLY), "DEAD_REPLY");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_STOP), "STOP");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_GROUP), "GROUP");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_GROUP_RESULT), "GROUP_RESULT");
    ck_assert_str_eq (sf_cmd_name (SF_CMD_GROUP_ITEM), "GROUP_ITEM");
    ck_assert_int_eq (SF_CMD_GROUP, 0x06);
    ck_assert_int_eq (SF_CMD_GROUP_RESULT, 0x86);
    ck_assert_int_eq (SF_CMD_GROUP_ITEM, 0x87);
    ck_assert_str_eq (sf_cmd_name (0), "UNKNOWN");
    ck_assert_str_eq (sf_cmd_name (-1), "UNKNOWN");
    ck_assert_str_eq (sf_cmd_name (0x101), "UNKNOWN");
    //  Exactly 22 of the 256 command bytes are known
    int known = 0;
    for (int c = 0; c < 256; c++)
        known += strcmp (sf_cmd_name (c), "UNKNOWN") != 0;
    ck_assert_int_eq (known, 22);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_msg");

    TCase *tc = tcase_create ("valid");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_pair_setup, s_pair_teardown);
    tcase_add_test (tc, test_valid);
    tcase_add_test (tc, test_every_command);
    tcase_add_test (tc, test_large_body);
    tcase_add_test (tc, test_nothing_waiting);
    tcase_add_test (tc, test_reuse);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("malformed");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_pair_setup, s_pair_teardown);
    tcase_add_test (tc, test_wrong_signature);
    tcase_add_test (tc, test_signature_wrong_size);
    tcase_add_test (tc, test_empty_frame);
    tcase_add_test (tc, test_version);
    tcase_add_test (tc, test_unknown_command);
    tcase_add_test (tc, test_command_wrong_size);
    tcase_add_test (tc, test_no_command);
    tcase_add_test (tc, test_no_body);
    tcase_add_test (tc, test_four_frames);
    tcase_add_test (tc, test_bad_burst_then_good);
    tcase_add_test (tc, test_dealer_side);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("send");
    tcase_set_timeout (tc, 10);
    tcase_add_checked_fixture (tc, s_pair_setup, s_pair_teardown);
    tcase_add_test (tc, test_send_error);
    tcase_add_test (tc, test_send_unroutable);
    tcase_add_test (tc, test_cmd_names);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
