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
    AdamW:    p *= 1 - lr * weight_decay (decoupled), then the Adam step.

Gradient clipping by norm (``global_clipnorm``): if ||g|| > c, g *= c / (||g|| + 1e-6),
over all parameters together (as ``torch.nn.utils.clip_grad_norm_``).
``learning_rate`` may be a number or a schedule (``glassnet.schedules``).
"""
import math

import numpy as np

from . import config as config_module
from . import schedules

FLUSH_EVERY = 64          # steps between flushes of subnormal optimiser state (see below)


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
                 "glassnet.schedules.ExponentialDecay(...)", "clipnorm": "global_clipnorm",
                 "clipvalue": "global_clipnorm (glassnet clips the norm of all gradients "
                 "together)", "lr": "learning_rate"}


class Optimizer:
    """What every optimiser shares: learning rate (or schedule), L2 decay, clipping."""
    decoupled_weight_decay = False

    def __init__(self, learning_rate, weight_decay=0.0, global_clipnorm=None, **unknown):
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
        self.global_clipnorm = None if global_clipnorm is None else \
            _number(global_clipnorm, "global_clipnorm", owner, 0, low_open=True)
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
            self.state[name] = np.zeros_like(like)
        return self.state[name]

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

    def step(self, params, grads):
        """One update of the flat ``params`` from the flat ``grads`` (both 1-D)."""
        if self._scratch is None or self._scratch.shape != params.shape \
                or self._scratch.dtype != params.dtype:
            self._scratch = np.empty_like(params)
            self._grad = np.empty_like(params)
        g = grads
        if self.global_clipnorm is not None:
            norm = math.sqrt(float(np.dot(g, g)))
            if norm > self.global_clipnorm:
                g = np.multiply(g, self.global_clipnorm / (norm + 1e-6), out=self._grad)
        if self.weight_decay and not self.decoupled_weight_decay:
            g = np.add(g, self.weight_decay * params, out=self._grad)
        lr = self.current_learning_rate()
        self.iterations += 1
        self._update(params, g, lr, self._scratch)
        self.undoable = True
        if self.iterations % FLUSH_EVERY == 0:
            self._flush_subnormals()

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
        if self.global_clipnorm is not None:
            config["global_clipnorm"] = self.global_clipnorm
        return config


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""

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

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adaptive moments: a running mean (m) and uncentred variance (v) of the gradient."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=0.0, global_clipnorm=None, **unknown):
        super().__init__(learning_rate, weight_decay, global_clipnorm, **unknown)
        owner = type(self).__name__
        self.beta_1 = _number(beta_1, "beta_1", owner, 0, 1)
        self.beta_2 = _number(beta_2, "beta_2", owner, 0, 1)
        self.epsilon = _number(epsilon, "epsilon", owner, 0, low_open=True)

    def slots(self):
        return ["m", "v"]

    def _update(self, p, g, lr, scratch):
        b1, b2, t = self.beta_1, self.beta_2, self.iterations
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
        # m_hat / (sqrt(v_hat) + eps) = c m_hat / (sqrt(v) + eps c), c = sqrt(1 - b2^t):
        # the bias correction of v moves into the step size (one pass fewer).
        c = math.sqrt(1 - b2 ** t)
        np.sqrt(v, out=scratch)
        scratch += self.epsilon * c
        np.divide(m, scratch, out=scratch)
        scratch *= lr * c / (1 - b1 ** t)                       # lr m_hat / (sqrt(v_hat) + eps)
        p -= scratch

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before each step."""
    decoupled_weight_decay = True

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, global_clipnorm=None, **unknown):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, global_clipnorm,
                         **unknown)


OPTIMIZER_TYPES = {cls.__name__: cls for cls in (SGD, RMSprop, Adam, AdamW)}
OPTIMIZER_NAMES = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


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
