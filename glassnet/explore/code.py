"""The Python script the explorer hands back: it rebuilds the page's network and replays
its training -- every step, and every setting changed live at the step it changed -- so
it ends with the page's weights, bit for bit.

Every value that came from the user (a file's name, a setting) reaches the script only
as a Python literal written by ``repr``; settings are checked before (numbers and names
from fixed lists), so the script holds exactly the statements written here."""
from .settings import FEATURES, REGRESSION_SETS, data_call, plane_data

OPTIMIZER_CODE = {"sgd": "gn.optimizers.SGD({lr!r}, weight_decay={l2!r})",
                  "momentum": "gn.optimizers.SGD({lr!r}, momentum=0.9, weight_decay={l2!r})",
                  "rmsprop": "gn.optimizers.RMSprop({lr!r}, weight_decay={l2!r})",
                  "adam": "gn.optimizers.Adam({lr!r}, weight_decay={l2!r})"}
ARRAYS = "explored_data.npz"          # the widget's own arrays, saved by the user


def _optimizer(s):
    return OPTIMIZER_CODE[s["optimizer"]].format(lr=float(s["learning_rate"]),
                                                 l2=float(s["l2"]))


def _data_lines(s, upload):
    """The function that makes the data: (noise, test_ratio) -> the four arrays."""
    data, seed = s["data"], s["seed"]
    name, classification = data["name"], s["problem"] == "classification"
    body = []
    if name == "digits":
        body += ["    X, y = gn.datasets.load_digits()", "    X = X / 16.0"]
        if s["conv"]:
            body += ["    X = X.reshape(-1, 8, 8, 1)          # images, for the convolution"]
    elif name == "upload":
        kind, file = upload
        if kind == "arrays":
            body += ["    table = np.load(FILE)      # np.savez(FILE, X=X, y=y) of your arrays",
                     "    X, y = table['X'], table['y']",
                     "    if y.ndim == 1 and np.all(y == np.round(y)):",
                     "        y = y.astype(np.int64)     # whole numbers: class labels"]
        elif file.lower().endswith(".csv"):
            body += ["    X, y = gn.datasets.load_csv(FILE)"]
        else:
            body += ["    table = gn.datasets.load_npy(FILE)",
                     "    X, y = table[:, :-1], table[:, -1]",
                     "    if np.all(y == np.round(y)):",
                     "        y = y.astype(np.int64)     # whole numbers: class labels"]
        if not classification:
            body.append("    y = np.asarray(y, np.float64).reshape(len(y), -1)")
    else:
        function, arguments = data_call({**data, "noise": 0}, seed)
        listed = ", ".join(f"{k}=noise" if k == "noise" else f"{k}={v!r}"
                           for k, v in arguments.items())
        if function == "make_blobs":                    # blobs: the noise widens them
            listed = listed.replace("std=0.5", "std=0.5 + noise")
        prefix = "" if function == "regression_set" else "gn.datasets."
        body.append(f"    X, y = {prefix}{function}({listed})")
    body.append(f"    X_train, X_test, y_train, y_test = gn.datasets.train_test_split("
                f"X, y, test_ratio, seed={seed!r}, stratify={classification!r})")
    if name == "upload":
        body += ["    scale = gn.datasets.Standardizer().fit(X_train)",
                 "    X_train, X_test = scale.transform(X_train), scale.transform(X_test)"]
    elif plane_data(s):
        body += ["    X_train, X_test = inputs(X_train), inputs(X_test)"]
    lines = []
    if plane_data(s) and name != "upload":
        listed = ", ".join(s["features"])
        stacked = ", ".join(FEATURES[f] for f in s["features"])
        lines += ["def inputs(X):", f'    """The network\'s inputs from the plane: {listed}."""',
                  f"    return np.stack([{stacked}], axis=1)", "", ""]
    return lines + ["def data(noise, test_ratio):",
                    '    """The data as the page made it, for a noise and a test share."""',
                    *body, "    return X_train, X_test, y_train, y_test", "", ""]


def _model_lines(s):
    layers, classification = [], s["problem"] == "classification"
    if s["conv"]:
        layers += [f"    gn.Conv2D({s['conv']!r}, 3, activation='relu', input_shape=(8, 8, 1)),",
                   "    gn.Flatten(),"]
    for k, layer in enumerate(s["layers"]):
        first = ", input_dim=X_train.shape[1]" if k == 0 and not s["conv"] else ""
        layers.append(f"    gn.Dense({layer['units']!r}, activation={layer['activation']!r}"
                      f"{first}),")
        if layer["batchnorm"]:
            layers.append("    gn.BatchNorm(),")
        if layer["dropout"]:
            layers.append(f"    gn.Dropout({float(layer['dropout'])!r}),")
    alone = "" if s["layers"] or s["conv"] else ", input_dim=X_train.shape[1]"   # alone
    if classification:
        layers.append(f"    gn.Dense(int(max(y_train.max(), y_test.max())) + 1, "
                      f"activation='softmax'{alone}),")
    else:
        layers.append(f"    gn.Dense(y_train.shape[1]{alone}),")
    metrics = ", metrics=['accuracy']" if classification else ""
    return ["model = gn.Sequential([", *layers, f"], seed={s['seed']!r})",
            f"model.compile({_optimizer(s)}, {s['loss']!r}{metrics})", "model.build()"]


