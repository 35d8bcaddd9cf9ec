import numpy as np
import pytest

import glassnet as gn
from cases import INTEGER_INPUTS, LAYER_CASES, built, sample_input
from gradcheck import assert_close


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_gradients_match_finite_differences(name):
    """The public gradient check, gn.check_layer, on every registered layer: float64,
    random parameters, state, input and upstream gradient; dX and every parameter."""
    factory, in_shape, training = LAYER_CASES[name]
    report = gn.check_layer(factory(), in_shape[1:], batch_size=in_shape[0],
                            training=training, seed=1)
    assert report.ok, report.to_text()
    checked = [row[0] for row in report.sections[0].rows]
    layer = factory()
    expected = [f"d{k}" for k in layer.build((None, *in_shape[1:]), np.random.default_rng(0),
                                             np.float64) and layer.params]
    assert checked[0] == "output" and checked[1:] == \
        ([] if name in INTEGER_INPUTS else ["dX"]) + expected


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_output_shape_needs_no_data(name):
    layer, in_shape, training = built(name)
    X = sample_input(name, in_shape, np.random.default_rng(0))
    symbolic = layer.output_shape((None, *in_shape[1:]))
    assert (None, *layer.forward(X, training).shape[1:]) == symbolic


def test_dense_is_x_at_w_plus_b_on_the_batch():
    layer = gn.Dense(2, input_dim=3)
    layer.build((None, 3), np.random.default_rng(0), np.float64)
    layer.params["W"][...] = [[1, 4], [2, 5], [3, 6]]        # columns: w1..w3 and w4..w6
    layer.params["b"][...] = [0.5, -1]
    X = np.array([[1.0, 0, 0], [0, 1, 0], [1, 1, 1], [2, 0, 1]])   # a batch of 4 (seed 001)
    Y = layer.forward(X)
    # h1 = x1 w1 + x2 w2 + x3 w3 + b1, h2 = x1 w4 + x2 w5 + x3 w6 + b2, for each row
    assert Y.tolist() == [[1.5, 3], [2.5, 4], [6.5, 14], [5.5, 13]]
    dY = np.array([[1.0, 0], [0, 1], [1, 1], [0, 2]])
    dX = layer.backward(dY)
    assert layer.grads["W"].tolist() == (X.T @ dY).tolist()
    assert layer.grads["b"].tolist() == [2, 4]
    assert dX.tolist() == (dY @ layer.params["W"].T).tolist()


def test_seed_parameter_counts():
    assert gn.Dense(2, input_dim=3, activation="softmax").count_params() == 8
    model = gn.Sequential([gn.Dense(8, activation="relu", input_dim=4),
                           gn.Dense(8, activation="relu"),
                           gn.Dense(3, activation="softmax")])
    assert [layer.count_params(shape) for layer, shape in
            zip(model.layers, model.trace_shapes())] == [40, 72, 27]
    assert model.count_params() == 139
    assert model.trace_shapes(batch=1) == [(1, 4), (1, 8), (1, 8), (1, 3)]


