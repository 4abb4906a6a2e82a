/*  =========================================================================
    sf_groups - every group the broker keeps: by id, by key, oldest first

    The container owns the groups. It finds them by id (FETCH, CANCEL) and
    by idempotency key while they are kept (a GROUP with a known key), and
    keeps them oldest first: retention forgets the oldest answered groups
    first, and a store's compaction writes them in that order. A group's
    deadline waits in the broker's sf_timeq next to the jobs' deadlines and
    retry times, so one timer serves them all and a group times out at its
    instant, not at the next tick of a scan. The container also counts what
    STATUS and retention need: the groups that have answered and the items
    they keep.
    ========================================================================= */

#ifndef SF_GROUPS_H_INCLUDED
#define SF_GROUPS_H_INCLUDED

#include "sf_group.h"
#include "sf_timeq.h"

typedef struct _sf_groups_t sf_groups_t;

//  A container whose deadlines go into timeq (borrowed; it must outlive
//  the container).
sf_groups_t *sf_groups_new (sf_timeq_t *timeq);

//  Destroy the container and every group in it. The broker releases or
//  abandons the groups' client references first.
void sf_groups_destroy (sf_groups_t **self_p);

//  Take group in: by id, by key if it has one, newest. A deadline it has
//  (deadline_us) is armed.
void sf_groups_insert (sf_groups_t *self, sf_group_t *group);

//  The group with this id, or with this idempotency key; NULL if none.
sf_group_t *sf_groups_find (sf_groups_t *self, const uint8_t id [SF_UUID_SIZE]);
sf_group_t *sf_groups_find_key (sf_groups_t *self, const char *key);

//  Take a group that has not answered out (its deadline disarmed) and
//  destroy it: a GROUP whose commit failed.
void sf_groups_remove (sf_groups_t *self, sf_group_t *group);

//  Arm group's deadline at deadline_us (a group rebuilt at start).
void sf_groups_arm (sf_groups_t *self, sf_group_t *group, int64_t deadline_us);

//  Mark group answered at now_us: its deadline, which held until now (a
//  chord's run included), is disarmed, and its items count as kept.
void sf_groups_answered (sf_groups_t *self, sf_group_t *group, int64_t now_us);

//  Called for each group retention forgets, before it is destroyed.
typedef void (sf_groups_forget_fn) (void *arg, sf_group_t *group);

//  Forget answered groups, oldest first, that answered more than ttl_us
//  before now_us, or while the items that answered groups keep are more
//  than max_items (the newest group always stays). forget is called for
//  each first. Returns how many went.
size_t sf_groups_purge (sf_groups_t *self, int64_t now_us, int64_t ttl_us, size_t max_items,
                        sf_groups_forget_fn *forget, void *arg);

//  Groups kept, and of them those that have answered.
size_t sf_groups_size (sf_groups_t *self);
size_t sf_groups_answered_count (sf_groups_t *self);

//  Every group, oldest first (borrowed, for the store's compaction; it
//  must not change the list).
zlistx_t *sf_groups_list (sf_groups_t *self);

#endif
