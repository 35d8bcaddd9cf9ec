"""Saving and loading models: one safetensors file, no pickle, atomic writes.

The file holds
- tensors ``layers.<i>.<name>`` (W, b, gamma, running_mean, ...) and
  ``optimizer.<name>`` (Adam's m and v, ...), in the model's dtype;
- in the safetensors metadata, under ``"glassnet"``, one JSON document: the format
  version, the architecture, the compile settings, the training position (epochs
  done, optimiser steps), the state of every dropout random generator, and
  ``"sha256"``: a SHA-256 over everything else in that document (in a canonical JSON
  form) and every tensor's name, dtype, shape and bytes. A file is whole or refused:
  change one bit of the architecture, an option, the optimiser's state or the
  position, and the checksum no longer matches.

Format version 2 (glassnet before this one) kept ``"checksum"``, over the tensors
only; such files still load, checked by that older rule (``load_model`` reads them
without a word, as before). Version 3 names its checksum differently, so a
version-3 file whose version byte is damaged into 2 is refused, not checked less.

Saving and loading follow one set of rules (``check_tensors``): what ``save`` writes,
``load_model`` reads back equal, and what ``load_model`` would refuse, ``save`` refuses
before writing. Loading checks everything before it trusts anything, and reads nothing
it has not sized first: the file's kind (a regular file) and size, the header's length,
the JSON's depth and fields, the layer types and options, the architecture against
``Limits``, every tensor's name, dtype, shape and byte range against the ones the
architecture implies, the data's size against the file's, and then the checksum and
that every value is finite. Any problem raises ``ModelFileError``; nothing in a file is
ever executed or imported.
"""
import hashlib
import json
import os
import stat
import tempfile

import numpy as np
import safetensors.numpy

from . import limits as limits_module
from . import losses, optimizers
from .errors import ModelFileError
from .files import check_writable, open_regular
from .layers.registry import layer_from_config

FORMAT, VERSION = "glassnet-model", 3
OLD_VERSIONS = {2: "checksum"}       # version -> its checksum field (tensors only)
MAX_HEADER_BYTES = 64 * 1024 * 1024
_DTYPES = {"float32": "F32", "float64": "F64"}
_NUMPY = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
FOREIGN_SUFFIXES = {".keras": "Keras", ".h5": "HDF5 (Keras 2)", ".hdf5": "HDF5 (Keras 2)",
                    ".pt": "PyTorch", ".pth": "PyTorch", ".onnx": "ONNX", ".pkl": "pickle",
                    ".pickle": "pickle", ".npz": "NumPy", ".json": "JSON"}


def _rng_of(layer):
    return layer.rng.bit_generator.state if layer.rng is not None else None


def _all_layers(layers, prefix=""):
    """(path, layer) for every layer, nested ones too: '3' and then '3.1', '3.2', ..."""
    for i, layer in enumerate(layers, 1):
        yield f"{prefix}{i}", layer
        yield from _all_layers(layer.sublayers(), f"{prefix}{i}.")


def checksum(tensors, meta=None):
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order, and
    (format 3) over the metadata document ``meta`` without its own checksum, in canonical
    JSON: sorted keys, no spaces, numbers as Python writes them back."""
    digest = hashlib.sha256()
    if meta is not None:
        rest = {k: v for k, v in meta.items() if k != "sha256"}
        digest.update(b"glassnet-metadata|")
        digest.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"|tensors|")
    for name in sorted(tensors):
        value = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def check_tensors(tensors, problem):
    """The rule both directions share: every value finite. ``problem(name, text)``
    raises the caller's error."""
    for name, value in tensors.items():
        if not np.isfinite(value).all():
            bad = int(np.count_nonzero(~np.isfinite(value)))
            problem(name, f"tensor {name} contains {bad:,} NaN or Inf values")


