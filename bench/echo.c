/*  =========================================================================
    echo - the sheaf side of the benchmark: N echo jobs through a live fleet

    Connects to a broker with the public client API only (sheaf.h), keeps W
    jobs in flight with asynchronous batched submits (sf_client_send) and
    reads events with sf_client_recv until N results have come back. Prints
    one line of JSON in the same shape as bench/relay (see bench/README.md).

    Design. The client learns a job's id only from its result (ACCEPTED
    carries a count, not ids, through the asynchronous API), so a job is
    matched to its send time through the job itself: every batch is one job
    object repeated B times, with parameter "t" set to the send time in
    microseconds just before the send; the echo analyzer returns its
    params, and the client reads "t" back from the result's value. Every
    result's status must be ok and its id must be new (a set of ids as
    strings); ACCEPTED counts must add up to N. The broker's own view of
    latency (sf_result_total_us, acceptance to final status) is reported
    beside the client's.

    Flow control: a batch goes out whenever at least min(B, W, jobs left)
    slots are free, so with W = 1000 and B = 100 at least 900 jobs stay in
    flight, and with W < B every free slot is used at once.

    Other modes, for bench/run:
      --wait-workers K  first wait (--wait-ms, 10 s by default) until the
                        broker answers STATUS showing at least K workers (0:
                        just that it answers); with --jobs 0 that is all.
      --submit-only     send N jobs, wait for every ACCEPTED, print one line
                        of JSON and hold the connection (so the jobs stay
                        queued) until SIGTERM; for measuring broker memory.
    ========================================================================= */

#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <time.h>
#include "bench.h"
#include "sf_mp.h"
#include "sheaf.h"

#define S_STALL_US 10000000     //  No progress for this long: give up
#define S_SYNC_TIMEOUT_MS 10000 //  Warm-up and status calls
#define S_DRAIN_MAX 4096        //  Events handled before the window is refilled
#define S_REPORT_MAX 5          //  Bad results described on stderr

//  Exit codes.
#define S_EXIT_RUN 1            //  Missing, duplicate or failed results, a stall
#define S_EXIT_SETUP 70         //  No broker, no workers, bad endpoint
#define S_EXIT_USAGE 64         //  Bad command line
#define S_EXIT_INTERRUPTED 130  //  SIGINT or SIGTERM

typedef struct {
    const char *broker;         //  Frontend endpoint, NULL for the default
    long jobs;                  //  Jobs to run (N)
    long inflight;              //  Jobs kept in flight (W)
    long batch;                 //  Jobs per batch at most (B)
    long wait_workers;          //  Workers to wait for first, -1 not to
    long wait_ms;               //  How long to wait for them
    long time_limit;            //  Seconds before SIGALRM ends the process
    bool submit_only;           //  Submit, hold, never expect results
    bool client_latency;        //  Read "t" back from every result
    const char *analyzer;       //  Analyzer to run
} s_options_t;

//  What a run measured and found.
typedef struct {
    size_t sent;                //  Jobs sent
    size_t accepted;            //  Jobs the broker acknowledged
    size_t results;             //  Results received
    size_t duplicates;          //  Results whose id had been seen
    size_t failed;              //  Results whose status was not ok
    size_t untimed;             //  Results without a readable "t"
    uint32_t *client_us;        //  Client latencies, one per timed result
    size_t client_count;        //  How many
    uint32_t *broker_us;        //  Broker total_us, one per distinct result
    size_t broker_count;        //  How many
    size_t capacity;            //  Room in client_us and broker_us (N)
    zhashx_t *ids;              //  Ids seen
    double seconds;             //  Wall time of the timed run
} s_run_t;

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
//  Percentiles by nearest rank (bench.h).

//  Print "name":value for percentile p of values, or "name":null if empty.
static void
s_print_percentile (const char *name, uint32_t *values, size_t count, double p)
{
    if (count == 0) {
        printf ("\"%s\":null", name);
        return;
    }
    printf ("\"%s\":%" PRIu32, name, bench_percentile (values, count, p));
}

//  --------------------------------------------------------------------------
//  The send time a result carries back: "t" in the echoed value, or in its
//  "params" if the echo analyzer nests them. Returns 0 or -1.

