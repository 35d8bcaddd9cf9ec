"""A glassnet model from a PyTorch module -- so summary, trace, explain and every picture
work on your own PyTorch model.

The module is traced with ``torch.fx``: an ``nn.Sequential``, or a module whose forward
calls supported modules, functions and tensor methods (see ``SUPPORTED``), written as
people write PyTorch: ``out, _ = self.lstm(x); out[:, -1]``, ``_, (h, c) = self.lstm(x);
h[-1]``, ``x.view(x.size(0), -1)``, ``F.max_pool2d(x, 2)``, ``y * 0.5``, ``out += identity``
... Each call becomes glassnet layers holding the same weights. The glassnet model takes
the same input as the module: where PyTorch works channels-first, a ``Permute`` layer
turns the data to glassnet's channels-last before the first convolution, and back before
a flatten or a dense layer, so the numbers -- and the flattening order -- are PyTorch's.

Nothing is converted silently. Before it returns, ``from_torch`` runs the PyTorch module
(a float64 copy, in eval mode) and the glassnet model (float64) on the same inputs --
random inputs of ``input_shape`` and the caller's ``example`` -- and refuses, naming the
first step whose output differs and by how much, when they differ by more than
``TOLERANCE`` times the largest output magnitude (at least 1). Weights that are NaN or
infinite, or beyond float32's range for a float32 model, are refused before anything is
built; so is a module whose ``forward`` was replaced on the instance (torch.fx would trace
the class's code, which does not run).

A module made by ``glassnet.to_torch`` carries its glassnet architecture and comes back
exactly (``from_torch(to_torch(model))`` has the same layers and weights) -- after the
same check, so a module changed since it was made is refused rather than rebuilt from its
old architecture.
"""
import builtins
import copy
import math
import operator
import warnings

import numpy as np

from ..layers.activations import Activation
from ..layers.attention import MultiHeadAttention
from ..layers.conv import (AvgPool2D, Conv1D, Conv2D, DepthwiseConv2D, GlobalAveragePooling1D,
                    GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPool2D, kernel_from_pytorch)
from ..errors import ShapeError, describe_shape
from ..network.functional import Input, Model
from ..layers.dense import Dense, Dropout, Embedding, Flatten, Permute
from ..layers.merging import Add, Concatenate, Multiply, Subtract
from ..network.sequential import Residual, Sequential
from ..layers.normalization import BatchNorm, LayerNorm
from ..layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from ..layers.reshaping import Cropping1D, Rescaling, Reshape
from ..validate import number, sample_shape
from .common import requires
from .torch_code import gru_order, weights_from_torch

TOLERANCE = 1e-6        # float64 on both sides: a true conversion agrees to ~1e-12

SUPPORTED = (
    "modules nn.Linear, nn.Conv1d, nn.Conv2d (zero padding, same on both axes; groups, "
    "depthwise), nn.MaxPool2d and nn.AvgPool2d (padding, no ceil_mode), "
    "nn.AdaptiveAvgPool2d (to 1, or to a size dividing the input), nn.AdaptiveMaxPool2d(1), "
    "nn.BatchNorm1d/2d, nn.LayerNorm (last axis), nn.Dropout, nn.Flatten, nn.Embedding, "
    "nn.RNN (tanh), nn.LSTM, nn.GRU (batch_first; stacked, bidirectional), "
    "nn.MultiheadAttention (batch_first, self-attention), nn.TransformerEncoderLayer and "
    "nn.TransformerEncoder (batch_first), nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, "
    "nn.SiLU, nn.Sigmoid, nn.Tanh, nn.GELU (both forms), nn.Softmax and nn.LogSoftmax "
    "(over features), nn.Identity, nn.Sequential; in forward: +, -, *, / between tensors "
    "or with a number, torch.cat, torch.relu/sigmoid/tanh/softmax/log_softmax/flatten/"
    "mean/reshape, F.relu, F.relu6, F.leaky_relu, F.elu, F.selu, F.silu, F.gelu, "
    "F.softmax, F.log_softmax, F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d, "
    "F.dropout, x.add/sub/mul/div/neg (and in place), x.view/reshape (x.size(0) or -1 "
    "first), x.flatten(1), x.mean, x.permute and x.transpose (batch first), x.size(), "
    "x.shape, x.contiguous(), "
    "x[:, t] and x[:, a:b] on sequences, "
    "out, _ = rnn(x) with out or out[:, -1], _, h = rnn(x) with h[-1], "
    "torch.cat((h[-2], h[-1]), 1) for a bidirectional rnn")


METHOD_ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                     "div": operator.truediv, "neg": operator.neg}


def refuse(what, detail=""):
    raise TypeError(f"from_torch: {what} has no glassnet form{detail}. Supported: "
                    f"{SUPPORTED}.")


def function_name(target):
    """torch.nn.functional.relu -> 'F.relu'; operator.truediv -> 'operator.truediv'."""
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", repr(target))
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if module.startswith("torch") or module == "":
        return f"torch.{name}"
    return f"{module.replace('_operator', 'operator')}.{name}"


def bind(args, kwargs, names, defaults, what):
    """The call's arguments by name: positional ``args`` in the order of ``names``."""
    if len(args) > len(names):
        refuse(what, f" with {len(args)} positional arguments")
    bound = {**defaults, **dict(zip(names, args))}
    unknown = set(kwargs) - set(names)
    if unknown:
        refuse(what, f" with the argument {sorted(unknown)[0]!r}")
    bound.update(kwargs)
    return bound


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


class Value:
    """A traced tensor: the glassnet tensor and how its axes relate to PyTorch's
    ('same'; 'channels_last' for a channels-first PyTorch tensor held channels-last;
    'pooled' for PyTorch's (batch, C, 1, 1) held as (batch, C))."""

    def __init__(self, tensor, layout="same"):
        self.tensor, self.layout = tensor, layout

    def torch_shape(self):
        shape = self.tensor.shape
        if self.layout == "channels_last":
            return (shape[0], shape[-1], *shape[1:-1])
        if self.layout == "pooled":
            return (*shape, 1, 1)
        return shape


class BatchSize:
    """x.size(0) or x.shape[0]: the batch, known only when the model runs."""


class ShapeOf:
    """x.size() or x.shape: PyTorch's shape of a traced tensor (None: the batch)."""

    def __init__(self, shape):
        self.shape = shape

    def item(self, i):
        i = i % len(self.shape)
        return BatchSize() if i == 0 else self.shape[i]


class RecurrentCall:
    """rnn(x) before we know which of its outputs is used: (out, h_n) or
    (out, (h_n, c_n)). ``part``: None (the tuple), 'out', 'hidden' (h_n, or LSTM's
    (h_n, c_n)), 'h', 'c'; ``index``: h_n[index]."""

    def __init__(self, path, module, x, part=None, index=None):
        self.path, self.module, self.x, self.part, self.index = path, module, x, part, index

    def but(self, **changes):
        return RecurrentCall(**{**vars(self), **changes})


class Unusable:
    """An output with no glassnet form (attention weights): refused only if used."""

    def __init__(self, what):
        self.what = what


class AttentionCall:
    """nn.MultiheadAttention's (output, weights): only the output has a glassnet form."""

    def __init__(self, path, output):
        self.path, self.output = path, output


