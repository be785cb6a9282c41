#!/usr/bin/env python3
"""Writes a logistic-regression router head as ONNX: score = sigmoid(embedding @ w + b).

Input `embedding` float32 [N, dim]; output `score` float32 [N, 1], the probability that the
weak model's answer is not good enough. This is the contract of the `learned` head that
`router.heads` loads (any ONNX file meeting it works).

  write_linear_head.py --weights weights.json --out head.onnx
where weights.json is {"w": [dim floats], "b": float}.
"""
import argparse
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(w, b):
    w = np.asarray(w, dtype=np.float32).reshape(-1, 1)
    dim = w.shape[0]
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["embedding", "W"], ["logit0"]),
            helper.make_node("Add", ["logit0", "B"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["score"]),
        ],
        "sluice_linear_head",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=[
            numpy_helper.from_array(w, "W"),
            numpy_helper.from_array(np.asarray([b], dtype=np.float32), "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sluice")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, help='JSON file {"w": [...], "b": float}')
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.weights) as f:
        spec = json.load(f)
    onnx.save(build(spec["w"], float(spec["b"])), a.out)


if __name__ == "__main__":
    main()
