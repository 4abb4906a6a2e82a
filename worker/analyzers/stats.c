/*  =========================================================================
    stats - a summary of the returns of closes

    Simple returns r = close / close[-1] - 1. mean; stdev is the sample
    standard deviation (n - 1); skew = m3 / m2^1.5 and kurtosis (excess) =
    m4 / m2^2 - 3 from the population central moments m2, m3, m4 (0 when
    m2 is 0). max_drawdown is the largest fall from a running peak of the
    closes, as a fraction of that peak, with the times of the peak and the
    trough. sharpe = (mean - risk_free / periods_per_year) / stdev ×
    sqrt (periods_per_year): annualised from per-candle returns, 0 when
    stdev is 0. Params: periods_per_year (1-1000000, default 252: trading
    days), risk_free (annual rate, -1 to 1, default 0). Needs 3 candles.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "sf_mp.h"
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    double per_year = sf_actx_real (ctx, "periods_per_year");
    double risk_free = sf_actx_real (ctx, "risk_free");
    sf_candles_t *candles;
    if (sf_series_candles (ctx, 2, &candles))
        return -1;
    size_t size = candles->size, count = size - 1;
    const double *close = candles->close;
    for (size_t i = 0; i < size; i++)
        if (close [i] <= 0) {
            sf_actx_context_int (ctx, "row", (int64_t) i);
            sf_candles_destroy (&candles);
            return sf_actx_fail (ctx, "BAD_INPUT", "close at row %zu is not positive", i);
        }
    double mean = 0;
    for (size_t i = 1; i < size; i++)
        mean += close [i] / close [i - 1] - 1;
    mean /= (double) count;
    double m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 1; i < size; i++) {
        double d = close [i] / close [i - 1] - 1 - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    double stdev = sqrt (m2 / (double) (count - 1));
    m2 /= (double) count;
    m3 /= (double) count;
    m4 /= (double) count;
    double skew = m2 > 0? m3 / pow (m2, 1.5): 0;
    double kurtosis = m2 > 0? m4 / (m2 * m2) - 3: 0;
    double sharpe = stdev > 0? (mean - risk_free / per_year) / stdev * sqrt (per_year): 0;

    double peak = close [0], drawdown = 0;
    size_t peak_at = 0, worst_peak = 0, worst_trough = 0;
    for (size_t i = 1; i < size; i++) {
        if (close [i] > peak) {
            peak = close [i];
            peak_at = i;
        }
        double fall = (peak - close [i]) / peak;
        if (fall > drawdown) {
            drawdown = fall;
            worst_peak = peak_at;
            worst_trough = i;
        }
    }
    msgpack_packer *pk = sf_actx_output (ctx);
    msgpack_pack_map (pk, 11);
    sf_mp_pack_kv_uint (pk, "ts_from", (uint64_t) candles->ts [0]);
    sf_mp_pack_kv_uint (pk, "ts_to", (uint64_t) candles->ts [size - 1]);
    sf_mp_pack_kv_uint (pk, "returns", count);
    sf_mp_pack_kv_double (pk, "mean", mean);
    sf_mp_pack_kv_double (pk, "stdev", stdev);
    sf_mp_pack_kv_double (pk, "skew", skew);
    sf_mp_pack_kv_double (pk, "kurtosis", kurtosis);
    sf_mp_pack_kv_double (pk, "max_drawdown", drawdown);
    sf_mp_pack_kv_uint (pk, "drawdown_peak_ts", (uint64_t) candles->ts [worst_peak]);
    sf_mp_pack_kv_uint (pk, "drawdown_trough_ts", (uint64_t) candles->ts [worst_trough]);
    sf_mp_pack_kv_double (pk, "sharpe", sharpe);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    { "periods_per_year", SF_PARAM_REAL, 252, 1, 1000000, NULL, "candles per year, to annualise" },
    { "risk_free", SF_PARAM_REAL, 0, -1, 1, NULL, "annual risk-free rate" },
    { NULL }
};

const sf_analyzer_t sf_analyzer_stats = {
    .name = "stats", .version = "1",
    .summary = "returns: mean, stdev, skew, kurtosis, max drawdown, Sharpe",
    .analyze = s_analyze, .params = s_params
};