def time_index(index):
    """t (an int) or a slice with step 1 for x[:, t] or x[:, a:b] (or x[:, t, :]);
    None for other indexing."""
    if not (isinstance(index, tuple) and len(index) in (2, 3) and index[0] == slice(None)
            and all(i == slice(None) for i in index[2:])):
        return None
    step = index[1]
    if isinstance(step, bool):
        return None
    if isinstance(step, int) or (isinstance(step, slice) and step.step in (None, 1) and
                                 all(v is None or isinstance(v, int)
                                     for v in (step.start, step.stop))):
        return step
    return None


class Converter:
    def __init__(self, torch):
        self.torch, self.nn, self.F = torch, torch.nn, torch.nn.functional
        self.weights = []               # (path, layer, {name: array}) set after building
        self.integer_inputs = {}        # input name -> token ids below this (Embedding)
        self.materialised = {}          # id(RecurrentCall's module call) -> how it was used
        self.calls = {}                 # module path -> how often a module with weights ran

    def numpy(self, tensor):
        return tensor.detach().cpu().numpy().astype(np.float64)

    def apply(self, layer, value, weights=None, path=None):
        """layer(value), checking PyTorch's weights against the shapes glassnet derives
        from the input shape (a wrong input_shape shows here first)."""
        tensor = value if not isinstance(value, Value) else value.tensor
        out = layer(tensor)
        if weights:
            in_shape = [t.shape for t in tensor] if isinstance(tensor, list) else tensor.shape
            expected = {**layer.param_shapes(in_shape), **layer.state_shapes(in_shape)}
            for name, array in weights.items():
                if tuple(expected.get(name, ())) != array.shape:
                    raise ShapeError(
                        f"from_torch: {path} ({layer!r}) holds weights {name} of shape "
                        f"{array.shape} (glassnet's layout), but the input reaching it, "
                        f"{describe_shape(in_shape)}, needs {tuple(expected.get(name, ()))}. "
                        f"Check input_shape: the shape of one sample as the module takes it "
                        f"(PyTorch's layout, channels first).")
            self.weights.append((path, layer, weights))
        return out

    # --- layouts -----------------------------------------------------------------------
    def torch_layout(self, value):
        """The value with PyTorch's axis order (channels back to axis 1)."""
        if value.layout == "channels_last":
            rank = len(value.tensor.shape)
            return Value(Permute((rank - 1, *range(1, rank - 1)))(value.tensor))
        if value.layout == "pooled":
            return Value(Reshape((value.tensor.shape[-1], 1, 1))(value.tensor))
        return value

    def channels_last(self, value):
        """The value channels-last, as glassnet's convolutions want it."""
        if value.layout == "same":
            rank = len(value.tensor.shape)
            return Value(Permute((*range(2, rank), 1))(value.tensor), "channels_last")
        if value.layout == "pooled":
            return Value(Reshape((1, 1, value.tensor.shape[-1]))(value.tensor),
                         "channels_last")
        return value

    def image(self, path, value, kind):
        value = self.channels_last(value)
        if len(value.tensor.shape) != 4:
            raise ShapeError(f"from_torch: {path} ({kind}) expects images (batch, C, H, W), "
                             f"but receives {describe_shape(value.torch_shape())}. Check "
                             f"input_shape (PyTorch's layout, channels first).")
        return value

    # --- modules ---------------------------------------------------------------------------
    def module(self, path, module, args, kwargs):
        nn, t = self.nn, self.numpy
        kind = f"nn.{type(module).__name__}"
        if any(p.numel() for p in module.parameters(recurse=False)) or \
                isinstance(module, (nn.RNNBase, nn.MultiheadAttention,
                                    nn.TransformerEncoderLayer, nn.TransformerEncoder)):
            self.calls[path] = self.calls.get(path, 0) + 1
            if self.calls[path] > 1:
                raise TypeError(f"from_torch: {path} ({kind}) is called more than once; its "
                                f"calls share weights in PyTorch, but each glassnet layer "
                                f"holds its own, so they would train apart. Give each call "
                                f"its own module.")
        if isinstance(module, (nn.MultiheadAttention, nn.TransformerEncoderLayer,
                               nn.TransformerEncoder)):
            return self.transformer(path, module, args, kwargs, kind)
        if len(args) != 1 or kwargs:
            refuse(f"{path} ({kind}) called with {len(args)} inputs and options "
                   f"{sorted(kwargs)}", "")
        x = args[0]
        if not isinstance(x, Value):
            refuse(f"{path} ({kind}) on {type(x).__name__}")
        if isinstance(module, nn.Identity):
            return x
        if isinstance(module, nn.Linear):
            x = self.torch_layout(x)
            weights = {"W": t(module.weight).T}
            if module.bias is not None:
                weights["b"] = t(module.bias)
            layer = Dense(module.out_features, use_bias=module.bias is not None)
            return Value(self.apply(layer, x, weights, path))
        if isinstance(module, (nn.Conv2d, nn.Conv1d)):
            return self.convolution(path, module, x, kind)
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            options = {"kernel_size": module.kernel_size, "stride": module.stride,
                       "padding": module.padding, "ceil_mode": module.ceil_mode}
            if isinstance(module, nn.MaxPool2d):
                options.update(dilation=module.dilation, return_indices=module.return_indices)
            else:
                options.update(count_include_pad=module.count_include_pad,
                               divisor_override=module.divisor_override)
            return self.pool(path, kind, "max" if isinstance(module, nn.MaxPool2d) else "avg",
                             x, options)
        if isinstance(module, nn.AdaptiveAvgPool2d):
            return self.adaptive(path, kind, x, module.output_size, "avg")
        if isinstance(module, nn.AdaptiveMaxPool2d):
            if module.return_indices:
                refuse(f"{path} ({kind}) with return_indices")
            return self.adaptive(path, kind, x, module.output_size, "max")
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if not module.affine or not module.track_running_stats or module.momentum is None:
                refuse(f"{path} ({kind}) without affine, running statistics or momentum")
            if len(x.tensor.shape) > 2:
                x = self.channels_last(x)
            layer = BatchNorm(momentum=1 - module.momentum, epsilon=module.eps)
            return Value(self.apply(layer, x, {
                "gamma": t(module.weight), "beta": t(module.bias),
                "running_mean": t(module.running_mean), "running_var": t(module.running_var)},
                path), x.layout)
        if isinstance(module, nn.LayerNorm):
            return Value(self.layer_norm(path, module, self.torch_layout(x), kind))
        if isinstance(module, nn.Dropout):
            return self.dropout(x, module.p)
        if isinstance(module, nn.Flatten):
            if module.start_dim != 1 or module.end_dim != -1:
                refuse(f"{path} ({kind}) of axes {module.start_dim}..{module.end_dim}",
                       " (only 1..-1)")
            return self.flatten(x)
        if isinstance(module, nn.Embedding):
            if module.padding_idx is not None or module.max_norm is not None:
                refuse(f"{path} ({kind}) with padding_idx or max_norm")
            layer = Embedding(module.num_embeddings, module.embedding_dim)
            name = x.tensor.name if x.tensor.node is None else None
            if name is not None:
                self.integer_inputs[name] = module.num_embeddings
            return Value(self.apply(layer, x, {"E": t(module.weight)}, path))
        if isinstance(module, nn.RNNBase):
            if not module.batch_first or getattr(module, "nonlinearity", "tanh") != "tanh" \
                    or getattr(module, "proj_size", 0):
                refuse(f"{path} ({kind}) that is not batch_first with tanh and no proj_size")
            return RecurrentCall(path, module, self.torch_layout(x))
        activation = self.activation_module(module)
        if activation is not None:
            return self.activate(x, *activation, where=f"{path} ({kind})")
        refuse(f"{path} ({kind})")

    def convolution(self, path, module, x, kind):
        one = isinstance(module, self.nn.Conv1d)
        t = self.numpy
        if module.padding_mode != "zeros":
            refuse(f"{path} ({kind}) with padding_mode={module.padding_mode!r}")
        padding = module.padding
        if isinstance(padding, str):
            padding = {"valid": 0}.get(padding, padding)
        if isinstance(padding, tuple):
            if len(set(padding)) != 1:
                refuse(f"{path} ({kind}) with padding {padding}", " (different per axis)")
            padding = padding[0]
        groups, c_in, c_out = module.groups, module.in_channels, module.out_channels
        if one:
            if groups != 1:
                refuse(f"{path} ({kind}) with groups={groups}")
            layer = Conv1D(c_out, module.kernel_size[0], strides=module.stride[0],
                           padding=padding, dilation_rate=module.dilation[0],
                           use_bias=module.bias is not None)
            weights = {"W": t(module.weight).transpose(2, 1, 0)}
            x = self.channels_last(x)
        else:
            options = {"strides": module.stride, "padding": padding,
                       "dilation_rate": module.dilation, "use_bias": module.bias is not None}
            W = kernel_from_pytorch(t(module.weight))
            if groups > 1 and groups == c_in:                    # depthwise (MobileNet)
                layer = DepthwiseConv2D(module.kernel_size, depth_multiplier=c_out // c_in,
                                        **options)
                W = W.reshape(*W.shape[:2], c_in, c_out // c_in)
            else:
                layer = Conv2D(c_out, module.kernel_size, groups=groups, **options)
            weights = {"W": W}
            x = self.image(path, x, kind)
        if module.bias is not None:
            weights["b"] = t(module.bias)
        return Value(self.apply(layer, x, weights, path), "channels_last")

    def pool(self, path, kind, mode, x, options):
        """MaxPool2D or AvgPool2D for nn.MaxPool2d/AvgPool2d and F.max_pool2d/avg_pool2d."""
        k = pair(options["kernel_size"])
        stride = pair(options["stride"] or k)
        padding = pair(options["padding"])
        if options.get("ceil_mode"):
            refuse(f"{kind} at {path} with ceil_mode=True")
        if mode == "max" and (pair(options.get("dilation", 1)) != (1, 1) or
                              options.get("return_indices")):
            refuse(f"{kind} at {path} with dilation or return_indices")
        if len(set(padding)) != 1:
            refuse(f"{kind} at {path} with padding {padding}", " (different per axis)")
        if mode == "avg" and options.get("divisor_override") is not None:
            refuse(f"{kind} at {path} with divisor_override={options['divisor_override']}",
                   " (glassnet divides by the values each window covers)")
        if mode == "avg" and padding[0] and options.get("count_include_pad", True):
            refuse(f"{kind} at {path} with padding and count_include_pad=True",
                   " (glassnet averages only the values each window covers: give "
                   "count_include_pad=False)")
        cls = MaxPool2D if mode == "max" else AvgPool2D
        layer = cls(k, strides=stride, padding=padding[0])
        return Value(self.apply(layer, self.image(path, x, kind)), "channels_last")

    def adaptive(self, path, kind, x, size, mode):
        x = self.image(path, x, kind)
        hw = x.tensor.shape[1:3]
        size = pair(size)
        size = tuple(h if s is None else s for s, h in zip(size, hw))
        if size == (1, 1):
            layer = GlobalAveragePooling2D() if mode == "avg" else GlobalMaxPooling2D()
            return Value(self.apply(layer, x), "pooled")      # PyTorch keeps (B, C, 1, 1)
        if size == tuple(hw):
            return x
        if mode == "avg" and all(h % s == 0 for h, s in zip(hw, size)):
            window = tuple(h // s for h, s in zip(hw, size))
            return Value(self.apply(AvgPool2D(window), x), "channels_last")
        refuse(f"{kind} at {path} to {size} from {hw[0]}x{hw[1]}",
               " (glassnet has it for output 1, or an output size that divides the input)")

    def layer_norm(self, path, module, x, kind):
        if len(module.normalized_shape) != 1 or not module.elementwise_affine:
            refuse(f"{path} ({kind}) over several axes or without affine")
        beta = np.zeros(module.normalized_shape) if module.bias is None else \
            self.numpy(module.bias)
        return self.apply(LayerNorm(epsilon=module.eps), x,
                          {"gamma": self.numpy(module.weight), "beta": beta}, path)

    def dropout(self, x, p):
        if p == 0:
            return x
        return Value(self.apply(Dropout(p), x), x.layout)

    def activation_module(self, module):
        """(glassnet activation, option) for an activation module, or None."""
        nn = self.nn
        simple = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.SELU: "selu",
                  nn.SiLU: "silu", nn.ReLU6: "relu6"}
        for cls, name in simple.items():
            if type(module) is cls:
                return (name,)
        if type(module) is nn.GELU:
            return ("gelu", module.approximate)
        if type(module) is nn.ELU:
            return ("elu", module.alpha)
        if type(module) is nn.LeakyReLU:
            return ("leaky_relu", module.negative_slope)
        if type(module) in (nn.Softmax, nn.LogSoftmax):
            return ("softmax" if type(module) is nn.Softmax else "log_softmax", module.dim)
        return None

    def activate(self, x, name, option=None, where=""):
        """An Activation layer; ``option``: leaky_relu's slope, elu's alpha, gelu's
        approximate, or softmax's dim (PyTorch's numbering)."""
        if not isinstance(x, Value):
            refuse(f"{where} on {type(x).__name__}")
        options = {}
        if name in ("softmax", "log_softmax"):
            x = self.softmax_axis(x, option, where)
        elif name == "gelu":
            if option not in ("none", "tanh"):
                refuse(f"{where} with approximate={option!r}")
            options["approximate"] = option == "tanh"
        elif name in ("leaky_relu", "elu"):
            options["alpha"] = option
        return Value(self.apply(Activation(name, **options), x), x.layout)

    def softmax_axis(self, x, dim, where):
        """The value laid out so that PyTorch's softmax ``dim`` is glassnet's last axis;
        the batch axis, or any other axis, is refused."""
        rank = len(x.tensor.shape)
        if dim is None:                         # PyTorch's implicit choice (deprecated)
            dim = 0 if rank in (0, 1, 3) else 1
        dim %= rank
        if x.layout == "channels_last" and dim == 1:
            return x                            # channels: glassnet's last axis already
        if x.layout == "pooled" and dim == 1:
            return x
        x = self.torch_layout(x)
        if dim != rank - 1:
            refuse(f"{where} over dim={dim} of a {rank}-axis tensor",
                   " (glassnet's softmax runs over the last axis, the features; never over "
                   "the batch)")
        return x

    def flatten(self, x):
        if x.layout == "pooled":                         # (batch, C, 1, 1) -> (batch, C)
            return Value(x.tensor)
        x = self.torch_layout(x)
        if len(x.tensor.shape) == 2:
            return x
        return Value(self.apply(Flatten(), x))

    # --- recurrent layers -------------------------------------------------------------
    def rnn_layers(self, call, last_sequences, bidirectional_last=True):
        """The glassnet layers of ``call.module`` (stacked, bidirectional), applied to its
        input; the last layer returns every step when ``last_sequences``."""
        module, path = call.module, call.path
        made = self.materialised.setdefault((id(call.module), call.x.tensor), {})
        mode = "sequences" if last_sequences else "last"
        if mode in made:                                  # the same output used again
            return made[mode]
        if mode == "last" and "sequences" in made and not module.bidirectional:
            made[mode] = self.time_steps("the last step", made["sequences"],
                                         (slice(None), -1))
            return made[mode]
        if made:
            raise TypeError(f"from_torch: the outputs of {path} (nn.{type(module).__name__}) "
                            f"are used in two ways (its steps and its final state); glassnet "
                            f"would need two layers with separate weights. Use one of them.")
        made[mode] = self.rnn_stack(call, last_sequences)
        return made[mode]

    def rnn_stack(self, call, last_sequences):
        module, path = call.module, call.path
        kind = type(module).__name__
        cls = {"RNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}[kind]
        u, t = module.hidden_size, self.numpy
        x = call.x
        for i in range(module.num_layers):
            sequences = last_sequences or i < module.num_layers - 1
            if i and module.dropout:
                x = self.dropout(x, module.dropout)
            copies = [cls(u, return_sequences=sequences)]
            if module.bidirectional:
                copies.append(cls(u, return_sequences=sequences))
            weights = {}
            for prefix, copy_, suffix in zip(("1.", "2."), copies, ("", "_reverse")):
                w = self.rnn_weights(module, f"_l{i}{suffix}", kind, u, t)
                weights.update({(prefix if module.bidirectional else "") + k: v
                                for k, v in w.items()})
            layer = Bidirectional(copies[0], backward_layer=copies[1]) \
                if module.bidirectional else copies[0]
            x = Value(self.apply(layer, x, weights, f"{path} layer {i}"))
        return x

    def rnn_weights(self, module, suffix, kind, u, t):
        order = gru_order(u) if kind == "GRU" else \
            np.arange(getattr(module, f"weight_ih{suffix}").shape[0])
        inverse = np.argsort(order)
        weights = {"W": t(getattr(module, f"weight_ih{suffix}"))[inverse].T,
                   "U": t(getattr(module, f"weight_hh{suffix}"))[inverse].T}
        zeros = np.zeros(len(order))
        ih = t(getattr(module, f"bias_ih{suffix}"))[inverse] if module.bias else zeros
        hh = t(getattr(module, f"bias_hh{suffix}"))[inverse] if module.bias else zeros
        weights["b"] = np.stack([ih, hh]) if kind == "GRU" else ih + hh
        return weights

    def recurrent_output(self, call, where):
        """A RecurrentCall used as a tensor: its steps, or its last hidden state."""
        module = call.module
        kind = type(module).__name__
        dirs = 2 if module.bidirectional else 1
        if call.part == "out":
            return self.rnn_layers(call, True)
        if call.part in ("h", "hidden") and call.index is not None and \
                (kind != "LSTM" or call.part == "h"):
            layer, direction = divmod(call.index % (module.num_layers * dirs), dirs)
            if layer == module.num_layers - 1 and dirs == 1:
                return self.rnn_layers(call, False)
            if layer == module.num_layers - 1:
                refuse(f"{where}: h_n[{call.index}] of the bidirectional {call.path} "
                       f"(one direction alone)", "; write torch.cat((h[-2], h[-1]), dim=1) "
                       "for both directions' final states (Keras's Bidirectional)")
            refuse(f"{where}: h_n[{call.index}] of {call.path} (an inner layer's state)",
                   "; use h_n[-1], the last layer's")
        refuse(f"{where}: this use of the outputs of {call.path} (nn.{kind})",
               "; use out, _ = rnn(x) with out or out[:, -1], or _, h = rnn(x) with h[-1]")

    def materialise(self, value, where=""):
        if isinstance(value, RecurrentCall):
            return self.recurrent_output(value, where)
        if isinstance(value, AttentionCall):
            refuse(f"{where}: the (output, weights) pair of {value.path}",
                   "; use out, _ = attention(x, x, x)")
        if isinstance(value, Unusable):
            refuse(f"{where}: {value.what}", "; use the attention's output, [0]")
        return value

    # --- attention and Transformer encoders --------------------------------------------------
    def transformer(self, path, module, args, kwargs, kind):
        nn = self.nn
        if not args or not isinstance(args[0], Value):
            refuse(f"{path} ({kind}) on {args!r}")
        x = self.torch_layout(args[0])
        if isinstance(module, nn.MultiheadAttention):
            options = bind(args[1:], kwargs, ["key", "value", "key_padding_mask",
                                              "need_weights", "attn_mask",
                                              "average_attn_weights", "is_causal"], {}, kind)
            if options.get("key") is not args[0] or options.get("value") is not args[0]:
                refuse(f"{path} ({kind}) with a key or value other than the query",
                       " (glassnet's MultiHeadAttention is self-attention)")
            if any(options.get(k) is not None for k in ("key_padding_mask", "attn_mask")) or \
                    options.get("is_causal"):
                refuse(f"{path} ({kind}) with a mask")
            return AttentionCall(path, Value(self.attention(path, module, x)))
        options = bind(args[1:], kwargs, ["src_mask", "src_key_padding_mask", "is_causal",
                                          "mask"], {}, kind)
        if any(v not in (None, False) for v in options.values()):
            refuse(f"{path} ({kind}) with a mask")
        if isinstance(module, nn.TransformerEncoder):
            for i, inner in enumerate(module.layers):
                x = Value(self.encoder_layer(f"{path}.layers.{i}", inner, x))
            if module.norm is not None:
                x = Value(self.layer_norm(f"{path}.norm", module.norm, x, "nn.LayerNorm"))
            return x
        return Value(self.encoder_layer(path, module, x))

    def attention(self, path, module, x):
        """glassnet's MultiHeadAttention holding nn.MultiheadAttention's weights."""
        kind = "nn.MultiheadAttention"
        if not module.batch_first:
            refuse(f"{path} ({kind}) with batch_first=False")
        if module.kdim != module.embed_dim or module.vdim != module.embed_dim or \
                module.bias_k is not None or \
                module.add_zero_attn:
            refuse(f"{path} ({kind}) with kdim/vdim, add_bias_kv or add_zero_attn")
        if module.dropout:
            warnings.warn(f"from_torch: {path} ({kind}) drops attention weights with "
                          f"p={module.dropout} while training; glassnet's "
                          f"MultiHeadAttention does not (inference is the same).",
                          stacklevel=4)
        E, H = module.embed_dim, module.num_heads
        t, k = self.numpy, E // H
        W, b = t(module.in_proj_weight), module.in_proj_bias
        b = np.zeros(3 * E) if b is None else t(b)
        use_bias = module.in_proj_bias is not None
        weights = {}
        for i, name in enumerate("qkv"):
            weights["W" + name] = W[i * E:(i + 1) * E].T.reshape(E, H, k)
            if use_bias:
                weights["b" + name] = b[i * E:(i + 1) * E].reshape(H, k)
        weights["Wo"] = t(module.out_proj.weight).T.reshape(H, k, E)
        if use_bias:
            weights["bo"] = t(module.out_proj.bias)
        layer = MultiHeadAttention(H, k, use_bias=use_bias)
        return self.apply(layer, x, weights, path)

    def encoder_layer(self, path, module, x):
        """nn.TransformerEncoderLayer as glassnet layers: post-norm
        LayerNorm(x + Dropout(attention(x))), LayerNorm(x + feed_forward(x)); pre-norm
        x + Dropout(attention(LayerNorm(x))), x + feed_forward(LayerNorm(x))."""
        kind = "nn.TransformerEncoderLayer"
        if not module.self_attn.batch_first:
            refuse(f"{path} ({kind}) with batch_first=False")
        act = module.activation
        name = self.activation_module(act) if isinstance(act, self.nn.Module) else \
            {self.F.relu: ("relu",), self.F.gelu: ("gelu", "none")}.get(act)
        if name is None:
            refuse(f"{path} ({kind}) with activation {act!r}")
        attention = self.attention(f"{path}.self_attn", module.self_attn, x).layer
        attention_branch = [attention, *([Dropout(module.dropout1.p)]
                                         if module.dropout1.p else [])]
        hidden = Dense(module.linear1.out_features, activation=name[0],
                       **({"alpha": name[1]} if name[0] == "leaky_relu" else {}))
        out = Dense(module.linear2.out_features)
        t = self.numpy
        for layer, linear in ((hidden, module.linear1), (out, module.linear2)):
            self.weights.append((f"{path}.linear", layer, {"W": t(linear.weight).T,
                                                           "b": t(linear.bias)}))
        ff_branch = [hidden, *([Dropout(module.dropout.p)] if module.dropout.p else []), out,
                     *([Dropout(module.dropout2.p)] if module.dropout2.p else [])]
        norms = []
        for i, norm in enumerate((module.norm1, module.norm2), 1):
            layer = LayerNorm(epsilon=norm.eps)
            self.weights.append((f"{path}.norm{i}", layer, {
                "gamma": t(norm.weight),
                "beta": np.zeros(norm.weight.shape) if norm.bias is None else t(norm.bias)}))
            norms.append(layer)
        if module.norm_first:
            x = Residual([norms[0], *attention_branch])(x.tensor)
            return Residual([norms[1], *ff_branch])(x)
        x = norms[0](Residual(attention_branch)(x.tensor))
        return norms[1](Residual(ff_branch)(x))

    # --- functions and methods ------------------------------------------------------------
    def arithmetic(self, what, target, args, kwargs):
        """+, -, *, / between two tensors (a glassnet merge) or with a number (Rescaling)."""
        torch = self.torch
        if kwargs:
            refuse(f"{what} with {sorted(kwargs)}")
        ops = {operator.add: "add", torch.add: "add", operator.iadd: "add",
               operator.sub: "sub", torch.sub: "sub", operator.isub: "sub",
               operator.mul: "mul", torch.mul: "mul", operator.imul: "mul",
               operator.truediv: "div", torch.div: "div", operator.itruediv: "div",
               operator.neg: "neg", torch.neg: "neg"}
        op = ops[target]
        if op == "neg":
            return Value(Rescaling(-1.0)(args[0].tensor), args[0].layout)
        a, b = args
        if isinstance(a, Value) and isinstance(b, Value):
            if op == "div":
                refuse(f"{what} of two tensors")
            if a.layout != b.layout:
                a, b = self.torch_layout(a), self.torch_layout(b)
            if a.tensor.shape != b.tensor.shape:
                refuse(f"{what} of shapes {describe_shape(a.torch_shape())} and "
                       f"{describe_shape(b.torch_shape())}", " (broadcasting)")
            cls = {"add": Add, "sub": Subtract, "mul": Multiply}[op]
            return Value(cls()([a.tensor, b.tensor]), a.layout)
        number_first = not isinstance(a, Value)
        x, c = (b, a) if number_first else (a, b)
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not isinstance(x, Value):
            refuse(f"{what} of {type(a).__name__} and {type(b).__name__}")
        if op == "div" and number_first:
            refuse(f"{what}: a number divided by a tensor")
        scale, offset = {"add": (1.0, c), "mul": (c, 0.0),
                         "sub": (-1.0, c) if number_first else (1.0, -c),
                         "div": (1.0 / c if c else math.inf, 0.0)}[op]
        if not math.isfinite(scale):
            refuse(f"{what}: division by zero")
        return Value(Rescaling(scale, offset=offset)(x.tensor), x.layout)

    def function(self, node, args, kwargs):
        torch, F = self.torch, self.F
        target = node.target
        what = f"{function_name(target)} (at {node.name})"
        if target is operator.getitem:
            return self.getitem(node, *args)
        if target is builtins.getattr:
            value, name = args
            if isinstance(value, Value) and name == "shape":
                return ShapeOf(value.torch_shape())
            refuse(f"the attribute .{name} (at {node.name})")
        if target is torch.cat:
            return self.concatenate(node, what, args, kwargs)
        args = tuple(self.materialise(a, what) for a in args)
        if target in (operator.add, torch.add, operator.iadd, operator.sub, torch.sub,
                      operator.isub, operator.mul, torch.mul, operator.imul,
                      operator.truediv, torch.div, operator.itruediv, operator.neg,
                      torch.neg):
            return self.arithmetic(what, target, args, kwargs)
        simple = {torch.relu: "relu", F.relu: "relu", torch.sigmoid: "sigmoid",
                  F.sigmoid: "sigmoid", torch.tanh: "tanh", F.tanh: "tanh", F.silu: "silu",
                  F.selu: "selu", torch.selu: "selu", F.relu6: "relu6"}
        if target in simple:
            bind(args, kwargs, ["input", "inplace"], {}, what)
            return self.activate(args[0], simple[target], where=what)
        if target is F.gelu:
            options = bind(args, kwargs, ["input", "approximate"], {"approximate": "none"},
                           what)
            return self.activate(args[0], "gelu", options["approximate"], where=what)
        if target in (F.leaky_relu, F.elu):
            slope = "negative_slope" if target is F.leaky_relu else "alpha"
            options = bind(args, kwargs, ["input", slope, "inplace"],
                           {slope: 0.01 if target is F.leaky_relu else 1.0}, what)
            return self.activate(args[0], target.__name__, options[slope], where=what)
        if target in (torch.softmax, F.softmax, torch.log_softmax, F.log_softmax):
            options = bind(args, kwargs, ["input", "dim", "_stacklevel", "dtype"],
                           {"dim": None}, what)
            name = "softmax" if target in (torch.softmax, F.softmax) else "log_softmax"
            return self.activate(args[0], name, options["dim"], where=what)
        if target in (F.max_pool2d, F.avg_pool2d):
            names = ["input", "kernel_size", "stride", "padding", "ceil_mode"] + \
                (["count_include_pad", "divisor_override"] if target is F.avg_pool2d else
                 ["dilation", "return_indices"])
            options = bind(args, kwargs, names, {"stride": None, "padding": 0}, what)
            mode = "max" if target is F.max_pool2d else "avg"
            return self.pool(node.name, function_name(target), mode, args[0], options)
        if target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
            options = bind(args, kwargs, ["input", "output_size", "return_indices"], {},
                           what)
            if options.get("return_indices"):
                refuse(f"{what} with return_indices")
            mode = "avg" if target is F.adaptive_avg_pool2d else "max"
            return self.adaptive(node.name, function_name(target), args[0],
                                 options["output_size"], mode)
        if target is F.dropout:
            options = bind(args, kwargs, ["input", "p", "training", "inplace"], {"p": 0.5},
                           what)
            return self.dropout(args[0], options["p"])
        if target is torch.flatten:
            options = bind(args, kwargs, ["input", "start_dim", "end_dim"],
                           {"start_dim": 0, "end_dim": -1}, what)
            if options["start_dim"] != 1 or options["end_dim"] != -1:
                refuse(f"{what} from axis {options['start_dim']} to {options['end_dim']}",
                       " (only from 1 to -1: the batch stays)")
            return self.flatten(args[0])
        if target is torch.mean:
            return self.mean(what, args[0], args[1:], kwargs)
        if target is torch.reshape:
            return self.reshape(what, args[0], args[1])
        refuse(what)

    def concatenate(self, node, what, args, kwargs):
        options = bind(args, kwargs, ["tensors", "dim"], {"dim": 0}, what)
        parts, dim = list(options["tensors"]), options["dim"]
        calls = [p for p in parts if isinstance(p, RecurrentCall)]
        if calls and len(parts) == 2 and len(calls) == 2 and calls[0].module is \
                calls[1].module and calls[0].module.bidirectional:
            module = calls[0].module
            n = module.num_layers * 2
            if [c.index % n for c in calls] == [n - 2, n - 1] and dim in (1, -1) and \
                    all(c.part in ("h", "hidden") for c in calls) and \
                    (type(module).__name__ != "LSTM" or calls[0].part == "h"):
                return self.rnn_layers(calls[0], False)             # h_n[-2], h_n[-1]
        values = [self.materialise(p, what) for p in parts]
        if not all(isinstance(v, Value) for v in values):
            refuse(f"{what} of {[type(v).__name__ for v in values]}")
        rank = len(values[0].tensor.shape)
        dim %= rank
        if dim == 0:
            refuse(f"{what} along the batch axis")
        if dim == 1 and all(v.layout == "channels_last" for v in values):
            return Value(Concatenate(axis=rank - 1)([v.tensor for v in values]),
                         "channels_last")
        values = [self.torch_layout(v) for v in values]
        return Value(Concatenate(axis=dim)([v.tensor for v in values]))

    def mean(self, what, x, args, kwargs):
        options = bind(args, kwargs, ["dim", "keepdim", "dtype"], {"dim": None,
                                                                  "keepdim": False}, what)
        dims = options["dim"]
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        rank = len(x.tensor.shape)
        if None not in dims and not options["keepdim"]:
            dims = tuple(sorted(d % rank for d in dims))
            if rank == 4 and x.layout in ("same", "channels_last") and dims == (2, 3):
                return Value(self.apply(GlobalAveragePooling2D(), self.channels_last(x)))
            if rank == 3 and dims == (1,):
                return Value(self.apply(GlobalAveragePooling1D(), self.torch_layout(x)))
        refuse(what, f" over dims {options['dim']} (keepdim={options['keepdim']})"
                     f"; glassnet averages images over (2, 3) and sequences over 1")

    def reshape(self, what, x, dims):
        """x.view / x.reshape: the batch first (x.size(0), x.shape[0], or -1 when the
        rest keeps each sample's size), then each sample's new shape."""
        if not isinstance(x, Value):
            refuse(f"{what} of {type(x).__name__}")
        dims = list(dims.shape) if isinstance(dims, ShapeOf) else list(dims)
        shape = x.torch_shape()
        size = math.prod(shape[1:])
        rest = dims[1:]
        if any(isinstance(d, BatchSize) for d in rest) or \
                not all(isinstance(d, int) for d in rest) or not dims:
            refuse(f"{what} to {dims}", " (the batch must stay the first axis)")
        if not isinstance(dims[0], BatchSize):
            known = math.prod(d for d in rest if d != -1)
            if dims[0] != -1 or -1 in rest or known != size:
                raise ShapeError(
                    f"from_torch: {what} reshapes {describe_shape(shape)} to "
                    f"{tuple(dims)}, which changes the batch ({size} values per sample); "
                    f"glassnet keeps the batch: write x.view(x.size(0), ...). If the "
                    f"module is right, check input_shape.")
        if x.layout == "pooled":
            x = Value(x.tensor)
        else:
            x = self.torch_layout(x)
        if len(rest) == 1 and rest[0] in (-1, size):
            return self.flatten(x)
        try:
            return Value(self.apply(Reshape(tuple(rest)), x))
        except ShapeError as error:
            raise ShapeError(f"from_torch: {what}: {error} Check input_shape.") from None

    def method(self, node, args, kwargs):
        name = node.target
        what = f"x.{name}() (at {node.name})"
        x = self.materialise(args[0], what)
        if not isinstance(x, Value):
            refuse(f"{what} on {type(x).__name__}")
        base = name[:-1] if name.endswith("_") and not name.startswith("_") else name
        if base in ("relu", "sigmoid", "tanh"):
            bind(args[1:], kwargs, [], {}, what)
            return self.activate(x, base, where=what)
        if base in ("softmax", "log_softmax"):
            options = bind(args[1:], kwargs, ["dim"], {"dim": None}, what)
            return self.activate(x, base, options["dim"], where=what)
        if base in METHOD_ARITHMETIC:
            return self.arithmetic(what, METHOD_ARITHMETIC[base], (x, *args[1:]), kwargs)
        if name == "contiguous":
            return x
        if name == "size":
            options = bind(args[1:], kwargs, ["dim"], {"dim": None}, what)
            shape = ShapeOf(x.torch_shape())
            return shape if options["dim"] is None else shape.item(options["dim"])
        if name == "dim":
            return len(x.tensor.shape)
        if name == "flatten":
            options = bind(args[1:], kwargs, ["start_dim", "end_dim"],
                           {"start_dim": 0, "end_dim": -1}, what)
            if options["start_dim"] == 1 and options["end_dim"] == -1:
                return self.flatten(x)
            refuse(what, " from an axis other than 1 (the batch stays)")
        if name == "mean":
            return self.mean(what, x, args[1:], kwargs)
        if name in ("view", "reshape"):
            dims = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list, ShapeOf)) \
                else args[1:]
            return self.reshape(what, x, dims)
        if name in ("permute", "transpose"):
            return self.permute(what, name, x, args[1:])
        refuse(what)

    def permute(self, what, name, x, dims):
        x = self.torch_layout(x)
        rank = len(x.tensor.shape)
        if name == "transpose":
            a, b = (d % rank for d in dims)
            order = list(range(rank))
            order[a], order[b] = order[b], order[a]
        else:
            order = [d % rank for d in (dims[0] if len(dims) == 1 else dims)]
        if order[0] != 0:
            refuse(f"{what} that moves the batch axis")
        return Value(self.apply(Permute(tuple(order[1:])), x))

    def getitem(self, node, value, index):
        what = f"the indexing [{index!r}] (at {node.name})"
        if isinstance(value, ShapeOf) and isinstance(index, int):
            return value.item(index)
        if isinstance(value, AttentionCall):
            if index == 0:
                return value.output
            return Unusable(f"the attention weights of {value.path} ({what})")
        if isinstance(value, RecurrentCall):
            lstm = type(value.module).__name__ == "LSTM"
            if value.part is None and index in (0, 1):
                return value.but(part="out" if index == 0 else "hidden")
            if value.part == "hidden" and lstm and index in (0, 1) and value.index is None:
                return value.but(part="h" if index == 0 else "c")
            if value.part in ("h", "hidden") and isinstance(index, int) and \
                    value.index is None and not (lstm and value.part == "hidden"):
                return value.but(index=index)
            if value.part == "out" and not value.module.bidirectional and \
                    time_index(index) == -1:
                return self.rnn_layers(value, False)               # the last step only
            if value.part == "out" and time_index(index) is not None:
                return self.time_steps(what, self.rnn_layers(value, True), index)
            refuse(f"{what} of the outputs of {value.path}",
                   "; use out, _ = rnn(x) with out or out[:, -1], or _, h = rnn(x) with h[-1]")
        if isinstance(value, Value) and time_index(index) is not None:
            return self.time_steps(what, value, index)
        refuse(what, " (glassnet slices the time axis of sequences only: x[:, t], "
                     "x[:, a:b])")

    def time_steps(self, what, x, index):
        """x[:, t] or x[:, a:b] on a (batch, time, features) value: Cropping1D (and a
        flatten for one step)."""
        x = self.torch_layout(x)
        if len(x.tensor.shape) != 3:
            refuse(f"{what} of a {len(x.tensor.shape)}-axis tensor",
                   " (glassnet slices the time axis of (batch, time, features) only)")
        steps, step = x.tensor.shape[1], time_index(index)
        if isinstance(step, int):
            if not -steps <= step < steps:
                raise ShapeError(f"from_torch: {what} reads step {step} of {steps}.")
            start, stop = step % steps, step % steps + 1
        else:
            start, stop, _ = step.indices(steps)
            if stop <= start:
                refuse(f"{what}: an empty range of steps")
        out = Value(self.apply(Cropping1D((start, steps - stop)), x))
        return self.flatten(out) if isinstance(step, int) else out


