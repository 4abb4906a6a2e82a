/*  =========================================================================
    sf_worker - a worker process's I/O side

    One zloop on the I/O thread: a reader for the broker's DEALER socket, a
    reader per pool thread, a heartbeat timer. Analyzers never run here.

    Heartbeating follows the Paranoid Pirate pattern: each side sends a
    heartbeat every interval and takes any message as a sign of life. After
    `liveness` silent intervals the worker closes its socket and connects
    again, waiting 1 s, 2 s, … up to 32 s between tries, then registers with
    READY. The socket's routing id is fixed for the process, so the broker
    recognises it across reconnects.

    Nothing acknowledged is lost across a reconnect: the worker tracks the
    jobs it holds (running, waiting, or answered but not yet sent) and lists
    them in READY as "holding". The broker requeues whatever else it
    thought this worker had (e.g. results lost with the old socket), and
    results finished while disconnected go out after READY.

    Draining uses the same rule. On SIGTERM the pool withdraws every job
    that has not started, and the worker registers again with READY: those
    jobs are not in "holding", so the broker puts them back in their queues
    at once, and one slot keeps it from sending more while the running
    jobs finish. Their results go out as usual; when the worker holds
    nothing more, or the grace period is over (the rest is cancelled), it
    sends DISCONNECT, and the broker requeues whatever is left. Results
    must leave before DISCONNECT: after it, their lease is gone.
    ========================================================================= */

#include <czmq.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "sf_analyzers.h"
#include "sf_cache.h"
#include "sf_codec.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_msg.h"
#include "sf_pool.h"
#include "sf_worker.h"

#define S_BACKOFF_MIN 1000
#define S_BACKOFF_MAX 32000

struct _sf_worker_t {
    sf_worker_config_t config;  //  Settings (strings borrowed)
    char name [SF_NAME_MAX + 1];        //  Name given to the broker
    char identity [SF_NAME_MAX + 20];   //  Routing id: name + random suffix
    zloop_t *loop;              //  The reactor
    zsock_t *dealer;            //  To the broker; NULL while reconnecting
    sf_pool_t *pool;            //  Analyzer threads
    sf_cache_t *cache;          //  Candles read, shared by the pool's threads
    sf_source_t *source;        //  Where they come from (the cache's) or NULL
    sf_batchw_t out;            //  RESULTS not yet sent
    msgpack_sbuffer out_ids;    //  Ids of the jobs in out, 16 bytes each
    zhashx_t *held;             //  Ids of jobs held, not yet answered on the wire
    sf_msg_t msg;               //  Message being read
    msgpack_sbuffer body;       //  Scratch body
    int liveness;               //  Intervals left before reconnecting
    int backoff_ms;             //  Wait before the next reconnect
    int signal_fd;              //  SIGINT and SIGTERM (signalfd)
    bool draining;              //  A stop signal came: finishing, taking nothing
    size_t finished;            //  Jobs answered since draining began
    size_t returned;            //  Jobs withdrawn while draining
};

void
sf_worker_config_defaults (sf_worker_config_t *config)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    config->broker = SF_DEFAULT_BACKEND;
    config->name = NULL;
    config->threads = cores > 0? (size_t) cores: 1;
    config->slots = 0;          //  0: 8 per thread
    config->heartbeat_ms = 1000;
    config->liveness = 3;
    config->tests = false;
    config->data_dir = NULL;
    config->data_db = NULL;
    config->data_db_connections = 0;
    config->data_cache = SF_CACHE_DEFAULT;
    config->plugins = NULL;
    config->grace_ms = 10000;
}

void
sf_worker_block_signals (void)
{
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
}

static int s_broker_reader (zloop_t *loop, zsock_t *socket, void *arg);

//  Send a message to the broker. Returns 0 or -1.
static int
s_send (sf_worker_t *self, int command, const char *body, size_t size)
{
    if (!self->dealer)
        return -1;
    return sf_msg_send (zsock_resolve (self->dealer), NULL, 0, command, body, size);
}

static void
s_send_nil (sf_worker_t *self, int command)
{
    char nil = (char) 0xc0;
    s_send (self, command, &nil, 1);
}

