/*  =========================================================================
    sf_json - the bridge between JSON at the edges and msgpack on the wire
    ========================================================================= */

#include <string.h>
#include "sf_alloc.h"
#include "sf_json.h"

//  --------------------------------------------------------------------------
//  Pack a JSON value as msgpack.

void
sf_json_pack (msgpack_packer *pk, const json_t *value)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT: {
            msgpack_pack_map (pk, json_object_size (value));
            const char *key;
            json_t *item;
            json_object_foreach ((json_t *) value, key, item) {
                size_t size = strlen (key);
                msgpack_pack_str (pk, size);
                msgpack_pack_str_body (pk, key, size);
                sf_json_pack (pk, item);
            }
            break;
        }
        case JSON_ARRAY: {
            msgpack_pack_array (pk, json_array_size (value));
            size_t index;
            json_t *item;
            json_array_foreach (value, index, item)
                sf_json_pack (pk, item);
            break;
        }
        case JSON_STRING:
            msgpack_pack_str (pk, json_string_length (value));
            msgpack_pack_str_body (pk, json_string_value (value), json_string_length (value));
            break;
        case JSON_INTEGER:
            msgpack_pack_int64 (pk, json_integer_value (value));
            break;
        case JSON_REAL:
            msgpack_pack_double (pk, json_real_value (value));
            break;
        case JSON_TRUE:
            msgpack_pack_true (pk);
            break;
        case JSON_FALSE:
            msgpack_pack_false (pk);
            break;
        default:
            msgpack_pack_nil (pk);
    }
}

//  Standard base64 of size bytes; the caller frees it.
static char *
s_base64 (const unsigned char *data, size_t size)
{
    static const char alphabet [] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = (char *) sf_alloc ((size + 2) / 3 * 4 + 1);
    char *p = out;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t) data [i] << 16;
        if (i + 1 < size)
            v |= (uint32_t) data [i + 1] << 8;
        if (i + 2 < size)
            v |= data [i + 2];
        *p++ = alphabet [v >> 18 & 63];
        *p++ = alphabet [v >> 12 & 63];
        *p++ = i + 1 < size? alphabet [v >> 6 & 63]: '=';
        *p++ = i + 2 < size? alphabet [v & 63]: '=';
    }
    *p = 0;
    return out;
}

//  The text of a map key: a string as it is, another scalar as its JSON
//  text; NULL for a container, bin or ext key (turning those into text
//  would let nested keys grow the output exponentially). Caller frees.
static char *
s_key_text (const msgpack_object *key)
{
    switch (key->type) {
        case MSGPACK_OBJECT_STR:
            return sf_alloc_strndup (key->via.str.ptr, key->via.str.size);
        case MSGPACK_OBJECT_NIL:
        case MSGPACK_OBJECT_BOOLEAN:
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: {
            json_t *value = sf_json_from_mp (key);
            char *text = json_dumps (value, JSON_ENCODE_ANY | JSON_COMPACT);
            json_decref (value);
            return text;
        }
        default:
            return NULL;
    }
}

//  --------------------------------------------------------------------------
//  Convert a msgpack object to JSON.

json_t *
sf_json_from_mp (const msgpack_object *object)
{
    switch (object->type) {
        case MSGPACK_OBJECT_NIL:
            return json_null ();
        case MSGPACK_OBJECT_BOOLEAN:
            return json_boolean (object->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (object->via.u64 > INT64_MAX)
                return json_real ((double) object->via.u64);
            return json_integer ((json_int_t) object->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer (object->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            //  JSON has no NaN or infinity: they become null
            if (object->via.f64 != object->via.f64
            ||  object->via.f64 > 1.7976931348623157e308 || object->via.f64 < -1.7976931348623157e308)
                return json_null ();
            return json_real (object->via.f64);
        case MSGPACK_OBJECT_STR: {
            //  Strings that are not UTF-8 cannot be JSON strings; they
            //  travel as base64 like bin does
            if (object->via.str.size == 0)
                return json_string ("");
            json_t *value = json_stringn (object->via.str.ptr, object->via.str.size);
            if (value)
                return value;
            __attribute__ ((fallthrough));
        }
        case MSGPACK_OBJECT_BIN: {
            char *text = s_base64 ((const unsigned char *) object->via.bin.ptr,
                                   object->via.bin.size);
            json_t *value = json_string (text);
            free (text);
            return value;
        }
        case MSGPACK_OBJECT_ARRAY: {
            json_t *array = json_array ();
            for (uint32_t i = 0; i < object->via.array.size; i++)
                json_array_append_new (array, sf_json_from_mp (&object->via.array.ptr [i]));
            return array;
        }
        case MSGPACK_OBJECT_MAP: {
            json_t *map = json_object ();
            for (uint32_t i = 0; i < object->via.map.size; i++) {
                const msgpack_object_kv *kv = &object->via.map.ptr [i];
                char *key = s_key_text (&kv->key);
                if (key)                //  Containers as keys are dropped
                    json_object_set_new (map, key, sf_json_from_mp (&kv->val));
                free (key);
            }
            return map;
        }
        default:
            return json_null ();
    }
}

//  --------------------------------------------------------------------------
//  JSON text of a msgpack object.

char *
sf_json_text (const msgpack_object *object)
{
    json_t *value = sf_json_from_mp (object);
    char *text = json_dumps (value, SF_JSON_FLAGS | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    json_decref (value);
    return text;
}
