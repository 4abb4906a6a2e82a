/*  =========================================================================
    sf_group - a group of jobs the broker gathers for one client

    The policy is a few counters: ok items against the quorum (or the
    first ok for "any"), failed items for "fail-fast", finished items
    against the total for "all". It is applied as each item finishes, so
    a decision costs O(1); the broker then walks the items once to cancel
    the unfinished ones.
    ========================================================================= */

#include "sf_alloc.h"
#include "sf_group.h"
#include "sf_mp.h"
#include "sf_queue.h"

sf_group_t *
sf_group_new (const sf_group_opts_t *opts, uint64_t tag, uint32_t total, int64_t now_us)
{
    sf_group_t *self = (sf_group_t *) zmalloc (sizeof *self);
    sf_uuid_v7 (self->id);
    self->opts = *opts;
    if (opts->key) {
        self->key = sf_alloc_strndup (opts->key, opts->key_size);
        self->opts.key = self->key;
    }
    self->tag = tag;
    self->total = total;
    self->items = (sf_entry_t **) sf_alloc_array (total, sizeof (sf_entry_t *));
    self->heap_pos = UINT32_MAX;
    if (opts->timeout_ms)
        self->deadline_us = now_us + (int64_t) opts->timeout_ms * 1000;
    if (opts->stream) {
        self->stream = (sf_batchw_t *) zmalloc (sizeof *self->stream);
        sf_batchw_init (self->stream);
    }
    return self;
}

void
sf_group_destroy (sf_group_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_group_t *self = *self_p;
    if (self->then && !self->launched)
        sf_entry_destroy (&self->then);
    if (self->stream) {
        sf_batchw_destroy (self->stream);
        free (self->stream);
    }
    zlistx_destroy (&self->waiters);
    free (self->key);
    free (self->items);
    free (self);
    *self_p = NULL;
}

static void
s_waiter_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

bool
sf_group_wait (sf_group_t *self, sf_crec_t *client, uint64_t tag)
{
    if (!self->waiters) {
        self->waiters = zlistx_new ();
        zlistx_set_destructor (self->waiters, s_waiter_destroy);
    }
    for (sf_group_waiter_t *waiter = (sf_group_waiter_t *) zlistx_first (self->waiters);
         waiter; waiter = (sf_group_waiter_t *) zlistx_next (self->waiters))
        if (waiter->client == client && waiter->tag == tag)
            return false;
    sf_group_waiter_t *waiter = (sf_group_waiter_t *) zmalloc (sizeof *waiter);
    waiter->client = client;
    waiter->tag = tag;
    zlistx_add_end (self->waiters, waiter);
    return true;
}

//  --------------------------------------------------------------------------
//  Count a finished item and apply the policy.

bool
sf_group_item_done (sf_group_t *self, sf_entry_t *entry)
{
    self->finished++;
    self->counts [entry->status]++;
    if (self->state != SF_GROUP_RUNNING)
        return false;
    uint32_t ok = self->counts [SF_STATUS_OK];
    uint32_t left = self->total - self->finished;
    sf_group_state_t state = SF_GROUP_RUNNING;
    if (self->opts.min_ok) {
        //  A quorum: decided as soon as it is reached or out of reach
        if (ok >= self->opts.min_ok)
            state = SF_GROUP_OK;
        else
        if (ok + left < self->opts.min_ok)
            state = SF_GROUP_FAILED;
    }
    else
    if (self->opts.policy == SF_POLICY_FAIL_FAST && entry->status != SF_STATUS_OK)
        state = SF_GROUP_FAILED;
    else
    if (self->opts.policy == SF_POLICY_ANY && entry->status == SF_STATUS_OK)
        state = SF_GROUP_OK;
    else
    if (left == 0)
        state = self->opts.policy == SF_POLICY_ANY? SF_GROUP_FAILED: SF_GROUP_OK;
    self->state = state;
    return state != SF_GROUP_RUNNING;
}

//  --------------------------------------------------------------------------
//  Items on the wire: a RESULT item header with the index, then the payload
//  as the worker sent it.

static void
s_pack_item (msgpack_packer *pk, sf_entry_t *entry)
{
    sf_result_head_t head;
    sf_entry_result_head (entry, &head);
    head.indexed = true;
    head.index = entry->index;
    sf_codec_pack_result_head (pk, &head);
    pk->callback (pk->data, entry->payload, entry->payload_size);
}