# --- checks ------------------------------------------------------------------------------
def check_weights(module, dtype):
    """Refuse weights that are NaN or infinite, or beyond float32's range for float32."""
    limit = float(np.finfo(np.float32).max) if np.dtype(dtype) == np.float32 else math.inf
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if not tensor.is_floating_point() or tensor.numel() == 0:
            continue
        values = tensor.detach().cpu()
        values = (values if str(values.dtype) in ("torch.float32", "torch.float64")
                  else values.double()).numpy()                  # float16, bfloat16: widened
        if not np.isfinite(values).all():
            raise ValueError(f"from_torch: the weights {name} hold NaN or infinite values; "
                             f"glassnet refuses them. Fix or re-initialise those weights.")
        largest = float(np.abs(values).max())
        if largest > limit:
            raise ValueError(f"from_torch: the weights {name} reach {largest:.3g}, beyond "
                             f"float32's range ({limit:.3g}); use dtype='float64' or rescale "
                             f"them.")


def check_forwards(module):
    """Refuse a module whose forward was replaced on the instance: fx and glassnet's
    to_torch architecture would describe code that does not run."""
    for path, inner in module.named_modules():
        if "forward" in vars(inner):
            where = path or type(module).__name__
            raise TypeError(f"from_torch: {where}.forward was replaced on the instance; "
                            f"the class's forward, which torch.fx traces, is not what runs. "
                            f"Write the new forward in a subclass.")


