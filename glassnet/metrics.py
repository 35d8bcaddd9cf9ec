"""Metrics: numbers reported during training besides the loss. Each is a function of a
batch's outputs Y and targets T (in the loss's form: one-hot rows for class labels)
returning the *sum* over the batch of a per-sample value; ``fit`` and ``evaluate``
divide by the number of samples.

``"accuracy"`` means what Keras makes of it: the share of samples whose predicted class
is right -- the argmax against the one-hot target for categorical losses; for a binary
cross-entropy (or one output unit), the output thresholded at 0.5 (at 0 on logits),
per output, against T > 0.5.
"""
import numpy as np

METRIC_NAMES = ("accuracy", "acc", "mae", "mse")


class CategoricalAccuracy:
    name = "accuracy"

    def __call__(self, Y, T):
        hits = Y.argmax(axis=-1) == T.argmax(axis=-1)           # per sample or position
        return float(hits.reshape(len(Y), -1).mean(axis=1).sum())


class BinaryAccuracy:
    name = "accuracy"

    def __init__(self, threshold=0.5):
        self.threshold = threshold

    def __call__(self, Y, T):
        hits = (Y > self.threshold) == (T > 0.5)
        return float(hits.mean(axis=tuple(range(1, Y.ndim))).sum())


class MeanAbsoluteError:
    name = "mae"

    def __call__(self, Y, T):
        return float(np.abs(Y - T).reshape(len(Y), -1).mean(axis=1).sum())


class MeanSquaredError:
    name = "mse"

    def __call__(self, Y, T):
        return float(((Y - T) ** 2).reshape(len(Y), -1).mean(axis=1).sum())


def resolve(names, loss):
    """The metric functions for ``compile(metrics=names)`` with this loss: 'accuracy'
    becomes binary accuracy when the loss says its targets are independent binary
    probabilities (``loss.targets == "binary"``), categorical accuracy otherwise."""
    found = []
    for name in names:
        if name not in METRIC_NAMES:
            raise ValueError(f"compile: unknown metric {name!r}. Use one of: "
                             f"{', '.join(METRIC_NAMES)}.")
        if name in ("accuracy", "acc"):
            if loss.targets == "binary":
                found.append(BinaryAccuracy(0.0 if loss.from_logits else 0.5))
            else:
                found.append(_CategoricalOrBinary())
        else:
            found.append(MeanAbsoluteError() if name == "mae" else MeanSquaredError())
    return found


class _CategoricalOrBinary:
    """Accuracy for a loss that does not say: categorical for several outputs, binary
    (threshold 0.5) for one output unit -- decided by the outputs' shape, as Keras does."""
    name = "accuracy"

    def __call__(self, Y, T):
        if Y.shape[-1] == 1:
            return BinaryAccuracy()(Y, T)
        return CategoricalAccuracy()(Y, T)
