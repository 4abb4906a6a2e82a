/*  =========================================================================
    sf_supervisor - keeps N worker processes running

    Each child is a whole worker process: the supervisor runs its own
    executable again (fork, then exec of /proc/self/exe) with its own
    command line plus "--processes 1 --name NAME-i", so a child shares
    nothing with the supervisor, in particular no ZeroMQ context.

    One poll loop over a signalfd (SIGCHLD, SIGINT, SIGTERM), woken at
    least once a second and at the next restart time. Every wake reaps
    whatever children have ended (waitpid, WNOHANG), so a SIGCHLD merged
    with another is never missed.

    A child that died by a signal or a non-zero exit may have held jobs: the
    supervisor tells the broker at once with LOST {name, reason} from a
    DEALER made for the occasion, so that the broker requeues those jobs now
    rather than when the child's heartbeats expire, and a poison job's dead
    letter carries the crash signature. LOST goes out before the child is
    started again (the first restart waits 100 ms), so it cannot take the
    new child's registration for the dead one's.

    Restarts back off per child: 100 ms, doubled after each death up to
    10 s, back to 100 ms once a child has lived 10 s. A child that exits
    with a start-up code (2 usage, 3 analyzer, 4 broker endpoint, 5 plugin,
    6 signals, 127 cannot run) within 10 s of its start failed at start-up; 5 of those
    in a row mean the configuration is wrong, and restarting would only
    loop, so the supervisor stops the others and exits with that code.

    Children run in their own process group, so a Ctrl-C at a terminal
    reaches only the supervisor, which forwards one SIGTERM (a second
    signal to a worker means "stop at once"), and they get SIGTERM if the
    supervisor itself dies (PR_SET_PDEATHSIG).
    ========================================================================= */

#include <czmq.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sf_alloc.h"
#include "sf_codec.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_msg.h"
#include "sf_supervisor.h"

#define S_BACKOFF_MIN_MS 100    //  First restart delay
#define S_BACKOFF_MAX_MS 10000  //  Longest restart delay
#define S_STABLE_MS 10000       //  A child that lived this long resets its backoff
#define S_START_FAILURES 5      //  Start-up failures in a row before giving up
#define S_STOP_MARGIN_MS 5000   //  Added to the grace period before SIGKILL
#define S_TICK_MS 1000          //  Longest sleep of the loop
#define S_EXIT_EXEC 127         //  A child that could not run the executable

typedef struct {
    char name [SF_NAME_MAX + 24];       //  Worker name, NAME-i (at most SF_NAME_MAX)
    pid_t pid;                  //  Running process, 0 when none
    int64_t started_ms;         //  When it was started (monotonic)
    int64_t restart_ms;         //  When to start it again, 0 when not due
    int backoff_ms;             //  Delay before the next restart
    int failures;               //  Start-up failures in a row
} s_child_t;

struct _sf_supervisor_t {
    sf_supervisor_config_t config;      //  Settings (strings borrowed)
    s_child_t *children;        //  One per process
    char **argv;                //  Child command line; the last entry is the name
    size_t argc;                //  Entries in argv before the NULL
    int signal_fd;              //  SIGCHLD, SIGINT, SIGTERM
    pid_t self_pid;             //  The supervisor's PID, for the children's check
    bool stopping;              //  SIGTERM seen, or given up
    bool killed;                //  Stragglers were sent SIGKILL
    int64_t stop_deadline_ms;   //  SIGKILL after this
    int exit_code;              //  What run returns
};

static int64_t
s_now_ms (void)
{
    return zclock_mono ();
}

static void
s_signal_set (sigset_t *signals)
{
    sigemptyset (signals);
    sigaddset (signals, SIGCHLD);
    sigaddset (signals, SIGINT);
    sigaddset (signals, SIGTERM);
}

void
sf_supervisor_block_signals (void)
{
    sigset_t signals;
    s_signal_set (&signals);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
}

//  --------------------------------------------------------------------------
//  Construction and teardown.

