"""Layers: a forward pass on a whole batch and its backward pass as explicit
matrix formulas.

Every layer has the same small anatomy (no base class, no registration magic):

- ``params``: a dict of trainable arrays (``W``, ``b``, ...), ``grads`` the same
  keys and shapes, filled by ``backward`` *in place* (a model may hold all
  parameters as views into one buffer, so a layer never rebinds them);
- ``state``: non-trainable arrays (BatchNorm's running statistics);
- ``build(in_shape, rng, dtype)`` creates the parameters and returns the output
  shape; ``output_shape(in_shape)`` and ``param_shapes(in_shape)`` use no data;
- ``forward(X, training)`` keeps what backward needs; ``backward(dY)`` returns dX;
- ``get_config()`` describes the layer in plain JSON-able values.

Shapes use ``None`` for the batch dimension: ``(None, 784)``.
"""
import math

import numpy as np

from . import initializers
from .activations import GELU, Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh  # noqa: F401
from .errors import ShapeError, describe_features, describe_shape


def _check_positive_int(value, what, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{layer}: {what} must be a whole number, got {value!r} "
                        f"({type(value).__name__}).")
    if value <= 0:
        raise ValueError(f"{layer}: {what} must be a positive whole number, got {value}. "
                         f"A layer needs at least one unit.")
    return int(value)


def column_sum(A, out=None):
    """A.sum(axis=0) for a 2-D array, as the product ones @ A: NumPy sums a tall, narrow
    array along axis 0 row by row (450 us for (3872, 16)); the product is one BLAS call."""
    return np.matmul(np.ones(A.shape[0], A.dtype), A, out=out)


def where(layer):
    """How an error names a layer: 'Dense(8) at layer 2' (or 'Dense(8)' alone)."""
    position = getattr(layer, "position", None)
    return repr(layer) if position is None else f"{layer!r} at layer {position}"


def init_weights(layer, in_shape, rng, dtype, options=None):
    """Build a layer with W and b: check ``in_shape`` (output_shape refuses a bad one), draw
    W from the kernel_initializer and, with use_bias, b from the bias_initializer of
    ``options`` (the layer itself unless given), zero the gradients; returns the output
    shape (Dense, Conv2D, Conv1D)."""
    out = layer.output_shape(in_shape)
    shapes = layer.param_shapes(in_shape)
    options = options or layer
    layer.params = {"W": initializers.get(options.kernel_initializer)(shapes["W"], rng, dtype)}
    if options.use_bias:
        layer.params["b"] = initializers.get(options.bias_initializer)(shapes["b"], rng, dtype)
    layer.grads = {k: np.zeros_like(v) for k, v in layer.params.items()}
    return out


def weight_options(layer, config):
    """Add to ``config`` the weight options that differ from Keras's defaults."""
    if not layer.use_bias:
        config["use_bias"] = False
    if layer.kernel_initializer != "glorot_uniform":
        config["kernel_initializer"] = layer.kernel_initializer
    if layer.bias_initializer != "zeros":
        config["bias_initializer"] = layer.bias_initializer
    return config


def _check_input(layer, X, expected):
    """Refuse an input whose non-batch shape differs from ``expected``."""
    if X.shape[1:] != tuple(expected):
        raise ShapeError(
            f"{where(layer)} expects inputs of shape {describe_shape((None, *expected))} "
            f"but received {describe_shape(X.shape)}. Feed it arrays with "
            f"{describe_features((None, *expected))} features per sample, or rebuild "
            f"the layer for {describe_features(X.shape)}.")


