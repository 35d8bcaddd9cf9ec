"""Model specifications: a compact string or a JSON file, turned into a Sequential.

The compact form lists the input size, then one layer per ``-``-separated token:

    784-256:relu-dropout:0.2-128:relu-10:softmax
    8x8-flatten-64:relu-batchnorm-10:softmax
    28x28x1-conv:8:3:relu-maxpool:2-conv:16:3:relu-maxpool:2-flatten-10:softmax

Tokens: ``N`` or ``N:activation`` (Dense with N units), ``dropout:RATE``,
``batchnorm``, ``flatten``, ``conv:FILTERS:KERNEL[:activation]`` (Conv2D, 'same'
padding with ``conv:F:K:act:same``), ``conv1d:F:K[:activation]``, ``maxpool:P``,
``avgpool:P``, ``gap`` / ``gap1d`` (global average pooling), ``embed:VOCAB:DIM``,
``rnn:U``, ``lstm:U``, ``gru:U`` (``:seq`` returns every step), ``layernorm``,
``attention:HEADS:KEY_DIM[:causal]``, or an activation name on its own. The first
token is the shape of one sample (``784``, ``8x8``, ``28x28x1``, or ``20`` tokens).
Residual blocks need the JSON form.

    20-embed:1000:32-lstm:64:seq-attention:4:16:causal-gap1d-2:softmax

A JSON file holds what ``model.get_config()`` returns. Only known layers and options are
accepted, and nothing from a spec is ever evaluated or imported.
"""
import json
import os

from ..layers.activations import ACTIVATION_NAMES, Activation
from ..layers.attention import MultiHeadAttention
from ..files import open_regular
from ..limits import DEFAULT, check_count, json_depth
from ..layers.conv import (AvgPool2D, Conv1D, Conv2D, GlobalAveragePooling1D,
                           GlobalAveragePooling2D, MaxPool2D)
from ..layers.dense import Dense, Dropout, Embedding, Flatten
from .functional import Model
from .sequential import Sequential
from ..layers.normalization import BatchNorm, LayerNorm
from ..layers.recurrent import GRU, LSTM, SimpleRNN


def _refuse(spec, index, token, problem):
    raise ValueError(f"model spec {spec!r}, token {index} {token!r}: {problem}. Example of a "
                     f"valid spec: 784-256:relu-dropout:0.2-10:softmax.")


def _input_shape(spec, token):
    try:
        shape = tuple(int(part) for part in token.split("x") if len(part) <= 12)
    except ValueError:
        shape = ()
    if not shape or len(shape) != len(token.split("x")) or min(shape) <= 0:
        _refuse(spec, 1, token, "the first token must be the input size, such as 784 or 8x8")
    return shape


def _layer(spec, index, token):
    name, _, arg = token.partition(":")
    if name.isascii() and name.isdigit():
        if arg and arg not in ACTIVATION_NAMES:
            _refuse(spec, index, token, f"unknown activation {arg!r}; known: "
                                        f"{', '.join(ACTIVATION_NAMES)}")
        if int(name) <= 0:
            _refuse(spec, index, token, "a Dense layer needs at least 1 unit")
        return Dense(int(name), activation=arg or None)
    if name == "conv":
        parts = arg.split(":")
        try:
            filters, kernel = int(parts[0]), int(parts[1])
        except (ValueError, IndexError):
            _refuse(spec, index, token, "conv takes FILTERS:KERNEL[:activation[:same]], as "
                                        "in conv:8:3:relu")
        activation = parts[2] if len(parts) > 2 and parts[2] else None
        if activation is not None and activation not in ACTIVATION_NAMES:
            _refuse(spec, index, token, f"unknown activation {activation!r}")
        padding = parts[3] if len(parts) > 3 else "valid"
        return Conv2D(filters, kernel, padding=padding, activation=activation)
    if name in ("rnn", "lstm", "gru", "embed", "attention", "conv1d"):
        return _sequence_layer(spec, index, token, name, arg.split(":") if arg else [])
    if name in ("maxpool", "avgpool"):
        try:
            size = int(arg)
        except ValueError:
            _refuse(spec, index, token, f"{name} takes a pool size, as in {name}:2")
        return (MaxPool2D if name == "maxpool" else AvgPool2D)(size)
    if name == "dropout":
        try:
            return Dropout(float(arg))
        except ValueError:
            _refuse(spec, index, token, "dropout takes a rate in [0, 1), as in dropout:0.2")
    makers = {"batchnorm": BatchNorm, "bn": BatchNorm, "flatten": Flatten,
              "gap": GlobalAveragePooling2D, "gap1d": GlobalAveragePooling1D,
              "layernorm": LayerNorm, "ln": LayerNorm,
              **{a: (lambda a=a: Activation(a)) for a in ACTIVATION_NAMES}}
    if name not in makers:
        _refuse(spec, index, token, "unknown layer; use N[:activation], dropout:RATE, "
                                    "batchnorm, flatten, conv:F:K, conv1d:F:K, maxpool:P, "
                                    "avgpool:P, gap, gap1d, embed:V:D, rnn:U, lstm:U, gru:U, "
                                    "layernorm, attention:H:K or an activation name")
    if arg:
        _refuse(spec, index, token, f"{name!r} takes no option")
    return makers[name]()


