/*  =========================================================================
    sf_mp - msgpack reading that never trusts a length

    The checker is written here because msgpack-c offers no way to bound a
    value before it allocates for it (see the header). It understands every
    msgpack format byte and nothing else; an unused format (0xc1) is an
    error.
    ========================================================================= */

#include <string.h>
#include "sf_alloc.h"
#include "sf_mp.h"

//  Read a big-endian unsigned integer of width bytes from p.
static uint64_t
s_be (const unsigned char *p, int width)
{
    uint64_t value = 0;
    for (int i = 0; i < width; i++)
        value = value << 8 | p [i];
    return value;
}

//  Walk one value at data[*pos]; on success advance *pos past it.
static int
s_walk (const unsigned char *data, size_t size, size_t *pos, int depth, const char **why)
{
    if (*pos >= size) {
        *why = "truncated value";
        return -1;
    }
    unsigned char b = data [(*pos)++];
    //  Only containers nest: msgpack-c refuses a container (even an empty
    //  one) inside 32 open ones
    bool container = (b & 0xe0) == 0x80 || (b >= 0xdc && b <= 0xdf);
    if (container && depth >= SF_MP_MAX_DEPTH) {
        *why = "nesting deeper than 32 levels";
        return -1;
    }
    uint64_t payload = 0;     //  bytes of raw payload to skip
    uint64_t children = 0;    //  child values to walk
    int lenwidth = 0;         //  width of a length field that follows

    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;                       //  fixint, nil, bool
    else
    if ((b & 0xf0) == 0x80)
        children = 2 * (uint64_t) (b & 0x0f);         //  fixmap
    else
    if ((b & 0xf0) == 0x90)
        children = b & 0x0f;                          //  fixarray
    else
    if ((b & 0xe0) == 0xa0)
        payload = b & 0x1f;                           //  fixstr
    else
    switch (b) {
        case 0xc4: case 0xd9: lenwidth = 1; break;    //  bin8, str8
        case 0xc5: case 0xda: lenwidth = 2; break;    //  bin16, str16
        case 0xc6: case 0xdb: lenwidth = 4; break;    //  bin32, str32
        case 0xc7: lenwidth = 1; payload = 1; break;  //  ext8 (+ type byte)
        case 0xc8: lenwidth = 2; payload = 1; break;  //  ext16
        case 0xc9: lenwidth = 4; payload = 1; break;  //  ext32
        case 0xcc: case 0xd0: payload = 1; break;
        case 0xcd: case 0xd1: payload = 2; break;
        case 0xca: case 0xce: case 0xd2: payload = 4; break;
        case 0xcb: case 0xcf: case 0xd3: payload = 8; break;
        case 0xd4: payload = 2; break;                //  fixext 1..16
        case 0xd5: payload = 3; break;
        case 0xd6: payload = 5; break;
        case 0xd7: payload = 9; break;
        case 0xd8: payload = 17; break;
        case 0xdc: case 0xde: lenwidth = 2; break;    //  array16, map16
        case 0xdd: case 0xdf: lenwidth = 4; break;    //  array32, map32
        default:
            *why = "invalid msgpack format byte";
            return -1;
    }
    if (lenwidth) {
        if (size - *pos < (size_t) lenwidth) {
            *why = "truncated length";
            return -1;
        }
        uint64_t length = s_be (data + *pos, lenwidth);
        *pos += (size_t) lenwidth;
        if (b == 0xdc || b == 0xdd)
            children = length;
        else
        if (b == 0xde || b == 0xdf)
            children = 2 * length;
        else
            payload += length;
    }
    //  Every child needs at least one byte: a count beyond the bytes left
    //  is a lie, rejected before anything is allocated for it.
    if (payload > size - *pos || children > size - *pos) {
        *why = "declared length exceeds the data";
        return -1;
    }
    *pos += (size_t) payload;
    for (uint64_t i = 0; i < children; i++)
        if (s_walk (data, size, pos, depth + 1, why))
            return -1;
    return 0;
}

//  --------------------------------------------------------------------------
//  Size of the well-formed value at the start of data, or 0 with *why.

size_t
sf_mp_check (const char *data, size_t size, const char **why)
{
    size_t pos = 0;
    if (s_walk ((const unsigned char *) data, size, &pos, 0, why))
        return 0;
    return pos;
}

//  --------------------------------------------------------------------------
//  Decode the next value of a sequence: 0, 1 at end, -1 with *why.

