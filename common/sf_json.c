/*  =========================================================================
    sf_json - the bridge between JSON at the edges and msgpack on the wire
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
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
            char *text = sf_json_dumps (value);
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
    char *text = sf_json_dumps (value);
    json_decref (value);
    return text;
}

//  Compact JSON text with reals in their shortest round-trip form.
//
//  Jansson prints a real with one fixed precision: 17 digits read back
//  exactly but show 362.71 as 362.70999999999998, and fewer digits lose
//  values. So values are written here, each real with the fewest of 15, 16
//  and 17 significant digits that reads back to the same double (any
//  decimal of at most 15 digits survives the trip through a double, so 15
//  is exact for them). Everything else is written as Jansson writes it with
//  JSON_COMPACT: keys in insertion order, UTF-8 as it is, and only '"',
//  '\\' and control characters escaped.

//  Text being built.
typedef struct {
    char *data;                 //  The text, NUL-terminated
    size_t size;                //  Its length
    size_t max;                 //  Room in data
} s_text_t;

static void
s_append (s_text_t *text, const char *data, size_t size)
{
    if (text->size + size + 1 > text->max) {
        text->max = (text->size + size + 1) * 2;
        text->data = (char *) sf_alloc_resize (text->data, text->max, 1);
    }
    memcpy (text->data + text->size, data, size);
    text->size += size;
    text->data [text->size] = 0;
}

static void
s_append_string (s_text_t *text, const char *data, size_t size)
{
    s_append (text, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char byte = (unsigned char) data [i];
        if (byte >= 0x20 && byte != '"' && byte != '\\')
            continue;
        s_append (text, data + start, i - start);
        char escape [8];
        switch (byte) {
            case '"':  strcpy (escape, "\\\""); break;
            case '\\': strcpy (escape, "\\\\"); break;
            case '\b': strcpy (escape, "\\b"); break;
            case '\f': strcpy (escape, "\\f"); break;
            case '\n': strcpy (escape, "\\n"); break;
            case '\r': strcpy (escape, "\\r"); break;
            case '\t': strcpy (escape, "\\t"); break;
            default:   snprintf (escape, sizeof escape, "\\u%04x", byte);
        }
        s_append (text, escape, strlen (escape));
        start = i + 1;
    }
    s_append (text, data + start, size - start);
    s_append (text, "\"", 1);
}

//  --------------------------------------------------------------------------
//  The shortest text of a finite real that reads back to it.

void
sf_json_format_real (double value, char text [32])
{
    for (int precision = 15; precision <= 17; precision++) {
        snprintf (text, 32, "%.*g", precision, value);
        if (strtod (text, NULL) == value)
            break;
    }
    //  The exponent as Jansson writes it: no '+', no leading zeros
    char *exponent = strchr (text, 'e');
    if (exponent) {
        char *digits = exponent + 1 + (exponent [1] == '-');
        char *from = digits;
        while (*from == '+' || (*from == '0' && from [1]))
            from++;
        memmove (digits, from, strlen (from) + 1);
    }
    //  A real stays a real when read back: 5.0, not 5
    else
    if (!strpbrk (text, ".in"))
        strcat (text, ".0");
}

static void
s_append_value (s_text_t *text, const json_t *value)
{
    char number [32];
    switch (json_typeof (value)) {
        case JSON_OBJECT: {
            s_append (text, "{", 1);
            bool first = true;
            for (void *iter = json_object_iter ((json_t *) value); iter;
                 iter = json_object_iter_next ((json_t *) value, iter)) {
                if (!first)
                    s_append (text, ",", 1);
                first = false;
                s_append_string (text, json_object_iter_key (iter),
                                 json_object_iter_key_len (iter));
                s_append (text, ":", 1);
                s_append_value (text, json_object_iter_value (iter));
            }
            s_append (text, "}", 1);
            break;
        }
        case JSON_ARRAY:
            s_append (text, "[", 1);
            for (size_t i = 0; i < json_array_size (value); i++) {
                if (i)
                    s_append (text, ",", 1);
                s_append_value (text, json_array_get (value, i));
            }
            s_append (text, "]", 1);
            break;
        case JSON_STRING:
            s_append_string (text, json_string_value (value), json_string_length (value));
            break;
        case JSON_INTEGER:
            snprintf (number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value (value));
            s_append (text, number, strlen (number));
            break;
        case JSON_REAL:
            sf_json_format_real (json_real_value (value), number);
            s_append (text, number, strlen (number));
            break;
        case JSON_TRUE:
            s_append (text, "true", 4);
            break;
        case JSON_FALSE:
            s_append (text, "false", 5);
            break;
        default:
            s_append (text, "null", 4);
    }
}

//  --------------------------------------------------------------------------
//  Compact JSON text of a value.

char *
sf_json_dumps (const json_t *value)
{
    s_text_t text = { NULL, 0, 0 };
    s_append_value (&text, value);
    return text.data;
}
