"""What the page shows when asked, read from the engine through its public calls: a
neuron's equation with the numbers plugged in and its backward step
(``model.values_and_gradients``), a weight's value, gradient, update and history
(``model.param_slice``), the space warp, the heat maps of X @ W, the shape trace, the
pictures, and the lessons' numbers. Each takes the session's lock; none trains, none
draws a random number, so looking never changes what training does."""
import numpy as np

from .. import datasets
from ..layers.activations import Activation, softmax
from ..inspect import trace
from ..layers.dense import Dense
from .settings import SettingsError, choice, number


def _whole(value, low, high, what):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{what} must be {low} to {high}, got {value!r}.")
    return value


def dense_at(session, layer):
    dense = session.dense()
    _whole(layer, 0, len(dense) - 1, "layer")
    return dense[layer][1]


def _batch(session):
    """The last batch trained on (or the first rows before any step)."""
    return session.last_batch if session.last_batch is not None else \
        np.arange(min(session.settings["batch_size"], len(session.X_train)))


def neuron(session, layer, unit, sample=0):
    """Neuron ``unit`` of Dense layer ``layer``: its equation with the numbers of test
    sample ``sample`` plugged in, and its backward step for the last batch."""
    with session.lock:
        dense = dense_at(session, layer)
        W, b = dense.params["W"], dense.params["b"]
        _whole(unit, 0, W.shape[1] - 1, "unit")
        _whole(sample, 0, len(session.X_test) - 1, "sample (a test sample)")
        model = session.model
        names = list(model.node_values(session.X_test[:1]))    # input, then each layer
        before = names[names.index(dense.name) - 1]
        one = model.values_and_gradients(session.X_test[sample:sample + 1],
                                         session.y_test[sample:sample + 1])["values"]
        h = one[before][0]
        a = float(one[dense.name][0, unit])
        z = float(dense.cache["Z"][0, unit])        # the engine's own pre-activation
        terms = [(float(h[i]), float(W[i, unit])) for i in range(len(h))]
        shown, more = terms[:8], " + ..." if len(terms) > 8 else ""
        equation = ("z = " + " + ".join(f"w{i + 1} x{i + 1}" for i in range(len(shown))) +
                    more + " + b = " + " + ".join(f"({w:.4g})({v:.4g})" for v, w in shown) +
                    more + f" + ({float(b[unit]):.4g}) = {z:.6g}")
        out = {"type": "neuron", "layer": layer, "unit": unit, "sample": sample,
               "inputs": [v for v, _ in terms], "weights": [w for _, w in terms],
               "bias": float(b[unit]), "z": z, "activation": dense.activation.name, "a": a,
               "equation": equation, "output": f"a = {dense.activation.name}(z) = {a:.6g}"}
        batch = _batch(session)
        seen = model.values_and_gradients(session.X_train[batch], session.y_train[batch])
        dA = seen["output_gradients"][dense.name]
        last = dense is model.layers[-1]
        dZ = dA if last and model.fused_loss else dense.activation.derivative(
            dA, dense.cache["Z"], dense.cache["Y"])
        out["backward"] = {"batch": len(batch), "dz": dZ[:16, unit].tolist(),
                           "dW": seen["gradients"][dense.name]["W"][:, unit].tolist(),
                           "db": float(seen["gradients"][dense.name]["b"][unit]),
                           "formula": "dW[:, j] = X^T dZ[:, j];  db_j = sum over the "
                                      "batch of dZ[:, j]"}
        return out


def conv_cell(session, channel, row, column, sample=0):
    """One output cell of the convolution (digits): its 3x3 window on test digit
    ``sample``, the kernel of ``channel``, the nine multiply-adds, + b, and the engine's
    own pre-activation and output there (as CNN Explainer shows)."""
    with session.lock:
        if not session.settings["conv"]:
            raise SettingsError("conv: this network has no convolution.")
        conv = session.model.layers[0]
        W, b = conv.params["W"], conv.params["b"]               # (3, 3, 1, channels)
        _whole(channel, 0, W.shape[3] - 1, "channel")
        _whole(row, 0, 5, "row")
        _whole(column, 0, 5, "column")
        _whole(sample, 0, len(session.X_test) - 1, "sample (a test sample)")
        out = session.model.node_values(session.X_test[sample:sample + 1])[conv.name]
        z = float(conv.cache["Z"][0, row, column, channel])     # the engine's own
        window = session.X_test[sample, row:row + 3, column:column + 3, 0]
        kernel = W[:, :, 0, channel]
        terms = [f"({float(kernel[i, j]):.3g})({float(window[i, j]):.3g})"
                 for i in range(3) for j in range(3)]
        return {"type": "conv", "channel": channel, "row": row, "column": column,
                "sample": sample, "window": window.tolist(), "kernel": kernel.tolist(),
                "bias": float(b[channel]), "z": z, "a": float(out[0, row, column, channel]),
                "equation": "z = sum of w_ij x_ij + b = " + " + ".join(terms) +
                f" + ({float(b[channel]):.3g}) = {z:.6g}",
                "output": f"a = {conv.activation.name}(z) = "
                          f"{float(out[0, row, column, channel]):.6g}"}