static int
s_result_sent_us (const sf_result_t *result, uint64_t *sent_us)
{
    size_t size;
    const char *payload = (const char *) sf_result_payload (result, &size);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = -1;
    if (msgpack_unpack_next (&unpacked, payload, size, &offset) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *t = sf_mp_get (&unpacked.data, "t");
        if (!t)
            t = sf_mp_get (sf_mp_get (&unpacked.data, "params"), "t");
        if (t && t->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *sent_us = t->via.u64;
            rc = 0;
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}

//  Account for one result and destroy it.
static void
s_take_result (s_run_t *run, sf_result_t **result_p, bool client_latency)
{
    sf_result_t *result = *result_p;
    uint64_t now = s_now_us ();
    run->results++;
    //  A duplicate is counted and otherwise ignored, so the latency arrays
    //  hold one entry per distinct job and never more than capacity
    if (zhashx_insert (run->ids, sf_result_id (result), (void *) 1)
    ||  zhashx_size (run->ids) > run->capacity) {
        if (run->duplicates++ < S_REPORT_MAX)
            fprintf (stderr, "echo: job %s came back twice\n", sf_result_id (result));
        sf_result_destroy (result_p);
        return;
    }
    uint64_t total = sf_result_total_us (result);
    run->broker_us [run->broker_count++] = total > UINT32_MAX? UINT32_MAX: (uint32_t) total;
    if (sf_result_status (result) != SF_STATUS_OK) {
        if (run->failed++ < S_REPORT_MAX)
            fprintf (stderr, "echo: job %s ended %s: %s: %s\n", sf_result_id (result),
                     sf_status_name (sf_result_status (result)),
                     sf_result_error_code (result), sf_result_error_message (result));
    }
    else
    if (client_latency) {
        uint64_t sent_us;
        if (s_result_sent_us (result, &sent_us) == 0 && sent_us <= now) {
            uint64_t elapsed = now - sent_us;
            run->client_us [run->client_count++] = elapsed > UINT32_MAX? UINT32_MAX: (uint32_t) elapsed;
        }
        else
            run->untimed++;
    }
    sf_result_destroy (result_p);
}

//  --------------------------------------------------------------------------
//  Handle one event. Returns 0, or -1 when the broker rejected a batch.

static int
s_take_event (s_run_t *run, sf_event_t *event, bool client_latency)
{
    switch (event->kind) {
        case SF_EVENT_ACCEPTED:
            run->accepted += event->count;
            return 0;
        case SF_EVENT_REJECTED:
            fprintf (stderr, "echo: the broker rejected a batch: %s: %s\n",
                     event->error.code, event->error.message);
            return -1;
        case SF_EVENT_RESULT:
            s_take_result (run, &event->result, client_latency);
            return 0;
        default:
            return 0;
    }
}

//  --------------------------------------------------------------------------
//  How many workers the broker's status JSON shows, or -1 if it does not
//  say in a form read here: "workers" as an array (one per worker), a
//  number, or an object with "count"/"connected"/"total", else keyed by
//  worker.

static long
s_worker_count (const char *status)
{
    json_t *root = json_loads (status, 0, NULL);
    json_t *workers = json_object_get (root, "workers");
    long count = -1;
    if (json_is_array (workers))
        count = (long) json_array_size (workers);
    else
    if (json_is_integer (workers))
        count = (long) json_integer_value (workers);
    else
    if (json_is_object (workers)) {
        static const char *keys [] = { "count", "connected", "total" };
        for (size_t i = 0; i < sizeof keys / sizeof keys [0] && count < 0; i++) {
            json_t *value = json_object_get (workers, keys [i]);
            if (json_is_integer (value))
                count = (long) json_integer_value (value);
        }
        if (count < 0)
            count = (long) json_object_size (workers);
    }
    json_decref (root);
    return count;
}

//  Wait until the broker shows at least `want` workers. Returns 0, or -1
//  after wait_ms or when the status cannot be read.
static int
s_wait_workers (sf_client_t *client, long want, long wait_ms)
{
    uint64_t deadline = s_now_us () + (uint64_t) wait_ms * 1000;
    long seen = -1;
    while (!zsys_interrupted) {
        sf_error_t error;
        char *status = sf_client_status (client, &error);
        if (!status) {
            fprintf (stderr, "echo: no status from the broker: %s: %s\n", error.code,
                     error.message);
            return -1;
        }
        seen = s_worker_count (status);
        free (status);
        if (seen < 0) {
            fprintf (stderr, "echo: the broker's status does not show its workers\n");
            return -1;
        }
        if (seen >= want)
            return 0;
        if (s_now_us () > deadline)
            break;
        zclock_sleep (50);
    }
    fprintf (stderr, "echo: %ld of %ld workers after %ld ms\n", seen, want, wait_ms);
    return -1;
}

//  One untimed job, synchronously, so the timed run starts on a path that
//  is known to work end to end. Returns 0 or -1.
static int
s_warm_up (sf_client_t *client, const char *analyzer)
{
    sf_job_t *job = sf_job_new (analyzer);
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    sf_result_t *result = NULL;
    if (sf_client_submit (client, job, id, &error) == 0)
        result = sf_client_wait (client, S_SYNC_TIMEOUT_MS, &error);
    sf_job_destroy (&job);
    if (!result) {
        fprintf (stderr, "echo: warm-up job failed: %s: %s\n", error.code, error.message);
        return -1;
    }
    int rc = 0;
    if (sf_result_status (result) != SF_STATUS_OK) {
        fprintf (stderr, "echo: warm-up job ended %s: %s: %s\n",
                 sf_status_name (sf_result_status (result)), sf_result_error_code (result),
                 sf_result_error_message (result));
        rc = -1;
    }
    sf_result_destroy (&result);
    return rc;
}

//  --------------------------------------------------------------------------
//  Send one batch of count copies of job, stamped with the send time.
//  Returns 0 or -1.

static int
s_send_batch (sf_client_t *client, sf_job_t *job, sf_job_t **jobs, size_t count)
{
    char stamp [32];
    snprintf (stamp, sizeof stamp, "%" PRIu64, s_now_us ());
    //  Checked once: a failure here is a bug in this file, not input
    int rc = sf_job_set_param (job, "t", stamp);
    assert (rc == 0);
    (void) rc;
    uint64_t tag;
    sf_error_t error;
    if (sf_client_send (client, jobs, count, &tag, &error)) {
        fprintf (stderr, "echo: send failed: %s: %s\n", error.code, error.message);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The timed run (or, with submit_only, the submit phase). Returns 0 when
//  the loop ran to its end, -1 on a stall, a rejection or an interrupt.

static int
s_run (const s_options_t *opt, sf_client_t *client, s_run_t *run)
{
    size_t jobs = (size_t) opt->jobs;
    size_t window = (size_t) opt->inflight;
    size_t batch = (size_t) (opt->batch < opt->inflight? opt->batch: opt->inflight);
    sf_job_t *job = sf_job_new (opt->analyzer);
    sf_job_set_symbol (job, "ETH-USD.CB");
    sf_job_t **copies = malloc (batch * sizeof *copies);
    if (!copies)
        abort ();
    for (size_t i = 0; i < batch; i++)
        copies [i] = job;

    int rc = -1;
    uint64_t start = s_now_us ();
    uint64_t progress = start;          //  When the last event arrived
    while (!zsys_interrupted) {
        //  Finished: every job accepted and (unless submit-only) every
        //  result in; acknowledgements and results arrive in any order
        if (run->accepted >= jobs && (opt->submit_only || run->results >= jobs)) {
            rc = 0;
            break;
        }
        //  Fill the window: jobs without a result (submit-only: without an
        //  acknowledgement) count against it
        while (run->sent < jobs) {
            size_t done = opt->submit_only? run->accepted: run->results;
            size_t busy = run->sent > done? run->sent - done: 0;
            size_t free_slots = busy < window? window - busy: 0;
            size_t count = jobs - run->sent < batch? jobs - run->sent: batch;
            if (free_slots < count)
                break;
            if (s_send_batch (client, job, copies, count))
                goto cleanup;
            run->sent += count;
        }
        //  Wait up to a second for an event, then take what is waiting
        for (int n = 0; n < S_DRAIN_MAX; n++) {
            sf_event_t event;
            if (sf_client_recv (client, n == 0? 1000: 0, &event) != 0
            ||  event.kind == SF_EVENT_NONE)
                break;
            progress = s_now_us ();
            if (s_take_event (run, &event, opt->client_latency))
                goto cleanup;
        }
        if (s_now_us () - progress > S_STALL_US) {
            fprintf (stderr, "echo: no progress for %d s (sent %zu, accepted %zu, results %zu)\n",
                     S_STALL_US / 1000000, run->sent, run->accepted, run->results);
            goto cleanup;
        }
    }
cleanup:
    run->seconds = (double) (s_now_us () - start) / 1e6;
    if (zsys_interrupted)
        fprintf (stderr, "echo: interrupted\n");
    free (copies);
    sf_job_destroy (&job);
    return rc;
}

//  --------------------------------------------------------------------------
//  Command line.

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: echo [options]\n"
        "  --broker EP          broker frontend (default $SHEAF_BROKER or "
        SF_DEFAULT_FRONTEND ")\n"
        "  --jobs N             jobs to run (default 200000; 0 with --wait-workers)\n"
        "  --inflight W         jobs kept in flight (default 1000)\n"
        "  --batch B            jobs per batch at most (default 100)\n"
        "  --analyzer NAME      analyzer to run (default echo; it must return params)\n"
        "  --wait-workers K     first wait until the broker shows K workers\n"
        "  --wait-ms MS         how long --wait-workers waits (default 10000)\n"
        "  --no-client-latency  do not read \"t\" back (broker latency only)\n"
        "  --submit-only        submit, wait for acceptance, hold until SIGTERM\n"
        "  --time-limit S       SIGALRM after S seconds (default 600)\n"
        "Prints one line of JSON; see bench/README.md.\n");
}

static int
s_parse_options (int argc, char *argv [], s_options_t *opt)
{
    static const struct option longs [] = {
        { "broker", required_argument, NULL, 'e' },
        { "jobs", required_argument, NULL, 'n' },
        { "inflight", required_argument, NULL, 'w' },
        { "batch", required_argument, NULL, 'b' },
        { "analyzer", required_argument, NULL, 'a' },
        { "wait-workers", required_argument, NULL, 'k' },
        { "wait-ms", required_argument, NULL, 'm' },
        { "no-client-latency", no_argument, NULL, 'L' },
        { "submit-only", no_argument, NULL, 's' },
        { "time-limit", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    *opt = (s_options_t) {
        .jobs = 200000, .inflight = 1000, .batch = 100, .wait_workers = -1,
        .wait_ms = 10000, .time_limit = 600,
        .client_latency = true, .analyzer = "echo"
    };
    int c, which = 0;
    while ((c = getopt_long (argc, argv, "", longs, &which)) != -1) {
        int rc = 0;
        switch (c) {
            case 'e': opt->broker = optarg; break;
            case 'n': rc = bench_parse_long (optarg, 0, 100000000, &opt->jobs); break;
            case 'w': rc = bench_parse_long (optarg, 1, 10000000, &opt->inflight); break;
            case 'b': rc = bench_parse_long (optarg, 1, 100000, &opt->batch); break;
            case 'a': opt->analyzer = optarg; break;
            case 'k': rc = bench_parse_long (optarg, 0, 100000, &opt->wait_workers); break;
            case 'm': rc = bench_parse_long (optarg, 1, 3600000, &opt->wait_ms); break;
            case 'L': opt->client_latency = false; break;
            case 's': opt->submit_only = true; break;
            case 't': rc = bench_parse_long (optarg, 1, 86400, &opt->time_limit); break;
            case 'h': s_usage (stdout); exit (0);
            default: return -1;
        }
        if (rc) {
            fprintf (stderr, "echo: bad value \"%s\" for --%s\n", optarg, longs [which].name);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "echo: unexpected argument \"%s\"\n", argv [optind]);
        return -1;
    }
    sf_job_t *probe = sf_job_new (opt->analyzer);
    if (!probe) {
        fprintf (stderr, "echo: \"%s\" is not an analyzer name\n", opt->analyzer);
        return -1;
    }
    sf_job_destroy (&probe);
    if (opt->jobs == 0 && opt->wait_workers < 0) {
        fprintf (stderr, "echo: --jobs 0 makes sense only with --wait-workers\n");
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Print the run as one line of JSON (percentile arrays get sorted).

static void
s_print (const s_options_t *opt, const char *endpoint, s_run_t *run)
{
    size_t batch = (size_t) (opt->batch < opt->inflight? opt->batch: opt->inflight);
    if (opt->submit_only) {
        printf ("{\"system\":\"sheaf\",\"mode\":\"submit-only\",\"jobs\":%ld,\"accepted\":%zu,"
                "\"seconds\":%.3f,\"batch\":%zu,\"endpoint\":\"%s\"}\n",
                opt->jobs, run->accepted, run->seconds, batch, endpoint);
        fflush (stdout);
        return;
    }
    qsort (run->client_us, run->client_count, sizeof (uint32_t), bench_compare_u32);
    qsort (run->broker_us, run->broker_count, sizeof (uint32_t), bench_compare_u32);
    printf ("{\"system\":\"sheaf\",\"jobs\":%ld,\"inflight\":%ld,\"seconds\":%.3f,"
            "\"jobs_per_s\":%.0f,", opt->jobs, opt->inflight, run->seconds,
            (double) run->results / run->seconds);
    s_print_percentile ("p50_us", run->client_us, run->client_count, 50);
    printf (",");
    s_print_percentile ("p99_us", run->client_us, run->client_count, 99);
    printf (",");
    s_print_percentile ("broker_p50_us", run->broker_us, run->broker_count, 50);
    printf (",");
    s_print_percentile ("broker_p99_us", run->broker_us, run->broker_count, 99);
    printf (",\"batch\":%zu,\"endpoint\":\"%s\"}\n", batch, endpoint);
    fflush (stdout);
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
    //  The last resort against a hang: SIGALRM's default action ends us
    alarm ((unsigned) opt.time_limit);

    const char *endpoint = opt.broker? opt.broker: getenv ("SHEAF_BROKER");
    if (!endpoint || !*endpoint)
        endpoint = SF_DEFAULT_FRONTEND;
    sf_client_t *client = sf_client_new (endpoint);
    if (!client) {
        fprintf (stderr, "echo: cannot connect to \"%s\"\n", endpoint);
        return S_EXIT_SETUP;
    }
    sf_client_set_timeout (client, S_SYNC_TIMEOUT_MS);

    s_run_t run = { 0 };
    run.capacity = (size_t) opt.jobs;
    run.client_us = calloc (run.capacity + 1, sizeof (uint32_t));
    run.broker_us = calloc (run.capacity + 1, sizeof (uint32_t));
    run.ids = zhashx_new ();
    if (!run.client_us || !run.broker_us || !run.ids)
        abort ();

    int exit_code = S_EXIT_SETUP;
    if (opt.wait_workers >= 0 && s_wait_workers (client, opt.wait_workers, opt.wait_ms))
        goto cleanup;
    if (opt.jobs == 0) {
        exit_code = 0;
        goto cleanup;
    }
    if (!opt.submit_only && s_warm_up (client, opt.analyzer))
        goto cleanup;

    exit_code = S_EXIT_RUN;
    if (s_run (&opt, client, &run))
        goto cleanup;
    s_print (&opt, endpoint, &run);
    if (opt.submit_only) {
        //  Hold the connection so the jobs stay queued while memory is read
        while (!zsys_interrupted) {
            sf_event_t event;
            sf_client_recv (client, 500, &event);
            sf_result_destroy (&event.result);
        }
        exit_code = 0;
        goto cleanup;
    }
    if (run.results != (size_t) opt.jobs || run.accepted != (size_t) opt.jobs
    ||  run.duplicates || run.failed) {
        fprintf (stderr, "echo: %ld jobs: %zu accepted, %zu results, %zu duplicates, "
                 "%zu not ok\n", opt.jobs, run.accepted, run.results, run.duplicates,
                 run.failed);
        goto cleanup;
    }
    if (opt.client_latency && run.untimed)
        fprintf (stderr, "echo: %zu results carried no \"t\" back; p50_us/p99_us cover "
                 "the other %zu\n", run.untimed, run.client_count);
    exit_code = 0;

cleanup:
    if (zsys_interrupted && exit_code != 0)
        exit_code = S_EXIT_INTERRUPTED;
    zhashx_destroy (&run.ids);
    free (run.client_us);
    free (run.broker_us);
    sf_client_destroy (&client);
    return exit_code;
}
