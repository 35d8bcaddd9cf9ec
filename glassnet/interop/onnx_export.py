"""ONNX from a glassnet model: one graph of standard operators, opset 17 and IR version 8
(which every current ONNX Runtime reads), checked with ``onnx.checker``.

Each layer becomes the operators it is made of, by one table keyed by the layer type:
Dense is MatMul and Add; convolutions and pooling are a Transpose to channels-first, Conv
(or MaxPool, AveragePool) with explicit pads, and a Transpose back; BatchNorm (at
inference) is a Mul and an Add by constants; LayerNorm is LayerNormalization; the
recurrent layers are ONNX's RNN, LSTM (gates reordered to ONNX's i, o, f, c) and GRU
(``linear_before_reset`` is Keras's ``reset_after``); attention is MatMul, Reshape,
Transpose and Softmax, with a constant causal mask; Embedding is Gather; residual and
functional graphs are Add, Sub, Mul, Mean and Concat. The batch is dynamic.
"""
import math

import numpy as np

from ..layers.activations import GELU_TANH, SELU_ALPHA, SELU_SCALE
from ..layers.conv import kernel_to_pytorch
from .common import emitter, requires

OPSET, IR_VERSION = 17, 8


class Graph:
    """Nodes, constants and unique names for one ONNX graph."""

    def __init__(self, onnx, dtype):
        self.onnx, self.helper = onnx, onnx.helper
        self.dtype = np.dtype(dtype)
        self.nodes, self.constants, self.count = [], [], 0

    def name(self, stem):
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, array, stem="const", dtype=None):
        name = self.name(stem)
        array = np.asarray(array, dtype=dtype or self.dtype)
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, kind, inputs, stem=None, outputs=1, **attributes):
        names = [self.name(stem or kind.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(kind, list(inputs), names, **attributes))
        return names[0] if outputs == 1 else names


def _activation(g, function, x):
    name = function.name
    if name == "linear":
        return x
    if function.approximate:                       # 0.5 x (1 + tanh(c (x + 0.044715 x^3)))
        cube = g.op("Mul", [g.op("Mul", [g.op("Mul", [x, x]), x]), g.const(0.044715)])
        inner = g.op("Mul", [g.op("Add", [x, cube]), g.const(GELU_TANH)])
        return g.op("Mul", [g.op("Mul", [x, g.op("Add", [g.op("Tanh", [inner]),
                                                         g.const(1.0)])]), g.const(0.5)])
    if name == "elu":
        return g.op("Elu", [x], alpha=function.elu_alpha)
    if name == "selu":
        return g.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE)
    if name in ("swish", "silu"):
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "relu6":
        return g.op("Clip", [x, g.const(0.0), g.const(6.0)])
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], axis=-1)
    if name == "gelu":                                  # 0.5 x (1 + erf(x / sqrt(2)))
        erf = g.op("Erf", [g.op("Div", [x, g.const(math.sqrt(2))])])
        return g.op("Mul", [g.op("Mul", [x, g.op("Add", [erf, g.const(1.0)])]),
                            g.const(0.5)])
    if name == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=function.alpha)
    return g.op({"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}[name], [x])


def emit_dense(g, layer, x, in_shape, out_shape):
    y = g.op("MatMul", [x, g.const(layer.params["W"], "W")])
    if layer.use_bias:
        y = g.op("Add", [y, g.const(layer.params["b"], "b")])
    return _activation(g, layer.activation, y)


def emit_activation(g, layer, x, in_shape, out_shape):
    return _activation(g, layer.activation, x)


def emit_identity(g, layer, x, in_shape, out_shape):
    return g.op("Identity", [x])


def emit_flatten(g, layer, x, in_shape, out_shape):
    return g.op("Flatten", [x], axis=1)


def emit_permute(g, layer, x, in_shape, out_shape):
    return g.op("Transpose", [x], perm=[0, *layer.dims])


def emit_batchnorm(g, layer, x, in_shape, out_shape):
    """Inference: Y = X scale + shift, scale = gamma / sqrt(var + eps)."""
    inv = 1.0 / np.sqrt(layer.state["running_var"].astype(np.float64) + layer.epsilon)
    scale = layer.params["gamma"] * inv
    shift = layer.params["beta"] - layer.state["running_mean"] * scale
    return g.op("Add", [g.op("Mul", [x, g.const(scale, "scale")]), g.const(shift, "shift")])


def emit_layernorm(g, layer, x, in_shape, out_shape):
    return g.op("LayerNormalization", [x, g.const(layer.params["gamma"], "gamma"),
                                       g.const(layer.params["beta"], "beta")],
                axis=-1, epsilon=layer.epsilon)


def emit_conv(g, layer, x, in_shape, out_shape):
    image = layer.rank == 2
    hw = in_shape[1:3] if image else (1, in_shape[1])
    (top, bottom), (left, right) = layer.window.pads(hw)
    W = layer.params["W"]
    if image:
        weight, perm, back = kernel_to_pytorch(W), [0, 3, 1, 2], [0, 2, 3, 1]
        if type(layer).__name__ == "DepthwiseConv2D":          # C groups of one channel
            weight = kernel_to_pytorch(W.reshape(*W.shape[:2], 1, -1))
        attributes = {"strides": list(layer.window.strides),
                      "group": W.shape[2] if type(layer).__name__ == "DepthwiseConv2D"
                      else getattr(layer, "groups", 1),
                      "dilations": list(layer.window.dilation),
                      "pads": [top, left, bottom, right]}
    else:
        weight, perm, back = np.ascontiguousarray(W.transpose(2, 1, 0)), [0, 2, 1], [0, 2, 1]
        attributes = {"strides": [layer.window.strides[1]],
                      "dilations": [layer.window.dilation[1]], "pads": [left, right]}
    inputs = [g.op("Transpose", [x], perm=perm), g.const(weight, "kernel")]
    if layer.use_bias:
        inputs.append(g.const(layer.params["b"], "b"))
    y = g.op("Conv", inputs, **attributes)
    return g.op("Transpose", [_activation(g, layer.activation, y)], perm=back)


def emit_pool(g, layer, x, in_shape, out_shape):
    (top, bottom), (left, right) = layer.window.pads(in_shape[1:3])
    attributes = {"kernel_shape": list(layer.window.kernel),
                  "strides": list(layer.window.strides), "pads": [top, left, bottom, right]}
    if layer.mode == "avg":
        attributes["count_include_pad"] = 0              # the mean of the values covered
    y = g.op("MaxPool" if layer.mode == "max" else "AveragePool",
             [g.op("Transpose", [x], perm=[0, 3, 1, 2])], **attributes)
    return g.op("Transpose", [y], perm=[0, 2, 3, 1])


def emit_global_average(g, layer, x, in_shape, out_shape):
    return g.op("ReduceMean", [x], axes=list(layer.axes), keepdims=0)


def emit_global_max(g, layer, x, in_shape, out_shape):
    return g.op("ReduceMax", [x], axes=list(layer.axes), keepdims=0)


def emit_reshape(g, layer, x, in_shape, out_shape):
    return g.op("Reshape", [x, g.const([0, *layer.target_shape], "shape", np.int64)])


def emit_cropping(g, layer, x, in_shape, out_shape):
    start, end = layer.cropping
    return g.op("Slice", [x, g.const([start], "starts", np.int64),
                          g.const([in_shape[1] - end], "ends", np.int64),
                          g.const([1], "axes", np.int64)])


def emit_rescaling(g, layer, x, in_shape, out_shape):
    return g.op("Add", [g.op("Mul", [x, g.const(layer.scale)]), g.const(layer.offset)])


def emit_embedding(g, layer, x, in_shape, out_shape):
    tokens = g.op("Cast", [x], to=g.onnx.TensorProto.INT64)
    return g.op("Gather", [g.const(layer.params["E"], "E"), tokens], axis=0)


def _rnn_arrays(layer):
    """ONNX's W, R, B for one direction (gates in ONNX's order)."""
    kind, u = type(layer).__name__, layer.units
    W, U, b = layer.params["W"], layer.params["U"], layer.params["b"]
    if kind == "LSTM":                                   # glassnet i f g o -> ONNX i o f c
        order = np.r_[0:u, 3 * u:4 * u, u:2 * u, 2 * u:3 * u]
    else:
        order = np.arange(W.shape[1])                    # GRU z r n = ONNX z r h
    if kind == "GRU" and layer.reset_after:
        bias = np.concatenate([b[0], b[1]])
    else:
        bias = np.concatenate([b[order], np.zeros_like(b)])
    return W.T[order], U.T[order], bias


def _rnn(g, layers, x, direction="forward"):
    """ONNX's RNN, LSTM or GRU over ``layers`` (one per direction): Y, Y_h."""
    kind, u = type(layers[0]).__name__, layers[0].units
    arrays = [_rnn_arrays(layer) for layer in layers]
    weights = [g.const(np.stack([a[i] for a in arrays]), name)
               for i, name in enumerate(("W", "R", "B"))]
    attributes = {"hidden_size": u, "direction": direction}
    if kind == "GRU":
        attributes["linear_before_reset"] = int(layers[0].reset_after)
    op = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[kind]
    steps = g.op("Transpose", [x], perm=[1, 0, 2])       # ONNX is time-major
    return g.op(op, [steps, *weights], outputs=3 if kind == "LSTM" else 2,
                **attributes)[:2]


def emit_bidirectional(g, layer, x, in_shape, out_shape):
    """direction='bidirectional': Y (time, 2, batch, units), Y_h (2, batch, units)."""
    Y, Y_h = _rnn(g, layer.layers, x, "bidirectional")
    if layer.forward_layer.return_sequences:
        both = g.op("Transpose", [Y], perm=[2, 0, 1, 3])      # (batch, time, 2, units)
        axis, flat = 2, [0, 0, -1]
    else:
        both = g.op("Transpose", [Y_h], perm=[1, 0, 2])       # (batch, 2, units)
        axis, flat = 1, [0, -1]
    if layer.merge_mode == "concat":
        return g.op("Reshape", [both, g.const(flat, "shape", np.int64)])
    if layer.merge_mode == "sum":
        return g.op("ReduceSum", [both, g.const([axis], "axes", np.int64)], keepdims=0)
    op = {"ave": "ReduceMean", "mul": "ReduceProd"}[layer.merge_mode]
    return g.op(op, [both], axes=[axis], keepdims=0)


def emit_recurrent(g, layer, x, in_shape, out_shape):
    Y, Y_h = _rnn(g, [layer], x)
    if layer.return_sequences:
        Y = g.op("Squeeze", [Y, g.const([1], "axes", np.int64)])      # (time, batch, units)
        return g.op("Transpose", [Y], perm=[1, 0, 2])
    return g.op("Squeeze", [Y_h, g.const([0], "axes", np.int64)])


def emit_attention(g, layer, x, in_shape, out_shape):
    h, k, v, time = layer.num_heads, layer.key_dim, layer.value_dim, in_shape[1]
    p = layer.params

    def project(name, size):                             # (batch, heads, time, size)
        y = g.op("MatMul", [x, g.const(p["W" + name].reshape(p["W" + name].shape[0], -1),
                                       "W" + name)])
        if layer.use_bias:
            y = g.op("Add", [y, g.const(p["b" + name].reshape(-1), "b" + name)])
        y = g.op("Reshape", [y, g.const([0, 0, h, size], "shape", np.int64)])
        return g.op("Transpose", [y], perm=[0, 2, 1, 3])
    q, key, value = project("q", k), project("k", k), project("v", v)
    scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [key], perm=[0, 1, 3, 2])]),
                          g.const(1 / math.sqrt(k))])
    if layer.causal:
        mask = np.where(np.tril(np.ones((time, time), bool)), 0.0, -np.inf)
        scores = g.op("Add", [scores, g.const(mask, "causal_mask")])
    heads = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), value])
    merged = g.op("Reshape", [g.op("Transpose", [heads], perm=[0, 2, 1, 3]),
                              g.const([0, 0, h * v], "shape", np.int64)])
    y = g.op("MatMul", [merged, g.const(p["Wo"].reshape(h * v, -1), "Wo")])
    return g.op("Add", [y, g.const(p["bo"], "bo")]) if layer.use_bias else y


