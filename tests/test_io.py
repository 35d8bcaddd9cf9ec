import json
import os
import pickle

import numpy as np
import pytest
import safetensors.numpy

import glassnet as gn


def _trained(tmp_path, batchnorm=True):
    layers = [gn.Dense(6, activation="relu", input_dim=3)]
    if batchnorm:
        layers.append(gn.BatchNorm())
    layers += [gn.Dropout(0.2), gn.Dense(2, activation="softmax")]
    model = gn.Sequential(layers, seed=4)
    model.compile(gn.optimizers.AdamW(gn.schedules.ExponentialDecay(1e-2, 10, 0.5)),
                  gn.losses.SparseCategoricalCrossentropy(label_smoothing=0.1),
                  metrics=["accuracy"])
    X = np.random.default_rng(0).normal(size=(40, 3))
    model.fit(X, (X[:, 0] > 0).astype(int), epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.glassnet"
    model.save(path)
    return model, path, X


def test_round_trip_keeps_everything(tmp_path):
    model, path, X = _trained(tmp_path)
    loaded = gn.load_model(path)
    assert loaded.get_config() == model.get_config()
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.epoch == 2 and loaded.optimizer.iterations == model.optimizer.iterations == 10
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.metrics == ["accuracy"]
    for k in ("m", "v"):
        assert np.array_equal(loaded.optimizer.state[k], model.optimizer.state[k])
    assert loaded.layers[2].rng.bit_generator.state == model.layers[2].rng.bit_generator.state


def test_convolutional_models_round_trip(tmp_path):
    model = gn.Sequential([gn.Conv2D(4, 3, strides=2, padding="same", dilation_rate=1,
                                     activation="relu"), gn.MaxPool2D(2),
                           gn.Conv2D(2, (2, 1), padding=1), gn.GlobalAveragePooling2D(),
                           gn.Dense(3, activation="softmax")], input_shape=(9, 9, 2))
    model.compile("adam", "sparse_categorical_crossentropy")
    X = np.random.default_rng(0).normal(size=(6, 9, 9, 2))
    model.train_on_batch(X, np.array([0, 1, 2, 0, 1, 2]))
    model.save(tmp_path / "cnn.glassnet")
    loaded = gn.load_model(tmp_path / "cnn.glassnet")
    assert loaded.get_config() == model.get_config()
    assert np.array_equal(loaded.predict(X), model.predict(X))
    seq = gn.Sequential([gn.Conv1D(3, 2, padding="same"), gn.Flatten(), gn.Dense(1)],
                        input_shape=(5, 2))
    seq.save(tmp_path / "seq.glassnet")
    Z = np.ones((2, 5, 2))
    assert np.array_equal(gn.load_model(tmp_path / "seq.glassnet").predict(Z), seq.predict(Z))


def test_uncompiled_and_untrained_models_save_too(tmp_path):
    model = gn.Sequential([gn.Dense(3, input_dim=2)], dtype="float64")
    model.save(tmp_path / "a.glassnet")
    loaded = gn.load_model(tmp_path / "a.glassnet")
    assert loaded.dtype == np.float64 and loaded.loss is None
    model.compile("adam", "mse")
    model.save(tmp_path / "b.glassnet")
    assert gn.load_model(tmp_path / "b.glassnet").optimizer.iterations == 0


def test_the_file_is_plain_safetensors(tmp_path):
    from safetensors.numpy import load_file
    model, path, _ = _trained(tmp_path)
    tensors = load_file(path)
    assert np.array_equal(tensors["layers.1.W"], model.layers[0].params["W"])
    assert set(tensors) >= {"layers.2.running_mean", "optimizer.m", "optimizer.v"}


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    model, path, _ = _trained(tmp_path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", crash)
    model.layers[0].params["W"][...] = 0
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.glassnet"]    # no temp file left


def _rewrite_meta(path, change):
    """A crafted file: the metadata changed and its checksum computed again, as an attacker
    would, so that the checks behind the checksum are what refuses it."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = json.loads(header["__metadata__"]["glassnet"])
    change(meta, header)
    meta["sha256"] = gn.io.checksum(safetensors.numpy.load(data), meta)
    header["__metadata__"]["glassnet"] = json.dumps(meta)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n:])


@pytest.mark.parametrize("corrupt, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:-100]), r"tensor data is corrupt|truncated"),
    (lambda p: p.write_bytes(p.read_bytes()[:5]), r"too short to be a glassnet model"),
    (lambda p: p.write_bytes(b"\xff" * 8 + p.read_bytes()[8:]), r"header claims"),
    (lambda p: p.write_bytes(p.read_bytes()[:8] + b"\x00" + p.read_bytes()[9:]),
     r"header is not valid glassnet safetensors metadata"),
    (lambda p: p.write_bytes(b""), r"the file is 0 bytes long"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["model"]["layers"][0].update(type="Evil")),
     r"unknown layer type 'Evil'"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["model"]["layers"][0].update(units=7)),
     r"tensors do not match its architecture: .*layers.1.W is F32 \[3, 6\] but the "
     r"architecture needs F32 \[3, 7\]"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["model"]["layers"][0].update(units=10**9)),
     r"the parameters: 10,000,000,002 is more than glassnet's limit of 1,000,000,000 "
     r"\(Limits.max_parameters\)"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["model"]["layers"][0].update(
        __class__="os.system")), r"Dense has no option '__class__'"),
    (lambda p: _rewrite_meta(p, lambda m, h: m.update(version=99)), r"format version 99"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["compile"]["optimizer"].update(type="Magic")),
     r"unknown optimizer type 'Magic'"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["training"].update(epoch=-1)),
     r"bad training position"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["rng"]["3"].update(bit_generator="MT19937")),
     r"bad random generator state for layer 3"),
    (lambda p: _rewrite_meta(p, lambda m, h: m["rng"].update({"-1": m["rng"]["3"]})),
     r"random generator state for unknown layer '-1'"),
    (lambda p: _rewrite_meta(p, lambda m, h: h.pop("optimizer.v")),
     r"missing tensors \['optimizer.v'\]"),
])
def test_corrupt_files_raise_the_loader_error(tmp_path, corrupt, message):
    _, path, _ = _trained(tmp_path)
    corrupt(path)
    with pytest.raises(gn.ModelFileError, match=message):
        gn.load_model(path)


def test_a_flipped_byte_is_corruption_and_nan_is_refused_even_with_its_checksum(tmp_path):
    model, path, _ = _trained(tmp_path, batchnorm=False)
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    start = 8 + n + header["layers.1.W"]["data_offsets"][0]
    data[start + 1] ^= 0x10                                  # one bit of one weight
    path.write_bytes(bytes(data))
    with pytest.raises(gn.ModelFileError, match=r"do not match the checksum written with it "
                                                r"\(the file is corrupt"):
        gn.load_model(path)
    data[start + 1] ^= 0x10
    data[start:start + 4] = np.array([np.nan], np.float32).tobytes()
    path.write_bytes(bytes(data))
                                                             # a crafted file: NaN ...
    _rewrite_meta(path, lambda m, h: None)                   # ... and a valid checksum
    with pytest.raises(gn.ModelFileError, match=r"tensor layers.1.W contains 1 NaN or Inf"):
        gn.load_model(path)


class _Payload:
    def __reduce__(self):
        return (open, ("/tmp/glassnet-pwned", "w"))


def test_pickle_files_are_refused_without_running_anything(tmp_path):
    marker = "/tmp/glassnet-pwned"
    if os.path.exists(marker):
        os.unlink(marker)
    path = tmp_path / "evil.glassnet"
    path.write_bytes(pickle.dumps({"weights": _Payload()}))
    with pytest.raises(gn.ModelFileError, match=r"Cannot load model file .*evil.glassnet"):
        gn.load_model(path)
    assert not os.path.exists(marker)


def test_missing_file_and_other_safetensors_files(tmp_path):
    from safetensors.numpy import save_file
    with pytest.raises(gn.ModelFileError, match=r"cannot be read.*Check the path"):
        gn.load_model(tmp_path / "nope.glassnet")
    save_file({"x": np.zeros(3)}, tmp_path / "other.safetensors")
    with pytest.raises(gn.ModelFileError, match=r"not valid glassnet safetensors metadata"):
        gn.load_model(tmp_path / "other.safetensors")
    save_file({"x": np.zeros(3)}, tmp_path / "x.st", metadata={"glassnet": '{"format": "x"}'})
    with pytest.raises(gn.ModelFileError, match=r"safetensors file but not a glassnet model"):
        gn.load_model(tmp_path / "x.st")


def test_the_loader_error_is_a_value_error():
    assert issubclass(gn.ModelFileError, ValueError)
