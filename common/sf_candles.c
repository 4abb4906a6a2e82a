/*  =========================================================================
    sf_candles - a columnar series of OHLCV candles

    The CSV reader is written here rather than taken from a CSV library:
    the format is six unquoted numeric fields a line, and what matters is
    saying which file and line is wrong. A file is read with one read and
    parsed in place. Numbers take an exact fast path when they are plain
    decimals whose digits and power of ten are doubles exactly (one
    correctly rounded division gives strtod's very bits); anything else
    goes to strtod itself.
    ========================================================================= */

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sf_alloc.h"
#include "sf_candles.h"
#include "sf_mp.h"
#include "sf_time.h"

//  Column names, in the order of the struct's arrays.
static const char *s_columns [] = { "ts", "open", "high", "low", "close", "volume" };
#define S_COLUMNS 6

//  The column arrays of self, in s_columns order.
static double **
s_column (sf_candles_t *self, int index)
{
    double **columns [S_COLUMNS] = {
        &self->ts, &self->open, &self->high, &self->low, &self->close, &self->volume
    };
    return columns [index];
}

sf_candles_t *
sf_candles_new (size_t reserve)
{
    sf_candles_t *self = (sf_candles_t *) sf_alloc (sizeof *self);
    self->max = reserve? reserve: 64;
    for (int i = 0; i < S_COLUMNS; i++)
        *s_column (self, i) = (double *) sf_alloc_array (self->max, sizeof (double));
    return self;
}

void
sf_candles_destroy (sf_candles_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_candles_t *self = *self_p;
    for (int i = 0; i < S_COLUMNS; i++)
        free (*s_column (self, i));
    free (self);
    *self_p = NULL;
}

void
sf_candles_append (sf_candles_t *self, double ts, double open, double high,
                   double low, double close, double volume)
{
    if (self->size == self->max) {
        self->max *= 2;
        for (int i = 0; i < S_COLUMNS; i++) {
            double **column = s_column (self, i);
            *column = (double *) sf_alloc_resize (*column, self->max, sizeof (double));
        }
    }
    size_t i = self->size++;
    self->ts [i] = ts;
    self->open [i] = open;
    self->high [i] = high;
    self->low [i] = low;
    self->close [i] = close;
    self->volume [i] = volume;
}

//  --------------------------------------------------------------------------
//  Time stamps.

int
sf_candles_parse_time (const char *text, double *ms)
{
    //  Epoch milliseconds
    char *end;
    errno = 0;
    double number = strtod (text, &end);
    if (end != text && *end == 0 && errno == 0 && isfinite (number)
    &&  strchr (text, '-') == NULL) {
        *ms = number;
        return 0;
    }
    //  ISO-8601, read as a job's "from" and "to" are (sf_time)
    int64_t instant;
    if (sf_time_parse (text, strlen (text), &instant))
        return -1;
    *ms = (double) instant;
    return 0;
}

//  --------------------------------------------------------------------------
//  CSV.

