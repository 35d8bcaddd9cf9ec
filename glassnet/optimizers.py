"""Optimisers: update every parameter from its gradient, in place.

An optimiser works on two flat arrays, ``params`` and ``grads`` (a model keeps all
its parameters as views into one buffer, so one optimiser step is a handful of
vectorised passes). The formulas are PyTorch's, so one step matches it to rounding:

    L2 weight decay (SGD, RMSprop, Adam): g = g + weight_decay * p   (PyTorch's meaning;
              Keras 3 decays the weights directly -- AdamW here. A deliberate difference:
              for SGD without momentum the two are the same step.)
    SGD:      buf = momentum * buf + g;  d = g + momentum * buf (Nesterov) or buf;  p -= lr d
    RMSprop:  s = rho s + (1 - rho) g^2;  p -= lr g / (sqrt(s) + eps)
    Adam:     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
              p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
              amsgrad=True: v_max = max(v_max, v), and v_max takes v's place in the step.
    AdamW:    p *= 1 - lr * weight_decay (decoupled), then the Adam step.
    Adagrad:  a = a + g^2 (a starts at initial_accumulator_value);  p -= lr g / sqrt(a + eps)
              (Keras's formula; weight_decay is L2 here too, as PyTorch's Adagrad)

Gradient clipping, at most one of (as Keras), before the weight decay:
    clipnorm:        each tensor's gradient on its own: g *= c / ||g|| where ||g|| > c (Keras)
    clipvalue:       each number: g = clip(g, -c, c) (Keras)
    global_clipnorm: all gradients together: if ||g|| > c, g *= c / (||g|| + 1e-6)
                     (``torch.nn.utils.clip_grad_norm_``; Keras divides by ||g|| alone)
``learning_rate`` may be a number or a schedule (``glassnet.schedules``).

Each update is written twice: here as NumPy passes over the whole flat buffer (the
reference, always available), and in ``glassnet.kernels`` as one fused loop compiled by
numba that runs on every core -- opt-in: used when numba is installed (``pip install
glassnet[fast]``), the environment variable ``GLASSNET_FAST=1`` asks for it, the buffer
holds at least ``MIN_FAST_SIZE`` numbers and ``optimizer.fast`` is True. (On the 2-core
machine a whole step measured slower with it at batch 1 and 128: docs/speed.md.)
Both give the same parameters to float32 rounding (tests/test_fast_paths.py).
"""
import math
import os

import numpy as np

from . import config as config_module
from . import schedules

FLUSH_EVERY = 64          # steps between flushes of subnormal optimiser state (see below)
MIN_FAST_SIZE = 16384     # smaller buffers take the NumPy passes (a parallel launch costs more)


def _number(value, what, owner, low, high=None, low_open=False, high_open=True):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value):
        raise TypeError(f"{owner}: {what} must be a number, got {value!r}.")
    too_low = value <= low if low_open else value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = "" if high is None else (f", {high})" if high_open else f", {high}]")
        interval = f"{left}{low}{right}" if high is not None else \
            (f"> {low}" if low_open else f">= {low}")
        raise ValueError(f"{owner}: {what} must be in {interval}, got {value!r}.")
    return float(value)


KERAS_RENAMED = {"decay": "a schedule: learning_rate="
                 "glassnet.schedules.ExponentialDecay(...)", "lr": "learning_rate"}


def tensor_sizes(sizes, total, owner):
    """The sizes of the tensors in a flat buffer of ``total`` numbers (None: one tensor)."""
    if sizes is None:
        return (total,)
    sizes = tuple(int(n) for n in sizes)
    if sum(sizes) != total or any(n < 0 for n in sizes):
        raise ValueError(f"{owner}.step: sizes {sizes} must be >= 0 and add up to the "
                         f"{total} numbers of the flat buffer.")
    return sizes


