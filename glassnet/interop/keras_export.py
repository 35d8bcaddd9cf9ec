"""A glassnet model as a Keras 3 ``.keras`` file (``model.save("m.keras")``), written
without Keras: ``config.json`` in Keras's own serialisation, ``model.weights.h5`` with
every array where Keras's loader looks for it, and ``metadata.json``. Keras 3 loads it
with ``keras.saving.load_model`` and computes what glassnet computes.

Every model is written as a Keras functional model (a glassnet Sequential becomes a chain
of layers after a ``keras.Input``), its layers in the order Keras itself gives them, so
each layer's weights land in its own place. The compile configuration (optimizer, loss,
metrics) goes with it, and the optimizer's state in Keras's variables (Adam's moments,
momentum buffers, the step count), so Keras's fit continues from it.

Only layers and options both libraries have are written; anything else is refused by
name (glassnet's Residual: build the skip with ``gn.Add`` in a functional model; an
activation's ``alpha`` other than Keras's 0.2; a padding given as a number; an optimizer
with an L2 ``weight_decay``, which Keras would apply to the weights).
"""
import datetime
import json
import math
import os
import zipfile
from io import BytesIO

import numpy as np

from ..layers.base import leaf_layers
from .common import emitter, requires
from .keras_layout import SUBLAYERS, h5_names

KERAS_VERSION = "3.15.1"                 # the Keras these files are tested with


def _serialized(module, class_name, config):
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": None}


def _activation(c, what):
    name = c.get("activation", "linear")
    if name == "leaky_relu" and c.get("alpha", 0.2) != 0.2:
        raise ValueError(f"{what} uses leaky_relu with alpha={c['alpha']}; Keras's "
                         f"'leaky_relu' activation has 0.2. Use a separate LeakyReLU layer.")
    return name


def _padding(c, what):
    padding = c.get("padding", "valid")
    if not isinstance(padding, str):
        raise ValueError(f"{what} pads {padding} zeros per side; Keras has 'valid', 'same' "
                         f"(and 'causal' for Conv1D). Use one of those.")
    return padding


def _pair(value):
    return list(value) if isinstance(value, (list, tuple)) else [value, value]


def _regularizers(c):
    """kernel_regularizer / bias_regularizer (glassnet's L1, L2, L1L2) as Keras writes
    them, so that training on in Keras keeps the same penalty."""
    return {key: _serialized("keras.regularizers", c[key]["type"],
                             {k: v for k, v in c[key].items() if k != "type"})
            for key in ("kernel_regularizer", "bias_regularizer") if key in c}


def _dense(c, what):
    return "Dense", {"units": c["units"], "activation": _activation(c, what),
                     "use_bias": c.get("use_bias", True), **_regularizers(c)}


def _conv(c, what):
    one = c["type"] == "Conv1D"
    size = (lambda v: [v[0] if isinstance(v, list) else v]) if one else _pair
    return c["type"], {"filters": c["filters"], "kernel_size": size(c["kernel_size"]),
                       "strides": size(c.get("strides", 1)), "padding": _padding(c, what),
                       "data_format": "channels_last",
                       "dilation_rate": size(c.get("dilation_rate", 1)), "groups": 1,
                       "activation": _activation(c, what), "use_bias": c.get("use_bias", True),
                       **_regularizers(c)}


def _pool(c, what):
    return {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D"}[c["type"]], {
        "pool_size": _pair(c.get("pool_size", 2)),
        "strides": _pair(c.get("strides", c.get("pool_size", 2))),
        "padding": _padding(c, what), "data_format": "channels_last"}


def _recurrent(c, what):
    config = {"units": c["units"], "return_sequences": c.get("return_sequences", False),
              "activation": "tanh", "use_bias": True}
    if c["type"] != "SimpleRNN":
        config["recurrent_activation"] = "sigmoid"
    if c["type"] == "GRU":
        config["reset_after"] = c.get("reset_after", True)
    return c["type"], config


def _attention(c, what):
    return "MultiHeadAttention", {"num_heads": c["num_heads"], "key_dim": c["key_dim"],
                                  "value_dim": c.get("value_dim", c["key_dim"]),
                                  "output_shape": c.get("output_dim"),
                                  "use_bias": c.get("use_bias", True), "attention_axes": [1]}


