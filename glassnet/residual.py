"""Residual: a skip connection around a chain of layers, Y = X + f(X) -- the wiring of a
Transformer block, and of any network too deep to train without a short path for the
gradient."""
import numpy as np

from .base import Layer, where
from .errors import ShapeError, describe_shape
from .ops import SkipAdd


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


class Residual(Layer):
    """A skip connection around a chain of layers: Y = X + f(X).

    f must keep the shape. Backward: dX = dY + (the chain's backward of dY), the
    gradient flowing both around and through the branch. A pre-norm Transformer block is
    Residual([LayerNorm(), MultiHeadAttention(4, 16)]) followed by
    Residual([LayerNorm(), Dense(128, activation="relu"), Dense(64)]).

    Its params, grads and state are those of the branch's layers, named 'i.name'
    ('2.W' is the W of the branch's second layer).
    """

    def __init__(self, layers, **options):
        super().__init__(**options)
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Residual: give it at least one layer, as in "
                             "Residual([LayerNorm(), MultiHeadAttention(4, 16)]).")
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Residual: every part of the branch must be a glassnet layer, "
                                f"got {layer!r}.")
        self.params, self.grads = _Nested(self.layers, "params"), _Nested(self.layers, "grads")
        self.state = _Nested(self.layers, "state")

    @classmethod
    def from_config(cls, options, build):
        """Rebuild the branch from its layers' configs with ``build`` (the registry)."""
        layers = options.pop("layers")
        if not isinstance(layers, list):
            raise ValueError(f"Residual: 'layers' must be a list of layer configs, got "
                             f"{type(layers).__name__}.")
        return cls([build(c, f"Residual layer {i}") for i, c in enumerate(layers, 1)],
                   **options)

    def sublayers(self):
        return list(self.layers)

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
        self.check_input_shape(in_shape)
        return self._shapes(in_shape)[-1]

    def _nested_shapes(self, in_shape, method):
        shapes = self._shapes(in_shape)
        return {f"{i}.{k}": s for i, (layer, shape) in enumerate(zip(self.layers, shapes), 1)
                for k, s in getattr(layer, method)(shape).items()}

    def param_shapes(self, in_shape):
        return self._nested_shapes(in_shape, "param_shapes")

    def state_shapes(self, in_shape):
        return self._nested_shapes(in_shape, "state_shapes")

    def ops(self, in_shape):
        shapes = self._shapes(in_shape)
        ops = [op for layer, shape in zip(self.layers, shapes) for op in layer.ops(shape)]
        return ops + [SkipAdd(shape=shapes[-1], a_shape=shapes[-1])]

    def build(self, in_shape, rng=None, dtype=np.float32):
        shapes = self._shapes(in_shape)
        for layer, shape in zip(self.layers, shapes):
            layer.build(shape, rng, dtype)
        self.built = True
        return shapes[-1]

    def forward(self, X, training=False):
        h = X
        for layer in self.layers:
            h = layer.forward(h, training)
        return X + h

    def backward(self, dY):
        d = dY
        for layer in reversed(self.layers):
            d = layer.backward(d)
        return dY + d if self.need_dX else None

    def get_config(self):
        return {**super().get_config(),
                "layers": [layer.get_config() for layer in self.layers]}

    def __repr__(self):
        return "Residual(" + ", ".join(map(repr, self.layers)) + ")"


Nested = _Nested        # the same view for other layers that hold layers (Bidirectional)
