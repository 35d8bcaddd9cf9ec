"""The AUC metric against real Keras 3: the value over several batches, every summation
method, logits, one-hot targets, and the 'auc' that fit and evaluate report."""
import os

import numpy as np
import pytest

import glassnet as gn

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402


def _batches(rng, shape=(30, 1), ties=False):
    for _ in range(3):
        T = (rng.uniform(size=shape) < 0.4).astype("float32")
        Y = np.clip(0.3 * T + rng.uniform(size=shape), 0, 1).astype("float32")
        if ties:
            Y = np.round(Y * 4) / 4                             # exactly on thresholds
        yield Y, T


@pytest.mark.parametrize("options", [{}, {"num_thresholds": 7}, {"summation_method":
                                     "minoring"}, {"summation_method": "majoring"}])
@pytest.mark.parametrize("shape, ties", [((30, 1), False), ((20, 3), False), ((25, 1), True)])
def test_auc_is_keras_auc(options, shape, ties):
    rng = np.random.default_rng(len(shape) + ties)
    ours, theirs = gn.metrics.AUC(**options), keras.metrics.AUC(**options)
    totals = gn.metrics.Totals([ours])
    for Y, T in _batches(rng, shape, ties):
        totals.add(Y, T)
        theirs.update_state(T, Y)
        assert totals.values()["auc"] == pytest.approx(float(theirs.result()), abs=1e-6)


def test_auc_from_logits_and_edge_cases():
    rng = np.random.default_rng(0)
    Z = rng.normal(scale=3, size=(40, 1)).astype("float32")
    T = (rng.uniform(size=(40, 1)) < 0.5).astype("float32")
    theirs = keras.metrics.AUC(from_logits=True)
    theirs.update_state(T, Z)
    assert gn.metrics.AUC(from_logits=True)(Z, T) == pytest.approx(float(theirs.result()),
                                                                   abs=1e-6)
    assert gn.metrics.AUC()(np.array([[0.2], [0.9]]), np.ones((2, 1))) == 0.0   # no negatives
    perfect = gn.metrics.AUC()(np.array([[0.1], [0.8]]), np.array([[0.0], [1.0]]))
    assert perfect == pytest.approx(1.0)


def test_fit_and_evaluate_report_keras_auc():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(48, 3)).astype("float32")
    y = (X[:, :1] + 0.5 * rng.normal(size=(48, 1)) > 0).astype("float32")
    keras_model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")])
    keras_model.compile(keras.optimizers.SGD(0.1), "binary_crossentropy", metrics=["AUC"])
    model = gn.Sequential([gn.Dense(1, "sigmoid")], input_shape=(3,))
    model.compile(gn.optimizers.SGD(0.1), "binary_crossentropy", metrics=["AUC"])
    model.set_weights(keras_model.get_weights())
    expected = keras_model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    history = model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["AUC"], expected.history["AUC"], atol=1e-6)
    np.testing.assert_allclose(model.evaluate(X, y, batch_size=16, verbose=0),
                               keras_model.evaluate(X, y, batch_size=16, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_auc_options_are_checked():
    with pytest.raises(ValueError, match=r"AUC: curve must be one of 'ROC', got 'PR'"):
        gn.metrics.AUC(curve="PR")
    with pytest.raises(ValueError, match=r"AUC: num_thresholds must be a whole number >= 2"):
        gn.metrics.AUC(num_thresholds=1)
