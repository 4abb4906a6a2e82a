/*  =========================================================================
    inbroker - a broker in this process, driven one message at a time

    The broker's loop is not run: a send is followed by one reader pass
    (sf_broker_pass), and the clock is a process-wide counter that only
    inbroker_advance moves, so a test decides when deadlines and retries
    come due. inproc delivers a message to the peer's queue before the
    send returns, so everything the broker sent in a pass can be read,
    without waiting, when the pass is over.
    ========================================================================= */

#include <jansson.h>
#include "inbroker.h"
#include "sf_json.h"

//  Where the fake clock starts: far enough from zero that no instant the
//  broker computes is negative.
#define S_CLOCK_START_US (1000 * 1000000LL)

//  A peer's socket and the messages a helper read past while it looked for
//  a reply.
typedef struct {
    zsock_t *socket;            //  DEALER, or NULL before first use
    zlistx_t *kept;             //  inbroker_msg_t, oldest first (owned)
} s_peer_t;

struct _inbroker_t {
    sf_broker_t *broker;        //  The broker under test
    char frontend [64];         //  Its inproc endpoints
    char backend [64];
    s_peer_t clients [INBROKER_PEERS];      //  Client sockets
    s_peer_t workers [INBROKER_PEERS];      //  Worker sockets
    uint64_t tag;               //  Last request tag used
    uint64_t retry_after_ms;    //  Of the last ERROR a request was answered with
};

static int64_t s_clock_us = S_CLOCK_START_US;

static int64_t
s_clock (void)
{
    return s_clock_us;
}

static void
s_msg_destructor (void **item)
{
    inbroker_msg_destroy ((inbroker_msg_t **) item);
}

void
inbroker_msg_destroy (inbroker_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->body);
    free (*self_p);
    *self_p = NULL;
}

void
inbroker_quiet (bool quiet)
{
    zsys_set_logstream (quiet? NULL: stderr);
    zsys_set_logsystem (false);
}

//  --------------------------------------------------------------------------
//  Create and destroy.

inbroker_t *
inbroker_new (const sf_broker_config_t *config, sf_error_t *error)
{
    return inbroker_new_store (config, "memory", error);
}

inbroker_t *
inbroker_new_store (const sf_broker_config_t *config, const char *store, sf_error_t *error)
{
    static int instance;
    //  Closed sockets are reaped by ZeroMQ's own thread; on a loaded
    //  machine a fuzzer that makes a broker an input outruns it and meets
    //  the default limit of 1,024 sockets. Zero asks for the system's
    //  limit, and takes effect before the first socket.
    if (instance == 0)
        zsys_set_max_sockets (0);
    inbroker_t *self = (inbroker_t *) zmalloc (sizeof *self);
    snprintf (self->frontend, sizeof self->frontend, "inproc://inbroker-%d-%d-front",
              (int) getpid (), instance);
    snprintf (self->backend, sizeof self->backend, "inproc://inbroker-%d-%d-back",
              (int) getpid (), instance);
    instance++;
    sf_broker_config_t settings;
    if (config)
        settings = *config;
    else
        sf_broker_config_defaults (&settings);
    settings.frontend = self->frontend;
    settings.backend = self->backend;
    settings.store = store;
    self->broker = sf_broker_new (&settings, error);
    if (!self->broker) {
        free (self);
        return NULL;
    }
    s_clock_us = S_CLOCK_START_US;
    self->broker->clock = s_clock;
    self->broker->now_us = self->broker->started_us = s_clock_us;
    for (int i = 0; i < INBROKER_PEERS; i++) {
        self->clients [i].kept = zlistx_new ();
        zlistx_set_destructor (self->clients [i].kept, s_msg_destructor);
        self->workers [i].kept = zlistx_new ();
        zlistx_set_destructor (self->workers [i].kept, s_msg_destructor);
    }
    return self;
}

