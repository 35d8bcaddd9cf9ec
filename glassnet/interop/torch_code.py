"""PyTorch from a glassnet model: readable source code for the same network, and -- from
that very code -- the ``torch.nn.Module``, holding the same weights. A glass box exports
a glass box: ``to_torch`` runs the code ``torch_code`` shows.

The conventions, written down once (each also commented in the generated code):
- Dense: glassnet's W is (in, out) and computes X @ W; ``nn.Linear.weight`` is (out, in)
  and computes X @ weight.T, so weight = W.T.
- Convolutions and pooling: glassnet (and Keras) are channels-last, (batch, H, W, C);
  PyTorch is channels-first. The exported network takes glassnet's layout: each
  convolution permutes to (batch, C, H, W), pads explicitly ('same' puts the odd zero
  after, as Keras; 'causal' puts every zero before) and permutes back. A kernel
  (kh, kw, C, F) is PyTorch's weight (F, C, kh, kw).
- LSTM: Keras's gate order i, f, c, o is PyTorch's i, f, g, o; glassnet's one bias is
  PyTorch's bias_ih (bias_hh starts at zero; trained values come back summed). SimpleRNN
  likewise. GRU (reset_after=True): Keras's gates z, r, n are PyTorch's r, z, n; bias row 0
  is bias_ih, row 1 bias_hh. GRU(reset_after=False) has no PyTorch module: the cell is
  written out.
- BatchNorm: PyTorch's ``momentum`` is 1 - glassnet's; both update the running variance
  with the unbiased batch variance. (batch, ..., C) runs as BatchNorm1d over (N, C) rows.
- MultiHeadAttention: written out with Keras's layout, (features, heads, key_dim) kernels.
- Residual blocks and functional graphs: the same additions and concatenations, in the
  same order.
"""
import keyword
import re

import numpy as np

from ..layers.base import is_chain
from ..layers.conv import kernel_from_pytorch, kernel_to_pytorch
from .common import emitter, requires

HELPERS = {
    "attention": '''
class SelfAttention(nn.Module):
    """Keras's MultiHeadAttention on one sequence (query = key = value): kernels
    (features, heads, key_dim) and (heads, value_dim, out), as glassnet and Keras store
    them; softmax(Q K^T / sqrt(key_dim)) V, per head."""

    def __init__(self, features, heads, key_dim, value_dim, out, use_bias, causal):
        super().__init__()
        self.heads, self.key_dim, self.value_dim, self.causal = heads, key_dim, value_dim, causal
        self.Wq = nn.Parameter(torch.zeros(features, heads, key_dim))
        self.Wk = nn.Parameter(torch.zeros(features, heads, key_dim))
        self.Wv = nn.Parameter(torch.zeros(features, heads, value_dim))
        self.Wo = nn.Parameter(torch.zeros(heads, value_dim, out))
        self.use_bias = use_bias
        if use_bias:
            self.bq = nn.Parameter(torch.zeros(heads, key_dim))
            self.bk = nn.Parameter(torch.zeros(heads, key_dim))
            self.bv = nn.Parameter(torch.zeros(heads, value_dim))
            self.bo = nn.Parameter(torch.zeros(out))

    def forward(self, x):                                   # x: (batch, time, features)
        def project(W, b):                                  # (batch, heads, time, size)
            y = torch.einsum("btd,dhk->bhtk", x, W)
            return y + b[None, :, None, :] if self.use_bias else y
        q = project(self.Wq, self.bq if self.use_bias else None)
        k = project(self.Wk, self.bk if self.use_bias else None)
        v = project(self.Wv, self.bv if self.use_bias else None)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        y = torch.einsum("bhtv,hvo->bto", o, self.Wo)
        return y + self.bo if self.use_bias else y
''',
    "gru": '''
class GRUResetBefore(nn.Module):
    """Keras's GRU(reset_after=False), which PyTorch has no module for: the reset gate
    scales h before the recurrent product. Keras's layout: kernel (features, 3 units),
    recurrent_kernel (units, 3 units), bias (3 units,), gates z, r, n."""

    def __init__(self, features, units, return_sequences):
        super().__init__()
        self.units, self.return_sequences = units, return_sequences
        self.kernel = nn.Parameter(torch.zeros(features, 3 * units))
        self.recurrent_kernel = nn.Parameter(torch.zeros(units, 3 * units))
        self.bias = nn.Parameter(torch.zeros(3 * units))

    def forward(self, x):                                   # x: (batch, time, features)
        u = self.units
        xw = x @ self.kernel + self.bias                    # every step at once
        h = x.new_zeros(x.shape[0], u)
        steps = []
        for t in range(x.shape[1]):
            zr = torch.sigmoid(xw[:, t, :2 * u] + h @ self.recurrent_kernel[:, :2 * u])
            z, r = zr[:, :u], zr[:, u:]
            n = torch.tanh(xw[:, t, 2 * u:] + (r * h) @ self.recurrent_kernel[:, 2 * u:])
            h = z * h + (1 - z) * n
            steps.append(h)
        return torch.stack(steps, 1) if self.return_sequences else h
''',
}

