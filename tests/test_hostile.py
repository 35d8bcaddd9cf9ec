"""Hostile input at every edge: files, readers, the API and the CLI. Nothing hangs,
nothing is allocated before it is sized, nothing is lost, and every refusal is the
library's own error with a message that says what to fix."""
import gzip
import json
import os
import stat
import struct
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet import cli

D = gn.datasets
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
MiB = 1 << 20


def _finishes(function, seconds=30):
    """Run ``function`` in a thread; fail (instead of hanging) if it does not return."""
    result = {}

    def run():
        try:
            result["value"] = function()
        except BaseException as error:               # reported to the test below
            result["error"] = error
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: a hang"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _bounded(function, megabytes=256):
    """Run ``function``; its peak Python and NumPy allocation must stay below the bound."""
    tracemalloc.start()
    try:
        return function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < megabytes * MiB, f"allocated {peak / MiB:.0f} MiB"


def _saved(tmp_path, name="m.glassnet"):
    model = gn.Sequential([gn.Dense(4, activation="relu", input_shape=(3,)), gn.BatchNorm(),
                           gn.Dropout(0.2), gn.Dense(2, activation="softmax")], seed=1)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    X = np.random.default_rng(0).normal(size=(16, 3))
    model.fit(X, (X[:, 0] > 0).astype(int), epochs=1, batch_size=8, verbose=0)
    path = tmp_path / name
    model.save(path)
    return model, path


# --- unbounded work before validation -------------------------------------------------------
def test_a_fifo_a_device_and_a_folder_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "model.glassnet"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a pipe \\(FIFO\\)"), ("/dev/zero", "a device or socket"),
                       (tmp_path, "a folder")):
        with pytest.raises(gn.ModelFileError, match=rf"it is {kind}, not a regular file"):
            _finishes(lambda: gn.load_model(path), 10)
    with pytest.raises(ValueError, match=r"load_csv: cannot read .* it is a pipe"):
        _finishes(lambda: D.load_csv(fifo), 10)
    with pytest.raises(ValueError, match=r"load_idx: cannot read .* it is a pipe"):
        _finishes(lambda: D.load_idx(fifo), 10)


def test_files_larger_than_their_content_are_refused_without_reading_them(tmp_path):
    _, path = _saved(tmp_path)
    with open(path, "ab") as f:                       # a sparse 3 GiB tail: nothing written
        f.truncate(os.path.getsize(path) + (3 << 30))
    with pytest.raises(gn.ModelFileError, match=r"larger than its declared content"):
        _bounded(lambda: gn.load_model(path), 16)
    with pytest.raises(gn.ModelFileError, match=r"more than the limit of 1,024. Pass "
                                                r"limits=glassnet.Limits\(max_file_bytes="):
        gn.load_model(path, limits=gn.Limits(max_file_bytes=1024))
    blank = tmp_path / "blank.glassnet"
    with open(blank, "wb") as f:
        f.truncate(2 << 30)                           # 2 GiB of zeros, sparse
    with pytest.raises(gn.ModelFileError, match=r"header is not valid"):
        _bounded(lambda: gn.load_model(blank), 16)


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path):
    huge = tmp_path / "huge.idx.gz"
    with gzip.open(huge, "wb") as f:                  # declares 64 GiB, holds a little
        f.write(bytes([0, 0, 8, 2]) + struct.pack(">2I", 1 << 18, 1 << 18) + bytes(1000))
    with pytest.raises(ValueError, match=r"declares shape \(262144, 262144\), "
                                         r"68,719,476,736 bytes of data, more than the limit"):
        _bounded(lambda: D.load_idx(huge), 16)
    bomb = tmp_path / "bomb.idx.gz"
    with gzip.open(bomb, "wb") as f:                  # declares 4 bytes, expands to 256 MiB
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes(4))
        for _ in range(256):
            f.write(bytes(MiB))
    assert os.path.getsize(bomb) < 2 * MiB
    with pytest.raises(ValueError, match=r"holds more data than its header declares"):
        _bounded(lambda: D.load_idx(bomb), 16)
    absurd = tmp_path / "absurd.idx"
    absurd.write_bytes(bytes([0, 0, 0x0E, 8]) + struct.pack(">8I", *[2 ** 32 - 1] * 8))
    with pytest.raises(ValueError, match=r"more than the limit"):
        D.load_idx(absurd)


