"""How large a model or a file glassnet agrees to build or read, checked before anything
is allocated or read: a model file, a spec or a config that asks for more is refused
with a message that says what it asks for and how to allow it.

The defaults suit one machine (a model of a billion parameters is 4 GiB of float32
before its gradients and optimiser state). Pass your own, e.g.
``gn.load_model(path, limits=gn.Limits(max_parameters=5_000_000_000))`` or
``gn.Sequential(layers, limits=gn.Limits(...))``.
"""
import math
from dataclasses import dataclass, fields

from .files import json_nesting
from .validate import whole_number


@dataclass(frozen=True)
class Limits:
    """max_layers: layers in a model, nested ones included. max_nesting: layers inside
    layers (Residual blocks inside Residual blocks). max_parameters: trainable and
    non-trainable values. max_activation_bytes: the values one sample keeps for
    backpropagation (summary's own accounting, batch of one). max_file_bytes: the size
    of a model file. max_json_depth: nesting of the JSON inside a file or config."""
    max_layers: int = 10_000
    max_nesting: int = 32
    max_parameters: int = 1_000_000_000
    max_activation_bytes: int = 1 << 30
    max_file_bytes: int = 16 << 30
    max_json_depth: int = 64

    def __post_init__(self):
        for field in fields(self):
            whole_number(getattr(self, field.name), field.name, "Limits")


DEFAULT = Limits()


def check_count(what, count, limit, name):
    if count > limit:
        raise ValueError(f"{what}: {count:,} is more than glassnet's limit of {limit:,} "
                         f"(Limits.{name}). If that is really what you want, pass "
                         f"limits=glassnet.Limits({name}={count}).")


def check_network(model, limits):
    """Refuse a model whose layers, parameters or activations exceed ``limits``, from its
    shapes and typed operations alone (nothing is allocated)."""
    nodes = model.nodes()
    check_count("the model's layers", sum(1 + _nested(node.layer) for node in nodes
                                          if node.inputs),
                limits.max_layers, "max_layers")
    params = sum(math.prod(s) for node in nodes for shapes in
                 (node.layer.param_shapes(node.in_shape), node.layer.state_shapes(node.in_shape))
                 for s in shapes.values())
    check_count(f"{type(model).__name__}: the parameters", params, limits.max_parameters,
                "max_parameters")
    values = sum(op.stored * math.prod(op.shape[1:]) for node in nodes
                 for op in node.layer.ops(node.in_shape))
    check_count(f"{type(model).__name__}: the bytes one sample keeps for backpropagation",
                values * model.dtype.itemsize, limits.max_activation_bytes,
                "max_activation_bytes")


def _nested(layer):
    inner = layer.sublayers()
    return len(inner) + sum(_nested(i) for i in inner)


def json_depth(text, limit):
    """Refuse JSON nested deeper than ``limit``, counted without parsing (see
    ``glassnet.files.json_nesting``: a few MiB whatever the text's size), so a hostile
    document cannot exhaust the parser's recursion."""
    json_nesting(text.encode("utf-8", "replace") if isinstance(text, str) else text, limit)
