/*  =========================================================================
    sf_store - where the broker makes jobs durable

    The broker keeps its working state in memory (ledger, queues, groups)
    and tells the store what changed, as plain records: a job record holds
    the durable fields of one job, a group record those of one group, a
    state record the latest analyzer state of a state key. A record is
    borrowed for the call; the store copies what it keeps. A backend knows
    nothing of the broker's containers, and the broker nothing of a
    backend's files or tables: the journal (journal:DIR) and the memory
    store (memory) implement this interface, and a database store does the
    same with rows.

    Two kinds of calls:

    - Record operations (accepted, finished, revived, forgotten,
      state_saved, group_*) stage one change. Nothing has to be durable
      when they return, and they do no I/O that can fail for a full disk or
      a lost connection: they fail only for a record the store can never
      hold (then nothing is staged, and error says why).
    - commit makes every change staged since the last commit that returned
      0 durable, in the order staged, all or none. When it returns 0, a
      store opened after any crash of the broker or the machine hands back
      every one of those changes (to the degree the backend's sync mode
      promises; the journal's fsync=always promises it fully). When it
      returns -1, none of them is durable, the store still holds them,
      and the next commit tries them again together with whatever was
      staged since. The broker acknowledges a job, and delivers a result
      or any reply that tells of stored state, only after the commit that
      covers it returned 0; while commits fail it is degraded and retries
      on a timer (sf_broker.c).

    What each record operation means once its commit has returned 0, as
    recover hands it back:

      accepted (job)        the job exists, unfinished, with its job map
                            (spec); the broker stages it before anything
                            else of that job
      finished (job)        the job has its final status: status, payload,
                            attempts, losses, worker, run_us, finished_ms;
                            a dead letter (spec set) keeps its job map,
                            history and failures, any other loses its map
      revived (job)         a dead letter is unfinished again, its
                            failures and losses 0 and its payload gone
      forgotten (job)       the job is gone: a purged dead letter, or a
                            submit the broker refused after a failed
                            commit (staged after its accepted, so that the
                            next commit leaves no trace of it)
      state_saved (state)   the state key's latest state is this one
      group_accepted (g)    the group exists with its options, deadline,
                            item ids in order and, while not launched, its
                            chord's job map; staged after its items'
                            accepted
      group_launched (g)    the chord runs as job then_id (staged after
                            that job's accepted)
      group_answered (g)    the group answered with state at answered_ms
      group_forgotten (g)   the group, its items and its launched chord
                            are gone

    recover (once, before any other call) hands back every job the store
    holds in acceptance order (ids are time-ordered), then the latest
    state of each state key, then every group oldest first.

    A backend may compact during commit. The broker then lends it the live
    set: an iterator over records describing its whole state after the
    staged changes (every job, then every state, then every group oldest
    first). The memory store ignores it; the journal rewrites its file
    from it when the file has grown enough.
    ========================================================================= */

#ifndef SF_STORE_H_INCLUDED
#define SF_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sheaf.h"
#include "sf_codec.h"
#include "sf_uuid.h"

//  Where a job is, as far as a store cares.
typedef enum {
    SF_STORE_UNFINISHED,        //  Accepted, no final status: it runs (again) after a restart
    SF_STORE_FINISHED           //  Has its final status (a dead letter keeps its job map)
} sf_store_jobstate_t;

//  A job's durable fields. Pointers are borrowed for the call (or until
//  the next call of an iterator); a NULL pointer is an absent field.
typedef struct {
    uint8_t id [SF_UUID_SIZE];  //  Job id (UUIDv7)
    sf_store_jobstate_t state;  //  Unfinished or finished
    const char *analyzer;       //  Its analyzer's name
    const char *spec;           //  Job map as submitted; NULL for a result (not a dead letter)
    size_t spec_size;           //  Its size
    const char *key;            //  Idempotency key, or NULL
    const char *state_key;      //  Analyzer state key, or NULL
    int64_t accepted_ms;        //  When it was accepted (wall clock, ms since the epoch)
    uint32_t attempts;          //  Dispatches so far
    uint32_t failures;          //  Failed attempts counted against its retries
    uint32_t losses;            //  Worker deaths it witnessed
    const char *history;        //  Its failed attempts (msgpack maps back to back), or NULL
    size_t history_size;        //  Their size
    uint32_t history_count;     //  Maps in history
    sf_status_t status;         //  Final status (finished)
    const char *worker;         //  Worker that produced the result, or NULL
    uint64_t run_us;            //  Run time the worker reported
    int64_t finished_ms;        //  When it finished (wall clock, ms), finished only
    const char *payload;        //  Result or error map (finished), or NULL
    size_t payload_size;        //  Its size
    const uint8_t *then_id;     //  Its follow-up's id once submitted ("then"), or NULL
    const uint8_t *group;       //  Its group's id, or NULL
    uint32_t index;             //  Its place in its group (the chord: after the items)
} sf_store_job_t;

//  A group's durable fields, borrowed as a job's.
typedef struct {
    uint8_t id [SF_UUID_SIZE];  //  Group id
    sf_group_opts_t opts;       //  Policy, quorum, timeout, stream, chord, key
    int64_t deadline_ms;        //  Wall-clock deadline (ms since the epoch), 0 for none
    uint32_t total;             //  Items, the chord not counted
    const uint8_t *items;       //  Their ids, total * SF_UUID_SIZE bytes, in order
    const char *then_spec;      //  The chord's job map while not launched, else NULL
    size_t then_size;           //  Its size
    bool launched;              //  The chord was launched as job then_id
    uint8_t then_id [SF_UUID_SIZE];     //  Its id when launched
    sf_group_state_t state;     //  SF_GROUP_RUNNING until it answered
    int64_t answered_ms;        //  When it answered (wall clock, ms), if it did
} sf_store_group_t;

