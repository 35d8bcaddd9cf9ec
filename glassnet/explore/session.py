"""One explorer page's network: the data, the model, training step by step, and every
number the page draws. The page sends settings and commands; everything it shows --
boundaries, each neuron's map, weights, curves, equations, gradients, warps -- is
computed here by the engine (nothing is recomputed in JavaScript except drawing).

Training is a plain loop the exported code repeats exactly: epoch e shuffles the
training rows with ``numpy.random.default_rng([seed, e])`` and feeds batches to
``model.train_on_batch``; so the same settings and the same number of steps give the
same weights, bit for bit, on the page and in the downloaded script. Views that need a
backward pass (a neuron's dL/dz) run it in inference mode on a copy of the gradients,
drawing no random numbers, so looking never changes what training does."""
import base64
import math
import os
import tempfile
import threading
import time

import numpy as np

from .. import datasets, losses, optimizers
from ..activations import softmax
from ..inspect import trace
from ..layers import Dense, Dropout
from ..model import Sequential
from ..normalization import BatchNorm

SETS_2D = ("circles", "moons", "spirals", "xor", "blobs")
REGRESSION_SETS = ("plane", "waves")
DATA_NAMES = (*SETS_2D, "digits", *REGRESSION_SETS, "upload")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear")
OPTIMIZERS = {"sgd": lambda lr, l2: optimizers.SGD(lr, weight_decay=l2),
              "momentum": lambda lr, l2: optimizers.SGD(lr, momentum=0.9, weight_decay=l2),
              "rmsprop": lambda lr, l2: optimizers.RMSprop(lr, weight_decay=l2),
              "adam": lambda lr, l2: optimizers.Adam(lr, weight_decay=l2)}
CODE_OPTIMIZERS = {"sgd": "gn.optimizers.SGD({lr!r}, weight_decay={l2!r})",
                   "momentum": "gn.optimizers.SGD({lr!r}, momentum=0.9, weight_decay={l2!r})",
                   "rmsprop": "gn.optimizers.RMSprop({lr!r}, weight_decay={l2!r})",
                   "adam": "gn.optimizers.Adam({lr!r}, weight_decay={l2!r})"}
LOSSES = {"classification": ("sparse_categorical_crossentropy", "focal"),
          "regression": ("mse", "mae")}
LIMITS = {"layers": 12, "units": 128, "samples": 5000, "classes": 10, "batch_size": 1024}
UPLOAD = {"bytes": 5 << 20, "rows": 20000, "columns": 65}   # stated on the page
GRID = 40                                                      # boundary and maps: 40 x 40
DEFAULTS = {"data": {"name": "circles", "samples": 500, "noise": 0.1, "classes": 3,
                     "test_ratio": 0.2},
            "problem": "classification",
            "layers": [{"units": 8, "activation": "tanh", "dropout": 0.0, "batchnorm": False},
                       {"units": 8, "activation": "tanh", "dropout": 0.0, "batchnorm": False}],
            "loss": "sparse_categorical_crossentropy", "optimizer": "adam",
            "learning_rate": 0.03, "batch_size": 10, "l2": 0.0, "seed": 0}


class SettingsError(ValueError):
    """A setting the page sent is missing, of the wrong type or out of range."""


def _number(settings, key, low, high, whole=False, where="settings"):
    value = settings.get(key)
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) \
            or not low <= value <= high:
        what = "a whole number" if whole else "a number"
        raise SettingsError(f"{where}: {key} must be {what} from {low} to {high}, got "
                            f"{value!r}.")
    return value


def _choice(settings, key, choices, where="settings"):
    value = settings.get(key)
    if value not in choices:
        raise SettingsError(f"{where}: {key} must be one of {', '.join(choices)}, got "
                            f"{value!r}.")
    return value


