/*  =========================================================================
    sf_cli - what the `sheaf` commands share: the command table, option
    parsing, help, exit codes, output and errors

    Every command is a sf_cli_command_t in its own file: its name, options,
    help text and what --json prints, and the function that runs it. The
    help of a command (`sheaf COMMAND --help`, `sheaf help COMMAND`) is
    made from that table, so it lists every option the parser takes.
    Global options (--broker, --json, --timeout, --help) are taken before
    and after the command's name, between its own arguments too.
    ========================================================================= */

#ifndef SF_CLI_H_INCLUDED
#define SF_CLI_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "sheaf.h"

//  Exit codes of every command (listed in `sheaf --help`, the README and
//  docs/OPERATIONS.md; the three change together).
enum {
    SF_EXIT_OK = 0,             //  Done; the job(s) ended ok
    SF_EXIT_JOB_FAILED = 1,     //  A job, an item of a group that succeeded, or a
                                //  chord ended with a status other than ok
    SF_EXIT_USAGE = 2,          //  Bad command line, job file or id
    SF_EXIT_UNREACHABLE = 3,    //  No reply from the broker in time
    SF_EXIT_REJECTED = 4,       //  The broker refused the request
    SF_EXIT_NOT_FOUND = 5,      //  No such job or group
    SF_EXIT_NOT_FINISHED = 6,   //  The job or group has not finished (yet)
    SF_EXIT_GROUP_FAILED = 7    //  A group failed, timed out or was cancelled
};

//  What every command shares: the global options.
typedef struct {
    const char *broker;         //  --broker or SHEAF_BROKER (NULL: the default)
    bool json;                  //  --json: machine-readable output and errors
    int timeout_ms;             //  --timeout: how long the command waits, -1 if not given
    int64_t started;            //  zclock_mono when the command started
} sf_cli_t;

//  One option of a command.
typedef struct {
    const char *name;           //  "--symbol"
    const char *alias;          //  Another spelling ("-n"), or NULL
    const char *value;          //  Its value's name in help ("S"), NULL for a flag
    const char *help;           //  What it does, for the help text
} sf_cli_option_t;

typedef struct _sf_cli_command_t sf_cli_command_t;

//  Runs a command on its arguments (those after its name).
typedef int (sf_cli_run_fn) (sf_cli_t *cli, const sf_cli_command_t *command, int argc,
                             char *argv []);

//  A command of `sheaf`.
struct _sf_cli_command_t {
    const char *name;           //  "submit", or "schedule next" for a sub-command
    const char *synopsis;       //  Its arguments after the name, for usage lines
    const char *summary;        //  One line for the command list
    const char *description;    //  Its help: what it does and prints
    const char *json;           //  What it prints with --json
    const sf_cli_option_t *options;     //  Its own options, ended by { NULL }
    sf_cli_run_fn *run;         //  Runs it
};

//  The commands (each defined in the command's file).
extern const sf_cli_command_t sf_cli_submit, sf_cli_result, sf_cli_gather, sf_cli_status,
    sf_cli_workers, sf_cli_cancel, sf_cli_dead, sf_cli_schedule_next, sf_cli_schedule_list;

//  Every command, in the order the general help lists them, ended by NULL
//  (a command is added here and in its file).
extern const sf_cli_command_t *const sf_cli_commands [];

//  One option as it came on the command line.
typedef struct {
    const char *name;           //  Its name in the command's table ("--param")
    const char *value;          //  Its value, or NULL for a flag
} sf_cli_arg_t;

//  A command's arguments once parsed.
typedef struct {
    sf_cli_arg_t *options;      //  The command's own options, in order
    size_t option_count;        //  How many
    const char **words;         //  Positional arguments, in order
    size_t word_count;          //  How many
} sf_cli_args_t;

//  --------------------------------------------------------------------------
//  Parse a command's arguments into args: global options go to cli, the
//  command's own options and positional words to args ("--name=value" is
//  taken too; "-" is a word). Returns -1 to go on (free args with
//  sf_cli_args_free), or the exit code when the command is done: 0 after
//  --help printed its help, SF_EXIT_USAGE after an unknown option or a
//  missing value was reported (args is then empty).
int sf_cli_parse (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [],
                  sf_cli_args_t *args);

void sf_cli_args_free (sf_cli_args_t *args);

//  If argv [*i] is a global option (--json, --broker EP, --timeout MS),
//  take it (and its value, moving *i past it) and return true. A bad
//  --timeout value is reported and sets *rc to SF_EXIT_USAGE.
bool sf_cli_global_option (sf_cli_t *cli, int argc, char *argv [], int *i, int *rc);

//  Print the help of a command, or with NULL the general help, to out.
void sf_cli_help (FILE *out, const sf_cli_command_t *command);

//  --------------------------------------------------------------------------
//  Report an error and return rc: to stderr as "sheaf: MESSAGE", or with
//  --json as {"error": {"code": CODE, "message": MESSAGE}} on stdout (with
//  "id": id as well when id is not NULL).
int sf_cli_error (sf_cli_t *cli, int rc, const char *code, const char *id,
                  const char *format, ...) __attribute__ ((format (printf, 5, 6)));

//  Report a usage error of command (code USAGE); returns SF_EXIT_USAGE.
int sf_cli_usage (sf_cli_t *cli, const sf_cli_command_t *command, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Report a failed call (what failed: "submit") and return the exit code
//  its error code calls for: UNREACHABLE 3, NOT_FOUND 5, TIMEOUT and
//  NOT_FINISHED 6, anything else (the broker's refusal) 4.
int sf_cli_fail (sf_cli_t *cli, const char *what, const sf_error_t *error);

//  Parse text as an integer in [min, max] for option into *number.
//  Returns 0, or SF_EXIT_USAGE after reporting what was wrong.
int sf_cli_integer (sf_cli_t *cli, const sf_cli_command_t *command, const char *option,
                    const char *text, long long min, long long max, long long *number);

//  Check a job or group id given on the command line. Returns 0, or
//  SF_EXIT_USAGE after reporting it is not one.
int sf_cli_check_id (sf_cli_t *cli, const sf_cli_command_t *command, const char *id);

//  --------------------------------------------------------------------------
//  Connect to the broker with the reply time --timeout gives (default
//  5000 ms). Returns the client, or NULL after reporting a malformed
//  endpoint (*rc set to SF_EXIT_USAGE).
sf_client_t *sf_cli_connect (sf_cli_t *cli, int *rc);

//  How long a command that waits for a result may still wait: what is left
//  of --timeout since the command started, or wait_ms (-1: no limit)
//  when --timeout was not given.
int sf_cli_left (const sf_cli_t *cli, int wait_ms);

//  --------------------------------------------------------------------------
//  Print value as one line of JSON (reals in their shortest form) and
//  release it (takes the reference).
void sf_cli_print_json (json_t *value);

//  Print a finished result (JSON object with --json, else the value or the
//  error) and return the exit code its status calls for.
int sf_cli_print_result (sf_cli_t *cli, const sf_result_t *result);

//  Print a group's answer: unless streamed, every item as a JSON line in
//  input order (held[i] when the answer does not carry item i; held may be
//  NULL); with a chord that ran, only its result; then the summary with
//  --json or when streamed. Returns the exit code: 0 group ok and every
//  item ok (with a chord: the chord ok), 1 group ok but an item (with a
//  chord: the chord) did not end ok, 7 group failed, timed out or was
//  cancelled.
int sf_cli_print_gather (sf_cli_t *cli, const sf_gather_t *gather, sf_result_t **held,
                         bool streamed);

#endif
