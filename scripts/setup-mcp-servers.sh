#!/usr/bin/env bash
# Installs the two real MCP servers the MCP tests run (tests/integration/e2e_mcp.rs) into a
# cache outside the repository: <cache>/venv-mcp (mcp-server-time, from PyPI, over stdio)
# and <cache>/npm-mcp (@modelcontextprotocol/server-everything, from npm, over stdio and
# streamable HTTP). <cache> is $PROMPTEVAL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/prompteval.
# Idempotent: when the pinned versions are installed it exits in a second; the first
# install takes under a minute. Needs python3 (with venv) and npm (node 18 or later).
set -euo pipefail

TIME_VERSION="${PROMPTEVAL_MCP_TIME_VERSION:-2026.10.19}"
EVERYTHING_VERSION="${PROMPTEVAL_MCP_EVERYTHING_VERSION:-2026.8.31}"
cache="${PROMPTEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prompteval}"
venv="$cache/venv-mcp"
npm_dir="$cache/npm-mcp"

say() { echo "setup-mcp-servers: $*" >&2; }

time_installed() {
  [ -x "$venv/bin/mcp-server-time" ] &&
    [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp-server-time"))' 2>/dev/null)" = "$TIME_VERSION" ]
}

everything_installed() {
  [ -x "$npm_dir/node_modules/.bin/mcp-server-everything" ] &&
    [ "$(node -p 'require(process.argv[1]).version' "$npm_dir/node_modules/@modelcontextprotocol/server-everything/package.json" 2>/dev/null)" = "$EVERYTHING_VERSION" ]
}

mkdir -p "$cache"
if ! time_installed; then
  [ -x "$venv/bin/python" ] || { say "creating virtual environment $venv"; python3 -m venv "$venv"; }
  say "installing mcp-server-time==$TIME_VERSION (once)"
  "$venv/bin/pip" install --disable-pip-version-check --quiet "mcp-server-time==$TIME_VERSION"
  time_installed || { say "mcp-server-time==$TIME_VERSION did not install"; exit 1; }
fi
if ! everything_installed; then
  say "installing @modelcontextprotocol/server-everything@$EVERYTHING_VERSION (once)"
  mkdir -p "$npm_dir"
  npm install --prefix "$npm_dir" --no-audit --no-fund --silent --save-exact \
    "@modelcontextprotocol/server-everything@$EVERYTHING_VERSION" >&2
  everything_installed || { say "server-everything@$EVERYTHING_VERSION did not install"; exit 1; }
fi
say "ready: $venv/bin/mcp-server-time $TIME_VERSION, $npm_dir/node_modules/.bin/mcp-server-everything $EVERYTHING_VERSION"
