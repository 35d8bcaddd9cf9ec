"""Pictures of how a network learns, each computed by the engine's own classes: the
losses and their gradients (glassnet's loss and activation layers), optimiser paths on
a 2-D surface (glassnet's optimisers, step by step), and backpropagation worked on a
tiny network (its forward values and gradients, one SGD step)."""
import numpy as np
from matplotlib.patches import Circle

from .. import losses, optimizers
from ..layers.activations import Activation
from ..layers.dense import Dense
from ..lectures import words
from ..network.sequential import Sequential
from .picture import CLASS_COLOURS, TEXT, Picture, drawn, new_figure


def loss_curves(p):
    """For predicted probabilities ``p`` of the true class: each loss and its gradient
    with respect to the true class's logit z, computed by glassnet's losses and
    activation layers (forward, backward, and the activation's backward: the chain rule
    dL/dz = dL/dp dp/dz). MSE and binary cross-entropy follow one sigmoid unit
    (p = sigmoid(z), target 1); cross-entropy and focal loss a two-class softmax
    (logits [0, z], target class 1). Returns {name: (loss per sample, dL/dz)}."""
    p = np.asarray(p, np.float64)
    z = np.log(p) - np.log1p(-p)                          # sigmoid(z) = softmax([0, z])[1]
    n = len(p)
    out = {}
    for name, loss, softmax in (("MSE", losses.MeanSquaredError(), False),
                                ("binary cross-entropy", losses.BinaryCrossentropy(), False),
                                ("cross-entropy", losses.CategoricalCrossentropy(), True),
                                ("focal (gamma 2, alpha 0.25)",
                                 losses.CategoricalFocalCrossentropy(), True)):
        activation = Activation("softmax" if softmax else "sigmoid")
        Z = np.c_[np.zeros(n), z] if softmax else z[:, None]
        T = np.c_[np.zeros(n), np.ones(n)] if softmax else np.ones((n, 1))
        Y = activation.forward(Z)
        values = np.array([loss.forward(Y[i:i + 1], T[i:i + 1]) for i in range(n)])
        loss.forward(Y, T)                               # the mean over the batch, then
        dZ = activation.backward(loss.backward()) * n    # each sample's own gradient
        out[name] = (values, dZ[:, -1])
    return out


@drawn
def plot_losses(lang="en"):
    """Lecture 'The mathematics of neural networks', section 7: MSE, binary
    cross-entropy, cross-entropy and focal loss against the predicted probability of the
    true class, and their gradients at the logit. Where the model is confidently wrong
    (p near 0) MSE's gradient through the sigmoid vanishes, cross-entropy's stays near
    -1: cross-entropy keeps learning from its worst mistakes."""
    t = words(lang)
    p = np.linspace(0.005, 0.995, 199)
    curves = loss_curves(p)
    names = {"MSE": "MSE", "binary cross-entropy": t("binary cross-entropy", "이진 교차 엔트로피"),
             "cross-entropy": t("cross-entropy (softmax)", "교차 엔트로피 (소프트맥스)"),
             "focal (gamma 2, alpha 0.25)": t("focal (γ 2, α 0.25)", "포컬 (γ 2, α 0.25)")}
    styles = {"MSE": ("#d62728", "-"), "binary cross-entropy": ("#1f77b4", "-"),
              "cross-entropy": ("#ff7f0e", "--"), "focal (gamma 2, alpha 0.25)": ("#2ca02c", "-")}
    figure = new_figure(11, 3.9)
    for k, (title, index) in enumerate(((t("loss for one sample", "샘플 하나의 손실"), 0),
                                        (t("gradient at the logit, dL/dz",
                                           "로짓에서의 그라디언트 dL/dz"), 1))):
        ax = figure.add_subplot(1, 2, k + 1)
        for name, values in curves.items():
            colour, style = styles[name]
            ax.plot(p, values[index], color=colour, linestyle=style, label=names[name])
        ax.set_xlabel(t("predicted probability of the true class, p",
                        "정답 클래스의 예측 확률 p"))
        ax.set_title(title)
        ax.axvspan(0, 0.1, color="#eeeeee", zorder=0)
        ax.legend(fontsize=8)
    ax.text(0.015, -0.45, t("confidently\nwrong", "확신에 찬\n오답"), fontsize=TEXT, va="bottom")
    figure.axes[0].set_ylim(0, 5.5)
    low = int(np.argmin(np.abs(p - 0.02)))
    mse, ce = curves["MSE"][1][low], curves["cross-entropy"][1][low]
    return Picture(t("Losses and their gradients", "손실 함수와 그라디언트"), figure, 2,
                   slide="losses_optimisers",
                   data={"p": p, "curves": curves, "at_0.02": {"MSE": mse, "cross-entropy": ce},
                         "p_wrong": 0.02, "p_easy": 1},
                   caption=t(f"At p = 0.02 (confidently wrong) MSE through a sigmoid has a "
                             f"gradient of {mse:.3f}, cross-entropy {ce:.3f}: MSE barely "
                             f"learns from its worst mistakes, cross-entropy learns most from "
                             f"them. Binary and two-class cross-entropy are the same curve. "
                             f"Focal loss shrinks the loss of easy samples (p near 1) so "
                             f"rare, hard ones weigh more (imbalanced data).",
                             f"p = 0.02(확신에 찬 오답)에서 시그모이드를 거친 MSE의 그라디언트는 "
                             f"{mse:.3f}, 교차 엔트로피는 {ce:.3f}입니다: MSE는 가장 큰 실수에서 "
                             f"거의 배우지 못하고, 교차 엔트로피는 오히려 가장 많이 배웁니다. 이진 "
                             f"교차 엔트로피와 두 클래스 교차 엔트로피는 같은 곡선입니다. 포컬 "
                             f"손실은 쉬운 샘플(p가 1 근처)의 손실을 줄여 드물고 어려운 샘플의 "
                             f"비중을 키웁니다(불균형 데이터)."))