void
inbroker_destroy (inbroker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    inbroker_t *self = *self_p;
    for (int i = 0; i < INBROKER_PEERS; i++) {
        zsock_destroy (&self->clients [i].socket);
        zlistx_destroy (&self->clients [i].kept);
        zsock_destroy (&self->workers [i].socket);
        zlistx_destroy (&self->workers [i].kept);
    }
    sf_broker_destroy (&self->broker);
    free (self);
    *self_p = NULL;
}

sf_broker_t *
inbroker_broker (inbroker_t *self)
{
    return self->broker;
}

//  --------------------------------------------------------------------------
//  Peers. A socket is made at a peer's first send: reading from a peer
//  that never sent makes none (a socket not yet reaped counts against the
//  context's limit, and a fuzzer makes thousands of sessions).

static s_peer_t *
s_record (inbroker_t *self, bool worker, int peer)
{
    assert (peer >= 0 && peer < INBROKER_PEERS);
    return worker? &self->workers [peer]: &self->clients [peer];
}

static s_peer_t *
s_peer (inbroker_t *self, bool worker, int peer)
{
    s_peer_t *record = s_record (self, worker, peer);
    if (!record->socket) {
        record->socket = zsock_new (ZMQ_DEALER);
        assert (record->socket);
        char identity [32];
        snprintf (identity, sizeof identity, "%s-%d", worker? "worker": "client", peer);
        zsock_set_identity (record->socket, identity);
        zsock_set_linger (record->socket, 0);
        zsock_set_rcvhwm (record->socket, 0);
        zsock_set_sndhwm (record->socket, 0);
        int rc = zsock_connect (record->socket, "%s", worker? self->backend: self->frontend);
        assert (rc == 0);
    }
    return record;
}

void
inbroker_send (inbroker_t *self, bool worker, int peer, int command, const void *body,
               size_t size)
{
    s_peer_t *record = s_peer (self, worker, peer);
    int rc = sf_msg_send (zsock_resolve (record->socket), NULL, 0, command, body, size);
    assert (rc == 0);
    sf_broker_pass (self->broker, worker);
}

//  The next message waiting on the peer's socket (not the kept ones), or
//  NULL.
static inbroker_msg_t *
s_read (s_peer_t *record)
{
    if (!record->socket)
        return NULL;
    sf_msg_t msg;
    sf_msg_init (&msg);
    sf_error_t error;
    inbroker_msg_t *copy = NULL;
    if (sf_msg_recv (&msg, zsock_resolve (record->socket), false, &error) == 0) {
        copy = (inbroker_msg_t *) zmalloc (sizeof *copy);
        copy->command = msg.command;
        copy->size = sf_msg_size (&msg);
        copy->body = (char *) malloc (copy->size? copy->size: 1);
        assert (copy->body);
        memcpy (copy->body, sf_msg_data (&msg), copy->size);
    }
    sf_msg_close (&msg);
    return copy;
}

inbroker_msg_t *
inbroker_recv (inbroker_t *self, bool worker, int peer)
{
    s_peer_t *record = s_record (self, worker, peer);
    inbroker_msg_t *kept = (inbroker_msg_t *) zlistx_detach (record->kept, NULL);
    return kept? kept: s_read (record);
}

//  Move what waits on the peer's socket to its kept messages.
static void
s_keep_waiting (s_peer_t *record)
{
    inbroker_msg_t *msg;
    while ((msg = s_read (record)))
        zlistx_add_end (record->kept, msg);
}

size_t
inbroker_count (inbroker_t *self, bool worker, int peer, int command)
{
    s_peer_t *record = s_record (self, worker, peer);
    s_keep_waiting (record);
    size_t count = 0;
    inbroker_msg_t *msg = (inbroker_msg_t *) zlistx_first (record->kept);
    while (msg) {
        void *handle = zlistx_cursor (record->kept);
        inbroker_msg_t *next = (inbroker_msg_t *) zlistx_next (record->kept);
        if (command < 0 || msg->command == command) {
            zlistx_delete (record->kept, handle);
            count++;
        }
        msg = next;
    }
    return count;
}

void
inbroker_advance (inbroker_t *self, int64_t ms)
{
    s_clock_us += ms * 1000;
    sf_broker_duty (self->broker, SF_DUTY_DUE);
}