class Optimizer:
    """What every optimiser shares: learning rate (or schedule), L2 decay, clipping."""
    decoupled_weight_decay = False

    fast = True                   # False: always the NumPy reference (see glassnet.kernels)

    def __init__(self, learning_rate, weight_decay=0.0, global_clipnorm=None, *, clipnorm=None,
                 clipvalue=None, **unknown):
        owner = type(self).__name__
        for name, value in unknown.items():
            if name == "lr":
                raise TypeError(f"{owner}: no option 'lr'; Keras 3 and glassnet call it "
                                f"learning_rate: {owner}(learning_rate={value!r}).")
            hint = KERAS_RENAMED.get(name)
            raise TypeError(f"{owner}: no option {name!r}. " + (
                f"Use {hint}." if hint else
                f"Its options are: {', '.join(config_module.accepted_options(type(self)))}."))
        if callable(learning_rate):
            self.learning_rate = learning_rate
        else:
            if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool) \
                    and learning_rate <= 0:
                raise ValueError(f"{owner}: learning_rate must be > 0, got {learning_rate!r}. "
                                 f"Typical values are 1e-3 for Adam and 1e-2 for SGD.")
            self.learning_rate = _number(learning_rate, "learning_rate", owner, 0, low_open=True)
        self.weight_decay = _number(weight_decay, "weight_decay", owner, 0)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue,
                 "global_clipnorm": global_clipnorm}
        if sum(value is not None for value in clips.values()) > 1:
            raise ValueError(f"{owner}: give at most one of clipnorm, clipvalue and "
                             f"global_clipnorm (as Keras), got " + ", ".join(
                                 f"{k}={v!r}" for k, v in clips.items() if v is not None)
                             + ".")
        for name, value in clips.items():
            setattr(self, name, None if value is None else
                    _number(value, name, owner, 0, low_open=True))
        self.iterations = 0
        self.state = {}
        self.before = {}          # each slot's values before the last step (see undo)
        self.undoable = False
        self._scratch = None

    def current_learning_rate(self):
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    def slots(self):
        """Names of the per-parameter state arrays this optimiser keeps."""
        return []

    def _slot(self, name, like):
        if name not in self.state:
            self.state[name] = np.full_like(like, self.initial_value(name))
        return self.state[name]

    def initial_value(self, name):
        """What slot ``name`` holds before the first step."""
        return 0

    def _next_slot(self, name, like):
        """(the slot's values now, the array to write its new values into). A slot has
        two buffers that take turns, so the values from before the last step stay
        available for ``undo`` without a copy: the update reads one and writes the
        other, as many passes as updating in place."""
        now = self._slot(name, like)
        spare = self.before.get(name)
        if spare is None or spare.shape != now.shape or spare.dtype != now.dtype:
            spare = np.empty_like(now)
        self.before[name], self.state[name] = now, spare
        return now, spare

    def undo(self):
        """Put the state back as it was before the last step (one step only; ``commit``
        forgets it). Returns whether there was a step to undo."""
        if not self.undoable:
            return False
        for name in self.state:
            self.state[name], self.before[name] = self.before[name], self.state[name]
        self.iterations -= 1
        self.undoable = False
        return True

    def commit(self):
        """Forget the step ``undo`` would take back."""
        self.undoable = False

    def reset(self):
        """Forget every slot (a new set of parameters): the next step starts afresh."""
        self.state.clear()
        self.before.clear()
        self.undoable = False

    def step(self, params, grads, sizes=None):
        """One update of the flat ``params`` from the flat ``grads`` (both 1-D).
        ``sizes``: the sizes of the tensors the buffers hold, in order (``clipnorm``
        clips each one's norm); None counts the whole buffer as one tensor."""
        if np.shape(grads) != np.shape(params):
            raise ValueError(f"{type(self).__name__}.step: grads has shape "
                             f"{np.shape(grads)} but params has {np.shape(params)}; give one "
                             f"gradient per parameter.")
        if self._scratch is None or self._scratch.shape != params.shape \
                or self._scratch.dtype != params.dtype:
            self._scratch = np.empty_like(params)
            self._grad = np.empty_like(params)
        g, scale = self._clip(grads, sizes)
        decay = 0.0 if self.decoupled_weight_decay else self.weight_decay
        lr = self.current_learning_rate()
        self.iterations += 1
        kernels = self._kernels(params, g)
        if kernels is not None:                        # one fused pass (glassnet.kernels)
            self._fused(kernels, params, g, scale, decay, lr)
        else:                                          # the NumPy reference
            if scale != 1:
                g = np.multiply(g, scale, out=self._grad)
            if decay:
                g = np.add(g, decay * params, out=self._grad)   # g = g + wd p
            self._update(params, g, lr, self._scratch)
        self.undoable = True
        if self.iterations % FLUSH_EVERY == 0:
            self._flush_subnormals()

    def _clip(self, grads, sizes):
        """(gradient, scale): clipnorm and clipvalue write a clipped copy; global_clipnorm
        returns the factor to multiply by (fused into the update)."""
        if self.clipvalue is not None:
            return np.clip(grads, -self.clipvalue, self.clipvalue, out=self._grad), 1.0
        if self.clipnorm is not None:
            g = self._grad
            np.copyto(g, grads)
            start = 0
            for size in tensor_sizes(sizes, g.size, type(self).__name__):
                piece = g[start:start + size]
                start += size
                norm = math.sqrt(float(np.dot(piece, piece)))
                if norm > self.clipnorm:
                    piece *= self.clipnorm / norm               # g *= c / ||g||
            return g, 1.0
        if self.global_clipnorm is not None:
            norm = math.sqrt(float(np.dot(grads, grads)))
            if norm > self.global_clipnorm:
                return grads, self.global_clipnorm / (norm + 1e-6)
        return grads, 1.0

    def _fused(self, kernels, p, g, scale, decay, lr):
        """The update as one compiled loop (glassnet.kernels); the same formulas as
        ``_update``, which stays the reference."""
        raise NotImplementedError

    def _optional_slot(self, name, p, used):
        """(before, now) of a slot the update may not use (an empty pair when unused)."""
        return self._next_slot(name, p) if used else (p[:0], p[:0])

    def _kernels(self, params, grads):
        """glassnet.kernels when the fused pass applies to these buffers (flat, of one
        float dtype, MIN_FAST_SIZE numbers or more), else None."""
        if not self.fast or params.size < MIN_FAST_SIZE or params.ndim != 1 \
                or params.dtype.kind != "f" or grads.dtype != params.dtype \
                or os.environ.get("GLASSNET_FAST") != "1":
            return None
        # numba loads on the first such step, never on import glassnet
        from . import kernels
        return kernels if kernels.numba is not None else None

    def _flush_subnormals(self):
        """Set state values too small to be normal floats (|x| < 1.2e-38 in float32) to 0.
        A slot that only decays -- Adam's m for a dead ReLU unit, m = 0.9 m at every step --
        sinks into subnormal numbers after a few hundred steps, and x86 CPUs compute on
        those many times slower (an MLP's Adam step went from 0.8 to 3.6 ms). Their share
        of any update is below 1e-30, so flushing them changes nothing else."""
        for a in self.state.values():
            np.abs(a, out=self._scratch)
            np.putmask(a, self._scratch < np.finfo(a.dtype).tiny, 0)

    def get_config(self):
        lr = self.learning_rate
        config = {"type": type(self).__name__,
                  "learning_rate": lr.get_config() if callable(lr) else lr,
                  "weight_decay": self.weight_decay}
        for name in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, name) is not None:
                config[name] = getattr(self, name)
        return config


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""
    # Off by default: SGD's four NumPy passes measured faster than its compiled loop
    # (0.37 vs 0.53 ms for 235k float32 parameters, benchmarks/bench_optimizer.py);
    # ``optimizer.fast = True`` uses the loop (tests/test_fast_paths.py checks it).
    fast = False

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0,
                 global_clipnorm=None, **unknown):
        super().__init__(learning_rate, weight_decay, global_clipnorm, **unknown)
        self.momentum = _number(momentum, "momentum", "SGD", 0, 1)
        if nesterov and not self.momentum:
            raise ValueError("SGD: nesterov=True needs momentum > 0, for example momentum=0.9.")
        self.nesterov = bool(nesterov)

    def slots(self):
        return ["momentum"] if self.momentum else []

    def _update(self, p, g, lr, scratch):
        if self.momentum:
            before, buf = self._next_slot("momentum", p)
            np.multiply(before, self.momentum, out=buf)
            buf += g                                            # buf = momentum buf + g
            if self.nesterov:
                np.multiply(buf, self.momentum, out=scratch)
                g = np.add(scratch, g, out=scratch)             # d = g + momentum buf
            else:
                g = buf
        np.multiply(g, lr, out=scratch)
        p -= scratch                                            # p -= lr d

    def _fused(self, kernels, p, g, scale, decay, lr):
        x = p.dtype.type
        of_buf, of_g = (self.momentum, 1) if self.nesterov else (1, 0)
        kernels.sgd(p, g, x(scale), x(decay), x(lr), x(self.momentum), x(of_buf), x(of_g),
                    *self._optional_slot("momentum", p, self.momentum))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """Divides each step by a running root-mean-square of recent gradients."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 weight_decay=0.0, global_clipnorm=None, **unknown):
        super().__init__(learning_rate, weight_decay, global_clipnorm, **unknown)
        self.rho = _number(rho, "rho", "RMSprop", 0, 1)
        self.momentum = _number(momentum, "momentum", "RMSprop", 0, 1)
        self.epsilon = _number(epsilon, "epsilon", "RMSprop", 0, low_open=True)

    def slots(self):
        return ["square_avg"] + (["momentum"] if self.momentum else [])

    def _update(self, p, g, lr, scratch):
        before, s = self._next_slot("square_avg", p)
        np.multiply(before, self.rho, out=s)
        np.square(g, out=scratch)
        scratch *= 1 - self.rho
        s += scratch                                            # s = rho s + (1 - rho) g^2
        np.sqrt(s, out=scratch)
        scratch += self.epsilon
        np.divide(g, scratch, out=scratch)                      # g / (sqrt(s) + eps)
        if self.momentum:
            before, buf = self._next_slot("momentum", p)
            np.multiply(before, self.momentum, out=buf)
            buf += scratch
            np.multiply(buf, lr, out=scratch)
        else:
            scratch *= lr
        p -= scratch

    def _fused(self, kernels, p, g, scale, decay, lr):
        x = p.dtype.type
        kernels.rmsprop(p, g, x(scale), x(decay), x(lr), x(self.rho), x(1 - self.rho),
                        x(self.epsilon), *self._next_slot("square_avg", p), x(self.momentum),
                        *self._optional_slot("momentum", p, self.momentum))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adaptive moments: a running mean (m) and uncentred variance (v) of the gradient.
    ``amsgrad=True`` divides by the largest v so far instead (Reddi et al., 2018)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=0.0, global_clipnorm=None, amsgrad=False, **unknown):
        super().__init__(learning_rate, weight_decay, global_clipnorm, **unknown)
        owner = type(self).__name__
        self.beta_1 = _number(beta_1, "beta_1", owner, 0, 1)
        self.beta_2 = _number(beta_2, "beta_2", owner, 0, 1)
        self.epsilon = _number(epsilon, "epsilon", owner, 0, low_open=True)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise TypeError(f"{owner}: amsgrad must be True or False, got {amsgrad!r}.")
        self.amsgrad = bool(amsgrad)

    def slots(self):
        return ["m", "v"] + (["v_max"] if self.amsgrad else [])

    def _factors(self, lr):
        """(eps c, lr c / (1 - b1^t)) with c = sqrt(1 - b2^t): see _update."""
        c = math.sqrt(1 - self.beta_2 ** self.iterations)
        return self.epsilon * c, lr * c / (1 - self.beta_1 ** self.iterations)

    def _update(self, p, g, lr, scratch):
        b1, b2 = self.beta_1, self.beta_2
        if self.decoupled_weight_decay and self.weight_decay:
            p *= 1 - lr * self.weight_decay                     # AdamW: p *= 1 - lr wd
        (m_before, m), (v_before, v) = self._next_slot("m", p), self._next_slot("v", p)
        # Every pass reads or writes at most two arrays (a third array in one pass costs
        # as much as three passes here: the working set leaves the cache).
        np.multiply(g, 1 - b1, out=scratch)
        np.multiply(m_before, b1, out=m)
        m += scratch                                            # m = b1 m + (1 - b1) g
        np.square(g, out=scratch)
        scratch *= 1 - b2
        np.multiply(v_before, b2, out=v)
        v += scratch                                            # v = b2 v + (1 - b2) g^2
        if self.amsgrad:
            v_max_before, v_max = self._next_slot("v_max", p)
            v = np.maximum(v_max_before, v, out=v_max)          # v_max = max(v_max, v)
        # m_hat / (sqrt(v_hat) + eps) = c m_hat / (sqrt(v) + eps c), c = sqrt(1 - b2^t):
        # the bias correction of v moves into the step size (one pass fewer).
        eps_c, step = self._factors(lr)
        np.sqrt(v, out=scratch)
        scratch += eps_c
        np.divide(m, scratch, out=scratch)
        scratch *= step                                         # lr m_hat / (sqrt(v_hat) + eps)
        p -= scratch

    def _fused(self, kernels, p, g, scale, decay, lr):
        x, b1, b2 = p.dtype.type, self.beta_1, self.beta_2
        shrink = 1 - lr * self.weight_decay if self.decoupled_weight_decay else 1
        eps_c, step = self._factors(lr)
        kernels.adam(p, g, x(scale), x(decay), x(shrink), x(b1), x(1 - b1), x(b2), x(1 - b2),
                     x(eps_c), x(step), *self._next_slot("m", p), *self._next_slot("v", p),
                     self.amsgrad, *self._optional_slot("v_max", p, self.amsgrad))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before each step."""
    decoupled_weight_decay = True

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, global_clipnorm=None, amsgrad=False, **unknown):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, global_clipnorm,
                         amsgrad, **unknown)


