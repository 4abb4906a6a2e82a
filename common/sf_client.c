/*  =========================================================================
    sf_client - a connection to the broker's frontend (API in sheaf.h)

    One DEALER socket. Every request carries a tag; the reply with the same
    tag ends a synchronous call. Results may arrive at any moment, also in
    the middle of a synchronous call: they are set aside in a stash, oldest
    first, and handed out by sf_client_wait and sf_client_recv.
    ========================================================================= */

#include <czmq.h>
#include "sf_alloc.h"
#include "sf_codec.h"
#include "sf_gather.h"
#include "sf_job.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_msg.h"
#include "sf_result.h"

struct _sf_client_t {
    zsock_t *dealer;            //  Connection to the broker
    int timeout_ms;             //  Wait for replies
    int busy_wait_ms;           //  Keep submitting while BUSY this long
    uint64_t next_tag;          //  Tag of the next request
    zlistx_t *stash;            //  Results not handed out yet (sf_result_t *)
    sf_batchw_t writer;         //  Builds request bodies
    sf_msg_t msg;               //  The message being read
    uint8_t (*ids) [SF_UUID_SIZE];  //  Ids of the last ACCEPTED
    size_t ids_count;           //  How many
    size_t ids_max;             //  Room in ids
    uint8_t group [SF_UUID_SIZE];   //  Group id of the last ACCEPTED, if any
    bool has_group;             //  The last ACCEPTED named a group
    zlistx_t *gathers;          //  Groups waiting for their answer (s_pending_t)
    uint64_t fetch_tag;         //  Tag of the group FETCH in progress, 0 if none
    uint8_t fetch_id [SF_UUID_SIZE];    //  The group it asks for
    sf_gather_t *fetched;       //  Its answer, once arrived
};

//  A group this client submitted and has not had the answer of.
typedef struct {
    uint8_t group [SF_UUID_SIZE];   //  Its id
    uint64_t tag;               //  The GROUP's tag
    sf_gather_t *gather;        //  The answer being built
    sf_gather_item_fn *on_item; //  Streamed items go here, if set
    sf_gather_done_fn *on_done; //  The answer goes here, if set
    void *arg;                  //  For the callbacks
    bool done;                  //  The answer arrived (no on_done)
} s_pending_t;

//  What one incoming message was, for the calls that wait on it.
typedef struct {
    int command;                //  SF_CMD_* of the message
    uint64_t tag;               //  Its tag (replies)
    sf_error_t error;           //  ERROR: what the broker said
    char *text;                 //  STATUS, CANCEL, DEAD replies: JSON (owned)
    char state [16];            //  STATE: the job's state; CANCEL_REPLY: outcome
    bool group;                 //  STATE: of a group
    uint64_t retry_after_ms;    //  ERROR BUSY: the broker's hint
    bool grouped;               //  A group message, handed to its callbacks
} s_reply_t;

static void
s_pending_destructor (void **item)
{
    s_pending_t *pending = (s_pending_t *) *item;
    sf_gather_destroy (&pending->gather);
    free (pending);
    *item = NULL;
}

static void
s_result_destructor (void **item)
{
    sf_result_destroy ((sf_result_t **) item);
}

//  --------------------------------------------------------------------------
//  Connect to a broker.

sf_client_t *
sf_client_new (const char *endpoint)
{
    if (!endpoint)
        endpoint = getenv ("SHEAF_BROKER");
    if (!endpoint || !*endpoint)
        endpoint = SF_DEFAULT_FRONTEND;
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return NULL;
    zsock_set_sndhwm (dealer, 100000);
    zsock_set_rcvhwm (dealer, 100000);
    zsock_set_linger (dealer, 2000);
    if (zsock_connect (dealer, "%s", endpoint)) {
        zsock_destroy (&dealer);
        return NULL;
    }
    sf_client_t *self = (sf_client_t *) sf_alloc (sizeof *self);
    self->dealer = dealer;
    self->timeout_ms = 5000;
    self->busy_wait_ms = 30000;
    self->next_tag = 1;
    self->stash = zlistx_new ();
    zlistx_set_destructor (self->stash, s_result_destructor);
    self->gathers = zlistx_new ();
    zlistx_set_destructor (self->gathers, s_pending_destructor);
    sf_batchw_init (&self->writer);
    sf_msg_init (&self->msg);
    return self;
}

