/*  =========================================================================
    sf_option - reading numeric command-line options and environment
    variables, and printing --version, the same way in every sheaf program
    ========================================================================= */

#ifndef SF_OPTION_H_INCLUDED
#define SF_OPTION_H_INCLUDED

//  Parse text as a decimal integer in [min, max]. If it is not one, print
//  "PROGRAM: --NAME must be an integer MIN-MAX, not "TEXT"" to stderr and
//  exit with exit_code (the program's usage code).
long long sf_option_number (const char *program, const char *name, const char *text,
                            long long min, long long max, int exit_code);

//  Parse text as a byte count: a decimal integer with an optional unit, K,
//  M, G or T (powers of 1024; KiB, MiB, GiB, TiB and lower case alike),
//  at most max bytes. If it is not one, print "PROGRAM: --NAME must be a
//  size like 512MiB (at most MAX bytes), not "TEXT"" to stderr and exit
//  with exit_code.
unsigned long long sf_option_bytes (const char *program, const char *name, const char *text,
                                    unsigned long long max, int exit_code);

//  Print "PROGRAM VERSION" (SF_VERSION of sheaf.h, the one place the
//  version is written) and a newline to stdout, for --version.
void sf_option_version (const char *program);

#endif
