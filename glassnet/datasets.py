"""Data: generated 2-D sets, the 8x8 digits (offline), IDX/CSV readers, and helpers.

Every generator takes ``seed`` (an int or a ``numpy.random.Generator``) and returns
``(X, y)`` with X float64 of shape (n, features) and y int64 class labels (n,).
"""
import gzip
import os
import struct
from importlib import resources

import numpy as np


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_n(n, owner, minimum=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{owner}: n must be a whole number >= {minimum}, got {n!r}.")
    return int(n)


def _split_counts(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def make_moons(n=500, noise=0.1, seed=0):
    """Two interleaving half circles (2 classes)."""
    n, rng = _check_n(n, "make_moons", 2), _rng(seed)
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
    quadrant = rng.permutation(np.arange(n) % 4)           # balanced: n/4 per corner
    corners = np.c_[quadrant // 2, quadrant % 2]
    X = (corners * 2 - 1) + rng.normal(scale=noise, size=(n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return X.astype(np.float64), y


def make_blobs(n=500, centers=3, std=0.5, seed=0, spread=3.0):
    """Gaussian blobs around ``centers`` random centres (an int) or given ones (an array)."""
    n, rng = _check_n(n, "make_blobs"), _rng(seed)
    if isinstance(centers, (int, np.integer)):
        centers = rng.uniform(-spread, spread, size=(int(centers), 2))
    centers = np.asarray(centers, dtype=np.float64)
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


def load_idx(path):
    """Read an IDX file (the MNIST format, optionally gzipped) into a NumPy array.

    Layout: two zero bytes, a type code, the number of dimensions, each dimension as
    a big-endian 32-bit integer, then the values. Raises ValueError on a malformed file.
    """
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"load_idx: {os.fspath(path)!r} is not an IDX file (bad magic number "
                         f"{data[:4].hex() or 'empty'}). MNIST files start with 0x00000801 "
                         f"(labels) or 0x00000803 (images).")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"load_idx: {os.fspath(path)!r} is truncated inside its header.")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = data[4 + 4 * ndim:]
    if len(body) != expected:
        raise ValueError(f"load_idx: {os.fspath(path)!r} should hold {expected:,} bytes of data "
                         f"for shape {dims} but holds {len(body):,} (truncated or corrupt).")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def save_idx(path, array):
    """Write an array as an IDX file (the inverse of ``load_idx``)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype)
    if code is None:
        raise ValueError(f"save_idx: dtype {array.dtype} has no IDX type code.")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as f:
        f.write(header + array.astype(_IDX_TYPES[code]).tobytes())


def load_mnist_idx(images_path, labels_path):
    """MNIST-format images and labels: X (n, rows * cols) float64 in [0, 1], y (n,) int64."""
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"load_mnist_idx: expected images (n, rows, cols) and labels (n,), got "
                         f"{images.shape} and {labels.shape}.")
    return images.reshape(len(images), -1) / 255.0, labels.astype(np.int64)


def load_csv(path, label_column=-1, skip_header="auto"):
    """A numeric CSV: features from every column but ``label_column``, labels from it."""
    with open(path) as f:
        first = f.readline()
    if skip_header == "auto":
        try:
            [float(v) for v in first.strip().split(",")]
            skip_header = False
        except ValueError:
            skip_header = True
    table = np.loadtxt(path, delimiter=",", skiprows=int(skip_header), ndmin=2)
    y = table[:, label_column]
    X = np.delete(table, label_column if label_column >= 0 else table.shape[1] + label_column,
                  axis=1)
    return X, (y.astype(np.int64) if np.all(y == np.round(y)) else y)


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
    """Integer labels (n,) -> one-hot rows (n, classes)."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu" or (y.size and y.min() < 0):
        raise ValueError(f"one_hot: expects non-negative integer labels of shape (n,), got "
                         f"dtype {y.dtype} shape {y.shape}.")
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    if y.size and y.max() >= num_classes:
        raise ValueError(f"one_hot: label {int(y.max())} does not fit {num_classes} classes.")
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1
    return out


class Standardizer:
    """Standardise features with statistics learned from the training data only:
    X' = (X - mean) / std (constant features keep std 1)."""

    def fit(self, X):
        X = np.asarray(X, dtype=np.float64)
        self.mean, self.std = X.mean(axis=0), X.std(axis=0)
        self.std[self.std == 0] = 1.0
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.std

    def fit_transform(self, X):
        return self.fit(X).transform(X)


def standardize(X_train, *others):
    """Standardise X_train and any further arrays with X_train's mean and std."""
    scaler = Standardizer().fit(X_train)
    results = [scaler.transform(X_train)] + [scaler.transform(X) for X in others]
    return results[0] if not others else tuple(results)


GENERATED = {"moons": make_moons, "circles": make_circles, "spirals": make_spirals,
             "xor": make_xor, "blobs": make_blobs}
