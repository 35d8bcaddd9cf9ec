"""Finite-difference gradient checks (float64, central differences)."""
import numpy as np


def numeric_gradient(f, x, eps=1e-6):
    """d f / d x for a scalar function f of the array x (changed in place, restored)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def assert_close(actual, expected, rtol=1e-6, atol=1e-8, what=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.max(np.abs(actual - expected) / (atol + rtol * np.abs(expected)), initial=0)
    assert err <= 1.0, f"{what}: max scaled error {err:.3g} (rtol {rtol}, atol {atol})"
