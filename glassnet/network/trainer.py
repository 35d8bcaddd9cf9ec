"""Training, apart from the model: the loop ``fit`` runs, ``evaluate``, ``predict`` and
the one-batch forms, with Keras's arguments, return values and callback hooks -- and
the one place where a loss meets the model's output.

A step is forward, loss, backward, update. When the model ends in softmax (or sigmoid)
and the loss is the matching cross-entropy on probabilities (``model.fused_loss``), the
loss is computed from the last layer's logits and its gradient enters the backward pass
below the activation: the fused form dZ = (softmax(Z) - T) / N is exact and stable.

Inputs are one array, or a list of arrays for a model with several inputs; every array
is cut into the same batches.
"""
import math
import sys
import time
import warnings

import numpy as np

from . import callbacks as callbacks_module
from ..metrics import Totals
from ..layers.base import leaf_layers
from ..errors import ShapeError, describe_shape
from ..validate import flag, number, whole_number


class NonFiniteLossWarning(RuntimeWarning):
    """Training stopped because the loss became NaN or infinite."""


# --- data in -------------------------------------------------------------------------
def count(X):
    """Samples in one input array or a list of them (which must agree)."""
    if isinstance(X, list):
        sizes = {len(x) for x in X}
        if len(sizes) > 1:
            raise ShapeError(f"the model's inputs have different numbers of samples "
                             f"({', '.join(str(len(x)) for x in X)}); give every input one "
                             f"row per sample.")
        return sizes.pop()
    return len(X)


def take(X, index):
    """Rows of one input array or of each of a list (a slice or an index array)."""
    return [x[index] for x in X] if isinstance(X, list) else X[index]


def check_weights(weights, n, what):
    """Sample weights: one finite number >= 0 per sample, as float64 (N,), or None."""
    if weights is None:
        return None
    w = np.asarray(weights)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.dtype.kind not in "fiub" or w.shape != (n,):
        raise ValueError(f"{what}: sample_weight must be one number per sample, shape "
                         f"({n},), got {describe_shape(w.shape)} of dtype {w.dtype}.")
    w = w.astype(np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{what}: sample_weight must be finite numbers >= 0.")
    return w


def class_weights(class_weight, T, loss, what):
    """Keras's class_weight: each sample weighted by its class's weight (1 for a class
    the dict leaves out); the class is the argmax of a target row, or the 0/1 value of a
    one-unit binary target."""
    if not isinstance(class_weight, dict) or not all(
            isinstance(k, (int, np.integer)) and not isinstance(k, bool)
            for k in class_weight):
        raise TypeError(f"{what}: class_weight must be a dict from class index to weight, "
                        f"such as {{0: 1.0, 1: 5.0}}; got {class_weight!r}.")
    for k, v in class_weight.items():
        number(v, f"class_weight[{k}]", what, 0)
    rows = T.reshape(len(T), -1) if T.ndim > 2 else T
    if rows.shape[-1] > 1:
        classes = rows.argmax(axis=-1)
    else:
        classes = np.round(rows[:, 0]).astype(np.int64)
    if classes.ndim > 1:
        raise ValueError(f"{what}: class_weight needs one class per sample; the targets "
                         f"have one per position.")
    table = np.ones(max(int(classes.max()) + 1, 1))
    for k, v in class_weight.items():
        if 0 <= k < len(table):
            table[k] = v
    return table[classes]


def check_data(model, x, y, what, sample_weight=None, class_weight=None):
    """(X, T, W): inputs checked, targets in the form the loss computes with, per-sample
    weights (or None)."""
    X = model.check_input(x, what)
    n = count(X)
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != n:
        raise ShapeError(f"{what}: X has {n} samples but y has "
                         f"{y.shape[0] if y.ndim else 'no'} (shape {describe_shape(y.shape)}); "
                         f"they must have one target per sample.")
    T = model.loss.prepare(y, model.output_shape, model.dtype)
    W = check_weights(sample_weight, n, what)
    if class_weight is not None:
        if W is not None:
            raise ValueError(f"{what}: give class_weight or sample_weight, not both (as "
                             f"Keras); multiply them into one sample_weight instead.")
        W = class_weights(class_weight, T, model.loss, what)
    return X, T, W


def require_compiled(model, what):
    if model.loss is None:
        state = "is not compiled" if model.optimizer is None else "was compiled without a loss"
        raise ValueError(f"{type(model).__name__}.{what}: the model {state}. Call "
                         f"model.compile(optimizer='adam', loss=...) first.")


def check_verbose(verbose, what):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"{what}: verbose must be 0 (silent), 1 (progress bar), 2 (one line "
                         f"per epoch) or 'auto', got {verbose!r}.")
    return verbose


