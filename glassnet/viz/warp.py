"""How a network warps space (lecture 'The voyage of information', slides 4 and 8; Olah,
"Neural Networks, Manifolds, and Topology"): 2-D data and a grid pushed through a
trained model, each Dense layer split into its three steps -- x W (rotate and scale;
glassnet's rows times W of shape (in, out), the lecture's W x with W^T), + b
(translate), the activation (fold). Every point comes from the engine's own forward
pass.

Spaces of width 2 are drawn as planes, width 3 in 3-D; wider spaces are seen through one
projection (PCA of the last hidden space) fitted once and kept for every panel and frame."""
import numpy as np

from ..lectures import words
from ..layers.ops import affine
from .picture import (CLASS_COLOURS, TEXT, Picture, confidence_image, drawn,
                      model_probabilities, new_figure, probabilities, rgb)


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
    """The points after every step: [("input", P, G), ("layer 1: x W", P, G),
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
            steps.append((f"layer {i}: x W", Z - b))
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
    """Axis limits that frame the points, 8% to spare; a direction in which the points
    do not vary (a plane seen in 3-D) gets a fifth of the widest span, centred."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, max(0.2 * float((high - low).max()), 1e-6))
    centre = (low + high) / 2
    return list(zip(centre - 0.58 * span, centre + 0.58 * span))


def step_name(name, lang):
    """A step's name ("input", "layer 2: x W") in ``lang``."""
    if lang != "ko":
        return name
    return name.replace("input", "입력").replace("layer ", "층 ")


def _axes(figure, spec, dims):
    if dims == 3:
        ax = figure.add_subplot(spec, projection="3d")
        ax.view_init(elev=22, azim=-58)
        return ax
    return figure.add_subplot(spec)


def _draw(ax, name, P, G, y, limits, ticks=False):
    """One space: grid lines in grey, points coloured by class, on the given limits
    (with a few ticks, so that the scale can be read, when ``ticks``)."""
    dims = P.shape[-1]
    inside = np.all([(G[..., i] >= low) & (G[..., i] <= high)
                     for i, (low, high) in enumerate(limits[:dims])], axis=0)
    G = np.where(inside[..., None], G, np.nan)           # 3-D axes do not clip lines
    for line in G:
        ax.plot(*line.T, color="#bbbbbb", linewidth=0.6, zorder=1)
    ax.scatter(*P.T, c=[CLASS_COLOURS[int(k) % 10] for k in y], s=6, zorder=2)
    for axis, (low, high) in zip("xyz", limits[:dims]):
        getattr(ax, f"set_{axis}lim")(low, high)
    ax.set_title(name, fontsize=TEXT)
    if ticks:
        ax.locator_params(nbins=3)
        ax.tick_params(labelsize=8)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        if dims == 3:
            ax.set_zticks([])


def _describe(W, lang):
    """How W scales (and flips) space, for a panel's title: det W for a square W, else its
    shape (in x out); its singular values."""
    t = words(lang)
    size = (f"det W = {np.linalg.det(W):.2f}" if W.shape[0] == W.shape[1] else
            t(f"W is {W.shape[0]}x{W.shape[1]} (in x out)",
              f"W는 {W.shape[0]}x{W.shape[1]} (입력 x 출력)"))
    values = np.linalg.svd(W, compute_uv=False)
    singular = ", ".join(f"{s:.2f}" for s in values[:3]) + (", ..." if len(values) > 3 else "")
    return size + t(f"\nsingular values {singular}", f"\n특이값 {singular}")


def _separator(W, b):
    """(w, c) with the output layer's two-class boundary w . h + c = 0, or None."""
    if W.shape[1] == 1:
        return W[:, 0], b[0]
    if W.shape[1] == 2:
        return W[:, 1] - W[:, 0], b[1] - b[0]              # z2 - z1 = w . h + c
    return None


