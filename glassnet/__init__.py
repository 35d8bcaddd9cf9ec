"""glassnet: a neural-network library in which nothing is hidden.

Forward propagation is matrix multiplication (Y = X @ W + b on the whole batch),
backpropagation is explicit matrix formulas written in each layer, and every
step can be inspected.
"""
from . import callbacks, datasets, initializers, losses, metrics, ops, optimizers, schedules
from . import regularizers, utils
from .activations import GELU, Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, softmax
from .activations import ELU, SELU, LogSoftmax, ReLU6, SiLU
from .attention import MultiHeadAttention
from .base import InputSpec, Layer
from .callbacks import (CSVLogger, EarlyStopping, History, LambdaCallback,
                        LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                        TerminateOnNaN)
from .conv import (AveragePooling2D, AvgPool2D, Conv1D, Conv2D, GlobalAveragePooling1D,
                   GlobalAveragePooling2D, MaxPool2D, MaxPooling2D)
from .conv import DepthwiseConv2D, GlobalMaxPooling1D, GlobalMaxPooling2D
from .errors import ModelFileError, ShapeError
from .functional import Input, InputLayer, Model
from .inspect.check import check_layer
from .interop import from_torch, load_keras, to_onnx, to_torch, torch_code, train_with_torch
from .io import load_model, save_model
from .layers import Dense, Dropout, Embedding, Flatten, Permute
from .limits import Limits
from .merging import Add, Average, Concatenate, Multiply, Subtract
from .model import Residual, Sequential
from .normalization import BatchNorm, BatchNormalization, LayerNorm, LayerNormalization
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .reshaping import Cropping1D, Rescaling, Reshape
from .registry import register_layer
from .training import NonFiniteLossWarning
from .utils import to_categorical

__version__ = "0.1.0"

__all__ = [
    "Layer", "InputSpec", "register_layer", "check_layer", "Limits",
    "to_torch", "to_onnx", "torch_code", "from_torch", "load_keras", "train_with_torch",
    "Activation", "BatchNorm", "BatchNormalization", "Dense", "Dropout", "Flatten",
    "Conv1D", "Conv2D", "MaxPool2D", "MaxPooling2D", "AvgPool2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "SimpleRNN", "LSTM", "GRU", "Embedding", "LayerNorm",
    "LayerNormalization", "GlobalAveragePooling1D", "MultiHeadAttention", "Residual",
    "GELU", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh", "softmax",
    "Add", "Subtract", "Multiply", "Average", "Concatenate", "Permute",
    "Sequential", "Model", "Input", "InputLayer", "load_model", "save_model",
    "ModelFileError", "ShapeError", "NonFiniteLossWarning", "EarlyStopping", "History",
    "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
    "TerminateOnNaN", "LambdaCallback",
    "callbacks", "datasets", "initializers", "losses", "metrics", "ops", "optimizers",
    "schedules", "regularizers", "utils", "to_categorical",
    "ELU", "SELU", "SiLU", "ReLU6", "LogSoftmax", "DepthwiseConv2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "Bidirectional", "Reshape",
    "Rescaling", "Cropping1D",
]
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D


def __getattr__(name):
    """``gn.explore(X, y)``: the explorer in a notebook, imported only when first used
    (the package ``glassnet.explore`` is itself callable)."""
    if name == "explore":
        import importlib
        return importlib.import_module(".explore", __name__)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
