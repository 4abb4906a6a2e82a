/*  =========================================================================
    check_fleet_protocol - garbage, truncated, lying and wrong-version
    messages on both broker endpoints get an error reply naming what was
    wrong, and the broker keeps serving everyone else; the lease check
    drops stale results
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <signal.h>
#include "fleet.h"
#include "sf_codec.h"
#include "sf_mp.h"
#include "sf_msg.h"
#include "sheaf.h"


static zsock_t *
s_raw (const char *endpoint, const char *identity)
{
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    if (identity)
        zsock_set_identity (socket, identity);
    zsock_set_rcvtimeo (socket, 3000);
    zsock_set_linger (socket, 0);
    ck_assert_int_eq (zsock_connect (socket, "%s", endpoint), 0);
    return socket;
}

//  Send frames given as (data, size) pairs; a NULL data ends the list.
static void
s_send (zsock_t *socket, ...)
{
    zmsg_t *msg = zmsg_new ();
    va_list args;
    va_start (args, socket);
    const void *data;
    while ((data = va_arg (args, const void *))) {
        size_t size = va_arg (args, size_t);
        zmsg_addmem (msg, data, size);
    }
    va_end (args);
    ck_assert_int_eq (zmsg_send (&msg, socket), 0);
}

//  Receive one message: its command and (if an ERROR) its code and message.
static int
s_recv (zsock_t *socket, char *code, char *message)
{
    zmsg_t *msg = zmsg_recv (socket);
    ck_assert_msg (msg, "no reply within 3 s");
    ck_assert_int_eq (zmsg_size (msg), 3);
    zframe_t *signature = zmsg_first (msg);
    ck_assert (zframe_streq (signature, "SF02"));
    int command = *zframe_data (zmsg_next (msg));
    zframe_t *body = zmsg_next (msg);
    code [0] = message [0] = 0;
    if (command == SF_CMD_ERROR) {
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        ck_assert (msgpack_unpack_next (&unpacked, (const char *) zframe_data (body),
                                        zframe_size (body), &offset) == MSGPACK_UNPACK_SUCCESS);
        ck_assert_int_eq (sf_mp_strcpy (sf_mp_get (&unpacked.data, "code"), code, 32), 0);
        sf_mp_strcpy (sf_mp_get (&unpacked.data, "message"), message, 256);
        msgpack_unpacked_destroy (&unpacked);
    }
    zmsg_destroy (&msg);
    return command;
}

//  Expect an ERROR with this code and a message containing text.
static void
s_expect_error (zsock_t *socket, const char *code, const char *text)
{
    char got_code [32], message [256];
    ck_assert_int_eq (s_recv (socket, got_code, message), SF_CMD_ERROR);
    ck_assert_str_eq (got_code, code);
    ck_assert_msg (strstr (message, text), "error \"%s\" does not mention \"%s\"", message, text);
}

static const unsigned char CMD_SUBMIT = SF_CMD_SUBMIT, CMD_READY = SF_CMD_READY,
    CMD_RESULTS = SF_CMD_RESULTS, CMD_HEARTBEAT = SF_CMD_HEARTBEAT, CMD_STATUS = SF_CMD_STATUS,
    CMD_UNKNOWN = 0x7f;
static const char NIL = (char) 0xc0;

//  A batch body: header {tag, n: announced} and the given items.
static void
s_body (sf_batchw_t *body, uint64_t tag, uint32_t announced, const char *items, size_t size)
{
    sf_batchw_reset (body, tag);
    msgpack_sbuffer_write (&body->buffer, items, size);
    body->count = announced;
    sf_batchw_finish (body);
}

//  One ok echo job through a well-behaved client, as proof of service.
static void
s_normal_job_works (void)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *job = sf_job_new ("echo");
    sf_job_set_param (job, "ok", "true");
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert_msg (sf_client_submit (client, job, id, &error) == 0, "%s", error.message);
    sf_result_t *result = sf_client_wait (client, 10000, &error);
    ck_assert_msg (result, "no result: %s", error.message);
    ck_assert_str_eq (sf_result_id (result), id);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    sf_result_destroy (&result);
    sf_job_destroy (&job);
    sf_client_destroy (&client);
}

START_TEST (test_frontend_rejects_bad_messages)
{
    fleet_worker (fleet, "w1", 1, 8, NULL);
    zsock_t *raw = s_raw (fleet->frontend, NULL);
    sf_batchw_t body;
    sf_batchw_init (&body);

    s_send (raw, "garbage", (size_t) 7, NULL);
    s_expect_error (raw, "PROTOCOL", "signature");

    s_send (raw, "SF03", (size_t) 4, &CMD_SUBMIT, (size_t) 1, &NIL, (size_t) 1, NULL);
    s_expect_error (raw, "VERSION", "SF03");

    s_send (raw, "SF02", (size_t) 4, &CMD_UNKNOWN, (size_t) 1, &NIL, (size_t) 1, NULL);
    s_expect_error (raw, "UNKNOWN_COMMAND", "0x7f");

    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1, NULL);
    s_expect_error (raw, "PROTOCOL", "no body");

    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1, &NIL, (size_t) 1,
            "x", (size_t) 1, NULL);
    s_expect_error (raw, "PROTOCOL", "more than 3 frames");

    s_send (raw, "SF02", (size_t) 4, &CMD_READY, (size_t) 1, &NIL, (size_t) 1, NULL);
    s_expect_error (raw, "UNKNOWN_COMMAND", "READY");

    //  A batch announcing three jobs but holding one
    const char job [] = "\x81\xa8" "analyzer" "\xa4" "echo";
    s_body (&body, 7, 3, job, sizeof job - 1);
    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1,
            body.buffer.data, body.buffer.size, NULL);
    s_expect_error (raw, "PROTOCOL", "announced 3");

    //  An array claiming 4 billion elements in 5 bytes
    const char liar [] = "\xdd\xff\xff\xff\xff";
    s_body (&body, 8, 1, liar, sizeof liar - 1);
    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1,
            body.buffer.data, body.buffer.size, NULL);
    s_expect_error (raw, "PROTOCOL", "declared length");

    //  A valid job followed by one with a bad priority: nothing accepted
    const char jobs [] = "\x81\xa8" "analyzer" "\xa4" "echo"
                         "\x82\xa8" "analyzer" "\xa4" "echo" "\xa8" "priority" "\x0c";
    s_body (&body, 9, 2, jobs, sizeof jobs - 1);
    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1,
            body.buffer.data, body.buffer.size, NULL);
    s_expect_error (raw, "BAD_INPUT", "job 1: \"priority\" must be an integer 0-9");

    //  A follow-up is checked like a job; the error names its path
    const char chained [] = "\x82\xa8" "analyzer" "\xa4" "echo" "\xa4" "then"
                            "\x82\xa8" "analyzer" "\xa4" "echo" "\xa8" "priority" "\x0c";
    s_body (&body, 11, 1, chained, sizeof chained - 1);
    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1,
            body.buffer.data, body.buffer.size, NULL);
    s_expect_error (raw, "BAD_INPUT", "job 0: \"then\": \"priority\" must be an integer 0-9");
    const char keyed [] = "\x82\xa8" "analyzer" "\xa4" "echo" "\xa4" "then"
                          "\x82\xa8" "analyzer" "\xa4" "echo" "\xa3" "key" "\xa1" "k";
    s_body (&body, 12, 1, keyed, sizeof keyed - 1);
    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1,
            body.buffer.data, body.buffer.size, NULL);
    s_expect_error (raw, "BAD_INPUT", "job 0: \"then\": a follow-up may not have a \"key\"");

    //  Truncated at every length: always an error, never silence or a crash
    s_body (&body, 10, 1, job, sizeof job - 1);
    for (size_t cut = 0; cut < body.buffer.size; cut++) {
        s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1, body.buffer.data, cut, NULL);
        char code [32], message [256];
        ck_assert_int_eq (s_recv (raw, code, message), SF_CMD_ERROR);
        ck_assert_str_eq (code, "PROTOCOL");
    }

    s_send (raw, "SF02", (size_t) 4, &CMD_STATUS, (size_t) 1, "\x91\x01", (size_t) 2, NULL);
    s_expect_error (raw, "PROTOCOL", "must be a map");

    sf_batchw_destroy (&body);
    zsock_destroy (&raw);
    s_normal_job_works ();
}
END_TEST

START_TEST (test_backend_rejects_bad_messages)
{
    zsock_t *raw = s_raw (fleet->backend, "intruder");
    s_send (raw, "garbage", (size_t) 7, NULL);
    s_expect_error (raw, "PROTOCOL", "signature");

    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1, &NIL, (size_t) 1, NULL);
    s_expect_error (raw, "UNKNOWN_COMMAND", "SUBMIT");

    const char no_slots [] = "\x83\xa4" "name" "\xa1" "x" "\xa5" "slots" "\x00"
                             "\xa9" "analyzers" "\x90";
    s_send (raw, "SF02", (size_t) 4, &CMD_READY, (size_t) 1, no_slots, sizeof no_slots - 1,
            NULL);
    s_expect_error (raw, "PROTOCOL", "slots");

    //  An unregistered worker is told to register
    char code [32], message [256];
    s_send (raw, "SF02", (size_t) 4, &CMD_HEARTBEAT, (size_t) 1, &NIL, (size_t) 1, NULL);
    ck_assert_int_eq (s_recv (raw, code, message), SF_CMD_DISCONNECT);

    sf_batchw_t body;
    sf_batchw_init (&body);
    s_body (&body, 0, 0, "", 0);
    s_send (raw, "SF02", (size_t) 4, &CMD_RESULTS, (size_t) 1,
            body.buffer.data, body.buffer.size, NULL);
    ck_assert_int_eq (s_recv (raw, code, message), SF_CMD_DISCONNECT);
    sf_batchw_destroy (&body);
    zsock_destroy (&raw);

    fleet_worker (fleet, "w1", 1, 8, NULL);
    s_normal_job_works ();
}
END_TEST

START_TEST (test_stale_lease_is_dropped)
{
    //  A hand-made worker serving "ghost": it answers with the wrong
    //  attempt first (dropped), then the right one (delivered once)
    zsock_t *worker = s_raw (fleet->backend, "ghost-worker");
    const char ready [] = "\x83\xa4" "name" "\xa5" "ghost" "\xa5" "slots" "\x01"
                          "\xa9" "analyzers" "\x91\x82\xa4" "name" "\xa5" "ghost"
                          "\xa7" "version" "\xa1" "1";
    s_send (worker, "SF02", (size_t) 4, &CMD_READY, (size_t) 1, ready, sizeof ready - 1, NULL);

    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *job = sf_job_new ("ghost");
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    ck_assert_int_eq (sf_client_submit (client, job, id, &error), 0);

    //  Skip heartbeats until the DISPATCH
    zmsg_t *msg = NULL;
    while (true) {
        msg = zmsg_recv (worker);
        ck_assert_ptr_nonnull (msg);
        zmsg_first (msg);
        if (*zframe_data (zmsg_next (msg)) == SF_CMD_DISPATCH)
            break;
        zmsg_destroy (&msg);
    }
    sf_batchr_t reader;
    zframe_t *frame = zmsg_next (msg);
    ck_assert_int_eq (sf_batchr_open (&reader, (const char *) zframe_data (frame),
                                      zframe_size (frame), 2, 10, &error), 0);
    msgpack_object head, spec;
    ck_assert_int_eq (sf_batchr_next (&reader, &head, &spec, NULL, NULL, &error), 0);
    uint8_t binary [SF_UUID_SIZE];
    uint32_t attempt, timeout_ms;
    ck_assert_int_eq (sf_codec_read_dispatch_head (&head, binary, &attempt, &timeout_ms, &error), 0);
    ck_assert_int_eq (attempt, 1);
    ck_assert_int_eq (timeout_ms, 30000);
    char text [SF_ID_STRLEN + 1];
    sf_uuid_str (binary, text);
    ck_assert_str_eq (text, id);
    sf_batchr_close (&reader);
    zmsg_destroy (&msg);

    sf_batchw_t body;
    sf_batchw_init (&body);
    for (uint32_t lease = 2; lease >= 1; lease--) {
        sf_batchw_reset (&body, 0);
        sf_codec_pack_outcome_head (&body.packer, binary, lease, SF_STATUS_OK, 5);
        msgpack_pack_uint32 (&body.packer, lease);
        sf_batchw_item (&body);
        sf_batchw_finish (&body);
        s_send (worker, "SF02", (size_t) 4, &CMD_RESULTS, (size_t) 1,
                body.buffer.data, body.buffer.size, NULL);
    }
    sf_batchw_destroy (&body);
    sf_result_t *result = sf_client_wait (client, 5000, &error);
    ck_assert_ptr_nonnull (result);
    char *value = sf_result_value_json (result);
    ck_assert_str_eq (value, "1");      //  The current lease's result
    free (value);
    ck_assert_str_eq (sf_result_worker (result), "ghost");
    sf_result_destroy (&result);
    ck_assert_ptr_null (sf_client_wait (client, 300, &error));
    char *status = sf_client_status (client, &error);
    ck_assert_msg (strstr (status, "\"late_results_dropped\":1"), "%s", status);
    free (status);
    sf_job_destroy (&job);
    sf_client_destroy (&client);
    zsock_destroy (&worker);
}
END_TEST

START_TEST (test_lost_report_ends_a_poison_job)
{
    //  One death is one too many here, so the report decides at once
    fleet_signal (fleet, fleet->broker, SIGTERM);
    fleet_broker (fleet, (char *[]) { "--max-losses", "1", NULL });
    zsock_t *worker = s_raw (fleet->backend, "doomed-worker");
    const char ready [] = "\x83\xa4" "name" "\xa6" "doomed" "\xa5" "slots" "\x01"
                          "\xa9" "analyzers" "\x91\x82\xa4" "name" "\xa5" "ghost"
                          "\xa7" "version" "\xa1" "1";
    s_send (worker, "SF02", (size_t) 4, &CMD_READY, (size_t) 1, ready, sizeof ready - 1, NULL);
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_job_t *job = sf_job_new ("ghost");
    char id [SF_ID_STRLEN + 1], state [16] = "";
    sf_error_t error;
    ck_assert_int_eq (sf_client_submit (client, job, id, &error), 0);
    for (int tries = 0; tries < 100 && !streq (state, "running"); tries++) {
        sf_client_fetch (client, id, false, 0, state, &error);
        zclock_sleep (10);
    }
    ck_assert_str_eq (state, "running");

    //  A supervisor's report: malformed, then of a name nobody has, then
    //  of the worker that holds the job
    const unsigned char lost_command = SF_CMD_LOST;
    zsock_t *supervisor = s_raw (fleet->backend, NULL);
    const char no_name [] = "\x81\xa6" "reason" "\xa1" "x";
    s_send (supervisor, "SF02", (size_t) 4, &lost_command, (size_t) 1, no_name,
            sizeof no_name - 1, NULL);
    s_expect_error (supervisor, "PROTOCOL", "LOST needs \"name\"");
    const char stranger [] = "\x82\xa4" "name" "\xa6" "nobody" "\xa6" "reason" "\xa1" "x";
    s_send (supervisor, "SF02", (size_t) 4, &lost_command, (size_t) 1, stranger,
            sizeof stranger - 1, NULL);
    ck_assert_ptr_null (sf_client_wait (client, 300, &error));
    const char doomed [] = "\x82\xa4" "name" "\xa6" "doomed" "\xa6" "reason"
                           "\xbd" "killed by signal 11 (SIGSEGV)";
    s_send (supervisor, "SF02", (size_t) 4, &lost_command, (size_t) 1, doomed,
            sizeof doomed - 1, NULL);
    sf_result_t *result = sf_client_wait (client, 3000, &error);
    ck_assert_msg (result, "%s", error.message);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_DEAD);
    ck_assert_str_eq (sf_result_error_code (result), "WORKER_LOST");
    ck_assert_msg (strstr (sf_result_error_message (result), "killed by signal 11 (SIGSEGV)"),
                   "%s", sf_result_error_message (result));
    sf_result_destroy (&result);

    //  Not a client command
    zsock_t *raw = s_raw (fleet->frontend, NULL);
    s_send (raw, "SF02", (size_t) 4, &lost_command, (size_t) 1, doomed, sizeof doomed - 1, NULL);
    s_expect_error (raw, "UNKNOWN_COMMAND", "LOST");
    zsock_destroy (&raw);
    zsock_destroy (&supervisor);
    zsock_destroy (&worker);
    sf_job_destroy (&job);
    sf_client_destroy (&client);
}
END_TEST

//  A job's "from" and "to" are checked at submit, by the client library
//  and by the broker, never first by a worker after dispatch; the forms
//  the check accepts are read by the worker to the same instants.
START_TEST (test_times_checked_at_submit)
{
    fleet_worker (fleet, "w1", 1, 8, NULL);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);

    //  The client library refuses it before anything is sent
    sf_error_t error;
    sf_job_t *job = sf_job_from_json ("{\"analyzer\":\"sma\",\"symbol\":\"X\","
                                      "\"timeframe\":\"1h\",\"from\":\"yesterday\"}", &error);
    ck_assert_ptr_null (job);
    ck_assert_str_eq (error.code, "BAD_INPUT");
    ck_assert_msg (strstr (error.message, "\"from\" must be an ISO-8601 time"), "%s",
                   error.message);

    //  A client that skips that check gets the broker's ERROR
    zsock_t *raw = s_raw (fleet->frontend, NULL);
    sf_batchw_t body;
    sf_batchw_init (&body);
    sf_batchw_reset (&body, 21);
    msgpack_pack_map (&body.packer, 2);
    sf_mp_pack_str (&body.packer, "analyzer");
    sf_mp_pack_str (&body.packer, "sma");
    sf_mp_pack_str (&body.packer, "from");
    sf_mp_pack_str (&body.packer, "yesterday");
    sf_batchw_item (&body);
    sf_batchw_finish (&body);
    s_send (raw, "SF02", (size_t) 4, &CMD_SUBMIT, (size_t) 1,
            body.buffer.data, body.buffer.size, NULL);
    s_expect_error (raw, "BAD_INPUT", "job 0: \"from\" must be an ISO-8601 time (2024-01-31");
    sf_batchw_destroy (&body);
    zsock_destroy (&raw);
    ck_assert_int_eq (fleet_counter (client, "submitted"), 0);
    ck_assert_int_eq (fleet_counter (client, "dispatched"), 0);

    //  Five hourly candles from 2024-01-31T00:00Z; the window written in
    //  two other accepted forms keeps the second to the fourth
    job = sf_job_from_json (
        "{\"analyzer\":\"sma\",\"params\":{\"period\":2},"
        "\"from\":\"2024-01-31 01:00\",\"to\":\"2024-01-31T05:00:00.000+02:00\","
        "\"candles\":{\"ts\":[1706659200000,1706662800000,1706666400000,1706670000000,"
        "1706673600000],\"open\":[1,2,3,4,5],\"high\":[1,2,3,4,5],\"low\":[1,2,3,4,5],"
        "\"close\":[1,2,3,4,5],\"volume\":[1,1,1,1,1]}}", &error);
    ck_assert_msg (job, "%s", error.message);
    char id [SF_ID_STRLEN + 1];
    ck_assert_msg (sf_client_submit (client, job, id, &error) == 0, "%s", error.message);
    sf_result_t *result = sf_client_wait (client, 10000, &error);
    ck_assert_msg (result, "%s", error.message);
    ck_assert_msg (sf_result_status (result) == SF_STATUS_OK, "%s: %s",
                   sf_result_error_code (result), sf_result_error_message (result));
    char *value = sf_result_value_json (result);
    ck_assert_str_eq (value, "{\"ts\":[1706662800000,1706666400000,1706670000000],"
                             "\"sma\":[null,2.5,3.5]}");
    free (value);
    sf_result_destroy (&result);
    sf_job_destroy (&job);
    sf_client_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_protocol");
    TCase *tcase = tcase_create ("protocol");
    tcase_add_checked_fixture (tcase, fleet_setup, fleet_teardown);
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_frontend_rejects_bad_messages);
    tcase_add_test (tcase, test_backend_rejects_bad_messages);
    tcase_add_test (tcase, test_stale_lease_is_dropped);
    tcase_add_test (tcase, test_lost_report_ends_a_poison_job);
    tcase_add_test (tcase, test_times_checked_at_submit);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
