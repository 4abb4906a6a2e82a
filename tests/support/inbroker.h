/*  =========================================================================
    inbroker - a broker in this process, driven one message at a time

    For tests of the broker's state machine and handlers without processes
    (check_sf_jobs, fuzz_broker): the real sf_broker with the memory store,
    bound to private inproc endpoints, its clock a fake one that stands
    still until the test moves it. Clients and workers are DEALER sockets
    with fixed routing ids ("client-N", "worker-N"), made on first use.

    A send runs the broker's reader over what waits on its socket, then
    its flush (sf_broker_pass), so when inbroker_send returns the broker
    has handled the message and what it sent waits at the peers. A
    helper that waits for a reply keeps the other messages it meets for
    inbroker_recv, in order.
    ========================================================================= */

#ifndef INBROKER_H_INCLUDED
#define INBROKER_H_INCLUDED

#include "sf_broker_private.h"

#define INBROKER_PEERS 8        //  Clients 0-7, workers 0-7

typedef struct _inbroker_t inbroker_t;

//  A message a peer was sent.
typedef struct {
    int command;                //  SF_CMD_*
    char *body;                 //  The body (owned)
    size_t size;                //  Its size
} inbroker_msg_t;

//  A broker with config (NULL: the defaults; the endpoints and the store
//  are always the harness's) on the memory store, its clock at 1000 s.
//  NULL with error when it cannot start.
inbroker_t *inbroker_new (const sf_broker_config_t *config, sf_error_t *error);

//  The same on the store named by store ("journal:DIR", …): what it
//  recovers is the broker's at start.
inbroker_t *inbroker_new_store (const sf_broker_config_t *config, const char *store,
                                sf_error_t *error);
void inbroker_destroy (inbroker_t **self_p);

//  The broker, for what a test reads of its state (borrowed).
sf_broker_t *inbroker_broker (inbroker_t *self);

//  Log lines off (a fuzzer makes thousands of them), or back on.
void inbroker_quiet (bool quiet);

//  Send a message from client (or worker) number peer and let the broker
//  take it.
void inbroker_send (inbroker_t *self, bool worker, int peer, int command, const void *body,
                    size_t size);

//  The next message peer was sent, or NULL (the caller destroys it).
inbroker_msg_t *inbroker_recv (inbroker_t *self, bool worker, int peer);
void inbroker_msg_destroy (inbroker_msg_t **self_p);

//  Drop the messages waiting for peer with this command (-1: any) and
//  return how many there were; the others stay, in order.
size_t inbroker_count (inbroker_t *self, bool worker, int peer, int command);

//  Move the clock on by ms and run what has come due (deadlines, retries,
//  groups' deadlines); run one of the timers' duties.
void inbroker_advance (inbroker_t *self, int64_t ms);
void inbroker_duty (inbroker_t *self, sf_duty_t duty);

//  --------------------------------------------------------------------------
//  Requests, built from JSON. Each returns once the broker answered; a
//  reply that is an ERROR fills error (its code and message).

//  The retry_after_ms of the last ERROR a request was answered with (0:
//  none, or the ERROR had none).
uint64_t inbroker_retry_after_ms (inbroker_t *self);

//  SUBMIT one job from client. Returns 0 with its id, or -1.
int inbroker_submit (inbroker_t *self, int client, const char *job, uint8_t id [SF_UUID_SIZE],
                     sf_error_t *error);

//  GROUP from client with options (a JSON object, e.g. "{}") and count
//  jobs (with "then": true in options, the last is the chord). Returns 0
//  with the group's id and its items' ids (room for count), or -1.
int inbroker_group (inbroker_t *self, int client, const char *options,
                    const char *const *jobs, size_t count, uint8_t group [SF_UUID_SIZE],
                    uint8_t (*ids) [SF_UUID_SIZE], sf_error_t *error);

//  CANCEL one id from client; outcome gets "cancelled", "finished" or
//  "unknown". Returns 0, or -1.
int inbroker_cancel (inbroker_t *self, int client, const uint8_t id [SF_UUID_SIZE],
                     char outcome [16], sf_error_t *error);

//  DEAD op ("list", "show", "retry", "purge") from client, for id or (NULL)
//  all. Returns the count (retry, purge) or the number of dead letters in
//  the reply (list, show), or -1.
int inbroker_dead (inbroker_t *self, int client, const char *op, const uint8_t *id,
                   sf_error_t *error);

//  FETCH id from client; with wait the answer may come later. Returns the
//  command of the reply if one came (RESULT, GROUP_RESULT, STATE; -1 for
//  ERROR, with error), else 0. The reply stays for inbroker_recv.
int inbroker_fetch (inbroker_t *self, int client, const uint8_t id [SF_UUID_SIZE], bool wait,
                    sf_error_t *error);

//  READY from worker: its name, analyzers as "a,b,c" (each version "1"),
//  its slots.
void inbroker_ready (inbroker_t *self, int worker, const char *name, const char *analyzers,
                     uint32_t slots);

//  The jobs worker was sent since it last looked (DISPATCH items), their
//  ids and attempts into ids and attempts (room for max). Other messages
//  stay. Returns how many.
size_t inbroker_dispatched (inbroker_t *self, int worker, uint8_t (*ids) [SF_UUID_SIZE],
                            uint32_t *attempts, size_t max);

//  RESULTS from worker with one item: (id, attempt), status as text (any:
//  the broker judges it) and the payload as JSON.
void inbroker_result (inbroker_t *self, int worker, const uint8_t id [SF_UUID_SIZE],
                      uint32_t attempt, const char *status, const char *payload);

//  The status of the items of GROUP_RESULT message msg in order (room for
//  max), and the group's state into state (room for 16). Returns how many
//  items, or -1 if msg is not a valid GROUP_RESULT.
int inbroker_group_result (const inbroker_msg_t *msg, char state [16], sf_status_t *statuses,
                           size_t max);

//  --------------------------------------------------------------------------
//  The broker's invariants, walked over its whole state: the counts it
//  keeps (unfinished, delayed, bytes held, queued and running per queue,
//  dead letters) against what its ledger, queues and workers hold; no
//  acknowledgement outlives its pass, and nothing is held for a commit
//  unless the broker is degraded; every dead job has used its retries or
//  met --max-losses deaths; every group against its items, and answered
//  once its deadline has passed. Returns 0, or -1 with why (room for
//  size).
int inbroker_check (inbroker_t *self, char *why, size_t size);

#endif
