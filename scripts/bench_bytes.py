"""The physical limit of decoding: weights read per token against memory bandwidth.

- Memory bandwidth: a plain copy of a 512 MiB float32 array with numpy (bytes read + bytes
  written per second, best of 5), what the machine can stream from DRAM.
- Bytes read per decoded token, per ONNX file: the graph as ONNX Runtime runs it (optimised
  the way the engine's session is, constant folding included, so a weight expanded at load
  time counts at its expanded size), summing every initializer a matrix product reads.
  Tables only gathered from (the token embedding's rows) are left out: one row per token.
- The GGUF file's size: llama.cpp reads every weight once per token (its output layer is the
  Q8_0 embedding table).

Prints one JSON object; tokens/s upper bound = bandwidth / bytes per token.
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

READERS = {"MatMul", "MatMulNBits", "FusedMatMul", "Gemm", "MatMulInteger"}


def bandwidth():
    a = np.ones(512 * 1024 * 1024 // 4, np.float32)
    b = np.empty_like(a)
    np.copyto(b, a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(5))
    return 2 * a.nbytes / best


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def bytes_per_token(path):
    with tempfile.TemporaryDirectory() as d:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        so.optimized_model_filepath = os.path.join(d, "opt.onnx")
        so.add_session_config_entry("session.optimized_model_external_initializers_file_name", "opt.data")
        so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        m = onnx.load(so.optimized_model_filepath, load_external_data=False)
    inits = {}
    for t in m.graph.initializer:
        n = int(np.prod(t.dims)) if t.dims else 1
        inits[t.name] = n * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
    read = set()
    for node in m.graph.node:
        if node.op_type in READERS:
            read.update(i for i in node.input if i in inits)
    return sum(inits[n] for n in read)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", action="append", default=[])
    ap.add_argument("--gguf")
    args = ap.parse_args()
    out = {"bandwidth_bytes_per_s": bandwidth(), "onnx": {}}
    for p in args.onnx:
        out["onnx"][p] = {"file_bytes": os.path.getsize(p), "read_per_token": bytes_per_token(p)}
    if args.gguf:
        out["gguf"] = {"file_bytes": os.path.getsize(args.gguf), "read_per_token": os.path.getsize(args.gguf)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
