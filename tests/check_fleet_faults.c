/*  =========================================================================
    check_fleet_faults - workers that die, brokers that restart: every
    acknowledged job still ends exactly once
    ========================================================================= */

#include <check.h>
#include "suite.h"
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include "fleet.h"
#include "sheaf.h"


//  Submit count sleep jobs of ms each; their ids go into a new hash.
static zhashx_t *
s_submit_sleeps (sf_client_t *client, int count, int ms)
{
    zhashx_t *ids = zhashx_new ();
    char param [16];
    snprintf (param, sizeof param, "%d", ms);
    for (int i = 0; i < count; i++) {
        sf_job_t *job = sf_job_new ("sleep");
        sf_job_set_param (job, "ms", param);
        char id [SF_ID_STRLEN + 1];
        sf_error_t error;
        ck_assert_msg (sf_client_submit (client, job, id, &error) == 0, "%s", error.message);
        zhashx_insert (ids, id, (void *) 1);
        sf_job_destroy (&job);
    }
    return ids;
}

//  Collect one result for every id in ids, failing on any duplicate,
//  stranger or non-ok result. Returns how many needed more than one attempt.
static int
s_collect_exactly_once (sf_client_t *client, zhashx_t *ids, int timeout_ms)
{
    size_t expected = zhashx_size (ids);
    int retried = 0;
    for (size_t received = 0; received < expected; received++) {
        sf_error_t error;
        sf_result_t *result = sf_client_wait (client, timeout_ms, &error);
        ck_assert_msg (result, "%zu of %zu results arrived", received, expected);
        const char *id = sf_result_id (result);
        ck_assert_msg (zhashx_lookup (ids, id), "unexpected or second result for %s", id);
        zhashx_delete (ids, id);
        ck_assert_msg (sf_result_status (result) == SF_STATUS_OK, "job %s ended %s", id,
                       sf_status_name (sf_result_status (result)));
        if (sf_result_attempts (result) > 1)
            retried++;
        sf_result_destroy (&result);
    }
    sf_error_t error;
    sf_result_t *extra = sf_client_wait (client, 500, &error);
    ck_assert_msg (!extra, "a result arrived twice");
    return retried;
}

