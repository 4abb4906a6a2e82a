/*  =========================================================================
    sheaf_analyzer.h - the analyzer interface, and the plugin ABI

    A built-in analyzer is one file in worker/analyzers/ that defines one
    constant sf_analyzer_t named sf_analyzer_<name> and is listed once in
    analyzers/registry.h. A plugin is a shared library loaded with
    `sheaf-worker --plugin FILE.so`; it defines

        const int sheaf_analyzer_abi = SHEAF_ANALYZER_ABI;
        const sf_analyzer_t *const sheaf_analyzers [] = { &mine, …, NULL };

    and calls only the sf_actx_* and sf_candles_* functions, which the
    worker provides. This header is installed with libsheaf. The worker calls init once per process before any
    job and cleanup once at exit (the service-container lifecycle), and
    analyze on a pool thread for every job, never on the I/O thread.

    analyze reads the job through the context and either packs exactly one
    msgpack value (the result) into sf_actx_output and returns 0, or calls
    sf_actx_fail and returns its -1. It must be thread-safe: several pool
    threads run it at once, each with its own context.
    ========================================================================= */

#ifndef SHEAF_ANALYZER_H_INCLUDED
#define SHEAF_ANALYZER_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "sf_candles.h"

//  The plugin ABI version. Checklist when sf_analyzer_t or a function here
//  changes incompatibly: this number, worker/sf_analyzers.c (the check),
//  examples/plugin_midpoint.c. Functions added without a change to
//  sf_analyzer_t (the sf_actx_*state* functions) keep the number: plugins
//  built before them load unchanged, and a plugin that calls them needs a
//  worker that has them (dlopen names the missing symbol otherwise).
#define SHEAF_ANALYZER_ABI 1

typedef struct _sf_actx_t sf_actx_t;

//  The kinds of parameter an analyzer declares.
typedef enum {
    SF_PARAM_INT,               //  An integer in [min, max]
    SF_PARAM_REAL,              //  A number in [min, max]
    SF_PARAM_CHOICE,            //  One of the words in choices ("a|b|c")
    SF_PARAM_TEXT,              //  A string of 1-255 characters
    SF_PARAM_SYMBOLS,           //  A list of min-max symbols (strings)
    SF_PARAM_RESULTS            //  A group's gathered results, as a chord
                                //  receives them: a list of min-max maps
} sf_param_type_t;

//  One declared parameter. A table of them ends with a NULL name.
typedef struct {
    const char *name;           //  As jobs give it in "params"
    sf_param_type_t type;       //  Its kind
    double fallback;            //  INT, REAL: the default (NAN: optional)
    double min;                 //  INT, REAL, SYMBOLS: smallest allowed
    double max;                 //  INT, REAL, SYMBOLS: largest allowed
    const char *choices;        //  CHOICE: "a|b", the first is the default
    const char *summary;        //  One line for `sheaf-worker --list`
} sf_param_t;

typedef struct {
    const char *name;           //  Analyzer name, as jobs give it
    const char *version;        //  Reported to the broker at READY
    const char *summary;        //  One line for `sheaf-worker --list`
    bool test_only;             //  Served only with --enable-test-analyzers
    int (*init) (void);         //  Optional: once per process; 0 or -1
    void (*cleanup) (void);     //  Optional: once per process at exit
    int (*analyze) (sf_actx_t *ctx);
    const sf_param_t *params;   //  Declared params, or NULL: any params
} sf_analyzer_t;

//  The job's "params" map, or NULL when it has none (borrowed).
const msgpack_object *sf_actx_params (sf_actx_t *ctx);

//  A parameter by name, or NULL (borrowed).
const msgpack_object *sf_actx_param (sf_actx_t *ctx, const char *name);

//  A declared INT, REAL or CHOICE parameter's value: the job's, else its
//  default (for CHOICE, the index of the word in choices). The worker has
//  checked every declared parameter against its declaration before
//  analyze runs, so these cannot fail for a declared name. An undeclared
//  name reads as 0 and fails the job with ANALYSIS (naming the analyzer
//  and the param).
int sf_actx_int (sf_actx_t *ctx, const char *name);
double sf_actx_real (sf_actx_t *ctx, const char *name);
int sf_actx_choice (sf_actx_t *ctx, const char *name);

//  The whole job map (borrowed).
const msgpack_object *sf_actx_job (sf_actx_t *ctx);

//  The job's attempt number: its lease token. An analyzer that writes to
//  an outside system conditions those writes on it, so that an older
//  attempt can never overwrite a newer one.
uint32_t sf_actx_attempt (sf_actx_t *ctx);

//  The job's market data: its inline candles, or those its symbol and
//  timeframe name in the worker's data source, cut to its from/to/limit.
//  Returns 0 with *candles_p (the caller destroys it), or -1 after failing
//  the job: BAD_INPUT for bad inline candles or bounds, DATA_FETCH (with
//  symbol, timeframe, source and cause in the context) when the data
//  source cannot provide them.
int sf_actx_candles (sf_actx_t *ctx, sf_candles_t **candles_p);

//  The candles the worker's data source has for symbol and timeframe, all
//  of them. Returns 0 with *candles_p (the caller destroys it), or -1 after
//  failing the job with DATA_FETCH (context: symbol, timeframe, source,
//  cause).
int sf_actx_fetch (sf_actx_t *ctx, const char *symbol, const char *timeframe,
                   sf_candles_t **candles_p);

//  Where analyze packs its result (exactly one value).
msgpack_packer *sf_actx_output (sf_actx_t *ctx);

//  Incremental state (docs/PROTOCOL.md 4.5.3). A job may carry the state
//  an earlier job of the same "state_key" handed back; an analyzer that
//  keeps bounded state continues from it over the new candles only, and
//  hands back its new state with sf_actx_set_state. The bytes come from
//  the network: decode them with bounds checks and recompute in full when
//  they are not a state this analyzer, version and params wrote.

//  The job's state bytes and *size, or NULL (size 0) when it carries none
//  (borrowed until analyze returns).
const void *sf_actx_state (sf_actx_t *ctx, size_t *size);

//  True when the job has a "state_key": the new state is wanted.
bool sf_actx_wants_state (sf_actx_t *ctx);

//  The new state to return with the result (copied; a later call replaces
//  it). The worker sends it only when the job has a "state_key" and
//  analyze succeeds.
void sf_actx_set_state (sf_actx_t *ctx, const void *data, size_t size);

//  True when the job should stop (the worker is shutting down). Long
//  analyzers check it at reasonable intervals and then fail with code
//  CANCELLED.
bool sf_actx_cancelled (sf_actx_t *ctx);

//  End the job with an error: a stable code (ANALYSIS, BAD_INPUT,
//  DATA_FETCH, …) and a message. Returns -1 for `return sf_actx_fail (…)`.
int sf_actx_fail (sf_actx_t *ctx, const char *code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Add a string or integer to the failure's context map (before or after
//  sf_actx_fail).
void sf_actx_context_str (sf_actx_t *ctx, const char *key, const char *value);
void sf_actx_context_int (sf_actx_t *ctx, const char *key, int64_t value);

#endif
