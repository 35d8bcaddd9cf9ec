"""Weight penalties added to the loss, as Keras's ``kernel_regularizer`` and
``bias_regularizer``: ``Dense(64, kernel_regularizer=L2(1e-4))``.

For a weight array W the penalty and its gradient are written out:

    L1(l1):      penalty = l1 * sum(|W|)                 dpenalty/dW = l1 * sign(W)
    L2(l2):      penalty = l2 * sum(W ** 2)              dpenalty/dW = 2 * l2 * W
    L1L2(l1, l2): the sum of the two

As in Keras, the penalty of every trainable layer's weights is added to the loss of each
batch (after ``loss_weights``; not divided by the batch size), so ``fit``'s and
``evaluate``'s ``loss`` include it, and its gradient is added to the weight's gradient
in the layer's backward pass. Names as Keras takes them: ``"l1"``, ``"l2"`` (0.01), a
regularizer object, or a config ``{"type": "L2", "l2": 0.01}``.
"""
import numpy as np

from . import config as config_module
from .validate import number


class Regularizer:
    """The base: ``penalty(W)`` (a float) and ``gradient(W)`` (an array like W)."""

    def penalty(self, W):
        raise NotImplementedError

    def gradient(self, W):
        raise NotImplementedError

    def __call__(self, W):
        return self.penalty(W)

    def get_config(self):
        return {"type": type(self).__name__, **vars(self)}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v:g}' for k, v in vars(self).items())})"


def _factor(value, name, owner):
    return number(value, name, owner, 0)


class L1L2(Regularizer):
    """penalty = l1 * sum(|W|) + l2 * sum(W ** 2); gradient l1 * sign(W) + 2 * l2 * W."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1", "L1L2"), _factor(l2, "l2", "L1L2")

    def penalty(self, W):
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(W).sum())
        if self.l2:
            total += self.l2 * float(np.square(W).sum())
        return total

    def gradient(self, W):
        return self.l1 * np.sign(W) + (2 * self.l2) * W


class L1(L1L2):
    """penalty = l1 * sum(|W|); gradient l1 * sign(W) (0 where W is 0)."""

    def __init__(self, l1=0.01):
        self.l1, self.l2 = _factor(l1, "l1", "L1"), 0.0

    def get_config(self):
        return {"type": "L1", "l1": self.l1}

    def __repr__(self):
        return f"L1({self.l1:g})"


class L2(L1L2):
    """penalty = l2 * sum(W ** 2); gradient 2 * l2 * W."""

    def __init__(self, l2=0.01):
        self.l1, self.l2 = 0.0, _factor(l2, "l2", "L2")

    def get_config(self):
        return {"type": "L2", "l2": self.l2}

    def __repr__(self):
        return f"L2({self.l2:g})"


REGULARIZERS = {"L1": L1, "L2": L2, "L1L2": L1L2}
NAMES = {"l1": L1, "l2": L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier, owner="layer", what="regularizer"):
    """None, a Regularizer, a name ("l1", "l2", "L1L2") or a config dict -> a Regularizer
    or None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier in NAMES:
        return NAMES[identifier]()
    if isinstance(identifier, dict):
        return config_module.from_config(identifier, REGULARIZERS, "regularizer",
                                         f"{owner} {what}")
    raise ValueError(f"{owner}: {what} must be glassnet.regularizers.L1(0.01), L2(0.01), "
                     f"L1L2(l1, l2), 'l1', 'l2' or None; got {str(identifier)[:60]!r}.")
