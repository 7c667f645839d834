#!/usr/bin/env bash
# Installs an MLflow tracking server for the MLflow integration tests into a cache outside
# the repository: <cache>/venv-mlflow (the system Python is untouched).
# <cache> is $PROMPTEVAL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/prompteval.
# Idempotent: when the pinned version is installed it exits in a second. The first install
# takes about a minute or two (the server needs the full `mlflow` package, not `mlflow-skinny`).
# Prints the venv's bin directory on stdout.
set -euo pipefail

MLFLOW_VERSION="${PROMPTEVAL_MLFLOW_VERSION:-3.17.2}"
cache="${PROMPTEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prompteval}"
venv="$cache/venv-mlflow"

say() { echo "setup-mlflow: $*" >&2; }

installed() {
  [ -x "$venv/bin/mlflow" ] &&
    [ "$("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)' 2>/dev/null)" = "$MLFLOW_VERSION" ]
}

if ! installed; then
  mkdir -p "$cache"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating virtual environment $venv"
    python3 -m venv "$venv"
  fi
  say "installing mlflow==$MLFLOW_VERSION (a minute or two, once)"
  "$venv/bin/pip" install --disable-pip-version-check --quiet "mlflow==$MLFLOW_VERSION"
  installed || { say "mlflow==$MLFLOW_VERSION did not install"; exit 1; }
fi
say "ready: mlflow $MLFLOW_VERSION in $venv"
echo "$venv/bin"