ACTIVATIONS = {"linear": "{}", "relu": "torch.relu({})", "sigmoid": "torch.sigmoid({})",
               "tanh": "torch.tanh({})", "softmax": "torch.softmax({}, dim=-1)",
               "gelu": "F.gelu({})", "leaky_relu": "F.leaky_relu({}, {alpha})",
               "elu": "F.elu({}, alpha={elu_alpha})", "selu": "F.selu({})",
               "swish": "F.silu({})", "silu": "F.silu({})", "relu6": "F.relu6({})",
               "log_softmax": "torch.log_softmax({}, dim=-1)"}


def _activation(function, text):
    if function.approximate:
        return f'F.gelu({text}, approximate="tanh")'
    return ACTIVATIONS[function.name].format(text, alpha=repr(function.alpha),
                                             elu_alpha=repr(function.elu_alpha))


def _shape(shape):
    if isinstance(shape, list):
        return ", ".join(_shape(s) for s in shape)
    return "(" + ", ".join("batch" if d is None else str(d) for d in shape) + ")"


RESERVED = {"self", "torch", "nn", "F", "x", "math", "net", "load_file", "super"}
MAX_NAME = 40


def identifier(name):
    """A layer or input name as a Python name: ASCII letters, digits and _ only (every
    other character, newlines and quotes included, becomes _), at most MAX_NAME long, never
    a keyword or a name the generated code uses itself. A user's name reaches the code
    only this way (issue 18): the generated source never holds the name itself."""
    text = re.sub(r"[^0-9A-Za-z_]", "_", str(name))[:MAX_NAME]
    if not text or text[0].isdigit() or keyword.iskeyword(text) or \
            keyword.issoftkeyword(text) or text in RESERVED:
        text = "l_" + text
    return text


class Writer:
    """The code and the weights of one network, built layer by layer by ``EMIT``."""

    def __init__(self):
        self.init, self.forward, self.helpers = [], [], []
        self.state, self.back = {}, []
        self.names, self.taken = {}, set()
        self.penalties = []          # the regularizers' terms, "0.01 * self.d.weight.abs().sum()"

    def name(self, key, raw):
        """The one Python name of the layer, input or value ``key`` (called ``raw``):
        ``identifier(raw)``, made unique (names that become the same text get _2, _3)."""
        if key not in self.names:
            base = text = identifier(raw)
            count = 1
            while text in self.taken:
                count += 1
                text = f"{base}_{count}"
            self.names[key] = text
            self.taken.add(text)
        return self.names[key]

    def module(self, name, text, comment=""):
        self.init.append(f"self.{name} = {text}" + (f"  # {comment}" if comment else ""))

    def line(self, text, comment=""):
        self.forward.append(text + (f"  # {comment}" if comment else ""))

    def helper(self, name):
        if name not in self.helpers:
            self.helpers.append(name)


def _pads_2d(layer, in_shape, image=True):
    """F.pad's (left, right, top, bottom) for an image layer on channels-last input."""
    hw = in_shape[1:3] if image else (1, in_shape[1])
    (top, bottom), (left, right) = layer.window.pads(hw)
    return (left, right, top, bottom) if image else (left, right)


