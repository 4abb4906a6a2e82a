/*  =========================================================================
    sheaf - the command line client: global options, then one command

        sheaf [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]
        sheaf help [COMMAND]      sheaf COMMAND --help      sheaf --version

    The commands live in their own files (submit.c, result.c, gather.c,
    status.c, jobs.c, schedule.c), each with its table of options and help
    text; sf_cli.c lists them.
    ========================================================================= */

#include <czmq.h>
#include "sf_cli.h"
#include "sf_log.h"
#include "sf_option.h"

//  The command named by argv [0], and argv [1] for a two-word name
//  ("schedule next"), or NULL; *words is set to how many words named it.
static const sf_cli_command_t *
s_find (int argc, char *argv [], int *words)
{
    for (size_t i = 0; sf_cli_commands [i]; i++) {
        const char *name = sf_cli_commands [i]->name;
        const char *space = strchr (name, ' ');
        if (!space && streq (argv [0], name)) {
            *words = 1;
            return sf_cli_commands [i];
        }
        if (space && argc > 1 && strlen (argv [0]) == (size_t) (space - name)
        &&  memcmp (argv [0], name, (size_t) (space - name)) == 0
        &&  streq (argv [1], space + 1)) {
            *words = 2;
            return sf_cli_commands [i];
        }
    }
    return NULL;
}

//  `sheaf help [COMMAND]`: the general help, a command's, or for the first
//  word of two-word commands ("schedule") each of theirs.
static int
s_help (sf_cli_t *cli, int argc, char *argv [])
{
    if (argc == 0) {
        sf_cli_help (stdout, NULL);
        return SF_EXIT_OK;
    }
    int words;
    const sf_cli_command_t *command = s_find (argc, argv, &words);
    if (command && words == argc) {
        sf_cli_help (stdout, command);
        return SF_EXIT_OK;
    }
    //  A word that starts two-word commands: the help of each
    bool found = false;
    for (size_t i = 0; argc == 1 && sf_cli_commands [i]; i++) {
        const char *name = sf_cli_commands [i]->name;
        const char *space = strchr (name, ' ');
        if (space && strlen (argv [0]) == (size_t) (space - name)
        &&  memcmp (argv [0], name, (size_t) (space - name)) == 0) {
            if (found)
                printf ("\n");
            sf_cli_help (stdout, sf_cli_commands [i]);
            found = true;
        }
    }
    if (found)
        return SF_EXIT_OK;
    return sf_cli_usage (cli, NULL, "no command \"%s\"", argv [0]);
}

int
main (int argc, char *argv [])
{
    sf_log_init ("sheaf", getenv ("SHEAF_VERBOSE") && streq (getenv ("SHEAF_VERBOSE"), "1"));
    sf_cli_t cli = { getenv ("SHEAF_BROKER"), false, -1, zclock_mono () };
    if (cli.broker && !*cli.broker)
        cli.broker = NULL;
    //  Whether errors are JSON is known before the first one is reported
    for (int i = 1; i < argc; i++)
        if (streq (argv [i], "--json"))
            cli.json = true;

    //  Global options may come before the command
    int index = 1;
    int rc = -1;
    while (index < argc && argv [index][0] == '-' && argv [index][1]) {
        const char *option = argv [index];
        if (streq (option, "-h") || streq (option, "--help")) {
            sf_cli_help (stdout, NULL);
            return SF_EXIT_OK;
        }
        if (streq (option, "--version")) {
            sf_option_version ("sheaf");
            return SF_EXIT_OK;
        }
        if (!sf_cli_global_option (&cli, argc, argv, &index, &rc))
            return sf_cli_usage (&cli, NULL, "unknown option \"%s\"", option);
        if (rc >= 0)
            return rc;
        index++;
    }
    if (index >= argc) {
        if (cli.json)
            return sf_cli_usage (&cli, NULL, "which command?");
        sf_cli_help (stderr, NULL);
        return SF_EXIT_USAGE;
    }
    if (streq (argv [index], "help"))
        return s_help (&cli, argc - index - 1, argv + index + 1);
    int words;
    const sf_cli_command_t *command = s_find (argc - index, argv + index, &words);
    if (command)
        return command->run (&cli, command, argc - index - words, argv + index + words);
    if (streq (argv [index], "schedule")) {
        //  The first word of the two-word commands alone, or with --help
        if (index + 1 < argc
        &&  (streq (argv [index + 1], "--help") || streq (argv [index + 1], "-h")))
            return s_help (&cli, 1, argv + index);
        return sf_cli_usage (&cli, NULL, "schedule: expected next or list");
    }
    return sf_cli_usage (&cli, NULL, "unknown command \"%s\"", argv [index]);
}
