"""Multi-head self-attention, the heart of a Transformer block (with ``Residual`` for its
skip connections).

Scaled dot-product attention (Vaswani et al. 2017), per head, as batched products:

    Q = X Wq + bq,  K = X Wk + bk,  V = X Wv + bv    (batch, time, heads * key_dim)
    S = Q K^T / sqrt(key_dim)                          (batch, heads, time, time)
    A = softmax(S) row by row (causal: position t sees only positions <= t)
    O = A V                                            (batch, heads, time, value_dim)
    Y = concat_heads(O) Wo + bo                        (batch, time, output_dim)
Backward:
    dWo = O^T dY;  dO = dY Wo^T;  dA = dO V^T;  dV = A^T dO
    dS = A * (dA - sum(dA * A, row)) / sqrt(key_dim)   (the softmax Jacobian)
    dQ = dS K;  dK = dS^T Q;  dW_ = X^T dQ (likewise K, V);  dX = dQ Wq^T + dK Wk^T + dV Wv^T
"""
import math

import numpy as np

from .. import initializers
from .activations import column_sum, softmax, softmax_backward
from .base import Layer, where
from ..errors import ShapeError, describe_shape
from .ops import AttentionValues, BatchedMatMul, MatMul
from ..validate import flag, whole_number


def _rows(A):
    return A.reshape(-1, A.shape[-1])


