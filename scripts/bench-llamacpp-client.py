#!/usr/bin/env python3
"""Helper for scripts/bench-llamacpp.sh (stdlib only).

Subcommands:
  dataset FILE N                 write N distinct review rows (id, review, expected)
  freeport                       print a free TCP port on 127.0.0.1
  wait URL SECONDS               wait until URL/health answers 200
  prompts ECHO_JSON OUT          the rendered prompts (echo outputs of a run record) in case order
  warmup URL PARALLEL PROMPTS PARAMS
                                 send 2 x PARALLEL requests, PARALLEL at a time
  measure PASS MODE URL PARALLEL PROMPTS PARAMS [-- CMD...]
                                 one timed run; MODE is `prompteval` (run CMD) or `direct`
                                 (send PROMPTS from PARALLEL threads); prints one JSON line
  report N PARALLEL RESULTS_JSONL
                                 the table of all passes and their medians

URL is the server root (http://127.0.0.1:PORT). While a pass runs, a sampler thread reads
the server's `llamacpp:requests_processing` gauge from /metrics every 50 ms.
"""

import concurrent.futures
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

SAMPLE_INTERVAL = 0.05


def http_get(url, timeout=10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def metrics(url):
    """The server's Prometheus counters and gauges as {name: float}."""
    out = {}
    for line in http_get(url + "/metrics").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name.removeprefix("llamacpp:")] = float(value)
    return out


