/*  =========================================================================
    fuzz_broker - fuzz target for the broker's state machine and handlers

    The input is a session (fuzz_broker.h): clients submitting jobs and
    groups, cancelling, fetching, listing, retrying and purging dead
    letters; workers registering, answering the jobs they were sent
    (sometimes on an old lease), heartbeating, leaving, being reported
    dead or going silent; the clock moving, so that deadlines, retries,
    group deadlines, heartbeat expiry and retention happen; and raw
    messages with arbitrary bodies; and the store's writes failing and
    working again, so that commits fail, submits are refused and taken
    back, and the broker degrades and recovers. It runs against the real
    broker in this process (tests/support/inbroker: sf_broker, its
    handlers, a journal store with fsync=off in a directory of its own, a
    fake clock), with small limits so that BUSY, eviction and poison jobs
    come quickly.

    Besides not crashing, leaking or touching freed memory, the broker must
    keep its invariants after every operation (inbroker_check): its counts
    of unfinished, retrying, queued and running jobs, bytes held and dead
    letters agree with what its ledger, queues and workers hold, every
    group's items are the ledger's, and nothing is held for a commit
    unless the broker is degraded; and while it stays degraded no peer is
    sent an acknowledgement, a result, a reply that tells of stored state
    or a DISPATCH. A broken invariant aborts, which the driver (or
    libFuzzer) reports with the input.
    ========================================================================= */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz_broker.h"
#include "inbroker.h"
#include "sf_journal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Most operations an input runs, and ids and held jobs remembered.
#define S_OPS_MAX 400
#define S_KNOWN 32
#define S_HELD 64

//  Jobs of SUBMIT.
static const char *s_jobs [] = {
    "{\"analyzer\": \"echo\"}",
    "{\"analyzer\": \"echo\", \"retries\": 1, \"backoff_ms\": 0}",
    "{\"analyzer\": \"fail\", \"retries\": 2, \"backoff_ms\": 10}",
    "{\"analyzer\": \"fail\", \"retries\": 0}",
    "{\"analyzer\": \"echo\", \"timeout_ms\": 50, \"retries\": 1, \"backoff_ms\": 0}",
    "{\"analyzer\": \"echo\", \"then\": {\"analyzer\": \"echo\"}}",
    "{\"analyzer\": \"echo\", \"key\": \"k1\"}",
    "{\"analyzer\": \"echo\", \"key\": \"k2\", \"priority\": 9}",
    "{\"analyzer\": \"sleep\"}",
    "{\"analyzer\": \"fail\", \"retries\": 1, \"backoff_ms\": 0, \"then\": {\"analyzer\": \"echo\"}}"
};
#define S_JOBS (sizeof s_jobs / sizeof s_jobs [0])

//  Items of GROUP (a group item has no key and no then).
static const char *s_items [] = {
    "{\"analyzer\": \"echo\"}",
    "{\"analyzer\": \"echo\", \"retries\": 1, \"backoff_ms\": 0}",
    "{\"analyzer\": \"fail\", \"retries\": 2, \"backoff_ms\": 10}",
    "{\"analyzer\": \"fail\", \"retries\": 0}",
    "{\"analyzer\": \"echo\", \"timeout_ms\": 50, \"retries\": 1, \"backoff_ms\": 0}",
    "{\"analyzer\": \"sleep\"}",
    "{\"analyzer\": \"fail\", \"retries\": 1, \"backoff_ms\": 0}"
};
#define S_ITEMS (sizeof s_items / sizeof s_items [0])

//  Options of GROUP; those with "then" get a chord after the items.
static const char *s_group_options [] = {
    "{}",
    "{\"policy\": \"fail-fast\"}",
    "{\"policy\": \"any\"}",
    "{\"min_ok\": 2}",
    "{\"timeout_ms\": 100}",
    "{\"stream\": true}",
    "{\"then\": true}",
    "{\"key\": \"g1\"}",
    "{\"then\": true, \"timeout_ms\": 200}",
    "{\"then\": true, \"policy\": \"any\", \"stream\": true}"
};
#define S_GROUP_OPTIONS (sizeof s_group_options / sizeof s_group_options [0])

static const char *s_analyzers [] = { "echo,fail,sleep", "echo", "fail" };
#define S_ANALYZERS (sizeof s_analyzers / sizeof s_analyzers [0])

static const int64_t s_steps_ms [] = { 0, 1, 10, 50, 100, 600, 1100, 3100 };
#define S_STEPS (sizeof s_steps_ms / sizeof s_steps_ms [0])