int
sf_mp_next (msgpack_unpacked *unpacked, const char *data, size_t size,
            size_t *offset, msgpack_object *object,
            const char **raw, size_t *raw_size, const char **why)
{
    if (*offset >= size)
        return 1;
    const char *start = data + *offset;
    size_t length = sf_mp_check (start, size - *offset, why);
    if (length == 0)
        return -1;
    //  The unpacked's zone is kept and cleared between values instead of
    //  the fresh zone msgpack_unpack_next would allocate for every value
    if (!unpacked->zone) {
        unpacked->zone = sf_alloc_check (msgpack_zone_new (2048));
    }
    else
        msgpack_zone_clear (unpacked->zone);
    size_t used = 0;
    if (msgpack_unpack (start, length, &used, unpacked->zone, &unpacked->data)
        != MSGPACK_UNPACK_SUCCESS
    ||  used != length) {
        *why = "msgpack value could not be decoded";
        return -1;
    }
    *object = unpacked->data;
    if (raw) {
        *raw = start;
        *raw_size = length;
    }
    *offset += length;
    return 0;
}

//  --------------------------------------------------------------------------
//  Values of known keys, in one pass over the map.

int
sf_mp_fields (const msgpack_object *object, const sf_mp_key_t *keys, size_t count,
              const msgpack_object **values, const msgpack_object **unknown)
{
    for (size_t k = 0; k < count; k++)
        values [k] = NULL;
    if (unknown)
        *unknown = NULL;
    if (!object || object->type != MSGPACK_OBJECT_MAP)
        return -1;
    for (uint32_t i = 0; i < object->via.map.size; i++) {
        const msgpack_object *key = &object->via.map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return -1;
        size_t k = 0;
        while (k < count && (keys [k].size != key->via.str.size
                         ||  (key->via.str.size
                          &&  memcmp (keys [k].name, key->via.str.ptr, key->via.str.size) != 0)))
            k++;
        if (k == count) {
            if (unknown && !*unknown)
                *unknown = key;
            continue;
        }
        if (values [k])
            return -1;
        values [k] = &object->via.map.ptr [i].val;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Map lookup by string key.

const msgpack_object *
sf_mp_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr [i];
        if (sf_mp_streq (&kv->key, key))
            return &kv->val;
    }
    return NULL;
}

//  An empty string's pointer may be NULL in msgpack-c's objects: every
//  use of one with a library call guards against that.

bool
sf_mp_streq (const msgpack_object *object, const char *text)
{
    if (!object || object->type != MSGPACK_OBJECT_STR)
        return false;
    size_t length = strlen (text);
    return object->via.str.size == length
        && (length == 0 || memcmp (object->via.str.ptr, text, length) == 0);
}

//  --------------------------------------------------------------------------
//  msgpack_sbuffer_write that aborts where it would fail (sf_alloc.h).

int
sf_mp_write (void *data, const char *buf, size_t len)
{
    if (msgpack_sbuffer_write (data, buf, len))
        sf_alloc_failed ();     //  msgpack-c's only failure: realloc
    return 0;
}

char *
sf_mp_strdup (const msgpack_object *object)
{
    if (!object || object->type != MSGPACK_OBJECT_STR)
        return NULL;
    return sf_alloc_strndup (object->via.str.ptr, object->via.str.size);
}

int
sf_mp_strcpy (const msgpack_object *object, char *buf, size_t bufsize)
{
    if (!object || object->type != MSGPACK_OBJECT_STR
    ||  object->via.str.size == 0 || object->via.str.size >= bufsize)
        return -1;
    memcpy (buf, object->via.str.ptr, object->via.str.size);
    buf [object->via.str.size] = 0;
    return 0;
}

int
sf_mp_uint (const msgpack_object *object, uint64_t max, uint64_t *value)
{
    if (!object || object->type != MSGPACK_OBJECT_POSITIVE_INTEGER
    ||  object->via.u64 > max)
        return -1;
    *value = object->via.u64;
    return 0;
}

void
sf_mp_pack_str (msgpack_packer *pk, const char *text)
{
    size_t length = strlen (text);
    if (length < 32) {
        //  A fixstr in one write: header and keys are mostly these
        char fixstr [32];
        fixstr [0] = (char) (0xa0 | length);
        memcpy (fixstr + 1, text, length);
        pk->callback (pk->data, fixstr, length + 1);
        return;
    }
    msgpack_pack_str (pk, length);
    msgpack_pack_str_body (pk, text, length);
}

void
sf_mp_pack_kv_str (msgpack_packer *pk, const char *key, const char *value)
{
    sf_mp_pack_str (pk, key);
    sf_mp_pack_str (pk, value);
}

void
sf_mp_pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    sf_mp_pack_str (pk, key);
    msgpack_pack_uint64 (pk, value);
}

void
sf_mp_pack_kv_double (msgpack_packer *pk, const char *key, double value)
{
    sf_mp_pack_str (pk, key);
    msgpack_pack_double (pk, value);
}
