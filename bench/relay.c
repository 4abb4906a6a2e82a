/*  =========================================================================
    relay - the ceiling: a bare ZeroMQ relay with no bookkeeping

    What the sheaf fleet would cost if it did nothing but move bytes: one
    relay process (ROUTER frontend for the client, ROUTER backend for the
    workers), K worker processes (DEALER) that echo each request, and one
    client (DEALER, this process) that keeps W jobs in flight until N jobs
    have come back. Prints one line of JSON (see bench/README.md).

    Design. The parent forks the relay first; the relay binds its two
    sockets (tcp ports chosen by the kernel, or ipc paths) and writes the
    endpoints it got into a pipe, so no port is guessed. The parent then
    forks the workers and only afterwards creates its own ZeroMQ context,
    since a context must never cross a fork. Workers announce themselves
    with a one-frame READY; the relay reads its frontend only once all K
    are known, then hands each client message to the next worker in turn
    with the client's routing id in the envelope, and routes each reply
    back by that id. There are no queues, ids, timers or heartbeats: that
    is the point of the ceiling.

    A job is a fixed 40-byte msgpack map {id, t, a, s}; a message carries
    one job (or B with --batch B, for comparison with sheaf's batching).
    The client keeps a send timestamp per job, indexed by the job's id, and
    takes the latency when the echo comes back.

    Raw libzmq (zmq_msg_t) rather than czmq: forwarding a zmq_msg_t moves
    the frame without a copy or an allocation, and the ceiling should not
    carry costs that a relay need not have.

    Every child is tracked by PID, killed and reaped on every exit path of
    the parent; the children also die with the parent (PR_SET_PDEATHSIG),
    and an alarm bounds the whole run so it can never hang.
    ========================================================================= */

#include "bench.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_JOB_SIZE 40           //  Bytes of one encoded job
#define S_WORKERS_MAX 256       //  Upper bound of --workers
#define S_ID_MAX 256            //  Longest ZeroMQ routing id
#define S_ENDPOINT_MAX 512      //  Longest endpoint text
#define S_STALL_MS 10000        //  No reply for this long: give up
#define S_DRAIN_MAX 1024        //  Messages handled per readable socket
#define S_WARMUP_ID UINT32_MAX  //  Job id of the untimed warm-up job

//  Exit codes of the parent.
#define S_EXIT_USAGE 64         //  Bad command line
#define S_EXIT_SETUP 70         //  Fork, pipe, bind or connect failed
#define S_EXIT_RUN 1            //  A job went missing, came twice or stalled
#define S_EXIT_ALARM 124        //  The hard time limit struck
                                //  (and 128 + signal on SIGINT/SIGTERM)

typedef struct {
    long jobs;                  //  Jobs to echo (N)
    long inflight;              //  Jobs kept in flight (W)
    long workers;               //  Worker processes (K)
    long batch;                 //  Jobs per message (B)
    long time_limit;            //  Seconds before the alarm kills everything
    const char *endpoint_base;  //  "tcp://HOST", "ipc://DIR" or "ipc"
} s_options_t;

typedef struct {
    double seconds;             //  Wall time of the timed run
    uint64_t p50_us;            //  Median submit-to-reply latency
    uint64_t p99_us;            //  99th percentile of the same
} s_stats_t;

//  Children, for the cleanup paths and the alarm handler.
static pid_t s_children [S_WORKERS_MAX + 1];
static volatile sig_atomic_t s_child_count;

//  --------------------------------------------------------------------------
//  Monotonic clock in microseconds.

static uint64_t
s_now_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;
}

//  --------------------------------------------------------------------------
//  The job encoding: a msgpack map of four pairs, always 40 bytes.
//    84                    fixmap, 4 pairs
//    a2 'i' 'd' ce u32     "id": job number
//    a1 't' cf u64         "t": send time, µs
//    a1 'a' a4 "echo"      "a": analyzer
//    a1 's' aa "ETH-USD.CB" "s": symbol

static const uint8_t s_job_tail [] = {
    0xa1, 'a', 0xa4, 'e', 'c', 'h', 'o',
    0xa1, 's', 0xaa, 'E', 'T', 'H', '-', 'U', 'S', 'D', '.', 'C', 'B'
};