//  Exact powers of ten: every one up to 1e22 is a double exactly.
static const double s_tens [23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
    1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

int
sf_candles_parse_number (const char *text, size_t size, double *value)
{
    //  Plain decimals ([-]digits[.digits]) with at most 2^53 as their
    //  digits and at most 22 after the point: the digits and the power of
    //  ten are both doubles exactly, so one division rounds once, as
    //  strtod does (Clinger's fast path)
    const char *at = text, *end = text + size;
    bool negative = at < end && *at == '-';
    if (negative)
        at++;
    uint64_t digits = 0;
    int count = 0, after = -1;
    for (; at < end; at++) {
        if (*at >= '0' && *at <= '9') {
            if (++count > 19)
                break;
            digits = digits * 10 + (uint64_t) (*at - '0');
            if (after >= 0)
                after++;
        }
        else
        if (*at == '.' && after < 0)
            after = 0;
        else
            break;
    }
    if (at == end && count > 0 && digits <= (1ULL << 53) && after <= 22) {
        double number = (double) digits;
        if (after > 0)
            number /= s_tens [after];
        *value = negative? -number: number;
        return 0;
    }
    //  Anything else as strtod reads it, on a copy that ends where it must
    char copy [64];
    if (size >= sizeof copy || memchr (text, 0, size))
        return -1;
    memcpy (copy, text, size);
    copy [size] = 0;
    char *stop;
    errno = 0;
    *value = strtod (copy, &stop);
    return stop == copy || *stop || errno || !isfinite (*value)? -1: 0;
}

//  Parse one data line [line, end) into values (ts first). Returns 0, or
//  -1 with why.
static int
s_parse_row (const char *line, const char *end, double values [S_COLUMNS], const char **why)
{
    const char *field = line;
    for (int i = 0; i < S_COLUMNS; i++) {
        const char *comma = (const char *) memchr (field, ',', (size_t) (end - field));
        if (i < S_COLUMNS - 1 && !comma) {
            *why = "fewer than 6 fields";
            return -1;
        }
        if (i == S_COLUMNS - 1 && comma) {
            *why = "more than 6 fields";
            return -1;
        }
        size_t size = (size_t) ((comma? comma: end) - field);
        if (i == 0) {
            //  sf_candles_parse_time reads a text with '-' as ISO-8601
            int64_t instant;
            if (memchr (field, '-', size)) {
                if (sf_time_parse (field, size, &instant)) {
                    *why = "ts is neither an ISO-8601 time nor epoch milliseconds";
                    return -1;
                }
                values [0] = (double) instant;
            }
            else
            if (sf_candles_parse_number (field, size, &values [0])) {
                char copy [64];
                if (size >= sizeof copy
                ||  (memcpy (copy, field, size), copy [size] = 0,
                     sf_candles_parse_time (copy, &values [0]))) {
                    *why = "ts is neither an ISO-8601 time nor epoch milliseconds";
                    return -1;
                }
            }
        }
        else
        if (sf_candles_parse_number (field, size, &values [i])) {
            *why = "a price or volume is not a finite number";
            return -1;
        }
        if (comma)
            field = comma + 1;
    }
    return 0;
}

//  The whole file at path, NUL-terminated, in a new buffer (the caller
//  frees it) of *size bytes. Returns NULL with errno when it cannot be read.
static char *
s_slurp (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    //  Room for one byte more than the file has: a short read says the
    //  end came, and a file that grew meanwhile still gets more room
    size_t room = 1 << 16, used = 0;
    struct stat status;
    if (fstat (fileno (file), &status) == 0 && status.st_size > 0)
        room = (size_t) status.st_size + 2;
    char *data = (char *) sf_alloc (room);
    while (true) {
        size_t want = room - 1 - used;
        size_t got = fread (data + used, 1, want, file);
        used += got;
        if (got < want)
            break;
        room *= 2;
        data = (char *) sf_alloc_resize (data, room, 1);
    }
    int failed = ferror (file);
    fclose (file);
    if (failed) {
        free (data);
        errno = EIO;
        return NULL;
    }
    data [used] = 0;
    *size = used;
    return data;
}

sf_candles_t *
sf_candles_load_csv (const char *path, sf_error_t *error)
{
    size_t size;
    char *data = s_slurp (path, &size);
    if (!data) {
        sf_error_set (error, "DATA_FETCH", "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    //  About 60 bytes a row: one allocation for most files
    sf_candles_t *self = sf_candles_new (size / 48 + 16);
    const char *at = data, *stop = data + size;
    size_t number = 0;
    const char *why = NULL;
    while (at < stop) {
        const char *start = at;
        const char *newline = (const char *) memchr (at, '\n', (size_t) (stop - at));
        const char *end = newline? newline: stop;
        at = newline? newline + 1: stop;
        number++;
        while (end > start && end [-1] == '\r')
            end--;
        if (number == 1) {
            static const char header [] = "ts,open,high,low,close,volume";
            if ((size_t) (end - start) != sizeof header - 1
            ||  memcmp (start, header, sizeof header - 1) != 0) {
                why = "the header must be ts,open,high,low,close,volume";
                break;
            }
            continue;
        }
        if (end == start)
            continue;           //  Blank lines, e.g. at the end
        double values [S_COLUMNS];
        if (s_parse_row (start, end, values, &why))
            break;
        if (self->size && values [0] <= self->ts [self->size - 1]) {
            why = "ts is not after the previous row's";
            break;
        }
        sf_candles_append (self, values [0], values [1], values [2], values [3],
                           values [4], values [5]);
    }
    free (data);
    if (!why && number == 0)
        why = "the file is empty";
    if (why) {
        sf_error_set (error, "BAD_INPUT", "%s line %zu: %s", path, number, why);
        sf_candles_destroy (&self);
    }
    return self;
}

//  --------------------------------------------------------------------------
//  Windows.

void
sf_candles_window (sf_candles_t *self, double from_ms, double to_ms, size_t limit)
{
    size_t first = 0, last = self->size;        //  [first, last)
    while (first < last && !isnan (from_ms) && self->ts [first] < from_ms)
        first++;
    while (last > first && !isnan (to_ms) && self->ts [last - 1] > to_ms)
        last--;
    if (limit && last - first > limit)
        first = last - limit;
    for (int i = 0; i < S_COLUMNS; i++) {
        double *column = *s_column (self, i);
        memmove (column, column + first, (last - first) * sizeof (double));
    }
    self->size = last - first;
}

//  --------------------------------------------------------------------------
//  Wire form: little-endian float64 columns.

void
sf_candles_pack (const sf_candles_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, S_COLUMNS);
    for (int i = 0; i < S_COLUMNS; i++) {
        const double *column = *s_column ((sf_candles_t *) self, i);
        sf_mp_pack_str (pk, s_columns [i]);
        msgpack_pack_bin (pk, self->size * 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        msgpack_pack_bin_body (pk, column, self->size * 8);
#else
        for (size_t j = 0; j < self->size; j++) {
            uint64_t bits;
            memcpy (&bits, &column [j], 8);
            bits = __builtin_bswap64 (bits);
            msgpack_pack_bin_body (pk, &bits, 8);
        }
#endif
    }
}

sf_candles_t *
sf_candles_unpack (const msgpack_object *object, sf_error_t *error)
{
    static const sf_mp_key_t keys [S_COLUMNS] = {
        SF_MP_KEY ("ts"), SF_MP_KEY ("open"), SF_MP_KEY ("high"),
        SF_MP_KEY ("low"), SF_MP_KEY ("close"), SF_MP_KEY ("volume")
    };
    const msgpack_object *field [S_COLUMNS];
    const msgpack_object *unknown;
    if (sf_mp_fields (object, keys, S_COLUMNS, field, &unknown) || unknown) {
        sf_error_set (error, "BAD_INPUT",
                      "\"candles\" must be a map of ts, open, high, low, close, volume");
        return NULL;
    }
    size_t size = 0;
    for (int i = 0; i < S_COLUMNS; i++) {
        if (!field [i] || field [i]->type != MSGPACK_OBJECT_BIN
        ||  field [i]->via.bin.size % 8
        ||  (i > 0 && field [i]->via.bin.size / 8 != size)) {
            sf_error_set (error, "BAD_INPUT", "candles \"%s\" must be float64 values, "
                          "as many as ts has", s_columns [i]);
            return NULL;
        }
        size = field [i]->via.bin.size / 8;
    }
    sf_candles_t *self = sf_candles_new (size);
    for (int i = 0; i < S_COLUMNS; i++) {
        double *column = *s_column (self, i);
        memcpy (column, field [i]->via.bin.ptr, size * 8);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
        for (size_t j = 0; j < size; j++) {
            uint64_t bits;
            memcpy (&bits, &column [j], 8);
            bits = __builtin_bswap64 (bits);
            memcpy (&column [j], &bits, 8);
        }
#endif
        for (size_t j = 0; j < size; j++)
            if (!isfinite (column [j])) {
                sf_error_set (error, "BAD_INPUT", "candles \"%s\" row %zu is not a finite number",
                              s_columns [i], j);
                sf_candles_destroy (&self);
                return NULL;
            }
    }
    self->size = size;
    for (size_t j = 1; j < size; j++)
        if (self->ts [j] <= self->ts [j - 1]) {
            sf_error_set (error, "BAD_INPUT", "candles \"ts\" row %zu is not after row %zu",
                          j, j - 1);
            sf_candles_destroy (&self);
            return NULL;
        }
    return self;
}
