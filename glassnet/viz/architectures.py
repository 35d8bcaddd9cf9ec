"""Beyond the MLP (lecture 'The mathematics of neural networks', sections 5 and 6): a
convolution as one kernel sliding over an image and as the one matrix product it is
(im2col), a recurrent layer unrolled over time with its hidden state, and the
attention weights of a small trained model. Every number drawn is read from the
layers after a real forward pass (``cache`` and ``attention_weights``)."""
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from .. import optimizers
from ..layers.attention import MultiHeadAttention
from ..layers.conv import GlobalAveragePooling1D
from ..layers.dense import Dense, Embedding
from ..lectures import words
from ..network.sequential import Sequential
from ..layers.recurrent import SimpleRNN
from .picture import CLASS_COLOURS, TEXT, Picture, drawn, new_figure


def _box(ax, row, col, colour, size=1):
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), size, size, fill=False,
                           edgecolor=colour, linewidth=2.2))


def _colour_bar(figure, image, spec, label):
    """A horizontal colour bar under a panel."""
    bar = figure.colorbar(image, cax=figure.add_subplot(spec), orientation="horizontal")
    bar.ax.tick_params(labelsize=8)
    bar.ax.locator_params(nbins=3)
    if label:
        bar.set_label(label)
    return bar


def _plain(ax, title):
    ax.set_title(title, fontsize=TEXT)
    ax.set_xticks([])
    ax.set_yticks([])


