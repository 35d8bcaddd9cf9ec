"""Data: generated 2-D sets, the 8x8 digits (offline), IDX/CSV readers, and helpers.

Every generator takes ``seed`` (an int or a ``numpy.random.Generator``) and returns
``(X, y)`` with X float64 of shape (n, features) and y int64 class labels (n,).
"""
import csv
import gzip
import io
import math
import os
import struct
import zlib
from importlib import resources

import numpy as np

from .files import open_for_writing, open_regular
from .utils import class_labels


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


MAX_GENERATED = 10_000_000       # points a generator makes (160 MB of 2-D float64)


def _check_n(n, owner, minimum=1):
    """The number of points, checked before anything is allocated."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{owner}: n must be a whole number >= {minimum}, got {n!r}.")
    if n > MAX_GENERATED:
        raise ValueError(f"{owner}: n={n:,} points is more than the limit of "
                         f"{MAX_GENERATED:,} for generated data; ask for fewer.")
    return int(n)


def _check_noise(noise, owner):
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{owner}: noise must be a finite number >= 0 (the standard deviation "
                         f"of the noise added), got {noise!r}.")
    return float(noise)


def _split_counts(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def make_moons(n=500, noise=0.1, seed=0):
    """Two interleaving half circles (2 classes)."""
    n, rng = _check_n(n, "make_moons", 2), _rng(seed)
    noise = _check_noise(noise, "make_moons")
    n_top, n_bottom = _split_counts(n, 2)
    t_top, t_bottom = np.linspace(0, np.pi, n_top), np.linspace(0, np.pi, n_bottom)
    X = np.concatenate([np.c_[np.cos(t_top), np.sin(t_top)],
                        np.c_[1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)]])
    y = np.r_[np.zeros(n_top, np.int64), np.ones(n_bottom, np.int64)]
    X += rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def make_circles(n=500, noise=0.05, factor=0.5, seed=0):
    """A small circle inside a large one (2 classes); ``factor`` is the radius ratio."""
    n, rng = _check_n(n, "make_circles", 2), _rng(seed)
    noise = _check_noise(noise, "make_circles")
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor!r}.")
    n_out, n_in = _split_counts(n, 2)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.c_[np.cos(t_out), np.sin(t_out)],
                        factor * np.c_[np.cos(t_in), np.sin(t_in)]])
    y = np.r_[np.zeros(n_out, np.int64), np.ones(n_in, np.int64)]
    X += rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def make_spirals(n=600, arms=3, noise=0.2, turns=1.0, seed=0):
    """``arms`` interleaved spiral arms, one class each (CS231n's spiral data)."""
    n, rng = _check_n(n, "make_spirals", arms), _rng(seed)
    noise = _check_noise(noise, "make_spirals")
    if isinstance(arms, bool) or not isinstance(arms, (int, np.integer)) or arms < 2:
        raise ValueError(f"make_spirals: arms must be a whole number >= 2, got {arms!r}.")
    X, y = [], []
    for arm, count in enumerate(_split_counts(n, arms)):
        r = np.linspace(0.05, 1.0, count)
        t = np.linspace(0, 2 * np.pi * turns, count) + arm * 2 * np.pi / arms
        t = t + rng.normal(scale=noise, size=count) * 0.5
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(count, arm, np.int64))
    X, y = np.concatenate(X), np.concatenate(y)
    order = rng.permutation(n)
    return X[order], y[order]


