"""glassnet against real Keras 3 (the torch backend): for every layer type both have, the
same parameter count, the same output shape, and the same outputs after
``set_weights(keras_model.get_weights())``, to 1e-5 in float32. Then Keras's habits, with
Keras itself as the reference where it can be: fit's positional order, evaluate's return
value, class and sample weights."""
import os
import warnings

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
import keras  # noqa: E402

import glassnet as gn  # noqa: E402

L = keras.layers


def test_keras_is_3_on_torch():
    assert keras.__version__.startswith("3.") and keras.backend.backend() == "torch"


# name -> (Keras layer factory, glassnet layer factory, sample shape, integer inputs below)
CASES = {
    "dense_relu": (lambda: L.Dense(5, activation="relu"),
                   lambda: gn.Dense(5, activation="relu"), (4,), None),
    "dense_per_position": (lambda: L.Dense(5, activation="tanh"),
                           lambda: gn.Dense(5, activation="tanh"), (3, 4), None),
    "dense_no_bias_leaky": (lambda: L.Dense(3, activation="leaky_relu", use_bias=False),
                            lambda: gn.Dense(3, activation="leaky_relu", use_bias=False),
                            (4,), None),
    "dense_softmax": (lambda: L.Dense(4, activation="softmax"),
                      lambda: gn.Dense(4, activation="softmax"), (6,), None),
    "dense_gelu_sigmoid": (lambda: L.Dense(4, activation="gelu"),
                           lambda: gn.Dense(4, activation="gelu"), (6,), None),
    "activation_sigmoid": (lambda: L.Activation("sigmoid"),
                           lambda: gn.Activation("sigmoid"), (5,), None),
    "leaky_relu_layer": (lambda: L.LeakyReLU(), lambda: gn.LeakyReLU(), (5,), None),
    "dropout": (lambda: L.Dropout(0.5), lambda: gn.Dropout(0.5), (5,), None),
    "batchnorm": (lambda: L.BatchNormalization(), lambda: gn.BatchNormalization(), (4,),
                  None),
    "batchnorm_sequence": (lambda: L.BatchNormalization(momentum=0.9, epsilon=1e-5),
                           lambda: gn.BatchNorm(momentum=0.9, epsilon=1e-5), (5, 4), None),
    "batchnorm_image": (lambda: L.BatchNormalization(), lambda: gn.BatchNorm(), (4, 4, 3),
                        None),
    "flatten": (lambda: L.Flatten(), lambda: gn.Flatten(), (3, 2, 2), None),
    "conv2d_valid": (lambda: L.Conv2D(4, 3, activation="relu"),
                     lambda: gn.Conv2D(4, 3, activation="relu"), (7, 6, 2), None),
    "conv2d_same_stride": (lambda: L.Conv2D(3, (2, 3), strides=2, padding="same"),
                           lambda: gn.Conv2D(3, (2, 3), strides=2, padding="same"),
                           (7, 7, 2), None),
    "conv2d_dilated_no_bias": (lambda: L.Conv2D(2, 3, dilation_rate=2, use_bias=False),
                               lambda: gn.Conv2D(2, 3, dilation_rate=2, use_bias=False),
                               (8, 7, 3), None),
    "conv1d_valid": (lambda: L.Conv1D(4, 3, strides=2), lambda: gn.Conv1D(4, 3, strides=2),
                     (9, 3), None),
    "conv1d_same": (lambda: L.Conv1D(3, 4, padding="same"),
                    lambda: gn.Conv1D(3, 4, padding="same"), (8, 2), None),
    "conv1d_causal_dilated": (lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2),
                              lambda: gn.Conv1D(3, 3, padding="causal", dilation_rate=2),
                              (8, 2), None),
    "maxpool": (lambda: L.MaxPooling2D(2), lambda: gn.MaxPooling2D(2), (6, 5, 2), None),
    "maxpool_same": (lambda: L.MaxPooling2D(3, strides=2, padding="same"),
                     lambda: gn.MaxPool2D(3, strides=2, padding="same"), (5, 6, 2), None),
    "avgpool": (lambda: L.AveragePooling2D(2), lambda: gn.AveragePooling2D(2), (6, 4, 2),
                None),
    "avgpool_same": (lambda: L.AveragePooling2D(2, padding="same"),
                     lambda: gn.AvgPool2D(2, padding="same"), (5, 5, 3), None),
    "global_avgpool_2d": (lambda: L.GlobalAveragePooling2D(),
                          lambda: gn.GlobalAveragePooling2D(), (3, 4, 5), None),
    "global_avgpool_1d": (lambda: L.GlobalAveragePooling1D(),
                          lambda: gn.GlobalAveragePooling1D(), (6, 5), None),
    "simple_rnn": (lambda: L.SimpleRNN(4), lambda: gn.SimpleRNN(4), (5, 3), None),
    "lstm_sequences": (lambda: L.LSTM(4, return_sequences=True),
                       lambda: gn.LSTM(4, return_sequences=True), (5, 3), None),
    "gru": (lambda: L.GRU(4), lambda: gn.GRU(4), (5, 3), None),
    "gru_reset_before": (lambda: L.GRU(4, reset_after=False, return_sequences=True),
                         lambda: gn.GRU(4, reset_after=False, return_sequences=True),
                         (5, 3), None),
    "embedding": (lambda: L.Embedding(9, 4), lambda: gn.Embedding(9, 4), (6,), 9),
    "layernorm": (lambda: L.LayerNormalization(), lambda: gn.LayerNormalization(), (4, 6),
                  None),
}