def weight(session, layer, row, column):
    """W[row, column] of Dense layer ``layer``: its value, its gradient from the last
    step, the optimiser's last update and its history."""
    with session.lock:
        dense = dense_at(session, layer)
        W = dense.params["W"]
        if not (isinstance(row, int) and isinstance(column, int) and not
                isinstance(row, bool) and 0 <= row < W.shape[0] and 0 <= column < W.shape[1]):
            raise SettingsError(f"weight: row must be 0 to {W.shape[0] - 1} and column 0 "
                                f"to {W.shape[1] - 1}, got ({row!r}, {column!r}).")
        flat = session.model.param_slice(dense, "W").start + row * W.shape[1] + column
        value = float(W[row, column])
        return {"type": "weight", "layer": layer, "row": row, "column": column,
                "value": value, "gradient": float(dense.grads["W"][row, column]),
                "update": value - float(session.before[flat]),
                "history": [float(s[flat]) for s in session.snapshots],
                "history_every": session.every}


def trace_text(session):
    with session.lock:
        return {"type": "trace", "text": str(trace(session.model,
                                                   session.settings["batch_size"],
                                                   backward=True))}


def warp(session, layer):
    """Dense layer ``layer``'s three steps on the data (and a grid), for the current
    weights: its input, x W, + b and the activation (2-D points; wider spaces through
    the first two principal directions of the layer's output)."""
    from ..viz.warp import warp_steps
    with session.lock:
        if session.X_train.shape[1] != 2:
            raise SettingsError("warp: the space warp needs 2 inputs (x1, x2 of a plane "
                                "data set, or a table of two features).")
        dense_at(session, layer)
        X = session.X_train[:300]
        steps, _ = warp_steps(session.model, X)
        prefix = f"layer {session.dense()[layer][0] + 1}:"
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
                "labels": np.asarray(session.y_train[:300], np.float64).ravel().tolist(),
                "projected": bool(final.shape[1] > 2)}


def heatmaps(session):
    """W of each Dense layer, and the last batch flowing through X @ W: the first 16 rows
    of the batch (each layer's input, from the engine's forward pass), W and X @ W."""
    with session.lock:
        batch = _batch(session)[:16]
        values = session.model.node_values(session.X_train[batch])
        names = list(values)
        layers = []
        for _, layer in session.dense():
            X, W = values[names[names.index(layer.name) - 1]], layer.params["W"]
            layers.append({"X": X[:, :48].tolist(), "W": W[:48, :48].tolist(),
                           "XW": (X @ W)[:, :48].tolist(),           # at most 48 columns
                           "shapes": [list(X.shape), list(W.shape), [len(X), W.shape[1]]]})
        return {"type": "heatmaps", "layers": layers}


def picture(session, name):
    """A picture of the current network drawn by glassnet.viz, as PNG bytes."""
    from .. import viz
    with session.lock:
        two_d = session.X_train.shape[1] == 2 and session.classes
        if name == "boundary" and two_d:
            figure = viz.plot_decision_boundary(session.model, session.X_train,
                                                session.y_train)
        elif name == "warp" and two_d and len(session.dense()) > 1:
            figure = viz.plot_warp(session.model, session.X_train, session.y_train)
        else:
            raise SettingsError(f"picture: {name!r} is not available for this network "
                                f"(boundary and warp need 2 inputs with classes; warp "
                                f"needs a hidden layer).")
        return figure.png()


def lesson(name, values):
    """The lessons' numbers, computed by the engine: 'matrix' (a 2x2 W and b warping a
    grid and the moons: x W + b by a Dense layer, on fixed axes so areas compare),
    'neuron' (f(w x + b) and its threshold), 'softmax' (softmax(z / T)), 'backprop'
    (the 2-2-1 network of viz.plot_backprop, its forward values, gradients and one SGD
    step)."""
    def get(key, low=-10.0, high=10.0):
        return number(values, key, low, high, where=f"lesson {name}")
    if name == "matrix":
        W = np.array([[get("w11"), get("w12")], [get("w21"), get("w22")]])
        b = np.array([get("b1"), get("b2")])
        layer = Dense(2, activation=choice(values, "activation", ("linear", "tanh", "relu"),
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
                "grid": [through(line) for line in grid], "det": float(np.linalg.det(W)),
                "box": [-6, 6]}                     # fixed axes: W = 2I draws 4x the area
    if name == "neuron":
        w, b = get("w"), get("b")
        activation = Activation(choice(values, "activation", ("sigmoid", "tanh", "relu"),
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