def check_settings(settings, uploaded=None):
    """The page's settings, checked field by field: a dict in DEFAULTS' form, or a
    SettingsError naming the field, what it got and what is allowed."""
    if not isinstance(settings, dict):
        raise SettingsError("settings: expected an object of settings.")
    data = settings.get("data")
    if not isinstance(data, dict):
        raise SettingsError("settings: data must be an object {name, samples, noise, ...}.")
    name = _choice(data, "name", DATA_NAMES, "data")
    if name == "upload" and uploaded is None:
        raise SettingsError("data: no file has been uploaded yet; upload a CSV or .npy file "
                            "first, or pick a built-in data set.")
    clean = {"data": {"name": name,
                      "samples": _number(data, "samples", 20, LIMITS["samples"], True, "data"),
                      "noise": _number(data, "noise", 0, 2, where="data"),
                      "classes": _number(data, "classes", 2, LIMITS["classes"], True, "data"),
                      "test_ratio": _number(data, "test_ratio", 0.05, 0.9, where="data")}}
    problem = _choice(settings, "problem", tuple(LOSSES))
    if name in REGRESSION_SETS and problem != "regression":
        raise SettingsError(f"problem: the {name} data set is a regression problem (its "
                            f"targets are numbers, not classes); choose regression.")
    if name in (*SETS_2D, "digits") and problem != "classification":
        raise SettingsError(f"problem: the {name} data set has class labels; choose "
                            f"classification, or the plane or waves set for regression.")
    layers = settings.get("layers")
    if not isinstance(layers, list) or len(layers) > LIMITS["layers"]:
        raise SettingsError(f"settings: layers must be a list of at most {LIMITS['layers']} "
                            f"hidden layers.")
    clean_layers = []
    for k, layer in enumerate(layers, 1):
        where = f"hidden layer {k}"
        if not isinstance(layer, dict):
            raise SettingsError(f"{where}: expected {{units, activation, dropout, batchnorm}}.")
        if not isinstance(layer.get("batchnorm", False), bool):
            raise SettingsError(f"{where}: batchnorm must be true or false.")
        clean_layers.append({
            "units": _number(layer, "units", 1, LIMITS["units"], True, where),
            "activation": _choice(layer, "activation", ACTIVATIONS, where),
            "dropout": _number({"dropout": layer.get("dropout", 0.0)}, "dropout", 0, 0.9,
                               where=where),
            "batchnorm": layer.get("batchnorm", False)})
    clean.update(problem=problem, layers=clean_layers,
                 loss=_choice(settings, "loss", LOSSES[problem]),
                 optimizer=_choice(settings, "optimizer", tuple(OPTIMIZERS)),
                 learning_rate=_number(settings, "learning_rate", 1e-6, 10.0),
                 batch_size=_number(settings, "batch_size", 1, LIMITS["batch_size"], True),
                 l2=_number(settings, "l2", 0, 1.0),
                 seed=_number(settings, "seed", 0, 2 ** 31 - 1, True))
    return clean


def regression_set(name, n, noise, seed):
    """Two inputs in [-1, 1]^2 and one number to predict: 'plane' y = (x1 + x2) / 2,
    'waves' y = sin(3 x1) cos(3 x2); plus Gaussian noise. Returns (X, y (n, 1))."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (X[:, 0] + X[:, 1]) / 2 if name == "plane" else np.sin(3 * X[:, 0]) * np.cos(3 * X[:, 1])
    return X, (y + noise * rng.normal(size=n))[:, None]


def data_call(data, seed):
    """The call that makes a built-in data set: (function name, keyword arguments), used
    by the page and written into the code it exports, so the two cannot differ. Functions
    are glassnet.datasets' generators, or ``regression_set`` (plane, waves)."""
    name, n, noise = data["name"], data["samples"], data["noise"]
    if name == "blobs":
        return "make_blobs", {"n": n, "centers": data["classes"], "std": 0.5 + noise,
                              "seed": seed}
    if name == "spirals":
        return "make_spirals", {"n": n, "arms": data["classes"], "noise": noise, "seed": seed}
    if name in REGRESSION_SETS:
        return "regression_set", {"name": name, "n": n, "noise": noise, "seed": seed}
    return f"make_{name}", {"n": n, "noise": noise, "seed": seed}


