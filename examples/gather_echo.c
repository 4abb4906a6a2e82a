/*  =========================================================================
    gather_echo - a complete libsheaf program: submit a batch of jobs, wait
    for every result, print each as one JSON line

        gather_echo [ENDPOINT] [COUNT]

    ENDPOINT defaults to $SHEAF_BROKER, else tcp://127.0.0.1:5555; COUNT to
    3. Exits 0 when every job ended ok, 1 when one did not, 3 when the
    broker could not be reached. Build: cc gather_echo.c $(pkg-config
    --cflags --libs sheaf).
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sheaf.h>

int
main (int argc, char *argv [])
{
    const char *endpoint = argc > 1? argv [1]: NULL;
    size_t count = argc > 2? (size_t) atoi (argv [2]): 3;
    if (count == 0 || count > 1000) {
        fprintf (stderr, "gather_echo: COUNT must be 1-1000\n");
        return 2;
    }
    sf_client_t *client = sf_client_new (endpoint);
    if (!client) {
        fprintf (stderr, "gather_echo: malformed endpoint\n");
        return 2;
    }
    //  One batch: all jobs are accepted together or not at all
    sf_job_t **jobs = calloc (count, sizeof *jobs);
    char (*ids) [SF_ID_STRLEN + 1] = calloc (count, sizeof *ids);
    for (size_t i = 0; i < count; i++) {
        jobs [i] = sf_job_new ("echo");
        char value [32];
        snprintf (value, sizeof value, "%zu", i);
        sf_job_set_param (jobs [i], "index", value);
    }
    sf_error_t error;
    int rc = 0;
    if (sf_client_submit_many (client, jobs, count, ids, &error)) {
        fprintf (stderr, "gather_echo: %s (%s)\n", error.message, error.code);
        rc = 3;
    }
    //  Results come in completion order; each job id exactly once
    for (size_t done = 0; rc == 0 && done < count; done++) {
        sf_result_t *result = sf_client_wait (client, 10000, &error);
        if (!result) {
            fprintf (stderr, "gather_echo: %s\n", error.message);
            rc = 3;
            break;
        }
        char *json = sf_result_json (result);
        printf ("%s\n", json);
        free (json);
        if (sf_result_status (result) != SF_STATUS_OK)
            rc = 1;
        sf_result_destroy (&result);
    }
    for (size_t i = 0; i < count; i++)
        sf_job_destroy (&jobs [i]);
    free (jobs);
    free (ids);
    sf_client_destroy (&client);
    return rc;
}
