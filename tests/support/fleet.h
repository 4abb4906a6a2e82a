/*  =========================================================================
    fleet - starts real sheaf processes on loopback for integration tests

    Each process is spawned from $SHEAF_BUILD/bin (default build/bin) with
    its stderr in a log file under the fleet's temporary directory, and
    tracked by PID; fleet_destroy stops every one of them (SIGTERM, then
    SIGKILL after two seconds), waits for it and reports any that did not
    exit cleanly. Ports are free ports on
    127.0.0.1 found by the kernel.
    ========================================================================= */

#ifndef FLEET_H_INCLUDED
#define FLEET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FLEET_MAX_PROCS 32

typedef struct {
    char frontend [64];         //  tcp://127.0.0.1:PORT for clients
    char backend [64];          //  tcp://127.0.0.1:PORT for workers
    char dir [64];              //  Temporary directory for logs
    pid_t broker;               //  Broker PID, 0 if not running
    pid_t procs [FLEET_MAX_PROCS];  //  Every PID started
    size_t proc_count;          //  How many
} fleet_t;

//  A fleet with two free ports and a temporary directory; nothing runs yet.
fleet_t *fleet_new (void);

//  Stop every process still running (workers first, then the broker) and
//  remove the directory. Returns how many did not exit 0 on SIGTERM (their
//  logs are copied to stderr): a crash, a sanitizer report or a leak.
int fleet_destroy (fleet_t **self_p);

//  A TCP port on 127.0.0.1 that is free right now.
int fleet_free_port (void);

//  Path of a built binary (static buffer).
const char *fleet_bin (const char *name);

//  Start a process: argv[0] is a binary name under the build's bin/ (or a
//  path with a '/'); NULL-terminated. Returns its PID (tracked).
pid_t fleet_spawn (fleet_t *self, const char *log_name, char *const argv []);

//  Start the broker on the fleet's ports with fast heartbeats (200 ms,
//  liveness 3) and the memory store; extra is NULL or a NULL-terminated
//  list of more flags (a later --store wins).
pid_t fleet_broker (fleet_t *self, char *const extra []);

//  Start a worker named name with threads threads and slots slots, fast
//  heartbeats and a grace period of one second (so that it stops within
//  fleet_destroy's two seconds; a later --grace in extra wins).
pid_t fleet_worker (fleet_t *self, const char *name, int threads, int slots,
                    char *const extra []);

//  Send sig to pid and, for SIGKILL/SIGTERM, wait for it. Returns its
//  wait status.
int fleet_signal (fleet_t *self, pid_t pid, int sig);

//  Wait up to timeout_ms for pid to exit by itself, and forget it. Returns
//  its wait status, or -1 if it is still running (it stays tracked).
int fleet_wait (fleet_t *self, pid_t pid, int timeout_ms);

//  Wait up to timeout_ms until the broker reports count workers. Returns
//  true if it did.
bool fleet_await_workers (fleet_t *self, size_t count, int timeout_ms);

//  Run a command to completion (bounded by timeout_ms), capturing stdout
//  into out (NUL-terminated, truncated to out_size). Returns the exit code,
//  or -1 if it did not exit in time (it is killed).
int fleet_run (fleet_t *self, char *const argv [], char *out, size_t out_size,
               int timeout_ms);

//  --------------------------------------------------------------------------
//  Fixtures shared by the check suites.

#include <check.h>

//  The fleet of the running test: fleet_setup (a checked fixture) makes it
//  and starts its broker; fleet_teardown stops it and fails the test when a
//  process did not exit cleanly.
extern fleet_t *fleet;

//  Submit one job given in its JSON form; its id goes to id. Fails the test
//  on a bad job or a refused submit.
#include "sheaf.h"
void fleet_submit_json (sf_client_t *client, const char *json, char id [SF_ID_STRLEN + 1]);

//  Wait up to timeout_ms until job id is in state ("queued", "running",
//  "retrying") at the broker; false if it never is or finishes first.
bool fleet_await_state (sf_client_t *client, const char *id, const char *state,
                        int timeout_ms);

//  A counter of the broker's status ("ok", "requeued", …).
long long fleet_counter (sf_client_t *client, const char *name);
void fleet_setup (void);
void fleet_teardown (void);

#endif
