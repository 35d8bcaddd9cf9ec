"""One optimiser update of the 784-256-128-10 MLP's 235,146 float32 parameters: the NumPy
reference passes (glassnet.optimizers) against the compiled kernel (glassnet.kernels,
numba) on one thread and on every core. Rounds alternate; medians; also the first call's
time in a fresh process (compiling, or loading the compiled code from numba's cache).

    python benchmarks/bench_optimizer.py [--rounds 21] [--optimizers adam,sgd,...]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from glassnet import optimizers as O

SIZE = 235_146
OPTIMIZERS = {"adam": lambda: O.Adam(1e-3), "adamw": lambda: O.AdamW(1e-3),
              "sgd": lambda: O.SGD(0.01, momentum=0.9), "rmsprop": lambda: O.RMSprop(1e-3),
              "adagrad": lambda: O.Adagrad(1e-3)}


def updater(make, fast):
    optimizer = make()
    optimizer.fast = fast
    rng = np.random.default_rng(0)
    p = rng.standard_normal(SIZE, dtype=np.float32)
    g = rng.standard_normal(SIZE, dtype=np.float32) * np.float32(1e-2)
    optimizer.step(p, g)                                      # slots made, kernel loaded
    return lambda: optimizer.step(p, g)


def timed(fn, threads, repeat=200):
    numba.set_num_threads(threads)
    time.sleep(0.05)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


FIRST = """
import time, numpy as np
start = time.perf_counter()
from glassnet import optimizers as O
o = O.{cls}(1e-3)
o.step(np.zeros({n}, np.float32), np.ones({n}, np.float32))
print(time.perf_counter() - start)
"""


def first_call(cls, **env):
    """Seconds for the first update in a fresh process (import of numba included)."""
    out = subprocess.run([sys.executable, "-c", FIRST.format(cls=cls, n=SIZE)], check=True,
                         capture_output=True, text=True, env={**os.environ, **env}).stdout
    return float(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--optimizers", default="adam,sgd,rmsprop,adagrad")
    args = parser.parse_args()
    most = numba.config.NUMBA_NUM_THREADS
    from glassnet import kernels                               # sets the threading layer
    print(f"{SIZE:,} float32 parameters, numba {numba.__version__} "
          f"({kernels.numba.config.THREADING_LAYER} threads), {args.rounds} rounds, "
          f"medians\n")
    print(f"{'optimizer':>9} | {'numpy':>9} {'kernel 1t':>9} {f'kernel {most}t':>9} | "
          f"{'1t/numpy':>8} {f'{most}t/numpy':>8}")
    for name in args.optimizers.split(","):
        fns = {"numpy": (updater(OPTIMIZERS[name], False), 1),
               "one": (updater(OPTIMIZERS[name], True), 1),
               "all": (updater(OPTIMIZERS[name], True), most)}
        times = {k: [] for k in fns}
        for _ in range(args.rounds):
            for k, (fn, threads) in fns.items():
                times[k].append(timed(fn, threads))
        t = {k: statistics.median(v) for k, v in times.items()}
        print(f"{name:>9} | {t['numpy'] * 1e3:6.3f} ms {t['one'] * 1e3:6.3f} ms "
              f"{t['all'] * 1e3:6.3f} ms | {t['one'] / t['numpy']:8.2f} "
              f"{t['all'] / t['numpy']:8.2f}", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        compiling = first_call("Adam", NUMBA_CACHE_DIR=cache)
        cached = first_call("Adam", NUMBA_CACHE_DIR=cache)
    print(f"\nfirst Adam update in a fresh process: {compiling:.2f} s compiling the kernel "
          f"(numba's import included), {cached:.2f} s loading it from numba's cache, "
          f"{first_call('Adam', GLASSNET_FAST='0'):.2f} s with GLASSNET_FAST=0 (NumPy)")

if __name__ == "__main__":
    main()
