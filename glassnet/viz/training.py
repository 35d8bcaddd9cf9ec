"""Pictures of training: loss curves and gradient norms, the choices that decide
whether gradients vanish or explode (initialisation, activation, dead ReLU units,
learning rate, optimiser), and overfitting with early stopping and regularisation.
Every curve is a real run of glassnet's engine, seeded."""
import numpy as np

from .. import datasets, optimizers
from ..network.callbacks import Callback, EarlyStopping
from ..layers.dense import Dense, Dropout
from ..lectures import words
from ..network.sequential import Sequential
from ..layers.normalization import BatchNorm
from .picture import CLASS_COLOURS, Picture, drawn, new_figure
from .warp import step_name


class GradientNorms(Callback):
    """Records the norm of each weighted layer's gradient ||dW|| after every batch;
    ``names`` says which layer each column is ("layer 3: Dense(64, relu)")."""

    def __init__(self):
        self.norms, self.names = [], []

    def on_batch_end(self, batch, logs):
        layers = [(i, layer) for i, layer in enumerate(self.model.layers, 1)
                  if "W" in layer.grads]
        if not self.names:
            self.names = [f"layer {i}: {layer!r}" for i, layer in layers]
        self.norms.append([float(np.linalg.norm(layer.grads["W"])) for _, layer in layers])


@drawn
def plot_training(history, gradient_norms=None, lang="en"):
    """Loss and accuracy (train and validation) by epoch, and each layer's gradient norm
    by batch, thin, with its moving average over 20 batches, thick (the backward pass made
    visible: vanishing or exploding gradients show up here)."""
    t = words(lang)
    h = history.history
    panels = 2 + (gradient_norms is not None)
    figure = new_figure(3.65 * panels, 4.0)
    for k, metric in enumerate(("loss", "accuracy")):
        ax = figure.add_subplot(1, panels, k + 1)
        for key, name in ((metric, t("training", "학습")), (f"val_{metric}",
                                                          t("validation", "검증"))):
            if key in h:
                ax.plot(range(1, len(h[key]) + 1), h[key], "o-", markersize=3, label=name)
        ax.set_title(t(metric, {"loss": "손실", "accuracy": "정확도"}[metric]))
        ax.set_xlabel(t("epoch", "에포크"))
        ax.legend()
    if gradient_norms is not None:
        ax = figure.add_subplot(1, panels, 3)
        norms = np.asarray(gradient_norms.norms)
        window = min(20, len(norms))
        smooths = np.array([np.convolve(norms[:, k], np.ones(window) / window, mode="valid")
                            for k in range(norms.shape[1])])
        for k, smooth in enumerate(smooths):
            line, = ax.plot(norms[:, k], linewidth=0.5, alpha=0.4)
            ax.plot(np.arange(window - 1, len(norms)), smooth, color=line.get_color(),
                    linewidth=1.6, label=step_name(gradient_norms.names[k], lang))
        ax.set_yscale("log")
        ax.set_xlabel(t("batch", "배치"))
        ax.set_title(t("||dW|| per layer (log scale)", "층별 ||dW|| (로그 눈금)"))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
    best = int(np.argmin(h["val_loss"])) + 1 if "val_loss" in h else None
    falls = all(b < a for a, b in zip(h["loss"], h["loss"][1:]))
    notice = (t("Training loss falls epoch after epoch", "학습 손실은 에포크마다 내려갑니다")
              if falls else t(f"Training loss goes from {h['loss'][0]:.3f} to "
                              f"{h['loss'][-1]:.3f}", f"학습 손실은 {h['loss'][0]:.3f}에서 "
                              f"{h['loss'][-1]:.3f}로 갑니다"))
    if best is not None:
        notice += t(f"; validation loss is lowest at epoch {best} of {len(h['val_loss'])}",
                    f". 검증 손실은 {len(h['val_loss'])} 에포크 중 {best}번째에서 가장 낮습니다")
    data = {"history": h, "best_epoch": best}
    if gradient_norms is not None:
        changes = [float(c) for c in smooths[:, -1] / smooths[:, 0]]
        data["norm_change"] = changes
        steady = all(0.01 < c < 100 for c in changes)
        notice += t(f". Right: each layer's gradient norm, batch by batch (thick: the average "
                    f"of {window}); from the first to the last average it changes "
                    f"{min(changes):.2g}x to {max(changes):.2g}x"
                    + (": neither vanishing nor exploding." if steady else "."),
                    f". 오른쪽: 배치마다 각 층의 그라디언트 노름(굵은 선: {window}개 평균). 첫 "
                    f"평균에서 마지막 평균까지 {min(changes):.2g}배에서 {max(changes):.2g}배로 "
                    f"변합니다" + (": 사라지지도 폭발하지도 않습니다." if steady else "."))
        data["window"] = window
    else:
        notice += "."
    return Picture(t("Training curves", "학습 곡선"), figure, panels, slide="chain_rule",
                   data=data, caption=notice)


