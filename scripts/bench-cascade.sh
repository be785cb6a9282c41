#!/usr/bin/env bash
# The cascade's latency next to the local model and the strong model alone, in one run
# (scripts/bench_cascade.py says what is measured). Extra arguments go to the script
# (--prompts N, --max-tokens N, --decide-at N, --max-draft-ms MS).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked --release -p sluice-gateway -p sluice-testkit --bins
exec .venv/bin/python scripts/bench_cascade.py "$@"