def _keras_weights(model, rng):
    """Random weights in Keras's own layouts (positive where a variance is stored)."""
    return [rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in v.path else
            (0.5 * rng.normal(size=w.shape)).astype("float32")
            for w, v in zip(model.get_weights(), model.weights)]


def _inputs(shape, high, rng, n=4):
    if high:
        return rng.integers(0, high, (n, *shape))
    return rng.normal(size=(n, *shape)).astype("float32")


def _compare(keras_model, model, X, rng):
    keras_model.set_weights(_keras_weights(keras_model, rng))
    model.set_weights(keras_model.get_weights())              # Keras's arrays, as they are
    assert model.count_params() == keras_model.count_params()
    assert tuple(model.output_shape) == tuple(keras_model.output_shape)
    expected = np.asarray(keras_model.predict(X, verbose=0))
    actual = model.predict(X, verbose=0)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_keras(name):
    make_keras, make_gn, shape, high = CASES[name]
    rng = np.random.default_rng(0)
    keras_model = keras.Sequential([keras.Input(shape, dtype="int32" if high else "float32"),
                                    make_keras()])
    model = gn.Sequential([make_gn()], input_shape=shape)
    _compare(keras_model, model, _inputs(shape, high, rng), rng)


@pytest.mark.parametrize("use_bias, causal", [(True, False), (False, True)])
def test_multi_head_attention_takes_keras_weights(use_bias, causal):
    x = keras.Input((5, 6))
    keras_model = keras.Model(x, L.MultiHeadAttention(2, 3, use_bias=use_bias)(
        x, x, use_causal_mask=causal))
    model = gn.Sequential([gn.MultiHeadAttention(2, 3, use_bias=use_bias, causal=causal)],
                          input_shape=(5, 6))
    assert [w.shape for w in model.get_weights()] == [w.shape for w in
                                                      keras_model.get_weights()]
    rng = np.random.default_rng(1)
    _compare(keras_model, model, _inputs((5, 6), None, rng), rng)


def test_residual_with_batchnorm_takes_keras_weights_in_per_layer_order():
    """Keras lists gamma, beta, moving mean and variance, then the Dense kernel and bias;
    a Residual holding BatchNorm before Dense takes them in that order."""
    x = keras.Input((4,))
    keras_model = keras.Model(x, L.Add()([x, L.Dense(4)(L.BatchNormalization()(x))]))
    model = gn.Sequential([gn.Residual([gn.BatchNorm(), gn.Dense(4)])], input_shape=(4,))
    rng = np.random.default_rng(2)
    _compare(keras_model, model, _inputs((4,), None, rng), rng)