def emit_dense(w, layer, name, x, y, in_shape, out_shape):
    W = layer.params["W"]
    w.module(name, f"nn.Linear({W.shape[0]}, {W.shape[1]}, bias={layer.use_bias})",
             f"glassnet's W {W.shape} is weight.T")
    w.line(f"{y} = {_activation(layer.activation, f'self.{name}({x})')}", _shape(out_shape))
    w.state[f"{name}.weight"] = W.T
    if layer.use_bias:
        w.state[f"{name}.bias"] = layer.params["b"]

    def back(state):
        layer.params["W"][...] = state[f"{name}.weight"].T
        if layer.use_bias:
            layer.params["b"][...] = state[f"{name}.bias"]
    w.back.append(back)


def emit_activation(w, layer, name, x, y, in_shape, out_shape):
    w.line(f"{y} = {_activation(layer.activation, x)}")


def emit_dropout(w, layer, name, x, y, in_shape, out_shape):
    w.module(name, f"nn.Dropout({layer.rate})")
    w.line(f"{y} = self.{name}({x})")


def emit_flatten(w, layer, name, x, y, in_shape, out_shape):
    w.line(f"{y} = {x}.flatten(1)", _shape(out_shape))


def emit_permute(w, layer, name, x, y, in_shape, out_shape):
    w.line(f"{y} = {x}.permute(0, {', '.join(map(str, layer.dims))})", _shape(out_shape))


def _norm_state(w, layer, name, with_stats):
    w.state[f"{name}.weight"] = layer.params["gamma"]
    w.state[f"{name}.bias"] = layer.params["beta"]
    if with_stats:
        w.state[f"{name}.running_mean"] = layer.state["running_mean"]
        w.state[f"{name}.running_var"] = layer.state["running_var"]
        w.state[f"{name}.num_batches_tracked"] = np.array(0, np.int64)

    def back(state):
        layer.params["gamma"][...] = state[f"{name}.weight"]
        layer.params["beta"][...] = state[f"{name}.bias"]
        if with_stats:
            layer.state["running_mean"][...] = state[f"{name}.running_mean"]
            layer.state["running_var"][...] = state[f"{name}.running_var"]
    w.back.append(back)


def emit_batchnorm(w, layer, name, x, y, in_shape, out_shape):
    C = in_shape[-1]
    w.module(name, f"nn.BatchNorm1d({C}, eps={layer.epsilon}, momentum={1 - layer.momentum:.6g}"
                   f")", "PyTorch's momentum is 1 - glassnet's")
    if len(in_shape) == 2:
        w.line(f"{y} = self.{name}({x})")
    else:
        w.line(f"{y} = self.{name}({x}.reshape(-1, {C})).reshape({x}.shape)",
               "every position a row: statistics over all but the channels")
    _norm_state(w, layer, name, True)


def emit_layernorm(w, layer, name, x, y, in_shape, out_shape):
    w.module(name, f"nn.LayerNorm({in_shape[-1]}, eps={layer.epsilon})")
    w.line(f"{y} = self.{name}({x})")
    _norm_state(w, layer, name, False)


