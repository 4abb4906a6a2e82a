#!/usr/bin/python3
#  =========================================================================
#  bench/workload_baseline.py - the morning batch as a Python service does it
#
#  The peer that bench/workload measures sheaf against: one asyncio process,
#  written the way a careful Python developer writes an analysis service.
#
#    - asyncpg, a connection pool made once; one query per symbol
#      (SELECT ... WHERE symbol = $1 AND timeframe = $2 ORDER BY ts, the same
#      text the sheaf worker sends, prepared once per connection by asyncpg's
#      statement cache, binary protocol);
#    - the CPU-bound part (rows to one numpy array with np.fromiter, which is
#      several times faster than np.array or DataFrame.from_records over
#      asyncpg's records, then a DataFrame and the five indicators) off the
#      event loop, in a thread pool (loop.run_in_executor);
#    - asyncio.gather over the symbols.
#
#  The indicators follow TA-Lib's conventions, as sheaf's do: SMA; RSI with
#  Wilder smoothing seeded by the plain means of the first `period` gains and
#  losses; MACD 12/26/9 with both EMAs starting at index slow-1 (the slow one
#  seeded by the SMA of closes 0..slow-1, the fast one by the SMA of closes
#  slow-fast..slow-1) and the signal seeded by the SMA of the first 9 MACD
#  values; Bollinger bands 20/2 with the population standard deviation; ATR
#  14 with Wilder smoothing seeded by the mean of true ranges 1..period. Each
#  indicator is computed over the whole series, as a service that keeps its
#  series would, and its last values are reported. Every run recomputes from
#  scratch: there is no incremental state.
#
#  Two ways to run it:
#    workload_baseline.py --host H --port P ... --symbols A,B,C
#        one run; prints one JSON line (see s_run) and exits;
#    workload_baseline.py --serve ...
#        a long-lived service: connects, runs one untimed warm-up symbol,
#        prints {"ready": ...}, then answers each line "run LABEL" on stdin
#        with one JSON line, until "quit" or end of input.
#
#  Needs Debian's python3-asyncpg, python3-pandas and python3-numpy.
#  =========================================================================

import argparse
import asyncio
import concurrent.futures
import itertools
import json
import os
import statistics
import sys
import time

import asyncpg
import numpy as np
import pandas as pd

#  The same statement the worker prepares (worker/sf_source_pg.c): epoch
#  milliseconds as float8, so that both read the same columns in binary.
QUERY = ("SELECT (extract (epoch FROM ts) * 1000)::float8, open, high, low, close, volume "
         "FROM candles WHERE symbol = $1 AND timeframe = $2 ORDER BY ts")
COLUMNS = ["ts", "open", "high", "low", "close", "volume"]


#  --------------------------------------------------------------------------
#  Indicators (pandas/numpy, TA-Lib conventions)

def s_smoothed(values, start, period, alpha):
    """Exponential smoothing y = (1-alpha)*y + alpha*x of values[start+1:],
    seeded at index `start` with the mean of the `period` values ending
    there. Returns a float64 array aligned to values (NaN before start)."""
    seed = values[start - period + 1:start + 1].mean()
    tail = pd.Series(np.concatenate(([seed], values[start + 1:])))
    out = np.full(len(values), np.nan)
    out[start:] = tail.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def sma(df, period):
    return {"sma": df["close"].rolling(period).mean().to_numpy()}


def rsi(df, period):
    close = df["close"].to_numpy()
    delta = np.diff(close, prepend=np.nan)
    gain = np.where(delta > 0, delta, 0.0)
    loss = np.where(delta < 0, -delta, 0.0)
    avg_gain = s_smoothed(gain, period, period, 1.0 / period)
    avg_loss = s_smoothed(loss, period, period, 1.0 / period)
    total = avg_gain + avg_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total < 1e-14, 0.0, 100.0 * avg_gain / total)
    value[:period] = np.nan
    return {"rsi": value}


def macd(df, fast=12, slow=26, signal=9):
    close = df["close"].to_numpy()
    start = slow - 1
    fast_ema = s_smoothed(close, start, fast, 2.0 / (fast + 1))
    slow_ema = s_smoothed(close, start, slow, 2.0 / (slow + 1))
    line = fast_ema - slow_ema
    signal_line = s_smoothed(line, start + signal - 1, signal, 2.0 / (signal + 1))
    line[:start + signal - 1] = np.nan
    return {"macd": line, "signal": signal_line, "hist": line - signal_line}


def bbands(df, period=20, multiplier=2.0):
    window = df["close"].rolling(period)
    middle = window.mean().to_numpy()
    band = multiplier * window.std(ddof=0).to_numpy()
    return {"upper": middle + band, "middle": middle, "lower": middle - band}