def test_functional_graph_matches_keras():
    """Two inputs, a skip connection, every merge layer: the same graph in both."""
    def graph(lib, a, b):
        h = lib.Dense(4, activation="tanh")(a)
        s = lib.Add()([a, h])                                   # skip connection
        m = lib.Multiply()([s, lib.Dense(4)(b)])
        d = lib.Subtract()([m, lib.Average()([s, h])])
        return lib.Dense(3, activation="softmax")(lib.Concatenate()([d, b]))
    ka, kb = keras.Input((4,)), keras.Input((2,))
    keras_model = keras.Model([ka, kb], graph(L, ka, kb))
    a, b = gn.Input((4,)), gn.Input((2,))
    model = gn.Model([a, b], graph(gn, a, b))
    rng = np.random.default_rng(3)
    _compare(keras_model, model, [_inputs((4,), None, rng), _inputs((2,), None, rng)], rng)


# --- Keras's habits --------------------------------------------------------------------
def _pair(loss="sparse_categorical_crossentropy", metrics=("accuracy",), lr=0.1):
    """The same softmax classifier in Keras and glassnet, same weights, plain SGD."""
    rng = np.random.default_rng(4)
    keras_model = keras.Sequential([keras.Input((3,)), L.Dense(4, activation="tanh"),
                                    L.Dense(3, activation="softmax")])
    keras_model.compile(keras.optimizers.SGD(lr), loss, metrics=list(metrics))
    keras_model.set_weights(_keras_weights(keras_model, rng))
    model = gn.Sequential([gn.Dense(4, activation="tanh"), gn.Dense(3, activation="softmax")],
                          input_shape=(3,))
    model.compile(gn.optimizers.SGD(lr), loss, metrics=list(metrics))
    model.set_weights(keras_model.get_weights())
    X = rng.normal(size=(24, 3)).astype("float32")
    y = rng.integers(0, 3, 24)
    return keras_model, model, X, y


def test_evaluate_returns_what_keras_returns():
    keras_model, model, X, y = _pair()
    expected = keras_model.evaluate(X, y, verbose=0)
    got = model.evaluate(X, y, verbose=0)
    assert isinstance(expected, list) and isinstance(got, list) and len(got) == 2
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    loss, accuracy = model.evaluate(X, y, verbose=0)                  # unpacks as in Keras
    assert model.evaluate(X, y, verbose=0, return_dict=True) == {"loss": loss,
                                                                 "accuracy": accuracy}
    bare_keras, bare, X, y = _pair(metrics=())
    assert isinstance(bare.evaluate(X, y, verbose=0), float)          # no metrics: a number
    np.testing.assert_allclose(bare.evaluate(X, y, verbose=0),
                               bare_keras.evaluate(X, y, verbose=0), rtol=1e-5)


def test_sample_weights_weigh_the_loss_as_keras_does():
    keras_model, model, X, y = _pair()
    w = np.random.default_rng(5).uniform(0, 3, len(X))
    expected = keras_model.evaluate(X, y, sample_weight=w, batch_size=len(X), verbose=0)[0]
    assert abs(model.evaluate(X, y, sample_weight=w, verbose=0)[0] - expected) < 1e-5
    keras_model.fit(X, y, batch_size=8, epochs=2, shuffle=False, sample_weight=w, verbose=0)
    model.fit(X, y, 8, 2, 0, shuffle=False, sample_weight=w)
    for a, b in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_class_weights_train_as_in_keras():
    keras_model, model, X, y = _pair()
    weights = {0: 1.0, 1: 4.0}                                   # class 2 keeps weight 1
    keras_model.fit(X, y, batch_size=6, epochs=3, shuffle=False, class_weight=weights,
                    verbose=0)
    model.fit(X, y, batch_size=6, epochs=3, shuffle=False, class_weight=weights, verbose=0)
    for a, b in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"give class_weight or sample_weight, not both"):
        model.fit(X, y, class_weight=weights, sample_weight=np.ones(len(X)), verbose=0)


