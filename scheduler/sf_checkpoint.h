/*  =========================================================================
    sf_checkpoint - what the scheduler has fired, per entry, kept in its
    state directory so that a restart or a standby carries on from there

    One file, DIR/checkpoint, replaced atomically (a temporary file,
    fsync, rename, fsync of the directory): a reader sees the old or the
    new version, never a mix.
    ========================================================================= */

#ifndef SF_CHECKPOINT_H_INCLUDED
#define SF_CHECKPOINT_H_INCLUDED

#include <stdint.h>
#include "sheaf.h"
#include "sf_schedule.h"

//  One entry's progress.
typedef struct {
    char name [SF_SCHEDULE_NAME_MAX + 1];   //  The entry's name
    int64_t done;               //  Every scheduled instant up to this one is handled
    int64_t last_fire;          //  Scheduled instant of the last firing, 0 if none
    int64_t last_fire_ms;       //  When the broker accepted it (epoch ms)
    bool group;                 //  The last firing was a group: ids [0] is its id
    size_t id_count;            //  Jobs of the last firing (1 for a group)
    char ids [SF_SCHEDULE_JOBS_MAX][SF_ID_STRLEN + 1];  //  Their ids
    char states [SF_SCHEDULE_JOBS_MAX][12];  //  "pending" or a final status name
                                //  (a group: its outcome, sf_scheduler)
} sf_checkpoint_record_t;

typedef struct _sf_checkpoint_t sf_checkpoint_t;

//  Open the checkpoint in dir (created if missing) and read it. Returns
//  it, or NULL with error (the directory cannot be made, the file is
//  unreadable or malformed: the message names the line).
sf_checkpoint_t *sf_checkpoint_new (const char *dir, sf_error_t *error);

void sf_checkpoint_destroy (sf_checkpoint_t **self_p);

//  Read the file again, replacing what is in memory. 0 or -1 with error.
int sf_checkpoint_reload (sf_checkpoint_t *self, sf_error_t *error);

//  The record of name, or NULL. Borrowed; valid until reload or destroy.
sf_checkpoint_record_t *sf_checkpoint_get (sf_checkpoint_t *self, const char *name);

//  The record of name, made empty if there was none. Borrowed.
sf_checkpoint_record_t *sf_checkpoint_put (sf_checkpoint_t *self, const char *name);

//  Write every record atomically. 0 or -1 with error.
int sf_checkpoint_save (sf_checkpoint_t *self, sf_error_t *error);

//  The outcome of a record's last firing: "none", "pending" while a job (or
//  the group) is unfinished, "ok" when all ended ok, else the first other
//  final status (a group's: "failed", "timeout", "cancelled", or its
//  chord's status).
const char *sf_checkpoint_outcome (const sf_checkpoint_record_t *record);

#endif
