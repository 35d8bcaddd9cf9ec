"""model.explain(): the equations of each layer in the seeds' notation, with the real
numbers of one input written out (seed 001):

    X(m x n) x W(n x j) + B(m x j) = Y(m x j)
    h1 = x1 w1 + x2 w2 + x3 w3 + b1,  h2 = x1 w4 + x2 w5 + x3 w6 + b2
    [y1, y2] = softmax([h1, h2])

Weights are numbered down each column of W, as in the seed: column k of W holds the
weights of output neuron k (its "filter"). The numbers come from the engine's own
forward pass, layer by layer.
"""
import numpy as np

from ..layers.base import is_chain
from ..layers.ops import Activate, Mask, MatMul, Normalize, Reshape, affine
from .report import Report, Section

SMALL = 6          # write every output of a layer with at most this many inputs and outputs


def _num(v):
    return f"{v:.4g}" if abs(v) >= 1e-4 or v == 0 else f"{v:.2e}"


def _plus(v):
    """'+ 0.5' or '- 0.5': how a bias joins a written-out sum."""
    return f"- {_num(-v)}" if v < 0 else f"+ {_num(v)}"


def _vector(values):
    return "[" + ", ".join(_num(v) for v in values) + "]"


def _dense_lines(layer, parts, x, Y, cell):
    """The sums of Z = X @ W + b written out with the layer's numbers."""
    matmul, bias, activation = parts
    W = layer.params[matmul.b]
    n, j = W.shape
    b = layer.params[bias.b] if bias else np.zeros(j)
    kept = layer.cache.get(bias.out if bias else matmul.out)
    Z = kept[0] if kept is not None else x @ W + b          # the value forward computed
    act = activation.fn if activation else "linear"
    lines = []
    if n <= SMALL and j <= SMALL:
        lines.append(f"w1..w{n} are column 1 of W (the weights of neuron 1); "
                     f"w{n + 1}..w{2 * n} column 2; and so on.")
        for k in range(j):
            symbols = " + ".join(f"x{i + 1} w{k * n + i + 1}" for i in range(n))
            numbers = " + ".join(f"({_num(x[i])})({_num(W[i, k])})" for i in range(n))
            lines.append(f"h{k + 1} = {symbols} + b{k + 1}")
            lines.append(f"   = {numbers} {_plus(b[k])} = {_num(Z[k])}")
    else:
        k = cell if cell is not None else int(np.argmax(Z))
        shown = [i for i in range(n) if i < 3 or i == n - 1]
        terms = []
        for i in shown:
            if i == n - 1 and n > 4:
                terms.append("...")
            terms.append(f"x{i + 1} W[{i + 1},{k + 1}]")
        numbers = " + ".join("..." if t == "..." else t for t in terms)
        values = [f"({_num(x[i])})({_num(W[i, k])})" for i in shown]
        if n > 4:
            values.insert(3, "...")
        lines.append(f"One output, h{k + 1} (column {k + 1} of W against the {n} inputs; "
                     f"{n} multiply-accumulates):")
        lines.append(f"h{k + 1} = {numbers} + b{k + 1}")
        lines.append(f"   = {' + '.join(values)} {_plus(b[k])} = {_num(Z[k])}")
    if act == "softmax":
        lines.append(f"[{', '.join(f'y{k + 1}' for k in range(j))}] = softmax("
                     f"[{', '.join(f'h{k + 1}' for k in range(j))}]) = {_vector(Y)}"
                     if j <= SMALL else f"y = softmax(h) = {_vector(Y[:SMALL])}... "
                                        f"(sums to {_num(float(Y.sum()))})")
    elif act != "linear":
        if j <= SMALL:
            lines += [f"y{k + 1} = {act}(h{k + 1}) = {_num(Y[k])}" for k in range(j)]
        else:
            k = cell if cell is not None else int(np.argmax(Z))
            lines.append(f"y{k + 1} = {act}(h{k + 1}) = {_num(Y[k])}")
    return lines


