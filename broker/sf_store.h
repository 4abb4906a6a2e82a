/*  =========================================================================
    sf_store - where the broker makes jobs durable

    The broker keeps its working state in memory (ledger, queues) and tells
    the store what changed: jobs accepted, finished, retried from the dead
    letters or purged, and analyzer states saved. A store makes those
    changes durable when told (commit); the broker acknowledges a submit
    only after the commit that covers it succeeded. Groups are recorded
    too: accepted (after their items), their chord launched, answered and
    forgotten. On start, a durable store hands back what it holds
    (recover): every job it knows, in acceptance order, the latest state of
    each state key, then every group it keeps, oldest first. Every backend
    is chosen by a URI: "memory", "journal:DIR".
    ========================================================================= */

#ifndef SF_STORE_H_INCLUDED
#define SF_STORE_H_INCLUDED

#include "sf_entry.h"

typedef struct _sf_ledger_t sf_ledger_t;
typedef struct _zhashx_t zhashx_t;
typedef struct _zlistx_t zlistx_t;

//  A group as recover hands it back (everything borrowed for the call but
//  then, which the callee takes).
typedef struct {
    uint8_t id [SF_UUID_SIZE];  //  Group id
    sf_group_opts_t opts;       //  Policy, quorum, timeout, stream, chord, key
    int64_t deadline_ms;        //  Wall-clock deadline (ms since the epoch), 0 for none
    uint32_t total;             //  Items, the chord not counted
    const uint8_t *items;       //  Their ids, total * SF_UUID_SIZE bytes, in order
    sf_entry_t *then;           //  Chord not launched yet (spec and job fields set), or NULL
    bool launched;              //  The chord was launched as job then_id
    uint8_t then_id [SF_UUID_SIZE];     //  Its id when launched
    sf_group_state_t state;     //  SF_GROUP_RUNNING unless it answered
    int64_t answered_ms;        //  When it answered (wall clock, ms), if it did
} sf_store_group_t;

//  What recover hands back. job takes ownership of entry: state queued
//  for an unfinished job (with its spec), finished with its status,
//  payload and finished_us otherwise; analyzer names its analyzer when the
//  entry has no spec, and entry->worker_name is borrowed for the call.
//  state is given each state key's latest blob (borrowed for the call).
//  group is given each kept group after every job, oldest first; it takes
//  group->then.
typedef struct {
    void (*job) (void *arg, sf_entry_t *entry, const char *analyzer);
    void (*state) (void *arg, const char *key, const void *blob, size_t size);
    void (*group) (void *arg, sf_store_group_t *group);
    void *arg;
} sf_store_recovery_t;

//  The live set a compaction keeps: every entry of the ledger, the state
//  keys (key -> sf_store_blob_t *) and the broker's groups (sf_group_t).
typedef struct {
    void *data;                 //  The bytes (owned by the table)
    size_t size;
} sf_store_blob_t;

//  A copy of size bytes of data as a blob (the caller owns it), and the
//  destructor of tables of blobs (a zhashx_destructor_fn).
sf_store_blob_t *sf_store_blob_new (const void *data, size_t size);
void sf_store_blob_destructor (void **item);

//  Operations of a backend. Each returns 0, or -1 with error filled.
typedef struct {
    const char *name;                               //  "memory", …
    int (*accepted) (void *state, sf_entry_t **entries, size_t count, sf_error_t *error);
    int (*finished) (void *state, sf_entry_t *entry, sf_error_t *error);
    int (*revived) (void *state, sf_entry_t *entry, sf_error_t *error);
    int (*forgotten) (void *state, sf_entry_t *entry, sf_error_t *error);
    int (*state_saved) (void *state, const char *key, const void *blob, size_t size,
                        sf_error_t *error);
    int (*group_accepted) (void *state, sf_group_t *group, sf_error_t *error);
    int (*group_launched) (void *state, sf_group_t *group, sf_error_t *error);
    int (*group_answered) (void *state, sf_group_t *group, sf_error_t *error);
    int (*group_forgotten) (void *state, sf_group_t *group, sf_error_t *error);
    int (*commit) (void *state, sf_ledger_t *ledger, zhashx_t *states, zlistx_t *groups,
                   sf_error_t *error);
    int (*recover) (void *state, const sf_store_recovery_t *recovery, sf_error_t *error);
    void (*destroy) (void **state_p);
} sf_store_ops_t;

typedef struct _sf_store_t sf_store_t;

//  Open the store named by uri. Returns NULL with error (code STORE) when
//  the URI is unknown or the backend cannot open.
sf_store_t *sf_store_new (const char *uri, sf_error_t *error);

void sf_store_destroy (sf_store_t **self_p);

//  Record newly accepted jobs (not yet durable).
int sf_store_accepted (sf_store_t *self, sf_entry_t **entries, size_t count, sf_error_t *error);

//  Record a job's final status (not yet durable). A dead letter keeps its
//  job and history.
int sf_store_finished (sf_store_t *self, sf_entry_t *entry, sf_error_t *error);

//  Record that a dead letter runs again, or that a finished job (dead
//  letter or result) is forgotten.
int sf_store_revived (sf_store_t *self, sf_entry_t *entry, sf_error_t *error);
int sf_store_forgotten (sf_store_t *self, sf_entry_t *entry, sf_error_t *error);

//  Record the latest analyzer state of a state key.
int sf_store_state_saved (sf_store_t *self, const char *key, const void *blob, size_t size,
                          sf_error_t *error);

//  Record a group accepted (after its items' sf_store_accepted, so that
//  the same commit covers both), its chord launched (after the chord's
//  sf_store_accepted), the group answered (its state, now), and the group
//  forgotten with its items and chord.
int sf_store_group_accepted (sf_store_t *self, sf_group_t *group, sf_error_t *error);
int sf_store_group_launched (sf_store_t *self, sf_group_t *group, sf_error_t *error);
int sf_store_group_answered (sf_store_t *self, sf_group_t *group, sf_error_t *error);
int sf_store_group_forgotten (sf_store_t *self, sf_group_t *group, sf_error_t *error);

//  Make everything recorded so far durable. A backend may compact its
//  files here from the live set: the ledger, the state table and the
//  group list (sf_group_t, oldest first).
int sf_store_commit (sf_store_t *self, sf_ledger_t *ledger, zhashx_t *states, zlistx_t *groups,
                     sf_error_t *error);

//  Hand back what the store holds (once, before any other call).
int sf_store_recover (sf_store_t *self, const sf_store_recovery_t *recovery, sf_error_t *error);

//  The backend's name.
const char *sf_store_name (sf_store_t *self);

//  The memory backend: nothing survives the broker; every call succeeds.
extern const sf_store_ops_t sf_store_memory_ops;
void *sf_store_memory_open (const char *argument, sf_error_t *error);

//  The journal backend (argument: DIR[,fsync=always|batch|off][,compact=BYTES]).
extern const sf_store_ops_t sf_store_journal_ops;
void *sf_store_journal_open (const char *argument, sf_error_t *error);

#endif
