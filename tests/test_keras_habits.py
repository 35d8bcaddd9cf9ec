"""Keras's names mean Keras's semantics: freezing, names and get_layer, per-layer weights,
input_shape on the first layer, verbose, the callbacks and their hooks, and the messages
for Keras habits glassnet does not share."""
import contextlib
import io

import numpy as np
import pytest

import glassnet as gn

D = gn.datasets


def _model(seed=0, batchnorm=False):
    layers = [gn.Dense(8, activation="relu", input_shape=(2,), name="hidden")]
    if batchnorm:
        layers.append(gn.BatchNorm())
    layers.append(gn.Dense(2, activation="softmax", name="out"))
    model = gn.Sequential(layers, seed=seed)
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


# --- freezing ------------------------------------------------------------------------
def test_a_frozen_layer_keeps_its_weights_and_says_so(tmp_path):
    X, y = D.make_moons(100, seed=0)
    model = _model(batchnorm=True)
    model.build()
    frozen = model.get_layer("hidden")
    frozen.trainable = False
    before = frozen.get_weights()
    out_before = model.get_layer("out").get_weights()
    model.fit(X, y, epochs=3, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen.get_weights(), before))
    assert not np.array_equal(model.get_layer("out").get_weights()[0], out_before[0])
    summary = model.summary(print_fn=None)
    assert summary.data["params"]["trainable"] == 2 * 8 + (8 * 2 + 2) and \
        summary.data["params"]["non_trainable"] == (2 * 8 + 8) + 2 * 8   # hidden + BN state
    assert "Dense(8, relu) [frozen]" in str(summary)
    assert model.flat_params.size == summary.data["params"]["trainable"]
    model.save(tmp_path / "frozen.glassnet")
    loaded = gn.load_model(tmp_path / "frozen.glassnet")
    assert loaded.get_layer("hidden").trainable is False
    loaded.fit(X, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_layer("hidden").get_weights(),
                                                    before))
    frozen.trainable = True                                    # and back: it trains again
    model.fit(X, y, epochs=1, verbose=0)
    assert not np.array_equal(frozen.get_weights()[0], before[0])


def test_frozen_batchnorm_runs_in_inference_mode_as_in_keras():
    X = np.random.default_rng(0).normal(2.0, 3.0, size=(64, 2))
    model = _model(batchnorm=True)
    model.build()
    norm = model.layers[1]
    norm.trainable = False
    state = [a.copy() for a in norm.state.values()]
    model.fit(X, (X[:, 0] > 2).astype(int), epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(norm.state.values(), state))
    H = model.layers[0].forward(X.astype(np.float32))
    np.testing.assert_allclose(norm.forward(H, training=True),
                               norm.forward(H, training=False))


def test_model_trainable_false_freezes_every_layer():
    X, y = D.make_moons(60, seed=1)
    model = _model()
    model.build()
    weights = model.get_weights()
    model.trainable = False
    assert model.param_counts() == (0, 2 * 8 + 8 + 8 * 2 + 2)
    model.fit(X, y, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))


# --- names, weights, input_shape ---------------------------------------------------------
def test_layers_get_keras_names_and_get_layer_finds_them():
    model = gn.Sequential([gn.Dense(4, input_shape=(3,)), gn.Dense(4), gn.Dropout(0.1),
                           gn.Dense(2, name="head")])
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dropout", "head"]
    assert model.get_layer("head") is model.layers[3]
    assert model.get_layer(index=1) is model.layers[1]
    with pytest.raises(ValueError, match=r"no layer is named 'tail'. The layers are: "
                                         r"'dense', 'dense_1', 'dropout', 'head'"):
        model.get_layer("tail")
    with pytest.raises(ValueError, match=r"two layers are named 'x'"):
        gn.Sequential([gn.Dense(2, name="x"), gn.Dense(2, name="x")])


def test_layer_get_and_set_weights_check_before_writing():
    model = gn.Sequential([gn.Dense(3, input_shape=(2,)), gn.BatchNorm()])
    model.build()
    dense, norm = model.layers
    assert [w.shape for w in norm.get_weights()] == [(3,), (3,), (3,), (3,)]
    W, b = dense.get_weights()
    dense.set_weights([W + 1, b - 1])
    np.testing.assert_array_equal(dense.params["W"], W + 1)
    with pytest.raises(gn.ShapeError, match=r"set_weights: Dense\(3\) at layer 1 weight 'b' "
                                            r"has shape \(3,\) but received \(4,\)"):
        dense.set_weights([W, np.zeros(4)])
    np.testing.assert_array_equal(dense.params["W"], W + 1)     # nothing was written


def test_input_shape_on_the_first_layer_as_in_keras():
    model = gn.Sequential([gn.Conv2D(4, 3, input_shape=(8, 8, 1)), gn.Flatten(),
                           gn.Dense(2)])
    assert model.count_params() == 3 * 3 * 4 + 4 + 6 * 6 * 4 * 2 + 2
    assert gn.Sequential([gn.Embedding(50, 8, input_shape=(12,))]).trace_shapes() == \
        [(None, 12), (None, 12, 8)]


