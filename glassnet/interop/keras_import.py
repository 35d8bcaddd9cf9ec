"""A glassnet model from a Keras 3 ``.keras`` file: its architecture (``config.json``)
and its weights (``model.weights.h5``), read with ``zipfile``, ``json`` and ``h5py`` --
Keras itself is not needed, and nothing in the file is executed or imported. Each Keras
layer becomes the glassnet layer of the same name, by one table keyed by Keras's class
name; the weights are Keras's own arrays, which glassnet stores in Keras's layouts.
"""
import json
import zipfile

import numpy as np

from ..activations import ACTIVATION_NAMES, Activation
from ..attention import MultiHeadAttention
from ..conv import (AvgPool2D, Conv1D, Conv2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                    MaxPool2D)
from ..files import open_regular
from ..functional import Input, Model
from ..layers import Dense, Dropout, Embedding, Flatten, Permute
from ..limits import DEFAULT, json_depth
from ..merging import Add, Average, Concatenate, Multiply, Subtract
from ..model import Sequential, snake
from ..normalization import BatchNorm, LayerNorm
from ..recurrent import GRU, LSTM, SimpleRNN
from . import requires

SUBLAYERS = {"MultiHeadAttention": ["query_dense", "key_dense", "value_dense",
                                    "output_dense"],
             "SimpleRNN": ["cell"], "LSTM": ["cell"], "GRU": ["cell"]}


def _activation(config, where):
    name = config.get("activation", "linear")
    if not isinstance(name, str) or name not in ACTIVATION_NAMES:
        raise ValueError(f"load_keras: {where} uses the activation {str(name)[:60]}; glassnet "
                         f"has {', '.join(ACTIVATION_NAMES)}.")
    return name


def _require(config, where, **expected):
    for key, value in expected.items():
        if key in config and config[key] != value:
            raise ValueError(f"load_keras: {where} has {key}={config[key]!r}; glassnet reads "
                             f"{key}={value!r} only.")


def _layer(kind, c, where):
    """The glassnet layer for one Keras layer config (the one table)."""
    if kind == "Dense":
        return Dense(c["units"], activation=_activation(c, where), use_bias=c["use_bias"])
    if kind in ("Conv2D", "Conv1D"):
        _require(c, where, data_format="channels_last", groups=1)
        cls = Conv2D if kind == "Conv2D" else Conv1D
        one = kind == "Conv1D"
        pick = (lambda v: v[0] if isinstance(v, list) else v) if one else \
            (lambda v: tuple(v) if isinstance(v, list) else v)
        return cls(c["filters"], pick(c["kernel_size"]), strides=pick(c["strides"]),
                   padding=c["padding"], dilation_rate=pick(c["dilation_rate"]),
                   activation=_activation(c, where), use_bias=c["use_bias"])
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        _require(c, where, data_format="channels_last")
        cls = MaxPool2D if kind == "MaxPooling2D" else AvgPool2D
        return cls(tuple(c["pool_size"]), strides=tuple(c["strides"] or c["pool_size"]),
                   padding=c["padding"])
    if kind in ("GlobalAveragePooling2D", "GlobalAveragePooling1D"):
        _require(c, where, data_format="channels_last", keepdims=False)
        return GlobalAveragePooling2D() if kind.endswith("2D") else GlobalAveragePooling1D()
    if kind == "Flatten":
        return Flatten()
    if kind == "Dropout":
        return Dropout(c["rate"])
    if kind == "Permute":
        return Permute(tuple(c["dims"]))
    if kind == "BatchNormalization":
        _require(c, where, axis=-1, center=True, scale=True)
        return BatchNorm(momentum=c["momentum"], epsilon=c["epsilon"])
    if kind == "LayerNormalization":
        axis = c.get("axis", -1)
        if axis not in (-1, [-1]):
            raise ValueError(f"load_keras: {where} normalises axis {axis}; glassnet the last.")
        _require(c, where, center=True, scale=True)
        return LayerNorm(epsilon=c["epsilon"])
    if kind == "Embedding":
        _require(c, where, mask_zero=False)
        return Embedding(c["input_dim"], c["output_dim"])
    if kind in ("SimpleRNN", "LSTM", "GRU"):
        _require(c, where, activation="tanh", use_bias=True, go_backwards=False,
                 stateful=False, return_state=False)
        if kind != "SimpleRNN":
            _require(c, where, recurrent_activation="sigmoid")
        options = {"return_sequences": c["return_sequences"]}
        if kind == "GRU":
            options["reset_after"] = c["reset_after"]
        return {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}[kind](c["units"], **options)
    if kind == "MultiHeadAttention":
        _require(c, where, use_gate=False)
        if c.get("attention_axes") not in (None, [1], (1,)):
            raise ValueError(f"load_keras: {where} attends over axes {c['attention_axes']}; "
                             f"glassnet over time (axis 1).")
        out = c.get("output_shape")
        return MultiHeadAttention(c["num_heads"], c["key_dim"], c.get("value_dim"),
                                  output_dim=out[-1] if isinstance(out, list) else out,
                                  use_bias=c["use_bias"])
    if kind == "Activation":
        return Activation(_activation(c, where))
    if kind == "ReLU":
        _require(c, where, max_value=None, negative_slope=0.0, threshold=0.0)
        return Activation("relu")
    if kind == "LeakyReLU":
        return Activation("leaky_relu", alpha=c["negative_slope"])
    if kind == "Softmax":
        _require(c, where, axis=-1)
        return Activation("softmax")
    if kind in ("Add", "Subtract", "Multiply", "Average"):
        return {"Add": Add, "Subtract": Subtract, "Multiply": Multiply,
                "Average": Average}[kind]()
    if kind == "Concatenate":
        return Concatenate(axis=c["axis"])
    raise ValueError(f"load_keras: {where} is a {kind[:60]}, which glassnet does not read. It "
                     f"reads Dense, Conv1D, Conv2D, pooling, Flatten, Dropout, Permute, "
                     f"BatchNormalization, LayerNormalization, Embedding, SimpleRNN, LSTM, "
                     f"GRU, MultiHeadAttention, activations and merges.")


