-- 001_candles.sql - the market data table the worker's PostgreSQL data
-- source reads (sheaf-worker --data-db CONNINFO).
--
-- One row per candle. ts is the candle's start in UTC; prices and volume are
-- double precision, the float64 of the wire form, so a value read back is
-- the value stored.

CREATE TABLE IF NOT EXISTS candles (
    symbol      text             NOT NULL,
    timeframe   text             NOT NULL,
    ts          timestamptz      NOT NULL,
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    volume      double precision NOT NULL,
    PRIMARY KEY (symbol, timeframe, ts)
);
