"""Quality and batch-invariance of local model ONNX files, side by side.

For each file: mean negative log-likelihood (and perplexity) of the first 1,024 tokens of
Debian's Apache License 2.0 text in one forward pass, top-1 agreement with the first file,
the greedy answer to "What is the capital of France?" (the model's first reference prompt,
12 tokens), and the largest logit difference between a left-padded batch of two prompts and
each prompt alone (0 up to float rounding when rows do not affect each other).

Usage: .venv/bin/python scripts/check_local_variants.py --model DIR FILE.onnx [FILE.onnx ...]
(the README's figures: the mirror's model_q4_1_exact.onnx, the default
.cache/smollm2-135m-instruct/onnx/model_q4_1_q8head.onnx and the --int8-activations one).
"""

import argparse
import json
import os

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

TEXT = "/usr/share/common-licenses/Apache-2.0"


class Model:
    def __init__(self, path, cfg):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        self.s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.names = {i.name for i in self.s.get_inputs()}
        self.layers = cfg["num_hidden_layers"]
        self.kv = cfg.get("num_key_value_heads", cfg["num_attention_heads"])
        self.hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]

    def logits(self, rows, keep_all):
        """Last-position (or all) logits of left-padded `rows` of token ids, empty past."""
        t = max(len(r) for r in rows)
        ids = np.array([[2] * (t - len(r)) + r for r in rows], np.int64)
        mask = np.array([[0] * (t - len(r)) + [1] * len(r) for r in rows], np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "position_ids" in self.names:
            feed["position_ids"] = np.maximum(np.cumsum(mask, 1) - 1, 0)
        if "logits_to_keep" in self.names:
            feed["logits_to_keep"] = np.array([0 if keep_all else 1], np.int64)
        for i in range(self.layers):
            for k in ("key", "value"):
                feed[f"past_key_values.{i}.{k}"] = np.zeros((len(rows), self.kv, 0, self.hd), np.float32)
        out = self.s.run(["logits"], feed)[0]
        return out if keep_all else out[:, -1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="model folder (config, tokenizer, verification.json)")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.model, "verification.json")) as f:
        prompts = [p["ids"] for p in json.load(f)["prompts"]]
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    with open(TEXT) as f:
        text_ids = tok.encode(f.read()).ids[:1024]
    reference = None
    for path in args.files:
        m = Model(path, cfg)
        lg = m.logits([text_ids], keep_all=True)[0].astype(np.float64)
        top = lg.max(-1, keepdims=True)
        logp = lg - top - np.log(np.exp(lg - top).sum(-1, keepdims=True))
        nll = -logp[np.arange(len(text_ids) - 1), text_ids[1:]].mean()
        argmax = lg.argmax(-1)
        reference = argmax if reference is None else reference
        answer = []
        for _ in range(12):
            answer.append(int(m.logits([prompts[0] + answer], keep_all=False)[0].argmax()))
        a, b = prompts[0], prompts[1] + [198] * 5
        alone = np.stack([m.logits([a], False)[0], m.logits([b], False)[0]])
        both = m.logits([a, b], False)
        print(json.dumps({
            "file": path,
            "mean_nll": round(float(nll), 4),
            "perplexity": round(float(np.exp(nll)), 3),
            "top1_agreement_with_first": round(float((argmax == reference).mean()), 4),
            "france_greedy": tok.decode(answer),
            "batched_vs_alone_max_abs_diff": float(np.abs(alone - both).max()),
            "batched_argmax_equal": bool((alone.argmax(-1) == both.argmax(-1)).all()),
        }))


if __name__ == "__main__":
    main()
