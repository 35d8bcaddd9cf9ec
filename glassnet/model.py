"""Models: ``Sequential``, a chain of layers, and (in ``glassnet.functional``) ``Model``,
a graph of them. Both are containers on one base, ``Network``: they build their layers,
run them forward and backward, and hold their parameters in one flat buffer. Training
lives in ``glassnet.training``, metrics in ``glassnet.metrics``.

One training step (``train_on_batch``), written out:

    Y = X
    for layer in layers:            Y = layer.forward(Y, training=True)   # Y = f(X @ W + b)
    loss = loss_fn.forward(Y, T)                                          # a number
    dY = loss_fn.backward()                                               # dL/dY
    for layer in reversed(layers):  dY = layer.backward(dY)               # fills layer.grads
    optimizer.step(model.flat_params, model.flat_grads)                  # W -= lr * ...

Every trainable parameter is a view into one flat buffer (``flat_params``), and its
gradient into another (``flat_grads``), so the optimiser updates the whole model with a
few vectorised passes. Parameters of frozen layers (``trainable = False``) live apart
and are never updated.
"""
import math
import re
from collections import namedtuple

import numpy as np

from . import limits as limits_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import training
from .base import Layer, leaf_layers, where
from .errors import ShapeError, describe_shape
from .registry import layer_from_config
from .validate import number, sample_shape, whole_number
from .weights import assign

Node = namedtuple("Node", "name layer inputs in_shape out_shape")
Node.__doc__ = """One layer of a model as the views see it: its name, the layer, the names
of the values it reads, the shape it receives (a list of shapes for a layer that takes
several) and the shape it returns."""

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


