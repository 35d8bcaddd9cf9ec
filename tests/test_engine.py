"""Beyond glassnet's engine: training with PyTorch (one process, and two with
torch.distributed's gloo on 127.0.0.1), the trained weights back in glassnet; the CLI's
--engine torch; and Keras 3 .keras files read without Keras."""
import os

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import cli

os.environ["KERAS_BACKEND"] = "torch"
import keras  # noqa: E402


def _digits():
    X, y = gn.datasets.load_digits()
    X_train, X_test, y_train, y_test = gn.datasets.train_test_split(X, y, 0.2, seed=0)
    X_train, X_test = gn.datasets.standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def _mlp():
    model = gn.Sequential([gn.Dense(64, activation="relu", input_shape=(64,)),
                           gn.Dropout(0.1), gn.Dense(10, activation="softmax")], seed=0)
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


MARGIN = 0.03        # held-out accuracy of the two engines, same epochs, same batch


@pytest.mark.slow
def test_training_with_pytorch_brings_back_a_model_as_good_as_glassnets():
    X_train, X_test, y_train, y_test = _digits()
    own = _mlp()
    own.fit(X_train, y_train, 32, 12, 0)
    own_accuracy = own.evaluate(X_test, y_test, verbose=0)[1]
    model = _mlp()
    before = model.get_weights()
    result = gn.train_with_torch(model, X_train, y_train, epochs=12, batch_size=32, verbose=0)
    losses = result.history["loss"]
    assert len(losses) == 12 and losses[-1] < losses[0]
    assert not np.array_equal(model.get_weights()[0], before[0])
    accuracy = model.evaluate(X_test, y_test, verbose=0)[1]
    assert accuracy >= 0.93 and abs(accuracy - own_accuracy) <= MARGIN
    assert model.epoch == 12


@pytest.mark.slow
def test_two_gloo_processes_agree_and_match_glassnet():
    X_train, X_test, y_train, y_test = _digits()
    own = _mlp()
    own.fit(X_train, y_train, 32, 12, 0)
    own_accuracy = own.evaluate(X_test, y_test, verbose=0)[1]
    model = _mlp()
    result = gn.train_with_torch(model, X_train, y_train, epochs=12, batch_size=32, nproc=2,
                                 verbose=0, timeout=300)
    first, second = result.rank_weights
    assert set(first) == set(second) and all(np.array_equal(first[k], second[k])
                                             for k in first)
    accuracy = model.evaluate(X_test, y_test, verbose=0)[1]
    assert accuracy >= 0.93 and abs(accuracy - own_accuracy) <= MARGIN
    assert model.summary(print_fn=None).data["params"] == \
        own.summary(print_fn=None).data["params"]


def test_the_torch_engine_refuses_what_it_cannot_do():
    model = _mlp()
    with pytest.raises(ValueError, match=r"batch_size 30 must split evenly over 4 processes"):
        gn.train_with_torch(model, np.zeros((8, 64)), np.zeros(8, int), batch_size=30, nproc=4)
    model.compile("adam", "categorical_focal_crossentropy")
    with pytest.raises(TypeError, match=r"no PyTorch twin for the loss "
                                        r"CategoricalFocalCrossentropy"):
        gn.train_with_torch(model, np.zeros((8, 64)), np.eye(10)[:8])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"--device cuda: PyTorch finds no CUDA device"):
            gn.train_with_torch(_mlp(), np.zeros((8, 64)), np.zeros(8, int), device="cuda")


def test_cli_engine_torch(capsys):
    code = cli.main(["train", "--engine", "torch", "--epochs", "2", "--quiet",
                     "--model", "64-32:relu-10:softmax"])
    out = capsys.readouterr()
    assert code == 0 and "test accuracy:" in out.out, out.err
    code = cli.main(["train", "--engine", "torch", "--device", "cuda"])
    err = capsys.readouterr().err
    if torch.cuda.is_available():
        assert code == 0
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "--device cuda: PyTorch finds no CUDA device on this machine" in err
    code = cli.main(["train", "--nproc", "2"])
    assert code == 2 and "add --engine torch" in capsys.readouterr().err


# --- Keras files ---------------------------------------------------------------------------
def _random_keras_weights(model, rng):
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in v.path
                       else (0.5 * rng.normal(size=w.shape)).astype("float32")
                       for w, v in zip(model.get_weights(), model.weights)])


def test_keras_files_are_read_without_keras(tmp_path):
    L, rng = keras.layers, np.random.default_rng(0)
    chain = keras.Sequential([keras.Input((6, 3)), L.Conv1D(4, 2, padding="causal"),
                              L.BatchNormalization(), L.LSTM(5, return_sequences=True),
                              L.GRU(3, reset_after=False), L.Dense(2, activation="softmax")])
    x = keras.Input((6, 4))
    h = L.Add()([x, L.MultiHeadAttention(2, 3)(x, x, use_causal_mask=True)])
    graph = keras.Model(x, L.Dense(3)(L.GlobalAveragePooling1D()(L.LayerNormalization()(h))))
    for model, shape in ((chain, (5, 6, 3)), (graph, (5, 6, 4))):
        _random_keras_weights(model, rng)
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        ours = gn.load_keras(path)
        X = rng.normal(size=shape).astype("float32")
        np.testing.assert_allclose(ours.predict(X, verbose=0), model.predict(X, verbose=0),
                                   rtol=1e-5, atol=1e-5)
        assert ours.count_params() == model.count_params()
    odd = keras.Sequential([keras.Input((4,)), L.Dense(3), L.UnitNormalization()])
    odd.save(tmp_path / "odd.keras")
    with pytest.raises(ValueError, match=r"layer 'unit_normalization' is a UnitNormalization, "
                                         r"which glassnet does not read"):
        gn.load_keras(tmp_path / "odd.keras")
    (tmp_path / "fake.keras").write_bytes(b"PK\x05\x06" + bytes(18))        # an empty zip
    with pytest.raises(ValueError, match=r"is not a Keras 3 .keras file"):
        gn.load_keras(tmp_path / "fake.keras")
