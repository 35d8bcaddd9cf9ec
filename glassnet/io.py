"""Saving and loading models: one safetensors file, no pickle, atomic writes.

The file holds
- tensors ``layers.<i>.<name>`` (W, b, gamma, running_mean, ...) and
  ``optimizer.<name>`` (Adam's m and v, ...), in the model's dtype;
- in the safetensors metadata, under ``"glassnet"``, one JSON document: the format
  version, the architecture, the compile settings, the training position (epochs
  done, optimiser steps) and the state of every dropout random generator.

Loading checks everything before it trusts anything: the header, the JSON, the
layer types and options, every tensor's name, dtype and shape against the ones the
architecture implies (before allocating), and that every weight is finite. Any
problem raises ``ModelFileError``; nothing in a file is ever executed or imported.
"""
import json
import os
import tempfile

import numpy as np
import safetensors.numpy

from . import losses, optimizers
from .errors import ModelFileError
from .functional import Model
from .model import Sequential

FORMAT, VERSION = "glassnet-model", 1
MAX_HEADER_BYTES = 64 * 1024 * 1024
_DTYPES = {"float32": "F32", "float64": "F64"}


def _rng_of(layer):
    return layer.rng.bit_generator.state if layer.rng is not None else None


def _all_layers(layers, prefix=""):
    """(path, layer) for every layer, nested ones too: '3' and then '3.1', '3.2', ..."""
    for i, layer in enumerate(layers, 1):
        yield f"{prefix}{i}", layer
        yield from _all_layers(layer.sublayers(), f"{prefix}{i}.")


FOREIGN_SUFFIXES = {".keras": "Keras", ".h5": "HDF5 (Keras 2)", ".hdf5": "HDF5 (Keras 2)",
                    ".pt": "PyTorch", ".pth": "PyTorch", ".onnx": "ONNX", ".pkl": "pickle",
                    ".pickle": "pickle", ".npz": "NumPy", ".json": "JSON"}


