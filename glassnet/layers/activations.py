"""Element-wise activations f(Z) and their derivatives, and the ``Activation`` layer.

An activation never changes a shape: (batch, features) -> (batch, features).
``ActivationFunction(name)`` holds one of them: ``apply(Z)`` returns Y = f(Z) and
``derivative(dY, Z, Y)`` returns dZ = dY * f'(Z) -- for softmax, whose outputs depend on
the whole row, the Jacobian-vector product dZ = Y * (dY - sum(dY * Y, row)). Layers with
an ``activation=`` option (Dense, Conv2D) hold one; ``Activation`` is the same function
as a layer of its own.

All forms are numerically stable: sigmoid uses ``scipy.special.expit`` (no
overflow at +-1000), softmax subtracts the row maximum before exp.
"""
import math

import numpy as np
from scipy.special import erf, expit

from .base import Layer
from .ops import Activate
from ..validate import flag, number

ACTIVATION_NAMES = ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "gelu",
                    "elu", "selu", "swish", "silu", "relu6", "log_softmax")
SELU_ALPHA = 1.6732632423543772848170429916717       # Klambauer et al. 2017, as Keras
SELU_SCALE = 1.0507009873554804934193349852946
GELU_TANH = math.sqrt(2 / math.pi)


def row_max(A):
    """max over the last axis of a 2-D array, shape (rows,).

    NumPy reduces along a short last axis row by row (slow for (1024, 10) logits);
    reducing the transposed copy along axis 0 is one vectorised pass per column.
    """
    return np.ascontiguousarray(A.T).max(axis=0)


def row_sum(A):
    """sum over the last axis of a 2-D array as a matrix-vector product, shape (rows,)."""
    return A @ np.ones(A.shape[-1], A.dtype)


def column_sum(A, out=None):
    """A.sum(axis=0) for a 2-D array, as the product ones @ A: NumPy sums a tall, narrow
    array along axis 0 row by row (450 us for (3872, 16)); the product is one BLAS call."""
    return np.matmul(np.ones(A.shape[0], A.dtype), A, out=out)


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


class ActivationFunction:
    """f and f' for one name (``None`` means ``"linear"``); ``alpha`` is leaky_relu's
    negative slope (default 0.2, as Keras), ``elu_alpha`` elu's value at -infinity
    (default 1.0, as Keras and PyTorch), ``approximate`` gelu's tanh form (Keras's
    ``gelu(approximate=True)``, PyTorch's ``approximate="tanh"``). ``swish`` and
    ``silu`` are one function, x sigmoid(x), as in Keras."""

    def __init__(self, name=None, alpha=0.2, owner="Activation", *, elu_alpha=1.0,
                 approximate=False):
        name = "linear" if name is None else name
        if name not in ACTIVATION_NAMES:
            raise ValueError(f"{owner}: unknown activation {name!r}. "
                             f"Use one of: {', '.join(ACTIVATION_NAMES)}.")
        self.name = name
        self.alpha = number(alpha, "leaky_relu alpha", owner, 0, 1, high_open=True)
        self.elu_alpha = number(elu_alpha, "elu alpha", owner, 0, 1e6)
        self.approximate = flag(approximate, "approximate", owner)
        if self.approximate and name != "gelu":
            raise ValueError(f"{owner}: approximate=True is gelu's tanh form; {name!r} has "
                             f"none. Use activation='gelu' or leave approximate out.")

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
        if self.name == "log_softmax":
            return log_softmax(Z)
        if self.name == "elu":                            # alpha (e^z - 1) below 0
            return np.where(Z > 0, Z, self.elu_alpha * np.expm1(np.minimum(Z, 0)))
        if self.name == "selu":                           # scale * elu(z, SELU_ALPHA)
            return SELU_SCALE * np.where(Z > 0, Z, SELU_ALPHA * np.expm1(np.minimum(Z, 0)))
        if self.name in ("swish", "silu"):                # z sigmoid(z)
            return Z * expit(Z)
        if self.name == "relu6":
            return np.clip(Z, 0, 6)
        if self.approximate:                              # gelu, tanh form
            return 0.5 * Z * (1.0 + np.tanh(GELU_TANH * (Z + 0.044715 * Z ** 3)))
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
        if self.name == "log_softmax":                    # dZ = dY - softmax(Z) sum(dY)
            flat_dY, flat_Y = dY.reshape(-1, dY.shape[-1]), Y.reshape(-1, Y.shape[-1])
            return (flat_dY - np.exp(flat_Y) * row_sum(flat_dY)[:, None]).reshape(Y.shape)
        if self.name == "elu":                            # f' = 1, or f + alpha below 0
            return dY * np.where(Z > 0, 1.0, Y + self.elu_alpha)
        if self.name == "selu":                           # f' = scale, or f + scale alpha
            return dY * np.where(Z > 0, SELU_SCALE, Y + SELU_SCALE * SELU_ALPHA)
        if self.name in ("swish", "silu"):                # f' = s (1 + z (1 - s))
            s = expit(Z)
            return dY * s * (1 + Z * (1 - s))
        if self.name == "relu6":
            return dY * ((Z > 0) & (Z < 6))
        if self.approximate:          # f' = (1 + t) / 2 + z (1 - t^2) c (1 + 3 k z^2) / 2
            t = np.tanh(GELU_TANH * (Z + 0.044715 * Z ** 3))
            return dY * (0.5 * (1 + t) + 0.5 * Z * (1 - t * t) * GELU_TANH *
                         (1 + 3 * 0.044715 * Z * Z))
        cdf = 0.5 * (1.0 + erf(Z * (1 / math.sqrt(2))))               # gelu: Phi(Z) + Z phi(Z)
        pdf = np.exp(-0.5 * Z * Z) * (1 / math.sqrt(2 * math.pi))
        return dY * (cdf + Z * pdf)

    def ops(self, shape, operand="Z"):
        """[Activate] -- or nothing for linear."""
        if self.name == "linear":
            return []
        fn = "gelu(tanh form)" if self.approximate else self.name
        return [Activate(out="Y", a=operand, fn=fn, shape=tuple(shape), stored=1)]

    def options(self):
        """The config entries that rebuild it: activation (and alpha for leaky_relu)."""
        options = {"activation": self.name}
        if self.name == "leaky_relu":
            options["alpha"] = self.alpha
        if self.approximate:
            options["approximate"] = True
        return options