def _weights(h5, name, kind):
    """A Keras layer's arrays, in its get_weights() order."""
    group = h5.get(f"layers/{name}")
    if group is None:
        return []
    groups = [group] + [group[s] for s in SUBLAYERS.get(kind, []) if s in group]
    arrays = []
    for g in groups if kind not in SUBLAYERS else groups[1:]:
        vars_ = g.get("vars")
        if vars_ is not None:
            arrays += [np.asarray(vars_[str(i)]) for i in range(len(vars_))]
    return arrays


def h5_names(kinds):
    """The names Keras's saver gives a model's layers in the weights file: the class name
    in snake case, numbered from the second of a kind ('dense', 'dense_1', ...)."""
    used, names = {}, []
    for kind in kinds:
        name = snake(kind)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        names.append(name)
    return names


def _tensor_sources(arg):
    """The layer names a Keras call argument reads (a tensor, or a list of them)."""
    if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
        return [arg["config"]["keras_history"][0]]
    if isinstance(arg, list):
        return [name for a in arg for name in _tensor_sources(a)]
    return []


def load_keras(path, dtype="float32", max_bytes=DEFAULT.max_file_bytes):
    """A glassnet model (Sequential or functional Model) with the architecture and the
    weights of a Keras 3 ``.keras`` file. Needs ``h5py`` (``pip install
    'glassnet[keras]'``), not Keras. Layers glassnet does not have, and options that change
    what a layer computes, are refused with the layer's name."""
    h5py = requires("h5py", "keras")
    f, _ = open_regular(path, "load_keras", max_bytes)
    with f, zipfile.ZipFile(f) as archive:
        names = set(archive.namelist())
        if not {"config.json", "model.weights.h5"} <= names:
            raise ValueError(f"load_keras: {str(path)!r} is not a Keras 3 .keras file (it has "
                             f"no config.json and model.weights.h5).")
        info = archive.getinfo("config.json")
        if info.file_size > 64 << 20:
            raise ValueError("load_keras: config.json is larger than 64 MiB.")
        text = archive.read("config.json").decode("utf-8")
        json_depth(text, DEFAULT.max_json_depth * 4)
        config = json.loads(text)
        weights_info = archive.getinfo("model.weights.h5")
        if weights_info.file_size > max_bytes:
            raise ValueError(f"load_keras: the weights are {weights_info.file_size:,} bytes, "
                             f"more than {max_bytes:,}.")
        import io
        h5 = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    kind = config.get("class_name")
    layers_config = config.get("config", {}).get("layers", [])
    built = {}
    if kind == "Sequential":
        first, rest = layers_config[0], layers_config[1:]
        if first.get("class_name") != "InputLayer":
            raise ValueError("load_keras: the Sequential has no Input; glassnet needs the "
                             "input shape (build the Keras model with keras.Input).")
        shape = first["config"]["batch_shape"][1:]
        layers = []
        stored = h5_names([entry["class_name"] for entry in rest])
        for entry, key in zip(rest, stored):
            name = entry["config"]["name"]
            layer = _layer(entry["class_name"], entry["config"], f"layer {name!r}")
            layer.name = name
            layers.append(layer)
            built[key] = (layer, entry["class_name"])
        model = Sequential(layers, input_shape=tuple(shape), dtype=dtype)
    elif kind == "Functional":
        tensors, inputs = {}, []
        stored = h5_names([entry["class_name"] for entry in layers_config])
        for entry, key in zip(layers_config, stored):
            c, name = entry["config"], entry["config"]["name"]
            if entry["class_name"] == "InputLayer":
                tensors[name] = Input(tuple(c["batch_shape"][1:]), name=name)
                inputs.append(tensors[name])
                continue
            nodes = entry.get("inbound_nodes", [])
            if len(nodes) != 1:
                raise ValueError(f"load_keras: layer {name!r} is called {len(nodes)} times; "
                                 f"glassnet calls each layer once (no shared layers).")
            sources = _tensor_sources(nodes[0].get("args", []))
            layer = _layer(entry["class_name"], c, f"layer {name!r}")
            if entry["class_name"] == "MultiHeadAttention":
                if len(set(sources)) != 1:
                    raise ValueError(f"load_keras: layer {name!r} attends across two "
                                     f"sequences; glassnet's attention is self-attention.")
                layer.causal = bool(nodes[0].get("kwargs", {}).get("use_causal_mask"))
                sources = sources[:1]
            layer.name = name
            given = [tensors[s] for s in sources]
            tensors[name] = layer(given if layer.many_inputs else given[0])
            built[key] = (layer, entry["class_name"])
        def entries(value):                      # one [name, 0, 0] or a list of them
            return [value] if value and isinstance(value[0], str) else value
        wanted = {entry[0] for entry in entries(config["config"]["input_layers"])}
        outputs = entries(config["config"]["output_layers"])
        if len(outputs) != 1:
            raise ValueError("load_keras: glassnet models have one output.")
        model = Model([t for t in inputs if t.name in wanted], tensors[outputs[0][0]],
                      dtype=dtype)
    else:
        raise ValueError(f"load_keras: the file holds a {str(kind)[:60]}; glassnet reads "
                         f"Sequential and functional models.")
    model.build()
    with h5:
        for name, (layer, keras_kind) in built.items():
            arrays = _weights(h5, name, keras_kind)
            if arrays or layer.get_weights():
                layer.set_weights(arrays)
    return model
