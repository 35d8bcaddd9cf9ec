"""``glassnet tour``: a newcomer's walk through the five lectures, in their order.

It builds the lectures' models and prints their summaries and traces, times loops
against matrix products, trains small networks (with progress bars), draws every
picture of glassnet.viz from the engine's own values, and writes one self-contained
HTML report (pictures embedded, equations rendered) whose sections follow the slides.
``lang="ko"`` writes it in Korean, the lectures' own language; every picture's caption
says what to notice and which lecture slide it belongs to."""
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
from ..inspect.summary import MAC_CONVENTION
from ..layers import Dense, Dropout, Flatten
from ..lectures import check_language, slide, words
from ..model import Sequential
from .. import viz
from ..viz.picture import drawn, new_figure, require_hangul

EQUATIONS = {
    "affine": r"$y = x\,W + b,\quad x \in \mathbb{R}^{1 \times I},\ W \in \mathbb{R}^{I "
              r"\times O};\quad$ column form: $z = W^{T} x + b$",
    "batch": r"$Y = f(X W + b):\ (B, I) \times (I, O) = (B, O)$",
    "chain": r"$h_1 = f(x W_1 + b_1),\ h_2 = f(h_1 W_2 + b_2),\ y = g(h_2 W_3 + b_3)$",
    "softmax": r"$y_j = e^{z_j - \max z} / \sum_k e^{z_k - \max z}$",
    "backprop": r"$dW = X^T dZ,\quad db = \sum_{batch} dZ,\quad dX = dZ\, W^T$",
    "bias": r"$y = f(w x + b)$: threshold at $x = -b / w$",
    "losses": r"$MSE = (1-p)^2,\ \ CE = -\log p,\ \ focal = -\alpha (1-p)^\gamma \log p$",
    "sgd": r"$W \leftarrow W - \eta\, \partial L / \partial W$",
    "rnn": r"$h_t = \tanh(x_t W + h_{t-1} U + b)$",
    "attention": r"$Attention(Q, K, V) = softmax(Q K^T / \sqrt{d_k})\, V$",
}
UNITS_NOTE = ("Units: 1 KiB = 1,024 bytes, 1 MiB = 1,024 KiB. Non-trainable parameters "
              "(BatchNorm's running mean and variance) count in the total, as in Keras.")


@drawn
def render_equation(tex):
    """An equation drawn by matplotlib's mathtext, as a PNG data URI (works offline)."""
    figure = new_figure(9, 0.55)
    figure.text(0.01, 0.5, tex, fontsize=15, va="center")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


STYLE = """
body{font-family:system-ui,"Noto Sans KR","NanumGothic",sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.55;font-size:16px}
h1{font-size:1.7em} h2{border-bottom:1px solid #ccc;margin-top:2em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:13px}
.scroll{overflow-x:auto;max-width:100%} .glassnet-report{font-size:13px}
figure{margin:1.2em 0} figure .scroll img{max-width:100%;height:auto;display:block}
figcaption{color:#333;font-size:15px;margin-top:.4em}
figcaption .slide{display:block;color:#666;font-size:13px;margin-top:.2em}
img.equation{max-width:100%;height:auto}
@media (max-width:700px){body{font-size:15px} figure .scroll img{max-width:none;
width:auto}}
"""


