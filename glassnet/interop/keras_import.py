"""A glassnet model from a Keras 3 ``.keras`` file: its architecture (``config.json``),
its weights (``model.weights.h5``) and its compile configuration, read with ``zipfile``,
``json`` and ``h5py`` -- Keras itself is not needed, and nothing in the file is executed
or imported. Each Keras layer becomes the glassnet layer of the same name, by one table
keyed by Keras's class name; the weights are Keras's own arrays, which glassnet stores in
Keras's layouts.

The file is read as a hostile one would be (nothing in it is trusted):

- the zip's members are sized from their declared sizes before anything is inflated
  (``config.json`` at most 4 MiB; a member that declares more than 10 times what it
  stores, beyond 8 MiB, is a decompression bomb), then inflated a MiB at a time with
  that cap -- the weights into a temporary file, not into memory;
- the JSON's nesting and number of objects are counted before it is parsed;
- the model's parameters must fit in the weights the file declares, before any is
  allocated;
- only the HDF5 objects the architecture names are opened, through hard links only (a
  soft or external link is refused); each dataset must have the shape and a float type
  the layer expects and plain data inside the file (contiguous, chunked or compact, no
  filters, no external storage, no virtual dataset, all its bytes stored) before it is
  read.

Where Keras is installed, the model is then checked against Keras itself (``verify``):
both run the same random inputs in float64, and a layer whose outputs differ is named.
"""
import contextlib
import contextvars
import json
import math
import os
import tempfile
import warnings
import zipfile
import zlib
from io import BytesIO

import numpy as np

from ..layers.activations import ACTIVATION_NAMES, Activation
from ..layers.attention import MultiHeadAttention
from ..layers.conv import (AvgPool2D, Conv1D, Conv2D, GlobalAveragePooling1D,
                           GlobalAveragePooling2D, MaxPool2D)
from ..files import inflate, json_nesting, open_regular
from ..network.functional import Input, Model
from ..initializers import INITIALIZERS
from ..layers.dense import Dense, Dropout, Embedding, Flatten, Permute
from ..limits import DEFAULT
from ..layers.merging import Add, Average, Concatenate, Multiply, Subtract
from ..network.graph import snake
from ..network.sequential import Sequential
from ..layers.normalization import BatchNorm, LayerNorm
from ..layers.recurrent import GRU, LSTM, SimpleRNN
from .common import requires
from .keras_export import keras_files, optimizer_layout
from .keras_layout import SUBLAYERS, h5_names

MAX_CONFIG_BYTES = 4 << 20               # config.json: large models' are a few hundred KiB
MAX_CONTAINERS = 200_000                 # JSON objects and lists in config.json
EXPANSION, EXPANSION_FLOOR = 10, 8 << 20  # Keras stores members uncompressed (1:1)
FIX_SAVE = "Save the model again with Keras 3 (model.save('model.keras'))."


class KerasFileError(ValueError):
    """A .keras file that glassnet refuses, with the file, the field and the fix."""


READER = contextvars.ContextVar("reader", default="load_keras")   # who reads: the messages' name


def _refuse(path, problem, fix=FIX_SAVE):
    raise KerasFileError(f"{READER.get()}: cannot read {os.fspath(path)!r}: {problem}. {fix}")


@contextlib.contextmanager
def _field_errors(path, where):
    """Turn what a damaged config makes Python raise (a missing key, a wrong type) into
    one line naming the file and the place."""
    try:
        yield
    except KerasFileError:
        raise
    except KeyError as error:
        _refuse(path, f"{where} has no field {str(error.args[0])[:60]!r}")
    except (TypeError, ValueError, AttributeError, IndexError) as error:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        _refuse(path, f"{where}: {text[:300]}", "Fix or remove it in Keras and save again.")


