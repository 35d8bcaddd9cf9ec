"""glassnet's own training step against the same network exported with ``to_torch`` and
stepped by PyTorch on the CPU (the digits MLP and the small CNN), and data-parallel
throughput with ``train_with_torch``: one process against two (gloo).

    python benchmarks/bench_torch_engine.py [--rounds 9] [--epochs 6]

Step ratios below 1 mean glassnet is faster; rounds alternate; medians.
"""
import argparse
import statistics
import time

import numpy as np
import torch

import glassnet as gn
from bench_mlp import timed


def models():
    mlp = gn.Sequential([gn.Dense(128, activation="relu", input_shape=(64,)),
                         gn.Dense(64, activation="relu"), gn.Dense(10, activation="softmax")])
    cnn = gn.Sequential([gn.Conv2D(8, 3, padding="same", activation="relu"), gn.MaxPool2D(2),
                         gn.Conv2D(16, 3, activation="relu"), gn.Flatten(),
                         gn.Dense(10, activation="softmax")], input_shape=(8, 8, 1))
    return {"digits MLP": (mlp, (64,)), "small CNN": (cnn, (8, 8, 1))}


def step_pair(model, shape, batch=32):
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.build()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, *shape), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    net = gn.to_torch(model, logits=True).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)

    def gn_step():
        model.train_on_batch(X, y)

    def torch_step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X_t), y_t).backward()
        opt.step()
    return gn_step, torch_step


def throughput(nproc, epochs):
    X, y = gn.datasets.load_digits()
    X = gn.datasets.standardize(np.tile(X, (4, 1)))
    y = np.tile(y, 4)
    model = models()["digits MLP"][0]
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    start = time.perf_counter()
    result = gn.train_with_torch(model, X, y, epochs=epochs, batch_size=64, nproc=nproc,
                                 verbose=0)
    total = time.perf_counter() - start
    return epochs * len(X) / result["seconds"], epochs * len(X) / total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    print(f"glassnet {gn.__version__}, torch {torch.__version__}, {args.rounds} rounds, "
          f"medians, batch 32")
    for name, (model, shape) in models().items():
        gn_step, torch_step = step_pair(model, shape)
        timed(gn_step, 20, settle=0), timed(torch_step, 20, settle=0)
        mine, theirs = [], []
        for _ in range(args.rounds):
            mine.append(timed(gn_step, 50))
            theirs.append(timed(torch_step, 50))
        a, b = statistics.median(mine), statistics.median(theirs)
        print(f"{name:>11} step: glassnet {a * 1e6:7.0f} us   exported to PyTorch "
              f"{b * 1e6:7.0f} us   ratio {a / b:.2f}", flush=True)
    (one, one_all), (two, two_all) = throughput(1, args.epochs), throughput(2, args.epochs)
    print(f"train_with_torch, digits MLP x4 (7,188 samples), global batch 64, {args.epochs} "
          f"epochs: 1 process {one:,.0f} samples/s, 2 processes (gloo) {two:,.0f} samples/s, "
          f"ratio {two / one:.2f}; with starting the processes: {one_all:,.0f} against "
          f"{two_all:,.0f} samples/s")


if __name__ == "__main__":
    main()
