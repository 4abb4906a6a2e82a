/*  =========================================================================
    correlation - correlation matrix of log returns across symbols

    params.symbols names 2-50 symbols of the job's timeframe; each is read
    whole from the worker's data source. The series are aligned
    on the timestamps all of them share; the log return between consecutive
    shared timestamps is taken for each, and the Pearson correlation of
    every pair is the matrix entry (null when a series does not move).
    Needs at least 3 shared timestamps. Result: {"symbols": [...],
    "observations": returns used, "matrix": [[...], ...]}.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sf_codec.h"
#include "sf_mp.h"
#include "sf_series.h"

#define S_SYMBOLS_MAX 50

static int
s_analyze (sf_actx_t *ctx)
{
    const msgpack_object *symbols = sf_actx_param (ctx, "symbols");
    char timeframe [SF_TIMEFRAME_MAX + 1];
    if (!symbols) {
        sf_actx_context_str (ctx, "param", "symbols");
        return sf_actx_fail (ctx, "BAD_INPUT", "param \"symbols\" is required");
    }
    if (sf_mp_strcpy (sf_mp_get (sf_actx_job (ctx), "timeframe"), timeframe, sizeof timeframe))
        return sf_actx_fail (ctx, "BAD_INPUT", "the job names no timeframe");
    size_t count = symbols->via.array.size;
    char names [S_SYMBOLS_MAX][SF_NAME_MAX + 1];
    sf_candles_t *series [S_SYMBOLS_MAX] = { NULL };
    int rc = 0;
    for (size_t s = 0; s < count && rc == 0; s++) {
        sf_mp_strcpy (&symbols->via.array.ptr [s], names [s], sizeof names [s]);
        rc = sf_actx_fetch (ctx, names [s], timeframe, &series [s]);
    }
    //  Shared timestamps: walk all series at once (each is increasing)
    size_t *at = (size_t *) calloc (count, sizeof (size_t));
    size_t shared_max = rc == 0? series [0]->size: 0, shared = 0;
    double *closes = sf_series_alloc (shared_max * count);      //  [row * count + s]
    while (rc == 0) {
        double ts = -INFINITY;
        bool done = false;
        for (size_t s = 0; s < count; s++) {
            if (at [s] >= series [s]->size)
                done = true;
            else
                ts = fmax (ts, series [s]->ts [at [s]]);
        }
        if (done)
            break;
        bool all = true;
        for (size_t s = 0; s < count; s++) {
            while (at [s] < series [s]->size && series [s]->ts [at [s]] < ts)
                at [s]++;
            all &= at [s] < series [s]->size && series [s]->ts [at [s]] == ts;
        }
        if (!all)
            continue;
        for (size_t s = 0; s < count; s++)
            closes [shared * count + s] = series [s]->close [at [s]++];
        shared++;
    }
    if (rc == 0 && shared < 3) {
        sf_actx_context_int (ctx, "shared", (int64_t) shared);
        sf_actx_context_int (ctx, "needed", 3);
        rc = sf_actx_fail (ctx, "INSUFFICIENT_DATA", "%zu timestamps shared by every symbol, "
                           "at least 3 needed", shared);
    }
    for (size_t i = 0; rc == 0 && i < shared * count; i++)
        if (closes [i] <= 0)
            rc = sf_actx_fail (ctx, "BAD_INPUT", "%s has a close that is not positive",
                               names [i % count]);
    if (rc == 0) {
        size_t m = shared - 1;                                  //  Returns
        double *returns = sf_series_alloc (m * count);          //  [s * m + row]
        double *mean = sf_series_alloc (count), *sd = sf_series_alloc (count);
        for (size_t s = 0; s < count; s++) {
            for (size_t row = 0; row < m; row++) {
                double r = log (closes [(row + 1) * count + s] / closes [row * count + s]);
                returns [s * m + row] = r;
                mean [s] += r / (double) m;
            }
            for (size_t row = 0; row < m; row++)
                sd [s] += pow (returns [s * m + row] - mean [s], 2);
            sd [s] = sqrt (sd [s]);
        }
        msgpack_packer *pk = sf_actx_output (ctx);
        msgpack_pack_map (pk, 3);
        sf_mp_pack_str (pk, "symbols");
        msgpack_pack_array (pk, count);
        for (size_t s = 0; s < count; s++)
            sf_mp_pack_str (pk, names [s]);
        sf_mp_pack_kv_uint (pk, "observations", m);
        sf_mp_pack_str (pk, "matrix");
        msgpack_pack_array (pk, count);
        for (size_t a = 0; a < count; a++) {
            msgpack_pack_array (pk, count);
            for (size_t b = 0; b < count; b++) {
                if (sd [a] < 1e-14 || sd [b] < 1e-14) {
                    msgpack_pack_nil (pk);
                    continue;
                }
                double cov = 0;
                for (size_t row = 0; row < m; row++)
                    cov += (returns [a * m + row] - mean [a]) * (returns [b * m + row] - mean [b]);
                msgpack_pack_double (pk, a == b? 1.0: cov / (sd [a] * sd [b]));
            }
        }
        free (returns);
        free (mean);
        free (sd);
    }
    free (closes);
    free (at);
    for (size_t s = 0; s < count; s++)
        sf_candles_destroy (&series [s]);
    return rc;
}

static const sf_param_t s_params [] = {
    { "symbols", SF_PARAM_SYMBOLS, 0, 2, S_SYMBOLS_MAX, NULL, "the symbols to correlate" },
    { NULL }
};

const sf_analyzer_t sf_analyzer_correlation = {
    .name = "correlation", .version = "1",
    .summary = "correlation matrix of log returns across symbols",
    .analyze = s_analyze, .params = s_params
};