def _activation_layer(c, what):
    if c.get("activation") == "leaky_relu":
        return "LeakyReLU", {"negative_slope": c.get("alpha", 0.2)}
    return "Activation", {"activation": c.get("activation", "linear")}


EMITTERS = {
    "Dense": _dense, "Conv2D": _conv, "Conv1D": _conv, "MaxPool2D": _pool, "AvgPool2D": _pool,
    "GlobalAveragePooling2D": lambda c, w: ("GlobalAveragePooling2D", {
        "data_format": "channels_last", "keepdims": False}),
    "GlobalAveragePooling1D": lambda c, w: ("GlobalAveragePooling1D", {
        "data_format": "channels_last", "keepdims": False}),
    "Flatten": lambda c, w: ("Flatten", {"data_format": "channels_last"}),
    "Dropout": lambda c, w: ("Dropout", {"rate": c["rate"], "seed": c.get("seed")}),
    "Permute": lambda c, w: ("Permute", {"dims": list(c["dims"])}),
    "BatchNorm": lambda c, w: ("BatchNormalization", {
        "axis": -1, "momentum": c.get("momentum", 0.99), "epsilon": c.get("epsilon", 1e-3),
        "center": True, "scale": True}),
    "LayerNorm": lambda c, w: ("LayerNormalization", {
        "axis": -1, "epsilon": c.get("epsilon", 1e-3), "center": True, "scale": True}),
    "Embedding": lambda c, w: ("Embedding", {"input_dim": c["input_dim"],
                                             "output_dim": c["output_dim"]}),
    "SimpleRNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent,
    "MultiHeadAttention": _attention, "Activation": _activation_layer,
    "Add": lambda c, w: ("Add", {}), "Subtract": lambda c, w: ("Subtract", {}),
    "Multiply": lambda c, w: ("Multiply", {}), "Average": lambda c, w: ("Average", {}),
    "Concatenate": lambda c, w: ("Concatenate", {"axis": c.get("axis", -1)}),
}


def keras_order(parents, output):
    """The layers in the order Keras's functional models list them (and so the order its
    weights file follows): by depth from the output, deepest first, ties in the order a
    depth-first walk from the output meets them (Keras's ``map_graph``)."""
    index, finished, walked, stack = {}, set(), [], [(output, False)]
    while stack:
        name, done = stack.pop()
        if done:
            finished.add(name)
            walked.append(name)
            continue
        if name in finished:
            continue
        index.setdefault(name, len(index))
        stack.append((name, True))
        stack.extend((p, False) for p in reversed(parents[name]))
    depth = {}
    for name in reversed(walked):
        here = depth.setdefault(name, 0)
        for p in parents[name]:
            depth[p] = max(depth.get(p, 0), here + 1)
    return sorted(walked, key=lambda name: (-depth[name], index[name]))


def _tensor(name, shape, dtype):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, *shape[1:]], "dtype": dtype,
                       "keras_history": [name, 0, 0]}}


