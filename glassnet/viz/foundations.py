"""The lectures' pictures of the basics that had none: one neuron becoming a layer
(Dense(2, input_dim=3), its six weights as coloured arrows), broadcasting a bias row
over a batch, the computational graph of f = ||W x||^2 with its gradients, the
activation functions with their derivatives, time per sample against batch size, and
stacked 3x3 convolutions against one large kernel (VGG). Every number drawn comes from
glassnet's own layers: their parameters, forward and backward passes."""
import time

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

from ..layers.activations import Activation
from ..layers.conv import Conv2D
from ..layers.dense import Dense
from ..lectures import words
from ..network.sequential import Sequential
from .picture import CLASS_COLOURS, TEXT, TITLE, Picture, drawn, new_figure

LECTURE_W = ((0.1, 0.4), (0.2, 0.5), (0.3, 0.6))     # lecture 07-03's Dense(2, input_dim=3)
LECTURE_B = (0.5, -0.5)


def _arrow(ax, start, end, colour, width=1.6, scale=14, zorder=1, gap=(0.34, 0.34)):
    """An arrow from ``start`` to ``end`` (data coordinates), stopping ``gap`` short of
    each end (the nodes' radii), so that its head is seen."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    unit = (end - start) / np.linalg.norm(end - start)
    ax.add_patch(FancyArrowPatch(start + gap[0] * unit, end - gap[1] * unit,
                                 arrowstyle="-|>", mutation_scale=scale, color=colour,
                                 linewidth=width, zorder=zorder, shrinkA=0, shrinkB=0))


def _node(ax, centre, text, colour="#333333", fill="#f4f4f4", radius=0.32):
    ax.add_patch(Circle(centre, radius, facecolor=fill, edgecolor=colour, linewidth=1.5,
                        zorder=3))
    ax.text(*centre, text, ha="center", va="center", fontsize=TITLE, zorder=4)


def _diagram(ax, xlim, ylim, title):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)


@drawn
def plot_neuron_to_layer(W=LECTURE_W, b=LECTURE_B, lang="en"):
    """From one neuron to a layer (lecture 'The voyage of information', slide 3): one
    neuron, z = x1 w1 + x2 w2 + x3 w3 + b, next to Keras's Dense(2, input_dim=3), whose
    two neurons are the two columns of W; the six weights are six arrows, coloured by the
    neuron they feed, each labelled with its value; the parameter count is the layer's
    own (``count_params``)."""
    t = words(lang)
    layer = Sequential([Dense(len(W[0]), input_dim=len(W))], dtype="float64").build()
    layer.set_weights([np.asarray(W, float), np.asarray(b, float)])
    W, b = layer.layers[0].params["W"], layer.layers[0].params["b"]
    inputs, units = W.shape
    count = layer.count_params()
    figure = new_figure(11, 4.4)
    grid = figure.add_gridspec(1, 2, width_ratios=[1, 1.35])
    ys = [2.4 * (inputs - 1 - i) for i in range(inputs)]
    middle = ys[0] / 2
    targets = [middle + 2.4 * (units - 1) / 2 - 2.4 * j for j in range(units)]
    for panel, shown in ((0, 1), (1, units)):
        ax = figure.add_subplot(grid[0, panel])
        for i, y in enumerate(ys):
            _node(ax, (0, y), f"x{i + 1}")
        for j in range(shown):
            target = (5.2, targets[j] if shown > 1 else middle)
            colour = CLASS_COLOURS[j]
            for i, y in enumerate(ys):
                _arrow(ax, (0, y), target, colour)
                s = 0.3 if j == 0 else 0.62          # labels of different neurons apart
                px, py = s * target[0], y + s * (target[1] - y)
                angle = np.degrees(np.arctan2(target[1] - y, target[0]))
                ax.text(px, py, f"w{i + 1}{j + 1}={W[i, j]:g}", ha="center", va="center",
                        rotation=angle, rotation_mode="anchor", color=colour, fontsize=TEXT,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
                        zorder=2)
            _node(ax, target, f"z{j + 1}", colour, fill="white")
            ax.text(target[0] + 0.5, target[1], f"+ b{j + 1} ({b[j]:g})", va="center",
                    color=colour, fontsize=TEXT)
        if panel == 0:
            _diagram(ax, (-0.6, 7.6), (-0.8, ys[0] + 0.8),
                     t("one neuron: z1 = x1 w11 + x2 w21 + x3 w31 + b1",
                       "뉴런 하나: z1 = x1 w11 + x2 w21 + x3 w31 + b1"))
        else:
            _diagram(ax, (-0.6, 7.6), (-0.8, ys[0] + 0.8),
                     t(f"Dense({units}, input_dim={inputs}): {inputs} x {units} weights + "
                       f"{units} biases = {count} parameters",
                       f"Dense({units}, input_dim={inputs}): 가중치 {inputs} x {units} + "
                       f"편향 {units} = 파라미터 {count}개"))
    arrows = inputs * units
    return Picture(t("From one neuron to a layer", "개별 뉴런에서 층(Layer)으로"), figure, 2,
                   slide="neuron_to_layer",
                   data={"W": W, "b": b, "parameters": count, "arrows": arrows,
                         "inputs": inputs, "units": units},
                   caption=t(f"A neuron weighs each input and adds a bias. Put {units} side by "
                             f"side and they form a layer: the {arrows} arrows are the "
                             f"{inputs} x {units} weights of W, one colour per neuron (a column "
                             f"of W), and with one bias each the layer has {count} parameters.",
                             f"뉴런은 입력마다 가중치를 곱하고 편향을 더합니다. 뉴런 {units}개를 "
                             f"나란히 놓으면 층이 됩니다: 화살표 {arrows}개가 W의 가중치 "
                             f"{inputs} x {units}개이며 뉴런마다(W의 열마다) 색이 하나입니다. "
                             f"뉴런마다 편향이 하나씩 있어 층의 파라미터는 {count}개입니다."))


@drawn
def plot_broadcasting(batch=64, features=256, seed=0, lang="en"):
    """Broadcasting (lecture 'The voyage of information', slide 12): a batch's X W of
    shape (batch, features) plus the bias row b of shape (1, features). NumPy repeats the
    row for every sample (without copying it); the sum is checked against adding the
    repeated row. One colour scale for all four matrices."""
    t = words(lang)
    rng = np.random.default_rng(seed)
    layer = Sequential([Dense(features, input_dim=8)], seed=seed, dtype="float64").build()
    dense = layer.layers[0]
    dense.params["b"][:] = np.sin(np.linspace(0, 6 * np.pi, features))
    X = rng.normal(size=(batch, 8))
    XW = X @ dense.params["W"]
    b = dense.params["b"][None]
    Y = layer.forward(X)                                         # the layer's own X W + b
    repeated = np.repeat(b, batch, axis=0)
    largest = float(np.abs(Y - (XW + repeated)).max())
    figure = new_figure(11, 3.6)
    grid = figure.add_gridspec(1, 5, width_ratios=[1, 1, 1, 1, 0.06])
    limit = float(np.abs(Y).max())
    panels = ((XW, f"X W {XW.shape}"), (b, f"b {b.shape}"),
              (repeated, t(f"b repeated {batch} times {repeated.shape}",
                           f"b를 {batch}번 반복 {repeated.shape}")),
              (Y, f"X W + b {Y.shape}"))
    for k, (values, title) in enumerate(panels):
        ax = figure.add_subplot(grid[0, k])
        image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
                          interpolation="nearest", extent=(0, features, len(values), 0))
        if len(values) == 1:                                     # one row: drawn as one
            ax.annotate(t(f"one row, repeated\ndown {batch} rows",
                          f"한 행을 {batch}행으로\n반복"), (features / 2, 1.5),
                        (features / 2, batch * 0.55), ha="center", va="center",
                        arrowprops={"arrowstyle": "<-"})
        ax.set_title(title, fontsize=TEXT)
        ax.set_xlabel(t("feature", "특징"))
        if k == 0:
            ax.set_ylabel(t("sample in the batch", "배치 속 샘플"))
        ax.set_ylim(batch, 0)
    bar = figure.colorbar(image, cax=figure.add_subplot(grid[0, 4]))
    bar.set_label(t("value", "값"))
    figure.suptitle(t(f"({batch}, {features}) + (1, {features}) -> ({batch}, {features}): "
                      f"the bias row is broadcast to every sample",
                      f"({batch}, {features}) + (1, {features}) -> ({batch}, {features}): "
                      f"편향 행이 모든 샘플에 브로드캐스팅됩니다"), fontsize=TITLE)
    same = t("exactly", "정확히") if largest == 0 else t(f"to {largest:.0e}",
                                                          f"{largest:.0e}까지")
    return Picture(t("Broadcasting the bias", "편향의 브로드캐스팅"), figure, 4, slide="batch",
                   data={"XW": XW, "b": b, "Y": Y, "batch": batch, "features": features,
                         "largest_difference": largest},
                   caption=t(f"b has one row; the batch has {batch}. Adding them, NumPy "
                             f"repeats b for every sample (the third panel, never stored), so "
                             f"every row of X W gets the same {features} biases: the stripes "
                             f"of b run down the whole sum. The layer's output equals X W plus "
                             f"the repeated row {same}.",
                             f"b는 한 행, 배치는 {batch}행입니다. 둘을 더하면 NumPy가 b를 "
                             f"샘플마다 반복합니다(세 번째 패널, 메모리에 만들지 않음). 그래서 "
                             f"X W의 모든 행이 같은 편향 {features}개를 받고, b의 줄무늬가 합 "
                             f"전체를 따라 내려갑니다. 층의 출력은 X W + 반복한 행과 "
                             f"{same} 같습니다."))


def l2_norm_backprop(W=((0.1, 0.5), (-0.3, 0.8)), x=(0.2, 0.4)):
    """f(x; W) = ||W x||^2 (lecture 'Neural Networks', section 4, with the numbers of the
    CS231n slide it follows) forward and backward through a glassnet Dense layer (no
    bias; glassnet stores W as (in, out), the lecture's W^T): q = W x, f = q . q,
    df/dq = 2q, dW = 2q x^T, dx = W^T 2q. Returns a dict of these (in the lecture's
    layout)."""
    W, x = np.asarray(W, np.float64), np.asarray(x, np.float64)
    layer = Dense(W.shape[0], use_bias=False)
    layer.build((None, W.shape[1]), np.random.default_rng(0), np.float64)
    layer.set_weights([W.T])
    q = layer.forward(x[None])[0]
    dq = 2 * q
    dx = layer.backward(dq[None])[0]
    return {"W": W, "x": x, "q": q, "f": float(q @ q), "dq": dq,
            "dW": layer.grads["W"].T.copy(), "dx": dx}


def _matrix(a):
    a = np.atleast_2d(np.round(a, 3))
    rows = ["[" + ", ".join(f"{v:.3g}" for v in row) + "]" for row in a]
    return rows[0] if len(rows) == 1 else "[" + ", ".join(rows) + "]"


@drawn
def plot_computational_graph(W=((0.1, 0.5), (-0.3, 0.8)), x=(0.2, 0.4), lang="en"):
    """The computational graph of f = ||W x||^2 (lecture 'Neural Networks', section 4):
    W and x meet at a matrix product q = W x, then f = ||q||^2; forward values above the
    edges (black), gradients below (red), right to left: df/df = 1, df/dq = 2q,
    dW = 2q x^T, dx = W^T 2q, all from a glassnet Dense layer's forward and backward."""
    t = words(lang)
    v = l2_norm_backprop(W, x)
    figure = new_figure(11, 4.2)
    ax = figure.add_subplot(1, 1, 1)
    nodes = {"W": (0, 2.6), "x": (0, 0), "mul": (4.2, 1.3), "norm": (8.4, 1.3),
             "f": (11.4, 1.3)}
    for name in ("W", "x"):
        ax.add_patch(Rectangle((nodes[name][0] - 0.45, nodes[name][1] - 0.35), 0.9, 0.7,
                               facecolor="#f4f4f4", edgecolor="#333333", zorder=3))
        ax.text(*nodes[name], name, ha="center", va="center", fontsize=12, zorder=4)
    _node(ax, nodes["mul"], "×", radius=0.45)
    _node(ax, nodes["norm"], "||·||²", radius=0.55)
    ax.text(*nodes["f"], "f", ha="center", va="center", fontsize=12)
    red = "#d62728"
    radius = {"W": 0.5, "x": 0.5, "mul": 0.47, "norm": 0.57, "f": 0.25}
    for a, b_ in (("W", "mul"), ("x", "mul"), ("mul", "norm"), ("norm", "f")):
        _arrow(ax, nodes[a], nodes[b_], "#777777", width=1.2, scale=12, zorder=0,
               gap=(radius[a], radius[b_]))
    ax.text(-0.6, 3.1, f"W = {_matrix(v['W'])}", ha="left", va="bottom", fontsize=TEXT)
    ax.text(-0.6, 3.75, f"dW = 2q x^T = {_matrix(v['dW'])}", ha="left", va="bottom",
            fontsize=TEXT, color=red)
    ax.text(-0.6, -0.5, f"x = {_matrix(v['x'])}", ha="left", va="top", fontsize=TEXT)
    ax.text(-0.6, -1.1, f"dx = W^T 2q = {_matrix(v['dx'])}", ha="left", va="top",
            fontsize=TEXT, color=red)
    mid = (np.add(nodes["mul"], nodes["norm"])) / 2
    ax.text(mid[0], mid[1] + 0.2, f"q = W x = {_matrix(v['q'])}", ha="center", va="bottom",
            fontsize=TEXT)
    ax.text(mid[0], mid[1] - 0.2, f"df/dq = 2q = {_matrix(v['dq'])}", ha="center", va="top",
            fontsize=TEXT, color=red)
    end = (np.add(nodes["norm"], nodes["f"])) / 2
    ax.text(end[0] + 0.1, end[1] + 0.2, f"f = {v['f']:.3g}", ha="center", va="bottom",
            fontsize=TEXT)
    ax.text(end[0] + 0.1, end[1] - 0.2, "df/df = 1", ha="center", va="top", fontsize=TEXT,
            color=red)
    _diagram(ax, (-0.8, 12.2), (-1.8, 4.4),
             t("f = ||W x||²: forward values (black), gradients (red, right to left)",
               "f = ||W x||²: 순전파 값(검정), 그라디언트(빨강, 오른쪽에서 왼쪽으로)"))
    return Picture(t("Computational graph of f = ||W x||²", "f = ||W x||²의 계산 그래프"),
                   figure, 1, slide="nn_example", data=v,
                   caption=t(f"Forward, left to right: q = W x = {_matrix(v['q'])}, "
                             f"f = ||q||² = {v['f']:.3g}. Backward, right to left: the "
                             f"square's local gradient gives df/dq = 2q = {_matrix(v['dq'])}; "
                             f"the product sends it to both inputs, dW = 2q x^T = "
                             f"{_matrix(v['dW'])} and dx = W^T 2q = {_matrix(v['dx'])}: each "
                             f"input's gradient is the other input times the gradient "
                             f"arriving.",
                             f"순전파(왼쪽에서 오른쪽): q = W x = {_matrix(v['q'])}, "
                             f"f = ||q||² = {v['f']:.3g}. 역전파(오른쪽에서 왼쪽): 제곱의 국소 "
                             f"미분이 df/dq = 2q = {_matrix(v['dq'])}를 주고, 곱셈 노드는 이를 두 "
                             f"입력으로 보냅니다: dW = 2q x^T = {_matrix(v['dW'])}, "
                             f"dx = W^T 2q = {_matrix(v['dx'])}. 각 입력의 그라디언트는 다른 "
                             f"입력 × 도착한 그라디언트입니다."))


def activation_curves(z):
    """f(z) and f'(z) of sigmoid, tanh and ReLU, from glassnet's Activation layers:
    forward, then backward with an upstream gradient of ones. {name: (f, f')}."""
    z = np.asarray(z, np.float64)[:, None]
    out = {}
    for name in ("sigmoid", "tanh", "relu"):
        layer = Activation(name)
        y = layer.forward(z)
        out[name] = (y[:, 0].copy(), layer.backward(np.ones_like(z))[:, 0].copy())
    return out


@drawn
def plot_activation_derivatives(depth=10, lang="en"):
    """Sigmoid, tanh and ReLU with their derivatives (lecture 'The mathematics of neural
    networks', section 3): sigmoid's slope is at most 0.25, so through ``depth`` layers a
    gradient shrinks by at least 0.25^depth (vanishing gradient); tanh's is at most 1 but
    falls to 0 where it saturates; ReLU's is exactly 1 for z > 0 and 0 for z < 0, so a
    unit whose z is negative for every input gets no gradient (dead ReLU)."""
    t = words(lang)
    z = np.linspace(-6, 6, 601)
    curves = activation_curves(z)
    peaks = {name: float(d.max()) for name, (_, d) in curves.items()}
    flat = float(np.mean(curves["tanh"][1] < 0.1)) * 100
    figure = new_figure(11, 3.6)
    for k, (name, (f, d)) in enumerate(curves.items()):
        ax = figure.add_subplot(1, 3, k + 1)
        ax.plot(z, f, color="#1f77b4", label=f"{name}(z)")
        ax.plot(z, d, color="#d62728", linestyle="--", label=t(f"{name}'(z): slope",
                                                                f"{name}'(z): 기울기"))
        ax.axhline(0, color="#bbbbbb", linewidth=0.8, zorder=0)
        ax.set_xlabel("z")
        ax.legend(loc="upper left")
        if name == "sigmoid":
            shrink = peaks[name] ** depth
            ax.set_title(t(f"sigmoid: slope at most {peaks[name]:.2f};\n{depth} layers: "
                           f"x {shrink:.1e} (vanishing)",
                           f"시그모이드: 기울기 최대 {peaks[name]:.2f};\n층 {depth}개: "
                           f"x {shrink:.1e} (그라디언트 소실)"))
            ax.set_ylim(-0.1, 1.9)
        elif name == "tanh":
            ax.set_title(t(f"tanh: slope at most {peaks[name]:.0f}, below 0.1\non "
                           f"{flat:.0f}% of z in [-6, 6] (saturated)",
                           f"tanh: 기울기 최대 {peaks[name]:.0f}, [-6, 6]의\n{flat:.0f}%에서 "
                           f"0.1 미만 (포화)"))
            ax.set_ylim(-1.1, 2.6)
        else:
            ax.axvspan(-6, 0, color="#eeeeee", zorder=0)
            ax.text(-3, 3.2, t("z < 0: slope 0\nno gradient passes\n(dead if z < 0 for\n"
                               "every input)", "z < 0: 기울기 0\n그라디언트가 지나가지 "
                               "못함\n(모든 입력에서 z < 0이면\n죽은 ReLU)"),
                    ha="center", va="center", fontsize=TEXT)
            ax.set_ylim(-0.5, 6.5)
            ax.set_title(t("ReLU: slope 1 for z > 0, 0 for z < 0",
                           "ReLU: z > 0이면 기울기 1, z < 0이면 0"))
    shrink = peaks["sigmoid"] ** depth
    return Picture(t("Activation functions and their derivatives",
                     "활성화 함수와 그 미분"), figure, 3, slide="activation",
                   data={"z": z, "curves": curves, "peaks": peaks, "depth": depth,
                         "flat": flat, "flat_below": 0.1, "range": (-6, 6),
                         "sigmoid_shrink": shrink},
                   caption=t(f"Backpropagation multiplies by f'(z) at every layer. Sigmoid's "
                             f"f' is at most {peaks['sigmoid']:.2f}, so after {depth} sigmoid "
                             f"layers a gradient is at most {shrink:.1e} of what it was: it "
                             f"vanishes. tanh's f' reaches {peaks['tanh']:.0f} at 0 but is "
                             f"nearly 0 where tanh saturates. ReLU passes the gradient "
                             f"unchanged (f' = 1) where z > 0 and blocks it where z < 0: a "
                             f"unit with z < 0 for every input never learns again (dead "
                             f"ReLU).",
                             f"역전파는 층마다 f'(z)를 곱합니다. 시그모이드의 f'는 최대 "
                             f"{peaks['sigmoid']:.2f}이므로 시그모이드 층 {depth}개를 지나면 "
                             f"그라디언트는 많아야 원래의 {shrink:.1e}배: 사라집니다(그라디언트 "
                             f"소실). tanh의 f'는 0에서 {peaks['tanh']:.0f}이지만 포화된 곳에서는 "
                             f"거의 0입니다. ReLU는 z > 0이면 그라디언트를 그대로(f' = 1) 보내고 "
                             f"z < 0이면 막습니다: 모든 입력에서 z < 0인 유닛은 다시는 학습하지 "
                             f"못합니다(죽은 ReLU)."))


def time_batch_sizes(batch_sizes=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512), samples=512,
                     widths=(64, 128, 64, 10), repeats=5, seed=0):
    """Seconds per sample of glassnet's forward pass (``Sequential.forward``) of an MLP
    of ``widths`` over ``samples`` samples, split into batches of each size; the best
    (least disturbed by other work on the machine) of ``repeats`` rounds, the sizes
    alternating within each round. Checks that every
    batch size gives the same outputs. Returns [(batch, seconds per sample), ...]."""
    model = Sequential([Dense(w, activation="relu" if k < len(widths) - 2 else None,
                              input_dim=widths[0] if k == 0 else None)
                        for k, w in enumerate(widths[1:])], seed=seed).build()
    X = np.random.default_rng(seed).normal(size=(samples, widths[0])).astype(model.dtype)
    reference = model.forward(X)
    times = {batch: [] for batch in batch_sizes}
    for batch in batch_sizes:                                    # warm up, unrecorded
        model.forward(X[:batch])
    for _ in range(repeats):
        for batch in batch_sizes:
            start = time.perf_counter()
            out = [model.forward(X[i:i + batch]) for i in range(0, samples, batch)]
            times[batch].append((time.perf_counter() - start) / samples)
            if not np.allclose(np.concatenate(out), reference, rtol=1e-4, atol=1e-5):
                raise AssertionError(f"batch {batch} gives other outputs than one batch")
    return [(batch, float(np.min(times[batch]))) for batch in batch_sizes]


