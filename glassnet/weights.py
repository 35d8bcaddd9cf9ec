"""Copying a list of arrays into weights, as ``set_weights`` does for a layer or a model:
every array is checked (count, numeric kind, shape, finite values) before any is written,
so a refused list leaves every weight as it was."""
import numpy as np

from .errors import ShapeError, describe_shape


def assign(owner, slots, weights):
    """``slots``: (layer name, key, store) per weight, in order; ``weights``: the arrays."""
    try:
        weights = list(weights)
    except TypeError:
        raise TypeError(f"{owner}: expected a list of arrays, got {type(weights).__name__}.") \
            from None
    if len(weights) != len(slots):
        names = ", ".join(f"{name}.{k}" for name, k, _ in slots)
        raise ValueError(f"{owner}: the model has {len(slots)} weight arrays ({names}) but "
                         f"received {len(weights)}.")
    arrays = []
    for (name, k, store), w in zip(slots, weights):
        w = np.asarray(w)
        if w.dtype.kind not in "fiub":
            raise TypeError(f"{owner}: {name} weight {k!r} must be real numbers, got an array "
                            f"of dtype {w.dtype}.")
        if w.shape != store[k].shape:
            raise ShapeError(f"{owner}: {name} weight {k!r} has shape "
                             f"{describe_shape(store[k].shape)} but received "
                             f"{describe_shape(w.shape)}.")
        if w.dtype.kind == "f" and not np.isfinite(w).all():
            raise ValueError(f"{owner}: {name} weight {k!r} contains NaN or Inf; weights must "
                             f"be finite numbers.")
        with np.errstate(over="ignore", invalid="ignore"):
            cast = w.astype(store[k].dtype)
        if not np.isfinite(cast).all():
            raise ValueError(f"{owner}: {name} weight {k!r} holds values beyond the range of "
                             f"{store[k].dtype} (largest |value| {np.abs(w).max():.3g}).")
        arrays.append(cast)
    for (_, k, store), w in zip(slots, arrays):
        store[k][...] = w
