"""``Sequential``: a chain of layers that lowers itself to the graph engine's graph once
its input shape is known (as Keras 3 does), and ``Residual``: a chain plus a skip
connection, Y = X + f(X) -- a branch and an ``Add``."""
import numpy as np

from ..layers import registry
from ..layers.base import InputLayer, Layer, SymbolicTensor, where
from ..layers.merging import Add
from .. import limits as limits_module
from ..errors import ShapeError, describe_shape
from .graph import Network, as_shape

class Sequential(Network):
    """A model made of layers applied one after another.

    Example (seed 001: 40 + 72 + 27 = 139 parameters):
        >>> import glassnet as gn
        >>> model = gn.Sequential([gn.Dense(8, activation="relu", input_dim=4),
        ...                        gn.Dense(8, activation="relu"),
        ...                        gn.Dense(3, activation="softmax")])
        >>> model.count_params()
        139

    Args:
        layers: the layers, first to last (a ``gn.Input(shape)`` first sets the input
            shape, as in Keras); a layer may itself be a ``Sequential`` or a ``Model``.
        input_shape: the shape of one sample, e.g. ``(784,)`` -- optional when the
            first layer declares it (``input_dim=`` or ``input_shape=``), or when the first
            data seen sets it.
        seed: seed of every random choice inside the model (initial weights, dropout).
        dtype: ``"float32"`` (default, fast) or ``"float64"`` (for gradient checks).
        limits: the largest model it agrees to build (``glassnet.Limits``).

    Once its input shape is known, a Sequential lowers itself to the same graph of
    layer calls as a functional ``Model``: one input, each layer reading the one before.
    """

    def __init__(self, layers=None, input_shape=None, seed=0, dtype="float32", *,
                 limits=None, name=None, trainable=True):
        super().__init__(seed, dtype, "Sequential", limits, name=name)
        self.declared_shape = as_shape(input_shape)
        self.members = set()
        self.lowered_for = None
        self.shapes = []
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False

    # --- building ---------------------------------------------------------------
    def add(self, layer):
        """Append a layer (a ``glassnet.Layer``); each layer object can be used once."""
        if isinstance(layer, SymbolicTensor) and layer.node is None:    # gn.Input(shape)
            if self.layers:
                raise ValueError("Sequential.add: an Input can only come first.")
            self.declared_shape = layer.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a glassnet layer (Dense, Dropout, ...; "
                            f"your own layers subclass glassnet.Layer), got {layer!r}.")
        if layer.many_inputs:
            raise TypeError(f"Sequential.add: {layer!r} combines several inputs; a Sequential "
                            f"is a chain. Build the graph with the functional API: "
                            f"y = {type(layer).__name__}()([a, b]); model = gn.Model(x, y).")
        if len(self.layers) >= self.limits.max_layers:
            raise ValueError(f"Sequential.add: the model already has {len(self.layers):,} "
                             f"layers, glassnet's limit (Limits.max_layers). Pass limits="
                             f"glassnet.Limits(max_layers=...) to allow more.")
        if id(layer) in self.members:
            raise ValueError(f"Sequential.add: this {layer!r} object is already layer "
                             f"{self.layers.index(layer) + 1} of the model. A Sequential cannot "
                             f"reuse a layer (its forward cache would be overwritten); create "
                             f"a new one.")
        self.name_layer(layer)
        self.members.add(id(layer))
        self.layers.append(layer)
        self.built, self.shapes, self.lowered_for = False, [], None

    def declared_input_shape(self):
        """(None, *sample shape) as declared by the model or its first layer, or None."""
        if self.declared_shape is not None:
            return self.declared_shape
        declared = self.layers[0].input_spec.shape if self.layers else None
        return None if declared is None else (None, *declared)

    def trace_shapes(self, input_shape=None, batch=None):
        """The shape after each layer, computed without data: [input, layer 1, ...].
        The batch is symbolic (None) unless ``batch`` is given."""
        shape = as_shape(input_shape) or (self.input_tensors[0].shape if self.lowered_for
                                          else self.declared_input_shape())
        if shape is None:
            raise ValueError("Sequential: the input shape is unknown. Give the first layer "
                             "input_dim (Dense(8, input_dim=4)) or input_shape, pass "
                             "input_shape= to Sequential, or call fit/predict with data first.")
        shapes = [(batch, *shape[1:])]
        for i, layer in enumerate(self.layers, 1):
            layer.position = i
            try:
                layer.check_input_shape(shapes[-1])
                shapes.append(tuple(layer.output_shape(shapes[-1])))
            except ShapeError as error:
                raise ShapeError(f"{error}\n{self.shape_chain(shapes)}") from None
        return shapes

    def shape_chain(self, shapes, received=None):
        """The shapes up to the first layer that refuses its input, for error messages."""
        rows = [("input", "", describe_shape(received or shapes[0]))]
        for i, (layer, shape) in enumerate(zip(self.layers, shapes[1:]), 1):
            rows.append((f"[{i}] {layer!r}", describe_shape(shapes[i - 1]), describe_shape(shape)))
        failing = self.layers[len(shapes) - 1]
        expected = "" if received is None else f"expects {describe_shape(self.input_shape)}"
        source = rows[-1][0] if len(rows) > 1 else "the input data"
        rows.append((f"[{len(shapes)}] {failing!r}", rows[-1][2],
                     "refused" + (f": {expected}" if expected else "") + f"  <- from {source}"))
        width = max(len(r[0]) for r in rows)
        lines = [f"  {name:<{width}}  {a + ' -> ' if a else ''}{b}" for name, a, b in rows]
        return "Shapes up to the failing layer:\n" + "\n".join(lines)

    def input_error_context(self, received):
        return "\n" + self.shape_chain(self.shapes[:1], received=received)

    def entry_layer(self):
        return self.layers[0]

    def shape_known(self):
        return self.lowered_for is not None or self.declared_input_shape() is not None

    @property
    def output_layer(self):
        """The last layer (known before the input shape is)."""
        return self.layers[-1]

    def sublayers(self):
        return super().sublayers() if self.lowered_for else list(self.layers)

    def lower(self, input_shape=None):
        """The chain as a graph: an input of ``input_shape`` (default: the declared one),
        then each layer reading the one before. Nothing is allocated."""
        if not self.layers:
            raise ValueError("Sequential: the model has no layers. Add some, e.g. "
                             "Sequential([Dense(10, input_dim=4)]).")
        wanted = as_shape(input_shape) if input_shape is not None else None
        if wanted is None and self.lowered_for is not None:
            return
        declared = self.declared_input_shape()
        if wanted is not None and declared is not None and wanted != declared:
            raise ShapeError(f"Sequential.build: the model was declared for inputs of shape "
                             f"{describe_shape(declared)} but is being built for "
                             f"{describe_shape(wanted)}. Build it without an "
                             f"input shape, or change the declared one.")
        shape = wanted or declared
        if shape == self.lowered_for and shape is not None:
            return
        self.shapes = self.trace_shapes(shape)
        tensor = SymbolicTensor(self.shapes[0], InputLayer(self.shapes[0][1:], name="input"))
        first = tensor
        for layer, out in zip(self.layers, self.shapes[1:]):
            tensor = layer.output = SymbolicTensor(out, layer, [tensor])
        self.connect([first], tensor)
        self.lowered_for = self.shapes[0]

    def nodes(self, batch=None):
        if self.lowered_for is None and batch is not None:
            self.trace_shapes(batch=batch)          # a refusal names the batch given
        return super().nodes(batch)

    def build(self, input_shape=None, rng=None, dtype=None):
        """Create every layer's parameters, then gather them into one flat buffer."""
        if input_shape is not None and self.built and self.lowered_for == as_shape(input_shape):
            return self if rng is None else self.output_shape
        return super().build(input_shape, rng, dtype)

    def ensure_built(self, X):
        """Build from the first data seen when no input shape was declared."""
        X = np.asarray(X) if not isinstance(X, (list, dict)) else X
        if not self.built and isinstance(X, np.ndarray) and X.ndim >= 2 and \
                X.shape[0] > 0 and X.dtype.kind in "fiub":
            self.build(self.declared_input_shape() or X.shape[1:])

    @property
    def input_shape(self):
        return self.input_tensors[0].shape if self.lowered_for else \
            self.declared_input_shape()

    # --- configuration -------------------------------------------------------------------
    def get_config(self):
        shape = self.input_shape
        return {"type": type(self).__name__,
                "layers": [layer.get_config() for layer in self.layers],
                "input_shape": None if shape is None else list(shape[1:]),
                "seed": self.seed, "dtype": self.dtype.name, **self.layer_options()}

    @classmethod
    def from_options(cls, options, build, limits):
        layers = options.pop("layers", None)
        if not isinstance(layers, list):
            raise ValueError("model config: expected an object with a 'layers' list, as "
                             "written by model.get_config().")
        limits_module.check_count("model config: the layers", len(layers),
                                  (limits or limits_module.DEFAULT).max_layers, "max_layers")
        return cls([build(c, f"layer {i}") for i, c in enumerate(layers, 1)],
                   limits=limits, **options)

    def __repr__(self):
        return f"{type(self).__name__}([" + ", ".join(map(repr, self.layers)) + "])"


