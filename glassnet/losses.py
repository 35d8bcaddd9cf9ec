"""Loss functions: the value L averaged over the batch, and its gradient dY.

Every loss has the same anatomy:
- ``prepare(T, output_shape)`` checks the targets once (shape, range, finite) and
  returns them in the form ``forward`` uses (sparse labels become one-hot rows);
- ``forward(Y, T)`` returns the mean loss and keeps what backward needs;
- ``backward()`` returns dY = dL/dY, the same shape as Y.

Cross-entropies accept probabilities (the default) or logits (``from_logits=True``).
When a model ends in softmax (or sigmoid) and uses the matching cross-entropy on
probabilities, it hands the loss the logits Z instead (``forward(Z, T, logits=True)``)
and skips the activation's backward: the fused forms below are exact and stable.

    softmax + cross-entropy:  L = -sum(T * log_softmax(Z)) / N,  dZ = (softmax(Z) - T) / N
        with log_softmax(Z) = (Z - max) - log(sum(exp(Z - max)))        (log-sum-exp)
    sigmoid + binary CE:      L = mean(max(Z, 0) - Z T + log1p(exp(-|Z|))),
                              dZ = (sigmoid(Z) - T) / size
"""
import numpy as np
from scipy.special import expit

from . import config as config_module
from .layers.activations import log_softmax, softmax_backward
from .errors import ShapeError, describe_shape
from .validate import flag, number

EPSILON = 1e-7   # probabilities are clipped to [EPSILON, 1 - EPSILON], as Keras does


def _check_finite(T, name):
    if not np.isfinite(T).all():
        bad = np.argwhere(~np.isfinite(T))[0]
        raise ValueError(f"{name}: the targets contain NaN or Inf (first at index "
                         f"{tuple(int(i) for i in bad)}). Remove or fill those samples.")


def _one_per_sample(T, output_shape):
    """Targets of shape (N,) for a model with one output unit, as (N, 1) -- what Keras
    does (``Dense(1)`` with labels ``y`` of shape (N,)); never a broadcast of (N,)
    against (N, 1), which would compare every target with every prediction."""
    return T.reshape(-1, 1) if T.ndim == 1 and tuple(output_shape[1:]) == (1,) else T


def _check_same_shape(T, output_shape, name):
    if tuple(T.shape[1:]) != tuple(output_shape[1:]):
        hint = ""
        if T.ndim == 1:
            hint = (" These look like integer class labels: use "
                    "loss='sparse_categorical_crossentropy', or one-hot encode them with "
                    "glassnet.datasets.one_hot(y).")
        if len(output_shape) > 2 and T.ndim < len(output_shape):
            hint += (" The model outputs a row of scores at every position; to score each "
                     "sample once, add Flatten() (or a global pooling layer) before the "
                     "last Dense layer.")
        raise ShapeError(f"{name}: targets have shape {describe_shape(T.shape)} but the model "
                         f"outputs {describe_shape((T.shape[0], *output_shape[1:]))}; they "
                         f"must match.{hint}")


def _check_probabilities(Y, name, what="predictions"):
    low, high = Y.min(), Y.max()
    if low < 0 or high > 1:
        raise ValueError(
            f"{name}: {what} must be probabilities in [0, 1] but range over "
            f"[{low:.4g}, {high:.4g}]. End the model with a sigmoid/softmax activation, or "
            f"pass from_logits=True if the model outputs raw scores (logits).")


def _check_label_smoothing(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name}: label_smoothing must be a number in [0, 1], got {value!r}.")
    return float(value)


class Loss:
    """What every loss declares: ``targets`` -- 'values' (regression), 'binary'
    (independent probabilities) or 'categorical' (one class per sample), which tells
    'accuracy' what to count; ``from_logits``; and ``output_activation``, the final
    activation whose fused form it has (None: it has none)."""
    targets, from_logits, output_activation = "values", False, None

    def get_config(self):
        return {"type": type(self).__name__}

    @staticmethod
    def per_sample(weights, Y):
        """Sample weights (N,) shaped to broadcast over Y (N, ...), or None."""
        return None if weights is None else weights.reshape(-1, *[1] * (Y.ndim - 1))


