#!/usr/bin/env bash
# Benchmark: 5,000 rows × 2 prompts × 2 echo models × 4 assertions = 20,000 scored cells,
# writing the full run record (run.json, results.jsonl and a JSON report).
# Usage: scripts/bench.sh [ROWS] [REPEAT] — prints wall time and peak memory of each run.
# REPEAT > 1 multiplies the cells without growing the dataset: memory should stay flat.
set -euo pipefail
rows=${1:-5000}
repeat=${2:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$repo/target}/release/prompteval"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/prompteval.yaml" <<'YAML'
providers:
  echo-a: {kind: echo}
  echo-b: {kind: echo}
YAML
"$repo/scripts/bench-project.sh" "$work" "$rows" "$repeat" "echo-a, echo-b"
cells=$(( rows * 4 * repeat ))
echo "prompteval bench: $rows rows × 2 prompts × 2 models × $repeat repeats × 4 assertions = $cells cells"
for i in 1 2 3; do
  /usr/bin/time -f "%e %M" -o "$work/time" \
    "$bin" -C "$work" run --no-progress --no-matrix -o "$work/out.json" >/dev/null 2>"$work/stderr" || {
      cat "$work/stderr"; exit 1; }
  read -r secs kb < "$work/time"
  printf 'run %d: wall %.2f s, peak RSS %.1f MB\n' "$i" "$secs" "$(echo "$kb / 1024" | bc -l)"
done
lines=$(wc -l < "$(ls -d "$work"/.prompteval/runs/*/ | tail -1)results.jsonl")
echo "results.jsonl of the last run: $lines lines; report: $(du -h "$work/out.json" | cut -f1)"
