"""``glassnet tour``: a newcomer's walk through the seeds, in their order.

It builds the seed models and prints their summaries and traces, times loops against
matrix products, trains a small network on a 2-D set and an MLP on the digits (with
progress bars), draws every picture of glassnet.viz, and writes one self-contained HTML
report (pictures embedded, equations rendered) whose sections follow the slides."""
import base64
import html
import io
import os
import sys
import time

import numpy as np

from .. import datasets, optimizers
from ..activations import softmax
from ..callbacks import ProgressBar
from ..conv import Conv2D, MaxPool2D
from ..inspect import compare_dense_conv, explain, summary, trace
from ..layers import Dense, Dropout, Flatten
from ..model import Sequential
from .. import viz
from ..viz.picture import new_figure

EQUATIONS = {
    "affine": r"$z = Wx + b,\quad W \in \mathbb{R}^{O \times I},\ x \in \mathbb{R}^{I}$",
    "batch": r"$Y = f(XW + b):\ (B, I) \times (I, O) = (B, O)$",
    "chain": r"$h_1 = f(W_1 x + b_1),\ h_2 = f(W_2 h_1 + b_2),\ y = g(W_3 h_2 + b_3)$",
    "softmax": r"$y_j = e^{z_j - \max z} / \sum_k e^{z_k - \max z}$",
    "backprop": r"$dW = X^T dZ,\quad db = \sum_{batch} dZ,\quad dX = dZ\, W^T$",
    "bias": r"$y = f(w x + b)$: threshold at $x = -b / w$",
}


def render_equation(tex):
    """An equation drawn by matplotlib's mathtext, as a PNG data URI (works offline)."""
    figure = new_figure(7, 0.5)
    figure.text(0.01, 0.5, tex, fontsize=15, va="center")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class _Report:
    def __init__(self):
        self.sections = []

    def section(self, title, text):
        self.sections.append({"title": title, "parts": [("p", text)]})

    def add(self, kind, value):
        self.sections[-1]["parts"].append((kind, value))

    def html(self):
        out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
               "<title>glassnet tour</title><style>",
               "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
               "padding:0 1em;color:#222} img{max-width:100%} pre{background:#f6f6f6;"
               "padding:.6em;overflow-x:auto;font-size:12px} h2{border-bottom:1px solid #ccc}"
               " figure{margin:1em 0} figcaption{color:#555;font-size:13px}",
               "</style></head><body>",
               "<h1>glassnet: the voyage of information through a network</h1>",
               "<nav><ul>" + "".join(f'<li><a href="#s{k}">{html.escape(s["title"])}</a></li>'
                                     for k, s in enumerate(self.sections)) + "</ul></nav>"]
        for k, section in enumerate(self.sections):
            out.append(f'<section id="s{k}"><h2>{html.escape(section["title"])}</h2>')
            for kind, value in section["parts"]:
                if kind == "p":
                    out.append(f"<p>{html.escape(value)}</p>")
                elif kind == "pre":
                    out.append(f"<pre>{html.escape(value)}</pre>")
                elif kind == "html":
                    out.append(value)
                elif kind == "equation":
                    out.append(f'<p><img class="equation" alt="{html.escape(value)}" '
                               f'src="{render_equation(value)}"></p>')
                elif kind == "picture":
                    picture, animated = value
                    out.append(f'<figure><img alt="{html.escape(picture.title)}" '
                               f'src="{picture.data_uri(animated)}"><figcaption>'
                               f'{html.escape(picture.title)}'
                               f'{" (animated)" if animated else ""}. '
                               f'{html.escape(picture.caption)}'
                               f'</figcaption></figure>')
            out.append("</section>")
        out.append("</body></html>")
        return "\n".join(out)


def linear_collapse(seed=0):
    """Two Dense layers with no activation between them are one Dense layer:
    (x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2). Returns (text, largest difference)."""
    two = Sequential([Dense(5, input_dim=3), Dense(2)], seed=seed, dtype="float64").build()
    (W1, b1), (W2, b2) = [(layer.params["W"], layer.params["b"]) for layer in two.layers]
    one = Sequential([Dense(2, input_dim=3)], dtype="float64").build()
    one.set_weights([W1 @ W2, b1 @ W2 + b2])
    X = np.random.default_rng(seed).normal(size=(100, 3))
    gap = float(np.abs(two.predict(X, verbose=0) - one.predict(X, verbose=0)).max())
    text = (f"Without an activation, depth adds nothing: Dense(5) then Dense(2), both linear, "
            f"equal one Dense(2) with W = W1 W2 (3 x 2) and b = b1 W2 + b2 -- on 100 random "
            f"inputs the outputs differ by at most {gap:.1e}.")
    return text, gap