def _mlp(widths, activation="relu", init="he_normal", dropout=0.0, batchnorm=False, seed=0,
         outputs=2, momentum=0.99):
    layers = []
    for k, w in enumerate(widths):
        layers.append(Dense(w, activation=activation, kernel_initializer=init,
                            input_dim=2 if k == 0 else None))
        if batchnorm:
            layers.append(BatchNorm(momentum=momentum))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(outputs, activation="softmax"))
    return Sequential(layers, seed=seed)


def layer_statistics(init, depth=8, width=64, seed=0, scale=1.0, activation="tanh"):
    """Std of the activations and mean |dL/dW|, hidden layer by hidden layer, for one
    initialisation and activation, from one real forward and backward pass on a batch
    of spirals (``scale`` multiplies the initial weights: 0.1 too small, 3 too large)."""
    X, y = datasets.make_spirals(256, arms=3, seed=seed)
    model = _mlp([width] * depth, activation=activation, init=init, seed=seed, outputs=3)
    model.compile(optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    model.build()
    model.flat_params *= scale
    stds = [float(Y.std()) for Y in model.layer_outputs(X)[1:-1]]
    model.train_on_batch(X, y)                     # forward, backward (and one small step)
    grads = [float(np.abs(layer.grads["W"]).mean()) for layer in model.layers[:-1]]
    return stds, grads


def dead_units(model, X):
    """Per hidden layer, the share of units that output exactly 0 for every sample of X
    (dead ReLU units: no gradient reaches their weights, so they never recover)."""
    return [float(np.mean(np.all(H == 0, axis=0))) for H in model.layer_outputs(X)[1:-1]]


def _log_by_layer(ax, title, ylabel, runs, lang):
    for name, values in runs:
        ax.plot(range(1, len(values) + 1), values, "o-", label=name, markersize=3)
    ax.set_yscale("log")
    ax.set_xlabel(words(lang)("hidden layer", "은닉층"))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))