@drawn
def plot_batch_timing(rows=None, lang="en"):
    """Time per sample against batch size (lecture 'The voyage of information', slide
    12): ``rows`` from ``time_batch_sizes`` (measured now when None), on log-log axes. A
    batch shares the fixed cost of each layer's call among its samples and lets one
    matrix product do the work of many."""
    t = words(lang)
    rows = time_batch_sizes() if rows is None else [tuple(r) for r in rows]
    batches = [r[0] for r in rows]
    micro = [r[1] * 1e6 for r in rows]
    figure = new_figure(6.5, 4.2)
    ax = figure.add_subplot(1, 1, 1)
    ax.plot(batches, micro, "o-", color="#2ca02c")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.set_xticks([], minor=True)
    ax.set_xlabel(t("batch size (log scale)", "배치 크기 (로그 눈금)"))
    ax.set_ylabel(t("time per sample (µs, log scale)", "샘플당 시간 (µs, 로그 눈금)"))
    first, last = micro[0], micro[-1]
    fastest = int(np.argmin(micro))
    ax.annotate(f"{first:.1f} µs", (batches[0], first), (6, 8), textcoords="offset points",
                va="bottom")
    ax.annotate(f"{last:.2f} µs", (batches[-1], last), (0, 12), textcoords="offset points",
                ha="center", va="bottom")
    ax.set_title(t(f"one sample at a time: {first:.1f} µs each;\nbatches of {batches[-1]}: "
                   f"{last:.2f} µs each ({first / last:.0f}x less)",
                   f"샘플 하나씩: 샘플당 {first:.1f} µs;\n배치 {batches[-1]}: 샘플당 "
                   f"{last:.2f} µs ({first / last:.0f}배 적음)"))
    ax.margins(x=0.15, y=0.25)
    return Picture(t("Time per sample against batch size", "배치 크기에 따른 샘플당 시간"),
                   figure, 1, slide="batch",
                   data={"rows": rows, "micro": micro, "ratio": first / last,
                         "fastest": batches[fastest]},
                   caption=t(f"Measured on this machine with glassnet's forward pass: one "
                             f"sample at a time costs {first:.1f} µs per sample, a batch of "
                             f"{batches[-1]} {last:.2f} µs, {first / last:.0f}x less; the "
                             f"cheapest is batch {batches[fastest]}. Each layer's call has a "
                             f"fixed cost that a batch shares among its samples, and one "
                             f"(B, I) @ (I, O) product does the work of B vector products.",
                             f"이 컴퓨터에서 glassnet의 순전파로 측정: 샘플 하나씩 계산하면 "
                             f"샘플당 {first:.1f} µs, 배치 {batches[-1]}이면 {last:.2f} µs로 "
                             f"{first / last:.0f}배 적습니다. 가장 빠른 것은 배치 "
                             f"{batches[fastest]}입니다. 층을 부를 때마다 드는 고정 비용을 배치의 "
                             f"샘플들이 나누어 내고, (B, I) @ (I, O) 행렬곱 한 번이 벡터 곱 "
                             f"B번의 일을 합니다."))


