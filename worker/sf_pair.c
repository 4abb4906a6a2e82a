/*  =========================================================================
    sf_pair - the two series of an indicator over a pair
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "sf_actx.h"
#include "sf_codec.h"
#include "sf_mp.h"
#include "sf_pair.h"

//  The column of candles that choice param name of the job names (the
//  choices are column names; fallback when the job does not give it).
static const double *
s_column (sf_actx_t *ctx, const sf_candles_t *candles, const char *name, const char *fallback)
{
    const msgpack_object *value = sf_actx_param (ctx, name);
    if (sf_mp_streq (value, "open") || (!value && strcmp (fallback, "open") == 0))
        return candles->open;
    if (sf_mp_streq (value, "high") || (!value && strcmp (fallback, "high") == 0))
        return candles->high;
    if (sf_mp_streq (value, "low") || (!value && strcmp (fallback, "low") == 0))
        return candles->low;
    if (sf_mp_streq (value, "volume") || (!value && strcmp (fallback, "volume") == 0))
        return candles->volume;
    return candles->close;
}

//  The candles of the pair (sf_series_source_fn): x in high, y in low.
static int
s_source (sf_actx_t *ctx, bool resumed, double after_ms, size_t lookback,
          sf_candles_t **candles_p)
{
    sf_candles_t *own;
    if (resumed? sf_actx_candles_after (ctx, after_ms, &own): sf_actx_candles (ctx, &own))
        return -1;
    const msgpack_object *against = sf_actx_param (ctx, "against");
    char symbol [SF_NAME_MAX + 1] = "", timeframe [SF_TIMEFRAME_MAX + 1];
    sf_candles_t *pair = sf_candles_new (own->size);
    if (!against) {
        const double *x = s_column (ctx, own, "x", "high"), *y = s_column (ctx, own, "y", "low");
        for (size_t i = 0; i < own->size; i++)
            sf_candles_append (pair, own->ts [i], 0, x [i], y [i], 0, 0);
    }
    else {
        sf_candles_t *other = NULL;
        int rc = sf_mp_strcpy (against, symbol, sizeof symbol);
        if (rc) {
            sf_actx_context_str (ctx, "param", "against");
            sf_actx_fail (ctx, "BAD_INPUT", "param \"against\" must be a symbol of at most %d "
                          "characters", SF_NAME_MAX);
        }
        else
        if (sf_mp_strcpy (sf_mp_get (sf_actx_job (ctx), "timeframe"), timeframe,
                          sizeof timeframe)) {
            sf_actx_context_str (ctx, "param", "against");
            rc = sf_actx_fail (ctx, "BAD_INPUT", "param \"against\" needs the job's timeframe");
        }
        else
            rc = sf_actx_fetch (ctx, symbol, timeframe, &other);
        if (rc) {
            sf_candles_destroy (&pair);
            sf_candles_destroy (&own);
            return -1;
        }
        //  The shared timestamps: both series increase
        const double *x = s_column (ctx, other, "column", "close");
        const double *y = s_column (ctx, own, "column", "close");
        for (size_t i = 0, j = 0; i < own->size && j < other->size; ) {
            if (own->ts [i] < other->ts [j])
                i++;
            else
            if (own->ts [i] > other->ts [j])
                j++;
            else {
                sf_candles_append (pair, own->ts [i], 0, x [j], y [i], 0, 0);
                i++, j++;
            }
        }
        sf_candles_destroy (&other);
    }
    sf_candles_destroy (&own);
    if (!resumed && pair->size <= lookback) {
        sf_actx_context_int (ctx, "candles", (int64_t) pair->size);
        sf_actx_context_int (ctx, "needed", (int64_t) lookback + 1);
        if (against)
            sf_actx_fail (ctx, "INSUFFICIENT_DATA", "%zu candles share their time with %s, at "
                          "least %zu needed", pair->size, symbol, lookback + 1);
        else
            sf_actx_fail (ctx, "INSUFFICIENT_DATA", "%zu candles, at least %zu needed",
                          pair->size, lookback + 1);
        sf_candles_destroy (&pair);
        return -1;
    }
    *candles_p = pair;
    return 0;
}

int
sf_pair_run (sf_actx_t *ctx, const sf_indicator_t *indicator)
{
    bool against = sf_actx_param (ctx, "against") != NULL;
    static const char *const columns [] = { "x", "y" };
    for (size_t c = 0; c < 2 && against; c++)
        if (sf_actx_param (ctx, columns [c])) {
            sf_actx_context_str (ctx, "param", columns [c]);
            return sf_actx_fail (ctx, "BAD_INPUT", "param \"%s\" does not apply with "
                                 "\"against\" (\"column\" names the column of both symbols)",
                                 columns [c]);
        }
    if (!against && sf_actx_param (ctx, "column")) {
        sf_actx_context_str (ctx, "param", "column");
        return sf_actx_fail (ctx, "BAD_INPUT", "param \"column\" applies only with \"against\" "
                             "(\"x\" and \"y\" name the job's columns)");
    }
    //  The job's own high and low: no copy
    bool own = !against && sf_actx_choice (ctx, "x") == 0 && sf_actx_choice (ctx, "y") == 0;
    return sf_series_run_from (ctx, indicator, own? NULL: s_source);
}
