/*  =========================================================================
    gather - `sheaf gather [OPTIONS] FILE`: run the jobs of a JSON-lines file
    as one group and print their results in input order

    Every line is checked before anything is sent: a file with a bad line
    submits nothing. The group is one GROUP message; the broker answers
    once. Its id is printed on stderr as soon as the broker has accepted
    it, so that an interrupted gather can be followed with `sheaf result`.
    When stderr is a terminal the items are streamed (GROUP_ITEM) to drive
    a progress bar; they are still printed in input order unless --stream
    asks for completion order.
    ========================================================================= */

#include <czmq.h>
#include <unistd.h>
#include "sf_alloc.h"
#include "sf_cli.h"

static const sf_cli_option_t s_options [] = {
    { "--policy", NULL, "all|fail-fast|any", "when the group is decided: all items ended "
      "(default), the first failed item fails it, or the first ok item wins" },
    { "--min-ok", NULL, "N", "quorum: ok as soon as N items are ok (replaces the policy)" },
    { "--deadline", NULL, "MS", "the group's deadline: unfinished items end as timeout and "
      "the group answers with state timeout and what it has" },
    { "--stream", NULL, NULL, "print each item as it finishes, then the summary" },
    { "--then", NULL, "JOB_JSON", "a chord: a job run on the gathered results when the group "
      "succeeds; its result is printed alone" },
    { "--key", NULL, "KEY", "the group's idempotency key (1-256 bytes): a group the broker "
      "keeps under KEY answers instead, and nothing new runs" },
    { NULL, NULL, NULL, NULL }
};

static sf_cli_run_fn s_run;

const sf_cli_command_t sf_cli_gather = {
    "gather", "FILE [OPTIONS]",
    "run a file of jobs (one JSON job a line) as one group",
    "Submits the jobs of FILE (one JSON job a line, blank lines skipped; - reads stdin) as "
    "one group and prints each item's result as a JSON line in input order. Every line is "
    "checked first: a bad line is reported as FILE:LINE and nothing is sent. The group's id "
    "is printed on stderr once the broker has accepted it; the group goes on in the broker "
    "if the command is interrupted or its --timeout passes (exit 6), and `sheaf result ID` "
    "shows it later. Without --timeout the command waits for the answer however long it "
    "takes.",
    "JSON lines: each item's result object (with its \"index\"), or the chord's result, "
    "then the summary {\"group\", \"state\", \"total\", \"ok\", \"error\", "
    "\"timeout\", \"cancelled\", \"dead\"}.",
    s_options, s_run
};

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

//  Apply one option to opts (*then for --then). Returns 0, or the exit
//  code after reporting what was wrong.
static int
s_apply (sf_cli_t *cli, sf_gather_opts_t *opts, const char **then, const char *option,
         const char *value)
{
    const sf_cli_command_t *command = &sf_cli_gather;
    long long number;
    if (streq (option, "--stream"))
        opts->stream = true;
    else
    if (streq (option, "--policy")) {
        if (streq (value, "all"))
            opts->policy = SF_GATHER_ALL;
        else
        if (streq (value, "fail-fast"))
            opts->policy = SF_GATHER_FAIL_FAST;
        else
        if (streq (value, "any"))
            opts->policy = SF_GATHER_ANY;
        else
            return sf_cli_usage (cli, command, "--policy is all, fail-fast or any, not \"%s\"",
                                 value);
    }
    else
    if (streq (option, "--min-ok")) {
        if (sf_cli_integer (cli, command, option, value, 1, 100000, &number))
            return SF_EXIT_USAGE;
        opts->min_ok = (unsigned) number;
    }
    else
    if (streq (option, "--deadline")) {
        if (sf_cli_integer (cli, command, option, value, 1, UINT32_MAX, &number))
            return SF_EXIT_USAGE;
        opts->timeout_ms = (unsigned) number;
    }
    else
    if (streq (option, "--then"))
        *then = value;
    else
    if (streq (option, "--key")) {
        size_t size = strlen (value);
        if (size == 0 || size > 256)
            return sf_cli_usage (cli, command, "--key must be 1-256 bytes");
        opts->key = value;
    }
    return 0;
}

static void
s_free_jobs (sf_job_t **jobs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        sf_job_destroy (&jobs [i]);
    free (jobs);
}

