"""check_layer: the gradient check glassnet runs on its own layers, for yours.

In float64, with random parameters, a random input and a random upstream gradient G, the
layer's backward pass (dX and every d-parameter) is compared with central finite
differences of L = sum(forward(X) * G). It also checks that the output has the shape
``output_shape`` promises, that every gradient has its parameter's shape, and that the
typed description (``ops``) ends in that shape. Optionally the outputs and gradients are
compared with a PyTorch function of your own (``torch_fn``).
"""
import numpy as np

from ..layers.base import Layer
from ..layers.ops import shape_text
from ..validate import number, sample_shape, whole_number
from .report import Report, Section


def _away_from_kinks(X):
    """Inputs at least 0.1 from 0, where relu and friends have no derivative."""
    return np.where(np.abs(X) < 0.1, X + 0.3 * np.sign(X + 1e-12), X)


def _compare(name, analytic, numeric, rtol, atol):
    """(row, ok): the largest scaled error of ``analytic`` against ``numeric``."""
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    if analytic.shape != numeric.shape:
        return [name, shape_text(numeric.shape), "-", "-",
                f"WRONG SHAPE: backward gives {shape_text(analytic.shape)}"], False
    if analytic.size == 0:
        return [name, shape_text(numeric.shape), "0", "0", "ok (empty)"], True
    diff = np.abs(analytic - numeric)
    scaled = diff / (atol + rtol * np.abs(numeric))
    worst = np.unravel_index(int(np.argmax(scaled)), scaled.shape)
    ok = bool(scaled.max() <= 1.0)
    relative = diff / np.maximum(np.abs(numeric), atol)
    verdict = "ok" if ok else (f"WRONG: at {tuple(int(i) for i in worst)} backward gives "
                               f"{analytic[worst]:.6g}, finite differences "
                               f"{numeric[worst]:.6g}")
    return [name, shape_text(numeric.shape), f"{diff.max():.2e}", f"{relative.max():.2e}",
            verdict], ok


