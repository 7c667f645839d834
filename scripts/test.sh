#!/usr/bin/env bash
# The whole test suite, the end-to-end tests on the real local model included: installs
# llama-server and Gemma 3 270M into ~/.cache/prompteval first if they are missing
# (10-15 minutes the first time, seconds after), then runs `cargo test`.
# Plain `cargo test` also works; it skips the real-model tests when the model is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-local-model.sh
scripts/setup-chromium.sh  # chromium (tests/report_html.rs) and xmllint (JUnit schema)
PROMPTEVAL_REQUIRE_LLAMA=1 PROMPTEVAL_REQUIRE_CHROMIUM=1 cargo test --locked "$@"