//  Send the results staged in out; they stay staged if that fails.
static void
s_flush_results (sf_worker_t *self)
{
    if (self->out.count == 0)
        return;
    sf_batchw_finish (&self->out);
    if (s_send (self, SF_CMD_RESULTS, self->out.buffer.data, self->out.buffer.size))
        return;
    for (size_t i = 0; i < self->out_ids.size; i += SF_UUID_SIZE)
        zhashx_delete (self->held, self->out_ids.data + i);
    msgpack_sbuffer_clear (&self->out_ids);
    sf_batchw_reset (&self->out, 0);
}

//  READY {name, slots, analyzers, holding}. Draining, one slot: the broker
//  sends nothing while the worker holds a job.
static void
s_send_ready (sf_worker_t *self)
{
    msgpack_sbuffer_clear (&self->body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    sf_mp_pack_kv_str (&pk, "name", self->name);
    sf_mp_pack_kv_uint (&pk, "slots", self->draining? 1: self->config.slots);
    size_t served = 0;
    for (size_t i = 0; i < sf_analyzers_count (); i++)
        served += sf_analyzers_served (sf_analyzers_at (i), self->config.tests);
    sf_mp_pack_str (&pk, "analyzers");
    msgpack_pack_array (&pk, served);
    for (size_t i = 0; i < sf_analyzers_count (); i++) {
        const sf_analyzer_t *analyzer = sf_analyzers_at (i);
        if (!sf_analyzers_served (analyzer, self->config.tests))
            continue;
        msgpack_pack_map (&pk, 2);
        sf_mp_pack_kv_str (&pk, "name", analyzer->name);
        sf_mp_pack_kv_str (&pk, "version", analyzer->version);
    }
    sf_mp_pack_str (&pk, "holding");
    msgpack_pack_array (&pk, zhashx_size (self->held));
    for (void *item = zhashx_first (self->held); item; item = zhashx_next (self->held)) {
        msgpack_pack_bin (&pk, SF_UUID_SIZE);
        msgpack_pack_bin_body (&pk, zhashx_cursor (self->held), SF_UUID_SIZE);
    }
    s_send (self, SF_CMD_READY, self->body.data, self->body.size);
    sf_log_debug ("worker: READY sent (worker=%s holding=%zu)", self->name,
                  zhashx_size (self->held));
}

//  Open a socket to the broker and register.
static int
s_connect (sf_worker_t *self)
{
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer)
        return -1;
    zsock_set_identity (self->dealer, self->identity);
    zsock_set_linger (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 100000);
    zsock_set_rcvhwm (self->dealer, 100000);
    zsock_set_sndtimeo (self->dealer, self->config.heartbeat_ms);
    if (zsock_connect (self->dealer, "%s", self->config.broker)) {
        zsock_destroy (&self->dealer);
        return -1;
    }
    zloop_reader (self->loop, self->dealer, s_broker_reader, self);
    self->liveness = self->config.liveness;
    s_send_ready (self);
    s_flush_results (self);
    return 0;
}

static int
s_reconnect_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_worker_t *self = (sf_worker_t *) arg;
    sf_log_info ("worker: connecting to %s again (worker=%s)", self->config.broker, self->name);
    if (s_connect (self)) {
        sf_log_warning ("worker: cannot open a socket, trying again in %d ms", self->backoff_ms);
        zloop_timer (self->loop, (size_t) self->backoff_ms, 1, s_reconnect_timer, self);
    }
    return 0;
}

//  The broker went silent: drop the socket and try again after backoff.
static void
s_lose_broker (sf_worker_t *self)
{
    sf_log_warning ("worker: broker silent for %d heartbeats, reconnecting in %d ms (worker=%s)",
                    self->config.liveness, self->backoff_ms, self->name);
    zloop_reader_end (self->loop, self->dealer);
    zsock_destroy (&self->dealer);
    zloop_timer (self->loop, (size_t) self->backoff_ms, 1, s_reconnect_timer, self);
    if (self->backoff_ms < S_BACKOFF_MAX)
        self->backoff_ms *= 2;
}

//  --------------------------------------------------------------------------
//  Messages from the broker.

