"""Convolution and pooling, each computed as what it really is: a matrix product (or a
reduction) over unfolded patches.

Layout is channels-last, as Keras: images (batch, height, width, channels), sequences
(batch, length, channels). ``unfold`` (im2col) copies every k x k patch into one row,
built from k*k strided slice copies, so that a convolution is one GEMM:

    P = unfold(X)      (batch * H' * W', k*k*C)       one row per output position
    Z = P @ W          (batch * H' * W', k*k*C) @ (k*k*C, F) -> (batch * H' * W', F)
    Y = f(Z + b)       reshaped to (batch, H', W', F)
Backward:
    dW = P.T @ dZ      (k*k*C, F);   db = dZ.sum over positions (F,)
    dP = dZ @ W.T      then ``fold`` adds every row back onto the patch it came from (dX).

A 1-D convolution is the same computation on a (batch, 1, length, channels) view, and a
1-D global average the same reduction over one axis instead of two.
"""
import math

import numpy as np

from .activations import column_sum
from .base import Layer, where
from ..errors import ShapeError, describe_shape
from .dense import Weighted
from .ops import BiasAdd, MatMul, Pool, Reshape, Unfold
from ..validate import whole_number

MAX_WINDOW = 4096       # largest kernel, stride, dilation or padding a layer accepts


def channels_first(X):
    """glassnet's (and Keras's) images (batch, H, W, C) as PyTorch's (batch, C, H, W)."""
    return np.ascontiguousarray(np.asarray(X).transpose(0, 3, 1, 2))


def channels_last(X):
    """PyTorch's (batch, C, H, W) as glassnet's (batch, H, W, C)."""
    return np.ascontiguousarray(np.asarray(X).transpose(0, 2, 3, 1))


def kernel_to_pytorch(W):
    """A Conv2D kernel (kh, kw, C, filters) as PyTorch's weight (filters, C, kh, kw)."""
    return np.ascontiguousarray(np.asarray(W).transpose(3, 2, 0, 1))


def kernel_from_pytorch(weight):
    """PyTorch's Conv2d weight (filters, C, kh, kw) as glassnet's kernel (kh, kw, C, filters)."""
    return np.ascontiguousarray(np.asarray(weight).transpose(2, 3, 1, 0))


def _pair(value, what, owner):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values = (value, value)
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
    if len(values) != 2:
        raise ValueError(f"{owner}: {what} must be a number or a pair, got {value!r}.")
    return tuple(whole_number(v, what, owner, maximum=MAX_WINDOW) for v in values)


def _check_padding(padding, owner, allowed=("valid", "same")):
    if isinstance(padding, str):
        if padding not in allowed:
            raise ValueError(f"{owner}: padding must be one of {', '.join(allowed)} or a "
                             f"number of zeros per side, got {padding!r}.")
        return padding
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0 \
            or padding > MAX_WINDOW:
        raise ValueError(f"{owner}: padding must be {', '.join(map(repr, allowed))} or a whole "
                         f"number of zeros per side in [0, {MAX_WINDOW:,}], got {padding!r}.")
    return int(padding)