def receptive_field(layers, channels=1):
    """The receptive field (in pixels, one side) of a stack of Conv2D layers, found by
    the engine: a single bright pixel pushed through the stack with all-ones kernels;
    the side of the square of outputs it reaches."""
    size = 2 * sum(k - 1 for k in layers) + 1
    model = Sequential([Conv2D(channels, k, padding="same", use_bias=False,
                               kernel_initializer="ones") for k in layers],
                       input_shape=(size, size, channels), dtype="float64").build()
    X = np.zeros((1, size, size, channels))
    X[0, size // 2, size // 2] = 1.0
    reached = np.abs(model.forward(X)[0, ..., 0]) > 0
    return int(reached.any(axis=0).sum())


def conv_parameters(layers, channels):
    """Parameters of a stack of Conv2D(channels, k) on ``channels`` inputs, counted by
    the engine (weights and biases)."""
    model = Sequential([Conv2D(channels, k, padding="same") for k in layers],
                       input_shape=(32, 32, channels))
    return model.count_params()


@drawn
def plot_vgg_stack(channels=64, lang="en"):
    """Why VGG stacks 3x3 convolutions (lecture 'The mathematics of neural networks',
    section 6): n stacked 3x3 layers see as far as one (2n+1)x(2n+1) kernel (receptive
    field, found by pushing one pixel through the engine's layers), with fewer parameters
    (counted by the engine) and n non-linearities instead of one."""
    t = words(lang)
    stacks = {n: {"stack": [3] * n, "large": [2 * n + 1]} for n in (1, 2, 3)}
    rows = []
    for n, kinds in stacks.items():
        rows.append({"layers": n,
                     "field": receptive_field(kinds["stack"]),
                     "large_field": receptive_field(kinds["large"]),
                     "stack_params": conv_parameters(kinds["stack"], channels),
                     "large_params": conv_parameters(kinds["large"], channels)})
    figure = new_figure(11, 4.0)
    grid = figure.add_gridspec(1, 2, width_ratios=[1, 1.2])
    ax = figure.add_subplot(grid[0, 0])
    side = rows[-1]["field"]
    colours = [CLASS_COLOURS[2], CLASS_COLOURS[0], CLASS_COLOURS[3]]
    for i in range(side + 1):
        ax.plot([0, side], [i, i], color="#dddddd", linewidth=0.7, zorder=0)
        ax.plot([i, i], [0, side], color="#dddddd", linewidth=0.7, zorder=0)
    centre = side / 2
    for row, colour in zip(reversed(rows), reversed(colours)):
        f = row["field"]
        ax.add_patch(Rectangle((centre - f / 2, centre - f / 2), f, f, facecolor=colour,
                               alpha=0.35, edgecolor=colour, linewidth=2,
                               label=t(f"{row['layers']} x 3x3 = one {f}x{f}",
                                       f"3x3 {row['layers']}개 = {f}x{f} 하나")))
    ax.add_patch(Rectangle((centre - 0.5, centre - 0.5), 1, 1, facecolor="black"))
    ax.set_xlim(-0.2, side + 0.2)
    ax.set_ylim(-0.2, side + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_title(t("what one output pixel (black) sees", "출력 픽셀 하나(검정)가 보는 영역"))
    ax = figure.add_subplot(grid[0, 1])
    x = np.arange(len(rows))
    stack = [r["stack_params"] for r in rows]
    large = [r["large_params"] for r in rows]
    ax.bar(x - 0.2, stack, 0.4, color="#2ca02c", label=t("stacked 3x3 (n ReLUs)",
                                                          "3x3 쌓기 (ReLU n개)"))
    ax.bar(x + 0.2, large, 0.4, color="#d62728", label=t("one large kernel (1 ReLU)",
                                                         "큰 커널 하나 (ReLU 1개)"))
    for k, (s, g) in enumerate(zip(stack, large)):
        ax.text(k - 0.2, s, f"{s:,}", ha="center", va="bottom", fontsize=TEXT)
        ax.text(k + 0.2, g, f"{g:,}", ha="center", va="bottom", fontsize=TEXT)
    ax.set_xticks(x, [t(f"{r['field']}x{r['field']}: n = {r['layers']}",
                        f"{r['field']}x{r['field']}: n = {r['layers']}") for r in rows])
    ax.set_ylabel(t(f"parameters ({channels} -> {channels} channels)",
                    f"파라미터 (채널 {channels} -> {channels})"))
    ax.set_ylim(0, max(large) * 1.35)
    ax.legend(loc="upper left")
    last = rows[-1]
    share = last["stack_params"] / last["large_params"]
    ax.set_title(t(f"the same field, {100 * share:.0f}% of the parameters at "
                   f"{last['field']}x{last['field']}",
                   f"같은 영역, {last['field']}x{last['field']}에서 파라미터 {100 * share:.0f}%"))
    return Picture(t("Stacked 3x3 convolutions (VGG)", "3x3 컨볼루션 쌓기 (VGG)"), figure, 2,
                   slide="architectures", data={"rows": rows, "share": share,
                                                "channels": channels},
                   caption=t(f"Each 3x3 layer widens what an output pixel sees by 2: "
                             f"{last['layers']} stacked layers see {last['field']}x"
                             f"{last['field']} pixels, as much as one {last['field']}x"
                             f"{last['field']} kernel, with {last['stack_params']:,} "
                             f"parameters instead of {last['large_params']:,} "
                             f"({100 * share:.0f}%) and {last['layers']} non-linearities "
                             f"instead of 1. Depth buys the same view for fewer parameters "
                             f"and more bends.",
                             f"3x3 층 하나가 출력 픽셀이 보는 영역을 2씩 넓힙니다: 3x3 "
                             f"{last['layers']}개를 쌓으면 {last['field']}x{last['field']} "
                             f"픽셀을 봅니다. {last['field']}x{last['field']} 커널 하나와 같은 "
                             f"영역이지만 파라미터는 {last['large_params']:,}개 대신 "
                             f"{last['stack_params']:,}개({100 * share:.0f}%)이고 비선형 함수는 "
                             f"1개 대신 {last['layers']}개입니다. 깊이는 더 적은 파라미터로 같은 "
                             f"영역을 보고 더 많이 휩니다."))
