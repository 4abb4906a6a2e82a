/*  =========================================================================
    sf_scheduler - the scheduler's loop: leadership, firing due entries as
    jobs, following their outcomes, reloading the schedule on SIGHUP

    Leadership: several schedulers may share a state directory; the one
    holding both its locks is the leader, the others retry them every
    200 ms. The kernel drops both when their holder dies (kill -9
    included), so a standby leads within a fraction of a second. Only the
    leader reads and writes the checkpoint, and it reads it after taking
    the locks, so it carries on where the last leader stopped.

    The two locks: an abstract Unix socket address named after the state
    directory's absolute path, and flock on DIR/leader.lock. A lock file
    alone can be deleted from under its holder: with the directory
    removed and made again, a second scheduler would lock a new file and
    lead beside the first. No file operation removes an abstract address,
    so the path stays taken while the leader lives. The address is
    per network namespace; the flock covers schedulers that share the
    directory from another one (containers on one host), and carries the
    leader's pid for `kill -HUP`.

    State directory failures: a checkpoint write that fails (the directory
    was deleted, the disk is full) is retried with exponential backoff,
    100 ms doubling up to 10 s, while firings go on; the first failure is
    logged, the retries are not, and the write that succeeds again says
    so. The leader then takes the lock file of the directory as it now is.

    Exactly once: each entry's checkpoint record says up to which
    scheduled instant everything is handled (`done`). A firing is
    submitted with the key schedule:NAME:TIME and recorded afterwards; a
    scheduler that dies in between submits the same key again after the
    restart or takeover, and the broker answers with the first job's id.

    Timing: the loop sleeps in zmq_poll on the client's socket and a
    timerfd armed for the earliest due instant on CLOCK_REALTIME (absolute,
    so it fires when the wall clock reaches the instant, however the clock
    got there). TFD_TIMER_CANCEL_ON_SET wakes the loop when the clock is
    set, and due times are recomputed from the new wall clock:

    - clock moved backwards: nothing is fired again; instants at or before
      `done` are handled, and the next firing waits for the clock to reach
      the next instant after `done`;
    - clock moved forwards: instants it jumped over are late; those later
      than `grace` count as missed and follow the misfire policy.

    Groups: an entry with a group template fires one GROUP carrying the
    key (the broker keeps groups by key as it keeps jobs by key); the
    group id stands for the firing in the checkpoint, and the group's
    answer (GROUP_RESULT, handed to s_group_done by the client library)
    gives the outcome.

    Outcomes: the broker pushes each job's result, and each group's
    answer, to the client that submitted it; outcomes of jobs and groups
    a previous scheduler submitted are fetched by id at startup and before
    an overlap decision.
    ========================================================================= */

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include "sf_alloc.h"
#include "sf_checkpoint.h"
#include "sf_log.h"
#include "sf_schedule.h"
#include "sf_scheduler.h"

//  After this many missed instants of one entry the count stops being
//  exact: the scan jumps to the last hour before now.
#define S_SCAN_MAX 100000
//  A submit the broker did not acknowledge is tried again after this.
#define S_RETRY_MS 1000
//  A checkpoint write that failed is tried again after the first delay,
//  doubled at each failure up to the second.
#define S_SAVE_RETRY_MS 100
#define S_SAVE_RETRY_MAX_MS 10000

//  An entry of the running schedule.
typedef struct {
    sf_schedule_entry_t *spec;  //  From the schedule (borrowed)
    sf_checkpoint_record_t *record;     //  From the checkpoint (borrowed)
    int64_t next;               //  Next instant after record->done, -1 none
    int64_t retry_ms;           //  No firing before this (after a failed submit)
} s_entry_t;

struct _sf_scheduler_t {
    sf_scheduler_config_t config;   //  Strings borrowed from the caller
    sf_schedule_t *schedule;    //  The schedule in force
    sf_checkpoint_t *checkpoint;    //  What was fired
    sf_client_t *client;        //  To the broker
    s_entry_t *entries;         //  One per schedule entry
    size_t entry_count;         //  How many
    zhashx_t *pending;          //  Unfinished job id -> s_entry_t (borrowed)
    int lock_fd;                //  DIR/leader.lock
    char lock_path [1024];      //  Its path
    struct sockaddr_un name;    //  The abstract address named after DIR
    socklen_t name_size;        //  Its length
    int name_fd;                //  Bound to name while leading (or waiting
                                //  for the flock), else -1
    int timer_fd;               //  Wakes the loop at the next due instant
    bool dirty;                 //  Firings to write to the checkpoint now
    bool outcomes;              //  Outcomes to write within a second
    int64_t saved_ms;           //  When the checkpoint was last written
    unsigned save_failures;     //  Writes failed in a row
    int64_t save_retry_ms;      //  No write before this (after a failure)
    int64_t failing_ms;         //  When the writes started failing
    bool unreachable;           //  The broker did not answer in this pass
};