static void
s_on_dispatch (sf_worker_t *self, sf_msg_t *msg)
{
    sf_error_t error;
    sf_batchr_t reader;
    int rc = sf_batchr_open (&reader, sf_msg_data (msg), sf_msg_size (msg), 2,
                             SF_BATCH_MAX, &error);
    msgpack_object head;
    size_t start = reader.offset;
    while (rc == 0 && (rc = sf_batchr_next (&reader, &head, NULL, NULL, NULL, &error)) == 0) {
        uint8_t id [SF_UUID_SIZE];
        uint32_t attempt, timeout_ms;
        //  Draining, a job is not taken: the broker sent it before our READY
        //  (which requeued it) or takes it back at DISCONNECT
        if (sf_codec_read_dispatch_head (&head, id, &attempt, &timeout_ms, &error) == 0
        &&  !self->draining) {
            zhashx_update (self->held, id, (void *) 1);     //  A set: the value is unused
            sf_pool_add (self->pool, id, reader.data + start, reader.offset - start);
        }
        start = reader.offset;
    }
    if (rc < 0)
        sf_log_error ("worker: malformed DISPATCH from the broker: %s", error.message);
    sf_batchr_close (&reader);
    sf_pool_kick (self->pool);
}

//  STOP {ids}: jobs cancelled, or past their deadline at the broker. Only
//  jobs still held are stopped; the others have been answered already.
static void
s_on_stop (sf_worker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    msgpack_object body;
    size_t offset = 0;
    const char *why = "not a map";
    const msgpack_object *ids = NULL;
    if (sf_mp_next (&unpacked, sf_msg_data (msg), sf_msg_size (msg), &offset, &body,
                    NULL, NULL, &why) == 0)
        ids = sf_mp_get (&body, "ids");
    if (!ids || ids->type != MSGPACK_OBJECT_ARRAY)
        sf_log_warning ("worker: malformed STOP from the broker: %s", ids? "no ids": why);
    else
        for (uint32_t i = 0; i < ids->via.array.size; i++) {
            uint8_t id [SF_UUID_SIZE];
            if (sf_codec_id (&ids->via.array.ptr [i], id) == 0
            &&  zhashx_lookup (self->held, id)) {
                sf_log_debug ("worker: stopping a job at the broker's request");
                sf_pool_stop (self->pool, id);
            }
        }
    msgpack_unpacked_destroy (&unpacked);
}

static int
s_broker_reader (zloop_t *loop, zsock_t *socket, void *arg)
{
    (void) loop;
    sf_worker_t *self = (sf_worker_t *) arg;
    for (int count = 0; count < 256; count++) {
        sf_error_t error;
        int rc = sf_msg_recv (&self->msg, zsock_resolve (socket), false, &error);
        if (rc == 1)
            break;
        self->liveness = self->config.liveness;
        self->backoff_ms = S_BACKOFF_MIN;
        if (rc < 0) {
            sf_log_warning ("worker: malformed message from the broker: %s", error.message);
            continue;
        }
        switch (self->msg.command) {
            case SF_CMD_DISPATCH:
                s_on_dispatch (self, &self->msg);
                break;
            case SF_CMD_STOP:
                s_on_stop (self, &self->msg);
                break;
            case SF_CMD_HEARTBEAT:
                break;
            case SF_CMD_DISCONNECT:
                //  The broker does not know us (it restarted or expired us)
                s_send_ready (self);
                break;
            case SF_CMD_ERROR: {
                msgpack_unpacked unpacked;
                msgpack_unpacked_init (&unpacked);
                msgpack_object body;
                size_t offset = 0;
                const char *why;
                char message [256] = "(unreadable)";
                if (sf_mp_next (&unpacked, sf_msg_data (&self->msg), sf_msg_size (&self->msg),
                                &offset, &body, NULL, NULL, &why) == 0)
                    sf_mp_strcpy (sf_mp_get (&body, "message"), message, sizeof message);
                msgpack_unpacked_destroy (&unpacked);
                sf_log_warning ("worker: broker reports an error: %s", message);
                break;
            }
            default:
                sf_log_warning ("worker: unexpected %s from the broker",
                                sf_cmd_name (self->msg.command));
        }
    }
    sf_msg_close (&self->msg);
    return 0;
}

