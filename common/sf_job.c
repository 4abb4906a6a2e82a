/*  =========================================================================
    sf_job - a job: analyzer, market, parameters and delivery options

    A job is kept as a Jansson object in its JSON form, which is what users
    write; it is validated field by field on the way in, with the same rules
    the broker applies to the wire form (sf_codec_job_check).
    ========================================================================= */

#include <czmq.h>
#include <math.h>
#include "sf_alloc.h"
#include "sf_candles.h"
#include "sf_codec.h"
#include "sf_job.h"
#include "sf_json.h"
#include "sf_mp.h"
#include "sf_time.h"

struct _sf_job_t {
    json_t *spec;               //  The job's JSON object; always valid
    sf_candles_t *candles;      //  Inline candles set from C, or NULL (owned)
    msgpack_sbuffer packed;     //  Its msgpack form, when fresh
    bool fresh;                 //  packed matches spec and candles
};

//  --------------------------------------------------------------------------
//  Create a job for an analyzer.

sf_job_t *
sf_job_new (const char *analyzer)
{
    if (!analyzer || !sf_codec_name_valid (analyzer, strlen (analyzer)))
        return NULL;
    sf_job_t *self = (sf_job_t *) sf_alloc (sizeof *self);
    self->spec = json_object ();
    json_object_set_new (self->spec, "analyzer", json_string (analyzer));
    msgpack_sbuffer_init (&self->packed);
    return self;
}

void
sf_job_destroy (sf_job_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref ((*self_p)->spec);
    sf_candles_destroy (&(*self_p)->candles);
    msgpack_sbuffer_destroy (&(*self_p)->packed);
    free (*self_p);
    *self_p = NULL;
}

//  Field checks shared by the setters and the JSON parser. Each returns 0
//  or -1 with error naming the field.
static int
s_check_string (const char *field, const json_t *value, size_t max, sf_error_t *error)
{
    if (!json_is_string (value) || json_string_length (value) == 0
    ||  json_string_length (value) > max)
        return sf_error_set (error, "BAD_INPUT", "\"%s\" must be a string of 1-%zu characters",
                             field, max);
    return 0;
}

static int
s_check_int (const char *field, const json_t *value, json_int_t min, json_int_t max,
             sf_error_t *error)
{
    if (!json_is_integer (value) || json_integer_value (value) < min
    ||  json_integer_value (value) > max)
        return sf_error_set (error, "BAD_INPUT", "\"%s\" must be an integer %lld-%lld",
                             field, (long long) min, (long long) max);
    return 0;
}

//  Nesting depth of a JSON value's objects and arrays (1 for a flat one),
//  counted no further than limit + 1.
static int
s_depth (const json_t *value, int limit)
{
    if (!json_is_object (value) && !json_is_array (value))
        return 0;
    int deepest = 0;
    if (limit >= 0) {
        const char *key;
        json_t *item;
        size_t index;
        if (json_is_object (value))
            json_object_foreach ((json_t *) value, key, item) {
                int depth = s_depth (item, limit - 1);
                deepest = depth > deepest? depth: deepest;
            }
        else
            json_array_foreach (value, index, item) {
                int depth = s_depth (item, limit - 1);
                deepest = depth > deepest? depth: deepest;
            }
    }
    return deepest + 1;
}

//  Inline candles at the JSON edge: an object of the six columns, each an
//  array of numbers, all of one length.
static const char *s_columns [] = { "ts", "open", "high", "low", "close", "volume" };

static int
s_check_candles (const json_t *value, sf_error_t *error)
{
    if (!json_is_object (value) || json_object_size (value) != 6)
        return sf_error_set (error, "BAD_INPUT", "\"candles\" must be an object of the arrays "
                             "ts, open, high, low, close and volume");
    size_t size = 0;
    for (int i = 0; i < 6; i++) {
        json_t *column = json_object_get (value, s_columns [i]);
        if (!json_is_array (column) || (i > 0 && json_array_size (column) != size))
            return sf_error_set (error, "BAD_INPUT", "candles \"%s\" must be an array of numbers "
                                 "as long as ts", s_columns [i]);
        size = json_array_size (column);
        size_t index;
        json_t *item;
        json_array_foreach (column, index, item)
            if (!json_is_number (item))
                return sf_error_set (error, "BAD_INPUT", "candles \"%s\" row %zu is not a number",
                                     s_columns [i], index);
    }
    return 0;
}

