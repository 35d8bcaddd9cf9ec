"""Strict numerics for every test: overflow, invalid operations and division by zero
raise. Underflow to zero is left alone: it is the correct IEEE result that the stable
formulas rely on (exp(-1e4) = 0 inside log-sum-exp), not an error."""
import numpy as np
import pytest

np.seterr(all="raise", under="ignore")


@pytest.fixture(autouse=True)
def strict_numerics():
    with np.errstate(all="raise", under="ignore"):
        yield
