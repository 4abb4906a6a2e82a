/*  =========================================================================
    sf_cli - what the `sheaf` commands share: option parsing, help, errors,
    exit codes and output (see sf_cli.h)
    ========================================================================= */

#include <czmq.h>
#include <jansson.h>
#include "sf_alloc.h"
#include "sf_cli.h"
#include "sf_json.h"
#include "sf_uuid.h"

//  The global options, for help.
static const sf_cli_option_t s_globals [] = {
    { "--broker", NULL, "EP", "the broker's frontend (SHEAF_BROKER, default "
      SF_DEFAULT_FRONTEND ")" },
    { "--json", NULL, NULL, "machine-readable output: one JSON object (JSON lines for "
      "streams), errors as {\"error\": {\"code\", \"message\"}} on stdout" },
    { "--timeout", NULL, "MS", "how long the command waits, in all: for the broker's "
      "replies (default 5000) and, with --wait and gather, for the result (default 60000 "
      "more; gather: until its answer)" },
    { "--help", "-h", NULL, "this help" },
    { NULL, NULL, NULL, NULL }
};

static const char *s_exit_codes =
"Exit codes: 0 ok; 1 the job (or an item of a group that succeeded, or its\n"
"chord) ended with a status other than ok; 2 usage (a bad option, value, id\n"
"or job line: nothing is sent); 3 broker unreachable (no reply in time);\n"
"4 request rejected by the broker; 5 no such job or group; 6 not finished\n"
"(yet); 7 the group failed, timed out or was cancelled.\n";

//  --------------------------------------------------------------------------
//  Help.

//  Print text wrapped at 79 columns, each line after the first indented by
//  indent spaces, starting at column.
static void
s_wrap (FILE *out, const char *text, int indent, int column)
{
    const char *word = text;
    while (*word) {
        size_t size = strcspn (word, " ");
        if (column > indent && column + 1 + (int) size > 79) {
            fprintf (out, "\n%*s", indent, "");
            column = indent;
        }
        else
        if (column > indent) {
            fputc (' ', out);
            column++;
        }
        fwrite (word, 1, size, out);
        column += (int) size;
        word += size;
        word += strspn (word, " ");
    }
    fputc ('\n', out);
}

static void
s_print_options (FILE *out, const sf_cli_option_t *options)
{
    for (const sf_cli_option_t *option = options; option->name; option++) {
        char head [64];
        snprintf (head, sizeof head, "  %s%s%s%s%s", option->alias? option->alias: "",
                  option->alias? ", ": "", option->name, option->value? " ": "",
                  option->value? option->value: "");
        fputs (head, out);
        int column = (int) strlen (head);
        if (column < 24) {
            fprintf (out, "%*s", 24 - column, "");
            column = 24;
        }
        else {
            fprintf (out, "\n%24s", "");
            column = 24;
        }
        s_wrap (out, option->help, 24, column);
    }
}

const sf_cli_command_t *const sf_cli_commands [] = {
    &sf_cli_submit, &sf_cli_result, &sf_cli_gather, &sf_cli_status, &sf_cli_workers,
    &sf_cli_cancel, &sf_cli_dead, &sf_cli_schedule_next, &sf_cli_schedule_list, NULL
};

void
sf_cli_help (FILE *out, const sf_cli_command_t *command)
{
    if (!command) {
        fprintf (out, "usage: sheaf [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n\n"
                      "Commands:\n");
        for (size_t i = 0; sf_cli_commands [i]; i++) {
            fprintf (out, "  %-16s", sf_cli_commands [i]->name);
            s_wrap (out, sf_cli_commands [i]->summary, 18, 18);
        }
        fprintf (out, "  %-16s", "help COMMAND");
        s_wrap (out, "the help of a command: its options and what it prints (also "
                     "sheaf COMMAND --help)", 18, 18);
        fprintf (out, "\nGlobal options (before or after the command):\n");
        s_print_options (out, s_globals);
        static const sf_cli_option_t version [] = {
            { "--version", NULL, NULL, "print the version (before a command only)" },
            { NULL, NULL, NULL, NULL }
        };
        s_print_options (out, version);
        fprintf (out, "\n%s", s_exit_codes);
        return;
    }
    fprintf (out, "usage: sheaf %s %s\n\n", command->name, command->synopsis);
    s_wrap (out, command->description, 0, 0);
    bool own = command->options && command->options [0].name;
    if (own) {
        fprintf (out, "\nOptions:\n");
        s_print_options (out, command->options);
    }
    fprintf (out, "\nGlobal options (before or after the command):\n");
    s_print_options (out, s_globals);
    fprintf (out, "\nWith --json:");
    s_wrap (out, command->json, 0, 12);
    fprintf (out, "\n%s", s_exit_codes);
}

//  --------------------------------------------------------------------------
//  Errors.

