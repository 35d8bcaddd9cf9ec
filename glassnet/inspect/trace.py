"""model.trace(): the operation-level story of one forward (and backward) pass, as
seed 000's shape table tells it -- every matrix product, broadcast and activation with
its operand shapes, read from each layer's own ``ops`` description."""
import math

from .report import Report, Section
from .units import shape as shp
from .summary import layer_rows, op_macs

LAW = ("Shape law: (B, I) x (I, O) = (B, O) -- the inner dimension I vanishes, the batch "
       "B stays; the bias (O,) is broadcast as (1, O) over the batch; activations keep "
       "the shape.")


def _forward(op):
    """(operation, shapes, note) for one forward op."""
    kind, s = op["op"], shp(op["shape"])
    if kind == "matmul":
        a_shape, inner, out = op["a_shape"], op["a_shape"][-1], op["b_shape"][-1]
        batch = a_shape[0]
        macs = (batch or 1) * math.prod(a_shape[1:]) * out
        rows = a_shape[1:-1]
        kept = f"batch {'B' if batch is None else batch}" + \
            (f" and {' x '.join(map(str, rows))} rows stay" if rows else " stays")
        note = f"inner {inner} vanishes, {kept}; {'B x ' if batch is None else ''}{macs:,} MACs"
        return (f"{op['out']} = {op['a']} @ {op['b']}", f"{shp(a_shape)} @ "
                f"{shp(op['b_shape'])} -> {s}", op.get("note", "") + ("; " if "note" in op
                                                                       else "") + note)
    if kind == "recurrence":
        return ("H = cell(XW + HU)", f"-> {s}",
                f"{op['cell']} steps: each h_t from x_t W and h_(t-1) U, in order")
    if kind == "lookup":
        return ("Y = E[X]", f"{shp(op['a_shape'])} tokens into {shp(op['b_shape'])} -> {s}",
                "one row of E per token (= one_hot(X) @ E)")
    if kind in ("attention_scores", "attention_values"):
        product = "A = " + op["note"] if kind == "attention_scores" else "O = A @ V"
        macs = op["macs_per_sample"]
        batch = op["a_shape"][0]
        return (product, f"{shp(op['a_shape'])} @ {shp(op['b_shape'])} -> {s}",
                f"per head; {'B x ' if batch is None else ''}{(batch or 1) * macs:,} MACs")
    if kind == "residual":
        return ("Y = X + f(X)", f"{s} + {s} -> {s}", "skip connection: the branch adds on")
    if kind == "im2col":
        (kh, kw), rows = op["kernel"], op["rows"]
        rows_text = f"(B*{op['shape'][1]}, {rows[1]})" if rows[0] is None else shp(rows)
        return ("P = unfold(X)", f"{shp(op['a_shape'])} -> {s} = {rows_text}",
                f"one row per output position: its {kh}x{kw}x{op['a_shape'][-1]} patch "
                f"(stride {op['strides'][0]}, dilation {op['dilation'][0]}, padding "
                f"{op['padding']!r})")
    if kind == "pool":
        window = "x".join(map(str, op["window"]))
        return (f"Y = {op['mode']} pool(X)", f"{shp(op['a_shape'])} -> {s}",
                f"{op['mode']} of each {window} window, channel by channel")
    if kind == "bias":
        row = shp((1, *op["b_shape"]))
        return ("Z = Z + b", f"{shp(op['a_shape'])} + {shp(op['b_shape'])} -> {s}",
                f"b broadcast as {row} over the batch")
    if kind == "activation":
        note = ("row-wise: each row becomes probabilities summing to 1"
                if op["fn"] == "softmax" else "element-wise: shape unchanged")
        return (f"Y = {op['fn']}(Z)", f"{s} -> {s}", note)
    if kind == "dropout":
        return ("Y = X * mask", f"{s} * {s} -> {s}",
                f"training only: drops {op['rate']:.0%}, keeps scaled by "
                f"1/(1-{op['rate']}); identity at inference")
    if kind == "normalize":
        if op.get("axis") == "features":
            return ("X_hat = (X - mean) / sqrt(var + eps)", f"{s} -> {s}",
                    "mean, var of each sample's features (last axis); same at inference")
        return ("X_hat = (X - mean) / sqrt(var + eps)", f"{s} -> {s}",
                "mean, var (F,) over the batch; running statistics at inference")
    if kind == "scale_shift":
        b = shp(op["b_shape"])
        return ("Y = gamma * X_hat + beta", f"{s} * {b} + {b} -> {s}",
                "gamma and beta broadcast over the batch")
    if kind == "reshape":
        return (f"{op['out']} = {op['a']}.reshape{s}", f"{shp(op['a_shape'])} -> {s}",
                "no arithmetic")
    raise ValueError(f"trace: unknown operation {kind!r}")