class Activation(Layer):
    """An element-wise non-linearity as a layer: Y = f(X).

    Shapes: (batch, ...) -> (batch, ...), unchanged.
    Backward: dX = dY * f'(X) (softmax: the Jacobian-vector product above).

    Args:
        activation: one of ``linear, relu, leaky_relu, sigmoid, tanh, softmax, gelu,
            elu, selu, swish (= silu), relu6, log_softmax``.
        alpha: the negative slope of ``leaky_relu`` (default 0.2, as Keras), or elu's
            value at -infinity (default 1.0).
        approximate: gelu's tanh form (default False: the exact, erf form).

    Example:
        >>> import numpy as np
        >>> Activation("relu").forward(np.array([[-1.0, 2.0]]))
        array([[0., 2.]])
    """
    keeps = ("X", "Y")

    def __init__(self, activation="linear", alpha=None, approximate=False, **options):
        super().__init__(**options)
        if activation == "elu":
            self.activation = ActivationFunction(activation, elu_alpha=1.0 if alpha is None
                                                 else alpha, approximate=approximate)
        else:
            self.activation = ActivationFunction(activation, 0.2 if alpha is None else alpha,
                                                 approximate=approximate)

    @property
    def output_activation(self):
        return None if self.activation.name == "linear" else self.activation.name

    def output_shape(self, in_shape):
        return tuple(in_shape)

    def ops(self, in_shape):
        return self.activation.ops(in_shape, "X")

    def forward(self, X, training=False):
        Y = self.activation.apply(X)
        self.cache["X"], self.cache["Y"] = X, Y
        return Y

    def backward(self, dY):
        return self.activation.derivative(dY, self.cache["X"], self.cache["Y"])

    def logits(self):
        return self.cache["X"]

    def backward_from_logits(self, dZ):
        return dZ

    def get_config(self):
        config = {**super().get_config(), **self.activation.options()}
        if self.activation.name == "elu" and self.activation.elu_alpha != 1.0:
            config["alpha"] = self.activation.elu_alpha
        return config

    def __repr__(self):
        tanh = ", tanh form" if self.activation.approximate else ""
        return f"Activation({self.activation.name!r}{tanh})"


def ReLU(**options):
    return Activation("relu", **options)


def LeakyReLU(negative_slope=0.3, **options):
    """Keras 3's LeakyReLU layer: f(x) = x for x > 0, negative_slope * x else (default
    0.3, Keras's; the function ``activation="leaky_relu"`` uses 0.2, also as Keras)."""
    return Activation("leaky_relu", alpha=negative_slope, **options)


def Sigmoid(**options):
    return Activation("sigmoid", **options)


def Tanh(**options):
    return Activation("tanh", **options)


def Softmax(**options):
    return Activation("softmax", **options)


def GELU(approximate=False, **options):
    """GELU, x Phi(x); ``approximate=True``: the tanh form (PyTorch's approximate="tanh")."""
    return Activation("gelu", approximate=approximate, **options)


def ELU(alpha=1.0, **options):
    """Keras's ELU layer: x for x > 0, alpha (e^x - 1) else."""
    return Activation("elu", alpha=alpha, **options)


def SELU(**options):
    """scale * elu(x, alpha) with Klambauer et al.'s fixed scale and alpha."""
    return Activation("selu", **options)


def SiLU(**options):
    """x sigmoid(x) (also called swish)."""
    return Activation("silu", **options)


def ReLU6(**options):
    """min(max(x, 0), 6) (MobileNet's activation)."""
    return Activation("relu6", **options)


def LogSoftmax(**options):
    """log(softmax(x)) over the last axis, computed stably."""
    return Activation("log_softmax", **options)