def read_upload(name, body):
    """An uploaded CSV or .npy file (bytes already capped in size) read by glassnet's own
    validated readers; the last column is the target. Returns (X, y) or raises
    ValueError with a message for the page."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".csv", ".npy"):
        raise ValueError(f"upload: {name!r} is neither .csv nor .npy; upload a CSV file (one "
                         f"row per sample, the last column the target) or a 2-D .npy array.")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "upload" + suffix)
        with open(path, "wb") as f:
            f.write(body)
        if suffix == ".csv":
            X, y = datasets.load_csv(path, max_bytes=UPLOAD["bytes"])
        else:
            table = datasets.load_npy(path, max_bytes=UPLOAD["bytes"])
            if table.ndim != 2 or table.shape[1] < 2:
                raise ValueError(f"upload: {name!r} holds an array of shape {table.shape}; "
                                 f"it must be 2-D with features and a last target column.")
            X, y = table[:, :-1], table[:, -1]
    rows, columns = X.shape[0], X.shape[1] + 1
    if rows > UPLOAD["rows"] or columns > UPLOAD["columns"] or rows < 10:
        raise ValueError(f"upload: {name!r} has {rows} rows and {columns} columns; the "
                         f"explorer takes 10 to {UPLOAD['rows']:,} rows and at most "
                         f"{UPLOAD['columns']} columns.")
    return np.asarray(X, np.float64), y


def _pack(values, low=None, high=None):
    """Values as 0..255 bytes (base64) over [low, high], for drawing only."""
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low)
    data = np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)
    return {"b64": base64.b64encode(data.tobytes()).decode("ascii"), "low": low, "high": high}


class Session:
    """The state behind one page. Every public method takes the lock: training runs in a
    worker thread while the page asks questions."""

    def __init__(self, settings=None):
        self.lock = threading.Lock()
        self.uploaded = None                       # (file name, X, y)
        self.settings = None
        self.configure(settings or DEFAULTS)

    # --- settings, data, model ---------------------------------------------------------
    def configure(self, settings):
        """Check the settings, make the data and the model (same seed: same start)."""
        with self.lock:
            settings = check_settings(settings, self.uploaded)
            self._data(settings)
            self.settings = settings
            self._build()
        return self.describe()

    def upload(self, name, body):
        """Keep an uploaded data set; the page then configures with data name 'upload'."""
        X, y = read_upload(name, body)
        with self.lock:
            self.uploaded = (os.path.basename(name), X, y)
        kind = "class labels" if np.issubdtype(np.asarray(y).dtype, np.integer) else "numbers"
        return {"name": os.path.basename(name), "rows": int(X.shape[0]),
                "features": int(X.shape[1]), "targets": kind}

    def _data(self, settings):
        data, seed = settings["data"], settings["seed"]
        name = data["name"]
        self.scale = None
        if name == "digits":
            X, y = datasets.load_digits()
            X = X / 16.0
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
        split = datasets.train_test_split(X, y, data["test_ratio"], seed=seed,
                                          stratify=classification and y.min() >= 0)
        self.X_train, self.X_test, self.y_train, self.y_test = split
        if name == "upload":                        # an uploaded table: standardised
            self.scale = datasets.Standardizer().fit(self.X_train)
            self.X_train, self.X_test = (self.scale.transform(self.X_train),
                                         self.scale.transform(self.X_test))
        self.classes = int(max(self.y_train.max(), self.y_test.max())) + 1 \
            if classification else 0
        if settings["batch_size"] > len(self.X_train):
            raise SettingsError(f"batch_size: {settings['batch_size']} is more than the "
                                f"{len(self.X_train)} training samples; choose at most "
                                f"{len(self.X_train)}.")

    def _build(self):
        s = self.settings
        features, layers = self.X_train.shape[1], []
        for k, layer in enumerate(s["layers"]):
            layers.append(Dense(layer["units"], activation=layer["activation"],
                                input_dim=features if k == 0 else None))
            if layer["batchnorm"]:
                layers.append(BatchNorm())
            if layer["dropout"]:
                layers.append(Dropout(layer["dropout"]))
        classification = s["problem"] == "classification"
        out = self.classes if classification else self.y_train.shape[1]
        layers.append(Dense(out, activation="softmax" if classification else None,
                            input_dim=features if not s["layers"] else None))
        self.model = Sequential(layers, seed=s["seed"])
        self.model.compile(OPTIMIZERS[s["optimizer"]](s["learning_rate"], s["l2"]), s["loss"],
                           metrics=["accuracy"] if classification else None)
        self.model.build()
        self.steps = self.epoch = self.position = 0
        self.order = None
        self.history = []
        self.last_batch, self.before = None, self.model.flat_params.copy()
        self.snapshots = [self.model.flat_params.copy()]       # weight history, per step
        self.every = 1
        self.diverged = False
        self._record()

    def reset(self):
        """The same starting weights (the same seed), no steps taken."""
        with self.lock:
            self._build()
        return self.describe()

    # --- training ------------------------------------------------------------------------
    def _step(self):
        n, size = len(self.X_train), self.settings["batch_size"]
        if self.order is None:
            self.order = np.random.default_rng([self.settings["seed"], self.epoch]) \
                .permutation(n)
        index = self.order[self.position:self.position + size]
        self.before = self.model.flat_params.copy()
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
            if len(self.snapshots) > 2000:                      # keep every other one
                self.snapshots, self.every = self.snapshots[::2], self.every * 2
        self.position += size
        if self.position + size > n:              # full batches only: a last batch of one
            self.epoch, self.position, self.order = self.epoch + 1, 0, None   # sample
        return True                                # would break batch norm


    def step(self, what="batch"):
        """One batch, or the batches left in this epoch; returns a frame."""
        with self.lock:
            if what == "epoch":
                epoch = self.epoch
                while self.epoch == epoch and self._step():
                    pass
            elif what == "batch":
                self._step()
            else:
                raise SettingsError(f"step: what must be batch or epoch, got {what!r}.")
            self._record()
            return self._frame()

    def play_chunk(self, seconds=1 / 30, most=1000):
        """Train for about ``seconds`` (at least one batch), then a frame: what the page
        shows while playing."""
        with self.lock:
            start = time.perf_counter()
            for _ in range(most):
                if not self._step() or time.perf_counter() - start >= seconds:
                    break
            self._record()
            return self._frame()

    def _record(self):
        m = self.model
        entry = {"step": self.steps, "epoch": round(self.epoch + self.position /
                                                    len(self.X_train), 4)}
        for part, X, y in (("train", self.X_train, self.y_train), ("test", self.X_test,
                                                                   self.y_test)):
            result = m.evaluate(X, y, batch_size=4096, verbose=0, return_dict=True)
            entry[f"{part}_loss"] = result["loss"]
            if "accuracy" in result:
                entry[f"{part}_accuracy"] = result["accuracy"]
        self.history.append(entry)

    # --- what the page draws -------------------------------------------------------------
    def _grid(self):
        X = np.concatenate([self.X_train, self.X_test])
        low, high = X.min(axis=0), X.max(axis=0)
        pad = 0.1 * (high - low)
        low, high = low - pad, high + pad
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], GRID),
                             np.linspace(high[1], low[1], GRID))   # row 0 at the top
        return np.c_[gx.ravel(), gy.ravel()], [low.tolist(), high.tolist()]

    def _dense(self):
        """(index, layer) of the model's Dense layers, in order."""
        return [(i, layer) for i, layer in enumerate(self.model.layers)
                if isinstance(layer, Dense)]

    def _frame(self):
        m = self.model
        frame = {"type": "frame", "step": self.steps, "epoch": self.epoch,
                 "history": self.history[-1], "diverged": self.diverged,
                 "weights": [{"W": layer.params["W"].tolist(), "b": layer.params["b"].tolist()}
                             for _, layer in self._dense()],
                 "grad_norms": [float(np.linalg.norm(layer.grads["W"]))
                                for _, layer in self._dense()]}
        if self.X_train.shape[1] == 2:            # the plane: boundary and every neuron's map
            grid, box = self._grid()
            outputs = m.layer_outputs(grid)
            maps = [_pack(grid[:, 0]), _pack(grid[:, 1])]
            for i, _ in self._dense()[:-1]:
                H = outputs[i + 1]
                limit = float(np.abs(H).max()) or 1.0
                maps += [_pack(H[:, j], -limit, limit) for j in range(H.shape[1])]
            Y = outputs[-1]
            if self.classes:
                frame["boundary"] = {"label": _pack(Y.argmax(axis=1).astype(float), 0, 255),
                                     "confidence": _pack(Y.max(axis=1), 0, 1)}
            else:
                frame["boundary"] = {"value": _pack(Y[:, 0])}
            frame.update(maps=maps, box=box, grid=GRID)
        else:                                      # digits and wide tables: 16 test samples
            frame["predictions"] = self._predict(self.X_test[:16]).tolist()
        return frame

    def _predict(self, X):
        Y = self.model.predict(X, batch_size=4096, verbose=0)
        return Y.argmax(axis=1) if self.classes else Y[:, 0]

    def describe(self):
        """What the page draws once per configuration: the data points, the network's
        shape, its parameter count, the history so far and the first frame."""
        with self.lock:
            m, s = self.model, self.settings
            widths = [self.X_train.shape[1]] + [layer.params["W"].shape[1]
                                                for _, layer in self._dense()]
            info = {"type": "network", "settings": s, "widths": widths,
                    "activations": [layer.activation.name for _, layer in self._dense()],
                    "parameters": m.count_params(), "classes": self.classes,
                    "train": {"size": len(self.X_train)}, "test": {"size": len(self.X_test)},
                    "limits": LIMITS, "upload_limits": UPLOAD,
                    "uploaded": None if self.uploaded is None else self.uploaded[0],
                    "history": self.history, "frame": self._frame()}
            if self.X_train.shape[1] == 2:
                for part, X, y in (("train", self.X_train, self.y_train),
                                   ("test", self.X_test, self.y_test)):
                    info[part].update(X=np.round(X, 5).tolist(),
                                      y=np.asarray(y).ravel().tolist())
            elif s["data"]["name"] == "digits":
                info["test"]["images"] = np.round(self.X_test[:16], 3).tolist()
                info["test"]["y"] = self.y_test[:16].tolist()
            return info

    # --- see inside -----------------------------------------------------------------------
    def _dense_at(self, layer):
        dense = self._dense()
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(dense):
            raise SettingsError(f"layer must be 0 to {len(dense) - 1} (the Dense layers in "
                                f"order), got {layer!r}.")
        return dense[layer]

    def _sample(self, sample):
        if isinstance(sample, bool) or not isinstance(sample, int) or \
                not 0 <= sample < len(self.X_test):
            raise SettingsError(f"sample must be 0 to {len(self.X_test) - 1} (a test sample), "
                                f"got {sample!r}.")
        return self.X_test[sample:sample + 1]

    def _backward(self, X, y):
        """An inference-mode forward and backward pass over (X, y) with a fresh loss:
        every layer's input, Z and output, and dL/dZ of each Dense layer. The model's
        gradients are put back afterwards and no random number is drawn."""
        saved = self.model.flat_grads.copy()
        try:
            inputs, H = [], X
            for layer in self.model.layers:
                inputs.append(H)
                H = layer.forward(H, training=False)
            loss = losses.get(self.settings["loss"])
            T = loss.prepare(np.asarray(y), H.shape, H.dtype)
            value = loss.forward(H, T)
            dY, dZ = loss.backward(), {}
            for i in reversed(range(len(self.model.layers))):
                layer = self.model.layers[i]
                if isinstance(layer, Dense):
                    dZ[i] = layer.activation.derivative(dY, layer.cache["Z"], layer.cache["Y"])
                dY = layer.backward(dY)
            grads = {i: (self.model.layers[i].grads["W"].copy(),
                         self.model.layers[i].grads["b"].copy()) for i in dZ}
            return inputs, value, dZ, grads
        finally:
            self.model.flat_grads[:] = saved

    def neuron(self, layer, unit, sample=0):
        """Neuron ``unit`` of Dense layer ``layer``: its equation with the numbers of test
        sample ``sample`` plugged in, and its backward step for the current batch."""
        with self.lock:
            index, dense = self._dense_at(layer)
            W, b = dense.params["W"], dense.params["b"]
            if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < W.shape[1]:
                raise SettingsError(f"unit must be 0 to {W.shape[1] - 1}, got {unit!r}.")
            outputs = self.model.layer_outputs(self._sample(sample))   # fills the caches
            h = outputs[index][0]
            z, a = float(dense.cache["Z"][0, unit]), float(outputs[index + 1][0, unit])
            terms = [(float(h[i]), float(W[i, unit])) for i in range(len(h))]
            shown = terms[:8]
            equation = "z = " + " + ".join(f"w{i + 1} x{i + 1}" for i in range(len(shown))) \
                + (" + ..." if len(terms) > 8 else "") + " + b = " \
                + " + ".join(f"({w:.4g})({v:.4g})" for v, w in shown) \
                + (" + ..." if len(terms) > 8 else "") + f" + ({float(b[unit]):.4g}) = {z:.6g}"
            out = {"type": "neuron", "layer": layer, "unit": unit, "sample": sample,
                   "inputs": [v for v, _ in terms], "weights": [w for _, w in terms],
                   "bias": float(b[unit]), "z": z, "activation": dense.activation.name,
                   "a": a, "equation": equation,
                   "output": f"a = {dense.activation.name}(z) = {a:.6g}"}
            batch = self.last_batch if self.last_batch is not None else \
                np.arange(min(self.settings["batch_size"], len(self.X_train)))
            _, _, dZ, grads = self._backward(self.X_train[batch], self.y_train[batch])
            column = dZ[index][:, unit]
            dW, db = grads[index]
            out["backward"] = {"batch": len(batch), "dz": column[:16].tolist(),
                               "dW": dW[:, unit].tolist(), "db": float(db[unit]),
                               "formula": "dW[:, j] = X^T dZ[:, j];  db_j = sum over the "
                                          "batch of dZ[:, j]"}
            return out

    def weight(self, layer, row, column):
        """W[row, column] of Dense layer ``layer``: its value, its gradient from the last
        step, the optimiser's last update and its history."""
        with self.lock:
            index, dense = self._dense_at(layer)
            W = dense.params["W"]
            if not (isinstance(row, int) and isinstance(column, int)
                    and 0 <= row < W.shape[0] and 0 <= column < W.shape[1]):
                raise SettingsError(f"weight: row must be 0 to {W.shape[0] - 1} and column 0 "
                                    f"to {W.shape[1] - 1}, got ({row!r}, {column!r}).")
            flat = self._flat_index(dense, "W", row * W.shape[1] + column)
            value = float(W[row, column])
            return {"type": "weight", "layer": layer, "row": row, "column": column,
                    "value": value, "gradient": float(dense.grads["W"][row, column]),
                    "update": value - float(self.before[flat]),
                    "history": [float(s[flat]) for s in self.snapshots],
                    "history_every": self.every}

    def _flat_index(self, layer, name, offset):
        """Where a parameter entry lives in the model's flat buffer."""
        base = self.model.flat_params.__array_interface__["data"][0]
        view = layer.params[name]
        return (view.__array_interface__["data"][0] - base) // view.itemsize + offset

    def trace_text(self):
        with self.lock:
            return {"type": "trace", "text": str(trace(self.model, self.settings["batch_size"],
                                                       backward=True))}

    def warp(self, layer):
        """Dense layer ``layer``'s three steps on the data (and a grid), for the current
        weights: its input, x W, + b and the activation (2-D points; wider spaces through
        the first two principal directions of the layer's output)."""
        from ..viz.warp import warp_steps
        with self.lock:
            if self.X_train.shape[1] != 2:
                raise SettingsError("warp: the space warp needs 2-D data (circles, moons, "
                                    "spirals, xor, blobs, plane, waves).")
            self._dense_at(layer)
            X = self.X_train[:300]
            steps, _ = warp_steps(self.model, X)
            prefix = f"layer {self._dense()[layer][0] + 1}:"
            first = next(k for k, (name, _, _) in enumerate(steps) if name.startswith(prefix))
            chosen = [steps[first - 1]] + [s for s in steps[first:] if s[0].startswith(prefix)]
            final = chosen[-1][1]
            basis = np.eye(final.shape[1])[:, :2] if final.shape[1] <= 2 else \
                np.linalg.svd(final - final.mean(axis=0), full_matrices=False)[2][:2].T
            out = []
            for name, P, G in chosen:
                if P.shape[1] == 1:
                    P, G = np.c_[P, np.zeros(len(P))], np.concatenate(
                        [G, np.zeros((*G.shape[:-1], 1))], axis=-1)
                    shown, lines = P, G
                elif P.shape[1] == final.shape[1]:
                    shown, lines = P @ basis, G @ basis
                else:
                    shown, lines = P[:, :2], G[..., :2]
                out.append({"name": name, "points": np.round(shown, 4).tolist(),
                            "grid": np.round(lines, 4).tolist()})
            return {"type": "warp", "layer": layer, "steps": out,
                    "labels": np.asarray(self.y_train[:300]).ravel().tolist(),
                    "projected": bool(final.shape[1] > 2)}

    def heatmaps(self):
        """W of each Dense layer, and the current batch flowing through X @ W: the first
        16 rows of the batch, X, W and X @ W."""
        with self.lock:
            batch = self.last_batch if self.last_batch is not None else \
                np.arange(min(self.settings["batch_size"], len(self.X_train)))
            inputs, _, _, _ = self._backward(self.X_train[batch[:16]], self.y_train[batch[:16]])
            layers = []
            for i, layer in self._dense():
                X = inputs[i]
                layers.append({"X": X.tolist(), "W": layer.params["W"].tolist(),
                               "XW": (X @ layer.params["W"]).tolist(),
                               "shapes": [list(X.shape), list(layer.params["W"].shape),
                                          [X.shape[0], layer.params["W"].shape[1]]]})
            return {"type": "heatmaps", "layers": layers}

    # --- take it away ---------------------------------------------------------------------
    def model_bytes(self):
        """The model as a .glassnet file (loads with glassnet.load_model)."""
        with self.lock, tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "explored.glassnet")
            self.model.save(path)
            with open(path, "rb") as f:
                return f.read()

    def code(self):
        """Python that rebuilds and trains the same network: run, it reproduces the
        page's weights bit for bit (the same data, the same start, the same batches)."""
        with self.lock:
            return export_code(self.settings, self.steps,
                               self.uploaded[0] if self.uploaded else None)

    def picture(self, name):
        """A picture of the current network drawn by glassnet.viz, as PNG bytes."""
        from .. import viz
        with self.lock:
            two_d = self.X_train.shape[1] == 2 and self.classes
            if name == "boundary" and two_d:
                picture = viz.plot_decision_boundary(self.model, self.X_train,
                                                     self.y_train)
            elif name == "warp" and two_d and len(self._dense()) > 1:
                picture = viz.plot_warp(self.model, self.X_train, self.y_train)
            else:
                raise SettingsError(f"picture: {name!r} is not available for this network "
                                    f"(boundary and warp need 2-D data with classes; warp "
                                    f"needs a hidden layer).")
            return picture.png()