def _backward(op, first_layer):
    """Rows for one op's backward, in the order they run."""
    kind, s = op["op"], shp(op["shape"])
    if kind == "matmul":
        a_shape, inner, out = op["a_shape"], op["a_shape"][-1], op["b_shape"][-1]
        a, b = op["a"], op["b"]
        lead = a_shape[:-1]
        flat = "B" if lead[0] is None else str(math.prod(lead))
        if len(lead) > 1:
            flat = f"{flat}*{math.prod(lead[1:])}" if lead[0] is None else flat
        rows = [(f"d{b} = {a}.T @ dZ", f"({inner}, {flat}) @ ({flat}, {out}) -> "
                 f"{shp((inner, out))}", f"same shape as {b}")]
        note = "not computed: X is the data" if first_layer and a == "X" else \
            "passed to the layer before" if a == "X" else \
            "then folded back to dX" if a == "P" else "passed on"
        rows.append((f"d{a} = dZ @ {b}.T", f"{shp((*lead, out))} @ {shp((out, inner))} -> "
                     f"{shp(a_shape)}", note))
        return rows
    if kind == "im2col":
        return [("dX = fold(dP)", f"{s} -> {shp(op['a_shape'])}",
                 "each patch row added back onto the pixels it was copied from")]
    if kind == "recurrence":
        return [("BPTT: dz_t from dh_t + dh carried from t+1", f"{s}",
                 "steps in reverse; then dW = X.T @ dZ, dU = H.T @ dZ over all steps")]
    if kind == "lookup":
        return [("dE[k] += dY at every position of token k", f"{s} -> {shp(op['b_shape'])}",
                 "no dX: tokens are integers")]
    if kind == "attention_scores":
        return [("dS = A * (dA - sum(dA * A)) / sqrt(d); dQ = dS K; dK = dS^T Q",
                 f"{s} -> {shp(op['a_shape'])}", "through the softmax, then both factors")]
    if kind == "attention_values":
        return [("dA = dO V^T; dV = A^T dO", f"{s} -> {shp(op['a_shape'])}", "")]
    if kind == "residual":
        return [("dX = dY + d(branch)", f"{s}", "the gradient flows around and through")]
    if kind == "pool":
        route = ("dY goes to the maximum of each window" if op["mode"] == "max"
                 else "dY shared equally by every position of the window")
        return [("dX = unpool(dY)", f"{s} -> {shp(op['a_shape'])}", route)]
    if kind == "bias":
        over = "the batch" if len(op["shape"]) == 2 else "every axis but the last"
        return [("db = dZ.sum(0)" if len(op["shape"]) == 2 else "db = dZ.sum(axes)",
                 f"{s} -> {shp(op['b_shape'])}", f"the broadcast, undone: sum over {over}")]
    if kind == "activation":
        if op["fn"] == "softmax":
            return [("dZ = Y * (dY - sum(dY * Y, row))", f"{s} -> {s}",
                     "fused with cross-entropy: dZ = (Y - T) / B")]
        return [(f"dZ = dY * {op['fn']}'(Z)", f"{s} * {s} -> {s}", "element-wise")]
    if kind == "dropout":
        return [("dX = dY * mask", f"{s} * {s} -> {s}", "the same mask as forward")]
    if kind == "scale_shift":
        b = shp(op["b_shape"])
        return [("dgamma = (dY * X_hat).sum(0); dbeta = dY.sum(0)", f"{s} -> {b}", ""),
                ("dX_hat = dY * gamma", f"{s} * {b} -> {s}", "")]
    if kind == "normalize":
        if op.get("axis") == "features":
            return [("dX = (D dX_hat - sum(dX_hat) - X_hat sum(dX_hat X_hat)) / (D sqrt(var + "
                     "eps))", f"{s} -> {s}", "sums over the last axis; D = features")]
        return [("dX = (N dX_hat - dX_hat.sum(0) - X_hat (dX_hat X_hat).sum(0)) "
                 "/ (N sqrt(var + eps))", f"{s} -> {s}", "N = batch size")]
    if kind == "reshape":
        grad = "dY" if op["out"] == "Y" else f"d{op['out']}"
        return [(f"d{op['a']} = {grad}.reshape{shp(op['a_shape'])}",
                 f"{s} -> {shp(op['a_shape'])}", "")]
    raise ValueError(f"trace: unknown operation {kind!r}")


def trace(model, batch_size=None, backward=False):
    """The trace report of ``model`` on ``batch_size`` samples (symbolic B if None)."""
    shapes, rows = layer_rows(model, batch_size)
    forward_rows, data = [["", "input", "X", shp(shapes[0]), "the data"]], []
    for i, (layer, in_shape, out_shape, _, _, ops) in enumerate(rows, 1):
        if not ops:
            forward_rows.append([str(i), repr(layer), "Y = X", f"{shp(in_shape)} -> "
                                 f"{shp(out_shape)}", "identity"])
        for j, op in enumerate(ops):
            forward_rows.append([str(i) if j == 0 else "", repr(layer) if j == 0 else "",
                                 *_forward(op)])
        data.append({"index": i, "layer": repr(layer), "input_shape": list(in_shape),
                     "output_shape": list(out_shape),
                     "ops": [{k: list(v) if isinstance(v, tuple) else v for k, v in op.items()}
                             for op in ops]})
    columns, align = ["#", "Layer", "Operation", "Shapes", "Note"], ["r", "l", "l", "l", "l"]
    sections = [Section("Forward", columns, forward_rows,
                        [LAW, f"Output: {shp(shapes[-1])}"], align)]
    if backward:
        back_rows = []
        for i, (layer, _, _, _, _, ops) in reversed(list(enumerate(rows, 1))):
            body = [r for op in reversed(ops) for r in _backward(op, i == 1)]
            for j, row in enumerate(body):
                back_rows.append([str(i) if j == 0 else "", repr(layer) if j == 0 else "",
                                  *row])
        sections.append(Section("Backward (from dY = dL/dY of the output)", columns,
                                back_rows, ["Every gradient has the shape of what it is the "
                                            "gradient of: dW like W, db like b, dX like X."],
                                align))
    batch_text = "symbolic batch B" if batch_size is None else f"batch {batch_size}"
    macs = sum(op_macs(op) for *_, ops in rows for op in ops)
    return Report(f"Trace of one forward pass ({batch_text})", sections,
                  {"batch_size": batch_size, "layers": data, "macs_per_sample": macs})