void
sf_client_destroy (sf_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_client_t *self = *self_p;
    sf_msg_close (&self->msg);
    sf_batchw_destroy (&self->writer);
    zlistx_destroy (&self->stash);
    zlistx_destroy (&self->gathers);
    sf_gather_destroy (&self->fetched);
    zsock_destroy (&self->dealer);
    free (self->ids);
    free (self);
    *self_p = NULL;
}

void
sf_client_set_timeout (sf_client_t *self, int timeout_ms)
{
    self->timeout_ms = timeout_ms;
}

void
sf_client_set_busy_wait (sf_client_t *self, int busy_wait_ms)
{
    self->busy_wait_ms = busy_wait_ms < 0? 0: busy_wait_ms;
}

int
sf_client_fd (sf_client_t *self)
{
    return zsock_fd (self->dealer);
}

//  Milliseconds left until deadline (-1: none), for zmq_poll.
static int
s_left (int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - zclock_mono ();
    return left > 0? (int) left: 0;
}

static int64_t
s_deadline (int timeout_ms)
{
    return timeout_ms < 0? -1: zclock_mono () + timeout_ms;
}

//  Decode a RESULT body into the stash.
static int
s_stash_results (sf_client_t *self, sf_error_t *error)
{
    sf_batchr_t reader;
    int rc = sf_batchr_open (&reader, sf_msg_data (&self->msg), sf_msg_size (&self->msg),
                             2, SF_BATCH_MAX, error);
    msgpack_object head;
    const char *raw;
    size_t raw_size;
    while (rc == 0
       && (rc = sf_batchr_next (&reader, &head, NULL, &raw, &raw_size, error)) == 0) {
        sf_result_t *result = sf_result_decode (&head, raw, raw_size, error);
        if (!result) {
            rc = -1;
            break;
        }
        zlistx_add_end (self->stash, result);
    }
    sf_batchr_close (&reader);
    return rc < 0? -1: 0;
}