class _Report:
    def __init__(self, lang):
        self.sections, self.lang, self.seen = [], lang, set()

    def section(self, title, text):
        self.sections.append({"title": title, "parts": [("p", text)]})

    def add(self, kind, value):
        self.sections[-1]["parts"].append((kind, value))

    def once(self, markup):
        """The repeated footnotes of summaries (how MACs are counted, the units) only the
        first time they appear."""
        for line in (MAC_CONVENTION, UNITS_NOTE):
            escaped = html.escape(line)
            if escaped in markup:
                if line in self.seen:
                    markup = markup.replace("\n" + escaped, "").replace(escaped, "")
                self.seen.add(line)
        return markup

    def html(self):
        t = words(self.lang)
        title = t("glassnet: the voyage of information through a network",
                  "glassnet: 정보의 항해 — 데이터는 신경망을 어떻게 통과하는가")
        out = ["<!DOCTYPE html>", f'<html lang="{self.lang}"><head><meta charset="utf-8">',
               '<meta name="viewport" content="width=device-width, initial-scale=1">',
               f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
               f"<h1>{html.escape(title)}</h1>",
               "<nav><ol>" + "".join(f'<li><a href="#s{k}">{html.escape(s["title"])}</a></li>'
                                     for k, s in enumerate(self.sections)) + "</ol></nav>"]
        for k, section in enumerate(self.sections):
            out.append(f'<section id="s{k}"><h2>{html.escape(section["title"])}</h2>')
            for kind, value in section["parts"]:
                if kind == "p":
                    out.append(f"<p>{html.escape(value)}</p>")
                elif kind == "pre":
                    out.append(f"<pre>{self.once(html.escape(value))}</pre>")
                elif kind == "html":
                    out.append(f'<div class="scroll">{self.once(value)}</div>')
                elif kind == "equation":
                    out.append(f'<p><img class="equation" alt="{html.escape(value)}" '
                               f'src="{render_equation(value)}"></p>')
                elif kind == "picture":
                    picture, animated = value
                    where = slide(picture.slide, self.lang) if picture.slide else ""
                    out.append(f'<figure><div class="scroll"><img alt="'
                               f'{html.escape(picture.title)}" src="'
                               f'{picture.data_uri(animated)}"></div><figcaption><b>'
                               f'{html.escape(picture.title)}.</b> '
                               f'{html.escape(picture.caption)}<span class="slide">'
                               f'{html.escape(where)}</span></figcaption></figure>')
            out.append("</section>")
        out.append("</body></html>")
        return "\n".join(out)


def linear_collapse(seed=0, lang="en"):
    """Two Dense layers with no activation between them are one Dense layer:
    (x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2). Returns (text, largest difference)."""
    two = Sequential([Dense(5, input_dim=3), Dense(2)], seed=seed, dtype="float64").build()
    (W1, b1), (W2, b2) = [(layer.params["W"], layer.params["b"]) for layer in two.layers]
    one = Sequential([Dense(2, input_dim=3)], dtype="float64").build()
    one.set_weights([W1 @ W2, b1 @ W2 + b2])
    X = np.random.default_rng(seed).normal(size=(100, 3))
    gap = float(np.abs(two.predict(X, verbose=0) - one.predict(X, verbose=0)).max())
    text = words(lang)(
        f"Without an activation, depth adds nothing: Dense(5) then Dense(2), both linear, "
        f"equal one Dense(2) with W = W1 W2 (3 x 2) and b = b1 W2 + b2 -- on 100 random "
        f"inputs the outputs differ by at most {gap:.1e}.",
        f"활성화 함수가 없으면 층을 쌓아도 얻는 것이 없습니다: 선형 Dense(5) 다음 Dense(2)는 "
        f"W = W1 W2 (3 x 2), b = b1 W2 + b2인 Dense(2) 하나와 같습니다 -- 무작위 입력 100개에서 "
        f"출력 차이는 최대 {gap:.1e}입니다.")
    return text, gap


