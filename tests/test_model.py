import io

import numpy as np
import pytest

import glassnet as gn

D = gn.datasets


def _digits_split():
    X, y = D.load_digits()
    X_train, X_test, y_train, y_test = D.train_test_split(X, y, test_size=0.2, seed=0)
    X_train, X_test = D.standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def _small_model(seed=0, dropout=0.0, dtype="float32"):
    layers = [gn.Dense(16, activation="relu", input_dim=2)]
    if dropout:
        layers.append(gn.Dropout(dropout))
    layers += [gn.Dense(16, activation="relu"), gn.Dense(2, activation="softmax")]
    model = gn.Sequential(layers, seed=seed, dtype=dtype)
    model.compile(gn.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --- the public surface ------------------------------------------------------------------
def test_issue_example_end_to_end(tmp_path):
    X_train, X_test, y_train, y_test = _digits_split()
    model = gn.Sequential([
        gn.Dense(8, activation="relu", input_dim=64),
        gn.Dense(8, activation="relu"),
        gn.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=3, batch_size=64, validation_split=0.2,
                        seed=0, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(history.history["loss"]) == 3 and history.epoch == [0, 1, 2]
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(X_test, y_test, verbose=0)      # Keras: [loss, *metrics]
    assert model.evaluate(X_test, y_test, verbose=0, return_dict=True) == \
        {"loss": loss, "accuracy": accuracy}
    P = model.predict(X_test, verbose=0)
    assert P.shape == (len(X_test), 10) and P.dtype == np.float32
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5)
    assert abs(accuracy - np.mean(P.argmax(1) == y_test)) < 1e-12
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(64, 8), (8,), (8, 8), (8,), (8, 10), (10,)]
    model.set_weights([w * 0 for w in weights])
    assert all(np.all(w == 0) for w in model.get_weights())
    model.save(tmp_path / "digits.glassnet")
    assert gn.load_model(tmp_path / "digits.glassnet").count_params() == model.count_params()


def test_train_on_batch_is_exactly_one_step():
    X, y = D.make_moons(64, seed=1)
    model = _small_model(dtype="float64")
    before = model.get_weights()
    # the same step written out: forward, fused loss, backward, update
    twin = _small_model(dtype="float64")
    Y = twin.forward(twin.check_input(X, "test"), training=True)
    T = twin.loss.prepare(y, Y.shape)
    assert twin.fused_loss                     # softmax + cross-entropy: from the logits
    expected_loss = twin.loss.forward(twin.output_layer.logits(), T, logits=True)
    twin.backward_from_logits(twin.loss.backward())
    twin.optimizer.step(twin.flat_params, twin.flat_grads)
    loss, accuracy = model.train_on_batch(X, y)           # Keras: [loss, *metrics]
    assert loss == expected_loss and accuracy == np.mean(Y.argmax(1) == y)
    assert model.optimizer.iterations == 1
    for a, b, c in zip(model.get_weights(), twin.get_weights(), before):
        assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_step_by_step_loop_equals_fit():
    """The loop that fit runs, written out as the README shows it."""
    X, y = D.make_moons(96, seed=2)
    fitted = _small_model()
    fitted.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    model = _small_model()
    model.build()
    loss_fn, optimizer = gn.losses.SparseCategoricalCrossentropy(), gn.optimizers.Adam(1e-2)
    for epoch in range(2):
        for start in range(0, len(X), 32):
            Y = X[start:start + 32].astype(np.float32)
            for layer in model.layers:                       # forward: Y = f(X @ W + b)
                Y = layer.forward(Y, training=True)
            T = loss_fn.prepare(y[start:start + 32], Y.shape, np.float32)
            loss_fn.forward(Y, T)
            dY = loss_fn.backward()                          # dL/dY
            for layer in reversed(model.layers):             # backward, layer by layer
                dY = layer.backward(dY)
            optimizer.step(model.flat_params, model.flat_grads)
    for a, b in zip(model.get_weights(), fitted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_parameters_are_views_into_one_buffer():
    model = _small_model().build()
    assert model.flat_params.size == model.count_params()
    model.flat_params[:] = 1.5
    assert all(np.all(w == 1.5) for w in model.get_weights())
    assert np.shares_memory(model.layers[0].grads["W"], model.flat_grads)


def test_progress_bar_reports_loss_metrics_and_speed():
    X, y = D.make_moons(100, seed=0)
    out = io.StringIO()
    _small_model().fit(X, y, epochs=2, batch_size=50, verbose=1, file=out,
                       validation_split=0.2)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 2/2 [========================]")
    assert "samples/s - loss: " in lines[0] and "accuracy: " in lines[0]
    assert "val_loss: " in lines[1]
    silent = io.StringIO()
    _small_model().fit(X, y, epochs=1, verbose=0, file=silent)
    assert silent.getvalue() == ""
    sparse = io.StringIO()
    _small_model().fit(X, y, epochs=7, batch_size=50, verbose=0, callbacks=[
        gn.callbacks.ProgressBar(file=sparse, every=3)])        # fit tells it epochs, steps
    lines = sparse.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["3/7", "6/7", "7/7"]
    assert all(line.split()[2] == "2/2" for line in lines)
    with pytest.raises(ValueError, match="ProgressBar: every must be a positive whole number"):
        gn.callbacks.ProgressBar(7, 2, every=0)


# --- training reaches good accuracy (slow: seconds each) --------------------------------
@pytest.mark.slow
def test_mlp_on_digits_reaches_97_percent_on_held_out_data():
    X_train, X_test, y_train, y_test = _digits_split()
    model = gn.Sequential([gn.Dense(128, activation="relu", input_dim=64), gn.Dropout(0.2),
                           gn.Dense(64, activation="relu"), gn.Dense(10, activation="softmax")])
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=40, batch_size=32, seed=0, verbose=0)
    assert model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"] >= 0.97


@pytest.mark.slow
def test_small_cnn_on_digits_reaches_98_percent_on_held_out_data():
    X, y = D.load_digits()
    X = ((X - X.mean()) / X.std()).reshape(-1, 8, 8, 1)        # images, channels last
    X_train, X_test, y_train, y_test = D.train_test_split(X, y, test_size=0.2, seed=0)
    model = gn.Sequential([
        gn.Conv2D(32, 3, padding="same", activation="relu"),
        gn.Conv2D(32, 3, padding="same", activation="relu"), gn.MaxPool2D(2),
        gn.Conv2D(64, 3, padding="same", activation="relu"), gn.MaxPool2D(2),
        gn.Flatten(), gn.Dense(128, activation="relu"), gn.Dropout(0.3),
        gn.Dense(10, activation="softmax")], input_shape=(8, 8, 1), seed=0)
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=20, batch_size=32, seed=0, verbose=0)
    assert model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"] >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("name, data", [
    ("moons", lambda: D.make_moons(600, noise=0.1, seed=0)),
    ("circles", lambda: D.make_circles(600, noise=0.05, seed=0)),
    ("spirals", lambda: D.make_spirals(600, arms=3, seed=0)),
])
def test_2d_sets_reach_98_percent_on_held_out_data(name, data):
    X, y = data()
    X_train, X_test, y_train, y_test = D.train_test_split(X, y, test_size=0.2, seed=0)
    X_train, X_test = D.standardize(X_train, X_test)
    model = gn.Sequential([gn.Dense(32, activation="relu", input_dim=2),
                           gn.Dense(32, activation="relu"),
                           gn.Dense(int(y.max()) + 1, activation="softmax")])
    model.compile(gn.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=150, batch_size=32, seed=0, verbose=0)
    assert model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"] >= 0.98