def _tensors_of(model):
    tensors = {}
    for key, layer in _all_layers(model.layers):
        for store in (layer.params, layer.state):
            for k, v in store.items():
                tensors[f"layers.{key}.{k}"] = np.ascontiguousarray(v)
    if model.loss is not None:
        for k, v in model.optimizer.state.items():
            tensors[f"optimizer.{k}"] = np.ascontiguousarray(v)
    return tensors


def save_model(model, path):
    """Write ``model`` to ``path`` atomically: a crash mid-write leaves the old file (and
    a later save removes the temporary file a killed one left). An existing file keeps
    its permissions; a new one gets the usual ones (0666 less the umask). '.glassnet' is
    the usual suffix; one that promises another format (.keras, .h5, .pt, .onnx, ...) is
    refused rather than written with glassnet's format inside."""
    path = check_save_name(path, "save")
    check_destination(path, "save")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in WRITERS:
        WRITERS[suffix](model, path)
        return path
    if not model.built:
        model.build()
    tensors = _tensors_of(model)

    def refuse(name, text):
        where = "the optimizer's state" if name.startswith("optimizer.") else "the model"
        raise ValueError(f"save: cannot save {path!r}: {text}, so the file could not be "
                         f"loaded again. {where.capitalize()} has overflowed (a learning rate "
                         f"too large?); load or rebuild the last good model, or recompile to "
                         f"reset the optimizer.")
    check_tensors(tensors, refuse)
    meta = {"format": FORMAT, "version": VERSION, "model": model.get_config(),
            "compile": None, "training": {"epoch": model.epoch, "iterations": 0},
            "rng": {key: _rng_of(layer) for key, layer in _all_layers(model.layers)
                    if _rng_of(layer) is not None}}
    if model.loss is not None:
        meta["compile"] = {"optimizer": model.optimizer.get_config(),
                           "loss": model.loss.get_config(), "metrics": model.metrics,
                           "loss_weights": model.loss_weight}
        meta["training"]["iterations"] = model.optimizer.iterations
    meta = json.loads(json.dumps(meta))       # as load_model will read it: lists, str keys
    meta["sha256"] = checksum(tensors, meta)
    write_atomically(path, safetensors.numpy.save(tensors,
                                                  metadata={"glassnet": json.dumps(meta)}))
    return path


WRITERS = {}        # suffix -> function(model, path): formats a level above registers
WEIGHTS = {}        # suffix -> (save(model, path), load(model, path)): weights-only files


def register_writer(suffix, function):
    """Let ``save`` write files ending in ``suffix`` with ``function(model, path)`` (the
    Keras writer in ``glassnet.interop`` registers '.keras' this way)."""
    WRITERS[suffix] = function


def register_weights(suffix, save, load):
    """Let ``save_weights``/``load_weights`` handle files ending in ``suffix`` (the Keras
    reader and writer register '.weights.h5', Keras 3's own suffix)."""
    WEIGHTS[suffix] = (save, load)


def _weights_format(path, what):
    path = os.fspath(path)
    for suffix, functions in WEIGHTS.items():
        if path.lower().endswith(suffix):
            return path, functions
    raise ValueError(f"{what}: {path!r} must end in {' or '.join(sorted(WEIGHTS))}, as "
                     f"Keras 3 requires (the weights alone, in Keras's layout); save the "
                     f"whole model with model.save('model.glassnet').")


def save_weights(model, path):
    """The weights alone, in a format registered for the file's suffix (Keras 3's
    '.weights.h5'). Returns the path."""
    path, (save, _) = _weights_format(path, "save_weights")
    return save(model, path)


def load_weights(model, path):
    """Weights saved by ``save_weights`` (or Keras's) into ``model``, of the same
    architecture; every array is checked before any is written."""
    path, (_, load) = _weights_format(path, "load_weights")
    return load(model, path)