def token_inputs(model):
    """{input name: vocabulary} for a glassnet model's inputs read by an Embedding."""
    names = set(model.input_names())
    return {name: node.layer.input_spec.high for node in model.nodes()
            for name in node.inputs if name in names and node.layer.input_spec.dtype == "int"}


def glassnet_values(model, X):
    """Every value of a functional model's forward pass, by name."""
    values = dict(zip(model.input_names(), X))
    for t in model.tensors:
        given = [values[p.name] for p in t.node[1]]
        values[t.name] = t.layer.forward(given if t.layer.many_inputs else given[0], False)
    return values


def as_torch_layout(array, value):
    if value.layout == "channels_last":
        return np.moveaxis(array, -1, 1)
    if value.layout == "pooled":
        return array.reshape(*array.shape, 1, 1)
    return array


def difference(ours, theirs):
    """(largest absolute difference, largest |PyTorch value| or 1), inf for a shape or
    finiteness mismatch."""
    scale = max(1.0, float(np.max(np.abs(theirs), initial=0))) if np.all(
        np.isfinite(theirs)) else 1.0
    if ours.shape != theirs.shape or not np.all(np.isfinite(ours)) or \
            not np.all(np.isfinite(theirs)):
        return math.inf, scale
    return float(np.max(np.abs(ours - theirs), initial=0)), scale