class MeanSquaredError(Loss):
    """L = mean((Y - T)^2);  dY = 2 (Y - T) / size.

    With sample weights w (``fit(..., sample_weight=)`` or ``class_weight``), as Keras:
    L = mean(w (Y - T)^2) -- each sample's loss times its weight, divided by the number
    of values (not by the sum of the weights) -- and dY = 2 w (Y - T) / size."""
    name = "mean_squared_error"

    def __init__(self):
        self.D = self.w = None

    def prepare(self, T, output_shape, dtype=np.float64):
        T = _one_per_sample(np.asarray(T, dtype=dtype), output_shape)
        _check_same_shape(T, output_shape, type(self).__name__)
        _check_finite(T, type(self).__name__)
        return T

    def forward(self, Y, T, logits=None, weights=None):
        self.D, self.w = Y - T, self.per_sample(weights, Y)
        squares = self.D * self.D
        return float(np.mean(squares if self.w is None else squares * self.w))

    def backward(self):
        dY = self.D * (2.0 / self.D.size)
        return dY if self.w is None else dY * self.w


class MeanAbsoluteError(MeanSquaredError):
    """L = mean(|Y - T|);  dY = sign(Y - T) / size."""
    name = "mean_absolute_error"

    def forward(self, Y, T, logits=None, weights=None):
        self.D, self.w = Y - T, self.per_sample(weights, Y)
        values = np.abs(self.D)
        return float(np.mean(values if self.w is None else values * self.w))

    def backward(self):
        dY = np.sign(self.D) * (1.0 / self.D.size)
        return dY if self.w is None else dY * self.w