def make_xor(n=400, noise=0.1, seed=0):
    """Points around the four corners of a square; class = x1 > 0 XOR x2 > 0."""
    n, rng = _check_n(n, "make_xor"), _rng(seed)
    noise = _check_noise(noise, "make_xor")
    quadrant = rng.permutation(np.arange(n) % 4)           # balanced: n/4 per corner
    corners = np.c_[quadrant // 2, quadrant % 2]
    X = (corners * 2 - 1) + rng.normal(scale=noise, size=(n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return X.astype(np.float64), y


def make_blobs(n=500, centers=3, std=0.5, seed=0, spread=3.0):
    """Gaussian blobs around ``centers`` random centres (an int) or given ones (an array)."""
    n, rng = _check_n(n, "make_blobs"), _rng(seed)
    std = _check_noise(std, "make_blobs")
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if not 1 <= centers <= n:
            raise ValueError(f"make_blobs: centers={centers} blobs for n={n} points; give "
                             f"1 to {n} centres (the number of classes).")
        centers = rng.uniform(-spread, spread, size=(int(centers), 2))
    shown = repr(centers)[:60]
    try:
        centers = np.asarray(centers, dtype=np.float64)
    except (TypeError, ValueError):
        centers = None
    if centers is None or centers.ndim != 2 or not centers.size or \
            not np.isfinite(centers).all():
        raise ValueError(f"make_blobs: centers must be a whole number of blobs (such as 3) "
                         f"or their coordinates, an array of shape (blobs, features) of "
                         f"finite numbers; got {shown}.")
    counts = _split_counts(n, len(centers))
    X = np.concatenate([c + rng.normal(scale=std, size=(k, centers.shape[1]))
                        for c, k in zip(centers, counts)])
    y = np.repeat(np.arange(len(centers), dtype=np.int64), counts)
    order = rng.permutation(n)
    return X[order], y[order]


def load_digits():
    """The 8x8 handwritten digits: 1,797 images, pixels 0..16, labels 0..9.

    Returns X (1797, 64) float64 and y (1797,) int64; ``X.reshape(-1, 8, 8)`` gives
    the images. The data ships with glassnet (UCI "Optical Recognition of Handwritten
    Digits", test set, CC BY 4.0; the copy distributed with scikit-learn).
    """
    with resources.files("glassnet").joinpath("data/digits.csv.gz").open("rb") as f:
        table = np.loadtxt(gzip.open(f), delimiter=",", dtype=np.int64)
    return table[:, :-1].astype(np.float64), table[:, -1]


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_DATA_BYTES = 4 << 30          # the largest data a reader decodes (4 GiB)
MAX_IDX_DIMS = 8


def _idx_stream(path):
    """(the IDX file's bytes as a stream, gunzipped on the fly for .gz; the file; its size
    on disk, or None when compressed): nothing is read here, so a small file that expands
    to gigabytes costs nothing until its header says how much it holds."""
    f, size = open_regular(path, "load_idx", MAX_DATA_BYTES)
    if os.fspath(path).endswith(".gz"):
        return gzip.GzipFile(fileobj=f, mode="rb"), f, None
    return f, f, size


CHUNK = 16 << 20


def _read(stream, n, path, what):
    """Exactly n bytes, read a chunk at a time: memory follows what the file really holds,
    never what its header claims."""
    data = bytearray()
    try:
        while len(data) < n:
            chunk = stream.read(min(CHUNK, n - len(data)))
            if not chunk:
                break
            data += chunk
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"load_idx: {os.fspath(path)!r} cannot be decompressed "
                         f"({error}).") from None
    if len(data) != n:
        raise ValueError(f"load_idx: {os.fspath(path)!r} is truncated inside its {what} "
                         f"(expected {n:,} bytes, found {len(data):,}).")
    return data


def load_idx(path, max_bytes=MAX_DATA_BYTES):
    """Read an IDX file (the MNIST format, optionally gzipped) into a NumPy array.

    Layout: two zero bytes, a type code, the number of dimensions, each dimension as
    a big-endian 32-bit integer, then the values. The header is read and checked first
    -- the size it declares must be at most ``max_bytes`` -- and then exactly that many
    bytes are read (decompressed), no more; a file with less, or more, is refused.
    Raises ValueError on a malformed file.
    """
    stream, raw, size = _idx_stream(path)
    with raw, stream:
        magic = _read(stream, 4, path, "magic number")
        if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
            raise ValueError(f"load_idx: {os.fspath(path)!r} is not an IDX file (bad magic "
                             f"number {magic.hex()}). MNIST files start with 0x00000801 "
                             f"(labels) or 0x00000803 (images).")
        ndim = magic[3]
        if not 1 <= ndim <= MAX_IDX_DIMS:
            raise ValueError(f"load_idx: {os.fspath(path)!r} declares {ndim} dimensions; "
                             f"IDX files have 1 to {MAX_IDX_DIMS}.")
        dims = struct.unpack(f">{ndim}I", _read(stream, 4 * ndim, path, "header"))
        dtype = np.dtype(_IDX_TYPES[magic[2]])
        expected = math.prod(dims) * dtype.itemsize          # a Python int: no overflow
        if expected > max_bytes:
            raise ValueError(f"load_idx: {os.fspath(path)!r} declares shape {dims}, "
                             f"{expected:,} bytes of data, more than the limit of "
                             f"{max_bytes:,} (max_bytes).")
        if size is not None and size != 4 + 4 * ndim + expected:
            problem = "truncated" if size < 4 + 4 * ndim + expected else \
                "larger than its header declares"
            raise ValueError(f"load_idx: {os.fspath(path)!r} should hold {expected:,} bytes of "
                             f"data for shape {dims} but holds {size - 4 - 4 * ndim:,} (the "
                             f"file is {problem}).")
        body = _read(stream, expected, path, "data")
        if _read_some(stream):
            raise ValueError(f"load_idx: {os.fspath(path)!r} holds more data than its header "
                             f"declares for shape {dims} (corrupt, or not one IDX file).")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _read_some(stream):
    try:
        return stream.read(1)
    except (OSError, EOFError, zlib.error):
        return b""


def save_idx(path, array):
    """Write an array as an IDX file (the inverse of ``load_idx``)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype)
    if code is None:
        raise ValueError(f"save_idx: dtype {array.dtype} has no IDX type code.")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with open_for_writing(path, "save_idx", binary=True) as f:
        f.write(header + array.astype(_IDX_TYPES[code]).tobytes())


def load_mnist_idx(images_path, labels_path):
    """MNIST-format images and labels: X (n, rows * cols) float64 in [0, 1], y (n,) int64.
    The labels must be stored as integers (IDX types 0x08-0x0C)."""
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"load_mnist_idx: expected images (n, rows, cols) and labels (n,), got "
                         f"{images.shape} and {labels.shape}.")
    if 0 in images.shape:
        raise ValueError(f"load_mnist_idx: {os.fspath(images_path)!r} holds images of shape "
                         f"{images.shape}: no data. Give files with at least one image of at "
                         f"least one pixel.")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"load_mnist_idx: {os.fspath(labels_path)!r} stores its labels as "
                         f"{labels.dtype} numbers; class labels must be stored as integers "
                         f"(IDX type 0x08 to 0x0C).")
    if labels.size and labels.min() < 0:
        raise ValueError(f"load_mnist_idx: labels must be class indices >= 0, found "
                         f"{int(labels.min())}.")
    return images.reshape(len(images), -1) / 255.0, labels.astype(np.int64)


def load_csv(path, label_column=-1, header="auto", max_bytes=MAX_DATA_BYTES):
    """A numeric CSV: features from every column but ``label_column``, targets from it.

    ``header``: True (the first row names the columns), False (every row is data) or
    "auto" (a first row with no number in it is a header; one with numbers is data, so a
    missing value in it is reported as such; a row with both numbers and words is
    refused: say which it is). A UTF-8 byte-order mark is
    skipped. Every row must have the same number of numeric fields; errors name the row
    and column. Targets are int64 class labels when every one is a whole number, else
    float64 values (regression). Returns (X, y)."""
    f, _ = open_regular(path, "load_csv", max_bytes)
    with f:
        raw = f.read()
    name = os.fspath(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ValueError(f"load_csv: {name!r} is not UTF-8 text: row {line} holds the byte "
                         f"0x{raw[error.start]:02x}. Save the file as UTF-8 CSV.") from None
    reader = csv.reader(io.StringIO(text, newline=None))      # \r, \r\n and \n all end a row
    try:
        rows = [r for r in reader if any(field.strip() for field in r)]
    except csv.Error as error:
        raise ValueError(f"load_csv: {name!r} row {reader.line_num} is not valid CSV "
                         f"({error}).") from None
    if not rows:
        raise ValueError(f"load_csv: {name!r} holds no data rows.")
    if header not in (True, False, "auto"):
        raise ValueError(f"load_csv: header must be True, False or 'auto', got {header!r}.")
    first = [_number(field) for field in rows[0]]
    if header == "auto":
        words = [field for v, field in zip(first, rows[0]) if v is None and field.strip()]
        if all(v is None for v in first):
            header = True
        elif words:
            raise ValueError(f"load_csv: {name!r} row 1 mixes numbers and text "
                             f"({', '.join(repr(f) for f in rows[0][:6])}): is it a header? "
                             f"Pass header=True or header=False.")
        else:
            header = False
    data_rows = rows[1:] if header else rows
    if not data_rows:
        raise ValueError(f"load_csv: {name!r} has a header but no data rows.")
    width, offset = len(data_rows[0]), 2 if header else 1
    for r, row in enumerate(data_rows, offset):
        if len(row) != width:
            raise ValueError(f"load_csv: {name!r} row {r} has {len(row)} fields but the first "
                             f"data row has {width}.")
    try:
        table = np.array(data_rows, dtype=np.float64)        # one vectorised conversion
        bad = None if np.isfinite(table).all() else np.argwhere(~np.isfinite(table))[0]
    except ValueError:
        bad = next((r, c) for r, row in enumerate(data_rows) for c, field in enumerate(row)
                   if _number(field) is None)
    if bad is not None:                                      # say where, and what is there
        r, c = int(bad[0]), int(bad[1])
        field = data_rows[r][c].strip()
        problem = "is empty" if not field else f"is {field[:30]!r}"
        raise ValueError(f"load_csv: {name!r} row {r + offset}, column {c + 1} {problem}; "
                         f"every field must be a finite number.")
    huge = _too_large(table)
    if huge is not None:
        r, c = huge
        raise ValueError(f"load_csv: {name!r} row {r + offset}, column {c + 1} is "
                         f"{data_rows[r][c].strip()[:30]}, beyond +-{MAX_FEATURE:.0e}: "
                         f"squares of such numbers overflow (standardising or training on "
                         f"them ends in Inf). Rescale that column (divide it by a large "
                         f"constant, or take its logarithm).")
    if isinstance(label_column, bool) or not isinstance(label_column, (int, np.integer)) \
            or not -width <= label_column < width:
        raise ValueError(f"load_csv: label_column={label_column!r} does not exist: {name!r} "
                         f"has {width} columns (0 to {width - 1}, or -1 for the last).")
    if width < 2:
        raise ValueError(f"load_csv: {name!r} has 1 column; it needs features and a label.")
    column = int(label_column) % width
    y = table[:, column]
    X = np.delete(table, column, axis=1)
    whole = np.all(y == np.round(y)) and np.abs(y).max() < 2 ** 53
    return X, (y.astype(np.int64) if whole else y)


def load_npy(path, max_bytes=MAX_DATA_BYTES):
    """A NumPy .npy file holding one numeric array, read safely: its header (version, a
    numeric dtype, the shape) is checked against the file's size before any data is
    read, and pickled objects are refused. Returns the array."""
    name = os.fspath(path)
    f, size = open_regular(path, "load_npy", max_bytes)
    with f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"format version {version}")
        except ValueError as error:
            raise ValueError(f"load_npy: {name!r} is not a .npy file glassnet reads "
                             f"({error}). Save it with numpy.save.") from None
        if dtype.hasobject or dtype.kind not in "fiub":
            raise ValueError(f"load_npy: {name!r} holds {dtype} values; only numbers are "
                             f"read (no objects, no pickles).")
        count = math.prod(int(d) for d in shape)
        if count * dtype.itemsize != size - f.tell():
            raise ValueError(f"load_npy: {name!r} says it holds {shape} {dtype} values "
                             f"({count * dtype.itemsize:,} bytes) but {size - f.tell():,} "
                             f"bytes follow its header: the file is truncated or corrupt.")
        f.seek(0)
        return np.load(f, allow_pickle=False)


def _number(field):
    try:
        return float(field)
    except ValueError:
        return None


def train_test_split(X, y, test_size=0.2, seed=0, stratify=True):
    """Shuffle and split into (X_train, X_test, y_train, y_test).

    With ``stratify`` (default, for integer labels) each class keeps its proportion.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} samples but y has {len(y)}.")
    if not 0 < test_size < 1:
        raise ValueError(f"train_test_split: test_size must be in (0, 1), got {test_size!r}.")
    rng = _rng(seed)
    if stratify and y.ndim == 1 and y.dtype.kind in "iub":
        test = []
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            test.append(members[:int(round(len(members) * test_size))])
        test = np.concatenate(test)
        mask = np.zeros(len(X), bool)
        mask[test] = True
        train, test = rng.permutation(np.flatnonzero(~mask)), rng.permutation(test)
    else:
        order = rng.permutation(len(X))
        n_test = int(round(len(X) * test_size))
        train, test = order[n_test:], order[:n_test]
    return X[train], X[test], y[train], y[test]


def one_hot(y, num_classes=None):
    """Integer labels (n,) -> one-hot rows (n, classes), float64 (``to_categorical`` is
    the Keras form, float32)."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"one_hot: expects integer labels of shape (n,), got dtype "
                         f"{y.dtype} shape {y.shape}.")
    y, num_classes = class_labels(y, num_classes, "one_hot")
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1
    return out


class Standardizer:
    """Standardise features with statistics learned from the training data only:
    X' = (X - mean) / std (constant features keep std 1)."""

    mean = std = None

    def fit(self, X):
        X = _features(X, "Standardizer.fit")
        self.mean, self.std = X.mean(axis=0), X.std(axis=0)
        self.std[self.std == 0] = 1.0
        return self

    def transform(self, X):
        if self.mean is None:
            raise ValueError("Standardizer.transform: the standardizer has not been fitted; "
                             "call fit(X_train) first (or fit_transform), so that the mean "
                             "and standard deviation come from the training data.")
        X = _features(X, "Standardizer.transform")
        if X.shape[1:] != self.mean.shape:
            raise ValueError(f"Standardizer.transform: X has {X.shape[1:]} features per "
                             f"sample but the standardizer was fitted on "
                             f"{self.mean.shape}; give data with the same columns.")
        return (X - self.mean) / self.std

    def fit_transform(self, X):
        return self.fit(X).transform(X)


def _features(X, owner):
    """X as float64 (samples, features...): numbers, at least one sample, finite, and
    small enough that standardising cannot overflow (|x| <= MAX_FEATURE)."""
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: X must be numbers, got an array of dtype {X.dtype}.")
    if X.ndim < 2 or not len(X):
        raise ValueError(f"{owner}: X must have shape (samples, features) with at least one "
                         f"sample, got {X.shape}.")
    X = X.astype(np.float64)
    check_magnitude(X, owner, "X")
    return X


MAX_FEATURE = 1e150


def _too_large(values):
    """The index of the first value that is NaN, infinite or beyond +-MAX_FEATURE, or
    None."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= MAX_FEATURE)
    return tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None


def check_magnitude(values, owner, what):
    """Refuse NaN, Inf, and numbers so large that their squares overflow float64 (|x| >
    ``MAX_FEATURE``): standardising or training on them would end in NaN."""
    index = _too_large(values)
    if index is not None:
        value = values[index]
        problem = "is NaN or infinite" if not np.isfinite(value) else \
            f"is {value:.3g}, beyond +-{MAX_FEATURE:.0e}, where squares overflow"
        raise ValueError(f"{owner}: {what}{list(index)} {problem}. Fix or drop those values, "
                         f"or rescale the column (divide it by a large constant).")


def standardize(X_train, *others):
    """Standardise X_train and any further arrays with X_train's mean and std."""
    scaler = Standardizer().fit(X_train)
    results = [scaler.transform(X_train)] + [scaler.transform(X) for X in others]
    return results[0] if not others else tuple(results)


GENERATED = {"moons": make_moons, "circles": make_circles, "spirals": make_spirals,
             "xor": make_xor, "blobs": make_blobs}
