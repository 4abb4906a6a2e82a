/*  =========================================================================
    sheaf.h - the public API of libsheaf, the client library of sheaf

    sheaf is a job fleet for market-data analysis: a broker takes analysis
    jobs from clients over ZeroMQ, workers run them, results come back.
    This header is all a C program needs to submit jobs and read results:

        sf_client_t *client = sf_client_new (NULL);     //  SHEAF_BROKER or default
        sf_job_t *job = sf_job_new ("echo");
        sf_job_set_param (job, "x", "1");                //  value is JSON text
        char id [SF_ID_STRLEN + 1];
        sf_error_t error;
        if (sf_client_submit (client, job, id, &error) == 0) {
            sf_result_t *result = sf_client_wait (client, 5000, &error);
            if (result) {
                char *json = sf_result_json (result);
                puts (json);
                free (json);
                sf_result_destroy (&result);
            }
            else                                         //  No result in time
                fprintf (stderr, "%s: %s\n", error.code, error.message);
        }
        sf_job_destroy (&job);
        sf_client_destroy (&client);

    examples/readme_echo.c is this program whole (the README shows it).

    Ownership: a function returning an object or a `char *` gives it to the
    caller (free strings with free(), objects with their destroy). A
    `const char *` return is borrowed from the object it came from. A
    `T **` argument takes the object and nulls the caller's pointer.

    A client object belongs to one thread at a time.

    Every call takes a NULL object without crashing: destroy and the
    accessors do nothing and return NULL, 0 or -1 (sf_result_status:
    SF_STATUS_INVALID), setters and client calls fail (-1 or NULL, with
    error code BAD_INPUT where they report one). So a NULL from a call that
    failed (sf_client_new, sf_client_wait) shows as an error further on,
    not as a crash; the error that call reported says why.
    ========================================================================= */

#ifndef SHEAF_H_INCLUDED
#define SHEAF_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  libsheaf.so exports every function this header declares and nothing
//  else: common/ is compiled with -fvisibility=hidden, and this pragma
//  gives the declarations below default visibility, which their
//  definitions inherit. One mark for the whole header rather than one per
//  declaration: a function added here is exported without a mark of its
//  own to forget. tests/check_exports compares the library's exported
//  symbols with this header.
#pragma GCC visibility push (default)

//  The version of sheaf: every program prints it for --version, and the
//  broker reports it in its status.
#define SF_VERSION "0.1.0"
#define SF_DEFAULT_FRONTEND "tcp://127.0.0.1:5555"
#define SF_DEFAULT_BACKEND "tcp://127.0.0.1:5556"
#define SF_ID_STRLEN 36

//  --------------------------------------------------------------------------
//  Errors a user sees: a stable code (see docs/PROTOCOL.md for the list) and
//  a message naming what was wrong.

typedef struct {
    char code [32];             //  e.g. "BAD_INPUT", "TIMEOUT", "UNREACHABLE"
    char message [256];         //  One line, for humans
} sf_error_t;

