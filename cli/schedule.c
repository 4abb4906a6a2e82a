/*  =========================================================================
    schedule - `sheaf schedule next` (preview fire times of an expression)
    and `sheaf schedule list` (a schedule file's entries with the state the
    scheduler keeps for them)

    `list` reads the schedule file and the scheduler's checkpoint in its
    state directory; it needs no running scheduler and no broker. The
    checkpoint is replaced by rename, so it is read whole or not at all.
    ========================================================================= */

#include <czmq.h>
#include <jansson.h>
#include <sys/stat.h>
#include "sf_checkpoint.h"
#include "sf_cli.h"
#include "sf_cron.h"
#include "sf_schedule.h"

static const sf_cli_option_t s_next_options [] = {
    { "--tz", NULL, "ZONE", "the IANA time zone of the expression and of the times printed "
      "(default UTC)" },
    { "--count", "-n", "N", "how many fire times, 1-10000 (default 5)" },
    { "--from", NULL, "TIME", "the times after this one (ISO-8601, default now)" },
    { NULL, NULL, NULL, NULL }
};

static const sf_cli_option_t s_list_options [] = {
    { "--schedule", NULL, "FILE", "the schedule file (SHEAF_SCHEDULE)" },
    { "--state", NULL, "DIR", "the scheduler's state directory (SHEAF_STATE)" },
    { NULL, NULL, NULL, NULL }
};

static sf_cli_run_fn s_next, s_list;

const sf_cli_command_t sf_cli_schedule_next = {
    "schedule next", "EXPR [--tz ZONE] [-n N] [--from TIME]",
    "the next fire times of a schedule expression",
    "Prints the next N fire times of the schedule expression EXPR (cron with five fields, "
    "@daily and the like, or @every DURATION) after --from, one a line, as ISO-8601 local "
    "times with their offset in --tz. A mistake in EXPR is shown with its column. Needs "
    "no broker.",
    "{\"expression\": EXPR, \"timezone\": ZONE, \"times\": [TIME, …]}.",
    s_next_options, s_next
};

const sf_cli_command_t sf_cli_schedule_list = {
    "schedule list", "[--schedule FILE] [--state DIR]",
    "a schedule file's entries, their next and last firing",
    "Prints each entry of a schedule file with its next fire time, the scheduled instant of "
    "its last firing and that firing's outcome (none, pending, ok, or the first other final "
    "status of its jobs), read from the scheduler's state directory. Needs neither a "
    "running scheduler nor the broker.",
    "{\"entries\": [{\"name\", \"schedule\", \"timezone\", \"misfire\", \"overlap\", "
    "\"outcome\", \"next\", \"last_fire\", \"jobs\": [ID, …], \"group\": ID | null}, …]}.",
    s_list_options, s_list
};

static int
s_next (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    sf_cli_args_t args;
    int rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (rc >= 0)
        return rc;
    rc = 0;
    const char *expression = args.word_count == 1? args.words [0]: NULL;
    const char *zone = NULL, *from = NULL;
    long long count = 5;
    for (size_t i = 0; rc == 0 && i < args.option_count; i++) {
        const char *option = args.options [i].name, *value = args.options [i].value;
        if (streq (option, "--tz"))
            zone = value;
        else
        if (streq (option, "--count"))
            rc = sf_cli_integer (cli, command, "-n", value, 1, 10000, &count);
        else
        if (streq (option, "--from"))
            from = value;
    }
    size_t words = args.word_count;
    sf_cli_args_free (&args);
    if (rc)
        return rc;
    if (!expression)
        return sf_cli_usage (cli, command, words? "one expression only (quote it: "
                             "\"0 6 * * 1-5\")": "which expression? (sheaf schedule next "
                             "\"0 6 * * 1-5\" --tz Europe/London)");
    int64_t instant = time (NULL);
    if (from && sf_cron_parse_time (from, &instant))
        return sf_cli_usage (cli, command, "--from must be ISO-8601 such as "
                             "2026-03-29T00:00:00Z, not \"%s\"", from);
    sf_error_t error;
    int column;
    sf_cron_t *cron = sf_cron_new (expression, zone, &error, &column);
    if (!cron) {
        if (strstr (error.message, "time zone"))
            return sf_cli_usage (cli, command, "--tz: %s", error.message);
        rc = sf_cli_usage (cli, command, "column %d: %s", column, error.message);
        if (!cli->json)
            fprintf (stderr, "  %s\n  %*s^\n", expression, column - 1, "");
        return rc;
    }
    json_t *list = json_array ();
    for (long long i = 0; i < count; i++) {
        instant = sf_cron_next (cron, instant);
        if (instant < 0)
            break;
        char text [64];
        sf_cron_format (instant, sf_cron_zone (cron), text, sizeof text);
        if (cli->json)
            json_array_append_new (list, json_string (text));
        else
            printf ("%s\n", text);
    }
    if (cli->json)
        sf_cli_print_json (json_pack ("{s:s, s:s, s:O}", "expression", expression, "timezone",
                                      sf_cron_zone (cron), "times", list));
    json_decref (list);
    sf_cron_destroy (&cron);
    return SF_EXIT_OK;
}