@pytest.mark.slow
def test_binary_and_regression_heads_learn():
    X, y = D.make_circles(400, seed=1)
    model = gn.Sequential([gn.Dense(16, activation="tanh", input_dim=2),
                           gn.Dense(1, activation="sigmoid")])
    model.compile(gn.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y.reshape(-1, 1), epochs=60, verbose=0)
    assert model.evaluate(X, y.reshape(-1, 1), verbose=0)[1] >= 0.98
    x = np.linspace(-2, 2, 200).reshape(-1, 1)
    reg = gn.Sequential([gn.Dense(32, activation="tanh", input_dim=1), gn.Dense(1)])
    reg.compile(gn.optimizers.Adam(0.01), "mse", metrics=["mae"])
    reg.fit(x, np.sin(2 * x), epochs=150, verbose=0)
    assert reg.evaluate(x, np.sin(2 * x), verbose=0, return_dict=True)["loss"] < 0.01


# --- determinism and resume ---------------------------------------------------------------
def test_same_seed_gives_bit_identical_weights():
    X, y = D.make_moons(200, seed=0)
    runs = []
    for _ in range(2):
        model = _small_model(seed=3, dropout=0.3)
        model.fit(X, y, epochs=3, batch_size=16, seed=4, verbose=0)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs))
    other = _small_model(seed=3, dropout=0.3)
    other.fit(X, y, epochs=3, batch_size=16, seed=5, verbose=0)
    assert not np.array_equal(other.get_weights()[0], runs[0][0])


