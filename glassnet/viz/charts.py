"""The other pictures of the voyage: decision boundaries through training, the bias as a
threshold, the colour-coded matrix product, an image becoming a vector, loops against
matrix products, the parameter explosion, training curves and gradient norms, the choices
that decide training, and universal approximation. Each takes explicit seeds."""
import math
import time

import numpy as np
from matplotlib.patches import Rectangle

from .. import datasets, optimizers
from ..activations import ActivationFunction
from ..callbacks import Callback
from ..layers import Dense, Dropout
from ..model import Sequential
from ..normalization import BatchNorm
from .picture import (CLASS_COLOURS, Picture, confidence_image, model_probabilities,
                      new_figure, rgb)


def _boundary(ax, model, X, y, resolution=80):
    low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    image = confidence_image(model_probabilities(model), (low[0], high[0]),
                             (low[1], high[1]), resolution)
    ax.imshow(image, origin="lower", alpha=0.55, extent=(low[0], high[0], low[1], high[1]),
              aspect="auto")
    ax.scatter(X[:, 0], X[:, 1], c=[CLASS_COLOURS[int(k) % 10] for k in y], s=5,
               edgecolors="white", linewidths=0.2)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_decision_boundary(model, X, y, title="Decision boundary"):
    """The input space coloured by the predicted class, lighter where less confident."""
    figure = new_figure(4, 4)
    ax = figure.add_subplot(1, 1, 1)
    _boundary(ax, model, X, y)
    ax.set_title(title, fontsize=9)
    return Picture(title, figure, 1, caption="Shading: the model's confidence.")


class _Snapshots(Callback):
    """The weights before training, after every ``every``-th epoch and after the last."""

    def __init__(self, every, epochs):
        self.every, self.epochs, self.weights = every, epochs, []

    def on_train_begin(self, logs):
        self.weights.append((0, self.model.get_weights()))

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            self.weights.append((epoch + 1, self.model.get_weights()))


def boundary_through_training(model, X, y, epochs=60, every=10, batch_size=32, seed=0):
    """Train ``model`` (compiled) and show its decision boundary before training, every
    ``every`` epochs and at the end: a figure of panels and an animation of frames."""
    snapshots = _Snapshots(every, epochs)
    model.fit(X, y, epochs=epochs, batch_size=batch_size, seed=seed, verbose=0,
              callbacks=[snapshots])
    final = model.get_weights()
    cols = min(len(snapshots.weights), 4)
    rows = -(-len(snapshots.weights) // cols)
    figure = new_figure(3 * cols, 3 * rows)
    frame_figure = new_figure(3.5, 3.5)
    frame_ax = frame_figure.add_subplot(1, 1, 1)
    frames = []
    for k, (epoch, weights) in enumerate(snapshots.weights):
        model.set_weights(weights)
        _boundary(figure.add_subplot(rows, cols, k + 1), model, X, y)
        title = f"after epoch {epoch}" if epoch else "before training"
        figure.axes[-1].set_title(title, fontsize=8)
        frame_ax.clear()
        _boundary(frame_ax, model, X, y)
        frame_ax.set_title(title, fontsize=8)
        frames.append(rgb(frame_figure))
    model.set_weights(final)
    return Picture("Decision boundary through training", figure, len(snapshots.weights),
                   frames, data={"epochs": [e for e, _ in snapshots.weights]})


def plot_bias_threshold():
    """f(w x + b) for b = 0, b > 0, b < 0 (sigmoid and ReLU), the shift -b/w marked, and
    the slope changing with w (seed 000, slide 10)."""
    x = np.linspace(-6, 6, 400)
    figure = new_figure(12, 3.2)
    for k, name in enumerate(("sigmoid", "relu")):
        ax = figure.add_subplot(1, 3, k + 1)
        f = ActivationFunction(name).apply
        for b, colour in ((0.0, "black"), (2.0, "#2ca02c"), (-2.0, "#d62728")):
            ax.plot(x, f(1.0 * x + b), color=colour,
                    label=f"b = {b:+.0f}: threshold at x = -b/w = {0.0 - b:+.0f}")
            ax.axvline(-b / 1.0, color=colour, linestyle=":", linewidth=1)
        ax.set_title(f"{name}(w x + b), w = 1: the threshold moves to x = -b/w", fontsize=8)
        ax.set_xlabel("x")
        ax.legend(fontsize=7)
    ax = figure.add_subplot(1, 3, 3)
    for w in (0.5, 1.0, 3.0):
        ax.plot(x, ActivationFunction("sigmoid").apply(w * x), label=f"w = {w}")
    ax.set_title("sigmoid(w x): w sets the slope", fontsize=8)
    ax.set_xlabel("x")
    ax.legend(fontsize=7)
    return Picture("The bias as a threshold", figure, 3,
                   caption="b > 0 shifts the curve left (fires more easily), b < 0 right.")


def _cell(ax, x, y, text, colour="#ffffff", edge="#555555"):
    ax.add_patch(Rectangle((x - 0.5, y - 0.4), 1.0, 0.8, facecolor=colour, edgecolor=edge,
                           zorder=2))                     # arrows pass behind the cells
    ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=3)


