"""The onnxruntime peer of `cargo bench --bench trees`: times one model over the same records
on onnxruntime's CPU execution provider with one thread, and prints rows per second.

ZipMap (skl2onnx's default last node, which turns each probability row into a Python dict)
is cut off first, as mialab cuts it, so that both sides compute the same probability tensor.

    python3 benches/peer_onnxruntime.py MODEL.onnx FEATURES.npy REPEATS [THREADS [BATCH [PASSES]]]

THREADS: onnxruntime's intra-op threads (default 1; 0 is its own default, every core).
BATCH: records per `session.run` (default: all at once).
PASSES: passes over the records per timed run (default 1), so that a fast model's run lasts
long enough to time.
"""
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort


def without_zipmap(model):
    graph = model.graph
    for node in list(graph.node):
        if node.op_type == "ZipMap":
            for output in graph.output:
                if output.name == node.output[0]:
                    output.name = node.input[0]
                    output.type.CopyFrom(onnx.helper.make_tensor_type_proto(onnx.TensorProto.FLOAT, None))
            graph.node.remove(node)
    return model


def main():
    path, features, repeats = sys.argv[1], np.load(sys.argv[2]), int(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else len(features)
    passes = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(without_zipmap(onnx.load(path)).SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs() if "label" not in o.name]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(passes):
            for first in range(0, len(features), batch):
                session.run(outputs, {name: features[first:first + batch]})
        best = min(best, time.perf_counter() - start)
    print(f"{passes * len(features) / best:.0f}")


if __name__ == "__main__":
    main()