sf_supervisor_t *
sf_supervisor_new (const sf_supervisor_config_t *config, sf_error_t *error)
{
    assert (config->processes > 0);
    sigset_t signals;
    s_signal_set (&signals);
    int signal_fd = signalfd (-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd < 0) {
        sf_error_set (error, "SIGNALS", "cannot watch signals: %s", strerror (errno));
        return NULL;
    }
    sf_supervisor_t *self = (sf_supervisor_t *) sf_alloc (sizeof *self);
    self->config = *config;
    self->signal_fd = signal_fd;
    self->self_pid = getpid ();
    char base [SF_NAME_MAX - 4];        //  Room for "-1024"
    if (config->name)
        snprintf (base, sizeof base, "%s", config->name);
    else {
        char host [SF_NAME_MAX - 16] = "worker";
        gethostname (host, sizeof host);
        host [sizeof host - 1] = 0;
        snprintf (base, sizeof base, "%s-%d", host, (int) self->self_pid);
    }
    self->children = (s_child_t *) sf_alloc_array (config->processes, sizeof (s_child_t));
    for (size_t i = 0; i < config->processes; i++) {
        snprintf (self->children [i].name, sizeof self->children [i].name, "%s-%zu", base, i + 1);
        self->children [i].backoff_ms = S_BACKOFF_MIN_MS;
    }
    size_t argc = 0;
    while (config->argv [argc])
        argc++;
    //  Later flags win: the appended ones override the supervisor's own
    self->argv = (char **) sf_alloc_array (argc + 5, sizeof (char *));
    memcpy (self->argv, config->argv, argc * sizeof (char *));
    self->argv [argc++] = "--processes";
    self->argv [argc++] = "1";
    self->argv [argc++] = "--name";
    self->argv [argc++] = NULL;         //  Each child's name, set at its start
    self->argc = argc;
    return self;
}

void
sf_supervisor_destroy (sf_supervisor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_supervisor_t *self = *self_p;
    close (self->signal_fd);
    free (self->argv);
    free (self->children);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Children.

//  Start child now. Between fork and exec the child does only what is
//  async-signal-safe: the supervisor may have threads (ZeroMQ's).
static void
s_start (sf_supervisor_t *self, s_child_t *child)
{
    self->argv [self->argc - 1] = child->name;
    child->restart_ms = 0;
    child->started_ms = s_now_ms ();
    pid_t pid = fork ();
    if (pid == 0) {
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        setpgid (0, 0);
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != self->self_pid)
            _exit (S_EXIT_EXEC);        //  The supervisor died meanwhile
        execv ("/proc/self/exe", self->argv);
        _exit (S_EXIT_EXEC);
    }
    if (pid < 0) {
        //  Out of processes: try again like after a death
        sf_log_error ("supervisor: cannot start %s: %s, trying again in %d ms",
                      child->name, strerror (errno), child->backoff_ms);
        child->restart_ms = child->started_ms + child->backoff_ms;
        return;
    }
    child->pid = pid;
    sf_log_info ("supervisor: started %s (pid=%d)", child->name, (int) pid);
}

//  A death in words: "killed by signal 9 (SIGKILL)", "exited with status 5
//  (a plugin cannot be loaded)".
static void
s_describe (int status, char *text, size_t size)
{
    if (WIFSIGNALED (status)) {
        int signal = WTERMSIG (status);
        const char *abbrev = sigabbrev_np (signal);
        snprintf (text, size, "killed by signal %d (SIG%s)%s", signal, abbrev? abbrev: "?",
                  WCOREDUMP (status)? ", core dumped": "");
        return;
    }
    int code = WEXITSTATUS (status);
    const char *meaning = code == 0? "stopped":
                          code == 2? "usage error":
                          code == 3? "an analyzer failed to initialise":
                          code == 4? "the broker endpoint is malformed":
                          code == 5? "a plugin cannot be loaded":
                          code == 6? "signals cannot be watched":
                          code == S_EXIT_EXEC? "cannot run the executable": NULL;
    if (meaning)
        snprintf (text, size, "exited with status %d (%s)", code, meaning);
    else
        snprintf (text, size, "exited with status %d", code);
}

//  An exit code that means the child never got going.
static bool
s_startup_code (int code)
{
    return (code >= 2 && code <= 6) || code == S_EXIT_EXEC;
}

//  Tell the broker that the worker called name died (reason: how), so that
//  its jobs are requeued now and counted as at a death. The message leaves
//  in the background; the context keeps it up to a second at exit.
static void
s_report_lost (sf_supervisor_t *self, const char *name, const char *reason)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer) {
        sf_log_warning ("supervisor: cannot report %s to the broker: no socket", name);
        return;
    }
    zsock_set_linger (dealer, 1000);
    if (zsock_connect (dealer, "%s", self->config.broker) == 0) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &body, sf_mp_write);
        msgpack_pack_map (&pk, 2);
        sf_mp_pack_kv_str (&pk, "name", name);
        sf_mp_pack_kv_str (&pk, "reason", reason);
        if (sf_msg_send (zsock_resolve (dealer), NULL, 0, SF_CMD_LOST, body.data, body.size))
            sf_log_warning ("supervisor: cannot report %s to the broker", name);
        msgpack_sbuffer_destroy (&body);
    }
    else
        sf_log_warning ("supervisor: cannot report %s to %s", name, self->config.broker);
    zsock_destroy (&dealer);
}

static void
s_stop (sf_supervisor_t *self, const char *why);