def check_save_name(path, what):
    """The name a model is saved under: '.glassnet' is the usual suffix; one that promises
    another format (.keras, .h5, .pt, .onnx, ...) is refused rather than written with
    glassnet's format inside, unless a writer for it is registered (.keras: a Keras 3
    file). ``ModelCheckpoint`` checks its names with this too."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in FOREIGN_SUFFIXES and suffix not in WRITERS:
        raise ValueError(f"{what}: {path!r} ends in {suffix}, which promises a "
                         f"{FOREIGN_SUFFIXES[suffix]} file, but glassnet writes its own "
                         f"format (safetensors with the architecture). Save it as "
                         f"'{os.path.splitext(path)[0]}.glassnet'.")
    return path


def check_destination(path, what):
    """Refuse, before any work, a path whose folder is missing or not writable, or that
    names a folder, a FIFO, a device or a socket."""
    if os.path.isdir(path):
        raise ValueError(f"{what}: {path!r} is a folder; give a file name such as "
                         f"{os.path.join(path, 'model.glassnet')!r}.")
    check_writable(path, what)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder, prefix):
    """Temporary files of earlier saves to the same file whose process is gone."""
    for name in os.listdir(folder):
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        try:
            pid = int(name[len(prefix):].split("-", 1)[0])
            os.kill(pid, 0)                         # alive: its save may be under way
        except (ValueError, ProcessLookupError):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
        except PermissionError:
            pass


def write_atomically(path, data):
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename
    it over ``path``; errors name ``path``, and the temporary file never stays behind."""
    check_writable(path, "write")
    folder = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}.glassnet-"
    _remove_stale_temporaries(folder, prefix)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=".tmp",
                                   dir=folder)
    except OSError as error:
        raise OSError(error.errno, f"cannot write {path!r}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.strerror:
            raise OSError(error.errno, f"cannot write {path!r}: {error.strerror}") from None
        raise


# --- loading ----------------------------------------------------------------------------
def _fail(path, problem, fix="Save the model again, or use a file written by glassnet."):
    raise ModelFileError(f"Cannot load model file {path!r}: {problem}. {fix}")


def _open(path, limits):
    """(file object, size) for a regular file no larger than the limit; a FIFO, a device
    or a folder is refused without reading (opened without blocking)."""
    return open_regular(path, "load_model", limits.max_file_bytes,
                        lambda problem, fix: _fail(path, problem, fix.replace(
                            "Pass a larger limit", "Pass limits=glassnet.Limits("
                            "max_file_bytes=...)")))


def _read_exactly(f, n, path, what):
    data = f.read(n)
    if len(data) != n:
        _fail(path, f"it ends inside its {what} (the file is truncated)")
    return data


def _read_header(path, f, size, limits):
    if size < 8:
        _fail(path, f"the file is {size} bytes long, too short to be a glassnet model "
                    f"(it is truncated or not a model file)")
    n = int.from_bytes(_read_exactly(f, 8, path, "header length"), "little")
    if n > min(size - 8, MAX_HEADER_BYTES):
        _fail(path, f"its header claims {n:,} bytes but the file holds {size - 8:,} after "
                    f"the length field (the file is truncated, corrupt, or not a model file)")
    raw = _read_exactly(f, n, path, "header")
    try:
        text = raw.decode("utf-8")
        limits_module.json_depth(text, limits.max_json_depth)
        header = json.loads(text)
        document = header["__metadata__"]["glassnet"]
        limits_module.json_depth(document, limits.max_json_depth)
        meta = json.loads(document)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as error:
        detail = f" ({error})" if "nested" in str(error) else ""
        _fail(path, f"its header is not valid glassnet safetensors metadata{detail}")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        _fail(path, "it is a safetensors file but not a glassnet model")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or (
            version != VERSION and version not in OLD_VERSIONS):
        readable = ", ".join(str(v) for v in sorted({*OLD_VERSIONS, VERSION}))
        shown = version if isinstance(version, int) else repr(str(version)[:20])
        _fail(path, f"it has format version {shown}; this glassnet reads "
                    f"versions {readable}", "Use the glassnet version that wrote it.")
    field = OLD_VERSIONS.get(version, "sha256")
    other = {"sha256", *OLD_VERSIONS.values()} - {field}
    if not isinstance(meta.get(field), str) or any(k in meta for k in other):
        _fail(path, f"its format version {version} file has no {field!r} checksum field (the "
                    f"file is corrupt)", "Use a good copy of the file.")
    return header, meta, 8 + n


def _field(meta, key, kind, what=None):
    value = meta.get(key) if isinstance(meta, dict) else None
    if not isinstance(value, kind):
        names = {dict: "an object", list: "a list", str: "a string", int: "a whole number"}
        raise ValueError(f"{what or key} must be {names.get(kind, kind)}, got "
                         f"{type(value).__name__}")
    return value


def _expected_tensors(model, iterations, optimizer):
    """Tensor name -> (dtype code, shape) implied by the architecture, without data."""
    expected = {}
    shapes = {id(node.layer): node.in_shape for node in model.nodes()}
    code = _DTYPES[model.dtype.name]
    for i, layer in enumerate(model.layers, 1):
        in_shape = shapes[id(layer)]
        named = {**layer.param_shapes(in_shape), **layer.state_shapes(in_shape)}
        for k, shape in named.items():
            expected[f"layers.{i}.{k}"] = (code, list(shape))
    if optimizer is not None and iterations > 0:
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


def _architecture(path, meta, limits):
    """(model, optimizer, loss, compile settings, iterations) from the metadata, every
    field checked, the architecture checked against the limits, nothing allocated."""
    try:
        config = _field(meta, "model", dict)
        kind = config.get("type", config.get("class", "Sequential"))    # version 2: class
        if kind not in ("Sequential", "Model"):
            raise ValueError(f"unknown model class {str(kind)[:50]!r}")
        config = {**{k: v for k, v in config.items() if k != "class"}, "type": kind}
        model = layer_from_config(config, "model", limits=limits)
        model.limits = limits
        limits_module.check_network(model, limits)
        training = _field(meta, "training", dict)
        epoch, iterations = training.get("epoch"), training.get("iterations")
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 62
                   for v in (epoch, iterations)):
            raise ValueError(f"bad training position {str(training)[:100]}")
        compiled = meta.get("compile")
        optimizer = loss = None
        if compiled is not None:
            compiled = _field(meta, "compile", dict)
            optimizer = optimizers.from_config(compiled.get("optimizer"))
            loss = losses.from_config(compiled.get("loss"))
            metrics = _field(compiled, "metrics", list, "metrics")
            if not all(isinstance(m, str) for m in metrics):
                raise ValueError("metrics must be names")
        _field(meta, "rng", dict)
        return model, optimizer, loss, compiled, epoch, iterations
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        _fail(path, f"its description of the model is invalid ({str(error).rstrip('.')})")


