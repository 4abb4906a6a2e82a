/*  =========================================================================
    sf_analyzers - the table of analyzers (built from analyzers/registry.h)
    ========================================================================= */

#include <dlfcn.h>
#include <string.h>
#include "analyzers/registry.h"
#include "sf_analyzers.h"
#include "sf_codec.h"

#define S_DECLARE(name) extern const sf_analyzer_t sf_analyzer_##name;
SF_ANALYZERS (S_DECLARE)

#define S_ENTRY(name) &sf_analyzer_##name,
static const sf_analyzer_t *s_table [] = { SF_ANALYZERS (S_ENTRY) };

#define S_BUILT_IN (sizeof s_table / sizeof s_table [0])
#define S_PLUGINS_MAX 256

//  Analyzers loaded from plugins, and the libraries they came from. Set up
//  before any pool thread starts and read-only afterwards.
static const sf_analyzer_t *s_plugins [S_PLUGINS_MAX];
static size_t s_plugin_count;
static void *s_libraries [S_PLUGINS_MAX];
static size_t s_library_count;

size_t
sf_analyzers_count (void)
{
    return S_BUILT_IN + s_plugin_count;
}

const sf_analyzer_t *
sf_analyzers_at (size_t index)
{
    if (index < S_BUILT_IN)
        return s_table [index];
    if (index < S_BUILT_IN + s_plugin_count)
        return s_plugins [index - S_BUILT_IN];
    return NULL;
}

//  --------------------------------------------------------------------------
//  Load the analyzers of a plugin.

int
sf_analyzers_load (const char *path, sf_error_t *error)
{
    if (s_library_count == S_PLUGINS_MAX)
        return sf_error_set (error, "PLUGIN", "too many plugins (at most %d)", S_PLUGINS_MAX);
    void *library = dlopen (path, RTLD_NOW | RTLD_LOCAL);
    if (!library)
        return sf_error_set (error, "PLUGIN", "cannot load plugin %s: %s", path, dlerror ());
    const int *abi = (const int *) dlsym (library, "sheaf_analyzer_abi");
    const sf_analyzer_t *const *list = (const sf_analyzer_t *const *) dlsym (library,
                                                                           "sheaf_analyzers");
    int rc = 0;
    if (!abi || !list)
        rc = sf_error_set (error, "PLUGIN", "plugin %s lacks %s", path,
                           abi? "sheaf_analyzers": "sheaf_analyzer_abi");
    else
    if (*abi != SHEAF_ANALYZER_ABI)
        rc = sf_error_set (error, "PLUGIN", "plugin %s is built for analyzer ABI %d; this worker "
                           "speaks %d", path, *abi, SHEAF_ANALYZER_ABI);
    size_t added = 0;
    for (size_t i = 0; rc == 0 && list [i]; i++) {
        const sf_analyzer_t *analyzer = list [i];
        if (!analyzer->name || !sf_codec_name_valid (analyzer->name, strlen (analyzer->name))
        ||  !analyzer->version || !*analyzer->version || strlen (analyzer->version) > 64
        ||  !analyzer->analyze)
            rc = sf_error_set (error, "PLUGIN", "plugin %s: analyzer %zu needs a valid name, "
                               "version and analyze function", path, i);
        else
        if (sf_analyzers_find (analyzer->name, strlen (analyzer->name), true))
            rc = sf_error_set (error, "PLUGIN", "plugin %s: analyzer \"%s\" exists already",
                               path, analyzer->name);
        else
        if (s_plugin_count == S_PLUGINS_MAX)
            rc = sf_error_set (error, "PLUGIN", "too many plugin analyzers (at most %d)",
                               S_PLUGINS_MAX);
        else {
            s_plugins [s_plugin_count++] = analyzer;
            added++;
        }
    }
    if (rc == 0 && added == 0)
        rc = sf_error_set (error, "PLUGIN", "plugin %s has no analyzers", path);
    if (rc) {
        s_plugin_count -= added;
        dlclose (library);
        return -1;
    }
    s_libraries [s_library_count++] = library;
    return 0;
}

void
sf_analyzers_unload (void)
{
    s_plugin_count = 0;
    while (s_library_count)
        dlclose (s_libraries [--s_library_count]);
}

bool
sf_analyzers_served (const sf_analyzer_t *analyzer, bool tests)
{
    return tests || !analyzer->test_only;
}

const sf_analyzer_t *
sf_analyzers_find (const char *name, size_t size, bool tests)
{
    for (size_t i = 0; i < sf_analyzers_count (); i++) {
        const sf_analyzer_t *analyzer = sf_analyzers_at (i);
        if (strlen (analyzer->name) == size && memcmp (analyzer->name, name, size) == 0)
            return sf_analyzers_served (analyzer, tests)? analyzer: NULL;
    }
    return NULL;
}

int
sf_analyzers_init (bool tests, sf_error_t *error)
{
    for (size_t i = 0; i < sf_analyzers_count (); i++) {
        const sf_analyzer_t *analyzer = sf_analyzers_at (i);
        if (!sf_analyzers_served (analyzer, tests) || !analyzer->init)
            continue;
        if (analyzer->init ()) {
            while (i-- > 0) {
                const sf_analyzer_t *earlier = sf_analyzers_at (i);
                if (sf_analyzers_served (earlier, tests) && earlier->cleanup)
                    earlier->cleanup ();
            }
            return sf_error_set (error, "ANALYZER", "analyzer %s failed to initialise",
                                 analyzer->name);
        }
    }
    return 0;
}

void
sf_analyzers_cleanup (bool tests)
{
    for (size_t i = sf_analyzers_count (); i-- > 0;) {
        const sf_analyzer_t *analyzer = sf_analyzers_at (i);
        if (sf_analyzers_served (analyzer, tests) && analyzer->cleanup)
            analyzer->cleanup ();
    }
}