def emit_conv(w, layer, name, x, y, in_shape, out_shape):
    image = layer.rank == 2
    W = layer.params["W"]
    k, s, d = layer.window.kernel, layer.window.strides, layer.window.dilation
    if image:
        groups = getattr(layer, "groups", 1)
        grouped = f", groups={groups}" if groups > 1 else ""
        w.module(name, f"nn.Conv2d({W.shape[2] * groups}, {layer.filters}, {k}, stride={s}, "
                       f"dilation={d}{grouped}, bias={layer.use_bias})",
                 f"glassnet's kernel {W.shape} is weight.permute(2, 3, 1, 0)")
        w.line(f"{y} = {x}.permute(0, 3, 1, 2)", "channels last -> PyTorch's (batch, C, H, W)")
        weight = kernel_to_pytorch(W)
    else:
        w.module(name, f"nn.Conv1d({W.shape[1]}, {layer.filters}, {k[1]}, stride={s[1]}, "
                       f"dilation={d[1]}, bias={layer.use_bias})",
                 f"glassnet's kernel {W.shape} is weight.permute(2, 1, 0)")
        w.line(f"{y} = {x}.transpose(1, 2)", "channels last -> PyTorch's (batch, C, length)")
        weight = np.ascontiguousarray(W.transpose(2, 1, 0))
    pads = _pads_2d(layer, in_shape, image)
    if any(pads):
        w.line(f"{y} = F.pad({y}, {pads})", f"padding {layer.window.padding!r}")
    back_to = ".permute(0, 2, 3, 1)" if image else ".transpose(1, 2)"
    w.line(f"{y} = {_activation(layer.activation, f'self.{name}({y})')}{back_to}",
           _shape(out_shape))
    w.state[f"{name}.weight"] = weight
    if layer.use_bias:
        w.state[f"{name}.bias"] = layer.params["b"]

    def back(state):
        got = state[f"{name}.weight"]
        layer.params["W"][...] = kernel_from_pytorch(got) if image else got.transpose(2, 1, 0)
        if layer.use_bias:
            layer.params["b"][...] = state[f"{name}.bias"]
    w.back.append(back)


def emit_depthwise(w, layer, name, x, y, in_shape, out_shape):
    W = layer.params["W"]
    kh, kw, C, M = W.shape
    k, s, d = layer.window.kernel, layer.window.strides, layer.window.dilation
    w.module(name, f"nn.Conv2d({C}, {C * M}, {k}, stride={s}, dilation={d}, groups={C}, "
                   f"bias={layer.use_bias})",
             f"depthwise: glassnet's kernel {W.shape} is weight.permute(2, 3, 1, 0) as "
             f"({kh}, {kw}, 1, {C * M})")
    w.line(f"{y} = {x}.permute(0, 3, 1, 2)", "channels last -> PyTorch's (batch, C, H, W)")
    pads = _pads_2d(layer, in_shape)
    if any(pads):
        w.line(f"{y} = F.pad({y}, {pads})", f"padding {layer.window.padding!r}")
    w.line(f"{y} = {_activation(layer.activation, f'self.{name}({y})')}.permute(0, 2, 3, 1)",
           _shape(out_shape))
    w.state[f"{name}.weight"] = kernel_to_pytorch(W.reshape(kh, kw, 1, C * M))
    if layer.use_bias:
        w.state[f"{name}.bias"] = layer.params["b"]

    def back(state):
        layer.params["W"][...] = kernel_from_pytorch(state[f"{name}.weight"]).reshape(W.shape)
        if layer.use_bias:
            layer.params["b"][...] = state[f"{name}.bias"]
    w.back.append(back)


def emit_global_max(w, layer, name, x, y, in_shape, out_shape):
    w.line(f"{y} = {x}.amax(dim={layer.axes if len(layer.axes) > 1 else layer.axes[0]})",
           _shape(out_shape))


def emit_reshape(w, layer, name, x, y, in_shape, out_shape):
    w.line(f"{y} = {x}.reshape({x}.shape[0], {', '.join(map(str, layer.target_shape))})",
           _shape(out_shape))


def emit_cropping(w, layer, name, x, y, in_shape, out_shape):
    start, end = layer.cropping
    w.line(f"{y} = {x}[:, {start}:{in_shape[1] - end}]", _shape(out_shape))


def emit_rescaling(w, layer, name, x, y, in_shape, out_shape):
    w.line(f"{y} = {x} * {layer.scale!r} + {layer.offset!r}")


