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
"""
import math

import numpy as np

from . import initializers
from .activations import Activation
from .errors import ShapeError, describe_shape
from .layers import (GlobalAverage, _check_positive_int, column_sum, init_weights,
                     weight_options, where)


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
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2:
        raise ValueError(f"{owner}: {what} must be a number or a pair, got {value!r}.")
    return tuple(_check_positive_int(v, what, owner) for v in values)


def _check_padding(padding, owner, allowed=("valid", "same")):
    if isinstance(padding, str):
        if padding not in allowed:
            raise ValueError(f"{owner}: padding must be one of {', '.join(allowed)} or a "
                             f"number of zeros per side, got {padding!r}.")
        return padding
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"{owner}: padding must be 'valid', 'same' or a whole number >= 0, "
                         f"got {padding!r}.")
    return int(padding)


def padding_amounts(padding, size, k, stride, dilation):
    """(before, after) zeros for one spatial axis. 'same' keeps ceil(size / stride)
    outputs, with the odd zero after (as Keras and TensorFlow)."""
    if padding == "valid":
        return (0, 0)
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


class _Window:
    """Geometry shared by convolutions and pooling: kernel, strides, dilation, padding."""

    def __init__(self, owner, kernel, strides, dilation, padding):
        self.kernel, self.strides = kernel, strides
        self.dilation, self.padding = dilation, padding
        self.owner = owner

    def pads(self, hw):
        return [padding_amounts(self.padding, n, k, s, d)
                for n, k, s, d in zip(hw, self.kernel, self.strides, self.dilation)]

    def out_hw(self, hw):
        out = tuple(out_size(n, k, s, d, p) for n, k, s, d, p in
                    zip(hw, self.kernel, self.strides, self.dilation, self.pads(hw)))
        if min(out) < 1:
            raise ShapeError(
                f"{where(self.owner)} cannot fit its {self.kernel[0]}x{self.kernel[1]} window "
                f"(dilation {self.dilation}) into an input of {hw[0]}x{hw[1]}: the output would "
                f"be {out[0]}x{out[1]}. Use padding='same', a smaller kernel, or a larger input.")
        return out

    def patches(self, X, fill=0.0):
        """X (B, H, W, C) -> padded copy shape, P (B, H', W', kh, kw, C), pads."""
        pads = self.pads(X.shape[1:3])
        Xp = X
        if any(p for pair in pads for p in pair):
            Xp = np.pad(X, [(0, 0), *pads, (0, 0)], constant_values=fill)
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


def _check_image(layer, in_shape, rank=4):
    if len(in_shape) != rank:
        what = "(batch, height, width, channels)" if rank == 4 else "(batch, length, channels)"
        raise ShapeError(f"{where(layer)} expects inputs of shape {what} (channels last) but "
                         f"received {describe_shape(in_shape)}.")


class Conv2D:
    """A 2-D convolution, Y = f(W * X + b), computed as one matrix product over patches.

    Shapes:
        X (batch, H, W, C) -> P = unfold(X) (batch * H' * W', kh * kw * C)
        P @ W (kh * kw * C, filters) -> (batch * H' * W', filters) -> Z (batch, H', W', filters)
        kernel W stored (kh, kw, C, filters) as Keras; b (filters,)
        H' = (H + pads - dilation * (kh - 1) - 1) // stride + 1, likewise W'
    Backward (dZ = dY * f'(Z)):
        dW = P.T @ dZ;  db = dZ summed over batch and positions;  dX = fold(dZ @ W.T)

    Args:
        filters: number of output channels, each one kernel of kh x kw x C weights.
        kernel_size, strides, dilation_rate: a number or a (height, width) pair.
        padding: 'valid' (none), 'same' (output size ceil(input / stride)) or a number
            of zeros on each side.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros"):
        self.filters = _check_positive_int(filters, "filters", "Conv2D")
        owner = f"Conv2D({self.filters})"
        self.window = _Window(self, _pair(kernel_size, "kernel_size", owner),
                              _pair(strides, "strides", owner),
                              _pair(dilation_rate, "dilation_rate", owner),
                              _check_padding(padding, owner))
        self.activation = Activation(activation)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer, owner)
        initializers.get(bias_initializer, owner)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None

    def output_shape(self, in_shape):
        _check_image(self, in_shape)
        return (in_shape[0], *self.window.out_hw(in_shape[1:3]), self.filters)

    def param_shapes(self, in_shape):
        shapes = {"W": (*self.window.kernel, in_shape[-1], self.filters)}
        if self.use_bias:
            shapes["b"] = (self.filters,)
        return shapes

    def ops(self, in_shape):
        out = self.output_shape(in_shape)
        positions, patch = out[1] * out[2], math.prod(self.window.kernel) * in_shape[-1]
        rows = (None if out[0] is None else out[0] * positions, patch)
        ops = [{"op": "im2col", "out": "P", "a": "X", "a_shape": tuple(in_shape),
                "shape": (out[0], positions, patch), "rows": rows, "kernel": self.window.kernel,
                "strides": self.window.strides, "dilation": self.window.dilation,
                "padding": self.window.padding, "stored": 1},
               {"op": "matmul", "out": "Z", "a": "P", "b": "W", "a_shape": (out[0], positions,
                                                                            patch),
                "b_shape": (patch, self.filters), "shape": (out[0], positions, self.filters),
                "stored": 1},
               {"op": "reshape", "out": "Z", "a": "Z", "a_shape": (out[0], positions,
                                                                 self.filters),
                "shape": out, "stored": 0}]
        if self.use_bias:
            ops.append({"op": "bias", "out": "Z", "a": "Z", "b": "b", "a_shape": out,
                        "b_shape": (self.filters,), "shape": out, "stored": 0})
        return ops + self.activation.ops(out, "Z")

    def build(self, in_shape, rng, dtype=np.float32):
        return init_weights(self, in_shape, rng, dtype)

    def forward(self, X, training=False):
        W = self.params["W"]
        if X.ndim != 4 or X.shape[3] != W.shape[2]:
            _check_image(self, X.shape)
            raise ShapeError(f"{where(self)} expects {W.shape[2]} input channels but received "
                             f"{describe_shape(X.shape)} ({X.shape[3]} channels).")
        self.padded_shape, P, self.pads = self.window.patches(X)
        batch, oh, ow = P.shape[:3]
        self.P = P.reshape(batch * oh * ow, -1)                   # (B*H'*W', kh*kw*C)
        Z = self.P @ W.reshape(-1, self.filters)                  # one GEMM
        Z = Z.reshape(batch, oh, ow, self.filters)
        if self.use_bias:
            Z += self.params["b"]
        self.Z, self.Y = Z, self.activation.apply(Z)
        return self.Y

    def backward(self, dY, need_dX=True):
        dZ = self.activation.derivative(dY, self.Z, self.Y).reshape(-1, self.filters)
        W2 = self.params["W"].reshape(-1, self.filters)
        np.matmul(self.P.T, dZ, out=self.grads["W"].reshape(W2.shape))      # dW = P.T @ dZ
        if self.use_bias:
            column_sum(dZ, out=self.grads["b"])                               # db
        if not need_dX:
            return None
        return self.window.unpatch_product(dZ.reshape(self.Z.shape), self.params["W"],
                                           self.padded_shape, self.pads)     # dX = fold(dP)

    def get_config(self):
        w = self.window
        config = {"type": "Conv2D", "filters": self.filters, "kernel_size": list(w.kernel),
                  "strides": list(w.strides), "padding": w.padding,
                  "dilation_rate": list(w.dilation), "activation": self.activation.name}
        return weight_options(self, config)

    def __repr__(self):
        k = self.window.kernel
        act = "" if self.activation.name == "linear" else f", {self.activation.name}"
        return f"Conv2D({self.filters}, {k[0]}x{k[1]}{act})"


