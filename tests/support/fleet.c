/*  =========================================================================
    fleet - starts real sheaf processes on loopback for integration tests
    ========================================================================= */

#include <arpa/inet.h>
#include <czmq.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "fleet.h"
#include "sheaf.h"

extern char **environ;

//  A port the kernel considers free right now.
int
fleet_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd < 0 || bind (fd, (struct sockaddr *) &address, size)
    ||  getsockname (fd, (struct sockaddr *) &address, &size))
        abort ();
    close (fd);
    return ntohs (address.sin_port);
}

const char *
fleet_bin (const char *name)
{
    static char path [512];
    const char *build = getenv ("SHEAF_BUILD");
    snprintf (path, sizeof path, "%s/bin/%s", build && *build? build: "build", name);
    return path;
}

fleet_t *
fleet_new (void)
{
    fleet_t *self = (fleet_t *) zmalloc (sizeof *self);
    int front = fleet_free_port (), back;
    while ((back = fleet_free_port ()) == front)
        ;
    snprintf (self->frontend, sizeof self->frontend, "tcp://127.0.0.1:%d", front);
    snprintf (self->backend, sizeof self->backend, "tcp://127.0.0.1:%d", back);
    snprintf (self->dir, sizeof self->dir, "/tmp/sheaf-test-XXXXXX");
    if (!mkdtemp (self->dir))
        abort ();
    return self;
}

int
fleet_signal (fleet_t *self, pid_t pid, int sig)
{
    (void) self;
    int status = 0;
    kill (pid, sig);
    if (sig == SIGKILL || sig == SIGTERM) {
        //  Bounded: a process ignoring SIGTERM gets SIGKILL after 2 s
        for (int i = 0; i < 200; i++) {
            if (waitpid (pid, &status, WNOHANG) == pid)
                goto reaped;
            zclock_sleep (10);
        }
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
    reaped:
        for (size_t i = 0; i < self->proc_count; i++)
            if (self->procs [i] == pid)
                self->procs [i] = 0;
        if (pid == self->broker)
            self->broker = 0;
    }
    return status;
}

int
fleet_wait (fleet_t *self, pid_t pid, int timeout_ms)
{
    int status = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (waitpid (pid, &status, WNOHANG) != pid) {
        if (zclock_mono () >= deadline)
            return -1;
        zclock_sleep (10);
    }
    for (size_t i = 0; i < self->proc_count; i++)
        if (self->procs [i] == pid)
            self->procs [i] = 0;
    if (pid == self->broker)
        self->broker = 0;
    return status;
}

//  Copy the processes' logs to stderr, so a failure shows why.
static void
s_dump_logs (fleet_t *self)
{
    char command [160];
    snprintf (command, sizeof command, "for f in %s/*.log; do echo \"== $f\"; cat \"$f\"; done >&2",
              self->dir);
    if (system (command) != 0)
        fprintf (stderr, "fleet: could not show the logs\n");
}

int
fleet_destroy (fleet_t **self_p)
{
    if (!self_p || !*self_p)
        return 0;
    fleet_t *self = *self_p;
    //  Stop workers before the broker, so that they leave cleanly; every
    //  process must then exit 0 (a sanitizer report makes it exit non-zero)
    int unclean = 0;
    for (size_t i = self->proc_count; i-- > 0;) {
        pid_t pid = self->procs [i];
        if (pid <= 0 || pid == self->broker)
            continue;
        int status = fleet_signal (self, pid, SIGTERM);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            fprintf (stderr, "fleet: process %d ended uncleanly (status 0x%x)\n", (int) pid, status);
            unclean++;
        }
    }
    if (self->broker > 0) {
        pid_t pid = self->broker;
        int status = fleet_signal (self, pid, SIGTERM);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            fprintf (stderr, "fleet: broker %d ended uncleanly (status 0x%x)\n", (int) pid, status);
            unclean++;
        }
    }
    if (unclean)
        s_dump_logs (self);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", self->dir);
    if (system (command) != 0)
        fprintf (stderr, "fleet: could not remove %s\n", self->dir);
    free (self);
    *self_p = NULL;
    return unclean;
}

