"""The explorer's settings: what the page may ask for, checked field by field, and the
data each setting makes. Which settings change live (the learning rate, L2, the batch
size, the optimiser, the loss, the noise and the test share) and which need a new network
(everything that changes its shape or its data set) is decided here, once, for the page,
the notebook widget and the exported code."""
import math
import os
import tempfile

import numpy as np

from .. import datasets

SETS_2D = ("circles", "moons", "spirals", "xor", "blobs")
REGRESSION_SETS = ("plane", "waves")
DATA_NAMES = (*SETS_2D, "digits", *REGRESSION_SETS, "upload")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
LOSSES = {"classification": ("sparse_categorical_crossentropy",),   # (focal wants one-hot)
          "regression": ("mse", "mae")}
# Inputs made from the two coordinates of a plane data set (TensorFlow Playground's).
FEATURES = {"x1": "X[:, 0]", "x2": "X[:, 1]", "x1^2": "X[:, 0] ** 2",
            "x2^2": "X[:, 1] ** 2", "x1x2": "X[:, 0] * X[:, 1]",
            "sin_x1": "np.sin(X[:, 0])", "sin_x2": "np.sin(X[:, 1])"}
LIMITS = {"layers": 12, "units": 128, "samples": 5000, "classes": 10, "batch_size": 1024,
          "channels": 8}
UPLOAD = {"bytes": 5 << 20, "rows": 20000, "columns": 65}   # stated on the page
# An uploaded number beyond these is refused: the network trains in float32, and a
# squared error of targets near 1e30 is no longer a number.
MOST = {"feature": 1e12, "target": 1e6}
GRID = 40                                                      # boundary and maps: 40 x 40
DEFAULTS = {"data": {"name": "circles", "samples": 500, "noise": 0.1, "classes": 3,
                     "test_ratio": 0.2},
            "problem": "classification", "features": ["x1", "x2"], "conv": 0,
            "layers": [{"units": 8, "activation": "tanh", "dropout": 0.0, "batchnorm": False},
                       {"units": 8, "activation": "tanh", "dropout": 0.0, "batchnorm": False}],
            "loss": "sparse_categorical_crossentropy", "optimizer": "adam",
            "learning_rate": 0.03, "batch_size": 10, "l2": 0.0, "seed": 0}
LIVE = ("learning_rate", "l2", "batch_size", "optimizer", "loss")   # kept weights
LIVE_DATA = ("noise", "test_ratio")                                  # new data, kept weights


class SettingsError(ValueError):
    """A setting the page sent is missing, of the wrong type or out of range."""


def number(settings, key, low, high, whole=False, where="settings"):
    value = settings.get(key)
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) \
            or not low <= value <= high:
        what = "a whole number" if whole else "a number"
        raise SettingsError(f"{where}: {key} must be {what} from {low} to {high}, got "
                            f"{value!r}.")
    return value


def choice(settings, key, choices, where="settings"):
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
    name = choice(data, "name", DATA_NAMES, "data")
    if name == "upload" and uploaded is None:
        raise SettingsError("data: no file has been uploaded yet; upload a CSV or .npy file "
                            "first, or pick a built-in data set.")
    clean = {"data": {"name": name,
                      "samples": number(data, "samples", 20, LIMITS["samples"], True, "data"),
                      "noise": number(data, "noise", 0, 2, where="data"),
                      "classes": number(data, "classes", 2, LIMITS["classes"], True, "data"),
                      "test_ratio": number(data, "test_ratio", 0.05, 0.9, where="data")}}
    problem = choice(settings, "problem", tuple(LOSSES))
    if name in REGRESSION_SETS and problem != "regression":
        raise SettingsError(f"problem: the {name} data set is a regression problem (its "
                            f"targets are numbers, not classes); choose regression.")
    if name in (*SETS_2D, "digits") and problem != "classification":
        raise SettingsError(f"problem: the {name} data set has class labels; choose "
                            f"classification, or the plane or waves set for regression.")
    features = settings.get("features", ["x1", "x2"])
    if not isinstance(features, list) or not features or \
            any(f not in FEATURES for f in features) or len(set(features)) != len(features):
        raise SettingsError(f"features: choose one or more of {', '.join(FEATURES)} (each "
                            f"once), got {features!r}.")
    conv = number({"conv": settings.get("conv", 0)}, "conv", 0, LIMITS["channels"], True)
    if conv and name != "digits":
        raise SettingsError(f"conv: a convolution reads images; choose the 8x8 digits for "
                            f"{conv} channels, or 0 channels for this data set.")
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
            "units": number(layer, "units", 1, LIMITS["units"], True, where),
            "activation": choice(layer, "activation", ACTIVATIONS, where),
            "dropout": number({"dropout": layer.get("dropout", 0.0)}, "dropout", 0, 0.9,
                              where=where),
            "batchnorm": layer.get("batchnorm", False)})
    clean.update(problem=problem,
                 features=[f for f in FEATURES if f in features],      # one order
                 conv=conv,
                 layers=clean_layers,
                 loss=choice(settings, "loss", LOSSES[problem]),
                 optimizer=choice(settings, "optimizer", OPTIMIZERS),
                 learning_rate=number(settings, "learning_rate", 1e-6, 10.0),
                 batch_size=number(settings, "batch_size", 1, LIMITS["batch_size"], True),
                 l2=number(settings, "l2", 0, 1.0),
                 seed=number(settings, "seed", 0, 2 ** 31 - 1, True))
    return clean


