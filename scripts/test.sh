#!/usr/bin/env bash
# The whole test suite, the end-to-end tests on the real local model and on a real MLflow
# server included: installs llama-server, Gemma 3 270M and SmolLM2 135M Instruct, and MLflow, into
# ~/.cache/prompteval first if they are missing (10-15 minutes the first time, seconds
# after), starts an MLflow server on a free port with a throwaway SQLite store and artifact
# directory, runs `cargo test`, and stops the server on exit.
# It also installs chromium and xmllint from Debian when missing (report and JUnit tests), and
# the real MCP servers mcp-server-time (PyPI) and server-everything (npm) into the cache.
# Plain `cargo test` also works; it skips the real-model, MLflow, browser and MCP tests when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-local-model.sh
scripts/setup-chromium.sh  # chromium (tests/integration/report_html.rs) and xmllint (JUnit schema)
scripts/setup-mcp-servers.sh  # mcp-server-time and server-everything (tests/integration/e2e_mcp.rs)
mlflow_bin=$(scripts/setup-mlflow.sh)

tmp=$(mktemp -d)
port=$("$mlflow_bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$mlflow_bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
  --backend-store-uri "sqlite:///$tmp/mlflow.db" --artifacts-destination "$tmp/artifacts" \
  >"$tmp/server.log" 2>&1 &
mlflow_pid=$!
stop_mlflow() {
  # SIGTERM to `mlflow server` stops its uvicorn workers too; wait until it has.
  kill "$mlflow_pid" 2>/dev/null || true
  wait "$mlflow_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap stop_mlflow EXIT

uri="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if curl -fsS "$uri/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$mlflow_pid" 2>/dev/null; then
    echo "test.sh: mlflow server exited; its log:" >&2; cat "$tmp/server.log" >&2; exit 1
  fi
  sleep 0.5
done
curl -fsS "$uri/health" >/dev/null || { echo "test.sh: mlflow server did not answer on $uri" >&2; cat "$tmp/server.log" >&2; exit 1; }
echo "test.sh: mlflow server on $uri" >&2

PROMPTEVAL_TEST_MLFLOW_URI="$uri" \
PROMPTEVAL_TEST_MLFLOW_PYTHON="$mlflow_bin/python" \
PROMPTEVAL_REQUIRE_MLFLOW=1 \
PROMPTEVAL_REQUIRE_LLAMA=1 \
PROMPTEVAL_REQUIRE_CHROMIUM=1 \
PROMPTEVAL_REQUIRE_MCP=1 \
  cargo test --locked "$@"
