"""Training, apart from the model: the loop ``fit`` runs, ``evaluate``, ``predict`` and
``train_on_batch``, and the one place where a loss meets the model's output.

A step is forward, loss, backward, update. When the model ends in softmax (or sigmoid)
and the loss is the matching cross-entropy on probabilities (``model.fused_loss``), the
loss is computed from the last layer's logits and its gradient enters the backward pass
below the activation: the fused form dZ = (softmax(Z) - T) / N is exact and stable.
"""
import math
import warnings

import numpy as np

from . import callbacks as callbacks_module
from .errors import ShapeError, describe_features, describe_shape
from .base import where


class NonFiniteLossWarning(RuntimeWarning):
    """Training stopped because the loss became NaN or infinite."""


# --- data in -------------------------------------------------------------------------
def check_input(model, X, what):
    """X as an array of the model's dtype, after checking it against the model's input
    (building the model from it if its input shape was not declared)."""
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
    model.ensure_built(X)
    if X.shape[1:] != model.input_shape[1:]:
        first = model.layers[0]
        raise ShapeError(
            f"{what}: {where(first)} expects inputs of shape "
            f"{describe_shape(model.input_shape)} but received {describe_shape(X.shape)}: "
            f"your data has {describe_features(X.shape)} features per sample, the "
            f"model was built for {describe_features(model.input_shape)}. Pass data "
            f"with that many features, or rebuild the model with "
            + (f"input_dim={X.shape[1]}" if X.ndim == 2 else f"input_shape={X.shape[1:]}")
            + ".\n" + model.shape_chain(model.shapes[:1], received=X.shape))
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(X))[0])
        raise ValueError(f"{what}: X contains NaN or Inf (first at index {bad}). Remove "
                         f"or fill those values before training.")
    return np.asarray(X, dtype=model.dtype)


def check_data(model, X, y, what):
    """(X, T): the inputs checked, the targets in the form the loss computes with."""
    X = check_input(model, X, what)
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ShapeError(f"{what}: X has {X.shape[0]} samples but y has "
                         f"{y.shape[0] if y.ndim else 'no'} (shape {describe_shape(y.shape)}); "
                         f"they must have one target per sample.")
    return X, model.loss.prepare(y, model.output_shape, model.dtype)


def require_compiled(model, what):
    if model.loss is None:
        raise ValueError(f"{type(model).__name__}.{what}: the model is not compiled. Call "
                         f"model.compile(optimizer='adam', loss=...) first.")


# --- the loss, fused or not ------------------------------------------------------------
def loss_of(model, Y, T):
    """The mean loss of outputs Y against targets T (from the logits when fused)."""
    if model.fused_loss:
        return model.loss.forward(model.output_layer.logits(), T, logits=True)
    return model.loss.forward(Y, T)


def backpropagate(model):
    """The loss's gradient, through every layer (entering below a fused activation)."""
    if model.fused_loss:
        model.backward_from_logits(model.loss.backward())
    else:
        model.backward(model.loss.backward())


# --- one step ----------------------------------------------------------------------------
def step(model, X, T, keep=None):
    """Forward, loss, backward, update. ``keep`` receives a copy of the weights that
    gave this (finite) loss, taken just before they are updated."""
    if model.layout() != model.packed_layout:         # a layer was frozen or unfrozen
        model.pack()
        model.optimizer.state.clear()
    Y = model.forward(X, training=True)
    loss = loss_of(model, Y, T)
    if not math.isfinite(loss):
        return loss, Y
    backpropagate(model)
    if keep is not None:
        np.copyto(keep, model.flat_params)
    model.optimizer.step(model.flat_params, model.flat_grads)
    return loss, Y


def train_on_batch(model, X, y):
    """Exactly one optimisation step on (X, y); returns the loss before the step."""
    require_compiled(model, "train_on_batch")
    X, T = check_data(model, X, y, "train_on_batch")
    return step(model, X, T)[0]


