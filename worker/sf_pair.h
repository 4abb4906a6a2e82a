/*  =========================================================================
    sf_pair - the two series of an indicator over a pair (beta, correl):
    two columns of the job's candles, or one column of two symbols aligned
    on the timestamps they share

    Such an indicator reads x from the high column and y from the low
    (inputs "hl": TA-Lib's choice for one instrument). sf_pair_run gives
    it the series its params name:

    - x and y: columns of the job's candles (open, high, low, close or
      volume; high and low by default);
    - against: a symbol of the job's timeframe, read whole from the data
      source. Then x is `column` of that symbol (the market, for beta) and
      y the same column of the job's candles, at the timestamps the two
      share; x and y do not apply.

    It does so through sf_series_run_from with candles whose high is x and
    low is y, so the indicator's kernel, step form and state apply as they
    are. A job continuing from a state reads both symbols' candles after
    the state's last shared timestamp.
    ========================================================================= */

#ifndef SF_PAIR_H_INCLUDED
#define SF_PAIR_H_INCLUDED

#include "sf_series.h"

//  The params of a pair, for the analyzer's table (before "output").
#define SF_PAIR_PARAMS                                                         \
    { "x", SF_PARAM_CHOICE, 0, 0, 0, "high|open|low|close|volume",            \
      "column of x (without against)" },                                       \
    { "y", SF_PARAM_CHOICE, 0, 0, 0, "low|open|high|close|volume",            \
      "column of y (without against)" },                                       \
    { "against", SF_PARAM_TEXT, 0, 0, 0, NULL,                                 \
      "symbol whose column is x; y is the job's" },                            \
    { "column", SF_PARAM_CHOICE, 0, 0, 0, "close|open|high|low|volume",       \
      "column of both symbols (with against)" }

//  Run indicator (inputs "hl") over the pair the job's params name, as
//  sf_series_run does. Returns 0, or -1 after failing the job: BAD_INPUT
//  when x or y come with against, or column without it, or against comes
//  without the job's timeframe; DATA_FETCH when the data source lacks the
//  symbol; INSUFFICIENT_DATA when the two share too few timestamps.
int sf_pair_run (sf_actx_t *ctx, const sf_indicator_t *indicator);

#endif
