"""Pictures: deterministic for a seed, not blank, drawn from the model's real values
(the tour itself is tested in test_course.py)."""
import io

import numpy as np
import pytest
from PIL import Image

import glassnet as gn
from glassnet import viz
from glassnet.cli import main
from glassnet.inspect import compare_dense_conv
from glassnet.lectures import SLIDES
from glassnet.course import run_tour
from figures import checked_drawings, untraced_numbers
from matplotlib.text import Text
from picture_cases import PICTURES, circles_model, cnn_digits_model, digits_model, moons_model


_moons_model, _circles_model, _digits_model = moons_model, circles_model, digits_model
_cnn_digits_model = cnn_digits_model


def _not_blank(pixels):
    return pixels.ndim == 3 and pixels.std() > 5.0


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_pictures_are_deterministic_not_blank_and_read_right(name, monkeypatch):
    """Every picture in English: the same twice, legible, and its artists true (the
    checks of tests/figures.py, on the figure and on every animation frame as drawn)."""
    make, panels = PICTURES[name]
    with checked_drawings(monkeypatch, "en") as problems:
        first = make(0, "en")
        first.pixels()
    assert problems == []
    assert untraced_numbers(first) == []
    second = make(0, "en")
    assert first.panels == panels
    assert first.caption and first.slide in SLIDES          # what to notice, and where
    if first.figure is not None:                            # legible at 100%: at most 11
        assert first.figure.get_figwidth() <= 11            # inches (1,100 px), no text
        first.pixels()                                      # under 10 px (drawn once)
        sizes = [text.get_fontsize() * first.figure.dpi / 72
                 for text in first.figure.findobj(Text) if text.get_visible() and text.get_text()]
        assert min(sizes) >= 10, min(sizes)
    assert _not_blank(first.pixels())
    assert np.array_equal(first.pixels(), second.pixels())
    assert len(first.frames) == len(second.frames)              # animations: every frame
    assert all(np.array_equal(a, b) for a, b in zip(first.frames, second.frames))
    assert first.png()[:8] == b"\x89PNG\r\n\x1a\n"
    if first.frames:
        assert first.gif()[:6] == b"GIF89a"
    if first.figure is None:                        # an animation plays in Jupyter
        assert 'src="data:image/gif;base64,' in first._repr_html_()
    else:
        assert first._repr_html_() is None and first._repr_png_() == first.png()


def test_choices_show_vanishing_and_exploding_layer_by_layer():
    small, _ = viz.layer_statistics("glorot_normal", scale=0.1)
    xavier, _ = viz.layer_statistics("glorot_normal")
    _, sigmoid = viz.layer_statistics("glorot_normal", activation="sigmoid")
    assert small[-1] < 1e-6 * small[0]              # too small: activations vanish
    assert 0.3 < xavier[-1] / xavier[0] < 3         # Xavier keeps their scale
    assert sigmoid[0] < 1e-3 * sigmoid[-1]          # sigmoid: early gradients vanish


def test_universal_approximation_compares_equal_parameter_counts():
    data = viz.plot_universal_approximation(seed=0, epochs=5).data
    assert [n for n, _ in data["one hidden layer"]] == [19, 34, 76, 169]
    assert [n for n, _ in data["three hidden layers"]] == [19, 34, 76, 169]


def _texts(picture):
    return [text.get_text() for text in picture.figure.findobj(Text)]


