"""The messages of hostile or mistaken input, one line each, saying what to fix: data
helpers, callbacks, layers, file writers and the command line's sizes (issue 18,
sections 5 and 6)."""
import os
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet import datasets as D
from glassnet.network.spec import load_spec


def _model():
    model = gn.Sequential([gn.Dense(2, input_dim=2)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("call, error, message", [
    (lambda: D.make_blobs(centers=0), ValueError,
     r"make_blobs: centers=0 blobs for n=500 points; give 1 to 500 centres"),
    (lambda: D.make_blobs(centers=2.5), ValueError,
     r"make_blobs: centers must be a whole number of blobs \(such as 3\) or their "
     r"coordinates, an array of shape \(blobs, features\) of finite numbers; got 2.5"),
    (lambda: D.make_blobs(centers=[1.0, 2.0]), ValueError, r"got \[1.0, 2.0\]"),
    (lambda: D.make_moons(10 ** 9), ValueError,
     r"make_moons: n=1,000,000,000 points is more than the limit of 10,000,000"),
    (lambda: D.Standardizer().transform(np.ones((2, 2))), ValueError,
     r"Standardizer.transform: the standardizer has not been fitted; call fit\(X_train\) "
     r"first"),
    (lambda: D.Standardizer().fit(np.ones((3, 2))).transform(np.ones((3, 4))), ValueError,
     r"X has \(4,\) features per sample but the standardizer was fitted on \(2,\)"),
    (lambda: D.Standardizer().fit(np.array([[1.0], [1e200]])), ValueError,
     r"Standardizer.fit: X\[1, 0\] is 1e\+200, beyond \+-1e\+150, where squares overflow. "
     r".*rescale the column"),
    (lambda: D.one_hot(np.array([0, 1, 2]), num_classes="3"), TypeError,
     r"one_hot: num_classes must be a whole number, got '3' \(str\)"),
    (lambda: D.one_hot(np.array([0, 5]), num_classes=3), ValueError,
     r"one_hot: label 5 does not fit 3 classes \(labels must be 0 to 2\); pass "
     r"num_classes=6"),
    (lambda: D.one_hot(np.arange(10 ** 6), num_classes=10 ** 6), ValueError,
     r"would make a one-hot matrix of 8,000,000,000,000 bytes"),
    (lambda: _model().fit(np.ones((4, 2)), np.ones((4, 2)), callbacks="early_stopping",
                          verbose=0), TypeError,
     r"fit: callbacks must be callback objects, not the string 'early_stopping'; write "
     r"callbacks=\[glassnet.callbacks.EarlyStopping\(patience=3\)\]"),
    (lambda: _model().fit(np.ones((4, 2)), np.ones((4, 2)), callbacks={"a": 1}, verbose=0),
     TypeError, r"fit: callbacks must be a list of callback objects, got dict"),
    (lambda: _model().evaluate(np.ones((4, 2)), np.ones((4, 2)), callbacks="x", verbose=0),
     TypeError, r"evaluate: callbacks must be callback objects, not the string 'x'"),
    (lambda: gn.Sequential([gn.Embedding(3, 2)], input_shape=(2,)).predict(
        np.array([[-1, -2]]), verbose=0), ValueError,
     r"range over \[-2, -1\]. Token ids are row numbers of E, never negative: remap the "
     r"tokens to 0, 1, 2"),
    (lambda: gn.Sequential([gn.Embedding(3, 2)], input_shape=(2,)).predict(
        np.array([[0, 7]]), verbose=0), ValueError, r"Build it with input_dim=8"),
])
def test_each_mistake_gets_one_line_that_says_what_to_fix(call, error, message):
    with pytest.raises(error, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_a_lone_callback_is_taken_as_keras_takes_it():
    """Keras flattens callbacks=cb into [cb]; glassnet does the same."""
    stop = gn.EarlyStopping(monitor="loss", patience=0)
    history = _model().fit(np.ones((4, 2)), np.zeros((4, 2)), epochs=3, callbacks=stop,
                           verbose=0)
    assert stop.model is not None and len(history.epoch) >= 1


def test_an_idx_pair_with_zero_images_is_refused(tmp_path):
    D.save_idx(tmp_path / "i.idx", np.zeros((0, 28, 28), np.uint8))
    D.save_idx(tmp_path / "l.idx", np.zeros((0,), np.uint8))
    with pytest.raises(ValueError, match=r"load_mnist_idx: .*i.idx' holds images of shape "
                                         r"\(0, 28, 28\): no data"):
        D.load_mnist_idx(tmp_path / "i.idx", tmp_path / "l.idx")


def test_a_csv_column_of_huge_numbers_is_refused_at_load(tmp_path):
    rows = [[i % 3, 1e200 * (i % 2), i % 2] for i in range(20)]
    np.savetxt(tmp_path / "big.csv", rows, delimiter=",", fmt="%g")
    with pytest.raises(ValueError, match=r"load_csv: .*big.csv' row 2, column 2 is "
                                         r"1e\+200, beyond \+-1e\+150: "
                                         r"squares of such numbers overflow .*Rescale that "
                                         r"column"):
        D.load_csv(tmp_path / "big.csv")


# --- file writers refuse what is not a regular file, before the first epoch ---------------
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.glassnet"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("make", [
    lambda p: gn.CSVLogger(p),
    lambda p: gn.ModelCheckpoint(p),
    lambda p: gn.save_model(_model(), p),
    lambda p: D.save_idx(p, np.zeros(3, np.uint8)),
])
def test_writers_refuse_a_fifo_a_device_and_a_folder(make, fifo, tmp_path):
    for path, kind in ((fifo, "a pipe \\(FIFO\\)"), ("/dev/null", "a device or socket")):
        with pytest.raises(ValueError, match=rf"is {kind}, not a regular file"):
            make(str(path))
    with pytest.raises(ValueError, match=r"is a folder"):
        make(str(tmp_path))


def test_csv_logger_cannot_be_swapped_for_a_fifo_after_it_is_made(tmp_path):
    """The name is checked when the logger is made, and the file opened without
    blocking and checked again when training begins."""
    path = tmp_path / "log.csv"
    logger = gn.CSVLogger(path)
    os.mkfifo(path)
    with pytest.raises(ValueError, match=r"CSVLogger: cannot write .*log.csv'|is a pipe"):
        _model().fit(np.ones((4, 2)), np.ones((4, 2)), callbacks=[logger], verbose=0)


@pytest.mark.parametrize("name, message", [
    ("ck.pt", r"ModelCheckpoint: 'ck.pt' ends in .pt, which promises a PyTorch file"),
    ("best.h5", r"ends in .h5, which promises a HDF5 \(Keras 2\) file"),
    ("ck-{epoch.glassnet", r"ModelCheckpoint: the file name 'ck-\{epoch.glassnet' is not a "
                           r"valid template"),
    ("/no/such/folder/ck.glassnet", r"the folder '/no/such/folder' does not exist"),
])
def test_model_checkpoint_names_are_checked_when_it_is_made(name, message):
    with pytest.raises(ValueError, match=message):
        gn.ModelCheckpoint(name)


def test_model_checkpoint_best_keras_writes_a_keras_file(tmp_path):
    """Issue 21: ModelCheckpoint("best.keras") was accepted and then failed inside fit."""
    check = gn.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss",
                               save_best_only=True)
    _model().fit(np.ones((4, 2)), np.zeros((4, 2)), epochs=2, callbacks=[check], verbose=0)
    assert check.saved and (tmp_path / "best.keras").read_bytes()[:2] == b"PK"   # a zip


