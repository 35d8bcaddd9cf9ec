"""Element-wise activations f(Z) and their derivatives.

An activation never changes a shape: (batch, features) -> (batch, features).
``forward(Z)`` returns Y = f(Z); ``backward(dY, Z, Y)`` returns
dZ = dY * f'(Z) -- for softmax, whose outputs depend on the whole row, the
Jacobian-vector product dZ = Y * (dY - sum(dY * Y, row)).

All forms are numerically stable: sigmoid uses ``scipy.special.expit`` (no
overflow at +-1000), softmax subtracts the row maximum before exp.
"""
import math

import numpy as np
from scipy.special import erf, expit

ACTIVATION_NAMES = ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "gelu")


def row_max(A):
    """max over the last axis of a 2-D array, shape (rows,).

    NumPy reduces along a short last axis row by row (slow for (1024, 10) logits);
    reducing the transposed copy along axis 0 is one vectorised pass per column.
    """
    return np.ascontiguousarray(A.T).max(axis=0)


def row_sum(A):
    """sum over the last axis of a 2-D array as a matrix-vector product, shape (rows,)."""
    return A @ np.ones(A.shape[-1], A.dtype)


def softmax(Z):
    """Stable softmax over the last axis: exp(Z - max) / sum(exp(Z - max))."""
    flat = Z.reshape(-1, Z.shape[-1])
    E = flat - row_max(flat)[:, None]
    np.exp(E, out=E)
    E /= row_sum(E)[:, None]
    return E.reshape(Z.shape)


def log_softmax(Z):
    """Stable log-softmax over the last axis: (Z - max) - log(sum(exp(Z - max)))."""
    flat = Z.reshape(-1, Z.shape[-1])
    shifted = flat - row_max(flat)[:, None]
    shifted -= np.log(row_sum(np.exp(shifted)))[:, None]
    return shifted.reshape(Z.shape)


def softmax_backward(dY, Y):
    """dZ = Y * (dY - sum(dY * Y)) row by row: the softmax Jacobian times dY."""
    flat_dY, flat_Y = dY.reshape(-1, dY.shape[-1]), Y.reshape(-1, Y.shape[-1])
    return (flat_Y * (flat_dY - row_sum(flat_dY * flat_Y)[:, None])).reshape(Y.shape)


class Activation:
    """An element-wise non-linearity, usable as a layer or inside ``Dense``.

    Shapes: (batch, ...) -> (batch, ...), unchanged.

    Args:
        activation: one of ``linear, relu, leaky_relu, sigmoid, tanh, softmax, gelu``.
        alpha: the negative slope of ``leaky_relu`` (default 0.2, as Keras).

    Example:
        >>> import numpy as np
        >>> Activation("relu").forward(np.array([[-1.0, 2.0]]))
        array([[0., 2.]])
    """

    def __init__(self, activation="linear", alpha=0.2):
        name = "linear" if activation is None else activation
        if name not in ACTIVATION_NAMES:
            raise ValueError(f"Activation: unknown activation {name!r}. "
                             f"Use one of: {', '.join(ACTIVATION_NAMES)}.")
        if not 0 <= alpha < 1:
            raise ValueError(f"Activation: leaky_relu alpha must be in [0, 1), got {alpha}.")
        self.name, self.alpha = name, float(alpha)
        self.params, self.grads, self.state = {}, {}, {}
        self.X = self.Y = None

    # --- the formulas -------------------------------------------------------
    def apply(self, Z):
        """Y = f(Z)."""
        if self.name == "linear":
            return Z
        if self.name == "relu":
            return np.maximum(Z, 0)
        if self.name == "leaky_relu":
            return np.where(Z > 0, Z, Z * self.alpha)
        if self.name == "sigmoid":
            return expit(Z)
        if self.name == "tanh":
            return np.tanh(Z)
        if self.name == "softmax":
            return softmax(Z)
        return 0.5 * Z * (1.0 + erf(Z * (1 / math.sqrt(2))))          # gelu (exact)

    def derivative(self, dY, Z, Y):
        """dZ = dY * f'(Z)."""
        if self.name == "linear":
            return dY
        if self.name == "relu":
            return dY * (Z > 0)
        if self.name == "leaky_relu":
            return dY * np.where(Z > 0, 1.0, self.alpha).astype(Z.dtype)
        if self.name == "sigmoid":
            return dY * Y * (1 - Y)                                   # f' = f (1 - f)
        if self.name == "tanh":
            return dY * (1 - Y * Y)                                   # f' = 1 - f^2
        if self.name == "softmax":
            return softmax_backward(dY, Y)
        cdf = 0.5 * (1.0 + erf(Z * (1 / math.sqrt(2))))               # gelu: Phi(Z) + Z phi(Z)
        pdf = np.exp(-0.5 * Z * Z) * (1 / math.sqrt(2 * math.pi))
        return dY * (cdf + Z * pdf)

    # --- the layer interface --------------------------------------------------
    def build(self, in_shape, rng=None, dtype=np.float32):
        return self.output_shape(in_shape)

    def output_shape(self, in_shape):
        return tuple(in_shape)

    def param_shapes(self, in_shape):
        return {}

    def ops(self, in_shape, operand="X"):
        """One op: Y = f(operand), shape unchanged (see ``Dense.ops``)."""
        if self.name == "linear":
            return []
        return [{"op": "activation", "out": "Y", "a": operand, "fn": self.name,
                 "shape": tuple(in_shape), "stored": 1}]

    def forward(self, X, training=False):
        self.X, self.Y = X, self.apply(X)
        return self.Y

    def backward(self, dY, need_dX=True):
        return self.derivative(dY, self.X, self.Y)

    def get_config(self):
        config = {"type": "Activation", "activation": self.name}
        if self.name == "leaky_relu":
            config["alpha"] = self.alpha
        return config

    def __repr__(self):
        return f"Activation({self.name!r})"


def ReLU():
    return Activation("relu")


def LeakyReLU(alpha=0.2):
    return Activation("leaky_relu", alpha=alpha)


def Sigmoid():
    return Activation("sigmoid")


def Tanh():
    return Activation("tanh")


def Softmax():
    return Activation("softmax")


def GELU():
    return Activation("gelu")
