"""The arithmetic of one layer: the bias as a threshold, the colour-coded product h = x W +
b, and loops against one matrix product. Each takes explicit seeds and ``lang`` ("en" or
"ko"), and says what to notice in its caption and which lecture slide it draws."""
import time

import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from ..layers.activations import Activation, ActivationFunction
from ..lectures import words
from .picture import (CLASS_COLOURS, TEXT, TITLE, Picture, drawn,
                      new_figure)

KOREAN_NAMES = {"softmax": "소프트맥스", "sigmoid": "시그모이드"}


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
