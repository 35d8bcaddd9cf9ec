"""Sequences: Embedding, LayerNorm, and the recurrent layers SimpleRNN, LSTM and GRU,
each written as batched matrix products with backpropagation through time (BPTT).

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

from . import initializers
from .errors import ShapeError, describe_shape
from .layers import GlobalAverage, _check_positive_int, column_sum, where


def _check_sequence(layer, in_shape):
    if len(in_shape) != 3:
        raise ShapeError(f"{where(layer)} expects sequences of shape (batch, time, features) "
                         f"but received {describe_shape(in_shape)}.")


def _rows(A):
    return A.reshape(-1, A.shape[-1])


class _Recurrent:
    """What SimpleRNN, LSTM and GRU share: shapes, parameters, configuration."""
    gates, gate_names = 1, ("h",)

    def __init__(self, units, return_sequences=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros"):
        name = type(self).__name__
        self.units = _check_positive_int(units, "units", name)
        self.return_sequences = bool(return_sequences)
        for init in (kernel_initializer, recurrent_initializer, bias_initializer):
            initializers.get(init, f"{name}({self.units})")
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None

    def output_shape(self, in_shape):
        _check_sequence(self, in_shape)
        return (in_shape[0], in_shape[1], self.units) if self.return_sequences \
            else (in_shape[0], self.units)

    def param_shapes(self, in_shape):
        width = self.gates * self.units
        return {"W": (in_shape[-1], width), "U": (self.units, width), "b": self.bias_shape()}

    def bias_shape(self):
        return (self.gates * self.units,)

    def build(self, in_shape, rng, dtype=np.float32):
        out = self.output_shape(in_shape)
        shapes = self.param_shapes(in_shape)
        u = self.units
        self.params = {
            "W": initializers.get(self.kernel_initializer)(shapes["W"], rng, dtype),
            # one orthogonal (u, u) block per gate, as Keras
            "U": np.concatenate([initializers.get(self.recurrent_initializer)((u, u), rng,
                                                                                dtype)
                                 for _ in range(self.gates)], axis=1),
            "b": initializers.get(self.bias_initializer)(shapes["b"], rng, dtype)}
        self.init_bias()
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return out

    def init_bias(self):
        pass

    def ops(self, in_shape):
        _check_sequence(self, in_shape)
        batch, time, features = in_shape
        width = self.gates * self.units
        gates = "gates " + ", ".join(self.gate_names) if self.gates > 1 else "pre-activation"
        return [{"op": "matmul", "out": "XW", "a": "X", "b": "W", "a_shape": tuple(in_shape),
                 "b_shape": (features, width), "shape": (batch, time, width), "stored": 1},
                {"op": "matmul", "out": "HU", "a": "H", "b": "U",
                 "a_shape": (batch, time, self.units), "b_shape": (self.units, width),
                 "shape": (batch, time, width), "stored": self.gates + 1,
                 "note": f"step by step: h_(t-1) @ U for t = 1..{time}; {gates}"},
                {"op": "recurrence", "out": "H", "a": "XW + HU", "cell": type(self).__name__,
                 "shape": self.output_shape(in_shape), "stored": 0}]

    def forward(self, X, training=False):
        if X.ndim != 3 or X.shape[2] != self.params["W"].shape[0]:
            _check_sequence(self, X.shape)
            raise ShapeError(f"{where(self)} expects {self.params['W'].shape[0]} features per "
                             f"step but received {describe_shape(X.shape)}.")
        batch, time, _ = X.shape
        self.X = np.ascontiguousarray(X.transpose(1, 0, 2))     # time-major: X[t] contiguous
        XW = (_rows(self.X) @ self.params["W"]).reshape(time, batch, -1)   # all steps at once
        self.H = np.zeros((time + 1, batch, self.units), X.dtype)           # H[0] = h_0 = 0
        self.run(XW)
        return self.H[1:].transpose(1, 0, 2).copy() if self.return_sequences \
            else self.H[-1].copy()

    def backward(self, dY, need_dX=True):
        time, batch, features = self.X.shape
        if self.return_sequences:
            dH = np.ascontiguousarray(dY.transpose(1, 0, 2))
        else:
            dH = np.zeros((time, batch, self.units), dY.dtype)
            dH[-1] = dY
        dZ_x, dZ_h = self.run_backward(dH)             # (time, batch, gates * units) each
        np.matmul(_rows(self.X).T, _rows(dZ_x), out=self.grads["W"])          # dW = X.T dZ
        np.matmul(_rows(self.H[:-1]).T, _rows(dZ_h), out=self.grads["U"])     # dU = H.T dZ
        self.bias_grad(dZ_x, dZ_h)
        if not need_dX:
            return None
        dX = (_rows(dZ_x) @ self.params["W"].T).reshape(time, batch, features)  # dX = dZ W.T
        return dX.transpose(1, 0, 2)

    def bias_grad(self, dZ_x, dZ_h):
        column_sum(_rows(dZ_x), out=self.grads["b"])

    def get_config(self):
        config = {"type": type(self).__name__, "units": self.units}
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
        H, U, b = self.H, self.params["U"], self.params["b"]
        for t in range(XW.shape[0]):
            H[t + 1] = np.tanh(XW[t] + H[t] @ U + b)

    def run_backward(self, dH):
        H, U = self.H, self.params["U"]
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

    def init_bias(self):
        self.params["b"][self.units:2 * self.units] = 1.0

    def run(self, XW):
        H, u = self.H, self.units
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
        self.C = np.zeros((time + 1, batch, u), XW.dtype)       # cell states, C[:, 0] = 0
        self.G = np.empty((time, batch, 4 * u), XW.dtype)       # activated gates i, f, g, o
        self.TC = np.empty((time, batch, u), XW.dtype)          # tanh(c_t)
        ig = np.empty((batch, u), XW.dtype)
        for t in range(time):
            z = self.G[t]
            np.matmul(H[t], U, out=z)
            z += XW[t]                                # z = (x_t W + h_(t-1) U + b) * half
            np.tanh(z, out=z)
            z *= half
            z += shift                                           # i, f, o: sigmoid; g: tanh
            i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
            c = self.C[t + 1]
            np.multiply(f, self.C[t], out=c)
            c += np.multiply(i, g, out=ig)                       # c_t = f c_(t-1) + i g
            np.tanh(c, out=self.TC[t])
            np.multiply(o, self.TC[t], out=H[t + 1])       # h_t = o tanh(c_t)

    def run_backward(self, dH):
        U, u = self.params["U"], self.units
        G, TC, C = self.G, self.TC, self.C
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
    """Gated recurrent unit, Keras's default reset_after=True: gates z, r, n.

    W (features, 3 units), U (units, 3 units), b (2, 3 units): row 0 is added to x W,
    row 1 to h U (PyTorch's b_ih and b_hh). Keras and PyTorch both count
    3 (features units + units^2 + 2 units)."""
    gates, gate_names = 3, ("z", "r", "n")

    def bias_shape(self):
        return (2, 3 * self.units)

    def run(self, XW):
        H, U, b, u = self.H, self.params["U"], self.params["b"], self.units
        time, batch, _ = XW.shape
        XW = XW + b[0]
        self.Gates = np.empty((time, batch, 3 * u), XW.dtype)     # z, r, n activated
        self.HU = np.empty((time, batch, 3 * u), XW.dtype)        # h_(t-1) U + b_h
        for t in range(time):
            hu = self.HU[t]
            np.matmul(H[t], U, out=hu)
            hu += b[1]
            gates = self.Gates[t]
            gates[:, :2 * u] = _sigmoid(XW[t][:, :2 * u] + hu[:, :2 * u])        # z, r
            r = gates[:, u:2 * u]
            gates[:, 2 * u:] = np.tanh(XW[t][:, 2 * u:] + r * hu[:, 2 * u:])     # n
            z, n = gates[:, :u], gates[:, 2 * u:]
            H[t + 1] = z * H[t] + (1 - z) * n

    def run_backward(self, dH):
        U, u = self.params["U"], self.units
        time, batch, _ = dH.shape
        dZ_x = np.empty((time, batch, 3 * u), dH.dtype)
        dZ_h = np.empty((time, batch, 3 * u), dH.dtype)
        dh_next = np.zeros((batch, u), dH.dtype)
        UT = np.ascontiguousarray(U.T)
        for t in reversed(range(time)):
            gates = self.Gates[t]
            z, r, n = gates[:, :u], gates[:, u:2 * u], gates[:, 2 * u:]
            h_prev, hu_n = self.H[t], self.HU[t][:, 2 * u:]
            dh = dH[t] + dh_next
            dn = dh * (1 - z) * (1 - n * n)                          # through tanh
            dz = dh * (h_prev - n) * z * (1 - z)
            dr = dn * hu_n * r * (1 - r)
            dZ_x[t, :, :u], dZ_x[t, :, u:2 * u], dZ_x[t, :, 2 * u:] = dz, dr, dn
            dZ_h[t, :, :u], dZ_h[t, :, u:2 * u], dZ_h[t, :, 2 * u:] = dz, dr, dn * r
            dh_next = dh * z + dZ_h[t] @ UT
        return dZ_x, dZ_h

    def bias_grad(self, dZ_x, dZ_h):
        column_sum(_rows(dZ_x), out=self.grads["b"][0])
        column_sum(_rows(dZ_h), out=self.grads["b"][1])


class Embedding:
    """A lookup table: integer tokens (batch, time) -> vectors (batch, time, output_dim).

    Y = E[X], the rows of E picked by the tokens (the same as one-hot(X) @ E).
    Backward: dE[k] = the sum of dY over every position holding token k; no dX (the
    input is integers)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform"):
        self.input_dim = _check_positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = _check_positive_int(output_dim, "output_dim", "Embedding")
        initializers.get(embeddings_initializer, "Embedding")
        self.embeddings_initializer = embeddings_initializer
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None

    def output_shape(self, in_shape):
        return (*in_shape, self.output_dim)

    def param_shapes(self, in_shape):
        return {"E": (self.input_dim, self.output_dim)}

    def ops(self, in_shape):
        return [{"op": "lookup", "out": "Y", "a": "X", "b": "E", "a_shape": tuple(in_shape),
                 "b_shape": (self.input_dim, self.output_dim),
                 "shape": self.output_shape(in_shape), "stored": 1}]

    def build(self, in_shape, rng, dtype=np.float32):
        self.params = {"E": initializers.get(self.embeddings_initializer)(
            (self.input_dim, self.output_dim), rng, dtype)}
        self.grads = {"E": np.zeros_like(self.params["E"])}
        return self.output_shape(in_shape)

    def forward(self, X, training=False):
        tokens = np.asarray(X)
        if tokens.dtype.kind == "f":
            if not np.all(tokens == np.round(tokens)):
                raise ValueError(f"{where(self)} expects integer token ids but received "
                                 f"fractional values.")
            tokens = tokens.astype(np.int64)
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.input_dim):
            raise ValueError(f"{where(self)} has {self.input_dim} rows, so token ids must be in "
                             f"[0, {self.input_dim - 1}], but they range over "
                             f"[{tokens.min()}, {tokens.max()}]. Build it with "
                             f"input_dim={int(tokens.max()) + 1} or remap the tokens.")
        self.tokens = tokens
        return self.params["E"][tokens]

    def backward(self, dY, need_dX=True):
        dE = self.grads["E"]
        dE[...] = 0
        np.add.at(dE, self.tokens.ravel(), _rows(dY))
        return None

    def get_config(self):
        config = {"type": "Embedding", "input_dim": self.input_dim,
                  "output_dim": self.output_dim}
        if self.embeddings_initializer != "uniform":
            config["embeddings_initializer"] = self.embeddings_initializer
        return config

    def __repr__(self):
        return f"Embedding({self.input_dim}, {self.output_dim})"


