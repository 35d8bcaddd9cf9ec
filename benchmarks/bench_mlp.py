"""glassnet against PyTorch (eager, CPU) on one training step of a 784-256-128-10 MLP.

Measures, in one run with the two libraries alternating round by round, the median
time of
  - a training step: forward, softmax cross-entropy, backward, Adam update
    (glassnet ``train_on_batch``; PyTorch zero_grad / forward / loss / backward / step);
  - the forward pass alone (glassnet ``forward``; PyTorch under ``no_grad``);
  - the bare matrix products the forward pass consists of (X @ W1, H1 @ W2, H2 @ W3),
    and the same forward pass written by hand in NumPy (products, bias adds, ReLU,
    softmax), which shows what glassnet adds over plain NumPy;
at batch sizes 1, 32, 128 and 1024, float32, and prints the ratios.

    python benchmarks/bench_mlp.py [--rounds 15] [--batches 1,32,128,1024]

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


def bench(batch, rounds):
    rng = np.random.default_rng(batch)
    X = rng.standard_normal((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    X_t = torch.from_numpy(X)
    model, net, opt = make_pair()
    Ws = [layer.params["W"] for layer in model.layers]
    bs = [layer.params["b"] for layer in model.layers]
    gn_step, torch_step = training_steps(model, net, opt, X, y)

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
    for fn in (gn_step, torch_step, gn_forward, torch_forward, bare_matmuls, numpy_forward):
        timed(fn, repeat, settle=0)                          # warm up
    times = {name: [] for name in ("gn_step", "torch_step", "gn_forward", "torch_forward",
                                   "matmuls", "numpy")}
    for _ in range(rounds):                                  # alternate, round by round
        times["gn_step"].append(timed(gn_step, repeat))
        times["torch_step"].append(timed(torch_step, repeat))
        times["gn_forward"].append(timed(gn_forward, repeat))
        times["torch_forward"].append(timed(torch_forward, repeat))
        times["matmuls"].append(timed(bare_matmuls, repeat))
        times["numpy"].append(timed(numpy_forward, repeat))
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batches", default="1,32,128,1024")
    args = parser.parse_args()
    print(f"glassnet {gn.__version__}, numpy {np.__version__}, torch {torch.__version__}, "
          f"torch threads {torch.get_num_threads()}, {args.rounds} rounds, medians\n")
    header = (f"{'batch':>6} | {'glassnet step':>13} {'torch step':>11} {'ratio':>6} | "
              f"{'glassnet fwd':>12} {'torch fwd':>10} {'ratio':>6} | {'matmuls':>8} "
              f"{'fwd/matmuls':>11} | {'numpy fwd':>9} {'fwd/numpy':>9}")
    print(header)
    print("-" * len(header))
    for batch in map(int, args.batches.split(",")):
        t = bench(batch, args.rounds)
        us = lambda s: f"{s * 1e6:,.0f} us"  # noqa: E731
        print(f"{batch:>6} | {us(t['gn_step']):>13} {us(t['torch_step']):>11} "
              f"{t['gn_step'] / t['torch_step']:>6.2f} | {us(t['gn_forward']):>12} "
              f"{us(t['torch_forward']):>10} {t['gn_forward'] / t['torch_forward']:>6.2f} | "
              f"{us(t['matmuls']):>8} {t['gn_forward'] / t['matmuls']:>11.2f} | "
              f"{us(t['numpy']):>9} {t['gn_forward'] / t['numpy']:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
