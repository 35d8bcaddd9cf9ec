"""Pictures: deterministic for a seed, not blank, drawn from the model's real values;
the tour end to end, its report opened in headless Chromium."""
import io

import numpy as np
import pytest
from PIL import Image

import glassnet as gn
from glassnet import viz
from glassnet.cli import main
from glassnet.inspect import compare_dense_conv
from glassnet.report import run_tour
from glassnet.report.tour import l2_backprop_example, linear_collapse


def _moons_model(seed=0, epochs=60):
    X, y = gn.datasets.make_moons(200, noise=0.08, seed=seed)
    X = gn.datasets.standardize(X)
    model = gn.Sequential([gn.Dense(2, activation="tanh", input_dim=2),
                           gn.Dense(3, activation="tanh"),
                           gn.Dense(2, activation="softmax")], seed=seed)
    model.compile(gn.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=32, seed=seed, verbose=0)
    return model, X, y


def _circles_model(seed=0, epochs=80):
    """2 -> 3 (tanh) -> 2: a hidden space of width 3, drawn in 3-D."""
    X, y = gn.datasets.make_circles(200, seed=seed)
    X = gn.datasets.standardize(X)
    model = gn.Sequential([gn.Dense(3, activation="tanh", input_dim=2),
                           gn.Dense(2, activation="softmax")], seed=seed)
    model.compile(gn.optimizers.Adam(0.03), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=32, seed=seed, verbose=0)
    return model, X, y


def _digits_model(seed=0):
    X, y = gn.datasets.load_digits()
    X = X / 16.0
    model = gn.Sequential([gn.Dense(32, activation="relu", input_dim=64),
                           gn.Dense(10, activation="softmax")], seed=seed)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    norms = viz.GradientNorms()
    history = model.fit(X, y, epochs=3, validation_split=0.2, seed=seed, verbose=0,
                        callbacks=[norms])
    return model, X, y, history, norms


def _cnn_digits_model(seed=0):
    X, y = gn.datasets.load_digits()
    X = (X / 16.0).reshape(-1, 8, 8, 1)
    model = gn.Sequential([gn.Conv2D(8, 3, activation="relu", padding="same"), gn.MaxPool2D(2),
                           gn.Flatten(), gn.Dense(32, activation="relu"),
                           gn.Dense(10, activation="softmax")], input_shape=(8, 8, 1), seed=seed)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X[:600], y[:600], epochs=1, seed=seed, verbose=0)
    return model, X[0], y[0]


def _boundary_training(seed):
    X, y = gn.datasets.make_moons(200, noise=0.08, seed=seed)
    model = gn.Sequential([gn.Dense(8, activation="relu", input_dim=2),
                           gn.Dense(2, activation="softmax")], seed=seed)
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    return viz.boundary_through_training(model, X, y, epochs=12, every=4, seed=seed)


def _not_blank(pixels):
    return pixels.ndim == 3 and pixels.std() > 5.0


PICTURES = {
    "bias": (lambda seed: viz.plot_bias_threshold(), 3),
    "matmul": (lambda seed: viz.plot_colour_matmul(), 1),
    "explosion": (lambda seed: viz.plot_parameter_explosion(compare_dense_conv()), 2),
    "warp": (lambda seed: viz.plot_warp(*_moons_model(seed)), 8),      # 7 steps + zoom
    "warp3d": (lambda seed: viz.plot_warp(*_circles_model(seed)), 5),  # 4 steps + zoom
    "warp_animation": (lambda seed: viz.animate_warp(*_moons_model(seed), frames_per_step=2),
                       1),
    "boundary": (lambda seed: viz.plot_decision_boundary(*_moons_model(seed)), 1),
    "boundary_training": (lambda seed: _boundary_training(seed), 4),
    "image": (lambda seed: viz.plot_image_to_vector(_digits_model(seed)[0],
                                                    gn.datasets.load_digits()[0][0] / 16, 0),
              11),
    "image_cnn": (lambda seed: viz.plot_image_to_vector(*_cnn_digits_model(seed)), 13),
    "training": (lambda seed: viz.plot_training(*_digits_model(seed)[3:]), 3),
    "choices": (lambda seed: viz.plot_choices(seed=seed, epochs=3), 6),
    "universal": (lambda seed: viz.plot_universal_approximation(seed=seed, epochs=20), 3),
}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_pictures_are_deterministic_and_not_blank(name):
    make, panels = PICTURES[name]
    first, second = make(0), make(0)
    assert first.panels == panels
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


