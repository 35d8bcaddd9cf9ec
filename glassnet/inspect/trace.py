"""model.trace(): the operation-level story of one forward (and backward) pass, as
seed 000's shape table tells it -- every matrix product, broadcast and activation with
its operand shapes, read from each layer's own typed ``ops`` description (each op says
its formula, shapes, note and backward rows; see ``glassnet.ops``)."""
from .report import Report, Section
from .units import shape as shp
from .summary import layer_rows

LAW = ("Shape law: (B, I) x (I, O) = (B, O) -- the inner dimension I vanishes, the batch "
       "B stays; the bias (O,) is broadcast as (1, O) over the batch; activations keep "
       "the shape.")


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
                                 op.formula(), op.shapes(), op.note()])
        data.append({"index": i, "layer": repr(layer), "input_shape": list(in_shape),
                     "output_shape": list(out_shape), "ops": [op.to_dict() for op in ops]})
    columns, align = ["#", "Layer", "Operation", "Shapes", "Note"], ["r", "l", "l", "l", "l"]
    sections = [Section("Forward", columns, forward_rows,
                        [LAW, f"Output: {shp(shapes[-1])}"], align)]
    if backward:
        back_rows = []
        for i, (layer, _, _, _, _, ops) in reversed(list(enumerate(rows, 1))):
            body = [r for op in reversed(ops) for r in op.backward(first=i == 1)]
            for j, row in enumerate(body):
                back_rows.append([str(i) if j == 0 else "", repr(layer) if j == 0 else "",
                                  *row])
        sections.append(Section("Backward (from dY = dL/dY of the output)", columns,
                                back_rows, ["Every gradient has the shape of what it is the "
                                            "gradient of: dW like W, db like b, dX like X."],
                                align))
    batch_text = "symbolic batch B" if batch_size is None else f"batch {batch_size}"
    macs = sum(op.macs() for *_, ops in rows for op in ops)
    return Report(f"Trace of one forward pass ({batch_text})", sections,
                  {"batch_size": batch_size, "layers": data, "macs_per_sample": macs})
