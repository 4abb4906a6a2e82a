/*  =========================================================================
    sf_group - a group of jobs the broker gathers for one client (GROUP)

    One GROUP message submits every job of a group; the broker fans them
    out as ordinary entries, and each entry points back at its group and
    its index. The group keeps only what gathering needs: one entry pointer
    per item (8 bytes), counters, the policy and a deadline. Results stay
    where s_finish put them, in the entries; the group reads them from
    there when it answers, so a result is copied once more only into the
    message that carries it.

    The group decides its state from the items as they finish
    (sf_group_item_done); the broker acts on the decision: it cancels the
    unfinished items, runs the chord if there is one, and answers. A
    decided group keeps its entries (the ledger does not evict them) until
    the broker forgets the group.

    Besides its client, a group answers waiters: clients that FETCHed it
    with wait (answered with tag 0) and clients whose GROUP carried the
    group's idempotency key (answered with their own GROUP's tag).
    ========================================================================= */

#ifndef SF_GROUP_H_INCLUDED
#define SF_GROUP_H_INCLUDED

#include <czmq.h>
#include "sf_codec.h"
#include "sf_entry.h"

//  A client to answer besides the submitter.
typedef struct {
    sf_crec_t *client;          //  Whom (counted ref, released by the broker)
    uint64_t tag;               //  Tag of the answer: 0 for a FETCH, else the GROUP's
} sf_group_waiter_t;

struct _sf_group_t {
    uint8_t id [SF_UUID_SIZE];  //  Group id (UUIDv7)
    sf_group_opts_t opts;       //  Policy, quorum, deadline, stream, chord, key
    char *key;                  //  Idempotency key (owned; opts.key points here) or NULL
    sf_group_state_t state;     //  SF_GROUP_RUNNING until decided
    uint64_t tag;               //  The GROUP's tag, echoed in the answer
    sf_crec_t *client;          //  Whom to answer (counted ref), until answered
    zlistx_t *waiters;          //  sf_group_waiter_t to answer too (owned), or NULL
    sf_entry_t **items;         //  Item entries in submission order (ledger-owned)
    uint32_t total;             //  Items, the chord not counted
    uint32_t finished;          //  Items with a final status
    uint32_t counts [SF_STATUS_INVALID];    //  Finished items by status
    sf_entry_t *then;           //  Chord entry: owned until launched, then ledger's
    bool launched;              //  The chord is in the ledger and its queue
    bool answered;              //  GROUP_RESULT was sent (or could not be)
    int64_t deadline_us;        //  Monotonic deadline, 0 for none
    uint32_t heap_pos;          //  Place in the broker's sf_timeq (UINT32_MAX: none)
    int64_t answered_us;        //  When it answered (retention counts from here)
    sf_batchw_t *stream;        //  GROUP_ITEM being built (stream groups)
    bool flagged;               //  In the broker's stream send list
};

//  A running group of total items (entries set by the caller) for a GROUP
//  with tag and opts, accepted at now_us. Id from sf_uuid_v7; the key is
//  copied.
sf_group_t *sf_group_new (const sf_group_opts_t *opts, uint64_t tag, uint32_t total,
                          int64_t now_us);

//  Free the group, its key, its item array, its stream buffer, its waiter
//  records and a chord that was never launched. Item entries, the client
//  and the waiters' clients are not touched: the broker releases them
//  first.
void sf_group_destroy (sf_group_t **self_p);

//  Answer client (whose reference the group takes) with tag too. A client
//  already waiting with the same tag is not added twice: returns false
//  and the caller keeps its reference.
bool sf_group_wait (sf_group_t *self, sf_crec_t *client, uint64_t tag);

//  An item entry has finished: count it and, while the group is running,
//  apply the policy. Returns true when this item decided the group
//  (self->state is then no longer SF_GROUP_RUNNING).
bool sf_group_item_done (sf_group_t *self, sf_entry_t *entry);

//  Stage a finished item in the GROUP_ITEM body being built.
void sf_group_stream_item (sf_group_t *self, sf_entry_t *entry);

//  Pack the whole answer, a GROUP_RESULT body with tag, into buffer: every
//  item in submission order (none for a stream group, whose items went as
//  GROUP_ITEM) and the chord's result last when it ran.
void sf_group_pack_answer (sf_group_t *self, uint64_t tag, bool with_items,
                           msgpack_sbuffer *buffer);

//  Give an answer packed by sf_group_pack_answer another tag, in place:
//  an answer that goes to several clients is packed once.
void sf_group_answer_retag (msgpack_sbuffer *buffer, uint64_t tag);

//  The chord's job map: the one given (spec) with "results" added to its
//  params, an array of {index, status, result | error} in submission
//  order. Packed into buffer.
void sf_group_pack_chord (sf_group_t *self, const char *spec, size_t spec_size,
                          msgpack_sbuffer *buffer);

#endif
