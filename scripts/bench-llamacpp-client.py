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
import os
import random
import re
import resource
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


TIMING = re.compile(
    r"^(\d+)\.(\d+)\.(\d+)\.(\d+) .*print_timing: id +(\d+) \| task (\d+) \| +total time = +([\d.]+) ms"
)


def server_requests(log, offset, expected):
    """(start, end) in seconds of server time of every request the server finished after
    byte `offset` of its log: its `total time` (prompt + generation) ending at the line's
    timestamp; and every gap on a slot from releasing one request to launching the next.
    Waits briefly for the log to catch up with the responses."""
    deadline = time.monotonic() + 5
    while True:
        with open(log, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        spans, gaps, released = [], [], {}
        for line in text.splitlines():
            e = SLOT_EVENT.match(line)
            if e:
                mins, secs, ms, us = (int(g) for g in e.groups()[:4])
                t, slot = mins * 60 + secs + ms / 1e3 + us / 1e6, int(e.group(6))
                if e.group(5) == "release":
                    released[slot] = t
                elif slot in released:
                    gaps.append(t - released.pop(slot))
            m = TIMING.match(line)
            if m:
                mins, secs, ms, us = (int(g) for g in m.groups()[:4])
                end = mins * 60 + secs + ms / 1e3 + us / 1e6
                spans.append((end - float(m.group(7)) / 1e3, end))
        if len(spans) >= expected or time.monotonic() > deadline:
            return spans, gaps


SLOT_EVENT = re.compile(
    r"^(\d+)\.(\d+)\.(\d+)\.(\d+) .*slot +(release|launch_slot_): id +(\d+) \|"
)


def busy_stats(spans, parallel):
    """Server-side figures from the per-request busy spans: their sum, the span from the
    first request's start to the last one's end, and the time-weighted slot occupancy."""
    if not spans:
        return {"log_requests": 0, "log_sum_s": 0.0, "log_span_s": 0.0, "log_mean_busy": 0.0,
                "log_full": 0.0, "log_idle_s": 0.0}
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    active, last, weighted, full, idle = 0, events[0][0], 0.0, 0.0, 0.0
    for t, step in events:
        weighted += active * (t - last)
        full += (t - last) if active >= parallel else 0.0
        idle += (t - last) if active == 0 else 0.0
        active, last = active + step, t
    span = events[-1][0] - events[0][0]
    return {
        "log_requests": len(spans),
        "log_sum_s": sum(b - a for a, b in spans),
        "log_span_s": span,
        "log_mean_busy": weighted / span if span else 0.0,
        "log_full": full / span if span else 0.0,
        "log_idle_s": idle,
    }


def busy_slot_decodes(m):
    # n_busy_slots_per_decode is cumulative busy-slot count / n_decode_total.
    return m.get("n_busy_slots_per_decode", 0.0) * m.get("n_decode_total", 0.0)


def cmd_measure(args):
    pass_no, mode, url, parallel, prompts_file, params, log = args[:7]
    parallel = int(parallel)
    cmd = args[8:] if len(args) > 7 and args[7] == "--" else []
    log_offset = os.path.getsize(log)
    prompts = json.load(open(prompts_file))
    params = json.loads(params)
    before = metrics(url)
    sampler = Sampler(url)
    sampler.start()
    record = {"pass": int(pass_no), "mode": mode}
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if mode == "prompteval":
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        record["cpu_s"] = (children1.ru_utime - children0.ru_utime) + (
            children1.ru_stime - children0.ru_stime
        )
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
        record["cpu_s"] = time.process_time() - cpu0  # includes the sampler thread
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
    busy, gaps = server_requests(log, log_offset, len(record["outputs"]))
    record.update(busy_stats(busy, parallel))
    record.update(
        gap_median_ms=statistics.median(gaps) * 1000 if gaps else 0.0,
        gap_mean_ms=statistics.fmean(gaps) * 1000 if gaps else 0.0,
    )
    record.update(
        wall_s=wall,
        load1=os.getloadavg()[0],
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
    med = statistics.median

    def busy(r):  # the server's own time: summed per-request prompt + generation time / slots
        return r["log_sum_s"] / parallel

    def pct(x):
        return f"{x * 100:+.1f}%"

    print(
        f"{'pass':<4} {'client':<10} {'wall s':>7} {'Σ/P s':>7} {'wall/(Σ/P)':>10} {'span s':>7}"
        f" {'busy slots':>10} {f'{parallel} busy':>7} {'sampled':>7} {f'{parallel} busy':>7}"
        f" {'per decode':>10} {'CPU s':>6} {'load':>5}"
    )
    for r in runs:
        print(
            f"{r['pass']:<4} {r['mode']:<10} {r['wall_s']:7.2f} {busy(r):7.2f}"
            f" {pct(r['wall_s'] / busy(r) - 1):>10} {r['log_span_s']:7.2f}"
            f" {r['log_mean_busy']:10.2f} {r['log_full'] * 100:6.1f}%"
            f" {r['sampled_mean']:7.2f} {r['sampled_full'] * 100:6.1f}%"
            f" {r['busy_per_decode']:10.2f} {r['cpu_s']:6.2f} {r['load1']:5.1f}"
        )
    print()
    pairs = []
    for p in sorted({r["pass"] for r in runs}):
        a = next(r for r in pe if r["pass"] == p)
        b = next(r for r in di if r["pass"] == p)
        pairs.append(a["wall_s"] / b["wall_s"] - 1)
        same = sum(x == y for x, y in zip(a["outputs"], b["outputs"]))
        print(
            f"pass {p}: prompteval {a['wall_s']:.2f} s, direct {b['wall_s']:.2f} s:"
            f" prompteval {pct(pairs[-1])}; identical outputs {same}/{len(a['outputs'])}"
        )
    print()
    print(f"median of {len(pe)} passes, N={n} completions, P={parallel} slots:")
    for name, rs in (("prompteval", pe), ("direct", di)):
        print(
            f"  {name:<10} wall {med(r['wall_s'] for r in rs):6.2f} s;"
            f" server Σ/P {med(busy(r) for r in rs):6.2f} s;"
            f" wall over Σ/P {pct(med(r['wall_s'] / busy(r) - 1 for r in rs))};"
            f" outside the server's first-to-last request span"
            f" {med(r['wall_s'] - r['log_span_s'] for r in rs):.2f} s"
        )
        print(
            f"  {'':<10} slots busy {med(r['log_mean_busy'] for r in rs):.3f} of {parallel}"
            f" (time-weighted, server log), all {parallel} busy"
            f" {med(r['log_full'] for r in rs) * 100:.1f}% of the span;"
            f" sampled gauge {med(r['sampled_mean'] for r in rs):.2f}"
            f" ({med(r['sampled_full'] for r in rs) * 100:.0f}% of samples all busy);"
            f" {med(r['busy_per_decode'] for r in rs):.2f} busy per decode step"
        )
        print(
            f"  {'':<10} slot gap, release to next launch: median {med(r['gap_median_ms'] for r in rs):.0f} ms,"
            f" mean {med(r['gap_mean_ms'] for r in rs):.0f} ms"
        )
    print(f"  prompteval vs direct: {pct(med(pairs))} wall time (median of the per-pass ratios)")
    norm = []
    for p in sorted({r["pass"] for r in runs}):
        a = next(r for r in pe if r["pass"] == p)
        b = next(r for r in di if r["pass"] == p)
        norm.append((a["wall_s"] / busy(a)) / (b["wall_s"] / busy(b)) - 1)
        if abs(busy(a) / busy(b) - 1) > 0.1:
            print(
                f"  warning: pass {p}: the server's own time differs by more than 10% between the"
                " two clients (other load on the machine?); trust the normalised figure below"
            )
    print(
        f"  prompteval vs direct, each normalised by the server's own time (wall / (Σ/P)):"
        f" {pct(med(norm))} (median; per pass: {', '.join(pct(x) for x in norm)})"
    )
    print(
        f"  client CPU: prompteval {med(r['cpu_s'] for r in pe):.2f} s"
        f" ({med(r['cpu_s'] / r['wall_s'] for r in pe) * 100:.1f}% of one core),"
        f" direct Python client {med(r['cpu_s'] for r in di):.2f} s"
    )
    checks = [
        f"{r['timings_sum_s']:.2f}/{r['log_sum_s']:.2f}/{r['server_sum_s']:.2f}" for r in di
    ]
    print(
        "  check, direct runs: Σ response timings (prompt_ms + predicted_ms) / Σ server log"
        " total time / /metrics prompt + generation seconds: "
        + ", ".join(checks)
    )
    short = [r for r in runs if r["log_requests"] != r["requests"]]
    if short:
        print(f"  warning: {len(short)} runs found fewer server log entries than requests")


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