static const int s_raw_commands [] = {
    SF_CMD_SUBMIT, SF_CMD_STATUS, SF_CMD_FETCH, SF_CMD_CANCEL, SF_CMD_DEAD, SF_CMD_GROUP,
    SF_CMD_READY, SF_CMD_RESULTS, SF_CMD_HEARTBEAT, SF_CMD_DISCONNECT, SF_CMD_LOST,
    SF_CMD_RESULT
};
#define S_RAW_COMMANDS (sizeof s_raw_commands / sizeof s_raw_commands [0])

#define S_REQUIRE(condition, why)                                              \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_broker: broken invariant: %s\n", why);      \
            abort ();                                                          \
        }                                                                      \
    } while (0)

//  The store's writes fail while this is set (FB_TIME bit 2, bit 3).
static bool s_store_fails;

static ssize_t
s_pwrite (int fd, const void *data, size_t size, off_t offset)
{
    if (!s_store_fails)
        return pwrite (fd, data, size, offset);
    errno = ENOSPC;
    return -1;
}

static const sf_journal_io_t s_io = { .pwrite = s_pwrite };

//  The journal's directory, made at the first input and removed at exit.
static char s_directory [64];

static void
s_remove_directory (void)
{
    char path [96];
    snprintf (path, sizeof path, "%s/journal", s_directory);
    unlink (path);
    snprintf (path, sizeof path, "%s/lock", s_directory);
    unlink (path);
    rmdir (s_directory);
}

//  A job a worker holds: what it would answer.
typedef struct {
    uint8_t id [SF_UUID_SIZE];
    uint32_t attempt;
} s_held_t;

//  One session.
typedef struct {
    const uint8_t *data;        //  The input
    size_t size;
    size_t at;                  //  Next byte
    inbroker_t *broker;         //  The broker under test
    uint8_t known [S_KNOWN] [SF_UUID_SIZE];     //  Ids learned, a ring
    size_t known_count;         //  How many were ever learned
    s_held_t held [FB_PEERS] [S_HELD];          //  Jobs each worker holds
    size_t held_count [FB_PEERS];
} s_session_t;

//  The next byte, 0 past the end.
static uint8_t
s_byte (s_session_t *self)
{
    return self->at < self->size? self->data [self->at++]: 0;
}

static void
s_learn (s_session_t *self, const uint8_t id [SF_UUID_SIZE])
{
    memcpy (self->known [self->known_count++ % S_KNOWN], id, SF_UUID_SIZE);
}

//  A known id picked by n, or NULL before any is known.
static const uint8_t *
s_known (s_session_t *self, uint8_t n)
{
    size_t count = self->known_count < S_KNOWN? self->known_count: S_KNOWN;
    return count? self->known [n % count]: NULL;
}

static void
s_forget_held (s_session_t *self, int worker, size_t index)
{
    self->held [worker] [index] = self->held [worker] [--self->held_count [worker]];
}

//  Read what the workers were sent: DISPATCH adds held jobs, STOP takes
//  them away. Clients' messages are dropped. held: the broker was degraded
//  all along, so nothing that waits for a commit may have been sent.
static void
s_drain (s_session_t *self, bool held)
{
    static const int waits [] = {
        SF_CMD_ACCEPTED, SF_CMD_RESULT, SF_CMD_GROUP_RESULT, SF_CMD_GROUP_ITEM, SF_CMD_STATE,
        SF_CMD_CANCEL_REPLY, SF_CMD_DEAD_REPLY
    };
    for (int client = 0; client < FB_PEERS && held; client++)
        for (size_t i = 0; i < sizeof waits / sizeof waits [0]; i++)
            S_REQUIRE (inbroker_count (self->broker, false, client, waits [i]) == 0,
                       "a client was sent, while degraded, what waits for a commit");
    for (int worker = 0; worker < FB_PEERS; worker++) {
        uint8_t ids [S_HELD] [SF_UUID_SIZE];
        uint32_t attempts [S_HELD];
        size_t count = inbroker_dispatched (self->broker, worker, ids, attempts, S_HELD);
        S_REQUIRE (!held || count == 0, "a job was dispatched while degraded");
        for (size_t i = 0; i < count && self->held_count [worker] < S_HELD; i++) {
            s_held_t *held = &self->held [worker] [self->held_count [worker]++];
            memcpy (held->id, ids [i], SF_UUID_SIZE);
            held->attempt = attempts [i];
        }
        inbroker_count (self->broker, true, worker, -1);
    }
    for (int client = 0; client < FB_PEERS; client++)
        inbroker_count (self->broker, false, client, -1);
}