def _compile_config(model):
    """Keras's compile_config for a compiled glassnet model ({} when not compiled)."""
    if model.loss is None:
        return {}
    what = "save (.keras)"
    optimizer = model.optimizer.get_config()
    kind = optimizer.pop("type")
    if isinstance(optimizer.get("learning_rate"), dict):
        raise ValueError(f"{what}: the optimizer's learning rate is a glassnet schedule, "
                         f"which a .keras file cannot hold. Compile with a number, or save "
                         f"as .glassnet.")
    if optimizer.get("weight_decay") and kind != "AdamW":
        raise ValueError(f"{what}: {kind}(weight_decay={optimizer['weight_decay']}) adds an "
                         f"L2 term to the gradient; Keras's weight_decay decays the weights "
                         f"directly. Save as .glassnet, or use AdamW.")
    optimizer["weight_decay"] = optimizer.get("weight_decay") or None
    optimizer["name"] = kind.lower()
    loss = model.loss.get_config()
    loss_kind = loss.pop("type")
    if loss_kind == "SparseCategoricalCrossentropy" and loss.pop("label_smoothing", 0):
        raise ValueError(f"{what}: Keras's SparseCategoricalCrossentropy has no "
                         f"label_smoothing. Use one-hot labels and CategoricalCrossentropy.")
    return {"optimizer": _serialized("keras.optimizers", kind, optimizer),
            "loss": _serialized("keras.losses", loss_kind, loss),
            "loss_weights": None if model.loss_weight == 1.0 else model.loss_weight,
            "metrics": list(model.metrics) or None, "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def keras_files(model):
    """(config.json document, {weights-file name: (Keras class, [arrays])}, the
    optimizer's variables or None)."""
    if not model.built:
        model.build()
    what = "save (.keras)"
    dtype = model.dtype.name
    found = model.nodes()
    taken = {node.name for node in found}
    rename = {node.name: ("input_layer" if node.name == "input" and "input_layer" not in taken
                          else node.name) for node in found if not node.inputs}
    nodes = {node.name: type(node)(node.name, node.layer, [rename.get(n, n) for n in node.inputs],
                                   node.in_shape, node.out_shape)
             for node in found if node.inputs}
    input_shapes = {rename[node.name]: node.out_shape for node in found if not node.inputs}
    parents = {name: list(node.inputs) for name, node in nodes.items()}
    parents.update({name: [] for name in input_shapes})
    out = model.output_layer.name
    order = keras_order(parents, out)
    feeds_embedding = {p for name, node in nodes.items() for p in parents[name]
                       if type(node.layer).__name__ == "Embedding"}
    layers, kinds, shapes = [], [], dict(input_shapes)
    for name in order:
        if name in input_shapes:
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": {"batch_shape": [None, *input_shapes[name][1:]],
                                      "dtype": "int32" if name in feeds_embedding else dtype,
                                      "sparse": False, "ragged": False, "name": name,
                                      "optional": False},
                           "registered_name": None, "name": name, "inbound_nodes": []})
            kinds.append("InputLayer")
            continue
        node = nodes[name]
        layer = node.layer
        make = emitter(EMITTERS, layer, what, "Keras 3")
        kind, config = make(layer.get_config(), f"{what}: layer {name!r}")
        config = {"name": name, "trainable": bool(layer.trainable),
                  "dtype": _serialized("keras", "DTypePolicy", {"name": dtype}), **config}
        sources = [_tensor(p, shapes[p], "int32" if p in feeds_embedding else dtype)
                   for p in parents[name]]
        kwargs = {}
        if kind == "MultiHeadAttention":
            sources = sources * 2                              # self-attention: (x, x)
            kwargs["use_causal_mask"] = bool(layer.causal)
        args = [sources] if layer.many_inputs else sources
        shapes[name] = node.out_shape
        in_shape = node.in_shape
        build = {"input_shape": [[None, *s[1:]] for s in in_shape] if layer.many_inputs
                 else [None, *in_shape[1:]]}
        if kind == "MultiHeadAttention":
            build = {"shapes_dict": {"query_shape": build["input_shape"],
                                     "value_shape": build["input_shape"], "key_shape": None}}
        layers.append({"module": "keras.layers", "class_name": kind, "config": config,
                       "registered_name": None, "build_config": build, "name": name,
                       "inbound_nodes": [{"args": args, "kwargs": kwargs}]})
        kinds.append(kind)
    document = {
        "module": "keras.src.models.functional", "class_name": "Functional",
        "config": {"name": "functional", "trainable": True, "layers": layers,
                   "input_layers": [[n, 0, 0] for n in input_shapes],
                   "output_layers": [[out, 0, 0]]},
        "registered_name": "Functional", "build_config": {"input_shape": None},
        "compile_config": _compile_config(model)}
    weights = {}
    for key, entry, kind in zip(h5_names(kinds), layers, kinds):
        if kind == "InputLayer":
            weights[key] = (kind, [], None)
            continue
        layer = nodes[entry["name"]].layer
        weights[key] = (kind, layer.get_weights(), layer)
    optimizer = None if model.loss is None else optimizer_variables(
        model, [nodes[name].layer for name in order if name in nodes])
    return document, weights, optimizer


