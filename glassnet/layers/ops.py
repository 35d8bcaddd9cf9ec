"""What a layer computes, as data: the typed operations of its forward pass, each with
its shapes, its multiply-accumulates and its backward formulas.

A layer's ``ops(in_shape)`` returns a list of these; ``summary``, ``trace``, ``explain``
and the pictures read them (and nothing else), so no view keeps its own idea of what a
layer does. Shapes carry ``None`` for a symbolic batch. Every op has

- ``out``: the name of its result (``Z``, ``Y``, ...) and ``shape``, the result's shape;
- ``stored``: how many result-sized arrays it keeps for the backward pass (memory);
- ``macs()``: multiply-accumulates per sample; ``adds()``: bias additions per sample;
- ``formula()``, ``shapes()``, ``note()``: one row of the forward trace;
- ``backward(first)``: the rows of its backward pass, in the order they run
  (``first``: the op belongs to the model's first layer, whose dX is never needed).

A custom layer may describe itself with these types or with ``Op`` (a formula of its
own); the default description of a layer is one ``Op`` from X to Y.
"""
import math
from dataclasses import asdict, dataclass


def shape_text(shape, batch_name="B"):
    """(None, 784) -> '(B, 784)'; (784,) -> '(784,)'."""
    parts = [batch_name if d is None else str(d) for d in shape]
    return f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def _per_sample(shape):
    return math.prod(shape[1:])


@dataclass
class Op:
    """A generic operation: ``Y = text`` with the given shapes (for custom layers).

    ``backward_text`` is the formula its backward pass computes ("dX = ...")."""
    out: str = "Y"
    a: str = "X"
    a_shape: tuple = ()
    shape: tuple = ()
    text: str = ""
    backward_text: str = "dX = backward(dY)"
    stored: int = 1
    note_text: str = ""
    in_shapes: tuple = ()          # several inputs (a merge): their shapes
    kind = "op"

    def macs(self):
        return 0

    def adds(self):
        return 0

    def formula(self):
        return f"{self.out} = {self.text or 'f(' + self.a + ')'}"

    def shapes(self):
        given = ", ".join(map(shape_text, self.in_shapes)) if self.in_shapes else \
            shape_text(self.a_shape)
        return f"{given} -> {shape_text(self.shape)}"

    def note(self):
        return self.note_text

    def backward(self, first=False):
        given = ", ".join(map(shape_text, self.in_shapes)) if self.in_shapes else \
            shape_text(self.a_shape)
        return [(self.backward_text, f"{shape_text(self.shape)} -> {given}", "")]

    def to_dict(self):
        return {"op": self.kind, **{k: list(v) if isinstance(v, tuple) else v
                                    for k, v in asdict(self).items()}}


@dataclass
class MatMul(Op):
    """out = a @ b: a (batch, ..., inner) @ b (inner, cols), every leading axis a row."""
    b: str = "W"
    b_shape: tuple = ()
    kind = "matmul"

    def macs(self):
        return _per_sample(self.a_shape) * self.b_shape[-1]

    def formula(self):
        return f"{self.out} = {self.a} @ {self.b}"

    def shapes(self):
        return f"{shape_text(self.a_shape)} @ {shape_text(self.b_shape)} -> " \
               f"{shape_text(self.shape)}"

    def note(self):
        batch, rows = self.a_shape[0], self.a_shape[1:-1]
        kept = f"batch {'B' if batch is None else batch}" + \
            (f" and {' x '.join(map(str, rows))} rows stay" if rows else " stays")
        macs = (batch or 1) * self.macs()
        note = f"inner {self.a_shape[-1]} vanishes, {kept}; " \
               f"{'B x ' if batch is None else ''}{macs:,} MACs"
        return f"{self.note_text}; {note}" if self.note_text else note

    def backward(self, first=False):
        inner, cols, lead = self.a_shape[-1], self.b_shape[-1], self.a_shape[:-1]
        flat = "B" if lead[0] is None else str(math.prod(lead))
        if len(lead) > 1 and lead[0] is None:
            flat = f"{flat}*{math.prod(lead[1:])}"
        a, b = self.a, self.b
        rows = [(f"d{b} = {a}.T @ dZ", f"({inner}, {flat}) @ ({flat}, {cols}) -> "
                 f"{shape_text((inner, cols))}", f"same shape as {b}")]
        note = "not computed: X is the data" if first and a == "X" else \
            "passed to the layer before" if a == "X" else \
            "then folded back to dX" if a == "P" else "passed on"
        rows.append((f"d{a} = dZ @ {b}.T", f"{shape_text((*lead, cols))} @ "
                     f"{shape_text((cols, inner))} -> {shape_text(self.a_shape)}", note))
        return rows


