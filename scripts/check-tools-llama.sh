#!/usr/bin/env bash
# By hand, without prompteval: does llama-server turn SmolLM2 135M Instruct's answers into
# OpenAI tool calls with the shipped Hermes-style template (templates/chat/hermes-tools.jinja)?
# Starts llama-server on a free port of 127.0.0.1, asks "What is the weather in Rome?" with a
# `get_weather` tool twice — zero-shot, and after one worked example turn — prints the
# rendered prompt and the `choices[0]` of each reply, and stops the server.
# Needs scripts/setup-local-model.sh (llama-server and the model in ~/.cache/prompteval), curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${PROMPTEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prompteval}"
bin="$cache/bin/llama-server"
model="$cache/models/smollm2-135m-instruct-q4_1.gguf"
template="templates/chat/hermes-tools.jinja"
for f in "$bin" "$model"; do
  [ -e "$f" ] || { echo "check-tools-llama: $f is missing; run scripts/setup-local-model.sh" >&2; exit 1; }
done

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# --jinja must come before --chat-template-file, or only built-in templates are accepted.
"$bin" -m "$model" --host 127.0.0.1 --port "$port" --ctx-size 4096 --parallel 1 \
  --no-webui --no-warmup --jinja --chat-template-file "$template" >"$tmp/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
  sleep 0.1
done

tool='{"type":"function","function":{"name":"get_weather","description":"Get the current weather for a city.","parameters":{"type":"object","properties":{"city":{"type":"string","description":"The city name"}},"required":["city"]}}}'
ask() { # $1: a title, $2: the messages as JSON
  local body
  body=$(jq -n --argjson tool "$tool" --argjson messages "$2" \
    '{messages: $messages, tools: [$tool], temperature: 0, max_tokens: 64}')
  echo "== $1: the prompt the template renders"
  curl -fsS "$url/apply-template" -H 'content-type: application/json' -d "$body" | jq -r .prompt
  echo "== $1: choices[0] of POST /v1/chat/completions"
  curl -fsS "$url/v1/chat/completions" -H 'content-type: application/json' -d "$body" | jq '.choices[0]'
}
ask "zero-shot" '[{"role": "user", "content": "What is the weather in Rome?"}]'
ask "one-shot" '[
  {"role": "user", "content": "What is the weather in Paris?"},
  {"role": "assistant", "content": "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"},
  {"role": "user", "content": "What is the weather in Rome?"}]'
