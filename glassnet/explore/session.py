"""One explorer page's network: the data, the model, training step by step, and the
frame of numbers the page draws. The page sends settings and commands; everything it
shows is computed here by the engine (nothing is recomputed in JavaScript but drawing).

Training is a plain loop the exported code repeats exactly: epoch e shuffles the
training rows with ``numpy.random.default_rng([seed, e])`` and feeds full batches to
``model.train_on_batch``. Settings that keep the weights (learning rate, L2, batch size,
optimiser, loss; noise and test share, which draw the data again) change live and are
logged with the step they took effect at; the exported code replays that log, so the
same steps give the same weights, bit for bit, on the page and in the script."""
import base64
import math
import os
import tempfile
import threading
import time

import numpy as np

from .. import datasets, optimizers
from ..layers.conv import Conv2D
from ..layers.dense import Dense, Dropout, Flatten
from ..layers.base import is_chain
from ..network.graph import Network
from ..network.sequential import Sequential
from ..layers.normalization import BatchNorm
from .code import export_code
from .settings import (
    DEFAULTS,
    GRID,
    LIMITS,
    LOSSES,
    UPLOAD,
    SettingsError,
    check_numbers,
    check_settings,
    data_call,
    expand,
    number,
    plane_data,
    read_upload,
    regression_set,
    what_changed,
    whole_labels,
)

SHOWN = 16                        # neurons drawn per layer (the rest are counted)
SNAPSHOT_BYTES = 32 << 20         # the weight history kept per page, at most
HISTORY_ENTRIES = 4000            # loss and accuracy points kept per page, at most
MOST_CHANGES = 1000               # live changes replayed by the code, at most


def make_optimizer(settings):
    """The optimiser the settings name (the exported code writes the same call)."""
    lr, l2 = settings["learning_rate"], settings["l2"]
    return {"sgd": lambda: optimizers.SGD(lr, weight_decay=l2),
            "momentum": lambda: optimizers.SGD(lr, momentum=0.9, weight_decay=l2),
            "rmsprop": lambda: optimizers.RMSprop(lr, weight_decay=l2),
            "adam": lambda: optimizers.Adam(lr, weight_decay=l2)}[settings["optimizer"]]()


def pack(values, low=None, high=None):
    """Values as 0..255 bytes (base64) over [low, high], for drawing only."""
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low)
    data = np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)
    return {"b64": base64.b64encode(data.tobytes()).decode("ascii"), "low": low, "high": high}


