"""How a network warps space (seed 000, slides 04 and 08; Olah, "Neural Networks,
Manifolds, and Topology"): 2-D data and a grid pushed through a trained model, each
Dense layer split into its three steps -- W x (rotate and scale), + b (translate), the
activation (fold). Every point comes from the engine's own forward pass.

Spaces of width 2 are drawn as planes, width 3 in 3-D; wider spaces are seen through one
projection (PCA of the last hidden space) fitted once and kept for every panel and frame."""
import numpy as np

from ..ops import affine
from .picture import (CLASS_COLOURS, Picture, confidence_image, model_probabilities,
                      new_figure, probabilities, rgb)


def _check_plane(model, X, y, what):
    """The data as the model's dtype, refusing anything that is not labelled 2-D points."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{what}: draws 2-D data, but X has shape {X.shape}. Pass points "
                         f"with two features, X of shape (N, 2), such as "
                         f"glassnet.datasets.make_moons(300, seed=0), and a model whose first "
                         f"layer takes 2 inputs.")
    if y is not None and len(y) != len(X):
        raise ValueError(f"{what}: X has {len(X)} points but y has {len(y)} labels; pass one "
                         f"class label per point.")
    return model.check_input(X, what)


def _grid_lines(X, lines=11, points=60):
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.15 * (high - low)
    low, high = low - pad, high + pad
    t = np.linspace(0, 1, points)
    out = []
    span = high - low
    for v in np.linspace(0, 1, lines):
        out.append(np.c_[low[0] + t * span[0], np.full(points, low[1] + v * span[1])])
        out.append(np.c_[np.full(points, low[0] + v * span[0]), low[1] + t * span[1]])
    return np.stack(out)                                  # (lines, points, 2)


def warp_steps(model, X, grid=None):
    """The points after every step: [("input", P, G), ("layer 1: W x", P, G),
    ("layer 1: + b", P, G), ("layer 1: relu", P, G), ...] for the data (P) and the grid
    lines (G), from a real forward pass; the last step of each layer is exactly that
    layer's output. Returns (steps, grid)."""
    X = _check_plane(model, X, None, "warp_steps")
    grid = _grid_lines(X) if grid is None else grid
    points = np.concatenate([X, grid.reshape(-1, 2)]).astype(model.dtype)
    steps = [("input", points)]
    for i, (layer, in_shape) in enumerate(zip(model.layers, model.trace_shapes()), 1):
        out = layer.forward(points, training=False)
        parts = affine(layer.ops(in_shape))
        if parts:                                             # Y = f(X @ W + b)
            W, b, Z = affine_values(layer, parts, points)
            steps.append((f"layer {i}: W x", Z - b))
            steps.append((f"layer {i}: + b", Z))
            if parts[2] is not None:
                steps.append((f"layer {i}: {parts[2].fn}", out))
        else:
            steps.append((f"layer {i}: {layer!r}", out))
        points = out
    n = len(X)
    return [(name, P[:n], P[n:].reshape(grid.shape[0], grid.shape[1], -1))
            for name, P in steps], grid


def affine_values(layer, parts, X):
    """(W, b, Z) of a layer computing f(X @ W + b): its parameters, and Z = X @ W + b as
    the layer's last forward pass kept it (``cache``)."""
    matmul, bias, _ = parts
    W = layer.params[matmul.b]
    b = layer.params[bias.b] if bias else np.zeros(W.shape[1], W.dtype)
    Z = layer.cache.get(bias.out if bias else matmul.out)
    return W, b, (X @ W + b if Z is None else Z)


def affine_parts(model, index):
    """(W, b, activation name) of model layer ``index`` (0-based) when it computes
    f(X @ W + b), else None."""
    layer = model.layers[index]
    parts = affine(layer.ops(model.trace_shapes()[index]))
    if parts is None:
        return None
    matmul, bias, activation = parts
    W = layer.params[matmul.b]
    b = layer.params[bias.b] if bias else np.zeros(W.shape[1], W.dtype)
    return W, b, activation.fn if activation else "linear"


def hidden_steps(model, X, grid=None):
    """``warp_steps`` up to the last hidden layer (the output layer's own steps live in
    the space of class scores, not of the data)."""
    steps, grid = warp_steps(model, X, grid)
    last = f"layer {len(model.layers)}:"
    return [s for s in steps if not s[0].startswith(last)], grid


