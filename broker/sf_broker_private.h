/*  =========================================================================
    sf_broker_private - the broker's state and the functions its files
    share (like Redis's server.h)

    The broker is one object spread over files by noun. sf_broker.c is the
    loop: sockets, readers that decode and route each message to a handler
    of a sf_cmd_*.c file, the timers, and the end-of-pass flush. Every
    change of a job's state goes through sf_jobs.c, the one state machine;
    groups are gathered by sf_cmd_group.c over the container sf_groups;
    sf_dispatch.c hands queued jobs to workers with credit; sf_outbox.c
    stages every reply and result per peer and does every send;
    sf_recover.c rebuilds the state from the store at start.

    Only the broker's files and its in-process tests include this header.
    ========================================================================= */

#ifndef SF_BROKER_PRIVATE_H_INCLUDED
#define SF_BROKER_PRIVATE_H_INCLUDED

#include <czmq.h>
#include "sf_alloc.h"
#include "sf_broker.h"
#include "sf_clients.h"
#include "sf_codec.h"
#include "sf_group.h"
#include "sf_groups.h"
#include "sf_ledger.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_msg.h"
#include "sf_queue.h"
#include "sf_registry.h"
#include "sf_store.h"
#include "sf_timeq.h"

//  A growable array of borrowed pointers.
typedef struct {
    void **items;               //  The pointers
    size_t size;                //  In use
    size_t max;                 //  Room
} sf_ptrs_t;

//  What the broker counts, for STATUS.
typedef struct {
    uint64_t submitted;         //  Jobs accepted
    uint64_t deduplicated;      //  Submits answered with an existing id (key)
    uint64_t chained;           //  Follow-ups submitted by the broker ("then")
    uint64_t dispatched;        //  Dispatches (attempts) sent
    uint64_t finished [SF_STATUS_INVALID];  //  Final statuses by status
    uint64_t requeued;          //  Jobs returned to a queue by a lost worker
    uint64_t retried;           //  Failed attempts scheduled to run again
    uint64_t timed_out;         //  Attempts stopped at their deadline
    uint64_t busy;              //  Submits refused by a limit
    uint64_t late;              //  Results dropped: not the current lease
    uint64_t malformed;         //  Messages rejected as malformed
    uint64_t undelivered;       //  Results whose client was gone
    uint64_t workers_lost;      //  Workers expired or disconnected
    uint64_t too_large;         //  Jobs refused and results dropped for their size
    uint64_t arm_failed;        //  Times the deadline timer could not be armed
    uint64_t send_failed;       //  STOPs and ACCEPTEDs the socket refused
    uint64_t over_budget;       //  FETCHes and STATUSes refused by --peer-max-bytes
    uint64_t commit_failures;   //  Store commits that failed, retries included
} sf_counters_t;

//  Output staged during a pass, sent by sf_outbox (see sf_outbox.c).
typedef struct {
    msgpack_sbuffer reply;      //  Body of the single reply being built
    msgpack_packer reply_pk;    //  Packs into reply
    msgpack_sbuffer stop;       //  Body of a STOP being sent
    msgpack_packer stop_pk;     //  Packs into stop
    msgpack_sbuffer answer;     //  Body of a GROUP_RESULT being sent
    zlistx_t *acks;             //  Acknowledgements waiting for the commit
    zlistx_t *held;             //  Replies and full bodies waiting for a commit, in order
    sf_ptrs_t workers;          //  Workers with a DISPATCH staged
    sf_ptrs_t clients;          //  Clients with a RESULT staged (each a ref)
    sf_ptrs_t streams;          //  Stream groups with a GROUP_ITEM staged
    sf_ptrs_t answers;          //  Groups answered in this pass
} sf_outbox_t;