def test_fit_takes_keras_positional_order():
    """fit(x, y, batch_size, epochs, verbose): 32 is the batch size, 10 the epochs."""
    keras_model, model, X, y = _pair()
    X, y = np.tile(X, (4, 1)), np.tile(y, 4)                    # 96 samples: 3 batches of 32
    seen = []
    probe = gn.LambdaCallback(on_train_begin=lambda logs: seen.append(dict(probe.params)))
    history = model.fit(X, y, 32, 10, 0, [probe])
    assert len(history.epoch) == 10
    assert seen[0]["steps"] == 3 and seen[0]["batch_size"] == 32 and seen[0]["epochs"] == 10
    keras_history = keras_model.fit(X, y, 32, 10, 0)
    assert len(keras_history.epoch) == len(history.epoch)


def test_reduce_lr_on_plateau_follows_keras():
    keras_model, model, X, y = _pair()
    make = {"monitor": "loss", "factor": 0.5, "patience": 1, "min_delta": 0.05}
    expected = keras_model.fit(X, y, epochs=6, verbose=0, shuffle=False, callbacks=[
        keras.callbacks.ReduceLROnPlateau(**make)]).history["learning_rate"]
    got = model.fit(X, y, epochs=6, verbose=0, shuffle=False, callbacks=[
        gn.ReduceLROnPlateau(**make)]).history["learning_rate"]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got[-1] < got[0]


# --- glassnet -> .keras -> Keras 3 ---------------------------------------------------------
def _random_gn_weights(model, rng):
    model.set_weights([rng.uniform(0.5, 1.5, w.shape) if k == "running_var" else
                       0.5 * rng.normal(size=w.shape) for w, (_, _, k) in
                       zip(model.get_weights(), model.weight_slots())])


def _keras_reads(model, X, tmp_path, rng):
    """Save ``model`` as .keras, load it with Keras 3: the same outputs, parameters and
    names; and load_keras reads it back (checked against Keras) to the same weights."""
    _random_gn_weights(model, rng)
    path = model.save(tmp_path / "m.keras")
    read = keras.saving.load_model(path)
    assert read.count_params() == model.count_params()
    np.testing.assert_allclose(np.asarray(read.predict(X, verbose=0)),
                               model.predict(X, verbose=0), rtol=1e-5, atol=1e-5)
    back = gn.load_keras(path)                                   # verified against Keras
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    return read


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_shared_layer_saves_to_a_file_keras_loads(name, tmp_path):
    _, make_gn, shape, high = CASES[name]
    rng = np.random.default_rng(7)
    model = gn.Sequential([make_gn()], input_shape=shape)
    _keras_reads(model, _inputs(shape, high, rng), tmp_path, rng)


def test_graphs_attention_and_the_compile_configuration_reach_keras(tmp_path):
    """Parallel layers of the same shape (Keras's own layer order decides which weights
    are whose), causal self-attention, merges, a frozen layer and the compile settings."""
    x, side = gn.Input((5, 4), name="tokens"), gn.Input((3,), name="side")
    h = gn.LayerNorm()(gn.Add()([x, gn.MultiHeadAttention(2, 3, causal=True)(x)]))
    pooled = gn.GlobalAveragePooling1D()(h)
    a, b = gn.Dense(3, activation="relu")(pooled), gn.Dense(3, name="frozen")(side)
    out = gn.Dense(2, activation="softmax")(gn.Concatenate()([gn.Subtract()([a, b]), b]))
    model = gn.Model([x, side], out)
    model.get_layer("frozen").trainable = False
    model.compile(gn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(8)
    X = [rng.normal(size=(4, 5, 4)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Skipping variable loading")   # the state loads
        read = _keras_reads(model, X, tmp_path, rng)
    assert read.get_layer("frozen").trainable is False
    assert type(read.optimizer).__name__ == "SGD" and read.optimizer.nesterov
    assert float(read.optimizer.learning_rate) == pytest.approx(0.05)
    y = rng.integers(0, 2, 4)
    np.testing.assert_allclose(read.evaluate(X, y, verbose=0), model.evaluate(X, y, verbose=0),
                               rtol=1e-5)


@pytest.mark.parametrize("optimizer, tolerance", [
    (lambda: gn.optimizers.SGD(0.05, momentum=0.9, nesterov=True), 1e-6),
    (lambda: gn.optimizers.Adam(0.01), 2e-5)])     # Keras adds Adam's epsilon after sqrt(v)
def test_keras_continues_training_from_the_saved_optimizer_state(tmp_path, optimizer,
                                                                tolerance):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(64, 5)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    model = gn.Sequential([gn.Dense(8, activation="tanh"), gn.Dense(2, activation="softmax")],
                          input_shape=(5,), seed=1)
    model.compile(optimizer(), "sparse_categorical_crossentropy")
    model.fit(X, y, 16, 2, 0, shuffle=False)
    read = keras.saving.load_model(model.save(tmp_path / "m.keras"))
    assert int(read.optimizer.iterations) == model.optimizer.iterations == 8
    model.fit(X, y, 16, 1, 0, shuffle=False)
    read.fit(X, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), read.get_weights()):
        np.testing.assert_allclose(a, b, atol=tolerance)


@pytest.mark.parametrize("optimizer, tolerance", [
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9), 1e-6),
    (lambda: keras.optimizers.Adam(0.01), 2e-5)])