def views(steps):
    """Every step seen through one fixed view: spaces are zero-padded to the widest one;
    2-D and 3-D spaces are shown as they are, wider ones in the plane through a
    projection fitted once (PCA of the last hidden space), never refitted step by step.
    Returns (seen, padded, basis)."""
    width = max(2, max(P.shape[-1] for _, P, _ in steps))

    def pad(A):
        return np.concatenate([A, np.zeros((*A.shape[:-1], width - A.shape[-1]))], axis=-1)
    padded = [(name, pad(P), pad(G)) for name, P, G in steps]
    if width <= 3:
        basis = np.eye(width)
    else:
        final = padded[-1][1] - padded[-1][1].mean(axis=0)
        basis = np.linalg.svd(final, full_matrices=False)[2][:2].T
    return [(name, P @ basis, G @ basis) for name, P, G in padded], padded, basis


def _limits(points):
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.08 * np.maximum(high - low, 1e-6)
    return list(zip(low - pad, high + pad))


def _shared_limits(seen):
    """One set of axis limits for every panel and frame, fitted to the data points of all
    steps (grid lines may leave it: they reach far beyond the data after W x)."""
    return _limits(np.concatenate([P for _, P, _ in seen]))


def _axes(figure, rows, cols, k, dims):
    if dims == 3:
        ax = figure.add_subplot(rows, cols, k, projection="3d")
        ax.view_init(elev=22, azim=-58)
        return ax
    return figure.add_subplot(rows, cols, k)


def _draw(ax, name, P, G, y, limits, W=None):
    """One space: grid lines in grey, points coloured by class, on the shared limits."""
    dims = P.shape[-1]
    inside = np.all([(G[..., i] >= low) & (G[..., i] <= high)
                     for i, (low, high) in enumerate(limits[:dims])], axis=0)
    G = np.where(inside[..., None], G, np.nan)           # 3-D axes do not clip lines
    for line in G:
        ax.plot(*line.T, color="#bbbbbb", linewidth=0.6, zorder=1)
    ax.scatter(*P.T, c=[CLASS_COLOURS[int(k) % 10] for k in y], s=6, zorder=2)
    for axis, (low, high) in zip("xyz", limits[:dims]):
        getattr(ax, f"set_{axis}lim")(low, high)
    title = name
    if W is not None:                                     # how W scales (and flips) space
        size = (f"det W = {np.linalg.det(W):.2f}" if W.shape[0] == W.shape[1] else
                f"W is {W.shape[0]}x{W.shape[1]}")
        values = np.linalg.svd(W, compute_uv=False)
        singular = ", ".join(f"{s:.2f}" for s in values[:3]) + (", ..." if len(values) > 3
                                                                 else "")
        title += f"\n{size}, singular values {singular}"
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    if dims == 3:
        ax.set_zticks([])


def _separator(W, b):
    """(w, c) with the output layer's two-class boundary w . h + c = 0, or None."""
    if W.shape[1] == 1:
        return W[:, 0], b[0]
    if W.shape[1] == 2:
        return W[:, 1] - W[:, 0], b[1] - b[0]              # z2 - z1 = w . h + c
    return None


def _draw_separator(ax, W, b, limits):
    """The output layer's boundary in the last hidden space: a line in 2-D, a plane in
    3-D (two classes only)."""
    separator = _separator(W, b)
    if separator is None:
        return False
    w, c = separator
    k = int(np.argmax(np.abs(w)))                          # solve for the steepest axis
    if abs(w[k]) < 1e-9:
        return False
    others = [i for i in range(len(w)) if i != k]
    axes = np.meshgrid(*[np.linspace(*limits[i], 20) for i in others])
    solved = -(c + sum(w[i] * a for i, a in zip(others, axes))) / w[k]
    solved[(solved < limits[k][0]) | (solved > limits[k][1])] = np.nan   # stay in the box
    coords = list(axes)
    coords.insert(k, solved)                               # back in axis order
    if len(w) == 2:
        ax.plot(coords[0][0], coords[1][0], "k--", linewidth=1.2, zorder=3)
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    else:
        ax.plot_surface(*coords, color="#444444", alpha=0.2, linewidth=0)
    return True


