"""Learning-rate schedules: callables mapping the optimiser step (0, 1, ...) to a rate."""
import math

from . import config as config_module
from .validate import number, whole_number


def _check(value, what, owner, low=0.0, inclusive=False):
    """A finite number above ``low`` (or at least ``low``)."""
    return number(value, what, owner, low, low_open=not inclusive)


class ExponentialDecay:
    """lr = initial * decay_rate ** (step / decay_steps)  (floor of the exponent if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = _check(initial_learning_rate, "initial_learning_rate",
                                            "ExponentialDecay")
        self.decay_steps = _check(decay_steps, "decay_steps", "ExponentialDecay")
        self.decay_rate = _check(decay_rate, "decay_rate", "ExponentialDecay")
        self.staircase = bool(staircase)

    def __call__(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate ** exponent

    def get_config(self):
        return {"type": "ExponentialDecay", **vars(self)}


class StepDecay:
    """lr = initial * gamma ** (step // step_size): drop by gamma every step_size steps."""

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        self.initial_learning_rate = _check(initial_learning_rate, "initial_learning_rate",
                                            "StepDecay")
        self.step_size = whole_number(step_size, "step_size", "StepDecay")
        self.gamma = _check(gamma, "gamma", "StepDecay")

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)

    def get_config(self):
        return {"type": "StepDecay", **vars(self)}


class CosineDecay:
    """lr = initial * (alpha + (1 - alpha) * (1 + cos(pi * t)) / 2), t = min(step, decay_steps)
    / decay_steps: a half cosine from initial down to alpha * initial."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate = _check(initial_learning_rate, "initial_learning_rate",
                                            "CosineDecay")
        self.decay_steps = _check(decay_steps, "decay_steps", "CosineDecay")
        self.alpha = _check(alpha, "alpha", "CosineDecay", inclusive=True)

    def __call__(self, step):
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.initial_learning_rate * (self.alpha + (1 - self.alpha) * cosine)

    def get_config(self):
        return {"type": "CosineDecay", **vars(self)}


SCHEDULE_TYPES = {cls.__name__: cls for cls in (ExponentialDecay, StepDecay, CosineDecay)}


def from_config(config):
    return config_module.from_config(config, SCHEDULE_TYPES, "schedule")