def padding_amounts(padding, size, k, stride, dilation):
    """(before, after) zeros for one spatial axis. 'same' keeps ceil(size / stride)
    outputs, with the odd zero after (as Keras and TensorFlow)."""
    if padding == "valid":
        return (0, 0)
    if padding == "causal":                               # all zeros before: y_t sees x_<=t
        return (dilation * (k - 1), 0)
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + dilation * (k - 1) + 1 - size, 0)
        return (total // 2, total - total // 2)
    return (padding, padding)


def out_size(size, k, stride, dilation, pads):
    return (size + sum(pads) - dilation * (k - 1) - 1) // stride + 1


def unfold(Xp, kernel, strides, dilation, out_hw):
    """im2col: the patches of Xp (B, Hp, Wp, C) as P (B, H', W', kh, kw, C).

    Several channels: one copy of a strided window view (2-3x faster here). A single
    channel: kh*kw strided slice copies (3x faster than the view for C = 1)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilation, out_hw
    if Xp.shape[3] > 1:
        windows = np.lib.stride_tricks.sliding_window_view(
            Xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
        windows = windows[:, :sh * (oh - 1) + 1:sh, :sw * (ow - 1) + 1:sw, :, ::dh, ::dw]
        return np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))
    P = np.empty((Xp.shape[0], oh, ow, kh, kw, Xp.shape[3]), Xp.dtype)
    for i in range(kh):
        for j in range(kw):
            P[:, :, :, i, j, :] = Xp[:, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                     j * dw:j * dw + sw * (ow - 1) + 1:sw, :]
    return P


def fold(dP, padded_shape, strides, dilation):
    """col2im, the adjoint of unfold: add every patch gradient back where it came from.
    (Conv2D computes fold(dZ @ W.T) tap by tap in ``_Window.unpatch_product``; this is
    the plain form, and the tests check that the two agree.)"""
    _, oh, ow, kh, kw, _ = dP.shape
    (sh, sw), (dh, dw) = strides, dilation
    dXp = np.zeros(padded_shape, dP.dtype)
    for i in range(kh):
        for j in range(kw):
            dXp[:, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                j * dw:j * dw + sw * (ow - 1) + 1:sw, :] += dP[:, :, :, i, j, :]
    return dXp


class Window:
    """Geometry shared by convolutions and pooling: kernel, strides, dilation and padding
    over (height, width); a 1-D layer uses height 1."""

    def __init__(self, owner, kernel, strides, dilation, padding, rank=2):
        self.kernel, self.strides = kernel, strides
        self.dilation, self.padding = dilation, padding
        self.owner = owner
        self.axis_padding = (padding, padding) if rank == 2 else ("valid", padding)

    def pads(self, hw):
        """((top, bottom), (left, right)) zeros for an input of height and width ``hw``."""
        return [padding_amounts(p, n, k, s, d) for p, n, k, s, d in
                zip(self.axis_padding, hw, self.kernel, self.strides, self.dilation)]

    def out_hw(self, hw):
        out = tuple(out_size(n, k, s, d, p) for n, k, s, d, p in
                    zip(hw, self.kernel, self.strides, self.dilation, self.pads(hw)))
        if min(out) < 1:
            raise ShapeError(
                f"{where(self.owner)} cannot fit its {self.kernel[0]}x{self.kernel[1]} window "
                f"(dilation {self.dilation}) into an input of {hw[0]}x{hw[1]}: the output would "
                f"be {out[0]}x{out[1]}. Use padding='same', a smaller kernel, or a larger input.")
        return out

    def pad(self, X, fill=0.0):
        """X (B, H, W, C) with its zeros (or ``fill``) added, and the pads."""
        pads = self.pads(X.shape[1:3])
        if any(p for pair in pads for p in pair):
            X = np.pad(X, [(0, 0), *pads, (0, 0)], constant_values=fill)
        return X, pads

    def patches(self, X):
        """X (B, H, W, C) -> padded copy shape, P (B, H', W', kh, kw, C), pads."""
        Xp, pads = self.pad(X)
        P = unfold(Xp, self.kernel, self.strides, self.dilation, self.out_hw(X.shape[1:3]))
        return Xp.shape, P, pads

    def unpatch_product(self, dZ, W, padded_shape, pads):
        """dX = fold(dZ @ W.T), one kernel tap (i, j) at a time: the rows of dP that
        belong to tap (i, j) are dZ @ W[i, j].T, added straight onto the pixels that tap
        read (faster than building all of dP when there are several input channels)."""
        (sh, sw), (dh, dw) = self.strides, self.dilation
        batch, oh, ow, filters = dZ.shape
        rows = dZ.reshape(-1, filters)          # one 2-D GEMM per tap, not a stack of them
        dXp = np.zeros(padded_shape, dZ.dtype)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                dXp[:, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                    j * dw:j * dw + sw * (ow - 1) + 1:sw, :] += \
                    (rows @ W[i, j].T).reshape(batch, oh, ow, -1)
        (top, bottom), (left, right) = pads
        return dXp[:, top:padded_shape[1] - bottom, left:padded_shape[2] - right, :]


def grouped_forward(layer, X, W, groups):
    """Z (B, H', W', F) of a grouped convolution, one batched product over the groups:
        P (B*H'*W', kh*kw, G, C/G) -> Pg (G, B*H'*W', kh*kw*C/G)
        W (kh, kw, C/G, F)         -> Wg (G, kh*kw*C/G, F/G)
        Zg = Pg @ Wg (G, B*H'*W', F/G) -> Z, output channel f in group f // (F/G).
    Keeps Pg (as P) and the padded geometry in ``layer.cache``."""
    kh, kw, cg, filters = W.shape
    padded_shape, P, pads = layer.window.patches(X)
    batch, oh, ow = P.shape[:3]
    rows = batch * oh * ow
    Pg = np.ascontiguousarray(P.reshape(rows, kh * kw, groups, cg).transpose(2, 0, 1, 3)
                              ).reshape(groups, rows, kh * kw * cg)
    Z = np.matmul(Pg, grouped_kernel(W, groups)).transpose(1, 0, 2)
    layer.cache.update(P=Pg, padded_shape=padded_shape, pads=pads)
    return Z.reshape(batch, oh, ow, filters)


def grouped_kernel(W, groups):
    """W (kh, kw, C/G, F) as Wg (G, kh*kw*C/G, F/G): group g's columns of its filters."""
    kh, kw, cg, filters = W.shape
    return W.reshape(kh * kw, cg, groups, filters // groups).transpose(2, 0, 1, 3) \
        .reshape(groups, kh * kw * cg, filters // groups)


def grouped_backward(layer, dZ, W, dW, groups):
    """Fill dW (kh, kw, C/G, F) from dWg = Pg.T @ dZg, and return dX = fold(dZg @ Wg.T)
    (None when the layer's dX is not needed)."""
    kh, kw, cg, filters = W.shape
    Pg, Wg = layer.cache["P"], grouped_kernel(W, groups)
    padded_shape, pads = layer.cache["padded_shape"], layer.cache["pads"]
    batch, oh, ow = dZ.shape[:3]
    dZg = dZ.reshape(-1, groups, filters // groups).transpose(1, 0, 2)    # (G, rows, F/G)
    dWg = np.matmul(Pg.transpose(0, 2, 1), dZg)                            # (G, k*k*C/G, F/G)
    dW[...] = dWg.reshape(groups, kh * kw, cg, filters // groups).transpose(1, 2, 0, 3) \
        .reshape(W.shape)
    if not layer.need_dX:
        return None
    dP = np.matmul(dZg, Wg.transpose(0, 2, 1))                             # (G, rows, k*k*C/G)
    dP = dP.reshape(groups, batch, oh, ow, kh, kw, cg).transpose(1, 2, 3, 4, 5, 0, 6) \
        .reshape(batch, oh, ow, kh, kw, groups * cg)
    dXp = fold(dP, padded_shape, layer.window.strides, layer.window.dilation)
    (top, bottom), (left, right) = pads
    return dXp[:, top:padded_shape[1] - bottom, left:padded_shape[2] - right, :]


class _Convolution(Weighted):
    """A convolution over (batch, H, W, C) images; Conv1D sees its sequences as images of
    height 1 (``image`` and ``kernel`` give those views of the same memory)."""
    keeps = ("P", "Z", "Y", "padded_shape", "pads")
    paddings, rank = ("valid", "same"), 2

    def __init__(self, filters, kernel, strides, padding, dilation, activation, use_bias,
                 kernel_initializer, bias_initializer, alpha, **options):
        name = type(self).__name__
        self.filters = whole_number(filters, "filters", name)
        owner = f"{name}({self.filters})"
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, alpha,
                         owner, **options)
        self.window = Window(self, _pair(kernel, "kernel_size", owner),
                             _pair(strides, "strides", owner),
                             _pair(dilation, "dilation_rate", owner),
                             _check_padding(padding, owner, self.paddings), self.rank)

    def image_shape(self, in_shape):
        return tuple(in_shape)

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        image = self.image_shape(in_shape)
        out = (image[0], *self.window.out_hw(image[1:3]), self.filters)
        return out if len(in_shape) == 4 else (out[0], out[2], out[3])

    def param_shapes(self, in_shape):
        shapes = {"W": (*self.window.kernel[2 - self.rank:], in_shape[-1], self.filters)}
        if self.use_bias:
            shapes["b"] = (self.filters,)
        return shapes

    def ops(self, in_shape):
        out, image = self.output_shape(in_shape), self.image_shape(in_shape)
        out_image = (image[0], *self.window.out_hw(image[1:3]), self.filters)
        positions = out_image[1] * out_image[2]
        patch = math.prod(self.window.kernel) * in_shape[-1]
        rows = (None if out[0] is None else out[0] * positions, patch)
        w = self.window
        return [Unfold(a_shape=tuple(in_shape), shape=(out[0], positions, patch), rows=rows,
                       kernel=w.kernel, strides=w.strides, dilation=w.dilation,
                       padding=w.padding, stored=1),
                MatMul(out="Z", a="P", b="W", a_shape=(out[0], positions, patch),
                       b_shape=(patch, self.filters), shape=(out[0], positions, self.filters),
                       stored=1),
                Reshape(out="Z", a="Z", a_shape=(out[0], positions, self.filters), shape=out),
                *([BiasAdd(a_shape=out, b_shape=(self.filters,), shape=out)]
                  if self.use_bias else []),
                *self.activation.ops(out)]

    def image(self, X):
        return X

    def kernel(self):
        return self.params["W"]

    def forward(self, X, training=False):
        W = self.kernel()
        if X.ndim != self.input_spec.ndim or X.shape[-1] != W.shape[2]:
            self.check_input_shape(X.shape)
            raise ShapeError(f"{where(self)} expects {W.shape[2]} input channels but received "
                             f"{describe_shape(X.shape)} ({X.shape[-1]} channels).")
        padded_shape, P, pads = self.window.patches(self.image(X))
        batch, oh, ow = P.shape[:3]
        P = P.reshape(batch * oh * ow, -1)                        # (B*H'*W', kh*kw*C)
        Z = (P @ W.reshape(-1, self.filters)).reshape(batch, oh, ow, self.filters)  # one GEMM
        if self.use_bias:
            Z += self.params["b"]
        if self.rank == 1:
            Z = Z[:, 0]                                           # (B, L', F)
        Y = self.activation.apply(Z)
        self.cache.update(P=P, Z=Z, Y=Y, padded_shape=padded_shape, pads=pads)
        return Y

    def backward(self, dY):
        return self.backward_from_logits(
            self.activation.derivative(dY, self.cache["Z"], self.cache["Y"]))

    def backward_from_logits(self, dZ):
        P, padded_shape, pads = self.cache["P"], self.cache["padded_shape"], self.cache["pads"]
        W = self.kernel()
        dZ2 = dZ.reshape(-1, self.filters)
        np.matmul(P.T, dZ2, out=self.grads["W"].reshape(-1, self.filters))   # dW = P.T @ dZ
        if self.use_bias:
            column_sum(dZ2, out=self.grads["b"])                               # db
        self.add_penalty_gradients()                                 # + dpenalty/dW, /db
        if not self.need_dX:
            return None
        dX = self.window.unpatch_product(self.image(dZ), W, padded_shape, pads)  # fold(dP)
        return dX[:, 0] if self.rank == 1 else dX

    def get_config(self):
        w, axes = self.window, slice(2 - self.rank, 2)
        config = {**super().get_config(), "filters": self.filters,
                  "kernel_size": list(w.kernel[axes]), "strides": list(w.strides[axes]),
                  "padding": w.padding, "dilation_rate": list(w.dilation[axes])}
        if self.rank == 1:
            config.update({k: v[0] for k, v in config.items()
                           if k in ("kernel_size", "strides", "dilation_rate")})
        return config


class Conv2D(_Convolution):
    """A 2-D convolution, Y = f(W * X + b), computed as one matrix product over patches.

    Shapes:
        X (batch, H, W, C) -> P = unfold(X) (batch * H' * W', kh * kw * C)
        P @ W (kh * kw * C, filters) -> (batch * H' * W', filters) -> Z (batch, H', W', filters)
        kernel W stored (kh, kw, C, filters) as Keras; b (filters,)
        H' = (H + pads - dilation * (kh - 1) - 1) // stride + 1, likewise W'
    Backward (dZ = dY * f'(Z)):
        dW = P.T @ dZ;  db = dZ summed over batch and positions;  dX = fold(dZ @ W.T)

    Args (Keras's order; the rest by keyword):
        filters: number of output channels, each one kernel of kh x kw x C weights.
        kernel_size, strides, dilation_rate: a number or a (height, width) pair.
        padding: 'valid' (none), 'same' (output size ceil(input / stride)) or a number
            of zeros on each side.
    """
    input_ndim = 4
    input_describe = "inputs of shape (batch, height, width, channels) (channels last)"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", *, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", alpha=0.2, **options):
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, activation,
                         use_bias, kernel_initializer, bias_initializer, alpha, **options)
        self.groups = whole_number(groups, "groups", repr(self))
        if self.filters % self.groups:
            raise ValueError(f"{self!r}: filters ({self.filters}) must be a multiple of "
                             f"groups ({self.groups}): each group makes filters / groups "
                             f"channels.")

    # Grouped convolution (groups > 1, as Keras's and PyTorch's ``groups``): the channels
    # split into ``groups`` slices; slice g sees only its own C / groups input channels and
    # makes its own filters / groups outputs. The kernel is (kh, kw, C / groups, filters).
    def check_groups(self, in_shape):
        if in_shape[-1] % self.groups:
            raise ShapeError(f"{where(self)} splits its input into {self.groups} groups, but "
                             f"the input has {in_shape[-1]} channels, not a multiple of "
                             f"{self.groups}.")

    def output_shape(self, in_shape):
        out = super().output_shape(in_shape)
        self.check_groups(in_shape)
        return out

    def param_shapes(self, in_shape):
        shapes = super().param_shapes(in_shape)
        shapes["W"] = (*self.window.kernel, in_shape[-1] // self.groups, self.filters)
        return shapes

    def ops(self, in_shape):
        ops = super().ops(in_shape)
        if self.groups > 1:
            product, g = ops[1], self.groups
            inner = product.b_shape[0] // g
            ops[1] = MatMul(out="Z", a="P", b="W", a_shape=(*product.a_shape[:-1], inner),
                            b_shape=(inner, self.filters), shape=product.shape, stored=1,
                            note_text=f"{g} groups: each ({inner} patch values) @ "
                                      f"({inner}, {self.filters // g})")
        return ops

    def forward(self, X, training=False):
        if self.groups == 1:
            return super().forward(X, training)
        if X.ndim != 4 or X.shape[-1] != self.params["W"].shape[2] * self.groups:
            self.check_input_shape(X.shape)
            raise ShapeError(f"{where(self)} expects {self.params['W'].shape[2] * self.groups}"
                             f" input channels but received {describe_shape(X.shape)}.")
        Z = grouped_forward(self, X, self.params["W"], self.groups)
        if self.use_bias:
            Z += self.params["b"]
        Y = self.activation.apply(Z)
        self.cache.update(Z=Z, Y=Y)
        return Y

    def backward_from_logits(self, dZ):
        if self.groups == 1:
            return super().backward_from_logits(dZ)
        if self.use_bias:
            column_sum(dZ.reshape(-1, self.filters), out=self.grads["b"])
        return grouped_backward(self, dZ, self.params["W"], self.grads["W"], self.groups)

    def get_config(self):
        config = super().get_config()
        if self.groups != 1:
            config["groups"] = self.groups
        return config

    def __repr__(self):
        k = self.window.kernel
        act = "" if self.activation.name == "linear" else f", {self.activation.name}"
        groups = f", groups={self.groups}" if getattr(self, "groups", 1) != 1 else ""
        return f"Conv2D({self.filters}, {k[0]}x{k[1]}{groups}{act})"


class Conv1D(_Convolution):
    """A 1-D convolution over sequences (batch, length, channels): the Conv2D computation
    on a (batch, 1, length, channels) view, with kernel W (k, C, filters) as Keras.

    ``padding='causal'`` puts all dilation * (k - 1) zeros before the sequence, so output t
    sees inputs up to t only (as Keras; for time series and WaveNet-style stacks)."""
    input_ndim = 3
    input_describe = "inputs of shape (batch, length, channels) (channels last)"
    paddings, rank = ("valid", "same", "causal"), 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", *, dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", alpha=0.2, **options):
        owner = f"Conv1D({filters})"
        one = [whole_number(v, name, owner, maximum=MAX_WINDOW) for name, v in
               (("kernel_size", kernel_size), ("strides", strides),
                ("dilation_rate", dilation_rate))]
        super().__init__(filters, (1, one[0]), (1, one[1]), padding, (1, one[2]), activation,
                         use_bias, kernel_initializer, bias_initializer, alpha, **options)

    def image_shape(self, in_shape):
        return (in_shape[0], 1, *in_shape[1:])

    def image(self, X):
        return X[:, None]

    def kernel(self):
        return self.params["W"][None]            # (1, k, C, F): a view of the same memory

    def __repr__(self):
        act = "" if self.activation.name == "linear" else f", {self.activation.name}"
        return f"Conv1D({self.filters}, {self.window.kernel[1]}{act})"


class _Pool2D(Layer):
    """Max or average over each window, channel by channel (no parameters), computed as
    element-wise max / sum over the window's kh*kw strided slices of the input.

    Average pooling with padding='same' averages only the input values each window covers
    (not the zeros around the image), as Keras does."""
    mode = "max"
    keeps = ("Xp", "pads", "cuts", "Y", "count")
    input_ndim = 4
    input_describe = "inputs of shape (batch, height, width, channels) (channels last)"

    def __init__(self, pool_size=2, strides=None, padding="valid", **options):
        super().__init__(**options)
        owner = f"{type(self).__name__}({pool_size})"
        pool = _pair(pool_size, "pool_size", owner)
        self.window = Window(self, pool, _pair(pool if strides is None else strides,
                                               "strides", owner), (1, 1),
                             _check_padding(padding, owner, ("valid", "same")))

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (in_shape[0], *self.window.out_hw(in_shape[1:3]), in_shape[3])

    def ops(self, in_shape):
        return [Pool(mode=self.mode, a_shape=tuple(in_shape), window=self.window.kernel,
                     strides=self.window.strides, shape=self.output_shape(in_shape),
                     stored=2 if self.mode == "max" else 0)]

    def _slices(self, out_hw):
        """For each window position (i, j), in row-major order, the strided slice that
        picks that element of every window: Xp[:, slice_i, slice_j, :] is (B, H', W', C)."""
        (kh, kw), (sh, sw), (oh, ow) = self.window.kernel, self.window.strides, out_hw
        return [(slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))
                for i in range(kh) for j in range(kw)]

    def _counts(self, hw, cuts, dtype):
        """How many input values (not padding) each window covers: (1, H', W', 1)."""
        inside, pads = self.window.pad(np.ones((1, *hw, 1), dtype))
        if not any(p for pair in pads for p in pair):
            return len(cuts)
        return sum(inside[:, rows, cols, :] for rows, cols in cuts)

    def forward(self, X, training=False):
        if X.ndim != 4:
            self.check_input_shape(X.shape)
        Xp, pads = self.window.pad(X, -np.inf if self.mode == "max" else 0.0)
        cuts = self._slices(self.window.out_hw(X.shape[1:3]))
        Y = Xp[:, cuts[0][0], cuts[0][1], :].copy()
        for rows, cols in cuts[1:]:                        # one pass per window element
            if self.mode == "max":
                np.maximum(Y, Xp[:, rows, cols, :], out=Y)
            else:
                Y += Xp[:, rows, cols, :]
        count = None
        if self.mode == "avg":
            count = self._counts(X.shape[1:3], cuts, X.dtype)
            Y /= count
        self.cache.update(Xp=Xp, pads=pads, cuts=cuts, Y=Y, count=count)
        return Y

    def backward(self, dY):
        Xp, pads, cuts, Y, count = (self.cache[k] for k in self.keeps)
        dXp = np.zeros(Xp.shape, dY.dtype)
        if self.mode == "avg":                             # each input gets dY / window
            share = dY / count
            for rows, cols in cuts:
                dXp[:, rows, cols, :] += share
        else:               # only the first maximum of each window gets dY (as PyTorch)
            overlap = any(s < k for s, k in zip(self.window.strides, self.window.kernel))
            unclaimed = np.ones(dY.shape, bool)
            for rows, cols in cuts:
                hit = Xp[:, rows, cols, :] == Y
                hit &= unclaimed
                unclaimed ^= hit
                if overlap:
                    dXp[:, rows, cols, :] += dY * hit
                else:                                      # each input in one window only
                    np.multiply(dY, hit, out=dXp[:, rows, cols, :])
        (top, bottom), (left, right) = pads
        return dXp[:, top:dXp.shape[1] - bottom, left:dXp.shape[2] - right, :]

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.window.kernel),
                "strides": list(self.window.strides), "padding": self.window.padding}

    def __repr__(self):
        k = self.window.kernel
        return f"{type(self).__name__}({k[0]}x{k[1]})"


