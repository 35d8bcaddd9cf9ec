"""The core layers: Dense, Dropout, Flatten and Embedding -- each a forward pass on a
whole batch and its backward pass as explicit matrix formulas, on the one layer contract
of ``glassnet.layers.base``. Shapes use ``None`` for the batch dimension: ``(None, 784)``.
"""
import math

import numpy as np

from .. import initializers, regularizers
from .activations import ActivationFunction, column_sum
from .base import Layer, where
from ..errors import ShapeError, describe_features, describe_shape
from .ops import BiasAdd, Lookup, Mask, MatMul, Op, Reshape
from ..validate import flag, whole_number


def check_input(layer, X, expected):
    """Refuse an input whose non-batch shape differs from ``expected``."""
    if X.shape[1:] != tuple(expected):
        raise ShapeError(
            f"{where(layer)} expects inputs of shape {describe_shape((None, *expected))} "
            f"but received {describe_shape(X.shape)}. Feed it arrays with "
            f"{describe_features((None, *expected))} features per sample, or rebuild "
            f"the layer for {describe_features(X.shape)}.")


class Weighted(Layer):
    """What Dense, Conv2D and Conv1D share: a kernel W and a bias b drawn from named
    initialisers (Keras's defaults), an activation applied last, and optional penalties
    on W and b (``kernel_regularizer``, ``bias_regularizer``: ``glassnet.regularizers``)
    added to the loss, their gradients added to dW and db in the backward pass."""

    def __init__(self, activation, use_bias, kernel_initializer, bias_initializer, alpha,
                 owner, *, kernel_regularizer=None, bias_regularizer=None, **options):
        super().__init__(**options)
        self.activation = ActivationFunction(activation, alpha, owner)
        self.use_bias = flag(use_bias, "use_bias", owner)
        initializers.get(kernel_initializer, owner)
        initializers.get(bias_initializer, owner)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        penalties = {"W": regularizers.get(kernel_regularizer, owner, "kernel_regularizer"),
                     "b": regularizers.get(bias_regularizer, owner, "bias_regularizer")}
        self.regularizers = {k: r for k, r in penalties.items() if r is not None}

    def penalty(self):
        """The regularizers' penalty on this layer's weights (0.0 without any)."""
        return sum(r.penalty(self.params[k]) for k, r in self.regularizers.items()
                   if k in self.params)

    def add_penalty_gradients(self):
        """dW += dpenalty/dW, db += dpenalty/db (after the data's gradient is filled)."""
        for k, r in self.regularizers.items():
            if k in self.grads:
                self.grads[k] += r.gradient(self.params[k])

    @property
    def output_activation(self):
        return None if self.activation.name == "linear" else self.activation.name

    def init_param(self, name, shape, rng, dtype):
        init = self.kernel_initializer if name == "W" else self.bias_initializer
        return initializers.get(init)(shape, rng, dtype)

    def logits(self):
        return self.cache["Z"]

    def get_config(self):
        """Add the weight options that differ from Keras's defaults."""
        config = {**super().get_config(), **self.activation.options()}
        if not self.use_bias:
            config["use_bias"] = False
        if self.kernel_initializer != "glorot_uniform":
            config["kernel_initializer"] = self.kernel_initializer
        if self.bias_initializer != "zeros":
            config["bias_initializer"] = self.bias_initializer
        for key, k in (("kernel_regularizer", "W"), ("bias_regularizer", "b")):
            if k in self.regularizers:
                config[key] = self.regularizers[k].get_config()
        return config