//  Pack checked JSON candles as the wire's float64 columns.
static void
s_pack_candles (const json_t *value, msgpack_packer *pk)
{
    json_t *ts = json_object_get (value, "ts");
    sf_candles_t *candles = sf_candles_new (json_array_size (ts));
    for (size_t row = 0; row < json_array_size (ts); row++) {
        double cell [6];
        for (int i = 0; i < 6; i++)
            cell [i] = json_number_value (json_array_get (json_object_get (value, s_columns [i]),
                                                          row));
        sf_candles_append (candles, cell [0], cell [1], cell [2], cell [3], cell [4], cell [5]);
    }
    sf_candles_pack (candles, pk);
    sf_candles_destroy (&candles);
}

static int s_check_field (const char *field, const json_t *value, int depth,
                          sf_error_t *error);

//  A follow-up's JSON form at depth (1 for a job's own "then"): a job
//  object checked field by field like any job, without a "key"; its
//  errors get the "then": prefix.
static int
s_check_then (const json_t *value, int depth, sf_error_t *error)
{
    if (depth > SF_CHAIN_MAX)
        return sf_error_set (error, "BAD_INPUT", "\"then\" nests more than %d follow-ups",
                             SF_CHAIN_MAX);
    sf_error_t inner;
    if (!json_is_object (value))
        sf_error_set (&inner, "BAD_INPUT", "a follow-up must be a job object");
    else
    if (!json_object_get (value, "analyzer"))
        sf_error_set (&inner, "BAD_INPUT", "job has no \"analyzer\"");
    else
    if (json_object_get (value, "key"))
        sf_error_set (&inner, "BAD_INPUT", "a follow-up may not have a \"key\"");
    else {
        const char *field;
        json_t *item;
        int rc = 0;
        json_object_foreach ((json_t *) value, field, item)
            if (rc == 0)
                rc = s_check_field (field, item, depth, &inner);
        if (rc == 0)
            return 0;
    }
    return sf_error_set (error, "BAD_INPUT", "\"then\": %s", inner.message);
}

//  Check one field of a job's JSON form; depth counts the follow-ups the
//  job is nested in.
static int
s_check_field (const char *field, const json_t *value, int depth, sf_error_t *error)
{
    if (streq (field, "then"))
        return s_check_then (value, depth + 1, error);
    if (streq (field, "analyzer")) {
        if (!json_is_string (value)
        ||  !sf_codec_name_valid (json_string_value (value), json_string_length (value)))
            return sf_error_set (error, "BAD_INPUT",
                                 "\"analyzer\" must be a name of 1-64 characters [a-z0-9_.-]");
        return 0;
    }
    if (streq (field, "symbol"))
        return s_check_string (field, value, SF_NAME_MAX, error);
    if (streq (field, "timeframe"))
        return s_check_string (field, value, SF_TIMEFRAME_MAX, error);
    if (streq (field, "key"))
        return s_check_string (field, value, SF_KEY_MAX, error);
    if (streq (field, "state_key"))
        return s_check_string (field, value, SF_KEY_MAX, error);
    if (streq (field, "priority"))
        return s_check_int (field, value, 0, SF_PRIORITY_MAX, error);
    if (streq (field, "timeout_ms"))
        return s_check_int (field, value, 1, UINT32_MAX, error);
    if (streq (field, "retries"))
        return s_check_int (field, value, 0, SF_RETRIES_MAX, error);
    if (streq (field, "backoff_ms"))
        return s_check_int (field, value, 0, SF_BACKOFF_MAX, error);
    if (streq (field, "candles"))
        return s_check_candles (value, error);
    if (streq (field, "from") || streq (field, "to")) {
        //  The broker's check (sf_codec_job_check) and the worker use the
        //  same parser, so the three agree on every time
        int64_t ms;
        if ((json_is_string (value)
          && sf_time_parse (json_string_value (value), json_string_length (value), &ms) == 0)
        ||  (json_is_integer (value) && json_integer_value (value) >= 0))
            return 0;
        return sf_error_set (error, "BAD_INPUT", "\"%s\" must be %s", field, SF_TIME_FORMS);
    }
    if (streq (field, "limit"))
        return s_check_int (field, value, 1, SF_LIMIT_MAX, error);
    if (streq (field, "params")) {
        if (!json_is_object (value))
            return sf_error_set (error, "BAD_INPUT", "\"params\" must be an object");
        //  The job map holds params one level down, a follow-up's one more
        //  level per "then" it is nested in; the wire allows 32
        int room = SF_MP_MAX_DEPTH - 1 - depth;
        if (s_depth (value, room) > room)
            return sf_error_set (error, "BAD_INPUT",
                                 "\"params\" nests deeper than %d levels", room);
        return 0;
    }
    return sf_error_set (error, "BAD_INPUT", "unknown job field \"%.64s\"", field);
}

