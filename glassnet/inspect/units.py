"""How numbers, shapes and sizes are written in reports."""
from ..layers.ops import shape_text as shape  # noqa: F401  (None, 784) -> '(B, 784)'


def count(n):
    return f"{n:,}"


def nbytes(n):
    """Binary units, labelled as such: 1 KiB = 1,024 bytes."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,} bytes"


def per_batch(per_sample, batch, fmt=count, fixed=0):
    """A quantity that grows with the batch: 'B x 1,024' (+ fixed) or its value."""
    if batch is None:
        if not per_sample:
            return fmt(fixed)
        return (f"{fmt(fixed)} + " if fixed else "") + f"B x {fmt(per_sample)}"
    return fmt(fixed + per_sample * batch)


def percentages(values, decimals=1):
    """Shares of the total that add up to exactly 100 when rounded (largest remainder)."""
    total = sum(values)
    if total == 0:
        return [0.0] * len(values)
    scale = 10 ** decimals
    raw = [v * 100 * scale / total for v in values]
    floors = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[:100 * scale - sum(floors)]:
        floors[i] += 1
    return [f / scale for f in floors]