def atr(df, period):
    high = df["high"].to_numpy()
    low = df["low"].to_numpy()
    previous = np.concatenate(([np.nan], df["close"].to_numpy()[:-1]))
    true_range = np.fmax(high - low,
                         np.fmax(np.abs(high - previous), np.abs(low - previous)))
    return {"atr": s_smoothed(true_range, period, period, 1.0 / period)}


#  The morning batch: the five indicators of bench/workload, by job name.
BATCH = [
    ("sma", lambda df: sma(df, 50)),
    ("rsi", lambda df: rsi(df, 14)),
    ("macd", lambda df: macd(df, 12, 26, 9)),
    ("bbands", lambda df: bbands(df, 20, 2.0)),
    ("atr", lambda df: atr(df, 14)),
]


def s_compute(rows):
    """Runs in the thread pool: rows to a DataFrame, every indicator of the
    batch, the last values of each ({"sma": {"ts":…, "sma":…}, …})."""
    table = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64,
                        count=len(rows) * len(COLUMNS)).reshape(len(rows), len(COLUMNS))
    df = pd.DataFrame(table, columns=COLUMNS)
    last_ts = float(df["ts"].iat[-1])
    values = {}
    for name, indicator in BATCH:
        outputs = indicator(df)
        values[name] = {"ts": last_ts}
        values[name].update({key: float(series[-1]) for key, series in outputs.items()})
    return values


#  --------------------------------------------------------------------------
#  The service

async def s_analyze_symbol(pool, executor, symbol, timeframe):
    """One symbol: fetch its candles, compute off the loop. Returns (values,
    fetch seconds, compute seconds)."""
    loop = asyncio.get_running_loop()
    async with pool.acquire() as conn:
        started = time.perf_counter()
        rows = await conn.fetch(QUERY, symbol, timeframe)
        fetched = time.perf_counter()
    if not rows:
        raise LookupError(f"no candles for {symbol} {timeframe}")
    values = await loop.run_in_executor(executor, s_compute, rows)
    return values, fetched - started, time.perf_counter() - fetched


async def s_run(pool, executor, symbols, timeframe, label):
    """One batch over every symbol with asyncio.gather. Returns the JSON-able
    report: label, seconds (wall, the gather alone), symbols, indicators,
    fetch/compute medians in ms, values by symbol."""
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(s_analyze_symbol(pool, executor, symbol, timeframe) for symbol in symbols))
    seconds = time.perf_counter() - started
    return {
        "label": label,
        "seconds": seconds,
        "symbols": len(symbols),
        "indicators": len(symbols) * len(BATCH),
        "fetch_ms_p50": 1000 * statistics.median(o[1] for o in outcomes),
        "compute_ms_p50": 1000 * statistics.median(o[2] for o in outcomes),
        "values": {symbol: o[0] for symbol, o in zip(symbols, outcomes)},
    }


async def s_main(args):
    symbols = [s for s in args.symbols.split(",") if s]
    if not symbols:
        raise SystemExit("workload_baseline: --symbols names no symbol")
    pool = await asyncpg.create_pool(host=args.host, port=args.port, user=args.user,
                                     database=args.dbname, min_size=args.pool,
                                     max_size=args.pool)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=args.threads)
    try:
        if not args.serve:
            print(json.dumps(await s_run(pool, executor, symbols, args.timeframe, "once")))
            return
        #  A service that is up: imports done, pool open, code paths warm
        await s_run(pool, executor, symbols[:1], args.timeframe, "warm-up")
        print(json.dumps({"ready": True, "pool": args.pool, "threads": args.threads,
                          "numpy": np.__version__, "pandas": pd.__version__,
                          "asyncpg": asyncpg.__version__}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            words = line.split()
            if not words or words[0] == "quit":
                return
            if words[0] != "run" or len(words) != 2:
                raise SystemExit(f"workload_baseline: unknown command {line.strip()!r}")
            report = await s_run(pool, executor, symbols, args.timeframe, words[1])
            print(json.dumps(report), flush=True)
    finally:
        executor.shutdown()
        await pool.close()


def main():
    parser = argparse.ArgumentParser(
        description="The morning batch (sma 50, rsi 14, macd, bbands 20, atr 14 per symbol) "
                    "as an asyncio + asyncpg + pandas service.")
    parser.add_argument("--host", required=True, help="PostgreSQL host or socket directory")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default=os.environ.get("USER", "postgres"))
    parser.add_argument("--dbname", default="postgres")
    parser.add_argument("--symbols", required=True, help="comma-separated symbols")
    parser.add_argument("--timeframe", default="1m")
    parser.add_argument("--pool", type=int, default=10, help="connections (default 10)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="compute threads (default: the number of cores)")
    parser.add_argument("--serve", action="store_true",
                        help="answer 'run LABEL' lines on stdin until 'quit'")
    try:
        asyncio.run(s_main(parser.parse_args()))
    except (LookupError, OSError, asyncpg.PostgresError) as error:
        raise SystemExit(f"workload_baseline: {error}")


if __name__ == "__main__":
    main()
