"""The recurrent layers SimpleRNN, LSTM and GRU, each written as batched matrix products
with backpropagation through time (BPTT).

Inputs are (batch, time, features); inside, the layers work time-major, (time, batch,
...), so that every step's slice is contiguous. The input projection of every time step is one GEMM
up front, X @ W over (batch * time, features); only the recurrent product h @ U runs step
by step, because h_t needs h_(t-1):

    SimpleRNN:  h_t = tanh(x_t W + h_(t-1) U + b)
    LSTM:       [i f g o] = x_t W + h_(t-1) U + b      (Keras's gate order i, f, c, o)
                i, f, o = sigmoid(.), g = tanh(.);  c_t = f c_(t-1) + i g;  h_t = o tanh(c_t)
    GRU:        [z r n] from x_t W + b_x and h_(t-1) U + b_h   (Keras, reset_after=True)
                z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
                n = tanh(x_n + r * h_n);  h_t = z h_(t-1) + (1 - z) n

Backward walks the steps in reverse (BPTT); dW = X.T @ dZ and dU = H_prev.T @ dZ are
again single GEMMs over all steps, once every step's dZ is known.
"""
import numpy as np

from .. import initializers
from .activations import column_sum
from .base import Composite, Layer, where
from ..errors import ShapeError, describe_shape
from .ops import MatMul, Op, Recurrence
from ..validate import flag, whole_number


def _rows(A):
    return A.reshape(-1, A.shape[-1])


class _Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: shapes, parameters, configuration, and the
    time-major frame of forward and backward around each cell's ``run``."""
    gates, gate_names = 1, ("h",)
    keeps = ("X", "H")
    input_ndim, input_describe = 3, "sequences of shape (batch, time, features)"

    def __init__(self, units, *, return_sequences=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **options):
        super().__init__(**options)
        name = type(self).__name__
        self.units = whole_number(units, "units", name)
        self.return_sequences = flag(return_sequences, "return_sequences", name)
        for init in (kernel_initializer, recurrent_initializer, bias_initializer):
            initializers.get(init, f"{name}({self.units})")
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        return (in_shape[0], in_shape[1], self.units) if self.return_sequences \
            else (in_shape[0], self.units)

    def param_shapes(self, in_shape):
        width = self.gates * self.units
        return {"W": (in_shape[-1], width), "U": (self.units, width), "b": self.bias_shape()}

    def bias_shape(self):
        return (self.gates * self.units,)

    def init_param(self, name, shape, rng, dtype):
        if name == "W":
            return initializers.get(self.kernel_initializer)(shape, rng, dtype)
        if name == "U":                      # one orthogonal (u, u) block per gate, as Keras
            u = self.units
            return np.concatenate([initializers.get(self.recurrent_initializer)((u, u), rng,
                                                                                  dtype)
                                   for _ in range(self.gates)], axis=1)
        return self.init_bias(initializers.get(self.bias_initializer)(shape, rng, dtype))

    def init_bias(self, b):
        return b

    def ops(self, in_shape):
        self.check_input_shape(in_shape)
        batch, time, features = in_shape
        width = self.gates * self.units
        gates = "gates " + ", ".join(self.gate_names) if self.gates > 1 else "pre-activation"
        return [MatMul(out="XW", a="X", b="W", a_shape=tuple(in_shape),
                       b_shape=(features, width), shape=(batch, time, width), stored=1),
                MatMul(out="HU", a="H", b="U", a_shape=(batch, time, self.units),
                       b_shape=(self.units, width), shape=(batch, time, width),
                       stored=self.gates + 1,
                       note_text=f"step by step: h_(t-1) @ U for t = 1..{time}; {gates}"),
                Recurrence(cell=type(self).__name__, shape=self.output_shape(in_shape))]

    def forward(self, X, training=False):
        if X.ndim != 3 or X.shape[2] != self.params["W"].shape[0]:
            self.check_input_shape(X.shape)
            raise ShapeError(f"{where(self)} expects {self.params['W'].shape[0]} features per "
                             f"step but received {describe_shape(X.shape)}.")
        batch, time, _ = X.shape
        X = np.ascontiguousarray(X.transpose(1, 0, 2))          # time-major: X[t] contiguous
        XW = (_rows(X) @ self.params["W"]).reshape(time, batch, -1)        # all steps at once
        H = np.zeros((time + 1, batch, self.units), X.dtype)               # H[0] = h_0 = 0
        self.cache["X"], self.cache["H"] = X, H
        self.run(XW)
        return H[1:].transpose(1, 0, 2).copy() if self.return_sequences else H[-1].copy()

    def backward(self, dY):
        X = self.cache["X"]
        time, batch, features = X.shape
        if self.return_sequences:
            dH = np.ascontiguousarray(dY.transpose(1, 0, 2))
        else:
            dH = np.zeros((time, batch, self.units), dY.dtype)
            dH[-1] = dY
        dZ_x, dZ_h = self.run_backward(dH)             # (time, batch, gates * units) each
        np.matmul(_rows(X).T, _rows(dZ_x), out=self.grads["W"])               # dW = X.T dZ
        self.recurrent_grad(dZ_h)                                             # dU = H.T dZ
        self.bias_grad(dZ_x, dZ_h)
        if not self.need_dX:
            return None
        dX = (_rows(dZ_x) @ self.params["W"].T).reshape(time, batch, features)  # dX = dZ W.T
        return dX.transpose(1, 0, 2)

    def recurrent_grad(self, dZ_h):
        np.matmul(_rows(self.cache["H"][:-1]).T, _rows(dZ_h), out=self.grads["U"])

    def bias_grad(self, dZ_x, dZ_h):
        column_sum(_rows(dZ_x), out=self.grads["b"])

    def get_config(self):
        config = {**super().get_config(), "units": self.units}
        if self.return_sequences:
            config["return_sequences"] = True
        for key, default in (("kernel_initializer", "glorot_uniform"),
                             ("recurrent_initializer", "orthogonal"),
                             ("bias_initializer", "zeros")):
            if getattr(self, key) != default:
                config[key] = getattr(self, key)
        return config

    def __repr__(self):
        sequences = ", sequences" if self.return_sequences else ""
        return f"{type(self).__name__}({self.units}{sequences})"


