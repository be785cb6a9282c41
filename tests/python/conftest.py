"""Fixtures that run the real gateway and the mock upstream as processes.

The binaries come from `cargo build --workspace --bins` (scripts/test.sh does that first).
"""
import json
import os
import pathlib
import re
import subprocess
import tempfile
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"


class Proc:
    def __init__(self, args, ready, env=None):
        self.lines = []
        self.proc = subprocess.Popen(
            args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True, env={**os.environ, **(env or {})},
        )
        found = threading.Event()
        self.match = None

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line)
                if not found.is_set():
                    m = ready(line)
                    if m:
                        self.match = m
                        found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(20):
            self.stop()
            raise RuntimeError(f"{args[0]} did not start:\n{''.join(self.lines)}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _mock_ready(line):
    m = re.search(r"listening on (\S+)", line)
    return m.group(1) if m else None


def _gateway_ready(line):
    try:
        v = json.loads(line)
    except ValueError:
        return None
    f = v.get("fields", {})
    return f.get("addr") if f.get("message") == "listening" else None


@pytest.fixture(scope="session")
def mock_addr():
    p = Proc([str(TARGET / "sluice-mock-upstream"), "--listen", "127.0.0.1:0"], _mock_ready)
    yield p.match
    p.stop()


@pytest.fixture(scope="session")
def gateway(mock_addr):
    cfg = f"""
providers:
  mock:
    base_url: http://{mock_addr}/v1
    api_key_env: MOCK_UPSTREAM_KEY
    max_retries: 1
    retry_initial_backoff: 10ms
  anth:
    kind: anthropic
    base_url: http://{mock_addr}/v1
    api_key_env: MOCK_UPSTREAM_KEY
    max_retries: 0
  here: {{ kind: local, model: smollm2-135m-instruct, variant: model_q4_1_q8head.onnx, threads: 2 }}
models:
  claude: {{ provider: anth, upstream_model: claude-sonnet-4-5 }}
  smol: {{ provider: here }}
  small: {{ provider: mock, upstream_model: small-2024 }}
  big: {{ provider: mock, upstream_model: big-2024 }}
policies:
  auto: {{ target: small, fallbacks: [big], baseline: big }}
router:
  embedder: {{ model: all-MiniLM-L6-v2, variant: model.onnx, workers: 1 }}
"""
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "sluice.yaml"
        path.write_text(cfg)
        p = Proc(
            [str(TARGET / "sluice"), "serve", "--config", str(path), "--listen", "127.0.0.1:0",
             "--metrics-listen", "127.0.0.1:0",
             "--log-format", "json"],
            _gateway_ready,
            env={"MOCK_UPSTREAM_KEY": "sk-upstream"},
        )
        yield f"http://{p.match}/v1"
        p.stop()