# --- training's Keras arguments ------------------------------------------------------------
def test_verbose_prints_as_keras_and_zero_is_silent(capsys):
    X, y = D.make_moons(64, seed=0)
    model = _model()
    model.fit(X, y, epochs=1, verbose=0)
    model.evaluate(X, y, verbose=0)
    model.predict(X, verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate(X, y)                                     # verbose="auto": one line
    line = capsys.readouterr().out.strip()
    assert line.startswith("2/2 - ") and "loss: " in line and "accuracy: " in line
    model.predict(X, batch_size=16)
    assert capsys.readouterr().out.startswith("4/4 - ")
    with pytest.raises(ValueError, match=r"verbose must be 0 \(silent\), 1 \(progress bar\), "
                                         r"2 \(one line per epoch\) or 'auto', got 3"):
        model.fit(X, y, verbose=3)


def test_train_on_batch_and_test_on_batch_return_what_keras_returns():
    X, y = D.make_moons(32, seed=0)
    model = _model()
    loss, accuracy = model.train_on_batch(X, y)
    assert 0 <= accuracy <= 1 and loss > 0
    assert set(model.test_on_batch(X, y, return_dict=True)) == {"loss", "accuracy"}
    assert model.predict_on_batch(X).shape == (32, 2)


def test_loss_weights_scale_the_loss_and_compile_refuses_metrics_in_their_place():
    X, y = D.make_moons(40, seed=0)
    model = _model()
    plain = model.evaluate(X, y, verbose=0)[0]
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy", 2.0,
                  metrics=["accuracy"])
    assert model.evaluate(X, y, verbose=0)[0] == pytest.approx(2 * plain)
    with pytest.raises(TypeError, match=r"loss_weights \(the third argument, as in Keras\) "
                                        r"must be a number.*metrics=\['accuracy'\]"):
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])


def test_keras_argument_names_that_glassnet_spells_otherwise():
    with pytest.raises(TypeError, match=r"Adam: no option 'lr'; Keras 3 and glassnet call it "
                                        r"learning_rate: Adam\(learning_rate=0.01\)"):
        gn.optimizers.Adam(lr=0.01)
    with pytest.raises(TypeError, match=r"SGD: no option 'decay'. Use a schedule"):
        gn.optimizers.SGD(decay=1e-4)
    assert gn.optimizers.Adam(learning_rate=0.01).learning_rate == 0.01


