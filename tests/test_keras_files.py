"""Keras 3 .keras files both ways, read as hostile ones would be: what load_keras keeps
(compile configuration, options) and refuses by name; files built to read a local file,
allocate gigabytes or inflate a bomb, refused from their declarations; every raw library
error one line naming the file; the model checked against Keras's own reading; and
Hypothesis mutating valid zips and HDF5 files, loaded in a separate process whose peak
memory per file is measured (at most 100 MB above the interpreter's)."""
import io
import json
import os
import select
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ["KERAS_BACKEND"] = "torch"
import keras  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet.interop import keras_import  # noqa: E402

L = keras.layers
MiB = 1 << 20


def _keras_model(rng, compiled=True):
    model = keras.Sequential([keras.Input((4,), name="x"),
                              L.Dense(5, activation="tanh", name="hidden"),
                              L.Dropout(0.25, seed=3, name="drop"),
                              L.Dense(3, activation="softmax", name="out")], name="fixture")
    model.set_weights([rng.normal(size=w.shape).astype("float32")
                       for w in model.get_weights()])
    if compiled:
        model.compile(keras.optimizers.Adam(0.01, beta_1=0.8), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A valid .keras file: (path, config.json bytes, model.weights.h5 bytes)."""
    path = tmp_path_factory.mktemp("keras") / "valid.keras"
    model = _keras_model(np.random.default_rng(0))
    model.fit(np.ones((4, 4)), np.zeros(4, int), verbose=0)       # the optimizer's state too
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        return path, archive.read("config.json"), archive.read("model.weights.h5")


def _zip(path, config, weights, **extra):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", config)
        archive.writestr("model.weights.h5", weights)
        for name, data in extra.items():
            archive.writestr(name, data)
    return path


def _h5(weights, change):
    """The weights file after ``change(h5py.File)``."""
    buffer = io.BytesIO(weights)
    with h5py.File(buffer, "r+") as h5:
        change(h5)
    return buffer.getvalue()


def _refused(path, message, **options):
    with pytest.raises(ValueError, match=message) as caught:
        gn.load_keras(path, **{"verify": False, **options})
    text = str(caught.value)
    assert text.startswith(f"load_keras: cannot read {str(path)!r}: ") and "\n" not in text
    return text


# --- what is kept, what is refused by name --------------------------------------------------
def test_the_compile_configuration_and_options_are_kept(tmp_path):
    rng = np.random.default_rng(1)
    original = _keras_model(rng)
    path = tmp_path / "m.keras"
    original.save(path)
    model = gn.load_keras(path)                            # verified against Keras too
    assert isinstance(model.optimizer, gn.optimizers.Adam)
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    assert model.optimizer.beta_1 == pytest.approx(0.8)
    assert type(model.loss).__name__ == "SparseCategoricalCrossentropy"
    assert model.metrics == ["accuracy"]
    assert model.get_layer("drop").rate == 0.25 and model.get_layer("drop").seed == 3
    X, y = rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, 16)
    np.testing.assert_allclose(model.evaluate(X, y, verbose=0),
                               original.evaluate(X, y, verbose=0), rtol=1e-5)
    assert gn.load_keras(path, compile=False).loss is None
    frozen = keras.Sequential([keras.Input((4,)), L.Dense(2, trainable=False)])
    frozen.save(tmp_path / "frozen.keras")
    assert gn.load_keras(tmp_path / "frozen.keras").layers[0].trainable is False


@pytest.mark.parametrize("layer, shape, message", [
    (lambda: L.Dense(3, activity_regularizer="l2", name="h"), (4,),
     r"layer 'h' has activity_regularizer=L2, which glassnet does not have"),
    (lambda: L.Dense(3, bias_constraint="non_neg", name="h"), (4,),
     r"layer 'h' has bias_constraint=NonNeg, which glassnet does not have"),
    (lambda: L.LSTM(3, recurrent_dropout=0.2, name="h"), (5, 2),
     r"layer 'h' has recurrent_dropout=0.2, which glassnet does not have"),
    (lambda: L.GRU(3, dropout=0.1, name="h"), (5, 2),
     r"layer 'h' has dropout=0.1, which glassnet does not have"),
    (lambda: L.Dropout(0.5, noise_shape=(None, 1, 2), name="h"), (5, 2),
     r"layer 'h' has noise_shape=\[None, 1, 2\], which glassnet does not have"),
    (lambda: L.MultiHeadAttention(2, 3, dropout=0.1, name="h"), (5, 2),
     r"layer 'h' has dropout=0.1, which glassnet does not have"),
])
def test_options_glassnet_lacks_are_refused_by_name(tmp_path, layer, shape, message):
    x = keras.Input(shape)
    made = layer()
    model = keras.Model(x, made(x, x) if "Attention" in type(made).__name__ else made(x))
    model.save(tmp_path / "m.keras")
    text = _refused(tmp_path / "m.keras", message)
    assert "Remove it from the Keras model and save again" in text


def test_a_compile_configuration_glassnet_lacks_is_refused_unless_compile_false(tmp_path):
    model = _keras_model(np.random.default_rng(2), compiled=False)
    model.compile(keras.optimizers.Adam(use_ema=True), "mse")
    model.save(tmp_path / "ema.keras")
    _refused(tmp_path / "ema.keras", r"its optimizer: Adam: no option 'use_ema'.*"
                                     r"Load it with compile=False")
    assert gn.load_keras(tmp_path / "ema.keras", compile=False, verify=False).loss is None
    model.compile(keras.optimizers.SGD(0.1, weight_decay=0.01), "mse")
    model.save(tmp_path / "decay.keras")
    _refused(tmp_path / "decay.keras", r"its SGD has weight_decay=0.01, which Keras applies to "
                                       r"the weights and glassnet to the gradient")
    model.compile("adam", "mse", metrics=[keras.metrics.AUC()])
    model.save(tmp_path / "auc.keras")
    _refused(tmp_path / "auc.keras", r"compiled with the metrics")


def test_a_wrong_conversion_is_refused_by_the_check_against_keras(tmp_path, monkeypatch):
    _keras_model(np.random.default_rng(3)).save(tmp_path / "m.keras")
    monkeypatch.setattr(keras_import, "_activation", lambda config: "relu")  # tanh taken wrong
    with pytest.raises(ValueError, match=r"layer 'hidden' \(Dense\) computes differently in "
                                         r"glassnet and in Keras \(largest difference "):
        gn.load_keras(tmp_path / "m.keras")
    gn.load_keras(tmp_path / "m.keras", verify=False)         # what the check is for


def test_a_file_keras_cannot_read_is_loaded_with_a_warning_unless_verify(saved, monkeypatch):
    def unreadable(*args, **kwargs):
        raise TypeError("Could not deserialize class 'Dense'")
    monkeypatch.setattr(keras.saving, "load_model", unreadable)
    with pytest.warns(UserWarning, match=r"was read but not checked against Keras 3.* \(TypeError"
                                         r": Could not deserialize class 'Dense'\)"):
        assert gn.load_keras(saved[0]).count_params() == 4 * 5 + 5 + 5 * 3 + 3
    _refused(saved[0], r"Keras 3[\d.]+ could not read or run it to check the model "
                       r"\(TypeError: Could not deserialize.*Load it with verify=False",
             verify=True)


def test_load_model_says_to_use_load_keras(saved):
    with pytest.raises(gn.ModelFileError, match=r"it is a zip archive \(a Keras .keras file\), "
                                                r"not a glassnet model. Read it with "
                                                r"glassnet.load_keras\(path\)"):
        gn.load_model(saved[0])


# --- hostile files, each class ---------------------------------------------------------------
def test_raw_library_errors_become_one_line(tmp_path, saved):
    _, config, weights = saved
    (tmp_path / "text.keras").write_text("not a zip")
    _refused(tmp_path / "text.keras", r"it is not a zip archive, so not a Keras 3 .keras file")
    document = json.loads(config)
    del document["config"]["layers"][1]["config"]["use_bias"]
    _zip(tmp_path / "bias.keras", json.dumps(document), weights)
    _refused(tmp_path / "bias.keras", r"layer 'hidden' \(Dense\) has no field 'use_bias' in its "
                                      r"config. Save the model again with Keras 3")
    _zip(tmp_path / "h5.keras", config, b"\x89HDF\r\n\x1a\n" + bytes(300))
    _refused(tmp_path / "h5.keras", r"its model.weights.h5 is not a readable HDF5 file")
    document = json.loads(config)
    document["config"]["layers"][1]["config"]["units"] = -4
    _zip(tmp_path / "units.keras", json.dumps(document), weights)
    _refused(tmp_path / "units.keras", r"layer 'hidden': Dense: units must be")
    with pytest.warns(UserWarning, match="Duplicate name"):          # zipfile's own notice
        _zip(tmp_path / "two.keras", config, weights, **{"config.json": b"{}"})
    _refused(tmp_path / "two.keras", r"two zip members of the same name")


def _replace(name, **create):
    def change(h5):
        del h5[name]
        h5.create_dataset(name, **create)
    return change


def test_external_storage_virtual_datasets_and_links_are_refused(tmp_path, saved):
    _, config, weights = saved
    secret = tmp_path / "secret"
    secret.write_bytes(np.arange(20, dtype="<f4").tobytes())
    kernel = "layers/dense/vars/0"
    layout = h5py.VirtualLayout((4, 5), "f4")
    layout[:] = h5py.VirtualSource(str(tmp_path / "other.h5"), "x", shape=(4, 5))
    cases = {
        "external storage": (_replace(kernel, shape=(4, 5), dtype="<f4",
                                      external=[(str(secret), 0, 80)]),
                             r"layers/dense/vars/0 keeps its data in an external file"),
        "virtual": (lambda h5: (h5.__delitem__(kernel), h5.create_virtual_dataset(
            kernel, layout)), r"layers/dense/vars/0 is a virtual dataset"),
        "soft link": (lambda h5: (h5.__delitem__(kernel), h5.__setitem__(
            kernel, h5py.SoftLink("/layers/dense_1/vars/0"))),
            r"layers/dense/vars/0 is a soft link"),
        "external link": (lambda h5: (h5.__delitem__("layers/dense"), h5["layers"].__setitem__(
            "dense", h5py.ExternalLink(str(tmp_path / "other.h5"), "/g"))),
            r"layers/dense is an external link"),
        "filters": (_replace(kernel, data=np.zeros((4, 5), "f4"), compression="gzip"),
                    r"is stored through HDF5 filters"),
        "huge": (_replace(kernel, shape=(60000, 60000), dtype="f4"),
                 r"layers/dense/vars/0 has shape \(60000, 60000\); the layer needs \(4, 5\)"),
        "unstored": (_replace(kernel, shape=(4, 5), dtype="f4"),
                     r"stores 0 bytes for 80 bytes of data"),
        "integers": (_replace(kernel, data=np.zeros((4, 5), "i4")),
                     r"holds int32; it should hold floats"),
        "missing": (lambda h5: h5.__delitem__("layers/dense/vars/1"),
                    r"holds 1 arrays for layer 'dense', which has 2"),
    }
    for name, (change, message) in cases.items():
        path = _zip(tmp_path / f"{name.replace(' ', '_')}.keras", config, _h5(weights, change))
        _refused(path, message)


def _declared_size(blob, name, size):
    """The zip with ``name``'s declared (uncompressed) size changed in its local header and
    in the central directory."""
    blob = bytearray(blob)
    for signature, size_at, name_length_at, name_at in ((b"PK\x03\x04", 22, 26, 30),
                                                        (b"PK\x01\x02", 24, 28, 46)):
        at = blob.find(signature)
        while at >= 0:
            length = int.from_bytes(blob[at + name_length_at:at + name_length_at + 2], "little")
            if bytes(blob[at + name_at:at + name_at + length]) == name.encode():
                blob[at + size_at:at + size_at + 4] = size.to_bytes(4, "little")
            at = blob.find(signature, at + 4)
    return bytes(blob)


def test_bombs_and_huge_declarations_are_refused_before_inflating(tmp_path, saved):
    path, config, weights = saved
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", config)
        with archive.open("model.weights.h5", "w", force_zip64=True) as member:
            for _ in range(64):                               # 64 MiB of zeros, ~64 KiB stored
                member.write(bytes(MiB))
    assert bomb.stat().st_size < MiB
    _refused(bomb, r"its model.weights.h5 declares 67,108,864 bytes but stores .*: a "
                   r"decompression bomb")
    liar = tmp_path / "liar.keras"
    liar.write_bytes(_declared_size(path.read_bytes(), "model.weights.h5", 3_760_000_000))
    _refused(liar, r"declares 3,760,000,000 bytes")
    nested = _zip(tmp_path / "nested.keras", b"[" * (3 * MiB), weights)
    _refused(nested, r"config.json is not valid JSON \(its JSON is nested more than 256")
    many = _zip(tmp_path / "many.keras", b"[" + b"{}," * (MiB) + b"{}]", weights)
    _refused(many, r"holds more than 200,000 objects and lists")
    big = json.loads(config)
    big["config"]["layers"][1]["config"]["units"] = 10 ** 9
    _zip(tmp_path / "units.keras", json.dumps(big), weights)
    _refused(tmp_path / "units.keras", r"its architecture has [\d,]+ parameters, more than its "
                                       r"[\d,]+-byte weights file can hold")


# --- fuzzing in a separate process, memory measured per file --------------------------------
WORKER = textwrap.dedent("""
    import json, resource, sys, time
    import glassnet as gn

    def rss(field):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))

    gn.load_keras(sys.argv[1], verify=False)                 # warm: every import done
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = rss("VmSize:") + (1 << 30)                     # a runaway allocation fails
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    print("ready", flush=True)
    for line in sys.stdin:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                                     # reset the peak (VmHWM)
        before, start = rss("VmRSS:"), time.perf_counter()
        try:
            gn.load_keras(line.strip(), verify=False)
            outcome = "loaded"
        except ValueError as error:
            outcome = "refused: " + str(error)
        except BaseException as error:
            outcome = "raw: " + type(error).__name__ + ": " + str(error)
        print(json.dumps({"outcome": outcome, "peak": rss("VmHWM:") - before,
                          "seconds": time.perf_counter() - start}), flush=True)
