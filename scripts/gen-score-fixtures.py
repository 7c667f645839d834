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

# --- options (issue 18) ---------------------------------------------------------------
# Drawn after everything above, so the older fixtures keep their bytes.

CJK = [
    ("猫坐在垫子上。", "猫坐在垫子上。"),
    ("我们在2024年3月5日去了北京，价格为3.5元。", "我们2024年3月5日去北京，价格是3.5元！"),
    ("他说：“你好，世界”", "他说“你好世界”。"),
    ("今天天气很好 today is fine", "今天天气不错 today is nice"),
    ("日本語のテキストです。", "日本語の文章です。"),
    ("한국어 문장입니다", "한국어 문장이에요"),
    ("em—dash “quotes” … €5 ← →", "em - dash \"quotes\" ... EUR5"),
    ("ＦＵＬＬ　ｗｉｄｔｈ　１２３", "FULL width 123"),
    ("\u2000\u2001x\u2a6d\u2a6e y\u2f80\u2f81", "x y"),
    ("☀☁ ✂ ㈠㍱", "☀ ✂"),
    ("𠀀𠀁 ext-b 丽", "𠀀 丽"),
    ("，。！？", "，。"),
    ("5.", "5 ."),
    (".x 1,5 a,b", "x 1,5 a b"),
]

SUMMARIES = [
    ("the cat sat on the mat.\nit was happy.", "the cat was on the mat.\nit was very happy."),
    ("one\ntwo\nthree", "three\ntwo\none"),
    ("a b c\n\nd e f\n", "a b\nc d e f"),
    ("\n\n", "the cat"),
    ("the cat\n", "\n"),
    ("repeated repeated words\nrepeated words", "repeated words repeated\nwords words"),
    ("police killed the gunman.\nthe gunman was shot.", "the gunman was killed by police.\npolice shot him."),
    ("line one\r\nline two", "line one\nline two"),
    ("  \n x \n  ", "x"),
]


def summary(k):
    return "\n".join(sentence(rng.randint(1, 20)) for _ in range(k))


def options_pairs():
    out = list(HANDWRITTEN) + CJK
    out += rng.sample(PAIRS[len(HANDWRITTEN):], 44)
    return out


OPT_PAIRS = options_pairs()

# sacrebleu's test/test_sentence_bleu.py: its example (#98) under each configuration
# (smooth_method, smooth_value, lowercase, tokenize), and the zero-BLEU example (#141).
SB_REF = "producţia de zahăr brut se exprimă în zahăr alb;"
SB_SYS = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"
SB_CONFIGS = [
    ("exp", None, False, "13a"), ("none", None, False, "13a"), ("floor", None, False, "13a"),
    ("floor", 0.1, False, "13a"), ("floor", 0.5, False, "13a"), ("add-k", None, False, "13a"),
    ("add-k", 1, False, "13a"), ("add-k", 2, False, "13a"), ("exp", None, False, "none"),
    ("exp", None, False, "intl"), ("exp", None, False, "char"), ("exp", None, True, "char"),
]
SB_ZERO = [("exp", None), ("none", None), ("floor", None), ("floor", 0.1), ("add-k", None),
           ("add-k", 1)]

BLEU_CONFIGS = [{"tokenize": t} for t in ["13a", "none", "intl", "char", "zh"]] + [
    {"smooth_method": "none"},
    {"smooth_method": "floor"},
    {"smooth_method": "floor", "smooth_value": 0.5},
    {"smooth_method": "add-k"},
    {"smooth_method": "add-k", "smooth_value": 2},
    {"smooth_method": "exp", "smooth_value": 3},
    {"lowercase": True},
    {"max_ngram_order": 1},
    {"max_ngram_order": 2},
    {"max_ngram_order": 6},
    {"tokenize": "zh", "lowercase": True, "smooth_method": "add-k", "max_ngram_order": 3},
    {"tokenize": "intl", "smooth_method": "floor", "smooth_value": 0.2, "lowercase": True},
    {"tokenize": "char", "max_ngram_order": 8, "smooth_method": "none"},
]


def bleu_metric(opts, effective_order):
    return sacrebleu.metrics.BLEU(effective_order=effective_order, **opts)


