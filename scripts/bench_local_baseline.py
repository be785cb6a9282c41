"""Bare ONNX Runtime greedy loop: the baseline `cargo bench -p sluice-local --bench decode`
runs next to Sluice's engine, on the same model, prompt tokens and thread count.

Prefill the prompt with an empty past, then one token per step feeding `present.*` back as
`past_key_values.*`, greedy (argmax), stopping at EOS or after --max-tokens. Prints one JSON
object: median time to first token, median decode tokens/s (after the first token) and the
tokens generated.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort


def find_model(folder, variant):
    for p in (os.path.join(folder, variant), os.path.join(folder, "onnx", variant)):
        if os.path.isfile(p):
            return p
    raise SystemExit(f"no {variant} in {folder} or {folder}/onnx")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--variant", default="model.onnx")
    ap.add_argument("--prompt-ids", required=True, help="comma-separated token ids")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    layers = cfg["num_hidden_layers"]
    kv_heads = cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    eos = cfg.get("eos_token_id")
    eos = set(eos if isinstance(eos, list) else [eos])

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(find_model(args.model, args.variant), so, providers=["CPUExecutionProvider"])
    input_names = {i.name for i in sess.get_inputs()}
    out_names = [o.name for o in sess.get_outputs()]
    past_names = [n.replace("present.", "past_key_values.") for n in out_names[1:]]
    prompt = np.array([[int(t) for t in args.prompt_ids.split(",")]], dtype=np.int64)

    def run_once():
        past = {
            f"past_key_values.{i}.{kind}": np.zeros((1, kv_heads, 0, head_dim), dtype=np.float32)
            for i in range(layers)
            for kind in ("key", "value")
        }
        ids = prompt
        total = prompt.shape[1]
        tokens = []
        start = time.perf_counter()
        first = None
        while True:
            feed = {"input_ids": ids, "attention_mask": np.ones((1, total), dtype=np.int64), **past}
            if "position_ids" in input_names:
                feed["position_ids"] = np.arange(total - ids.shape[1], total, dtype=np.int64)[None, :]
            if "logits_to_keep" in input_names:
                feed["logits_to_keep"] = np.array([1], dtype=np.int64)
            out = sess.run(None, feed)
            logits = out[0]
            nxt = int(np.argmax(logits[0, -1]))
            if first is None:
                first = time.perf_counter()
            if nxt in eos:
                break
            tokens.append(nxt)
            if len(tokens) >= args.max_tokens:
                break
            for name, value in zip(past_names, out[1:]):
                past[name] = value
            ids = np.array([[nxt]], dtype=np.int64)
            total += 1
        end = time.perf_counter()
        decode = (len(tokens) - 1) / (end - first) if len(tokens) > 1 else 0.0
        return (first - start) * 1000.0, decode, tokens

    run_once()  # warm-up
    runs = [run_once() for _ in range(args.repeats)]
    print(json.dumps({
        "ttft_ms": statistics.median(r[0] for r in runs),
        "decode_tps": statistics.median(r[1] for r in runs),
        "tokens": runs[0][2],
    }))


if __name__ == "__main__":
    main()