def _draw_separator(ax, W, b, limits, label=None):
    """The output layer's boundary in the last hidden space: a dashed line in 2-D
    (``label`` for a legend), a plane in 3-D (two classes only). False if none is
    drawn."""
    separator = _separator(W, b)
    if separator is None:
        return False
    w, c = separator
    k = int(np.argmax(np.abs(w)))                          # solve for the steepest axis
    if abs(w[k]) < 1e-9:
        return False
    others = [i for i in range(len(w)) if i != k]
    axes = np.meshgrid(*[np.linspace(*limits[i], 200 if len(w) == 2 else 20)
                         for i in others])
    solved = -(c + sum(w[i] * a for i, a in zip(others, axes))) / w[k]
    solved[(solved < limits[k][0]) | (solved > limits[k][1])] = np.nan   # stay in the box
    coords = list(axes)
    coords.insert(k, solved)                               # back in axis order
    if len(w) == 2:
        if np.isfinite(coords[k]).sum() < 2:
            return False                                   # the line misses the view
        ax.plot(coords[0], coords[1], "k--", linewidth=1.5, zorder=3, label=label)
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    else:
        ax.plot_surface(*coords, color="#444444", alpha=0.2, linewidth=0)
    return True


def _layers(seen):
    """The steps grouped by layer: [(layer number, [(k, name, P, G), ...]), ...], k the
    step's index (the input, step 0, is not in any group)."""
    groups = {}
    for k, (name, P, G) in enumerate(seen[1:], 1):
        groups.setdefault(name.split(":")[0], []).append((k, name, P, G))
    return list(groups.items())


