"""Layers that move or scale values without weights: ``Reshape`` (each sample to a new
shape, the values in the same order) and ``Rescaling`` (Y = X * scale + offset), as
Keras writes them.
"""
import math

import numpy as np

from .base import Layer, where
from ..errors import ShapeError, describe_shape
from .ops import Op, Reshape as ReshapeOp
from ..validate import number, whole_number


class Reshape(Layer):
    """Each sample reshaped to ``target_shape``, values in the same (row-major) order, as
    Keras's Reshape and PyTorch's ``x.view(x.size(0), ...)``.

    Shapes: (batch, *in) -> (batch, *target_shape); one entry of target_shape may be -1,
    taking what is left. Backward: dX = dY.reshape(batch, *in) (no arithmetic).

    Example:
        >>> import numpy as np
        >>> Reshape((2, 3)).forward(np.arange(6.0).reshape(1, 6)).shape
        (1, 2, 3)
    """
    keeps = ("in_shape",)

    def __init__(self, target_shape, **options):
        super().__init__(**options)
        try:
            target = tuple(target_shape)
        except TypeError:
            target = None
        if not target:
            raise ValueError(f"Reshape: target_shape must be a non-empty tuple of sizes, "
                             f"got {target_shape!r}.")
        if sum(1 for d in target if d == -1) > 1:
            raise ValueError(f"Reshape: at most one size of target_shape may be -1, got "
                             f"{target_shape!r}.")
        self.target_shape = tuple(-1 if d == -1 else
                                  whole_number(d, "target_shape", "Reshape") for d in target)

    def resolved(self, in_shape):
        """target_shape with its -1 worked out for one sample of ``in_shape``."""
        size = math.prod(in_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ShapeError(f"{where(self)} cannot reshape {describe_shape(in_shape)} "
                                 f"({size} values per sample) to {self.target_shape}: "
                                 f"{size} is not a multiple of {known}.")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ShapeError(f"{where(self)} cannot reshape {describe_shape(in_shape)} "
                             f"({size} values per sample) to {self.target_shape} ({known} "
                             f"values). Give a target_shape of {size} values, or -1 for one "
                             f"size.")
        return self.target_shape

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (in_shape[0], *self.resolved(in_shape))

    def ops(self, in_shape):
        return [ReshapeOp(out="Y", a="X", a_shape=tuple(in_shape),
                          shape=self.output_shape(in_shape))]

    def forward(self, X, training=False):
        shape = self.resolved((None, *X.shape[1:]))
        self.cache["in_shape"] = X.shape
        return X.reshape(X.shape[0], *shape)

    def backward(self, dY):
        return dY.reshape(self.cache["in_shape"])

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}

    def __repr__(self):
        return f"Reshape({self.target_shape})"


class Rescaling(Layer):
    """Y = X * scale + offset, element-wise, as Keras's Rescaling (PyTorch's ``x * 0.5``
    or ``x + 1`` written as a layer). Backward: dX = dY * scale.

    Example:
        >>> import numpy as np
        >>> Rescaling(0.5, offset=1.0).forward(np.array([[2.0, 4.0]]))
        array([[2., 3.]])
    """

    def __init__(self, scale, offset=0.0, **options):
        super().__init__(**options)
        self.scale = number(scale, "scale", "Rescaling", -1e30, 1e30)
        self.offset = number(offset, "offset", "Rescaling", -1e30, 1e30)

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return tuple(in_shape)

    def ops(self, in_shape):
        shape = tuple(in_shape)
        offset = f" + {self.offset:g}" if self.offset else ""
        return [Op(a_shape=shape, shape=shape, text=f"X * {self.scale:g}{offset}",
                   backward_text=f"dX = dY * {self.scale:g}", stored=0,
                   note_text="element-wise: shape unchanged")]

    def forward(self, X, training=False):
        Y = X * np.asarray(self.scale, X.dtype)
        if self.offset:
            Y += np.asarray(self.offset, X.dtype)
        return Y

    def backward(self, dY):
        return dY * np.asarray(self.scale, dY.dtype)

    def get_config(self):
        config = {**super().get_config(), "scale": self.scale}
        if self.offset:
            config["offset"] = self.offset
        return config

    def __repr__(self):
        return f"Rescaling({self.scale:g}{f', {self.offset:g}' if self.offset else ''})"


class Cropping1D(Layer):
    """Steps cut from the start and the end of each sequence, as Keras's Cropping1D:
    (batch, time, features) -> (batch, time - start - end, features), Y = X[:, start:time
    - end]. PyTorch's ``out[:, -1]`` is Cropping1D((time - 1, 0)) then a flatten.
    Backward: dX is dY at the kept steps and zero at the cut ones.

    Example:
        >>> import numpy as np
        >>> Cropping1D((1, 2)).forward(np.arange(5.0).reshape(1, 5, 1))[0, :, 0]
        array([1., 2.])
    """
    keeps = ("in_shape",)
    input_ndim, input_describe = 3, "sequences of shape (batch, time, features)"

    def __init__(self, cropping=(1, 1), **options):
        super().__init__(**options)
        pair = (cropping, cropping) if isinstance(cropping, (int, np.integer)) else cropping
        try:
            pair = tuple(pair)
        except TypeError:
            pair = ()
        if len(pair) != 2:
            raise ValueError(f"Cropping1D: cropping must be a number or a (start, end) pair, "
                             f"got {cropping!r}.")
        self.cropping = tuple(whole_number(c, "cropping", "Cropping1D", minimum=0)
                              for c in pair)

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        start, end = self.cropping
        if in_shape[1] is not None and in_shape[1] - start - end < 1:
            raise ShapeError(f"{where(self)} cuts {start} + {end} steps from sequences of "
                             f"{in_shape[1]}: nothing would be left.")
        kept = None if in_shape[1] is None else in_shape[1] - start - end
        return (in_shape[0], kept, in_shape[2])

    def ops(self, in_shape):
        start, end = self.cropping
        return [Op(a_shape=tuple(in_shape), shape=self.output_shape(in_shape),
                   text=f"X[:, {start}:time-{end}]", stored=0,
                   backward_text="dX = dY at the kept steps, 0 at the cut ones",
                   note_text="no arithmetic")]

    def forward(self, X, training=False):
        if X.ndim != 3:
            self.check_input_shape(X.shape)
        self.output_shape((None, *X.shape[1:]))
        self.cache["in_shape"] = X.shape
        start, end = self.cropping
        return X[:, start:X.shape[1] - end]

    def backward(self, dY):
        dX = np.zeros(self.cache["in_shape"], dY.dtype)
        start = self.cropping[0]
        dX[:, start:start + dY.shape[1]] = dY
        return dX

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}

    def __repr__(self):
        return f"Cropping1D({self.cropping})"