@dataclass
class BiasAdd(Op):
    """out = a + b, b (features,) broadcast over every other axis."""
    out: str = "Z"
    a: str = "Z"
    b: str = "b"
    b_shape: tuple = ()
    stored: int = 0
    kind = "bias"

    def adds(self):
        return _per_sample(self.shape)

    def formula(self):
        return f"{self.out} = {self.a} + {self.b}"

    def shapes(self):
        return f"{shape_text(self.a_shape)} + {shape_text(self.b_shape)} -> " \
               f"{shape_text(self.shape)}"

    def note(self):
        return f"{self.b} broadcast as {shape_text((1, *self.b_shape))} over the batch"

    def backward(self, first=False):
        two_d = len(self.shape) == 2
        over = "the batch" if two_d else "every axis but the last"
        return [(f"d{self.b} = dZ.sum(0)" if two_d else f"d{self.b} = dZ.sum(axes)",
                 f"{shape_text(self.shape)} -> {shape_text(self.b_shape)}",
                 f"the broadcast, undone: sum over {over}")]


@dataclass
class Activate(Op):
    """out = fn(a), element-wise (softmax: row-wise over the last axis)."""
    a: str = "Z"
    fn: str = "relu"
    kind = "activation"

    def formula(self):
        return f"{self.out} = {self.fn}({self.a})"

    def shapes(self):
        return f"{shape_text(self.shape)} -> {shape_text(self.shape)}"

    def note(self):
        if self.fn == "log_softmax":
            return "row-wise: each row becomes log-probabilities (log of a softmax)"
        return ("row-wise: each row becomes probabilities summing to 1" if self.fn == "softmax"
                else "element-wise: shape unchanged")

    def backward(self, first=False):
        s = shape_text(self.shape)
        if self.fn == "softmax":
            return [("dZ = Y * (dY - sum(dY * Y, row))", f"{s} -> {s}",
                     "fused with cross-entropy: dZ = (Y - T) / B")]
        if self.fn == "log_softmax":
            return [("dZ = dY - exp(Y) * sum(dY, row)", f"{s} -> {s}", "row-wise")]
        return [(f"dZ = dY * {self.fn}'(Z)", f"{s} * {s} -> {s}", "element-wise")]


@dataclass
class Mask(Op):
    """Dropout: out = a * mask while training, the identity at inference."""
    rate: float = 0.0
    stored: int = 2
    kind = "dropout"

    def formula(self):
        return f"{self.out} = {self.a} * mask"

    def shapes(self):
        s = shape_text(self.shape)
        return f"{s} * {s} -> {s}"

    def note(self):
        return (f"training only: drops {self.rate:.0%}, keeps scaled by 1/(1-{self.rate}); "
                f"identity at inference")

    def backward(self, first=False):
        s = shape_text(self.shape)
        return [("dX = dY * mask", f"{s} * {s} -> {s}", "the same mask as forward")]


