"""Attention and composition: MultiHeadAttention, and Residual for the skip connections
of a Transformer block.

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

from . import initializers
from .activations import softmax, softmax_backward
from .errors import ShapeError, describe_shape
from .layers import _check_positive_int, column_sum, where


def _rows(A):
    return A.reshape(-1, A.shape[-1])


class MultiHeadAttention:
    """Multi-head self-attention over (batch, time, features); Keras's parameter layout.

    Args:
        num_heads, key_dim: heads and the size of each query/key; value_dim defaults to
            key_dim; output_dim defaults to the input features.
        causal: mask the future, so position t attends to positions 0..t only.
    After a forward pass ``attention_weights`` holds A, (batch, heads, time, time).
    Parameters (Keras's count): 3 (features heads key_dim + heads key_dim) for Q, K, V
    when value_dim = key_dim, plus heads value_dim output_dim + output_dim.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, output_dim=None, causal=False,
                 kernel_initializer="glorot_uniform"):
        self.num_heads = _check_positive_int(num_heads, "num_heads", "MultiHeadAttention")
        self.key_dim = _check_positive_int(key_dim, "key_dim", "MultiHeadAttention")
        self.value_dim = self.key_dim if value_dim is None else \
            _check_positive_int(value_dim, "value_dim", "MultiHeadAttention")
        self.output_dim = None if output_dim is None else \
            _check_positive_int(output_dim, "output_dim", "MultiHeadAttention")
        self.causal = bool(causal)
        initializers.get(kernel_initializer, "MultiHeadAttention")
        self.kernel_initializer = kernel_initializer
        self.params, self.grads, self.state = {}, {}, {}
        self.position, self.attention_weights = None, None

    def _out_dim(self, in_shape):
        return self.output_dim or in_shape[-1]

    def output_shape(self, in_shape):
        if len(in_shape) != 3:
            raise ShapeError(f"{where(self)} expects sequences of shape (batch, time, "
                             f"features) but received {describe_shape(in_shape)}.")
        return (in_shape[0], in_shape[1], self._out_dim(in_shape))

    def param_shapes(self, in_shape):
        d, hk, hv = in_shape[-1], self.num_heads * self.key_dim, self.num_heads * self.value_dim
        out = self._out_dim(in_shape)
        return {"Wq": (d, hk), "bq": (hk,), "Wk": (d, hk), "bk": (hk,),
                "Wv": (d, hv), "bv": (hv,), "Wo": (hv, out), "bo": (out,)}

    def ops(self, in_shape):
        batch, time, d = self.output_shape(in_shape)[0], in_shape[1], in_shape[-1]
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        out = self._out_dim(in_shape)
        mask = ", causal mask" if self.causal else ""
        return [
            {"op": "matmul", "out": "Q", "a": "X", "b": "Wq", "a_shape": tuple(in_shape),
             "b_shape": (d, h * k), "shape": (batch, time, h * k), "stored": 1},
            {"op": "matmul", "out": "K", "a": "X", "b": "Wk", "a_shape": tuple(in_shape),
             "b_shape": (d, h * k), "shape": (batch, time, h * k), "stored": 1},
            {"op": "matmul", "out": "V", "a": "X", "b": "Wv", "a_shape": tuple(in_shape),
             "b_shape": (d, h * v), "shape": (batch, time, h * v), "stored": 1},
            {"op": "attention_scores", "out": "A", "a": "Q", "b": "K^T",
             "a_shape": (batch, h, time, k), "b_shape": (batch, h, k, time),
             "shape": (batch, h, time, time), "macs_per_sample": h * time * k * time,
             "note": f"softmax(Q K^T / sqrt({k})){mask}", "stored": 1},
            {"op": "attention_values", "out": "O", "a": "A", "b": "V",
             "a_shape": (batch, h, time, time), "b_shape": (batch, h, time, v),
             "shape": (batch, h, time, v), "macs_per_sample": h * time * time * v,
             "stored": 1},
            {"op": "matmul", "out": "Y", "a": "O", "b": "Wo", "a_shape": (batch, time, h * v),
             "b_shape": (h * v, out), "shape": (batch, time, out), "stored": 1},
        ]

    def build(self, in_shape, rng, dtype=np.float32):
        shapes = self.param_shapes(in_shape)
        init = initializers.get(self.kernel_initializer)
        self.params = {k: (init(s, rng, dtype) if k.startswith("W") else np.zeros(s, dtype))
                       for k, s in shapes.items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return self.output_shape(in_shape)

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
        self.X, X2 = X, _rows(X)
        self.Q = self._heads((X2 @ p["Wq"] + p["bq"]).reshape(batch, time, -1), self.key_dim)
        self.K = self._heads((X2 @ p["Wk"] + p["bk"]).reshape(batch, time, -1), self.key_dim)
        self.V = self._heads((X2 @ p["Wv"] + p["bv"]).reshape(batch, time, -1),
                             self.value_dim)
        S = self.Q @ self.K.transpose(0, 1, 3, 2) * (1 / math.sqrt(self.key_dim))
        if self.causal:
            S = np.where(np.tril(np.ones((time, time), bool)), S, -np.inf)
        self.A = self.attention_weights = softmax(S)
        self.O = self._merge(self.A @ self.V)                  # (batch * time, heads * dv)
        return (self.O @ p["Wo"] + p["bo"]).reshape(batch, time, -1)

    def backward(self, dY, need_dX=True):
        p, g = self.params, self.grads
        dY2 = _rows(dY)
        np.matmul(self.O.T, dY2, out=g["Wo"])
        column_sum(dY2, out=g["bo"])
        batch, time = dY.shape[:2]
        dO = self._heads((dY2 @ p["Wo"].T).reshape(batch, time, -1), self.value_dim)
        dA = dO @ self.V.transpose(0, 1, 3, 2)
        dV = self.A.transpose(0, 1, 3, 2) @ dO
        dS = softmax_backward(dA, self.A) * (1 / math.sqrt(self.key_dim))
        dQ, dK = dS @ self.K, dS.transpose(0, 1, 3, 2) @ self.Q
        X2 = _rows(self.X)
        dX = np.zeros_like(X2) if need_dX else None
        for name, d in (("q", dQ), ("k", dK), ("v", dV)):
            d2 = self._merge(d)
            np.matmul(X2.T, d2, out=g["W" + name])
            column_sum(d2, out=g["b" + name])
            if need_dX:
                dX += d2 @ p["W" + name].T
        return None if dX is None else dX.reshape(self.X.shape)

    def get_config(self):
        config = {"type": "MultiHeadAttention", "num_heads": self.num_heads,
                  "key_dim": self.key_dim}
        if self.value_dim != self.key_dim:
            config["value_dim"] = self.value_dim
        if self.output_dim is not None:
            config["output_dim"] = self.output_dim
        if self.causal:
            config["causal"] = True
        if self.kernel_initializer != "glorot_uniform":
            config["kernel_initializer"] = self.kernel_initializer
        return config

    def __repr__(self):
        return (f"MultiHeadAttention({self.num_heads} heads x {self.key_dim}"
                f"{', causal' if self.causal else ''})")


class _Nested:
    """The params (or grads, or state) of the layers inside a Residual, as one mapping
    with keys 'i.name' that reads and writes the inner layers' own dicts."""

    def __init__(self, layers, attribute):
        self.layers, self.attribute = layers, attribute

    def _store(self, key):
        index, name = key.split(".", 1)
        return getattr(self.layers[int(index) - 1], self.attribute), name

    def __getitem__(self, key):
        store, name = self._store(key)
        return store[name]

    def __setitem__(self, key, value):
        store, name = self._store(key)
        store[name] = value

    def keys(self):
        return [f"{i}.{k}" for i, layer in enumerate(self.layers, 1)
                for k in getattr(layer, self.attribute)]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def __contains__(self, key):
        return key in self.keys()

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def values(self):
        return [self[k] for k in self.keys()]


class Residual:
    """A skip connection around a chain of layers: Y = X + f(X).

    f must keep the shape. Backward: dX = dY + (the chain's backward of dY), the
    gradient flowing both around and through the branch. A pre-norm Transformer block is
    Residual([LayerNorm(), MultiHeadAttention(4, 16)]) followed by
    Residual([LayerNorm(), Dense(128, activation="relu"), Dense(64)]).
    """

    def __init__(self, layers):
        from .registry import layer_from_config
        self.layers = [layer_from_config(layer, "Residual layer") if isinstance(layer, dict)
                       else layer for layer in layers]
        if not self.layers:
            raise ValueError("Residual: give it at least one layer, as in "
                             "Residual([LayerNorm(), MultiHeadAttention(4, 16)]).")
        self.params, self.grads = _Nested(self.layers, "params"), _Nested(self.layers, "grads")
        self.state = _Nested(self.layers, "state")
        self.position = None

    def _shapes(self, in_shape):
        shapes = [tuple(in_shape)]
        for i, layer in enumerate(self.layers, 1):
            layer.position = f"{self.position}.{i}" if self.position else None
            shapes.append(layer.output_shape(shapes[-1]))
        if shapes[-1] != shapes[0]:
            raise ShapeError(f"{where(self)}: its branch turns {describe_shape(shapes[0])} into "
                             f"{describe_shape(shapes[-1])}, but X + f(X) needs the same shape. "
                             f"Make the branch's last layer output {shapes[0][-1]} features.")
        return shapes

    def output_shape(self, in_shape):
        return self._shapes(in_shape)[-1]

    def _nested_shapes(self, in_shape, method):
        shapes = self._shapes(in_shape)
        return {f"{i}.{k}": s for i, (layer, shape) in enumerate(zip(self.layers, shapes), 1)
                for k, s in getattr(layer, method, lambda _: {})(shape).items()}

    def param_shapes(self, in_shape):
        return self._nested_shapes(in_shape, "param_shapes")

    def state_shapes(self, in_shape):
        return self._nested_shapes(in_shape, "state_shapes")

    def ops(self, in_shape):
        shapes = self._shapes(in_shape)
        ops = [op for layer, shape in zip(self.layers, shapes) for op in layer.ops(shape)]
        return ops + [{"op": "residual", "out": "Y", "a": "X", "b": "f(X)",
                       "shape": shapes[-1], "stored": 0}]

    def build(self, in_shape, rng, dtype=np.float32):
        shapes = self._shapes(in_shape)
        for layer, shape in zip(self.layers, shapes):
            layer.build(shape, rng, dtype)
        return shapes[-1]

    def forward(self, X, training=False):
        h = X
        for layer in self.layers:
            h = layer.forward(h, training)
        return X + h

    def backward(self, dY, need_dX=True):
        d = dY
        for layer in reversed(self.layers):
            d = layer.backward(d, need_dX=True)
        return dY + d if need_dX else None

    def get_config(self):
        return {"type": "Residual", "layers": [layer.get_config() for layer in self.layers]}

    def __repr__(self):
        return "Residual(" + ", ".join(map(repr, self.layers)) + ")"
