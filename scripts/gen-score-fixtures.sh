#!/usr/bin/env bash
# Regenerates tests/fixtures/score/*.json: input pairs and the scores that the reference
# Python packages give them, which the text-metric tests in src/score/ must match to 1e-6.
#   rouge-score (Google) for rouge-1/2/L, with and without its Porter stemmer (from nltk)
#   sacrebleu for sentence and corpus BLEU (13a, exp smoothing) and chrF (6, 0, beta 2)
#   nltk's PorterStemmer for the stemmer itself (word → stem)
# The packages are pinned and installed into a venv outside the repository:
#   <cache>/venv-ref, <cache> = $PROMPTEVAL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/prompteval.
# Idempotent; rerun after changing scripts/gen-score-fixtures.py and commit the fixtures.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache="${PROMPTEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prompteval}"
venv="$cache/venv-ref"
pins=(rouge-score==0.1.2 sacrebleu==2.6.0 nltk==3.9.1)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -m pip show rouge-score sacrebleu nltk >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
fi
mkdir -p "$repo/tests/fixtures/score"
"$venv/bin/python" "$repo/scripts/gen-score-fixtures.py" "$repo/tests/fixtures/score"