static void
s_job_pack (uint8_t *out, uint32_t id, uint64_t t)
{
    uint8_t *p = out;
    *p++ = 0x84;
    *p++ = 0xa2; *p++ = 'i'; *p++ = 'd'; *p++ = 0xce;
    for (int shift = 24; shift >= 0; shift -= 8)
        *p++ = (uint8_t) (id >> shift);
    *p++ = 0xa1; *p++ = 't'; *p++ = 0xcf;
    for (int shift = 56; shift >= 0; shift -= 8)
        *p++ = (uint8_t) (t >> shift);
    memcpy (p, s_job_tail, sizeof s_job_tail);
}

//  Read the id of an echoed job. Returns 0, or -1 when the bytes are not
//  a job this client encoded (the relay or a worker mangled it).
static int
s_job_id (const uint8_t *job, uint32_t *id)
{
    if (job [0] != 0x84 || job [1] != 0xa2 || job [2] != 'i' || job [3] != 'd'
    ||  job [4] != 0xce || memcmp (job + 20, s_job_tail, sizeof s_job_tail) != 0)
        return -1;
    *id = (uint32_t) job [5] << 24 | (uint32_t) job [6] << 16
        | (uint32_t) job [7] << 8 | job [8];
    return 0;
}

//  --------------------------------------------------------------------------
//  Socket options every socket here gets: no high-water mark (in-flight
//  work is bounded by W, and a full ROUTER pipe would drop silently), no
//  linger (nothing is worth waiting for at exit).