//  Read the job file: one job a line, blank lines skipped. Every bad line
//  is reported on stderr with its number. Returns the jobs (count in
//  *count), or NULL with why (the first mistake) when a line was bad or the
//  file could not be read.
static sf_job_t **
s_read_jobs (const char *path, size_t max_jobs, size_t *count, char *why, size_t why_size)
{
    FILE *file = streq (path, "-")? stdin: fopen (path, "r");
    if (!file) {
        snprintf (why, why_size, "cannot read %s: %s", path, strerror (errno));
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
            if (!bad)
                snprintf (why, why_size, "%s:%zu: %s", path, number, error.message);
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
        snprintf (why, why_size, "%s holds no jobs", path);
        bad++;
    }
    if (!bad && size > max_jobs) {
        snprintf (why, why_size, "%s holds %zu jobs; a group holds at most 100000 with its "
                  "chord", path, size);
        bad++;
    }
    if (bad) {
        s_free_jobs (jobs, size);
        if (bad > 1) {
            size_t used = strlen (why);
            snprintf (why + used, why_size - used, " (and %zu more bad lines)", bad - 1);
        }
        size_t used = strlen (why);
        snprintf (why + used, why_size - used, "; nothing submitted");
        return NULL;
    }
    *count = size;
    return jobs;
}

static int
s_run (sf_cli_t *cli, const sf_cli_command_t *command, int argc, char *argv [])
{
    sf_cli_args_t args;
    int rc = sf_cli_parse (cli, command, argc, argv, &args);
    if (rc >= 0)
        return rc;
    rc = 0;
    sf_gather_opts_t opts = { SF_GATHER_ALL, 0, 0, false, NULL, NULL };
    const char *then = NULL;
    for (size_t i = 0; rc == 0 && i < args.option_count; i++)
        rc = s_apply (cli, &opts, &then, args.options [i].name, args.options [i].value);
    const char *path = args.word_count == 1? args.words [0]: NULL;
    size_t words = args.word_count;
    sf_cli_args_free (&args);
    if (rc)
        return rc;
    if (!path)
        return sf_cli_usage (cli, command, words? "one job file only":
                             "which job file? (one JSON job a line, - for stdin)");
    if (then) {
        sf_error_t error;
        opts.then = sf_job_from_json (then, &error);
        if (!opts.then)
            return sf_cli_usage (cli, command, "--then: %s", error.message);
    }
    size_t count = 0;
    char why [512] = "";
    sf_job_t **jobs = s_read_jobs (path, opts.then? 99999: 100000, &count, why, sizeof why);
    if (!jobs) {
        sf_job_destroy (&opts.then);
        return sf_cli_usage (cli, command, "%s", why);
    }
    if (opts.min_ok > count) {
        s_free_jobs (jobs, count);
        sf_job_destroy (&opts.then);
        return sf_cli_usage (cli, command, "--min-ok %u is more than the %zu jobs",
                             opts.min_ok, count);
    }

    sf_client_t *client = sf_cli_connect (cli, &rc);
    if (!client) {
        s_free_jobs (jobs, count);
        sf_job_destroy (&opts.then);
        return rc;
    }
    s_run_t run = { .cli = cli, .stream = opts.stream, .progress = isatty (STDERR_FILENO),
                    .total = count, .started = zclock_mono () };
    run.held = (sf_result_t **) sf_alloc_array (count, sizeof (sf_result_t *));
    opts.stream = opts.stream || run.progress;
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    if (sf_gather_start (client, jobs, count, &opts, s_on_item, s_on_done, &run, id, &error))
        rc = sf_cli_fail (cli, "gather", &error);
    else
        fprintf (stderr, "sheaf: gather: group %s accepted, %zu job%s\n", id, count,
                 count == 1? "": "s");
    s_free_jobs (jobs, count);
    sf_job_destroy (&opts.then);

    //  Until the answer, a signal, the broker's refusal (the group was
    //  lost with a broker's store) or the end of --timeout
    int wait_ms = sf_cli_left (cli, -1);
    int64_t deadline = wait_ms < 0? -1: zclock_mono () + wait_ms;
    while (rc == SF_EXIT_OK && !run.answer) {
        int64_t left = deadline < 0? 200: deadline - zclock_mono ();
        sf_event_t event;
        int interrupted = sf_client_recv (client, left < 200? (int) (left > 0? left: 0): 200,
                                          &event);
        if (event.kind == SF_EVENT_RESULT)
            sf_result_destroy (&event.result);
        if (run.answer)
            break;
        if (interrupted || (deadline >= 0 && zclock_mono () >= deadline)) {
            if (run.progress)
                fputc ('\n', stderr);
            rc = sf_cli_error (cli, SF_EXIT_NOT_FINISHED, "NOT_FINISHED", id,
                               "gather: %s; group %s goes on: `sheaf result %s` shows it "
                               "later", interrupted? "interrupted": "--timeout passed", id, id);
        }
        else
        if (event.kind == SF_EVENT_REJECTED)
            rc = sf_cli_fail (cli, "gather", &event.error);
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
