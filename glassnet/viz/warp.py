"""How a network warps space (seed 000, slides 04 and 08; Olah, "Neural Networks,
Manifolds, and Topology"): 2-D data and a grid pushed through a trained model, each
Dense layer split into its three steps -- W x (rotate and scale), + b (translate), the
activation (fold). Every point comes from the engine's own forward pass."""
import numpy as np

from ..layers import Dense
from .picture import CLASS_COLOURS, Picture, new_figure, rgb


def _grid_lines(X, lines=11, points=60):
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.15 * (high - low)
    low, high = low - pad, high + pad
    t = np.linspace(0, 1, points)
    out = []
    for v in np.linspace(0, 1, lines):
        out.append(np.c_[low[0] + t * (high[0] - low[0]), np.full(points, low[1] + v * (high[1] - low[1]))])
        out.append(np.c_[np.full(points, low[0] + v * (high[0] - low[0])), low[1] + t * (high[1] - low[1])])
    return np.stack(out)                                  # (lines, points, 2)


def warp_steps(model, X, grid=None):
    """The points after every step: [("input", P), ("layer 1: W x", P), ("layer 1: + b", P),
    ("layer 1: relu", P), ...] from a real forward pass; the last step of each layer is
    exactly that layer's output."""
    grid = _grid_lines(X) if grid is None else grid
    points = np.concatenate([X, grid.reshape(-1, 2)]).astype(model.dtype)
    steps = [("input", points)]
    for i, layer in enumerate(model.layers, 1):
        out = layer.forward(points, training=False)
        if isinstance(layer, Dense):
            Z = layer.Z                                       # X @ W + b, kept by the layer
            b = layer.params.get("b", 0)
            steps.append((f"layer {i}: W x", Z - b))
            steps.append((f"layer {i}: + b", Z))
            if layer.activation.name != "linear":
                steps.append((f"layer {i}: {layer.activation.name}", out))
        else:
            steps.append((f"layer {i}: {layer!r}", out))
        points = out
    n = len(X)
    return [(name, P[:n], P[n:].reshape(grid.shape[0], grid.shape[1], -1))
            for name, P in steps], grid


def hidden_steps(model, X, grid=None):
    """``warp_steps`` up to the last hidden layer (the output layer's own steps live in
    the space of class scores, not of the data)."""
    steps, grid = warp_steps(model, X, grid)
    last = f"layer {len(model.layers)}:"
    return [s for s in steps if not s[0].startswith(last)], grid


def views(steps):
    """Every step seen in the plane through one fixed view: spaces are zero-padded to
    the widest one; 2-D spaces are shown as they are, wider ones through a projection
    fitted once (PCA of the last hidden space), never refitted step by step."""
    width = max(2, max(P.shape[-1] for _, P, _ in steps))

    def pad(A):
        return np.concatenate([A, np.zeros((*A.shape[:-1], width - A.shape[-1]))], axis=-1)
    padded = [(name, pad(P), pad(G)) for name, P, G in steps]
    if width == 2:
        basis = np.eye(2)
    else:
        final = padded[-1][1] - padded[-1][1].mean(axis=0)
        basis = np.linalg.svd(final, full_matrices=False)[2][:2].T
    return [(name, P @ basis, G @ basis) for name, P, G in padded], padded, basis


def _limits(points):
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.08 * np.maximum(high - low, 1e-6)
    return (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1])


def _all_points(seen):
    return np.concatenate([np.concatenate([P, G.reshape(-1, 2)]) for _, P, G in seen])


def _draw(ax, name, P, G, y, limits, W=None):
    for line in G:
        ax.plot(line[:, 0], line[:, 1], color="#bbbbbb", linewidth=0.6, zorder=1)
    ax.scatter(P[:, 0], P[:, 1], c=[CLASS_COLOURS[int(k) % 10] for k in y], s=6, zorder=2)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    title = name
    if W is not None and W.shape[0] == W.shape[1]:
        singular = np.linalg.svd(W, compute_uv=False)
        title += (f"\ndet W = {np.linalg.det(W):.2f}, singular values "
                  f"{', '.join(f'{s:.2f}' for s in singular)}")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_warp(model, X, y):
    """One panel per step: the input, then W x, + b and the activation of every hidden
    layer, on axes shared by all panels; the last hidden space shows the output layer's
    linear separator (for two classes in a 2-D space)."""
    steps, _ = hidden_steps(model, X)
    seen, _, _ = views(steps)
    limits = _limits(_all_points(seen))
    cols = 4
    rows = -(-len(seen) // cols)
    figure = new_figure(3.2 * cols, 3.1 * rows)
    weights = {f"layer {i}: W x": layer.params["W"] for i, layer in enumerate(model.layers, 1)
               if isinstance(layer, Dense)}
    for k, (name, P, G) in enumerate(seen):
        ax = figure.add_subplot(rows, cols, k + 1)
        _draw(ax, name, P, G, y, limits, weights.get(name))
    out = model.layers[-1]
    if isinstance(out, Dense) and out.units == 2 and steps[-1][1].shape[-1] == 2:
        w = out.params["W"][:, 1] - out.params["W"][:, 0]       # z2 - z1 = w . h + c
        c = out.params["b"][1] - out.params["b"][0]
        if abs(w[1]) > 1e-9:
            xs = np.linspace(*limits[0], 50)
            ax.plot(xs, -(w[0] * xs + c) / w[1], "k--", linewidth=1.2, zorder=3)
            ax.set_title(ax.get_title() + "\n- - the output layer's linear separator",
                         fontsize=8)
    figure.suptitle("How each layer rotates and scales (W x), shifts (+ b) and folds "
                    "(activation) the plane", fontsize=10)
    return Picture("Space warping, layer by layer", figure, len(seen),
                   data={"steps": [name for name, _, _ in steps],
                         "final_points": steps[-1][1]},
                   caption="Every panel holds the real intermediate values of the model's "
                           "forward pass, on the data and on a grid of lines.")


def animate_warp(model, X, y, frames_per_step=6):
    """The same story as an animation: (1-t) x + t W x, x + t b, (1-t) x + t f(x)."""
    steps, _ = hidden_steps(model, X)
    seen, padded, basis = views(steps)
    limits = _limits(_all_points(seen))
    figure = new_figure(4, 4)
    ax = figure.add_subplot(1, 1, 1)
    frames, names = [], []
    for k in range(1, len(padded)):
        (_, P0, G0), (name, P1, G1) = padded[k - 1], padded[k]
        for t in np.linspace(0, 1, frames_per_step):
            P, G = (1 - t) * P0 + t * P1, (1 - t) * G0 + t * G1
            ax.clear()
            _draw(ax, f"{name}  (t = {t:.2f})", P @ basis, G @ basis, y, limits)
            frames.append(rgb(figure))
            names.append(name)
    return Picture("Space warping, animated", None, 1, frames,
                   data={"frame_steps": names, "final_points": steps[-1][1]},
                   caption="Each step interpolated from its input to its output, on fixed "
                           "axes.")