class Network:
    """What Sequential and Model share: naming, the flat parameter buffer, weights,
    counting, compile and training (``glassnet.training``), the views, and files.

    A subclass provides ``layers``, ``build``, ``forward``, ``backward``,
    ``backward_from_logits``, ``check_input``, ``nodes``, ``output_layer``,
    ``output_shape``, ``input_error_context`` and ``get_config``."""
    chain = True                      # layers one after another (Sequential)

    def __init__(self, seed, dtype, owner, limits=None):
        self.seed = whole_number(seed, "seed", owner, minimum=0)
        if limits is not None and not isinstance(limits, limits_module.Limits):
            raise TypeError(f"{owner}: limits must be a glassnet.Limits, got {limits!r}.")
        self.limits = limits or limits_module.DEFAULT
        self.names, self.name_counts = set(), {}
        if dtype not in ("float32", "float64", np.float32, np.float64):
            raise ValueError(f"{owner}: dtype must be 'float32' or 'float64', got {dtype!r}.")
        self.dtype = np.dtype(dtype)
        self.layers, self.built = [], False
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

    # --- the flat buffer ---------------------------------------------------------------
    def layout(self):
        """Which layers are trainable now, leaf by leaf (what the packing follows)."""
        return tuple(t for _, t in leaf_layers(self.layers))

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
            if not trainable:
                for k in layer.params:
                    layer.params[k] = layer.params[k].copy()
                    layer.grads[k] = np.zeros_like(layer.params[k])
        self.packed_layout = self.layout()

    # --- counting ---------------------------------------------------------------------
    def param_counts(self):
        """(trainable, non-trainable) parameter counts, as Keras counts them: frozen
        layers' parameters and every layer's state are non-trainable."""
        trainable = non_trainable = 0
        for node in self.nodes():
            counted = layer_counts(node.layer, node.in_shape)
            trainable += counted[0]
            non_trainable += counted[1]
        return trainable, non_trainable

    def count_params(self):
        """All parameters, trainable and not (BatchNorm's running statistics count)."""
        return sum(self.param_counts())

    # --- the views ----------------------------------------------------------------------
    def summary(self, batch_size=None, print_fn=print):
        """Per layer: shapes, W and b, parameters, MACs and activation memory; totals and
        the memory of inference against a training step. Prints the text (through
        ``print_fn``; ``None`` prints nothing) and returns the ``Report``, which also
        renders as Markdown, JSON and HTML (and shows itself in Jupyter)."""
        from .inspect import summary
        report = summary(self, batch_size)
        if print_fn is print:
            report.print()
        elif print_fn is not None:
            print_fn(report.to_text())
        return report

    def trace(self, batch_size=None, backward=False):
        """The operation-level story of one forward (and backward) pass: every matrix
        product, broadcast and activation with its operand shapes. Returns a ``Report``."""
        from .inspect import trace
        return trace(self, batch_size, backward)

    def explain(self, x=None, cell=None):
        """The equations of each layer; given one input ``x``, the sums written out with
        the real numbers (one chosen output ``cell`` for large layers). Returns a ``Report``."""
        from .inspect import explain
        return explain(self, x, cell)

    def node_values(self, X, training=False):
        """{name: value} for the inputs and every layer's output on the batch X: one
        forward pass with every intermediate value kept (what explain and the pictures
        read)."""
        X = self.check_input(X, "node_values")
        values = dict(zip(self.input_names(), X if isinstance(X, list) else [X]))
        for node in self.nodes():
            if node.inputs:
                given = [values[name] for name in node.inputs]
                values[node.name] = node.layer.forward(given if len(given) > 1 else given[0],
                                                       training)
        return values

    def layer_outputs(self, X, training=False):
        """[X, layer 1's output, layer 2's output, ...]: ``node_values`` in order."""
        return list(self.node_values(X, training).values())

    # --- compile and train ----------------------------------------------------------------
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
        last = self.output_layer if self.layers else None
        ends_in = last.output_activation if last is not None else None
        if self.loss is not None and self.loss.from_logits and ends_in in ("softmax",
                                                                         "sigmoid"):
            raise ValueError(f"compile: the model ends in {ends_in}, so it outputs "
                             f"probabilities, but the loss has from_logits=True and would "
                             f"apply a {ends_in} to them again. Use from_logits=False (the "
                             f"default), or end the model with a linear layer.")
        self.fused_loss = (last is not None and self.loss is not None
                           and not self.loss.from_logits
                           and self.loss.output_activation is not None
                           and last.output_activation == self.loss.output_activation)
        return self

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """Exactly one optimisation step on (x, y); returns the loss before the step, or
        [loss, *metrics] when the model has metrics (as Keras)."""
        return training.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """The loss (and metrics) of one batch, without training."""
        return training.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x):
        """The outputs for one batch (no batching, no printing)."""
        return training.predict(self, x, batch_size=training.count(x if isinstance(x, list)
                                                                   else np.asarray(x)),
                                verbose=0)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, *, seed=0, terminate_on_nan=True,
            file=None):
        """Train for ``epochs`` epochs of mini-batches (Keras's arguments in Keras's order;
        glassnet's ``seed``, ``terminate_on_nan`` and ``file`` by keyword); returns a
        ``History``. See ``glassnet.training.fit``."""
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                            validation_split, validation_data, shuffle, class_weight,
                            sample_weight, initial_epoch, seed=seed,
                            terminate_on_nan=terminate_on_nan, file=file)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 callbacks=None, return_dict=False, *, file=None):
        """The loss alone (no metrics), or [loss, *metrics], or with ``return_dict=True``
        {"loss": ..., "accuracy": ...} -- as Keras."""
        return training.evaluate(self, x, y, batch_size, verbose, sample_weight, callbacks,
                                 return_dict, file=file)

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None, *, file=None):
        """The model's outputs for x (probabilities after a softmax), in batches."""
        return training.predict(self, x, batch_size, verbose, callbacks, file=file)

    # --- weights -----------------------------------------------------------------------
    def weight_slots(self):
        """(layer, store, key) for every weight array, in Keras's order: layer by layer
        (nested layers too), each layer's parameters and then its state."""
        for layer, _ in leaf_layers(self.layers):
            for store in (layer.params, layer.state):
                for k in store:
                    yield layer, store, k

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

    # --- files and other engines ---------------------------------------------------------
    def to_onnx(self, path):
        """Write the model as ONNX (opset 17, IR 8; ``glassnet[onnx]``). Returns path."""
        from .interop import to_onnx
        return to_onnx(self, path)

    def save(self, path):
        """Save architecture, weights, optimiser state and training position (one
        safetensors file; '.glassnet' is the usual suffix). A suffix that promises another
        format (.keras, .h5, .pt, .onnx, ...) is refused."""
        from .io import save_model
        save_model(self, path)

    # --- a batch's values and gradients, for the views (the explorer reads these) ---------
    def param_slice(self, layer, name):
        """Where parameter ``name`` of ``layer`` (a layer object or its name) lives in
        ``flat_params`` and ``flat_grads``: ``model.flat_params[model.param_slice(l, "W")]``
        is W, flattened in C order. Frozen layers keep their arrays apart (not in the
        buffer): asking for one is an error, as is a name the layer does not have."""
        if self.flat_params is None:
            raise ValueError(f"{type(self).__name__}.param_slice: the model is not built yet; "
                             f"call model.build() (or train it) first.")
        if not isinstance(layer, Layer):
            layer = self.get_layer(layer)
        if name not in layer.params:
            raise KeyError(f"param_slice: layer {layer.name!r} has no parameter {name!r}; "
                           f"it has {sorted(layer.params) or 'none'}.")
        offset = 0
        for leaf, trainable in leaf_layers(self.layers):
            if not trainable:
                if leaf is layer:
                    raise ValueError(f"param_slice: layer {layer.name!r} is frozen "
                                     f"(trainable=False), so its parameters are not in the "
                                     f"flat buffer; read layer.params[{name!r}] instead.")
                continue
            for k, value in leaf.params.items():
                if leaf is layer and k == name:
                    return slice(offset, offset + value.size)
                offset += value.size
        raise ValueError(f"param_slice: layer {layer.name!r} is not part of this model.")

    def values_and_gradients(self, x, y, training=False):
        """One forward and backward pass over the batch (x, y) through the model's own
        forward, loss and backward (no update), returned as a dict:

        - ``loss``: the batch's mean loss (a float);
        - ``values``: {node name: output}, as ``node_values`` gives (the inputs too);
        - ``gradients``: {layer name: {param: dL/dparam}} for every layer with parameters;
        - ``output_gradients``: {node name: dL/d(its output)}. With a fused loss (softmax or
          sigmoid with cross-entropy) the output node's entry is dL/d(its logits), the
          gradient the engine itself starts from.

        ``training=False`` (the default) runs dropout and batch norm in inference mode and
        draws no random numbers. Every array returned is a copy; the model's gradient
        buffer is left as it was, so looking never changes what the next step does."""
        from . import training as training_module  # the module (the argument shadows it)
        training_module.require_compiled(self, "values_and_gradients")
        X, T, W = training_module.check_data(self, x, y, "values_and_gradients")
        saved = self.flat_grads.copy() if self.flat_grads is not None else None
        nodes = self.nodes()
        received, wrapped = {}, []

        def recorder(node, method):
            original = getattr(node.layer, method)

            def record(d, *args, **kwargs):
                received.setdefault(node.name, np.array(d, copy=True))   # the outer call
                return original(d, *args, **kwargs)
            return record

        try:
            for node in nodes:                     # note what each layer's backward receives
                for method in ("backward", "backward_from_logits"):
                    setattr(node.layer, method, recorder(node, method))
                wrapped.append(node.layer)
            values = self.node_values(X, training)
            output = next(n.name for n in nodes if n.layer is self.output_layer)
            loss = training_module.loss_of(self, values[output], T, W)
            training_module.backpropagate(self)
            gradients = {leaf.name: {k: g.copy() for k, g in leaf.grads.items()}
                         for leaf, _ in leaf_layers(self.layers) if leaf.params}
        finally:
            for layer in wrapped:                  # the layers' own methods again
                for method in ("backward", "backward_from_logits"):
                    vars(layer).pop(method, None)
            if saved is not None:
                np.copyto(self.flat_grads, saved)
        return {"loss": float(loss), "values": {k: np.array(v, copy=True)
                                                for k, v in values.items()},
                "gradients": gradients,
                "output_gradients": {n.name: received[n.name] for n in nodes
                                     if n.name in received}}


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
            shape, as in Keras).
        input_shape: the shape of one sample, e.g. ``(784,)`` -- optional when the
            first layer declares it (``input_dim=`` or ``input_shape=``), or when the first
            data seen sets it.
        seed: seed of every random choice inside the model (initial weights, dropout).
        dtype: ``"float32"`` (default, fast) or ``"float64"`` (for gradient checks).
        limits: the largest model it agrees to build (``glassnet.Limits``).
    """

    def __init__(self, layers=None, input_shape=None, seed=0, dtype="float32", *,
                 limits=None):
        super().__init__(seed, dtype, "Sequential", limits)
        self.input_shape = as_shape(input_shape)
        self.shapes = []
        self.members = set()
        for layer in layers or []:
            self.add(layer)

    # --- building ---------------------------------------------------------------
    def add(self, layer):
        """Append a layer (a ``glassnet.Layer``); each layer object can be used once."""
        from .functional import SymbolicTensor
        if isinstance(layer, SymbolicTensor) and layer.node is None:    # gn.Input(shape)
            if self.layers:
                raise ValueError("Sequential.add: an Input can only come first.")
            self.input_shape = layer.shape
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
        self.built, self.shapes = False, []

    def declared_input_shape(self):
        """(None, *sample shape) as declared by the model or its first layer, or None."""
        if self.input_shape is not None:
            return self.input_shape
        declared = self.layers[0].input_spec.shape if self.layers else None
        return None if declared is None else (None, *declared)

    def trace_shapes(self, input_shape=None, batch=None):
        """The shape after each layer, computed without data: [input, layer 1, ...].
        The batch is symbolic (None) unless ``batch`` is given."""
        shape = as_shape(input_shape) or self.declared_input_shape()
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

    def build(self, input_shape=None):
        """Create every layer's parameters, then gather them into one flat buffer."""
        if not self.layers:
            raise ValueError("Sequential: the model has no layers. Add some, e.g. "
                             "Sequential([Dense(10, input_dim=4)]).")
        declared = self.declared_input_shape()
        if input_shape is not None and declared is not None \
                and as_shape(input_shape) != declared:
            raise ShapeError(f"Sequential.build: the model was declared for inputs of shape "
                             f"{describe_shape(declared)} but is being built for "
                             f"{describe_shape(as_shape(input_shape))}. Build it without an "
                             f"input shape, or change the declared one.")
        self.shapes = self.trace_shapes(input_shape)
        self.input_shape = self.shapes[0]
        limits_module.check_network(self, self.limits)          # before allocating
        for i, layer in enumerate(self.layers, 1):
            layer.build(self.shapes[i - 1], np.random.default_rng([self.seed, i]), self.dtype)
            layer.need_dX = i > 1              # the first layer's input is data
        self.pack()
        self.built = True
        return self

    def ensure_built(self, X):
        """Build from the first data seen when no input shape was declared."""
        if not self.built:
            self.build(self.input_shape or self.declared_input_shape() or X.shape[1:])

    def check_input(self, X, what):
        """X as an array of the model's dtype, after checking it against the model's input
        (building the model from it if its input shape was not declared)."""
        X = np.asarray(X)
        if X.ndim >= 2 and X.shape[0] > 0 and X.dtype.kind in "fiub":
            self.ensure_built(X)
        expected = self.input_shape if self.built else (None, *X.shape[1:])
        return training.check_array(self, X, expected, what, self.layers[0])

    def input_names(self):
        return ["input"]

    def nodes(self, batch=None):
        """The chain as the views read it: one node per layer."""
        shapes = self.shapes if self.shapes and batch is None else \
            self.trace_shapes(batch=batch)
        names = ["input"] + [layer.name for layer in self.layers]
        return [Node(layer.name, layer, [names[i]], shapes[i], shapes[i + 1])
                for i, layer in enumerate(self.layers)]

    @property
    def output_shape(self):
        return (self.shapes if self.built else self.trace_shapes())[-1]

    @property
    def output_layer(self):
        return self.layers[-1]

    # --- forward and backward -----------------------------------------------------
    def forward(self, X, training=False):
        """Y = layer_n(... layer_1(X)); each layer keeps what its backward needs."""
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def backward(self, dY, start=None):
        """Walk the layers in reverse from ``start`` (default: the last), filling grads.
        The first layer's input is data, so its dX is not computed."""
        start = len(self.layers) - 1 if start is None else start
        for i in range(start, -1, -1):
            dY = self.layers[i].backward(dY)
        return dY

    def backward_from_logits(self, dZ):
        """The backward pass from the gradient of the last layer's logits (a fused loss:
        the final softmax or sigmoid is skipped)."""
        dX = self.layers[-1].backward_from_logits(dZ)
        if len(self.layers) > 1:
            self.backward(dX, start=len(self.layers) - 2)

    # --- configuration -------------------------------------------------------------------
    def get_config(self):
        shape = self.input_shape or self.declared_input_shape()
        return {"class": "Sequential", "layers": [layer.get_config() for layer in self.layers],
                "input_shape": None if shape is None else list(shape[1:]),
                "seed": self.seed, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config, limits=None):
        """The model ``get_config`` describes (layers built, no weights yet), within
        ``limits``."""
        limits = limits or limits_module.DEFAULT
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("model config: expected an object with a 'layers' list, as "
                             "written by model.get_config().")
        limits_module.check_count("model config: the layers", len(config["layers"]),
                                  limits.max_layers, "max_layers")
        layers = [layer_from_config(c, f"layer {i}", limits=limits)
                  for i, c in enumerate(config["layers"], 1)]
        return cls(layers, input_shape=config.get("input_shape"), seed=config.get("seed", 0),
                   dtype=config.get("dtype", "float32"), limits=limits)

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"


def layer_counts(layer, in_shape):
    """(trainable, non-trainable) values of one layer: its state, and the parameters of
    frozen layers (nested ones too), are non-trainable."""
    params = layer.param_shapes(in_shape)
    state = sum(math.prod(s) for s in layer.state_shapes(in_shape).values())
    total = sum(math.prod(s) for s in params.values())
    if not layer.trainable:
        return 0, total + state
    if not layer.sublayers():
        return total, state
    frozen = sum(math.prod(s) for key, s in params.items()
                 if not nested_trainable(layer, key))
    return total - frozen, state + frozen


def nested_trainable(layer, key):
    """Whether the parameter 'i.j.name' of a layer holding others is trainable."""
    while layer.sublayers():
        index, key = key.split(".", 1)
        layer = layer.sublayers()[int(index) - 1]
        if not layer.trainable:
            return False
    return True
