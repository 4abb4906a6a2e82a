/*  =========================================================================
    sf_result - internal constructor of a result from a RESULT item. The
    public API is in sheaf.h.
    ========================================================================= */

#ifndef SF_RESULT_H_INCLUDED
#define SF_RESULT_H_INCLUDED

#include <msgpack.h>
#include "sheaf.h"

//  A new result from a RESULT item's header and payload (payload_raw and
//  payload_size are its encoding, copied). Returns NULL with error
//  (code PROTOCOL) when the header is malformed.
sf_result_t *sf_result_decode (const msgpack_object *head, const msgpack_object *payload,
                               const char *payload_raw, size_t payload_size,
                               sf_error_t *error);

#endif
