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

//  The text every sheaf program prints for a JSON value: compact, keys in
//  insertion order, each real in the shortest form that reads back to the
//  same double (362.71, not 362.70999999999998; 5.0 stays a real). Any
//  value, not only objects and arrays. The caller frees it.
char *sf_json_dumps (const json_t *value);

//  Write that shortest form of a finite real into text.
void sf_json_format_real (double value, char text [32]);

#endif