//  Outcomes alone are written at most once a second: with many entries a
//  write per result would rewrite the whole checkpoint hundreds of times
//  a second. A lost outcome is fetched from the broker after a restart.
#define S_OUTCOME_SAVE_MS 1000

static volatile sig_atomic_t s_hangup;

static void
s_on_hangup (int signal)
{
    (void) signal;
    s_hangup = 1;
}

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static char *
s_time (int64_t instant, char buffer [64])
{
    return sf_cron_format (instant, NULL, buffer, 64);
}

//  Load the schedule file, logging every mistake. Returns it or NULL.
static sf_schedule_t *
s_load (const char *path, sf_error_t *error)
{
    char *errors = NULL;
    sf_schedule_t *schedule = sf_schedule_load (path, &errors);
    if (!schedule) {
        char *save = NULL;
        for (char *line = strtok_r (errors, "\n", &save); line;
             line = strtok_r (NULL, "\n", &save)) {
            sf_log_error ("schedule: %s", line);
            if (error && line == errors)
                sf_error_set (error, "SCHEDULE", "%s", line);
        }
        free (errors);
    }
    return schedule;
}

//  The abstract address that stands for the state directory (which
//  exists): "sheaf-scheduler:" and its absolute path, or a 64-bit FNV-1a
//  hash of the path when that is too long for an address. 0, or -1 with
//  error.
static int
s_name (sf_scheduler_t *self, sf_error_t *error)
{
    char *path = realpath (self->config.state, NULL);
    if (!path)
        return sf_error_set (error, "STATE", "cannot resolve %s: %s", self->config.state,
                             strerror (errno));
    self->name.sun_family = AF_UNIX;
    //  sun_path [0] stays 0: the abstract namespace
    char *text = self->name.sun_path + 1;
    size_t room = sizeof self->name.sun_path - 1;
    int size = snprintf (text, room, "sheaf-scheduler:%s", path);
    if (size < 0 || (size_t) size >= room) {
        uint64_t hash = 14695981039346656037ULL;
        for (const char *c = path; *c; c++)
            hash = (hash ^ (unsigned char) *c) * 1099511628211ULL;
        size = snprintf (text, room, "sheaf-scheduler:#%016llx", (unsigned long long) hash);
    }
    //  An abstract address is as long as the length says, without a NUL
    self->name_size = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + 1 + (size_t) size);
    free (path);
    return 0;
}

