/*  =========================================================================
    check_fleet_scheduler - sheaf-scheduler against a real broker and
    worker: firing every second, restarts after kill -9 with each misfire
    policy, a standby taking over from a killed leader, overlap = forbid,
    SIGHUP with a bad and a good file, and `sheaf schedule list`

    Group entries: a group a second with a chord, through a kill -9 and a
    restart, its outcome in `sheaf schedule list`, and both overlap
    policies on group firings.

    Firings are read from the schedulers' logs ("fired NAME at TIME
    (job=ID ..." or "(group=ID ..."), and checked against the broker's
    counters: the number of jobs it created must equal the number of
    distinct instants fired (times the jobs of a group).
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <dirent.h>
#include <jansson.h>
#include "fleet.h"
#include "sheaf.h"

#define S_FIRES_MAX 256

static char out [65536];

//  The firings of entry name in a scheduler's log.
typedef struct {
    int64_t instants [S_FIRES_MAX];     //  In log order
    char ids [S_FIRES_MAX][SF_ID_STRLEN + 1];   //  Job id of each
    size_t count;               //  How many
} s_fires_t;

//  The scheduler writes instants in UTC as 2026-03-29T01:00:00Z; these
//  read and write that form (the suite links libsheaf alone, not the
//  scheduler's classes).
static int
s_parse_time (const char *text, int64_t *instant)
{
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    const char *end = strptime (text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return -1;
    *instant = (int64_t) timegm (&tm);
    return 0;
}

static char *
s_format_time (int64_t instant, char buffer [64])
{
    time_t t = (time_t) instant;
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (buffer, 64, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

static void
s_setup (void)
{
    fleet_setup ();
    fleet_worker (fleet, "sched-worker", 2, 16, NULL);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
}

static char *
s_path (const char *name)
{
    static char paths [4][512];
    static int next;
    char *path = paths [next++ % 4];
    snprintf (path, 512, "%s/%s", fleet->dir, name);
    return path;
}

static void
s_write (const char *name, const char *text)
{
    char temporary [512];
    snprintf (temporary, sizeof temporary, "%s.tmp", s_path (name));
    FILE *file = fopen (temporary, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
    ck_assert_int_eq (rename (temporary, s_path (name)), 0);
}

static pid_t
s_scheduler (const char *log, const char *schedule, const char *state)
{
    char *argv [] = { "sheaf-scheduler", "--schedule", s_path (schedule), "--state",
                      s_path (state), "--broker", fleet->frontend, NULL };
    return fleet_spawn (fleet, log, argv);
}

//  The text of log (the fleet names it NAME.log), NUL-terminated; the
//  caller frees it.
static char *
s_log (const char *log)
{
    char name [128];
    snprintf (name, sizeof name, "%s.log", log);
    FILE *file = fopen (s_path (name), "r");
    ck_assert_ptr_nonnull (file);
    size_t size = 1 << 20;
    char *text = malloc (size);
    size_t got = fread (text, 1, size - 1, file);
    text [got] = 0;
    fclose (file);
    return text;
}

//  Wait up to timeout_ms for text to appear in log.
static bool
s_await_log (const char *log, const char *text, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        char *content = s_log (log);
        bool found = strstr (content, text) != NULL;
        free (content);
        if (found)
            return true;
        zclock_sleep (50);
    }
    return false;
}

static void
s_fires (const char *log, const char *entry, s_fires_t *fires)
{
    memset (fires, 0, sizeof *fires);
    char *text = s_log (log);
    char prefix [128];
    snprintf (prefix, sizeof prefix, "fired %s at ", entry);
    for (char *cursor = strstr (text, prefix); cursor; cursor = strstr (cursor + 1, prefix)) {
        char when [32] = { 0 };
        memcpy (when, cursor + strlen (prefix), 20);
        ck_assert_int_lt (fires->count, S_FIRES_MAX);
        ck_assert_msg (s_parse_time (when, &fires->instants [fires->count]) == 0,
                       "bad time in log: %s", when);
        char *paren = strchr (cursor, '(');
        char *equals = paren? strchr (paren, '='): NULL;
        ck_assert_ptr_nonnull (equals);
        memcpy (fires->ids [fires->count], equals + 1, SF_ID_STRLEN);
        fires->count++;
    }
    free (text);
}

//  The broker's counter name.
static long long
s_counter (const char *name)
{
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_error_t error;
    char *text = sf_client_status (client, &error);
    sf_client_destroy (&client);
    ck_assert_ptr_nonnull (text);
    json_t *status = json_loads (text, 0, NULL);
    free (text);
    long long value = json_integer_value (json_object_get (json_object_get (status, "counters"),
                                                           name));
    json_decref (status);
    return value;
}

//  Merge a and b: every instant fired under one job id only. Returns the
//  number of distinct instants; *first and *last the range.
static size_t
s_distinct (const s_fires_t *a, const s_fires_t *b, int64_t *first, int64_t *last,
            bool contiguous)
{
    int64_t instants [2 * S_FIRES_MAX];
    const char *ids [2 * S_FIRES_MAX];
    size_t count = 0;
    const s_fires_t *sets [] = { a, b };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; sets [s] && i < sets [s]->count; i++) {
            bool known = false;
            for (size_t j = 0; j < count; j++)
                if (instants [j] == sets [s]->instants [i]) {
                    //  Fired again after a crash: the broker gave the same job
                    ck_assert_str_eq (ids [j], sets [s]->ids [i]);
                    known = true;
                }
            if (!known) {
                instants [count] = sets [s]->instants [i];
                ids [count++] = sets [s]->ids [i];
            }
        }
    *first = INT64_MAX;
    *last = INT64_MIN;
    for (size_t i = 0; i < count; i++) {
        if (instants [i] < *first)
            *first = instants [i];
        if (instants [i] > *last)
            *last = instants [i];
    }
    if (contiguous && count)
        ck_assert_msg (*last - *first + 1 == (int64_t) count,
                       "%zu firings between %lld and %lld: one was lost", count,
                       (long long) *first, (long long) *last);
    return count;
}

static const char *s_every_second =
    "# one job a second\n"
    "[tick]\n"
    "schedule = @every 1s\n"
    "job = {\"analyzer\": \"echo\", \"params\": {\"tick\": true}}\n";

START_TEST (test_every_second)
{
    s_write ("tick.conf", s_every_second);
    pid_t scheduler = s_scheduler ("scheduler", "tick.conf", "state");
    zclock_sleep (4500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);
    s_fires_t fires;
    s_fires ("scheduler", "tick", &fires);
    int64_t first, last;
    size_t count = s_distinct (&fires, NULL, &first, &last, true);
    ck_assert_msg (count >= 3 && count <= 5, "%zu firings in 4.5 s", count);
    ck_assert_int_eq (count, fires.count);
    ck_assert_int_eq (s_counter ("submitted"), (long long) count);
    ck_assert_int_eq (s_counter ("deduplicated"), 0);

    //  `sheaf schedule list` shows the last firing and its job
    char *argv [] = { "sheaf", "schedule", "list", "--schedule", s_path ("tick.conf"),
                      "--state", s_path ("state"), "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 5000), 0);
    json_t *list = json_loads (out, 0, NULL);
    ck_assert_msg (json_is_array (json_object_get (list, "entries")),
                   "not {\"entries\": [...]}: %s", out);
    json_t *entry = json_array_get (json_object_get (list, "entries"), 0);
    ck_assert_str_eq (json_string_value (json_object_get (entry, "name")), "tick");
    char when [64];
    s_format_time (last, when);
    ck_assert_str_eq (json_string_value (json_object_get (entry, "last_fire")), when);
    const char *outcome = json_string_value (json_object_get (entry, "outcome"));
    ck_assert_msg (streq (outcome, "ok") || streq (outcome, "pending"), "outcome %s", outcome);
    const char *id = json_string_value (json_array_get (json_object_get (entry, "jobs"), 0));
    ck_assert_str_eq (id, fires.ids [fires.count - 1]);
    char *result [] = { "sheaf", "--broker", fleet->frontend, "result", (char *) id,
                        "--wait", "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, result, out, sizeof out, 5000), 0);
    json_t *job = json_loads (out, 0, NULL);
    ck_assert_str_eq (json_string_value (json_object_get (job, "status")), "ok");
    ck_assert (json_is_true (json_object_get (json_object_get (job, "result"), "tick")));
    json_decref (job);
    json_decref (list);
}
END_TEST

static const char *s_misfires =
    "[skip]\n"
    "schedule = @every 1s\n"
    "job = {\"analyzer\": \"echo\"}\n"
    "grace = 1s\n"
    "misfire = skip\n"
    "\n"
    "[once]\n"
    "schedule = @every 1s\n"
    "job = {\"analyzer\": \"echo\"}\n"
    "grace = 1s\n"
    "misfire = once\n"
    "\n"
    "[all]\n"
    "schedule = @every 1s\n"
    "job = [{\"analyzer\": \"echo\"}, {\"analyzer\": \"echo\", \"params\": {\"n\": 2}}]\n"
    "grace = 1s\n"
    "misfire = all\n"
    "misfire_limit = 2\n";

START_TEST (test_restart_misfire)
{
    s_write ("misfire.conf", s_misfires);
    pid_t scheduler = s_scheduler ("first", "misfire.conf", "state");
    ck_assert (s_await_log ("first", "fired skip", 3000));
    zclock_sleep (1500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGKILL), SIGKILL);
    zclock_sleep (3200);            //  Three instants pass, two beyond grace
    scheduler = s_scheduler ("second", "misfire.conf", "state");
    zclock_sleep (2500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);

    const char *names [] = { "skip", "once", "all" };
    int64_t resumed [3];            //  First instant the restarted scheduler fired
    size_t total = 0;
    for (int n = 0; n < 3; n++) {
        s_fires_t before, after;
        s_fires ("first", names [n], &before);
        s_fires ("second", names [n], &after);
        ck_assert_int_ge (before.count, 1);
        ck_assert_int_ge (after.count, 2);
        int64_t first, last;
        s_distinct (&after, NULL, &first, &last, true);
        resumed [n] = first;
        int64_t ended;
        s_distinct (&before, NULL, &first, &ended, true);
        //  Nothing fired twice across the restart
        ck_assert_int_gt (resumed [n], ended);
        total += s_distinct (&before, &after, &first, &last, false)
               * (streq (names [n], "all")? 2: 1);
    }
    //  skip dropped what was more than grace late, once fired the latest
    //  of those, all fired the latest two
    ck_assert_int_eq (resumed [1], resumed [0] - 1);
    ck_assert_int_eq (resumed [2], resumed [0] - 2);
    char *log = s_log ("second");
    ck_assert_ptr_nonnull (strstr (log, "skip missed"));
    ck_assert_ptr_nonnull (strstr (log, "(misfire = once)"));
    free (log);
    //  One broker job per distinct instant (and per job of a list)
    ck_assert_int_eq (s_counter ("submitted"), (long long) total);
}
END_TEST

START_TEST (test_standby_takes_over)
{
    s_write ("tick.conf", s_every_second);
    pid_t leader = s_scheduler ("a", "tick.conf", "state");
    ck_assert (s_await_log ("a", "scheduler: leading", 5000));
    pid_t standby = s_scheduler ("b", "tick.conf", "state");
    ck_assert (s_await_log ("b", "standby", 5000));
    zclock_sleep (2000);
    ck_assert_int_eq (fleet_signal (fleet, leader, SIGKILL), SIGKILL);
    int64_t killed = zclock_time ();
    ck_assert (s_await_log ("b", "scheduler: leading", 3000));
    ck_assert_int_lt (zclock_time () - killed, 3000);
    zclock_sleep (2500);
    ck_assert_int_eq (fleet_signal (fleet, standby, SIGTERM), 0);

    s_fires_t a, b;
    s_fires ("a", "tick", &a);
    s_fires ("b", "tick", &b);
    ck_assert_int_ge (a.count, 1);
    ck_assert_int_ge (b.count, 2);
    int64_t first, last;
    //  Contiguous: no instant lost in the takeover; one job id each
    size_t count = s_distinct (&a, &b, &first, &last, true);
    ck_assert_int_eq (s_counter ("submitted"), (long long) count);
    //  Exactly one takeover
    char *log = s_log ("b");
    char *leading = strstr (log, "scheduler: leading");
    ck_assert_ptr_nonnull (leading);
    ck_assert_ptr_null (strstr (leading + 1, "scheduler: leading"));
    free (log);
}
END_TEST

//  The broker goes away for a while: firings are retried until it is
//  back, keep their instants, and each becomes one job
START_TEST (test_broker_outage)
{
    s_write ("tick.conf", s_every_second);
    char *argv [] = { "sheaf-scheduler", "--schedule", s_path ("tick.conf"), "--state",
                      s_path ("state"), "--broker", fleet->frontend, "--submit-timeout", "300",
                      NULL };
    pid_t scheduler = fleet_spawn (fleet, "scheduler", argv);
    ck_assert (s_await_log ("scheduler", "fired tick", 3000));
    ck_assert_int_eq (fleet_signal (fleet, fleet->broker, SIGTERM), 0);
    zclock_sleep (2500);
    ck_assert (s_await_log ("scheduler", "not accepted by the broker yet", 0));
    fleet_broker (fleet, NULL);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    zclock_sleep (2500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);

    s_fires_t fires;
    s_fires ("scheduler", "tick", &fires);
    int64_t first, last;
    //  No instant lost (the outage is within grace), none fired twice
    size_t count = s_distinct (&fires, NULL, &first, &last, true);
    ck_assert_int_ge (count, 5);
    //  The new broker made one job for each instant it was sent
    long long submitted = s_counter ("submitted");
    size_t after = 0;
    for (size_t i = 0; i < fires.count; i++)
        after += fires.instants [i] > fires.instants [0];
    ck_assert_int_le (submitted, (long long) after);
    ck_assert_int_ge (submitted, (long long) after - 1);
}
END_TEST

START_TEST (test_overlap_forbid)
{
    s_write ("slow.conf",
             "[slow]\n"
             "schedule = * * * * * *\n"
             "job = {\"analyzer\": \"sleep\", \"params\": {\"ms\": 2200}}\n"
             "overlap = forbid\n");
    pid_t scheduler = s_scheduler ("scheduler", "slow.conf", "state");
    zclock_sleep (6500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);
    s_fires_t fires;
    s_fires ("scheduler", "slow", &fires);
    ck_assert_int_ge (fires.count, 2);
    //  A run takes 2.2 s: the two instants after each firing are skipped
    for (size_t i = 1; i < fires.count; i++)
        ck_assert_int_ge (fires.instants [i] - fires.instants [i - 1], 3);
    ck_assert (s_await_log ("scheduler", "skipped: the previous run is unfinished", 0));
    ck_assert_int_eq (s_counter ("submitted"), (long long) fires.count);
}
END_TEST

START_TEST (test_overlap_replace)
{
    s_write ("slow.conf",
             "[slow]\n"
             "schedule = * * * * * *\n"
             "job = {\"analyzer\": \"sleep\", \"params\": {\"ms\": 2200}}\n"
             "overlap = replace\n");
    pid_t scheduler = s_scheduler ("scheduler", "slow.conf", "state");
    zclock_sleep (4500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);
    s_fires_t fires;
    s_fires ("scheduler", "slow", &fires);
    ck_assert_int_ge (fires.count, 3);
    //  Every second fires; each firing first cancelled the unfinished run
    for (size_t i = 1; i < fires.count; i++)
        ck_assert_int_eq (fires.instants [i] - fires.instants [i - 1], 1);
    ck_assert (s_await_log ("scheduler", "cancelled (overlap = replace)", 0));
    ck_assert_int_ge (s_counter ("cancelled"), (long long) fires.count - 2);
    ck_assert_int_eq (s_counter ("submitted"), (long long) fires.count);
}
END_TEST

START_TEST (test_sighup)
{
    s_write ("tick.conf", s_every_second);
    pid_t scheduler = s_scheduler ("scheduler", "tick.conf", "state");
    ck_assert (s_await_log ("scheduler", "fired tick", 3000));
    //  A bad file: reported with its line, the old schedule keeps running
    s_write ("tick.conf", "[tick]\nschedule = @every 1s\njob = {\"analyzer\": \"echo\"}\n"
                          "frequency = 2\n[new]\nschedule = 0 0 * * *\n"
                          "job = {\"analyzer\": \"echo\"}\n");
    kill (scheduler, SIGHUP);
    ck_assert (s_await_log ("scheduler", "tick.conf:4:1: unknown key \"frequency\"", 3000));
    ck_assert (s_await_log ("scheduler", "the previous schedule stays in force", 1000));
    s_fires_t before, after;
    s_fires ("scheduler", "tick", &before);
    zclock_sleep (2200);
    s_fires ("scheduler", "tick", &after);
    ck_assert_int_ge (after.count, before.count + 2);
    //  A good file with a second entry: both fire
    s_write ("tick.conf", "[tick]\nschedule = @every 1s\njob = {\"analyzer\": \"echo\"}\n"
                          "[second]\nschedule = @every 1s\njob = {\"analyzer\": \"echo\"}\n");
    kill (scheduler, SIGHUP);
    ck_assert (s_await_log ("scheduler", "fired second", 3000));
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);
    s_fires ("scheduler", "tick", &after);
    int64_t first, last;
    s_distinct (&after, NULL, &first, &last, true);
}
END_TEST

START_TEST (test_bad_file_exit)
{
    s_write ("bad.conf", "[a]\nschedule = 0 6 * * 1-9\njob = {\"analyzer\": \"echo\"}\n"
                         "[b]\nschedule = @daily\njob = {\"analyzer\": \"echo\"}\n"
                         "overlap = sometimes\n");
    char *argv [] = { "sheaf-scheduler", "--schedule", s_path ("bad.conf"), "--state",
                      s_path ("state"), "--broker", fleet->frontend, NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 5000), 3);
    char *check [] = { "sheaf-scheduler", "--schedule", s_path ("bad.conf"), "--check", NULL };
    ck_assert_int_eq (fleet_run (fleet, check, out, sizeof out, 5000), 3);
    s_write ("good.conf", s_every_second);
    char *good [] = { "sheaf-scheduler", "--schedule", s_path ("good.conf"), "--check", NULL };
    ck_assert_int_eq (fleet_run (fleet, good, out, sizeof out, 5000), 0);
    ck_assert_ptr_nonnull (strstr (out, "1 entries, no mistakes"));
    //  The CLI previews fire times
    char *next [] = { "sheaf", "schedule", "next", "0 6 * * 1-5", "--tz", "Europe/London",
                      "-n", "3", "--from", "2026-03-27T00:00:00Z", NULL };
    ck_assert_int_eq (fleet_run (fleet, next, out, sizeof out, 5000), 0);
    ck_assert_str_eq (out, "2026-03-27T06:00:00+00:00\n2026-03-30T06:00:00+01:00\n"
                           "2026-03-31T06:00:00+01:00\n");
    char *wrong [] = { "sheaf", "schedule", "next", "0 6 * * 1-9", NULL };
    ck_assert_int_eq (fleet_run (fleet, wrong, out, sizeof out, 5000), 2);
}
END_TEST

//  Sleep until ms past the start of a second (wall clock), so that a
//  firing every second is well clear of the moment a test acts.
static void
s_align (int ms)
{
    int64_t now = zclock_time ();
    zclock_sleep ((int) ((1000 + ms - now % 1000) % 1000));
}

static const char *s_group_every_second =
    "# a group a second: two items, then a chord over their results\n"
    "[daily]\n"
    "schedule = @every 1s\n"
    "group = {\"jobs\": [{\"analyzer\": \"echo\", \"params\": {\"i\": 1}}, "
    "{\"analyzer\": \"echo\", \"params\": {\"i\": 2}}], "
    "\"then\": {\"analyzer\": \"echo\", \"params\": {\"chord\": true}}}\n";

START_TEST (test_group_every_second)
{
    s_write ("group.conf", s_group_every_second);
    s_align (300);
    pid_t scheduler = s_scheduler ("first", "group.conf", "state");
    ck_assert (s_await_log ("first", "fired daily", 3000));
    //  Killed and restarted within the same second: nothing fires twice
    zclock_sleep (1500);
    s_align (400);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGKILL), SIGKILL);
    scheduler = s_scheduler ("second", "group.conf", "state");
    ck_assert (s_await_log ("second", "scheduler: leading", 3000));
    zclock_sleep (2000);
    s_align (500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);

    s_fires_t before, after;
    s_fires ("first", "daily", &before);
    s_fires ("second", "daily", &after);
    ck_assert_int_ge (before.count, 2);
    ck_assert_int_ge (after.count, 2);
    int64_t first, last;
    //  One group id per instant, none lost across the restart
    size_t count = s_distinct (&before, &after, &first, &last, true);
    ck_assert (s_await_log ("second", "fired daily", 0));
    //  Each firing made one group: two items and the chord
    zclock_sleep (300);
    ck_assert_int_eq (s_counter ("submitted"), (long long) count * 3);

    //  The outcome of the last firing, and its group
    char *argv [] = { "sheaf", "schedule", "list", "--schedule", s_path ("group.conf"),
                      "--state", s_path ("state"), "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, argv, out, sizeof out, 5000), 0);
    json_t *list = json_loads (out, 0, NULL);
    ck_assert_msg (json_is_array (json_object_get (list, "entries")),
                   "not {\"entries\": [...]}: %s", out);
    json_t *entry = json_array_get (json_object_get (list, "entries"), 0);
    ck_assert_str_eq (json_string_value (json_object_get (entry, "outcome")), "ok");
    char when [64];
    s_format_time (last, when);
    ck_assert_str_eq (json_string_value (json_object_get (entry, "last_fire")), when);
    const char *group = json_string_value (json_object_get (entry, "group"));
    ck_assert_ptr_nonnull (group);
    ck_assert_str_eq (group, after.ids [after.count - 1]);
    ck_assert_int_eq (json_array_size (json_object_get (entry, "jobs")), 0);
    //  The group's result is the chord's, over both items
    char *result [] = { "sheaf", "--broker", fleet->frontend, "result", (char *) group,
                        "--json", NULL };
    ck_assert_int_eq (fleet_run (fleet, result, out, sizeof out, 5000), 0);
    ck_assert_msg (strstr (out, "\"chord\":true") && strstr (out, "\"i\":2"), "%s", out);

    //  A scheduler firing that instant again gets the same group: the key
    sf_client_t *client = sf_client_new (fleet->frontend);
    sf_error_t error;
    sf_job_t *job = sf_job_from_json ("{\"analyzer\": \"echo\"}", &error);
    char key [128];
    snprintf (key, sizeof key, "schedule:daily:%s", when);
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, NULL, key };
    sf_gather_t *gather = sf_gather (client, &job, 1, &opts, 5000, &error);
    ck_assert_msg (gather, "%s", error.message);
    ck_assert_str_eq (sf_gather_id (gather), group);
    ck_assert_str_eq (sf_gather_state (gather), "ok");
    ck_assert_int_eq (s_counter ("submitted"), (long long) count * 3);
    ck_assert_int_ge (s_counter ("deduplicated"), 1);
    sf_gather_destroy (&gather);
    sf_job_destroy (&job);
    sf_client_destroy (&client);
    json_decref (list);
}
END_TEST

//  overlap = forbid and replace on group firings: the previous group's
//  state is asked of the broker, and replace cancels its unfinished items
START_TEST (test_group_overlap)
{
    s_write ("slow.conf",
             "[forbid]\n"
             "schedule = * * * * * *\n"
             "group = {\"jobs\": [{\"analyzer\": \"sleep\", \"params\": {\"ms\": 2200}}, "
             "{\"analyzer\": \"echo\"}]}\n"
             "overlap = forbid\n"
             "[replace]\n"
             "schedule = * * * * * *\n"
             "group = {\"jobs\": [{\"analyzer\": \"sleep\", \"params\": {\"ms\": 2200}}]}\n"
             "overlap = replace\n");
    s_align (300);
    pid_t scheduler = s_scheduler ("scheduler", "slow.conf", "state");
    zclock_sleep (5000);
    s_align (500);
    ck_assert_int_eq (fleet_signal (fleet, scheduler, SIGTERM), 0);
    s_fires_t forbid, replace;
    s_fires ("scheduler", "forbid", &forbid);
    s_fires ("scheduler", "replace", &replace);
    ck_assert_int_ge (forbid.count, 2);
    ck_assert_int_ge (replace.count, 4);
    //  forbid: a group takes 2.2 s, so the two instants after each firing
    //  are skipped
    for (size_t i = 1; i < forbid.count; i++)
        ck_assert_int_ge (forbid.instants [i] - forbid.instants [i - 1], 3);
    ck_assert (s_await_log ("scheduler", "forbid at", 0));
    ck_assert (s_await_log ("scheduler", "skipped: the previous run is unfinished "
                                         "(overlap = forbid)", 0));
    //  replace: every second fires, after cancelling the running group
    for (size_t i = 1; i < replace.count; i++)
        ck_assert_int_eq (replace.instants [i] - replace.instants [i - 1], 1);
    ck_assert (s_await_log ("scheduler", "cancelled (overlap = replace)", 0));
    ck_assert (s_await_log ("scheduler", "ended cancelled (group=", 0));
    ck_assert_int_eq (s_counter ("submitted"),
                      (long long) (forbid.count * 2 + replace.count));
    ck_assert_int_ge (s_counter ("cancelled"), (long long) replace.count - 2);
}
END_TEST

//  The CPU time (user and system) pid has used so far, in seconds, from
//  /proc/PID/stat.
static double
s_cpu_seconds (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    char text [1024];
    size_t size = fread (text, 1, sizeof text - 1, file);
    fclose (file);
    text [size] = 0;
    //  The command name is in parentheses and may hold spaces: fields are
    //  counted from the last ')'; utime and stime are fields 14 and 15
    char *rest = strrchr (text, ')');
    ck_assert_ptr_nonnull (rest);
    unsigned long long utime, stime;
    ck_assert_int_eq (sscanf (rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                              &utime, &stime), 2);
    return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

//  Lines in log, and how many of them hold text.
static size_t
s_log_lines (const char *log, const char *text, size_t *matching)
{
    char name [128];
    snprintf (name, sizeof name, "%s.log", log);
    FILE *file = fopen (s_path (name), "r");
    ck_assert_ptr_nonnull (file);
    size_t lines = 0;
    *matching = 0;
    char *line = NULL;
    size_t room = 0;
    while (getline (&line, &room, file) >= 0) {
        lines++;
        *matching += strstr (line, text) != NULL;
    }
    free (line);
    fclose (file);
    return lines;
}

//  Remove directory path and the files in it.
static void
s_remove_dir (const char *path)
{
    DIR *dir = opendir (path);
    ck_assert_ptr_nonnull (dir);
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, ".."))
            continue;
        char file [1024];
        snprintf (file, sizeof file, "%s/%s", path, entry->d_name);
        ck_assert_int_eq (unlink (file), 0);
    }
    closedir (dir);
    ck_assert_int_eq (rmdir (path), 0);
}

//  The state directory deleted under a running leader: the checkpoint
//  writes that fail are retried with backoff, said once when they start
//  failing and once when they succeed again, without spinning; a second
//  scheduler started on the path made again stands by while the first
//  lives, and leads once it is gone
START_TEST (test_state_deleted)
{
    s_write ("tick.conf", s_every_second);
    pid_t first = s_scheduler ("first", "tick.conf", "state");
    //  Waits bounded generously: a loaded machine under the sanitizers
    //  takes seconds to start a scheduler and fire
    ck_assert (s_await_log ("first", "fired tick", 10000));
    s_remove_dir (s_path ("state"));
    ck_assert (s_await_log ("first", "cannot write", 10000));
    size_t failed;
    size_t lines = s_log_lines ("first", "cannot write", &failed);
    double cpu = s_cpu_seconds (first);
    zclock_sleep (2000);
    //  Two seconds of firings log about two lines each (fired, ended ok),
    //  more when a loaded machine delays them; a spin logs thousands
    size_t grown = s_log_lines ("first", "cannot write", &failed) - lines;
    double used = s_cpu_seconds (first) - cpu;
    ck_assert_msg (grown <= 100, "%zu lines logged in 2 s", grown);
    ck_assert_msg (used < 0.5, "%.2f s of CPU used in 2 s", used);
    ck_assert_int_eq (failed, 1);
    s_fires_t fires;
    s_fires ("first", "tick", &fires);
    ck_assert_int_ge (fires.count, 3);

    //  The path made again: a second scheduler there does not lead
    ck_assert_int_eq (mkdir (s_path ("state"), 0755), 0);
    pid_t second = s_scheduler ("second", "tick.conf", "state");
    ck_assert (s_await_log ("second", "standby", 5000));
    //  The first writes its checkpoint there at its next try (backoff up
    //  to 10 s), says so once, and takes the new directory's lock file
    ck_assert (s_await_log ("first", "checkpoint written again", 15000));
    ck_assert (s_await_log ("first", "leader lock taken again", 1000));
    char pid [32], lock [32] = { 0 };
    snprintf (pid, sizeof pid, "%d\n", (int) first);
    FILE *file = fopen (s_path ("state/leader.lock"), "r");
    ck_assert_ptr_nonnull (file);
    ck_assert (fread (lock, 1, sizeof lock - 1, file) > 0);
    fclose (file);
    ck_assert_str_eq (lock, pid);
    s_log_lines ("first", "checkpoint written again", &failed);
    ck_assert_int_eq (failed, 1);
    s_log_lines ("first", "cannot write", &failed);
    ck_assert_int_eq (failed, 1);
    char *log = s_log ("second");
    ck_assert_ptr_null (strstr (log, "scheduler: leading"));
    ck_assert_ptr_null (strstr (log, "fired"));
    free (log);

    //  Once the first is gone, the second leads and carries on from the
    //  first's checkpoint: nothing lost, nothing fired twice
    ck_assert_int_eq (fleet_signal (fleet, first, SIGTERM), 0);
    ck_assert (s_await_log ("second", "scheduler: leading", 3000));
    ck_assert (s_await_log ("second", "fired tick", 3000));
    zclock_sleep (1000);
    ck_assert_int_eq (fleet_signal (fleet, second, SIGTERM), 0);
    s_fires_t before, after;
    s_fires ("first", "tick", &before);
    s_fires ("second", "tick", &after);
    int64_t low, high;
    size_t count = s_distinct (&before, &after, &low, &high, true);
    ck_assert_int_eq (s_counter ("submitted"), (long long) count);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("fleet_scheduler");
    TCase *tc = tcase_create ("scheduler");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, s_setup, fleet_teardown);
    tcase_add_test (tc, test_every_second);
    tcase_add_test (tc, test_restart_misfire);
    tcase_add_test (tc, test_standby_takes_over);
    tcase_add_test (tc, test_broker_outage);
    tcase_add_test (tc, test_overlap_forbid);
    tcase_add_test (tc, test_overlap_replace);
    tcase_add_test (tc, test_sighup);
    tcase_add_test (tc, test_bad_file_exit);
    tcase_add_test (tc, test_group_every_second);
    tcase_add_test (tc, test_group_overlap);
    tcase_add_test (tc, test_state_deleted);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return suite_run (s_suite ());
}
