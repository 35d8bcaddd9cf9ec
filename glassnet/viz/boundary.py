"""Decision boundaries: the plane coloured by the model's decision, and the boundary
through training at the epochs where it moves. Each takes explicit seeds and ``lang``
("en" or "ko"), and says what to notice in its caption and which lecture slide it draws."""

import numpy as np

from ..network.callbacks import Callback
from ..lectures import words
from .picture import (CLASS_COLOURS, Picture, confidence_image, drawn,
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
