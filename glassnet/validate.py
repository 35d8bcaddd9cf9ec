"""Checks for arguments as they enter glassnet: each returns the value in its plain
Python form or raises ``TypeError``/``ValueError`` with a message that names the owner
("Dense(8)", "fit"), the argument, the value received and what would be accepted."""
import math

import numpy as np


def whole_number(value, what, owner, minimum=1, maximum=None):
    """An int (not a bool, not a float) in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {what} must be a whole number, got {value!r} "
                        f"({type(value).__name__}).")
    if value < minimum:
        if minimum == 1:
            raise ValueError(f"{owner}: {what} must be a positive whole number, got {value}.")
        raise ValueError(f"{owner}: {what} must be a whole number >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{owner}: {what} must be a whole number <= {maximum:,}, got "
                         f"{value:,}.")
    return int(value)


def number(value, what, owner, low=None, high=None, low_open=False, high_open=False):
    """A finite real number (not a bool) in the interval the bounds describe."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {what} must be a number, got {value!r} "
                        f"({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {what} must be a finite number, got {value!r}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{owner}: {what} must be {interval(low, high, low_open, high_open)}, "
                         f"got {value!r}.")
    return float(value)


def interval(low, high, low_open=False, high_open=False):
    """'in [0, 1)', '> 0', '>= 0', 'in (0, 1]'."""
    if high is None:
        return f"> {low}" if low_open else f">= {low}"
    if low is None:
        return f"< {high}" if high_open else f"<= {high}"
    return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def choice(value, what, owner, options):
    """One of ``options`` (compared with ==)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{owner}: {what} must be one of {', '.join(map(repr, options))}, "
                         f"got {value!r}.")
    return value


def flag(value, what, owner):
    """A bool (True/False, or NumPy's bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {what} must be True or False, got {value!r}.")
    return bool(value)


def sample_shape(shape, what, owner):
    """The shape of one sample: a tuple of positive ints (an int n means (n,))."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if not shape or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                            and d > 0 for d in shape):
        raise ValueError(f"{owner}: {what} must be the shape of one sample as positive whole "
                         f"numbers, such as (784,) or (28, 28, 1); got {shape!r}.")
    return tuple(int(d) for d in shape)
