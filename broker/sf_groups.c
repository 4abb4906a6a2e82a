/*  =========================================================================
    sf_groups - every group the broker keeps: by id, by key, oldest first

    The id table owns the groups (its keys point into them); the key table
    and the list borrow them. Removing a group takes it out of the list and
    the key table first, then the id table destroys it.
    ========================================================================= */

#include <czmq.h>
#include "sf_groups.h"

struct _sf_groups_t {
    zhashx_t *by_id;            //  Group id -> group; owns the groups
    zhashx_t *by_key;           //  Idempotency key -> group (borrowed)
    zlistx_t *list;             //  The groups, oldest first (borrowed)
    sf_timeq_t *timeq;          //  Where deadlines wait (borrowed)
    size_t answered;            //  Groups that have answered
    size_t items_kept;          //  Items of those groups
};

static void
s_group_destructor (void **item)
{
    sf_group_destroy ((sf_group_t **) item);
}

//  --------------------------------------------------------------------------
//  Create and destroy.

sf_groups_t *
sf_groups_new (sf_timeq_t *timeq)
{
    sf_groups_t *self = (sf_groups_t *) zmalloc (sizeof *self);
    self->by_id = sf_uuid_table (false);        //  Keys live in the groups
    zhashx_set_destructor (self->by_id, s_group_destructor);
    self->by_key = zhashx_new ();
    self->list = zlistx_new ();
    self->timeq = timeq;
    return self;
}

void
sf_groups_destroy (sf_groups_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_groups_t *self = *self_p;
    for (sf_group_t *group = (sf_group_t *) zlistx_first (self->list); group;
         group = (sf_group_t *) zlistx_next (self->list))
        sf_timeq_remove_group (self->timeq, group);
    zlistx_destroy (&self->list);
    zhashx_destroy (&self->by_key);
    zhashx_destroy (&self->by_id);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Take a group in.

void
sf_groups_insert (sf_groups_t *self, sf_group_t *group)
{
    zhashx_insert (self->by_id, group->id, group);
    if (group->key)
        zhashx_insert (self->by_key, group->key, group);
    zlistx_add_end (self->list, group);
    if (group->deadline_us)
        sf_timeq_push_group (self->timeq, group);
}

sf_group_t *
sf_groups_find (sf_groups_t *self, const uint8_t id [SF_UUID_SIZE])
{
    return (sf_group_t *) zhashx_lookup (self->by_id, id);
}

sf_group_t *
sf_groups_find_key (sf_groups_t *self, const char *key)
{
    return (sf_group_t *) zhashx_lookup (self->by_key, key);
}

void
sf_groups_remove (sf_groups_t *self, sf_group_t *group)
{
    assert (!group->answered);
    sf_timeq_remove_group (self->timeq, group);
    //  From the newest: the group taken out is one of the last taken in
    for (sf_group_t *item = (sf_group_t *) zlistx_last (self->list); item;
         item = (sf_group_t *) zlistx_prev (self->list))
        if (item == group) {
            zlistx_delete (self->list, zlistx_cursor (self->list));
            break;
        }
    if (group->key)
        zhashx_delete (self->by_key, group->key);
    zhashx_delete (self->by_id, group->id);
}

//  --------------------------------------------------------------------------
//  Deadlines.

void
sf_groups_arm (sf_groups_t *self, sf_group_t *group, int64_t deadline_us)
{
    sf_timeq_remove_group (self->timeq, group);
    group->deadline_us = deadline_us;
    sf_timeq_push_group (self->timeq, group);
}

void
sf_groups_answered (sf_groups_t *self, sf_group_t *group, int64_t now_us)
{
    assert (!group->answered);
    sf_timeq_remove_group (self->timeq, group);
    group->answered = true;
    group->answered_us = now_us;
    self->answered++;
    self->items_kept += group->total;
}

//  --------------------------------------------------------------------------
//  Retention: one walk from the oldest.

size_t
sf_groups_purge (sf_groups_t *self, int64_t now_us, int64_t ttl_us, size_t max_items,
                 sf_groups_forget_fn *forget, void *arg)
{
    size_t gone = 0;
    sf_group_t *group = (sf_group_t *) zlistx_first (self->list);
    while (group) {
        void *handle = zlistx_cursor (self->list);
        //  Step on before the group may go: deleting another node than the
        //  cursor's leaves the cursor where it is
        sf_group_t *next = (sf_group_t *) zlistx_next (self->list);
        bool expired = now_us - group->answered_us > ttl_us;
        if (group->answered && (expired || (self->items_kept > max_items && next))) {
            forget (arg, group);
            self->answered--;
            self->items_kept -= group->total;
            zlistx_delete (self->list, handle);
            if (group->key)
                zhashx_delete (self->by_key, group->key);
            zhashx_delete (self->by_id, group->id);
            gone++;
        }
        group = next;
    }
    return gone;
}

size_t
sf_groups_size (sf_groups_t *self)
{
    return zhashx_size (self->by_id);
}

size_t
sf_groups_answered_count (sf_groups_t *self)
{
    return self->answered;
}

zlistx_t *
sf_groups_list (sf_groups_t *self)
{
    return self->list;
}
