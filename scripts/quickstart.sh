#!/usr/bin/env bash
# One command from a fresh clone to a comparison table: installs llama-server and
# the local models into ~/.cache/prompteval if they are not there yet (the first time takes
# 10-15 minutes: llama.cpp is built from source), builds prompteval, runs every eval.
# Arguments go to `prompteval run` (e.g. `scripts/quickstart.sh sentiment -o report.md`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-local-model.sh
exec cargo run --release --quiet -- run "$@"
