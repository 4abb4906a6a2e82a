/*  =========================================================================
    sf_schedule - a schedule file: named entries, each a schedule, a zone,
    job templates and the policies the scheduler applies to them

    The parser reads the file line by line: a section header starts an
    entry, `key = value` lines fill it, and an entry is checked as a whole
    when the next header or the end of the file closes it. Parsing goes on
    after a mistake so that one run reports every mistake, each with the
    line and column where it is; a file with any mistake yields no
    schedule at all.
    ========================================================================= */

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sf_schedule.h"

#define S_ERRORS_MAX 50

struct _sf_schedule_t {
    sf_schedule_entry_t **entries;  //  In file order
    size_t size;                //  How many
    size_t capacity;            //  Room in entries
};

//  A parse in progress.
typedef struct {
    const char *origin;         //  File name for messages
    char *errors;               //  Report so far (malloc'ed), or NULL
    size_t error_count;         //  Mistakes found
    sf_schedule_t *schedule;    //  What is being built
    sf_schedule_entry_t *entry; //  Entry being filled, or NULL
    bool entry_bad;             //  A mistake was found in it
    char *schedule_text;        //  Its schedule = value
    char *zone;                 //  Its timezone = value
    int zone_line;              //  Where that is
    int zone_column;
    const char *template_key;   //  "job" or "group" when the entry has one, or NULL
    int template_line;          //  Where
    bool skipping;              //  Inside a section whose header was bad
} s_parser_t;