def sample_inputs(torch, shapes, names, integer_inputs, example):
    """Random inputs (batch 2) of every input's shape, then the caller's example."""
    rng = np.random.default_rng(0)
    inputs = [[rng.integers(0, integer_inputs[n], size=(2, *s)) if n in integer_inputs
               else rng.normal(size=(2, *s)) for s, n in zip(shapes, names)]]
    if example is not None:
        given = example if isinstance(example, (list, tuple)) else [example]
        arrays = [np.asarray(e.detach().cpu().numpy() if hasattr(e, "detach") else e)
                  for e in given]
        if len(arrays) != len(shapes) or any(a.shape[1:] != tuple(s)
                                             for a, s in zip(arrays, shapes)):
            raise ValueError(f"from_torch: example has shapes {[a.shape for a in arrays]}, "
                             f"but input_shape says (batch, *{shapes}).")
        inputs.append([a if n in integer_inputs else a.astype(np.float64)
                       for a, n in zip(arrays, names)])
    return inputs


def run_torch(torch, reference, arrays, integer_inputs, names):
    tensors = [torch.from_numpy(np.asarray(a, np.int64 if n in integer_inputs else
                                           np.float64)) for a, n in zip(arrays, names)]
    try:
        with torch.no_grad():
            out = reference(*tensors)
    except Exception as error:                     # noqa: BLE001 -- the user's own code
        raise ValueError(f"from_torch: a float64 copy of the module (in eval mode) failed on "
                         f"inputs of the given shape, so the conversion cannot be checked "
                         f"({type(error).__name__}: {str(error)[:300]}). Check input_shape, "
                         f"and that forward uses only the module's own submodules.") from None
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"from_torch: the module returns {type(out).__name__}; glassnet "
                        f"models return one tensor.")
    return out.numpy()