def metric_sums(model, Y, T):
    """Sum over the batch of each metric (averaged later over samples)."""
    return {m.name: m(Y, T) for m in model.metric_functions}


# --- fit ---------------------------------------------------------------------------------
def fit(model, X, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
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
    require_compiled(model, "fit")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"fit: {name} must be a whole number >= 1, got {value!r}.")
    if not 0 <= validation_split < 1:
        raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}.")
    X, T = check_data(model, X, y, "fit")
    if validation_data is not None:
        X_val, T_val = check_data(model, *validation_data, "fit (validation_data)")
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
        cb.set_model(model)
        cb.on_train_begin({"epochs": epochs, "steps": steps, "samples": n})
    model.stop_training = False
    last_good = model.flat_params.copy() if terminate_on_nan else None

    for epoch in range(initial_epoch, epochs):
        for cb in cbs:
            cb.on_epoch_begin(epoch)
        order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else None
        total_loss, seen = 0.0, 0
        sums = {m.name: 0.0 for m in model.metric_functions}
        for batch in range(steps):
            if order is None:
                Xb, Tb = X[batch * batch_size:(batch + 1) * batch_size], \
                    T[batch * batch_size:(batch + 1) * batch_size]
            else:
                idx = order[batch * batch_size:(batch + 1) * batch_size]
                Xb, Tb = X[idx], T[idx]
            loss, Y = step(model, Xb, Tb, keep=last_good)
            if not math.isfinite(loss):
                if terminate_on_nan:
                    model.flat_params[:] = last_good
                    _stop_on_nan(model, loss, epoch, batch, steps, history)
                    break
                total_loss = math.nan
            total_loss += loss * len(Xb)
            seen += len(Xb)
            for key, value in metric_sums(model, Y, Tb).items():
                sums[key] += value
            logs = {"loss": total_loss / seen, **{k: v / seen for k, v in sums.items()},
                    "samples": seen}
            for cb in cbs:
                cb.on_batch_end(batch, logs)
        if history.stopped_reason:
            break
        logs = {"loss": total_loss / seen, **{k: v / seen for k, v in sums.items()}}
        if X_val is not None:
            logs.update({f"val_{k}": v for k, v in _evaluate(model, X_val, T_val).items()})
        model.epoch = epoch + 1
        for cb in cbs:
            cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    for cb in cbs:
        cb.on_train_end({})
    return history


def _stop_on_nan(model, loss, epoch, batch, steps, history):
    message = (f"fit: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1} of "
               f"{steps}; training stopped and the weights that gave the last finite loss "
               f"were kept. Lower the learning rate, standardise the inputs, or clip "
               f"gradients (global_clipnorm=1.0).")
    history.stopped_reason = message
    model.stop_training = True
    warnings.warn(message, NonFiniteLossWarning, stacklevel=4)


# --- evaluate and predict ------------------------------------------------------------------
def _evaluate(model, X, T, batch_size=1024):
    total, sums = 0.0, {}
    for start in range(0, len(X), batch_size):
        Xb, Tb = X[start:start + batch_size], T[start:start + batch_size]
        Y = model.forward(Xb, training=False)
        total += loss_of(model, Y, Tb) * len(Xb)
        for key, v in metric_sums(model, Y, Tb).items():
            sums[key] = sums.get(key, 0.0) + v
    return {"loss": total / len(X), **{k: v / len(X) for k, v in sums.items()}}


def evaluate(model, X, y, batch_size=1024):
    """The mean loss and metrics on (X, y): {"loss": ..., "accuracy": ...}."""
    require_compiled(model, "evaluate")
    X, T = check_data(model, X, y, "evaluate")
    return _evaluate(model, X, T, batch_size)


def predict(model, X, batch_size=4096):
    """The model's outputs for X (probabilities after a softmax), in batches."""
    X = check_input(model, X, "predict")
    outputs = [model.forward(X[s:s + batch_size], training=False)
               for s in range(0, len(X), batch_size)]
    return outputs[0].copy() if len(outputs) == 1 else np.concatenate(outputs)
