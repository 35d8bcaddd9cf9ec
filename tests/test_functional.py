"""The functional API: gn.Input, layers called on tensors, gn.Model -- several inputs,
skip connections, and everything a Sequential has (fit, summary, trace, explain,
save/load); the same network written with Residual computes the same numbers."""
import numpy as np
import pytest

import glassnet as gn


def _two_inputs(seed=0):
    a, b = gn.Input((4,), name="image"), gn.Input((3,), name="meta")
    h = gn.Dense(8, activation="relu")(a)
    m = gn.Dense(8, activation="relu")(b)
    y = gn.Dense(2, activation="softmax")(gn.Concatenate()([h, m]))
    model = gn.Model([a, b], y, seed=seed)
    model.compile(gn.optimizers.Adam(0.02), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _two_input_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(n, 4)), rng.normal(size=(n, 3))
    y = ((A[:, 0] + B[:, 1]) > 0).astype(int)              # needs both inputs
    return A, B, y


def test_a_two_input_model_trains_and_round_trips(tmp_path):
    A, B, y = _two_input_data()
    model = _two_inputs()
    history = model.fit([A, B], y, batch_size=16, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    loss, accuracy = model.evaluate([A, B], y, verbose=0)
    assert accuracy >= 0.95
    by_name = model.predict({"image": A, "meta": B}, verbose=0)
    assert np.array_equal(by_name, model.predict([A, B], verbose=0))
    model.save(tmp_path / "two.glassnet")
    loaded = gn.load_model(tmp_path / "two.glassnet")
    assert type(loaded) is gn.Model and loaded.get_config() == model.get_config()
    assert np.array_equal(loaded.predict([A, B], verbose=0), by_name)
    loaded.fit([A, B], y, epochs=1, verbose=0)              # and it trains on
    assert [layer.name for layer in loaded.layers] == ["image", "meta", "dense", "dense_1",
                                                        "concatenate", "dense_2"]


def test_summary_and_trace_show_each_layers_inputs_and_shapes():
    model = _two_inputs()
    summary = model.summary(print_fn=None)
    text = str(summary)
    assert "Inputs" in summary.sections[0].columns
    assert "concatenate: Concatenate(axis=-1)" in text and "dense, dense_1" in text
    assert summary.data["params"]["total"] == 4 * 8 + 8 + 3 * 8 + 8 + 16 * 2 + 2
    rows = {r["name"]: r for r in summary.data["layers"]}
    assert rows["concatenate"]["input_shape"] == [[None, 8], [None, 8]]
    assert rows["concatenate"]["output_shape"] == [None, 16]
    trace = model.trace(batch_size=32, backward=True)
    words = " ".join(str(trace).split())
    assert "image: input image (32, 4) the data" in words
    assert "concatenate: Concatenate(axis=-1) <- dense, dense_1" in words
    assert "Y = concatenate([X1, X2], axis=-1) (32, 8), (32, 8) -> (32, 16)" in words
    assert "dXi = dY's slice of Xi" in words
    assert "gradient is the sum of the gradients they send back" in words
    explained = str(model.explain([np.ones(4), np.ones(3)]))
    assert "[4] dense_2: Dense(2, softmax) <- concatenate" in explained
    assert "one-hot argmax" in explained


def test_a_skip_connection_equals_the_same_network_written_with_residual():
    x = gn.Input((5,))
    h = gn.LayerNorm()(x)
    h = gn.Dense(7, activation="tanh")(h)
    h = gn.Dense(5)(h)
    y = gn.Dense(3, activation="softmax")(gn.Add()([x, h]))
    graph = gn.Model(x, y, dtype="float64")
    chain = gn.Sequential([gn.Residual([gn.LayerNorm(), gn.Dense(7, activation="tanh"),
                                        gn.Dense(5)]), gn.Dense(3, activation="softmax")],
                          input_shape=(5,), dtype="float64")
    chain.set_weights(graph.get_weights())
    X = np.random.default_rng(0).normal(size=(20, 5))
    labels = np.arange(20) % 3
    np.testing.assert_allclose(graph.predict(X, verbose=0), chain.predict(X, verbose=0),
                               rtol=1e-12)
    for model in (graph, chain):
        model.compile(gn.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        model.train_on_batch(X, labels)                      # gradients flow both ways
    for a, b in zip(graph.get_weights(), chain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_a_value_read_by_two_layers_gets_both_gradients():
    """y = Dense(x) * x: x feeds the Dense and the Multiply; check against differences."""
    x = gn.Input((3,))
    y = gn.Dense(1)(gn.Multiply()([gn.Dense(3, activation="tanh")(x), x]))
    model = gn.Model(x, y, dtype="float64")
    model.compile(gn.optimizers.SGD(0.1), "mse")
    X = np.random.default_rng(1).normal(size=(4, 3))
    T = np.random.default_rng(2).normal(size=(4, 1))
    before = model.build().flat_params.copy()
    model.train_on_batch(X, T)                  # the gradients of the weights before the step
    analytic = model.flat_grads.copy()
    model.flat_params[:] = before

    def loss():
        return model.evaluate(X, T, verbose=0)
    from glassnet.inspect.check import numeric_gradient
    numeric = numeric_gradient(loss, model.flat_params)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_graph_mistakes_are_refused_with_the_fix():
    x = gn.Input((4,))
    dense = gn.Dense(4)
    with pytest.raises(ValueError, match=r"called more than once. Shared layers are not "
                                         r"supported"):
        gn.Model(x, gn.Add()([dense(x), dense(x)]))
    other = gn.Input((4,))
    with pytest.raises(ValueError, match=r"depends on an input that is not among inputs"):
        gn.Model(x, gn.Add()([x, other]))
    with pytest.raises(ValueError, match=r"is not used to compute the output"):
        gn.Model([x, other], gn.Dense(2)(x))
    with pytest.raises(ValueError, match=r"glassnet models have one output, got 2"):
        gn.Model(x, [gn.Dense(2)(x), gn.Dense(3)(x)])
    with pytest.raises(gn.ShapeError, match=r"Add\(\) needs inputs of one shape, got "
                                            r"\(batch, 4\), \(batch, 3\)"):
        gn.Add()([x, gn.Dense(3)(x)])
    with pytest.raises(TypeError, match=r"combines several inputs; a Sequential is a chain"):
        gn.Sequential([gn.Add()])
    with pytest.raises(TypeError, match=r"takes one input; it was called on a list of 2"):
        gn.Dense(3)([x, other])
    model = _two_inputs()
    with pytest.raises(ValueError, match=r"the model has 2 inputs \(image, meta\); pass a list "
                                         r"of 2 arrays"):
        model.predict(np.zeros((2, 4)))


def test_input_first_in_a_sequential_and_layers_called_on_arrays():
    model = gn.Sequential([gn.Input((6,)), gn.Dense(2)])
    assert model.count_params() == 14 and model.input_shape == (None, 6)
    layer = gn.Dense(3, activation="relu")
    Y = layer(np.ones((2, 4), np.float32))                  # built on first use
    assert Y.shape == (2, 3) and layer.params["W"].shape == (4, 3)
    expected = np.maximum(np.ones((2, 4), np.float32) @ layer.params["W"], 0)
    np.testing.assert_allclose(Y, expected, rtol=1e-6)
