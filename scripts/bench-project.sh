#!/usr/bin/env bash
# Writes the 20,000-cell benchmark project of the foundation issue into DIR (prompts,
# dataset, eval; prompteval.yaml, which defines the models, is the caller's): ROWS rows ×
# 2 prompts × the MODELS × REPEAT repeats × 4 assertions. Used by bench.sh and bench-cache.sh.
# Usage: scripts/bench-project.sh DIR ROWS REPEAT "MODEL, MODEL"
set -euo pipefail
work=$1
rows=$2
repeat=$3
models=$4
mkdir -p "$work/prompts/classify" "$work/datasets" "$work/evals"
printf 'Classify the sentiment of this review as positive or negative.\n\nReview: {{ review }}\nSentiment:' > "$work/prompts/classify/v1.jinja"
printf 'You label product reviews.\nExamples:\nReview: Love it.\nSentiment: positive\nReview: Broke in a day.\nSentiment: negative\n\nReview: {{ review }}\nSentiment:' > "$work/prompts/classify/v2.jinja"
python3 - "$work/datasets/reviews.csv" "$rows" <<'PY'
import csv, random, sys
random.seed(7)
words = "great terrible battery screen fast slow love hate cheap sturdy broke works fine awful".split()
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "review", "expected"])
    for i in range(int(sys.argv[2])):
        review = " ".join(random.choice(words) for _ in range(random.randint(8, 30)))
        w.writerow([f"r{i}", review, random.choice(["positive", "negative"])])
PY
cat > "$work/evals/bench.yaml" <<YAML
prompts: [classify@1, classify@2]
models: [$models]
dataset: datasets/reviews.csv
repeat: $repeat
assert:
  - type: contains
    value: "{{ review }}"
  - type: icontains
    value: sentiment
  - type: regex
    value: "Review: \\\\w+"
  - type: levenshtein
    value: "{{ expected }}"
    threshold: 0.1
gate:
  min_pass_rate: 0.0
YAML
