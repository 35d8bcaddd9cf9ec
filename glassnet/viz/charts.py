"""Pictures of the forward pass: decision boundaries through training, the bias as a
threshold, the colour-coded matrix product, an image becoming a vector, loops against
matrix products, the parameter explosion and universal approximation. Each takes
explicit seeds and ``lang`` ("en" or "ko"), and says what to notice in its caption and
which lecture slide it draws (``Picture.slide``)."""
import math
import time

import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from .. import optimizers
from ..layers.activations import Activation, ActivationFunction
from ..network.callbacks import Callback
from ..layers.dense import Dense, Dropout, Flatten
from ..lectures import words
from ..network.sequential import Sequential
from .picture import (CLASS_COLOURS, TEXT, TITLE, Picture, confidence_image, drawn,
                      model_probabilities, new_figure, rgb)


def _boundary(ax, model, X, y, resolution=80):
    low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    image = confidence_image(model_probabilities(model), (low[0], high[0]),
                             (low[1], high[1]), resolution)
    ax.imshow(image, origin="lower", alpha=0.55, extent=(low[0], high[0], low[1], high[1]),
              aspect="auto")
    ax.scatter(X[:, 0], X[:, 1], c=[CLASS_COLOURS[int(k) % 10] for k in y], s=6,
               edgecolors="white", linewidths=0.2)
    ax.set_xticks([])
    ax.set_yticks([])


@drawn
def plot_decision_boundary(model, X, y, title=None, lang="en"):
    """The input space coloured by the predicted class, lighter where less confident."""
    t = words(lang)
    title = title or t("Decision boundary", "결정 경계")
    figure = new_figure(4.5, 4.5)
    ax = figure.add_subplot(1, 1, 1)
    _boundary(ax, model, X, y)
    ax.set_title(title)
    return Picture(title, figure, 1, slide="geometry",
                   caption=t("Each point of the plane is coloured by the class the model "
                             "predicts there, lighter where it is less sure: the boundary is "
                             "where the colour changes.",
                             "평면의 각 점을 모델이 예측한 클래스의 색으로 칠했습니다(덜 "
                             "확신할수록 "
                             ""
                             "옅게). 색이 바뀌는 곳이 결정 경계입니다."))


class _EveryEpoch(Callback):
    """The weights before training and after every epoch."""

    def __init__(self):
        self.weights = []

    def on_train_begin(self, logs):
        self.weights.append(self.model.get_weights())

    def on_epoch_end(self, epoch, logs):
        self.weights.append(self.model.get_weights())


def changing_epochs(distances, panels):
    """Which epochs to show so that the panels split the boundary's way to its final
    place evenly: ``distances[k]`` is the share of the plane whose predicted class after
    epoch k (0: before training) still differs from the final one. Always the start and
    the end; in between, the first epoch by which each further 1/(panels - 1) of the
    starting distance is gone (no epoch twice). Net changes only: a region that flips
    and flips back does not count."""
    distances = np.asarray(distances, float)
    last = len(distances) - 1
    chosen = [0]
    for k in range(1, panels - 1):
        reached = np.flatnonzero(distances <= distances[0] * (1 - k / (panels - 1)))
        epoch = int(reached[0]) if len(reached) else last
        if chosen[-1] < epoch < last:
            chosen.append(epoch)
    return chosen + [last]