void
sf_group_stream_item (sf_group_t *self, sf_entry_t *entry)
{
    assert (self->stream);
    if (self->stream->count == 0) {
        sf_group_head_t head = { .tag = self->tag };
        memcpy (head.group, self->id, SF_UUID_SIZE);
        msgpack_sbuffer_clear (&self->stream->buffer);
        sf_codec_pack_group_head (&self->stream->packer, &head, true);
    }
    s_pack_item (&self->stream->packer, entry);
    sf_batchw_item (self->stream);
}

void
sf_group_pack_answer (sf_group_t *self, uint64_t tag, bool with_items, msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    bool then = self->launched && self->then->state == SF_JOB_FINISHED;
    sf_group_head_t head = {
        .tag = tag,
        .n = (with_items? self->total: 0) + (then? 1: 0),
        .state = self->state,
        .total = self->total,
        .then = then
    };
    memcpy (head.group, self->id, SF_UUID_SIZE);
    memcpy (head.counts, self->counts, sizeof head.counts);
    sf_codec_pack_group_head (&pk, &head, false);
    if (with_items)
        for (uint32_t i = 0; i < self->total; i++)
            s_pack_item (&pk, self->items [i]);
    if (then)
        s_pack_item (&pk, self->then);
}

//  The tag sits at a fixed place: the header map's first byte, then
//  "tag" as a fixstr and 0xcf, then the tag in 8 bytes big-endian (the
//  fixed form sf_codec_pack_group_head writes, docs/PROTOCOL.md 4.2).
#define S_TAG_OFFSET 6

void
sf_group_answer_retag (msgpack_sbuffer *buffer, uint64_t tag)
{
    assert (buffer->size >= S_TAG_OFFSET + 8
            && (unsigned char) buffer->data [S_TAG_OFFSET - 1] == 0xcf);
    unsigned char *p = (unsigned char *) buffer->data + S_TAG_OFFSET;
    for (int i = 0; i < 8; i++)
        p [i] = (unsigned char) (tag >> (56 - 8 * i));
}

//  --------------------------------------------------------------------------
//  The chord's job: its own map, with the gathered results in its params.

void
sf_group_pack_chord (sf_group_t *self, const char *spec, size_t spec_size,
                     msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object job;
    const char *why;
    int rc = sf_mp_next (&unpacked, spec, spec_size, &offset, &job, NULL, NULL, &why);
    assert (rc == 0 && job.type == MSGPACK_OBJECT_MAP);     //  Checked at GROUP
    const msgpack_object *params = sf_mp_get (&job, "params");
    msgpack_pack_map (&pk, job.via.map.size + (params? 0: 1));
    for (uint32_t i = 0; i < job.via.map.size; i++) {
        const msgpack_object_kv *kv = &job.via.map.ptr [i];
        if (&kv->val != params) {
            msgpack_pack_object (&pk, kv->key);
            msgpack_pack_object (&pk, kv->val);
        }
    }
    sf_mp_pack_str (&pk, "params");
    uint32_t kept = 0;
    if (params)
        for (uint32_t i = 0; i < params->via.map.size; i++)
            kept += !sf_mp_streq (&params->via.map.ptr [i].key, "results");
    msgpack_pack_map (&pk, kept + 1);
    if (params)
        for (uint32_t i = 0; i < params->via.map.size; i++)
            if (!sf_mp_streq (&params->via.map.ptr [i].key, "results")) {
                msgpack_pack_object (&pk, params->via.map.ptr [i].key);
                msgpack_pack_object (&pk, params->via.map.ptr [i].val);
            }
    sf_mp_pack_str (&pk, "results");
    msgpack_pack_array (&pk, self->total);
    for (uint32_t i = 0; i < self->total; i++) {
        sf_entry_t *entry = self->items [i];
        msgpack_pack_map (&pk, 3);
        sf_mp_pack_kv_uint (&pk, "index", i);
        sf_mp_pack_kv_str (&pk, "status", sf_status_name (entry->status));
        sf_mp_pack_str (&pk, entry->status == SF_STATUS_OK? "result": "error");
        msgpack_sbuffer_write (buffer, entry->payload, entry->payload_size);
    }
    msgpack_unpacked_destroy (&unpacked);
}
