"""Networks: one graph engine under every model.

A ``Network`` is a graph of layer calls from its inputs to its output. ``gn.Model(inputs,
outputs)`` collects one from ``gn.Input`` tensors (Keras's functional API); ``Sequential``
lowers its chain of layers to the same graph as soon as its input shape is known (as Keras 3
does); ``Residual`` is a branch plus an ``Add``. Building, forward, backward, configs,
files and every view are written once, on the graph. A network is itself a layer, so a
``Sequential`` or a ``Model`` can sit inside another, as in Keras and PyTorch. Training
(``fit``, ``evaluate``, ``predict``, ...) is ``glassnet.network.trainer.Trainer``, which every
network shares.

One training step (``train_on_batch``), written out:

    Y = X
    for node in graph:              Y = node.layer.forward(Y, training=True)  # f(X @ W + b)
    loss = loss_fn.forward(Y, T)                                          # a number
    dY = loss_fn.backward()                                               # dL/dY
    for node in reversed(graph):    dY = node.layer.backward(dY)          # fills grads
    optimizer.step(model.flat_params, model.flat_grads)                  # W -= lr * ...

Every trainable parameter is a view into one flat buffer (``flat_params``), and its
gradient into another (``flat_grads``), so the optimiser updates the whole model with a
few vectorised passes. Parameters of frozen layers (``trainable = False``) live apart
and are never updated.
"""
import re
from collections import namedtuple

import numpy as np

from .. import limits as limits_module
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..errors import ShapeError, describe_features, describe_shape
from ..inspect import explain, summary, trace
from ..io import load_weights, save_model, save_weights
from ..layers.base import (Composite, Layer, SymbolicTensor, is_symbolic, leaf_layers,
                           value_counts, where)
from ..layers.registry import layer_from_config
from ..validate import number, sample_shape, whole_number
from ..weights import assign
from .trainer import Trainer, check_data, count, loss_of, require_compiled

Node = namedtuple("Node", "name layer inputs in_shape out_shape")
Node.__doc__ = """One layer call of a network as the views see it: its name, the layer, the
names of the values it reads (none for an input), the shape it receives (a list of shapes
for a layer that takes several) and the shape it returns."""


def as_shape(input_shape, owner="Sequential"):
    """(None, *sample shape) from a sample shape (784,), 784 or (None, 784)."""
    if input_shape is None:
        return None
    if isinstance(input_shape, (tuple, list)) and input_shape and input_shape[0] is None:
        input_shape = input_shape[1:]
    return (None, *sample_shape(input_shape, "input_shape", owner))