@drawn
def boundary_through_training(model, X, y, epochs=60, panels=6, batch_size=32, seed=0,
                              lang="en"):
    """Train ``model`` (compiled) and show its decision boundary at the epochs where it
    moves: the weights are kept after every epoch, the plane's predicted classes compared
    epoch by epoch, and ``panels`` snapshots chosen that split the total change evenly
    (``changing_epochs``). A figure of panels and an animation of the same snapshots."""
    t = words(lang)
    kept = _EveryEpoch()
    model.fit(X, y, epochs=epochs, batch_size=batch_size, seed=seed, verbose=0,
              callbacks=[kept])
    final = model.get_weights()
    low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], 60), np.linspace(low[1], high[1], 60))
    grid = np.c_[gx.ravel(), gy.ravel()]
    classes = []
    for weights in kept.weights:
        model.set_weights(weights)
        classes.append(model.predict(grid, batch_size=4096, verbose=0).argmax(axis=1))
    distances = [float(np.mean(c != classes[-1])) for c in classes]
    shown = changing_epochs(distances, panels)
    cols = min(len(shown), 4)
    rows = -(-len(shown) // cols)
    figure = new_figure(2.7 * cols, 2.8 * rows)
    frame_figure = new_figure(4.5, 4.5)
    frame_ax = frame_figure.add_subplot(1, 1, 1)
    frames, titles, changed = [], [], []
    for k, epoch in enumerate(shown):
        model.set_weights(kept.weights[epoch])
        since = float(np.mean(classes[epoch] != classes[shown[k - 1]])) if k else 0.0
        changed.append(since)
        title = (t(f"after epoch {epoch}", f"{epoch}번째 에포크 후") if epoch else
                 t("before training", "학습 전"))
        if k:
            title += t(f"\n{100 * since:.0f}% of the plane changed class\nsince the last "
                       f"panel", f"\n앞 패널 이후 평면의 {100 * since:.0f}%가\n클래스를 바꿈")
        titles.append(title)
        _boundary(figure.add_subplot(rows, cols, k + 1), model, X, y)
        figure.axes[-1].set_title(title)
        frame_ax.clear()
        _boundary(frame_ax, model, X, y)
        frame_ax.set_title(title)
        frames.append(rgb(frame_figure))
    model.set_weights(final)
    moved = next(e for e, d in enumerate(distances) if d <= 0.1 * distances[0])
    return Picture(t("Decision boundary through training", "학습에 따른 결정 경계"), figure,
                   len(shown), frames, frame_ms=900, slide="geometry",
                   data={"epochs": shown, "distances": distances, "titles": titles,
                         "changed": changed, "moved": moved, "share": 0.9,
                         "start_distance": distances[0]},
                   caption=t(f"Snapshots split the boundary's way to its final place evenly: "
                             f"before training {100 * distances[0]:.0f}% of the plane is "
                             f"classed otherwise than at the end, and 90% of that is settled "
                             f"by epoch {moved} of {epochs}. Each title says how much of the "
                             f"plane changed class since the panel before. Watch the boundary "
                             f"bend around the data as the weights learn.",
                             f"경계가 최종 위치로 가는 길을 고르게 나누어 그렸습니다: 학습 전에는 "
                             f"평면의 {100 * distances[0]:.0f}%가 마지막과 다른 클래스이고, 그 "
                             f"90%가 {epochs} 에포크 중 {moved}번째까지 정해집니다. 각 제목은 앞 "
                             f"패널 이후 클래스가 바뀐 평면의 비율입니다. 가중치가 학습되며 경계가 "
                             f"데이터를 따라 휘어 가는 모습을 보세요."))


@drawn
def plot_bias_threshold(lang="en"):
    """f(w x + b) for b = 0, b > 0, b < 0 (sigmoid and ReLU), the shift -b/w marked, and
    the slope changing with w (lecture 'The voyage of information', slide 10)."""
    t = words(lang)
    x = np.linspace(-6, 6, 400)
    figure = new_figure(11, 4.0)
    for k, name in enumerate(("sigmoid", "relu")):
        ax = figure.add_subplot(1, 3, k + 1)
        f = ActivationFunction(name).apply
        for b, colour in ((0.0, "black"), (2.0, "#2ca02c"), (-2.0, "#d62728")):
            ax.plot(x, f(1.0 * x + b), color=colour,
                    label=t(f"b = {b:+.0f}: threshold at x = {0.0 - b:+.0f}",
                            f"b = {b:+.0f}: 문턱 x = {0.0 - b:+.0f}"))
            ax.axvline(-b / 1.0, color=colour, linestyle=":", linewidth=1)
        ax.set_title(t(f"{name}(w x + b), w = 1: threshold at x = -b/w",
                       f"{name}(w x + b), w = 1: 문턱은 x = -b/w"))
        ax.set_xlabel("x")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax = figure.add_subplot(1, 3, 3)
    for w in (0.5, 1.0, 3.0):
        ax.plot(x, ActivationFunction("sigmoid").apply(w * x), label=f"w = {w}")
    ax.set_title(t("sigmoid(w x): w sets the slope", "sigmoid(w x): w는 기울기를 정함"))
    ax.set_xlabel("x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return Picture(t("The bias as a threshold", "문턱으로서의 편향"), figure, 3, slide="bias",
                   data={"b": (0, 2, -2), "w": (0.5, 1, 3)},
                   caption=t("The same curve slides sideways as b changes: b > 0 moves the "
                             "threshold left (the neuron fires for smaller inputs), b < 0 "
                             "right. w only changes how steep the switch is.",
                             "b가 바뀌면 같은 곡선이 옆으로 미끄러집니다: b > 0이면 문턱이 "
                             "왼쪽으로(더 작은 입력에도 활성화), b < 0이면 오른쪽으로 갑니다. "
                             "w는 전환이 얼마나 가파른지만 바꿉니다."))


KOREAN_NAMES = {"softmax": "소프트맥스", "sigmoid": "시그모이드"}


def _cell(ax, x, y, text, colour="#ffffff", edge="#555555"):
    ax.add_patch(Rectangle((x - 0.5, y - 0.4), 1.0, 0.8, facecolor=colour, edgecolor=edge,
                           zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=TITLE, zorder=3)


def _tint(colour, amount=0.25):
    rgb_ = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return tuple(rgb_ * amount + (1 - amount))


def _down(ax, x, top, bottom, colour):
    ax.add_patch(FancyArrowPatch((x, top), (x, bottom), arrowstyle="-|>", mutation_scale=12,
                                 color=colour, linewidth=1.4, zorder=1))


@drawn
def plot_colour_matmul(x=(1.0, 2.0, 3.0), W=((0.1, 0.4), (0.2, 0.5), (0.3, 0.6)),
                       b=(0.5, -0.5), activation="softmax", lang="en"):
    """h = x W + b, then y = activation(h), drawn as lecture 'The voyage of information'
    draws it (slide 6) for lecture 07-03's Dense(2, input_dim=3, activation='softmax'),
    coloured by output: column j of W, its dot product with x, the bias b_j, h_j and y_j
    share one colour and stand in one vertical line, so each output's "filter" (its
    column) and its sum cannot be mistaken. x is written down the left side, x_i level
    with the row of W it multiplies; every sum is written out with the real numbers.
    ``activation``: the layer's (computed by glassnet's Activation layer), or None."""
    t = words(lang)
    x, W = np.asarray(x, float), np.asarray(W, float)
    if x.ndim != 1 or W.ndim != 2 or W.shape[0] != len(x) or len(x) > 8 or W.shape[1] > 6:
        raise ValueError(f"plot_colour_matmul: needs x of n values and W of shape (n, m) "
                         f"with n <= 8 and m <= 6; got x {x.shape} and W {W.shape}. Give W "
                         f"one row per input, such as x=(1, 2, 3), "
                         f"W=((0.1, 0.4), (0.2, 0.5), (0.3, 0.6)).")
    n, m = W.shape
    b = np.zeros(m) if b is None else np.asarray(b, float)
    if b.shape != (m,):
        raise ValueError(f"plot_colour_matmul: b must hold one bias per column of W ({m}), "
                         f"got shape {b.shape}.")
    xW = x @ W
    h = xW + b
    y = h if activation is None else Activation(activation).forward(h[None])[0]
    rows = 4 if activation is None else 5
    figure = new_figure(min(11, 4.2 + 1.2 * m), 2.0 + 0.55 * (n + rows) + 0.3 * m)
    ax = figure.add_subplot(1, 1, 1)
    step, left = 1.35, 2.3
    columns = [left + step * j for j in range(m)]
    for i in range(n):
        row = n - 1 - i
        _cell(ax, 0, row, f"{x[i]:g}", "#f2f2f2")
        ax.text(-0.65, row, f"x{i + 1}", ha="right", va="center", fontsize=TITLE)
        ax.plot([0.5, columns[-1]], [row, row], color="#cccccc", linewidth=0.8, zorder=0)
        ax.text(1.15, row, "×", ha="center", va="center", fontsize=TITLE, color="#777777")
        for j in range(m):
            _cell(ax, columns[j], row, f"{W[i, j]:g}", _tint(CLASS_COLOURS[j]),
                  CLASS_COLOURS[j])
    ax.text(0, n - 0.3, f"x (1×{n})", ha="center", va="bottom", fontsize=TITLE)
    for j, col in enumerate(columns):
        colour = CLASS_COLOURS[j]
        ax.text(col, n - 0.3, t(f"column {j + 1}\n= neuron {j + 1}", f"{j + 1}열\n= 뉴런 {j + 1}"),
                ha="center", va="bottom", fontsize=TEXT, color=colour)
        _down(ax, col, -0.45, -1.05, colour)
        _cell(ax, col, -1.45, f"Σ {xW[j]:g}", _tint(colour, 0.15), colour)
        _down(ax, col, -1.85, -2.25, colour)
        _cell(ax, col, -2.65, f"+ {b[j]:g}", _tint(colour, 0.15), colour)
        _down(ax, col, -3.05, -3.45, colour)
        _cell(ax, col, -3.85, f"{h[j]:g}", _tint(colour, 0.3), colour)
        if activation is not None:
            _down(ax, col, -4.25, -4.65, colour)
            _cell(ax, col, -5.05, f"{y[j]:.2f}", _tint(colour, 0.5), colour)
    ax.text(columns[-1] + 0.7, -1.45, t("Σ_i x_i w_ij", "Σ_i x_i w_ij"), va="center")
    ax.text(columns[-1] + 0.7, -2.65, t("+ b_j (bias)", "+ b_j (편향)"), va="center")
    ax.text(columns[-1] + 0.7, -3.85, t("= h_j (before the\nactivation)",
                                        "= h_j (활성화 함수 전)"), va="center")
    if activation is not None:
        ax.text(columns[-1] + 0.7, -5.05, f"y = {activation}(h)", va="center")
    top = -4.75 - (1.2 if activation is not None else 0)
    for j in range(m):
        terms = " + ".join(f"({x[i]:g})({W[i, j]:g})" for i in range(n))
        ax.text(-0.9, top - 0.55 * j, f"h{j + 1} = {terms} + ({b[j]:g}) = {h[j]:g}",
                color=CLASS_COLOURS[j], fontsize=TITLE, va="center")
    if activation is not None:
        ax.text(-0.9, top - 0.55 * m, f"y = {activation}(h) = [" + ", ".join(
            f"{v:.2f}" for v in y) + "]", fontsize=TITLE, va="center")
    ax.set_xlim(-1.4, columns[-1] + 3.2)
    ax.set_ylim(top - 0.55 * (m + 1) - 0.2, n + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"h = x W + b: x (1×{n}) @ W ({n}×{m}) + b ({m}) = h ({m})"
                 + ("" if activation is None else f"; y = {activation}(h)"))
    after = "" if activation is None else t(
        f" Then {activation} turns the scores h into the outputs y = [" + ", ".join(
            f"{v:.2f}" for v in y) + "].",
        f" 이어서 {KOREAN_NAMES.get(activation, activation)}가 점수 h를 출력 y = ["
        + ", ".join(f"{v:.2f}" for v in y) + "]로 바꿉니다.")
    return Picture(t("Colour-coded matrix product", "색으로 읽는 행렬곱"), figure, 1,
                   slide="colour_matmul", data={"y": y.tolist(), "h": h.tolist(),
                                                "xW": xW.tolist(), "b": b.tolist()},
                   caption=t("Follow one colour down: h_j uses only column j of W (neuron "
                             "j's weights, its 'filter'), multiplied element by element with "
                             "x, summed, then shifted by its own bias b_j.",
                             "한 가지 색을 따라 내려가 보세요: h_j는 W의 j열(뉴런 j의 가중치, "
                             "즉 '필터')만 사용합니다. x와 원소끼리 곱해 더한 뒤, 자신의 편향 "
                             "b_j만큼 이동합니다.") + after)


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
    ax.set_title(title, fontsize=TEXT)
    ax.set_xticks([])
    ax.set_yticks([])
    return image


@drawn
def plot_image_to_vector(model, image, label=None, pixels=None, lang="en"):
    """One image through a trained network: the pixels, the first layer's weights as
    images (filters), each hidden layer's activations (up to 8 feature maps for
    convolutions, a column of units for dense layers), and the output probabilities.
    Dropout layers are left out: at inference they pass values through unchanged. Signed
    values use a diverging map centred at 0, each panel divided by its own largest
    absolute value. ``pixels``: the image as a person sees it (before standardisation),
    drawn in the first panel instead of ``image``."""
    t = words(lang)
    X = np.asarray(image, dtype=model.dtype)[None]
    values, H = [], X
    for layer in model.layers:
        H = layer.forward(H, training=False)
        if not isinstance(layer, (Dropout, Flatten)):
            values.append((repr(layer), H[0]))
    W = model.layers[0].params["W"]
    side = int(round(np.sqrt(W.shape[0])))
    convolution = W.ndim == 4
    if W.ndim == 2 and side * side == W.shape[0]:
        filters = W.T[:8].reshape(-1, side, side)       # a column of W is an image
    elif convolution:
        filters = np.moveaxis(W[..., 0, :8], -1, 0)       # (kh, kw, in, out): input channel 0
    else:
        filters = []
    hidden = values[:-1][:3]
    figure = new_figure(11, 5.8)
    outer = figure.add_gridspec(2, 1, height_ratios=[2, 1])
    grid, low = outer[0].subgridspec(1, 8), outer[1].subgridspec(1, 8)
    ax = figure.add_subplot(grid[0, 0:2])
    shown_as_given = pixels is not None
    pixels = np.asarray(image if pixels is None else pixels, dtype=float)
    square = math.isqrt(pixels.size)
    ax.imshow(pixels.reshape(pixels.shape[0], -1) if pixels.ndim == 3 else
              pixels.reshape(square, square) if pixels.ndim == 1 and square ** 2 == pixels.size
              else np.atleast_2d(pixels), cmap="gray_r")
    ax.set_title(t("pixels", "픽셀") + (t(f" (digit {label})", f" (숫자 {label})")
                                       if label is not None else "")
                 + ("" if shown_as_given else t("\nas the network receives them",
                                                "\n신경망이 받는 그대로")))
    ax.axis("off")
    panels = 1
    for k, f in enumerate(filters):
        _signed(figure.add_subplot(low[0, k]), f, t(f"filter {k + 1}", f"필터 {k + 1}"))
        panels += 1
    for k, (name, v) in enumerate(hidden):
        ax = figure.add_subplot(grid[0, 2 + k])
        if v.ndim == 3:
            shown = _mosaic(v)
            name = t(f"{name}\n{min(v.shape[-1], 8)} of {v.shape[-1]} maps",
                     f"{name}\n맵 {v.shape[-1]}개 중 {min(v.shape[-1], 8)}개")
        else:
            shown = v.reshape(-1, 1 if v.size < 8 else 8)
            name = t(f"{name}\n{v.size} units,\n8 per row",
                     f"{name}\n유닛 {v.size}개,\n한 줄에 8개")
        colours = _signed(ax, shown, name)
        ax.set_aspect("equal" if v.ndim == 3 else "auto")
        panels += 1
    if hidden:                                 # inside the last panel's slot: no reflow
        bar = figure.colorbar(colours, cax=ax.inset_axes([1.08, 0.15, 0.07, 0.7]))
        bar.set_label(t("value / panel's largest |value|", "값 / 패널의 최대 |값|"))
    ax = figure.add_subplot(grid[0, 3 + len(hidden):8])
    probabilities = values[-1][1]
    ax.bar(range(len(probabilities)), probabilities, color="#1f77b4")
    ax.set_title(t("output probabilities (class index)", "출력 확률 (클래스 인덱스)"))
    ax.set_xticks(range(len(probabilities)))
    panels += 1
    guess = int(np.argmax(probabilities))
    classes = len(probabilities)
    kernel = (f"{W.shape[0]}x{W.shape[1]}" if convolution else f"{side}x{side}")
    if convolution:
        notice = t(f"Each {kernel} filter is slid over the whole image: its feature map is "
                   f"bright where the image has the stroke the filter looks for. Pooling "
                   f"shrinks the maps, Flatten lines them up, and the Dense layers distil them "
                   f"into {classes} numbers.",
                   f"{kernel} 필터 하나가 이미지 전체를 훑습니다: 특징 맵은 필터가 찾는 획이 있는 "
                   f"곳에서 밝아집니다. 풀링이 맵을 줄이고, Flatten이 한 줄로 펴고, Dense 층이 "
                   f"{classes}개의 숫자로 증류합니다.")
    else:
        notice = t(f"Each filter is one column of the first W reshaped to {kernel}: red "
                   "pixels "
                   "push its unit up, blue ones down. They are rough stroke templates (a bar, "
                   "part of a ring), not clean edges: the L2 weight decay they were trained "
                   "with pulls unused weights towards 0 and keeps them smooth; without it "
                   "they look like noise. The layers narrow: the image is distilled into "
                   "fewer, denser numbers.",
                   f"각 필터는 첫 번째 W의 한 열을 {kernel}로 접은 것입니다: 빨간 픽셀은 그 "
                   "유닛을 "
                   "올리고 파란 픽셀은 내립니다. 깨끗한 윤곽선이 아니라 거친 획 모양의 틀(막대, "
                   "고리의 일부)입니다. 학습에 쓴 L2 가중치 감쇠가 쓰이지 않는 가중치를 0으로 "
                   "당겨 매끄럽게 하며, 그것이 없으면 잡음처럼 보입니다. 층이 좁아지며 이미지는 "
                   "더 적고 조밀한 숫자로 증류됩니다.")
    return Picture(t("From image to abstract vector", "이미지에서 추상 벡터로"), figure, panels,
                   slide="image_to_vector",
                   data={"probabilities": probabilities.tolist(), "guess": guess,
                         "kernel": W.shape[:2] if convolution else (side, side),
                         "filters_shown": list(range(1, len(filters) + 1)),
                         "widths": [int(np.prod(v.shape)) for _, v in values],
                         "maps": [v.shape[-1] for _, v in hidden] + [8]},
                   caption=notice + t(f" The output is a vector of {classes} probabilities; its "
                                      f"largest is class index {guess}. Dropout is not drawn: "
                                      f"at inference it passes values through unchanged. "
                                      f"Colours: blue negative, red positive, white 0.",
                                      f" 출력은 {classes}개의 확률로 된 벡터이며, 가장 큰 값은 "
                                      f"클래스 인덱스 {guess}입니다. Dropout은 그리지 않았습니다: "
                                      "추론 때는 값을 그대로 통과시키기 때문입니다. 색: 파랑 음수, "
                                      ""
                                      f"빨강 양수, 흰색 0."))


def time_loop_vs_matmul(batch_sizes=(1, 8, 32, 128), inputs=64, outputs=32, seed=0,
                        repeats=3):
    """The same dense layer three ways -- Python loops, one sample at a time with NumPy,
    one batched product -- checked equal and timed on this machine."""
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


@drawn
def plot_loop_vs_matmul(rows, lang="en"):
    t = words(lang)
    figure = new_figure(6, 4)
    ax = figure.add_subplot(1, 1, 1)
    batches = [r[0] for r in rows]
    for k, (name, colour) in enumerate(((t("Python loops", "Python 반복문"), "#d62728"),
                                        (t("NumPy, one sample at a time",
                                           "NumPy, 한 번에 샘플 하나"), "#ff7f0e"),
                                        (t("one batched X @ W", "배치 한 번의 X @ W"),
                                         "#2ca02c"))):
        ax.plot(batches, [r[k + 1] * 1e3 for r in rows], "o-", color=colour, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(t("batch size", "배치 크기"))
    ax.set_ylabel(t("time (ms, best of 3; log scale)", "시간 (ms, 3회 중 최소; 로그 눈금)"))
    ax.legend()
    ax.set_title(t("The same layer, three ways (same results)",
                   "같은 층, 세 가지 방법 (결과 동일)"))
    batch, loop, sample, batched = rows[-1]
    return Picture(t("Loop vs matrix product", "반복문 대 행렬곱"), figure, 1,
                   data={"rows": rows, "ratios": (loop / batched, sample / batched),
                         "repeats": 3}, slide="why_matrices",
                   caption=t(f"Measured on this machine: at batch {batch} one batched product "
                             f"is {loop / batched:,.0f}x faster than Python loops and "
                             f"{sample / batched:,.0f}x faster than NumPy one sample at a "
                             f"time. The green line stays nearly flat as the batch grows.",
                             f"이 컴퓨터에서 측정: 배치 {batch}에서 배치 행렬곱 한 번이 Python "
                             f"반복문보다 {loop / batched:,.0f}배, 샘플 하나씩 NumPy로 계산하는 "
                             f"것보다 {sample / batched:,.0f}배 빠릅니다. 배치가 커져도 초록 선은 "
                             f"거의 평평합니다."))


@drawn
def plot_parameter_explosion(report, lang="en"):
    """Dense against convolution (lecture 'The voyage of information', slide 13): the
    weights of both layers for the report's image on a log scale and on a linear one
    (where the convolution's bar is too thin to see), and how each grows with the image's
    side (dense with the number of pixels, convolution not at all), 224 marked.
    ``report`` comes from ``compare_dense_conv``. The one ratio drawn is that of the
    weights drawn (biases left out)."""
    from ..inspect import compare_dense_conv
    t = words(lang)
    data = report.data
    h, w, c = data["input_shape"]
    units, filters = data["dense"]["biases"], data["conv"]["biases"]
    kernel = int(round((data["conv"]["weights"] / (c * filters)) ** 0.5))
    counts = [data["dense"]["weights"], data["conv"]["weights"]]
    ratio = counts[0] / counts[1]
    names = [f"Dense\n{units:,} units" if lang == "en" else f"Dense\n유닛 {units:,}개",
             f"Conv {kernel}x{kernel}\n{filters} channels" if lang == "en" else
             f"Conv {kernel}x{kernel}\n채널 {filters}개"]
    figure = new_figure(11, 3.9)
    for k, scale in enumerate(("log", "linear")):
        ax = figure.add_subplot(1, 3, k + 1)
        ax.bar(names, counts, color=["#d62728", "#2ca02c"])
        ax.set_yscale(scale)
        for i, n in enumerate(counts[:2 if scale == "log" else 1]):
            ax.text(i, n, f"{n:,}", ha="center", va="bottom")
        if scale == "log":
            ax.set_ylabel(t("weights (log scale: each step is 10x)",
                            "가중치 (로그 눈금: 한 칸이 10배)"))
            ax.set_title(t(f"{h}x{w}x{c} input: dense has {ratio:,.0f}x the weights",
                           f"{h}x{w}x{c} 입력: Dense의 가중치가 {ratio:,.0f}배"))
            ax.set_ylim(1, counts[0] * 30)
        else:
            ax.set_ylabel(t("weights (linear scale)", "가중치 (선형 눈금)"))
            ax.set_title(t("the same bars on a linear scale", "같은 막대, 선형 눈금"))
            ax.annotate(t(f"{counts[1]:,}: too thin to see", f"{counts[1]:,}: 너무 얇아 안 보임"),
                        (1, 0), (1, 0.45 * counts[0]), ha="center",
                        arrowprops={"arrowstyle": "->"})
            ax.set_ylim(0, counts[0] * 1.15)
    ax = figure.add_subplot(1, 3, 3)
    sides = sorted({8, 16, 32, 64, 128, 224, 512, h})
    grown = [compare_dense_conv((side, side, c), units, kernel, filters).data for side in sides]
    for key, colour, name in (("dense", "#d62728", f"Dense({units:,})"),
                              ("conv", "#2ca02c", f"Conv2D({filters}, {kernel}x{kernel})")):
        ax.plot(sides, [g[key]["weights"] for g in grown], "o-", color=colour, label=name)
    marked = grown[sides.index(h)]["dense"]["weights"]
    ax.axvline(h, color="#777777", linestyle=":", linewidth=1)
    ax.annotate(f"{h}: {marked:,}", (h, marked), (0.04, 0.94), textcoords="axes fraction",
                ha="left", va="top", arrowprops={"arrowstyle": "->", "color": "#777777"})
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(t(f"image side (side x side x {c}; log scale)",
                    f"이미지 한 변 (변 x 변 x {c}; 로그 눈금)"))
    ax.set_ylabel(t("weights (log scale)", "가중치 (로그 눈금)"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22))
    ax.set_title(t("dense grows with the pixels,\na convolution does not",
                   "Dense는 픽셀 수와 함께 커지고,\n컨볼루션은 그대로"))
    return Picture(t("Parameter explosion", "파라미터 폭발"), figure, 3, slide="explosion",
                   data={"counts": counts, "ratio": ratio, "sides": sides,
                         "with_biases": data["ratio"], "kernel": kernel, "units": units,
                         "filters": filters, "input_shape": data["input_shape"],
                         "marked": marked},
                   caption=t(f"On a log scale the bars look close; on a linear scale the "
                             f"convolution's {counts[1]:,} weights vanish next to the dense "
                             f"layer's {counts[0]:,} ({ratio:,.0f}x, weights only; with the "
                             f"biases, as the table counts, {data['ratio']:,.0f}x). Every "
                             f"dense unit has "
                             f"its own weight for every pixel; a convolution shares one small "
                             f"kernel across all positions, so its count does not depend on "
                             f"the image's size.",
                             f"로그 눈금에서는 막대가 비슷해 보이지만, 선형 눈금에서는 컨볼루션의 "
                             f"가중치 {counts[1]:,}개가 Dense 층의 {counts[0]:,}개 옆에서 "
                             f"사라집니다(가중치만 {ratio:,.0f}배, 표처럼 편향까지 세면 "
                             f"{data['ratio']:,.0f}배). Dense의 유닛마다 모든 픽셀에 대한 자기 "
                             f"가중치가 있지만, 컨볼루션은 작은 커널 하나를 모든 위치에서 "
                             f"공유하므로 "
                             f"이미지 크기와 무관합니다."))


@drawn
def plot_universal_approximation(seed=0, epochs=600, lang="en"):
    """A 1-D function fitted by one hidden layer of growing width, and by three hidden
    layers with exactly the same number of parameters (widths w, w, w against one layer of
    (2w^2 + 5w) / 3 units); the fits, and the error against the parameter count. The one
    layer starts as the theorem builds its approximation: its units' steps spread evenly
    over the input (unit i switches at x = c_i: W = +-1.5, b = -W c_i); the three layers
    start from glassnet's default initialisation."""
    t = words(lang)
    x = np.linspace(-3, 3, 200)[:, None]
    target = np.sin(2 * x) + 0.3 * x
    figure = new_figure(11, 4.3)
    axes = [figure.add_subplot(1, 3, k) for k in (1, 2, 3)]
    results = {"one hidden layer": [], "three hidden layers": []}
    for w in (2, 3, 5, 8):
        one = (2 * w * w + 5 * w) // 3                 # 3u + 1 = 2w^2 + 5w + 1 parameters
        for family, widths, ax in (("one hidden layer", [one], axes[0]),
                                   ("three hidden layers", [w, w, w], axes[1])):
            layers = [Dense(u, activation="tanh", input_dim=1 if k == 0 else None)
                      for k, u in enumerate(widths)] + [Dense(1)]
            model = Sequential(layers, seed=seed).build()
            if len(widths) == 1:                       # steps spread over [-3, 3]
                first = model.layers[0].params
                first["W"][:] = 1.5 * np.sign(first["W"])
                first["b"][:] = -first["W"][0] * np.linspace(-3, 3, one)
            model.compile(optimizers.Adam(0.01), "mse")
            model.fit(x, target, epochs=epochs, batch_size=50, seed=seed, verbose=0)
            results[family].append((model.count_params(), model.evaluate(x, target, verbose=0)))
            ax.plot(x, model.predict(x, verbose=0), linewidth=1,
                    label=f"{'-'.join(map(str, widths))} ({model.count_params()})")
    family_names = {"one hidden layer": t("one hidden layer", "은닉층 1개"),
                    "three hidden layers": t("three hidden layers", "은닉층 3개")}
    for ax, family in zip(axes, results):
        ax.plot(x, target, "k", linewidth=2, alpha=0.35, label=t("target", "목표"))
        ax.legend(title=t("widths (parameters)", "폭 (파라미터 수)"), loc="upper center",
                  bbox_to_anchor=(0.5, -0.1), ncols=2)
        ax.set_title(f"{family_names[family]} (tanh)")
    for family, points in results.items():
        axes[2].plot(*zip(*points), "o-", label=family_names[family])
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    counts = [count for count, _ in results["one hidden layer"]]
    axes[2].set_xticks(counts, [str(c) for c in counts], minor=False)
    axes[2].set_xticks([], minor=True)
    axes[2].set_xlabel(t("parameters (log scale)", "파라미터 수 (로그 눈금)"))
    axes[2].set_ylabel(t("mean squared error (log scale)", "평균제곱오차 (로그 눈금)"))
    axes[2].legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
    axes[2].set_title(t("error at equal parameter counts", "같은 파라미터 수에서의 오차"))
    wide = [e for _, e in results["one hidden layer"]]
    deep = [e for _, e in results["three hidden layers"]]
    falling = all(b < a for a, b in zip(wide, wide[1:]))
    deeper = sum(d < s for d, s in zip(deep, wide))
    trend = (t(f"its error falls with every widening, from {wide[0]:.1e} ({counts[0]} "
               f"parameters) to {wide[-1]:.1e} ({counts[-1]})",
               f"넓어질 때마다 오차가 {wide[0]:.1e}(파라미터 {counts[0]}개)에서 "
               f"{wide[-1]:.1e}({counts[-1]}개)로 줄어듭니다") if falling else
             t(f"its error goes from {wide[0]:.1e} ({counts[0]} parameters) to "
               f"{wide[-1]:.1e} ({counts[-1]}), lowest {min(wide):.1e}: training, not the "
               f"width, limits it here",
               f"오차는 {wide[0]:.1e}(파라미터 {counts[0]}개)에서 {wide[-1]:.1e}({counts[-1]}개)"
               f"이고 최소 {min(wide):.1e}입니다: 여기서는 폭이 아니라 학습이 한계입니다"))
    if 2 * deeper <= len(counts):
        verdict_en = ("on this smooth 1-D curve depth is not needed; it pays where a function "
                      "is built of repeated parts.")
        verdict_ko = ("이 매끄러운 1차원 곡선에는 깊이가 필요 없고, 깊이는 반복되는 부분으로 된 "
                      "함수에서 이득입니다.")
    else:
        verdict_en = "here depth buys a lower error for the same parameters."
        verdict_ko = "여기서는 깊이가 같은 파라미터로 더 낮은 오차를 냅니다."
    return Picture(t("Universal approximation and depth", "보편 근사와 깊이"), figure, 3,
                   data={**results, "epochs": epochs, "deeper_wins": deeper,
                         "counts": counts, "depth": 3},
                   slide="approximation",
                   caption=t(f"One hidden layer whose units switch at points spread over the "
                             f"input can approximate the curve, as the theorem says: {trend}. "
                             f"Three layers with the same parameter counts have the lower "
                             f"error at {deeper} of {len(counts)} counts: "
                             + (verdict_en if lang == "en" else "") + f" Fitted with Adam for "
                             f"{epochs} epochs.",
                             f"입력 위에 고르게 퍼진 점에서 켜지는 유닛들로 된 은닉층 하나로도 "
                             f"정리가 말하듯 곡선을 근사할 수 있습니다: {trend}. 같은 파라미터 "
                             f"수의 은닉층 3개는 {len(counts)}개 중 {deeper}개에서 오차가 더 "
                             f"낮습니다: " + (verdict_ko if lang == "ko" else "") + f" Adam으로 "
                             f"{epochs} 에포크 학습."))
