"""The functional API: graphs of layers that are not a chain -- skip connections, several
inputs -- written as Keras writes them:

    x = gn.Input((784,))
    h = gn.Dense(256, activation="relu")(x)
    y = gn.Dense(10, activation="softmax")(gn.Add()([h, gn.Dense(256)(x)]) ...)
    model = gn.Model(x, y)

Calling a layer on a ``SymbolicTensor`` computes no numbers: it checks the shapes and
records the call. ``Model(inputs, outputs)`` collects the calls from the output back to
the inputs, in an order where every layer comes after the layers it reads. Forward runs
them in that order; backward runs them in reverse and, where a value feeds several
layers, adds up the gradients that come back from each (the multivariate chain rule).
"""
import numpy as np

from . import limits as limits_module
from .base import Layer
from .errors import describe_shape
from .model import Network, Node
from .registry import layer_from_config
from . import training


class SymbolicTensor:
    """A value in a graph before any data: its ``shape`` (``None`` for the batch), the
    layer that produces it and the tensors that layer reads (``node``; ``None`` for an
    ``Input``), and the ``layer`` it comes from."""

    def __init__(self, shape, layer, inputs=None):
        self.shape, self.layer = tuple(shape), layer
        self.node = None if inputs is None else (layer, list(inputs))

    @property
    def name(self):
        return self.layer.name

    def __repr__(self):
        return f"<SymbolicTensor {describe_shape(self.shape)} from {self.layer!r}>"


class InputLayer(Layer):
    """Where data enters a functional model: Y = X, of a declared shape."""

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
    return SymbolicTensor(out, layer, inputs if many else [inputs])


def _graph(outputs):
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