pid_t
fleet_spawn (fleet_t *self, const char *log_name, char *const argv [])
{
    assert (self->proc_count < FLEET_MAX_PROCS);
    char log [256];
    snprintf (log, sizeof log, "%s/%s.log", self->dir, log_name);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen (&actions, 1, "/dev/null", O_WRONLY, 0);
    const char *path = strchr (argv [0], '/')? argv [0]: fleet_bin (argv [0]);
    pid_t pid;
    int rc = posix_spawn (&pid, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    if (rc != 0) {
        fprintf (stderr, "fleet: cannot start %s: %s\n", path, strerror (rc));
        abort ();
    }
    self->procs [self->proc_count++] = pid;
    return pid;
}

//  Append extra (NULL-terminated, may be NULL) to argv at *count.
static void
s_append (char **argv, int *count, char *const extra [])
{
    for (int i = 0; extra && extra [i]; i++)
        argv [(*count)++] = extra [i];
    argv [*count] = NULL;
}

pid_t
fleet_broker (fleet_t *self, char *const extra [])
{
    char *argv [32] = {
        "sheaf-broker", "--frontend", self->frontend, "--backend", self->backend,
        "--heartbeat", "200", "--liveness", "3", "--store", "memory"
    };
    int count = 11;
    s_append (argv, &count, extra);
    self->broker = fleet_spawn (self, "broker", argv);
    return self->broker;
}

pid_t
fleet_worker (fleet_t *self, const char *name, int threads, int slots, char *const extra [])
{
    char threads_text [16], slots_text [16];
    snprintf (threads_text, sizeof threads_text, "%d", threads);
    snprintf (slots_text, sizeof slots_text, "%d", slots);
    char *argv [32] = {
        "sheaf-worker", "--broker", self->backend, "--name", (char *) name,
        "--threads", threads_text, "--slots", slots_text,
        "--heartbeat", "200", "--liveness", "3", "--grace", "1000"
    };
    int count = 15;
    s_append (argv, &count, extra);
    return fleet_spawn (self, name, argv);
}

bool
fleet_await_workers (fleet_t *self, size_t count, int timeout_ms)
{
    sf_client_t *client = sf_client_new (self->frontend);
    sf_client_set_timeout (client, 500);
    int64_t deadline = zclock_mono () + timeout_ms;
    bool ready = false;
    while (!ready && zclock_mono () < deadline) {
        sf_error_t error;
        char *status = sf_client_status (client, &error);
        if (status) {
            //  Count worker names in the status JSON
            size_t seen = 0;
            for (const char *p = strstr (status, "\"slots\""); p; p = strstr (p + 1, "\"slots\""))
                seen++;
            ready = seen >= count;
            free (status);
        }
        if (!ready)
            zclock_sleep (50);
    }
    sf_client_destroy (&client);
    return ready;
}

int
fleet_run (fleet_t *self, char *const argv [], char *out, size_t out_size, int timeout_ms)
{
    (void) self;
    int pipefd [2];
    if (pipe (pipefd))
        abort ();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, pipefd [1], 1);
    posix_spawn_file_actions_addclose (&actions, pipefd [0]);
    const char *path = strchr (argv [0], '/')? argv [0]: fleet_bin (argv [0]);
    pid_t pid;
    if (posix_spawn (&pid, path, &actions, NULL, argv, environ))
        abort ();
    posix_spawn_file_actions_destroy (&actions);
    close (pipefd [1]);
    fcntl (pipefd [0], F_SETFL, O_NONBLOCK);
    size_t used = 0;
    int status = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    bool exited = false;
    while (zclock_mono () < deadline) {
        ssize_t got = read (pipefd [0], out + used, out_size - 1 - used);
        if (got > 0)
            used += (size_t) got;
        if (waitpid (pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
        if (got <= 0)
            zclock_sleep (5);
    }
    if (!exited) {
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
    }
    ssize_t got;
    while (used < out_size - 1 && (got = read (pipefd [0], out + used, out_size - 1 - used)) > 0)
        used += (size_t) got;
    out [used] = 0;
    close (pipefd [0]);
    return exited && WIFEXITED (status)? WEXITSTATUS (status): -1;
}

//  --------------------------------------------------------------------------
//  Fixtures shared by the check suites.

fleet_t *fleet;

void
fleet_setup (void)
{
    fleet = fleet_new ();
    fleet_broker (fleet, NULL);
}

void
fleet_teardown (void)
{
    ck_assert_int_eq (fleet_destroy (&fleet), 0);
}

void
fleet_submit_json (sf_client_t *client, const char *json, char id [SF_ID_STRLEN + 1])
{
    sf_error_t error;
    sf_job_t *job = sf_job_from_json (json, &error);
    ck_assert_msg (job, "%s", error.message);
    ck_assert_msg (sf_client_submit (client, job, id, &error) == 0, "%s", error.message);
    sf_job_destroy (&job);
}

long long
fleet_counter (sf_client_t *client, const char *name)
{
    sf_error_t error;
    char *text = sf_client_status (client, &error);
    ck_assert_msg (text, "status failed: %s", error.message);
    json_t *status = json_loads (text, 0, NULL);
    free (text);
    long long value = json_integer_value (
        json_object_get (json_object_get (status, "counters"), name));
    json_decref (status);
    return value;
}

bool
fleet_await_state (sf_client_t *client, const char *id, const char *state, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        char now [16] = "";
        sf_error_t error;
        sf_result_t *result = sf_client_fetch (client, id, false, 0, now, &error);
        if (result) {
            sf_result_destroy (&result);
            return false;
        }
        if (streq (now, state))
            return true;
        zclock_sleep (20);
    }
    return false;
}
