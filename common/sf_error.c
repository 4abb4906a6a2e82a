/*  =========================================================================
    sf_error - errors a user sees: a stable code and a message
    ========================================================================= */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "sheaf.h"

//  --------------------------------------------------------------------------
//  Fill error with code and message; always returns -1.

int
sf_error_set (sf_error_t *error, const char *code, const char *format, ...)
{
    if (!error)
        return -1;
    snprintf (error->code, sizeof error->code, "%s", code);
    va_list args;
    va_start (args, format);
    vsnprintf (error->message, sizeof error->message, format, args);
    va_end (args);
    return -1;
}