def lesson(name, values):
    """The lessons' numbers, computed by the engine: 'matrix' (a 2x2 W and b warping a
    grid and the moons: x W + b by a Dense layer), 'neuron' (f(w x + b) and its
    threshold), 'softmax' (softmax(z / T)), 'backprop' (the 2-2-1 network of
    viz.plot_backprop, its forward values, gradients and one SGD step)."""
    def get(key, low=-10.0, high=10.0):
        return _number(values, key, low, high, where=f"lesson {name}")
    if name == "matrix":
        W = np.array([[get("w11"), get("w12")], [get("w21"), get("w22")]])
        b = np.array([get("b1"), get("b2")])
        layer = Dense(2, activation=_choice(values, "activation", ("linear", "tanh", "relu"),
                                            "lesson matrix"))
        layer.build((None, 2), np.random.default_rng(0), np.float64)
        layer.set_weights([W, b])
        X, y = datasets.make_moons(200, noise=0.05, seed=0)
        X = datasets.standardize(X)
        t = np.linspace(-2.5, 2.5, 11)
        s = np.linspace(-2.5, 2.5, 41)
        grid = [np.c_[np.full_like(s, v), s] for v in t] + [np.c_[s, np.full_like(s, v)]
                                                           for v in t]
        def through(P):
            Y = layer.forward(P)
            return {"xW": (P @ W).tolist(), "xWb": layer.cache["Z"].tolist(),
                    "out": Y.tolist()}
        return {"type": "lesson", "name": name, "points": through(X), "labels": y.tolist(),
                "grid": [through(line) for line in grid], "det": float(np.linalg.det(W))}
    if name == "neuron":
        from ..activations import Activation
        w, b = get("w"), get("b")
        activation = Activation(_choice(values, "activation", ("sigmoid", "tanh", "relu"),
                                        "lesson neuron"))
        x = np.linspace(-6, 6, 121)
        y = activation.forward((w * x + b)[:, None])[:, 0]
        return {"type": "lesson", "name": name, "x": x.tolist(), "y": y.tolist(),
                "threshold": None if w == 0 else -b / w}
    if name == "softmax":
        z = np.array([get("z1"), get("z2"), get("z3")])
        temperature = get("temperature", 0.05, 20.0)
        return {"type": "lesson", "name": name,
                "p": softmax((z / temperature)[None])[0].tolist()}
    if name == "backprop":
        from ..viz.lessons import backprop_example
        v = backprop_example(get("learning_rate", 0.01, 5.0))
        return {"type": "lesson", "name": name, "x": v["x"].tolist(), "loss": v["loss"],
                "weights": [w.tolist() for w in v["weights"]],
                "z": [a.tolist() for a in v["z"]], "a": [a.tolist() for a in v["a"]],
                "dz": [a.tolist() for a in v["dz"]], "dW": [a.tolist() for a in v["dW"]],
                "after": [w.tolist() for w in v["after"]], "losses": v["losses"]}
    raise SettingsError(f"lesson: name must be matrix, neuron, softmax or backprop, got "
                        f"{name!r}.")


