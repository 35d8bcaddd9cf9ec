"""glassnet: a neural-network library in which nothing is hidden.

Forward propagation is matrix multiplication (Y = X @ W + b on the whole batch),
backpropagation is explicit matrix formulas written in each layer, and every
step can be inspected.
"""
from . import callbacks, datasets, initializers, losses, optimizers, schedules
from .activations import GELU, Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, softmax
from .attention import MultiHeadAttention, Residual
from .callbacks import EarlyStopping, History, ModelCheckpoint
from .errors import ModelFileError, ShapeError
from .io import load_model, save_model
from .conv import (AveragePooling2D, AvgPool2D, Conv1D, Conv2D, GlobalAveragePooling2D,
                   MaxPool2D, MaxPooling2D)
from .layers import BatchNorm, BatchNormalization, Dense, Dropout, Flatten
from .model import NonFiniteLossWarning, Sequential
from .recurrent import (GRU, LSTM, Embedding, GlobalAveragePooling1D, LayerNorm,
                        LayerNormalization, SimpleRNN)

__version__ = "0.1.0"

__all__ = [
    "Activation", "BatchNorm", "BatchNormalization", "Dense", "Dropout", "Flatten",
    "Conv1D", "Conv2D", "MaxPool2D", "MaxPooling2D", "AvgPool2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "SimpleRNN", "LSTM", "GRU", "Embedding", "LayerNorm",
    "LayerNormalization", "GlobalAveragePooling1D", "MultiHeadAttention", "Residual",
    "GELU", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh", "softmax",
    "Sequential", "load_model", "save_model", "ModelFileError", "ShapeError",
    "NonFiniteLossWarning", "EarlyStopping", "History", "ModelCheckpoint",
    "callbacks", "datasets", "initializers", "losses", "optimizers", "schedules",
]