# --- the zip --------------------------------------------------------------------------------
def _read_zip(f, path, store, max_bytes):
    """(config bytes, size of the weights file now in ``store``)."""
    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError) as error:
        _refuse(path, f"it is not a zip archive, so not a Keras 3 .keras file ({error})",
                "Give the file that Keras's model.save('....keras') wrote.")
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            _refuse(path, "it holds two zip members of the same name (a file built to "
                          "show one reader something else than another)")
        members = {info.filename: info for info in infos}
        if not {"config.json", "model.weights.h5"} <= set(members):
            _refuse(path, "it is not a Keras 3 .keras file (it has no config.json and "
                          "model.weights.h5)",
                    "Keras 2 .h5 files are not read; load and save the model with Keras 3.")
        caps = {"config.json": MAX_CONFIG_BYTES, "model.weights.h5": max_bytes}
        for name, cap in caps.items():
            info = members[name]
            if info.flag_bits & 1:
                _refuse(path, f"its {name} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                _refuse(path, f"its {name} is compressed with method {info.compress_type} "
                              f"(Keras stores members uncompressed; glassnet reads stored "
                              f"or deflated ones)")
            if info.file_size > cap:
                _refuse(path, f"its {name} declares {info.file_size:,} bytes, more than the "
                              f"limit of {cap:,}",
                        "Pass a larger max_bytes if the file is what you meant."
                        if name != "config.json" else FIX_SAVE)
            if info.file_size > max(EXPANSION_FLOOR, EXPANSION * info.compress_size):
                _refuse(path, f"its {name} declares {info.file_size:,} bytes but stores "
                              f"{info.compress_size:,}: a decompression bomb")
        try:
            config = BytesIO()
            inflate(archive, members["config.json"], members["config.json"].file_size,
                    config, lambda problem: _refuse(path, problem))
            size = inflate(archive, members["model.weights.h5"],
                           members["model.weights.h5"].file_size, store,
                           lambda problem: _refuse(path, problem))
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError,
                NotImplementedError) as error:
            if isinstance(error, KerasFileError):
                raise
            _refuse(path, f"its zip data is damaged ({str(error)[:200]})",
                    "Use a good copy of the file.")
    return config.getvalue(), size


def _parse_config(path, data, limits):
    try:
        json_nesting(data, limits.max_json_depth * 4, MAX_CONTAINERS)
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        _refuse(path, f"its config.json is not valid JSON ({str(error)[:200]})")
    if not isinstance(config, dict):
        _refuse(path, "its config.json is not a JSON object")
    return config


# --- the layers -----------------------------------------------------------------------------
def _activation(config):
    name = config.get("activation", "linear")
    if not isinstance(name, str) or name not in ACTIVATION_NAMES:
        raise ValueError(f"it uses the activation {str(name)[:60]}; glassnet has "
                         f"{', '.join(ACTIVATION_NAMES)}")
    return name


def _require(config, **expected):
    for key, value in expected.items():
        if key in config and config[key] != value:
            raise ValueError(f"it has {key}={config[key]!r}; glassnet reads {key}={value!r} "
                             f"only")


def _absent(config):
    """Refuse options that change what a layer computes or learns and that glassnet does
    not have, naming the option (rather than dropping it without a word)."""
    for key, value in config.items():
        off = value in (None, 0, 0.0, False)
        if (key.endswith(("_regularizer", "_constraint")) or key in (
                "dropout", "recurrent_dropout", "noise_shape", "lora_rank",
                "quantization_config", "sliding_window")) and not off:
            shown = value.get("class_name", value) if isinstance(value, dict) else value
            raise ValueError(f"it has {key}={str(shown)[:60]}, which glassnet does not have; "
                             f"it would be lost")
    policy = config.get("dtype")
    name = policy.get("config", {}).get("name") if isinstance(policy, dict) else policy
    if name not in (None, "float32", "float64"):
        raise ValueError(f"it computes in {str(name)[:40]}; glassnet in float32 or float64")


def _initializers(config, *keys):
    """The initialisers glassnet has, by their names (weights come from the file; these
    matter only if the model is re-initialised)."""
    options = {}
    for key in keys:
        value = config.get(key)
        name = snake(value["class_name"]) if isinstance(value, dict) and \
            isinstance(value.get("class_name"), str) else value
        if isinstance(name, str) and name in INITIALIZERS:
            options[key] = name
    return options


def _regularizers(c):
    """Keras's L1, L2 and L1L2 kernel and bias regularizers as glassnet's (removed from
    ``c``, so that ``_absent`` refuses only what glassnet lacks)."""
    from ..regularizers import REGULARIZERS
    found = {}
    for key in ("kernel_regularizer", "bias_regularizer"):
        value = c.get(key)
        if isinstance(value, dict) and value.get("class_name") in REGULARIZERS and \
                isinstance(value.get("config"), dict):
            found[key] = {"type": value["class_name"], **value["config"]}
            c = {k: v for k, v in c.items() if k != key}
    return c, found