def surface(w):
    """The 2-D loss surface of the optimiser picture, a long narrow valley:
    f(a, b) = 0.01 a^2 + b^2 (curvatures 0.02 along and 2 across; lowest, 0, at 0).
    Returns (f, gradient)."""
    a, b = w
    return 0.01 * a * a + b * b, np.array([0.02 * a, 2 * b])


def optimizer_path(optimizer, start=(-9.0, 1.6), steps=60):
    """The iterates of a glassnet optimiser on ``surface``: each step hands it the
    parameters and their gradient as flat arrays, exactly as ``fit`` does."""
    w = np.array(start, np.float64)
    path = [w.copy()]
    for _ in range(steps):
        optimizer.step(w, surface(w)[1])
        path.append(w.copy())
    return np.array(path)


OPTIMISERS = (("SGD (lr 0.9)", lambda: optimizers.SGD(0.9)),
              ("Momentum (lr 0.5, 0.9)", lambda: optimizers.SGD(0.5, momentum=0.9)),
              ("RMSprop (lr 0.3)", lambda: optimizers.RMSprop(0.3)),
              ("Adam (lr 0.5)", lambda: optimizers.Adam(0.5)))


def _bounce(values):
    """(lowest value, its step, the highest value after it, its step) of a loss curve."""
    values = np.asarray(values)
    low = int(np.argmin(values))
    high = low + int(np.argmax(values[low:]))
    return float(values[low]), low, float(values[high]), high


