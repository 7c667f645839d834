#!/usr/bin/env bash
# Benchmark: the watch loop's latency — wall time from saving a prompt file to the updated
# summary on screen (the "watching N files" line that follows it), on a copy of the
# repository's example project with a cold response cache.
#   1. the shipped echo evals (reply, triage): EDITS edits of reply@2;
#   2. the local-model eval (evals/sentiment.yaml on llama-server with Gemma 3 270M):
#      EDITS one-prompt edits of the candidate (sentiment@2), each a new text, so its
#      cells are asked again while the production prompt's come from the cache; the
#      requests sent are read from the iteration's cache line, and the llama-server
#      processes of the session are counted (one for the whole session, none after it).
#      Skipped when llama-server or the model is missing (scripts/setup-local-model.sh).
# Usage: scripts/bench-watch.sh [EDITS]   (default 10)
set -euo pipefail
edits=${1:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$repo/target}/release/prompteval"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a "$repo/prompteval.yaml" "$repo/prompts" "$repo/datasets" "$repo/evals" "$repo/templates" "$work/"

python3 - "$bin" "$work" "$edits" <<'PY'
import os, re, signal, statistics, subprocess, sys, threading, time

binary, root, edits = sys.argv[1], sys.argv[2], int(sys.argv[3])
# The response cache is the copy's own .prompteval/cache: cold at the start.
env = dict(os.environ, NO_COLOR="1")
env.pop("CI", None)

class Session:
    """A watch session whose stderr lines are timestamped as they arrive."""
    def __init__(self, evals):
        self.lines, self.cond = [], threading.Condition()
        self.proc = subprocess.Popen(
            [binary, "-C", root, "watch", *evals, "--no-progress", "--summary-only"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, text=True)
        threading.Thread(target=self.read, daemon=True).start()
    def read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()
    def wait(self, text, count, timeout=600):
        """The time of the count-th line containing text."""
        with self.cond:
            deadline = time.monotonic() + timeout
            while True:
                hits = [t for t, l in self.lines if text in l]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    sys.exit("bench-watch: no %r x%d in:\n%s" % (text, count, "\n".join(l for _, l in self.lines)))
                self.cond.wait(left)
    def quit(self):
        self.proc.stdin.write("q\n"); self.proc.stdin.flush()
        self.proc.wait(timeout=30)

def servers():
    """llama-server processes whose command line names this project."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode()
            state = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "llama-server" in cmd and root in cmd and state != "Z":
            found.append(int(pid))
    return found

def measure(session, saves):
    """Makes each (path, text) save in turn; the seconds from each to the next watching line."""
    times = []
    for i, (path, text) in enumerate(saves):
        with open(path, "w") as f:
            f.write(text)
        saved = time.monotonic()
        times.append(session.wait("watching ", i + 2) - saved)
    return times

def report(name, times):
    ms = sorted(t * 1000 for t in times)
    print("%s: %d edits, median %.0f ms, min %.0f ms, max %.0f ms" % (
        name, len(ms), statistics.median(ms), ms[0], ms[-1]))

# 1. The echo evals.
s = Session(["reply", "triage"])
s.wait("watching ", 1)
# Each edit changes the rendered prompt, alternately of reply@2 and triage@3.
files = [os.path.join(root, f) for f in ("prompts/reply/v2.yaml", "prompts/triage/v3.yaml")]
originals = [open(f).read() for f in files]
marks = ["You are", "Ticket:"]
saves = [(files[i % 2], originals[i % 2].replace(marks[i % 2], "%s (%d)" % (marks[i % 2], i), 1)) for i in range(edits)]
report("echo evals (reply, triage), one-prompt edit", measure(s, saves))
s.quit()

# 2. The local model.
home = os.path.expanduser("~/.cache/prompteval")
if not (os.path.exists(home + "/bin/llama-server") and os.path.exists(home + "/models/gemma-3-270m-q4_k_m.gguf")):
    print("local model: skipped (run scripts/setup-local-model.sh)")
    sys.exit(0)
# The model through a link inside the project, so the server's command line names it.
os.makedirs(os.path.join(root, "models"))
os.symlink(home + "/models/gemma-3-270m-q4_k_m.gguf", os.path.join(root, "models/gemma.gguf"))
config = open(os.path.join(root, "prompteval.yaml")).read()
config = config.replace("kind: llamacpp", "kind: llamacpp\n    model_path: models/gemma.gguf", 1)
open(os.path.join(root, "prompteval.yaml"), "w").write(config)
started = time.monotonic()
s = Session(["sentiment"])
first = s.wait("watching ", 1) - started
if not any("stored in" in l for _, l in s.lines):
    sys.exit("bench-watch: the first iteration failed:\n" + "\n".join(l for _, l in s.lines))
rows = sum(1 for _ in open(os.path.join(root, "datasets/reviews.csv"))) - 1
print("local model: first iteration (server start, %d cells) %.1f s" % (2 * rows, first))
pids = servers()
path = os.path.join(root, "prompts/sentiment/v2.jinja")
original = open(path).read()
edits = min(edits, 3)
saves = [(path, original.replace("Classify the sentiment", "Classify (take %d) the sentiment" % i, 1)) for i in range(edits)]
times = measure(s, saves)
report("local model, one-prompt edit of sentiment@2", times)
sent = [int(m.group(1)) for _, l in s.lines for m in [re.search(r"(\d+) requests sent", l)] if m]
print("  requests sent per iteration: %s (the candidate's %d cells; the production prompt's from the cache)" % (sent, rows))
print("  llama-server processes during the session: %d (pids %s, same after every edit: %s)" % (len(pids), pids, servers() == pids))
s.quit()
time.sleep(0.5)
print("  llama-server processes after q: %d" % len(servers()))
PY