def l2_backprop_example(W=((0.1, 0.5), (-0.3, 0.8)), x=(0.2, 0.4)):
    """Seed 002's worked example, f(x; W) = ||W x||^2, backpropagated by a glassnet Dense
    layer (no bias, no activation): q = W x, df/dq = 2q, dW = 2q x^T, dx = W^T 2q. The
    default numbers are those of the CS231n slide the seed follows. Glassnet stores W as
    (in, out), the transpose of the seed's W, so its dW is (2q x^T)^T. Returns (text, values)
    with a finite-difference check of dW."""
    W, x = np.asarray(W, np.float64), np.asarray(x, np.float64)
    layer = Dense(W.shape[0], use_bias=False)
    layer.build((None, W.shape[1]), np.random.default_rng(0), np.float64)
    layer.set_weights([W.T])
    q = layer.forward(x[None])[0]                                 # q = W x (as x W^T)
    f = float(q @ q)
    dx = layer.backward((2 * q)[None])[0]                         # dx = W^T 2q
    dW = layer.grads["W"].T                                       # back to the seed's layout
    eps, numeric = 1e-6, np.empty_like(W)
    for i, j in np.ndindex(*W.shape):
        up, down = W.copy(), W.copy()
        up[i, j] += eps
        down[i, j] -= eps
        numeric[i, j] = (np.sum((up @ x) ** 2) - np.sum((down @ x) ** 2)) / (2 * eps)

    def fmt(a):
        return str(np.round(a, 6).tolist())
    text = (f"Seed 002: f(x; W) = ||W x||^2 with W = {fmt(W)}, x = {fmt(x)}\n"
            f"forward:  q = W x = {fmt(q)};  f = q1^2 + q2^2 = {f:.6g}\n"
            f"backward: df/dq = 2q = {fmt(2 * q)}\n"
            f"          dW = 2q x^T = {fmt(dW)}   (finite differences: {fmt(numeric)})\n"
            f"          dx = W^T 2q = {fmt(dx)}\n"
            f"computed by a Dense layer's backward: dW = X.T @ dZ, dX = dZ @ W.T")
    return text, {"q": q, "f": f, "dW": dW, "dx": dx, "numeric_dW": numeric}


def _train(model, X, y, epochs, file, every=1, **fit):
    """fit with a progress bar printing every ``every``-th epoch (the tour's long runs of
    tiny epochs would otherwise print hundreds of lines)."""
    bar = ProgressBar(file=file, every=every)
    return model.fit(X, y, epochs=epochs, batch_size=32, verbose=0,
                     callbacks=[bar] + fit.pop("callbacks", []), **fit)


