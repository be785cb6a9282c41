#!/usr/bin/env bash
# Local model benchmark: time to first token and decode tokens/s at 1, 4 and 16 concurrent
# requests through sluice-local's engine, next to a bare ONNX Runtime Python greedy loop on
# the same model, prompt and thread count, in the same run. Runs it for every decoder model
# folder in the models directory (a folder with a chat template and a causal-LM config), or
# for the folders given as arguments. Extra flags after `--` go to the benchmark
# (--max-tokens N, --threads T, --repeats R, --variant F).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SLUICE_MODELS_DIR=${SLUICE_MODELS_DIR:-$PWD/models}
dirs=()
extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
  dirs+=("$1"); shift
done
if [ ${#dirs[@]} -eq 0 ]; then
  for d in "$SLUICE_MODELS_DIR"/*/; do
    if grep -qs '"chat_template"' "$d/tokenizer_config.json" && grep -qs 'ForCausalLM' "$d/config.json"; then
      dirs+=("${d%/}")
    fi
  done
fi
for d in "${dirs[@]}"; do
  echo "== $d"
  cargo bench --locked -q -p sluice-local --bench decode -- --model "$d" "${extra[@]}"
done