def _general(layer, ops, m, in_shape, out_shape):
    """The layer's equation in general form, from its typed operations."""
    parts = affine(ops)
    if parts and len(in_shape) == 2:
        matmul, _, activation = parts
        n, j = in_shape[-1], matmul.b_shape[-1]
        text = f"X({m} x {n}) x W({n} x {j}) + B({m} x {j}) = Z({m} x {j})"
        return [text + ("" if activation is None else f";  Y = {activation.fn}(Z), "
                                                      f"({m} x {j})")]
    if len(ops) == 1 and isinstance(ops[0], Activate):
        return [f"Y = {ops[0].fn}(X), element-wise: ({m} x {in_shape[-1]}) unchanged"]
    if len(ops) == 1 and isinstance(ops[0], Mask):
        rate = ops[0].rate
        return [f"Training: Y = X * mask (drop {rate:.0%}, scale the rest by "
                f"1/(1-{rate})); at inference Y = X"]
    if ops and isinstance(ops[0], Normalize) and ops[0].over == "batch":
        return ["Y = gamma * (X - mean) / sqrt(var + eps) + beta; at inference with the "
                "running mean and variance"]
    if len(ops) == 1 and isinstance(ops[0], Reshape):
        return [f"Y = X.reshape({m}, -1): {tuple(in_shape[1:])} per sample -> "
                f"{out_shape[-1]} features"]
    first_line = (type(layer).__doc__ or type(layer).__name__).strip().splitlines()[0]
    lines = [first_line]
    for op in ops:                         # every matrix product the layer performs
        if isinstance(op, MatMul):
            a, b, out = op.a_shape, op.b_shape, op.shape
            lines.append(f"{op.out} = {op.a} @ {op.b}: "
                         f"{' x '.join(map(str, a[1:]))} per sample @ {b[0]} x {b[1]} -> "
                         f"{' x '.join(map(str, out[1:]))}")
    return lines


def explain(model, x=None, cell=None, lang="en"):
    """The equations of every layer; with ``x`` (one sample, or a batch whose first row
    is used; a list of them for a model with several inputs) the sums written out with
    the real numbers, ending with the probabilities against the one-hot argmax when the
    model ends in softmax. ``lang`` ("en" or "ko") is the language of its words."""
    nodes = model.nodes(batch=1)
    layers = [node for node in nodes if node.inputs]
    samples = [node.out_shape[1:] for node in nodes if not node.inputs] or \
        [layers[0].in_shape[1:]]
    values = None
    if x is not None:
        given = x if isinstance(x, (list, tuple)) and len(samples) > 1 else [x]
        batches = []
        for one, shape in zip(given, samples):
            one = np.asarray(one, dtype=np.float64)
            batches.append((one[None] if one.shape == tuple(shape) else one)[:1])
        values = model.node_values(batches if len(samples) > 1 else batches[0])
    sections, outputs = [], []
    for i, node in enumerate(layers, 1):
        layer = node.layer
        ops = layer.ops(node.in_shape)
        lines = _general(layer, ops, 1, node.in_shape, node.out_shape)
        if values is not None:
            inputs = [values[name] for name in node.inputs]
            Y = values[node.name]                                # the engine's own numbers
            parts = affine(ops)
            if parts and len(inputs) == 1 and inputs[0].ndim == 2:
                lines += _dense_lines(layer, parts, inputs[0][0].ravel(), Y[0], cell)
            elif Y[0].size <= SMALL:
                lines.append(f"Y = {_vector(Y[0].ravel())}")
            outputs.append(Y[0].ravel().tolist())
        title = f"[{i}] {layer!r}" if is_chain(nodes) else \
            f"[{i}] {node.name}: {layer!r} <- {', '.join(node.inputs)}"
        sections.append(Section(title, lines=lines))
    if values is not None and model.output_layer.output_activation == "softmax":
        P = values[layers[-1].name][0]
        one_hot = np.zeros_like(P)
        one_hot[int(np.argmax(P))] = 1
        sections.append(Section("Inference", lines=[
            f"probabilities {_vector(P)} (sum {_num(float(P.sum()))})",
            f"one-hot argmax {_vector(one_hot.astype(int))}: class index {int(np.argmax(P))} "
            f"with probability {_num(float(P.max()))}"]))
    sections[0].lines.insert(0, "Rule: X(m x n) x W(n x j) + B(m x j) = Y(m x j); "
                                "activations do not change shapes.") if sections else None
    return Report("Equations of one forward pass" + ("" if x is None else " (one sample)"),
                  sections, {"layer_outputs": outputs}, lang)