def _rewrite(path, change):
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = json.loads(header["__metadata__"]["glassnet"])
    change(meta)
    header["__metadata__"]["glassnet"] = json.dumps(meta)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n:])


def test_deep_nesting_is_refused_without_recursion(tmp_path):
    _, path = _saved(tmp_path)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    text = data[8:8 + n].decode().rstrip()
    text = text[:-1] + ', "junk": ' + "[" * 50_000 + "]" * 50_000 + "}"   # 50,000 deep
    raw = text.encode() + b" " * (-len(text.encode()) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n:])
    with pytest.raises(gn.ModelFileError, match=r"nested more than 64 levels deep"):
        gn.load_model(path)
    block = {"type": "Dense", "units": 3}
    for _ in range(100):
        block = {"type": "Residual", "layers": [block]}
    config = {"layers": [block], "input_shape": [3]}
    with pytest.raises(ValueError, match=r"nested more than 32 deep"):
        gn.Sequential.from_config(config)


def test_architectures_that_ask_too_much_are_refused_before_allocating(tmp_path):
    config = {"layers": [{"type": "Activation", "activation": "relu"}] * 80_000,
              "input_shape": [3]}
    with pytest.raises(ValueError, match=r"80,000 is more than glassnet's limit of 10,000 "
                                         r"\(Limits.max_layers\)"):
        _finishes(lambda: gn.Sequential.from_config(config), 10)
    many = gn.Sequential.from_config({**config, "layers": config["layers"][:20_000]},
                                     limits=gn.Limits(max_layers=20_000))
    assert _finishes(lambda: many.build().count_params(), 60) == 0     # linear, not O(N^2)
    wide = gn.network.spec.parse_spec("784-999999999")
    with pytest.raises(ValueError, match=r"the parameters: 784,999,999,215 is more than "
                                         r"glassnet's limit.*Limits\(max_parameters="):
        _bounded(wide.build, 16)
    padded = gn.Sequential([gn.Conv2D(8, 3, padding=4000)], input_shape=(8, 8, 1))
    with pytest.raises(ValueError, match=r"bytes one sample keeps for backpropagation"):
        _bounded(padded.build, 16)
    with pytest.raises(ValueError, match=r"padding must be 'valid', 'same' or a whole number "
                                         r"of zeros per side in \[0, 4,096\], got 20000"):
        gn.Conv2D(8, 3, padding=20000)


# --- saved but not loadable; the NaN stop ---------------------------------------------------
def test_save_refuses_what_load_would_refuse(tmp_path):
    model, path = _saved(tmp_path)
    before = path.read_bytes()
    model.optimizer.state["v"][3] = np.inf                  # an overflowed optimizer
    with pytest.raises(ValueError, match=r"optimizer.v contains 1 NaN or Inf values, so the "
                                         r"file could not be loaded again"):
        model.save(path)
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_a_nan_stop_puts_back_every_kind_of_state_and_saves(tmp_path):
    X = np.random.default_rng(0).normal(size=(64, 3))
    y = (X[:, 0] > 0).astype(int)
    model = gn.Sequential([gn.Dense(4, activation="relu", input_shape=(3,)), gn.BatchNorm(),
                           gn.Dense(2, activation="softmax")], seed=2, dtype="float64")
    model.compile(gn.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    seen = []

    class Poison(gn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((model.get_weights(), {k: v.copy() for k, v in
                                                model.optimizer.state.items()},
                         model.optimizer.iterations))
            if len(seen) == 5:                          # the next forward pass gives NaN
                model.layers[0].params["W"][0, 0] = np.nan

    with pytest.warns(gn.NonFiniteLossWarning, match=r"put back as it was at the last "
                                                     r"finite loss"):
        model.fit(X, y, epochs=3, batch_size=8, shuffle=False, callbacks=[Poison()],
                  verbose=0)
    weights, optimizer_state, iterations = seen[3]      # before the poisoned update
    state_after = seen[4][0]                            # running stats after batch 5's pass
    restored = model.get_weights()
    assert all(np.isfinite(w).all() for w in restored)
    for k in ("W", "b"):
        assert np.array_equal(model.layers[0].params[k], weights[[0, 1][k == "b"]])
    assert np.array_equal(model.layers[1].state["running_mean"], state_after[4])
    assert model.optimizer.iterations == iterations
    assert all(np.array_equal(model.optimizer.state[k], v) for k, v in optimizer_state.items())
    model.save(tmp_path / "good.glassnet")              # the last good state saves and loads
    loaded = gn.load_model(tmp_path / "good.glassnet")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), restored))
    assert len(set(np.argmax(loaded.predict(X, verbose=0), axis=1))) == 2   # not one class