struct _sf_broker_t {
    sf_broker_config_t config;  //  Settings (strings borrowed)
    zsock_t *frontend;          //  ROUTER for clients
    zsock_t *backend;           //  ROUTER for workers
    zloop_t *loop;              //  The reactor
    int64_t (*clock) (void);    //  Monotonic microseconds (in-process tests set their own)
    sf_store_t *store;          //  Durable store
    sf_ledger_t *ledger;        //  Every job, by id (owns entries)
    zhashx_t *queues;           //  Analyzer name -> queue (owns queues)
    sf_queue_t *last_queue;     //  Queue of the last job looked up (cache)
    sf_ptrs_t dirty;            //  Queues to dispatch from at the flush
    sf_registry_t *registry;    //  Workers (owns records)
    sf_clients_t *clients;      //  Clients with work (owns records)
    zhashx_t *watchers;         //  Job id -> zlistx of clients waiting (FETCH wait)
    zhashx_t *budgets;          //  Peer routing id (hex) -> bytes it asked for (sf_cmd_query)
    zhashx_t *names;            //  Worker names results point to (one copy each)
    size_t names_swept;         //  Names left by the last sweep of that table
    zhashx_t *states;           //  State key -> latest sf_store_blob_t (owned)
    sf_groups_t *groups;        //  Every group kept (owns groups)
    sf_timeq_t *timeq;          //  Running jobs' and groups' deadlines, retry times
    int timer_id;               //  One-shot timer for the first due item
    int64_t armed_us;           //  When it fires (0: not armed)
    size_t unfinished;          //  Jobs accepted and not finished
    size_t delayed;             //  Of them, waiting for a retry
    size_t bytes_held;          //  Job encodings of the unfinished jobs
    int64_t busy_since_us;      //  Start of the window BUSY's hint measures progress over
    uint64_t busy_finished;     //  Jobs finished when that window started
    uint64_t busy_hint_ms;      //  The retry_after_ms BUSY gave last
    msgpack_sbuffer scratch;    //  Error maps the broker writes
    msgpack_packer scratch_pk;  //  Packs into scratch
    msgpack_sbuffer record_ids; //  Item ids of the group record last built (sf_records)
    sf_outbox_t outbox;         //  Output staged for the end of the pass
    bool degraded;              //  The last commit failed: output waits for one that succeeds
    sf_error_t store_error;     //  Why the last commit failed, while degraded
    int64_t degraded_us;        //  When the broker became degraded
    size_t store_retries;       //  Commits retried since then
    int64_t retry_ms;           //  The retry timer's delay now (doubling)
    int retry_timer;            //  The retry timer, while armed
    int64_t retry_us;           //  When it fires (0: not armed)
    sf_msg_t msg;               //  Message being handled
    int64_t now_us;             //  Monotonic time of this pass
    size_t pass_items;          //  Jobs and results taken in this pass
    int64_t started_us;         //  When the broker started
    sf_counters_t counters;     //  For STATUS
};

//  A handler of one command on one socket; returns 0, or -1 to stop.
typedef int (sf_handler_fn) (sf_broker_t *self, sf_msg_t *msg);

//  ==========================================================================
//  sf_broker.c: the loop

//  Add item to the array (growing it).
void sf_ptrs_push (sf_ptrs_t *self, void *item);

//  Decode a single-map request body into *body, valid until the caller
//  destroys unpacked (which this initialises). Returns 0, or -1 after
//  replying ERROR PROTOCOL on socket (unpacked is then released).
int sf_request_map (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg,
                    msgpack_unpacked *unpacked, msgpack_object *body);

//  In-process tests drive the broker without its zloop: a reader's pass
//  over what waits on a socket (then the flush), and the timers' duties.
typedef enum {
    SF_DUTY_DUE,                //  Deadlines and retry times that have come
    SF_DUTY_HEARTBEAT,          //  Expire silent workers, heartbeat the others
    SF_DUTY_PURGE,              //  Evict results and groups past retention
    SF_DUTY_STORE               //  Degraded: try the store's commit again
} sf_duty_t;

int sf_broker_pass (sf_broker_t *self, bool backend);
void sf_broker_duty (sf_broker_t *self, sf_duty_t duty);

//  ==========================================================================
//  sf_outbox.c: staging per peer; every send

void sf_outbox_init (sf_outbox_t *self);
void sf_outbox_destroy (sf_outbox_t *self);

//  Start the body of a single reply; send it to msg's sender on socket
//  now, or (hold) send it to msg's sender on the frontend after the next
//  commit that succeeds: a reply that tells of what the store may not
//  hold yet (STATE, CANCEL_REPLY, DEAD_REPLY).
msgpack_packer *sf_outbox_reply (sf_broker_t *self);
void sf_outbox_send_reply (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg, int command);
void sf_outbox_hold_reply (sf_broker_t *self, sf_msg_t *msg, int command);

//  Reply ERROR {tag, code, message} to msg's sender on socket.
void sf_outbox_error (sf_broker_t *self, zsock_t *socket, sf_msg_t *msg, uint64_t tag,
                      const sf_error_t *error);