class SimpleRNN(_Recurrent):
    """h_t = tanh(x_t W + h_(t-1) U + b).  W (features, units), U (units, units), b (units,).

    Backward through time: dz_t = (dh_t + dh_(t+1) carried back) * (1 - h_t^2);
    dh carried to step t-1 = dz_t U.T."""

    def run(self, XW):
        H, U, b = self.cache["H"], self.params["U"], self.params["b"]
        for t in range(XW.shape[0]):
            H[t + 1] = np.tanh(XW[t] + H[t] @ U + b)

    def run_backward(self, dH):
        H, U = self.cache["H"], self.params["U"]
        dZ = np.empty_like(dH)
        dh_next = np.zeros_like(dH[0])
        for t in reversed(range(dH.shape[0])):
            h = H[t + 1]
            dZ[t] = (dH[t] + dh_next) * (1 - h * h)
            dh_next = dZ[t] @ U.T
        return dZ, dZ


def _sigmoid(Z):
    """sigmoid(Z) = 0.5 tanh(Z / 2) + 0.5, in place on a temporary Z (np.tanh is
    vectorised; scipy's expit is ~10x slower on these small arrays)."""
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z *= 0.5
    Z += 0.5
    return Z


class LSTM(_Recurrent):
    """Long short-term memory: gates i, f, g (cell candidate), o, in Keras's order.

    W (features, 4 units), U (units, 4 units), b (4 units,); the forget bias starts at 1
    (Keras's unit_forget_bias). Keras counts 4 (features units + units^2 + units); PyTorch
    keeps two bias vectors, 4 (features units + units^2 + 2 units)."""
    gates, gate_names = 4, ("i", "f", "g", "o")
    keeps = ("X", "H", "C", "G", "TC")

    def init_bias(self, b):
        b[self.units:2 * self.units] = 1.0
        return b

    def run(self, XW):
        H, u = self.cache["H"], self.units
        time, batch, _ = XW.shape
        # All four gates with one tanh over the whole row: sigmoid(z) = 0.5 tanh(z / 2) + 0.5,
        # so the i, f, o columns are halved before (folded into XW and U) and mapped back
        # after; g is tanh(z) as it is. (scipy's expit is ~10x slower than np.tanh here.)
        half = np.full(4 * u, 0.5, XW.dtype)
        half[2 * u:3 * u] = 1.0
        shift = 1 - half                                  # 0.5 for i, f, o; 0 for g
        XW += self.params["b"]
        XW *= half
        U = self.params["U"] * half
        C = np.zeros((time + 1, batch, u), XW.dtype)            # cell states, C[:, 0] = 0
        G = np.empty((time, batch, 4 * u), XW.dtype)            # activated gates i, f, g, o
        TC = np.empty((time, batch, u), XW.dtype)               # tanh(c_t)
        self.cache.update(C=C, G=G, TC=TC)
        ig = np.empty((batch, u), XW.dtype)
        for t in range(time):
            z = G[t]
            np.matmul(H[t], U, out=z)
            z += XW[t]                                # z = (x_t W + h_(t-1) U + b) * half
            np.tanh(z, out=z)
            z *= half
            z += shift                                           # i, f, o: sigmoid; g: tanh
            i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
            c = C[t + 1]
            np.multiply(f, C[t], out=c)
            c += np.multiply(i, g, out=ig)                       # c_t = f c_(t-1) + i g
            np.tanh(c, out=TC[t])
            np.multiply(o, TC[t], out=H[t + 1])            # h_t = o tanh(c_t)

    def run_backward(self, dH):
        U, u = self.params["U"], self.units
        G, TC, C = self.cache["G"], self.cache["TC"], self.cache["C"]
        i, f, g, o = G[..., :u], G[..., u:2 * u], G[..., 2 * u:3 * u], G[..., 3 * u:]
        slope = G * (1 - G)                                   # sigmoid' of i, f, o
        # every factor that does not depend on dh, for all steps at once:
        through_c = o * (1 - TC * TC)                         # dc/dh  (h = o tanh(c))
        gate_c = np.concatenate([g * slope[..., :u],          # dz_i / dc
                                 C[:-1] * slope[..., u:2 * u],  # dz_f / dc
                                 i * (1 - g * g)], axis=-1)   # dz_g / dc
        gate_o = TC * slope[..., 3 * u:]                      # dz_o / dh
        time, batch, _ = dH.shape
        UT = np.ascontiguousarray(U.T)                        # (a transposed view is slower)
        dZ = np.empty((time, batch, 4 * u), dH.dtype)
        dh_next = np.zeros((batch, u), dH.dtype)
        dc_next = np.zeros((batch, u), dH.dtype)
        for t in reversed(range(time)):
            dh = dH[t] + dh_next
            dc = dh * through_c[t]
            dc += dc_next
            dz = dZ[t]
            np.multiply(gate_c[t].reshape(batch, 3, u), dc[:, None, :],
                        out=dz[:, :3 * u].reshape(batch, 3, u))     # di, df, dg through z
            np.multiply(dh, gate_o[t], out=dz[:, 3 * u:])           # do through z
            dc_next = dc * f[t]
            dh_next = dz @ UT
        return dZ, dZ


