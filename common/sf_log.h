/*  =========================================================================
    sf_log - the one logger of sheaf, over czmq's zsys_* log functions

    Lines read `component: what happened (job=… worker=…)`. Debug lines are
    emitted only when verbose is on. Daemons log to stderr; the library never
    prints anything but through here.
    ========================================================================= */

#ifndef SF_LOG_H_INCLUDED
#define SF_LOG_H_INCLUDED

#include <stdbool.h>

#define SF_PRINTF(a, b) __attribute__ ((format (printf, a, b)))

//  Set the process's log identity (binary name) and verbosity; call once
//  from main before any other sheaf call.
void sf_log_init (const char *ident, bool verbose);

//  True when debug lines are on; lets a caller skip building debug text.
bool sf_log_verbose (void);

void sf_log_error (const char *format, ...) SF_PRINTF (1, 2);
void sf_log_warning (const char *format, ...) SF_PRINTF (1, 2);
void sf_log_info (const char *format, ...) SF_PRINTF (1, 2);
void sf_log_debug (const char *format, ...) SF_PRINTF (1, 2);

#endif
