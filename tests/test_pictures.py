"""Pictures read by their artists (tests/figures.py): every picture in Korean (English is
read in test_viz), the checks themselves seen to fail, each caption's claim computed,
and the numbers of the lectures' new pictures."""
import re
import warnings

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

import glassnet as gn
from figures import (checked_drawings, colour_bar_problems, figure_problems, framing_problems,
                     korean_problems, legend_problems, overlap_problems, untraced_numbers)
from glassnet import viz
from picture_cases import PICTURES, circles_model, moons_model

HANGUL = re.compile("[\uac00-\ud7a3]")


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_every_picture_reads_right_in_korean(name, monkeypatch):
    """Titles, axis labels, legends, every animation frame: Korean, no missing glyph,
    and the same artist checks as in English."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with checked_drawings(monkeypatch, "ko") as problems:
            picture = PICTURES[name][0](0, "ko")
            picture.pixels()
    assert problems == []
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert untraced_numbers(picture) == []
    assert HANGUL.search(picture.title) and HANGUL.search(picture.caption)
    if picture.figure is not None:                      # Korean words on the picture
        assert any(HANGUL.search(text.get_text()) for text in picture.figure.findobj(Text))


# ---- the checks fail where they should ------------------------------------------------
def _figure():
    figure = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def test_the_figure_checks_catch_each_kind_of_fault():
    figure, ax = _figure()                              # a legend over the data
    x = np.linspace(0, 1, 50)
    ax.plot(x, np.ones_like(x), label="flat line along the top")
    ax.set_ylim(0, 1.04)
    ax.legend(loc="upper left")
    figure.canvas.draw()
    assert "covers" in " ".join(overlap_problems(figure))
    figure, ax = _figure()                              # a promise of nothing drawn
    ax.plot(x, x, label="data")
    ax.plot([np.nan], [np.nan], "k--", label="a separator")
    ax.legend(loc="lower right")
    figure.canvas.draw()
    assert legend_problems(figure) == ["legend of '': 'a separator' promises an artist that "
                                       "draws nothing inside the axes"]
    figure, ax = _figure()                              # a colour scale with nothing to read
    image = ax.imshow(np.arange(12.0).reshape(3, 4), cmap="viridis")
    figure.canvas.draw()
    assert "no colour bar" in colour_bar_problems(figure)[0]
    figure.colorbar(image, ax=ax)
    figure.canvas.draw()
    assert colour_bar_problems(figure) == []
    figure, ax = _figure()                              # a speck in a large frame
    ax.scatter(np.random.default_rng(0).normal(size=40), np.zeros(40) + 0.01 * np.arange(40))
    ax.set_xlim(-100, 100)
    figure.canvas.draw()
    assert "less than a third" in " ".join(framing_problems(figure))
    figure, ax = _figure()                              # two texts on each other
    ax.text(0.5, 0.5, "first label")
    ax.text(0.52, 0.5, "second label")
    ax.set_title("모델 weights")                          # English in a Korean picture
    figure.canvas.draw()
    found = figure_problems(figure, "ko")
    assert "the texts 'first label' and 'second label' overlap" in found
    assert any("'weights'" in p for p in korean_problems(figure))


def test_a_typed_number_in_a_caption_is_caught():
    picture = viz.plot_vgg_stack()
    assert untraced_numbers(picture) == []
    picture.caption += " VGG has 16 layers."
    assert untraced_numbers(picture) == ["16 in " + repr(picture.caption[:60])]


def test_every_animation_frame_is_read_while_drawn(monkeypatch):
    model, X, y = moons_model(epochs=5)
    seen = []
    original = FigureCanvasAgg.draw

    def count(canvas, *args, **kwargs):
        seen.append(canvas.figure)
        return original(canvas, *args, **kwargs)
    monkeypatch.setattr(FigureCanvasAgg, "draw", count)
    animation = viz.animate_warp(model, X, y, frames_per_step=2, lang="ko")
    assert len(seen) == len(animation.frames) == 12
    assert all("층" in figure.axes[0].get_title() for figure in seen[-1:])


# ---- each caption's claim, computed ---------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_attention_caption_states_what_the_weights_show(lang):
    model, X, _ = viz.train_signal_attention(epochs=2)
    picture = viz.plot_attention(model, X[:3], lang=lang)
    A, tokens = picture.data["A"], picture.data["tokens"]
    rows = np.concatenate([A[s][:, tokens[s] >= 7].sum(axis=1) for s in range(3)])
    for value in (rows.mean(), rows.min(), rows.max()):
        assert f"{100 * value:.0f}%" in picture.caption
    assert f"{100 / A.shape[-1]:.0f}%" in picture.caption        # the uniform spread
    assert "every position draws" not in picture.caption and "주의의" not in picture.caption
    bars = [ax for ax in picture.figure.axes if getattr(ax, "_colorbar", None)]
    assert len(bars) == 1


def test_warp_draws_the_separator_its_legend_names_and_says_its_layout():
    X, y = gn.datasets.make_moons(200, noise=0.08, seed=0)
    X = gn.datasets.standardize(X)
    model = gn.Sequential([gn.Dense(2, activation="tanh", input_dim=2),
                           gn.Dense(2, activation="tanh"),
                           gn.Dense(2, activation="softmax")], seed=0)
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=40, batch_size=32, seed=0, verbose=0)
    picture = viz.plot_warp(model, X, y)
    legends = [ax for ax in picture.figure.axes if ax.get_legend()]
    assert len(legends) == 1                                    # the last hidden space
    picture.pixels()
    assert legend_problems(picture.figure) == []
    line = [a for a in legends[0].lines if a.get_linestyle() == "--"][0]
    assert np.isfinite(line.get_xydata()).all(axis=1).sum() > 50     # a line, not a point
    assert "Each row is one layer" in picture.caption and "bottom left" in picture.caption
    one_row = viz.plot_warp(*circles_model(epochs=20))
    assert "bottom left" not in one_row.caption and "(right" in one_row.caption


def test_optimizer_caption_names_rmsprops_rebound_from_its_path():
    picture = viz.plot_optimizer_paths(steps=60)
    path = picture.data["paths"]["RMSprop (lr 0.3)"]
    values = np.array([viz.lessons.surface(w)[0] for w in path])
    low = int(np.argmin(values))
    high = low + int(np.argmax(values[low:]))
    assert high > low and values[high] > 1e4 * values[low]          # it is thrown back
    assert f"{values[low]:.0e} at step {low}" in picture.caption
    assert f"{values[high]:.1g} at step {high}" in picture.caption
    assert picture.panels == 5                                     # no path hides another


def test_overfitting_marks_the_epoch_its_caption_quotes():
    picture = viz.plot_overfitting(epochs=30)
    right = picture.figure.axes[2]
    marks = [line for line in right.lines if np.all(np.asarray(line.get_xdata()) == 5)]
    assert len(marks) == 1 and f"{picture.data['lag']:.1f}x" in marks[0].get_label()
    assert f"{picture.data['lag']:.1f}x worse" in picture.caption


def test_convolution_draws_each_matrix_at_its_own_height():
    from picture_cases import cnn_digits_model
    model, image, _ = cnn_digits_model()
    picture = viz.plot_convolution(model, image)
    picture.pixels()
    heights = {image.get_gid().split()[0 if "@" not in image.get_gid() else 1]:
               image.get_window_extent().height
               for ax in picture.figure.axes for image in ax.images if image.get_gid()}
    assert heights["P"] / heights["W"] == pytest.approx(64 / 9, rel=0.05)
    assert heights["P"] == pytest.approx(heights["+"], rel=0.01)
    assert colour_bar_problems(picture.figure) == []


def test_training_curves_left_the_batching_slide_to_batch_timing():
    assert PICTURES["training"][0](0, "en").slide != "batch"
    assert viz.plot_batch_timing([(1, 2e-5), (4, 1e-5)]).slide == "batch"


# ---- the lectures' new pictures: their numbers -----------------------------------------
def test_neuron_to_layer_draws_six_weights_and_counts_eight_parameters():
    picture = viz.plot_neuron_to_layer()
    assert picture.data["parameters"] == 8 and picture.data["arrows"] == 6
    layer_panel = picture.figure.axes[1]
    arrows = [p for p in layer_panel.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 6
    colours = {matplotlib.colors.to_hex(a.get_edgecolor()) for a in arrows}
    assert len(colours) == 2                                      # one colour per neuron
    texts = [t.get_text() for t in layer_panel.texts]
    W = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]
    for i in range(3):
        for j in range(2):
            assert f"w{i + 1}{j + 1}={W[i][j]:g}" in texts
    assert "3 x 2 weights + 2 biases = 8 parameters" in layer_panel.get_title()


def test_broadcasting_adds_the_bias_row_to_every_sample():
    picture = viz.plot_broadcasting(batch=16, features=32)
    XW, b, Y = picture.data["XW"], picture.data["b"], picture.data["Y"]
    assert b.shape == (1, 32) and Y.shape == XW.shape == (16, 32)
    np.testing.assert_array_equal(Y, XW + np.tile(b, (16, 1)))
    assert picture.figure._suptitle.get_text().startswith("(16, 32) + (1, 32) -> (16, 32)")


def test_computational_graph_carries_the_engines_gradients_of_seed_002():
    picture = viz.plot_computational_graph()
    v = picture.data
    np.testing.assert_allclose(v["q"], [0.22, 0.26])
    np.testing.assert_allclose(v["dW"], [[0.088, 0.176], [0.104, 0.208]])
    np.testing.assert_allclose(v["dx"], [-0.112, 0.636])
    W, x = np.array(v["W"]), np.array(v["x"])
    eps, numeric = 1e-6, np.empty_like(W)
    for index in np.ndindex(*W.shape):                   # finite differences of ||Wx||^2
        up, down = W.copy(), W.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (np.sum((up @ x) ** 2) - np.sum((down @ x) ** 2)) / (2 * eps)
    np.testing.assert_allclose(v["dW"], numeric, rtol=1e-6)
    texts = [t.get_text() for t in picture.figure.axes[0].texts]
    assert "dW = 2q x^T = [[0.088, 0.176], [0.104, 0.208]]" in texts
    assert "dx = W^T 2q = [-0.112, 0.636]" in texts and "df/dq = 2q = [0.44, 0.52]" in texts
    rng = np.random.default_rng(1)                        # any W, x
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    v = viz.foundations.l2_norm_backprop(W, x)
    np.testing.assert_allclose(v["dW"], np.outer(2 * W @ x, x), rtol=1e-12)
    np.testing.assert_allclose(v["dx"], W.T @ (2 * W @ x), rtol=1e-12)


def test_activation_derivatives_are_the_engines_and_name_the_vanishing_factor():
    z = np.linspace(-5, 5, 41)
    curves = viz.foundations.activation_curves(z)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(curves["sigmoid"][1], s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(curves["tanh"][1], 1 - np.tanh(z) ** 2, rtol=1e-12)
    np.testing.assert_array_equal(curves["relu"][1], (z > 0).astype(float))
    picture = viz.plot_activation_derivatives(depth=10)
    assert picture.data["peaks"]["sigmoid"] == pytest.approx(0.25)
    assert picture.data["sigmoid_shrink"] == pytest.approx(0.25 ** 10)
    assert f"{0.25 ** 10:.1e}" in picture.caption and "dead ReLU" in picture.caption


def test_batch_timing_caption_reads_the_line_it_draws():
    rows = [(1, 4e-5), (8, 6e-6), (64, 1e-6)]
    picture = viz.plot_batch_timing(rows)
    line = picture.figure.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), [40, 6, 1])          # µs per sample
    assert "40.0 µs per sample, a batch of 64 1.00 µs, 40x less" in picture.caption
    measured = viz.time_batch_sizes(batch_sizes=(1, 4, 16), samples=32, repeats=1)
    assert [b for b, _ in measured] == [1, 4, 16] and all(s > 0 for _, s in measured)


def test_vgg_stack_finds_fields_and_parameters_with_the_engine():
    assert [viz.foundations.receptive_field([3] * n) for n in (1, 2, 3)] == [3, 5, 7]
    assert viz.foundations.receptive_field([7]) == 7
    picture = viz.plot_vgg_stack(channels=64)
    last = picture.data["rows"][-1]
    assert last["stack_params"] == 3 * (9 * 64 * 64 + 64) == 110_784
    assert last["large_params"] == 49 * 64 * 64 + 64 == 200_768
    assert "110,784 parameters instead of 200,768 (55%)" in picture.caption


def test_new_pictures_are_exported_with_their_slides():
    from glassnet.lectures import SLIDES
    for name in ("plot_neuron_to_layer", "plot_broadcasting", "plot_computational_graph",
                 "plot_activation_derivatives", "plot_batch_timing", "plot_vgg_stack"):
        assert name in viz.__all__
    assert all(PICTURES[name][0](0, "en").slide in SLIDES
               for name in ("neuron_to_layer", "vgg_stack"))
