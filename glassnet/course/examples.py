"""Two worked examples of the lectures, computed by glassnet's own layers: depth without
an activation collapses into one layer, and the backpropagation of f = ||W x||^2."""
import numpy as np

from ..layers.dense import Dense
from ..viz.foundations import l2_norm_backprop
from ..lectures import fill, text
from ..network.sequential import Sequential


def linear_collapse(seed=0, lang="en"):
    """Two Dense layers with no activation between them are one Dense layer:
    (x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2). Returns (text, largest difference)."""
    two = Sequential([Dense(5, input_dim=3), Dense(2)], seed=seed, dtype="float64").build()
    (W1, b1), (W2, b2) = [(layer.params["W"], layer.params["b"]) for layer in two.layers]
    one = Sequential([Dense(2, input_dim=3)], dtype="float64").build()
    one.set_weights([W1 @ W2, b1 @ W2 + b2])
    X = np.random.default_rng(seed).normal(size=(100, 3))
    gap = float(np.abs(two.predict(X, verbose=0) - one.predict(X, verbose=0)).max())
    return fill(text(lang)["examples"]["linear_collapse"], {"gap": gap, "samples": len(X)}), gap


def l2_backprop_example(W=((0.1, 0.5), (-0.3, 0.8)), x=(0.2, 0.4), lang="en"):
    """The worked example of lecture 'Neural Networks: forward and back propagation'
    (section 4), f(x; W) = ||W x||^2, backpropagated by a glassnet Dense layer (no bias,
    no activation): q = W x, df/dq = 2q, dW = 2q x^T, dx = W^T 2q. The lecture's own
    numbers are only in a figure (it gives f = 0.2285), so the default numbers are those
    of the CS231n slide the lecture follows. Glassnet stores W as (in, out), the
    transpose of the lecture's W, so its dW is (2q x^T)^T. Returns (text, values) with a
    finite-difference check of dW."""
    v = l2_norm_backprop(W, x)                # q = W x, f, dW = 2q x^T, dx = W^T 2q
    W, x, q, f, dW, dx = v["W"], v["x"], v["q"], v["f"], v["dW"], v["dx"]
    eps, numeric = 1e-6, np.empty_like(W)
    for i, j in np.ndindex(*W.shape):
        up, down = W.copy(), W.copy()
        up[i, j] += eps
        down[i, j] -= eps
        numeric[i, j] = (np.sum((up @ x) ** 2) - np.sum((down @ x) ** 2)) / (2 * eps)

    def fmt(a):
        return str(np.round(a, 6).tolist())
    values = {"W": fmt(W), "x": fmt(x), "q": fmt(q), "f": f"{f:.6g}", "two_q": fmt(2 * q),
              "dW": fmt(dW), "numeric": fmt(numeric), "dx": fmt(dx)}
    return (fill(text(lang)["examples"]["l2_backprop"], values),
            {"q": q, "f": f, "dW": dW, "dx": dx, "numeric_dW": numeric})