def snake(name):
    """Keras's default layer names: 'MultiHeadAttention' -> 'multi_head_attention',
    'Conv2D' -> 'conv2d', 'SimpleRNN' -> 'simple_rnn'."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def graph_order(outputs):
    """The tensors from the inputs to ``outputs``, each after the tensors it reads
    (depth-first, without recursion: a graph may be deep)."""
    order, seen, stack = [], set(), [(outputs, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        if tensor.node is not None:
            for parent in reversed(tensor.node[1]):
                if id(parent) not in seen:
                    stack.append((parent, False))
    return order


class OutputShape(tuple):
    """A network's output shape, ``(None, 10)``, that is also the layer contract's
    ``output_shape(in_shape)`` when the network sits inside another."""

    def __new__(cls, shape, network):
        self = super().__new__(cls, shape)
        self.network = network
        return self

    def __call__(self, in_shape):
        return self.network.compute_output_shape(in_shape)


class Network(Composite, Trainer):
    """The graph engine that ``Sequential``, ``Model`` and ``Residual`` share: naming,
    building, forward and backward over the graph, the flat parameter buffer, weights,
    counting, compile, training (``Trainer``), the views and files. A network is a layer:
    it can be called on ``gn.Input`` tensors or sit in a ``Sequential``.

    A subclass says how it becomes a graph: ``lower(input_shape)`` sets
    ``input_tensors``, ``tensors`` (every layer call, in an order where each comes after
    what it reads) and ``output_tensor``."""

    def __init__(self, seed=0, dtype="float32", owner=None, limits=None, *, name=None,
                 trainable=True):
        owner = owner or type(self).__name__
        self.layers, self.built = [], False
        self.input_tensors, self.tensors, self.output_tensor = [], [], None
        self._need_dX = False
        super().__init__(name=name, trainable=trainable)
        self.seed = whole_number(seed, "seed", owner, minimum=0)
        if limits is not None and not isinstance(limits, limits_module.Limits):
            raise TypeError(f"{owner}: limits must be a glassnet.Limits, got {limits!r}.")
        self.limits = limits or limits_module.DEFAULT
        self.names, self.name_counts = set(), {}
        if dtype not in ("float32", "float64", np.float32, np.float64):
            raise ValueError(f"{owner}: dtype must be 'float32' or 'float64', got {dtype!r}.")
        self.dtype = np.dtype(dtype)
        self.optimizer = self.loss = None
        self.metrics, self.metric_functions, self.fused_loss = [], [], False
        self.loss_weight = 1.0
        self.epoch, self.stop_training = 0, False
        self.flat_params = self.flat_grads = None
        self.packed_layout = None

    # --- names ------------------------------------------------------------------------
    def name_layer(self, layer):
        """Give ``layer`` a name unique in this model when it has none ('dense',
        'dense_1', ... as Keras); refuse a name already taken."""
        if layer.name is None:
            base = snake(type(layer).__name__)
            k = self.name_counts.get(base, 0)
            layer.name = base if k == 0 else f"{base}_{k}"
            while layer.name in self.names:
                k += 1
                layer.name = f"{base}_{k}"
            self.name_counts[base] = k + 1
        elif layer.name in self.names:
            raise ValueError(f"{type(self).__name__}: two layers are named {layer.name!r}; "
                             f"every layer of a model needs its own name.")
        self.names.add(layer.name)

    def get_layer(self, name=None, index=None):
        """A layer by its name, or by its position in ``layers`` (0-based), as Keras."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give either name or index.")
        if index is not None:
            index = whole_number(index, "index", "get_layer", minimum=0)
            if index >= len(self.layers):
                raise ValueError(f"get_layer: index {index} is beyond the model's "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer is named {name!r}. The layers are: "
                         f"{', '.join(repr(layer.name) for layer in self.layers)}.")

    @property
    def trainable(self):
        """False when every layer is frozen; setting it freezes or unfreezes them all."""
        return any(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value):
        for layer in self.layers:
            layer.trainable = bool(value)

    # --- the graph --------------------------------------------------------------------
    def connect(self, inputs, outputs):
        """Check and keep the graph from ``inputs`` (tensors of ``gn.Input``) to
        ``outputs`` (one tensor)."""
        owner = type(self).__name__
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if isinstance(outputs, (list, tuple)):
            if len(outputs) != 1:
                raise ValueError(f"{owner}: glassnet models have one output, got "
                                 f"{len(outputs)}. Join them with gn.Concatenate(), or build "
                                 f"one model per output.")
            outputs = outputs[0]
        for t in [*inputs, outputs]:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"{owner}: inputs and outputs must be tensors from gn.Input "
                                f"and layer calls, got {t!r}.")
        for t in inputs:
            if t.node is not None:
                raise ValueError(f"{owner}: every input must come from gn.Input(shape); "
                                 f"{t!r} is computed by a layer.")
        order = graph_order(outputs)
        limits_module.check_count(f"{owner}: the layers", sum(t.node is not None for t in order),
                                  self.limits.max_layers, "max_layers")
        given = {id(t) for t in inputs}
        for t in order:
            if t.node is None and id(t) not in given:
                raise ValueError(f"{owner}: the output depends on an input that is not among "
                                 f"inputs ({t!r}); pass it in inputs.")
        reached = {id(t) for t in order}
        for t in inputs:
            if id(t) not in reached:
                raise ValueError(f"{owner}: the input {t!r} is not used to compute the "
                                 f"output.")
        computed = [t for t in order if t.node is not None]
        seen = set()
        for t in computed:
            if id(t.layer) in seen:
                raise ValueError(f"{owner}: {t.layer!r} is called more than once. Shared "
                                 f"layers are not supported (each call would overwrite what "
                                 f"its forward keeps for backward); make one layer per call.")
            seen.add(id(t.layer))
        self.input_tensors, self.output_tensor, self.tensors = inputs, outputs, computed
        return [t.layer for t in [*inputs, *computed]]

    def lower(self, input_shape=None):
        """Make (or check) the graph for inputs of ``input_shape``; a functional model's
        graph is made when it is defined."""
        if input_shape is not None and self.input_tensors:
            given = input_shape if isinstance(input_shape, list) else [input_shape]
            for t, shape in zip(self.input_tensors, given):
                if as_shape(shape, type(self).__name__) != (None, *t.shape[1:]):
                    raise ShapeError(f"{type(self).__name__}: it takes inputs of shape "
                                     f"{describe_shape(t.shape)}, not "
                                     f"{describe_shape(shape)}.")

    def input_names(self):
        return [t.name for t in self.input_tensors]

    def nodes(self, batch=None):
        """Every value of the graph, inputs first, with its layer, the names of what it
        reads and its shapes (the batch dimension ``batch``, symbolic when None)."""
        self.lower()
        shapes = {t.name: (batch, *t.shape[1:]) for t in self.input_tensors}
        found = [Node(t.name, t.layer, [], shapes[t.name], shapes[t.name])
                 for t in self.input_tensors]
        for t in self.tensors:
            names = [p.name for p in t.node[1]]
            in_shape = [shapes[n] for n in names] if t.layer.many_inputs else shapes[names[0]]
            shapes[t.name] = tuple(t.layer.output_shape(in_shape))
            found.append(Node(t.name, t.layer, names, in_shape, shapes[t.name]))
        return found

    @property
    def input_shape(self):
        self.lower()
        shapes = [t.shape for t in self.input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    def shape_known(self):
        return True

    @property
    def output_shape(self):
        """The output shape (``(None, 10)``); called on a shape, the shape this network
        returns for it (the layer contract)."""
        if not self.shape_known():
            return OutputShape((), self)
        self.lower()
        return OutputShape(self.output_tensor.shape, self)

    def lower_for(self, in_shape):
        """Lower for a layer's input shape (batch first; a list for several inputs)."""
        many = isinstance(in_shape, list)
        shapes = [(None, *s[1:]) for s in (in_shape if many else [in_shape])]
        self.lower(shapes if many else shapes[0])
        return (in_shape[0] if many else in_shape)[0]

    def compute_output_shape(self, in_shape):
        batch = self.lower_for(in_shape)
        return (batch, *self.output_tensor.shape[1:])

    @property
    def output_layer(self):
        self.lower()
        return self.output_tensor.layer

    @property
    def output_activation(self):
        return self.output_layer.output_activation

    def entry_layer(self):
        """The layer named in messages about the input data."""
        return self.input_tensors[0].layer

    def input_error_context(self, received):
        return ""

    # --- a network as a layer: the contract ----------------------------------------------
    @property
    def many_inputs(self):
        return len(self.input_tensors) > 1

    def sublayers(self):
        """The layers this network calls, in graph order (what nesting walks)."""
        return [t.layer for t in self.tensors]

    def sublayer_shapes(self, in_shape):
        batch = self.lower_for(in_shape)
        return [(node.layer, node.in_shape) for node in self.nodes(batch) if node.inputs]

    def _nested(self, in_shape, method):
        return {f"{i}.{k}": s for i, (layer, shape) in
                enumerate(self.sublayer_shapes(in_shape), 1)
                for k, s in getattr(layer, method)(shape).items()}

    def param_shapes(self, in_shape):
        """Every parameter of the layers inside, as 'i.name' (i: the layer's place)."""
        return self._nested(in_shape, "param_shapes")



    def state_shapes(self, in_shape):
        return self._nested(in_shape, "state_shapes")

    def ops(self, in_shape):
        return [op for layer, shape in self.sublayer_shapes(in_shape)
                for op in layer.ops(shape)]

    def check_input_shape(self, in_shape):
        if self.input_tensors or self.layers:
            self.compute_output_shape(in_shape)

    @property
    def need_dX(self):
        return self._need_dX

    @need_dX.setter
    def need_dX(self, value):
        """Inside another network, whether this one's input gradient is needed."""
        self._need_dX = bool(value)
        if self.built:
            self._mark_readers()

    def _mark_readers(self):
        for t in self.tensors:
            t.layer.need_dX = self._need_dX or any(p.node is not None for p in t.node[1])

    # --- building ------------------------------------------------------------------------
    def build(self, input_shape=None, rng=None, dtype=None):
        """Create every layer's parameters, then gather them into one flat buffer. Inside
        another network (``rng`` given), the layers draw from ``rng`` and the outer
        network gathers them."""
        inside = rng is not None
        self.lower(input_shape)
        if dtype is not None:
            self.dtype = np.dtype(dtype)
        if not inside:
            limits_module.check_network(self, self.limits)          # before allocating
        index = {id(layer): i for i, layer in enumerate(self.layers, 1)}
        for node in self.nodes():
            if node.inputs and not keeps_weights(node.layer, node.in_shape, self.dtype):
                node.layer.build(node.in_shape, rng if inside else np.random.default_rng(
                    [self.seed, index.get(id(node.layer), 0)]), self.dtype)
        self.built = True
        if not inside:
            self._need_dX = False               # a model's input is data
        self._mark_readers()
        if not inside:
            self.pack()
            return self
        return self.output_shape

    def ensure_built(self, X):
        if not self.built:
            self.build()

    def check_input(self, X, what):
        """The input arrays, checked: one array for one input; a list (or a dict by input
        name) for several."""
        self.ensure_built(X)
        if not self.built:            # a Sequential that could not be built from X
            X = np.asarray(X)
            return self.check_array(X, (None, *X.shape[1:]), what, self.entry_layer())
        names = self.input_names()
        if isinstance(X, dict):
            missing = [n for n in names if n not in X]
            if missing or len(X) != len(names):
                raise ValueError(f"{what}: the model's inputs are {names}; got a dict with "
                                 f"{sorted(X)}.")
            X = [X[n] for n in names]
        if len(names) > 1:
            if not isinstance(X, (list, tuple)) or len(X) != len(names):
                raise ValueError(f"{what}: the model has {len(names)} inputs ({', '.join(names)}"
                                 f"); pass a list of {len(names)} arrays in that order (or a "
                                 f"dict by name).")
        elif isinstance(X, (list, tuple)) and len(X) == 1 and not np.isscalar(X[0]) and \
                np.ndim(X[0]) >= 2:
            X = X[0]
        if len(names) == 1:
            return self.check_array(X, self.input_tensors[0].shape, what, self.entry_layer())
        arrays = [self.check_array(x, t.shape, what, t.layer)
                  for x, t in zip(X, self.input_tensors)]
        count(arrays)
        return arrays

    def check_array(self, X, expected, what, first_layer):
        """One input array checked against the shape ``expected`` (None, ...)."""
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise TypeError(f"{what}: X must be numbers, got an array of dtype {X.dtype}.")
        if X.ndim < 2:
            raise ShapeError(f"{what}: X must have shape (samples, features...), got "
                             f"{describe_shape(X.shape)}. For one sample use X.reshape(1, -1); "
                             f"for one feature per sample use X.reshape(-1, 1).")
        if X.shape[0] == 0:
            raise ValueError(f"{what}: the dataset is empty (0 samples). Pass at least one "
                             f"sample.")
        if X.shape[1:] != expected[1:]:
            raise ShapeError(
                f"{what}: {where(first_layer)} expects inputs of shape "
                f"{describe_shape(expected)} but received {describe_shape(X.shape)}: "
                f"your data has {describe_features(X.shape)} features per sample, the "
                f"model was built for {describe_features(expected)}. Pass data "
                f"with that many features, or rebuild the model with "
                + (f"input_dim={X.shape[1]}" if X.ndim == 2 else f"input_shape={X.shape[1:]}")
                + "." + self.input_error_context(X.shape))
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(X))[0])
            raise ValueError(f"{what}: X contains NaN or Inf (first at index {bad}). Remove "
                             f"or fill those values before training.")
        with np.errstate(over="ignore"):
            cast = np.asarray(X, dtype=self.dtype)
        if cast.dtype != X.dtype and not np.isfinite(cast).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(cast))[0])
            raise ValueError(f"{what}: X holds values beyond the range of {self.dtype} (first at "
                             f"index {bad}: {X[bad]!r}). Scale the data, or build the model with "
                             f"dtype='float64'.")
        return cast

    # --- the flat buffer ---------------------------------------------------------------
    def layout(self):
        """Which layers are trainable now, leaf by leaf, and whether this network's buffer
        still holds them (another network built on the same layers may have taken them):
        what the packing follows."""
        return tuple((t, getattr(layer, "buffer", None) is self.flat_params)
                     for layer, t in leaf_layers(self.layers))

    def pack(self):
        """Every trainable parameter (and gradient) as a view into one flat buffer, in
        layer order; frozen layers keep arrays of their own."""
        pairs = [(layer, k) for layer, trainable in leaf_layers(self.layers) if trainable
                 for k in layer.params]
        total = sum(layer.params[k].size for layer, k in pairs)
        self.flat_params = np.empty(total, self.dtype)
        self.flat_grads = np.zeros(total, self.dtype)
        offset = 0
        for layer, k in pairs:
            shape, size = layer.params[k].shape, layer.params[k].size
            self.flat_params[offset:offset + size] = layer.params[k].ravel()
            layer.params[k] = self.flat_params[offset:offset + size].reshape(shape)
            layer.grads[k] = self.flat_grads[offset:offset + size].reshape(shape)
            offset += size
        for layer, trainable in leaf_layers(self.layers):
            layer.buffer = self.flat_params
            if not trainable:
                for k in layer.params:
                    layer.params[k] = layer.params[k].copy()
                    layer.grads[k] = np.zeros_like(layer.params[k])
        self.packed_layout = self.layout()

    # --- forward and backward -------------------------------------------------------------
    def run(self, X, training=False):
        """{name: value} for the inputs and every layer's output: each layer in graph
        order, on the values it reads (X: checked arrays, one per input)."""
        values = dict(zip(self.input_names(), X if isinstance(X, list) else [X]))
        for t in self.tensors:
            given = [values[p.name] for p in t.node[1]]
            values[t.name] = t.layer.forward(given if t.layer.many_inputs else given[0],
                                             training)
        return values

    def forward(self, X, training=False):
        """The output: every layer in graph order, each keeping what its backward needs."""
        return self.run(X, training)[self.output_tensor.name]

    def backward(self, dY):
        """Reverse order; a value read by several layers gets the sum of their gradients.
        Returns dX (a list for several inputs) when this network's input needs it."""
        return self._backward(dY, from_logits=False)

    def backward_from_logits(self, dZ):
        """The backward pass from the gradient of the output layer's logits (a fused
        loss: the final softmax or sigmoid is skipped)."""
        return self._backward(dZ, from_logits=True)

    def logits(self):
        return self.output_layer.logits()

    def _backward(self, grad, from_logits, received=None):
        """``received``: a dict to keep, per value, the gradient that reached it."""
        grads, inputs = {self.output_tensor.name: grad}, self.input_names()
        for t in reversed(self.tensors):
            g = grads.pop(t.name)
            if received is not None:
                received[t.name] = np.array(g, copy=True)
            dX = t.layer.backward_from_logits(g) if from_logits and t is self.output_tensor \
                else t.layer.backward(g)
            if dX is None:
                continue
            for parent, d in zip(t.node[1], dX if t.layer.many_inputs else [dX]):
                if d is not None:
                    grads[parent.name] = d if parent.name not in grads else \
                        grads[parent.name] + d
        dX = [grads.get(name) for name in inputs]           # where a layer computed it
        return None if all(d is None for d in dX) else dX if len(dX) > 1 else dX[0]

    def node_values(self, X, training=False):
        """{name: value} for the inputs and every layer's output on the batch X: one
        forward pass with every intermediate value kept (what explain and the pictures
        read)."""
        return self.run(self.check_input(X, "node_values"), training)

    def values_and_gradients(self, x, y, training=False):
        """One forward and backward pass over the batch (x, y) through the network's own
        forward, loss and backward, without an update, as a dict of copies:

        - ``loss``: the batch's mean loss;
        - ``values``: {node name: output} (the inputs too), as ``node_values``;
        - ``gradients``: {layer name: {param: dL/dparam}} for every layer with parameters;
        - ``output_gradients``: {node name: dL/d(its output)}; with a fused loss (softmax
          or sigmoid and cross-entropy) the output node's is dL/d(its logits), where the
          engine itself starts.

        ``training=False`` (the default) runs dropout and batch norm in inference mode and
        draws no random numbers; the gradient buffer is left as it was, so looking never
        changes what the next step does."""
        require_compiled(self, "values_and_gradients")
        X, T, W = check_data(self, x, y, "values_and_gradients")
        saved = self.flat_grads.copy()
        values = self.run(X, training)
        loss = loss_of(self, values[self.output_tensor.name], T, W)
        dY = self.loss.backward() * self.loss_weight
        received = {}
        try:
            self._backward(dY, self.fused_loss, received)
            gradients = {layer.name: {k: g.copy() for k, g in layer.grads.items()}
                         for layer, _ in leaf_layers(self.layers) if layer.params}
        finally:
            np.copyto(self.flat_grads, saved)
        return {"loss": float(loss), "values": {k: np.array(v, copy=True)
                                                for k, v in values.items()},
                "gradients": gradients, "output_gradients": received}

    def param_slice(self, layer, name):
        """Where parameter ``name`` of ``layer`` (a layer or its name) lives in
        ``flat_params`` and ``flat_grads``: ``model.flat_params[model.param_slice(l, "W")]``
        is W, flattened in C order. A frozen layer's parameters are not in the buffer."""
        if not self.built:
            self.build()
        layer = layer if isinstance(layer, Layer) else self.get_layer(layer)
        if name not in layer.params:
            raise KeyError(f"param_slice: layer {layer.name!r} has no parameter {name!r}; "
                           f"it has {sorted(layer.params) or 'none'}.")
        offset = 0
        for leaf, trainable in leaf_layers(self.layers):           # the order pack() uses
            for k, value in (leaf.params.items() if trainable else ()):
                if leaf is layer and k == name:
                    return slice(offset, offset + value.size)
                offset += value.size
        raise ValueError(f"param_slice: layer {layer.name!r} is frozen (trainable=False) or "
                         f"not part of this model, so its parameters are not in the flat "
                         f"buffer; read layer.params[{name!r}] instead.")

    def layer_outputs(self, X, training=False):
        """[X, layer 1's output, layer 2's output, ...]: ``node_values`` in order."""
        return list(self.node_values(X, training).values())

    def __call__(self, inputs, training=False):
        """On ``gn.Input`` tensors, this network as one layer of a bigger graph; on
        arrays, its outputs (as Keras's ``model(x)``)."""
        if is_symbolic(inputs):
            return super().__call__(inputs, training)
        X = self.check_input(inputs, type(self).__name__)
        return self.forward(X, training)

    # --- counting ---------------------------------------------------------------------
    def param_counts(self):
        """(trainable, non-trainable) parameter counts, as Keras counts them: frozen
        layers' parameters and every layer's state are non-trainable."""
        trainable = non_trainable = 0
        for node in self.nodes():
            counted = value_counts(node.layer, node.in_shape)
            trainable += counted[0]
            non_trainable += counted[1]
        return trainable, non_trainable

    def count_params(self, in_shape=None):
        """All parameters, trainable and not (BatchNorm's running statistics count)."""
        return sum(self.param_counts())

    # --- the views and files ---------------------------------------------------------------
    def summary(self, batch_size=None, print_fn=print):
        """Per layer: shapes, W and b, parameters, MACs and activation memory; totals and
        the memory of inference against a training step.

        As Keras, it prints (through ``print_fn``) and returns None, so a notebook cell
        ending in ``model.summary()`` shows it once. ``print_fn=None`` prints nothing and
        returns the ``Report`` instead, which renders as text, Markdown, JSON and HTML
        (and shows itself in Jupyter)."""
        report = summary(self, batch_size)
        if print_fn is None:
            return report
        if print_fn is print:
            report.print()
        else:
            print_fn(report.to_text())

    def trace(self, batch_size=None, backward=False):
        """The operation-level story of one forward (and backward) pass: every matrix
        product, broadcast and activation with its operand shapes. Returns a ``Report``."""
        return trace(self, batch_size, backward)

    def explain(self, x=None, cell=None):
        """The equations of each layer; given one input ``x``, the sums written out with
        the real numbers (one chosen output ``cell`` for large layers). Returns a ``Report``."""
        return explain(self, x, cell)

    def save(self, path):
        """Save architecture, weights, optimiser state and training position (one
        safetensors file; '.glassnet' is the usual suffix). '.keras' writes a Keras 3 file
        instead (``glassnet.interop``'s writer); another foreign suffix (.h5, .pt, .onnx,
        ...) is refused. Returns the path."""
        return save_model(self, path)

    def save_weights(self, path):
        """The weights alone, as Keras 3 saves them: ``path`` ends in '.weights.h5'
        (Keras's layout, which ``keras_model.load_weights`` reads; needs h5py)."""
        return save_weights(self, path)

    def load_weights(self, path):
        """Weights from a '.weights.h5' file (glassnet's ``save_weights`` or Keras's) into
        this network, which must have the same architecture; everything is checked
        before anything is written. Returns the network."""
        load_weights(self, path)
        return self

    # --- compile ------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None):
        """Choose the optimiser, the loss and the metrics to report -- Keras's arguments in
        Keras's order (``compile(opt, loss, metrics=[...])``: the third is loss_weights).

        ``loss_weights``: a number (or a list of one, for the one output) that scales the
        loss. ``weighted_metrics`` is not supported: glassnet's metrics are unweighted,
        as Keras's ``metrics=``."""
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = None if loss is None else losses_module.get(loss)
        if isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1 and \
                not isinstance(loss_weights[0], str):
            loss_weights = loss_weights[0]
        if isinstance(loss_weights, (list, tuple, str)):
            raise TypeError(f"compile: loss_weights (the third argument, as in Keras) must be "
                            f"a number for a model's one output, got {loss_weights!r}. For "
                            f"metrics write compile(optimizer, loss, metrics={loss_weights!r}).")
        self.loss_weight = 1.0 if loss_weights is None else \
            number(loss_weights, "loss_weights", "compile", 0)
        if weighted_metrics:
            raise ValueError("compile: weighted_metrics are not supported; glassnet computes "
                             "metrics unweighted (as Keras's metrics=). Pass them as metrics.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile: metrics must be a list of names, such as "
                            f"['accuracy'], got {metrics!r}.")
        self.metrics = list(metrics or [])
        self.metric_functions = [] if self.loss is None else \
            metrics_module.resolve(self.metrics, self.loss)
        ends_in = self.output_activation if self.layers else None
        if self.loss is not None and self.loss.from_logits and ends_in in ("softmax",
                                                                         "sigmoid"):
            raise ValueError(f"compile: the model ends in {ends_in}, so it outputs "
                             f"probabilities, but the loss has from_logits=True and would "
                             f"apply a {ends_in} to them again. Use from_logits=False (the "
                             f"default), or end the model with a linear layer.")
        self.fused_loss = (ends_in is not None and self.loss is not None
                           and not self.loss.from_logits
                           and self.loss.output_activation is not None
                           and ends_in == self.loss.output_activation)
        return self

    # --- weights -----------------------------------------------------------------------
    def weight_slots(self):
        """(layer, store, key) for every weight array, in Keras's order: layer by layer
        (nested layers too), each layer's parameters and then its state."""
        for layer, _ in leaf_layers(self.layers):
            for store in (layer.params, layer.state):
                for k in store:
                    yield layer, store, k

    @property
    def weights(self):
        """Every weight array itself (not a copy), in ``get_weights`` order, as Keras's
        ``model.weights``: writing into one changes the model."""
        if not self.built:
            self.build()
        return [store[k] for _, store, k in self.weight_slots()]

    @property
    def trainable_weights(self):
        """The arrays the optimiser updates: parameters of layers that are not frozen."""
        if not self.built:
            self.build()
        return [layer.params[k] for layer, trainable in leaf_layers(self.layers)
                if trainable for k in layer.params]

    @property
    def non_trainable_weights(self):
        """Frozen layers' parameters, then every layer's state (BatchNorm's running
        statistics), as Keras lists them."""
        if not self.built:
            self.build()
        frozen = [layer.params[k] for layer, trainable in leaf_layers(self.layers)
                  if not trainable for k in layer.params]
        return frozen + [layer.state[k] for layer, _ in leaf_layers(self.layers)
                         for k in layer.state]

    @property
    def inputs(self):
        """The graph's input tensors (``gn.Input``), as Keras's ``model.inputs``."""
        self.lower()
        return list(self.input_tensors)

    @property
    def outputs(self):
        """The graph's output tensor, in a list, as Keras's ``model.outputs``."""
        self.lower()
        return [self.output_tensor]

    def get_weights(self):
        """Copies of every weight array, layer by layer: [W1, b1, W2, b2, ...]
        (BatchNorm: gamma, beta, running_mean, running_var). W is stored (in, out), as
        Keras stores its kernels, so ``set_weights(keras_model.get_weights())`` works."""
        if not self.built:
            self.build()
        return [store[k].copy() for _, store, k in self.weight_slots()]

    def set_weights(self, weights):
        """Copy arrays into the model's weights, in ``get_weights`` order; every array is
        checked (shape, numbers, finite) before any is written."""
        if not self.built:
            self.build()
        assign("set_weights", [(where(layer), k, store) for layer, store, k in
                               self.weight_slots()], weights)

    # --- configuration -------------------------------------------------------------------
    def layer_options(self):
        """The options every layer's config carries (name, trainable)."""
        config = {}
        if self.name is not None:
            config["name"] = self.name
        if not self.trainable and self.layers:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config, build=None, *, limits=None):
        """The network ``get_config`` describes (layers made, no weights yet), within
        ``limits``. Inside another config, ``build`` (the registry's) makes nested
        layers."""
        if build is None:
            if not isinstance(config, dict):
                raise ValueError("model config: expected an object, as written by "
                                 "model.get_config().")
            config = {k: v for k, v in config.items() if k not in ("class", "type")}
            limits = limits or limits_module.DEFAULT

            def build(c, w):
                return layer_from_config(c, w, 1, limits)
        network = cls.from_options(dict(config), build, limits)
        if limits is not None:
            network.limits = limits
        return network


def keeps_weights(layer, in_shape, dtype):
    """Whether an already built layer (one shared with another model, as a feature
    extractor or a pretrained base) keeps its weights: built for this input and dtype."""
    if not layer.built or layer.sublayers():
        return layer.built and all(keeps_weights(sub, shape, dtype)
                                   for sub, shape in layer.sublayer_shapes(in_shape))
    expected = {**layer.param_shapes(in_shape), **layer.state_shapes(in_shape)}
    held = {**layer.params, **layer.state}
    return expected.keys() == held.keys() and all(
        held[k].shape == tuple(s) and held[k].dtype == dtype for k, s in expected.items())