@pytest.mark.parametrize("optimizer", ["adam", "sgd_momentum", "rmsprop"])
def test_resumed_run_equals_uninterrupted_run(tmp_path, optimizer):
    X, y = D.make_moons(200, seed=0)

    def make():
        model = _small_model(seed=1, dropout=0.3)
        opt = {"adam": gn.optimizers.Adam(1e-2),
               "sgd_momentum": gn.optimizers.SGD(0.05, momentum=0.9),
               "rmsprop": gn.optimizers.RMSprop(schedule := gn.schedules.CosineDecay(1e-2, 40))}
        assert schedule
        model.compile(opt[optimizer], "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    straight = make()
    straight.fit(X, y, epochs=6, batch_size=16, seed=2, verbose=0, validation_split=0.1)
    first = make()
    first.fit(X, y, epochs=3, batch_size=16, seed=2, verbose=0, validation_split=0.1)
    first.save(tmp_path / "half.glassnet")
    resumed = gn.load_model(tmp_path / "half.glassnet")
    assert resumed.epoch == 3
    resumed.fit(X, y, epochs=6, batch_size=16, seed=2, verbose=0, validation_split=0.1,
                initial_epoch=resumed.epoch)
    assert resumed.optimizer.iterations == straight.optimizer.iterations
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        assert np.array_equal(a, b)


# --- callbacks ------------------------------------------------------------------------------
def test_early_stopping_restores_the_best_weights():
    X, y = D.make_moons(200, noise=0.3, seed=0)
    model = _small_model()
    seen = []

    class Record(gn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append((logs["val_loss"], model.get_weights()))

    stop = gn.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model.compile(gn.optimizers.SGD(2.0), "sparse_categorical_crossentropy")   # jumpy on purpose
    history = model.fit(X, y, epochs=50, validation_split=0.3, callbacks=[Record(), stop],
                        verbose=0)
    assert len(history.epoch) < 50 and stop.stopped_epoch is not None
    best_loss, best_weights = min(seen, key=lambda s: s[0])
    assert stop.best == best_loss
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), best_weights))


def test_early_stopping_names_a_missing_monitor_and_goes_on_as_keras():
    X, y = D.make_moons(50, seed=0)
    with pytest.warns(gn.callbacks.MonitorWarning, match=r"cannot monitor 'val_loss': this "
                      r"run logs only accuracy, loss, so training will not stop early. Pass "
                      r"validation data") as caught:
        history = _small_model().fit(X, y, epochs=2, callbacks=[gn.EarlyStopping()],
                                     verbose=0)
    assert len(history.epoch) == 2 and len(caught) == 1


def test_model_checkpoint_writes_loadable_files(tmp_path):
    X, y = D.make_moons(100, seed=0)
    model = _small_model()
    checkpoint = gn.ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.glassnet", monitor="loss",
                                    save_best_only=True)
    model.fit(X, y, epochs=3, callbacks=[checkpoint], verbose=0)
    assert [p.rsplit("/", 1)[-1] for p in checkpoint.saved][0] == "ckpt-01.glassnet"
    last = gn.load_model(checkpoint.saved[-1])
    assert last.epoch == int(checkpoint.saved[-1][-11:-9])