def _training_curves(ax, title, runs, X, y, epochs, seed, lang):
    """Train the same 2-32-32-3 network once per run; solid: training loss, dashed:
    validation loss (the last 20% of the data), on shared axes; the legend gives each
    run's final validation loss. Returns {name: validation losses}."""
    t = words(lang)
    finals = {}
    for k, (name, make_optimizer, extra) in enumerate(runs):
        model = _mlp([32, 32], seed=seed, outputs=3, **extra)
        model.compile(make_optimizer(), "sparse_categorical_crossentropy")
        history = model.fit(X, y, epochs=epochs, batch_size=32, seed=seed, verbose=0,
                            validation_split=0.2).history
        colour = CLASS_COLOURS[k]
        ax.plot(history["loss"], color=colour,
                label=t(f"{name}: {history['val_loss'][-1]:.2f}",
                        f"{name}: {history['val_loss'][-1]:.2f}"))
        ax.plot(history["val_loss"], color=colour, linestyle="--", linewidth=0.9)
        finals[name] = history["val_loss"]
    ax.set_title(title + t("\n(dashed: validation; legend: its last value)",
                           "\n(점선: 검증, 범례: 마지막 검증 손실)"))
    ax.set_xlabel(t("epoch", "에포크"))
    ax.set_ylabel(t("loss", "손실"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    return finals


@drawn
def plot_choices(seed=0, epochs=40, lang="en"):
    """The same network under different choices (lecture 'The mathematics of neural
    networks', section 3): Xavier, too small and too large initial weights seen as the
    activations and gradients of 8 tanh layers; sigmoid and tanh with Xavier against ReLU
    with He (each with its proper initialisation); dead ReLU units before and after
    training at a good and a too large learning rate; learning rates and optimisers as
    training and validation curves."""
    t = words(lang)
    X, y = datasets.make_spirals(300, arms=3, seed=seed)
    order = np.random.default_rng(seed).permutation(len(X))   # validation_split takes the
    X, y = X[order], y[order]                                  # last rows: mix the arms
    figure = new_figure(11, 9.2)
    inits = [(t("Xavier (right for tanh)", "Xavier (tanh에 맞음)"), "glorot_normal", 1.0),
             (t("too small (Xavier x0.1)", "너무 작음 (Xavier x0.1)"), "glorot_normal", 0.1),
             (t("too large (Xavier x3)", "너무 큼 (Xavier x3)"), "glorot_normal", 3.0)]
    stats = {name: layer_statistics(init, seed=seed, scale=scale) for name, init, scale in inits}
    _log_by_layer(figure.add_subplot(2, 3, 1),
                  t("initial scale: activations (tanh)", "초기 크기: 활성값 (tanh)"),
                  t("std of the layer's output", "층 출력의 표준편차"),
                  [(n, a) for n, (a, _) in stats.items()], lang)
    _log_by_layer(figure.add_subplot(2, 3, 2), t("initial scale: gradients (tanh)",
                                                 "초기 크기: 그라디언트 (tanh)"),
                  t("mean |dL/dW|", "평균 |dL/dW|"), [(n, g) for n, (_, g) in stats.items()],
                  lang)
    pairs = [("sigmoid", "glorot_normal", "Xavier"), ("tanh", "glorot_normal", "Xavier"),
             ("relu", "he_normal", "He")]
    by_activation = {f"{name} + {init_name}": layer_statistics(init, seed=seed,
                                                                activation=name)[1]
                     for name, init, init_name in pairs}
    _log_by_layer(figure.add_subplot(2, 3, 3),
                  t("activation, each with its initialisation", "활성화 함수와 맞는 초기화"),
                  t("mean |dL/dW|", "평균 |dL/dW|"), list(by_activation.items()), lang)
    ax = figure.add_subplot(2, 3, 4)
    spirals = datasets.make_spirals(256, arms=3, seed=seed)
    dead = {}
    for name, lr in ((t("He, before training", "He, 학습 전"), None),
                     (t("3 epochs, SGD lr 0.1", "3 에포크, SGD lr 0.1"), 0.1),
                     (t("3 epochs, SGD lr 0.5 (too large)", "3 에포크, SGD lr 0.5 (너무 큼)"),
                      0.5)):
        model = _mlp([64] * 8, seed=seed, outputs=3)
        model.compile(optimizers.SGD(lr or 0.1), "sparse_categorical_crossentropy")
        model.build()
        if lr:
            model.fit(*spirals, epochs=3, batch_size=32, seed=seed, verbose=0)
        dead[name] = dead_units(model, spirals[0])
        ax.plot(range(1, 9), [100 * d for d in dead[name]], "o-", markersize=3, label=name)
    ax.set_xlabel(t("hidden layer (ReLU, 64 units)", "은닉층 (ReLU, 유닛 64개)"))
    ax.set_ylabel(t("dead units (%)", "죽은 유닛 (%)"))
    ax.set_title(t("dead ReLU: 0 for every input", "죽은 ReLU: 모든 입력에 0"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
    rates = _training_curves(figure.add_subplot(2, 3, 5), t("learning rate (Adam)",
                                                            "학습률 (Adam)"),
                             [(f"lr = {lr}", (lambda lr=lr: optimizers.Adam(lr)), {})
                              for lr in (1e-4, 1e-3, 1e-2, 1e-1)], X, y, epochs, seed, lang)
    finals = _training_curves(
        figure.add_subplot(2, 3, 6), t("optimiser", "옵티마이저"),
        [("SGD", lambda: optimizers.SGD(0.05), {}),
         ("Momentum", lambda: optimizers.SGD(0.05, momentum=0.9), {}),
         ("RMSprop", lambda: optimizers.RMSprop(0.005), {}),
         ("Adam", lambda: optimizers.Adam(0.005), {})], X, y, epochs, seed, lang)
    small = stats[inits[1][0]][0]
    sigmoid = by_activation["sigmoid + Xavier"]
    before, good, large = (100 * d[-1] for d in dead.values())
    worst = max(max(d) for d in dead.values())
    best_rate = min(rates, key=lambda name: rates[name][-1])
    jumps = {name: max(b - min(v[:k + 1]) for k, b in enumerate(v)) for name, v in rates.items()}
    jumpy = max(jumps, key=jumps.get)
    return Picture(t("Choices that decide training", "학습을 좌우하는 선택"), figure, 6,
                   slide="chain_rule",
                   data={"initialisation": stats, "activation": by_activation,
                         "dead": dead, "optimiser_validation": finals,
                         "rate_validation": rates, "jumps": jumps, "depth": 8, "width": 64,
                         "scales": (0.1, 3), "rates": (0.1, 0.5), "dead_epochs": 3,
                         "samples": len(spirals[0]), "network": (2, 32, 32, 3)},
                   caption=t(f"Too small initial weights make the signal vanish layer by "
                             f"layer (the last layer's std is {small[-1]:.1e}); too large ones "
                             f"saturate tanh. Sigmoid's gradient shrinks towards the first "
                             f"layers ({sigmoid[0]:.1e} against {sigmoid[-1]:.1e} at the "
                             f"last); ReLU with He keeps it. Dead ReLU units: even before "
                             f"training {before:.0f}% of layer 8's units are 0 for all "
                             f"{len(spirals[0])} inputs (the data are 2-D, so a random unit deep "
                             f"in the net can sit below 0 for all of them); 3 epochs at lr 0.1 "
                             f"revive some as the layers before them move ({good:.0f}%), lr 0.5 "
                             f"kills them ({large:.0f}%; up to {100 * worst:.0f}% of a layer). "
                             f"Bottom: the same 2-32-32-3 network on three spirals; the lowest "
                             f"final validation loss is {best_rate}'s, and {jumpy} jumps the "
                             f"most ({jumps[jumpy]:.2f} above its best so far)"
                             + (": too large to be steady." if jumps[jumpy] > 0.1 else "."),
                             f"초기 가중치가 너무 작으면 신호가 층마다 사라지고(마지막 층 표준편차 "
                             f"{small[-1]:.1e}), 너무 크면 tanh가 포화됩니다. 시그모이드의 "
                             "그라디언트는 "
                             ""
                             f"첫 층으로 갈수록 줄어들지만(마지막 층 {sigmoid[-1]:.1e}, 첫 층 "
                             f"{sigmoid[0]:.1e}), He 초기화를 한 ReLU는 유지합니다. 학습률이 "
                             f"너무 크면 ReLU 유닛이 죽습니다. 학습 전에도 8번째 층 유닛의 "
                             f"{before:.0f}%가 입력 {len(spirals[0])}개 모두에 0입니다(데이터가 "
                             f"2차원이라 깊은 층의 무작위 유닛은 모든 입력에서 0 아래에 있을 수 "
                             f"있음). lr 0.1로 3 에포크 학습하면 앞 층들이 움직이며 일부가 "
                             f"살아나고({good:.0f}%), lr 0.5는 유닛을 죽입니다({large:.0f}%, 한 "
                             f"층의 최대 {100 * worst:.0f}%). 아래: 세 갈래 나선에서 같은 "
                             f"2-32-32-3 신경망. 마지막 검증 손실이 가장 낮은 것은 {best_rate}"
                             f"이고, {jumpy}가 가장 크게 튑니다(그때까지의 "
                             f"최저보다 {jumps[jumpy]:.2f} 위)"
                             + (": 안정적이기에는 너무 큽니다." if jumps[jumpy] > 0.1 else ".")))


class _InferenceLoss(Callback):
    """The loss on (X, y) in inference mode after every epoch: what a BatchNorm model's
    running averages give, next to the batch statistics ``fit`` reports."""

    def __init__(self, X, y):
        self.X, self.y, self.losses = X, y, []

    def on_epoch_end(self, epoch, logs):
        self.losses.append(self.model.evaluate(self.X, self.y, verbose=0))


@drawn
def plot_overfitting(seed=0, epochs=300, lang="en"):
    """Overfitting and regularisation (lecture 'The mathematics of neural networks',
    section 4): a 2-64-64-2 network on 60 noisy moons, validated on 540 more. Left:
    training loss falls, validation loss turns up; glassnet's EarlyStopping (patience
    20) marks where it stops and which epoch's weights it restores. Middle: dropout, L2
    and batch norm narrow the gap between training and validation loss. Right: batch
    norm predicts with running averages of the batch statistics (momentum 0.99), which
    lag behind early in training: the training set scored in inference mode against the
    loss ``fit`` reports with each batch's own statistics."""
    t = words(lang)
    X, y = datasets.make_moons(600, noise=0.3, seed=seed)
    X = datasets.standardize(X)
    train, valid = (X[:60], y[:60]), (X[60:], y[60:])

    def run(batchnorm=False, dropout=0.0, weight_decay=0.0, callbacks=()):
        model = _mlp([64, 64], seed=seed, batchnorm=batchnorm, dropout=dropout)
        model.compile(optimizers.Adam(0.01, weight_decay=weight_decay),
                      "sparse_categorical_crossentropy")
        history = model.fit(*train, epochs=epochs, batch_size=32, seed=seed, verbose=0,
                            validation_data=valid, callbacks=list(callbacks)).history
        return history
    figure = new_figure(11, 4.6)
    ax = figure.add_subplot(1, 3, 1)
    plain = run()
    stopper = EarlyStopping(patience=20, restore_best_weights=True)
    stopped = run(callbacks=[stopper])
    best, stop = stopper.best_epoch + 1, len(stopped["loss"])
    ax.plot(range(1, epochs + 1), plain["loss"], color="#1f77b4", label=t("training", "학습"))
    ax.plot(range(1, epochs + 1), plain["val_loss"], color="#d62728",
            label=t("validation", "검증"))
    ax.axvline(best, color="#2ca02c", linestyle="--", linewidth=1,
               label=t(f"lowest validation loss: epoch {best}",
                       f"검증 손실 최저: {best}번째 에포크"))
    ax.axvline(stop, color="#777777", linestyle=":", linewidth=1,
               label=t(f"early stopping stops: epoch {stop}", f"조기 종료: {stop}번째 에포크"))
    ax.set_title(t(f"no regularisation: early stopping\nstops at {stop}, restores {best}",
                   f"정규화 없음: 조기 종료가\n{stop}에서 멈추고 {best}로 복원"))
    ax.set_xlabel(t("epoch", "에포크"))
    ax.set_ylabel(t("loss", "손실"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax = figure.add_subplot(1, 3, 2)
    gaps = {}
    runs = [(t("none", "없음"), {}), (t("dropout 0.3", "Dropout 0.3"), {"dropout": 0.3}),
            ("L2 3e-3", {"weight_decay": 3e-3}),
            (t("batch norm", "배치 정규화"), {"batchnorm": True})]
    for k, (name, options) in enumerate(runs):
        history = plain if not options else run(**options)
        gap = np.asarray(history["val_loss"]) - np.asarray(history["loss"])
        window = min(10, epochs)
        smooth = np.convolve(gap, np.ones(window) / window, mode="valid")
        gaps[name] = float(smooth[-1])
        ax.plot(range(window, epochs + 1), smooth, color=CLASS_COLOURS[k],
                label=f"{name}: {smooth[-1]:.2f}")
    ax.set_title(t("validation - training loss (the gap;\n10-epoch average, the last in the "
                   "legend)", "검증 손실 - 학습 손실 (격차;\n10 에포크 평균, 범례는 마지막 값)"))
    ax.set_xlabel(t("epoch", "에포크"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2)
    ax = figure.add_subplot(1, 3, 3)
    scored = _InferenceLoss(*train)
    normed = run(batchnorm=True, callbacks=[scored])
    ax.plot(range(1, epochs + 1), normed["loss"], color="#1f77b4",
            label=t("batch's own statistics (fit)", "배치 자체 통계 (fit)"))
    ax.plot(range(1, epochs + 1), scored.losses, color="#9467bd",
            label=t("running averages (inference)", "이동 평균 (추론)"))
    ax.set_yscale("log")
    ax.set_title(t("batch norm: the same training set,\nscored two ways",
                   "배치 정규화: 같은 학습 데이터를\n두 방식으로 평가"))
    ax.set_xlabel(t("epoch (2 batches each)", "에포크 (각 2배치)"))
    lag = scored.losses[4] / normed["loss"][4]
    ax.axvline(5, color="#777777", linestyle=":", linewidth=1,
               label=t(f"epoch 5: inference {lag:.1f}x the fit loss",
                       f"5번째 에포크: 추론 손실이 fit의 {lag:.1f}배"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16))
    listed = ", ".join(f"{name} {gap:.2f}" for name, gap in gaps.items())
    return Picture(t("Overfitting and regularisation", "과적합과 정규화"), figure, 3,
                   slide="regularisation",
                   data={"best_epoch": best, "stopped_epoch": stop, "gaps": gaps,
                         "history": plain, "inference_loss": scored.losses,
                         "batch_loss": normed["loss"], "lag": lag, "lag_epoch": 5,
                         "training_points": len(train[0]), "momentum": 0.99,
                         "patience": 20, "window": window},
                   caption=t(f"With 60 training points the network memorises: validation "
                             f"loss is lowest at epoch {best}, then rises while training loss "
                             f"keeps falling. Early stopping keeps epoch {best}'s weights. "
                             f"The gap between validation and training loss at the end: "
                             f"{listed}. Right: batch "
                             f"norm predicts with running averages (momentum 0.99); after 5 "
                             f"epochs (the dotted line) they still lag and the same data scores "
                             f"{lag:.1f}x worse in inference mode: not overfitting, averages "
                             f"still catching up.",
                             f"학습 데이터가 60개뿐이라 신경망이 외워 버립니다: 검증 손실은 "
                             f"{best}번째 에포크에서 가장 낮고, 그 뒤 학습 손실이 계속 내려가는 "
                             f"동안 올라갑니다. 조기 종료는 {best}번째 에포크의 가중치를 "
                             f"지킵니다. 마지막 검증-학습 손실 격차: {listed}. "
                             f"오른쪽: 배치 정규화는 이동 평균(momentum 0.99)으로 예측하는데, 5 "
                             f"에포크 뒤(점선)에도 평균이 뒤처져 같은 데이터가 추론 모드에서 "
                             f"{lag:.1f}배 나쁘게 나옵니다. 과적합이 아니라 평균이 아직 따라오는 "
                             f"중입니다."))
