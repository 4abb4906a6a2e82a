/*  =========================================================================
    sf_uuid - UUIDv7 job ids (RFC 9562): time-ordered, 16 bytes on the wire,
    36-character text at the edges
    ========================================================================= */

#ifndef SF_UUID_H_INCLUDED
#define SF_UUID_H_INCLUDED

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define SF_UUID_SIZE 16
#define SF_UUID_STRLEN 36

//  Fill id with a new UUIDv7. Ids made by one process are strictly
//  increasing, also within one millisecond (RFC 9562 method 1: rand_a is a
//  counter). Thread-safe.
void sf_uuid_v7 (uint8_t id[SF_UUID_SIZE]);

//  Write the canonical lower-case text form and a NUL into out.
void sf_uuid_str (const uint8_t id[SF_UUID_SIZE], char out[SF_UUID_STRLEN + 1]);

//  Parse the canonical text form (either case). Returns 0, or -1 if text is
//  not exactly a UUID.
int sf_uuid_parse (const char *text, uint8_t id[SF_UUID_SIZE]);

//  Milliseconds since the epoch stored in a UUIDv7.
uint64_t sf_uuid_ms (const uint8_t id[SF_UUID_SIZE]);

//  A 64-bit hash of an id (its random bits), for hash tables.
size_t sf_uuid_hash (const uint8_t id[SF_UUID_SIZE]);

//  Make a new czmq zhashx table keyed by 16-byte ids instead of strings.
//  With copy_keys the table copies and frees its keys; without, keys are
//  borrowed from the items and must live as long as their entry. The
//  caller owns the table.
typedef struct _zhashx_t zhashx_t;
zhashx_t *sf_uuid_table (bool copy_keys);

#endif
