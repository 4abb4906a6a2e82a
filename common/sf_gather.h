/*  =========================================================================
    sf_gather - internal view of a group's answer as a client builds it
    from GROUP_ITEM and GROUP_RESULT messages. The public API is in sheaf.h.
    ========================================================================= */

#ifndef SF_GATHER_H_INCLUDED
#define SF_GATHER_H_INCLUDED

#include "sf_codec.h"

//  An empty answer for group id with total items.
sf_gather_t *sf_gather_new (const uint8_t id [SF_UUID_SIZE], size_t total);

//  Decode a GROUP_RESULT (item false) or GROUP_ITEM body: its header into
//  *head and its items into a new array *results of head->n results (the
//  caller owns array and results). Every item must carry an index; in a
//  GROUP_RESULT below the total, or equal to it for the chord. Returns 0,
//  or -1 with error (code PROTOCOL) and nothing to free.
int sf_gather_decode (const char *data, size_t size, bool item, sf_group_head_t *head,
                      sf_result_t ***results, sf_error_t *error);

//  Put a result in its place (by its index; the chord's at index total);
//  takes it. An index out of range is dropped. Returns 0 or -1 (dropped).
int sf_gather_put (sf_gather_t *self, sf_result_t *result, bool then);

//  Take the final state and counts of a GROUP_RESULT header.
void sf_gather_finish (sf_gather_t *self, const sf_group_head_t *head);

#endif
