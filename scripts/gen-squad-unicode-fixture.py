"""Writes tests/fixtures/score/squad-unicode.json: SQuAD normalisation around the article
regex `\b(a|an|the)\b` next to characters where Python's `re` and Rust's `regex` disagree
on what a word character is (combining marks, joiners, `²`, `½`, circled letters, `‿`).

Standard library only: `python3 scripts/gen-squad-unicode-fixture.py`. The functions are
those of the official SQuAD v2.0 evaluation script (evaluate-v2.0.py), as in
scripts/gen-score-fixtures.py. `unicode` records the Unicode version of the Python that
wrote the file: Python's `re` takes word characters from it (`str.isalnum()` or `_`).
"""

import collections
import json
import os
import re
import string
import sys
import unicodedata


def normalize_answer(s):
    def remove_articles(text):
        regex = re.compile(r"\b(a|an|the)\b", re.UNICODE)
        return re.sub(regex, " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def get_tokens(s):
    if not s:
        return []
    return normalize_answer(s).split()


def compute_exact(a_gold, a_pred):
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold, a_pred):
    gold_toks = get_tokens(a_gold)
    pred_toks = get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


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
