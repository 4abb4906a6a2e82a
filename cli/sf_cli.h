/*  =========================================================================
    sf_cli - what the `sheaf` commands share: options, exit codes, output
    ========================================================================= */

#ifndef SF_CLI_H_INCLUDED
#define SF_CLI_H_INCLUDED

#include <stdbool.h>
#include "sheaf.h"

//  Exit codes of every command (listed in `sheaf --help`).
enum {
    SF_EXIT_OK = 0,             //  Done; the job(s) ended ok
    SF_EXIT_JOB_FAILED = 1,     //  The job ended with another status
    SF_EXIT_USAGE = 2,          //  Bad command line
    SF_EXIT_UNREACHABLE = 3,    //  No reply from the broker in time
    SF_EXIT_REJECTED = 4,       //  The broker refused the request
    SF_EXIT_NOT_FOUND = 5,      //  No such job
    SF_EXIT_NOT_FINISHED = 6,   //  The job has not finished (yet)
    SF_EXIT_GROUP_FAILED = 7    //  A group failed, timed out or was cancelled
};

//  Options every command takes.
typedef struct {
    const char *broker;         //  --broker or SHEAF_BROKER
    bool json;                  //  --json
    int timeout_ms;             //  --timeout
} sf_cli_t;

//  Commands: argc/argv start at the command's own arguments.
int sf_cli_submit (sf_cli_t *cli, int argc, char *argv []);
int sf_cli_result (sf_cli_t *cli, int argc, char *argv []);
int sf_cli_status (sf_cli_t *cli, int argc, char *argv []);
int sf_cli_workers (sf_cli_t *cli, int argc, char *argv []);
int sf_cli_gather (sf_cli_t *cli, int argc, char *argv []);
int sf_cli_schedule (sf_cli_t *cli, int argc, char *argv []);
int sf_cli_cancel (sf_cli_t *cli, int argc, char *argv []);
int sf_cli_dead (sf_cli_t *cli, int argc, char *argv []);

//  If argv [*i] is a global option (--json, --broker EP, --timeout MS),
//  take it (and its value, moving *i past it) and return true.
bool sf_cli_global_option (sf_cli_t *cli, int argc, char *argv [], int *i);

//  Take the global options a command may also carry after its name, and
//  up to max positional arguments into positional. Returns their number,
//  or -1 after reporting an unexpected argument.
int sf_cli_options (sf_cli_t *cli, const char *command, int argc, char *argv [],
                    char **positional, int max);

//  Connect to the broker; exits with SF_EXIT_USAGE on a malformed endpoint.
sf_client_t *sf_cli_connect (sf_cli_t *cli);

//  Print a finished result (JSON object with --json, else the value or the
//  error) and return the exit code its status calls for.
int sf_cli_print_result (sf_cli_t *cli, sf_result_t *result);

//  Print a group's answer: unless streamed, every item as a JSON line in
//  input order (held[i] when the answer does not carry item i; held may be
//  NULL); with a chord that ran, only its result; then the summary with
//  --json or when streamed. Returns the exit code: 0 group ok and every
//  item ok (with a chord: the chord ok), 1 group ok but an item (with a
//  chord: the chord) did not end ok, 7 group failed.
int sf_cli_print_gather (sf_cli_t *cli, sf_gather_t *gather, sf_result_t **held,
                         bool streamed);

//  Report a failed call and return the exit code its error code calls for.
int sf_cli_fail (const char *what, const sf_error_t *error);

//  Parse a non-negative integer option or exit with SF_EXIT_USAGE.
long long sf_cli_number (const char *name, const char *text, long long min, long long max);

#endif