bleu_opt = {"cases": [], "corpus": [], "tokens": []}
for opts in BLEU_CONFIGS:
    metric = bleu_metric(opts, True)
    for i, (ref, hyp) in enumerate(OPT_PAIRS):
        refs = [ref] if i % 5 else [ref, perturb(ref)]
        b = metric.sentence_score(hyp, refs)
        bleu_opt["cases"].append({"options": opts, "hyp": hyp, "refs": refs, "score": b.score,
                                  "sys_len": b.sys_len, "ref_len": b.ref_len,
                                  "counts": [int(c) for c in b.counts],
                                  "totals": [int(t) for t in b.totals]})
    # Corpus BLEU over this configuration's single-reference cases, named by index.
    first = len(bleu_opt["cases"]) - len(OPT_PAIRS)
    single = [i for i in range(len(OPT_PAIRS)) if i % 5]
    corpus = bleu_metric(opts, False).corpus_score(
        [OPT_PAIRS[i][1] for i in single], [[OPT_PAIRS[i][0] for i in single]])
    bleu_opt["corpus"].append({"options": opts, "cases": [first + i for i in single],
                               "score": corpus.score})
for method, value, lowercase, tok in SB_CONFIGS:
    opts = {"smooth_method": method, "lowercase": lowercase, "tokenize": tok}
    if value is not None:
        opts["smooth_value"] = value
    b = bleu_metric(opts, True).sentence_score(SB_SYS, [SB_REF])
    bleu_opt["cases"].append({"options": opts, "hyp": SB_SYS, "refs": [SB_REF],
                              "score": b.score, "sys_len": b.sys_len, "ref_len": b.ref_len,
                              "counts": list(b.counts), "totals": list(b.totals)})
for method, value in SB_ZERO:
    opts = {"smooth_method": method}
    if value is not None:
        opts["smooth_value"] = value
    b = bleu_metric(opts, True).sentence_score("this is a cat", ["okay thanks"])
    bleu_opt["cases"].append({"options": opts, "hyp": "this is a cat", "refs": ["okay thanks"],
                              "score": b.score, "sys_len": b.sys_len, "ref_len": b.ref_len,
                              "counts": list(b.counts), "totals": list(b.totals)})
for tok in ["none", "intl", "char", "zh"]:
    t = sacrebleu.metrics.BLEU(tokenize=tok).tokenizer
    for ref, hyp in OPT_PAIRS:
        for text in (ref, hyp):
            bleu_opt["tokens"].append([tok, text, t(text.rstrip())])
dump("bleu-options.json", bleu_opt)

# sacrebleu's test/test_chrf.py: its single-segment cases under the configurations there.
SB_CHRF = [
    ({"beta": 3, "eps_smoothing": True}, "abcdefg", "hijklmnop"),
    ({"beta": 3, "eps_smoothing": True}, "aa", "ab"),
    ({"beta": 3, "eps_smoothing": True}, "a", "a"),
    ({"beta": 3, "eps_smoothing": True}, "", "ref"),
    ({"beta": 3, "eps_smoothing": True}, "a b c", "abc"),
    ({"beta": 3, "eps_smoothing": True},
     " risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .",
     "risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."),
    ({"beta": 3, "eps_smoothing": True},
     " Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. ",
     "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."),
    ({"beta": 3}, "aa", "ab"),
    ({"beta": 3}, "a b c", "abc"),
    ({"beta": 3, "whitespace": True},
     "Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
     "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."),
    ({"eps_smoothing": True}, "Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
     "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."),
    ({"eps_smoothing": True}, "Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
     "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."),
]
CHRF_CONFIGS = [
    {}, {"word_order": 2}, {"word_order": 1}, {"word_order": 3}, {"char_order": 4},
    {"char_order": 1}, {"beta": 1}, {"beta": 3}, {"beta": 0}, {"lowercase": True},
    {"whitespace": True}, {"eps_smoothing": True},
    {"word_order": 2, "eps_smoothing": True, "lowercase": True},
    {"char_order": 0, "word_order": 2},
    {"char_order": 2, "word_order": 3, "whitespace": True, "beta": 1},
    {"char_order": 8, "word_order": 2, "whitespace": True, "eps_smoothing": True},
]
chrf_opt = []
for opts in CHRF_CONFIGS:
    metric = sacrebleu.metrics.CHRF(**opts)
    for i, (ref, hyp) in enumerate(OPT_PAIRS):
        refs = [ref] if i % 5 else [ref, perturb(ref)]
        chrf_opt.append({"options": opts, "hyp": hyp, "refs": refs,
                         "score": metric.sentence_score(hyp, refs).score})