void
inbroker_duty (inbroker_t *self, sf_duty_t duty)
{
    sf_broker_duty (self->broker, duty);
}

//  ==========================================================================
//  Requests

//  Pack a JSON text; asserts that it is valid (tests give it).
static void
s_pack_json (msgpack_packer *pk, const char *text)
{
    json_error_t problem;
    json_t *value = json_loads (text, JSON_DECODE_ANY, &problem);
    if (!value) {
        fprintf (stderr, "inbroker: bad JSON in a test (%s): %s\n", problem.text, text);
        abort ();
    }
    sf_json_pack (pk, value);
    json_decref (value);
}

//  Send a request from client and return its reply: the first new message
//  with a command in wanted (0-terminated), or an ERROR, which fills error
//  and comes back as NULL. Messages it passes are kept; NULL without error
//  code when no reply came.
static inbroker_msg_t *
s_request (inbroker_t *self, int client, int command, const msgpack_sbuffer *body,
           const int *wanted, sf_error_t *error)
{
    s_peer_t *record = s_peer (self, false, client);
    s_keep_waiting (record);
    inbroker_send (self, false, client, command, body->data, body->size);
    error->code [0] = 0;
    inbroker_msg_t *msg;
    while ((msg = s_read (record))) {
        bool match = msg->command == SF_CMD_ERROR;
        for (const int *want = wanted; *want && !match; want++)
            match = msg->command == *want;
        if (!match) {
            zlistx_add_end (record->kept, msg);
            continue;
        }
        //  The rest stays in order behind what was kept
        s_keep_waiting (record);
        if (msg->command != SF_CMD_ERROR)
            return msg;
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        msgpack_object map;
        const char *why;
        sf_error_set (error, "ERROR", "unreadable ERROR");
        self->retry_after_ms = 0;
        if (sf_mp_next (&unpacked, msg->body, msg->size, &offset, &map, NULL, NULL, &why) == 0) {
            sf_mp_strcpy (sf_mp_get (&map, "code"), error->code, sizeof error->code);
            sf_mp_strcpy (sf_mp_get (&map, "message"), error->message, sizeof error->message);
            sf_mp_uint (sf_mp_get (&map, "retry_after_ms"), UINT64_MAX, &self->retry_after_ms);
        }
        msgpack_unpacked_destroy (&unpacked);
        inbroker_msg_destroy (&msg);
        return NULL;
    }
    return NULL;
}

//  The map body of a reply, decoded into unpacked (which this initialises).
static int
s_reply_map (inbroker_msg_t *msg, msgpack_unpacked *unpacked, msgpack_object *map)
{
    msgpack_unpacked_init (unpacked);
    size_t offset = 0;
    const char *why;
    return sf_mp_next (unpacked, msg->body, msg->size, &offset, map, NULL, NULL, &why);
}

//  Copy the bin16 ids of a reply's "ids" array (at most max) into ids;
//  returns how many.
static size_t
s_ids (const msgpack_object *map, uint8_t (*ids) [SF_UUID_SIZE], size_t max)
{
    const msgpack_object *list = sf_mp_get (map, "ids");
    size_t count = 0;
    if (list && list->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < list->via.array.size && count < max; i++)
            if (sf_codec_id (&list->via.array.ptr [i], ids [count]) == 0)
                count++;
    return count;
}

uint64_t
inbroker_retry_after_ms (inbroker_t *self)
{
    return self->retry_after_ms;
}