//  --------------------------------------------------------------------------
//  Create a job from JSON text.

sf_job_t *
sf_job_from_json (const char *text, sf_error_t *error)
{
    json_error_t jerror;
    json_t *spec = json_loads (text, JSON_REJECT_DUPLICATES, &jerror);
    if (!spec) {
        sf_error_set (error, "BAD_INPUT", "job is not valid JSON: %s (column %d)",
                      jerror.text, jerror.column);
        return NULL;
    }
    if (!json_is_object (spec)) {
        json_decref (spec);
        sf_error_set (error, "BAD_INPUT", "a job must be a JSON object");
        return NULL;
    }
    if (!json_object_get (spec, "analyzer")) {
        json_decref (spec);
        sf_error_set (error, "BAD_INPUT", "job has no \"analyzer\"");
        return NULL;
    }
    const char *field;
    json_t *value;
    json_object_foreach (spec, field, value) {
        if (s_check_field (field, value, 0, error)) {
            json_decref (spec);
            return NULL;
        }
    }
    sf_job_t *self = (sf_job_t *) sf_alloc (sizeof *self);
    self->spec = spec;
    msgpack_sbuffer_init (&self->packed);
    return self;
}

//  Set field to value (taking it) after checking it.
static int
s_set (sf_job_t *self, const char *field, json_t *value)
{
    if (!self || !value || s_check_field (field, value, 0, NULL)) {
        json_decref (value);
        return -1;
    }
    json_object_set_new (self->spec, field, value);
    self->fresh = false;
    return 0;
}

int
sf_job_set_symbol (sf_job_t *self, const char *symbol)
{
    return s_set (self, "symbol", json_string (symbol));
}

int
sf_job_set_timeframe (sf_job_t *self, const char *timeframe)
{
    return s_set (self, "timeframe", json_string (timeframe));
}

int
sf_job_set_priority (sf_job_t *self, int priority)
{
    return s_set (self, "priority", json_integer (priority));
}

int
sf_job_set_timeout (sf_job_t *self, int64_t timeout_ms)
{
    return s_set (self, "timeout_ms", json_integer (timeout_ms));
}

int
sf_job_set_retries (sf_job_t *self, int retries)
{
    return s_set (self, "retries", json_integer (retries));
}

int
sf_job_set_backoff (sf_job_t *self, int64_t backoff_ms)
{
    return s_set (self, "backoff_ms", json_integer (backoff_ms));
}

int
sf_job_set_key (sf_job_t *self, const char *key)
{
    return s_set (self, "key", json_string (key));
}

int
sf_job_set_state_key (sf_job_t *self, const char *state_key)
{
    return s_set (self, "state_key", json_string (state_key));
}

//  --------------------------------------------------------------------------
//  Set the follow-up: a copy of next's JSON form (its candles included).

//  Set from or to: epoch milliseconds when text is all digits, else
//  ISO-8601 text.
static int
s_set_time (sf_job_t *self, const char *field, const char *text)
{
    if (!text || !*text)
        return -1;
    if (strspn (text, "0123456789") == strlen (text)) {
        errno = 0;
        char *end;
        long long ms = strtoll (text, &end, 10);
        if (errno || *end)
            return -1;
        return s_set (self, field, json_integer (ms));
    }
    return s_set (self, field, json_string (text));
}

int
sf_job_set_from (sf_job_t *self, const char *time)
{
    return s_set_time (self, "from", time);
}

int
sf_job_set_to (sf_job_t *self, const char *time)
{
    return s_set_time (self, "to", time);
}

int
sf_job_set_limit (sf_job_t *self, int64_t limit)
{
    return s_set (self, "limit", json_integer (limit));
}

int
sf_job_set_then (sf_job_t *self, const sf_job_t *next)
{
    if (!self || !next)
        return -1;
    char *text = sf_job_json (next);
    json_t *value = json_loads (text, 0, NULL);
    free (text);
    return s_set (self, "then", value);
}

