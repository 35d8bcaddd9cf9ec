"""Callbacks: code that runs at the edges of epochs and batches, with Keras's hooks.

``fit`` calls ``set_model(model)`` and ``set_params({"epochs", "steps", "verbose",
"samples", "batch_size"})``, then ``on_train_begin(logs)``, and for every epoch
``on_epoch_begin(epoch, logs)``, ``on_train_batch_begin(batch, logs)`` /
``on_train_batch_end(batch, logs)`` for every batch (logs: the epoch's running loss and
metrics), validation through ``on_test_begin`` / ``on_test_batch_begin`` /
``on_test_batch_end`` / ``on_test_end``, then ``on_epoch_end(epoch, logs)`` (the epoch's
loss, metrics and ``val_`` values), and finally ``on_train_end(logs)``. ``evaluate``
and ``predict`` call the test and predict hooks. As in Keras, ``on_batch_begin`` and
``on_batch_end`` are the old names of the train-batch hooks: the default
``on_train_batch_end`` calls ``on_batch_end``.

A callback stops training by setting ``model.stop_training = True``.
"""
import csv
import math
import os
import string
import sys
import time
import warnings

from ..files import check_writable, open_for_writing
from ..validate import number, whole_number


class Callback:
    """The base of every callback: every hook does nothing (``logs`` may be None)."""
    model = None

    def __init__(self):
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params)

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        """The old name of ``on_train_batch_begin`` (called by its default)."""

    def on_batch_end(self, batch, logs=None):
        """The old name of ``on_train_batch_end`` (called by its default)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


def as_list(callbacks, owner="callbacks"):
    """``callbacks`` as a list of Callback objects: a list or tuple of them, or one alone
    (Keras also accepts one, flattening it into a list); anything else is refused with
    what to write instead."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    example = "callbacks=[glassnet.callbacks.EarlyStopping(patience=3)]"
    if isinstance(callbacks, str):
        raise TypeError(f"{owner}: callbacks must be callback objects, not the string "
                        f"{callbacks[:40]!r}; write {example}.")
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{owner}: callbacks must be a list of callback objects, got "
                        f"{type(callbacks).__name__}; write {example}.")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            shown = repr(cb) if isinstance(cb, str) else type(cb).__name__
            raise TypeError(f"{owner}: callbacks: expected glassnet.callbacks.Callback "
                            f"objects, got {shown[:60]}; write {example}, subclass Callback, "
                            f"or use LambdaCallback.")
    return list(callbacks)


def prepare(callbacks, model, params, owner="callbacks"):
    """The callbacks, checked, each told the model and the run's params."""
    callbacks = as_list(callbacks, owner)
    for cb in callbacks:
        cb.set_model(model)
        cb.set_params(params)
    return callbacks


class History(Callback):
    """What ``fit`` returns: ``history.history["loss"]`` etc., one value per epoch."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch, self.stopped_reason = {}, [], None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _resolve_mode(mode, monitor, owner):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}.")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class MonitorWarning(UserWarning):
    """A callback's ``monitor`` is not logged by this run, so the callback does nothing."""


IDLE = {"EarlyStopping": "training will not stop early",
        "ModelCheckpoint": "no model is saved", "ReduceLROnPlateau": "the learning rate "
        "stays as it is"}


def _monitored(callback, logs):
    """The monitored value from ``logs``, or None -- with a warning, once per run, when
    the run does not log it (as Keras warns and goes on: EarlyStopping() without
    validation data trains all its epochs)."""
    owner = type(callback).__name__
    value = (logs or {}).get(callback.monitor)
    if value is None and not getattr(callback, "warned", False):
        callback.warned = True
        warnings.warn(f"{owner}: cannot monitor {callback.monitor!r}: this run logs only "
                      f"{', '.join(sorted(logs or {}))}, so {IDLE[owner]}. Pass validation "
                      f"data to monitor 'val_...' values (validation_split=0.2), or monitor "
                      f"one of those.", MonitorWarning, stacklevel=4)
    return value


