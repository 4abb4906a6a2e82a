/*  =========================================================================
    sf_log - the one logger of sheaf, over czmq's zsys_* log functions
    ========================================================================= */

#include <czmq.h>
#include <stdarg.h>
#include "sf_log.h"

//  Set once at start-up, before any thread exists; read-only afterwards.
static bool s_verbose = false;

//  --------------------------------------------------------------------------
//  Set the log identity and verbosity.

void
sf_log_init (const char *ident, bool verbose)
{
    zsys_set_logident (ident);
    zsys_set_logstream (stderr);
    zsys_set_logsystem (false);
    s_verbose = verbose;
}

//  --------------------------------------------------------------------------
//  True when debug logging is on.

bool
sf_log_verbose (void)
{
    return s_verbose;
}

//  Each level formats once into a bounded line and hands it to zsys, which
//  adds the timestamp and identity. Over-long lines are cut, never overrun.
#define S_LOG_BODY(fn)                                                         \
    char line[1024];                                                           \
    va_list args;                                                              \
    va_start (args, format);                                                   \
    vsnprintf (line, sizeof line, format, args);                               \
    va_end (args);                                                             \
    fn ("%s", line);

void
sf_log_error (const char *format, ...)
{
    S_LOG_BODY (zsys_error)
}

void
sf_log_warning (const char *format, ...)
{
    S_LOG_BODY (zsys_warning)
}

void
sf_log_info (const char *format, ...)
{
    S_LOG_BODY (zsys_info)
}

void
sf_log_debug (const char *format, ...)
{
    if (!s_verbose)
        return;
    S_LOG_BODY (zsys_debug)
}