static int
s_list (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    sf_cli_args_t args;
    int rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (rc >= 0)
        return rc;
    const char *path = getenv ("SHEAF_SCHEDULE"), *state = getenv ("SHEAF_STATE");
    for (size_t i = 0; i < args.option_count; i++) {
        if (streq (args.options [i].name, "--schedule"))
            path = args.options [i].value;
        else
        if (streq (args.options [i].name, "--state"))
            state = args.options [i].value;
    }
    size_t words = args.word_count;
    const char *word = words? args.words [0]: NULL;
    if (words)
        rc = sf_cli_usage (cli, command, "unexpected argument \"%s\"", word);
    sf_cli_args_free (&args);
    if (words)
        return rc;
    if (!path || !*path)
        return sf_cli_usage (cli, command, "which file? (--schedule FILE or SHEAF_SCHEDULE)");
    char *errors = NULL;
    sf_schedule_t *schedule = sf_schedule_load (path, &errors);
    if (!schedule) {
        if (!cli->json)
            fputs (errors, stderr);
        //  The first mistake stands for them all in the JSON error
        size_t first = strcspn (errors, "\n");
        rc = sf_cli_error (cli, SF_EXIT_USAGE, "USAGE", NULL, "schedule list: %.*s",
                           (int) first, errors);
        free (errors);
        return rc;
    }
    //  Without a state directory nothing has fired yet
    sf_checkpoint_t *checkpoint = NULL;
    struct stat info;
    if (state && *state && stat (state, &info) == 0) {
        sf_error_t error;
        checkpoint = sf_checkpoint_new (state, &error);
        if (!checkpoint) {
            sf_schedule_destroy (&schedule);
            return sf_cli_usage (cli, command, "%s", error.message);
        }
    }
    int64_t now = time (NULL);
    json_t *list = json_array ();
    if (!cli->json)
        printf ("%-24s %-20s %-16s %-25s %-25s %s\n", "name", "schedule", "timezone",
                "next", "last fire", "outcome");
    for (size_t i = 0; i < sf_schedule_size (schedule); i++) {
        sf_schedule_entry_t *entry = sf_schedule_entry (schedule, i);
        const char *zone = sf_cron_zone (entry->cron);
        sf_checkpoint_record_t *record =
            checkpoint? sf_checkpoint_get (checkpoint, entry->name): NULL;
        int64_t after = record && record->done > now? record->done: now;
        int64_t next = sf_schedule_next (entry, after);
        char next_text [64] = "never", last_text [64] = "-";
        if (next >= 0)
            sf_cron_format (next, zone, next_text, sizeof next_text);
        if (record && record->last_fire)
            sf_cron_format (record->last_fire, zone, last_text, sizeof last_text);
        const char *outcome = record? sf_checkpoint_outcome (record): "none";
        if (cli->json) {
            json_t *item = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                      "name", entry->name, "schedule", sf_cron_text (entry->cron),
                                      "timezone", zone, "misfire",
                                      sf_schedule_misfire_name (entry->misfire), "overlap",
                                      sf_schedule_overlap_name (entry->overlap), "outcome",
                                      outcome, "next", next_text);
            json_object_set_new (item, "next", next >= 0? json_string (next_text): json_null ());
            json_object_set_new (item, "last_fire", record && record->last_fire?
                                 json_string (last_text): json_null ());
            //  A group firing is its group id; a job firing its job ids
            bool group = record && record->group && record->id_count;
            json_t *ids = json_array ();
            for (size_t j = 0; record && !group && j < record->id_count; j++)
                json_array_append_new (ids, json_string (record->ids [j]));
            json_object_set_new (item, "jobs", ids);
            json_object_set_new (item, "group", group? json_string (record->ids [0]):
                                 json_null ());
            json_array_append_new (list, item);
        }
        else
            printf ("%-24s %-20s %-16s %-25s %-25s %s\n", entry->name,
                    sf_cron_text (entry->cron), zone, next_text, last_text, outcome);
    }
    if (cli->json)
        sf_cli_print_json (json_pack ("{s:O}", "entries", list));
    json_decref (list);
    sf_checkpoint_destroy (&checkpoint);
    sf_schedule_destroy (&schedule);
    return SF_EXIT_OK;
}
