#!/usr/bin/env bash
# Sets up and runs the whole test suite: Rust unit and integration tests (which start the
# real binary against mock upstreams on loopback), then the Python tests that drive the
# gateway with the official `openai` SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SLUICE_MODELS_DIR=${SLUICE_MODELS_DIR:-$PWD/models}

cargo build --locked --workspace --bins
cargo test --locked --workspace
.venv/bin/python -m pytest -q tests/python