class GRU(_Recurrent):
    """Gated recurrent unit with gates z (update), r (reset) and n (candidate), as Keras.

    reset_after=True (Keras's default, and PyTorch's GRU): the reset gate scales h U
        n = tanh(x W_n + b_x,n + r * (h U_n + b_h,n)),  b (2, 3 units): row 0 added to
        x W, row 1 to h U (PyTorch's b_ih and b_hh); 3 (features units + units^2 +
        2 units) parameters, in Keras and PyTorch alike.
    reset_after=False (the original GRU): the reset gate scales h before U
        n = tanh(x W_n + (r * h) U_n + b_n),  b (3 units,) added to x W.
    Both: z, r = sigmoid(x W_zr + h U_zr (+ b)),  h_t = z h_(t-1) + (1 - z) n.
    Backward (reset_after=False): d(r h) = dn U_n^T, dr = d(r h) h r (1 - r),
        dU_n = (r h)^T dn, and dh_(t-1) gains d(r h) r."""
    gates, gate_names = 3, ("z", "r", "n")
    keeps = ("X", "H", "Gates", "HU")

    def __init__(self, units, *, reset_after=True, **options):
        super().__init__(units, **options)
        self.reset_after = flag(reset_after, "reset_after", "GRU")

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def run(self, XW):
        H, U, b, u = self.cache["H"], self.params["U"], self.params["b"], self.units
        time, batch, _ = XW.shape
        XW = XW + (b[0] if self.reset_after else b)
        Gates = np.empty((time, batch, 3 * u), XW.dtype)          # z, r, n activated
        HU = np.empty((time, batch, 3 * u), XW.dtype)  # h U + b_h; or h U_zr and r h
        self.cache.update(Gates=Gates, HU=HU)
        for t in range(time):
            hu, gates = HU[t], Gates[t]
            if self.reset_after:
                np.matmul(H[t], U, out=hu)
                hu += b[1]
            else:
                np.matmul(H[t], U[:, :2 * u], out=hu[:, :2 * u])
            gates[:, :2 * u] = _sigmoid(XW[t][:, :2 * u] + hu[:, :2 * u])        # z, r
            r = gates[:, u:2 * u]
            if self.reset_after:
                gates[:, 2 * u:] = np.tanh(XW[t][:, 2 * u:] + r * hu[:, 2 * u:])  # n
            else:
                np.multiply(r, H[t], out=hu[:, 2 * u:])                      # r h
                gates[:, 2 * u:] = np.tanh(XW[t][:, 2 * u:] + hu[:, 2 * u:] @ U[:, 2 * u:])
            z, n = gates[:, :u], gates[:, 2 * u:]
            H[t + 1] = z * H[t] + (1 - z) * n

    def run_backward(self, dH):
        U, u = self.params["U"], self.units
        time, batch, _ = dH.shape
        dZ_x = np.empty((time, batch, 3 * u), dH.dtype)
        dZ_h = np.empty((time, batch, 3 * u), dH.dtype)
        dh_next = np.zeros((batch, u), dH.dtype)
        UT = np.ascontiguousarray(U.T)
        UT_zr, UT_n = UT[:2 * u], UT[2 * u:]
        H, Gates, HU = self.cache["H"], self.cache["Gates"], self.cache["HU"]
        for t in reversed(range(time)):
            gates = Gates[t]
            z, r, n = gates[:, :u], gates[:, u:2 * u], gates[:, 2 * u:]
            h_prev = H[t]
            dh = dH[t] + dh_next
            dn = dh * (1 - z) * (1 - n * n)                          # through tanh
            dz = dh * (h_prev - n) * z * (1 - z)
            if self.reset_after:
                dr = dn * HU[t][:, 2 * u:] * r * (1 - r)
                dZ_h[t, :, 2 * u:] = dn * r
            else:
                d_rh = dn @ UT_n                                     # through (r h) U_n
                dr = d_rh * h_prev * r * (1 - r)
                dZ_h[t, :, 2 * u:] = dn
            dZ_x[t, :, :u], dZ_x[t, :, u:2 * u], dZ_x[t, :, 2 * u:] = dz, dr, dn
            dZ_h[t, :, :u], dZ_h[t, :, u:2 * u] = dz, dr
            if self.reset_after:
                dh_next = dh * z + dZ_h[t] @ UT
            else:
                dh_next = dh * z + dZ_h[t, :, :2 * u] @ UT_zr + d_rh * r
        return dZ_x, dZ_h

    def recurrent_grad(self, dZ_h):
        if self.reset_after:
            return super().recurrent_grad(dZ_h)
        u, H, HU = self.units, self.cache["H"], self.cache["HU"]
        dU = self.grads["U"]
        dU[:, :2 * u] = _rows(H[:-1]).T @ _rows(dZ_h[..., :2 * u])          # dU_zr = H^T dZ
        dU[:, 2 * u:] = _rows(HU[..., 2 * u:]).T @ _rows(dZ_h[..., 2 * u:])  # dU_n = (r h)^T dn

    def bias_grad(self, dZ_x, dZ_h):
        if not self.reset_after:
            return super().bias_grad(dZ_x, dZ_h)
        column_sum(_rows(dZ_x), out=self.grads["b"][0])
        column_sum(_rows(dZ_h), out=self.grads["b"][1])

    def get_config(self):
        config = super().get_config()
        if not self.reset_after:
            config["reset_after"] = False
        return config


