"""glassnet to and from PyTorch, and to ONNX: the same outputs and gradients, the same
weights back, code that runs on its own, and files ONNX Runtime runs."""
import ast
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import glassnet as gn
from cases import INTEGER_INPUTS, LAYER_CASES, sample_input

NN = torch.nn


def _model(name, dtype="float64", seed=0):
    """A one-layer model of a registered case, with random weights (positive variances)."""
    factory, in_shape, training = LAYER_CASES[name]
    model = gn.Sequential([factory()], input_shape=in_shape[1:], dtype=dtype, seed=seed)
    model.build()
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 2.0, w.shape) if k == "running_var"
                       else rng.normal(size=w.shape) for (_, _, k), w in
                       zip(model.weight_slots(), model.get_weights())])
    return model, in_shape, training


def _torch_input(X, name):
    return torch.from_numpy(X) if name in INTEGER_INPUTS else \
        torch.tensor(X, requires_grad=True)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_to_torch_gives_the_same_outputs_and_gradients(name):
    model, in_shape, training = _model(name)
    training = training and name != "dropout"            # masks come from two generators
    net = gn.to_torch(model).train(training)
    rng = np.random.default_rng(1)
    X = sample_input(name, in_shape, rng).astype(np.float64)
    X = X.astype(np.int64) if name in INTEGER_INPUTS else X
    model.layers[0].need_dX = True
    Y = model.forward(X, training=training)
    G = rng.normal(size=Y.shape)
    dX = model.backward(G)
    X_t = _torch_input(X, name)
    Y_t = net(X_t)
    np.testing.assert_allclose(Y_t.detach().numpy(), Y, rtol=1e-10, atol=1e-12)
    (Y_t * torch.from_numpy(G)).sum().backward()
    if name not in INTEGER_INPUTS:
        np.testing.assert_allclose(X_t.grad.numpy(), dX, rtol=1e-10, atol=1e-12)
    grads = {k: (v.grad if v.grad is not None else torch.zeros_like(v))
             for k, v in net.named_parameters()}
    for k in [k for k in grads if "bias_hh_l0" in k and "gru" not in name]:
        grads[k] = torch.zeros_like(grads[k])          # one bias in glassnet: counted once
    twin, _, _ = _model(name)
    gn.interop.torch_code.weights_from_torch(twin, {**net.state_dict(), **grads})
    for (layer, store, k), (_, twin_store, _) in zip(model.weight_slots(),
                                                     twin.weight_slots()):
        if store is layer.params:
            np.testing.assert_allclose(twin_store[k], layer.grads[k], rtol=1e-10,
                                       atol=1e-12, err_msg=f"{name} d{k}")


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_from_torch_of_to_torch_gives_back_the_same_weights(name):
    model, _, _ = _model(name)
    back = gn.from_torch(gn.to_torch(model), None, dtype="float64")
    assert back.get_config()["layers"] == model.get_config()["layers"]
    assert all(np.array_equal(a, b) for a, b in zip(back.get_weights(), model.get_weights()))


def test_float32_and_whole_models_to_torch():
    rng = np.random.default_rng(2)
    x = gn.Input((6,))
    h = gn.Dense(8, activation="relu")(x)
    y = gn.Dense(3, activation="softmax")(gn.Concatenate()([gn.Add()([h, gn.Dense(8)(x)]),
                                                          gn.Dense(2)(x)]))
    graph = gn.Model(x, y)
    X = rng.normal(size=(5, 6)).astype(np.float32)
    net = gn.to_torch(graph)
    np.testing.assert_allclose(net(torch.from_numpy(X)).detach().numpy(),
                               graph.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    back = gn.from_torch(net, None)
    assert isinstance(back, gn.Model) and back.get_config() == graph.get_config()


def test_torch_code_runs_on_its_own_and_reproduces_the_outputs(tmp_path):
    model = gn.Sequential([gn.Conv2D(4, 3, padding="same", activation="relu"),
                           gn.MaxPool2D(2), gn.BatchNorm(), gn.Flatten(),
                           gn.Dense(6, activation="tanh"), gn.Dense(3, activation="softmax")],
                          input_shape=(6, 6, 1), dtype="float64")
    model.build()
    X = np.random.default_rng(3).normal(size=(4, 6, 6, 1))
    code = gn.torch_code(model, weights_path=tmp_path / "weights.safetensors")
    assert "nn.Linear(36, 6, bias=True)  # glassnet's W (36, 6) is weight.T" in code
    assert "x = x.permute(0, 3, 1, 2)  # channels last -> PyTorch's (batch, C, H, W)" in code
    (tmp_path / "net.py").write_text(code)
    np.save(tmp_path / "X.npy", X)
    script = ("import numpy as np, torch, net\n"
              "X = torch.from_numpy(np.load('X.npy'))\n"
              "np.save('Y.npy', net.net(X).detach().numpy())\n")
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(tmp_path)})
    np.testing.assert_allclose(np.load(tmp_path / "Y.npy"), model.predict(X, verbose=0),
                               rtol=1e-12, atol=1e-14)