class Residual(Sequential):
    """A skip connection around a chain of layers: Y = X + f(X), the branch f a
    ``Sequential`` of the given layers and the sum an ``Add``.

    f must keep the shape. Backward: dX = dY + (the branch's backward of dY), the
    gradient flowing both around and through the branch. A pre-norm Transformer block is
    Residual([LayerNorm(), MultiHeadAttention(4, 16)]) followed by
    Residual([LayerNorm(), Dense(128, activation="relu"), Dense(64)]).
    """

    def __init__(self, layers, *, name=None, trainable=True, input_shape=None):
        layers = list(layers)
        if not layers:
            raise ValueError("Residual: give it at least one layer, as in "
                             "Residual([LayerNorm(), MultiHeadAttention(4, 16)]).")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Residual: every part of the branch must be a glassnet "
                                f"layer, got {layer!r}.")
        super().__init__(layers, input_shape=input_shape, name=name, trainable=trainable)
        self.add_layer = Add()

    def lower(self, input_shape=None):
        before = self.lowered_for
        super().lower(input_shape)
        if self.lowered_for == before and self.output_tensor.layer is self.add_layer:
            return
        x, h = self.input_tensors[0], self.output_tensor
        if h.shape != x.shape:
            raise ShapeError(f"{where(self)}: its branch turns {describe_shape(x.shape)} into "
                             f"{describe_shape(h.shape)}, but X + f(X) needs the same shape. "
                             f"Make the branch's last layer output {x.shape[-1]} features.")
        self.connect([x], SymbolicTensor(x.shape, self.add_layer, [x, h]))

    @property
    def output_layer(self):
        return self.add_layer

    def sublayers(self):
        return super().sublayers() if self.lowered_for else [*self.layers, self.add_layer]

    def get_config(self):
        config = {"type": "Residual", "layers": [layer.get_config() for layer in self.layers],
                  **self.layer_options()}
        if self.declared_shape is not None:
            config["input_shape"] = list(self.declared_shape[1:])
        return config

    @classmethod
    def from_options(cls, options, build, limits):
        layers = options.pop("layers", None)
        if not isinstance(layers, list):
            raise ValueError(f"Residual: 'layers' must be a list of layer configs, got "
                             f"{type(layers).__name__}.")
        return cls([build(c, f"Residual layer {i}") for i, c in enumerate(layers, 1)],
                   **options)

    def __repr__(self):
        return "Residual(" + ", ".join(map(repr, self.layers)) + ")"


registry.BUILT_IN.update(Sequential=Sequential, Residual=Residual)
registry.LAYER_TYPES.update(Sequential=Sequential, Residual=Residual)