def _check_monitor(callback):
    """Warn before the first epoch when ``fit`` says the monitored value is not logged."""
    callback.warned = False
    logged = callback.params.get("logged")
    if logged:
        _monitored(callback, dict.fromkeys(logged, 0.0))


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    with ``restore_best_weights`` the model ends with the weights of its best epoch."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(number(min_delta, "min_delta", "EarlyStopping"))
        self.patience = whole_number(patience, "patience", "EarlyStopping", minimum=0)
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self.baseline = None if baseline is None else number(baseline, "baseline",
                                                             "EarlyStopping")
        self.verbose, self.restore_best_weights = verbose, bool(restore_best_weights)
        self.start_from_epoch = whole_number(start_from_epoch, "start_from_epoch",
                                             "EarlyStopping", minimum=0)

    def on_train_begin(self, logs=None):
        _check_monitor(self)
        self.best = math.inf if self.baseline is None else self._score(self.baseline)
        self.best_epoch, self.wait = None, 0
        self.best_weights, self.stopped_epoch = None, None

    def _score(self, value):
        return value if self.mode == "min" else -value

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs)
        if value is None or epoch < self.start_from_epoch:
            return
        score = self._score(value)
        if score < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.model.stop_training = True
            self.stopped_epoch = epoch
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor} has not improved "
                      f"for {self.wait} epochs)")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (weights, optimiser state, training position) after each epoch.

    ``filepath`` may hold ``{epoch}`` (1-based, e.g. ``"ckpt-{epoch:02d}.glassnet"``) and
    any logged value (``"{val_loss:.3f}"``); with ``save_best_only`` a file is written only
    when ``monitor`` improves.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto"):
        super().__init__()
        from ..io import check_save_name
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint: filepath must be a file name such as "
                            f"'ckpt-{{epoch:02d}}.glassnet', got {type(filepath).__name__}.")
        self.filepath, self.monitor, self.save_best_only = (os.fspath(filepath), monitor,
                                                            save_best_only)
        try:
            self.fields = {name.split(".")[0].split("[")[0] for _, name, _, _ in
                           string.Formatter().parse(self.filepath) if name is not None}
        except ValueError as error:
            raise ValueError(f"ModelCheckpoint: the file name {self.filepath!r} is not a valid "
                             f"template ({error}); write braces as {{{{ and }}}}, and fields "
                             f"as {{epoch:02d}} or {{val_loss:.3f}}.") from None
        check_save_name(self.filepath, "ModelCheckpoint")
        if not self.fields:
            check_writable(self.filepath, "ModelCheckpoint")
        self.mode = _resolve_mode(mode, monitor, "ModelCheckpoint")
        self.verbose, self.best, self.saved = verbose, math.inf, []

    def on_train_begin(self, logs=None):
        """Check the file name and its folder before training, not after an epoch."""
        from ..io import check_destination
        logged = self.params.get("logged", [])
        if self.save_best_only:
            _check_monitor(self)
        path = self._path(0, dict.fromkeys(logged, 0.0)) if logged else self.filepath
        check_destination(path, "ModelCheckpoint")

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"ModelCheckpoint: cannot fill in the file name {self.filepath!r} "
                             f"({type(error).__name__}: {error}); it may name {{epoch}} and the "
                             f"values this run logs: {', '.join(sorted(logs))}.") from None

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = _monitored(self, logs)
            if value is None:
                return
            score = value if self.mode == "min" else -value
            if not score < self.best:
                return
            self.best = score
        path = self._path(epoch, logs or {})
        self.model.save(path)
        self.saved.append(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")


class TerminateOnNaN(Callback):
    """Stops training when a batch's loss is NaN or infinite (Keras's callback). glassnet's
    ``fit`` already does this by default (``terminate_on_nan=True``) and also puts back the
    last good weights; this callback only stops."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


def _learning_rate_of(model, owner):
    rate = model.optimizer.learning_rate
    if callable(rate):
        raise ValueError(f"{owner}: the optimizer's learning rate is a schedule "
                         f"({type(rate).__name__}); {owner} sets a number. Give the optimizer "
                         f"a number, or drop one of the two.")
    return rate


class LearningRateScheduler(Callback):
    """At the start of every epoch, sets the learning rate to ``schedule(epoch, lr)``
    (or ``schedule(epoch)``), as Keras does."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be a function of "
                            f"(epoch, lr), got {schedule!r}.")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _learning_rate_of(self.model, "LearningRateScheduler")
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        self.model.optimizer.learning_rate = number(
            new, "the schedule's learning rate", "LearningRateScheduler", 0, low_open=True)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {new:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved by
    ``min_delta`` for ``patience`` epochs, then waits ``cooldown`` epochs; never below
    ``min_lr`` (Keras's defaults)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        owner = "ReduceLROnPlateau"
        self.monitor = monitor
        self.factor = number(factor, "factor", owner, 0, 1, low_open=True, high_open=True)
        self.patience = whole_number(patience, "patience", owner, minimum=0)
        self.mode = _resolve_mode(mode, monitor, owner)
        self.min_delta = abs(number(min_delta, "min_delta", owner))
        self.cooldown = whole_number(cooldown, "cooldown", owner, minimum=0)
        self.min_lr = number(min_lr, "min_lr", owner, 0)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        _check_monitor(self)
        self.best, self.wait, self.cooldown_left = math.inf, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs)
        lr = _learning_rate_of(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = lr
        if value is None:
            return
        score = value if self.mode == "min" else -value
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if score < self.best - self.min_delta:
            self.best, self.wait = score, 0
        elif self.cooldown_left <= 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new = max(lr * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new
                self.cooldown_left, self.wait = self.cooldown, 0
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{new:.6g}.")


class CSVLogger(Callback):
    """Writes one row per epoch (the epoch, then every logged value) to a CSV file."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\r\n\"":
            raise ValueError(f"CSVLogger: separator must be one character such as ',' or "
                             f"';' (not a quote or a line break), got {separator!r}.")
        self.filename = check_writable(filename, "CSVLogger")
        self.separator, self.append = separator, bool(append)
        self.keys = None

    def on_train_begin(self, logs=None):
        self.file = open_for_writing(self.filename, "CSVLogger", append=self.append)
        self.keys = None
        self.header_written = self.append and self.file.tell() > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.writer(self.file, delimiter=self.separator)
            if not self.header_written:
                self.writer.writerow(["epoch", *self.keys])
        self.writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.
    Any hook of ``Callback`` can be given by name."""

    HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
             "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
             "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
             "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
             "on_predict_batch_end")

    def __init__(self, **hooks):
        super().__init__()
        for name, function in hooks.items():
            if name not in self.HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}. Hooks: "
                                f"{', '.join(self.HOOKS)}.")
            if not callable(function):
                raise TypeError(f"LambdaCallback: {name} must be a function, got {function!r}.")
            setattr(self, name, function)


