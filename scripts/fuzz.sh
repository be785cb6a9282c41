#!/usr/bin/env bash
# Fuzzes request parsing and the SSE scanner with cargo-fuzz (libFuzzer, nightly Rust) for a
# bounded time per target: scripts/fuzz.sh [SECONDS] (default 60). Not part of CI's default
# path; the same properties run as proptest cases in `cargo test` (crates/sluice-api/tests).
# Crashing inputs are left in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in parse_request sse_scanner; do
  echo "== $target (${secs}s)"
  cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -max_len=4096
done
