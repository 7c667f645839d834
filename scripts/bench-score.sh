#!/usr/bin/env bash
# Benchmark of the deterministic text metrics: ROUGE-L + BLEU + chrF over 20,000
# output/reference pairs of ~100 words, on every core, in release mode
# (examples/bench_score.rs). Target: under 1 second. Then chrF++ and ROUGE-Lsum alone.
# Usage: scripts/bench-score.sh [PAIRS] [THREADS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --example bench_score --manifest-path "$repo/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$repo/target}/release/examples/bench_score"
"$bin" "$@"