static void
s_socket_setup (void *socket)
{
    int zero = 0;
    zmq_setsockopt (socket, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt (socket, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt (socket, ZMQ_LINGER, &zero, sizeof zero);
}

//  Forward the remaining frames of a message from one socket to another,
//  starting with part (already received). Frames move without copying.
//  Returns 0, or -1 when a send failed (the message is dropped).
static int
s_forward_rest (zmq_msg_t *part, void *from, void *to)
{
    int rc = 0;
    while (true) {
        bool more = zmq_msg_more (part);
        if (rc == 0 && zmq_msg_send (part, to, more? ZMQ_SNDMORE: 0) < 0)
            rc = -1;
        if (!more)
            break;
        if (zmq_msg_recv (part, from, 0) < 0)
            return -1;
    }
    return rc;
}

//  Drop the remaining frames of a message whose first frame was part.
static void
s_discard_rest (zmq_msg_t *part, void *from)
{
    while (zmq_msg_more (part))
        if (zmq_msg_recv (part, from, 0) < 0)
            break;
}

//  Count a message the relay could not route, and say so at the first and
//  at every power of two, so a broken run is visible without flooding.
static void
s_dropped (uint64_t *dropped)
{
    ++*dropped;
    if ((*dropped & (*dropped - 1)) == 0)
        fprintf (stderr, "relay: %" PRIu64 " message(s) dropped, last: %s\n", *dropped,
                 zmq_strerror (errno));
}

//  --------------------------------------------------------------------------
//  The relay process: bind, report the endpoints on report_fd, wait for
//  `workers` READYs, then relay until killed. Returns an exit code.

typedef struct {
    uint8_t id [S_ID_MAX];      //  Routing id on the backend
    size_t size;                //  Its length
} s_peer_t;

static int
s_relay_run (const char *frontend, const char *backend, long workers, int report_fd)
{
    void *ctx = zmq_ctx_new ();
    void *front = zmq_socket (ctx, ZMQ_ROUTER);
    void *back = zmq_socket (ctx, ZMQ_ROUTER);
    s_socket_setup (front);
    s_socket_setup (back);
    //  Unroutable sends fail loudly instead of vanishing
    int one = 1;
    zmq_setsockopt (front, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt (back, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    if (zmq_bind (front, frontend) || zmq_bind (back, backend)) {
        fprintf (stderr, "relay: cannot bind %s / %s: %s\n", frontend, backend,
                 zmq_strerror (errno));
        return S_EXIT_SETUP;
    }
    char bound [2][S_ENDPOINT_MAX];
    size_t size = S_ENDPOINT_MAX;
    zmq_getsockopt (front, ZMQ_LAST_ENDPOINT, bound [0], &size);
    size = S_ENDPOINT_MAX;
    zmq_getsockopt (back, ZMQ_LAST_ENDPOINT, bound [1], &size);
    dprintf (report_fd, "%s\n%s\n", bound [0], bound [1]);
    close (report_fd);

    s_peer_t *peers = calloc ((size_t) workers, sizeof *peers);
    if (!peers)
        abort ();
    long known = 0;             //  Workers that said READY
    long next = 0;              //  Worker that gets the next request
    uint64_t dropped = 0;       //  Messages that could not be routed
    zmq_msg_t part;
    zmq_msg_init (&part);
    zmq_pollitem_t items [] = {
        { back, 0, ZMQ_POLLIN, 0 },
        { front, 0, ZMQ_POLLIN, 0 }
    };
    while (true) {
        //  The frontend is read only once every worker is known
        if (zmq_poll (items, known == workers? 2: 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (items [0].revents & ZMQ_POLLIN) {
            for (int n = 0; n < S_DRAIN_MAX; n++) {
                //  [worker id][READY] or [worker id][client id][payload…]
                if (zmq_msg_recv (&part, back, ZMQ_DONTWAIT) < 0)
                    break;
                uint8_t worker [S_ID_MAX];
                size_t worker_size = zmq_msg_size (&part);
                if (worker_size > S_ID_MAX || !zmq_msg_more (&part)) {
                    s_discard_rest (&part, back);
                    continue;
                }
                memcpy (worker, zmq_msg_data (&part), worker_size);
                if (zmq_msg_recv (&part, back, 0) < 0)
                    break;
                if (!zmq_msg_more (&part)) {
                    if (zmq_msg_size (&part) == 5 && memcmp (zmq_msg_data (&part), "READY", 5) == 0
                    &&  known < workers) {
                        memcpy (peers [known].id, worker, worker_size);
                        peers [known].size = worker_size;
                        known++;
                    }
                    continue;
                }
                if (s_forward_rest (&part, back, front))
                    s_dropped (&dropped);
            }
        }
        if (items [1].revents & ZMQ_POLLIN) {
            for (int n = 0; n < S_DRAIN_MAX; n++) {
                //  [client id][payload…] goes out as [worker id][client id][payload…]
                if (zmq_msg_recv (&part, front, ZMQ_DONTWAIT) < 0)
                    break;
                s_peer_t *peer = &peers [next];
                next = (next + 1) % workers;
                if (zmq_send (back, peer->id, peer->size, ZMQ_SNDMORE) < 0) {
                    s_discard_rest (&part, front);
                    s_dropped (&dropped);
                    continue;
                }
                if (s_forward_rest (&part, front, back))
                    s_dropped (&dropped);
            }
        }
    }
    zmq_msg_close (&part);
    free (peers);
    zmq_close (front);
    zmq_close (back);
    zmq_ctx_term (ctx);
    return 0;
}

//  --------------------------------------------------------------------------
//  A worker process: say READY, then echo every message until killed.
//  Returns an exit code.

static int
s_worker_run (const char *backend)
{
    void *ctx = zmq_ctx_new ();
    void *dealer = zmq_socket (ctx, ZMQ_DEALER);
    s_socket_setup (dealer);
    if (zmq_connect (dealer, backend) || zmq_send (dealer, "READY", 5, 0) < 0) {
        fprintf (stderr, "relay worker: cannot reach %s: %s\n", backend, zmq_strerror (errno));
        return S_EXIT_SETUP;
    }
    zmq_msg_t part;
    zmq_msg_init (&part);
    //  [client id][payload…] comes in and goes back unchanged
    while (zmq_msg_recv (&part, dealer, 0) >= 0)
        if (zmq_msg_send (&part, dealer, zmq_msg_more (&part)? ZMQ_SNDMORE: 0) < 0)
            break;
    zmq_msg_close (&part);
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    return 0;
}

//  --------------------------------------------------------------------------
//  Child bookkeeping.

//  Fork a child that dies with the parent. Returns the PID in the parent
//  and 0 in the child, or -1.
static pid_t
s_fork (void)
{
    pid_t parent = getpid ();
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)       //  The parent died before prctl
            _exit (S_EXIT_SETUP);
        alarm (0);
        signal (SIGALRM, SIG_DFL);
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        return 0;
    }
    if (pid > 0)
        s_children [s_child_count++] = pid;
    return pid;
}

//  Kill and reap every child: SIGTERM, up to a second of grace, SIGKILL.
static void
s_reap_children (void)
{
    for (int i = 0; i < s_child_count; i++)
        kill (s_children [i], SIGTERM);
    uint64_t deadline = s_now_us () + 1000000;
    for (int i = 0; i < s_child_count; i++) {
        while (waitpid (s_children [i], NULL, WNOHANG) == 0) {
            if (s_now_us () > deadline) {
                kill (s_children [i], SIGKILL);
                waitpid (s_children [i], NULL, 0);
                break;
            }
            usleep (5000);
        }
    }
    s_child_count = 0;
}

//  The hard time limit (SIGALRM), or SIGINT/SIGTERM: kill the children by
//  PID and leave (async-signal-safe calls only). The children die with us
//  anyway (PR_SET_PDEATHSIG); this makes it immediate and explicit.
static void
s_on_signal (int signum)
{
    for (int i = 0; i < s_child_count; i++)
        kill (s_children [i], SIGKILL);
    static const char alarm_text [] = "relay: time limit reached, children killed\n";
    static const char stop_text [] = "relay: interrupted, children killed\n";
    ssize_t rc = signum == SIGALRM
               ? write (STDERR_FILENO, alarm_text, sizeof alarm_text - 1)
               : write (STDERR_FILENO, stop_text, sizeof stop_text - 1);
    (void) rc;
    _exit (signum == SIGALRM? S_EXIT_ALARM: 128 + signum);
}

//  --------------------------------------------------------------------------
//  The client: warm up with one job, then echo opt->jobs jobs keeping
//  opt->inflight in flight. Returns 0 with stats filled, or -1.

static int
s_client_run (const s_options_t *opt, const char *frontend, s_stats_t *stats)
{
    size_t jobs = (size_t) opt->jobs;
    size_t batch = (size_t) (opt->batch < opt->inflight? opt->batch: opt->inflight);
    uint64_t *sent_us = calloc (jobs, sizeof *sent_us);
    uint32_t *latency_us = calloc (jobs, sizeof *latency_us);
    bool *seen = calloc (jobs, sizeof *seen);
    uint8_t *buffer = malloc (batch * S_JOB_SIZE);
    if (!sent_us || !latency_us || !seen || !buffer)
        abort ();

    int rc = -1;
    void *ctx = zmq_ctx_new ();
    void *dealer = zmq_socket (ctx, ZMQ_DEALER);
    s_socket_setup (dealer);
    int stall_ms = S_STALL_MS;
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &stall_ms, sizeof stall_ms);
    zmq_msg_t reply;
    zmq_msg_init (&reply);
    if (zmq_connect (dealer, frontend)) {
        fprintf (stderr, "relay client: cannot connect %s: %s\n", frontend, zmq_strerror (errno));
        goto cleanup;
    }
    //  Warm-up: one untimed round trip proves the path is up
    s_job_pack (buffer, S_WARMUP_ID, s_now_us ());
    if (zmq_send (dealer, buffer, S_JOB_SIZE, 0) < 0
    ||  zmq_msg_recv (&reply, dealer, 0) < 0) {
        fprintf (stderr, "relay client: no warm-up reply within %d ms\n", S_STALL_MS);
        goto cleanup;
    }

    size_t next = 0;            //  Next job id to send
    size_t done = 0;            //  Jobs echoed
    size_t outstanding = 0;     //  Sent and not yet echoed
    uint64_t start = s_now_us ();
    while (done < jobs) {
        //  Fill the window, a message of `batch` jobs at a time
        while (next < jobs) {
            size_t count = jobs - next < batch? jobs - next: batch;
            if ((size_t) opt->inflight - outstanding < count)
                break;
            uint64_t now = s_now_us ();
            for (size_t i = 0; i < count; i++) {
                sent_us [next + i] = now;
                s_job_pack (buffer + i * S_JOB_SIZE, (uint32_t) (next + i), now);
            }
            if (zmq_send (dealer, buffer, count * S_JOB_SIZE, 0) < 0) {
                fprintf (stderr, "relay client: send failed: %s\n", zmq_strerror (errno));
                goto cleanup;
            }
            next += count;
            outstanding += count;
        }
        //  Wait for one reply, then take whatever else is already there
        for (int n = 0; n < S_DRAIN_MAX; n++) {
            if (zmq_msg_recv (&reply, dealer, n == 0? 0: ZMQ_DONTWAIT) < 0) {
                if (n > 0)
                    break;
                fprintf (stderr, "relay client: no reply for %d ms (%zu of %zu jobs done)\n",
                         S_STALL_MS, done, jobs);
                goto cleanup;
            }
            uint64_t now = s_now_us ();
            size_t size = zmq_msg_size (&reply);
            const uint8_t *data = zmq_msg_data (&reply);
            if (size == 0 || size % S_JOB_SIZE != 0) {
                fprintf (stderr, "relay client: reply of %zu bytes is not whole jobs\n", size);
                goto cleanup;
            }
            for (size_t offset = 0; offset < size; offset += S_JOB_SIZE) {
                uint32_t id;
                if (s_job_id (data + offset, &id) || id >= jobs) {
                    fprintf (stderr, "relay client: reply holds a job this client never sent\n");
                    goto cleanup;
                }
                if (seen [id]) {
                    fprintf (stderr, "relay client: job %" PRIu32 " came back twice\n", id);
                    goto cleanup;
                }
                seen [id] = true;
                uint64_t elapsed = now - sent_us [id];
                latency_us [id] = elapsed > UINT32_MAX? UINT32_MAX: (uint32_t) elapsed;
                done++;
                outstanding--;
            }
        }
    }
    stats->seconds = (double) (s_now_us () - start) / 1e6;
    qsort (latency_us, jobs, sizeof *latency_us, bench_compare_u32);
    stats->p50_us = bench_percentile (latency_us, jobs, 50);
    stats->p99_us = bench_percentile (latency_us, jobs, 99);
    rc = 0;

cleanup:
    zmq_msg_close (&reply);
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    free (sent_us);
    free (latency_us);
    free (seen);
    free (buffer);
    return rc;
}

//  --------------------------------------------------------------------------
//  Command line.

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: relay [options]\n"
        "  --jobs N           jobs to echo (default 200000)\n"
        "  --inflight W       jobs kept in flight (default 1000)\n"
        "  --workers K        echo worker processes (default 2)\n"
        "  --batch B          jobs per message (default 1: one message per job)\n"
        "  --endpoint-base E  tcp://HOST (default tcp://127.0.0.1, kernel-chosen ports),\n"
        "                     ipc://DIR, or ipc (a fresh temporary directory)\n"
        "  --time-limit S     kill everything after S seconds (default 300)\n"
        "Prints one line of JSON; see bench/README.md.\n");
}

static int
s_parse_options (int argc, char *argv [], s_options_t *opt)
{
    static const struct option longs [] = {
        { "jobs", required_argument, NULL, 'n' },
        { "inflight", required_argument, NULL, 'w' },
        { "workers", required_argument, NULL, 'k' },
        { "batch", required_argument, NULL, 'b' },
        { "endpoint-base", required_argument, NULL, 'e' },
        { "time-limit", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    *opt = (s_options_t) { 200000, 1000, 2, 1, 300, "tcp://127.0.0.1" };
    int c, which = 0;
    while ((c = getopt_long (argc, argv, "", longs, &which)) != -1) {
        int rc = 0;
        switch (c) {
            //  Job ids are 32-bit and UINT32_MAX is the warm-up's
            case 'n': rc = bench_parse_long (optarg, 1, UINT32_MAX - 1L, &opt->jobs); break;
            case 'w': rc = bench_parse_long (optarg, 1, 10000000, &opt->inflight); break;
            case 'k': rc = bench_parse_long (optarg, 1, S_WORKERS_MAX, &opt->workers); break;
            case 'b': rc = bench_parse_long (optarg, 1, 100000, &opt->batch); break;
            case 't': rc = bench_parse_long (optarg, 1, 86400, &opt->time_limit); break;
            case 'e': opt->endpoint_base = optarg; break;
            case 'h': s_usage (stdout); exit (0);
            default: return -1;
        }
        if (rc) {
            fprintf (stderr, "relay: bad value \"%s\" for --%s\n", optarg, longs [which].name);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "relay: unexpected argument \"%s\"\n", argv [optind]);
        return -1;
    }
    return 0;
}

//  Work out the endpoints the relay binds, from --endpoint-base. tmpdir is
//  set when a temporary directory was made (the caller removes it).
static int
s_endpoints (const char *base, char *frontend, char *backend, char *tmpdir)
{
    tmpdir [0] = 0;
    if (strncmp (base, "tcp://", 6) == 0) {
        snprintf (frontend, S_ENDPOINT_MAX, "%s:*", base);
        snprintf (backend, S_ENDPOINT_MAX, "%s:*", base);
        return 0;
    }
    const char *dir = NULL;
    if (strcmp (base, "ipc") == 0) {
        strcpy (tmpdir, "/tmp/sheaf-relay-XXXXXX");
        if (!mkdtemp (tmpdir)) {
            fprintf (stderr, "relay: cannot make a temporary directory: %s\n", strerror (errno));
            tmpdir [0] = 0;
            return -1;
        }
        dir = tmpdir;
    }
    else
    if (strncmp (base, "ipc://", 6) == 0 && base [6])
        dir = base + 6;
    if (!dir || strlen (dir) > 80) {    //  ipc paths live in a sockaddr_un
        fprintf (stderr, "relay: --endpoint-base must be tcp://HOST, ipc://DIR or ipc\n");
        return -1;
    }
    snprintf (frontend, S_ENDPOINT_MAX, "ipc://%s/relay-front", dir);
    snprintf (backend, S_ENDPOINT_MAX, "ipc://%s/relay-back", dir);
    return 0;
}

//  Remove the ipc files and the temporary directory, if any.
static void
s_remove_tmpdir (const char *tmpdir)
{
    if (!tmpdir [0])
        return;
    char path [S_ENDPOINT_MAX];
    snprintf (path, sizeof path, "%s/relay-front", tmpdir);
    unlink (path);
    snprintf (path, sizeof path, "%s/relay-back", tmpdir);
    unlink (path);
    rmdir (tmpdir);
}

//  Read one line (without its newline) from fd into line. Returns 0 or -1.
static int
s_read_line (int fd, char *line, size_t max)
{
    size_t used = 0;
    while (used + 1 < max) {
        char c;
        ssize_t rc = read (fd, &c, 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        if (c == '\n') {
            line [used] = 0;
            return 0;
        }
        line [used++] = c;
    }
    return -1;
}

//  --------------------------------------------------------------------------

int
main (int argc, char *argv [])
{
    s_options_t opt;
    if (s_parse_options (argc, argv, &opt)) {
        s_usage (stderr);
        return S_EXIT_USAGE;
    }
    char frontend [S_ENDPOINT_MAX], backend [S_ENDPOINT_MAX], tmpdir [64];
    if (s_endpoints (opt.endpoint_base, frontend, backend, tmpdir))
        return S_EXIT_USAGE;
    signal (SIGALRM, s_on_signal);
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    alarm ((unsigned) opt.time_limit);

    int exit_code = S_EXIT_SETUP;
    int report [2];
    if (pipe (report)) {
        fprintf (stderr, "relay: pipe: %s\n", strerror (errno));
        goto cleanup;
    }
    pid_t pid = s_fork ();
    if (pid == 0) {
        close (report [0]);
        _exit (s_relay_run (frontend, backend, opt.workers, report [1]));
    }
    close (report [1]);
    if (pid < 0
    ||  s_read_line (report [0], frontend, sizeof frontend)
    ||  s_read_line (report [0], backend, sizeof backend)) {
        fprintf (stderr, "relay: the relay process did not start\n");
        close (report [0]);
        goto cleanup;
    }
    close (report [0]);
    for (long i = 0; i < opt.workers; i++) {
        pid = s_fork ();
        if (pid == 0)
            _exit (s_worker_run (backend));
        if (pid < 0) {
            fprintf (stderr, "relay: fork: %s\n", strerror (errno));
            goto cleanup;
        }
    }
    s_stats_t stats;
    if (s_client_run (&opt, frontend, &stats)) {
        exit_code = S_EXIT_RUN;
        goto cleanup;
    }
    printf ("{\"system\":\"zmq-relay\",\"jobs\":%ld,\"inflight\":%ld,\"seconds\":%.3f,"
            "\"jobs_per_s\":%.0f,\"p50_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ","
            "\"batch\":%ld,\"workers\":%ld,\"endpoint\":\"%s\"}\n",
            opt.jobs, opt.inflight, stats.seconds, (double) opt.jobs / stats.seconds,
            stats.p50_us, stats.p99_us, opt.batch < opt.inflight? opt.batch: opt.inflight,
            opt.workers, frontend);
    exit_code = 0;

cleanup:
    alarm (0);
    s_reap_children ();
    s_remove_tmpdir (tmpdir);
    return exit_code;
}