def _layer(kind, c):
    """The glassnet layer for one Keras layer config (the one table)."""
    c, penalties = _regularizers(c) if kind in ("Dense", "Conv2D", "Conv1D") else (c, {})
    _absent(c)
    weighted = {**_initializers(c, "kernel_initializer", "bias_initializer"), **penalties}
    if kind == "Dense":
        return Dense(c["units"], activation=_activation(c), use_bias=c["use_bias"],
                     **weighted)
    if kind in ("Conv2D", "Conv1D"):
        _require(c, data_format="channels_last", groups=1)
        cls = Conv2D if kind == "Conv2D" else Conv1D
        one = kind == "Conv1D"
        pick = (lambda v: v[0] if isinstance(v, list) else v) if one else \
            (lambda v: tuple(v) if isinstance(v, list) else v)
        return cls(c["filters"], pick(c["kernel_size"]), strides=pick(c["strides"]),
                   padding=c["padding"], dilation_rate=pick(c["dilation_rate"]),
                   activation=_activation(c), use_bias=c["use_bias"], **weighted)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        _require(c, data_format="channels_last")
        cls = MaxPool2D if kind == "MaxPooling2D" else AvgPool2D
        return cls(tuple(c["pool_size"]), strides=tuple(c["strides"] or c["pool_size"]),
                   padding=c["padding"])
    if kind in ("GlobalAveragePooling2D", "GlobalAveragePooling1D"):
        _require(c, data_format="channels_last", keepdims=False)
        return GlobalAveragePooling2D() if kind.endswith("2D") else GlobalAveragePooling1D()
    if kind == "Flatten":
        return Flatten()
    if kind == "Dropout":
        return Dropout(c["rate"], seed=c.get("seed"))
    if kind == "Permute":
        return Permute(tuple(c["dims"]))
    if kind == "BatchNormalization":
        _require(c, axis=-1, center=True, scale=True, synchronized=False)
        return BatchNorm(momentum=c["momentum"], epsilon=c["epsilon"])
    if kind == "LayerNormalization":
        axis = c.get("axis", -1)
        if axis not in (-1, [-1]):
            raise ValueError(f"it normalises axis {axis}; glassnet the last")
        _require(c, center=True, scale=True, rms_scaling=False)
        return LayerNorm(epsilon=c["epsilon"])
    if kind == "Embedding":
        _require(c, mask_zero=False)
        return Embedding(c["input_dim"], c["output_dim"],
                         **{"embeddings_initializer": init for init in _initializers(
                             c, "embeddings_initializer").values()})
    if kind in ("SimpleRNN", "LSTM", "GRU"):
        _require(c, activation="tanh", use_bias=True, go_backwards=False,
                 stateful=False, return_state=False)
        if kind != "SimpleRNN":
            _require(c, recurrent_activation="sigmoid")
        options = {"return_sequences": c["return_sequences"],
                   **_initializers(c, "kernel_initializer", "recurrent_initializer",
                                   "bias_initializer")}
        if kind == "GRU":
            options["reset_after"] = c["reset_after"]
        if kind == "LSTM":
            _require(c, unit_forget_bias=c.get("unit_forget_bias", True))
        return {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}[kind](c["units"], **options)
    if kind == "MultiHeadAttention":
        _require(c, use_gate=False)
        if c.get("attention_axes") not in (None, [1], (1,)):
            raise ValueError(f"it attends over axes {c['attention_axes']}; glassnet over "
                             f"time (axis 1)")
        out = c.get("output_shape")
        return MultiHeadAttention(c["num_heads"], c["key_dim"], c.get("value_dim"),
                                  output_dim=out[-1] if isinstance(out, list) else out,
                                  use_bias=c["use_bias"],
                                  **_initializers(c, "kernel_initializer"))
    if kind == "Activation":
        return Activation(_activation(c))
    if kind == "ReLU":
        _require(c, max_value=None, negative_slope=0.0, threshold=0.0)
        return Activation("relu")
    if kind == "LeakyReLU":
        return Activation("leaky_relu", alpha=c["negative_slope"])
    if kind == "Softmax":
        _require(c, axis=-1)
        return Activation("softmax")
    if kind in ("Add", "Subtract", "Multiply", "Average"):
        return {"Add": Add, "Subtract": Subtract, "Multiply": Multiply,
                "Average": Average}[kind]()
    if kind == "Concatenate":
        return Concatenate(axis=c["axis"])
    raise ValueError(f"is a {str(kind)[:60]}, which glassnet does not read. It reads Dense, "
                     f"Conv1D, Conv2D, pooling, Flatten, Dropout, Permute, "
                     f"BatchNormalization, LayerNormalization, Embedding, SimpleRNN, LSTM, "
                     f"GRU, MultiHeadAttention, activations and merges")