class Adagrad(Optimizer):
    """Divides each step by the root of all squared gradients so far (Keras's Adagrad)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=0.0, global_clipnorm=None, **unknown):
        super().__init__(learning_rate, weight_decay, global_clipnorm, **unknown)
        self.initial_accumulator_value = _number(
            initial_accumulator_value, "initial_accumulator_value", "Adagrad", 0)
        self.epsilon = _number(epsilon, "epsilon", "Adagrad", 0, low_open=True)

    def slots(self):
        return ["accumulator"]

    def initial_value(self, name):
        return self.initial_accumulator_value

    def _update(self, p, g, lr, scratch):
        before, a = self._next_slot("accumulator", p)
        np.square(g, out=scratch)
        np.add(before, scratch, out=a)                          # a = a + g^2
        np.add(a, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(g, scratch, out=scratch)
        scratch *= lr
        p -= scratch                                            # p -= lr g / sqrt(a + eps)

    def _fused(self, kernels, p, g, scale, decay, lr):
        x = p.dtype.type
        kernels.adagrad(p, g, x(scale), x(decay), x(lr), x(self.epsilon),
                        *self._next_slot("accumulator", p))

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


OPTIMIZER_TYPES = {cls.__name__: cls for cls in (SGD, RMSprop, Adam, AdamW, Adagrad)}
OPTIMIZER_NAMES = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
                   "adagrad": Adagrad}


def get(optimizer):
    """An optimiser from a name ('adam', 'sgd', ...) or itself."""
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in OPTIMIZER_NAMES:
            raise ValueError(f"compile: unknown optimizer {optimizer!r}. Use one of: "
                             f"{', '.join(OPTIMIZER_NAMES)}, or an optimizer object.")
        return OPTIMIZER_NAMES[key]()
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"compile: optimizer must be a name or a glassnet optimizer, "
                        f"got {optimizer!r}.")
    return optimizer


def from_config(config):
    if isinstance(config, dict) and isinstance(config.get("learning_rate"), dict):
        config = {**config, "learning_rate": schedules.from_config(config["learning_rate"])}
    return config_module.from_config(config, OPTIMIZER_TYPES, "optimizer")