def emit_pool(w, layer, name, x, y, in_shape, out_shape):
    k, s = layer.window.kernel, layer.window.strides
    pads = _pads_2d(layer, in_shape)
    w.line(f"{y} = {x}.permute(0, 3, 1, 2)", "channels last -> PyTorch's (batch, C, H, W)")
    if layer.mode == "max":
        padded = f"F.pad({y}, {pads}, value=-math.inf)" if any(pads) else y
        w.line(f"{y} = F.max_pool2d({padded}, {k}, {s}).permute(0, 2, 3, 1)", _shape(out_shape))
    elif any(pads):
        w.line(f"{y} = (F.avg_pool2d(F.pad({y}, {pads}), {k}, {s}) / F.avg_pool2d(F.pad("
               f"torch.ones_like({y}[:1, :1]), {pads}), {k}, {s})).permute(0, 2, 3, 1)",
               "the mean of the values each window covers, not of the zeros")
    else:
        w.line(f"{y} = F.avg_pool2d({y}, {k}, {s}).permute(0, 2, 3, 1)", _shape(out_shape))


def emit_global_average(w, layer, name, x, y, in_shape, out_shape):
    w.line(f"{y} = {x}.mean(dim={layer.axes if len(layer.axes) > 1 else layer.axes[0]})",
           _shape(out_shape))


def emit_embedding(w, layer, name, x, y, in_shape, out_shape):
    E = layer.params["E"]
    w.module(name, f"nn.Embedding({E.shape[0]}, {E.shape[1]})")
    w.line(f"{y} = self.{name}({x}.long())", _shape(out_shape))
    w.state[f"{name}.weight"] = E

    def back(state):
        layer.params["E"][...] = state[f"{name}.weight"]
    w.back.append(back)


def gru_order(u):
    """Keras's gate rows z, r, n in PyTorch's order r, z, n."""
    return np.r_[u:2 * u, 0:u, 2 * u:3 * u]


def emit_recurrent(w, layer, name, x, y, in_shape, out_shape):
    kind, u = type(layer).__name__, layer.units
    W, U, b = layer.params["W"], layer.params["U"], layer.params["b"]
    if kind == "GRU" and not layer.reset_after:
        w.helper("gru")
        w.module(name, f"GRUResetBefore({W.shape[0]}, {u}, {layer.return_sequences})",
                 "Keras's layout: kernel, recurrent_kernel, bias")
        w.line(f"{y} = self.{name}({x})", _shape(out_shape))
        w.state.update({f"{name}.kernel": W, f"{name}.recurrent_kernel": U, f"{name}.bias": b})

        def back_v1(state):
            W[...], U[...] = state[f"{name}.kernel"], state[f"{name}.recurrent_kernel"]
            b[...] = state[f"{name}.bias"]
        w.back.append(back_v1)
        return
    w.module(name, f"{RNN_MODULES[kind]}({W.shape[0]}, {u}, batch_first=True)",
             RNN_NOTES[kind])
    last = "" if layer.return_sequences else "[:, -1]"
    w.line(f"{y} = self.{name}({x})[0]{last}", _shape(out_shape))
    _recurrent_state(w, layer, name, "_l0")


RNN_MODULES = {"SimpleRNN": "nn.RNN", "LSTM": "nn.LSTM", "GRU": "nn.GRU"}
RNN_NOTES = {"SimpleRNN": "bias_hh starts at 0",
             "LSTM": "gates i, f, g, o as Keras's i, f, c, o; bias_hh starts at 0",
             "GRU": "Keras's gates z, r, n are PyTorch's r, z, n"}


