/*  =========================================================================
    sf_state - the state blob an incremental analyzer hands back with its
    result and receives with the next job of the same state_key
    (docs/PROTOCOL.md 4.5.3)

    The blob is a msgpack map that names what it belongs to, so that a
    worker can refuse a state that is not its own:

        {"format": 1, "analyzer": "sma", "version": "1",
         "params": <uint64 hash of the effective params>,
         "ts": <last candle's ts, epoch ms>, "seen": <candles seen>,
         "values": [float64, …], "check": <uint64>}

    "values" is the analyzer's bounded state (its last outputs, running
    sums, the last `period` closes, …) in a layout only that analyzer and
    version know; "check" is a 64-bit FNV-1a hash of params, ts, seen and
    the values' bits, so a flipped byte inside a number is caught as
    surely as broken structure. The blob travels through the broker and its store, so
    decoding trusts nothing: every type, size and count is checked, and a
    blob that fails any check is a mismatch (the job then recomputes in
    full), never a crash.

    Checklist when the blob's layout changes: S_FORMAT in sf_state.c,
    docs/PROTOCOL.md 4.5.3. When an analyzer's "values" layout or
    arithmetic changes: that analyzer's version.
    ========================================================================= */

#ifndef SF_STATE_H_INCLUDED
#define SF_STATE_H_INCLUDED

#include <msgpack.h>
#include <stdint.h>
#include "sheaf_analyzer.h"

//  What a state blob says besides its values.
typedef struct {
    uint64_t params;            //  Hash of the effective params
    double ts;                  //  Last candle folded in, epoch ms
    uint64_t seen;              //  Candles folded in since the first
} sf_state_head_t;

//  A 64-bit FNV-1a hash of the effective values of the analyzer's declared
//  params (the job's, else the defaults), "output" left out: it shapes the
//  result, not the state. Two jobs with equal hashes compute the same
//  series.
uint64_t sf_state_params_hash (sf_actx_t *ctx);

//  Pack a blob for the running analyzer into out (cleared first): head and
//  count values.
void sf_state_pack (msgpack_sbuffer *out, const sf_analyzer_t *analyzer,
                    const sf_state_head_t *head, const double *values, size_t count);

//  Read the blob of size bytes at data, expecting the running analyzer's
//  name and version, params hash params and exactly count values. Returns 0
//  with *head and values[0 .. count-1] filled, or -1 with *why set to a
//  static explanation (values may then hold anything).
int sf_state_read (const void *data, size_t size, const sf_analyzer_t *analyzer,
                   uint64_t params, sf_state_head_t *head, double *values, size_t count,
                   const char **why);

#endif
