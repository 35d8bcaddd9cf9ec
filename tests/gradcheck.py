"""Finite-difference gradient checks (float64, central differences): the same function
``gn.check_layer`` uses, and a scaled comparison."""
import numpy as np

from glassnet.inspect.check import numeric_gradient  # noqa: F401  (used by the tests)


def assert_close(actual, expected, rtol=1e-6, atol=1e-8, what=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.max(np.abs(actual - expected) / (atol + rtol * np.abs(expected)), initial=0)
    assert err <= 1.0, f"{what}: max scaled error {err:.3g} (rtol {rtol}, atol {atol})"