//  Fill error (if not NULL) with code and a formatted message; returns -1 so
//  that `return sf_error_set (...)` reads naturally.
int sf_error_set (sf_error_t *error, const char *code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  --------------------------------------------------------------------------
//  Final status of a job.

typedef enum {
    SF_STATUS_OK,
    SF_STATUS_ERROR,
    SF_STATUS_TIMEOUT,
    SF_STATUS_CANCELLED,
    SF_STATUS_DEAD,
    SF_STATUS_INVALID           //  Not a status; returned for unknown names
} sf_status_t;

//  The status's wire name: "ok", "error", "timeout", "cancelled", "dead".
const char *sf_status_name (sf_status_t status);

//  Parse a wire name of length size; SF_STATUS_INVALID if unknown.
sf_status_t sf_status_parse (const char *name, size_t size);

//  --------------------------------------------------------------------------
//  A job: which analyzer to run, on what, with which parameters.

typedef struct _sf_job_t sf_job_t;

//  Create a job for analyzer. Returns NULL if the name is not a valid
//  analyzer name (1-64 characters of a-z, 0-9, '_', '-', '.').
sf_job_t *sf_job_new (const char *analyzer);

//  Create a job from its JSON form (see the README). Returns NULL and fills
//  error (code BAD_INPUT, naming the field) when the text is not a valid job.
sf_job_t *sf_job_from_json (const char *text, sf_error_t *error);

void sf_job_destroy (sf_job_t **self_p);

//  Setters return 0, or -1 when the value is out of its documented range.
int sf_job_set_symbol (sf_job_t *self, const char *symbol);         //  1-64 chars
int sf_job_set_timeframe (sf_job_t *self, const char *timeframe);   //  1-16 chars
int sf_job_set_priority (sf_job_t *self, int priority);             //  0-9, 9 first
int sf_job_set_timeout (sf_job_t *self, int64_t timeout_ms);        //  >= 1
int sf_job_set_retries (sf_job_t *self, int retries);               //  0-100
int sf_job_set_backoff (sf_job_t *self, int64_t backoff_ms);        //  0-3600000
int sf_job_set_key (sf_job_t *self, const char *key);               //  1-256 chars
//  Continue the analyzer state kept under state_key (1-256 chars): the
//  broker attaches the latest state stored under that key, and the
//  worker, for an analyzer that keeps state, computes only the candles
//  after it and returns the new state (docs/PROTOCOL.md 4.5.3).
int sf_job_set_state_key (sf_job_t *self, const char *state_key);

//  Cut the candles to a time range, both ends included: time is ISO-8601
//  text (any form of the README's "Jobs" section, e.g. "2024-01-31" or
//  "2024-01-31T09:30:00+02:00") or epoch milliseconds written in decimal
//  digits ("1706659200000"). Returns -1 when time is neither.
int sf_job_set_from (sf_job_t *self, const char *time);
int sf_job_set_to (sf_job_t *self, const char *time);

//  Keep only the latest limit candles (1-100000000).
int sf_job_set_limit (sf_job_t *self, int64_t limit);

//  Chain next to this job: when this job ends ok, the broker submits a
//  copy of next (as it is now) as a new job of the same client, with this
//  job's result in its params.previous, {"id", "analyzer", "result"}
//  (docs/PROTOCOL.md 4.5). next may have its own follow-up, at most 8
//  deep, and no key. Returns 0, or -1 when next breaks those rules.
int sf_job_set_then (sf_job_t *self, const sf_job_t *next);

//  Set parameter name to a value given as JSON text ("14", "true",
//  "\"abc\"", "{...}"). Returns -1 if the text is not JSON.
int sf_job_set_param (sf_job_t *self, const char *name, const char *json_value);

//  Carry size candles inline, given as six arrays of size values (ts in
//  epoch milliseconds, strictly increasing; every value finite). The values
//  are copied and travel as float64 columns (8 bytes a value). Returns 0,
//  or -1 when size is 0 or a value breaks those rules.
int sf_job_set_candles (sf_job_t *self, const double *ts, const double *open,
                        const double *high, const double *low, const double *close,
                        const double *volume, size_t size);

//  The analyzer name (borrowed).
const char *sf_job_analyzer (const sf_job_t *self);

//  The job as JSON; the caller frees it.
char *sf_job_json (const sf_job_t *self);

//  --------------------------------------------------------------------------
//  A result: the final outcome of one job.

typedef struct _sf_result_t sf_result_t;

void sf_result_destroy (sf_result_t **self_p);

const char *sf_result_id (const sf_result_t *self);          //  job id, text form
sf_status_t sf_result_status (const sf_result_t *self);
const char *sf_result_analyzer (const sf_result_t *self);
const char *sf_result_worker (const sf_result_t *self);      //  "" if none ran it
unsigned sf_result_attempts (const sf_result_t *self);

//  The result's position in its group (submission order, from 0), or -1
//  when the job was not submitted in a group.
long sf_result_index (const sf_result_t *self);

//  The id (text form) of the follow-up this job started (its "then", run
//  because the job ended ok), or NULL when it started none. The follow-up's
//  result is pushed to the same client later.
const char *sf_result_then_id (const sf_result_t *self);

//  Error code and message when the status is not ok; NULL when it is ok.
const char *sf_result_error_code (const sf_result_t *self);
const char *sf_result_error_message (const sf_result_t *self);

//  Microseconds: waiting in the broker, running at the worker, and from
//  acceptance to the final status.
uint64_t sf_result_queued_us (const sf_result_t *self);
uint64_t sf_result_run_us (const sf_result_t *self);
uint64_t sf_result_total_us (const sf_result_t *self);

//  The analyzer's output alone, as JSON ("null" when there is none); the
//  caller frees it.
char *sf_result_value_json (const sf_result_t *self);

//  The whole result as one JSON object (the documented result format); the
//  caller frees it.
char *sf_result_json (const sf_result_t *self);

//  The analyzer's output (status ok) or the error map (otherwise) in its
//  msgpack encoding, as the worker produced it: for programs that read
//  results without going through JSON. Borrowed from self; *size is set.
const void *sf_result_payload (const sf_result_t *self, size_t *size);

//  --------------------------------------------------------------------------
//  A client: a connection to the broker's frontend.

typedef struct _sf_client_t sf_client_t;

//  Connect to endpoint; NULL means $SHEAF_BROKER, else SF_DEFAULT_FRONTEND.
//  Connecting never waits: an absent broker shows as a timeout later.
//  Returns NULL if the endpoint is malformed.
//
//  The client waits for the result of every job it submitted (and of the
//  follow-ups those start, and of the jobs it fetches with wait). When its
//  connection comes back after it was lost (the broker restarted, or the
//  network failed), the broker knows it no more, so the client asks again
//  for every result and group answer it still waits for (docs/PROTOCOL.md
//  5.6). That happens inside the calls that receive (sf_client_wait,
//  sf_client_fetch, sf_client_recv, sf_gather, …).
sf_client_t *sf_client_new (const char *endpoint);

//  Close the connection. Messages not yet handed to a connected broker get
//  up to 2 s to go; to a broker that is not connected (unreachable) they
//  are dropped at once, so closing never waits for it.
void sf_client_destroy (sf_client_t **self_p);

//  How long calls wait for the broker's acknowledgements and replies
//  (default 5000 ms).
void sf_client_set_timeout (sf_client_t *self, int timeout_ms);

//  How long a synchronous submit keeps trying while the broker answers
//  BUSY (it is at a limit), waiting as the broker suggests with backoff in
//  between (default 30000 ms; 0: report BUSY at once).
void sf_client_set_busy_wait (sf_client_t *self, int busy_wait_ms);

//  Submit one job and wait until the broker has accepted it; its id is
//  written to id. Returns 0, or -1 with error (the broker's rejection, or
//  code UNREACHABLE when no acknowledgement came in time). A job with a
//  key the broker knows gets the existing job's id; its result comes to
//  sf_client_wait like any other (the client fetches it), once per job:
//  not again when this client had it less than a minute before.
int sf_client_submit (sf_client_t *self, sf_job_t *job,
                      char id [SF_ID_STRLEN + 1], sf_error_t *error);

//  Submit count jobs in one message; all are accepted or none is. Ids are
//  written to ids in order. Returns 0 or -1 with error.
int sf_client_submit_many (sf_client_t *self, sf_job_t **jobs, size_t count,
                           char (*ids) [SF_ID_STRLEN + 1], sf_error_t *error);

//  Wait up to timeout_ms (-1 forever) for the next result of any job this
//  client submitted (one result per job, however many copies arrive).
//  Returns the result (the caller owns it), or NULL with error code
//  TIMEOUT when none came in time: check for NULL before using it.
sf_result_t *sf_client_wait (sf_client_t *self, int timeout_ms, sf_error_t *error);

//  Fetch the result of job id (submitted by anyone, this client included).
//  When the job has not finished: with wait, wait up to timeout_ms for it
//  (across a reconnect too); without, return NULL and write its state
//  ("queued", "running" or "retrying") to state (may be NULL). NULL with
//  error code NOT_FOUND when the broker does not know the id, TIMEOUT when
//  the wait ran out. A result that comes after its wait ran out goes to
//  sf_client_wait and sf_client_recv.
sf_result_t *sf_client_fetch (sf_client_t *self, const char *id, bool wait,
                              int timeout_ms, char state [16], sf_error_t *error);

//  The broker's status as JSON (queues, in-flight jobs, workers,
//  counters); the caller frees it. NULL with error on failure.
char *sf_client_status (sf_client_t *self, sf_error_t *error);

//  Cancel job id: a queued or retrying job ends at once, a running one is
//  stopped at its worker; either way its status is `cancelled`. Returns 0
//  when cancelled, 1 when the job had finished already (it keeps its
//  status), -1 with error (NOT_FOUND for an unknown id).
int sf_client_cancel (sf_client_t *self, const char *id, sf_error_t *error);

//  Manage the dead letters (jobs that exhausted their retries, or were at
//  too many worker deaths). op "list" (id NULL), "show" (id), "retry" and
//  "purge" (id, or NULL for all). Returns JSON the caller frees: a list of
//  dead letters for list and show, a count for retry and purge; NULL with
//  error on failure (NOT_FOUND for an id that is no dead letter).
char *sf_client_dead (sf_client_t *self, const char *op, const char *id, sf_error_t *error);

//  --------------------------------------------------------------------------
//  Gathering: a group of jobs the broker runs and answers for as one. One
//  message submits the whole group; the broker fans the jobs out, applies
//  the policy as results come in, cancels what is no longer needed, and
//  sends one answer with every item in submission order.

typedef enum {
    SF_GATHER_ALL,              //  Wait for every item; each has its own status
    SF_GATHER_FAIL_FAST,        //  The first failed item fails the group
    SF_GATHER_ANY               //  The first ok item wins (hedged requests)
} sf_gather_policy_t;

typedef struct {
    sf_gather_policy_t policy;  //  When the group is decided (default: all)
    unsigned min_ok;            //  Quorum: ok as soon as this many items are ok
                                //  (0: none; when set, it replaces the policy)
    unsigned timeout_ms;        //  Answer with what there is at this deadline
                                //  (0: none); unfinished items end as timeout
    bool stream;                //  Items as they finish (on_item), then the summary
    sf_job_t *then;             //  Chord (borrowed) or NULL: a job run after the
                                //  group succeeded, with the results in
                                //  params.results; its result is the group's
    const char *key;            //  Idempotency key (borrowed; 1-256 bytes) or NULL:
                                //  while the broker keeps a group with this key,
                                //  a GROUP with it gets that group (its id, its
                                //  items and, once decided, its answer with
                                //  every item, none through on_item) and
                                //  nothing new is queued
} sf_gather_opts_t;

//  A group's answer.
typedef struct _sf_gather_t sf_gather_t;

//  Called for each streamed item; takes the result (index is its position).
typedef void (sf_gather_item_fn) (size_t index, sf_result_t *result, void *arg);

//  Called once with the answer; takes the gather.
typedef void (sf_gather_done_fn) (sf_gather_t *gather, void *arg);

//  Gather count jobs (1-100000 with the chord) under opts (NULL: all) and
//  wait up to timeout_ms (-1 forever) for the answer. Returns the answer
//  (the caller owns it), or NULL with error: the broker's rejection,
//  UNREACHABLE, or TIMEOUT (the group goes on in the broker; its id is in
//  the message and sf_client_fetch_group gets it later).
sf_gather_t *sf_gather (sf_client_t *self, sf_job_t **jobs, size_t count,
                        const sf_gather_opts_t *opts, int timeout_ms, sf_error_t *error);

//  Submit a group and return once the broker has accepted it, writing its
//  id to group_id. on_item (with opts->stream; may be NULL) and on_done
//  are then called from inside this client's receiving calls
//  (sf_client_recv and the others) as the group progresses. Returns 0, or
//  -1 with error.
int sf_gather_start (sf_client_t *self, sf_job_t **jobs, size_t count,
                     const sf_gather_opts_t *opts, sf_gather_item_fn *on_item,
                     sf_gather_done_fn *on_done, void *arg,
                     char group_id [SF_ID_STRLEN + 1], sf_error_t *error);

//  Fetch a group's answer by its id, also after its client went away. When
//  the group is still running: with wait, wait up to timeout_ms; without,
//  NULL with error NOT_FINISHED. NULL with NOT_FOUND for an unknown id.
sf_gather_t *sf_client_fetch_group (sf_client_t *self, const char *id, bool wait,
                                    int timeout_ms, sf_error_t *error);

void sf_gather_destroy (sf_gather_t **self_p);

//  The group's id (text form).
const char *sf_gather_id (const sf_gather_t *self);

//  How the group ended: "ok" (its policy was met), "failed" (it no longer
//  could be), "timeout" (the deadline came first), "cancelled".
const char *sf_gather_state (const sf_gather_t *self);

//  Items in the group (the chord not counted), and how many ended with
//  status.
size_t sf_gather_size (const sf_gather_t *self);
size_t sf_gather_count (const sf_gather_t *self, sf_status_t status);

//  Item index's result (borrowed), or NULL when the answer did not carry it
//  (a streamed item handed to on_item).
const sf_result_t *sf_gather_item (const sf_gather_t *self, size_t index);

//  The chord's result (borrowed), or NULL when there was no chord or it did
//  not run (the group did not succeed).
const sf_result_t *sf_gather_then (const sf_gather_t *self);

//  The summary as one JSON object {"group", "state", "total", "ok", "error",
//  "timeout", "cancelled", "dead"}; the caller frees it.
char *sf_gather_json (const sf_gather_t *self);

//  --------------------------------------------------------------------------
//  Asynchronous use: send without waiting, then read events as they come
//  (poll sf_client_fd for readability, or call sf_client_recv with a
//  timeout). Acknowledgements and results arrive in any order.

typedef enum {
    SF_EVENT_NONE,              //  Nothing arrived in time
    SF_EVENT_ACCEPTED,          //  A sent batch was accepted
    SF_EVENT_REJECTED,          //  A sent batch was rejected (see error)
    SF_EVENT_RESULT             //  A job's result
} sf_event_kind_t;

typedef struct {
    sf_event_kind_t kind;       //  What arrived
    uint64_t tag;               //  The batch's tag (ACCEPTED, REJECTED)
    size_t count;               //  Number of accepted ids (ACCEPTED)
    sf_result_t *result;        //  The result (RESULT); the caller owns it
    sf_error_t error;           //  Why (REJECTED)
} sf_event_t;

//  Send count jobs as one batch without waiting; *tag identifies the batch
//  in its ACCEPTED or REJECTED event. Returns 0, or -1 with error.
int sf_client_send (sf_client_t *self, sf_job_t **jobs, size_t count,
                    uint64_t *tag, sf_error_t *error);

//  Wait up to timeout_ms (0 polls, -1 forever) for the next event. Results
//  that synchronous calls set aside are returned first. A FETCH the client
//  sent by itself (for a keyed job, or after a reconnect) that the broker
//  refused comes as SF_EVENT_REJECTED with the broker's error (NOT_FOUND
//  naming the job or group: a broker whose store kept nothing across a
//  restart); no result will come for that job. Returns 0 (with
//  SF_EVENT_NONE when nothing came in time, or when what came was a group's
//  item or answer, handed to its callbacks), or -1 when interrupted by a
//  signal (SIGINT, SIGTERM).
int sf_client_recv (sf_client_t *self, int timeout_ms, sf_event_t *event);

//  After an SF_EVENT_ACCEPTED event: write the id of the batch's job number
//  index (0 .. count-1) to id. Valid until the next sf_client_* call.
//  Returns 0, or -1 when index is out of range.
int sf_client_accepted_id (sf_client_t *self, size_t index, char id [SF_ID_STRLEN + 1]);

//  The file descriptor that becomes readable when events may be waiting
//  (ZMQ_FD semantics: edge-triggered, drain with sf_client_recv (…, 0, …)).
//  A reconnect does not make it readable: a program that sleeps on it
//  calls sf_client_recv (…, 0, …) also when it wakes for another reason, so
//  that the client asks again for what it waits for (sf_client_new).
int sf_client_fd (sf_client_t *self);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
