"""The layer contract: one small base class that every layer -- glassnet's own and yours --
is built on.

A layer is an object with

- ``params``: its trainable arrays by name (``W``, ``b``, ...); ``grads``: the same keys
  and shapes, filled by ``backward`` *in place* (a model keeps every parameter as a view
  into one flat buffer, so a layer never rebinds them); ``state``: non-trainable arrays
  (BatchNorm's running statistics); ``cache``: what ``forward`` keeps for ``backward``,
  under the names the class declares in ``keeps``;
- ``name``, ``trainable`` (False: the optimiser leaves its parameters alone) and
  ``input_spec``: the rank and kind of input it accepts and the shape of one sample when
  it was declared (``input_shape=(784,)``);
- three methods every layer writes:
  ``output_shape(in_shape)``: the output shape, without data (``None`` is the batch);
  ``forward(X, training=False)``: Y, keeping in ``cache`` what backward needs;
  ``backward(dY)``: dX, filling ``grads`` (skip dX when ``self.need_dX`` is False);
- and optional methods with defaults here: ``param_shapes`` and ``state_shapes`` (none),
  ``init_param``/``init_state`` (Glorot-uniform matrices, zero vectors), ``build`` (makes
  params, grads and state from those), ``ops`` (the typed description of the forward pass
  that summary, trace and explain read; by default one ``Op`` from X to Y),
  ``get_config`` (the constructor's options, for files), ``sublayers`` (none).

A model calls ``build`` once, then ``forward`` and ``backward`` on every batch; a view
calls ``output_shape``, ``param_shapes``, ``state_shapes`` and ``ops`` and reads
``params``, ``state`` and ``cache`` -- never anything else of a layer.
"""
import unicodedata
from dataclasses import dataclass

import numpy as np

from .. import initializers
from ..errors import ShapeError, describe_shape
from .ops import Op
from ..validate import flag, sample_shape
from ..weights import assign

MAX_NAME = 200                              # characters in a layer's name


def where(layer):
    """How an error names a layer: 'Dense(8) at layer 2' (or 'Dense(8)' alone)."""
    return repr(layer) if layer.position is None else f"{layer!r} at layer {layer.position}"


def leaf_layers(layers, trainable=True):
    """(layer, trainable) for every layer that holds its own arrays, nested ones included;
    a layer inside a frozen one is frozen."""
    for layer in layers:
        inner = layer.sublayers()
        if inner:
            yield from leaf_layers(inner, trainable and layer.trainable)
        else:
            yield layer, trainable and layer.trainable


def is_chain(nodes):
    """Whether a network's nodes (``network.nodes()``) form a chain: one input, and each
    layer reading the value just before it -- how the views decide to show the graph
    as a list."""
    return sum(not node.inputs for node in nodes) == 1 and all(
        node.inputs == [before.name] for before, node in zip(nodes, nodes[1:]))


def value_counts(layer, in_shape, trainable=True):
    """(trainable, non-trainable) values of one layer for an input of ``in_shape``: its
    state, and the parameters of frozen layers (and of layers inside a frozen one), are
    non-trainable."""
    trainable = trainable and layer.trainable
    inner = layer.sublayer_shapes(in_shape)
    if inner:
        counts = [value_counts(sub, shape, trainable) for sub, shape in inner]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)
    params = sum(int(np.prod(s)) for s in layer.param_shapes(in_shape).values())
    state = sum(int(np.prod(s)) for s in layer.state_shapes(in_shape).values())
    return (params, state) if trainable else (0, params + state)


@dataclass(frozen=True)
class InputSpec:
    """What a layer accepts: ``ndim`` the rank including the batch (None: any rank >= 2;
    described to users as ``describe``), ``dtype`` 'float' or 'int' (token ids below
    ``high``), and ``shape`` the declared shape of one sample, or None."""
    ndim: int = None
    describe: str = "inputs of shape (batch, features)"
    dtype: str = "float"
    high: int = None
    shape: tuple = None