def optimizer_layout(model, layers):
    """Where each of Keras's optimizer variables lives in glassnet's optimizer, after the
    step count and the learning rate: [(slot, start in the flat parameters, shape,
    Keras's value / glassnet's)] for the trainable weights of ``layers`` (in Keras's
    layer order) -- Adam's m and v interleaved, RMSprop's velocities then momentums,
    SGD's momentums (Keras keeps -lr times glassnet's buffer; RMSprop lr times it); None
    for an optimizer without a Keras twin."""
    opt = model.optimizer
    kind = type(opt).__name__
    lr = opt.current_learning_rate()
    momentum = getattr(opt, "momentum", 0)
    slot_lists = {"Adam": [("m", "v")], "AdamW": [("m", "v")],
                  "RMSprop": [("square_avg",)] + ([("momentum",)] if momentum else []),
                  "SGD": [("momentum",)] if momentum else []}.get(kind)
    if slot_lists is None:
        return None
    scale = {"SGD": -lr, "RMSprop": lr}
    where, offset = {}, 0
    for layer, trainable in leaf_layers(model.layers):
        for k, value in layer.params.items():
            if trainable:
                where[(id(layer), k)] = (offset, value.shape)
                offset += value.size
    weights = [where[(id(layer), k)] for layer in layers for k in layer.params
               if (id(layer), k) in where]
    return [(name, start, shape, scale[kind] if name == "momentum" else 1.0)
            for names in slot_lists for start, shape in weights for name in names]


def optimizer_variables(model, layers):
    """The optimiser's state as Keras's optimizer lists its variables (see
    ``optimizer_layout``), or None."""
    layout = optimizer_layout(model, layers)
    if layout is None:
        return None
    opt = model.optimizer
    arrays = [np.asarray(opt.iterations, np.int64),
              np.asarray(opt.current_learning_rate(), np.float32)]
    for name, start, shape, factor in layout:
        flat = opt.state.get(name)
        arrays.append(np.zeros(shape, model.dtype) if flat is None else
                      flat[start:start + math.prod(shape)].reshape(shape) * factor)
    return arrays


def _write_weights(h5py, weights, optimizer=None):
    buffer = BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars")
        if optimizer is not None:
            group = h5.create_group("optimizer/vars")
            for i, a in enumerate(optimizer):
                group.create_dataset(str(i), data=a)
        for key, (kind, arrays, _) in weights.items():
            group = h5.create_group(f"layers/{key}")
            group.create_group("vars")
            if kind not in SUBLAYERS:
                for i, a in enumerate(arrays):
                    group["vars"].create_dataset(str(i), data=a)
                continue
            subs = SUBLAYERS[kind]
            per = len(arrays) // len(subs)
            for s, sub in enumerate(subs):
                inner = group.create_group(f"{sub}/vars")
                for i, a in enumerate(arrays[s * per:(s + 1) * per]):
                    inner.create_dataset(str(i), data=a)
            if kind == "MultiHeadAttention":
                group.create_group("_softmax/vars")
                group.create_group("_dropout_layer/vars")
    return buffer.getvalue()


def save_keras(model, path):
    """Write ``model`` as a Keras 3 ``.keras`` file at ``path`` (atomically; needs
    ``h5py``, not Keras). Returns ``path``."""
    from ..io import check_destination, write_atomically
    h5py = requires("h5py", "keras")
    path = os.fspath(path)
    check_destination(path, "save")
    document, weights, optimizer = keras_files(model)
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w") as z:            # stored, as Keras writes it
        z.writestr("metadata.json", json.dumps({
            "keras_version": KERAS_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "written_by": "glassnet"}))
        z.writestr("config.json", json.dumps(document))
        z.writestr("model.weights.h5", _write_weights(h5py, weights, optimizer))
    write_atomically(path, archive.getvalue())
    return path


def save_weights(model, path):
    """Write ``model``'s weights alone as Keras 3 writes them (``model.weights.h5``'s
    layout: ``layers/<name>/vars/<i>``), so ``keras_model.load_weights(path)`` reads them
    into the same architecture. Needs ``h5py``. Returns ``path``."""
    from ..io import check_destination, write_atomically
    h5py = requires("h5py", "keras")
    path = os.fspath(path)
    check_destination(path, "save_weights")
    _, weights, _ = keras_files(model)
    write_atomically(path, _write_weights(h5py, weights))
    return path

