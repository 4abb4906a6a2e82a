#!/bin/sh
#  demo.sh - a whole fleet on this machine for a minute: a broker on its
#  journal, a supervisor with two workers reading the sample candles in
#  data/, the scheduler firing a periodic report (a gathered group),
#  analysis jobs submitted one by one and gathered as groups, a cancel, a C
#  program, errors shown, then everything stopped again.
#
#  Ports: SHEAF_DEMO_FRONTEND / SHEAF_DEMO_BACKEND (default 127.0.0.1:15555
#  and :15556, away from the defaults of a real fleet).
set -eu

build=${SHEAF_BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
data=$(cd "$here/../data" && pwd)
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

step "starting sheaf-worker --processes 2: a supervisor and its two workers"
"$bin/sheaf-worker" --broker "$backend" --name worker --processes 2 --threads 2 \
    --data-dir "$data" 2>"$logs/workers.log" &
pids="$pids $!"

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

step "starting sheaf-scheduler with examples/demo.schedule (every 2 s: reports gathered, then summed up)"
"$bin/sheaf-scheduler" --schedule "$here/demo.schedule" --state "$logs/scheduler" \
    --broker "$frontend" 2>"$logs/scheduler.log" &
scheduler=$!
pids="$pids $scheduler"

step "sheaf submit rsi --symbol GOOG --timeframe 1d --param output=last --wait --json"
"$bin/sheaf" submit rsi --symbol GOOG --timeframe 1d --param output=last --wait --json

step "sma, ema and rsi on GOOG 1d and SYNTH 1m, gathered as one group (sheaf gather)"
for symbol in GOOG:1d SYNTH:1m; do
    for analyzer in sma ema rsi; do
        printf '{"analyzer": "%s", "symbol": "%s", "timeframe": "%s", "params": {"output": "last"}}\n' \
            "$analyzer" "${symbol%%:*}" "${symbol##*:}"
    done
done >"$logs/indicators.jsonl"
"$bin/sheaf" gather "$logs/indicators.jsonl"

step "a periodic report: per-symbol reports gathered, then one summary job over them (a chord)"
for symbol in GOOG:1d SYNTH:1m; do
    printf '{"analyzer": "report", "symbol": "%s", "timeframe": "%s", "params": {"periods_per_year": 252}}\n' \
        "${symbol%%:*}" "${symbol##*:}"
done >"$logs/reports.jsonl"
"$bin/sheaf" gather --then '{"analyzer": "summary"}' "$logs/reports.jsonl"

step "return statistics for GOOG (daily, 2004-2008)"
"$bin/sheaf" submit stats --symbol GOOG --timeframe 1d --wait --json

step "the same on a symbol the data source does not have: a DATA_FETCH error"
"$bin/sheaf" submit rsi --symbol XYZ --timeframe 1d --wait --json || true

step "a batch of 8 jobs from a C program (examples/gather_echo.c), gathered"
"$build/examples/gather_echo" "$frontend" 8

step "a job that fails carries its error code, message and context"
"$bin/sheaf" submit fail --param message='"no candles for XYZ"' --wait --json || true

step "a slow job: submitted, asked about while it runs, then cancelled"
id=$("$bin/sheaf" submit sleep --param ms=30000)
sleep 0.2
echo "job $id is $("$bin/sheaf" result "$id" || true)"
"$bin/sheaf" cancel "$id"
"$bin/sheaf" result "$id" --json || true

step "what the scheduler fired meanwhile (stopped after a few seconds; sheaf schedule list)"
sleep 4
kill "$scheduler"
wait "$scheduler" || true
grep -o 'market-report at .* ended [a-z]*' "$logs/scheduler.log" || true
"$bin/sheaf" schedule list --schedule "$here/demo.schedule" --state "$logs/scheduler"
group=$("$bin/sheaf" schedule list --schedule "$here/demo.schedule" --state "$logs/scheduler" \
        --json | sed -n 's/.*"group": *"\([^"]*\)".*/\1/p' | head -n 1)
if [ -n "$group" ]; then
    echo "the last firing's summary (sheaf result $group):"
    "$bin/sheaf" result "$group"
fi

step "sheaf status"
"$bin/sheaf" status

step "stopping the fleet"
