"""glassnet against PyTorch (eager, CPU) and JAX (jit) on one training step of a
784-256-128-10 MLP.

Measures, in one run with the libraries alternating round by round, the median
time of
  - a training step: forward, softmax cross-entropy, backward, Adam update
    (glassnet ``train_on_batch``, with its compiled optimiser kernels when numba is
    installed -- "glassnet" -- and with the NumPy reference update, as the default
    install runs it -- "numpy"; PyTorch zero_grad / forward / loss / backward / step;
    JAX: the whole step, optax's Adam included, compiled by ``jax.jit``);
  - the forward pass alone (glassnet ``forward``; PyTorch under ``no_grad``);
  - the bare matrix products the forward pass consists of (X @ W1, H1 @ W2, H2 @ W3),
    and the same forward pass written by hand in NumPy (products, bias adds, ReLU,
    softmax), which shows what glassnet adds over plain NumPy;
at batch sizes 1, 32, 128 and 1024, float32, and prints the ratios.

    python benchmarks/bench_mlp.py [--rounds 15] [--batches 1,32,128,1024] [--steps-only]

Ratios below 1 mean glassnet is faster. The machines this runs on are shared and
noisy: compare ratios from one run, never absolute times from different runs.
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import glassnet as gn
from jax_twins import mlp_step, versions

SIZES = (784, 256, 128, 10)


def timed(fn, repeat, settle=0.25):
    """Mean seconds per call of ``fn`` over ``repeat`` calls.

    Both libraries leave worker threads spinning for a while after parallel work
    (OpenBLAS after a GEMM, PyTorch's OpenMP pool after an op); measured right after
    the other library, either would share the second core with those spinning threads.
    Sleeping ``settle`` seconds first lets them go idle, so each library is timed as
    it runs on its own.
    """
    time.sleep(settle)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def training_steps(model, net, opt, X, y, X_t=None):
    """One training step of each library on the same batch: (glassnet, PyTorch).
    ``X_t``: the batch in PyTorch's layout, where it differs (NCHW images)."""
    X_t = torch.from_numpy(X) if X_t is None else X_t
    y_t = torch.from_numpy(y)

    def gn_step():
        model.train_on_batch(X, y)

    def torch_step():
        opt.zero_grad()
        F.cross_entropy(net(X_t), y_t).backward()
        opt.step()
    return gn_step, torch_step


def make_pair(seed=0):
    model = gn.Sequential([gn.Dense(256, activation="relu", input_dim=784),
                           gn.Dense(128, activation="relu"),
                           gn.Dense(10, activation="softmax")], seed=seed)
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.build()
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    with torch.no_grad():                      # same weights (glassnet W is torch weight.T)
        for linear, layer in zip(net[::2], model.layers):
            linear.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.params["b"]))
    return model, net, torch.optim.Adam(net.parameters(), lr=1e-3)


def reference_step(make, X, y):
    """glassnet's step with the NumPy reference update (what the default install runs)."""
    model = make()[0]
    model.optimizer.fast = False
    return lambda: model.train_on_batch(X, y)


def bench(batch, rounds, steps_only=False):
    rng = np.random.default_rng(batch)
    X = rng.standard_normal((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    X_t = torch.from_numpy(X)
    model, net, opt = make_pair()
    Ws = [layer.params["W"] for layer in model.layers]
    bs = [layer.params["b"] for layer in model.layers]
    gn_step, torch_step = training_steps(model, net, opt, X, y)
    numpy_step = reference_step(make_pair, X, y)
    jax_step = mlp_step(make_pair()[0], X, y)

    def gn_forward():
        model.forward(X)

    def torch_forward():
        with torch.no_grad():
            net(X_t)

    def bare_matmuls():
        H = X
        for W in Ws:
            H = H @ W

    def numpy_forward():
        H = X
        for i, (W, b) in enumerate(zip(Ws, bs)):
            Z = H @ W
            Z += b
            H = np.maximum(Z, 0) if i < 2 else gn.softmax(Z)

    repeat = max(3, int(500 / max(batch, 1) ** 0.7))
    fns = {"gn_step": gn_step, "numpy_step": numpy_step, "torch_step": torch_step,
           "jax_step": jax_step}
    if not steps_only:
        fns.update(gn_forward=gn_forward, torch_forward=torch_forward, matmuls=bare_matmuls,
                   numpy=numpy_forward)
    return alternate(fns, repeat, rounds)


def alternate(fns, repeat, rounds):
    """Median seconds per call of each function, timed in turn, round by round."""
    for fn in fns.values():
        timed(fn, repeat, settle=0)                          # warm up
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(timed(fn, repeat))
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batches", default="1,32,128,1024")
    parser.add_argument("--steps-only", action="store_true",
                        help="time the training steps alone (not the forward passes)")
    args = parser.parse_args()
    fast = gn.optimizers.Adam().fast and kernels_enabled()
    print(f"glassnet {gn.__version__} (compiled kernels: {'yes' if fast else 'no'}), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), {versions()}, "
          f"{args.rounds} rounds, medians; ratios below 1: glassnet is faster\n")
    us = lambda s: f"{s * 1e6:,.0f} us"  # noqa: E731
    header = (f"{'batch':>6} | {'glassnet':>9} {'numpy':>9} {'torch':>9} {'jax':>9} | "
              f"{'gn/jax':>6} {'gn/torch':>8} {'numpy/torch':>11}")
    if not args.steps_only:
        header += (f" | {'gn fwd':>8} {'torch fwd':>9} {'ratio':>6} | {'matmuls':>8} "
                   f"{'fwd/matmuls':>11} | {'numpy fwd':>9} {'fwd/numpy':>9}")
    print(header)
    print("-" * len(header))
    for batch in map(int, args.batches.split(",")):
        t = bench(batch, args.rounds, args.steps_only)
        line = (f"{batch:>6} | {us(t['gn_step']):>9} {us(t['numpy_step']):>9} "
                f"{us(t['torch_step']):>9} {us(t['jax_step']):>9} | "
                f"{t['gn_step'] / t['jax_step']:>6.2f} {t['gn_step'] / t['torch_step']:>8.2f} "
                f"{t['numpy_step'] / t['torch_step']:>11.2f}")
        if not args.steps_only:
            line += (f" | {us(t['gn_forward']):>8} {us(t['torch_forward']):>9} "
                     f"{t['gn_forward'] / t['torch_forward']:>6.2f} | {us(t['matmuls']):>8} "
                     f"{t['gn_forward'] / t['matmuls']:>11.2f} | {us(t['numpy']):>9} "
                     f"{t['gn_forward'] / t['numpy']:>9.2f}")
        print(line, flush=True)


def kernels_enabled():
    """Whether glassnet's compiled optimiser kernels run here (numba installed, not off)."""
    from glassnet import kernels
    return kernels.enabled()


if __name__ == "__main__":
    main()
