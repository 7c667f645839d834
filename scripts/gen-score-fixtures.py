"""Writes tests/fixtures/score/*.json: input pairs and the numbers the reference Python
packages give them. Run through scripts/gen-score-fixtures.sh (which pins the packages).

- rouge.json:  rouge_score.rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"],
               use_stemmer=...).score(target, prediction), as [precision, recall, fmeasure]
- porter.json: [word, nltk.stem.porter.PorterStemmer().stem(word)]
- bleu.json:   sacrebleu.sentence_bleu(hyp, refs): `.score` unrounded (0-100) with its
               statistics, the 13a tokenization of hyp, and sacrebleu.corpus_bleu over
               the single-reference cases
- chrf.json:   sacrebleu.sentence_chrf(hyp, refs).score, unrounded (0-100)
- squad.json:  normalize_answer / compute_f1 / compute_exact of the official SQuAD v2.0
               evaluation script (reproduced in scripts/squad_v2.py: it is not on PyPI)

The scores are the packages' own floats, never rounded: sacrebleu only rounds when it
formats a score for printing.
"""

import json
import os
import random
import re
import sys

import nltk
import sacrebleu
from nltk.stem.porter import PorterStemmer
from rouge_score import rouge_scorer

OUT = sys.argv[1]
rng = random.Random(20240605)

# --- inputs -------------------------------------------------------------------------

VOCAB = """
the a an of to and in is was for on that with as by at it from this be are were been
cat cats dog dogs mat mats sat sitting run runs running runner runners ran jumped jumping
generalization generalizations generalize happiness happy happily relational conditional
agreed agreeing feed feeding plastered motoring conflated hopping falling filing caresses
ponies ties skies dying lying news innings analogies analogy controlling adjustment hopeful
goodness electrical electricity formalize formality sensitivity sensibility rational
national operator operating operations effective effectiveness decisiveness callousness
model models token tokens evaluation evaluations prompt prompts output outputs reference
Paris France London capital city river bank money market price prices 3.5 42 1,000 2024
U.S. e.g. don't it's rock'n'roll co-operate state-of-the-art 10-20 $5 50% #1 @user
""".split()

PUNCT = list(".,;:!?\"'()[]{}-/&<>$%#@*+=_~`^|\\")
UNICODE = ["café", "naïve", "Straße", "İstanbul", "\u212aelvin", "日本語", "Ελληνικά",
           "ǅemal", "ﬁnance", "résumé", "😀", "Ωmega", "ÆSIR", "ß", "中文 文本"]
SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2009", "\u001c", "\r\n"]


def sentence(n):
    words = []
    for _ in range(n):
        r = rng.random()
        if r < 0.06:
            words.append(rng.choice(UNICODE))
        elif r < 0.14:
            words.append(rng.choice(VOCAB) + rng.choice(PUNCT))
        elif r < 0.18:
            words.append(rng.choice(VOCAB).upper())
        else:
            words.append(rng.choice(VOCAB))
    out = words[0] if words else ""
    for w in words[1:]:
        out += (" " if rng.random() < 0.9 else rng.choice(SPACES)) + w
    return out


def perturb(text):
    words = text.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2:
            out.append(rng.choice(VOCAB))
        elif r < 0.25:
            out.extend([w, w])
        else:
            out.append(w)
    if rng.random() < 0.3 and len(out) > 3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


HANDWRITTEN = [
    ("", ""),
    ("", "the cat"),
    ("the cat", ""),
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("the cat sat on the mat", "the cat lay on the mat"),
    ("the the the the", "the"),
    ("the", "the the the the"),
    ("a", "a"),
    ("Hello, world!", "hello world"),
    ("It costs $3.50, i.e. 3.5 dollars.", "It costs 3.50 dollars."),
    ("1,000,000 people (approx.) came.", "1.000.000 people came..."),
    ("state-of-the-art 10-20 results", "state of the art 10 - 20 results"),
    ("A &amp; B &lt;tag&gt; &quot;q&quot; &amp;amp;", "A & B <tag> \"q\" &amp;"),
    ("line one-\nline two\nthree", "line oneline two three"),
    ("<skipped> words here", "words here"),
    ("trailing spaces   \t\n", "trailing spaces"),
    ("café naïve Straße", "cafe naive strasse"),
    ("日本語のテキスト", "日本語のテキスト"),
    ("İstanbul \u212aelvin", "istanbul kelvin"),
    ("...,,,..", ".,.,"),
    ("a.b,c.d 1.2,3.4 x.5 5.x", "a . b , c"),
    ("9-", "-9"),
    ("don't won't can't", "do not will not cannot"),
    ("running runners ran runs", "run runner run run"),
    ("generalizations of relational conditionals", "generalize relation condition"),
    ("The quick brown fox jumps over the lazy dog.", "A quick brown dog jumps over the lazy fox."),
    ("x", "y"),
    ("1 2 3 4 5", "1 2 3 4 5 6"),
    ("word\u001cword\u001dword", "word word word"),
    ("\u00a0nbsp\u00a0separated\u3000ideographic", "nbsp separated ideographic"),
    ("😀 emoji 😀", "emoji"),
    ("ﬁnance ﬂow", "finance flow"),
]


def pairs(count):
    out = list(HANDWRITTEN)
    while len(out) < count:
        kind = rng.random()
        if kind < 0.15:
            ref = sentence(rng.randint(1, 4))
            hyp = perturb(ref) if rng.random() < 0.7 else sentence(rng.randint(0, 4))
        elif kind < 0.85:
            ref = sentence(rng.randint(5, 40))
            hyp = perturb(ref)
        else:
            ref = sentence(rng.randint(80, 160))
            hyp = perturb(ref)
        out.append((ref, hyp))
    return out


