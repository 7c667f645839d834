"""Writes tests/fixtures/score/squad-unicode.json: SQuAD normalisation around the article
regex `\b(a|an|the)\b` next to characters where Python's `re` and Rust's `regex` disagree
on what a word character is (combining marks, joiners, `²`, `½`, circled letters, `‿`).

Standard library only: `python3 scripts/gen-squad-unicode-fixture.py`. The SQuAD functions are
those of the official v2.0 evaluation script, in scripts/squad_v2.py (shared with
scripts/gen-score-fixtures.py). `unicode` records the Unicode version of the Python that
wrote the file: Python's `re` takes word characters from it (`str.isalnum()` or `_`).
"""

import json
import os
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from squad_v2 import compute_exact, compute_f1, normalize_answer  # noqa: E402




# (truth, prediction). Marks (Mn, Mc), joiners (Cf), connector punctuation (Pc) and symbols
# (So) are not word characters for Python; `²` and `½` (No) are.
PAIRS = [
    ("\u0301 cat", "the\u0301 cat"),
    ("THE\u0301 CAT", "\u0301 cat"),
    ("\u0301the cat", "\u0301 cat"),
    ("a\u0903 b", "\u0903 b"),
    ("\u0915\u0903the b", "\u0915\u0903 b"),
    ("the\u200d cat", "\u200d cat"),
    ("\u200dthe\u200d", "\u200d \u200d"),
    ("the\u00b2 cat", "\u00b2 cat"),
    ("x\u00b2 a b", "x\u00b2 b"),
    ("\u00b2the cat", "the cat"),
    ("\u00bdan hour", "an hour"),
    ("an\u00bd hour", "\u00bd hour"),
    ("\u24b6the cat", "\u24b6 cat"),
    ("the\u24d0", "\u24d0"),
    ("the\u203fcat", "\u203fcat"),
    ("the_cat", "cat"),
    ("\u2167the \u0663the \u4e2dthe", "the"),
    ("an\u0301a a\u0301n", "a n"),
    ("a\u0301 an\u0301 the\u0301", ""),
    ("caf\u00e9 the\u0301", "caf\u00e9"),
    ("the\u0301", "the"),
]

cases = [
    {
        "prediction": prediction,
        "truth": truth,
        "normalized": normalize_answer(prediction),
        "normalized_truth": normalize_answer(truth),
        "f1": float(compute_f1(truth, prediction)),
        "em": bool(compute_exact(truth, prediction)),
    }
    for truth, prediction in PAIRS
]
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "tests/fixtures/score")
with open(os.path.join(out, "squad-unicode.json"), "w", encoding="utf-8") as f:
    doc = {"unicode": unicodedata.unidata_version, "cases": cases}
    json.dump(doc, f, ensure_ascii=True, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} squad-unicode cases to {out}")