def _tensor_layout(path, header, expected, data_size):
    """name -> (dtype, shape, begin, end) from the header, checked against the tensors the
    architecture needs and against the data region's size, before any data is read."""
    found = {k: v for k, v in header.items() if k != "__metadata__"}
    if any(not isinstance(v, dict) for v in found.values()):
        _fail(path, "its header lists a tensor without a description")
    described = {k: (v.get("dtype"), v.get("shape")) for k, v in found.items()}
    if described != expected:
        missing = sorted(set(expected) - set(described))
        extra = sorted(set(described) - set(expected))[:10]
        wrong = sorted(k for k in set(described) & set(expected) if described[k] != expected[k])
        detail = "; ".join(part for part in (
            missing and f"missing tensors {missing}",
            extra and f"unexpected tensors {extra}",
            wrong and ", ".join(f"{k} is {described[k][0]} {described[k][1]} but the "
                                f"architecture needs {expected[k][0]} {expected[k][1]}"
                                for k in wrong[:5])) if part)
        _fail(path, f"its tensors do not match its architecture: {detail}")
    layout, ranges = {}, []
    for name, (code, shape) in expected.items():
        offsets = found[name].get("data_offsets")
        size = int(np.prod(shape, dtype=object)) * _NUMPY[code].itemsize
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                and 0 <= offsets[0] <= offsets[1] and offsets[1] - offsets[0] == size):
            _fail(path, f"tensor {name}'s byte range {str(offsets)[:60]} does not fit its "
                        f"shape {shape} (the file is corrupt)")
        layout[name] = (_NUMPY[code], shape, offsets[0], offsets[1])
        ranges.append(offsets)
    end = max((stop for _, stop in ranges), default=0)
    if end != data_size:
        _fail(path, f"it holds {data_size:,} bytes of tensor data but its header declares "
                    f"{end:,} (the file is "
                    f"{'larger than its declared content' if data_size > end else 'truncated'})")
    end = 0
    for begin, stop in sorted(ranges):
        if begin != end:
            _fail(path, "its tensors overlap or leave gaps (the file is corrupt)")
        end = stop
    return layout