@dataclass
class Normalize(Op):
    """out = (a - mean) / sqrt(var + eps), mean and var over ``over`` ('batch' or
    'features')."""
    out: str = "X_hat"
    over: str = "batch"
    kind = "normalize"

    def formula(self):
        return f"{self.out} = ({self.a} - mean) / sqrt(var + eps)"

    def shapes(self):
        return f"{shape_text(self.shape)} -> {shape_text(self.shape)}"

    def note(self):
        if self.over == "features":
            return "mean, var of each sample's features (last axis); same at inference"
        return "mean, var (F,) over the batch; running statistics at inference"

    def backward(self, first=False):
        s = shape_text(self.shape)
        if self.over == "features":
            return [("dX = (D dX_hat - sum(dX_hat) - X_hat sum(dX_hat X_hat)) / (D sqrt(var + "
                     "eps))", f"{s} -> {s}", "sums over the last axis; D = features")]
        return [("dX = (N dX_hat - dX_hat.sum(0) - X_hat (dX_hat X_hat).sum(0)) "
                 "/ (N sqrt(var + eps))", f"{s} -> {s}", "N = batch size")]


@dataclass
class ScaleShift(Op):
    """out = gamma * a + beta, gamma and beta (features,)."""
    a: str = "X_hat"
    b_shape: tuple = ()
    kind = "scale_shift"

    def formula(self):
        return f"{self.out} = gamma * {self.a} + beta"

    def shapes(self):
        b = shape_text(self.b_shape)
        return f"{shape_text(self.shape)} * {b} + {b} -> {shape_text(self.shape)}"

    def note(self):
        return "gamma and beta broadcast over the batch"

    def backward(self, first=False):
        s, b = shape_text(self.shape), shape_text(self.b_shape)
        return [("dgamma = (dY * X_hat).sum(0); dbeta = dY.sum(0)", f"{s} -> {b}", ""),
                ("dX_hat = dY * gamma", f"{s} * {b} -> {s}", "")]


@dataclass
class Reshape(Op):
    """out = a.reshape(shape): no arithmetic."""
    stored: int = 0
    kind = "reshape"

    def formula(self):
        return f"{self.out} = {self.a}.reshape{shape_text(self.shape)}"

    def note(self):
        return "no arithmetic"

    def backward(self, first=False):
        grad = "dY" if self.out == "Y" else f"d{self.out}"
        return [(f"d{self.a} = {grad}.reshape{shape_text(self.a_shape)}",
                 f"{shape_text(self.shape)} -> {shape_text(self.a_shape)}", "")]


@dataclass
class Unfold(Op):
    """im2col: every output position's patch of ``a`` copied into one row of P."""
    out: str = "P"
    rows: tuple = ()
    kernel: tuple = ()
    strides: tuple = ()
    dilation: tuple = ()
    padding: object = "valid"
    kind = "im2col"

    def formula(self):
        return f"{self.out} = unfold({self.a})"

    def shapes(self):
        rows = self.rows
        rows_text = f"(B*{self.shape[1]}, {rows[1]})" if rows[0] is None else shape_text(rows)
        return f"{shape_text(self.a_shape)} -> {shape_text(self.shape)} = {rows_text}"

    def note(self):
        kh, kw = self.kernel
        return (f"one row per output position: its {kh}x{kw}x{self.a_shape[-1]} patch "
                f"(stride {self.strides[0]}, dilation {self.dilation[0]}, padding "
                f"{self.padding!r})")

    def backward(self, first=False):
        return [("dX = fold(dP)", f"{shape_text(self.shape)} -> {shape_text(self.a_shape)}",
                 "each patch row added back onto the pixels it was copied from")]


@dataclass
class Pool(Op):
    """max or average over each window, channel by channel (``global average``: over all
    positions)."""
    mode: str = "max"
    window: tuple = ()
    strides: tuple = ()
    kind = "pool"

    def formula(self):
        return f"{self.out} = {self.mode} pool({self.a})"

    def note(self):
        return f"{self.mode} of each {'x'.join(map(str, self.window))} window, channel by channel"

    def backward(self, first=False):
        route = ("dY goes to the maximum of each window" if self.mode.endswith("max")
                 else "dY shared equally by every position of the window")
        return [("dX = unpool(dY)", f"{shape_text(self.shape)} -> {shape_text(self.a_shape)}",
                 route)]


