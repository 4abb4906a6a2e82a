/*  =========================================================================
    sf_mp - msgpack reading that never trusts a length

    msgpack-c allocates a container's declared element count before it reads
    a single element, so a 5-byte frame claiming 2^32 elements would ask for
    64 GiB. sf_mp_check walks a value first and proves that every declared
    length fits in the bytes that are really there (every element needs at
    least one byte) and that nesting stays shallow; only then is the value
    handed to msgpack-c. The same walk yields the byte span of each value,
    which lets the broker forward a job or a result without re-encoding it.

    A frame body is a sequence of msgpack values, read with sf_mp_next.
    ========================================================================= */

#ifndef SF_MP_H_INCLUDED
#define SF_MP_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Deepest nesting of arrays and maps accepted anywhere (msgpack-c's own
//  limit): a container inside 32 open ones is refused.
#define SF_MP_MAX_DEPTH 32

//  Check that data holds at least one complete, well-formed msgpack value at
//  its start whose declared lengths all fit. Returns the value's size in
//  bytes, or 0 with *why set to a static explanation.
size_t sf_mp_check (const char *data, size_t size, const char **why);

//  Decode the value that starts at data[*offset] into unpacked (which owns
//  its memory until its next use or msgpack_unpacked_destroy) after
//  checking it with sf_mp_check, and advance *offset past it. If raw is not
//  NULL, also return where the value's encoding is and its size. Returns 0,
//  1 when *offset is at the end of data, or -1 with *why set.
int sf_mp_next (msgpack_unpacked *unpacked, const char *data, size_t size,
                size_t *offset, msgpack_object *object,
                const char **raw, size_t *raw_size, const char **why);

//  A key to look for with sf_mp_fields; SF_MP_KEY ("name") builds one.
typedef struct {
    const char *name;           //  The key
    size_t size;                //  Its length
} sf_mp_key_t;

#define SF_MP_KEY(name) { name, sizeof name - 1 }

//  Read the values of count keys from a map in one pass: values[i] is the
//  value of keys[i], or NULL when absent. If unknown is not NULL, it is set
//  to the first key not in keys (NULL if none). Returns 0, or -1 when object
//  is not a map, a key is not a string, or a known key appears twice.
int sf_mp_fields (const msgpack_object *object, const sf_mp_key_t *keys, size_t count,
                  const msgpack_object **values, const msgpack_object **unknown);

//  Map lookup by string key; returns the value or NULL. O(keys).
const msgpack_object *sf_mp_get (const msgpack_object *map, const char *key);

//  True when object is a string equal to text.
bool sf_mp_streq (const msgpack_object *object, const char *text);

//  Copy a string object into a new NUL-terminated heap string; the caller
//  owns it. Returns NULL if object is not a string.
char *sf_mp_strdup (const msgpack_object *object);

//  Copy a string object into buf (NUL-terminated). Returns 0, or -1 if the
//  object is not a string, is empty, or does not fit.
int sf_mp_strcpy (const msgpack_object *object, char *buf, size_t bufsize);

//  Read a non-negative integer no larger than max. Returns 0 or -1.
int sf_mp_uint (const msgpack_object *object, uint64_t max, uint64_t *value);

//  msgpack_sbuffer_write under sheaf's out-of-memory policy (sf_alloc.h):
//  where msgpack-c would return an error that packers ignore, leaving a
//  silently cut buffer, this aborts with a message. data is the
//  msgpack_sbuffer. Every packer into an sbuffer uses it as its writer:
//  msgpack_packer_init (&pk, &buffer, sf_mp_write). Returns 0.
int sf_mp_write (void *data, const char *buf, size_t len);

//  Pack a NUL-terminated string.
void sf_mp_pack_str (msgpack_packer *pk, const char *text);

//  Pack key (a string) and then a string value / unsigned value.
void sf_mp_pack_kv_str (msgpack_packer *pk, const char *key, const char *value);
void sf_mp_pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value);
void sf_mp_pack_kv_double (msgpack_packer *pk, const char *key, double value);

#endif