# --- PyTorch models written by hand ----------------------------------------------------------
class _Residual(NN.Module):
    def __init__(self):
        super().__init__()
        self.norm, self.inner, self.head = NN.LayerNorm(6), NN.Linear(6, 6), NN.Linear(6, 3)

    def forward(self, x):
        return self.head(torch.relu(x + self.inner(self.norm(x))))


class _Recurrent(NN.Module):
    def __init__(self, cell):
        super().__init__()
        self.embed = NN.Embedding(12, 5)
        self.rnn = cell(5, 7, batch_first=True)
        self.head = NN.Linear(7, 4)

    def forward(self, tokens):
        return torch.softmax(self.head(self.rnn(self.embed(tokens))[0][:, -1]), dim=-1)


class _TwoInputs(NN.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = NN.Linear(4, 5), NN.Linear(3, 2), NN.Linear(7, 2)

    def forward(self, x, meta):
        return self.out(torch.cat([torch.tanh(self.a(x)), self.b(meta)], dim=1))


HAND_WRITTEN = {
    "mlp": (lambda: NN.Sequential(NN.Linear(8, 16), NN.ReLU(), NN.Dropout(0.1),
                                  NN.Linear(16, 16), NN.GELU(), NN.Linear(16, 4),
                                  NN.Softmax(dim=-1)), (8,)),
    "cnn": (lambda: NN.Sequential(NN.Conv2d(1, 6, 3, padding=1), NN.BatchNorm2d(6), NN.ReLU(),
                                  NN.MaxPool2d(2), NN.Conv2d(6, 8, 3), NN.LeakyReLU(0.1),
                                  NN.AvgPool2d(2), NN.Flatten(), NN.Linear(8, 10)), (1, 10, 10)),
    "gap": (lambda: NN.Sequential(NN.Conv2d(3, 4, 3), NN.Tanh(), NN.AdaptiveAvgPool2d(1),
                                  NN.Flatten(), NN.Linear(4, 2)), (3, 7, 7)),
    "conv1d": (lambda: NN.Sequential(NN.Conv1d(2, 4, 3, padding=1, dilation=1), NN.ReLU(),
                                     NN.Flatten(), NN.Linear(36, 1), NN.Sigmoid()), (2, 9)),
    "residual": (_Residual, (6,)),
    "lstm": (lambda: _Recurrent(NN.LSTM), (9,)),
    "gru": (lambda: _Recurrent(NN.GRU), (9,)),
    "rnn": (lambda: _Recurrent(NN.RNN), (9,)),
    "two_inputs": (_TwoInputs, [(4,), (3,)]),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_from_torch_of_hand_written_pytorch_models(name):
    make, shape = HAND_WRITTEN[name]
    torch.manual_seed(0)
    net = make().double().eval()
    for m in net.modules():                     # running statistics that are not trivial
        if isinstance(m, NN.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    model = gn.from_torch(net, shape, dtype="float64")
    rng = np.random.default_rng(4)
    shapes = shape if isinstance(shape, list) else [shape]
    X = [rng.integers(0, 12, (5, *s)) if name in ("lstm", "gru", "rnn")
         else rng.normal(size=(5, *s)) for s in shapes]
    expected = net(*[torch.from_numpy(x) for x in X]).detach().numpy()
    got = model.predict(X if len(X) > 1 else X[0], verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert str(model.summary(print_fn=None))                   # and every view works
    assert str(model.trace(batch_size=2))


def test_from_torch_names_the_unsupported_module_and_lists_the_supported():
    net = NN.Sequential(NN.Linear(4, 4), NN.Sequential(NN.ReLU(), NN.PReLU()))
    with pytest.raises(TypeError, match=r"from_torch: 1.1 \(nn.PReLU\) has no glassnet form. "
                                        r"Supported: modules nn.Linear"):
        gn.from_torch(net, (4,))
    with pytest.raises(TypeError, match=r"expected a torch.nn.Module"):
        gn.from_torch(object(), (4,))


# --- ONNX -----------------------------------------------------------------------------------
def _run_onnx(path, model, X):
    proto = onnx.load(str(path))
    assert proto.ir_version == 8 and [o.version for o in proto.opset_import] == [17]
    onnx.checker.check_model(proto, full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feeds = dict(zip(names, X if isinstance(X, list) else [X]))
    return session.run(None, feeds)[0]


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_every_layer_runs_in_onnx_runtime(name, tmp_path):
    model, in_shape, _ = _model(name, dtype="float32")
    X = sample_input(name, in_shape, np.random.default_rng(5))
    X = X.astype(np.int64) if name in INTEGER_INPUTS else X.astype(np.float32)
    gn.to_onnx(model, tmp_path / "m.onnx")
    np.testing.assert_allclose(_run_onnx(tmp_path / "m.onnx", model, X),
                               model.predict(X, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "cnn", "lstm", "graph"])
def test_whole_models_run_in_onnx_runtime(kind, tmp_path):
    rng = np.random.default_rng(6)
    if kind == "graph":
        a, b = gn.Input((4,), name="a"), gn.Input((3,), name="b")
        y = gn.Dense(2, activation="softmax")(gn.Concatenate()([
            gn.Add()([gn.Dense(4, activation="relu")(a), a]), gn.Dense(3)(b)]))
        model, X = gn.Model([a, b], y), [rng.normal(size=(6, 4)).astype(np.float32),
                                         rng.normal(size=(6, 3)).astype(np.float32)]
    else:
        layers, shape = {
            "mlp": ([gn.Dense(32, activation="relu"), gn.Dropout(0.2),
                     gn.Dense(10, activation="softmax")], (64,)),
            "cnn": ([gn.Conv2D(8, 3, padding="same", activation="relu"), gn.MaxPool2D(2),
                     gn.BatchNorm(), gn.Conv2D(8, 3, activation="relu"), gn.Flatten(),
                     gn.Dense(10, activation="softmax")], (8, 8, 1)),
            "lstm": ([gn.Embedding(20, 8), gn.LSTM(16, return_sequences=True), gn.GRU(8),
                      gn.Dense(3, activation="softmax")], (12,))}[kind]
        model = gn.Sequential(layers, input_shape=shape)
        X = rng.integers(0, 20, (6, *shape)) if kind == "lstm" else \
            rng.normal(size=(6, *shape)).astype(np.float32)
    model.compile("adam", "sparse_categorical_crossentropy")
    T = rng.integers(0, 2, 6)
    model.fit(X, T, epochs=2, verbose=0)                  # trained weights, BN statistics
    gn.to_onnx(model, tmp_path / "m.onnx")
    np.testing.assert_allclose(_run_onnx(tmp_path / "m.onnx", model, X),
                               model.predict(X, verbose=0), rtol=1e-5, atol=1e-5)


def test_optional_engines_name_their_extra():
    with pytest.raises(ImportError, match=r"this needs no_such_engine, which is not installed: "
                                          r"pip install 'glassnet\[torch\]'"):
        gn.interop.requires("no_such_engine", "torch")


# --- user strings never become code (issue 18, section 1) --------------------------------------
HOSTILE = ['a\nopen("X", "w").write("ran")\n#', 'b\r\nimport os\r', 'c\u2028d\u2029e',
           'q"""\'\'\'"', 'back\\slash\\', 'nul\x00x', 'L' * 5000, '\ufb01', 'a\u00b2',
           'class', '1x', 'x', 'self', 'a-b', 'a_b', 'a b']


def _named_models(names):
    """A Sequential and a functional Model (with a Residual) whose layers carry ``names``.
    Layers refuse names with line breaks or control characters when made
    (test_messages); these are given afterwards, as code that sets ``layer.name`` could,
    so the code generator is tested on its own."""
    placeholders = [f"p{i}" for i in range(len(names))]
    chain = gn.Sequential([gn.Dense(3, name=n, activation="tanh") for n in placeholders],
                          input_shape=(3,), dtype="float64").build()
    x = gn.Input((3,), name=placeholders[0])
    h = gn.Dense(3, name=placeholders[1])(x)
    for n in placeholders[2:-1]:
        h = gn.Add(name=n + "+")([h, gn.Dense(3, name=n)(h)])
    y = gn.Residual([gn.LayerNorm(), gn.Dense(3)], name=placeholders[-1])(h)
    graph = gn.Model(x, y, dtype="float64").build()
    given = dict(zip(placeholders, names))
    given.update({p + "+": n + "+" for p, n in given.items()})
    for model in (chain, graph):
        for layer in model.layers:
            layer.name = given.get(layer.name, layer.name)
    return chain, graph


def _shape_of_code(code):
    """The code's syntax tree with every name and comment-free literal made neutral."""
    return [type(node).__name__ for node in ast.walk(ast.parse(code))]


@pytest.mark.parametrize("which", [0, 1], ids=["sequential", "functional"])
def test_hostile_names_reach_torch_code_only_as_safe_identifiers(which, tmp_path,
                                                                 monkeypatch):
    hostile = _named_models(HOSTILE)[which]
    plain = _named_models([f"n{i}" for i in range(len(HOSTILE))])[which]
    plain.set_weights(hostile.get_weights())
    weights = tmp_path / 'w\n"x\'.safetensors'
    code = gn.torch_code(hostile, weights_path=weights)
    tree = ast.parse(code)
    expected = gn.torch_code(plain, weights_path=tmp_path / "plain.safetensors")
    assert _shape_of_code(code) == _shape_of_code(expected)
    assert [type(s).__name__ for s in tree.body] == \
        ["Expr", "Import", "Import", "Import", "Import", "ClassDef", "ImportFrom", "Assign",
         "Expr", "Expr"]
    variables = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert all(name.isascii() and name.isidentifier() and len(name) <= 45
               for name in variables | attributes)
    assert not variables & {"open", "exec", "eval", "os", "compile", "__import__"}
    assert not attributes & {"write", "system", "remove"}
    attributes = [s.targets[0].attr for s in tree.body[5].body[0].body[1:]]
    assert len(attributes) == len(set(attributes))               # a-b, a_b, a b stay apart
    for text in HOSTILE[:6]:
        assert text not in code
    before = sorted(tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "net.py", "exec"), namespace)             # what the user would run
    assert sorted(tmp_path.iterdir()) == before                   # it created no file
    X = np.random.default_rng(0).normal(size=(2, 3))
    np.testing.assert_allclose(namespace["net"](torch.from_numpy(X)).detach().numpy(),
                               hostile.predict(X, verbose=0), rtol=1e-12)
    with pytest.raises(ValueError,
                       match=r"must be one line of at most 200 printable characters"):
        gn.from_torch(gn.to_torch(hostile), None, dtype="float64")   # names refused on the way in
    back = gn.from_torch(gn.to_torch(plain), None, dtype="float64")
    assert back.get_config() == plain.get_config()


@pytest.mark.parametrize("class_name", ["Net\nimport os", "class", "Net'", "x", "N\u00e9t",
                                        "N" * 100, 7])
def test_torch_code_refuses_a_class_name_that_is_not_a_plain_python_name(class_name):
    model = gn.Sequential([gn.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"torch_code: class_name must be a Python name of "
                                         r"ASCII letters, digits and _"):
        gn.torch_code(model, class_name=class_name)
