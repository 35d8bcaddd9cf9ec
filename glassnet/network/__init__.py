"""One graph engine for every network (``graph``): ``Sequential`` and ``Residual``
lowered to it (``sequential``), the functional ``Model`` and ``Input``
(``functional``), training written once (``trainer``), ``callbacks`` and spec strings
(``spec``)."""
from . import callbacks
from .functional import Input, Model
from .graph import Network, Node
from .sequential import Residual, Sequential
from .trainer import NonFiniteLossWarning, Trainer

__all__ = ["Network", "Node", "Sequential", "Residual", "Model", "Input", "Trainer",
           "NonFiniteLossWarning", "callbacks"]