//  --------------------------------------------------------------------------
//  Set one parameter from JSON text.

int
sf_job_set_param (sf_job_t *self, const char *name, const char *json_value)
{
    if (!self || !name || !*name || !json_value)
        return -1;
    json_t *value = json_loads (json_value, JSON_DECODE_ANY, NULL);
    if (!value)
        return -1;
    json_t *params = json_object_get (self->spec, "params");
    if (!params) {
        params = json_object ();
        json_object_set_new (self->spec, "params", params);
    }
    if (json_object_set_new (params, name, value))
        return -1;              //  name is not UTF-8
    self->fresh = false;
    return 0;
}

//  --------------------------------------------------------------------------
//  Inline candles from C arrays: kept as columns, never as JSON.

int
sf_job_set_candles (sf_job_t *self, const double *ts, const double *open, const double *high,
                    const double *low, const double *close, const double *volume, size_t size)
{
    if (!self || size == 0 || !ts || !open || !high || !low || !close || !volume)
        return -1;
    for (size_t i = 0; i < size; i++)
        if (!isfinite (ts [i]) || !isfinite (open [i]) || !isfinite (high [i])
        ||  !isfinite (low [i]) || !isfinite (close [i]) || !isfinite (volume [i])
        ||  (i > 0 && ts [i] <= ts [i - 1]))
            return -1;
    sf_candles_t *candles = sf_candles_new (size);
    for (size_t i = 0; i < size; i++)
        sf_candles_append (candles, ts [i], open [i], high [i], low [i], close [i], volume [i]);
    sf_candles_destroy (&self->candles);
    self->candles = candles;
    json_object_del (self->spec, "candles");
    self->fresh = false;
    return 0;
}

const char *
sf_job_analyzer (const sf_job_t *self)
{
    return self? json_string_value (json_object_get (self->spec, "analyzer")): NULL;
}

const char *
sf_job_key (const sf_job_t *self)
{
    return json_string_value (json_object_get (self->spec, "key"));
}

char *
sf_job_json (const sf_job_t *self)
{
    if (!self)
        return NULL;
    if (!self->candles)
        return sf_json_dumps (self->spec);
    //  Candles set from C join the JSON form as arrays
    json_t *spec = json_copy (self->spec);
    json_t *candles = json_object ();
    const double *columns [6] = {
        self->candles->ts, self->candles->open, self->candles->high,
        self->candles->low, self->candles->close, self->candles->volume
    };
    for (int i = 0; i < 6; i++) {
        json_t *column = json_array ();
        for (size_t row = 0; row < self->candles->size; row++)
            json_array_append_new (column, json_real (columns [i][row]));
        json_object_set_new (candles, s_columns [i], column);
    }
    json_object_set_new (spec, "candles", candles);
    char *text = sf_json_dumps (spec);
    json_decref (spec);
    return text;
}

//  --------------------------------------------------------------------------
//  Pack the job map. The encoding is kept until the job changes, so a job
//  submitted many times is converted from JSON once.

//  Pack a job's JSON form (spec) and its C-set candles (or NULL) as the
//  job map: as the JSON form, except that candles become float64 columns,
//  in a follow-up ("then") too.
static void
s_pack_spec (const json_t *spec, const sf_candles_t *candles, msgpack_packer *pk)
{
    msgpack_pack_map (pk, json_object_size (spec) + (candles? 1: 0));
    if (candles) {
        sf_mp_pack_str (pk, "candles");
        sf_candles_pack (candles, pk);
    }
    const char *field;
    json_t *value;
    json_object_foreach ((json_t *) spec, field, value) {
        sf_mp_pack_str (pk, field);
        if (streq (field, "candles"))
            s_pack_candles (value, pk);
        else
        if (streq (field, "then"))
            s_pack_spec (value, NULL, pk);
        else
            sf_json_pack (pk, value);
    }
}

void
sf_job_pack (sf_job_t *self, msgpack_packer *pk)
{
    if (!self->fresh) {
        msgpack_sbuffer_clear (&self->packed);
        msgpack_packer packer;
        msgpack_packer_init (&packer, &self->packed, sf_mp_write);
        s_pack_spec (self->spec, self->candles, &packer);
        self->fresh = true;
    }
    pk->callback (pk->data, self->packed.data, self->packed.size);
}