int
inbroker_submit (inbroker_t *self, int client, const char *job, uint8_t id [SF_UUID_SIZE],
                 sf_error_t *error)
{
    sf_batchw_t batch;
    sf_batchw_init (&batch);
    sf_batchw_reset (&batch, ++self->tag);
    s_pack_json (&batch.packer, job);
    sf_batchw_item (&batch);
    sf_batchw_finish (&batch);
    static const int wanted [] = { SF_CMD_ACCEPTED, 0 };
    inbroker_msg_t *reply = s_request (self, client, SF_CMD_SUBMIT, &batch.buffer, wanted,
                                       error);
    sf_batchw_destroy (&batch);
    if (!reply)
        return -1;
    msgpack_unpacked unpacked;
    msgpack_object map;
    int rc = s_reply_map (reply, &unpacked, &map) == 0 && s_ids (&map, (uint8_t (*) [SF_UUID_SIZE]) id, 1) == 1? 0: -1;
    msgpack_unpacked_destroy (&unpacked);
    inbroker_msg_destroy (&reply);
    return rc;
}

int
inbroker_group (inbroker_t *self, int client, const char *options,
                const char *const *jobs, size_t count, uint8_t group [SF_UUID_SIZE],
                uint8_t (*ids) [SF_UUID_SIZE], sf_error_t *error)
{
    json_error_t problem;
    json_t *opts = json_loads (options, 0, &problem);
    assert (opts && json_is_object (opts));
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2 + json_object_size (opts));
    sf_mp_pack_kv_uint (&pk, "tag", ++self->tag);
    sf_mp_pack_kv_uint (&pk, "n", count);
    const char *key;
    json_t *value;
    json_object_foreach (opts, key, value) {
        sf_mp_pack_str (&pk, key);
        sf_json_pack (&pk, value);
    }
    json_decref (opts);
    for (size_t i = 0; i < count; i++)
        s_pack_json (&pk, jobs [i]);
    static const int wanted [] = { SF_CMD_ACCEPTED, 0 };
    inbroker_msg_t *reply = s_request (self, client, SF_CMD_GROUP, &body, wanted, error);
    msgpack_sbuffer_destroy (&body);
    if (!reply)
        return -1;
    msgpack_unpacked unpacked;
    msgpack_object map;
    int rc = -1;
    if (s_reply_map (reply, &unpacked, &map) == 0
    &&  sf_codec_id (sf_mp_get (&map, "group"), group) == 0) {
        s_ids (&map, ids, count);
        rc = 0;
    }
    msgpack_unpacked_destroy (&unpacked);
    inbroker_msg_destroy (&reply);
    return rc;
}

//  Send a single-map request body (consumed) from client; its reply as
//  s_request.
static inbroker_msg_t *
s_map_request (inbroker_t *self, int client, int command, msgpack_sbuffer *body,
               const int *wanted, sf_error_t *error)
{
    inbroker_msg_t *reply = s_request (self, client, command, body, wanted, error);
    msgpack_sbuffer_destroy (body);
    return reply;
}

int
inbroker_cancel (inbroker_t *self, int client, const uint8_t id [SF_UUID_SIZE],
                 char outcome [16], sf_error_t *error)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    sf_mp_pack_kv_uint (&pk, "tag", ++self->tag);
    sf_mp_pack_str (&pk, "ids");
    msgpack_pack_array (&pk, 1);
    msgpack_pack_bin (&pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&pk, id, SF_UUID_SIZE);
    static const int wanted [] = { SF_CMD_CANCEL_REPLY, 0 };
    inbroker_msg_t *reply = s_map_request (self, client, SF_CMD_CANCEL, &body, wanted, error);
    if (!reply)
        return -1;
    msgpack_unpacked unpacked;
    msgpack_object map;
    int rc = -1;
    const msgpack_object *items = s_reply_map (reply, &unpacked, &map) == 0?
                                  sf_mp_get (&map, "items"): NULL;
    if (items && items->type == MSGPACK_OBJECT_ARRAY && items->via.array.size == 1)
        rc = sf_mp_strcpy (sf_mp_get (&items->via.array.ptr [0], "outcome"), outcome, 16);
    msgpack_unpacked_destroy (&unpacked);
    inbroker_msg_destroy (&reply);
    return rc;
}