class BinaryCrossentropy(Loss):
    """Binary cross-entropy for targets in [0, 1], one independent probability per output.

    On probabilities p (clipped to [1e-7, 1 - 1e-7]):
        L = -mean(T log p + (1 - T) log(1 - p)),  dp = (p - T) / (p (1 - p)) / size
    On logits z (``from_logits=True``, or fused after a sigmoid):
        L = mean(max(z, 0) - z T + log1p(exp(-|z|))),  dz = (sigmoid(z) - T) / size
    """
    name = "binary_crossentropy"
    targets, output_activation = "binary", "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = flag(from_logits, "from_logits", "BinaryCrossentropy")
        self.label_smoothing = _check_label_smoothing(label_smoothing, "BinaryCrossentropy")
        self.w = None

    def prepare(self, T, output_shape, dtype=np.float64):
        T = _one_per_sample(np.asarray(T, dtype=dtype), output_shape)
        _check_same_shape(T, output_shape, "BinaryCrossentropy")
        _check_finite(T, "BinaryCrossentropy")
        _check_probabilities(T, "BinaryCrossentropy", "targets")
        if self.label_smoothing:
            T = T * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        return T

    def forward(self, Y, T, logits=None, weights=None):
        self.T, self.logits = T, self.from_logits if logits is None else logits
        self.w = self.per_sample(weights, Y)
        if self.logits:
            self.Y = Y
            losses = np.maximum(Y, 0) - Y * T + np.log1p(np.exp(-np.abs(Y)))
        else:
            _check_probabilities(Y, "BinaryCrossentropy")
            self.Y = np.clip(Y, EPSILON, 1 - EPSILON)
            losses = -(T * np.log(self.Y) + (1 - T) * np.log1p(-self.Y))
        return float(np.mean(losses if self.w is None else losses * self.w))

    def backward(self):
        Y, T = self.Y, self.T
        if self.logits:
            dY = (expit(Y) - T) * (1.0 / Y.size)
        else:
            dY = (Y - T) / (Y * (1 - Y)) * (1.0 / Y.size)
        return dY if self.w is None else dY * self.w

    def get_config(self):
        return {"type": type(self).__name__, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot (or soft) targets T of shape (batch, classes).

    With label smoothing s: T <- T (1 - s) + s / classes. With sample weights w (as
    Keras): every formula below with T replaced by w T, row by row.
    On probabilities P (clipped to [1e-7, 1 - 1e-7]):
        L = -sum(T log P) / N,  dP = -T / P / N
    On logits Z (``from_logits=True``, or fused after a softmax):
        L = -sum(T log_softmax(Z)) / N,  dZ = (softmax(Z) sum(T, row) - T) / N
    """
    name = "categorical_crossentropy"
    targets, output_activation = "categorical", "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = flag(from_logits, "from_logits", type(self).__name__)
        self.label_smoothing = _check_label_smoothing(label_smoothing, type(self).__name__)

    def prepare(self, T, output_shape, dtype=np.float64):
        T = _one_per_sample(np.asarray(T, dtype=dtype), output_shape)
        _check_same_shape(T, output_shape, type(self).__name__)
        _check_finite(T, type(self).__name__)
        return self._smooth(T)

    def _smooth(self, T):
        s = self.label_smoothing
        return T * (1 - s) + s / T.shape[-1] if s else T

    def forward(self, Y, T, logits=None, weights=None):
        if weights is not None:              # the loss is linear in T: weigh T's rows
            T = T * self.per_sample(weights, Y)
        self.T, self.logits = T, self.from_logits if logits is None else logits
        n = Y.size // Y.shape[-1]            # one prediction per row (per sample or position)
        if self.logits:
            log_P = log_softmax(Y)
            self.P = np.exp(log_P)
        else:
            _check_probabilities(Y, type(self).__name__)
            self.P = np.clip(Y, EPSILON, 1 - EPSILON)
            log_P = np.log(self.P)
        return float(-np.sum(T * log_P) / n)

    def backward(self):
        T, P = self.T, self.P
        n = T.size // T.shape[-1]
        if self.logits:
            return (P * T.sum(axis=-1, keepdims=True) - T) * (1.0 / n)
        return -T / P * (1.0 / n)

    def get_config(self):
        return {"type": type(self).__name__, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


def check_class_labels(labels, output_shape, name):
    """Sparse labels must be whole numbers in [0, classes): one per sample for outputs
    (batch, classes), one per position for outputs (batch, ..., classes)."""
    labels, classes = np.asarray(labels), output_shape[-1]
    positions = tuple(output_shape[1:-1])
    if labels.ndim == len(positions) + 2 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if positions and labels.ndim == 1:
        raise ShapeError(
            f"{name}: the model outputs {describe_shape(output_shape)} -- {classes} class "
            f"scores at every one of {' x '.join(map(str, positions))} positions -- but the "
            f"labels give one class per sample, shape {describe_shape(labels.shape)}. Add "
            f"Flatten() (or GlobalAveragePooling2D()) before the last Dense layer, so the "
            f"model outputs one row of {classes} scores per sample.")
    if labels.shape[1:] != positions:
        expected = describe_shape((labels.shape[0], *positions))
        raise ShapeError(f"{name}: expects one integer class label per "
                         f"{'position' if positions else 'sample'}, shape {expected}, but received "
                         f"{describe_shape(labels.shape)}. For one-hot targets use "
                         f"loss='categorical_crossentropy'.")
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind != "f":
            raise TypeError(f"{name}: labels must be integers, got dtype {labels.dtype}.")
        if not np.isfinite(labels).all():
            raise ValueError(f"{name}: labels contain NaN or Inf; every label must be a "
                             f"class index in [0, {classes - 1}].")
        fractional = labels != np.round(labels)
        if fractional.any():
            i = _index(np.argmax(fractional), labels.shape)
            raise ValueError(f"{name}: labels must be whole class indices in [0, {classes - 1}] "
                             f"but label {i} is {labels[i].item()!r}. Convert them with "
                             f"y.astype(int) if they are indices stored as floats.")
    if labels.size:
        low, high = labels.min().item(), labels.max().item()
        if low < 0 or high >= classes:
            bad = _index(np.argmax((labels < 0) | (labels >= classes)), labels.shape)
            raise ValueError(
                f"{name}: labels must be class indices in [0, {classes - 1}] for a model with "
                f"{classes} outputs, but label {bad} is {labels[bad].item()!r} (labels range "
                f"over [{low}, {high}]). Give the last layer as many units as there are "
                f"classes, or remap the labels to 0..{classes - 1}.")
    return labels.astype(np.int64)


def _index(flat, shape):
    """A flat index as the position users see: 3, or (3, 1) for labels per position."""
    index = np.unravel_index(int(flat), shape)
    return int(index[0]) if len(index) == 1 else tuple(int(i) for i in index)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer class labels of shape (N,) -- or (N, ...),
    one per position, for outputs (N, ..., classes).

    The labels are checked (whole numbers in [0, classes)) and turned into one-hot
    rows once; the formulas are those of ``CategoricalCrossentropy``.
    """
    name = "sparse_categorical_crossentropy"

    def prepare(self, T, output_shape, dtype=np.float64):
        labels = check_class_labels(T, output_shape, "SparseCategoricalCrossentropy")
        one_hot = np.zeros((labels.size, output_shape[-1]), dtype=dtype)
        one_hot[np.arange(labels.size), labels.ravel()] = 1
        return self._smooth(one_hot.reshape(*labels.shape, output_shape[-1]))


class CategoricalFocalCrossentropy(CategoricalCrossentropy):
    """Focal loss (Lin et al. 2017) for imbalanced classes, one-hot targets.

    L = -sum(alpha (1 - P)^gamma T log P) / N: well-classified samples (P near 1)
    are down-weighted by (1 - P)^gamma. gamma = 0, alpha = 1 is cross-entropy.
    dP = alpha T (gamma (1 - P)^(gamma - 1) log P - (1 - P)^gamma / P) / N;
    from logits, dZ = softmax_backward(dP, P).
    """
    name = "categorical_focal_crossentropy"

    def __init__(self, gamma=2.0, alpha=0.25, from_logits=False, label_smoothing=0.0):
        super().__init__(from_logits, label_smoothing)
        self.gamma = number(gamma, "gamma", "CategoricalFocalCrossentropy", 0)
        self.alpha = number(alpha, "alpha", "CategoricalFocalCrossentropy", 0, low_open=True)

    def forward(self, Y, T, logits=None, weights=None):
        if weights is not None:              # the loss is linear in T: weigh T's rows
            T = T * self.per_sample(weights, Y)
        self.T, self.logits = T, self.from_logits if logits is None else logits
        if self.logits:
            self.log_P = log_softmax(Y)
            self.P = np.exp(self.log_P)
        else:
            _check_probabilities(Y, type(self).__name__)
            self.P = np.clip(Y, EPSILON, 1 - EPSILON)
            self.log_P = np.log(self.P)
        weight = self.alpha * (1 - self.P) ** self.gamma
        return float(-np.sum(weight * T * self.log_P) / (Y.size // Y.shape[-1]))

    def backward(self):
        P, T, g = self.P, self.T, self.gamma
        n = T.size // T.shape[-1]
        one_minus = 1 - P
        d_weight = g * np.maximum(one_minus, EPSILON) ** (g - 1) if g > 0 else 0.0
        dP = self.alpha * T * (d_weight * self.log_P - one_minus ** g / P) * (1.0 / n)
        return softmax_backward(dP, P) if self.logits else dP

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "alpha": self.alpha}


LOSS_TYPES = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, CategoricalFocalCrossentropy)}
LOSS_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "focal": CategoricalFocalCrossentropy,
}


def get(loss):
    """A loss object from a name ('mse', 'sparse_categorical_crossentropy', ...) or itself."""
    if isinstance(loss, str):
        if loss not in LOSS_NAMES:
            raise ValueError(f"compile: unknown loss {loss!r}. Use one of: "
                             f"{', '.join(sorted(LOSS_NAMES))}, or a loss object.")
        return LOSS_NAMES[loss]()
    if not isinstance(loss, Loss):
        raise TypeError(f"compile: loss must be a name or a glassnet loss object (a subclass "
                        f"of glassnet.losses.Loss), got {loss!r}.")
    return loss


def from_config(config):
    return config_module.from_config(config, LOSS_TYPES, "loss")

