/*  =========================================================================
    registry.h - every analyzer the worker knows, one line each

    X (name) expands once per analyzer; worker/sf_analyzers.c turns the list
    into the lookup table. Adding an analyzer: its file in this directory
    defining sf_analyzer_<name>, and its line here.
    ========================================================================= */

#define SF_ANALYZERS(X)                                                        \
    X (sma)                                                                    \
    X (ema)                                                                    \
    X (wma)                                                                    \
    X (rsi)                                                                    \
    X (macd)                                                                   \
    X (bbands)                                                                 \
    X (atr)                                                                    \
    X (stoch)                                                                  \
    X (adx)                                                                    \
    X (cci)                                                                    \
    X (willr)                                                                  \
    X (obv)                                                                    \
    X (roc)                                                                    \
    X (mfi)                                                                    \
    X (stddev)                                                                 \
    X (vwap)                                                                   \
    X (volatility)                                                             \
    X (dema)                                                                   \
    X (tema)                                                                   \
    X (trima)                                                                  \
    X (kama)                                                                   \
    X (t3)                                                                     \
    X (midpoint)                                                               \
    X (midprice)                                                               \
    X (mom)                                                                    \
    X (rocp)                                                                   \
    X (rocr)                                                                   \
    X (ppo)                                                                    \
    X (apo)                                                                    \
    X (trix)                                                                   \
    X (cmo)                                                                    \
    X (bop)                                                                    \
    X (natr)                                                                   \
    X (trange)                                                                 \
    X (ad)                                                                     \
    X (adosc)                                                                  \
    X (avgprice)                                                               \
    X (medprice)                                                               \
    X (typprice)                                                               \
    X (wclprice)                                                               \
    X (var)                                                                    \
    X (linearreg)                                                              \
    X (linearreg_slope)                                                        \
    X (linearreg_angle)                                                        \
    X (linearreg_intercept)                                                    \
    X (tsf)                                                                    \
    X (beta)                                                                   \
    X (correl)                                                                 \
    X (plus_dm)                                                                \
    X (minus_dm)                                                               \
    X (plus_di)                                                                \
    X (minus_di)                                                               \
    X (dx)                                                                     \
    X (adxr)                                                                   \
    X (sar)                                                                    \
    X (sarext)                                                                 \
    X (aroon)                                                                  \
    X (aroonosc)                                                               \
    X (ultosc)                                                                 \
    X (stochf)                                                                 \
    X (stochrsi)                                                               \
    X (macdext)                                                                \
    X (macdfix)                                                                \
    X (mama)                                                                   \
    X (ht_dcperiod)                                                            \
    X (ht_trendline)                                                           \
    X (stats)                                                                  \
    X (report)                                                                 \
    X (correlation)                                                            \
    X (summary)                                                                \
    X (echo)                                                                   \
    X (sleep)                                                                  \
    X (fail)                                                                   \
    X (crash)
