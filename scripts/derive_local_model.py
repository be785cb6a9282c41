"""Derives the local model Sluice serves by default from the mirror's SmolLM2 file.

`model_q4_1_exact.onnx` (in ../shared/models/smollm2-135m-instruct/onnx) keeps the GGUF's
Q4_1 projections 4-bit, but its tied LM head is a constant sub-graph
(Cast(int8) -> Mul(scale) -> Reshape -> Transpose) that ONNX Runtime folds to an fp32
[576, 49152] matrix when the session is created: 113 MB read for every decoded token, more
than the 30 layers together. This script rewrites that head, losslessly, as one weight-only
8-bit `com.microsoft.MatMulNBits` over the same Q8_0 blocks (w = d * q; q + 128 stored as
uint8 with the operator's default zero point 128), so the head reads 29 MB per token and
activations stay fp32 (batched rows stay independent of each other: no per-tensor
activation quantisation).

It also adds an int64 input `logits_to_keep` (shape [1], the
transformers convention): the LM head runs only on the last k positions, k = 0 meaning all.
A prompt of n tokens then costs one head product instead of n; callers that want the
prompt's own per-token log-likelihoods pass 0.

The output goes into the cache folder under the same model name, beside the other derived
models (`.cache/<model>/onnx/<out>`), with the model's metadata files linked, so the
gateway finds a complete model folder. Deterministic: the same input gives the same bytes.

Usage: derive_local_model.py --model DIR [--source model_q4_1_exact.onnx]
       [--out model_q4_1_q8head.onnx] --dest CACHE_DIR/<model> [--check]
"""

import argparse
import hashlib
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

METADATA = [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
]


def find(folder, name):
    for p in (os.path.join(folder, "onnx", name), os.path.join(folder, name)):
        if os.path.isfile(p):
            return p
    sys.exit(f"derive_local_model: no {name} in {folder} or {folder}/onnx")


def head_nodes(hidden, logits, V, nb, blk, rerank):
    """The LM head: int8 products for every token, then exact fp32 logits for the best few.

    ONNX Runtime's weight-only 8-bit MatMulNBits is fast only with `accuracy_level` 4, which
    quantises the activations to int8 per block of 32 (as llama.cpp does): each logit is then
    off by a few hundredths, enough to flip a close greedy choice. So the `rerank` highest
    approximate logits are recomputed exactly (their Q8_0 rows gathered, dequantised, and
    dotted with the fp32 hidden state) and scattered back: greedy decoding and the top of the
    distribution are exact; the far tail keeps its int8 approximation. Every row of a batch
    is quantised on its own, so batching does not change any row's result.
    """
    mk = helper.make_node
    return [
        mk("Neg", ["logits_to_keep"], ["lm_head.slice_start"]),
        mk("Slice", [hidden, "lm_head.slice_start", "lm_head.slice_end", "lm_head.slice_axis"], ["lm_head.h"]),
        mk("MatMulNBits", ["lm_head.h", "lm_head.q8u", "lm_head.scale"], ["lm_head.approx"],
           domain="com.microsoft", K=nb * blk, N=V, bits=8, block_size=blk, accuracy_level=4,
           name="lm_head/MatMulNBits"),
        mk("TopK", ["lm_head.approx", "lm_head.rerank"], ["lm_head.top_v", "lm_head.top_i"], axis=-1),
        mk("Gather", ["lm_head.q8u", "lm_head.top_i"], ["lm_head.rows_u"], axis=0),
        mk("Cast", ["lm_head.rows_u"], ["lm_head.rows_uf"], to=TensorProto.FLOAT),
        mk("Sub", ["lm_head.rows_uf", "lm_head.zero_point"], ["lm_head.rows_q"]),
        mk("Gather", ["embed.scale", "lm_head.top_i"], ["lm_head.rows_d"], axis=0),
        mk("Mul", ["lm_head.rows_q", "lm_head.rows_d"], ["lm_head.rows_w"]),
        mk("Reshape", ["lm_head.rows_w", "lm_head.rows_shape"], ["lm_head.rows"]),
        mk("Unsqueeze", ["lm_head.h", "lm_head.axis2"], ["lm_head.h1"]),
        mk("Mul", ["lm_head.rows", "lm_head.h1"], ["lm_head.prod"]),
        mk("ReduceSum", ["lm_head.prod", "lm_head.axis_last"], ["lm_head.exact"], keepdims=0),
        mk("ScatterElements", ["lm_head.approx", "lm_head.top_i", "lm_head.exact"], [logits], axis=-1),
    ]


