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

static int
s_next (sf_cli_t *cli, int argc, char *argv [])
{
    const char *expression = NULL, *zone = NULL, *from = NULL;
    long long count = 5;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--tz") && i + 1 < argc)
            zone = argv [++i];
        else
        if ((streq (argv [i], "-n") || streq (argv [i], "--count")) && i + 1 < argc)
            count = sf_cli_number ("n", argv [++i], 1, 10000);
        else
        if (streq (argv [i], "--from") && i + 1 < argc)
            from = argv [++i];
        else
        if (streq (argv [i], "--json"))
            cli->json = true;
        else
        if (!expression && (argv [i][0] != '-' || argv [i][1] == 0))
            expression = argv [i];
        else {
            fprintf (stderr, "sheaf: schedule next: unexpected argument \"%s\"\n", argv [i]);
            return SF_EXIT_USAGE;
        }
    }
    if (!expression) {
        fprintf (stderr, "sheaf: schedule next: which expression? "
                 "(sheaf schedule next \"0 6 * * 1-5\" --tz Europe/London)\n");
        return SF_EXIT_USAGE;
    }
    int64_t instant = time (NULL);
    if (from && sf_cron_parse_time (from, &instant)) {
        fprintf (stderr, "sheaf: schedule next: --from must be ISO-8601 such as "
                 "2026-03-29T00:00:00Z, not \"%s\"\n", from);
        return SF_EXIT_USAGE;
    }
    sf_error_t error;
    int column;
    sf_cron_t *cron = sf_cron_new (expression, zone, &error, &column);
    if (!cron) {
        if (strstr (error.message, "time zone"))
            fprintf (stderr, "sheaf: schedule next: --tz: %s\n", error.message);
        else
            fprintf (stderr, "sheaf: schedule next: column %d: %s\n  %s\n  %*s^\n", column,
                     error.message, expression, column - 1, "");
        return SF_EXIT_USAGE;
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
    if (cli->json) {
        char *text = json_dumps (list, JSON_COMPACT);
        puts (text);
        free (text);
    }
    json_decref (list);
    sf_cron_destroy (&cron);
    return SF_EXIT_OK;
}

static int
s_list (sf_cli_t *cli, int argc, char *argv [])
{
    const char *path = getenv ("SHEAF_SCHEDULE"), *state = getenv ("SHEAF_STATE");
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--schedule") && i + 1 < argc)
            path = argv [++i];
        else
        if (streq (argv [i], "--state") && i + 1 < argc)
            state = argv [++i];
        else
        if (streq (argv [i], "--json"))
            cli->json = true;
        else {
            fprintf (stderr, "sheaf: schedule list: unexpected argument \"%s\"\n", argv [i]);
            return SF_EXIT_USAGE;
        }
    }
    if (!path || !*path) {
        fprintf (stderr, "sheaf: schedule list: which file? (--schedule FILE or "
                 "SHEAF_SCHEDULE)\n");
        return SF_EXIT_USAGE;
    }
    char *errors = NULL;
    sf_schedule_t *schedule = sf_schedule_load (path, &errors);
    if (!schedule) {
        fputs (errors, stderr);
        free (errors);
        return SF_EXIT_USAGE;
    }
    //  Without a state directory nothing has fired yet
    sf_checkpoint_t *checkpoint = NULL;
    struct stat info;
    if (state && *state && stat (state, &info) == 0) {
        sf_error_t error;
        checkpoint = sf_checkpoint_new (state, &error);
        if (!checkpoint) {
            fprintf (stderr, "sheaf: schedule list: %s\n", error.message);
            sf_schedule_destroy (&schedule);
            return SF_EXIT_USAGE;
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
    if (cli->json) {
        char *text = json_dumps (list, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts (text);
        free (text);
    }
    json_decref (list);
    sf_checkpoint_destroy (&checkpoint);
    sf_schedule_destroy (&schedule);
    return SF_EXIT_OK;
}

int
sf_cli_schedule (sf_cli_t *cli, int argc, char *argv [])
{
    if (argc >= 1 && streq (argv [0], "next"))
        return s_next (cli, argc - 1, argv + 1);
    if (argc >= 1 && streq (argv [0], "list"))
        return s_list (cli, argc - 1, argv + 1);
    fprintf (stderr, "sheaf: schedule: expected next or list (see sheaf --help)\n");
    return SF_EXIT_USAGE;
}