def test_seed_003_softmax_table():
    Z = np.array([[1, 2, 0], [-1, 0, 1], [-10, 0, 10]], dtype=np.float64)
    expected = [[2.44728471e-01, 6.65240956e-01, 9.00305732e-02],
                [9.00305732e-02, 2.44728471e-01, 6.65240956e-01],
                [2.06106005e-09, 4.53978686e-05, 9.99954600e-01]]
    np.testing.assert_allclose(gn.softmax(Z), expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(gn.Activation("softmax").forward(Z), expected, rtol=0, atol=1e-8)
    assert gn.softmax(Z).argmax(axis=1).tolist() == [1, 2, 2]     # the one-hot argmax


def test_sigmoid_and_softmax_are_stable_at_extremes():
    import warnings
    X = np.array([[-1000.0, 1000.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = gn.Activation("sigmoid").forward(X)
        P = gn.softmax(np.array([[1e4, -1e4, 0.0]]))
    assert Y.tolist() == [[0.0, 1.0, 0.5]]
    assert P.tolist() == [[1.0, 0.0, 0.0]]


def test_dropout_masks_are_seeded_inverted_and_off_at_inference():
    X = np.ones((1000, 50))
    layer = gn.Dropout(0.25, seed=7)
    Y = layer.forward(X, training=True)
    assert set(np.unique(Y)) == {0.0, 1 / 0.75}
    assert abs((Y == 0).mean() - 0.25) < 0.01
    assert abs(Y.mean() - 1.0) < 0.02                       # expectation preserved
    assert np.array_equal(layer.backward(np.ones_like(X)), layer.cache["mask"])
    assert np.array_equal(gn.Dropout(0.25, seed=7).forward(X, training=True), Y)
    assert layer.forward(X, training=False) is X


def test_batchnorm_counts_as_keras_and_uses_running_statistics():
    model = gn.Sequential([gn.Dense(4, input_dim=3), gn.BatchNorm()])
    assert model.param_counts() == (16 + 8, 8)              # gamma, beta | running mean, var
    layer = gn.BatchNorm(momentum=0.5)
    layer.build((None, 2), None, np.float64)
    X = np.array([[1.0, 2.0], [3.0, 6.0]])
    layer.forward(X, training=True)
    assert layer.state["running_mean"].tolist() == [1.0, 2.0]          # 0.5*0 + 0.5*mean
    assert layer.state["running_var"].tolist() == [0.5 + 0.5 * 2.0, 0.5 + 0.5 * 8.0]
    Y = layer.forward(X, training=False)
    expected = (X - [1.0, 2.0]) / np.sqrt(np.array([1.5, 4.5]) + 1e-3)
    np.testing.assert_allclose(Y, expected)


def test_flatten_reshapes_each_sample():
    X = np.arange(24.0).reshape(2, 3, 4)
    layer = gn.Flatten()
    assert layer.forward(X).shape == (2, 12)
    assert layer.output_shape((None, 3, 4)) == (None, 12)
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 4)


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                  "lecun_uniform", "lecun_normal"])
def test_initializers_have_the_variance_their_rule_gives(name):
    fan_in, fan_out = 400, 300
    W = gn.initializers.get(name)((fan_in, fan_out), np.random.default_rng(0), np.float64)
    target = {"glorot": 2 / (fan_in + fan_out), "he": 2 / fan_in, "lecun": 1 / fan_in}
    expected = target[name.split("_")[0]]
    assert abs(W.var() / expected - 1) < 0.03
    if name.endswith("normal"):
        assert np.abs(W).max() <= 2 * np.sqrt(expected) / 0.87962566103423978 + 1e-12
    else:
        assert np.abs(W).max() <= np.sqrt(3 * expected)


def test_default_initialisation_is_keras_and_seeded():
    a = gn.Sequential([gn.Dense(3, input_dim=2)], seed=5).build()
    b = gn.Sequential([gn.Dense(3, input_dim=2)], seed=5).build()
    c = gn.Sequential([gn.Dense(3, input_dim=2)], seed=6).build()
    assert np.array_equal(a.get_weights()[0], b.get_weights()[0])
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    assert np.abs(a.get_weights()[0]).max() <= np.sqrt(6 / 5)       # glorot uniform limit
    assert a.get_weights()[1].tolist() == [0, 0, 0]                  # zero bias


@pytest.mark.parametrize("make, message", [
    (lambda: gn.Dense(0), r"Dense: units must be a positive whole number, got 0"),
    (lambda: gn.Dense(-3), r"units must be a positive whole number, got -3"),
    (lambda: gn.Dense(2.5), r"Dense: units must be a whole number, got 2.5"),
    (lambda: gn.Dense(4, activation="relux"), r"unknown activation 'relux'. Use one of"),
    (lambda: gn.Dense(4, kernel_initializer="magic"), r"Dense\(4\): unknown initializer 'magic'"),
    (lambda: gn.Dropout(1.0), r"Dropout: rate must be a number in \[0, 1\).*got 1.0"),
    (lambda: gn.Dropout(-0.1), r"Dropout: rate must be a number in \[0, 1\).*got -0.1"),
    (lambda: gn.BatchNorm(momentum=1.5), r"BatchNorm: momentum must be in \[0, 1\)"),
])
def test_invalid_layer_hyperparameters_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_standalone_dense_names_itself_on_a_wrong_width():
    layer = gn.Dense(10)
    layer.build((None, 784), np.random.default_rng(0))
    with pytest.raises(gn.ShapeError, match=r"Dense\(10\) expects inputs of shape \(batch, 784\) "
                                            r"but received \(2, 100\)"):
        layer.forward(np.zeros((2, 100), np.float32))


def test_batchnorm_refuses_a_single_sample_in_training():
    layer = gn.BatchNorm()
    layer.build((None, 3), None)
    with pytest.raises(ValueError, match=r"BatchNorm\(\) needs at least 2 samples per batch "
                                         r"while training \(got 1\).*larger batch_size"):
        layer.forward(np.zeros((1, 3), np.float32), training=True)


@pytest.mark.parametrize("batch", [1, 2])
def test_dense_weight_gradient_at_tiny_batches(batch):
    """Batch 1 takes the outer-product path for dW; it must equal X.T @ dZ."""
    layer, _, _ = built("dense_tanh")
    rng = np.random.default_rng(batch)
    X, G = rng.normal(size=(batch, 4)), rng.normal(size=(batch, 5))
    Y = layer.forward(X, training=True)
    layer.backward(G)
    dZ = G * (1 - Y * Y)
    assert_close(layer.grads["W"], X.T @ dZ, rtol=1e-12, atol=0, what="dW")


def test_conv_same_padding_puts_the_odd_zero_after_as_keras():
    layer = gn.Conv2D(1, (1, 2), padding="same", use_bias=False)
    layer.build((None, 1, 3, 1), np.random.default_rng(0), np.float64)
    layer.params["W"][...] = np.array([1.0, 10.0]).reshape(1, 2, 1, 1)
    Y = layer.forward(np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1))
    assert Y.ravel().tolist() == [21.0, 32.0, 3.0]          # zero appended on the right


