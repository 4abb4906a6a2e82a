/*  =========================================================================
    sf_analyzers - the table of analyzers: the built-in ones (from
    analyzers/registry.h), then those loaded from plugins
    ========================================================================= */

#ifndef SF_ANALYZERS_H_INCLUDED
#define SF_ANALYZERS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "sheaf_analyzer.h"
#include "sheaf.h"

//  Number of analyzers in the table, and the one at index (borrowed).
size_t sf_analyzers_count (void);
const sf_analyzer_t *sf_analyzers_at (size_t index);

//  True when analyzer is served by this process (test-only analyzers only
//  when tests is on).
bool sf_analyzers_served (const sf_analyzer_t *analyzer, bool tests);

//  The served analyzer called name (size bytes), or NULL.
const sf_analyzer_t *sf_analyzers_find (const char *name, size_t size, bool tests);

//  Load the analyzers of the plugin at path (a shared library following
//  sheaf_analyzer.h). Call before sf_analyzers_init and before any pool
//  thread starts. Returns 0, or -1 with error (code PLUGIN) naming the
//  file and what is wrong: it cannot be loaded, lacks a symbol, speaks
//  another ABI, or brings an invalid or duplicate analyzer.
int sf_analyzers_load (const char *path, sf_error_t *error);

//  Forget plugin analyzers and unload their libraries (after cleanup).
void sf_analyzers_unload (void);

//  Call init of every served analyzer. Returns 0, or -1 with error naming
//  the analyzer that failed (those initialised before it are cleaned up).
int sf_analyzers_init (bool tests, sf_error_t *error);

//  Call cleanup of every served analyzer.
void sf_analyzers_cleanup (bool tests);

#endif