@drawn
def plot_convolution(model, image, pixels=None, filter_index=0, lang="en"):
    """The first layer of ``model`` (a Conv2D on (H, W, 1) images, 'same' or 'valid'
    padding) on one image: the image with three 3x3 windows, the kernel of one filter
    (the same weights at every window), that filter's output map with the three outputs
    marked, and the whole layer as one product P @ W = Z (im2col): P holds one row per
    output position (the patch under the window), W one column per filter."""
    t = words(lang)
    layer = model.layers[0]
    W = layer.params.get("W")
    if W is None or W.ndim != 4:
        raise ValueError(f"plot_convolution: the model's first layer must be a Conv2D, got "
                         f"{layer!r}. Pass a model that starts with Conv2D(filters, 3).")
    kh, kw, channels, filters = W.shape
    X = np.asarray(image, dtype=model.dtype).reshape(1, *model.trace_shapes()[0][1:])
    layer.forward(X)
    P, Z = layer.cache["P"], layer.cache["Z"]                 # (H'W', kh kw C), (1, H', W', F)
    W_col = W.reshape(-1, filters)
    rows, cols = Z.shape[1:3]
    shown = np.asarray(image if pixels is None else pixels, float).reshape(X.shape[1:3])
    positions = [(1, 1), (rows // 2, cols // 2 - 1), (rows - 2, cols - 2)]
    pad = (X.shape[1] - rows) // 2 if X.shape[1] > rows else 0
    top, left = (kh - 1) // 2 - pad, (kw - 1) // 2 - pad      # window corner offset
    figure = new_figure(11, 5.2)
    grid = figure.add_gridspec(2, 6, width_ratios=[2.2, 1.6, 2.2, 1.0, 1.0, 1.0],
                               height_ratios=[1, 0.04])
    ax = figure.add_subplot(grid[0, 0])
    ax.imshow(shown, cmap="gray_r")
    for k, (r, c) in enumerate(positions):
        _box(ax, r - top, c - left, CLASS_COLOURS[k + 1], size=kh)
    _plain(ax, t(f"image {X.shape[1]}x{X.shape[2]}: three {kh}x{kw} windows",
                 f"이미지 {X.shape[1]}x{X.shape[2]}: {kh}x{kw} 창 세 개"))
    ax = figure.add_subplot(grid[0, 1])
    kernel = W[:, :, 0, filter_index]
    limit = np.abs(kernel).max() or 1.0
    image = ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), value in np.ndenumerate(kernel):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    _colour_bar(figure, image, grid[1, 1], t("weight", "가중치"))
    _plain(ax, t(f"filter {filter_index + 1}'s kernel\n(same at every window)",
                 f"필터 {filter_index + 1}의 커널\n(모든 창에서 같음)"))
    ax = figure.add_subplot(grid[0, 2])
    feature = Z[0, :, :, filter_index]
    image = ax.imshow(feature, cmap="RdBu_r", vmin=-np.abs(feature).max(),
                      vmax=np.abs(feature).max())
    _colour_bar(figure, image, grid[1, 2], "z")
    for k, (r, c) in enumerate(positions):
        _box(ax, r, c, CLASS_COLOURS[k + 1])
        ax.text(c, r, f"{feature[r, c]:.1f}", ha="center", va="center", fontsize=8)
    _plain(ax, t(f"z = sum(window × kernel) + b\nfilter {filter_index + 1}'s map {rows}x{cols}",
                 f"z = sum(창 × 커널) + b\n필터 {filter_index + 1}의 맵 {rows}x{cols}"))
    index = [r * cols + c for r, c in positions]
    ax = figure.add_subplot(grid[0, 3:6])               # one axes: one square per entry,
    left, gap = 0.0, 9.0                                # so the heights compare
    matrices = ((P, t(f"P {P.shape}\none row per\nposition", f"P {P.shape}\n위치마다\n한 행")),
                (W_col, f"@ W {W_col.shape}\n" + t("one column\nper filter", "필터마다\n한 열")),
                (Z.reshape(-1, filters), f"+ b = Z {(rows * cols, filters)}\n"
                 + t("all maps", "모든 맵")))
    for k, (values, title) in enumerate(matrices):
        height, width = values.shape
        limit = np.abs(values).max() or 1.0
        image = ax.imshow(values / limit, cmap="RdBu_r", vmin=-1, vmax=1,
                          interpolation="nearest", extent=(left, left + width, height, 0))
        image.set_gid(title.split("\n")[0])
        ax.text(left + width / 2, -1.5, title, ha="center", va="bottom", fontsize=TEXT)
        if k != 1:
            for j, i in enumerate(index):
                ax.plot([left, left + width], [i + 0.5, i + 0.5], color=CLASS_COLOURS[j + 1],
                        linewidth=2)
        else:
            ax.add_patch(Rectangle((left + filter_index, 0), 1, height, fill=False,
                                   edgecolor="black", linewidth=1.5))
        left += width + gap
    ax.set_xlim(-0.5, left - gap + 0.5)
    ax.set_ylim(rows * cols + 0.5, -12)
    ax.set_aspect("equal")
    ax.axis("off")
    _colour_bar(figure, image, grid[1, 3:6], t("value / the matrix's largest |value|",
                                               "값 / 행렬의 최대 |값|"))
    check = float(np.abs(P @ W_col + layer.params.get("b", 0) - Z.reshape(-1, filters)).max())
    count = W.size + filters
    return Picture(t("Convolution: a sliding kernel is one matrix product",
                     "컨볼루션: 미끄러지는 커널은 행렬곱 하나"), figure, 6, slide="architectures",
                   data={"P": P, "W": W_col, "Z": Z, "positions": positions,
                         "largest_difference": check, "parameters": count},
                   caption=t(f"The three coloured windows use the same {kh}x{kw} kernel: "
                             f"weight sharing. So this layer has {count} parameters whatever "
                             f"the image's size (a Dense layer on the same image would need "
                             f"{X[0].size} per unit). Written out, the whole layer is one "
                             f"product: each row of P is the patch under one window, each "
                             f"column of W one filter; the coloured rows of P give the "
                             f"coloured outputs.",
                             f"색칠한 세 창은 같은 {kh}x{kw} 커널을 씁니다: 가중치 공유. 그래서 이 "
                             f"층의 파라미터는 이미지 크기와 상관없이 {count}개입니다(같은 "
                             "이미지에 "
                             ""
                             f"Dense 층을 쓰면 유닛 하나에 {X[0].size}개). 풀어 쓰면 층 전체가 "
                             f"행렬곱 하나입니다: P의 각 행은 창 하나 아래의 조각, W의 각 열은 "
                             f"필터 하나이며, P의 색칠한 행이 색칠한 출력을 만듭니다."))


def sine_task(n=400, steps=20, seed=0):
    """Sequences of a sine wave with random phase and frequency, (n, steps, 1), and the
    value that follows each, (n, 1)."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps + 1) / steps
    phase, frequency = rng.uniform(0, 2 * np.pi, n), rng.uniform(2, 4, n)
    waves = np.sin(2 * np.pi * frequency[:, None] * t[None] + phase[:, None])
    return waves[:, :steps, None], waves[:, steps:]


def train_sine_rnn(seed=0, epochs=20, units=8):
    """A SimpleRNN(units) + Dense(1) trained to predict a sine wave's next value."""
    X, y = sine_task(seed=seed)
    model = Sequential([SimpleRNN(units), Dense(1)], input_shape=X.shape[1:], seed=seed)
    model.compile(optimizers.Adam(0.01), "mse")
    model.fit(X, y, epochs=epochs, batch_size=32, seed=seed, verbose=0)
    return model, X, y


@drawn
def plot_recurrence(model, X, sample=0, lang="en"):
    """A recurrent first layer (SimpleRNN) unrolled over time, with the shapes of each
    step, h_t = tanh(x_t W + h_(t-1) U + b); one sequence; and its hidden state h_t over
    time as a heat map, read from the layer's cache after a real forward pass."""
    t = words(lang)
    layer = model.layers[0]
    if not isinstance(layer, SimpleRNN):
        raise ValueError(f"plot_recurrence: the model's first layer must be a SimpleRNN, "
                         f"got {layer!r}.")
    X = np.asarray(X, dtype=model.dtype)
    prediction = model.predict(X[sample:sample + 1], verbose=0)[0]
    layer.forward(X[sample:sample + 1])
    H = layer.cache["H"][1:, 0, :]                          # (time, units), after h_0 = 0
    time, features, units = X.shape[1], X.shape[2], layer.units
    figure = new_figure(11, 4.3)
    grid = figure.add_gridspec(2, 2, width_ratios=[1.25, 1])
    ax = figure.add_subplot(grid[:, 0])
    shown = 4
    for k in range(shown):
        cx = 1.5 + 2.4 * k
        name = "T" if k == shown - 1 else str(k + 1)
        ax.add_patch(Rectangle((cx - 0.7, 1.4), 1.4, 1.0, facecolor="#e8f0fa",
                               edgecolor="#1f77b4"))
        ax.text(cx, 1.9, f"h_{name}", ha="center", va="center", fontsize=11)
        ax.text(cx, 0.1, f"x_{name}", ha="center", va="center", fontsize=11)
        ax.add_patch(FancyArrowPatch((cx, 0.35), (cx, 1.35), arrowstyle="-|>",
                                     mutation_scale=12, color="#555555"))
        ax.text(cx + 0.1, 0.85, "@ W", fontsize=TEXT, va="center")
        if k:
            ax.add_patch(FancyArrowPatch((cx - 1.7, 1.9), (cx - 0.75, 1.9), arrowstyle="-|>",
                                         mutation_scale=12, color="#d62728"))
            ax.text(cx - 1.2, 2.05, "@ U", fontsize=TEXT, ha="center", color="#d62728")
        if k == shown - 2:
            ax.text(cx + 1.2, 1.55, "…", fontsize=14, ha="center", va="center")
    ax.text(0.8, 3.3, "h_t = tanh(x_t W + h_(t-1) U + b)", fontsize=11)
    ax.text(0.8, 2.85, t(f"x_t (B, {features}) @ W ({features}, {units}) + h_(t-1) (B, {units}) "
                         f"@ U ({units}, {units}) -> h_t (B, {units})",
                         f"x_t (B, {features}) @ W ({features}, {units}) + h_(t-1) (B, {units}) "
                         f"@ U ({units}, {units}) -> h_t (B, {units})"), fontsize=TEXT)
    ax.text(0.8, -0.6, t(f"the same W, U, b at all {time} steps; h_0 = 0",
                         f"{time} 스텝 모두에서 같은 W, U, b; h_0 = 0"), fontsize=TEXT)
    ax.set_xlim(0, 10.5)
    ax.set_ylim(-0.9, 3.7)
    ax.axis("off")
    ax.set_title(t("unrolled over time", "시간에 따라 펼치기"))
    ax = figure.add_subplot(grid[0, 1])
    ax.plot(range(1, time + 1), X[sample, :, 0], "o-", markersize=3, label="x_t")
    ax.plot(time + 1, prediction[0], "r*", markersize=10,
            label=t("prediction of x_(T+1)", "x_(T+1) 예측"))
    ax.set_xlim(0.5, time + 1.5)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(t("one input sequence", "입력 시퀀스 하나"))
    ax = figure.add_subplot(grid[1, 1])
    limit = np.abs(H).max() or 1.0
    image = ax.imshow(H.T, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
                      extent=(0.5, time + 0.5, units - 0.5, -0.5))
    ax.set_xlim(0.5, time + 1.5)
    ax.set_xlabel(t("step t", "스텝 t"))
    ax.set_ylabel(t("unit", "유닛"))
    ax.set_title(t(f"hidden state h_t ({units} units)", f"은닉 상태 h_t (유닛 {units}개)"))
    figure.colorbar(image, ax=ax, shrink=0.8)
    return Picture(t("Recurrence: one layer, unrolled over time", "순환: 시간에 따라 펼친 층 하나"),
                   figure, 3, slide="architectures",
                   data={"H": H, "prediction": prediction.tolist()},
                   caption=t("The same weights are applied at every step; the hidden state "
                             "h_t carries the past forward. In the heat map each column is "
                             "h_t: the units swing with the wave's rhythm, which is how the "
                             "network knows where the wave goes next. An MLP would see the 20 "
                             "values with no notion of their order.",
                             "모든 스텝에 같은 가중치가 쓰이고, 은닉 상태 h_t가 과거를 앞으로 "
                             "실어 나릅니다. 히트맵의 각 열이 h_t입니다: 유닛들이 파동의 리듬에 "
                             "맞춰 흔들리고, 그래서 신경망은 파동이 다음에 어디로 갈지 압니다. "
                             "MLP는 20개의 값을 순서 개념 없이 봅니다."))


def signal_task(n=1200, steps=6, seed=0):
    """Sequences of ``steps`` tokens: noise tokens 1-6 and one signal token 7, 8 or 9 at
    a random position; the label is which signal (0, 1, 2). Returns (X, y)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(1, 7, size=(n, steps))
    signal = rng.integers(0, 3, size=n)
    X[np.arange(n), rng.integers(0, steps, size=n)] = 7 + signal
    return X, signal


def train_signal_attention(seed=0, epochs=20):
    """Embedding(10, 8), one-head self-attention, average over time, Dense(3): to name
    the one signal token, every position has to attend to it."""
    X, y = signal_task(seed=seed)
    model = Sequential([Embedding(10, 8), MultiHeadAttention(1, 8), GlobalAveragePooling1D(),
                        Dense(3, activation="softmax")], input_shape=X.shape[1:], seed=seed)
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X[:1000], y[:1000], epochs=epochs, batch_size=32, seed=seed, verbose=0)
    return model, X[1000:], y[1000:]


@drawn
def plot_attention(model, X, samples=3, lang="en"):
    """The attention weights A = softmax(Q K^T / sqrt(d_k)) of the model's (first)
    MultiHeadAttention layer for a few token sequences, one heat map per sequence
    (row: the position asking, column: the position it reads), with the formula and
    its shapes. A is the layer's ``attention_weights`` after a real forward pass."""
    t = words(lang)
    attention = next((layer for layer in model.layers
                      if isinstance(layer, MultiHeadAttention)), None)
    if attention is None:
        raise ValueError("plot_attention: the model has no MultiHeadAttention layer.")
    X = np.asarray(X)[:samples]
    model.predict(X, batch_size=len(X), verbose=0)          # one batch: A holds them all
    A = attention.attention_weights[:, 0]                   # head 1: (samples, time, time)
    time, d = A.shape[-1], attention.key_dim
    signal = np.asarray(X) >= 7
    shares = [A[s][:, signal[s]].sum(axis=1) for s in range(len(X))]  # per asking row
    figure = new_figure(11, 4.1)
    grid = figure.add_gridspec(1, samples + 2, width_ratios=[1.15] + [1] * samples + [0.06])
    ax = figure.add_subplot(grid[0, 0])
    lines = ["A = softmax(Q K^T / √d_k)", t("out = A V", "출력 = A V"), "",
             t(f"X: ({time}, {attention.params['Wq'].shape[0]}) per sequence",
               f"X: 시퀀스마다 ({time}, {attention.params['Wq'].shape[0]})"),
             f"Q, K, V = X Wq, X Wk, X Wv: ({time}, {d})",
             f"Q K^T: ({time}, {d}) @ ({d}, {time}) = ({time}, {time})",
             f"A V: ({time}, {time}) @ ({time}, {d}) = ({time}, {d})", "",
             t("each row of A sums to 1:", "A의 각 행의 합은 1:"),
             t("how much each position", "각 위치가 어느 위치에서"),
             t("reads from every other", "얼마나 읽어 오는지")]
    for k, line in enumerate(lines):
        ax.text(0, 0.95 - 0.075 * k, line, fontsize=TEXT if k > 1 else 11, va="top")
    ax.axis("off")
    for s in range(len(X)):
        ax = figure.add_subplot(grid[0, s + 1])
        image = ax.imshow(A[s], cmap="Blues", vmin=0, vmax=1)
        for column in np.flatnonzero(signal[s]):
            ax.add_patch(Rectangle((column - 0.5, -0.5), 1, time, fill=False,
                                   edgecolor="#d62728", linewidth=2))
        ax.set_xticks(range(time), [str(v) for v in X[s]])
        ax.set_yticks(range(time), [str(v) for v in X[s]])
        ax.set_xlabel(t("key: token read", "키: 읽히는 토큰"))
        if s == 0:
            ax.set_ylabel(t("query: token asking", "쿼리: 묻는 토큰"))
        ax.set_title(t(f"sequence {s + 1}: the signal (red)\ngets {100 * shares[s].mean():.0f}% "
                       f"on average,\n{100 * shares[s].min():.0f}% to "
                       f"{100 * shares[s].max():.0f}% by row",
                       f"시퀀스 {s + 1}: 신호(빨강)가 받는\n가중치 평균 "
                       f"{100 * shares[s].mean():.0f}%,\n행마다 {100 * shares[s].min():.0f}%"
                       f"~{100 * shares[s].max():.0f}%"), fontsize=TEXT)
    bar = figure.colorbar(image, cax=figure.add_subplot(grid[0, -1]))
    bar.set_label(t("attention weight", "어텐션 가중치"))
    every = np.concatenate(shares)
    share, low, high = float(every.mean()), float(every.min()), float(every.max())
    return Picture(t("Attention weights of a trained model", "학습된 모델의 어텐션 가중치"),
                   figure, samples + 1, slide="architectures",
                   data={"A": A, "tokens": X, "signal_share": share, "row_shares": shares,
                         "lowest_share": low, "highest_share": high, "uniform": 1 / time,
                         "sequence_shares": [float(r.mean()) for r in shares],
                         "tokens_range": (1, 6, 7, 8, 9)},
                   caption=t(f"The model must name the one signal token (7, 8 or 9) among "
                             f"noise tokens (1-6). Its column is framed in red. On average a "
                             f"position puts {100 * share:.0f}% of its attention weight on the "
                             f"signal (a uniform spread would give {100 / time:.0f}%), but not "
                             f"every position does: by row it ranges from {100 * low:.0f}% to "
                             f"{100 * high:.0f}%. Averaged over time, that is enough to name "
                             f"the signal.",
                             f"모델은 잡음 토큰(1-6) 사이에서 신호 토큰(7, 8, 9) 하나를 맞혀야 "
                             f"합니다. 신호의 열을 빨간 테두리로 표시했습니다. 위치마다 어텐션 "
                             f"가중치의 평균 {100 * share:.0f}%를 신호에 둡니다(고르게 나누면 "
                             f"{100 / time:.0f}%). 하지만 모든 위치가 그렇지는 않아, 행마다 "
                             f"{100 * low:.0f}%에서 {100 * high:.0f}%까지입니다. 시간에 걸쳐 "
                             f"평균하면 신호를 맞히기에 충분합니다."))