def finite(value):
    """A float for JSON: None where it is not a number (the page never gets NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


class Session:
    """The state behind one page or widget. Every public method takes the lock."""

    def __init__(self, settings=None, arrays=None):
        """``arrays``: (name, X, y) given directly (the notebook widget's own data),
        used as an uploaded file is."""
        self.lock = threading.Lock()
        self.uploaded = None                       # (name, X, y)
        self.upload_kind = "file"                  # or "arrays" (the widget's own)
        self.settings = None
        self.note = ""
        if arrays is not None:
            name, X, y = arrays
            X = np.asarray(X, np.float64)
            if X.ndim != 2 or len(X) != len(y) or len(X) < 10:
                raise ValueError(f"explore: X must be a 2-D array (samples, features) with "
                                 f"one target in y per row, at least 10 rows; got X of shape "
                                 f"{X.shape} and {len(y)} targets.")
            y = whole_labels(y)
            check_numbers(name, X, y)
            self.uploaded, self.upload_kind = (name, X, y), "arrays"
            settings = settings or self.upload_settings()
        self.configure(settings or DEFAULTS)

    def upload_settings(self, settings=None):
        """Settings for the uploaded data: its problem (class labels or numbers)."""
        s = dict(settings or self.settings or DEFAULTS)
        s["data"] = {**s["data"], "name": "upload"}
        y = self.uploaded[2]
        s["problem"] = "classification" if np.issubdtype(np.asarray(y).dtype, np.integer) \
            else "regression"
        if s.get("loss") not in LOSSES[s["problem"]]:
            s["loss"] = LOSSES[s["problem"]][0]
        return s

    # --- settings, data, model ---------------------------------------------------------
    def configure(self, settings):
        """Check the settings and apply them: live (the weights kept, the change logged
        for the code), with new data and the weights kept, or as a new network (the
        same seed: the same start). Returns the network's description with a note."""
        with self.lock:
            settings = check_settings(settings, self.uploaded)
            kind, keys = what_changed(self.settings, settings)
            if kind != "new" and len(self.log) >= MOST_CHANGES:
                kind, keys = "new", [f"more than {MOST_CHANGES} live changes"]
            if kind == "same":
                pass
            elif kind == "new":
                data = self._data(settings)
                self.settings = settings
                self._use_data(data)
                self._build()
                self.note = "" if self.steps == 0 and keys == ["everything"] else \
                    f"a new network ({', '.join(keys)} changed): training starts again."
            else:
                if kind == "data":
                    self._use_data(self._data(settings))
                    self._new_epoch()
                self._check_batch(settings)
                self.settings = settings
                self._apply_live()
                self.log.append((self.steps, settings, None))
                self.note = f"changed live at step {self.steps} ({', '.join(keys)}); " \
                    f"the weights are kept."
                if kind == "data":
                    self._record()
        return self.describe()

    def upload(self, name, body):
        """Keep an uploaded data set; the page then configures with data name 'upload'."""
        name = os.path.basename(name)
        if not name or len(name) > 200:
            raise ValueError(f"upload: the file's name must be 1 to 200 characters, got "
                             f"{len(name)}; rename the file.")
        X, y = read_upload(name, body)
        with self.lock:
            self.uploaded, self.upload_kind = (name, X, y), "file"
        kind = "class labels" if np.issubdtype(np.asarray(y).dtype, np.integer) else "numbers"
        return {"name": name, "rows": int(X.shape[0]), "features": int(X.shape[1]),
                "targets": kind}

    def _data(self, settings):
        """(X_train, X_test, y_train, y_test, classes, scale) for these settings."""
        data, seed = settings["data"], settings["seed"]
        name = data["name"]
        if name == "digits":
            X, y = datasets.load_digits()
            X = X / 16.0
            if settings["conv"]:                   # images for a convolution: (n, 8, 8, 1)
                X = X.reshape(-1, 8, 8, 1)
        elif name == "upload":
            _, X, y = self.uploaded
        else:
            function, arguments = data_call(data, seed)
            make = regression_set if function == "regression_set" else \
                getattr(datasets, function)
            X, y = make(**arguments)
        classification = settings["problem"] == "classification"
        if classification:
            y = np.asarray(y)
            if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
                raise SettingsError("problem: classification needs whole-number class labels "
                                    "0, 1, 2, ... in the last column; these targets are not. "
                                    "Choose regression.")
            if y.max() >= 100:
                raise SettingsError(f"problem: class labels go up to {int(y.max())}; the "
                                    f"explorer draws at most 100 classes.")
        else:
            y = np.asarray(y, np.float64).reshape(len(y), -1)
        X_train, X_test, y_train, y_test = datasets.train_test_split(
            X, y, data["test_ratio"], seed=seed, stratify=classification)
        points = (X_train, X_test) if X.ndim == 2 and X.shape[1] == 2 else None  # the plane
        if name == "upload":                        # an uploaded table: standardised
            scale = datasets.Standardizer().fit(X_train)
            X_train, X_test = scale.transform(X_train), scale.transform(X_test)
            points = (X_train, X_test) if X.shape[1] == 2 else None
        elif plane_data(settings):                  # the chosen inputs: x1, x1^2, sin x1...
            X_train, X_test = (expand(X_train, settings["features"]),
                               expand(X_test, settings["features"]))
        classes = int(max(y_train.max(), y_test.max())) + 1 if classification else 0
        self._check_batch(settings, len(X_train))
        return X_train, X_test, y_train, y_test, classes, points

    def _use_data(self, data):
        self.X_train, self.X_test, self.y_train, self.y_test, self.classes, self.points = data

    def _check_batch(self, settings, rows=None):
        rows = len(self.X_train) if rows is None else rows
        if settings["batch_size"] > rows:
            raise SettingsError(f"batch_size: {settings['batch_size']} is more than the "
                                f"{rows} training samples; choose at most {rows}.")

    def _build(self):
        s = self.settings
        features, layers = self.X_train.shape[1], []
        if s["conv"]:                              # the digits as images: 3x3 kernels
            layers += [Conv2D(s["conv"], 3, activation="relu", input_shape=(8, 8, 1)),
                       Flatten()]
        for k, layer in enumerate(s["layers"]):
            layers.append(Dense(layer["units"], activation=layer["activation"],
                                input_dim=features if k == 0 and not s["conv"] else None))
            if layer["batchnorm"]:
                layers.append(BatchNorm())
            if layer["dropout"]:
                layers.append(Dropout(layer["dropout"]))
        first = {} if s["layers"] or s["conv"] else {"input_dim": features}
        if self.classes:
            layers.append(Dense(self.classes, activation="softmax", **first))
        else:
            layers.append(Dense(self.y_train.shape[1], **first))
        self.generation = getattr(self, "generation", 0) + 1   # frames of older ones: stale
        self.model = Sequential(layers, seed=s["seed"])
        self._compile(make_optimizer(s))
        self.model.build()
        adopted = getattr(self, "adopted", None)
        self.from_adopted = adopted is not None and adopted[0] == (
            s["layers"], s["seed"], self.classes, features)
        if self.from_adopted:                      # your model's weights as the start
            self.model.set_weights(adopted[1])
        self.log = [(0, s, None)]       # (step, settings, weight edit) replayed by the code
        self.steps = self.epoch = self.position = 0
        self.order = self.last_batch = None
        self.history = []
        self.before = self.model.flat_params.copy()
        self.snapshots = [self.model.flat_params.copy()]       # weight history
        self.every = 1
        self.diverged = False
        self._record()

    def _compile(self, optimizer):
        self.model.compile(optimizer, self.settings["loss"],
                           metrics=["accuracy"] if self.classes else None)

    def _apply_live(self):
        """The live settings onto the model: a new optimiser when its kind changed (its
        state starts afresh, as in the exported code), else its rate and L2 in place."""
        s, previous = self.settings, self.log[-1][1]
        if s["optimizer"] != previous["optimizer"]:
            self._compile(make_optimizer(s))
        else:
            self.model.optimizer.learning_rate = s["learning_rate"]
            self.model.optimizer.weight_decay = s["l2"]
            if s["loss"] != previous["loss"]:
                self._compile(self.model.optimizer)

    def adopt(self, model):
        """Start from ``model`` (a glassnet Sequential of Dense, BatchNorm and Dropout
        layers ending in a Dense layer that fits the data): its layers become the page's
        and its weights the start (Reset goes back to them). The page trains a network of
        its own with them (compiled with the page's optimiser and loss, with fresh dropout
        draws, so the exported code can repeat it); ``model`` itself is left as it was."""
        if not isinstance(model, Network) or not is_chain(model.nodes()) or \
                model.dtype != np.float32:
            raise ValueError(f"explore: model must be a float32 glassnet network whose "
                             f"layers form a chain (a Sequential), got {model!r}.")
        layers, spec = list(model.layers), []
        Norm = BatchNorm
        while layers[:-1]:
            layer = layers.pop(0)
            if not isinstance(layer, Dense) or layer.activation.name not in \
                    ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear"):
                raise ValueError(f"explore: layer {layer.name!r} ({type(layer).__name__}) is "
                                 f"not one the explorer draws; it takes Dense layers (relu, "
                                 f"tanh, sigmoid, leaky_relu, gelu or linear), each followed "
                                 f"by an optional BatchNorm and Dropout, and a last Dense.")
            entry = {"units": layer.units, "activation": layer.activation.name,
                     "dropout": 0.0, "batchnorm": False}
            if layers[:-1] and isinstance(layers[0], Norm):
                entry["batchnorm"] = bool(layers.pop(0))
            if layers[:-1] and isinstance(layers[0], Dropout):
                entry["dropout"] = float(layers.pop(0).rate)
            spec.append(entry)
        last = layers[0] if layers else None
        wanted = ("softmax", self.classes) if self.classes else ("linear",
                                                                 self.y_train.shape[1])
        if not isinstance(last, Dense) or (last.activation.name, last.units) != wanted:
            raise ValueError(f"explore: the model must end in Dense({wanted[1]}, "
                             f"activation={wanted[0]!r}) for these targets; it ends in "
                             f"{last!r}.")
        settings = {**self.settings, "layers": spec, "seed": int(model.seed)}
        with self.lock:
            check_settings(settings, self.uploaded)
        if not model.built:
            model.build((None, self.X_train.shape[1]))
        self.adopted = ((check_settings(settings, self.uploaded)["layers"], settings["seed"],
                         self.classes, self.X_train.shape[1]),
                        [w.copy() for w in model.get_weights()])
        self.settings = None                            # built anew, from the adopted model
        return self.configure(settings)

    def set_weight(self, layer, row, column, value):
        """Set W[row, column] of Dense layer ``layer`` (counted among the Dense layers) by
        hand; the edit is logged at this step and the exported code makes it too."""
        with self.lock:
            dense = [d for _, d in self.dense()]
            if isinstance(layer, bool) or not isinstance(layer, int) or \
                    not 0 <= layer < len(dense):
                raise SettingsError(f"layer must be 0 to {len(dense) - 1}, got {layer!r}.")
            W = dense[layer].params["W"]
            if not all(isinstance(k, int) and not isinstance(k, bool) for k in (row, column)) \
                    or not (0 <= row < W.shape[0] and 0 <= column < W.shape[1]):
                raise SettingsError(f"weight: row must be 0 to {W.shape[0] - 1} and column 0 "
                                    f"to {W.shape[1] - 1}, got ({row!r}, {column!r}).")
            value = number({"value": value}, "value", -100, 100, where="weight")
            if len(self.log) >= MOST_CHANGES:
                raise SettingsError(f"weight: more than {MOST_CHANGES} changes; press Reset "
                                    f"to start a new log.")
            W[row, column] = value
            index = self.model.layers.index(dense[layer])
            self.log.append((self.steps, self.settings,
                             (index, row, column, float(W[row, column]))))
            self.note = f"W[{row}, {column}] of layer {layer + 1} set to " \
                f"{float(W[row, column]):.6g} at step {self.steps}."
            self._record()
            return self.frame()

    def reset(self):
        """The same starting weights (the same seed), no steps taken; settings changed
        live so far become the starting settings."""
        with self.lock:
            self._use_data(self._data(self.settings))
            self._build()
            self.note = ""
        return self.describe()

    def code(self):
        """Python that rebuilds and trains the same network: run, it reproduces the
        page's weights bit for bit (the same data, start, batches and changes)."""
        with self.lock:
            return export_code(self.log, self.steps, None if self.uploaded is None else
                               (self.upload_kind, self.uploaded[0]),
                               start=self.from_adopted)

    def model_bytes(self):
        """The model as a .glassnet file (loads with glassnet.load_model)."""
        with self.lock, tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "explored.glassnet")
            self.model.save(path)
            with open(path, "rb") as f:
                return f.read()

    # --- training ------------------------------------------------------------------------
    def _new_epoch(self):
        """The next epoch starts at the next step (after new data or a larger batch)."""
        if self.order is not None:
            self.epoch, self.position, self.order = self.epoch + 1, 0, None

    def _step(self):
        n, size = len(self.X_train), self.settings["batch_size"]
        if self.order is not None and self.position + size > n:    # a larger batch size
            self._new_epoch()
        if self.order is None:
            self.order = np.random.default_rng([self.settings["seed"], self.epoch]) \
                .permutation(n)
        index = self.order[self.position:self.position + size]
        np.copyto(self.before, self.model.flat_params)
        loss = self.model.train_on_batch(self.X_train[index], self.y_train[index])
        loss = loss[0] if isinstance(loss, list) else loss
        if not math.isfinite(loss):               # put everything back; say so on the page
            self.model.flat_params[:] = self.before
            self.model.optimizer.undo()
            self.diverged = True
            return False
        self.last_batch = index
        self.steps += 1
        if self.steps % self.every == 0:
            self.snapshots.append(self.model.flat_params.copy())
            if len(self.snapshots) * self.before.nbytes > SNAPSHOT_BYTES:  # every other one
                self.snapshots, self.every = self.snapshots[::2], self.every * 2
        self.position += size
        if self.position + size > n:              # full batches only: a last batch of one
            self._new_epoch()                     # sample would break batch norm
        return True

    def step(self, what="batch"):
        """One batch, or the batches left in this epoch; returns a frame."""
        with self.lock:
            self.diverged = False
            if what == "epoch":
                epoch = self.epoch
                while self.epoch == epoch and self._step():
                    pass
            elif what == "batch":
                self._step()
            else:
                raise SettingsError(f"step: what must be batch or epoch, got {what!r}.")
            self._record()
            return self.frame()

    def play_chunk(self, seconds=1 / 50, most=1000):
        """Train for about ``seconds`` (at least one batch), then a frame: what the page
        asks for, one at a time, while playing."""
        with self.lock:
            self.diverged = False
            start = time.perf_counter()
            for _ in range(most):
                if not self._step() or time.perf_counter() - start >= seconds:
                    break
            self._record()
            return self.frame()

    def _record(self):
        entry = {"step": self.steps, "epoch": round(self.epoch + self.position /
                                                    len(self.X_train), 4)}
        for part, X, y in (("train", self.X_train, self.y_train), ("test", self.X_test,
                                                                   self.y_test)):
            result = self.model.evaluate(X, y, batch_size=4096, verbose=0, return_dict=True)
            entry[f"{part}_loss"] = finite(result["loss"])
            if "accuracy" in result:
                entry[f"{part}_accuracy"] = finite(result["accuracy"])
        if self.history and self.history[-1]["step"] == self.steps:
            self.history[-1] = entry
        else:
            self.history.append(entry)
        if len(self.history) > HISTORY_ENTRIES:       # every other point, the last kept
            self.history = self.history[:-1:2] + self.history[-1:]

    # --- what the page draws -------------------------------------------------------------
    def grid(self):
        """The plane around the data (40 x 40 points, row 0 at the top) as the network's
        inputs, and its box [low, high] in the data's two coordinates."""
        X = np.concatenate(self.points)
        low, high = X.min(axis=0), X.max(axis=0)
        pad = 0.1 * (high - low)
        low, high = low - pad, high + pad
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], GRID),
                             np.linspace(high[1], low[1], GRID))
        plane = np.c_[gx.ravel(), gy.ravel()]
        inputs = expand(plane, self.settings["features"]) if plane_data(self.settings) \
            else plane
        return inputs, [low.tolist(), high.tolist()]

    def dense(self):
        """(index, layer) of the model's Dense layers, in order."""
        return [(i, layer) for i, layer in enumerate(self.model.layers)
                if isinstance(layer, Dense)]

    def drawn_in_plane(self):
        """Whether the page draws this network over the plane (2-D data)."""
        return self.points is not None

    def frame(self):
        """What the page draws after each step: the step, the last history entry, the
        shown weights (SHOWN x SHOWN per layer) and their gradients, and over the plane
        every shown neuron's map and the output; else predictions for 16 test rows."""
        weights, grads = [], []
        for _, layer in self.dense():
            W, b = layer.params["W"][:SHOWN, :SHOWN], layer.params["b"][:SHOWN]
            weights.append({"W": W.tolist(), "b": b.tolist()})
            grads.append({"W": layer.grads["W"][:SHOWN, :SHOWN].tolist(),
                          "b": layer.grads["b"][:SHOWN].tolist()})
        frame = {"type": "frame", "generation": self.generation, "step": self.steps,
                 "epoch": self.epoch,
                 "history": self.history[-1], "diverged": self.diverged,
                 "weights": weights, "grads": grads,
                 "grad_norms": [finite(np.linalg.norm(layer.grads["W"]))
                                for _, layer in self.dense()]}
        if self.drawn_in_plane():
            inputs, box = self.grid()
            values = self.model.node_values(inputs)
            maps = [[pack(inputs[:, j]) for j in range(min(SHOWN, inputs.shape[1]))]]
            for _, layer in self.dense()[:-1]:
                H = values[layer.name][:, :SHOWN]
                limit = float(np.abs(H).max()) or 1.0
                maps.append([pack(H[:, j], -limit, limit) for j in range(H.shape[1])])
            Y = values[self.model.layers[-1].name]
            if self.classes:
                frame["boundary"] = {"label": pack(Y.argmax(axis=1).astype(float), 0, 255),
                                     "confidence": pack(Y.max(axis=1), 0, 1)}
            else:
                frame["boundary"] = {"value": pack(Y[:, 0])}
            frame.update(maps=maps, box=box, grid=GRID)
        else:                                      # digits and wide tables: 16 test rows
            if self.settings["conv"]:
                frame["conv"] = self.feature_maps(0)
            Y = self.model.predict(self.X_test[:16], batch_size=4096, verbose=0)
            frame["predictions"] = (Y.argmax(axis=1) if self.classes else
                                    np.round(Y[:, 0], 4)).tolist()
        return frame

    def feature_maps(self, sample):
        """Test digit ``sample`` and the convolution's output for it, one 6x6 map per
        channel (on one colour scale), read from the engine's forward pass."""
        conv = self.model.layers[0]
        image = self.X_test[sample:sample + 1]
        A = self.model.node_values(image)[conv.name][0]            # (6, 6, channels)
        limit = float(np.abs(A).max()) or 1.0
        return {"sample": sample, "image": pack(image[0, :, :, 0].ravel(), 0, 1),
                "size": int(A.shape[0]), "activation": conv.activation.name,
                "maps": [pack(A[:, :, c].ravel(), -limit, limit) for c in range(A.shape[2])]}

    def describe(self):
        """What the page draws once per network: the data points, the network's shape,
        its parameter count, the history so far, the note and the first frame."""
        with self.lock:
            m, s = self.model, self.settings
            dense = [layer for _, layer in self.dense()]
            widths = [dense[0].params["W"].shape[0]] + [d.params["W"].shape[1] for d in dense]
            info = {"type": "network", "generation": self.generation, "settings": s,
                    "widths": widths,
                    "activations": [layer.activation.name for _, layer in self.dense()],
                    "parameters": m.count_params(), "classes": self.classes,
                    "train": {"size": len(self.X_train)}, "test": {"size": len(self.X_test)},
                    "limits": LIMITS, "upload_limits": UPLOAD, "note": self.note,
                    "uploaded": None if self.uploaded is None else self.uploaded[0],
                    "plane": self.drawn_in_plane(), "shown": SHOWN,
                    "history": self.history, "frame": self.frame()}
            if info["plane"]:
                for part, X, y in (("train", self.points[0], self.y_train),
                                   ("test", self.points[1], self.y_test)):
                    info[part].update(X=np.round(X, 5).tolist(),
                                      y=np.round(np.asarray(y, np.float64).ravel(), 5)
                                      .tolist())
            elif s["data"]["name"] == "digits":
                info["test"]["images"] = np.round(self.X_test[:16].reshape(16, -1), 3).tolist()
            info["test"]["first"] = np.round(np.asarray(self.y_test[:16], np.float64)
                                             .ravel(), 4).tolist()
            return info
