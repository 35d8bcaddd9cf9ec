import json
import os

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.cli import main
from glassnet.inspect import MAC_CONVENTION, compare_dense_conv, explain, summary, trace

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def check_golden(name, text):
    """Compare with tests/golden/NAME; GLASSNET_UPDATE_GOLDEN=1 rewrites the file."""
    path = os.path.join(GOLDEN, name)
    if os.environ.get("GLASSNET_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        expected = f.read()
    assert text == expected, f"{name} changed; if intended, rerun with GLASSNET_UPDATE_GOLDEN=1"


def seed_001_model():
    return gn.Sequential([gn.Dense(8, activation="relu", input_dim=4),
                          gn.Dense(8, activation="relu"),
                          gn.Dense(3, activation="softmax")])


def mnist_model():
    return gn.Sequential([gn.Dense(256, activation="relu", input_dim=784),
                          gn.Dense(10, activation="softmax")])


# --- the seeds' numbers ------------------------------------------------------------------
def test_seed_001_parameter_counts_and_shape_chain():
    report = summary(seed_001_model(), batch_size=1)
    assert report.data["params"]["total"] == 139
    assert [layer["param_count"] for layer in report.data["layers"]] == [40, 72, 27]
    assert [(layer["input_shape"], layer["output_shape"]) for layer in report.data["layers"]] \
        == [([1, 4], [1, 8]), ([1, 8], [1, 8]), ([1, 8], [1, 3])]
    assert summary(gn.Sequential([gn.Dense(2, input_dim=3, activation="softmax")]),
                   ).data["params"]["total"] == 8


def test_seed_001_chain_in_the_trace():
    layers = trace(seed_001_model(), batch_size=1).data["layers"]
    matmuls = [next(op for op in layer["ops"] if op["op"] == "matmul") for layer in layers]
    assert [(op["a_shape"], op["b_shape"], op["shape"]) for op in matmuls] == [
        ([1, 4], [4, 8], [1, 8]), ([1, 8], [8, 8], [1, 8]), ([1, 8], [8, 3], [1, 3])]


def test_seed_000_mnist_row():
    report = trace(mnist_model(), batch_size=64)
    first = report.data["layers"][0]["ops"]
    assert (first[0]["a_shape"], first[0]["b_shape"], first[0]["shape"]) == \
        ([64, 784], [784, 256], [64, 256])
    assert (first[1]["b_shape"], first[1]["shape"]) == ([256], [64, 256])
    text = str(report)
    assert "Z = X @ W       (64, 784) @ (784, 256) -> (64, 256)" in text
    assert "inner 784 vanishes, batch 64 stays; 12,845,056 MACs" in text
    assert "Z = Z + b       (64, 256) + (256,) -> (64, 256)" in text
    assert "b broadcast as (1, 256) over the batch" in text
    assert "(B, I) x (I, O) = (B, O)" in text


def test_seed_000_parameter_explosion():
    data = compare_dense_conv((224, 224, 3), 4096, 3, 64).data
    assert data["dense"]["weights"] == 616_562_688
    assert data["dense"]["weights"] + data["dense"]["biases"] == 616_566_784
    assert data["conv"]["weights"] == 1_728
    assert data["conv"]["weights"] + data["conv"]["biases"] == 1_792
    assert data["dense"]["bytes"] == 616_566_784 * 4 and data["conv"]["bytes"] == 1_792 * 4
    small = compare_dense_conv((28, 28, 1), 128, 5, 8).data
    assert small["dense"]["weights"] == 784 * 128 and small["conv"]["weights"] == 5 * 5 * 8
    with pytest.raises(ValueError, match=r"compare_dense_conv: kernel_size must be a positive "
                                         r"whole number, got 0"):
        compare_dense_conv((28, 28, 1), 128, 0, 8)


# --- counting conventions ------------------------------------------------------------------
# Keras 3's model.summary() counts, stated (Keras is not a test dependency):
# Dense(2) on 3 inputs: 8; BatchNormalization on 16 features: 64 of which 32 non-trainable
# (moving mean and variance); Dropout, Flatten and Activation: 0.
KERAS_COUNTS = [
    (lambda: gn.Dense(2), (3,), 8, 0),
    (lambda: gn.BatchNorm(), (16,), 64, 32),
    (lambda: gn.Dropout(0.5), (16,), 0, 0),
    (lambda: gn.Flatten(), (4, 4), 0, 0),
    (lambda: gn.Activation("relu"), (16,), 0, 0),
    (lambda: gn.Conv2D(16, 3), (32, 32, 3), 448, 0),                 # 3*3*3*16 + 16
    (lambda: gn.Conv1D(16, 3), (20, 8), 400, 0),                     # 3*8*16 + 16
    (lambda: gn.MaxPool2D(2), (8, 8, 3), 0, 0),
    (lambda: gn.AvgPool2D(2), (8, 8, 3), 0, 0),
    (lambda: gn.GlobalAveragePooling2D(), (8, 8, 3), 0, 0),
]


@pytest.mark.parametrize("make, input_shape, total, non_trainable", KERAS_COUNTS)
def test_counts_equal_keras(make, input_shape, total, non_trainable):
    data = summary(gn.Sequential([make()], input_shape=input_shape)).data
    assert data["params"]["total"] == total
    assert data["params"]["non_trainable"] == non_trainable


def test_where_pytorch_counts_differently():
    """PyTorch's parameters() leaves BatchNorm's running statistics out (they are
    buffers): 32 for BatchNorm1d(16), where Keras and glassnet count 64 (32 trainable).
    Linear(3, 2) counts 8 in all three."""
    bn = torch.nn.BatchNorm1d(16)
    assert sum(p.numel() for p in bn.parameters()) == 32
    assert sum(b.numel() for b in bn.buffers() if b.dtype.is_floating_point) == 32
    data = summary(gn.Sequential([gn.BatchNorm()], input_shape=(16,))).data["params"]
    assert (data["trainable"], data["total"]) == (32, 64)
    assert sum(p.numel() for p in torch.nn.Linear(3, 2).parameters()) == 8


def test_mac_convention_on_hand_computed_examples():
    model = gn.Sequential([gn.Dense(2, input_dim=3), gn.Dense(4, activation="relu")])
    data = summary(model, batch_size=5).data
    assert [layer["macs_per_sample"] for layer in data["layers"]] == [3 * 2, 2 * 4]
    assert data["macs_per_sample"] == 14                    # B*I*O per Dense, per sample
    assert data["bias_adds_per_sample"] == 2 + 4             # counted separately
    text = str(summary(model, batch_size=5))
    assert "   Total  " in text and "70  " in text           # 5 x 14 MACs for the batch
    assert MAC_CONVENTION in text
    assert "B*I*O MACs" in MAC_CONVENTION and "counted separately" in MAC_CONVENTION


def test_percentages_add_to_100_and_units_are_binary():
    model = gn.Sequential([gn.Dense(7, input_dim=3), gn.Dense(7), gn.Dense(7)])
    rows = summary(model).sections[0].rows[:-1]
    assert sum(float(row[7].rstrip("%")) for row in rows) == pytest.approx(100.0, abs=1e-9)
    text = str(summary(mnist_model(), batch_size=64))
    assert "KiB" in text and "KB" not in text and "1 KiB = 1,024 bytes" in text


def test_memory_of_training_against_inference():
    data = summary(seed_001_model(), batch_size=1).data
    assert data["memory_bytes_fixed"] == {"parameters": 556, "gradients": 556,
                                          "optimizer": 1112}
    # input 4 + (Z, Y) of each Dense: 8 + 8, 8 + 8, 3 + 3 values, float32
    assert data["memory_bytes_per_sample"]["activations_kept"] == (4 + 16 + 16 + 6) * 4
    assert data["memory_bytes_per_sample"]["inference_peak"] == (8 + 8) * 4
    compiled = seed_001_model()
    compiled.compile(gn.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    assert summary(compiled).data["memory_bytes_fixed"]["optimizer"] == 0
    assert "a training step needs 3.9x the memory of inference" in \
        str(summary(seed_001_model(), batch_size=1))


def test_a_layer_cannot_be_used_twice():
    layer = gn.Dense(4, input_dim=4)
    with pytest.raises(ValueError, match=r"this Dense\(4\) object is already layer 1 of the "
                                         r"model.*create a new one"):
        gn.Sequential([layer, layer])


# --- explain ----------------------------------------------------------------------------------
def _seed_001_dense():
    model = gn.Sequential([gn.Dense(2, input_dim=3, activation="softmax")], dtype="float64")
    model.set_weights([np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]), np.array([0.5, -0.5])])
    return model