def test_colour_matmul_draws_any_small_layer_and_refuses_mismatched_shapes():
    picture = viz.plot_colour_matmul([1, -2, 0.5, 4], [[1, 2, 3], [0, 1, 0], [2, 2, 2], [-1, 0, 1]])
    assert picture.data["y"] == [-2.0, 1.0, 8.0] and _not_blank(picture.pixels())
    assert viz.plot_colour_matmul().data["y"] == pytest.approx([1.4, 3.2])   # seed 001
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


def test_parameter_explosion_draws_the_seed_numbers():
    picture = viz.plot_parameter_explosion(compare_dense_conv())
    assert picture.data["counts"] == [616_562_688, 1_728]


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
    assert picture.data["steps"] == ["input", "layer 1: W x", "layer 1: + b", "layer 1: tanh",
                                     "layer 2: W x", "layer 2: + b", "layer 2: tanh"]
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
    through = viz.boundary_through_training(training, X, y, epochs=12, every=4)
    assert through.data["epochs"] == [0, 4, 8, 12] and len(through.frames) == 4
    assert through.panels == 4                         # before training, every 4th, the last
    odd = viz.boundary_through_training(training, X, y, epochs=5, every=2)
    assert odd.data["epochs"] == [0, 2, 4, 5]


def test_linear_layers_without_activation_collapse_into_one():
    text, gap = linear_collapse()
    assert gap < 1e-12 and "depth adds nothing" in text


def test_seed_002_l2_example_is_backpropagated_by_a_dense_layer():
    text, v = l2_backprop_example()
    np.testing.assert_allclose(v["q"], [0.22, 0.26])
    assert v["f"] == pytest.approx(0.116)
    np.testing.assert_allclose(v["dW"], [[0.088, 0.176], [0.104, 0.208]])   # 2q x^T
    np.testing.assert_allclose(v["dx"], [-0.112, 0.636])                    # W^T 2q
    np.testing.assert_allclose(v["numeric_dW"], v["dW"], rtol=1e-6)
    assert "dW = 2q x^T = [[0.088, 0.176], [0.104, 0.208]]" in text
    rng = np.random.default_rng(0)                                      # any W, x
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    _, v = l2_backprop_example(W, x)
    np.testing.assert_allclose(v["dW"], np.outer(2 * W @ x, x), rtol=1e-12)
    np.testing.assert_allclose(v["dx"], W.T @ (2 * W @ x), rtol=1e-12)


def test_tour_runs_end_to_end_and_its_report_opens_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright
    log = io.StringIO()
    path = run_tour(str(tmp_path / "tour"), quick=True, file=log)
    text = log.getvalue()
    assert "139" in text and "held-out accuracy" in text and "Report:" in text
    assert "9.99954600e-01" in text and "616,562,688" in text       # seed numbers
    assert "dW = 2q x^T = [[0.088, 0.176], [0.104, 0.208]]" in text
    assert "Epoch 60/60" in text                                      # progress bars
    page_html = open(path, encoding="utf-8").read()
    assert page_html.count("<section") == 11 and page_html.count("data:image/") >= 20
    for title in ("Why matrices", "From neuron to layer", "z = Wx + b", "Shapes",
                  "Geometry", "The bias", "The multi-layer chain", "Batching",
                  "Parameter explosion", "From image to abstract vector", "Backpropagation"):
        assert title in page_html
    assert {p.name for p in (tmp_path / "tour").iterdir()} >= {
        "warp.png", "warp_3d.png", "warp_animation.gif", "warp_3d_animation.gif",
        "image_to_vector_cnn.png", "choices.png", "index.html"}
    assert "http://" not in page_html and "https://" not in page_html   # self-contained
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("file://" + path)
            page.wait_for_load_state("load")
            broken = page.evaluate("[...document.images].filter(i => !i.complete || "
                                   "i.naturalWidth === 0).length")
            shot = page.screenshot(full_page=False)
        finally:
            browser.close()
    assert errors == [] and broken == 0
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    assert pixels.std() > 5.0


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