def verify(torch, module, model, checkpoints, shapes, integer_inputs, example, tolerance):
    """Run the module (a float64 copy in eval mode) and the float64 glassnet model on the
    same inputs; refuse when they differ, naming the first differing step. PyTorch runs
    on one thread meanwhile: a batch of two gains nothing from more, and its thread pool
    is 40x slower when the machine's cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        compare(torch, module, model, checkpoints, shapes, integer_inputs, example, tolerance)
    finally:
        torch.set_num_threads(threads)


def compare(torch, module, model, checkpoints, shapes, integer_inputs, example, tolerance):
    reference = copy.deepcopy(module).double().eval()
    names = model.input_names()
    for i, arrays in enumerate(sample_inputs(torch, shapes, names, integer_inputs, example)):
        theirs = run_torch(torch, reference, arrays, integer_inputs, names)
        ours = model.forward(arrays if len(arrays) > 1 else arrays[0])
        error, scale = difference(ours, theirs)
        if error <= tolerance * scale:
            continue
        where = locate(torch, reference, model, checkpoints, arrays, integer_inputs, names,
                       tolerance)
        raise ValueError(
            f"from_torch: the glassnet model does not compute what the module computes "
            f"{where}: the outputs differ by {error:.3g} (largest |PyTorch output| "
            f"{scale:.3g}; the tolerance is {tolerance:g} of that), on "
            f"{'your example' if i else 'random inputs'} in float64. Nothing was returned; "
            f"please report the module.")


def locate(torch, reference, model, checkpoints, arrays, integer_inputs, names, tolerance):
    """'at <first differing step>', from torch.fx's values of every traced step."""
    if not checkpoints:
        return "(the module's own check)"
    import torch.fx as fx
    recorded = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            result = super().run_node(n)
            if isinstance(result, torch.Tensor):
                recorded[n.name] = result.detach().clone().numpy()
            return result
    try:
        traced = fx.symbolic_trace(reference)
        tensors = [torch.from_numpy(np.asarray(a, np.int64 if n in integer_inputs else
                                               np.float64)) for a, n in zip(arrays, names)]
        with torch.no_grad():
            Recorder(traced).run(*tensors)
    except Exception:                              # noqa: BLE001 -- only to name the step
        return "(its traced steps could not be replayed)"
    ours = glassnet_values(model, arrays)
    for node_name, description, value in checkpoints:
        if node_name not in recorded:
            continue
        error, scale = difference(as_torch_layout(ours[value.tensor.name], value),
                                  recorded[node_name])
        if error > tolerance * scale:
            return (f"from {description} on (fx node {node_name!r}: its output differs by "
                    f"{error:.3g})")
    return ("though every traced step agrees (the module's forward does something "
            "torch.fx does not see: a replaced forward, Python control flow on values, "
            "state kept between calls)")