def test_saving_under_another_formats_suffix_is_refused(tmp_path):
    model = _model()
    for suffix in (".h5", ".pt", ".onnx"):                # .keras writes Keras's format
        with pytest.raises(ValueError, match=rf"ends in \{suffix}, which promises a .* file, "
                                             rf"but glassnet writes its own format.*"
                                             rf"m.glassnet"):
            model.save(tmp_path / f"m{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_a_convolution_fed_to_dense_without_flatten_says_add_flatten():
    model = gn.Sequential([gn.Conv2D(4, 3, input_shape=(8, 8, 1)), gn.Dense(10,
                                                                          activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    X = np.zeros((5, 8, 8, 1))
    with pytest.raises(gn.ShapeError, match=r"the model outputs \(batch, 6, 6, 10\) -- 10 class "
                                            r"scores at every one of 6 x 6 positions.*Add "
                                            r"Flatten\(\)"):
        model.fit(X, np.zeros(5, int), verbose=0)
    one_hot = gn.Sequential([gn.Conv2D(4, 3, input_shape=(8, 8, 1)), gn.Dense(10)])
    one_hot.compile("adam", "categorical_crossentropy")
    with pytest.raises(gn.ShapeError, match=r"add Flatten\(\) \(or a global pooling layer\)"):
        one_hot.fit(X, np.eye(10)[:5], verbose=0)


def test_sparse_labels_per_position_as_keras():
    """Outputs (batch, time, classes) with labels (batch, time): one class per step."""
    X = np.random.default_rng(0).integers(0, 5, (64, 6))
    model = gn.Sequential([gn.Embedding(5, 8, input_shape=(6,)),
                           gn.Dense(5, activation="softmax")])
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, X, epochs=40, verbose=0)                    # copy each token
    loss, accuracy = model.evaluate(X, X, verbose=0)
    assert accuracy == 1.0 and loss < 0.2


# --- callbacks ----------------------------------------------------------------------------
def test_every_hook_fires_in_keras_order():
    X, y = D.make_moons(40, seed=0)
    calls = []

    class Record(gn.callbacks.Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin {epoch}")

        def on_train_batch_end(self, batch, logs=None):
            calls.append(f"train_batch_end {batch} {sorted(logs)}")

        def on_test_batch_end(self, batch, logs=None):
            calls.append(f"test_batch_end {batch}")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")

    _model().fit(X, y, batch_size=16, epochs=1, verbose=0, callbacks=[Record()],
                 validation_split=0.2)
    assert calls == ["train_begin", "epoch_begin 0",
                     "train_batch_end 0 ['accuracy', 'loss']",
                     "train_batch_end 1 ['accuracy', 'loss']", "test_batch_end 0",
                     "epoch_end 0 ['accuracy', 'loss', 'val_accuracy', 'val_loss']"]
    legacy = []
    old = gn.LambdaCallback(on_batch_end=lambda batch, logs: legacy.append(batch))
    _model().fit(X, y, batch_size=16, epochs=1, verbose=0, callbacks=[old])
    assert legacy == [0, 1, 2]                   # on_batch_end: the old name, still called
    tested = []
    _model().evaluate(X, y, batch_size=16, verbose=0, callbacks=[
        gn.LambdaCallback(on_test_batch_end=lambda batch, logs: tested.append(batch))])
    assert tested == [0, 1, 2]


def test_reduce_lr_on_plateau_and_scheduler_set_the_learning_rate(tmp_path):
    X, y = D.make_moons(40, seed=0)
    model = _model()
    model.compile(gn.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    plateau = gn.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    history = model.fit(X, y, epochs=3, verbose=0, callbacks=[plateau])
    assert history.history["learning_rate"] == [0.1, 0.1, 0.05]     # logged, then reduced
    assert model.optimizer.learning_rate == 0.025
    schedule = gn.LearningRateScheduler(lambda epoch, lr: 0.2 / (epoch + 1))
    history = model.fit(X, y, epochs=3, verbose=0, callbacks=[schedule])
    assert history.history["learning_rate"] == pytest.approx([0.2, 0.1, 0.2 / 3])
    model.save(tmp_path / "lr.glassnet")                     # the new rate is saved
    assert gn.load_model(tmp_path / "lr.glassnet").optimizer.learning_rate == \
        pytest.approx(0.2 / 3)
    model.compile(gn.optimizers.SGD(gn.schedules.StepDecay(0.1, 10)),
                  "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"learning rate is a schedule \(StepDecay\)"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[gn.ReduceLROnPlateau("loss")])


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, y = D.make_moons(40, seed=0)
    path = tmp_path / "log.csv"
    _model().fit(X, y, epochs=3, verbose=0, callbacks=[gn.CSVLogger(path)])
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss" and [r.split(",")[0] for r in rows[1:]] == \
        ["0", "1", "2"]
    _model().fit(X, y, epochs=1, verbose=0, callbacks=[gn.CSVLogger(path, append=True)])
    assert len(path.read_text().splitlines()) == 5           # appended, no second header


def test_terminate_on_nan_stops_training():
    X, y = D.make_moons(40, seed=0)
    model = _model()
    poison = gn.LambdaCallback(on_train_batch_end=lambda batch, logs: model.get_layer(
        "out").params["W"].fill(np.nan) if batch == 1 else None)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = model.fit(X, y, epochs=20, batch_size=8, verbose=0,
                            callbacks=[poison, gn.TerminateOnNaN()], terminate_on_nan=False)
    assert len(history.epoch) < 20 and "invalid loss, terminating training" in out.getvalue()


def test_lambda_callback_refuses_unknown_hooks_and_callbacks_must_be_callbacks():
    with pytest.raises(TypeError, match=r"LambdaCallback: unknown hook 'on_epoch_finish'"):
        gn.LambdaCallback(on_epoch_finish=print)
    X, y = D.make_moons(20, seed=0)
    with pytest.raises(TypeError, match=r"expected glassnet.callbacks.Callback objects"):
        _model().fit(X, y, verbose=0, callbacks=[print])


def test_weight_decay_is_l2_on_the_gradient_a_documented_difference_from_keras():
    rng = np.random.default_rng(0)
    p0, g = rng.normal(size=5), rng.normal(size=5)
    coupled, plain = gn.optimizers.Adam(0.1, weight_decay=0.05), gn.optimizers.Adam(0.1)
    a, b = p0.copy(), p0.copy()
    coupled.step(a, g)
    plain.step(b, g + 0.05 * p0)                      # L2: the decay enters the gradient
    np.testing.assert_array_equal(a, b)
    decoupled = gn.optimizers.AdamW(0.1, weight_decay=0.05)   # Keras 3's meaning
    c = p0.copy()
    decoupled.step(c, g)
    assert not np.allclose(a, c)
    sgd, sgd_decoupled = p0.copy(), p0 * (1 - 0.1 * 0.05)    # SGD, no momentum: the same
    gn.optimizers.SGD(0.1, weight_decay=0.05).step(sgd, g)
    np.testing.assert_allclose(sgd, sgd_decoupled - 0.1 * g, rtol=1e-12)
