/*  =========================================================================
    sf_json - the bridge between JSON at the edges and msgpack on the wire

    JSON is handled by Jansson. Mapping: object <-> map (string keys),
    array <-> array, integer <-> int, real <-> float64, string <-> str (a
    str that is not UTF-8 becomes a base64 string),
    true/false/null <-> bool/nil. A msgpack bin becomes a base64 string; a
    map key that is another scalar is written as its JSON text, one that is a
    container, bin or ext is dropped with its value; ext values become null.
    ========================================================================= */

#ifndef SF_JSON_H_INCLUDED
#define SF_JSON_H_INCLUDED

#include <jansson.h>
#include <msgpack.h>

//  Pack a JSON value.
void sf_json_pack (msgpack_packer *pk, const json_t *value);

//  A new JSON value for a msgpack object; the caller owns it (json_decref).
json_t *sf_json_from_mp (const msgpack_object *object);

//  JSON text for a msgpack object (compact, keys in wire order); the caller
//  frees it.
char *sf_json_text (const msgpack_object *object);

//  Flags every sheaf JSON dump uses: compact, and reals printed with 17
//  significant digits so that each reads back to the same double.
#define SF_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION (17))

#endif
