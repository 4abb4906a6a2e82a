/*  =========================================================================
    sf_cmd_dead - DEAD: list, show, retry and purge the dead letters

    A dead letter is a job that ended dead and belongs to no group
    (sf_jobs_dead_letter). The ledger keeps them apart, oldest first, with
    their job map and the history of their failed attempts; retry and
    purge go through the state machine (sf_jobs_revive, sf_jobs_forget),
    which keeps the counts and the store in step. A group item that ended
    dead is its group's: the group counted it (a retry would count it
    again) and holds it (a purge would free what the group still reads).
    ========================================================================= */

#include "sf_broker_private.h"

//  One dead letter: id, analyzer, attempts, the error it ended with and,
//  in detail, the history of its failed attempts.
static void
s_pack_dead (sf_broker_t *self, msgpack_packer *pk, sf_entry_t *entry, bool detail)
{
    msgpack_pack_map (pk, detail? 7: 6);
    char id [SF_ID_STRLEN + 1];
    sf_uuid_str (entry->id, id);
    sf_mp_pack_kv_str (pk, "id", id);
    sf_mp_pack_kv_str (pk, "analyzer", entry->queue->name);
    sf_mp_pack_kv_uint (pk, "attempts", entry->attempt);
    sf_mp_pack_kv_uint (pk, "worker_losses", entry->losses);
    sf_mp_pack_kv_uint (pk, "dead_for_ms", (uint64_t) (self->now_us - entry->finished_us) / 1000);
    sf_mp_pack_str (pk, "error");
    msgpack_sbuffer_write (pk->data, entry->payload, entry->payload_size);
    if (detail) {
        sf_mp_pack_str (pk, "history");
        msgpack_pack_array (pk, entry->history_count);
        msgpack_sbuffer_write (pk->data, entry->history, entry->history_size);
    }
}

//  --------------------------------------------------------------------------
//  DEAD {tag, op, id?}: op "list" (all, oldest first), "show" (one, with
//  its history), "retry" (one, or all without id), "purge" (one, or all
//  without id). Replies {tag, dead: [...]} for list and show, {tag, count}
//  for retry and purge.

int
sf_cmd_dead (sf_broker_t *self, sf_msg_t *msg)
{
    msgpack_unpacked unpacked;
    msgpack_object body;
    if (sf_request_map (self, self->frontend, msg, &unpacked, &body))
        return 0;
    uint64_t tag = sf_codec_tag (&body);
    char op [8] = "";
    uint8_t id [SF_UUID_SIZE];
    const msgpack_object *id_field = sf_mp_get (&body, "id");
    bool has_id = id_field && id_field->type != MSGPACK_OBJECT_NIL;
    int id_rc = has_id? sf_codec_id (id_field, id): 0;
    sf_mp_strcpy (sf_mp_get (&body, "op"), op, sizeof op);
    msgpack_unpacked_destroy (&unpacked);

    sf_error_t error;
    bool listing = streq (op, "list") || streq (op, "show");
    if (!listing && !streq (op, "retry") && !streq (op, "purge")) {
        sf_error_set (&error, "PROTOCOL", "DEAD needs \"op\": list, show, retry or purge");
        sf_outbox_error (self, self->frontend, msg, tag, &error);
        return 0;
    }
    if (id_rc || (streq (op, "show") && !has_id)) {
        sf_error_set (&error, "PROTOCOL", "DEAD %s needs \"id\", 16 bytes", op);
        sf_outbox_error (self, self->frontend, msg, tag, &error);
        return 0;
    }
    sf_entry_t *entry = has_id? sf_ledger_find (self->ledger, id): NULL;
    if (has_id && (!entry || !sf_jobs_dead_letter (entry))) {
        char text [SF_ID_STRLEN + 1];
        sf_uuid_str (id, text);
        sf_error_set (&error, "NOT_FOUND", "no dead letter %s", text);
        sf_outbox_error (self, self->frontend, msg, tag, &error);
        return 0;
    }
    msgpack_packer *pk = sf_outbox_reply (self);
    msgpack_pack_map (pk, 2);
    sf_mp_pack_kv_uint (pk, "tag", tag);
    if (listing) {
        sf_mp_pack_str (pk, "dead");
        if (entry) {
            msgpack_pack_array (pk, 1);
            s_pack_dead (self, pk, entry, true);
        }
        else {
            msgpack_pack_array (pk, sf_ledger_dead_count (self->ledger));
            for (entry = sf_ledger_dead_first (self->ledger); entry; entry = entry->next)
                s_pack_dead (self, pk, entry, false);
        }
    }
    else {
        bool retry = streq (op, "retry");
        size_t count = 0;
        sf_entry_t *next = entry? NULL: sf_ledger_dead_first (self->ledger);
        for (entry = entry? entry: next; entry; entry = next) {
            next = has_id? NULL: entry->next;
            if (retry)
                sf_jobs_revive (self, entry);
            else
                sf_jobs_forget (self, entry, true);
            count++;
        }
        sf_mp_pack_kv_uint (pk, "count", count);
        sf_log_info ("broker: %s %zu dead letters", retry? "retried": "purged", count);
    }
    sf_outbox_hold_reply (self, msg, SF_CMD_DEAD_REPLY);
    return 0;
}