class Conv1D:
    """A 1-D convolution over sequences (batch, length, channels): the Conv2D computation
    on a (batch, 1, length, channels) view, with kernel W (k, C, filters) as Keras."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros"):
        owner = f"Conv1D({filters})"
        for name, value in (("kernel_size", kernel_size), ("strides", strides),
                            ("dilation_rate", dilation_rate)):
            _check_positive_int(value, name, owner)
        self.conv = Conv2D(filters, (1, kernel_size), (1, strides), padding,
                           (1, dilation_rate), activation, use_bias, kernel_initializer,
                           bias_initializer)
        self.conv.window.owner = self
        self.filters = self.conv.filters
        self.params, self.grads, self.state = self.conv.params, self.conv.grads, {}
        self.position = None

    def output_shape(self, in_shape):
        _check_image(self, in_shape, rank=3)
        out = self.conv.output_shape((in_shape[0], 1, *in_shape[1:]))
        return (out[0], out[2], out[3])

    def param_shapes(self, in_shape):
        shapes = self.conv.param_shapes((in_shape[0], 1, *in_shape[1:]))
        shapes["W"] = shapes["W"][1:]
        return shapes

    def ops(self, in_shape):
        ops = self.conv.ops((in_shape[0], 1, *in_shape[1:]))
        ops[0]["a_shape"] = tuple(in_shape)
        for op in ops[2:]:
            op["shape"] = self.output_shape(in_shape)
            if "a_shape" in op and op["op"] != "reshape":
                op["a_shape"] = op["shape"]
        return ops

    def build(self, in_shape, rng, dtype=np.float32):
        return init_weights(self, in_shape, rng, dtype, options=self.conv)

    def _sync(self):
        """The inner Conv2D sees W as (1, k, C, F): a view of the same memory."""
        self.conv.params = {k: (v[None] if k == "W" else v) for k, v in self.params.items()}
        self.conv.grads = {k: (v[None] if k == "W" else v) for k, v in self.grads.items()}

    def forward(self, X, training=False):
        if X.ndim != 3:
            _check_image(self, X.shape, rank=3)
        self._sync()
        return self.conv.forward(X[:, None], training)[:, 0]

    def backward(self, dY, need_dX=True):
        dX = self.conv.backward(dY[:, None], need_dX)
        return None if dX is None else dX[:, 0]

    def get_config(self):
        config = self.conv.get_config()
        config.update(type="Conv1D", kernel_size=config["kernel_size"][1],
                      strides=config["strides"][1], dilation_rate=config["dilation_rate"][1])
        return config

    def __repr__(self):
        act = "" if self.conv.activation.name == "linear" else f", {self.conv.activation.name}"
        return f"Conv1D({self.filters}, {self.conv.window.kernel[1]}{act})"


class _Pool2D:
    """Max or average over each window, channel by channel (no parameters), computed as
    element-wise max / sum over the window's kh*kw strided slices of the input."""
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid"):
        owner = f"{type(self).__name__}({pool_size})"
        pool = _pair(pool_size, "pool_size", owner)
        allowed = ("valid", "same") if self.mode == "max" else ("valid",)
        self.window = _Window(self, pool, _pair(strides or pool, "strides", owner), (1, 1),
                              _check_padding(padding, owner, allowed))
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None

    def output_shape(self, in_shape):
        _check_image(self, in_shape)
        return (in_shape[0], *self.window.out_hw(in_shape[1:3]), in_shape[3])

    def param_shapes(self, in_shape):
        return {}

    def ops(self, in_shape):
        return [{"op": "pool", "mode": self.mode, "out": "Y", "a": "X",
                 "a_shape": tuple(in_shape), "window": self.window.kernel,
                 "strides": self.window.strides, "shape": self.output_shape(in_shape),
                 "stored": 2 if self.mode == "max" else 0}]

    def build(self, in_shape, rng=None, dtype=np.float32):
        return self.output_shape(in_shape)

    def _slices(self, out_hw):
        """For each window position (i, j), in row-major order, the strided slice that
        picks that element of every window: Xp[:, slice_i, slice_j, :] is (B, H', W', C)."""
        (kh, kw), (sh, sw), (oh, ow) = self.window.kernel, self.window.strides, out_hw
        return [(slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))
                for i in range(kh) for j in range(kw)]

    def forward(self, X, training=False):
        if X.ndim != 4:
            _check_image(self, X.shape)
        pads = self.window.pads(X.shape[1:3])
        Xp = X
        if any(p for pair in pads for p in pair):
            Xp = np.pad(X, [(0, 0), *pads, (0, 0)],
                        constant_values=-np.inf if self.mode == "max" else 0.0)
        self.Xp, self.pads = Xp, pads
        self.cuts = self._slices(self.window.out_hw(X.shape[1:3]))
        Y = Xp[:, self.cuts[0][0], self.cuts[0][1], :].copy()
        for rows, cols in self.cuts[1:]:                   # one pass per window element
            if self.mode == "max":
                np.maximum(Y, Xp[:, rows, cols, :], out=Y)
            else:
                Y += Xp[:, rows, cols, :]
        if self.mode == "avg":
            Y /= len(self.cuts)
        self.Y = Y
        return Y

    def backward(self, dY, need_dX=True):
        dXp = np.zeros(self.Xp.shape, dY.dtype)
        if self.mode == "avg":                             # each input gets dY / window
            share = dY / len(self.cuts)
            for rows, cols in self.cuts:
                dXp[:, rows, cols, :] += share
        else:               # only the first maximum of each window gets dY (as PyTorch)
            overlap = any(s < k for s, k in zip(self.window.strides, self.window.kernel))
            unclaimed = np.ones(dY.shape, bool)
            for rows, cols in self.cuts:
                hit = self.Xp[:, rows, cols, :] == self.Y
                hit &= unclaimed
                unclaimed ^= hit
                if overlap:
                    dXp[:, rows, cols, :] += dY * hit
                else:                                      # each input in one window only
                    np.multiply(dY, hit, out=dXp[:, rows, cols, :])
        (top, bottom), (left, right) = self.pads
        return dXp[:, top:dXp.shape[1] - bottom, left:dXp.shape[2] - right, :]

    def get_config(self):
        return {"type": type(self).__name__, "pool_size": list(self.window.kernel),
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
    """Y = the mean of each window; backward gives each input dY / (window size)."""
    mode = "avg"


class GlobalAveragePooling2D(GlobalAverage):
    """The mean over height and width: (batch, H, W, C) -> (batch, C).
    Backward: dX = dY / (H * W) at every position."""
    axes = (1, 2)

    def _check(self, shape):
        _check_image(self, shape)


MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D