def _recurrent_state(w, layer, name, suffix):
    """One recurrent layer's weights as PyTorch's weight_ih{suffix}, ... (and back)."""
    kind, u = type(layer).__name__, layer.units
    W, U, b = layer.params["W"], layer.params["U"], layer.params["b"]
    order = gru_order(u) if kind == "GRU" else np.arange(W.shape[1])
    b_ih, b_hh = (b[0], b[1]) if kind == "GRU" else (b, np.zeros_like(b))
    keys = [f"{name}.{k}{suffix}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    w.state.update(zip(keys, (W.T[order], U.T[order], b_ih[order], b_hh[order])))

    def back(state):
        inverse = np.argsort(order)
        W[...] = state[keys[0]][inverse].T
        U[...] = state[keys[1]][inverse].T
        ih, hh = state[keys[2]][inverse], state[keys[3]][inverse]
        if kind == "GRU":
            b[0], b[1] = ih, hh
        else:
            b[...] = ih + hh                     # one bias in Keras and glassnet: the sum
    w.back.append(back)


def emit_bidirectional(w, layer, name, x, y, in_shape, out_shape):
    inner = layer.forward_layer
    kind, u = type(inner).__name__, inner.units
    if kind == "GRU" and not inner.reset_after:
        raise TypeError(f"to_torch: {layer!r} with GRU(reset_after=False) has no PyTorch "
                        f"form (PyTorch's bidirectional GRU resets after the product).")
    w.module(name, f"{RNN_MODULES[kind]}({inner.params['W'].shape[0]}, {u}, batch_first=True, "
                   f"bidirectional=True)", RNN_NOTES[kind] + "; the forward layer's weights "
                   "_l0, the backward layer's _l0_reverse")
    if inner.return_sequences:
        w.line(f"{y} = self.{name}({x})[0]", "(batch, time, 2 units): forward, then backward")
        halves = (f"{y}[..., :{u}]", f"{y}[..., {u}:]")
    else:
        state = "[1][0]" if kind == "LSTM" else "[1]"
        w.line(f"{y} = self.{name}({x}){state}", "h_n (2, batch, units): each direction's "
               "final state")
        halves = (f"{y}[0]", f"{y}[1]")
    merge = {"concat": "torch.cat(({}, {}), dim=-1)", "sum": "{} + {}",
             "ave": "({} + {}) / 2", "mul": "{} * {}"}[layer.merge_mode]
    if not (inner.return_sequences and layer.merge_mode == "concat"):
        w.line(f"{y} = {merge.format(*halves)}", _shape(out_shape))
    for copy_, suffix in zip(layer.layers, ("_l0", "_l0_reverse")):
        _recurrent_state(w, copy_, name, suffix)


def emit_attention(w, layer, name, x, y, in_shape, out_shape):
    w.helper("attention")
    out = layer.params["Wo"].shape[-1]
    w.module(name, f"SelfAttention({in_shape[-1]}, {layer.num_heads}, {layer.key_dim}, "
                   f"{layer.value_dim}, {out}, {layer.use_bias}, {layer.causal})")
    w.line(f"{y} = self.{name}({x})", _shape(out_shape))
    for k in layer.params:
        w.state[f"{name}.{k}"] = layer.params[k]

    def back(state):
        for k in layer.params:
            layer.params[k][...] = state[f"{name}.{k}"]
    w.back.append(back)


def emit_graph(w, network, xs, y, prefix="", logits=False):
    """Write a network's graph reading the variables ``xs`` (one per input), its result
    in ``y``: a chain as one variable rewritten layer by layer, a graph with one
    variable per value. ``logits`` leaves out the output layer's softmax or sigmoid."""
    nodes, last = network.nodes(), network.output_layer
    if is_chain(nodes):
        if xs[0] != y:
            w.line(f"{y} = {xs[0]}")
        for node in nodes[1:]:
            emit(w, node.layer, w.name((id(network), node.name), f"{prefix}{node.name}"),
                 [y], y, node.in_shape, node.out_shape, logits and node.layer is last)
        return
    names = dict(zip(network.input_names(), xs))
    for node in nodes:
        if node.inputs:
            names[node.name] = w.name((id(network), node.name), f"{prefix}{node.name}")
            emit(w, node.layer, names[node.name], [names[n] for n in node.inputs],
                 names[node.name], node.in_shape, node.out_shape, logits and node.layer is last)
    if names[network.output_tensor.name] != y:
        w.line(f"{y} = {names[network.output_tensor.name]}")


def emit_network(w, layer, name, xs, y, in_shape, out_shape):
    """A network inside the model (a Sequential, a Model, a Residual): its graph, inline,
    its layers' modules named after it."""
    emit_graph(w, layer, xs if isinstance(xs, list) else [xs], y, f"{name}_")


MERGES = {"Add": " + ", "Subtract": " - ", "Multiply": " * "}


def emit_merge(w, layer, name, xs, y, in_shape, out_shape):
    kind = type(layer).__name__
    if kind in MERGES:
        w.line(f"{y} = {MERGES[kind].join(xs)}", _shape(out_shape))
    elif kind == "Average":
        w.line(f"{y} = ({' + '.join(xs)}) / {len(xs)}", _shape(out_shape))
    else:
        w.line(f"{y} = torch.cat([{', '.join(xs)}], dim={layer.axis})", _shape(out_shape))


EMITTERS = {"Dense": emit_dense, "Activation": emit_activation, "Dropout": emit_dropout,
            "Flatten": emit_flatten, "Permute": emit_permute, "BatchNorm": emit_batchnorm,
            "LayerNorm": emit_layernorm, "Conv2D": emit_conv, "Conv1D": emit_conv,
            "MaxPool2D": emit_pool, "AvgPool2D": emit_pool,
            "GlobalAveragePooling2D": emit_global_average,
            "GlobalAveragePooling1D": emit_global_average, "Embedding": emit_embedding,
            "SimpleRNN": emit_recurrent, "LSTM": emit_recurrent, "GRU": emit_recurrent,
            "MultiHeadAttention": emit_attention,
            **dict.fromkeys(("Sequential", "Model", "Residual"), emit_network),
            **dict.fromkeys(("Add", "Subtract", "Multiply", "Average", "Concatenate"),
                            emit_merge),
            "DepthwiseConv2D": emit_depthwise, "GlobalMaxPooling2D": emit_global_max,
            "GlobalMaxPooling1D": emit_global_max, "Reshape": emit_reshape,
            "Rescaling": emit_rescaling, "Bidirectional": emit_bidirectional,
            "Cropping1D": emit_cropping}


def emit(w, layer, name, xs, y, in_shape, out_shape, logits=False):
    """Write one layer: the one table, keyed by the layer's type. ``logits``: leave out the
    layer's final softmax or sigmoid (the output layer, when a loss takes logits)."""
    function = emitter(EMITTERS, layer, "to_torch", "PyTorch")
    before = len(w.forward)
    function(w, layer, name, xs if layer.many_inputs else xs[0], y, in_shape, out_shape)
    penalties(w, layer, name)
    if logits and layer.output_activation in ("softmax", "sigmoid"):
        template = ACTIVATIONS[layer.output_activation]
        head, tail = template.split("{}")
        for i in range(before, len(w.forward)):
            line, _, comment = w.forward[i].partition("  # ")
            if head in line:
                line = line.replace(head, "", 1)
                line = line[::-1].replace(tail[::-1], "", 1)[::-1] if tail else line
                if line.endswith(f"= {xs[0]}"):
                    line = ""                              # an Activation layer: nothing left
                w.forward[i] = line + (f"  # logits (the loss applies the "
                                       f"{layer.output_activation})" if line else "")
        w.forward = [line for line in w.forward if line]


def penalties(w, layer, name):
    """Keras's kernel_regularizer and bias_regularizer as PyTorch terms of the loss:
    l1 * sum|W| + l2 * sum W^2 over the parameter holding the same numbers (transposing
    or reordering a kernel changes neither sum)."""
    for key, reg in getattr(layer, "regularizers", {}).items():
        param = f"{name}.{ {'W': 'weight', 'b': 'bias'}.get(key, key) }"
        if param not in w.state:
            raise ValueError(f"to_torch: layer {layer.name!r} has a regularizer on {key!r}, "
                             f"which its PyTorch form does not hold as one parameter; remove "
                             f"the regularizer (or train it with fit).")
        for factor, term in ((reg.l1, "abs()"), (reg.l2, "square()")):
            if factor:
                w.penalties.append(f"{float(factor)!r} * self.{param}.{term}.sum()")


def write(model, logits=False):
    """(Writer, input variable names, input shapes) for the whole model; ``logits``
    leaves out the output layer's softmax or sigmoid."""
    if not model.built:
        model.build()
    w = Writer()
    nodes = model.nodes()
    chain = is_chain(nodes)
    inputs = ["x"] if chain else [w.name((id(model), name), name)
                                  for name in model.input_names()]
    out = "x" if chain else w.name((id(model), model.output_tensor.name),
                                   model.output_tensor.name)
    emit_graph(w, model, inputs, out, logits=logits)
    w.line(f"return {out}")
    return w, inputs, [node.out_shape for node in nodes if not node.inputs]


def torch_code(model, weights_path=None, class_name="Net", logits=False):
    """Readable PyTorch source for ``model``: one ``nn.Module`` class whose ``forward`` is
    the network written out, layer by layer, with the shapes and the layout conventions
    commented. With ``weights_path`` the weights are written there (safetensors, read by
    the code with ``safetensors.torch``) and the code ends by building the network from
    them as ``net``. ``logits=True`` leaves out a final softmax or sigmoid (for a loss
    that takes logits, such as ``F.cross_entropy``)."""
    if not (isinstance(class_name, str) and class_name.isascii() and class_name.isidentifier()
            and not keyword.iskeyword(class_name) and class_name not in RESERVED
            and len(class_name) <= MAX_NAME):
        raise ValueError(f"torch_code: class_name must be a Python name of ASCII letters, "
                         f"digits and _ (at most {MAX_NAME}, not a keyword), got "
                         f"{str(class_name)[:60]!r}.")
    w, inputs, shapes = write(model, logits)
    signature = ", ".join(inputs)
    given = "; ".join(f"{name}: {_shape(shape)}" for name, shape in zip(inputs, shapes))
    lines = ['"""A glassnet model as PyTorch code (glassnet.torch_code). Inputs keep '
             'glassnet\'s layout:',
             f"channels last for images and sequences. {type(model).__name__} of "
             f'{len(model.layers)} layers."""',
             "import math", "", "import torch", "import torch.nn as nn",
             "import torch.nn.functional as F", ""]
    for name in w.helpers:
        lines += HELPERS[name].rstrip().splitlines() + [""]
    lines += ["", f"class {class_name}(nn.Module):", "    def __init__(self):",
              "        super().__init__()"]
    lines += [f"        {line}" for line in w.init] or ["        pass"]
    lines += ["", f"    def forward(self, {signature}):  # {given}"]
    lines += [f"        {line}" for line in w.forward]
    if w.penalties:
        lines += ["", "    def regularization_loss(self):",
                  '        """The layers\' kernel_regularizer and bias_regularizer (as Keras: '
                  'added to each batch\'s loss)."""',
                  "        return (" + "\n                + ".join(w.penalties) + ")"]
    if weights_path is not None:
        import safetensors.numpy
        safetensors.numpy.save_file({k: np.ascontiguousarray(v) for k, v in w.state.items()},
                                    str(weights_path))
        dtype = "torch.float64" if model.dtype == np.float64 else "torch.float32"
        lines += ["", "", "from safetensors.torch import load_file  # noqa: E402", "",
                  f"net = {class_name}().to({dtype})",
                  f"net.load_state_dict(load_file({str(weights_path)!r}))",
                  "net.eval()"]
    return "\n".join(lines) + "\n"


def state_dict(model):
    """The weights as the generated module's state dict (NumPy arrays)."""
    return write(model)[0].state


def to_torch(model, logits=False):
    """A ``torch.nn.Module`` computing the same function with the same weights (float32
    or float64, as the model), made by running ``torch_code(model)``. Its input keeps
    glassnet's layout (channels last); it is in eval mode (``.train()`` for training).
    ``model_from_torch_weights(model, module)`` brings trained weights back."""
    torch = requires("torch", "torch")
    code = torch_code(model, logits=logits)
    namespace = {}
    exec(compile(code, "<glassnet.torch_code>", "exec"), namespace)    # our own code
    net = namespace["Net"]()
    net = net.double() if model.dtype == np.float64 else net.float()
    state = {k: torch.from_numpy(np.array(v)) for k, v in state_dict(model).items()}
    net.load_state_dict(state)
    net.eval()
    net.glassnet_config = model.get_config()
    net.glassnet_code = code
    return net


def weights_from_torch(model, state):
    """Copy a state dict of the generated module (tensors or arrays) into ``model``."""
    if not model.built:
        model.build()
    numpy_state = {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v))
                   for k, v in state.items()}
    for back in write(model)[0].back:
        back(numpy_state)
    return model