@drawn
def plot_warp(model, X, y, lang="en"):
    """One row per hidden layer, one panel per step: x W, + b and the activation; the
    input plane (shaded by the model's decision and confidence) at the top left and the
    last hidden space at the bottom left, zoomed and shaded by the output layer's
    decision, with its separator. 3-D where the widest hidden space has 3 units; wider
    spaces through one fixed PCA projection. Within a layer, x W and + b share axes (the
    shift by b is drawn as an arrow, the points before it as ghosts); each activation has
    its own axes, since it squeezes the space into its range (tanh: [-1, 1])."""
    t = words(lang)
    X = _check_plane(model, X, y, "plot_warp")
    steps, _ = hidden_steps(model, X)
    seen, _, basis = views(steps)
    dims = seen[0][1].shape[-1]
    groups = _layers(seen)
    rows = max(1, len(groups))
    cols = 4 if len(groups) > 1 else 5
    width = min(2.75, 11 / cols)
    figure = new_figure(width * cols, (width + 0.1) * rows + 0.5)
    grid = figure.add_gridspec(rows, cols)
    affine_layers = {f"layer {i + 1}": parts for i in range(len(model.layers))
                     if (parts := affine_parts(model, i)) is not None}
    weights = {name: parts[0] for name, parts in affine_layers.items()}
    _, P, G = steps[0]                                     # the input plane, not projected
    own = _limits(P)
    ax = _axes(figure, grid[0, 0], 2)
    _draw(ax, t("input, shaded by\nthe model's decision\n(lighter = less sure)",
                "입력: 모델의 결정으로\n칠함 (옅을수록 덜 확신)"), P, G, y, own, ticks=True)
    ax.imshow(confidence_image(model_probabilities(model), *own, 200), origin="lower",
              alpha=0.5, aspect="auto", zorder=0, extent=(*own[0], *own[1]))
    panels, magnified = 1, {}
    for row, (layer, group) in enumerate(groups):
        affine_steps = [g for g in group if g[1].endswith(("x W", "+ b"))]
        shared = _limits(np.concatenate([g[2] for g in affine_steps])) if affine_steps \
            else None
        for col, (k, name, P, G) in enumerate(group, 1):
            ax = _axes(figure, grid[row, col], dims)
            limits = shared if name.endswith(("x W", "+ b")) else _limits(P)
            title = step_name(name, lang)
            if name.endswith("x W") and layer in weights:
                title += "\n" + _describe(weights[layer], lang)
            _draw(ax, title, P, G, y, limits, ticks=True)
            if name.endswith("+ b"):
                before = seen[k - 1][1]
                shift = (P - before).mean(axis=0)
                ax.scatter(*before.T, s=4, color="#999999", alpha=0.25, zorder=1)
                start = before.mean(axis=0)
                reach = min(high - low for low, high in limits[:dims])
                length = float(np.linalg.norm(shift))
                times = 1 if length >= 0.2 * reach or length == 0 else \
                    int(np.ceil(0.2 * reach / length))
                if dims == 3:
                    ax.computed_zorder = False                 # the arrow in front
                    ax.quiver(*start, *(times * shift), color="black", linewidth=3,
                              arrow_length_ratio=0.25, zorder=5)
                else:
                    ax.annotate("", start + times * shift, start,
                                arrowprops={"arrowstyle": "-|>", "color": "black",
                                            "linewidth": 2.5, "mutation_scale": 22})
                bias = affine_layers[layer][1]
                size = ", ".join(f"{v:+.2f}" for v in bias[:3]) + (", ..." if len(bias) > 3
                                                                   else "")
                drawn_as = "" if times == 1 else t(f", arrow x{times}", f", 화살표 x{times}")
                ax.set_title(step_name(name, lang) + t(f"\nshift by b = ({size}){drawn_as}",
                                                       f"\nb = ({size})만큼 이동{drawn_as}"),
                             fontsize=TEXT)
                magnified[name] = times
            panels += 1
        if 0 < row < rows - 1:                      # the left column between: the layer
            index = int(layer.split()[-1]) - 1
            text = figure.add_subplot(grid[row, 0])
            text.axis("off")
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in
                               model.layers[index].params.items())
            text.text(0.5, 0.5, f"{step_name(layer, lang)}\n{model.layers[index]!r}\n{shapes}",
                      ha="center", va="center", fontsize=TEXT)
    if len(seen) > 1:
        spec = grid[rows - 1, 0] if len(groups) > 1 else grid[0, 4]
        _draw_last_hidden(figure, spec, model, steps[-1], seen[-1], y, lang)
        panels += 1
    figure.suptitle(t("How each layer rotates and scales (x W), shifts (+ b) and folds "
                      "(activation) the ", "각 층이 공간을 회전·확대(x W), 이동(+ b), 접기(활성화)"
                      "하는 모습: ") + t("plane" if dims == 2 else "space", "평면" if dims == 2
                                          else "3차원 공간"), fontsize=11)
    if rows > 1:
        layout = t("Each row is one layer; the input is at the top left.",
                   "각 행이 층 하나이며, 입력은 왼쪽 위에 있습니다.")
        where = t("bottom left", "왼쪽 아래")
    else:
        layout = t("One layer, left to right: the input, its three steps, and the hidden "
                   "space it makes (right), zoomed.",
                   "층 하나를 왼쪽에서 오른쪽으로: 입력, 세 단계, 그리고 층이 만든 은닉 공간"
                   "(오른쪽, 확대).")
        where = t("right", "오른쪽")
    projection = "" if steps[-1][1].shape[-1] <= 3 else t(
        " Spaces wider than 3 are seen through one fixed PCA projection of the last hidden "
        "space.", " 3보다 넓은 공간은 마지막 은닉 공간의 PCA 투영 하나로 고정해 봅니다.")
    return Picture(t("Space warping, layer by layer", "층마다 공간 비틀기"), figure, panels,
                   slide="geometry",
                   data={"steps": [name for name, _, _ in steps],
                         "final_points": steps[-1][1], "dims": dims, "magnified": magnified,
                         "rows": rows, "layers": {
                             name: {"W": W, "b": affine_layers[name][1],
                                    "singular": np.linalg.svd(W, compute_uv=False),
                                    "det": np.linalg.det(W) if W.shape[0] == W.shape[1]
                                    else None} for name, W in weights.items()}},
                   caption=layout + t(" x W turns and stretches the tangled classes (det W "
                                      "and singular values say by how much), + b slides them "
                                      "(the arrow), the activation folds them into its range. "
                                      f"In the last hidden space ({where}) a "
                                      f"{'plane' if dims == 3 else 'straight line'}, the "
                                      "output layer, separates the classes that no line could "
                                      "separate in the input.",
                                      " x W는 얽힌 클래스를 돌리고 늘리며(det W와 특이값이 그 "
                                      "정도), + b는 밀어 옮기고(화살표), 활성화 함수는 자기 범위 "
                                      f"안으로 접습니다. 마지막 은닉 공간({where})에서는 "
                                      f"출력층이라는 {'평면' if dims == 3 else '직선'} 하나가, "
                                      "입력에서는 어떤 직선으로도 나눌 수 없던 클래스를 "
                                      "나눕니다.") + projection)


