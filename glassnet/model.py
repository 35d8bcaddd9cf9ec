"""Sequential: a chain of layers -- a container that builds them, runs them forward and
backward, and holds their parameters in one flat buffer. Training lives in
``glassnet.training``, metrics in ``glassnet.metrics``.

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

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import training
from .base import Layer, where
from .errors import ShapeError, describe_shape
from .registry import layer_from_config
from .validate import sample_shape, whole_number


def _as_shape(input_shape, owner="Sequential"):
    """(None, *sample shape) from a sample shape (784,), 784 or (None, 784)."""
    if input_shape is None:
        return None
    if isinstance(input_shape, (tuple, list)) and input_shape and input_shape[0] is None:
        input_shape = input_shape[1:]
    return (None, *sample_shape(input_shape, "input_shape", owner))


def leaf_layers(layers, trainable=True):
    """(layer, trainable) for every layer that holds its own arrays, nested ones included;
    a layer inside a frozen one is frozen."""
    for layer in layers:
        inner = layer.sublayers()
        if inner:
            yield from leaf_layers(inner, trainable and layer.trainable)
        else:
            yield layer, trainable and layer.trainable


class Sequential:
    """A model made of layers applied one after another.

    Example (seed 001: 40 + 72 + 27 = 139 parameters):
        >>> import glassnet as gn
        >>> model = gn.Sequential([gn.Dense(8, activation="relu", input_dim=4),
        ...                        gn.Dense(8, activation="relu"),
        ...                        gn.Dense(3, activation="softmax")])
        >>> model.count_params()
        139

    Args:
        layers: the layers, first to last.
        input_shape: the shape of one sample, e.g. ``(784,)`` -- optional when the
            first layer declares it (``input_dim=`` or ``input_shape=``), or when the first
            data seen sets it.
        seed: seed of every random choice inside the model (initial weights, dropout).
        dtype: ``"float32"`` (default, fast) or ``"float64"`` (for gradient checks).
    """

    def __init__(self, layers=None, input_shape=None, seed=0, dtype="float32"):
        self.seed = whole_number(seed, "seed", "Sequential", minimum=0)
        self.dtype = np.dtype(dtype) if dtype in ("float32", "float64", np.float32,
                                                   np.float64) else None
        if self.dtype is None:
            raise ValueError(f"Sequential: dtype must be 'float32' or 'float64', got {dtype!r}.")
        self.input_shape = _as_shape(input_shape)
        self.layers, self.built, self.shapes = [], False, []
        self._members = set()
        self.optimizer = self.loss = None
        self.metrics, self.metric_functions, self.fused_loss = [], [], False
        self.epoch, self.stop_training = 0, False
        self.flat_params = self.flat_grads = None
        self.packed_layout = None
        for layer in layers or []:
            self.add(layer)

    # --- building ---------------------------------------------------------------
    def add(self, layer):
        """Append a layer (a ``glassnet.Layer``); each layer object can be used once."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a glassnet layer (Dense, Dropout, ...; "
                            f"your own layers subclass glassnet.Layer), got {layer!r}.")
        if id(layer) in self._members:
            raise ValueError(f"Sequential.add: this {layer!r} object is already layer "
                             f"{self.layers.index(layer) + 1} of the model. A Sequential cannot "
                             f"reuse a layer (its forward cache would be overwritten); create "
                             f"a new one.")
        self._members.add(id(layer))
        self.layers.append(layer)
        self.built = False

    def declared_input_shape(self):
        """(None, *sample shape) as declared by the model or its first layer, or None."""
        if self.input_shape is not None:
            return self.input_shape
        declared = self.layers[0].input_spec.shape if self.layers else None
        return None if declared is None else (None, *declared)

    def trace_shapes(self, input_shape=None, batch=None):
        """The shape after each layer, computed without data: [input, layer 1, ...].
        The batch is symbolic (None) unless ``batch`` is given."""
        shape = _as_shape(input_shape) or self.declared_input_shape()
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

    def build(self, input_shape=None):
        """Create every layer's parameters, then gather them into one flat buffer."""
        if not self.layers:
            raise ValueError("Sequential: the model has no layers. Add some, e.g. "
                             "Sequential([Dense(10, input_dim=4)]).")
        declared = self.declared_input_shape()
        if input_shape is not None and declared is not None \
                and _as_shape(input_shape) != declared:
            raise ShapeError(f"Sequential.build: the model was declared for inputs of shape "
                             f"{describe_shape(declared)} but is being built for "
                             f"{describe_shape(_as_shape(input_shape))}. Build it without an "
                             f"input shape, or change the declared one.")
        self.shapes = self.trace_shapes(input_shape)
        self.input_shape = self.shapes[0]
        for i, layer in enumerate(self.layers, 1):
            layer.build(self.shapes[i - 1], np.random.default_rng([self.seed, i]), self.dtype)
            layer.need_dX = i > 1              # the first layer's input is data
        self.pack()
        self.built = True
        return self

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

    def ensure_built(self, X):
        """Build from the first data seen when no input shape was declared."""
        if not self.built:
            self.build(self.input_shape or self.declared_input_shape() or X.shape[1:])

    @property
    def output_shape(self):
        return (self.shapes if self.built else self.trace_shapes())[-1]

    @property
    def output_layer(self):
        return self.layers[-1]

    # --- counting ---------------------------------------------------------------
    def param_counts(self):
        """(trainable, non-trainable) parameter counts, as Keras counts them: frozen
        layers' parameters and every layer's state are non-trainable."""
        shapes = self.shapes if self.built else self.trace_shapes()
        trainable = non_trainable = 0
        for layer, in_shape in zip(self.layers, shapes):
            counted = layer_counts(layer, in_shape)
            trainable += counted[0]
            non_trainable += counted[1]
        return trainable, non_trainable

    def count_params(self):
        """All parameters, trainable and not (BatchNorm's running statistics count)."""
        return sum(self.param_counts())

    # --- the views ----------------------------------------------------------------
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

    # --- forward and backward -----------------------------------------------------
    def forward(self, X, training=False):
        """Y = layer_n(... layer_1(X)); each layer keeps what its backward needs."""
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def layer_outputs(self, X, training=False):
        """[X, layer 1's output, layer 2's output, ...] for a batch X: one forward pass,
        every intermediate value kept (what the pictures draw)."""
        X = self.check_input(X, "layer_outputs")
        outputs = [X]
        for layer in self.layers:
            outputs.append(layer.forward(outputs[-1], training))
        return outputs

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

    # --- compile and train ----------------------------------------------------------
    def compile(self, optimizer="adam", loss="mse", metrics=None):
        """Choose the optimiser, the loss and the metrics to report."""
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        self.metrics = list(metrics or [])
        self.metric_functions = metrics_module.resolve(self.metrics, self.loss)
        last = self.layers[-1] if self.layers else None
        self.fused_loss = (last is not None and not self.loss.from_logits
                           and self.loss.output_activation is not None
                           and last.output_activation == self.loss.output_activation)
        return self

    def check_input(self, X, what):
        """X as an array of the model's dtype, after checking it against the model's input
        (building the model from it if its input shape was not declared)."""
        return training.check_input(self, X, what)

    def train_on_batch(self, X, y):
        """Exactly one optimisation step on (X, y); returns the loss before the step."""
        return training.train_on_batch(self, X, y)

    def fit(self, X, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, seed=0, callbacks=None, verbose=1, initial_epoch=0,
            terminate_on_nan=True, file=None):
        """Train for ``epochs`` epochs of mini-batches; returns a ``History`` (see
        ``glassnet.training.fit``)."""
        return training.fit(self, X, y, epochs, batch_size, validation_split, validation_data,
                            shuffle, seed, callbacks, verbose, initial_epoch,
                            terminate_on_nan, file)

    def evaluate(self, X, y, batch_size=1024):
        """The mean loss and metrics on (X, y): {"loss": ..., "accuracy": ...}."""
        return training.evaluate(self, X, y, batch_size)

    def predict(self, X, batch_size=4096):
        """The model's outputs for X (probabilities after a softmax), in batches."""
        return training.predict(self, X, batch_size)

    # --- weights -----------------------------------------------------------------------
    def _weight_slots(self):
        for layer in self.layers:
            for store in (layer.params, layer.state):
                for k in store:
                    yield layer, store, k

    def get_weights(self):
        """Copies of every weight array, layer by layer: [W1, b1, W2, b2, ...]
        (BatchNorm: gamma, beta, running_mean, running_var). W is stored (in, out)."""
        if not self.built:
            self.build()
        return [store[k].copy() for _, store, k in self._weight_slots()]

    def set_weights(self, weights):
        """Copy arrays into the model's weights, in ``get_weights`` order; every array is
        checked (shape, numbers, finite) before any is written."""
        from .weights import assign
        if not self.built:
            self.build()
        assign("set_weights", [(where(layer), k, store) for layer, store, k in
                               self._weight_slots()], weights)

    # --- configuration and files ---------------------------------------------------------
    def get_config(self):
        shape = self.input_shape or self.declared_input_shape()
        return {"layers": [layer.get_config() for layer in self.layers],
                "input_shape": None if shape is None else list(shape[1:]),
                "seed": self.seed, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("model config: expected an object with a 'layers' list, as "
                             "written by model.get_config().")
        layers = [layer_from_config(c, f"layer {i}") for i, c in enumerate(config["layers"], 1)]
        return cls(layers, input_shape=config.get("input_shape"), seed=config.get("seed", 0),
                   dtype=config.get("dtype", "float32"))

    def save(self, path):
        """Save architecture, weights, optimiser state and training position (safetensors)."""
        from .io import save_model
        save_model(self, path)

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
    inner = layer.sublayers()
    if not inner:
        return total, state
    frozen = sum(math.prod(s) for key, s in params.items()
                 if not _nested_trainable(layer, key))
    return total - frozen, state + frozen


def _nested_trainable(layer, key):
    """Whether the parameter 'i.j.name' of a layer holding others is trainable."""
    while layer.sublayers():
        index, key = key.split(".", 1)
        layer = layer.sublayers()[int(index) - 1]
        if not layer.trainable:
            return False
    return True
