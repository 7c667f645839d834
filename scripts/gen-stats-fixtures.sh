#!/usr/bin/env bash
# Writes tests/fixtures/stats/*.json: reference values for src/stats.rs from scipy and
# statsmodels (exact McNemar, mid-p, Wilson, Newcombe difference interval, bootstrap).
# Installs both into ~/.cache/prompteval/venv-stats on first use; rerun any time.
# Usage: scripts/gen-stats-fixtures.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${XDG_CACHE_HOME:-$HOME/.cache}/prompteval/venv-stats"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "scipy>=1.11" "statsmodels>=0.14" numpy
fi
"$venv/bin/python" "$repo/scripts/gen-stats-fixtures.py" "$repo/tests/fixtures/stats"
