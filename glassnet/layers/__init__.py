"""Every layer, as Keras's ``keras.layers``: ``gn.layers.Conv2D`` is ``gn.Conv2D``.

Each layer is one class with its forward pass as matrix products and its backward pass as
explicit formulas, in the module of its kind (``dense``, ``conv``, ``recurrent``,
``attention``, ``normalization``, ``merging``, ``reshaping``, ``activations``); ``base``
holds the Layer contract every layer is built on, ``ops`` the typed operations the views
read, and ``registry`` the layer types that configs and files may name."""
from .activations import (ELU, GELU, SELU, Activation, LeakyReLU, LogSoftmax, ReLU, ReLU6,
                          Sigmoid, SiLU, Softmax, Tanh)
from .attention import MultiHeadAttention
from .base import Input, InputLayer, InputSpec, Layer
from .conv import (AveragePooling2D, AvgPool2D, Conv1D, Conv2D, DepthwiseConv2D,
                   GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
                   GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)
from .dense import Dense, Dropout, Embedding, Flatten, Permute
from .merging import Add, Average, Concatenate, Multiply, Subtract
from .normalization import BatchNorm, BatchNormalization, LayerNorm, LayerNormalization
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .registry import register_layer
from .reshaping import Cropping1D, Rescaling, Reshape

GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

__all__ = [
    "Layer", "InputSpec", "Input", "InputLayer", "register_layer",
    "Dense", "Dropout", "Embedding", "Flatten", "Permute", "Reshape", "Rescaling",
    "Cropping1D", "Activation", "ELU", "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "ReLU6",
    "SELU", "Sigmoid", "SiLU", "Softmax", "Tanh",
    "Conv1D", "Conv2D", "DepthwiseConv2D", "MaxPool2D", "MaxPooling2D", "AvgPool2D",
    "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
    "SimpleRNN", "LSTM", "GRU", "Bidirectional", "MultiHeadAttention",
    "BatchNorm", "BatchNormalization", "LayerNorm", "LayerNormalization",
    "Add", "Subtract", "Multiply", "Average", "Concatenate",
]