@drawn
def plot_optimizer_paths(steps=60, lang="en"):
    """SGD, momentum, RMSprop and Adam on one 2-D valley (lecture 'The mathematics of
    neural networks', section 7): each one's path over the loss's contours in its own
    panel (so that no path hides another), and the loss step by step, with any rebound
    after the lowest point marked. Every point is an iterate of glassnet's optimiser
    classes."""
    t = words(lang)
    paths = {name: optimizer_path(make(), steps=steps) for name, make in OPTIMISERS}
    figure = new_figure(11, 5.4)
    grid = figure.add_gridspec(2, 3, width_ratios=[1, 1, 1.25])
    a, b = np.meshgrid(np.linspace(-10.5, 4, 200), np.linspace(-2.2, 2.2, 120))
    start = paths[OPTIMISERS[0][0]][0]
    for k, (name, path) in enumerate(paths.items()):
        ax = figure.add_subplot(grid[k // 2, k % 2])
        ax.contour(a, b, surface((a, b))[0], levels=18, colors="#cccccc", linewidths=0.7)
        ax.plot(path[:, 0], path[:, 1], "o-", markersize=2.5, linewidth=1.1,
                color=CLASS_COLOURS[k])
        ax.plot(*start, "k*", markersize=10)
        ax.plot(0, 0, "k+", markersize=10)
        ax.set_xlim(-10.5, 4)
        ax.set_ylim(-2.2, 2.2)
        ax.set_title(f"{name}: w1 = {path[-1, 0]:.2f}", color=CLASS_COLOURS[k])
        if k // 2:
            ax.set_xlabel("w1")
        if not k % 2:
            ax.set_ylabel("w2")
    figure.suptitle(t(f"{steps} steps from the star towards the lowest point (+) of "
                      f"f = 0.01 w1² + w2²",
                      f"별에서 최저점(+)을 향한 {steps} 스텝, f = 0.01 w1² + w2²"),
                    fontsize=TEXT)
    ax = figure.add_subplot(grid[:, 2])
    finals, bounces = {}, {}
    for k, (name, path) in enumerate(paths.items()):
        values = [float(surface(p)[0]) for p in path]
        finals[name] = values[-1]
        bounces[name] = _bounce(values)
        ax.plot(values, color=CLASS_COLOURS[k], label=name)
    ax.set_yscale("log")
    ax.set_xlabel(t("step", "스텝"))
    ax.set_ylabel(t("f (log scale; the lowest is 0)", "f (로그 눈금; 최솟값 0)"))
    ax.set_title(t("loss, step by step", "스텝별 손실"))
    rms = OPTIMISERS[2][0]
    low, low_step, high, high_step = bounces[rms]
    rebound = high > 100 * low
    if rebound:
        ax.annotate(t(f"RMSprop: {low:.0e} at step {low_step},\nback to {high:.1g} at step "
                      f"{high_step}", f"RMSprop: {low_step} 스텝에서 {low:.0e},\n{high_step} "
                      f"스텝에서 {high:.1g}로 되튐"), (low_step, low), (0.97, 0.97),
                    textcoords="axes fraction", ha="right", va="top", color=CLASS_COLOURS[2],
                    arrowprops={"arrowstyle": "->", "color": CLASS_COLOURS[2]})
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2)
    sgd = paths[OPTIMISERS[0][0]][-1, 0]
    overshoot = paths[OPTIMISERS[1][0]][:, 0].max()
    return Picture(t("Optimisers on one valley", "한 골짜기 위의 옵티마이저"), figure, 5,
                   slide="losses_optimisers",
                   data={"paths": paths, "start": (-9.0, 1.6), "final_loss": finals,
                         "bounces": bounces, "curvature": (0.02, 2), "lr": (0.9, 1.0, 0.5),
                         "ratio": 100, "steps": steps},
                   caption=t(f"The valley curves 100 times more across (w2, vertical) than "
                             f"along (w1, horizontal). Plain SGD, at lr 0.9 (above 1.0 it "
                             f"diverges across), bounces from wall to wall and after {steps} "
                             f"steps is still at w1 = {sgd:.1f}; momentum gathers speed along "
                             f"the floor and overshoots past 0 (to w1 = {overshoot:.1f}); "
                             f"RMSprop and Adam divide each step by a running size of its "
                             f"gradient, so both directions move at a similar pace."
                             + (f" That division keeps RMSprop's steps near lr even at the "
                                f"bottom: it reaches {low:.0e} at step {low_step} and is thrown "
                                f"back to {high:.1g} at step {high_step} (a smaller learning "
                                f"rate near the end, a schedule, avoids it)." if rebound else ""),
                             f"이 골짜기는 세로(w2) 방향으로 가로(w1) 방향보다 100배 더 휘어 "
                             f"있습니다. 기본 SGD는 lr 0.9(1.0을 넘으면 세로로 발산)에서 벽 사이를 "
                             f"튕기며, {steps} 스텝 뒤에도 w1 = {sgd:.1f}에 있습니다. 모멘텀은 "
                             f"바닥을 따라 속도를 모아 0을 지나칩니다(w1 = {overshoot:.1f}까지). "
                             f"RMSprop과 Adam은 각 스텝을 그라디언트 크기의 이동 평균으로 "
                             f"나누어 두 방향이 비슷한 속도로 움직입니다."
                             + (f" 그 나눗셈 때문에 RMSprop의 스텝은 바닥에서도 lr 가까이 "
                                f"남습니다: {low_step} 스텝에서 {low:.0e}에 닿았다가 {high_step} "
                                f"스텝에서 {high:.1g}로 되튑니다(끝으로 갈수록 학습률을 줄이는 "
                                f"스케줄이 이를 막습니다)." if rebound else "")))


def backprop_example(learning_rate=0.5, steps=10):
    """A 2-2-1 sigmoid network with chosen weights, one sample x = (0.05, 0.10), target
    1, binary cross-entropy: the forward values (z and a of every neuron, from the
    layers' caches), the gradients (dL/dz and dL/dW, from the layers' ``grads``: with a
    batch of one, db = dL/dz) of one SGD step, and the loss over ``steps`` steps."""
    model = Sequential([Dense(2, activation="sigmoid", input_dim=2),
                        Dense(1, activation="sigmoid")], dtype="float64")
    model.build()
    model.set_weights([np.array([[0.15, 0.25], [0.20, 0.30]]), np.array([0.35, 0.35]),
                       np.array([[0.40], [0.45]]), np.array([0.60])])
    model.compile(optimizers.SGD(learning_rate), "binary_crossentropy")
    x, y = np.array([[0.05, 0.10]]), np.array([[1.0]])
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, y)
    hidden, output = model.layers
    values = {"x": x[0], "loss": float(loss), "weights": before,
              "z": [hidden.cache["Z"][0].copy(), output.cache["Z"][0].copy()],
              "a": [hidden.cache["Y"][0].copy(), output.cache["Y"][0].copy()],
              "dz": [hidden.grads["b"].copy(), output.grads["b"].copy()],
              "dW": [hidden.grads["W"].copy(), output.grads["W"].copy()],
              "after": [w.copy() for w in model.get_weights()]}
    values["losses"] = [float(loss)] + [float(model.train_on_batch(x, y))
                                        for _ in range(steps - 1)]
    values["losses"].append(float(model.evaluate(x, y, verbose=0)))
    return values


