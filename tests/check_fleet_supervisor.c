/*  =========================================================================
    check_fleet_supervisor - sheaf-worker --processes N keeps its workers
    running through kills and crashes, a crashing analyzer ends in the dead
    letters instead of taking the fleet down, and SIGTERM drains: running
    jobs finish, the others go back, every job ends exactly once

    Children of a supervisor are found through /proc/PID/task/PID/children
    (the supervisor forks from its main thread) and their names NAME-i.
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include "fleet.h"
#include "sheaf.h"

#define S_MAX_CHILDREN 8

//  Start a supervisor of processes workers named name-1 …, with one
//  analyzer thread each; extra flags may follow.
static pid_t
s_supervisor (const char *name, int processes, int slots, char *const extra [])
{
    char count [16];
    snprintf (count, sizeof count, "%d", processes);
    char *flags [16] = { "--processes", count };
    int used = 2;
    for (int i = 0; extra && extra [i]; i++)
        flags [used++] = extra [i];
    flags [used] = NULL;
    return fleet_worker (fleet, name, 1, slots, flags);
}

//  The supervisor's children now; returns how many.
static size_t
s_children (pid_t supervisor, pid_t *pids)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/task/%d/children", (int) supervisor, (int) supervisor);
    FILE *file = fopen (path, "r");
    size_t count = 0;
    int pid;
    while (file && count < S_MAX_CHILDREN && fscanf (file, "%d", &pid) == 1)
        pids [count++] = pid;
    if (file)
        fclose (file);
    return count;
}

//  Wait up to timeout_ms until the supervisor has count children and the
//  broker count workers.
static bool
s_await_children (pid_t supervisor, size_t count, int timeout_ms)
{
    pid_t pids [S_MAX_CHILDREN];
    int64_t deadline = zclock_mono () + timeout_ms;
    while (s_children (supervisor, pids) != count)
        if (zclock_mono () >= deadline)
            return false;
        else
            zclock_sleep (20);
    return fleet_await_workers (fleet, count, (int) (deadline - zclock_mono ()));
}

//  Lines of a process log that contain text.
static int
s_log_count (const char *log_name, const char *text)
{
    char path [128];
    snprintf (path, sizeof path, "%s/%s.log", fleet->dir, log_name);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    char line [1024];
    int count = 0;
    while (fgets (line, sizeof line, file))
        count += strstr (line, text) != NULL;
    fclose (file);
    return count;
}

//  --------------------------------------------------------------------------

START_TEST (test_supervisor_restarts_a_killed_worker)
{
    pid_t supervisor = s_supervisor ("sup", 2, 8, NULL);
    ck_assert_msg (s_await_children (supervisor, 2, 10000), "two workers did not start");
    pid_t before [S_MAX_CHILDREN], after [S_MAX_CHILDREN];
    ck_assert_int_eq (s_children (supervisor, before), 2);
    kill (before [0], SIGKILL);

    //  A new process takes the dead one's place, under the same name
    int64_t deadline = zclock_mono () + 5000;
    bool replaced = false;
    while (!replaced && zclock_mono () < deadline) {
        replaced = s_children (supervisor, after) == 2
                && after [0] != before [0] && after [1] != before [0];
        zclock_sleep (20);
    }
    ck_assert_msg (replaced, "the killed worker was not replaced");
    ck_assert (s_await_children (supervisor, 2, 5000));
    char line [128];
    snprintf (line, sizeof line, "(pid %d) killed by signal 9 (SIGKILL)", (int) before [0]);
    ck_assert_int_eq (s_log_count ("sup", line), 1);
    ck_assert_int_eq (s_log_count ("sup", "restarting in 100 ms"), 1);
    ck_assert_int_eq (s_log_count ("sup", "supervisor: started sup-"), 3);

    //  The broker heard of the death at once, not from expired heartbeats
    ck_assert_int_eq (s_log_count ("broker", "reason=killed by signal 9 (SIGKILL)"), 1);
    ck_assert_int_eq (s_log_count ("broker", "heartbeat expired"), 0);

    sf_client_t *client = sf_client_new (fleet->frontend);
    char id [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":1}}", id);
    sf_error_t error;
    sf_result_t *result = sf_client_wait (client, 5000, &error);
    ck_assert_msg (result, "%s", error.message);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    sf_result_destroy (&result);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_every_job_once_while_workers_are_killed)
{
    //  20,000 jobs while a worker process is SIGKILLed every 200 ms, ten
    //  times; a job may witness many deaths here and must still end ok.
    //  The run's figures go to stderr.
    fleet_signal (fleet, fleet->broker, SIGTERM);
    fleet_broker (fleet, (char *[]) { "--max-losses", "100", NULL });
    pid_t supervisor = s_supervisor ("kill", 3, 64, NULL);
    ck_assert (s_await_children (supervisor, 3, 10000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    enum { TOTAL = 20000, BATCH = 250, WINDOW = 2000, KILLS = 10 };
    zhashx_t *pending = zhashx_new ();
    size_t sent = 0, received = 0, ok = 0;
    int kills = 0;
    int64_t start = zclock_mono (), next_kill = start + 200;
    int64_t deadline = start + 90000;
    char (*ids) [SF_ID_STRLEN + 1] = malloc (BATCH * sizeof *ids);
    sf_job_t *jobs [BATCH];
    while (received < TOTAL && zclock_mono () < deadline) {
        //  Paced so that the run outlasts the kills: at most an even share
        //  of the jobs per elapsed part of 3 s, and a bounded window
        int64_t now = zclock_mono ();
        size_t allowed = (size_t) ((now - start) * TOTAL / 3000);
        if (sent < TOTAL && sent < allowed && sent - received < WINDOW) {
            //  Half of them 1 ms sleeps, so that the workers always hold
            //  jobs when one is killed
            for (int i = 0; i < BATCH; i++)
                if (i % 2) {
                    jobs [i] = sf_job_new ("echo");
                    char value [16];
                    snprintf (value, sizeof value, "%zu", sent + (size_t) i);
                    sf_job_set_param (jobs [i], "n", value);
                }
                else {
                    jobs [i] = sf_job_new ("sleep");
                    sf_job_set_param (jobs [i], "ms", "1");
                }
            sf_error_t error;
            ck_assert_msg (sf_client_submit_many (client, jobs, BATCH, ids, &error) == 0,
                           "%s", error.message);
            for (int i = 0; i < BATCH; i++) {
                ck_assert (zhashx_insert (pending, ids [i], (void *) 1) == 0);
                sf_job_destroy (&jobs [i]);
            }
            sent += BATCH;
        }
        if (kills < KILLS && now >= next_kill) {
            pid_t children [S_MAX_CHILDREN];
            size_t count = s_children (supervisor, children);
            if (count > 0) {
                kill (children [randof ((int) count)], SIGKILL);
                kills++;
            }
            next_kill = now + 200;
        }
        sf_event_t event;
        while (sf_client_recv (client, 5, &event) == 0 && event.kind != SF_EVENT_NONE) {
            ck_assert_int_eq (event.kind, SF_EVENT_RESULT);
            const char *id = sf_result_id (event.result);
            ck_assert_msg (zhashx_lookup (pending, id), "unexpected or second result for %s", id);
            zhashx_delete (pending, id);
            received++;
            ok += sf_result_status (event.result) == SF_STATUS_OK;
            sf_result_destroy (&event.result);
        }
    }
    free (ids);
    ck_assert_int_eq (kills, KILLS);
    ck_assert_msg (received == TOTAL, "%zu of %d results arrived", received, TOTAL);
    ck_assert_int_eq (ok, TOTAL);
    sf_error_t error;
    sf_result_t *extra = sf_client_wait (client, 500, &error);
    ck_assert_msg (!extra, "a result arrived twice");
    //  The kills hit jobs in flight, and the supervisor saw every one
    long long requeued = fleet_counter (client, "requeued");
    ck_assert_int_gt (requeued, 0);
    ck_assert_int_eq (s_log_count ("kill", "killed by signal 9 (SIGKILL)"), KILLS);
    fprintf (stderr, "supervisor: %d jobs in %.1f s through %d kills, %lld requeued, "
             "%lld workers lost\n", TOTAL, (double) (zclock_mono () - start) / 1000, KILLS,
             requeued, fleet_counter (client, "workers_lost"));
    ck_assert (s_await_children (supervisor, 3, 15000));
    zhashx_destroy (&pending);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_crash_jobs_dead_while_echo_jobs_flow)
{
    //  One slot a worker: only the crash job itself is at each death
    pid_t supervisor = s_supervisor ("crashy", 2, 1,
                                     (char *[]) { "--enable-test-analyzers", NULL });
    ck_assert (s_await_children (supervisor, 2, 10000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    enum { CRASHES = 3, ECHOES = 300 };
    zhashx_t *crashes = zhashx_new (), *echoes = zhashx_new ();
    char id [SF_ID_STRLEN + 1];
    for (int i = 0; i < ECHOES; i++) {
        if (i % (ECHOES / CRASHES) == 0) {
            fleet_submit_json (client, "{\"analyzer\":\"crash\"}", id);
            zhashx_insert (crashes, id, (void *) 1);
        }
        fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":1}}", id);
        zhashx_insert (echoes, id, (void *) 1);
    }
    for (int i = 0; i < CRASHES + ECHOES; i++) {
        sf_error_t error;
        sf_result_t *result = sf_client_wait (client, 30000, &error);
        ck_assert_msg (result, "%d of %d results arrived", i, CRASHES + ECHOES);
        const char *rid = sf_result_id (result);
        if (zhashx_lookup (crashes, rid)) {
            ck_assert_int_eq (sf_result_status (result), SF_STATUS_DEAD);
            ck_assert_str_eq (sf_result_error_code (result), "WORKER_LOST");
            ck_assert_msg (strstr (sf_result_error_message (result),
                                   "present at 2 worker deaths, the last: "
                                   "killed by signal 6 (SIGABRT)"),
                           "%s", sf_result_error_message (result));
            zhashx_delete (crashes, rid);
        }
        else {
            ck_assert_msg (zhashx_lookup (echoes, rid), "unexpected or second result");
            ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
            zhashx_delete (echoes, rid);
        }
        sf_result_destroy (&result);
    }
    //  Each crash job killed two workers; the supervisor restarted them all
    ck_assert_int_eq (s_log_count ("crashy", "killed by signal 6 (SIGABRT)"), 2 * CRASHES);
    ck_assert (s_await_children (supervisor, 2, 15000));
    sf_error_t error;
    char *dead = sf_client_dead (client, "list", NULL, &error);
    ck_assert_msg (dead, "%s", error.message);
    json_t *list = json_loads (dead, 0, NULL);
    ck_assert_int_eq (json_array_size (list), CRASHES);
    json_decref (list);
    free (dead);
    //  And the fleet still serves
    fleet_submit_json (client, "{\"analyzer\":\"echo\",\"params\":{\"x\":2}}", id);
    sf_result_t *result = sf_client_wait (client, 5000, &error);
    ck_assert_msg (result, "%s", error.message);
    ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
    sf_result_destroy (&result);
    zhashx_destroy (&crashes);
    zhashx_destroy (&echoes);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_drain_finishes_running_returns_the_rest)
{
    //  Two threads, six 1.5 s jobs: two run, four wait at the worker
    pid_t drainer = fleet_worker (fleet, "drainer", 2, 8, (char *[]) { "--grace", "10000", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char ids [6][SF_ID_STRLEN + 1];
    for (int i = 0; i < 6; i++)
        fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":1500}}", ids [i]);
    for (int i = 0; i < 6; i++)
        ck_assert (fleet_await_state (client, ids [i], "running", 3000));
    fleet_worker (fleet, "successor", 4, 8, NULL);
    ck_assert (fleet_await_workers (fleet, 2, 5000));
    zclock_sleep (200);                 //  The two have started
    int64_t stopped = zclock_mono ();
    kill (drainer, SIGTERM);

    int on_drainer = 0, on_successor = 0;
    zhashx_t *seen = zhashx_new ();
    for (int i = 0; i < 6; i++) {
        sf_error_t error;
        sf_result_t *result = sf_client_wait (client, 10000, &error);
        ck_assert_msg (result, "%d of 6 results arrived", i);
        ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
        ck_assert_int_eq (zhashx_insert (seen, sf_result_id (result), (void *) 1), 0);
        if (streq (sf_result_worker (result), "drainer")) {
            on_drainer++;
            ck_assert_int_eq (sf_result_attempts (result), 1);
        }
        else {
            ck_assert_str_eq (sf_result_worker (result), "successor");
            ck_assert_int_eq (sf_result_attempts (result), 2);
            on_successor++;
        }
        sf_result_destroy (&result);
    }
    ck_assert_int_eq (on_drainer, 2);
    ck_assert_int_eq (on_successor, 4);
    //  The drainer left once its two jobs were done, well within its grace
    int status = fleet_wait (fleet, drainer, 5000);
    ck_assert (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_int_lt (zclock_mono () - stopped, 5000);
    ck_assert_int_eq (s_log_count ("drainer", "draining, 4 jobs returned, 2 to finish"), 1);
    ck_assert_int_eq (s_log_count ("drainer", "2 jobs finished while draining, 4 returned"), 1);
    //  Returned and left in order: no job counted a worker death
    ck_assert_int_eq (fleet_counter (client, "requeued"), 4);
    ck_assert_int_eq (s_log_count ("broker", "heartbeat expired"), 0);
    sf_error_t error;
    ck_assert_ptr_null (sf_client_wait (client, 300, &error));
    zhashx_destroy (&seen);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_drain_cancels_what_outlasts_the_grace)
{
    pid_t hasty = fleet_worker (fleet, "hasty", 1, 8, (char *[]) { "--grace", "300", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    char running [SF_ID_STRLEN + 1], waiting [SF_ID_STRLEN + 1];
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":3000}}", running);
    fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":3000}}", waiting);
    ck_assert (fleet_await_state (client, waiting, "running", 3000));
    zclock_sleep (200);
    int64_t stopped = zclock_mono ();
    kill (hasty, SIGTERM);
    int status = fleet_wait (fleet, hasty, 2000);
    ck_assert (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_int_lt (zclock_mono () - stopped, 1500);
    ck_assert_int_eq (s_log_count ("hasty", "grace period of 300 ms over, cancelling 1 jobs"), 1);
    ck_assert_int_eq (s_log_count ("hasty", "0 jobs finished while draining, 2 returned"), 1);

    //  Both run again elsewhere and end once, ok
    fleet_worker (fleet, "successor", 2, 8, NULL);
    zhashx_t *seen = zhashx_new ();
    for (int i = 0; i < 2; i++) {
        sf_error_t error;
        sf_result_t *result = sf_client_wait (client, 10000, &error);
        ck_assert_msg (result, "%d of 2 results arrived", i);
        ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
        ck_assert_str_eq (sf_result_worker (result), "successor");
        ck_assert_int_eq (zhashx_insert (seen, sf_result_id (result), (void *) 1), 0);
        sf_result_destroy (&result);
    }
    sf_error_t error;
    ck_assert_ptr_null (sf_client_wait (client, 300, &error));
    zhashx_destroy (&seen);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_supervisor_stops_cleanly)
{
    //  Jobs running in both workers; a short grace so they are returned
    pid_t supervisor = s_supervisor ("stopper", 2, 4, (char *[]) { "--grace", "300", NULL });
    ck_assert (s_await_children (supervisor, 2, 10000));
    //  Both workers past their start (a process killed while it starts has
    //  no handler for SIGTERM yet)
    for (int tries = 0; tries < 100 && s_log_count ("stopper", "worker: started") < 2; tries++)
        zclock_sleep (100);
    ck_assert_int_eq (s_log_count ("stopper", "worker: started"), 2);
    pid_t children [S_MAX_CHILDREN];
    ck_assert_int_eq (s_children (supervisor, children), 2);
    sf_client_t *client = sf_client_new (fleet->frontend);
    char ids [4][SF_ID_STRLEN + 1];
    for (int i = 0; i < 4; i++)
        fleet_submit_json (client, "{\"analyzer\":\"sleep\",\"params\":{\"ms\":5000}}", ids [i]);
    for (int i = 0; i < 4; i++)
        ck_assert (fleet_await_state (client, ids [i], "running", 3000));

    int status = fleet_signal (fleet, supervisor, SIGTERM);
    ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0,
                   "the supervisor ended with status 0x%x", status);
    for (int i = 0; i < 2; i++)
        ck_assert_msg (kill (children [i], 0) == -1 && errno == ESRCH,
                       "worker %d outlived its supervisor", (int) children [i]);
    ck_assert_int_eq (s_log_count ("stopper", "exited with status 0 (stopped)"), 2);
    ck_assert_int_eq (s_log_count ("stopper", "supervisor: stopped"), 1);

    //  Their jobs went back in order (no death counted) and run elsewhere
    fleet_worker (fleet, "successor", 4, 8, NULL);
    for (int i = 0; i < 4; i++) {
        sf_error_t error;
        sf_result_t *result = sf_client_wait (client, 15000, &error);
        ck_assert_msg (result, "%d of 4 results arrived", i);
        ck_assert_int_eq (sf_result_status (result), SF_STATUS_OK);
        ck_assert_str_eq (sf_result_worker (result), "successor");
        sf_result_destroy (&result);
    }
    ck_assert_int_eq (s_log_count ("broker", "heartbeat expired"), 0);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_supervisor_gives_up_on_startup_failures)
{
    //  Workers that cannot load their plugin are not restarted forever
    pid_t supervisor = s_supervisor ("broken", 2, 4,
                                     (char *[]) { "--plugin", "/nonexistent/plugin.so", NULL });
    int status = fleet_wait (fleet, supervisor, 20000);
    ck_assert_msg (status != -1, "the supervisor kept restarting");
    ck_assert (WIFEXITED (status));
    ck_assert_int_eq (WEXITSTATUS (status), 5);
    ck_assert_int_eq (s_log_count ("broken", "5 start-up failures in a row; giving up"), 1);
    ck_assert_int_ge (s_log_count ("broken", "exited with status 5 (a plugin cannot be loaded)"), 5);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_supervisor");
    TCase *tcase = tcase_create ("supervisor");
    tcase_add_checked_fixture (tcase, fleet_setup, fleet_teardown);
    tcase_set_timeout (tcase, 150);
    tcase_add_test (tcase, test_supervisor_restarts_a_killed_worker);
    tcase_add_test (tcase, test_every_job_once_while_workers_are_killed);
    tcase_add_test (tcase, test_crash_jobs_dead_while_echo_jobs_flow);
    tcase_add_test (tcase, test_drain_finishes_running_returns_the_rest);
    tcase_add_test (tcase, test_drain_cancels_what_outlasts_the_grace);
    tcase_add_test (tcase, test_supervisor_stops_cleanly);
    tcase_add_test (tcase, test_supervisor_gives_up_on_startup_failures);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