def test_explain_writes_out_the_seed_001_sums_with_real_numbers():
    text = str(explain(_seed_001_dense(), [1.0, 2.0, 3.0]))
    assert "X(1 x 3) x W(3 x 2) + B(1 x 2) = Z(1 x 2)" in text
    assert "h1 = x1 w1 + x2 w2 + x3 w3 + b1" in text
    assert "   = (1)(0.1) + (2)(0.2) + (3)(0.3) + 0.5 = 1.9" in text
    assert "h2 = x1 w4 + x2 w5 + x3 w6 + b2" in text
    assert "   = (1)(0.4) + (2)(0.5) + (3)(0.6) - 0.5 = 2.7" in text
    p = gn.softmax(np.array([1.9, 2.7]))
    assert f"[y1, y2] = softmax([h1, h2]) = [{p[0]:.4g}, {p[1]:.4g}]" in text
    assert "one-hot argmax [0, 1]: class index 1" in text


def test_explain_a_large_layer_writes_one_cell():
    model = mnist_model().build()
    x = np.random.default_rng(0).normal(size=784)
    report = explain(model, x, cell=7)
    text = str(report)
    assert "One output, h8 (column 8 of W against the 784 inputs; 784 multiply-accumulates)" \
        in text
    assert "h8 = x1 W[1,8] + x2 W[2,8] + x3 W[3,8] + ... + x784 W[784,8] + b8" in text
    Z = x.astype(np.float32) @ model.layers[0].params["W"] + model.layers[0].params["b"]
    assert f"= {Z[7]:.4g}" in text
    np.testing.assert_allclose(report.data["layer_outputs"][-1], model.predict(x[None])[0])


