/*  =========================================================================
    sf_option - numeric command-line options and environment variables
    ========================================================================= */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "sf_option.h"

long long
sf_option_number (const char *program, const char *name, const char *text,
                  long long min, long long max, int exit_code)
{
    char *end;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (errno || *end || end == text || value < min || value > max) {
        fprintf (stderr, "%s: --%s must be an integer %lld-%lld, not \"%s\"\n",
                 program, name, min, max, text);
        exit (exit_code);
    }
    return value;
}