def _draw_last_hidden(figure, spec, model, step, seen_step, y, lang):
    """The last hidden space on its own axes: shaded by the output layer's decision (2-D)
    and with its linear separator (two classes; a line in 2-D, a plane in 3-D)."""
    t = words(lang)
    name, P, G = step
    width, out, notes = P.shape[-1], model.layers[-1], []
    parts = affine_parts(model, len(model.layers) - 1)
    if width > 3:                                         # only the fixed projection
        name, P, G = seen_step
        notes.append(t("PCA view", "PCA 투영"))
    ax = _axes(figure, spec, P.shape[-1])
    limits = _limits(P)
    _draw(ax, step_name(name.split(":")[0], lang) + t(" output, zoomed", " 출력, 확대"), P, G,
          y, limits)
    if parts is not None and width <= 3:
        W, b, activation = parts
        if width == 2:
            decide = lambda H: probabilities(out.forward(H.astype(model.dtype)),  # noqa: E731
                                             activation)
            ax.imshow(confidence_image(decide, *limits), origin="lower", alpha=0.45,
                      aspect="auto", zorder=0, extent=(*limits[0], *limits[1]))
            notes.append(t("shaded by the output layer", "출력층의 결정으로 칠함"))
        label = t("the output layer's linear separator", "출력층의 선형 분리선")
        if _draw_separator(ax, W, b, limits, label) and width == 2:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False)
        elif width == 3:
            notes.append(t("grey plane: its linear separator", "회색 평면: 선형 분리면"))
    if notes:
        ax.set_title(ax.get_title() + "\n" + "\n".join(notes), fontsize=TEXT)


@drawn
def animate_warp(model, X, y, frames_per_step=6, lang="en"):
    """The same story as an animation: (1-t) x + t x W, x + t b, (1-t) x + t f(x), on
    fixed axes (3-D where the widest hidden space has 3 units)."""
    t = words(lang)
    X = _check_plane(model, X, y, "animate_warp")
    steps, _ = hidden_steps(model, X)
    if len(steps) == 1:
        raise ValueError("animate_warp: the model has no hidden layer, so nothing warps the "
                         "plane before the output layer. Add a hidden layer (for example "
                         "Dense(3, activation='tanh') first), or draw plot_decision_boundary.")
    seen, padded, basis = views(steps)
    dims = seen[0][1].shape[-1]
    figure = new_figure(4.6, 4.6)
    ax = _axes(figure, figure.add_gridspec(1, 1)[0, 0], dims)
    frames, names = [], []
    for k in range(1, len(padded)):
        (_, P0, G0), (name, P1, G1) = padded[k - 1], padded[k]
        for s in np.linspace(0, 1, frames_per_step):
            P, G = (1 - s) * P0 + s * P1, (1 - s) * G0 + s * G1
            shown = P @ basis                             # what this frame draws
            ax.clear()
            _draw(ax, f"{step_name(name, lang)}  (t = {s:.2f})", shown, G @ basis, y,
                  _limits(shown), ticks=True)
            if dims == 3:
                ax.view_init(elev=22, azim=-58 + 40 * (len(frames) / max(1, (len(padded) - 1)
                                                                     * frames_per_step)))
            frames.append(rgb(figure))
            names.append(name)
    return Picture(t("Space warping, animated", "공간 비틀기 애니메이션"), None, 1, frames,
                   slide="geometry", frame_ms=150,
                   data={"frame_steps": names, "final_points": steps[-1][1], "dims": dims,
                         "last_frame_points": shown},
                   caption=t("Each step slides from its input to its output; the axes follow "
                             "the points so that they fill the frame, and the ticks tell the "
                             "scale (x W stretches the points, the activation folds them)"
                             + (" (the 3-D view turns slowly)." if dims == 3 else "."),
                             "각 단계가 입력에서 출력으로 미끄러집니다. 축이 점들을 따라가 화면을 "
                             "채우고, 눈금이 크기를 알려 줍니다(x W는 점들을 늘리고, 활성화 "
                             "함수는 접습니다)"
                             + (" (3차원 시점은 천천히 돕니다)." if dims == 3 else ".")))
