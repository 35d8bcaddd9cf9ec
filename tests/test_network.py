"""One graph engine under every network: Sequential lowers to the functional graph,
networks nest as layers, Residual is a branch plus Add, and files of format version 2
still load."""
import pathlib
import re

import numpy as np
import pytest

import glassnet as gn

DATA = pathlib.Path(__file__).parent / "data"
ROOT = pathlib.Path(gn.__file__).parent


def _data(n=64, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int) * (classes > 2)


def _nested_models():
    inner = gn.Sequential([gn.Dense(8, activation="tanh"), gn.Dense(8, activation="relu")],
                          name="block")
    in_sequential = gn.Sequential([gn.Dense(8, activation="relu", input_dim=6), inner,
                                   gn.Dense(3, activation="softmax")], seed=1)
    x = gn.Input((6,))
    branch = gn.Sequential([gn.Dense(6, activation="tanh"), gn.Dense(6)], name="branch")
    h = gn.Add()([x, branch(x)])
    in_model = gn.Model(x, gn.Dense(3, activation="softmax")(h), seed=2)
    return {"sequential_in_sequential": in_sequential, "sequential_in_model": in_model}


def test_a_sequential_is_lowered_to_the_same_graph_as_a_functional_model():
    seq = gn.Sequential([gn.Dense(4, activation="relu", input_dim=3), gn.Dense(2)], seed=0)
    x = gn.Input((3,))
    fun = gn.Model(x, gn.Dense(2)(gn.Dense(4, activation="relu")(x)), seed=0)
    for model in (seq, fun):
        nodes = model.nodes()
        assert [n.inputs for n in nodes] == [[], [nodes[0].name], [nodes[1].name]]
        assert [n.out_shape for n in nodes] == [(None, 3), (None, 4), (None, 2)]
        assert model.inputs[0].shape == (None, 3) and model.outputs[0].shape == (None, 2)


