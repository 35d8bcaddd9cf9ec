"""model.summary(): per layer the shapes, W and b, parameters, MACs and activation
memory; in total the parameters (as Keras counts them) and the memory of inference
against a training step -- backpropagation keeps the forward values (seed 003)."""
import math

from ..layers.base import is_chain, value_counts
from ..validate import whole_number
from . import units
from .report import Report, Section

MAC_CONVENTION = ("MACs: one multiply-accumulate per term of each matrix product; a Dense "
                  "layer on (B, I) -> (B, O) is B*I*O MACs (about 2*B*I*O FLOPs). Bias "
                  "additions (B*O per Dense layer) are counted separately; activations, "
                  "dropout and normalisation are not counted.")


MAX_BATCH = 1 << 40            # a batch size reports are computed for (numbers only)


def _optimizer_slots(model):
    if model.optimizer is not None:
        return type(model.optimizer).__name__, len(model.optimizer.slots())
    return "Adam (assumed, not compiled yet)", 2


def layer_rows(model, batch=None):
    """(inputs, rows, chain): the model's input nodes, per layer a row
    (node, params, state, ops) with shapes carrying the batch, and whether the graph is a
    chain (shown as a list, without the Inputs column)."""
    if batch is not None:
        whole_number(batch, "batch_size", "summary/trace", maximum=MAX_BATCH)
    nodes = model.nodes(batch)
    inputs = [node for node in nodes if not node.inputs]
    rows = [(node, node.layer.param_shapes(node.in_shape),
             node.layer.state_shapes(node.in_shape), node.layer.ops(node.in_shape))
            for node in nodes if node.inputs]
    return inputs, rows, is_chain(nodes)


def label(chain, node):
    """How a layer is named in a table: its repr (and, in a graph, its name); frozen
    layers say so."""
    text = repr(node.layer) if chain else f"{node.name}: {node.layer!r}"
    return text + ("" if node.layer.trainable else " [frozen]")


def _size(shape):
    """Elements per sample of a shape, or of a list of shapes (a merge's inputs)."""
    if isinstance(shape, list):
        return sum(math.prod(s[1:]) for s in shape)
    return math.prod(shape[1:])


def _shape(shape):
    return ", ".join(units.shape(s) for s in shape) if isinstance(shape, list) \
        else units.shape(shape)