def test_saving_keeps_permissions_and_leaves_no_temporary_files(tmp_path):
    model, path = _saved(tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask      # a new file: umask
    os.chmod(path, 0o640)
    model.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640              # kept
    stale = tmp_path / ".m.glassnet.glassnet-999999999-abcd.tmp"     # a killed save's
    stale.write_bytes(bytes(1000))
    model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.glassnet"]


def test_save_names_the_users_path_and_checks_it_first(tmp_path):
    model, _ = _saved(tmp_path)
    with pytest.raises(ValueError, match=r"cannot write .*nowhere/m.glassnet.*the folder "
                                         r".*nowhere' does not exist"):
        model.save(tmp_path / "nowhere" / "m.glassnet")
    with pytest.raises(ValueError, match=r"is a folder"):
        model.save(tmp_path)
    X = np.zeros((8, 3))
    checkpoint = gn.ModelCheckpoint(tmp_path / "missing" / "ckpt-{epoch}.glassnet",
                                    monitor="loss")
    with pytest.raises(ValueError, match=r"ModelCheckpoint: cannot write"):
        model.fit(X, np.zeros(8, int), epochs=1, verbose=0, callbacks=[checkpoint])
    assert model.epoch == 1                         # refused before any epoch ran (still 1)
    with pytest.raises(ValueError, match=r"ModelCheckpoint: cannot fill in the file name "
                                         r".*KeyError: 'val_loss'"):
        model.fit(X, np.zeros(8, int), epochs=1, verbose=0, callbacks=[
            gn.ModelCheckpoint(tmp_path / "{val_loss:.2f}.glassnet", monitor="loss")])


# --- raw internal errors and silent wrong results, each now a message -------------------
@pytest.mark.parametrize("make, error, message", [
    (lambda: gn.schedules.StepDecay(0.1, 0.5), TypeError,
     r"StepDecay: step_size must be a whole number, got 0.5"),
    (lambda: gn.schedules.ExponentialDecay(0.1, 10, float("nan")), ValueError,
     r"decay_rate must be a finite number"),
    (lambda: gn.Dense(3, trainable=1), TypeError, r"trainable must be True or False"),
    (lambda: gn.Dropout(0.5, seed=-1), ValueError, r"Dropout: seed must be a whole number >= 0"),
    (lambda: gn.Limits(max_layers=0), ValueError, r"max_layers must be a positive whole"),
    (lambda: gn.Sequential(limits={"max_layers": 3}), TypeError,
     r"limits must be a glassnet.Limits"),
])
def test_arguments_are_checked_where_they_enter(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_set_weights_refuses_complex_nan_and_out_of_range_and_writes_nothing():
    model = gn.Sequential([gn.Dense(2, input_shape=(2,)), gn.Dense(1)])
    before = model.get_weights()
    weights = [w.copy() for w in before]
    for bad, message in ((weights[0] + 1j, r"must be real numbers"),
                         (np.full((2, 2), np.nan), r"contains NaN or Inf"),
                         (np.full((2, 2), 1e300), r"beyond the range of float32")):
        attempt = [w + 1 for w in weights]
        attempt[2] = bad if bad.shape == (2, 1) else attempt[2]
        attempt[0] = bad if bad.shape == (2, 2) else attempt[0]
        attempt[3] = np.full(1, 7.0)
        with pytest.raises((TypeError, ValueError), match=message):
            model.set_weights(attempt)
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_data_and_arguments_that_used_to_pass_silently():
    model = gn.Sequential([gn.Dense(2, activation="softmax", input_shape=(2,))])
    model.compile("adam", "sparse_categorical_crossentropy")
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"evaluate: batch_size must be a positive whole "
                                         r"number, got -5"):
        model.evaluate(X, np.zeros(4, int), batch_size=-5)
    with pytest.raises(ValueError, match=r"beyond the range of float32 .*dtype='float64'"):
        model.predict(np.full((2, 2), 1e300))
    with pytest.raises(ValueError, match=r"the model ends in softmax, so it outputs "
                                         r"probabilities, but the loss has from_logits=True"):
        model.compile("adam", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    flat = gn.Sequential([gn.Flatten(), gn.Dense(1)], input_shape=(2 ** 40, 2 ** 40))
    assert flat.trace_shapes()[1] == (None, 2 ** 80)            # no overflow to 0
    with pytest.raises(ValueError, match=r"Limits.max_parameters"):
        flat.build()


def test_csv_errors_say_row_and_column(tmp_path):
    cases = {
        "bom.csv": ("\ufeffx,y,label\n1,2,0\n3,4,1\n", None),
        "gap.csv": ("1,,0\n3,4,1\n", r"row 1, column 2 is empty"),
        "word.csv": ("1,2,0\n3,four,1\n", r"row 2, column 2 is 'four'"),
        "ragged.csv": ("1,2,0\n3,4\n", r"row 2 has 2 fields but the first data row has 3"),
        "empty.csv": ("\n\n", r"holds no data rows"),
        "header_only.csv": ("a,b,c\n", r"has a header but no data rows"),
        "mixed.csv": ("a,2,c\n1,2,3\n", r"row 1 mixes numbers and text.*header=True"),
        "inf.csv": ("1,2,0\n1,inf,1\n", r"row 2, column 2 is 'inf'"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        if message is None:
            X, y = D.load_csv(tmp_path / name)
            assert X.tolist() == [[1, 2], [3, 4]] and y.tolist() == [0, 1]
        else:
            with pytest.raises(ValueError, match=message):
                D.load_csv(tmp_path / name)
    (tmp_path / "latin.csv").write_bytes("1,2,0\n3,\xe9,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 text: row 2 holds the byte 0xe9"):
        D.load_csv(tmp_path / "latin.csv")
    with pytest.raises(ValueError, match=r"label_column=7 does not exist: .* has 3 columns"):
        D.load_csv(tmp_path / "bom.csv", label_column=7)


def test_idx_labels_must_be_integers(tmp_path):
    D.save_idx(tmp_path / "images.idx", np.zeros((3, 2, 2), np.uint8))
    D.save_idx(tmp_path / "labels.idx", np.array([0.0, 1.7, 2.0], np.float32))
    with pytest.raises(ValueError, match=r"stores its labels as float32 numbers; class labels "
                                         r"must be stored as integers"):
        D.load_mnist_idx(tmp_path / "images.idx", tmp_path / "labels.idx")


# --- the command line ------------------------------------------------------------------------
def _cli(capsys, *argv):
    try:
        code = cli.main(list(argv))
    except SystemExit as stop:                       # argparse's own refusals
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", ""], r"--model is empty"),
    (["train", "--lr", "0"], r"--lr must be > 0, got 0.0"),
    (["train", "--epochs", "0"], r"--epochs must be a positive whole number"),
    (["train", "--epochs", "x"], r"argument --epochs: invalid int value: 'x'"),
    (["train", "--out", "model.pt"], r"--out: 'model.pt' ends in .pt, which promises a "
                                     r"PyTorch file"),
    (["train", "--out", "/no/such/folder/m.glassnet"], r"the folder '/no/such/folder' does "
                                                       r"not exist"),
    (["train", "--model", "784-999999999", "--data", "digits"],
     r"Limits.max_parameters|features per sample"),
    (["evaluate", "/dev/zero"], r"it is a device or socket, not a regular file"),
])
def test_cli_failures_are_one_line_before_any_training(capsys, argv, message):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and "Epoch" not in out
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert __import__("re").search(message, err), err


def test_cli_trains_regression_and_refuses_absurd_labels(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    table = np.c_[X, X @ [1.0, -2.0, 0.5] + 0.1]                # real-valued targets
    np.savetxt(tmp_path / "reg.csv", table, delimiter=",", header="a,b,c,target",
               comments="")
    code, out, err = _cli(capsys, "train", "--data", str(tmp_path / "reg.csv"), "--epochs",
                          "3", "--quiet")
    assert code == 0 and "mae" in out and err == "", err
    table[0, -1] = 999999999
    table[:, -1] = np.round(table[:, -1])
    np.savetxt(tmp_path / "labels.csv", table, delimiter=",", fmt="%.0f")
    code, out, err = _cli(capsys, "train", "--data", str(tmp_path / "labels.csv"))
    assert code == 2 and "labels range over" in err and "--task regression" in err


# --- fuzzing: every outcome is a result or the library's own error, bounded ----------------
@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    _, path = _saved(tmp_path_factory.mktemp("fuzz"))
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_the_model_loader(model_bytes, tmp_path, data):
    blob = bytearray(model_bytes)
    kind = data.draw(st.sampled_from(["flip", "truncate", "header", "splice"]))
    if kind == "flip":
        for i in data.draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=8)):
            blob[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        blob = blob[:data.draw(st.integers(0, len(blob) - 1))]
    elif kind == "header":
        n = int.from_bytes(blob[:8], "little")
        blob[:8] = data.draw(st.sampled_from([0, 1, n - 1, n + 1, 2 ** 63, 2 ** 64 - 1,
                                              len(blob)])).to_bytes(8, "little")
    else:
        n = int.from_bytes(blob[:8], "little")
        text = blob[8:8 + n].decode()
        start = data.draw(st.integers(0, len(text) - 1))
        junk = data.draw(st.sampled_from(['"', "{", "]", "1e999", "-1", "null", '"a"', "9" * 30,
                                          '"Residual"', '"layers": [', "NaN", "true"]))
        text = text[:start] + junk + text[start + len(junk):]
        raw = text.encode()
        blob = bytearray(len(raw).to_bytes(8, "little") + raw + blob[8 + n:])
    path = tmp_path / "fuzz.glassnet"
    path.write_bytes(bytes(blob))
    try:
        model = _finishes(lambda: _bounded(lambda: gn.load_model(path), 64), 30)
    except gn.ModelFileError:
        return
    path.write_bytes(model_bytes)                 # what loads is the model saved, or nothing
    saved = gn.load_model(path)
    assert model.get_config() == saved.get_config() and model.epoch == saved.epoch
    assert all(a.tobytes() == b.tobytes() for a, b in zip(model.get_weights(),
                                                          saved.get_weights()))


@FUZZ
@given(magic=st.sampled_from([b"", bytes([0, 0, 8, 1]), bytes([0, 0, 8, 3]),
                              bytes([0, 0, 0x0E, 2]), bytes([0, 0, 0x0D, 9])]),
       head=st.binary(max_size=40), tail=st.binary(max_size=200), zipped=st.booleans())
def test_fuzz_the_idx_reader(tmp_path, magic, head, tail, zipped):
    raw = magic + head + tail
    path = tmp_path / ("f.idx.gz" if zipped else "f.idx")
    path.write_bytes(gzip.compress(raw) if zipped else raw)
    try:
        array = _finishes(lambda: _bounded(lambda: D.load_idx(path), 64), 30)
    except ValueError:
        return
    assert isinstance(array, np.ndarray) and array.nbytes <= len(raw)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("0123456789.,-e\n\r\t ab\"x;'\ufeff")),
                    max_size=300), header=st.sampled_from([True, False, "auto"]),
       column=st.integers(-4, 4))
def test_fuzz_the_csv_reader(tmp_path, text, header, column):
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    try:
        X, y = D.load_csv(path, label_column=column, header=header)
    except ValueError:
        return
    assert np.isfinite(X).all() and np.isfinite(y).all() and len(X) == len(y) > 0


TOKENS = ["784", "8x8", "8x8x1", "20", "0", "-1", "10", "3:relu", "5:softmax", "dropout:0.2",
          "dropout:1.5", "dropout:nan", "batchnorm", "flatten", "conv:8:3", "conv:4:3:relu:same",
          "conv:0:3", "maxpool:2", "avgpool:9", "gap", "gap1d", "embed:10:4", "lstm:4:seq",
          "gru:3", "rnn:2", "attention:2:3:causal", "layernorm", "relu", "tanh", "x", "",
          "999999999999", "7:what", "conv1d:3:2", "²", "conv:8:3:relu:same:extra"]


@FUZZ
@given(tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=7))
def test_fuzz_the_spec_parser(tokens):
    spec = "-".join(tokens)
    try:
        model = gn.network.spec.parse_spec(spec)
        text = str(model.summary(print_fn=None))
    except (ValueError, TypeError):
        return
    assert "Total" in text

