"""Small helpers with Keras's names: ``to_categorical``."""
import numpy as np

from .validate import whole_number

MAX_ONE_HOT_BYTES = 4 << 30          # the largest one-hot matrix made (4 GiB)


def class_labels(y, num_classes, owner):
    """(labels as int64, number of classes): every label a whole number in
    [0, num_classes), num_classes (a whole number, or None for max + 1) checked, and the
    one-hot matrix they make no larger than ``MAX_ONE_HOT_BYTES`` in float64."""
    y = np.asarray(y)
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not (
            np.isfinite(y).all() and np.all(y == np.round(y)))):
        raise ValueError(f"{owner}: labels must be whole numbers (class indices 0, 1, 2, "
                         f"...), got an array of dtype {y.dtype}"
                         + (" with fractions or NaN" if y.dtype.kind == "f" else "") + ".")
    if y.size and y.min() < 0:
        raise ValueError(f"{owner}: labels must be class indices >= 0, found {y.min():.0f}; "
                         f"map the classes to 0, 1, 2, ... first.")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
        if not num_classes:
            raise ValueError(f"{owner}: there are no labels to count the classes from; pass "
                             f"num_classes.")
    else:
        num_classes = whole_number(num_classes, "num_classes", owner)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"{owner}: label {y.max():.0f} does not fit {num_classes} classes "
                         f"(labels must be 0 to {num_classes - 1}); pass "
                         f"num_classes={int(y.max()) + 1} or leave it out.")
    if y.size * num_classes * 8 > MAX_ONE_HOT_BYTES:
        raise ValueError(f"{owner}: {y.size:,} labels x {num_classes:,} classes would make a "
                         f"one-hot matrix of {y.size * num_classes * 8:,} bytes, more than the "
                         f"limit of {MAX_ONE_HOT_BYTES:,}; use sparse labels with "
                         f"sparse_categorical_crossentropy instead.")
    return y.astype(np.int64), num_classes


def to_categorical(x, num_classes=None, dtype="float32"):
    """Integer class labels -> one-hot rows, as ``keras.utils.to_categorical``.

    Shapes: (n,) -> (n, num_classes); any shape (..., ) -> (..., num_classes), and a last
    axis of size 1 is dropped first ((n, 1) -> (n, num_classes)). ``num_classes``
    defaults to the largest label + 1. The result is float32 (Keras 2's default, and
    ``dtype`` as Keras 2 takes it; Keras 3 returns float64 for NumPy input, with the
    same values). Unlike Keras, negative or fractional labels are refused rather than
    wrapped around or truncated.

    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    y, num_classes = class_labels(x, num_classes, "to_categorical")
    shape = y.shape[:-1] if y.ndim > 1 and y.shape[-1] == 1 else y.shape
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y.reshape(-1)] = 1
    return out.reshape(*shape, num_classes)