MERGE_MODES = ("concat", "sum", "ave", "mul")


class Bidirectional(Composite):
    """A recurrent layer run both ways, as Keras's Bidirectional: one copy reads the
    sequence forwards, a second copy (its own weights, the same options) reads it
    backwards, and their outputs are merged.

    Shapes: (batch, time, features) -> (batch, [time,] 2 units) for merge_mode='concat'
    (the forward layer's units first), (batch, [time,] units) for 'sum', 'ave', 'mul'.
    With return_sequences, step t of the backward output is the backward layer's state
    after reading steps T-1 .. t (reversed back into time order); without, it is its
    final state (after reading back to step 0) -- PyTorch's h_n[-1] of a bidirectional
    layer. Backward: each copy's backward on its part of dY (reversed in time for the
    backward copy); dX = dX_forward + dX_backward reversed.

    Its params are the two copies', named '1.W' (forward), '2.W' (backward), ...

    Example:
        >>> Bidirectional(LSTM(8, return_sequences=True)).output_shape((None, 5, 3))
        (None, 5, 16)
    """
    keeps = ("Y_forward", "Y_backward")
    input_ndim, input_describe = 3, "sequences of shape (batch, time, features)"

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **options):
        super().__init__(**options)
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"Bidirectional: expected a SimpleRNN, LSTM or GRU layer, got "
                            f"{layer!r}.")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of "
                             f"{', '.join(MERGE_MODES)}, got {merge_mode!r}.")
        if backward_layer is None:
            config = {k: v for k, v in layer.get_config().items() if k not in ("type", "name")}
            backward_layer = type(layer)(**config)
        if type(backward_layer) is not type(layer) or \
                backward_layer.return_sequences != layer.return_sequences or \
                backward_layer.units != layer.units:
            raise ValueError(f"Bidirectional: backward_layer {backward_layer!r} must be the "
                             f"same kind of layer as {layer!r}, with the same units and "
                             f"return_sequences.")
        self.forward_layer, self.backward_layer = layer, backward_layer
        self.merge_mode = merge_mode
        self.layers = [layer, backward_layer]

    @classmethod
    def from_config(cls, options, build):
        layer = build(options.pop("layer"), "Bidirectional layer")
        backward = options.pop("backward_layer", None)
        if backward is not None:
            backward = build(backward, "Bidirectional backward_layer")
        return cls(layer, backward_layer=backward, **options)

    def sublayers(self):
        return list(self.layers)

    def output_shape(self, in_shape):
        self.check_input_shape(in_shape)
        for i, layer in enumerate(self.layers, 1):
            layer.position = f"{self.position}.{i}" if self.position else None
        out = self.forward_layer.output_shape(in_shape)
        return (*out[:-1], 2 * out[-1]) if self.merge_mode == "concat" else out

    def param_shapes(self, in_shape):
        return {f"{i}.{k}": s for i, layer in enumerate(self.layers, 1)
                for k, s in layer.param_shapes(in_shape).items()}

    def ops(self, in_shape):
        ops = [op for layer in self.layers for op in layer.ops(in_shape)]
        shape = self.output_shape(in_shape)
        part = self.forward_layer.output_shape(in_shape)
        return ops + [Op(a_shape=part, in_shapes=(part, part), shape=shape,
                         text=f"{self.merge_mode}(H_forward, H_backward)",
                         backward_text="dH_forward, dH_backward = split(dY)", stored=0,
                         note_text="the backward layer reads the sequence reversed")]

    def build(self, in_shape, rng=None, dtype=np.float32):
        for layer in self.layers:
            layer.build(in_shape, rng, dtype)
        self.built = True
        return self.output_shape(in_shape)

    def forward(self, X, training=False):
        Y_f = self.forward_layer.forward(X, training)
        Y_b = self.backward_layer.forward(X[:, ::-1], training)
        if self.forward_layer.return_sequences:
            Y_b = Y_b[:, ::-1]
        self.cache.update(Y_forward=Y_f, Y_backward=Y_b)
        if self.merge_mode == "concat":
            return np.concatenate([Y_f, Y_b], axis=-1)
        if self.merge_mode == "sum":
            return Y_f + Y_b
        if self.merge_mode == "ave":
            return (Y_f + Y_b) * 0.5
        return Y_f * Y_b

    def backward(self, dY):
        Y_f, Y_b = self.cache["Y_forward"], self.cache["Y_backward"]
        if self.merge_mode == "concat":
            u = Y_f.shape[-1]
            dY_f, dY_b = dY[..., :u], dY[..., u:]
        elif self.merge_mode == "sum":
            dY_f = dY_b = dY
        elif self.merge_mode == "ave":
            dY_f = dY_b = dY * 0.5
        else:
            dY_f, dY_b = dY * Y_b, dY * Y_f
        sequences = self.forward_layer.return_sequences
        for layer in self.layers:
            layer.need_dX = self.need_dX
        dX_f = self.forward_layer.backward(np.ascontiguousarray(dY_f))
        dX_b = self.backward_layer.backward(np.ascontiguousarray(dY_b[:, ::-1] if sequences
                                                                 else dY_b))
        return None if dX_f is None else dX_f + dX_b[:, ::-1]

    def get_config(self):
        config = {**super().get_config(), "layer": self.forward_layer.get_config()}
        if self.merge_mode != "concat":
            config["merge_mode"] = self.merge_mode
        return config

    def __repr__(self):
        return f"Bidirectional({self.forward_layer!r})"
