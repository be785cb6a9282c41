#!/usr/bin/env bash
# Soak test: a fixed request rate (open loop), half streaming, through the release gateway
# (with a virtual key, rate limit and budget in the path) against the mock upstream, for 10
# minutes by default, recording errors, latency percentiles and the gateway's RSS every 10 s.
# Fails if any request fails or RSS grows more than 10% after warm-up.
#   scripts/soak.sh [--rate 200] [--duration 600] [--warmup 60]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked --release -p sluice-gateway --bin sluice -p sluice-testkit --bin sluice-soak
exec target/release/sluice-soak --sluice target/release/sluice "$@"