def test_conv2d_is_one_matrix_product_over_patches():
    """A 3x3 image, 2x2 kernel: the four patches as rows, times the kernel as a column."""
    layer = gn.Conv2D(1, 2, use_bias=False)
    layer.build((None, 3, 3, 1), np.random.default_rng(0), np.float64)
    layer.params["W"][...] = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
    X = np.arange(9.0).reshape(1, 3, 3, 1)
    Y = layer.forward(X)
    P = layer.cache["P"]                            # what forward keeps for backward
    assert P.tolist() == [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]
    assert Y.ravel().tolist() == (P @ [1, 2, 3, 4]).tolist() == [27, 37, 57, 67]


def test_maxpool_routes_the_gradient_to_the_maximum():
    layer = gn.MaxPool2D(2)
    X = np.array([[1.0, 5.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    assert layer.forward(X).ravel().tolist() == [5.0]
    assert layer.backward(np.array([[[[7.0]]]])).ravel().tolist() == [0, 7, 0, 0]


@pytest.mark.parametrize("make, message", [
    (lambda: gn.Conv2D(0, 3), r"Conv2D: filters must be a positive whole number, got 0"),
    (lambda: gn.Conv2D(4, 0), r"Conv2D\(4\): kernel_size must be a positive whole number"),
    (lambda: gn.Conv2D(4, 3, padding="full"), r"Conv2D\(4\): padding must be one of valid, "
                                              r"same or a number of zeros per side"),
    (lambda: gn.AvgPool2D(2, padding="causal"), r"AvgPool2D\(2\): padding must be one of "
                                                r"valid, same"),
    (lambda: gn.Conv2D(4, 3, padding="causal"), r"Conv2D\(4\): padding must be one of valid, "
                                                r"same or"),
    (lambda: gn.Conv2D(4, (3, 3, 3)), r"kernel_size must be a number or a pair"),
])
def test_invalid_convolution_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_conv_shape_errors_name_the_layer():
    model = gn.Sequential([gn.Conv2D(4, 5)], input_shape=(3, 3, 1))
    with pytest.raises(gn.ShapeError, match=r"Conv2D\(4, 5x5\) at layer 1 cannot fit its 5x5 "
                                            r"window .* into an input of 3x3: the output would "
                                            r"be -1x-1. Use padding='same'"):
        model.build()
    with pytest.raises(gn.ShapeError, match=r"Conv2D\(4, 3x3\) at layer 1 expects inputs of "
                                            r"shape \(batch, height, width, channels\) "
                                            r"\(channels last\) but received \(batch, 64\)"):
        gn.Sequential([gn.Conv2D(4, 3)], input_shape=(64,)).build()


def test_conv_backward_is_fold_of_dz_times_w_transposed():
    """dX = fold(dZ @ W.T): the per-tap computation equals the plain col2im."""
    from glassnet.layers.conv import fold
    layer, in_shape, _ = built("conv2d_dilation_padding")
    rng = np.random.default_rng(4)
    X = rng.normal(size=in_shape)
    Y = layer.forward(X, training=True)
    dZ = rng.normal(size=Y.shape)
    W = layer.params["W"]
    dP = (dZ.reshape(-1, W.shape[3]) @ W.reshape(-1, W.shape[3]).T).reshape(
        *Y.shape[:3], *W.shape[:3])
    pads, padded_shape = layer.cache["pads"], layer.cache["padded_shape"]
    (top, bottom), (left, right) = pads
    dXp = fold(dP, padded_shape, layer.window.strides, layer.window.dilation)
    expected = dXp[:, top:dXp.shape[1] - bottom, left:dXp.shape[2] - right, :]
    actual = layer.window.unpatch_product(dZ, W, padded_shape, pads)
    assert_close(actual, expected, rtol=1e-12, atol=1e-12, what="dX")