def load_model(path, limits=None):
    """Load a model saved by ``save``: architecture, weights, optimiser and position.

    Raises ``ModelFileError`` (a ``ValueError``) for any missing, truncated, corrupt,
    mismatched, oversized or hostile file. ``limits`` (``glassnet.Limits``) bounds what
    the file may ask for; the defaults allow a billion parameters.
    """
    path = os.fspath(path)
    limits = limits or limits_module.DEFAULT
    f, size = _open(path, limits)
    with f:
        if path.lower().endswith(".keras") or f.read(4) == b"PK\x03\x04":
            _fail(path, "it is a zip archive (a Keras .keras file), not a glassnet model",
                  "Read it with glassnet.load_keras(path).")
        f.seek(0)
        header, meta, start = _read_header(path, f, size, limits)
        model, optimizer, loss, compiled, epoch, iterations = _architecture(path, meta, limits)
        expected = _expected_tensors(model, iterations, optimizer)
        layout = _tensor_layout(path, header, expected, size - start)
        data = _read_exactly(f, size - start, path, "tensor data")
    tensors = {name: np.frombuffer(data, dtype, count=(end - begin) // dtype.itemsize,
                                   offset=begin).reshape(shape)
               for name, (dtype, shape, begin, end) in layout.items()}
    if meta["version"] == VERSION:
        whole = checksum(tensors, meta) == meta["sha256"]
    else:
        whole = checksum(tensors) == meta[OLD_VERSIONS[meta["version"]]]
    if not whole:
        _fail(path, "its contents do not match the checksum written with it (the file is "
                    "corrupt: bytes of its description or its tensors were changed after "
                    "it was saved)", "Use a good copy of the file.")
    check_tensors(tensors, lambda name, text: _fail(path, text))
    model.build()
    for key, layer in _all_layers(model.layers):
        for store in (layer.params, layer.state):
            for k in store:
                store[k][...] = tensors[f"layers.{key}.{k}"]
    try:
        layers = dict(_all_layers(model.layers))
        for key, state in meta["rng"].items():
            if key not in layers:
                raise ValueError(f"random generator state for unknown layer {key[:50]!r}")
            layer = layers[key]
            if not _check_rng_state(state) or layer.rng is None:
                raise ValueError(f"bad random generator state for layer {key}")
            layer.rng.bit_generator.state = state
        model.epoch = epoch
        if compiled is not None:
            model.compile(optimizer=optimizer, loss=loss, metrics=compiled["metrics"],
                          loss_weights=compiled.get("loss_weights"))
            optimizer.iterations = iterations
            for name, value in tensors.items():
                if name.startswith("optimizer."):
                    optimizer.state[name[len("optimizer."):]] = value.copy()
    except (KeyError, TypeError, ValueError, IndexError) as error:
        _fail(path, f"its training state is invalid ({error})")
    return model