def plane_data(settings):
    """Whether the data are points in the plane (so features, maps and a boundary apply)."""
    return settings["data"]["name"] in (*SETS_2D, *REGRESSION_SETS)


def what_changed(old, new):
    """('same', []) when nothing changed; ('live', keys) when only settings that keep the
    weights changed; ('data', keys) when the data must be drawn again (noise, test share)
    but the weights are kept; ('new', keys) when the network must be built anew. The keys
    name what changed."""
    if old is None:
        return "new", ["everything"]
    keys = [k for k in new if k != "data" and new[k] != old[k]]
    keys += [f"data {k}" for k in new["data"] if new["data"][k] != old["data"][k]]
    live = set(LIVE) | {f"data {k}" for k in LIVE_DATA}
    if not set(keys) <= live:
        return "new", [k for k in keys if k not in live]
    if not keys:
        return "same", []
    if any(k.startswith("data ") for k in keys):
        return "data", keys
    return "live", keys


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


def expand(X, features):
    """The chosen inputs made from a plane's two coordinates (x1, x2, x1^2, sin x1, ...)."""
    table = {"x1": lambda: X[:, 0], "x2": lambda: X[:, 1], "x1^2": lambda: X[:, 0] ** 2,
             "x2^2": lambda: X[:, 1] ** 2, "x1x2": lambda: X[:, 0] * X[:, 1],
             "sin_x1": lambda: np.sin(X[:, 0]), "sin_x2": lambda: np.sin(X[:, 1])}
    return np.stack([table[f]() for f in features], axis=1)


def whole_labels(y):
    """Targets as int64 class labels when every one is a whole number (the rule
    glassnet.datasets.load_csv follows, applied to .npy files and arrays too)."""
    y = np.asarray(y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.floating) and len(y) and \
            np.all(y == np.round(y)) and np.all(np.abs(y) < 2 ** 31):
        return y.astype(np.int64)
    return y


def check_numbers(name, X, y):
    """Refuse data the network cannot train on in float32: non-finite or huge values,
    with the file's name, the column and what to do."""
    for what, values, most in (("feature", X, MOST["feature"]), ("target", y, MOST["target"])):
        values = np.asarray(values, np.float64)
        bad = ~np.isfinite(values) | (np.abs(values) > most)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            flat, wrong = values.reshape(len(values), -1)[row], bad.reshape(len(values), -1)[row]
            value = float(flat[wrong][0])
            raise ValueError(f"upload: {name!r} has a {what} of {value!r} in data row "
                             f"{row + 1}; the explorer takes {what}s within +-{most:g} (it "
                             f"trains in float32). Rescale that column, or remove the row.")


def read_upload(name, body):
    """An uploaded CSV or .npy file (bytes already capped in size) read by glassnet's own
    validated readers; the last column is the target. Returns (X, y) or raises
    ValueError with a message for the page that names the user's file (never the
    temporary path it was read from)."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".csv", ".npy"):
        raise ValueError(f"upload: {name!r} is neither .csv nor .npy; upload a CSV file (one "
                         f"row per sample, the last column the target) or a 2-D .npy array.")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "upload" + suffix)
        with open(path, "wb") as f:
            f.write(body)
        try:
            if suffix == ".csv":
                X, y = datasets.load_csv(path, max_bytes=UPLOAD["bytes"])
            else:
                table = datasets.load_npy(path, max_bytes=UPLOAD["bytes"])
                if table.ndim != 2 or table.shape[1] < 2:
                    raise ValueError(f"upload: {name!r} holds an array of shape "
                                     f"{table.shape}; it must be 2-D with features and a "
                                     f"last target column.")
                X, y = table[:, :-1], whole_labels(table[:, -1])
        except ValueError as error:                 # the user's name, not the temp path
            message = str(error).replace(repr(path), repr(name)).replace(path, name)
            raise ValueError(message) from None
    rows, columns = X.shape[0], X.shape[1] + 1
    if rows > UPLOAD["rows"] or columns > UPLOAD["columns"] or rows < 10:
        raise ValueError(f"upload: {name!r} has {rows} rows and {columns} columns; the "
                         f"explorer takes 10 to {UPLOAD['rows']:,} rows and at most "
                         f"{UPLOAD['columns']} columns.")
    check_numbers(name, X, y)
    return np.asarray(X, np.float64), y