class MaxPool2D(_Pool2D):
    """Y = the maximum of each window (channels last); backward routes dY to the maximum.

    Shapes: (batch, H, W, C) -> (batch, H', W', C), H' = (H + pads - pool) // stride + 1;
    strides default to the pool size."""
    mode = "max"


class AvgPool2D(_Pool2D):
    """Y = the mean of each window; backward gives each input dY / (values in the window)."""
    mode = "avg"


class _GlobalPool(Layer):
    """What global pooling shares: the reduction over ``axes`` (time; or height and
    width), (batch, ..., C) -> (batch, C), and its description."""
    axes, mode, stored = (), "", 0

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return tuple(d for i, d in enumerate(in_shape) if i not in self.axes)

    def ops(self, in_shape):
        return [Pool(mode=self.mode, a_shape=tuple(in_shape),
                     window=tuple(in_shape[a] for a in self.axes),
                     strides=(1,) * len(self.axes), shape=self.output_shape(in_shape),
                     stored=self.stored)]

    def __repr__(self):
        return f"{type(self).__name__}()"


class _GlobalAverage(_GlobalPool):
    """The mean over ``axes`` (time; or height and width): (batch, ..., C) -> (batch, C).
    Backward: dX = dY / n at every averaged position (n positions)."""
    mode = "global average"
    keeps = ("in_shape",)

    def forward(self, X, training=False):
        if X.ndim != len(self.axes) + 2:
            self.check_input_shape(X.shape)
        self.cache["in_shape"] = X.shape
        return X.mean(axis=self.axes)

    def backward(self, dY):
        in_shape = self.cache["in_shape"]
        n = math.prod(in_shape[a] for a in self.axes)
        return np.broadcast_to(np.expand_dims(dY / n, self.axes), in_shape).copy()


