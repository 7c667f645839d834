#!/usr/bin/env bash
# Installs the tools the report tests use, from Debian's packages, when they are missing:
#   chromium          a real headless browser for tests/integration/report_html.rs
#   xmllint           (libxml2-utils) validates the JUnit report against its XSD
# Idempotent: when both are present it exits at once. Needs root (or sudo) to install.
set -euo pipefail

say() { echo "setup-chromium: $*" >&2; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)

if [ ${#missing[@]} -eq 0 ]; then
  say "ready: $(command -v chromium), $(command -v xmllint)"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    say "need root to install ${missing[*]} (apt-get install -y ${missing[*]})"
    exit 1
  fi
fi

say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
say "ready: $(command -v chromium), $(command -v xmllint)"
