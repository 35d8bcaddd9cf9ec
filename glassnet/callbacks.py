"""Callbacks: code that runs at the edges of epochs and batches during ``fit``.

Hooks: ``on_train_begin(logs)`` (logs: epochs, steps per epoch, samples),
``on_epoch_begin(epoch)``, ``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``,
``on_train_end(logs)``; ``self.model`` is the model.
A callback stops training by setting ``model.stop_training = True``.
"""
import math
import sys
import time


class Callback:
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs):
        pass

    def on_epoch_begin(self, epoch):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs):
        pass


class History(Callback):
    """What ``fit`` returns: ``history.history["loss"]`` etc., one value per epoch."""

    def __init__(self):
        self.history, self.epoch, self.stopped_reason = {}, [], None

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _resolve_mode(mode, monitor, owner):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}.")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


def _monitored(logs, monitor, owner):
    if monitor not in logs:
        raise ValueError(f"{owner}: cannot monitor {monitor!r}: this run logs only "
                         f"{', '.join(sorted(logs))}. Pass validation data to monitor "
                         f"'val_...' values, or monitor one of those.")
    return logs[monitor]


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    with ``restore_best_weights`` the model ends with the weights of its best epoch."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}.")
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs):
        self.best, self.best_epoch, self.wait = math.inf, None, 0
        self.best_weights, self.stopped_epoch = None, None

    def on_epoch_end(self, epoch, logs):
        value = _monitored(logs, self.monitor, "EarlyStopping")
        score = value if self.mode == "min" else -value
        if score < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.model.stop_training = True
            self.stopped_epoch = epoch

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (weights, optimiser state, training position) after each epoch.

    ``filepath`` may hold ``{epoch}`` (1-based, e.g. ``"ckpt-{epoch:02d}.glassnet"``);
    with ``save_best_only`` a file is written only when ``monitor`` improves.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.mode = _resolve_mode(mode, monitor, "ModelCheckpoint")
        self.best = math.inf
        self.saved = []

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            score = value if self.mode == "min" else -value
            if not score < self.best:
                return
            self.best = score
        path = self.filepath.format(epoch=epoch + 1)
        self.model.save(path)
        self.saved.append(path)


class ProgressBar(Callback):
    """One line per epoch: a bar, time, samples per second, loss and metrics.

    On a terminal the line is redrawn as batches finish; elsewhere (logs, CI) it is
    printed once at the end of the epoch. ``verbose=2`` prints only the end line.
    ``every=k`` prints every k-th epoch (and the last) for long runs of short epochs.
    """

    def __init__(self, epochs=None, steps=None, verbose=1, file=None, width=24, every=1):
        self.epochs, self.steps, self.verbose, self.width = epochs, steps, verbose, width
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"ProgressBar: every must be a positive whole number of epochs "
                             f"(1 prints every epoch), got {every!r}.")
        self.every = every
        self.file = file or sys.stdout
        self.live = verbose == 1 and getattr(self.file, "isatty", lambda: False)()

    def on_train_begin(self, logs):
        """``fit`` says how many epochs and steps per epoch; ProgressBar(every=5) in
        ``callbacks`` needs nothing else."""
        self.epochs = self.epochs or logs.get("epochs")
        self.steps = self.steps or logs.get("steps")

    def on_epoch_begin(self, epoch):
        self.epoch, self.start, self.last_draw, self.samples = epoch, time.perf_counter(), 0.0, 0

    def _line(self, step, logs):
        done = int(self.width * step / max(self.steps, 1))
        bar = "=" * done + (">" if done < self.width else "") + "." * (self.width - done - 1)
        elapsed = time.perf_counter() - self.start
        rate = self.samples / elapsed if elapsed > 0 else 0.0
        values = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if k != "samples")
        width = len(str(self.epochs))
        return (f"Epoch {self.epoch + 1:>{width}}/{self.epochs} {step:>{len(str(self.steps))}}/"
                f"{self.steps} [{bar}] {elapsed:.1f}s {rate:,.0f} samples/s - {values}")

    def on_batch_end(self, batch, logs):
        now, self.samples = time.perf_counter(), logs["samples"]
        if self.live and (now - self.last_draw > 0.1 or batch + 1 == self.steps):
            self.last_draw = now
            self.file.write("\r" + self._line(batch + 1, logs))
            self.file.flush()

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            if self.live:
                self.file.write("\r\033[K")            # clear the line being redrawn
            return
        line = self._line(self.steps, logs)
        self.file.write(("\r" if self.live else "") + line + "\n")
        self.file.flush()