def test_colour_matmul_draws_each_output_with_its_column_sum_and_bias():
    picture = viz.plot_colour_matmul([1, -2, 0.5, 4], [[1, 2, 3], [0, 1, 0], [2, 2, 2], [-1, 0, 1]],
                                     b=None, activation=None)
    assert picture.data["y"] == [-2.0, 1.0, 8.0] and _not_blank(picture.pixels())
    picture = viz.plot_colour_matmul()                       # lecture 07-03's layer
    assert picture.data["xW"] == pytest.approx([1.4, 3.2])
    assert picture.data["h"] == pytest.approx([1.9, 2.7])    # with b = (0.5, -0.5)
    assert picture.data["y"] == pytest.approx(np.exp([1.9, 2.7]) / np.exp([1.9, 2.7]).sum())
    texts = _texts(picture)
    for drawn in ("Σ 1.4", "Σ 3.2", "+ 0.5", "+ -0.5", "1.9", "2.7", "0.31", "0.69",
                  "h1 = (1)(0.1) + (2)(0.2) + (3)(0.3) + (0.5) = 1.9",
                  "h2 = (1)(0.4) + (2)(0.5) + (3)(0.6) + (-0.5) = 2.7",
                  "y = softmax(h) = [0.31, 0.69]"):
        assert drawn in texts
    assert not any(text.startswith(("y1", "y2", "= y_j")) for text in texts)   # h, not y
    # each output's sum sits in its own column: the Σ cell, the bias and y_j share an x
    cells = {text.get_text(): text.get_position()[0] for text in picture.figure.findobj(Text)}
    assert cells["Σ 1.4"] == cells["+ 0.5"] == cells["1.9"] == cells["0.1"] == cells["0.3"]
    assert cells["Σ 3.2"] == cells["2.7"] == cells["0.4"] != cells["Σ 1.4"]
    with pytest.raises(ValueError, match=r"plot_colour_matmul: needs x of n values and W of "
                                         r"shape \(n, m\).*got x \(2,\) and W \(3, 2\)"):
        viz.plot_colour_matmul([1, 2], [[1, 2], [3, 4], [5, 6]])


def test_image_to_vector_draws_the_pixels_a_person_sees():
    model, image, label = _cnn_digits_model()
    raw = gn.datasets.load_digits()[0][0]
    picture = viz.plot_image_to_vector(model, image, label, pixels=raw)
    drawn = picture.figure.axes[0].images[0].get_array()
    np.testing.assert_array_equal(drawn, raw.reshape(8, 8))
    assert "as the network receives" not in picture.figure.axes[0].get_title()
    assert picture.data["probabilities"] == pytest.approx(
        model.predict(image[None])[0].tolist(), rel=1e-6)