def test_explain_without_input_gives_the_general_forms():
    text = str(explain(seed_001_model()))
    assert "X(1 x 4) x W(4 x 8) + B(1 x 8) = Z(1 x 8);  Y = relu(Z), (1 x 8)" in text
    assert "X(1 x 8) x W(8 x 3) + B(1 x 3) = Z(1 x 3);  Y = softmax(Z), (1 x 3)" in text


# --- shape errors that teach --------------------------------------------------------------------
def test_shape_error_while_building_shows_the_trace_up_to_the_failing_layer():
    model = gn.Sequential([gn.Dense(16, input_dim=4), gn.Dense(8, activation="relu"),
                           gn.Dense(3, input_dim=16)])
    with pytest.raises(gn.ShapeError) as info:
        model.trace(batch_size=32)
    assert str(info.value) == (
        "Dense(3) at layer 3 was declared with input_dim=16 but receives (32, 8): the layer "
        "before it outputs 8 features. Declare input_dim=8, or make the layer before it "
        "output 16.\n"
        "Shapes up to the failing layer:\n"
        "  input               (32, 4)\n"
        "  [1] Dense(16)       (32, 4) -> (32, 16)\n"
        "  [2] Dense(8, relu)  (32, 16) -> (32, 8)\n"
        "  [3] Dense(3)        (32, 8) -> refused  <- from [2] Dense(8, relu)")


def test_shape_error_while_running_names_the_layer_and_the_data():
    with pytest.raises(gn.ShapeError) as info:
        mnist_model().predict(np.zeros((2, 100)))
    message = str(info.value)
    assert message.startswith("predict: Dense(256, relu) at layer 1 expects inputs of shape "
                              "(batch, 784) but received (2, 100)")
    assert message.endswith("  [1] Dense(256, relu)  (2, 100) -> refused: expects (batch, 784)"
                            "  <- from the input data")


def test_flatten_missing_is_explained():
    model = gn.Sequential([gn.Dense(4, input_dim=64)], input_shape=(8, 8))
    with pytest.raises(gn.ShapeError, match=r"^Dense\(4\) at layer 1 was declared with "
                                            r"input_dim=64 but receives \(batch, 8, 8\): .* "
                                            r"To feed each 8x8 sample as 64 features, add "
                                            r"Flatten\(\) before it.\nShapes up to the failing "
                                            r"layer:\n  input         \(batch, 8, 8\)\n  \[1\] "
                                            r"Dense\(4\)  \(batch, 8, 8\) -> refused  <- from "
                                            r"the input data$"):
        model.summary(print_fn=None)
    per_position = gn.Sequential([gn.Dense(4)], input_shape=(8, 8))     # Keras semantics
    assert per_position.trace_shapes() == [(None, 8, 8), (None, 8, 4)]


def test_building_for_another_input_shape_than_declared_is_refused():
    with pytest.raises(gn.ShapeError, match=r"Sequential.build: the model was declared for "
                                            r"inputs of shape \(batch, 4\) but is being built "
                                            r"for \(batch, 5\). Build it without an input "
                                            r"shape, or change the declared one."):
        seed_001_model().build((5,))