//  The latest analyzer state of a state key, borrowed as a job's.
typedef struct {
    const char *key;            //  State key
    const void *data;           //  The state blob
    size_t size;                //  Its size
} sf_store_state_t;

//  One record of the live set: kind says which member is filled.
typedef enum {
    SF_STORE_JOB = 1,           //  job
    SF_STORE_STATE,             //  state
    SF_STORE_GROUP              //  group
} sf_store_kind_t;

typedef struct {
    sf_store_kind_t kind;       //  Which of the three
    sf_store_job_t job;         //  A job
    sf_store_state_t state;     //  A state key's latest state
    sf_store_group_t group;     //  A group
} sf_store_record_t;

//  The broker's whole state, lent to commit for a compaction: next fills
//  record with the next record (its pointers borrowed until the next call)
//  and returns 1, or returns 0 after the last one. Every job comes first,
//  then every state, then every group oldest first. It may be walked once.
typedef struct {
    int (*next) (void *arg, sf_store_record_t *record);
    void *arg;                  //  The iterator's state
} sf_store_live_t;

//  What recover hands back, each record borrowed for the call: job for
//  every job, in acceptance order; state for each state key's latest
//  state; group for every group, oldest first, after every job.
typedef struct {
    void (*job) (void *arg, const sf_store_job_t *job);
    void (*state) (void *arg, const sf_store_state_t *state);
    void (*group) (void *arg, const sf_store_group_t *group);
    void *arg;                  //  Given to each
} sf_store_recovery_t;

//  Operations of a backend. Each returns 0, or -1 with error filled (code
//  STORE); each takes the backend's own state first.
typedef struct {
    const char *name;           //  "memory", "journal"
    int (*accepted) (void *backend, const sf_store_job_t *job, sf_error_t *error);
    int (*finished) (void *backend, const sf_store_job_t *job, sf_error_t *error);
    int (*revived) (void *backend, const sf_store_job_t *job, sf_error_t *error);
    int (*forgotten) (void *backend, const sf_store_job_t *job, sf_error_t *error);
    int (*state_saved) (void *backend, const sf_store_state_t *state, sf_error_t *error);
    int (*group_accepted) (void *backend, const sf_store_group_t *group, sf_error_t *error);
    int (*group_launched) (void *backend, const sf_store_group_t *group, sf_error_t *error);
    int (*group_answered) (void *backend, const sf_store_group_t *group, sf_error_t *error);
    int (*group_forgotten) (void *backend, const sf_store_group_t *group, sf_error_t *error);
    int (*commit) (void *backend, const sf_store_live_t *live, sf_error_t *error);
    int (*recover) (void *backend, const sf_store_recovery_t *recovery, sf_error_t *error);
    void (*destroy) (void **backend_p);
} sf_store_ops_t;

typedef struct _sf_store_t sf_store_t;

//  Open the store named by uri. Returns NULL with error (code STORE, or
//  LOCKED for a journal another process holds) when the URI is unknown or
//  the backend cannot open.
sf_store_t *sf_store_new (const char *uri, sf_error_t *error);

//  Close the store. What was staged and not committed is dropped.
void sf_store_destroy (sf_store_t **self_p);

//  Stage a change (see the table above for what each means once
//  committed). Returns 0, or -1 with error when the store can never hold
//  the record; nothing is staged then.
int sf_store_accepted (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error);
int sf_store_finished (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error);
int sf_store_revived (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error);
int sf_store_forgotten (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error);
int sf_store_state_saved (sf_store_t *self, const sf_store_state_t *state, sf_error_t *error);
int sf_store_group_accepted (sf_store_t *self, const sf_store_group_t *group,
                             sf_error_t *error);
int sf_store_group_launched (sf_store_t *self, const sf_store_group_t *group,
                             sf_error_t *error);
int sf_store_group_answered (sf_store_t *self, const sf_store_group_t *group,
                             sf_error_t *error);
int sf_store_group_forgotten (sf_store_t *self, const sf_store_group_t *group,
                              sf_error_t *error);

//  Make every staged change durable, all or none. Returns 0 when all of
//  them are; -1 with error (naming the file or server, the call and the
//  system's reason) when none is, and the store keeps them for the next
//  commit. live (may be NULL: no compaction now) is the broker's state
//  after the staged changes, for a backend that compacts here; it is
//  walked at most once, before commit returns.
int sf_store_commit (sf_store_t *self, const sf_store_live_t *live, sf_error_t *error);

//  Hand back what the store holds (once, before any other call).
int sf_store_recover (sf_store_t *self, const sf_store_recovery_t *recovery, sf_error_t *error);

//  The backend's name.
const char *sf_store_name (sf_store_t *self);

//  A state blob the broker keeps per state key: the bytes and their size.
typedef struct {
    void *data;                 //  The bytes (owned by the blob)
    size_t size;                //  Their size
} sf_store_blob_t;

//  A copy of size bytes of data as a blob (the caller owns it), and the
//  destructor of tables of blobs (a zhashx_destructor_fn).
sf_store_blob_t *sf_store_blob_new (const void *data, size_t size);
void sf_store_blob_destructor (void **item);

//  The memory backend: nothing survives the broker; every call succeeds.
extern const sf_store_ops_t sf_store_memory_ops;
void *sf_store_memory_open (const char *argument, sf_error_t *error);

//  The journal backend (argument: DIR[,fsync=always|batch|off][,compact=BYTES]).
extern const sf_store_ops_t sf_store_journal_ops;
void *sf_store_journal_open (const char *argument, sf_error_t *error);

#endif
