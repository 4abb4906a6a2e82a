/*  =========================================================================
    sf_option - numeric command-line options and environment variables, and
    --version, read and printed the same way in every sheaf program
    ========================================================================= */

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sf_option.h"
#include "sheaf.h"

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

unsigned long long
sf_option_bytes (const char *program, const char *name, const char *text,
                 unsigned long long max, int exit_code)
{
    static const char *units = "KMGT";
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    bool good = !errno && end != text && isdigit ((unsigned char) *text);
    if (good && *end) {
        const char *unit = strchr (units, toupper ((unsigned char) *end));
        good = unit && (end [1] == 0 || strcasecmp (end + 1, "iB") == 0);
        for (int shift = 0; good && unit && shift <= unit - units; shift++) {
            good = value <= max / 1024;
            value *= 1024;
        }
    }
    if (!good || value > max) {
        fprintf (stderr, "%s: --%s must be a size like 512MiB (at most %llu bytes), not "
                 "\"%s\"\n", program, name, max, text);
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
