/*  =========================================================================
    sf_checkpoint - what the scheduler has fired, per entry, kept in its
    state directory so that a restart or a standby carries on from there

    The file is text, one record a line after a version line:

        sheaf-scheduler checkpoint 2
        NAME DONE LAST_FIRE LAST_FIRE_MS jobs|group ID:STATE,ID:STATE|-

    `group` says the one id is a group's (the firing of a group entry).
    Version 1 files (no jobs|group field: jobs) are read too, so a
    scheduler upgraded in place carries on. Names are restricted to A-Z
    a-z 0-9 _ . - by the schedule parser, so spaces separate the fields
    safely. Checklist: a change of this layout changes the version number
    and the reader below together.
    ========================================================================= */

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "sf_checkpoint.h"

#define S_HEADER "sheaf-scheduler checkpoint 2"
#define S_HEADER_V1 "sheaf-scheduler checkpoint 1"

struct _sf_checkpoint_t {
    char *dir;                  //  State directory
    char *path;                 //  DIR/checkpoint
    zhashx_t *records;          //  Name -> sf_checkpoint_record_t (owned)
};

static void
s_record_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

sf_checkpoint_t *
sf_checkpoint_new (const char *dir, sf_error_t *error)
{
    if (mkdir (dir, 0755) && errno != EEXIST) {
        sf_error_set (error, "STATE", "cannot make the state directory %s: %s", dir,
                      strerror (errno));
        return NULL;
    }
    sf_checkpoint_t *self = (sf_checkpoint_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->dir = strdup (dir);
    if (asprintf (&self->path, "%s/checkpoint", dir) < 0 || !self->dir)
        abort ();
    self->records = zhashx_new ();
    zhashx_set_destructor (self->records, s_record_free);
    if (sf_checkpoint_reload (self, error))
        sf_checkpoint_destroy (&self);
    return self;
}

void
sf_checkpoint_destroy (sf_checkpoint_t **self_p)
{
    if (*self_p) {
        sf_checkpoint_t *self = *self_p;
        zhashx_destroy (&self->records);
        free (self->dir);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

//  Parse "ID:STATE,ID:STATE" into record. 0 or -1.
static int
s_parse_ids (sf_checkpoint_record_t *record, char *text)
{
    record->id_count = 0;
    if (strcmp (text, "-") == 0)
        return 0;
    char *save = NULL;
    for (char *item = strtok_r (text, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        char *colon = strchr (item, ':');
        if (!colon || colon - item != SF_ID_STRLEN || strlen (colon + 1) == 0
        ||  strlen (colon + 1) >= sizeof record->states [0]
        ||  record->id_count == SF_SCHEDULE_JOBS_MAX)
            return -1;
        memcpy (record->ids [record->id_count], item, SF_ID_STRLEN);
        record->ids [record->id_count][SF_ID_STRLEN] = 0;
        strcpy (record->states [record->id_count], colon + 1);
        record->id_count++;
    }
    return 0;
}

int
sf_checkpoint_reload (sf_checkpoint_t *self, sf_error_t *error)
{
    zhashx_purge (self->records);
    FILE *file = fopen (self->path, "r");
    if (!file) {
        if (errno == ENOENT)
            return 0;           //  Nothing fired yet
        return sf_error_set (error, "STATE", "cannot read %s: %s", self->path, strerror (errno));
    }
    char line [2048];
    int number = 0;
    int rc = 0;
    bool kinds = true;          //  Version 2: records say jobs or group
    while (fgets (line, sizeof line, file)) {
        number++;
        line [strcspn (line, "\n")] = 0;
        if (number == 1) {
            kinds = strcmp (line, S_HEADER_V1) != 0;
            if (kinds && strcmp (line, S_HEADER)) {
                rc = sf_error_set (error, "STATE", "%s:1: not a checkpoint of this version "
                                   "(expected \"%s\")", self->path, S_HEADER);
                break;
            }
            continue;
        }
        sf_checkpoint_record_t record;
        memset (&record, 0, sizeof record);
        char name [SF_SCHEDULE_NAME_MAX + 2], ids [1024], kind [8] = "jobs";
        long long done, last_fire, last_fire_ms;
        int fields = kinds?
            sscanf (line, "%65s %lld %lld %lld %7s %1023s", name, &done, &last_fire,
                    &last_fire_ms, kind, ids):
            sscanf (line, "%65s %lld %lld %lld %1023s", name, &done, &last_fire,
                    &last_fire_ms, ids) + 1;
        record.group = strcmp (kind, "group") == 0;
        if (fields != 6
        ||  strlen (name) > SF_SCHEDULE_NAME_MAX
        ||  (!record.group && strcmp (kind, "jobs"))
        ||  s_parse_ids (&record, ids)
        ||  (record.group && record.id_count != 1)) {
            rc = sf_error_set (error, "STATE", "%s:%d: malformed record", self->path, number);
            break;
        }
        strcpy (record.name, name);
        record.done = done;
        record.last_fire = last_fire;
        record.last_fire_ms = last_fire_ms;
        sf_checkpoint_record_t *copy = (sf_checkpoint_record_t *) malloc (sizeof record);
        if (!copy)
            abort ();
        *copy = record;
        zhashx_update (self->records, name, copy);
    }
    fclose (file);
    if (rc)
        zhashx_purge (self->records);
    return rc;
}

sf_checkpoint_record_t *
sf_checkpoint_get (sf_checkpoint_t *self, const char *name)
{
    return (sf_checkpoint_record_t *) zhashx_lookup (self->records, name);
}

sf_checkpoint_record_t *
sf_checkpoint_put (sf_checkpoint_t *self, const char *name)
{
    sf_checkpoint_record_t *record = sf_checkpoint_get (self, name);
    if (!record) {
        record = (sf_checkpoint_record_t *) calloc (1, sizeof *record);
        if (!record)
            abort ();
        snprintf (record->name, sizeof record->name, "%s", name);
        zhashx_insert (self->records, name, record);
    }
    return record;
}

int
sf_checkpoint_save (sf_checkpoint_t *self, sf_error_t *error)
{
    char *temporary;
    if (asprintf (&temporary, "%s.tmp", self->path) < 0)
        abort ();
    int rc = -1;
    FILE *file = fopen (temporary, "w");
    if (!file) {
        sf_error_set (error, "STATE", "cannot write %s: %s", temporary, strerror (errno));
        free (temporary);
        return -1;
    }
    fprintf (file, "%s\n", S_HEADER);
    for (sf_checkpoint_record_t *record = (sf_checkpoint_record_t *) zhashx_first (self->records);
         record; record = (sf_checkpoint_record_t *) zhashx_next (self->records)) {
        fprintf (file, "%s %lld %lld %lld %s ", record->name, (long long) record->done,
                 (long long) record->last_fire, (long long) record->last_fire_ms,
                 record->group? "group": "jobs");
        if (record->id_count == 0)
            fputc ('-', file);
        for (size_t i = 0; i < record->id_count; i++)
            fprintf (file, "%s%s:%s", i? ",": "", record->ids [i], record->states [i]);
        fputc ('\n', file);
    }
    if (fflush (file) || fsync (fileno (file))) {
        sf_error_set (error, "STATE", "cannot write %s: %s", temporary, strerror (errno));
        fclose (file);
    }
    else
    if (fclose (file))
        sf_error_set (error, "STATE", "cannot write %s: %s", temporary, strerror (errno));
    else
    if (rename (temporary, self->path))
        sf_error_set (error, "STATE", "cannot rename %s: %s", temporary, strerror (errno));
    else {
        //  The rename itself is durable once the directory is synced
        int dir = open (self->dir, O_RDONLY | O_DIRECTORY);
        if (dir >= 0) {
            fsync (dir);
            close (dir);
        }
        rc = 0;
    }
    if (rc)
        unlink (temporary);
    free (temporary);
    return rc;
}

const char *
sf_checkpoint_outcome (const sf_checkpoint_record_t *record)
{
    if (record->id_count == 0)
        return "none";
    for (size_t i = 0; i < record->id_count; i++)
        if (strcmp (record->states [i], "pending") == 0)
            return "pending";
    for (size_t i = 0; i < record->id_count; i++)
        if (strcmp (record->states [i], "ok"))
            return record->states [i];
    return "ok";
}
