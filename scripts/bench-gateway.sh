#!/usr/bin/env bash
# The gateway's added latency and throughput against the mock upstream called directly, at
# concurrency 1 and 64, non-streaming, static policy. Extra arguments go to sluice-bench
# (--requests N, --rounds N, --concurrency 1,8,64, --json FILE, --learned EMBEDDER_DIR to
# route every request with the learned head: .cache/all-MiniLM-L6-v2-static is the default).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -p sluice-gateway -p sluice-testkit --bins
exec target/release/sluice-bench --sluice target/release/sluice "$@"
