"""The zoo's two architectures, each as a pure JAX function and as the same ONNX graph.

Written out by hand (JAX for training, `onnx.helper` for export) so that the exported graph
is exactly the operators the engine meets in the wild (Gemm, Relu, Conv,
BatchNormalization, MaxPool, Flatten) and every export is checked against the JAX forward
pass with onnxruntime before it is saved.
"""

import jax
import jax.numpy as jnp
import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
BN_EPS = 1e-5
BN_MOMENTUM = 0.9


def _dense_init(key, fan_in, fan_out):
    w = jax.random.normal(key, (fan_in, fan_out), jnp.float32) * jnp.sqrt(2.0 / fan_in)
    return w, jnp.zeros((fan_out,), jnp.float32)


class Mlp:
    """features [N, F] -> Gemm -> Relu -> Gemm -> Relu -> Gemm -> logits [N, C]."""

    def __init__(self, n_features, n_classes, hidden=128):
        self.sizes = [n_features, hidden, hidden, n_classes]
        self.n_classes = n_classes

    def init(self, key):
        keys = jax.random.split(key, len(self.sizes) - 1)
        params = {}
        for i, (k, a, b) in enumerate(zip(keys, self.sizes[:-1], self.sizes[1:])):
            params[f"w{i}"], params[f"b{i}"] = _dense_init(k, a, b)
        return params, {}

    def apply(self, params, state, x, train, frozen_norm=False):
        layers = len(self.sizes) - 1
        for i in range(layers):
            x = x @ params[f"w{i}"] + params[f"b{i}"]
            if i < layers - 1:
                x = jax.nn.relu(x)
        return x, state

    def to_onnx(self, params, state, name):
        nodes, inits = [], []
        x = "features"
        layers = len(self.sizes) - 1
        for i in range(layers):
            inits += [_tensor(f"w{i}", params[f"w{i}"]), _tensor(f"b{i}", params[f"b{i}"])]
            out = "logits" if i == layers - 1 else f"h{i}"
            nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [out]))
            if i < layers - 1:
                nodes.append(helper.make_node("Relu", [out], [f"a{i}"]))
                out = f"a{i}"
            x = out
        return _model(nodes, inits, name, ["batch", self.sizes[0]], self.sizes[-1])


class Cnn:
    """pixels [N, 1, 28, 28] in [0, 1] -> (Conv3x3 -> BatchNorm -> Relu -> MaxPool2) x 2
    -> Flatten -> Gemm -> Relu -> Gemm -> logits [N, C]."""

    def __init__(self, n_classes, channels=(16, 32), hidden=32, side=28):
        self.channels = channels
        self.hidden = hidden
        self.n_classes = n_classes
        self.side = side

    def init(self, key):
        k = jax.random.split(key, 4)
        params, state = {}, {}
        c_in = 1
        for i, c in enumerate(self.channels):
            fan_in = c_in * 9
            params[f"conv{i}"] = jax.random.normal(k[i], (c, c_in, 3, 3)) * jnp.sqrt(2.0 / fan_in)
            params[f"gamma{i}"] = jnp.ones((c,), jnp.float32)
            params[f"beta{i}"] = jnp.zeros((c,), jnp.float32)
            state[f"mean{i}"] = jnp.zeros((c,), jnp.float32)
            state[f"var{i}"] = jnp.ones((c,), jnp.float32)
            c_in = c
        flat = self.channels[-1] * (self.side // 4) ** 2
        params["w0"], params["b0"] = _dense_init(k[2], flat, self.hidden)
        params["w1"], params["b1"] = _dense_init(k[3], self.hidden, self.n_classes)
        return params, state

    def apply(self, params, state, x, train, frozen_norm=False):
        """`train` uses batch statistics and updates the running ones; `frozen_norm` keeps
        the initial statistics (mean 0, variance 1) so that each record's output depends on
        that record alone, which per-sample gradient clipping (DP-SGD) requires."""
        new_state = dict(state)
        for i in range(len(self.channels)):
            x = jax.lax.conv_general_dilated(
                x, params[f"conv{i}"], (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW")
            )
            if train and not frozen_norm:
                mean = x.mean(axis=(0, 2, 3))
                var = x.var(axis=(0, 2, 3))
                new_state[f"mean{i}"] = BN_MOMENTUM * state[f"mean{i}"] + (1 - BN_MOMENTUM) * mean
                new_state[f"var{i}"] = BN_MOMENTUM * state[f"var{i}"] + (1 - BN_MOMENTUM) * var
            else:
                mean, var = state[f"mean{i}"], state[f"var{i}"]
            scale = params[f"gamma{i}"] / jnp.sqrt(var + BN_EPS)
            x = (x - mean[None, :, None, None]) * scale[None, :, None, None]
            x = x + params[f"beta{i}"][None, :, None, None]
            x = jax.nn.relu(x)
            x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        x = x.reshape((x.shape[0], -1))
        x = jax.nn.relu(x @ params["w0"] + params["b0"])
        return x @ params["w1"] + params["b1"], new_state

    def to_onnx(self, params, state, name):
        nodes, inits = [], []
        x = "pixels"
        for i in range(len(self.channels)):
            inits += [
                _tensor(f"conv{i}", params[f"conv{i}"]),
                _tensor(f"gamma{i}", params[f"gamma{i}"]),
                _tensor(f"beta{i}", params[f"beta{i}"]),
                _tensor(f"mean{i}", state[f"mean{i}"]),
                _tensor(f"var{i}", state[f"var{i}"]),
            ]
            nodes += [
                helper.make_node("Conv", [x, f"conv{i}"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                helper.make_node(
                    "BatchNormalization",
                    [f"c{i}", f"gamma{i}", f"beta{i}", f"mean{i}", f"var{i}"],
                    [f"n{i}"],
                    epsilon=BN_EPS,
                ),
                helper.make_node("Relu", [f"n{i}"], [f"r{i}"]),
                helper.make_node("MaxPool", [f"r{i}"], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]),
            ]
            x = f"p{i}"
        inits += [_tensor(k, params[k]) for k in ("w0", "b0", "w1", "b1")]
        nodes += [
            helper.make_node("Flatten", [x], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "w0", "b0"], ["h0"]),
            helper.make_node("Relu", ["h0"], ["a0"]),
            helper.make_node("Gemm", ["a0", "w1", "b1"], ["logits"]),
        ]
        return _model(nodes, inits, name, ["batch", 1, self.side, self.side], self.n_classes, "pixels")


def _tensor(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def _model(nodes, inits, name, input_shape, n_classes, input_name="features"):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", n_classes])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mialab-zoo"
    )
    model.ir_version = 8
    return model