//  What an accepted SUBMIT or GROUP created, for its acknowledgement: a
//  commit that fails takes it back.
typedef struct {
    sf_entry_t **fresh;         //  The new plain jobs (borrowed array), or NULL
    size_t count;               //  How many
    sf_group_t *group;          //  The new group (its items and chord with it), or NULL
    sf_group_t *join;           //  The kept group a GROUP's key named: answered from it
    size_t deduplicated;        //  Items (or the GROUP) answered with what existed
} sf_intake_t;

//  Stage an ACCEPTED for client (the outbox takes the caller's reference)
//  with tag, sent after the pass's commit; returns the packer of its body,
//  which the caller fills. intake says what the request created (copied).
msgpack_packer *sf_outbox_ack (sf_broker_t *self, sf_crec_t *client, uint64_t tag,
                               const sf_intake_t *intake);

//  Stage a finished entry's result in client's RESULT.
void sf_outbox_result (sf_broker_t *self, sf_crec_t *client, sf_entry_t *entry);

//  Stage a dispatched entry in worker's DISPATCH.
void sf_outbox_dispatch (sf_broker_t *self, sf_wrec_t *worker, sf_entry_t *entry);

//  Reply STATE {tag, id, state, group: true when group} to msg's sender:
//  what an unfinished job or group is doing (FETCH without wait).
void sf_outbox_state (sf_broker_t *self, sf_msg_t *msg, uint64_t tag,
                      const uint8_t id [SF_UUID_SIZE], const char *state, bool group);

//  Send worker STOP for count job ids (16 bytes each, back to back) now.
void sf_outbox_stop (sf_broker_t *self, sf_wrec_t *worker, const uint8_t *ids, size_t count);

//  Send worker a HEARTBEAT now.
void sf_outbox_heartbeat (sf_broker_t *self, sf_wrec_t *worker);

//  Tell msg's sender, a worker the broker does not know, to register.
void sf_outbox_disconnect (sf_broker_t *self, sf_msg_t *msg);

//  Stage a stream group's finished item in its GROUP_ITEM.
void sf_outbox_group_item (sf_broker_t *self, sf_group_t *group, sf_entry_t *entry);

//  Send an answered group's GROUP_RESULT at the end of the pass, to its
//  client and its waiters.
void sf_outbox_group_answer (sf_broker_t *self, sf_group_t *group);

//  Send an answered group's GROUP_RESULT with tag and every item to the
//  peer with this routing id, after the next commit that succeeds.
void sf_outbox_group_result (sf_broker_t *self, const void *identity, size_t identity_size,
                             sf_group_t *group, uint64_t tag);

//  The flush's sends after a commit that succeeded, in its order:
//  acknowledgements; DISPATCHes (the workers that could not be reached
//  are added to unreachable); then the held replies and bodies,
//  GROUP_ITEMs, GROUP_RESULTs and RESULTs.
void sf_outbox_flush_acks (sf_broker_t *self);
void sf_outbox_flush_dispatches (sf_broker_t *self, sf_ptrs_t *unreachable);
void sf_outbox_flush_results (sf_broker_t *self);

//  The commit failed (failed says why): what each acknowledged request
//  created is taken back, and each is answered ERROR instead. Everything
//  else staged stays for the next commit that succeeds.
void sf_outbox_refuse_acks (sf_broker_t *self, const sf_error_t *failed);

//  ==========================================================================
//  sf_jobs.c: the job state machine

//  Accept new entries (ids and queues set; group and index set for group
//  items) as unfinished jobs of client (NULL: none; each entry takes a
//  reference): recorded in the store, then in the ledger and their queues.
//  Returns 0, or -1 with error when the store refused them: nothing
//  changed and the caller still owns the entries.
int sf_jobs_accept (sf_broker_t *self, sf_entry_t **entries, size_t count, sf_crec_t *client,
                    sf_error_t *error);

//  Accept a job the broker made (a follow-up, a chord) for client (or
//  NULL): as sf_jobs_accept, but a store failure is logged, since nobody
//  waits for its acknowledgement.
void sf_jobs_launch (sf_broker_t *self, sf_entry_t *entry, sf_crec_t *client);

//  Take an entry the store recovered (queue set): a finished one is kept,
//  an unfinished one queued.
void sf_jobs_restore (sf_broker_t *self, sf_entry_t *entry);

