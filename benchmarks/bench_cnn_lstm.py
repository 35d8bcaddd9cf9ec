"""glassnet against PyTorch (eager, CPU) and JAX (jit) on a small CNN and an LSTM
training step.

CNN: input (32, 28, 28, 1), Conv 8 3x3, ReLU, MaxPool 2, Conv 16 3x3, ReLU, MaxPool 2,
Dense 10 (softmax cross-entropy, Adam). LSTM: (32, 20, 16) sequences, LSTM 64, Dense 10.
glassnet runs with its compiled optimiser kernels when numba is installed ("glassnet")
and with the NumPy reference update ("numpy", the default install); JAX compiles the
whole step, optax's Adam included, with ``jax.jit``. The libraries alternate round by
round; medians; ratios below 1 mean glassnet is faster.

    python benchmarks/bench_cnn_lstm.py [--rounds 11] [--only cnn|lstm]
"""
import argparse

import numpy as np
import torch

import glassnet as gn
from bench_mlp import alternate, kernels_enabled, reference_step, training_steps
from jax_twins import cnn_step, lstm_step, versions


def cnn_pair():
    model = gn.Sequential([gn.Conv2D(8, 3, activation="relu"), gn.MaxPool2D(2),
                           gn.Conv2D(16, 3, activation="relu"), gn.MaxPool2D(2), gn.Flatten(),
                           gn.Dense(10, activation="softmax")], input_shape=(28, 28, 1))
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(8, 16, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(400, 10))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    return model, net, X, torch.from_numpy(X.transpose(0, 3, 1, 2).copy()), y


def lstm_pair():
    model = gn.Sequential([gn.LSTM(64), gn.Dense(10, activation="softmax")],
                          input_shape=(20, 16))
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.out = torch.nn.LSTM(16, 64, batch_first=True), torch.nn.Linear(64, 10)

        def forward(self, x):
            return self.out(self.lstm(x)[0][:, -1])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 20, 16), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    return model, Net(), X, torch.from_numpy(X), y


def bench(make, jax_twin, rounds):
    model, net, X, X_t, y = make()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gn_step, torch_step = training_steps(model, net, opt, X, y, X_t)
    fns = {"glassnet": gn_step, "numpy": reference_step(make, X, y), "torch": torch_step,
           "jax": jax_twin(make()[0], X, y)}
    return alternate(fns, 20, rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--only", choices=["cnn", "lstm"])
    args = parser.parse_args()
    print(f"glassnet {gn.__version__} (compiled kernels: "
          f"{'yes' if kernels_enabled() else 'no'}), torch {torch.__version__}, {versions()}, "
          f"{args.rounds} rounds, medians")
    for name, make, twin in (("cnn", cnn_pair, cnn_step), ("lstm", lstm_pair, lstm_step)):
        if args.only and args.only != name:
            continue
        t = bench(make, twin, args.rounds)
        print(f"{name:>5} step: " + "  ".join(f"{k} {v * 1e3:6.2f} ms" for k, v in t.items())
              + f"   glassnet/torch {t['glassnet'] / t['torch']:.2f}  glassnet/jax "
              f"{t['glassnet'] / t['jax']:.2f}  numpy/torch {t['numpy'] / t['torch']:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
