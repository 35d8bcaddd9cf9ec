"""Normalisation: BatchNorm (over the batch) and LayerNorm (over each sample's features),
two uses of one formula, written once:

    X_hat = (X - mean) / sqrt(var + epsilon)      mean, var over the normalised axes
    Y = gamma * X_hat + beta                      gamma, beta (features,)
Backward (n = the number of values each mean is taken over; sums over the same axes):
    dgamma = (dY * X_hat) summed over all but the last axis;  dbeta = dY summed likewise
    dX_hat = dY * gamma
    dX = (n dX_hat - sum(dX_hat) - X_hat sum(dX_hat * X_hat)) / (n sqrt(var + eps))
"""
import math

import numpy as np

from .activations import column_sum
from .base import Layer, where
from .dense import check_input
from .ops import Normalize, ScaleShift
from ..validate import number


def normalize(X, mean, var, epsilon):
    """(X_hat, 1 / sqrt(var + epsilon)) for the given mean and variance."""
    inv_std = 1.0 / np.sqrt(var + epsilon)
    return (X - mean) * inv_std, inv_std


def normalize_backward(dX_hat, X_hat, inv_std, axes):
    """dX from dX_hat when mean and var were computed over ``axes`` from X itself."""
    n = math.prod(X_hat.shape[a] for a in axes)
    return (n * dX_hat - dX_hat.sum(axis=axes, keepdims=True)
            - X_hat * (dX_hat * X_hat).sum(axis=axes, keepdims=True)) * (inv_std / n)


class _Normalization(Layer):
    """gamma and beta over the last axis, the shared forward tail and backward."""
    keeps = ("X_hat", "inv_std", "normalised")

    def __init__(self, epsilon, **options):
        super().__init__(**options)
        self.epsilon = number(epsilon, "epsilon", type(self).__name__, 0, low_open=True)

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return tuple(in_shape)

    def param_shapes(self, in_shape):
        return {"gamma": (in_shape[-1],), "beta": (in_shape[-1],)}

    def init_param(self, name, shape, rng, dtype):
        return np.ones(shape, dtype) if name == "gamma" else np.zeros(shape, dtype)

    def ops(self, in_shape):
        shape = self.output_shape(in_shape)
        return [Normalize(over=self.over, shape=shape, a_shape=shape, stored=1),
                ScaleShift(b_shape=(shape[-1],), shape=shape, a_shape=shape, stored=1)]

    def scale_shift(self, X_hat, inv_std, axes):
        """Y = gamma X_hat + beta; keeps what backward needs (``axes``: the axes the
        statistics came from, or None when they were constants)."""
        self.cache["X_hat"], self.cache["inv_std"], self.cache["normalised"] = \
            X_hat, inv_std, axes
        return X_hat * self.params["gamma"] + self.params["beta"]

    def backward(self, dY):
        X_hat, inv_std, axes = (self.cache[k] for k in self.keeps)
        features = dY.shape[-1]
        column_sum((dY * X_hat).reshape(-1, features), out=self.grads["gamma"])   # dgamma
        column_sum(dY.reshape(-1, features), out=self.grads["beta"])              # dbeta
        if not self.need_dX:
            return None
        dX_hat = dY * self.params["gamma"]
        if axes is None:                         # mean, var were constants (inference)
            return dX_hat * inv_std
        return normalize_backward(dX_hat, X_hat, inv_std, axes)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class BatchNorm(_Normalization):
    """Batch normalisation: each feature (the last axis) normalised over the batch and
    every other axis, as Keras does -- (batch, features), (batch, time, features) and
    images (batch, H, W, channels) alike.

    Shapes: X (batch, ..., features) -> Y, the same; gamma, beta (features,).
    Forward (training; mean, var over every axis but the last, n values each):
        X_hat = (X - mean) / sqrt(var + epsilon);  Y = gamma * X_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var  = momentum * running_var  + (1 - momentum) * var * n / (n - 1)
    Forward (inference, or ``trainable=False`` as in Keras): the same with running_mean
    and running_var, which are then constants: dX = dY * gamma / sqrt(running_var + eps).
    Backward (training): the shared formula of this module.

    Parameters counted as Keras counts them: gamma and beta are trainable, the two
    running statistics non-trainable (4 x features in all). Defaults as Keras
    (momentum 0.99, epsilon 1e-3). One deliberate difference from Keras: the running
    variance takes the unbiased batch variance (times n / (n - 1)), as PyTorch does
    (PyTorch's ``momentum`` is 1 - this momentum); Keras takes the biased one.
    """
    over = "batch"

    def __init__(self, momentum=0.99, epsilon=1e-3, **options):
        super().__init__(epsilon, **options)
        self.momentum = number(momentum, "momentum", "BatchNorm", 0, 1, high_open=True)

    def state_shapes(self, in_shape):
        return {"running_mean": (in_shape[-1],), "running_var": (in_shape[-1],)}

    def init_state(self, name, shape, dtype):
        return np.zeros(shape, dtype) if name == "running_mean" else np.ones(shape, dtype)

    def forward(self, X, training=False):
        gamma = self.params["gamma"]
        if X.ndim < 2 or X.shape[-1] != gamma.shape[0]:
            check_input(self, X, (*X.shape[1:-1], gamma.shape[0]))
        axes = tuple(range(X.ndim - 1))
        if not (training and self.trainable):
            X_hat, inv_std = normalize(X, self.state["running_mean"],
                                       self.state["running_var"], self.epsilon)
            return self.scale_shift(X_hat, inv_std, None)
        n = math.prod(X.shape[:-1])
        if n < 2:
            raise ValueError(f"{where(self)} needs at least 2 samples per batch while "
                             f"training (got {n}) to estimate a variance. Use a larger "
                             f"batch_size.")
        mean, var = X.mean(axis=axes), X.var(axis=axes)
        m = self.momentum
        self.state["running_mean"] *= m
        self.state["running_mean"] += (1 - m) * mean
        self.state["running_var"] *= m
        self.state["running_var"] += (1 - m) * var * (n / (n - 1))
        return self.scale_shift(*normalize(X, mean, var, self.epsilon), axes)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}

    def __repr__(self):
        return "BatchNorm()"


class LayerNorm(_Normalization):
    """Layer normalisation: each sample's features (the last axis) normalised on their own,
    the same at training and inference.

    Shapes: X (batch, ..., features) -> Y, the same; gamma, beta (features,).
    Forward: mean, var over the last axis (D = features values each);
        X_hat = (X - mean) / sqrt(var + epsilon);  Y = gamma * X_hat + beta
    Backward: the shared formula of this module, sums over the last axis.
    epsilon 1e-3 as Keras (PyTorch uses 1e-5).
    """
    over = "features"

    def __init__(self, epsilon=1e-3, **options):
        super().__init__(epsilon, **options)

    def forward(self, X, training=False):
        X_hat, inv_std = normalize(X, X.mean(axis=-1, keepdims=True),
                                   X.var(axis=-1, keepdims=True), self.epsilon)
        return self.scale_shift(X_hat, inv_std, (X.ndim - 1,))

    def __repr__(self):
        return "LayerNorm()"


BatchNormalization, LayerNormalization = BatchNorm, LayerNorm
