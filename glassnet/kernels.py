"""Compiled kernels: each optimiser's update as one loop over the numbers, on every core.

``glassnet.optimizers`` writes an update as NumPy passes: ``m = b1 m + (1 - b1) g`` is
three passes over the whole flat buffer (multiply, multiply, add), and Adam needs about a
dozen. Each pass reads and writes whole arrays (235k numbers for a small MLP), on one
core. The loops below do the same arithmetic, in the same order, one number at a time:
each number of p, g, m and v is read once and written once, and ``prange`` splits the
loop over the cores. numba compiles them on first use and keeps the machine code on disk
(``cache=True``), so later runs load it instead of compiling again.

This module is optional: it is imported on the first optimiser step (never by
``import glassnet``), and used only when numba is installed (``pip install
glassnet[fast]``) and the environment variable ``GLASSNET_FAST`` is ``1``. Without it
the NumPy passes in ``glassnet.optimizers`` run -- they are the reference that
tests/test_fast_paths.py compares every kernel with.

Every kernel starts from the gradient as the optimiser's ``step`` prepared it:
    g = g * scale + decay * p     (scale: global_clipnorm's factor, else 1;
                                   decay: L2 weight decay, else 0)
written without a branch (a loop without one runs on vector instructions; multiplying
by 1 and adding 0 change no finite number), and every number is of the buffer's dtype
(the scalars are passed as that dtype), so float32 buffers are computed in float32, as
NumPy computes them.
"""
import os

import numpy as np

try:
    import numba
    from numba import prange
except ImportError:              # glassnet works without numba: the NumPy passes run
    numba = None
    prange = range

if numba is not None and "NUMBA_THREADING_LAYER" not in os.environ:
    # numba's default, OpenMP, keeps its threads spinning after each loop; on two cores
    # they take the time OpenBLAS's threads need for the next matrix product (a loaded
    # machine's Adam update went from 0.3 to 1-4 ms). The workqueue layer's threads sleep.
    # NUMBA_THREADING_LAYER, when set, chooses instead.
    numba.config.THREADING_LAYER = "workqueue"


def enabled():
    """Whether the optimisers use these kernels: numba installed and GLASSNET_FAST=1
    (then each optimiser whose ``fast`` is True, on buffers of MIN_FAST_SIZE or more).
    They are opt-in: on the idle 2-core machine a whole MLP step measured slower with
    them at batch 1 and 128 (numba's threads and OpenBLAS's contend for the two cores),
    faster only at batch 32 (docs/speed.md)."""
    return numba is not None and os.environ.get("GLASSNET_FAST") == "1"


def compiled(loop):
    """``loop`` compiled for every core, cached on disk (as itself without numba)."""
    if numba is None:
        return loop
    return numba.njit(parallel=True, cache=True, nogil=True)(loop)


@compiled
def sgd(p, g, scale, decay, lr, momentum, of_buf, of_g, buf_before, buf):
    """buf = momentum buf + g;  d = of_buf buf + of_g g;  p -= lr d
    (Nesterov: of_buf = momentum, of_g = 1, so d = g + momentum buf; plain momentum:
    of_buf = 1, of_g = 0, so d = buf; no momentum: no buf, d = g)"""
    if momentum == 0:
        for i in prange(p.size):
            gi = g[i] * scale + decay * p[i]
            p[i] = p[i] - gi * lr
        return
    for i in prange(p.size):
        gi = g[i] * scale + decay * p[i]
        b = buf_before[i] * momentum + gi
        buf[i] = b
        p[i] = p[i] - (b * of_buf + gi * of_g) * lr


@compiled
def rmsprop(p, g, scale, decay, lr, rho, one_minus_rho, eps, s_before, s, momentum,
            buf_before, buf):
    """s = rho s + (1 - rho) g^2;  d = g / (sqrt(s) + eps);
    with momentum: buf = momentum buf + d, d = buf;  p -= lr d"""
    for i in prange(p.size):
        gi = g[i] * scale + decay * p[i]
        si = s_before[i] * rho + (gi * gi) * one_minus_rho
        s[i] = si
        d = gi / (np.sqrt(si) + eps)
        if momentum != 0:
            d = buf_before[i] * momentum + d
            buf[i] = d
        p[i] = p[i] - d * lr


@compiled
def adam(p, g, scale, decay, shrink, b1, one_minus_b1, b2, one_minus_b2, eps_c, step,
         m_before, m, v_before, v, amsgrad, v_max_before, v_max):
    """AdamW's decoupled decay: p = shrink p, shrink = 1 - lr wd (1 for Adam);
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  amsgrad: v_max = max(v_max, v);
    p -= step m / (sqrt(v) + eps c), with c = sqrt(1 - b2^t), step = lr c / (1 - b1^t)
    (that is, p -= lr m_hat / (sqrt(v_hat) + eps))"""
    for i in prange(p.size):
        gi = g[i] * scale + decay * p[i]
        mi = m_before[i] * b1 + gi * one_minus_b1
        vi = v_before[i] * b2 + (gi * gi) * one_minus_b2
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = max(v_max_before[i], vi)
            v_max[i] = vi
        p[i] = p[i] * shrink - mi / (np.sqrt(vi) + eps_c) * step


@compiled
def adagrad(p, g, scale, decay, lr, eps, a_before, a):
    """a = a + g^2;  p -= lr g / sqrt(a + eps)"""
    for i in prange(p.size):
        gi = g[i] * scale + decay * p[i]
        ai = a_before[i] + gi * gi
        a[i] = ai
        p[i] = p[i] - gi / np.sqrt(ai + eps) * lr