def _tint(colour, amount=0.25):
    rgb_ = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return tuple(rgb_ * amount + (1 - amount))


def plot_colour_matmul(x=(1.0, 2.0, 3.0), W=((0.1, 0.4), (0.2, 0.5), (0.3, 0.6))):
    """x (n) times W (n x m) -> y (m), drawn: input x_i's colour carried to row i of W,
    arrows of every colour summing into each output, each column of W boxed as one output
    neuron's filter, and y1's dot product written out with the real numbers (seed 000,
    slide 06; seed 001)."""
    x, W = np.asarray(x, float), np.asarray(W, float)
    if x.ndim != 1 or W.ndim != 2 or W.shape[0] != len(x) or len(x) > 10:
        raise ValueError(f"plot_colour_matmul: needs x of n values and W of shape (n, m) "
                         f"with n <= 10; got x {x.shape} and W {W.shape}. Give W one row per "
                         f"input, such as x=(1, 2, 3), W=((0.1, 0.4), (0.2, 0.5), (0.3, 0.6)).")
    y = x @ W
    n, m = W.shape
    figure = new_figure(2.2 + 1.3 * m + 2.5, 1.6 + 0.75 * n)
    ax = figure.add_subplot(1, 1, 1)
    left, right = 2.4, 2.4 + 1.2 * (m - 1)
    out_x = right + 2.6
    out_y = [(n - 1) / 2 + (m - 1) / 2 * 1.2 - 1.2 * j for j in range(m)]
    for i in range(n):
        row, colour = n - 1 - i, CLASS_COLOURS[i]
        _cell(ax, 0, row, f"{x[i]:g}", _tint(colour, 0.45))
        ax.annotate("", xy=(left - 0.55, row), xytext=(0.55, row),
                    arrowprops={"arrowstyle": "->", "color": colour})
        for j in range(m):
            _cell(ax, left + 1.2 * j, row, f"{W[i, j]:g}", _tint(colour))
            ax.annotate("", xy=(out_x - 0.55, out_y[j]), xytext=(left + 1.2 * j + 0.5, row),
                        arrowprops={"arrowstyle": "->", "color": colour, "alpha": 0.55,
                                    "shrinkA": 0, "shrinkB": 2}, zorder=1)
    for j in range(m):
        ax.add_patch(Rectangle((left + 1.2 * j - 0.56, -0.5), 1.12, n, fill=False,
                               linestyle="--", edgecolor="#333333"))
        ax.text(left + 1.2 * j, n - 0.35, f"column {j + 1}\nneuron {j + 1}'s\nfilter",
                ha="center", va="bottom", fontsize=7)
        _cell(ax, out_x, out_y[j], f"{y[j]:g}", "#eeeeee")
        ax.text(out_x + 0.6, out_y[j], f"y{j + 1}", va="center", fontsize=9)
    for i in range(n):
        ax.text(-0.65, n - 1 - i, f"x{i + 1}", ha="right", va="center", fontsize=9,
                color=CLASS_COLOURS[i])
    ax.text(0, n - 0.35, f"x ({n})", ha="center", va="bottom", fontsize=9)
    ax.text(out_x, n - 0.35, f"y ({m})", ha="center", va="bottom", fontsize=9)
    terms = " + ".join(f"({x[i]:g})({W[i, 0]:g})" for i in range(n))
    names = " + ".join(f"x{i + 1} w{i + 1}1" for i in range(n))
    ax.text(-0.9, -1.1, f"y1 = {names} = {terms} = {y[0]:g}", fontsize=9)
    ax.set_xlim(-1.4, out_x + 1.2)
    ax.set_ylim(-1.5, n + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"x ({n}) x W ({n} x {m}) -> y ({m}): each input's colour meets its row of "
                 f"W; each column of W is one output neuron", fontsize=9)
    return Picture("Colour-coded matrix product", figure, 1, data={"y": y.tolist()},
                   caption="Input x_i meets row i of W; arrows of every colour sum into each "
                           "output; each column of W (dashed) is one neuron's filter.")


