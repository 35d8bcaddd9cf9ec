"""The one layer contract: every layer is a gn.Layer, keeps only what it declares, and no
module reads another's private attributes; a layer written from the README works
everywhere; check_layer names a wrong gradient."""
import ast
import pathlib
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers.registry import BUILT_IN, LAYER_TYPES
from cases import LAYER_CASES, built, sample_input

PACKAGE = pathlib.Path(gn.__file__).parent
README = PACKAGE.parent / "docs" / "layers.md"   # where the Quadratic example lives


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_reads_private_attributes_of_another_object():
    """obj._name is allowed only on self, cls and super(); no private name is imported."""
    offences = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                value = node.value
                own = isinstance(value, ast.Name) and value.id in ("self", "cls")
                own = own or (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                              and value.func.id == "super")
                if not own:
                    offences.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom):
                offences += [f"{path.name}:{node.lineno} imports {a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
    assert offences == []


COMPUTING = {"forward", "backward", "backward_from_logits", "run", "run_backward",
             "scale_shift"}


def test_layers_keep_forward_values_only_in_their_declared_cache():
    """No layer method that computes sets an attribute of self: what forward keeps for
    backward goes into self.cache, and nowhere else."""
    offences = []
    layer_modules = {cls.__module__.rsplit(".", 1)[-1] for cls in LAYER_TYPES.values()}
    assert len(layer_modules) >= 7
    for path in _modules():
        if path.stem not in layer_modules:
            continue
        for cls in ast.walk(ast.parse(path.read_text())):
            if not isinstance(cls, ast.ClassDef):
                continue
            for method in cls.body:
                if isinstance(method, ast.FunctionDef) and method.name in COMPUTING:
                    for node in ast.walk(method):
                        targets = node.targets if isinstance(node, ast.Assign) else \
                            [node.target] if isinstance(node, (ast.AugAssign,
                                                              ast.AnnAssign)) else []
                        flat = [e for t in targets for e in
                                (t.elts if isinstance(t, ast.Tuple) else [t])]
                        for t in flat:            # self.x = ... (self.cache[k] = ... is fine)
                            if isinstance(t, ast.Attribute) and \
                                    isinstance(t.value, ast.Name) and t.value.id == "self":
                                offences.append(f"{path.name}:{t.lineno} "
                                                f"{cls.name}.{method.name} sets self.{t.attr}")
    assert offences == []


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_forward_caches_exactly_what_the_layer_declares(name):
    layer, in_shape, training = built(name)
    layer.forward(sample_input(name, in_shape, np.random.default_rng(0)), training)
    assert set(layer.cache) <= set(type(layer).keeps)
    for inner in layer.sublayers():
        assert set(inner.cache) <= set(type(inner).keeps)


def test_every_registered_layer_is_a_layer_with_the_contract():
    for name, cls in LAYER_TYPES.items():
        assert issubclass(cls, gn.Layer), name
    layer = gn.Dense(3, name="out", trainable=False, input_shape=(4,))
    assert (layer.name, layer.trainable, layer.input_spec.shape) == ("out", False, (4,))
    assert layer.get_config()["name"] == "out" and layer.get_config()["trainable"] is False
    with pytest.raises(TypeError, match=r"Dense: trainable must be True or False, got 'no'"):
        gn.Dense(3, trainable="no")
    with pytest.raises(TypeError, match=r"Dense: name must be a non-empty string"):
        gn.Dense(3, name=7)


def test_a_layer_that_misses_a_required_method_says_which():
    class Half(gn.Layer):
        pass
    with pytest.raises(NotImplementedError, match=r"Half must define output_shape\(in_shape\)"):
        gn.Sequential([Half()], input_shape=(3,)).build()


def test_embedding_vocabulary_is_not_read_as_a_sequence_length():
    """Embedding's input_dim is its vocabulary; the sequence length comes from the data."""
    for length in (7, 13):
        model = gn.Sequential([gn.Embedding(50, 8), gn.GlobalAveragePooling1D(),
                               gn.Dense(2, activation="softmax")], seed=0)
        X = np.random.default_rng(length).integers(0, 50, size=(40, length))
        y = (X[:, 0] > 25).astype(int)
        model.compile("adam", "sparse_categorical_crossentropy")
        history = model.fit(X, y, epochs=3, batch_size=8, verbose=0)
        assert model.input_shape == (None, length)
        assert history.history["loss"][-1] < history.history["loss"][0]
        assert model.summary(print_fn=None).data["layers"][0]["input_shape"] == [None, length]


# --- a layer written from docs/layers.md --------------------------------------------------------
def _readme_layer_block():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return next(b for b in blocks if "class Quadratic(gn.Layer)" in b)


@pytest.fixture
def quadratic():
    """The README's Quadratic layer, defined by running the README's own code (only the
    class: everything before the first check_layer call)."""
    code = _readme_layer_block().split("\nprint(gn.check_layer")[0]
    namespace = {}
    LAYER_TYPES.pop("Quadratic", None)
    exec(compile(code, "README (Quadratic)", "exec"), namespace)
    yield namespace["Quadratic"]
    LAYER_TYPES.pop("Quadratic", None)


def test_the_readme_layer_passes_check_layer_and_works_everywhere(quadratic, tmp_path):
    assert gn.check_layer(quadratic(5), (4,)).ok
    X, y = gn.datasets.make_circles(300, seed=0)
    model = gn.Sequential([quadratic(2, input_shape=(2,), name="quad"),
                           gn.Activation("softmax")], seed=0)
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=30, verbose=0)
    loss, accuracy = model.evaluate(X, y, verbose=0)         # Keras's [loss, *metrics]
    assert accuracy >= 0.95                                  # circles: one quadratic unit each
    summary = model.summary(print_fn=None)
    assert summary.data["layers"][0]["params"] == {"A": [2, 2], "B": [2, 2], "b": [2]}
    assert summary.data["params"]["trainable"] == 10
    trace = str(model.trace(batch_size=8, backward=True))
    assert "XA = X @ A" in trace and "S = X * X" in trace and "dX += 2 X * dS" in trace
    assert "Each unit a quadratic function" in str(model.explain(X[0]))
    path = tmp_path / "quadratic.glassnet"
    model.save(path)
    loaded = gn.load_model(path)
    assert type(loaded.layers[0]) is quadratic and loaded.layers[0].name == "quad"
    assert np.array_equal(loaded.predict(X), model.predict(X))
    from glassnet import viz
    picture = viz.plot_warp(model, X, y)                    # the pictures read it too
    assert picture.data["steps"][1] == "layer 1: Quadratic(2)"