static void
s_error (s_parser_t *parser, int line, int column, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_error (s_parser_t *parser, int line, int column, const char *format, ...)
{
    parser->error_count++;
    if (parser->entry)
        parser->entry_bad = true;
    if (parser->error_count > S_ERRORS_MAX)
        return;
    char message [512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    char *line_text;
    if (parser->error_count == S_ERRORS_MAX)
        line_text = strdup ("(more mistakes not shown)\n");
    else
    if (asprintf (&line_text, "%s:%d:%d: %s\n", parser->origin, line, column, message) < 0)
        abort ();
    size_t old = parser->errors? strlen (parser->errors): 0;
    parser->errors = realloc (parser->errors, old + strlen (line_text) + 1);
    if (!parser->errors || !line_text)
        abort ();
    strcpy (parser->errors + old, line_text);
    free (line_text);
}

static void
s_entry_destroy (sf_schedule_entry_t **entry_p)
{
    if (*entry_p) {
        sf_schedule_entry_t *entry = *entry_p;
        sf_cron_destroy (&entry->cron);
        for (size_t i = 0; i < entry->job_count; i++)
            free (entry->jobs [i]);
        free (entry->jobs);
        free (entry->then);
        free (entry);
        *entry_p = NULL;
    }
}

//  "30s", "5m", "1h30m", "0", "0s": seconds, or -1.
static int64_t
s_seconds (const char *text)
{
    size_t zeros = strspn (text, "0");
    if (zeros && (!text [zeros] || (strchr ("dhms", text [zeros]) && !text [zeros + 1])))
        return 0;               //  "0", "0s": no delay
    sf_error_t error;
    int column;
    char every [80];
    snprintf (every, sizeof every, "@every %s", text);
    if (strlen (text) > 60)
        return -1;
    sf_cron_t *cron = sf_cron_new (every, NULL, &error, &column);
    if (!cron)
        return -1;
    int64_t seconds = sf_cron_next (cron, 0);
    sf_cron_destroy (&cron);
    return seconds;
}

//  Close the entry being filled: check it as a whole and keep it or drop it.
static void
s_close_entry (s_parser_t *parser)
{
    sf_schedule_entry_t *entry = parser->entry;
    if (!entry)
        return;
    if (!parser->schedule_text)
        s_error (parser, entry->line, 1, "[%s] has no schedule", entry->name);
    if (!entry->job_count && !parser->entry_bad)
        s_error (parser, entry->line, 1, "[%s] has no job (a job or a group key)", entry->name);
    if (parser->schedule_text && !parser->entry_bad) {
        sf_error_t error;
        int column = 1;
        entry->cron = sf_cron_new (parser->schedule_text, parser->zone, &error, &column);
        if (!entry->cron)
            s_error (parser, parser->zone_line, parser->zone_column, "timezone: %s",
                     error.message);
    }
    if (!parser->entry_bad && entry->start > entry->end)
        s_error (parser, entry->line, 1, "[%s]: start is after end", entry->name);
    if (parser->entry_bad)
        s_entry_destroy (&parser->entry);
    else {
        sf_schedule_t *schedule = parser->schedule;
        if (schedule->size == schedule->capacity) {
            schedule->capacity = schedule->capacity? schedule->capacity * 2: 16;
            schedule->entries = realloc (schedule->entries,
                                         schedule->capacity * sizeof (sf_schedule_entry_t *));
            if (!schedule->entries)
                abort ();
        }
        schedule->entries [schedule->size++] = entry;
        parser->entry = NULL;
    }
    free (parser->schedule_text);
    free (parser->zone);
    parser->schedule_text = NULL;
    parser->zone = NULL;
    parser->template_key = NULL;
    parser->entry_bad = false;
}

//  The second of job and group in one entry: returns true (and reports it)
//  when the entry has one already.
static bool
s_template_twice (s_parser_t *parser, const char *key, int line)
{
    if (parser->template_key) {
        if (strcmp (parser->template_key, key) == 0)
            s_error (parser, line, 1, "%s: given twice in [%s] (first on line %d)", key,
                     parser->entry->name, parser->template_line);
        else
            s_error (parser, line, 1, "%s: [%s] has a %s already (line %d); an entry fires "
                     "a job or a group, not both", key, parser->entry->name,
                     parser->template_key, parser->template_line);
        return true;
    }
    parser->template_key = key;
    parser->template_line = line;
    return false;
}

//  One job template of a job list or a group (what names it in messages):
//  checked as a job without a key. Returns its compact JSON (the caller
//  frees it), or NULL after reporting the mistake at line and column.
static char *
s_template (s_parser_t *parser, json_t *item, const char *what, int line, int column)
{
    if (json_is_object (item) && json_object_get (item, "key")) {
        s_error (parser, line, column, "%s: \"key\" is set by the scheduler "
                 "(schedule:NAME:TIME)", what);
        return NULL;
    }
    char *text = json_dumps (item, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    sf_error_t error;
    sf_job_t *job = sf_job_from_json (text, &error);
    if (!job) {
        s_error (parser, line, column, "%s: %s", what, error.message);
        free (text);
        return NULL;
    }
    sf_job_destroy (&job);
    return text;
}

//  job = {...} or [{...}, ...]: validate each template as a job.
static void
s_jobs (s_parser_t *parser, sf_schedule_entry_t *entry, const char *value, int line, int column)
{
    json_error_t jerror;
    json_t *json = json_loads (value, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerror);
    if (!json) {
        s_error (parser, line, column + (jerror.position > 0? jerror.position - 1: 0),
                 "job: not valid JSON: %s", jerror.text);
        return;
    }
    json_t *list = json_is_array (json)? json_incref (json): json_pack ("[O]", json);
    if (!json_is_array (json) && !json_is_object (json))
        s_error (parser, line, column, "job: expected a JSON object or a list of objects");
    else
    if (json_array_size (list) == 0 || json_array_size (list) > SF_SCHEDULE_JOBS_MAX)
        s_error (parser, line, column, "job: a list holds 1-%d jobs", SF_SCHEDULE_JOBS_MAX);
    else {
        entry->jobs = (char **) calloc (json_array_size (list), sizeof (char *));
        if (!entry->jobs)
            abort ();
        size_t index;
        json_t *item;
        json_array_foreach (list, index, item) {
            char what [32];
            if (json_is_array (json))
                snprintf (what, sizeof what, "job %zu", index + 1);
            else
                snprintf (what, sizeof what, "job");
            char *text = s_template (parser, item, what, line, column);
            if (!text)
                break;
            entry->jobs [entry->job_count++] = text;
        }
    }
    json_decref (list);
    json_decref (json);
}

//  group = {"jobs": [...], "then": {...}, "policy": ..., "min_ok": N,
//  "timeout_ms": N}: validate the options and every template.
static void
s_group (s_parser_t *parser, sf_schedule_entry_t *entry, const char *value, int line,
         int column)
{
    json_error_t jerror;
    json_t *json = json_loads (value, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerror);
    if (!json) {
        s_error (parser, line, column + (jerror.position > 0? jerror.position - 1: 0),
                 "group: not valid JSON: %s", jerror.text);
        return;
    }
    if (!json_is_object (json)) {
        s_error (parser, line, column, "group: expected a JSON object {\"jobs\": [...], ...}");
        json_decref (json);
        return;
    }
    const char *name;
    json_t *item;
    json_object_foreach (json, name, item)
        if (strcmp (name, "jobs") && strcmp (name, "then") && strcmp (name, "policy")
        &&  strcmp (name, "min_ok") && strcmp (name, "timeout_ms")) {
            s_error (parser, line, column, "group: unknown field \"%.32s\" (jobs, then, "
                     "policy, min_ok, timeout_ms)", name);
            json_decref (json);
            return;
        }
    json_t *jobs = json_object_get (json, "jobs");
    json_t *then = json_object_get (json, "then");
    json_t *policy = json_object_get (json, "policy");
    json_t *min_ok = json_object_get (json, "min_ok");
    json_t *timeout = json_object_get (json, "timeout_ms");
    if (!jobs)
        s_error (parser, line, column, "group: \"jobs\" is missing (a list of 1-%d jobs)",
                 SF_SCHEDULE_GROUP_MAX);
    else
    if (!json_is_array (jobs) || json_array_size (jobs) == 0
    ||  json_array_size (jobs) > SF_SCHEDULE_GROUP_MAX)
        s_error (parser, line, column, "group: \"jobs\" is a list of 1-%d jobs",
                 SF_SCHEDULE_GROUP_MAX);
    if (policy) {
        const char *text = json_string_value (policy);
        if (text && strcmp (text, "all") == 0)
            entry->policy = SF_GATHER_ALL;
        else
        if (text && strcmp (text, "fail-fast") == 0)
            entry->policy = SF_GATHER_FAIL_FAST;
        else
        if (text && strcmp (text, "any") == 0)
            entry->policy = SF_GATHER_ANY;
        else
            s_error (parser, line, column, "group: \"policy\" is \"all\", \"fail-fast\" "
                     "or \"any\"");
    }
    if (timeout) {
        if (!json_is_integer (timeout) || json_integer_value (timeout) < 0
        ||  json_integer_value (timeout) > UINT32_MAX)
            s_error (parser, line, column, "group: \"timeout_ms\" is a number 0-4294967295");
        else
            entry->timeout_ms = (unsigned) json_integer_value (timeout);
    }
    if (min_ok) {
        size_t count = json_is_array (jobs)? json_array_size (jobs): 0;
        if (!json_is_integer (min_ok) || json_integer_value (min_ok) < 0
        ||  (json_int_t) count < json_integer_value (min_ok))
            s_error (parser, line, column, "group: \"min_ok\" is a number from 0 to the "
                     "number of jobs (%zu)", count);
        else
            entry->min_ok = (unsigned) json_integer_value (min_ok);
    }
    if (then && !json_is_object (then))
        s_error (parser, line, column, "group: \"then\" is a job (a JSON object)");
    else
    if (then)
        entry->then = s_template (parser, then, "group: then", line, column);
    if (!parser->entry_bad) {
        entry->group = true;
        entry->jobs = (char **) calloc (json_array_size (jobs), sizeof (char *));
        if (!entry->jobs)
            abort ();
        size_t index;
        json_array_foreach (jobs, index, item) {
            char what [32];
            snprintf (what, sizeof what, "group: job %zu", index + 1);
            char *text = s_template (parser, item, what, line, column);
            if (!text)
                break;
            entry->jobs [entry->job_count++] = text;
        }
    }
    json_decref (json);
}

static void
s_key (s_parser_t *parser, const char *key, const char *value, int line, int column)
{
    sf_schedule_entry_t *entry = parser->entry;
    if (strcmp (key, "schedule") == 0) {
        free (parser->schedule_text);
        parser->schedule_text = strdup (value);
        //  The syntax is checked here, the zone when the entry closes
        sf_error_t error;
        int offset = 1;
        sf_cron_t *cron = sf_cron_new (value, NULL, &error, &offset);
        if (!cron)
            s_error (parser, line, column + offset - 1, "schedule: %s", error.message);
        sf_cron_destroy (&cron);
    }
    else
    if (strcmp (key, "timezone") == 0) {
        free (parser->zone);
        parser->zone = strdup (value);
        parser->zone_line = line;
        parser->zone_column = column;
        if (!sf_cron_zone_valid (value))
            s_error (parser, line, column, "timezone: unknown time zone \"%.64s\" (an IANA "
                     "name such as Europe/London)", value);
    }
    else
    if (strcmp (key, "job") == 0) {
        if (!s_template_twice (parser, "job", line))
            s_jobs (parser, entry, value, line, column);
    }
    else
    if (strcmp (key, "group") == 0) {
        if (!s_template_twice (parser, "group", line))
            s_group (parser, entry, value, line, column);
    }
    else
    if (strcmp (key, "jitter") == 0 || strcmp (key, "grace") == 0) {
        int64_t seconds = s_seconds (value);
        if (seconds < 0)
            s_error (parser, line, column, "%s: expected a duration such as 30s, 5m or 1h30m",
                     key);
        else
        if (*key == 'j')
            entry->jitter = seconds;
        else
            entry->grace = seconds;
    }
    else
    if (strcmp (key, "misfire") == 0) {
        if (strcmp (value, "skip") == 0)
            entry->misfire = SF_MISFIRE_SKIP;
        else
        if (strcmp (value, "once") == 0)
            entry->misfire = SF_MISFIRE_ONCE;
        else
        if (strcmp (value, "all") == 0)
            entry->misfire = SF_MISFIRE_ALL;
        else
            s_error (parser, line, column, "misfire: expected skip, once or all");
    }
    else
    if (strcmp (key, "misfire_limit") == 0) {
        char *end;
        long number = strtol (value, &end, 10);
        if (!isdigit ((unsigned char) *value) || *end || number < 1 || number > 100000)
            s_error (parser, line, column, "misfire_limit: expected a number 1-100000");
        else
            entry->misfire_limit = (size_t) number;
    }
    else
    if (strcmp (key, "overlap") == 0) {
        entry->overlap_line = line;
        if (strcmp (value, "allow") == 0)
            entry->overlap = SF_OVERLAP_ALLOW;
        else
        if (strcmp (value, "forbid") == 0)
            entry->overlap = SF_OVERLAP_FORBID;
        else
        if (strcmp (value, "replace") == 0)
            entry->overlap = SF_OVERLAP_REPLACE;
        else
            s_error (parser, line, column, "overlap: expected allow, forbid or replace");
    }
    else
    if (strcmp (key, "start") == 0 || strcmp (key, "end") == 0) {
        int64_t instant;
        if (sf_cron_parse_time (value, &instant))
            s_error (parser, line, column, "%s: expected an ISO-8601 time such as "
                     "2026-01-01T00:00:00Z, 2026-01-01T09:00:00+01:00 or 2026-01-01", key);
        else
        if (*key == 's')
            entry->start = instant;
        else
            entry->end = instant;
    }
    else
        s_error (parser, line, 1, "unknown key \"%.32s\" (schedule, timezone, job, group, "
                 "jitter, grace, misfire, misfire_limit, overlap, start, end)", key);
}

static bool
s_name_valid (const char *name, size_t size)
{
    if (size == 0 || size > SF_SCHEDULE_NAME_MAX)
        return false;
    for (size_t i = 0; i < size; i++)
        if (!isalnum ((unsigned char) name [i]) && !strchr ("_.-", name [i]))
            return false;
    return true;
}

static void
s_line (s_parser_t *parser, char *text, int line)
{
    char *start = text;
    while (*start == ' ' || *start == '\t')
        start++;
    char *end = start + strlen (start);
    while (end > start && isspace ((unsigned char) end [-1]))
        *--end = 0;
    if (!*start || *start == '#' || *start == ';')
        return;
    int column = (int) (start - text) + 1;
    if (*start == '[') {
        s_close_entry (parser);
        parser->skipping = true;
        char *close = strchr (start, ']');
        if (!close || close [1]) {
            s_error (parser, line, column, "a section header reads [name]");
            return;
        }
        size_t size = (size_t) (close - start - 1);
        if (!s_name_valid (start + 1, size)) {
            s_error (parser, line, column + 1, "name: 1-%d characters of A-Z a-z 0-9 _ . -",
                     SF_SCHEDULE_NAME_MAX);
            return;
        }
        *close = 0;
        for (size_t i = 0; i < parser->schedule->size; i++)
            if (strcmp (parser->schedule->entries [i]->name, start + 1) == 0) {
                s_error (parser, line, column + 1, "[%s] is defined twice (first on line %d)",
                         start + 1, parser->schedule->entries [i]->line);
                return;
            }
        sf_schedule_entry_t *entry = (sf_schedule_entry_t *) calloc (1, sizeof *entry);
        if (!entry)
            abort ();
        strcpy (entry->name, start + 1);
        entry->line = line;
        entry->grace = 10;
        entry->misfire = SF_MISFIRE_SKIP;
        entry->misfire_limit = 100;
        entry->overlap = SF_OVERLAP_ALLOW;
        entry->end = INT64_MAX;
        parser->entry = entry;
        parser->skipping = false;
        return;
    }
    char *equals = strchr (start, '=');
    if (!equals) {
        s_error (parser, line, column, "expected [name] or key = value");
        return;
    }
    char *key_end = equals;
    while (key_end > start && (key_end [-1] == ' ' || key_end [-1] == '\t'))
        key_end--;
    *key_end = 0;
    char *value = equals + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (!parser->entry) {
        //  Keys under a bad header are not reported one by one
        if (!parser->skipping)
            s_error (parser, line, column, "\"%.32s\" is outside any [name] section", start);
        return;
    }
    if (!*value) {
        s_error (parser, line, (int) (value - text) + 1, "%s: a value is missing", start);
        return;
    }
    s_key (parser, start, value, line, (int) (value - text) + 1);
}

sf_schedule_t *
sf_schedule_parse (const char *text, const char *origin, char **errors)
{
    s_parser_t parser = { .origin = origin };
    parser.schedule = (sf_schedule_t *) calloc (1, sizeof (sf_schedule_t));
    char *copy = strdup (text);
    if (!parser.schedule || !copy)
        abort ();
    int line = 1;
    for (char *cursor = copy; cursor; line++) {
        char *next = strchr (cursor, '\n');
        if (next)
            *next++ = 0;
        if (strlen (cursor) > 4096)
            s_error (&parser, line, 4097, "line longer than 4096 characters");
        else
            s_line (&parser, cursor, line);
        cursor = next;
    }
    s_close_entry (&parser);
    free (copy);
    if (!parser.error_count && parser.schedule->size == 0)
        s_error (&parser, 1, 1, "no entries: a schedule file has [name] sections");
    if (parser.error_count) {
        sf_schedule_destroy (&parser.schedule);
        *errors = parser.errors;
        return NULL;
    }
    *errors = NULL;
    return parser.schedule;
}

sf_schedule_t *
sf_schedule_load (const char *path, char **errors)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        if (asprintf (errors, "%s: cannot open: %m\n", path) < 0)
            abort ();
        return NULL;
    }
    char *text = NULL;
    size_t size = 0;
    char buffer [65536];
    size_t got;
    while ((got = fread (buffer, 1, sizeof buffer, file)) > 0) {
        if (size + got > 64 * 1024 * 1024) {
            fclose (file);
            free (text);
            if (asprintf (errors, "%s: larger than 64 MB\n", path) < 0)
                abort ();
            return NULL;
        }
        text = realloc (text, size + got + 1);
        if (!text)
            abort ();
        memcpy (text + size, buffer, got);
        size += got;
    }
    fclose (file);
    if (!text)
        text = strdup ("");
    text [size] = 0;
    if (strlen (text) != size) {
        free (text);
        if (asprintf (errors, "%s: holds a NUL byte; a schedule file is text\n", path) < 0)
            abort ();
        return NULL;
    }
    sf_schedule_t *self = sf_schedule_parse (text, path, errors);
    free (text);
    return self;
}

void
sf_schedule_destroy (sf_schedule_t **self_p)
{
    if (*self_p) {
        sf_schedule_t *self = *self_p;
        for (size_t i = 0; i < self->size; i++)
            s_entry_destroy (&self->entries [i]);
        free (self->entries);
        free (self);
        *self_p = NULL;
    }
}

size_t
sf_schedule_size (const sf_schedule_t *self)
{
    return self->size;
}

sf_schedule_entry_t *
sf_schedule_entry (sf_schedule_t *self, size_t index)
{
    return index < self->size? self->entries [index]: NULL;
}

sf_schedule_entry_t *
sf_schedule_find (sf_schedule_t *self, const char *name)
{
    for (size_t i = 0; i < self->size; i++)
        if (strcmp (self->entries [i]->name, name) == 0)
            return self->entries [i];
    return NULL;
}

int64_t
sf_schedule_next (sf_schedule_entry_t *entry, int64_t after)
{
    if (after < entry->start - 1)
        after = entry->start - 1;
    int64_t next = sf_cron_next (entry->cron, after);
    return next > entry->end? -1: next;
}

int64_t
sf_schedule_jitter (const sf_schedule_entry_t *entry, int64_t instant)
{
    if (entry->jitter <= 0)
        return 0;
    //  FNV-1a over the name and the instant
    uint64_t hash = 14695981039346656037ULL;
    for (const char *c = entry->name; *c; c++)
        hash = (hash ^ (uint8_t) *c) * 1099511628211ULL;
    for (int i = 0; i < 8; i++)
        hash = (hash ^ (uint8_t) ((uint64_t) instant >> (i * 8))) * 1099511628211ULL;
    return (int64_t) (hash % (uint64_t) (entry->jitter + 1));
}

const char *
sf_schedule_misfire_name (sf_misfire_t misfire)
{
    return misfire == SF_MISFIRE_SKIP? "skip": misfire == SF_MISFIRE_ONCE? "once": "all";
}

const char *
sf_schedule_overlap_name (sf_overlap_t overlap)
{
    return overlap == SF_OVERLAP_ALLOW? "allow": overlap == SF_OVERLAP_FORBID? "forbid":
           "replace";
}