def export_code(settings, steps, upload_name=None):
    """The Python script that rebuilds the page's network and repeats its training."""
    s = settings
    data = s["data"]
    lines = ['"""The network built and trained in glassnet explore, as code.',
             "",
             f"Running it repeats the page's {steps} training steps and ends with the same "
             "weights, bit for bit.", '"""',
             "import numpy as np", "", "import glassnet as gn", ""]
    name, seed = data["name"], s["seed"]
    if name == "digits":
        lines += ["X, y = gn.datasets.load_digits()", "X = X / 16.0"]
    elif name != "upload":
        function, arguments = data_call(data, seed)
        if function == "regression_set":
            lines += ["from glassnet.explore import regression_set", ""]
        prefix = "" if function == "regression_set" else "gn.datasets."
        listed = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
        lines.append(f"X, y = {prefix}{function}({listed})")
    else:
        reader = "gn.datasets.load_csv" if upload_name.lower().endswith(".csv") else None
        lines += [f"# the file uploaded to the page: {upload_name}"]
        lines += ([f"X, y = {reader}({upload_name!r})"] if reader else
                  [f"table = gn.datasets.load_npy({upload_name!r})",
                   "X, y = table[:, :-1], table[:, -1]"])
    classification = s["problem"] == "classification"
    if not classification and name == "upload":
        lines.append("y = np.asarray(y, np.float64).reshape(len(y), -1)")
    lines.append(f"X_train, X_test, y_train, y_test = gn.datasets.train_test_split("
                 f"X, y, {data['test_ratio']!r}, seed={seed}, stratify={classification})")
    if name == "upload":
        lines += ["scale = gn.datasets.Standardizer().fit(X_train)",
                  "X_train, X_test = scale.transform(X_train), scale.transform(X_test)"]
    layers, features = [], "X_train.shape[1]"
    for k, layer in enumerate(s["layers"]):
        first = f", input_dim={features}" if k == 0 else ""
        layers.append(f"    gn.Dense({layer['units']}, activation={layer['activation']!r}"
                      f"{first}),")
        if layer["batchnorm"]:
            layers.append("    gn.BatchNorm(),")
        if layer["dropout"]:
            layers.append(f"    gn.Dropout({layer['dropout']!r}),")
    alone = "" if s["layers"] else f", input_dim={features}"     # no hidden layer
    if classification:
        out = "int(max(y_train.max(), y_test.max())) + 1"
        layers.append(f"    gn.Dense({out}, activation='softmax'{alone}),")
    else:
        layers.append(f"    gn.Dense(y_train.shape[1]{alone}),")
    optimizer = CODE_OPTIMIZERS[s["optimizer"]].format(lr=s["learning_rate"], l2=s["l2"])
    metrics = ', metrics=["accuracy"]' if classification else ""
    lines += ["model = gn.Sequential([", *layers, f"], seed={seed})",
              f"model.compile({optimizer}, {s['loss']!r}{metrics})", "",
              f"steps, batch_size = {steps}, {s['batch_size']}   # as trained on the page",
              "done = epoch = 0",
              "while done < steps:      # epoch e shuffles with default_rng([seed, e]) and",
              "    # trains on full batches only (a last partial batch is left out)",
              f"    order = np.random.default_rng([{seed}, epoch]).permutation(len(X_train))",
              "    for start in range(0, len(order) - batch_size + 1, batch_size):",
              "        if done == steps:",
              "            break",
              "        index = order[start:start + batch_size]",
              "        model.train_on_batch(X_train[index], y_train[index])",
              "        done += 1",
              "    epoch += 1",
              "",
              'print(model.evaluate(X_test, y_test, verbose=0, return_dict=True))',
              'model.save("explored.glassnet")', ""]
    return "\n".join(lines)