def from_torch(module, input_shape, dtype="float32", example=None, tolerance=TOLERANCE):
    """A glassnet model computing what ``module`` computes, with its weights -- checked.

    ``input_shape``: the shape of one sample as the module takes it -- PyTorch's layout,
    e.g. ``(1, 28, 28)`` for images -- or a list of shapes for several inputs. Token inputs
    (``nn.Embedding`` first) are whole numbers of that shape. ``example``: optionally,
    an input batch (array or tensor, or a list for several inputs) to check the
    conversion on as well. Returns a Sequential when the layers form a chain, else a
    functional Model.

    Refused, with the reason: a module, function or method that has no glassnet form
    (named with its path in the module tree, with the list of what is supported);
    weights that are NaN, infinite or (for float32) beyond float32's range; a forward
    replaced on the instance; and any conversion whose outputs differ from PyTorch's by
    more than ``tolerance`` times the largest output magnitude (at least 1), in float64,
    on random inputs of ``input_shape`` and on ``example``.
    """
    torch = requires("torch", "torch")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}.")
    tolerance = number(tolerance, "tolerance", "from_torch", 0, 1)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"from_torch: dtype must be 'float32' or 'float64', got {dtype}.")
    check_weights(module, dtype)
    check_forwards(module)
    config = getattr(module, "glassnet_config", None)
    if config is not None:                            # made by to_torch: exact way back
        cls = Model if config.get("type") == "Model" else Sequential
        model = weights_from_torch(cls.from_config({**config, "dtype": "float64"}),
                                   module.state_dict())
        shapes = model.input_shape if isinstance(model.input_shape, list) else \
            [model.input_shape]
        verify(torch, module, model, [], [s[1:] for s in shapes], token_inputs(model),
               example, tolerance)
        final = cls.from_config({**config, "dtype": dtype.name})
        return weights_from_torch(final, module.state_dict())
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    shapes = [sample_shape(s, "input_shape", "from_torch") for s in shapes]
    converter, inputs, output = convert(torch, module, shapes)
    model = Model(inputs, output.tensor, dtype="float64")
    build(model, converter, np.float64)
    verify(torch, module, model, converter.checkpoints, shapes, converter.integer_inputs,
           example, tolerance)
    if len(inputs) == 1 and all(len(node.inputs) == 1 for node in model.nodes()
                                if node.inputs):
        layers = [node.layer for node in model.nodes() if node.inputs]
        for layer in layers:
            layer.name = layer.position = None
        final = Sequential(layers, input_shape=inputs[0].shape[1:], dtype=dtype.name)
    else:
        final = Model(inputs, output.tensor, dtype=dtype.name)
    return build(final, converter, dtype)