//  Print an error as text or JSON.
static void
s_report (sf_cli_t *cli, const char *code, const char *id, const char *message)
{
    if (cli->json) {
        json_t *error = json_pack ("{s:s, s:s}", "code", code, "message", message);
        if (!error)             //  A message that is not UTF-8 (from an argument)
            error = json_pack ("{s:s, s:s}", "code", code, "message",
                               "(the message is not valid UTF-8)");
        if (id)
            json_object_set_new (error, "id", json_string (id));
        json_t *root = json_pack ("{s:o}", "error", error);
        char *text = sf_json_dumps (root);
        puts (text);
        free (text);
        json_decref (root);
    }
    else
        fprintf (stderr, "sheaf: %s\n", message);
}

int
sf_cli_error (sf_cli_t *cli, int rc, const char *code, const char *id, const char *format,
              ...)
{
    char message [1024];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    s_report (cli, code, id, message);
    return rc;
}

int
sf_cli_usage (sf_cli_t *cli, const sf_cli_command_t *command, const char *format, ...)
{
    char message [1024];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    char text [1200];
    if (command)
        snprintf (text, sizeof text, "%s: %s (see sheaf help %s)", command->name, message,
                  command->name);
    else
        snprintf (text, sizeof text, "%s (see sheaf --help)", message);
    s_report (cli, "USAGE", NULL, text);
    return SF_EXIT_USAGE;
}

int
sf_cli_fail (sf_cli_t *cli, const char *what, const sf_error_t *error)
{
    int rc = SF_EXIT_REJECTED;
    if (streq (error->code, "UNREACHABLE"))
        rc = SF_EXIT_UNREACHABLE;
    else
    if (streq (error->code, "NOT_FOUND"))
        rc = SF_EXIT_NOT_FOUND;
    else
    if (streq (error->code, "TIMEOUT") || streq (error->code, "NOT_FINISHED"))
        rc = SF_EXIT_NOT_FINISHED;
    if (cli->json)
        return sf_cli_error (cli, rc, error->code, NULL, "%s: %s", what, error->message);
    return sf_cli_error (cli, rc, error->code, NULL, "%s: %s (%s)", what, error->message,
                         error->code);
}

int
sf_cli_integer (sf_cli_t *cli, const sf_cli_command_t *command, const char *option,
                const char *text, long long min, long long max, long long *number)
{
    errno = 0;
    char *end = NULL;
    long long value = strtoll (text, &end, 10);
    if (!*text || *end || errno || value < min || value > max || text [0] == ' ')
        return sf_cli_usage (cli, command, "%s must be an integer %lld-%lld, not \"%s\"",
                             option, min, max, text);
    *number = value;
    return 0;
}

int
sf_cli_check_id (sf_cli_t *cli, const sf_cli_command_t *command, const char *id)
{
    uint8_t binary [SF_UUID_SIZE];
    if (sf_uuid_parse (id, binary))
        return sf_cli_usage (cli, command, "\"%s\" is not a job or group id (a UUID such as "
                             "01a2191c-fab9-7356-9bc1-fb5a47d2d19d)", id);
    return 0;
}

//  --------------------------------------------------------------------------
//  Options.

bool
sf_cli_global_option (sf_cli_t *cli, int argc, char *argv [], int *i, int *rc)
{
    const char *option = argv [*i];
    const char *equals = strchr (option, '=');
    size_t length = equals? (size_t) (equals - option): strlen (option);
    if (streq (option, "--json"))
        cli->json = true;
    else
    if (length == 8 && memcmp (option, "--broker", 8) == 0 && (equals || *i + 1 < argc))
        cli->broker = equals? equals + 1: argv [++*i];
    else
    if (length == 9 && memcmp (option, "--timeout", 9) == 0 && (equals || *i + 1 < argc)) {
        const char *value = equals? equals + 1: argv [++*i];
        long long ms;
        if (sf_cli_integer (cli, NULL, "--timeout", value, 0, 86400000, &ms))
            *rc = SF_EXIT_USAGE;
        else
            cli->timeout_ms = (int) ms;
    }
    else
        return false;
    return true;
}

//  The command's option named by text (up to length), or NULL.
static const sf_cli_option_t *
s_find_option (const sf_cli_command_t *command, const char *text, size_t length)
{
    for (const sf_cli_option_t *option = command->options; option && option->name; option++)
        if ((strlen (option->name) == length && memcmp (option->name, text, length) == 0)
        ||  (option->alias && strlen (option->alias) == length
             && memcmp (option->alias, text, length) == 0))
            return option;
    return NULL;
}

