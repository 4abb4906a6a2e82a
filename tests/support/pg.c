/*  =========================================================================
    pg - a private PostgreSQL server for the tests that need one
    ========================================================================= */

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fleet.h"
#include "pg.h"

//  Directory of PostgreSQL's server programs (static buffer), or NULL.
static const char *
s_bindir (void)
{
    static char dir [256];
    glob_t found;
    if (glob ("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &found) || found.gl_pathc == 0) {
        globfree (&found);
        return NULL;
    }
    snprintf (dir, sizeof dir, "%s", found.gl_pathv [found.gl_pathc - 1]);
    *strrchr (dir, '/') = 0;
    globfree (&found);
    return dir;
}

//  Start the watchdog: a process of its own session (a timeout kills the
//  test's process group, not it) that waits for the end of a pipe only the
//  test process holds, then stops the server and removes its directory.
//  After pg_server_stop that finds nothing left to do.
static void
s_watchdog (pg_server_t *self)
{
    int ends [2];
    self->watchdog = -1;
    if (pipe2 (ends, O_CLOEXEC))
        return;
    pid_t pid = fork ();
    if (pid == 0) {
        close (ends [1]);
        setsid ();
        char byte;
        while (read (ends [0], &byte, 1) < 0 && errno == EINTR)
            ;
        pg_server_halt (self);
        char command [128];
        snprintf (command, sizeof command, "rm -rf %s", self->dir);
        _exit (system (command) == 0? 0: 1);
    }
    close (ends [0]);
    if (pid < 0)
        close (ends [1]);
    else {
        self->watchdog = ends [1];
        self->watchdog_pid = (int) pid;
    }
}

//  Run a PostgreSQL program as the user that may run it. Returns 0 or -1.
static int
s_run (const char *program, const char *arguments)
{
    const char *bindir = s_bindir ();
    char command [1024];
    snprintf (command, sizeof command, "%s%s/%s %s",
              getuid () == 0? "runuser -u postgres -- ": "", bindir, program, arguments);
    return system (command) == 0? 0: -1;
}

pg_server_t *
pg_server_start (void)
{
    if (!s_bindir ()) {
        fprintf (stderr, "pg: no PostgreSQL server programs in /usr/lib/postgresql\n");
        return NULL;
    }
    pg_server_t *self = (pg_server_t *) calloc (1, sizeof *self);
    self->watchdog = -1;
    snprintf (self->dir, sizeof self->dir, "/tmp/sheaf-pg-XXXXXX");
    if (!mkdtemp (self->dir)) {
        free (self);
        return NULL;
    }
    if (getuid () == 0) {
        struct passwd *postgres = getpwnam ("postgres");
        if (!postgres || chown (self->dir, postgres->pw_uid, postgres->pw_gid)) {
            fprintf (stderr, "pg: no postgres user to run the server as\n");
            pg_server_stop (&self);
            return NULL;
        }
    }
    s_watchdog (self);
    self->port = fleet_free_port ();
    snprintf (self->conninfo, sizeof self->conninfo,
              "host=%s port=%d user=sheaf dbname=postgres connect_timeout=5",
              self->dir, self->port);
    char arguments [512];
    snprintf (arguments, sizeof arguments,
              "-D %s/data -A trust -U sheaf -E UTF8 --no-sync >%s/initdb.log 2>&1",
              self->dir, self->dir);
    if (s_run ("initdb", arguments) || pg_server_resume (self)) {
        fprintf (stderr, "pg: the server did not start; see the logs below\n");
        char command [256];
        snprintf (command, sizeof command, "cat %s/*.log >&2", self->dir);
        if (system (command) != 0)
            fprintf (stderr, "pg: no logs\n");
        pg_server_stop (&self);
        return NULL;
    }
    return self;
}

int
pg_server_resume (pg_server_t *self)
{
    char arguments [512];
    snprintf (arguments, sizeof arguments,
              "-D %s/data -l %s/server.log -w -t 30 "
              "-o \"-p %d -k %s -c listen_addresses='' -c fsync=off\" start >/dev/null",
              self->dir, self->dir, self->port, self->dir);
    return s_run ("pg_ctl", arguments);
}

int
pg_server_halt (pg_server_t *self)
{
    char arguments [256];
    snprintf (arguments, sizeof arguments, "-D %s/data -m immediate -w stop >/dev/null 2>&1",
              self->dir);
    return s_run ("pg_ctl", arguments);
}

void
pg_server_stop (pg_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pg_server_t *self = *self_p;
    pg_server_halt (self);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", self->dir);
    if (system (command) != 0)
        fprintf (stderr, "pg: could not remove %s\n", self->dir);
    if (self->watchdog >= 0) {
        close (self->watchdog);
        waitpid ((pid_t) self->watchdog_pid, NULL, 0);
    }
    free (self);
    *self_p = NULL;
}