def numeric_gradient(loss, x, eps=1e-6, indices=None):
    """d loss() / d x by central differences (x is changed in place and restored), at the
    flat ``indices`` given (all entries by default; the others stay 0)."""
    grad = np.zeros(x.shape)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + eps
        plus = loss()
        flat[i] = old - eps
        minus = loss()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def check_layer(layer, input_shape, batch_size=3, training=True, seed=0, rtol=1e-6,
                atol=1e-7, eps=1e-6, max_entries=400, X=None, torch_fn=None):
    """Check ``layer``'s backward pass against finite differences; returns a report.

    Args:
        layer: a fresh layer (it is built here, in float64, with random parameters drawn
            from N(0, 1) and random state from U(0.5, 1.5)).
        input_shape: the shape of one sample, e.g. ``(4,)`` or ``(5, 3)``.
        batch_size: samples in the random batch (3 by default: a transposed formula
            with batch == features would pass unnoticed, so keep the sizes distinct).
        training: run forward in training mode (dropout masks are replayed exactly).
        seed: seed of the parameters, the input and the upstream gradient.
        rtol, atol: the tolerance; an entry passes when |analytic - numeric| <=
            atol + rtol |numeric|.
        max_entries: at most this many entries per array are checked (chosen at random;
            every entry of small arrays).
        X: your own input batch instead of a random one.
        torch_fn: optional ``torch_fn(X, params) -> Y`` in PyTorch (float64 tensors with
            ``requires_grad``, params by name in glassnet's layout): its outputs and
            autograd gradients are compared with the layer's too.

    The report prints as a table, ``report.ok`` says whether every check passed and
    ``report.data["failures"]`` names the wrong gradients. Raise on failure with
    ``report.raise_for_failure()``.
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"check_layer: expected a glassnet layer, got {layer!r}.")
    input_shape = sample_shape(input_shape, "input_shape", "check_layer")
    batch_size = whole_number(batch_size, "batch_size", "check_layer")
    max_entries = whole_number(max_entries, "max_entries", "check_layer")
    for name, value in (("rtol", rtol), ("atol", atol), ("eps", eps)):
        number(value, name, "check_layer", 0, low_open=name != "atol")
    rng = np.random.default_rng(seed)
    in_shape = (None, *input_shape)
    out_shape = layer.build(in_shape, np.random.default_rng([seed, 1]), np.float64)
    for k in layer.params:
        layer.params[k][...] = rng.normal(size=layer.params[k].shape)
    for k in layer.state:                  # positive, as running variances must be
        layer.state[k][...] = rng.uniform(0.5, 1.5, size=layer.state[k].shape)
    if X is None:
        spec = layer.input_spec
        if spec.dtype == "int":
            X = rng.integers(0, spec.high or 10, size=(batch_size, *input_shape))
        else:
            X = _away_from_kinks(rng.normal(size=(batch_size, *input_shape)))
    X = np.array(X, dtype=np.int64 if layer.input_spec.dtype == "int" else np.float64)
    saved = layer.rng.bit_generator.state if layer.rng is not None else None

    def forward(inputs):
        if saved is not None:
            layer.rng.bit_generator.state = saved           # the same dropout mask each time
        return layer.forward(inputs, training=training)

    rows, failures = [], []
    Y = forward(X)
    promised = (X.shape[0], *out_shape[1:])
    described = layer.ops(in_shape)[-1].shape if layer.ops(in_shape) else out_shape
    shape_ok = Y.shape == promised
    rows.append(["output", shape_text(Y.shape), "-", "-", "ok" if shape_ok else
                 f"WRONG: output_shape promises {shape_text(promised)}"])
    if tuple(described[1:]) != tuple(out_shape[1:]):
        rows.append(["ops", shape_text(described), "-", "-",
                     f"WRONG: ops() end in {shape_text(described)}, output_shape gives "
                     f"{shape_text(out_shape)}"])
        failures.append("ops")
    if not shape_ok:
        failures.append("output")
    G = rng.normal(size=Y.shape)
    layer.need_dX = True
    dX = layer.backward(G)
    analytic = {k: np.array(g, float) for k, g in layer.grads.items()}
    missing = sorted(set(layer.params) - set(layer.grads))
    for k in missing:
        rows.append([f"d{k}", shape_text(layer.params[k].shape), "-", "-",
                     "WRONG: backward left no gradient"])
        failures.append(f"d{k}")

    def loss():                             # + the regularizers' penalty, if any
        return float(np.sum(forward(X) * G)) + layer.penalty()

    def entries(size):
        return np.arange(size) if size <= max_entries else \
            np.sort(rng.choice(size, max_entries, replace=False))

    targets = [("dX", X, dX)] if layer.input_spec.dtype != "int" else []
    targets += [(f"d{k}", layer.params[k], analytic[k]) for k in layer.params
                if k not in missing]
    for name, array, grad in targets:
        if grad is None:
            rows.append([name, shape_text(array.shape), "-", "-",
                         "WRONG: backward returned None"])
            failures.append(name)
            continue
        chosen = entries(array.size)
        numeric = numeric_gradient(loss, array, eps, chosen)
        grad = np.asarray(grad, float)
        if grad.shape == array.shape:
            keep = np.zeros(array.size, bool)
            keep[chosen] = True
            grad = np.where(keep.reshape(array.shape), grad, 0.0)
        row, ok = _compare(name, grad, numeric, rtol, atol)
        if len(chosen) < array.size:
            row[-1] += f" ({len(chosen)} of {array.size} entries)"
        rows.append(row)
        if not ok:
            failures.append(name)
    if torch_fn is not None:
        failures += _against_torch(layer, X, G, Y, dX, analytic, torch_fn, rows, rtol, atol)
    title = f"Gradient check of {layer!r} on a batch of {X.shape[0]} x {input_shape}"
    lines = [f"float64; random parameters, input and upstream gradient G (seed {seed}); "
             f"L = sum(forward(X) * G) + the layer's penalty; central differences with "
             f"eps = {eps:g}; tolerance "
             f"atol {atol:g} + rtol {rtol:g} x |numeric|.",
             "All checks passed." if not failures else
             f"FAILED: {', '.join(failures)}. A wrong gradient usually comes from a formula "
             f"transposed, a missing sum over the batch, or a forgotten term of the chain "
             f"rule."]
    section = Section(columns=["Check", "Shape", "Max |error|", "Max relative", "Result"],
                      rows=rows, lines=lines, align=["l", "l", "r", "r", "l"])
    return LayerCheck(title, [section], {"ok": not failures, "failures": failures})


def _against_torch(layer, X, G, Y, dX, analytic, torch_fn, rows, rtol, atol):
    try:
        import torch
    except ImportError:
        raise ImportError("check_layer(torch_fn=...) compares with PyTorch, which is not "
                          "installed: pip install 'glassnet[torch]'.") from None
    is_int = layer.input_spec.dtype == "int"
    X_t = torch.tensor(X) if is_int else torch.tensor(X, dtype=torch.float64,
                                                      requires_grad=True)
    params = {k: torch.tensor(np.array(v), dtype=torch.float64, requires_grad=True)
              for k, v in layer.params.items()}
    Y_t = torch_fn(X_t, params)
    failures = []
    row, ok = _compare("torch output", Y, Y_t.detach().numpy(), rtol, atol)
    rows.append(row)
    if not ok:
        failures.append("torch output")
        return failures
    (Y_t * torch.tensor(G)).sum().backward()
    pairs = [] if is_int else [("torch dX", dX, X_t.grad)]
    pairs += [(f"torch d{k}", analytic[k], params[k].grad) for k in params]
    for name, mine, theirs in pairs:
        theirs = np.zeros(np.shape(mine)) if theirs is None else theirs.numpy()
        row, ok = _compare(name, mine, theirs, rtol, atol)
        rows.append(row)
        if not ok:
            failures.append(name)
    return failures


class LayerCheck(Report):
    """The result of ``check_layer``: a report with ``ok``."""

    @property
    def ok(self):
        return self.data["ok"]

    def raise_for_failure(self):
        """Raise ``AssertionError`` with the report when a check failed."""
        if not self.ok:
            raise AssertionError(self.to_text())
        return self
