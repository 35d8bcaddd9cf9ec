"""model.trace(): the operation-level story of one forward (and backward) pass, as
seed 000's shape table tells it -- every matrix product, broadcast and activation with
its operand shapes, read from each layer's own typed ``ops`` description (each op says
its formula, shapes, note and backward rows; see ``glassnet.layers.ops``)."""
from .report import Report, Section
from .units import shape as shp
from .summary import label, layer_rows

LAW = ("Shape law: (B, I) x (I, O) = (B, O) -- the inner dimension I vanishes, the batch "
       "B stays; the bias (O,) is broadcast as (1, O) over the batch; activations keep "
       "the shape.")


def trace(model, batch_size=None, backward=False, lang="en"):
    """The trace report of ``model`` on ``batch_size`` samples (symbolic B if None), its
    words in ``lang`` ("en" or "ko")."""
    inputs, rows, chain = layer_rows(model, batch_size)
    if chain:
        forward_rows = [["", "input", "X", shp(rows[0][0].in_shape), "the data"]]
    else:
        forward_rows = [["", f"{node.name}: input", node.name, shp(node.out_shape),
                         "the data"] for node in inputs]
    data = []
    for i, (node, _, _, ops) in enumerate(rows, 1):
        name = label(chain, node)
        reads = "" if chain else f" <- {', '.join(node.inputs)}"
        if not ops:
            forward_rows.append([str(i), name + reads, "Y = X", f"{_shapes(node.in_shape)} -> "
                                 f"{shp(node.out_shape)}", "identity"])
        for j, op in enumerate(ops):
            forward_rows.append([str(i) if j == 0 else "", name + reads if j == 0 else "",
                                 op.formula(), op.shapes(), op.note()])
        data.append({"index": i, "name": node.name, "layer": repr(node.layer),
                     "inputs": node.inputs, "input_shape": _listed(node.in_shape),
                     "output_shape": list(node.out_shape), "ops": [op.to_dict() for op in ops]})
    columns, align = ["#", "Layer", "Operation", "Shapes", "Note"], ["r", "l", "l", "l", "l"]
    sections = [Section("Forward", columns, forward_rows,
                        [LAW, f"Output: {shp(rows[-1][0].out_shape)}"], align)]
    if backward:
        data_fed = {node.name for node in inputs} | {"input"}
        back_rows = []
        for i, (node, _, _, ops) in reversed(list(enumerate(rows, 1))):
            first = all(name in data_fed for name in node.inputs)
            body = [r for op in reversed(ops) for r in op.backward(first=first)]
            for j, row in enumerate(body):
                back_rows.append([str(i) if j == 0 else "", label(chain, node) if j == 0 else "",
                                  *row])
        notes = ["Every gradient has the shape of what it is the gradient of: dW like W, db "
                 "like b, dX like X."]
        if not chain:
            notes.append("Where a value feeds several layers, its gradient is the sum of the "
                         "gradients they send back.")
        sections.append(Section("Backward (from dY = dL/dY of the output)", columns,
                                back_rows, notes, align))
    batch_text = "symbolic batch B" if batch_size is None else f"batch {batch_size}"
    macs = sum(op.macs() for *_, ops in rows for op in ops)
    passes = "one forward and backward pass" if backward else "one forward pass"
    return Report(f"Trace of {passes} ({batch_text})", sections,
                  {"batch_size": batch_size, "layers": data, "macs_per_sample": macs}, lang)


def _shapes(shape):
    return ", ".join(shp(s) for s in shape) if isinstance(shape, list) else shp(shape)


def _listed(shape):
    return [list(s) for s in shape] if isinstance(shape, list) else list(shape)
