"""The compiled optimiser kernels (glassnet.kernels, numba) against the NumPy reference
update in glassnet.optimizers: the same parameters after 10 steps, for every optimiser
and option, whatever the number of threads; and glassnet without numba."""
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels
from glassnet import optimizers as O

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> optimiser factory; each runs through one kernel (the value of KERNEL)
OPTIMIZERS = {
    "sgd": lambda: O.SGD(0.05),
    "sgd_momentum_l2": lambda: O.SGD(0.05, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov_clipvalue": lambda: O.SGD(0.05, momentum=0.8, nesterov=True, clipvalue=0.01),
    "rmsprop": lambda: O.RMSprop(0.01),
    "rmsprop_momentum_clipnorm": lambda: O.RMSprop(0.01, rho=0.8, momentum=0.5, clipnorm=0.1),
    "adam": lambda: O.Adam(0.01),
    "adam_l2_global_clipnorm": lambda: O.Adam(0.01, weight_decay=0.1, global_clipnorm=0.05),
    "adam_amsgrad": lambda: O.Adam(0.01, beta_1=0.8, beta_2=0.99, amsgrad=True),
    "adamw": lambda: O.AdamW(0.01, weight_decay=0.1),
    "adamw_amsgrad_schedule": lambda: O.AdamW(
        gn.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5), amsgrad=True),
    "adagrad": lambda: O.Adagrad(0.05),
    "adagrad_l2_clipnorm": lambda: O.Adagrad(0.05, initial_accumulator_value=0.5,
                                             weight_decay=0.01, clipnorm=0.2),
}
KERNEL = {"sgd": "sgd", "rmsprop": "rmsprop", "adam": "adam", "adamw": "adam",
          "adagrad": "adagrad"}


def _train(make, fast, dtype="float32", steps=10):
    """A 64-128-64-10 MLP (17,226 parameters: above MIN_FAST_SIZE) after ``steps`` steps."""
    model = gn.Sequential([gn.Dense(128, activation="relu", input_dim=64),
                           gn.Dense(64, activation="tanh"), gn.Dense(10, activation="softmax")],
                          seed=0, dtype=dtype)
    optimizer = make()
    optimizer.fast = fast
    model.compile(optimizer, "sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    for _ in range(steps):
        model.train_on_batch(rng.normal(size=(32, 64)), rng.integers(0, 10, 32))
    return model


def _spy(monkeypatch):
    """Count the calls of each kernel (the fast path must really run)."""
    calls = {}
    for name in set(KERNEL.values()):
        def counted(*args, _name=name, _kernel=getattr(kernels, name)):
            calls[_name] = calls.get(_name, 0) + 1
            return _kernel(*args)
        monkeypatch.setattr(kernels, name, counted)
    return calls


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_kernel_gives_the_reference_parameters(name, monkeypatch):
    monkeypatch.setenv("GLASSNET_FAST", "1")
    calls = _spy(monkeypatch)
    reference = _train(OPTIMIZERS[name], fast=False)
    assert calls == {}
    fast = _train(OPTIMIZERS[name], fast=True)
    assert calls == {KERNEL[name.split("_")[0]]: 10}
    assert fast.flat_params.size >= O.MIN_FAST_SIZE
    np.testing.assert_allclose(fast.flat_params, reference.flat_params, rtol=1e-6, atol=1e-7)
    for slot in reference.optimizer.slots():
        np.testing.assert_allclose(fast.optimizer.state[slot], reference.optimizer.state[slot],
                                   rtol=1e-6, atol=1e-12, err_msg=f"{name}: slot {slot}")
    assert fast.optimizer.iterations == reference.optimizer.iterations == 10
    assert not np.array_equal(fast.flat_params, _train(OPTIMIZERS[name], True, steps=0)
                              .flat_params)


def test_kernels_in_float64_and_undo_match_the_reference():
    make = OPTIMIZERS["adam_amsgrad"]
    fast, reference = _train(make, True, "float64"), _train(make, False, "float64")
    np.testing.assert_allclose(fast.flat_params, reference.flat_params, rtol=1e-13)
    for model in (fast, reference):                          # undo swaps the slots back
        assert model.optimizer.undo()
    for slot in ("m", "v", "v_max"):
        np.testing.assert_allclose(fast.optimizer.state[slot], reference.optimizer.state[slot],
                                   rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", ["adam_l2_global_clipnorm", "sgd_momentum_l2",
                                  "rmsprop_momentum_clipnorm", "adagrad"])
def test_results_do_not_depend_on_the_number_of_threads(name):
    most = numba.config.NUMBA_NUM_THREADS
    try:
        numba.set_num_threads(1)
        one = _train(OPTIMIZERS[name], fast=True).flat_params
        numba.set_num_threads(most)
        every = _train(OPTIMIZERS[name], fast=True).flat_params
    finally:
        numba.set_num_threads(most)
    np.testing.assert_array_equal(one, every)


def test_small_buffers_and_glassnet_fast_0_take_the_numpy_passes(monkeypatch):
    calls = _spy(monkeypatch)
    model = gn.Sequential([gn.Dense(3, input_dim=2)])
    model.compile(O.Adam(), "mse")
    model.train_on_batch(np.ones((4, 2)), np.ones((4, 3)))
    assert calls == {}                                       # 9 parameters: NumPy
    monkeypatch.setenv("GLASSNET_FAST", "0")
    _train(OPTIMIZERS["adam"], fast=True, steps=2)
    assert calls == {}
    assert not kernels.enabled()
    monkeypatch.delenv("GLASSNET_FAST")                      # opt-in: off unless asked
    _train(OPTIMIZERS["adam"], fast=True, steps=2)
    assert calls == {} and not kernels.enabled()


SCRIPT = """
import sys
{block}
import numpy as np
import glassnet as gn
assert sys.modules.get("numba") is None, "import glassnet loaded numba"
model = gn.Sequential([gn.Dense(128, activation="relu", input_dim=64),
                       gn.Dense(64, activation="tanh"), gn.Dense(10, activation="softmax")],
                      seed=0)
model.compile(gn.optimizers.Adam(0.01, amsgrad=True), "sparse_categorical_crossentropy")
rng = np.random.default_rng(1)
for _ in range(10):
    model.train_on_batch(rng.normal(size=(32, 64)), rng.integers(0, 10, 32))
print("numba loaded:", sys.modules.get("numba") is not None)
np.save(sys.argv[1], model.flat_params)
"""


@pytest.mark.parametrize("how", ["numba missing", "GLASSNET_FAST=0"])
def test_glassnet_trains_without_numba(how, tmp_path):
    """With numba unimportable (as in the default install), or turned off, glassnet
    imports and trains on the NumPy passes, to the same parameters."""
    block = "sys.modules['numba'] = None  # import numba fails" if how == "numba missing" \
        else ""
    env = {**os.environ, "PYTHONPATH": ROOT, "GLASSNET_FAST": "0" if "=0" in how else "1"}
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(block=block),
                             str(tmp_path / "p.npy")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "numba loaded: False" in result.stdout
    expected = _train(lambda: O.Adam(0.01, amsgrad=True), fast=False).flat_params
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)
