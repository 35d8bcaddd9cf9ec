"""Sequential: a chain of layers, trained by forward pass, loss, backward pass, update.

One training step (``train_on_batch``), written out:

    Y = X
    for layer in layers:            Y = layer.forward(Y, training=True)   # Y = f(X @ W + b)
    loss = loss_fn.forward(Y, T)                                          # a number
    dY = loss_fn.backward()                                               # dL/dY
    for layer in reversed(layers):  dY = layer.backward(dY)               # fills layer.grads
    optimizer.step(model.flat_params, model.flat_grads)                  # W -= lr * ...

All parameters live in one flat buffer (``flat_params``) and every ``layer.params[k]``
is a view into it; the gradients likewise (``flat_grads``). The optimiser therefore
updates the whole model with a few vectorised passes.
"""
import math
import warnings

import numpy as np

from . import callbacks as callbacks_module
from . import losses as losses_module
from . import optimizers as optimizers_module
from .activations import Activation
from .errors import ShapeError, describe_features, describe_shape
from .layers import Dense, where
from .registry import layer_from_config

METRIC_NAMES = ("accuracy", "acc", "mae", "mse")


class NonFiniteLossWarning(RuntimeWarning):
    """Training stopped because the loss became NaN or infinite."""


def _as_shape(input_shape):
    if input_shape is None:
        return None
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (int(input_shape),)
    shape = tuple(input_shape)
    if shape and shape[0] is None:
        shape = shape[1:]
    if not shape or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
        raise ValueError(f"Sequential: input_shape must be positive whole numbers per sample, "
                         f"such as (784,) or (8, 8); got {input_shape!r}.")
    return (None, *map(int, shape))


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
            first layer has ``input_dim``, or when the first data seen sets it.
        seed: seed of every random choice inside the model (initial weights, dropout).
        dtype: ``"float32"`` (default, fast) or ``"float64"`` (for gradient checks).
    """

    def __init__(self, layers=None, input_shape=None, seed=0, dtype="float32"):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Sequential: seed must be a non-negative whole number, got {seed!r}.")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"Sequential: dtype must be 'float32' or 'float64', got {dtype!r}.")
        self.seed, self.input_shape = int(seed), _as_shape(input_shape)
        self.layers, self.built, self.shapes = [], False, []
        self.optimizer = self.loss = None
        self.metrics, self._fused = [], False
        self.epoch, self.stop_training = 0, False
        self.flat_params = self.flat_grads = None
        for layer in layers or []:
            self.add(layer)

    # --- building ---------------------------------------------------------------
    def add(self, layer):
        if not all(hasattr(layer, m) for m in ("forward", "backward", "output_shape")):
            raise TypeError(f"Sequential.add: expected a glassnet layer (Dense, Dropout, ...), "
                            f"got {layer!r}.")
        if any(layer is other for other in self.layers):
            raise ValueError(f"Sequential.add: this {layer!r} object is already layer "
                             f"{self.layers.index(layer) + 1} of the model. A Sequential cannot "
                             f"reuse a layer (its forward cache would be overwritten); create "
                             f"a new one.")
        self.layers.append(layer)
        self.built = False

    def _declared_input_shape(self):
        if self.input_shape is not None:
            return self.input_shape
        first = self.layers[0] if self.layers else None
        if getattr(first, "input_dim", None) is not None:
            return (None, first.input_dim)
        return None

    def trace_shapes(self, input_shape=None, batch=None):
        """The shape after each layer, computed without data: [input, layer 1, ...].
        The batch is symbolic (None) unless ``batch`` is given."""
        shape = _as_shape(input_shape) or self._declared_input_shape()
        if shape is None:
            raise ValueError("Sequential: the input shape is unknown. Give the first layer "
                             "input_dim (Dense(8, input_dim=4)), pass input_shape= to "
                             "Sequential, or call fit/predict with data first.")
        shapes = [(batch, *shape[1:])]
        for i, layer in enumerate(self.layers, 1):
            layer.position = i
            try:
                shapes.append(layer.output_shape(shapes[-1]))
            except ShapeError as error:
                raise ShapeError(f"{error}\n{self._shape_chain(shapes)}") from None
        return shapes

    def _shape_chain(self, shapes, received=None):
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
        declared = self._declared_input_shape()
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
        self._pack()
        self.built = True
        return self

    def _pack(self):
        pairs = [(layer, k) for layer in self.layers for k in layer.params]
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

    def _ensure_built(self, X):
        if not self.built:
            self.build(self.input_shape or self._declared_input_shape() or X.shape[1:])

    # --- counting ---------------------------------------------------------------
    def param_counts(self):
        """(trainable, non-trainable) parameter counts, as Keras counts them."""
        shapes = self.shapes if self.built else self.trace_shapes()
        trainable = non_trainable = 0
        for layer, in_shape in zip(self.layers, shapes):
            trainable += sum(math.prod(s) for s in layer.param_shapes(in_shape).values())
            if hasattr(layer, "state_shapes"):
                non_trainable += sum(math.prod(s) for s in layer.state_shapes(in_shape).values())
        return trainable, non_trainable

    def count_params(self):
        """All parameters, trainable and not (BatchNorm's running statistics count)."""
        return sum(self.param_counts())

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

    def backward(self, dY, start=None):
        """Walk the layers in reverse from ``start`` (default: the last), filling grads.
        The first layer's input is data, so its dX is not computed."""
        start = len(self.layers) - 1 if start is None else start
        for i in range(start, -1, -1):
            dY = self.layers[i].backward(dY, need_dX=i > 0)
        return dY

    def _logits(self):
        """The input of the final softmax/sigmoid, for the fused loss."""
        last = self.layers[-1]
        return last.Z if isinstance(last, Dense) else last.X

    def _backward_from_logits(self, dZ):
        last, n = self.layers[-1], len(self.layers)
        if isinstance(last, Dense):
            dZ = last.backward_linear(dZ, need_dX=n > 1)
        if n > 1:
            self.backward(dZ, start=n - 2)

    # --- compile and train ----------------------------------------------------------
    def compile(self, optimizer="adam", loss="mse", metrics=None):
        """Choose the optimiser, the loss and the metrics to report."""
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        self.metrics = list(metrics or [])
        for m in self.metrics:
            if m not in METRIC_NAMES:
                raise ValueError(f"compile: unknown metric {m!r}. Use one of: "
                                 f"{', '.join(METRIC_NAMES)}.")
        last = self.layers[-1] if self.layers else None
        last_activation = last.activation.name if isinstance(last, Dense) else \
            last.name if isinstance(last, Activation) else None
        self._fused = (not getattr(self.loss, "from_logits", True)
                       and last_activation == getattr(self.loss, "output_activation", None))
        return self

    def _require_compiled(self, what):
        if self.loss is None:
            raise ValueError(f"Sequential.{what}: the model is not compiled. Call "
                             f"model.compile(optimizer='adam', loss=...) first.")

    def _check_X(self, X, what):
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
        if not self.built:
            self._ensure_built(X)
        if X.shape[1:] != self.input_shape[1:]:
            first = self.layers[0]
            raise ShapeError(
                f"{what}: {where(first)} expects inputs of shape "
                f"{describe_shape(self.input_shape)} but received {describe_shape(X.shape)}: "
                f"your data has {describe_features(X.shape)} features per sample, the "
                f"model was built for {describe_features(self.input_shape)}. Pass data "
                f"with that many features, or rebuild the model with "
                + (f"input_dim={X.shape[1]}" if X.ndim == 2 else f"input_shape={X.shape[1:]}")
                + ".\n"
                + self._shape_chain(self.shapes[:1], received=X.shape))
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(X))[0])
            raise ValueError(f"{what}: X contains NaN or Inf (first at index {bad}). Remove "
                             f"or fill those values before training.")
        return np.asarray(X, dtype=self.dtype)

    def _check_data(self, X, y, what):
        X = self._check_X(X, what)
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ShapeError(f"{what}: X has {X.shape[0]} samples but y has "
                             f"{y.shape[0] if y.ndim else 'no'} (shape {describe_shape(y.shape)}); "
                             f"they must have one target per sample.")
        T = self.loss.prepare(y, self.shapes[-1], self.dtype)
        return X, T

    def _step(self, X, T, keep=None):
        """Forward, loss, backward, update. ``keep`` receives a copy of the weights that
        gave this (finite) loss, taken just before they are updated."""
        Y = self.forward(X, training=True)
        if self._fused:
            loss = self.loss.forward(self._logits(), T, logits=True)
        else:
            loss = self.loss.forward(Y, T)
        if not math.isfinite(loss):
            return loss, Y
        if self._fused:
            self._backward_from_logits(self.loss.backward())
        else:
            self.backward(self.loss.backward())
        if keep is not None:
            np.copyto(keep, self.flat_params)
        self.optimizer.step(self.flat_params, self.flat_grads)
        return loss, Y

    def train_on_batch(self, X, y):
        """Exactly one optimisation step on (X, y); returns the loss before the step."""
        self._require_compiled("train_on_batch")
        X, T = self._check_data(X, y, "train_on_batch")
        return self._step(X, T)[0]

    def _metric_sums(self, Y, T):
        """Sum over the batch of each metric (averaged later over samples)."""
        sums = {}
        for name in self.metrics:
            key = "accuracy" if name in ("accuracy", "acc") else name
            if key == "accuracy":
                if isinstance(self.loss, losses_module.BinaryCrossentropy) or Y.shape[-1] == 1:
                    threshold = 0.0 if getattr(self.loss, "from_logits", False) else 0.5
                    hits = ((Y > threshold) == (T > 0.5)).mean(axis=tuple(range(1, Y.ndim)))
                    sums[key] = float(hits.sum())
                else:
                    sums[key] = float(np.sum(Y.argmax(axis=-1) == T.argmax(axis=-1)))
            elif key == "mae":
                sums[key] = float(np.abs(Y - T).reshape(len(Y), -1).mean(axis=1).sum())
            else:
                sums[key] = float(((Y - T) ** 2).reshape(len(Y), -1).mean(axis=1).sum())
        return sums

    def fit(self, X, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, seed=0, callbacks=None, verbose=1, initial_epoch=0,
            terminate_on_nan=True, file=None):
        """Train for ``epochs`` epochs of mini-batches; returns a ``History``.

        Shuffling is drawn from ``seed`` and the epoch number, so the same seed gives
        the same batches, and ``fit(..., initial_epoch=k)`` on a model saved after k
        epochs continues exactly where it stopped. ``validation_split`` keeps the last
        fraction of the data aside (as Keras). With ``terminate_on_nan`` (the default)
        a NaN or infinite loss stops training, names the epoch and batch, and leaves
        the weights that produced the last finite loss.
        """
        self._require_compiled("fit")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"fit: {name} must be a whole number >= 1, got {value!r}.")
        if not 0 <= validation_split < 1:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}.")
        X, T = self._check_data(X, y, "fit")
        if validation_data is not None:
            X_val, T_val = self._check_data(*validation_data, "fit (validation_data)")
        elif validation_split:
            n_val = int(round(len(X) * validation_split))
            if n_val == 0 or n_val == len(X):
                raise ValueError(f"fit: validation_split={validation_split} leaves "
                                 f"{len(X) - n_val} training and {n_val} validation samples "
                                 f"out of {len(X)}; each needs at least one.")
            X, X_val, T, T_val = X[:-n_val], X[-n_val:], T[:-n_val], T[-n_val:]
        else:
            X_val = T_val = None

        n, steps = len(X), math.ceil(len(X) / batch_size)
        history = callbacks_module.History()
        cbs = [history] + list(callbacks or [])
        if verbose:
            cbs.append(callbacks_module.ProgressBar(epochs, steps, verbose, file))
        for cb in cbs:
            cb.set_model(self)
            cb.on_train_begin({"epochs": epochs, "steps": steps, "samples": n})
        self.stop_training = False
        last_good = self.flat_params.copy() if terminate_on_nan else None
        metric_keys = ["accuracy" if m == "acc" else m for m in self.metrics]

        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else None
            total_loss, seen, sums = 0.0, 0, dict.fromkeys(metric_keys, 0.0)
            for batch in range(steps):
                if order is None:
                    Xb, Tb = X[batch * batch_size:(batch + 1) * batch_size], \
                        T[batch * batch_size:(batch + 1) * batch_size]
                else:
                    idx = order[batch * batch_size:(batch + 1) * batch_size]
                    Xb, Tb = X[idx], T[idx]
                loss, Y = self._step(Xb, Tb, keep=last_good)
                if not math.isfinite(loss):
                    if terminate_on_nan:
                        self.flat_params[:] = last_good
                        self._stop_on_nan(loss, epoch, batch, steps, history)
                        break
                    total_loss = math.nan
                total_loss += loss * len(Xb)
                seen += len(Xb)
                for key, value in self._metric_sums(Y, Tb).items():
                    sums[key] += value
                logs = {"loss": total_loss / seen, **{k: v / seen for k, v in sums.items()},
                        "samples": seen}
                for cb in cbs:
                    cb.on_batch_end(batch, logs)
            if history.stopped_reason:
                break
            logs = {"loss": total_loss / seen, **{k: v / seen for k, v in sums.items()}}
            if X_val is not None:
                logs.update({f"val_{k}": v for k, v in self._evaluate(X_val, T_val).items()})
            self.epoch = epoch + 1
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end({})
        return history

    def _stop_on_nan(self, loss, epoch, batch, steps, history):
        message = (f"fit: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1} of "
                   f"{steps}; training stopped and the weights that gave the last finite loss "
                   f"were kept. Lower the learning rate, standardise the inputs, or clip "
                   f"gradients (global_clipnorm=1.0).")
        history.stopped_reason = message
        self.stop_training = True
        warnings.warn(message, NonFiniteLossWarning, stacklevel=3)

    # --- evaluate and predict ---------------------------------------------------------
    def _evaluate(self, X, T, batch_size=1024):
        total, sums = 0.0, {}
        for start in range(0, len(X), batch_size):
            Xb, Tb = X[start:start + batch_size], T[start:start + batch_size]
            Y = self.forward(Xb, training=False)
            value = self.loss.forward(self._logits(), Tb, logits=True) if self._fused \
                else self.loss.forward(Y, Tb)
            total += value * len(Xb)
            for key, v in self._metric_sums(Y, Tb).items():
                sums[key] = sums.get(key, 0.0) + v
        return {"loss": total / len(X), **{k: v / len(X) for k, v in sums.items()}}

    def evaluate(self, X, y, batch_size=1024):
        """The mean loss and metrics on (X, y): {"loss": ..., "accuracy": ...}."""
        self._require_compiled("evaluate")
        X, T = self._check_data(X, y, "evaluate")
        return self._evaluate(X, T, batch_size)

    def predict(self, X, batch_size=4096):
        """The model's outputs for X (probabilities after a softmax), in batches."""
        X = self._check_X(X, "predict")
        outputs = [self.forward(X[s:s + batch_size], training=False)
                   for s in range(0, len(X), batch_size)]
        return outputs[0].copy() if len(outputs) == 1 else np.concatenate(outputs)

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
        """Copy arrays into the model's weights, in ``get_weights`` order, checking shapes."""
        if not self.built:
            self.build()
        slots = list(self._weight_slots())
        weights = list(weights)
        if len(weights) != len(slots):
            raise ValueError(f"set_weights: the model has {len(slots)} weight arrays "
                             f"({', '.join(f'{where(layer)}.{k}' for layer, _, k in slots)}) but "
                             f"received {len(weights)}.")
        for (layer, store, k), w in zip(slots, weights):
            w = np.asarray(w)
            if w.shape != store[k].shape:
                raise ShapeError(f"set_weights: {where(layer)} weight {k!r} has shape "
                                 f"{describe_shape(store[k].shape)} but received "
                                 f"{describe_shape(w.shape)}.")
        for (layer, store, k), w in zip(slots, weights):
            store[k][...] = w

    # --- configuration and files ---------------------------------------------------------
    def get_config(self):
        shape = self.input_shape or self._declared_input_shape()
        return {"layers": [layer.get_config() for layer in self.layers],
                "input_shape": None if shape is None else list(shape[1:]),
                "seed": self.seed, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        layers = [layer_from_config(c, f"layer {i}") for i, c in enumerate(config["layers"], 1)]
        return cls(layers, input_shape=config.get("input_shape"), seed=config.get("seed", 0),
                   dtype=config.get("dtype", "float32"))

    def save(self, path):
        """Save architecture, weights, optimiser state and training position (safetensors)."""
        from .io import save_model
        save_model(self, path)

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"