def test_glassnet_continues_training_from_a_keras_files_optimizer_state(tmp_path, optimizer,
                                                                        tolerance):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(64, 5)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    original = keras.Sequential([keras.Input((5,)), L.Dense(8, activation="tanh"),
                                 L.Dense(2, activation="softmax")])
    original.compile(optimizer(), "sparse_categorical_crossentropy")
    original.fit(X, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    original.save(tmp_path / "m.keras")
    model = gn.load_keras(tmp_path / "m.keras")
    assert model.optimizer.iterations == 8 and model.optimizer.state
    original.fit(X, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    model.fit(X, y, 16, 1, 0, shuffle=False)
    for a, b in zip(model.get_weights(), original.get_weights()):
        np.testing.assert_allclose(a, b, atol=tolerance)


def test_what_keras_cannot_hold_is_refused_by_name(tmp_path):
    block = gn.Sequential([gn.Residual([gn.Dense(4)])], input_shape=(4,))
    with pytest.raises(TypeError, match=r"save \(.keras\): Residual.* has no Keras 3 form"):
        block.save(tmp_path / "r.keras")
    leaky = gn.Sequential([gn.Dense(3, activation="leaky_relu", alpha=0.3)], input_shape=(2,))
    with pytest.raises(ValueError, match=r"layer 'dense' uses leaky_relu with alpha=0.3"):
        leaky.save(tmp_path / "l.keras")
    decayed = gn.Sequential([gn.Dense(3)], input_shape=(2,))
    decayed.compile(gn.optimizers.Adam(weight_decay=0.01), "mse")
    with pytest.raises(ValueError, match=r"Adam\(weight_decay=0.01\) adds an L2 term"):
        decayed.save(tmp_path / "d.keras")
    assert not list(tmp_path.iterdir())                      # nothing half-written


def test_save_weights_and_load_weights_are_keras_3_files_both_ways(tmp_path):
    """model.save_weights("x.weights.h5") writes Keras 3's layout: Keras's load_weights
    reads it into the same architecture, and glassnet's load_weights reads Keras's."""
    def glassnet_model(seed):
        return gn.Sequential([gn.Dense(4, activation="relu", input_dim=3), gn.BatchNorm(),
                              gn.Dense(2)], seed=seed)
    ours = glassnet_model(0)
    path = ours.save_weights(tmp_path / "ours.weights.h5")
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                               keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    theirs.load_weights(path)
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(theirs.predict(X, verbose=0), ours.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    theirs.set_weights([w * 1.5 for w in theirs.get_weights()])
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    again = glassnet_model(7).load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_allclose(again.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"must end in .weights.h5, as Keras 3 requires"):
        ours.save_weights(tmp_path / "w.glassnet")
    other = gn.Sequential([gn.Dense(5, input_dim=3), gn.Dense(2)])
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"^load_weights: cannot read .*layers/dense/vars/0 has "
                                         r"shape \(3, 4\); the layer needs \(3, 5\)"):
        other.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))
    (tmp_path / "bad.weights.h5").write_bytes(b"not HDF5" * 8)
    with pytest.raises(ValueError, match=r"^load_weights: cannot read .*bad.weights.h5'?: its "
                                         r"HDF5 content is not a readable HDF5 file"):
        other.load_weights(tmp_path / "bad.weights.h5")