def summary(model, batch_size=None, lang="en"):
    """The summary report of ``model`` for ``batch_size`` samples (symbolic B if None), its
    words in ``lang`` ("en" or "ko")."""
    inputs, rows, chain = layer_rows(model, batch_size)
    itemsize = model.dtype.itemsize
    outputs = [_size(node.out_shape) for node, *_ in rows]     # elements per sample
    counts = [value_counts(node.layer, node.in_shape) for node, *_ in rows]
    params = [trainable for trainable, _ in counts]
    fixed = [frozen for _, frozen in counts]
    totals = [p + f for p, f in zip(params, fixed)]
    shares = units.percentages(totals)
    macs = [sum(op.macs() for op in ops) for *_, ops in rows]
    bias_adds = [sum(op.adds() for op in ops) for *_, ops in rows]

    table = []
    for i, (node, pshapes, sshapes, _) in enumerate(rows):
        names = list(pshapes)
        main = f"{names[0]} {units.shape(pshapes[names[0]])}" if names else "-"
        second = f"{names[1]} {units.shape(pshapes[names[1]])}" if len(names) > 1 else "-"
        count = units.count(totals[i])
        if fixed[i]:
            count += f" ({units.count(fixed[i])} non-trainable)"
        links = [] if chain else [", ".join(node.inputs)]
        table.append([str(i + 1), label(chain, node), *links, _shape(node.in_shape),
                      units.shape(node.out_shape), main, second, count, f"{shares[i]:.1f}%",
                      units.per_batch(macs[i], batch_size),
                      units.per_batch(outputs[i] * itemsize, batch_size, units.nbytes)])
    trainable, non_trainable = sum(params), sum(fixed)
    table.append(["", "Total", *([] if chain else [""]), "", "", "", "",
                  units.count(trainable + non_trainable), "100.0%" if rows else "",
                  units.per_batch(sum(macs), batch_size),
                  units.per_batch(sum(outputs) * itemsize, batch_size, units.nbytes)])

    opt_name, slots = _optimizer_slots(model)
    param_bytes = (trainable + non_trainable) * itemsize
    grad_bytes = trainable * itemsize
    opt_bytes = slots * trainable * itemsize
    given = sum(_size(node.out_shape) for node in inputs) if inputs else \
        (_size(rows[0][0].in_shape) if rows else 0)
    kept = given + sum(op.stored * math.prod(op.shape[1:]) for *_, ops in rows for op in ops)
    peak = max((_size(node.in_shape) + out for (node, *_), out in zip(rows, outputs)),
               default=given)
    b = batch_size
    mem = lambda per, fix=0: units.per_batch(per * itemsize, b, units.nbytes, fix)  # noqa: E731
    lines = [
        f"Parameters: {units.count(trainable + non_trainable)} (trainable "
        f"{units.count(trainable)}, non-trainable {units.count(non_trainable)}) = "
        f"{units.nbytes(param_bytes)} as {model.dtype.name}",
        f"MACs per forward pass: {units.per_batch(sum(macs), b)}; bias additions: "
        f"{units.per_batch(sum(bias_adds), b)}",
        f"Memory for {'B samples' if b is None else f'a batch of {b}'} ({model.dtype.name}, "
        f"{itemsize} bytes per value):",
        f"  inference:     parameters {units.nbytes(param_bytes)} + the largest layer input "
        f"and output {mem(peak)} = {mem(peak, param_bytes)}",
        f"  training step: parameters {units.nbytes(param_bytes)} + gradients "
        f"{units.nbytes(grad_bytes)} + optimizer state, {opt_name}, {slots} per parameter, "
        f"{units.nbytes(opt_bytes)} + activations kept for backpropagation {mem(kept)} = "
        f"{mem(kept, param_bytes + grad_bytes + opt_bytes)}",
    ]
    if b is not None:
        inference = param_bytes + peak * b * itemsize
        training = param_bytes + grad_bytes + opt_bytes + kept * b * itemsize
        lines.append(f"  backpropagation keeps the forward values: a training step needs "
                     f"{training / inference:.1f}x the memory of inference")
    lines += [MAC_CONVENTION, "Units: 1 KiB = 1,024 bytes, 1 MiB = 1,024 KiB. Non-trainable "
              "parameters (BatchNorm's running mean and variance) count in the total, as in "
              "Keras."]
    links = [] if chain else ["Inputs"]
    section = Section(columns=["#", "Layer", *links, "Input", "Output", "W", "b", "Params",
                               "%", "MACs", "Activations"],
                      rows=table, lines=lines,
                      align=["r", "l", *["l"] * len(links), "l", "l", "l", "l", "r", "r", "r",
                             "r"])
    data = {"batch_size": batch_size, "dtype": model.dtype.name,
            "params": {"total": trainable + non_trainable, "trainable": trainable,
                       "non_trainable": non_trainable, "bytes": param_bytes},
            "macs_per_sample": sum(macs), "bias_adds_per_sample": sum(bias_adds),
            "memory_bytes_per_sample": {"activations_kept": kept * itemsize,
                                        "inference_peak": peak * itemsize},
            "memory_bytes_fixed": {"parameters": param_bytes, "gradients": grad_bytes,
                                   "optimizer": opt_bytes},
            "layers": [{"index": i + 1, "name": node.name, "layer": repr(node.layer),
                        "type": type(node.layer).__name__, "inputs": node.inputs,
                        "trainable": node.layer.trainable,
                        "input_shape": _listed(node.in_shape),
                        "output_shape": list(node.out_shape),
                        "params": {k: list(v) for k, v in ps.items()},
                        "state": {k: list(v) for k, v in ss.items()},
                        "param_count": totals[i], "non_trainable": fixed[i],
                        "macs_per_sample": macs[i], "bias_adds_per_sample": bias_adds[i]}
                       for i, (node, ps, ss, _) in enumerate(rows)]}
    batch_text = "symbolic batch B" if b is None else f"batch {b}"
    kind = "Sequential model" if chain else "Functional model (a graph of layers)"
    return Report(f"{kind} summary ({batch_text})", [section], data, lang)


def _listed(shape):
    return [list(s) for s in shape] if isinstance(shape, list) else list(shape)