//  Child ended with status: log why, tell the broker, plan its restart.
static void
s_reaped (sf_supervisor_t *self, s_child_t *child, int status)
{
    int64_t now = s_now_ms ();
    int64_t lived_ms = now - child->started_ms;
    pid_t pid = child->pid;
    child->pid = 0;
    char reason [128];
    s_describe (status, reason, sizeof reason);
    bool exited = WIFEXITED (status);
    int code = exited? WEXITSTATUS (status): 0;
    //  Not a death the broker needs to hear of: a clean stop, a start-up
    //  failure (never registered), or the SIGKILL of our own stop
    bool clean = exited && (code == 0 || s_startup_code (code));
    if (!clean && !self->killed)
        s_report_lost (self, child->name, reason);
    if (self->stopping) {
        sf_log_info ("supervisor: %s (pid %d) %s", child->name, (int) pid, reason);
        return;
    }
    if (exited && s_startup_code (code) && lived_ms < S_STABLE_MS)
        child->failures++;
    else
        child->failures = 0;
    if (child->failures >= S_START_FAILURES) {
        sf_log_error ("supervisor: %s (pid %d) %s, %d start-up failures in a row; giving up",
                      child->name, (int) pid, reason, child->failures);
        self->exit_code = code;
        s_stop (self, "a worker cannot start");
        return;
    }
    if (lived_ms >= S_STABLE_MS)
        child->backoff_ms = S_BACKOFF_MIN_MS;
    int delay_ms = child->backoff_ms;
    child->backoff_ms = delay_ms * 2 < S_BACKOFF_MAX_MS? delay_ms * 2: S_BACKOFF_MAX_MS;
    child->restart_ms = now + delay_ms;
    sf_log_warning ("supervisor: %s (pid %d) %s after %.1f s, restarting in %d ms",
                    child->name, (int) pid, reason, (double) lived_ms / 1000, delay_ms);
}

//  Reap every child that has ended.
static void
s_reap (sf_supervisor_t *self)
{
    int status;
    pid_t pid;
    while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        for (size_t i = 0; i < self->config.processes; i++)
            if (self->children [i].pid == pid) {
                s_reaped (self, &self->children [i], status);
                break;
            }
}

static size_t
s_running (sf_supervisor_t *self)
{
    size_t running = 0;
    for (size_t i = 0; i < self->config.processes; i++)
        running += self->children [i].pid > 0;
    return running;
}

//  Stop: SIGTERM to every child (again on a second call: the workers then
//  leave at once), no more restarts.
static void
s_stop (sf_supervisor_t *self, const char *why)
{
    if (!self->stopping) {
        self->stopping = true;
        self->stop_deadline_ms = s_now_ms () + self->config.grace_ms + S_STOP_MARGIN_MS;
        sf_log_info ("supervisor: %s, stopping %zu workers (grace %d ms)", why,
                     s_running (self), self->config.grace_ms);
    }
    else
        sf_log_info ("supervisor: %s again, the workers stop at once", why);
    for (size_t i = 0; i < self->config.processes; i++)
        if (self->children [i].pid > 0)
            kill (self->children [i].pid, SIGTERM);
}

//  --------------------------------------------------------------------------
//  The loop.

int
sf_supervisor_run (sf_supervisor_t *self)
{
    sf_log_info ("supervisor: keeping %zu workers running (broker=%s)", self->config.processes,
                 self->config.broker);
    for (size_t i = 0; i < self->config.processes; i++)
        s_start (self, &self->children [i]);
    while (!self->stopping || s_running (self) > 0) {
        int64_t now = s_now_ms ();
        int64_t wake = now + S_TICK_MS;
        for (size_t i = 0; i < self->config.processes; i++)
            if (self->children [i].restart_ms && self->children [i].restart_ms < wake)
                wake = self->children [i].restart_ms;
        if (self->stopping && !self->killed && self->stop_deadline_ms < wake)
            wake = self->stop_deadline_ms;
        struct pollfd item = { self->signal_fd, POLLIN, 0 };
        poll (&item, 1, wake > now? (int) (wake - now): 0);

        struct signalfd_siginfo info;
        while (read (self->signal_fd, &info, sizeof info) == (ssize_t) sizeof info)
            if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM)
                s_stop (self, info.ssi_signo == SIGINT? "SIGINT received": "SIGTERM received");
        s_reap (self);

        now = s_now_ms ();
        if (!self->stopping)
            for (size_t i = 0; i < self->config.processes; i++) {
                s_child_t *child = &self->children [i];
                if (child->pid == 0 && child->restart_ms && child->restart_ms <= now)
                    s_start (self, child);
            }
        else
        if (!self->killed && now >= self->stop_deadline_ms) {
            self->killed = true;
            for (size_t i = 0; i < self->config.processes; i++)
                if (self->children [i].pid > 0) {
                    sf_log_warning ("supervisor: %s (pid %d) still running, killing it",
                                    self->children [i].name, (int) self->children [i].pid);
                    kill (self->children [i].pid, SIGKILL);
                }
        }
    }
    sf_log_info ("supervisor: stopped");
    return self->exit_code;
}