int
inbroker_dead (inbroker_t *self, int client, const char *op, const uint8_t *id,
               sf_error_t *error)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, id? 3: 2);
    sf_mp_pack_kv_uint (&pk, "tag", ++self->tag);
    sf_mp_pack_kv_str (&pk, "op", op);
    if (id) {
        sf_mp_pack_str (&pk, "id");
        msgpack_pack_bin (&pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (&pk, id, SF_UUID_SIZE);
    }
    static const int wanted [] = { SF_CMD_DEAD_REPLY, 0 };
    inbroker_msg_t *reply = s_map_request (self, client, SF_CMD_DEAD, &body, wanted, error);
    if (!reply)
        return -1;
    msgpack_unpacked unpacked;
    msgpack_object map;
    int rc = -1;
    if (s_reply_map (reply, &unpacked, &map) == 0) {
        const msgpack_object *dead = sf_mp_get (&map, "dead");
        uint64_t count;
        if (dead && dead->type == MSGPACK_OBJECT_ARRAY)
            rc = (int) dead->via.array.size;
        else
        if (sf_mp_uint (sf_mp_get (&map, "count"), INT32_MAX, &count) == 0)
            rc = (int) count;
    }
    msgpack_unpacked_destroy (&unpacked);
    inbroker_msg_destroy (&reply);
    return rc;
}

int
inbroker_fetch (inbroker_t *self, int client, const uint8_t id [SF_UUID_SIZE], bool wait,
                sf_error_t *error)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_uint (&pk, "tag", ++self->tag);
    sf_mp_pack_str (&pk, "id");
    msgpack_pack_bin (&pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (&pk, id, SF_UUID_SIZE);
    sf_mp_pack_str (&pk, "wait");
    if (wait)
        msgpack_pack_true (&pk);
    else
        msgpack_pack_false (&pk);
    static const int wanted [] = { SF_CMD_RESULT, SF_CMD_GROUP_RESULT, SF_CMD_STATE, 0 };
    inbroker_msg_t *reply = s_map_request (self, client, SF_CMD_FETCH, &body, wanted, error);
    if (!reply)
        return error->code [0]? -1: 0;
    int command = reply->command;
    //  Back in front, for the test to read
    zlistx_add_start (s_record (self, false, client)->kept, reply);
    return command;
}

//  --------------------------------------------------------------------------
//  Workers

void
inbroker_ready (inbroker_t *self, int worker, const char *name, const char *analyzers,
                uint32_t slots)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_str (&pk, "name", name);
    sf_mp_pack_kv_uint (&pk, "slots", slots);
    sf_mp_pack_str (&pk, "analyzers");
    char list [256];
    snprintf (list, sizeof list, "%s", analyzers);
    uint32_t count = 1;
    for (const char *c = list; *c; c++)
        count += *c == ',';
    msgpack_pack_array (&pk, count);
    char *save = NULL;
    for (char *analyzer = strtok_r (list, ",", &save); analyzer;
         analyzer = strtok_r (NULL, ",", &save)) {
        msgpack_pack_map (&pk, 2);
        sf_mp_pack_kv_str (&pk, "name", analyzer);
        sf_mp_pack_kv_str (&pk, "version", "1");
    }
    inbroker_send (self, true, worker, SF_CMD_READY, body.data, body.size);
    msgpack_sbuffer_destroy (&body);
}

size_t
inbroker_dispatched (inbroker_t *self, int worker, uint8_t (*ids) [SF_UUID_SIZE],
                     uint32_t *attempts, size_t max)
{
    s_peer_t *record = s_record (self, true, worker);
    s_keep_waiting (record);
    size_t count = 0;
    inbroker_msg_t *msg = (inbroker_msg_t *) zlistx_first (record->kept);
    while (msg) {
        void *handle = zlistx_cursor (record->kept);
        inbroker_msg_t *next = (inbroker_msg_t *) zlistx_next (record->kept);
        if (msg->command == SF_CMD_DISPATCH) {
            sf_batchr_t reader;
            sf_error_t error;
            msgpack_object head;
            int rc = sf_batchr_open (&reader, msg->body, msg->size, 2, SF_BATCH_MAX, &error);
            while (rc == 0 && (rc = sf_batchr_next (&reader, &head, NULL, NULL, NULL,
                                                    &error)) == 0) {
                uint8_t id [SF_UUID_SIZE];
                uint32_t attempt, timeout_ms;
                if (sf_codec_read_dispatch_head (&head, id, &attempt, &timeout_ms, &error) == 0
                &&  count < max) {
                    memcpy (ids [count], id, SF_UUID_SIZE);
                    attempts [count++] = attempt;
                }
            }
            sf_batchr_close (&reader);
            zlistx_delete (record->kept, handle);
        }
        msg = next;
    }
    return count;
}