class LayerNorm:
    """Normalises each sample's features (the last axis), then scales and shifts:

        X_hat = (X - mean) / sqrt(var + epsilon)   (mean, var over the last axis)
        Y = gamma * X_hat + beta                   gamma, beta (features,)
    Backward (D = features):
        dgamma = (dY * X_hat) summed over all but the last axis; dbeta = dY summed likewise
        dX = (D dX_hat - sum(dX_hat) - X_hat sum(dX_hat * X_hat)) / (D sqrt(var + eps)),
        sums over the last axis, dX_hat = dY * gamma.
    Same at training and inference; epsilon 1e-3 as Keras (PyTorch uses 1e-5)."""

    def __init__(self, epsilon=1e-3):
        if not epsilon > 0:
            raise ValueError(f"LayerNorm: epsilon must be > 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.params, self.grads, self.state = {}, {}, {}
        self.position = None

    def output_shape(self, in_shape):
        return tuple(in_shape)

    def param_shapes(self, in_shape):
        return {"gamma": (in_shape[-1],), "beta": (in_shape[-1],)}

    def ops(self, in_shape):
        shape = tuple(in_shape)
        return [{"op": "normalize", "axis": "features", "out": "X_hat", "a": "X",
                 "shape": shape, "stored": 1},
                {"op": "scale_shift", "out": "Y", "a": "X_hat", "b": "gamma, beta",
                 "b_shape": (shape[-1],), "shape": shape, "stored": 1}]

    def build(self, in_shape, rng=None, dtype=np.float32):
        features = in_shape[-1]
        self.params = {"gamma": np.ones(features, dtype), "beta": np.zeros(features, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return tuple(in_shape)

    def forward(self, X, training=False):
        mu = X.mean(axis=-1, keepdims=True)
        var = X.var(axis=-1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + self.epsilon)
        self.X_hat = (X - mu) * self.inv_std
        return self.X_hat * self.params["gamma"] + self.params["beta"]

    def backward(self, dY, need_dX=True):
        X_hat = self.X_hat
        column_sum(_rows(dY * X_hat), out=self.grads["gamma"])
        column_sum(_rows(dY), out=self.grads["beta"])
        if not need_dX:
            return None
        d = X_hat.shape[-1]
        dX_hat = dY * self.params["gamma"]
        return (d * dX_hat - dX_hat.sum(axis=-1, keepdims=True)
                - X_hat * (dX_hat * X_hat).sum(axis=-1, keepdims=True)) * (self.inv_std / d)

    def get_config(self):
        return {"type": "LayerNorm", "epsilon": self.epsilon}

    def __repr__(self):
        return "LayerNorm()"


class GlobalAveragePooling1D(GlobalAverage):
    """The mean over time: (batch, time, features) -> (batch, features);
    backward: dX = dY / time at every step."""
    axes = (1,)

    def _check(self, shape):
        _check_sequence(self, shape)


LayerNormalization = LayerNorm
