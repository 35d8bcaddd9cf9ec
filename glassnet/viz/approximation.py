"""Universal approximation: one wide layer against three layers with exactly equal
parameter counts. Each takes explicit seeds and ``lang`` ("en" or "ko"), and says what
to notice in its caption and which lecture slide it draws."""

import numpy as np

from .. import optimizers
from ..layers.dense import Dense
from ..lectures import words
from ..network.sequential import Sequential
from .picture import (Picture, drawn,
                      new_figure)


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