class Dense(Weighted):
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

    Args (Keras's order):
        units: number of output features (neurons); each is one column of W.
        activation: name of the activation f (``None`` or ``"linear"`` for none).
        use_bias: add b (default True).
        kernel_initializer, bias_initializer: names from ``glassnet.initializers``.
        kernel_regularizer, bias_regularizer: penalties on W and b
            (``glassnet.regularizers.L1``, ``L2``, ``L1L2``): added to the loss, their
            gradients (l1 * sign(W) + 2 * l2 * W) added to dW and db (keywords only).
        input_dim: number of input features, for the first layer of a model (the same as
            ``input_shape=(input_dim,)``); alpha: leaky_relu's slope (keywords only).

    Example (seed 001: 3 inputs, 2 outputs = 6 weights + 2 biases):
        >>> Dense(2, input_dim=3).count_params()
        8
    """
    keeps = ("X", "Z", "Y")

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", *,
                 input_dim=None, alpha=0.2, **options):
        self.units = whole_number(units, "units", "Dense")
        owner = f"Dense({self.units})"
        if input_dim is not None:
            if options.get("input_shape") is not None:
                raise ValueError(f"{owner}: give input_dim or input_shape, not both.")
            options["input_shape"] = (whole_number(input_dim, "input_dim", owner),)
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, alpha,
                         owner, **options)

    def check_input_shape(self, in_shape):
        super().check_input_shape(in_shape)
        declared = self.input_spec.shape
        if declared is None or tuple(in_shape[1:]) == declared or \
                (len(declared) == 1 and in_shape[-1] == declared[0]):
            return
        size = declared[-1] if len(declared) == 1 else None
        if size is None:
            raise ShapeError(f"{where(self)} was declared with input_shape={declared} but "
                             f"receives {describe_shape(in_shape)}.")
        hint = (f" To feed each {describe_features(in_shape)} sample as {size} features, add "
                f"Flatten() before it."
                if len(in_shape) > 2 and math.prod(in_shape[1:]) == size else "")
        raise ShapeError(
            f"{where(self)} was declared with input_dim={size} but receives "
            f"{describe_shape(in_shape)}: the layer before it outputs {in_shape[-1]} "
            f"features. Declare input_dim={in_shape[-1]}, or make the layer before it "
            f"output {size}.{hint}")

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (*in_shape[:-1], self.units)

    def param_shapes(self, in_shape):
        shapes = {"W": (in_shape[-1], self.units)}
        if self.use_bias:
            shapes["b"] = (self.units,)
        return shapes

    def ops(self, in_shape):
        out = self.output_shape(in_shape)
        ops = [MatMul(out="Z", a="X", b="W", a_shape=tuple(in_shape),
                      b_shape=(in_shape[-1], self.units), shape=out, stored=1)]
        if self.use_bias:
            ops.append(BiasAdd(a_shape=out, b_shape=(self.units,), shape=out))
        return ops + self.activation.ops(out)

    def forward(self, X, training=False):
        W = self.params["W"]
        if X.ndim < 2 or X.shape[-1] != W.shape[0]:
            check_input(self, X, (*X.shape[1:-1], W.shape[0]))
        if X.ndim == 2:
            Z = X @ W                   # (batch, in) @ (in, units) -> (batch, units)
        else:                           # every position a row: one GEMM, not a stack of them
            Z = (X.reshape(-1, X.shape[-1]) @ W).reshape(*X.shape[:-1], W.shape[1])
        if self.use_bias:
            Z += self.params["b"]       # b (units,) broadcast over the batch
        Y = self.activation.apply(Z)
        self.cache["X"], self.cache["Z"], self.cache["Y"] = X, Z, Y
        return Y

    def backward(self, dY):
        """dY (batch, units) -> dX (batch, in_features); fills grads["W"], grads["b"]."""
        dZ = self.activation.derivative(dY, self.cache["Z"], self.cache["Y"])
        return self.backward_from_logits(dZ)

    def backward_from_logits(self, dZ):
        """The backward of Z = X @ W + b alone, given dZ (also used for fused losses)."""
        X, dZ2 = self.cache["X"], dZ
        if X.ndim > 2:       # (batch, ..., in): every position is one more row
            X, dZ2 = X.reshape(-1, X.shape[-1]), dZ.reshape(-1, dZ.shape[-1])
        if len(dZ2) == 1:    # one row: X.T @ dZ is an outer product, and OpenBLAS's
            np.multiply(X.T, dZ2, out=self.grads["W"])           # GEMM is 4x slower at k=1
        else:
            np.matmul(X.T, dZ2, out=self.grads["W"])             # dW = X.T @ dZ
        if self.use_bias:
            column_sum(dZ2, out=self.grads["b"])                 # db = dZ.sum(0)
        self.add_penalty_gradients()                             # + dpenalty/dW, /db
        if not self.need_dX:
            return None
        return (dZ2 @ self.params["W"].T).reshape(self.cache["X"].shape)   # dX = dZ @ W.T

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def __repr__(self):
        act = "" if self.activation.name == "linear" else f", {self.activation.name}"
        return f"Dense({self.units}{act})"


class Dropout(Layer):
    """Randomly zeroes a fraction ``rate`` of the inputs while training.

    Shapes: (batch, ...) -> (batch, ...), unchanged.
    Forward (training): mask = (u >= rate) / (1 - rate) with u ~ U[0, 1), Y = X * mask
        (inverted dropout: the expected value of Y equals X, so inference is Y = X).
    Backward: dX = dY * mask.

    Args:
        rate: fraction of inputs to drop, in [0, 1).
        seed: seed of this layer's masks (keyword); by default the model derives one
            from its own seed and the layer's position, so runs are reproducible.
    """
    keeps = ("mask",)

    def __init__(self, rate, *, seed=None, **options):
        super().__init__(**options)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1) (the fraction of "
                             f"inputs to drop), got {rate!r}. Use for example Dropout(0.2).")
        if seed is not None:
            whole_number(seed, "seed", "Dropout", minimum=0)
        self.rate, self.seed = float(rate), seed
        self.rng = None if seed is None else np.random.default_rng(seed)

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return tuple(in_shape)

    def ops(self, in_shape):
        return [Mask(rate=self.rate, shape=tuple(in_shape), stored=2)]     # the mask and Y

    def build(self, in_shape, rng=None, dtype=np.float32):
        if self.rng is None:
            self.rng = rng
        return super().build(in_shape, rng, dtype)

    def forward(self, X, training=False):
        if not training or self.rate == 0:
            self.cache["mask"] = None
            return X
        if self.rng is None:
            raise ValueError(f"{where(self)} has no random generator: give it a seed, "
                             f"Dropout({self.rate}, seed=0), or use it inside a model.")
        keep = self.rng.random(X.shape, dtype=X.dtype if X.dtype == np.float32 else np.float64)
        mask = np.multiply(keep >= self.rate, 1.0 / (1.0 - self.rate), dtype=X.dtype)
        self.cache["mask"] = mask
        return X * mask

    def backward(self, dY):
        mask = self.cache["mask"]
        return dY if mask is None else dY * mask

    def get_config(self):
        config = {**super().get_config(), "rate": self.rate}
        if self.seed is not None:
            config["seed"] = self.seed
        return config

    def __repr__(self):
        return f"Dropout({self.rate})"


class Flatten(Layer):
    """Flattens each sample: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...).

    Backward: dX = dY reshaped to X's shape.
    """
    keeps = ("in_shape",)

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (in_shape[0], math.prod(in_shape[1:]))

    def ops(self, in_shape):
        return [Reshape(a_shape=tuple(in_shape), shape=self.output_shape(in_shape))]

    def forward(self, X, training=False):
        self.cache["in_shape"] = X.shape
        return X.reshape(X.shape[0], -1)

    def backward(self, dY):
        return dY.reshape(self.cache["in_shape"])

    def __repr__(self):
        return "Flatten()"


class Permute(Layer):
    """Reorders the axes of each sample, as Keras's Permute: ``dims`` numbers the non-batch
    axes from 1 (``Permute((2, 3, 1))`` turns PyTorch's (batch, C, H, W) into channels-last
    (batch, H, W, C)). Backward: dX = dY with the axes put back."""

    def __init__(self, dims, **options):
        super().__init__(**options)
        try:
            dims = tuple(dims)
        except TypeError:
            dims = None
        if not dims or sorted(dims) != list(range(1, len(dims) + 1)) or \
                not all(isinstance(d, (int, np.integer)) for d in dims):
            raise ValueError(f"Permute: dims must reorder the axes 1..n of a sample, such as "
                             f"(2, 3, 1); got {dims!r}.")
        self.dims = tuple(int(d) for d in dims)

    def check_input_shape(self, in_shape):
        if len(in_shape) != len(self.dims) + 1:
            raise ShapeError(f"{where(self)} reorders {len(self.dims)} axes per sample but "
                             f"received {describe_shape(in_shape)}.")

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (in_shape[0], *(in_shape[d] for d in self.dims))

    def ops(self, in_shape):
        return [Op(a_shape=tuple(in_shape), shape=self.output_shape(in_shape), stored=0,
                   text=f"X.transpose(0, {', '.join(map(str, self.dims))})",
                   backward_text="dX = dY with the axes put back", note_text="no arithmetic")]

    def forward(self, X, training=False):
        return X.transpose(0, *self.dims)

    def backward(self, dY):
        return dY.transpose(0, *(int(i) + 1 for i in np.argsort(self.dims)))

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}

    def __repr__(self):
        return f"Permute({self.dims})"


class Embedding(Layer):
    """A lookup table: integer tokens (batch, time) -> vectors (batch, time, output_dim).

    Y = E[X], the rows of E picked by the tokens (the same as one-hot(X) @ E).
    Backward: dE[k] = the sum of dY over every position holding token k; no dX (the
    input is integers).

    Args:
        input_dim: the vocabulary size, the number of rows of E (not an input shape:
            the sequence length comes from the data, or from ``input_shape=(time,)``).
        output_dim: the length of each vector.
    """
    keeps = ("tokens",)
    input_dtype = "int"
    input_describe = "integer token ids of shape (batch, ...)"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", **options):
        self.input_dim = whole_number(input_dim, "input_dim", "Embedding")
        self.output_dim = whole_number(output_dim, "output_dim", "Embedding")
        super().__init__(**options)
        initializers.get(embeddings_initializer, "Embedding")
        self.embeddings_initializer = embeddings_initializer

    def input_high(self):
        return self.input_dim

    def check_input_shape(self, in_shape):
        if len(in_shape) < 1:
            raise ShapeError(f"{where(self)} expects {self.input_spec.describe} but received "
                             f"{describe_shape(in_shape)}.")

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (*in_shape, self.output_dim)

    def param_shapes(self, in_shape):
        return {"E": (self.input_dim, self.output_dim)}

    def init_param(self, name, shape, rng, dtype):
        return initializers.get(self.embeddings_initializer)(shape, rng, dtype)

    def ops(self, in_shape):
        return [Lookup(a_shape=tuple(in_shape), b_shape=(self.input_dim, self.output_dim),
                       shape=self.output_shape(in_shape), stored=1)]

    def forward(self, X, training=False):
        tokens = np.asarray(X)
        if tokens.dtype.kind == "f" and not np.all(tokens == np.round(tokens)):
            raise ValueError(f"{where(self)} expects integer token ids but received "
                             f"fractional values.")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.input_dim):
            low, high = (int(v) if abs(v) < 2 ** 62 else v for v in (tokens.min(), tokens.max()))
            fix = ("Token ids are row numbers of E, never negative: remap the tokens to "
                   "0, 1, 2, ..." if low < 0 else
                   f"Build it with input_dim={high + 1} or remap the tokens.")
            raise ValueError(f"{where(self)} has {self.input_dim} rows, so token ids must be in "
                             f"[0, {self.input_dim - 1}], but they range over "
                             f"[{low}, {high}]. {fix}")
        tokens = tokens.astype(np.int64, copy=False)
        self.cache["tokens"] = tokens
        return self.params["E"][tokens]

    def backward(self, dY):
        dE = self.grads["E"]
        dE[...] = 0
        np.add.at(dE, self.cache["tokens"].ravel(), dY.reshape(-1, dY.shape[-1]))
        return None

    def get_config(self):
        config = {**super().get_config(), "input_dim": self.input_dim,
                  "output_dim": self.output_dim}
        if self.embeddings_initializer != "uniform":
            config["embeddings_initializer"] = self.embeddings_initializer
        return config

    def __repr__(self):
        return f"Embedding({self.input_dim}, {self.output_dim})"

