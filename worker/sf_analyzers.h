/*  =========================================================================
    sf_analyzers - the table of analyzers (built from analyzers/registry.h)
    ========================================================================= */

#ifndef SF_ANALYZERS_H_INCLUDED
#define SF_ANALYZERS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "analyzer.h"
#include "sheaf.h"

//  Number of analyzers in the table, and the one at index (borrowed).
size_t sf_analyzers_count (void);
const sf_analyzer_t *sf_analyzers_at (size_t index);

//  True when analyzer is served by this process (test-only analyzers only
//  when tests is on).
bool sf_analyzers_served (const sf_analyzer_t *analyzer, bool tests);

//  The served analyzer called name (size bytes), or NULL.
const sf_analyzer_t *sf_analyzers_find (const char *name, size_t size, bool tests);

//  Call init of every served analyzer. Returns 0, or -1 with error naming
//  the analyzer that failed (those initialised before it are cleaned up).
int sf_analyzers_init (bool tests, sf_error_t *error);

//  Call cleanup of every served analyzer.
void sf_analyzers_cleanup (bool tests);

#endif