@dataclass
class Recurrence(Op):
    """H = cell(XW + HU): the step-by-step part of a recurrent layer."""
    out: str = "H"
    a: str = "XW + HU"
    cell: str = "SimpleRNN"
    stored: int = 0
    kind = "recurrence"

    def formula(self):
        return "H = cell(XW + HU)"

    def shapes(self):
        return f"-> {shape_text(self.shape)}"

    def note(self):
        return f"{self.cell} steps: each h_t from x_t W and h_(t-1) U, in order"

    def backward(self, first=False):
        return [("BPTT: dz_t from dh_t + dh carried from t+1", shape_text(self.shape),
                 "steps in reverse; then dW = X.T @ dZ, dU = H.T @ dZ over all steps")]


@dataclass
class Lookup(Op):
    """Y = E[X]: one row of the table per integer token."""
    b: str = "E"
    b_shape: tuple = ()
    kind = "lookup"

    def formula(self):
        return f"{self.out} = {self.b}[{self.a}]"

    def shapes(self):
        return f"{shape_text(self.a_shape)} tokens into {shape_text(self.b_shape)} -> " \
               f"{shape_text(self.shape)}"

    def note(self):
        return "one row of E per token (= one_hot(X) @ E)"

    def backward(self, first=False):
        return [("dE[k] += dY at every position of token k",
                 f"{shape_text(self.shape)} -> {shape_text(self.b_shape)}",
                 "no dX: tokens are integers")]


@dataclass
class BatchedMatMul(Op):
    """A product of two activations per head (attention): scores A = softmax(Q K^T /
    sqrt(d)) or values O = A V; ``per_sample`` MACs stated by the layer."""
    b: str = "K^T"
    b_shape: tuple = ()
    per_sample: int = 0
    kind = "attention_scores"

    def macs(self):
        return self.per_sample

    def formula(self):
        return f"{self.out} = {self.note_text}" if self.kind == "attention_scores" \
            else f"{self.out} = {self.a} @ {self.b.split('^')[0]}"

    def shapes(self):
        return f"{shape_text(self.a_shape)} @ {shape_text(self.b_shape)} -> " \
               f"{shape_text(self.shape)}"

    def note(self):
        batch = self.a_shape[0]
        return f"per head; {'B x ' if batch is None else ''}{(batch or 1) * self.macs():,} MACs"

    def backward(self, first=False):
        if self.kind == "attention_scores":
            return [("dS = A * (dA - sum(dA * A)) / sqrt(d); dQ = dS K; dK = dS^T Q",
                     f"{shape_text(self.shape)} -> {shape_text(self.a_shape)}",
                     "through the softmax, then both factors")]
        return [("dA = dO V^T; dV = A^T dO",
                 f"{shape_text(self.shape)} -> {shape_text(self.a_shape)}", "")]


@dataclass
class AttentionValues(BatchedMatMul):
    kind = "attention_values"


@dataclass
class SkipAdd(Op):
    """Y = X + f(X): a residual branch added back onto its input."""
    b: str = "f(X)"
    stored: int = 0
    kind = "residual"

    def formula(self):
        return "Y = X + f(X)"

    def shapes(self):
        s = shape_text(self.shape)
        return f"{s} + {s} -> {s}"

    def note(self):
        return "skip connection: the branch adds on"

    def backward(self, first=False):
        return [("dX = dY + d(branch)", shape_text(self.shape),
                 "the gradient flows around and through")]


def affine(ops):
    """(matmul, bias or None, activation or None) when ``ops`` are exactly
    ``Z = X @ W [+ b] [f(Z)]`` (a dense layer), else None: what the equations and the
    space-warp pictures need to write a layer out as ``f(X @ W + b)``."""
    if not ops or not isinstance(ops[0], MatMul) or ops[0].a != "X":
        return None
    rest = list(ops[1:])
    bias = rest.pop(0) if rest and isinstance(rest[0], BiasAdd) else None
    activation = rest.pop(0) if rest and isinstance(rest[0], Activate) else None
    return None if rest else (ops[0], bias, activation)