for opts, hyp, ref in SB_CHRF:
    chrf_opt.append({"options": opts, "hyp": hyp, "refs": [ref],
                     "score": sacrebleu.metrics.CHRF(**opts).sentence_score(hyp, [ref]).score})
dump("chrf-options.json", chrf_opt)

# rouge-score: every type, one reference (`score`) or several (`score_multi`), and
# newline-separated summaries for rougeLsum.
ROUGE_TYPES = [f"rouge{n}" for n in range(1, 10)] + ["rougeL", "rougeLsum"]
rouge_all = {s: rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=s) for s in (False, True)}
rouge_opt = []
rouge_inputs = [([t], p) for t, p in OPT_PAIRS] + [([t], p) for t, p in SUMMARIES]
for _ in range(40):
    target = summary(rng.randint(1, 6))
    rouge_inputs.append(([target], perturb(target).replace(" ", "\n", rng.randint(0, 3))))
for i in range(0, len(OPT_PAIRS), 3):
    t, p = OPT_PAIRS[i]
    rouge_inputs.append(([t, perturb(t), sentence(rng.randint(0, 12))], p))
for t, p in SUMMARIES[:4]:
    rouge_inputs.append(([t, p.upper(), ""], p))
rouge_inputs.append(([], "no targets"))
# rouge-score's own rouge_scorer_test.py inputs (those that need no data file).
ROUGE_OWN = [
    ("testing one two", "testing"), ("testing one two", ""), ("testing one two", "testing one"),
    ("testing one two", "testing two"), ("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5"),
    ("w1 w2 w3 w4 w5", ""), ("", "w1"), ("w1 w2 w3 w4 w5", "/"),
]
rouge_inputs += [([t], p) for t, p in ROUGE_OWN]
for i, (targets, prediction) in enumerate(rouge_inputs):
    for stem in (False, True):
        if stem and i % 2:
            continue
        scorer = rouge_all[stem]
        if len(targets) == 1:
            scores = scorer.score(targets[0], prediction)
        elif targets:
            scores = scorer.score_multi(targets, prediction)
        else:
            continue
        rouge_opt.append({"targets": targets, "prediction": prediction, "stem": stem,
                          "scores": {t: [scores[t].precision, scores[t].recall,
                                         scores[t].fmeasure] for t in ROUGE_TYPES}})
dump("rouge-options.json", rouge_opt)

# SQuAD v1.1 against v2.0 (scripts/squad_v1.py, scripts/squad_v2.py).
import squad_v1  # noqa: E402
import squad_v2  # noqa: E402

SQUAD_BOTH = SQUAD_EXTRA + [("the", "an"), ("a an the", ""), ("", ""), ("!!!", "?"),
                            ("", "the"), ("The", "the"), ("x", "")] + OPT_PAIRS
squad_versions = []
for truth, prediction in SQUAD_BOTH:
    squad_versions.append({
        "prediction": prediction, "truth": truth,
        "v1": {"normalized": squad_v1.normalize_answer(prediction),
               "f1": float(squad_v1.f1_score(prediction, truth)),
               "em": bool(squad_v1.exact_match_score(prediction, truth))},
        "v2": {"normalized": squad_v2.normalize_answer(prediction),
               "f1": float(squad_v2.compute_f1(truth, prediction)),
               "em": bool(squad_v2.compute_exact(truth, prediction))},
    })
dump("squad-versions.json", squad_versions)

print(f"wrote {len(rouge)} rouge, {len(words)} porter, {len(bleu['sentences'])} bleu, "
      f"{len(chrf)} chrf, {len(squad)} squad cases, {len(bleu_opt['cases'])} bleu, "
      f"{len(chrf_opt)} chrf, {len(rouge_opt)} rouge and {len(squad_versions)} squad cases "
      f"with options to {OUT}")
