"""Weight initialisers, with Keras's names and defaults.

Every initialiser is a function ``init(shape, rng, dtype) -> array`` where
``shape`` is ``(fan_in, fan_out)`` for a Dense kernel and ``rng`` is a
``numpy.random.Generator`` (no global random state is ever used).

Variance-scaling rules (fan_in = inputs, fan_out = outputs):
  glorot (Xavier): Var(W) = 2 / (fan_in + fan_out)   -- Keras's default kernel
  he:              Var(W) = 2 / fan_in               -- for ReLU layers
  lecun:           Var(W) = 1 / fan_in               -- for SELU/tanh layers
"uniform" draws from U(-limit, limit) with limit = sqrt(3 Var); "normal" draws
from a normal truncated at two standard deviations, scaled so the variance is
still Var (as Keras does).
"""
import numpy as np

# Standard deviation of a unit normal truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978


def _fans(shape):
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(shape, std, rng):
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * (std / _TRUNCATED_STD)


def _variance_scaling(scale, mode, distribution):
    def init(shape, rng, dtype=np.float32):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        if distribution == "uniform":
            limit = np.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, size=shape)
        else:
            values = _truncated_normal(shape, np.sqrt(variance), rng)
        return values.astype(dtype)
    return init


def zeros(shape, rng=None, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def ones(shape, rng=None, dtype=np.float32):
    return np.ones(shape, dtype=dtype)


INITIALIZERS = {
    "glorot_uniform": _variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": _variance_scaling(1.0, "fan_avg", "normal"),
    "he_uniform": _variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": _variance_scaling(2.0, "fan_in", "normal"),
    "lecun_uniform": _variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": _variance_scaling(1.0, "fan_in", "normal"),
    "zeros": zeros,
    "ones": ones,
}
INITIALIZERS["xavier_uniform"] = INITIALIZERS["glorot_uniform"]
INITIALIZERS["xavier_normal"] = INITIALIZERS["glorot_normal"]


def get(name, owner="layer"):
    """Look up an initialiser by name, with an error that lists the choices."""
    if not isinstance(name, str) or name not in INITIALIZERS:
        raise ValueError(
            f"{owner}: unknown initializer {name!r}. "
            f"Use one of: {', '.join(sorted(INITIALIZERS))}.")
    return INITIALIZERS[name]


def orthogonal(shape, rng, dtype=np.float32):
    """A (fan_in, fan_out) matrix with orthonormal rows or columns (QR of a normal
    matrix, signs fixed), Keras's default for recurrent kernels."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return q[:rows, :cols].reshape(shape).astype(dtype)


def embedding_uniform(shape, rng, dtype=np.float32):
    """U(-0.05, 0.05), Keras's default for embeddings."""
    return rng.uniform(-0.05, 0.05, size=shape).astype(dtype)


INITIALIZERS["orthogonal"] = orthogonal
INITIALIZERS["uniform"] = embedding_uniform
