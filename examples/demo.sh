#!/bin/sh
#  demo.sh - a whole fleet on this machine for a minute: a broker, two
#  workers reading the sample candles in data/, indicator jobs on them and
#  jobs from a C program, results printed, then everything stopped again.
#
#  Ports: SHEAF_DEMO_FRONTEND / SHEAF_DEMO_BACKEND (default 127.0.0.1:15555
#  and :15556, away from the defaults of a real fleet).
set -eu

build=${SHEAF_BUILD:-build}
data=$(cd "$(dirname "$0")/../data" && pwd)
bin=$build/bin
frontend=${SHEAF_DEMO_FRONTEND:-tcp://127.0.0.1:15555}
backend=${SHEAF_DEMO_BACKEND:-tcp://127.0.0.1:15556}
export SHEAF_BROKER="$frontend"
logs=$(mktemp -d /tmp/sheaf-demo-XXXXXX)
pids=""

stop () {
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    for pid in $pids; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$logs"
}
trap stop EXIT INT TERM

step () { printf '\n== %s\n' "$*"; }

step "starting sheaf-broker ($frontend for clients, $backend for workers, journal store)"
"$bin/sheaf-broker" --frontend "$frontend" --backend "$backend" --store "journal:$logs/journal" \
    2>"$logs/broker.log" &
pids="$pids $!"
for name in worker-a worker-b; do
    "$bin/sheaf-worker" --broker "$backend" --name "$name" --threads 2 --data-dir "$data" \
        2>"$logs/$name.log" &
    pids="$pids $!"
done

step "waiting for both workers to register"
tries=0
until [ "$("$bin/sheaf" --timeout 500 workers --json 2>/dev/null | grep -o '"slots"' | wc -l)" -ge 2 ]; do
    tries=$((tries + 1))
    if [ $tries -gt 50 ]; then
        echo "demo: the workers did not register; logs:" >&2
        cat "$logs"/*.log >&2
        exit 1
    fi
    sleep 0.1
done
"$bin/sheaf" workers

step "sheaf submit rsi --symbol GOOG --timeframe 1d --param output=last --wait --json"
"$bin/sheaf" submit rsi --symbol GOOG --timeframe 1d --param output=last --wait --json

step "sma, ema and rsi on GOOG 1d and SYNTH 1m, submitted together, then gathered"
ids=""
for symbol in GOOG:1d SYNTH:1m; do
    for analyzer in sma ema rsi; do
        ids="$ids $("$bin/sheaf" submit "$analyzer" --symbol "${symbol%%:*}" \
                    --timeframe "${symbol##*:}" --param output=last)"
    done
done
for id in $ids; do
    "$bin/sheaf" result "$id" --wait --json
done

step "a report and return statistics for GOOG (daily, 2004-2008)"
"$bin/sheaf" submit report --symbol GOOG --timeframe 1d --param periods_per_year=252 --wait --json
"$bin/sheaf" submit stats --symbol GOOG --timeframe 1d --wait --json

step "the same on a symbol the data source does not have: a DATA_FETCH error"
"$bin/sheaf" submit rsi --symbol XYZ --timeframe 1d --wait --json || true

step "a batch of 8 jobs from a C program (examples/gather_echo.c), gathered"
"$build/examples/gather_echo" "$frontend" 8

step "a job that fails carries its error code, message and context"
"$bin/sheaf" submit fail --param message='"no candles for XYZ"' --wait --json || true

step "a slow job: submitted, asked about while it runs, then waited for"
id=$("$bin/sheaf" submit sleep --param ms=500)
echo "job $id is $("$bin/sheaf" result "$id" || true)"
"$bin/sheaf" result "$id" --wait --json

step "sheaf status"
"$bin/sheaf" status

step "stopping the fleet"