""")
PEAKS = []


@pytest.fixture(scope="module")
def worker(saved, tmp_path_factory):
    process = subprocess.Popen([sys.executable, "-c", WORKER, str(saved[0])],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    yield process
    process.stdin.close()
    process.wait(30)
    if PEAKS:
        print(f"\nfuzzed {len(PEAKS)} files: peak {max(p for p, _ in PEAKS) / MiB:.1f} MiB "
              f"above the interpreter, slowest {max(s for _, s in PEAKS):.2f} s")


def _load_in_worker(worker, path, seconds=30):
    worker.stdin.write(f"{path}\n")
    worker.stdin.flush()
    ready, _, _ = select.select([worker.stdout], [], [], seconds)
    assert ready, f"no answer after {seconds} s: a hang"
    answer = json.loads(worker.stdout.readline())
    PEAKS.append((answer["peak"], answer["seconds"]))
    if os.environ.get("GLASSNET_FUZZ_LOG"):                 # what the fuzzing reached
        with open(os.environ["GLASSNET_FUZZ_LOG"], "a") as log:
            log.write(answer["outcome"].split("': ")[-1][:70] + "\n")
    assert answer["peak"] <= 100 * MiB, f"{answer['peak'] / MiB:.0f} MiB for {path}"
    outcome = answer["outcome"]
    assert outcome == "loaded" or outcome.startswith("refused: load_keras: cannot read "), \
        outcome
    assert "\n" not in outcome
    return outcome


FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
JUNK = ['"', "{", "]", "1e999", "-1", "0", "null", '"a"', "9" * 30, '"Functional"', "[[[[",
        '"InputLayer"', "true", '"float16"', '{"class_name": "L2"}']


@FUZZ
@given(data=st.data())
def test_fuzz_keras_zips(saved, worker, tmp_path, data):
    _, config, weights = saved
    blob = bytearray(_zip(io.BytesIO(), config, weights).getvalue())
    kind = data.draw(st.sampled_from(["flip", "truncate", "config", "declared"]))
    if kind == "flip":
        for i in data.draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=8)):
            blob[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        blob = blob[:data.draw(st.integers(0, len(blob) - 1))]
    elif kind == "config":
        text = config.decode()
        for _ in range(data.draw(st.integers(1, 3))):
            start = data.draw(st.integers(0, len(text) - 1))
            junk = data.draw(st.sampled_from(JUNK))
            text = text[:start] + junk + text[start + len(junk):]
        blob = bytearray(_zip(io.BytesIO(), text, weights).getvalue())
    else:
        name = data.draw(st.sampled_from(["config.json", "model.weights.h5"]))
        size = data.draw(st.sampled_from([0, 1, 1000, 2 ** 31, 2 ** 32 - 1]))
        blob = bytearray(_declared_size(bytes(blob), name, size))
    path = tmp_path / "fuzz.keras"
    path.write_bytes(bytes(blob))
    _load_in_worker(worker, path)


def _hdf5_change(data, tmp_path):
    names = ["layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0",
             "optimizer/vars/0", "optimizer/vars/3"]
    name = data.draw(st.sampled_from(names))
    shape = data.draw(st.sampled_from([(4, 5), (5,), (60000, 60000), (2 ** 40,), (), (0,),
                                       (5, 3), (1, 4, 5)]))
    dtype = data.draw(st.sampled_from(["<f4", ">f8", "<f2", "<i8", "u1", "S4"]))
    how = data.draw(st.sampled_from(["empty", "data", "chunked", "external", "soft",
                                     "delete", "group", "fill"]))

    def change(h5):
        del h5[name]
        if how == "delete":
            return
        if how == "soft":
            h5[name] = h5py.SoftLink("/" + data.draw(st.sampled_from(names + ["/nowhere"])))
        elif how == "group":
            h5.create_group(name)
        elif how == "external":
            (tmp_path / "outside").write_bytes(bytes(64))
            h5.create_dataset(name, shape=shape, dtype=dtype,
                              external=[(str(tmp_path / "outside"), 0, h5py.h5f.UNLIMITED)])
        elif how in ("data", "chunked") and np.prod(shape) * 8 < MiB:
            h5.create_dataset(name, data=np.ones(shape, dtype),
                              chunks=True if how == "chunked" and shape else None)
        else:
            h5.create_dataset(name, shape=shape, dtype=dtype,
                              fillvalue=7 if how == "fill" and dtype[1] in "fiu" else None)
    return change


@FUZZ
@given(data=st.data())
def test_fuzz_keras_hdf5(saved, worker, tmp_path, data):
    _, config, weights = saved
    if data.draw(st.booleans()):
        try:
            h5 = _h5(weights, _hdf5_change(data, tmp_path))
        except (ValueError, TypeError, OSError):              # h5py refused to write it
            return
    else:
        h5 = bytearray(weights)
        for i in data.draw(st.lists(st.integers(0, len(h5) - 1), min_size=1, max_size=12)):
            h5[i] ^= data.draw(st.integers(1, 255))
        h5 = bytes(h5)
    path = _zip(tmp_path / "fuzz.keras", config, h5)
    _load_in_worker(worker, path)