def rewrite(model, rerank):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    if "embed.q8" not in inits or "embed.scale" not in inits:
        sys.exit("derive_local_model: expected the Q8_0 embedding 'embed.q8' + 'embed.scale' "
                 "(the layout make_smollm2_onnx.py writes for model_q4_1_exact.onnx)")
    # The LM head: MatMul(hidden, Transpose(embed)), `embed` being the folded constant chain.
    transpose = next((n for n in g.node if n.op_type == "Transpose" and n.input[0] == "embed"), None)
    head = transpose and next((n for n in g.node if n.op_type == "MatMul" and n.input[1] == transpose.output[0]), None)
    if head is None:
        sys.exit("derive_local_model: no LM head MatMul(hidden, Transpose(embed)) found")
    # Nodes are named by their first output (protobuf wrappers have no stable identity).
    drop = {"embed", "embed_f", "embed_deq", transpose.output[0], head.output[0]}
    head_out = head.output[0]

    q8 = numpy_helper.to_array(inits["embed.q8"])  # [V, nb, 32] int8
    d8 = numpy_helper.to_array(inits["embed.scale"])  # [V, nb, 1] f32
    V, nb, blk = q8.shape
    assert blk == 32 and q8.dtype == np.int8, (q8.shape, q8.dtype)
    # MatMulNBits, bits 8: w = scale * (u - 128) with the default zero point: exact for Q8_0.
    u8 = (q8.astype(np.int16) + 128).astype(np.uint8)
    new_inits = [
        numpy_helper.from_array(u8, "lm_head.q8u"),
        numpy_helper.from_array(d8.reshape(-1).astype(np.float32), "lm_head.scale"),
        numpy_helper.from_array(np.array([np.iinfo(np.int64).max], np.int64), "lm_head.slice_end"),
        numpy_helper.from_array(np.array([1], np.int64), "lm_head.slice_axis"),
        numpy_helper.from_array(np.array(128.0, np.float32), "lm_head.zero_point"),
        numpy_helper.from_array(np.array([0, 0, rerank, nb * blk], np.int64), "lm_head.rows_shape"),
        numpy_helper.from_array(np.array([2], np.int64), "lm_head.axis2"),
        numpy_helper.from_array(np.array([-1], np.int64), "lm_head.axis_last"),
        numpy_helper.from_array(np.array([rerank], np.int64), "lm_head.rerank"),
    ]
    hidden = head.input[0]
    nodes, gathered = [], {}
    for n in g.node:
        if n.output[0] in drop:
            if n.output[0] == head_out:
                nodes += head_nodes(hidden, head.output[0], V, nb, blk, rerank)
            continue
        if n.op_type == "Gather" and n.input[0] == "embed.q8":
            # The token embedding reads the same uint8 blocks (one copy of the table).
            n.input[0] = "lm_head.q8u"
            gathered[n.output[0]] = True
        elif n.op_type == "Cast" and n.input[0] in gathered:
            out = n.output[0]
            n.output[0] = out + "_u"
            nodes += [n, helper.make_node("Sub", [out + "_u", "lm_head.zero_point"], [out])]
            continue
        nodes.append(n)
    g.ClearField("node")
    g.node.extend(nodes)
    # embed.q8 and embed.shape were read only by what was replaced.
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    g.ClearField("initializer")
    g.initializer.extend(keep + new_inits)
    g.input.append(helper.make_tensor_value_info("logits_to_keep", TensorProto.INT64, [1]))
    for o in g.output:
        if o.name == "logits":
            dims = o.type.tensor_type.shape.dim
            dims[1].ClearField("dim_value")
            dims[1].dim_param = "kept_sequence_length"
    return model