def emit_graph(g, network, xs):
    """A network's graph on the values ``xs`` (one per input); returns its output."""
    values = dict(zip(network.input_names(), xs))
    for node in network.nodes():
        if node.inputs:
            values[node.name] = emit(g, node.layer, [values[n] for n in node.inputs],
                                     node.in_shape, node.out_shape)
    return values[network.output_tensor.name]


def emit_network(g, layer, xs, in_shape, out_shape):
    """A network inside the model (a Sequential, a Model, a Residual): its graph, inline."""
    return emit_graph(g, layer, xs if isinstance(xs, list) else [xs])


def emit_merge(g, layer, xs, in_shape, out_shape):
    kind = type(layer).__name__
    if kind == "Concatenate":
        return g.op("Concat", xs, axis=layer.axis)
    if kind == "Average":
        return g.op("Mean", xs)
    op = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul"}[kind]
    y = xs[0]
    for other in xs[1:]:
        y = g.op(op, [y, other])
    return y


EMITTERS = {"Dense": emit_dense, "Activation": emit_activation, "Dropout": emit_identity,
            "Flatten": emit_flatten, "Permute": emit_permute, "BatchNorm": emit_batchnorm,
            "LayerNorm": emit_layernorm, "Conv2D": emit_conv, "Conv1D": emit_conv,
            "MaxPool2D": emit_pool, "AvgPool2D": emit_pool,
            "GlobalAveragePooling2D": emit_global_average,
            "GlobalAveragePooling1D": emit_global_average, "Embedding": emit_embedding,
            "SimpleRNN": emit_recurrent, "LSTM": emit_recurrent, "GRU": emit_recurrent,
            "MultiHeadAttention": emit_attention,
            **dict.fromkeys(("Sequential", "Model", "Residual"), emit_network),
            **dict.fromkeys(("Add", "Subtract", "Multiply", "Average", "Concatenate"),
                            emit_merge),
            "DepthwiseConv2D": emit_conv, "GlobalMaxPooling2D": emit_global_max,
            "GlobalMaxPooling1D": emit_global_max, "Reshape": emit_reshape,
            "Rescaling": emit_rescaling, "Bidirectional": emit_bidirectional,
            "Cropping1D": emit_cropping}