//  --------------------------------------------------------------------------
//  Results from the pool.

static void
s_job_answered (void *arg, const uint8_t id [SF_UUID_SIZE])
{
    sf_worker_t *self = (sf_worker_t *) arg;
    msgpack_sbuffer_write (&self->out_ids, (const char *) id, SF_UUID_SIZE);
}

static int
s_pool_reader (zloop_t *loop, zsock_t *socket, void *arg)
{
    (void) loop;
    sf_worker_t *self = (sf_worker_t *) arg;
    for (size_t i = 0; i < sf_pool_threads (self->pool); i++)
        if (sf_pool_pipe (self->pool, i) == socket) {
            int answered = sf_pool_collect (self->pool, i, &self->out, s_job_answered, self);
            if (self->draining && answered > 0)
                self->finished += (size_t) answered;
            break;
        }
    sf_pool_kick (self->pool);
    s_flush_results (self);
    //  Drained: every job answered on the wire
    return self->draining && zhashx_size (self->held) == 0? -1: 0;
}

//  --------------------------------------------------------------------------
//  Stopping: drain, or leave at once.

static void
s_job_withdrawn (void *arg, const uint8_t id [SF_UUID_SIZE])
{
    sf_worker_t *self = (sf_worker_t *) arg;
    zhashx_delete (self->held, id);
}

//  Leave now: cancel what runs, send the results that are ready. Returns
//  -1 to end the loop (the broker then hears DISCONNECT).
static int
s_leave_now (sf_worker_t *self)
{
    sf_pool_cancel_all (self->pool);
    s_flush_results (self);
    return -1;
}

static int
s_grace_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_worker_t *self = (sf_worker_t *) arg;
    sf_log_warning ("worker: grace period of %d ms over, cancelling %zu jobs (worker=%s)",
                    self->config.grace_ms, zhashx_size (self->held), self->name);
    return s_leave_now (self);
}

//  Begin draining: the jobs not started go back to the broker now.
static int
s_drain (sf_worker_t *self)
{
    self->draining = true;
    self->returned = sf_pool_withdraw (self->pool, s_job_withdrawn, self);
    s_send_ready (self);
    sf_log_info ("worker: draining, %zu jobs returned, %zu to finish within %d ms (worker=%s)",
                 self->returned, zhashx_size (self->held), self->config.grace_ms, self->name);
    if (zhashx_size (self->held) == 0)
        return -1;
    zloop_timer (self->loop, (size_t) self->config.grace_ms, 1, s_grace_timer, self);
    return 0;
}

