/*  =========================================================================
    fuzz_schedule - fuzz target for schedule files (sf_schedule) and cron
    expressions (sf_cron)

    The input is a schedule file. Either it is refused with a report whose
    every line reads "fuzz:LINE:COLUMN: message", or it is accepted and
    each entry's next fire times strictly increase. Its first line is also
    tried as a bare expression in UTC and in Australia/Lord_Howe: accepted,
    its fire times strictly increase; refused, the column of the mistake
    lies within the expression (or just after it). A broken promise aborts.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_cron.h"
#include "sf_schedule.h"

#define S_REQUIRE(condition)                                                   \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf (stderr, "fuzz_schedule: %s:%d: broken promise: %s\n",     \
                     __FILE__, __LINE__, #condition);                          \
            abort ();                                                          \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  2026-03-28T00:00:00Z: a day before Europe's spring change
#define S_FROM 1774656000

static void
s_check_increasing (sf_cron_t *cron)
{
    int64_t instant = S_FROM;
    for (int i = 0; i < 3; i++) {
        int64_t next = sf_cron_next (cron, instant);
        if (next < 0)
            return;
        S_REQUIRE (next > instant);
        instant = next;
    }
}

static void
s_check_expression (const char *text)
{
    const char *zones [] = { NULL, "Australia/Lord_Howe" };
    for (size_t z = 0; z < 2; z++) {
        sf_error_t error;
        int column = 0;
        sf_cron_t *cron = sf_cron_new (text, zones [z], &error, &column);
        if (cron) {
            s_check_increasing (cron);
            sf_cron_destroy (&cron);
        }
        else {
            S_REQUIRE (column >= 1 && (size_t) column <= strlen (text) + 1);
            S_REQUIRE (strlen (error.message) > 0);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc (size + 1);
    if (!text)
        abort ();
    memcpy (text, data, size);
    text [size] = 0;
    if (strlen (text) != size) {        //  A NUL: files with one are refused first
        free (text);
        return 0;
    }
    char *errors = NULL;
    sf_schedule_t *schedule = sf_schedule_parse (text, "fuzz", &errors);
    if (schedule) {
        S_REQUIRE (!errors);
        S_REQUIRE (sf_schedule_size (schedule) > 0);
        for (size_t i = 0; i < sf_schedule_size (schedule); i++) {
            sf_schedule_entry_t *entry = sf_schedule_entry (schedule, i);
            S_REQUIRE (entry->job_count >= 1 && entry->job_count <= SF_SCHEDULE_JOBS_MAX);
            int64_t next = sf_schedule_next (entry, S_FROM);
            S_REQUIRE (next == -1 || next > S_FROM);
            S_REQUIRE (next == -1 || next <= entry->end);
            int64_t jitter = sf_schedule_jitter (entry, S_FROM);
            S_REQUIRE (jitter >= 0 && jitter <= entry->jitter);
        }
        sf_schedule_destroy (&schedule);
    }
    else {
        S_REQUIRE (errors && *errors);
        for (char *line = errors; *line; line = strchr (line, '\n') + 1) {
            S_REQUIRE (strchr (line, '\n'));
            int number, column;
            S_REQUIRE ((sscanf (line, "fuzz:%d:%d: ", &number, &column) == 2
                        && number >= 1 && column >= 1)
                    || strncmp (line, "(more mistakes", 14) == 0);
        }
        free (errors);
    }
    char first [512];
    size_t length = strcspn (text, "\n");
    if (length < sizeof first) {
        memcpy (first, text, length);
        first [length] = 0;
        s_check_expression (first);
    }
    free (text);
    return 0;
}