def run_tour(out_dir="glassnet-tour", quick=False, seed=0, file=None):
    """Run the whole tour; returns the path of the HTML report. ``quick`` trains for
    fewer epochs (a smoke test); every random choice follows ``seed``."""
    file = file or sys.stdout
    say = lambda text="": print(text, file=file, flush=True)  # noqa: E731
    start = time.perf_counter()
    os.makedirs(out_dir, exist_ok=True)
    report = _Report()
    pictures = {}

    def keep(name, picture, gif=False):
        pictures[name] = picture
        path = os.path.join(out_dir, f"{name}.{'gif' if gif else 'png'}")
        picture.save(path)
        report.add("picture", (picture, gif))
        say(f"  picture: {path}")

    def chapter(title, text):
        report.section(title, text)
        say(f"\n{title}\n{'-' * len(title)}")

    say("glassnet tour: the voyage of information through a network")
    chapter("1. Why matrices", "Billions of parameters cannot be computed in Python loops. "
            "The same dense layer computed three ways on this machine: Python loops, NumPy "
            "one sample at a time, and one batched matrix product (checked equal).")
    rows = viz.time_loop_vs_matmul(batch_sizes=(1, 8, 32) if quick else (1, 8, 32, 128),
                                   seed=seed)
    say("Loops against one matrix product (64 inputs -> 32 outputs), best of 3:")
    for batch, loop, sample, batched in rows:
        say(f"   batch {batch:>4}: loops {loop * 1e3:8.3f} ms   per sample {sample * 1e3:7.3f} "
            f"ms   batched {batched * 1e3:7.3f} ms   ({loop / batched:,.0f}x)")
    keep("loop_vs_matmul", viz.plot_loop_vs_matmul(rows))

    chapter("2. From neuron to layer", "A neuron is a weighted sum of its inputs plus a bias, "
            "then an activation. Neurons side by side form a layer: their weight vectors are "
            "the columns of W. Seed 001: Dense(2, input_dim=3) holds 3 x 2 weights + 2 "
            "biases = 8 parameters.")
    seed_layer = Sequential([Dense(2, activation="softmax", input_dim=3)], seed=seed,
                            dtype="float64").build()
    seed_layer.set_weights([np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]),
                            np.array([0.5, -0.5])])
    layer_summary = str(summary(seed_layer, 4))
    say("A batch of 4 samples is a (4, 3) matrix; the layer still has 8 parameters:")
    say(layer_summary)
    report.add("pre", layer_summary)
    keep("colour_matmul", viz.plot_colour_matmul())

    chapter("3. z = Wx + b", "The layer written out with real numbers, then softmax turning "
            "scores into probabilities (computed stably, subtracting the row's maximum).")
    report.add("equation", EQUATIONS["affine"])
    text = str(explain(seed_layer, [1.0, 2.0, 3.0]))
    say(text)
    report.add("pre", text)
    report.add("equation", EQUATIONS["softmax"])
    table = np.array([[1, 2, 0], [-1, 0, 1], [-10, 0, 10]], dtype=np.float64)
    rows_text = "\n".join("   [" + ", ".join(f"{v:.8e}" for v in row) + "]"
                          for row in softmax(table))
    softmax_text = ("softmax([[1, 2, 0], [-1, 0, 1], [-10, 0, 10]]) (seed 003) =\n"
                    + rows_text)
    say(softmax_text)
    report.add("pre", softmax_text)
    collapse, _ = linear_collapse(seed)
    say(collapse)
    report.add("p", collapse)

    chapter("4. Shapes, layer by layer", "X(m x n) x W(n x j) + B(m x j) = Y(m x j): the "
            "inner dimension vanishes, the batch stays, the bias is broadcast; activations "
            "do not change shapes.")
    report.add("equation", EQUATIONS["batch"])
    mlp = Sequential([Dense(8, activation="relu", input_dim=4), Dense(8, activation="relu"),
                      Dense(3, activation="softmax")], seed=seed)
    mnist = Sequential([Dense(256, activation="relu", input_dim=784),
                        Dense(10, activation="softmax")], seed=seed)
    for title, model, batch in (("The 4-8-8-3 model of seed 001 (139 parameters)", mlp, 1),
                                ("The MNIST layer of seed 000", mnist, 64)):
        s, t = summary(model, batch), trace(model, batch)
        say(f"{title}:\n{s}\n\n{t}\n")
        report.add("html", f"<h3>{html.escape(title)}</h3>" + s.to_html() + t.to_html())

    chapter("5. Geometry: rotate, scale, shift, fold", "2-D data and a grid pushed through "
            "trained networks: W x rotates and scales the plane, + b shifts it, the "
            "activation folds it, until the classes are linearly separable. Two circles "
            "cannot be pulled apart in the plane, but a hidden layer of 3 units lifts the "
            "inner one out (a 3-D view).")
    def warp(name, what, data, layers, lr, epochs):
        X, y = data
        X = datasets.standardize(X)
        model = Sequential(layers, seed=seed)
        model.compile(optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
        say(f"Training a {what}:")
        _train(model, X, y, epochs, file, every=epochs // 5, seed=seed)
        say(f"   accuracy: {model.evaluate(X, y, verbose=0, return_dict=True)['accuracy']:.3f}")
        keep(name, viz.plot_warp(model, X, y))
        keep(f"{name}_animation", viz.animate_warp(model, X, y,
                                                   frames_per_step=3 if quick else 6), gif=True)
        return X, y
    X, y = warp("warp", "2-2-2-2-2 tanh network on the moons",
                datasets.make_moons(300, noise=0.08, seed=seed),
                [Dense(2, activation="tanh", input_dim=2), Dense(2, activation="tanh"),
                 Dense(2, activation="tanh"), Dense(2, activation="softmax")],
                0.02, 60 if quick else 300)
    warp("warp_3d", "2-3-2 tanh network on two circles", datasets.make_circles(300, seed=seed),
         [Dense(3, activation="tanh", input_dim=2), Dense(2, activation="softmax")],
         0.03, 40 if quick else 150)
    boundary_model = Sequential([Dense(16, activation="relu", input_dim=2),
                                 Dense(16, activation="relu"),
                                 Dense(2, activation="softmax")], seed=seed)
    boundary_model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    keep("boundary_training", viz.boundary_through_training(
        boundary_model, X, y, epochs=20 if quick else 60, every=5 if quick else 10,
        seed=seed))
    keep("boundary_training_animation", pictures["boundary_training"], gif=True)

    chapter("6. The bias as a threshold", "y = f(w x + b): w sets the slope, b shifts the "
            "curve; b > 0 fires more easily (shifts left), b < 0 less easily (right).")
    report.add("equation", EQUATIONS["bias"])
    keep("bias_threshold", viz.plot_bias_threshold())

    chapter("7. The multi-layer chain", "Each layer's output is the next one's input. With "
            "non-linear activations between them, the chain can approximate any continuous "
            "function (universal approximation); depth needs far fewer parameters than "
            "width.")
    report.add("equation", EQUATIONS["chain"])
    chain = Sequential([Dense(5, activation="relu", input_dim=4), Dense(6, activation="relu"),
                        Dense(4, activation="relu"), Dense(3, activation="softmax")], seed=seed)
    chain_summary = summary(chain, 1)
    say(f"Seed 002's network of widths 4, 5, 6, 4, 3:\n{chain_summary}\n")
    report.add("html", "<h3>Seed 002's network of widths 4, 5, 6, 4, 3</h3>"
               + chain_summary.to_html())
    keep("universal_approximation", viz.plot_universal_approximation(
        seed=seed, epochs=60 if quick else 600))

    chapter("8. Batching", "A whole batch goes through as one matrix per layer: the digits "
            "network below trains on batches of 32 images, each layer one (32, I) @ (I, O) "
            "product.")
    say("Training an MLP on the 8x8 digits (1,797 images, 20% held out):")
    Xd, yd = datasets.load_digits()
    X_train, raw_test, y_train, y_test = datasets.train_test_split(Xd, yd, 0.2, seed=seed)
    X_train, X_test = datasets.standardize(X_train, raw_test)
    digits = Sequential([Dense(128, activation="relu", input_dim=64), Dropout(0.2),
                         Dense(64, activation="relu"), Dense(10, activation="softmax")],
                        seed=seed)
    digits.compile(optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    batch_trace = trace(digits, 32)
    report.add("html", batch_trace.to_html())
    norms = viz.GradientNorms()
    epochs = 8 if quick else 40
    history = _train(digits, X_train, y_train, epochs, file, every=1 if quick else 4,
                     validation_split=0.1, seed=seed, callbacks=[norms])
    accuracy = digits.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"]
    say(f"   held-out accuracy: {100 * accuracy:.2f}%")
    report.add("p", f"Held-out accuracy on the digits: {100 * accuracy:.2f}%.")
    keep("training", viz.plot_training(history, norms))

    chapter("9. Parameter explosion", "A dense layer from a 224x224x3 image to 4,096 units "
            "needs 616,562,688 weights; a 3x3x3 convolution with 64 output channels needs "
            "1,728.")
    explosion = compare_dense_conv()
    say(str(explosion))
    report.add("pre", str(explosion))
    keep("parameter_explosion", viz.plot_parameter_explosion(explosion))

    chapter("10. From image to abstract vector", "One digit through the trained networks: "
            "pixels, the first layer's weights as images (filters), each hidden layer's "
            "activations (feature maps for a convolution), and the output probabilities. "
            "After the first hidden layer each layer is narrower (128, 64, 10): the image is "
            "distilled into fewer, denser numbers until ten of them mean 'which digit'.")
    keep("image_to_vector", viz.plot_image_to_vector(digits, X_test[0], y_test[0],
                                                      pixels=raw_test[0]))
    report.add("pre", str(explain(digits, X_test[0])))
    images = lambda A: A.reshape(-1, 8, 8, 1)  # noqa: E731
    cnn = Sequential([Conv2D(8, 3, activation="relu", padding="same"), MaxPool2D(2),
                      Flatten(), Dense(32, activation="relu"),
                      Dense(10, activation="softmax")], input_shape=(8, 8, 1), seed=seed)
    cnn.compile(optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = 2 if quick else 10
    say("Training a small CNN on the same digits:")
    _train(cnn, images(X_train), y_train, epochs, file, every=1 if quick else 2, seed=seed)
    cnn_accuracy = cnn.evaluate(images(X_test), y_test, verbose=0,
                                return_dict=True)["accuracy"]
    say(f"   held-out accuracy: {100 * cnn_accuracy:.2f}%")
    keep("image_to_vector_cnn", viz.plot_image_to_vector(cnn, images(X_test)[0], y_test[0],
                                                          pixels=raw_test[0]))

    chapter("11. Backpropagation", "Gradients flow from the loss back through each layer as "
            "explicit matrix formulas; the forward values are kept, so training needs more "
            "memory than inference. How the weights start, which activation, learning rate, "
            "optimiser and regulariser decide whether the gradients vanish, explode or "
            "train well.")
    report.add("equation", EQUATIONS["backprop"])
    example, _ = l2_backprop_example()
    say(example)
    report.add("pre", example)
    report.add("html", trace(mlp, 32, backward=True).to_html())
    keep("choices", viz.plot_choices(seed=seed, epochs=10 if quick else 40))

    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(report.html())
    say(f"\nThe tour took {time.perf_counter() - start:.1f} s. Report: {os.path.abspath(path)}")
    return path