class GlobalAveragePooling2D(_GlobalAverage):
    """The mean over height and width: (batch, H, W, C) -> (batch, C).
    Backward: dX = dY / (H * W) at every position."""
    axes = (1, 2)
    input_ndim = 4
    input_describe = "inputs of shape (batch, height, width, channels) (channels last)"


class GlobalAveragePooling1D(_GlobalAverage):
    """The mean over time: (batch, time, features) -> (batch, features);
    backward: dX = dY / time at every step."""
    axes = (1,)
    input_ndim = 3
    input_describe = "sequences of shape (batch, time, features)"


class DepthwiseConv2D(Weighted):
    """A depthwise convolution (as Keras): each input channel convolved with its own
    ``depth_multiplier`` kernels, no mixing across channels (MobileNet's building block;
    PyTorch's Conv2d with groups = in_channels).

    Shapes:
        X (batch, H, W, C) -> Y (batch, H', W', C * depth_multiplier); output channel
        c * depth_multiplier + m is channel c's m-th kernel.
        kernel W (kh, kw, C, depth_multiplier) as Keras; b (C * depth_multiplier,)
    Computed as a grouped convolution with C groups: per channel c, the patches
    P_c (B*H'*W', kh*kw) @ W_c (kh*kw, depth_multiplier).
    Backward (dZ = dY * f'(Z)): dW_c = P_c.T @ dZ_c; db = dZ summed over positions;
        dX = fold(dZ_c @ W_c.T), channel by channel.
    """
    keeps = ("P", "Z", "Y", "padded_shape", "pads")
    rank = 2
    input_ndim = 4
    input_describe = "inputs of shape (batch, height, width, channels) (channels last)"

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, *,
                 dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros", alpha=0.2,
                 **options):
        owner = "DepthwiseConv2D"
        self.depth_multiplier = whole_number(depth_multiplier, "depth_multiplier", owner)
        super().__init__(activation, use_bias, depthwise_initializer, bias_initializer, alpha,
                         owner, **options)
        self.window = Window(self, _pair(kernel_size, "kernel_size", owner),
                             _pair(strides, "strides", owner),
                             _pair(dilation_rate, "dilation_rate", owner),
                             _check_padding(padding, owner))

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (in_shape[0], *self.window.out_hw(in_shape[1:3]),
                in_shape[3] * self.depth_multiplier)

    def param_shapes(self, in_shape):
        shapes = {"W": (*self.window.kernel, in_shape[-1], self.depth_multiplier)}
        if self.use_bias:
            shapes["b"] = (in_shape[-1] * self.depth_multiplier,)
        return shapes

    def ops(self, in_shape):
        out, w = self.output_shape(in_shape), self.window
        positions, k = out[1] * out[2], math.prod(w.kernel)
        patch = k * in_shape[-1]
        return [Unfold(a_shape=tuple(in_shape), shape=(out[0], positions, patch),
                       rows=(None if out[0] is None else out[0] * positions, patch),
                       kernel=w.kernel, strides=w.strides, dilation=w.dilation,
                       padding=w.padding, stored=1),
                MatMul(out="Z", a="P", b="W", a_shape=(out[0], positions, k),
                       b_shape=(k, out[-1]), shape=(out[0], positions, out[-1]), stored=1,
                       note_text=f"{in_shape[-1]} channels, each ({k} patch values) @ "
                                 f"({k}, {self.depth_multiplier})"),
                Reshape(out="Z", a="Z", a_shape=(out[0], positions, out[-1]), shape=out),
                *([BiasAdd(a_shape=out, b_shape=(out[-1],), shape=out)]
                  if self.use_bias else []),
                *self.activation.ops(out)]

    def grouped_kernel(self, W):
        """(kh, kw, C, M) as a grouped kernel (kh, kw, 1, C * M) (a view)."""
        kh, kw, c, m = W.shape
        return W.reshape(kh, kw, 1, c * m)

    def forward(self, X, training=False):
        W = self.params["W"]
        if X.ndim != 4 or X.shape[-1] != W.shape[2]:
            self.check_input_shape(X.shape)
            raise ShapeError(f"{where(self)} expects {W.shape[2]} input channels but "
                             f"received {describe_shape(X.shape)}.")
        Z = grouped_forward(self, X, self.grouped_kernel(W), W.shape[2])
        if self.use_bias:
            Z += self.params["b"]
        Y = self.activation.apply(Z)
        self.cache.update(Z=Z, Y=Y)
        return Y

    def backward(self, dY):
        return self.backward_from_logits(
            self.activation.derivative(dY, self.cache["Z"], self.cache["Y"]))

    def backward_from_logits(self, dZ):
        W = self.params["W"]
        if self.use_bias:
            column_sum(dZ.reshape(-1, dZ.shape[-1]), out=self.grads["b"])
        return grouped_backward(self, dZ, self.grouped_kernel(W),
                                self.grouped_kernel(self.grads["W"]), W.shape[2])

    def get_config(self):
        w = self.window
        config = {**super().get_config(), "kernel_size": list(w.kernel),
                  "strides": list(w.strides), "padding": w.padding,
                  "dilation_rate": list(w.dilation)}
        if self.depth_multiplier != 1:
            config["depth_multiplier"] = self.depth_multiplier
        if "kernel_initializer" in config:
            config["depthwise_initializer"] = config.pop("kernel_initializer")
        return config

    def __repr__(self):
        k = self.window.kernel
        act = "" if self.activation.name == "linear" else f", {self.activation.name}"
        return f"DepthwiseConv2D({k[0]}x{k[1]}{act})"


