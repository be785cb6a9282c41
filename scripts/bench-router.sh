#!/usr/bin/env bash
# Router benchmarks: one decision vs a bare session.run (criterion), and decisions/s at
# 1, 8, 64 clients batched vs one-at-a-time. Needs scripts/setup.sh (ONNX Runtime, models).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SLUICE_MODELS_DIR=${SLUICE_MODELS_DIR:-$PWD/models}
cargo bench --locked -p sluice-router --bench decision -- "$@"
cargo bench --locked -p sluice-router --bench throughput
