#!/usr/bin/env bash
# Serving benchmark behind docs/benchmarks.md: the churn example's model
# served by `tandem models serve` (the churn binary, release build) and by
# `mlflow models serve --env-manager local` (the model's python_function
# flavor handing each call to the model's embedded executable), both loaded
# with the same wrk runs. Needs wrk (Debian: apt install wrk) and the MLflow
# venv the tests create (target/py-mlflow).
#
#   scripts/bench_serving.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
duration=${1:-10}
target=${CARGO_TARGET_DIR:-$root/target}
mlflow=$target/py-mlflow/bin/mlflow
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk): the serving benchmark needs it" >&2; exit 1; }
[ -x "$mlflow" ] || { echo "no MLflow venv at $target/py-mlflow (run the tests once): the serving benchmark compares against it" >&2; exit 1; }

cargo build --release -q -p churn
churn=$target/release/churn
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cp -r examples/churn/conf "$work/conf"
rm -f "$work/conf/base/mlflow.yml"
(cd "$work" && "$churn" run -q >/dev/null && "$churn" models save --pipeline training -o model >/dev/null)

# Request bodies: one row and 10,000 rows of the model's input, split orient.
"$target/py-mlflow/bin/python" - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
example = json.load(open(f"{work}/model/serving_input_example.json"))["dataframe_split"]
row = example["data"][0]
for name, rows in [("one", [row]), ("rows10k", [example["data"][i % len(example["data"])] for i in range(10_000)])]:
    body = json.dumps({"dataframe_split": {"columns": example["columns"], "data": rows}})
    with open(f"{work}/{name}.lua", "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        f.write(f"wrk.body = [==[{body}]==]\n")
EOF

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() {
    for _ in $(seq 1 240); do
        curl -sf "http://127.0.0.1:$1/ping" >/dev/null && return 0
        sleep 0.5
    done
    echo "server on port $1 did not answer /ping" >&2
    return 1
}

# Prints "p50 p90 p99 requests/s" from wrk's --latency report.
measure() {
    local port=$1 threads=$2 conns=$3 script=$4
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -s "$work/$script.lua" \
        "http://127.0.0.1:$port/invocations" |
        awk '/^ +50%/{p50=$2} /^ +90%/{p90=$2} /^ +99%/{p99=$2} /^Requests\/sec/{rps=$2}
             END{printf "%s %s %s %s\n", p50, p90, p99, rps}'
}

# Each server is measured alone, so the other's threads take no CPU.
serve_and_measure() {
    local label=$1; shift
    local port
    port=$(free_port)
    "$@" "$port" 2>"$work/server.log" >/dev/null &
    local pid=$!
    pids+=("$pid")
    wait_ping "$port" || { cat "$work/server.log" >&2; exit 1; }
    # One request before measuring: MLflow's loader starts its worker lazily.
    curl -sf "http://127.0.0.1:$port/invocations" -H 'Content-Type: application/json' \
        -d @"$work/model/serving_input_example.json" >/dev/null
    local run
    for run in "one 1 1 1 row" "one 2 8 1 row" "rows10k 1 1 10,000 rows"; do
        set -- $run
        read -r p50 p90 p99 rps < <(measure "$port" "$2" "$3" "$1")
        printf '| %s | %s %s | %s | %s | %s | %s | %s |\n' "$label" "$4" "$5" "$3" "$p50" "$p90" "$p99" "$rps"
    done
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
}
tandem_serve() { exec "$churn" models serve -m "$work/model" --workers 2 --port "$1"; }
mlflow_serve() {
    PATH="$target/py-mlflow/bin:$PATH" MLFLOW_TRACKING_URI=$work/mlruns \
        exec "$mlflow" models serve -m "$work/model" --env-manager local -h 127.0.0.1 -p "$1"
}

printf '| Server | Request | Connections | p50 | p90 | p99 | Requests/s |\n|---|---|---:|---:|---:|---:|---:|\n'
serve_and_measure '`tandem models serve`' tandem_serve
serve_and_measure '`mlflow models serve`' mlflow_serve