def save_model(model, path):
    """Write ``model`` to ``path`` atomically: a crash mid-write leaves the old file.
    '.glassnet' is the usual suffix; one that promises another format (.keras, .h5, .pt,
    .onnx, ...) is refused rather than written with glassnet's format inside."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in FOREIGN_SUFFIXES:
        raise ValueError(f"save: {os.fspath(path)!r} ends in {suffix}, which promises a "
                         f"{FOREIGN_SUFFIXES[suffix]} file, but glassnet writes its own "
                         f"format (safetensors with the architecture). Save it as "
                         f"'{os.path.splitext(os.fspath(path))[0]}.glassnet'.")
    if not model.built:
        model.build()
    tensors = {}
    for i, layer in enumerate(model.layers, 1):
        for store in (layer.params, layer.state):
            for k, v in store.items():
                tensors[f"layers.{i}.{k}"] = np.ascontiguousarray(v)
    meta = {"format": FORMAT, "version": VERSION, "model": model.get_config(),
            "compile": None, "training": {"epoch": model.epoch, "iterations": 0},
            "rng": {path: _rng_of(layer) for path, layer in _all_layers(model.layers)
                    if _rng_of(layer) is not None}}
    if model.loss is not None:
        meta["compile"] = {"optimizer": model.optimizer.get_config(),
                           "loss": model.loss.get_config(), "metrics": model.metrics,
                           "loss_weights": model.loss_weight}
        meta["training"]["iterations"] = model.optimizer.iterations
        for k, v in model.optimizer.state.items():
            tensors[f"optimizer.{k}"] = np.ascontiguousarray(v)
    data = safetensors.numpy.save(tensors, metadata={"glassnet": json.dumps(meta)})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".glassnet-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fail(path, problem, fix="Save the model again, or use a file written by glassnet."):
    raise ModelFileError(f"Cannot load model file {path!r}: {problem}. {fix}")


def _read_header(path, data):
    if len(data) < 8:
        _fail(path, f"the file is {len(data)} bytes long, too short to be a glassnet model "
                    f"(it is truncated or not a model file)")
    n = int.from_bytes(data[:8], "little")
    if n > min(len(data) - 8, MAX_HEADER_BYTES):
        _fail(path, f"its header claims {n:,} bytes but the file holds {len(data) - 8:,} after "
                    f"the length field (the file is truncated, corrupt, or not a model file)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
        meta = json.loads(header["__metadata__"]["glassnet"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        _fail(path, "its header is not valid glassnet safetensors metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        _fail(path, "it is a safetensors file but not a glassnet model")
    if meta.get("version") != VERSION:
        _fail(path, f"it has format version {meta.get('version')!r}; this glassnet reads "
                    f"version {VERSION}", "Use the glassnet version that wrote it.")
    return header, meta


def _expected_tensors(model, meta, optimizer):
    """Tensor name -> (dtype code, shape) implied by the architecture, without data."""
    expected = {}
    shapes = {id(node.layer): node.in_shape for node in model.nodes()}
    code = _DTYPES[model.dtype.name]
    for i, layer in enumerate(model.layers, 1):
        in_shape = shapes[id(layer)]
        named = {**layer.param_shapes(in_shape), **layer.state_shapes(in_shape)}
        for k, shape in named.items():
            expected[f"layers.{i}.{k}"] = (code, list(shape))
    if optimizer is not None and meta["training"]["iterations"] > 0:
        for k in optimizer.slots():
            expected[f"optimizer.{k}"] = (code, [model.param_counts()[0]])
    return expected


def _check_rng_state(state):
    inner = state.get("state") if isinstance(state, dict) else None
    ok = (isinstance(inner, dict) and state.get("bit_generator") == "PCG64"
          and all(isinstance(inner.get(k), int) and 0 <= inner[k] < 2 ** 128
                  for k in ("state", "inc"))
          and state.get("has_uint32") in (0, 1) and isinstance(state.get("uinteger"), int)
          and 0 <= state["uinteger"] < 2 ** 32)
    return ok


def load_model(path):
    """Load a model saved by ``save``: architecture, weights, optimiser and position.

    Raises ``ModelFileError`` (a ``ValueError``) for any missing, truncated, corrupt,
    mismatched or hostile file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        _fail(path, f"it cannot be read ({error.strerror or error})", "Check the path.")
    header, meta = _read_header(path, data)
    try:
        kind = meta["model"].get("class", "Sequential")
        if kind not in ("Sequential", "Model"):
            raise ValueError(f"unknown model class {kind!r}")
        model = (Sequential if kind == "Sequential" else Model).from_config(meta["model"])
        optimizer = None
        if meta.get("compile"):
            compile_config = meta["compile"]
            optimizer = optimizers.from_config(compile_config["optimizer"])
            loss = losses.from_config(compile_config["loss"])
            metrics = compile_config["metrics"]
        expected = _expected_tensors(model, meta, optimizer)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        _fail(path, f"its description of the model is invalid ({error})")
    found = {k: (v.get("dtype"), v.get("shape")) for k, v in header.items()
             if k != "__metadata__" and isinstance(v, dict)}
    if found != expected:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        wrong = sorted(k for k in set(found) & set(expected) if found[k] != expected[k])
        detail = "; ".join(part for part in (
            missing and f"missing tensors {missing}",
            extra and f"unexpected tensors {extra}",
            wrong and ", ".join(f"{k} is {found[k][0]} {found[k][1]} but the architecture "
                                f"needs {expected[k][0]} {expected[k][1]}" for k in wrong)) if part)
        _fail(path, f"its tensors do not match its architecture: {detail}")
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as error:                       # safetensors raises its own types
        _fail(path, f"its tensor data is corrupt ({error})")
    for name, value in tensors.items():
        if not np.isfinite(value).all():
            _fail(path, f"tensor {name} contains NaN or Inf")
    model.build()
    for i, layer in enumerate(model.layers, 1):
        for store in (layer.params, layer.state):
            for k in store:
                store[k][...] = tensors[f"layers.{i}.{k}"]
    try:
        layers = dict(_all_layers(model.layers))
        for key, state in meta.get("rng", {}).items():
            if key not in layers:
                raise ValueError(f"random generator state for unknown layer {key!r}")
            layer = layers[key]
            if not _check_rng_state(state) or layer.rng is None:
                raise ValueError(f"bad random generator state for layer {key}")
            layer.rng.bit_generator.state = state
        training = meta["training"]
        epoch, iterations = training["epoch"], training["iterations"]
        if not all(isinstance(v, int) and 0 <= v < 2 ** 62 for v in (epoch, iterations)):
            raise ValueError(f"bad training position {training!r}")
        model.epoch = epoch
        if meta.get("compile"):
            if not isinstance(metrics, list):
                raise ValueError("metrics must be a list")
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                          loss_weights=compile_config.get("loss_weights"))
            optimizer.iterations = iterations
            for name, value in tensors.items():
                if name.startswith("optimizer."):
                    optimizer.state[name[len("optimizer."):]] = value.copy()
    except (KeyError, TypeError, ValueError, IndexError) as error:
        _fail(path, f"its training state is invalid ({error})")
    return model