@pytest.mark.parametrize("kind", ["sequential_in_sequential", "sequential_in_model"])
def test_a_nested_network_trains_shows_saves_and_exports(kind, tmp_path):
    model = _nested_models()[kind]
    X, y = _data()
    model.compile(gn.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=15, batch_size=16, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    nested = next(layer for layer in model.layers if layer.sublayers())
    # every nested weight is in the model's one buffer, and the optimiser moved it
    assert all(np.shares_memory(w, model.flat_params) for w in nested.weights)
    summary = model.summary(print_fn=None)
    row = next(r for r in summary.data["layers"] if r["name"] == nested.name)
    assert row["param_count"] == nested.count_params() == sum(w.size for w in nested.weights)
    assert summary.data["params"]["total"] == model.count_params()
    assert repr(nested) in summary.to_text()
    trace = model.trace(backward=True).to_text()
    assert trace.count("X @ W") >= 4 or trace.count("@") >= 4
    explained = model.explain(X[0]).data["layer_outputs"]
    assert np.allclose(explained[-1], model.predict(X[:1], verbose=0)[0])
    path = tmp_path / "nested.glassnet"
    model.save(path)
    loaded = gn.load_model(path)
    assert type(loaded.get_layer(nested.name)) is type(nested)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations


@pytest.mark.parametrize("kind", ["sequential_in_sequential", "sequential_in_model"])
def test_a_nested_network_exports_to_pytorch_and_onnx_with_equal_outputs(kind, tmp_path):
    import onnxruntime
    import torch
    model = _nested_models()[kind]
    X = _data()[0].astype(np.float32)
    expected = model.predict(X, verbose=0)
    with torch.no_grad():
        np.testing.assert_allclose(gn.to_torch(model)(torch.from_numpy(X)).numpy(), expected,
                                   rtol=1e-5, atol=1e-6)
    path = gn.interop.to_onnx(model, tmp_path / "nested.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    np.testing.assert_allclose(session.run(None, {name: X})[0], expected, rtol=1e-5, atol=1e-6)


def test_the_nested_network_backpropagates_to_its_input():
    """check_layer on a Model holding a Sequential, as one layer: float64, a random
    upstream gradient, dX and every nested dW against finite differences."""
    x = gn.Input((4,))
    inner = gn.Sequential([gn.Dense(5, activation="tanh"), gn.Dense(4)])
    model = gn.Model(x, gn.Dense(2)(gn.Add()([x, inner(x)])))
    report = gn.check_layer(model, (4,))
    assert report.ok, report.to_text()
    checked = {row[0] for row in report.sections[0].rows}
    assert {"dX", "d1.1.W", "d1.1.b", "d1.2.W", "d1.2.b", "d3.W", "d3.b"} <= checked


def test_residual_is_a_branch_plus_add():
    block = gn.Residual([gn.Dense(6, activation="relu"), gn.Dense(6)])
    model = gn.Sequential([gn.Dense(6, input_dim=4), block, gn.Dense(2)], seed=0)
    model.build()
    nodes = block.nodes()
    assert [type(n.layer).__name__ for n in nodes] == ["InputLayer", "Dense", "Dense", "Add"]
    assert nodes[-1].inputs == [nodes[0].name, nodes[2].name]
    X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    h = model.layers[0].forward(X)
    expected = h + block.layers[1].forward(block.layers[0].forward(h))
    np.testing.assert_allclose(block.forward(h), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["sequential", "functional"])
def test_files_of_format_version_2_still_load(name):
    """Files written by glassnet before the one graph engine (format version 2: a
    Sequential with a Residual block, BatchNorm and Dropout; a functional model) load,
    with the same outputs as when they were saved."""
    model = gn.load_model(DATA / f"format2_{name}.glassnet")
    probe = np.load(DATA / "format2_probe.npy")
    np.testing.assert_array_equal(model.predict(probe, verbose=0),
                                  np.load(DATA / f"format2_{name}_out.npy"))
    assert model.optimizer is not None and model.optimizer.iterations > 0


def test_calling_a_model_on_arrays_and_keras_weight_lists():
    model = gn.Sequential([gn.Dense(4, activation="relu", input_dim=3), gn.BatchNorm(),
                           gn.Dense(2)], seed=0)
    model.layers[0].trainable = False
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(model(X), model.predict(X, verbose=0))
    assert [w.shape for w in model.weights] == [w.shape for w in model.get_weights()]
    assert [w.shape for w in model.trainable_weights] == [(4, 2), (2,), (4,), (4,)] or \
        [w.shape for w in model.trainable_weights] == [(4,), (4,), (4, 2), (2,)]
    assert len(model.non_trainable_weights) == 4      # frozen W, b + running mean, var
    assert sum(w.size for w in model.trainable_weights) == model.param_counts()[0]


def test_a_feature_extractor_shares_the_layers_and_their_weights():
    model = gn.Sequential([gn.Dense(5, activation="relu", input_dim=3, name="h"),
                           gn.Dense(2, name="out")], seed=0)
    model.build()
    extractor = gn.Model(model.inputs, model.get_layer("h").output)
    X = np.random.default_rng(1).normal(size=(4, 3))
    expected = np.maximum(X @ model.get_layer("h").params["W"] +
                          model.get_layer("h").params["b"], 0)
    np.testing.assert_allclose(extractor.predict(X, verbose=0), expected, rtol=1e-6)
    # training the original afterwards still trains it (its buffer follows the layers)
    model.compile("sgd", "mse")
    before = model.predict(X, verbose=0)
    model.fit(X, np.ones((4, 2)), epochs=3, verbose=0)
    assert not np.allclose(model.predict(X, verbose=0), before)
    np.testing.assert_allclose(extractor.predict(X, verbose=0), np.maximum(
        X @ model.get_layer("h").params["W"] + model.get_layer("h").params["b"], 0), rtol=1e-6)


VIEWS = ["inspect", "viz", "course", "report", "explore", "interop/torch_code.py",
         "interop/onnx_export.py", "io.py"]


def test_no_view_exporter_or_the_explorer_branches_on_the_kind_of_network():
    pattern = re.compile(r"isinstance\([^)]*\b(Sequential|Model|Residual)\b|"
                         r"\.chain\b|__name__ *[!=]= *[\"'](Sequential|Model|Residual)")
    found = []
    for view in VIEWS:
        place = ROOT / view
        for path in ([place] if place.is_file() else sorted(place.rglob("*.py"))):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "views that branch on the kind of network:\n" + "\n".join(found)


def test_values_and_gradients_are_the_engines_own_and_change_nothing():
    model = gn.Sequential([gn.Dense(5, activation="tanh", input_dim=3), gn.Dropout(0.5),
                           gn.Dense(2, activation="softmax")], seed=0, dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    X, y = np.random.default_rng(0).normal(size=(6, 3)), np.array([0, 1, 1, 0, 1, 0])
    model.build()
    before = model.flat_grads.copy()
    seen = model.values_and_gradients(X, y)
    np.testing.assert_array_equal(model.flat_grads, before)
    assert seen["loss"] == pytest.approx(model.evaluate(X, y, verbose=0))
    first = model.layers[0]
    W = model.flat_params[model.param_slice(first, "W")].reshape(first.params["W"].shape)
    np.testing.assert_array_equal(W, first.params["W"])
    np.testing.assert_allclose(seen["values"][first.name], np.tanh(X @ W + first.params["b"]))
    # dW = X^T dZ with dZ = dL/d(tanh output) * (1 - tanh^2): the recorded gradients agree
    dZ = seen["output_gradients"][first.name] * (1 - seen["values"][first.name] ** 2)
    np.testing.assert_allclose(seen["gradients"][first.name]["W"], X.T @ dZ, rtol=1e-10)
    model.layers[2].trainable = False
    with pytest.raises(ValueError, match=r"param_slice: layer 'dense_1' is frozen"):
        model.fit(X, y, epochs=1, verbose=0)
        model.param_slice("dense_1", "W")
    with pytest.raises(KeyError, match=r"has no parameter 'V'; it has \['W', 'b'\]"):
        model.param_slice(first, "V")


def test_the_model_owns_its_input_check_and_says_what_to_fix():
    model = gn.Sequential([gn.Dense(4, input_dim=784), gn.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(gn.ShapeError, match=r"fit: Dense\(4\) at layer 1 expects inputs of shape "
                                            r"\(batch, 784\) but received \(32, 28\): your data "
                                            r"has 28 features per sample, the model was built "
                                            r"for 784\. .*rebuild the model with input_dim=28\."):
        model.fit(np.zeros((32, 28)), np.zeros((32, 2)), verbose=0)
