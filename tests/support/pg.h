/*  =========================================================================
    pg - a private PostgreSQL server for the tests that need one

    pg_server_start runs initdb in a temporary directory and starts the
    server on a free port, listening only on a Unix socket in that
    directory (as the postgres user when the tests run as root, since
    PostgreSQL refuses to run as root). pg_server_stop stops it and removes
    the directory. Should the test process end without doing so (a failed
    check leaves with _exit, a timeout kills it), a watchdog process does
    it. Nothing is shared with a PostgreSQL the machine may run.
    ========================================================================= */

#ifndef PG_H_INCLUDED
#define PG_H_INCLUDED

#include <stdbool.h>

typedef struct {
    char dir [64];              //  Data, socket and logs live here
    int port;                   //  Its port (on the socket only)
    char conninfo [256];        //  libpq conninfo for user sheaf
    int watchdog;               //  Pipe end whose closing frees the watchdog, or -1
    int watchdog_pid;           //  The watchdog process, or 0
} pg_server_t;

//  Start a server. Returns it, or NULL after printing why to stderr.
pg_server_t *pg_server_start (void);

//  Stop the server (it may be started again) or start it again on the same
//  directory and port. Return 0, or -1.
int pg_server_halt (pg_server_t *self);
int pg_server_resume (pg_server_t *self);

//  Stop the server and remove its directory.
void pg_server_stop (pg_server_t **self_p);

#endif