//  Take back a job accepted in this pass whose commit failed: out of its
//  queue, its client, the ledger and its key, the counts restored, and
//  forgotten by the store (a group item: its group's record covers it).
//  The entry is freed.
void sf_jobs_refuse (sf_broker_t *self, sf_entry_t *entry);

//  A queued entry, taken from its queue, goes to worker (a new attempt).
void sf_jobs_start (sf_broker_t *self, sf_entry_t *entry, sf_wrec_t *worker);

//  The worker running entry reported its attempt: status (ok or error),
//  run_us, the new analyzer state (or NULL) and the payload raw.
void sf_jobs_reported (sf_broker_t *self, sf_entry_t *entry, sf_status_t status,
                       uint64_t run_us, const char *state, size_t state_size,
                       const char *raw, size_t raw_size);

//  entry came due in the timeq: a running attempt's deadline, or the end
//  of a retry's backoff.
void sf_jobs_due (sf_broker_t *self, sf_entry_t *entry);

//  entry's worker is gone (why); died: a death, which the job counts and
//  which may make it a poison job, else a worker that left in order.
void sf_jobs_lost (sf_broker_t *self, sf_entry_t *entry, const char *why, bool died);

//  End an unfinished entry now with status (cancelled, or timeout for a
//  group's deadline). Returns -1 if it had finished already.
int sf_jobs_cancel (sf_broker_t *self, sf_entry_t *entry, sf_status_t status);

//  True for a dead letter: a job that ended dead and belongs to no group.
bool sf_jobs_dead_letter (const sf_entry_t *entry);

//  Run a dead letter again, its retries renewed.
void sf_jobs_revive (sf_broker_t *self, sf_entry_t *entry);

//  Forget a finished entry (a purged dead letter; record: tell the store)
//  or an item of a group that is forgotten (the group's record covers it).
void sf_jobs_forget (sf_broker_t *self, sf_entry_t *entry, bool record);

//  ==========================================================================
//  sf_dispatch.c: queues, and credit dispatch from the dirty ones

//  The queue for an analyzer name (size bytes, a valid name), or NULL.
sf_queue_t *sf_dispatch_find (sf_broker_t *self, const char *name, size_t size);

//  The same, created on first use; NULL at the limit of analyzers.
sf_queue_t *sf_dispatch_queue (sf_broker_t *self, const char *name, size_t size);

//  The queue of the analyzer named in entry's job map; NULL at the limit.
sf_queue_t *sf_dispatch_queue_of (sf_broker_t *self, sf_entry_t *entry);

//  queue has jobs to dispatch, or its workers have credit again.
void sf_dispatch_mark (sf_broker_t *self, sf_queue_t *queue);

//  worker has credit again: every queue it serves may dispatch to it.
void sf_dispatch_credit (sf_broker_t *self, sf_wrec_t *worker);

//  Hand queued jobs of the marked queues to workers with credit.
void sf_dispatch_run (sf_broker_t *self);

//  ==========================================================================
//  Handlers: sf_cmd_submit.c, sf_cmd_query.c, sf_cmd_dead.c, sf_cmd_worker.c,
//  sf_cmd_group.c

sf_handler_fn sf_cmd_submit, sf_cmd_status, sf_cmd_fetch, sf_cmd_cancel, sf_cmd_dead,
              sf_cmd_group;
sf_handler_fn sf_cmd_ready, sf_cmd_results, sf_cmd_heartbeat, sf_cmd_disconnect,
              sf_cmd_lost;

//  A job of a SUBMIT or GROUP batch, as intake reads it.
typedef struct {
    sf_jobspec_t spec;          //  The job, checked (borrowed from the batch)
    const char *raw;            //  Its encoding, as the client sent it
    size_t raw_size;            //  Its size
} sf_intake_job_t;

//  SUBMIT intake, shared with GROUP: the next job of a batch, number
//  index, into job. Returns 0; 1 after the last; -1 with error when the
//  batch is malformed or the job is not valid (BAD_INPUT naming the job),
//  or the job is over --max-job-bytes (TOO_LARGE), before it is copied.
int sf_cmd_submit_next (sf_broker_t *self, sf_batchr_t *reader, uint32_t index,
                        sf_intake_job_t *job, sf_error_t *error);

//  While the broker is degraded, reply BUSY to a SUBMIT or GROUP (tag),
//  naming the store's error, and return 1; else 0.
int sf_cmd_submit_degraded (sf_broker_t *self, sf_msg_t *msg, uint64_t tag);

