"""The error types glassnet raises.

User mistakes raise ``ValueError`` or ``TypeError`` subclasses, so code that
already catches those keeps working; every message says what happened, what
was expected and how to fix it.
"""


class ShapeError(ValueError):
    """An array's shape does not fit the layer, loss or model that received it."""


class ModelFileError(ValueError):
    """A model file is missing, truncated, corrupt, mismatched or hostile."""


class MissingFontError(OSError):
    """This machine has no font for the script a picture must draw (Korean: Hangul)."""


def describe_shape(shape):
    """Render a shape with ``None`` shown as ``batch``: (batch, 784)."""
    inner = ", ".join("batch" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def describe_features(shape):
    """The per-sample part of a shape: 784 for (batch, 784), 8x8 for (batch, 8, 8)."""
    return "x".join(str(d) for d in shape[1:]) or "no"