sf_scheduler_t *
sf_scheduler_new (const sf_scheduler_config_t *config, sf_error_t *error)
{
    sf_schedule_t *schedule = s_load (config->schedule, error);
    if (!schedule)
        return NULL;
    sf_scheduler_t *self = (sf_scheduler_t *) sf_alloc (sizeof *self);
    self->config = *config;
    self->schedule = schedule;
    self->lock_fd = -1;
    self->name_fd = -1;
    self->timer_fd = -1;
    self->pending = zhashx_new ();
    //  The client also sets up czmq's SIGINT/SIGTERM handling, which a
    //  standby needs while it waits for the lock
    self->client = sf_client_new (config->broker);
    if (!self->client) {
        sf_error_set (error, "BROKER", "malformed broker endpoint \"%s\"",
                      config->broker? config->broker: "");
        sf_scheduler_destroy (&self);
        return NULL;
    }
    sf_client_set_timeout (self->client, config->submit_timeout_ms);
    self->checkpoint = sf_checkpoint_new (config->state, error);
    if (!self->checkpoint) {
        sf_scheduler_destroy (&self);
        return NULL;
    }
    if (s_name (self, error)) {
        sf_scheduler_destroy (&self);
        return NULL;
    }
    snprintf (self->lock_path, sizeof self->lock_path, "%s/leader.lock", config->state);
    self->lock_fd = open (self->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    self->timer_fd = timerfd_create (CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    if (self->lock_fd < 0 || self->timer_fd < 0) {
        sf_error_set (error, "STATE", "cannot open %s: %s", self->lock_path, strerror (errno));
        sf_scheduler_destroy (&self);
        return NULL;
    }
    struct sigaction action = { .sa_handler = s_on_hangup };
    sigemptyset (&action.sa_mask);
    sigaction (SIGHUP, &action, NULL);      //  No SA_RESTART: the poll wakes
    return self;
}

void
sf_scheduler_destroy (sf_scheduler_t **self_p)
{
    if (*self_p) {
        sf_scheduler_t *self = *self_p;
        if (self->timer_fd >= 0)
            close (self->timer_fd);
        if (self->lock_fd >= 0)
            close (self->lock_fd);      //  Releases leadership
        if (self->name_fd >= 0)
            close (self->name_fd);
        free (self->entries);
        zhashx_destroy (&self->pending);
        sf_checkpoint_destroy (&self->checkpoint);
        sf_client_destroy (&self->client);
        sf_schedule_destroy (&self->schedule);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Leadership

//  Write our pid into the lock file for `kill -HUP $(cat DIR/leader.lock)`.
static void
s_write_pid (sf_scheduler_t *self)
{
    char pid [32];
    int size = snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
    if (ftruncate (self->lock_fd, 0) || pwrite (self->lock_fd, pid, (size_t) size, 0) < 0)
        sf_log_warning ("scheduler: cannot write the leader's pid: %s", strerror (errno));
}

//  Try both locks, the address first. Returns 0 when both are ours, 1 when
//  another scheduler holds one, -1 (errno set) on error.
static int
s_try_lock (sf_scheduler_t *self)
{
    if (self->name_fd < 0) {
        int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (bind (fd, (struct sockaddr *) &self->name, self->name_size)) {
            int cause = errno;
            close (fd);
            errno = cause;
            return cause == EADDRINUSE? 1: -1;
        }
        self->name_fd = fd;
    }
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    return errno == EWOULDBLOCK || errno == EINTR? 1: -1;
}

//  Wait for leadership. Returns 0 once both locks are ours, 1 when
//  interrupted while waiting, -1 on error.
static int
s_lead (sf_scheduler_t *self)
{
    bool announced = false;
    while (!zsys_interrupted) {
        int rc = s_try_lock (self);
        if (rc == 0) {
            s_write_pid (self);
            sf_log_info ("scheduler: leading (lock %s)", self->lock_path);
            return 0;
        }
        if (rc < 0) {
            sf_log_error ("scheduler: cannot lock %s: %s", self->lock_path, strerror (errno));
            return -1;
        }
        if (!announced)
            sf_log_info ("scheduler: standby, another scheduler leads (lock %s)",
                         self->lock_path);
        announced = true;
        poll (NULL, 0, 200);
    }
    return 1;
}

//  After the checkpoint could be written again: when DIR/leader.lock is no
//  longer the file we lock (the directory was deleted and made again),
//  lock the new one too and write our pid into it, so that schedulers
//  sharing the directory from another network namespace stand by. The
//  address keeps the path ours on this host either way.
static void
s_relock (sf_scheduler_t *self)
{
    struct stat held, named;
    if (fstat (self->lock_fd, &held) == 0 && stat (self->lock_path, &named) == 0
    &&  held.st_dev == named.st_dev && held.st_ino == named.st_ino)
        return;
    int fd = open (self->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        sf_log_warning ("scheduler: cannot open %s: %s", self->lock_path, strerror (errno));
        return;
    }
    if (flock (fd, LOCK_EX | LOCK_NB)) {
        sf_log_error ("scheduler: %s is locked by another scheduler, which does not share "
                      "this host's network namespace: both lead", self->lock_path);
        close (fd);
        return;
    }
    close (self->lock_fd);          //  The old file is gone from every path
    self->lock_fd = fd;
    s_write_pid (self);
    sf_log_info ("scheduler: leader lock taken again (lock %s)", self->lock_path);
}

//  --------------------------------------------------------------------------
//  Outcomes

//  Record that job id of entry ended with state.
static void
s_finished (sf_scheduler_t *self, s_entry_t *entry, const char *id, const char *state)
{
    sf_checkpoint_record_t *record = entry->record;
    for (size_t i = 0; i < record->id_count; i++)
        if (strcmp (record->ids [i], id) == 0 && strcmp (record->states [i], state)) {
            snprintf (record->states [i], sizeof record->states [i], "%s", state);
            self->outcomes = true;
            char when [64];
            sf_log_info ("scheduler: %s at %s ended %s (%s=%s)", record->name,
                         s_time (record->last_fire, when), state,
                         record->group? "group": "job", id);
        }
    zhashx_delete (self->pending, id);
}

//  A group's outcome: its state, and when it succeeded with a chord the
//  chord's status (the chord's result is the group's).
static const char *
s_group_outcome (const sf_gather_t *gather)
{
    const sf_result_t *then = sf_gather_then (gather);
    if (streq (sf_gather_state (gather), "ok") && then)
        return sf_status_name (sf_result_status (then));
    return sf_gather_state (gather);
}

//  A group this scheduler fired has answered (called from inside the
//  client's receiving calls); takes the gather.
static void
s_group_done (sf_gather_t *gather, void *arg)
{
    sf_scheduler_t *self = (sf_scheduler_t *) arg;
    char id [SF_ID_STRLEN + 1];
    snprintf (id, sizeof id, "%s", sf_gather_id (gather));
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->pending, id);
    if (entry)
        s_finished (self, entry, id, s_group_outcome (gather));
    sf_gather_destroy (&gather);
}

//  Read every event waiting on the client; results update outcomes.
static void
s_drain (sf_scheduler_t *self)
{
    sf_event_t event;
    while (sf_client_recv (self->client, 0, &event) == 0 && event.kind != SF_EVENT_NONE) {
        if (event.kind == SF_EVENT_RESULT) {
            const char *id = sf_result_id (event.result);
            s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->pending, id);
            if (entry)
                s_finished (self, entry, id, sf_status_name (sf_result_status (event.result)));
            sf_result_destroy (&event.result);
        }
    }
}

//  Ask the broker about entry's unfinished jobs. Returns true when one is
//  still queued or running (or the broker cannot say).
static bool
s_unfinished (sf_scheduler_t *self, s_entry_t *entry)
{
    bool unfinished = false;
    sf_checkpoint_record_t *record = entry->record;
    for (size_t i = 0; i < record->id_count; i++) {
        if (strcmp (record->states [i], "pending"))
            continue;
        char id [SF_ID_STRLEN + 1];
        strcpy (id, record->ids [i]);
        char state [16];
        sf_error_t error;
        if (record->group) {
            //  A group's answer, or NOT_FINISHED while it runs
            sf_gather_t *gather = sf_client_fetch_group (self->client, id, false, 0, &error);
            if (gather) {
                s_finished (self, entry, id, s_group_outcome (gather));
                sf_gather_destroy (&gather);
                continue;
            }
        }
        else {
            sf_result_t *result = sf_client_fetch (self->client, id, false, 0, state, &error);
            if (result) {
                s_finished (self, entry, id, sf_status_name (sf_result_status (result)));
                sf_result_destroy (&result);
                continue;
            }
        }
        if (streq (error.code, "NOT_FOUND"))
            s_finished (self, entry, id, "lost");   //  The broker forgot it
        else {
            if (streq (error.code, "UNREACHABLE"))
                self->unreachable = true;
            unfinished = true;
            break;
        }
    }
    return unfinished;
}

//  overlap = replace: cancel entry's unfinished jobs before firing; each
//  ends `cancelled` (or had finished meanwhile). Returns 0 when none is
//  left unfinished, -1 (the firing is skipped) when the broker could not
//  be asked.
static int
s_replace (sf_scheduler_t *self, s_entry_t *entry)
{
    sf_checkpoint_record_t *record = entry->record;
    for (size_t i = 0; i < record->id_count; i++) {
        if (strcmp (record->states [i], "pending"))
            continue;
        char id [SF_ID_STRLEN + 1];
        strcpy (id, record->ids [i]);
        sf_error_t error;
        int outcome = sf_client_cancel (self->client, id, &error);
        if (outcome < 0 && !streq (error.code, "NOT_FOUND")) {
            sf_log_error ("scheduler: %s: cannot cancel the previous run %s: %s",
                          record->name, id, error.message);
            return -1;
        }
        sf_log_info ("scheduler: %s: previous run %s %s (overlap = replace)", record->name, id,
                     outcome == 0? "cancelled": outcome == 1? "had finished": "is unknown");
        if (outcome == 0)
            s_finished (self, entry, id, "cancelled");
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Firing

//  Record a firing the broker accepted at accepted_us: its ids (a group's
//  one id), pending, and log it.
static void
s_fired (sf_scheduler_t *self, s_entry_t *entry, int64_t instant, const char *when,
         char ids [][SF_ID_STRLEN + 1], size_t count, int64_t accepted_us)
{
    sf_schedule_entry_t *spec = entry->spec;
    sf_checkpoint_record_t *record = entry->record;
    for (size_t i = 0; i < count; i++) {
        strcpy (record->ids [i], ids [i]);
        strcpy (record->states [i], "pending");
        zhashx_update (self->pending, ids [i], entry);
    }
    record->id_count = count;
    record->group = spec->group;
    record->last_fire = instant;
    record->last_fire_ms = accepted_us / 1000;
    //  From the due instant to the broker's acknowledgement
    int64_t due_us = (instant + sf_schedule_jitter (spec, instant)) * 1000000;
    if (spec->group)
        sf_log_info ("scheduler: fired %s at %s (group=%s items=%zu key=schedule:%s:%s "
                     "delay_us=%lld)", spec->name, when, ids [0], spec->job_count,
                     spec->name, when, (long long) (accepted_us - due_us));
    else
        sf_log_info ("scheduler: fired %s at %s (job=%s key=schedule:%s:%s delay_us=%lld)",
                     spec->name, when, ids [0], spec->name, when,
                     (long long) (accepted_us - due_us));
}

static int64_t
s_now_us (void)
{
    struct timespec clock;
    clock_gettime (CLOCK_REALTIME, &clock);
    return (int64_t) clock.tv_sec * 1000000 + clock.tv_nsec / 1000;
}

//  The broker's answer to a firing's submission (rc, error): 0 when the
//  instant is handled (accepted, or rejected for good: logged), -1 when
//  the broker did not answer and the firing is tried again. The previous
//  firing's ids are dropped once the broker has answered.
static int
s_submitted (sf_scheduler_t *self, s_entry_t *entry, const char *when, int rc,
             sf_error_t *error, int64_t now_us)
{
    sf_checkpoint_record_t *record = entry->record;
    if (rc && streq (error->code, "UNREACHABLE")) {
        self->unreachable = true;
        sf_log_warning ("scheduler: %s at %s not accepted by the broker yet (%s); "
                        "trying again", entry->spec->name, when, error->message);
        entry->retry_ms = now_us / 1000 + S_RETRY_MS;
        return -1;
    }
    for (size_t i = 0; i < record->id_count; i++)
        zhashx_delete (self->pending, record->ids [i]);
    record->id_count = 0;
    if (rc)
        sf_log_error ("scheduler: %s at %s rejected by the broker: %s", entry->spec->name,
                      when, error->message);
    return 0;
}

//  Submit entry's jobs for instant, each with its key. 0 when handled,
//  -1 to try again.
//  Build entry's jobs from their templates into jobs, each keyed with
//  schedule:NAME:TIME (and :INDEX when there are several) unless keyed is
//  false. Returns 0, or -1 (nothing built, the reason logged) when one
//  cannot be built: the schedule parser checked every template with the
//  same function, so that is a bug, and the firing is skipped, not a crash.
static int
s_build_jobs (s_entry_t *entry, const char *when, bool keyed, sf_job_t **jobs)
{
    sf_schedule_entry_t *spec = entry->spec;
    for (size_t i = 0; i < spec->job_count; i++) {
        sf_error_t error;
        jobs [i] = sf_job_from_json (spec->jobs [i], &error);
        if (jobs [i] && keyed) {
            char key [SF_SCHEDULE_NAME_MAX + 100];
            if (spec->job_count == 1)
                snprintf (key, sizeof key, "schedule:%s:%s", spec->name, when);
            else
                snprintf (key, sizeof key, "schedule:%s:%s:%zu", spec->name, when, i);
            if (sf_job_set_key (jobs [i], key)) {
                sf_error_set (&error, "BAD_INPUT", "the key %s is refused", key);
                sf_job_destroy (&jobs [i]);
            }
        }
        if (!jobs [i]) {
            sf_log_error ("scheduler: %s at %s skipped: job %zu: %s", spec->name, when, i + 1,
                          error.message);
            while (i-- > 0)
                sf_job_destroy (&jobs [i]);
            return -1;
        }
    }
    return 0;
}

static int
s_submit_jobs (sf_scheduler_t *self, s_entry_t *entry, int64_t instant, const char *when)
{
    sf_schedule_entry_t *spec = entry->spec;
    sf_job_t *jobs [SF_SCHEDULE_JOBS_MAX];
    char ids [SF_SCHEDULE_JOBS_MAX][SF_ID_STRLEN + 1];
    if (s_build_jobs (entry, when, true, jobs))
        return 0;
    sf_error_t error;
    int rc = sf_client_submit_many (self->client, jobs, spec->job_count, ids, &error);
    int64_t accepted_us = s_now_us ();
    for (size_t i = 0; i < spec->job_count; i++)
        sf_job_destroy (&jobs [i]);
    if (s_submitted (self, entry, when, rc, &error, accepted_us))
        return -1;
    if (rc == 0)
        s_fired (self, entry, instant, when, ids, spec->job_count, accepted_us);
    return 0;
}

//  Submit entry's group for instant, with the group key; its answer comes
//  to s_group_done. 0 when handled, -1 to try again.
static int
s_submit_group (sf_scheduler_t *self, s_entry_t *entry, int64_t instant, const char *when)
{
    sf_schedule_entry_t *spec = entry->spec;
    sf_job_t **jobs = (sf_job_t **) sf_alloc_array (spec->job_count, sizeof (sf_job_t *));
    if (s_build_jobs (entry, when, false, jobs)) {
        free (jobs);
        return 0;
    }
    char key [SF_SCHEDULE_NAME_MAX + 100];
    snprintf (key, sizeof key, "schedule:%s:%s", spec->name, when);
    sf_error_t error;
    sf_gather_opts_t opts = {
        .policy = spec->policy,
        .min_ok = spec->min_ok,
        .timeout_ms = spec->timeout_ms,
        .then = spec->then? sf_job_from_json (spec->then, &error): NULL,
        .key = key
    };
    if (spec->then && !opts.then) {
        sf_log_error ("scheduler: %s at %s skipped: its chord: %s", spec->name, when,
                      error.message);
        for (size_t i = 0; i < spec->job_count; i++)
            sf_job_destroy (&jobs [i]);
        free (jobs);
        return 0;
    }
    char ids [1][SF_ID_STRLEN + 1];
    int rc = sf_gather_start (self->client, jobs, spec->job_count, &opts, NULL,
                              s_group_done, self, ids [0], &error);
    int64_t accepted_us = s_now_us ();
    for (size_t i = 0; i < spec->job_count; i++)
        sf_job_destroy (&jobs [i]);
    free (jobs);
    sf_job_destroy (&opts.then);
    if (s_submitted (self, entry, when, rc, &error, accepted_us))
        return -1;
    if (rc == 0)
        s_fired (self, entry, instant, when, ids, 1, accepted_us);
    return 0;
}

//  Fire entry's instant. Returns 0 when the instant is handled (fired,
//  skipped by the overlap policy, or rejected by the broker), -1 when it
//  must be tried again (no acknowledgement from the broker).
static int
s_fire (sf_scheduler_t *self, s_entry_t *entry, int64_t instant)
{
    sf_schedule_entry_t *spec = entry->spec;
    sf_checkpoint_record_t *record = entry->record;
    char when [64];
    s_time (instant, when);
    //  One timeout a pass is enough to know the broker is away: the other
    //  due entries wait for the retry instead of timing out one by one
    if (self->unreachable) {
        entry->retry_ms = s_now_ms () + S_RETRY_MS;
        return -1;
    }
    bool skip = false;
    if (spec->overlap != SF_OVERLAP_ALLOW && s_unfinished (self, entry)) {
        if (self->unreachable) {
            entry->retry_ms = s_now_ms () + S_RETRY_MS;
            return -1;
        }
        if (spec->overlap == SF_OVERLAP_FORBID || s_replace (self, entry)) {
            sf_log_info ("scheduler: %s at %s skipped: the previous run is unfinished "
                         "(overlap = %s)", spec->name, when,
                         sf_schedule_overlap_name (spec->overlap));
            skip = true;
        }
    }
    if (!skip) {
        int rc = spec->group? s_submit_group (self, entry, instant, when):
                              s_submit_jobs (self, entry, instant, when);
        if (rc)
            return -1;
    }
    record->done = instant;
    entry->next = sf_schedule_next (spec, instant);
    entry->retry_ms = 0;
    self->dirty = true;
    return 0;
}

//  True when instant, due at instant + jitter, is more than grace late.
static bool
s_missed (sf_schedule_entry_t *spec, int64_t instant, int64_t now_ms)
{
    int64_t due_ms = (instant + sf_schedule_jitter (spec, instant)) * 1000;
    return now_ms - due_ms > spec->grace * 1000;
}

static bool
s_due (sf_schedule_entry_t *spec, int64_t instant, int64_t now_ms)
{
    return instant >= 0 && (instant + sf_schedule_jitter (spec, instant)) * 1000 <= now_ms;
}

//  Handle every instant of entry that is due: missed ones by the misfire
//  policy, the others by firing them.
static void
s_catch_up (sf_scheduler_t *self, s_entry_t *entry, int64_t now_ms)
{
    sf_schedule_entry_t *spec = entry->spec;
    //  Missed instants; "all" keeps the latest misfire_limit of them
    size_t keep = spec->misfire == SF_MISFIRE_ALL? spec->misfire_limit: 1;
    int64_t *ring = (int64_t *) sf_alloc_array (keep, sizeof (int64_t));
    int64_t count = 0, first = -1, last = -1;
    bool exact = true;
    int64_t instant = entry->next;
    while (s_due (spec, instant, now_ms) && s_missed (spec, instant, now_ms)) {
        if (first < 0)
            first = instant;
        ring [count % (int64_t) keep] = instant;
        count++;
        last = instant;
        instant = sf_schedule_next (spec, instant);
        if (count == S_SCAN_MAX && instant >= 0 && instant < now_ms / 1000 - 3600) {
            instant = sf_schedule_next (spec, now_ms / 1000 - 3600);
            exact = false;
        }
    }
    if (count) {
        char from [64], to [64];
        sf_log_warning ("scheduler: %s missed %s%lld firing%s from %s to %s (misfire = %s)",
                        spec->name, exact? "": "more than ", (long long) count,
                        count == 1? "": "s", s_time (first, from), s_time (last, to),
                        sf_schedule_misfire_name (spec->misfire));
        if (spec->misfire == SF_MISFIRE_ONCE) {
            if (s_fire (self, entry, last)) {
                free (ring);
                return;
            }
        }
        else
        if (spec->misfire == SF_MISFIRE_ALL) {
            int64_t fired = count < (int64_t) keep? count: (int64_t) keep;
            for (int64_t i = count - fired; i < count; i++)
                if (s_fire (self, entry, ring [i % (int64_t) keep])) {
                    free (ring);
                    return;
                }
        }
        entry->record->done = last;
        entry->next = instant;
        self->dirty = true;
    }
    free (ring);
    //  Due instants within their grace
    while (s_due (spec, entry->next, now_ms))
        if (s_fire (self, entry, entry->next))
            return;
}

//  Entries from the schedule, with their checkpoint records; an entry
//  without one starts counting from now.
static void
s_bind (sf_scheduler_t *self)
{
    free (self->entries);
    zhashx_purge (self->pending);
    self->entry_count = sf_schedule_size (self->schedule);
    self->entries = (s_entry_t *) sf_alloc_array (self->entry_count + 1, sizeof (s_entry_t));
    int64_t now = s_now_ms () / 1000;
    for (size_t i = 0; i < self->entry_count; i++) {
        s_entry_t *entry = &self->entries [i];
        entry->spec = sf_schedule_entry (self->schedule, i);
        entry->record = sf_checkpoint_get (self->checkpoint, entry->spec->name);
        if (!entry->record) {
            entry->record = sf_checkpoint_put (self->checkpoint, entry->spec->name);
            entry->record->done = now;
            self->dirty = true;
        }
        entry->next = sf_schedule_next (entry->spec, entry->record->done);
        for (size_t j = 0; j < entry->record->id_count; j++)
            if (streq (entry->record->states [j], "pending"))
                zhashx_update (self->pending, entry->record->ids [j], entry);
    }
}

static void
s_reload (sf_scheduler_t *self)
{
    sf_log_info ("scheduler: SIGHUP, reading %s again", self->config.schedule);
    sf_schedule_t *schedule = s_load (self->config.schedule, NULL);
    if (!schedule) {
        sf_log_error ("scheduler: %s has mistakes; the previous schedule stays in force",
                      self->config.schedule);
        return;
    }
    sf_schedule_destroy (&self->schedule);
    self->schedule = schedule;
    s_bind (self);
    sf_log_info ("scheduler: %zu entr%s in force", self->entry_count,
                 self->entry_count == 1? "y": "ies");
}

//  Write the checkpoint if firings changed it, or outcomes did and the
//  last write is a second old (or force), and no failed write asks to
//  wait. The first failure of a run of them and the success that ends it
//  are logged.
static void
s_save (sf_scheduler_t *self, bool force)
{
    int64_t now_ms = s_now_ms ();
    if (!self->dirty && !self->outcomes)
        return;
    if (!force && (now_ms < self->save_retry_ms
                   || (!self->dirty && now_ms - self->saved_ms < S_OUTCOME_SAVE_MS)))
        return;
    sf_error_t error;
    if (sf_checkpoint_save (self->checkpoint, &error) == 0) {
        self->dirty = self->outcomes = false;
        self->saved_ms = now_ms;
        if (self->save_failures) {
            sf_log_info ("scheduler: checkpoint written again after %u failed attempts "
                         "in %.1f s", self->save_failures,
                         (double) (now_ms - self->failing_ms) / 1000);
            self->save_failures = 0;
            self->save_retry_ms = 0;
            s_relock (self);
        }
        return;
    }
    if (self->save_failures == 0) {
        self->failing_ms = now_ms;
        sf_log_error ("scheduler: %s; firings go on, and writing the checkpoint is "
                      "retried with backoff up to %d s", error.message,
                      S_SAVE_RETRY_MAX_MS / 1000);
    }
    int64_t delay = S_SAVE_RETRY_MAX_MS;
    if (self->save_failures < 16)
        delay = (int64_t) S_SAVE_RETRY_MS << self->save_failures;
    if (delay > S_SAVE_RETRY_MAX_MS)
        delay = S_SAVE_RETRY_MAX_MS;
    self->save_failures++;
    self->save_retry_ms = now_ms + delay;
}

//  Arm the timer for the earliest due instant (or disarm it).
static void
s_arm (sf_scheduler_t *self)
{
    int64_t wake_ms = -1;
    for (size_t i = 0; i < self->entry_count; i++) {
        s_entry_t *entry = &self->entries [i];
        if (entry->next < 0)
            continue;
        int64_t due_ms = (entry->next + sf_schedule_jitter (entry->spec, entry->next)) * 1000;
        if (entry->retry_ms > due_ms)
            due_ms = entry->retry_ms;
        if (wake_ms < 0 || due_ms < wake_ms)
            wake_ms = due_ms;
    }
    //  A checkpoint to write: when the backoff ends after a failure (firings
    //  are then still unwritten), else when outcomes are a second old
    if (self->dirty || self->outcomes) {
        int64_t save_ms = self->save_failures? self->save_retry_ms:
                                               self->saved_ms + S_OUTCOME_SAVE_MS;
        if (wake_ms < 0 || save_ms < wake_ms)
            wake_ms = save_ms;
    }
    struct itimerspec spec = { { 0, 0 }, { 0, 0 } };
    if (wake_ms >= 0) {
        spec.it_value.tv_sec = wake_ms / 1000;
        spec.it_value.tv_nsec = (wake_ms % 1000) * 1000000 + 1;
    }
    if (timerfd_settime (self->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
                         &spec, NULL))
        sf_log_error ("scheduler: cannot arm the timer: %s", strerror (errno));
}

int
sf_scheduler_run (sf_scheduler_t *self)
{
    int rc = s_lead (self);
    if (rc)
        return rc > 0? 0: -1;
    sf_error_t error;
    if (sf_checkpoint_reload (self->checkpoint, &error)) {
        sf_log_error ("scheduler: %s", error.message);
        return -1;
    }
    s_bind (self);
    //  Outcomes a previous scheduler did not see
    for (size_t i = 0; i < self->entry_count && !self->unreachable; i++)
        if (self->entries [i].record->id_count)
            s_unfinished (self, &self->entries [i]);
    s_save (self, true);
    sf_log_info ("scheduler: %zu entr%s in force", self->entry_count,
                 self->entry_count == 1? "y": "ies");

    while (!zsys_interrupted) {
        if (s_hangup) {
            s_hangup = 0;
            s_reload (self);
        }
        int64_t now_ms = s_now_ms ();
        self->unreachable = false;
        for (size_t i = 0; i < self->entry_count && !zsys_interrupted; i++) {
            s_entry_t *entry = &self->entries [i];
            if (entry->retry_ms <= now_ms && s_due (entry->spec, entry->next, now_ms))
                s_catch_up (self, entry, now_ms);
        }
        s_drain (self);
        s_save (self, false);
        s_arm (self);
        zmq_pollitem_t items [] = {
            { NULL, sf_client_fd (self->client), ZMQ_POLLIN, 0 },
            { NULL, self->timer_fd, ZMQ_POLLIN, 0 }
        };
        if (zmq_poll (items, 2, -1) < 0)
            continue;           //  A signal: SIGHUP, SIGTERM or SIGINT
        if (items [1].revents & ZMQ_POLLIN) {
            uint64_t expirations;
            if (read (self->timer_fd, &expirations, sizeof expirations) < 0
            &&  errno == ECANCELED)
                sf_log_warning ("scheduler: the system clock was set; due times follow "
                                "the new time");
        }
    }
    s_drain (self);
    s_save (self, true);
    if (self->save_failures)
        sf_log_warning ("scheduler: the checkpoint could not be written for the last %.1f s: "
                        "the next leader fires again what was fired since, and the broker "
                        "keeps each firing one job by its key",
                        (double) (s_now_ms () - self->failing_ms) / 1000);
    sf_log_info ("scheduler: stopped");
    return 0;
}
