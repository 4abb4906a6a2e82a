/*  =========================================================================
    sf_schedule - a schedule file: named entries, each a schedule, a zone,
    job templates and the policies the scheduler applies to them

    The format (documented in the README):

        # a comment
        [name]
        schedule = 0 6 * * 1-5
        timezone = Europe/London
        job = {"analyzer": "report", "symbol": "GOOG", "timeframe": "1d"}
        jitter = 30s
        misfire = once
        misfire_limit = 10
        grace = 10s
        overlap = forbid
        start = 2026-01-01T00:00:00Z
        end = 2027-01-01

    Instead of `job`, an entry may fire a group (one JSON object on one
    line): group = {"jobs": [{...}, ...], "then": {...}, "policy": "all",
    "min_ok": 0, "timeout_ms": 0}.

    Every mistake in a file is reported as FILE:LINE:COLUMN: message.
    ========================================================================= */

#ifndef SF_SCHEDULE_H_INCLUDED
#define SF_SCHEDULE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "sheaf.h"
#include "sf_cron.h"

#define SF_SCHEDULE_NAME_MAX 64
#define SF_SCHEDULE_JOBS_MAX 16         //  Jobs of a `job = [...]` list
#define SF_SCHEDULE_GROUP_MAX 1000      //  Jobs of a `group` (a line holds 4096 bytes)

//  What to do with firings missed while no scheduler ran.
typedef enum {
    SF_MISFIRE_SKIP,            //  Drop them
    SF_MISFIRE_ONCE,            //  Fire the latest one
    SF_MISFIRE_ALL              //  Fire every one, the latest misfire_limit
} sf_misfire_t;

//  What to do when a firing is due while the previous one is unfinished.
typedef enum {
    SF_OVERLAP_ALLOW,           //  Fire anyway
    SF_OVERLAP_FORBID,          //  Skip this firing
    SF_OVERLAP_REPLACE          //  Cancel the unfinished run, then fire
} sf_overlap_t;

typedef struct {
    char name [SF_SCHEDULE_NAME_MAX + 1];   //  [name]
    int line;                   //  Line of the [name] header
    sf_cron_t *cron;            //  schedule + timezone
    char **jobs;                //  Job templates as JSON objects (owned)
    size_t job_count;           //  1 .. SF_SCHEDULE_JOBS_MAX, or SF_SCHEDULE_GROUP_MAX
    bool group;                 //  The jobs are one group's items (group = ...)
    char *then;                 //  The group's chord as a JSON object, or NULL
    sf_gather_policy_t policy;  //  The group's policy
    unsigned min_ok;            //  The group's quorum (0: none)
    unsigned timeout_ms;        //  The group's deadline (0: none)
    int64_t jitter;             //  Seconds, a fixed delay 0..jitter per firing
    int64_t grace;              //  Seconds a firing may be late and still count
    sf_misfire_t misfire;       //  Policy for older missed firings
    size_t misfire_limit;       //  Most firings `misfire = all` catches up
    sf_overlap_t overlap;       //  Policy for unfinished previous runs
    int overlap_line;           //  Line of the overlap key, 0 if absent
    int64_t start;              //  First instant that may fire (0: any)
    int64_t end;                //  Last instant that may fire (INT64_MAX: any)
} sf_schedule_entry_t;

typedef struct _sf_schedule_t sf_schedule_t;

//  Read and parse the file at path. Returns the schedule, or NULL with
//  *errors set to every mistake, one "PATH:LINE:COLUMN: message" a line
//  (the caller frees it).
sf_schedule_t *sf_schedule_load (const char *path, char **errors);

//  Parse text; origin names it in messages. As sf_schedule_load.
sf_schedule_t *sf_schedule_parse (const char *text, const char *origin, char **errors);

void sf_schedule_destroy (sf_schedule_t **self_p);

//  Number of entries, and entry index in file order (borrowed).
size_t sf_schedule_size (const sf_schedule_t *self);
sf_schedule_entry_t *sf_schedule_entry (sf_schedule_t *self, size_t index);

//  The entry named name, or NULL (borrowed).
sf_schedule_entry_t *sf_schedule_find (sf_schedule_t *self, const char *name);

//  The first instant after `after` at which entry fires, honouring start
//  and end, or -1 when it never fires again.
int64_t sf_schedule_next (sf_schedule_entry_t *entry, int64_t after);

//  The delay in seconds (0..jitter) of entry's firing at instant: derived
//  from the name and the instant, so every scheduler agrees on it.
int64_t sf_schedule_jitter (const sf_schedule_entry_t *entry, int64_t instant);

//  Names of the policies as the file spells them.
const char *sf_schedule_misfire_name (sf_misfire_t misfire);
const char *sf_schedule_overlap_name (sf_overlap_t overlap);

#endif
