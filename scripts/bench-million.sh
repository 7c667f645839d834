#!/usr/bin/env bash
# Benchmark of issue 19: ROWS rows × 2 prompts × 2 echo models × 4 assertions (1,000,000
# cells at the default 250,000 rows), writing the store; then `runs show`, `report` and
# `report --html` on that run. Prints wall time and peak RSS of each step
# (/usr/bin/time -v). Run it at 62500, 250000 and 1000000 rows to see what memory a row
# costs (16 bytes once the dataset is not held).
# Usage: scripts/bench-million.sh [ROWS] [BIN]  (BIN: a prompteval binary to time instead
# of this checkout's release build, for comparisons).
set -euo pipefail
rows=${1:-250000}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${2:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/prompteval"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/prompteval.yaml" <<'YAML'
providers:
  echo-a: {kind: echo}
  echo-b: {kind: echo}
YAML
"$repo/scripts/bench-project.sh" "$work" "$rows" 1 "echo-a, echo-b"
echo "prompteval bench-million: $rows rows × 2 prompts × 2 models × 4 assertions = $(( rows * 4 )) cells"
echo "dataset: $(du -h "$work/datasets/reviews.csv" | cut -f1)"
# Runs one step under /usr/bin/time -v and prints its wall time and peak RSS.
step() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || {
    cat "$work/stderr"; exit 1; }
  local wall kb user
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time")
  user=$(sed -n 's/.*User time (seconds): //p' "$work/time")
  kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
  printf '%-28s wall %8s  user %6s s  peak RSS %6.1f MB\n' "$name" "$wall" "$user" "$(echo "$kb / 1024" | bc -l)"
}
step "run (store only)" "$bin" -C "$work" run --no-progress --no-matrix
run=$(ls "$work/.prompteval/runs" | tail -1)
step "run -o report.jsonl" "$bin" -C "$work" run --no-progress --no-matrix -o "$work/out.jsonl"
step "runs show" "$bin" -C "$work" runs show "$run"
step "report (terminal)" "$bin" -C "$work" report "$run"
step "report --html" "$bin" -C "$work" report "$run" --html "$work/report.html"
step "runs show -o report.json" "$bin" -C "$work" runs show "$run" -o "$work/report.json"
echo "results.jsonl: $(du -h "$work/.prompteval/runs/$run/results.jsonl" | cut -f1); report.json: $(du -h "$work/report.json" | cut -f1); report.jsonl: $(du -h "$work/out.jsonl" | cut -f1); report.html: $(du -h "$work/report.html" | cut -f1)"
