"""model.summary(): per layer the shapes, W and b, parameters, MACs and activation
memory; in total the parameters (as Keras counts them) and the memory of inference
against a training step -- backpropagation keeps the forward values (seed 003)."""
import math

from ..model import layer_counts
from . import units
from .report import Report, Section

MAC_CONVENTION = ("MACs: one multiply-accumulate per term of each matrix product; a Dense "
                  "layer on (B, I) -> (B, O) is B*I*O MACs (about 2*B*I*O FLOPs). Bias "
                  "additions (B*O per Dense layer) are counted separately; activations, "
                  "dropout and normalisation are not counted.")


def _optimizer_slots(model):
    if model.optimizer is not None:
        return type(model.optimizer).__name__, len(model.optimizer.slots())
    return "Adam (assumed, not compiled yet)", 2


def layer_rows(model, batch=None):
    """Per layer: (layer, in_shape, out_shape, params, state, ops), shapes with the batch."""
    shapes = model.trace_shapes(batch=batch)
    rows = []
    for layer, in_shape, out_shape in zip(model.layers, shapes, shapes[1:]):
        state = layer.state_shapes(in_shape)
        rows.append((layer, in_shape, out_shape, layer.param_shapes(in_shape), state,
                     layer.ops(in_shape)))
    return shapes, rows


def summary(model, batch_size=None):
    """The summary report of ``model`` for ``batch_size`` samples (symbolic B if None)."""
    shapes, rows = layer_rows(model, batch_size)
    itemsize = model.dtype.itemsize
    per_sample = [math.prod(s[1:]) for s in shapes]            # elements per sample
    counts = [layer_counts(layer, in_shape) for layer, in_shape, *_ in rows]
    params = [trainable for trainable, _ in counts]
    fixed = [frozen for _, frozen in counts]
    totals = [p + f for p, f in zip(params, fixed)]
    shares = units.percentages(totals)
    macs = [sum(op.macs() for op in ops) for *_, ops in rows]
    bias_adds = [sum(op.adds() for op in ops) for *_, ops in rows]

    table = []
    for i, (layer, in_shape, out_shape, pshapes, sshapes, _) in enumerate(rows):
        names = list(pshapes)
        main = f"{names[0]} {units.shape(pshapes[names[0]])}" if names else "-"
        second = f"{names[1]} {units.shape(pshapes[names[1]])}" if len(names) > 1 else "-"
        count = units.count(totals[i])
        if fixed[i]:
            count += f" ({units.count(fixed[i])} non-trainable)"
        table.append([str(i + 1), repr(layer), units.shape(in_shape), units.shape(out_shape),
                      main, second, count, f"{shares[i]:.1f}%",
                      units.per_batch(macs[i], batch_size),
                      units.per_batch(per_sample[i + 1] * itemsize, batch_size, units.nbytes)])
    trainable, non_trainable = sum(params), sum(fixed)
    table.append(["", "Total", "", "", "", "", units.count(trainable + non_trainable),
                  "100.0%" if rows else "", units.per_batch(sum(macs), batch_size),
                  units.per_batch(sum(per_sample[1:]) * itemsize, batch_size, units.nbytes)])

    opt_name, slots = _optimizer_slots(model)
    param_bytes = (trainable + non_trainable) * itemsize
    grad_bytes = trainable * itemsize
    opt_bytes = slots * trainable * itemsize
    kept = per_sample[0] + sum(op.stored * math.prod(op.shape[1:])
                               for *_, ops in rows for op in ops)
    peak = max(a + b for a, b in zip(per_sample, per_sample[1:])) if rows else per_sample[0]
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
    section = Section(columns=["#", "Layer", "Input", "Output", "W", "b", "Params", "%",
                               "MACs", "Activations"],
                      rows=table, lines=lines,
                      align=["r", "l", "l", "l", "l", "l", "r", "r", "r", "r"])
    data = {"batch_size": batch_size, "dtype": model.dtype.name,
            "params": {"total": trainable + non_trainable, "trainable": trainable,
                       "non_trainable": non_trainable, "bytes": param_bytes},
            "macs_per_sample": sum(macs), "bias_adds_per_sample": sum(bias_adds),
            "memory_bytes_per_sample": {"activations_kept": kept * itemsize,
                                        "inference_peak": peak * itemsize},
            "memory_bytes_fixed": {"parameters": param_bytes, "gradients": grad_bytes,
                                   "optimizer": opt_bytes},
            "layers": [{"index": i + 1, "layer": repr(layer), "type": type(layer).__name__,
                        "input_shape": list(in_s), "output_shape": list(out_s),
                        "params": {k: list(v) for k, v in ps.items()},
                        "state": {k: list(v) for k, v in ss.items()},
                        "param_count": totals[i], "non_trainable": fixed[i],
                        "macs_per_sample": macs[i], "bias_adds_per_sample": bias_adds[i]}
                       for i, (layer, in_s, out_s, ps, ss, _) in enumerate(rows)]}
    batch_text = "symbolic batch B" if b is None else f"batch {b}"
    return Report(f"Sequential model summary ({batch_text})", [section], data)