//  Remember the ids of an ACCEPTED body.
static int
s_take_ids (sf_client_t *self, const msgpack_object *ids)
{
    if (!ids || ids->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    if (ids->via.array.size > self->ids_max) {
        self->ids_max = ids->via.array.size;
        self->ids = sf_alloc_resize (self->ids, self->ids_max, SF_UUID_SIZE);
    }
    for (uint32_t i = 0; i < ids->via.array.size; i++)
        if (sf_codec_id (&ids->via.array.ptr [i], self->ids [i]))
            return -1;
    self->ids_count = ids->via.array.size;
    return 0;
}

//  The pending group with this id, or NULL.
static s_pending_t *
s_pending_find (sf_client_t *self, const uint8_t group [SF_UUID_SIZE])
{
    for (s_pending_t *pending = (s_pending_t *) zlistx_first (self->gathers); pending;
         pending = (s_pending_t *) zlistx_next (self->gathers))
        if (memcmp (pending->group, group, SF_UUID_SIZE) == 0)
            return pending;
    return NULL;
}

//  The answer to this client's own group while it FETCHes that group with
//  wait: the broker sends a group's client its answer once (PROTOCOL.md
//  5.5), so the FETCH gets its own gather from the same message.
static int
s_own_group_fetched (sf_client_t *self, sf_error_t *error)
{
    sf_group_head_t head;
    sf_result_t **results;
    if (sf_gather_decode (sf_msg_data (&self->msg), sf_msg_size (&self->msg), false, &head,
                          &results, error))
        return -1;
    sf_gather_destroy (&self->fetched);
    self->fetched = sf_gather_new (head.group, head.total);
    for (uint32_t i = 0; i < head.n; i++)
        sf_gather_put (self->fetched, results [i], head.then && i + 1 == head.n);
    free (results);
    sf_gather_finish (self->fetched, &head);
    return 0;
}

//  A GROUP_ITEM or GROUP_RESULT: items to their pending group (or its
//  on_item), the answer to its on_done, or to a group FETCH in progress.
static int
s_group_message (sf_client_t *self, int command, sf_error_t *error)
{
    sf_group_head_t head;
    sf_result_t **results;
    bool item = command == SF_CMD_GROUP_ITEM;
    if (sf_gather_decode (sf_msg_data (&self->msg), sf_msg_size (&self->msg), item, &head,
                          &results, error))
        return -1;
    s_pending_t *pending = s_pending_find (self, head.group);
    if (pending && !item && head.tag != pending->tag)
        pending = NULL;         //  A FETCH of our own group: not its answer
    sf_gather_t *gather = pending? pending->gather: NULL;
    bool own_fetched = !item && pending && self->fetch_tag
                    && memcmp (head.group, self->fetch_id, SF_UUID_SIZE) == 0;
    //  A FETCH is answered with its tag now, or with tag 0 when it waited
    if (!item && !pending && self->fetch_tag
    &&  (head.tag == self->fetch_tag
     || (head.tag == 0 && memcmp (head.group, self->fetch_id, SF_UUID_SIZE) == 0))) {
        sf_gather_destroy (&self->fetched);
        gather = self->fetched = sf_gather_new (head.group, head.total);
    }
    for (uint32_t i = 0; i < head.n; i++) {
        bool then = !item && head.then && i + 1 == head.n;
        if (item && pending && pending->on_item) {
            long index = sf_result_index (results [i]);
            pending->on_item ((size_t) index, results [i], pending->arg);
        }
        else
        if (gather)
            sf_gather_put (gather, results [i], then);
        else
            sf_result_destroy (&results [i]);
    }
    free (results);
    if (!item && gather) {
        sf_gather_finish (gather, &head);
        if (pending && pending->on_done) {
            pending->gather = NULL;
            void *handle = zlistx_find (self->gathers, pending);
            sf_gather_done_fn *on_done = pending->on_done;
            void *arg = pending->arg;
            zlistx_delete (self->gathers, handle);
            on_done (gather, arg);
        }
        else
        if (pending)
            pending->done = true;
    }
    return own_fetched? s_own_group_fetched (self, error): 0;
}

//  --------------------------------------------------------------------------
//  Wait up to deadline for one message and decode it into reply. Results
//  go to the stash. Returns 0, or 1 when nothing (valid) came in time.

static int
s_receive (sf_client_t *self, int64_t deadline, s_reply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    sf_error_t error;
    int rc = sf_msg_recv_wait (&self->msg, zsock_resolve (self->dealer), false,
                               s_left (deadline), &error);
    if (rc == 1)
        return 1;
    if (rc < 0) {
        sf_log_warning ("client: dropped a malformed message from the broker: %s",
                        error.message);
        return 0;       //  Counted as a message; the caller waits on
    }
    reply->command = self->msg.command;
    if (reply->command == SF_CMD_RESULT) {
        if (s_stash_results (self, &error))
            sf_log_warning ("client: malformed RESULT from the broker: %s", error.message);
        return 0;
    }
    if (reply->command == SF_CMD_GROUP_ITEM || reply->command == SF_CMD_GROUP_RESULT) {
        if (s_group_message (self, reply->command, &error))
            sf_log_warning ("client: malformed %s from the broker: %s",
                            sf_cmd_name (reply->command), error.message);
        reply->command = -1;        //  Handled here; no reply to match
        reply->grouped = true;
        return 0;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object body;
    size_t offset = 0;
    const char *why = "empty body";
    if (sf_mp_next (&unpacked, sf_msg_data (&self->msg), sf_msg_size (&self->msg), &offset,
                    &body, NULL, NULL, &why) != 0
    ||  body.type != MSGPACK_OBJECT_MAP) {
        sf_log_warning ("client: malformed %s from the broker", sf_cmd_name (reply->command));
        reply->command = -1;
    }
    else {
        reply->tag = sf_codec_tag (&body);
        switch (reply->command) {
            case SF_CMD_ACCEPTED:
                if (s_take_ids (self, sf_mp_get (&body, "ids")))
                    reply->command = -1;
                self->has_group = sf_codec_id (sf_mp_get (&body, "group"), self->group) == 0;
                break;
            case SF_CMD_ERROR:
                if (sf_mp_strcpy (sf_mp_get (&body, "code"), reply->error.code,
                                  sizeof reply->error.code))
                    strcpy (reply->error.code, "UNKNOWN");
                if (sf_mp_strcpy (sf_mp_get (&body, "message"), reply->error.message,
                                  sizeof reply->error.message))
                    reply->error.message [0] = 0;
                sf_mp_uint (sf_mp_get (&body, "retry_after_ms"), 60000, &reply->retry_after_ms);
                break;
            case SF_CMD_STATUS_REPLY: {
                const msgpack_object *status = sf_mp_get (&body, "status");
                reply->text = status? sf_json_text (status): NULL;
                break;
            }
            case SF_CMD_CANCEL_REPLY: {
                const msgpack_object *items = sf_mp_get (&body, "items");
                if (!items || items->type != MSGPACK_OBJECT_ARRAY || items->via.array.size == 0
                ||  sf_mp_strcpy (sf_mp_get (&items->via.array.ptr [0], "outcome"),
                                  reply->state, sizeof reply->state))
                    reply->command = -1;
                break;
            }
            case SF_CMD_DEAD_REPLY: {
                const msgpack_object *dead = sf_mp_get (&body, "dead");
                if (!dead)
                    dead = sf_mp_get (&body, "count");
                reply->text = dead? sf_json_text (dead): NULL;
                break;
            }
            case SF_CMD_STATE:
                if (sf_mp_strcpy (sf_mp_get (&body, "state"), reply->state, sizeof reply->state))
                    strcpy (reply->state, "unknown");
                reply->group = sf_mp_get (&body, "group") != NULL;
                break;
            default:
                break;
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return 0;
}

//  --------------------------------------------------------------------------
//  Send a batch of jobs.

int
sf_client_send (sf_client_t *self, sf_job_t **jobs, size_t count, uint64_t *tag,
                sf_error_t *error)
{
    if (count == 0 || count > SF_BATCH_MAX)
        return sf_error_set (error, "BAD_INPUT", "a batch holds 1-%d jobs, not %zu",
                             SF_BATCH_MAX, count);
    *tag = self->next_tag++;
    sf_batchw_reset (&self->writer, *tag);
    for (size_t i = 0; i < count; i++) {
        sf_job_pack (jobs [i], &self->writer.packer);
        sf_batchw_item (&self->writer);
    }
    sf_batchw_finish (&self->writer);
    if (sf_msg_send (zsock_resolve (self->dealer), NULL, 0, SF_CMD_SUBMIT,
                     self->writer.buffer.data, self->writer.buffer.size))
        return sf_error_set (error, "UNREACHABLE", "could not send to the broker: %s",
                             zmq_strerror (errno));
    return 0;
}

//  Send a request map {tag, …} built by the caller in self->writer.
static int
s_send_request (sf_client_t *self, int command, sf_error_t *error)
{
    if (sf_msg_send (zsock_resolve (self->dealer), NULL, 0, command,
                     self->writer.buffer.data, self->writer.buffer.size))
        return sf_error_set (error, "UNREACHABLE", "could not send to the broker: %s",
                             zmq_strerror (errno));
    return 0;
}

//  Send FETCH {tag, id, wait}; its tag goes to *tag.
static int
s_send_fetch (sf_client_t *self, const uint8_t id [SF_UUID_SIZE], bool wait, uint64_t *tag,
              sf_error_t *error)
{
    *tag = self->next_tag++;
    msgpack_sbuffer_clear (&self->writer.buffer);
    msgpack_packer *pk = &self->writer.packer;
    msgpack_pack_map (pk, 3);
    sf_mp_pack_kv_uint (pk, "tag", *tag);
    sf_mp_pack_str (pk, "id");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, id, SF_UUID_SIZE);
    sf_mp_pack_str (pk, "wait");
    if (wait)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    return s_send_request (self, SF_CMD_FETCH, error);
}

//  Wait for the reply to tag; results arriving meanwhile are stashed.
//  Returns 0 with *reply filled, or -1 with error UNREACHABLE on timeout.
static int
s_await (sf_client_t *self, uint64_t tag, int64_t deadline, s_reply_t *reply,
         sf_error_t *error)
{
    while (true) {
        if (s_receive (self, deadline, reply) == 1)
            return sf_error_set (error, "UNREACHABLE", "no reply from the broker within %d ms",
                                 self->timeout_ms);
        if (reply->command != SF_CMD_RESULT && reply->command > 0 && reply->tag == tag)
            return 0;
        free (reply->text);
    }
}

//  Send the request map built in self->writer (command, tag) and return
//  the JSON text of its reply (the caller frees it), or NULL with error:
//  the broker's ERROR, UNREACHABLE, or PROTOCOL when the reply lacks its
//  value (missing says how).
static char *
s_ask_text (sf_client_t *self, int command, uint64_t tag, const char *missing,
            sf_error_t *error)
{
    s_reply_t reply;
    if (s_send_request (self, command, error)
    ||  s_await (self, tag, s_deadline (self->timeout_ms), &reply, error))
        return NULL;
    if (reply.command == SF_CMD_ERROR) {
        *error = reply.error;
        return NULL;
    }
    if (!reply.text)
        sf_error_set (error, "PROTOCOL", "broker sent %s", missing);
    return reply.text;
}


//  --------------------------------------------------------------------------
//  Submit jobs and wait for their acceptance.

int
sf_client_submit_many (sf_client_t *self, sf_job_t **jobs, size_t count,
                       char (*ids) [SF_ID_STRLEN + 1], sf_error_t *error)
{
    int64_t give_up = zclock_mono () + self->busy_wait_ms;
    int64_t backoff_ms = 10;
    s_reply_t reply;
    while (true) {
        uint64_t tag;
        if (sf_client_send (self, jobs, count, &tag, error))
            return -1;
        if (s_await (self, tag, s_deadline (self->timeout_ms), &reply, error))
            return -1;
        if (reply.command != SF_CMD_ERROR)
            break;
        *error = reply.error;
        int64_t left = give_up - zclock_mono ();
        if (!streq (reply.error.code, "BUSY") || left <= 0)
            return -1;
        //  The broker is at a limit: wait as it suggests, at least the
        //  backoff (doubled each time up to a second), then send again
        int64_t pause = (int64_t) reply.retry_after_ms > backoff_ms?
                        (int64_t) reply.retry_after_ms: backoff_ms;
        zclock_sleep ((int) (pause < left? pause: left));
        backoff_ms = backoff_ms < 500? backoff_ms * 2: 1000;
    }
    if (reply.command != SF_CMD_ACCEPTED || self->ids_count != count)
        return sf_error_set (error, "PROTOCOL", "broker acknowledged %zu of %zu jobs",
                             self->ids_count, count);
    for (size_t i = 0; i < count; i++)
        sf_uuid_str (self->ids [i], ids [i]);
    return 0;
}

int
sf_client_submit (sf_client_t *self, sf_job_t *job, char id [SF_ID_STRLEN + 1],
                  sf_error_t *error)
{
    return sf_client_submit_many (self, &job, 1, (char (*) [SF_ID_STRLEN + 1]) id, error);
}

//  --------------------------------------------------------------------------
//  Next result of this client's jobs.

sf_result_t *
sf_client_wait (sf_client_t *self, int timeout_ms, sf_error_t *error)
{
    int64_t deadline = s_deadline (timeout_ms);
    s_reply_t reply;
    while (zlistx_size (self->stash) == 0) {
        if (s_receive (self, deadline, &reply) == 1) {
            sf_error_set (error, "TIMEOUT", "no result within %d ms", timeout_ms);
            return NULL;
        }
        free (reply.text);
    }
    return (sf_result_t *) zlistx_detach (self->stash, NULL);
}

//  Take the stashed result of job id, if there.
static sf_result_t *
s_unstash (sf_client_t *self, const char *id)
{
    for (sf_result_t *result = (sf_result_t *) zlistx_first (self->stash); result;
         result = (sf_result_t *) zlistx_next (self->stash))
        if (streq (sf_result_id (result), id))
            return (sf_result_t *) zlistx_detach_cur (self->stash);
    return NULL;
}

//  --------------------------------------------------------------------------
//  Fetch a result by id.

sf_result_t *
sf_client_fetch (sf_client_t *self, const char *id, bool wait, int timeout_ms,
                 char state [16], sf_error_t *error)
{
    uint8_t binary [SF_UUID_SIZE];
    if (sf_uuid_parse (id, binary)) {
        sf_error_set (error, "BAD_INPUT", "\"%s\" is not a job id (a UUID)", id);
        return NULL;
    }
    char canonical [SF_ID_STRLEN + 1];
    sf_uuid_str (binary, canonical);
    sf_result_t *result = s_unstash (self, canonical);
    if (result)
        return result;

    uint64_t tag;
    if (s_send_fetch (self, binary, wait, &tag, error))
        return NULL;

    //  The answer is a RESULT (now, or when the job ends if wait), a STATE
    //  or an ERROR with our tag
    int64_t deadline = s_deadline (wait? timeout_ms: self->timeout_ms);
    s_reply_t reply;
    while (true) {
        if (s_receive (self, deadline, &reply) == 1) {
            if (wait)
                sf_error_set (error, "TIMEOUT", "job %s did not finish within %d ms",
                              canonical, timeout_ms);
            else
                sf_error_set (error, "UNREACHABLE", "no reply from the broker within %d ms",
                              self->timeout_ms);
            return NULL;
        }
        free (reply.text);
        if ((result = s_unstash (self, canonical)))
            return result;
        if (reply.tag != tag || reply.command == SF_CMD_RESULT)
            continue;
        if (reply.command == SF_CMD_ERROR) {
            *error = reply.error;
            return NULL;
        }
        if (reply.command == SF_CMD_STATE) {
            if (state)
                snprintf (state, 16, "%s", reply.state);
            sf_error_set (error, "NOT_FINISHED", "job %s is %s", canonical, reply.state);
            return NULL;
        }
    }
}

//  --------------------------------------------------------------------------
//  The broker's status as JSON.

char *
sf_client_status (sf_client_t *self, sf_error_t *error)
{
    uint64_t tag = self->next_tag++;
    msgpack_sbuffer_clear (&self->writer.buffer);
    msgpack_pack_map (&self->writer.packer, 1);
    sf_mp_pack_kv_uint (&self->writer.packer, "tag", tag);
    return s_ask_text (self, SF_CMD_STATUS, tag, "a status without \"status\"", error);
}

//  --------------------------------------------------------------------------
//  Cancel a job.

int
sf_client_cancel (sf_client_t *self, const char *id, sf_error_t *error)
{
    uint8_t binary [SF_UUID_SIZE];
    if (sf_uuid_parse (id, binary))
        return sf_error_set (error, "BAD_INPUT", "\"%.40s\" is not a job id", id);
    uint64_t tag = self->next_tag++;
    msgpack_sbuffer_clear (&self->writer.buffer);
    msgpack_packer *pk = &self->writer.packer;
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_str (pk, "ids");
    msgpack_pack_array (pk, 1);
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, binary, SF_UUID_SIZE);
    s_reply_t reply;
    if (s_send_request (self, SF_CMD_CANCEL, error)
    ||  s_await (self, tag, s_deadline (self->timeout_ms), &reply, error))
        return -1;
    if (reply.command == SF_CMD_ERROR) {
        *error = reply.error;
        return -1;
    }
    if (streq (reply.state, "cancelled"))
        return 0;
    if (streq (reply.state, "finished"))
        return 1;
    return sf_error_set (error, "NOT_FOUND", "no job %s (unknown, or its result expired)", id);
}

//  --------------------------------------------------------------------------
//  Dead letters.

char *
sf_client_dead (sf_client_t *self, const char *op, const char *id, sf_error_t *error)
{
    uint8_t binary [SF_UUID_SIZE];
    if (id && sf_uuid_parse (id, binary)) {
        sf_error_set (error, "BAD_INPUT", "\"%.40s\" is not a job id", id);
        return NULL;
    }
    uint64_t tag = self->next_tag++;
    msgpack_sbuffer_clear (&self->writer.buffer);
    msgpack_packer *pk = &self->writer.packer;
    msgpack_pack_map (pk, id? 3: 2);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_kv_str (pk, "op", op);
    if (id) {
        sf_mp_pack_str (pk, "id");
        msgpack_pack_bin (pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (pk, binary, SF_UUID_SIZE);
    }
    return s_ask_text (self, SF_CMD_DEAD, tag, "a DEAD_REPLY without \"dead\" or \"count\"",
                       error);
}

//  --------------------------------------------------------------------------
//  Next asynchronous event.

int
sf_client_recv (sf_client_t *self, int timeout_ms, sf_event_t *event)
{
    memset (event, 0, sizeof *event);
    int64_t deadline = s_deadline (timeout_ms);
    while (true) {
        if (zlistx_size (self->stash)) {
            event->kind = SF_EVENT_RESULT;
            event->result = (sf_result_t *) zlistx_detach (self->stash, NULL);
            return 0;
        }
        s_reply_t reply;
        if (s_receive (self, deadline, &reply) == 1)
            return zsys_interrupted? -1: 0;     //  SF_EVENT_NONE
        free (reply.text);
        //  A group's item or answer went to its callbacks: let the caller
        //  look (an answer usually ends its wait) instead of sleeping on
        if (reply.grouped)
            return 0;
        if (reply.command == SF_CMD_ACCEPTED) {
            event->kind = SF_EVENT_ACCEPTED;
            event->tag = reply.tag;
            event->count = self->ids_count;
            return 0;
        }
        if (reply.command == SF_CMD_ERROR) {
            event->kind = SF_EVENT_REJECTED;
            event->tag = reply.tag;
            event->error = reply.error;
            return 0;
        }
    }
}

//  --------------------------------------------------------------------------
//  Ids of the last accepted batch.

int
sf_client_accepted_id (sf_client_t *self, size_t index, char id [SF_ID_STRLEN + 1])
{
    if (index >= self->ids_count)
        return -1;
    sf_uuid_str (self->ids [index], id);
    return 0;
}

//  --------------------------------------------------------------------------
//  Gathering.

//  Send a group and wait for its acceptance; the pending record is added to
//  self->gathers and returned, or NULL with error.
static s_pending_t *
s_gather_send (sf_client_t *self, sf_job_t **jobs, size_t count, const sf_gather_opts_t *opts,
               sf_error_t *error)
{
    static const sf_gather_opts_t defaults = { SF_GATHER_ALL, 0, 0, false, NULL, NULL };
    if (!opts)
        opts = &defaults;
    size_t items = count + (opts->then? 1: 0);
    if (count == 0 || items > SF_BATCH_MAX) {
        sf_error_set (error, "BAD_INPUT", "a group holds 1-%d jobs with its chord, not %zu",
                      SF_BATCH_MAX, items);
        return NULL;
    }
    static const char *policies [] = { "all", "fail-fast", "any" };
    if ((unsigned) opts->policy > SF_GATHER_ANY || opts->min_ok > count) {
        sf_error_set (error, "BAD_INPUT", "unknown policy, or min_ok above the %zu jobs", count);
        return NULL;
    }
    size_t key_size = opts->key? strlen (opts->key): 0;
    if (opts->key && (key_size == 0 || key_size > SF_KEY_MAX)) {
        sf_error_set (error, "BAD_INPUT", "a group's \"key\" must be a string of 1-%d "
                      "characters", SF_KEY_MAX);
        return NULL;
    }
    uint64_t tag = self->next_tag++;
    msgpack_sbuffer_clear (&self->writer.buffer);
    msgpack_packer *pk = &self->writer.packer;
    msgpack_pack_map (pk, opts->key? 8: 7);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    sf_mp_pack_kv_uint (pk, "n", items);
    if (opts->key)
        sf_mp_pack_kv_str (pk, "key", opts->key);
    sf_mp_pack_kv_str (pk, "policy", policies [opts->policy]);
    sf_mp_pack_kv_uint (pk, "min_ok", opts->min_ok);
    sf_mp_pack_kv_uint (pk, "timeout_ms", opts->timeout_ms);
    sf_mp_pack_str (pk, "stream");
    if (opts->stream)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    sf_mp_pack_str (pk, "then");
    if (opts->then)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    for (size_t i = 0; i < count; i++)
        sf_job_pack (jobs [i], pk);
    if (opts->then)
        sf_job_pack (opts->then, pk);
    if (s_send_request (self, SF_CMD_GROUP, error))
        return NULL;
    s_reply_t reply;
    if (s_await (self, tag, s_deadline (self->timeout_ms), &reply, error))
        return NULL;
    if (reply.command == SF_CMD_ERROR) {
        *error = reply.error;
        return NULL;
    }
    //  A known key names a group the broker has: its items, however many
    if (reply.command != SF_CMD_ACCEPTED || !self->has_group || self->ids_count == 0
    ||  (!opts->key && self->ids_count != count)) {
        sf_error_set (error, "PROTOCOL", "broker acknowledged %zu of %zu jobs, group %s",
                      self->ids_count, count, self->has_group? "named": "missing");
        return NULL;
    }
    s_pending_t *pending = (s_pending_t *) sf_alloc (sizeof *pending);
    memcpy (pending->group, self->group, SF_UUID_SIZE);
    pending->tag = tag;
    pending->gather = sf_gather_new (self->group, self->ids_count);
    zlistx_add_end (self->gathers, pending);
    return pending;
}

int
sf_gather_start (sf_client_t *self, sf_job_t **jobs, size_t count,
                 const sf_gather_opts_t *opts, sf_gather_item_fn *on_item,
                 sf_gather_done_fn *on_done, void *arg,
                 char group_id [SF_ID_STRLEN + 1], sf_error_t *error)
{
    s_pending_t *pending = s_gather_send (self, jobs, count, opts, error);
    if (!pending)
        return -1;
    pending->on_item = on_item;
    pending->on_done = on_done;
    pending->arg = arg;
    sf_uuid_str (pending->group, group_id);
    return 0;
}

sf_gather_t *
sf_gather (sf_client_t *self, sf_job_t **jobs, size_t count, const sf_gather_opts_t *opts,
           int timeout_ms, sf_error_t *error)
{
    s_pending_t *pending = s_gather_send (self, jobs, count, opts, error);
    if (!pending)
        return NULL;
    int64_t deadline = s_deadline (timeout_ms);
    s_reply_t reply;
    while (!pending->done) {
        if (s_receive (self, deadline, &reply) == 1) {
            char id [SF_ID_STRLEN + 1];
            sf_uuid_str (pending->group, id);
            sf_error_set (error, "TIMEOUT", "group %s did not finish within %d ms", id,
                          timeout_ms);
            zlistx_delete (self->gathers, zlistx_find (self->gathers, pending));
            return NULL;
        }
        free (reply.text);
    }
    sf_gather_t *gather = pending->gather;
    pending->gather = NULL;
    zlistx_delete (self->gathers, zlistx_find (self->gathers, pending));
    return gather;
}

sf_gather_t *
sf_client_fetch_group (sf_client_t *self, const char *id, bool wait, int timeout_ms,
                       sf_error_t *error)
{
    uint8_t binary [SF_UUID_SIZE];
    if (sf_uuid_parse (id, binary)) {
        sf_error_set (error, "BAD_INPUT", "\"%s\" is not a group id (a UUID)", id);
        return NULL;
    }
    char canonical [SF_ID_STRLEN + 1];
    sf_uuid_str (binary, canonical);
    uint64_t tag;
    if (s_send_fetch (self, binary, wait, &tag, error))
        return NULL;
    self->fetch_tag = tag;
    memcpy (self->fetch_id, binary, SF_UUID_SIZE);
    sf_gather_destroy (&self->fetched);
    int64_t deadline = s_deadline (wait? timeout_ms: self->timeout_ms);
    sf_gather_t *gather = NULL;
    while (true) {
        s_reply_t reply;
        if (s_receive (self, deadline, &reply) == 1) {
            if (wait)
                sf_error_set (error, "TIMEOUT", "group %s did not finish within %d ms",
                              canonical, timeout_ms);
            else
                sf_error_set (error, "UNREACHABLE", "no reply from the broker within %d ms",
                              self->timeout_ms);
            break;
        }
        free (reply.text);
        if (self->fetched) {
            gather = self->fetched;
            self->fetched = NULL;
            break;
        }
        //  A job's id: its result comes as a RESULT, or its state unmarked
        bool stashed = false;
        for (sf_result_t *result = (sf_result_t *) zlistx_first (self->stash); result;
             result = (sf_result_t *) zlistx_next (self->stash))
            stashed |= streq (sf_result_id (result), canonical);
        if (stashed || (reply.command == SF_CMD_STATE && reply.tag == tag && !reply.group)) {
            sf_error_set (error, "NOT_A_GROUP", "%s is a job, not a group", canonical);
            break;
        }
        if (reply.tag != tag)
            continue;
        if (reply.command == SF_CMD_ERROR) {
            *error = reply.error;
            break;
        }
        if (reply.command == SF_CMD_STATE) {
            sf_error_set (error, "NOT_FINISHED", "group %s is %s", canonical, reply.state);
            break;
        }
    }
    self->fetch_tag = 0;
    return gather;
}