int
sf_cli_parse (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [],
              sf_cli_args_t *args)
{
    memset (args, 0, sizeof *args);
    args->options = (sf_cli_arg_t *) sf_alloc_array ((size_t) argc + 1, sizeof (sf_cli_arg_t));
    args->words = (const char **) sf_alloc_array ((size_t) argc + 1, sizeof (char *));
    //  Every argument is read before a mistake is reported, so that a
    //  --json after it still asks for the error in JSON
    char mistake [512] = "";
    int rc = -1;
    bool help = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv [i];
        if (streq (arg, "--help") || streq (arg, "-h")) {
            help = true;
            continue;
        }
        if (sf_cli_global_option (cli, argc, argv, &i, &rc))
            continue;
        if (arg [0] != '-' || arg [1] == 0) {
            args->words [args->word_count++] = arg;
            continue;
        }
        const char *equals = arg [1] == '-'? strchr (arg, '='): NULL;
        size_t length = equals? (size_t) (equals - arg): strlen (arg);
        const sf_cli_option_t *option = s_find_option (command, arg, length);
        if (!option && (streq (arg, "--broker") || streq (arg, "--timeout"))) {
            if (!mistake [0])
                snprintf (mistake, sizeof mistake, "%s needs a value", arg);
            continue;
        }
        if (!option) {
            if (!mistake [0])
                snprintf (mistake, sizeof mistake, "unknown option \"%.*s\"", (int) length, arg);
            continue;
        }
        const char *value = NULL;
        if (option->value) {
            if (equals)
                value = equals + 1;
            else
            if (i + 1 < argc)
                value = argv [++i];
            else {
                if (!mistake [0])
                    snprintf (mistake, sizeof mistake, "%s needs a value (%s)", option->name,
                              option->value);
                continue;
            }
        }
        else
        if (equals) {
            if (!mistake [0])
                snprintf (mistake, sizeof mistake, "%s takes no value", option->name);
            continue;
        }
        args->options [args->option_count].name = option->name;
        args->options [args->option_count++].value = value;
    }
    if (help) {
        sf_cli_help (stdout, command);
        rc = SF_EXIT_OK;
    }
    else
    if (mistake [0])
        rc = sf_cli_usage (cli, command, "%s", mistake);
    if (rc >= 0)
        sf_cli_args_free (args);
    return rc;
}

void
sf_cli_args_free (sf_cli_args_t *args)
{
    free (args->options);
    free (args->words);
    memset (args, 0, sizeof *args);
}

//  --------------------------------------------------------------------------
//  The broker.

sf_client_t *
sf_cli_connect (sf_cli_t *cli, int *rc)
{
    sf_client_t *client = sf_client_new (cli->broker);
    if (!client) {
        *rc = sf_cli_usage (cli, NULL, "malformed broker endpoint \"%s\" (tcp://HOST:PORT, "
                            "ipc://PATH)", cli->broker? cli->broker: "");
        return NULL;
    }
    sf_client_set_timeout (client, cli->timeout_ms >= 0? cli->timeout_ms: 5000);
    return client;
}

int
sf_cli_left (const sf_cli_t *cli, int wait_ms)
{
    if (cli->timeout_ms < 0)
        return wait_ms;
    int64_t left = cli->started + cli->timeout_ms - zclock_mono ();
    return left > 0? (int) left: 0;
}

//  --------------------------------------------------------------------------
//  Output.

void
sf_cli_print_json (json_t *value)
{
    char *text = sf_json_dumps (value);
    puts (text);
    free (text);
    json_decref (value);
}

//  Print JSON text the library made, and free it.
static void
s_puts (char *text)
{
    puts (text);
    free (text);
}

int
sf_cli_print_result (sf_cli_t *cli, const sf_result_t *result)
{
    if (cli->json)
        s_puts (sf_result_json (result));
    else
    if (sf_result_status (result) == SF_STATUS_OK)
        s_puts (sf_result_value_json (result));
    else
        fprintf (stderr, "sheaf: job %s ended %s: %s: %s\n", sf_result_id (result),
                 sf_status_name (sf_result_status (result)),
                 sf_result_error_code (result), sf_result_error_message (result));
    return sf_result_status (result) == SF_STATUS_OK? SF_EXIT_OK: SF_EXIT_JOB_FAILED;
}

int
sf_cli_print_gather (sf_cli_t *cli, const sf_gather_t *gather, sf_result_t **held,
                     bool streamed)
{
    const sf_result_t *then = sf_gather_then (gather);
    if (then)
        s_puts (sf_result_json (then));
    else
        //  Streamed items were printed as they came; an answer may still
        //  carry them all (a GROUP answered through its key)
        for (size_t i = 0; i < sf_gather_size (gather); i++) {
            const sf_result_t *item = sf_gather_item (gather, i);
            if (!item && held && !streamed)
                item = held [i];
            if (item)
                s_puts (sf_result_json (item));
        }
    if (cli->json || streamed)
        s_puts (sf_gather_json (gather));
    if (!streq (sf_gather_state (gather), "ok")) {
        fprintf (stderr, "sheaf: group %s ended %s: %zu of %zu items ok\n", sf_gather_id (gather),
                 sf_gather_state (gather), sf_gather_count (gather, SF_STATUS_OK),
                 sf_gather_size (gather));
        return SF_EXIT_GROUP_FAILED;
    }
    if (then)                   //  The chord's result is the group's
        return sf_result_status (then) == SF_STATUS_OK? SF_EXIT_OK: SF_EXIT_JOB_FAILED;
    //  Every status but ok counts: error, timeout, cancelled, dead
    if (sf_gather_count (gather, SF_STATUS_OK) < sf_gather_size (gather))
        return SF_EXIT_JOB_FAILED;
    return SF_EXIT_OK;
}