//  --------------------------------------------------------------------------
//  The operations.

static void
s_submit (s_session_t *self)
{
    int client = s_byte (self) % FB_PEERS;
    const char *job = s_jobs [s_byte (self) % S_JOBS];
    uint8_t id [SF_UUID_SIZE];
    sf_error_t error;
    if (inbroker_submit (self->broker, client, job, id, &error) == 0)
        s_learn (self, id);
}

static void
s_group (s_session_t *self)
{
    int client = s_byte (self) % FB_PEERS;
    const char *options = s_group_options [s_byte (self) % S_GROUP_OPTIONS];
    size_t count = 1 + s_byte (self) % 4;
    const char *jobs [5];
    for (size_t i = 0; i < count; i++)
        jobs [i] = s_items [s_byte (self) % S_ITEMS];
    if (strstr (options, "then"))
        jobs [count++] = "{\"analyzer\": \"echo\"}";
    uint8_t group [SF_UUID_SIZE], ids [5] [SF_UUID_SIZE];
    sf_error_t error;
    if (inbroker_group (self->broker, client, options, jobs, count, group, ids, &error))
        return;
    s_learn (self, group);
    for (size_t i = 0; i < count - (strstr (options, "then")? 1: 0); i++)
        s_learn (self, ids [i]);
}

static void
s_ready (s_session_t *self)
{
    int worker = s_byte (self) % FB_PEERS;
    const char *analyzers = s_analyzers [s_byte (self) % S_ANALYZERS];
    uint32_t slots = 1 + s_byte (self) % 4;
    char name [8];
    snprintf (name, sizeof name, "w%d", worker);
    inbroker_ready (self->broker, worker, name, analyzers, slots);
}

static void
s_result (s_session_t *self)
{
    int worker = s_byte (self) % FB_PEERS;
    uint8_t pick = s_byte (self), outcome = s_byte (self), lease = s_byte (self);
    if (self->held_count [worker] == 0)
        return;
    size_t index = pick % self->held_count [worker];
    s_held_t held = self->held [worker] [index];
    s_forget_held (self, worker, index);
    uint32_t attempt = held.attempt - ((lease & 1) && held.attempt > 1? 1: 0);
    switch (outcome % FB_OUTCOMES) {
        case FB_OK:
            inbroker_result (self->broker, worker, held.id, attempt, "ok", "{\"v\": 1}");
            break;
        case FB_TRANSIENT:
            inbroker_result (self->broker, worker, held.id, attempt, "error",
                             "{\"code\": \"TRANSIENT\", \"message\": \"again\"}");
            break;
        case FB_ANALYSIS:
            inbroker_result (self->broker, worker, held.id, attempt, "error",
                             "{\"code\": \"ANALYSIS\", \"message\": \"no\"}");
            break;
        case FB_CANCELLED:
            inbroker_result (self->broker, worker, held.id, attempt, "error",
                             "{\"code\": \"CANCELLED\", \"message\": \"shutting down\"}");
            break;
        default:
            inbroker_result (self->broker, worker, held.id, attempt, "dead",
                             "{\"code\": \"ANALYSIS\", \"message\": \"no\"}");
            break;
    }
}

static void
s_worker_says (s_session_t *self, int command)
{
    int worker = s_byte (self) % FB_PEERS;
    inbroker_send (self->broker, true, worker, command, "\xc0", 1);
    if (command == SF_CMD_DISCONNECT)
        self->held_count [worker] = 0;
}

static void
s_lost (s_session_t *self)
{
    int worker = s_byte (self) % FB_PEERS;
    char body [32];
    int size = snprintf (body, sizeof body, "\x82\xa4name\xa2w%d\xa6reason\xa4kill", worker);
    //  From a supervisor: a peer of its own
    inbroker_send (self->broker, true, (worker + 1) % FB_PEERS, SF_CMD_LOST, body,
                   (size_t) size);
    self->held_count [worker] = 0;
}

static void
s_time (s_session_t *self)
{
    int64_t step = s_steps_ms [s_byte (self) % S_STEPS];
    uint8_t duties = s_byte (self);
    inbroker_advance (self->broker, step);
    if (duties & 1)
        inbroker_duty (self->broker, SF_DUTY_HEARTBEAT);
    if (duties & 2)
        inbroker_duty (self->broker, SF_DUTY_PURGE);
    if (duties & 4)
        s_store_fails = true;
    if (duties & 8) {
        s_store_fails = false;
        inbroker_duty (self->broker, SF_DUTY_STORE);
    }
}

