/*  =========================================================================
    sf_client - a connection to the broker's frontend (API in sheaf.h)

    One DEALER socket. Every request carries a tag; the reply with the same
    tag ends a synchronous call. Results may arrive at any moment, also in
    the middle of a synchronous call: they are set aside in a stash, oldest
    first, and handed out by sf_client_wait and sf_client_recv.

    The client keeps the jobs whose result it waits for (waits): the jobs of
    its accepted SUBMITs, their follow-ups, and the jobs it FETCHes with
    wait. The broker pushes a result only to the job's submitter (as it
    knows it: a routing id) and to clients that FETCHed it with wait, so
    two cases need a FETCH of the client's own:

    - a job with a key: the broker answers a key it knows with the existing
      job's id, and that job's result goes to the client that created it.
      Every keyed job is fetched once accepted;
    - a new connection: a broker that restarted knows no client, and one
      that saw this client reconnect knows it under a new routing id
      (docs/PROTOCOL.md 9.7). A ZeroMQ socket monitor reports the
      dealer's connection events on a PAIR socket; when a connection comes
      up after one went down, every job and group still waited for is
      fetched again.

    A result can then come twice (the submitter's push and a FETCH's
    answer); the second copy is dropped. A delivered job that was fetched is
    kept a while for that (settled), since nothing tells when the FETCH's
    answer has come; a job that was never fetched has one copy and is
    forgotten at once.
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

//  How long a delivered job that was fetched is kept to drop a second copy
//  of its result. A FETCH is answered at once for a finished job, so a
//  second copy comes within a round trip; a minute covers a broker that is
//  slow to answer.
#define S_SETTLE_MS 60000

//  How long closing waits for queued messages to reach a connected broker.
//  To a broker that is not connected nothing can be delivered: closing
//  then drops them at once.
#define S_LINGER_MS 2000

struct _sf_client_t {
    zsock_t *dealer;            //  Connection to the broker
    zsock_t *monitor;           //  The dealer's connection events (PAIR), or NULL
    bool connected;             //  A connection to the broker is up
    bool lost;                  //  One went down since the last came up
    bool closing;               //  Being destroyed: nothing is sent any more
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
    zhashx_t *waits;            //  Jobs whose result is waited for, by id (s_wait_t)
    zhashx_t *fetches;          //  The same by the tag of their last FETCH (borrowed)
    zlistx_t *settled;          //  Delivered waits kept for a second copy, oldest first
                                //  (borrowed)
    zlistx_t *keyed;            //  Sent SUBMITs with keyed jobs, until answered (s_keyed_t)
    zlistx_t *gathers;          //  Groups waiting for their answer (s_pending_t)
    uint64_t fetch_tag;         //  Tag of the group FETCH in progress, 0 if none
    uint8_t fetch_id [SF_UUID_SIZE];    //  The group it asks for
    bool fetch_wait;            //  It waits for the answer
    sf_gather_t *fetched;       //  Its answer, once arrived
};

//  A job whose result this client waits for.
typedef struct {
    uint8_t id [SF_UUID_SIZE];  //  The job (the key in waits points here)
    uint64_t tag;               //  Tag of its last FETCH (the key in fetches), 0 if none
    bool own;                   //  Accepted from this client's SUBMIT, or a follow-up of one
    bool fetched;               //  A FETCH was sent: the result may come twice
    bool delivered;             //  Its result went to the stash
    int64_t settled_at;         //  zclock_mono when delivered, if kept
    void *settled;              //  Its handle in settled, or NULL
} s_wait_t;

//  A sent SUBMIT with keyed jobs: which of them to fetch once accepted.
typedef struct {
    uint64_t tag;               //  The SUBMIT's tag
    size_t count;               //  Jobs in the batch
    bool *keyed;                //  Which of them carry a key
} s_keyed_t;

//  A group this client submitted and has not had the answer of.
typedef struct {
    uint8_t group [SF_UUID_SIZE];   //  Its id
    uint64_t tag;               //  The GROUP's tag
    uint64_t refetch;           //  Tag of the FETCH sent after a reconnect, 0 if none
    sf_gather_t *gather;        //  The answer being built
    sf_gather_item_fn *on_item; //  Streamed items go here, if set
    sf_gather_done_fn *on_done; //  The answer goes here, if set
    void *arg;                  //  For the callbacks
    bool done;                  //  The answer arrived (no on_done)
    bool lost;                  //  The broker no longer knows the group (error says why)
    sf_error_t error;           //  Why it was lost
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

//  Copy an error to the caller's, which may be NULL; returns -1.
static int
s_error_copy (sf_error_t *error, const sf_error_t *from)
{
    if (error)
        *error = *from;
    return -1;
}

//  The error of a call on a NULL client.
static int
s_no_client (sf_error_t *error)
{
    return sf_error_set (error, "BAD_INPUT", "no client (sf_client_new failed)");
}

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

static void
s_wait_destructor (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_keyed_destructor (void **item)
{
    s_keyed_t *keyed = (s_keyed_t *) *item;
    free (keyed->keyed);
    free (keyed);
    *item = NULL;
}

//  zhashx callbacks for tags (uint64_t) as keys.
static size_t
s_tag_hash (const void *key)
{
    return (size_t) (*(const uint64_t *) key * 0x9e3779b97f4a7c15ULL);
}

static int
s_tag_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
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
    //  The monitor is in place before the dealer connects, so that its
    //  first connection is seen. A client without one (no socket left)
    //  still works, without noticing reconnects.
    static uint64_t s_monitors = 0;
    char watch [64];
    snprintf (watch, sizeof watch, "inproc://sf-client-monitor-%d-%llu", (int) getpid (),
              (unsigned long long) __atomic_add_fetch (&s_monitors, 1, __ATOMIC_RELAXED));
    zsock_t *monitor = NULL;
    if (zmq_socket_monitor (zsock_resolve (dealer), watch,
                            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == 0) {
        monitor = zsock_new (ZMQ_PAIR);
        if (monitor && zsock_connect (monitor, "%s", watch))
            zsock_destroy (&monitor);
    }
    if (!monitor)
        sf_log_warning ("client: cannot watch the connection to the broker: %s",
                        zmq_strerror (errno));
    if (zsock_connect (dealer, "%s", endpoint)) {
        zmq_socket_monitor (zsock_resolve (dealer), NULL, 0);
        zsock_destroy (&monitor);
        zsock_destroy (&dealer);
        return NULL;
    }
    sf_client_t *self = (sf_client_t *) sf_alloc (sizeof *self);
    self->dealer = dealer;
    self->monitor = monitor;
    self->timeout_ms = 5000;
    self->busy_wait_ms = 30000;
    self->next_tag = 1;
    self->stash = zlistx_new ();
    zlistx_set_destructor (self->stash, s_result_destructor);
    self->waits = sf_uuid_table (false);
    zhashx_set_destructor (self->waits, s_wait_destructor);
    self->fetches = zhashx_new ();
    zhashx_set_key_hasher (self->fetches, s_tag_hash);
    zhashx_set_key_comparator (self->fetches, s_tag_compare);
    zhashx_set_key_duplicator (self->fetches, NULL);
    zhashx_set_key_destructor (self->fetches, NULL);
    self->settled = zlistx_new ();
    self->keyed = zlistx_new ();
    zlistx_set_destructor (self->keyed, s_keyed_destructor);
    self->gathers = zlistx_new ();
    zlistx_set_destructor (self->gathers, s_pending_destructor);
    sf_batchw_init (&self->writer);
    sf_msg_init (&self->msg);
    return self;
}

static void s_watch (sf_client_t *self);

void
sf_client_destroy (sf_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_client_t *self = *self_p;
    //  Whether a broker is connected decides how long closing may wait
    self->closing = true;
    s_watch (self);
    if (self->monitor) {
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
        zsock_destroy (&self->monitor);
    }
    zsock_set_linger (self->dealer, self->connected? S_LINGER_MS: 0);
    zsock_destroy (&self->dealer);
    sf_msg_close (&self->msg);
    sf_batchw_destroy (&self->writer);
    zlistx_destroy (&self->stash);
    zlistx_destroy (&self->settled);
    zhashx_destroy (&self->fetches);
    zhashx_destroy (&self->waits);
    zlistx_destroy (&self->keyed);
    zlistx_destroy (&self->gathers);
    sf_gather_destroy (&self->fetched);
    free (self->ids);
    free (self);
    *self_p = NULL;
}

void
sf_client_set_timeout (sf_client_t *self, int timeout_ms)
{
    if (self)
        self->timeout_ms = timeout_ms;
}

void
sf_client_set_busy_wait (sf_client_t *self, int busy_wait_ms)
{
    if (self)
        self->busy_wait_ms = busy_wait_ms < 0? 0: busy_wait_ms;
}

int
sf_client_fd (sf_client_t *self)
{
    return self? zsock_fd (self->dealer): -1;
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

//  --------------------------------------------------------------------------
//  The jobs waited for.

//  The wait for job id, made if there is none.
static s_wait_t *
s_wait_add (sf_client_t *self, const uint8_t id [SF_UUID_SIZE])
{
    s_wait_t *wait = (s_wait_t *) zhashx_lookup (self->waits, id);
    if (!wait) {
        wait = (s_wait_t *) sf_alloc (sizeof *wait);
        memcpy (wait->id, id, SF_UUID_SIZE);
        zhashx_insert (self->waits, wait->id, wait);
    }
    return wait;
}

//  Forget the tag of the wait's last FETCH.
static void
s_wait_untag (sf_client_t *self, s_wait_t *wait)
{
    if (wait->tag) {
        zhashx_delete (self->fetches, &wait->tag);
        wait->tag = 0;
    }
}

//  Stop waiting for a job; frees the wait.
static void
s_wait_forget (sf_client_t *self, s_wait_t *wait)
{
    s_wait_untag (self, wait);
    if (wait->settled)
        zlistx_delete (self->settled, wait->settled);
    zhashx_delete (self->waits, wait->id);
}

static int s_send_fetch (sf_client_t *self, const uint8_t id [SF_UUID_SIZE], bool wait,
                         uint64_t *tag, sf_error_t *error);

//  FETCH the waited-for job with wait: its result comes to this client
//  whatever the broker knows of it (pushed when the job ends, or now if it
//  has). Returns 0, or -1 with error.
static int
s_wait_fetch (sf_client_t *self, s_wait_t *wait, sf_error_t *error)
{
    s_wait_untag (self, wait);
    uint64_t tag;
    if (s_send_fetch (self, wait->id, true, &tag, error))
        return -1;
    wait->tag = tag;
    wait->fetched = true;
    zhashx_insert (self->fetches, &wait->tag, wait);
    return 0;
}

//  Forget the delivered waits kept longer than S_SETTLE_MS.
static void
s_expire (sf_client_t *self)
{
    if (zlistx_size (self->settled) == 0)
        return;
    int64_t now = zclock_mono ();
    s_wait_t *wait;
    while ((wait = (s_wait_t *) zlistx_first (self->settled))
       &&  now - wait->settled_at > S_SETTLE_MS)
        s_wait_forget (self, wait);
}

//  A result arrived. Returns true when it goes to the application, false
//  for a second copy of one it had.
static bool
s_arrived (sf_client_t *self, const sf_result_t *result)
{
    s_wait_t *wait = (s_wait_t *) zhashx_lookup (self->waits, sf_result_id_bytes (result));
    if (!wait)
        return true;            //  Nothing waited for it: a FETCH without wait
    if (wait->delivered) {
        s_wait_forget (self, wait);
        return false;
    }
    //  A job of this client's ended ok and started its follow-up, whose
    //  result comes to the same client, or, for a job known by its key,
    //  to the client that created it: the follow-up is fetched then
    const uint8_t *then = sf_result_then_bytes (result);
    if (then && wait->own) {
        s_wait_t *next = s_wait_add (self, then);
        next->own = true;
        if (wait->fetched && !next->delivered)
            s_wait_fetch (self, next, NULL);
    }
    wait->delivered = true;
    s_wait_untag (self, wait);
    if (wait->fetched) {
        wait->settled_at = zclock_mono ();
        wait->settled = zlistx_add_end (self->settled, wait);
    }
    else
        s_wait_forget (self, wait);
    return true;
}

//  A SUBMIT was accepted: wait for each of its jobs, and fetch those with
//  a key, which may be another client's jobs.
static void
s_accepted (sf_client_t *self, uint64_t tag)
{
    s_keyed_t *keyed = NULL;
    for (keyed = (s_keyed_t *) zlistx_first (self->keyed); keyed;
         keyed = (s_keyed_t *) zlistx_next (self->keyed))
        if (keyed->tag == tag)
            break;
    //  A key that names a job whose result was handed out already (and is
    //  still remembered) brings no second copy: one result per job
    for (size_t i = 0; i < self->ids_count; i++) {
        s_wait_t *wait = s_wait_add (self, self->ids [i]);
        wait->own = true;
        if (keyed && i < keyed->count && keyed->keyed [i] && !wait->tag && !wait->delivered)
            s_wait_fetch (self, wait, NULL);
    }
    if (keyed)
        zlistx_delete (self->keyed, zlistx_cursor (self->keyed));
}

//  An ERROR came: a FETCH the client sent by itself was refused (the
//  broker does not know the job or group: a store that kept nothing
//  across a restart), or a SUBMIT was.
static void
s_refused (sf_client_t *self, const s_reply_t *reply)
{
    uint64_t tag = reply->tag;
    if (tag == 0)
        return;
    s_wait_t *wait = (s_wait_t *) zhashx_lookup (self->fetches, &tag);
    if (wait) {
        char id [SF_ID_STRLEN + 1];
        sf_uuid_str (wait->id, id);
        sf_log_warning ("client: no result will come for job %s: %s (%s)", id,
                        reply->error.message, reply->error.code);
        s_wait_forget (self, wait);
        return;
    }
    for (s_keyed_t *keyed = (s_keyed_t *) zlistx_first (self->keyed); keyed;
         keyed = (s_keyed_t *) zlistx_next (self->keyed))
        if (keyed->tag == tag) {
            zlistx_delete (self->keyed, zlistx_cursor (self->keyed));
            return;
        }
    for (s_pending_t *pending = (s_pending_t *) zlistx_first (self->gathers); pending;
         pending = (s_pending_t *) zlistx_next (self->gathers))
        if (pending->refetch == tag) {
            pending->lost = true;
            pending->error = reply->error;
            //  A group started with callbacks ends here: its caller
            //  sees the ERROR as a REJECTED event
            if (pending->on_done)
                zlistx_delete (self->gathers, zlistx_cursor (self->gathers));
            return;
        }
}

//  --------------------------------------------------------------------------
//  The connection: a new one after one was lost asks again for everything
//  still waited for.

static void
s_reconnected (sf_client_t *self)
{
    size_t jobs = 0, groups = 0;
    for (s_wait_t *wait = (s_wait_t *) zhashx_first (self->waits); wait;
         wait = (s_wait_t *) zhashx_next (self->waits))
        if (!wait->delivered && s_wait_fetch (self, wait, NULL) == 0)
            jobs++;
    for (s_pending_t *pending = (s_pending_t *) zlistx_first (self->gathers); pending;
         pending = (s_pending_t *) zlistx_next (self->gathers))
        if (!pending->done && !pending->lost
        &&  s_send_fetch (self, pending->group, true, &pending->refetch, NULL) == 0)
            groups++;
    if (self->fetch_tag && self->fetch_wait)
        s_send_fetch (self, self->fetch_id, true, &self->fetch_tag, NULL);
    sf_log_debug ("client: connected to the broker again; fetching %zu jobs and %zu groups",
                  jobs, groups);
}

//  Read the dealer's connection events that have come.
static void
s_watch (sf_client_t *self)
{
    if (!self->monitor)
        return;
    void *handle = zsock_resolve (self->monitor);
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    while (zmq_msg_recv (&frame, handle, ZMQ_DONTWAIT) >= 0) {
        //  An event is a frame of uint16_t event and uint32_t value, then
        //  a frame with the endpoint
        uint16_t event = 0;
        if (zmq_msg_size (&frame) >= sizeof event)
            memcpy (&event, zmq_msg_data (&frame), sizeof event);
        while (zmq_msg_more (&frame) && zmq_msg_recv (&frame, handle, ZMQ_DONTWAIT) >= 0)
            ;
        if (event == ZMQ_EVENT_DISCONNECTED) {
            self->connected = false;
            self->lost = true;
        }
        else
        if (event == ZMQ_EVENT_CONNECTED) {
            self->connected = true;
            if (self->lost && !self->closing)
                s_reconnected (self);
            self->lost = false;
        }
    }
    zmq_msg_close (&frame);
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
        if (s_arrived (self, result))
            zlistx_add_end (self->stash, result);
        else
            sf_result_destroy (&result);
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
    //  A group's answer carries its GROUP's tag or, after a reconnect, the
    //  tag of the FETCH sent then (0 when that FETCH waited). Another tag
    //  is a FETCH of this client's own group: not its answer.
    s_pending_t *pending = s_pending_find (self, head.group);
    if (pending && !item && head.tag != pending->tag
    &&  !(pending->refetch && (head.tag == pending->refetch || head.tag == 0)))
        pending = NULL;         //  A FETCH of our own group: not its answer
    //  The broker answers its owner's waiting FETCH through the group's own
    //  answer: that answer ends the FETCH too
    bool own_fetched = !item && pending && self->fetch_tag
                    && memcmp (head.group, self->fetch_id, SF_UUID_SIZE) == 0;
    //  A FETCH is answered with its tag now, or with tag 0 when it waited
    if (!item && self->fetch_tag
    &&  (head.tag == self->fetch_tag
     || (head.tag == 0 && memcmp (head.group, self->fetch_id, SF_UUID_SIZE) == 0))) {
        sf_gather_destroy (&self->fetched);
        self->fetched = sf_gather_new (head.group, head.total);
        for (uint32_t i = 0; i < head.n; i++)
            sf_gather_put (self->fetched, results [i], head.then && i + 1 == head.n);
        free (results);
        sf_gather_finish (self->fetched, &head);
        own_fetched = false;
        if (!pending)
            return 0;
        //  After a reconnect the group's own wait asked too, and the broker
        //  answers a client once: the answer ends both, each with its copy
        if (sf_gather_decode (sf_msg_data (&self->msg), sf_msg_size (&self->msg), item, &head,
                              &results, error))
            return -1;
    }
    sf_gather_t *gather = pending? pending->gather: NULL;
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
    s_expire (self);
    void *dealer = zsock_resolve (self->dealer);
    sf_error_t error;
    int rc;
    //  Connection events are read before each message, so that a new
    //  connection is noticed also while messages keep coming
    while (true) {
        s_watch (self);
        rc = sf_msg_recv (&self->msg, dealer, false, &error);
        if (rc != 1)
            break;
        zmq_pollitem_t items [] = {
            { dealer, 0, ZMQ_POLLIN, 0 },
            { self->monitor? zsock_resolve (self->monitor): NULL, 0, ZMQ_POLLIN, 0 }
        };
        if (zmq_poll (items, self->monitor? 2: 1, s_left (deadline)) <= 0)
            return 1;           //  Nothing in time, or a signal
    }
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
                self->has_group = sf_codec_id (sf_mp_get (&body, "group"), self->group) == 0;
                if (s_take_ids (self, sf_mp_get (&body, "ids")))
                    reply->command = -1;
                else
                if (!self->has_group)
                    s_accepted (self, reply->tag);
                break;
            case SF_CMD_ERROR:
                if (sf_mp_strcpy (sf_mp_get (&body, "code"), reply->error.code,
                                  sizeof reply->error.code))
                    strcpy (reply->error.code, "UNKNOWN");
                if (sf_mp_strcpy (sf_mp_get (&body, "message"), reply->error.message,
                                  sizeof reply->error.message))
                    reply->error.message [0] = 0;
                sf_mp_uint (sf_mp_get (&body, "retry_after_ms"), 60000, &reply->retry_after_ms);
                s_refused (self, reply);
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
    if (!self)
        return s_no_client (error);
    if (!jobs || count == 0 || count > SF_BATCH_MAX)
        return sf_error_set (error, "BAD_INPUT", "a batch holds 1-%d jobs, not %zu",
                             SF_BATCH_MAX, jobs? count: 0);
    for (size_t i = 0; i < count; i++)
        if (!jobs [i])
            return sf_error_set (error, "BAD_INPUT", "job %zu of the batch is NULL", i);
    uint64_t sent = self->next_tag++;
    if (tag)
        *tag = sent;
    sf_batchw_reset (&self->writer, sent);
    s_keyed_t *keyed = NULL;
    for (size_t i = 0; i < count; i++) {
        sf_job_pack (jobs [i], &self->writer.packer);
        sf_batchw_item (&self->writer);
        if (sf_job_key (jobs [i])) {
            if (!keyed) {
                keyed = (s_keyed_t *) sf_alloc (sizeof *keyed);
                keyed->tag = sent;
                keyed->count = count;
                keyed->keyed = (bool *) sf_alloc_array (count, sizeof (bool));
            }
            keyed->keyed [i] = true;
        }
    }
    sf_batchw_finish (&self->writer);
    if (sf_msg_send (zsock_resolve (self->dealer), NULL, 0, SF_CMD_SUBMIT,
                     self->writer.buffer.data, self->writer.buffer.size)) {
        if (keyed)
            s_keyed_destructor ((void **) &keyed);
        return sf_error_set (error, "UNREACHABLE", "could not send to the broker: %s",
                             zmq_strerror (errno));
    }
    if (keyed)
        zlistx_add_end (self->keyed, keyed);
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
        s_error_copy (error, &reply.error);
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
    if (!self)
        return s_no_client (error);
    if (!ids)
        return sf_error_set (error, "BAD_INPUT", "no room for the ids");
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
        s_error_copy (error, &reply.error);
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
    if (!self) {
        s_no_client (error);
        return NULL;
    }
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
    if (!self) {
        s_no_client (error);
        return NULL;
    }
    uint8_t binary [SF_UUID_SIZE];
    if (!id || sf_uuid_parse (id, binary)) {
        sf_error_set (error, "BAD_INPUT", "\"%.40s\" is not a job id (a UUID)", id? id: "");
        return NULL;
    }
    char canonical [SF_ID_STRLEN + 1];
    sf_uuid_str (binary, canonical);
    sf_result_t *result = s_unstash (self, canonical);
    if (result)
        return result;

    //  Asked again for a result handed out already: the next copy is
    //  welcome, not a duplicate
    s_wait_t *known = (s_wait_t *) zhashx_lookup (self->waits, binary);
    if (known && known->delivered) {
        s_wait_forget (self, known);
        known = NULL;
    }
    //  With wait the job is waited for like a submitted one: fetched again
    //  after a reconnect, and its result once however many copies come
    uint64_t tag;
    if (wait) {
        //  A FETCH already sent on this connection (a keyed job's) answers
        //  as well as a new one would
        known = s_wait_add (self, binary);
        if (!known->tag && s_wait_fetch (self, known, error))
            return NULL;
        tag = known->tag;
    }
    else {
        if (known)
            known->fetched = true;      //  The answer may come as well as the push
        if (s_send_fetch (self, binary, false, &tag, error))
            return NULL;
    }

    //  The answer is a RESULT (now, or when the job ends if wait), a STATE
    //  or an ERROR with the FETCH's tag (after a reconnect: the tag of the
    //  FETCH sent then, and the wait is forgotten)
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
        if (reply.command == SF_CMD_ERROR
        &&  (reply.tag == tag || (wait && !zhashx_lookup (self->waits, binary)))) {
            s_error_copy (error, &reply.error);
            return NULL;
        }
        if (reply.command == SF_CMD_STATE && reply.tag == tag) {
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
    if (!self) {
        s_no_client (error);
        return NULL;
    }
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
    if (!self)
        return s_no_client (error);
    uint8_t binary [SF_UUID_SIZE];
    if (!id || sf_uuid_parse (id, binary))
        return sf_error_set (error, "BAD_INPUT", "\"%.40s\" is not a job id", id? id: "");
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
    if (reply.command == SF_CMD_ERROR)
        return s_error_copy (error, &reply.error);
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
    if (!self || !op) {
        if (self)
            sf_error_set (error, "BAD_INPUT", "no dead-letter operation");
        else
            s_no_client (error);
        return NULL;
    }
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
    if (!event)
        return -1;
    memset (event, 0, sizeof *event);
    if (!self) {
        event->kind = SF_EVENT_REJECTED;
        s_no_client (&event->error);
        return 0;
    }
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
    if (!self || !id || index >= self->ids_count)
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
    if (!self) {
        s_no_client (error);
        return NULL;
    }
    if (!opts)
        opts = &defaults;
    size_t items = count + (opts->then? 1: 0);
    for (size_t i = 0; jobs && i < count; i++)
        if (!jobs [i]) {
            sf_error_set (error, "BAD_INPUT", "job %zu of the group is NULL", i);
            return NULL;
        }
    if (!jobs || count == 0 || items > SF_BATCH_MAX) {
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
        s_error_copy (error, &reply.error);
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
    if (group_id)
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
        if (pending->lost) {
            s_error_copy (error, &pending->error);
            zlistx_delete (self->gathers, zlistx_find (self->gathers, pending));
            return NULL;
        }
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
    if (!self) {
        s_no_client (error);
        return NULL;
    }
    uint8_t binary [SF_UUID_SIZE];
    if (!id || sf_uuid_parse (id, binary)) {
        sf_error_set (error, "BAD_INPUT", "\"%.40s\" is not a group id (a UUID)",
                      id? id: "");
        return NULL;
    }
    char canonical [SF_ID_STRLEN + 1];
    sf_uuid_str (binary, canonical);
    uint64_t tag;
    if (s_send_fetch (self, binary, wait, &tag, error))
        return NULL;
    //  After a reconnect the FETCH is sent again and fetch_tag is its tag
    self->fetch_tag = tag;
    self->fetch_wait = wait;
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
        if (stashed
        ||  (reply.command == SF_CMD_STATE && reply.tag == self->fetch_tag && !reply.group)) {
            sf_error_set (error, "NOT_A_GROUP", "%s is a job, not a group", canonical);
            break;
        }
        if (reply.tag != self->fetch_tag)
            continue;
        if (reply.command == SF_CMD_ERROR) {
            s_error_copy (error, &reply.error);
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