def test_pictures_save_as_png_svg_pdf_or_gif_and_refuse_the_rest(tmp_path):
    figure = viz.plot_bias_threshold()
    assert figure.save(tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in figure.save(tmp_path / "b.svg").read_bytes()
    figure.save(tmp_path / "b.pdf")
    assert (tmp_path / "b.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="has no animation frames, so it cannot be a .gif"):
        figure.save(tmp_path / "b.gif")
    with pytest.raises(ValueError, match=r"cannot write \.jpg .*use \.png, \.svg, \.pdf"):
        figure.save(tmp_path / "b.jpg")
    model, X, y = _moons_model(epochs=1)
    animation = viz.animate_warp(model, X, y, frames_per_step=1)
    assert animation.save(tmp_path / "w.gif").read_bytes()[:6] == b"GIF89a"
    with pytest.raises(ValueError, match="is an animation, so it has no vector form"):
        animation.save(tmp_path / "w.svg")


def test_gradient_norms_name_the_layers_they_follow():
    X, y = gn.datasets.make_moons(64, seed=0)
    model = gn.Sequential([gn.Dense(8, activation="relu", input_dim=2), gn.Dropout(0.1),
                           gn.Dense(2, activation="softmax")], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    norms = viz.GradientNorms()
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, callbacks=[norms])
    assert norms.names == ["layer 1: Dense(8, relu)", "layer 3: Dense(2, softmax)"]
    assert np.asarray(norms.norms).shape == (8, 2) and np.all(np.asarray(norms.norms) > 0)


def test_parameter_explosion_states_one_ratio_for_what_it_draws():
    picture = viz.plot_parameter_explosion(compare_dense_conv())
    assert picture.data["counts"] == [616_562_688, 1_728]
    assert picture.data["ratio"] == 616_562_688 / 1_728
    titles = [ax.get_title() for ax in picture.figure.axes]
    assert "224x224x3 input: dense has 356,807x the weights" in titles
    assert "356,807x, weights only; with the biases, as the table counts, 344,066x" in \
        picture.caption                                      # both ratios, each named
    scales = [ax.get_yscale() for ax in picture.figure.axes]
    assert scales == ["log", "linear", "log"]                # log said, linear shown too
    assert "log scale" in picture.figure.axes[0].get_ylabel()
    assert "224: 616,562,688" in _texts(picture)             # 224 marked on the growth


def test_loop_vs_matmul_computes_the_same_and_is_drawn():
    rows = viz.time_loop_vs_matmul(batch_sizes=(1, 4), inputs=8, outputs=3, repeats=1)
    assert [r[0] for r in rows] == [1, 4] and all(t > 0 for r in rows for t in r[1:])
    picture = viz.plot_loop_vs_matmul(rows)            # timings differ run to run
    assert picture.panels == 1 and _not_blank(picture.pixels())


def test_warp_frames_are_the_models_real_hidden_values():
    model, X, y = _moons_model()
    picture = viz.plot_warp(model, X, y)
    H = X.astype(np.float32)
    for layer in model.layers[:-1]:                  # up to the last hidden layer
        H = layer.forward(H)
    np.testing.assert_array_equal(picture.data["final_points"], H)
    assert picture.data["steps"] == ["input", "layer 1: x W", "layer 1: + b", "layer 1: tanh",
                                     "layer 2: x W", "layer 2: + b", "layer 2: tanh"]
    titles = [ax.get_title() for ax in picture.figure.axes]
    b = model.layers[0].params["b"]                  # + b says by how much it shifts
    assert any(title.startswith(f"layer 1: + b\nshift by b = ({b[0]:+.2f}, {b[1]:+.2f})")
               for title in titles)
    assert "layer 1: x W\ndet W" in " ".join(titles)
    steps, _ = viz.warp_steps(model, X)
    W, b = model.layers[0].params["W"], model.layers[0].params["b"]
    np.testing.assert_allclose(steps[1][1], X @ W, rtol=1e-5, atol=1e-5)   # W x
    np.testing.assert_allclose(steps[2][1], X @ W + b, rtol=1e-5, atol=1e-5)


def test_width_three_is_drawn_in_3d_and_wider_through_one_fixed_projection():
    model, X, y = _circles_model()
    picture = viz.plot_warp(model, X, y)
    assert picture.data["dims"] == 3
    assert sum(ax.name == "3d" for ax in picture.figure.axes) == 4     # all but the input
    H = model.layers[0].forward(X.astype(np.float32))
    np.testing.assert_array_equal(picture.data["final_points"], H)
    animation = viz.animate_warp(model, X, y, frames_per_step=2)
    assert animation.data["dims"] == 3 and len(animation.frames) == 3 * 2
    np.testing.assert_array_equal(animation.data["last_frame_points"], H)  # drawn, in 3-D
    assert _not_blank(animation.frames[-1])
    wide = gn.Sequential([gn.Dense(5, activation="relu", input_dim=2),
                          gn.Dense(4, activation="relu"), gn.Dense(2, activation="softmax")],
                         seed=0)
    steps, _ = viz.hidden_steps(wide, X)
    seen, padded, basis = viz.warp.views(steps)
    assert basis.shape == (5, 2) and all(P.shape[1] == 2 for _, P, _ in seen)
    np.testing.assert_allclose(seen[3][1], padded[3][1] @ basis)     # one basis, every step
    picture = viz.plot_warp(wide, X, y)
    assert picture.data["dims"] == 2 and "PCA projection" in picture.caption
    drawn = picture.figure.axes[0].collections[0].get_offsets()    # the input panel: the
    np.testing.assert_allclose(drawn, X, rtol=1e-6)                  # plane, not projected


def test_warp_refuses_data_that_is_not_2d_points():
    model, X, y = _moons_model(epochs=1)
    with pytest.raises(ValueError, match=r"plot_warp: draws 2-D data, but X has shape "
                                         r"\(200, 3\).*X of shape \(N, 2\)"):
        viz.plot_warp(model, np.c_[X, X[:, :1]], y)
    with pytest.raises(ValueError, match="X has 200 points but y has 199 labels"):
        viz.animate_warp(model, X, y[:-1])
    flat = gn.Sequential([gn.Dense(2, activation="softmax", input_dim=2)], seed=0)
    with pytest.raises(ValueError, match="animate_warp: the model has no hidden layer.*Add a "
                                         "hidden layer"):
        viz.animate_warp(flat, X, y)


def test_animations_have_their_frames():
    model, X, y = _moons_model(epochs=10)
    animation = viz.animate_warp(model, X, y, frames_per_step=3)
    assert len(animation.frames) == 6 * 3              # 6 steps after the input, 3 frames each
    assert all(_not_blank(frame) for frame in animation.frames[::5])
    np.testing.assert_array_equal(animation.data["final_points"],
                                  viz.plot_warp(model, X, y).data["final_points"])
    np.testing.assert_array_equal(animation.data["last_frame_points"],
                                  animation.data["final_points"])   # the last frame drawn
    gif = Image.open(io.BytesIO(animation.gif()))
    assert gif.n_frames == 18
    training = gn.Sequential([gn.Dense(8, activation="relu", input_dim=2),
                              gn.Dense(2, activation="softmax")], seed=0)
    training.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    through = viz.boundary_through_training(training, X, y, epochs=12, panels=5)
    epochs = through.data["epochs"]
    assert epochs[0] == 0 and epochs[-1] == 12 and epochs == sorted(set(epochs))
    assert through.panels == len(epochs) == len(through.frames) <= 5
    assert len(through.data["distances"]) == 13 and through.data["distances"][-1] == 0
    gif = Image.open(io.BytesIO(through.gif()))
    assert gif.info["duration"] >= 500                 # slow enough to read each frame


def test_boundary_snapshots_split_the_net_way_to_the_final_boundary():
    # distance to the final boundary: 60% before training, a third gone by epoch 1,
    # then nothing until epoch 4 (flips back and forth do not count), the rest by 5
    assert viz.boundary.changing_epochs([0.6, 0.4, 0.4, 0.4, 0.2, 0.0], 4) == [0, 1, 4, 5]
    assert viz.boundary.changing_epochs([0.0] * 7, 4) == [0, 6]          # nothing moved
    assert viz.boundary.changing_epochs([0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0], 4) == [0, 2, 4, 6]


def test_picture_command_writes_files(tmp_path, capsys):
    out = tmp_path / "bias.png"
    assert main(["picture", "bias", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    gif = tmp_path / "warp.gif"
    assert main(["picture", "warp-animation", "--epochs", "5", "--samples", "60",
                 "--out", str(gif)]) == 0
    assert Image.open(gif).n_frames > 1
    assert "Space warping, animated" in capsys.readouterr().out
    cnn = tmp_path / "cnn.png"
    assert main(["picture", "image", "--model",
                 "8x8x1-conv:4:3:relu:same-maxpool:2-flatten-10:softmax", "--epochs", "1",
                 "--out", str(cnn)]) == 0
    assert _not_blank(np.asarray(Image.open(cnn).convert("RGB")))
    assert main(["picture", "warp", "--model", "3-4:relu-2:softmax", "--epochs", "1",
                 "--out", str(tmp_path / "bad.png")]) == 2
    assert "expects inputs of shape (batch, 3)" in capsys.readouterr().err
    assert main(["picture", "warp", "--out", str(tmp_path / "w.jpg")]) == 2   # before training
    assert "written as .png or .svg or .pdf" in capsys.readouterr().err
    assert main(["picture", "matmul", "--out", str(tmp_path / "m.svg")]) == 0
    assert b"<svg" in (tmp_path / "m.svg").read_bytes()
    assert main(["picture", "losses", "--lang", "ko", "--out", str(tmp_path / "l.png")]) == 0
    assert "손실 함수와 그라디언트" in capsys.readouterr().out
    assert main(["picture", "attention", "--epochs", "1", "--out", str(tmp_path / "a.png")]) == 0
    assert main(["picture", "convolution", "--epochs", "1", "--out", str(tmp_path / "c.png")]) == 0
    assert _not_blank(np.asarray(Image.open(tmp_path / "c.png").convert("RGB")))


def test_losses_are_the_engines_and_match_their_closed_forms():
    p = np.array([0.02, 0.3, 0.9])
    curves = viz.lessons.loss_curves(p)
    loss, grad = curves["MSE"]                        # (1 - p)^2 through a sigmoid unit
    np.testing.assert_allclose(loss, (1 - p) ** 2, rtol=1e-6)
    np.testing.assert_allclose(grad, -2 * (1 - p) * p * (1 - p), rtol=1e-6)
    for name in ("binary cross-entropy", "cross-entropy"):
        np.testing.assert_allclose(curves[name][0], -np.log(p), rtol=1e-6)
        np.testing.assert_allclose(curves[name][1], p - 1, rtol=1e-6)
    focal, _ = curves["focal (gamma 2, alpha 0.25)"]
    np.testing.assert_allclose(focal, -0.25 * (1 - p) ** 2 * np.log(p), rtol=1e-6)
    data = viz.plot_losses().data["at_0.02"]          # the caption's claim, in numbers
    assert abs(data["MSE"]) < 0.04 < 0.97 < abs(data["cross-entropy"])


def test_optimizer_paths_are_the_iterates_of_glassnets_optimizers():
    picture = viz.plot_optimizer_paths(steps=15)
    for name, make in viz.lessons.OPTIMISERS:
        optimizer, w = make(), np.array(picture.data["start"], np.float64)
        expected = [w.copy()]
        for _ in range(15):                           # the optimiser's own step, by hand
            a, b = w
            optimizer.step(w, np.array([0.02 * a, 2 * b]))
            expected.append(w.copy())
        np.testing.assert_array_equal(picture.data["paths"][name], np.array(expected))
    sgd = picture.data["paths"]["SGD (lr 0.9)"]
    assert np.all(np.sign(sgd[1:8, 1]) != np.sign(sgd[:7, 1]))   # it bounces across


def test_backprop_graph_holds_the_engines_gradients_and_they_are_right():
    v = viz.plot_backprop().data
    W1, b1, W2, b2 = v["weights"]
    x = v["x"]

    def loss(W1, b1, W2, b2):
        h = 1 / (1 + np.exp(-(x @ W1 + b1)))
        return -np.log(1 / (1 + np.exp(-(h @ W2 + b2))))[0]
    eps = 1e-6
    for k, (name, grad) in enumerate((("W1", v["dW"][0]), ("W2", v["dW"][1]))):
        for index in np.ndindex(*grad.shape):
            params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
            params[2 * k][index] += eps
            up = loss(*params)
            params[2 * k][index] -= 2 * eps
            numeric = (up - loss(*params)) / (2 * eps)
            assert grad[index] == pytest.approx(numeric, rel=1e-5, abs=1e-10), name
    np.testing.assert_allclose(v["z"][0], x @ W1 + b1)        # the forward values drawn
    np.testing.assert_allclose(v["after"][2], W2 - 0.5 * v["dW"][1])   # one SGD step
    assert v["losses"][1] < v["losses"][0] and v["loss"] == pytest.approx(loss(W1, b1, W2, b2))
    texts = _texts(viz.plot_backprop())
    assert f"dL/dw5={v['dW'][1][0, 0]:.4f}" in texts and f"dL/dz={v['dz'][1][0]:.4f}" in texts


def test_overfitting_marks_early_stopping_and_scores_batch_norm_both_ways():
    picture = viz.plot_overfitting(epochs=60)
    data = picture.data
    val = data["history"]["val_loss"]
    assert data["best_epoch"] == int(np.argmin(val)) + 1      # restored: the best epoch
    assert data["stopped_epoch"] == min(60, data["best_epoch"] + 20)   # patience 20
    assert len(data["inference_loss"]) == len(data["batch_loss"]) == 60
    assert data["inference_loss"] != data["batch_loss"]      # running averages vs batch
    assert "running averages" in picture.caption and "not overfitting" in picture.caption
    assert set(data["gaps"]) == {"none", "dropout 0.3", "L2 3e-3", "batch norm"}


def test_choices_pair_each_activation_with_its_initialisation_and_show_dead_relu():
    data = viz.plot_choices(epochs=2).data
    assert set(data["activation"]) == {"sigmoid + Xavier", "tanh + Xavier", "relu + He"}
    relu, tanh = data["activation"]["relu + He"], data["activation"]["tanh + Xavier"]
    assert relu[0] > 0.3 * tanh[0]                    # ReLU with He is not "worse"
    dead = list(data["dead"].values())                # before, lr 0.1, lr 0.5 (too large)
    assert np.mean(dead[2]) > 2 * np.mean(dead[1])
    model = viz.training._mlp([16, 16], seed=0)
    model.build()
    X = np.random.default_rng(0).normal(size=(50, 2))
    H = model.layer_outputs(X)[1]
    assert viz.dead_units(model, X)[0] == np.mean(np.all(H == 0, axis=0))


def test_convolution_is_one_matrix_product_of_the_patches():
    model, image, _ = _cnn_digits_model()
    picture = viz.plot_convolution(model, image)
    P, W, Z = picture.data["P"], picture.data["W"], picture.data["Z"]
    padded = np.pad(image[..., 0], 1)                        # 'same': one ring of zeros
    for r, c in picture.data["positions"]:                    # each row: one window
        np.testing.assert_array_equal(P[r * 8 + c], padded[r:r + 3, c:c + 3].ravel())
    layer = model.layers[0]
    np.testing.assert_allclose(P @ W + layer.params["b"], Z.reshape(64, -1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(Z, layer.cache["Z"])
    assert picture.data["parameters"] == 3 * 3 * 1 * 8 + 8


def test_recurrence_heat_map_is_the_hidden_state_step_by_step():
    model, X, _ = viz.train_sine_rnn(epochs=1)
    H = viz.plot_recurrence(model, X, sample=3).data["H"]
    W, U, b = (model.layers[0].params[k] for k in ("W", "U", "b"))
    h = np.zeros(U.shape[0])
    for t in range(X.shape[1]):                               # h_t = tanh(x_t W + h U + b)
        h = np.tanh(X[3, t] @ W + h @ U + b)
        np.testing.assert_allclose(H[t], h, rtol=1e-5, atol=1e-6)


def test_attention_map_is_softmax_of_scaled_query_key_products():
    model, X, _ = viz.train_signal_attention(epochs=2)
    A = viz.plot_attention(model, X[:3]).data["A"]
    E = model.layers[0].params["E"][X[:3]]
    layer = model.layers[1]
    Q = np.einsum("btf,fhk->bhtk", E, layer.params["Wq"]) + layer.params["bq"][None, :, None]
    K = np.einsum("btf,fhk->bhtk", E, layer.params["Wk"]) + layer.params["bk"][None, :, None]
    S = Q @ np.swapaxes(K, -1, -2) / np.sqrt(layer.key_dim)
    expected = np.exp(S - S.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(A, expected[:, 0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(A.sum(-1), 1, rtol=1e-5)


def test_every_picture_speaks_korean_without_missing_glyphs():
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pictures = [viz.plot_bias_threshold(lang="ko"), viz.plot_colour_matmul(lang="ko"),
                    viz.plot_losses(lang="ko"), viz.plot_backprop(lang="ko"),
                    viz.plot_parameter_explosion(compare_dense_conv(), lang="ko")]
        for picture in pictures:
            picture.png()
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in p.title + p.caption) for p in pictures)
    with pytest.raises(ValueError, match="lang must be one of en, ko"):
        viz.plot_losses(lang="fr")


def test_korean_without_a_hangul_font_is_refused_before_drawing(monkeypatch):
    from glassnet.errors import MissingFontError
    monkeypatch.setattr(viz.picture, "hangul_font", lambda: None)
    with pytest.raises(MissingFontError, match="needs a font with Hangul.*fonts-nanum.*lang='en'"):
        viz.plot_losses(lang="ko")
    with pytest.raises(MissingFontError, match="run_tour"):
        run_tour("unused", lang="ko")
    assert viz.plot_losses().caption                     # English needs no such font


def test_pictures_name_lecture_slides_by_title_never_by_file():
    from glassnet.lectures import slide
    assert slide("colour_matmul") == ("Lecture «The voyage of information: how data passes "
                                      "through a network», slide 6 «Where the input vector "
                                      "meets the weight matrix»")
    assert slide("regularisation", "ko") == ("강의 「신경망(Neural Network)의 수학적 이해와 "
                                             "아키텍처 심화 분석」 4절 「과적합과 정규화 기법」")
    assert all("seed" not in slide(key).lower() for key in SLIDES)
