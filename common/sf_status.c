/*  =========================================================================
    sf_status - the final statuses of a job and their wire names
    ========================================================================= */

#include <string.h>
#include "sheaf.h"

//  Indexed by sf_status_t. Checklist when adding one: sheaf.h, this table,
//  docs/PROTOCOL.md "Statuses".
static const char *s_names [] = { "ok", "error", "timeout", "cancelled", "dead" };

const char *
sf_status_name (sf_status_t status)
{
    if (status < SF_STATUS_INVALID)
        return s_names [status];
    return "invalid";
}

sf_status_t
sf_status_parse (const char *name, size_t size)
{
    for (int i = 0; i < SF_STATUS_INVALID; i++)
        if (strlen (s_names [i]) == size && memcmp (s_names [i], name, size) == 0)
            return (sf_status_t) i;
    return SF_STATUS_INVALID;
}
