/*  =========================================================================
    sf_result - internal constructor of a result from a RESULT item. The
    public API is in sheaf.h.
    ========================================================================= */

#ifndef SF_RESULT_H_INCLUDED
#define SF_RESULT_H_INCLUDED

#include <msgpack.h>
#include "sheaf.h"

//  A new result from a RESULT item's header and its payload's encoding
//  (payload_size bytes, already checked with sf_mp_check; copied). Returns
//  NULL with error (code PROTOCOL) when the header is malformed.
sf_result_t *sf_result_decode (const msgpack_object *head, const char *payload,
                               size_t payload_size, sf_error_t *error);

//  The job's id, 16 bytes (borrowed from self).
const uint8_t *sf_result_id_bytes (const sf_result_t *self);

//  The follow-up's id, 16 bytes (borrowed), or NULL when there is none.
const uint8_t *sf_result_then_bytes (const sf_result_t *self);

#endif