class Dense:
    """A fully connected layer: Y = f(X @ W + b), on the whole batch at once.

    Inputs with more axes, (batch, ..., in_features), are transformed along the last
    axis at every position (as Keras does), e.g. (batch, time, features).

    Shapes:
        X (batch, in_features) @ W (in_features, units) -> (batch, units)
        + b (units,), broadcast as (1, units)            -> Z (batch, units)
        f elementwise                                    -> Y (batch, units)
    Backward (dZ = dY * f'(Z)):
        dW = X.T @ dZ   (in_features, batch) @ (batch, units) -> (in_features, units)
        db = dZ.sum(0)  (units,)
        dX = dZ @ W.T   (batch, units) @ (units, in_features) -> (batch, in_features)

    Args:
        units: number of output features (neurons); each is one column of W.
        activation: name of the activation f (``None`` or ``"linear"`` for none).
        input_dim: number of input features, for the first layer of a model.
        use_bias: add b (default True).
        kernel_initializer, bias_initializer: names from ``glassnet.initializers``.

    Example (seed 001: 3 inputs, 2 outputs = 6 weights + 2 biases):
        >>> Dense(2, input_dim=3).count_params()
        8
    """

    def __init__(self, units, activation=None, input_dim=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", alpha=0.2):
        self.units = _check_positive_int(units, "units", "Dense")
        self.input_dim = None if input_dim is None else _check_positive_int(
            input_dim, "input_dim", f"Dense({self.units})")
        self.activation = Activation(activation, alpha=alpha)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        initializers.get(kernel_initializer, f"Dense({self.units})")
        initializers.get(bias_initializer, f"Dense({self.units})")
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None
        self.X = self.Z = self.Y = None

    def output_shape(self, in_shape):
        if len(in_shape) < 2:
            raise ShapeError(f"{where(self)} expects inputs of shape (batch, features) but "
                             f"received {describe_shape(in_shape)}.")
        if self.input_dim is not None and in_shape[-1] != self.input_dim:
            hint = (f" To feed each {describe_features(in_shape)} sample as "
                    f"{self.input_dim} features, add Flatten() before it."
                    if len(in_shape) > 2 and np.prod(in_shape[1:]) == self.input_dim else "")
            raise ShapeError(
                f"{where(self)} was declared with input_dim={self.input_dim} but receives "
                f"{describe_shape(in_shape)}: the layer before it outputs {in_shape[-1]} "
                f"features. Declare input_dim={in_shape[-1]}, or make the layer before it "
                f"output {self.input_dim}.{hint}")
        return (*in_shape[:-1], self.units)

    def ops(self, in_shape):
        """The operations of one forward pass, as data (what trace and explain show).

        Each op names its result, operands and shapes; ``stored`` counts the
        result-sized arrays it allocates and keeps for the backward pass.
        """
        out, inputs = self.output_shape(in_shape), in_shape[-1]
        ops = [{"op": "matmul", "out": "Z", "a": "X", "b": "W", "a_shape": tuple(in_shape),
                "b_shape": (inputs, self.units), "shape": out, "stored": 1}]
        if self.use_bias:
            ops.append({"op": "bias", "out": "Z", "a": "Z", "b": "b", "a_shape": out,
                        "b_shape": (self.units,), "shape": out, "stored": 0})
        if self.activation.name != "linear":
            ops += self.activation.ops(out, "Z")
        return ops

    def param_shapes(self, in_shape):
        shapes = {"W": (in_shape[-1], self.units)}
        if self.use_bias:
            shapes["b"] = (self.units,)
        return shapes

    def count_params(self, in_shape=None):
        in_shape = in_shape or (None, self.input_dim)
        if in_shape[-1] is None:
            raise ValueError(f"{where(self)} does not know its input size yet: give it "
                             f"input_dim, or build the model first.")
        return sum(int(np.prod(s)) for s in self.param_shapes(in_shape).values())

    def build(self, in_shape, rng, dtype=np.float32):
        return init_weights(self, in_shape, rng, dtype)

    def forward(self, X, training=False):
        W = self.params["W"]
        if X.ndim < 2 or X.shape[-1] != W.shape[0]:
            _check_input(self, X, (*X.shape[1:-1], W.shape[0]))
        if X.ndim == 2:
            Z = X @ W                   # (batch, in) @ (in, units) -> (batch, units)
        else:                           # every position a row: one GEMM, not a stack of them
            Z = (X.reshape(-1, X.shape[-1]) @ W).reshape(*X.shape[:-1], W.shape[1])
        if self.use_bias:
            Z += self.params["b"]       # b (units,) broadcast over the batch
        self.X, self.Z = X, Z
        self.Y = self.activation.apply(Z)
        return self.Y

    def backward(self, dY, need_dX=True):
        """dY (batch, units) -> dX (batch, in_features); fills grads["W"], grads["b"]."""
        return self.backward_linear(self.activation.derivative(dY, self.Z, self.Y), need_dX)

    def backward_linear(self, dZ, need_dX=True):
        """The backward of Z = X @ W + b alone, given dZ (used for fused losses)."""
        X, dZ2 = self.X, dZ
        if X.ndim > 2:       # (batch, ..., in): every position is one more row
            X, dZ2 = X.reshape(-1, X.shape[-1]), dZ.reshape(-1, dZ.shape[-1])
        if len(dZ2) == 1:    # one row: X.T @ dZ is an outer product, and OpenBLAS's
            np.multiply(X.T, dZ2, out=self.grads["W"])           # GEMM is 4x slower at k=1
        else:
            np.matmul(X.T, dZ2, out=self.grads["W"])             # dW = X.T @ dZ
        if self.use_bias:
            column_sum(dZ2, out=self.grads["b"])                 # db = dZ.sum(0)
        if not need_dX:
            return None
        return (dZ2 @ self.params["W"].T).reshape(self.X.shape)    # dX = dZ @ W.T

    def get_config(self):
        config = {"type": "Dense", "units": self.units, "activation": self.activation.name}
        if self.activation.name == "leaky_relu":
            config["alpha"] = self.activation.alpha
        if self.input_dim is not None:
            config["input_dim"] = self.input_dim
        return weight_options(self, config)

    def __repr__(self):
        act = "" if self.activation.name == "linear" else f", {self.activation.name}"
        return f"Dense({self.units}{act})"


class GlobalAverage:
    """The mean over ``axes`` (time; or height and width): (batch, ..., C) -> (batch, C).
    Backward: dX = dY / n at every averaged position (n positions). Subclasses name the
    axes and check their input's shape."""
    axes = ()

    def __init__(self):
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None

    def _check(self, shape):
        raise NotImplementedError

    def output_shape(self, in_shape):
        self._check(in_shape)
        return tuple(d for i, d in enumerate(in_shape) if i not in self.axes)

    def param_shapes(self, in_shape):
        return {}

    def ops(self, in_shape):
        return [{"op": "pool", "mode": "global average", "out": "Y", "a": "X",
                 "a_shape": tuple(in_shape), "window": tuple(in_shape[a] for a in self.axes),
                 "strides": (1,) * len(self.axes), "shape": self.output_shape(in_shape),
                 "stored": 0}]

    def build(self, in_shape, rng=None, dtype=np.float32):
        return self.output_shape(in_shape)

    def forward(self, X, training=False):
        if X.ndim != len(self.axes) + 2:
            self._check(X.shape)
        self.in_shape = X.shape
        return X.mean(axis=self.axes)

    def backward(self, dY, need_dX=True):
        n = math.prod(self.in_shape[a] for a in self.axes)
        return np.broadcast_to(np.expand_dims(dY / n, self.axes), self.in_shape).copy()

    def get_config(self):
        return {"type": type(self).__name__}

    def __repr__(self):
        return f"{type(self).__name__}()"


class Dropout:
    """Randomly zeroes a fraction ``rate`` of the inputs while training.

    Shapes: (batch, ...) -> (batch, ...), unchanged.
    Forward (training): mask = (u >= rate) / (1 - rate) with u ~ U[0, 1), Y = X * mask
        (inverted dropout: the expected value of Y equals X, so inference is Y = X).
    Backward: dX = dY * mask.

    Args:
        rate: fraction of inputs to drop, in [0, 1).
        seed: seed of this layer's masks; by default the model derives one from its
            own seed and the layer's position, so runs are reproducible.
    """

    def __init__(self, rate, seed=None):
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1) (the fraction of "
                             f"inputs to drop), got {rate!r}. Use for example Dropout(0.2).")
        self.rate, self.seed = float(rate), seed
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.params, self.grads, self.state = {}, {}, {}
        self.position, self.mask = None, None

    def output_shape(self, in_shape):
        return tuple(in_shape)

    def param_shapes(self, in_shape):
        return {}

    def ops(self, in_shape):
        return [{"op": "dropout", "out": "Y", "a": "X", "rate": self.rate,
                 "shape": tuple(in_shape), "stored": 2}]           # the mask and Y

    def build(self, in_shape, rng, dtype=np.float32):
        if self.rng is None:
            self.rng = rng
        return self.output_shape(in_shape)

    def forward(self, X, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return X
        if self.rng is None:
            raise ValueError(f"{where(self)} has no random generator: give it a seed, "
                             f"Dropout({self.rate}, seed=0), or use it inside a model.")
        keep = self.rng.random(X.shape, dtype=X.dtype if X.dtype == np.float32 else np.float64)
        self.mask = np.multiply(keep >= self.rate, 1.0 / (1.0 - self.rate), dtype=X.dtype)
        return X * self.mask

    def backward(self, dY, need_dX=True):
        return dY if self.mask is None else dY * self.mask

    def get_config(self):
        config = {"type": "Dropout", "rate": self.rate}
        if self.seed is not None:
            config["seed"] = self.seed
        return config

    def __repr__(self):
        return f"Dropout({self.rate})"


class BatchNorm:
    """Batch normalisation over the batch axis of (batch, features) inputs.

    Shapes: X (batch, features) -> Y (batch, features); gamma, beta (features,).
    Forward (training):
        mu = X.mean(0), var = X.var(0)                       (biased, over the batch)
        X_hat = (X - mu) / sqrt(var + epsilon)
        Y = gamma * X_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var * N / (N - 1)
    Forward (inference): the same with running_mean and running_var.
    Backward (N = batch; at inference dX = dY * gamma / sqrt(running_var + eps)):
        dgamma = (dY * X_hat).sum(0), dbeta = dY.sum(0)
        dX_hat = dY * gamma
        dX = (N dX_hat - dX_hat.sum(0) - X_hat (dX_hat * X_hat).sum(0)) / (N sqrt(var + eps))

    Parameters counted as Keras counts them: gamma and beta are trainable, the two
    running statistics non-trainable (4 x features in all). Defaults as Keras
    (momentum 0.99, epsilon 1e-3); the running variance uses the unbiased batch
    variance, as PyTorch does (PyTorch's ``momentum`` is 1 - this momentum).
    """

    def __init__(self, momentum=0.99, epsilon=1e-3):
        if not 0 <= momentum < 1:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1), got {momentum!r}.")
        if not epsilon > 0:
            raise ValueError(f"BatchNorm: epsilon must be > 0, got {epsilon!r}.")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None

    def output_shape(self, in_shape):
        if len(in_shape) != 2:
            raise ShapeError(f"{where(self)} expects inputs of shape (batch, features) but "
                             f"received {describe_shape(in_shape)}. Add Flatten() before it.")
        return tuple(in_shape)

    def param_shapes(self, in_shape):
        return {"gamma": (in_shape[-1],), "beta": (in_shape[-1],)}

    def state_shapes(self, in_shape):
        return {"running_mean": (in_shape[-1],), "running_var": (in_shape[-1],)}

    def ops(self, in_shape):
        shape = self.output_shape(in_shape)
        return [{"op": "normalize", "out": "X_hat", "a": "X", "shape": shape, "stored": 1},
                {"op": "scale_shift", "out": "Y", "a": "X_hat", "b": "gamma, beta",
                 "b_shape": (shape[-1],), "shape": shape, "stored": 1}]

    def build(self, in_shape, rng, dtype=np.float32):
        out_shape = self.output_shape(in_shape)
        features = in_shape[-1]
        self.params = {"gamma": np.ones(features, dtype), "beta": np.zeros(features, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state = {"running_mean": np.zeros(features, dtype),
                      "running_var": np.ones(features, dtype)}
        return out_shape

    def forward(self, X, training=False):
        gamma, beta = self.params["gamma"], self.params["beta"]
        if X.ndim != 2 or X.shape[1] != gamma.shape[0]:
            _check_input(self, X, gamma.shape)
        if training:
            n = X.shape[0]
            if n < 2:
                raise ValueError(f"{where(self)} needs at least 2 samples per batch while "
                                 f"training (got {n}) to estimate a variance. Use a larger "
                                 f"batch_size.")
            mu, var = X.mean(axis=0), X.var(axis=0)
            m = self.momentum
            self.state["running_mean"] *= m
            self.state["running_mean"] += (1 - m) * mu
            self.state["running_var"] *= m
            self.state["running_var"] += (1 - m) * var * (n / (n - 1))
        else:
            mu, var = self.state["running_mean"], self.state["running_var"]
        self.training = training
        self.inv_std = 1.0 / np.sqrt(var + self.epsilon)
        self.X_hat = (X - mu) * self.inv_std
        return self.X_hat * gamma + beta

    def backward(self, dY, need_dX=True):
        X_hat, n = self.X_hat, dY.shape[0]
        np.sum(dY * X_hat, axis=0, out=self.grads["gamma"])      # dgamma
        np.sum(dY, axis=0, out=self.grads["beta"])               # dbeta
        if not need_dX:
            return None
        dX_hat = dY * self.params["gamma"]
        if not self.training:                        # mu, var are constants at inference
            return dX_hat * self.inv_std
        return (n * dX_hat - dX_hat.sum(axis=0) - X_hat * (dX_hat * X_hat).sum(axis=0)) \
            * (self.inv_std / n)

    def get_config(self):
        return {"type": "BatchNorm", "momentum": self.momentum, "epsilon": self.epsilon}

    def __repr__(self):
        return "BatchNorm()"


class Flatten:
    """Flattens each sample: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...).

    Backward: dX = dY reshaped to X's shape.
    """

    def __init__(self):
        self.params, self.grads, self.state = {}, {}, {}
        self.position, self.in_shape = None, None

    def output_shape(self, in_shape):
        return (in_shape[0], int(np.prod(in_shape[1:])))

    def param_shapes(self, in_shape):
        return {}

    def ops(self, in_shape):
        return [{"op": "reshape", "out": "Y", "a": "X", "a_shape": tuple(in_shape),
                 "shape": self.output_shape(in_shape), "stored": 0}]

    def build(self, in_shape, rng=None, dtype=np.float32):
        return self.output_shape(in_shape)

    def forward(self, X, training=False):
        self.in_shape = X.shape
        return X.reshape(X.shape[0], -1)

    def backward(self, dY, need_dX=True):
        return dY.reshape(self.in_shape)

    def get_config(self):
        return {"type": "Flatten"}

    def __repr__(self):
        return "Flatten()"


BatchNormalization = BatchNorm
