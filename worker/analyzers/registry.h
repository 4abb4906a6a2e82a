/*  =========================================================================
    registry.h - every analyzer the worker knows, one line each

    X (name) expands once per analyzer; worker/sf_analyzers.c turns the list
    into the lookup table. The indicators come first, from their own list
    (SF_INDICATORS in indicators.h, where an indicator is added); any other
    analyzer: its file in this directory defining sf_analyzer_<name>, and
    its line here.
    ========================================================================= */

#include "indicators.h"

#define SF_ANALYZERS(X)                                                        \
    SF_INDICATORS (X)                                                          \
    X (stats)                                                                  \
    X (report)                                                                 \
    X (correlation)                                                            \
    X (summary)                                                                \
    X (echo)                                                                   \
    X (sleep)                                                                  \
    X (fail)                                                                   \
    X (crash)