START_TEST (test_worker_killed_mid_run)
{
    pid_t doomed = fleet_worker (fleet, "doomed", 2, 4, NULL);
    fleet_worker (fleet, "survivor", 2, 4, NULL);
    ck_assert (fleet_await_workers (fleet, 2, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    zhashx_t *ids = s_submit_sleeps (client, 120, 25);

    //  Let both workers get going, then kill one without warning
    zclock_sleep (300);
    int status = fleet_signal (fleet, doomed, SIGKILL);
    ck_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

    int retried = s_collect_exactly_once (client, ids, 20000);
    ck_assert_msg (retried > 0, "no job was re-run, so the kill hit no running job");
    ck_assert_int_ge (fleet_counter (client, "requeued"), retried);
    ck_assert_int_eq (fleet_counter (client, "workers_lost"), 1);
    ck_assert_int_eq (fleet_counter (client, "ok"), 120);
    zhashx_destroy (&ids);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_worker_stopped_returns_its_jobs)
{
    //  SIGTERM without a grace period: the worker says DISCONNECT and its
    //  jobs go back at once, well before its heartbeats would have expired
    pid_t leaving = fleet_worker (fleet, "leaving", 1, 8, (char *[]) { "--grace", "0", NULL });
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    zhashx_t *ids = s_submit_sleeps (client, 8, 2000);
    zclock_sleep (300);
    fleet_signal (fleet, leaving, SIGTERM);
    fleet_worker (fleet, "successor", 8, 8, NULL);
    s_collect_exactly_once (client, ids, 20000);
    ck_assert_int_eq (fleet_counter (client, "requeued"), 8);
    zhashx_destroy (&ids);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_frozen_worker_declared_dead)
{
    //  SIGSTOP: the worker neither answers nor leaves. Within the liveness
    //  window (3 x 200 ms) the broker declares it dead and its jobs run at
    //  the other worker; once it resumes, its results are late and dropped
    pid_t frozen = fleet_worker (fleet, "frozen", 2, 4, NULL);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    zhashx_t *ids = s_submit_sleeps (client, 4, 400);
    zclock_sleep (150);                 //  The four are running at "frozen"
    kill (frozen, SIGSTOP);
    int64_t stopped = zclock_mono ();
    fleet_worker (fleet, "thawed", 4, 4, NULL);
    int retried = s_collect_exactly_once (client, ids, 10000);
    ck_assert_int_eq (retried, 4);
    ck_assert_int_eq (fleet_counter (client, "workers_lost"), 1);
    //  Lost after 600-800 ms, then 400 ms of sleep elsewhere
    ck_assert_int_lt (zclock_mono () - stopped, 3000);
    kill (frozen, SIGCONT);
    long long late = 0;
    for (int i = 0; i < 100 && late < 4; i++) {
        zclock_sleep (50);
        late = fleet_counter (client, "late_results_dropped");
    }
    ck_assert_int_eq (late, 4);
    ck_assert_int_eq (fleet_counter (client, "ok"), 4);
    zhashx_destroy (&ids);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_worker_reconnects_after_broker_restart)
{
    fleet_worker (fleet, "steady", 1, 4, NULL);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    fleet_signal (fleet, fleet->broker, SIGKILL);
    //  A new broker on the same endpoints: the worker notices the silence,
    //  reconnects and registers again
    fleet_broker (fleet, NULL);
    ck_assert_msg (fleet_await_workers (fleet, 1, 10000),
                   "the worker did not register with the new broker");
    sf_client_t *client = sf_client_new (fleet->frontend);
    zhashx_t *ids = s_submit_sleeps (client, 5, 1);
    s_collect_exactly_once (client, ids, 10000);
    zhashx_destroy (&ids);
    sf_client_destroy (&client);
}
END_TEST

START_TEST (test_worker_keeps_its_jobs_across_a_reconnect)
{
    //  A broker slow to give up on workers (10 s), a worker quicker to give
    //  up on the broker (300 ms): when the broker freezes for a second, the
    //  worker reconnects while its job runs, lists the job as held, and
    //  its result counts; nothing is run twice
    fleet_signal (fleet, fleet->broker, SIGTERM);
    char *patient [] = { "--heartbeat", "100", "--liveness", "100", NULL };
    pid_t broker = fleet_broker (fleet, patient);
    char *hasty [] = { "--heartbeat", "100", "--liveness", "3", NULL };
    fleet_worker (fleet, "hasty", 1, 1, hasty);
    ck_assert (fleet_await_workers (fleet, 1, 5000));
    sf_client_t *client = sf_client_new (fleet->frontend);
    zhashx_t *ids = s_submit_sleeps (client, 1, 3000);
    zhashx_first (ids);
    const char *id = (const char *) zhashx_cursor (ids);

    //  Freeze the broker only once the job runs at the worker
    char state [16] = "";
    sf_error_t error;
    for (int tries = 0; tries < 100 && !streq (state, "running"); tries++) {
        ck_assert_ptr_null (sf_client_fetch (client, id, false, 0, state, &error));
        if (!streq (state, "running"))
            zclock_sleep (20);
    }
    ck_assert_str_eq (state, "running");
    zclock_sleep (100);         //  The DISPATCH has reached the worker
    kill (broker, SIGSTOP);
    zclock_sleep (1000);
    kill (broker, SIGCONT);
    s_collect_exactly_once (client, ids, 10000);
    ck_assert_int_eq (fleet_counter (client, "requeued"), 0);
    ck_assert_int_eq (fleet_counter (client, "dispatched"), 1);
    ck_assert_int_eq (fleet_counter (client, "workers_lost"), 0);
    //  And the worker did reconnect
    char path [128];
    snprintf (path, sizeof path, "%s/hasty.log", fleet->dir);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    char line [512];
    bool reconnected = false;
    while (fgets (line, sizeof line, file))
        reconnected |= strstr (line, "connecting to") != NULL;
    fclose (file);
    ck_assert_msg (reconnected, "the worker never reconnected");
    zhashx_destroy (&ids);
    sf_client_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("fleet_faults");
    TCase *tcase = tcase_create ("faults");
    tcase_add_checked_fixture (tcase, fleet_setup, fleet_teardown);
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_worker_killed_mid_run);
    tcase_add_test (tcase, test_worker_stopped_returns_its_jobs);
    tcase_add_test (tcase, test_frozen_worker_declared_dead);
    tcase_add_test (tcase, test_worker_reconnects_after_broker_restart);
    tcase_add_test (tcase, test_worker_keeps_its_jobs_across_a_reconnect);
    suite_add_tcase (suite, tcase);
    return suite_run (suite);
}