class Layer:
    """The base of every layer; see the module docstring for the contract.

    Subclasses call ``super().__init__(**options)`` with the options every layer takes:
    ``name`` (a string), ``trainable`` (default True) and ``input_shape`` (the shape of
    one sample, for the first layer of a model).
    """
    keeps = ()                              # the names forward stores in self.cache
    input_ndim, input_describe = None, "inputs of shape (batch, features)"
    input_dtype = "float"
    output_activation = None                # the activation this layer applies last
    many_inputs = False                     # True: forward takes a list (Add, Concatenate)

    def __init__(self, *, name=None, trainable=True, input_shape=None):
        owner = type(self).__name__
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise TypeError(f"{owner}: name must be a non-empty string, got {name!r}.")
        if name is not None and (len(name) > MAX_NAME or any(
                unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name)):
            raise ValueError(f"{owner}: name {name[:40]!r} must be one line of at most "
                             f"{MAX_NAME} printable characters (no line breaks, tabs or "
                             f"control characters): names are printed in reports and "
                             f"written into exported code. Choose a name like 'hidden_1'.")
        self.name = name
        self.trainable = flag(trainable, "trainable", owner)
        declared = None if input_shape is None else \
            sample_shape(input_shape, "input_shape", owner)
        self.input_spec = InputSpec(self.input_ndim, self.input_describe, self.input_dtype,
                                    self.input_high(), declared)
        self.params, self.grads, self.state, self.cache = {}, {}, {}, {}
        self.rng = None                     # a numpy Generator, for layers that draw
        self.need_dX = True                 # False for a model's first layer
        self.position = None                # "2" or "3.1": set by the model, for messages
        self.output = None                  # the tensor of its last symbolic call (Keras)
        self.built = False

    def input_high(self):
        """For integer inputs, the bound the ids must stay below (Embedding's vocabulary)."""
        return None

    regularizers = {}                       # param name -> penalty (Dense, Conv: Weighted)

    def penalty(self):
        """What this layer adds to the loss (its regularizers' penalty); 0.0 by default."""
        return 0.0

    # --- shapes, without data ----------------------------------------------------------
    def check_input_shape(self, in_shape):
        """Refuse an input of the wrong rank, naming the layer and what it expects."""
        ndim = self.input_spec.ndim
        if (ndim is None and len(in_shape) < 2) or (ndim is not None and len(in_shape) != ndim):
            raise ShapeError(f"{where(self)} expects {self.input_spec.describe} but received "
                             f"{describe_shape(in_shape)}.")

    def output_shape(self, in_shape):
        raise NotImplementedError(
            f"{type(self).__name__} must define output_shape(in_shape): the shape of its "
            f"output for an input of shape in_shape (None is the batch), without data.")

    def param_shapes(self, in_shape):
        return {}

    def state_shapes(self, in_shape):
        return {}

    def count_params(self, in_shape=None):
        """Trainable and non-trainable values, for an input of ``in_shape`` (default: the
        declared ``input_shape``)."""
        if in_shape is None:
            if self.input_spec.shape is None:
                raise ValueError(f"{where(self)} does not know its input size yet: give it "
                                 f"input_shape (or input_dim), or build the model first.")
            in_shape = (None, *self.input_spec.shape)
        shapes = {**self.param_shapes(in_shape), **self.state_shapes(in_shape)}
        return sum(int(np.prod(s)) for s in shapes.values())

    # --- making the arrays ----------------------------------------------------------------
    def init_param(self, name, shape, rng, dtype):
        """A parameter's first value: Glorot uniform for matrices, zeros for vectors."""
        init = initializers.get("glorot_uniform" if len(shape) >= 2 else "zeros")
        return init(shape, rng, dtype)

    def init_state(self, name, shape, dtype):
        return np.zeros(shape, dtype)

    def build(self, in_shape, rng=None, dtype=np.float32):
        """Create params (from ``param_shapes`` and ``init_param``), grads and state;
        returns the output shape."""
        out = self.output_shape(in_shape)
        self.params = {k: np.asarray(self.init_param(k, tuple(s), rng, dtype), dtype)
                       for k, s in self.param_shapes(in_shape).items()}
        self.state = {k: np.asarray(self.init_state(k, tuple(s), dtype), dtype)
                      for k, s in self.state_shapes(in_shape).items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True
        return out

    def __call__(self, inputs, training=False):
        """Keras's call: on ``gn.Input`` tensors, record the call for a functional
        ``Model`` (shapes checked, nothing computed); on arrays, the forward pass (the
        layer is built on first use, from seed 0)."""
        if is_symbolic(inputs):
            return call_symbolic(self, inputs)
        X = [np.asarray(x) for x in inputs] if self.many_inputs else np.asarray(inputs)
        if not self.built:
            shapes = [(None, *x.shape[1:]) for x in X] if self.many_inputs \
                else (None, *X.shape[1:])
            first = X[0] if self.many_inputs else X
            self.build(shapes, np.random.default_rng(0),
                       first.dtype if first.dtype.kind == "f" else np.float32)
        return self.forward(X, training)

    # --- computing ------------------------------------------------------------------------
    def forward(self, X, training=False):
        raise NotImplementedError(f"{type(self).__name__} must define forward(X, training).")

    def backward(self, dY):
        raise NotImplementedError(
            f"{type(self).__name__} must define backward(dY): the gradient with respect to "
            f"its input, filling self.grads for its parameters.")

    def logits(self):
        """The input of the final activation in the last forward pass (for a fused loss)."""
        raise NotImplementedError(f"{type(self).__name__} has no output activation to fuse.")

    def backward_from_logits(self, dZ):
        """The backward pass given dZ, the gradient of the logits (the activation skipped)."""
        raise NotImplementedError(f"{type(self).__name__} has no output activation to fuse.")

    # --- describing -----------------------------------------------------------------------
    def ops(self, in_shape):
        """The forward pass as typed operations (``glassnet.layers.ops``)."""
        return [Op(a_shape=tuple(in_shape), shape=self.output_shape(in_shape),
                   text=f"{type(self).__name__}(X)")]

    def sublayers(self):
        """Layers held inside this one (a network used as a layer), in order."""
        return []

    def sublayer_shapes(self, in_shape):
        """(layer, its input shape) for each layer inside this one, for an input of
        ``in_shape`` (what counting walks)."""
        return []

    @classmethod
    def from_config(cls, options, build):
        """The layer from its checked config options; ``build`` makes a nested layer from
        its own config (for layers that hold others)."""
        return cls(**options)

    def get_config(self):
        """The options that rebuild this layer: ``{"type": ..., option: value, ...}``."""
        config = {"type": type(self).__name__}
        if self.name is not None:
            config["name"] = self.name
        if not self.trainable:
            config["trainable"] = False
        if self.input_spec.shape is not None:
            config["input_shape"] = list(self.input_spec.shape)
        return config

    # --- weights as Keras lists them -----------------------------------------------------
    def get_weights(self):
        """Copies of the parameters, then the state, in declaration order."""
        return [a.copy() for a in (*self.params.values(), *self.state.values())]

    def set_weights(self, weights):
        """Copy ``weights`` (``get_weights`` order) into the layer, all checked first."""
        slots = [(k, self.params) for k in self.params] + [(k, self.state) for k in self.state]
        assign("set_weights", [(where(self), k, store) for k, store in slots], weights)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Composite(Layer):
    """A layer made of other layers (a network, ``Bidirectional``): it lists them in
    ``sublayers()``, and its ``params``, ``grads`` and ``state`` read through to theirs,
    named 'i.name' (i: the inner layer's place) -- the arrays themselves, so writing into
    one writes the weight. A model gathers the inner layers' parameters into its buffer
    one by one."""

    def _arrays(self, store):
        return {f"{i}.{k}": v for i, layer in enumerate(self.sublayers(), 1)
                for k, v in getattr(layer, store).items()}

    # Layer.__init__ sets them to empty dicts; the inner layers hold the arrays.
    params = property(lambda self: self._arrays("params"), lambda self, value: None)
    grads = property(lambda self: self._arrays("grads"), lambda self, value: None)
    state = property(lambda self: self._arrays("state"), lambda self, value: None)


class SymbolicTensor:
    """A value in a graph before any data: its ``shape`` (``None`` for the batch), the
    layer that produces it and the tensors that layer reads (``node``; ``None`` for an
    ``Input``), and the ``layer`` it comes from. Calling a layer on one records the call
    (``gn.Model`` collects the calls into a graph); nothing is computed."""

    def __init__(self, shape, layer, inputs=None):
        self.shape, self.layer = tuple(shape), layer
        self.node = None if inputs is None else (layer, list(inputs))

    @property
    def name(self):
        return self.layer.name

    def __repr__(self):
        return f"<SymbolicTensor {describe_shape(self.shape)} from {self.layer!r}>"


def is_symbolic(inputs):
    if isinstance(inputs, SymbolicTensor):
        return True
    return isinstance(inputs, (list, tuple)) and len(inputs) > 0 and \
        all(isinstance(t, SymbolicTensor) for t in inputs)


def call_symbolic(layer, inputs):
    """``layer(inputs)`` on symbolic tensors: check the shapes, record the call."""
    many = isinstance(inputs, (list, tuple))
    if many and not layer.many_inputs:
        raise TypeError(f"{layer!r} takes one input; it was called on a list of "
                        f"{len(inputs)}. Combine them first, e.g. with gn.Concatenate().")
    if layer.many_inputs and not many:
        raise TypeError(f"{layer!r} combines several inputs: call it on a list, as in "
                        f"{type(layer).__name__}()([a, b]).")
    shapes = [t.shape for t in inputs] if many else inputs.shape
    layer.check_input_shape(shapes)
    out = layer.output_shape(shapes)
    layer.output = SymbolicTensor(out, layer, inputs if many else [inputs])
    return layer.output


class InputLayer(Layer):
    """Where data enters a network: Y = X, of a declared shape."""

    def __init__(self, shape, **options):
        super().__init__(input_shape=shape, **options)

    def output_shape(self, in_shape):
        return tuple(in_shape)

    def forward(self, X, training=False):
        return X

    def backward(self, dY):
        return dY

    def get_config(self):
        return {"type": "InputLayer", "shape": list(self.input_spec.shape),
                **({"name": self.name} if self.name else {})}

    def __repr__(self):
        return f"InputLayer({', '.join(map(str, self.input_spec.shape))})"


def Input(shape, name=None):
    """A model's input: the shape of one sample, e.g. ``gn.Input((784,))`` (as Keras).

    Returns a ``SymbolicTensor`` to call layers on; ``Sequential([gn.Input(s), ...])``
    sets a Sequential's input shape."""
    layer = InputLayer(shape, name=name)
    return SymbolicTensor((None, *layer.input_spec.shape), layer)
