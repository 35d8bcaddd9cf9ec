"""One training step (train_on_batch: forward, loss, backward, Adam) of the 784-256-128-10
MLP at the batch size given; prints microseconds per step. Run it in alternating rounds with
and without GLASSNET_FAST=1, or in two checkouts (PYTHONPATH) to compare versions:

    for r in 1 2 3 4 5; do python benchmarks/bench_step.py 32
                           GLASSNET_FAST=1 python benchmarks/bench_step.py 32; done
"""
import sys
import time

import numpy as np

import glassnet as gn

b = int(sys.argv[1])
m = gn.Sequential([gn.Dense(256, activation="relu", input_dim=784),
                   gn.Dense(128, activation="relu"), gn.Dense(10, activation="softmax")], seed=0)
m.compile("adam", "sparse_categorical_crossentropy")
X = np.random.default_rng(0).normal(size=(b, 784)).astype(np.float32)
y = np.arange(b) % 10
for _ in range(30):
    m.train_on_batch(X, y)
n = max(30, 3000 // b)
t = time.perf_counter()
for _ in range(n):
    m.train_on_batch(X, y)
print((time.perf_counter() - t) / n * 1e6)
