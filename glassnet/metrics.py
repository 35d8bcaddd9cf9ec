"""Metrics: numbers reported during training besides the loss. Most are a function of a
batch's outputs Y and targets T (in the loss's form: one-hot rows for class labels)
returning the *sum* over the batch of a per-sample value; ``fit`` and ``evaluate``
divide by the number of samples. ``AUC`` is not a mean over samples: it keeps
confusion counts over every batch of the epoch (or evaluation) and computes the area
from them, as Keras's does. ``Totals`` holds one run's metrics either way.

``"accuracy"`` means what Keras makes of it: the share of samples whose predicted class
is right -- the argmax against the one-hot target for categorical losses; for a binary
cross-entropy (or one output unit), the output thresholded at 0.5 (at 0 on logits),
per output, against T > 0.5.
"""
import numpy as np

from .validate import choice, flag, whole_number

METRIC_NAMES = ("accuracy", "acc", "mae", "mse", "auc", "AUC")


class MeanMetric:
    """A metric that is the mean over samples of a per-sample value: the run keeps the
    sum (``add``) and divides by the samples seen (``value``)."""

    def start(self):
        return 0.0

    def add(self, total, Y, T):
        return total + self(Y, T)

    def value(self, total, seen):
        return total / seen


class Totals:
    """One run's metrics (an epoch of ``fit``, one ``evaluate``): ``add(Y, T)`` per
    batch, ``values()`` -> {name: value over every sample so far}."""

    def __init__(self, metrics):
        self.metrics, self.seen = list(metrics), 0
        self.states = [m.start() for m in self.metrics]

    def add(self, Y, T):
        self.seen += len(Y)
        self.states = [m.add(state, Y, T) for m, state in zip(self.metrics, self.states)]

    def values(self):
        return {m.name: m.value(state, self.seen) for m, state in
                zip(self.metrics, self.states)}


class CategoricalAccuracy(MeanMetric):
    name = "accuracy"

    def __call__(self, Y, T):
        hits = Y.argmax(axis=-1) == T.argmax(axis=-1)           # per sample or position
        return float(hits.reshape(len(Y), -1).mean(axis=1).sum())


class BinaryAccuracy(MeanMetric):
    name = "accuracy"

    def __init__(self, threshold=0.5):
        self.threshold = threshold

    def __call__(self, Y, T):
        hits = (Y > self.threshold) == (T > 0.5)
        return float(hits.mean(axis=tuple(range(1, Y.ndim))).sum())


class MeanAbsoluteError(MeanMetric):
    name = "mae"

    def __call__(self, Y, T):
        return float(np.abs(Y - T).reshape(len(Y), -1).mean(axis=1).sum())


class MeanSquaredError(MeanMetric):
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
        if name in ("auc", "AUC"):
            found.append(AUC(name=name))                # logged as written, as Keras
        elif name in ("accuracy", "acc"):
            if loss.targets == "binary":
                found.append(BinaryAccuracy(0.0 if loss.from_logits else 0.5))
            else:
                found.append(_CategoricalOrBinary())
        else:
            found.append(MeanAbsoluteError() if name == "mae" else MeanSquaredError())
    return found


class _CategoricalOrBinary(MeanMetric):
    """Accuracy for a loss that does not say: categorical for several outputs, binary
    (threshold 0.5) for one output unit -- decided by the outputs' shape, as Keras does."""
    name = "accuracy"

    def __call__(self, Y, T):
        if Y.shape[-1] == 1:
            return BinaryAccuracy()(Y, T)
        return CategoricalAccuracy()(Y, T)


class AUC:
    """The area under the ROC curve, as Keras's ``AUC()`` computes it: every output and
    target entry is one binary decision (targets are positive where nonzero, outputs
    clipped to [0, 1], or passed through a sigmoid with ``from_logits``), counted at
    ``num_thresholds`` thresholds -- -1e-7, 1/(k-1), 2/(k-1), ..., (k-2)/(k-1), 1 + 1e-7
    -- over every batch of the epoch or evaluation. Then with TPR = TP / (TP + FN) and
    FPR = FP / (FP + TN) at each threshold i (0 where a denominator is 0):

        AUC = sum_i (FPR[i] - FPR[i+1]) * (TPR[i] + TPR[i+1]) / 2   ("interpolation")

    (the lower or upper of TPR[i], TPR[i+1] for "minoring" or "majoring"). An output
    counts as positive at threshold i when output * (k - 1) > i, Keras's buckets.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name="auc", from_logits=False):
        self.num_thresholds = whole_number(num_thresholds, "num_thresholds", "AUC",
                                           minimum=2, maximum=1_000_000)
        choice(curve, "curve", "AUC", ("ROC",))
        self.summation_method = choice(summation_method, "summation_method", "AUC",
                                       ("interpolation", "minoring", "majoring"))
        self.name, self.from_logits = str(name), flag(from_logits, "from_logits", "AUC")

    def start(self):
        """Counts of positive and negative entries per bucket (a prediction's bucket is
        the number of thresholds it exceeds, less one)."""
        return np.zeros((2, self.num_thresholds), np.float64)

    def add(self, counts, Y, T):
        Y = np.asarray(Y, np.float32).reshape(-1)
        if self.from_logits:
            Y = (0.5 * (1 + np.tanh(Y.astype(np.float64) / 2))).astype(np.float32)  # sigmoid
        Y = np.clip(Y, 0, 1)
        positive = np.asarray(T).reshape(-1) != 0
        bucket = np.maximum(np.ceil(Y * np.float32(self.num_thresholds - 1)) - 1, 0)
        bucket = bucket.astype(np.int64)
        counts = counts.copy()
        counts[0] += np.bincount(bucket[positive], minlength=self.num_thresholds)
        counts[1] += np.bincount(bucket[~positive], minlength=self.num_thresholds)
        return counts

    def value(self, counts, seen=None):
        tp, fp = counts[:, ::-1].cumsum(axis=1)[:, ::-1]    # entries in buckets >= i
        fn, tn = counts[0].sum() - tp, counts[1].sum() - fp
        tpr, fpr = _ratio(tp, tp + fn), _ratio(fp, fp + tn)
        pair = np.stack([tpr[:-1], tpr[1:]])
        heights = {"interpolation": pair.mean(axis=0), "minoring": pair.min(axis=0),
                   "majoring": pair.max(axis=0)}[self.summation_method]
        return float(np.sum((fpr[:-1] - fpr[1:]) * heights))

    def __call__(self, Y, T):
        """The AUC of one batch alone."""
        return self.value(self.add(self.start(), Y, T))


def _ratio(a, b):
    """a / b, 0 where b is 0 (Keras's divide_no_nan)."""
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)