def test_model_checkpoint_fields_are_checked_before_the_first_epoch(tmp_path):
    seen = []
    check = gn.ModelCheckpoint(str(tmp_path / "{val_los:.2f}.glassnet"))
    with pytest.raises(ValueError, match=r"cannot fill in the file name .*KeyError: "
                                         r"'val_los'.*values this run logs: loss"):
        _model().fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0, callbacks=[
            check, gn.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])
    assert seen == []


def test_csv_logger_appends_to_a_regular_file(tmp_path):
    path = tmp_path / "log.csv"
    for append in (False, True):
        _model().fit(np.ones((4, 2)), np.zeros((4, 2)), epochs=2, verbose=0,
                     callbacks=[gn.CSVLogger(path, append=append)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss" and len(lines) == 5 and lines[3].startswith("0,")


# --- the command line: every size bounded, each failure one line ---------------------------
def _cli(capsys, *argv):
    try:
        code = cli.main(list(argv))
    except SystemExit as stop:
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, message", [
    (["train", "--samples", "1000000000"], r"--samples must be a whole number <= 10,000,000, "
                                           r"got 1,000,000,000"),
    (["train", "--data", "moons", "--samples", "2"],
     r"--test-size 0.2 of 2 samples leaves 2 for training and 0 for the test set; each needs "
     r"at least one. Use more samples"),
    (["train", "--epochs", "10000000"], r"--epochs must be a whole number <= 1,000,000"),
    (["train", "--batch-size", "100000000000"], r"--batch-size must be a whole number <= "),
    (["summary", "4-3", "--batch", "-1"], r"--batch must be a positive whole number, got -1"),
    (["trace", "4-3", "--batch", "0"], r"--batch must be a positive whole number, got 0"),
    (["explain", "4-3", "--cell", "-5"], r"--cell must be a whole number >= 0, got -5"),
    (["evaluate", "m.glassnet", "--samples", "0"], r"--samples must be a whole number >= 2"),
])
def test_cli_sizes_are_bounded_before_anything_is_allocated(capsys, argv, message):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and "Epoch" not in out and "MACs" not in out
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_model_summary_refuses_a_negative_batch():
    with pytest.raises(ValueError, match=r"batch_size must be a positive whole number, got -1"):
        _model().summary(-1, print_fn=None)


