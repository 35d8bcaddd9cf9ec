"""The two public calls the explorer reads the engine through (``Network.param_slice`` and
``Network.values_and_gradients``): where each parameter lives in the flat buffer, and one
batch's values and gradients computed by the model's own forward, loss and backward."""
import numpy as np
import pytest

import glassnet as gn


def _model(dtype="float64", last="linear", loss="mse", dropout=0.0):
    layers = [gn.Dense(5, activation="tanh", input_dim=3)]
    if dropout:
        layers.append(gn.Dropout(dropout))
    layers.append(gn.Dense(2, activation=last))
    model = gn.Sequential(layers, seed=3, dtype=dtype)
    model.compile(gn.optimizers.SGD(0.1), loss)
    return model


def test_param_slice_finds_every_parameter_in_the_flat_buffer():
    model = _model()
    assert model.param_slice(model.layers[0], "W") == slice(0, model.layers[0].params["W"].size)
    assert model.built                             # asking builds it, as get_weights does
    for layer in model.layers:
        for name, value in layer.params.items():
            where = model.param_slice(layer, name)
            assert np.shares_memory(model.flat_params[where], value)
            np.testing.assert_array_equal(model.flat_params[where], value.ravel())
            assert model.param_slice(layer.name, name) == where
    sizes = sum(s.stop - s.start for s in (model.param_slice(layer, k) for layer in model.layers
                                          for k in layer.params))
    assert sizes == model.flat_params.size
    with pytest.raises(KeyError, match=r"layer 'dense' has no parameter 'gamma'; it has "
                                       r"\['W', 'b'\]"):
        model.param_slice(model.layers[0], "gamma")
    model.layers[0].trainable = False
    model.pack()
    with pytest.raises(ValueError, match=r"layer 'dense' is frozen .*read layer.params"):
        model.param_slice(model.layers[0], "W")
    assert model.param_slice(model.layers[1], "W") == slice(0, 10)


def test_values_and_gradients_match_finite_differences_in_float64():
    rng = np.random.default_rng(7)
    model = _model()
    X, T = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    out = model.values_and_gradients(X, T)
    assert list(out["values"]) == ["input", "dense", "dense_1"]
    np.testing.assert_array_equal(out["values"]["dense_1"], model.predict(X, verbose=0))
    for layer in model.layers:                      # every parameter, central differences
        for name, value in layer.params.items():
            numeric = np.zeros_like(value)
            for index in np.ndindex(value.shape):
                keep = value[index]
                value[index] = keep + 1e-6
                up = model.values_and_gradients(X, T)["loss"]
                value[index] = keep - 1e-6
                down = model.values_and_gradients(X, T)["loss"]
                value[index] = keep
                numeric[index] = (up - down) / 2e-6
            np.testing.assert_allclose(out["gradients"][layer.name][name], numeric,
                                       rtol=1e-6, atol=1e-9)
    # dL/dY of MSE is 2 (Y - T) / (n * outputs); through a linear layer: dL/dH = dL/dY W^T
    dY = out["output_gradients"]["dense_1"]
    np.testing.assert_allclose(dY, 2 * (out["values"]["dense_1"] - T) / T.size, rtol=1e-12)
    np.testing.assert_allclose(out["output_gradients"]["dense"],
                               dY @ model.layers[1].params["W"].T, rtol=1e-12)


def test_values_and_gradients_leave_training_as_it_was():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    trained = []
    for look in (False, True):
        model = _model(last="softmax", loss="sparse_categorical_crossentropy", dropout=0.3)
        model.train_on_batch(X, y)
        grads = model.flat_grads.copy()
        if look:                                   # no random draw, no change of gradients
            out = model.values_and_gradients(X, y)
            np.testing.assert_array_equal(model.flat_grads, grads)
            # a fused loss: the output's entry is dL/d(logits) = (softmax - one-hot) / n
            P = out["values"]["dense_1"]
            np.testing.assert_allclose(out["output_gradients"]["dense_1"],
                                       (P - np.eye(2)[y]) / len(y), rtol=1e-10, atol=1e-15)
            assert "backward" not in vars(model.layers[0])      # the layers as they were
        model.train_on_batch(X, y)
        trained.append(model.flat_params.copy())
    np.testing.assert_array_equal(*trained)


def test_values_and_gradients_need_a_compiled_model_and_matching_data():
    model = gn.Sequential([gn.Dense(2, input_dim=3)])
    with pytest.raises(ValueError, match=r"values_and_gradients: the model is not compiled"):
        model.values_and_gradients(np.zeros((2, 3)), np.zeros((2, 2)))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"X has 2 samples but y has 3"):
        model.values_and_gradients(np.zeros((2, 3)), np.zeros((3, 2)))
