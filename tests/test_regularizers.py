"""kernel_regularizer and bias_regularizer (L1, L2, L1L2): the penalty written out, its
gradient checked in float64 against finite differences, and the loss and the trained
weights compared with real Keras 3."""
import os

import numpy as np
import pytest

import glassnet as gn

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402

R = gn.regularizers


def test_the_penalties_are_the_written_formulas():
    W = np.array([[1.5, -2.0], [0.0, 0.5]])
    assert R.L1(0.1).penalty(W) == pytest.approx(0.1 * 4.0)
    assert R.L2(0.1).penalty(W) == pytest.approx(0.1 * (2.25 + 4 + 0.25))
    assert R.L1L2(0.1, 0.2).penalty(W) == pytest.approx(0.4 + 0.2 * 6.5)
    np.testing.assert_allclose(R.L1L2(0.1, 0.2).gradient(W),
                               0.1 * np.sign(W) + 2 * 0.2 * W)
    assert R.get("l1").l1 == 0.01 and R.get("l2").l2 == 0.01 and R.get(None) is None
    assert repr(R.get({"type": "L1L2", "l1": 0.5, "l2": 0.25})) == "L1L2(l1=0.5, l2=0.25)"


@pytest.mark.parametrize("make, shape", [
    (lambda **r: gn.Dense(5, **r), (4,)),
    (lambda **r: gn.Conv1D(3, 2, padding="same", **r), (6, 2)),
    (lambda **r: gn.Conv2D(3, 2, strides=2, **r), (5, 4, 2)),
])
@pytest.mark.parametrize("penalties", [
    {"kernel_regularizer": R.L1(0.3), "bias_regularizer": R.L2(0.7)},
    {"kernel_regularizer": R.L1L2(0.2, 0.5)},
    {"bias_regularizer": R.L1L2(0.4, 0.1), "kernel_regularizer": "l2"},
])
def test_gradients_include_the_penalty_float64(make, shape, penalties):
    """check_layer: L = sum(forward(X) * G) + penalty, G random, central differences."""
    layer = make(**penalties)
    report = gn.check_layer(layer, shape, batch_size=3, seed=2)
    assert report.ok, report.to_text()
    assert layer.penalty() > 0


def test_a_wrong_penalty_gradient_is_caught(monkeypatch):
    monkeypatch.setattr(R.L1L2, "gradient", lambda self, W: self.l1 * np.sign(W) + self.l2 * W)
    assert not gn.check_layer(gn.Dense(3, kernel_regularizer=R.L2(0.5)), (4,)).ok


def _models(lib, R, first, shape):
    """The same network in Keras (lib = keras.layers) and glassnet: a convolution, then
    a softmax layer, every weight penalised."""
    conv = (lib.Conv2D(3, 3, activation="tanh", kernel_regularizer=R.L1L2(0.01, 0.02),
                       bias_regularizer=R.L2(0.1)) if first == "conv2d" else
            lib.Conv1D(3, 2, activation="tanh", kernel_regularizer=R.L2(0.05),
                       bias_regularizer=R.L1(0.03)))
    return [conv, lib.Flatten(),
            lib.Dense(3, activation="softmax", kernel_regularizer=R.L1(0.02),
                      bias_regularizer=R.L1L2(0.01, 0.04))]


@pytest.mark.parametrize("first, shape", [("conv2d", (6, 5, 2)), ("conv1d", (7, 2))])
def test_loss_and_training_match_keras(first, shape):
    rng = np.random.default_rng(0)
    keras_model = keras.Sequential([keras.Input(shape),
                                    *_models(keras.layers, keras.regularizers, first, shape)])
    keras_model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                             for w in keras_model.get_weights()])
    model = gn.Sequential(_models(gn, R, first, shape), input_shape=shape)
    model.set_weights(keras_model.get_weights())
    for m in (keras_model, model):
        m.compile(keras.optimizers.SGD(0.1) if m is keras_model else gn.optimizers.SGD(0.1),
                  "sparse_categorical_crossentropy")
    X = rng.normal(size=(16, *shape)).astype("float32")
    y = rng.integers(0, 3, 16)
    penalty = gn.network.trainer.penalty(model)
    assert penalty > 0.1                                  # a real share of the loss
    np.testing.assert_allclose(model.evaluate(X, y, verbose=0),
                               keras_model.evaluate(X, y, verbose=0), rtol=2e-6)
    history = model.fit(X, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    expected = keras_model.fit(X, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-6)


def test_regularizers_are_saved_and_frozen_layers_add_nothing(tmp_path):
    model = gn.Sequential([gn.Dense(3, kernel_regularizer=R.L2(0.5), bias_regularizer="l1"),
                           gn.Dense(2, kernel_regularizer=R.L1L2(0.1, 0.2))], input_shape=(4,))
    model.compile("sgd", "mse")
    model.save(tmp_path / "r.glassnet")
    loaded = gn.load_model(tmp_path / "r.glassnet")
    assert loaded.get_config() == model.get_config()
    assert repr(loaded.layers[1].regularizers["W"]) == "L1L2(l1=0.1, l2=0.2)"
    total = gn.network.trainer.penalty(model)
    assert total == pytest.approx(model.layers[0].penalty() + model.layers[1].penalty())
    model.layers[1].trainable = False                     # Keras: trainable weights only
    assert gn.network.trainer.penalty(model) == pytest.approx(model.layers[0].penalty())


@pytest.mark.parametrize("call, message", [
    (lambda: gn.Dense(3, kernel_regularizer="l3"),
     r"Dense\(3\): kernel_regularizer must be glassnet.regularizers.L1\(0.01\), L2\(0.01\), "
     r"L1L2\(l1, l2\), 'l1', 'l2' or None; got 'l3'"),
    (lambda: R.L2(-1), r"L2: l2 must be >= 0, got -1"),
    (lambda: gn.Conv2D(2, 3, bias_regularizer={"type": "L3"}),
     r"Conv2D\(2\) bias_regularizer: unknown regularizer type 'L3'"),
])
def test_wrong_regularizers_are_named(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_regularizers_go_to_keras_files_and_come_back(tmp_path):
    model = gn.Sequential([gn.Conv1D(2, 2, kernel_regularizer=R.L1L2(0.01, 0.02),
                                     bias_regularizer=R.L2(0.1)),
                           gn.Flatten(), gn.Dense(3, kernel_regularizer=R.L1(0.05))],
                          input_shape=(5, 2))
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.keras")
    keras_model = keras.saving.load_model(tmp_path / "m.keras")
    conv, dense = keras_model.layers[-3], keras_model.layers[-1]
    assert conv.kernel_regularizer.get_config() == {"l1": 0.01, "l2": 0.02}
    assert conv.bias_regularizer.get_config() == {"l2": 0.1}
    assert dense.kernel_regularizer.get_config()["l1"] == pytest.approx(0.05)
    X = np.random.default_rng(0).normal(size=(4, 5, 2)).astype("float32")
    Y = np.zeros((4, 3), "float32")
    keras_model.compile("sgd", "mse")
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0),
                               keras_model.evaluate(X, Y, verbose=0), rtol=1e-6)
    back = gn.load_keras(tmp_path / "m.keras")
    found = [repr(layer.regularizers.get(k)) for layer in back.layers for k in ("W", "b")
             if layer.regularizers]
    assert found == ["L1L2(l1=0.01, l2=0.02)", "L2(0.1)", "L1(0.05)", "None"]