void
inbroker_result (inbroker_t *self, int worker, const uint8_t id [SF_UUID_SIZE],
                 uint32_t attempt, const char *status, const char *payload)
{
    sf_batchw_t batch;
    sf_batchw_init (&batch);
    sf_batchw_reset (&batch, 0);
    msgpack_packer *pk = &batch.packer;
    msgpack_pack_map (pk, 4);
    sf_mp_pack_str (pk, "id");
    msgpack_pack_bin (pk, SF_UUID_SIZE);
    msgpack_pack_bin_body (pk, id, SF_UUID_SIZE);
    sf_mp_pack_kv_uint (pk, "attempt", attempt);
    sf_mp_pack_kv_str (pk, "status", status);
    sf_mp_pack_kv_uint (pk, "run_us", 10);
    s_pack_json (pk, payload);
    sf_batchw_item (&batch);
    sf_batchw_finish (&batch);
    inbroker_send (self, true, worker, SF_CMD_RESULTS, batch.buffer.data, batch.buffer.size);
    sf_batchw_destroy (&batch);
}

int
inbroker_group_result (const inbroker_msg_t *msg, char state [16], sf_status_t *statuses,
                       size_t max)
{
    if (msg->command != SF_CMD_GROUP_RESULT)
        return -1;
    sf_batchr_t reader;
    sf_error_t error;
    if (sf_batchr_open (&reader, msg->body, msg->size, 2, SF_BATCH_MAX, &error)) {
        sf_batchr_close (&reader);
        return -1;
    }
    //  The header again, for the state
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object header;
    const char *why;
    sf_mp_next (&unpacked, msg->body, msg->size, &offset, &header, NULL, NULL, &why);
    sf_mp_strcpy (sf_mp_get (&header, "state"), state, 16);
    msgpack_unpacked_destroy (&unpacked);
    int count = 0;
    msgpack_object head;
    int rc;
    while ((rc = sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error)) == 0) {
        sf_result_head_t result;
        char analyzer [SF_NAME_MAX + 1], worker [SF_NAME_MAX + 1];
        if (sf_codec_read_result_head (&head, &result, analyzer, worker, &error)) {
            rc = -1;
            break;
        }
        if ((size_t) count < max)
            statuses [count] = result.status;
        count++;
    }
    sf_batchr_close (&reader);
    return rc < 0? -1: count;
}

//  ==========================================================================
//  Invariants

