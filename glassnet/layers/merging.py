"""Layers that combine several inputs into one -- Add, Subtract, Multiply, Average and
Concatenate -- for graphs that are not a chain (``glassnet.network.functional``): skip
connections (``Add()([x, f(x)])``) and models with several inputs.

Each takes a list of arrays in ``forward`` and returns a list of gradients from
``backward``, one per input:
    Add:          Y = X1 + X2 + ...        dXi = dY
    Subtract:     Y = X1 - X2              dX1 = dY, dX2 = -dY
    Multiply:     Y = X1 * X2 * ...        dXi = dY * (the product of the others)
    Average:      Y = (X1 + ... + Xn) / n  dXi = dY / n
    Concatenate:  Y = [X1, X2, ...] along an axis; dXi = dY's slice of Xi
"""
import numpy as np

from .base import Layer, where
from ..errors import ShapeError, describe_shape
from .ops import Op


class _Merge(Layer):
    """Element-wise merges: every input has the same shape."""
    many_inputs = True
    symbol, keeps = "+", ()
    exactly = None                          # Subtract takes exactly two inputs

    def check_input_shape(self, in_shapes):
        if not isinstance(in_shapes, list) or len(in_shapes) < 2:
            raise ShapeError(f"{where(self)} combines several inputs: call it on a list of "
                             f"two or more, as in {type(self).__name__}()([a, b]).")
        if self.exactly and len(in_shapes) != self.exactly:
            raise ShapeError(f"{where(self)} takes exactly {self.exactly} inputs, got "
                             f"{len(in_shapes)}.")
        if any(tuple(s) != tuple(in_shapes[0]) for s in in_shapes):
            raise ShapeError(f"{where(self)} needs inputs of one shape, got "
                             f"{', '.join(describe_shape(s) for s in in_shapes)}.")

    def output_shape(self, in_shapes):
        self.check_input_shape(in_shapes)
        return tuple(in_shapes[0])

    def ops(self, in_shapes):
        names = [f"X{i + 1}" for i in range(len(in_shapes))]
        return [Op(out="Y", a=", ".join(names), a_shape=tuple(in_shapes[0]),
                   in_shapes=tuple(map(tuple, in_shapes)),
                   shape=self.output_shape(in_shapes), text=self.formula(names),
                   backward_text=self.backward_formula(), stored=len(self.keeps))]

    def formula(self, names):
        return f" {self.symbol} ".join(names)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Add(_Merge):
    """Y = X1 + X2 + ... (a skip connection: Add()([x, f(x)])); backward dXi = dY."""
    keeps = ("n",)

    def forward(self, X, training=False):
        Y = X[0] + X[1]
        for x in X[2:]:
            Y += x
        self.cache["n"] = len(X)
        return Y

    def backward(self, dY):
        return [dY] * self.cache["n"] if self.need_dX else None

    def backward_formula(self):
        return "dXi = dY"


class Subtract(_Merge):
    """Y = X1 - X2; backward dX1 = dY, dX2 = -dY."""
    symbol, exactly = "-", 2

    def forward(self, X, training=False):
        return X[0] - X[1]

    def backward(self, dY):
        return [dY, -dY] if self.need_dX else None

    def backward_formula(self):
        return "dX1 = dY, dX2 = -dY"


class Multiply(_Merge):
    """Y = X1 * X2 * ... element-wise; backward dXi = dY * (the product of the others)."""
    symbol, keeps = "*", ("X",)

    def forward(self, X, training=False):
        self.cache["X"] = list(X)
        Y = X[0] * X[1]
        for x in X[2:]:
            Y = Y * x
        return Y

    def backward(self, dY):
        if not self.need_dX:
            return None
        X = self.cache["X"]
        grads = []
        for i in range(len(X)):
            g = dY
            for j, x in enumerate(X):
                if j != i:
                    g = g * x
            grads.append(g)
        return grads

    def backward_formula(self):
        return "dXi = dY * (product of the others)"


class Average(_Merge):
    """Y = (X1 + ... + Xn) / n; backward dXi = dY / n."""
    keeps = ("n",)

    def forward(self, X, training=False):
        self.cache["n"] = len(X)
        return sum(X[1:], X[0]) / len(X)

    def formula(self, names):
        return f"({' + '.join(names)}) / {len(names)}"

    def backward(self, dY):
        n = self.cache["n"]
        return [dY / n] * n if self.need_dX else None

    def backward_formula(self):
        return "dXi = dY / n"


class Concatenate(_Merge):
    """Y = the inputs side by side along ``axis`` (default the last: features);
    backward: each input gets its own slice of dY."""
    keeps = ("sizes",)

    def __init__(self, axis=-1, **options):
        super().__init__(**options)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis == 0:
            raise ValueError(f"Concatenate: axis must be a whole number other than 0 (the "
                             f"batch), got {axis!r}.")
        self.axis = int(axis)

    def check_input_shape(self, in_shapes):
        if not isinstance(in_shapes, list) or len(in_shapes) < 2:
            raise ShapeError(f"{where(self)} combines several inputs: call it on a list of "
                             f"two or more, as in Concatenate()([a, b]).")
        rank = len(in_shapes[0])
        if not -rank < self.axis < rank:
            raise ShapeError(f"{where(self)}: axis {self.axis} does not exist in inputs of "
                             f"rank {rank}.")
        axis = self.axis % rank
        for s in in_shapes:
            if len(s) != rank or any(a != b for k, (a, b) in enumerate(zip(s, in_shapes[0]))
                                     if k != axis):
                raise ShapeError(f"{where(self)} needs inputs that agree on every axis but "
                                 f"{self.axis}, got "
                                 f"{', '.join(describe_shape(s) for s in in_shapes)}.")

    def output_shape(self, in_shapes):
        self.check_input_shape(in_shapes)
        axis = self.axis % len(in_shapes[0])
        out = list(in_shapes[0])
        out[axis] = sum(s[axis] for s in in_shapes)
        return tuple(out)

    def ops(self, in_shapes):
        names = [f"X{i + 1}" for i in range(len(in_shapes))]
        return [Op(out="Y", a=", ".join(names), a_shape=tuple(in_shapes[0]),
                   in_shapes=tuple(map(tuple, in_shapes)), shape=self.output_shape(in_shapes),
                   text=f"concatenate([{', '.join(names)}], axis={self.axis})",
                   backward_text="dXi = dY's slice of Xi", stored=0)]

    def forward(self, X, training=False):
        self.cache["sizes"] = [x.shape[self.axis] for x in X]
        return np.concatenate(X, axis=self.axis)

    def backward(self, dY):
        if not self.need_dX:
            return None
        cuts = np.cumsum(self.cache["sizes"])[:-1]
        return np.split(dY, cuts, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def __repr__(self):
        return f"Concatenate(axis={self.axis})"