def _make(path, entry):
    """(glassnet layer, Keras class name, name) for one entry of config.json's layers."""
    name = entry["config"]["name"] if isinstance(entry, dict) and isinstance(
        entry.get("config"), dict) else None
    if not isinstance(name, str) or not name:
        _refuse(path, f"a layer in its config.json has no name ({str(entry)[:80]})")
    where = f"layer {name[:60]!r}"
    kind = entry.get("class_name")
    try:
        layer = _layer(kind, entry["config"])
    except KeyError as error:
        _refuse(path, f"{where} ({str(kind)[:40]}) has no field {str(error.args[0])[:60]!r} "
                      f"in its config")
    except (TypeError, ValueError) as error:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        fix = ("Remove it from the Keras model and save again, or build the model in "
               "glassnet." if "does not have" in text or "glassnet reads" in text
               else "Fix it in Keras and save again.")
        said = f"{where} {text.removeprefix('it ')}" if text.startswith(("it ", "is a")) \
            else f"{where}: {text}"
        _refuse(path, said[:400], fix)
    layer.name = name
    if entry["config"].get("trainable") is False:
        layer.trainable = False
    return layer, kind, name


def _tensor_sources(arg):
    """The layer names a Keras call argument reads (a tensor, or a list of them)."""
    if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
        return [arg["config"]["keras_history"][0]]
    if isinstance(arg, list):
        return [name for a in arg for name in _tensor_sources(a)]
    return []


def _shape(path, entry):
    shape = entry["config"]["batch_shape"]
    if not isinstance(shape, list) or not shape or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape[1:]):
        _refuse(path, f"its input {entry['config'].get('name')!r} has the shape "
                      f"{str(shape)[:60]}; glassnet needs every size but the batch's",
                "Build the Keras model with keras.Input(shape) of known sizes.")
    return tuple(shape[1:])


def _model(path, config, dtype, limits):
    """(glassnet model, {weights-file name: (layer, Keras class name)}) from config.json,
    nothing allocated."""
    kind = config.get("class_name")
    body = config.get("config")
    layers_config = body.get("layers") if isinstance(body, dict) else None
    if kind not in ("Sequential", "Functional") or not isinstance(layers_config, list):
        _refuse(path, f"it holds a {str(kind)[:60]}; glassnet reads Sequential and "
                      f"functional models", "Save a keras.Sequential or keras.Model.")
    if len(layers_config) > limits.max_layers:
        _refuse(path, f"it has {len(layers_config):,} layers, more than the limit of "
                      f"{limits.max_layers:,}", "Pass limits=glassnet.Limits(max_layers=...).")
    for entry in layers_config:
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) or \
                not isinstance(entry.get("config"), dict):
            _refuse(path, f"an entry of its layers is not a Keras layer "
                          f"({str(entry)[:80]})")
    built = {}
    if kind == "Sequential":
        if not layers_config or not isinstance(layers_config[0], dict) or \
                layers_config[0].get("class_name") != "InputLayer":
            _refuse(path, "the Sequential has no Input; glassnet needs the input shape",
                    "Build the Keras model with keras.Input(shape) first.")
        shape = _shape(path, layers_config[0])
        layers = []
        rest = layers_config[1:]
        for entry, key in zip(rest, h5_names([e["class_name"] for e in rest])):
            layer, keras_kind, _ = _make(path, entry)
            layers.append(layer)
            built[key] = (layer, keras_kind)
        with _field_errors(path, "the Sequential"):
            return Sequential(layers, input_shape=shape, dtype=dtype, limits=limits), built
    tensors, inputs = {}, []
    for entry, key in zip(layers_config, h5_names([e["class_name"] for e in layers_config])):
        if entry["class_name"] == "InputLayer":
            with _field_errors(path, "an input layer"):
                name = entry["config"]["name"]
                tensors[name] = Input(_shape(path, entry), name=name)
            inputs.append(tensors[name])
            continue
        layer, keras_kind, name = _make(path, entry)
        with _field_errors(path, f"layer {name[:60]!r}"):
            nodes = entry.get("inbound_nodes", [])
            if len(nodes) != 1:
                _refuse(path, f"layer {name[:60]!r} is called {len(nodes)} times; glassnet "
                              f"calls each layer once (no shared layers)",
                        "Make one layer per call in Keras.")
            sources = _tensor_sources(nodes[0].get("args", []))
            if keras_kind == "MultiHeadAttention":
                if len(set(sources)) != 1:
                    _refuse(path, f"layer {name[:60]!r} attends across two sequences; "
                                  f"glassnet's attention is self-attention",
                            "Call it as layer(x, x).")
                layer.causal = bool(nodes[0].get("kwargs", {}).get("use_causal_mask"))
                sources = sources[:1]
            missing = [s for s in sources if s not in tensors]
            if missing or not sources:
                _refuse(path, f"layer {name[:60]!r} reads {str(missing or 'nothing')[:60]}, "
                              f"which no earlier layer computes")
            given = [tensors[s] for s in sources]
            tensors[name] = layer(given if layer.many_inputs else given[0])
        built[key] = (layer, keras_kind)

    def entries(value):                          # one [name, 0, 0] or a list of them
        return [value] if value and isinstance(value[0], str) else value
    with _field_errors(path, "the model's inputs and outputs"):
        wanted = {entry[0] for entry in entries(body["input_layers"])}
        outputs = entries(body["output_layers"])
        if len(outputs) != 1 or outputs[0][0] not in tensors:
            _refuse(path, f"it has {len(outputs)} outputs; glassnet models have one",
                    "Join them with a Concatenate layer in Keras.")
        return Model([t for t in inputs if t.name in wanted], tensors[outputs[0][0]],
                     dtype=dtype, limits=limits), built


