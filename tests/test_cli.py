import json
import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli import main
from glassnet.network.spec import load_spec, parse_spec


def test_spec_strings_build_models():
    model = parse_spec("784-256:relu-dropout:0.2-128:relu-10:softmax")
    assert [repr(layer) for layer in model.layers] == [
        "Dense(256, relu)", "Dropout(0.2)", "Dense(128, relu)", "Dense(10, softmax)"]
    assert model.count_params() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    cnn = parse_spec("28x28x1-conv:8:3:relu-maxpool:2-conv:16:3:relu:same-avgpool:2-gap-"
                     "10:softmax")
    assert [repr(layer) for layer in cnn.layers] == [
        "Conv2D(8, 3x3, relu)", "MaxPool2D(2x2)", "Conv2D(16, 3x3, relu)", "AvgPool2D(2x2)",
        "GlobalAveragePooling2D()", "Dense(10, softmax)"]
    assert cnn.trace_shapes()[2:4] == [(None, 13, 13, 8), (None, 13, 13, 16)]
    seq = parse_spec("20-embed:1000:32-lstm:64:seq-attention:4:16:causal-layernorm-gru:8:seq-"
                     "conv1d:4:3:relu-gap1d-2:softmax")
    assert [repr(layer) for layer in seq.layers] == [
        "Embedding(1000, 32)", "LSTM(64, sequences)", "MultiHeadAttention(4 heads x 16, causal)",
        "LayerNorm()", "GRU(8, sequences)", "Conv1D(4, 3, relu)", "GlobalAveragePooling1D()",
        "Dense(2, softmax)"]
    assert seq.trace_shapes()[-2:] == [(None, 4), (None, 2)]
    model = parse_spec("8x8-flatten-32-batchnorm-relu-10:softmax")
    assert model.trace_shapes()[-1] == (None, 10) and model.param_counts() == (
        64 * 32 + 32 + 64 + 330, 64)


@pytest.mark.parametrize("spec, message", [
    ("784-256:relux-10", r"token 2 '256:relux': unknown activation 'relux'"),
    ("abc-10", r"token 1 'abc': the first token must be the input size"),
    ("64-magic:3-10", r"token 2 'magic:3': unknown layer"),
    ("20-lstm:x-10", r"token 2 'lstm:x': lstm takes lstm:UNITS\[:seq\]"),
    ("20-attention:4-10", r"token 2 'attention:4': attention takes "
                          r"attention:HEADS:KEY_DIM\[:causal\]"),
    ("64-conv:3-10", r"token 2 'conv:3': conv takes FILTERS:KERNEL"),
    ("64-dropout:x-10", r"token 2 'dropout:x': dropout takes a rate"),
    ("64-dropout:1.5-10", r"token 2 'dropout:1.5': dropout takes a rate in \[0, 1\)"),
    ("64", r"expected the input size and at least one layer"),
    ("64-0", r"token 2 '0': a Dense layer needs at least 1 unit"),
])
def test_spec_parser_names_the_offending_token(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)


def test_json_config_round_trips(tmp_path):
    model = parse_spec("4-8:relu-3:softmax")
    (tmp_path / "m.json").write_text(json.dumps(model.get_config()))
    assert load_spec(str(tmp_path / "m.json")).count_params() == model.count_params()
    (tmp_path / "bad.json").write_text(json.dumps({"layers": [{"type": "Dense", "units": 3,
                                                               "evil": 1}]}))
    with pytest.raises(ValueError, match=r"layer 1: Dense has no option 'evil'"):
        load_spec(str(tmp_path / "bad.json"))


def test_train_command_on_moons_saves_a_model(tmp_path, capsys):
    out = tmp_path / "moons.glassnet"
    code = main(["train", "--data", "moons", "--model", "2-16:relu-16:relu-2:softmax",
                 "--epochs", "40", "--lr", "0.01", "--out", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert code == 0
    assert "Dense(16, relu)" in text and "(B, 2)" in text
    accuracy = float(text.split("test accuracy: ")[1].split("%")[0])
    assert accuracy >= 95
    assert gn.load_model(out).epoch == 40
    assert main(["evaluate", str(out), "--data", "moons"]) == 0
    assert f"accuracy {accuracy / 100:.4f}" in capsys.readouterr().out


def test_train_command_reads_idx_and_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=60).astype(np.uint8)
    images = (rng.integers(0, 50, size=(60, 4, 4)) + labels[:, None, None] * 150).astype(np.uint8)
    gn.datasets.save_idx(tmp_path / "img.idx", images)
    gn.datasets.save_idx(tmp_path / "lab.idx", labels)
    assert main(["train", "--data", str(tmp_path / "img.idx"), "--labels",
                 str(tmp_path / "lab.idx"), "--epochs", "5", "--quiet"]) == 0
    assert "test accuracy: 100.00%" in capsys.readouterr().out
    table = np.c_[rng.normal(size=(50, 3)), np.zeros(50)]
    table[:, -1] = table[:, 0] > 0
    np.savetxt(tmp_path / "t.csv", table, delimiter=",")
    assert main(["train", "--data", str(tmp_path / "t.csv"), "--epochs", "30", "--quiet"]) == 0


def test_cli_errors_are_one_clear_line(capsys):
    assert main(["train", "--data", "digits", "--model", "32-10:softmax", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glassnet train: error: fit: Dense(10, softmax) at layer 1 expects "
                          "inputs of shape (batch, 32) but received")
    assert main(["train", "--data", "nothing.bin"]) == 2
    assert "is not a built-in dataset" in capsys.readouterr().err


def test_console_script_is_installed():
    exe = os.path.join(os.path.dirname(sys.executable), "glassnet")
    result = subprocess.run([exe, "train", "--data", "xor", "--epochs", "20", "--quiet"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "test accuracy:" in result.stdout