# --- renderings ---------------------------------------------------------------------------
def test_golden_text_reports():
    check_golden("summary_seed_001.txt", str(summary(seed_001_model())) + "\n")
    check_golden("summary_mnist_batch_64.txt", str(summary(mnist_model(), 64)) + "\n")
    check_golden("trace_mnist_batch_64.txt", str(trace(mnist_model(), 64, backward=True)) + "\n")
    check_golden("explain_seed_001.txt", str(explain(_seed_001_dense(), [1.0, 2.0, 3.0])) + "\n")
    check_golden("compare_dense_conv.txt", str(compare_dense_conv()) + "\n")


def test_golden_markdown_report():
    check_golden("summary_seed_001.md", summary(seed_001_model(), 1).to_markdown())


def test_json_html_and_colour_renderings():
    report = summary(seed_001_model(), batch_size=1)
    data = json.loads(report.to_json())
    assert data["params"]["total"] == 139 and data["sections"][0]["rows"][0]["Params"] == "40"
    html = report._repr_html_()
    assert html == report.to_html() and html.count("<tr>") == 5 and "<table" in html
    assert "Dense(8, relu)" in html and "139" in html
    assert "\033[1m" in report.to_text(colour=True) and "\033[" not in report.to_text()
    assert report.render("markdown") == report.to_markdown()
    with pytest.raises(ValueError, match=r"unknown format 'pdf'"):
        report.render("pdf")


def test_model_methods_return_reports(capsys):
    model = seed_001_model()
    assert model.summary() is None                   # as Keras: printed once, not returned
    assert capsys.readouterr().out.strip() == str(model.summary(print_fn=None))
    lines = []
    assert model.summary(print_fn=lines.append) is None and lines == [
        model.summary(print_fn=None).to_text()]
    assert "Backward" in str(model.trace(backward=True))
    assert "X(1 x 4)" in str(model.explain())


# --- command line ------------------------------------------------------------------------
def test_cli_reports(capsys, tmp_path):
    assert main(["summary", "4-8:relu-8:relu-3:softmax", "--batch", "1"]) == 0
    assert "139" in capsys.readouterr().out
    assert main(["trace", "784-256:relu-10:softmax", "--batch", "64", "--backward"]) == 0
    assert "dW = X.T @ dZ" in capsys.readouterr().out
    assert main(["explain", "3-2:softmax", "--input", "1,2,3"]) == 0
    assert "h2 = x1 w4 + x2 w5 + x3 w6 + b2" in capsys.readouterr().out
    assert main(["compare-dense-conv", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["dense"]["weights"] == 616_562_688
    model = seed_001_model()
    model.save(tmp_path / "m.glassnet")
    assert main(["summary", str(tmp_path / "m.glassnet"), "--format", "markdown"]) == 0
    assert "| 1 | Dense(8, relu) |" in capsys.readouterr().out
    assert main(["explain", "3-2:softmax", "--input", "1,x"]) == 2
    assert "--input must be numbers separated by commas" in capsys.readouterr().err


def test_convolution_trace_shows_the_unfolded_patch_product():
    from glassnet.network.spec import parse_spec
    model = parse_spec("28x28x1-conv:8:3:relu-maxpool:2-conv:16:3:relu-maxpool:2-flatten-"
                       "10:softmax")
    text = str(trace(model, 32, backward=True))
    check_golden("trace_cnn_batch_32.txt", text + "\n")
    text = " ".join(text.split())                 # compare the words, not the column widths
    assert "P = unfold(X) (32, 28, 28, 1) -> (32, 676, 9) = (21632, 9)" in text
    assert "Z = P @ W (32, 676, 9) @ (9, 8) -> (32, 676, 8)" in text
    assert "inner 9 vanishes, batch 32 and 676 rows stay; 1,557,504 MACs" in text
    assert "dW = P.T @ dZ (9, 21632) @ (21632, 8) -> (9, 8)" in text
    assert "dX = fold(dP)" in text
    assert summary(model).data["macs_per_sample"] == 676 * 9 * 8 + 121 * 72 * 16 + 400 * 10


def test_explain_covers_every_layer_kind():
    from glassnet.network.spec import parse_spec
    model = parse_spec("6-embed:10:4-lstm:5:seq-attention:2:3-gap1d-2:softmax")
    text = str(model.explain(np.array([1, 2, 3, 4, 5, 6])))
    assert "A lookup table: integer tokens" in text
    assert "XW = X @ W: 6 x 4 per sample @ 4 x 20 -> 6 x 20" in text
    assert "Q = X @ Wq: 6 x 5 per sample @ 5 x 6 -> 6 x 6" in text
    assert "one-hot argmax" in text
