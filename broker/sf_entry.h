/*  =========================================================================
    sf_entry - one job as the broker tracks it, from acceptance to its final
    status and until its result is evicted

    An entry sits in exactly one list at a time through its prev/next links:
    a queue's per-source FIFO (queued), a worker's in-flight list (running) or
    the ledger's finished list (finished). Intrusive links keep moving a job
    between them free of allocation.
    ========================================================================= */

#ifndef SF_ENTRY_H_INCLUDED
#define SF_ENTRY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "sheaf.h"
#include "sf_codec.h"
#include "sf_uuid.h"

typedef struct _sf_queue_t sf_queue_t;
typedef struct _sf_wrec_t sf_wrec_t;
typedef struct _sf_crec_t sf_crec_t;
typedef struct _sf_entry_t sf_entry_t;
typedef struct _sf_group_t sf_group_t;
typedef struct _sf_qsource_t sf_qsource_t;

typedef enum {
    SF_JOB_QUEUED,              //  Waiting in its queue
    SF_JOB_RUNNING,             //  Dispatched to a worker
    SF_JOB_DELAYED,             //  Waiting for its retry's backoff to pass
    SF_JOB_FINISHED             //  Has its final status (or is a dead letter)
} sf_jobstate_t;

struct _sf_entry_t {
    uint8_t id [SF_UUID_SIZE];  //  Job id (UUIDv7)
    sf_jobstate_t state;        //  Where it is in its life
    uint8_t priority;           //  0..9, 9 first
    bool chained;               //  Its job has a follow-up ("then") to submit when ok
    uint32_t attempt;           //  Dispatches so far; the lease token
    uint32_t timeout_ms;        //  Per-attempt limit from the job
    uint32_t retries;           //  Retries allowed by the job
    uint32_t backoff_ms;        //  First retry's delay; doubles each retry
    uint32_t failures;          //  Failed attempts counted against retries
    uint32_t losses;            //  Workers that died while running it
    int64_t due_us;             //  Deadline (running) or retry time (delayed)
    uint32_t heap_pos;          //  Place in the broker's sf_timeq (UINT32_MAX: none)
    sf_queue_t *queue;          //  Its analyzer's queue (borrowed)
    char *spec;                 //  Job map encoding (owned; freed at finish)
    uint32_t spec_size;         //  Its size
    char *key;                  //  Idempotency key or NULL (owned)
    char *state_key;            //  Analyzer state key or NULL (owned)
    sf_crec_t *client;          //  Submitter while unfinished (counted ref)
    sf_wrec_t *worker;          //  Worker running it (borrowed)
    int64_t accepted_us;        //  Monotonic time of acceptance
    int64_t dispatched_us;      //  Of the last dispatch
    int64_t finished_us;        //  Of the final status
    sf_status_t status;         //  Final status
    uint64_t run_us;            //  Run time reported by the worker
    const char *worker_name;    //  Who produced the result (interned, borrowed)
    char *payload;              //  Result or error map encoding (owned)
    uint32_t payload_size;      //  Its size
    char *history;              //  Failed attempts, msgpack maps (owned)
    uint32_t history_size;      //  Its size
    uint32_t history_count;     //  Maps in it
    uint32_t index;             //  Its position in its group (fills padding)
    sf_group_t *group;          //  Its group, or NULL (borrowed; the group keeps it)
    sf_qsource_t *source;       //  Its source's FIFO while queued (its queue's)
    uint8_t *then_id;           //  The follow-up's id once submitted, else NULL (owned)
    sf_entry_t *prev;           //  Links in its current list
    sf_entry_t *next;
};

//  A doubly linked list of entries, by head and tail.
typedef struct {
    sf_entry_t *head;           //  Oldest
    sf_entry_t *tail;           //  Newest
    size_t size;                //  Entries in the list
} sf_entry_list_t;

void sf_entry_list_append (sf_entry_list_t *list, sf_entry_t *entry);
void sf_entry_list_prepend (sf_entry_list_t *list, sf_entry_t *entry);
void sf_entry_list_remove (sf_entry_list_t *list, sf_entry_t *entry);

//  A new queued-to-be entry for a checked job (spec) whose encoding is raw
//  (raw_size bytes, copied), accepted at now_us, with its state key; no
//  id, queue or idempotency key yet. With spec NULL, an entry without a
//  job map: a result kept from before a restart, which never runs again.
sf_entry_t *sf_entry_new (const sf_jobspec_t *spec, const char *raw, size_t raw_size,
                          int64_t now_us);

//  Decode the entry's job map into *job, valid until the caller destroys
//  unpacked (which this initialises). Returns 0, or -1 when it does not
//  decode (never for a map that passed sf_codec_job_check).
int sf_entry_job (const sf_entry_t *self, msgpack_unpacked *unpacked, msgpack_object *job);

//  The RESULT item header of a finished entry (no index).
void sf_entry_result_head (const sf_entry_t *self, sf_result_head_t *head);

//  Free an entry and everything it owns (the client reference must have
//  been released by then).
void sf_entry_destroy (sf_entry_t **self_p);

#endif
