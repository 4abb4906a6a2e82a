/*  =========================================================================
    sf_option - numeric command-line options and environment variables, and
    --version, read and printed the same way in every sheaf program
    ========================================================================= */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "sf_option.h"
#include "sheaf.h"

//  --------------------------------------------------------------------------
//  Parse a numeric option or exit.

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

//  --------------------------------------------------------------------------
//  Print "PROGRAM VERSION" for --version.

void
sf_option_version (const char *program)
{
    printf ("%s %s\n", program, SF_VERSION);
}