def fuse_shared_inputs(model, int8_activations):
    """One MatMulNBits per input instead of one per projection: q/k/v read the same normed
    hidden state, so do gate/up. Their 4-bit blocks, scales and Q4_1 offset terms are
    concatenated along N and the product split back: the same arithmetic per output column,
    ~7 fewer nodes per layer for ONNX Runtime to dispatch on every token."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    groups = {}
    for n in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "MatMulNBits" and attrs.get("bits") == 4:
            groups.setdefault(n.input[0], []).append((n, attrs))
    drop_nodes, drop_inits, new_nodes, new_inits = set(), set(), [], []
    for a, members in groups.items():
        parts = []
        for n, attrs in members:
            adds = [c for c in consumers.get(n.output[0], []) if c.op_type == "Add"]
            assert len(adds) == 1, n.output[0]
            add = adds[0]
            corr = producer[add.input[1]]
            assert corr.op_type == "MatMul", corr.op_type
            parts.append(dict(nbits=n, attrs=attrs, add=add, corr=corr))
        if len(parts) == 1:
            if int8_activations:
                parts[0]["nbits"].attribute.append(helper.make_attribute("accuracy_level", 4))
            continue
        q4 = [numpy_helper.to_array(inits[p["nbits"].input[1]]) for p in parts]
        sc = [numpy_helper.to_array(inits[p["nbits"].input[2]]) for p in parts]
        mn = [numpy_helper.to_array(inits[p["corr"].input[1]]) for p in parts]
        ns = [p["attrs"]["N"] for p in parts]
        K = parts[0]["attrs"]["K"]
        base = parts[0]["nbits"].input[1][: -len(".q4")] + ".fused"
        new_inits += [
            numpy_helper.from_array(np.concatenate(q4, 0), base + ".q4"),
            numpy_helper.from_array(np.concatenate(sc, 0), base + ".scale"),
            numpy_helper.from_array(np.ascontiguousarray(np.concatenate(mn, 1)), base + ".min8"),
            numpy_helper.from_array(np.array(ns, np.int64), base + ".split"),
        ]
        extra = {"accuracy_level": 4} if int8_activations else {}
        new_nodes += [
            helper.make_node("MatMulNBits", [a, base + ".q4", base + ".scale"], [base + "_nbits"],
                             domain="com.microsoft", K=K, N=sum(ns), bits=4, block_size=32,
                             name=base + "/MatMulNBits", **extra),
            helper.make_node("MatMul", [parts[0]["corr"].input[0], base + ".min8"], [base + "_min"]),
            helper.make_node("Add", [base + "_nbits", base + "_min"], [base + "_out"]),
            helper.make_node("Split", [base + "_out", base + ".split"], [p["add"].output[0] for p in parts], axis=-1),
        ]
        for p in parts:
            drop_nodes.update({p["nbits"].output[0], p["add"].output[0], p["corr"].output[0]})
            drop_inits.update({p["nbits"].input[1], p["nbits"].input[2], p["corr"].input[1]})
    nodes = [n for n in g.node if n.output[0] not in drop_nodes] + new_nodes
    keep = [i for i in g.initializer if i.name not in drop_inits]
    g.ClearField("initializer")
    g.initializer.extend(keep + new_inits)
    g.ClearField("node")
    g.node.extend(toposort(nodes, {i.name for i in g.input} | {i.name for i in g.initializer}))
    return model


def toposort(nodes, available):
    """Nodes in an order where every input is produced before it is read."""
    available = set(available) | {""}
    out, pending = [], list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all(i in available for i in n.input):
                out.append(n)
                available.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            sys.exit(f"derive_local_model: graph has a cycle or a missing input near {rest[0].name}")
        pending = rest
    return out


def check(src, dst, threads):
    """Same greedy tokens and logits within float rounding, on a short left-padded batch."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    a = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(dst, so, providers=["CPUExecutionProvider"])
    past = {i.name: np.zeros((2, 3, 0, 64), np.float32) for i in a.get_inputs() if i.name.startswith("past")}
    ids = np.array([[2, 2, 1, 9690, 198, 2683], [1, 4093, 198, 1780, 314, 253]], np.int64)
    mask = np.array([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], np.int64)
    pos = np.maximum(np.cumsum(mask, 1) - 1, 0)
    feed = {"input_ids": ids, "attention_mask": mask, "position_ids": pos, **past}
    la = a.run(["logits"], feed)[0]
    lb_all = b.run(["logits"], {**feed, "logits_to_keep": np.array([0], np.int64)})[0]
    lb_last = b.run(["logits"], {**feed, "logits_to_keep": np.array([1], np.int64)})[0]
    assert lb_last.shape[1] == 1 and np.abs(lb_last[:, 0] - lb_all[:, -1]).max() < 1e-4
    # The top of every position's distribution is exact; the tail is int8-approximate.
    k = 8
    top_a = np.sort(la, -1)[..., -k:]
    top_b = np.sort(lb_all, -1)[..., -k:]
    diff = float(np.abs(top_a - top_b).max())
    assert diff < 1e-3, f"top-{k} logits differ by {diff}"
    assert (la.argmax(-1) == lb_all.argmax(-1)).all(), "greedy choice differs"
    tail = float(np.abs(la - lb_all).mean())
    print(f"derive_local_model: check ok (top-{k} logits max |diff| {diff:.2e}, "
          f"all logits mean |diff| {tail:.2e})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="the source model folder (the mirror's)")
    ap.add_argument("--source", default="model_q4_1_exact.onnx")
    ap.add_argument("--out", default="model_q4_1_q8head.onnx")
    ap.add_argument("--dest", required=True, help="the derived model folder (in the cache)")
    ap.add_argument("--rerank", type=int, default=16, help="logits recomputed exactly per position")
    ap.add_argument("--int8-activations", action="store_true",
                    help="quantise the projections' inputs to int8 per block of 32, as llama.cpp does: "
                         "faster, but not exact against the fp32 reference, and (ONNX Runtime "
                         "1.31) a row's result changes with the batch it is in")
    ap.add_argument("--check", action="store_true", help="compare logits with the source")
    args = ap.parse_args()
    src = find(args.model, args.source)
    os.makedirs(os.path.join(args.dest, "onnx"), exist_ok=True)
    for f in METADATA:
        p = os.path.join(args.model, f)
        link = os.path.join(args.dest, f)
        if os.path.isfile(p) and not os.path.lexists(link):
            os.symlink(os.path.abspath(p), link)
    dst = os.path.join(args.dest, "onnx", args.out)
    tmp = dst + ".tmp"
    model = rewrite(onnx.load(src), args.rerank)
    model = fuse_shared_inputs(model, args.int8_activations)
    onnx.save(model, tmp)
    onnx.checker.check_model(tmp)
    os.replace(tmp, dst)
    with open(dst, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"derive_local_model: wrote {dst} ({os.path.getsize(dst):,} B, sha256 {digest[:16]}…)")
    if args.check:
        check(src, dst, threads=2)


if __name__ == "__main__":
    main()
