/*  =========================================================================
    sf_regression - the least-squares line over every window of n values

    The kernel takes the values in blocks: the sums slide value by value
    (a recurrence), then the block's slopes
    and lines come from them in a loop of independent iterations that the
    compiler vectorises. The angles' arc tangents stay a scalar loop.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "analyzers/indicators.h"
#include "sf_regression.h"

//  The state's slots: the shift, the sums, then the ring.
enum { S_SHIFT, S_SUM, S_WEIGHTED, S_RING };

//  What the windows of one n share.
typedef struct {
    double n;                   //  The window's length
    double inv_n;               //  1 / n
    double last;                //  n - 1, the newest candle's t
    double st;                  //  Σ t over the window
    double inv_d;               //  1 / (n Σ t² - (Σ t)²)
    double at;                  //  The candle SF_REGRESSION_AT gives the line at
    sf_regression_output_t what;    //  What is written of each line
} s_fit_t;

static void
s_fit_init (s_fit_t *self, size_t n, sf_regression_output_t what, double at)
{
    uint64_t count = n;
    //  Exact in integers (n is at most 100000 as the analyzers declare it)
    double st = (double) (count * (count - 1) / 2);
    double st2 = (double) (count * (count - 1) * (2 * count - 1) / 6);
    self->n = (double) n;
    self->inv_n = 1.0 / (double) n;
    self->last = (double) n - 1;
    self->st = st;
    self->inv_d = 1.0 / ((double) n * st2 - st * st);
    self->at = at;
    self->what = what;
}

//  Values between two afresh sums: a multiple of n from 128 on (often
//  enough that the prices cannot drift far from the shift).
static size_t
s_every (size_t n)
{
    return n * ((128 + n - 1) / n);
}

//  The shift and sums of the window y[0 .. n-1] (oldest first) into sums:
//  in four interleaved partial sums, so that summing a window afresh is
//  not one chain of n dependent additions.
static void
s_afresh (const double *y, size_t n, double *sums)
{
    double shift = sf_kernel_sum (y, n) / (double) n;
    double sum [4] = { 0 }, weighted [4] = { 0 };
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        for (size_t u = 0; u < 4; u++) {
            double d = y [j + u] - shift;
            sum [u] += d;
            weighted [u] += (double) (j + u) * d;
        }
    for (; j < n; j++) {
        double d = y [j] - shift;
        sum [0] += d;
        weighted [0] += (double) j * d;
    }
    sums [S_SHIFT] = shift;
    sums [S_SUM] = (sum [0] + sum [1]) + (sum [2] + sum [3]);
    sums [S_WEIGHTED] = (weighted [0] + weighted [1]) + (weighted [2] + weighted [3]);
}

//  Slide the sums: in (shifted) enters as the newest, gone (shifted) leaves
//  as the oldest; every other value's t falls by one.
static inline void
s_slide (double *sum, double *weighted, double in, double gone, double last)
{
    *weighted += (last * in + gone) - *sum;
    *sum += in - gone;
}

//  What of the lines of count windows from their sums and shifts.
static inline void
s_outputs (size_t count, const double *restrict sum, const double *restrict weighted,
           const double *restrict shift, const s_fit_t *fit, double *restrict out)
{
    double n = fit->n, st = fit->st, inv_d = fit->inv_d, inv_n = fit->inv_n, at = fit->at;
    if (fit->what == SF_REGRESSION_AT)
        for (size_t b = 0; b < count; b++) {
            double m = (n * weighted [b] - st * sum [b]) * inv_d;
            out [b] = shift [b] + (sum [b] - m * st) * inv_n + at * m;
        }
    else
        for (size_t b = 0; b < count; b++)
            out [b] = (n * weighted [b] - st * sum [b]) * inv_d;
    if (fit->what == SF_REGRESSION_ANGLE)
        for (size_t b = 0; b < count; b++)
            out [b] = atan (out [b]) * (180.0 / 3.14159265358979323846);
}

static SF_KERNEL_CLONES void
s_outputs_block (const double *sum, const double *weighted, const double *shift,
                 const s_fit_t *fit, double *out)
{
    s_outputs (SF_KERNEL_BLOCK, sum, weighted, shift, fit, out);
}

void
sf_regression_series (const double *y, size_t size, size_t n, sf_regression_output_t what,
                      double at, double *out, double *state)
{
    s_fit_t fit;
    s_fit_init (&fit, n, what, at);
    size_t every = s_every (n);
    double sums [S_RING], sum [SF_KERNEL_BLOCK], weighted [SF_KERNEL_BLOCK];
    double shifts [SF_KERNEL_BLOCK];
    double shift = 0, s = 0, w = 0;
    size_t afresh = n - 1;              //  The next value whose window is summed afresh
    for (size_t i = n - 1; i < size; ) {
        size_t count = size - i < SF_KERNEL_BLOCK? size - i: SF_KERNEL_BLOCK;
        for (size_t b = 0; b < count; b++) {
            if (i + b == afresh) {
                s_afresh (y + i + b + 1 - n, n, sums);
                shift = sums [S_SHIFT], s = sums [S_SUM], w = sums [S_WEIGHTED];
                afresh += every;
            }
            else
                s_slide (&s, &w, y [i + b] - shift, y [i + b - n] - shift, fit.last);
            sum [b] = s;
            weighted [b] = w;
            shifts [b] = shift;
        }
        if (count == SF_KERNEL_BLOCK)
            s_outputs_block (sum, weighted, shifts, &fit, out + i);
        else
            s_outputs (count, sum, weighted, shifts, &fit, out + i);
        i += count;
    }
    if (state) {
        state [S_SHIFT] = shift;
        state [S_SUM] = s;
        state [S_WEIGHTED] = w;
        for (size_t j = size - n; j < size; j++)
            state [S_RING + j % n] = y [j];
    }
}

double
sf_regression_push (double *state, size_t n, uint64_t seen, double y,
                    sf_regression_output_t what, double at)
{
    double *ring = state + S_RING;
    size_t slot = (size_t) (seen % n);
    double gone = ring [slot];
    ring [slot] = y;
    if (seen + 1 < n)
        return 0;
    s_fit_t fit;
    s_fit_init (&fit, n, what, at);
    if ((seen + 1 - n) % s_every (n) == 0)
        s_afresh (ring, n, state);
    else
        s_slide (state + S_SUM, state + S_WEIGHTED, y - state [S_SHIFT],
                 gone - state [S_SHIFT], fit.last);
    double out;
    s_outputs (1, state + S_SUM, state + S_WEIGHTED, state + S_SHIFT, &fit, &out);
    return out;
}