def _sequence_layer(spec, index, token, name, parts):
    usage = {"rnn": "rnn:UNITS[:seq]", "lstm": "lstm:UNITS[:seq]", "gru": "gru:UNITS[:seq]",
             "embed": "embed:VOCAB:DIM", "attention": "attention:HEADS:KEY_DIM[:causal]",
             "conv1d": "conv1d:FILTERS:KERNEL[:activation]"}[name]
    numbers = [int(p) for p in parts if p.isascii() and p.isdigit() and len(p) <= 12]
    flags = [p for p in parts if not (p.isascii() and p.isdigit())]
    needed = 2 if name in ("embed", "attention", "conv1d") else 1
    allowed = {"rnn": {"seq"}, "lstm": {"seq"}, "gru": {"seq"}, "embed": set(),
               "attention": {"causal"}, "conv1d": set(ACTIVATION_NAMES)}[name]
    if len(numbers) != needed or not set(flags) <= allowed or parts[:needed] != \
            [str(n) for n in numbers]:
        _refuse(spec, index, token, f"{name} takes {usage}")
    if name in ("rnn", "lstm", "gru"):
        cell = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[name]
        return cell(numbers[0], return_sequences="seq" in flags)
    if name == "embed":
        return Embedding(*numbers)
    if name == "attention":
        return MultiHeadAttention(*numbers, causal="causal" in flags)
    return Conv1D(*numbers, activation=flags[0] if flags else None)


MAX_SPEC_CHARS = 100_000
MAX_CONFIG_BYTES = 64 * 1024 * 1024


def parse_spec(spec, seed=0, dtype="float32", limits=None):
    """A Sequential from a compact spec string (see the module docstring)."""
    limits = limits or DEFAULT
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"model spec: expected a string such as 784-256:relu-10:softmax, "
                         f"got {spec!r}.")
    if len(spec) > MAX_SPEC_CHARS:
        raise ValueError(f"model spec: {len(spec):,} characters is too long for a spec "
                         f"(at most {MAX_SPEC_CHARS:,}); write a JSON config instead.")
    tokens = [t.strip().lower() for t in spec.strip().split("-")]
    if len(tokens) < 2 or not all(tokens):
        raise ValueError(f"model spec {spec[:200]!r}: expected the input size and at least one "
                         f"layer, separated by '-', as in 64-32:relu-10:softmax.")
    check_count("model spec: the layers", len(tokens) - 1, limits.max_layers, "max_layers")
    shape = _input_shape(spec, tokens[0])
    layers = [_layer(spec, i, t) for i, t in enumerate(tokens[1:], 2)]
    return Sequential(layers, input_shape=shape, seed=seed, dtype=dtype, limits=limits)


def load_spec(text, seed=0, dtype="float32", limits=None):
    """A model from a spec string or a path to a JSON model config (Sequential or Model)."""
    limits = limits or DEFAULT
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"model: expected a spec such as 784-256:relu-10:softmax or a JSON "
                         f"config file, got {text!r}.")
    if text.endswith(".json") or os.path.exists(text):
        f, _ = open_regular(text, "model config", MAX_CONFIG_BYTES)
        with f:
            raw = f.read()
        try:
            document = raw.decode("utf-8-sig")
            json_depth(document, limits.max_json_depth)
            config = json.loads(document)
        except (UnicodeDecodeError, ValueError) as error:
            raise ValueError(f"model config {text!r}: not valid JSON ({error}).") from None
        if not isinstance(config, dict) or not isinstance(config.get("layers", config.get(
                "nodes")), list):
            raise ValueError(f"model config {text!r}: expected a JSON object with a 'layers' "
                             f"list, as written by model.get_config().")
        config = {**config, "seed": seed, "dtype": dtype}
        kind = config.get("type", config.get("class", "Sequential"))
        if kind not in ("Sequential", "Model"):
            raise ValueError(f"model config {text!r}: expected a Sequential or a Model, "
                             f"got {str(kind)[:50]!r}.")
        return (Model if kind == "Model" else Sequential).from_config(config, limits=limits)
    return parse_spec(text, seed, dtype, limits)