class MultiHeadAttention(Layer):
    """Multi-head self-attention over (batch, time, features), in Keras's parameter
    layout: Wq, Wk (features, heads, key_dim), Wv (features, heads, value_dim), Wo
    (heads, value_dim, output_dim), biases (heads, key_dim) ... (output_dim,) -- so
    ``set_weights(keras_layer.get_weights())`` works. The products use them flattened:
    X @ Wq.reshape(features, heads * key_dim).

    Args:
        num_heads, key_dim: heads and the size of each query/key; value_dim defaults to
            key_dim; output_dim defaults to the input features.
        use_bias: add bq, bk, bv and bo (default True).
        causal: mask the future, so position t attends to positions 0..t only (Keras's
            ``use_causal_mask=True``).
    After a forward pass ``attention_weights`` holds A, (batch, heads, time, time).
    Parameters (Keras's count): 3 (features heads key_dim + heads key_dim) for Q, K, V
    when value_dim = key_dim, plus heads value_dim output_dim + output_dim.
    """

    keeps = ("X", "Q", "K", "V", "A", "O")
    input_ndim, input_describe = 3, "sequences of shape (batch, time, features)"

    def __init__(self, num_heads, key_dim, value_dim=None, *, output_dim=None, use_bias=True,
                 causal=False, kernel_initializer="glorot_uniform", **options):
        super().__init__(**options)
        owner = "MultiHeadAttention"
        self.num_heads = whole_number(num_heads, "num_heads", owner)
        self.key_dim = whole_number(key_dim, "key_dim", owner)
        self.value_dim = self.key_dim if value_dim is None else \
            whole_number(value_dim, "value_dim", owner)
        self.output_dim = None if output_dim is None else \
            whole_number(output_dim, "output_dim", owner)
        self.causal = flag(causal, "causal", owner)
        self.use_bias = flag(use_bias, "use_bias", owner)
        initializers.get(kernel_initializer, owner)
        self.kernel_initializer = kernel_initializer

    @property
    def attention_weights(self):
        """A = softmax(Q K^T / sqrt(key_dim)) of the last forward pass, (batch, heads,
        time, time): row t says how much position t draws from each position."""
        return self.cache.get("A")

    def _out_dim(self, in_shape):
        return self.output_dim or in_shape[-1]

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (in_shape[0], in_shape[1], self._out_dim(in_shape))

    def param_shapes(self, in_shape):
        d, h, k, v = in_shape[-1], self.num_heads, self.key_dim, self.value_dim
        out = self._out_dim(in_shape)
        shapes = {"Wq": (d, h, k), "bq": (h, k), "Wk": (d, h, k), "bk": (h, k),
                  "Wv": (d, h, v), "bv": (h, v), "Wo": (h, v, out), "bo": (out,)}
        return {name: shape for name, shape in shapes.items()
                if self.use_bias or name.startswith("W")}

    def project(self, name, X2):
        """X2 @ W (flattened to 2-D) + b: the rows of Q, K, V (or of the output)."""
        W = self.params["W" + name]
        W2 = W.reshape(-1, W.shape[-1]) if name == "o" else W.reshape(W.shape[0], -1)
        Z = X2 @ W2
        if self.use_bias:
            Z += self.params["b" + name].reshape(-1)
        return Z

    def ops(self, in_shape):
        batch, time, d = self.output_shape(in_shape)[0], in_shape[1], in_shape[-1]
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        out = self._out_dim(in_shape)
        mask = ", causal mask" if self.causal else ""
        return [
            MatMul(out="Q", a="X", b="Wq", a_shape=tuple(in_shape), b_shape=(d, h * k),
                   shape=(batch, time, h * k), stored=1),
            MatMul(out="K", a="X", b="Wk", a_shape=tuple(in_shape), b_shape=(d, h * k),
                   shape=(batch, time, h * k), stored=1),
            MatMul(out="V", a="X", b="Wv", a_shape=tuple(in_shape), b_shape=(d, h * v),
                   shape=(batch, time, h * v), stored=1),
            BatchedMatMul(out="A", a="Q", b="K^T", a_shape=(batch, h, time, k),
                          b_shape=(batch, h, k, time), shape=(batch, h, time, time),
                          per_sample=h * time * k * time,
                          note_text=f"softmax(Q K^T / sqrt({k})){mask}", stored=1),
            AttentionValues(out="O", a="A", b="V", a_shape=(batch, h, time, time),
                            b_shape=(batch, h, time, v), shape=(batch, h, time, v),
                            per_sample=h * time * time * v, stored=1),
            MatMul(out="Y", a="O", b="Wo", a_shape=(batch, time, h * v), b_shape=(h * v, out),
                   shape=(batch, time, out), stored=1),
        ]

    def init_param(self, name, shape, rng, dtype):
        if name.startswith("W"):
            return initializers.get(self.kernel_initializer)(shape, rng, dtype)
        return np.zeros(shape, dtype)

    def _heads(self, A, size):
        """(batch, time, heads * size) -> (batch, heads, time, size)."""
        batch, time, _ = A.shape
        return A.reshape(batch, time, self.num_heads, size).transpose(0, 2, 1, 3)

    def _merge(self, A):
        """(batch, heads, time, size) -> rows (batch * time, heads * size)."""
        return A.transpose(0, 2, 1, 3).reshape(A.shape[0] * A.shape[2], -1)

    def forward(self, X, training=False):
        p = self.params
        if X.ndim != 3 or X.shape[2] != p["Wq"].shape[0]:
            raise ShapeError(f"{where(self)} expects sequences of shape (batch, time, "
                             f"{p['Wq'].shape[0]}) but received {describe_shape(X.shape)}.")
        batch, time, _ = X.shape
        X2 = _rows(X)
        Q = self._heads(self.project("q", X2).reshape(batch, time, -1), self.key_dim)
        K = self._heads(self.project("k", X2).reshape(batch, time, -1), self.key_dim)
        V = self._heads(self.project("v", X2).reshape(batch, time, -1), self.value_dim)
        S = Q @ K.transpose(0, 1, 3, 2) * (1 / math.sqrt(self.key_dim))
        if self.causal:
            S = np.where(np.tril(np.ones((time, time), bool)), S, -np.inf)
        A = softmax(S)
        heads = self._merge(A @ V)                               # (batch * time, heads * dv)
        self.cache.update(X=X, Q=Q, K=K, V=V, A=A, O=heads)
        return self.project("o", heads).reshape(batch, time, -1)

    def backward(self, dY):
        p, g = self.params, self.grads
        X, Q, K, V, A, heads = (self.cache[k] for k in self.keeps)
        dY2 = _rows(dY)
        Wo = p["Wo"].reshape(-1, p["Wo"].shape[-1])
        np.matmul(heads.T, dY2, out=g["Wo"].reshape(Wo.shape))
        if self.use_bias:
            column_sum(dY2, out=g["bo"])
        batch, time = dY.shape[:2]
        dO = self._heads((dY2 @ Wo.T).reshape(batch, time, -1), self.value_dim)
        dA = dO @ V.transpose(0, 1, 3, 2)
        dV = A.transpose(0, 1, 3, 2) @ dO
        dS = softmax_backward(dA, A) * (1 / math.sqrt(self.key_dim))
        dQ, dK = dS @ K, dS.transpose(0, 1, 3, 2) @ Q
        X2 = _rows(X)
        need_dX = self.need_dX
        dX = np.zeros_like(X2) if need_dX else None
        for name, d in (("q", dQ), ("k", dK), ("v", dV)):
            d2 = self._merge(d)
            W = p["W" + name].reshape(X2.shape[1], -1)
            np.matmul(X2.T, d2, out=g["W" + name].reshape(W.shape))
            if self.use_bias:
                column_sum(d2, out=g["b" + name].reshape(-1))
            if need_dX:
                dX += d2 @ W.T
        return None if dX is None else dX.reshape(X.shape)

    def get_config(self):
        config = {**super().get_config(), "num_heads": self.num_heads,
                  "key_dim": self.key_dim}
        if self.value_dim != self.key_dim:
            config["value_dim"] = self.value_dim
        if self.output_dim is not None:
            config["output_dim"] = self.output_dim
        if self.causal:
            config["causal"] = True
        if not self.use_bias:
            config["use_bias"] = False
        if self.kernel_initializer != "glorot_uniform":
            config["kernel_initializer"] = self.kernel_initializer
        return config

    def __repr__(self):
        return (f"MultiHeadAttention({self.num_heads} heads x {self.key_dim}"
                f"{', causal' if self.causal else ''})")
