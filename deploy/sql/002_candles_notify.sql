-- 002_candles_notify.sql - announce changes to candles, so that a worker's
-- data cache (sheaf-worker --data-cache) never serves rows changed under it.
--
-- After each statement that writes to candles, one notification per symbol
-- and timeframe it touched goes to channel sheaf_candles (sent when the
-- transaction commits, dropped if it rolls back):
--
--     {"op": "insert" | "update" | "delete", "symbol": "GOOG", "timeframe": "1d",
--      "from_us": <the earliest ts written, in Unix microseconds>}
--
-- and {"op": "truncate"} after a TRUNCATE. A worker LISTENs on the
-- connection it reads candles with. Rows inserted after the newest candle
-- it holds are simply fetched by the next job; anything else (a row
-- updated or deleted, a row inserted among those held) drops what it
-- holds of that symbol and timeframe. One notification per statement, not
-- per row, keeps a bulk load cheap: a COPY of a million rows of one symbol
-- sends one.
--
-- A job names at most 64 bytes of symbol and 16 of timeframe
-- (SF_NAME_MAX, SF_TIMEFRAME_MAX in common/sf_codec.h): longer keys are
-- never cached, so they are not announced (and would not fit a payload).
-- Requires PostgreSQL 11 or later (transition tables, EXECUTE FUNCTION).

CREATE OR REPLACE FUNCTION sheaf_candles_notify () RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify ('sheaf_candles', '{"op": "truncate"}');
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM pg_notify ('sheaf_candles', json_build_object (
                    'op', 'insert', 'symbol', symbol, 'timeframe', timeframe,
                    'from_us', CASE WHEN isfinite (min (ts))
                               THEN (extract (epoch FROM min (ts)) * 1000000)::bigint END)::text)
          FROM new_rows
         GROUP BY symbol, timeframe
        HAVING octet_length (symbol) <= 64 AND octet_length (timeframe) <= 16;
    ELSIF TG_OP = 'UPDATE' THEN
        --  A row may move (ts, or even symbol, changed): both sides count
        PERFORM pg_notify ('sheaf_candles', json_build_object (
                    'op', 'update', 'symbol', symbol, 'timeframe', timeframe,
                    'from_us', CASE WHEN isfinite (min (ts))
                               THEN (extract (epoch FROM min (ts)) * 1000000)::bigint END)::text)
          FROM (SELECT symbol, timeframe, ts FROM old_rows
                UNION ALL
                SELECT symbol, timeframe, ts FROM new_rows) AS changed
         GROUP BY symbol, timeframe
        HAVING octet_length (symbol) <= 64 AND octet_length (timeframe) <= 16;
    ELSE
        PERFORM pg_notify ('sheaf_candles', json_build_object (
                    'op', 'delete', 'symbol', symbol, 'timeframe', timeframe,
                    'from_us', CASE WHEN isfinite (min (ts))
                               THEN (extract (epoch FROM min (ts)) * 1000000)::bigint END)::text)
          FROM old_rows
         GROUP BY symbol, timeframe
        HAVING octet_length (symbol) <= 64 AND octet_length (timeframe) <= 16;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS candles_notify_insert ON candles;
DROP TRIGGER IF EXISTS candles_notify_update ON candles;
DROP TRIGGER IF EXISTS candles_notify_delete ON candles;
DROP TRIGGER IF EXISTS candles_notify_truncate ON candles;

CREATE TRIGGER candles_notify_insert AFTER INSERT ON candles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sheaf_candles_notify ();
CREATE TRIGGER candles_notify_update AFTER UPDATE ON candles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sheaf_candles_notify ();
CREATE TRIGGER candles_notify_delete AFTER DELETE ON candles
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sheaf_candles_notify ();
CREATE TRIGGER candles_notify_truncate AFTER TRUNCATE ON candles
    FOR EACH STATEMENT EXECUTE FUNCTION sheaf_candles_notify ();
