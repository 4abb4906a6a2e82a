/*  =========================================================================
    gather - `sheaf gather [OPTIONS] FILE`: run the jobs of a JSON-lines file
    as one group and print their results in input order

    Every line is checked before anything is sent: a file with a bad line
    submits nothing. The group is one GROUP message; the broker answers
    once. When stderr is a terminal the items are streamed (GROUP_ITEM) to
    drive a progress bar; they are still printed in input order unless
    --stream asks for completion order.
    ========================================================================= */

#include <czmq.h>
#include <unistd.h>
#include "sf_alloc.h"
#include "sf_cli.h"

//  What the callbacks share with the loop.
typedef struct {
    sf_cli_t *cli;              //  Output options
    bool stream;                //  --stream: print items as they come
    bool progress;              //  Draw the progress bar on stderr
    size_t total;               //  Items in the group
    size_t done;                //  Items received
    size_t failed;              //  Of them not ok
    sf_result_t **held;         //  Streamed items held for input order
    sf_gather_t *answer;        //  The answer, once here
    int64_t started;            //  zclock_mono at submission
    int64_t drawn;              //  When the bar was last drawn
} s_run_t;

static void
s_draw (s_run_t *run, bool force)
{
    int64_t now = zclock_mono ();
    if (!run->progress || (!force && now - run->drawn < 100))
        return;
    run->drawn = now;
    double seconds = (double) (now - run->started) / 1000.0;
    double rate = seconds > 0? (double) run->done / seconds: 0;
    int width = 30;
    int filled = run->total? (int) (width * run->done / run->total): width;
    char bar [64];
    for (int i = 0; i < width; i++)
        bar [i] = i < filled? '#': '.';
    bar [width] = 0;
    char eta [32] = "-";
    if (rate > 0 && run->done < run->total)
        snprintf (eta, sizeof eta, "%.0fs", (double) (run->total - run->done) / rate);
    fprintf (stderr, "\r[%s] %zu/%zu done, %zu failed, %.0f/s, ETA %s   ", bar, run->done,
             run->total, run->failed, rate, eta);
}

static void
s_print (sf_result_t *result)
{
    char *text = sf_result_json (result);
    puts (text);
    free (text);
}

static void
s_on_item (size_t index, sf_result_t *result, void *arg)
{
    s_run_t *run = (s_run_t *) arg;
    run->done++;
    run->failed += sf_result_status (result) != SF_STATUS_OK;
    if (run->stream) {
        s_print (result);
        sf_result_destroy (&result);
        fflush (stdout);
    }
    else
    if (index < run->total) {
        sf_result_destroy (&run->held [index]);
        run->held [index] = result;
    }
    else
        sf_result_destroy (&result);
    s_draw (run, false);
}

static void
s_on_done (sf_gather_t *gather, void *arg)
{
    ((s_run_t *) arg)->answer = gather;
}

//  Read the job file: one job a line, blank lines skipped. Every bad line
//  is reported with its number. Returns the jobs (count in *count), or
//  NULL when a line was bad or the file could not be read.
static sf_job_t **
s_read_jobs (const char *path, size_t max_jobs, size_t *count)
{
    FILE *file = streq (path, "-")? stdin: fopen (path, "r");
    if (!file) {
        fprintf (stderr, "sheaf: gather: cannot read %s: %s\n", path, strerror (errno));
        return NULL;
    }
    sf_job_t **jobs = NULL;
    size_t size = 0, max = 0, bad = 0, number = 0;
    char *line = NULL;
    size_t line_max = 0;
    ssize_t length;
    while ((length = getline (&line, &line_max, file)) >= 0) {
        number++;
        while (length > 0 && (line [length - 1] == '\n' || line [length - 1] == '\r'))
            line [--length] = 0;
        size_t blank = strspn (line, " \t");
        if (line [blank] == 0)
            continue;
        sf_error_t error;
        sf_job_t *job = sf_job_from_json (line, &error);
        if (!job) {
            fprintf (stderr, "sheaf: gather: %s:%zu: %s\n", path, number, error.message);
            bad++;
            continue;
        }
        if (size == max) {
            max = max? max * 2: 1024;
            jobs = (sf_job_t **) sf_alloc_resize (jobs, max, sizeof *jobs);
        }
        jobs [size++] = job;
    }
    free (line);
    if (file != stdin)
        fclose (file);
    if (!bad && size == 0) {
        fprintf (stderr, "sheaf: gather: %s holds no jobs\n", path);
        bad++;
    }
    if (!bad && size > max_jobs) {
        fprintf (stderr, "sheaf: gather: %s holds %zu jobs; a group holds at most 100000 "
                         "with its chord\n", path, size);
        bad++;
    }
    if (bad) {
        for (size_t i = 0; i < size; i++)
            sf_job_destroy (&jobs [i]);
        free (jobs);
        if (number)
            fprintf (stderr, "sheaf: gather: nothing submitted\n");
        return NULL;
    }
    *count = size;
    return jobs;
}

