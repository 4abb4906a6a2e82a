/*  =========================================================================
    readme_echo - the C example of the README, whole: submit one echo job,
    wait up to five seconds for its result and print it as JSON

    The broker is $SHEAF_BROKER, else tcp://127.0.0.1:5555. Exits 0 when
    the job ended ok, 1 otherwise (also when no result came in time). The
    README shows everything below this banner; tests/check_fleet_client.c
    checks that the two agree and runs the program.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <sheaf.h>

int
main (void)
{
    sf_client_t *client = sf_client_new (NULL);         /* $SHEAF_BROKER or the default */
    sf_job_t *job = sf_job_new ("echo");
    sf_job_set_param (job, "x", "1");                   /* the value is JSON text */
    char id [SF_ID_STRLEN + 1];
    sf_error_t error;
    int rc = 1;
    if (sf_client_submit (client, job, id, &error) == 0) {
        sf_result_t *result = sf_client_wait (client, 5000, &error);
        if (result) {
            char *json = sf_result_json (result);
            puts (json);
            free (json);
            rc = sf_result_status (result) == SF_STATUS_OK? 0: 1;
            sf_result_destroy (&result);
        }
        else                                            /* NULL: no result in time */
            fprintf (stderr, "job %s: %s\n", id, error.message);
    }
    else
        fprintf (stderr, "submit: %s (%s)\n", error.message, error.code);
    sf_job_destroy (&job);
    sf_client_destroy (&client);
    return rc;
}
