#!/usr/bin/env bash
# Fuzzes request parsing, the SSE scanner, config loading, the stream relay and the
# protocol translators (Messages, Responses) with
# cargo-fuzz (libFuzzer, nightly Rust) for a bounded time per target:
# scripts/fuzz.sh [SECONDS] [TARGET...] (default 60 s, all five). Not part of CI's default
# path; the parsing properties also run as proptest cases in `cargo test`
# (crates/sluice-api/tests). Crashing inputs are left in fuzz/artifacts/<target>/; the
# config target starts from the shipped configs (config/*.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse_request sse_scanner config_load stream_relay translate)
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/config_load
cp -n config/*.yaml fuzz/corpus/config_load/ 2>/dev/null || true
for target in "${targets[@]}"; do
  echo "== $target (${secs}s)"
  cargo +nightly fuzz run -O "$target" -- -max_total_time="$secs" -max_len=4096 -print_final_stats=1
done