TRAIN = '''

# The page's training loop: epoch e shuffles the training rows with
# default_rng([seed, e]) and trains on full batches only.
epoch, position, order = 0, 0, None


def new_epoch():
    """The next epoch starts at the next step."""
    global epoch, position, order
    if order is not None:
        epoch, position, order = epoch + 1, 0, None


def train(steps, batch_size):
    global position, order
    for _ in range(steps):
        if order is not None and position + batch_size > len(X_train):
            new_epoch()                       # the batch size grew past the epoch's end
        if order is None:
            order = np.random.default_rng([SEED, epoch]).permutation(len(X_train))
        index = order[position:position + batch_size]
        model.train_on_batch(X_train[index], y_train[index])
        position += batch_size
        if position + batch_size > len(X_train):
            new_epoch()

'''


def _change_lines(old, new):
    """The statements that apply a live change, as the session applies it."""
    lines = []
    if (old["data"]["noise"], old["data"]["test_ratio"]) != (new["data"]["noise"],
                                                             new["data"]["test_ratio"]):
        noise, share = float(new["data"]["noise"]), float(new["data"]["test_ratio"])
        lines += [f"X_train, X_test, y_train, y_test = data({noise!r}, {share!r})",
                  "new_epoch()"]
    metrics = ", metrics=['accuracy']" if new["problem"] == "classification" else ""
    if new["optimizer"] != old["optimizer"]:
        lines.append(f"model.compile({_optimizer(new)}, {new['loss']!r}{metrics})")
    else:
        if new["learning_rate"] != old["learning_rate"]:
            lines.append(f"model.optimizer.learning_rate = {float(new['learning_rate'])!r}")
        if new["l2"] != old["l2"]:
            lines.append(f"model.optimizer.weight_decay = {float(new['l2'])!r}")
        if new["loss"] != old["loss"]:
            lines.append(f"model.compile(model.optimizer, {new['loss']!r}{metrics})")
    return lines


START = "explored_start.glassnet"     # an adopted model's start, saved by the widget


def export_code(log, steps, upload=None, start=False):
    """The script for a session's change log [(step, settings, edit), ...] (the first entry
    the settings the network was built with, at step 0; ``edit`` a weight set by hand,
    (layer index, row, column, value), or None) after ``steps`` steps. ``start``: the
    network began from a model of your own (its starting weights read from START). ``upload``:
    ('file', name) for an uploaded file, ('arrays', name) for a widget's arrays."""
    first = log[0][1]
    name = first["data"]["name"]
    lines = ['"""The network built and trained in glassnet explore, as code.', "",
             f"Running it repeats the page's {int(steps)} training steps, and every setting",
             'changed on the way, and ends with the same weights, bit for bit."""',
             "import numpy as np", "", "import glassnet as gn"]
    if name in REGRESSION_SETS:
        lines += ["from glassnet.explore.settings import regression_set"]
    lines += ["", f"SEED = {first['seed']!r}"]
    if name == "upload":
        kind, file = upload
        where = "your arrays, saved" if kind == "arrays" else "the file uploaded to the page"
        lines += [f"FILE = {(ARRAYS if kind == 'arrays' else file)!r}   # {where}"]
    lines += ["", ""] + _data_lines(first, upload)
    noise, share = float(first["data"]["noise"]), float(first["data"]["test_ratio"])
    lines += [f"X_train, X_test, y_train, y_test = data({noise!r}, {share!r})",
              *_model_lines(first)]
    if start:
        lines += [f"# your model's starting weights: widget.save_start({START!r})",
                  f"model.set_weights(gn.load_model({START!r}).get_weights())"]
    lines += TRAIN.split("\n")
    at, previous = 0, first
    for step, settings, edit in log[1:] + [(steps, None, None)]:
        if step > at:
            lines.append(f"train({step - at!r}, batch_size={previous['batch_size']!r})")
            at = step
        if edit is not None:
            index, row, column, value = edit
            where = f"[{int(row)!r}, {int(column)!r}]"
            lines += [f"# a weight set by hand on the page at step {int(step)}:",
                      f"model.layers[{int(index)!r}].params['W']{where} = {float(value)!r}"]
        elif settings is not None:
            lines += [f"# changed on the page at step {int(step)}:",
                      *_change_lines(previous, settings)]
            previous = settings
    lines += ["", "print(model.evaluate(X_test, y_test, verbose=0, return_dict=True))",
              'model.save("explored.glassnet")', ""]
    return "\n".join(lines)