class ProgressBar(Callback):
    """One line per epoch: a bar, time, samples per second, loss and metrics.

    On a terminal the line is redrawn as batches finish; elsewhere (logs, CI) it is
    printed once at the end of the epoch. ``verbose=2`` prints only the end line.
    ``every=k`` prints every k-th epoch (and the last) for long runs of short epochs.
    The epochs and steps come from ``fit`` (``self.params``) unless given.
    """

    def __init__(self, epochs=None, steps=None, verbose=1, file=None, width=24, every=1):
        super().__init__()
        self.epochs, self.steps, self.verbose, self.width = epochs, steps, verbose, width
        self.every = whole_number(every, "every", "ProgressBar")
        self.file = file or sys.stdout
        self.live = verbose == 1 and getattr(self.file, "isatty", lambda: False)()

    def on_train_begin(self, logs=None):
        self.epochs = self.epochs or self.params.get("epochs")
        self.steps = self.steps or self.params.get("steps")
        self.batch_size = self.params.get("batch_size", 1)
        self.samples_total = self.params.get("samples", 0)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.start, self.last_draw, self.samples = epoch, time.perf_counter(), 0.0, 0

    def _line(self, step, logs):
        done = int(self.width * step / max(self.steps, 1))
        bar = "=" * done + (">" if done < self.width else "") + "." * (self.width - done - 1)
        elapsed = time.perf_counter() - self.start
        rate = self.samples / elapsed if elapsed > 0 else 0.0
        values = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        width = len(str(self.epochs))
        return (f"Epoch {self.epoch + 1:>{width}}/{self.epochs} {step:>{len(str(self.steps))}}/"
                f"{self.steps} [{bar}] {elapsed:.1f}s {rate:,.0f} samples/s - {values}")

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.samples = min((batch + 1) * self.batch_size, self.samples_total or math.inf)
        if self.live and (now - self.last_draw > 0.1 or batch + 1 == self.steps):
            self.last_draw = now
            self.file.write("\r" + self._line(batch + 1, logs or {}))
            self.file.flush()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            if self.live:
                self.file.write("\r\033[K")            # clear the line being redrawn
            return
        line = self._line(self.steps, logs or {})
        self.file.write(("\r" if self.live else "") + line + "\n")
        self.file.flush()