static int
s_signal_reader (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop, (void) item;
    sf_worker_t *self = (sf_worker_t *) arg;
    struct signalfd_siginfo info;
    int rc = 0;
    while (rc == 0 && read (self->signal_fd, &info, sizeof info) == (ssize_t) sizeof info) {
        sf_log_info ("worker: %s received (worker=%s)", info.ssi_signo == SIGINT? "SIGINT":
                     "SIGTERM", self->name);
        if (self->draining || self->config.grace_ms == 0)
            rc = s_leave_now (self);
        else
            rc = s_drain (self);
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Heartbeat duty.

static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    sf_worker_t *self = (sf_worker_t *) arg;
    if (!self->dealer)
        return 0;               //  Reconnecting
    if (--self->liveness <= 0) {
        s_lose_broker (self);
        return 0;
    }
    s_send_nil (self, SF_CMD_HEARTBEAT);
    s_flush_results (self);     //  Retries a send that failed before
    return 0;
}

//  --------------------------------------------------------------------------
//  Construction and teardown.

sf_worker_t *
sf_worker_new (const sf_worker_config_t *config, sf_error_t *error)
{
    for (const char **plugin = config->plugins; plugin && *plugin; plugin++)
        if (sf_analyzers_load (*plugin, error)) {
            sf_analyzers_unload ();
            return NULL;
        }
    if (sf_analyzers_init (config->tests, error)) {
        sf_analyzers_unload ();
        return NULL;
    }
    sf_worker_t *self = (sf_worker_t *) zmalloc (sizeof *self);
    self->signal_fd = -1;
    self->config = *config;
    if (self->config.slots == 0)
        self->config.slots = (uint32_t) (8 * config->threads);
    if (config->name)
        snprintf (self->name, sizeof self->name, "%s", config->name);
    else {
        //  host-pid, the host part cut so that the whole fits
        char host [SF_NAME_MAX - 11] = "worker";
        gethostname (host, sizeof host);
        host [sizeof host - 1] = 0;
        snprintf (self->name, sizeof self->name, "%s-%d", host, (int) getpid ());
    }
    uint8_t random [SF_UUID_SIZE];
    sf_uuid_v7 (random);
    snprintf (self->identity, sizeof self->identity, "%s/%02x%02x%02x%02x", self->name,
              random [12], random [13], random [14], random [15]);
    self->held = sf_uuid_table (true);
    sf_batchw_init (&self->out);
    sf_batchw_reset (&self->out, 0);
    msgpack_sbuffer_init (&self->out_ids);
    msgpack_sbuffer_init (&self->body);
    sf_msg_init (&self->msg);
    self->backoff_ms = S_BACKOFF_MIN;
    self->cache = sf_cache_new (config->data_cache);
    sf_source_t *source = sf_source_for (config->data_dir, config->data_db,
                                         config->data_db_connections
                                         ? config->data_db_connections: config->threads);
    if (source)
        self->source = sf_cache_add (self->cache, &source);
    self->pool = sf_pool_new (self->config.threads, self->config.tests, self->cache,
                              self->source);
    self->loop = zloop_new ();
    for (size_t i = 0; i < sf_pool_threads (self->pool); i++)
        zloop_reader (self->loop, sf_pool_pipe (self->pool, i), s_pool_reader, self);
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    self->signal_fd = signalfd (-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->signal_fd < 0) {
        //  Blocked and unread, SIGTERM would never stop the worker
        sf_error_set (error, "SIGNALS", "cannot watch signals: %s", strerror (errno));
        sf_worker_destroy (&self);
        return NULL;
    }
    zmq_pollitem_t item = { NULL, self->signal_fd, ZMQ_POLLIN, 0 };
    zloop_poller (self->loop, &item, s_signal_reader, self);
    zloop_timer (self->loop, (size_t) config->heartbeat_ms, 0, s_heartbeat_timer, self);
    if (s_connect (self)) {
        sf_error_set (error, "BROKER", "cannot connect to %s", config->broker);
        sf_worker_destroy (&self);
        return NULL;
    }
    sf_log_info ("worker: started (worker=%s broker=%s threads=%zu slots=%u)",
                 self->name, config->broker, self->config.threads, self->config.slots);
    return self;
}

int
sf_worker_run (sf_worker_t *self)
{
    zloop_start (self->loop);
    //  Leaving: the broker requeues whatever this worker still holds
    if (self->dealer)
        s_send_nil (self, SF_CMD_DISCONNECT);
    if (self->draining)
        sf_log_info ("worker: stopping, %zu jobs finished while draining, %zu returned "
                     "(worker=%s)", self->finished, self->returned + zhashx_size (self->held),
                     self->name);
    else
        sf_log_info ("worker: stopping, %zu jobs returned (worker=%s)",
                     zhashx_size (self->held), self->name);
    return 0;
}

void
sf_worker_destroy (sf_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_worker_t *self = *self_p;
    zloop_destroy (&self->loop);
    if (self->pool)
        sf_pool_cancel_all (self->pool);        //  Threads stop quickly
    sf_pool_destroy (&self->pool);
    sf_cache_destroy (&self->cache);
    if (self->signal_fd >= 0)
        close (self->signal_fd);
    if (self->dealer) {
        zsock_set_linger (self->dealer, 500);   //  Let DISCONNECT leave
        zsock_destroy (&self->dealer);
    }
    sf_msg_close (&self->msg);
    msgpack_sbuffer_destroy (&self->body);
    msgpack_sbuffer_destroy (&self->out_ids);
    sf_batchw_destroy (&self->out);
    zhashx_destroy (&self->held);
    sf_analyzers_cleanup (self->config.tests);
    sf_analyzers_unload ();
    free (self);
    *self_p = NULL;
}
