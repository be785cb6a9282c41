#!/usr/bin/env python3
"""What the cascade costs in latency, side by side in one run.

Starts the mock upstream and the gateway (release binaries) with the served SmolLM2 and
four ways to answer each prompt, alternated prompt by prompt:
  direct-local   model `small` (the local model on its own)
  accepted       a cascade whose head always keeps the draft
  escalated      a cascade whose head always escalates to `strong` (the mock)
  direct-strong  model `strong` (the mock on its own)
Accepted requests should take what direct-local takes; escalated requests what
direct-strong takes plus the draft (at most max_draft_ms). Each non-streamed and streamed
(time to first content token). Prompts come from evals/data/checkable.jsonl.

  scripts/bench-cascade.sh [--prompts N] [--decide-at 8] [--max-draft-ms 150]
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from write_escalation_head import build  # noqa: E402
import onnx  # noqa: E402

NAMES = [
    "prompt_mean_logprob", "log_prompt_tokens", "log_tokens", "mean_logprob", "min_logprob",
    "low_logprob", "first_logprob", "mean_entropy", "max_entropy", "mean_margin", "min_margin",
    "novel_mean_logprob", "novel_min_logprob", "novel_share", "stopped",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def head(path, bias, decide_at):
    spec = {"kind": "logistic", "w": [0.0] * len(NAMES), "b": bias,
            "signals": {"version": "signals-v2", "names": NAMES, "mu": [0.0] * len(NAMES), "sd": [1.0] * len(NAMES)},
            "emb_dim": 0, "decide_at_tokens": decide_at}
    onnx.save(build(spec), path)


def wait_http(port, path, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def ask(port, model, prompt, stream, max_tokens):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}],
                       "max_tokens": max_tokens, "temperature": 0, "stream": stream}).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    r = c.getresponse()
    route = r.getheader("x-sluice-route")
    if not stream:
        r.read()
        return time.perf_counter() - start, None, route
    first = None
    while True:
        line = r.readline()
        if not line:
            break
        if first is None and line.startswith(b"data: {"):
            delta = json.loads(line[6:])["choices"]
            if delta and delta[0].get("delta", {}).get("content"):
                first = time.perf_counter() - start
    return time.perf_counter() - start, first, route


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=40)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--decide-at", type=int, default=8)
    ap.add_argument("--max-draft-ms", type=int, default=150)
    ap.add_argument("--sluice", default=os.path.join(ROOT, "target/release/sluice"))
    ap.add_argument("--mock", default=os.path.join(ROOT, "target/release/sluice-mock-upstream"))
    a = ap.parse_args()

    cache = os.environ.get("SLUICE_CACHE_DIR") or os.path.join(ROOT, ".cache")
    model = os.path.join(cache, "smollm2-135m-instruct")
    items = [json.loads(l) for l in open(os.path.join(ROOT, "evals/data/checkable.jsonl"))]
    step = max(1, len(items) // a.prompts)
    prompts = [i["prompt"] for i in items[::step][: a.prompts]]

    tmp = tempfile.mkdtemp(prefix="sluice-bench-cascade-")
    head(os.path.join(tmp, "keep.onnx"), -12.0, a.decide_at)
    head(os.path.join(tmp, "escalate.onnx"), 12.0, a.decide_at)
    mock_port, port, mport = free_port(), free_port(), free_port()
    cfg = f"""
providers:
  up: {{ base_url: "http://127.0.0.1:{mock_port}/v1", max_retries: 0 }}
  here: {{ kind: local, model: {model}, variant: model_q4_1_q8head.onnx, max_batch: 1, prefix_cache_mib: 0 }}
models:
  small: {{ provider: here }}
  strong: {{ provider: up }}
policies:
  accepted:
    strategy: cascade
    target: small
    strong: strong
    threshold: 0.5
    cascade: {{ head: keep.onnx, decide_at: {a.decide_at}, max_draft_ms: {a.max_draft_ms} }}
  escalated:
    strategy: cascade
    target: small
    strong: strong
    threshold: 0.5
    cascade: {{ head: escalate.onnx, decide_at: {a.decide_at}, max_draft_ms: {a.max_draft_ms} }}
"""
    cfg_path = os.path.join(tmp, "sluice.yaml")
    open(cfg_path, "w").write(cfg)
    procs = [subprocess.Popen([a.mock, "--listen", f"127.0.0.1:{mock_port}"], stderr=subprocess.DEVNULL)]
    procs.append(subprocess.Popen([a.sluice, "serve", "--config", cfg_path, "--listen", f"127.0.0.1:{port}",
                                   "--metrics-listen", f"127.0.0.1:{mport}"], stderr=subprocess.DEVNULL))
    try:
        wait_http(port, "/readyz")
        ways = [("direct-local", "small"), ("accepted", "accepted"), ("escalated", "escalated"), ("direct-strong", "strong")]
        for w, m in ways:  # warm up
            ask(port, m, prompts[0], False, a.max_tokens)
        total = {w: [] for w, _ in ways}
        ttft = {w: [] for w, _ in ways}
        routes = {w: [] for w, _ in ways}
        for p in prompts:
            for w, m in ways:
                t, _, r = ask(port, m, p, False, a.max_tokens)
                total[w].append(t * 1e3)
                routes[w].append(r)
                _, f, _ = ask(port, m, p, True, a.max_tokens)
                if f is not None:
                    ttft[w].append(f * 1e3)
        assert set(routes["escalated"]) == {"strong"}, routes
        # An "accepted" draft that did not reach its decision point within max_draft_ms
        # is escalated all the same: counted, and left out of the accepted figures.
        timed_out = [i for i, r in enumerate(routes["accepted"]) if r != "small"]
        if timed_out:
            print(f"\n{len(timed_out)} of {len(prompts)} always-keep drafts hit max_draft_ms ({a.max_draft_ms} ms) and were escalated")
            keep = [i for i in range(len(prompts)) if i not in timed_out]
            for w, _ in ways:
                total[w] = [total[w][i] for i in keep] if w in ("accepted", "direct-local") else total[w]
        print(f"\n{len(prompts)} prompts, max_tokens {a.max_tokens}, decide_at {a.decide_at}, max_draft_ms {a.max_draft_ms}; "
              f"alternated prompt by prompt; milliseconds\n")
        print("| way | total p50 | total p95 | TTFT p50 (stream) | TTFT p95 |")
        print("|---|---:|---:|---:|---:|")
        for w, _ in ways:
            print(f"| {w} | {pct(total[w], .5):.1f} | {pct(total[w], .95):.1f} | {pct(ttft[w], .5):.1f} | {pct(ttft[w], .95):.1f} |")
        d = [x - y for x, y in zip(total["accepted"], total["direct-local"])]
        e = [x - y for x, y in zip(total["escalated"], total["direct-strong"])]
        print(f"\naccepted − direct-local, per prompt: median {statistics.median(d):+.1f} ms (p95 {pct(d, .95):+.1f}); "
              f"total p50 ratio {pct(total['accepted'], .5) / pct(total['direct-local'], .5):.3f}")
        print(f"escalated − direct-strong, per prompt (the draft's cost): median {statistics.median(e):+.1f} ms, "
              f"p95 {pct(e, .95):+.1f}, max {max(e):+.1f} (max_draft_ms {a.max_draft_ms})")
    finally:
        for p in procs:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