//  Give the count fresh entries of a batch (tag) their queues and check
//  the limits for the first held of them (a chord is held only when it is
//  launched). Returns 0; -1 with error to reject the batch (TOO_LARGE
//  when the batch alone passes a limit, so that waiting cannot help); 1
//  when the broker is too busy or degraded, after replying BUSY.
int sf_cmd_submit_admit (sf_broker_t *self, sf_msg_t *msg, uint64_t tag, sf_entry_t **fresh,
                         size_t count, size_t held, sf_error_t *error);

//  End an intake: reply ERROR when failed says why the batch is rejected,
//  destroy the count entries of fresh that were not accepted and fresh
//  itself, and close the reader.
void sf_cmd_submit_end (sf_broker_t *self, sf_msg_t *msg, sf_batchr_t *reader, sf_entry_t **fresh,
                        size_t count, const sf_error_t *failed);

//  A worker is gone (why): its jobs go back to their queues or, died,
//  count the death; then it is forgotten.
void sf_cmd_worker_lose (sf_broker_t *self, sf_wrec_t *worker, const char *why, bool died);

//  A message came from worker: it is alive until a liveness period from now.
void sf_cmd_worker_seen (sf_broker_t *self, sf_wrec_t *worker);

//  The state machine's hook: a group's item or chord has finished.
void sf_cmd_group_item_done (sf_broker_t *self, sf_entry_t *entry);

//  A group was decided: its unfinished items end, then the chord runs or
//  the group answers.
void sf_cmd_group_decide (sf_broker_t *self, sf_group_t *group);

//  A group answers: recorded now, sent at the end of the pass.
void sf_cmd_group_answer (sf_broker_t *self, sf_group_t *group);

//  Forget the byte budgets of peers whose window has passed.
void sf_cmd_query_purge (sf_broker_t *self);

//  Take back a group accepted in this pass whose commit failed, with its
//  items and chord (sf_jobs_refuse); the group is freed.
void sf_cmd_group_refuse (sf_broker_t *self, sf_group_t *group);

//  End a group that has not answered with state (timeout at its deadline,
//  cancelled on request). Returns -1 when it was decided already.
int sf_cmd_group_end (sf_broker_t *self, sf_group_t *group, sf_group_state_t state);

//  FETCH of a group id (tag, wait).
void sf_cmd_group_fetch (sf_broker_t *self, sf_msg_t *msg, sf_group_t *group, uint64_t tag,
                         bool wait);

//  A GROUP whose key named group was acknowledged: answer client (tag).
void sf_cmd_group_join (sf_broker_t *self, sf_group_t *group, sf_crec_t *client, uint64_t tag);

//  Forget answered groups past retention, with their jobs.
void sf_cmd_group_purge (sf_broker_t *self);

//  ==========================================================================
//  sf_records.c: jobs and groups as the store's records

//  A store operation on a job record, or on a group record.
typedef int (sf_store_job_fn) (sf_store_t *store, const sf_store_job_t *job, sf_error_t *error);
typedef int (sf_store_group_fn) (sf_store_t *store, const sf_store_group_t *group,
                                 sf_error_t *error);

//  The record of entry, or of group, pointing into it (and, for a group,
//  into self->record_ids) until either changes.
void sf_records_job (sf_broker_t *self, const sf_entry_t *entry, sf_store_job_t *record);
void sf_records_group (sf_broker_t *self, const sf_group_t *group, sf_store_group_t *record);

//  Stage a change of entry, or of group, through op (sf_store_accepted,
//  sf_store_finished, …). Returns op's 0, or -1 with error.
int sf_records_stage_job (sf_broker_t *self, sf_store_job_fn *op, const sf_entry_t *entry,
                          sf_error_t *error);
int sf_records_stage_group (sf_broker_t *self, sf_store_group_fn *op, const sf_group_t *group,
                            sf_error_t *error);

//  Commit the store, lending it the live set (every entry of the ledger,
//  every state, every group oldest first) for a compaction. Returns the
//  commit's 0, or -1 with error.
int sf_records_commit (sf_broker_t *self, sf_error_t *error);

//  ==========================================================================
//  sf_recover.c: the state the store kept

//  Rebuild jobs, states and groups from the store. Returns 0, or -1 with
//  error.
int sf_recover (sf_broker_t *self, sf_error_t *error);

#endif