PAIRS = pairs(320)


def dump(name, data, indent=1):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=indent)
        f.write("\n")


# --- rouge --------------------------------------------------------------------------

rouge = []
types = ["rouge1", "rouge2", "rougeL"]
scorers = {s: rouge_scorer.RougeScorer(types, use_stemmer=s) for s in (False, True)}
for i, (target, prediction) in enumerate(PAIRS):
    for stem in (False, True):
        if stem and i % 2:
            continue
        scores = scorers[stem].score(target, prediction)
        case = {"target": target, "prediction": prediction, "stem": stem}
        for t in types:
            s = scores[t]
            case[t] = [s.precision, s.recall, s.fmeasure]
        rouge.append(case)
dump("rouge.json", rouge)

# --- porter -------------------------------------------------------------------------

STEMS = """run hop fall file happy relat condit gener analog agre feed plaster motor
conflat control adjust hope good electr formal sensit rational nation oper effect decis
callous cry die lie tie sky news inning out can howe proce exce succe bake fizz tape size
hiss crab troubl sens abl analy log ski spy boy toy buy pay say play xyz yyy aaa pull
tell fill roll bell bottl bubbl cycl""".split()
SUFFIXES = """ s es ies ied ied ed ing eed ly ally ally alli ational tional enci anci izer bli
abli alli entli eli ousli ization ation ator alism iveness fulness ousness aliti iviti
biliti fulli logi icate ative alize iciti ical ful ness al ance ence er ic able ible ant
ement ment ent ion sion tion ou ism ate iti ous ive ize e ll y""".split() + [""]
words = set()
for s in STEMS:
    for suf in SUFFIXES:
        words.add(s + suf)
for text, _ in PAIRS:
    words.update(re.findall(r"[a-z0-9]+", text.lower()))
for w in ["sky", "skies", "dying", "lying", "tying", "news", "innings", "inning", "outings",
          "outing", "cannings", "canning", "howe", "proceed", "exceed", "succeed", "a", "is",
          "ies", "ied", "yes", "eye", "yyyy", "syzygy", "queueing", "y", "by", "sly", "fly",
          "ys", "aed", "bed", "bled", "ing", "sing", "king", "bring", "string", "1234",
          "abc123", "logi", "ologi", "alli", "falli"]:
    words.add(w)
# Words from nltk's own docstrings and comments: ordinary English vocabulary.
nltk_dir = os.path.dirname(nltk.__file__)
for root, _, files in os.walk(nltk_dir):
    for fn in files:
        if fn.endswith(".py"):
            with open(os.path.join(root, fn), encoding="utf-8", errors="ignore") as f:
                words.update(re.findall(r"\b[a-z]{3,}\b", f.read()))
porter = PorterStemmer()
dump("porter.json", [[w, porter.stem(w)] for w in sorted(words)], indent=None)

# --- sacrebleu ----------------------------------------------------------------------

bleu = {"sentences": []}
chrf = []
tok13a = sacrebleu.BLEU().tokenizer
for i, (ref, hyp) in enumerate(PAIRS):
    refs = [ref]
    if i % 7 == 3:
        refs.append(perturb(ref))
    if i % 21 == 10:
        refs.append(sentence(rng.randint(1, 30)))
    b = sacrebleu.sentence_bleu(hyp, refs)
    bleu["sentences"].append({
        "hyp": hyp,
        "refs": refs,
        "hyp_tok": tok13a(hyp.rstrip()),
        "score": b.score,
        "sys_len": b.sys_len,
        "ref_len": b.ref_len,
        "counts": list(b.counts),
        "totals": list(b.totals),
    })
    chrf.append({"hyp": hyp, "refs": refs, "score": sacrebleu.sentence_chrf(hyp, refs).score})
single = [c for c in bleu["sentences"] if len(c["refs"]) == 1]
bleu["corpus_score"] = sacrebleu.corpus_bleu(
    [c["hyp"] for c in single], [[c["refs"][0] for c in single]]
).score
dump("bleu.json", bleu)
dump("chrf.json", chrf)

# --- SQuAD --------------------------------------------------------------------------
# From the official SQuAD v2.0 evaluation script (evaluate-v2.0.py).


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from squad_v2 import compute_exact, compute_f1, normalize_answer  # noqa: E402


squad = []
SQUAD_EXTRA = [
    ("The Eiffel Tower", "eiffel tower"),
    ("an apple a day", "apple day"),
    ("A", ""),
    ("the", "a"),
    ("Theatre and Anthem", "theatre anthem"),
    ("Denver Broncos!", "the Denver Broncos."),
    ("1,000", "1000"),
    ("café", "Café"),
    ("ÉTÉ the été", "été été"),
    ("   ", ""),
]
for truth, prediction in SQUAD_EXTRA + PAIRS[: 200]:
    squad.append({
        "prediction": prediction,
        "truth": truth,
        "normalized": normalize_answer(prediction),
        "f1": float(compute_f1(truth, prediction)),
        "em": bool(compute_exact(truth, prediction)),
    })
dump("squad.json", squad)

print(f"wrote {len(rouge)} rouge, {len(words)} porter, {len(bleu['sentences'])} bleu, "
      f"{len(chrf)} chrf, {len(squad)} squad cases to {OUT}")
