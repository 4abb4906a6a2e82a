/*  =========================================================================
    check_sf_schedule - schedule files: every key read, every mistake
    reported with its line and column, and the checkpoint the scheduler
    keeps (sf_checkpoint) surviving a save and a read
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include "sf_checkpoint.h"
#include "sf_schedule.h"

START_TEST (test_every_key)
{
    const char *text =
        "# comment\n"
        "; another\n"
        "[report]\n"
        "schedule = 0 6 * * MON-FRI\n"
        "timezone = Europe/London\n"
        "job = {\"analyzer\": \"report\", \"symbol\": \"GOOG\", \"timeframe\": \"1d\"}\n"
        "jitter = 30s\n"
        "grace = 5m\n"
        "misfire = all\n"
        "misfire_limit = 7\n"
        "overlap = forbid\n"
        "start = 2026-01-01\n"
        "end = 2026-12-31T23:59:59+01:00\n"
        "\n"
        "  [pair]  \n"
        "schedule = @every 1h30m\n"
        "job = [{\"analyzer\": \"rsi\", \"symbol\": \"GOOG\", \"timeframe\": \"1d\"}, "
        "{\"analyzer\": \"echo\"}]\n"
        "grace = 0s\n"
        "\n"
        "[daily]\n"
        "schedule = 0 22 * * MON-FRI\n"
        "group = {\"jobs\": [{\"analyzer\": \"report\", \"symbol\": \"GOOG\", \"timeframe\": \"1d\"}, "
        "{\"analyzer\": \"report\", \"symbol\": \"SYNTH\", \"timeframe\": \"1m\"}], "
        "\"then\": {\"analyzer\": \"summary\"}, \"policy\": \"fail-fast\", \"min_ok\": 1, "
        "\"timeout_ms\": 60000}\n"
        "overlap = replace\n"
        "\n"
        "[plain]\n"
        "schedule = @daily\n"
        "group = {\"jobs\": [{\"analyzer\": \"echo\"}]}\n";
    char *errors = NULL;
    sf_schedule_t *schedule = sf_schedule_parse (text, "test.conf", &errors);
    ck_assert_msg (schedule, "%s", errors);
    ck_assert_ptr_null (errors);
    ck_assert_int_eq (sf_schedule_size (schedule), 4);
    sf_schedule_entry_t *report = sf_schedule_find (schedule, "report");
    ck_assert_ptr_nonnull (report);
    ck_assert_int_eq (report->line, 3);
    ck_assert_str_eq (sf_cron_zone (report->cron), "Europe/London");
    ck_assert_int_eq (report->job_count, 1);
    ck_assert_ptr_nonnull (strstr (report->jobs [0], "\"report\""));
    ck_assert_int_eq (report->jitter, 30);
    ck_assert_int_eq (report->grace, 300);
    ck_assert_int_eq (report->misfire, SF_MISFIRE_ALL);
    ck_assert_int_eq (report->misfire_limit, 7);
    ck_assert_int_eq (report->overlap, SF_OVERLAP_FORBID);
    ck_assert_int_eq (report->start, 1767225600);
    ck_assert_int_eq (report->end, 1798761599 - 3600);
    //  The first weekday 06:00 in London of 2026, and nothing after the end
    ck_assert_int_eq (sf_schedule_next (report, 0), 1767247200);
    ck_assert_int_eq (sf_schedule_next (report, report->end), -1);
    //  Jitter: within bounds, the same for the same instant
    int64_t jitter = sf_schedule_jitter (report, 1767247200);
    ck_assert (jitter >= 0 && jitter <= 30);
    ck_assert_int_eq (sf_schedule_jitter (report, 1767247200), jitter);

    sf_schedule_entry_t *pair = sf_schedule_entry (schedule, 1);
    ck_assert_str_eq (pair->name, "pair");
    ck_assert_int_eq (pair->job_count, 2);
    ck_assert_int_eq (pair->misfire, SF_MISFIRE_SKIP);     //  The defaults
    ck_assert_int_eq (pair->overlap, SF_OVERLAP_ALLOW);
    ck_assert_int_eq (pair->misfire_limit, 100);
    ck_assert_int_eq (pair->grace, 0);
    ck_assert_int_eq (pair->jitter, 0);
    ck_assert_int_eq (sf_schedule_jitter (pair, 12345), 0);
    ck_assert_str_eq (sf_cron_zone (pair->cron), "UTC");
    ck_assert (!report->group && !pair->group && !report->then);

    //  A group: its items, its chord and its options
    sf_schedule_entry_t *daily = sf_schedule_find (schedule, "daily");
    ck_assert (daily->group);
    ck_assert_int_eq (daily->job_count, 2);
    ck_assert_ptr_nonnull (strstr (daily->jobs [1], "\"SYNTH\""));
    ck_assert_str_eq (daily->then, "{\"analyzer\":\"summary\"}");
    ck_assert_int_eq (daily->policy, SF_GATHER_FAIL_FAST);
    ck_assert_uint_eq (daily->min_ok, 1);
    ck_assert_uint_eq (daily->timeout_ms, 60000);
    ck_assert_int_eq (daily->overlap, SF_OVERLAP_REPLACE);
    sf_schedule_entry_t *plain = sf_schedule_find (schedule, "plain");
    ck_assert (plain->group);
    ck_assert_int_eq (plain->job_count, 1);
    ck_assert_ptr_null (plain->then);
    ck_assert_int_eq (plain->policy, SF_GATHER_ALL);
    ck_assert_uint_eq (plain->min_ok + plain->timeout_ms, 0);
    ck_assert_ptr_null (sf_schedule_find (schedule, "nope"));
    ck_assert_ptr_null (sf_schedule_entry (schedule, 4));
    sf_schedule_destroy (&schedule);
    ck_assert_ptr_null (schedule);
}
END_TEST

//  A file with one mistake and where it is reported.
typedef struct {
    const char *text;
    const char *expected;       //  "LINE:COLUMN: message part"
} s_bad_t;

#define S_JOB "job = {\"analyzer\": \"echo\"}\n"

static const s_bad_t s_bad [] = {
    { "[a]\nschedule = 0 6 * * 1-9\n" S_JOB, "bad.conf:2:22: schedule: day-of-week: 9 is out of range" },
    { "[a]\nschedule = 61 * * * *\n" S_JOB, "bad.conf:2:12: schedule: minute: 61" },
    { "[a]\nschedule = @every 5x\n" S_JOB, "bad.conf:2:20: schedule: @every" },
    { "[a]\nschedule = @daily\ntimezone = Moon/Base\n" S_JOB, "bad.conf:3:12: timezone: unknown time zone" },
    { "[a]\nschedule = @daily\njob = {\"analyzer\": \"echo\",}\n", "bad.conf:3:" },
    { "[a]\nschedule = @daily\njob = {\"symbol\": \"GOOG\"}\n", "bad.conf:3:7: job: job has no \"analyzer\"" },
    { "[a]\nschedule = @daily\njob = {\"analyzer\": \"echo\", \"priority\": 12}\n", "bad.conf:3:7: job: " },
    { "[a]\nschedule = @daily\njob = {\"analyzer\": \"echo\", \"key\": \"k\"}\n", "bad.conf:3:7: job: \"key\" is set by the scheduler" },
    { "[a]\nschedule = @daily\njob = [{\"analyzer\": \"echo\"}, {\"analyzer\": \"echo\", \"key\": \"k\"}]\n", "bad.conf:3:7: job 2: \"key\" is set by the scheduler" },
    { "[a]\nschedule = @daily\n" S_JOB S_JOB, "bad.conf:4:1: job: given twice in [a] (first on line 3)" },
    //  Groups
    { "[a]\nschedule = @daily\ngroup = {\"then\": {\"analyzer\": \"summary\"}}\n", "bad.conf:3:9: group: \"jobs\" is missing" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": []}\n", "bad.conf:3:9: group: \"jobs\" is a list of 1-1000 jobs" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}, {\"symbol\": \"GOOG\"}]}\n", "bad.conf:3:9: group: job 2: job has no \"analyzer\"" },
    { "[a]\nschedule = @daily\n" S_JOB "group = {\"jobs\": [{\"analyzer\": \"echo\"}]}\n", "bad.conf:4:1: group: [a] has a job already (line 3); an entry fires a job or a group, not both" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}]}\n" S_JOB, "bad.conf:4:1: job: [a] has a group already (line 3)" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}], \"policy\": \"most\"}\n", "bad.conf:3:9: group: \"policy\" is \"all\", \"fail-fast\" or \"any\"" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}], \"min_ok\": 2}\n", "bad.conf:3:9: group: \"min_ok\" is a number from 0 to the number of jobs (1)" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}], \"timeout_ms\": -1}\n", "bad.conf:3:9: group: \"timeout_ms\"" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}], \"then\": {\"analyzer\": \"summary\", \"key\": \"k\"}}\n", "bad.conf:3:9: group: then: \"key\" is set by the scheduler" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}], \"then\": [1]}\n", "bad.conf:3:9: group: \"then\" is a job" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}], \"stream\": true}\n", "bad.conf:3:9: group: unknown field \"stream\"" },
    { "[a]\nschedule = @daily\ngroup = {\"jobs\": [{\"analyzer\": \"echo\"}]\n", "bad.conf:3:" },
    { "[a]\nschedule = @daily\ngroup = [{\"analyzer\": \"echo\"}]\n", "bad.conf:3:9: group: expected a JSON object" },
    { "[a]\nschedule = @daily\njob = []\n", "bad.conf:3:7: job: a list holds 1-16 jobs" },
    { "[a]\nschedule = @daily\njob = 5\n", "bad.conf:3:7: job: expected a JSON object" },
    { "[a]\nschedule = @daily\n" S_JOB "frequency = 2\n", "bad.conf:4:1: unknown key \"frequency\"" },
    { "[a]\nschedule = @daily\n" S_JOB "misfire = sometimes\n", "bad.conf:4:11: misfire: expected skip, once or all" },
    { "[a]\nschedule = @daily\n" S_JOB "misfire_limit = 0\n", "bad.conf:4:17: misfire_limit" },
    { "[a]\nschedule = @daily\n" S_JOB "overlap = queue\n", "bad.conf:4:11: overlap: expected allow, forbid or replace" },
    { "[a]\nschedule = @daily\n" S_JOB "jitter = soon\n", "bad.conf:4:10: jitter: expected a duration" },
    { "[a]\nschedule = @daily\n" S_JOB "start = tomorrow\n", "bad.conf:4:9: start: expected an ISO-8601 time" },
    { "[a]\nschedule = @daily\n" S_JOB "start = 2027-01-01\nend = 2026-01-01\n", "bad.conf:1:1: [a]: start is after end" },
    { "[a]\n" S_JOB, "bad.conf:1:1: [a] has no schedule" },
    { "[a]\nschedule = @daily\n", "bad.conf:1:1: [a] has no job" },
    { "schedule = @daily\n", "bad.conf:1:1: \"schedule\" is outside any [name] section" },
    { "[a b]\nschedule = @daily\n" S_JOB, "bad.conf:1:2: name: 1-64 characters" },
    { "[a\n", "bad.conf:1:1: a section header reads [name]" },
    { "[a]\nschedule = @daily\n" S_JOB "[a]\nschedule = @daily\n" S_JOB, "bad.conf:4:2: [a] is defined twice (first on line 1)" },
    { "[a]\nschedule = @daily\n" S_JOB "just words\n", "bad.conf:4:1: expected [name] or key = value" },
    { "[a]\nschedule =\n" S_JOB, "bad.conf:2:11: schedule: a value is missing" },
    { "# nothing\n", "bad.conf:1:1: no entries" },
};

#define S_BAD (sizeof s_bad / sizeof s_bad [0])

START_TEST (test_bad_files)
{
    char *errors = NULL;
    sf_schedule_t *schedule = sf_schedule_parse (s_bad [_i].text, "bad.conf", &errors);
    ck_assert_msg (!schedule, "accepted: %s", s_bad [_i].text);
    ck_assert_ptr_nonnull (errors);
    ck_assert_msg (strstr (errors, s_bad [_i].expected), "expected \"%s\", got \"%s\"",
                   s_bad [_i].expected, errors);
    free (errors);
}
END_TEST

//  Every mistake of a file in one report, each on its line
START_TEST (test_every_mistake)
{
    const char *text =
        "[one]\n"
        "schedule = 0 6 * * 1-9\n"
        "job = {\"analyzer\": \"echo\"\n"
        "[two]\n"
        "schedule = @daily\n"
        S_JOB
        "overlap = sometimes\n"
        "[three]\n"
        "schedule = @hourly\n"
        S_JOB;
    char *errors = NULL;
    sf_schedule_t *schedule = sf_schedule_parse (text, "many.conf", &errors);
    ck_assert_ptr_null (schedule);
    ck_assert_ptr_nonnull (strstr (errors, "many.conf:2:22: schedule: day-of-week"));
    ck_assert_ptr_nonnull (strstr (errors, "many.conf:3:"));
    ck_assert_ptr_nonnull (strstr (errors, "many.conf:7:11: overlap"));
    size_t lines = 0;
    for (const char *c = errors; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq (lines, 3);
    free (errors);
    //  A missing file
    schedule = sf_schedule_load ("/nonexistent/schedule.conf", &errors);
    ck_assert_ptr_null (schedule);
    ck_assert_ptr_nonnull (strstr (errors, "/nonexistent/schedule.conf: cannot open"));
    free (errors);
}
END_TEST

START_TEST (test_checkpoint)
{
    char dir [] = "/tmp/sheaf-checkpoint-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    sf_error_t error;
    sf_checkpoint_t *checkpoint = sf_checkpoint_new (dir, &error);
    ck_assert_ptr_nonnull (checkpoint);
    ck_assert_ptr_null (sf_checkpoint_get (checkpoint, "report"));
    sf_checkpoint_record_t *record = sf_checkpoint_put (checkpoint, "report");
    ck_assert_str_eq (sf_checkpoint_outcome (record), "none");
    record->done = 1767247200;
    record->last_fire = 1767247200;
    record->last_fire_ms = 1767247200123;
    record->id_count = 2;
    strcpy (record->ids [0], "01a2191c-fab9-7356-9bc1-fb5a47d2d19d");
    strcpy (record->states [0], "ok");
    strcpy (record->ids [1], "01a2191c-fab9-7356-9bc1-fb5a47d2d19e");
    strcpy (record->states [1], "pending");
    ck_assert_str_eq (sf_checkpoint_outcome (record), "pending");
    ck_assert_ptr_eq (sf_checkpoint_put (checkpoint, "report"), record);
    sf_checkpoint_put (checkpoint, "quiet")->done = 5;
    //  A group firing: one id, the group's, with the group's outcome
    sf_checkpoint_record_t *daily = sf_checkpoint_put (checkpoint, "daily");
    daily->group = true;
    daily->id_count = 1;
    strcpy (daily->ids [0], "01a2191c-fab9-7356-9bc1-fb5a47d2d1a0");
    strcpy (daily->states [0], "cancelled");
    ck_assert_int_eq (sf_checkpoint_save (checkpoint, &error), 0);
    sf_checkpoint_destroy (&checkpoint);

    checkpoint = sf_checkpoint_new (dir, &error);
    ck_assert_ptr_nonnull (checkpoint);
    record = sf_checkpoint_get (checkpoint, "report");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (record->done, 1767247200);
    ck_assert_int_eq (record->last_fire_ms, 1767247200123);
    ck_assert_int_eq (record->id_count, 2);
    ck_assert_str_eq (record->ids [1], "01a2191c-fab9-7356-9bc1-fb5a47d2d19e");
    strcpy (record->states [1], "timeout");
    ck_assert_str_eq (sf_checkpoint_outcome (record), "timeout");
    ck_assert_int_eq (sf_checkpoint_get (checkpoint, "quiet")->done, 5);
    ck_assert_str_eq (sf_checkpoint_outcome (sf_checkpoint_get (checkpoint, "quiet")), "none");
    ck_assert (!record->group);
    daily = sf_checkpoint_get (checkpoint, "daily");
    ck_assert (daily->group);
    ck_assert_str_eq (daily->ids [0], "01a2191c-fab9-7356-9bc1-fb5a47d2d1a0");
    ck_assert_str_eq (sf_checkpoint_outcome (daily), "cancelled");
    sf_checkpoint_destroy (&checkpoint);

    //  A version 1 file (before groups) reads as job firings
    char path [128];
    snprintf (path, sizeof path, "%s/checkpoint", dir);
    FILE *file = fopen (path, "w");
    fputs ("sheaf-scheduler checkpoint 1\n"
           "tick 10 10 10000 01a2191c-fab9-7356-9bc1-fb5a47d2d19d:ok\n", file);
    fclose (file);
    checkpoint = sf_checkpoint_new (dir, &error);
    ck_assert_ptr_nonnull (checkpoint);
    record = sf_checkpoint_get (checkpoint, "tick");
    ck_assert (record && !record->group && record->id_count == 1 && record->done == 10);
    sf_checkpoint_destroy (&checkpoint);
    //  A group record holds one id
    file = fopen (path, "w");
    fputs ("sheaf-scheduler checkpoint 2\nreport 1 2 3 group -\n", file);
    fclose (file);
    ck_assert_ptr_null (sf_checkpoint_new (dir, &error));
    ck_assert_ptr_nonnull (strstr (error.message, "checkpoint:2: malformed record"));

    //  A damaged file is an error naming its line, not a crash
    file = fopen (path, "w");
    fputs ("sheaf-scheduler checkpoint 2\nreport 1 2 3 jobs -\nbroken line\n", file);
    fclose (file);
    checkpoint = sf_checkpoint_new (dir, &error);
    ck_assert_ptr_null (checkpoint);
    ck_assert_ptr_nonnull (strstr (error.message, "checkpoint:3: malformed record"));
    file = fopen (path, "w");
    fputs ("something else\n", file);
    fclose (file);
    checkpoint = sf_checkpoint_new (dir, &error);
    ck_assert_ptr_null (checkpoint);
    ck_assert_ptr_nonnull (strstr (error.message, "not a checkpoint of this version"));
    unlink (path);
    rmdir (dir);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sf_schedule");
    TCase *tc = tcase_create ("parse");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_every_key);
    tcase_add_loop_test (tc, test_bad_files, 0, (int) S_BAD);
    tcase_add_test (tc, test_every_mistake);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("checkpoint");
    tcase_set_timeout (tc, 10);
    tcase_add_test (tc, test_checkpoint);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