# --- names that could become code are refused where they enter ------------------------------
HOSTILE_NAMES = ["x\nopen('pwned', 'w')", "x\ropen('pwned','w')", "x\u2028y", "x\u2029y",
                 "nul\x00", "tab\tname", "n" * 201]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_layer_names_are_refused_in_code_in_a_config_and_in_a_file(name, tmp_path):
    message = r"must be one line of at most 200 printable characters"
    with pytest.raises(ValueError, match=message):
        gn.Dense(2, name=name)
    config = gn.Sequential([gn.Dense(2, name="ok")], input_shape=(3,)).get_config()
    config["layers"][0]["name"] = name
    with pytest.raises(ValueError, match=message):
        gn.Sequential.from_config(config)
    (tmp_path / "spec.json").write_text(__import__("json").dumps(config))
    with pytest.raises(ValueError, match=message):
        load_spec(str(tmp_path / "spec.json"))


def test_quotes_backslashes_and_other_scripts_stay_allowed_in_names():
    for name in ('it\'s "quoted" \\ back', "은닉층 1", "features.0"):
        assert gn.Dense(2, name=name).name == name


def test_a_hostile_name_in_a_model_file_is_refused(tmp_path):
    import json

    import safetensors.numpy
    path = tmp_path / "m.glassnet"
    gn.Sequential([gn.Dense(2, name="ok")], input_shape=(3,)).save(path)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = json.loads(header["__metadata__"]["glassnet"])
    meta["model"]["layers"][0]["name"] = "x\nimport os"
    meta["sha256"] = gn.io.checksum(safetensors.numpy.load(data), meta)   # a valid sum
    header["__metadata__"]["glassnet"] = json.dumps(meta)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n:])
    with pytest.raises(gn.ModelFileError, match=r"must be one line"):
        gn.load_model(path)


def test_a_picture_is_not_written_into_a_fifo(tmp_path):
    from glassnet import viz
    path = tmp_path / "p.png"
    os.mkfifo(path)
    with pytest.raises(ValueError, match=r"Picture.save: .*p.png' is a pipe \(FIFO\), not a "
                                         r"regular file"):
        viz.plot_bias_threshold().save(str(path))
