/*  =========================================================================
    bench.h - what the benchmark programs share: option numbers and
    nearest-rank percentiles, so every program reports figures alike

    Header-only (static inline): each benchmark source is built as a program of
    its own.
    ========================================================================= */

#ifndef BENCH_H_INCLUDED
#define BENCH_H_INCLUDED

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

//  Parse a whole decimal number in [min, max]. Returns 0 or -1.
static inline int
bench_parse_long (const char *text, long min, long max, long *value)
{
    char *end;
    errno = 0;
    long parsed = strtol (text, &end, 10);
    if (errno || end == text || *end || parsed < min || parsed > max)
        return -1;
    *value = parsed;
    return 0;
}

//  qsort comparator for uint32_t.
static inline int
bench_compare_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

//  Percentile p (0-100) of count sorted values, by nearest rank; count > 0.
static inline uint32_t
bench_percentile (const uint32_t *sorted, size_t count, double p)
{
    size_t rank = (size_t) (p / 100.0 * (double) count + 0.999999);
    rank = rank < 1? 1: rank > count? count: rank;
    return sorted [rank - 1];
}

#endif