static void
s_cancel (s_session_t *self)
{
    int client = s_byte (self) % FB_PEERS;
    const uint8_t *id = s_known (self, s_byte (self));
    char outcome [16];
    sf_error_t error;
    if (id)
        inbroker_cancel (self->broker, client, id, outcome, &error);
}

static void
s_fetch (s_session_t *self)
{
    int client = s_byte (self) % FB_PEERS;
    const uint8_t *id = s_known (self, s_byte (self));
    bool wait = s_byte (self) & 1;
    sf_error_t error;
    if (id)
        inbroker_fetch (self->broker, client, id, wait, &error);
}

static void
s_dead (s_session_t *self)
{
    static const char *ops [] = { "list", "show", "retry", "purge" };
    int client = s_byte (self) % FB_PEERS;
    const char *op = ops [s_byte (self) % 4];
    uint8_t pick = s_byte (self);
    sf_error_t error;
    inbroker_dead (self->broker, client, op, pick & 0x80? NULL: s_known (self, pick), &error);
}

static void
s_status (s_session_t *self)
{
    int client = s_byte (self) % FB_PEERS;
    inbroker_send (self->broker, false, client, SF_CMD_STATUS, "\x81\xa3tag\x01", 6);
}

static void
s_raw (s_session_t *self)
{
    uint8_t peer = s_byte (self);
    int command = s_raw_commands [s_byte (self) % S_RAW_COMMANDS];
    size_t length = s_byte (self) % 64;
    uint8_t body [64];
    for (size_t i = 0; i < length; i++)
        body [i] = s_byte (self);
    inbroker_send (self->broker, peer & 0x80, (peer & 0x7f) % FB_PEERS, command, body, length);
}

//  --------------------------------------------------------------------------

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool ready;
    static char store [96], journal [96];
    if (!ready) {
        inbroker_quiet (true);
        //  In memory where there is a tmpfs for it: the journal's syncs at
        //  open and close cost nothing there
        struct stat info;
        snprintf (s_directory, sizeof s_directory, "%s/sheaf-fuzz-broker-XXXXXX",
                  stat ("/dev/shm", &info) == 0 && S_ISDIR (info.st_mode)? "/dev/shm": "/tmp");
        S_REQUIRE (mkdtemp (s_directory), "cannot make a directory for the journal");
        atexit (s_remove_directory);
        snprintf (store, sizeof store, "journal:%s,fsync=off", s_directory);
        snprintf (journal, sizeof journal, "%s/journal", s_directory);
        sf_journal_set_default_io (&s_io);
        ready = true;
    }
    //  Every session starts from an empty journal with working writes
    s_store_fails = false;
    unlink (journal);
    //  Small limits: eviction, BUSY and poison jobs within a short session
    sf_broker_config_t config;
    sf_broker_config_defaults (&config);
    config.result_max = 8;
    config.result_ttl_ms = 2000;
    config.dead_max = 4;
    config.max_jobs = 24;
    config.max_queued = 16;
    config.max_bytes = 2048;
    config.backoff_max_ms = 500;
    config.max_losses = 2;
    s_session_t session = { .data = data, .size = size };
    sf_error_t error;
    session.broker = inbroker_new_store (&config, store, &error);
    S_REQUIRE (session.broker, error.message);
    //  Backoff jitter from a fixed sequence: the same input, the same run
    srandom (1);
    for (int ops = 0; ops < S_OPS_MAX && session.at < size; ops++) {
        bool was_degraded = inbroker_broker (session.broker)->degraded;
        switch (s_byte (&session) % FB_OPS) {
            case FB_SUBMIT: s_submit (&session); break;
            case FB_GROUP: s_group (&session); break;
            case FB_READY: s_ready (&session); break;
            case FB_RESULT: s_result (&session); break;
            case FB_HEARTBEAT: s_worker_says (&session, SF_CMD_HEARTBEAT); break;
            case FB_DISCONNECT: s_worker_says (&session, SF_CMD_DISCONNECT); break;
            case FB_LOST: s_lost (&session); break;
            case FB_TIME: s_time (&session); break;
            case FB_CANCEL: s_cancel (&session); break;
            case FB_FETCH: s_fetch (&session); break;
            case FB_DEAD: s_dead (&session); break;
            case FB_STATUS: s_status (&session); break;
            default: s_raw (&session); break;
        }
        s_drain (&session, was_degraded && inbroker_broker (session.broker)->degraded);
        char why [256];
        S_REQUIRE (inbroker_check (session.broker, why, sizeof why) == 0, why);
    }
    s_store_fails = false;
    inbroker_destroy (&session.broker);
    return 0;
}