def test_non_finite_loss_stops_names_epoch_and_batch_and_keeps_good_weights():
    X, y = D.make_moons(64, seed=0)
    model = _small_model(dtype="float64")
    snapshots = []

    class Explode(gn.callbacks.Callback):
        def on_batch_end(self, batch, logs):
            snapshots.append(model.get_weights())
            if len(snapshots) == 3:                   # poison the weights after batch 3
                model.layers[-1].params["W"][...] = np.nan

    with pytest.warns(gn.NonFiniteLossWarning, match=r"the loss became nan at epoch 2, batch 2 "
                                                     r"of 2; training stopped"):
        history = model.fit(X, y, epochs=5, batch_size=32, shuffle=False,
                            callbacks=[Explode()], verbose=0)
    assert "epoch 2, batch 2" in history.stopped_reason
    assert len(history.epoch) == 1 and model.stop_training
    # kept: the weights that gave batch 3 (epoch 2, batch 1) its finite loss, i.e. those
    # after batch 2's update; not the poisoned ones that batch 3's update led to
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[1]))


# --- bad input gets a clear error -------------------------------------------------------------
def _mnist_model():
    model = gn.Sequential([gn.Dense(256, activation="relu", input_dim=784),
                           gn.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_wrong_feature_count_names_the_layer_and_the_fix():
    with pytest.raises(gn.ShapeError, match=r"fit: Dense\(256, relu\) at layer 1 expects inputs "
                                            r"of shape \(batch, 784\) but received \(32, 28\): "
                                            r"your data has 28 features per sample.*Pass data"):
        _mnist_model().fit(np.zeros((32, 28)), np.zeros(32, int), verbose=0)
    with pytest.raises(gn.ShapeError, match=r"predict: .*expects inputs of shape \(batch, 784\)"):
        _mnist_model().predict(np.zeros((2, 28)))


def test_layer_chain_mismatch_is_refused_while_building():
    model = gn.Sequential([gn.Dense(16, input_dim=4), gn.Dense(3, input_dim=8)])
    with pytest.raises(gn.ShapeError, match=r"Dense\(3\) at layer 2 was declared with "
                                            r"input_dim=8 but receives \(batch, 16\): the layer "
                                            r"before it outputs 16 features"):
        model.build()


@pytest.mark.parametrize("X, y, error, message", [
    (np.zeros((10, 784)), np.zeros(9, int), gn.ShapeError,
     r"fit: X has 10 samples but y has 9 \(shape \(9,\)\); they must have one target per sample"),
    (np.zeros((0, 784)), np.zeros(0, int), ValueError,
     r"fit: the dataset is empty \(0 samples\)"),
    (np.full((3, 784), np.nan), np.zeros(3, int), ValueError,
     r"fit: X contains NaN or Inf \(first at index \(0, 0\)\)"),
    (np.where(np.eye(3, 784) > 0, np.inf, 0.0), np.zeros(3, int), ValueError,
     r"X contains NaN or Inf"),
    (np.zeros((3, 784)), np.array([0, 10, 1]), ValueError,
     r"labels must be class indices in \[0, 9\] for a model with 10 outputs, but label 1 is 10"),
    (np.zeros((3, 784)), np.array([0.0, np.nan, 1]), ValueError, r"labels contain NaN or Inf"),
    (np.zeros(784), np.zeros(1, int), gn.ShapeError, r"X must have shape \(samples, features"),
])
def test_bad_data_is_refused(X, y, error, message):
    with pytest.raises(error, match=message):
        _mnist_model().fit(X, y, verbose=0)


@pytest.mark.parametrize("loss", ["mse", "binary_crossentropy"])
def test_dense_1_with_targets_of_shape_n_trains_as_keras(loss):
    """Keras's IMDB and regression tutorials: Dense(1) and y of shape (N,). Each target
    meets its own prediction -- the same training as with y.reshape(-1, 1)."""
    X = np.random.default_rng(0).normal(size=(16, 3))
    y = (X[:, 0] > 0).astype(float)
    runs = []
    for targets in (y, y.reshape(-1, 1)):
        model = gn.Sequential([gn.Dense(1, input_dim=3, activation="sigmoid")], seed=0)
        model.compile("sgd", loss)
        runs.append(model.fit(X, targets, epochs=3, batch_size=4, verbose=0).history["loss"])
        runs.append(model.evaluate(X, targets, verbose=0))
    assert runs[0] == runs[2] and runs[1] == runs[3]


@pytest.mark.parametrize("make, message", [
    (lambda: gn.optimizers.Adam(learning_rate=0), r"Adam: learning_rate must be > 0, got 0"),
    (lambda: gn.optimizers.SGD(learning_rate=-1), r"SGD: learning_rate must be > 0, got -1"),
    (lambda: gn.optimizers.Adam(beta_1=1.0), r"Adam: beta_1 must be in \[0, 1\), got 1.0"),
    (lambda: gn.optimizers.Adam(beta_2=-0.1), r"Adam: beta_2 must be in \[0, 1\), got -0.1"),
    (lambda: gn.optimizers.AdamW(beta_2=1.5), r"AdamW: beta_2 must be in \[0, 1\), got 1.5"),
    (lambda: gn.optimizers.SGD(momentum=1.0), r"SGD: momentum must be in \[0, 1\)"),
    (lambda: gn.optimizers.SGD(nesterov=True), r"nesterov=True needs momentum > 0"),
    (lambda: gn.optimizers.RMSprop(rho=1.0), r"RMSprop: rho must be in \[0, 1\)"),
    (lambda: gn.optimizers.Adam(global_clipnorm=0), r"global_clipnorm must be in > 0"),
])
def test_invalid_optimizer_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make", [lambda: gn.optimizers.Adam(0.01),
                                  lambda: gn.optimizers.SGD(0.01, momentum=0.9),
                                  lambda: gn.optimizers.RMSprop(0.01, momentum=0.9)])
