"""Images: an image becoming a vector through a trained MLP or CNN, and the parameter
explosion of dense layers on images against convolutions. Each takes explicit seeds and
``lang`` ("en" or "ko"), and says what to notice in its caption and which lecture slide
it draws."""
import math

import numpy as np

from ..layers.dense import Dropout, Flatten
from ..lectures import words
from .picture import (TEXT, Picture, drawn,
                      new_figure)


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