# --- the weights ----------------------------------------------------------------------------
def _child(h5py, path, group, name, where):
    """``group[name]`` through a hard link only; None when absent."""
    link = group.get(name, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        kind = "an external link" if isinstance(link, h5py.ExternalLink) else "a soft link"
        _refuse(path, f"its weights file's {where}/{name} is {kind}; glassnet reads only "
                      f"what is inside the file", "Use the file that Keras wrote.")
    return group[name]


def _dataset(h5py, path, ds, where, expected, file_size, kinds="f"):
    """The array of one weight, read only after its declaration has been checked."""
    h5d = h5py.h5d
    if not isinstance(ds, h5py.Dataset):
        _refuse(path, f"its weights file's {where} is not a dataset")
    plist = ds.id.get_create_plist()
    layout = plist.get_layout()
    if layout == h5d.VIRTUAL:
        _refuse(path, f"its weights file's {where} is a virtual dataset (its data is in "
                      f"other files)", "Use the file that Keras wrote.")
    if plist.get_external_count():
        _refuse(path, f"its weights file's {where} keeps its data in an external file",
                "Use the file that Keras wrote.")
    if layout not in (h5d.CONTIGUOUS, h5d.CHUNKED, h5d.COMPACT):
        _refuse(path, f"its weights file's {where} has an unknown storage layout {layout}")
    if plist.get_nfilters():
        _refuse(path, f"its weights file's {where} is stored through HDF5 filters "
                      f"(compression or plugins); Keras writes plain data",
                "Use the file that Keras wrote.")
    if tuple(ds.shape) != tuple(expected):
        _refuse(path, f"its weights file's {where} has shape {tuple(ds.shape)}; the layer "
                      f"needs {tuple(expected)}", "Save the weights with the architecture.")
    if ds.dtype.kind not in kinds or ds.dtype.itemsize not in (2, 4, 8):
        _refuse(path, f"its weights file's {where} holds {ds.dtype}; it should hold "
                      f"{'floats' if kinds == 'f' else 'a whole number'}")
    needed = math.prod(expected) * ds.dtype.itemsize
    stored = ds.id.get_storage_size()
    if stored < needed or (layout == h5d.CONTIGUOUS and stored != needed) or \
            stored > file_size:
        _refuse(path, f"its weights file's {where} stores {stored:,} bytes for {needed:,} "
                      f"bytes of data (the file is truncated or made up)")
    if layout == h5d.CONTIGUOUS:
        offset = ds.id.get_offset()
        if offset is None or offset + stored > file_size:
            _refuse(path, f"its weights file's {where} lies outside the file")
    return np.asarray(ds[()])


def _weights(h5py, path, h5, key, kind, expected, file_size):
    """A Keras layer's arrays, in its get_weights() order, each checked before reading."""
    layers = _child(h5py, path, h5, "layers", "")
    group = None if layers is None else _child(h5py, path, layers, key, "layers")
    where = f"layers/{key}"
    groups = [(group, where)] if kind not in SUBLAYERS or group is None else \
        [(_child(h5py, path, group, s, where), f"{where}/{s}") for s in SUBLAYERS[kind]]
    arrays = []
    for g, at in groups:
        if g is None:
            continue
        vars_ = _child(h5py, path, g, "vars", at)
        count = 0 if vars_ is None else len(vars_)
        if len(arrays) + count > len(expected):
            _refuse(path, f"its weights file's {at}/vars holds {count} arrays, more than "
                          f"the layer has", "Save the weights with the architecture.")
        for i in range(count):
            ds = _child(h5py, path, vars_, str(i), f"{at}/vars")
            if ds is None:
                _refuse(path, f"its weights file's {at}/vars has no array {i}")
            arrays.append(_dataset(h5py, path, ds, f"{at}/vars/{i}", expected[len(arrays)],
                                   file_size))
    if len(arrays) != len(expected):
        _refuse(path, f"its weights file holds {len(arrays)} arrays for layer {key!r}, "
                      f"which has {len(expected)}", "Save the weights with the architecture.")
    return arrays


def _optimizer_state(h5py, path, h5, model, built, file_size):
    """(step count, {slot: flat array}) of the Keras optimizer's variables, in glassnet's
    layout; None when the file holds none (an optimizer Keras has not built yet)."""
    group = _child(h5py, path, h5, "optimizer", "")
    group = None if group is None else _child(h5py, path, group, "vars", "optimizer")
    layout = None if model.loss is None else optimizer_layout(
        model, [layer for layer, _ in built.values()])
    count = 0 if group is None else len(group)
    if layout is None or count <= 2:                  # not trained yet: a fresh state
        return None
    if count != 2 + len(layout):
        _refuse(path, f"its optimizer has {count} variables; glassnet's "
                      f"{type(model.optimizer).__name__} for this model has {2 + len(layout)}",
                "Load it with compile=False.")

    def read(i, shape, kinds="f"):
        ds = _child(h5py, path, group, str(i), "optimizer/vars")
        if ds is None:
            _refuse(path, f"its weights file's optimizer/vars has no array {i}")
        return _dataset(h5py, path, ds, f"optimizer/vars/{i}", shape, file_size, kinds)
    steps = int(read(0, (), "iu"))
    if steps < 0:
        _refuse(path, f"its optimizer has taken {steps} steps")
    total = model.flat_params.size
    slots = {}
    for i, (name, start, shape, factor) in enumerate(layout, 2):
        value = read(i, shape) / factor
        if not np.isfinite(value).all():
            _refuse(path, f"its weights file's optimizer/vars/{i} holds NaN or Inf")
        flat = slots.setdefault(name, np.zeros(total, model.dtype))
        flat[start:start + value.size] = value.ravel()
    return steps, slots


def _read_weights(h5py, path, store, size, built, model=None):
    """({weights-file name: [arrays]} for every layer, the optimizer's state or None),
    read from the HDF5 file in store."""
    store.seek(0)
    try:
        with h5py.File(store, "r") as h5:
            arrays = {key: _weights(h5py, path, h5, key, kind,
                                    [w.shape for w in layer.get_weights()], size)
                      for key, (layer, kind) in built.items()}
            return arrays, _optimizer_state(h5py, path, h5, model, built, size)
    except KerasFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        member = "model.weights.h5" if READER.get() == "load_keras" else "HDF5 content"
        _refuse(path, f"its {member} is not a readable HDF5 file ({text[:200]})",
                "Use a good copy of the file.")


# --- compile --------------------------------------------------------------------------------
OFF = {"name": None, "use_ema": False, "ema_momentum": None, "ema_overwrite_frequency": None,
       "loss_scale_factor": None, "gradient_accumulation_steps": None, "clipnorm": None,
       "clipvalue": None, "global_clipnorm": None, "amsgrad": False, "weight_decay": None,
       "reduction": "sum_over_batch_size", "ignore_class": None, "axis": -1, "dtype": None,
       "fn": None, "centered": False}


def _options(config, ignore=("name", "ema_momentum", "fn")):
    """Keras's options that are set (not at their 'off' value), for glassnet's class."""
    return {key: value for key, value in config.items()
            if key not in ignore and not (key in OFF and value == OFF[key])}


def _from_keras(path, value, types, noun, fix, check=lambda kind, options: None):
    """The glassnet object (optimizer, loss) for a serialized Keras one, its options
    passed on: an unknown class or option is refused by name."""
    kind, options = value.get("class_name"), _options(value.get("config") or {})
    if kind not in types:
        _refuse(path, f"it was compiled with the {noun} {str(kind)[:40]}; glassnet has "
                      f"{', '.join(types)}", fix)
    check(kind, options)
    try:
        return types[kind](**options)
    except (TypeError, ValueError) as error:
        _refuse(path, f"its {noun}: {str(error).splitlines()[0][:200]}", fix)


def _compiled(path, model, compile_config):
    """Compile ``model`` as the Keras model was compiled: optimizer, loss, metrics and
    loss weights; anything glassnet lacks is refused by name."""
    from .. import losses, metrics, optimizers
    fix = "Load it with compile=False and compile it in glassnet."
    c = compile_config

    def optimizer_check(kind, options):
        if isinstance(options.get("learning_rate"), dict):
            _refuse(path, "its optimizer's learning rate is a Keras schedule", fix)
        if options.get("weight_decay") and kind != "AdamW":
            _refuse(path, f"its {kind} has weight_decay={options['weight_decay']}, which "
                          f"Keras applies to the weights and glassnet to the gradient", fix)
    optimizer, loss = c.get("optimizer"), c.get("loss")
    if isinstance(optimizer, dict):
        optimizer = _from_keras(path, optimizer, optimizers.OPTIMIZER_TYPES, "optimizer", fix,
                                optimizer_check)
    elif optimizer is not None and not isinstance(optimizer, str):
        _refuse(path, f"its compile configuration names the optimizer {str(optimizer)[:40]}",
                fix)
    if isinstance(loss, dict):
        loss = _from_keras(path, loss, losses.LOSS_TYPES, "loss", fix)
    wanted = c.get("metrics") or []
    if isinstance(wanted, list) and len(wanted) == 1 and isinstance(wanted[0], list):
        wanted = wanted[0]                        # one output's metrics
    if not isinstance(wanted, list) or not all(isinstance(m, str) and m in
                                               metrics.METRIC_NAMES for m in wanted):
        _refuse(path, f"it was compiled with the metrics {str(wanted)[:80]}; glassnet has "
                      f"{', '.join(metrics.METRIC_NAMES)}", fix)
    if c.get("weighted_metrics"):
        _refuse(path, "it was compiled with weighted_metrics, which glassnet lacks", fix)
    try:
        model.compile(optimizer or "rmsprop", loss, c.get("loss_weights"), metrics=wanted)
    except (TypeError, ValueError) as error:
        _refuse(path, f"its compile configuration: {str(error).splitlines()[0][:200]}", fix)


# --- the check against Keras ----------------------------------------------------------------
def _keras():
    try:
        import keras
        return keras
    except Exception:                # not installed, or no backend it can run on
        return None


def _float64(config):
    if isinstance(config, dict):
        return {k: _float64(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_float64(v) for v in config]
    return "float64" if config == "float32" else config


def verify_against_keras(path, model, keras=None, batch=3, seed=0, tolerance=1e-6):
    """Run Keras's own reading of ``path`` and ``model`` (a glassnet model of the same
    layers and names, any dtype) on the same random inputs in float64; refuse, naming
    the first layer whose outputs differ by more than ``tolerance`` (relative to the
    layer's largest output, at least 1). Returns the largest difference."""
    keras = keras or _keras()
    read = keras.saving.load_model(path, compile=False, safe_mode=True)
    twin = type(read).from_config(_float64(read.get_config()))
    twin.set_weights([np.asarray(w, np.float64) for w in read.get_weights()])
    ours = type(model).from_config({**model.get_config(), "dtype": "float64"})
    ours.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    vocab = min([layer.input_dim for layer in ours.layers if isinstance(layer, Embedding)]
                or [2])
    inputs = [rng.integers(0, vocab, (batch, *t.shape[1:])) if "int" in str(t.dtype) else
              rng.normal(size=(batch, *t.shape[1:])) for t in twin.inputs]
    layers = [layer for layer in twin.layers if type(layer).__name__ != "InputLayer"]
    probe = keras.Model(twin.inputs, [layer.output for layer in layers])
    expected = probe.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    got = ours.node_values(inputs if len(inputs) > 1 else inputs[0])
    worst = 0.0
    for layer, want in zip(layers, expected if isinstance(expected, list) else [expected]):
        want = np.asarray(want, np.float64)
        have = np.asarray(got.get(layer.name), np.float64)
        scale = max(1.0, float(np.abs(want).max(initial=0)))
        differs = have.shape != want.shape or not np.isfinite(have).all()
        gap = np.inf if differs else float(np.abs(have - want).max(initial=0)) / scale
        if gap > tolerance:
            _refuse(path, f"layer {layer.name!r} ({type(layer).__name__}) computes "
                          f"differently in glassnet and in Keras (largest difference "
                          f"{gap:.3g} of the output's scale, over the tolerance "
                          f"{tolerance:g}, in float64 on the same random inputs)",
                    "Report it with the file; load with verify=False to inspect the model.")
        worst = max(worst, gap)
    return worst


# --- the whole file -------------------------------------------------------------------------
def load_keras(path, dtype="float32", max_bytes=DEFAULT.max_file_bytes, *, compile=True,
               verify="auto", limits=None):
    """A glassnet model (Sequential or functional Model) with the architecture, the
    weights and (``compile=True``) the compile configuration -- optimizer, loss, metrics
    -- of a Keras 3 ``.keras`` file. Needs ``h5py`` (``pip install 'glassnet[keras]'``),
    not Keras. Layers and options glassnet does not have are refused by name, never
    dropped; so are hostile files (see the module's notes), with one line naming the
    file, the field and the fix.

    ``verify``: 'auto' (default) checks the model against Keras's own reading of the
    file where Keras is installed (refusing, by layer, any difference); True requires
    it; False skips it. ``limits`` (``glassnet.Limits``): the largest model and JSON
    nesting accepted; the model's parameters must also fit in the weights the file
    holds."""
    h5py = requires("h5py", "keras")
    limits = limits or DEFAULT
    f, _ = open_regular(path, "load_keras", max_bytes)
    with f, tempfile.TemporaryFile(prefix="glassnet-keras-") as store:
        data, size = _read_zip(f, path, store, max_bytes)
        config = _parse_config(path, data, limits)
        with _field_errors(path, "its config.json"):             # what no check foresaw
            model, built = _model(path, config, dtype, limits)
            count = model.count_params()
        if count * 2 > size:                            # float16, the smallest weights
            _refuse(path, f"its architecture has {count:,} parameters, more than its "
                          f"{size:,}-byte weights file can hold")
        with _field_errors(path, "the model"):
            model.build()
        compile_config = config.get("compile_config")
        if compile and isinstance(compile_config, dict) and compile_config:
            _compiled(path, model, compile_config)
        arrays, state = _read_weights(h5py, path, store, size, built, model)
    for key, (layer, _) in built.items():
        if arrays[key]:
            with _field_errors(path, f"layer {layer.name!r}'s weights"):
                layer.set_weights([a.astype(model.dtype) for a in arrays[key]])
    keras = _keras() if verify in ("auto", True) else None
    if verify is True and keras is None:
        raise ImportError("load_keras(verify=True) needs Keras 3 with a backend it can run "
                          "on: pip install keras torch, and KERAS_BACKEND=torch.")
    if keras is not None:
        try:
            verify_against_keras(path, model, keras)
        except KerasFileError:
            raise
        except Exception as error:          # Keras itself could not read or run the file
            text = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}" \
                if str(error) else type(error).__name__
            if verify is True:
                _refuse(path, f"Keras {keras.__version__} could not read or run it to check "
                              f"the model ({text})", "Load it with verify=False.")
            warnings.warn(f"load_keras: {os.fspath(path)!r} was read but not checked "
                          f"against Keras {keras.__version__}, which could not read or run "
                          f"it ({text}).", stacklevel=2)
    if state is not None:                       # Keras's optimizer state, carried over
        model.optimizer.iterations, slots = state
        model.optimizer.state.update(slots)
    return model


def load_weights(model, path, max_bytes=DEFAULT.max_file_bytes):
    """Read a Keras 3 ``.weights.h5`` file (``keras_model.save_weights`` or glassnet's
    ``model.save_weights``) into ``model``, which must have the same architecture. Every
    dataset is checked against its layer before it is read (the rules of ``load_keras``),
    and every array before any is written. Needs ``h5py``."""
    h5py = requires("h5py", "keras")
    path = os.fspath(path)
    if not model.built:
        model.build()
    _, weights, _ = keras_files(model)
    built = {key: (layer, kind) for key, (kind, _, layer) in weights.items()
             if layer is not None}
    reader = READER.set("load_weights")
    try:
        f, size = open_regular(path, "load_weights", max_bytes,
                               lambda problem, fix: _refuse(path, problem, fix))
        with f:
            arrays, _ = _read_weights(h5py, path, f, size, built, model)
    finally:
        READER.reset(reader)
    checked = [(layer, [a.astype(model.dtype) for a in arrays[key]])
               for key, (layer, _) in built.items()]
    for layer, values in checked:
        layer.set_weights(values)
    return model

