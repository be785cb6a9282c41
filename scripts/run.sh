#!/usr/bin/env bash
# Sets up and runs the gateway (release build). With no arguments it serves the embedded
# default config on 127.0.0.1:8080; any arguments go to `sluice serve`
# (e.g. --config config/default.yaml --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --locked --release -p sluice-gateway --bin sluice -- serve "$@"
