#!/usr/bin/env python3
"""Writes a cascade escalation head as an ONNX classifier.

Contract (what `sluice_local::escalation::EscalationHead` loads): input `signals` float32
[N, F] (the local model's confidence signals, sluice_local::signals::FEATURE_NAMES order),
standardised inside the graph; optional input `embedding` float32 [N, D] (the router's
embedding of the prompt), concatenated after them; output `score` float32 [N, 1], the
probability that the local answer is not good enough. Metadata: `sluice.signals` (the
signal definition's version, checked at load) and `sluice.decide_at` (the decision point,
in generated tokens, the head was trained for).

  write_escalation_head.py --weights spec.json --out head.onnx

spec.json is what `sluice-evals cascade-train` writes next to the head: a logistic or MLP
spec as scripts/write_head.py reads them, plus
  "signals": {"version", "names", "mu", "sd"}, "emb_dim": D (0: no embedding input),
  "decide_at_tokens": n
"""
import os
import sys

import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from write_head import KINDS, f32, main as write_main  # noqa: E402


def build(spec):
    kind = spec.get("kind", "logistic")
    dim, nodes, inits = KINDS[kind](spec)
    sig = spec["signals"]
    nf = len(sig["mu"])
    emb_dim = int(spec.get("emb_dim", 0))
    assert nf + emb_dim == dim, f"head width {dim} != {nf} signals + {emb_dim} embedding"
    inputs = [helper.make_tensor_value_info("signals", TensorProto.FLOAT, ["N", nf])]
    pre = [
        helper.make_node("Sub", ["signals", "MU"], ["sc"]),
        helper.make_node("Div", ["sc", "SD"], ["sz"]),
    ]
    inits = inits + [numpy_helper.from_array(f32(sig["mu"]), "MU"), numpy_helper.from_array(f32(sig["sd"]), "SD")]
    if emb_dim:
        inputs.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", emb_dim]))
        pre.append(helper.make_node("Concat", ["sz", "embedding"], ["x"], axis=1))
    else:
        pre.append(helper.make_node("Identity", ["sz"], ["x"]))
    graph = helper.make_graph(
        pre + nodes,
        f"sluice_escalation_{kind}",
        inputs,
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sluice")
    model.ir_version = 8
    helper.set_model_props(
        model,
        {
            "sluice.signals": sig["version"],
            "sluice.signal_names": ",".join(sig.get("names", [])),
            "sluice.decide_at": str(int(spec.get("decide_at_tokens", 0))),
        },
    )
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    write_main(build, __doc__)