class Model(Network):
    """A model whose layers form a graph: ``gn.Model(inputs, outputs)`` (as Keras).

    ``inputs``: one ``gn.Input`` or a list of them; ``outputs``: the tensor the model
    computes (one output). It has everything a Sequential has -- compile, fit, evaluate,
    predict, summary and trace (with each layer's inputs), explain, get/set_weights,
    save and load. Data for several inputs is a list of arrays, in ``inputs``' order
    (or a dict by input name).

    Example (a skip connection, Y = X + f(X)):
        >>> import glassnet as gn
        >>> x = gn.Input((4,))
        >>> y = gn.Add()([x, gn.Dense(4, activation="tanh")(x)])
        >>> gn.Model(x, y).count_params()
        20
    """
    chain = False

    def __init__(self, inputs, outputs, seed=0, dtype="float32", *, limits=None):
        super().__init__(seed, dtype, "Model", limits)
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if isinstance(outputs, (list, tuple)):
            if len(outputs) != 1:
                raise ValueError(f"Model: glassnet models have one output, got {len(outputs)}. "
                                 f"Join them with gn.Concatenate(), or build one model per "
                                 f"output.")
            outputs = outputs[0]
        for t in [*inputs, outputs]:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model: inputs and outputs must be tensors from gn.Input and "
                                f"layer calls, got {t!r}.")
        for t in inputs:
            if t.node is not None:
                raise ValueError(f"Model: every input must come from gn.Input(shape); "
                                 f"{t!r} is computed by a layer.")
        order = _graph(outputs)
        limits_module.check_count("Model: the layers", len(order), self.limits.max_layers,
                                  "max_layers")
        given = {id(t) for t in inputs}
        for t in order:
            if t.node is None and id(t) not in given:
                raise ValueError(f"Model: the output depends on an input that is not among "
                                 f"inputs ({t!r}); pass it in inputs.")
        reached = {id(t) for t in order}
        for t in inputs:
            if id(t) not in reached:
                raise ValueError(f"Model: the input {t!r} is not used to compute the output.")
        self.input_tensors, self.output_tensor = inputs, outputs
        computed = [t for t in order if t.node is not None]
        seen = set()
        for t in computed:
            if id(t.layer) in seen:
                raise ValueError(f"Model: {t.layer!r} is called more than once. Shared layers "
                                 f"are not supported (each call would overwrite what its "
                                 f"forward keeps for backward); make one layer per call.")
            seen.add(id(t.layer))
        for t in [*inputs, *computed]:
            self.layers.append(t.layer)
            self.name_layer(t.layer)
        self.tensors = computed                      # in an order that respects the graph
        for t in computed:
            t.layer.position = t.layer.name

    # --- the graph as the views see it --------------------------------------------------
    def input_names(self):
        return [t.name for t in self.input_tensors]

    def nodes(self, batch=None):
        """Every layer, inputs first, with the names of what it reads and its shapes."""
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
        shapes = [t.shape for t in self.input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        return self.output_tensor.shape

    @property
    def output_layer(self):
        return self.output_tensor.layer

    def input_error_context(self, received):
        return ""

    # --- building ------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Create every layer's parameters, then gather them into one flat buffer."""
        limits_module.check_network(self, self.limits)          # before allocating
        inputs = set(self.input_names())
        for i, node in enumerate(self.nodes(), 1):
            if not node.inputs:
                continue
            node.layer.build(node.in_shape, np.random.default_rng([self.seed, i]), self.dtype)
            node.layer.need_dX = not all(name in inputs for name in node.inputs)
        self.pack()
        self.built = True
        return self

    def ensure_built(self, X):
        if not self.built:
            self.build()

    def check_input(self, X, what):
        """The input arrays, checked: one array for one input; a list (or a dict by input
        name) for several."""
        self.ensure_built(X)
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
            return training.check_array(self, X, self.input_tensors[0].shape, what,
                                        self.input_tensors[0].layer)
        arrays = [training.check_array(self, x, t.shape, what, t.layer)
                  for x, t in zip(X, self.input_tensors)]
        training.count(arrays)
        return arrays

    # --- forward and backward -------------------------------------------------------------
    def forward(self, X, training=False):
        values = dict(zip(self.input_names(), X if isinstance(X, list) else [X]))
        for t in self.tensors:
            given = [values[p.name] for p in t.node[1]]
            values[t.name] = t.layer.forward(given if t.layer.many_inputs else given[0],
                                             training)
        return values[self.output_tensor.name]

    def backward(self, dY):
        """Reverse order; a value read by several layers gets the sum of their gradients."""
        self._backward(dY, from_logits=False)

    def backward_from_logits(self, dZ):
        self._backward(dZ, from_logits=True)

    def _backward(self, grad, from_logits):
        grads, inputs = {self.output_tensor.name: grad}, set(self.input_names())
        for t in reversed(self.tensors):
            g = grads.pop(t.name)
            if t is self.output_tensor and from_logits:
                dX = t.layer.backward_from_logits(g)
            else:
                dX = t.layer.backward(g)
            if dX is None:
                continue
            for parent, d in zip(t.node[1], dX if t.layer.many_inputs else [dX]):
                if parent.name not in inputs:
                    grads[parent.name] = d if parent.name not in grads else grads[parent.name] + d

    # --- configuration -------------------------------------------------------------------
    def get_config(self):
        return {"class": "Model",
                "inputs": [{"name": t.name, "shape": list(t.shape[1:])}
                           for t in self.input_tensors],
                "nodes": [{"layer": t.layer.get_config(), "inputs": [p.name for p in t.node[1]]}
                          for t in self.tensors],
                "output": self.output_tensor.name, "seed": self.seed, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config, limits=None):
        """The model from ``get_config()``: the same layers called in the same order."""
        limits = limits or limits_module.DEFAULT
        if not isinstance(config, dict) or not isinstance(config.get("inputs"), list) \
                or not isinstance(config.get("nodes"), list):
            raise ValueError("model config: expected 'inputs' and 'nodes' lists, as written "
                             "by Model.get_config().")
        limits_module.check_count("model config: the layers", len(config["nodes"]),
                                  limits.max_layers, "max_layers")
        tensors = {}
        inputs = []
        for spec in config["inputs"]:
            if not isinstance(spec, dict):
                raise ValueError(f"model config: bad input {spec!r}.")
            t = Input(spec.get("shape"), name=spec.get("name"))
            tensors[t.name] = t
            inputs.append(t)
        for i, node in enumerate(config["nodes"], 1):
            if not isinstance(node, dict) or not isinstance(node.get("inputs"), list):
                raise ValueError(f"model config: node {i} must have 'layer' and 'inputs'.")
            layer = layer_from_config(node.get("layer"), f"node {i}", limits=limits)
            unknown = [n for n in node["inputs"] if not isinstance(n, str) or n not in tensors]
            if unknown or not node["inputs"]:
                raise ValueError(f"model config: node {i} reads {unknown or 'nothing'}, which "
                                 f"no earlier input or layer produces.")
            given = [tensors[n] for n in node["inputs"]]
            layer.name = layer.name or f"node_{i}"
            t = layer(given if layer.many_inputs else given[0])
            if t.name in tensors:
                raise ValueError(f"model config: two values are named {t.name!r}.")
            tensors[t.name] = t
        output = config.get("output")
        if output not in tensors:
            raise ValueError(f"model config: the output {output!r} is not produced.")
        return cls(inputs, tensors[output], seed=config.get("seed", 0),
                   dtype=config.get("dtype", "float32"), limits=limits)

    def __repr__(self):
        return (f"Model(inputs=[{', '.join(self.input_names())}], layers="
                f"{len(self.tensors)}, output={self.output_tensor.name})")

