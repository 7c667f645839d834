#!/usr/bin/env bash
# Benchmark: the 20,000-cell run of scripts/bench.sh (5,000 rows × 2 prompts × 2 models ×
# 4 assertions), on two `openai` providers at temperature 0 against a local instant
# server that echoes the prompt. The first run fills the response cache (20,000 requests);
# the next three are fully cached re-runs (no request), timed with and without a JSON report.
# Usage: scripts/bench-cache.sh [ROWS]
set -euo pipefail
rows=${1:-5000}
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$repo/target}/release/prompteval"
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

python3 - "$work/port" <<'PY' &
import json, sys, socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = body["messages"][0]["content"]
        out = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
                          "usage": {"prompt_tokens": len(text.split()), "completion_tokens": len(text.split())}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
ThreadingHTTPServer.daemon_threads = True
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

cat > "$work/prompteval.yaml" <<YAML
providers:
  model-a: {kind: openai, model: a, base_url: "http://127.0.0.1:$port/v1", concurrency: 32, params: {temperature: 0}}
  model-b: {kind: openai, model: b, base_url: "http://127.0.0.1:$port/v1", concurrency: 32, params: {temperature: 0}}
YAML
"$repo/scripts/bench-project.sh" "$work" "$rows" 1 "model-a, model-b"
cells=$(( rows * 4 ))
echo "prompteval cache bench: $cells cells on 2 openai models (temperature 0) at a local instant server"
timed() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" -C "$work" run --no-progress --no-matrix "$@" >/dev/null 2>"$work/stderr" || {
    cat "$work/stderr"; exit 1; }
  read -r secs kb < "$work/time"
  printf '%s: wall %.2f s, peak RSS %.1f MB — %s\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)" "$(grep '^cache:' "$work/stderr" || echo 'no cache line')"
}
timed "fill (20,000 requests)" -j 64
for i in 1 2 3; do timed "cached re-run $i, no report" -j 64; done
for i in 1 2 3; do timed "cached re-run $i, -o run.json" -j 64 -o "$work/out.json"; done
echo "cache: $(find "$work/.prompteval/cache" -name '*.json' | wc -l) entries, $(du -sh "$work/.prompteval/cache" | cut -f1)"
