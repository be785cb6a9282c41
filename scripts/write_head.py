#!/usr/bin/env python3
"""Writes a router head as an ONNX classifier.

Contract (what `router.heads` loads): input `embedding` float32 [N, dim]; output `score`
float32 [N, 1], the probability that the weak model's answer is not good enough. A spec with
"features" (`{"version", "names", "mu", "sd"}`) adds a second input `features` float32
[N, F] (the raw prompt features of sluice_router::features), standardised inside the graph
and concatenated after the embedding; the version is recorded as the model metadata
`sluice.features`, which the gateway checks against its own feature definition.

  write_head.py --weights spec.json --out head.onnx

spec.json is what `sluice-evals train` writes next to the head:
  {"kind": "logistic", "w": [dim], "b": float}                    sigmoid(e.w + b)
  {"kind": "mlp", "w1": [[dim] x H], "b1": [H], "w2": [H], "b2": float}
                                                                  sigmoid(relu(e.W1^T + b1).w2 + b2)
  {"kind": "knn", "x": [[dim] x M], "y": [M], "k": int}           mean label of the k most
                                                                  cosine-similar rows
  {"kind": "ensemble", "members": [spec, ...]}                    mean of the members' scores
A spec without "kind" is logistic.
"""
import argparse
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def f32(a):
    return np.asarray(a, dtype=np.float32)


def logistic(spec):
    w = f32(spec["w"]).reshape(-1, 1)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["z0"]),
        helper.make_node("Add", ["z0", "B"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["score"]),
    ]
    return w.shape[0], nodes, [numpy_helper.from_array(w, "W"), numpy_helper.from_array(f32([spec["b"]]), "B")]


def mlp(spec):
    w1 = f32(spec["w1"]).T  # [dim, H]
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h0"]),
        helper.make_node("Add", ["h0", "B1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "W2"], ["z0"]),
        helper.make_node("Add", ["z0", "B2"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["score"]),
    ]
    inits = [
        numpy_helper.from_array(w1, "W1"),
        numpy_helper.from_array(f32(spec["b1"]), "B1"),
        numpy_helper.from_array(f32(spec["w2"]).reshape(-1, 1), "W2"),
        numpy_helper.from_array(f32([spec["b2"]]), "B2"),
    ]
    return w1.shape[0], nodes, inits


def knn(spec):
    x = f32(spec["x"]).T  # [dim, M]
    nodes = [
        helper.make_node("MatMul", ["x", "X"], ["sims"]),
        helper.make_node("TopK", ["sims", "K"], ["top", "idx"], axis=1),
        helper.make_node("Gather", ["Y", "idx"], ["labels"], axis=0),
        helper.make_node("ReduceMean", ["labels"], ["score"], axes=[1], keepdims=1),
    ]
    inits = [
        numpy_helper.from_array(x, "X"),
        numpy_helper.from_array(f32(spec["y"]), "Y"),
        numpy_helper.from_array(np.asarray([int(spec["k"])], dtype=np.int64), "K"),
    ]
    return x.shape[0], nodes, inits


def prefixed(spec, p):
    """A member head's graph with every name but the input `x` prefixed by `p`."""
    dim, nodes, inits = KINDS[spec.get("kind", "logistic")](spec)
    ren = lambda n: n if n == "x" else p + n
    for node in nodes:
        ins, outs = [ren(i) for i in node.input], [ren(o) for o in node.output]
        del node.input[:]
        node.input.extend(ins)
        del node.output[:]
        node.output.extend(outs)
    for t in inits:
        t.name = p + t.name
    return dim, nodes, inits


def ensemble(spec):
    nodes, inits, outs, dims = [], [], [], set()
    for i, member in enumerate(spec["members"]):
        d, n, t = prefixed(member, f"m{i}_")
        dims.add(d)
        nodes += n
        inits += t
        outs.append(f"m{i}_score")
    assert len(dims) == 1, f"ensemble members disagree on the input width: {dims}"
    nodes.append(helper.make_node("Mean", outs, ["score"]))
    return dims.pop(), nodes, inits


KINDS = {"logistic": logistic, "mlp": mlp, "knn": knn, "ensemble": ensemble}


def build(spec):
    kind = spec.get("kind", "logistic")
    dim, nodes, inits = KINDS[kind](spec)
    feats = spec.get("features")
    if feats:
        emb_dim = int(spec["emb_dim"])
        nf = len(feats["mu"])
        assert emb_dim + nf == dim, f"head width {dim} != embedding {emb_dim} + {nf} features"
        inputs = [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", emb_dim]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", nf]),
        ]
        pre = [
            helper.make_node("Sub", ["features", "MU"], ["fc"]),
            helper.make_node("Div", ["fc", "SD"], ["fz"]),
            helper.make_node("Concat", ["embedding", "fz"], ["x"], axis=1),
        ]
        inits = inits + [numpy_helper.from_array(f32(feats["mu"]), "MU"), numpy_helper.from_array(f32(feats["sd"]), "SD")]
    else:
        inputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])]
        pre = [helper.make_node("Identity", ["embedding"], ["x"])]
    graph = helper.make_graph(
        pre + nodes,
        f"sluice_{kind}_head",
        inputs,
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=inits,
    )
    # Opset 17: ReduceMean still takes `axes` as an attribute there.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sluice")
    model.ir_version = 8
    if feats:
        onnx.helper.set_model_props(model, {"sluice.features": feats["version"], "sluice.feature_names": ",".join(feats.get("names", []))})
    onnx.checker.check_model(model)
    return model


def main(build_model=build, doc=__doc__):
    """`--weights spec.json --out head.onnx`; other head writers pass their own builder."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, help="JSON head spec")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.weights) as f:
        spec = json.load(f)
    onnx.save(build_model(spec), a.out)


if __name__ == "__main__":
    main()