def check_batch_size(batch_size, what):
    return 32 if batch_size is None else whole_number(batch_size, "batch_size", what)


# --- the loss, fused or not ------------------------------------------------------------
def loss_of(model, Y, T, W=None):
    """The mean loss of outputs Y against targets T (from the logits when fused), times
    compile's ``loss_weights``, plus the regularizers' penalty (as Keras: every batch)."""
    if model.fused_loss:
        value = model.loss.forward(model.output_layer.logits(), T, logits=True, weights=W)
    else:
        value = model.loss.forward(Y, T, weights=W)
    value = value if model.loss_weight == 1 else value * model.loss_weight
    return value + penalty(model)


def penalty(model):
    """The sum of every trainable layer's regularizer penalty (kernel_regularizer,
    bias_regularizer); each layer adds its gradient to dW, db in its backward pass."""
    return sum(layer.penalty() for layer, trainable in leaf_layers(model.layers)
               if trainable and layer.regularizers)


def backpropagate(model):
    """The loss's gradient, through every layer (entering below a fused activation)."""
    dY = model.loss.backward()
    if model.loss_weight != 1:
        dY = dY * model.loss_weight
    if model.fused_loss:
        model.backward_from_logits(dY)
    else:
        model.backward(dY)


# --- one step ----------------------------------------------------------------------------
def follow_freezing(model):
    """Repack the flat buffer when a layer was frozen or unfrozen since it was packed (the
    optimiser's per-parameter state then starts afresh, as after Keras's recompile)."""
    if model.layout() != model.packed_layout:
        model.pack()
        model.optimizer.reset()


def step(model, X, T, W=None, keep=None):
    """Forward, loss, backward, update. ``keep`` receives a copy of the weights that
    gave this (finite) loss, taken just before they are updated."""
    follow_freezing(model)
    Y = model.forward(X, training=True)
    loss = loss_of(model, Y, T, W)
    if not math.isfinite(loss):
        return loss, Y
    backpropagate(model)
    if keep is not None:
        np.copyto(keep, model.flat_params)
    sizes = None
    if model.optimizer.clipnorm is not None:          # clipnorm clips each tensor's norm
        sizes = [layer.params[k].size for layer, trainable in leaf_layers(model.layers)
                 if trainable for k in layer.params]
    model.optimizer.step(model.flat_params, model.flat_grads, sizes)
    return loss, Y


class LastGood:
    """The model as it was before the step that went wrong: the weights that gave the last
    finite loss (copied just before each update), every layer's state as it was before
    the failing forward pass (BatchNorm's running statistics: copied before each step),
    and the optimiser's state before its last update (``optimizer.undo``)."""

    def __init__(self, model):
        self.model = model
        self.params = model.flat_params.copy()
        self.states = [(store, k, store[k].copy()) for layer, _ in leaf_layers(model.layers)
                       for store in [layer.state] for k in store]
        model.optimizer.commit()

    def before_step(self):
        for store, k, copy in self.states:
            np.copyto(copy, store[k])

    def restore(self):
        model = self.model
        model.flat_params[:] = self.params
        for store, k, copy in self.states:
            store[k][...] = copy
        model.optimizer.undo()


def batch_metrics(model, Y, T):
    """Each metric's value on this batch alone."""
    totals = Totals(model.metric_functions)
    totals.add(Y, T)
    return totals.values()


def results(model, logs, return_dict):
    """What Keras's evaluate returns: the loss alone without metrics, else
    [loss, *metrics] in compile order; the dict with return_dict=True."""
    if return_dict:
        return dict(logs)
    if not model.metric_functions:
        return logs["loss"]
    return [logs["loss"], *(logs[m.name] for m in model.metric_functions)]


# --- fit ---------------------------------------------------------------------------------
def _stop_on_nan(model, loss, epoch, batch, steps, history):
    message = (f"fit: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1} of "
               f"{steps}; training stopped and the model was put back as it was at the last "
               f"finite loss (weights, running statistics, optimizer state). Lower the "
               f"learning rate, standardise the inputs, or clip gradients "
               f"(global_clipnorm=1.0).")
    history.stopped_reason = message
    model.stop_training = True
    warnings.warn(message, NonFiniteLossWarning, stacklevel=3)