@drawn
def plot_backprop(learning_rate=0.5, lang="en"):
    """Backpropagation worked on a tiny network (lectures 'Neural Networks', section 3,
    and 'Deep learning basics', backpropagation): the graph with every forward value
    (black) and every gradient (red) written on it, as the engine computed them; then
    one SGD step, W <- W - lr dL/dW, and the loss step by step."""
    t = words(lang)
    v = backprop_example(learning_rate)
    W1, b1, W2, b2 = v["weights"]
    figure = new_figure(11, 4.6)
    grid = figure.add_gridspec(1, 3)
    ax = figure.add_subplot(grid[0, 0:2])
    nodes = {"x1": (0, 3.2), "x2": (0, 0), "h1": (4.6, 3.2), "h2": (4.6, 0), "y": (9.2, 1.6)}
    edges = [("x1", "h1", 0, 0, 0, 0.5), ("x1", "h2", 0, 1, 0, 0.27),
             ("x2", "h1", 1, 0, 0, 0.27), ("x2", "h2", 1, 1, 0, 0.5),
             ("h1", "y", 0, 0, 1, 0.5), ("h2", "y", 1, 0, 1, 0.5)]
    white = {"facecolor": "white", "edgecolor": "none", "pad": 0.3}
    for a, b, i, j, layer, s in edges:                 # each label along its own edge,
        (xa, ya), (xb, yb) = nodes[a], nodes[b]        # named w1..w6 as the lecture does
        ax.plot([xa, xb], [ya, yb], color="#999999", linewidth=1, zorder=0)
        W, dW = (W1, v["dW"][0]) if layer == 0 else (W2, v["dW"][1])
        number = 1 + i + 2 * j if layer == 0 else 5 + i
        px, py = xa + s * (xb - xa), ya + s * (yb - ya)
        length = np.hypot(xb - xa, yb - ya)
        normal = np.array([-(yb - ya), xb - xa]) / length
        angle = np.degrees(np.arctan2(yb - ya, xb - xa))
        for side, text, colour in ((1, f"w{number}={W[i, j]:g}", "black"),
                                   (-1, f"dL/dw{number}={dW[i, j]:.4f}", "#d62728")):
            ax.text(px + side * 0.2 * normal[0], py + side * 0.2 * normal[1], text,
                    ha="center", va="center", rotation=angle, rotation_mode="anchor",
                    fontsize=TEXT, color=colour, bbox=white)
    for name, (cx, cy) in nodes.items():
        ax.add_patch(Circle((cx, cy), 0.5, facecolor="#f4f4f4", edgecolor="#333333"))
        ax.text(cx, cy, name if name != "y" else "ŷ", ha="center", va="center",
                fontsize=12)
    for k, name in enumerate(("x1", "x2")):
        ax.text(nodes[name][0] - 0.65, nodes[name][1], f"{v['x'][k]:g}", ha="right",
                va="center", fontsize=TEXT)
    for layer, names in ((0, ("h1", "h2")), (1, ("y",))):
        bias = b1 if layer == 0 else b2
        for k, name in enumerate(names):
            cx, cy = nodes[name]
            ax.text(cx, cy + 0.62, f"z={v['z'][layer][k]:.4f}  a={v['a'][layer][k]:.4f}\n"
                    f"b={bias[k]:g}", ha="center", va="bottom", fontsize=TEXT)
            ax.text(cx, cy - 0.62, f"dL/dz={v['dz'][layer][k]:.4f}", ha="center", va="top",
                    fontsize=TEXT, color="#d62728")
    ax.text(10.6, 1.2, t(f"target 1\nL = -log ŷ\n= {v['loss']:.4f}\n\ndL/dz = ŷ - 1",
                        f"정답 1\nL = -log ŷ\n= {v['loss']:.4f}\n\ndL/dz = ŷ - 1"),
            va="top", fontsize=TEXT)
    ax.set_xlim(-1.0, 12.6)
    ax.set_ylim(-1.3, 4.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(t("forward values (black), gradients from the backward pass (red)",
                   "순전파 값(검정), 역전파 그라디언트(빨강)"))
    ax = figure.add_subplot(grid[0, 2])
    ax.plot(range(len(v["losses"])), v["losses"], "o-", color="#1f77b4")
    ax.set_xlabel(t("SGD step", "SGD 스텝"))
    ax.set_ylabel(t("loss", "손실"))
    ax.set_title(t(f"W <- W - {learning_rate} dL/dW, step by step",
                   f"W <- W - {learning_rate} dL/dW, 스텝별"))
    new = v["after"][2][0, 0]
    ax.annotate(t(f"step 1: w5 (h1->ŷ) {W2[0, 0]:g} -> {new:.4f}",
                  f"1스텝: w5 (h1->ŷ) {W2[0, 0]:g} -> {new:.4f}"),
                (1, v["losses"][1]), (2, v["losses"][0]), fontsize=TEXT,
                arrowprops={"arrowstyle": "->"})
    return Picture(t("Backpropagation, worked", "역전파 손으로 따라가기"), figure, 2,
                   slide="nn_backward", data=v,
                   caption=t(f"Read the red numbers right to left: dL/dz at the output is "
                             f"ŷ - 1 = {v['dz'][1][0]:.4f}; each weight's gradient is the "
                             f"input it multiplies times the dL/dz of the neuron it feeds "
                             f"(dW = x^T dz), and a hidden neuron's dL/dz is the output's "
                             f"dL/dz times its weight times the sigmoid's slope a(1 - a). "
                             f"One step lowers the loss from {v['losses'][0]:.4f} to "
                             f"{v['losses'][1]:.4f}.",
                             f"빨간 숫자를 오른쪽에서 왼쪽으로 읽으세요: 출력의 dL/dz는 ŷ - 1 = "
                             f"{v['dz'][1][0]:.4f}입니다. 각 가중치의 그라디언트는 그 가중치가 "
                             f"곱하는 입력 × 그 가중치가 들어가는 뉴런의 dL/dz(dW = x^T dz)이고, "
                             f"은닉 뉴런의 dL/dz는 출력의 dL/dz × 가중치 × 시그모이드의 "
                             f"기울기 a(1 - a)입니다. 한 스텝이 손실을 {v['losses'][0]:.4f}에서 "
                             f"{v['losses'][1]:.4f}로 낮춥니다."))
