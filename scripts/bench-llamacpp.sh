#!/usr/bin/env bash
# Benchmark: the harness's overhead on the real model. Starts llama-server (Gemma 3 270M from
# the cache) with P slots, then times `prompteval run` over N completions against a direct
# stdlib-Python client sending the same rendered prompts with the same params at the same
# parallelism, three times (alternating which goes first), and compares both with the
# server's own processing time (its /metrics counters: prompt + generation seconds, / P).
# While each run is in flight a sampler reads the server's requests_processing gauge every
# 50 ms: it shows whether every slot stayed busy.
# Usage: scripts/bench-llamacpp.sh [N] [P] [MAX_TOKENS] — defaults 64 cases, 2 slots, 16 tokens.
# Environment: LLAMA_THREADS (server --threads; default: llama-server's own choice),
# PROMPTEVAL_CACHE (where scripts/setup-local-model.sh installed the server and model),
# BENCH_KEEP=1 (keep the temporary directory: project, server log, runs.jsonl).
set -euo pipefail
n=${1:-64}
parallel=${2:-2}
max_tokens=${3:-16}
passes=3
repo=$(cd "$(dirname "$0")/.." && pwd)
client="$repo/scripts/bench-llamacpp-client.py"
cache="${PROMPTEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prompteval}"
server_bin="$cache/bin/llama-server"
model="$cache/models/gemma-3-270m-q4_k_m.gguf"

for f in "$server_bin" "$model"; do
  if [ ! -s "$f" ]; then
    echo "bench-llamacpp: missing $f" >&2
    echo "bench-llamacpp: run scripts/setup-local-model.sh to install llama-server and the model" >&2
    exit 2
  fi
done

cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$repo/target}/release/prompteval"

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench-llamacpp: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 "$client" freeport)
url="http://127.0.0.1:$port"
# The request params, for both clients. No stop sequence: every completion is max_tokens
# long, so the work per request is steady. `model` is what prompteval sends for base_url.
params="{\"model\": \"llamacpp\", \"temperature\": 0, \"seed\": 42, \"max_tokens\": $max_tokens}"

# The project: the sentiment few-shot prompt over N distinct generated reviews.
mkdir -p "$work/proj/prompts/sentiment" "$work/proj/datasets" "$work/proj/evals"
cp "$repo/prompts/sentiment/v2.jinja" "$work/proj/prompts/sentiment/v1.jinja"
python3 "$client" dataset "$work/proj/datasets/reviews.csv" "$n"
cat > "$work/proj/prompteval.yaml" <<YAML
providers:
  bench:
    kind: llamacpp
    base_url: $url/v1
    mode: completion
    concurrency: $parallel
    params: {temperature: 0, seed: 42, max_tokens: $max_tokens}
  echo: {kind: echo}
defaults:
  concurrency: 16
YAML
cat > "$work/proj/evals/bench.yaml" <<'YAML'
prompts: [sentiment@1]
models: [bench]
dataset: datasets/reviews.csv
assert:
  - type: regex
    value: "(?i)^\\s*{{ expected }}\\b"
gate:
  min_pass_rate: 0.0
YAML

# The rendered prompts: the echo model's outputs are exactly what prompteval sends.
"$bin" -C "$work/proj" run --model echo --no-progress --no-matrix -o "$work/echo.json" >/dev/null 2>&1 || {
  echo "bench-llamacpp: rendering the prompts with the echo model failed" >&2; exit 1; }
python3 "$client" prompts "$work/echo.json" "$work/prompts.json"

# The server. --cache-ram 0: no host-memory prompt cache, so a prompt seen in an earlier run
# is not served from cache in a later one. (Gemma 3 uses sliding-window attention, so a slot
# re-processes the whole prompt anyway: every request costs the same whoever sends it.)
# --log-timestamps: each request's `total time` line, stamped, gives its busy span.
threads=()
[ -n "${LLAMA_THREADS:-}" ] && threads=(--threads "$LLAMA_THREADS")
"$server_bin" -m "$model" --host 127.0.0.1 --port "$port" --parallel "$parallel" \
  --ctx-size 4096 --metrics --no-webui --cache-ram 0 "${threads[@]}" \
  --log-timestamps --log-prefix --log-colors off \
  >"$work/server.log" 2>&1 &
server_pid=$!
if ! python3 "$client" wait "$url" 120; then
  tail -n 20 "$work/server.log" >&2
  exit 3
fi
python3 "$client" warmup "$url" "$parallel" "$work/prompts.json" "$params"

echo "llama.cpp overhead bench: N=$n completions of $max_tokens tokens, P=$parallel slots," \
  "$(basename "$model"), $(nproc) CPUs, $passes passes"
pe() {
  rm -rf "$work/proj/.prompteval"
  python3 "$client" measure "$1" prompteval "$url" "$parallel" "$work/prompts.json" "$params" \
    "$work/server.log" -- \
    "$bin" -C "$work/proj" run --no-progress --no-matrix -o "$work/pe.json" >>"$work/runs.jsonl"
}
direct() {
  python3 "$client" measure "$1" direct "$url" "$parallel" "$work/prompts.json" "$params" \
    "$work/server.log" >>"$work/runs.jsonl"
}
for pass in $(seq "$passes"); do
  if [ $((pass % 2)) -eq 1 ]; then pe "$pass"; direct "$pass"; else direct "$pass"; pe "$pass"; fi
  echo "  pass $pass done" >&2
done
echo
python3 "$client" report "$n" "$parallel" "$work/runs.jsonl"