def test_an_unregistered_layer_in_a_file_is_refused_with_the_fix(quadratic, tmp_path):
    model = gn.Sequential([quadratic(2, input_shape=(2,))])
    model.save(tmp_path / "q.glassnet")
    LAYER_TYPES.pop("Quadratic")
    with pytest.raises(gn.ModelFileError, match=r"unknown layer type 'Quadratic'.*register it "
                                                r"first: glassnet.register_layer\(YourLayer\)"):
        gn.load_model(tmp_path / "q.glassnet")


def test_register_layer_refuses_a_taken_name_and_non_layers():
    class Dense(gn.Layer):
        pass
    with pytest.raises(ValueError, match=r"the name 'Dense' already belongs to "
                                         r"glassnet.layers.dense.Dense"):
        gn.register_layer(Dense)
    with pytest.raises(TypeError, match=r"expected a subclass of glassnet.Layer"):
        gn.register_layer(object)
    assert gn.register_layer(BUILT_IN["Dense"]) is BUILT_IN["Dense"]


# --- check_layer --------------------------------------------------------------------------
class _Scaled(gn.Layer):
    """Y = X @ W with a deliberately wrong dW (twice too large at one entry)."""
    keeps = ("X",)

    def output_shape(self, in_shape):
        return (in_shape[0], 5)

    def param_shapes(self, in_shape):
        return {"W": (in_shape[-1], 5)}

    def forward(self, X, training=False):
        self.cache["X"] = X
        return X @ self.params["W"]

    def backward(self, dY):
        self.grads["W"][...] = self.cache["X"].T @ dY
        self.grads["W"][2, 3] *= 2                      # the bug
        return dY @ self.params["W"].T


def test_check_layer_names_the_wrong_gradient_and_where():
    report = gn.check_layer(_Scaled(), (4,))
    assert not report.ok and report.data["failures"] == ["dW"]
    row = next(r for r in report.sections[0].rows if r[0] == "dW")
    assert row[-1].startswith("WRONG: at (2, 3) backward gives")
    assert next(r for r in report.sections[0].rows if r[0] == "dX")[-1] == "ok"
    with pytest.raises(AssertionError, match=r"FAILED: dW"):
        report.raise_for_failure()


def test_check_layer_catches_a_wrong_output_shape_and_a_transposed_dx():
    class Transposed(_Scaled):
        def backward(self, dY):
            self.grads["W"][...] = self.cache["X"].T @ dY
            return (dY @ self.params["W"].T)[::-1]       # rows in the wrong order

    class Liar(_Scaled):
        def output_shape(self, in_shape):
            return (in_shape[0], 6)
    assert gn.check_layer(Transposed(), (4,)).data["failures"] == ["dX"]
    report = gn.check_layer(Liar(), (4,))
    assert "output" in report.data["failures"]
    assert "output_shape promises (3, 6)" in report.to_text()


def test_check_layer_compares_with_a_pytorch_function():
    layer = gn.Dense(5, activation="tanh")
    report = gn.check_layer(layer, (4,),
                            torch_fn=lambda X, p: (X @ p["W"] + p["b"]).tanh())
    assert report.ok
    assert [r[0] for r in report.sections[0].rows][-3:] == ["torch dX", "torch dW", "torch db"]
    wrong = gn.check_layer(gn.Dense(5, activation="tanh"), (4,),
                           torch_fn=lambda X, p: (X @ p["W"] + p["b"]).sigmoid())
    assert wrong.data["failures"] == ["torch output"]


def test_check_layer_arguments_are_checked():
    with pytest.raises(ValueError, match=r"check_layer: input_shape must be the shape of one "
                                         r"sample"):
        gn.check_layer(gn.Dense(2), (0, 3))
    with pytest.raises(TypeError, match=r"check_layer: expected a glassnet layer"):
        gn.check_layer(object(), (3,))
