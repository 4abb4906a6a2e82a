/*  =========================================================================
    sf_analyzers - the table of analyzers (built from analyzers/registry.h)
    ========================================================================= */

#include <string.h>
#include "analyzers/registry.h"
#include "sf_analyzers.h"

#define S_DECLARE(name) extern const sf_analyzer_t sf_analyzer_##name;
SF_ANALYZERS (S_DECLARE)

#define S_ENTRY(name) &sf_analyzer_##name,
static const sf_analyzer_t *s_table [] = { SF_ANALYZERS (S_ENTRY) };

#define S_COUNT (sizeof s_table / sizeof s_table [0])

size_t
sf_analyzers_count (void)
{
    return S_COUNT;
}

const sf_analyzer_t *
sf_analyzers_at (size_t index)
{
    return index < S_COUNT? s_table [index]: NULL;
}

bool
sf_analyzers_served (const sf_analyzer_t *analyzer, bool tests)
{
    return tests || !analyzer->test_only;
}

const sf_analyzer_t *
sf_analyzers_find (const char *name, size_t size, bool tests)
{
    for (size_t i = 0; i < S_COUNT; i++)
        if (strlen (s_table [i]->name) == size && memcmp (s_table [i]->name, name, size) == 0)
            return sf_analyzers_served (s_table [i], tests)? s_table [i]: NULL;
    return NULL;
}

int
sf_analyzers_init (bool tests, sf_error_t *error)
{
    for (size_t i = 0; i < S_COUNT; i++) {
        if (!sf_analyzers_served (s_table [i], tests) || !s_table [i]->init)
            continue;
        if (s_table [i]->init ()) {
            const char *failed = s_table [i]->name;
            while (i-- > 0)
                if (sf_analyzers_served (s_table [i], tests) && s_table [i]->cleanup)
                    s_table [i]->cleanup ();
            return sf_error_set (error, "ANALYZER", "analyzer %s failed to initialise", failed);
        }
    }
    return 0;
}

void
sf_analyzers_cleanup (bool tests)
{
    for (size_t i = S_COUNT; i-- > 0;)
        if (sf_analyzers_served (s_table [i], tests) && s_table [i]->cleanup)
            s_table [i]->cleanup ();
}