def complete(url, prompt, params):
    body = dict(params)
    body["prompt"] = prompt
    req = urllib.request.Request(
        url + "/v1/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        resp = json.loads(r.read())
    t1 = time.perf_counter()
    timings = resp.get("timings", {})
    usage = resp.get("usage", {})
    return {
        "text": resp["choices"][0]["text"],
        "server_ms": timings.get("prompt_ms", 0.0) + timings.get("predicted_ms", 0.0),
        "tokens_in": usage.get("prompt_tokens"),
        "tokens_out": usage.get("completion_tokens"),
        "client_ms": (t1 - t0) * 1000,
    }


class Sampler(threading.Thread):
    """Polls requests_processing until stopped; keeps the samples."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            tick = time.perf_counter()
            try:
                self.samples.append(metrics(self.url)["requests_processing"])
            except Exception:  # a missed sample is not fatal
                pass
            self.stop.wait(max(0.0, SAMPLE_INTERVAL - (time.perf_counter() - tick)))


def busy_slot_decodes(m):
    # n_busy_slots_per_decode is cumulative busy-slot count / n_decode_total.
    return m.get("n_busy_slots_per_decode", 0.0) * m.get("n_decode_total", 0.0)


def cmd_measure(args):
    pass_no, mode, url, parallel, prompts_file, params = args[:6]
    parallel = int(parallel)
    cmd = args[7:] if len(args) > 6 and args[6] == "--" else []
    prompts = json.load(open(prompts_file))
    params = json.loads(params)
    before = metrics(url)
    sampler = Sampler(url)
    sampler.start()
    record = {"pass": int(pass_no), "mode": mode}
    t0 = time.perf_counter()
    if mode == "prompteval":
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr.decode(errors="replace"))
            sys.exit(f"bench-llamacpp: prompteval exited with {proc.returncode}")
        out_json = cmd[cmd.index("-o") + 1]
        run = json.load(open(out_json))
        results = sorted(run["results"], key=lambda r: r["vars"]["id"])
        errors = [r["error"] for r in results if r.get("error")]
        if errors:
            sys.exit(f"bench-llamacpp: {len(errors)} cells failed, first: {errors[0]}")
        record["outputs"] = [r["output"] for r in results]
        record["tokens_out"] = sum(r.get("tokens_out") or 0 for r in results)
        record["latency_sum_s"] = sum(r.get("latency_ms") or 0 for r in results) / 1000
    elif mode == "direct":
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            done = list(pool.map(lambda p: complete(url, p, params), prompts))
        wall = time.perf_counter() - t0
        record["outputs"] = [d["text"] for d in done]
        record["tokens_out"] = sum(d["tokens_out"] or 0 for d in done)
        record["latency_sum_s"] = sum(d["client_ms"] for d in done) / 1000
        record["timings_sum_s"] = sum(d["server_ms"] for d in done) / 1000
    else:
        sys.exit(f"bench-llamacpp: unknown mode {mode!r}. Choose from: prompteval, direct")
    sampler.stop.set()
    sampler.join()
    after = metrics(url)

    def delta(key):
        return after.get(key, 0.0) - before.get(key, 0.0)

    decodes = delta("n_decode_total")
    record.update(
        wall_s=wall,
        requests=len(record["outputs"]),
        server_sum_s=delta("prompt_seconds_total") + delta("tokens_predicted_seconds_total"),
        prompt_tokens=delta("prompt_tokens_total"),
        predicted_tokens=delta("tokens_predicted_total"),
        decodes=decodes,
        busy_per_decode=(busy_slot_decodes(after) - busy_slot_decodes(before)) / decodes
        if decodes
        else 0.0,
        samples=len(sampler.samples),
        sampled_mean=statistics.fmean(sampler.samples) if sampler.samples else 0.0,
        sampled_full=sum(s >= parallel for s in sampler.samples) / len(sampler.samples)
        if sampler.samples
        else 0.0,
    )
    print(json.dumps(record))


def cmd_report(args):
    n, parallel, path = int(args[0]), int(args[1]), args[2]
    runs = [json.loads(line) for line in open(path) if line.strip()]
    pe = [r for r in runs if r["mode"] == "prompteval"]
    di = [r for r in runs if r["mode"] == "direct"]

    def busy(r):  # server busy time: summed per-request prompt+generation time / slots
        return r["server_sum_s"] / parallel

    def pct(a, b):
        return f"{(a / b - 1) * 100:+.1f}%"

    print(
        f"{'pass':<5} {'client':<11} {'wall s':>7} {'server Σ/P s':>12} {'wall vs Σ/P':>11}"
        f" {'in flight':>9} {f'all {parallel} busy':>10} {'busy/decode':>11} {'tokens':>7}"
    )
    for r in runs:
        print(
            f"{r['pass']:<5} {r['mode']:<11} {r['wall_s']:7.2f} {busy(r):12.2f} {pct(r['wall_s'], busy(r)):>11}"
            f" {r['sampled_mean']:9.2f} {r['sampled_full'] * 100:9.0f}% {r['busy_per_decode']:11.2f}"
            f" {int(r['predicted_tokens']):7d}"
        )
    print()
    pairs = []
    for p in sorted({r["pass"] for r in runs}):
        a = next(r for r in pe if r["pass"] == p)
        b = next(r for r in di if r["pass"] == p)
        pairs.append(a["wall_s"] / b["wall_s"] - 1)
        same = sum(x == y for x, y in zip(a["outputs"], b["outputs"]))
        print(
            f"pass {p}: prompteval {a['wall_s']:.2f} s vs direct {b['wall_s']:.2f} s:"
            f" {pct(a['wall_s'], b['wall_s'])}; identical outputs {same}/{len(a['outputs'])}"
        )
    med = statistics.median
    print()
    print(f"median over {len(pe)} passes (N={n}, P={parallel}):")
    print(
        f"  prompteval wall        {med(r['wall_s'] for r in pe):7.2f} s"
        f"   (server Σ/P {med(busy(r) for r in pe):.2f} s; overhead vs Σ/P"
        f" {med(r['wall_s'] / busy(r) - 1 for r in pe) * 100:+.1f}%)"
    )
    print(
        f"  direct client wall     {med(r['wall_s'] for r in di):7.2f} s"
        f"   (server Σ/P {med(busy(r) for r in di):.2f} s; overhead vs Σ/P"
        f" {med(r['wall_s'] / busy(r) - 1 for r in di) * 100:+.1f}%)"
    )
    print(f"  prompteval vs direct   {med(pairs) * 100:+.1f}%  (paired, per pass)")
    print(
        f"  slots busy (prompteval): {med(r['sampled_mean'] for r in pe):.2f} of {parallel} on average"
        f" ({med(r['sampled_full'] for r in pe) * 100:.0f}% of samples with all {parallel} busy),"
        f" {med(r['busy_per_decode'] for r in pe):.2f} per decode step"
    )
    print(
        f"  slots busy (direct):     {med(r['sampled_mean'] for r in di):.2f} of {parallel} on average"
        f" ({med(r['sampled_full'] for r in di) * 100:.0f}% of samples with all {parallel} busy),"
        f" {med(r['busy_per_decode'] for r in di):.2f} per decode step"
    )
    sums = [(r["timings_sum_s"], r["server_sum_s"]) for r in di]
    print(
        "  check: per-response timings (prompt_ms+predicted_ms) vs /metrics counters, direct passes: "
        + ", ".join(f"{t:.2f}/{m:.2f} s" for t, m in sums)
    )


def cmd_dataset(args):
    path, n = args[0], int(args[1])
    rng = random.Random(7)
    good = "great sturdy fast quiet bright comfortable reliable light sharp".split()
    bad = "flimsy slow noisy dim scratchy unreliable heavy blurry cheap".split()
    things = "battery screen strap lid charger fan hinge case button speaker".split()
    with open(path, "w") as f:
        f.write("id,review,expected\n")
        for i in range(n):
            label = rng.choice(["positive", "negative"])
            words = good if label == "positive" else bad
            review = f"The {rng.choice(things)} is {rng.choice(words)} and the {rng.choice(things)} feels {rng.choice(words)}"
            f.write(f"c{i:05d},{review} (#{i}).,{label}\n")


def cmd_prompts(args):
    run = json.load(open(args[0]))
    results = sorted(run["results"], key=lambda r: r["vars"]["id"])
    json.dump([r["output"] for r in results], open(args[1], "w"))


def cmd_warmup(args):
    url, parallel, prompts, params = args[0], int(args[1]), json.load(open(args[2])), json.loads(args[3])
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda p: complete(url, p, params), prompts[: 2 * parallel]))


def cmd_wait(args):
    url, deadline = args[0], time.monotonic() + float(args[1])
    while time.monotonic() < deadline:
        try:
            if json.loads(http_get(url + "/health", timeout=2)).get("status") == "ok":
                return
        except Exception:
            pass
        time.sleep(0.25)
    sys.exit(f"bench-llamacpp: llama-server did not become healthy at {url} within {args[1]} s")


def cmd_freeport(_args):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


COMMANDS = {
    "dataset": cmd_dataset,
    "freeport": cmd_freeport,
    "wait": cmd_wait,
    "prompts": cmd_prompts,
    "warmup": cmd_warmup,
    "measure": cmd_measure,
    "report": cmd_report,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(COMMANDS)}}} ...")
    COMMANDS[sys.argv[1]](sys.argv[2:])
