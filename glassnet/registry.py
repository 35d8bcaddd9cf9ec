"""Every layer type by name, for configs and saved files: only these can be built from
a file, and only with the options their constructors take."""
from .activations import Activation
from .attention import MultiHeadAttention, Residual
from .config import from_config
from .conv import AvgPool2D, Conv1D, Conv2D, GlobalAveragePooling2D, MaxPool2D
from .layers import BatchNorm, Dense, Dropout, Flatten
from .recurrent import GRU, LSTM, Embedding, GlobalAveragePooling1D, LayerNorm, SimpleRNN

LAYER_TYPES = {cls.__name__: cls for cls in (
    Dense, Dropout, BatchNorm, Flatten, Activation,
    Conv2D, Conv1D, MaxPool2D, AvgPool2D, GlobalAveragePooling2D,
    SimpleRNN, LSTM, GRU, Embedding, LayerNorm, GlobalAveragePooling1D,
    MultiHeadAttention, Residual)}


def layer_from_config(config, where="layer"):
    """Build a layer from ``get_config()`` output (known types and options only)."""
    return from_config(config, LAYER_TYPES, "layer", where)
