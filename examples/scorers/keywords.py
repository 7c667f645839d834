#!/usr/bin/env python3
"""An external prompteval scorer: the share of keywords the output contains.

Protocol (docs/scorers.md): one JSON request per line on stdin, one JSON reply per line
on stdout with the request's `id`. Standard library only.

    assert:
      - type: external
        command: [python3, examples/scorers/keywords.py]
        value: {keywords: [Paris, France], min: 0.5}

The keywords come from the assertion's `value.keywords`, or else from the row's
`keywords` variable (a list, or text separated by `;`). The case passes when the share
found reaches `value.min` (default 1: every keyword).
"""

import json
import sys


def keywords_of(request):
    value = (request.get("assertion") or {}).get("value") or {}
    words = value.get("keywords") if isinstance(value, dict) else None
    if words is None:
        words = (request.get("vars") or {}).get("keywords", [])
    if isinstance(words, str):
        words = [w.strip() for w in words.split(";") if w.strip()]
    return [str(w) for w in words], (value.get("min", 1.0) if isinstance(value, dict) else 1.0)


def score(request):
    words, minimum = keywords_of(request)
    if not words:
        return {"error": "no keywords: set value.keywords or a `keywords` column"}
    output = (request.get("output") or "").lower()
    found = [w for w in words if w.lower() in output]
    missing = [w for w in words if w.lower() not in output]
    share = len(found) / len(words)
    reason = f"found {len(found)} of {len(words)} keywords"
    if missing:
        reason += " (missing: " + ", ".join(missing) + ")"
    return {
        "pass": share >= minimum,
        "score": share,
        "reason": reason,
        "metrics": {"keywords_found": len(found), "keywords_missing": len(missing)},
    }


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            reply = score(request)
        except Exception as exc:  # report, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["id"] = request["id"]
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
