#!/usr/bin/env bash
# Idempotent set-up for running and testing Sluice on a fresh Debian machine with a Rust
# toolchain and python3: creates ./.venv with the pinned Python dependencies. Safe to run
# again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install a Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi

# Debian packages the tests use: a real Prometheus (and promtool) for the dashboard and
# alert-rule tests, redis-server for the shared rate-limit and budget tests, and a TrueType
# font for the evals plots, PostgreSQL for the outcome store's tests (each test runs its own
# throwaway cluster; the system one is left stopped), and Chromium with its WebDriver for the
# review page's browser test.
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${need[*]} (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: please install the Debian packages: ${need[*]}" >&2
    exit 1
  fi
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum scripts/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  echo "$want" > "$stamp"
fi

# Models: ./models (or $SLUICE_MODELS_DIR) must hold the model folders the config names.
# A local mirror is used when given ($SLUICE_MODELS_MIRROR) or present (../shared/models);
# otherwise `sluice models pull` downloads them from the Hugging Face hub.
models=${SLUICE_MODELS_DIR:-models}
mirror=${SLUICE_MODELS_MIRROR:-}
[ -z "$mirror" ] && [ -d ../shared/models ] && mirror=$(cd ../shared/models && pwd)
if [ ! -e "$models" ] && [ -n "$mirror" ]; then
  echo "setup: linking $models -> $mirror" >&2
  ln -s "$mirror" "$models"
elif [ ! -e "$models" ]; then
  echo "setup: no local model mirror; fetching the default config's models from the Hugging Face hub" >&2
  SLUICE_MODELS_DIR="$models" cargo run --locked -q -p sluice-gateway --bin sluice -- models pull
fi

# The router's default embedder is a static token-embedding table distilled from the
# MiniLM model above (scripts/distill_static.py, ~20 s); it is derived, so it lives in the
# cache folder beside the models (SLUICE_CACHE_DIR), never in the models mirror. Delete the
# folder to rebuild it.
cache=${SLUICE_CACHE_DIR:-$(dirname "$models")/.cache}
static="$cache/all-MiniLM-L6-v2-static"
if [ ! -f "$static/embeddings.safetensors" ]; then
  echo "setup: distilling the static router embedder into $static" >&2
  .venv/bin/python scripts/distill_static.py --model "$models/all-MiniLM-L6-v2" --out "$static" >&2
fi

# The local model's served file keeps SmolLM2's tied output layer 8-bit instead of letting
# ONNX Runtime expand it to fp32 (scripts/derive_local_model.py, ~20 s): derived from the
# mirror's model_q4_1_exact.onnx into the cache folder, with links to the model's metadata.
local="$cache/smollm2-135m-instruct"
if [ -f "$models/smollm2-135m-instruct/onnx/model_q4_1_exact.onnx" ] \
   && [ ! -f "$local/onnx/model_q4_1_q8head.onnx" ]; then
  echo "setup: deriving the local model's 8-bit-head variant into $local" >&2
  .venv/bin/python scripts/derive_local_model.py --model "$models/smollm2-135m-instruct" \
    --dest "$local" --check >&2
fi