def test_optimizer_state_never_stays_subnormal(make):
    """Dead units (gradient 0) make a decaying slot sink into subnormal floats, which CPUs
    compute many times slower; the optimiser flushes them to 0 every FLUSH_EVERY steps."""
    tiny = np.finfo(np.float32).tiny
    p = np.ones(6, np.float32)
    g = np.array([0, 0, 0, 1e-3, -2e-3, 0], np.float32)      # three dead units
    optimizer = make()
    optimizer.step(p, g)
    g[:] = 0
    for _ in range(3 * gn.optimizers.FLUSH_EVERY):               # decays far below tiny
        optimizer.step(p, g)
        for a in optimizer.state.values():
            a[:3] = np.float32(tiny / 4)                       # a subnormal, on purpose
    optimizer.step(p, g)                                 # not a flush step: still subnormal
    assert all(np.all((a[:3] != 0) & (np.abs(a[:3]) < tiny)) for a in optimizer.state.values())
    while optimizer.iterations % gn.optimizers.FLUSH_EVERY:
        optimizer.step(p, g)
    for a in optimizer.state.values():
        assert not np.any((a != 0) & (np.abs(a) < tiny)), "subnormal state survived a flush"
        assert np.all(a[:3] == 0)


def test_fit_argument_errors():
    X, y = D.make_moons(20, seed=0)
    model = _small_model()
    with pytest.raises(ValueError, match=r"fit: batch_size must be a positive whole number, got 0"):
        model.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\), got 1.2"):
        model.fit(X, y, validation_split=1.2)
    with pytest.raises(ValueError, match=r"not compiled. Call model.compile"):
        gn.Sequential([gn.Dense(2, input_dim=2)]).fit(X, y)
    with pytest.raises(ValueError, match=r"unknown metric 'f1'"):
        model.compile("adam", "mse", metrics=["f1"])


def test_set_weights_checks_count_and_shapes():
    model = _small_model()
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"the model has 6 weight arrays .* but received 5"):
        model.set_weights(weights[:5])
    weights[0] = weights[0].T
    with pytest.raises(gn.ShapeError, match=r"Dense\(16, relu\) at layer 1 weight 'W' has shape "
                                            r"\(2, 16\) but received \(16, 2\)"):
        model.set_weights(weights)


def test_unknown_input_shape_says_how_to_give_it():
    with pytest.raises(ValueError, match=r"the input shape is unknown. Give the first layer "
                                         r"input_dim"):
        gn.Sequential([gn.Dense(3)]).count_params()
    model = gn.Sequential([gn.Flatten(), gn.Dense(3)])       # built from the first data
    assert model.predict(np.zeros((2, 4, 4))).shape == (2, 3)
    assert model.count_params() == 16 * 3 + 3
