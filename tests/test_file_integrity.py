"""A .glassnet file is whole or refused: every byte of a small saved file flipped, one at
a time, either makes load_model refuse the file or gives back the very model that was
saved; and files of the previous format version still load."""
import pathlib

import numpy as np
import pytest

import glassnet as gn

DATA = pathlib.Path(__file__).parent / "data"


def _small_model():
    """Every part a file describes: layers with options (LeakyReLU's alpha), a dropout
    generator, an optimiser with state, a training position."""
    model = gn.Sequential([gn.Dense(3, input_dim=2), gn.LeakyReLU(0.2), gn.Dropout(0.25),
                           gn.Dense(2, activation="softmax")], seed=7)
    model.compile(gn.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    X = np.random.default_rng(1).normal(size=(8, 2))
    model.fit(X, (X[:, 0] > 0).astype(int), epochs=1, batch_size=4, verbose=0)
    return model


def fingerprint(model):
    """Everything that defines a model, as bytes and plain values."""
    optimizer = model.optimizer
    return (model.get_config(), [w.dtype.str + w.tobytes().hex() for w in model.get_weights()],
            model.epoch, model.metrics, model.loss_weight,
            model.loss and model.loss.get_config(),
            optimizer and (optimizer.get_config(), optimizer.iterations,
                           {k: v.tobytes().hex() for k, v in optimizer.state.items()}),
            [layer.rng.bit_generator.state for layer in model.layers if layer.rng is not None])


def test_every_flipped_byte_is_refused_or_changes_nothing(tmp_path):
    model = _small_model()
    path = tmp_path / "m.glassnet"
    model.save(path)
    saved = fingerprint(gn.load_model(path))
    assert saved == fingerprint(model)
    data = path.read_bytes()
    assert len(data) < 4096                                   # flipping every byte stays fast
    refused = 0
    for i in range(len(data)):
        mask = 1 << (i % 8)                                   # one bit, each bit in turn
        flipped = bytearray(data)
        flipped[i] ^= mask
        path.write_bytes(flipped)
        try:
            loaded = gn.load_model(path)
        except gn.ModelFileError:
            refused += 1
            continue
        assert fingerprint(loaded) == saved, f"byte {i} ^ {mask:#x} loaded another model"
    assert refused > 0.9 * len(data)                          # spaces and the like may pass


@pytest.mark.parametrize("before, after, message", [
    # the case that was found: LeakyReLU's alpha 0.2 -> 0.3 in the metadata
    (b'"alpha\\": 0.2', b'"alpha\\": 0.3', r"do not match the checksum written with it"),
    # a damaged version byte must not make the file checked by the older, weaker rule
    (b'"version\\": 3', b'"version\\": 2', r"format version 2 file has no 'checksum' "
                                             r"checksum field"),
])
def test_one_changed_field_is_refused(tmp_path, before, after, message):
    path = tmp_path / "m.glassnet"
    _small_model().save(path)
    data = path.read_bytes()
    assert data.count(before) == 1
    path.write_bytes(data.replace(before, after))
    with pytest.raises(gn.ModelFileError, match=message):
        gn.load_model(path)


def test_a_file_of_format_version_2_still_loads():
    """tests/data/model-v2.glassnet was written by glassnet before format 3 (the model of
    _small_model); its predictions were recorded then."""
    model = gn.load_model(DATA / "model-v2.glassnet")
    assert model.layers[1].get_config()["alpha"] == 0.2
    assert model.epoch == 1 and model.optimizer.iterations == 2
    X = np.array([[0.5, -1.0], [2.0, 0.25]])
    np.testing.assert_array_equal(
        model.predict(X, verbose=0),
        np.array([[0.4294678270816803, 0.5705321431159973],
                  [0.4207885265350342, 0.579211413860321]], np.float32))
    assert fingerprint(model) == fingerprint(_small_model())


def test_format_version_2_is_checked_by_its_own_rule(tmp_path):
    data = bytearray((DATA / "model-v2.glassnet").read_bytes())
    data[-3] ^= 0x10                                          # one bit of the last tensor
    path = tmp_path / "old.glassnet"
    path.write_bytes(data)
    with pytest.raises(gn.ModelFileError, match=r"do not match the checksum written with it"):
        gn.load_model(path)