int
sf_cli_gather (sf_cli_t *cli, int argc, char *argv [])
{
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, NULL, NULL };
    const char *path = NULL, *then = NULL;
    for (int i = 0; i < argc; i++) {
        const char *option = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        if (streq (option, "--stream"))
            opts.stream = true;
        else
        if (streq (option, "--json"))
            cli->json = true;
        else
        if (option [0] != '-' || streq (option, "-")) {
            if (path) {
                fprintf (stderr, "sheaf: gather: one job file only\n");
                return SF_EXIT_USAGE;
            }
            path = option;
        }
        else
        if (!value) {
            fprintf (stderr, "sheaf: gather: unknown option or missing value \"%s\"\n", option);
            return SF_EXIT_USAGE;
        }
        else {
            i++;
            if (streq (option, "--policy")) {
                if (streq (value, "all"))
                    opts.policy = SF_GATHER_ALL;
                else
                if (streq (value, "fail-fast"))
                    opts.policy = SF_GATHER_FAIL_FAST;
                else
                if (streq (value, "any"))
                    opts.policy = SF_GATHER_ANY;
                else {
                    fprintf (stderr, "sheaf: gather: --policy is all, fail-fast or any\n");
                    return SF_EXIT_USAGE;
                }
            }
            else
            if (streq (option, "--min-ok"))
                opts.min_ok = (unsigned) sf_cli_number ("min-ok", value, 1, 100000);
            else
            if (streq (option, "--timeout"))
                opts.timeout_ms = (unsigned) sf_cli_number ("timeout", value, 1, UINT32_MAX);
            else
            if (streq (option, "--then"))
                then = value;
            else
            if (streq (option, "--key"))
                opts.key = value;
            else
            if (streq (option, "--broker"))
                cli->broker = value;
            else {
                fprintf (stderr, "sheaf: gather: unknown option \"%s\"\n", option);
                return SF_EXIT_USAGE;
            }
        }
    }
    if (!path) {
        fprintf (stderr, "sheaf: gather needs a job file, one JSON job a line "
                         "(see sheaf --help)\n");
        return SF_EXIT_USAGE;
    }
    if (then) {
        sf_error_t error;
        opts.then = sf_job_from_json (then, &error);
        if (!opts.then) {
            fprintf (stderr, "sheaf: gather: --then: %s\n", error.message);
            return SF_EXIT_USAGE;
        }
    }
    size_t count = 0;
    sf_job_t **jobs = s_read_jobs (path, opts.then? 99999: 100000, &count);
    if (!jobs) {
        sf_job_destroy (&opts.then);
        return SF_EXIT_USAGE;
    }
    if (opts.min_ok > count) {
        fprintf (stderr, "sheaf: gather: --min-ok %u is more than the %zu jobs\n",
                 opts.min_ok, count);
        for (size_t i = 0; i < count; i++)
            sf_job_destroy (&jobs [i]);
        free (jobs);
        sf_job_destroy (&opts.then);
        return SF_EXIT_USAGE;
    }

    //  --timeout is the group's deadline here; replies get the default
    sf_cli_t connect = *cli;
    connect.timeout_ms = -1;
    sf_client_t *client = sf_cli_connect (&connect);
    s_run_t run = { .cli = cli, .stream = opts.stream, .progress = isatty (STDERR_FILENO),
                    .total = count, .started = zclock_mono () };
    run.held = (sf_result_t **) sf_alloc_array (count, sizeof (sf_result_t *));
    opts.stream = opts.stream || run.progress;
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    int rc = SF_EXIT_OK;
    if (sf_gather_start (client, jobs, count, &opts, s_on_item, s_on_done, &run, id, &error))
        rc = sf_cli_fail ("gather", &error);
    for (size_t i = 0; i < count; i++)
        sf_job_destroy (&jobs [i]);
    free (jobs);
    sf_job_destroy (&opts.then);

    while (rc == SF_EXIT_OK && !run.answer) {
        sf_event_t event;
        if (sf_client_recv (client, 200, &event)) {
            if (run.progress)
                fputc ('\n', stderr);
            fprintf (stderr, "sheaf: gather: interrupted; group %s goes on: "
                             "`sheaf result %s` shows it later\n", id, id);
            rc = SF_EXIT_NOT_FINISHED;
        }
        else
        if (event.kind == SF_EVENT_RESULT)
            sf_result_destroy (&event.result);
        s_draw (&run, false);
    }
    if (run.answer) {
        if (run.progress) {
            s_draw (&run, true);
            fputc ('\n', stderr);
        }
        //  A known key answers with its group, which may hold other jobs
        bool own = sf_gather_size (run.answer) == count;
        rc = sf_cli_print_gather (cli, run.answer, own? run.held: NULL, run.stream);
    }
    for (size_t i = 0; i < count; i++)
        sf_result_destroy (&run.held [i]);
    free (run.held);
    sf_gather_destroy (&run.answer);
    sf_client_destroy (&client);
    return rc;
}
