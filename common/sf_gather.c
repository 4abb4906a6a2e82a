/*  =========================================================================
    sf_gather - a group's answer, as a client receives it

    Items are kept by index in one array sized to the group, so an answer
    reads in submission order however its items arrived (one GROUP_RESULT,
    or GROUP_ITEM messages in the order the jobs finished).
    ========================================================================= */

#include <jansson.h>
#include <string.h>
#include "sf_alloc.h"
#include "sf_gather.h"
#include "sf_json.h"
#include "sf_mp.h"
#include "sf_result.h"

struct _sf_gather_t {
    char id [SF_ID_STRLEN + 1];         //  Group id, text form
    sf_group_state_t state;             //  Final state (running until the answer)
    size_t total;                       //  Items in the group
    size_t counts [SF_STATUS_INVALID];  //  Items by final status
    sf_result_t **items;                //  By index; NULL where none arrived
    sf_result_t *then;                  //  The chord's result or NULL
};

sf_gather_t *
sf_gather_new (const uint8_t id [SF_UUID_SIZE], size_t total)
{
    sf_gather_t *self = (sf_gather_t *) sf_alloc (sizeof *self);
    sf_uuid_str (id, self->id);
    self->total = total;
    self->items = (sf_result_t **) sf_alloc_array (total, sizeof (sf_result_t *));
    return self;
}

void
sf_gather_destroy (sf_gather_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_gather_t *self = *self_p;
    for (size_t i = 0; i < self->total; i++)
        sf_result_destroy (&self->items [i]);
    sf_result_destroy (&self->then);
    free (self->items);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Decode a GROUP_RESULT or GROUP_ITEM body.

int
sf_gather_decode (const char *data, size_t size, bool item, sf_group_head_t *head,
                  sf_result_t ***results, sf_error_t *error)
{
    *results = NULL;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_object header;
    const char *why = "empty body";
    int rc = sf_mp_next (&unpacked, data, size, &offset, &header, NULL, NULL, &why);
    if (rc != 0)
        sf_error_set (error, "PROTOCOL", "group header: %s", why);
    else
        rc = sf_codec_read_group_head (&header, head, item, error);
    msgpack_unpacked_destroy (&unpacked);
    if (rc != 0)
        return -1;

    sf_batchr_t reader;
    rc = sf_batchr_open (&reader, data, size, 2, SF_BATCH_MAX, error);
    sf_result_t **array = (sf_result_t **) sf_alloc_array (head->n, sizeof *array);
    uint32_t count = 0;
    msgpack_object value;
    const char *raw;
    size_t raw_size;
    while (rc == 0
       && (rc = sf_batchr_next (&reader, &value, NULL, &raw, &raw_size, error)) == 0) {
        sf_result_t *result = sf_result_decode (&value, raw, raw_size, error);
        if (!result) {
            rc = -1;
            break;
        }
        array [count++] = result;
        long index = sf_result_index (result);
        bool chord = !item && head->then && count == head->n;
        bool valid = index >= 0;
        if (valid && !item)
            valid = chord? (size_t) index == head->total: (size_t) index < head->total;
        if (!valid) {
            rc = sf_error_set (error, "PROTOCOL", "group item %u has no valid \"index\"",
                               count - 1);
            break;
        }
    }
    sf_batchr_close (&reader);
    if (rc < 0) {
        for (uint32_t i = 0; i < count; i++)
            sf_result_destroy (&array [i]);
        free (array);
        return -1;
    }
    *results = array;
    return 0;
}

int
sf_gather_put (sf_gather_t *self, sf_result_t *result, bool then)
{
    if (then) {
        sf_result_destroy (&self->then);
        self->then = result;
        return 0;
    }
    long index = sf_result_index (result);
    if (index < 0 || (size_t) index >= self->total) {
        sf_result_destroy (&result);
        return -1;
    }
    sf_result_destroy (&self->items [index]);
    self->items [index] = result;
    return 0;
}

void
sf_gather_finish (sf_gather_t *self, const sf_group_head_t *head)
{
    self->state = head->state;
    for (int status = 0; status < SF_STATUS_INVALID; status++)
        self->counts [status] = head->counts [status];
}

//  --------------------------------------------------------------------------
//  Accessors.

const char *
sf_gather_id (const sf_gather_t *self)
{
    return self? self->id: NULL;
}

const char *
sf_gather_state (const sf_gather_t *self)
{
    return self? sf_group_state_name (self->state): NULL;
}

size_t
sf_gather_size (const sf_gather_t *self)
{
    return self? self->total: 0;
}

size_t
sf_gather_count (const sf_gather_t *self, sf_status_t status)
{
    return self && status < SF_STATUS_INVALID? self->counts [status]: 0;
}

const sf_result_t *
sf_gather_item (const sf_gather_t *self, size_t index)
{
    return self && index < self->total? self->items [index]: NULL;
}

const sf_result_t *
sf_gather_then (const sf_gather_t *self)
{
    return self? self->then: NULL;
}

char *
sf_gather_json (const sf_gather_t *self)
{
    if (!self)
        return NULL;
    json_t *root = json_object ();
    json_object_set_new (root, "group", json_string (self->id));
    json_object_set_new (root, "state", json_string (sf_group_state_name (self->state)));
    json_object_set_new (root, "total", json_integer ((json_int_t) self->total));
    for (int status = 0; status < SF_STATUS_INVALID; status++)
        json_object_set_new (root, sf_status_name ((sf_status_t) status),
                             json_integer ((json_int_t) self->counts [status]));
    char *text = sf_json_dumps (root);
    json_decref (root);
    return text;
}
