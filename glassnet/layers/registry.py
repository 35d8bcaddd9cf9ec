"""Every layer type by name, for configs and saved files: only these can be built from
a file, and only with the options their constructors take.

glassnet's own layers are listed here; your own layer joins with ``register_layer(cls)``
(explicitly, in your code, before you load a file that uses it). Nothing named in a file
is ever imported."""
from .activations import Activation
from .attention import MultiHeadAttention
from .base import Layer
from ..config import check_config
from ..limits import DEFAULT
from .conv import (AvgPool2D, Conv1D, Conv2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                   MaxPool2D)
from .conv import DepthwiseConv2D, GlobalMaxPooling1D, GlobalMaxPooling2D
from .recurrent import Bidirectional
from .reshaping import Cropping1D, Rescaling, Reshape
from .dense import Dense, Dropout, Embedding, Flatten, Permute
from .merging import Add, Average, Concatenate, Multiply, Subtract
from .normalization import BatchNorm, LayerNorm
from .recurrent import GRU, LSTM, SimpleRNN

BUILT_IN = {cls.__name__: cls for cls in (
    Dense, Dropout, BatchNorm, Flatten, Activation,
    Conv2D, Conv1D, MaxPool2D, AvgPool2D, GlobalAveragePooling2D,
    SimpleRNN, LSTM, GRU, Embedding, LayerNorm, GlobalAveragePooling1D,
    MultiHeadAttention, Add, Subtract, Multiply, Average, Concatenate, Permute,
    DepthwiseConv2D, GlobalMaxPooling1D, GlobalMaxPooling2D, Bidirectional, Reshape, Rescaling,
    Cropping1D)}
LAYER_TYPES = dict(BUILT_IN)


def register_layer(cls):
    """Make a ``Layer`` subclass loadable from configs and files, under its class name.

    Use it as a decorator or call it. Registering a class again -- or a class defined again
    under the same module and name, as when a notebook cell runs twice -- replaces it; a
    name taken by a built-in layer or a class from elsewhere is refused. Returns ``cls``."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer: expected a subclass of glassnet.Layer, got {cls!r}. "
                        f"Write class MyLayer(gn.Layer): ... and register the class.")
    name = cls.__name__
    taken = LAYER_TYPES.get(name, cls)
    redefined = name not in BUILT_IN and (taken.__module__, taken.__qualname__) == \
        (cls.__module__, cls.__qualname__)             # the same class defined again
    if taken is not cls and not redefined:
        raise ValueError(f"register_layer: the name {name!r} already belongs to "
                         f"{LAYER_TYPES[name].__module__}.{name}; give your class another "
                         f"name.")
    LAYER_TYPES[name] = cls
    return cls


def layer_from_config(config, where="layer", depth=0, limits=DEFAULT):
    """Build a layer from ``get_config()`` output (registered types and options only),
    nested no deeper than ``limits.max_nesting``."""
    if depth > limits.max_nesting:
        raise ValueError(f"{where}: layers are nested more than {limits.max_nesting} deep "
                         f"(networks inside networks), more than glassnet's "
                         f"limit (Limits.max_nesting).")
    kind = config.get("type") if isinstance(config, dict) else None
    if isinstance(kind, str) and kind not in LAYER_TYPES:
        raise ValueError(f"{where}: unknown layer type {kind[:100]!r}. Known types: "
                         f"{', '.join(LAYER_TYPES)}. If it is a layer of your own, register "
                         f"it first: glassnet.register_layer(YourLayer).")
    cls, options = check_config(config, LAYER_TYPES, "layer", where)
    return cls.from_config(options, lambda c, w: layer_from_config(c, w, depth + 1, limits))