# --- evaluate and predict ------------------------------------------------------------------
def _evaluate(model, X, T, W, batch_size, cbs=()):
    """Mean loss and metrics over all samples, batch by batch (the test hooks fire)."""
    total, totals, n = 0.0, Totals(model.metric_functions), count(X)
    for cb in cbs:
        cb.on_test_begin({})
    for batch, start in enumerate(range(0, n, batch_size)):
        for cb in cbs:
            cb.on_test_batch_begin(batch, {})
        rows = slice(start, start + batch_size)
        Xb, Tb = take(X, rows), T[rows]
        Y = model.forward(Xb, training=False)
        size = count(Xb)
        total += loss_of(model, Y, Tb, None if W is None else W[rows]) * size
        totals.add(Y, Tb)
        seen = start + size
        logs = {"loss": total / seen, **totals.values()}
        for cb in cbs:
            cb.on_test_batch_end(batch, logs)
    logs = {"loss": total / n, **totals.values()}
    for cb in cbs:
        cb.on_test_end(logs)
    return logs


def _report(verbose, file, steps, start, logs=None):
    """The one line evaluate and predict print: steps, time and the values."""
    if verbose:
        values = "".join(f" - {k}: {v:.4f}" for k, v in (logs or {}).items())
        print(f"{steps}/{steps} - {time.perf_counter() - start:.1f}s{values}",
              file=file or sys.stdout)