def l2_backprop_example(W=((0.1, 0.5), (-0.3, 0.8)), x=(0.2, 0.4), lang="en"):
    """The worked example of lecture 'Neural Networks: forward and back propagation'
    (section 4), f(x; W) = ||W x||^2, backpropagated by a glassnet Dense layer (no bias,
    no activation): q = W x, df/dq = 2q, dW = 2q x^T, dx = W^T 2q. The lecture's own
    numbers are only in a figure (it gives f = 0.2285), so the default numbers are those
    of the CS231n slide the lecture follows. Glassnet stores W as (in, out), the
    transpose of the lecture's W, so its dW is (2q x^T)^T. Returns (text, values) with a
    finite-difference check of dW."""
    W, x = np.asarray(W, np.float64), np.asarray(x, np.float64)
    layer = Dense(W.shape[0], use_bias=False)
    layer.build((None, W.shape[1]), np.random.default_rng(0), np.float64)
    layer.set_weights([W.T])
    q = layer.forward(x[None])[0]                                 # q = W x (as x W^T)
    f = float(q @ q)
    dx = layer.backward((2 * q)[None])[0]                         # dx = W^T 2q
    dW = layer.grads["W"].T                                       # back to the lecture's layout
    eps, numeric = 1e-6, np.empty_like(W)
    for i, j in np.ndindex(*W.shape):
        up, down = W.copy(), W.copy()
        up[i, j] += eps
        down[i, j] -= eps
        numeric[i, j] = (np.sum((up @ x) ** 2) - np.sum((down @ x) ** 2)) / (2 * eps)

    def fmt(a):
        return str(np.round(a, 6).tolist())
    t = words(lang)
    text = (t("The lecture's worked example, f(x; W) = ||W x||^2 (the lecture's figure gives "
              "f = 0.2285 with numbers only in the image; these are the numbers of the "
              "CS231n slide it follows):",
              "강의의 예제 f(x; W) = ||W x||^2 (강의 그림은 f = 0.2285이지만 숫자가 그림 안에만 "
              "있어, 강의가 따르는 CS231n 슬라이드의 숫자를 씁니다):") + "\n"
            f"W = {fmt(W)}, x = {fmt(x)}\n"
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


def run_tour(out_dir="glassnet-tour", quick=False, seed=0, file=None, lang="en"):
    """Run the whole tour; returns the path of the HTML report. ``quick`` trains for
    fewer epochs (a smoke test); every random choice follows ``seed``; ``lang`` is "en"
    (English) or "ko" (Korean)."""
    check_language(lang, "run_tour")
    if lang == "ko":
        require_hangul("run_tour(lang='ko')")
    t = words(lang)
    file = file or sys.stdout
    say = lambda text="": print(text, file=file, flush=True)  # noqa: E731
    start = time.perf_counter()
    os.makedirs(out_dir, exist_ok=True)
    report = _Report(lang)

    def keep(name, picture, gif=False):
        path = os.path.join(out_dir, f"{name}.{'gif' if gif else 'png'}")
        picture.save(path)
        report.add("picture", (picture, gif))
        say(f"  {t('picture', '그림')}: {path}")

    def chapter(title, text):
        report.section(title, text)
        say(f"\n{title}\n{'-' * len(title)}")

    def text(value):
        say(value)
        report.add("p", value)

    def block(value):
        say(value)
        report.add("pre", value)

    say(t("glassnet tour: the voyage of information through a network",
          "glassnet 투어: 정보의 항해 — 데이터는 신경망을 어떻게 통과하는가"))
    chapter(t("1. Why matrices", "1. 왜 행렬 연산인가?"),
            t("Billions of parameters cannot be computed in Python loops. The same dense "
              "layer computed three ways on this machine: Python loops, NumPy one sample at "
              "a time, and one batched matrix product (checked equal).",
              "수억 개의 파라미터는 Python 반복문으로 계산할 수 없습니다. 같은 완전 연결 층을 이 "
              "컴퓨터에서 세 가지로 계산합니다: Python 반복문, 샘플 하나씩 NumPy, 그리고 배치 "
              "행렬곱 한 번(결과가 같은지 확인)."))
    rows = viz.time_loop_vs_matmul(batch_sizes=(1, 8, 32) if quick else (1, 8, 32, 128),
                                   seed=seed)
    say(t("Loops against one matrix product (64 inputs -> 32 outputs), best of 3:",
          "반복문 대 행렬곱 한 번 (입력 64 -> 출력 32), 3회 중 최소:"))
    for batch, loop, sample, batched in rows:
        say(f"   batch {batch:>4}: loops {loop * 1e3:8.3f} ms   per sample {sample * 1e3:7.3f} "
            f"ms   batched {batched * 1e3:7.3f} ms   ({loop / batched:,.0f}x)")
    keep("loop_vs_matmul", viz.plot_loop_vs_matmul(rows, lang=lang))

    chapter(t("2. From neuron to layer", "2. 개별 뉴런에서 층(Layer)으로"),
            t("A neuron is a weighted sum of its inputs plus a bias, then an activation. "
              "Neurons side by side form a layer: their weight vectors are the columns of W "
              "(glassnet keeps W as (inputs, outputs), so a batch X of rows computes X @ W). "
              "Keras's Dense(2, input_dim=3, activation='softmax') of lecture 07-03 holds "
              "3 x 2 weights + 2 biases = 8 parameters.",
              "뉴런은 입력의 가중치 합에 편향을 더하고 활성화 함수를 거칩니다. 뉴런을 나란히 "
              "놓으면 "
              ""
              "층이 되고, 각 뉴런의 가중치 벡터가 W의 열이 됩니다(glassnet은 W를 (입력, 출력)으로 "
              "두어 행으로 된 배치 X가 X @ W를 계산합니다). 강의 07-03의 Keras "
              "Dense(2, input_dim=3, activation='softmax')는 가중치 3 x 2 + 편향 2 = 파라미터 "
              "8개입니다."))
    seed_layer = Sequential([Dense(2, activation="softmax", input_dim=3)], seed=seed,
                            dtype="float64").build()
    seed_layer.set_weights([np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]),
                            np.array([0.5, -0.5])])
    layer_summary = str(summary(seed_layer, 4))
    say(t("A batch of 4 samples is a (4, 3) matrix; the layer still has 8 parameters:",
          "샘플 4개의 배치는 (4, 3) 행렬이고, 층의 파라미터는 여전히 8개입니다:"))
    block(layer_summary)
    keep("colour_matmul", viz.plot_colour_matmul(b=(0.5, -0.5), lang=lang))

    chapter(t("3. The weighted sum: y = x W + b", "3. 가중치 합 다시 보기: y = x W + b"),
            t("The lecture writes z = Wx + b with W of shape (outputs, inputs) and x a column; "
              "glassnet, like Keras and NumPy, writes rows: y = x W + b with W of shape "
              "(inputs, outputs). They are the same numbers: the lecture's W is glassnet's "
              "W^T. Below, the layer of section 2 written out with real numbers, then softmax "
              "turning scores into probabilities (computed stably, subtracting the row's "
              "maximum).",
              "강의는 W가 (출력, 입력) 모양이고 x가 열벡터인 z = Wx + b로 씁니다. glassnet은 "
              "Keras, "
              ""
              "NumPy처럼 행으로 씁니다: W가 (입력, 출력) 모양인 y = x W + b. 같은 숫자이며, 강의의 "
              "W는 glassnet의 W^T입니다. 아래는 2절의 층을 실제 숫자로 풀어 쓴 것이고, 이어서 "
              "softmax가 점수를 확률로 바꿉니다(행의 최댓값을 빼서 안정적으로 계산)."))
    report.add("equation", EQUATIONS["affine"])
    block(str(explain(seed_layer, [1.0, 2.0, 3.0])))
    report.add("equation", EQUATIONS["softmax"])
    table = np.array([[1, 2, 0], [-1, 0, 1], [-10, 0, 10]], dtype=np.float64)
    rows_text = "\n".join("   [" + ", ".join(f"{v:.8e}" for v in row) + "]"
                          for row in softmax(table))
    block(t("softmax([[1, 2, 0], [-1, 0, 1], [-10, 0, 10]]) (lecture 'Deep learning basics') =",
            "softmax([[1, 2, 0], [-1, 0, 1], [-10, 0, 10]]) (강의 「딥러닝 기초」) =") + "\n"
          + rows_text)
    text(linear_collapse(seed, lang)[0])

    chapter(t("4. Shapes, layer by layer", "4. 데이터의 형상(Shape) 변화"),
            t("X(m x n) @ W(n x j) + B(m x j) = Y(m x j): the inner dimension vanishes, the "
              "batch stays, the bias is broadcast; activations do not change shapes.",
              "X(m x n) @ W(n x j) + B(m x j) = Y(m x j): 안쪽 차원은 사라지고 배치는 남으며, "
              "편향은 브로드캐스팅됩니다. 활성화 함수는 형상을 바꾸지 않습니다."))
    report.add("equation", EQUATIONS["batch"])
    mlp = Sequential([Dense(8, activation="relu", input_dim=4), Dense(8, activation="relu"),
                      Dense(3, activation="softmax")], seed=seed)
    mnist = Sequential([Dense(256, activation="relu", input_dim=784),
                        Dense(10, activation="softmax")], seed=seed)
    for title, model, batch in ((t("The 4-8-8-3 network of lecture 07-03 (139 parameters)",
                                   "강의 07-03의 4-8-8-3 신경망 (파라미터 139개)"), mlp, 1),
                                (t("The MNIST layer of the shape table (slide 7)",
                                   "형상 표의 MNIST 층 (슬라이드 7)"), mnist, 64)):
        s, tr = summary(model, batch), trace(model, batch)
        say(f"{title}:\n{s}\n\n{tr}\n")
        report.add("html", f"<h3>{html.escape(title)}</h3>" + s.to_html() + tr.to_html())

    chapter(t("5. Geometry: rotate, scale, shift, fold", "5. 가중치 행렬의 기하학적 의미"),
            t("2-D data and a grid pushed through trained networks: x W rotates and scales "
              "the plane, + b shifts it, the activation folds it, until the classes are "
              "linearly separable. Two circles cannot be pulled apart in the plane, but a "
              "hidden layer of 3 units lifts the inner one out (a 3-D view).",
              "2차원 데이터와 격자를 학습된 신경망에 통과시킵니다: x W는 평면을 회전·확대하고, "
              "+ b는 이동하며, 활성화 함수는 접습니다. 그렇게 클래스가 직선으로 나뉠 때까지 "
              "변형됩니다. 두 원은 평면에서 떼어 낼 수 없지만, 유닛 3개의 은닉층은 안쪽 원을 "
              "들어 올립니다(3차원)."))

    def warp(name, what, data, layers, lr, epochs):
        X, y = data
        X = datasets.standardize(X)
        model = Sequential(layers, seed=seed)
        model.compile(optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
        say(t(f"Training a {what}:", f"{what} 학습:"))
        _train(model, X, y, epochs, file, every=epochs // 5, seed=seed)
        say(f"   accuracy: {model.evaluate(X, y, verbose=0, return_dict=True)['accuracy']:.3f}")
        keep(name, viz.plot_warp(model, X, y, lang=lang))
        keep(f"{name}_animation", viz.animate_warp(model, X, y, frames_per_step=3 if quick
                                                   else 5, lang=lang), gif=True)
    warp("warp", t("2-2-2-2-2 tanh network on the moons", "반달 데이터의 2-2-2-2-2 tanh 신경망"),
         datasets.make_moons(300, noise=0.08, seed=seed),
         [Dense(2, activation="tanh", input_dim=2), Dense(2, activation="tanh"),
          Dense(2, activation="tanh"), Dense(2, activation="softmax")],
         0.02, 60 if quick else 300)
    warp("warp_3d", t("2-3-2 tanh network on two circles", "두 원 데이터의 2-3-2 tanh 신경망"),
         datasets.make_circles(300, seed=seed),
         [Dense(3, activation="tanh", input_dim=2), Dense(2, activation="softmax")],
         0.03, 40 if quick else 150)
    X, y = datasets.make_spirals(300, arms=2, noise=0.15, seed=seed)
    X = datasets.standardize(X)
    boundary_model = Sequential([Dense(16, activation="relu", input_dim=2),
                                 Dense(16, activation="relu"),
                                 Dense(2, activation="softmax")], seed=seed)
    boundary_model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    through = viz.boundary_through_training(boundary_model, X, y, epochs=20 if quick else 80,
                                            panels=8, seed=seed, lang=lang)
    keep("boundary_training", through)
    keep("boundary_training_animation", through, gif=True)

    chapter(t("6. The bias as a threshold", "6. 편향(Bias)의 역할: 문턱 조절"),
            t("y = f(w x + b): w sets the slope, b shifts the curve; b > 0 fires more easily "
              "(shifts left), b < 0 less easily (right). In a batch the bias row (1, O) is "
              "broadcast to every sample: (B, O) + (1, O) -> (B, O).",
              "y = f(w x + b): w는 기울기를, b는 곡선의 위치를 정합니다. b > 0이면 더 쉽게 "
              "활성화되고(왼쪽 이동), b < 0이면 덜 쉽게(오른쪽 이동) 활성화됩니다. 배치에서는 편향 "
              "행 "
              ""
              "(1, O)이 모든 샘플에 브로드캐스팅됩니다: (B, O) + (1, O) -> (B, O)."))
    report.add("equation", EQUATIONS["bias"])
    keep("bias_threshold", viz.plot_bias_threshold(lang=lang))

    chapter(t("7. The multi-layer chain", "7. 다층 구조의 연산 흐름"),
            t("Each layer's output is the next one's input. With non-linear activations "
              "between them, the chain can approximate any continuous function (universal "
              "approximation); depth can need far fewer parameters than width, but is harder "
              "to train.",
              "각 층의 출력이 다음 층의 입력이 됩니다(함수의 합성). 층 사이에 비선형 활성화 함수가 "
              "있으면 이 연쇄는 어떤 연속 함수든 근사할 수 있습니다(보편 근사 정리). 깊이는 폭보다 "
              "훨씬 적은 파라미터로 충분할 수 있지만, 학습은 더 어렵습니다."))
    report.add("equation", EQUATIONS["chain"])
    chain = Sequential([Dense(5, activation="relu", input_dim=4), Dense(6, activation="relu"),
                        Dense(4, activation="relu"), Dense(3, activation="softmax")], seed=seed)
    chain_summary = summary(chain, 1)
    title = t("The network of widths 4, 5, 6, 4, 3 of lecture 'Neural Networks'",
              "강의 「Neural Networks」의 폭 4, 5, 6, 4, 3 신경망")
    say(f"{title}:\n{chain_summary}\n")
    report.add("html", f"<h3>{html.escape(title)}</h3>" + chain_summary.to_html())
    keep("universal_approximation", viz.plot_universal_approximation(
        seed=seed, epochs=60 if quick else 400, lang=lang))

    chapter(t("8. Batching", "8. 병렬 처리와 배치(Batch)의 개념"),
            t("A whole batch goes through as one matrix per layer: the digits network below "
              "trains on batches of 32 images, each layer one (32, I) @ (I, O) product.",
              "배치 전체가 층마다 행렬 하나로 통과합니다: 아래 숫자 인식 신경망은 이미지 32장씩의 "
              "배치로 학습하며, 각 층은 (32, I) @ (I, O) 행렬곱 한 번입니다."))
    say(t("Training an MLP on the 8x8 digits (1,797 images, 20% held out):",
          "8x8 숫자 이미지로 MLP 학습 (1,797장, 20%는 평가용):"))
    Xd, yd = datasets.load_digits()
    X_train, raw_test, y_train, y_test = datasets.train_test_split(Xd, yd, 0.2, seed=seed)
    X_train, X_test = datasets.standardize(X_train, raw_test)
    digits = Sequential([Dense(128, activation="relu", input_dim=64), Dropout(0.2),
                         Dense(64, activation="relu"), Dense(10, activation="softmax")],
                        seed=seed)
    digits.compile(optimizers.Adam(1e-3, weight_decay=1e-2), "sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    report.add("html", trace(digits, 32).to_html())
    norms = viz.GradientNorms()
    history = _train(digits, X_train, y_train, 8 if quick else 40, file,
                     every=1 if quick else 4, validation_split=0.1, seed=seed,
                     callbacks=[norms])
    accuracy = digits.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"]
    text(t(f"Held-out accuracy on the digits: {100 * accuracy:.2f}%.",
           f"평가용 숫자 이미지 정확도: {100 * accuracy:.2f}%."))
    keep("training", viz.plot_training(history, norms, lang=lang))

    chapter(t("9. Parameter explosion", "9. 완전 연결 층의 한계: 파라미터 폭발"),
            t("A dense layer from a 224x224x3 image to 4,096 units needs 616,562,688 weights; "
              "a 3x3x3 convolution with 64 output channels needs 1,728.",
              "224x224x3 이미지에서 유닛 4,096개로 가는 Dense 층은 가중치 616,562,688개가 "
              "필요하고, 출력 채널 64개의 3x3x3 합성곱은 1,728개면 됩니다."))
    explosion = compare_dense_conv()
    block(str(explosion))
    keep("parameter_explosion", viz.plot_parameter_explosion(explosion, lang=lang))

    chapter(t("10. From image to abstract vector", "10. 특징 추출: 이미지에서 추상 벡터로"),
            t("One digit through the trained networks: pixels, the first layer's weights as "
              "images (filters), each hidden layer's activations (feature maps for a "
              "convolution), and the output probabilities. After the first hidden layer each "
              "layer is narrower (128, 64, 10): the image is distilled into fewer, denser "
              "numbers until ten of them mean 'which digit'.",
              "숫자 하나가 학습된 신경망을 통과합니다: 픽셀, 이미지로 본 첫 층의 가중치(필터), 각 "
              "은닉층의 활성값(합성곱이면 특징 맵), 그리고 출력 확률. 첫 은닉층 다음부터 층이 "
              "좁아지며"
              "(128, 64, 10), 이미지는 더 적고 조밀한 숫자로 증류되어 마지막 열 개가 '어떤 "
              "숫자인가'"
              "를 뜻하게 됩니다(정보의 증류)."))
    keep("image_to_vector", viz.plot_image_to_vector(digits, X_test[0], y_test[0],
                                                      pixels=raw_test[0], lang=lang))
    block(str(explain(digits, X_test[0])))
    images = lambda A: A.reshape(-1, 8, 8, 1)  # noqa: E731
    cnn = Sequential([Conv2D(8, 3, activation="relu", padding="same"), MaxPool2D(2),
                      Flatten(), Dense(32, activation="relu"),
                      Dense(10, activation="softmax")], input_shape=(8, 8, 1), seed=seed)
    cnn.compile(optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    say(t("Training a small CNN on the same digits:", "같은 숫자 이미지로 작은 CNN 학습:"))
    _train(cnn, images(X_train), y_train, 2 if quick else 10, file, every=1 if quick else 2,
           seed=seed)
    cnn_accuracy = cnn.evaluate(images(X_test), y_test, verbose=0,
                                return_dict=True)["accuracy"]
    text(t(f"The CNN's held-out accuracy: {100 * cnn_accuracy:.2f}% with "
           f"{cnn.count_params():,} parameters (the MLP: {100 * accuracy:.2f}% with "
           f"{digits.count_params():,}).",
           f"CNN의 평가 정확도: 파라미터 {cnn.count_params():,}개로 {100 * cnn_accuracy:.2f}% "
           f"(MLP: {digits.count_params():,}개로 {100 * accuracy:.2f}%)."))
    keep("image_to_vector_cnn", viz.plot_image_to_vector(cnn, images(X_test)[0], y_test[0],
                                                          pixels=raw_test[0], lang=lang))

    chapter(t("11. Losses: how wrong is the prediction?", "11. 손실 함수: 예측은 얼마나 틀렸나?"),
            t("Forward propagation ends by comparing the prediction with the target: the loss. "
              "MSE for regression, (binary) cross-entropy for classification, focal loss for "
              "imbalanced classes. What matters for learning is the gradient each one sends "
              "back.",
              "순전파는 예측을 정답과 비교하는 손실로 끝납니다. 회귀에는 MSE, 분류에는 (이진) 교차 "
              "엔트로피, 불균형 데이터에는 포컬 손실을 씁니다. 학습에 중요한 것은 각 손실이 되돌려 "
              "보내는 기울기입니다."))
    report.add("equation", EQUATIONS["losses"])
    keep("losses", viz.plot_losses(lang=lang))

    chapter(t("12. Backpropagation", "12. 역전파(Backpropagation)"),
            t("Gradients flow from the loss back through each layer as explicit matrix "
              "formulas (the chain rule); the forward values are kept, so training needs more "
              "memory than inference. First a tiny network worked by hand, with the engine's "
              "own numbers; then the lecture's example; then the shapes of every gradient; "
              "then the choices (initialisation, activation, learning rate) that decide "
              "whether the gradients vanish, explode or train well.",
              "기울기는 손실에서 출발해 명시적인 행렬 공식(연쇄 법칙)으로 각 층을 거슬러 흐릅니다. "
              "순전파 값을 저장해 두어야 하므로 학습은 추론보다 메모리가 더 듭니다. 먼저 작은 "
              "신경망을 "
              ""
              "엔진의 실제 숫자로 따라가고, 강의의 예제, 모든 기울기의 형상, 그리고 기울기가 "
              "사라질지, 폭발할지, 잘 학습될지를 정하는 선택(초기화, 활성화 함수, 학습률)을 "
              "봅니다."))
    report.add("equation", EQUATIONS["backprop"])
    keep("backprop", viz.plot_backprop(lang=lang))
    block(l2_backprop_example(lang=lang)[0])
    report.add("html", trace(mlp, 32, backward=True).to_html())
    keep("choices", viz.plot_choices(seed=seed, epochs=10 if quick else 30, lang=lang))

    chapter(t("13. Optimisers", "13. 옵티마이저"),
            t("The gradient says which way is down; the optimiser decides how far to step. "
              "SGD steps along the gradient; momentum remembers past steps; RMSprop and Adam "
              "scale each parameter's step by the size of its recent gradients.",
              "기울기는 어느 쪽이 내리막인지 알려 주고, 옵티마이저는 얼마나 갈지 정합니다. SGD는 "
              "기울기를 따라가고, 모멘텀은 지난 스텝을 기억하며, RMSprop과 Adam은 파라미터마다 "
              "최근 "
              ""
              "기울기 크기로 스텝을 조절합니다."))
    report.add("equation", EQUATIONS["sgd"])
    keep("optimizers", viz.plot_optimizer_paths(lang=lang))

    chapter(t("14. Overfitting and regularisation", "14. 과적합과 정규화"),
            t("A network with many parameters and few examples memorises them. Early stopping, "
              "dropout, L2 weight decay and batch normalisation fight it.",
              "파라미터가 많고 예제가 적은 신경망은 예제를 외워 버립니다. 조기 종료, 드롭아웃, L2 "
              "가중치 감쇠, 배치 정규화가 이를 막습니다."))
    keep("overfitting", viz.plot_overfitting(seed=seed, epochs=100 if quick else 300,
                                             lang=lang))

    chapter(t("15. Beyond the MLP: convolution, recurrence, attention",
              "15. MLP를 넘어서: 합성곱, 순환, 어텐션"),
            t("An MLP sees an image as unrelated pixels and a sequence with no order. A "
              "convolution shares one small filter across the image; a recurrent layer "
              "carries a hidden state through time; attention lets every position read from "
              "every other. Each is still matrix products.",
              "MLP는 이미지를 서로 무관한 픽셀로, 시퀀스를 순서 없는 값으로 봅니다. 합성곱은 작은 "
              "필터 하나를 이미지 전체에서 공유하고, 순환 층은 은닉 상태를 시간을 따라 전달하며, "
              "어텐션은 모든 위치가 다른 모든 위치를 읽게 합니다. 모두 여전히 행렬곱입니다."))
    keep("convolution", viz.plot_convolution(cnn, images(X_test)[0], pixels=raw_test[0],
                                             lang=lang))
    report.add("equation", EQUATIONS["rnn"])
    rnn, X_seq, _ = viz.train_sine_rnn(seed=seed, epochs=5 if quick else 20)
    keep("recurrence", viz.plot_recurrence(rnn, X_seq, lang=lang))
    report.add("equation", EQUATIONS["attention"])
    attention, X_tokens, y_tokens = viz.train_signal_attention(seed=seed,
                                                               epochs=5 if quick else 20)
    picks = [int(np.argmax(y_tokens == k)) for k in range(3)]   # one sequence per signal
    keep("attention", viz.plot_attention(attention, X_tokens[picks], lang=lang))

    chapter(t("16. Recap: the voyage", "16. 단원 요약: 정보의 항해"),
            t("Data enters as a batch X of shape (B, I). Each layer multiplies by W (I, O) and "
              "adds b, broadcast to every row: (B, I) @ (I, O) + (1, O) = (B, O); the inner "
              "dimension vanishes, the batch stays. Geometrically x W turns and stretches the "
              "space, + b shifts it and the activation folds it, layer after layer, until a "
              "straight line separates the classes. The parameters are the entries of the W's "
              "and b's (a dense layer on images has far too many: convolutions share them). "
              "The loss compares the output with the target; backpropagation sends its "
              "gradient back through the same matrices transposed (dX = dZ W^T, "
              "dW = X^T dZ); the optimiser steps every parameter downhill; regularisation "
              "keeps the network from memorising. What to choose in practice: the number of "
              "layers and units, the learning rate and its schedule, the batch size, the "
              "activation with its initialisation, and the regulariser.",
              "데이터는 (B, I) 모양의 배치 X로 들어옵니다. 각 층은 W (I, O)를 곱하고 모든 행에 "
              "브로드캐스팅되는 b를 더합니다: (B, I) @ (I, O) + (1, O) = (B, O). 안쪽 차원은 "
              "사라지고 배치는 남습니다. 기하학적으로 x W는 공간을 돌리고 늘리며, + b는 옮기고, "
              "활성화 함수는 접습니다. 층마다 이를 반복해 마침내 직선 하나가 클래스를 나눕니다. "
              "파라미터는 W와 b의 원소입니다(이미지에 Dense 층을 쓰면 너무 많아지므로 합성곱은 "
              "가중치를 공유합니다). 손실은 출력을 정답과 비교하고, 역전파는 그 기울기를 같은 "
              "행렬의 전치를 통해 되돌려 보냅니다(dX = dZ W^T, dW = X^T dZ). 옵티마이저는 모든 "
              "파라미터를 내리막으로 옮기고, 정규화는 신경망이 외우지 않게 합니다. 실전에서 고를 "
              "것: 층과 유닛의 수, 학습률과 스케줄, 배치 크기, 활성화 함수와 그에 맞는 초기화, "
              "정규화 방법."))
    report.add("p", t("Lectures: ", "강의: ") + "; ".join(
        slide(key, lang) for key in ("summary", "hyperparameters")))

    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(report.html())
    say(t(f"\nThe tour took {time.perf_counter() - start:.1f} s. Report: "
          f"{os.path.abspath(path)}",
          f"\n투어 시간 {time.perf_counter() - start:.1f}초. 보고서: {os.path.abspath(path)}"))
    return path