class _GlobalMax(_GlobalPool):
    """The maximum over ``axes`` (time; or height and width): (batch, ..., C) -> (batch, C).
    Backward: dY goes to the first position holding each maximum (as PyTorch's max)."""
    mode, stored = "global max", 1
    keeps = ("X", "index")

    def forward(self, X, training=False):
        if X.ndim != len(self.axes) + 2:
            self.check_input_shape(X.shape)
        flat = X.reshape(X.shape[0], -1, X.shape[-1])            # (batch, positions, C)
        index = flat.argmax(axis=1)                               # (batch, C)
        self.cache.update(X=X, index=index)
        return np.take_along_axis(flat, index[:, None, :], axis=1)[:, 0, :]

    def backward(self, dY):
        X, index = self.cache["X"], self.cache["index"]
        dX = np.zeros((X.shape[0], math.prod(X.shape[1:-1]), X.shape[-1]), dY.dtype)
        np.put_along_axis(dX, index[:, None, :], dY[:, None, :], axis=1)
        return dX.reshape(X.shape)


class GlobalMaxPooling2D(_GlobalMax):
    """The maximum over height and width: (batch, H, W, C) -> (batch, C)."""
    axes = (1, 2)
    input_ndim = 4
    input_describe = "inputs of shape (batch, height, width, channels) (channels last)"


class GlobalMaxPooling1D(_GlobalMax):
    """The maximum over time: (batch, time, features) -> (batch, features)."""
    axes = (1,)
    input_ndim = 3
    input_describe = "sequences of shape (batch, time, features)"


MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D