def build(model, converter, dtype):
    model.build()
    for _, layer, weights in converter.weights:
        for name, array in weights.items():
            store = layer.params if name in layer.params else layer.state
            store[name][...] = array.astype(dtype)
    return model


def convert(torch, module, shapes):
    """(converter, glassnet inputs, output Value) for the traced module."""
    import torch.fx as fx
    try:
        graph = fx.symbolic_trace(module).graph
    except Exception as error:                       # noqa: BLE001 -- fx raises many kinds
        raise TypeError(f"from_torch: torch.fx cannot trace {type(module).__name__} "
                        f"({type(error).__name__}: {str(error)[:300]}); glassnet converts "
                        f"modules whose forward calls supported modules and functions, "
                        f"without Python control flow on tensor values.") from None
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(shapes) != len(placeholders):
        raise ValueError(f"from_torch: the module takes {len(placeholders)} inputs; give "
                         f"input_shape as a list of {len(placeholders)} sample shapes.")
    converter = Converter(torch)
    converter.checkpoints = []
    modules = dict(module.named_modules())
    values, inputs = {}, []
    for node, shape in zip(placeholders, shapes):
        tensor = Input(shape, name=node.name)
        inputs.append(tensor)
        values[node.name] = Value(tensor)

    def resolve(arg):
        if isinstance(arg, fx.Node):
            return values[arg.name]
        if isinstance(arg, (list, tuple)):
            return type(arg)(resolve(a) for a in arg)
        if isinstance(arg, slice):
            return arg
        return arg
    output = None
    for node in graph.nodes:
        if node.op == "placeholder":
            continue
        args, kwargs = resolve(node.args), {k: resolve(v) for k, v in node.kwargs.items()}
        if node.op == "output":
            output = converter.materialise(args[0], "the module's output")
            break
        try:
            result, description, inplace = convert_node(converter, modules, node, args,
                                                         kwargs)
        except ShapeError as error:
            if str(error).startswith("from_torch"):
                raise
            raise ShapeError(f"from_torch: at {node.name}: {error} Check input_shape="
                             f"{shapes if len(shapes) > 1 else shapes[0]}: the shape of one "
                             f"sample as the module takes it (channels first).") from None
        values[node.name] = result
        if isinstance(result, Value):
            converter.checkpoints.append((node.name, description, result))
        first = node.args[0] if node.args else None
        if inplace and isinstance(first, fx.Node):
            values[first.name] = result            # in place: later reads see the result
    if not isinstance(output, Value):
        raise TypeError(f"from_torch: the module returns {type(output).__name__}; glassnet "
                        f"models return one tensor.")
    output = converter.torch_layout(output)
    return converter, inputs, output


def convert_node(converter, modules, node, args, kwargs):
    """(result, description, in place?) of one fx node."""
    if node.op == "call_module":
        target = modules[node.target]
        description = f"{node.target} (nn.{type(target).__name__})"
        result = converter.module(node.target, target,
                                  [converter.materialise(a, description) for a in args],
                                  kwargs)
        inplace = getattr(target, "inplace", False)
    elif node.op == "call_function":
        description = function_name(node.target)
        result = converter.function(node, args, kwargs)
        inplace = kwargs.get("inplace") is True or node.target in (
            operator.iadd, operator.isub, operator.imul, operator.itruediv)
    elif node.op == "call_method":
        description = f"x.{node.target}()"
        result = converter.method(node, args, kwargs)
        inplace = node.target.endswith("_") and not node.target.startswith("_")
    else:
        refuse(f"the {node.op} {node.target!r} (at {node.name})")
    return result, description, inplace