int
inbroker_check (inbroker_t *self, char *why, size_t size)
{
    sf_broker_t *broker = self->broker;
    size_t unfinished = 0, delayed = 0, queued = 0, running = 0, grouped = 0, dead = 0;
    size_t bytes = 0;
    for (sf_entry_t *entry = sf_ledger_first (broker->ledger); entry;
         entry = sf_ledger_next (broker->ledger)) {
        if (entry->state != SF_JOB_FINISHED) {
            unfinished++;
            bytes += entry->spec_size;
        }
        else
        if (entry->status == SF_STATUS_DEAD && !entry->group)
            dead++;
        queued += entry->state == SF_JOB_QUEUED;
        delayed += entry->state == SF_JOB_DELAYED;
        running += entry->state == SF_JOB_RUNNING;
        grouped += entry->group != NULL;
        if (entry->state == SF_JOB_FINISHED && entry->status == SF_STATUS_DEAD
        &&  entry->losses < broker->config.max_losses
        &&  (entry->retries == 0 || entry->failures < entry->retries)) {
            snprintf (why, size, "a job ended dead with retries left (%u of %u used) "
                      "and %u worker deaths", entry->failures, entry->retries, entry->losses);
            return -1;
        }
        if ((entry->state == SF_JOB_RUNNING) != (entry->worker != NULL)) {
            snprintf (why, size, "a job is %s but %s a worker",
                      entry->state == SF_JOB_RUNNING? "running": "not running",
                      entry->worker? "has": "has no");
            return -1;
        }
    }
    size_t depth = 0, queue_running = 0;
    for (sf_queue_t *queue = (sf_queue_t *) zhashx_first (broker->queues); queue;
         queue = (sf_queue_t *) zhashx_next (broker->queues)) {
        depth += queue->depth;
        queue_running += queue->running;
    }
    size_t inflight = 0;
    for (sf_wrec_t *worker = sf_registry_first (broker->registry); worker;
         worker = sf_registry_next (broker->registry))
        inflight += worker->inflight.size;
    size_t members = 0;
    for (sf_group_t *group = (sf_group_t *) zlistx_first (sf_groups_list (broker->groups));
         group; group = (sf_group_t *) zlistx_next (sf_groups_list (broker->groups)))
        members += group->total + (group->launched? 1: 0);

    if (unfinished != broker->unfinished)
        snprintf (why, size, "the broker counts %zu unfinished jobs, its ledger holds %zu",
                  broker->unfinished, unfinished);
    else
    if (bytes != broker->bytes_held)
        snprintf (why, size, "the broker counts %zu bytes held, its unfinished jobs hold %zu",
                  broker->bytes_held, bytes);
    else
    if (delayed != broker->delayed)
        snprintf (why, size, "the broker counts %zu retrying jobs, its ledger holds %zu",
                  broker->delayed, delayed);
    else
    if (queued != depth)
        snprintf (why, size, "the queues count %zu queued jobs, the ledger holds %zu",
                  depth, queued);
    else
    if (running != queue_running || running != inflight)
        snprintf (why, size, "running jobs: %zu in the ledger, %zu by the queues, "
                  "%zu at workers", running, queue_running, inflight);
    else
    if (dead != sf_ledger_dead_count (broker->ledger))
        snprintf (why, size, "the ledger counts %zu dead letters and holds %zu",
                  sf_ledger_dead_count (broker->ledger), dead);
    else
    if (zlistx_size (broker->outbox.acks))
        snprintf (why, size, "%zu acknowledgements outlived their pass",
                  zlistx_size (broker->outbox.acks));
    else
    if (!broker->degraded && zlistx_size (broker->outbox.held))
        snprintf (why, size, "%zu replies held while the store commits",
                  zlistx_size (broker->outbox.held));
    else
    if (grouped != members)
        //  Checked before any group's items are read: an item the ledger
        //  lost would be freed memory
        snprintf (why, size, "the groups hold %zu jobs, the ledger %zu of theirs",
                  members, grouped);
    else
        why [0] = 0;
    if (why [0])
        return -1;

    for (sf_group_t *group = (sf_group_t *) zlistx_first (sf_groups_list (broker->groups));
         group; group = (sf_group_t *) zlistx_next (sf_groups_list (broker->groups))) {
        uint32_t finished = 0;
        for (uint32_t i = 0; i < group->total; i++) {
            sf_entry_t *item = group->items [i];
            if (item->group != group || sf_ledger_find (broker->ledger, item->id) != item) {
                snprintf (why, size, "item %u of a group is not the ledger's", i);
                return -1;
            }
            finished += item->state == SF_JOB_FINISHED;
        }
        if (finished != group->finished) {
            snprintf (why, size, "a group counts %u finished items and has %u", group->finished,
                      finished);
            return -1;
        }
        if (group->answered && group->state == SF_GROUP_RUNNING) {
            snprintf (why, size, "a group answered while running");
            return -1;
        }
        if (!group->answered && group->deadline_us
        &&  group->deadline_us <= broker->clock ()) {
            snprintf (why, size, "a group past its deadline has not answered");
            return -1;
        }
    }
    return 0;
}
