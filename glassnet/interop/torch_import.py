"""A glassnet model from a PyTorch module -- so summary, trace, explain and every picture
work on your own PyTorch model.

The module is traced with ``torch.fx`` (an ``nn.Sequential`` and modules whose forward
only calls supported modules and functions: adds, concatenations, activations, flatten,
``lstm(x)[0][:, -1]``); each call becomes a glassnet layer holding the same weights,
converted by one table keyed by the module type. The glassnet model takes the same input
as the module: where PyTorch works channels-first, a ``Permute`` layer turns the data to
glassnet's channels-last before the first convolution, and back before a flatten or a
dense layer, so the numbers -- and the flattening order -- are PyTorch's.

A module made by ``glassnet.to_torch`` carries its glassnet architecture and comes back
exactly (``from_torch(to_torch(model))`` has the same layers and weights).
"""
import operator

import numpy as np

from ..activations import Activation
from ..conv import Conv1D, Conv2D, AvgPool2D, GlobalAveragePooling1D, \
    GlobalAveragePooling2D, MaxPool2D, kernel_from_pytorch
from ..functional import Input, Model
from ..layers import Dense, Dropout, Embedding, Flatten, Permute
from ..merging import Add, Concatenate, Multiply, Subtract
from ..model import Sequential
from ..normalization import BatchNorm, LayerNorm
from ..recurrent import GRU, LSTM, SimpleRNN
from ..validate import sample_shape
from . import requires
from .torch_code import gru_order, weights_from_torch

SUPPORTED = ("nn.Linear, nn.Conv1d, nn.Conv2d (groups=1, zero padding), nn.MaxPool2d, "
             "nn.AvgPool2d (no padding), nn.AdaptiveAvgPool2d(1), nn.BatchNorm1d, "
             "nn.BatchNorm2d, nn.LayerNorm (last axis), nn.Dropout, nn.Flatten, nn.Embedding, "
             "nn.RNN (tanh), nn.LSTM, nn.GRU (one layer, batch_first, one direction), "
             "nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.Softmax(dim=-1), "
             "nn.Identity, nn.Sequential; and in forward: +, -, *, torch.cat, torch.relu, "
             "torch.sigmoid, torch.tanh, F.gelu, F.softmax, torch.flatten, x.mean, "
             "rnn(x)[0] and [:, -1]")


class Value:
    """A traced value: the glassnet tensor and how its axes relate to PyTorch's
    ('same', or 'channels_last' for a channels-first PyTorch tensor held channels-last)."""

    def __init__(self, tensor, layout="same", pending=None):
        self.tensor, self.layout, self.pending = tensor, layout, pending


