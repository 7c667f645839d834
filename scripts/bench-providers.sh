#!/usr/bin/env bash
# Provider-layer benchmarks against a local OpenAI-compatible server (examples/bench_server.rs):
#  1. latency hiding: 2,000 requests, server answers after 100 ms, concurrency 50
#     (ideal 2000 / 50 × 0.1 s = 4.0 s; target ≤ 4.4 s wall for the whole `prompteval run`);
#  2. raw throughput: instant server, concurrency 64: `prompteval run` requests/s vs `wrk`
#     (same server, same request body, 64 connections); target ≥ 80% of wrk. Also shown:
#     `oha` when installed (`cargo install oha --root ~/.cache/prompteval/oha`), and a
#     bare `reqwest` client at the same concurrency (examples/bench_client.rs): the
#     ceiling of any runner built on reqwest.
# Usage: scripts/bench-providers.sh [ROWS_LATENCY] [ROWS_THROUGHPUT]
# Needs: wrk (`apt-get install -y wrk`), python3 (to write the dataset).
set -euo pipefail
rows_latency=${1:-2000}
rows_throughput=${2:-20000}
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin prompteval --example bench_server --example bench_client
target="${CARGO_TARGET_DIR:-$repo/target}/release"
bin="$target/prompteval"
server="$target/examples/bench_server"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_server() { # PORT DELAY_MS
  "$server" "$1" "$2" > "$work/server-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do
    grep -q ready "$work/server-$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  exit 1
}

project() { # DIR PORT CONCURRENCY ROWS
  local dir=$1
  mkdir -p "$dir/prompts/q" "$dir/datasets" "$dir/evals"
  cat > "$dir/prompteval.yaml" <<YAML
providers:
  local:
    kind: openai
    model: bench-model
    base_url: http://127.0.0.1:$2/v1
    concurrency: $3
    timeout: 30s
YAML
  printf 'Answer briefly: {{ q }}' > "$dir/prompts/q/v1.jinja"
  python3 - "$dir/datasets/qs.csv" "$4" <<'PY'
import csv, sys
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "q"])
    for i in range(int(sys.argv[2])):
        w.writerow([f"q{i}", f"what is {i} plus {i}?"])
PY
  cat > "$dir/evals/bench.yaml" <<'YAML'
prompts: [q@1]
models: [local]
dataset: datasets/qs.csv
assert:
  - type: equals
    value: ok
YAML
}

timed_run() { # DIR JOBS → prints seconds
  local start end
  start=$(date +%s.%N)
  "$bin" -C "$1" run -j "$2" --no-progress --no-matrix > "$work/run.out" 2>&1 || {
    cat "$work/run.out" >&2
    exit 1
  }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

echo "== 1. latency hiding: $rows_latency requests, 100 ms server, concurrency 50"
start_server 18091 100
project "$work/latency" 18091 50 "$rows_latency"
ideal=$(python3 -c "print(f'{$rows_latency / 50 * 0.1:.2f}')")
for i in 1 2 3; do
  echo "run $i: $(timed_run "$work/latency" 50) s wall (ideal $ideal s)"
done

echo "== 2. raw throughput: instant server, concurrency 64"
start_server 18092 0
project "$work/throughput" 18092 64 "$rows_throughput"
body='{"model":"bench-model","messages":[{"role":"user","content":"Answer briefly: what is 1234 plus 1234?"}]}'
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk_rps=$(wrk -t 2 -c 64 -d 10s -s "$work/post.lua" http://127.0.0.1:18092/v1/chat/completions \
  | awk '/Requests\/sec/ {print $2}')
echo "wrk (2 threads, 64 connections, 10 s): $wrk_rps requests/s"
oha=$(command -v oha || echo "$HOME/.cache/prompteval/oha/bin/oha")
if [ -x "$oha" ]; then
  oha_rps=$("$oha" -n 100000 -c 64 --no-tui -m POST -H "content-type: application/json" -d "$body" \
    http://127.0.0.1:18092/v1/chat/completions | awk '/Requests\/sec/ {print $2}')
  echo "oha (64 connections, 100,000 requests): $oha_rps requests/s"
fi
for i in 1 2 3; do
  echo "bare reqwest client $i: $("$target/examples/bench_client" http://127.0.0.1:18092/v1/chat/completions "$rows_throughput" 64)"
done
for i in 1 2 3; do
  secs=$(timed_run "$work/throughput" 64)
  rps=$(python3 -c "print(f'{$rows_throughput / $secs:.0f}')")
  pct=$(python3 -c "print(f'{100 * $rows_throughput / $secs / $wrk_rps:.0f}')")
  echo "prompteval run $i: $rows_throughput cells in $secs s = $rps requests/s ($pct% of wrk)"
done
