"""Adagrad, Adam's amsgrad and gradient clipping (clipnorm, clipvalue): against their
formulas, and against real Keras 3 (the torch backend) training the same model from the
same weights. (amsgrad against PyTorch: tests/test_torch_parity.py.)"""
import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
import keras  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import optimizers as O  # noqa: E402


def _one_step(optimizer, seed=0):
    """(gradients, parameter change) of one step on a 5-16-3 tanh/softmax model, tensor by
    tensor (the gradients as computed, before clipping)."""
    model = gn.Sequential([gn.Dense(16, activation="tanh", input_dim=5),
                           gn.Dense(3, activation="softmax")], seed=seed, dtype="float64")
    model.compile(optimizer, "sparse_categorical_crossentropy")
    rng = np.random.default_rng(seed)
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(rng.normal(size=(8, 5)) * 3, rng.integers(0, 3, 8))
    grads = [g.copy() for layer in model.layers for g in layer.grads.values()]
    return grads, [a - b for a, b in zip(model.get_weights(), before, strict=True)]


def test_clipnorm_clips_each_tensor_on_its_own():
    c = 0.5
    grads, deltas = _one_step(O.SGD(1.0, clipnorm=c))
    norms = [np.linalg.norm(g) for g in grads]
    assert min(norms) < c < max(norms)                # some tensors clipped, some not
    for g, delta, norm in zip(grads, deltas, norms, strict=True):
        np.testing.assert_allclose(-delta, g * c / max(norm, c), rtol=1e-12, atol=1e-15)


def test_clipvalue_clips_each_number():
    c = 0.02
    grads, deltas = _one_step(O.SGD(1.0, clipvalue=c))
    flat = np.concatenate([g.ravel() for g in grads])
    assert (np.abs(flat) > c).any() and (np.abs(flat) < c).any()
    for g, delta in zip(grads, deltas, strict=True):
        np.testing.assert_allclose(-delta, np.clip(g, -c, c), rtol=1e-12, atol=1e-15)


def test_adagrad_step_is_its_formula():
    lr, a0, eps = 0.1, 0.1, 1e-7
    grads, deltas = _one_step(O.Adagrad(lr))
    for g, delta in zip(grads, deltas, strict=True):          # a = a0 + g^2
        np.testing.assert_allclose(-delta, lr * g / np.sqrt(a0 + g * g + eps), rtol=1e-12,
                                   atol=1e-15)


def test_amsgrad_divides_by_the_largest_v_so_far():
    optimizer = O.Adam(0.1, beta_2=0.5, amsgrad=True)
    p = np.zeros(3)
    optimizer.step(p, np.array([1.0, 2.0, -3.0]))
    optimizer.step(p, np.array([0.1, 0.0, 0.2]))               # v falls: v_max keeps it
    v, v_max = optimizer.state["v"], optimizer.state["v_max"]
    assert (v_max > v).all()
    np.testing.assert_allclose(v_max, 0.5 * np.array([1.0, 4.0, 9.0]))


@pytest.mark.parametrize("name", ["sgd_momentum_clipnorm", "sgd_clipvalue", "adagrad",
                                  "adagrad_clipnorm"])
def test_training_matches_keras(name):
    keras_opt, mine = {
        "sgd_momentum_clipnorm": (lambda: keras.optimizers.SGD(0.1, momentum=0.9, clipnorm=0.1),
                                  lambda: O.SGD(0.1, momentum=0.9, clipnorm=0.1)),
        "sgd_clipvalue": (lambda: keras.optimizers.SGD(0.5, clipvalue=0.01),
                          lambda: O.SGD(0.5, clipvalue=0.01)),
        "adagrad": (lambda: keras.optimizers.Adagrad(0.1), lambda: O.Adagrad(0.1)),
        "adagrad_clipnorm": (
            lambda: keras.optimizers.Adagrad(0.05, initial_accumulator_value=0.5, clipnorm=0.2),
            lambda: O.Adagrad(0.05, initial_accumulator_value=0.5, clipnorm=0.2)),
    }[name]
    rng = np.random.default_rng(7)
    keras_model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"),
                                    keras.layers.Dense(3, activation="softmax")])
    keras_model.compile(keras_opt(), "sparse_categorical_crossentropy")
    model = gn.Sequential([gn.Dense(8, activation="tanh", input_dim=5),
                           gn.Dense(3, activation="softmax")])
    model.compile(mine(), "sparse_categorical_crossentropy")
    keras_model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32")
                             for w in keras_model.get_weights()])
    model.set_weights(keras_model.get_weights())
    start = model.get_weights()
    X = (rng.normal(size=(32, 5)) * 2).astype("float32")
    y = rng.integers(0, 3, 32)
    keras_model.fit(X, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    model.fit(X, y, 8, 3, 0, shuffle=False)
    assert all(not np.allclose(a, s) for a, s in zip(model.get_weights(), start, strict=True))
    for a, b in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_clipping_and_new_options_are_checked_and_saved():
    with pytest.raises(ValueError, match=r"Adam: give at most one of clipnorm, clipvalue and "
                                         r"global_clipnorm \(as Keras\), got clipnorm=1.0, "
                                         r"clipvalue=0.5"):
        O.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match=r"SGD: clipvalue must be in > 0, got -1"):
        O.SGD(clipvalue=-1)
    with pytest.raises(TypeError, match=r"AdamW: amsgrad must be True or False, got 'yes'"):
        O.AdamW(amsgrad="yes")
    with pytest.raises(ValueError, match=r"Adagrad: initial_accumulator_value must be in "
                                         r">= 0, got -0.1"):
        O.Adagrad(initial_accumulator_value=-0.1)
    with pytest.raises(ValueError, match=r"Adam.step: sizes \(2, 2\) must be >= 0 and add up "
                                         r"to the 3 numbers"):
        O.Adam(clipnorm=1.0).step(np.zeros(3), np.ones(3), sizes=(2, 2))
    with pytest.raises(ValueError, match=r"RMSprop.step: grads has shape \(20000,\) but "
                                         r"params has \(20001,\); give one gradient"):
        O.RMSprop().step(np.zeros(20001, np.float32), np.ones(20000, np.float32))
    for optimizer in (O.Adagrad(0.01, initial_accumulator_value=0.2, clipnorm=2.0),
                      O.Adam(amsgrad=True, clipvalue=0.5), O.AdamW(global_clipnorm=1.0)):
        config = optimizer.get_config()
        again = O.from_config(config)
        assert type(again) is type(optimizer) and again.get_config() == config
    assert O.get("adagrad").get_config()["initial_accumulator_value"] == 0.1


@pytest.mark.parametrize("make", [lambda: O.SGD(0.5, momentum=0.9, clipnorm=0.1),
                                  lambda: O.SGD(0.5, clipvalue=0.01),
                                  lambda: O.Adam(0.05, beta_2=0.9, amsgrad=True)])
def test_the_torch_engine_clips_and_amsgrads_as_glassnet(make):
    """train_with_torch builds its PyTorch optimiser from glassnet's: the same options."""
    models = []
    for engine in ("glassnet", "torch"):
        model = gn.Sequential([gn.Dense(8, activation="tanh", input_dim=5),
                               gn.Dense(3, activation="softmax")], seed=3)
        model.compile(make(), "sparse_categorical_crossentropy")
        rng = np.random.default_rng(7)
        X, y = rng.normal(size=(32, 5)) * 2, rng.integers(0, 3, 32)
        if engine == "glassnet":
            model.fit(X, y, 8, 3, 0, shuffle=False)
        else:
            gn.train_with_torch(model, X, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
        models.append(model)
    for a, b in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