class Trainer:
    """Training, declared once for every network (as Keras's ``Trainer``): ``fit``,
    ``evaluate``, ``predict`` and the one-batch forms, with Keras's arguments in Keras's
    order and Keras's return values, working on the network itself."""

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """Exactly one optimisation step on (x, y); returns the loss before the step (and the
        batch's metrics, as Keras)."""
        require_compiled(self, "train_on_batch")
        X, T, W = check_data(self, x, y, "train_on_batch", sample_weight, class_weight)
        loss, Y = step(self, X, T, W)
        return results(self, {"loss": loss, **batch_metrics(self, Y, T)}, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """The loss (and metrics) of one batch, without training."""
        require_compiled(self, "test_on_batch")
        X, T, W = check_data(self, x, y, "test_on_batch", sample_weight)
        return results(self, _evaluate(self, X, T, W, count(X)), return_dict)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, *, seed=0, terminate_on_nan=True, file=None):
        """Train for ``epochs`` epochs of mini-batches; returns a ``History``.

        The arguments are Keras's, in Keras's order (``fit(x, y, 32, 10)`` is batch size 32
        for 10 epochs); glassnet's own come by keyword. Shuffling is drawn from ``seed`` and
        the epoch number, so the same seed gives the same batches, and
        ``fit(..., initial_epoch=k)`` on a model saved after k epochs continues exactly where
        it stopped. ``validation_split`` keeps the last fraction of the data aside (as
        Keras). ``class_weight`` or ``sample_weight`` weigh each sample's loss (as Keras:
        the weighted losses are averaged over the batch size). With ``terminate_on_nan``
        (the default) a NaN or infinite loss stops training, names the epoch and batch, and
        leaves the weights that produced the last finite loss.
        """
        require_compiled(self, "fit")
        epochs = whole_number(epochs, "epochs", "fit")
        batch_size = check_batch_size(batch_size, "fit")
        verbose = check_verbose(verbose, "fit")
        initial_epoch = whole_number(initial_epoch, "initial_epoch", "fit", minimum=0)
        shuffle = flag(shuffle, "shuffle", "fit")
        seed = whole_number(seed, "seed", "fit", minimum=0)
        validation_split = number(validation_split, "validation_split", "fit", 0, 1,
                                  high_open=True)
        if x is None or y is None:
            raise ValueError("fit: give the training data, fit(x, y, ...).")
        X, T, W = check_data(self, x, y, "fit", sample_weight, class_weight)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be (x_val, y_val) or (x_val, y_val, "
                                 "sample_weight_val).")
            X_val, T_val, W_val = check_data(self, *validation_data[:2], "fit (validation_data)",
                                             *validation_data[2:])
        elif validation_split:
            n = count(X)
            n_val = int(round(n * validation_split))
            if n_val == 0 or n_val == n:
                raise ValueError(f"fit: validation_split={validation_split} leaves "
                                 f"{n - n_val} training and {n_val} validation samples "
                                 f"out of {n}; each needs at least one.")
            train, held = slice(None, n - n_val), slice(n - n_val, None)
            X, X_val, T, T_val = take(X, train), take(X, held), T[train], T[held]
            W, W_val = (None, None) if W is None else (W[train], W[held])
        else:
            X_val = T_val = W_val = None

        n = count(X)
        steps = math.ceil(n / batch_size)
        logged = ["loss", *(m.name for m in self.metric_functions)]
        if X_val is not None:
            logged += [f"val_{k}" for k in logged]
        history = callbacks_module.History()                # last: it sees every callback's logs
        progress = [callbacks_module.ProgressBar(epochs, steps, verbose, file)] if verbose else []
        cbs = progress + callbacks_module.as_list(callbacks, "fit") + [history]
        cbs = callbacks_module.prepare(cbs, self, {"epochs": epochs, "steps": steps,
                                                    "verbose": verbose, "samples": n,
                                                    "batch_size": batch_size, "logged": logged})
        for cb in cbs:
            cb.on_train_begin({})
        self.stop_training = False
        follow_freezing(self)
        last_good = LastGood(self) if terminate_on_nan else None

        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else None
            total_loss, seen = 0.0, 0
            totals = Totals(self.metric_functions)
            for batch in range(steps):
                for cb in cbs:
                    cb.on_train_batch_begin(batch, {})
                rows = slice(batch * batch_size, (batch + 1) * batch_size)
                index = rows if order is None else order[rows]
                Xb, Tb = take(X, index), T[index]
                if last_good is not None:
                    last_good.before_step()
                loss, Y = step(self, Xb, Tb, None if W is None else W[index],
                               keep=None if last_good is None else last_good.params)
                if not math.isfinite(loss):
                    if terminate_on_nan:
                        last_good.restore()
                        _stop_on_nan(self, loss, epoch, batch, steps, history)
                        break
                    total_loss = math.nan
                size = count(Xb)
                total_loss += loss * size
                seen += size
                totals.add(Y, Tb)
                logs = {"loss": total_loss / seen, **totals.values()}
                for cb in cbs:
                    cb.on_train_batch_end(batch, logs)
                if self.stop_training:
                    break
            if history.stopped_reason:
                break
            logs = {"loss": total_loss / seen, **totals.values()}
            if X_val is not None:
                val = _evaluate(self, X_val, T_val, W_val, batch_size, cbs)
                logs.update({f"val_{k}": v for k, v in val.items()})
            self.epoch = epoch + 1
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end({})
        return history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 callbacks=None, return_dict=False, *, file=None):
        """The mean loss and metrics on (x, y), as Keras returns them: the loss alone when
        the model has no metrics, else ``[loss, *metrics]`` in compile order; the dict
        ``{"loss": ..., "accuracy": ...}`` with ``return_dict=True``."""
        require_compiled(self, "evaluate")
        batch_size = check_batch_size(batch_size, "evaluate")
        verbose = check_verbose(verbose, "evaluate")
        X, T, W = check_data(self, x, y, "evaluate", sample_weight)
        steps = math.ceil(count(X) / batch_size)
        cbs = callbacks_module.prepare(callbacks, self, {"steps": steps, "verbose": verbose},
                                       "evaluate")
        start = time.perf_counter()
        logs = _evaluate(self, X, T, W, batch_size, cbs)
        _report(verbose, file, steps, start, logs)
        return results(self, logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None, *, file=None):
        """The model's outputs for x (probabilities after a softmax), batch by batch."""
        batch_size = check_batch_size(batch_size, "predict")
        verbose = check_verbose(verbose, "predict")
        X = self.check_input(x, "predict")
        n = count(X)
        steps = math.ceil(n / batch_size)
        cbs = callbacks_module.prepare(callbacks, self, {"steps": steps, "verbose": verbose},
                                       "predict")
        start = time.perf_counter()
        for cb in cbs:
            cb.on_predict_begin({})
        outputs = []
        for batch, first in enumerate(range(0, n, batch_size)):
            for cb in cbs:
                cb.on_predict_batch_begin(batch, {})
            outputs.append(self.forward(take(X, slice(first, first + batch_size)),
                                         training=False))
            for cb in cbs:
                cb.on_predict_batch_end(batch, {"outputs": outputs[-1]})
        for cb in cbs:
            cb.on_predict_end({})
        _report(verbose, file, steps, start)
        return outputs[0].copy() if len(outputs) == 1 else np.concatenate(outputs)

    def predict_on_batch(self, x):
        """The outputs for one batch (no batching, no printing)."""
        X = self.check_input(x, "predict_on_batch")
        return self.predict(X, batch_size=count(X), verbose=0)