def emit(g, layer, xs, in_shape, out_shape):
    function = emitter(EMITTERS, layer, "to_onnx", "ONNX")
    return function(g, layer, xs if layer.many_inputs else xs[0], in_shape, out_shape)


def to_onnx(model, path):
    """Write ``model`` as an ONNX file at ``path`` (opset 17, IR version 8, checked with
    ``onnx.checker``); returns the path. Inputs are named as the model's inputs ('input'
    for a Sequential) and keep glassnet's layout; the output is 'output'. The model is
    exported as it runs at inference (dropout off, BatchNorm's running statistics)."""
    onnx = requires("onnx", "onnx")
    if not model.built:
        model.build()
    code = {np.dtype(np.float32): onnx.TensorProto.FLOAT,
            np.dtype(np.float64): onnx.TensorProto.DOUBLE}[model.dtype]
    g = Graph(onnx, model.dtype)
    inputs, nodes = [], model.nodes()
    for node in nodes:
        if not node.inputs:                              # the model's inputs
            uses_ints = any(n.inputs and node.name in n.inputs and
                            n.layer.input_spec.dtype == "int" for n in nodes)
            inputs.append(onnx.helper.make_tensor_value_info(
                node.name, onnx.TensorProto.INT64 if uses_ints else code,
                ["batch", *node.out_shape[1:]]))
    last = emit_graph(g, model, model.input_names())
    g.nodes.append(onnx.helper.make_node("Identity", [last], ["output"]))
    output = onnx.helper.make_tensor_value_info("output", code,
                                                ["batch", *model.output_shape[1:]])
    graph = onnx.helper.make_graph(g.nodes, "glassnet", inputs, [output], g.constants)
    proto = onnx.helper.make_model(graph, producer_name="glassnet",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    from ..io import write_atomically
    write_atomically(str(path), proto.SerializeToString())
    return path