class Converter:
    def __init__(self, torch, nn, F):
        self.torch, self.nn, self.F = torch, nn, F
        self.weights = []                    # (layer, {name: array}) set after building

    def refuse(self, path, what):
        raise TypeError(f"from_torch: {path} ({what}) has no glassnet form. Supported: "
                        f"{SUPPORTED}.")

    def apply(self, layer, value, weights=None):
        out = layer(value.tensor)
        if weights:
            self.weights.append((layer, weights))
        return out

    # --- layouts -----------------------------------------------------------------------
    def torch_layout(self, value):
        """The value with PyTorch's axis order (channels back to axis 1)."""
        if value.layout == "channels_last":
            rank = len(value.tensor.shape)
            dims = (rank - 1, *range(1, rank - 1))
            return Value(Permute(dims)(value.tensor))
        return value

    def channels_last(self, value):
        """The value channels-last, as glassnet's convolutions want it."""
        if value.layout == "same":
            rank = len(value.tensor.shape)
            dims = (*range(2, rank), 1)
            return Value(Permute(dims)(value.tensor), "channels_last")
        return value

    # --- modules ---------------------------------------------------------------------------
    def module(self, path, module, args):
        nn, t = self.nn, lambda a: a.detach().cpu().numpy().astype(np.float64)
        x = args[0]
        kind = type(module).__name__
        if isinstance(module, nn.Identity):
            return x
        if isinstance(module, nn.Linear):
            x = self.torch_layout(x)
            layer = Dense(module.out_features, use_bias=module.bias is not None)
            weights = {"W": t(module.weight).T}
            if module.bias is not None:
                weights["b"] = t(module.bias)
            return Value(self.apply(layer, x, weights))
        if isinstance(module, (nn.Conv2d, nn.Conv1d)):
            return self.convolution(path, module, x, t)
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)        # noqa: E731
            if pair(module.padding) != (0, 0) or module.ceil_mode or \
                    pair(getattr(module, "dilation", 1)) != (1, 1):
                self.refuse(path, f"{kind} with padding, ceil_mode or dilation")
            cls = MaxPool2D if isinstance(module, nn.MaxPool2d) else AvgPool2D
            stride = module.stride or module.kernel_size
            layer = cls(pair(module.kernel_size), strides=pair(stride))
            return Value(self.apply(layer, self.channels_last(x)), "channels_last")
        if isinstance(module, nn.AdaptiveAvgPool2d):
            size = module.output_size
            if size not in (1, (1, 1)):
                self.refuse(path, "AdaptiveAvgPool2d to a size other than 1")
            out = self.apply(GlobalAveragePooling2D(), self.channels_last(x))
            return Value(out, "pooled")                 # PyTorch keeps (batch, C, 1, 1)
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if not module.affine or not module.track_running_stats or module.momentum is None:
                self.refuse(path, f"{kind} without affine, running statistics or momentum")
            if len(x.tensor.shape) > 2:
                x = self.channels_last(x)
            layer = BatchNorm(momentum=1 - module.momentum, epsilon=module.eps)
            return Value(self.apply(layer, x, {
                "gamma": t(module.weight), "beta": t(module.bias),
                "running_mean": t(module.running_mean), "running_var": t(module.running_var)}),
                x.layout)
        if isinstance(module, nn.LayerNorm):
            if len(module.normalized_shape) != 1 or not module.elementwise_affine:
                self.refuse(path, "LayerNorm over several axes or without affine")
            x = self.torch_layout(x)
            return Value(self.apply(LayerNorm(epsilon=module.eps), x, {
                "gamma": t(module.weight), "beta": t(module.bias)}))
        if isinstance(module, nn.Dropout):
            return Value(self.apply(Dropout(module.p), x), x.layout)
        if isinstance(module, nn.Flatten):
            if module.start_dim != 1 or module.end_dim != -1:
                self.refuse(path, "Flatten of axes other than 1..-1")
            return self.flatten(x)
        if isinstance(module, nn.Embedding):
            if module.padding_idx is not None or module.max_norm is not None:
                self.refuse(path, "Embedding with padding_idx or max_norm")
            layer = Embedding(module.num_embeddings, module.embedding_dim)
            return Value(self.apply(layer, x, {"E": t(module.weight)}))
        if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
            if module.num_layers != 1 or module.bidirectional or not module.batch_first or \
                    getattr(module, "nonlinearity", "tanh") != "tanh" or \
                    getattr(module, "proj_size", 0):
                self.refuse(path, f"{kind} that is not one batch-first layer in one direction "
                                  f"with tanh")
            return Value(None, pending=(path, module, self.torch_layout(x)))
        activation = self.activation_module(module)
        if activation is not None:
            return self.activate(x, *activation)
        self.refuse(path, kind)

    def convolution(self, path, module, x, t):
        nn = self.nn
        one = isinstance(module, nn.Conv1d)
        if module.groups != 1 or module.padding_mode != "zeros":
            self.refuse(path, f"{type(module).__name__} with groups or non-zero padding")
        padding = module.padding
        if isinstance(padding, tuple):
            if len(set(padding)) != 1:
                self.refuse(path, "different padding per axis")
            padding = padding[0]
        options = {"strides": module.stride[0] if one else module.stride,
                   "padding": padding, "dilation_rate": module.dilation[0] if one
                   else module.dilation, "use_bias": module.bias is not None}
        if one:
            layer = Conv1D(module.out_channels, module.kernel_size[0], **options)
            weights = {"W": t(module.weight).transpose(2, 1, 0)}
        else:
            layer = Conv2D(module.out_channels, module.kernel_size, **options)
            weights = {"W": kernel_from_pytorch(t(module.weight))}
        if module.bias is not None:
            weights["b"] = t(module.bias)
        return Value(self.apply(layer, self.channels_last(x), weights), "channels_last")

    def activation_module(self, module):
        nn = self.nn
        simple = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
        for cls, name in simple.items():
            if isinstance(module, cls):
                return (name,)
        if isinstance(module, nn.GELU) and module.approximate == "none":
            return ("gelu",)
        if isinstance(module, nn.LeakyReLU):
            return ("leaky_relu", module.negative_slope)
        if isinstance(module, nn.Softmax) and module.dim in (-1, None, 1):
            return ("softmax_dim", module.dim)
        return None

    def activate(self, x, name, option=None):
        if name == "softmax_dim":
            rank = len(x.tensor.shape)
            if option not in (-1, rank - 1) and x.layout == "same" and rank > 2:
                raise TypeError("from_torch: softmax over an axis other than the last has no "
                                "glassnet form.")
            x = self.torch_layout(x) if option in (-1, rank - 1) else x
            name = "softmax"
        layer = Activation(name, **({"alpha": option} if name == "leaky_relu" else {}))
        return Value(self.apply(layer, x), x.layout)

    def flatten(self, x):
        if x.layout == "pooled":                         # (batch, C, 1, 1) -> (batch, C)
            return Value(x.tensor)
        x = self.torch_layout(x)
        if len(x.tensor.shape) == 2:
            return x
        return Value(self.apply(Flatten(), x))

    def recurrent(self, pending, return_sequences):
        path, module, x = pending
        t = lambda a: a.detach().cpu().numpy().astype(np.float64)     # noqa: E731
        kind = type(module).__name__
        u = module.hidden_size
        cls = {"RNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}[kind]
        layer = cls(u, return_sequences=return_sequences)
        order = gru_order(u) if kind == "GRU" else np.arange(module.weight_ih_l0.shape[0])
        inverse = np.argsort(order)
        weights = {"W": t(module.weight_ih_l0)[inverse].T,
                   "U": t(module.weight_hh_l0)[inverse].T}
        ih = t(module.bias_ih_l0)[inverse] if module.bias else np.zeros(len(order))
        hh = t(module.bias_hh_l0)[inverse] if module.bias else np.zeros(len(order))
        weights["b"] = np.stack([ih, hh]) if kind == "GRU" else ih + hh
        return Value(self.apply(layer, x, weights))

    def materialise(self, value):
        """A value still waiting to know how an RNN's output is used: its sequences."""
        if value.pending is not None:
            return self.recurrent(value.pending[:3], True)
        return value

    # --- functions and methods ------------------------------------------------------------
    def function(self, node, args, kwargs):
        torch, F = self.torch, self.F
        target = node.target
        if target is operator.getitem:
            return self.getitem(node, *args)
        values = [self.materialise(a) for a in args if isinstance(a, Value)]
        if target in (operator.add, torch.add, operator.sub, torch.sub, operator.mul,
                      torch.mul) and len(values) == 2 and not kwargs:
            cls = {operator.add: Add, torch.add: Add, operator.sub: Subtract,
                   torch.sub: Subtract, operator.mul: Multiply, torch.mul: Multiply}[target]
            a, b = values
            if a.layout != b.layout:
                a, b = self.torch_layout(a), self.torch_layout(b)
            return Value(cls()([a.tensor, b.tensor]), a.layout)
        if target is torch.cat:
            tensors = [self.torch_layout(self.materialise(v)) for v in args[0]]
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            rank = len(tensors[0].tensor.shape)
            if dim % rank == 0:
                raise TypeError("from_torch: torch.cat along the batch axis has no glassnet "
                                "form.")
            return Value(Concatenate(axis=dim % rank)([v.tensor for v in tensors]))
        simple = {torch.relu: ("relu",), F.relu: ("relu",), torch.sigmoid: ("sigmoid",),
                  torch.tanh: ("tanh",), F.gelu: ("gelu",)}
        if target in simple and not kwargs.get("approximate", "none") != "none":
            return self.activate(values[0], *simple[target])
        if target in (torch.softmax, F.softmax):
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            return self.activate(values[0], "softmax_dim", dim)
        if target is torch.flatten:
            if (args[1] if len(args) > 1 else kwargs.get("start_dim", 0)) != 1:
                raise TypeError("from_torch: torch.flatten from an axis other than 1 has no "
                                "glassnet form.")
            return self.flatten(values[0])
        raise TypeError(f"from_torch: the call {node.format_node()} has no glassnet form. "
                        f"Supported: {SUPPORTED}.")

    def method(self, node, args, kwargs):
        x = self.materialise(args[0])
        name = node.target
        if name in ("relu", "sigmoid", "tanh"):
            return self.activate(x, name)
        if name == "flatten" and (args[1:] == (1,) or kwargs.get("start_dim") == 1):
            return self.flatten(x)
        if name == "mean":
            dims = kwargs.get("dim", args[1] if len(args) > 1 else None)
            dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
            rank = len(x.tensor.shape)
            dims = tuple(sorted(d % rank for d in dims))
            if rank == 4 and x.layout in ("same", "channels_last") and dims == (2, 3) \
                    and not kwargs.get("keepdim"):
                return Value(GlobalAveragePooling2D()(self.channels_last(x).tensor))
            if rank == 3 and dims == (1,) and x.layout == "same" and not kwargs.get("keepdim"):
                return Value(GlobalAveragePooling1D()(x.tensor))
        raise TypeError(f"from_torch: the call {node.format_node()} has no glassnet form. "
                        f"Supported: {SUPPORTED}.")

    def getitem(self, node, value, index):
        if value.pending is not None and index == 0:
            return Value(None, pending=value.pending + ("sequences",))
        if value.pending is not None and len(value.pending) == 4 and \
                isinstance(index, tuple) and len(index) == 2 and index[0] == slice(None) \
                and index[1] == -1:
            return self.recurrent(value.pending[:3], False)            # the last step only
        raise TypeError(f"from_torch: the indexing {node.format_node()} has no glassnet form; "
                        f"use rnn(x)[0] for every step or rnn(x)[0][:, -1] for the last.")


def from_torch(module, input_shape, dtype="float32"):
    """A glassnet model computing what ``module`` computes, with its weights.

    ``input_shape``: the shape of one sample as the module takes it -- PyTorch's layout,
    e.g. ``(1, 28, 28)`` for images -- or a list of shapes for several inputs. Token inputs
    (``nn.Embedding`` first) are whole numbers of that shape. Returns a Sequential when the
    layers form a chain, else a functional Model. A module that is not supported is
    refused with its path in the module tree and the list of what is supported.
    """
    torch = requires("torch", "torch")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {module!r}.")
    config = getattr(module, "glassnet_config", None)
    if config is not None:                            # made by to_torch: exact way back
        cls = Model if config.get("type") == "Model" else Sequential
        model = cls.from_config({**config, "dtype": dtype})
        return weights_from_torch(model, module.state_dict())
    import torch.fx as fx
    try:
        graph = fx.symbolic_trace(module).graph
    except Exception as error:                       # fx raises many kinds
        raise TypeError(f"from_torch: torch.fx cannot trace {type(module).__name__} "
                        f"({type(error).__name__}: {error}); glassnet converts modules whose "
                        f"forward calls supported modules and functions only.") from None
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    if len(shapes) != len(placeholders):
        raise ValueError(f"from_torch: the module takes {len(placeholders)} inputs; give "
                         f"input_shape as a list of {len(placeholders)} sample shapes.")
    converter = Converter(torch, torch.nn, torch.nn.functional)
    modules = dict(module.named_modules())
    values, inputs = {}, []
    for node, shape in zip(placeholders, shapes):
        tensor = Input(sample_shape(shape, "input_shape", "from_torch"), name=node.name)
        inputs.append(tensor)
        values[node.name] = Value(tensor)

    def resolve(arg):
        if isinstance(arg, fx.Node):
            return values[arg.name]
        if isinstance(arg, (list, tuple)):
            return type(arg)(resolve(a) for a in arg)
        return arg
    output = None
    for node in graph.nodes:
        args, kwargs = resolve(node.args), {k: resolve(v) for k, v in node.kwargs.items()}
        if node.op == "call_module":
            values[node.name] = converter.module(node.target, modules[node.target],
                                                 [converter.materialise(a) if
                                                  isinstance(a, Value) else a for a in args])
        elif node.op == "call_function":
            values[node.name] = converter.function(node, args, kwargs)
        elif node.op == "call_method":
            values[node.name] = converter.method(node, args, kwargs)
        elif node.op == "output":
            output = args[0]
        elif node.op != "placeholder":
            raise TypeError(f"from_torch: {node.format_node()} has no glassnet form.")
    if not isinstance(output, Value):
        raise TypeError("from_torch: the module must return one tensor.")
    output = converter.torch_layout(converter.materialise(output))
    model = Model(inputs, output.tensor, dtype=dtype)
    if len(inputs) == 1 and all(len(node.inputs) == 1 for node in model.nodes()
                                if node.inputs):
        layers = [node.layer for node in model.nodes() if node.inputs]
        for layer in layers:
            layer.name = layer.position = None
        model = Sequential(layers, input_shape=inputs[0].shape[1:], dtype=dtype)
    model.build()
    for layer, weights in converter.weights:
        for name, array in weights.items():
            store = layer.params if name in layer.params else layer.state
            store[name][...] = array
    return model