def _mosaic(maps, cols=2, most=8):
    """Up to ``most`` feature maps (H, W, C) side by side, ``cols`` to a row, split by
    blank (NaN) lines."""
    H, W, C = maps.shape
    k = min(C, most)
    rows = -(-k // min(cols, k))
    cols = min(cols, k)
    out = np.full((rows * (H + 1) - 1, cols * (W + 1) - 1), np.nan)
    for c in range(k):
        r, q = divmod(c, cols)
        out[r * (H + 1):r * (H + 1) + H, q * (W + 1):q * (W + 1) + W] = maps[..., c]
    return out


def _signed(ax, values, title):
    """Signed values on a diverging map, scaled by the panel's largest |value|."""
    limit = np.nanmax(np.abs(values)) or 1.0
    image = ax.imshow(values / limit, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def plot_image_to_vector(model, image, label=None, pixels=None):
    """One image through a trained network: the pixels, the first layer's weights as
    images (filters), each hidden layer's activations (up to 8 feature maps for
    convolutions, a column of units for dense layers), and the output probabilities.
    Signed values use a diverging map centred at 0, each panel divided by its own largest
    absolute value (one colour bar serves all). ``pixels``: the image as a person sees it
    (before standardisation), drawn in the first panel instead of ``image``."""
    X = np.asarray(image, dtype=model.dtype)[None]
    values, H = [], X
    for layer in model.layers:
        H = layer.forward(H, training=False)
        values.append((repr(layer), H[0]))
    W = model.layers[0].params["W"]
    side = int(round(np.sqrt(W.shape[0])))
    if W.ndim == 2 and side * side == W.shape[0]:
        filters = W.T[:8].reshape(-1, side, side)       # a column of W is an image
    elif W.ndim == 4:
        filters = np.moveaxis(W[..., 0, :8], -1, 0)       # (kh, kw, in, out): input channel 0
    else:
        filters = []
    hidden = [(name, v) for name, v in values[:-1] if "Flatten" not in name][:4]
    figure = new_figure(14, 6)
    grid = figure.add_gridspec(3, 8)
    ax = figure.add_subplot(grid[0:2, 0:2])
    shown_as_given = pixels is not None
    pixels = np.asarray(image if pixels is None else pixels, dtype=float)
    square = math.isqrt(pixels.size)
    ax.imshow(pixels.reshape(pixels.shape[0], -1) if pixels.ndim == 3 else
              pixels.reshape(square, square) if pixels.ndim == 1 and square ** 2 == pixels.size
              else np.atleast_2d(pixels), cmap="gray_r")
    ax.set_title("pixels" + (f" (digit {label})" if label is not None else "")
                 + ("" if shown_as_given else "\nas the network receives them"), fontsize=8)
    ax.axis("off")
    panels = 1
    for k, f in enumerate(filters):
        _signed(figure.add_subplot(grid[2, k]), f, f"filter {k + 1}")
        panels += 1
    for k, (name, v) in enumerate(hidden):
        ax = figure.add_subplot(grid[0:2, 2 + k])
        if v.ndim == 3:
            shown, name = _mosaic(v), f"{name}\n{min(v.shape[-1], 8)} of {v.shape[-1]} maps"
        else:
            shown = v.reshape(-1, 1 if v.size < 8 else 8)
            name = f"{name}\n{v.size} units, 8 per row"
        colours = _signed(ax, shown, name)
        ax.set_aspect("equal" if v.ndim == 3 else "auto")
        panels += 1
    if hidden:
        figure.colorbar(colours, ax=ax, shrink=0.6, label="value / panel's largest |value|")
    ax = figure.add_subplot(grid[0:2, 6:8])
    probabilities = values[-1][1]
    ax.bar(range(len(probabilities)), probabilities, color="#1f77b4")
    ax.set_title("output probabilities", fontsize=8)
    ax.set_xticks(range(len(probabilities)))
    panels += 1
    return Picture("From image to abstract vector", figure, panels,
                   data={"probabilities": probabilities.tolist()},
                   caption="Diverging colours: blue negative, red positive, white 0; each "
                           "panel divided by its own largest absolute value.")


def time_loop_vs_matmul(batch_sizes=(1, 8, 32, 128), inputs=64, outputs=32, seed=0,
                        repeats=3):
    """The same dense layer three ways -- Python loops, one sample at a time with NumPy,
    one batched product -- checked equal and timed on this machine (seed 000)."""
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(inputs, outputs)), rng.normal(size=outputs)
    rows = []
    for batch in batch_sizes:
        X = rng.normal(size=(batch, inputs))
        Wl, bl, Xl = W.tolist(), b.tolist(), X.tolist()

        def loops():
            return [[sum(Xl[n][i] * Wl[i][j] for i in range(inputs)) + bl[j]
                     for j in range(outputs)] for n in range(batch)]

        def per_sample():
            return np.stack([X[n] @ W + b for n in range(batch)])

        def batched():
            return X @ W + b
        results = [np.asarray(f()) for f in (loops, per_sample, batched)]
        if not all(np.allclose(r, results[2]) for r in results):
            raise AssertionError("the three computations disagree")
        timing = []
        for f in (loops, per_sample, batched):
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                f()
                best = min(best, time.perf_counter() - start)
            timing.append(best)
        rows.append((batch, *timing))
    return rows


def plot_loop_vs_matmul(rows):
    figure = new_figure(5, 3.5)
    ax = figure.add_subplot(1, 1, 1)
    batches = [r[0] for r in rows]
    for k, (name, colour) in enumerate((("Python loops", "#d62728"),
                                        ("NumPy, one sample at a time", "#ff7f0e"),
                                        ("one batched X @ W", "#2ca02c"))):
        ax.plot(batches, [r[k + 1] * 1e3 for r in rows], "o-", color=colour, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("time (ms, best of 3)")
    ax.legend(fontsize=7)
    ax.set_title("Loop vs vectorised vs batched (same results)", fontsize=9)
    batch, loop, sample, batched = rows[-1]
    return Picture("Loop vs matrix product", figure, 1, data={"rows": rows},
                   caption=f"Measured on this machine: at batch {batch} one batched product "
                           f"is {loop / batched:,.0f}x faster than Python loops and "
                           f"{sample / batched:,.0f}x faster than NumPy one sample at a time.")


def plot_parameter_explosion(report):
    """Dense against convolution (seed 000, slide 13): the parameters of both layers for
    the report's image, and how each grows with the image's side (dense with the number of
    pixels, convolution not at all). ``report`` comes from ``compare_dense_conv``."""
    from ..inspect import compare_dense_conv
    data = report.data
    h, w, c = data["input_shape"]
    units, filters = data["dense"]["biases"], data["conv"]["biases"]
    kernel = int(round((data["conv"]["weights"] / (c * filters)) ** 0.5))
    figure = new_figure(10, 3.6)
    ax = figure.add_subplot(1, 2, 1)
    counts = [data["dense"]["weights"], data["conv"]["weights"]]
    ax.bar([f"Dense {units:,} units", f"Conv {kernel}x{kernel}, {filters} channels"], counts,
           color=["#d62728", "#2ca02c"])
    ax.set_yscale("log")
    for k, n in enumerate(counts):
        ax.text(k, n, f"{n:,} weights", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(f"weights (log scale; + {units:,} and {filters} biases)")
    ax.set_title(f"{h}x{w}x{c} input: dense needs {data['ratio']:,.0f}x more", fontsize=9)
    ax = figure.add_subplot(1, 2, 2)
    sides = sorted({8, 16, 32, 64, 128, 224, 512, h})
    grown = [compare_dense_conv((side, side, c), units, kernel, filters).data for side in sides]
    for key, colour, name in (("dense", "#d62728", f"Dense({units:,})"),
                              ("conv", "#2ca02c", f"Conv2D({filters}, {kernel}x{kernel})")):
        ax.plot(sides, [g[key]["weights"] for g in grown], "o-", color=colour, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"image side (side x side x {c})")
    ax.set_ylabel("weights")
    ax.legend(fontsize=7)
    ax.set_title("dense grows with the pixels; a convolution does not", fontsize=9)
    return Picture("Parameter explosion", figure, 2, data={"counts": counts, "sides": sides},
                   caption="A dense layer connects every pixel to every unit; a convolution "
                           "shares one small filter across all positions.")


class GradientNorms(Callback):
    """Records the norm of each weighted layer's gradient ||dW|| after every batch;
    ``names`` says which layer each column is ("layer 3: Dense(64, relu)")."""

    def __init__(self):
        self.norms, self.names = [], []

    def on_batch_end(self, batch, logs):
        layers = [(i, layer) for i, layer in enumerate(self.model.layers, 1)
                  if "W" in layer.grads]
        if not self.names:
            self.names = [f"layer {i}: {layer!r}" for i, layer in layers]
        self.norms.append([float(np.linalg.norm(layer.grads["W"])) for _, layer in layers])


def plot_training(history, gradient_norms=None):
    """Loss and accuracy (train and validation) by epoch, and each layer's gradient norm
    by batch, thin, with its moving average over 20 batches, thick (the backward pass made
    visible: vanishing or exploding gradients show up here)."""
    h = history.history
    panels = 2 + (gradient_norms is not None)
    figure = new_figure(4.2 * panels, 3.2)
    for k, metric in enumerate(("loss", "accuracy")):
        ax = figure.add_subplot(1, panels, k + 1)
        for key in (metric, f"val_{metric}"):
            if key in h:
                ax.plot(range(1, len(h[key]) + 1), h[key], "o-", markersize=3, label=key)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    if gradient_norms is not None:
        ax = figure.add_subplot(1, panels, 3)
        norms = np.asarray(gradient_norms.norms)
        window = min(20, len(norms))
        for k in range(norms.shape[1]):
            smooth = np.convolve(norms[:, k], np.ones(window) / window, mode="valid")
            line, = ax.plot(norms[:, k], linewidth=0.5, alpha=0.4)
            ax.plot(np.arange(window - 1, len(norms)), smooth, color=line.get_color(),
                    linewidth=1.6, label=gradient_norms.names[k])
        ax.set_yscale("log")
        ax.set_xlabel("batch")
        ax.set_title("||dW|| per layer", fontsize=9)
        ax.legend(fontsize=7)
    return Picture("Training curves", figure, panels,
                   caption="Left: loss and accuracy by epoch. Right: the norm of each "
                           "layer's weight gradient, batch by batch.")


def _mlp(widths, activation="relu", init="he_normal", dropout=0.0, batchnorm=False, seed=0,
         outputs=2):
    layers = []
    for k, w in enumerate(widths):
        layers.append(Dense(w, activation=activation, kernel_initializer=init,
                            input_dim=2 if k == 0 else None))
        if batchnorm:
            layers.append(BatchNorm())
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(outputs, activation="softmax"))
    return Sequential(layers, seed=seed)


def layer_statistics(init, depth=8, width=64, seed=0, scale=1.0, activation="tanh"):
    """Std of the activations and of the weight gradients, hidden layer by hidden layer, for
    one initialisation and activation, from one real forward and backward pass on a batch
    of spirals (``scale`` multiplies the initial weights: 0.1 too small, 3 too large)."""
    X, y = datasets.make_spirals(256, arms=3, seed=seed)
    model = _mlp([width] * depth, activation=activation, init=init, seed=seed, outputs=3)
    model.compile(optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    model.build()
    model.flat_params *= scale
    stds = [float(Y.std()) for Y in model.layer_outputs(X)[1:-1]]
    model.train_on_batch(X, y)                     # forward, backward (and one small step)
    grads = [float(np.abs(layer.grads["W"]).mean()) for layer in model.layers[:-1]]
    return stds, grads


def _log_by_layer(ax, title, ylabel, runs):
    for name, values in runs:
        ax.plot(range(1, len(values) + 1), values, "o-", label=name, markersize=3)
    ax.set_yscale("log")
    ax.set_xlabel("hidden layer")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def _training_curves(ax, title, runs, X, y, epochs, seed):
    """Train the same 2-32-32-3 network once per run; solid: training loss, dashed:
    validation loss (the last 20% of the data), on shared axes."""
    for k, (name, make_optimizer, extra) in enumerate(runs):
        model = _mlp([32, 32], seed=seed, outputs=3, **extra)
        model.compile(make_optimizer(), "sparse_categorical_crossentropy")
        history = model.fit(X, y, epochs=epochs, batch_size=32, seed=seed, verbose=0,
                            validation_split=0.2).history
        colour = CLASS_COLOURS[k]
        ax.plot(history["loss"], color=colour, label=name)
        ax.plot(history["val_loss"], color=colour, linestyle="--", linewidth=0.9)
    ax.set_title(title + " (dashed: validation)", fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)


def plot_choices(seed=0, epochs=40):
    """The same network under different choices (seed 004): He, Xavier, too small and too
    large initial weights, and sigmoid / tanh / ReLU, seen as the activations and the
    gradients of each layer (vanishing or exploding); learning rates, optimisers and
    regularisation seen as training and validation curves on shared axes."""
    X, y = datasets.make_spirals(300, arms=3, seed=seed)
    order = np.random.default_rng(seed).permutation(len(X))   # validation_split takes the
    X, y = X[order], y[order]                                  # last rows: mix the arms
    figure = new_figure(15, 7.2)
    inits = [("He", "he_normal", 1.0), ("Xavier", "glorot_normal", 1.0),
             ("too small (Xavier x0.1)", "glorot_normal", 0.1),
             ("too large (Xavier x3)", "glorot_normal", 3.0)]
    stats = {name: layer_statistics(init, seed=seed, scale=scale) for name, init, scale in inits}
    _log_by_layer(figure.add_subplot(2, 3, 1), "initialisation: activations (tanh, 8 layers)",
                  "std of the layer's output", [(n, a) for n, (a, _) in stats.items()])
    _log_by_layer(figure.add_subplot(2, 3, 2), "initialisation: gradients",
                  "mean |dL/dW|", [(n, g) for n, (_, g) in stats.items()])
    _log_by_layer(figure.add_subplot(2, 3, 3), "activation: gradients (Xavier)",
                  "mean |dL/dW|",
                  [(name, layer_statistics("glorot_normal", seed=seed, activation=name)[1])
                   for name in ("sigmoid", "tanh", "relu")])
    _training_curves(figure.add_subplot(2, 3, 4), "learning rate (Adam)",
                     [(f"lr = {lr}", (lambda lr=lr: optimizers.Adam(lr)), {})
                      for lr in (1e-4, 1e-3, 1e-2, 1e-1)], X, y, epochs, seed)
    _training_curves(figure.add_subplot(2, 3, 5), "optimiser",
                     [("SGD", lambda: optimizers.SGD(0.05), {}),
                      ("Momentum", lambda: optimizers.SGD(0.05, momentum=0.9), {}),
                      ("RMSprop", lambda: optimizers.RMSprop(0.005), {}),
                      ("Adam", lambda: optimizers.Adam(0.005), {})], X, y, epochs, seed)
    _training_curves(figure.add_subplot(2, 3, 6), "regularisation (Adam)",
                     [("none", lambda: optimizers.Adam(0.005), {}),
                      ("dropout 0.3", lambda: optimizers.Adam(0.005), {"dropout": 0.3}),
                      ("L2 1e-3", lambda: optimizers.Adam(0.005, weight_decay=1e-3), {}),
                      ("batch norm", lambda: optimizers.Adam(0.005), {"batchnorm": True})],
                     X, y, epochs, seed)
    return Picture("Choices that decide training", figure, 6,
                   data={"initialisation": stats},
                   caption="Top: one forward and backward pass through 8 tanh layers of 64 "
                           "units. Bottom: the same 2-32-32-3 network on three spirals.")


def plot_universal_approximation(seed=0, epochs=600):
    """A 1-D function fitted by one hidden layer of growing width, and by three hidden
    layers with exactly the same number of parameters (widths w, w, w against one layer of
    (2w^2 + 5w) / 3 units); the fits, and the error against the parameter count (seeds
    003, 004)."""
    x = np.linspace(-3, 3, 200)[:, None]
    target = np.sin(2 * x) + 0.3 * x
    figure = new_figure(14, 3.6)
    axes = [figure.add_subplot(1, 3, k) for k in (1, 2, 3)]
    results = {"one hidden layer": [], "three hidden layers": []}
    for w in (2, 3, 5, 8):
        one = (2 * w * w + 5 * w) // 3                 # 3u + 1 = 2w^2 + 5w + 1 parameters
        for family, widths, ax in (("one hidden layer", [one], axes[0]),
                                   ("three hidden layers", [w, w, w], axes[1])):
            layers = [Dense(u, activation="tanh", input_dim=1 if k == 0 else None)
                      for k, u in enumerate(widths)] + [Dense(1)]
            model = Sequential(layers, seed=seed)
            model.compile(optimizers.Adam(0.02), "mse")
            model.fit(x, target, epochs=epochs, batch_size=50, seed=seed, verbose=0)
            results[family].append((model.count_params(), model.evaluate(x, target, verbose=0)))
            ax.plot(x, model.predict(x, verbose=0), linewidth=1,
                    label=f"{'-'.join(map(str, widths))} ({model.count_params()} params)")
    for ax, family in zip(axes, results):
        ax.plot(x, target, "k", linewidth=2, alpha=0.35, label="target")
        ax.legend(fontsize=7)
        ax.set_title(f"{family} (tanh)", fontsize=9)
    for family, points in results.items():
        axes[2].plot(*zip(*points), "o-", label=family)
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    counts = [count for count, _ in results["one hidden layer"]]
    axes[2].set_xticks(counts, [str(c) for c in counts], minor=False)
    axes[2].set_xticks([], minor=True)
    axes[2].set_xlabel("parameters")
    axes[2].set_ylabel("mean squared error")
    axes[2].legend(fontsize=7)
    axes[2].set_title("error against parameter count (same counts)", fontsize=9)
    return Picture("Universal approximation and depth", figure, 3, data=results,
                   caption=f"Fitted with Adam for {epochs} epochs; each deep network has "
                           f"exactly as many parameters as the wide one beside it.")