def plot_warp(model, X, y):
    """One panel per step: the input (shaded by the model's decision and confidence), then
    W x, + b and the activation of every hidden layer, on axes shared by all panels
    (3-D where the widest hidden space has 3 units); then the last hidden space once more,
    zoomed to its own axes, shaded by the output layer's decision, with its separator."""
    X = _check_plane(model, X, y, "plot_warp")
    steps, _ = hidden_steps(model, X)
    seen, _, basis = views(steps)
    dims = seen[0][1].shape[-1]
    limits = _shared_limits(seen)
    panels = len(seen) + (len(seen) > 1)
    cols = 4
    rows = -(-panels // cols)
    figure = new_figure(3.2 * cols, 3.1 * rows)
    weights = {f"layer {i + 1}: W x": parts[0] for i in range(len(model.layers))
               if (parts := affine_parts(model, i)) is not None}
    for k, (name, P, G) in enumerate(seen):
        if k == 0:              # the input plane as it is, shaded by the model's decision
            _, P, G = steps[0]                            # (not projected: always 2-D)
            own = _limits(P) if len(basis) > 3 else limits[:2]
            ax = _axes(figure, rows, cols, 1, 2)
            _draw(ax, "input: shaded by the model's decision\n(lighter = less sure)",
                  P, G, y, own)
            ax.imshow(confidence_image(model_probabilities(model), *own, 200),
                      origin="lower", alpha=0.5, aspect="auto", zorder=0,
                      extent=(*own[0], *own[1]))
        else:
            _draw(_axes(figure, rows, cols, k + 1, dims), name, P, G, y, limits,
                  weights.get(name))
    if len(seen) > 1:
        _draw_last_hidden(figure, rows, cols, panels,
                          model, steps[-1], seen[-1], y)
    figure.suptitle("How each layer rotates and scales (W x), shifts (+ b) and folds "
                    "(activation) the " + ("plane" if dims == 2 else "space"), fontsize=10)
    projection = "" if steps[-1][1].shape[-1] <= 3 else (
        " Spaces wider than 3 are seen through one fixed PCA projection of the last hidden "
        "space.")
    return Picture("Space warping, layer by layer", figure, panels,
                   data={"steps": [name for name, _, _ in steps],
                         "final_points": steps[-1][1], "dims": dims},
                   caption="Every panel holds the real intermediate values of the model's "
                           "forward pass, on the data and on a grid of lines, on axes shared "
                           "by all panels but the last, which zooms into the last hidden "
                           "space." + projection)


def _draw_last_hidden(figure, rows, cols, k, model, step, seen_step, y):
    """The last hidden space on its own axes: shaded by the output layer's decision (2-D)
    and with its linear separator (two classes; a line in 2-D, a plane in 3-D)."""
    name, P, G = step
    width, out, notes = P.shape[-1], model.layers[-1], []
    parts = affine_parts(model, len(model.layers) - 1)
    if width > 3:                                         # only the fixed projection
        name, P, G = seen_step
        notes.append("PCA view")
    ax = _axes(figure, rows, cols, k, P.shape[-1])
    limits = _limits(P)
    _draw(ax, name.split(":")[0] + " output, zoomed", P, G, y, limits)
    if parts is not None and width <= 3:
        W, b, activation = parts
        if width == 2:
            decide = lambda H: probabilities(out.forward(H.astype(model.dtype)),  # noqa: E731
                                             activation)
            ax.imshow(confidence_image(decide, *limits), origin="lower", alpha=0.45,
                      aspect="auto", zorder=0, extent=(*limits[0], *limits[1]))
            notes.append("shaded by the output layer")
        if _draw_separator(ax, W, b, limits):
            notes.append("- - its linear separator" if width == 2 else
                         "grey plane: its linear separator")
    if notes:
        ax.set_title(ax.get_title() + "\n" + "; ".join(notes), fontsize=8)


def animate_warp(model, X, y, frames_per_step=6):
    """The same story as an animation: (1-t) x + t W x, x + t b, (1-t) x + t f(x), on
    fixed axes (3-D where the widest hidden space has 3 units)."""
    X = _check_plane(model, X, y, "animate_warp")
    steps, _ = hidden_steps(model, X)
    if len(steps) == 1:
        raise ValueError("animate_warp: the model has no hidden layer, so nothing warps the "
                         "plane before the output layer. Add a hidden layer (for example "
                         "Dense(3, activation='tanh') first), or draw plot_decision_boundary.")
    seen, padded, basis = views(steps)
    dims = seen[0][1].shape[-1]
    limits = _shared_limits(seen)
    figure = new_figure(4.4, 4.4) if dims == 3 else new_figure(4, 4)
    ax = _axes(figure, 1, 1, 1, dims)
    frames, names = [], []
    for k in range(1, len(padded)):
        (_, P0, G0), (name, P1, G1) = padded[k - 1], padded[k]
        for t in np.linspace(0, 1, frames_per_step):
            P, G = (1 - t) * P0 + t * P1, (1 - t) * G0 + t * G1
            shown = P @ basis                             # what this frame draws
            ax.clear()
            _draw(ax, f"{name}  (t = {t:.2f})", shown, G @ basis, y, limits)
            if dims == 3:
                ax.view_init(elev=22, azim=-58 + 40 * (len(frames) / max(1, (len(padded) - 1)
                                                                     * frames_per_step)))
            frames.append(rgb(figure))
            names.append(name)
    return Picture("Space warping, animated", None, 1, frames,
                   data={"frame_steps": names, "final_points": steps[-1][1], "dims": dims,
                         "last_frame_points": shown},
                   caption="Each step interpolated from its input to its output, on fixed "
                           "axes" + (" (the 3-D view turns slowly)." if dims == 3 else "."))
